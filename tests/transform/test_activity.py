"""Activity analysis across calls: variants that skip the cotangents nobody asked for.

An explicit ``gradient(f, args...)`` does not want ``f``'s own cotangent, so what ``f`` captures (a data
batch in ``lambda m: loss(m, x, y)``) and the globals it reads are constants; generated code passes each
callee a mask of the positions whose gradient is wanted, and heavy rules (matmul, conv) skip the others.
Every test compares against the gradient computed with everything active.
"""

import numpy as np
import pytest

import fluxpy as fx
from fluxpy import runtime
from fluxpy.testing import check_grads
from fluxpy.transform import cache

RNG = np.random.default_rng(0)


def mlp(params, x, y):
    W1, b1, W2, b2 = params
    h = np.tanh(x @ W1 + b1)
    return np.mean((h @ W2 + b2 - y) ** 2)


def _mlp_data():
    params = [RNG.normal(size=(5, 4)), RNG.normal(size=4), RNG.normal(size=(4, 3)), RNG.normal(size=3)]
    return params, RNG.normal(size=(6, 5)), RNG.normal(size=(6, 3))


def _variant_text(fn, mask):
    return cache._cache[(fn.__code__, mask)].text


def _assert_same(a, b):
    if isinstance(a, (list, tuple)):
        assert len(a) == len(b)
        for u, v in zip(a, b, strict=True):
            _assert_same(u, v)
    elif a is None or b is None:
        assert a is None and b is None
    else:
        np.testing.assert_allclose(a, b, rtol=1e-12, atol=1e-12)


def test_captured_batch_gives_the_same_gradient_and_no_input_cotangent():
    params, x, y = _mlp_data()
    (full,) = fx.gradient(mlp, params, x, y)[:1]
    (alone,) = fx.gradient(lambda p: mlp(p, x, y), params)
    _assert_same(full, alone)
    text = _variant_text(mlp, (False, True, False, False))
    assert "no gradient for: its own captures and globals, x, y" in text
    assert "matmul__partial((False, True), x, W1)" in text
    assert "return (None, d_params, None, None)" in text


def test_call_masked_returns_none_for_unwanted_positions():
    params, x, y = _mlp_data()
    _, pb_all = runtime.call(mlp, params, x, y)
    value, pb = runtime.call_masked((False, True, False, True), mlp, params, x, y)
    assert value == mlp(params, x, y)
    g_all, g = pb_all(1.0), pb(1.0)
    assert g[0] is None and g[2] is None
    _assert_same(g[1], g_all[1])
    _assert_same(g[3], g_all[3])


def test_chain_first_layer_computes_no_input_gradient():
    m = fx.f64(fx.Chain(fx.Dense(4, 3, fx.relu), fx.Dense(3, 2, fx.tanh)))
    x = RNG.normal(size=(5, 4))
    g_full = fx.gradient(lambda m, x: np.sum(m(x) ** 2), m, x)[0]
    (g,) = fx.gradient(lambda m: np.sum(m(x) ** 2), m)
    for a, b in zip(g.layers, g_full.layers, strict=True):
        _assert_same([a.weight, a.bias], [b.weight, b.bias])
    dense = type(m[0]).__call__
    assert "matmul__partial((False, True), x," in _variant_text(dense, (False, True, False))


def test_conv_partial_matches_full_gradient():
    m = fx.Chain(fx.Conv((3, 3), 2, 3, fx.relu, pad=1), fx.flatten, fx.Dense(3 * 5 * 5, 2))
    m = fx.f64(m)
    x = RNG.normal(size=(4, 2, 5, 5))

    def loss(m, x):
        return np.sum(m(x) ** 2)

    g_full = fx.gradient(loss, m, x)[0]
    (g,) = fx.gradient(lambda m: loss(m, x), m)
    _assert_same(g.layers[0].weight, g_full.layers[0].weight)
    _assert_same(g.layers[2].weight, g_full.layers[2].weight)


def test_input_gradient_of_a_global_model_skips_the_weights():
    """``gradient(x -> loss(model(x)), x)`` with a global model: its weights are constants."""
    x = RNG.normal(size=(3, 4))
    (g,) = fx.gradient(lambda x: np.sum(_GLOBAL_MODEL(x) ** 2), x)
    (g_full,) = fx.gradient(lambda x, m: np.sum(m(x) ** 2), x, _GLOBAL_MODEL)[:1]
    _assert_same(g, g_full)
    text = _variant_text(type(_GLOBAL_MODEL[0]).__call__, (False, False, True))
    assert "matmul__partial((True, False), x," in text


_GLOBAL_MODEL = fx.f64(fx.Chain(fx.Dense(4, 3, fx.tanh), fx.Dense(3, 2)))


def reassigned(w, x):
    for _ in range(3):
        x = np.tanh(w * x)  # a constant parameter rebound to an active value: active (flow-insensitive)
    return np.sum(x)


def appended(w, xs):
    out = []
    for i in range(len(xs)):
        out.append(xs[i] * 2.0)  # a constant list entry
        out.append(w * xs[i])
    return sum(out)


class Scaled:
    def __init__(self, w):
        self.w = w

    def apply(self, x, scale=2.0, *, shift=0.0):
        return np.sum(np.sin(self.w * x) * scale + shift)

    def __call__(self, x):
        return self.apply(x, scale=3.0)


def starred(w, *xs):
    return sum(np.sum(w * x) for x in xs)


@pytest.mark.parametrize(
    "f, args, wanted",
    [
        (reassigned, (RNG.normal(size=3), RNG.normal(size=3)), 0),
        (reassigned, (RNG.normal(size=3), RNG.normal(size=3)), 1),
        (appended, (1.5, RNG.normal(size=4)), 0),
        (lambda obj, x: obj.apply(x, 0.5), (Scaled(RNG.normal(size=3)), RNG.normal(size=3)), 0),
        (lambda obj, x: obj.apply(x, 0.5), (Scaled(RNG.normal(size=3)), RNG.normal(size=3)), 1),
        (lambda obj, x: obj(x), (Scaled(RNG.normal(size=3)), RNG.normal(size=3)), 0),
        (lambda obj, x: obj(x), (Scaled(RNG.normal(size=3)), RNG.normal(size=3)), 1),
        (lambda w, a, b: starred(w, a, b), (RNG.normal(size=2), RNG.normal(size=2), RNG.normal(size=2)), 0),
        (lambda w, a, b: starred(w, a, b), (RNG.normal(size=2), RNG.normal(size=2), RNG.normal(size=2)), 2),
    ],
    ids=[
        "reassigned-w",
        "reassigned-x",
        "list",
        "method-obj",
        "method-x",
        "object-obj",
        "object-x",
        "vararg-w",
        "vararg-b",
    ],
)
def test_one_argument_with_the_others_captured(f, args, wanted):
    full = fx.gradient(f, *args)[wanted]
    before, after = args[:wanted], args[wanted + 1 :]

    def alone(a):
        return f(*before, a, *after)

    (g,) = fx.gradient(alone, args[wanted])
    _assert_same(_plain(g), _plain(full))


def _plain(g):
    if isinstance(g, fx.Tangent):
        return [g[k] for k in sorted(g.keys())]
    return g


def test_starred_arguments_of_a_closure_keep_their_mask():
    """``lambda m: loss(m, *batch)`` (what fx.train writes): the batch is constant, the model is not."""
    params, x, y = _mlp_data()
    batch = (x, y)
    (g,) = fx.gradient(lambda p: mlp(p, *batch), params)
    _assert_same(g, fx.gradient(mlp, params, x, y)[0])
    assert "matmul__partial((False, True), x, W1)" in _variant_text(mlp, (False, True, False, False))


def test_second_order_through_a_captured_variable():
    """A gradient penalty: the inner gradient (in x) treats the captured w as a constant and skips its
    cotangent; the outer gradient (in w) still flows through every use of w."""
    x0 = RNG.normal(size=3)

    def inner_loss(w, x):
        return np.sum(np.tanh(w @ x) ** 2)

    def penalty(w):
        (gx,) = fx.gradient(lambda x: inner_loss(w, x), x0)
        return np.sum(gx**2)

    check_grads(penalty, RNG.normal(size=(2, 3)), order=1)


def test_implicit_parameters_still_reach_globals_through_masked_calls():
    x = RNG.normal(size=(3, 4))
    ps = fx.params(_GLOBAL_MODEL)
    gs = fx.gradient(lambda: np.sum(_GLOBAL_MODEL(x) ** 2), ps)
    (g,) = fx.gradient(lambda m: np.sum(m(x) ** 2), _GLOBAL_MODEL)
    _assert_same(gs[_GLOBAL_MODEL[0].weight], g.layers[0].weight)
    _assert_same(gs[_GLOBAL_MODEL[1].bias], g.layers[1].bias)


def _closure_called_with_a_constant_in_a_loop(x, a0):
    o1 = np.zeros(2)
    for i2 in range(2):

        def h3(a0, u4):
            return np.sum(a0) + u4 + (np.sin(x) + x)

        v5 = h3(np.arange(1.0, 3.0), (x + 0.0))  # a masked call of a local closure
        x = x + 0.5 * np.tanh(v5)
        o1[i2] = x + 0.0
    return x + np.sum(o1) + np.sum(a0)


def test_masked_closure_calls_stay_direct_calls_when_differentiated_again():
    """Generated code calls the closure as ``__fx_call_masked(mask, h3, ...)``; differentiated again, that
    is still a direct call of ``h3`` (not an escaping closure, which would be refused)."""
    check_grads(_closure_called_with_a_constant_in_a_loop, 0.33, np.array([-0.5, -1.1]), order=2)
