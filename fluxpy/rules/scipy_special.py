"""Rules for ``scipy.special``, registered when SciPy is imported (fluxpy/rules/optional.py): SciPy is
optional, and fluxpy never imports it itself.

The elementwise functions (``erf``, ``gammaln``, ``xlogy``, ...) are C ufuncs fluxpy cannot read: their
derivatives are one row each of :data:`DERIVATIVES` (``f -> (df/dx, ...)``), written with functions that
have rules themselves, so second derivatives go through them (``gammaln' = psi``, ``psi' = polygamma(1,
.)``, ``polygamma(n, .)' = polygamma(n + 1, .)``). Forward mode reads the same table.

``logsumexp``, ``log_softmax`` and ``softmax`` are SciPy's own Python code, which writes into arrays and
calls array-API helpers that fluxpy refuses to transform; their rules compute the value with SciPy and the
gradient as the softmax it is: ``d logsumexp(a, b=w) / da = w * exp(a - y)`` and ``/ dw = exp(a - y)``,
the output broadcast back over the reduced axes: ``fx.gradient(scipy.special.logsumexp,
np.log(np.array([1.0, 3.0])))`` is ``(array([0.25, 0.75]),)``.

Importing this module without SciPy registers nothing (pytest imports every module for its doctests).
"""

import numpy as np

try:
    import scipy.special as special
except ImportError:  # SciPy is optional
    special = None

from ..backend import xp_of
from ..errors import FluxpyError
from .helpers import array_like_primals, conj, takes_array_likes, unbroadcast
from .numpy_elementwise import divide_or_zero
from .registry import forward_rule, nograd, register

_TWO_OVER_SQRT_PI = 2.0 / np.sqrt(np.pi)

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


# ---------------------------------------------------------------------------------------------------------
# log_softmax and softmax: SciPy's value, the softmax's gradient


def log_softmax_rule(x, axis=None):
    y = special.log_softmax(x, axis=axis)
    xp = xp_of(x)

    def log_softmax_pullback(dy):
        return (dy - xp.exp(y) * xp.sum(dy, axis=axis, keepdims=True), None)

    return y, log_softmax_pullback


def softmax_rule(x, axis=None):
    y = special.softmax(x, axis=axis)
    xp = xp_of(x)

    def softmax_pullback(dy):
        return (y * (dy - xp.sum(dy * y, axis=axis, keepdims=True)), None)

    return y, softmax_pullback


# ---------------------------------------------------------------------------------------------------------
# elementwise functions: one row each


def _xlogy_dx(x, y):
    """``log(y)``: ``x * log(y)`` is linear in ``x``, at ``x == 0`` too. Where ``x == 0`` and ``y <= 0``
    (no logarithm; SciPy's value is 0 there), 0, as PyTorch's ``xlogy``."""
    xp = xp_of(x, y)
    undefined = (x == 0) & (y <= 0)
    return xp.where(undefined, 0.0, xp.log(xp.where(undefined, 1.0, y)))


def _xlog1py_dx(x, y):
    """``log1p(y)``, and 0 where ``x == 0`` and ``y <= -1`` (as :func:`_xlogy_dx`)."""
    xp = xp_of(x, y)
    undefined = (x == 0) & (y <= -1)
    return xp.where(undefined, 0.0, xp.log1p(xp.where(undefined, 0.0, y)))


def _derivatives():
    """``f -> (df/da, df/db, ...)``, each a function of all of ``f``'s arguments (None: no gradient)."""
    psi, polygamma = special.psi, special.polygamma
    return {
        special.gammaln: (lambda x: psi(x),),
        special.psi: (lambda x: polygamma(1, x),),  # special.digamma is special.psi
        special.polygamma: (None, lambda n, x: polygamma(n + 1, x)),
        special.gamma: (lambda x: special.gamma(x) * psi(x),),
        special.betaln: (lambda a, b: psi(a) - psi(a + b), lambda a, b: psi(b) - psi(a + b)),
        special.erf: (lambda x: _TWO_OVER_SQRT_PI * xp_of(x).exp(-x * x),),
        special.erfc: (lambda x: -_TWO_OVER_SQRT_PI * xp_of(x).exp(-x * x),),
        special.expit: (lambda x: special.expit(x) * special.expit(-x),),
        special.logit: (lambda x: 1.0 / (x * (1.0 - x)),),
        special.xlogy: (_xlogy_dx, lambda x, y: divide_or_zero(x, y)),
        special.xlog1py: (_xlog1py_dx, lambda x, y: divide_or_zero(x, 1.0 + y)),
    }


def _unary_rule(f, df):
    def unary_rule(x):
        def unary_pullback(dy):
            return (dy * conj(df(x)),)

        return f(x), unary_pullback

    unary_rule.__name__ = f"{f.__name__}_rule"
    return unary_rule


def _binary_rule(f, da, db):
    def binary_rule(a, b):
        def binary_pullback(dy):
            ga = None if da is None else unbroadcast(dy * conj(da(a, b)), a)
            gb = None if db is None else unbroadcast(dy * conj(db(a, b)), b)
            return (ga, gb)

        return f(a, b), binary_pullback

    binary_rule.__name__ = f"{f.__name__}_rule"
    return binary_rule


def _elementwise_jvp(f, derivatives):
    """The forward rule of ``f`` from its row: the sum of each moving argument's tangent times its
    derivative."""

    def elementwise_jvp(args, targs):
        t = None
        for d, ta in zip(derivatives, targs, strict=True):
            if d is not None and ta is not None:
                term = ta * d(*args)
                t = term if t is None else t + term
        return f(*args), t

    elementwise_jvp.__name__ = f"{f.__name__}_jvp"
    return elementwise_jvp


def _register(f, rule):
    """Register ``rule`` for ``f``, reading lists as arrays as SciPy does."""
    taking = takes_array_likes(rule, ufunc=f if isinstance(f, np.ufunc) else None)
    register(f, taking)
    array_like_primals[f] = taking.array_parameters


if special is not None:
    _register(special.logsumexp, logsumexp_rule)
    _register(special.log_softmax, log_softmax_rule)
    _register(special.softmax, softmax_rule)
    DERIVATIVES = _derivatives()
    for _f, _ds in DERIVATIVES.items():
        _register(_f, _unary_rule(_f, *_ds) if len(_ds) == 1 else _binary_rule(_f, *_ds))
        forward_rule(_f)(_elementwise_jvp(_f, _ds))
