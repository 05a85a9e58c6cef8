"""Rules: ``apply_along_axis`` and ``apply_over_axes``: the user's function called once per slice (or
axis) as a Python loop, as rules/numpy_vectorize.py does for ``np.vectorize``, so the gradient reaches what
that function captures; gradients of any order and forward mode come from the transformer.

>>> import numpy as np, fluxpy as fx
>>> fx.gradient(lambda x: np.sum(np.apply_along_axis(np.cumsum, 1, x)), np.ones((1, 2)))
(array([[2., 1.]]),)
"""

import numpy as np

from ..backend import xp_of
from .numpy_assembly import _size
from .numpy_implemented import implemented
from .numpy_shape import normalize_axis
from .registry import nograd


@nograd
def _along_axis_plan(shape, axis):
    """``(perm, indices)``: the transpose that moves ``axis`` last, and the index tuples of the slices."""
    nd = len(shape)
    axis = normalize_axis(axis, nd)
    perm = tuple(range(axis)) + tuple(range(axis + 1, nd)) + (axis,)
    rest = tuple(shape[k] for k in perm[:-1])
    indices = [ind + (Ellipsis,) for ind in np.ndindex(rest)]
    if not indices or _size(rest) == 0:
        raise ValueError("Cannot apply_along_axis when any iteration dimensions are 0")
    return perm, indices, axis


@nograd
def _along_axis_result(lead, res, axis):
    """``(shape, perm, dtype)``: the stacked results' shape, the transpose NumPy applies, their dtype."""
    res_ndim = np.ndim(res)
    ndim = len(lead) + res_ndim
    dims = list(range(ndim))
    perm = dims[0:axis] + dims[ndim - res_ndim : ndim] + dims[axis : ndim - res_ndim]
    return lead + tuple(np.shape(res)), tuple(perm), res.dtype


@implemented(np.apply_along_axis)
def apply_along_axis_impl(func1d, axis, arr, *args, **kwargs):
    """``np.apply_along_axis``: ``func1d`` on each 1-D slice along ``axis``, the results stacked where the
    slice was."""
    xp = xp_of(arr)
    arr = xp.asanyarray(arr)
    perm, indices, axis = _along_axis_plan(arr.shape, axis)
    view = xp.transpose(arr, perm)
    results = []
    for ind in indices:
        results = results + [xp.asanyarray(func1d(view[ind], *args, **kwargs))]
    shape, out_perm, dtype = _along_axis_result(view.shape[:-1], results[0], axis)
    buff = xp.reshape(xp.stack(results), shape)
    if buff.dtype != dtype:
        buff = buff.astype(dtype)
    return xp.transpose(buff, out_perm)


@nograd
def _over_axes(axes, n):
    axes = (axes,) if np.ndim(axes) == 0 else axes
    return [n + int(axis) if axis < 0 else int(axis) for axis in axes]


@nograd
def _wrong_shape():
    raise ValueError("function is not returning an array of the correct shape")


@implemented(np.apply_over_axes)
def apply_over_axes_impl(func, a, axes):
    """``np.apply_over_axes``: ``func(a, axis)`` for each axis in turn, the reduced axis kept."""
    val = xp_of(a).asarray(a)
    for axis in _over_axes(axes, a.ndim):
        res = func(val, axis)
        if res.ndim == val.ndim:
            val = res
        else:
            res = np.expand_dims(res, axis)
            if res.ndim == val.ndim:
                val = res
            else:
                _wrong_shape()
    return val
