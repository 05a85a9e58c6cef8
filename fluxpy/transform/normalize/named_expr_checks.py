"""Where an assignment expression (``:=``) cannot be moved out exactly by named_exprs.py: the fence refuses
those (:func:`refusal`), naming the line.

A ``:=`` is moved out in front of its statement, with what the statement evaluates before it; that is
Python's order except where Python evaluates it later than its statement's start or not at all: in a
lambda's body (when it is called), after the first comparison of a chain (``a < b < (c := f())``: only
when ``a < b``), in a generator expression that is not read at once (when its items are taken), in an
assignment target (after the value), in a ``with`` statement's later items (after entering the first), in
an ``except`` clause, in a nested function's defaults, decorators and annotations, and in an augmented
assignment's value when the target reads what the ``:=`` assigns (``x += (x := 2)``).
"""

import gast

from .. import nodes as n

# builtins that take every item of a generator expression before they return (comprehensions.py builds the
# items where the expression is): a := in its items binds as in Python
READ_AT_ONCE = frozenset(
    ["sum", "any", "all", "max", "min", "sorted", "list", "tuple", "set", "frozenset", "dict"]
)

_WHAT = "an assignment expression (:=) "
# reason -> (what, why, hint)
REASONS = {
    "lambda": (
        _WHAT + "in a lambda",
        "a lambda's body runs when it is called",
        "write a nested def, and assign on a line of its own there",
    ),
    "chain": (
        _WHAT + "after the first comparison of a chain",
        "Python evaluates it only when the comparisons before it hold",
        "split the chain with `and`: `a < b and b < (c := f(x))`",
    ),
    "generator": (
        _WHAT + "in a generator expression",
        "Python evaluates it as each item is taken; fluxpy computes the items where the expression is",
        "use a list comprehension, or pass the generator expression straight to sum, any, all, max, min, "
        "sorted, list, tuple, set or dict",
    ),
    "target": (
        _WHAT + "in an assignment target",
        "Python evaluates the target after the value",
        "assign it on a line of its own before",
    ),
    "annotation": (_WHAT + "in an annotation", "", "assign it on a line of its own before"),
    "with": (
        _WHAT + "in a with statement's second or later item",
        "Python evaluates it after entering the items before it",
        "nest the with statements, or assign on a line of its own before",
    ),
    "except": (
        _WHAT + "in an except clause",
        "Python evaluates it only when an exception is raised",
        "compute the exception type before the try",
    ),
    "def": (
        _WHAT + "in a nested function's default value, decorator or annotation",
        "",
        "assign it on a line of its own before the def",
    ),
    "augmented": (
        _WHAT + "in the value of an augmented assignment whose target reads the name it assigns",
        "Python reads the target before the value",
        "compute the value on a line of its own first",
    ),
}


class _Refused(Exception):
    pass


def refusal(fdef):
    """``(node, what, why, hint)`` for the first ``:=`` of ``fdef`` (not of its nested functions) that
    cannot be moved out exactly, or None."""
    try:
        _block(fdef.body)
    except _Refused as refused:
        node, reason = refused.args
        return (node, *REASONS[reason])
    return None


def _block(stmts):
    for s in stmts:
        _stmt(s)


def _stmt(s):
    if isinstance(s, (gast.FunctionDef, gast.AsyncFunctionDef)):
        args = s.args
        header = s.decorator_list + args.defaults + [d for d in args.kw_defaults if d is not None]
        header += [a.annotation for a in args.posonlyargs + args.args + args.kwonlyargs if a.annotation]
        _refuse_in(header + ([s.returns] if s.returns else []), "def")
        return  # its body is its own: refused or moved out when it is differentiated
    targets = []
    if isinstance(s, gast.Assign):
        targets = s.targets
    elif isinstance(s, (gast.AugAssign, gast.AnnAssign, gast.For)):
        targets = [s.target]
    _refuse_in(targets, "target")
    if isinstance(s, gast.AnnAssign):
        _refuse_in([s.annotation], "annotation")
    if isinstance(s, gast.AugAssign):
        _augmented(s)
    if isinstance(s, gast.With):
        _refuse_in([item.context_expr for item in s.items[1:]], "with")
        _refuse_in([item.optional_vars for item in s.items if item.optional_vars is not None], "target")
    for handler in getattr(s, "handlers", None) or []:
        _refuse_in([handler.type] if handler.type is not None else [], "except")
        _block(handler.body)
    for child in n.children(s):
        if isinstance(child, (gast.expr, gast.Slice)):  # (gast's Slice is no expr)
            _expr(child)
        elif isinstance(child, gast.withitem):
            _expr(child.context_expr)
        elif isinstance(child, gast.stmt):
            _stmt(child)


def _expr(e, read_at_once=False):
    if isinstance(e, gast.Lambda):
        _refuse_in([e.body], "lambda")
    elif isinstance(e, gast.Compare) and len(e.comparators) > 1:
        _refuse_in(e.comparators[1:], "chain")
    elif isinstance(e, gast.GeneratorExp) and not read_at_once:
        _refuse_in([e.elt] + [c for g in e.generators for c in g.ifs], "generator")
    at_once = isinstance(e, gast.Call) and _reads_at_once(e.func)
    for child in n.children(e):
        if isinstance(child, gast.comprehension):
            for part in [child.iter] + child.ifs:
                _expr(part)
        elif isinstance(child, gast.arguments):  # a lambda's defaults, evaluated where it is
            for default in child.defaults + [d for d in child.kw_defaults if d is not None]:
                _expr(default)
        elif isinstance(child, (gast.expr, gast.Slice)):
            _expr(child, read_at_once=at_once and child in e.args)


def _reads_at_once(func):
    """``sum``, ..., ``"".join``: a callee taking every item of its generator expressions at once."""
    if isinstance(func, gast.Name):
        return func.id in READ_AT_ONCE
    return isinstance(func, gast.Attribute) and func.attr == "join"


# the nodes of an augmented assignment's target that read nothing a := in its value could change
_PLAIN_TARGET = (gast.Name, gast.Constant, gast.Subscript, gast.Attribute, gast.Slice, gast.Tuple)


def _augmented(s):
    """``x += (x := 2)``, ``a[i] += (i := 1)``: the target is read before the value, so a := in the value
    that assigns a name the target reads, or a target that calls something, cannot move in front."""
    assigned = {x.target.id: x for x in n.walk(s.value) if isinstance(x, gast.NamedExpr)}
    if not assigned:
        return
    target = n.walk(s.target)
    read = [x.id for x in target if isinstance(x, gast.Name) and x.id in assigned]
    if read or not all(isinstance(x, _PLAIN_TARGET + (gast.expr_context,)) for x in target):
        raise _Refused(assigned[read[0]] if read else next(iter(assigned.values())), "augmented")


def _refuse_in(exprs, reason):
    for e in exprs:
        for node in n.walk(e):
            if isinstance(node, gast.NamedExpr):
                raise _Refused(node, reason)
