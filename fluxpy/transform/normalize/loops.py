"""Pass: ``break``, ``continue``, ``return`` inside loops and loop ``else`` become flags.

Postcondition: no ``continue`` remains; a loop body holds no ``break`` except one final
``if <flag>: break``; no ``return`` is inside a loop; loops have no ``else``. The rest of an iteration after
a ``break``/``continue`` is guarded by the flags, so each iteration's statements are a prefix the reverse
pass can replay from the trip count alone.

Before::

    def f(xs):
        for x in xs:
            if x < 0:
                continue
            if x > 9:
                return x
            total = x
        else:
            total = 0
        return total

After::

    def f(xs):
        _returned = False
        _break = False
        for x in xs:
            _continue = False
            if x < 0:
                _continue = True
            if not (_break or _continue):
                if x > 9:
                    _return_value = x
                    _returned = True
                    _break = True
                if not (_break or _continue):
                    total = x
            if _break:
                break
        if not _break:
            total = 0
        if _returned:
            return _return_value
        return total
"""

import gast

from .. import nodes as n


def lower_loop_exits(fdef, ctx):
    fdef.body = _Lower(ctx).block(fdef.body)
    return fdef


class _Lower:
    def __init__(self, ctx):
        self.ctx = ctx

    def block(self, stmts):
        out = []
        for s in stmts:
            if isinstance(s, gast.If):
                s.body, s.orelse = self.block(s.body), self.block(s.orelse)
                out.append(s)
            elif isinstance(s, (gast.For, gast.While)):
                out.extend(self.loop(s))
            elif isinstance(s, gast.With):
                s.body = self.block(s.body)
                out.append(s)
            elif isinstance(s, gast.Try):
                s.body, s.orelse, s.finalbody = (
                    self.block(s.body),
                    self.block(s.orelse),
                    self.block(s.finalbody),
                )
                for h in s.handlers:
                    h.body = self.block(h.body)
                out.append(s)
            else:
                out.append(s)
        return out

    def loop(self, loop):
        loop.body = self.block(loop.body)  # inner loops first: their returns become "if returned: return"
        returns = _find(loop.body, gast.Return)
        breaks = _find(loop.body, gast.Break) or bool(returns)
        continues = _find(loop.body, gast.Continue)
        if not (breaks or continues or returns or loop.orelse):
            return [loop]
        names = self.ctx.namer
        flags = {
            "break": names.fresh("_break") if breaks or loop.orelse else None,
            "continue": names.fresh("_continue") if continues else None,
            "returned": names.fresh("_returned") if returns else None,
            "value": names.fresh("_return_value") if returns else None,
        }
        before = [
            n.located(n.assign(flags[k], n.const(False)), loop) for k in ("returned", "break") if flags[k]
        ]
        body = _guard(loop.body, flags)
        if flags["continue"]:
            body.insert(0, n.located(n.assign(flags["continue"], n.const(False)), loop))
        if breaks:
            body.append(n.located(n.if_(n.name(flags["break"]), [gast.Break()]), loop))
        loop.body = body
        after = []
        if loop.orelse:
            after.append(n.located(n.if_(_not(n.name(flags["break"])), self.block(loop.orelse)), loop))
            loop.orelse = []
        if returns:
            after.append(
                n.located(n.if_(n.name(flags["returned"]), [gast.Return(value=n.name(flags["value"]))]), loop)
            )
        return before + [loop] + after


def _guard(stmts, flags):
    """Rewrite exits into flag assignments and guard what follows them in the same iteration."""
    out = []
    for i, s in enumerate(stmts):
        if isinstance(s, gast.Break):
            out.append(n.located(n.assign(flags["break"], n.const(True)), s))
            return out
        if isinstance(s, gast.Continue):
            out.append(n.located(n.assign(flags["continue"], n.const(True)), s))
            return out
        if isinstance(s, gast.Return):
            value = s.value if s.value is not None else n.const(None)
            out.append(n.located(n.assign(flags["value"], value), s))
            out.append(n.located(n.assign(flags["returned"], n.const(True)), s))
            out.append(n.located(n.assign(flags["break"], n.const(True)), s))
            return out
        if isinstance(s, gast.If) and _exits(s):
            s.body, s.orelse = _guard(s.body, flags), _guard(s.orelse, flags)
            out.append(s)
            rest = _guard(stmts[i + 1 :], flags)
            if rest:
                out.append(n.located(n.if_(_still_running(flags), rest), s))
            return out
        out.append(s)
    return out


def _exits(stmt):
    return bool(_find([stmt], gast.Break) or _find([stmt], gast.Continue) or _find([stmt], gast.Return))


def _find(stmts, kind):
    """Whether ``kind`` occurs in ``stmts`` at this loop's level (not inside nested loops or functions)."""
    for s in stmts:
        if isinstance(s, kind):
            return True
        if isinstance(s, gast.If) and (_find(s.body, kind) or _find(s.orelse, kind)):
            return True
    return False


def _still_running(flags):
    names = [n.name(flags[k]) for k in ("break", "continue") if flags[k]]
    test = names[0] if len(names) == 1 else gast.BoolOp(op=gast.Or(), values=names)
    return _not(test)


def _not(expr):
    return gast.UnaryOp(op=gast.Not(), operand=expr)
