"""The statements of the ANF pass (anf.py) that change an object: ``x op= v`` on a name, an item or an
attribute, a user's ``x = operator.iadd(x, v)``, and a local list's methods (``lst.append(v)``), each
written as a rebinding.

Before::

    x += v
    x[i] += v
    y = operator.imul(y, v)
    lst.append(v)

After::

    x = __fx_call(__fx_op.iadd, x, v)
    _getitem = __fx_call(__fx_op.getitem, x, i)
    _iadd = ...  # _getitem += v: a user class's __iadd__, else +, see in_place_on_item
    x = __fx_call(__fx_setitem, x, i, _iadd)
    y = __fx_call(__fx_op.imul, y, v)
    lst = __fx_call(__fx_list_append, lst, v)

``__fx_op.iadd`` is fluxpy's ``x += v`` (rules/augmented.py), whose rule updates ``x`` functionally; a
user's ``operator.iadd`` is Python's, whose rule refuses to change an array or a list in place. Which one a
user's call gets is decided here, from how it is written (explicit_in_place).
"""

import copy

import gast

from ...rules import augmented
from ...rules.python_in_place import SHARED_IN_PLACE
from .. import nodes as n
from .anf_names import BINOPS, CALL, LIST_METHODS


class InPlaceUpdates:
    """Methods of anf._ANF: ``x op= v`` (stmt_AugAssign) and list methods (list_method)."""

    def stmt_AugAssign(self, s):
        """``x[i] op= v`` and ``obj.a op= v`` as Python runs them: read, the in-place operator, write back
        (``t = x[i]; t = operator.iadd(t, v); x[i] = t``, see in_place_on_item); ``x op= v``: see
        aug_assign_name."""
        if not isinstance(s.target, gast.Name):
            self.flag_shared(self.sharing.item_others(s.target.value.id))
        if isinstance(s.target, gast.Subscript):
            obj = s.target.value.id
            index = self.index(s.target.slice)
            if obj in self.repeatable():  # (one object in several slots: runtime.check_repeated_item)
                check = n.call("__fx_check_repeated_item", [n.name(obj), copy.deepcopy(index)])
                self.emit(n.located(gast.Expr(value=check), self.where))
            current = self.atom_of_value(self.op_call("getitem", [n.name(obj), index]))
            new = self.in_place_on_item(s.op, current, self.atom(s.value))
            self.emit(
                n.assign(obj, n.call(CALL, [n.name(self.setitem_helper(obj)), n.name(obj), index, new]))
            )
            return
        if isinstance(s.target, gast.Attribute):
            current = self.atom(gast.Attribute(value=s.target.value, attr=s.target.attr, ctx=gast.Load()))
            self.assign_to(s.target, self.in_place_on_item(s.op, current, self.atom(s.value)))
            return
        self.aug_assign_name(s)

    def repeatable(self):
        """The names that may hold one object in several slots without naming it: bound to ``[v] * k``
        (``k * [v]``) or ``dict.fromkeys(keys, v)``, or given items by ``append``, ``extend``, ``insert``."""
        found = getattr(self, "_repeatable", None)
        if found is None:
            found = set()
            if not self.ctx.source.generated:
                body = next((b for b, _, owner in self.positions.parent.values() if owner is None), [])
                found = _repeatable([x for s in body for x in n.walk(s)])
            self._repeatable = found
        return found

    def in_place_on_item(self, op, current, value):
        """The new value of an item or attribute ``current`` after ``op=``: a user class's Python
        ``__iadd__`` (and so on) runs through fluxpy's ``x += v`` (``__fx_op.__iadd__``, whose rule
        differentiates it, and runs one that changes its object as a constructor); everything else
        (numbers, lists, and arrays, which have an ``__array_priority__``, CuPy's too) by the plain
        operator, whose result is written back: an array item (a view) is updated functionally, and the
        scalar arithmetic is inlined::

            if (__fx_getattr(__fx_getattr(__fx_type(t), '__iadd__', None), '__code__', None) is not None
                    and __fx_getattr(t, '__array_priority__', None) is None):
                _iadd = __fx_call(__fx_op.__iadd__, t, v)
            else:
                _iadd = __fx_call(__fx_op.add, t, v)
        """
        plain, updated = BINOPS[type(op)], in_place(op)
        if updated == plain:
            return self.atom_of_value(self.op_call(plain, [current, value]))
        dunder = f"__{updated}__"
        t = copy.deepcopy  # a node is never in two places of the tree
        method = n.call("__fx_getattr", [n.call("__fx_type", [t(current)]), n.const(dunder), n.const(None)])
        python = n.is_not_none(n.call("__fx_getattr", [method, n.const("__code__"), n.const(None)]))
        array = n.is_none(n.call("__fx_getattr", [t(current), n.const("__array_priority__"), n.const(None)]))
        test = gast.BoolOp(op=gast.And(), values=[python, array])
        target = self.ctx.namer.fresh("_" + updated)
        # spelled ``__fx_op.__iadd__`` (the same function as ``__fx_op.iadd``, rules/augmented.py): the
        # adjoint does not inline it, since an object with a Python ``__iadd__`` is no number or array
        body = [n.located(n.assign(target, self.op_call(dunder, [t(current), t(value)])), self.where)]
        orelse = [n.located(n.assign(target, self.op_call(plain, [current, value])), self.where)]
        self.emit(n.if_(test, body, orelse))
        return n.name(target)

    def flag_shared(self, others):
        """Record the names (``{name: line that shows it}``) that may also hold the object the user's
        ``x op= y`` being normalized changes: its in-place rule refuses a Python ``__iop__`` that changes
        its object while one of them holds it (transform/shared_objects.py)."""
        line = getattr(self.where, "lineno", None)
        if others and line is not None and not self.ctx.source.generated:
            SHARED_IN_PLACE.setdefault((self.ctx.source.file, line), {}).update(others)

    def setitem_helper(self, name):
        """Writes into a parameter never rebound: its value is the caller's, a view or not."""
        if name in self.ctx.unrebound_params:
            self.ctx.written_params.add(name)
            return "__fx_setitem_argument"
        return "__fx_setitem"

    def list_method(self, call, target):
        """``lst.append(v)`` (and extend, insert, pop, remove, reverse, sort, clear) on a local list:
        rebind ``lst`` to a new list (``lst.sort(...)`` to ``sorted(lst, ...)``, ``lst.clear()`` to
        ``[]``)."""
        if not (
            isinstance(call, gast.Call)
            and isinstance(call.func, gast.Attribute)
            and isinstance(call.func.value, gast.Name)
            and call.func.value.id in self.ctx.local_lists
            and call.func.attr in LIST_METHODS
            and (not call.keywords or call.func.attr == "sort")
            and not any(isinstance(a, gast.Starred) for a in call.args)
            and all(k.arg is not None for k in call.keywords)
        ):
            return False
        name, method = call.func.value.id, call.func.attr
        args = [self.atom(a) for a in call.args]
        keywords = [gast.keyword(arg=k.arg, value=self.atom(k.value)) for k in call.keywords]
        helper = n.name(f"__fx_list_{method}")
        if method == "pop":
            pair = self.atom_of_value(n.call(CALL, [helper, n.name(name)] + args))
            self.emit(n.assign(name, self.op_call("getitem", [pair, n.const(0)])))
            if target is not None:
                self.emit(n.assign(target, self.op_call("getitem", [pair, n.const(1)])))
            return True
        if method == "clear":
            self.emit(n.assign(name, gast.List(elts=[], ctx=gast.Load())))
        else:
            self.emit(n.assign(name, n.call(CALL, [helper, n.name(name)] + args, keywords)))
        if target is not None:
            self.emit(n.assign(target, n.const(None)))
        return True

    def aug_assign_name(self, s):
        """``x op= y`` on a name: see update_name."""
        dunder = f"__i{BINOPS[type(s.op)].rstrip('_')}__"
        self.update_name(s.target.id, in_place(s.op), dunder, self.atom(s.value))

    def update_name(self, target, op, dunder, value):
        """``target = __fx_call(__fx_op.<op>, target, value)`` for ``target op= value`` (``op`` is ``iadd``,
        fluxpy's augmented assignment, or a plain operator: ``x %= y`` is ``x = x % y``), ``dunder`` the
        method Python calls on it (``__iadd__``). It rebinds ``x`` here: the new value never aliases the
        caller's object. For a parameter not assigned before, plain Python writes into the caller's array or
        list instead: recorded, so that a caller reading it afterwards is refused (see
        runtime.check_writes)."""
        if target in self.ctx.first_assignments:
            first = self.ctx.first_assignments[target]
            where = (getattr(self.where, "lineno", 0), getattr(self.where, "col_offset", 0))
            if first is None or where <= first:  # (at this statement: ``x = operator.iadd(x, v)`` itself)
                self.ctx.augmented_params.setdefault(target, set()).add(dunder)
        if op in ("iadd", "iconcat") and target in self.ctx.local_lists:
            # a local list: += extends it with any iterable (a tuple, a map, ...), as list.extend does
            self.emit(n.assign(target, n.call(CALL, [n.name("__fx_list_iadd"), n.name(target), value])))
            return
        self.emit(n.assign(target, self.op_call(op, [n.name(target), value])))
        if op in _AUGMENTED:
            self.rebind_copies(target)

    # -- a user's calls of operator.iadd (isub, ...) ------------------------------------------------------
    def explicit_in_place(self, call):
        """``iadd`` (the name of fluxpy's function, rules/augmented.py) for a user's call of an in-place
        function of ``operator`` with two positional arguments (``operator.iadd(a, v)``,
        ``operator.__iadd__(a, v)``, ``iadd(a, v)`` with ``iadd`` imported from it), looked up now in the
        function's globals; None for any other call (a local name, ``op = operator.iadd; op(a, v)``: Python's
        own operator, whose rule refuses an in-place change)."""
        if (
            self.ctx.source.generated
            or not isinstance(call, gast.Call)
            or call.keywords
            or len(call.args) != 2
            or any(isinstance(a, gast.Starred) for a in call.args)
        ):
            return None
        func = call.func
        if isinstance(func, gast.Name):
            if func.id in self.local_names:
                return None
        elif not (isinstance(func, gast.Attribute) and func.attr in _IN_PLACE_NAMES and self.is_static(func)):
            return None  # (an attribute is read only where its name is one: a module's may warn or load)
        fn = augmented.functional(_lookup(func, _user_globals(self.ctx)))
        return None if fn is None else fn.__name__

    def in_place_rebinding(self, target, call):
        """``x = operator.iadd(x, v)``: what ``x += v`` is (update_name; the functional update is right: the
        name is rebound to the result). Returns whether ``call`` was one."""
        name = self.explicit_in_place(call)
        if name is None or not (isinstance(call.args[0], gast.Name) and call.args[0].id == target):
            return False
        self.update_name(target, name, _DUNDERS[name], self.atom(call.args[1]))
        return True

    def functional_in_place(self, call):
        """``iadd`` for ``operator.iadd(x * 2, v)``: a user's call (explicit_in_place) whose first argument is
        a new object no name holds (an operator's result, a display, a comprehension's list), which the
        functional update may leave unchanged; else None."""
        name = self.explicit_in_place(call)
        if name is None:
            return None
        first = call.args[0]
        fresh = isinstance(first, _FRESH) or (isinstance(first, gast.Name) and first.id in self.built_lists)
        return name if fresh else None

    def rebind_copies(self, target):
        """After ``a op= v``: a user class's ``__iadd__`` may have changed ``a`` in place and returned it, so
        a copy made before (``b = a``) is the changed object too. fluxpy's ``a`` is a new value (the
        change is differentiated as a constructor's writes), so each copy surely bound here is rebound to
        it where it is the same object::

            a = __fx_call(__fx_op.iadd, a, v)
            if b is a:
                b = a

        Other names that may hold the object (a container, a copy perhaps not made yet) are recorded: the
        rule refuses such an ``__iadd__`` when one of them does (flag_shared)."""
        copies = self.sharing.group(target)
        others = self.sharing.others(copies)
        others.update(dict.fromkeys(copies - self.bound - {target}))  # copies perhaps not made yet
        self.flag_shared(others)
        for other in sorted((copies & self.bound) - {target}):
            same = gast.Compare(left=n.name(other), ops=[gast.Is()], comparators=[n.name(target)])
            self.emit(n.if_(same, [n.located(n.assign(other, n.name(target)), self.where)]))


# ``x op= y`` on a name calls fluxpy's augmented assignment (``__fx_op.iadd``, rules/augmented.py): a user
# class's ``__iadd__`` runs; numbers and arrays are updated functionally by the rules of ``+`` (the name is
# rebound to the new value), which refuse an array that views another (Python would write into it).
# ``x[i] op= y`` and ``obj.a op= y`` read, run the in-place operator of a user class (else the plain
# operator) and write back (InPlaceUpdates.in_place_on_item). Other operators (``x %= y``) are plain.
_IN_PLACE = {gast.Add: "iadd", gast.Sub: "isub", gast.Mult: "imul", gast.Div: "itruediv", gast.Pow: "ipow"}


def _repeatable(nodes):
    """See InPlaceUpdates.repeatable."""
    out = set()
    for x in nodes:
        if isinstance(x, gast.Assign) and _repeats(x.value):
            out.update(t.id for t in x.targets if isinstance(t, gast.Name))
        elif (
            isinstance(x, gast.Call)
            and isinstance(x.func, gast.Attribute)
            and isinstance(x.func.value, gast.Name)
            and x.func.attr in ("append", "extend", "insert")
        ):
            out.add(x.func.value.id)
    return out


def _repeats(value):
    """``[v] * k``, ``k * [v]``, ``dict.fromkeys(keys, v)``."""
    if isinstance(value, gast.BinOp) and isinstance(value.op, gast.Mult):
        return any(isinstance(side, (gast.List, gast.Tuple)) for side in (value.left, value.right))
    func = getattr(value, "func", None)
    return isinstance(value, gast.Call) and isinstance(func, gast.Attribute) and func.attr == "fromkeys"


def in_place(op):
    return _IN_PLACE.get(type(op)) or BINOPS[type(op)]


_DUNDERS = {fn.__name__: dunder for _, fn, _, dunder in augmented.TABLE}  # iadd -> __iadd__, iconcat -> ...
_AUGMENTED = frozenset(_DUNDERS)  # the in-place names of ``__fx_op``: fluxpy's functions
_IN_PLACE_NAMES = frozenset(  # how a user's call may name an in-place function of operator
    name for op, *_ in augmented.TABLE for name in (op.__name__, f"__{op.__name__}__")
)
# a first argument that is a new object: an operator's result, a display (a comprehension is a name bound
# to the list it built, see built_lists)
_FRESH = (gast.BinOp, gast.UnaryOp, gast.List, gast.Tuple, gast.Dict, gast.Set)
BUILDERS = frozenset({"__fx_cons_to_list", "__fx_cons_to_set", "__fx_cons_to_dict"})  # comprehensions.py


def _user_globals(ctx):
    """The globals of the function being transformed (bound into ``ctx.module_rule``), or None."""
    from ..activity import _user_globals as user_globals

    return user_globals(ctx)


def _lookup(func, user_globals):
    """The value of the callee ``func`` (a global name, or an attribute chain on a module global), read
    from ``user_globals`` now; None where it cannot be read."""
    path = []
    while isinstance(func, gast.Attribute):
        path.append(func.attr)
        func = func.value
    if user_globals is None or not isinstance(func, gast.Name):
        return None
    value = user_globals.get(func.id)
    for attr in reversed(path):
        try:
            value = getattr(value, attr, None)
        except Exception:  # a module's __getattr__
            return None
    return value
