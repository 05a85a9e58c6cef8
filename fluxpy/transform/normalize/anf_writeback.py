"""The calls of the ANF pass (anf.py) whose callee may write into an argument that the caller reads
afterwards: the callee's final values of those arguments are handed back, and the caller's names rebound
to them (runtime/writeback.py; the callee's variant: transform/writeback.py).

In differentiated code a write into a container rebinds the callee's own name to a new container, so the
caller of ``f(x, d)`` would not see ``d[k] = v`` in ``f``. Python shows it: fluxpy asks at run time
whether ``f`` writes into ``d`` (``__fx_writeback_plan``: a rule, a builtin or a function that only reads
``d`` does not), and where it does, calls the variant of ``f`` that returns ``d`` too.

Before::

    out = bn_forward(x, bn_param)
    return bn_param['running_mean']

After::

    _wb = __fx_writeback_plan(bn_forward, (1,), (bn_param,))
    if _wb:
        _wbf = __fx_call(__fx_writeback_function, bn_forward, (1,), _wb)
        _wbr = __fx_call(_wbf, x, bn_param)
        out = __fx_call(__fx_op.getitem, _wbr, 0)
        _wbv = __fx_call(__fx_op.getitem, _wbr, 1)
        bn_param = __fx_call(__fx_op.getitem, _wbv, 0)
    else:
        out = __fx_call(bn_forward, x, bn_param)
        if _wb is not None:
            __fx_check_writes(bn_forward, (1,), ('bn_param',), (bn_param,))
    ...

With several such arguments each is rebound under ``if _wb[j]:``. ``__fx_check_writes`` refuses what is
not handed back (an array, whose memory another name may view) when the callee wrote into it. A global or a
captured variable is not rebound: the call is checked as before (anf.check_argument_writes).
"""

import copy

import gast

from .. import nodes as n
from ..writeback import writes_into
from .anf_names import CALL
from .anf_updates import _lookup, _user_globals

PLANS = ("__fx_writeback_plan", "__fx_writeback_method_plan")  # evaluated as they are, in every mode


class WriteBacks:
    """Methods of anf._ANF: a call that hands back the arguments its callee writes into."""

    def write_back(self, e, call, target):
        """Emit ``target = <call>`` in the write-back form (see the module's docstring) when ``call`` (the
        normalized ``e``) passes a local name that the caller reads afterwards; returns whether it did."""
        found = self.live_arguments(e, call)
        if not found:
            return False
        method, live = found
        if any(name not in self.local_names or name in self.ctx.freevars for _, name in live):
            return False
        live = self.maybe_written(e, live)
        if live is None:
            return False  # (a function defined here: checked after the call, anf.check_argument_writes)
        if not live:
            self.emit(n.assign(target, call))  # (a function that writes into none of them, looked up now)
            return True
        self.ctx.inactive_builtins.update(PLANS)
        positions = n.const(tuple(i for i, _ in live))
        values = n.tuple_([n.name(name) for _, name in live])
        plan = self.ctx.namer.fresh("_wb")
        head = copy.deepcopy(call.args[:2] if method else call.args[:1])
        self.emit(n.assign(plan, n.call(PLANS[method], head + [positions, values])))
        body = self.nested(lambda: self.handed_back(call, method, target, plan, live))
        orelse = self.nested(lambda: self.checked_call(call, method, target, plan, live))
        self.emit(n.if_(n.name(plan), body, orelse))
        self.bound.add(target)
        return True

    def maybe_written(self, e, live):
        """Those of ``live`` that the callee of ``e`` may write into: where the callee is a global name
        of a Python function, a rule or a builtin now, those it writes into (transform/writeback.py).
        None for a function defined in this one (handing it to the plan would count as passing it on)."""
        func = e.func
        if isinstance(func, gast.Name) and func.id in self.local_defs:
            return None
        if not isinstance(func, gast.Name) or func.id in self.local_names:
            return live
        callee = _lookup(func, _user_globals(self.ctx))
        if callee is None:
            return live
        return [(i, name) for i, name in live if writes_into(callee, i)]

    def handed_back(self, call, method, target, plan, live):
        """The variant called, its result bound to ``target`` and the arguments handed back rebound."""
        helper = "__fx_writeback_method" if method else "__fx_writeback_function"
        call = copy.deepcopy(call)  # (a node is never in two places of the tree: the other branch has it)
        head = call.args[:2] if method else call.args[:1]
        positions = n.const(tuple(i for i, _ in live))
        variant = self.ctx.namer.fresh("_wbf")
        self.emit(n.assign(variant, n.call(CALL, [n.name(helper)] + head + [positions, n.name(plan)])))
        args = call.args[2:] if method else call.args[1:]
        result = self.ctx.namer.fresh("_wbr")
        self.emit(n.assign(result, n.call(CALL, [n.name(variant)] + args, call.keywords)))
        self.emit(n.assign(target, self.op_call("getitem", [n.name(result), n.const(0)])))
        handed = self.ctx.namer.fresh("_wbv")
        self.emit(n.assign(handed, self.op_call("getitem", [n.name(result), n.const(1)])))
        for j, (_, name) in enumerate(live):
            rebind = n.assign(name, self.op_call("getitem", [n.name(handed), n.const(j)]))
            if len(live) == 1:
                self.emit(rebind)
            else:
                flag = gast.Subscript(value=n.name(plan), slice=n.const(j), ctx=gast.Load())
                self.emit(n.if_(flag, [n.located(rebind, self.where)]))

    def checked_call(self, call, method, target, plan, live):
        """The call as written; a write into an argument that was not handed back is refused after it."""
        self.emit(n.assign(target, call))
        positions = n.const(tuple(i for i, _ in live))
        names = n.const(tuple(name for _, name in live))
        values = n.tuple_([n.name(name) for _, name in live])
        head = copy.deepcopy(call.args[:2] if method else call.args[:1])
        helper = "__fx_check_method_writes" if method else "__fx_check_writes"
        check = n.call(helper, head + [positions, names, values])
        self.emit(n.if_(n.is_not_none(n.name(plan)), [n.located(gast.Expr(value=check), self.where)]))

    def nested(self, emit):
        """The statements that ``emit()`` emits, as a block of their own."""
        saved, self.out = self.out, []
        emit()
        out, self.out = self.out, saved
        return out
