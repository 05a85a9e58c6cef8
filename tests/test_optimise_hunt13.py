"""Optimiser fixes from the 13th bug hunt: weights tied through a view take one step, float16 keeps a
nonzero epsilon, integer parameters refuse fractional steps, and setup refuses a model whose arrays it
cannot see (a class that is not a functor)."""

import numpy as np
import pytest

import fluxpy as fx
from fluxpy.optimise import AdaGrad, Adam, Descent, Momentum, NAdam, RMSProp, freeze, setup, update
from fluxpy.optimise.ties import tie_owners, to_owner


def _adam_first_step(g, eta):
    return eta * g / (np.abs(g) + 1e-8)  # Adam's first step: m̂ = g, v̂ = g²


def _tied_model():
    enc = fx.f64(fx.Dense(5, 2, rng=np.random.default_rng(0)))
    dec = fx.Dense(enc.weight.T, True)
    return fx.Chain(enc, fx.tanh, dec), enc, dec


def _loss(m, x):
    return np.sum((m(x) - x) ** 2)


def test_tied_transpose_takes_one_step_of_the_summed_gradient():
    model, enc, dec = _tied_model()
    x = np.random.default_rng(1).standard_normal((4, 5))
    w0 = enc.weight.copy()
    state = setup(Adam(0.1), model)
    assert isinstance(state.layers[2].weight, fx.optimise.Tied)
    g = fx.gradient(_loss, model, x)[0]
    total = g.layers[0].weight + g.layers[2].weight.T
    update(state, model, g)
    np.testing.assert_allclose(enc.weight, w0 - _adam_first_step(total, 0.1), atol=1e-7)
    assert np.shares_memory(enc.weight, dec.weight)
    np.testing.assert_array_equal(dec.weight, enc.weight.T)


def test_tied_transpose_in_implicit_mode():
    model, enc, _ = _tied_model()
    x = np.random.default_rng(2).standard_normal((4, 5))
    w0 = enc.weight.copy()
    ps = fx.params(model)
    gs = fx.gradient(lambda: _loss(model, x), ps)
    total = gs[model[0].weight] + gs[model[2].weight].T
    opt = Adam(0.1)
    update(opt, ps, gs)
    np.testing.assert_allclose(enc.weight, w0 - _adam_first_step(total, 0.1), atol=1e-7)


def test_tied_descent_matches_training_the_shared_array_once():
    """Descent is linear in the gradient: the tied step equals one step of the summed gradient."""
    model, enc, _ = _tied_model()
    x = np.random.default_rng(3).standard_normal((4, 5))
    w0, b0 = enc.weight.copy(), enc.bias.copy()
    g = fx.gradient(_loss, model, x)[0]
    update(setup(Descent(0.01), model), model, g)
    np.testing.assert_allclose(enc.weight, w0 - 0.01 * (g.layers[0].weight + g.layers[2].weight.T))
    np.testing.assert_allclose(enc.bias, b0 - 0.01 * g.layers[0].bias)


def test_freezing_the_owner_freezes_its_tied_view():
    model, enc, _ = _tied_model()
    state = setup(Momentum(0.1), model)
    freeze(state.layers[0])
    w0 = enc.weight.copy()
    update(state, model, fx.gradient(_loss, model, np.ones((2, 5)))[0])
    np.testing.assert_array_equal(enc.weight, w0)


def test_ties_of_slices_and_reshapes():
    w = np.arange(12.0).reshape(3, 4)
    row, flat = w[1], w.reshape(-1)
    owners = tie_owners([w, row, flat])
    assert owners[id(row)] is w and owners[id(flat)] is w and id(w) not in owners
    np.testing.assert_array_equal(to_owner(row, w, np.ones(4)), np.eye(3)[1][:, None] * np.ones(4))
    g = to_owner(w[::-1, ::2], w, np.arange(6.0).reshape(3, 2))
    want = np.zeros((3, 4))
    want[::-1, ::2] = np.arange(6.0).reshape(3, 2)
    np.testing.assert_array_equal(g, want)
    assert tie_owners([np.ones(3), np.ones(3)]) == {}  # equal values, different memory: not tied


def test_a_broadcast_view_is_refused():
    w = np.ones(3)
    b = np.broadcast_to(w, (2, 3))
    with pytest.raises(fx.FluxpyError, match="broadcast view"):
        to_owner(b, w, np.ones((2, 3)))


@pytest.mark.parametrize("rule", [Adam(), RMSProp(), AdaGrad(), NAdam(), fx.optimise.AMSGrad()])
def test_float16_keeps_a_nonzero_epsilon(rule):
    w = {"w": np.array([1.0, 2.0], np.float16)}
    state = setup(rule, w)
    update(state, w, {"w": np.array([0.0, 0.5], np.float16)})
    assert w["w"].dtype == np.float16
    assert w["w"][0] == 1.0  # a zero gradient moves nothing (it gave 0 / 0 = nan)
    assert np.isfinite(w["w"]).all() and w["w"][1] < 2.0


def test_integer_parameter_refuses_a_fractional_step():
    s = np.array([2, 3])
    ps = fx.params(s)
    gs = fx.gradient(lambda: np.sum(s * np.array([0.5, 7.0])), ps)
    with pytest.raises(fx.FluxpyError, match="integer dtype int64"):
        update(Descent(0.1), ps, gs)
    np.testing.assert_array_equal(s, [2, 3])
    update(Descent(2.0), ps, fx.gradient(lambda: np.sum(s * np.array([1.0, 2.0])), ps))  # whole steps
    np.testing.assert_array_equal(s, [0, -1])


class Plain:  # no @fx.functor
    def __init__(self):
        self.d1 = fx.Dense(3, 4, fx.relu)
        self.d2 = fx.Dense(4, 1)

    def __call__(self, x):
        return self.d2(self.d1(x))


def test_setup_refuses_a_model_it_cannot_see_inside():
    with pytest.raises(
        fx.FluxpyError, match=r"Plain holds a trainable array \(Plain\.d1\.weight\).*@fx\.functor"
    ):
        setup(Adam(), Plain())
    with pytest.raises(fx.FluxpyError, match="not a functor"):
        setup(Adam(), fx.Chain(fx.Dense(1, 3), Plain()))  # a part of the model too


def test_setup_of_a_plain_object_without_arrays_and_of_a_functor():
    class Holder:
        def __init__(self):
            self.name, self.count, self.table = "x", 3, np.arange(3)  # no float array

    assert setup(Adam(), Holder()) is None

    @fx.functor
    class Seen(Plain):
        pass

    state = setup(Adam(), Seen())
    assert isinstance(state.d1.weight, fx.optimise.Leaf)

    class Frozen(Plain):
        pass

    fx.functor(Frozen, trainable=())  # the message's way to keep its arrays out of training
    assert setup(Adam(), Frozen()).d1 is None


def test_precision_conversions_keep_ties():
    """f32/f64 map a tied view's owner once and remake the view on its copy (Functors.jl maps a
    transpose's parent once); the tie broke, and the two copies then trained apart."""
    enc = fx.Dense(5, 2)
    model = fx.Chain(enc, fx.tanh, fx.Dense(enc.weight.T, True))
    m64 = fx.f64(model)
    assert m64[0].weight.dtype == m64[2].weight.dtype == np.float64
    assert np.shares_memory(m64[0].weight, m64[2].weight)
    np.testing.assert_array_equal(m64[2].weight, m64[0].weight.T)
    w = np.arange(12.0, dtype=np.float32).reshape(3, 4)
    views = {"w": w, "row": w[1], "flip": w[::-1, ::2], "flat": w.reshape(-1)}
    converted = fx.f64(views)
    for key, value in views.items():
        assert converted[key].dtype == np.float64
        np.testing.assert_array_equal(converted[key], value)
    converted["w"][1, 0] = 100.0
    assert converted["row"][0] == converted["flat"][4] == 100.0
    assert w[1, 0] == 4.0  # the original is untouched
    back = fx.f32(m64)
    assert back[2].weight.dtype == np.float32 and np.shares_memory(back[0].weight, back[2].weight)
