"""``obj.name(*args)`` in generated code (``call_method``): an array's method by its rule, a Python method
through its class's function, a number's by ``scalars``, a container's by its rule, any other attribute
called as a callee whose cotangent is a field of ``obj``'s (``field_cotangent``).
"""

import operator
from types import BuiltinMethodType, MethodType, MethodWrapperType, ModuleType

import numpy as np

from ..rules import registry
from ..tangents import Tangent
from .dispatch import call, call_masked, check_no_function_gradient
from .foreign import _carries_float
from .keywords import checked_keywords_call
from .linear import linear_in
from .locations import raise_no_adjoint, user_location
from .method_kinds import check_no_mutation, class_function, method_kind
from .records import namedtuple_replace
from .scalars import scalar_method
from .writes import check_no_out


def _setdefault_reads(obj, name, args, kwargs):
    """``d.setdefault(key, default)`` for a ``key`` already in dict ``d``: no change, a read of ``d[key]``
    (CS231n's ``config.setdefault("learning_rate", 1e-2)``)."""
    return (
        name == "setdefault"
        and isinstance(obj, dict)
        and not kwargs
        and 1 <= len(args) <= 2
        and args[0] in obj
    )


def _read_setdefault(obj, args):
    """``d.setdefault(key, ...)`` of a key in ``d`` as ``d[key]``, whose rule gives the item's cotangent."""
    y, pb = call(operator.getitem, obj, args[0])

    def setdefault_pullback(dy):
        return (pb(dy)[1],) + (None,) * len(args)

    return y, setdefault_pullback


def call_method(obj, name, /, *args, **kwargs):
    """``obj.name(*args, **kwargs)`` as ``(y, pullback)``; ``pullback(dy)`` gives ``(dobj, *dargs)``."""
    kind = method_kind(obj, name)
    if kind == "replace":
        y, pb = call(namedtuple_replace, obj, **kwargs)

        def replace_pullback(dy):
            return pb(dy)[1:]

        return y, replace_pullback
    if kind == "scalar":
        return scalar_method(obj, name, *args, **kwargs)
    if kind == "mutation" and _setdefault_reads(obj, name, args, kwargs):
        return _read_setdefault(obj, args)
    if kind == "mutation":
        check_no_mutation(obj, name, args, kwargs)
        kind = "attribute"
    if kind == "array" or kind == "container":
        if kind == "array":
            if kwargs.get("out") is not None:  # ``a.clip(lo, hi, out=a)``: as np.clip(..., out=a)
                check_no_out(getattr(obj, name))
            if type(obj) is not np.ndarray:  # ``a.sum()`` of a masked array: refused (its mask is ignored)
                from ..rules.helpers import refuse_masked

                refuse_masked((obj,))
            rule = array_method_rule(obj, name)
        else:
            rule = registry.lookup_container_method(type(obj), name)
        if kwargs and any(_carries_float(v) for v in kwargs.values()):
            y, pb = checked_keywords_call(rule, getattr(obj, name), (obj,) + args, kwargs)

            def checked_method_pullback(dy):
                return pb(dy)[1:]

            return y, checked_method_pullback
        return rule(obj, *args, **kwargs)
    if kind == "super":
        func = getattr(obj, name).__func__
        y, pb = call(func, obj.__self__, *args, **kwargs)

        def super_method_pullback(dy):
            g = pb(dy)
            check_no_function_gradient(g[0], func)
            return g[1:]

        return y, super_method_pullback
    if kind == "method":
        func = class_function(obj, name)
        y, pb = call(func, obj, *args, **kwargs)

        def method_pullback(dy):
            g = pb(dy)
            check_no_function_gradient(g[0], func)
            return g[1:]

        return y, method_pullback
    if kind == "hooked":
        # a property, a descriptor or ``__getattr__`` gives the callee (``wrapper.f`` delegating to an
        # inner object's method): its code is differentiated, so the callee's cotangent reaches ``obj``
        # through it (getattr's rule)
        attr, attr_pb = call(getattr, obj, name)
        y, pb = call(attr, *args, **kwargs)

        def hooked_attribute_pullback(dy):
            g = pb(dy)
            return (attr_pb(g[0])[1],) + g[1:]

        return y, hooked_attribute_pullback
    attr = getattr(obj, name)
    y, pb = call(attr, *args, **kwargs)

    def attribute_pullback(dy):
        g = pb(dy)
        return (field_cotangent(obj, name, g[0]),) + g[1:]

    return y, attribute_pullback


def call_method_masked(mask, obj, name, /, *args, **kwargs):
    """``call_method(obj, name, *args, **kwargs)`` with a mask as :func:`call_masked` takes (the object
    first): a Python method runs the variant that skips the unwanted gradients."""
    if method_kind(obj, name) == "method":
        func = class_function(obj, name)
        y, pb = call_masked((False,) + mask, func, obj, *args, **kwargs)

        def method_pullback(dy):
            g = pb(dy)
            check_no_function_gradient(g[0], func)
            return g[1:]

        return y, method_pullback
    return call_method(obj, name, *args, **kwargs)


def array_method_rule(obj, name):
    """The rule of array method ``name``; a missing one raises NoAdjointError when a gradient needs it."""
    rule = registry.lookup_method(name)
    if rule is None:
        method = getattr(obj, name)
        where = user_location()

        def missing_method_rule(self, /, *args, **kwargs):
            y = method(*args, **kwargs)

            def missing_method_pullback(dy):
                raise_no_adjoint(method, where, qualname=f"{type(obj).__name__}.{name}")

            return y, missing_method_pullback

        return missing_method_rule
    return rule


def array_method_forward(m, /, *args, **kwargs):
    """Forward of a bound array method (``x.sum`` taken as a value): its cotangent is ``x``'s."""
    if kwargs.get("out") is not None:
        check_no_out(m)
    rule = registry.lookup_method(m.__name__)
    return rule(m.__self__, *args, **kwargs)


def container_method_forward(m, /, *args, **kwargs):
    """Forward of a bound method of a builtin container (``d.get`` taken as a value)."""
    rule = registry.lookup_container_method(type(m.__self__), m.__name__)
    return rule(m.__self__, *args, **kwargs)


_PROXIES = (MethodType, BuiltinMethodType, MethodWrapperType, super)  # their __self__'s cotangent is theirs


def field_cotangent(obj, name, d):
    """The cotangent of ``obj`` when its field ``name`` has cotangent ``d``."""
    if d is None or isinstance(obj, ModuleType) or isinstance(obj, type):
        return None
    if isinstance(obj, tuple) and hasattr(type(obj), "_fields"):
        return tuple(d if f == name else None for f in type(obj)._fields)
    if type(obj) in _PROXIES:
        # proxies: a bound method's or super()'s cotangent is that of the object it stands for
        if name == "__self__":
            return d
        if type(obj) is not super:
            return None  # a Python function's (closure) cotangent is not propagated; a builtin has none
    if bound_to(getattr(obj, name, None), obj):
        return d  # a bound method's cotangent is its self's (a Python method's, or a builtin's: ``d.get``)
    if class_attribute(obj, name):
        return None  # shared by the class, not a field of obj: no entry in obj's tangent (as in Zygote)
    return Tangent(type(obj), {name: d})


def class_attribute(obj, name):
    """Whether ``obj.name`` reads a plain value of its class (``SCALE = 0.5`` in the class body), not a field
    of ``obj`` (in its ``__dict__``, or a slot: slots and properties are descriptors)."""
    fields = getattr(obj, "__dict__", None)
    if fields is None or name in fields:
        return False
    for klass in type(obj).__mro__:
        if name in vars(klass):
            return not hasattr(type(vars(klass)[name]), "__get__")
    return False


@registry.adjoint(field_cotangent)
def field_cotangent_rule(obj, name, d):
    def field_cotangent_pullback(dd):
        if name == "__self__" and type(obj) in _PROXIES:
            return (None, None, dd)
        if type(obj) in _PROXIES and type(obj) is not super:
            return (None, None, None)
        if bound_to(getattr(obj, name, None), obj):
            return (None, None, dd)
        return (None, None, dd.get(name) if isinstance(dd, Tangent) else _pick_field(obj, name, dd))

    return field_cotangent(obj, name, d), field_cotangent_pullback


def _pick_field(obj, name, dd):
    if isinstance(obj, tuple) and hasattr(type(obj), "_fields") and dd is not None:
        return dd[type(obj)._fields.index(name)]
    return dd


registry.nograd(_pick_field)


def bound_to(value, obj):
    """Whether ``value`` is a method bound to ``obj`` (whose cotangent is ``obj``'s): a Python method, or a
    builtin one (``a.sum``, ``d.get``, ``x.__neg__``). A method bound to another object (``p.func`` of
    ``functools.partial(k.f)``) is a field like any other: its cotangent goes under its name."""
    t = type(value)
    if t is not MethodType and t is not BuiltinMethodType and t is not MethodWrapperType:
        return False
    return value.__self__ is (obj.__self__ if type(obj) is super else obj)  # super().f is bound to the object


registry.nograd(array_method_rule, bound_to, class_attribute)
linear_in(field_cotangent, 2)
