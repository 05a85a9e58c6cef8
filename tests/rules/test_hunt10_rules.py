"""Rules added after bug hunt 10: ``np.vectorize`` objects, casts to ``object`` and of NumPy scalars, powers
at a zero base, and NumPy functions that had none (diff, append, ptp, trapezoid, median/quantile/percentile,
interp, convolve/correlate, linspace, take, cov, linalg.pinv/matrix_power/multi_dot/vector_norm/...).

One table row per rule and option, checked by ``check_grads`` (order 2, forward mode too), values compared
with NumPy's; forward over reverse (``fx.hessian``) against reverse over reverse; each refusal next to a
valid neighbour."""

import math

import numpy as np
import pytest

import fluxpy as fx
from fluxpy.errors import FluxpyError
from fluxpy.rules import python_power
from fluxpy.rules.forward_arithmetic import power_by_constant_jvp
from fluxpy.testing import check_grads


def normal(seed, *shape):
    return np.random.default_rng(seed).standard_normal(shape)


X = normal(0, 3, 4)
X3 = normal(1, 3, 4, 5)
V = normal(2, 6)
W = normal(3, 3)
SQ = normal(4, 3, 3) + 3 * np.eye(3)
SYM = SQ + SQ.T
STACK = normal(5, 2, 3, 3) * 0.5
TALL = np.arange(6.0).reshape(3, 2) + np.eye(3, 2)
KNOTS = np.array([0.0, 0.5, 1.0, 2.0])
XS = np.array([-0.5, 0.2, 0.7, 1.4, 2.5, 1.9])

square = np.vectorize(lambda t: t * t)
sine_product = np.vectorize(lambda a, b: a * math.sin(b))
pair = np.vectorize(lambda t: (2.0 * t, t**3))
with_params = np.vectorize(lambda t, p: t * p[0] + p[1], excluded={1})
scaled = np.vectorize(lambda t, s=1.0: t * s)
ramp = np.vectorize(lambda t: t if t > 1 else -t, otypes=[float])


@np.vectorize
def smooth(t):
    return math.exp(-t * t)


def vectorized_closure(x, w):
    f = np.vectorize(lambda t: t * w)
    return np.sum(f(x) ** 2)


CASES = [
    # np.vectorize
    pytest.param(lambda x: np.sum(square(x) * x), (V,), id="vectorize"),
    pytest.param(lambda a, b: np.sum(sine_product(a, b) ** 2), (X, X[0]), id="vectorize-broadcast"),
    pytest.param(lambda x: np.sum(pair(x)[0] * pair(x)[1]), (V,), id="vectorize-two-outputs"),
    pytest.param(lambda x, p: np.sum(with_params(x, p)), (V, np.array([2.0, 3.0])), id="vectorize-excluded"),
    pytest.param(lambda x, s: np.sum(scaled(x, s=s) ** 2), (V, 1.5), id="vectorize-keyword"),
    pytest.param(lambda x: np.sum(ramp(x) * x), (V,), id="vectorize-otypes-branch"),
    pytest.param(lambda x: np.sum(smooth(x)), (X,), id="vectorize-decorator"),
    pytest.param(lambda s: square(s) * s, (1.5,), id="vectorize-scalar"),
    pytest.param(vectorized_closure, (V, 0.7), id="vectorize-closure"),
    # casts
    pytest.param(lambda x: np.sum(x).astype(float) * x[0], (V,), id="astype-scalar"),
    pytest.param(lambda x: np.sum((x.astype(object) ** 2).astype(float)), (V,), id="astype-object"),
    pytest.param(lambda x: np.sum(np.astype(x, np.complex128).real ** 2), (V,), id="np-astype"),
    # diff, ediff1d, append
    pytest.param(lambda x: np.sum(np.diff(x) ** 2), (V,), id="diff"),
    pytest.param(lambda x: np.sum(np.sin(np.diff(x, 2, 0))), (X3,), id="diff-n2-axis0"),
    pytest.param(lambda x: np.sum(np.diff(x, n=0) ** 2), (V,), id="diff-n0"),
    pytest.param(
        lambda x, p, q: np.sum(np.diff(x, axis=0, prepend=p, append=q) ** 3),
        (X, normal(6, 1, 4), normal(7, 2, 4)),
        id="diff-prepend-append",
    ),
    pytest.param(lambda x, p: np.sum(np.diff(x, prepend=p) ** 2), (X, 0.7), id="diff-prepend-number"),
    pytest.param(lambda x, p: np.sum(np.diff(x, 3, -1, p) ** 2), (X, normal(8, 3, 2)), id="diff-positional"),
    pytest.param(lambda x, b: np.sum(np.ediff1d(x, to_begin=b, to_end=[2.0]) ** 2), (X, 0.4), id="ediff1d"),
    pytest.param(lambda x, v: np.sum(np.append(x, v) ** 2), (X, V), id="append"),
    pytest.param(lambda x, v: np.sum(np.append(x, v, axis=0) ** 3), (X, normal(9, 2, 4)), id="append-axis"),
    pytest.param(lambda x, s: np.sum(np.append(x, s) ** 2), (V, 1.5), id="append-number"),
    # convolve, correlate
    *[
        pytest.param(lambda a, v, mode=mode: np.sum(f(a, v, mode) ** 2), args, id=f"{f.__name__}-{mode}-{k}")
        for f in (np.convolve, np.correlate)
        for mode in ("full", "same", "valid")
        for k, args in (("long-first", (V, W)), ("long-second", (W[:2], V)))
    ],
    pytest.param(
        lambda a, v: np.sum(np.abs(np.convolve(a, v * (1 + 2j))) ** 2), (V, W), id="convolve-complex"
    ),
    pytest.param(
        lambda a, v: np.sum(np.abs(np.correlate(a * 1j + v[0], v * (1 + 2j), "full")) ** 2),
        (V, W),
        id="correlate-complex",
    ),
    # interp
    pytest.param(lambda x, k, fp: np.sum(np.interp(x, k, fp) ** 2), (XS, KNOTS, V[:4]), id="interp"),
    pytest.param(
        lambda x, fp, lo, hi: np.sum(np.interp(x, KNOTS, fp, lo, hi) ** 2),
        (XS, V[:4], 3.0, -1.0),
        id="interp-left-right",
    ),
    pytest.param(lambda x: np.sum(np.interp(x, [0.0, 1.0, 2.0], [1.0, 3.0, 2.0])), (XS,), id="interp-lists"),
    pytest.param(lambda x, fp: np.interp(x, KNOTS, fp) ** 2, (0.3, V[:4]), id="interp-number"),
    pytest.param(
        lambda x, fp: np.abs(np.sum(np.interp(x, KNOTS, fp * (1 + 1j)))) ** 2,
        (XS, V[:4]),
        id="interp-complex",
    ),
    # linspace
    pytest.param(lambda a, b: np.sum(np.linspace(a, b, 5) ** 2), (0.3, 1.7), id="linspace"),
    pytest.param(
        lambda a, b: np.sum(np.sin(np.linspace(a, b, 4, axis=1))), (W, normal(10, 2, 3)), id="linspace-axis"
    ),
    pytest.param(
        lambda a, b: (
            np.sum(np.linspace(a, b, 4, endpoint=False) ** 2) + np.linspace(a, b, 3, retstep=True)[1] ** 2
        ),
        (0.3, 1.7),
        id="linspace-retstep",
    ),
    pytest.param(lambda a, b: np.sum(np.linspace(a, b, 1) ** 2), (0.3, 1.7), id="linspace-one"),
    pytest.param(
        lambda a, b: np.sum(np.linspace(start=a, stop=b, num=3) ** 2), (0.3, 1.7), id="linspace-keywords"
    ),
    # take method
    pytest.param(
        lambda x: np.sum(x.take([0, 0, 5]) ** 2) + np.sum(x.take([1, 0], axis=1) ** 3), (X,), id="take-method"
    ),
    # ptp, median, quantile, percentile
    pytest.param(lambda x: np.ptp(x), (V,), id="ptp"),
    pytest.param(lambda x: np.sum(np.ptp(x, axis=1, keepdims=True) ** 2), (X3,), id="ptp-axis"),
    pytest.param(lambda x: np.median(x), (V[:5],), id="median-odd"),
    pytest.param(lambda x: np.median(x), (V,), id="median-even"),
    pytest.param(lambda x: np.sum(np.median(x, axis=(0, 2), keepdims=True) ** 2), (X3,), id="median-axes"),
    pytest.param(lambda x, q: np.quantile(x, q) ** 2, (V, 0.37), id="quantile"),
    pytest.param(
        lambda x, q: np.sum(np.quantile(x, q, axis=-1) ** 2),
        (X3, np.array([0.1, 0.55, 0.9])),
        id="quantile-axis",
    ),
    pytest.param(
        lambda x, q: np.sum(np.quantile(x, q, axis=1, keepdims=True) ** 2),
        (X3, np.array([[0.1, 0.55], [0.2, 0.9]])),
        id="quantile-keepdims",
    ),
    pytest.param(lambda x: np.sum(np.quantile(x, [0.0, 1.0])), (V,), id="quantile-ends"),
    pytest.param(
        lambda x, q: np.sum(np.percentile(x, q, axis=0) ** 2), (X, np.array([10.0, 62.0])), id="percentile"
    ),
    # trapezoid, cov, corrcoef, polyval, cumulative_sum/prod
    pytest.param(lambda y: np.trapezoid(y), (V,), id="trapezoid"),
    pytest.param(lambda y, d: np.trapezoid(y, dx=d), (V, 0.3), id="trapezoid-dx"),
    pytest.param(lambda y, x: np.trapezoid(y**2, x), (V, np.sort(normal(11, 6))), id="trapezoid-x"),
    pytest.param(
        lambda y, x: np.sum(np.trapezoid(y, x=x, axis=0) ** 2), (X, np.sort(W)), id="trapezoid-axis"
    ),
    pytest.param(lambda m: np.sum(np.cov(m) ** 2), (X,), id="cov"),
    pytest.param(
        lambda m, y: np.sum(np.cov(m, y, rowvar=False, bias=True) ** 2), (X, normal(12, 3, 2)), id="cov-y"
    ),
    pytest.param(lambda m: np.sum(np.cov(m, aweights=np.arange(1.0, 5.0)) ** 2), (X,), id="cov-aweights"),
    pytest.param(lambda m: np.sum(np.cov(m, fweights=[1, 2, 1, 3]) ** 2), (X,), id="cov-fweights"),
    pytest.param(lambda m: np.sum(np.corrcoef(m)[0, 1:] ** 2), (X,), id="corrcoef"),
    pytest.param(lambda p, x: np.sum(np.polyval(p, x) ** 2), (W, V), id="polyval"),
    pytest.param(
        lambda x: np.sum(np.cumulative_sum(x, axis=1, include_initial=True) ** 2), (X,), id="cumulative_sum"
    ),
    pytest.param(lambda x: np.sum(np.cumulative_prod(x, axis=0)), (X,), id="cumulative_prod"),
    # linalg
    *[
        pytest.param(lambda a, n=n: np.sum(np.linalg.matrix_power(a, n) ** 2), (SQ,), id=f"matrix_power-{n}")
        for n in (0, 1, 2, 3, 5, -2)
    ],
    pytest.param(lambda a: np.sum(np.linalg.matrix_power(a, 6)), (STACK,), id="matrix_power-stack"),
    pytest.param(lambda a, b, c: np.sum(np.linalg.multi_dot([a, b, c]) ** 2), (X, X.T, SQ), id="multi_dot-3"),
    pytest.param(lambda v, a, b: np.linalg.multi_dot([v, a, b, v]), (W, X, X.T), id="multi_dot-vectors"),
    pytest.param(
        lambda a, b, c: np.sum(np.linalg.multi_dot([a, b, c, c.T, b.T])),
        (normal(13, 2, 6), normal(14, 6, 3), normal(15, 3, 8)),
        id="multi_dot-5",
    ),
    pytest.param(lambda a: np.sum(np.linalg.pinv(a) ** 2), (TALL,), id="pinv-tall"),
    pytest.param(lambda a: np.sum(np.sin(np.linalg.pinv(a))), (normal(16, 2, 4),), id="pinv-wide"),
    pytest.param(lambda a: np.sum(np.linalg.pinv(a) ** 2), (normal(17, 2, 4, 3),), id="pinv-stack"),
    pytest.param(
        lambda a: np.sum(np.linalg.pinv((a + a.T) / 2, hermitian=True) ** 2), (SYM,), id="pinv-hermitian"
    ),
    pytest.param(
        lambda a, b: np.sum(np.abs(np.linalg.pinv(a + 1j * b)) ** 2),
        (TALL, normal(18, 3, 2)),
        id="pinv-complex",
    ),
    pytest.param(lambda x: np.linalg.vector_norm(x), (X,), id="vector_norm"),
    pytest.param(
        lambda x: np.sum(np.linalg.vector_norm(x, axis=1, keepdims=True, ord=3) ** 2),
        (X,),
        id="vector_norm-axis",
    ),
    pytest.param(
        lambda x: np.sum(np.linalg.vector_norm(x, axis=(0, 2), ord=1.5)), (X3,), id="vector_norm-axes"
    ),
    pytest.param(lambda x: np.linalg.matrix_norm(x), (X,), id="matrix_norm"),
    pytest.param(
        lambda x: np.sum(np.linalg.matrix_norm(x, ord="nuc", keepdims=True)), (STACK,), id="matrix_norm-nuc"
    ),
    pytest.param(lambda s: np.sum(np.linalg.trace(s, offset=1) ** 2), (STACK,), id="linalg-trace"),
    pytest.param(lambda s: np.sum(np.linalg.diagonal(s) ** 2), (STACK,), id="linalg-diagonal"),
    pytest.param(
        lambda s: np.sum(np.linalg.matrix_transpose(s) * STACK), (STACK,), id="linalg-matrix_transpose"
    ),
    pytest.param(
        lambda a, b: np.sum(np.linalg.cross(a, b) ** 2),
        (normal(19, 4, 3), normal(20, 4, 3)),
        id="linalg-cross",
    ),
]


@pytest.mark.parametrize("f, args", CASES)
def test_rule_gradients_match_finite_differences(f, args):
    check_grads(f, *args, order=2, forward=True)


@pytest.mark.parametrize("f, args", CASES)
def test_values_are_numpys(f, args):
    y, _ = fx.pullback(f, *args)
    expected = f(*args)
    assert type(y) is type(expected) or (isinstance(y, float) and isinstance(expected, float))
    np.testing.assert_array_equal(y, expected)


HESSIANS = [
    pytest.param(lambda x: np.sum(np.diff(x, prepend=x[0] * 2) ** 3), V, id="diff"),
    pytest.param(lambda x: np.sum(np.convolve(x, x[:3] ** 2, "same") ** 2), V, id="convolve"),
    pytest.param(lambda x: np.sum(np.interp(x * 0.5, [-1.0, 0.0, 1.0], x[:3] ** 2) ** 2), V, id="interp"),
    pytest.param(lambda x: np.quantile(x**3, np.abs(x[0]) / 3), V, id="quantile"),
    pytest.param(lambda a: np.sum(np.linalg.matrix_power(a, 5)), SQ / 3, id="matrix_power"),
    pytest.param(lambda a: np.sum(np.linalg.pinv(a) ** 2), SQ, id="pinv"),
    pytest.param(lambda x: np.sum(square(x) * x), V, id="vectorize"),
    pytest.param(
        lambda x: np.sum(np.vectorize(lambda t: t * t * np.sin(t))(x) * np.cos(x)), V, id="vectorize-sin"
    ),
]


@pytest.mark.parametrize("f, x", HESSIANS)
def test_forward_over_reverse_matches_reverse_over_reverse(f, x):
    expected = fx.jacobian(lambda t: fx.gradient(f, t)[0], x)[0]
    np.testing.assert_allclose(fx.hessian(f, x), expected, rtol=1e-10, atol=1e-12)


# ---------------------------------------------------------------------------------------------------------
# np.vectorize: what NumPy gives, and what has no rule


def test_vectorize_gradient_jvp_and_pullback():
    x = np.array([1.0, 2.0, 3.0])
    double = np.vectorize(lambda t: t * 2.0)
    assert np.array_equal(fx.gradient(lambda x: np.sum(double(x)), x)[0], [2.0, 2.0, 2.0])
    assert fx.jvp(lambda x: np.sum(double(x)), (x,), (np.ones(3),)) == (12.0, 6.0)
    assert np.array_equal(fx.pullback(double, x)[1](np.ones(3))[0], [2.0, 2.0, 2.0])


def test_vectorize_gradient_reaches_captured_parameters():
    w = np.array([3.0])
    scale = np.vectorize(lambda t: t * w[0])
    ps = fx.params(w)
    grads = fx.gradient(lambda: np.sum(scale(np.array([1.0, 2.0]))), ps)
    assert np.allclose(grads[w], [3.0])


def test_vectorize_integer_results_carry_no_gradient():
    to_int = np.vectorize(lambda t: int(t))
    x = np.array([0.5, 1.5, 2.5])
    assert np.array_equal(fx.gradient(lambda x: np.sum(to_int(x) * x), x)[0], [0.0, 1.0, 2.0])


def test_vectorize_size_zero_needs_otypes_as_in_numpy():
    with_otypes = np.vectorize(lambda t: t * 2.0, otypes=[float])
    assert fx.gradient(lambda x: np.sum(with_otypes(x)) + np.sum(x), np.zeros(0))[0].shape == (0,)
    with pytest.raises(ValueError, match="size 0 inputs"):
        fx.gradient(lambda x: np.sum(square(x)), np.zeros(0))


def test_vectorize_with_signature_is_refused():
    rows = np.vectorize(lambda v: np.sum(v**2), signature="(n)->()")
    with pytest.raises(FluxpyError, match="signature='\\(n\\)->\\(\\)'"):
        fx.gradient(lambda x: np.sum(rows(x)), X)
    assert fx.gradient(lambda x: np.sum(np.sum(x**2, axis=-1)), X)[0].shape == X.shape


def test_astype_of_numbers_in_every_mode():
    """A cast's cotangent or tangent may be a Python float (``float(...)`` after it, a scalar result)."""
    x = np.array([1.0, 2.0, 3.0])
    assert np.array_equal(fx.gradient(lambda x: 3.0 * float(x[0].astype(np.float32)), x)[0], [3.0, 0.0, 0.0])
    assert fx.jvp(lambda x: np.sum(x).astype(float), (x,), (np.ones(3),)) == (6.0, 3.0)
    assert fx.jvp(lambda x: x[0].astype(np.float32), (x,), (np.ones(3),)) == (1.0, 1.0)
    assert fx.hessian(lambda x: x[0].astype(float) ** 3, x)[0, 0] == 6.0


# ---------------------------------------------------------------------------------------------------------
# refusals, each next to the valid call


def test_quantile_methods_other_than_linear_are_refused_when_a_gradient_is_needed():
    with pytest.raises(FluxpyError, match="method='nearest'"):
        fx.gradient(lambda x: np.quantile(x, 0.3, method="nearest"), V)
    assert fx.pullback(lambda x: np.quantile(x, 0.3, method="nearest"), V)[0] == np.quantile(
        V, 0.3, method="nearest"
    )
    with pytest.raises(FluxpyError, match="method='inverted_cdf'"):
        fx.gradient(lambda x: np.quantile(x, 0.3, method="inverted_cdf", weights=np.ones(6)), V)
    check_grads(lambda x: np.quantile(x, 0.3, method="linear"), V)


def test_interp_period_is_refused():
    with pytest.raises(FluxpyError, match="period="):
        fx.gradient(lambda x: np.sum(np.interp(x, KNOTS, V[:4], period=3.0)), XS)
    check_grads(lambda x: np.sum(np.interp(x, KNOTS, V[:4])), XS)


def test_multi_dot_out_is_refused():
    out = np.empty((3, 3))
    with pytest.raises(FluxpyError, match="out="):
        fx.gradient(lambda a: np.sum(np.linalg.multi_dot([a, a.T, SQ], out=out)), X[:, :3])


def test_gradient_ties_go_where_numpys_sort_puts_them():
    assert np.array_equal(fx.gradient(np.median, np.array([1.0, 2.0, 2.0, 2.0, 5.0]))[0], [0, 0, 1, 0, 0])
    assert np.array_equal(fx.gradient(np.ptp, np.array([1.0, 5.0, 1.0, 5.0]))[0], [-0.5, 0.5, -0.5, 0.5])


# ---------------------------------------------------------------------------------------------------------
# powers at a zero base (NumPy's values where Python raises ZeroDivisionError)


def test_power_at_a_zero_base():
    assert fx.gradient(lambda x, y: x**y, 0.0, 0.5) == (math.inf, 0.0)
    assert fx.gradient(lambda y: 0.0**y, 0.5) == (0.0,)
    assert fx.gradient(lambda x, y: x**y, 0.0, 2.5) == (0.0, 0.0)
    assert fx.hessian(lambda x: x**1.5, 0.0) == math.inf
    assert fx.jvp(lambda x: x**0.5, (0.0,), (1.0,)) == (0.0, math.inf)


def test_power_rules_at_a_zero_base():
    _, back = python_power.power_by_constant_rule(0.0, 0.5)
    assert back(1.0) == (math.inf, None)
    _, back = python_power.power_by_constant_rule(0.0, 3.0)
    assert back(1.0) == (0.0, None)
    assert power_by_constant_jvp((0.0, 0.5), (1.0, None)) == (0.0, math.inf)
    assert (
        python_power.zero_base_power(-0.0, -1.0) == -math.inf
        and python_power.zero_base_power(0.0, -2.0) == math.inf
    )
    _, back = python_power.power_rule(0.0, 0.5)
    assert back(1.0) == (math.inf, 0.0)
    _, back = python_power.power_rule.partial((False, True), 0.0, 0.5)
    assert back(1.0) == (None, 0.0)  # the base's term is not computed
