"""The forward of a callee that is not a Python function (``resolve_other``, which ``dispatch.resolve``
asks once per callee, cached when it can be): a rule, a non-differentiable function, a bound method, a
method of a number, an array or a container, an in-place writer (refused), a ``functools.partial`` or a
getter, a class (a record, a number subclass, a Python constructor), an object with a Python ``__call__``;
else a foreign callee, run as is.
"""

import functools
import operator
from types import (
    BuiltinFunctionType,
    FunctionType,
    MethodDescriptorType,
    MethodType,
    MethodWrapperType,
    ModuleType,
    WrapperDescriptorType,
)

import numpy as np

from ..rules import registry
from .dispatch import bound_method_forward, callable_object_forward, resolve, rule_forward
from .foreign import _hashable_in, _is_array_like, foreign_forward, nondiff_forward
from .method_kinds import (
    _IN_PLACE_FUNCTIONS,
    _MUTATORS,
    _SCALAR_OPERANDS,
    _UNBOUND_ARGUMENT_MUTATORS,
    _mutators_of,
    in_place_function_forward,
    mutation_forward,
    unbound_mutation_forward,
)
from .methods import array_method_forward, container_method_forward
from .partials import attrgetter_forward, itemgetter_forward, methodcaller_forward, partial_forward
from .records import _python_init, _record_fields, construct_forward, record_forward
from .scalars import scalar_method_forward, unbound_scalar_method_forward

_GETTERS = {
    operator.itemgetter: itemgetter_forward,
    operator.attrgetter: attrgetter_forward,
    operator.methodcaller: methodcaller_forward,
}


def resolve_other(f):
    """``(forward, cacheable)`` for callee ``f``, not a Python function: ``cacheable`` says whether
    ``dispatch.resolve`` may keep the forward per callee (not for callables made at run time, such as bound
    methods, partials, getters and callable objects: the cache would grow with them)."""
    rule = registry.lookup(f)
    if rule is not None:
        return rule_forward(rule), True
    if registry.is_nondiff(f):
        return nondiff_forward, True
    t = type(f)
    getter = _GETTERS.get(t)
    if getter is not None:
        return getter, False  # ``operator.itemgetter(1)(xs)``: differentiated as ``xs[1]``
    if t is MethodType:
        if type(f.__func__) is not FunctionType and f.__name__ in _MUTATORS.get(type(f.__self__), ()):
            return mutation_forward, False  # ``rng.shuffle`` (a compiled method) taken as a value
        return bound_method_forward, False
    if (t is BuiltinFunctionType or t is MethodWrapperType) and type(f.__self__) in _SCALAR_OPERANDS:
        return scalar_method_forward, False  # ``x.__neg__``, ``z.conjugate`` taken as values
    if t is BuiltinFunctionType and _is_array_like(f.__self__):
        if registry.lookup_method(f.__name__) is not None:
            return array_method_forward, False
        return foreign_forward, False
    if (
        t is BuiltinFunctionType
        and registry.lookup_container_method(type(f.__self__), f.__name__) is not None
    ):
        return container_method_forward, False
    if t is BuiltinFunctionType and f.__name__ in _MUTATORS.get(type(f.__self__), ()):
        return mutation_forward, False
    if t is BuiltinFunctionType and isinstance(f.__self__, np.ufunc) and f.__name__ == "at":
        return in_place_function_forward, False
    if (t is MethodDescriptorType or t is WrapperDescriptorType) and f.__name__ in _mutators_of(
        f.__objclass__
    ):
        return unbound_mutation_forward, True  # ``list.append(items, v)``, ``np.ndarray.__iadd__(a, v)``
    if (t is MethodDescriptorType or t is WrapperDescriptorType) and f.__objclass__ in _SCALAR_OPERANDS:
        return unbound_scalar_method_forward, True  # ``float.__mul__(x, 2.0)``
    if _hashable_in(f, _IN_PLACE_FUNCTIONS):
        return in_place_function_forward, True
    if _hashable_in(f, _UNBOUND_ARGUMENT_MUTATORS):
        return unbound_mutation_forward, True  # ``np.random.Generator.shuffle(rng, a)``
    if t is functools.partial:
        return partial_forward, False
    if isinstance(f, type) and _plain_number_subclass(f):
        return number_subclass_forward, True  # ``MyFloat(x)``: a float, as ``float(x)`` is
    if isinstance(f, type) and _record_fields(f) is not None:
        return record_forward, True
    if isinstance(f, type) and _python_init(f) is not None:
        return construct_forward, True
    if not isinstance(f, type) and type(getattr(t, "__call__", None)) is FunctionType:  # noqa: B004
        return callable_object_forward, False
    return foreign_forward, not isinstance(f, BuiltinFunctionType) or f.__self__ is None or isinstance(
        f.__self__, ModuleType
    )


def _plain_number_subclass(cls):
    """Whether ``cls`` subclasses float or complex and makes its values as they do: no ``__new__`` or
    ``__init__`` of its own (``class MyFloat(float): pass``)."""
    if not issubclass(cls, (float, complex)) or cls is float or cls is complex:
        return False
    for klass in cls.__mro__:
        if klass is float or klass is complex:
            return True
        if "__new__" in vars(klass) or "__init__" in vars(klass):
            return False
    return False


def number_subclass_forward(f, /, *args, **kwargs):
    """``MyFloat(x)`` for a float (or complex) subclass without a constructor of its own: its value, and
    the pullback of ``float(x)`` (``complex(x)``)."""
    base = float if issubclass(f, float) else complex
    y = f(*args, **kwargs)
    _, pb = resolve(base)(base, *args, **kwargs)
    return y, pb


registry.nograd(_plain_number_subclass)
