"""Rules for the ``math`` module: Python floats in, Python floats out.

Pullbacks use only ``math`` functions and operators (which have rules), so they can be differentiated
again: ``math.cos``'s pullback calls ``math.sin``. Python raises ``ZeroDivisionError`` where NumPy would
warn, so singular derivatives (``sqrt`` at 0, ``asin`` at 1) go through :func:`float_divide_or_zero`:
``inf`` where the derivative is infinite, and 0 when the cotangent is 0.

>>> import math
>>> y, back = cos_rule(0.5)
>>> back(1.0) == (-math.sin(0.5),)
True
"""

import math

from ..backend import is_array, xp_of
from .higher_order import implemented_by
from .python_builtins import fill_like
from .python_iteration import iterlist
from .registry import adjoint, nograd, register

_LN2 = math.log(2.0)
_LN10 = math.log(10.0)
_TWO_OVER_SQRT_PI = 2.0 / math.sqrt(math.pi)
_DEG2RAD = math.pi / 180.0
_RAD2DEG = 180.0 / math.pi


# ---------------------------------------------------------------------------------------------------------
# helpers


@nograd
def _sign(x):
    """-1.0, 0.0 or 1.0 (the subgradient of ``abs`` is 0 at 0)."""
    if x > 0:
        return 1.0
    if x < 0:
        return -1.0
    return 0.0


@nograd
def _quotient(a, b, r):
    """The integer ``n`` (as a float) with ``r == a - n * b`` for ``fmod`` and ``remainder``."""
    return float(round((a - r) / b))


@nograd
def _infinite_slope_at_zero(a, b):
    """True where d/da a**b is infinite: a == 0 and b < 1 (b != 0)."""
    return a == 0 and b < 1


def float_divide_or_zero(n, d):
    """``n / d`` for floats, but 0.0 when ``n == 0`` and a signed ``inf`` (not an error) when ``d == 0``."""
    if n == 0:
        return 0.0
    if d == 0:
        return math.copysign(math.inf, n) * math.copysign(1.0, d)
    return n / d


@adjoint(float_divide_or_zero)
def float_divide_or_zero_rule(n, d):
    z = float_divide_or_zero(n, d)

    def float_divide_or_zero_pullback(dz):
        return (float_divide_or_zero(dz, d), -float_divide_or_zero(dz * z, d))

    return z, float_divide_or_zero_pullback


# ---------------------------------------------------------------------------------------------------------
# trigonometric and hyperbolic functions


@adjoint(math.sin)
def sin_rule(x):
    def sin_pullback(dy):
        return (dy * math.cos(x),)

    return math.sin(x), sin_pullback


@adjoint(math.cos)
def cos_rule(x):
    def cos_pullback(dy):
        return (-dy * math.sin(x),)

    return math.cos(x), cos_pullback


@adjoint(math.tan)
def tan_rule(x):
    y = math.tan(x)

    def tan_pullback(dy):
        return (dy * (1.0 + y * y),)

    return y, tan_pullback


@adjoint(math.asin)
def asin_rule(x):
    def asin_pullback(dy):
        return (float_divide_or_zero(dy, math.sqrt(1.0 - x * x)),)

    return math.asin(x), asin_pullback


@adjoint(math.acos)
def acos_rule(x):
    def acos_pullback(dy):
        return (-float_divide_or_zero(dy, math.sqrt(1.0 - x * x)),)

    return math.acos(x), acos_pullback


@adjoint(math.atan)
def atan_rule(x):
    def atan_pullback(dy):
        return (dy / (1.0 + x * x),)

    return math.atan(x), atan_pullback


@adjoint(math.atan2)
def atan2_rule(y1, x1):
    def atan2_pullback(dy):
        r2 = x1 * x1 + y1 * y1
        return (float_divide_or_zero(dy * x1, r2), -float_divide_or_zero(dy * y1, r2))

    return math.atan2(y1, x1), atan2_pullback


@adjoint(math.sinh)
def sinh_rule(x):
    def sinh_pullback(dy):
        return (dy * math.cosh(x),)

    return math.sinh(x), sinh_pullback


@adjoint(math.cosh)
def cosh_rule(x):
    def cosh_pullback(dy):
        return (dy * math.sinh(x),)

    return math.cosh(x), cosh_pullback


@adjoint(math.tanh)
def tanh_rule(x):
    y = math.tanh(x)

    def tanh_pullback(dy):
        return (dy * (1.0 - y * y),)

    return y, tanh_pullback


@adjoint(math.asinh)
def asinh_rule(x):
    def asinh_pullback(dy):
        return (dy / math.sqrt(x * x + 1.0),)

    return math.asinh(x), asinh_pullback


@adjoint(math.acosh)
def acosh_rule(x):
    def acosh_pullback(dy):
        return (float_divide_or_zero(dy, math.sqrt(x - 1.0) * math.sqrt(x + 1.0)),)

    return math.acosh(x), acosh_pullback


@adjoint(math.atanh)
def atanh_rule(x):
    def atanh_pullback(dy):
        return (float_divide_or_zero(dy, 1.0 - x * x),)

    return math.atanh(x), atanh_pullback


@adjoint(math.degrees)
def degrees_rule(x):
    def degrees_pullback(dy):
        return (dy * _RAD2DEG,)

    return math.degrees(x), degrees_pullback


@adjoint(math.radians)
def radians_rule(x):
    def radians_pullback(dy):
        return (dy * _DEG2RAD,)

    return math.radians(x), radians_pullback


@adjoint(math.hypot)
def hypot_rule(*coordinates):
    y = math.hypot(*coordinates)

    def hypot_pullback(dy):
        grads = ()
        for i in range(len(coordinates)):
            grads = grads + (float_divide_or_zero(dy * coordinates[i], y),)
        return grads

    return y, hypot_pullback


# ---------------------------------------------------------------------------------------------------------
# exponentials, logarithms, roots, powers, error functions


@adjoint(math.exp)
def exp_rule(x):
    y = math.exp(x)

    def exp_pullback(dy):
        return (dy * y,)

    return y, exp_pullback


@adjoint(math.exp2)
def exp2_rule(x):
    y = math.exp2(x)

    def exp2_pullback(dy):
        return (dy * y * _LN2,)

    return y, exp2_pullback


@adjoint(math.expm1)
def expm1_rule(x):
    y = math.expm1(x)

    def expm1_pullback(dy):
        return (dy * (y + 1.0),)

    return y, expm1_pullback


@adjoint(math.log)
def log_rule(x, *base):
    y = math.log(x, *base)

    def log_pullback(dy):
        if len(base) == 0:
            return (float_divide_or_zero(dy, x),)
        # log(x, b) = ln x / ln b
        b = base[0]
        ln_b = math.log(b)
        return (float_divide_or_zero(dy, x * ln_b), -float_divide_or_zero(dy * y, b * ln_b))

    return y, log_pullback


@adjoint(math.log2)
def log2_rule(x):
    def log2_pullback(dy):
        return (float_divide_or_zero(dy, x * _LN2),)

    return math.log2(x), log2_pullback


@adjoint(math.log10)
def log10_rule(x):
    def log10_pullback(dy):
        return (float_divide_or_zero(dy, x * _LN10),)

    return math.log10(x), log10_pullback


@adjoint(math.log1p)
def log1p_rule(x):
    def log1p_pullback(dy):
        return (float_divide_or_zero(dy, 1.0 + x),)

    return math.log1p(x), log1p_pullback


@adjoint(math.sqrt)
def sqrt_rule(x):
    y = math.sqrt(x)

    def sqrt_pullback(dy):
        return (float_divide_or_zero(dy, 2.0 * y),)

    return y, sqrt_pullback


@adjoint(math.cbrt)
def cbrt_rule(x):
    y = math.cbrt(x)

    def cbrt_pullback(dy):
        return (float_divide_or_zero(dy, 3.0 * y * y),)

    return y, cbrt_pullback


@adjoint(math.pow)
def pow_rule(a, b):
    y = math.pow(a, b)

    def pow_pullback(dy):
        if b == 0:
            da = 0.0
        elif _infinite_slope_at_zero(a, b):
            da = float_divide_or_zero(dy * b, 0.0)  # infinite slope at 0 (math.pow(0, b - 1) would raise)
        else:
            da = dy * b * math.pow(a, b - 1.0)
        # d/db a**b = a**b ln a, for a > 0; a <= 0 only allows integer b (and 0**b is flat in b)
        db = 0.0
        if a > 0:
            db = dy * y * math.log(a)
        return (da, db)

    return y, pow_pullback


@adjoint(math.erf)
def erf_rule(x):
    def erf_pullback(dy):
        return (dy * _TWO_OVER_SQRT_PI * math.exp(-x * x),)

    return math.erf(x), erf_pullback


@adjoint(math.erfc)
def erfc_rule(x):
    def erfc_pullback(dy):
        return (-dy * _TWO_OVER_SQRT_PI * math.exp(-x * x),)

    return math.erfc(x), erfc_pullback


@adjoint(math.ldexp)
def ldexp_rule(x, e):
    def ldexp_pullback(dy):
        return (math.ldexp(dy, e), None)

    return math.ldexp(x, e), ldexp_pullback


@adjoint(math.frexp)
def frexp_rule(x):
    y = math.frexp(x)

    def frexp_pullback(dy):
        # x = mantissa * 2**exponent with an integer exponent
        if dy[0] is None:
            return (None,)
        return (math.ldexp(dy[0], -y[1]),)

    return y, frexp_pullback


@adjoint(math.modf)
def modf_rule(x):
    def modf_pullback(dy):
        # (fractional part, integral part): the integral part is piecewise constant
        if dy[0] is None:
            return (None,)
        return (dy[0],)

    return math.modf(x), modf_pullback


# ---------------------------------------------------------------------------------------------------------
# signs and remainders


@adjoint(math.fabs)
def fabs_rule(x):
    def fabs_pullback(dy):
        return (dy * _sign(x),)

    return math.fabs(x), fabs_pullback


@adjoint(math.copysign)
def copysign_rule(a, b):
    def copysign_pullback(dy):
        # |a| * sign(b): b's sign is piecewise constant, so b gets no gradient
        return (dy * _sign(a) * math.copysign(1.0, b), None)

    return math.copysign(a, b), copysign_pullback


@adjoint(math.fmod)
def fmod_rule(a, b):
    y = math.fmod(a, b)

    def fmod_pullback(dy):
        return (dy, -dy * _quotient(a, b, y))

    return y, fmod_pullback


@adjoint(math.remainder)
def remainder_rule(a, b):
    y = math.remainder(a, b)

    def remainder_pullback(dy):
        return (dy, -dy * _quotient(a, b, y))

    return y, remainder_pullback


# ---------------------------------------------------------------------------------------------------------
# products


def prod_impl(iterable, *, start=1):
    """``math.prod`` as a loop (Python's order of multiplication), which the transformer differentiates."""
    y = start
    for v in iterable:
        y = y * v
    return y


register(math.prod, implemented_by(prod_impl))


# ---------------------------------------------------------------------------------------------------------
# sums and distances over sequences


@adjoint(math.fsum)
def fsum_rule(xs):
    if not (type(xs) is list or type(xs) is tuple or is_array(xs)):  # an iterator: its items, read once
        from ..runtime import call

        items, items_pb = call(iterlist, xs)
        y, total_pb = call(math.fsum, items)

        def fsum_items_pullback(dy):
            g = total_pb(dy)
            return (None if g[1] is None else items_pb(g[1])[1],)

        return y, fsum_items_pullback

    def fsum_pullback(dy):
        return (fill_like(xs, dy),)

    return math.fsum(xs), fsum_pullback


def _sequence_like(xs, values):
    """``values`` (a list) in the kind of sequence ``xs`` is: a list, a tuple or an array."""
    if is_array(xs):
        return xp_of(xs).asarray(values, dtype=float)
    return values if type(xs) is list else tuple(values)


@adjoint(math.dist)
def dist_rule(p, q):
    d = math.dist(p, q)

    def dist_pullback(dy):
        scale = float_divide_or_zero(dy, d)  # the gradient of a distance 0 is 0 (a subgradient)
        diffs = [(a - b) * scale for a, b in zip(p, q, strict=True)]
        return (_sequence_like(p, diffs), _sequence_like(q, [-v for v in diffs]))

    return d, dist_pullback


# ---------------------------------------------------------------------------------------------------------
# the gamma function: derivatives through the polygamma functions


_BERNOULLI = (1 / 6, -1 / 30, 1 / 42, -1 / 30, 5 / 66, -691 / 2730, 7 / 6)  # B2, B4, ..., B14


def polygamma(n, x):
    """The ``n``-th derivative of the digamma function ``ψ = Γ'/Γ`` at the float ``x`` (``n = 0``: ψ itself),
    to about 1e-15: the recurrence ``ψ⁽ⁿ⁾(x) = ψ⁽ⁿ⁾(x + 1) + (-1)ⁿ⁺¹ n! / xⁿ⁺¹`` up to ``x ≥ 10``, then the
    asymptotic series. ``x`` a pole (0, -1, -2, ...) gives nan.

    >>> round(polygamma(0, 1.0), 12), round(polygamma(1, 1.0), 12)  # -γ and π²/6
    (-0.577215664902, 1.644934066848)
    """
    x = float(x)
    if x <= 0 and x == math.floor(x):
        return math.nan
    sign = -1.0 if n % 2 == 0 else 1.0  # (-1)ⁿ⁺¹
    fact = float(math.factorial(n))
    acc = 0.0
    while x < 10.0:
        acc += sign * fact / x ** (n + 1)
        x += 1.0
    if n == 0:
        series = math.log(x) - 0.5 / x
        for k, b in enumerate(_BERNOULLI, start=1):
            series -= b / (2 * k * x ** (2 * k))
        return acc + series
    series = math.factorial(n - 1) / x**n + fact / (2 * x ** (n + 1))
    for k, b in enumerate(_BERNOULLI, start=1):
        series += b * math.factorial(2 * k + n - 1) / (math.factorial(2 * k) * x ** (2 * k + n))
    return acc + sign * series


@adjoint(polygamma)
def polygamma_rule(n, x):
    def polygamma_pullback(dy):
        return (None, dy * polygamma(n + 1, x))

    return polygamma(n, x), polygamma_pullback


@adjoint(math.lgamma)
def lgamma_rule(x):
    def lgamma_pullback(dy):
        return (dy * polygamma(0, x),)  # d/dx log|Γ(x)| = ψ(x), for negative x too

    return math.lgamma(x), lgamma_pullback


@adjoint(math.gamma)
def gamma_rule(x):
    y = math.gamma(x)

    def gamma_pullback(dy):
        return (dy * y * polygamma(0, x),)

    return y, gamma_pullback


# ---------------------------------------------------------------------------------------------------------
# non-differentiable: integer-valued, boolean, combinatorics


_NOGRAD_NAMES = (
    "floor ceil trunc isnan isinf isfinite isclose factorial comb perm gcd lcm isqrt nextafter ulp"
)

nograd(*[getattr(math, name) for name in _NOGRAD_NAMES.split()])
