"""Which writes could be seen through another reference in plain Python.

fluxpy performs ``x[i] = v``, ``lst.append(v)`` and ``obj.a = v`` (on objects the function made) as
updates that rebind the name, leaving the old value untouched for the reverse pass. That matches Python
exactly unless the old value is also reachable another way: a copy (``y = x``), a container or object it
was stored in, the sequence a loop iterates over, a view. This analysis walks the function in execution
order (loop bodies twice, branches merged) and reports the first write into a value that may be shared.
A second one, :func:`kept_views`, finds the writes into an array that a name kept as a possible view of it
(``r = y[:2]``) may be read after: only the values can tell whether ``r`` is a view, so those writes get a
runtime check (fence.guard_kept_views).

What a value may be, hold or view (:class:`Sources`): a name, an item or attribute of one, a view made by a
NumPy function or method (``np.asarray(y)``, ``y.reshape(-1)``), a branch of ``a if c else b`` or ``a or b``,
the items of a display or comprehension, and what a call may return: any of its arguments, its receiver or
the variables a local function captures, unless the callee is known to make a new value (NumPy's functions
other than the view makers, arithmetic, ``len``, ``list``, ``x.copy()``, ``x.sum()``, ...). For arrays,
whether two names really share data is left to the runtime check (``b = ident(a)``, ``h = layer(x)`` cost
nothing unless one is written and the other read after); a method's result (``d.get(k)``, ``h.get()``) is
refused as a write target at transform time like ``d[k]`` and ``h.arr``, and so is a list, dict or object
the function built itself once it went into a call whose result is kept (the check cannot see into them).
"""

import gast

from . import nodes as n


class SharedWrite(Exception):
    """``(node, name, reason)`` of the first write into a value that may be shared."""


class ReceiverPart(str):
    """The reason of a name bound to a method's result (``h = obj.m(...)``, ``h = self.fc(x)``): it may be a
    part of the receiver. An item write into it is checked at run time (rules/mutation.check_receiver_part:
    refused when it is one of the receiver's objects or shares memory with one of its arrays), where a
    statement can carry the check; elsewhere it is refused when transformed."""

    def __new__(cls, text, receiver, line):
        self = super().__new__(cls, text)
        self.receiver, self.line = receiver, line
        return self


def first_shared_write(fdef, local_names, classes, lists=frozenset(), receiver_checks=None):
    """``(node, name, reason)`` or None. ``lists``: local lists whose append/extend/insert/pop calls are
    rebindings (other receivers keep Python's in-place methods). ``receiver_checks``: a list to receive
    ``(statement, name, receiver, line)`` for the item writes into a method's result that are checked at run
    time instead (see ReceiverPart); without it, those are refused too."""
    walker = _Walker(local_names, classes, lists, Sources(fdef, _body(fdef), classes))
    walker.receiver_checks = receiver_checks
    state = walker.parameters(fdef)
    try:
        walker.block(fdef.body, state)
    except SharedWrite as found:
        return found.args
    return None


class _Walker:
    def __init__(self, local_names, classes, lists, sources):
        self.receiver_checks = None  # see first_shared_write
        self.local = local_names
        self.classes = classes
        self.lists = lists
        self.sources = sources
        self.shared_defaults = {}  # parameter -> reason: ``x += v`` on it changes its default (an array)

    def parameters(self, fdef):
        """The state at entry: a parameter whose default is an object (``buf=np.zeros(2)``, ``d={}``, a
        variable) is that one object in every call that omits it, so a write into it would show in the
        next such call; fluxpy's write goes to a copy."""
        args = fdef.args
        positional = args.posonlyargs + args.args
        defaults = [None] * (len(positional) - len(args.defaults)) + list(args.defaults)
        state = {}
        for param, default in zip(
            positional + args.kwonlyargs, defaults + list(args.kw_defaults), strict=True
        ):
            state[param.id] = None
            if default is None or _immutable(default):
                continue
            line = getattr(default, "lineno", None) or fdef.lineno
            state[param.id] = (
                f"is a parameter whose default value (line {line}) is one object, shared by every call "
                "that omits the argument"
            )
            if _builds_object(default):
                self.shared_defaults[param.id] = state[param.id]
        for extra in (args.vararg, args.kwarg):
            if extra is not None:
                state[extra.id] = None
        return state

    def block(self, stmts, state):
        for s in stmts:
            self.stmt(s, state)

    def stmt(self, s, state):
        if isinstance(s, gast.Assign):
            self.stores(s.value, state)
            for target in s.targets:
                self.bind(target, s.value, state, s)
            if len(s.targets) > 1:
                self.chained(s, state)
        elif isinstance(s, (gast.AugAssign, gast.AnnAssign)):
            if s.value is not None:
                self.stores(s.value, state)
            if isinstance(s.target, gast.Name):
                name = s.target.id
                if isinstance(s, gast.AugAssign) and name in self.shared_defaults:
                    if state.get(name) == self.shared_defaults[name]:  # not rebound since the call began
                        raise SharedWrite(s, name, state[name])
                state[name] = None  # x += y rebinds x to a new value
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

    def chained(self, s, state):
        """``a = b = v`` binds every target to the one object ``v``: a write through one name shows
        through the others (and through a container or object also assigned, ``a = d[k] = v``)."""
        names = [t.id for t in s.targets if isinstance(t, gast.Name)]
        held = any(not isinstance(t, gast.Name) for t in s.targets)
        for name in names:
            others = [other for other in names if other != name]
            if others:
                state[name] = f"is the same object as {others[0]!r} (chained assignment, line {s.lineno})"
            elif held:
                state[name] = f"is stored in another container or object (line {s.lineno})"

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
        if isinstance(value, gast.Name) and value.id == name:  # y = y: as shared as y was
            return state.get(name)
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
            state[value.id] = f"is the same object as {name!r} (bound to it at line {stmt.lineno})"
            return f"is the same object as {value.id!r} (bound to it at line {stmt.lineno})"
        if isinstance(value, (gast.Subscript, gast.Attribute)):
            return f"may be a view or element of another value (line {stmt.lineno})"
        if isinstance(value, (gast.IfExp, gast.BoolOp)):  # b = a if c else d: b may be a (as in an if)
            branches = [value.body, value.orelse] if isinstance(value, gast.IfExp) else value.values
            reasons = [self.reason_of(branch, name, state, stmt) for branch in branches]
            return next((r for r in reasons if r is not None), None)
        if isinstance(value, gast.Call):
            return self.call_reason(value, name, state, stmt)
        return None

    def call_reason(self, call, name, state, stmt):
        """``name = f(...)``: a method's result may be a part of its receiver (``d.get(k)``, ``h.get()``:
        refused as a write target, as ``d[k]`` and ``h.arr`` are). A list or dict that the function built
        (``d = {}``) and that went into the call may come back as the result: writes into either are
        refused. Arrays that may come back are checked at run time instead (kept_views)."""
        func = call.func
        if (
            isinstance(func, gast.Attribute)
            and func.attr in _DICT_VIEW_METHODS
            and isinstance(func.value, gast.Name)
            and func.value.id in self.local
            and not call.args
            and not call.keywords
        ):  # d.values(): a live view, which Python's later writes into d show through
            owner, line = func.value.id, stmt.lineno
            state[owner] = f"is viewed by {name!r} ({owner}.{func.attr}(), line {line}): a live view"
            return None
        if self.sources.fresh(call):
            return None
        line = stmt.lineno
        receiver = None
        if (
            isinstance(func, gast.Attribute)
            and isinstance(func.value, gast.Name)
            and func.value.id in self.local
        ):
            receiver = func.value.id
        arguments = call.args + [k.value for k in call.keywords]
        held = set().union(*(self.sources.of(arg) for arg in arguments))  # the result may be part of them
        whole = {x for x in _held_names(arguments) if x in self.local}  # or one of them
        if isinstance(func, gast.Name):
            whole |= self.sources.captured.get(func.id, set())
            held |= self.sources.captured.get(func.id, set())
        # (an object that the call may return, q = p.me(): its attribute writes rebind q where q is p, see
        # anf.rebind_holders; lists and dicts are refused)
        built = self.sources.containers - self.sources.instances - {name}
        for other in sorted(whole & built):
            state[other] = f"may be returned by the call at line {line} (as {name!r})"
        if receiver is not None:
            # self.fc(x) too: a layer held in a field cannot be told from a method before run time
            text = f"may be a part of {receiver!r}, returned by {receiver}.{func.attr}(...) (line {line})"
            return ReceiverPart(text, receiver, line)
        if held & built:
            return f"may be {min(held & built)!r}, or a part of it, returned by the call at line {line}"
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
            elif isinstance(node, (gast.ListComp, gast.SetComp, gast.GeneratorExp, gast.DictComp)):
                own = {x.id for g in node.generators for x in n.walk(g.target) if isinstance(x, gast.Name)}
                item = node.value if isinstance(node, gast.DictComp) else node.elt
                elements = [] if isinstance(item, gast.Name) and item.id in own else [item]
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
        if reason is None:
            return
        if isinstance(reason, ReceiverPart) and self.receiver_checks is not None and _item_write(node, name):
            self.receiver_checks.append((node, name, reason.receiver, reason.line))
            return
        raise SharedWrite(node, name, reason)


def _item_write(node, name):
    """``name[i] = v`` or ``name[i] op= v``: a statement a check can go before."""
    if isinstance(node, gast.Assign):
        targets = node.targets
    elif isinstance(node, gast.AugAssign):
        targets = [node.target]
    else:
        return False
    return any(isinstance(t, gast.Subscript) and _is_name(t.value, name) for t in targets)


def _is_name(node, name):
    return isinstance(node, gast.Name) and node.id == name


# -- views kept in a name --------------------------------------------------------------------------------
# ``r = y[:2]`` (or ``y[0]``, ``y.T``, ``y[0].reshape(-1)``) may be a view of ``y``: then ``y[0] = v``
# shows through ``r`` in Python, while fluxpy's write rebinds ``y`` to a new array and ``r`` keeps the old
# values. Whether ``r`` is a view (a row) or a value (an element of a 1-D array, a fancy-indexed copy) is
# known at run time only, so each write into ``y`` that such an ``r`` may be read after gets a runtime check
# (rules/mutation.check_kept_view). A write is checked against its own cells unless another write into ``y``
# may come between it and the read: that write sees ``y`` rebound already, so this one checks every cell.


def kept_views(fdef, body, classes=frozenset()):
    """``{write statement: [(view, array, every_cell, line)]}``: the writes ``array[i] = v`` (``array +=
    v`` too) that a name bound at ``line`` to a possible view of ``array`` may be read after. ``every_cell``:
    another write into ``array`` may come before that read (check all of its cells, not only those
    written). ``body``: the nodes of ``fdef`` outside nested functions (fence.body_nodes); ``classes``: the
    names of classes (their calls make new objects).

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
        if isinstance(s, gast.Assign):
            first = s.targets[0]
            self.bind(first, s.value, state, s)
            for target in s.targets[1:]:  # a = b = v: b is bound to a's object
                self.bind(target, first if isinstance(first, gast.Name) else s.value, state, s)
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

    def bind(self, target, value, state, stmt=None, part=False):
        """``part``: the target gets a part of ``value`` (``p, q = a``: a row of ``a``, not ``a``)."""
        if isinstance(target, gast.Name):
            self.rebind(target.id, value, state, getattr(stmt, "lineno", 0), part)
        elif isinstance(target, (gast.Tuple, gast.List)):
            pairs = isinstance(value, (gast.Tuple, gast.List)) and len(value.elts) == len(target.elts)
            for i, elt in enumerate(target.elts):  # p, q = a: rows of a; p, q = np.split(a, 2): views
                self.bind(elt, value.elts[i] if pairs else value, state, stmt, part or not pairs)
        elif isinstance(target, gast.Starred):
            self.bind(target.value, value, state, stmt, True)
        elif isinstance(target, gast.Subscript) and isinstance(target.value, gast.Name) and stmt is not None:
            self.write(target.value.id, stmt, state)

    def rebind(self, name, value, state, line, part=False):
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
            for other, (others, p, f, at) in list(state.items()):
                if other != name and (other in roots or others & roots):
                    state[other] = (others | {name}, p, f, at)
            for root in roots - state.keys():
                state[root] = (frozenset({name}), frozenset(), frozenset(), line)

    def roots(self, value, part):
        """``(names, same)``: the names whose arrays ``value`` may be, hold or view, and whether it may be
        one of those objects itself (a copy, a call's result; not ``y[0]`` or ``y.T``)."""
        if value is None:
            return set(), False
        root = _view_root(value)
        if root is not None:
            return {root}, not part and not isinstance(value, (gast.Subscript, gast.Attribute))
        return self.sources.of(value), not part and not isinstance(value, (gast.Subscript, gast.Attribute))

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


# -- what a value may be, hold or view ---------------------------------------------------------------------


class Sources:
    """The local names whose objects a value may be, hold or view (:meth:`of`), with what that needs: the
    variables each local function captures, and the lists, dicts and objects the function builds itself."""

    def __init__(self, fdef, body, classes):
        args = fdef.args
        params = {a.id for a in args.posonlyargs + args.args + args.kwonlyargs}
        params |= {a.id for a in (args.vararg, args.kwarg) if a is not None}
        stored = {x.id for x in body if isinstance(x, gast.Name) and isinstance(x.ctx, gast.Store)}
        self.local = params | stored
        self.classes = classes
        self.captured = {}  # local function -> the local names it reads (it may return their objects)
        for node in body:
            function = None
            if isinstance(node, gast.FunctionDef):
                function, scope = node.name, node
            elif (
                isinstance(node, gast.Assign)
                and isinstance(node.value, gast.Lambda)
                and len(node.targets) == 1
                and isinstance(node.targets[0], gast.Name)
            ):
                function, scope = node.targets[0].id, node.value
            if function is not None:
                own = {a.id for a in scope.args.posonlyargs + scope.args.args + scope.args.kwonlyargs}
                reads = {x.id for x in n.walk(scope) if isinstance(x, gast.Name) and x.id in self.local}
                self.captured[function] = (reads - own) | self.captured.get(function, set())
        self.containers, self.instances = _built_containers(body, classes, params)

    def of(self, value):
        """The local names whose objects ``value`` may be, hold or view (a superset)."""
        if isinstance(value, gast.Name):
            return {value.id} if value.id in self.local else set()
        if isinstance(value, gast.Starred):
            return self.of(value.value)
        if isinstance(value, gast.Attribute):
            return set() if value.attr in _DATA_FREE_ATTRIBUTES else self.of(value.value)
        if isinstance(value, gast.Subscript):
            return self.of(value.value)
        if isinstance(value, gast.IfExp):
            return self.of(value.body) | self.of(value.orelse)
        if isinstance(value, gast.BoolOp):
            return set().union(*(self.of(v) for v in value.values))
        if isinstance(value, (gast.Tuple, gast.List, gast.Set)):
            return set().union(*(self.of(v) for v in value.elts))
        if isinstance(value, gast.Dict):
            return set().union(*(self.of(v) for v in value.values))
        if isinstance(value, gast.GeneratorExp):  # lazy: it reads every name it mentions when consumed
            own = {x.id for g in value.generators for x in n.walk(g.target) if isinstance(x, gast.Name)}
            read = {x.id for x in n.walk(value) if isinstance(x, gast.Name) and isinstance(x.ctx, gast.Load)}
            return (read - own) & self.local
        if isinstance(value, (gast.ListComp, gast.SetComp, gast.DictComp)):
            item = value.value if isinstance(value, gast.DictComp) else value.elt
            own = {x.id for g in value.generators for x in n.walk(g.target) if isinstance(x, gast.Name)}
            found = self.of(item)
            if found & own:  # [r for r in a]: parts of what is iterated
                for g in value.generators:
                    found |= self.of(g.iter)
            return found - own
        if isinstance(value, gast.Call):
            if self.fresh(value):
                return set()
            source = same_or_view_source(value)
            if source is not None:
                return self.of(source)
            found = set()
            for arg in value.args + [k.value for k in value.keywords]:
                found |= self.of(arg)
            if isinstance(value.func, gast.Attribute):
                found |= self.of(value.func.value)  # a method's result may be its object or part of it
            elif isinstance(value.func, gast.Name):
                found |= self.captured.get(value.func.id, set())
            return found
        return set()  # arithmetic, comparisons, constants, lambdas, f-strings: new values

    def fresh(self, call):
        """Whether ``call`` surely makes a new value that holds none of its arguments' objects."""
        func = call.func
        if isinstance(func, gast.Name):
            return func.id in _FRESH_BUILTINS or func.id in self.classes
        if not isinstance(func, gast.Attribute):
            return False
        root = func.value
        while isinstance(root, gast.Attribute):
            root = root.value
        if isinstance(root, gast.Name) and root.id in _ARRAY_MODULES and root.id not in self.local:
            return same_or_view_source(call) is None and func.attr not in _VIEW_MAKING_FUNCTIONS
        return func.attr in FRESH_METHODS and same_or_view_source(call) is None


def _held_names(values):
    """The names whose objects themselves ``values`` pass on: ``a`` in ``f(a)``, ``f([a, 1])``,
    ``f(*a)``, ``f(a if c else b)``."""
    out = set()
    for value in values:
        if isinstance(value, gast.Name):
            out.add(value.id)
        elif isinstance(value, gast.Starred):
            out |= _held_names([value.value])
        elif isinstance(value, (gast.List, gast.Tuple, gast.Set)):
            out |= _held_names(value.elts)
        elif isinstance(value, gast.Dict):
            out |= _held_names(value.values)
        elif isinstance(value, gast.IfExp):
            out |= _held_names([value.body, value.orelse])
        elif isinstance(value, gast.BoolOp):
            out |= _held_names(value.values)
    return out


def _built_containers(body, classes, params):
    """``(containers, instances)``: the local names bound only to lists, dicts and sets the function builds
    (displays, comprehensions, ``list()``, ``dict()``, ``set()``) or to new objects (``C(...)``), and those
    of them bound to new objects."""
    kinds, assigned = {}, set()
    for node in body:
        if isinstance(node, (gast.Assign, gast.AnnAssign)) and node.value is not None:
            kind = _built_kind(node.value, classes)
            for t in node.targets if isinstance(node, gast.Assign) else [node.target]:
                if isinstance(t, gast.Name):
                    assigned.add(id(t))
                    kinds[t.id] = kind if kinds.get(t.id, kind) == kind else None
        elif isinstance(node, gast.AugAssign) and isinstance(node.target, gast.Name):
            assigned.add(id(node.target))  # lst += [v] keeps a list a list
    for node in body:  # unpacked, loop, with and except targets: anything
        if isinstance(node, gast.Name) and isinstance(node.ctx, gast.Store) and id(node) not in assigned:
            kinds[node.id] = None
    containers = {name for name, kind in kinds.items() if kind is not None and name not in params}
    return containers, {name for name in containers if kinds[name] == "object"}


def _built_kind(value, classes):
    if isinstance(value, (gast.List, gast.Dict, gast.Set, gast.ListComp, gast.DictComp, gast.SetComp)):
        return "container"
    if isinstance(value, gast.Call) and isinstance(value.func, gast.Name):
        if value.func.id in ("list", "dict", "set", "sorted"):
            return "container"
        if value.func.id in classes:
            return "object"
    return None


def _body(fdef):
    """The nodes of ``fdef``'s body outside nested functions (as fence.body_nodes)."""
    out = list(fdef.body)
    for node in out:
        if not isinstance(node, (gast.FunctionDef, gast.Lambda)):
            out.extend(n.children(node))
    return out


def _immutable(default):
    """A default value that is no object a write could change: a constant, or a tuple of them."""
    if isinstance(default, gast.Constant):
        return True
    if isinstance(default, gast.UnaryOp):
        return _immutable(default.operand)
    if isinstance(default, gast.Tuple):
        return all(_immutable(e) for e in default.elts)
    return False


def _builds_object(default):
    """A default that makes a list, dict, set or array (``x += v`` on it changes it in place)."""
    if isinstance(default, (gast.List, gast.Dict, gast.Set, gast.ListComp, gast.DictComp, gast.SetComp)):
        return True
    return isinstance(default, gast.Call) and not (
        isinstance(default.func, gast.Name) and default.func.id in _FRESH_BUILTINS - {"list", "dict", "set"}
    )


# attributes that hold no data of their object
_DATA_FREE_ATTRIBUTES = frozenset(
    {"shape", "size", "ndim", "dtype", "itemsize", "nbytes", "strides", "__class__"}
)
# NumPy functions (besides _SAME_OR_VIEW_FUNCTIONS) whose results may be, hold or view their arguments
_VIEW_MAKING_FUNCTIONS = frozenset(
    {
        "split",
        "array_split",
        "hsplit",
        "vsplit",
        "dsplit",
        "unstack",
        "broadcast_arrays",
        "einsum",
        "diag",
        "trim_zeros",
        "real_if_close",
        "nan_to_num",
        "asmatrix",
        "matrix",
        "frombuffer",
        "as_strided",
        "sliding_window_view",
        "ndarray",
        "nditer",
        "iter",
    }
)
# builtins whose results hold no object of their arguments' that a write could reach (numbers, strings,
# new lists and dicts whose items a write into the new container does not change)
_FRESH_BUILTINS = frozenset(
    {
        "len",
        "range",
        "int",
        "float",
        "complex",
        "bool",
        "str",
        "bytes",
        "repr",
        "format",
        "abs",
        "round",
        "sum",
        "pow",
        "divmod",
        "isinstance",
        "issubclass",
        "type",
        "hash",
        "id",
        "any",
        "all",
        "print",
        "callable",
        "hasattr",
        "ord",
        "chr",
        "list",
        "tuple",
        "dict",
        "set",
        "frozenset",
        "sorted",
        "enumerate",
        "zip",
        "map",
        "filter",
        "reversed",
        "slice",
    }
)
# methods whose results are new values (arrays' reductions and copies, strings', random generators')
_DICT_VIEW_METHODS = frozenset({"keys", "values", "items"})
FRESH_METHODS = frozenset(
    {
        "copy",
        "astype",
        "flatten",
        "tolist",
        "item",
        "sum",
        "mean",
        "prod",
        "std",
        "var",
        "min",
        "max",
        "argmin",
        "argmax",
        "argsort",
        "cumsum",
        "cumprod",
        "dot",
        "round",
        "clip",
        "all",
        "any",
        "conj",
        "conjugate",
        "nonzero",
        "trace",
        "ptp",
        "repeat",
        "take",
        "compress",
        "searchsorted",
        "tobytes",
        "count",
        "index",
        "format",
        "join",
        "split",
        "strip",
        "lower",
        "upper",
        "replace",
        "startswith",
        "endswith",
        "keys",
        "normal",
        "uniform",
        "standard_normal",
        "random",
        "integers",
        "choice",
        "permutation",
        "rand",
        "randn",
        "randint",
        "binomial",
        "poisson",
        "exponential",
        "beta",
        "gamma",
        "laplace",
        "multivariate_normal",
    }
)
