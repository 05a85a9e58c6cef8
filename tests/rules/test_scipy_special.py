"""``scipy.special`` rules (rules/scipy_special.py, registered on SciPy's import by rules/optional.py):
one row per function through check_grads at second order (reverse, forward, gradient of gradient)."""

import numpy as np
import pytest

import fluxpy as fx
from fluxpy.testing import check_grads

special = pytest.importorskip("scipy.special")

X = np.array([0.3, 1.2, 2.5])
Y = np.array([1.7, 0.4, 3.1])
P = np.array([0.2, 0.55, 0.9])
S = np.random.default_rng(0).standard_normal((3, 4))

CASES = [
    pytest.param(special.gammaln, (X,), id="gammaln"),
    pytest.param(special.psi, (X,), id="psi"),
    pytest.param(special.digamma, (X,), id="digamma"),
    pytest.param(lambda x: special.polygamma(1, x), (X,), id="polygamma"),
    pytest.param(special.gamma, (X,), id="gamma"),
    pytest.param(special.betaln, (X, Y), id="betaln"),
    pytest.param(special.betaln, (X, 2.0), id="betaln-scalar"),
    pytest.param(special.erf, (X - 1.0,), id="erf"),
    pytest.param(special.erfc, (X - 1.0,), id="erfc"),
    pytest.param(special.expit, (X - 1.0,), id="expit"),
    pytest.param(special.logit, (P,), id="logit"),
    pytest.param(special.xlogy, (X, Y), id="xlogy"),
    pytest.param(special.xlog1py, (X, Y), id="xlog1py"),
    pytest.param(special.erf, (0.4,), id="erf-float"),
    pytest.param(lambda x: special.log_softmax(x, axis=1), (S,), id="log_softmax-axis"),
    pytest.param(special.log_softmax, (S,), id="log_softmax"),
    pytest.param(lambda x: special.softmax(x, axis=0), (S,), id="softmax-axis"),
    pytest.param(special.logsumexp, (S,), id="logsumexp"),
]


@pytest.mark.second_order
@pytest.mark.parametrize("f, args", CASES)
def test_gradients_match_finite_differences(f, args):
    check_grads(f, *args, order=2)


def test_xlogy_at_zero_gives_no_nan():
    (gy,) = fx.gradient(lambda y: np.sum(special.xlogy(np.array([0.0, 1.0]), y)), np.array([0.0, 2.0]))
    np.testing.assert_array_equal(gy, [0.0, 0.5])
    (gx,) = fx.gradient(lambda x: np.sum(special.xlogy(x, np.array([0.0, 2.0]))), np.array([0.0, 1.0]))
    np.testing.assert_allclose(gx, [0.0, np.log(2.0)])


def test_xlogy_is_linear_in_x_at_zero_too():
    """d/dx x log(y) = log(y) at x = 0 as elsewhere (finite differences, JAX and PyTorch agree); only where
    y has no logarithm is it 0, as PyTorch's."""
    x, y = np.array([0.0, 0.0, 1.5]), np.array([2.0, 3.0, 4.0])
    (gx,) = fx.gradient(lambda x: np.sum(special.xlogy(x, y)), x)
    np.testing.assert_allclose(gx, np.log(y))
    (gx,) = fx.gradient(lambda x: np.sum(special.xlog1py(x, y)), x)
    np.testing.assert_allclose(gx, np.log1p(y))
    check_grads(lambda x: np.sum(special.xlogy(x, y) + special.xlog1py(x, y)), x, order=2)
    (gx,) = fx.gradient(lambda x: np.sum(special.xlog1py(x, np.array([-1.0, 1.0]))), np.array([0.0, 0.0]))
    np.testing.assert_allclose(gx, [0.0, np.log(2.0)])


def test_gammaln_derivative_is_digamma():
    (g,) = fx.gradient(lambda x: np.sum(special.gammaln(x)), X)
    np.testing.assert_allclose(g, special.psi(X))


def test_lists_read_as_arrays():
    (g,) = fx.gradient(lambda x: np.sum(special.erf(x)), [0.5, 1.0])
    np.testing.assert_allclose(g, 2 / np.sqrt(np.pi) * np.exp(-(np.array([0.5, 1.0]) ** 2)))
