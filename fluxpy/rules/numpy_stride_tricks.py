"""Rules: ``np.lib.stride_tricks.sliding_window_view``.

The value is NumPy's own: a read-only view of ``x`` whose last axes index the window. As a differentiable
function it is a gather (each output entry reads one input entry), so its pullback is the scatter-add
:func:`window_scatter`: one vectorised add per window offset (as col2im in fluxpy/nnlib/conv.py), never a
loop over entries. The two are each other's adjoints, so second derivatives go through them; the tangent
of a window view is the window view of the tangent.

A convolution written with it (``einsum`` over the window axes) is differentiated as it is:

>>> import numpy as np, fluxpy as fx
>>> windows = np.lib.stride_tricks.sliding_window_view
>>> fx.gradient(lambda x: np.sum(windows(x, 2) @ np.array([1.0, 10.0])), np.arange(4.0))[0]
array([ 1., 11., 11., 10.])
"""

import itertools

import numpy as np

from ..backend import xp_of
from ..errors import FluxpyError
from .forward_core import _like, keyword_forward_rule
from .numpy_shape import array_shape, normalize_axis
from .registry import adjoint, forward_rule, nograd

sliding_window_view = np.lib.stride_tricks.sliding_window_view

WRITEABLE = (
    "np.lib.stride_tricks.sliding_window_view(..., writeable=True) gives a view to write into, and fluxpy "
    "does not differentiate writes through views of an argument (windows overlap: an entry is written "
    "once per window holding it). Leave writeable=False (the default) and build a new array instead."
)


@nograd
def _window_plan(shape, window_shape, axis):
    """``(axes, window, shape_out)``: the axis of ``x`` each window dimension slides along, the window's
    sizes, and the shape of the view (NumPy checks the options first: its errors stand)."""
    window = tuple(int(w) for w in window_shape) if np.iterable(window_shape) else (int(window_shape),)
    if axis is None:
        axes = tuple(range(len(shape)))
    else:
        axes = tuple(normalize_axis(a, len(shape)) for a in (axis if np.iterable(axis) else (axis,)))
    kept = list(shape)
    for a, w in zip(axes, window, strict=True):
        kept[a] -= w - 1
    return axes, window, tuple(kept) + window


@nograd
def _offsets(axes, window, shape_out):
    """For each window offset, ``(index, source)``: the index of the offset in the window dimensions and
    the slice of ``x`` the view reads at that offset (a window on an axis twice adds its offsets)."""
    ndim = len(shape_out) - len(window)
    out = []
    for index in itertools.product(*(range(w) for w in window)):
        start = [0] * ndim
        for a, k in zip(axes, index, strict=True):
            start[a] += k
        out.append((index, tuple(slice(s, s + n) for s, n in zip(start, shape_out[:ndim], strict=True))))
    return out


def window_scatter(dy, shape, axes, window):
    """The adjoint of ``sliding_window_view(x, window, axis=axes)`` for ``x`` of ``shape``: each entry of
    the windows' cotangent ``dy`` added to the entry of ``x`` it views, one add per window offset."""
    xp = xp_of(dy)
    _, _, shape_out = _window_plan(shape, window, axes)
    dy = xp.broadcast_to(xp.asarray(dy), shape_out)
    out = xp.zeros(shape, dtype=dy.dtype)
    for index, source in _offsets(axes, window, shape_out):
        out[source] += dy[(Ellipsis, *index)]
    return out


def _window_view(x, window, axes):
    """The windows of ``x`` in its own array module (CuPy has the same function)."""
    return xp_of(x).lib.stride_tricks.sliding_window_view(x, window, axis=axes)


@adjoint(window_scatter)
def window_scatter_rule(dy, shape, axes, window):
    def window_scatter_pullback(d):
        return (_window_view(d, window, axes), None, None, None)

    return window_scatter(dy, shape, axes, window), window_scatter_pullback


@forward_rule(window_scatter)
def window_scatter_jvp(args, targs):
    t = targs[0]
    return window_scatter(*args), None if t is None else window_scatter(t, *args[1:])


@nograd
def _refuse_writeable(writeable):
    if writeable:
        raise FluxpyError(WRITEABLE)


@adjoint(sliding_window_view)
def sliding_window_view_rule(x, window_shape, axis=None, *, subok=False, writeable=False):
    _refuse_writeable(writeable)
    y = xp_of(x).lib.stride_tricks.sliding_window_view(x, window_shape, axis=axis, subok=subok)
    shape = array_shape(x)
    axes, window, _ = _window_plan(shape, window_shape, axis)

    def sliding_window_view_pullback(dy):
        return (window_scatter(dy, shape, axes, window), None, None)

    return y, sliding_window_view_pullback


@keyword_forward_rule(sliding_window_view)
def sliding_window_view_jvp(args, targs, kwargs, tkwargs):
    _refuse_writeable(kwargs.get("writeable", False))
    x, t = args[0], targs[0]
    windows = xp_of(x).lib.stride_tricks.sliding_window_view
    return windows(*args, **kwargs), None if t is None else windows(_like(t, x), *args[1:], **kwargs)
