"""Cases that used to fail loudly: ``det`` of a singular matrix, ``sinc`` at 0 in forward mode and in the
Hessian, ``heaviside``'s ``h0``, and the ``dtype=`` keyword of ufuncs."""

import math

import numpy as np
import pytest

import fluxpy as fx
from fluxpy.testing import check_grads

# ---------------------------------------------------------------------------------------------------------
# np.linalg.det of a singular matrix: the gradient is the transposed adjugate (the cofactor matrix)


def cofactors(a):
    n = a.shape[0]
    out = np.zeros_like(a)
    for i in range(n):
        for j in range(n):
            minor = np.delete(np.delete(a, i, 0), j, 1)
            out[i, j] = (-1) ** (i + j) * (np.linalg.det(minor) if minor.size else 1.0)
    return out


SINGULAR = {
    "rank1_2x2": np.array([[1.0, 2.0], [2.0, 4.0]]),
    "zero_row_3x3": np.array([[1.0, 2.0, 3.0], [0.0, 0.0, 0.0], [7.0, 8.0, 10.0]]),
    "rank2_3x3": np.array([[1.0, 2.0, 3.0], [2.0, 4.0, 6.0], [0.0, 1.0, 5.0]]),
    "rank1_3x3": np.outer([1.0, 2.0, 3.0], [1.0, -1.0, 2.0]),
    "zero_3x3": np.zeros((3, 3)),
}


@pytest.mark.parametrize("a", SINGULAR.values(), ids=SINGULAR.keys())
def test_det_gradient_at_a_singular_matrix_is_the_cofactor_matrix(a):
    assert np.linalg.det(a) == 0.0  # the fallback path (an exactly singular LU)
    (g,) = fx.gradient(np.linalg.det, a)
    np.testing.assert_allclose(g, cofactors(a), atol=1e-12)


def test_det_gradient_of_a_stack_with_a_singular_matrix():
    a = np.stack([SINGULAR["rank2_3x3"], np.diag([2.0, 3.0, 4.0]), SINGULAR["zero_row_3x3"]])
    (g,) = fx.gradient(lambda a: np.sum(np.linalg.det(a) * np.array([1.0, -2.0, 0.5])), a)
    expected = np.stack([cofactors(m) * w for m, w in zip(a, [1.0, -2.0, 0.5], strict=True)])
    np.testing.assert_allclose(g, expected, atol=1e-12)


def test_det_of_a_singular_matrix_second_order_and_forward():
    a = SINGULAR["rank1_2x2"]
    check_grads(np.linalg.det, a, order=2, forward=True)
    # det of a 2x2 is a00 a11 - a01 a10: its Hessian is constant
    h = fx.hessian(np.linalg.det, a)
    expected = np.zeros((2, 2, 2, 2))
    expected[0, 0, 1, 1] = expected[1, 1, 0, 0] = 1.0
    expected[0, 1, 1, 0] = expected[1, 0, 0, 1] = -1.0
    np.testing.assert_allclose(h, expected, atol=1e-12)


def test_det_of_a_singular_complex_matrix():
    a = SINGULAR["rank2_3x3"] * (1 + 2j)
    dy = 0.5 - 1j
    (g,) = fx.pullback(np.linalg.det, a)[1](dy)
    np.testing.assert_allclose(g, dy * np.conj(cofactors(a)), atol=1e-10)


def test_det_regular_path_unchanged():
    a = np.array([[2.0, 1.0], [0.5, 3.0]])
    (g,) = fx.gradient(np.linalg.det, a)
    np.testing.assert_allclose(g, np.linalg.det(a) * np.linalg.inv(a).T)


# ---------------------------------------------------------------------------------------------------------
# np.sinc at 0: sinc'(0) = 0, sinc''(0) = -pi^2 / 3


def test_sinc_forward_mode_at_zero():
    x = np.array([0.0, 0.5, 1e-3, -2e-2])
    y, t = fx.jvp(np.sinc, (x,), (np.ones(4),))
    h = 1e-6
    fd = (np.sinc(x + h) - np.sinc(x - h)) / (2 * h)
    assert np.all(np.isfinite(t))
    assert t[0] == 0.0
    np.testing.assert_allclose(t, fd, rtol=1e-6, atol=1e-9)


def test_sinc_hessian_at_zero():
    h = fx.hessian(lambda x: np.sum(np.sinc(x)), np.array([0.0, 0.5]))
    np.testing.assert_allclose(np.diag(h), [-(math.pi**2) / 3, _sinc_second(0.5)], rtol=1e-10)
    assert h[0, 1] == 0.0 and h[1, 0] == 0.0
    assert fx.hessian(np.sinc, 0.0) == pytest.approx(-(math.pi**2) / 3)


def _sinc_second(x):
    """sinc''(x) = (-pi^2 x^2 sin(pi x) - 2 pi x cos(pi x) + 2 sin(pi x)) / (pi x^3)."""
    px = math.pi * x
    return (-(px**2) * math.sin(px) - 2 * px * math.cos(px) + 2 * math.sin(px)) / (math.pi * x**3)


@pytest.mark.parametrize("x", [0.0, 1e-4, 5e-3, 0.0099, 0.0101, 0.3, -1.7])
def test_sinc_derivatives_near_and_away_from_zero(x):
    check_grads(lambda x: np.sum(np.sinc(x)), np.array([x, -x, 2 * x]), order=2, forward=True)
    assert fx.hessian(np.sinc, x) == pytest.approx(_sinc_second(x) if x else -(math.pi**2) / 3, rel=1e-6)


# ---------------------------------------------------------------------------------------------------------
# np.heaviside(x, h0): h0 is the value where x == 0


def test_heaviside_h0_gets_the_cotangent_where_x_is_zero():
    x = np.array([0.0, 0.5, 0.0, -1.0])
    gx, gh = fx.gradient(lambda x, h: np.sum(np.heaviside(x, h) * np.array([1.0, 2.0, 3.0, 4.0])), x, 0.5)
    assert gh == pytest.approx(4.0)  # 1 + 3: the entries where x == 0
    assert gx is None or not np.any(gx)


def test_heaviside_array_h0_and_no_zeros():
    x = np.array([0.0, 0.5, 0.0])
    (gh,) = fx.gradient(lambda h: np.sum(np.heaviside(x, h) ** 2), np.array([0.25, 0.75, 2.0]))
    np.testing.assert_allclose(gh, [0.5, 0.0, 4.0])
    (gh,) = fx.gradient(lambda h: np.sum(np.heaviside(np.array([1.0, -1.0]), h)), 0.5)
    assert gh is None or gh == 0.0
    check_grads(lambda h: np.sum(np.heaviside(x, h) ** 3), np.array([0.25, 0.75, 2.0]), order=2, forward=True)


# ---------------------------------------------------------------------------------------------------------
# dtype= on ufuncs: the value in that dtype, the gradient cast back to the input's

X = np.array([0.3, -0.7, 1.2])
W = np.array([1.5, 0.25, -2.0])


def exp64(x):
    return np.sum(np.exp(x, dtype=np.float64))


def exp32(x):
    return np.sum(np.exp(x, dtype=np.float32) * 1.0)


def unary_dtypes(x):
    return np.sum(np.sin(x, dtype=np.float64) * np.tanh(x, dtype=np.float64) + np.square(x, dtype=np.float64))


def binary_dtypes(x, w):
    y = np.add(x, w, dtype=np.float64) * np.multiply(x, w, dtype=np.float64)
    return np.sum(np.subtract(y, x, dtype=np.float64) / np.divide(w, 3.0, dtype=np.float64))


def more_binary_dtypes(x, w):
    return np.sum(
        np.power(np.abs(x) + 1, w, dtype=np.float64)
        + np.maximum(x, w, dtype=np.float64)
        + np.hypot(x, w, dtype=np.float64)
        + np.negative(x, dtype=np.float64)
        + np.arctan2(x, w, dtype=np.float64)
    )


@pytest.mark.parametrize("f", [exp64, unary_dtypes])
def test_dtype_keyword_unary(f):
    check_grads(f, X, order=2, forward=True)


@pytest.mark.parametrize("f", [binary_dtypes, more_binary_dtypes])
def test_dtype_keyword_binary(f):
    check_grads(f, X, W, order=2, forward=True)


def test_dtype_keyword_casts_the_value_and_the_gradient_back():
    y, back = fx.pullback(lambda x: np.exp(x, dtype=np.float32), X)
    assert y.dtype == np.float32
    np.testing.assert_array_equal(y, np.exp(X, dtype=np.float32))
    (g,) = back(np.ones(3, dtype=np.float32))
    assert g.dtype == np.float64
    np.testing.assert_allclose(g, np.exp(X), rtol=1e-6)
    (g,) = fx.gradient(exp32, X)
    assert g.dtype == np.float64
    y, back = fx.pullback(lambda x, w: np.add(x, w, dtype=np.float32), X, W)
    assert y.dtype == np.float32
    gx, gw = back(np.ones(3, dtype=np.float32))
    assert gx.dtype == gw.dtype == np.float64
    np.testing.assert_array_equal(gx, np.ones(3))


def test_dtype_keyword_complex_result_from_real_input():
    def f(x):
        return np.sum(np.imag(np.exp(x * 1j, dtype=np.complex128)))

    (g,) = fx.gradient(f, X)
    np.testing.assert_allclose(g, np.cos(X))


def test_dtype_keyword_keeps_numpys_errors():
    with pytest.raises(TypeError):  # NumPy refuses to cast float64 inputs to int64 (same_kind)
        fx.gradient(lambda x: np.sum(np.add(x, x, dtype=np.int64)), X)


def test_dtype_keyword_on_python_numbers():
    (g,) = fx.gradient(lambda x: np.exp(x, dtype=np.float64) * 2.0, 0.5)
    assert g == pytest.approx(2 * math.exp(0.5))
    assert fx.gradient(lambda x: np.multiply(x, 3.0, dtype=np.float32), 0.5)[0] == pytest.approx(3.0)
