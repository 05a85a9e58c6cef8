"""Tiny constructors for the gast nodes that normalization and adjoint generation emit, a fast walk, and a
function's body outside nested functions (``body_nodes``)."""

import gast

_AST = gast.AST


def walk(node):
    """Every node of the tree ``node`` (itself first) as a list, in ``gast.walk``'s order (breadth first).

    Twice as fast as ``gast.walk`` (no generator per node): the analyses walk every statement.
    """
    out = [node]
    append = out.append
    for node in out:  # a list grows under its own iteration
        for field in node._fields:
            value = getattr(node, field, None)
            if isinstance(value, _AST):
                append(value)
            elif type(value) is list:
                for item in value:
                    if isinstance(item, _AST):
                        append(item)
    return out


def children(node):
    """The child nodes of ``node``, as ``gast.iter_child_nodes`` gives them (a list)."""
    out = []
    for field in node._fields:
        value = getattr(node, field, None)
        if isinstance(value, _AST):
            out.append(value)
        elif type(value) is list:
            out.extend(item for item in value if isinstance(item, _AST))
    return out


def body_nodes(fdef):
    """The nodes of ``fdef``'s body outside nested function definitions (those themselves included), as a
    list (breadth first)."""
    out = list(fdef.body)
    for node in out:  # a list grows under its own iteration
        if not isinstance(node, (gast.FunctionDef, gast.Lambda)):
            out.extend(children(node))
    return out


# contexts and comparison operators carry no data and nothing writes into them: one instance serves every
# node, as in the trees ast.parse makes (a third fewer nodes to create in generated code)
_LOAD, _STORE, _IS, _IS_NOT = gast.Load(), gast.Store(), gast.Is(), gast.IsNot()


def name(id_, store=False):
    return gast.Name(id=id_, ctx=_STORE if store else _LOAD, annotation=None, type_comment=None)


def const(value):
    return gast.Constant(value=value, kind=None)


def attr(value, attr_, store=False):
    return gast.Attribute(value=value, attr=attr_, ctx=_STORE if store else _LOAD)


def call(func, args=(), keywords=()):
    func = name(func) if isinstance(func, str) else func
    return gast.Call(func=func, args=list(args), keywords=list(keywords))


def assign(target, value):
    target = name(target, store=True) if isinstance(target, str) else target
    return gast.Assign(targets=[target], value=value, type_comment=None)


def tuple_(elts, store=False):
    return gast.Tuple(elts=list(elts), ctx=_STORE if store else _LOAD)


def subscript(value, index):
    return gast.Subscript(value=value, slice=index, ctx=_LOAD)


def is_none(expr):
    return gast.Compare(left=expr, ops=[_IS], comparators=[const(None)])


def is_not_none(expr):
    return gast.Compare(left=expr, ops=[_IS_NOT], comparators=[const(None)])


def if_(test, body, orelse=()):
    return gast.If(test=test, body=list(body) or [gast.Pass()], orelse=list(orelse))


def for_range(target, count, body):
    return gast.For(
        target=name(target, store=True),
        iter=call("__fx_range", [count]),
        body=list(body),
        orelse=[],
        type_comment=None,
    )


def function(fname, params, body):
    args = gast.arguments(
        args=[name(p) for p in params],
        posonlyargs=[],
        vararg=None,
        kwonlyargs=[],
        kw_defaults=[],
        kwarg=None,
        defaults=[],
    )
    for a in args.args:
        a.ctx = gast.Param()
    return gast.FunctionDef(
        name=fname,
        args=args,
        body=list(body),
        decorator_list=[],
        returns=None,
        type_comment=None,
        type_params=[],
    )


def located(node, like):
    """Copy ``like``'s position onto ``node`` (and return ``node``)."""
    if like is not None and getattr(like, "lineno", None) is not None:
        gast.copy_location(node, like)
    return node


def generated_function(fname, leading, user_args, body):
    """A generated function taking the names ``leading`` then the user's own parameters (defaults are
    supplied when the function object is bound: see cache.forward_function)."""
    params = [name(p) for p in leading]
    for p in params:
        p.ctx = gast.Param()
    positional_only = params + user_args.posonlyargs if user_args.posonlyargs else []
    args = gast.arguments(
        args=user_args.args if positional_only else params + user_args.args,
        posonlyargs=positional_only,  # a keyword may share a name with one of them (see runtime.call)
        vararg=user_args.vararg,
        kwonlyargs=user_args.kwonlyargs,
        kw_defaults=[None] * len(user_args.kwonlyargs),
        kwarg=user_args.kwarg,
        defaults=[],
    )
    return gast.FunctionDef(
        name=fname,
        args=args,
        body=list(body),
        decorator_list=[],
        returns=None,
        type_comment=None,
        type_params=[],
    )
