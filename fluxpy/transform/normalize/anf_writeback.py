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
captured variable is not rebound: the call is checked as before (anf_argument_writes.py).

An argument passed by keyword is named by its keyword in the positions (``(0, 'd')``). Where a rebinding
of the name cannot show the write as Python does, the plan gets ``notes`` and refuses at run time: the
caller's other names that hold the object, are it or are held by it (``e = d``, ``holder = [d]``,
``d = {'w': w}``) and are read afterwards, and the line of a ``try`` around the call. An argument that is
an item, an attribute or spread (``put(D['k'], x)``, ``put(*args)``, ``put(**kw)``) cannot be rebound:
``check_passed_writes`` refuses after the call a callee that may write into it::

    _ = __fx_call(put, _getitem, x)
    __fx_check_writes(put, (0,), ("D['k']",), (_getitem,))
"""

import ast
import copy
import os

import gast

from .. import nodes as n
from .. import writeback
from ..writeback import writes_into
from .anf_names import CALL, CALL_METHOD
from .anf_updates import _lookup, _user_globals

_PACKAGE_DIR = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))  # fluxpy/

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
            return False  # (a function defined here: checked after the call, anf_argument_writes.py)
        if not live:
            self.emit(n.assign(target, call))  # (a function that writes into none of them, looked up now)
            self.check_passed_writes(e, call)
            return True
        self.ctx.inactive_builtins.update(PLANS)
        positions = n.const(tuple(i for i, _ in live))
        values = n.tuple_([n.name(name) for _, name in live])
        plan = self.ctx.namer.fresh("_wb")
        head = copy.deepcopy(call.args[:2] if method else call.args[:1])
        notes = self.plan_notes(e, live)
        self.emit(n.assign(plan, n.call(PLANS[method], head + [positions, values] + notes)))
        body = self.nested(lambda: self.handed_back(call, method, target, plan, live))
        orelse = self.nested(lambda: self.checked_call(call, method, target, plan, live))
        self.emit(n.if_(n.name(plan), body, orelse))
        self.bound.add(target)
        self.check_passed_writes(e, call)
        return True

    def plan_notes(self, e, live):
        """The plan's ``notes`` argument (runtime/writeback.py), ``[]`` where there is nothing to note: per
        argument, the caller's other names that may hold it, be it or be held by it and are read after the
        call (``e = d``, ``holder = [d]``, ``d = {'w': w}``) with their values, the line of a ``try``
        around the call whose handlers may catch an exception the callee raises after writing, and
        whether the argument is read in the statement only."""
        try_line = self.try_line()
        notes = []
        for _, name in live:
            others = self.shared_with(name, e)
            # read in the statement only (``side(log, 'a') + side(log, 'b')``): a list that the callee
            # changes by its methods (``log.append(tag)``) is changed in place by the call as it is
            inside = not (self.positions.read_after(self.where, name) or self.captured_live(name) or others)
            if not others and not try_line and not inside:
                notes.append(n.const(None))
                continue
            shared = [
                n.tuple_([n.const(k), n.const(line or 0), n.name(k)]) for k, line in sorted(others.items())
            ]
            notes.append(n.tuple_([n.tuple_(shared), n.const(try_line), n.const(inside)]))
        if all(isinstance(note, gast.Constant) for note in notes):
            return []
        return [n.tuple_(notes)]

    def try_line(self):
        """The line of the innermost ``try`` (with handlers) whose body holds the statement, or 0."""
        node = self.where
        while id(node) in self.positions.parent:
            block, _, owner = self.positions.parent[id(node)]
            if owner is None:
                return 0
            if isinstance(owner, gast.Try) and block is owner.body and owner.handlers:
                return owner.lineno
            node = owner
        return 0

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

    def may_write(self, e, positions):
        """Whether the callee of ``e`` may write into its arguments at ``positions`` (``"*N"``, ``"**"``:
        into any): a global function looked up now that writes into none of them is left unchecked."""
        func = e.func
        if not isinstance(func, gast.Name) or func.id in self.local_names:
            return True
        callee = _lookup(func, _user_globals(self.ctx))
        if callee is None:
            return True
        if any(isinstance(p, str) and p.startswith("*") for p in positions):
            return writeback.may_write_any(callee)
        return any(writes_into(callee, p) for p in positions)

    def user_code(self):
        """Whether the function is the user's: not code fluxpy generated, differentiated again (its checks
        are there already), but a function the user defined inside a differentiated one is (generated code
        holds it as the user wrote it: no helper of generated code in its body)."""
        found = getattr(self, "_user_code", None)
        if found is None:
            body = next((block for block, _, owner in self.positions.parent.values() if owner is None), [])
            found = not self.ctx.source.generated or not any(
                isinstance(x, gast.Name) and x.id.startswith("__fx_") for s in body for x in n.walk(s)
            )
            self._user_code = found
        return found

    def read_later(self, name, e):
        """Whether the caller may read ``name``'s object after the call ``e``: ``name`` is read after the
        statement, or in it outside the call (``put(d, a) * put(d, b) + d['v']``, ``d['a'] = put(d, x)``),
        or it is a captured variable of a function defined in a differentiated one (:meth:`captured_live`),
        or another name that holds it, is it or is held by it is read after (``e = d``, ``holder = [d]``:
        :meth:`shared_with`)."""
        if self.positions.read_after(self.where, name) or self.captured_live(name):
            return True
        if _loads(self.where, name) > _loads(e, name):
            return True
        return bool(self.shared_with(name, e))

    def captured_live(self, name):
        """Whether ``name`` is a variable that a function defined in a differentiated one captures: the
        function around it may read it after the call (a captured variable of the function given to
        ``fx.gradient`` is the user's, outside: fluxpy never writes into it)."""
        return name in self.ctx.freevars and self.ctx.source.generated

    def shared_with(self, name, e):
        """``{other: line}``: the names surely bound here that may hold ``name``'s object, be it or be held
        by it (transform/shared_objects.py), and that the caller reads after the call ``e``."""
        links = getattr(self, "_links", None)
        if links is None:
            body = next((block for block, _, owner in self.positions.parent.values() if owner is None), [])
            links = self._links = _links(body)
        others = dict.fromkeys(self.sharing.group(name) - {name})
        others.update(links.get(name, {}))
        return {
            other: line
            for other, line in others.items()
            if other != name
            and other in self.bound
            and (self.positions.read_after(self.where, other) or _loads(self.where, other) > _loads(e, other))
        }

    def check_passed_writes(self, e, call):
        """After ``f(D['k'], x)``, ``f(c.cache)``, ``f(*args)``, ``f(**kw)``, ``f(x, d=D['k'])``: a callee
        that may write into such an argument writes into a copy in differentiated code, and no name of the
        caller's can be rebound to show it; refused at run time (runtime.check_writes) where it does.
        ``D['k'] = f(D['k'], x)`` (the way to write it) is not checked."""
        if not self.user_code() or self.ctx.source.file.startswith(_PACKAGE_DIR):
            return  # (fluxpy's own dispatch, differentiated for higher orders, passes `rule(*args)`)
        if not self.may_be_python(e, call):
            return
        method = call.func.id == CALL_METHOD
        args = call.args[2:] if method else call.args[1:]
        if len(args) != len(e.args) or len(call.keywords) != len(e.keywords):
            return
        stored = _stored_texts(self.where)
        found, starred = [], False
        for i, (a, user) in enumerate(zip(args, e.args, strict=True)):
            if isinstance(user, gast.Starred):
                if not starred:
                    found.append((f"*{i}", "*" + _text(user.value), a.value))
                starred = True
            elif isinstance(user, (gast.Attribute, gast.Subscript)) and _text(user) not in stored:
                found.append((i, _text(user), a))
        for k, user in zip(call.keywords, e.keywords, strict=True):
            if k.arg is None:
                found.append(("**", "**" + _text(user.value), k.value))
            elif isinstance(user.value, (gast.Attribute, gast.Subscript)) and _text(user.value) not in stored:
                found.append((k.arg, _text(user.value), k.value))
        if not found or not self.may_write(e, [p for p, _, _ in found]):
            return
        positions = n.const(tuple(p for p, _, _ in found))
        texts = n.const(tuple(t for _, t, _ in found))
        values = n.tuple_([copy.deepcopy(v) for _, _, v in found])
        head = [copy.deepcopy(a) for a in call.args[: 2 if method else 1]]
        helper = "__fx_check_method_writes" if method else "__fx_check_writes"
        self.emit(n.located(gast.Expr(value=n.call(helper, head + [positions, texts, values])), self.where))


def _links(body):
    """``{name: {other: line}}``: per name, the names that may hold its object, be it or be held by it, as
    the function's own statements show: ``holder = [d]``, ``D = {'a': d}``, ``D[k] = d``, ``o.f = d``,
    ``lst.append(d)`` (either way round), ``d = D[k]``, ``d = o.f``, ``for d in D`` (D holds d). Results of
    calls are left out (``out = f(x, d)`` rarely holds ``d``; the write-back form would rebind far too
    many arguments)."""
    out = {}

    def link(a, b, line):
        if a != b:
            out.setdefault(a, {}).setdefault(b, line)
            out.setdefault(b, {}).setdefault(a, line)

    for node in (x for s in body for x in n.walk(s)):
        line = getattr(node, "lineno", 0)
        if isinstance(node, gast.Assign):
            held = _displayed(node.value)
            for target in node.targets:
                for holder in _holder_names(target):
                    for name in held:
                        link(holder, name, line)
                base = _base(node.value)
                if (
                    isinstance(target, gast.Name)
                    and base is not None
                    and not isinstance(node.value, gast.Name)
                ):
                    link(target.id, base, line)
        elif isinstance(node, gast.For) and isinstance(node.target, gast.Name):
            base = _base(node.iter)
            if base is not None:
                link(node.target.id, base, line)
        elif isinstance(node, gast.Call) and isinstance(node.func, gast.Attribute):
            receiver = node.func.value
            if isinstance(receiver, gast.Name) and node.func.attr in _STORING:
                for name in _displayed(gast.List(elts=node.args, ctx=gast.Load())):
                    link(receiver.id, name, line)
    return out


_STORING = frozenset({"append", "extend", "insert", "add", "update", "setdefault"})


def _displayed(value):
    """The names a display holds as they are (``[d, 1]``, ``{'a': d}``, ``(d,) * 2``), nested displays too."""
    if isinstance(value, gast.Name):
        return [value.id]
    if isinstance(value, (gast.List, gast.Tuple, gast.Set)):
        return [x for e in value.elts for x in _displayed(e.value if isinstance(e, gast.Starred) else e)]
    if isinstance(value, gast.Dict):
        return [x for v in value.values if v is not None for x in _displayed(v)]
    if isinstance(value, gast.BinOp):
        return _displayed(value.left) + _displayed(value.right)
    return []


def _holder_names(target):
    """The names a target makes hold its value: ``h`` of ``h = [d]``, ``D`` of ``D[k] = d``, ``o.f = d``."""
    if isinstance(target, gast.Name):
        return [target.id]
    base = _base(target)
    return [base] if base is not None else []


def _base(node):
    """``D`` of ``D[k]``, ``D.a``, ``D[k].a``; None for anything else."""
    if not isinstance(node, (gast.Subscript, gast.Attribute)):
        return None
    while isinstance(node, (gast.Subscript, gast.Attribute)):
        node = node.value
    return node.id if isinstance(node, gast.Name) else None


def _stored_texts(stmt):
    """The item and attribute targets of a user assignment, as text (``D['k']`` of ``D['k'] = f(D['k'])``)."""
    targets = stmt.targets if isinstance(stmt, gast.Assign) else []
    return {_text(t) for t in targets if isinstance(t, (gast.Attribute, gast.Subscript))}


def _text(node):
    return ast.unparse(gast.gast_to_ast(copy.deepcopy(node)))


def _loads(node, name):
    """How many times ``node`` reads the name ``name``."""
    return sum(
        1 for x in n.walk(node) if isinstance(x, gast.Name) and x.id == name and isinstance(x.ctx, gast.Load)
    )
