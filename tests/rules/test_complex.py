"""Complex numbers follow ChainRules' (and Zygote's) convention: the cotangent of ``z = a + ib`` is
``dL/da + i dL/db``, so a holomorphic rule's pullback multiplies by ``conj(f'(z))``.

Most tests run real inputs through complex intermediates to a real loss and compare reverse mode (first and
second order) and forward mode with finite differences (``check_grads`` perturbs the float arguments). A
few differentiate with respect to complex inputs directly, against Zygote's answers and finite differences
along the real and the imaginary axis.
"""

import numpy as np
import pytest

import fluxpy as fx
from fluxpy.rules.helpers import conj
from fluxpy.testing import check_grads


def _rng(seed):
    return np.random.default_rng(seed)


def uniform(lo, hi, shape, seed=0):
    return _rng(seed).uniform(lo, hi, shape)


X = uniform(0.2, 0.8, (2, 3), 0)
Y = uniform(0.1, 0.5, (2, 3), 1)
U = uniform(-1, 1, (2, 3), 2)
V = uniform(-1, 1, (2, 3), 3)
C = np.array([0.7 - 1.2j, 1.5 + 0.4j, -0.3 + 0.9j])  # a complex constant row


def check(f, *args, order=2):
    """Reverse mode up to ``order`` and forward mode (a callee without a forward rule of its own is followed
    by transposing its reverse rule: fluxpy/forward.py's ``_dot`` pairs a complex cotangent with the tangent
    as ``sum(conj(g) * t)``)."""
    check_grads(f, *args, order=order, forward=True)


def _real_loss(w):
    """A real loss that reads both parts of a complex ``w`` with different weights."""
    return np.sum(np.real(w) * 0.7 - np.imag(w) * 1.3)


# ---------------------------------------------------------------------------------------------------------
# the conj helper


def test_conj_is_the_identity_on_real_values_and_conjugates_complex_ones():
    x = np.ones(3)
    assert conj(x) is x
    assert conj(2.5) == 2.5 and type(conj(2.5)) is float
    assert conj(np.float32(2.0)) == 2.0 and type(conj(np.float32(2.0))) is np.float32
    assert conj(1 + 2j) == 1 - 2j
    assert conj(np.complex64(1 + 2j)) == np.complex64(1 - 2j)
    np.testing.assert_array_equal(conj(np.array([1 + 2j, 3 - 1j])), [1 - 2j, 3 + 1j])


def test_conj_is_differentiable():
    # L = Re(conj(z) * w): dL/dz = conj(w) * ... in the convention, d/dz Re(conj(z) w) = w
    w = 0.5 - 1.5j
    (g,) = fx.gradient(lambda z: np.real(conj(z) * w), 1.0 + 2.0j)
    assert g == pytest.approx(w)
    check_grads(lambda x, y: _real_loss(conj(x + 1j * y) * C[:2, None]), X[:2], Y[:2], order=2, forward=True)


# ---------------------------------------------------------------------------------------------------------
# holomorphic elementwise functions: real inputs, a complex intermediate, a real loss

HOLOMORPHIC = [
    np.sin, np.cos, np.tan, np.arcsin, np.arccos, np.arctan, np.sinh, np.cosh, np.tanh,
    np.arcsinh, np.arccosh, np.arctanh, np.exp, np.exp2, np.expm1, np.log, np.log2, np.log10, np.log1p,
    np.sqrt, np.square, np.reciprocal, np.sinc, np.negative, np.positive, np.conjugate,
]  # fmt: skip


def _through(f):
    def loss(x, y):
        return _real_loss(f(x + 1j * y))

    return loss


@pytest.mark.parametrize("f", [pytest.param(f, id=f.__name__) for f in HOLOMORPHIC])
def test_elementwise_function_of_a_complex_intermediate(f):
    check_grads(_through(f), X, Y, order=2, forward=True)


@pytest.mark.parametrize("f", [pytest.param(f, id=f.__name__) for f in HOLOMORPHIC])
def test_elementwise_function_of_complex_input_matches_finite_differences(f):
    z = X + 1j * Y
    dy = U + 1j * V  # a complex cotangent: L = Re(sum(conj(dy) * f(z)))
    y, back = fx.pullback(f, z)
    (dz,) = back(dy)
    np.testing.assert_allclose(dz, _complex_fd(lambda z: np.real(np.sum(np.conj(dy) * f(z))), z), rtol=1e-5)


def _complex_fd(loss, z, eps=1e-6):
    """``dL/da + i dL/db`` by central differences."""
    grad = np.zeros(z.shape, dtype=complex)
    for idx in np.ndindex(*z.shape):
        e = np.zeros(z.shape)
        e[idx] = eps
        da = (loss(z + e) - loss(z - e)) / (2 * eps)
        db = (loss(z + 1j * e) - loss(z - 1j * e)) / (2 * eps)
        grad[idx] = da + 1j * db
    return grad


def test_sinc_of_a_complex_intermediate_near_zero():
    check_grads(_through(np.sinc), X * 1e-3, Y * 1e-3, order=2, forward=True)


# non-holomorphic functions of complex values: each has its own convention-following rule


def abs_of(x, y):
    return np.sum(np.abs(x + 1j * y) * np.array([1.0, -2.0, 0.5]))


def builtin_abs_of(x, y):
    return abs(x[0, 0] + 1j * y[0, 1]) * 1.5


def angle_of(x, y):
    return np.sum(np.angle(x - 1j * y)) + np.sum(np.angle(x + 1j * y, deg=True)) * 0.01


def parts_of(x, y):
    z = (x + 1j * y) * C
    return np.sum(z.real * z.imag) + np.sum(np.real(z) ** 2 - np.imag(z))


def conj_method_of(x, y):
    z = (x + 1j * y) * C
    return _real_loss(z.conj() * z * C + np.conj(z) * 0.5j)


def abs_of_complex_times_real(x, y):
    # |z| is real, but multiplying it by a complex number gives its cotangent an imaginary part that is not
    # its own: the abs rule must keep only the real part
    return np.sum(np.real(np.abs(x + 1j * y) * (1 + 1j)))


@pytest.mark.parametrize(
    "f", [abs_of, builtin_abs_of, angle_of, parts_of, conj_method_of, abs_of_complex_times_real]
)
def test_nonholomorphic_functions_of_complex_intermediates(f):
    check(f, X, Y)


# ---------------------------------------------------------------------------------------------------------
# arithmetic: complex constants, complex arrays of one shape (inlined arithmetic must not take them) and
# broadcast shapes (the rules)


def times_constant(x, y):
    return _real_loss(x * (1 + 2j) + (0.5 - 1j) * y)


def divide_by_constant(x, y):
    return _real_loss(x / (1 - 0.5j) + (2 + 1j) / (x + 1j * y))


def same_shape_products(x, y, u, v):
    z = x + 1j * y
    w = u + 1j * v
    p = z * w
    q = p * z - w / z
    return _real_loss(q * q + p)


def broadcast_products(x, y, u, v):
    z = x + 1j * y  # (2, 3)
    w = u[0] + 1j * v[0]  # (3,)
    return _real_loss(z * w + w / z - z * C - (z - w) * (z + 1j))


def scalar_products(x, y, u, v):
    z = x[0, 0] + 1j * y[0, 1]  # Python-complex-like scalars
    w = u[1, 2] - 1j * v[0, 0]
    return _real_loss(z * w / (z + w) - z * z)


def powers(x, y, u, v):
    z = x + 1j * y
    w = u * 0.5 + 1j * v * 0.5
    return _real_loss(z**2 + z**3 + z**0.5 + z**-1 + z**w + 2.0**w + z ** (1 + 1j))


def power_ufuncs(x, y, u, v):
    z = x + 1j * y
    return _real_loss(np.power(z, 3) + np.float_power(z, u) + np.power(z, u + 0.5j))


def negative_base_power(x, y, u, v):
    # a negative Python float to a fractional power: a complex result from real operands
    a = -float(x[0, 0])
    b = float(u[0, 1]) * 0.5
    return _real_loss(a**b + a**0.5 + a ** (b + 1j))


def ufunc_arithmetic(x, y, u, v):
    z = x + 1j * y
    w = u + 1j * v
    return _real_loss(np.multiply(z, w) + np.divide(w, z) + np.subtract(z, w) + np.add(z, C))


@pytest.mark.parametrize(
    "f",
    [
        times_constant,
        divide_by_constant,
        same_shape_products,
        broadcast_products,
        scalar_products,
        powers,
        power_ufuncs,
        negative_base_power,
        ufunc_arithmetic,
    ],
)
def test_arithmetic_with_complex_values(f):
    args = (X, Y) if f in (times_constant, divide_by_constant) else (X, Y, U, V)
    check_grads(f, *args, order=2, forward=True)


def test_complex_arrays_of_one_shape_are_not_written_out():
    """The inlined arithmetic (``d * b``) would give ``conj`` of the right cotangent for complex arrays."""
    z = X + 1j * Y
    w = U + 1j * V
    src = fx.adjoint_source(same_shape_products)
    assert "dtype.kind != 'c'" in src
    (dz,) = fx.gradient(lambda z: np.real(np.sum(z * w)), z)
    np.testing.assert_allclose(dz, np.conj(w))


# ---------------------------------------------------------------------------------------------------------
# the repros of the bug hunt (a1..a11)

P = np.array([0.3, -0.7])


def a1(x):
    return np.abs(x[0] + 1j * x[1])


def a2(x):
    return np.real((x[0] + 1j * x[1]) * (x[0] + 1j * x[1]))


def a3(x):
    return np.imag((x[0] + 1j * x[1]) ** 2)


def a4(x):
    return np.real(x[0] * (1 + 2j))


def a5(x):
    return np.imag(x[0] * (1 + 2j))


def a6(x):
    return np.real(np.conj(x[0] * (1 + 2j)) * (x[0] * (1 + 2j)))


def a7(x):
    return np.real(np.exp(1j * x[0]))


def a8(x):
    return np.imag(np.exp(1j * x[0]))


def a9(x):
    return (np.exp(1j * x[0])).imag


def a10(x):
    z = x[0] + 1j * x[1]
    return z.real * z.imag


def a11(x):
    return np.abs(x[0] * (1 + 2j))


REPROS = [a1, a2, a3, a4, a5, a6, a7, a8, a9, a10, a11]


@pytest.mark.parametrize("f", REPROS)
def test_bug_hunt_repros(f):
    (g,) = fx.gradient(f, P)
    fd = np.array([(f(P + 1e-6 * e) - f(P - 1e-6 * e)) / 2e-6 for e in np.eye(2)])
    np.testing.assert_allclose(g, fd, rtol=1e-6, atol=1e-8)
    check_grads(f, P, order=2, forward=True)


def test_bug_hunt_values():
    assert fx.gradient(a5, P)[0][0] == pytest.approx(2.0)
    assert fx.gradient(a11, P)[0][0] == pytest.approx(np.sqrt(5.0))
    np.testing.assert_allclose(fx.gradient(a1, P)[0], P / np.hypot(*P))
    np.testing.assert_allclose(fx.gradient(a10, P)[0], [P[1], P[0]])


# ---------------------------------------------------------------------------------------------------------
# complex inputs directly (Zygote's answers)


def abs2(z):
    return np.abs(z) ** 2


def test_gradient_of_abs2_is_twice_z():
    # Zygote: gradient(abs2, 1+2im) == (2+4im,)
    assert fx.gradient(abs2, 1 + 2j)[0] == pytest.approx(2 + 4j)
    assert fx.gradient(lambda z: abs(z) ** 2, 1 + 2j)[0] == pytest.approx(2 + 4j)
    z = np.array([1 + 2j, -3 + 0.5j])
    np.testing.assert_allclose(fx.gradient(lambda z: np.sum(np.abs(z) ** 2), z)[0], 2 * z)


@pytest.mark.parametrize("w", [0.5 - 1.5j, 2.0 + 0j, -1j])
def test_gradient_of_real_part_of_a_product_is_the_conjugate(w):
    assert fx.gradient(lambda z: np.real(z * w), 1 + 2j)[0] == pytest.approx(np.conj(w))
    ws = np.array([w, 2 * w])
    zs = np.array([1 + 2j, 0.5 - 1j])
    np.testing.assert_allclose(fx.gradient(lambda z: np.sum(np.real(z * ws)), zs)[0], np.conj(ws))


def test_imaginary_part_and_holomorphic_chain():
    # d/dz Im(z^2) in the convention: Im(z^2) = 2ab, so 2b + 2ia
    z = 0.3 - 0.7j
    assert fx.gradient(lambda z: np.imag(z**2), z)[0] == pytest.approx(2 * z.imag + 2j * z.real)
    # Re(exp(z)): e^a cos b, its gradient e^a cos b - i e^a sin b = conj(exp(z))
    assert fx.gradient(lambda z: np.real(np.exp(z)), z)[0] == pytest.approx(np.conj(np.exp(z)))


def test_second_derivative_with_complex_input():
    # g(z) = dL/dz for L = |z|^4 = (a^2 + b^2)^2: 4 |z|^2 z; then d/da Re(g) = 12 a^2 + 4 b^2
    def re_grad(a, b):
        (g,) = fx.gradient(lambda z: np.abs(z) ** 4, a + 1j * b)
        return np.real(g)

    a, b = 0.3, -0.7
    assert fx.gradient(re_grad, a, b)[0] == pytest.approx(12 * a * a + 4 * b * b)


# ---------------------------------------------------------------------------------------------------------
# matrix products, einsum, linear algebra

A = uniform(-1, 1, (3, 3), 4) + 2 * np.eye(3)
B = uniform(-1, 1, (3, 3), 5)
M = uniform(-1, 1, (3, 3), 6)  # a complex constant: M + 1j * M.T
CM = M + 1j * M.T


def matmul_products(a, b):
    za = a + 1j * b
    return _real_loss(za @ CM + CM @ za + za @ za.T + za @ (b - 1j * a))


def matvec_products(a, b):
    za = a + 1j * b
    v = b[0] - 0.5j * a[1]
    return _real_loss(za @ v + v @ za + v @ v + (za @ CM[0]) * 1j)


def batched_matmul(a, b):
    stack = np.stack([a + 1j * b, b - 1j * a])  # (2, 3, 3): the general rule path
    return _real_loss(stack @ CM + stack @ stack)


def dot_inner_outer(a, b):
    za = a + 1j * b
    v = b[1] + 1j * a[2]
    return (
        _real_loss(np.dot(za, CM) + np.dot(v, za) + np.dot(za, 2j))
        + _real_loss(np.inner(za, CM) + np.inner(v, v * 1j))
        + _real_loss(np.outer(v, CM[0]) + np.outer(za[0], v))
        + _real_loss(np.vdot(za, CM) + np.vdot(CM, za) + np.vdot(v, za[0]))
    )


def tensordot_kron_cross(a, b):
    za = a + 1j * b
    return (
        _real_loss(np.tensordot(za, CM, axes=1) + np.tensordot(za, CM, axes=([0, 1], [1, 0])))
        + _real_loss(np.kron(za[:2, :2], CM[1:, 1:]))
        + _real_loss(np.cross(za, CM) + np.cross(CM, za[0]))
    )


def einsums(a, b):
    za = a + 1j * b
    return _real_loss(
        np.einsum("ij,jk->ik", za, CM)
        + np.einsum("ij,ij->i", za, za)[:, None]
        + np.einsum("ii->", za * CM)
        + np.einsum("ij,kj->ik", CM, za)
    )


def linalg_functions(a, b):
    za = a + 0.3j * b
    sign, logabs = np.linalg.slogdet(za)
    return (
        _real_loss(np.linalg.inv(za) @ CM)
        + _real_loss(np.linalg.det(za) * (1 - 2j))
        + _real_loss(np.linalg.solve(za, CM) + np.linalg.solve(za, CM[0])[:, None])
        + logabs * 0.5
        + _real_loss(sign)
        + np.linalg.norm(za) * 0.3
        + np.sum(np.linalg.norm(za, axis=0)) * 0.2
        + np.trace(za).real
    )


def real_matrix_complex_solve(a, b):
    # a real matrix, a complex right-hand side: solve's cotangents read conj(a) and conj(x)
    return _real_loss(np.linalg.solve(a, b[0] * (1 + 1j)) + np.linalg.inv(a) @ CM)


LINALG = [
    matmul_products,
    matvec_products,
    batched_matmul,
    dot_inner_outer,
    tensordot_kron_cross,
    einsums,
    linalg_functions,
    real_matrix_complex_solve,
]


@pytest.mark.parametrize("f", LINALG)
def test_linear_algebra_with_complex_values(f):
    check(f, A, B)


def test_slogdet_sign_of_a_complex_matrix():
    def phase(a, b):
        sign, _ = np.linalg.slogdet(a + 1j * b)
        return np.real(sign) + 2 * np.imag(sign)

    check_grads(phase, A, B, order=2)


def test_det_of_complex_matrix_directly():
    z = A + 1j * B
    dy = 0.4 - 1.1j
    (dz,) = fx.pullback(np.linalg.det, z)[1](dy)
    fd = _complex_fd(lambda z: np.real(np.conj(dy) * np.linalg.det(z)), z)
    np.testing.assert_allclose(dz, fd, rtol=1e-5, atol=1e-8)


# ---------------------------------------------------------------------------------------------------------
# reductions


def products(x, y):
    z = x + 1j * y
    return _real_loss(np.prod(z) + np.prod(z, axis=0) * 1j) + _real_loss(np.prod(z, axis=1, initial=1 - 1j))


def cumulative_products(x, y):
    z = x + 1j * y
    return _real_loss(np.cumprod(z, axis=1)) + _real_loss(np.cumprod(z) * 0.5)


def nan_products(x, y):
    return _real_loss(np.nanprod(x + 1j * y, axis=0))


def sums_and_means(x, y):
    z = (x + 1j * y) * C
    return _real_loss(np.sum(z, axis=0) + np.mean(z) + z.sum() * 1j + np.cumsum(z, axis=1))


def complex_weights(x, y):
    z = x + 1j * y
    w = y + 1j * x
    return _real_loss(np.average(z, axis=1, weights=w[0]) + np.average(z, weights=w))


def variance_of_complex(x, y):
    z = (x + 1j * y) * C
    # var and std are real: multiplied by a complex number, their cotangents get an imaginary part
    return np.real(np.var(z) * (1 + 1j)) + np.sum(np.std(z, axis=0)) + np.real(np.sum(np.var(z, axis=1)) * 1j)


REDUCTIONS = [
    products,
    cumulative_products,
    nan_products,
    sums_and_means,
    complex_weights,
    variance_of_complex,
]


@pytest.mark.parametrize("f", REDUCTIONS)
def test_reductions_of_complex_values(f):
    check(f, X, Y)


# ---------------------------------------------------------------------------------------------------------
# forward over reverse (fx.hvp): the pullbacks' conjugates followed in forward mode


def _one_argument(f):
    def g(x):
        return f(x[:6].reshape(2, 3), x[6:].reshape(2, 3))

    g.__name__ = f.__name__
    return g


def elementwise_chain(x, y):
    z = x + 1j * y
    return _real_loss(np.sin(z) * np.exp(z) + np.tanh(z) / np.cos(z) + np.tan(z) + np.log(z) + np.sqrt(z))


def polynomial(x, y):
    z = x * (1 + 2j) + y
    w = z**3 - (0.5 - 1j) / z + z * z * C
    return _real_loss(w) + np.sum(np.abs(z) ** 2)


@pytest.mark.parametrize(
    "f",
    [
        f
        for f in [
            elementwise_chain,
            polynomial,
            times_constant,
            same_shape_products,
            parts_of,
            abs_of,
            products,
        ]
    ],
)
def test_hvp_of_complex_intermediates(f):
    g = _one_argument(f) if f not in (same_shape_products,) else _one_argument(lambda x, y: f(x, y, y, x))
    x0 = np.concatenate([X.ravel(), Y.ravel()])
    v = uniform(-1, 1, x0.shape, 7)
    hv = fx.hvp(g, x0, v)
    eps = 1e-5
    fd = (fx.gradient(g, x0 + eps * v)[0] - fx.gradient(g, x0 - eps * v)[0]) / (2 * eps)
    np.testing.assert_allclose(hv, fd, rtol=1e-5, atol=1e-6)
