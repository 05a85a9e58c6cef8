"""Why a name bound to a value may share an object with another reference: the reasons of aliases.py.

The shared-write analysis (aliases.py) keeps, per local name, the reason a write into it could be seen
through another reference in plain Python, or None. A binding ``name = value`` decides the name's reason and
may give one to the names it reads, both ways: after ``b = a``, a write into either shows through the other::

    b = a               # b: "is the same object as 'a'"; a: "is the same object as 'b'"
    v = np.ravel(y)     # v: "may be a view of another array ('y')"; y: "shares its data with 'v'"
    r = d.values()      # d: "is viewed by 'r' (d.values(), ...): a live view"
    h = obj.m(x)        # h: ReceiverPart, "may be a part of 'obj'" (checked at run time where it can be)
    e = f(lst)          # lst (a list the function built): "may be returned by the call"

A call's result may be its receiver or a part of it (refused as a write target, as ``d[k]`` and ``h.arr``
are), and a list or dict that the function built and passed to the call may come back as the result. Arrays
that may come back are left to the run-time checks of kept_views.py, which cost nothing unless one name is
written and the other read after.
"""

import gast

from .array_views import same_or_view_source

_DICT_VIEW_METHODS = frozenset({"keys", "values", "items"})


class ReceiverPart(str):
    """The reason of a name bound to a method's result (``h = obj.m(...)``, ``h = self.fc(x)``): it may be a
    part of the receiver. An item write into it is checked at run time (rules/mutation.check_receiver_part:
    refused when it is one of the receiver's objects or shares memory with one of its arrays), where a
    statement can carry the check; elsewhere it is refused when transformed."""

    def __new__(cls, text, receiver, line):
        self = super().__new__(cls, text)
        self.receiver, self.line = receiver, line
        return self


class Reasons:
    """The reasons of a binding at ``line``, for the function's ``local`` names and its ``sources``
    (alias_sources.Sources). ``state``: name -> reason or None, updated for the names the value reads."""

    def __init__(self, local, sources):
        self.local = local
        self.sources = sources

    def of(self, value, name, state, line):
        """The reason of ``name = value`` (None: ``name`` holds a new value)."""
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
                state[source.id] = f"shares its data with {name!r} (line {line})"
                return f"may be a view of another array ({source.id!r}) or that array itself (line {line})"
            value = source
        if isinstance(value, gast.Name):
            state[value.id] = f"is the same object as {name!r} (bound to it at line {line})"
            return f"is the same object as {value.id!r} (bound to it at line {line})"
        if isinstance(value, (gast.Subscript, gast.Attribute)):
            return f"may be a view or element of another value (line {line})"
        if isinstance(value, (gast.IfExp, gast.BoolOp)):  # b = a if c else d: b may be a (as in an if)
            branches = [value.body, value.orelse] if isinstance(value, gast.IfExp) else value.values
            reasons = [self.of(branch, name, state, line) for branch in branches]
            return next((r for r in reasons if r is not None), None)
        if isinstance(value, gast.Call):
            return self.of_call(value, name, state, line)
        return None

    def of_call(self, call, name, state, line):
        """``name = f(...)``: a method's result may be a part of its receiver (``d.get(k)``, ``h.get()``:
        refused as a write target, as ``d[k]`` and ``h.arr`` are). A list or dict that the function built
        (``d = {}``) and that went into the call may come back as the result: writes into either are
        refused. Arrays that may come back are checked at run time instead (kept_views)."""
        func = call.func
        receiver = func.value.id if _local_method(func, self.local) else None
        if receiver is not None and func.attr in _DICT_VIEW_METHODS and not call.args and not call.keywords:
            # d.values(): a live view, which Python's later writes into d show through
            state[receiver] = f"is viewed by {name!r} ({receiver}.{func.attr}(), line {line}): a live view"
            return None
        if self.sources.fresh(call):
            return None
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


def _local_method(func, local):
    """Whether ``func`` is a method of a local name (``d.get``, ``self.fc``)."""
    return isinstance(func, gast.Attribute) and isinstance(func.value, gast.Name) and func.value.id in local


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
