"""Functions and methods with positional-only parameters (``/``): a constructor's ``self`` may be one (it
was taken from the ordinary parameters, so the object's attribute writes were refused)."""

import pytest

import fluxpy as fx
from fluxpy.testing import check_grads


class Scale:
    def __init__(self, k, /, shift=0.0):
        self.k = k
        self.shift = shift

    def __call__(self, x, /):
        return self.k * x + self.shift


class Shifted(Scale):
    def __init__(self, k, /, *, shift):
        super().__init__(k, shift=shift * 2)


def built_inside(x):
    s = Scale(2.0, shift=x)
    return s(x) * x + Shifted(x, shift=1.0)(x)


def scaled(a, /, b=1.0):
    return a * b


def calls(x):
    return scaled(x, b=3.0) + scaled(x) + (lambda u, /, v: u * v)(x, x)


@pytest.mark.parametrize("f", [built_inside, calls])
def test_positional_only_parameters(f):
    check_grads(f, 1.5, order=2, forward=True)


def test_values_by_hand():
    assert fx.gradient(built_inside, 1.5) == pytest.approx((6 * 1.5 + 2 * 1.5,))  # 3x² + x² + 2
    assert fx.gradient(calls, 1.5) == pytest.approx((4.0 + 2 * 1.5,))
