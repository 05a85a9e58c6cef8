"""Which writes could be seen through another reference in plain Python.

fluxpy performs ``x[i] = v``, ``lst.append(v)`` and ``obj.a = v`` (on objects the function made) as
updates that rebind the name, leaving the old value untouched for the reverse pass. That matches Python
exactly unless the old value is also reachable another way: a copy (``y = x``), a container or object it
was stored in, the sequence a loop iterates over, a view. This analysis walks the function in execution
order (loop bodies twice, branches merged) and reports the first write into a value that may be shared.
A second one, :func:`kept_views`, finds the writes into an array that a name kept as a possible view of it
(``r = y[:2]``) may be read after: only the values can tell whether ``r`` is a view, so those writes get a
runtime check (fence.guard_kept_views).
"""

import gast

from . import nodes as n


class SharedWrite(Exception):
    """``(node, name, reason)`` of the first write into a value that may be shared."""


def first_shared_write(fdef, local_names, classes, lists=frozenset()):
    """``(node, name, reason)`` or None. ``lists``: local lists whose append/extend/insert/pop calls are
    rebindings (other receivers keep Python's in-place methods)."""
    state = {a.id: None for a in fdef.args.args + fdef.args.posonlyargs + fdef.args.kwonlyargs}
    for extra in (fdef.args.vararg, fdef.args.kwarg):
        if extra is not None:
            state[extra.id] = None
    try:
        _Walker(local_names, classes, lists).block(fdef.body, state)
    except SharedWrite as found:
        return found.args
    return None


class _Walker:
    def __init__(self, local_names, classes, lists):
        self.local = local_names
        self.classes = classes
        self.lists = lists

    def block(self, stmts, state):
        for s in stmts:
            self.stmt(s, state)

    def stmt(self, s, state):
        if isinstance(s, gast.Assign):
            self.stores(s.value, state)
            for target in s.targets:
                self.bind(target, s.value, state, s)
        elif isinstance(s, (gast.AugAssign, gast.AnnAssign)):
            if s.value is not None:
                self.stores(s.value, state)
            if isinstance(s.target, gast.Name):
                state[s.target.id] = None  # x += y rebinds x to a new value
            else:
                self.write(_base(s.target), s, state)
        elif isinstance(s, gast.Expr):
            self.stores(s.value, state)
        elif isinstance(s, gast.If):
            self.branches([s.body, s.orelse], state)
        elif isinstance(s, (gast.For, gast.While)):
            if isinstance(s, gast.For):
                self.stores(s.iter, state)
            for _ in range(2):  # a second pass sees what one iteration leaves for the next
                if isinstance(s, gast.For):
                    self.bind_loop_target(s, state)
                self.block(s.body, state)
            self.block(s.orelse, state)
        elif isinstance(s, gast.With):
            self.block(s.body, state)
        elif isinstance(s, gast.Try):
            self.block(s.body, state)
            self.branches([s.orelse] + [h.body for h in s.handlers], state)
            self.block(s.finalbody, state)
        elif isinstance(s, gast.Return) and s.value is not None:
            self.stores(s.value, state)

    def branches(self, blocks, state):
        results = []
        for block in blocks:
            branch = dict(state)
            self.block(block, branch)
            results.append(branch)
        for branch in results:
            for name, reason in branch.items():
                if reason is not None or name not in state:
                    state[name] = reason if reason is not None else state.get(name)

    def bind(self, target, value, state, stmt):
        if isinstance(target, gast.Name):
            state[target.id] = self.reason_of(value, target.id, state, stmt)
        elif isinstance(target, (gast.Tuple, gast.List)):
            pairs = None
            if isinstance(value, (gast.Tuple, gast.List)) and len(value.elts) == len(target.elts):
                pairs = list(zip(target.elts, value.elts, strict=True))
            for i, elt in enumerate(target.elts):
                if pairs is not None:
                    self.bind(elt, pairs[i][1], state, stmt)
                elif isinstance(elt, gast.Name):
                    state[elt.id] = f"is unpacked from a container (line {stmt.lineno})"
                else:
                    self.bind(elt, None, state, stmt)
        else:  # x[i] = v, obj.a = v
            self.write(_base(target), stmt, state)
            if isinstance(value, gast.Name):
                state[value.id] = f"is stored in another container or object (line {stmt.lineno})"

    def reason_of(self, value, name, state, stmt):
        source = same_or_view_source(value)
        if source is not None:
            while True:  # np.asarray(np.ravel(y)): the innermost argument
                inner = same_or_view_source(source)
                if inner is None:
                    break
                source = inner
            if isinstance(source, gast.Name):
                if source.id == name:  # y = np.asarray(y): as shared as y was
                    return state.get(name)
                state[source.id] = f"shares its data with {name!r} (line {stmt.lineno})"
                line = stmt.lineno
                return f"may be a view of another array ({source.id!r}) or that array itself (line {line})"
            value = source
        if isinstance(value, gast.Name):
            state[value.id] = f"is copied to {name!r} (line {stmt.lineno})"
            return f"is a copy of {value.id!r} (line {stmt.lineno})"
        if isinstance(value, (gast.Subscript, gast.Attribute)):
            return f"may be a view or element of another value (line {stmt.lineno})"
        return None

    def bind_loop_target(self, loop, state):
        iterates_range = (
            isinstance(loop.iter, gast.Call)
            and isinstance(loop.iter.func, gast.Name)
            and loop.iter.func.id == "range"
        )
        for node in n.walk(loop.target):
            if isinstance(node, gast.Name):
                state[node.id] = (
                    None
                    if iterates_range
                    else (f"is an element of the sequence being iterated (line {loop.lineno})")
                )

    def stores(self, expr, state):
        """Names an expression puts inside a container or a new object."""
        if expr is None:
            return
        for node in _nodes_outside_functions(expr):
            if isinstance(node, gast.Set) or (
                isinstance(node, (gast.List, gast.Tuple)) and isinstance(node.ctx, gast.Load)
            ):
                elements = node.elts
            elif isinstance(node, gast.Dict):
                elements = node.values
            elif (
                isinstance(node, gast.Call)
                and isinstance(node.func, gast.Name)
                and node.func.id in self.classes
            ):
                elements = list(node.args) + [k.value for k in node.keywords]
            elif (
                isinstance(node, gast.Call)
                and isinstance(node.func, gast.Attribute)
                and node.func.attr in ("append", "extend", "insert")
            ):
                if isinstance(node.func.value, gast.Name) and node.func.value.id in self.lists:
                    self.write(node.func.value.id, node, state)
                elements = list(node.args)
            elif (
                isinstance(node, gast.Call)
                and isinstance(node.func, gast.Attribute)
                and node.func.attr == "pop"
                and isinstance(node.func.value, gast.Name)
                and node.func.value.id in self.lists
            ):
                self.write(node.func.value.id, node, state)
                continue
            else:
                continue
            for e in elements:
                if isinstance(e, gast.Name):
                    state[e.id] = f"is stored in a container (line {node.lineno})"

    def write(self, name, node, state):
        if name is None:
            return
        if name not in self.local:
            raise SharedWrite(node, name, "is not a local variable")
        reason = state.get(name)
        if reason is not None:
            raise SharedWrite(node, name, reason)


# -- views kept in a name --------------------------------------------------------------------------------
# ``r = y[:2]`` (or ``y[0]``, ``y.T``, ``y[0].reshape(-1)``) may be a view of ``y``: then ``y[0] = v``
# shows through ``r`` in Python, while fluxpy's write rebinds ``y`` to a new array and ``r`` keeps the old
# values. Whether ``r`` is a view (a row) or a value (an element of a 1-D array, a fancy-indexed copy) is
# known at run time only, so each write into ``y`` that such an ``r`` may be read after gets a runtime check
# (rules/mutation.check_kept_view). A write is checked against its own cells unless another write into ``y``
# may come between it and the read: that write sees ``y`` rebound already, so this one checks every cell.


def kept_views(fdef, body):
    """``{write statement: [(view, array, every_cell, line)]}``: the writes ``array[i] = v`` (``array +=
    v`` too) that a name bound at ``line`` to a possible view of ``array`` may be read after. ``every_cell``:
    another write into ``array`` may come before that read (check all of its cells, not only those
    written). ``body``: the nodes of ``fdef`` outside nested functions (fence.body_nodes)."""
    walker = _KeptViews()
    for node in body:  # a closure may read a view it captures after any later write
        if isinstance(node, (gast.FunctionDef, gast.Lambda)):
            walker.captured.update(x.id for x in n.walk(node) if isinstance(x, gast.Name))
    walker.block(fdef.body, {})
    out = {}
    for stmt, views in walker.writes.items():
        for view, (array, line) in sorted(views.items()):
            if (stmt, view) in walker.reads:
                out.setdefault(stmt, []).append((view, array, walker.reads[stmt, view], line))
    return out


class _KeptViews:
    """A may-analysis in execution order. State: name -> ``(roots, pending, followed, line)``: the arrays
    the name may view, the writes into them since it was bound, those of them another write followed, and
    the line that bound it. A read marks its pending writes (``self.reads``)."""

    def __init__(self):
        self.writes = {}  # write statement -> {view: (array, line)} for the views it may show through
        self.reads = {}  # (write statement, view) -> another write may come first
        self.loops = []  # per enclosing loop: (states at break, states at continue)
        self.captured = set()  # names that nested functions and lambdas read

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
                if item.optional_vars is not None:
                    self.bind(item.optional_vars, None, state)
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
        if isinstance(s, gast.Assign):
            for target in s.targets:
                self.bind(target, s.value, state, s)
        elif isinstance(s, gast.AugAssign):
            if isinstance(s.target, gast.Name):  # y += v writes into every cell of an array y in Python
                self.write(s.target.id, s, state)
            self.bind(s.target, None, state, s)
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
            else:
                self.read(s.test, state)
            end = self.block(s.body, state)
            breaks, continues = self.loops.pop()
            merged = _merge(entry, end, *continues)
            if merged == head:
                return _merge(self.block(s.orelse, dict(head)), *breaks)
            head = merged

    def read(self, node, state):
        """Mark the writes pending for each name ``node`` reads (in a nested function too)."""
        if not state:
            return
        for x in n.walk(node):
            if isinstance(x, gast.Name) and isinstance(x.ctx, gast.Load) and x.id in state:
                _, pending, followed, _ = state[x.id]
                for write in pending:
                    key = (write, x.id)
                    self.reads[key] = self.reads.get(key, False) or write in followed

    def bind(self, target, value, state, stmt=None):
        if isinstance(target, gast.Name):
            self.rebind(target.id, value, state, getattr(stmt, "lineno", 0))
        elif isinstance(target, (gast.Tuple, gast.List)):
            pairs = isinstance(value, (gast.Tuple, gast.List)) and len(value.elts) == len(target.elts)
            for i, elt in enumerate(target.elts):
                self.bind(elt, value.elts[i] if pairs else None, state, stmt)
        elif isinstance(target, gast.Starred):
            self.bind(target.value, None, state, stmt)
        elif isinstance(target, gast.Subscript) and isinstance(target.value, gast.Name) and stmt is not None:
            self.write(target.value.id, stmt, state)

    def rebind(self, name, value, state, line):
        root = _view_root(value)
        if root != name:  # y = np.asarray(y) leaves y the same array
            for other, (roots, pending, followed, at) in list(state.items()):
                if name in roots:  # a view of the old y does not see writes into the new one
                    state[other] = (roots - {name}, pending, followed, at)
        if root is None or root == name:
            if root is None:
                state.pop(name, None)
            return
        roots = {root} | (state[root][0] if root in state else frozenset())
        state[name] = (frozenset(roots - {name}), frozenset(), frozenset(), line)

    def write(self, array, stmt, state):
        for view, (roots, pending, followed, line) in list(state.items()):
            if array in roots:
                state[view] = (roots, pending | {stmt}, followed | pending, line)
                self.writes.setdefault(stmt, {})[view] = (array, line)
                if view in self.captured:  # a closure may read it right after this write
                    self.read(n.name(view), state)


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


_VIEW_ATTRIBUTES = frozenset({"T", "mT", "real", "imag"})  # (not ``shape``, ``size``...: no data)


def _view_root(value):
    """The name whose array ``value`` may be, or be a view of (``y`` in ``y[0]``, ``y.T``, ``y[:2].ravel()``,
    ``np.transpose(y[0])``, ``y`` itself), or None."""
    while value is not None and not isinstance(value, gast.Name):
        if isinstance(value, gast.Subscript) or (
            isinstance(value, gast.Attribute) and value.attr in _VIEW_ATTRIBUTES
        ):
            value = value.value
        else:
            value = same_or_view_source(value)
    return None if value is None else value.id


def _base(target):
    return target.value.id if isinstance(target.value, gast.Name) else None


def _nodes_outside_functions(expr):
    stack = [expr]
    while stack:
        node = stack.pop()
        yield node
        if isinstance(node, gast.Lambda):
            continue
        stack.extend(n.children(node))


# calls that may return their argument itself or a view of it (``z = np.asarray(y)``)
_ARRAY_MODULES = frozenset({"np", "numpy", "cp", "cupy", "xp"})
_SAME_OR_VIEW_FUNCTIONS = frozenset(
    {
        "array",  # with copy=False or copy=None only: it copies by default
        "asarray",
        "asanyarray",
        "ascontiguousarray",
        "asfortranarray",
        "asarray_chkfinite",
        "require",
        "atleast_1d",
        "atleast_2d",
        "atleast_3d",
        "ravel",
        "reshape",
        "squeeze",
        "transpose",
        "permute_dims",
        "matrix_transpose",
        "swapaxes",
        "moveaxis",
        "rollaxis",
        "expand_dims",
        "broadcast_to",
        "real",
        "imag",
        "diagonal",
        "flip",
        "fliplr",
        "flipud",
        "rot90",
    }
)
_SAME_OR_VIEW_METHODS = frozenset(
    {"view", "ravel", "reshape", "squeeze", "transpose", "swapaxes", "diagonal", "astype"}
)
# names that mean NumPy's function even when imported bare (``from numpy import asarray``)
_BARE_FUNCTIONS = frozenset(
    {
        "asarray",
        "asanyarray",
        "ascontiguousarray",
        "asfortranarray",
        "asarray_chkfinite",
        "atleast_1d",
        "atleast_2d",
        "atleast_3d",
        "broadcast_to",
        "expand_dims",
    }
)
_COPY_BY_DEFAULT = frozenset({"array", "astype"})  # views only with copy=False (or None for np.array)


def same_or_view_source(call):
    """The expression whose value ``call`` may return itself or a view of (``y`` in ``np.asarray(y)``,
    ``y.ravel()``, ``np.transpose(y)``), or None: a call that makes a new value."""
    if not isinstance(call, gast.Call):
        return None
    func = call.func
    if (
        isinstance(func, gast.Attribute)
        and isinstance(func.value, gast.Name)
        and func.value.id in _ARRAY_MODULES
    ):
        name, source = func.attr, (call.args[0] if call.args else _first_keyword(call))
        known = name in _SAME_OR_VIEW_FUNCTIONS
    elif isinstance(func, gast.Name):
        name, source = func.id, (call.args[0] if call.args else _first_keyword(call))
        known = name in _BARE_FUNCTIONS
    elif isinstance(func, gast.Attribute):
        name, source = func.attr, func.value
        known = name in _SAME_OR_VIEW_METHODS
    else:
        return None
    if not known or source is None or isinstance(source, gast.Starred):
        return None
    copy = next((k.value for k in call.keywords if k.arg == "copy"), None)
    if name in _COPY_BY_DEFAULT:
        if name == "astype" and copy is None and len(call.args) >= 4:
            copy = call.args[3]  # astype(dtype, order, casting, subok, copy): copy is the 5th
        if copy is None or (isinstance(copy, gast.Constant) and copy.value is True):
            return None
    elif isinstance(copy, gast.Constant) and copy.value is True:
        return None  # np.asarray(y, copy=True), np.reshape(y, s, copy=True): a new array
    return source


def _first_keyword(call):
    """The array argument of a NumPy function passed by keyword (``np.asarray(a=y)``), or None."""
    return next(
        (k.value for k in call.keywords if k.arg in ("a", "ary", "arr", "array", "m", "val", "x")), None
    )
