"""Small differentiable helpers that rules share: unbroadcasting, shapes, safe scalars.

Each helper used inside a pullback has its own rule, so pullbacks stay differentiable.

>>> import numpy as np
>>> unbroadcast(np.ones((2, 3)), np.ones(3))
array([2., 2., 2.])
>>> float(unbroadcast(np.ones((2, 3)), 1.0))
6.0
"""

import numpy as np

from ..backend import is_array, xp_of
from .registry import adjoint, nograd

nograd(xp_of, is_array)


@nograd
def shape_of(x):
    """Shape of an array or ``()`` for a number."""
    return getattr(x, "shape", ())


@nograd
def _sum_axes(gshape, shape):
    extra = len(gshape) - len(shape)
    lead = tuple(range(extra))
    ones = tuple(i + extra for i, n in enumerate(shape) if n == 1 and gshape[i + extra] != 1)
    return lead + ones


def unbroadcast(g, x):
    """Sum the cotangent ``g`` down to the shape of ``x`` (undoing broadcasting); numbers give a float."""
    gshape = getattr(g, "shape", ())
    shape = getattr(x, "shape", ())
    if gshape == shape:
        if shape == () and not hasattr(x, "shape") and hasattr(g, "shape"):
            return g[()] if hasattr(g, "ndim") and g.ndim == 0 else g
        return g
    axes = _sum_axes(gshape, shape)
    if type(g) is np.ndarray:
        out = g.sum(axis=axes, keepdims=True)  # the method: no dispatch through np.sum's wrapper
    else:
        out = xp_of(g).sum(g, axis=axes, keepdims=True)
    if len(gshape) != len(shape):
        out = out.reshape(shape)
    if shape == () and not hasattr(x, "shape"):
        return out[()]
    return out


@adjoint(unbroadcast)
def unbroadcast_rule(g, x):
    def unbroadcast_pullback(dd):
        xp = xp_of(g)
        return (xp.broadcast_to(dd, shape_of(g)), None)

    return unbroadcast(g, x), unbroadcast_pullback


@nograd
def is_number(x):
    """True for Python and NumPy real scalars (not arrays)."""
    return isinstance(x, (int, float, np.integer, np.floating)) and not isinstance(x, (bool, np.bool_))


@nograd
def is_python_scalar(*xs):
    """True when every value is a Python ``float`` or ``int`` (fast path with ``math``)."""
    for x in xs:
        t = type(x)
        if t is not float and t is not int:
            return False
    return True
