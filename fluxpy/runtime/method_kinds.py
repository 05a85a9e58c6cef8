"""How ``obj.name(...)`` dispatches (``method_kind``), and the methods and functions that change their
arguments in place: refused when floats are involved (``check_no_mutation``, ``in_place_function_forward``),
as a later read would lose their gradient.
"""

import bisect
import collections
import functools
import heapq
import operator
from types import BuiltinFunctionType, FunctionType, ModuleType

import numpy as np

from .. import errors
from ..rules import registry
from ..rules.attributes import read_hook as _read_hook
from .foreign import _carries_float, _hashable_in, _is_array_like, foreign_forward
from .locations import user_location


def method_kind(obj, name):
    """How ``obj.name(...)`` dispatches: ``"array"``, ``"method"`` (a class function), ``"scalar"`` (a Python
    number's), ``"hooked"`` (the callee is what Python code of ``obj``'s class gives: a property, a
    descriptor, ``__getattr__``) or ``"attribute"``."""
    if _is_array_like(obj):
        return "mutation" if name in _ARRAY_MUTATORS else "array"
    if type(obj) in _SCALAR_OPERANDS:
        return "scalar"
    if name == "_replace" and isinstance(obj, tuple) and hasattr(type(obj), "_fields"):
        return "replace"
    if registry.lookup_container_method(type(obj), name) is not None:
        return "container"
    if name in _MUTATORS.get(type(obj), ()):
        return "mutation"
    if isinstance(obj, ModuleType):
        return "attribute"
    if type(obj) is super:
        method = getattr(obj, name, None)
        if type(getattr(method, "__func__", None)) is FunctionType:
            return "super"
        return "hooked" if _read_hook(obj, name) is not None else "attribute"
    cls = type(obj)
    for klass in cls.__mro__:
        attr = klass.__dict__.get(name, _MISSING)
        if attr is not _MISSING:
            kind = type(attr)
            if kind is FunctionType:
                return "method" if name not in getattr(obj, "__dict__", ()) else "attribute"
            if (
                kind is property
                or kind is functools.cached_property
                or type(getattr(kind, "__get__", None)) is FunctionType
            ):
                return "hooked" if _read_hook(obj, name) is not None else "attribute"
            return "attribute"
    if type(getattr(cls, "__getattr__", None)) is FunctionType and _read_hook(obj, name) is not None:
        return "hooked"
    return "attribute"


_MISSING = object()


# the Python numbers whose methods scalar_method differentiates, and the operand types each one's binary
# methods take (another type gives NotImplemented, or a different value: float.__add__ of a np.float64
# returns a float, operator.add a np.float64)
_SCALAR_OPERANDS = {float: (float, int, bool), int: (int, bool), complex: (complex, float, int, bool)}


_ARRAY_MUTATORS = {
    "fill",
    "sort",
    "put",
    "itemset",
    "resize",
    "partition",
    "setfield",
    "__setitem__",
    "__iadd__",
    "__isub__",
    "__imul__",
    "__itruediv__",
    "__ipow__",
    "__imatmul__",
}


_IN_PLACE_FUNCTIONS = {
    np.copyto,
    np.put,
    np.place,
    np.putmask,
    np.fill_diagonal,
    np.put_along_axis,
    setattr,
    delattr,
    object.__setattr__,
    operator.setitem,  # the user's own call: generated code writes items with __fx_setitem
    operator.delitem,
}


# C functions that reorder, fill or empty the list given first (heapq's, bisect's insort): refused when a
# float is involved, as a list's own mutators are
_LIST_WRITERS = {
    getattr(module, name)
    for module, names in [
        (
            heapq,
            (
                "heapify",
                "heappush",
                "heappop",
                "heapreplace",
                "heappushpop",
                "heapify_max",
                "heappush_max",
                "heappop_max",
                "heapreplace_max",
                "heappushpop_max",
                "_heapify_max",
                "_heappop_max",
                "_heapreplace_max",
            ),
        ),
        (bisect, ("insort", "insort_left", "insort_right")),
    ]
    for name in names
    if type(getattr(module, name, None)) is BuiltinFunctionType
}


_IN_PLACE_FUNCTIONS |= _LIST_WRITERS
_ITEM_WRITERS = {operator.setitem, operator.delitem}


# methods that change their first argument in place (``rng.shuffle(a)``): ``check_no_mutation`` refuses
# them when a float is involved; as functions of the class (``Generator.shuffle(rng, a)``) too
_ARGUMENT_MUTATORS = {np.random.Generator: {"shuffle"}, np.random.RandomState: {"shuffle"}}


_UNBOUND_ARGUMENT_MUTATORS = {np.random.Generator.shuffle, np.random.RandomState.shuffle}


_DEQUE_REARRANGING = {
    "pop",
    "popleft",
    "remove",
    "insert",
    "clear",
    "reverse",
    "rotate",
    "__delitem__",
    "__imul__",
}


_MUTATORS = {
    list: {
        "append",
        "extend",
        "insert",
        "pop",
        "remove",
        "clear",
        "sort",
        "reverse",
        "__setitem__",
        "__iadd__",
    },
    dict: {"update", "setdefault", "pop", "popitem", "clear", "__setitem__"},
    collections.deque: {"append", "appendleft", "extend", "extendleft", "__setitem__", "__iadd__"}
    | _DEQUE_REARRANGING,
    **_ARGUMENT_MUTATORS,
}


# the C subclasses of dict change in place as dict does (OrderedDict overrides these in C)
_MUTATORS[collections.OrderedDict] = _MUTATORS[dict] | {"move_to_end"}
_MUTATORS[collections.defaultdict] = _MUTATORS[dict]


def _mutators_of(cls):
    """The names of the methods of builtin ``cls`` that change its objects in place."""
    if isinstance(cls, type) and issubclass(cls, np.ndarray):
        return _ARRAY_MUTATORS
    return _MUTATORS.get(cls, ())


# in-place changes that move, drop or hand out the items already in a list or dict: refused when those
# carry gradients (a cotangent by position or key would reach the wrong item, or none)
_REARRANGING = {
    list: {"pop", "remove", "insert", "sort", "reverse", "clear"},
    dict: {"pop", "popitem", "setdefault", "clear"},
    collections.deque: _DEQUE_REARRANGING,
}
_REARRANGING[collections.OrderedDict] = _REARRANGING[dict] | {"move_to_end"}


_REARRANGING[collections.defaultdict] = _REARRANGING[dict]


def check_no_mutation(obj, name, args, kwargs):
    """In-place changes of a list or dict that put floating-point values in are refused (a later read
    would lose their gradient), and so are those that move, remove or return the float items already
    there (sort, reverse, pop, ...); adding ints, strings and other bookkeeping values is fine. A local
    list's methods never get here: the normalizer rebinds its name to a new list instead."""
    values = list(args) + list(kwargs.values())
    if name in _ARGUMENT_MUTATORS.get(type(obj), ()):  # ``rng.shuffle(a)`` changes ``a``, not ``rng``
        if any(_carries_float(v) for v in values):
            target = type(args[0]).__name__ if args else "value"
            article = "an" if target[:1] in "aeiou" or target == "ndarray" else "a"
            hint = "Index with a permutation instead: `a = a[rng.permutation(len(a))]` (differentiated)."
            where = user_location()
            method = f"{type(obj).__name__}.{name}"
            raise errors.FluxpyError(
                errors.IN_PLACE.format(method=method, article=article, kind=target, where=where, hint=hint)
            )
        return
    rearranges = name in _REARRANGING.get(type(obj), ()) or _is_array_like(obj)
    if rearranges and _carries_float(obj) or any(_carries_float(v) for v in values):
        hint = "array" if _is_array_like(obj) else type(obj).__name__
        raise errors.in_place_error(f"{type(obj).__name__}.{name}", type(obj).__name__, user_location(), hint)


def class_function(obj, name):
    """The plain function ``name`` on ``obj``'s class."""
    for klass in type(obj).__mro__:
        if name in klass.__dict__:
            return klass.__dict__[name]
    raise AttributeError(name)


def in_place_function_forward(f, /, *args, **kwargs):
    """Forward of a function that writes into its arguments (``np.copyto``, ``np.add.at``, ``setattr``,
    ``operator.setitem``)."""
    if any(_carries_float(v) for v in list(args) + list(kwargs.values())):
        name = getattr(f, "__qualname__", None) or getattr(f, "__name__", repr(f))
        if _hashable_in(f, _ITEM_WRITERS) and args:  # operator.setitem(a, i, v): written `a[i] = v`
            raise errors.in_place_error(
                f"operator.{name}", type(args[0]).__name__, user_location(), "setitem"
            )
        if _hashable_in(f, _LIST_WRITERS) and args:  # heapq.heappush(h, v): reorders the list h
            kind = type(args[0]).__name__
            raise errors.in_place_error(f"{f.__module__.lstrip('_')}.{name}", kind, user_location(), kind)
        raise errors.in_place_error(name, "value", user_location())
    return foreign_forward(f, *args, **kwargs)


def mutation_forward(m, /, *args, **kwargs):
    """Forward of a bound mutating method of a list, a dict or a deque taken as a value (or of one that
    changes its argument: ``rng.shuffle``)."""
    check_no_mutation(m.__self__, m.__name__, args, kwargs)
    return foreign_forward(m, *args, **kwargs)


def unbound_mutation_forward(f, /, *args, **kwargs):
    """Forward of a mutating method taken from its class (``list.append(items, v)``,
    ``np.ndarray.__iadd__(a, v)``): refused as the bound method is (check_no_mutation)."""
    if args:
        check_no_mutation(args[0], f.__name__, args[1:], kwargs)
    return foreign_forward(f, *args, **kwargs)


registry.nograd(check_no_mutation, _mutators_of, method_kind, class_function)
