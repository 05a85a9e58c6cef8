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

import gast

from .. import nodes as n
from ..shared_objects import Sharing
from .anf_argument_writes import ArgumentWrites, Positions
from .anf_calls import Calls
from .anf_expressions import Expressions
from .anf_loops import ForLoops
from .anf_statements import Statements
from .anf_updates import BUILDERS, InPlaceUpdates
from .anf_writeback import WriteBacks


def normalize_anf(fdef, ctx):
    anf = _ANF(ctx)
    anf.sharing = Sharing(fdef)
    anf.positions = Positions(fdef)
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


class _ANF(Statements, Expressions, Calls, ArgumentWrites, InPlaceUpdates, ForLoops, WriteBacks):
    """The pass's state and its dispatch; the methods for statements, expressions, calls, argument writes,
    ``op=``, ``for`` loops and write-backs are in the mixins (anf_*.py)."""

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


def _is_bool_constant(e):
    return isinstance(e, gast.Constant) and isinstance(e.value, bool)
