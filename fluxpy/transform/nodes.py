"""Tiny constructors for the gast nodes that normalization and adjoint generation emit."""

import gast


def name(id_, store=False):
    return gast.Name(id=id_, ctx=gast.Store() if store else gast.Load(), annotation=None, type_comment=None)


def const(value):
    return gast.Constant(value=value, kind=None)


def attr(value, attr_, store=False):
    return gast.Attribute(value=value, attr=attr_, ctx=gast.Store() if store else gast.Load())


def call(func, args=(), keywords=()):
    func = name(func) if isinstance(func, str) else func
    return gast.Call(func=func, args=list(args), keywords=list(keywords))


def assign(target, value):
    target = name(target, store=True) if isinstance(target, str) else target
    return gast.Assign(targets=[target], value=value, type_comment=None)


def tuple_(elts, store=False):
    return gast.Tuple(elts=list(elts), ctx=gast.Store() if store else gast.Load())


def subscript(value, index):
    return gast.Subscript(value=value, slice=index, ctx=gast.Load())


def is_none(expr):
    return gast.Compare(left=expr, ops=[gast.Is()], comparators=[const(None)])


def is_not_none(expr):
    return gast.Compare(left=expr, ops=[gast.IsNot()], comparators=[const(None)])


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
    args = gast.arguments(
        args=params + user_args.posonlyargs + user_args.args,
        posonlyargs=[],
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
