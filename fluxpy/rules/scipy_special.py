"""Rules for ``scipy.special``, registered when SciPy is imported (fluxpy/rules/optional.py): SciPy is
optional, and fluxpy never imports it itself.

``logsumexp`` is SciPy's own Python code, which writes into arrays and calls array-API helpers that fluxpy
refuses to transform; its rule computes the value with SciPy and the gradient as the softmax it is:
``d logsumexp(a, b=w) / da = w * exp(a - y)`` and ``/ dw = exp(a - y)``, the output broadcast back over the
reduced axes: ``fx.gradient(scipy.special.logsumexp, np.log(np.array([1.0, 3.0])))`` is
``(array([0.25, 0.75]),)``.

Importing this module without SciPy registers nothing (pytest imports every module for its doctests).
"""

import numpy as np

try:
    import scipy.special as special
except ImportError:  # SciPy is optional
    special = None

from ..backend import xp_of
from ..errors import FluxpyError
from .helpers import array_like_primals, takes_array_likes, unbroadcast
from .registry import nograd, register

LOGSUMEXP_SIGN = (
    "scipy.special.logsumexp(..., return_sign=True) has no rule in fluxpy: its sign is piecewise constant "
    "and its magnitude a log of an absolute value. Use return_sign=False (weights b that keep the sum "
    "positive), or write it with np.log(np.abs(...)) and np.sign."
)


@nograd
def _kept_shape(a, b, axis):
    """The shape of ``logsumexp``'s result with the reduced axes kept (as ``keepdims=True`` gives it)."""
    shape = np.shape(a) if b is None else np.broadcast_shapes(np.shape(a), np.shape(b))
    n = len(shape)
    if axis is None:
        axes = set(range(n))
    else:
        axes = {int(k) % n for k in (axis if isinstance(axis, (tuple, list)) else (axis,))}
    return tuple(1 if i in axes else d for i, d in enumerate(shape))


def logsumexp_rule(a, axis=None, b=None, keepdims=False, return_sign=False):
    if return_sign:
        raise FluxpyError(LOGSUMEXP_SIGN)
    y = special.logsumexp(a, axis=axis, b=b, keepdims=keepdims)
    kept = _kept_shape(a, b, axis)
    xp = xp_of(a)

    def logsumexp_pullback(dy):
        e = xp.exp(a - xp.reshape(y, kept))  # the softmax of a (unweighted)
        g = xp.reshape(dy, kept) * e
        da = unbroadcast(g if b is None else g * b, a)
        db = None if b is None else unbroadcast(g, b)
        return (da, None, db, None, None)

    return y, logsumexp_pullback


if special is not None:
    _logsumexp = takes_array_likes(logsumexp_rule)  # lists read as arrays, as SciPy reads them
    register(special.logsumexp, _logsumexp)
    array_like_primals[special.logsumexp] = _logsumexp.array_parameters
