"""The seeds' "Building Layers", "Stacking It Up", "Layer helpers" and "Utility functions" examples, in
Python and in order, each with a gradient checked against finite differences where one applies."""

import functools

import numpy as np
import pytest

import fluxpy as fx
import fluxpy.layers.basic
from fluxpy.testing import check_grads

rng = np.random.default_rng(1)

W1, b1 = rng.random((3, 5)), rng.random(3)
W2, b2 = rng.random((2, 3)), rng.random(2)


def layer1(x):
    return W1 @ x + b1


def layer2(x):
    return W2 @ x + b2


def model_globals(x):
    return layer2(fx.σ(layer1(x)))


def linear(n_in, n_out):
    W, b = rng.standard_normal((n_out, n_in)), rng.standard_normal(n_out)
    return lambda x: W @ x + b


class Affine:
    def __init__(self, n_in, n_out):
        self.W, self.b = rng.standard_normal((n_out, n_in)), rng.standard_normal(n_out)

    def __call__(self, x):
        return self.W @ x + self.b


def test_layers_from_globals():
    x = rng.random(5)
    assert model_globals(x).shape == (2,)
    check_grads(lambda x: np.sum(model_globals(x) ** 2), x)
    gs = fx.gradient(lambda: np.sum(model_globals(x)), fx.params(W1, b1, W2, b2))
    assert gs[W1].shape == (3, 5) and gs[b2].shape == (2,)


def test_layers_from_closures():
    linear1, linear2 = linear(5, 3), linear(3, 2)

    def model(x):
        return linear2(fx.σ(linear1(x)))

    x = rng.random(5)
    assert model(x).shape == (2,)
    check_grads(lambda x: np.sum(model(x) ** 2), x)
    (d1,) = fx.gradient(lambda m: np.sum(m(x)), linear1)
    assert d1.W.shape == (3, 5) and d1.b.shape == (3,)  # "we can access linear1.W etc"


def test_affine_struct_then_functor():
    a = Affine(10, 5)
    x = rng.random(10)
    assert a(x).shape == (5,)
    (da,) = fx.gradient(lambda a: np.sum(a(x) ** 2), a)
    np.testing.assert_allclose(da.W, np.outer(2 * a(x), x))
    fx.functor(Affine)  # Flux.@functor Affine: params and gpu now see inside
    assert len(fx.params(a)) == 2
    assert set(fx.children(a)) == {"W", "b"}


def test_stacking_it_up(monkeypatch):
    monkeypatch.setattr(fluxpy.layers.basic, "_warned_eltypes", set())
    x = rng.random(10)  # float64, as Flux's rand(10): the float32 layers convert it, with Flux's warning
    layers = [fx.Dense(10, 5, fx.σ), fx.Dense(5, 2), fx.softmax]

    def model(x):
        return functools.reduce(lambda x, m: m(x), layers, x)

    with pytest.warns(UserWarning, match="Layer with Float32 parameters got Float64 input"):
        assert model(x).shape == (2,)
    model2 = fx.Chain(fx.Dense(10, 5, fx.σ), fx.Dense(5, 2), fx.softmax)
    y = model2(x)
    assert y.shape == (2,) and np.isclose(y.sum(), 1.0)
    m = fx.compose(fx.Dense(5, 2), fx.Dense(10, 5, fx.σ))
    assert m(x).shape == (2,)
    assert fx.Chain(lambda x: x**2, lambda x: x + 1)(5) == 26
    # float32 weights, and x converted to float32: steps of 1e-3 survive the conversion
    check_grads(lambda x: np.log(model(x)[0]), x, order=1, eps=1e-3, rtol=1e-3, atol=1e-4)


def test_outdims_examples():
    m = fx.Chain(fx.Conv((3, 3), 3, 16), fx.Conv((3, 3), 16, 32))
    assert fx.outdims(m, (10, 10)) == (6, 6)
    m = fx.Dense(10, 5)
    assert fx.outdims(m, (5, 2)) == (5,)
    assert fx.outdims(m, (10,)) == (5,)
    m = fx.Conv((3, 3), 3, 16)
    assert fx.outdims(m, (10, 10)) == (8, 8)
    assert fx.outdims(m, (3, 1, 10, 10)) == (8, 8)  # Julia's (10, 10, 1, 3) is WHCN; NCHW here


class Foo:
    def __init__(self, x, y):
        self.x, self.y = x, y


class TwoThirds:
    def __init__(self, a, b, c):
        self.a, self.b, self.c = a, b, c


def test_functors_examples():
    fx.functor(Foo)
    assert fx.children(Foo(1, 2)) == {"x": 1, "y": 2}
    _, re = fx.functor(Foo(1, 2))
    assert vars(re((10, 20))) == {"x": 10, "y": 20}
    fx.functor(TwoThirds, ("a", "c"))
    ch2, re3 = fx.functor(TwoThirds(10, 20, 30))
    assert ch2 == {"a": 10, "c": 30}
    assert vars(re3(("ten", "thirty"))) == {"a": "ten", "b": 20, "c": "thirty"}
    out = fx.fmap(lambda x: 10 * x, TwoThirds(Foo(1, 2), Foo(3, 4), 56))
    assert vars(out.a) == {"x": 10, "y": 20} and vars(out.b) == {"x": 3, "y": 4} and out.c == 560
