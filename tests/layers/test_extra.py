"""Diagonal/Scale, Maxout, SkipConnection, Parallel, Bilinear; outdims/outputsize; Flux-style printing."""

import numpy as np
import pytest

import fluxpy as fx
from fluxpy.errors import FluxpyError
from fluxpy.layers.basic import Chain, Dense, _format_bytes, _underscorise, big_repr
from fluxpy.layers.extra import Bilinear, Diagonal, Maxout, PairwiseFusion, Parallel, Scale, SkipConnection
from fluxpy.layers.shape import outdims, outputsize
from fluxpy.testing import check_grads

rng = np.random.default_rng(0)


def add(a, b):
    return a + b


def mul(a, b):
    return a * b


# ---------------------------------------------------------------- Diagonal


def test_diagonal_matches_numpy_and_options():
    d = Diagonal(3, init=fx.randn32)
    d.bias = fx.randn32(3)
    x = rng.standard_normal((5, 3)).astype(np.float32)
    np.testing.assert_allclose(d(x), x * d.scale + d.bias, rtol=1e-6)
    assert d.scale.dtype == np.float32 and set(fx.children(d)) == {"scale", "bias", "activation"}
    assert Scale is Diagonal
    nb = Diagonal(3, bias=False)
    assert nb.bias is False and len(fx.params(nb)) == 1
    np.testing.assert_array_equal(nb(x), x)
    act = Diagonal((2, 3), fx.relu)
    assert act.scale.shape == (2, 3)
    np.testing.assert_array_equal(act(np.array([[-1.0, 2.0, -3.0]] * 2, np.float32)), [[0, 2, 0]] * 2)


def test_diagonal_gradients_inputs_params_and_second_order():
    s, b, x = rng.standard_normal(3), rng.standard_normal(3), rng.standard_normal((4, 3))
    check_grads(lambda s, b, x: np.sum(fx.tanh(Diagonal(s, bias=b)(x)) ** 2), s, b, x, order=2)
    d = fx.f64(Diagonal(3))
    d.scale, d.bias = s, b
    check_grads(lambda x: np.sum(np.sin(d(x))), x, order=2)
    (dd,) = fx.gradient(lambda m: np.sum(m(x) ** 2), d)
    assert isinstance(dd, fx.Tangent) and dd.activation is None
    np.testing.assert_allclose(dd.scale, np.sum(2 * (x * s + b) * x, axis=0))
    np.testing.assert_allclose(dd.bias, np.sum(2 * (x * s + b), axis=0))


# ---------------------------------------------------------------- Maxout


def test_maxout_constructors_and_output():
    m = Maxout(lambda: Dense(3, 2), 4)
    assert len(m.layers) == 4 and len({id(layer.weight) for layer in m.layers}) == 4
    x = rng.standard_normal((5, 3)).astype(np.float32)
    expected = np.max(np.stack([layer(x) for layer in m.layers]), axis=0)
    np.testing.assert_allclose(m(x), expected)
    m2 = Maxout(lambda x: x, lambda x: -x, lambda x: 0.5 * x)
    np.testing.assert_array_equal(m2(np.array([1.0, -2.0])), [1.0, 2.0])
    with pytest.raises(FluxpyError, match="at least one"):
        Maxout(lambda: Dense(3, 2), 0)
    with pytest.raises(FluxpyError, match="at least one"):
        Maxout()


def test_maxout_gradients():
    W1, b1, W2, b2 = (rng.standard_normal(s) for s in [(2, 3), 2, (2, 3), 2])
    x = rng.standard_normal((4, 3))

    def loss(W1, b1, W2, b2, x):
        return np.sum(Maxout(Dense(W1, b1), Dense(W2, b2))(x) ** 2)

    check_grads(loss, W1, b1, W2, b2, x, order=1)
    m = fx.f64(Maxout(lambda: Dense(3, 2, fx.tanh), 3))
    (dm,) = fx.gradient(lambda m: np.sum(m(x)), m)
    assert isinstance(dm, fx.Tangent) and len(dm.layers) == 3
    winners = np.argmax(np.stack([layer(x) for layer in m.layers]), axis=0)
    for k, layer in enumerate(m.layers):  # only the winning layer gets each entry's gradient
        dy = (winners == k) * (1 - layer(x) ** 2)
        np.testing.assert_allclose(dm.layers[k].weight, dy.T @ x, rtol=1e-10, atol=1e-12)


# ---------------------------------------------------------------- SkipConnection


def test_skipconnection_output_and_gradients():
    W, b, x = rng.standard_normal((3, 3)), rng.standard_normal(3), rng.standard_normal((4, 3))
    m = SkipConnection(Dense(W, b, fx.tanh), add)
    np.testing.assert_allclose(m(x), np.tanh(x @ W.T + b) + x)
    cat = SkipConnection(Dense(3, 2), lambda y, x: np.concatenate([y, x], axis=-1))
    assert cat(x.astype(np.float32)).shape == (4, 5)
    check_grads(lambda W, b, x: np.sum(SkipConnection(Dense(W, b, fx.tanh), add)(x) ** 2), W, b, x, order=1)
    (dm, dx) = fx.gradient(lambda m, x: np.sum(m(x)), m, x)
    assert isinstance(dm, fx.Tangent) and set(dm) == {"layers", "connection"}
    np.testing.assert_allclose(dm.layers.bias, np.sum(1 - np.tanh(x @ W.T + b) ** 2, axis=0))
    np.testing.assert_allclose(dx, (1 - np.tanh(x @ W.T + b) ** 2) @ W + 1)


# ---------------------------------------------------------------- Parallel


def test_parallel_call_forms():
    d1, d2 = Dense(3, 2), Dense(4, 2)
    x3, x4 = (rng.standard_normal((5, n)).astype(np.float32) for n in (3, 4))
    p = Parallel(add, d1, Dense(3, 2))
    np.testing.assert_allclose(p(x3), d1(x3) + p.layers[1](x3))
    two = Parallel(add, d1, d2)
    np.testing.assert_allclose(two(x3, x4), d1(x3) + d2(x4))
    np.testing.assert_allclose(two((x3, x4)), d1(x3) + d2(x4))
    one = Parallel(mul, d1)
    np.testing.assert_allclose(one(x3, 2 * x3), d1(x3) * d1(2 * x3))
    cat = Parallel(lambda *ys: np.concatenate(ys, axis=-1), d1, Dense(3, 4), Dense(3, 1))
    assert cat(x3).shape == (5, 7)
    with pytest.raises(FluxpyError, match="3 inputs"):
        two(x3, x4, x4)
    with pytest.raises(FluxpyError, match="at least one"):
        Parallel(add)


def test_parallel_gradients():
    W1, b1, W2, b2 = (rng.standard_normal(s) for s in [(2, 3), 2, (2, 4), 2])
    x3, x4 = rng.standard_normal((5, 3)), rng.standard_normal((5, 4))

    def loss(W1, b1, W2, b2, x3, x4):
        return np.sum(Parallel(mul, Dense(W1, b1, fx.tanh), Dense(W2, b2))(x3, x4))

    check_grads(loss, W1, b1, W2, b2, x3, x4, order=1)
    W3 = rng.standard_normal((2, 3))
    check_grads(
        lambda W1, W3, x: np.sum(Parallel(mul, Dense(W1, False), Dense(W3, False))(x)), W1, W3, x3, order=1
    )
    p = fx.f64(Parallel(add, Dense(3, 2), Dense(4, 2)))
    (dp,) = fx.gradient(lambda p: np.sum(p((x3, x4))), p)
    assert isinstance(dp, fx.Tangent) and len(dp.layers) == 2
    np.testing.assert_allclose(dp.layers[1].weight, np.ones((5, 2)).T @ x4)


# ---------------------------------------------------------------- PairwiseFusion


def test_pairwisefusion_output_and_gradients():
    W1, b1, W2, b2 = (rng.standard_normal(s) for s in [(3, 3), 3, (2, 3), 2])
    x1, x2 = rng.standard_normal((4, 3)), rng.standard_normal((4, 3))
    m = PairwiseFusion(add, Dense(W1, b1, fx.tanh), Dense(W2, b2))
    y1, y2 = m((x1, x2))
    np.testing.assert_allclose(y1, np.tanh(x1 @ W1.T + b1))
    np.testing.assert_allclose(y2, (y1 + x2) @ W2.T + b2)
    z1, z2 = m(x1)
    np.testing.assert_allclose(z2, (z1 + x1) @ W2.T + b2)
    with pytest.raises(FluxpyError, match="2 layers got 3 inputs"):
        m((x1, x2, x2))

    def loss(W1, b1, W2, b2, x1, x2):
        y1, y2 = PairwiseFusion(mul, Dense(W1, b1, fx.tanh), Dense(W2, b2))((x1, x2))
        return np.sum(y1**2) + np.sum(np.sin(y2))

    check_grads(loss, W1, b1, W2, b2, x1, x2, order=1)
    (dm,) = fx.gradient(lambda m: np.sum(m(x1)[1]), m)
    assert isinstance(dm, fx.Tangent) and len(dm.layers) == 2
    assert repr(m).startswith("PairwiseFusion(\n  add,\n  Dense(3, 3, tanh),")


# ---------------------------------------------------------------- Bilinear


def test_bilinear_matches_loops_and_call_forms():
    b = Bilinear(3, 4, 2, init=fx.randn32)
    b.bias = fx.randn32(2)
    x, y = rng.standard_normal((5, 3)).astype(np.float32), rng.standard_normal((5, 4)).astype(np.float32)
    expected = np.array([[x[n] @ b.weight[o] @ y[n] + b.bias[o] for o in range(2)] for n in range(5)])
    np.testing.assert_allclose(b(x, y), expected, rtol=1e-5, atol=1e-5)
    np.testing.assert_allclose(b((x, y)), expected, rtol=1e-5, atol=1e-5)
    np.testing.assert_allclose(b(x[0], y[0]), expected[0], rtol=1e-5, atol=1e-5)
    sq = Bilinear(3, 3, 2, fx.relu, bias=False)
    assert sq.bias is False and sq.weight.shape == (2, 3, 3)
    np.testing.assert_allclose(sq(x), np.maximum(np.einsum("oij,ni,nj->no", sq.weight, x, x), 0), rtol=1e-5)
    with pytest.raises(FluxpyError, match="give the input and output sizes"):
        Bilinear(3)
    assert Bilinear(3, 4).weight.shape == (4, 3, 3)  # Flux's Bilinear(3 => 4): both inputs of size 3


def test_bilinear_gradients_second_order():
    W, c = rng.standard_normal((2, 3, 4)), rng.standard_normal(2)
    x, y = rng.standard_normal((5, 3)), rng.standard_normal((5, 4))
    check_grads(lambda W, c, x, y: np.sum(fx.tanh(Bilinear(W, c)(x, y)) ** 2), W, c, x, y, order=2)
    check_grads(lambda W, c, x, y: np.sum(Bilinear(W, c)(x, y) ** 2), W, c, x[0], y[0], order=2)
    m = Bilinear(W, c)
    (dm,) = fx.gradient(lambda m: np.sum(m(x, y)), m)
    assert isinstance(dm, fx.Tangent)
    np.testing.assert_allclose(dm.weight, np.broadcast_to(np.einsum("ni,nj->ij", x, y), (2, 3, 4)))
    np.testing.assert_allclose(dm.bias, [5.0, 5.0])


# ---------------------------------------------------------------- containers inside a Chain


def test_nested_containers_in_a_chain_gradient():
    m = fx.f64(
        Chain(
            Dense(3, 4, fx.tanh),
            SkipConnection(Chain(Dense(4, 4, fx.tanh), Diagonal(4)), add),
            Parallel(mul, Dense(4, 2), Maxout(lambda: Dense(4, 2), 2)),
        )
    )
    x = rng.standard_normal((6, 3))
    check_grads(lambda x: np.sum(m(x) ** 2), x, order=1)
    (dm,) = fx.gradient(lambda m: np.sum(m(x) ** 2), m)
    assert dm.layers[1].layers.layers[1].scale.shape == (4,)
    assert dm.layers[2].layers[1].layers[0].weight.shape == (2, 4)


# ---------------------------------------------------------------- outdims / outputsize


def test_outdims_dense_chain_diagonal_maxout():
    assert outdims(Dense(10, 5), (10,)) == (5,)
    assert outdims(Dense(10, 5), (5, 2)) == (5,)  # as Flux: Dense ignores the input size
    assert outdims(Chain(Dense(10, 5, fx.relu), fx.relu, Dense(5, 2), fx.softmax), (10,)) == (2,)
    assert outdims(Diagonal(4), (4,)) == (4,)
    assert outdims(Maxout(lambda: Dense(3, 7), 2), (3,)) == (7,)
    assert outdims(Bilinear(3, 3, 6), 3) == (6,)
    assert outdims(fx.compose(Dense(5, 2), Dense(10, 5)), (10,)) == (2,)
    with pytest.raises(FluxpyError, match="outdims has no rule for <lambda>"):
        outdims(Chain(Dense(10, 5), lambda x: x), (10,))


def test_outputsize_rules_and_fallback():
    m = Chain(Dense(10, 5, fx.relu), Diagonal(5), Dense(5, 2), fx.softmax)
    assert outputsize(m, (10,)) == (2,)
    assert outputsize(m, (32, 10)) == (32, 2)
    assert outputsize(m, 10, padbatch=True) == (1, 2)
    assert outputsize(Chain(Dense(10, 4), lambda x: np.concatenate([x, x], axis=-1)), (3, 10)) == (3, 8)
    assert outputsize(SkipConnection(Dense(4, 4), add), (2, 4)) == (2, 4)
    assert outputsize(Maxout(lambda: Dense(3, 7), 2), (9, 3)) == (9, 7)
    with pytest.raises(FluxpyError, match="last axis has 10 entries"):
        outputsize(m, (32, 9))


def test_outdims_and_outputsize_with_conv():
    conv = pytest.importorskip("fluxpy.layers.conv")
    m = Chain(conv.Conv((3, 3), 3, 16), conv.Conv((3, 3), 16, 32))
    assert outdims(m, (10, 10)) == (6, 6)
    assert outdims(conv.Conv((3, 3), 3, 16), (10, 10)) == (8, 8)
    assert outdims(conv.Conv((3, 3), 3, 16), (1, 3, 10, 10)) == (8, 8)
    assert outputsize(m, (1, 3, 10, 10)) == (1, 32, 6, 6)
    assert outputsize(m, (3, 10, 10), padbatch=True) == (1, 32, 6, 6)


# ---------------------------------------------------------------- printing


def test_chain_repr_as_flux_prints():
    m = Chain(Dense(10, 5, fx.relu), Dense(5, 2))
    assert repr(m) == (
        "Chain(\n"
        "  Dense(10, 5, relu),                   # 55 parameters\n"
        "  Dense(5, 2),                          # 12 parameters\n"
        ")                   # Total: 4 arrays, 67 parameters, 268 bytes."
    )
    assert repr(Chain(fx.relu, fx.softmax)) == "Chain(relu, softmax)"
    assert repr(Chain(Dense(2, 3))) == "Chain(\n  Dense(2, 3),                          # 9 parameters\n)"


def test_nested_container_reprs():
    m = Chain(
        Dense(2, 3, fx.tanh),
        SkipConnection(Chain(Dense(3, 3), Diagonal(3)), add),
        Parallel(mul, Dense(3, 2, bias=False), Bilinear(3, 3, 2)),
        Maxout(fx.relu, fx.tanh),
    )
    assert repr(m) == (
        "Chain(\n"
        "  Dense(2, 3, tanh),                    # 9 parameters\n"
        "  SkipConnection(\n"
        "    Chain(\n"
        "      Dense(3, 3),                      # 12 parameters\n"
        "      Diagonal(3),                      # 6 parameters\n"
        "    ),\n"
        "    add,\n"
        "  ),\n"
        "  Parallel(\n"
        "    mul,\n"
        "    Dense(3, 2, bias=False),            # 6 parameters\n"
        "    Bilinear(3, 3, 2),                  # 20 parameters\n"
        "  ),\n"
        "  Maxout(relu, tanh),\n"
        ")                   # Total: 9 arrays, 53 parameters, 212 bytes."
    )
    assert repr(SkipConnection(fx.relu, add)) == "SkipConnection(relu, add)"
    assert repr(Parallel(add, Dense(2, 2))) == (
        "Parallel(\n  add,\n  Dense(2, 2),                          # 6 parameters\n)"
    )
    assert repr(Diagonal((2, 3), fx.relu)) == "Diagonal(2, 3, relu)"
    assert big_repr(Chain(Dense(1, 1)), name="MyModel").startswith("MyModel(\n")


def test_count_and_byte_formatting():
    assert _underscorise(123) == "123" and _underscorise(1234567) == "1_234_567"
    assert _format_bytes(1) == "1 byte" and _format_bytes(268) == "268 bytes"
    assert _format_bytes(1536) == "1.500 KiB" and _format_bytes(3 * 1024**2) == "3.000 MiB"
    big = Chain(Dense(100, 100), Dense(100, 10))
    assert repr(big).endswith("# Total: 4 arrays, 11_110 parameters, 43.398 KiB.")
    assert "# 10_100 parameters" in repr(big)
