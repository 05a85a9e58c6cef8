"""Implicit parameters: params / Grads / update, every way a parameter can be read."""

import threading
from collections import namedtuple

import numpy as np
import pytest

import fluxpy as fx

rng = np.random.default_rng(0)
W = rng.random((2, 5))
b = rng.random(2)
W1, b1 = rng.random((3, 5)), rng.random(3)
W2, b2 = rng.random((2, 3)), rng.random(2)


def predict(x):
    return W @ x + b


def loss(x, y):
    yhat = predict(x)
    return np.sum((y - yhat) ** 2)


def test_seed_params_example():
    x, y = np.array([2, 1]), np.array([2, 0])
    gs = fx.gradient(lambda: np.sum((x - y) ** 2), fx.params(x, y))
    np.testing.assert_array_equal(gs[x], [0.0, 2.0])
    np.testing.assert_array_equal(gs[y], [-0.0, -2.0])


def test_seed_linear_regression_with_globals_descends():
    x, y = rng.random(5), rng.random(2)
    W_before = W.copy()
    before = loss(x, y)
    gs = fx.gradient(lambda: loss(x, y), fx.params(W, b))
    expected = -2 * np.outer(y - (W @ x + b), x)
    np.testing.assert_allclose(gs[W], expected)
    W[...] = W - 0.1 * gs[W]
    assert loss(x, y) < before
    W[...] = W_before


def layer1(x):
    return W1 @ x + b1


def layer2(x):
    return W2 @ x + b2


def model(x):
    return layer2(1 / (1 + np.exp(-layer1(x))))


def test_seed_two_layers_with_globals():
    x = rng.random(5)
    gs = fx.gradient(lambda: np.sum(model(x)), fx.params(W1, b1, W2, b2))
    eps = 1e-6
    for p in (W1, b1, W2, b2):
        d = rng.standard_normal(p.shape)
        p += eps * d
        plus = np.sum(model(x))
        p -= 2 * eps * d
        minus = np.sum(model(x))
        p += eps * d
        assert np.isclose(np.sum(gs[p] * d), (plus - minus) / (2 * eps))


def linear(n_in, n_out):
    Wl = rng.standard_normal((n_out, n_in))
    bl = rng.standard_normal(n_out)
    return lambda x: Wl @ x + bl


def test_seed_closure_built_linear_layers():
    linear1, linear2 = linear(5, 3), linear(3, 2)
    x = rng.random(5)
    ps = fx.params(linear1, linear2)
    assert len(ps) == 4
    gs = fx.gradient(lambda: np.sum(linear2(np.tanh(linear1(x)))), ps)
    Wl2 = linear2.__closure__[0].cell_contents if linear2.__code__.co_freevars[0] == "Wl" else None
    assert all(gs[p] is not None for p in ps)
    if Wl2 is not None:
        np.testing.assert_allclose(gs[Wl2], np.outer(np.ones(2), np.tanh(linear1(x))))


class Affine:
    def __init__(self, W, b):
        self.W, self.b = W, b

    def __call__(self, x):
        return self.W @ x + self.b


class Net:
    def __init__(self):
        self.layers = [Affine(rng.random((3, 4)), rng.random(3)), Affine(rng.random((1, 3)), rng.random(1))]
        self.table = {"scale": np.array([2.0])}
        self.pair = (np.array([1.0]), np.array([0.5]))


Point = namedtuple("Point", "w")


def test_every_access_path_and_accumulation():
    net = Net()
    g = np.array([3.0])
    point = Point(np.array([0.25]))
    x = rng.random(4)

    def f(v):  # argument path: v is the parameter passed in
        h = net.layers[1](np.tanh(net.layers[0](x)))  # attributes, nested objects, list elements
        h = h * net.table["scale"] + net.pair[0] * net.pair[1]  # dict and tuple elements
        return np.sum(h * g * v + point.w * v)  # global-like closure reads, namedtuple, used twice (v)

    v = np.array([1.5])
    ps = fx.params(net, g, v, point)
    gs = fx.gradient(lambda: f(v), ps)
    assert all(gs[p] is not None for p in ps)
    eps = 1e-6
    for p in ps:
        d = rng.standard_normal(p.shape)
        p += eps * d
        plus = f(v)
        p -= 2 * eps * d
        minus = f(v)
        p += eps * d
        assert np.isclose(np.sum(gs[p] * d), (plus - minus) / (2 * eps)), p


def test_unused_params_get_none_and_strangers_raise():
    a, unused, stranger = np.ones(2), np.ones(3), np.ones(4)
    gs = fx.gradient(lambda: np.sum(a * 2.0), fx.params(a, unused))
    assert gs[unused] is None
    assert unused in gs and stranger not in gs
    with pytest.raises(fx.FluxpyError, match="not one of this Grads"):
        gs[stranger]


def test_grads_arithmetic_vector_and_repr():
    a, c = np.ones(2), np.ones(3)
    ps = fx.params(a, c)
    g1 = fx.gradient(lambda: np.sum(a * 2.0) + np.sum(c), ps)
    g2 = fx.gradient(lambda: np.sum(a * 3.0), ps)
    np.testing.assert_array_equal((g1 + g2)[a], [5.0, 5.0])
    np.testing.assert_array_equal((g1 - g2)[a], [-1.0, -1.0])
    np.testing.assert_array_equal((2 * g1)[c], [2.0, 2.0, 2.0])
    np.testing.assert_array_equal(g1.map(lambda g: g * 0)[a], [0.0, 0.0])
    np.testing.assert_array_equal(g2.to_vector(), [3.0, 3.0, 0.0, 0.0, 0.0])
    g2.copy_from(np.arange(5.0))
    np.testing.assert_array_equal(g2[c], [2.0, 3.0, 4.0])
    assert [p is a for p, _ in g1.items()] == [True, False]
    assert repr(ps) == "Params([2 float64, 3 float64])"
    with pytest.raises(fx.FluxpyError, match="different params"):
        g1 + fx.gradient(lambda: np.sum(a), fx.params(a))


def test_update_with_descent_in_place():
    a = np.ones(2)
    ps = fx.params(a)
    gs = fx.gradient(lambda: np.sum(a * a), ps)
    fx.update(fx.optimise.Descent(0.25), ps, gs)
    np.testing.assert_array_equal(a, [0.5, 0.5])


def test_withgradient_and_pullback_with_params():
    a = np.ones(2)
    ps = fx.params(a)
    val, gs = fx.withgradient(lambda: np.sum(a * 3.0), ps)
    assert val == 6.0 and isinstance(gs, fx.Grads)
    y, back = fx.pullback(lambda: a * 3.0, ps)
    np.testing.assert_array_equal(back(np.array([1.0, 2.0]))[a], [3.0, 6.0])


def test_implicit_context_belongs_to_one_call():
    a, c = np.ones(2), np.ones(2)

    def inner():
        return fx.gradient(lambda: np.sum(a * c), fx.params(c))[c]

    gs = fx.gradient(lambda: np.sum(a * 2.0) + np.sum(fx.dropgrad(inner())), fx.params(a))
    np.testing.assert_array_equal(gs[a], [2.0, 2.0])
    results = []

    def work(k):
        p = np.full(2, float(k))
        for _ in range(10):
            results.append(fx.gradient(lambda: np.sum(p * p), fx.params(p))[p][0] == 2.0 * k)

    threads = [threading.Thread(target=work, args=(k,)) for k in range(1, 4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert all(results) and len(results) == 30


def test_explicit_gradients_ignore_globals():
    assert fx.gradient(lambda x: np.sum(W @ x), np.ones(5))[0].shape == (5,)
