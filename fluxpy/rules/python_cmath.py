"""Rules for the ``cmath`` module: complex numbers (or ints and floats, read as complex) in, complex out.

Complex values follow the library's convention (rules/numpy_elementwise.py, ChainRules'): the cotangent of
``z = a + ib`` is ``dL/da + i dL/db``, so the pullback of a holomorphic ``f`` multiplies the cotangent by
``conj(f'(z))``, and a real argument (``cmath.exp(x)`` of a float ``x``) keeps the real part. The values
are ``cmath``'s own; the derivatives are written with ``cmath`` functions and operators, which have rules,
so they can be differentiated again. A derivative that is infinite (``sqrt`` at 0, ``asin`` at 1) goes
through ``divide_or_zero``: 0 for a zero cotangent, and no ``ZeroDivisionError``. ``phase``, ``polar`` and
``rect`` are written with ``math`` and ``complex``, as CPython computes them.

>>> import cmath, fluxpy as fx
>>> fx.gradient(lambda t: cmath.exp(1j * t).real, 0.5)[0] == -cmath.sin(0.5).real
True
>>> round(fx.gradient(lambda x: abs(cmath.sqrt(complex(x, 1.0))), 1.5)[0], 6)
0.309848
"""

import cmath
import math

import numpy as np

from .helpers import conj
from .numpy_elementwise import divide_or_zero
from .numpy_implemented import implemented
from .registry import adjoint, nograd

_LN10 = math.log(10.0)


@nograd
def _is_complex(z):
    return type(z) is complex or getattr(getattr(z, "dtype", None), "kind", None) == "c"


def _onto(g, z):
    """The cotangent ``g`` of argument ``z``: all of it for a complex ``z``, its real part for a real one."""
    if _is_complex(z):
        return g
    return np.real(g)


def _holomorphic(primal, derivative):
    """The rule of ``primal(z)`` whose derivative is ``derivative(z, y)`` (``y = primal(z)``)."""

    def rule(z):
        y = primal(z)

        def holomorphic_pullback(dy):
            return (_onto(dy * conj(derivative(z, y)), z),)

        return y, holomorphic_pullback

    rule.__name__ = f"cmath_{primal.__name__}_rule"
    return adjoint(primal)(rule)


def _inverse(primal, denominator):
    """The rule of ``primal(z)`` whose derivative is ``1 / denominator(z, y)``, infinite where that is 0."""

    def rule(z):
        y = primal(z)

        def inverse_pullback(dy):
            return (_onto(divide_or_zero(dy, conj(denominator(z, y))), z),)

        return y, inverse_pullback

    rule.__name__ = f"cmath_{primal.__name__}_rule"
    return adjoint(primal)(rule)


_holomorphic(cmath.exp, lambda z, y: y)
_holomorphic(cmath.sin, lambda z, y: cmath.cos(z))
_holomorphic(cmath.cos, lambda z, y: -cmath.sin(z))
_holomorphic(cmath.tan, lambda z, y: 1 + y * y)
_holomorphic(cmath.sinh, lambda z, y: cmath.cosh(z))
_holomorphic(cmath.cosh, lambda z, y: cmath.sinh(z))
_holomorphic(cmath.tanh, lambda z, y: 1 - y * y)
_inverse(cmath.sqrt, lambda z, y: 2 * y)
_inverse(cmath.log10, lambda z, y: z * _LN10)
_inverse(cmath.asin, lambda z, y: cmath.sqrt(1 - z * z))
_inverse(cmath.acos, lambda z, y: -cmath.sqrt(1 - z * z))
_inverse(cmath.atan, lambda z, y: 1 + z * z)
_inverse(cmath.asinh, lambda z, y: cmath.sqrt(z * z + 1))
_inverse(cmath.acosh, lambda z, y: cmath.sqrt(z - 1) * cmath.sqrt(z + 1))
_inverse(cmath.atanh, lambda z, y: 1 - z * z)


@adjoint(cmath.log)
def cmath_log_rule(z, *base):
    """``log(z)`` and ``log(z, base)``: ``1 / z``, and for the base ``-log(z, base) / (base log(base))``."""
    y = cmath.log(z, *base)

    def log_pullback(dy):
        if not base:
            return (_onto(divide_or_zero(dy, conj(z)), z),)
        (b,) = base
        ln_b = cmath.log(b)
        dz = divide_or_zero(dy, conj(z * ln_b))
        db = -divide_or_zero(dy * conj(y), conj(b * ln_b))
        return (_onto(dz, z), _onto(db, b))

    return y, log_pullback


@implemented(cmath.phase)
def phase_impl(z):
    """``cmath.phase``: ``atan2(imag, real)``, as CPython computes it."""
    c = complex(z)
    return math.atan2(c.imag, c.real)


@implemented(cmath.polar)
def polar_impl(z):
    """``cmath.polar``: ``(abs(z), phase(z))``."""
    c = complex(z)
    return abs(c), math.atan2(c.imag, c.real)


@implemented(cmath.rect)
def rect_impl(r, phi):
    """``cmath.rect`` of finite arguments: ``r (cos phi + i sin phi)``; CPython's special cases of
    infinities and NaNs are its own."""
    if not (math.isfinite(r) and math.isfinite(phi)):
        return _rect_special(r, phi)
    return complex(r * math.cos(phi), r * math.sin(phi))


@nograd
def _rect_special(r, phi):
    return cmath.rect(r, phi)


nograd(cmath.isfinite, cmath.isinf, cmath.isnan, cmath.isclose)
