"""Rules of fluxpy/rules/numpy_linalg.py: one table row per case, checked against finite differences."""

import operator
import warnings

import numpy as np
import pytest

import fluxpy  # noqa: F401  (registers every rule)
from fluxpy.interface import pullback
from fluxpy.runtime import call
from fluxpy.testing import check_grads

EPS = 1e-6


def rand(k, *shape):
    return np.random.default_rng(k).standard_normal(shape)


def spd(k, n, batch=()):
    """A symmetric positive definite matrix (or stack): A @ A.T + n * I."""
    a = rand(k, *batch, n, n)
    return a @ np.swapaxes(a, -1, -2) + n * np.eye(n)


M23, M34, M33, M22 = rand(0, 2, 3), rand(1, 3, 4), rand(2, 3, 3) + 3 * np.eye(3), rand(3, 2, 2)
V3, V4, V2 = rand(4, 3), rand(5, 4), rand(6, 2)
B234, B134, B5134 = rand(7, 2, 3, 4), rand(8, 1, 3, 4), rand(9, 5, 1, 3, 4)
S343 = rand(10, 3, 4, 3)
WELL = M33  # well-conditioned for inv/solve/det
BWELL = rand(11, 2, 3, 3) + 3 * np.eye(3)

CASES = [
    # matmul (operator and ufunc), with 1-d operands and broadcast batches
    ("matmul-op-mm", operator.matmul, (M23, M34), {}),
    ("matmul-op-mv", operator.matmul, (M34, V4), {}),
    ("matmul-op-vm", operator.matmul, (V3, M34), {}),
    ("matmul-op-vv", operator.matmul, (V3, V3 + 1.0), {}),
    ("matmul-batched", np.matmul, (B234, rand(12, 2, 4, 5)), {}),
    ("matmul-batch-broadcast", np.matmul, (B5134, rand(13, 2, 4, 2)), {}),
    ("matmul-batch-vs-matrix", np.matmul, (M23, B134), {}),
    ("matmul-vector-batch", np.matmul, (V3, B234), {}),
    ("matmul-batch-vector", np.matmul, (B234, V4), {}),
    ("matmul-linalg", np.linalg.matmul, (M23, M34), {}),
    ("matmul-method-descriptor", np.ndarray.dot, (M23, M34), {}),
    # dot, vdot, inner, outer, tensordot, kron, cross
    ("dot-vv", np.dot, (V4, V4 * 2), {}),
    ("dot-mm", np.dot, (M23, M34), {}),
    ("dot-mv", np.dot, (M34, V4), {}),
    ("dot-vm", np.dot, (V3, M34), {}),
    ("dot-scalar", np.dot, (2.5, M23), {}),
    ("dot-0d", np.dot, (M23, np.array(1.5)), {}),
    ("dot-nd", np.dot, (B234, S343), {}),
    ("vdot", np.vdot, (M23, rand(14, 3, 2)), {}),
    ("inner-vv", np.inner, (V3, V3 + 1), {}),
    ("inner-nd", np.inner, (B234, M34), {}),
    ("inner-scalar", np.inner, (M23, 2.0), {}),
    ("outer", np.outer, (V3, V4), {}),
    ("outer-flattens", np.outer, (M23, M22), {}),
    ("outer-linalg", np.linalg.outer, (V3, V2), {}),
    ("tensordot-int", np.tensordot, (B234, rand(28, 4, 3)), {"axes": 1}),
    ("tensordot-int-2", np.tensordot, (B234, M34), {}),
    ("tensordot-pairs", np.tensordot, (B234, S343), {"axes": ([1, 2], [0, 1])}),
    ("tensordot-pairs-swapped", np.tensordot, (B234, S343), {"axes": ([2, 1], [1, 0])}),
    ("tensordot-outer", np.tensordot, (V3, M22), {"axes": 0}),
    ("tensordot-positional", np.tensordot, (B234, rand(15, 4, 2), ([2], [0])), {}),
    ("kron-2d", np.kron, (M23, M22), {}),
    ("kron-1d", np.kron, (V3, V2), {}),
    ("kron-mixed", np.kron, (V2, B234), {}),
    ("cross", np.cross, (V3, rand(16, 3)), {}),
    ("cross-broadcast", np.cross, (rand(17, 4, 3), V3), {}),
    ("cross-axis", np.cross, (rand(18, 3, 2), rand(19, 3, 2)), {"axis": 0}),
    # einsum
    ("einsum-matmul", np.einsum, ("ij,jk->ik", M23, M34), {}),
    ("einsum-implicit", np.einsum, ("ij,jk", M23, M34), {}),
    ("einsum-implicit-order", np.einsum, ("ba", M23), {}),
    ("einsum-sum", np.einsum, ("ij->", M23), {}),
    ("einsum-rowsum", np.einsum, ("ij->i", M23), {}),
    ("einsum-transpose", np.einsum, ("ijk->kji", B234), {}),
    ("einsum-trace", np.einsum, ("ii->", M33), {}),
    ("einsum-trace-implicit", np.einsum, ("ii", M33), {}),
    ("einsum-diag", np.einsum, ("ii->i", M33), {}),
    ("einsum-repeated-with-other", np.einsum, ("iij,j->i", rand(20, 3, 3, 4), V4), {}),
    ("einsum-three", np.einsum, ("ij,jk,kl->il", M23, M34, rand(21, 4, 2)), {}),
    ("einsum-outer", np.einsum, ("i,j->ij", V3, V4), {}),
    ("einsum-ellipsis", np.einsum, ("...ij,...jk->...ik", B234, rand(22, 2, 4, 5)), {}),
    ("einsum-ellipsis-broadcast", np.einsum, ("...ij,...jk->...ik", B5134, rand(23, 2, 4, 2)), {}),
    ("einsum-ellipsis-implicit", np.einsum, ("...i,i", B234, V4), {}),
    ("einsum-optimize", np.einsum, ("ij,jk,kl->il", M23, M34, rand(24, 4, 2)), {"optimize": True}),
    # trace, diagonal, diag
    ("trace", np.trace, (M34,), {}),
    ("trace-offset", np.trace, (M34, 1), {}),
    ("trace-negative-offset", np.trace, (M34,), {"offset": -1}),
    ("trace-axes", np.trace, (B234,), {"axis1": 2, "axis2": 0}),
    ("trace-method", np.ndarray.trace, (B234, 0, -1, -2), {}),
    ("diagonal", np.diagonal, (M34,), {}),
    ("diagonal-offset", np.diagonal, (M34, 2), {}),
    ("diagonal-axes", np.diagonal, (B234,), {"offset": -1, "axis1": 1, "axis2": 2}),
    ("diagonal-method", np.ndarray.diagonal, (B234, 1, 0, 2), {}),
    ("diag-1d", np.diag, (V3,), {}),
    ("diag-1d-k", np.diag, (V3, -2), {}),
    ("diag-2d", np.diag, (M34,), {}),
    ("diag-2d-k", np.diag, (M34,), {"k": 1}),
    # inv, det, solve
    ("inv", np.linalg.inv, (WELL,), {}),
    ("inv-batched", np.linalg.inv, (BWELL,), {}),
    ("det", np.linalg.det, (WELL,), {}),
    ("det-batched", np.linalg.det, (BWELL,), {}),
    ("solve-vector", np.linalg.solve, (WELL, V3), {}),
    ("solve-matrix", np.linalg.solve, (WELL, rand(25, 3, 2)), {}),
    ("solve-batched", np.linalg.solve, (BWELL, rand(26, 2, 3, 2)), {}),
    ("solve-batched-vector", np.linalg.solve, (BWELL, V3), {}),
    ("solve-broadcast-b", np.linalg.solve, (WELL, rand(27, 2, 3, 2)), {}),
    # norm
    ("norm-default", np.linalg.norm, (V4,), {}),
    ("norm-default-matrix", np.linalg.norm, (M34,), {}),
    ("norm-default-3d", np.linalg.norm, (B234,), {}),
    ("norm-2", np.linalg.norm, (V4, 2), {}),
    ("norm-1", np.linalg.norm, (V4,), {"ord": 1}),
    ("norm-inf", np.linalg.norm, (V4,), {"ord": np.inf}),
    ("norm-neg-inf", np.linalg.norm, (V4,), {"ord": -np.inf}),
    ("norm-3", np.linalg.norm, (V4,), {"ord": 3}),
    ("norm-axis", np.linalg.norm, (M34,), {"axis": 1}),
    ("norm-axis-neg-keepdims", np.linalg.norm, (B234,), {"axis": -2, "keepdims": True}),
    ("norm-axis-ord1", np.linalg.norm, (M34,), {"ord": 1, "axis": 0}),
    ("norm-fro", np.linalg.norm, (M34,), {"ord": "fro"}),
    ("norm-fro-axes", np.linalg.norm, (B234,), {"ord": "fro", "axis": (0, 2)}),
    ("norm-fro-keepdims", np.linalg.norm, (M34,), {"ord": "fro", "keepdims": True}),
    ("norm-nuc", np.linalg.norm, (M34,), {"ord": "nuc"}),
    ("norm-spectral", np.linalg.norm, (M34,), {"ord": 2}),
    ("norm-spectral-min", np.linalg.norm, (M34,), {"ord": -2}),
    ("norm-matrix-1", np.linalg.norm, (M34,), {"ord": 1}),
    ("norm-matrix-inf", np.linalg.norm, (M34,), {"ord": np.inf}),
    ("norm-matrix-neg-1-axes", np.linalg.norm, (B234,), {"ord": -1, "axis": (2, 1)}),
]


@pytest.mark.parametrize("f, args, kwargs", [c[1:] for c in CASES], ids=[c[0] for c in CASES])
def test_rule(f, args, kwargs):
    check_grads(f, *args, order=1, **kwargs)


SECOND_ORDER = [pytest.param(*c[1:], id=c[0]) for c in CASES]


@pytest.mark.second_order
@pytest.mark.parametrize("f, args, kwargs", SECOND_ORDER)
def test_second_order(f, args, kwargs):
    check_grads(f, *args, order=2, **kwargs)


# ---------------------------------------------------------------------------------------------------------
# symmetric inputs: finite differences along symmetric directions (check_grads perturbs non-symmetrically)


def _inner(a, b):
    return float(np.sum(a * b))


def _sym_direction(k, shape):
    d = rand(k, *shape)
    return (d + np.swapaxes(d, -1, -2)) / 2


def _check_symmetric(f, a, dy, project=lambda y: y, seed=100):
    _, back = pullback(f, a)
    ga = back(dy)[0]
    np.testing.assert_allclose(ga, np.swapaxes(ga, -1, -2), atol=1e-12)
    for k in range(3):
        d = _sym_direction(seed + k, a.shape)
        fd = (_inner_out(dy, project(f(a + EPS * d))) - _inner_out(dy, project(f(a - EPS * d)))) / (2 * EPS)
        np.testing.assert_allclose(_inner(ga, d), fd, rtol=1e-5, atol=1e-6)


def _inner_out(dy, y):
    if isinstance(dy, tuple):
        return sum(_inner(d, v) for d, v in zip(dy, y, strict=True) if d is not None)
    return _inner(dy, y)


@pytest.mark.parametrize("batch", [(), (2,)], ids=["matrix", "batched"])
def test_cholesky(batch):
    a = spd(30, 4, batch)
    _check_symmetric(np.linalg.cholesky, a, rand(31, *batch, 4, 4))


def test_cholesky_upper():
    a = spd(32, 3)
    _, back = pullback(np.linalg.cholesky, a, upper=True)
    _, back_lower = pullback(np.linalg.cholesky, a)
    dy = np.triu(rand(33, 3, 3))
    np.testing.assert_allclose(back(dy)[0], back_lower(dy.T)[0])


def _aligned_eigh(ref_v):
    """eigh with each eigenvector's sign aligned to ``ref_v`` (eigenvectors are defined up to sign)."""

    def eigh(a):
        w, v = np.linalg.eigh(a)
        signs = np.sign(np.sum(v * ref_v, axis=-2, keepdims=True))
        return (w, v * signs)

    return eigh


@pytest.mark.parametrize("batch", [(), (2,)], ids=["matrix", "batched"])
@pytest.mark.parametrize("which", ["both", "values", "vectors"])
def test_eigh(batch, which):
    a = spd(34, 4, batch)
    w, v = np.linalg.eigh(a)
    dw = rand(35, *w.shape) if which != "vectors" else None
    dv = rand(36, *v.shape) if which != "values" else None
    _, back = pullback(np.linalg.eigh, a)
    ga = back((dw, dv))[0]
    np.testing.assert_allclose(ga, np.swapaxes(ga, -1, -2), atol=1e-12)
    eigh = _aligned_eigh(v)
    for k in range(3):
        d = _sym_direction(37 + k, a.shape)
        fd = (_inner_out((dw, dv), eigh(a + EPS * d)) - _inner_out((dw, dv), eigh(a - EPS * d))) / (2 * EPS)
        np.testing.assert_allclose(_inner(ga, d), fd, rtol=1e-5, atol=1e-6)


def test_eigh_no_cotangent():
    _, back = pullback(np.linalg.eigh, spd(38, 3))
    assert back((None, None)) == (None,)


def test_eigvalsh():
    _check_symmetric(np.linalg.eigvalsh, spd(39, 4), rand(40, 4))


@pytest.mark.parametrize("batch", [(), (3,)], ids=["matrix", "batched"])
def test_slogdet(batch):
    # slogdet returns a namedtuple, which check_grads cannot rebuild: check directly, sign ignored
    a = rand(41, *batch, 3, 3) + 3 * np.eye(3)
    dlog = rand(42, *batch) if batch else 0.7
    _, back = pullback(np.linalg.slogdet, a)
    ga = back((None, dlog))[0]
    np.testing.assert_allclose(back((np.ones(batch) if batch else 1.0, dlog))[0], ga)
    for k in range(3):
        d = rand(43 + k, *a.shape)
        plus, minus = np.linalg.slogdet(a + EPS * d)[1], np.linalg.slogdet(a - EPS * d)[1]
        fd = _inner(dlog, (plus - minus) / (2 * EPS))
        np.testing.assert_allclose(_inner(ga, d), fd, rtol=1e-5, atol=1e-6)
    assert back((1.0, None)) == (None,)


# ---------------------------------------------------------------------------------------------------------
# norm: zero input, ties, dtypes


@pytest.mark.parametrize(
    "kwargs", [{}, {"ord": 1}, {"ord": np.inf}, {"ord": 3}, {"axis": 0}], ids=["2", "1", "inf", "3", "axis"]
)
def test_norm_at_zero_is_zero_without_warnings(kwargs):
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        _, back = pullback(np.linalg.norm, np.zeros(3), **kwargs)
        np.testing.assert_array_equal(back(1.0 if "axis" not in kwargs else np.ones(()))[0], np.zeros(3))


def test_norm_inf_ties_split_evenly():
    _, back = pullback(np.linalg.norm, np.array([3.0, -3.0, 1.0]), np.inf)
    np.testing.assert_allclose(back(1.0)[0], [0.5, -0.5, 0.0])


def test_norm_matrix_1_ties_split_evenly():
    x = np.array([[1.0, -2.0], [-2.0, 1.0]])
    _, back = pullback(np.linalg.norm, x, 1)
    np.testing.assert_allclose(back(1.0)[0], [[0.5, -0.5], [-0.5, 0.5]])


def test_norm_zero_ord_has_no_gradient():
    _, back = pullback(np.linalg.norm, V4, 0)
    assert back(1.0) == (None, None)


def test_float32_stays_float32():
    x = rand(50, 3, 3).astype(np.float32)
    _, back = call(np.linalg.norm, x)
    assert back(np.float32(1.0))[1].dtype == np.float32
    _, back = call(operator.matmul, x, x)
    assert back(np.ones((3, 3), dtype=np.float32))[1].dtype == np.float32
    _, back = call(np.einsum, "ii->", x)
    assert back(np.float32(1.0))[2].dtype == np.float32


def test_int_inputs_do_not_crash():
    check_grads(operator.matmul, np.arange(6).reshape(2, 3), M34, order=1)
    check_grads(np.einsum, "ij,jk->ik", np.arange(6).reshape(2, 3), M34, order=1)


def test_matmul_vector_vector_scalar_cotangent():
    _, back = pullback(operator.matmul, V3, V3)
    np.testing.assert_allclose(back(2.0)[0], 2 * V3)


def test_nondifferentiable():
    _, pb = call(np.linalg.matrix_rank, M34)
    assert pb(1.0) == (None, None)


# ---------------------------------------------------------------------------------------------------------
# svd: singular values at second order; singular vectors through sign-invariant objectives


def _singular_values_cubed(A):
    return np.sum(np.linalg.svd(A, compute_uv=False) ** 3)


def _singular_vectors(A):
    u, s, vh = np.linalg.svd(A, full_matrices=False)
    return np.sum((u[:, 0] * s[0]) ** 2 * np.arange(1, u.shape[0] + 1)) + np.sum(
        vh[0] ** 2 * np.arange(vh.shape[1])
    )


@pytest.mark.parametrize("shape", [(3, 3), (4, 3), (3, 5)])
def test_svd(shape):
    A = np.random.default_rng(7).standard_normal(shape)
    check_grads(_singular_values_cubed, A, order=2)
    check_grads(np.linalg.svdvals, A, order=1)
    check_grads(_singular_vectors, A, order=1)
