"""Rules of rules/numpy_nan.py (nanvar, nanstd, nancumsum, nancumprod, nanmedian, nanquantile, nanpercentile)
and rules/numpy_assembly.py with the modules split from it (arrays assembled from others' entries, sampling,
polynomials, histograms, unique values, set operations, in-place writers refused, non-differentiable
functions marked).

One table row per rule and option, checked by ``check_grads`` (order 2, forward mode too) and compared with
NumPy's values. NaN entries are put at fixed positions of a NaN-free argument by ``nans`` (finite
differences perturb every entry, and a perturbed NaN is still NaN): the check then covers the entries that
are not NaN, and separate tests check that the NaN ones get zero gradients."""

import warnings

import numpy as np
import pytest

import fluxpy as fx
from fluxpy.errors import FluxpyError
from fluxpy.rules import numpy_assembly as assembly
from fluxpy.rules.coverage import report
from fluxpy.testing import check_grads


def normal(seed, *shape):
    return np.random.default_rng(seed).standard_normal(shape)


X = normal(0, 3, 4)
X3 = normal(1, 3, 4, 5)
V = normal(2, 6)
W = normal(3, 4)
HOLES = np.zeros((3, 4, 5), bool)
HOLES[0, 1, 2] = HOLES[1, 3, 0] = HOLES[2, 0, 4] = HOLES[2, 2, 1] = HOLES[0, 0, 0] = True
HOLES2 = np.array([[0, 1, 0, 0], [0, 0, 0, 1], [1, 0, 0, 0]], bool)
HOLES6 = np.array([0, 1, 0, 0, 1, 0], bool)
COORDS = np.array([0.0, 0.5, 1.7, 2.0])


def nans(x):
    """``x`` with NaN at the fixed positions ``HOLES`` (or ``HOLES2`` for a 3x4 ``x``)."""
    return np.where(HOLES if x.ndim == 3 else HOLES2, np.nan, x)


def with_sum(r):
    return r * np.sum(r)


def shifted(r, c):
    return r**2 + c


NAN_CASES = [
    pytest.param(lambda x: np.nanvar(nans(x)), (X3,), id="nanvar"),
    pytest.param(lambda x: np.sum(np.nanvar(nans(x), axis=1, ddof=1) ** 2), (X3,), id="nanvar-axis-ddof"),
    pytest.param(
        lambda x: np.sum(np.nanvar(nans(x), axis=(0, 2), keepdims=True) ** 2),
        (X3,),
        id="nanvar-axes-keepdims",
    ),
    pytest.param(lambda x: np.sum(np.nanvar(nans(x), -1, correction=2)), (X3,), id="nanvar-correction"),
    pytest.param(
        lambda x, m: np.sum(np.nanvar(nans(x), axis=1, mean=m) ** 2),
        (X3, normal(4, 3, 1, 5)),
        id="nanvar-mean",
    ),
    pytest.param(
        lambda x, y: np.sum(np.nanvar(nans(x) + 1j * y, axis=0) ** 2),
        (X3, normal(5, 3, 4, 5)),
        id="nanvar-complex",
    ),
    pytest.param(lambda x: np.nanstd(nans(x)), (X3,), id="nanstd"),
    pytest.param(
        lambda x: np.sum(np.nanstd(nans(x), axis=2, ddof=1, keepdims=True) ** 3), (X3,), id="nanstd-axis-ddof"
    ),
    pytest.param(lambda x: np.sum(np.nancumsum(nans(x)) ** 2), (X,), id="nancumsum"),
    pytest.param(lambda x: np.sum(np.sin(np.nancumsum(nans(x), axis=1))), (X3,), id="nancumsum-axis"),
    pytest.param(lambda x: np.sum(np.nancumprod(nans(x), axis=0) ** 2), (X3,), id="nancumprod-axis"),
    pytest.param(lambda x: np.sum(np.nancumprod(nans(x))), (X,), id="nancumprod"),
    pytest.param(lambda x: np.nanmedian(nans(x)), (X3,), id="nanmedian"),
    pytest.param(lambda x: np.sum(np.nanmedian(nans(x), axis=1) ** 2), (X3,), id="nanmedian-axis"),
    pytest.param(
        lambda x: np.sum(np.nanmedian(nans(x), axis=(0, 2), keepdims=True) ** 2), (X3,), id="nanmedian-axes"
    ),
    pytest.param(lambda x, q: np.nanquantile(nans(x), q) ** 2, (X3, 0.37), id="nanquantile"),
    pytest.param(
        lambda x, q: np.sum(np.nanquantile(nans(x), q, axis=-1) ** 2),
        (X3, np.array([0.1, 0.55, 0.9])),
        id="nanquantile-axis",
    ),
    pytest.param(
        lambda x, q: np.sum(np.nanpercentile(nans(x), q, axis=1, keepdims=True) ** 2),
        (X3, np.array([[15.0], [80.0]])),
        id="nanpercentile-keepdims",
    ),
    pytest.param(
        lambda x: np.sum(np.nanpercentile(nans(x), [0.0, 100.0], axis=0)), (X,), id="nanpercentile-ends"
    ),
]

ASSEMBLY_CASES = [
    # broadcast_arrays, block
    pytest.param(
        lambda x, w, s: sum(np.sum(np.sin(a) * (k + 1)) for k, a in enumerate(np.broadcast_arrays(x, w, s))),
        (X, W, 0.5),
        id="broadcast_arrays",
    ),
    pytest.param(
        lambda lst, w: np.sum(np.broadcast_arrays(lst, w[:3, None])[0] * np.sin(X[:, :3] * w[:3, None])),
        ([1.0, 2.0, 3.0], W),
        id="broadcast_arrays-list",
    ),
    pytest.param(lambda x, v: np.sum(np.block([[x, x[:, :2]], [v[None, :]]]) ** 2), (X, V), id="block"),
    pytest.param(lambda v, s: np.sum(np.block([v, s, v[:2]]) ** 3), (V, 0.5), id="block-1d"),
    # delete, insert
    pytest.param(lambda x: np.sum(np.delete(x, [0, 2], axis=1) ** 2), (X,), id="delete-axis"),
    pytest.param(lambda x: np.sum(np.delete(x, slice(1, 9, 3)) ** 3), (X,), id="delete-slice"),
    pytest.param(
        lambda x: np.sum(np.delete(x, np.array([True, False, True]), 0) ** 2), (X,), id="delete-mask"
    ),
    pytest.param(lambda x, v: np.sum(np.insert(x, 1, v[:3], axis=1) ** 2), (X, V), id="insert-column"),
    pytest.param(lambda x, v: np.sum(np.insert(x, [1, 1, 7], v[:3]) ** 3), (X, V), id="insert-flat"),
    pytest.param(
        lambda x, s: np.sum(np.insert(x, 2, values=s, axis=0) ** 2), (X, 0.7), id="insert-broadcast"
    ),
    # choose, select, extract, resize
    pytest.param(
        lambda x, w, s: np.sum(np.choose([[0, 1, 2, 1]] * 3, [x, w, s]) ** 2), (X, W, 1.5), id="choose"
    ),
    pytest.param(lambda x: np.sum(np.choose([1, 0, 5, 2], x, mode="clip") ** 2), (X,), id="choose-array"),
    pytest.param(
        lambda x, w, d: np.sum(np.select([x > 0, x < -0.5], [x**2, w], default=d) ** 2),
        (X, W, 0.3),
        id="select",
    ),
    pytest.param(lambda x: np.sum(np.select([x > 0], [np.cos(x)], 2.0) ** 2), (X,), id="select-default"),
    pytest.param(lambda x: np.sum(np.extract(x > 0, x) ** 3), (X,), id="extract"),
    pytest.param(
        lambda x: np.sum(np.resize(x, (5, 3)) ** 2 * np.arange(15.0).reshape(5, 3)), (X,), id="resize-grow"
    ),
    pytest.param(lambda x: np.sum(np.resize(x, 5) ** 3), (X,), id="resize-shrink"),
    # rollaxis, row_stack, diagflat, vander, trim_zeros, sort_complex
    pytest.param(
        lambda x: np.sum(np.rollaxis(x, 2, 0) * np.arange(60.0).reshape(5, 3, 4)), (X3,), id="rollaxis"
    ),
    pytest.param(lambda x: np.sum(np.rollaxis(x, 1, 2) ** 2), (X3,), id="rollaxis-same"),
    pytest.param(lambda x: np.sum(np.diagflat(x[:2], -1) @ np.arange(9.0)), (X,), id="diagflat"),
    pytest.param(lambda v: np.sum(np.vander(v, 4) ** 2), (V,), id="vander"),
    pytest.param(lambda v: np.sum(np.vander(v[:3], increasing=True) * V[:3]), (V,), id="vander-increasing"),
    pytest.param(
        lambda v: np.sum(np.trim_zeros(v * np.array([0, 0, 1, 1, 0, 0.0])) ** 2), (V,), id="trim_zeros"
    ),
    pytest.param(
        lambda x: np.sum(
            np.trim_zeros(x * np.array([[0, 0, 0, 0], [0, 1, 0, 0], [0, 0, 1, 0]]), "b", axis=1) ** 2
        ),
        (X,),
        id="trim_zeros-axis",
    ),
    pytest.param(
        lambda v: np.sum(np.abs(np.sort_complex(v) * (1 + 2j)) ** 2 * np.arange(6.0)), (V,), id="sort_complex"
    ),
    pytest.param(
        lambda v, w: np.sum(np.sort_complex(v[:4] + 1j * w).imag * np.arange(4.0)),
        (V, W),
        id="sort_complex-complex",
    ),
    # geomspace, logspace
    pytest.param(lambda a, b: np.sum(np.geomspace(a, b, 5) ** 2), (1.3, 7.0), id="geomspace"),
    pytest.param(
        lambda a, b: np.sum(np.geomspace(a, b, 4, endpoint=False)), (-1.3, -7.0), id="geomspace-negative"
    ),
    pytest.param(
        lambda a, b: np.sum(np.geomspace(a, b, 3, axis=1) ** 2),
        (np.array([1.0, 2.0]), np.array([5.0, 3.0])),
        id="geomspace-arrays",
    ),
    pytest.param(
        lambda a, b: (
            np.sum(np.abs(np.geomspace(a * 1j + 0.5, 2.0 - b * 1j, 4)) ** 2)
            + np.sum(np.geomspace(-a + 1j, b * 1j, 3).imag)
        ),
        (1.5, 0.7),
        id="geomspace-complex",
    ),
    pytest.param(lambda a, b: np.sum(np.logspace(a, b, 5, base=2.0)), (0.3, 1.7), id="logspace"),
    pytest.param(
        lambda a, b, c: np.sum(np.logspace(a, b, 3, base=c, axis=1)),
        (np.array([0.3, 0.5]), 1.7, np.array([2.0, 3.0])),
        id="logspace-base-array",
    ),
    # gradient, unwrap, i0
    pytest.param(lambda x: np.sum(np.gradient(x)[0] ** 2 + np.gradient(x)[1] ** 3), (X,), id="gradient"),
    pytest.param(
        lambda x, d: np.sum(np.gradient(x, d, axis=1, edge_order=2) ** 2), (X, 0.7), id="gradient-spacing"
    ),
    pytest.param(
        lambda x, c: np.sum(np.gradient(x, c, axis=-1) ** 2), (X, COORDS), id="gradient-coordinates"
    ),
    pytest.param(
        lambda x, c, d: np.sum(np.gradient(x, d, c, edge_order=2)[1] ** 2),
        (X, COORDS, 0.4),
        id="gradient-both",
    ),
    pytest.param(lambda v: np.sum(np.unwrap(v * 3) ** 2), (V,), id="unwrap"),
    pytest.param(
        lambda x, p: np.sum(np.unwrap(x * 200, axis=0, period=p) ** 2), (X, 360.0), id="unwrap-period"
    ),
    pytest.param(lambda v: np.sum(np.i0(v * 5)), (V,), id="i0"),
    # apply_along_axis, apply_over_axes
    pytest.param(lambda x: np.sum(np.apply_along_axis(with_sum, 1, x) ** 2), (X,), id="apply_along_axis"),
    pytest.param(
        lambda x, c: np.sum(np.apply_along_axis(shifted, 0, x, c) ** 2), (X3, 0.3), id="apply_along_axis-args"
    ),
    pytest.param(
        lambda x: np.sum(np.apply_along_axis(np.outer, 2, x, x[0, 0])), (X3,), id="apply_along_axis-2d"
    ),
    pytest.param(
        lambda x: np.sum(np.apply_over_axes(np.sum, x**2, [0, 2]) ** 2), (X3,), id="apply_over_axes"
    ),
    # polynomials
    pytest.param(lambda a, b: np.sum(np.polyadd(a, b) ** 2), (V[:2], V[:4]), id="polyadd"),
    pytest.param(lambda a, b: np.sum(np.polysub(a, b) ** 2), (V[:4], V[:2]), id="polysub"),
    pytest.param(lambda a, b: np.sum(np.polymul(a, b) ** 2), (V[:3], V[:4]), id="polymul"),
    pytest.param(lambda a: np.sum(np.polyder(a, 2) ** 2), (V,), id="polyder"),
    pytest.param(lambda a, k: np.sum(np.polyint(a, 2, k=[k, 2 * k]) ** 2), (V, 0.7), id="polyint"),
    pytest.param(lambda a: np.sum(np.polyint(a) ** 2), (V,), id="polyint-default"),
    pytest.param(lambda x, y: np.sum(np.polyfit(x, y, 2) ** 2), (V, V**2 + np.sin(V)), id="polyfit"),
    pytest.param(
        lambda x, y, w: np.sum(np.polyfit(x, y, 1, w=w) ** 2),
        (V, np.stack([V, V**2], 1), V**2 + 1),
        id="polyfit-w",
    ),
    # bincount, histogram
    pytest.param(
        lambda w: np.sum(np.bincount([0, 2, 2, 5, 1, 0], weights=w, minlength=7) ** 2), (V,), id="bincount"
    ),
    pytest.param(
        lambda x, w: np.sum(np.histogram(x, bins=3, weights=w)[0] ** 2) + np.sum(np.histogram(x, 4)[1] ** 2),
        (V, V**2),
        id="histogram",
    ),
    pytest.param(
        lambda x: np.sum(np.histogram(x, bins=4, density=True)[0] ** 2), (V,), id="histogram-density"
    ),
    pytest.param(
        lambda x, e: np.sum(np.histogram(x, bins=e, density=True)[0] ** 2),
        (V, np.array([-3.0, -0.5, 0.2, 3.0])),
        id="histogram-edges",
    ),
    pytest.param(
        lambda x, w, lo: np.sum(np.histogram(x, 3, (lo, 2.5), weights=w, density=True)[0] ** 2),
        (V, V**2, -2.0),
        id="histogram-range",
    ),
    pytest.param(
        lambda x: np.sum(np.histogram_bin_edges(x, bins="auto") ** 2), (V,), id="histogram_bin_edges"
    ),
    # unique and the set operations (arguments whose equal entries move together)
    pytest.param(lambda v: np.sum(np.unique(v) ** 2 * np.arange(6.0)), (V,), id="unique"),
    pytest.param(
        lambda v: np.sum(np.unique(np.concatenate([v, v[:2]]), return_counts=True)[0] ** 3),
        (V,),
        id="unique-ties",
    ),
    pytest.param(lambda x: np.sum(np.unique(x, axis=1) ** 2 * np.arange(4.0)), (X,), id="unique-axis"),
    pytest.param(lambda v: np.sum(np.unique_values(v) ** 2), (V,), id="unique_values"),
    pytest.param(lambda v: np.sum(np.unique_counts(v).values ** 3), (V,), id="unique_counts"),
    pytest.param(lambda v: np.sum(np.unique_inverse(v)[0] ** 3), (V,), id="unique_inverse"),
    pytest.param(lambda v: np.sum(np.unique_all(v).values * np.arange(6.0)), (V,), id="unique_all"),
    pytest.param(lambda a, b: np.sum(np.union1d(a, b) ** 2 * np.arange(9.0)), (V, V[:3] + 10), id="union1d"),
    pytest.param(
        lambda a: np.sum(np.intersect1d(a, np.concatenate([a[:3], [11.0]])) ** 2 * np.arange(3.0)),
        (V,),
        id="intersect1d",
    ),
    pytest.param(
        lambda a: np.sum(np.intersect1d(a, a[1:4], return_indices=True)[0] ** 3),
        (V,),
        id="intersect1d-indices",
    ),
    pytest.param(lambda a: np.sum(np.setdiff1d(a, a[:3]) ** 2 * np.arange(3.0)), (V,), id="setdiff1d"),
    pytest.param(
        lambda a: np.sum(np.setxor1d(a, np.concatenate([a[:3], [11.0]])) ** 2 * np.arange(4.0)),
        (V,),
        id="setxor1d",
    ),
]

FUNCTIONAL_CASES = [
    pytest.param(
        lambda a, v: np.sum(assembly.fill_diagonal_value(a, v) ** 2), (X, V[:3]), id="fill_diagonal"
    ),
    pytest.param(
        lambda a, s: np.sum(assembly.fill_diagonal_value(a, s, wrap=True) ** 2),
        (normal(6, 7, 3), 0.5),
        id="fill_diagonal-wrap",
    ),
    pytest.param(
        lambda a, w: np.sum(assembly.copyto_value(a, w, where=a > 0) ** 2), (X, W), id="copyto-where"
    ),
    pytest.param(
        lambda a, v: np.sum(assembly.put_value(a, [0, 5, 0], v[:3]) ** 2), (X, V), id="put-repeated"
    ),
    pytest.param(
        lambda a, v: np.sum(assembly.put_value(a, [0, 50], v[:2], mode="wrap") ** 2), (X, V), id="put-wrap"
    ),
    pytest.param(
        lambda a, v: np.sum(assembly.put_along_axis_value(a, np.array([[1], [0], [3]]), v[:3, None], 1) ** 2),
        (X, V),
        id="put_along_axis",
    ),
    pytest.param(lambda a, v: np.sum(assembly.putmask_value(a, a > 0, v[:5]) ** 2), (X, V), id="putmask"),
    pytest.param(lambda a, v: np.sum(assembly.place_value(a, a > 0, v[:2]) ** 2), (X, V), id="place"),
]

CASES = NAN_CASES + ASSEMBLY_CASES + FUNCTIONAL_CASES
INEXACT = {"polyfit", "polyfit-w"}  # lstsq there, the SVD's pseudo-inverse here: equal to rounding


@pytest.fixture(autouse=True)
def _row_stack_is_deprecated():
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", "`row_stack` alias is deprecated", DeprecationWarning)
        yield


@pytest.mark.parametrize("f, args", CASES)
def test_rule_gradients_match_finite_differences(f, args):
    check_grads(f, *args, order=2, forward=True)


@pytest.mark.parametrize("f, args", CASES)
def test_values_are_numpys(f, args, request):
    y, _ = fx.pullback(f, *args)
    expected = f(*args)
    assert type(y) is type(expected) or (isinstance(y, float) and isinstance(expected, float))
    if request.node.callspec.id in INEXACT:
        np.testing.assert_allclose(y, expected, rtol=1e-12)
    else:
        np.testing.assert_array_equal(y, expected)


HESSIANS = [
    pytest.param(lambda x: np.nanvar(np.where(HOLES6, np.nan, x**2)), id="nanvar"),
    pytest.param(
        lambda x: np.nanquantile(np.where(HOLES6, np.nan, x**3), np.abs(x[0]) / 3), id="nanquantile"
    ),
    pytest.param(lambda x: np.sum(np.insert(x, 2, x[:2] ** 2) ** 3), id="insert"),
    pytest.param(lambda x: np.sum(np.unique(x) ** 3 * np.arange(6.0)), id="unique"),
    pytest.param(lambda x: np.sum(np.gradient(x**2) ** 2), id="gradient"),
    pytest.param(lambda x: np.sum(np.histogram(x, 3, weights=x**2)[0] ** 2), id="histogram"),
    pytest.param(lambda x: np.sum(np.polyfit(np.arange(6.0), x**2, 2) ** 2), id="polyfit"),
]


@pytest.mark.parametrize("f", HESSIANS)
def test_forward_over_reverse_matches_reverse_over_reverse(f):
    expected = fx.jacobian(lambda t: fx.gradient(f, t)[0], V)[0]
    np.testing.assert_allclose(fx.hessian(f, V), expected, rtol=1e-9, atol=1e-11)


# ---------------------------------------------------------------------------------------------------------
# NaN entries and NaN slices: zero gradients, NumPy's values and warnings

NAN_FUNCTIONS = [
    pytest.param(lambda a: np.nanvar(a, axis=1), id="nanvar"),
    pytest.param(lambda a: np.nanstd(a, axis=1, ddof=1), id="nanstd"),
    pytest.param(lambda a: np.nancumsum(a, axis=1), id="nancumsum"),
    pytest.param(lambda a: np.nancumprod(a, axis=1), id="nancumprod"),
    pytest.param(lambda a: np.nanmedian(a, axis=1), id="nanmedian"),
    pytest.param(lambda a: np.nanquantile(a, [0.2, 0.7], axis=1), id="nanquantile"),
    pytest.param(lambda a: np.nanpercentile(a, 40.0, axis=1), id="nanpercentile"),
]
RAGGED = np.array([[np.nan, np.nan, np.nan], [1.0, np.nan, 4.0], [2.0, 5.0, 3.0], [np.nan, 7.0, np.nan]])


@pytest.mark.parametrize("f", NAN_FUNCTIONS)
def test_nan_entries_and_nan_slices_get_zero_gradients(f):
    with warnings.catch_warnings():
        warnings.simplefilter(
            "ignore", RuntimeWarning
        )  # NumPy's all-NaN slice and degrees-of-freedom warnings
        expected = f(RAGGED)
        y, back = fx.pullback(f, RAGGED)
        (g,) = back(np.ones_like(expected))
    np.testing.assert_array_equal(y, expected)
    assert np.all(np.isfinite(g)) and np.all(g[np.isnan(RAGGED)] == 0) and np.all(g[0] == 0)
    present = ~np.isnan(RAGGED[2])
    assert np.any(g[2][present] != 0)


def test_nan_statistics_gradients_by_hand():
    assert np.array_equal(fx.gradient(np.nanvar, np.array([1.0, np.nan, 3.0]))[0], [-1.0, 0.0, 1.0])
    assert np.array_equal(fx.gradient(np.nanmedian, np.array([4.0, np.nan, 1.0, 2.0]))[0], [0, 0, 0, 1])
    grad = fx.gradient(lambda x: np.nanquantile(x, 0.5), np.array([4.0, np.nan, 1.0, 2.0, 8.0]))[0]
    assert np.array_equal(grad, [0.5, 0.0, 0.0, 0.5, 0.0])
    assert np.array_equal(
        fx.gradient(lambda x: np.nancumsum(x)[-1], np.array([1.0, np.nan, 2.0]))[0], [1, 0, 1]
    )
    assert np.array_equal(fx.gradient(np.nanstd, np.array([2.0, np.nan, 2.0]))[0], [0.0, 0.0, 0.0])


def test_nan_variance_warns_as_numpy_does():
    with pytest.warns(RuntimeWarning, match="Degrees of freedom <= 0"):
        y, back = fx.pullback(lambda a: np.nanvar(a, axis=1, ddof=2), RAGGED)
    with pytest.warns(RuntimeWarning, match="Degrees of freedom <= 0"):
        expected = np.nanvar(RAGGED, axis=1, ddof=2)
    np.testing.assert_array_equal(y, expected)
    assert np.array_equal(back(np.ones(4))[0][1], [0.0, 0.0, 0.0])


@pytest.mark.parametrize(
    "f",
    [
        lambda a: np.nanvar(a.astype(np.float32), axis=0),
        lambda a: np.nanstd(a.astype(np.float32)),
        lambda a: np.nanvar(a, axis=1, dtype=np.float32),
        lambda a: np.nancumsum(a, axis=1, dtype=np.float32),
        lambda a: np.nanmedian(a.astype(np.float32), axis=2),
        lambda a: np.nanvar(a + 1j * np.flip(a), axis=(0, 1)),
        lambda a: np.nanvar(np.arange(12).reshape(3, 4), axis=1),
        lambda a: np.nancumprod(np.arange(5)),
    ],
)
def test_nan_statistics_keep_numpys_types(f):
    a = nans(X3)
    y, _ = fx.pullback(f, a)
    expected = f(a)
    assert type(y) is type(expected) and y.dtype == expected.dtype
    np.testing.assert_array_equal(y, expected)


# ---------------------------------------------------------------------------------------------------------
# refusals, each next to the valid call


def test_nan_options_without_rules_are_refused():
    with pytest.raises(FluxpyError, match="out="):
        fx.gradient(lambda x: np.nanvar(x, out=np.empty(())), V)
    with pytest.raises(FluxpyError, match="out="):
        fx.gradient(lambda x: np.sum(np.nancumsum(x, out=np.empty(6))), V)
    with pytest.raises(FluxpyError, match="method='nearest'"):
        fx.gradient(lambda x: np.nanquantile(x, 0.3, method="nearest"), V)
    assert fx.pullback(lambda x: np.nanquantile(x, 0.3, method="nearest"), V)[0] == np.nanquantile(
        V, 0.3, method="nearest"
    )
    check_grads(lambda x: np.nanquantile(x, 0.3, method="linear"), V)


def fills_diagonal(x):
    y = np.zeros((3, 3))
    np.fill_diagonal(y, x)
    return np.sum(y**2)


def copies_into(x):
    y = x * 1.0
    np.copyto(y, 2.0, where=x > 0)
    return np.sum(y)


def puts(x):
    y = x * 1.0
    np.put(y, [0, 1], [1.0, 2.0])
    return np.sum(y)


def puts_along_axis(x):
    y = x * 1.0
    np.put_along_axis(y, np.array([[0], [1], [2]]), 0.0, 1)
    return np.sum(y)


def puts_by_mask(x):
    y = x * 1.0
    np.putmask(y, y > 0, 0.0)
    return np.sum(y)


def places(x):
    y = x * 1.0
    np.place(y, y > 0, [0.0])
    return np.sum(y)


@pytest.mark.parametrize("f", [fills_diagonal, copies_into, puts, puts_along_axis, puts_by_mask, places])
def test_in_place_writers_as_statements_are_differentiated(f):
    # written as y[...] = <the functional form> (transform/in_place_calls.py)
    x = V[:3] if f is fills_diagonal else X
    assert np.isclose(fx.withgradient(f, x)[0], f(x.copy()))
    check_grads(f, x, order=2, forward=True)


def test_in_place_writers_used_as_values_are_refused_when_floats_take_part():
    def as_a_value(x):
        y = x * 1.0
        done = [np.putmask(y, y > 0, 0.0)]
        return np.sum(y) + len(done)

    with pytest.raises(FluxpyError, match="in place") as info:
        fx.gradient(as_a_value, X)
    assert "test_assembly_nan.py" in str(info.value)  # the user's line
    with pytest.raises(FluxpyError, match="in place"):
        fx.jvp(as_a_value, (X,), (np.ones_like(X),))


def test_in_place_writers_of_integers_run():
    def counts(x):
        y = np.zeros((3, 3), dtype=int)
        np.fill_diagonal(y, 2)
        np.put(y, [1], [5])
        return np.sum(y * x)

    grad = fx.gradient(counts, np.ones((3, 3)))[0]
    assert np.array_equal(grad, [[2, 5, 0], [0, 2, 0], [0, 0, 2]])


POLY = np.poly1d([1.0, 2.0])


def test_polynomial_options_without_rules_are_refused():
    with pytest.raises(FluxpyError, match="full=True"):
        fx.gradient(lambda y: np.sum(np.polyfit(V, y, 1, full=True)[0]), V**2)
    with pytest.raises(FluxpyError, match="cov=True"):
        fx.gradient(lambda y: np.sum(np.polyfit(V, y, 1, cov=True)[0]), V**2)
    with pytest.raises(FluxpyError, match="cov='unscaled'"):
        fx.gradient(lambda y: np.sum(np.polyfit(V, y, 1, cov="unscaled")[0]), V**2)
    with pytest.raises(FluxpyError, match="np.poly1d"):
        fx.gradient(lambda a: np.sum(np.polyadd(POLY, a).coeffs), V[:3])
    assert fx.pullback(lambda a: (np.polymul(POLY, [3.0]), a * 2.0), 2.0)[0][0] == np.poly1d([3.0, 6.0])
    with pytest.raises(FluxpyError, match="out="):
        fx.gradient(lambda x: np.sum(np.choose([0, 1], [x[:2], x[2:4]], out=np.empty(2))), V)


def test_numpys_errors_stay_numpys():
    with pytest.raises(ValueError, match="cannot include zero"):
        fx.gradient(lambda a: np.sum(np.geomspace(a, 2.0, 3)), 0.0)
    with pytest.raises(ValueError, match="Order of derivative must be positive"):
        fx.gradient(lambda a: np.sum(np.polyder(a, -1)), V)
    with pytest.raises(ValueError, match="one-dimensional"):
        fx.gradient(lambda x: np.sum(np.vander(x)), X)
    with pytest.raises(ValueError, match="iteration dimensions are 0"):
        fx.gradient(lambda x: np.sum(np.apply_along_axis(np.sum, 1, x)), np.zeros((0, 3)))
    with pytest.raises(ValueError, match="depths are mismatched"):
        fx.gradient(lambda x: np.sum(np.block([x, [x]])), V)


# ---------------------------------------------------------------------------------------------------------
# choices: ties, copies, what carries no gradient


def test_unique_splits_a_values_cotangent_between_equal_entries():
    x = np.array([2.0, 1.0, 2.0, 2.0])
    grad = fx.gradient(lambda x: np.sum(np.unique(x) * np.array([1.0, 3.0])), x)[0]
    assert np.array_equal(grad, [1.0, 1.0, 1.0, 1.0])
    grad = fx.gradient(lambda x: np.sum(np.unique_values(x) ** 2), x)[0]
    assert np.allclose(grad, [4 / 3, 2.0, 4 / 3, 4 / 3])
    grad = fx.gradient(lambda x: np.sum(np.unique(np.array([np.nan, 1.0, np.nan]) * x)), np.ones(3))[0]
    assert np.array_equal(grad, [np.nan, 1.0, np.nan], equal_nan=True)  # NaN's own derivative is NaN


def test_copied_entries_gather_every_share():
    grad = fx.gradient(lambda x: np.sum(np.resize(x, 7)), np.array([1.0, 2.0, 3.0]))[0]
    assert np.array_equal(grad, [3.0, 2.0, 2.0])
    grad = fx.gradient(lambda x: np.sum(np.insert(x, [0, 2], 5.0) * np.arange(5.0)), np.ones(3))[0]
    assert np.array_equal(grad, [1.0, 2.0, 4.0])
    grad = fx.gradient(lambda x, d: np.sum(np.select([x > 1], [x], d)), np.array([0.0, 2.0]), 5.0)
    assert np.array_equal(grad[0], [0.0, 1.0]) and grad[1] == 1.0
    grad = fx.gradient(
        lambda x: np.sum(assembly.put_value(x, [0, 0], [x[1], x[2]])), np.array([1.0, 2.0, 3.0])
    )
    assert np.array_equal(grad[0], [0.0, 1.0, 2.0])  # the last write wins


def test_intersection_takes_its_gradient_from_the_first_argument():
    grads = fx.gradient(
        lambda a, b: np.sum(np.intersect1d(a, b) * 2.0), np.array([1.0, 3.0]), np.array([3.0, 4.0])
    )
    assert np.array_equal(grads[0], [0.0, 2.0]) and np.array_equal(grads[1], [0.0, 0.0])


def test_counts_carry_no_gradient():
    grad = fx.gradient(lambda x: np.sum(np.histogram(x, 3)[0] * x[0]), V)[0]
    assert np.array_equal(grad[1:], np.zeros(5))
    assert fx.gradient(lambda x: np.sum(np.bincount([0, 1, 1]) * x), np.ones(2))[0].tolist() == [1.0, 2.0]
    assert fx.gradient(lambda x: np.sum(np.delete(np.arange(4), 1) * x), np.ones(3))[0].tolist() == [0, 2, 3]


def test_list_and_number_arguments_get_cotangents_of_their_kind():
    grad = fx.gradient(lambda s: np.sum(np.insert(np.zeros(2), 1, s) ** 2), 1.5)
    assert grad == (3.0,) and type(grad[0]) is float
    (grad,) = fx.gradient(lambda c: np.sum(np.choose([0, 1, 0], c) ** 2), [[1.0, 2.0, 3.0], [4.0, 5.0, 6.0]])
    assert grad == [[2.0, 0.0, 6.0], [0.0, 10.0, 0.0]]
    grad = fx.gradient(lambda w: np.sum(np.bincount([0, 1], weights=w)), [1.0, 2.0])
    assert grad == ([1.0, 1.0],)


def test_non_differentiable_functions_are_marked():
    _, marked, missing = report()
    names = (
        "np.array2string np.array_repr np.format_float_positional np.save np.load np.loadtxt np.busday_offset "
        "np.is_busday np.datetime_as_string np.packbits np.unpackbits np.einsum_path np.set_printoptions"
    )
    assert [name for name in names.split() if name not in marked] == []
    have = set(report()[0])
    mine = (
        "np.nanvar np.nanstd np.nancumsum np.nancumprod np.nanmedian np.nanquantile np.nanpercentile "
        "np.broadcast_arrays np.block np.delete np.insert np.choose np.select np.extract np.resize np.rollaxis "
        "np.row_stack np.diagflat np.vander np.trim_zeros np.geomspace np.logspace np.gradient np.unwrap np.i0 "
        "np.sort_complex np.apply_along_axis np.apply_over_axes np.polyadd np.polysub np.polymul np.polyder "
        "np.polyint np.polyfit np.bincount np.histogram np.histogram_bin_edges np.unique np.unique_values "
        "np.unique_counts np.unique_inverse np.unique_all np.union1d np.intersect1d np.setdiff1d np.setxor1d "
        "np.copyto np.fill_diagonal np.put np.put_along_axis np.putmask np.place"
    )
    assert [name for name in mine.split() if name not in have] == []


def test_a_given_mean_gets_its_gradient_in_nanstd_and_integer_nanvar():
    # nanstd passed mean= through a non-differentiable helper: no gradient for it (wrong second order for
    # a data-dependent mean); integer nanvar cast the deviations to integers
    a = np.array([[1.0, 2.5, -0.3, 4.0], [0.2, np.nan, 1.1, -2.0]])
    m = np.array([[0.7], [0.1]])
    check_grads(lambda m: np.sum(np.nanstd(a, axis=1, mean=m)), m, order=2, forward=True)
    present = ~np.isnan(a)

    def data_dependent_mean(b):
        b = np.where(present, b, np.nan)
        return np.sum(np.nanstd(b, axis=1, mean=np.nanmean(b, axis=1, keepdims=True) + 0.5))

    check_grads(data_dependent_mean, np.nan_to_num(a), order=2, forward=True)
    ai = np.array([[1, 2, 4], [0, 3, 1]])
    assert np.allclose(
        fx.withgradient(lambda m: np.sum(np.nanvar(ai, axis=1, mean=m)), m)[0],
        np.sum(np.nanvar(ai, axis=1, mean=m)),
    )
    check_grads(lambda m: np.sum(np.nanvar(ai, axis=1, mean=m)), m, order=2, forward=True)


def test_histogram_with_integer_weights_keeps_numpys_dtype():
    a = np.array([0.1, 0.5, 0.6, 2.0, 2.5])
    w = np.array([1, 2, 2, 5, 7])
    hist = fx.withgradient(lambda a: np.sum(np.histogram(a, 3, weights=w)[1]), a)[0]
    assert np.isclose(hist, np.sum(np.histogram(a, 3, weights=w)[1]))
    got = fx.pullback(lambda a: np.histogram(a, 3, weights=w)[0], a)[0]
    assert got.dtype == np.histogram(a, 3, weights=w)[0].dtype and np.array_equal(got, [5, 0, 12])


def test_polyfit_gives_numpys_values_exactly():
    # it solved with pinv, NumPy with lstsq: differences of 1e-15 to 1e-10
    x = np.linspace(-1, 1, 50)
    y = np.sin(3 * x) + 0.1 * x**9
    for deg in (1, 5, 9):
        value = fx.withgradient(lambda y: np.polyfit(x, y, deg)[0], y)[0]
        assert value == np.polyfit(x, y, deg)[0]
    check_grads(lambda y: np.sum(np.polyfit(x, y, 3) ** 2), y, order=2, forward=True)
