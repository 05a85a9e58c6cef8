"""Dropout and normalisation layers: outputs against NumPy (and PyTorch when installed), gradients against
finite differences, the train/test switch, running statistics and params."""

import copy

import numpy as np
import pytest

import fluxpy as fx
from fluxpy.errors import FluxpyError
from fluxpy.layers import normalise as nm
from fluxpy.layers.normalise import AlphaDropout, BatchNorm, Dropout, GroupNorm, InstanceNorm, LayerNorm
from fluxpy.rules import registry
from fluxpy.testing import check_grads

rng = np.random.default_rng(0)


def with_params(layer, gamma, beta):
    """A copy of ``layer`` with new ``gamma``/``beta``: lets check_grads perturb a layer's parameters."""
    m = copy.copy(layer)
    m.gamma, m.beta = gamma, beta
    return m


@registry.adjoint(with_params)
def _with_params_rule(layer, gamma, beta):
    def with_params_pullback(dm):
        if dm is None:
            return (None, None, None)
        return (None, getattr(dm, "gamma", None), getattr(dm, "beta", None))

    return with_params(layer, gamma, beta), with_params_pullback


def ref_norm(x, axes, eps=1e-5):
    mean = x.mean(axis=axes, keepdims=True)
    var = x.var(axis=axes, keepdims=True)
    return (x - mean) / np.sqrt(var + eps)


def per_channel(v, ndim):
    return v.reshape((1, -1) + (1,) * (ndim - 2))


# --- istraining, trainmode, testmode ------------------------------------------------------------------


def test_istraining_false_in_a_plain_call_true_inside_a_gradient():
    assert nm.istraining() is False
    assert fx.gradient(lambda x: x * nm.istraining(), 1.0) == (1.0,)
    seen = []

    def f(x):
        t = nm.istraining()
        seen.append(t)
        return x * 3.0

    fx.gradient(f, 2.0)
    assert seen == [True]


class _Noisy:
    """A user layer branching on istraining() the way Flux code does (the test of an ``if`` runs plainly)."""

    def __init__(self):
        self.w = np.ones(2)

    def __call__(self, x):
        if fx.istraining():
            return self.w * x * 3
        return self.w * x


def _training_from_a_helper():
    return fx.istraining()


def test_istraining_in_if_tests_ternaries_and_helpers():
    m = _Noisy()
    assert np.sum(m(np.ones(2))) == 2.0
    (dm,) = fx.gradient(lambda m: np.sum(m(np.ones(2))), m)
    np.testing.assert_array_equal(dm.w, [3.0, 3.0])
    assert fx.gradient(lambda x: x * 2 if fx.istraining() else x, 1.0) == (2.0,)
    assert fx.gradient(lambda x: x * 2 if _training_from_a_helper() else x, 1.0) == (2.0,)
    assert _training_from_a_helper() is False


def test_trainmode_testmode_walk_chains_lists_tuples_and_dicts():
    d1, d2, bn, ln = Dropout(0.3), AlphaDropout(0.1), BatchNorm(3), LayerNorm(3)
    inner = fx.Chain(fx.Dense(2, 3), bn)
    model = fx.Chain(inner, [d1, {"a": (d2,)}], ln)
    assert nm.trainmode(model) is model
    assert d1.active is True and d2.active is True and bn.active is True
    nm.testmode(model)
    assert (d1.active, d2.active, bn.active) == (False, False, False)
    nm.testmode(model, False)
    assert (d1.active, d2.active, bn.active) == (True, True, True)
    nm.trainmode(model, "auto")
    assert (d1.active, d2.active, bn.active) == (None, None, None)
    nm.trainmode(model, False)
    assert d1.active is False
    nm.testmode(model, None)
    assert d1.active is None
    with pytest.raises(FluxpyError, match="mode must be"):
        nm.trainmode(model, "sometimes")


# --- Dropout -----------------------------------------------------------------------------------------


def test_dropout_inactive_in_a_plain_call_active_inside_a_gradient():
    d = Dropout(0.5, rng=np.random.default_rng(1))
    x = rng.standard_normal((20, 10))
    assert d(x) is x
    (g,) = fx.gradient(lambda x: np.sum(d(x)), x)
    expected = (np.random.default_rng(1).random(x.shape) >= 0.5) / 0.5  # the mask the layer drew
    np.testing.assert_array_equal(g, expected)
    assert 0 < np.mean(g == 0) < 1


def test_dropout_trainmode_testmode_switch():
    x = np.ones((100, 10), dtype=np.float32)
    d = nm.trainmode(Dropout(0.25, rng=np.random.default_rng(2)))
    y = d(x)  # training in a plain call
    assert y.dtype == np.float32 and set(np.unique(y)) <= {0.0, np.float32(1 / 0.75)}
    assert 0.15 < np.mean(y == 0) < 0.35
    nm.testmode(d)
    (g,) = fx.gradient(lambda x: np.sum(d(x)), x)  # inference inside a gradient
    np.testing.assert_array_equal(g, np.ones_like(x))
    assert d(x) is x


def test_dropout_gradient_with_a_fixed_mask_matches_finite_differences():
    x = rng.standard_normal((4, 3))

    def f(x):
        d = Dropout(0.4, rng=np.random.default_rng(3), active=True)  # the same mask on every call
        return np.sum(np.sin(d(x)))

    check_grads(f, x, order=2)


def test_dropout_dims_shares_the_mask_along_other_axes():
    d = Dropout(0.5, dims=1, rng=np.random.default_rng(4), active=True)
    y = d(np.ones((6, 8)))
    np.testing.assert_array_equal(y, np.broadcast_to(y[:1], y.shape))  # same mask for every row
    d2 = Dropout(0.5, dims=(0,), rng=np.random.default_rng(4), active=True)
    y2 = d2(np.ones((6, 8)))
    np.testing.assert_array_equal(y2, np.broadcast_to(y2[:, :1], y2.shape))


def test_dropout_edge_probabilities_and_repr():
    x = np.ones(5)
    assert nm.trainmode(Dropout(0.0))(x) is x
    np.testing.assert_array_equal(nm.trainmode(Dropout(1.0))(x), np.zeros(5))
    with pytest.raises(FluxpyError, match="probability"):
        Dropout(1.5)
    assert repr(Dropout(0.5)) == "Dropout(0.5)"
    assert repr(Dropout(0.5, dims=1)) == "Dropout(0.5, dims=1)"
    assert len(fx.params(Dropout(0.5))) == 0


def test_alpha_dropout_keeps_zero_mean_unit_variance_and_is_identity_in_inference():
    d = AlphaDropout(0.2, rng=np.random.default_rng(5))
    x = np.random.default_rng(6).standard_normal(200_000)
    assert d(x) is x
    y = nm.trainmode(d)(x)
    assert abs(y.mean()) < 0.02 and abs(y.std() - 1) < 0.02
    assert repr(d) == "AlphaDropout(0.2)"
    (g,) = fx.gradient(lambda x: np.sum(nm.testmode(AlphaDropout(0.2))(x)), x[:3])
    np.testing.assert_array_equal(g, np.ones(3))


# --- BatchNorm ---------------------------------------------------------------------------------------


@pytest.mark.parametrize("shape", [(8, 3), (4, 3, 5), (2, 3, 4, 5)])
def test_batchnorm_training_and_inference_match_numpy(shape):
    x = rng.standard_normal(shape).astype(np.float32) * 2 + 1
    bn = BatchNorm(3)
    bn.gamma[:] = [1.0, 2.0, 0.5]
    bn.beta[:] = [0.0, -1.0, 3.0]
    axes = (0,) + tuple(range(2, len(shape)))
    g, b = per_channel(bn.gamma, len(shape)), per_channel(bn.beta, len(shape))
    y = nm.trainmode(bn)(x)
    np.testing.assert_allclose(y, ref_norm(x, axes) * g + b, rtol=1e-4, atol=1e-5)
    n = x.size // 3
    mean, var = x.mean(axis=axes), x.var(axis=axes) * n / (n - 1)
    np.testing.assert_allclose(bn.running_mean, 0.1 * mean, rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(bn.running_var, 0.9 + 0.1 * var, rtol=1e-5)
    assert bn.running_mean.dtype == np.float32
    yi = nm.testmode(bn)(x)
    rm, rv = per_channel(bn.running_mean, len(shape)), per_channel(bn.running_var, len(shape))
    np.testing.assert_allclose(yi, (x - rm) / np.sqrt(rv + 1e-5) * g + b, rtol=1e-4, atol=1e-5)


def test_batchnorm_matches_torch():
    torch = pytest.importorskip("torch")
    F = torch.nn.functional
    x = rng.standard_normal((4, 3, 5, 2)).astype(np.float32)
    bn = nm.trainmode(BatchNorm(3, momentum=0.2))
    bn.gamma[:] = rng.standard_normal(3)
    bn.beta[:] = rng.standard_normal(3)
    rm, rv = torch.zeros(3), torch.ones(3)
    args = (torch.tensor(bn.gamma), torch.tensor(bn.beta))
    for _ in range(3):
        expected = F.batch_norm(torch.tensor(x), rm, rv, *args, training=True, momentum=0.2, eps=1e-5)
        np.testing.assert_allclose(bn(x), expected.numpy(), rtol=1e-4, atol=1e-5)
    np.testing.assert_allclose(bn.running_mean, rm.numpy(), rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(bn.running_var, rv.numpy(), rtol=1e-5)
    expected = F.batch_norm(torch.tensor(x), rm, rv, *args, training=False, eps=1e-5)
    np.testing.assert_allclose(nm.testmode(bn)(x), expected.numpy(), rtol=1e-4, atol=1e-5)


def test_batchnorm_running_stats_update_only_in_training():
    x = rng.standard_normal((6, 2)).astype(np.float32) + 3
    bn = BatchNorm(2)
    bn(x)  # plain call: inference
    np.testing.assert_array_equal(bn.running_mean, np.zeros(2))
    np.testing.assert_array_equal(bn.running_var, np.ones(2))
    (dm,) = fx.gradient(lambda m: np.sum(m(x) ** 2), bn)  # inside a gradient: training
    assert isinstance(dm, fx.Tangent)
    np.testing.assert_allclose(bn.running_mean, 0.1 * x.mean(axis=0), rtol=1e-5)
    before = bn.running_mean.copy()
    nm.testmode(bn)
    fx.gradient(lambda m: np.sum(m(x) ** 2), bn)
    np.testing.assert_array_equal(bn.running_mean, before)
    nostats = nm.trainmode(BatchNorm(2, track_stats=False))
    assert nostats.running_mean is None
    np.testing.assert_allclose(nostats(x), nm.testmode(nostats)(x), rtol=1e-6)  # batch statistics always


def test_batchnorm_gradients_match_finite_differences():
    x = rng.standard_normal((4, 3, 2))
    base = nm.trainmode(BatchNorm(3, track_stats=False))

    def f(x, gamma, beta):
        return np.sum(np.sin(with_params(base, gamma, beta)(x)))

    # forward mode cannot carry a tangent through with_params's rule, which returns a layer (limitations.md)
    check_grads(f, x, rng.standard_normal(3), rng.standard_normal(3), order=1, forward=False)
    tracked = nm.trainmode(BatchNorm(3, fx.tanh))
    check_grads(
        lambda x, g, b: np.sum(with_params(tracked, g, b)(x) ** 3),
        x,
        *rng.standard_normal((2, 3)),
        order=1,
        forward=False,
    )


def test_batchnorm_gradient_is_a_tangent_with_the_trainable_fields():
    x = rng.standard_normal((5, 3)).astype(np.float32)
    bn = BatchNorm(3)
    (dm,) = fx.gradient(lambda m: np.sum(m(x) * np.arange(3.0)), bn)
    assert isinstance(dm, fx.Tangent)
    np.testing.assert_allclose(dm.beta, 5 * np.arange(3.0), rtol=1e-6)
    np.testing.assert_allclose(dm.gamma, np.zeros(3), atol=1e-4)  # normalised columns sum to zero
    # none for the running statistics (batch statistics are used in training); eps gets its true gradient
    assert all(dm[k] is None for k in dm if k not in ("gamma", "beta", "eps"))
    assert isinstance(dm.eps, float)
    (dm,) = fx.gradient(lambda m: np.sum(m(x) ** 2), nm.testmode(bn))
    assert dm.momentum is None and isinstance(
        dm.eps, float
    )  # in inference the running statistics get one too
    np.testing.assert_allclose(dm.beta, np.sum(2 * bn(x), axis=0), rtol=1e-5)


def test_batchnorm_params_exclude_running_stats_and_repr():
    bn = BatchNorm(16, fx.relu)
    ps = fx.params(bn)
    assert len(ps) == 2 and any(p is bn.gamma for p in ps) and any(p is bn.beta for p in ps)
    assert set(fx.trainable(bn)) == {"gamma", "beta"}
    assert {"running_mean", "running_var"} <= set(fx.children(bn))  # moved by gpu/f32, not trained
    assert fx.f32(fx.f64(bn)).running_mean.dtype == np.float32
    assert repr(bn) == "BatchNorm(16, relu)"
    assert repr(BatchNorm(4, affine=False)) == "BatchNorm(4, affine=False)"
    assert len(fx.params(BatchNorm(4, affine=False))) == 0
    m = fx.Chain(fx.Dense(3, 4), BatchNorm(4), Dropout(0.5))
    assert len(fx.params(m)) == 4
    assert "BatchNorm(4)" in repr(m) and "Dropout(0.5)" in repr(m)
    with pytest.raises(FluxpyError, match="channels on axis 1"):
        bn(np.ones((2, 3)))


# --- LayerNorm ---------------------------------------------------------------------------------------


def test_layernorm_matches_numpy_and_torch():
    x = rng.standard_normal((2, 3, 4)).astype(np.float32)
    ln = LayerNorm((3, 4))
    ln.gamma[:] = rng.standard_normal((3, 4))
    ln.beta[:] = rng.standard_normal((3, 4))
    y = ln(x)
    np.testing.assert_allclose(y, ref_norm(x, (1, 2)) * ln.gamma + ln.beta, rtol=1e-4, atol=1e-5)
    np.testing.assert_allclose(LayerNorm(4)(x), ref_norm(x, (2,)), rtol=1e-4, atol=1e-5)
    torch = pytest.importorskip("torch")
    expected = torch.nn.functional.layer_norm(
        torch.tensor(x), (3, 4), torch.tensor(ln.gamma), torch.tensor(ln.beta), eps=1e-5
    )
    np.testing.assert_allclose(y, expected.numpy(), rtol=1e-4, atol=1e-5)


@pytest.mark.second_order
def test_layernorm_gradients_to_second_order():
    base = LayerNorm(3, fx.tanh)

    def f(x, gamma, beta):
        return np.sum(np.sin(with_params(base, gamma, beta)(x)) ** 2)

    # forward mode cannot carry a tangent through with_params's rule, which returns a layer (limitations.md)
    check_grads(
        f,
        rng.standard_normal((2, 3)),
        rng.standard_normal(3),
        rng.standard_normal(3),
        order=2,
        forward=False,
    )


def test_layernorm_params_repr_and_errors():
    ln = LayerNorm(5)
    assert repr(ln) == "LayerNorm(5)" and repr(LayerNorm((2, 3), fx.relu)) == "LayerNorm((2, 3), relu)"
    assert len(fx.params(ln)) == 2 and len(fx.params(LayerNorm(5, affine=False))) == 0
    (dm,) = fx.gradient(lambda m: np.sum(m(np.arange(10.0).reshape(2, 5)) * 2), ln)
    np.testing.assert_allclose(dm.beta, np.full(5, 4.0))
    with pytest.raises(FluxpyError, match="trailing axes"):
        ln(np.ones((2, 4)))


# --- GroupNorm and InstanceNorm ----------------------------------------------------------------------


def test_groupnorm_matches_numpy_and_torch():
    x = rng.standard_normal((2, 6, 3, 2)).astype(np.float32)
    gn = GroupNorm(6, 3)
    gn.gamma[:] = rng.standard_normal(6)
    gn.beta[:] = rng.standard_normal(6)
    ref = ref_norm(x.reshape(2, 3, 2, 3, 2), (2, 3, 4)).reshape(x.shape)
    y = gn(x)
    np.testing.assert_allclose(
        y, ref * per_channel(gn.gamma, 4) + per_channel(gn.beta, 4), rtol=1e-4, atol=1e-5
    )
    torch = pytest.importorskip("torch")
    expected = torch.nn.functional.group_norm(
        torch.tensor(x), 3, torch.tensor(gn.gamma), torch.tensor(gn.beta)
    )
    np.testing.assert_allclose(y, expected.numpy(), rtol=1e-4, atol=1e-5)


def test_groupnorm_gradients_params_and_repr():
    base = GroupNorm(4, 2)

    def f(x, gamma, beta):
        return np.sum(np.sin(with_params(base, gamma, beta)(x)))

    # forward mode cannot carry a tangent through with_params's rule, which returns a layer (limitations.md)
    check_grads(
        f,
        rng.standard_normal((2, 4, 3)),
        rng.standard_normal(4),
        rng.standard_normal(4),
        order=1,
        forward=False,
    )
    assert repr(GroupNorm(4, 2, fx.relu)) == "GroupNorm(4, 2, relu)" and len(fx.params(base)) == 2
    with pytest.raises(FluxpyError, match="groups"):
        GroupNorm(5, 2)


def test_instancenorm_matches_numpy_and_torch():
    x = rng.standard_normal((2, 3, 4, 5)).astype(np.float32)
    np.testing.assert_allclose(InstanceNorm(3)(x), ref_norm(x, (2, 3)), rtol=1e-4, atol=1e-5)
    m = InstanceNorm(3, affine=True)
    m.gamma[:] = rng.standard_normal(3)
    m.beta[:] = rng.standard_normal(3)
    y = m(x)
    np.testing.assert_allclose(
        y, ref_norm(x, (2, 3)) * per_channel(m.gamma, 4) + per_channel(m.beta, 4), rtol=1e-4, atol=1e-5
    )
    torch = pytest.importorskip("torch")
    expected = torch.nn.functional.instance_norm(
        torch.tensor(x), weight=torch.tensor(m.gamma), bias=torch.tensor(m.beta), eps=1e-5
    )
    np.testing.assert_allclose(y, expected.numpy(), rtol=1e-4, atol=1e-5)


def test_instancenorm_gradients_params_and_repr():
    base = InstanceNorm(2, affine=True)

    def f(x, gamma, beta):
        return np.sum(np.sin(with_params(base, gamma, beta)(x)) ** 2)

    # forward mode cannot carry a tangent through with_params's rule, which returns a layer (limitations.md)
    check_grads(
        f,
        rng.standard_normal((2, 2, 3)),
        rng.standard_normal(2),
        rng.standard_normal(2),
        order=1,
        forward=False,
    )
    check_grads(lambda x: np.sum(np.cos(InstanceNorm(2)(x))), rng.standard_normal((1, 2, 4)), order=1)
    assert repr(InstanceNorm(2)) == "InstanceNorm(2)" and repr(base) == "InstanceNorm(2, affine=True)"
    assert len(fx.params(InstanceNorm(2))) == 0 and len(fx.params(base)) == 2
    with pytest.raises(FluxpyError, match="spatial"):
        InstanceNorm(2)(np.ones((3, 2)))


def test_a_model_with_normalisation_trains_inside_a_gradient():
    model = fx.Chain(
        fx.Dense(4, 6), BatchNorm(6, fx.relu), Dropout(0.2, rng=np.random.default_rng(7)), fx.Dense(6, 2)
    )
    x = rng.standard_normal((8, 4)).astype(np.float32)
    (dm,) = fx.gradient(lambda m: np.sum(m(x) ** 2), model)
    assert isinstance(dm, fx.Tangent) and len(dm.layers) == 4
    assert dm.layers[1].gamma.shape == (6,) and dm.layers[0].weight.shape == (6, 4)
    assert np.any(model[1].running_mean != 0)
    np.testing.assert_array_equal(model(x), model(x))  # plain calls: inference, deterministic


def test_check_grads_on_an_automatic_mode_batchnorm_model():
    # finite differences evaluate the model as it is differentiated (batch statistics), not as a plain call
    # does (running statistics): check_grads gave a false alarm on every automatic-mode BatchNorm model
    m = fx.f64(fx.Chain(fx.Dense(3, 4), BatchNorm(4), fx.Dense(4, 1)))
    x = np.random.default_rng(0).standard_normal((5, 3))

    def loss(x):
        return np.sum(m(x) ** 2)

    check_grads(loss, x, order=2, forward=True)


def test_check_grads_still_compares_with_plain_calls_elsewhere():
    # a function that does not ask istraining() is checked against its plain calls: a wrong rule is caught
    def bad_square(x):
        return x * x

    @registry.adjoint(bad_square)
    def _bad_square_rule(x):
        return x * x, lambda dy: (dy * x,)  # missing the factor 2

    with pytest.raises(AssertionError):
        check_grads(lambda x: np.sum(bad_square(x)), np.array([1.0, 2.0]), order=1)


def test_a_nograd_function_called_inside_a_gradient_runs_layers_in_inference_mode():
    # the frame walk found the generated code above it and said training: BatchNorm's statistics were
    # updated with the evaluation data too, and Dropout dropped
    x = np.random.default_rng(0).standard_normal((8, 6)).astype(np.float32)
    bn = fx.BatchNorm(6)
    evaluate = fx.nograd(lambda b: float(np.sum(b(x))))

    def loss(b):
        evaluate(b)
        return np.sum(b(x) ** 2)

    fx.gradient(loss, bn)
    np.testing.assert_allclose(bn.running_mean, 0.1 * x.mean(0), rtol=1e-5, atol=1e-7)
    d, ones, seen = fx.Dropout(0.5), np.ones(1000), []
    probe = fx.nograd(lambda: int(np.count_nonzero(d(ones) == 0)))
    fx.gradient(lambda t: (seen.append(probe()), np.sum(d(t)))[1], ones)
    assert seen == [0]
    assert fx.gradient(lambda t: t * fx.istraining(), 2.0) == (1.0,)  # differentiated code still trains
