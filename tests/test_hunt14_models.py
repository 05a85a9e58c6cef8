"""Model-library fixes from the 14th bug hunt: optimisers and saving see the arrays a closure captures (the
seeds' ``lambda x: W @ x + b`` layers), ClipNorm's norm does not overflow in float16, AMSGrad trains a 0-d
parameter, focal_loss takes bool targets, a refused load leaves the model alone, DataLoader takes a list of
observations, and Optimisers.jl's Rprop, OAdam, AdaBelief and AccumGrad."""

import functools
from collections import namedtuple

import numpy as np
import pytest

import fluxpy as fx
from fluxpy.losses import focal_loss
from fluxpy.optimise import (
    AccumGrad,
    AdaBelief,
    Adam,
    AMSGrad,
    ClipNorm,
    Descent,
    Momentum,
    OAdam,
    OptimiserChain,
    Rprop,
    WeightDecay,
    freeze,
    setup,
    update,
)
from fluxpy.testing import check_grads

rng = np.random.default_rng(1414)


def linear(n_in, n_out, seed=0):
    """The seeds' "Building Layers" layer: a closure over its weight and bias."""
    r = np.random.default_rng(seed)
    W, b = r.standard_normal((n_out, n_in)), r.standard_normal(n_out)
    return lambda x: W @ x + b


def closure_model(seed=0):
    return fx.Chain(linear(5, 3, seed), fx.σ, linear(3, 2, seed + 1))


def sq_loss(m, x, y):
    return np.sum((m(x) - y) ** 2)


def captured(f, name):
    return f.__closure__[f.__code__.co_freevars.index(name)].cell_contents


# ---------------------------------------------------------------------------------------------------------
# 1. optimisers see the arrays a closure captures


def test_setup_mirrors_the_gradient_of_a_closure():
    model = closure_model()
    state = setup(Descent(0.1), model)
    g = fx.gradient(sq_loss, model, np.ones(5), np.zeros(2))[0]
    first = state.layers[0]
    assert isinstance(first, fx.optimise.Tree) and set(first.keys()) == set(g.layers[0].keys()) == {"W", "b"}
    assert state.layers[1] is None  # fx.σ, a function capturing nothing
    assert "Tree[function](W=Leaf(Descent(0.1), None)" in repr(state)


def test_update_steps_the_captured_arrays_in_place():
    model = closure_model()
    W, b = captured(model[0], "W"), captured(model[0], "b")
    W0, b0 = W.copy(), b.copy()
    x, y = np.linspace(-1, 1, 5), np.array([0.5, -0.5])
    g = fx.gradient(sq_loss, model, x, y)[0]
    update(setup(Descent(0.1), model), model, g)
    assert captured(model[0], "W") is W  # in place
    np.testing.assert_allclose(W, W0 - 0.1 * g.layers[0].W)
    np.testing.assert_allclose(b, b0 - 0.1 * g.layers[0].b)


def test_explicit_training_of_a_closure_model_lowers_the_loss():
    model = closure_model()
    data = [(np.ones(5), np.zeros(2))] * 5
    losses = fx.train(sq_loss, model, data, setup(Descent(0.1), model))
    assert losses[-1] < losses[0] / 2
    assert len(set(losses)) == len(losses)  # every step changed the model


def test_explicit_and_implicit_training_of_a_closure_model_agree():
    a, b = closure_model(3), closure_model(3)
    data = [(rng.standard_normal(5), rng.standard_normal(2)) for _ in range(4)]
    fx.train(sq_loss, a, data, setup(Momentum(0.05), a))
    fx.train(lambda x, y: sq_loss(b, x, y), fx.params(b), data, Momentum(0.05))
    for p, q in zip(fx.params(a), fx.params(b), strict=True):
        np.testing.assert_allclose(p, q, rtol=1e-12)


def test_a_closure_over_a_layer_and_nested_closures():
    head = fx.f64(fx.Dense(3, 1))

    def outer():
        A = np.ones((3, 2))

        def inner(x):
            return A @ x

        return lambda x: head(inner(x))

    model = outer()
    state = setup(Descent(0.5), model)
    assert isinstance(state.inner, fx.optimise.Tree) and isinstance(state.head, fx.optimise.Tree)
    A = captured(captured(model, "inner"), "A")
    w0, A0 = head.weight.copy(), A.copy()
    (g,) = fx.gradient(lambda m: np.sum(m(np.array([1.0, 2.0]))), model)
    update(state, model, g)
    np.testing.assert_allclose(head.weight, w0 - 0.5 * g.head.weight)
    np.testing.assert_allclose(A, A0 - 0.5 * g.inner.A)


def test_a_skip_connection_whose_connection_captures_an_array():
    s = np.array([2.0, 3.0])
    m = fx.SkipConnection(fx.f64(fx.Dense(2, 2)), lambda y, x: y + s * x)
    state = setup(Descent(0.1), m)
    (g,) = fx.gradient(lambda m: np.sum(m(np.array([1.0, -1.0]))), m)
    update(state, m, g)
    np.testing.assert_allclose(s, [2.0 - 0.1 * 1.0, 3.0 + 0.1 * 1.0])


@fx.functor
class Affine:
    def __init__(self):
        self.W = np.ones((2, 3))

    def forward(self, x):
        return self.W @ x


def affine(W, x, b=None):
    return W @ x + b


def test_bound_methods_and_partials_train_as_their_gradients_say():
    obj = Affine()
    p = functools.partial(affine, np.ones((2, 3)), b=np.zeros(2))
    # a method's gradient is its object's; a partial's, its arguments; a closure's, what it captures
    model = fx.Chain(obj.forward, lambda h: p(np.concatenate([h, [1.0]])))
    state = setup(Descent(0.1), model)
    x = np.array([1.0, 2.0, 3.0])
    (g,) = fx.gradient(lambda m: np.sum(m(x)), model)
    assert g.layers[0].primal_type is Affine
    W0, P0 = obj.W.copy(), p.args[0].copy()
    update(state, model, g)
    np.testing.assert_allclose(obj.W, W0 - 0.1 * g.layers[0].W)
    np.testing.assert_allclose(p.args[0], P0 - 0.1 * g.layers[1].p.args[0])
    np.testing.assert_allclose(p.keywords["b"], -0.1 * g.layers[1].p.keywords["b"])
    assert len(fx.params(model)) == 3


class Hidden:  # not a functor: optimisers cannot see inside it
    def __init__(self):
        self.W = np.ones(2)


def test_a_closure_over_a_plain_object_is_refused_loudly():
    h = Hidden()
    model = fx.Chain(lambda x: h.W * x)
    with pytest.raises(fx.FluxpyError, match=r"Hidden holds a trainable array \(Hidden.W\).*fx.functor"):
        setup(Descent(), model)
    holder = Hidden()
    holder.f = linear(2, 2)  # a plain object holding a closure that captures arrays
    holder.W = "no array here"
    with pytest.raises(fx.FluxpyError, match=r"Hidden.f.W"):
        setup(Descent(), [holder])


def test_closures_without_trainable_arrays_and_recursive_ones_get_none():
    k = 3.0
    ints = np.arange(3)

    def countdown(n):
        return n if n <= 0 else countdown(n - 1)

    state = setup(Adam(), fx.Chain(lambda x: k * x, lambda x: x + ints, countdown, fx.relu))
    assert all(s is None for s in state.layers)


def test_freeze_a_closure_layer():
    model = closure_model()
    state = setup(Descent(0.1), model)
    freeze(state.layers[0])
    W = captured(model[0], "W").copy()
    W2 = captured(model[2], "W").copy()
    g = fx.gradient(sq_loss, model, np.ones(5), np.zeros(2))[0]
    update(state, model, g)
    np.testing.assert_array_equal(captured(model[0], "W"), W)
    assert not np.array_equal(captured(model[2], "W"), W2)


# ---------------------------------------------------------------------------------------------------------
# 2. state / savemodel / loadmodel save what a closure captures


def test_state_lists_captured_arrays_by_variable_name():
    model = closure_model()
    assert sorted(fx.state(model)) == ["layers.0.W", "layers.0.b", "layers.2.W", "layers.2.b"]
    assert len(fx.state(model)) == len(fx.params(model))


def test_savemodel_and_loadmodel_round_trip_a_closure_model(tmp_path):
    model, fresh = closure_model(0), closure_model(7)
    x = np.linspace(0, 1, 5)
    assert not np.allclose(model(x), fresh(x))
    path = fx.savemodel(tmp_path / "closures", model)
    assert sorted(np.load(path, allow_pickle=False).files) == sorted(fx.state(model))
    assert fx.loadmodel(fresh, path) is fresh
    np.testing.assert_array_equal(model(x), fresh(x))


def test_state_of_methods_and_partials():
    obj = Affine()
    p = functools.partial(affine, np.ones((2, 3)), b=np.zeros(2))
    assert sorted(fx.state(fx.Chain(obj.forward, p))) == [
        "layers.0.W",
        "layers.1.args.0",
        "layers.1.keywords.b",
    ]


# ---------------------------------------------------------------------------------------------------------
# 3. ClipNorm's norm does not overflow


@pytest.mark.parametrize("dtype, big", [(np.float16, 300.0), (np.float32, 1e20), (np.float64, 1e200)])
def test_clipnorm_of_large_entries_is_finite(dtype, big):
    dx = np.full(3, big, dtype=dtype)
    x = np.zeros(3, dtype=dtype)
    for throw in (True, False):
        _, step = ClipNorm(10.0, throw=throw).apply(None, x, dx)
        assert step.dtype == dtype
        np.testing.assert_allclose(step.astype(np.float64), np.full(3, 10 / np.sqrt(3)), rtol=2e-3)


def test_clipnorm_still_refuses_a_truly_infinite_gradient_and_clips_other_norms():
    with pytest.raises(fx.FluxpyError, match="2-norm is inf"):
        ClipNorm(1.0).apply(None, np.zeros(2), np.array([np.inf, 1.0]))
    _, step = ClipNorm(1.0, p=1).apply(None, np.zeros(2), np.array([3.0, 1.0], np.float16))
    np.testing.assert_allclose(step.astype(np.float64), [0.75, 0.25], rtol=1e-3)
    _, step = ClipNorm(100.0).apply(None, np.zeros(2), np.array([3.0, 4.0]))
    np.testing.assert_array_equal(step, [3.0, 4.0])  # below the bound: unchanged


# ---------------------------------------------------------------------------------------------------------
# 4. AMSGrad on a 0-d parameter


@pytest.mark.parametrize("dtype", [np.float64, np.float32, np.float16])
def test_amsgrad_trains_a_zero_dimensional_parameter(dtype):
    model = {"temperature": np.array(1.5, dtype=dtype), "w": np.ones(3, dtype=dtype)}
    state = setup(AMSGrad(0.1), model)
    assert all(isinstance(s, np.ndarray) and s.shape == () for s in state["temperature"].state)
    for _ in range(3):
        (g,) = fx.gradient(lambda m: np.sum(m["w"] * m["temperature"]) ** 2, model)
        update(state, model, g)
    assert model["temperature"].shape == () and model["temperature"].dtype == dtype
    assert model["temperature"] < 1.5


def test_amsgrad_zero_dimensional_matches_the_formula():
    x, e = np.array(2.0), 1e-8
    state = AMSGrad(0.1).init(x)
    m = v = vhat = e
    for dx in (1.0, -3.0, 0.5):
        state, step = AMSGrad(0.1).apply(state, x, np.array(dx))
        m, v = 0.9 * m + 0.1 * dx, 0.999 * v + 0.001 * dx * dx
        vhat = max(vhat, v)
        np.testing.assert_allclose(step, 0.1 * m / (np.sqrt(vhat) + e), rtol=1e-14)


# ---------------------------------------------------------------------------------------------------------
# 6. focal_loss with bool targets


def test_focal_loss_takes_bool_one_hot_targets():
    yhat = fx.softmax(rng.standard_normal((4, 3)))
    y = np.eye(3, dtype=bool)[[0, 2, 1, 2]]  # Flux's one-hot matrices are Bool
    assert focal_loss(yhat, y) == focal_loss(yhat, y.astype(np.float64))
    check_grads(lambda p: focal_loss(p, y), yhat, order=2)


# ---------------------------------------------------------------------------------------------------------
# 7. a refused load leaves the model unchanged


def test_loadmodel_checks_writeability_before_copying_anything():
    table = np.zeros((4, 3), np.float32)
    table.flags.writeable = False
    m = fx.Chain(fx.Dense(3, 3), fx.Embedding(table))
    saved = {k: np.ones_like(v) for k, v in fx.state(m).items()}
    before = m[0].weight.copy()
    with pytest.raises(fx.FluxpyError, match=r"'layers.1.weight' is read-only"):
        fx.loadmodel(m, saved)
    np.testing.assert_array_equal(m[0].weight, before)
    table.flags.writeable = True  # the nearby valid case: a writable table loads
    fx.loadmodel(m, saved)
    np.testing.assert_array_equal(m[1].weight, 1.0)


# ---------------------------------------------------------------------------------------------------------
# 8. DataLoader over a list of observations


Obs = namedtuple("Obs", "x y")


def test_dataloader_stacks_a_list_of_observation_tuples():
    samples = [(np.full(2, float(i)), i % 2) for i in range(5)]
    batches = list(fx.DataLoader(samples, batchsize=2))
    assert len(batches) == 3
    x, y = batches[0]
    np.testing.assert_array_equal(x, [[0.0, 0.0], [1.0, 1.0]])
    np.testing.assert_array_equal(y, [0, 1])
    assert batches[2][0].shape == (1, 2)
    shuffled = list(fx.DataLoader(samples, batchsize=5, shuffle=True, rng=0))[0]
    assert sorted(shuffled[0][:, 0].tolist()) == [0.0, 1.0, 2.0, 3.0, 4.0]
    named = next(iter(fx.DataLoader([Obs(np.ones(2), 1.0)] * 3, batchsize=2)))
    assert type(named) is Obs and named.x.shape == (2, 2)
    d = next(iter(fx.DataLoader([{"a": np.zeros(3), "b": 1}] * 3, batchsize=3)))
    assert d["a"].shape == (3, 3) and d["b"].tolist() == [1, 1, 1]


def test_training_on_a_dataloader_of_observations():
    model = fx.f64(fx.Dense(2, 1))
    samples = [(np.array([x, 1.0]), np.array([2.0 * x])) for x in np.linspace(-1, 1, 8)]
    loader = fx.DataLoader(samples, batchsize=4)
    losses = []
    for _ in range(20):
        losses += fx.train(lambda m, x, y: fx.losses.mse(m(x), y), model, loader, setup(Descent(0.3), model))
    assert losses[-1] < losses[0] / 10


def test_dataloader_observations_that_do_not_match_name_the_problem():
    with pytest.raises(fx.FluxpyError, match="observation 1 is a tuple of 1"):
        fx.DataLoader([(1.0, 2.0), (1.0,)])
    with pytest.raises(fx.FluxpyError, match="observation 1 is an int"):
        fx.DataLoader([(1.0, 2.0), 3])
    with pytest.raises(fx.FluxpyError, match=r"entry 0 has different shapes \[\(2,\), \(3,\)\]"):
        fx.DataLoader([(np.ones(2), 0), (np.ones(3), 1)])
    with pytest.raises(fx.FluxpyError, match=r"could not make an array.*a list of observations"):
        fx.DataLoader([[1.0, 2.0], [3.0]])
    assert fx.DataLoader([[1.0, 2.0], [3.0, 4.0]]).data.shape == (2, 2)  # a list of rows is still an array


# ---------------------------------------------------------------------------------------------------------
# 10. Optimisers.jl's Rprop, OAdam, AdaBelief and AccumGrad, against NumPy versions of its formulas


def rprop_reference(xs, grads, eta=1e-3, ell=(0.5, 1.2), gamma=(1e-6, 50.0)):
    g, step_size, out = np.zeros_like(xs), np.full_like(xs, eta), []
    for dx in grads:
        turn = g * dx
        step_size = np.where(
            turn > 0,
            np.minimum(step_size * ell[1], gamma[1]),
            np.where(turn < 0, np.maximum(step_size * ell[0], gamma[0]), step_size),
        )
        g = np.where(turn < 0, 0.0, dx)
        out.append(step_size * np.sign(g))
    return out


def oadam_reference(xs, grads, eta=1e-3, beta=(0.5, 0.9), eps=1e-8):
    m, v, term, bt, out = np.zeros_like(xs), np.zeros_like(xs), np.zeros_like(xs), beta, []
    for dx in grads:
        m = beta[0] * m + (1 - beta[0]) * dx
        v = beta[1] * v + (1 - beta[1]) * dx**2
        prev = term
        term = eta * m / (1 - bt[0]) / (np.sqrt(v / (1 - bt[1])) + eps)
        out.append(2 * term - prev)
        bt = (bt[0] * beta[0], bt[1] * beta[1])
    return out


def adabelief_reference(xs, grads, eta=1e-3, beta=(0.9, 0.999), eps=1e-16):
    m, s, bt, out = np.zeros_like(xs), np.zeros_like(xs), beta, []
    for dx in grads:
        m = beta[0] * m + (1 - beta[0]) * dx
        s = beta[1] * s + (1 - beta[1]) * (dx - m) ** 2 + eps
        out.append(eta * m / (1 - bt[0]) / (np.sqrt(s / (1 - bt[1])) + eps))
        bt = (bt[0] * beta[0], bt[1] * beta[1])
    return out


def run_rule(rule, x, grads):
    state, steps = rule.init(x), []
    for dx in grads:
        state, step = rule.apply(state, x, dx.astype(x.dtype))
        steps.append(step)
    return steps


GRADS = [rng.standard_normal(6) for _ in range(5)]
GRADS[2] = -GRADS[1] * np.array([1, 1, -1, 1, 0, 2])  # sign flips, a zero, and repeats for Rprop


@pytest.mark.parametrize(
    "rule, reference",
    [
        (Rprop(), rprop_reference),
        (
            Rprop(0.1, (0.3, 1.5), (0.01, 0.2)),
            functools.partial(rprop_reference, eta=0.1, ell=(0.3, 1.5), gamma=(0.01, 0.2)),
        ),
        (OAdam(), oadam_reference),
        (
            OAdam(0.05, (0.8, 0.95), 1e-6),
            functools.partial(oadam_reference, eta=0.05, beta=(0.8, 0.95), eps=1e-6),
        ),
        (AdaBelief(), adabelief_reference),
        (
            AdaBelief(0.02, (0.7, 0.9), 1e-10),
            functools.partial(adabelief_reference, eta=0.02, beta=(0.7, 0.9), eps=1e-10),
        ),
    ],
)
@pytest.mark.parametrize("dtype", [np.float64, np.float32])
def test_new_rules_match_optimisers_jl_formulas(rule, reference, dtype):
    x = np.zeros(6, dtype)
    got = run_rule(rule, x, GRADS)
    want = reference(np.zeros(6), [g.astype(dtype).astype(np.float64) for g in GRADS])
    for a, b in zip(got, want, strict=True):
        assert a.dtype == dtype
        np.testing.assert_allclose(a, b, rtol=1e-12 if dtype == np.float64 else 2e-5, atol=1e-30)


def test_new_rules_defaults_and_reprs_follow_optimisers_jl():
    assert repr(Rprop()) == "Rprop(0.001, (0.5, 1.2), (1e-06, 50.0))"
    assert repr(OAdam()) == "OAdam(0.001, (0.5, 0.9), 1e-08)"
    assert repr(AdaBelief()) == "AdaBelief(0.001, (0.9, 0.999), 1e-16)"
    assert repr(AccumGrad(3)) == "AccumGrad(3)"
    for name in ("Rprop", "OAdam", "AdaBelief", "AccumGrad"):
        assert name in fx.optimise.__all__ and getattr(fx.optimise, name).__module__.startswith("fluxpy.")


def test_accumgrad_matches_the_optimisers_jl_docstring_example():
    m = {"x": np.array([1.0], np.float32), "y": np.array([2.0], np.float32)}
    s = setup(OptimiserChain(AccumGrad(2), WeightDecay(0.01), Descent(0.1)), m)
    update(s, m, {"x": np.array([33.0]), "y": np.array([0.0])})
    np.testing.assert_array_equal(m["x"], [1.0])  # not yet changed
    update(s, m, {"x": np.array([0.0]), "y": np.array([444.0])})
    np.testing.assert_allclose(m["x"], [-0.651], rtol=1e-6)
    np.testing.assert_allclose(m["y"], [-20.202002], rtol=1e-6)


def test_accumgrad_steps_the_mean_of_every_n_gradients():
    x = np.zeros(6)
    rule = OptimiserChain(AccumGrad(3), Adam(0.1))
    grads = GRADS * 2
    steps = run_rule(rule, x, grads)  # 10 gradients: steps after the 3rd, 6th and 9th
    assert [s is None for s in steps] == [True, True, False] * 3 + [True]
    adam = run_rule(Adam(0.1), x, [sum(grads[i : i + 3]) / 3 for i in (0, 3, 6)])
    for got, want in zip([s for s in steps if s is not None], adam, strict=True):
        np.testing.assert_allclose(got, want, rtol=1e-12)


def test_accumgrad_in_the_implicit_api_and_with_train():
    W = np.array([1.0, 2.0])
    ps, opt = fx.params(W), OptimiserChain(AccumGrad(2), Descent(0.5))
    gs = fx.gradient(lambda: np.sum(W**2), ps)
    update(opt, ps, gs)
    np.testing.assert_array_equal(W, [1.0, 2.0])
    update(opt, ps, gs)
    np.testing.assert_allclose(W, [0.0, 0.0])
    model = {"w": np.array([3.0])}
    data = [(np.array([1.0]),)] * 4
    rule = OptimiserChain(AccumGrad(2), Descent(0.1))
    fx.train(lambda m, x: np.sum((m["w"] * x) ** 2), model, data, setup(rule, model))
    np.testing.assert_allclose(model["w"], [3.0 * 0.8 * 0.8])  # two steps of 0.1 * 2w, after two batches each


@pytest.mark.parametrize("n", [0, -1, 1.5, True, "2"])
def test_accumgrad_refuses_a_count_that_is_not_a_positive_integer(n):
    with pytest.raises(fx.FluxpyError, match="AccumGrad"):
        AccumGrad(n)


def test_new_rules_on_zero_dimensional_and_float16_parameters():
    for rule in (Rprop(), OAdam(), AdaBelief(), OptimiserChain(AccumGrad(2), Adam())):
        for dtype in (np.float64, np.float32, np.float16):
            model = {"t": np.array(1.5, dtype=dtype), "v": np.ones(3, dtype=dtype)}
            state = setup(rule, model)
            for _ in range(4):
                (g,) = fx.gradient(lambda m: np.sum(m["v"] * m["t"]), model)
                update(state, model, g)
            assert model["t"].shape == () and model["t"].dtype == dtype and model["t"] < 1.5
            assert np.all(np.isfinite(model["v"]))
