"""Rules for reading and writing parts of objects: ``getattr`` (``obj.name``), ``operator.getitem``
(``x[i]``) on anything but an array's own rules, and the attribute writes of generated code
(``obj.name = v``, ``object.__setattr__``, ``super().__setattr__``). An object's cotangent is a Tangent of
its fields; a class's own Python code for an attribute (a property, ``__getattr__``, ``__setattr__``, a
setter: rules/attributes.py finds it) is differentiated instead of the plain field access.

>>> from fluxpy.tangents import Tangent
>>> field_of(Tangent(object, {"w": 2.0}), "w"), without_field(Tangent(object, {"w": 2.0}), "w")
(2.0, None)
"""

import builtins
import enum
import operator

import numpy as np

from ..backend import is_array
from ..tangents import Tangent
from . import attributes
from .helpers import refuse_masked
from .mutation import sequence_indices
from .numpy_indexing import array_getitem_rule
from .python_common import _none_pullback, _python_dunder, seq_scatter
from .registry import adjoint, lookup_attribute, nograd

# =========================================================================================================
# attribute reads


@adjoint(builtins.getattr)
def getattr_rule(obj, name, *default):
    if is_array(obj) or isinstance(obj, np.generic) or type(obj) is complex and name in ("real", "imag"):
        if type(obj) is not np.ndarray and name not in _MASK_METADATA:
            refuse_masked((obj,))  # ``a.data``, ``a.filled`` of a masked array: the values without the mask
        rule = lookup_attribute(name)
        if rule is not None:
            y, back = rule(obj)

            def array_attribute_pullback(dy):
                return (back(dy)[0], None) + (None,) * len(default)

            return y, array_attribute_pullback
        y = getattr(obj, name, *default)
        if runtime.bound_to(y, obj):
            # ``a.sum`` taken as a value: calling it gives the array's cotangent as the method's own
            # (runtime.array_method_forward), which is the array's
            return y, _receiver_pullback(len(default))
        if name in VALUE_ATTRIBUTES and y is not None:
            return y, _value_attribute_pullback(name, len(default), runtime.user_location())
        return y, _none_pullback(2 + len(default))
    if (type(obj) is float or type(obj) is int) and (name == "real" or name == "imag"):
        # a Python number's real part is itself, its imaginary part a constant 0
        if name == "imag":
            return obj.imag, _none_pullback(2 + len(default))
        return obj.real, _receiver_pullback(len(default))
    if isinstance(obj, enum.Enum):  # a member is a constant: its ``value`` and ``name`` carry no gradient
        return getattr(obj, name, *default), _none_pullback(2 + len(default))
    hook = attributes.read_hook(obj, name)
    if hook is not None:  # a property, a descriptor, __getattr__: their code is differentiated
        from ..runtime import call

        fn, positions, index = hook
        target = attributes.proxied(obj)  # super().prop: the getter runs on the object (the proxy's gradient)
        y, pb = call(fn, *[target if p == 1 else p for p in positions])

        def attribute_hook_pullback(dy):
            return (pb(dy)[index], None) + (None,) * len(default)

        return y, attribute_hook_pullback
    y = getattr(obj, name, *default)

    def getattr_pullback(dy):
        return (runtime.field_cotangent(obj, name, dy), None) + (None,) * len(default)

    return y, getattr_pullback


# what may be read of a masked array (refused otherwise): its layout and its mask, which carry no gradient
_MASK_METADATA = frozenset(
    {"shape", "dtype", "ndim", "size", "strides", "itemsize", "nbytes", "flags", "mask", "_mask"}
)


# array attributes that hold its values in a form no rule follows: a gradient reaching them is refused (the
# others, ``shape``, ``dtype``, ``strides``, ``flags``, ..., describe the array and carry none); ``x.flat``,
# ``x.T``, ``x.real`` and ``x.imag`` have rules
VALUE_ATTRIBUTES = {
    "data": ("a memoryview of its buffer", "`x` itself, or `np.asarray(x)`"),
    "base": ("the array it views", "the array itself, or `x.reshape(...)` of it"),
}


@nograd
def _value_attribute_pullback(name, ndefault, where):
    """The pullback of ``x.data`` or ``x.base`` (VALUE_ATTRIBUTES): a NoAdjointError when a gradient reaches
    it (reading ``x.base is None`` needs none)."""

    def value_attribute_pullback(dy):
        if dy is not None:
            raise no_adjoint_attribute(name, where)
        return (None,) * (2 + ndefault)

    return value_attribute_pullback


@nograd
def no_adjoint_attribute(name, where):
    """The NoAdjointError for a gradient through the array attribute ``name`` (VALUE_ATTRIBUTES)."""
    from ..errors import NO_ADJOINT_ATTRIBUTE, NoAdjointError

    what, fix = VALUE_ATTRIBUTES[name]
    return NoAdjointError(NO_ADJOINT_ATTRIBUTE.format(name=name, what=what, fix=fix, where=where))


def _receiver_pullback(ndefault):
    """The pullback of ``getattr(obj, name, *default)`` whose value's cotangent is ``obj``'s (a method bound
    to it, a real number's ``real``)."""

    def receiver_pullback(dy):
        return (dy, None) + (None,) * ndefault

    return receiver_pullback


# =========================================================================================================
# item reads


@adjoint(operator.getitem)
def getitem_rule(x, idx):
    if is_array(x) or isinstance(x, np.generic):
        if type(x) is not np.ndarray:
            refuse_masked((x,))  # ``a[i]`` of a masked array may be ``np.ma.masked``
        return array_getitem_rule(x, sequence_indices(idx))
    if isinstance(x, dict):

        def dict_getitem_pullback(dy):
            return ({idx: dy}, None)

        return x[idx], dict_getitem_pullback
    if isinstance(x, (tuple, list)):
        n = len(x)

        def sequence_getitem_pullback(dy):
            return (seq_scatter(n, idx, dy, type(x) is list), None)

        return x[idx], sequence_getitem_pullback
    if type(x) is str or type(x) is bytes or type(x) is range:
        return x[idx], _none_pullback(2)
    return _user_getitem(x, idx)


def _user_getitem(x, idx):
    """``x[idx]`` on any other object: its Python ``__getitem__`` is differentiated; a C one must not be
    asked for a gradient."""
    from ..runtime import call, foreign_forward

    method = _python_dunder(x, "__getitem__")
    if method is None:
        y, pb = foreign_forward(operator.getitem, x, idx)
        if pb.__name__ == "no_adjoint_pullback":  # a gradient would have to pass: say which object it was
            pb = _c_getitem_pullback(x, runtime.user_location())
    else:
        y, pb = call(method, x, idx)

    def user_getitem_pullback(dy):
        return pb(dy)[1:]

    return y, user_getitem_pullback


@nograd
def _c_getitem_pullback(x, where):
    """The pullback of ``x[i]`` on an object whose ``__getitem__`` is C code with no rule (a
    ``collections.deque``, a ``numpy.flatiter``): a NoAdjointError naming its type (a rule for
    ``operator.getitem`` itself would replace indexing everywhere, so converting is the advice)."""
    from ..errors import NO_ADJOINT_ITEM, NO_ADJOINT_ITEM_FIXES, NoAdjointError

    cls = type(x)
    kind = cls.__qualname__ if cls.__module__ == "builtins" else f"{cls.__module__}.{cls.__qualname__}"
    fix = NO_ADJOINT_ITEM_FIXES.get(kind, "`list(x)[i]`, or `np.asarray(x)[i]`")

    def c_getitem_pullback(dy):
        raise NoAdjointError(NO_ADJOINT_ITEM.format(kind=kind, expr="`obj[i]`", fix=fix, where=where))

    return c_getitem_pullback


# =========================================================================================================
# attribute writes (generated code)


def write_attribute(obj, name, value):
    """``obj.name = value`` (and ``setattr(obj, name, value)``) in generated code, only on the fresh object
    of a constructor or a local object; returns ``obj``."""
    setattr(obj, name, value)
    return obj


def object_setattr(obj, name, value):
    """``object.__setattr__(obj, name, value)`` in generated code (a class's own ``__setattr__`` calling
    its default): a property's setter still runs, the class's ``__setattr__`` does not; returns ``obj``."""
    object.__setattr__(obj, name, value)
    return obj


def parent_setattr(cls, obj, name, value):
    """``super().__setattr__(name, value)`` in a method of ``cls``, in generated code; returns ``obj``."""
    super(cls, obj).__setattr__(name, value)
    return obj


@adjoint(write_attribute)
def write_attribute_rule(obj, name, value):
    return _write_through(attributes.write_hook(obj, name), obj, name, value)


@adjoint(object_setattr)
def object_setattr_rule(obj, name, value):
    return _write_through(attributes.descriptor_write_hook(obj, name), obj, name, value)


def _write_through(hook, obj, name, value):
    """``obj.name = value`` as a plain field (no ``hook``) or through the class's code (see _hooked_write)."""
    if hook is None:
        return _plain_write(obj, name, value)
    return _hooked_write(hook, obj, name, value)


@adjoint(parent_setattr)
def parent_setattr_rule(cls, obj, name, value):
    setter = attributes.parent_setattr(cls, obj)
    y, back = (
        object_setattr_rule(obj, name, value)
        if setter is None
        else _hooked_write((setter, "setattr"), obj, name, value)
    )

    def parent_setattr_pullback(dobj):
        return (None,) + back(dobj)

    return y, parent_setattr_pullback


def store_field(obj, name, value):
    """``obj.name = value`` as a plain field (no class hook runs: the caller found none); returns ``obj``."""
    object.__setattr__(obj, name, value)
    return obj


@adjoint(store_field)
def store_field_rule(obj, name, value):
    def write_attribute_pullback(dobj):
        return (without_field(dobj, name), None, field_of(dobj, name))

    return store_field(obj, name, value), write_attribute_pullback


_plain_write = store_field_rule


def _hooked_write(hook, obj, name, value):
    """A write through the class's ``__setattr__`` or a property's setter: its code differentiated as a
    constructor's is (a function returning the object, whose attribute writes are differentiated)."""
    from ..transform.cache import forward_function

    setter, kind = hook
    args = (obj, name, value) if kind == "setattr" else (obj, value)
    y, pb = forward_function(setter, constructor=True)(setter, *args)

    def attribute_setter_pullback(dobj):
        g = pb(dobj)
        return (g[1], None, g[-1])

    return y, attribute_setter_pullback


# =========================================================================================================
# the cotangent of one field


def field_of(t, name):
    """Field ``name`` of an object's cotangent (None when absent)."""
    if t is None:
        return None
    return t.get(name)


@adjoint(field_of)
def field_of_rule(t, name):
    def field_of_pullback(dd):
        return (Tangent(t.primal_type if t is not None else object, {name: dd}), None)

    return field_of(t, name), field_of_pullback


def without_field(t, name):
    """An object's cotangent with field ``name`` removed: the gradient of the value before the write."""
    if t is None or name not in t:
        return t
    rest = {k: v for k, v in t.items() if k != name}
    return Tangent(t.primal_type, rest) if rest else None


@adjoint(without_field)
def without_field_rule(t, name):
    def without_field_pullback(dd):
        return (without_field(dd, name), None)

    return without_field(t, name), without_field_pullback


from .. import runtime  # noqa: E402  (last: runtime's own imports reach this module)
