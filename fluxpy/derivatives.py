"""Jacobians and Hessians, built on ``pullback`` (one reverse pass per output element).

>>> import numpy as np, fluxpy as fx
>>> fx.jacobian(lambda x: x**2, np.array([1.0, 2.0]))[0]
array([[2., 0.],
       [0., 4.]])
>>> fx.hessian(lambda x: x**3, 2.0)
12.0
"""

import numpy as np

from .backend import is_array, xp_of
from .interface import gradient, pullback


def jacobian(f, *args, **kwargs):
    """One Jacobian per positional argument, each of shape ``y.shape + x.shape`` (zeros where no gradient).

    Computed with one reverse pass per element of the output ``y = f(*args)``.
    """
    y, back = pullback(f, *args, **kwargs)
    xp = xp_of(y, *args)
    y_arr = xp.asarray(y)
    out_shape = y_arr.shape
    dtype = _float_dtype(y_arr)
    rows = [[] for _ in args]
    for k in range(y_arr.size):
        seed = xp.zeros(y_arr.size, dtype=dtype)
        seed[k] = 1
        seed = seed.reshape(out_shape)
        grads = back(seed if is_array(y) else seed[()].item())
        for i, (g, x) in enumerate(zip(grads, args, strict=True)):
            rows[i].append(_dense(g, x, xp))
    return tuple(_stack(r, out_shape, x, xp) for r, x in zip(rows, args, strict=True))


def hessian(f, x, **kwargs):
    """The Hessian of the real-scalar ``f`` at ``x``: shape ``x.shape + x.shape``, a float for a scalar ``x``.

    Reverse over reverse: the Jacobian of ``gradient``.
    """
    (h,) = jacobian(lambda t: gradient(f, t, **kwargs)[0], x)
    if not is_array(x):
        return float(np.asarray(h).reshape(()))
    return h


def hvp(f, x, v, **kwargs):
    """The Hessian-vector product ``H(x) @ v`` of the real-scalar ``f``, without forming ``H``.

    >>> import numpy as np, fluxpy as fx
    >>> fx.hvp(lambda x: np.sum(x**3), np.array([1.0, 2.0]), np.array([1.0, 0.0]))
    array([6., 0.])
    """
    _, back = pullback(lambda t: gradient(f, t, **kwargs)[0], x)
    return back(v)[0]


def _float_dtype(a):
    return a.dtype if a.dtype.kind in "fc" else np.float64


def _dense(g, x, xp):
    shape = np.shape(x)
    if g is None:
        return xp.zeros(shape)
    return xp.asarray(g, dtype=float).reshape(shape)


def _stack(rows, out_shape, x, xp):
    shape = np.shape(x)
    return xp.stack(rows).reshape(out_shape + shape) if rows else xp.zeros(out_shape + shape)
