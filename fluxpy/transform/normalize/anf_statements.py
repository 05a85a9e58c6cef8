"""The statements of the ANF pass (anf.py): assignments (to names, items, attributes, tuples), ``if``,
``while``, ``with``, ``try``, ``return``, nested ``def`` and expression statements, including a constructor's
writes on its fresh ``self`` (``self.a = v``, ``setattr(self, k, v)``, ``super().__init__(...)``).

Before::

    a, b = b, a
    with m as v:
        y = v * x

After::

    _name = b
    _name_1 = a
    a = _name
    b = _name_1
    with m as _entered:
        v = __fx_call(__fx_with_value, m, _entered)
        y = __fx_call(__fx_op.mul, v, x)

(``for`` loops: anf_loops.py; ``op=``: anf_updates.py.)
"""

import gast

from .. import nodes as n
from .anf_names import CALL


class Statements:
    """Methods of anf._ANF: the statements (``stmt_<Node>``) but ``for`` and ``op=``."""

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
