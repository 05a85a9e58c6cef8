"""Rules for NumPy's elementwise functions: ufuncs, ``clip``, ``where``, ``nan_to_num`` and array methods.

The arithmetic ufuncs that back Python's operators (``add``, ``subtract``, ``multiply``, ``divide``,
``true_divide``, ``power``, ``negative``, ``positive``) live in ``python_operators.py`` and
``python_power.py`` beside the operators.

Each rule is one table row: the primal's value, then its derivative inside a pullback named after it. The
pullbacks use only functions that have rules here or in ``python_*.py``, so they can be differentiated
again. Singular derivatives (``sqrt`` at 0, ``arcsin`` at 1, ``hypot`` at the origin) go through
:func:`divide_or_zero`: no warnings, and a zero cotangent gives a zero gradient (``np.where(x > 0,
np.sqrt(x), 0)`` has gradient 0 at ``x == 0``, not NaN). At a tie, ``maximum``/``minimum``/``fmax``/
``fmin`` split the gradient evenly. Complex inputs follow ChainRules' convention (the cotangent of
``z = a + ib`` is ``dL/da + i dL/db``): a holomorphic rule's pullback multiplies by ``conj(f'(z))``
(:func:`fluxpy.rules.helpers.conj`, the identity on real values), and a real result of a complex input
(``abs``, ``angle``) keeps only the real part of its cotangent. A ufunc's ``dtype=`` keyword casts the
inputs (:func:`fluxpy.rules.helpers.in_dtype`); their cotangents are cast back.

>>> import numpy as np
>>> y, back = sin_rule(np.array([0.0, 1.0]))
>>> back(np.ones(2))
(array([1.        , 0.54030231]),)
"""

import math

import numpy as np

from ..backend import is_array, xp_of
from .helpers import (
    accept_array_likes,
    carries_values,
    cast_back,
    conj,
    in_dtype,
    unbroadcast,
)
from .registry import adjoint, nograd, register_attribute, register_method

_LN2 = math.log(2.0)
_LN10 = math.log(10.0)
_PI = math.pi
_DEG2RAD = math.pi / 180.0
_RAD2DEG = 180.0 / math.pi


# ---------------------------------------------------------------------------------------------------------
# helpers (bookkeeping is @nograd; divide_or_zero has its own rule so pullbacks using it stay differentiable)


@nograd
def _nones(n):
    """A tuple of ``n`` Nones: the cotangents of trailing non-differentiable positional arguments."""
    return (None,) * n


@nograd
def _is_complex(x):
    t = type(x)
    if t is float or t is int:
        return False
    if t is complex:
        return True
    dtype = getattr(x, "dtype", None)
    if dtype is not None:
        return dtype.kind == "c"
    return np.iscomplexobj(x)  # lists


@nograd
def _float_dtype(x):
    """The dtype of ``x`` when it is a float array or NumPy float scalar, else None."""
    dtype = getattr(x, "dtype", None)
    if dtype is not None and dtype.kind == "f":
        return dtype
    return None


def divide_or_zero(n, d):
    """``n / d``, but 0 where ``n == 0`` (even where ``d == 0``), and no divide-by-zero warnings."""
    xp = xp_of(n, d)
    with np.errstate(divide="ignore", invalid="ignore"):
        q = xp.where(n == 0, 0, xp.divide(n, d))
    if q.ndim == 0 and not is_array(n) and not is_array(d):
        return q[()]
    return q


@adjoint(divide_or_zero)
def divide_or_zero_rule(n, d):
    z = divide_or_zero(n, d)

    def divide_or_zero_pullback(dz):
        cd = conj(d)  # complex: dz * conj(1 / d) and dz * conj(-z / d)
        return (unbroadcast(divide_or_zero(dz, cd), n), unbroadcast(-divide_or_zero(dz * conj(z), cd), d))

    return z, divide_or_zero_pullback


# ---------------------------------------------------------------------------------------------------------
# trigonometric and hyperbolic functions


@adjoint(np.sin)
def sin_rule(x, *, dtype=None):
    if dtype is not None:
        return in_dtype(np.sin, sin_rule, dtype, x)
    xp = xp_of(x)

    def sin_pullback(dy):
        return (dy * conj(xp.cos(x)),)

    return xp.sin(x), sin_pullback


@adjoint(np.cos)
def cos_rule(x, *, dtype=None):
    if dtype is not None:
        return in_dtype(np.cos, cos_rule, dtype, x)
    xp = xp_of(x)

    def cos_pullback(dy):
        return (-dy * conj(xp.sin(x)),)

    return xp.cos(x), cos_pullback


@adjoint(np.tan)
def tan_rule(x, *, dtype=None):
    if dtype is not None:
        return in_dtype(np.tan, tan_rule, dtype, x)
    xp = xp_of(x)
    y = xp.tan(x)

    def tan_pullback(dy):
        return (dy * conj(1 + y * y),)

    return y, tan_pullback


@adjoint(np.arcsin)
def arcsin_rule(x, *, dtype=None):
    if dtype is not None:
        return in_dtype(np.arcsin, arcsin_rule, dtype, x)
    xp = xp_of(x)

    def arcsin_pullback(dy):
        return (divide_or_zero(dy, conj(xp.sqrt(1 - x * x))),)

    return xp.arcsin(x), arcsin_pullback


@adjoint(np.arccos)
def arccos_rule(x, *, dtype=None):
    if dtype is not None:
        return in_dtype(np.arccos, arccos_rule, dtype, x)
    xp = xp_of(x)

    def arccos_pullback(dy):
        return (-divide_or_zero(dy, conj(xp.sqrt(1 - x * x))),)

    return xp.arccos(x), arccos_pullback


@adjoint(np.arctan)
def arctan_rule(x, *, dtype=None):
    if dtype is not None:
        return in_dtype(np.arctan, arctan_rule, dtype, x)
    xp = xp_of(x)

    def arctan_pullback(dy):
        return (dy / conj(1 + x * x),)

    return xp.arctan(x), arctan_pullback


@adjoint(np.sinh)
def sinh_rule(x, *, dtype=None):
    if dtype is not None:
        return in_dtype(np.sinh, sinh_rule, dtype, x)
    xp = xp_of(x)

    def sinh_pullback(dy):
        return (dy * conj(xp.cosh(x)),)

    return xp.sinh(x), sinh_pullback


@adjoint(np.cosh)
def cosh_rule(x, *, dtype=None):
    if dtype is not None:
        return in_dtype(np.cosh, cosh_rule, dtype, x)
    xp = xp_of(x)

    def cosh_pullback(dy):
        return (dy * conj(xp.sinh(x)),)

    return xp.cosh(x), cosh_pullback


@adjoint(np.tanh)
def tanh_rule(x, *, dtype=None):
    if dtype is not None:
        return in_dtype(np.tanh, tanh_rule, dtype, x)
    xp = xp_of(x)
    y = xp.tanh(x)

    def tanh_pullback(dy):
        return (dy * conj(1 - y * y),)

    return y, tanh_pullback


@adjoint(np.arcsinh)
def arcsinh_rule(x, *, dtype=None):
    if dtype is not None:
        return in_dtype(np.arcsinh, arcsinh_rule, dtype, x)
    xp = xp_of(x)

    def arcsinh_pullback(dy):
        return (dy / conj(xp.sqrt(x * x + 1)),)

    return xp.arcsinh(x), arcsinh_pullback


@adjoint(np.arccosh)
def arccosh_rule(x, *, dtype=None):
    if dtype is not None:
        return in_dtype(np.arccosh, arccosh_rule, dtype, x)
    xp = xp_of(x)

    def arccosh_pullback(dy):
        return (divide_or_zero(dy, conj(xp.sqrt(x - 1) * xp.sqrt(x + 1))),)

    return xp.arccosh(x), arccosh_pullback


@adjoint(np.arctanh)
def arctanh_rule(x, *, dtype=None):
    if dtype is not None:
        return in_dtype(np.arctanh, arctanh_rule, dtype, x)
    xp = xp_of(x)

    def arctanh_pullback(dy):
        return (divide_or_zero(dy, conj(1 - x * x)),)

    return xp.arctanh(x), arctanh_pullback


@adjoint(np.sinc)
def sinc_rule(x):
    xp = xp_of(x)
    y = xp.sinc(x)

    def sinc_pullback(dy):
        return (dy * conj(sinc_derivative(x)),)

    return y, sinc_pullback


_SINC_SERIES = 1e-2  # below this |x|, sinc' is its Taylor polynomial (the exact form cancels there)
_SINC_C1, _SINC_C3, _SINC_C5 = -(_PI**2) / 3, _PI**4 / 30, -(_PI**6) / 840


def sinc_derivative(x):
    """``d/dx sin(pi x) / (pi x) = (cos(pi x) - sinc(x)) / x``, and near 0 its Taylor polynomial
    ``-pi^2 x / 3 + pi^4 x^3 / 30 - pi^6 x^5 / 840``: written with differentiable operations that stay
    finite at 0 (so its own derivative there, ``-pi^2 / 3``, is finite too), as ``where``'s untaken branch
    is evaluated at a safe stand-in."""
    xp = xp_of(x)
    small = xp.abs(x) < _SINC_SERIES
    safe = xp.where(small, 1.0, x)
    exact = (xp.cos(_PI * safe) - xp.sinc(safe)) / safe
    x2 = x * x
    series = x * (_SINC_C1 + x2 * (_SINC_C3 + x2 * _SINC_C5))
    d = xp.where(small, series, exact)
    return d if is_array(x) else d[()]


@adjoint(np.deg2rad, np.radians)
def deg2rad_rule(x, *, dtype=None):
    if dtype is not None:
        return in_dtype(np.deg2rad, deg2rad_rule, dtype, x)
    xp = xp_of(x)

    def deg2rad_pullback(dy):
        return (dy * _DEG2RAD,)

    return xp.deg2rad(x), deg2rad_pullback


@adjoint(np.rad2deg, np.degrees)
def rad2deg_rule(x, *, dtype=None):
    if dtype is not None:
        return in_dtype(np.rad2deg, rad2deg_rule, dtype, x)
    xp = xp_of(x)

    def rad2deg_pullback(dy):
        return (dy * _RAD2DEG,)

    return xp.rad2deg(x), rad2deg_pullback


# ---------------------------------------------------------------------------------------------------------
# exponentials, logarithms, roots, powers


@adjoint(np.exp)
def exp_rule(x, *, dtype=None):
    if dtype is not None:
        return in_dtype(np.exp, exp_rule, dtype, x)
    xp = xp_of(x)
    y = xp.exp(x)

    def exp_pullback(dy):
        return (dy * conj(y),)

    return y, exp_pullback


@adjoint(np.exp2)
def exp2_rule(x, *, dtype=None):
    if dtype is not None:
        return in_dtype(np.exp2, exp2_rule, dtype, x)
    xp = xp_of(x)
    y = xp.exp2(x)

    def exp2_pullback(dy):
        return (dy * conj(y) * _LN2,)

    return y, exp2_pullback


@adjoint(np.expm1)
def expm1_rule(x, *, dtype=None):
    if dtype is not None:
        return in_dtype(np.expm1, expm1_rule, dtype, x)
    xp = xp_of(x)
    y = xp.expm1(x)

    def expm1_pullback(dy):
        return (dy * conj(y + 1),)

    return y, expm1_pullback


@adjoint(np.log)
def log_rule(x, *, dtype=None):
    if dtype is not None:
        return in_dtype(np.log, log_rule, dtype, x)
    xp = xp_of(x)

    def log_pullback(dy):
        return (divide_or_zero(dy, conj(x)),)

    return xp.log(x), log_pullback


@adjoint(np.log2)
def log2_rule(x, *, dtype=None):
    if dtype is not None:
        return in_dtype(np.log2, log2_rule, dtype, x)
    xp = xp_of(x)

    def log2_pullback(dy):
        return (divide_or_zero(dy, conj(x) * _LN2),)

    return xp.log2(x), log2_pullback


@adjoint(np.log10)
def log10_rule(x, *, dtype=None):
    if dtype is not None:
        return in_dtype(np.log10, log10_rule, dtype, x)
    xp = xp_of(x)

    def log10_pullback(dy):
        return (divide_or_zero(dy, conj(x) * _LN10),)

    return xp.log10(x), log10_pullback


@adjoint(np.log1p)
def log1p_rule(x, *, dtype=None):
    if dtype is not None:
        return in_dtype(np.log1p, log1p_rule, dtype, x)
    xp = xp_of(x)

    def log1p_pullback(dy):
        return (divide_or_zero(dy, conj(1 + x)),)

    return xp.log1p(x), log1p_pullback


@adjoint(np.sqrt)
def sqrt_rule(x, *, dtype=None):
    if dtype is not None:
        return in_dtype(np.sqrt, sqrt_rule, dtype, x)
    xp = xp_of(x)
    y = xp.sqrt(x)

    def sqrt_pullback(dy):
        return (divide_or_zero(dy, 2 * conj(y)),)

    return y, sqrt_pullback


@adjoint(np.cbrt)
def cbrt_rule(x, *, dtype=None):
    if dtype is not None:
        return in_dtype(np.cbrt, cbrt_rule, dtype, x)
    xp = xp_of(x)
    y = xp.cbrt(x)

    def cbrt_pullback(dy):
        return (divide_or_zero(dy, 3 * y * y),)

    return y, cbrt_pullback


@adjoint(np.square)
def square_rule(x, *, dtype=None):
    if dtype is not None:
        return in_dtype(np.square, square_rule, dtype, x)
    xp = xp_of(x)

    def square_pullback(dy):
        return (2 * conj(x) * dy,)

    return xp.square(x), square_pullback


@adjoint(np.reciprocal)
def reciprocal_rule(x, *, dtype=None):
    if dtype is not None:
        return in_dtype(np.reciprocal, reciprocal_rule, dtype, x)
    xp = xp_of(x)
    y = xp.reciprocal(x)

    def reciprocal_pullback(dy):
        return (-dy * conj(y * y),)

    return y, reciprocal_pullback


@adjoint(np.float_power)
def float_power_rule(a, b, *, dtype=None):
    if dtype is not None:
        return in_dtype(np.float_power, float_power_rule, dtype, a, b)
    xp = xp_of(a, b)
    y = xp.float_power(a, b)

    def float_power_pullback(dy):
        da = dy * conj(b * xp.float_power(a, b - 1))
        if _is_complex(y):  # the principal branch: log(a) is defined for a != 0
            db = dy * conj(y * xp.log(xp.where(a == 0, 1, a) + 0j))
        else:  # d/db a**b = a**b log(a), defined for a > 0; elsewhere log of a safe stand-in gives 0
            db = dy * y * xp.log(xp.where(a > 0, a, 1))
        return (unbroadcast(da, a), unbroadcast(db, b))

    return y, float_power_pullback


@adjoint(np.logaddexp)
def logaddexp_rule(a, b, *, dtype=None):
    if dtype is not None:
        return in_dtype(np.logaddexp, logaddexp_rule, dtype, a, b)
    xp = xp_of(a, b)
    y = xp.logaddexp(a, b)

    def logaddexp_pullback(dy):
        return (unbroadcast(dy * xp.exp(a - y), a), unbroadcast(dy * xp.exp(b - y), b))

    return y, logaddexp_pullback


@adjoint(np.logaddexp2)
def logaddexp2_rule(a, b, *, dtype=None):
    if dtype is not None:
        return in_dtype(np.logaddexp2, logaddexp2_rule, dtype, a, b)
    xp = xp_of(a, b)
    y = xp.logaddexp2(a, b)

    def logaddexp2_pullback(dy):
        return (unbroadcast(dy * xp.exp2(a - y), a), unbroadcast(dy * xp.exp2(b - y), b))

    return y, logaddexp2_pullback


@adjoint(np.ldexp)
def ldexp_rule(x, e, *, dtype=None):
    if dtype is not None:
        return in_dtype(np.ldexp, ldexp_rule, dtype, x, e)
    xp = xp_of(x, e)

    def ldexp_pullback(dy):
        return (unbroadcast(xp.ldexp(dy, e), x), None)

    return xp.ldexp(x, e), ldexp_pullback


@adjoint(np.frexp)
def frexp_rule(x, *, dtype=None):
    if dtype is not None:
        return in_dtype(np.frexp, frexp_rule, dtype, x)
    xp = xp_of(x)
    y = xp.frexp(x)

    def frexp_pullback(dy):
        # x = mantissa * 2**exponent, so dmantissa/dx = 2**-exponent; the exponent is an integer
        if dy[0] is None:
            return (None,)
        return (xp.ldexp(dy[0], -y[1]),)

    return y, frexp_pullback


# ---------------------------------------------------------------------------------------------------------
# two-argument geometry, maxima and minima (ties split the gradient evenly), remainders


@adjoint(np.arctan2)
def arctan2_rule(y1, x1, *, dtype=None):
    if dtype is not None:
        return in_dtype(np.arctan2, arctan2_rule, dtype, y1, x1)
    xp = xp_of(y1, x1)

    def arctan2_pullback(dy):
        r2 = x1 * x1 + y1 * y1
        return (unbroadcast(divide_or_zero(dy * x1, r2), y1), unbroadcast(-divide_or_zero(dy * y1, r2), x1))

    return xp.arctan2(y1, x1), arctan2_pullback


@adjoint(np.hypot)
def hypot_rule(a, b, *, dtype=None):
    if dtype is not None:
        return in_dtype(np.hypot, hypot_rule, dtype, a, b)
    xp = xp_of(a, b)
    y = xp.hypot(a, b)

    def hypot_pullback(dy):
        return (unbroadcast(divide_or_zero(dy * a, y), a), unbroadcast(divide_or_zero(dy * b, y), b))

    return y, hypot_pullback


@adjoint(np.maximum)
def maximum_rule(a, b, *, dtype=None):
    if dtype is not None:
        return in_dtype(np.maximum, maximum_rule, dtype, a, b)
    xp = xp_of(a, b)

    def maximum_pullback(dy):
        half = 0.5 * dy * (a == b)
        return (unbroadcast(dy * (a > b) + half, a), unbroadcast(dy * (b > a) + half, b))

    return xp.maximum(a, b), maximum_pullback


@adjoint(np.minimum)
def minimum_rule(a, b, *, dtype=None):
    if dtype is not None:
        return in_dtype(np.minimum, minimum_rule, dtype, a, b)
    xp = xp_of(a, b)

    def minimum_pullback(dy):
        half = 0.5 * dy * (a == b)
        return (unbroadcast(dy * (a < b) + half, a), unbroadcast(dy * (b < a) + half, b))

    return xp.minimum(a, b), minimum_pullback


@adjoint(np.fmax)
def fmax_rule(a, b, *, dtype=None):
    if dtype is not None:
        return in_dtype(np.fmax, fmax_rule, dtype, a, b)
    xp = xp_of(a, b)

    def fmax_pullback(dy):
        # fmax ignores a NaN operand: the gradient goes to the other one
        half = 0.5 * dy * (a == b)
        a_wins = xp.logical_or(a > b, xp.isnan(b))
        b_wins = xp.logical_or(b > a, xp.isnan(a))
        return (unbroadcast(dy * a_wins + half, a), unbroadcast(dy * b_wins + half, b))

    return xp.fmax(a, b), fmax_pullback


@adjoint(np.fmin)
def fmin_rule(a, b, *, dtype=None):
    if dtype is not None:
        return in_dtype(np.fmin, fmin_rule, dtype, a, b)
    xp = xp_of(a, b)

    def fmin_pullback(dy):
        half = 0.5 * dy * (a == b)
        a_wins = xp.logical_or(a < b, xp.isnan(b))
        b_wins = xp.logical_or(b < a, xp.isnan(a))
        return (unbroadcast(dy * a_wins + half, a), unbroadcast(dy * b_wins + half, b))

    return xp.fmin(a, b), fmin_pullback


@adjoint(np.copysign)
def copysign_rule(a, b, *, dtype=None):
    if dtype is not None:
        return in_dtype(np.copysign, copysign_rule, dtype, a, b)
    xp = xp_of(a, b)

    def copysign_pullback(dy):
        # copysign(a, b) = |a| * sign(b): the sign of b is piecewise constant, so b gets no gradient
        return (unbroadcast(dy * xp.sign(a) * xp.copysign(1, b), a), None)

    return xp.copysign(a, b), copysign_pullback


@adjoint(np.heaviside)
def heaviside_rule(x, h0, *, dtype=None):
    if dtype is not None:
        return in_dtype(np.heaviside, heaviside_rule, dtype, x, h0)
    xp = xp_of(x, h0)
    at_zero = _where_zero(x)

    def heaviside_pullback(dy):
        # a step in x (piecewise constant: no gradient); the value where x == 0 is h0
        if at_zero is None:
            return (None, None)
        return (None, unbroadcast(dy * at_zero, h0))

    return xp.heaviside(x, h0), heaviside_pullback


@nograd
def _where_zero(x):
    """The mask ``x == 0``, or None where no entry is 0."""
    mask = x == 0
    return mask if xp_of(mask).any(mask) else None


@adjoint(np.remainder)
def remainder_rule(a, b, *, dtype=None):
    if dtype is not None:
        return in_dtype(np.remainder, remainder_rule, dtype, a, b)
    xp = xp_of(a, b)

    def remainder_pullback(dy):
        # a % b = a - floor(a / b) * b
        return (unbroadcast(dy, a), unbroadcast(-dy * xp.floor_divide(a, b), b))

    return xp.remainder(a, b), remainder_pullback


@adjoint(np.fmod)
def fmod_rule(a, b, *, dtype=None):
    if dtype is not None:
        return in_dtype(np.fmod, fmod_rule, dtype, a, b)
    xp = xp_of(a, b)

    def fmod_pullback(dy):
        # fmod(a, b) = a - trunc(a / b) * b
        return (unbroadcast(dy, a), unbroadcast(-dy * xp.trunc(a / b), b))

    return xp.fmod(a, b), fmod_pullback


@adjoint(np.divmod)
def divmod_rule(a, b, *, dtype=None):
    if dtype is not None:
        return in_dtype(np.divmod, divmod_rule, dtype, a, b)
    xp = xp_of(a, b)
    y = xp.divmod(a, b)

    def divmod_pullback(dy):
        # the quotient is piecewise constant; the remainder is a - quotient * b
        dr = dy[1]
        if dr is None:
            return (None, None)
        return (unbroadcast(dr, a), unbroadcast(-dr * y[0], b))

    return y, divmod_pullback


@adjoint(np.modf)
def modf_rule(x, *, dtype=None):
    if dtype is not None:
        return in_dtype(np.modf, modf_rule, dtype, x)
    xp = xp_of(x)
    y = xp.modf(x)

    def modf_pullback(dy):
        # (fractional part, integral part): only the fractional part depends smoothly on x
        if dy[0] is None:
            return (None,)
        return (dy[0],)

    return y, modf_pullback


# ---------------------------------------------------------------------------------------------------------
# absolute values and complex parts


@adjoint(np.absolute, np.fabs)
def absolute_rule(x, *, dtype=None):
    if dtype is not None:
        return in_dtype(np.absolute, absolute_rule, dtype, x)
    xp = xp_of(x)
    if _is_complex(x):

        def complex_absolute_pullback(dy):
            # |z| is real: its cotangent's real part is its own (an imaginary part can come from a complex
            # product |z| took part in); d|z| = Re(conj(z / |z|) dz): the cotangent is Re(dy) z / |z|, 0 at
            # 0 (sign(z) is that too, but has no derivative)
            return (divide_or_zero(xp.real(dy) * x, xp.absolute(x)),)

        return xp.absolute(x), complex_absolute_pullback

    def absolute_pullback(dy):
        # sign(x) is the subgradient 0 at 0
        return (dy * xp.sign(x),)

    return xp.absolute(x), absolute_pullback


@adjoint(np.real)
def real_rule(x):
    xp = xp_of(x)

    def real_pullback(dy):
        return (xp.real(dy),)

    return xp.real(x), real_pullback


@adjoint(np.imag)
def imag_rule(x):
    xp = xp_of(x)
    complex_input = _is_complex(x)

    def imag_pullback(dy):
        if complex_input:
            return (1j * xp.real(dy),)
        return (None,)  # the imaginary part of a real value is constant 0

    return xp.imag(x), imag_pullback


@adjoint(np.conjugate)
def conjugate_rule(x, *, dtype=None):
    if dtype is not None:
        return in_dtype(np.conjugate, conjugate_rule, dtype, x)
    xp = xp_of(x)

    def conjugate_pullback(dy):
        return (xp.conjugate(dy),)

    return xp.conjugate(x), conjugate_pullback


@nograd
def _angle_in_degrees(args, kwargs):
    return bool(args[0]) if args else bool(kwargs.get("deg", False))


@adjoint(np.angle)
def angle_rule(z, *args, **kwargs):
    xp = xp_of(z)
    complex_input = _is_complex(z)
    degrees = _angle_in_degrees(args, kwargs)

    def angle_pullback(dy):
        # the angle of a real value is piecewise constant; for z it is atan2(Im z, Re z)
        dz = None
        if complex_input:
            dz = divide_or_zero(1j * z * xp.real(dy), xp.real(z * xp.conjugate(z)))
            if degrees:
                dz = dz * _RAD2DEG
        return (dz,) + _nones(len(args))

    return xp.angle(z, *args, **kwargs), angle_pullback


register_method(("conj", "conjugate"), conjugate_rule)
register_attribute("real", real_rule)
register_attribute("imag", imag_rule)


# ---------------------------------------------------------------------------------------------------------
# clip, where, nan_to_num


@nograd
def _clip_bounds(bounds, kwargs):
    """(lower, upper) from positional bounds or the keywords a_min/a_max (np.clip) or min/max (methods)."""
    lower = bounds[0] if len(bounds) > 0 else kwargs.get("a_min", kwargs.get("min"))
    upper = bounds[1] if len(bounds) > 1 else kwargs.get("a_max", kwargs.get("max"))
    novalue = getattr(np, "_NoValue", None)
    return (None if lower is novalue else lower), (None if upper is novalue else upper)


@nograd
def _clip_masks(a, lower, upper):
    """Masks (inside, below, above) as clip computes minimum(maximum(a, lower), upper)."""
    xp = xp_of(a, lower, upper)
    raised = a if lower is None else xp.maximum(a, lower)
    above = xp.zeros((), dtype=bool) if upper is None else xp.greater(raised, upper)
    below = xp.zeros((), dtype=bool) if lower is None else xp.logical_and(a < lower, ~above)
    inside = xp.logical_not(xp.logical_or(above, below))
    return inside, below, above


def _bound_cotangent(dy, mask, bound):
    if bound is None:
        return None
    return unbroadcast(dy * mask, bound)


def _clip_result(a, y, bounds, kwargs):
    """``(y, clip_pullback)``: the gradient goes to ``a`` inside the bounds, to a bound where it clipped."""
    lower, upper = _clip_bounds(bounds, kwargs)
    masks = _clip_masks(a, lower, upper)
    n = len(bounds)

    def clip_pullback(dy):
        da = unbroadcast(dy * masks[0], a)
        if n == 0:
            return (da,)
        dlower = _bound_cotangent(dy, masks[1], bounds[0])
        if n == 1:
            return (da, dlower)
        dupper = _bound_cotangent(dy, masks[2], bounds[1])
        return (da, dlower, dupper) + _nones(n - 2)

    return y, clip_pullback


@adjoint(np.clip)
def clip_rule(a, *bounds, **kwargs):
    xp = xp_of(a)
    return _clip_result(a, xp.clip(a, *bounds, **kwargs), bounds, kwargs)


def clip_method_rule(self, *bounds, **kwargs):
    return _clip_result(self, self.clip(*bounds, **kwargs), bounds, kwargs)


register_method("clip", clip_method_rule)


@adjoint(np.where)
def where_rule(condition, *branches):
    xp = xp_of(condition, *branches)
    if len(branches) == 0:

        def where_indices_pullback(dy):
            return (None,)  # np.where(condition) gives indices: no gradient

        return xp.where(condition), where_indices_pullback
    x = branches[0]
    y = branches[1]

    def where_pullback(dy):
        return (None, unbroadcast(xp.where(condition, dy, 0), x), unbroadcast(xp.where(condition, 0, dy), y))

    return xp.where(condition, x, y), where_pullback


@adjoint(np.nan_to_num)
def nan_to_num_rule(x, *args, **kwargs):
    xp = xp_of(x)

    def nan_to_num_pullback(dy):
        # replaced entries are constants; finite entries pass through
        return (dy * xp.isfinite(x),) + _nones(len(args))

    return xp.nan_to_num(x, *args, **kwargs), nan_to_num_pullback


# ---------------------------------------------------------------------------------------------------------
# array methods that pass the gradient through: astype, copy; round has none


def astype_method_rule(self, *args, **kwargs):
    y = self.astype(*args, **kwargs)
    carries = _carries_values(y)

    def astype_pullback(dy):
        dx = None
        if carries:
            dx = cast_back(dy, self)  # a float input gets its own float dtype back; a number stays one
        return (dx,) + _nones(len(args))

    return y, astype_pullback


_carries_values = carries_values  # a cast's result that holds the input's values (helpers.py)


def copy_method_rule(self, *args, **kwargs):
    def copy_pullback(dy):
        return (dy,) + _nones(len(args))

    return self.copy(*args, **kwargs), copy_pullback


def round_method_rule(self, *args, **kwargs):
    n = len(args) + 1

    def round_pullback(dy):
        return _nones(n)  # rounding is piecewise constant

    return self.round(*args, **kwargs), round_pullback


register_method("astype", astype_method_rule)
adjoint(np.astype)(astype_method_rule)
register_method("copy", copy_method_rule)
register_method("round", round_method_rule)


# ---------------------------------------------------------------------------------------------------------
# non-differentiable: piecewise constant, boolean, integer-only


_NOGRAD_NAMES = """
    sign floor ceil trunc rint round around fix floor_divide spacing nextafter
    isnan isinf isfinite isposinf isneginf isnat isreal iscomplex isrealobj iscomplexobj signbit
    isclose allclose
    greater greater_equal less less_equal equal not_equal logical_and logical_or logical_xor logical_not
    bitwise_and bitwise_or bitwise_xor bitwise_count invert left_shift right_shift gcd lcm
""".split()

nograd(*[getattr(np, name) for name in _NOGRAD_NAMES if hasattr(np, name)])


# lists and tuples where NumPy reads arrays (rules/helpers.py); not in np.astype, which takes arrays only
accept_array_likes(__name__, skip=(np.astype,))
