"""The seeds' layer examples: globals, closures, an Affine functor, Dense/Chain/softmax, reduce, compose."""

import functools

import numpy as np
import pytest

import fluxpy as fx
from fluxpy.errors import FluxpyError
from fluxpy.testing import check_grads

rng = np.random.default_rng(0)


@fx.functor
class Affine:
    def __init__(self, W, b):
        self.W, self.b = W, b

    def __call__(self, x):
        return self.W @ x + self.b


def make_affine(n_in, n_out, *, bias=True, init=fx.randn32):
    W = init(n_out, n_in)
    return Affine(W, fx.create_bias(W, bias, n_out))


def test_affine_functor_create_bias_and_gpu_without_a_gpu():
    a = make_affine(3, 1, bias=False, init=fx.ones32)
    assert a.b is False and a.W.dtype == np.float32
    assert set(fx.children(a)) == {"W", "b"}
    with pytest.warns(UserWarning, match="no CuPy or no GPU"):
        moved = fx.gpu(a)
    assert moved is a or isinstance(moved, Affine)
    assert a(np.ones(3, dtype=np.float32)).shape == (1,)


def test_affine_gradient_is_a_tangent_mirroring_the_layer():
    a = Affine(rng.standard_normal((5, 10)), rng.standard_normal(5))
    x = rng.random(10)
    (da,) = fx.gradient(lambda m: np.sum(m(x) ** 2), a)
    assert isinstance(da, fx.Tangent) and set(da) == {"W", "b"}
    np.testing.assert_allclose(da.b, 2 * a(x))
    np.testing.assert_allclose(da.W, 2 * np.outer(a(x), x))


def test_dense_chain_softmax_shapes_and_sum():
    model2 = fx.Chain(fx.Dense(10, 5, fx.σ), fx.Dense(5, 2), fx.softmax)
    y = model2(rng.random(10).astype(np.float32))
    assert y.shape == (2,) and np.isclose(np.sum(y), 1.0)
    yb = model2(rng.random((7, 10)).astype(np.float32))
    assert yb.shape == (7, 2) and np.allclose(yb.sum(axis=1), 1.0)
    assert len(model2) == 3 and isinstance(model2[0], fx.Dense) and isinstance(model2[0:2], fx.Chain)
    assert fx.Chain(lambda x: x**2, lambda x: x + 1)(5) == 26


def test_layers_list_folded_with_reduce_and_compose():
    layers = [fx.Dense(10, 5, fx.σ), fx.Dense(5, 2), fx.softmax]
    x = rng.random(10).astype(np.float32)
    y = functools.reduce(lambda h, m: m(h), layers, x)
    assert y.shape == (2,) and np.isclose(y.sum(), 1.0)
    m = fx.compose(fx.Dense(5, 2), fx.Dense(10, 5, fx.σ))
    assert m(x).shape == (2,)
    np.testing.assert_allclose(m(x), fx.Chain(m.inner, m.outer)(x))


def test_dense_gradient_fields_and_finite_differences():
    d = fx.Dense(4, 3, fx.tanh)
    x = rng.standard_normal(4).astype(np.float32)
    (dd, dx) = fx.gradient(lambda d, x: np.sum(d(x) ** 2), d, x)
    assert set(dd) == {"weight", "bias", "activation"} and dd.activation is None
    assert dd.weight.dtype == np.float32
    w, b = d.weight.astype(np.float64), d.bias.astype(np.float64)
    check_grads(lambda w, b, x: np.sum(fx.tanh(x @ w.T + b) ** 2), w, b, x.astype(np.float64))


def test_chain_gradient_is_a_tangent_with_layers():
    m = fx.Chain(fx.Dense(3, 4, fx.relu), fx.Dense(4, 1))
    (dm,) = fx.gradient(lambda m: np.sum(m(np.ones(3, dtype=np.float32))), m)
    assert set(dm) == {"layers"} and len(dm.layers) == 2
    assert dm.layers[1].weight.shape == (1, 4)


def test_second_derivatives_through_layers():
    m = fx.Chain(fx.Dense(3, 4, fx.tanh), fx.Dense(4, 1))
    m = fx.f64(m)
    x = rng.standard_normal(3)

    def loss(x):
        return np.sum(m(x) ** 2)

    check_grads(loss, x, order=2)
    h = fx.hessian(loss, x)  # forward over reverse, through the layers' field cotangents
    eps = 1e-6
    columns = [
        (fx.gradient(loss, x + eps * e)[0] - fx.gradient(loss, x - eps * e)[0]) / (2 * eps) for e in np.eye(3)
    ]
    np.testing.assert_allclose(h, np.stack(columns, axis=1), rtol=1e-5, atol=1e-7)


def test_fmap_shared_arrays_mapped_once_and_f32():
    W = np.ones(2)
    pair = {"a": W, "b": W}
    out = fx.fmap(lambda v: v * 10 if isinstance(v, np.ndarray) else v, pair)
    assert out["a"] is out["b"]
    assert fx.f32(fx.Dense(2, 2)).weight.dtype == np.float32
    assert fx.f64(fx.Dense(2, 2)).weight.dtype == np.float64


def test_functor_field_subset():
    class Holder:
        def __init__(self, a, b, c):
            self.a, self.b, self.c = a, b, c

    fx.functor(Holder, ("a", "c"))
    h = Holder(np.ones(1), np.ones(1), np.ones(1))
    assert set(fx.children(h)) == {"a", "c"}
    doubled = fx.fmap(lambda v: v * 2, h)
    assert doubled.a[0] == 2 and doubled.b[0] == 1 and doubled.c[0] == 2


def test_params_of_models_and_dense_error_names_the_layer():
    m = fx.Chain(fx.Dense(10, 5, fx.σ), fx.Dense(5, 2))
    assert len(fx.params(m)) == 4
    with pytest.raises(fx.FluxpyError, match=r"Dense\(10, 5, sigmoid\)"):
        m(np.ones(3))


# ---------------------------------------------------------------------------------------------------------
# the fused dense kernel (nnlib/dense.py): one rule for the product, the bias and the activation


@pytest.mark.parametrize("act", ["identity", "relu", "tanh", "sigmoid"])
@pytest.mark.parametrize("shape", [(5, 3), (3,), (2, 4, 3)])
def test_dense_bias_act_matches_the_written_out_layer(act, shape):
    from fluxpy.nnlib.dense import dense_bias_act

    rng = np.random.default_rng(0)
    x, w, b = rng.standard_normal(shape), rng.standard_normal((4, 3)), rng.standard_normal(4)
    activation = {"identity": fx.identity, "relu": fx.relu, "tanh": fx.tanh, "sigmoid": fx.sigmoid}[act]
    assert np.allclose(dense_bias_act(x, w, b, act=act), activation(x @ w.T + b))
    assert np.allclose(dense_bias_act(x, w, False, act=act), activation(x @ w.T))

    def f(x, w, b):
        return np.sum(np.sin(dense_bias_act(x, w, b, act=act)))

    check_grads(f, x, w, b, order=2, forward=True)


@pytest.mark.parametrize("activation", [fx.identity, fx.relu, fx.tanh, np.tanh, fx.sigmoid, fx.elu])
def test_dense_layer_gradients_fused_or_not(activation):
    rng = np.random.default_rng(1)
    w, b = rng.standard_normal((4, 3)), rng.standard_normal(4)

    def f(x, w, b):
        return np.sum(fx.Dense(w, b, activation)(x) ** 2)

    def no_bias(x, w):
        return np.sum(np.cos(fx.Dense(w, False, activation)(x)))

    for shape in [(5, 3), (3,), (2, 4, 3)]:
        x = rng.standard_normal(shape)
        check_grads(f, x, w, b, order=2, forward=True)
        check_grads(no_bias, x, w, order=2, forward=True)


def test_dense_fused_keeps_float32_and_model_gradients():
    m = fx.Dense(3, 4, fx.relu, rng=np.random.default_rng(2))
    x = np.random.default_rng(3).standard_normal((5, 3)).astype(np.float32)
    g = fx.gradient(lambda m: np.sum(m(x) ** 2), m)[0]
    assert m(x).dtype == np.float32
    assert g.weight.dtype == np.float32 and g.bias.dtype == np.float32
    assert g.activation is None


def test_dense_not_fused_where_the_kernel_does_not_fit():
    # an integer input, a bias that only broadcasts, complex weights: written out, and still right
    rng = np.random.default_rng(4)
    w = rng.standard_normal((2, 3))
    xi = np.array([[1, 0, 2]])
    assert np.allclose(fx.Dense(w, 0.5 * np.ones((1, 2)))(xi), xi @ w.T + 0.5)
    check_grads(lambda w: np.sum(fx.Dense(w, np.array(0.25), fx.tanh)(xi) ** 2), w, order=2)
    wc = w + 1j * rng.standard_normal((2, 3))
    y = fx.Dense(wc, False)(np.ones(3))
    assert np.allclose(y, wc @ np.ones(3))


def test_dense_shape_error_still_names_the_layer():
    with pytest.raises(FluxpyError, match=r"Dense\(3, 4\) expects inputs whose last axis has 3"):
        fx.gradient(lambda x: np.sum(fx.Dense(3, 4)(x)), np.ones((2, 5)))
