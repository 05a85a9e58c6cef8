"""Stage 5, ``try`` and ``with`` bodies (a mixin of adjoint._Adjoint): code that may stop at any statement.

An exception (or a context manager swallowing one, ``contextlib.suppress``) leaves a body early, so the
pullback must replay only the statements that completed. The forward function counts them (``_fx_step``)
and, for ``try``, records which handler ran (``_fx_handler``, 0: none); both go on the tape, and the
pullback reverses each statement only if it completed::

    # forward                                   # pullback
    _fx_step = 0                                _fx_handler, _fx_rt = _fx_rt
    _fx_handler = 0                             _fx_step, _fx_rt = _fx_rt
    try:                                        if _fx_handler == 1:
        y, y_pb = __fx_rule_of(np.sin)(x)           (the handler's reverse)
        _fx_tape = (y_pb, _fx_tape)             if _fx_step > 0:
        _fx_step = 1                                y_pb, _fx_rt = _fx_rt
    except ValueError:                              (y's reverse)
        _fx_handler = 1
        __fx_check_try_step(...)
    _fx_tape = (_fx_step, _fx_tape)
    _fx_tape = (_fx_handler, _fx_tape)

Everything inside is recorded on the tape, so an interrupted block is detectable: it must not have pushed
anything (``__fx_check_try_step``). Arithmetic there is not inlined (``recorded_body``).
"""

import gast

from . import nodes as n


class RecordedBodies:
    """Methods of adjoint._Adjoint: the forward and reverse of ``try`` and ``with``. They use the core's
    ``fwd_block``, ``rev_block``, ``push``, ``pop``, ``assigned_adjoints`` and its tape names."""

    def fwd_try(self, s, in_loop):
        """Record how far the body got (``step``) and which handler ran (0: none), to replay that path.

        Everything inside a ``try`` is recorded on the tape, so an interrupted block is detectable: it must
        not have pushed anything (``if bad: raise`` is fine, a loop that fails halfway is not). Arithmetic
        there is not inlined: each statement's pullback is recorded as it completes.
        """
        self.recorded_body += 1
        try:
            return self._fwd_try(s)
        finally:
            self.recorded_body -= 1

    def _fwd_try(self, s):
        handler = self.namer.fresh("_fx_handler")
        s._fx_handler = handler
        body, check, step, mark = self.fwd_progress(s)
        handlers = []
        for i, h in enumerate(s.handlers):
            hbody = [n.assign(handler, n.const(i + 1)), check] + self.fwd_block(h.body, True)
            handlers.append(gast.ExceptHandler(type=h.type, name=h.name, body=hbody))
        return [
            n.assign(step, n.const(0)),
            n.assign(handler, n.const(0)),
            n.assign(mark, n.name(self.tape)),
            gast.Try(
                body=body,
                handlers=handlers,
                orelse=self.fwd_block(s.orelse, True),
                # a try needs a handler or a non-empty finally (``finally: pass`` blocks to nothing)
                finalbody=self.fwd_block(s.finalbody, True) or ([] if handlers else [gast.Pass()]),
            ),
            self.push(n.name(step)),
            self.push(n.name(handler)),
        ]

    def fwd_with(self, s):
        """A ``with`` body may be left early when its context manager swallows an exception
        (``contextlib.suppress``): record the progress, as for ``try``."""
        self.recorded_body += 1
        try:
            body, check, step, mark = self.fwd_progress(s)
        finally:
            self.recorded_body -= 1
        return [
            n.assign(step, n.const(0)),
            n.assign(mark, n.name(self.tape)),
            gast.With(items=s.items, body=body, type_comment=None),
            check,
            self.push(n.name(step)),
        ]

    def fwd_progress(self, s):
        """The forward of a ``try`` or ``with`` body that records how many statements completed (``step``),
        with the check that an interrupted block recorded nothing. Returns ``(body, check, step, mark)``."""
        step, mark = self.namer.fresh("_fx_step"), self.namer.fresh("_fx_mark")
        s._fx_step = step
        self.uses_tape = True
        body = []
        compound = []
        for k, stmt in enumerate(s.body):
            if isinstance(stmt, (gast.If, gast.For, gast.While, gast.With, gast.Try)):
                compound.append(k)
                body.append(n.assign(mark, n.name(self.tape)))
            body += self.fwd_block([stmt], True)
            body.append(n.assign(step, n.const(k + 1)))
        untouched = gast.Compare(left=n.name(mark), ops=[gast.Is()], comparators=[n.name(self.tape)])
        args = [n.name(step), n.tuple_([n.const(k) for k in compound]), untouched]
        check = gast.Expr(value=n.call("__fx_check_try_step", args))
        return body, check, step, mark

    def rev_with(self, s, known_none):
        """Reverse of a ``with``: its recorded body (see fwd_with)."""
        return self.rev_progress(s, [self.pop(s._fx_step)], known_none)

    def rev_try(self, s, in_loop, known_none):
        step, handler = s._fx_step, s._fx_handler
        out = []
        for name in (handler, step):
            out.append(self.pop(name))
        # which parts ran is known only at run time: no "known None" shortcuts inside
        out += self.rev_block(s.finalbody, True, set())
        branches = [(0, s.orelse)] + [(i + 1, h.body) for i, h in enumerate(s.handlers)]
        chain = []
        for number, stmts in reversed(branches):
            code = self.rev_block(stmts, True, set())
            test = gast.Compare(left=n.name(handler), ops=[gast.Eq()], comparators=[n.const(number)])
            chain = [n.if_(test, code or [gast.Pass()], chain)]
        out += chain
        return self.rev_progress(s, out, known_none)

    def rev_progress(self, s, out, known_none):
        """``out`` followed by the reverse of a recorded body: each statement only if it completed. The
        cotangents ``out`` assigns are no longer known to be None."""
        for k in reversed(range(len(s.body))):
            code = self.rev_block([s.body[k]], True, set())
            if code:
                test = gast.Compare(left=n.name(s._fx_step), ops=[gast.Gt()], comparators=[n.const(k)])
                out.append(n.if_(test, code))
        for name in self.assigned_adjoints(out):
            known_none.discard(name)
        return out
