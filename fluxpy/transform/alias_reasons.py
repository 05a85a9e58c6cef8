"""Why a name bound to a value may share an object with another reference: the reasons of aliases.py.

The shared-write analysis (aliases.py) keeps, per local name, the reason a write into it could be seen
through another reference in plain Python, or None. A binding ``name = value`` decides the name's reason and
may give one to the names it reads, both ways: after ``b = a``, a write into either shows through the other::

    b = a               # b: "is the same object as 'a'"; a: "is the same object as 'b'"
    v = np.ravel(y)     # v: ReceiverPart, "may be a view of another array ('y')" (checked at run time)
    s = np.asarray(a.shape)  # s: None (of a tuple: a new array)
    r = d.values()      # d: "is viewed by 'r' (d.values(), ...): a live view"
    h = obj.m(x)        # h: ReceiverPart, "may be a part of 'obj'" (checked at run time where it can be)
    e = f(lst)          # lst (a list the function built): "may be returned by the call"

A view maker's result (``np.asarray(y)``, ``y.reshape(-1)``, ``np.ravel(d["k"])``) may be its argument or a
view of it, or a new array (``np.asarray`` of a list): a write into it is checked at run time, and a write
into ``y`` while it is read afterwards too (kept_views.py); ``y.conj()``, whose rule copies, is refused as a
write target. A call's result may be its receiver or a part of it (refused as a write target, as ``d[k]``
and ``h.arr`` are), and a list or dict that the function built and passed to the call may come back as the
result. Arrays that may come back are left to the run-time checks of kept_views.py, which cost nothing unless
one name is written and the other read after.
"""

import gast

from .alias_sources import _DATA_FREE_ATTRIBUTES
from .array_views import same_or_view_source

_DICT_VIEW_METHODS = frozenset({"keys", "values", "items"})
_NEW = object()  # _view_root's answer for a value that holds no data of its root (``a.shape``)
# view makers whose rule returns a new array where NumPy returns the argument itself (``y.conj()`` of a real
# ``y``): a check at run time would see no shared memory, so a write into the result stays refused here
_COPIED_BY_RULE = frozenset({"conj", "conjugate"})


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
            if isinstance(source, gast.Name) and source.id == name:  # y = np.asarray(y): as shared as y was
                return state.get(name)
            root = _view_root(source)
            if root is _NEW:  # np.asarray(a.shape): of a tuple, a new array
                return None
            if _copied_by_rule(value):
                if isinstance(source, gast.Name):
                    state[source.id] = f"shares its data with {name!r} (line {line})"
                    return (
                        f"may be a view of another array ({source.id!r}) or that array itself (line {line})"
                    )
            elif root is not None and root != name and root in self.local:
                return self.of_view_maker(value, source, root, line)
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

    def of_view_maker(self, value, source, root, line):
        """The reason of ``name = value``, a call that may return its argument ``source`` itself or a view of
        it (``np.asarray(y)``, ``np.ravel(d["k"])``, ``y.reshape(-1)``), read from the local name ``root``.
        Whether it does is known at run time only (``np.asarray`` of a list, a tuple or a number makes a new
        array), so it is a ReceiverPart: an item write into ``name`` is checked at run time, and refused when
        ``name`` is ``root``'s object, shares memory with it or is held by it
        (rules/mutation.check_receiver_part). The other way, a write into ``root`` while ``name`` is read
        afterwards, is checked at run time by kept_views."""
        text = f"may be {_text(source)!r} itself or a view of it (line {line})"
        if isinstance(source, gast.Name):
            text = f"may be a view of another array ({root!r}) or that array itself (line {line})"
        return ReceiverPart(text, root, (line, _text(value)))

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
        # anf_statements.rebind_holders; lists and dicts are refused)
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


def _view_root(source):
    """The name ``source`` reads its value from (``d`` of ``d["k"].T``, ``y`` of ``np.ravel(y[0])``), _NEW for
    a data-free attribute (``a.shape``: a tuple, so ``np.asarray`` of it is a new array), or None."""
    while not isinstance(source, gast.Name):
        if isinstance(source, gast.Attribute) and source.attr in _DATA_FREE_ATTRIBUTES:
            return _NEW
        if isinstance(source, (gast.Subscript, gast.Attribute)):
            source = source.value
        else:
            source = same_or_view_source(source)
            if source is None:
                return None
    return source.id


def _text(node):
    return gast.unparse(node).strip()


def _copied_by_rule(call):
    """Whether ``call`` (``y.conj().ravel()``) goes through a view maker of _COPIED_BY_RULE."""
    while call is not None and not isinstance(call, gast.Name):
        if (
            isinstance(call, gast.Call)
            and isinstance(call.func, gast.Attribute)
            and call.func.attr in _COPIED_BY_RULE
        ):
            return True
        call = same_or_view_source(call) if isinstance(call, gast.Call) else getattr(call, "value", None)
    return False
