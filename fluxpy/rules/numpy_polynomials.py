"""Rules: NumPy's polynomial functions (coefficients highest power first, as ``np.polyval``): ``polyadd``,
``polysub``, ``polymul``, ``polyder``, ``polyint``, ``polyfit`` (``np.poly1d`` objects are refused).
They are NumPy's steps over ruled operations (rules/numpy_implemented.py's ``implemented``): gradients
of any order and forward mode come from the transformer.

>>> import numpy as np, fluxpy as fx
>>> fx.gradient(lambda p: np.sum(np.polyder(p)), np.array([1.0, 2.0, 3.0]))
(array([2., 1., 0.]),)
"""

import warnings

import numpy as np

from ..backend import to_numpy, xp_of
from ..errors import FluxpyError
from .numpy_assembly import _ones, _refused, _zeros
from .numpy_implemented import implemented
from .registry import nograd

POLY1D_UNSUPPORTED = (
    "np.{name} of np.poly1d objects has no rule in fluxpy; pass the coefficient arrays (`p.coeffs`) and wrap "
    "the result in np.poly1d afterwards"
)


POLYFIT_UNSUPPORTED = (
    "np.polyfit(..., {option}={value}) has no rule in fluxpy: only the coefficients (the default) are "
    "differentiated"
)


@nograd
def _any_poly1d(*values):
    return any(isinstance(v, np.poly1d) for v in values)


@nograd
def _numpy_poly(name, *args, **kwargs):
    return getattr(np, name)(*args, **kwargs)


def _poly1d_refused(name, *args, **kwargs):
    """NumPy's result for ``np.poly1d`` arguments, which no rule here differentiates."""
    return _refused(_numpy_poly(name, *args, **kwargs), args, POLY1D_UNSUPPORTED.format(name=name))


def _sum_poly(a1, a2, sign):
    """``np.polyadd`` (``sign`` 1) or ``np.polysub`` (-1): the shorter one padded with leading zeros."""
    xp = xp_of(a1, a2)
    a1 = np.atleast_1d(a1)
    a2 = np.atleast_1d(a2)
    diff = len(a2) - len(a1)
    if diff > 0:
        a1 = np.concatenate((_zeros(xp, diff, a1.dtype), a1))
    elif diff < 0:
        a2 = np.concatenate((_zeros(xp, -diff, a2.dtype), a2))
    if sign > 0:
        return a1 + a2
    return a1 - a2


@implemented(np.polyadd)
def polyadd_impl(a1, a2):
    """``np.polyadd``."""
    if _any_poly1d(a1, a2):
        return _poly1d_refused("polyadd", a1, a2)
    return _sum_poly(a1, a2, 1)


@implemented(np.polysub)
def polysub_impl(a1, a2):
    """``np.polysub``."""
    if _any_poly1d(a1, a2):
        return _poly1d_refused("polysub", a1, a2)
    return _sum_poly(a1, a2, -1)


@nograd
def _check_poly(a):
    if np.ndim(a) > 1:
        raise ValueError("Polynomial must be 1d only.")


def _coefficients(a):
    """The coefficients np.poly1d keeps: leading zeros trimmed, ``[0]`` for none left."""
    a = np.atleast_1d(a)
    _check_poly(a)
    a = np.trim_zeros(a, trim="f")
    if len(a) == 0:
        return _zeros(xp_of(a), 1, a.dtype)
    return a


@implemented(np.polymul)
def polymul_impl(a1, a2):
    """``np.polymul``: the convolution of the coefficients (leading zeros dropped, as np.poly1d does)."""
    if _any_poly1d(a1, a2):
        return _poly1d_refused("polymul", a1, a2)
    return np.convolve(_coefficients(a1), _coefficients(a2))


@nograd
def _order(m, what):
    m = int(m)
    if m < 0:
        other = "polyint" if what == "derivative" else "polyder"
        raise ValueError(f"Order of {what} must be positive (see {other})")
    return m


@nograd
def _powers(xp, n):
    return xp.arange(n, 0, -1)


@implemented(np.polyder)
def polyder_impl(p, m=1):
    """``np.polyder``: each coefficient times its power, ``m`` times."""
    if _any_poly1d(p):
        return _poly1d_refused("polyder", p, m)
    m = _order(m, "derivative")
    xp = xp_of(p)
    p = xp.asarray(p)
    for _ in range(m):
        p = p[:-1] * _powers(xp, len(p) - 1)
    return p


@nograd
def _check_constants(k, m):
    if len(k) < m:
        raise ValueError("k must be a scalar or a rank-1 array of length 1 or >m.")


@implemented(np.polyint)
def polyint_impl(p, m=1, k=None):
    """``np.polyint``: each coefficient divided by its new power, the constant ``k`` appended, ``m``
    times."""
    if _any_poly1d(p):
        return _poly1d_refused("polyint", p, m, k)
    m = _order(m, "integral")
    xp = xp_of(p, k)
    if k is None:
        k = _zeros(xp, m, float)
    k = np.atleast_1d(k)
    if len(k) == 1 and m > 1:
        k = k[0] * _ones(xp, m, float)
    _check_constants(k, m)
    p = xp.asarray(p)
    for i in range(m):
        p = np.concatenate((p / _powers(xp, len(p)), xp.reshape(k[i], (1,))))
    return p


@nograd
def _polyfit_checks(deg, x, y, full, cov):
    for option, value in (("full", full), ("cov", cov)):
        if value is not False:  # (cov="unscaled" too)
            raise FluxpyError(POLYFIT_UNSUPPORTED.format(option=option, value=repr(value)))
    order = int(deg) + 1
    if deg < 0:
        raise ValueError("expected deg >= 0")
    if x.ndim != 1:
        raise TypeError("expected 1D vector for x")
    if x.size == 0:
        raise TypeError("expected non-empty vector for x")
    if y.ndim < 1 or y.ndim > 2:
        raise TypeError("expected 1D or 2D array for y")
    if x.shape[0] != y.shape[0]:
        raise TypeError("expected x and y to have same length")
    return order


@nograd
def _polyfit_weights_check(w, x):
    if w.ndim != 1:
        raise TypeError("expected a 1-d array for weights")
    if w.shape[0] != x.shape[0]:
        raise TypeError("expected w and y to have the same length")


@nograd
def _default_rcond(x):
    return len(x) * np.finfo(x.dtype).eps


@nograd
def _warn_rank(lhs, rcond, order):
    s = np.linalg.svd(to_numpy(lhs), compute_uv=False)
    rank = int(np.sum(s > rcond * s[0])) if s.size else 0
    if rank != order:
        warnings.warn("Polyfit may be poorly conditioned", np.exceptions.RankWarning, stacklevel=4)


@implemented(np.polyfit)
def polyfit_impl(x, y, deg, rcond=None, full=False, w=None, cov=False):
    """``np.polyfit``: NumPy's steps, the scaled Vandermonde least-squares problem solved by ``lstsq`` (its
    rule: the rank must not change). ``full=True`` and ``cov=True`` are refused."""
    xp = xp_of(x, y)
    x = xp.asarray(x) + 0.0
    y = xp.asarray(y) + 0.0
    order = _polyfit_checks(deg, x, y, full, cov)
    if rcond is None:
        rcond = _default_rcond(x)
    lhs = np.vander(x, order)
    rhs = y
    if w is not None:
        w = xp.asarray(w) + 0.0
        _polyfit_weights_check(w, x)
        lhs = lhs * w[:, None]
        if rhs.ndim == 2:
            rhs = rhs * w[:, None]
        else:
            rhs = rhs * w
    scale = np.sqrt(np.sum(lhs * lhs, axis=0))
    lhs = lhs / scale
    _warn_rank(lhs, rcond, order)
    c = np.linalg.lstsq(lhs, rhs, rcond)[0]
    return (c.T / scale).T
