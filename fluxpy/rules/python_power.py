"""Rules for ``a ** b`` (``operator.pow``, ``np.power``, ``pow``) and for the power by a literal exponent that
generated code calls (``power_by_constant``): the cases where the textbook derivative is 0 * inf or NaN (a
zero base, a zero exponent) and complex results are handled here, in forms that differentiate again.

>>> y, back = power_by_constant_rule(3.0, 2)
>>> y, back(1.0)
(9.0, (6.0, None))
"""

import builtins
import math
import operator

import numpy as np

from ..backend import xp_of
from .helpers import conj, unbroadcast
from .python_common import _SCALARS, _complex, _none_pullback, _numeric, _plain, _scalars
from .python_operators import _other_operands, numpy_semantics
from .registry import adjoint, nograd, partial_of

# =========================================================================================================
# a ** b


@adjoint(operator.pow)
def power_rule(a, b):
    if not _plain(a, b):
        return _other_operands(operator.pow, "pow", a, b)
    y = a**b
    if _scalars(a, b) and type(y) is not complex:  # (-8.0) ** (1 / 3) is complex: the general path

        def power_scalar_pullback(dy):
            if a > 0:
                return (dy * b * a ** (b - 1), dy * y * math.log(a))
            if a == 0:  # Python raises on 0.0 ** -0.5 where NumPy gives inf (see zero_base_power)
                return ((dy * b * zero_base_power(a, b - 1) if b != 0 else 0.0), 0.0)
            return (dy * b * a ** (b - 1), math.nan)

        return y, power_scalar_pullback

    if _complex(y):
        return y, _complex_power_pullback(a, b, y)
    return y, _power_pullback(a, b, y, True)


@partial_of(power_rule)
def power_partial(mask, a, b):
    """``power_rule`` for a caller that wants no cotangent for a constant base: its term, ``b * a ** (b -
    1)``, is never computed (``0.0 ** y``)."""
    if mask[0] or not _plain(a, b):
        return power_rule(a, b)
    y = a**b
    if _complex(y):
        return y, _complex_power_pullback(a, b, y)
    if _scalars(a, b):

        def power_exponent_pullback(dy):
            if a > 0:
                return (None, dy * y * math.log(a))
            return (None, 0.0 if a == 0 else math.nan)

        return y, power_exponent_pullback
    return y, _power_pullback(a, b, y, False)


def _power_pullback(a, b, y, base):
    """The pullback of a real ``a ** b`` of arrays or NumPy numbers (without ``a``'s cotangent unless
    ``base``)."""

    def power_pullback(dy):
        xp = xp_of(a, b, y)
        da = None
        if base and _zero_exponent(b):
            # b * a ** (b - 1) is 0 * inf where a == b == 0 (x ** 0, and the second derivative of x ** 1):
            # zero there, with a ** (b - 1) read at 1 so that differentiating this again stays finite
            at_zero = (a == 0) & (b == 0)
            safe_a = xp.where(at_zero, 1.0, a)
            da = unbroadcast(xp.where(at_zero, 0.0, dy * b * safe_a ** (b - 1)), a)
        elif base:
            da = unbroadcast(dy * b * a ** (b - 1), a)
        # a Python number's comparisons are bools: CuPy's where takes arrays only (an exponent on a device)
        positive, zero = xp.asarray(a > 0), xp.asarray(a == 0)
        log_a = xp.log(xp.where(positive, a, 1))
        db = xp.where(positive, dy * y * log_a, xp.where(zero, 0.0, math.nan))
        return (da, unbroadcast(db, b))

    return power_pullback


def zero_base_power(a, e):
    """``a ** e`` for a zero base ``a`` (a Python number), as NumPy computes it: ``inf`` for a negative
    ``e`` (``-inf`` at ``-0.0`` with an odd integer ``e``), where Python raises ZeroDivisionError. The
    derivative of ``x ** b`` at 0 reads it (``b * 0.0 ** (b - 1)`` is ``inf`` for ``0 < b < 1``, as
    ``np.sqrt``'s rule gives)."""
    if e >= 0:
        return a**e
    if math.copysign(1.0, a) < 0 and e == int(e) and int(e) % 2:
        return -math.inf
    return math.inf


@adjoint(zero_base_power)
def zero_base_power_rule(a, e):
    def zero_base_power_pullback(dy):
        # the exponent's cotangent at a zero base is 0, as power_rule's (d/db of a ** b there)
        return ((dy * e * zero_base_power(a, e - 1) if e != 0 else 0.0), None)

    return zero_base_power(a, e), zero_base_power_pullback


adjoint(np.power)(numpy_semantics(power_rule, operator.pow, "pow", np.power))


@adjoint(builtins.pow)
def builtin_pow_rule(base, exp, mod=None):
    """``pow(base, exp)`` is ``base ** exp``; ``pow(base, exp, mod)`` is integer-only in Python: its result
    is an int, with no gradient."""
    if mod is not None:
        return pow(base, exp, mod), _none_pullback(3)
    return power_rule(base, exp)


def _complex_power_pullback(a, b, y):
    """``a ** b`` with a complex result: ``d/da = b a ** (b - 1)``, ``d/db = y log(a)`` (the principal branch;
    0 where ``a == 0``), each conjugated (see helpers.conj)."""

    def complex_power_pullback(dy):
        xp = xp_of(a, b, y)
        at_zero = (a == 0) & (b == 0)  # x ** 0: zero, with a ** (b - 1) read at 1 (as power_pullback)
        base = xp.where(at_zero, 1.0, a) + 0j  # complex: a negative real base has a complex power and log
        da = xp.where(at_zero, 0.0, dy * conj(b * base ** (b - 1)))
        db = dy * conj(y * xp.log(xp.where(a == 0, 1.0, a) + 0j))
        return (unbroadcast(da, a), unbroadcast(db, b))

    return complex_power_pullback


@nograd
def _zero_exponent(b):
    """True when the exponent ``b`` (a number or an array) is 0 somewhere."""
    if type(b) in _SCALARS:
        return b == 0
    return bool(xp_of(b).any(b == 0))


# =========================================================================================================
# a ** c for a literal c (generated code)


def power_by_constant(a, b):
    """``a ** b`` where ``b`` is a literal in the source: generated code calls this, never needing ``db``."""
    return a**b


@adjoint(power_by_constant)
def power_by_constant_rule(a, b):
    if not _numeric(a):
        return power_rule(a, b)
    if b == 2:

        def square_pullback(dy):
            return (dy * 2 * conj(a), None)

        return a * a, square_pullback
    if b == 1:
        return a**b, identity_power_pullback
    if b == 0:
        # a constant: a zero cotangent, exactly (b * a ** (b - 1) would be 0 * inf at a = 0)
        def zero_power_pullback(dy):
            return (0.0 * dy, None)

        return a**b, zero_power_pullback
    if type(a) in _SCALARS and a == 0:  # b * 0.0 ** (b - 1): inf for 0 < b < 1, where Python raises

        def zero_base_pullback(dy):
            return (dy * b * zero_base_power(a, b - 1), None)

        return a**b, zero_base_pullback

    def power_by_constant_pullback(dy):
        return (dy * conj(b * a ** (b - 1)), None)

    return a**b, power_by_constant_pullback


def identity_power_pullback(dy):
    return (dy, None)
