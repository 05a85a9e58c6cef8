"""Functors walk gradients (``fx.Tangent``), frozen dataclasses and classes with ``__slots__``.

Flux's gradients are NamedTuples that ``fmap`` walks (``fmap(x -> x .* 0.5f0, grad)``); Julia's structs are
immutable (the Python analogue is a frozen dataclass), and a class with ``__slots__`` has no ``__dict__``.
"""

import dataclasses

import numpy as np
import pytest

import fluxpy as fx
from fluxpy.functors import fields_of, leaves
from fluxpy.testing import check_grads

rng = np.random.default_rng(13)


def _arrays_only(f):
    return lambda v: f(v) if isinstance(v, np.ndarray) else v


def _chain_and_grad():
    m = fx.f64(fx.Chain(fx.Dense(2, 3, fx.tanh), fx.Dense(3, 1)))
    x = rng.standard_normal((4, 2))
    (g,) = fx.gradient(lambda m: np.sum(m(x) ** 2), m)
    return m, x, g


# ---------------------------------------------------------------------------------------------------------
# gradients (fx.Tangent) are walked


def test_fmap_scales_every_array_of_a_gradient_and_rebuilds_tangents_of_the_same_types():
    _, _, g = _chain_and_grad()
    half = fx.fmap(_arrays_only(lambda a: a * 0.5), g)
    assert isinstance(half, fx.Tangent) and half.primal_type is fx.Chain
    assert isinstance(half.layers, tuple) and len(half.layers) == 2
    for h, orig in zip(half.layers, g.layers, strict=True):
        assert isinstance(h, fx.Tangent) and h.primal_type is fx.Dense
        np.testing.assert_array_equal(h.weight, orig.weight * 0.5)
        np.testing.assert_array_equal(h.bias, orig.bias * 0.5)
        assert h.activation is None
    # the gradient itself is left as it was
    assert half is not g and not np.shares_memory(half.layers[0].weight, g.layers[0].weight)


def test_fmap_calls_f_on_every_leaf_of_a_gradient_none_included_as_functors_jl():
    _, _, g = _chain_and_grad()
    seen = []
    fx.fmap(lambda v: seen.append(v) or v, g)
    # None (the activations' gradients) reaches f too: Functors.jl calls f on `nothing`
    assert sum(v is None for v in seen) == 1  # the same None, mapped once as any shared leaf
    assert sum(isinstance(v, np.ndarray) for v in seen) == 4
    with pytest.raises(TypeError):  # no guard: None * 0.5, as Flux's `nothing .* 0.5f0` fails
        fx.fmap(lambda v: v * 0.5, g)


def test_children_leaves_and_functor_of_a_gradient():
    _, _, g = _chain_and_grad()
    assert fx.children(g) == {"layers": g.layers}
    dense = g.layers[0]
    assert list(fx.children(dense)) == ["weight", "bias", "activation"]
    arrays = [v for v in leaves(g) if isinstance(v, np.ndarray)]
    assert len(arrays) == 4 and any(a is dense.weight for a in arrays)
    kids, re = fx.functor(dense)
    assert kids["weight"] is dense.weight
    rebuilt = re((np.zeros((3, 2)), np.ones(3), None))
    assert isinstance(rebuilt, fx.Tangent) and rebuilt.primal_type is fx.Dense
    np.testing.assert_array_equal(rebuilt.bias, np.ones(3))
    partial = re({"bias": np.full(3, 2.0)})  # a dict by name: the other fields kept
    assert partial.weight is dense.weight and np.all(partial.bias == 2.0)


def test_an_fmap_scaled_gradient_updates_a_model_as_half_the_learning_rate():
    m, x, g = _chain_and_grad()
    twin = fx.Chain(*(fx.Dense(d.weight.copy(), d.bias.copy(), d.activation) for d in m.layers))
    fx.update(fx.setup(fx.optimise.Descent(0.1), m), m, fx.fmap(_arrays_only(lambda a: a * 0.5), g))
    for d, t, gd in zip(m.layers, twin.layers, g.layers, strict=True):
        np.testing.assert_allclose(d.weight, t.weight - 0.05 * gd.weight, rtol=1e-12)
        np.testing.assert_allclose(d.bias, t.bias - 0.05 * gd.bias, rtol=1e-12)


def test_fmap_clips_gradients_by_hand():
    _, _, g = _chain_and_grad()
    clipped = fx.fmap(_arrays_only(lambda a: np.clip(a, -0.1, 0.1)), g)
    for c, orig in zip(clipped.layers, g.layers, strict=True):
        np.testing.assert_array_equal(c.weight, np.clip(orig.weight, -0.1, 0.1))


def test_fmap_of_a_gradient_maps_a_shared_array_once_and_an_empty_tangent_stays_one():
    w = np.ones(2)
    t = fx.Tangent(fx.Dense, {"weight": w, "bias": w})
    calls = []
    out = fx.fmap(lambda v: calls.append(1) or v * 2, t)
    assert len(calls) == 1 and out.weight is out.bias
    empty = fx.Tangent(fx.Dense, {})
    mapped = fx.fmap(lambda v: pytest.fail("no leaf to map"), empty)
    assert isinstance(mapped, fx.Tangent) and mapped.primal_type is fx.Dense and len(mapped) == 0


def test_f32_of_a_gradient_converts_its_arrays():
    _, _, g = _chain_and_grad()
    g32 = fx.f32(g)
    assert isinstance(g32, fx.Tangent) and g32.layers[1].weight.dtype == np.float32
    np.testing.assert_allclose(g32.layers[1].weight, g.layers[1].weight, rtol=1e-6)


# ---------------------------------------------------------------------------------------------------------
# frozen dataclasses


@fx.functor
@dataclasses.dataclass(frozen=True)
class FrozenAffine:
    W: np.ndarray
    b: np.ndarray

    def __call__(self, x):
        return self.W @ x + self.b


_POST_INIT_CALLS = []


@fx.functor
@dataclasses.dataclass(frozen=True)
class FrozenWithPostInit:
    W: np.ndarray
    n_rows: int = dataclasses.field(init=False)

    def __post_init__(self):
        _POST_INIT_CALLS.append(1)
        object.__setattr__(self, "n_rows", self.W.shape[0])


@fx.functor
@dataclasses.dataclass(frozen=True, slots=True)
class FrozenSlots:
    W: np.ndarray

    def __call__(self, x):
        return np.tanh(self.W @ x)


def test_f32_fmap_and_the_rebuild_of_a_frozen_dataclass():
    a = FrozenAffine(np.ones((2, 3)), np.zeros(2))
    a32 = fx.f32(a)
    assert type(a32) is FrozenAffine and a32.W.dtype == np.float32 and a32.b.dtype == np.float32
    assert a.W.dtype == np.float64  # the original is untouched
    with pytest.raises(dataclasses.FrozenInstanceError):  # and the copy is still frozen
        a32.W = None
    kids, re = fx.functor(a)
    assert set(kids) == {"W", "b"}
    b = re((np.zeros((2, 3)), np.ones(2)))
    assert type(b) is FrozenAffine and np.all(b.b == 1) and np.all(a.b == 0)
    doubled = fx.fmap(_arrays_only(lambda v: v * 2), a)
    np.testing.assert_array_equal(doubled.W, 2 * a.W)


def test_a_frozen_dataclass_is_rebuilt_without_running_post_init_again():
    # dataclasses.replace would call __init__ and __post_init__ again, and cannot pass the init=False field
    m = FrozenWithPostInit(np.ones((4, 2)))
    calls = len(_POST_INIT_CALLS)
    m32 = fx.f32(m)
    assert len(_POST_INIT_CALLS) == calls and m32.n_rows == 4 and m32.W.dtype == np.float32
    re = fx.functor(m)[1]
    assert re({"n_rows": 7}).n_rows == 7  # an init=False field is a child like any other


def test_frozen_dataclass_with_slots_trains_and_converts():
    m = FrozenSlots(rng.standard_normal((2, 3)))
    x = rng.standard_normal(3)
    assert list(fx.children(m)) == ["W"] and fx.f32(m).W.dtype == np.float32
    check_grads(lambda m: np.sum(m(x) ** 2), m, order=2, forward=True)
    (g,) = fx.gradient(lambda m: np.sum(m(x)), m)
    y = np.tanh(m.W @ x)
    np.testing.assert_allclose(g.W, np.outer(1 - y**2, x), rtol=1e-12)


# ---------------------------------------------------------------------------------------------------------
# classes with __slots__


@fx.functor
class SlotAffine:
    __slots__ = ("W", "b")

    def __init__(self, W, b):
        self.W, self.b = W, b

    def __call__(self, x):
        return self.W @ x + self.b


class _SlotBase:
    __slots__ = ("W",)


@fx.functor
class SlotChild(_SlotBase):
    __slots__ = ("b", "__scale", "unset")

    def __init__(self, W, b):
        self.W, self.b, self.__scale = W, b, np.array(2.0)

    def __call__(self, x):
        return self.__scale * np.tanh(self.W @ x + self.b)


class PlainSlots:  # no @fx.functor: params still looks inside, as it does for any object
    __slots__ = ("W",)

    def __init__(self, W):
        self.W = W


def test_children_params_gradient_f32_setup_and_state_of_a_slots_class():
    a = SlotAffine(np.ones((2, 3)), np.zeros(2))
    x = np.array([1.0, 2.0, 3.0])
    assert list(fx.children(a)) == ["W", "b"] and fx.children(a)["W"] is a.W
    assert len(fx.params(a)) == 2
    (g,) = fx.gradient(lambda m: np.sum(m(x)), a)
    np.testing.assert_array_equal(g.W, np.outer(np.ones(2), x))  # d sum(Wx + b) / dW = 1 x^T
    np.testing.assert_array_equal(g.b, np.ones(2))
    check_grads(lambda m: np.sum(np.sin(m(x))), a, order=2, forward=True)
    a32 = fx.f32(a)
    assert type(a32) is SlotAffine and a32.W.dtype == np.float32 and a.W.dtype == np.float64
    st = fx.setup(fx.optimise.Descent(0.1), a)
    fx.update(st, a, g)
    np.testing.assert_allclose(a.W, 1 - 0.1 * np.outer(np.ones(2), x))
    assert sorted(fx.state(a)) == ["W", "b"]


def test_slots_from_every_class_of_the_mro_with_unset_and_private_slots():
    c = SlotChild(np.ones((2, 2)), np.zeros(2))
    kids = fx.children(c)
    # base class first; the unset slot is left out; a private slot under its mangled name
    assert list(kids) == ["W", "b", "_SlotChild__scale"]
    assert len(fx.params(c)) == 3
    x = np.array([0.5, -1.0])
    (g,) = fx.gradient(lambda m: np.sum(m(x)), c)
    t = np.tanh(c.W @ x + c.b)
    np.testing.assert_allclose(g.b, 2 * (1 - t**2), rtol=1e-12)
    np.testing.assert_allclose(g.W, np.outer(2 * (1 - t**2), x), rtol=1e-12)
    np.testing.assert_allclose(g._SlotChild__scale, np.sum(t), rtol=1e-12)
    doubled = fx.fmap(_arrays_only(lambda v: v * 2), c)
    np.testing.assert_array_equal(doubled._SlotChild__scale, 4.0)
    assert not hasattr(doubled, "unset")


def test_fields_of_reads_slots_and_dict_and_params_looks_inside_plain_slot_objects():
    class Both(_SlotBase):  # a subclass without __slots__ has a __dict__ as well
        pass

    o = Both()
    o.W, o.extra = np.zeros(2), np.ones(3)
    assert list(fields_of(o)) == ["W", "extra"]
    p = PlainSlots(np.ones((2, 2)))
    assert len(fx.params(p)) == 1 and fx.params(p)[0] is p.W
    gs = fx.gradient(lambda: np.sum(p.W**2), fx.params(p))
    np.testing.assert_array_equal(gs[p.W], 2 * p.W)


def test_params_does_not_look_inside_gradients_or_optimiser_state_beside_a_model():
    m = fx.Dense(2, 2)

    class Trainer:  # a plain object holding a model, its optimiser state and its last gradient
        def __init__(self):
            self.model, self.state = m, fx.setup(fx.optimise.Adam(), m)
            self.grad = fx.gradient(lambda m: np.sum(m(np.ones(2, np.float32))), m)[0]

    ps = fx.params(Trainer())
    assert len(ps) == 2 and m.weight in ps and m.bias in ps
