"""The expressions of the ANF pass (anf.py): each operator, attribute read, item read and container display
becomes one statement assigning a fresh name (``and``/``or`` and ``x if c else y`` become ``if`` statements,
evaluating each operand only where Python does), and an index is evaluated as it is.

Before::

    y = 3 * x ** 2 if c else d["k"]

After::

    if c:
        _pow = __fx_call(__fx_power_by_constant, x, 2)
        y = __fx_call(__fx_op.mul, 3, _pow)
    else:
        y = __fx_call(__fx_op.getitem, d, 'k')

(Calls: anf_calls.py.)
"""

import gast

from .. import nodes as n
from .anf_names import BINOPS, CALL, UNARYOPS


class Expressions:
    """Methods of anf._ANF: expressions into statements (``atom``, ``expr``, ``value``)."""

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

    def index(self, s):
        """Index expressions carry no gradient: evaluated as they are (slices become ``__fx_slice`` calls)."""
        s = _SliceToCall().visit(s)
        if isinstance(s, (gast.Name, gast.Constant)):
            return s
        target = self.ctx.namer.fresh("_index")
        self.emit(n.assign(target, s))
        return n.name(target)


def _is_number(e):
    if isinstance(e, gast.UnaryOp) and isinstance(e.op, gast.USub):
        e = e.operand
    return isinstance(e, gast.Constant) and type(e.value) in (int, float)


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
