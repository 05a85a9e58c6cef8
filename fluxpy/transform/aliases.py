"""Which writes could be seen through another reference in plain Python: the alias analyses' entry point.

fluxpy performs ``x[i] = v``, ``lst.append(v)`` and ``obj.a = v`` (on objects the function made) as
updates that rebind the name, leaving the old value untouched for the reverse pass. That matches Python
exactly unless the old value is also reachable another way: a copy (``y = x``), a container or object it
was stored in, the sequence a loop iterates over, a view, a parameter's default value (one object shared by
the calls that omit it). :func:`first_shared_write` walks the function in execution order (loop bodies
twice, branches merged) and reports the first write into a value that may be shared, which the fence
refuses::

    def f(x):
        y = x           # y and x: the same object
        y[0] = 1.0      # reported: (this statement, 'y', "is the same object as 'x' (...)")

The modules it is made of, along the data flow:

- array_views.py: which calls may return their argument itself or a view of it (``np.asarray(y)``).
- alias_sources.py: the local names whose objects a value may be, hold or view (``Sources``), and the
  calls that surely make new values (``FRESH_METHODS``, also used by normalize/anf.py).
- alias_reasons.py: the reason a binding ``name = value`` gives ``name`` and the names it reads.
- this module: the walk over the statements, and the writes it finds.
- kept_views.py: the writes into an array that a name kept as a possible view of it (``r = y[:2]``) may
  be read after. Only the values can tell whether ``r`` is a view, so those writes get a runtime check
  (kept_view_guards.py); for arrays, whether two names really share data is left to that check (``b =
  ident(a)``, ``h = layer(x)`` cost nothing unless one is written and the other read after).

A method's result (``d.get(k)``, ``h.get()``) is refused as a write target at transform time like ``d[k]``
and ``h.arr`` (or checked at run time, see alias_reasons.ReceiverPart), and so is a list, dict or object the
function built itself once it went into a call whose result is kept (the check cannot see into them).
"""

import gast

from . import nodes as n
from .alias_reasons import Reasons, ReceiverPart
from .alias_sources import FRESH_BUILTINS, FRESH_METHODS, Sources, comprehension_targets, in_place_update
from .kept_views import kept_views

__all__ = ["FRESH_METHODS", "SharedWrite", "first_shared_write", "kept_views"]


class SharedWrite(Exception):
    """``(node, name, reason)`` of the first write into a value that may be shared."""


def first_shared_write(fdef, local_names, classes, lists=frozenset(), receiver_checks=None):
    """``(node, name, reason)`` or None. ``lists``: local lists whose append/extend/insert/pop calls are
    rebindings (other receivers keep Python's in-place methods). ``receiver_checks``: a list to receive
    ``(statement, name, receiver, line)`` for the item writes into a method's result that are checked at run
    time instead (see ReceiverPart); without it, those are refused too."""
    walker = _Walker(local_names, classes, lists, Sources(fdef, n.body_nodes(fdef), classes), receiver_checks)
    state = walker.parameters(fdef)
    try:
        walker.block(fdef.body, state)
    except SharedWrite as found:
        return found.args
    return None


class _Walker:
    """The walk in execution order (loop bodies twice, branches merged). State: local name -> the reason a
    write into it may be seen through another reference (alias_reasons), or None."""

    def __init__(self, local_names, classes, lists, sources, receiver_checks):
        self.receiver_checks = receiver_checks  # see first_shared_write
        self.local = local_names
        self.classes = classes
        self.lists = lists
        self.reasons = Reasons(local_names, sources)
        # the lists, dicts and sets the function builds (displays, list(), ...): x op= v changes them in place
        self.built = (sources.containers - sources.instances) | set(lists)
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
        updated = in_place_update(s)  # x += v, x = operator.iadd(x, v)
        if updated is not None:
            if s.value is not None:
                self.stores(s.value, state)
            self.update_in_place(updated[0], s, state)
        elif isinstance(s, gast.Assign):
            self.stores(s.value, state)
            for target in s.targets:
                self.bind(target, s.value, state, s)
            if len(s.targets) > 1:
                self.chained(s, state)
        elif isinstance(s, (gast.AugAssign, gast.AnnAssign)):
            if s.value is not None:
                self.stores(s.value, state)
            if isinstance(s.target, gast.Name):
                state[s.target.id] = None  # (an annotated assignment)
            else:
                self.write(_base(s.target), s, state)
        elif isinstance(s, gast.Expr):
            self.stores(s.value, state)
        elif isinstance(s, gast.If):
            self.branches([s.body, s.orelse], state)
        elif isinstance(s, (gast.For, gast.While)):
            if isinstance(s, gast.For):
                for iterated in _loop_iterables(s.iter):
                    self.stores(iterated, state)
            for _ in range(2):  # a second pass sees what one iteration leaves for the next
                if isinstance(s, gast.For):
                    self.bind_loop_target(s, state)
                self.block(s.body, state)
            self.block(s.orelse, state)
        elif isinstance(s, gast.With):
            for item in s.items:  # with m(a) as b: b may be m's object, or a part of it (nullcontext(a))
                self.stores(item.context_expr, state)
                if item.optional_vars is not None:
                    self.bind(item.optional_vars, item.context_expr, state, s)
            self.block(s.body, state)
        elif isinstance(s, gast.Try):
            self.block(s.body, state)
            self.branches([s.orelse] + [h.body for h in s.handlers], state)
            self.block(s.finalbody, state)
        # a Return's value stores nothing that a later write could show: no statement runs after it (a
        # write-back variant returns the parameters it writes into, transform/writeback.py)

    def update_in_place(self, name, s, state):
        """``x op= v`` (or ``x = operator.iadd(x, v)``) rebinds ``x`` to a new value in fluxpy. Python changes
        a list, dict or set in place: a write into ``x`` where ``x`` is one the function built (the other
        references of an array, or of a value of unknown type, are checked at run time: kept_views), and
        into the default value of a parameter not rebound since the call began."""
        if name in self.shared_defaults and state.get(name) == self.shared_defaults[name]:
            raise SharedWrite(s, name, state[name])
        if name in self.built:
            self.write(name, s, state)
        state[name] = None

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
            state[target.id] = self.reasons.of(value, target.id, state, stmt.lineno)
        elif isinstance(target, (gast.Tuple, gast.List)):
            pairs = None
            if (
                isinstance(value, (gast.Tuple, gast.List))
                and len(value.elts) == len(target.elts)
                and not any(isinstance(e, gast.Starred) for e in target.elts + value.elts)
            ):
                pairs = list(zip(target.elts, value.elts, strict=True))
            for i, elt in enumerate(target.elts):
                if pairs is not None:
                    self.bind(elt, pairs[i][1], state, stmt)
                elif isinstance(elt, gast.Starred):  # a, *rest = x: rest is bound to a new list
                    self.bind(elt.value, None, state, stmt)
                elif isinstance(elt, gast.Name):
                    state[elt.id] = f"is unpacked from a container (line {stmt.lineno})"
                else:
                    self.bind(elt, None, state, stmt)
        else:  # x[i] = v, obj.a = v
            self.write(_base(target), stmt, state)
            if isinstance(value, gast.Name):
                state[value.id] = f"is stored in another container or object (line {stmt.lineno})"

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
                item = node.value if isinstance(node, gast.DictComp) else node.elt
                own_target = isinstance(item, gast.Name) and item.id in comprehension_targets(node)
                elements = [] if own_target else [item]
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
    return any(
        isinstance(t, gast.Subscript) and isinstance(t.value, gast.Name) and t.value.id == name
        for t in targets
    )


def _loop_iterables(expr):
    """What a ``for`` loop over ``expr`` iterates: ``expr``, or the arguments of ``enumerate(y)``, ``zip(y,
    z)``, ``reversed(y)``, ``iter(y)`` (also inside enumerate and zip) and the copies ``list(y)``,
    ``tuple(y)``, ``sorted(y)``, whose iterator or list only the loop holds (as it iterates ``y`` itself in
    ``for row in y``: see normalize/anf_live_items.py, which reads the items of a written array, list or
    dict as they are when each trip begins)."""
    if _loop_call(expr, ("enumerate", "zip")):
        args = [a.args[0] if _loop_call(a, _LOOP_COPIES) else a for a in expr.args]
        return [a for a in args if not isinstance(a, gast.Name)] + [k.value for k in expr.keywords]
    if _loop_call(expr, _LOOP_COPIES):
        return [] if isinstance(expr.args[0], gast.Name) else [expr.args[0]]
    return [expr]


_LOOP_COPIES = ("reversed", "iter", "list", "tuple", "sorted")


def _loop_call(expr, names):
    """Whether ``expr`` calls one of ``names`` with no starred argument or keyword (but a start or strict)."""
    return (
        isinstance(expr, gast.Call)
        and isinstance(expr.func, gast.Name)
        and expr.func.id in names
        and not any(isinstance(a, gast.Starred) for a in expr.args)
        and (expr.func.id in ("enumerate", "zip") or (len(expr.args) == 1 and not expr.keywords))
    )


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
        isinstance(default.func, gast.Name) and default.func.id in FRESH_BUILTINS - {"list", "dict", "set"}
    )
