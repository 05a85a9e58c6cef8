"""Rules: NumPy's reshapes (``reshape``, ``ravel``, ``x.flat``, ``flatten``, ``expand_dims``, ``squeeze``,
``atleast_*d``, ``broadcast_to``), whose pullback reshapes back, and transposes (``transpose``, ``x.T``,
``matrix_transpose``, ``x.mT``, ``swapaxes``, ``moveaxis``), whose pullback applies the inverse permutation.

>>> import numpy as np
>>> y, back = transpose_rule(np.zeros((2, 3)), (1, 0))
>>> y.shape, back(np.ones((3, 2)))[0].shape
((3, 2), (2, 3))
"""

import numpy as np

from ..backend import xp_of
from .helpers import accept_array_likes, unbroadcast
from .numpy_shape import (
    _reshape_each,
    _resolve_order,
    _shapes_of,
    array_shape,
    grads_first,
    normalize_axis,
    option,
    xp_of_items,
)
from .registry import adjoint, nograd, register_attribute, register_method

# ---------------------------------------------------------------------------------------------------------
# reshapes: the pullback reshapes back


@adjoint(np.reshape)
def reshape_rule(a, *args, **kwargs):
    xp = xp_of(a)
    shape = array_shape(a)
    order = _resolve_order("reshape", a, option("reshape", args, kwargs, ("shape", "order"), "order"))

    def reshape_pullback(dy):
        return grads_first(xp.reshape(dy, shape, order=order), args)

    return xp.reshape(a, *args, **kwargs), reshape_pullback


def reshape_method_rule(self, *args, **kwargs):
    xp = xp_of(self)
    shape = array_shape(self)
    order = _resolve_order("reshape", self, option("reshape", (), kwargs, (), "order"))

    def reshape_pullback(dy):
        return grads_first(xp.reshape(dy, shape, order=order), args)

    return self.reshape(*args, **kwargs), reshape_pullback


register_method("reshape", reshape_method_rule)


@adjoint(np.ravel)
def ravel_rule(a, *args, **kwargs):
    xp = xp_of(a)
    shape = array_shape(a)
    order = _resolve_order("ravel", a, option("ravel", args, kwargs, ("order",), "order"))

    def ravel_pullback(dy):
        return grads_first(xp.reshape(dy, shape, order=order), args)

    return xp.ravel(a, *args, **kwargs), ravel_pullback


register_method("ravel", ravel_rule)


def flat_attribute_rule(self):
    """``x.flat`` read as ``x.ravel()``: a 1-D array of the entries in C order, which iterating, indexing
    and ``np.asarray`` read as they read the flat iterator (its ``index`` and ``coords`` are not kept)."""
    return ravel_rule(self)


register_attribute("flat", flat_attribute_rule)


def flatten_rule(self, *args, **kwargs):
    xp = xp_of(self)
    shape = array_shape(self)
    order = _resolve_order("flatten", self, option("flatten", args, kwargs, ("order",), "order"))

    def flatten_pullback(dy):
        return grads_first(xp.reshape(dy, shape, order=order), args)

    return self.flatten(*args, **kwargs), flatten_pullback


register_method("flatten", flatten_rule)


@adjoint(np.expand_dims)
def expand_dims_rule(a, *args, **kwargs):
    xp = xp_of(a)
    shape = array_shape(a)

    def expand_dims_pullback(dy):
        return grads_first(xp.reshape(dy, shape), args)

    return xp.expand_dims(a, *args, **kwargs), expand_dims_pullback


@adjoint(np.squeeze)
def squeeze_rule(a, *args, **kwargs):
    xp = xp_of(a)
    shape = array_shape(a)

    def squeeze_pullback(dy):
        return grads_first(xp.reshape(dy, shape), args)

    return xp.squeeze(a, *args, **kwargs), squeeze_pullback


register_method("squeeze", squeeze_rule)


@nograd
def _single(arys):
    return len(arys) == 1


@adjoint(np.atleast_1d)
def atleast_1d_rule(*arys):
    shapes = _shapes_of(arys)
    single = _single(arys)

    def atleast_1d_pullback(dy):
        if single:
            return _reshape_each((dy,), shapes)
        return _reshape_each(dy, shapes)

    return xp_of_items(arys).atleast_1d(*arys), atleast_1d_pullback


@adjoint(np.atleast_2d)
def atleast_2d_rule(*arys):
    shapes = _shapes_of(arys)
    single = _single(arys)

    def atleast_2d_pullback(dy):
        if single:
            return _reshape_each((dy,), shapes)
        return _reshape_each(dy, shapes)

    return xp_of_items(arys).atleast_2d(*arys), atleast_2d_pullback


@adjoint(np.atleast_3d)
def atleast_3d_rule(*arys):
    shapes = _shapes_of(arys)
    single = _single(arys)

    def atleast_3d_pullback(dy):
        if single:
            return _reshape_each((dy,), shapes)
        return _reshape_each(dy, shapes)

    return xp_of_items(arys).atleast_3d(*arys), atleast_3d_pullback


@adjoint(np.broadcast_to)
def broadcast_to_rule(array, *args, **kwargs):
    xp = xp_of(array)

    def broadcast_to_pullback(dy):
        return grads_first(unbroadcast(dy, array), args)

    return xp.broadcast_to(array, *args, **kwargs), broadcast_to_pullback


# ---------------------------------------------------------------------------------------------------------
# transposes: the pullback applies the inverse permutation


@nograd
def _inverse_permutation(axes, ndim):
    """The axes that undo ``transpose(x, axes)`` (``None``: reversing, its own inverse)."""
    if axes is None:
        return None
    return tuple(np.argsort([normalize_axis(a, ndim) for a in axes]).tolist())


@nograd
def _method_axes(args):
    """The axes of ``x.transpose(*args)``: none, one sequence (or None), or several ints."""
    if len(args) == 0 or (len(args) == 1 and args[0] is None):
        return None
    if len(args) == 1 and isinstance(args[0], (tuple, list)):
        return tuple(args[0])
    return tuple(args)


@adjoint(np.transpose, np.permute_dims)
def transpose_rule(a, *args, **kwargs):
    xp = xp_of(a)
    axes = option("transpose", args, kwargs, ("axes",), "axes")
    inverse = _inverse_permutation(axes, len(array_shape(a)))

    def transpose_pullback(dy):
        return grads_first(xp.transpose(dy, inverse), args)

    return xp.transpose(a, *args, **kwargs), transpose_pullback


def transpose_method_rule(self, *args):
    xp = xp_of(self)
    inverse = _inverse_permutation(_method_axes(args), len(array_shape(self)))

    def transpose_pullback(dy):
        return grads_first(xp.transpose(dy, inverse), args)

    return self.transpose(*args), transpose_pullback


register_method("transpose", transpose_method_rule)


def transpose_attribute_rule(self):
    xp = xp_of(self)

    def transpose_pullback(dy):
        return (xp.transpose(dy),)

    return self.T, transpose_pullback


register_attribute("T", transpose_attribute_rule)


@adjoint(np.matrix_transpose)
def matrix_transpose_rule(x):
    xp = xp_of(x)

    def matrix_transpose_pullback(dy):
        return (xp.swapaxes(dy, -1, -2),)

    return xp.swapaxes(x, -1, -2), matrix_transpose_pullback


def matrix_transpose_attribute_rule(self):
    xp = xp_of(self)

    def matrix_transpose_pullback(dy):
        return (xp.swapaxes(dy, -1, -2),)

    return self.mT, matrix_transpose_pullback


register_attribute("mT", matrix_transpose_attribute_rule)


@adjoint(np.swapaxes)
def swapaxes_rule(a, *args, **kwargs):
    xp = xp_of(a)
    names = ("axis1", "axis2")
    axis1 = option("swapaxes", args, kwargs, names, "axis1")
    axis2 = option("swapaxes", args, kwargs, names, "axis2")

    def swapaxes_pullback(dy):
        return grads_first(xp.swapaxes(dy, axis1, axis2), args)

    return xp.swapaxes(a, *args, **kwargs), swapaxes_pullback


register_method("swapaxes", swapaxes_rule)


@adjoint(np.moveaxis)
def moveaxis_rule(a, *args, **kwargs):
    xp = xp_of(a)
    names = ("source", "destination")
    source = option("moveaxis", args, kwargs, names, "source")
    destination = option("moveaxis", args, kwargs, names, "destination")

    def moveaxis_pullback(dy):
        return grads_first(xp.moveaxis(dy, destination, source), args)

    return xp.moveaxis(a, *args, **kwargs), moveaxis_pullback


# lists and tuples where NumPy reads arrays (rules/helpers.py)
accept_array_likes(__name__)
