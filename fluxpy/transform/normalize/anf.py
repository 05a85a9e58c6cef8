"""Pass: administrative normal form, one call per statement.

Postcondition (what the adjoint stage relies on): the body holds only

* ``t = __fx_call(f, a, *s, k=v)`` -- an *active call*: ``f`` is a name or a static attribute chain on a
  module or helper (``np.sin``, ``__fx_op.mul``); ``a`` are names or constants; at most one ``*s``, last;
* ``t = __fx_call_method(obj, 'name', a, ...)`` -- an active method call on the name ``obj``;
* ``t = u`` (a copy of a name) and ``t = <inactive expression>`` (constants, comparisons, ``not``,
  f-strings, calls of builtins like ``len``/``range``/``isinstance``, static module attributes);
* ``if <test>:``, ``while <test>:`` whose test is evaluated without gradient (a bool has none);
* ``for i in range(...)`` with an inactive counter (iterables are iterated by index, see below; a
  loop whose body calls ``next`` of its own iterator is a ``while`` loop taking one item at a time);
* nested ``def``, ``assert``, ``raise``, ``import``, inactive expression statements;
* exactly one ``return <name or constant>``, the last statement.

Before::

    def f(x, w):
        y = 3 * x ** 2 + w.sum()
        for row in w:
            y += row[0]
        return y

After::

    def f(x, w):
        _pow = __fx_call(__fx_power_by_constant, x, 2)
        _mul = __fx_call(__fx_op.mul, 3, _pow)
        _sum = __fx_call_method(w, 'sum')
        y = __fx_call(__fx_op.add, _mul, _sum)
        _seq = __fx_call(__fx_iterlist, w)
        for _i in __fx_range(__fx_len(_seq)):
            row = __fx_call(__fx_op.getitem, _seq, _i)
            _getitem = __fx_call(__fx_op.getitem, row, 0)
            y = __fx_call(__fx_op.iadd, y, _getitem)
        return y

(``__fx_op.iadd`` is fluxpy's ``y += v``, not ``operator.iadd``: see rules/augmented.py.)
"""

import builtins

import gast

from .. import nodes as n
from ..aliases import FRESH_METHODS
from ..shared_objects import Sharing
from .anf_loops import ForLoops
from .anf_names import BINOPS, CALL, CALL_METHOD, UNARYOPS
from .anf_updates import BUILDERS, InPlaceUpdates
from .anf_writeback import WriteBacks


def normalize_anf(fdef, ctx):
    anf = _ANF(ctx)
    anf.sharing = Sharing(fdef)
    anf.positions = _Positions(fdef)
    args = fdef.args
    anf.bound = {a.id for a in args.posonlyargs + args.args + args.kwonlyargs}
    anf.bound |= {a.id for a in (args.vararg, args.kwarg) if a is not None}
    anf.own_varargs = _own_varargs(fdef)
    anf.local_names, anf.built_lists = _local_names(fdef, ctx)
    anf.local_defs = _local_defs(fdef)
    fdef.body = anf.block(fdef.body)
    return fdef


def _local_defs(fdef):
    """The names of the functions defined in ``fdef`` (a lambda is one since the lambdas pass), and the
    names assigned one of them (``scale = lambda_L12C4``)."""
    nodes = n.walk(fdef)
    names = {x.name for x in nodes if isinstance(x, gast.FunctionDef) and x is not fdef}
    for x in nodes:
        if isinstance(x, gast.Assign) and isinstance(x.value, gast.Name) and x.value.id in names:
            names.update(t.id for t in x.targets if isinstance(t, gast.Name))
    return names


def _own_varargs(fdef):
    """The name of ``fdef``'s ``*args`` where its body never rebinds it (it is then surely a tuple)."""
    vararg = fdef.args.vararg
    if vararg is None:
        return None
    for node in n.walk(fdef):
        rebinds = isinstance(node, gast.Name) and isinstance(node.ctx, (gast.Store, gast.Del))
        if rebinds and node.id == vararg.id:
            return None
    return vararg.id


def _local_names(fdef, ctx):
    """``(names, built)``: the names local to ``fdef`` (parameters, the names it binds, its closure's
    variables), and those bound to the list, set or dict a comprehension built (comprehensions.py)."""
    names, built = set(ctx.freevars), set()
    for node in n.walk(fdef):
        if isinstance(node, gast.Name) and not isinstance(node.ctx, gast.Load):
            names.add(node.id)
        elif isinstance(node, gast.FunctionDef):
            names.add(node.name)
        elif isinstance(node, gast.alias):
            names.add(node.asname or node.name.split(".")[0])
        elif (
            isinstance(node, gast.Assign)
            and isinstance(node.targets[0], gast.Name)
            and isinstance(node.value, gast.Call)
            and isinstance(node.value.func, gast.Name)
            and node.value.func.id in BUILDERS
        ):
            built.add(node.targets[0].id)
    return names, built


class _ANF(InPlaceUpdates, ForLoops, WriteBacks):
    def __init__(self, ctx):
        self.ctx = ctx
        self.out = None
        self.where = None  # the user statement being normalized, for positions
        self.sharing = None  # what else may hold a name's object (see in_place_on_item, rebind_copies)
        self.bound = set()  # the names surely bound at the statement being normalized
        self.block_bound = set()  # those at the end of the block normalized last
        self.positions = None  # where each statement is, to tell which names are read after it
        self.local_names = set()  # the function's own names (a callee not among them may be operator.iadd)
        self.built_lists = set()  # the names bound to a comprehension's new list (see _local_names)
        self.own_varargs = None  # the function's ``*args`` where never rebound (see _own_varargs)
        self.local_defs = set()  # the names of the functions defined in it (see anf_writeback.py)

    # -- blocks and statements ------------------------------------------------------------------------
    def block(self, stmts):
        saved, self.out = self.out, []
        saved_bound, self.bound = self.bound, set(self.bound)  # a block's own names may not be bound after it
        for stmt in stmts:
            saved_where, self.where = self.where, stmt
            self.stmt(stmt)
            self.where = saved_where
        out, self.out = self.out, saved
        self.block_bound, self.bound = self.bound, saved_bound
        return out

    def emit(self, stmt):
        self.out.append(n.located(stmt, self.where))
        if isinstance(stmt, gast.Assign):
            self.bound.update(t.id for t in stmt.targets if isinstance(t, gast.Name))
        elif isinstance(stmt, gast.FunctionDef):
            self.bound.add(stmt.name)

    def stmt(self, s):
        method = getattr(self, "stmt_" + type(s).__name__, None)
        if method is None:
            self.emit(s)  # assert, raise, import, pass-through statements evaluated as they are
        else:
            method(s)

    def stmt_Pass(self, s):
        pass  # `pass` has nothing to normalise and is dropped

    def stmt_Expr(self, s):
        if isinstance(s.value, gast.Constant):
            return  # docstrings and bare constants
        if self.ctx.writable and _is_super_init(s.value):
            # super().__init__(...) in a constructor: the parent writes on the same fresh self
            self_name = self.ctx.writable
            init = self.atom_of_value(n.call("__fx_parent_init", [n.name("__class__"), n.name(self_name)]))
            self.emit_init_into(self_name, init, s.value.args, s.value.keywords)
            return
        if self.ctx.writable and _is_explicit_init(s.value, self.ctx.writable):
            # Base.__init__(self, ...) in a constructor: the same, naming the base
            self_name = self.ctx.writable
            init = self.atom(s.value.func)
            self.emit_init_into(self_name, init, s.value.args[1:], s.value.keywords)
            return
        if self.ctx.writable and self.attribute_write(s.value, self.ctx.writable):
            return
        if self.list_method(s.value, None):
            return
        if self.is_inactive(s.value) or _is_write_check(s.value):
            self.emit(s)
            return
        target = self.ctx.namer.fresh("_")
        self.expr(s.value, target=target)  # f(x) as a statement: it may be meant to write into x

    def attribute_write(self, call, self_name):
        """``setattr(self, k, v)``, ``object.__setattr__(self, k, v)`` or ``super().__setattr__(k, v)`` in a
        constructor (or a setter run as one): ``self`` is rebound to itself, written, as for ``self.k = v``
        (a class's own ``__setattr__`` and property setters run differentiated: rules/attributes.py)."""
        if (
            not isinstance(call, gast.Call)
            or call.keywords
            or any(isinstance(a, gast.Starred) for a in call.args)
        ):
            return False
        func, args = call.func, call.args
        on_self = bool(args) and isinstance(args[0], gast.Name) and args[0].id == self_name
        if isinstance(func, gast.Name) and func.id == "setattr" and len(args) == 3 and on_self:
            head, rest = [n.name("__fx_setattr"), n.name(self_name)], args[1:]
        elif _is_attribute_call(func, "object", "__setattr__") and len(args) == 3 and on_self:
            head, rest = [n.name("__fx_object_setattr"), n.name(self_name)], args[1:]
        elif _is_super_call(func, "__setattr__") and len(args) == 2:
            head, rest = [n.name("__fx_parent_setattr"), n.name("__class__"), n.name(self_name)], args
        else:
            return False
        self.emit(n.assign(self_name, n.call(CALL, head + [self.atom(a) for a in rest])))
        return True

    def emit_init_into(self, self_name, init, args, keywords):
        """``self = init_into(init, self, *args, **keywords)``: a parent's ``__init__`` run on ``self``."""
        args = self.arguments(args, call=True)
        keywords = [gast.keyword(arg=k.arg, value=self.atom(k.value)) for k in keywords]
        call = n.call(CALL, [n.name("__fx_init_into"), init, n.name(self_name)] + args, keywords)
        self.emit(n.assign(self_name, call))

    def stmt_Assign(self, s):
        if len(s.targets) == 1 and isinstance(s.targets[0], gast.Name):
            target = s.targets[0].id
            if self.list_method(s.value, target) or self.in_place_rebinding(target, s.value):
                return
            self.expr(s.value, target=target)
            return
        if len(s.targets) == 1 and _parallel(s.targets[0], s.value):
            self.parallel_assign(s.targets[0].elts, s.value.elts)
            return
        if len(s.targets) > 1 and isinstance(s.targets[0], gast.Name):
            # a = b = v: a = v, then b = a (the one object; Python assigns the targets left to right)
            first = s.targets[0].id
            self.stmt_Assign(gast.Assign(targets=[s.targets[0]], value=s.value, type_comment=None))
            for target in s.targets[1:]:
                self.assign_to(target, n.name(first))
            return
        value = (
            self.atom(s.value) if len(s.targets) > 1 or not isinstance(s.targets[0], gast.Subscript) else None
        )
        if value is None:
            value = self.atom(s.value)
        for target in s.targets:
            self.assign_to(target, value)

    def parallel_assign(self, names, values):
        """``a, b = x, y``: every value first, then one plain assignment per name (no tuple packed and
        unpacked through two rules). A value read from a name that an earlier assignment here rebinds
        (``a, b = b, a``) is copied first."""
        targets = {t.id for t in names}
        atoms = []
        for v in values:
            atom = self.atom(v)
            if isinstance(atom, gast.Name) and atom.id in targets:
                atom = self.expr(atom, target=None)
            atoms.append(atom)
        for t, atom in zip(names, atoms, strict=True):
            self.expr(atom, target=t.id)

    def stmt_AnnAssign(self, s):
        if s.value is not None:
            self.stmt_Assign(gast.Assign(targets=[s.target], value=s.value, type_comment=None))

    def stmt_Return(self, s):
        value = self.atom(s.value) if s.value is not None else n.const(None)
        self.emit(gast.Return(value=value))

    def stmt_If(self, s):
        body = self.block(s.body)
        body_bound = self.block_bound
        orelse = self.block(s.orelse)
        self.emit(n.if_(s.test, body, orelse))
        self.bound |= body_bound & self.block_bound  # bound in both branches: bound after

    def stmt_While(self, s):
        self.emit(gast.While(test=s.test, body=self.block(s.body) or [gast.Pass()], orelse=[]))

    def stmt_With(self, s):
        """The context manager is entered and left as written. ``with m as v`` binds ``v`` through
        ``__fx_with_value(m, entered)``, whose rule sends ``v``'s gradient to ``m`` (``__enter__`` returned
        ``m`` or one of its fields); several items nest (``with a as x, b as y`` is ``with a as x: with b
        as y``: ``b`` may read ``x``)."""
        item, rest = s.items[0], s.items[1:]
        body = [gast.With(items=rest, body=s.body, type_comment=None)] if rest else s.body
        if item.optional_vars is None:
            self.emit(gast.With(items=[item], body=self.block(body) or [gast.Pass()], type_comment=None))
            return
        manager = self.atom(item.context_expr)
        entered = self.ctx.namer.fresh("_entered")
        bind = gast.Assign(
            targets=[item.optional_vars],
            value=gast.Call(func=n.name("__fx_with_value"), args=[manager, n.name(entered)], keywords=[]),
            type_comment=None,
        )
        n.located(bind, s)
        inner = self.block([bind] + body)
        item = gast.withitem(context_expr=manager, optional_vars=n.name(entered, True))
        self.emit(gast.With(items=[item], body=inner, type_comment=None))

    def stmt_Try(self, s):
        handlers = [
            gast.ExceptHandler(
                type=h.type, name=h.name, body=self.block(_caught(h) + h.body) or [gast.Pass()]
            )
            for h in s.handlers
        ]
        self.emit(
            gast.Try(
                body=self.block(s.body) or [gast.Pass()],
                handlers=handlers,
                orelse=self.block(s.orelse),
                finalbody=self.block(s.finalbody),
            )
        )

    def stmt_FunctionDef(self, s):
        decorators, s.decorator_list = s.decorator_list, []
        self.emit(s)
        for dec in reversed(decorators):
            callee = self.callee(dec)
            self.emit(n.assign(s.name, n.call(CALL, [callee, n.name(s.name)])))

    def assign_to(self, target, value):
        if isinstance(target, gast.Name):
            self.emit(n.assign(target.id, value))
            return
        if isinstance(target, gast.Subscript):
            # x[i] = v: x is rebound to an updated copy (see rules/mutation.py)
            obj = target.value.id
            index = self.index(target.slice)
            self.emit(
                n.assign(obj, n.call(CALL, [n.name(self.setitem_helper(obj)), n.name(obj), index, value]))
            )
            return
        if isinstance(target, gast.Attribute):
            # obj.a = v on the fresh object of a constructor: obj is rebound to itself, written
            obj = target.value.id
            self.emit(
                n.assign(
                    obj, n.call(CALL, [n.name("__fx_setattr"), n.name(obj), n.const(target.attr), value])
                )
            )
            self.rebind_holders(obj)
            return
        items = self.ctx.namer.fresh("_items")
        count = len(target.elts)
        stars = [i for i, elt in enumerate(target.elts) if isinstance(elt, gast.Starred)]
        if stars:  # a, *rest, z = value: rest gets the list of the middle items
            (star,) = stars
            unpack = [n.name("__fx_unpack_starred"), value, n.const(star), n.const(count - star - 1)]
        else:
            unpack = [n.name("__fx_unpack"), value, n.const(count)]
        self.emit(n.assign(items, n.call(CALL, unpack)))
        for i, elt in enumerate(target.elts):
            item = n.call(CALL, [n.attr(n.name("__fx_op"), "getitem"), n.name(items), n.const(i)])
            elt = elt.value if isinstance(elt, gast.Starred) else elt
            if isinstance(elt, gast.Name):
                self.emit(n.assign(elt.id, item))
            else:
                tmp = self.ctx.namer.fresh("_item")
                self.emit(n.assign(tmp, item))
                self.assign_to(elt, n.name(tmp))

    def rebind_holders(self, obj):
        """After ``obj.a = v`` on a local object (changed in place, ``obj`` rebound to itself): a name that a
        call may have bound to the same object (``q = p.me()``, ``q = ident(p)``) and that is surely bound
        here is rebound to it where it is that object, so that reads through it get the gradient::

            p = __fx_call(__fx_setattr, p, 'a', x)
            if q is p:
                q = p
        """
        holders = self.sharing.others(self.sharing.group(obj))
        for other in sorted((holders.keys() & self.bound) - {obj}):
            same = gast.Compare(left=n.name(other), ops=[gast.Is()], comparators=[n.name(obj)])
            self.emit(n.if_(same, [n.located(n.assign(other, n.name(obj)), self.where)]))

    # -- expressions ----------------------------------------------------------------------------------
    def atom(self, e):
        """Normalize ``e`` into statements and return a name or constant holding its value."""
        if isinstance(e, (gast.Name, gast.Constant)):
            return e
        return self.expr(e, target=None)

    def expr(self, e, target):
        """Emit statements computing ``e`` into ``target`` (a fresh name when None); return that name."""
        if target is None:
            target = self.ctx.namer.fresh(_temp_name(e))
        if isinstance(e, (gast.Name, gast.Constant)) or self.is_inactive(e):
            self.emit(n.assign(target, e))
        elif isinstance(e, gast.BoolOp):
            self.bool_op(e, target)
        elif isinstance(e, gast.IfExp):
            body = self.block_expr(e.body, target)
            orelse = self.block_expr(e.orelse, target)
            self.emit(n.if_(e.test, body, orelse))
        elif self.list_method(e, target):
            pass  # lst.pop() (append, ...) inside an expression: hoisted into the rebinding form
        else:
            value = self.value(e)
            if not (isinstance(e, gast.Call) and self.write_back(e, value, target)):
                self.emit(n.assign(target, value))
                if isinstance(e, gast.Call):
                    self.check_argument_writes(e, value)
        return n.name(target)

    def check_argument_writes(self, e, call):
        """After ``y = f(a, b)`` (or ``f(a, b)`` alone) where the caller reads ``a`` afterwards and cannot
        rebind it (a global, a captured variable: the write-back form, anf_writeback.py, is for local
        names): a Python ``f`` that writes into its argument (``buf[0] = v``, ``buf += v`` on an array or
        list) wrote into a copy in differentiated code, which the caller would not see.
        ``__fx_check_writes(f, (0,), ('a',), (a,))`` refuses that at run time (runtime.check_writes), in
        every mode."""
        found = self.live_arguments(e, call)
        if not found:
            return
        method, live = found
        for i, name in live:
            positions, names, values = n.const((i,)), n.const((name,)), n.tuple_([n.name(name)])
            if method:
                check = n.call(
                    "__fx_check_method_writes", [call.args[0], call.args[1], positions, names, values]
                )
            else:
                check = n.call("__fx_check_writes", [call.args[0], positions, names, values])
            local = name in self.local_names and name not in self.ctx.freevars
            statement = isinstance(self.where, gast.Expr) and self.where.value is e
            if statement or not local or name in self.ctx.local_lists:
                self.emit(gast.Expr(value=check))  # (a global or captured name: any value)
                continue
            # a function defined here, in an expression: an array only, as before write-backs
            array = n.call("__fx_getattr", [n.name(name), n.const("__array_priority__"), n.const(None)])
            self.emit(n.if_(n.is_not_none(array), [n.located(gast.Expr(value=check), self.where)]))

    def live_arguments(self, e, call):
        """``(method, [(position, name)])``: the arguments of the user's call ``e`` (normalized: ``call``)
        that are names the caller reads afterwards and the statement does not bind again (``buf =
        fill(buf, w)``, the way to write it), for a callee that may be a Python function; None if none."""
        if self.ctx.source.generated or any(k.arg is None for k in e.keywords):
            return None
        func = e.func
        if isinstance(func, gast.Name) and (func.id.startswith("__fx_") or hasattr(builtins, func.id)):
            return None
        if isinstance(func, gast.Attribute) and (self.is_static(func) or func.attr in FRESH_METHODS):
            return None
        method = call.func.id == CALL_METHOD
        if not method and _is_operator(call.args[0]):  # operator.iadd(x * 2, v), written as x += v
            return None
        args = call.args[2:] if method else call.args[1:]
        if any(isinstance(a, gast.Starred) for a in args):
            return None
        rebound = _stored_names(self.where)
        live = [
            (i, a.id)
            for i, a in enumerate(args)
            if isinstance(a, gast.Name)
            and a.id not in rebound
            and self.positions.read_after(self.where, a.id)
        ]
        return (method, live) if live else None

    def block_expr(self, e, target):
        saved, self.out = self.out, []
        saved_bound, self.bound = self.bound, set(self.bound)
        self.expr(e, target)
        out, self.out = self.out, saved
        self.bound = saved_bound
        return out

    def bool_op(self, e, target):
        # a or b: t = a; if not t: t = b        a and b: t = a; if t: t = b
        self.expr(e.values[0], target)
        for value in e.values[1:]:
            test = n.name(target)
            if isinstance(e.op, gast.Or):
                test = gast.UnaryOp(op=gast.Not(), operand=test)
            self.emit(n.if_(test, self.block_expr(value, target)))

    def value(self, e):
        """The right-hand side for an active expression ``e``: an ``__fx_call``/``__fx_call_method``."""
        if isinstance(e, gast.BinOp):
            if isinstance(e.op, gast.Pow) and _is_number(e.right):
                # x ** 2: the exponent is a literal, so its gradient (a log) is never needed
                return n.call(CALL, [n.name("__fx_power_by_constant"), self.atom(e.left), e.right])
            return self.op_call(BINOPS[type(e.op)], [self.atom(e.left), self.atom(e.right)])
        if isinstance(e, gast.UnaryOp):
            return self.op_call(UNARYOPS[type(e.op)], [self.atom(e.operand)])
        if isinstance(e, gast.Call):
            return self.call(e)
        if isinstance(e, gast.Attribute):
            return n.call(CALL, [n.name("__fx_getattr"), self.atom(e.value), n.const(e.attr)])
        if isinstance(e, gast.Subscript):
            return self.op_call("getitem", [self.atom(e.value), self.index(e.slice)])
        if isinstance(e, (gast.Tuple, gast.List, gast.Set)):
            helper = {gast.Tuple: "__fx_pack_tuple", gast.List: "__fx_pack_list", gast.Set: "__fx_pack_set"}[
                type(e)
            ]
            return n.call(CALL, [n.name(helper)] + self.arguments(e.elts))
        if isinstance(e, gast.Dict) and any(k is None for k in e.keys):
            return self.dict_with_unpacking(e)
        if isinstance(e, gast.Dict):
            # as Python evaluates a display: key1, value1, key2, value2, ...
            keys, values = [], []
            for key, value in zip(e.keys, e.values, strict=True):
                keys.append(self.atom(key))
                values.append(self.atom(value))
            return n.call(CALL, [n.name("__fx_pack_dict"), self.atom(n.tuple_(keys))] + values)
        if isinstance(e, gast.Starred):
            raise AssertionError("starred expressions are handled by their container")
        raise AssertionError(f"unexpected expression {type(e).__name__}")

    def dict_with_unpacking(self, e):
        """``{**d, "a": x}``: the pieces merged left to right (later keys win), each merge differentiable."""
        pieces, keys, values = [], [], []
        for key, value in zip(e.keys, e.values, strict=True):
            if key is not None:
                keys.append(key)
                values.append(value)
                continue
            if keys:
                pieces.append(gast.Dict(keys=keys, values=values))
                keys, values = [], []
            pieces.append(value)
        if keys:
            pieces.append(gast.Dict(keys=keys, values=values))
        total = self.atom(gast.Dict(keys=[], values=[]))
        for piece in pieces[:-1]:
            total = self.atom_of_value(
                n.call(CALL, [n.name("__fx_merged_keywords"), total, self.atom(piece)])
            )
        return n.call(CALL, [n.name("__fx_merged_keywords"), total, self.atom(pieces[-1])])

    def op_call(self, op, args):
        return n.call(CALL, [n.attr(n.name("__fx_op"), op)] + list(args))

    def call(self, e):
        if isinstance(e.func, gast.Name) and e.func.id == "super" and not e.args and self.ctx.first_param:
            # the zero-argument form needs the frame of a method defined in the class: spell it out
            e = gast.Call(func=e.func, args=[n.name("__class__"), n.name(self.ctx.first_param)], keywords=[])
        functional = self.functional_in_place(e)  # operator.iadd(x * 2, v): fluxpy's x += v (anf_updates)
        # as Python evaluates a call: the callee (a method's object), then the arguments left to right, then
        # the keywords' values
        func, obj, callee = e.func, None, None
        if functional is None:
            if isinstance(func, gast.Attribute) and not self.is_static(func):
                obj = self.atom(func.value)
            else:
                callee = self.callee(func)
        args = self.arguments(e.args, call=True)
        keywords = [gast.keyword(arg=k.arg, value=self.atom(k.value)) for k in e.keywords]
        if functional is not None:
            return self.op_call(functional, args)
        if obj is not None:
            return n.call(CALL_METHOD, [obj, n.const(func.attr)] + args, keywords)
        return n.call(CALL, [callee] + args, keywords)

    def callee(self, func):
        if isinstance(func, gast.Name) or self.is_static(func):
            return func
        return self.atom(func)

    def arguments(self, elts, call=False):
        """Atoms for call arguments or container items; starred items become one trailing ``*t``.

        A call's single splatted value is read into a tuple first (``__fx_tuple``) unless it is the
        function's own ``*args``: an iterator (``g(*map(f, xs))``) can be read only once, and the adjoint
        reads a splatted value's length and items again for the call's mask and gradients."""
        starred = [i for i, a in enumerate(elts) if isinstance(a, gast.Starred)]
        if not starred:
            return [self.atom(a) for a in elts]
        if starred == [len(elts) - 1] and call and not self.is_own_varargs(elts[-1].value):
            return [self.atom(a) for a in elts[:-1]] + [
                gast.Starred(
                    value=self.atom_of_value(n.call(CALL, [n.name("__fx_tuple"), self.atom(elts[-1].value)])),
                    ctx=gast.Load(),
                )
            ]
        if starred == [len(elts) - 1]:
            return [self.atom(a) for a in elts[:-1]] + [
                gast.Starred(value=self.atom(elts[-1].value), ctx=gast.Load())
            ]
        pieces = []
        run = []
        for a in elts:
            if isinstance(a, gast.Starred):
                if run:
                    pieces.append(n.call(CALL, [n.name("__fx_pack_tuple")] + run))
                    run = []
                pieces.append(n.call(CALL, [n.name("__fx_tuple"), self.atom(a.value)]))
            else:
                run.append(self.atom(a))
        if run:
            pieces.append(n.call(CALL, [n.name("__fx_pack_tuple")] + run))
        total = self.atom_of_value(pieces[0])
        for piece in pieces[1:]:
            total = self.atom_of_value(self.op_call("add", [total, self.atom_of_value(piece)]))
        return [gast.Starred(value=total, ctx=gast.Load())]

    def is_own_varargs(self, e):
        return isinstance(e, gast.Name) and e.id == self.own_varargs

    def atom_of_value(self, value):
        target = self.ctx.namer.fresh("_args")
        self.emit(n.assign(target, value))
        return n.name(target)

    def index(self, s):
        """Index expressions carry no gradient: evaluated as they are (slices become ``__fx_slice`` calls)."""
        s = _SliceToCall().visit(s)
        if isinstance(s, (gast.Name, gast.Constant)):
            return s
        target = self.ctx.namer.fresh("_index")
        self.emit(n.assign(target, s))
        return n.name(target)

    # -- classification -------------------------------------------------------------------------------
    def is_static(self, e):
        """An attribute chain on a module global or a helper: evaluated live, never differentiated."""
        while isinstance(e, gast.Attribute):
            e = e.value
        return isinstance(e, gast.Name) and e.id in self.ctx.static_roots

    def is_range_call(self, e):
        return (
            isinstance(e, gast.Call)
            and isinstance(e.func, gast.Name)
            and e.func.id == "range"
            and e.func.id in self.ctx.inactive_builtins
        )

    def is_inactive(self, e):
        """Expressions whose value never carries a gradient, evaluated as they are."""
        if isinstance(e, (gast.Compare, gast.JoinedStr)):
            return True
        if isinstance(e, gast.UnaryOp) and isinstance(e.op, gast.Not):
            return True
        if isinstance(e, gast.BoolOp):
            return all(self.is_inactive(v) or _is_bool_constant(v) for v in e.values)
        if isinstance(e, gast.Attribute) and self.is_static(e):
            return True
        if isinstance(e, gast.Call) and isinstance(e.func, gast.Name):
            return e.func.id in self.ctx.inactive_builtins
        return False


class _Positions:
    """Where each statement of the function is: its block, its index there, and the statement that owns the
    block (None: the function's body)."""

    def __init__(self, fdef):
        self.parent = {}
        self.later = {}  # id(statement) -> the names that may be read after it
        self.visit(fdef.body, None)

    def visit(self, block, owner):
        for i, s in enumerate(block):
            self.parent[id(s)] = (block, i, owner)
            if isinstance(s, gast.FunctionDef):
                continue
            for field in ("body", "orelse", "finalbody"):
                inner = getattr(s, field, None)
                if type(inner) is list:
                    self.visit(inner, s)
            for handler in getattr(s, "handlers", None) or []:
                self.visit(handler.body, s)

    def read_after(self, stmt, name):
        """Whether ``name`` may be read after ``stmt`` runs: later in its block and the blocks around it,
        anywhere in a loop (or ``try``) around it, in a nested function."""
        names = self.later.get(id(stmt))
        if names is None:
            later = []
            node = stmt
            while id(node) in self.parent:
                block, i, owner = self.parent[id(node)]
                later += block[i + 1 :]
                if owner is None:
                    break
                if isinstance(owner, (gast.For, gast.While, gast.Try)):
                    later.append(owner)
                node = owner
            names = self.later[id(stmt)] = {
                x.id
                for s in later
                for x in n.walk(s)
                if isinstance(x, gast.Name) and isinstance(x.ctx, gast.Load)
            }
        return name in names


def _stored_names(stmt):
    """The names a user statement binds (``buf`` of ``buf = fill(buf, w)``)."""
    targets = stmt.targets if isinstance(stmt, gast.Assign) else [getattr(stmt, "target", None)]
    return {x.id for t in targets if t is not None for x in n.walk(t) if isinstance(x, gast.Name)}


def _is_operator(callee):
    """``__fx_op.<name>``: an operator of generated code."""
    return (
        isinstance(callee, gast.Attribute)
        and isinstance(callee.value, gast.Name)
        and callee.value.id == "__fx_op"
    )


def _is_write_check(e):
    """A check that the normalizer put in code that is differentiated again (see check_argument_writes):
    kept as it is (its callee argument is not passed on, as far as the adjoint's analyses go)."""
    return (
        isinstance(e, gast.Call)
        and isinstance(e.func, gast.Name)
        and e.func.id in ("__fx_check_writes", "__fx_check_method_writes")
    )


def _is_explicit_init(e, self_name):
    return (
        isinstance(e, gast.Call)
        and isinstance(e.func, gast.Attribute)
        and e.func.attr == "__init__"
        and e.args
        and isinstance(e.args[0], gast.Name)
        and e.args[0].id == self_name
    )


def _parallel(target, value):
    """``a, b = x, y``: a tuple or list of plain names and a display of as many values, none starred."""
    return (
        isinstance(target, (gast.Tuple, gast.List))
        and isinstance(value, (gast.Tuple, gast.List))
        and len(target.elts) == len(value.elts)
        and all(isinstance(t, gast.Name) for t in target.elts)
        and not any(isinstance(v, gast.Starred) for v in value.elts)
    )


def _caught(handler):
    """``e = __fx_caught(e)`` first in ``except E as e:``: values read from the exception carry no
    gradient (it was raised past the code that made them), and its rule raises when one is needed."""
    if handler.name is None:
        return []
    name = handler.name.id if isinstance(handler.name, gast.Name) else handler.name
    call = gast.Call(func=n.name("__fx_caught"), args=[n.name(name)], keywords=[])
    return [n.located(gast.Assign(targets=[n.name(name, True)], value=call, type_comment=None), handler)]


def _is_attribute_call(func, owner, name):
    """``owner.name`` as a callee (``object.__setattr__``)."""
    return (
        isinstance(func, gast.Attribute)
        and func.attr == name
        and isinstance(func.value, gast.Name)
        and func.value.id == owner
    )


def _is_super_call(func, name):
    """``super().name`` as a callee."""
    return (
        isinstance(func, gast.Attribute)
        and func.attr == name
        and isinstance(func.value, gast.Call)
        and isinstance(func.value.func, gast.Name)
        and func.value.func.id == "super"
        and not func.value.args
    )


def _is_super_init(e):
    return (
        isinstance(e, gast.Call)
        and isinstance(e.func, gast.Attribute)
        and e.func.attr == "__init__"
        and isinstance(e.func.value, gast.Call)
        and isinstance(e.func.value.func, gast.Name)
        and e.func.value.func.id == "super"
        and not e.func.value.args
    )


def _is_number(e):
    if isinstance(e, gast.UnaryOp) and isinstance(e.op, gast.USub):
        e = e.operand
    return isinstance(e, gast.Constant) and type(e.value) in (int, float)


def _is_bool_constant(e):
    return isinstance(e, gast.Constant) and isinstance(e.value, bool)


class _SliceToCall(gast.NodeTransformer):
    def visit_Slice(self, node):
        parts = [node.lower, node.upper, node.step]
        while parts[-1] is None and len(parts) > 2:  # slice(1) would mean slice(None, 1)
            parts.pop()
        args = [self.visit(p) if p is not None else n.const(None) for p in parts]
        return n.call("__fx_slice", args)


def _temp_name(e):
    if isinstance(e, gast.BinOp):
        return "_" + BINOPS[type(e.op)].rstrip("_")
    if isinstance(e, gast.UnaryOp):
        return "_" + UNARYOPS.get(type(e.op), "not")
    if isinstance(e, gast.Call):
        f = e.func
        label = f.attr if isinstance(f, gast.Attribute) else f.id if isinstance(f, gast.Name) else "call"
        return "_" + label.strip("_")
    if isinstance(e, gast.Attribute):
        return "_" + e.attr.strip("_")
    if isinstance(e, gast.Subscript):
        return "_getitem"
    return "_" + type(e).__name__.lower()
