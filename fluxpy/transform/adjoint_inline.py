"""Stage 5, inlined scalar arithmetic (a mixin of adjoint._Adjoint): which runs of operator statements the
adjoint writes out, and the forward and pullback code it writes for them.

inline.py knows each operator's forward and derivative as code; this module decides where they may be used
and generates the two paths: the arithmetic as written, guarded by a run-time test of the operands (scalars,
or arrays of one shape), and the rule calls otherwise. A flag (or, inside a loop, a tape entry) tells the
pullback which path ran::

    # forward (y = x * w)                          # pullback
    if <x, w: scalars, or arrays of one shape>:    if _fx_inline:
        y = x * w                                      if d_y is not None:
        _fx_inline = True                                  d_x = d_y * w
    else:                                                  d_w = d_y * x
        y, y_pb = __fx_rule.mul(x, w)                      d_y = None
        _fx_inline = False                         elif d_y is not None:
                                                       (the rule's pullback y_pb, as without inlining)

The written-out pullback reads the operands themselves, so a run ends before a statement whose operands may
hold another value when the pullback runs (see inline_run).
"""

import copy

import gast

from . import inline
from . import nodes as n
from .activity import _is_active_call
from .adjoint_calls import operator_name
from .normalize.anf_names import CALL


class InlinedArithmetic:
    """Methods of adjoint._Adjoint: the inlined runs of scalar arithmetic, forward and reverse. They use the
    core's ``fwd_stmt``, ``rev_stmt``, ``comment``, ``push``, ``pop``, ``reset`` and its names (``stable``,
    ``read``, ``active``)."""

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
        name = operator_name(s.value.args[0])
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
        in_place = False
        for s in run:
            name, operands = s._fx_inline_op
            in_place = in_place or inline.in_place(name)
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
        return out + [n.if_(inline.guard(guarded, updated, in_place), scalar, general)]

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
        if values:
            restored = n.tuple_([n.name(v, True) for v in values.values()], store=True)
            scalar.insert(0, gast.Assign(targets=[restored], value=n.name(entry), type_comment=None))
        return out + [self.pop(entry), n.if_(n.is_not_none(n.name(entry)), scalar, general)]

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
