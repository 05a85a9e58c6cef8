"""Rules for the ``reduce`` and ``accumulate`` methods of NumPy's arithmetic ufuncs.

``np.add.reduce(x, axis)`` is ``np.sum``, ``np.maximum.accumulate(x)`` a running maximum. The sums and
products go to the functions with rules (``np.sum``, ``np.cumsum``, ...); a running maximum or minimum is
a loop of ``np.maximum`` (``np.minimum``) along the axis, whose rules split a tie evenly between the running
value and the new entry. The transformer differentiates these implementations as any Python function.

>>> import numpy as np, fluxpy as fx
>>> fx.gradient(lambda x: np.sum(np.maximum.accumulate(x)), np.array([1.0, 3.0, 2.0, 5.0]))[0]
array([1., 2., 0., 1.])
"""

import numpy as np

from ..backend import xp_of
from ..errors import FluxpyError
from .higher_order import implemented_by
from .registry import register


def _options(ufunc, method, dtype, out):
    if out is not None:
        raise FluxpyError(
            f"np.{ufunc.__name__}.{method}(..., out=...) writes in place; use its result instead"
        )
    return dtype


def add_reduce(x, axis=0, dtype=None, out=None, keepdims=False):
    _options(np.add, "reduce", dtype, out)
    return xp_of(x).sum(x, axis=axis, dtype=dtype, keepdims=keepdims)


def multiply_reduce(x, axis=0, dtype=None, out=None, keepdims=False):
    _options(np.multiply, "reduce", dtype, out)
    return xp_of(x).prod(x, axis=axis, dtype=dtype, keepdims=keepdims)


def maximum_reduce(x, axis=0, dtype=None, out=None, keepdims=False):
    _options(np.maximum, "reduce", dtype, out)
    return xp_of(x).max(x, axis=axis, keepdims=keepdims)


def minimum_reduce(x, axis=0, dtype=None, out=None, keepdims=False):
    _options(np.minimum, "reduce", dtype, out)
    return xp_of(x).min(x, axis=axis, keepdims=keepdims)


def add_accumulate(x, axis=0, dtype=None, out=None):
    _options(np.add, "accumulate", dtype, out)
    return xp_of(x).cumsum(x, axis=axis, dtype=dtype)


def multiply_accumulate(x, axis=0, dtype=None, out=None):
    _options(np.multiply, "accumulate", dtype, out)
    return xp_of(x).cumprod(x, axis=axis, dtype=dtype)


def _running(step, x, axis):
    """The running ``step`` (``np.maximum``) of ``x`` along ``axis``, one entry at a time."""
    xp = xp_of(x)
    moved = xp.moveaxis(xp.asarray(x), axis, 0)
    if moved.shape[0] == 0:
        return xp.asarray(x).copy()
    value = moved[0]
    values = [value]
    for k in range(1, moved.shape[0]):
        value = step(value, moved[k])
        values.append(value)
    return xp.moveaxis(xp.stack(values), 0, axis)


def maximum_accumulate(x, axis=0, dtype=None, out=None):
    _options(np.maximum, "accumulate", dtype, out)
    return _running(np.maximum, x, axis)


def minimum_accumulate(x, axis=0, dtype=None, out=None):
    _options(np.minimum, "accumulate", dtype, out)
    return _running(np.minimum, x, axis)


for _method, _impl in [
    (np.add.reduce, add_reduce),
    (np.multiply.reduce, multiply_reduce),
    (np.maximum.reduce, maximum_reduce),
    (np.minimum.reduce, minimum_reduce),
    (np.add.accumulate, add_accumulate),
    (np.multiply.accumulate, multiply_accumulate),
    (np.maximum.accumulate, maximum_accumulate),
    (np.minimum.accumulate, minimum_accumulate),
]:
    register(_method, implemented_by(_impl))
