"""The statements of the ANF pass (anf.py) that change an object: ``x op= v`` on a name, an item or an
attribute, and a local list's methods (``lst.append(v)``), each written as a rebinding.

Before::

    x[i] += v
    lst.append(v)

After::

    _getitem = __fx_call(__fx_op.getitem, x, i)
    _iadd = ...  # _getitem += v: a user class's __iadd__, else +, see in_place_on_item
    x = __fx_call(__fx_setitem, x, i, _iadd)
    lst = __fx_call(__fx_list_append, lst, v)
"""

import copy

import gast

from ...rules.python import SHARED_IN_PLACE
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

    def in_place_on_item(self, op, current, value):
        """The new value of an item or attribute ``current`` after ``op=``: a user class's Python
        ``__iadd__`` (and so on) runs through ``operator.iadd`` (whose rule differentiates it, and runs
        one that changes its object as a constructor); everything else (numbers, lists, and arrays, which
        have an ``__array_priority__``, CuPy's too) by the plain operator, whose result is written back: an
        array item (a view) is updated functionally, and the scalar arithmetic is inlined::

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
        # spelled ``__fx_op.__iadd__`` (the same function as ``operator.iadd``): the adjoint does not inline
        # it, since an object with a Python ``__iadd__`` is no number or array
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
        """``x += y`` rebinds ``x`` here: the new value never aliases the caller's object. For a parameter
        not assigned before, plain Python writes into the caller's array or list instead: recorded, so that
        a caller reading it afterwards is refused (see runtime.check_writes)."""
        target = s.target.id
        if target in self.ctx.first_assignments:
            first = self.ctx.first_assignments[target]
            if first is None or (getattr(s, "lineno", 0), getattr(s, "col_offset", 0)) < first:
                dunder = f"__i{BINOPS[type(s.op)].rstrip('_')}__"
                self.ctx.augmented_params.setdefault(target, set()).add(dunder)
        value = self.atom(s.value)
        if isinstance(s.op, gast.Add) and target in self.ctx.local_lists:
            # a local list: += extends it with any iterable (a tuple, a map, ...), as list.extend does
            self.emit(n.assign(target, n.call(CALL, [n.name("__fx_list_iadd"), n.name(target), value])))
            return
        self.emit(n.assign(target, self.op_call(in_place(s.op), [n.name(target), value])))
        if in_place(s.op) != BINOPS[type(s.op)]:
            self.rebind_copies(target)

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


# ``x op= y`` on a name calls the in-place operator (``operator.iadd``): a user class's ``__iadd__`` runs;
# numbers and arrays are updated functionally by the rules of ``+`` (the name is rebound to the new value),
# which refuse an array that views another (Python would write into it). ``x[i] op= y`` and ``obj.a op= y``
# read, run the in-place operator of a user class (else the plain operator) and write back
# (InPlaceUpdates.in_place_on_item).
_IN_PLACE = {gast.Add: "iadd", gast.Sub: "isub", gast.Mult: "imul", gast.Div: "itruediv", gast.Pow: "ipow"}


def in_place(op):
    return _IN_PLACE.get(type(op)) or BINOPS[type(op)]
