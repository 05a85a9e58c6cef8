"""Which writes into an array a name kept as a possible view of it may be read after: runtime checks.

``r = y[:2]`` (or ``y[0]``, ``y.T``, ``y[0].reshape(-1)``) may be a view of ``y``: then ``y[0] = v`` shows
through ``r`` in Python, while fluxpy's write rebinds ``y`` to a new array and ``r`` keeps the old values.
Whether ``r`` is a view (a row) or a value (an element of a 1-D array, a fancy-indexed copy) is known at run
time only, so each write into ``y`` that such an ``r`` may be read after gets a runtime check
(kept_view_guards.guard_kept_views puts rules/mutation.check_kept_view before it)::

    r = y[0]        # r may view y
    y[0] = v        # checked: refused when r shares memory with the cells written
    return r * 2    # (the read that makes the check needed)

A write is checked against its own cells unless another write into ``y`` may come between it and the read:
that write sees ``y`` rebound already, so this one checks every cell. A write no kept view is read after
costs nothing. What a name may view comes from array_views.view_root and alias_sources.Sources.
"""

import gast

from . import nodes as n
from .alias_sources import Sources, in_place_update
from .array_views import view_root


def kept_views(fdef, body, classes=frozenset(), parts=None):
    """``{write statement: [(view, array, every_cell, line)]}``: the writes ``array[i] = v`` (``array +=
    v`` too) that a name bound at ``line`` to a possible view of ``array`` may be read after. ``every_cell``:
    another write into ``array`` may come before that read (check all of its cells, not only those
    written). ``body``: the nodes of ``fdef`` outside nested functions (nodes.body_nodes); ``classes``: the
    names of classes (their calls make new objects). ``parts``: a set to receive the ``(write statement,
    view)`` of those where ``view`` is a container holding the object written as an item only (``for row in
    rows: row += [v]``), not a view of it.

    A name that may be the very object of another (``b = a``, ``a = b = v``, ``b = ident(a)``, ``b = a if c
    else d``, ``with m(a) as b``) is a possible view both ways: ``b += v`` writes into ``a`` in Python
    too."""
    walker = _KeptViews(Sources(fdef, body, classes))
    for node in body:  # a closure may read a view it captures after any later write
        if isinstance(node, (gast.FunctionDef, gast.Lambda)):
            walker.captured.update(x.id for x in n.walk(node) if isinstance(x, gast.Name))
    walker.block(fdef.body, {})
    out = {}
    for stmt, views in walker.writes.items():
        for view, (array, line) in sorted(views.items()):
            if (stmt, view) in walker.reads:
                out.setdefault(stmt, []).append((view, array, walker.reads[stmt, view], line))
                if parts is not None and (view, array) in walker.part_links:
                    parts.add((stmt, view))
    return out


class _KeptViews:
    """A may-analysis in execution order. State: name -> ``(roots, pending, followed, line)``: the arrays
    the name may view, the writes into them since it was bound, those of them another write followed, and
    the line that bound it. A read marks its pending writes (``self.reads``)."""

    def __init__(self, sources):
        self.sources = sources
        self.writes = {}  # write statement -> {view: (array, line)} for the views it may show through
        self.reads = {}  # (write statement, view) -> another write may come first
        self.loops = []  # per enclosing loop: (states at break, states at continue)
        self.captured = set()  # names that nested functions and lambdas read
        self.repeated = {}  # container -> the names whose objects it holds twice (``lst = [a, a]``)
        self.part_links = set()  # (container, name bound to one of its items): see hold_part
        self.contents = {}  # container or object -> {name whose object it was given (hold): line}

    def block(self, stmts, state):
        for s in stmts:
            if state is None:
                return None
            state = self.stmt(s, state)
        return state

    def stmt(self, s, state):
        if isinstance(s, (gast.If, gast.While)):
            self.read(s.test, state)
            if isinstance(s, gast.While):
                return self.loop(s, state)
            return _merge(self.block(s.body, dict(state)), self.block(s.orelse, dict(state)))
        if isinstance(s, gast.For):
            self.read(s.iter, state)
            return self.loop(s, state)
        if isinstance(s, gast.With):
            for item in s.items:
                self.read(item.context_expr, state)
                if item.optional_vars is not None:  # with m(a) as b: b may be a (nullcontext)
                    self.bind(item.optional_vars, item.context_expr, state, s)
            return self.block(s.body, state)
        if isinstance(s, gast.Try):
            body = self.block(s.body, dict(state))
            start = _merge(state, body)  # a handler may start anywhere in the body
            ends = [self.block(h.body, dict(start)) for h in s.handlers] + [self.block(s.orelse, body)]
            return self.block(s.finalbody, _merge(*ends))
        if isinstance(s, (gast.Break, gast.Continue)):
            self.loops[-1][isinstance(s, gast.Continue)].append(state)
            return None
        self.read(s, state)
        if isinstance(s, (gast.Return, gast.Raise)):
            return None
        updated = in_place_update(s)
        if updated is not None:  # y += v (y = operator.iadd(y, v)) writes into every cell of an array y
            self.write(updated[0], s, state)
            self.bind(s.targets[0] if isinstance(s, gast.Assign) else s.target, None, state, s)
        elif isinstance(s, gast.Assign):
            first = s.targets[0]
            self.bind(first, s.value, state, s)
            for target in s.targets[1:]:  # a = b = v: b is bound to a's object
                self.bind(target, first if isinstance(first, gast.Name) else s.value, state, s)
            for target in s.targets:  # d[k] = a (a list or dict built here), o.f = a: they hold a's object
                if isinstance(target, (gast.Subscript, gast.Attribute)) and isinstance(
                    target.value, gast.Name
                ):
                    holder = target.value.id
                    if isinstance(target, gast.Attribute) or holder in self.sources.containers:
                        self.hold(holder, self.sources.of(s.value), state, s.lineno)
        elif isinstance(s, gast.AugAssign):  # y[i] += v, o.f += v: the item's object changes in Python
            if isinstance(s.target, gast.Attribute) and isinstance(s.target.value, gast.Name):
                self.write(s.target.value.id, s, state)
            self.bind(s.target, None, state, s)
            if isinstance(s.target.value, gast.Name):
                self.write_items(s.target.value.id, s, state)
        elif isinstance(s, gast.Expr) and _storing_call(s.value):  # lst.append(a): lst holds a's object
            call = s.value
            values = call.args + [k.value for k in call.keywords]
            self.hold(call.func.value.id, set().union(*(self.sources.of(v) for v in values)), state, s.lineno)
        elif isinstance(s, gast.AnnAssign):
            self.bind(s.target, s.value, state, s)
        elif isinstance(s, gast.FunctionDef):
            state.pop(s.name, None)
        elif isinstance(s, (gast.Import, gast.ImportFrom)):
            for alias in s.names:
                state.pop((alias.asname or alias.name).split(".")[0], None)
        return state

    def loop(self, s, entry):
        head = entry
        while True:
            self.loops.append(([], []))
            state = dict(head)
            if isinstance(s, gast.For):
                self.bind(s.target, None, state)
                for name, array in _rows_taken(s):  # for row in y: row may view y (a row of an array)
                    self.rebind(name, n.subscript(n.name(array), n.const(0)), state, s.lineno)
                for x in n.walk(s.target):  # for row in rows: rows holds row's object
                    if isinstance(x, gast.Name):
                        self.hold_part(s.iter, x.id, state, s.lineno)
            else:
                self.read(s.test, state)
            end = self.block(s.body, state)
            breaks, continues = self.loops.pop()
            if isinstance(s, gast.For):  # the next trip takes its item from the iterable (a view: live)
                for after in [end, *continues]:
                    if after is not None:
                        self.read(s.iter, after)
            merged = _merge(entry, end, *continues)
            if merged == head:
                return _merge(self.block(s.orelse, dict(head)), *breaks)
            head = merged

    def read(self, node, state):
        """Mark the writes pending for each name ``node`` reads (in a nested function too). A read of a
        container that holds one name's object twice (``lst = [a, a]``) reads that object too: a write
        through one item (``lst[0] += v``) shows through the other."""
        if not state:
            return
        for x in n.walk(node):
            if not (isinstance(x, gast.Name) and isinstance(x.ctx, gast.Load)):
                continue
            for name in [x.id, *sorted(self.repeated.get(x.id, ()))]:
                if name not in state:
                    continue
                _, pending, followed, _ = state[name]
                for write in pending:
                    key = (write, name)
                    self.reads[key] = self.reads.get(key, False) or write in followed

    def bind(self, target, value, state, stmt=None, part=False):
        """``part``: the target gets a part of ``value`` (``p, q = a``: a row of ``a``, not ``a``)."""
        if isinstance(target, gast.Name):
            self.rebind(target.id, value, state, getattr(stmt, "lineno", 0), part)
            if part:  # p, q = rows: rows holds p's object
                self.hold_part(value, target.id, state, getattr(stmt, "lineno", 0))
        elif isinstance(target, (gast.Tuple, gast.List)):
            pairs = isinstance(value, (gast.Tuple, gast.List)) and len(value.elts) == len(target.elts)
            for i, elt in enumerate(target.elts):  # p, q = a: rows of a; p, q = np.split(a, 2): views
                self.bind(elt, value.elts[i] if pairs else value, state, stmt, part or not pairs)
        elif isinstance(target, gast.Starred):
            self.bind(target.value, value, state, stmt, True)
        elif isinstance(target, gast.Subscript) and isinstance(target.value, gast.Name) and stmt is not None:
            self.write(target.value.id, stmt, state)

    def hold_part(self, value, name, state, line):
        """``name`` was bound to a part of ``value`` (an item of a sequence iterated or unpacked): the
        containers ``value`` may be hold its object, so ``name op= v`` changes them too in Python where it is
        a list (an array's view is checked by the rule of ``op=``, rules/mutation.check_in_place_view). One
        way only (a write into the container does not change ``name``'s object): see part_links."""
        if value is None:
            return
        root = view_root(value)
        for holder in ({root} if root is not None else self.sources.of(value)) - {name}:
            roots, pending, followed, at = state.get(holder, (frozenset(), frozenset(), frozenset(), line))
            state[holder] = (roots | {name}, pending, followed, at)
            self.part_links.add((holder, name))

    def hold(self, holder, names, state, line):
        """``holder`` (a container or an object) now holds the objects of ``names`` too (``lst.append(a)``,
        ``d[k] = a``), keeping what it held and viewed before: a write into one of them (``a += v``) shows
        through ``holder``, and an ``op=`` on an item of ``holder`` (``lst[0] += v``) through them
        (write_items; not ``lst[0] = v``, which changes no object of theirs)."""
        names = set(names) - {holder}
        if not names:
            return
        old = state.get(holder)
        full = set(names)
        for root in names:
            if root in state:
                full |= state[root][0]
        full.discard(holder)
        if old is not None:
            state[holder] = (old[0] | full, old[1], old[2], old[3])
        else:
            state[holder] = (frozenset(full), frozenset(), frozenset(), line)
        for name in names:  # (a flow-insensitive union: at worst a check more)
            self.contents.setdefault(holder, {}).setdefault(name, line)

    def write_items(self, holder, stmt, state):
        """``holder[i] op= v``: the names whose objects ``holder`` may hold (hold) see the change."""
        for name, line in sorted(self.contents.get(holder, {}).items()):
            if name == holder:
                continue
            roots, pending, followed, at = state.get(name, (frozenset(), frozenset(), frozenset(), line))
            state[name] = (roots, pending | {stmt}, followed | pending, at)
            self.writes.setdefault(stmt, {}).setdefault(name, (holder, at))
            if name in self.captured:
                self.read(n.name(name), state)

    def link(self, name, roots, state, line):
        """``name`` may be, or hold, the object of each of ``roots``: a write into it may show through them
        and through their views."""
        for other, (others, p, f, at) in list(state.items()):
            if other != name and (other in roots or others & roots):
                state[other] = (others | {name}, p, f, at)
        for root in roots - state.keys():
            state[root] = (frozenset({name}), frozenset(), frozenset(), line)

    def rebind(self, name, value, state, line, part=False):
        repeated = _repeated(value)
        if repeated:  # (a flow-insensitive union: at worst a check more)
            self.repeated.setdefault(name, set()).update(repeated)
        roots, same = self.roots(value, part)
        keeps = name in roots  # y = np.asarray(y), h = cell(h, x): may leave y the same array
        if not keeps:
            for other, (others, pending, followed, at) in list(state.items()):
                if name in others:  # a view of the old y does not see writes into the new one
                    state[other] = (others - {name}, pending, followed, at)
        old = state.get(name)
        roots = roots - {name}
        if not roots:
            if not keeps:
                state.pop(name, None)
            return
        full = set(roots)
        for root in roots:
            if root in state:
                full |= state[root][0]
        pending = followed = frozenset()
        if keeps and old is not None:
            full |= old[0]
            pending, followed, line = old[1], old[2], old[3]
        full.discard(name)
        state[name] = (frozenset(full), pending, followed, line)
        if same:  # name may be the object of a root: a write into it shows through the root, and its views
            self.link(name, roots, state, line)

    def roots(self, value, part):
        """``(names, same)``: the names whose arrays ``value`` may be, hold or view, and whether it may be
        one of those objects itself, or hold them (a copy, a call's result, a display, a new object made
        from them; not ``y[0]`` or ``y.T``)."""
        if value is None:
            return set(), False
        same = not part and not isinstance(value, (gast.Subscript, gast.Attribute))
        if (
            isinstance(value, gast.Call)
            and isinstance(value.func, gast.Name)
            and value.func.id in self.sources.classes
        ):  # Box(a): a new object, which may keep its arguments' objects as fields
            values = value.args + [k.value for k in value.keywords]
            return set().union(*(self.sources.of(v) for v in values)), same
        if isinstance(value, gast.BinOp) and isinstance(value.op, gast.Mult):  # [a] * 2: a, twice
            sides = [side for side in (value.left, value.right) if isinstance(side, (gast.List, gast.Tuple))]
            return set().union(*(self.sources.of(side) for side in sides)), same
        root = view_root(value)
        return ({root} if root is not None else self.sources.of(value)), same

    def write(self, array, stmt, state):
        for view, (roots, pending, followed, line) in list(state.items()):
            if array in roots:
                state[view] = (roots, pending | {stmt}, followed | pending, line)
                self.writes.setdefault(stmt, {})[view] = (array, line)
                if view in self.captured:  # a closure may read it right after this write
                    self.read(n.name(view), state)


def _rows_taken(loop):
    """``[(name, y)]``: the loop's names bound to an item of the name ``y`` or of a view of it (a row, a view,
    when ``y`` is an array): ``for row in y``, ``for i, row in enumerate(y)``, ``for a, b in zip(y, z)``,
    ``for col in y.T``, ``for v in reversed(y[::2])``."""
    it, target = loop.iter, loop.target
    if not (
        isinstance(it, gast.Call) and isinstance(it.func, gast.Name) and it.func.id in ("enumerate", "zip")
    ):
        pairs = [(target, it)]
    elif not isinstance(target, (gast.Tuple, gast.List)) or any(isinstance(a, gast.Starred) for a in it.args):
        return []
    elif it.func.id == "enumerate" and len(target.elts) == 2 and it.args:
        pairs = [(target.elts[1], it.args[0])]
    elif it.func.id == "zip" and len(target.elts) == len(it.args):
        pairs = list(zip(target.elts, it.args, strict=True))
    else:
        return []
    out = []
    for t, a in pairs:
        while isinstance(a, gast.Call) and isinstance(a.func, gast.Name) and a.func.id in _ITEMS_KEPT:
            if len(a.args) != 1 or a.keywords:
                break
            a = a.args[0]  # reversed(y), list(y): the rows of y too
        root = view_root(a)  # for col in y.T, for v in y[::2]: a part of y
        if isinstance(t, gast.Name) and root is not None:
            out.append((t.id, root))
    return out


_ITEMS_KEPT = frozenset({"reversed", "list", "tuple"})  # (each item of list(y) is y's item itself)


# methods that put their arguments' objects into their receiver (``lst.append(a)``)
_STORING_METHODS = frozenset({"append", "extend", "insert", "add", "update", "setdefault", "__setitem__"})


def _storing_call(value):
    """``lst.append(a)`` (extend, insert, ``d.update(...)``, ...) on a name."""
    return (
        isinstance(value, gast.Call)
        and isinstance(value.func, gast.Attribute)
        and isinstance(value.func.value, gast.Name)
        and value.func.attr in _STORING_METHODS
    )


def _repeated(value):
    """The names a display holds twice or more as items (``[a, a]``, ``{"p": a, "q": a}``, ``[a] * 2``)."""
    if isinstance(value, gast.BinOp) and isinstance(value.op, gast.Mult):
        for side in (value.left, value.right):
            if isinstance(side, (gast.List, gast.Tuple)):
                return {e.id for e in side.elts if isinstance(e, gast.Name)}
        return set()
    if isinstance(value, (gast.List, gast.Tuple)):
        items = value.elts
    elif isinstance(value, gast.Dict):
        items = value.values
    else:
        return set()
    names = [e.id for e in items if isinstance(e, gast.Name)]
    return {name for name in names if names.count(name) > 1}


def _merge(*states):
    """The union of the states of several paths (None: a path that does not go on)."""
    out = None
    for state in states:
        if state is None:
            continue
        if out is None:
            out = dict(state)
            continue
        for name, (roots, pending, followed, line) in state.items():
            if name in out:
                r, p, f, at = out[name]
                out[name] = (r | roots, p | pending, f | followed, min(at, line))
            else:
                out[name] = (roots, pending, followed, line)
    return out
