"""Fixes from a bug hunt of the model library: Dense/Diagonal built from arrays, checkpointed over random and
stateful layers, jvp with a model primal and in training mode, LSTM's state, fx.train and running statistics,
Chain of a list, Bilinear's shape check, Lion's defaults."""

import numpy as np
import pytest

import fluxpy as fx
from fluxpy.errors import FluxpyError
from fluxpy.testing import check_grads

rng = np.random.default_rng(9)


# ---------------------------------------------------------------------------------------------------
# 1. Dense(W, True), Dense(W)


def test_dense_from_weight_bias_true_is_a_zero_trainable_bias():
    W = np.arange(6.0).reshape(2, 3)
    d = fx.Dense(W, True)
    assert isinstance(d.bias, np.ndarray) and d.bias.shape == (2,) and d.bias.dtype == W.dtype
    np.testing.assert_array_equal(d(np.zeros(3)), [0.0, 0.0])
    assert len(fx.params(d)) == 2
    (g,) = fx.gradient(lambda m: np.sum(m(np.zeros(3))), d)
    np.testing.assert_array_equal(g.bias, [1.0, 1.0])
    assert fx.Dense(W.astype(np.float32), np.True_).bias.dtype == np.float32


def test_dense_from_weight_alone_and_bias_false():
    W = rng.standard_normal((2, 3))
    x = rng.standard_normal((4, 3))
    d = fx.Dense(W)
    np.testing.assert_array_equal(d.bias, np.zeros(2))
    assert repr(d) == "Dense(3, 2)"
    np.testing.assert_allclose(d(x), x @ W.T)
    assert fx.Dense(W, False).bias is False
    assert fx.Dense(W, bias=False).bias is False
    with pytest.raises(FluxpyError, match="output size"):
        fx.Dense(3)


def test_dense_from_arrays_gradients():
    W, b, x = rng.standard_normal((2, 3)), rng.standard_normal(2), rng.standard_normal((4, 3))
    check_grads(lambda W, x: np.sum(np.sin(fx.Dense(W, True, np.tanh)(x))), W, x, forward=True)
    check_grads(lambda W, x: np.sum(np.sin(fx.Dense(W)(x))), W, x, forward=True)
    check_grads(lambda W, b, x: np.sum(np.sin(fx.Dense(W, b, np.tanh)(x))), W, b, x, forward=True)


# ---------------------------------------------------------------------------------------------------
# 2. checkpointed over Dropout and BatchNorm


def test_checkpointed_dropout_recomputes_with_the_same_mask():
    d = fx.Dropout(0.5, rng=np.random.default_rng(0))
    x = np.arange(1.0, 9.0)
    y, back = fx.pullback(lambda x: fx.checkpointed(d, x), x)
    (g,) = back(np.ones(8))
    np.testing.assert_array_equal(g, (y != 0) * 2.0)
    (g2,) = back(np.ones(8))  # back may be called again: the same mask again
    np.testing.assert_array_equal(g2, g)
    # the generator goes on from where the forward pass left it: the recomputation draws nothing
    ref = np.random.default_rng(0)
    ref.random(8)
    assert d.rng.random() == ref.random()


def test_checkpointed_dropout_inside_a_closure_and_global_rng():
    d = fx.Dropout(0.5, rng=np.random.default_rng(1))

    @fx.nograd
    def noise(shape):
        return 1.0 + np.random.random(shape)  # NumPy's global generator too

    def f(x):
        return d(x) * noise(np.shape(x))

    x = np.arange(1.0, 9.0)
    y, back = fx.pullback(lambda x: fx.checkpointed(f, x), x)
    (g,) = back(np.ones(8))
    np.testing.assert_allclose(g, y / x)  # y is linear in x: its gradient is y / x


def test_checkpointed_batchnorm_updates_running_stats_once():
    bn = fx.BatchNorm(2)
    x = np.array([[1.0, 2.0], [3.0, 5.0]])
    fx.gradient(lambda x: np.sum(fx.checkpointed(bn, x)), x)
    np.testing.assert_allclose(bn.running_mean, [0.2, 0.35])
    plain = fx.BatchNorm(2)
    fx.gradient(lambda x: np.sum(plain(x)), x)
    np.testing.assert_allclose(bn.running_var, plain.running_var)


def test_checkpointed_batchnorm_gradient_matches_unchecked():
    m = fx.f64(fx.Chain(fx.Dense(3, 4, np.tanh), fx.BatchNorm(4), fx.Dense(4, 2)))
    x = rng.standard_normal((5, 3))
    (g1,) = fx.gradient(lambda m: np.sum(np.sin(fx.checkpointed(m, x))), m)
    (g2,) = fx.gradient(lambda m: np.sum(np.sin(m(x))), m)
    np.testing.assert_allclose(g1.layers[0].weight, g2.layers[0].weight)
    np.testing.assert_allclose(g1.layers[1].gamma, g2.layers[1].gamma)
    fx.trainmode(m)
    check_grads(lambda x: np.sum(np.sin(fx.checkpointed(m, x))), x)


# ---------------------------------------------------------------------------------------------------
# 3. jvp with a model primal: the tangent as an object of the same type or a dict


def _dense_fd(d, E, e, x, h=1e-6):
    plus = fx.Dense(d.weight + h * E, d.bias + h * e, d.activation)(x)
    minus = fx.Dense(d.weight - h * E, d.bias - h * e, d.activation)(x)
    return (plus - minus) / (2 * h)


def test_jvp_model_tangent_as_same_type_object_or_dict():
    x = rng.standard_normal((3, 4))
    d = fx.f64(fx.Dense(4, 5, np.tanh))
    E, e = rng.standard_normal((5, 4)), rng.standard_normal(5)
    fd = _dense_fd(d, E, e, x)
    as_object = fx.Dense(E, e, np.tanh)
    _, dy = fx.jvp(lambda m: m(x), (d,), (as_object,))
    np.testing.assert_allclose(dy, fd, atol=1e-6)
    _, dy = fx.jvp(lambda m: m(x), (d,), ({"weight": E, "bias": e},))
    np.testing.assert_allclose(dy, fd, atol=1e-6)
    _, dy = fx.jvp(lambda m: m(x), (d,), ({"weight": E},))
    np.testing.assert_allclose(dy, _dense_fd(d, E, 0 * e, x), atol=1e-6)
    _, dy = fx.jvp(lambda m: m(x), (d,), (fx.Tangent(fx.Dense, {"weight": E, "bias": e}),))
    np.testing.assert_allclose(dy, fd, atol=1e-6)


def test_jvp_fmap_tangent_of_a_chain():
    x = rng.standard_normal((3, 4))
    m = fx.f64(fx.Chain(fx.Dense(4, 5, np.tanh), lambda z: z**2, fx.Dense(5, 2)))
    t = fx.fmap(lambda a: rng.standard_normal(a.shape) if isinstance(a, np.ndarray) else a, m)
    _, dy = fx.jvp(lambda m: m(x), (m,), (t,))

    def shifted(s):
        a = fx.Dense(m[0].weight + s * t[0].weight, m[0].bias + s * t[0].bias, np.tanh)
        b = fx.Dense(m[2].weight + s * t[2].weight, m[2].bias + s * t[2].bias)
        return fx.Chain(a, m[1], b)(x)

    np.testing.assert_allclose(dy, (shifted(1e-6) - shifted(-1e-6)) / 2e-6, atol=1e-6)


def test_jvp_model_with_a_wrong_tangent_raises():
    x = rng.standard_normal((3, 4))
    d = fx.f64(fx.Dense(4, 5))
    for bad in (np.ones(3), 1.0, "weight", fx.Chain()):
        with pytest.raises(FluxpyError, match="Tangent"):
            fx.jvp(lambda m: m(x), (d,), (bad,))
    with pytest.raises(FluxpyError, match="not its fields"):
        fx.jvp(lambda m: m(x), (d,), ({"weigth": np.ones((5, 4))},))


# ---------------------------------------------------------------------------------------------------
# 4. jvp trains, as reverse mode does


def test_istraining_under_jvp():
    assert fx.jvp(lambda t: t * fx.istraining(), (2.0,), (1.0,)) == (2.0, 1.0)


def test_jvp_agrees_with_jacobian_for_auto_mode_batchnorm():
    bn = fx.f64(fx.BatchNorm(2))
    x = np.array([[1.0, 2.0], [3.0, 6.0], [0.0, 1.0]])
    v = rng.standard_normal(x.shape)
    _, dy = fx.jvp(bn, (x,), (v,))
    (J,) = fx.jacobian(bn, x)
    np.testing.assert_allclose(dy, np.tensordot(J, v, axes=2), atol=1e-12)


def test_check_grads_forward_on_batchnorm_model():
    m = fx.f64(fx.Chain(fx.Dense(3, 4, np.tanh), fx.BatchNorm(4), fx.Dense(4, 2)))
    x = rng.standard_normal((5, 3))
    # the finite differences of check_grads call m plainly: in training mode only when m is set so
    check_grads(fx.trainmode(m), x, forward=True)
    check_grads(fx.testmode(m), x, forward=True)


# ---------------------------------------------------------------------------------------------------
# 5. LSTM's state is a pair


@pytest.mark.parametrize("batch", [2, 3])
def test_lstm_array_state_raises(batch):
    m = fx.f64(fx.LSTM(3, 4))
    x = rng.standard_normal((5, batch, 3))
    h0 = rng.standard_normal((batch, 4))
    with pytest.raises(FluxpyError, match=r"\(h, c\)"):
        m(x, h0)
    with pytest.raises(FluxpyError, match=r"\(h, c\)"):
        fx.gradient(lambda m: np.sum(m(x, h0)), m)
    with pytest.raises(FluxpyError, match=r"\(h, c\)"):
        fx.LSTMCell(3, 4)(x[0], h0)
    assert m(x, (h0, np.zeros_like(h0))).shape == (5, batch, 4)


# ---------------------------------------------------------------------------------------------------
# 6. fx.train refusing a batch puts the running statistics back


def test_train_refused_batch_restores_running_stats():
    m = fx.Chain(fx.Dense(2, 2), fx.BatchNorm(2))
    state = fx.setup(fx.optimise.Descent(0.1), m)
    good = (np.ones((4, 2), np.float32), np.zeros((4, 2), np.float32))
    bad = (np.array([[np.nan, 1.0]] * 4, np.float32), np.zeros((4, 2), np.float32))

    def loss(m, x, y):
        return fx.losses.mse(m(x), y)

    seen = {}

    def batches():
        yield good
        seen["stats"] = m[1].running_mean.copy(), m[1].running_var.copy()
        seen["weight"] = m[0].weight.copy()
        yield bad

    with pytest.raises(FluxpyError, match="nan"):
        fx.train(loss, m, batches(), state)
    np.testing.assert_array_equal(m[0].weight, seen["weight"])
    np.testing.assert_array_equal(m[1].running_mean, seen["stats"][0])
    np.testing.assert_array_equal(m[1].running_var, seen["stats"][1])
    assert np.all(np.isfinite(m(np.ones((1, 2), np.float32))))


def test_train_refused_batch_restores_running_stats_implicit():
    m = fx.Chain(fx.Dense(2, 2), fx.BatchNorm(2))
    ps = fx.params(m)
    bad = (np.array([[np.nan, 1.0]] * 4, np.float32), np.zeros((4, 2), np.float32))
    mean, var = m[1].running_mean.copy(), m[1].running_var.copy()
    with pytest.raises(FluxpyError):
        fx.train(lambda x, y: fx.losses.mse(m(x), y), ps, [bad], fx.optimise.Descent(0.1))
    np.testing.assert_array_equal(m[1].running_mean, mean)
    np.testing.assert_array_equal(m[1].running_var, var)


# ---------------------------------------------------------------------------------------------------
# 7. Scale(scale, bias, activation), as Flux


def test_scale_from_arrays_positional_bias_and_activation():
    s, b = np.array([1.0, 2.0]), np.array([0.5, -0.5])
    x = np.array([[0.3, -1.0], [0.2, 0.1]])
    m = fx.Scale(s, b, np.tanh)
    assert repr(m) == "Diagonal(2, tanh)"
    np.testing.assert_allclose(m(x), np.tanh(x * s + b))
    np.testing.assert_allclose(fx.Scale(s, b)(x), x * s + b)
    np.testing.assert_array_equal(fx.Scale(s, True).bias, [0.0, 0.0])
    assert fx.Scale(s, False, fx.relu).bias is False
    np.testing.assert_allclose(fx.Diagonal(s, np.tanh, bias=b)(x), np.tanh(x * s + b))  # the older form
    assert repr(fx.Diagonal((2, 3), fx.relu)) == "Diagonal(2, 3, relu)"  # sizes: unchanged
    with pytest.raises(FluxpyError):
        fx.Scale(s, b, np.tanh, np.tanh)
    with pytest.raises(FluxpyError):
        fx.Diagonal(2, np.tanh, np.tanh)


def test_scale_from_arrays_gradients():
    s, b, x = rng.standard_normal(3), rng.standard_normal(3), rng.standard_normal((4, 3))
    check_grads(lambda s, b, x: np.sum(np.sin(fx.Scale(s, b, np.tanh)(x))), s, b, x, forward=True)
    check_grads(lambda s, x: np.sum(np.sin(fx.Scale(s, True, np.tanh)(x))), s, x, forward=True)


# ---------------------------------------------------------------------------------------------------
# 8. Chain of a list, Bilinear's shapes, Lion's defaults


def test_chain_of_a_list_or_tuple():
    d1, d2 = fx.f64(fx.Dense(3, 4, np.tanh)), fx.f64(fx.Dense(4, 2))
    x = rng.standard_normal((5, 3))
    for c in (fx.Chain([d1, d2]), fx.Chain((d1, d2))):
        assert len(c) == 2 and c[0] is d1
        np.testing.assert_allclose(c(x), d2(d1(x)))
    check_grads(lambda x: np.sum(np.sin(fx.Chain([d1, d2])(x))), x, forward=True)


def test_bilinear_mismatched_shapes_raise():
    m = fx.Bilinear(3, 2, 4)
    with pytest.raises(FluxpyError, match="same batch"):
        m(np.ones(3, np.float32), np.ones((5, 2), np.float32))
    with pytest.raises(FluxpyError, match="same batch"):
        m(np.ones((4, 3), np.float32), np.ones((5, 2), np.float32))
    with pytest.raises(FluxpyError, match="same batch"):
        m(np.ones((5, 2), np.float32), np.ones((5, 3), np.float32))
    assert m(np.ones((5, 3), np.float32), np.ones((5, 2), np.float32)).shape == (5, 4)


def test_lion_defaults_are_optimisers_jl():
    lion = fx.optimise.Lion()
    assert (lion.eta, lion.beta) == (0.001, (0.9, 0.999))
