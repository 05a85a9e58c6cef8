"""Rules added after the 13th bug hunt: math.fsum, math.dist, math.gamma and math.lgamma (through the
polygamma functions), the reduce and accumulate methods of NumPy's arithmetic ufuncs, and np.fromiter."""

import math

import numpy as np
import pytest

import fluxpy as fx
from fluxpy.rules.math import polygamma
from fluxpy.testing import check_grads


def special(x):
    return math.lgamma(x) + math.gamma(x / 2) * 0.1


@pytest.mark.parametrize("x", [0.7, 3.3, 12.5, -1.4, -0.3])
def test_gamma_and_lgamma(x):
    check_grads(special, x, order=2, forward=True)


def test_polygamma_known_values():
    euler = 0.5772156649015329
    assert polygamma(0, 1.0) == pytest.approx(-euler, abs=1e-14)
    assert polygamma(0, 0.5) == pytest.approx(-euler - 2 * math.log(2), abs=1e-14)
    assert polygamma(1, 1.0) == pytest.approx(math.pi**2 / 6, abs=1e-13)
    assert polygamma(1, 0.5) == pytest.approx(math.pi**2 / 2, abs=1e-13)
    assert polygamma(2, 1.0) == pytest.approx(-2 * 1.2020569031595942, abs=1e-13)  # -2 ζ(3)
    assert polygamma(0, -0.5) == pytest.approx(2 - euler - 2 * math.log(2), abs=1e-13)  # ψ(1/2) + 2
    assert math.isnan(polygamma(0, -2.0))
    h = 1e-5  # ψ is lgamma's derivative
    assert polygamma(0, 4.2) == pytest.approx(
        (math.lgamma(4.2 + h) - math.lgamma(4.2 - h)) / (2 * h), rel=1e-8
    )


def sums(x):
    return math.fsum([x, x * x, 1e-3]) + math.fsum(t * 2 for t in (x, 3.0))


def distances(a):
    return math.dist((a[0], a[1], 1.0), [a[2], 0.5, a[0] * 2]) + math.dist(a, np.array([0.1, 0.2, 0.3]))


def test_fsum_and_dist():
    check_grads(sums, 1.7, order=2, forward=True)
    assert fx.gradient(sums, 1.7)[0] == pytest.approx(1 + 2 * 1.7 + 2)
    check_grads(distances, np.array([1.0, 2.0, 3.0]), order=2, forward=True)


def ufunc_methods(x):
    return (
        np.sum(np.maximum.accumulate(x, axis=1) ** 2)
        + np.sum(np.minimum.accumulate(x) * x)
        + np.sum(np.add.reduce(x, axis=1) ** 2)
        + np.sum(np.multiply.reduce(x))
        + np.sum(np.maximum.reduce(x, axis=0))
        + np.sum(np.minimum.reduce(x, 1) ** 3)
        + np.sum(np.add.accumulate(x, 1) ** 2)
        + np.sum(np.multiply.accumulate(x))
        + np.add.reduce(x, axis=None)
    )


def test_ufunc_reduce_and_accumulate():
    x = np.random.default_rng(0).standard_normal((3, 4))
    check_grads(ufunc_methods, x, order=2, forward=True)
    np.testing.assert_array_equal(
        fx.gradient(lambda v: np.sum(np.maximum.accumulate(v)), np.array([1.0, 3.0, 2.0, 5.0]))[0],
        [1.0, 2.0, 0.0, 1.0],  # the running maximum 1, 3, 3, 5 reads x[0], x[1] twice, x[3]
    )
    with pytest.raises(fx.FluxpyError, match="out="):
        fx.gradient(lambda v: np.sum(np.add.accumulate(v, out=np.empty(3))), np.ones(3))


def from_iterator(x):
    a = np.fromiter((t * t for t in x), dtype=float)
    b = np.fromiter(iter([x[0], x[1] * 3, 7.0]), float, count=2)
    return np.sum(a * x) + np.sum(b**2)


def test_fromiter():
    x = np.array([1.0, 2.0, 3.0])
    check_grads(from_iterator, x, order=2, forward=True)
    np.testing.assert_allclose(fx.gradient(from_iterator, x)[0], [5.0, 48.0, 27.0])
