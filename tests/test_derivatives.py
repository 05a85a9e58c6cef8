"""jacobian, hessian and Hessian-vector products against closed forms and finite differences."""

import math

import numpy as np
import pytest

import fluxpy as fx


def rosenbrock(x):
    return np.sum(100.0 * (x[1:] - x[:-1] ** 2) ** 2 + (1.0 - x[:-1]) ** 2)


def rosenbrock_hessian(x):
    n = len(x)
    h = np.zeros((n, n))
    for i in range(n - 1):
        h[i, i] += 1200 * x[i] ** 2 - 400 * x[i + 1] + 2
        h[i, i + 1] += -400 * x[i]
        h[i + 1, i] += -400 * x[i]
        h[i + 1, i + 1] += 200
    return h


def test_jacobian_shapes_and_values():
    a = np.array([[1.0, 2.0], [3.0, 4.0], [5.0, 6.0]])
    ja, jx = fx.jacobian(lambda a, x: a @ x, a, np.array([1.0, -1.0]))
    assert ja.shape == (3, 3, 2) and jx.shape == (3, 2)
    np.testing.assert_allclose(jx, a)
    np.testing.assert_allclose(ja[1, 1], [1.0, -1.0])
    np.testing.assert_allclose(ja[1, 0], [0.0, 0.0])


def test_jacobian_of_scalar_function_of_scalar():
    (j,) = fx.jacobian(lambda x: x**3, 2.0)
    assert float(j) == 12.0


def test_jacobian_zeros_where_no_dependence():
    jx, jy = fx.jacobian(lambda x, y: x * 2.0, np.ones(2), np.ones(3))
    assert jy.shape == (2, 3) and not jy.any()


def test_hessian_closed_forms():
    assert fx.hessian(lambda x: math.sin(x), 1.0) == pytest.approx(-math.sin(1.0))
    third = fx.gradient(lambda x: fx.gradient(lambda t: fx.gradient(math.sin, t)[0], x)[0], 1.0)[0]
    assert third == pytest.approx(-math.cos(1.0))
    x = np.array([1.2, 0.7, -0.3, 2.0])
    np.testing.assert_allclose(fx.hessian(rosenbrock, x), rosenbrock_hessian(x), rtol=1e-10)


def mlp_loss(w, x, y):
    h = np.tanh(x @ w[:6].reshape(3, 2))
    out = h @ w[6:]
    return np.mean((out - y) ** 2)


def test_hessian_of_small_mlp_loss_against_finite_differences():
    rng = np.random.default_rng(0)
    w = rng.standard_normal(8)
    x = rng.standard_normal((5, 3))
    y = rng.standard_normal(5)
    h = fx.hessian(lambda w: mlp_loss(w, x, y), w)
    eps = 1e-5
    fd = np.zeros((8, 8))
    for i in range(8):
        e = np.zeros(8)
        e[i] = eps
        fd[i] = (fx.gradient(mlp_loss, w + e, x, y)[0] - fx.gradient(mlp_loss, w - e, x, y)[0]) / (2 * eps)
    np.testing.assert_allclose(h, fd, rtol=1e-5, atol=1e-7)
    np.testing.assert_allclose(h, h.T, atol=1e-10)
    v = rng.standard_normal(8)
    np.testing.assert_allclose(fx.hvp(lambda w: mlp_loss(w, x, y), w, v), h @ v, rtol=1e-10)


def test_jvp_against_jacobian_and_finite_differences():
    rng = np.random.default_rng(2)
    w, x = rng.standard_normal((3, 4)), rng.standard_normal(4)
    v = rng.standard_normal(4)

    def f(w, x):
        return np.tanh(w @ x) * 2.0

    y, dy = fx.jvp(f, (w, x), (np.zeros_like(w), v))
    jw, jx = fx.jacobian(f, w, x)
    np.testing.assert_allclose(dy, jx @ v, rtol=1e-10)
    eps = 1e-6
    np.testing.assert_allclose(dy, (f(w, x + eps * v) - f(w, x - eps * v)) / (2 * eps), rtol=1e-6)
    y, dy = fx.jvp(lambda x: math.sin(x) * x, (1.0,), (2.0,))
    assert dy == pytest.approx(2.0 * (math.cos(1.0) * 1.0 + math.sin(1.0)))


def test_jvp_through_control_flow_and_loops():
    def f(x):
        s = 0.0
        for i in range(3):
            if x > 0:
                s = s + x**i
            else:
                s = s - x
        return s

    assert fx.jvp(f, (2.0,), (1.0,))[1] == pytest.approx(0.0 + 1.0 + 4.0)
    assert fx.jvp(f, (-1.0,), (1.0,))[1] == pytest.approx(-3.0)


def test_third_and_fourth_derivatives():
    d = lambda f: lambda x: fx.gradient(f, x)[0]  # noqa: E731
    assert d(d(d(math.sin)))(1.0) == pytest.approx(-math.cos(1.0))
    assert d(d(d(d(math.sin))))(1.0) == pytest.approx(math.sin(1.0))
    assert d(d(d(d(lambda x: x**5))))(2.0) == pytest.approx(120.0 * 2.0)


def penalty_loss(w, x):
    return np.sum(np.tanh(w * x) ** 2)


def gradient_penalty(w, x):
    gx = fx.gradient(penalty_loss, w, x)[1]  # the inner gradient is in x
    return np.sum(gx**2)  # differentiated in w


def test_gradient_penalty_in_another_variable():
    from fluxpy.testing import check_grads

    rng = np.random.default_rng(3)
    check_grads(gradient_penalty, rng.standard_normal(3), rng.standard_normal(3), order=1)


def test_second_order_adjoint_source_is_valid_python():
    import ast

    def df(x):
        return fx.gradient(lambda t: 3 * t**2 + 2 * t + 1, x)[0]

    src = fx.adjoint_source(df)
    ast.parse(src)
    assert "gradient" in src and "df_pullback" in src
    assert fx.gradient(df, 2.0) == (6.0,)


def cubic(x):
    return x**3 - 2 * x


def test_gradient_function_fuses_the_forward_and_its_pullback():
    """A gradient of a gradient differentiates f's gradient function: its forward function and its
    pullback at the seed as one generated function, readable and differentiable again."""
    import ast

    from fluxpy.gradient_functions import gradient_function

    g = gradient_function(cubic, (False, True))
    assert g(cubic, 2.0) == (None, 10.0)
    assert g(cubic, np.array(2.0))[1] == 10.0
    src = fx.adjoint_source(g)
    ast.parse(src)
    assert "cubic__gradient" in src
    d = lambda f: lambda x: fx.gradient(f, x)[0]  # noqa: E731
    assert d(d(cubic))(2.0) == 12.0
    assert d(d(d(cubic)))(2.0) == 6.0
    with pytest.raises(fx.NonScalarError):
        fx.gradient(lambda x: fx.gradient(lambda y: y * x, np.ones(2))[0][0], 1.0)


# The forward pass runs once (API.md) in jacobian and hessian too: they ran it once per column (a jvp per
# input element), drawing a new Dropout mask and updating BatchNorm's statistics each time.


def test_jacobian_and_hessian_run_the_forward_pass_once():
    seen = []

    def f(x):
        seen.append(1)
        return np.sin(x) * np.sum(x**2)

    x = np.array([0.3, -0.7])
    (j,) = fx.jacobian(f, x)
    assert len(seen) == 1 and j.shape == (2, 2)
    seen.clear()
    h = fx.hessian(lambda t: np.sum(f(t)), x)
    assert len(seen) == 1 and h.shape == (2, 2)


def test_jacobian_with_more_outputs_than_inputs_matches_finite_differences():
    def f(x):
        return np.outer(np.sin(x), np.arange(1.0, 6.0)).ravel()

    x = np.array([0.3, -0.7])
    (j,) = fx.jacobian(f, x)
    eps = 1e-6
    fd = np.stack([(f(x + eps * e) - f(x - eps * e)) / (2 * eps) for e in np.eye(2)], axis=-1)
    np.testing.assert_allclose(j, fd, rtol=1e-6, atol=1e-8)


def test_hessian_with_dropout_is_the_hessian_of_one_sampled_function():
    drop = fx.Dropout(0.5, rng=np.random.default_rng(0))

    def f(x):
        return np.sum(drop(x) * x) ** 3 / 6

    x = np.linspace(0.5, 1.5, 6)
    h = fx.hessian(f, x)
    np.testing.assert_allclose(h, h.T)
    m = np.diag(h) != 0  # the kept entries: one mask for every column
    assert 0 < m.sum() < len(x)


def test_hessian_updates_batchnorm_statistics_once():
    bn = fx.BatchNorm(2)
    x = np.random.default_rng(1).standard_normal((6, 2))
    fx.gradient(lambda t: np.sum(bn(t) ** 3), x)
    after_gradient = bn.running_mean.copy()
    bn2 = fx.BatchNorm(2)
    fx.hessian(lambda t: np.sum(bn2(t) ** 3), x)
    np.testing.assert_allclose(bn2.running_mean, after_gradient)
    assert np.any(after_gradient != 0)
