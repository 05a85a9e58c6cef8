"""Rules for the ``cmath`` module (fluxpy/rules/python_cmath.py): reverse mode to second order and forward mode
against finite differences, through real inputs made complex, and with respect to complex inputs in the
library's convention (the cotangent of ``z = a + ib`` is ``dL/da + i dL/db``)."""

import cmath
import math

import pytest

import fluxpy as fx
from fluxpy.testing import check_grads

HOLOMORPHIC = [
    cmath.exp,
    cmath.log,
    cmath.log10,
    cmath.sqrt,
    cmath.sin,
    cmath.cos,
    cmath.tan,
    cmath.asin,
    cmath.acos,
    cmath.atan,
    cmath.sinh,
    cmath.cosh,
    cmath.tanh,
    cmath.asinh,
    cmath.acosh,
    cmath.atanh,
]


def through(f):
    """A real loss of two reals through ``f`` of the complex number they make."""

    def loss(a, b):
        w = f(complex(a, b))
        return w.real * 0.7 - w.imag * 1.3

    return loss


def of_a_real(f):
    def loss(x):
        w = f(x)
        return w.real * 0.4 + w.imag * 1.1

    return loss


@pytest.mark.parametrize("f", HOLOMORPHIC, ids=lambda f: f.__name__)
def test_holomorphic_functions_of_a_complex_number(f):
    check_grads(through(f), 0.4, 0.3, order=2, forward=True)


@pytest.mark.parametrize("f", HOLOMORPHIC, ids=lambda f: f.__name__)
def test_a_real_argument_gets_a_real_gradient(f):
    x = 1.7 if f in (cmath.acosh,) else 0.45
    check_grads(of_a_real(f), x, order=2, forward=True)
    g = fx.gradient(of_a_real(f), x)[0]
    assert isinstance(g, float)


@pytest.mark.parametrize("f", HOLOMORPHIC, ids=lambda f: f.__name__)
def test_the_gradient_with_respect_to_a_complex_input(f):
    z, h = 0.4 + 0.3j, 1e-6
    loss = through(lambda w: f(w))

    def real_loss(w):
        v = f(w)
        return v.real * 0.7 - v.imag * 1.3

    g = fx.gradient(real_loss, z)[0]
    da = (loss(z.real + h, z.imag) - loss(z.real - h, z.imag)) / (2 * h)
    db = (loss(z.real, z.imag + h) - loss(z.real, z.imag - h)) / (2 * h)
    assert g == pytest.approx(complex(da, db), rel=1e-6, abs=1e-8)


def log_with_base(a, b):
    return cmath.log(complex(a, 0.5), b).real + cmath.log(complex(a, 0.5), complex(b, 0.2)).imag


def polar_loss(a, b):
    r, phi = cmath.polar(complex(a, b))
    return r * 2.0 + phi


def phase_loss(a, b):
    return cmath.phase(complex(a, b)) * a


def rect_loss(r, phi):
    z = cmath.rect(r, phi)
    return z.real * 0.3 + z.imag


@pytest.mark.parametrize("f", [log_with_base, polar_loss, phase_loss, rect_loss])
def test_two_argument_and_real_valued_functions(f):
    check_grads(f, 1.3, 0.6, order=2, forward=True)


def test_values_are_cmaths_own():
    z = 0.4 + 0.3j
    for f in HOLOMORPHIC:
        assert fx.withgradient(lambda a: f(complex(a, 0.3)).real, 0.4)[0] == f(z).real
    assert fx.withgradient(lambda r: cmath.rect(r, 0.2).imag, 2.0)[0] == cmath.rect(2.0, 0.2).imag
    assert fx.withgradient(lambda a: cmath.polar(complex(a, 0.3))[1], 0.4)[0] == cmath.polar(z)[1]


def test_infinite_derivatives_give_no_error():
    # sqrt at 0: an infinite derivative; with a zero cotangent the gradient is 0, as NumPy's rules
    assert fx.gradient(lambda x: cmath.sqrt(x).imag * 0.0 + x, 0.0) == (1.0,)
    g = fx.gradient(lambda x: cmath.sqrt(x).real, 0.0)[0]
    assert math.isinf(g)


def test_predicates_have_no_gradient():
    def f(x):
        z = complex(x, 1.0)
        if cmath.isfinite(z) and not cmath.isnan(z) and cmath.isclose(z, z):
            return x * 2.0
        return x

    assert fx.gradient(f, 1.0) == (2.0,)


def test_rect_of_infinities_is_cmaths():
    assert fx.withgradient(lambda r: cmath.rect(r, 0.0).real, math.inf)[0] == math.inf
