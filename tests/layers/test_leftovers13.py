"""Three gaps in the model library, against Flux's behaviour:

1. ``InstanceNorm(chs, track_stats=True)``: running statistics updated in training (the batch average of the
   per-sample statistics, momentum and unbiased variance as Flux's ``_track_stats!``), used in inference;
   gradients against finite differences in both modes; saved and loaded with the model.
2. ``outputsize(model, xshape, yshape, ...)`` (and a tuple of shapes): models taking several inputs
   (``Bilinear``, ``Parallel``), by rule, without running the arithmetic.
3. ``outdims`` through a ``Chain`` carries the number of spatial axes its first conv/pool layer fixed, so that
   it agrees with the chain's call (and ``outputsize``) on 3-d volumes.
"""

import copy

import numpy as np
import pytest

import fluxpy as fx
from fluxpy.errors import FluxpyError
from fluxpy.rules import registry
from fluxpy.testing import check_grads

rng = np.random.default_rng(13)
EPS = 1e-5


def per_channel(v, ndim):
    return np.reshape(v, (1, -1) + (1,) * (ndim - 2))


def instance_reference(x, eps=EPS):
    """Each sample's channel normalised over its spatial axes (batch statistics), in float64."""
    x = np.asarray(x, np.float64)
    axes = tuple(range(2, x.ndim))
    return (x - x.mean(axis=axes, keepdims=True)) / np.sqrt(x.var(axis=axes, keepdims=True) + eps)


def flux_track_stats(mean, var, x, momentum=0.1):
    """Flux's ``_track_stats!`` for InstanceNorm: the batch average of the per-sample means and of the
    per-sample variances (times m / (m - 1), m the number of spatial entries) blended in with ``momentum``."""
    x = np.asarray(x, np.float64)
    axes = tuple(range(2, x.ndim))
    m = int(np.prod(x.shape[2:]))
    mu = x.mean(axis=axes).mean(axis=0)
    sigma2 = x.var(axis=axes).mean(axis=0) * m / (m - 1)
    return (1 - momentum) * mean + momentum * mu, (1 - momentum) * var + momentum * sigma2


def with_params(layer, gamma, beta):
    """A copy of ``layer`` with new ``gamma``/``beta`` (sharing its running statistics): lets check_grads
    perturb a layer's parameters."""
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


# ---------------------------------------------------------------------------------------------------
# 1. InstanceNorm(track_stats=True)


def test_instancenorm_track_stats_is_accepted_with_flux_defaults():
    m = fx.InstanceNorm(3, track_stats=True)
    assert m.track_stats is True and m.affine is False and m.momentum == 0.1
    np.testing.assert_array_equal(m.running_mean, np.zeros(3))
    np.testing.assert_array_equal(m.running_var, np.ones(3))
    assert m.running_mean.dtype == np.float32 and m.running_var.dtype == np.float32
    plain = fx.InstanceNorm(3)
    assert plain.track_stats is False and plain.running_mean is None and plain.running_var is None
    assert len(fx.params(m)) == 0  # running statistics are not trainable
    tracked = fx.InstanceNorm(3, affine=True, track_stats=True)
    ps = fx.params(tracked)
    assert len(ps) == 2 and tracked.gamma in ps and tracked.beta in ps
    assert tracked.running_mean not in ps
    assert {"running_mean", "running_var"} <= set(fx.children(tracked))  # moved by f32/gpu, not trained


@pytest.mark.parametrize("shape", [(3, 2, 7), (2, 2, 4, 5), (2, 2, 3, 2, 3)])
def test_instancenorm_training_updates_running_stats_as_flux(shape):
    m = fx.trainmode(fx.InstanceNorm(2, track_stats=True))
    mean, var = np.zeros(2), np.ones(2)
    for step in range(3):
        x = rng.standard_normal(shape).astype(np.float32) * (step + 1) + step
        y = m(x)
        np.testing.assert_allclose(y, instance_reference(x), rtol=1e-4, atol=1e-5)  # the samples' own stats
        mean, var = flux_track_stats(mean, var, x)
        np.testing.assert_allclose(m.running_mean, mean, rtol=1e-5, atol=1e-6)
        np.testing.assert_allclose(m.running_var, var, rtol=1e-5)
    assert m.running_mean.dtype == np.float32


def test_instancenorm_momentum_and_affine_in_training():
    x = rng.standard_normal((4, 3, 6)).astype(np.float32) + 2
    m = fx.trainmode(fx.InstanceNorm(3, fx.relu, affine=True, track_stats=True, momentum=0.3))
    m.gamma[:] = [1.0, -2.0, 0.5]
    m.beta[:] = [0.5, 0.0, -1.0]
    y = m(x)
    expected = np.maximum(instance_reference(x) * per_channel(m.gamma, 3) + per_channel(m.beta, 3), 0)
    np.testing.assert_allclose(y, expected, rtol=1e-4, atol=1e-5)
    mean, var = flux_track_stats(np.zeros(3), np.ones(3), x, momentum=0.3)
    np.testing.assert_allclose(m.running_mean, mean, rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(m.running_var, var, rtol=1e-5)


def test_instancenorm_inference_uses_the_running_stats():
    m = fx.InstanceNorm(3, affine=True, track_stats=True)
    m.running_mean[:] = [0.5, -1.0, 2.0]
    m.running_var[:] = [4.0, 0.25, 1.0]
    m.gamma[:] = [2.0, 1.0, -1.0]
    m.beta[:] = [0.0, 1.0, 0.5]
    x = rng.standard_normal((2, 3, 4, 4)).astype(np.float32)
    rm, rv = per_channel(m.running_mean, 4), per_channel(m.running_var, 4)
    expected = (x - rm) / np.sqrt(rv + EPS) * per_channel(m.gamma, 4) + per_channel(m.beta, 4)
    before = m.running_mean.copy(), m.running_var.copy()
    np.testing.assert_allclose(m(x), expected, rtol=1e-5, atol=1e-6)  # a plain call: inference
    np.testing.assert_allclose(fx.testmode(m)(x), expected, rtol=1e-5, atol=1e-6)
    # and a sample's output does not depend on the rest of the batch (per-channel constants)
    np.testing.assert_allclose(m(x[:1]), expected[:1], rtol=1e-5, atol=1e-6)
    np.testing.assert_array_equal(m.running_mean, before[0])
    np.testing.assert_array_equal(m.running_var, before[1])
    # without tracked statistics, inference normalises each sample with its own statistics (as Flux)
    plain = fx.testmode(fx.InstanceNorm(3))
    np.testing.assert_allclose(plain(x), instance_reference(x), rtol=1e-4, atol=1e-5)


def test_instancenorm_stats_update_only_in_training_mode():
    x = rng.standard_normal((4, 2, 5)).astype(np.float32) + 3
    m = fx.InstanceNorm(2, track_stats=True)
    m(x)  # plain call, automatic mode: inference
    np.testing.assert_array_equal(m.running_mean, np.zeros(2))
    np.testing.assert_array_equal(m.running_var, np.ones(2))
    y, back = fx.pullback(lambda x: np.sum(m(x) ** 2), x)  # inside a gradient: training, once
    mean, var = flux_track_stats(np.zeros(2), np.ones(2), x)
    np.testing.assert_allclose(m.running_mean, mean, rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(m.running_var, var, rtol=1e-5)
    back(1.0)
    back(1.0)  # the pullback does not run the forward pass again
    np.testing.assert_allclose(m.running_mean, mean, rtol=1e-5, atol=1e-6)
    assert np.isclose(y, np.sum(instance_reference(x) ** 2), rtol=1e-4)  # batch statistics in training
    fx.testmode(m)
    fx.gradient(lambda x: np.sum(m(x) ** 2), x)  # testmode: not even inside a gradient
    fx.jvp(lambda x: np.sum(m(x) ** 2), (x,), (np.ones_like(x),))
    np.testing.assert_allclose(m.running_mean, mean, rtol=1e-5, atol=1e-6)
    fx.trainmode(m)
    m(x)  # trainmode: even in a plain call
    mean, var = flux_track_stats(mean, var, x)
    np.testing.assert_allclose(m.running_mean, mean, rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(m.running_var, var, rtol=1e-5)


def test_instancenorm_checkpointed_updates_running_stats_once():
    x = rng.standard_normal((2, 2, 6))
    m = fx.InstanceNorm(2, track_stats=True)
    fx.gradient(lambda x: np.sum(np.sin(fx.checkpointed(m, x))), x)
    mean, var = flux_track_stats(np.zeros(2), np.ones(2), x)
    np.testing.assert_allclose(m.running_mean, mean, rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(m.running_var, var, rtol=1e-5)


def test_instancenorm_refused_training_step_restores_running_stats():
    m = fx.Chain(fx.Conv((3,), 1, 2), fx.InstanceNorm(2, track_stats=True))
    state = fx.setup(fx.optimise.Descent(0.1), m)
    good = rng.standard_normal((3, 1, 6)).astype(np.float32)
    bad = good.copy()
    bad[0, 0, 0] = np.nan
    target = np.zeros((3, 2, 4), np.float32)
    fx.train(lambda m, x, y: fx.losses.mse(m(x), y), m, [(good, target)], state)
    saved = m[1].running_mean.copy(), m[1].running_var.copy()
    assert np.any(saved[0] != 0)
    with pytest.raises(FluxpyError):
        fx.train(lambda m, x, y: fx.losses.mse(m(x), y), m, [(bad, target)], state)
    np.testing.assert_array_equal(m[1].running_mean, saved[0])
    np.testing.assert_array_equal(m[1].running_var, saved[1])


def _check_layer_grads(layer, x):
    """Finite-difference checks of ``layer``: with respect to ``x``, ``gamma`` and ``beta`` to second order
    (reverse mode, the parameters swapped in by ``with_params``), and with respect to ``x`` in forward mode
    too (a closure over the layer: forward mode does not go through ``with_params``'s rule, which returns a
    layer)."""

    def f(x, gamma, beta):
        return np.sum(np.sin(with_params(layer, gamma, beta)(x)) ** 2)

    # forward mode cannot carry a tangent through with_params's rule, which returns a layer (limitations.md)
    check_grads(f, x, rng.standard_normal(2), rng.standard_normal(2), order=2, forward=False)
    check_grads(lambda x: np.sum(np.sin(layer(x)) ** 2), x, order=2, forward=True)


@pytest.mark.second_order
def test_instancenorm_tracked_gradients_in_training_mode():
    layer = fx.trainmode(fx.InstanceNorm(2, fx.tanh, affine=True, track_stats=True))
    layer.gamma[:] = [1.5, -0.7]
    layer.beta[:] = [0.2, 0.4]
    _check_layer_grads(layer, rng.standard_normal((2, 2, 3)))
    assert np.any(layer.running_mean != 0)  # the checks ran in training mode


@pytest.mark.second_order
def test_instancenorm_tracked_gradients_in_test_mode():
    layer = fx.testmode(fx.InstanceNorm(2, fx.tanh, affine=True, track_stats=True))
    layer.running_mean[:] = [0.3, -0.5]
    layer.running_var[:] = [2.0, 0.5]
    layer.gamma[:] = [1.5, -0.7]
    layer.beta[:] = [0.2, 0.4]
    x = rng.standard_normal((2, 2, 3))
    _check_layer_grads(layer, x)
    np.testing.assert_array_equal(layer.running_mean, np.float32([0.3, -0.5]))  # never updated in testmode
    # in inference the layer before its activation is affine in x: gamma / sqrt(running_var + eps) per channel
    linear = fx.testmode(fx.InstanceNorm(2, affine=True, track_stats=True))
    linear.running_mean[:], linear.running_var[:], linear.gamma[:] = (
        layer.running_mean,
        layer.running_var,
        [2, 3],
    )
    (gx,) = fx.gradient(lambda x: np.sum(linear(x)), x)
    expected = np.broadcast_to(per_channel(linear.gamma / np.sqrt(linear.running_var + EPS), 3), x.shape)
    np.testing.assert_allclose(gx, expected, rtol=1e-5)


def test_instancenorm_tracked_gradients_in_automatic_mode():
    # automatic mode trains where it is differentiated: check_grads evaluates it so (batch statistics)
    m = fx.f64(fx.Chain(fx.Conv((2,), 1, 2), fx.InstanceNorm(2, track_stats=True), fx.Dense(3, 1)))
    x = rng.standard_normal((2, 1, 4))
    check_grads(lambda x: np.sum(m(x) ** 2), x, order=2, forward=True)
    (dm,) = fx.gradient(lambda m: np.sum(m(x) ** 2), m)
    norm = dm.layers[1]  # nothing trainable: only eps, a float field, gets a gradient (its true one)
    assert norm is None or all(norm[k] is None for k in norm if k != "eps")


def test_instancenorm_track_stats_repr_as_flux_shows_non_defaults():
    assert repr(fx.InstanceNorm(2, track_stats=True)) == "InstanceNorm(2, track_stats=True)"
    assert repr(fx.InstanceNorm(2, fx.relu, affine=True, track_stats=True)) == (
        "InstanceNorm(2, relu, affine=True, track_stats=True)"
    )
    assert repr(fx.InstanceNorm(2, track_stats=False)) == "InstanceNorm(2)"
    shown = repr(fx.Chain(fx.Conv((3, 3), 1, 2), fx.InstanceNorm(2, affine=True, track_stats=True)))
    assert "InstanceNorm(2, affine=True, track_stats=True)" in shown
    assert "plus 2 non-trainable, 4 parameters" in shown  # the running statistics


def test_instancenorm_running_stats_round_trip_through_state_and_savemodel(tmp_path):
    make = lambda: fx.Chain(fx.Conv((3, 3), 1, 2), fx.InstanceNorm(2, affine=True, track_stats=True))  # noqa: E731
    m = make()
    x = rng.standard_normal((2, 1, 6, 6)).astype(np.float32)
    fx.gradient(lambda m: np.sum(m(x) ** 2), m)  # one training pass: the statistics move
    assert np.any(m[1].running_mean != 0) and np.any(m[1].running_var != 1)
    keys = set(fx.state(m))
    assert {"layers.1.running_mean", "layers.1.running_var", "layers.1.gamma", "layers.1.beta"} <= keys
    path = fx.savemodel(tmp_path / "model", m)
    loaded = fx.loadmodel(make(), path)
    np.testing.assert_array_equal(loaded[1].running_mean, m[1].running_mean)
    np.testing.assert_array_equal(loaded[1].running_var, m[1].running_var)
    np.testing.assert_array_equal(loaded(x), m(x))  # inference reads the loaded statistics
    other = fx.loadmodel(make(), fx.state(m))
    np.testing.assert_array_equal(other[1].running_var, m[1].running_var)
    untracked = fx.Chain(fx.Conv((3, 3), 1, 2), fx.InstanceNorm(2, affine=True))
    with pytest.raises(FluxpyError, match="running_mean"):
        fx.loadmodel(untracked, path)
    assert fx.f64(m)[1].running_mean.dtype == np.float64


def test_instancenorm_empty_batch_leaves_running_stats():
    m = fx.trainmode(fx.InstanceNorm(2, track_stats=True))
    assert m(np.zeros((0, 2, 3), np.float32)).shape == (0, 2, 3)
    np.testing.assert_array_equal(m.running_mean, np.zeros(2))
    np.testing.assert_array_equal(m.running_var, np.ones(2))


def test_instancenorm_track_stats_bad_input_names_layer_and_shape():
    m = fx.InstanceNorm(3, track_stats=True)
    with pytest.raises(FluxpyError, match=r"InstanceNorm\(3, track_stats=True\).*\(4, 3\)"):
        m(np.ones((4, 3)))
    with pytest.raises(FluxpyError, match=r"InstanceNorm\(3, track_stats=True\).*\(4, 2, 5\)"):
        fx.trainmode(m)(np.ones((4, 2, 5)))
    np.testing.assert_array_equal(m.running_mean, np.zeros(3))


# ---------------------------------------------------------------------------------------------------
# 2. outputsize with several inputs


class _NoArithmetic(fx.Bilinear):
    """A Bilinear that must not be run."""

    def __call__(self, *xs):
        raise AssertionError("outputsize ran the layer")


fx.functor(_NoArithmetic)


@pytest.mark.parametrize(
    "xshape, yshape", [((5, 3), (5, 2)), ((3,), (2,)), ((1, 3), (1, 2)), ((0, 3), (0, 2))]
)
def test_outputsize_bilinear_with_two_input_shapes_matches_the_call(xshape, yshape):
    b = fx.Bilinear(3, 2, 4)
    x, y = np.ones(xshape, np.float32), np.ones(yshape, np.float32)
    expected = np.shape(b(x, y))
    assert np.shape(b((x, y))) == expected
    assert fx.outputsize(b, xshape, yshape) == expected  # one shape per input, as Flux
    assert fx.outputsize(b, (xshape, yshape)) == expected  # or the tuple of shapes (the input is a tuple)
    assert fx.outputsize(b, [list(xshape), list(yshape)]) == expected


def test_outputsize_bilinear_is_computed_without_running_the_layer():
    b = _NoArithmetic(3, 2, 4)
    assert fx.outputsize(b, (7, 3), (7, 2)) == (7, 4)
    assert fx.outputsize(fx.Chain(b, fx.Dense(4, 1)), (7, 3), (7, 2)) == (7, 1)
    assert fx.outputsize(b, (3,), (2,), padbatch=True) == (1, 4)


def test_outputsize_bilinear_single_input_and_padbatch():
    b = fx.Bilinear(3, 5)  # Flux's Bilinear(in => out): both inputs of size 3
    x = np.ones((6, 3), np.float32)
    assert fx.outputsize(b, (6, 3)) == np.shape(b(x)) == (6, 5)
    assert fx.outputsize(b, (3,), padbatch=True) == (1, 5)
    b2 = fx.Bilinear(3, 2, 4)
    assert fx.outputsize(b2, (3,), (2,), padbatch=True) == np.shape(
        b2(np.ones((1, 3), np.float32), np.ones((1, 2), np.float32))
    )
    assert fx.outputsize(fx.Chain(b2, fx.Dense(4, 2), fx.softmax), (3,), (2,), padbatch=True) == (1, 2)


@pytest.mark.parametrize(
    "shapes",
    [((5, 7),), ((5, 3), (4, 2)), ((5, 3), (5, 3)), ((2, 5, 3), (2, 5, 2)), ((5, 3), (5, 2), (5, 2))],
)
def test_outputsize_bilinear_refuses_what_the_call_refuses(shapes):
    b = fx.Bilinear(3, 2, 4)
    with pytest.raises(FluxpyError, match=r"Bilinear\(3, 2, 4\)"):
        b(*(np.ones(s) for s in shapes)) if len(shapes) < 3 else b(tuple(np.ones(s) for s in shapes))
    with pytest.raises(FluxpyError, match=r"outputsize: Bilinear\(3, 2, 4\)"):
        fx.outputsize(b, *shapes)


def test_outputsize_parallel_with_several_inputs_as_flux():
    # Flux's docstring: outputsize(Parallel(vcat, Dense(5 => 9), Dense(7 => 11)), (5, 64), (7, 64)) == (20, 64)
    par = fx.Parallel(lambda a, b: np.concatenate([a, b], axis=-1), fx.Dense(5, 9), fx.Dense(7, 11))
    x, y = np.ones((64, 5), np.float32), np.ones((64, 7), np.float32)
    assert fx.outputsize(par, (64, 5), (64, 7)) == np.shape(par(x, y)) == (64, 20)
    m = fx.Chain(par, fx.Dense(20, 13), fx.softmax)
    assert fx.outputsize(m, (5,), (7,), padbatch=True) == np.shape(m((x[:1], y[:1]))) == (1, 13)
    shared = fx.Parallel(lambda a, b: a + b, fx.Dense(5, 3), fx.Dense(5, 3))
    assert fx.outputsize(shared, (4, 5)) == np.shape(shared(np.ones((4, 5), np.float32))) == (4, 3)
    with pytest.raises(FluxpyError, match="Parallel with 2 layers got 3 inputs"):
        fx.outputsize(par, (1, 5), (1, 7), (1, 7))
    with pytest.raises(FluxpyError, match=r"Dense\(7, 11\)"):
        fx.outputsize(par, (64, 5), (64, 5))


def test_outputsize_tuple_outputs_feed_the_next_layer_as_several_inputs():
    fusion = fx.PairwiseFusion(lambda y, x: y + x, fx.Dense(3, 3), fx.Dense(3, 2))
    x = (np.ones((4, 3), np.float32), np.ones((4, 3), np.float32))
    outs = fusion(x)
    assert fx.outputsize(fusion, (4, 3), (4, 3)) == tuple(np.shape(o) for o in outs) == ((4, 3), (4, 2))
    m = fx.Chain(fusion, fx.Bilinear(3, 2, 5))
    assert fx.outputsize(m, (4, 3), (4, 3)) == np.shape(m(x)) == (4, 5)


def test_outputsize_single_input_layers_refuse_several_shapes():
    for layer in (fx.Dense(3, 2), fx.relu, fx.BatchNorm(3), fx.Dropout(0.5), fx.Diagonal(3)):
        with pytest.raises(FluxpyError, match="takes one input"):
            fx.outputsize(layer, (2, 3), (2, 3))
    with pytest.raises(FluxpyError, match="input shape"):
        fx.outputsize(fx.Dense(3, 2), (3, (2,)))
    with pytest.raises(FluxpyError, match="input shape"):
        fx.outputsize(fx.Dense(3, 2), (2, -3))
    with pytest.raises(FluxpyError, match="needs the input's shape"):
        fx.outputsize(fx.Dense(3, 2))


def test_outputsize_leaves_running_statistics_alone():
    # normalisation layers are not run (as Flux bypasses them for its Nil arrays): a trainmode layer's
    # statistics used to be blended with the zeros outputsize ran it on
    bn = fx.trainmode(fx.BatchNorm(3))
    inorm = fx.trainmode(fx.InstanceNorm(3, track_stats=True))
    for layer in (bn, inorm):
        layer.running_mean[:] = 5.0
        layer.running_var[:] = 2.0
    m = fx.Chain(fx.Conv((3, 3), 1, 3), bn, inorm, fx.Dropout(0.5))
    x = np.zeros((2, 1, 6, 6), np.float32)
    assert fx.outputsize(m, (2, 1, 6, 6)) == (2, 3, 4, 4)
    for layer in (bn, inorm):
        np.testing.assert_array_equal(layer.running_mean, np.full(3, 5.0))
        np.testing.assert_array_equal(layer.running_var, np.full(3, 2.0))
    assert np.shape(m(x)) == (2, 3, 4, 4)
    with pytest.raises(FluxpyError, match=r"InstanceNorm\(3, track_stats=True\).*\(2, 3\)"):
        fx.outputsize(inorm, (2, 3))
    with pytest.raises(FluxpyError, match=r"BatchNorm\(3\).*\(2, 4, 5\)"):
        fx.outputsize(bn, (2, 4, 5))
    with pytest.raises(FluxpyError, match=r"LayerNorm\(4\)"):
        fx.outputsize(fx.LayerNorm(4), (2, 5))


def test_bilinear_called_with_a_tuple_of_three_is_a_clear_error():
    b = fx.Bilinear(2, 2, 1)
    with pytest.raises(FluxpyError, match=r"Bilinear\(2, 2, 1\) takes two inputs.*tuple of 3"):
        b((np.ones(2), np.ones(2), np.ones(2)))


# ---------------------------------------------------------------------------------------------------
# 3. outdims carries the spatial rank through a Chain


def _models():
    return {
        "conv3d-globalmean": (fx.Chain(fx.Conv((3, 3, 3), 2, 4), fx.GlobalMeanPool()), 2, (8, 8, 8)),
        "conv1d-globalmax": (fx.Chain(fx.Conv((3,), 2, 4), fx.GlobalMaxPool()), 2, (10,)),
        "conv3d-adaptive": (fx.Chain(fx.Conv((3, 3, 3), 2, 4), fx.AdaptiveMeanPool(2)), 2, (8, 8, 8)),
        "conv3d-adaptivemax": (fx.Chain(fx.Conv((3, 3, 3), 2, 4), fx.AdaptiveMaxPool(3)), 2, (7, 8, 9)),
        "conv3d-upsample": (fx.Chain(fx.Conv((3, 3, 3), 2, 4), fx.Upsample(2)), 2, (6, 5, 4)),
        "conv3d-maxpool-int": (fx.Chain(fx.Conv((3, 3, 3), 2, 4), fx.MaxPool(2)), 2, (8, 8, 8)),
        "conv2d-upsample": (fx.Chain(fx.Conv((3, 3), 2, 4), fx.Upsample(3), fx.GlobalMeanPool()), 2, (5, 6)),
        "conv1d-upsample-real": (
            fx.Chain(fx.Conv((2,), 1, 1), fx.Upsample(1.5, mode="linear"), fx.MeanPool(2)),
            1,
            (9,),
        ),
        "named": (
            fx.Chain(
                enc=fx.Chain(fx.Conv((3, 3, 3), 2, 4, fx.relu), fx.BatchNorm(4), fx.relu),
                dec=fx.Chain(fx.Upsample(2), fx.InstanceNorm(4, track_stats=True), fx.GlobalMaxPool()),
            ),
            2,
            (6, 6, 6),
        ),
        "conv3d-then-open-pools": (
            fx.Chain(
                fx.Conv((3, 3, 3), 1, 2, pad=1), fx.MeanPool(2), fx.compose(fx.relu, fx.AdaptiveMeanPool(2))
            ),
            1,
            (6, 8, 10),
        ),
    }


@pytest.mark.parametrize("name", list(_models()))
def test_outdims_through_a_chain_agrees_with_the_call_and_outputsize(name):
    m, channels, spatial = _models()[name]
    x = np.zeros((1, channels, *spatial), np.float32)
    called = np.shape(m(x))
    assert fx.outputsize(m, x.shape) == called
    assert fx.outdims(m, spatial) == called[2:]  # the spatial size, read as the first layer fixes it
    assert fx.outdims(m, x.shape) == called[2:]  # the full NCHW size
    assert fx.outdims(m, (3, channels, *spatial)) == called[2:]


def test_outdims_brief_case_3d_conv_then_global_mean_pool():
    m = fx.Chain(fx.Conv((3, 3, 3), 2, 4), fx.GlobalMeanPool())
    assert fx.outdims(m, (8, 8, 8)) == (1, 1, 1)
    assert fx.outputsize(m, (1, 2, 8, 8, 8)) == (1, 4, 1, 1, 1)


def test_outdims_refuses_a_chain_the_call_refuses():
    mixed = fx.Chain(fx.Conv((3, 3, 3), 2, 4), fx.Conv((3, 3), 4, 4))
    with pytest.raises(FluxpyError):
        mixed(np.zeros((1, 2, 8, 8, 8), np.float32))
    with pytest.raises(FluxpyError, match=r"outdims: Conv\(\(3, 3\), 4, 4\) works on 2 spatial axes.*3"):
        fx.outdims(mixed, (8, 8, 8))
    small = fx.Chain(fx.Conv((3, 3, 3), 2, 4), fx.AdaptiveMeanPool(7))
    with pytest.raises(FluxpyError, match="too small"):
        small(np.zeros((1, 2, 8, 8, 8), np.float32))
    with pytest.raises(FluxpyError, match=r"AdaptiveMeanPool\(7\).*too small"):
        fx.outdims(small, (8, 8, 8))
    with pytest.raises(FluxpyError, match="too small"):
        fx.outdims(fx.AdaptiveMeanPool((4, 4)), (3, 5))
    with pytest.raises(FluxpyError, match=r"AdaptiveMeanPool\(\(2, 2\)\): input size \(1, 1, 8, 8, 8\)"):
        fx.outdims(fx.AdaptiveMeanPool((2, 2)), (1, 1, 8, 8, 8))
    with pytest.raises(FluxpyError, match=r"Conv\(\(3, 3\), 1, 1\): input size \(9,\)"):
        fx.outdims(fx.Conv((3, 3), 1, 1), (9,))


def test_outdims_rank_rule_of_a_lone_open_layer_is_unchanged():
    # alone, an open-rank layer reads a 3-entry size as (N, C, L), as its call reads a 3-d input
    assert fx.outdims(fx.GlobalMeanPool(), (2, 3, 8)) == np.shape(fx.GlobalMeanPool()(np.ones((2, 3, 8))))[2:]
    assert fx.outdims(fx.Upsample(2), (2, 4)) == (4, 8)
    assert fx.outdims(fx.AdaptiveMeanPool(2), (1, 3, 8)) == (2,)
    assert fx.outdims(fx.Chain(fx.GlobalMeanPool()), (2, 3, 8)) == (1,)
    assert fx.outdims(fx.Chain(fx.Conv((3,), 1, 1), fx.relu), (5,)) == (3,)
    assert fx.outdims(fx.Chain(fx.Dense(4, 3), fx.Dense(3, 2)), (4,)) == (2,)
