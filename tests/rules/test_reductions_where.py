"""``where=`` on reductions (rules/numpy_reductions.py, numpy_nan.py): NumPy's values, gradients of the
entries the mask keeps (zero elsewhere) at first and second order and in forward mode, slices with nothing
kept (NumPy's NaN and warning, no gradient), ties and ``initial=`` of max/min, zeros in products, dtypes."""

import warnings

import numpy as np
import pytest
from hypothesis import assume, given, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

import fluxpy as fx
from fluxpy.errors import FluxpyError
from fluxpy.rules.numpy_shape import bind
from fluxpy.testing import check_grads

RNG = np.random.default_rng(0)
X = RNG.standard_normal((3, 4, 5))
I, J, K = np.indices(X.shape)
MASK = (I + J + K) % 3 != 0  # every slice along an axis keeps two entries or more
COLUMNS = np.array([True, False, True, True, False])  # broadcasts along the last axis
ROWS = [[True], [False], [True], [True]]  # a list, broadcast along axes 0 and 2
XZ = X.copy()
XZ[0, 1, [0, 1]] = 0.0  # two zeros kept by MASK in one slice (0+1+0, 0+1+1: not multiples of 3)
XZ[1, 1, 2] = XZ[1, 0, 2] = 0.0  # a zero kept, a zero left out (1+0+2 = 3)
XZ[2, 2, [0, 2]] = 0.0  # a zero kept and a zero left out in one slice
NANS = X.copy()
NANS[0, 0, 1] = NANS[2, 3, 4] = NANS[1, 2, 0] = np.nan


def spelled(v):
    names = {id(MASK): "mask", id(COLUMNS): "columns", id(ROWS): "rows", id(XZ): "zeros", id(NANS): "nans"}
    return names.get(id(v), "x" if v is X else repr(v).replace(" ", ""))


def row(f, *args, **kwargs):
    name = ",".join([spelled(v) for v in args] + [f"{k}={spelled(v)}" for k, v in kwargs.items()])
    return pytest.param(f, args, kwargs, id=f"{f.__name__}({name})")


CASES = [
    row(np.sum, X, where=MASK),
    row(np.sum, X, axis=1, where=MASK),
    row(np.sum, X, axis=(0, 2), keepdims=True, where=COLUMNS),
    row(np.sum, X, 2, None, None, False, 0, COLUMNS),  # where by position
    row(np.sum, X, axis=0, dtype=np.float64, initial=1.5, where=ROWS),
    row(np.ndarray.sum, X, axis=-1, where=MASK),
    row(np.mean, X, where=MASK),
    row(np.mean, X, axis=2, where=MASK),
    row(np.mean, X, axis=(0, 1), keepdims=True, where=ROWS),
    row(np.mean, X, axis=-1, dtype=np.float64, where=COLUMNS),
    row(np.ndarray.mean, X, 0, where=MASK),
    row(np.prod, X, axis=1, where=MASK),
    row(np.prod, XZ, axis=2, where=MASK),
    row(np.prod, XZ, axis=(0, 2), keepdims=True, where=MASK),
    row(np.prod, X, axis=0, initial=2.0, where=ROWS),
    row(np.ndarray.prod, XZ, axis=-1, where=COLUMNS),
    row(np.max, X, axis=1, where=MASK, initial=-10.0),
    row(np.max, X, axis=2, where=MASK, initial=0.5),  # some results are initial: no gradient there
    row(np.amax, X, axis=(0, 2), keepdims=True, where=COLUMNS, initial=-10.0),
    row(np.min, X, where=MASK, initial=10.0),
    row(np.amin, X, axis=0, where=ROWS, initial=10.0),
    row(np.ndarray.max, X, axis=-1, where=MASK, initial=-10.0),
    row(np.ndarray.min, X, 1, None, False, 10.0, MASK),  # initial and where by position
    row(np.var, X, where=MASK),
    row(np.var, X, axis=1, where=MASK),
    row(np.var, X, axis=2, ddof=1, keepdims=True, where=MASK),
    row(np.var, X, axis=(0, 1), where=ROWS),
    row(np.var, X, axis=0, correction=1, where=MASK),
    row(np.ndarray.var, X, 1, None, None, 1, where=MASK),  # ddof by position
    row(np.std, X, axis=1, where=MASK),
    row(np.std, X, axis=-1, ddof=1, where=COLUMNS),
    row(np.std, X, axis=(1, 2), keepdims=True, dtype=np.float64, where=MASK),
    row(np.ndarray.std, X, axis=0, where=MASK),
    row(np.nansum, NANS, axis=1, where=MASK),
    row(np.nansum, NANS, where=COLUMNS),
    row(np.nanmean, NANS, axis=2, where=MASK),
    row(np.nanmean, NANS, axis=(0, 1), keepdims=True, where=ROWS),
    row(np.nanprod, NANS, axis=1, where=MASK),
    row(np.nanmax, NANS, axis=0, where=MASK, initial=-10.0),
    row(np.nanmin, NANS, axis=2, where=COLUMNS, initial=10.0),
    row(np.nanvar, NANS, axis=1, where=MASK),
    row(np.nanvar, X, axis=2, ddof=1, where=MASK),
    row(np.nanstd, NANS, axis=(0, 1), where=ROWS),
    row(np.nanstd, NANS, axis=2, ddof=1, where=MASK),
    row(np.add.reduce, X, where=MASK),  # the ufuncs' reduce methods: axis 0 by default
    row(np.add.reduce, X, axis=None, initial=1.5, where=COLUMNS),
    row(np.add.reduce, X, 2, None, None, True, 0, MASK),  # keepdims, initial and where by position
    row(np.multiply.reduce, XZ, axis=2, where=MASK),
    row(np.multiply.reduce, X, axis=(0, 1), initial=2.0, where=ROWS),
    row(np.maximum.reduce, X, axis=1, where=MASK, initial=-10.0),
    row(np.maximum.reduce, X, axis=2, where=MASK, initial=0.5),
    row(np.minimum.reduce, X, axis=None, keepdims=True, where=COLUMNS, initial=10.0),
]


@pytest.mark.parametrize("f, args, kwargs", CASES)
def test_value_is_numpys(f, args, kwargs):
    y, _ = fx.pullback(f, *args, **kwargs)
    expected = f(*args, **kwargs)
    assert np.shape(y) == np.shape(expected) and np.result_type(y) == np.result_type(expected)
    np.testing.assert_array_equal(y, expected)


@pytest.mark.second_order
@pytest.mark.parametrize("f, args, kwargs", CASES)
def test_gradients_match_finite_differences(f, args, kwargs):
    check_grads(f, *args, order=2, **kwargs)  # reverse, forward and second order


def where_of(kwargs, args):
    return kwargs.get("where", args[-1] if len(args) > 1 else True)


@pytest.mark.parametrize("f, args, kwargs", CASES)
def test_entries_left_out_get_no_gradient(f, args, kwargs):
    (g,) = fx.gradient(lambda x: np.sum(f(x, *args[1:], **kwargs)), args[0])
    left_out = ~np.broadcast_to(where_of(kwargs, args), args[0].shape)
    assert np.all(g[left_out] == 0)


# ---------------------------------------------------------------------------------------------------------
# the same gradient as the rewrite without where= that gives NumPy's value


def masked_mean(x, m, axis):
    return np.sum(np.where(m, x, 0), axis=axis, keepdims=True) / np.sum(m, axis=axis, keepdims=True)


M2 = MASK[0]
REWRITES = [
    (lambda x: np.sum(x, axis=1, where=M2), lambda x: np.sum(np.where(M2, x, 0), axis=1)),
    (lambda x: np.prod(x, axis=1, where=M2), lambda x: np.prod(np.where(M2, x, 1), axis=1)),
    (
        lambda x: np.max(x, axis=1, where=M2, initial=-9.0),
        lambda x: np.max(np.where(M2, x, -9.0), axis=1),
    ),
    (lambda x: x.mean(axis=1, where=M2), lambda x: np.sum(np.where(M2, x, 0), axis=1) / np.sum(M2, axis=1)),
    (
        lambda x: np.var(x, axis=1, where=M2, ddof=1),
        lambda x: np.sum(np.where(M2, x - masked_mean(x, M2, 1), 0) ** 2, axis=1) / (np.sum(M2, axis=1) - 1),
    ),
    (lambda x: np.nanstd(x, axis=0, where=M2), lambda x: np.nanstd(np.where(M2, x, np.nan), axis=0)),
]


@pytest.mark.parametrize("with_where, rewrite", REWRITES)
def test_gradient_is_the_rewrites(with_where, rewrite):
    x = X[0]
    np.testing.assert_allclose(with_where(x), rewrite(x))
    (g,) = fx.gradient(lambda x: np.sum(with_where(x) ** 2), x)
    (expected,) = fx.gradient(lambda x: np.sum(rewrite(x) ** 2), x)
    np.testing.assert_allclose(g, expected, rtol=1e-12, atol=1e-12)


# ---------------------------------------------------------------------------------------------------------
# max and min: ties among the entries kept, initial=


def gradient_of(f, x, **kwargs):
    y, back = fx.pullback(f, x, **kwargs)
    return back(np.ones_like(y))[0]


def test_max_ties_split_between_the_entries_kept_only():
    x = np.array([3.0, 3.0, 3.0, 1.0])
    g = gradient_of(np.max, x, where=[True, False, True, True], initial=-np.inf)
    np.testing.assert_array_equal(g, [0.5, 0.0, 0.5, 0.0])
    g = gradient_of(np.nanmin, np.array([np.nan, 1.0, 1.0]), where=[True, True, False], initial=np.inf)
    np.testing.assert_array_equal(g, [0.0, 1.0, 0.0])


def test_a_result_that_is_initial_gives_no_gradient():
    x = np.array([[1.0, 2.0], [7.0, 3.0]])
    g = gradient_of(np.max, x, axis=1, where=[[True, True], [False, True]], initial=5.0)
    np.testing.assert_array_equal(g, [[0.0, 0.0], [0.0, 0.0]])
    g = gradient_of(np.max, x, axis=1, where=[[True, True], [True, False]], initial=5.0)
    np.testing.assert_array_equal(g, [[0.0, 0.0], [1.0, 0.0]])
    g = gradient_of(np.min, x, axis=1, where=[[False, False], [False, False]], initial=0.0)
    np.testing.assert_array_equal(g, np.zeros((2, 2)))


def test_max_and_min_with_where_need_initial_as_in_numpy():
    for f in (np.max, np.min, np.nanmax, np.nanmin, np.ndarray.max):
        with pytest.raises(ValueError, match="initial"):
            fx.gradient(lambda x, f=f: f(x, where=[True, False]), np.array([1.0, 2.0]))


# ---------------------------------------------------------------------------------------------------------
# products with zeros: exact, no warnings


def brute_prod_gradient(v, keep):
    kept = np.where(keep, v, 1.0)
    return np.array([np.prod(np.delete(kept, k)) if keep[k] else 0.0 for k in range(len(v))])


@pytest.mark.parametrize(
    "v, keep",
    [
        ([2.0, 0.0, 3.0, 0.0], [True, True, True, False]),  # one zero kept, one left out
        ([2.0, 0.0, 3.0], [True, False, True]),  # the only zero left out
        ([0.0, 2.0, 0.0, 5.0], [True, True, True, True]),  # two zeros kept
        ([0.0, 0.0], [False, False]),  # nothing kept: the product is 1
    ],
)
def test_prod_with_zeros(v, keep):
    v = np.array(v)
    np.testing.assert_array_equal(gradient_of(np.prod, v, where=keep), brute_prod_gradient(v, keep))


# ---------------------------------------------------------------------------------------------------------
# slices with nothing kept: NumPy's NaN and warning, no gradient


# NumPy's warnings there (pytest.warns raises again those it does not match)
EMPTY = "Mean of empty slice|invalid value encountered"
NO_DOF = "Degrees of freedom <= 0|invalid value encountered"


def test_mean_of_a_slice_with_nothing_kept_is_nan_with_no_gradient():
    x = np.arange(6.0).reshape(2, 3)
    keep = [[False, False, False], [True, False, True]]
    with pytest.warns(RuntimeWarning, match=EMPTY):
        y, back = fx.pullback(lambda x: np.mean(x, axis=1, where=keep), x)
    np.testing.assert_array_equal(y, [np.nan, 4.0])
    np.testing.assert_array_equal(back(np.ones(2))[0], [[0.0, 0.0, 0.0], [0.5, 0.0, 0.5]])
    with pytest.warns(RuntimeWarning, match=EMPTY):
        y, t = fx.jvp(lambda x: x.mean(1, where=keep), (x,), (np.ones_like(x),))
    np.testing.assert_array_equal(t, [0.0, 1.0])  # NumPy's NaN does not move


def test_nanmean_of_a_slice_with_nothing_kept_is_nan_with_no_gradient():
    x = np.array([[np.nan, 1.0], [2.0, 4.0]])
    with pytest.warns(RuntimeWarning, match=EMPTY):
        (g,) = fx.gradient(lambda x: np.nansum(np.nanmean(x, axis=1, where=[True, False])), x)
    np.testing.assert_array_equal(g, [[0.0, 0.0], [1.0, 0.0]])


@pytest.mark.parametrize("f", [np.var, np.std, np.nanvar, np.nanstd], ids=lambda f: f.__name__)
def test_variance_without_degrees_of_freedom_is_nan_with_no_gradient_to_entries_left_out(f):
    x = np.array([[1.0, 2.0, 4.0], [3.0, 5.0, 6.0]])
    keep = [[True, True, True], [False, True, False]]  # one entry in the second row, ddof=1
    with pytest.warns(RuntimeWarning, match=NO_DOF):
        y, back = fx.pullback(lambda x: f(x, axis=1, ddof=1, where=keep), x)
        expected = f(x, axis=1, ddof=1, where=keep)
    np.testing.assert_array_equal(y, expected)
    g = back(np.ones(2))[0]
    assert np.isnan(y[1]) and np.all(g[1, [0, 2]] == 0)
    np.testing.assert_allclose(g[0], gradient_of(lambda v: f(v, ddof=1), x[0]))


# ---------------------------------------------------------------------------------------------------------
# masks as NumPy reads them, dtypes


def test_where_true_and_a_list_mask_are_read_as_numpy_reads_them():
    x = X[0]
    (g,) = fx.gradient(lambda x: np.sum(x, where=True), x)
    np.testing.assert_array_equal(g, np.ones_like(x))
    (g,) = fx.gradient(lambda x: np.sum(x, where=np.True_), x)
    np.testing.assert_array_equal(g, np.ones_like(x))
    (g,) = fx.gradient(lambda x: np.sum(np.sum(x, axis=0, where=[1, 0, 1, 1, 0])), x)  # Python ints too
    np.testing.assert_array_equal(g, np.broadcast_to([1.0, 0.0, 1.0, 1.0, 0.0], x.shape))


def test_a_mask_numpy_refuses_is_refused_as_numpy_refuses_it():
    with pytest.raises(TypeError, match="Cannot cast"):
        fx.gradient(lambda x: np.sum(x, where=np.array([1, 0, 1])), np.ones(3))
    with pytest.raises(ValueError):
        fx.gradient(lambda x: np.mean(x, where=np.ones((2, 3), dtype=bool)), np.ones(3))


WHERE_RULES = [
    (np.sum, {}),
    (np.mean, {}),
    (np.prod, {}),
    (np.max, {"initial": -10.0}),
    (np.min, {"initial": 10.0}),
    (np.var, {}),
    (np.std, {}),
    (np.nansum, {}),
    (np.nanmean, {}),
    (np.nanprod, {}),
    (np.nanmax, {"initial": -10.0}),
    (np.nanmin, {"initial": 10.0}),
    (np.nanvar, {}),
    (np.nanstd, {}),
]


@pytest.mark.parametrize("f, kwargs", WHERE_RULES, ids=[f.__name__ for f, _ in WHERE_RULES])
def test_float32_input_keeps_a_float32_gradient(f, kwargs):
    x = X[0].astype(np.float32)
    y, back = fx.pullback(lambda x: f(x, axis=1, where=MASK[0], **kwargs), x)
    assert y.dtype == np.float32
    assert back(np.ones_like(y))[0].dtype == np.float32
    _, t = fx.jvp(lambda x: f(x, axis=1, where=MASK[0], **kwargs), (x,), (np.ones_like(x),))
    assert t.dtype == np.float32


# (nanvar and nanstd of ints: np.asanyarray of an int array carries no gradient, with or without where=)
INT_RULES = [r for r in WHERE_RULES if r[0] not in (np.nanvar, np.nanstd)]


@pytest.mark.parametrize("f, kwargs", INT_RULES, ids=[f.__name__ for f, _ in INT_RULES])
def test_int_input_gives_a_float_gradient(f, kwargs):
    x = np.arange(1, 13).reshape(3, 4)
    if f in (np.max, np.min, np.nanmax, np.nanmin):
        kwargs = {"initial": int(kwargs["initial"])}
    (g,) = fx.gradient(lambda x: np.sum(f(x, axis=1, where=MASK[0, :3, :4], **kwargs)), x)
    assert g.shape == x.shape and g.dtype == np.float64


# ---------------------------------------------------------------------------------------------------------
# a rule that does not read where= still refuses it (bind), next to one that does


def test_bind_refuses_where_for_a_rule_that_does_not_read_it():
    names = ("axis", "out", "keepdims", "initial", "where")
    with pytest.raises(FluxpyError, match=r"np.ptp\(\.\.\., where=mask\) has no rule"):
        bind("ptp", (), {"where": np.array([True, False])}, names)
    assert bind("ptp", (), {"where": True}, names) == {"where": True}
    mask = np.array([True, False])
    assert bind("sum", (0,), {"where": mask}, names, reads_where=True)["where"] is mask


# ---------------------------------------------------------------------------------------------------------
# random shapes, masks and axes


@st.composite
def reductions(draw):
    shape = draw(hnp.array_shapes(min_dims=1, max_dims=3, min_side=1, max_side=4))
    mask_shape = tuple(draw(st.sampled_from([1, n])) for n in shape)[draw(st.integers(0, len(shape) - 1)) :]
    mask = draw(hnp.arrays(bool, mask_shape, elements=st.sampled_from([True, True, True, False])))
    axes = draw(st.sets(st.integers(-len(shape), len(shape) - 1), max_size=len(shape)))
    axis = draw(st.sampled_from([None, tuple({a % len(shape) for a in axes}), next(iter(axes), None)]))
    kind = draw(st.sampled_from(["sum", "mean", "var", "var-ddof", "std", "prod", "max", "nanmean"]))
    keepdims = draw(st.booleans())
    x = np.random.default_rng(draw(st.integers(0, 2**16))).standard_normal(shape)
    return x, mask, axis, keepdims, kind


SPELLED = {
    "sum": (np.sum, {}, 1),
    "mean": (np.mean, {}, 1),
    "var": (np.var, {}, 1),
    "var-ddof": (np.var, {"ddof": 1}, 2),
    "std": (np.std, {}, 2),  # at one entry std is 0, where its derivative is not defined
    "prod": (np.prod, {}, 0),
    "max": (np.max, {"initial": -10.0}, 0),
    "nanmean": (np.nanmean, {}, 1),
}


@settings(max_examples=25, deadline=None)
@given(reductions())
def test_random_shapes_masks_and_axes(case):
    x, mask, axis, keepdims, kind = case
    f, options, least = SPELLED[kind]
    kept = np.sum(np.broadcast_to(mask, x.shape), axis=axis)
    assume(np.all(kept >= least))
    kwargs = dict(options, axis=axis, keepdims=keepdims, where=mask)
    y, _ = fx.pullback(f, x, **kwargs)
    np.testing.assert_array_equal(y, f(x, **kwargs))
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        check_grads(f, x, order=2, **kwargs)
