"""Generator expressions whose items would read a rebound name: refused by the fence (stage 3).

Python computes a generator expression's items when they are taken, reading the variables of its item (and
its conditions and inner ``for`` iterables) at that moment; only its first iterable is read where it is
made. fluxpy builds the items where the expression is (normalize/comprehensions.py), so a name the item
reads that is assigned again before the items are all taken would give the old value, silently::

    g = (x * i for i in range(3))
    x = x ** 2          # refused: Python's sum(g) below reads this x
    return sum(g)

That is refused, as a lambda (or ``map``) capturing a name assigned again later is (adjoint's activity
analysis). Not refused: a generator expression taken whole where it is (``sum(... for ...)``, ``list``,
``max``, ``"".join``, an outer comprehension's first iterable, ``zip``/``enumerate`` of it read so), a
``for`` loop over it whose body assigns none of those names, and one stored in a name (``g = (...)``) whose
every read, in the same block, takes it (``sum(g)``, ``next(g)``, ``for v in g``) before any such name is
assigned again.
"""

import gast

from . import nodes as n
from .array_views import view_root

# builtins that take all the items of an iterable argument before returning
_EAGER = frozenset(["sum", "list", "tuple", "set", "frozenset", "dict", "any", "all", "max", "min", "sorted"])
# other functions (by their last name: ``math.fsum``) and methods (``lst.extend``, ``s.update``,
# ``", ".join``) that do
_EAGER_CALLS = frozenset(
    ["fsum", "prod", "fromiter", "reduce", "Counter", "deque", "fmean", "mean", "median"]
)
_EAGER_METHODS = frozenset(["extend", "update", "join", "union", "intersection", "difference", "isdisjoint"])
# builtins whose result reads the argument lazily, as the generator does (its fate is theirs)
_LAZY_WRAPPERS = frozenset(["zip", "enumerate", "iter"])
_SCOPES = (gast.FunctionDef, gast.Lambda)
_COMPREHENSIONS = (gast.ListComp, gast.SetComp, gast.DictComp, gast.GeneratorExp)


class LateRead(Exception):
    """``(generator node, name, rebinding statement)``."""


def first_late_read(fdef):
    """``(generator expression, name, statement)`` for the first generator expression of ``fdef`` whose
    items would read ``name`` after ``statement`` assigns it again, or None."""
    parents = _parents(fdef)
    for node in _nodes(fdef):
        if isinstance(node, gast.GeneratorExp):
            try:
                _check(node, parents, fdef)
            except LateRead as found:
                return found.args
    return None


def _check(gen, parents, fdef):
    lazy = _free_names(gen, first_iter=False)
    node, consumer = _taken_at(gen, parents)
    if isinstance(consumer, gast.For):
        return _check_loop(gen, consumer, lazy)
    if not lazy or consumer is _WHOLE:
        return
    statement = _statement_of(gen, parents)
    if _stored_and_taken(statement, node, lazy, parents, fdef):
        return
    found = _assigned_after(statement, lazy, fdef)
    if found is not None:
        raise LateRead(gen, *found)


_WHOLE = object()  # a consumer that takes the items there and then


def _taken_at(node, parents):
    """``(node, consumer)``: up from the iterable ``node`` through what reads it lazily (``zip``,
    ``enumerate``, ``iter``, an outer generator expression's first iterable), ``_WHOLE`` where something
    takes items there and then (``sum``, ``next``, ``lst.extend``, a list comprehension; an inner ``for``
    of an outer comprehension, whose own reads the outer's check covers), the ``for`` statement looping over
    it, or None (stored, passed on, returned)."""
    while True:
        parent = parents.get(id(node))
        if isinstance(parent, gast.Call) and any(a is node for a in parent.args):
            func = parent.func
            if isinstance(func, gast.Name) and func.id in _EAGER | _EAGER_CALLS | {"next"}:
                return node, _WHOLE
            if isinstance(func, gast.Attribute) and func.attr in _EAGER_CALLS | _EAGER_METHODS:
                return node, _WHOLE
            if isinstance(func, gast.Name) and func.id in _LAZY_WRAPPERS:
                node = parent
                continue
            return node, None
        if isinstance(parent, gast.comprehension) and parent.iter is node:
            comp = parents[id(parent)]
            if comp.generators[0] is not parent or not isinstance(comp, gast.GeneratorExp):
                return node, _WHOLE
            node = comp
            continue
        if isinstance(parent, gast.For) and parent.iter is node:
            return node, parent
        return node, None


def _check_loop(gen, loop, lazy):
    """``for v in (... for ...)``: the items are taken between the body's runs. A write into an object they
    read (``X[i] = v``, ``X += v``, its first iterable's too: ``for v in (r * 2 for r in X)``) shows in the
    items Python computes later, as a rebinding does."""
    root = view_root(gen.generators[0].iter)  # X in (r * 2 for r in X.T): its rows are read when taken
    written = lazy | ({root} if root is not None else set())
    for s in _walk_statements(loop.body):
        name = _assigns(s, lazy) or _writes_into(s, written)
        if name is not None:
            raise LateRead(gen, name, s)


def _writes_into(s, names):
    """A name of ``names`` whose object statement ``s`` writes into (``x[i] = v``, ``x[i] += v``, ``x +=
    v``, ``x.append(v)``), or None."""
    targets = s.targets if isinstance(s, gast.Assign) else [s.target] if isinstance(s, gast.AugAssign) else []
    for target in targets:
        if isinstance(target, gast.Subscript) and isinstance(target.value, gast.Name):
            if target.value.id in names:
                return target.value.id
        elif isinstance(s, gast.AugAssign) and isinstance(target, gast.Name) and target.id in names:
            return target.id
    if isinstance(s, gast.Expr) and isinstance(s.value, gast.Call):
        func = s.value.func
        if isinstance(func, gast.Attribute) and isinstance(func.value, gast.Name) and func.value.id in names:
            if func.attr in _WRITING_METHODS:
                return func.value.id
    return None


_WRITING_METHODS = frozenset(
    ["append", "extend", "insert", "pop", "remove", "clear", "sort", "reverse", "update"]
)


def _stored_and_taken(statement, node, lazy, parents, fdef):
    """``g = (...)`` whose every read (in the same block, before ``g`` is assigned again there) takes items
    (``sum(g)``, ``next(g)``, ``for v in g`` whose body assigns no name of ``lazy``), and no name of
    ``lazy`` is assigned between ``statement`` and the last read."""
    if not (
        isinstance(statement, gast.Assign)
        and statement.value is node
        and len(statement.targets) == 1
        and isinstance(statement.targets[0], gast.Name)
    ):
        return False
    g = statement.targets[0].id
    found = _path_to(statement, fdef.body)
    if not found:
        return False
    block, index, _ = found[-1]
    end = len(block)
    for k in range(index + 1, len(block)):
        if isinstance(block[k], (gast.Assign, gast.For)) and g in _bound_here(block[k]):
            end = k + 1  # reads up to its value (``g = sum(g)``) still see this generator
            break
    tops = {id(x): k for k in range(index + 1, end) for x in n.walk(block[k])}
    outside = {id(x) for x in _nodes(fdef)}
    last = index
    for load in n.walk(fdef):
        if not (isinstance(load, gast.Name) and load.id == g and isinstance(load.ctx, gast.Load)):
            continue
        if id(load) not in tops or id(load) not in outside or not _takes(load, parents, lazy):
            return False  # read elsewhere, in a nested function, or kept
        top = block[tops[id(load)]]
        simple = isinstance(top, (gast.Assign, gast.AugAssign, gast.AnnAssign, gast.Expr, gast.Return))
        loop_over = isinstance(top, gast.For) and top.iter is load
        if not (simple or loop_over) and any(_assigns(s, lazy) for s in _walk_statements([top])):
            return False  # taken inside a block that also assigns one of those names
        last = max(last, tops[id(load)])
    return not any(_assigns(s, lazy) for s in _walk_statements(block[index + 1 : last]))


def _takes(load, parents, lazy):
    """Whether the read ``load`` of a stored generator takes its items right there, outside any lambda or
    comprehension that could run later."""
    node, consumer = _taken_at(load, parents)
    if consumer is None:
        return False
    if isinstance(consumer, gast.For) and any(_assigns(s, lazy) for s in _walk_statements(consumer.body)):
        return False
    parent = parents[id(node)]
    if isinstance(parent, gast.comprehension):  # the first iterable of a list comprehension
        comp = parents[id(parent)]
        if comp.generators[0] is not parent or isinstance(comp, gast.GeneratorExp):
            return False
        node = comp
    while not isinstance(node, gast.stmt):
        node = parents[id(node)]
        if isinstance(node, _COMPREHENSIONS + (gast.comprehension,)):
            return False  # read where the items of another comprehension are made
    return True


def _free_names(comp, first_iter=True):
    """The names comprehension ``comp`` reads from around it (without its first iterable's, read where it
    is made, when ``first_iter`` is false)."""
    out = set()
    bound = set()
    for i, gen in enumerate(comp.generators):
        if i or first_iter:
            out |= _reads(gen.iter) - bound
        bound |= _names(gen.target)
        for test in gen.ifs:
            out |= _reads(test) - bound
    parts = [comp.key, comp.value] if isinstance(comp, gast.DictComp) else [comp.elt]
    for part in parts:
        out |= _reads(part) - bound
    return out


def _reads(expr):
    """The names an expression reads from its scope (those nested scopes read included)."""
    if isinstance(expr, _COMPREHENSIONS):
        return _free_names(expr)
    if isinstance(expr, gast.Lambda):
        args = expr.args
        params = {a.id for a in args.posonlyargs + args.args + args.kwonlyargs}
        params |= {a.id for a in (args.vararg, args.kwarg) if a is not None}
        defaults = [d for d in args.defaults + args.kw_defaults if d is not None]
        return set().union(*map(_reads, defaults), _reads(expr.body) - params)
    if isinstance(expr, gast.Name):
        return {expr.id} if isinstance(expr.ctx, gast.Load) else set()
    return set().union(set(), *(_reads(c) for c in n.children(expr) if isinstance(c, gast.AST)))


def _names(node):
    return {x.id for x in n.walk(node) if isinstance(x, gast.Name)}


def _bound_here(s):
    """The names statement ``s`` itself binds (not the statements nested in it)."""
    if isinstance(s, gast.Assign):
        return set().union(
            *(_names(t) for t in s.targets if not isinstance(t, (gast.Subscript, gast.Attribute)))
        )
    if isinstance(s, (gast.AugAssign, gast.AnnAssign)):
        return {s.target.id} if isinstance(s.target, gast.Name) else set()
    if isinstance(s, gast.For):
        return _names(s.target)
    if isinstance(s, gast.With):
        return set().union(set(), *(_names(i.optional_vars) for i in s.items if i.optional_vars is not None))
    if isinstance(s, gast.FunctionDef):
        return {s.name}
    if isinstance(s, (gast.Import, gast.ImportFrom)):
        return {(a.asname or a.name).split(".")[0] for a in s.names}
    if isinstance(s, gast.Try):
        return {h.name.id for h in s.handlers if isinstance(h.name, gast.Name)}
    return set()


def _assigns(s, names):
    """A name of ``names`` that statement ``s`` binds, or None."""
    hit = _bound_here(s) & names
    return min(hit) if hit else None


def _assigned_after(statement, names, fdef):
    """``(name, statement)``: a name of ``names`` that may be assigned after ``statement`` runs (later in
    its block and the blocks around it, or anywhere in a loop around it), or None."""
    later = []
    for block, index, owner in _path_to(statement, fdef.body) or []:
        later += list(_walk_statements(block[index + 1 :]))
        if isinstance(owner, (gast.For, gast.While)):
            later = list(_walk_statements(owner.body)) + later
    for s in later:
        name = _assigns(s, names)
        if name is not None:
            return name, s
    return None


def _path_to(target, body, owner=None):
    """The blocks from ``body`` down to the statement ``target``: ``[(block, index, owner), ...]``, outermost
    first (``owner``: the compound statement whose block it is)."""
    for i, s in enumerate(body):
        if s is target:
            return [(body, i, owner)]
        if isinstance(s, _SCOPES):
            continue
        for inner in _blocks_of(s):
            found = _path_to(target, inner, s)
            if found:
                return [(body, i, owner)] + found
    return None


def _blocks_of(s):
    out = [getattr(s, f) for f in ("body", "orelse", "finalbody") if isinstance(getattr(s, f, None), list)]
    return out + [h.body for h in getattr(s, "handlers", None) or []]


def _walk_statements(stmts):
    for s in stmts:
        yield s
        if isinstance(s, _SCOPES):
            continue
        for inner in _blocks_of(s):
            yield from _walk_statements(inner)


def _nodes(fdef):
    """The nodes of ``fdef``'s body, outside nested functions and lambdas, in source order."""
    out, stack = [], list(reversed(fdef.body))
    while stack:
        node = stack.pop()
        out.append(node)
        if not isinstance(node, _SCOPES):
            stack.extend(reversed([c for c in n.children(node) if isinstance(c, gast.AST)]))
    return out


def _parents(fdef):
    parents = {}
    for node in _nodes(fdef):
        if not isinstance(node, _SCOPES):
            for child in n.children(node):
                if isinstance(child, gast.AST):
                    parents[id(child)] = node
    return parents


def _statement_of(node, parents):
    while not isinstance(node, gast.stmt):
        node = parents[id(node)]
    return node
