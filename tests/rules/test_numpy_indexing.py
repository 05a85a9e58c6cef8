"""Rules of fluxpy/rules/numpy_indexing.py: one table row per case, checked against finite differences."""

import warnings

import numpy as np
import pytest

import fluxpy  # noqa: F401  (registers every rule)
from fluxpy.interface import pullback
from fluxpy.rules.numpy_indexing import array_getitem_rule, scatter_add
from fluxpy.runtime import call
from fluxpy.testing import check_grads

getitem = np.ndarray.__getitem__


def rand(k, *shape):
    return np.random.default_rng(k).standard_normal(shape)


X = rand(0, 3, 4)
V = rand(1, 5)
T = rand(2, 2, 3, 4)
MASK = rand(3, 3, 4) > 0

CASES = [
    # x[idx] through np.ndarray.__getitem__
    ("int", getitem, (X, 1), {}),
    ("negative-int", getitem, (X, -1), {}),
    ("int-int", getitem, (X, (2, 3)), {}),
    ("scalar-from-1d", getitem, (V, 3), {}),
    ("slice", getitem, (X, slice(1, 3)), {}),
    ("slice-negative-step", getitem, (X, (slice(None, None, -1), slice(3, 0, -2))), {}),
    ("ellipsis", getitem, (T, (Ellipsis, 1)), {}),
    ("newaxis", getitem, (X, (None, slice(None), None)), {}),
    ("newaxis-ellipsis-int", getitem, (T, (0, None, Ellipsis, 2)), {}),
    ("fancy-list", getitem, (V, [0, 3, 4]), {}),
    ("fancy-repeated", getitem, (V, [1, 1, 1, 4]), {}),
    ("fancy-repeated-array", getitem, (X, np.array([[0, 2], [2, 2]])), {}),
    ("fancy-pair-repeated", getitem, (X, (np.array([0, 0, 2]), np.array([1, 1, 3]))), {}),
    ("fancy-mixed-slice", getitem, (T, (slice(None), [2, 0, 2], slice(1, 3))), {}),
    ("fancy-separated", getitem, (T, ([1, 1], slice(None), [0, 3])), {}),
    ("fancy-negative", getitem, (V, [-1, -1, 0]), {}),
    ("bool-mask-full", getitem, (X, MASK), {}),
    ("bool-mask-rows", getitem, (X, np.array([True, False, True])), {}),
    ("bool-mask-cols", getitem, (X, (slice(None), np.array([True, False, True, True]))), {}),
    ("zero-d-array-index", getitem, (V, np.array(2)), {}),
    # take, take_along_axis, compress
    ("take-flat", np.take, (X, np.array([0, 5, 5, 11])), {}),
    ("take-axis0", np.take, (X, [2, 0, 2]), {"axis": 0}),
    ("take-axis-neg", np.take, (T, np.array([[1, 3], [3, 3]])), {"axis": -1}),
    ("take-axis-positional", np.take, (X, [1, 1], 1), {}),
    ("take-scalar-index", np.take, (X, 2), {"axis": 1}),
    ("take-wrap", np.take, (V, [6, -7, 1]), {"mode": "wrap"}),
    ("take-clip", np.take, (V, [9, -3, 1]), {"mode": "clip"}),
    ("take_along_axis-1", np.take_along_axis, (X, np.array([[0, 0], [3, 1], [2, 2]])), {"axis": 1}),
    ("take_along_axis-0", np.take_along_axis, (X, np.array([[2, 2, 0, 1]])), {"axis": 0}),
    ("take_along_axis-argsort", np.take_along_axis, (T, np.argsort(T, axis=1)), {"axis": 1}),
    ("take_along_axis-none", np.take_along_axis, (X, np.array([11, 0, 0])), {"axis": None}),
    ("compress-axis0", np.compress, (np.array([True, False, True]), X), {"axis": 0}),
    ("compress-flat", np.compress, (np.array([False, True, True, False, True]), X), {}),
    ("compress-short", np.compress, (np.array([False, True]), X, 1), {}),
    # tril, triu
    ("tril", np.tril, (X,), {}),
    ("tril-k", np.tril, (X, -1), {}),
    ("triu-k", np.triu, (X,), {"k": 1}),
    ("triu-stack", np.triu, (T,), {}),
    ("tril-1d", np.tril, (V,), {}),
]


@pytest.mark.parametrize("f, args, kwargs", [c[1:] for c in CASES], ids=[c[0] for c in CASES])
def test_rule(f, args, kwargs):
    check_grads(f, *args, order=1, **kwargs)


@pytest.mark.second_order
@pytest.mark.parametrize("f, args, kwargs", [c[1:] for c in CASES], ids=[c[0] for c in CASES])
def test_second_order(f, args, kwargs):
    check_grads(f, *args, order=2, **kwargs)


# ---------------------------------------------------------------------------------------------------------
# direct checks


def test_repeated_indices_accumulate():
    _, back = pullback(getitem, np.arange(4.0), [0, 0, 3, 0])
    np.testing.assert_array_equal(back(np.array([1.0, 2.0, 3.0, 4.0]))[0], [7.0, 0.0, 0.0, 3.0])


def test_repeated_index_pairs_accumulate():
    x = np.zeros((2, 2))
    _, back = pullback(getitem, x, (np.array([1, 1, 0]), np.array([0, 0, 1])))
    np.testing.assert_array_equal(back(np.ones(3))[0], [[0.0, 1.0], [2.0, 0.0]])


def test_bool_mask_gradient():
    x = np.arange(6.0).reshape(2, 3)
    mask = x > 2
    _, back = pullback(getitem, x, mask)
    np.testing.assert_array_equal(back(np.array([1.0, 2.0, 3.0]))[0], [[0, 0, 0], [1, 2, 3]])


def test_scalar_element_with_python_float_cotangent():
    y, back = array_getitem_rule(V, 2)
    assert isinstance(y, np.float64)
    dx, didx = back(1.0)
    np.testing.assert_array_equal(dx, [0, 0, 1, 0, 0])
    assert didx is None


@pytest.mark.parametrize(
    "idx", [(), Ellipsis, None, (None, Ellipsis)], ids=["empty", "ellipsis", "newaxis", "both"]
)
def test_zero_d_input(idx):
    # check_grads cannot perturb a 0-d array (x + h * d is a NumPy scalar), so check the pullback directly
    x = np.array(1.5)
    y, back = array_getitem_rule(x, idx)
    dx = back(np.ones_like(y) * 2.5)[0]
    assert dx.shape == () and dx == 2.5


def test_float32_stays_float32():
    x = np.ones((3, 2), dtype=np.float32)
    y, back = array_getitem_rule(x, ([0, 0], slice(None)))
    assert back(np.ones_like(y))[0].dtype == np.float32


def test_int_input_gets_float_gradient():
    y, back = array_getitem_rule(np.arange(4), [1, 1])
    dx = back(np.ones(2))[0]
    assert dx.dtype.kind == "f"
    np.testing.assert_array_equal(dx, [0, 2, 0, 0])


def test_pullback_does_not_mutate():
    dy = np.ones(3)
    _, back = array_getitem_rule(V, [0, 0, 1])
    back(dy)
    np.testing.assert_array_equal(dy, np.ones(3))


def test_scatter_add_rule_is_a_gather():
    check_grads(scatter_add, (5,), [1, 1, 4], rand(4, 3), V, order=1)
    _, back = pullback(scatter_add, (3, 4), (slice(None), [0, 0]), rand(5, 3, 2), X)
    dd = rand(6, 3, 4)
    np.testing.assert_array_equal(back(dd)[2], dd[:, [0, 0]])


@pytest.mark.parametrize(
    "f, args",
    [
        (np.nonzero, (X,)),
        (np.flatnonzero, (X,)),
        (np.argwhere, (X,)),
        (np.unravel_index, (3, (2, 2))),
        (np.tril_indices_from, (X,)),
    ],
    ids=["nonzero", "flatnonzero", "argwhere", "unravel_index", "tril_indices_from"],
)
def test_nondifferentiable(f, args):
    y, pb = call(f, *args)
    assert all(g is None for g in pb(1.0))


def test_no_warnings_in_pullbacks():
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        _, back = pullback(np.take, np.zeros(3), [0, 0], axis=0)
        back(np.ones(2))
