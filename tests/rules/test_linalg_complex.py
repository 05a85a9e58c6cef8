"""np.linalg rules on complex matrices, at first and second order and in forward mode.

``check_grads`` perturbs float arguments only, so most tests build a complex matrix ``a + 1j * b`` from two
real ones inside a real loss: finite differences then move the real and the imaginary parts, and the
gradients with respect to ``a`` and ``b`` are the real and imaginary parts of the complex gradient in the
library's convention (``dL/da + i dL/db``). A few compare a complex gradient directly with finite
differences along both axes. Losses of singular vectors and eigenvectors do not depend on the vectors'
phases (``|u|``, ``u v^H``, ``v v^H``): a phase is arbitrary, and has no derivative.
"""

import numpy as np
import pytest

import fluxpy as fx
from fluxpy.testing import check_grads


def _rand(seed, *shape):
    return np.random.default_rng(seed).standard_normal(shape)


def _real_loss(w):
    """A real loss that reads both parts of a complex ``w`` with different weights."""
    return np.sum(np.real(w) * 0.7 - np.imag(w) * 1.3)


def _weights(x):
    """Distinct weights shaped like ``x``."""
    return np.arange(1, np.size(x) + 1).reshape(np.shape(x)) / np.size(x)


def _mH(x):
    return np.conj(np.swapaxes(x, -1, -2))


def _hermitian(a, b):
    """A Hermitian positive definite matrix (stack) from two real ones."""
    z = a + 1j * b
    n = z.shape[-1]
    return z @ _mH(z) + n * np.eye(n)


def _complex_fd(loss, z, eps=1e-6):
    """``dL/da + i dL/db`` by central differences."""
    grad = np.zeros(z.shape, dtype=complex)
    for idx in np.ndindex(*z.shape):
        e = np.zeros(z.shape)
        e[idx] = eps
        grad[idx] = (loss(z + e) - loss(z - e)) / (2 * eps) + 1j * (loss(z + 1j * e) - loss(z - 1j * e)) / (
            2 * eps
        )
    return grad


def check(f, *args, order=2):
    check_grads(f, *args, order=order, forward=True)


A33, B33 = _rand(0, 3, 3), _rand(1, 3, 3)
SHAPES = {"square": (3, 3), "tall": (4, 3), "wide": (3, 4), "batched": (2, 4, 3)}


def _pair(shape, seed=2):
    return _rand(seed, *shape), _rand(seed + 1, *shape)


# ---------------------------------------------------------------------------------------------------------
# svd


def _svd_vectors_loss(a, b):
    z = a + 1j * b
    u, s, vh = np.linalg.svd(z, full_matrices=False)
    k = s.shape[-1]
    return (
        np.sum(np.abs(u) ** 2 * _weights(u))  # U alone
        + np.sum(np.abs(vh) ** 3 * _weights(vh))  # Vh alone
        + _real_loss((u[..., :, :2] * s[..., None, :2]) @ vh[..., :2, :] * (1 + 0.5j))  # pairs
        + _real_loss(u[..., :, k - 1 :] @ vh[..., k - 1 :, :] * 1j)
    )


@pytest.mark.parametrize("shape", SHAPES.values(), ids=SHAPES.keys())
def test_svd_singular_vectors_of_a_complex_matrix(shape):
    check(_svd_vectors_loss, *_pair(shape))


@pytest.mark.parametrize("shape", SHAPES.values(), ids=SHAPES.keys())
def test_svd_singular_values_of_a_complex_matrix(shape):
    # a complex cotangent reaches the (real) singular values: only its real part is theirs
    def loss(a, b):
        s = np.linalg.svd(a + 1j * b, compute_uv=False)
        t = np.linalg.svdvals(a + 1j * b)
        return _real_loss(s**2 * (1 + 2j)) + np.sum(s**3) + _real_loss(t * (0.5 - 3j) * t)

    check(loss, *_pair(shape))


def test_svd_full_matrices_of_a_square_complex_matrix():
    def loss(a, b):
        u, s, vh = np.linalg.svd(a + 1j * b)
        return np.sum(np.abs(u) ** 2 * _weights(u)) + np.sum(s * _weights(s)) + _real_loss(u[:, :1] @ vh[:1])

    check(loss, A33, B33)


def test_svd_of_a_hermitian_matrix():
    def loss(a, b):
        z = a + 1j * b
        h = z + _mH(z)  # indefinite: NumPy moves the eigenvalues' signs into Vh
        u, s, vh = np.linalg.svd(h, hermitian=True)
        t = np.linalg.svd(h, compute_uv=False, hermitian=True)
        return np.sum(np.abs(u) ** 2 * _weights(u)) + np.sum(s**2 * _weights(s)) + np.sum(t**3) * 0.1

    check(loss, A33, B33)


def test_svd_gradient_with_respect_to_a_complex_matrix_matches_finite_differences():
    z = A33 + 1j * B33
    w = _rand(4, 3, 3) + 1j * _rand(5, 3, 3)

    def loss(z):
        u, s, vh = np.linalg.svd(z)
        return np.sum(s * np.abs(u[0])) + np.real(np.sum((u[:, :2] @ vh[:2]) * w))

    (g,) = fx.gradient(loss, z)
    np.testing.assert_allclose(g, _complex_fd(loss, z), rtol=1e-6, atol=1e-8)


def test_svd_values_are_numpys_own():
    z = _rand(6, 40, 30) + 1j * _rand(7, 40, 30)
    y, _ = fx.pullback(lambda z: np.linalg.svd(z, compute_uv=False), z)
    np.testing.assert_array_equal(y, np.linalg.svd(z, compute_uv=False))
    y, _ = fx.pullback(np.linalg.svdvals, z)
    np.testing.assert_array_equal(y, np.linalg.svdvals(z))
    h = _hermitian(_rand(8, 5, 5), _rand(9, 5, 5))
    y, _ = fx.pullback(lambda h: np.linalg.svd(h, hermitian=True), h)
    for got, want in zip(y, np.linalg.svd(h, hermitian=True), strict=True):
        np.testing.assert_array_equal(got, want)


def test_svd_of_a_real_matrix_with_complex_cotangents():
    def loss(a):
        u, s, vh = np.linalg.svd(a, full_matrices=False)
        return _real_loss(s * (1 - 1j)) + _real_loss((u[:, :1] @ vh[:1]) * (2 + 1j))

    check(loss, _rand(10, 4, 3))


# ---------------------------------------------------------------------------------------------------------
# norm, matrix_norm, vector_norm

MATRIX_ORDS = [1, -1, np.inf, -np.inf, 2, -2, "nuc", "fro", None]


@pytest.mark.parametrize("ord", MATRIX_ORDS, ids=str)
def test_matrix_norm_of_a_complex_matrix(ord):
    def loss(a, b):
        z = a + 1j * b
        n = np.linalg.norm(z, ord, axis=(-2, -1))
        return np.sum(n * np.array([1.0, -0.5])) + _real_loss(n[0] * (2 - 1j))

    check(loss, *_pair((2, 4, 3), 11))


@pytest.mark.parametrize("ord", ["fro", 1, np.inf, 2, -2, "nuc"], ids=str)
def test_array_api_matrix_norm_of_a_complex_matrix(ord):
    check(lambda a, b: np.sum(np.linalg.matrix_norm(a + 1j * b, ord=ord, keepdims=True) ** 2), A33, B33)


@pytest.mark.parametrize("ord", [None, 1, 2, np.inf, -np.inf, 3, 0.5, -1], ids=str)
def test_vector_norm_of_a_complex_vector(ord):
    def loss(a, b):
        z = a + 1j * b
        return np.linalg.norm(z[0], ord) * 1.5 + np.sum(np.linalg.norm(z, ord, axis=1) * _weights(z[:, 0]))

    check(loss, A33, B33)


# ---------------------------------------------------------------------------------------------------------
# eigh, eigvalsh: Hermitian inputs


def _eigh_loss(uplo):
    def loss(a, b):
        w, v = np.linalg.eigh(_hermitian(a, b), UPLO=uplo)
        return (
            np.sum(w**2 * _weights(w))
            + _real_loss(w * 1j)  # a complex cotangent of the real eigenvalues
            + np.sum(np.abs(v) ** 2 * _weights(v))
            + _real_loss(v[..., :, :2] @ _mH(v[..., :, :2]) * (1 - 2j))
            + _real_loss((v * w[..., None, :]) @ _mH(v) * _weights(v))
        )

    return loss


@pytest.mark.parametrize("uplo", ["L", "U"])
def test_eigh_of_a_complex_hermitian_matrix(uplo):
    check(_eigh_loss(uplo), *_pair((2, 3, 3), 12))


def test_eigvalsh_of_a_complex_hermitian_matrix():
    def loss(a, b):
        w = np.linalg.eigvalsh(_hermitian(a, b))
        return np.sum(w**3 * _weights(w)) + _real_loss(w * (1 - 3j))

    check(loss, A33, B33)


def test_eigh_gradient_is_hermitian_and_matches_finite_differences():
    h = _hermitian(A33, B33)
    w0, v0 = np.linalg.eigh(h)

    def loss(h):
        w, v = np.linalg.eigh(h)
        return np.sum(w * _weights(w)) + np.sum(np.abs(v) ** 4 * _weights(v))

    (g,) = fx.gradient(loss, h)
    np.testing.assert_allclose(g, _mH(g), atol=1e-12)
    # along Hermitian perturbations d: <g, d> = Re sum(conj(g) d)
    for seed in range(3):
        e = _rand(20 + seed, 3, 3) + 1j * _rand(30 + seed, 3, 3)
        d = e + _mH(e)
        fd = (loss(h + 1e-6 * d) - loss(h - 1e-6 * d)) / 2e-6
        np.testing.assert_allclose(np.real(np.sum(np.conj(g) * d)), fd, rtol=1e-6, atol=1e-8)


# ---------------------------------------------------------------------------------------------------------
# cholesky


def test_cholesky_of_a_complex_hermitian_matrix():
    def loss(a, b):
        h = _hermitian(a, b)
        low = np.linalg.cholesky(h)
        up = np.linalg.cholesky(h, upper=True)
        return _real_loss(low * (1 + 2j) * _weights(low)) + np.sum(np.abs(up) ** 2 * _weights(up))

    check(loss, *_pair((2, 3, 3), 13))


def test_cholesky_upper_is_numpys_conjugate_transposed_factor():
    h = _hermitian(A33, B33)
    y, back = fx.pullback(lambda h: np.linalg.cholesky(h, upper=True), h)
    np.testing.assert_array_equal(y, np.linalg.cholesky(h, upper=True))
    _, back_lower = fx.pullback(np.linalg.cholesky, h)
    dy = np.triu(_rand(14, 3, 3) + 1j * _rand(15, 3, 3))
    np.testing.assert_allclose(back(dy)[0], back_lower(_mH(dy))[0], atol=1e-12)


# ---------------------------------------------------------------------------------------------------------
# det, slogdet, inv, solve, pinv, cond


def test_det_slogdet_inv_solve_of_complex_stacks():
    def loss(a, b):
        z = a + 1j * b
        sign, logabs = np.linalg.slogdet(z)
        return (
            _real_loss(np.linalg.det(z) * (1 - 2j))
            + np.sum(np.abs(np.linalg.det(z)))
            + np.sum(logabs * np.array([1.0, -0.5]))
            + _real_loss(sign * 1j)
            + _real_loss(np.linalg.inv(z) * _weights(z))
            + _real_loss(np.linalg.solve(z, (b - 1j * a)[..., :2]))
        )

    check(loss, *_pair((2, 3, 3), 16))


@pytest.mark.parametrize("shape", [(4, 3), (3, 4)], ids=["tall", "wide"])
def test_pinv_of_a_complex_matrix(shape):
    check(lambda a, b: _real_loss(np.linalg.pinv(a + 1j * b) * (1 + 0.5j) * _weights(a.T)), *_pair(shape, 17))


def test_pinv_of_a_complex_hermitian_matrix():
    check(lambda a, b: _real_loss(np.linalg.pinv(_hermitian(a, b), hermitian=True) * (2 - 1j)), A33, B33)


def test_cond_of_a_complex_matrix():
    check(lambda a, b: np.linalg.cond(a + 1j * b) + np.linalg.cond(a + 1j * b, -2), A33, B33)
