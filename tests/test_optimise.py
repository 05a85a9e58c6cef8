"""Optimisers: every rule against a step worked out by hand, the explicit setup/update tree (Flux's Momentum
example, tied weights, freeze, adjust), implicit update, training, and dtype preservation."""

import numpy as np
import pytest

import fluxpy as fx
from fluxpy.optimise import (
    AdaDelta,
    AdaGrad,
    Adam,
    AdaMax,
    AdamW,
    AMSGrad,
    ClipGrad,
    ClipNorm,
    Descent,
    Leaf,
    Lion,
    Momentum,
    NAdam,
    Nesterov,
    OptimiserChain,
    RAdam,
    RMSProp,
    SignDecay,
    WeightDecay,
    adjust,
    freeze,
    setup,
    thaw,
    update,
)

X0 = np.array([1.0, -2.0])
G1 = np.array([0.5, -1.0])
G2 = np.array([-0.25, 2.0])


def two_steps(rule, x0=X0, g1=G1, g2=G2):
    """Apply ``rule`` twice through the explicit API; return x after step 1 and after step 2."""
    x = x0.copy()
    state = setup(rule, x)
    state, x = update(state, x, g1)
    after1 = x.copy()
    state, x = update(state, x, g2)
    return after1, x


# ---------------------------------------------------------------------------------------------------------
# defaults and reprs


def test_defaults_are_optimisers_jl():
    assert Descent().eta == 0.1
    assert (Momentum().eta, Momentum().rho) == (0.01, 0.9)
    assert (Nesterov().eta, Nesterov().rho) == (0.001, 0.9)
    r = RMSProp()
    assert (r.eta, r.rho, r.epsilon, r.centred) == (0.001, 0.9, 1e-8, False)
    assert (Adam().eta, Adam().beta, Adam().epsilon) == (0.001, (0.9, 0.999), 1e-8)
    w = AdamW()
    assert (w.eta, w.beta, w.lambda_, w.epsilon) == (0.001, (0.9, 0.999), 0.0, 1e-8)
    assert (RAdam().eta, RAdam().beta, RAdam().epsilon) == (0.001, (0.9, 0.999), 1e-8)
    assert (AdaGrad().eta, AdaGrad().epsilon) == (0.1, 1e-8)
    assert (AdaDelta().rho, AdaDelta().epsilon) == (0.9, 1e-8)
    assert (AdaMax().eta, AdaMax().beta, AdaMax().epsilon) == (0.001, (0.9, 0.999), 1e-8)
    assert (NAdam().eta, NAdam().beta) == (0.001, (0.9, 0.999))
    assert (Lion().eta, Lion().beta) == (
        0.001,
        (0.9, 0.999),
    )  # Optimisers.jl: Lion(η = 0.001, β = (0.9, 0.999))
    assert ClipGrad().delta == 10
    assert (ClipNorm().omega, ClipNorm().p) == (10, 2)
    assert WeightDecay().lambda_ == 5e-4
    assert SignDecay().lambda_ == 1e-3


def test_reprs():
    assert repr(Adam()) == "Adam(0.001, (0.9, 0.999), 1e-08)"
    assert repr(RMSProp(centred=True)) == "RMSProp(0.001, 0.9, 1e-08, centred=True)"
    assert (
        repr(OptimiserChain(WeightDecay(), Descent())) == "OptimiserChain(WeightDecay(0.0005), Descent(0.1))"
    )
    leaf = setup(Adam(), np.zeros(2))
    assert repr(leaf) == "Leaf(Adam(0.001, (0.9, 0.999), 1e-08), ([0.0, 0.0], [0.0, 0.0], (0.9, 0.999)))"
    big = setup(Momentum(), np.zeros((3, 4)))
    assert repr(big) == "Leaf(Momentum(0.01, 0.9), array(shape=(3, 4), dtype=float64))"


# ---------------------------------------------------------------------------------------------------------
# each rule against a hand-computed step (two steps for stateful rules)


def test_descent():
    a, b = two_steps(Descent(0.1))
    np.testing.assert_allclose(a, [0.95, -1.9])
    np.testing.assert_allclose(b, [0.975, -2.1])


def test_momentum():
    a, b = two_steps(Momentum(0.1, 0.9))
    # v1 = 0.1 g1 = [0.05, -0.1]; v2 = 0.9 v1 + 0.1 g2 = [0.02, 0.11]
    np.testing.assert_allclose(a, [0.95, -1.9])
    np.testing.assert_allclose(b, [0.93, -2.01])


def test_nesterov():
    a, b = two_steps(Nesterov(0.1, 0.9))
    # step1 = 1.9 * 0.1 * g1 = [0.095, -0.19]; v1 = -0.1 g1 = [-0.05, 0.1]
    # step2 = -0.81 v1 + 0.19 g2 = [0.0405 - 0.0475, -0.081 + 0.38] = [-0.007, 0.299]
    np.testing.assert_allclose(a, [0.905, -1.81])
    np.testing.assert_allclose(b, [0.912, -2.109])


def test_rmsprop():
    a, b = two_steps(RMSProp(0.01, 0.9, 0.0))
    # quad1 = 0.1 g1^2 -> step1 = 0.01 g1 / sqrt(0.1 g1^2) = 0.01 sign(g1) / sqrt(0.1)
    s1 = 0.01 / np.sqrt(0.1) * np.sign(G1)
    np.testing.assert_allclose(a, X0 - s1)
    quad2 = 0.9 * 0.1 * G1**2 + 0.1 * G2**2
    np.testing.assert_allclose(b, X0 - s1 - 0.01 * G2 / np.sqrt(quad2))


def test_rmsprop_centred():
    a, b = two_steps(RMSProp(0.01, 0.9, 0.0, centred=True))
    quad1, lin1 = 0.1 * G1**2, 0.1 * G1
    s1 = 0.01 * G1 / np.sqrt(quad1 - lin1**2)  # = 0.01 / sqrt(0.09) sign(g1)
    np.testing.assert_allclose(s1, 0.01 / 0.3 * np.sign(G1))
    quad2, lin2 = 0.9 * quad1 + 0.1 * G2**2, 0.9 * lin1 + 0.1 * G2
    np.testing.assert_allclose(a, X0 - s1)
    np.testing.assert_allclose(b, X0 - s1 - 0.01 * G2 / np.sqrt(quad2 - lin2**2))


def test_adam():
    a, b = two_steps(Adam(0.1, (0.9, 0.999), 0.0))
    # the first bias-corrected step is eta * sign(g)
    np.testing.assert_allclose(a, X0 - 0.1 * np.sign(G1))
    m2 = 0.9 * 0.1 * G1 + 0.1 * G2
    v2 = 0.999 * 0.001 * G1**2 + 0.001 * G2**2
    step2 = 0.1 * (m2 / (1 - 0.81)) / np.sqrt(v2 / (1 - 0.999**2))
    np.testing.assert_allclose(b, a - step2)


def test_adamw_couples_decay_with_eta():
    a, b = two_steps(AdamW(0.1, (0.9, 0.999), 0.5, 0.0))
    np.testing.assert_allclose(a, X0 - 0.1 * (np.sign(G1) + 0.5 * X0))
    m2 = 0.9 * 0.1 * G1 + 0.1 * G2
    v2 = 0.999 * 0.001 * G1**2 + 0.001 * G2**2
    adam2 = (m2 / 0.19) / np.sqrt(v2 / (1 - 0.999**2))
    np.testing.assert_allclose(b, a - 0.1 * (adam2 + 0.5 * a))
    c, _ = two_steps(AdamW(0.1, (0.9, 0.999), 0.5, 0.0, couple=False))
    np.testing.assert_allclose(c, X0 - (0.1 * np.sign(G1) + 0.5 * X0))


def test_radam_uses_plain_momentum_early():
    a, b = two_steps(RAdam(0.1))
    # rho_inf = 1999; rho_t = rho_inf - 2 t b2^t / (1 - b2^t) < 4 for the first steps: step = eta * m̂
    np.testing.assert_allclose(a, X0 - 0.1 * G1)
    m2 = 0.9 * 0.1 * G1 + 0.1 * G2
    np.testing.assert_allclose(b, a - 0.1 * m2 / 0.19)


def test_radam_rectified_later():
    rule, x, g = RAdam(0.1, (0.9, 0.999), 0.0), np.array([1.0]), np.array([2.0])
    state = setup(rule, x)
    for _ in range(6):
        state, x = update(state, x, g)
    # with a constant gradient m̂ = g and v̂ = g², so a step is eta * r_t (once rho_t > 4) or eta * g
    rho_inf, b2 = 1999.0, 0.999
    expected = 1.0
    for t in range(1, 7):
        rho = rho_inf - 2 * t * b2**t / (1 - b2**t)
        if rho > 4:
            r = np.sqrt((rho - 4) * (rho - 2) * rho_inf / ((rho_inf - 4) * (rho_inf - 2) * rho))
            expected -= 0.1 * r
        else:
            expected -= 0.1 * 2.0
    np.testing.assert_allclose(x, [expected])
    assert state.state[3] == 7


def test_adagrad():
    a, b = two_steps(AdaGrad(0.1, 0.0))
    np.testing.assert_allclose(a, X0 - 0.1 * np.sign(G1))
    np.testing.assert_allclose(b, a - 0.1 * G2 / np.sqrt(G1**2 + G2**2))


def test_adadelta():
    a, b = two_steps(AdaDelta(0.9, 1e-8))
    eps = 1e-8
    acc1 = 0.1 * G1**2
    s1 = G1 * np.sqrt(eps) / np.sqrt(acc1 + eps)
    dacc1 = 0.1 * s1**2
    np.testing.assert_allclose(a, X0 - s1)
    acc2 = 0.9 * acc1 + 0.1 * G2**2
    s2 = G2 * np.sqrt(dacc1 + eps) / np.sqrt(acc2 + eps)
    np.testing.assert_allclose(b, a - s2)


def test_adamax():
    a, b = two_steps(AdaMax(0.1, (0.9, 0.999), 0.0))
    # m1 = 0.1 g1, u1 = |g1|: step = 0.1 / 0.1 * 0.1 g1 / |g1|
    np.testing.assert_allclose(a, X0 - 0.1 * np.sign(G1))
    m2, u2 = 0.09 * G1 + 0.1 * G2, np.maximum(0.999 * np.abs(G1), np.abs(G2))
    np.testing.assert_allclose(b, a - 0.1 / 0.19 * m2 / u2)


def test_nadam():
    a, b = two_steps(NAdam(0.1, (0.9, 0.999), 0.0))
    b1, b2 = 0.9, 0.999
    m1, v1 = 0.1 * G1, 0.001 * G1**2
    s1 = (b1 * m1 / (1 - b1 * b1) + (1 - b1) * G1 / (1 - b1)) / np.sqrt(v1 * b2 / (1 - b2)) * 0.1
    np.testing.assert_allclose(a, X0 - s1)
    m2, v2 = b1 * m1 + 0.1 * G2, b2 * v1 + 0.001 * G2**2
    s2 = (b1 * m2 / (1 - b1 * b1**2) + (1 - b1) * G2 / (1 - b1**2)) / np.sqrt(v2 * b2 / (1 - b2**2)) * 0.1
    np.testing.assert_allclose(b, a - s2)


def test_amsgrad():
    a, _ = two_steps(AMSGrad(0.1, (0.9, 0.999), 1e-8))
    m1 = 0.9 * 1e-8 + 0.1 * G1
    v1 = 0.999 * 1e-8 + 0.001 * G1**2
    np.testing.assert_allclose(a, X0 - 0.1 * m1 / (np.sqrt(v1) + 1e-8))


def test_lion():
    g2 = np.array([-0.25, 0.05])
    a, b = two_steps(Lion(0.1, (0.9, 0.99)), g2=g2)
    # step = eta sign(b1 m + (1 - b1) g), then m = b2 m + (1 - b2) g (the paper's Algorithm 1)
    np.testing.assert_allclose(a, X0 - 0.1 * np.sign(G1))
    m1 = 0.01 * G1
    c2 = 0.9 * m1 + 0.1 * g2  # [-0.0205, -0.004]
    np.testing.assert_allclose(c2, [-0.0205, -0.004])
    np.testing.assert_allclose(b, a + 0.1)


def test_clipgrad_clipnorm_weightdecay_signdecay():
    x = np.array([2.0, -3.0])
    _, s = ClipGrad(1.0).apply(None, x, np.array([5.0, -0.5]))
    np.testing.assert_allclose(s, [1.0, -0.5])
    _, s = ClipNorm(1.0).apply(None, x, np.array([3.0, 4.0]))
    np.testing.assert_allclose(s, [0.6, 0.8])
    _, s = ClipNorm(10.0).apply(None, x, np.array([3.0, 4.0]))
    np.testing.assert_allclose(s, [3.0, 4.0])
    _, s = ClipNorm(1.0, 1).apply(None, x, np.array([3.0, -1.0]))
    np.testing.assert_allclose(s, [0.75, -0.25])
    with pytest.raises(fx.FluxpyError, match="not finite"):
        ClipNorm().apply(None, x, np.array([np.inf, 0.0]))
    _, s = WeightDecay(0.1).apply(None, x, np.array([1.0, 1.0]))
    np.testing.assert_allclose(s, [1.2, 0.7])
    _, s = SignDecay(0.1).apply(None, x, np.array([1.0, 1.0]))
    np.testing.assert_allclose(s, [1.1, 0.9])


def test_optimiser_chain():
    a, b = two_steps(OptimiserChain(ClipGrad(0.6), WeightDecay(0.1), Momentum(0.1, 0.9)))
    g1 = np.clip(G1, -0.6, 0.6) + 0.1 * X0  # [0.6, -1.2]... clipped first: [0.5, -0.6] + [0.1, -0.2]
    np.testing.assert_allclose(g1, [0.6, -0.8])
    v1 = 0.1 * g1
    np.testing.assert_allclose(a, X0 - v1)
    g2 = np.clip(G2, -0.6, 0.6) + 0.1 * a
    np.testing.assert_allclose(b, a - (0.9 * v1 + 0.1 * g2))


# ---------------------------------------------------------------------------------------------------------
# explicit API on models


def abs_loss(m, x, y):
    return np.sum(np.abs(m(x) - y)) * 100


def test_flux_momentum_example_on_dense():
    # Flux.setup's docstring: Dense(2 => 1, leakyrelu; init=ones), Momentum(0.1), the same data twice
    model = fx.Dense(2, 1, fx.leakyrelu, init=fx.ones32)
    state = setup(Momentum(0.1), model)
    assert isinstance(state.weight, Leaf) and isinstance(state.bias, Leaf) and state.activation is None
    x1, y1 = np.array([0.2, -0.3], dtype=np.float32), np.array([0.4], dtype=np.float32)
    for _ in range(2):
        grad = fx.gradient(lambda m: abs_loss(m, x1, y1), model)[0]
        state, model = update(state, model, grad)
    np.testing.assert_allclose(model.bias, [10.19], rtol=1e-5)
    np.testing.assert_allclose(model.weight, [[3.038, -2.057]], rtol=1e-5)
    np.testing.assert_allclose(state.weight.state, [[-2.018, 3.027]], rtol=1e-5)
    np.testing.assert_allclose(state.bias.state, [-10.09], rtol=1e-5)
    assert model.weight.dtype == np.float32 and state.weight.state.dtype == np.float32


def test_flux_momentum_example_with_default_momentum():
    model = fx.Dense(2, 1, fx.leakyrelu, init=fx.ones32)
    state = setup(Momentum(), model)
    x, y = np.array([0.2, -0.3], dtype=np.float32), np.array([0.4], dtype=np.float32)
    grad = fx.gradient(lambda m: abs_loss(m, x, y), model)[0]
    state, model = update(state, model, grad)
    # grad: bias -1, weight -x; Momentum(0.01, 0.9): v = 0.01 g
    np.testing.assert_allclose(model.bias, [0.01], rtol=1e-5)
    np.testing.assert_allclose(model.weight, [[1.002, 0.997]], rtol=1e-5)


def mse_loss(m, x, y):
    return np.mean((m(x) - y) ** 2)


def regression_data():
    rng = np.random.default_rng(0)
    x = rng.standard_normal((32, 3)).astype(np.float32)
    y = (x @ np.array([[1.0], [-2.0], [0.5]], dtype=np.float32) + 0.3).astype(np.float32)
    return x, y


@pytest.mark.parametrize(
    "rule", [Descent(0.1), Momentum(0.05), Adam(0.05), RMSProp(0.05), NAdam(0.05)], ids=repr
)
def test_explicit_training_lowers_the_loss(rule):
    x, y = regression_data()
    model = fx.Chain(fx.Dense(3, 1))
    state = setup(rule, model)
    before = mse_loss(model, x, y)
    for _ in range(30):
        grad = fx.gradient(lambda m: mse_loss(m, x, y), model)[0]
        state, model = update(state, model, grad)
    after = mse_loss(model, x, y)
    assert after < 0.5 * before
    assert model[0].weight.dtype == np.float32


def test_implicit_training_lowers_the_loss():
    x, y = regression_data()
    model = fx.Dense(3, 1)
    ps = fx.params(model)
    opt = Adam(0.05)
    before = mse_loss(model, x, y)
    for _ in range(30):
        gs = fx.gradient(lambda: mse_loss(model, x, y), ps)
        assert update(opt, ps, gs) is None
    assert mse_loss(model, x, y) < 0.5 * before
    assert model.weight.dtype == np.float32


def test_implicit_state_is_kept_between_calls():
    W = np.ones(2)
    ps = fx.params(W)
    opt = Momentum(0.1, 0.9)
    for _ in range(2):
        gs = fx.gradient(lambda: np.sum(W * 1.0), ps)
        update(opt, ps, gs)
    np.testing.assert_allclose(W, 1 - 0.1 - 0.19)


def test_implicit_update_rejects_a_model():
    with pytest.raises(fx.FluxpyError, match="setup"):
        update(Descent(), fx.Dense(1, 1), None)


def tied_loss(m, x):
    return np.sum(m[1](m[0](x)))


def test_tied_weights_share_state_and_sum_gradients():
    W = np.array([[1.0, 2.0], [3.0, 4.0]])
    tree = {"a": W, "b": [W, np.zeros(1)]}
    state = setup(Momentum(0.1, 0.9), tree)
    assert state["a"] is state["b"][0]
    grad = {"a": np.ones((2, 2)), "b": [2 * np.ones((2, 2)), None]}
    state, tree = update(state, tree, grad)
    # one update with the summed gradient 3, not two
    np.testing.assert_allclose(W, [[0.7, 1.7], [2.7, 3.7]])
    np.testing.assert_allclose(state["a"].state, 0.3)


def test_tied_dense_weight_through_gradient():
    d = fx.Dense(2, 2, init=fx.ones32)
    model = fx.Chain(d, d)
    state = setup(Descent(0.1), model)
    assert state.layers[0] is state.layers[1]
    x = np.array([1.0, 2.0], dtype=np.float32)
    grad = fx.gradient(lambda m: np.sum(m(x)), model)[0]
    g0, g1 = grad.layers[0].weight, grad.layers[1].weight
    before = d.weight.copy()
    update(state, model, grad)
    np.testing.assert_allclose(d.weight, before - 0.1 * (g0 + g1), rtol=1e-6)


def test_none_gradient_leaves_array_and_state_alone():
    model = fx.Dense(2, 1)
    w0, b0 = model.weight.copy(), model.bias.copy()
    state = setup(Momentum(), model)
    grad = fx.Tangent(fx.Dense, {"weight": np.ones((1, 2), np.float32), "bias": None, "activation": None})
    update(state, model, grad)
    np.testing.assert_array_equal(model.bias, b0)
    np.testing.assert_array_equal(state.bias.state, [0.0])
    assert not np.array_equal(model.weight, w0)
    update(state, model, None)  # no gradient at all: nothing changes
    state2, model2 = update(state, model, None)
    assert model2 is model and state2 is state


def test_no_bias_and_functions_get_none():
    model = fx.Chain(fx.Dense(2, 3, fx.relu, bias=False), lambda x: x * 2)
    state = setup(Adam(), model)
    assert state.layers[0].bias is None and state.layers[0].activation is None
    assert state.layers[1] is None
    assert "Tree[Chain]" in repr(state)


def test_freeze_and_thaw():
    model = fx.Chain(fx.Dense(2, 2), fx.Dense(2, 1))
    state = setup(Descent(0.1), model)
    freeze(state.layers[0])
    w0, w1 = model[0].weight.copy(), model[1].weight.copy()
    x = np.ones(2, dtype=np.float32)
    grad = fx.gradient(lambda m: np.sum(m(x) ** 2) + 1.0, model)[0]
    update(state, model, grad)
    np.testing.assert_array_equal(model[0].weight, w0)
    assert not np.array_equal(model[1].weight, w1)
    assert "frozen=True" in repr(state.layers[0].weight)
    thaw(state)
    update(state, model, grad)
    assert not np.array_equal(model[0].weight, w0)


def test_adjust_changes_eta_and_keeps_state():
    x = np.array([1.0])
    state = setup(Momentum(0.1, 0.9), x)
    update(state, x, np.array([1.0]))
    np.testing.assert_allclose(x, [0.9])
    assert adjust(state, 0.01) is state
    assert state.rule == Momentum(0.01, 0.9)
    update(state, x, np.array([1.0]))
    np.testing.assert_allclose(x, [0.9 - (0.09 + 0.01)])
    adjust(state, rho=0.5)
    assert state.rule == Momentum(0.01, 0.5)
    adjust(state, eta=0.2)
    assert state.rule.eta == 0.2


def test_adjust_a_model_and_a_chain():
    model = fx.Chain(fx.Dense(2, 2), fx.Dense(2, 1))
    state = setup(OptimiserChain(WeightDecay(), Adam()), model)
    adjust(state, 0.5)
    assert state.layers[1].bias.rule == OptimiserChain(WeightDecay(), Adam(0.5))
    adjust(state.layers[0], **{"lambda": 0.1})
    assert state.layers[0].weight.rule.opts[0] == WeightDecay(0.1)
    assert state.layers[1].weight.rule.opts[0] == WeightDecay()
    assert adjust(Adam(), 0.3) == Adam(0.3)


@pytest.mark.parametrize(
    "rule",
    [
        Descent(),
        Momentum(),
        Nesterov(),
        RMSProp(),
        RMSProp(centred=True),
        Adam(),
        AdamW(lambda_=0.1),
        RAdam(),
        AdaGrad(),
        AdaDelta(),
        AdaMax(),
        AMSGrad(),
        NAdam(),
        Lion(),
        ClipGrad(),
        ClipNorm(),
        WeightDecay(),
        SignDecay(),
        OptimiserChain(ClipNorm(), Adam()),
    ],
)
def test_float32_is_preserved(rule):
    x = np.array([1.0, -2.0, 3.0], dtype=np.float32)
    state = setup(rule, x)
    for g in (np.array([0.5, -1.0, 2.0]), np.array([0.1, 0.2, -0.3], dtype=np.float32)):  # float64 grad too
        state, x = update(state, x, g)
        _, step = rule.apply(state.state, x, g.astype(np.float32))
        assert x.dtype == np.float32 and step.dtype == np.float32
    assert all(a.dtype == np.float32 for a in state_arrays(state.state))


def state_arrays(s):
    if isinstance(s, np.ndarray):
        return [s]
    if isinstance(s, tuple):
        return [a for e in s for a in state_arrays(e)]
    return []


def test_update_checks_its_arguments():
    with pytest.raises(fx.FluxpyError, match="rule"):
        setup(np.zeros(1), np.zeros(1))
    with pytest.raises(fx.FluxpyError, match="shape"):
        state = setup(Descent(), np.zeros(2))
        update(state, np.zeros(2), np.zeros(3))


def test_module_level_exports():
    assert fx.optimise.setup is setup and fx.optimise.update is update
    assert fx.update is update or callable(fx.update)


def test_namedtuple_model():
    from collections import namedtuple

    P = namedtuple("P", "w b")
    model = P(np.ones(2), np.zeros(2))
    state = setup(Descent(0.5), model)
    assert isinstance(state, P) and isinstance(state.w, Leaf)
    grad = fx.gradient(lambda m: np.sum(m.w * 2 + m.b), model)[0]
    update(state, model, grad)
    np.testing.assert_allclose(model.w, [0.0, 0.0])
    np.testing.assert_allclose(model.b, [-0.5, -0.5])


def test_update_refuses_a_gradient_that_does_not_match_the_model():
    # it found no entry for any parameter and left them all alone, silently
    m = fx.Chain(fx.Dense(3, 2), fx.Dense(2, 1))
    x = np.ones((4, 3), np.float32)
    st = fx.setup(fx.optimise.Descent(0.1), m)
    whole = fx.gradient(lambda m, x: np.sum(m(x)), m, x)
    with pytest.raises(fx.FluxpyError, match=r"model is a Chain, the gradient a tuple of 2 entries.*\[0\]"):
        fx.update(st, m, whole)
    dense = fx.gradient(lambda d: np.sum(d(x)), fx.Dense(3, 2))[0]
    with pytest.raises(fx.FluxpyError, match="a Tangent of a Dense"):
        fx.update(st, m, dense)
    with pytest.raises(fx.FluxpyError, match="a list of 1 entry, the gradient a dict"):
        fx.update(fx.setup(fx.optimise.Descent(0.1), [np.ones(2)]), [np.ones(2)], {"a": np.ones(2)})
    w0 = m[0].weight.copy()
    fx.update(st, m, whole[0])
    assert not np.array_equal(w0, m[0].weight)
