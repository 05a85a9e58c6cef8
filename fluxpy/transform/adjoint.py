"""Stage 5: from a normalized function, generate its forward function and pullback (Zygote-style).

``f(x, ...)`` becomes ``f__forward(self, x, ...) -> (y, f_pullback)`` where ``self`` is the function
object (its closure cells give the captured variables) and ``f_pullback(dy)`` returns
``(dself, dx, ...)``. Every active call stores its pullback; the pullback replays them in reverse:

    # forward                                   # pullback, in reverse order
    y, y_pb = __fx_call(__fx_op.mul, x, w)       if d_y is not None:
                                                     _fx_g = y_pb(d_y)
                                                     d_y = None
                                                     d_x = __fx_accum(d_x, _fx_g[1])
                                                     d_w = __fx_accum(d_w, _fx_g[2])

Pullbacks are the only thing the reverse pass reads from the forward pass (they capture their operands),
so straight-line code needs no tape. Inside loops each pullback, branch choice and inner trip count is
pushed on an immutable linked list (``tape = (item, tape)``): memory grows with iterations executed, the
pullback can run many times, and the generated code stays differentiable (no mutation), which is what
gradient-of-gradient needs.
"""

import copy
import os
from collections import Counter

import gast

from . import inline, known
from . import nodes as n
from .activity import (
    MASKED,
    Activity,
    _assignments,
    _captured,
    _dispatcher_callee_index,
    _is_active_call,
    _names_in,
    _user_globals,
    _walk_statements,
)
from .fence import HELPER_PREFIX
from .normalize.anf_names import CALL

ACCUM = "__fx_accum"


def build_forward(fdef, ctx):
    """The gast FunctionDef of the forward function for the normalized ``fdef``."""
    return _Adjoint(fdef, ctx).build()


def build_gradient(fdef, ctx):
    """The gast FunctionDef of the gradient function for the normalized ``fdef``: the forward function's
    body, the seed, then its pullback's body, in one function (``G(f, *args)`` returns what
    ``F(f, *args)[1](1.0)`` returns). A gradient of a gradient differentiates this one function: no
    pullback closure to build, read back field by field, and differentiate apart (see gradient_rule)."""
    adjoint = _Adjoint(fdef, ctx)
    forward = adjoint.build()
    *body, pullback, _ = forward.body  # ..., def pullback(d_out): ..., return (y, pullback)
    seed = pullback.args.args[0].id
    value = copy.deepcopy(adjoint.ret)
    body.append(n.assign(seed, n.call("__fx_seed", [value, n.name(adjoint.self_name)])))
    tail = known.drop_known_guards(pullback.body, {seed})  # the seed is never None
    forward.body = body + known.drop_dead_resets(tail, set())
    forward.name = forward.name.replace("__forward", "__gradient")
    return forward


class Signature:
    """The names a generated function works with: parameters, captured variables, all local names."""

    def __init__(self, fdef, ctx):
        self.fdef = fdef
        self.ctx = ctx
        self.namer = ctx.namer
        args = fdef.args
        self.params = [a.id for a in args.posonlyargs + args.args]
        self.vararg = args.vararg.id if args.vararg is not None else None
        self.kwonly = [a.id for a in args.kwonlyargs]
        self.kwarg = args.kwarg.id if args.kwarg is not None else None
        self.freevars = [v for v in ctx.freevars if not v.startswith(HELPER_PREFIX)]
        self.locals = set(self.params) | set(self.freevars) | set(self.kwonly)
        self.locals |= {v for v in (self.vararg, self.kwarg) if v}
        for target, _ in _assignments(fdef.body):
            self.locals.add(target)
        for s in _walk_statements(fdef.body):
            if isinstance(s, gast.For):
                self.locals |= _names_in(s.target)


class _Adjoint(Activity, Signature):
    def __init__(self, fdef, ctx):
        super().__init__(fdef, ctx)
        body = fdef.body
        self.ret = body[-1].value if body and isinstance(body[-1], gast.Return) else n.const(None)
        self.body = body[:-1] if body and isinstance(body[-1], gast.Return) else body
        bound = set(self.params) | set(self.freevars) | set(self.kwonly)
        self.stable = _stable_names(fdef, self.locals, bound)
        self.active = self._activity()
        if self._move_defaults():
            fdef.body = self.body + body[len(self.body) :]
            self.stable = _stable_names(fdef, self.locals, bound)
            self.active = self._activity()
        loads = _load_counts(self.body)
        self.read = set(loads) | ({self.ret.id} if isinstance(self.ret, gast.Name) else set())
        self._mark_calls()
        self.closures = self._direct_closures()
        _mark_unpack_groups(self.body, loads)
        self.tape = self.namer.fresh("_fx_tape")
        self.rtape = self.namer.fresh("_fx_rt")
        self.grads = self.namer.fresh("_fx_g")
        self.uses_tape = False
        self.comments = ctx.comments
        self.last_line = None
        self.recorded_body = 0  # inside a try or with body (see fwd_try)

    # -- activity analysis ----------------------------------------------------------------------------
    def adj(self, name):
        return self.namer.adjoint(name)

    def adj_or_none(self, name):
        """The cotangent variable of ``name``, or ``None`` for a name whose gradient is not wanted."""
        return n.name(self.adj(name)) if name in self.active else n.const(None)

    # -- the whole function ---------------------------------------------------------------------------
    def build(self):
        self_name = self.namer.fresh("_fx_self")
        self.self_name = self_name
        forward_body = []
        if self.freevars:
            targets = n.tuple_([n.name(v, store=True) for v in self.freevars], store=True)
            names = n.tuple_([n.const(v) for v in self.freevars])
            forward_body.append(
                gast.Assign(
                    targets=[targets],
                    value=n.call("__fx_freevars", [n.name(self_name), names]),
                    type_comment=None,
                )
            )
        for name, _, _ in self.defaulted_params():  # the value passed, for default_checks
            if name != self.initial_value(name):
                forward_body.append(n.assign(self.initial_value(name), n.name(name)))
        fwd = self.fwd_block(self.body, in_loop=False)
        if self.uses_tape:
            forward_body.append(n.assign(self.tape, n.const(None)))
        forward_body += fwd
        pullback_name = self.namer.fresh(f"{_base(self.fdef.name)}_pullback")
        forward_body.append(self.pullback(pullback_name))
        forward_body.append(gast.Return(value=n.tuple_([self.ret, n.name(pullback_name)])))
        name = self.namer.fresh(f"{_base(self.fdef.name)}__forward")
        return n.generated_function(name, [self_name], self.fdef.args, forward_body)

    def pullback(self, pullback_name):
        seed = self.namer.fresh("d_out")
        known_none = set(self.active)
        body = []
        ordered = sorted(self.active)
        ret_name = self.ret.id if isinstance(self.ret, gast.Name) and self.ret.id in self.active else None
        starting_none = [self.adj(v) for v in ordered if v != ret_name]
        if ret_name is not None:
            body.append(n.assign(self.adj(ret_name), n.name(seed)))
            known_none.discard(ret_name)
        elif self.global_active(self.ret):
            body.append(self.record(self.ret, n.name(seed)))
        if self.uses_tape:
            body.append(n.assign(self.rtape, n.name(self.tape)))
        self.last_line = None
        body += self.rev_block(self.body, in_loop=False, known_none=known_none)
        body += self.default_checks()
        body.append(gast.Return(value=self.pullback_result()))
        return n.function(pullback_name, [seed], known.place_none_inits(starting_none, body))

    def defaulted_params(self):
        """``(parameter, its default's position or keyword-only name, the parameter described)`` for the
        active parameters whose default value may hold an ``fx.params`` parameter (not a constant, not an
        attribute of a library's module). Generated code (a forward function differentiated again, for a
        gradient of a gradient) has its defaults bound at run time: its parameters checked one level down
        (their pullback's ``record`` calls, see default_checks) are checked again here."""
        found = self.__dict__.get("_defaulted")
        if found is not None:
            return found
        args = self.fdef.args
        positional = args.posonlyargs + args.args
        pairs = list(enumerate(positional[len(positional) - len(args.defaults) :]))
        pairs = [(a, i) for i, a in pairs]
        pairs += [(a, a.id) for a, d in zip(args.kwonlyargs, args.kw_defaults, strict=True) if d is not None]
        defaults = list(args.defaults) + [d for d in args.kw_defaults if d is not None]
        found = []
        for (a, where), d in zip(pairs, defaults, strict=True):
            if a.id in self.active and _names_in(d):  # (not ``-1``, ``(0, 1)``)
                if isinstance(d, gast.Attribute) and not self.is_global(d):
                    continue  # ``dtype=np.float32``
                found.append((a.id, where, f"{a.id!r} of {self.where()}"))
        if self.ctx.source.generated:
            found += self._checked_below({name for name, _, _ in found})
        self._defaulted = found
        self._initial = {
            name: name if name in self.stable else self.namer.fresh(f"_fx_passed_{name}")
            for name, _, _ in found
        }
        return found

    def _checked_below(self, seen):
        """The parameters of this generated forward function whose defaults its pullback (a nested def)
        checks: ``__fx_record(a, d_a, _fx_self, 0, "'a' of f (file.py:3)")`` with ``_fx_self`` and ``a``
        parameters here (or ``a``'s value as passed: ``_fx_passed_a = a``)."""
        params = set(self.params) | set(self.kwonly)
        passed = {
            target: value.id
            for target, value in _assignments(self.body)
            if isinstance(value, gast.Name) and value.id in params
        }
        out = []
        for s in _walk_statements(self.body):
            if not isinstance(s, gast.FunctionDef):
                continue
            for node in n.walk(s):
                if not (
                    isinstance(node, gast.Call)
                    and isinstance(node.func, gast.Name)
                    and node.func.id == "__fx_record"
                    and len(node.args) == 5
                    and all(isinstance(a, gast.Name) for a in node.args[:3])
                    and all(isinstance(a, gast.Constant) for a in node.args[3:])
                    and node.args[2].id in params
                ):
                    continue
                name = passed.get(node.args[0].id, node.args[0].id)
                if name in params and name in self.active and name not in seen:
                    seen.add(name)
                    out.append((name, node.args[3].value, node.args[4].value))
        return out

    def initial_value(self, name):
        """The name holding parameter ``name``'s value as passed: itself, unless it is assigned again."""
        return self._initial[name]

    def where(self):
        """``f (file.py:12)``: this function as the user wrote it (through generated code's locations)."""
        from .codegen import map_location  # (codegen imports this module)

        file, line = self.ctx.source.file, self.fdef.lineno
        if self.ctx.source.generated:
            file, line = map_location(file, line) or (file, line)
        name = self.fdef.name
        name = "a lambda" if name.startswith("lambda_L") or name == "<lambda>" else name
        return f"{name} ({_short_file(file)}:{line})"

    def default_checks(self):
        """``if implicit gradients are running and d_a is not None: record(a, d_a, f, 0, ...)``, per
        parameter ``a`` with a default: ``fx.params`` refuses a gradient reaching a parameter through it
        (the call may or may not have used the default: see implicit.record)."""
        out = []
        for name, where, what in self.defaulted_params():
            test = gast.BoolOp(
                op=gast.And(),
                values=[
                    n.subscript(n.name("__fx_implicit"), n.const(0)),
                    n.is_not_none(n.name(self.adj(name))),
                ],
            )
            call = n.call(
                "__fx_record",
                [
                    n.name(self.initial_value(name)),
                    n.name(self.adj(name)),
                    n.name(self.self_name),
                    n.const(where),
                    n.const(what),
                ],
            )
            out.append(n.if_(test, [gast.Expr(value=call)]))
        return out

    def pullback_result(self):
        if self.freevars and self.self_active:
            names = n.tuple_([n.const(v) for v in self.freevars])
            values = n.tuple_([n.name(self.adj(v)) for v in self.freevars])
            dself = n.call("__fx_closure_tangent", [n.name(self.self_name), names, values])
        else:
            dself = n.const(None)
        result = n.tuple_([dself] + [self.adj_or_none(p) for p in self.params])
        if self.vararg:
            expanded = n.call(
                "__fx_expand", [self.adj_or_none(self.vararg), n.call("__fx_len", [n.name(self.vararg)])]
            )
            result = gast.BinOp(left=result, op=gast.Add(), right=expanded)
        if self.kwonly or self.kwarg:
            names = n.tuple_([n.const(k) for k in self.kwonly])
            values = n.tuple_([n.name(self.adj(k)) for k in self.kwonly])
            rest = n.name(self.adj(self.kwarg)) if self.kwarg else n.const(None)
            keywords = n.tuple_([n.call("__fx_keyword_grads", [names, values, rest])])
            result = gast.BinOp(left=result, op=gast.Add(), right=keywords)
        return result

    # -- forward --------------------------------------------------------------------------------------
    def fwd_block(self, stmts, in_loop):
        out = []
        i = 0
        while i < len(stmts):
            run = [] if self.recorded_body else self.inline_run(stmts, i, in_loop)
            if run:
                out += self.fwd_inline(run, in_loop)
                i += len(run)
                continue
            out += self.comment(stmts[i], "")
            out += self.fwd_stmt(stmts[i], in_loop)
            i += 1
        return out

    # -- inlined scalar arithmetic (see inline.py) ----------------------------------------------------
    def inline_op(self, s):
        """``(operator, operands)`` for ``t = __fx_call(__fx_op.mul, a, b)`` when it can be inlined: a
        built-in operator rule whose operands are numeric literals or local names; else None. (Whether the
        values its pullback reads are still there when it runs is inline_run's business.)"""
        if not (
            isinstance(s, gast.Assign)
            and isinstance(s.targets[0], gast.Name)
            and _is_active_call(s.value)
            and s.value.func.id == CALL
            and not s.value.keywords
            and not hasattr(s, "_fx_item_of")
            and not hasattr(s, "_fx_unpacked")
        ):
            return None
        name = _operator_name(s.value.args[0])
        operands = s.value.args[1:]
        if name not in self.ctx.inline_ops or len(operands) != inline.arity(name):
            return None
        names = [o for o in operands if isinstance(o, gast.Name)]
        if not names or any(o.id not in self.locals for o in names):
            return None  # globals: implicit gradients record them (rev_call)
        if not all(isinstance(o, gast.Name) or inline.is_scalar_constant(o) for o in operands):
            return None
        if name == "power_by_constant" and (operands[0] not in names or 0 <= operands[1].value < 1):
            # x ** 0.5: the written-out derivative 0.5 * x ** -0.5 divides by zero at 0 (the rule gives inf)
            return None
        return name, operands

    def inline_run(self, stmts, start, in_loop):
        """The inlinable statements from ``stmts[start]`` on, up to the first that is not.

        The pullback reads some operands (see inline.reads). Outside loops it reads the forward pass's
        variables, so those must be assigned once and outside loops (``self.stable``). Inside a loop the run
        saves them on the tape at its end, so none of them may be reassigned later in the run."""
        run, needed = [], set()
        for s in stmts[start:]:
            op = self.inline_op(s)
            if op is None:
                break
            target = s.targets[0].id
            read, reads_target = inline.reads(*op)
            read = {o.id for o in read if isinstance(o, gast.Name)}
            if not in_loop and (read - self.stable or (reads_target and target not in self.stable)):
                break
            if in_loop and (target in needed or target in read):
                break
            needed |= read | ({target} if reads_target else set())
            s._fx_inline_op = op
            run.append(s)
        return run

    def fwd_inline(self, run, in_loop):
        """``if <guard>: <the arithmetic> else: <rule calls>``, and what tells the pullback which ran: a
        flag, or inside a loop a tape entry (the values the written-out pullback reads, or None after the
        rules' pullbacks)."""
        out, scalar, general = [], [], []
        produced, guarded, updated = set(), [], []
        for s in run:
            name, operands = s._fx_inline_op
            out += self.comment(s, "")
            for o in operands:
                if isinstance(o, gast.Name) and o.id not in produced and o.id not in guarded:
                    guarded.append(o.id)
            if (
                inline.in_place(name)
                and isinstance(operands[0], gast.Name)
                and operands[0].id not in produced
            ):
                updated.append(operands[0].id)  # x += y: x must not be a view (the rule refuses that)
            scalar.append(n.assign(s.targets[0].id, inline.forward(name, operands, s.targets[0])))
            produced.add(s.targets[0].id)
            general += self.fwd_stmt(s, in_loop)
        if in_loop:
            saved = self.saved_values(run)
            scalar.append(self.push(n.tuple_([n.name(v) for v in saved])))
            general.append(self.push(n.const(None)))
            marker = ("tape", {v: self.namer.fresh(f"_fx_v{v}") for v in saved})
        elif any(self.inline_contributions(s) for s in run):
            marker = self.namer.fresh("_fx_inline")
            scalar.append(n.assign(marker, n.const(True)))
            general.append(n.assign(marker, n.const(False)))
        else:
            marker = None
        for s in run:
            s._fx_run = (marker, run)
        return out + [n.if_(inline.guard(guarded, updated), scalar, general)]

    def saved_values(self, run):
        """The names whose values a run's written-out pullback reads (in a loop: kept on the tape)."""
        saved = []
        for s in run:
            if not self.inline_contributions(s):
                continue
            read, reads_target = inline.reads(*s._fx_inline_op)
            names = [o.id for o in read if isinstance(o, gast.Name)]
            for v in names + ([s.targets[0].id] if reads_target else []):
                if v not in saved:
                    saved.append(v)
        return saved

    def inline_contributions(self, s, seed=None, values=None):
        """``(name, cotangent expression)`` per active operand of an inlined statement that has a pullback,
        in terms of the target's cotangent (or of the name ``seed`` holding it); ``values`` renames the
        operands the expressions read (to the names they were restored under from the tape)."""
        target = s.targets[0].id
        if getattr(s, "_fx_inactive", False) or target not in self.read:
            return []
        name, operands = s._fx_inline_op
        values = values or {}

        def value(o):
            return n.name(values[o.id]) if isinstance(o, gast.Name) and o.id in values else o

        d = n.name(seed or self.adj(target))
        grads = inline.grads(name, d, [value(o) for o in operands], value(s.targets[0]))
        return [
            (o.id, g)
            for o, g in zip(operands, grads, strict=True)
            if g is not None and isinstance(o, gast.Name) and o.id in self.active
        ]

    def fwd_stmt(self, s, in_loop):
        return self._fwd_stmt(s, in_loop)

    def _fwd_stmt(self, s, in_loop):
        if hasattr(s, "_fx_item_of"):  # one name of ``a, b = v``: a plain subscript (see rev_unpack)
            items, index = s._fx_item_of
            return [n.assign(s.targets[0].id, n.subscript(n.name(items), n.const(index)))]
        if isinstance(s, gast.Assign) and _is_active_call(s.value):
            target = s.targets[0].id
            if getattr(s, "_fx_inactive", False):
                return [n.assign(target, n.subscript(self.inactive_call(s.value), n.const(0)))]
            value = self.direct_rule_call(s)
            if value is s.value and getattr(s, "_fx_mask", None) is not None:
                value = _masked_call(value, s._fx_mask)
            if target not in self.read:
                return [n.assign(target, n.subscript(value, n.const(0)))]
            pb = self.namer.pullback(target)
            s._fx_pullback = pb
            out = [
                gast.Assign(
                    targets=[n.tuple_([n.name(target, True), n.name(pb, True)], store=True)],
                    value=value,
                    type_comment=None,
                )
            ]
            if in_loop:
                out.append(self.push(n.name(pb)))
            return out
        if isinstance(s, gast.If):
            return self.fwd_if(s, in_loop)
        if isinstance(s, (gast.For, gast.While)):
            return self.fwd_loop(s, in_loop)
        if isinstance(s, gast.With):
            return self.fwd_with(s)
        if isinstance(s, gast.Try):
            return self.fwd_try(s, in_loop)
        if isinstance(s, gast.FunctionDef):
            self.mark_locations(s.body)
        return [s]

    def mark_locations(self, stmts):
        """A location marker (no comment line) before each statement of a nested function, in place: the
        code generated for it when it is differentiated in turn maps back to the user's lines."""
        file = self.ctx.source.file
        for i in reversed(range(len(stmts))):
            stmt = stmts[i]
            for field in ("body", "orelse", "finalbody"):
                if isinstance(getattr(stmt, field, None), list):
                    self.mark_locations(getattr(stmt, field))
            for handler in getattr(stmt, "handlers", None) or []:
                self.mark_locations(handler.body)
            if getattr(stmt, "lineno", None) is not None:
                self.comments.append((None, file, stmt.lineno))
                stmts.insert(i, gast.Expr(value=n.const(f"__fx_comment__{len(self.comments) - 1}")))

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
                finalbody=self.fwd_block(s.finalbody, True),
            ),
            self.push(n.name(step)),
            self.push(n.name(handler)),
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

    def rev_progress(self, s, out):
        """Reverse of a recorded body: each statement only if it completed."""
        for k in reversed(range(len(s.body))):
            code = self.rev_block([s.body[k]], True, set())
            if code:
                test = gast.Compare(left=n.name(s._fx_step), ops=[gast.Gt()], comparators=[n.const(k)])
                out.append(n.if_(test, code))
        return out

    def direct_rule_call(self, s):
        """``__fx_call(__fx_op.mul, a, b)`` becomes ``__fx_rule.mul(a, b)``: an operator's rule, called
        without dispatch (its pullback returns one entry per argument: no callee entry). Rules are bound
        when the code is generated; a later registration changes the registry version, which regenerates."""
        value = s.value
        callee = value.args[0] if value.func.id == CALL else None
        if value.keywords or any(isinstance(a, gast.Starred) for a in value.args[1:]):
            return value
        name = _operator_name(callee)
        if name is None or name not in self.ctx.direct_rules:
            return self.module_rule_call(s, callee)
        s._fx_direct = True
        mask = getattr(s, "_fx_mask", None)
        if mask is not None and f"{name}__partial" in self.ctx.direct_rules:
            # the rule's partial form computes only the wanted cotangents (the others come back None)
            flags = n.const(tuple(bool(f) for f in mask[1:]))
            return n.call(n.attr(n.name("__fx_rule"), f"{name}__partial"), [flags] + value.args[1:])
        return n.call(n.attr(n.name("__fx_rule"), name), value.args[1:])

    def module_rule_call(self, s, callee):
        """``__fx_call(np.sum, x)`` becomes ``__fx_rule_of(np.sum)(x)`` when ``np.sum`` had a rule when
        the code was generated: the rule is called without dispatch (``rule_of`` still looks it up, so a
        name rebound since is dispatched as before). Its pullback may return entries for parameters that
        were not passed: they are indexed, not destructured."""
        value = s.value
        rule = self.ctx.module_rule(callee) if callee is not None else None
        if rule is None or (getattr(rule, "partial", None) is not None and getattr(s, "_fx_mask", None)):
            return value
        s._fx_direct = True
        s._fx_indexed = True
        return n.call(n.call("__fx_rule_of", [callee]), value.args[1:])

    def inactive_call(self, value):
        """A call reading no active name: a Python callee runs its variant that computes no gradient."""
        callee = value.args[0]
        if not (
            isinstance(callee, gast.Name)
            and not callee.id.startswith(HELPER_PREFIX)
            and callee.id not in self.ctx.static_roots
        ):
            return value  # operators, module functions, helpers: their rules are cheap enough as they are
        rest = value.args[1:] if value.func.id == CALL else value.args[2:]
        flags = [False] + [(a, False) if isinstance(a, gast.Starred) else False for a in rest]
        return _masked_call(value, flags)

    def push(self, item):
        self.uses_tape = True
        return n.assign(self.tape, n.tuple_([item, n.name(self.tape)]))

    def fwd_if(self, s, in_loop):
        body = self.fwd_block(s.body, in_loop)
        orelse = self.fwd_block(s.orelse, in_loop)
        if in_loop:
            body.append(self.push(n.const(True)))
            orelse.append(self.push(n.const(False)))
        else:
            flag = self.namer.fresh("_fx_cond")
            s._fx_flag = flag
            body.insert(0, n.assign(flag, n.const(True)))
            orelse.insert(0, n.assign(flag, n.const(False)))
        return [n.if_(s.test, body, orelse)]

    def fwd_loop(self, s, in_loop):
        count = self.namer.fresh("_fx_trips")
        s._fx_count = count
        statements, exit_ = _split_exit(s.body)
        body = self.fwd_block(statements, in_loop=True)
        body.append(n.assign(count, gast.BinOp(left=n.name(count), op=gast.Add(), right=n.const(1))))
        body += exit_  # "if _break: break" last: the trip count already includes this iteration
        if isinstance(s, gast.For):
            loop = gast.For(target=s.target, iter=s.iter, body=body, orelse=[], type_comment=None)
        else:
            loop = gast.While(test=s.test, body=body, orelse=[])
        out = [n.assign(count, n.const(0)), loop]
        if in_loop:
            out.append(self.push(n.name(count)))
        return out

    # -- reverse --------------------------------------------------------------------------------------
    def rev_block(self, stmts, in_loop, known_none):
        out = []
        done = set()
        for s in reversed(stmts):
            if id(s) in done:
                continue
            if hasattr(s, "_fx_run"):
                flag, run = s._fx_run
                done.update(id(r) for r in run)
                out += self.rev_inline_run(flag, run, known_none)
                continue
            code = self.rev_stmt(s, in_loop, known_none)
            if code:
                out += self.comment(s, "grad of: ")
                out += code
        return out

    def rev_stmt(self, s, in_loop, known_none):
        if isinstance(s, gast.Assign) and isinstance(s.targets[0], gast.Name):
            target = s.targets[0].id
            if hasattr(s, "_fx_item_of"):
                return []  # its cotangent is collected by rev_unpack
            if hasattr(s, "_fx_unpacked"):
                return self.rev_unpack(s, target, in_loop, known_none)
            if _is_active_call(s.value):
                return self.rev_call(s, target, in_loop, known_none)
            if target not in self.active:
                return []
            if isinstance(s.value, gast.Name) and s.value.id == target:
                return []  # ``x = x`` (``x = f(x) if c else x``): the cotangent stays where it is
            if isinstance(s.value, gast.Name) and s.value.id in self.active:
                out = [self.accumulate(s.value.id, n.name(self.adj(target)), known_none)]
                out.append(n.assign(self.adj(target), n.const(None)))
                known_none.add(target)
                return out
            if self.global_active(s.value):
                return [self.record(s.value, n.name(self.adj(target)))] + self.reset(target, known_none)
            return self.reset(target, known_none)
        if isinstance(s, gast.FunctionDef):
            return self.rev_def(s, known_none)
        if isinstance(s, gast.If):
            return self.rev_if(s, in_loop, known_none)
        if isinstance(s, (gast.For, gast.While)):
            return self.rev_loop(s, in_loop, known_none)
        if isinstance(s, gast.With):
            out = [
                gast.Assign(
                    targets=[n.tuple_([n.name(s._fx_step, True), n.name(self.rtape, True)], store=True)],
                    value=n.name(self.rtape),
                    type_comment=None,
                )
            ]
            self.rev_progress(s, out)
            for name in _assigned_adjoints(out, self):
                known_none.discard(name)
            return out
        if isinstance(s, gast.Try):
            return self.rev_try(s, in_loop, known_none)
        return []

    def rev_inline_run(self, marker, run, known_none):
        """The reverse of an inlined run: the written-out derivatives, or the rules' pullbacks."""
        out = []
        for s in reversed(run):
            out += self.comment(s, "grad of: ")
        in_loop = isinstance(marker, tuple)
        general_known = set(known_none)
        general = []
        for s in reversed(run):
            general += self.rev_stmt(s, in_loop, general_known)
        if marker is None:  # nothing flows back through the run: only cotangent resets, the same either way
            known_none.clear()
            known_none.update(general_known)
            return out + general
        values = marker[1] if in_loop else None
        scalar_known = set(known_none)
        scalar = []
        for s in reversed(run):
            scalar += self.rev_inline(s, scalar_known, values)
        known_none.clear()
        known_none.update(scalar_known & general_known)
        if not in_loop:
            return out + [n.if_(n.name(marker), scalar, general)]
        entry = self.namer.fresh("_fx_saved")
        pop = gast.Assign(
            targets=[n.tuple_([n.name(entry, True), n.name(self.rtape, True)], store=True)],
            value=n.name(self.rtape),
            type_comment=None,
        )
        if values:
            restored = n.tuple_([n.name(v, True) for v in values.values()], store=True)
            scalar.insert(0, gast.Assign(targets=[restored], value=n.name(entry), type_comment=None))
        return out + [pop, n.if_(n.is_not_none(n.name(entry)), scalar, general)]

    def rev_inline(self, s, known_none, values=None):
        """``if d_t is not None: d_a = d_t * b; d_b = d_t * a; d_t = None`` (as rev_call, written out)."""
        target = s.targets[0].id
        if getattr(s, "_fx_inactive", False):
            return self.reset(target, known_none) if target in self.active else []
        if target not in self.read:
            return []
        contributions = self.inline_contributions(s, values=values)
        if not contributions:
            return self.reset(target, known_none)
        written = {name for name, _ in contributions}
        inner_known = set(known_none)
        inner_known.discard(target)
        if target in written:  # ``x = x + y``: the target's cotangent is read before it is reset
            held = self.namer.fresh("_fx_d")
            contributions = self.inline_contributions(s, held, values)
            inner = [n.assign(held, n.name(self.adj(target))), n.assign(self.adj(target), n.const(None))]
            inner_known.add(target)
            inner += [self.accumulate_expr(name, g, inner_known) for name, g in contributions]
        else:
            inner = [self.accumulate_expr(name, g, inner_known) for name, g in contributions]
            inner.append(n.assign(self.adj(target), n.const(None)))
        known_none.difference_update(written)
        if target not in written:
            known_none.add(target)
        return [n.if_(n.is_not_none(n.name(self.adj(target))), inner)]

    def accumulate_expr(self, name, value, known_none):
        """``d_name += value`` written out (``value if d_name is None else d_name + value``): no call."""
        if name in known_none:
            known_none.discard(name)
            return n.assign(self.adj(name), value)
        total = gast.BinOp(left=n.name(self.adj(name)), op=gast.Add(), right=copy.deepcopy(value))
        either = gast.IfExp(test=n.is_none(n.name(self.adj(name))), body=value, orelse=total)
        return n.assign(self.adj(name), either)

    def rev_try(self, s, in_loop, known_none):
        step, handler = s._fx_step, s._fx_handler
        out = []
        for name in (handler, step):
            out.append(
                gast.Assign(
                    targets=[n.tuple_([n.name(name, True), n.name(self.rtape, True)], store=True)],
                    value=n.name(self.rtape),
                    type_comment=None,
                )
            )
        # which parts ran is known only at run time: no "known None" shortcuts inside
        out += self.rev_block(s.finalbody, True, set())
        branches = [(0, s.orelse)] + [(i + 1, h.body) for i, h in enumerate(s.handlers)]
        chain = []
        for number, stmts in reversed(branches):
            code = self.rev_block(stmts, True, set())
            test = gast.Compare(left=n.name(handler), ops=[gast.Eq()], comparators=[n.const(number)])
            chain = [n.if_(test, code or [gast.Pass()], chain)]
        out += chain
        self.rev_progress(s, out)
        for name in _assigned_adjoints(out, self):
            known_none.discard(name)
        return out

    def reset(self, target, known_none):
        if target in known_none:
            return []
        known_none.add(target)
        return [n.assign(self.adj(target), n.const(None))]

    def accumulate(self, name, value, known_none):
        """``d_name += value``, as a plain assignment when ``d_name`` is known to be None here."""
        if name in known_none:
            known_none.discard(name)
            return n.assign(self.adj(name), value)
        return n.assign(self.adj(name), n.call(ACCUM, [n.name(self.adj(name)), value]))

    def rev_call(self, s, target, in_loop, known_none):
        if getattr(s, "_fx_inactive", False):  # no pullback: the name's earlier cotangent is not wanted
            return self.reset(target, known_none) if target in self.active else []
        if target not in self.read:
            return []
        pb = s._fx_pullback
        out = []
        if in_loop:
            out.append(
                gast.Assign(
                    targets=[n.tuple_([n.name(pb, True), n.name(self.rtape, True)], store=True)],
                    value=n.name(self.rtape),
                    type_comment=None,
                )
            )
        contributions = self.contributions(s.value, getattr(s, "_fx_direct", False))
        if not contributions:
            return out + self.reset(target, known_none)
        inner_known = set(known_none)
        inner_known.discard(target)
        result = n.call(pb, [n.name(self.adj(target))])
        items = self.destructured(s, contributions)
        if contributions[0][1] == "target":  # the value read, recorded with its own cotangent
            name = contributions[0][0]
            out.append(self.record(name[1], n.name(self.adj(target))))
            return out + self.reset(target, known_none)
        if items is None:
            inner = [n.assign(self.grads, result)]
            item = self.grad_item
        else:  # ``_fx_g_0, _fx_g_1 = pb(d)``: cheaper than indexing when differentiated again
            target_tuple = n.tuple_([n.name(v, True) for v in items], store=True)
            inner = [gast.Assign(targets=[target_tuple], value=result, type_comment=None)]
            item = lambda index: n.name(items[index])  # noqa: E731
        inner.append(n.assign(self.adj(target), n.const(None)))
        inner_known.add(target)
        trees = {}  # (index, follow, fields) -> the name holding their sums
        for _, index in contributions:
            if isinstance(index, tuple) and index[0] == "tree" and index[1:4] not in trees:
                trees[index[1:4]] = self.namer.fresh("_fx_rec")
                _, position, follow, fields, _ = index
                sums = n.call("__fx_recursive_fields", [item(position), n.const(follow), n.const(fields)])
                inner.append(n.assign(trees[index[1:4]], sums))
        for name, index in contributions:
            if isinstance(index, tuple) and index[0] == "tree":
                value = n.subscript(n.name(trees[index[1:4]]), n.const(index[4]))
                inner.append(self.accumulate(name, value, inner_known))
            elif isinstance(name, tuple):
                inner.append(self.record(name[1], item(index)))
            else:
                inner.append(self.accumulate(name, item(index), inner_known))
        written = {name for name, _ in contributions if not isinstance(name, tuple)}
        for name in written:
            known_none.discard(name)
        out.append(n.if_(n.is_not_none(n.name(self.adj(target))), inner))
        if target not in written:
            known_none.add(target)
        return out

    def rev_unpack(self, s, target, in_loop, known_none):
        """``a, b = v``: the cotangent of the unpacked tuple is ``(d_a, d_b)``, built in one step.

        The statements ``a = _items[0]; b = _items[1]`` that follow the unpacking get no pullback of their
        own (see fwd_stmt): one tuple instead of one indexing rule per name, which is what a pullback
        destructuring ``y, y_pb = rule(...)`` costs when it is differentiated again."""
        names = s._fx_unpacked
        live = [t for t in names if t in self.active and t not in known_none]
        out = []
        if live:
            parts = [n.name(self.adj(t)) if t in live else n.const(None) for t in names]
            body = [n.assign(self.adj(target), n.tuple_(parts))]
            body += [n.assign(self.adj(t), n.const(None)) for t in live]
            test = gast.BoolOp(op=gast.Or(), values=[n.is_not_none(n.name(self.adj(t))) for t in live])
            out.append(n.if_(test, body) if len(live) > 0 else body)
            known_none.discard(target)
            known_none.update(live)
        return out + self.rev_call(s, target, in_loop, known_none)

    def destructured(self, s, contributions):
        """Names for every entry of a direct rule's pullback result (one per argument, no callee entry),
        or None where the number of entries is not known from the call."""
        if not getattr(s, "_fx_direct", False) or getattr(s, "_fx_indexed", False):
            return None  # direct_rule_call has ruled out keywords and starred arguments
        if not all(type(index) is int for _, index in contributions):
            return None
        count = len(s.value.args) - 1
        names = self.__dict__.setdefault("_item_names", [])
        while len(names) < count:
            names.append(self.namer.fresh(f"{self.grads}_{len(names)}"))
        return names[:count]

    def grad_item(self, index):
        g = n.name(self.grads)
        if isinstance(index, tuple) and index[0] == "slice":
            # *args: up to the trailing keyword dict, if there is one
            if index[2] is None:
                return n.subscript(g, gast.Slice(lower=n.const(index[1]), upper=None, step=None))
            return n.call("__fx_starred_grads", [g, n.const(index[1])])
        if isinstance(index, tuple) and index[0] == "keyword":
            return n.call("__fx_kwgrad", [g, index[1], index[2]])
        if isinstance(index, tuple) and index[0] == "field":
            return n.call("__fx_tangent_field", [n.subscript(g, n.const(index[1])), n.const(index[2])])
        return n.subscript(g, n.const(index))

    def contributions(self, value, direct=False):
        """(name, index into the pullback's result) for every active name the call reads."""
        out = []
        args = value.args
        attribute = None if direct else self.static_attribute(value)
        if attribute is not None:  # ``Cfg.W``: recorded as it is read (see static_attribute)
            return [(("global", attribute), "target")]
        if direct:
            callee, rest, first = None, args[1:], 0  # a rule called directly: no entry for the callee
        elif value.func.id == CALL:
            callee, rest, first = args[0], args[1:], 1
            if isinstance(callee, gast.Name) and callee.id in self.closures:
                # a local closure called directly: its captured variables get their gradient here, for
                # the bindings they have now (Python closures read variables when called, not when made)
                out += self.closure_fields(callee.id, 0)
            elif isinstance(callee, gast.Name) and callee.id in self.active:
                out.append((callee.id, 0))
            elif self.global_active(callee):
                out.append((("global", callee), 0))
        else:
            obj, rest, first = args[0], args[2:], 1
            if isinstance(obj, gast.Name) and obj.id in self.active:
                out.append((obj.id, 0))
            elif self.global_active(obj):  # ``W.dot(x)`` on a global: its cotangent is the object's
                out.append((("global", obj), 0))
        starred = None
        # __fx_call(__fx_call, g, ...) or __fx_call(__fx_call_masked, mask, g, ...): g is a closure call
        through = _dispatcher_callee_index(value)
        for i, a in enumerate(rest):
            if i == through and isinstance(a, gast.Name) and a.id in self.closures:
                # __fx_call(__fx_call, g, ...) in generated code is a direct call of the closure g
                out += self.closure_fields(a.id, first + i)
                continue
            if isinstance(a, gast.Starred):
                starred = a.value
                if isinstance(a.value, gast.Name) and a.value.id in self.active:
                    # up to a trailing KeywordGrads, which callees with **kwargs always return
                    out.append((a.value.id, ("slice", first + i, n.const(None))))
                elif self.global_active(a.value):
                    out.append((("global", a.value), ("slice", first + i, n.const(None))))
            elif isinstance(a, gast.Name) and a.id in self.active:
                out.append((a.id, first + i))
            elif self.global_active(a):
                out.append((("global", a), first + i))
        npos = len(rest) - (starred is not None)
        position = n.const(first + npos)
        if starred is not None:
            position = gast.BinOp(left=position, op=gast.Add(), right=n.call("__fx_len", [starred]))
        for k in value.keywords:
            if isinstance(k.value, gast.Name) and k.value.id in self.active:
                out.append((k.value.id, ("keyword", position, n.const(k.arg))))
            elif self.global_active(k.value):  # ``f(A=W)``, ``f(**KW)`` (a dict of the keywords' gradients)
                out.append((("global", k.value), ("keyword", position, n.const(k.arg))))
        return out

    def static_attribute(self, value):
        """``Cfg.W`` for ``__fx_call(__fx_getattr, Cfg, 'W')`` (or ``getattr(mod, 'W')``) reading an
        attribute of a global class or of a user's module, when this function's own cotangent is wanted:
        the attribute's cotangent does not reach the class or module (dispatch gives them none), so the
        value read is recorded for ``fx.params`` with it, as a global's is. Else None."""
        args = value.args
        if not (
            self.self_active
            and value.func.id == CALL
            and len(args) == 3
            and not value.keywords
            and isinstance(args[0], gast.Name)
            and isinstance(args[1], gast.Name)
            and isinstance(args[2], gast.Constant)
            and isinstance(args[2].value, str)
            and args[2].value.isidentifier()
        ):
            return None
        callee, obj = args[0].id, args[1].id
        user_globals = _user_globals(self.ctx)
        if user_globals is None or obj in self.locals:
            return None
        if callee != "__fx_getattr" and not (
            callee == "getattr" and callee not in self.locals and callee not in user_globals
        ):
            return None
        if not (obj in self.user_modules or isinstance(user_globals.get(obj), type)):
            return None
        return gast.Attribute(value=n.name(obj), attr=args[2].value, ctx=gast.Load())

    def closure_fields(self, name, index):
        """Contributions of the variables closure ``name`` captures, read from its cotangent at ``index``
        of the pullback's result: field by field, or summed over the tree of the local functions it calls
        (see _direct_closures)."""
        tree = self.trees.get(name)
        if tree is None:
            return [(v, ("field", index, v)) for v in sorted(self.closures[name])]
        follow, fields = tree
        return [(v, ("tree", index, follow, fields, k)) for k, v in enumerate(fields)]

    def rev_def(self, s, known_none):
        if s.name not in self.active or s.name not in self.closures:
            return []
        out = []
        captured = sorted(_captured(s) & self.active)
        tree = self.trees.get(s.name)
        if tree is not None:
            # it calls local functions (itself, ``g = lambda ...: ... g(...)`` through its copy, or others
            # that may call it back): its cotangent nests theirs, one level per call, summed here
            follow, fields = tree
            sums = self.namer.fresh("_fx_rec")
            call = n.call(
                "__fx_recursive_fields", [n.name(self.adj(s.name)), n.const(follow), n.const(fields)]
            )
            out.append(n.assign(sums, call))
            for i, v in enumerate(fields):
                out.append(self.accumulate(v, n.subscript(n.name(sums), n.const(i)), known_none))
            return out + self.reset(s.name, known_none)
        if len(captured) == 1:
            field = n.call("__fx_tangent_field", [n.name(self.adj(s.name)), n.const(captured[0])])
            out.append(self.accumulate(captured[0], field, known_none))
            return out + self.reset(s.name, known_none)
        # ``d_a, d_b = __fx_tangent_values(d_f, ('a', 'b'))``, when the closure has a cotangent
        fields = self.namer.fresh("_fx_fields")
        body = [
            n.assign(
                fields, n.call("__fx_tangent_values", [n.name(self.adj(s.name)), n.const(tuple(captured))])
            )
        ]
        inner_known = set(known_none)
        for i, v in enumerate(captured):
            body.append(self.accumulate(v, n.subscript(n.name(fields), n.const(i)), inner_known))
        known_none.difference_update(captured)
        out.append(n.if_(n.is_not_none(n.name(self.adj(s.name))), body))
        return out + self.reset(s.name, known_none)

    def rev_if(self, s, in_loop, known_none):
        body_known, else_known = set(known_none), set(known_none)
        body = self.rev_block(s.body, in_loop, body_known)
        orelse = self.rev_block(s.orelse, in_loop, else_known)
        known_none.intersection_update(body_known & else_known)
        if in_loop:
            flag = self.namer.fresh("_fx_branch") if not hasattr(self, "_branch") else self._branch
            self._branch = flag
            pop = gast.Assign(
                targets=[n.tuple_([n.name(flag, True), n.name(self.rtape, True)], store=True)],
                value=n.name(self.rtape),
                type_comment=None,
            )
            return [pop, n.if_(n.name(flag), body, orelse)]
        return [n.if_(n.name(s._fx_flag), body, orelse)]

    def rev_loop(self, s, in_loop, known_none):
        """``for _ in range(trips): <the body's reverse>``. A cotangent known to be None when the loop
        starts and again at the end of every iteration of the body's reverse (a temporary of the body) is
        known None at the start of each: it is assigned, not accumulated. The body is generated under that
        assumption, narrowed until it holds (at most a few passes)."""
        statements = _split_exit(s.body)[0]
        assumed = set(known_none)
        while True:
            body_known, last_line = set(assumed), self.last_line
            body = self.rev_block(statements, True, body_known)
            if assumed <= body_known:
                break
            assumed &= body_known
            self.last_line = last_line
        for name in _assigned_adjoints(body, self) - assumed:
            known_none.discard(name)
        count = s._fx_count
        counter = self.namer.fresh("_fx_k")
        out = []
        if in_loop:
            out.append(
                gast.Assign(
                    targets=[n.tuple_([n.name(count, True), n.name(self.rtape, True)], store=True)],
                    value=n.name(self.rtape),
                    type_comment=None,
                )
            )
        out.append(n.for_range(counter, n.name(count), body or [gast.Pass()]))
        return out

    # -- comments -------------------------------------------------------------------------------------
    def comment(self, s, prefix):
        line = getattr(s, "lineno", None)
        if line is None or line == self.last_line:
            return []
        self.last_line = line
        file = self.ctx.source.file
        if self.ctx.source.generated:  # no comment line, only the location (see codegen.generate)
            self.comments.append((None, file, line))
        else:
            text = self.ctx.source.line(line).strip()
            self.comments.append((f"{prefix}{text}  ({_short_file(file)}:{line})", file, line))
        return [gast.Expr(value=n.const(f"__fx_comment__{len(self.comments) - 1}"))]


# -- analysis helpers ---------------------------------------------------------------------------------


# helpers of generated code whose rules it calls directly, as it does the operators' (their pullbacks
# return one entry per argument): ``__fx_rule.pack_tuple(a, b)`` for ``__fx_call(__fx_pack_tuple, a, b)``
RULE_HELPERS = ("power_by_constant", "pack_tuple", "pack_list", "unpack", "accum")


def _operator_name(callee):
    """``mul`` for ``__fx_op.mul`` (``pack_tuple`` for ``__fx_pack_tuple``: see RULE_HELPERS), else None."""
    if (
        isinstance(callee, gast.Attribute)
        and isinstance(callee.value, gast.Name)
        and callee.value.id == "__fx_op"
    ):
        return callee.attr
    if isinstance(callee, gast.Name) and callee.id.startswith(HELPER_PREFIX):
        name = callee.id[len(HELPER_PREFIX) :]
        return name if name in RULE_HELPERS else None
    return None


def _load_counts(stmts):
    """How many times each name is read in ``stmts``."""
    counts = {}
    for s in stmts:
        for node in n.walk(s):
            if isinstance(node, gast.Name) and isinstance(node.ctx, gast.Load):
                counts[node.id] = counts.get(node.id, 0) + 1
    return counts


def _mark_unpack_groups(stmts, loads):
    """Mark ``_items = unpack(v, k)`` followed by ``t_j = getitem(_items, j)`` for j = 0..k-1 (how the
    normalizer writes ``t_0, ..., t_k-1 = v``) when ``_items`` is read nowhere else and the names are
    distinct: the adjoint builds the tuple cotangent at once (rev_unpack)."""
    for s in stmts:
        for field in ("body", "orelse", "finalbody"):
            inner = getattr(s, field, None)
            if inner and not isinstance(s, gast.FunctionDef):
                _mark_unpack_groups(inner, loads)
        for handler in getattr(s, "handlers", None) or []:
            _mark_unpack_groups(handler.body, loads)
    for i, s in enumerate(stmts):
        count = _unpack_count(s)
        if count is None:
            continue
        items = s.targets[0].id
        group = stmts[i + 1 : i + 1 + count]
        if len(group) != count or loads.get(items) != count:
            continue
        names = [_item_target(g, items, j) for j, g in enumerate(group)]
        if None in names or len(set(names)) != count or items in names:
            continue
        s._fx_unpacked = names
        for j, g in enumerate(group):
            g._fx_item_of = (items, j)


def _binary_call(s):
    """The ``(callee, a, b)`` of ``t = __fx_call(callee, a, b)``, else None."""
    if not (isinstance(s, gast.Assign) and isinstance(s.targets[0], gast.Name)):
        return None
    v = s.value
    if not (_is_active_call(v) and v.func.id == CALL and len(v.args) == 3 and not v.keywords):
        return None
    return v.args


def _unpack_count(s):
    """``k`` for ``_items = __fx_call(__fx_unpack, v, k)``, else None."""
    call = _binary_call(s)
    if call is None:
        return None
    callee, _, count = call
    if isinstance(callee, gast.Name) and callee.id == "__fx_unpack" and isinstance(count, gast.Constant):
        return count.value if type(count.value) is int else None
    return None


def _item_target(s, items, index):
    """The target of ``t = getitem(items, index)``, else None."""
    call = _binary_call(s)
    if call is None or _operator_name(call[0]) != "getitem":
        return None
    obj, idx = call[1], call[2]
    same = isinstance(obj, gast.Name) and obj.id == items
    if same and isinstance(idx, gast.Constant) and idx.value == index:
        return s.targets[0].id
    return None


def _split_exit(body):
    """``(statements, [final "if flag: break"])`` of a loop body (see normalize/loops.py)."""
    last = body[-1] if body else None
    if isinstance(last, gast.If) and len(last.body) == 1 and isinstance(last.body[0], gast.Break):
        return body[:-1], [last]
    return body, []


def _masked_call(call, flags):
    """``__fx_call_masked(mask, f, ...)`` for ``__fx_call(f, ...)`` (likewise for method calls): ``flags``
    holds one bool per position (callee or object first), or ``(starred, bool)`` for a starred argument."""
    parts, current = [], []
    for flag in flags:
        if isinstance(flag, tuple):
            if current:
                parts.append(n.const(tuple(current)))
                current = []
            star = n.call("__fx_len", [flag[0].value])
            parts.append(gast.BinOp(left=n.const((bool(flag[1]),)), op=gast.Mult(), right=star))
        else:
            current.append(bool(flag))
    if current or not parts:
        parts.append(n.const(tuple(current)))
    mask = parts[0]
    for part in parts[1:]:
        mask = gast.BinOp(left=mask, op=gast.Add(), right=part)
    return gast.Call(func=n.name(MASKED[call.func.id]), args=[mask] + call.args, keywords=call.keywords)


def _assigned_adjoints(stmts, adjoint):
    names = set()
    reverse = {v: k for k, v in adjoint.namer._adjoints.items()}
    for s in stmts:
        for node in n.walk(s):
            if isinstance(node, gast.Name) and isinstance(node.ctx, gast.Store) and node.id in reverse:
                names.add(reverse[node.id])
    return names


def _stable_names(fdef, local_names, initial):
    """The local names that keep one value once assigned: bound once (a parameter, a captured variable or a
    single assignment), outside loops, and never rebound by a nested function (``nonlocal``)."""
    counts = Counter(initial)
    looped, rebound = set(), set()
    outside, inside = list(fdef.body), []  # nodes to visit outside loops, and inside them
    for stack, in_loop in ((outside, False), (inside, True)):  # outside first: it hands loops over
        while stack:
            node = stack.pop()
            if isinstance(node, (gast.FunctionDef, gast.Lambda)):
                if isinstance(node, gast.FunctionDef):
                    counts[node.name] += 1
                    if in_loop:
                        looped.add(node.name)
                for inner in n.walk(node):
                    if isinstance(inner, (gast.Nonlocal, gast.Global)):
                        rebound.update(inner.names)
                continue
            if isinstance(node, gast.Name):
                if not isinstance(node.ctx, gast.Load):
                    counts[node.id] += 1
                    if in_loop:
                        looped.add(node.id)
                continue  # (its children are its context and annotation)
            if isinstance(node, (gast.Nonlocal, gast.Global)):
                rebound.update(node.names)
            looping = in_loop or isinstance(node, (gast.For, gast.While))
            (inside if looping else stack).extend(n.children(node))
    return {v for v in local_names if counts[v] == 1 and v not in looped and v not in rebound}


def _base(name):
    return name.replace("<", "").replace(">", "")


def _short_file(path):

    return os.path.basename(path)
