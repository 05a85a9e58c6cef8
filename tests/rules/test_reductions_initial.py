"""``initial=`` of the reductions (rules/numpy_reductions.py) and of the ufuncs' ``reduce`` methods
(rules/numpy_ufunc_methods.py) gets its gradient: a sum's is the sum of the cotangent, a product's the sum
of the cotangent times the product of the entries kept, a max's or min's the cotangent where the initial
value is the result (a tie split as between entries). Reverse, forward and second order, with ``where=``."""

import numpy as np
import pytest

import fluxpy as fx
from fluxpy.testing import check_grads

RNG = np.random.default_rng(1)
X = RNG.standard_normal((3, 4, 5))
I, J, K = np.indices(X.shape)
MASK = (I + J + K) % 3 != 0
COLUMNS = np.array([True, False, True, True, False])
XZ = X.copy()
XZ[0, 1, [0, 1]] = 0.0  # two zeros kept by MASK in one slice
XZ[1, 1, 2] = 0.0  # one zero kept
NANS = X.copy()
NANS[0, 0, 1] = NANS[2, 3, 4] = NANS[1, 2, 0] = np.nan


CASES = [
    pytest.param(lambda x, c: np.sum(x, initial=c), X, 1.5, id="sum"),
    pytest.param(lambda x, c: np.sum(x, axis=1, initial=c), X, 1.5, id="sum-axis"),
    pytest.param(
        lambda x, c: np.sum(x, axis=(0, 2), keepdims=True, initial=c, where=MASK), X, 1.5, id="sum-where"
    ),
    pytest.param(lambda x, c: np.sum(x, 2, None, None, False, c), X, 1.5, id="sum-by-position"),
    pytest.param(lambda x, c: x.sum(axis=0, initial=c), X, 1.5, id="ndarray.sum"),
    pytest.param(lambda x, c: np.nansum(x, axis=1, initial=c, where=MASK), NANS, 1.5, id="nansum"),
    pytest.param(lambda x, c: np.prod(x, initial=c), X[0], 1.5, id="prod"),
    pytest.param(lambda x, c: np.prod(x, axis=2, initial=c), XZ, 1.5, id="prod-zeros"),
    pytest.param(lambda x, c: np.prod(x, axis=2, initial=c, where=MASK), XZ, -0.5, id="prod-where-zeros"),
    pytest.param(lambda x, c: x.prod(axis=1, keepdims=True, initial=c), X, 1.5, id="ndarray.prod"),
    pytest.param(lambda x, c: np.nanprod(x, axis=1, initial=c), NANS, 1.5, id="nanprod"),
    pytest.param(lambda x, c: np.nanprod(x, axis=0, initial=c, where=MASK), NANS, 1.5, id="nanprod-where"),
    pytest.param(lambda x, c: np.max(x, axis=2, initial=c), X, 0.5, id="max"),  # some results are c
    pytest.param(lambda x, c: np.max(x, initial=c), X, 10.0, id="max-is-initial"),
    pytest.param(lambda x, c: np.max(x, axis=1, where=MASK, initial=c), X, 0.3, id="max-where"),
    pytest.param(lambda x, c: np.amin(x, axis=(0, 1), keepdims=True, initial=c), X, -0.9, id="amin"),
    pytest.param(lambda x, c: x.min(axis=0, where=MASK, initial=c), X, -0.2, id="ndarray.min"),
    pytest.param(lambda x, c: np.nanmax(x, axis=2, initial=c), NANS, 0.5, id="nanmax"),
    pytest.param(lambda x, c: np.nanmin(x, axis=0, where=MASK, initial=c), NANS, -0.5, id="nanmin-where"),
    pytest.param(lambda x, c: np.add.reduce(x, axis=None, initial=c, where=COLUMNS), X, 1.5, id="add.reduce"),
    pytest.param(lambda x, c: np.multiply.reduce(x, axis=1, initial=c), X, 1.5, id="multiply.reduce"),
    pytest.param(
        lambda x, c: np.maximum.reduce(x, axis=1, where=MASK, initial=c), X, 0.3, id="maximum.reduce"
    ),
    pytest.param(lambda x, c: np.minimum.reduce(x, axis=2, initial=c), X, -0.5, id="minimum.reduce"),
]


@pytest.mark.second_order
@pytest.mark.parametrize("f, x, c", CASES)
def test_gradients_match_finite_differences(f, x, c):
    check_grads(f, x, c, order=2)  # both arguments: reverse, forward and second order (the cross terms too)


@pytest.mark.parametrize("f, x, c", CASES)
def test_initial_gets_a_gradient(f, x, c):
    (g,) = fx.gradient(lambda c: np.sum(f(x, c)), c)
    assert g is not None
    step = 1e-6
    expected = (np.sum(f(x, c + step)) - np.sum(f(x, c - step))) / (2 * step)
    np.testing.assert_allclose(g, expected, rtol=1e-6, atol=1e-8)


@pytest.mark.parametrize("f, x, c", CASES)
def test_forward_mode_moves_with_initial(f, x, c):
    y, t = fx.jvp(lambda c: f(x, c), (c,), (1.0,))
    np.testing.assert_array_equal(y, f(x, c))
    step = 1e-6
    np.testing.assert_allclose(t, (f(x, c + step) - f(x, c - step)) / (2 * step), rtol=1e-6, atol=1e-8)


def test_the_example_of_the_issue():
    x = np.array([1.0, 2.0])
    assert fx.gradient(lambda c: np.sum(x, initial=c), 1.0) == (1.0,)
    assert fx.gradient(lambda c: np.prod(x, initial=c), 3.0) == (2.0,)


def test_prod_with_a_zero_gives_initial_no_gradient_and_the_zero_one():
    x = np.array([2.0, 0.0, 3.0])
    gx, gc = fx.gradient(lambda x, c: np.prod(x, initial=c), x, 2.0)
    np.testing.assert_array_equal(gx, [0.0, 12.0, 0.0])
    assert gc == 0.0


@pytest.mark.parametrize("f", [np.max, np.nanmax, np.maximum.reduce])
def test_max_tie_with_initial_splits_as_between_entries(f):
    x = np.array([3.0, 1.0, 3.0])
    gx, gc = fx.gradient(lambda x, c: f(x, initial=c), x, 3.0)
    np.testing.assert_allclose(gx, [1 / 3, 0.0, 1 / 3])
    np.testing.assert_allclose(gc, 1 / 3)
    gx, gc = fx.gradient(lambda x, c: f(x, initial=c), x, 5.0)  # the result is initial: all of it
    np.testing.assert_array_equal(gx, [0.0, 0.0, 0.0])
    assert gc == 1.0


def test_min_where_nothing_kept_gives_initial_the_gradient():
    x = np.array([[1.0, 2.0], [7.0, 3.0]])
    keep = [[False, False], [True, False]]
    gx, gc = fx.gradient(lambda x, c: np.sum(np.min(x, axis=1, where=keep, initial=c)), x, 10.0)
    np.testing.assert_array_equal(gx, [[0.0, 0.0], [1.0, 0.0]])
    assert gc == 1.0


def test_integer_initial_stays_a_constant():
    x = np.array([1.0, 2.0])
    assert fx.gradient(lambda x: np.sum(x, initial=1), x)[0].tolist() == [1.0, 1.0]
    assert fx.gradient(lambda x: np.prod(x, initial=2), x)[0].tolist() == [4.0, 2.0]
