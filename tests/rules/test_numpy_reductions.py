"""Rules of fluxpy/rules/numpy_reductions.py: one table row per rule and option, checked against finite
differences; ties in max/min, products with zeros, non-differentiable reductions, dtypes."""

import functools

import numpy as np
import pytest

import fluxpy
from fluxpy.errors import FluxpyError
from fluxpy.rules import numpy_reductions
from fluxpy.runtime import call, call_method
from fluxpy.testing import check_grads


def normal(seed, *shape):
    return np.random.default_rng(seed).standard_normal(shape)


def with_zeros(x, *positions):
    x = x.copy()
    for p in positions:
        x[p] = 0.0
    return x


X = normal(0, 3, 4, 5)
M = normal(1, 3, 4)
V = normal(2, 6)
W4 = np.random.default_rng(3).uniform(0.5, 2.0, 4)
WX = np.random.default_rng(4).uniform(0.5, 2.0, (3, 4, 5))
XZ = with_zeros(X, (0, 1, 2), (1, 0, 3), (1, 1, 3), (2, 3, slice(None)))  # one zero, two zeros, a zero row
VZ1 = with_zeros(V, 2)
VZ2 = with_zeros(V, 1, 4)
NANS = with_zeros(X, (0, 0, 0), (2, 1, 1)).copy()
NANS[0, 0, 0] = NANS[2, 1, 1] = np.nan


CASES = [
    # sum
    pytest.param(np.sum, (X,), {}, id="sum"),
    pytest.param(np.sum, (X, 1), {}, id="sum-axis-positional"),
    pytest.param(np.sum, (X,), {"axis": -1}, id="sum-axis-negative"),
    pytest.param(np.sum, (X,), {"axis": (0, 2), "keepdims": True}, id="sum-axes-keepdims"),
    pytest.param(np.sum, (X,), {"axis": None, "keepdims": True}, id="sum-none-keepdims"),
    pytest.param(np.sum, (X,), {"axis": 0, "dtype": np.float64}, id="sum-dtype"),
    pytest.param(np.sum, (X,), {"initial": 2.0}, id="sum-initial"),
    pytest.param(np.sum, (2.5,), {}, id="sum-scalar"),
    pytest.param(np.sum, (np.array(1.5),), {}, id="sum-0d"),
    pytest.param(np.ndarray.sum, (X,), {}, id="method-sum"),
    pytest.param(np.ndarray.sum, (X, 0), {}, id="method-sum-axis-positional"),
    pytest.param(np.ndarray.sum, (X,), {"axis": (-1, 0), "keepdims": True}, id="method-sum-keepdims"),
    # mean
    pytest.param(np.mean, (X,), {}, id="mean"),
    pytest.param(np.mean, (X, -2), {}, id="mean-axis-negative"),
    pytest.param(np.mean, (X,), {"axis": (1, 2), "keepdims": True}, id="mean-axes-keepdims"),
    pytest.param(np.mean, (1.5,), {}, id="mean-scalar"),
    pytest.param(np.ndarray.mean, (X, 1), {}, id="method-mean"),
    # prod
    pytest.param(np.prod, (X,), {"axis": 1}, id="prod-axis"),
    pytest.param(np.prod, (M,), {}, id="prod-all"),
    pytest.param(np.prod, (X,), {"axis": (0, -1), "keepdims": True}, id="prod-axes-keepdims"),
    pytest.param(np.prod, (XZ,), {"axis": 1}, id="prod-zeros-axis1"),
    pytest.param(np.prod, (XZ,), {"axis": 2}, id="prod-zeros-axis2"),
    pytest.param(np.prod, (XZ,), {"axis": (0, 2)}, id="prod-zeros-axes"),
    pytest.param(np.prod, (VZ1,), {}, id="prod-one-zero"),
    pytest.param(np.prod, (VZ2,), {}, id="prod-two-zeros"),
    pytest.param(np.prod, (V,), {"initial": 3.0}, id="prod-initial"),
    pytest.param(np.prod, (2.5,), {}, id="prod-scalar"),
    pytest.param(np.ndarray.prod, (X, -1), {}, id="method-prod"),
    # max / min (no ties in random data)
    pytest.param(np.max, (X,), {}, id="max"),
    pytest.param(np.max, (X, 1), {}, id="max-axis-positional"),
    pytest.param(np.max, (X,), {"axis": (0, -1), "keepdims": True}, id="max-axes-keepdims"),
    pytest.param(np.amax, (X,), {"axis": -1}, id="amax"),
    pytest.param(np.min, (X,), {"axis": 0}, id="min"),
    pytest.param(np.amin, (X,), {"axis": None, "keepdims": True}, id="amin"),
    pytest.param(np.max, (1.5,), {}, id="max-scalar"),
    pytest.param(np.ndarray.max, (X, 2), {}, id="method-max"),
    pytest.param(np.ndarray.min, (X,), {"axis": (1, 2)}, id="method-min"),
    # var / std
    pytest.param(np.var, (X,), {}, id="var"),
    pytest.param(np.var, (X, 1), {"ddof": 1}, id="var-ddof"),
    pytest.param(np.var, (X,), {"axis": (0, 2), "keepdims": True}, id="var-axes-keepdims"),
    pytest.param(np.std, (X,), {"axis": -1}, id="std"),
    pytest.param(np.std, (X,), {"axis": 0, "ddof": 2}, id="std-ddof"),
    pytest.param(np.std, (X,), {"correction": 1}, id="std-correction"),
    pytest.param(np.ndarray.var, (X, 1), {}, id="method-var"),
    pytest.param(np.ndarray.std, (X,), {"axis": 2, "ddof": 1}, id="method-std"),
    # cumulative
    pytest.param(np.cumsum, (X,), {}, id="cumsum-flat"),
    pytest.param(np.cumsum, (X, 1), {}, id="cumsum-axis"),
    pytest.param(np.cumsum, (X,), {"axis": -1}, id="cumsum-axis-negative"),
    pytest.param(np.cumsum, (2.0,), {}, id="cumsum-scalar"),
    pytest.param(np.ndarray.cumsum, (X, 0), {}, id="method-cumsum"),
    pytest.param(np.cumprod, (X,), {"axis": 2}, id="cumprod-axis"),
    pytest.param(np.cumprod, (M,), {}, id="cumprod-flat"),
    pytest.param(np.cumprod, (XZ,), {"axis": 1}, id="cumprod-zeros-axis1"),
    pytest.param(np.cumprod, (XZ,), {"axis": -1}, id="cumprod-zeros-axis-last"),
    pytest.param(np.cumprod, (VZ2,), {}, id="cumprod-two-zeros"),
    pytest.param(np.ndarray.cumprod, (X, 1), {}, id="method-cumprod"),
    # average
    pytest.param(np.average, (X,), {}, id="average"),
    pytest.param(np.average, (X,), {"axis": 1, "keepdims": True}, id="average-keepdims"),
    pytest.param(np.average, (X, 1, W4), {}, id="average-weights-1d"),
    pytest.param(np.average, (X, None, WX), {}, id="average-weights-full"),
    pytest.param(np.average, (X, 1, W4, True), {}, id="average-returned"),
    pytest.param(np.average, (X,), {"axis": 1, "weights": W4}, id="average-weights-keyword"),
    # nan-reductions
    pytest.param(np.nansum, (NANS,), {}, id="nansum"),
    pytest.param(np.nansum, (NANS,), {"axis": 1, "keepdims": True}, id="nansum-axis"),
    pytest.param(np.nanmean, (NANS,), {"axis": (0, 2)}, id="nanmean"),
    pytest.param(np.nanmax, (NANS,), {"axis": 0}, id="nanmax"),
    pytest.param(np.nanmin, (NANS,), {}, id="nanmin"),
    pytest.param(np.nanprod, (NANS,), {"axis": -1}, id="nanprod"),
    # the helpers pullbacks are built from (their rules are what second derivatives go through)
    pytest.param(numpy_reductions._linear_scan, (M, normal(5, 3, 4), 1, False), {}, id="helper-linear-scan"),
    pytest.param(
        numpy_reductions._linear_scan, (M, normal(5, 3, 4), 0, True), {}, id="helper-linear-scan-reverse"
    ),
    pytest.param(numpy_reductions._shift, (M, 1, 1, 1), {}, id="helper-shift-right"),
    pytest.param(numpy_reductions._shift, (M, 0, -1, 0), {}, id="helper-shift-left"),
]


@pytest.mark.parametrize("f, args, kwargs", CASES)
def test_first_order(f, args, kwargs):
    check_grads(f, *args, order=1, **kwargs)


@pytest.mark.second_order
@pytest.mark.parametrize("f, args, kwargs", CASES)
def test_second_order(f, args, kwargs):
    check_grads(f, *args, order=2, **kwargs)


# ---------------------------------------------------------------------------------------------------------
# ties split evenly


def gradient_of(f, x, **kwargs):
    y, back = fluxpy.pullback(f, x, **kwargs)
    return back(np.ones_like(y))[0]


@pytest.mark.parametrize("f", [np.max, np.amax, np.nanmax, np.ndarray.max], ids=lambda f: f.__name__)
def test_max_ties_split_evenly(f):
    np.testing.assert_allclose(
        gradient_of(f, np.array([1.0, 3.0, 3.0, 3.0, -1.0])), [0, 1 / 3, 1 / 3, 1 / 3, 0]
    )


@pytest.mark.parametrize("f", [np.min, np.amin, np.nanmin, np.ndarray.min], ids=lambda f: f.__name__)
def test_min_ties_split_evenly(f):
    np.testing.assert_allclose(gradient_of(f, np.array([2.0, -1.0, 5.0, -1.0])), [0, 0.5, 0, 0.5])


def test_ties_split_per_slice():
    x = np.array([[1.0, 1.0, 0.0], [2.0, 0.0, 2.0], [4.0, 4.0, 4.0]])
    expected = [[0.5, 0.5, 0.0], [0.5, 0.0, 0.5], [1 / 3, 1 / 3, 1 / 3]]
    np.testing.assert_allclose(gradient_of(np.max, x, axis=1), expected)
    np.testing.assert_allclose(gradient_of(np.max, x.T, axis=0, keepdims=True), np.transpose(expected))


def test_max_gradient_is_scaled_by_the_cotangent():
    _, back = fluxpy.pullback(np.max, np.array([[5.0, 5.0], [1.0, 2.0]]), axis=1)
    np.testing.assert_allclose(back(np.array([4.0, 3.0]))[0], [[2.0, 2.0], [0.0, 3.0]])


# ---------------------------------------------------------------------------------------------------------
# products with zeros: exact, no warnings (warnings are errors in this test suite)


def brute_prod_gradient(v):
    return np.array([np.prod(np.delete(v, k)) for k in range(len(v))])


def brute_cumprod_gradient(v, dy):
    return np.array(
        [sum(dy[i] * np.prod(np.delete(v[: i + 1], k)) for i in range(k, len(v))) for k in range(len(v))]
    )


@pytest.mark.parametrize(
    "v",
    [[2.0, 0.0, 3.0, 4.0], [0.0, 2.0, 0.0, 5.0], [0.0, 0.0, 0.0], [1.5, -2.0, 0.5], [0.0], [3.0]],
    ids=["one-zero", "two-zeros", "all-zeros", "no-zeros", "single-zero", "single"],
)
def test_prod_with_zeros(v):
    v = np.array(v)
    np.testing.assert_allclose(gradient_of(np.prod, v), brute_prod_gradient(v))
    _, back = fluxpy.pullback(np.cumprod, v)
    dy = np.arange(1.0, len(v) + 1)
    np.testing.assert_allclose(back(dy)[0], brute_cumprod_gradient(v, dy))


def test_prod_with_zeros_along_axes():
    x = np.array([[0.0, 2.0, 3.0], [0.0, 0.0, 5.0], [1.0, 2.0, 4.0]])
    np.testing.assert_allclose(gradient_of(np.prod, x, axis=1), [[6, 0, 0], [0, 0, 0], [8, 4, 2]])
    np.testing.assert_allclose(gradient_of(np.prod, x, axis=0), [[0, 0, 20], [0, 4, 12], [0, 0, 15]])
    np.testing.assert_allclose(gradient_of(np.prod, np.array([[2.0, 0.0], [3.0, 4.0]])), [[0, 24], [0, 0]])


# ---------------------------------------------------------------------------------------------------------
# dtypes, Python numbers, ints


FLOAT_RULES = [np.sum, np.mean, np.prod, np.max, np.min, np.var, np.std, np.cumsum, np.cumprod, np.average]


@pytest.mark.parametrize("f", FLOAT_RULES, ids=lambda f: f.__name__)
def test_float32_input_gives_float32_gradient(f):
    x = normal(6, 3, 4).astype(np.float32)
    assert gradient_of(f, x).dtype == np.float32


@pytest.mark.parametrize("f", FLOAT_RULES, ids=lambda f: f.__name__)
def test_int_input_gives_float_gradient(f):
    g = gradient_of(f, np.arange(1, 7).reshape(2, 3))
    assert g.shape == (2, 3) and g.dtype == np.float64


def test_python_number_gets_a_float():
    assert fluxpy.gradient(np.sum, 2.0) == (1.0,)
    assert fluxpy.gradient(np.prod, 3.0) == (1.0,)


def test_gradient_api_on_a_reduction():
    (g,) = fluxpy.gradient(functools.partial(np.sum, axis=0), np.ones(3))
    np.testing.assert_allclose(g, np.ones(3))


def test_out_is_refused_and_a_plain_call_is_not():
    x = np.ones(3)
    with pytest.raises(FluxpyError, match="out="):
        fluxpy.pullback(np.sum, x, out=np.zeros(()))
    assert fluxpy.pullback(np.sum, x)[0] == 3.0


def test_where_masks_the_gradient():
    y, back = fluxpy.pullback(np.sum, np.ones(3), where=np.array([True, False, True]))
    assert y == 2.0
    np.testing.assert_array_equal(back(1.0)[0], [1.0, 0.0, 1.0])


# ---------------------------------------------------------------------------------------------------------
# non-differentiable reductions


NOGRAD = [
    (np.argmax, (X,)),
    (np.argmin, (X,)),
    (np.nanargmax, (NANS,)),
    (np.nanargmin, (NANS,)),
    (np.argsort, (X,)),
    (np.argpartition, (V, 2)),
    (np.count_nonzero, (X,)),
    (np.any, (X,)),
    (np.all, (X,)),
    (np.nonzero, (X,)),
    (np.flatnonzero, (X,)),
    (np.argwhere, (X,)),
    (np.searchsorted, (np.sort(V), 0.5)),
]


@pytest.mark.parametrize("f, args", NOGRAD, ids=[f.__name__ for f, _ in NOGRAD])
def test_nograd_functions_give_no_gradient(f, args):
    y, pb = call(f, *args)
    assert all(g is None for g in pb(np.ones(np.shape(y)) if np.ndim(y) else 1.0))


@pytest.mark.parametrize(
    "name, args", [("argmax", ()), ("argmin", (1,)), ("argsort", ()), ("any", ()), ("all", (0,))]
)
def test_nograd_methods_give_no_gradient(name, args):
    y, pb = call_method(X, name, *args)
    assert all(g is None for g in pb(np.ones(np.shape(y))))
