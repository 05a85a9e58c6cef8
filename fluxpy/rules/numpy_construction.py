"""Rules: NumPy's array construction and copies (``np.array``, ``asarray``, ``asanyarray``,
``ascontiguousarray``, ``asfortranarray``, a device's constructors, ``copy``, ``full_like``, ``full``): the
cotangent of a nested list is a nested list (numbers get floats); and the constructors and queries that
carry no gradient (``zeros``, ``ones_like``, ``shape``, ...).

>>> import numpy as np
>>> y, back = array_rule([1.0, 2.0])
>>> y, back(np.array([3.0, 4.0]))
(array([1., 2.]), ([3.0, 4.0],))
"""

import numpy as np

from ..backend import xp_of
from .helpers import accept_array_likes, array_of_object, carries_values, has_array_method, unbroadcast
from .numpy_shape import _unpack, count_args, grads_first, option, place
from .registry import adjoint, device_rule, nograd, register_method

# ---------------------------------------------------------------------------------------------------------
# array construction and copies: the cotangent of a nested list is a nested list (numbers get floats)


def _via_array_method(rule, obj, args, kwargs):
    """``rule(np.asarray(obj), *args, **kwargs)`` for a user object ``obj`` with a Python ``__array__``
    (helpers.has_array_method): the method is differentiated, so the cotangent reaches ``obj``'s fields."""
    a, a_pb = array_of_object(obj)
    y, back = rule(a, *args, **kwargs)

    def array_method_pullback(dy):
        g = tuple(back(dy))
        if g[0] is None:
            return g
        return (a_pb(g[0])[0],) + g[1:]

    return y, array_method_pullback


def _carries(y, args, kwargs):
    """Whether a constructor's result ``y`` holds its input's values: an integer or boolean ``dtype``
    given (the argument after the input, or ``dtype=``) gives no gradient, as ``x.astype(int)``; an
    integer input kept as it is (``np.asarray(x)`` of an int array) does (ints are reals, API.md)."""
    given = kwargs.get("dtype") is not None or (len(args) > 0 and args[0] is not None)
    return carries_values(y) or not given


@adjoint(np.array)
def array_rule(obj, *args, **kwargs):
    if has_array_method(obj):
        return _via_array_method(array_rule, obj, args, kwargs)
    y = np.array(obj, *args, **kwargs)
    carries = _carries(y, args, kwargs)

    def array_pullback(dy):
        if not carries:
            return grads_first(None, args)
        return grads_first(_unpack(dy, obj), args)

    return y, array_pullback


@adjoint(np.asarray)
def asarray_rule(a, *args, **kwargs):
    if has_array_method(a):
        return _via_array_method(asarray_rule, a, args, kwargs)
    y = np.asarray(a, *args, **kwargs)
    carries = _carries(y, args, kwargs)

    def asarray_pullback(dy):
        if not carries:
            return grads_first(None, args)
        return grads_first(_unpack(dy, a), args)

    return y, asarray_pullback


@adjoint(np.asanyarray)
def asanyarray_rule(a, *args, **kwargs):
    if has_array_method(a):
        return _via_array_method(asanyarray_rule, a, args, kwargs)
    y = np.asanyarray(a, *args, **kwargs)
    carries = _carries(y, args, kwargs)

    def asanyarray_pullback(dy):
        if not carries:
            return grads_first(None, args)
        return grads_first(_unpack(dy, a), args)

    return y, asanyarray_pullback


@adjoint(np.ascontiguousarray)
def ascontiguousarray_rule(a, *args, **kwargs):
    if has_array_method(a):
        return _via_array_method(ascontiguousarray_rule, a, args, kwargs)
    y = np.ascontiguousarray(a, *args, **kwargs)
    carries = _carries(y, args, kwargs)

    def ascontiguousarray_pullback(dy):
        if not carries:
            return grads_first(None, args)
        return grads_first(_unpack(dy, a), args)

    return y, ascontiguousarray_pullback


@adjoint(np.asfortranarray)
def asfortranarray_rule(a, *args, **kwargs):
    if has_array_method(a):
        return _via_array_method(asfortranarray_rule, a, args, kwargs)
    y = np.asfortranarray(a, *args, **kwargs)
    carries = _carries(y, args, kwargs)

    def asfortranarray_pullback(dy):
        if not carries:
            return grads_first(None, args)
        return grads_first(_unpack(dy, a), args)

    return y, asfortranarray_pullback


@device_rule("array", "asarray", "asanyarray", "ascontiguousarray", "asfortranarray")
def device_constructor_rule(f):
    """The rule of CuPy's ``f`` (``cupy.asarray``...): the value on the device, the cotangent as NumPy's."""

    def device_constructor(a, *args, **kwargs):
        y = f(a, *args, **kwargs)
        carries = _carries(y, args, kwargs)

        def device_constructor_pullback(dy):
            if not carries:
                return grads_first(None, args)
            return grads_first(_unpack(dy, a), args)

        return y, device_constructor_pullback

    return device_constructor


@adjoint(np.copy)
def copy_rule(a, *args, **kwargs):
    def copy_pullback(dy):
        return grads_first(_unpack(dy, a), args)

    return xp_of(a).copy(a, *args, **kwargs), copy_pullback


def copy_method_rule(self, *args, **kwargs):
    def copy_pullback(dy):
        return grads_first(dy, args)

    return self.copy(*args, **kwargs), copy_pullback


register_method("copy", copy_method_rule)


@adjoint(np.full_like)
def full_like_rule(a, *args, **kwargs):
    xp = xp_of(a)
    fill_value = option(
        "full_like", args, kwargs, ("fill_value", "dtype", "order", "subok", "shape"), "fill_value"
    )
    position = _fill_position(args)
    n = count_args(args)

    def full_like_pullback(dy):
        if position is None:
            return grads_first(None, args)
        return place((unbroadcast(dy, fill_value),), (position,), n)

    return xp.full_like(a, *args, **kwargs), full_like_pullback


@nograd
def _fill_position(args):
    """The position of ``fill_value`` among ``full_like``'s positional arguments, or None (a keyword)."""
    return 1 if len(args) >= 1 else None


# ---------------------------------------------------------------------------------------------------------
# no derivative: shape queries and arrays shaped like another


nograd(np.zeros_like, np.ones_like, np.empty_like, np.shape, np.ndim, np.size, np.broadcast_shapes)


# ---------------------------------------------------------------------------------------------------------
# array constructors and queries: no gradient


nograd(
    np.zeros,
    np.ones,
    np.empty,
    np.eye,
    np.identity,
    np.arange,
    np.tri,
    np.array_equal,
    np.array_equiv,
    np.isscalar,
    np.iterable,
    np.can_cast,
    np.result_type,
    np.promote_types,
    np.may_share_memory,
    np.shares_memory,
    np.isin,
    np.digitize,
    np.lexsort,
    np.geterr,
    np.seterr,
    np.isdtype,
    np.issubdtype,
    np.min_scalar_type,
    np.common_type,
    np.isfortran,
    np.indices,
)


@adjoint(np.full)
def full_rule(shape, fill_value, *rest, **kwargs):
    return _full_rule(np.full, shape, fill_value, *rest, **kwargs)


@device_rule("full")
def device_full_rule(f):
    """The rule of ``cupy.full``: a device array, whatever the fill value."""

    def device_full(shape, fill_value, *rest, **kwargs):
        return _full_rule(f, shape, fill_value, *rest, **kwargs)

    return device_full


def _full_rule(full, shape, fill_value, *rest, **kwargs):
    y = full(shape, fill_value, *rest, **kwargs) if not rest else full(shape, fill_value, *rest)

    def full_pullback(dy):
        return (None, xp_of(dy).sum(dy)) + (None,) * len(rest)

    return y, full_pullback


# lists and tuples where NumPy reads arrays (rules/helpers.py); not in the constructors
accept_array_likes(
    __name__, skip=(np.array, np.asarray, np.asanyarray, np.ascontiguousarray, np.asfortranarray, np.copy)
)
