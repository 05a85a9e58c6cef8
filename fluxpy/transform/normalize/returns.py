"""Pass: one exit. Early returns in ``if`` branches become assignments to one result variable.

Postcondition: the body ends with the only ``return``; statements after a return are dropped
(unreachable); the statements following an ``if`` whose branch returns move into the other branch.
Returns inside loops are rejected by the fence.

Before::

    def f(x):
        if x > 0:
            return x
        y = -x
        return y * 2

After::

    def f(x):
        if x > 0:
            _return = x
        else:
            y = -x
            _return = y * 2
        return _return
"""

import gast

from .. import nodes as n


def lift_returns(fdef, ctx):
    body = _lift(fdef.body)
    if not _has_nested_return(body):
        fdef.body = body  # unreachable statements after a return are dropped
        return fdef
    result = ctx.namer.fresh("_return")
    body = _assign_returns(body, result)
    if not _always_returns(fdef.body):
        body.append(n.assign(result, n.const(None)))  # never reached when every path returns
    fdef.body = _terminate(body, result)
    return fdef


def _lift(stmts):
    out = []
    for i, s in enumerate(stmts):
        if isinstance(s, gast.Return):
            out.append(s)
            return out
        if isinstance(s, gast.If) and (_contains_return(s.body) or _contains_return(s.orelse)):
            rest = stmts[i + 1 :]
            body = _lift(s.body if _always_returns(s.body) else s.body + rest)
            orelse = _lift(s.orelse if _always_returns(s.orelse) else s.orelse + rest)
            out.append(gast.If(test=s.test, body=body or [gast.Pass()], orelse=orelse))
            gast.copy_location(out[-1], s)
            return out
        out.append(s)
    return out


def _contains_return(stmts):
    for s in stmts:
        if isinstance(s, gast.Return):
            return True
        if isinstance(s, gast.If) and (_contains_return(s.body) or _contains_return(s.orelse)):
            return True
    return False


def _always_returns(stmts):
    if not stmts:
        return False
    last = stmts[-1]
    if isinstance(last, gast.Return):
        return True
    return isinstance(last, gast.If) and _always_returns(last.body) and _always_returns(last.orelse)


def _has_nested_return(stmts):
    return any(isinstance(s, gast.If) and _contains_return([s]) for s in stmts)


def _assign_returns(stmts, result):
    out = []
    for s in stmts:
        if isinstance(s, gast.Return):
            value = s.value if s.value is not None else n.const(None)
            out.append(gast.copy_location(n.assign(result, value), s))
        elif isinstance(s, gast.If):
            s.body = _assign_returns(s.body, result)
            s.orelse = _assign_returns(s.orelse, result)
            out.append(s)
        else:
            out.append(s)
    return out


def _terminate(body, result):
    # a trailing "_return = None" after an if whose branches all assign is dead: drop it
    if (
        len(body) >= 2
        and isinstance(body[-1], gast.Assign)
        and isinstance(body[-2], gast.If)
        and isinstance(body[-1].value, gast.Constant)
        and body[-1].value.value is None
    ):
        body = body[:-1]
    return body + [gast.Return(value=n.name(result))]
