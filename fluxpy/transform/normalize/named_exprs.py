"""Pass: assignment expressions (``:=``) become assignments of their own, before the statement holding them.
The fence runs it before its analyses (which must see the names bound), over everything but the insides of
comprehensions; ``normalize`` runs it again after ``comprehensions`` has made those into loops (a ``:=``
there binds in the function's scope, as in Python).

Postcondition: no ``NamedExpr`` remains outside comprehensions (after ``comprehensions``: none at all), nor a
``while`` test holding one.

Before::

    def f(x):
        if (n := x.sum()) > 1:
            x = x / n
        while (y := np.tanh(x)).max() < 0.5:
            x = x * 2
        return n * 2 + (m := x.max()) * m

After::

    def f(x):
        n = x.sum()
        if n > 1:
            x = x / n
        while True:
            y = np.tanh(x)
            if not y.max() < 0.5:
                break
            x = x * 2
        _mul = n * 2
        m = x.max()
        return _mul + m * m

Python evaluates left to right, so what a statement evaluates before a ``:=`` is computed first into a
temporary (``_mul`` above) unless it cannot change meaning: constants, names no ``:=`` assigns, a callee
named by a dotted name. A part that Python evaluates only sometimes (after ``and``/``or``, the branches of
``a if c else b``, an assert's message) becomes ``if`` statements first (blocks.py), so that a ``:=`` there
runs only when Python runs it. A ``while`` test is evaluated at the top of each trip (an ``else:`` runs after
the loop when the test failed: ``_finished``). What cannot be made exact is refused by the fence
(named_expr_checks.py).
"""

import types

import gast

from .. import nodes as n
from .anf_names import BINOPS
from .blocks import StatementRewriter, locate_all, outside_lambdas

_COMPREHENSIONS = (gast.ListComp, gast.SetComp, gast.DictComp, gast.GeneratorExp)
_EXPRESSIONS = (gast.expr, gast.Slice)  # (gast's Slice is no expr)


def hoist_named_exprs(fdef, namer):
    """Rewrite ``fdef``'s body in place (nested functions are rewritten when they are differentiated)."""
    if any(isinstance(x, gast.NamedExpr) for x in n.walk(fdef)):
        fdef.body = _Hoist(namer).block(fdef.body)
    return fdef


class _Hoist(StatementRewriter):
    """Walks each statement's expressions in Python's evaluation order. ``evaluated`` holds the places
    ``(holder, field, index)`` of the parts of the statement evaluated so far, which a ``:=`` about to be
    moved out first moves out before it where they could change meaning."""

    def __init__(self, namer):
        super().__init__(types.SimpleNamespace(namer=namer))
        self.evaluated = []

    def moves(self, node):
        return any(isinstance(x, gast.NamedExpr) for x in outside_lambdas(node))

    def block(self, stmts):
        out = []
        for stmt in stmts:
            saved = self.pending, self.current, self.evaluated
            self.pending, self.current, self.evaluated = [], stmt, []
            new = self.visit(stmt)
            out.extend(self.pending)
            out.extend(new if isinstance(new, list) else [new])
            self.pending, self.current, self.evaluated = saved
        return out

    def visit(self, node):
        if isinstance(node, _EXPRESSIONS):
            return self.expr(node)
        return super().visit(node)

    # -- statements ---------------------------------------------------------------------------------------
    def visit_While(self, node):
        """``while (y := f(y)) < 10: body`` -> ``while True: y = f(y); if not y < 10: break; body``."""
        if not self.moves(node.test):
            return super().visit_While(node)
        exit_ = [gast.Break()]
        finished = self.ctx.namer.fresh("_finished") if node.orelse else None
        if finished:  # the else runs when the test fails, not at a break
            exit_.insert(0, n.assign(finished, n.const(True)))
        test = gast.UnaryOp(op=gast.Not(), operand=node.test)
        body = locate_all([n.if_(test, exit_)], node.test) + node.body
        loop = n.located(gast.While(test=n.const(True), body=self.block(body), orelse=[]), node)
        if not finished:
            return loop
        self.pending.append(n.located(n.assign(finished, n.const(False)), node))
        return [loop, n.located(n.if_(n.name(finished), self.block(node.orelse)), node)]

    def visit_With(self, node):
        """The first context manager is evaluated before anything else of the statement (the others after
        the first is entered: the fence refuses a ``:=`` there)."""
        node.items[0].context_expr = self.visit(node.items[0].context_expr)
        return super().visit_With(node)

    def visit_AnnAssign(self, node):
        if node.value is not None:  # (a local variable's annotation is not evaluated)
            node.value = self.visit(node.value)
        return node

    # -- expressions, in evaluation order -----------------------------------------------------------------
    def expr(self, node):
        """``node`` rewritten: the ``:=`` in it moved out (onto ``self.pending``), returning what to
        evaluate in its place."""
        if isinstance(node, gast.NamedExpr):
            mark = len(self.evaluated)
            value = self.expr(node.value)
            del self.evaluated[mark:]  # (the value is evaluated in the assignment, in order)
            self.move_evaluated()
            self.pending.append(n.located(n.assign(node.target.id, value), node))
            return n.located(n.name(node.target.id), node)
        if isinstance(node, gast.BoolOp) and any(self.moves(v) for v in node.values[1:]):
            self.move_evaluated()
            return super().visit_BoolOp(node)
        if isinstance(node, gast.IfExp) and (self.moves(node.body) or self.moves(node.orelse)):
            self.move_evaluated()
            return super().visit_IfExp(node)
        if isinstance(node, _COMPREHENSIONS):
            if self.moves(node):  # its := run as it is evaluated: what comes before is evaluated first
                self.move_evaluated()
            return node  # (its inside is rewritten after comprehensions.py)
        if isinstance(getattr(node, "ctx", None), gast.Store):
            return node  # a target: evaluated after the value (the fence refuses a := in it)
        for place in _places(node):
            mark = len(self.evaluated)
            _put(place, self.expr(_get(place)))
            if _whole(place):
                del self.evaluated[mark:]
                self.evaluated.append(place)
        return node

    def move_evaluated(self):
        """Assign each part evaluated so far that could change meaning to a temporary, in order: all but
        constants, lambdas, names that no ``:=`` still in the statement assigns, and a callee's dotted name
        (binding a method to a temporary would hide it from the normalizer's method calls)."""
        assigned = {
            x.target.id
            for root in _roots(self.current)
            for x in outside_lambdas(root)
            if isinstance(x, gast.NamedExpr)
        }
        for place in self.evaluated:
            value = _get(place)
            if _stable(value, assigned) or (place[1] == "func" and _dotted(value, assigned)):
                continue
            temp = self.ctx.namer.fresh(_temporary(value))
            where = value if getattr(value, "lineno", None) is not None else self.current
            self.pending.append(n.located(n.assign(temp, value), where))
            _put(place, n.name(temp))
        self.evaluated.clear()


def _stable(value, assigned):
    """A value that reads the same later in the statement: a constant, a name not in ``assigned``, a lambda
    (its body reads the names when it is called, as Python's does)."""
    if isinstance(value, gast.Name):
        return value.id not in assigned
    if isinstance(value, gast.Lambda):
        return not (value.args.defaults or any(value.args.kw_defaults))
    return isinstance(value, gast.Constant)


def _dotted(value, assigned):
    """``np.linalg.norm``, ``self.fc``: attributes of a stable name."""
    while isinstance(value, gast.Attribute):
        value = value.value
    return _stable(value, assigned)


def _roots(stmt):
    """The expressions statement ``stmt`` evaluates itself (an ``if``'s test, not its body's)."""
    out = [x for x in n.children(stmt) if isinstance(x, _EXPRESSIONS)]
    return out + [item.context_expr for item in getattr(stmt, "items", None) or []]


def _places(node):
    """The places ``(holder, field, index)`` of ``node``'s parts, in the order Python evaluates them (the
    parts a ``:=`` can be in; a lambda's body is evaluated when it is called)."""
    if isinstance(node, gast.Dict):  # k1, v1, k2, v2, ... (a None key: **mapping)
        out = []
        for i, key in enumerate(node.keys):
            if key is not None:
                out.append((node.keys, None, i))
            out.append((node.values, None, i))
        return out
    if isinstance(node, gast.Lambda):
        args = node.args
        return [(args.defaults, None, i) for i in range(len(args.defaults))] + [
            (args.kw_defaults, None, i) for i, d in enumerate(args.kw_defaults) if d is not None
        ]
    if isinstance(node, gast.Call):
        return _fields(node, ["func", "args"]) + [(k, "value", None) for k in node.keywords]
    return _fields(node, node._fields)


def _fields(node, fields):
    out = []
    for field in fields:
        value = getattr(node, field, None)
        if isinstance(value, _EXPRESSIONS):
            out.append((node, field, None))
        elif type(value) is list:
            out.extend((value, None, i) for i, item in enumerate(value) if isinstance(item, _EXPRESSIONS))
    return out


def _get(place):
    holder, field, index = place
    return holder[index] if field is None else getattr(holder, field)


def _put(place, value):
    holder, field, index = place
    if field is None:
        holder[index] = value
    else:
        setattr(holder, field, value)


def _whole(place):
    """Whether the part at ``place`` can be assigned to a temporary as a whole (not ``*xs``, a slice
    ``a:b``, a tuple of slices, an f-string's format spec: their parts can)."""
    holder, field, _ = place
    value = _get(place)
    if isinstance(value, (gast.Starred, gast.Slice)) or field == "format_spec":
        return False
    if isinstance(value, gast.FormattedValue):
        return False
    return not (isinstance(value, gast.Tuple) and any(isinstance(e, gast.Slice) for e in value.elts))


def _temporary(value):
    """A temporary's name after what it holds: ``_mul`` for ``a * b``, ``_sum`` for ``x.sum()``."""
    if isinstance(value, gast.Call):
        value = value.func
    if isinstance(value, gast.BinOp):
        return "_" + BINOPS[type(value.op)].rstrip("_")
    if isinstance(value, gast.Attribute):
        return "_" + value.attr.strip("_")
    if isinstance(value, gast.Name):
        return "_" + value.id.strip("_")
    if isinstance(value, gast.Subscript):
        return "_getitem"
    if isinstance(value, _COMPREHENSIONS):
        return "_comp"
    return "_value"
