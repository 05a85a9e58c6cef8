"""fluxpy.testing.check_grads itself: it checks every float value it is given (inside containers and models
too), in float64, and catches a wrong rule wherever the value sits."""

import collections
import dataclasses

import numpy as np
import pytest

import fluxpy as fx
from fluxpy.testing import check_grads

X = np.array([0.5, -1.0, 2.0])
Pair = collections.namedtuple("Pair", "w b")


@dataclasses.dataclass
class Data:
    w: np.ndarray
    k: int


def half_wrong(x):
    return x * x


@fx.adjoint(half_wrong)
def _half_wrong_rule(x):
    return x * x, lambda dy: (dy * x,)  # the factor 2 is missing


CONTAINERS = [
    ({"a": X, "n": 3}, lambda p: p["a"]),
    ((X, "label"), lambda p: p[0]),
    ([1, [X]], lambda p: p[1][0]),
    (Pair(X, X + 1), lambda p: p.w),
    (Data(X, 1), lambda p: p.w),
]


@pytest.mark.parametrize("arg, pick", CONTAINERS)
def test_right_gradients_inside_containers_pass(arg, pick):
    def f(p):
        return np.sum(np.sin(pick(p)) ** 2)

    check_grads(f, arg, order=2, forward=True)


@pytest.mark.parametrize("arg, pick", CONTAINERS)
def test_a_wrong_rule_inside_a_container_is_caught(arg, pick):
    def f(p):
        return np.sum(half_wrong(pick(p)))

    with pytest.raises(AssertionError, match="first derivative"):
        check_grads(f, arg, order=1)


def test_a_model_argument_is_checked():
    m = fx.f64(fx.Chain(fx.Dense(3, 4, fx.tanh), fx.Dense(4, 2)))
    check_grads(lambda m, x: np.sum(m(x) ** 2), m, np.ones((2, 3)), order=2, forward=True)

    m.layers[0].weight = half_wrong(m.layers[0].weight)  # fine as a value; the gradient below is not

    def loss(m):
        return np.sum(half_wrong(m.layers[1].weight))

    with pytest.raises(AssertionError):
        check_grads(loss, m, order=1)


def test_float32_values_are_differenced_in_float64():
    # perturbing float32 values by 1e-6 gave differences of rounding noise: a false failure
    x = np.random.default_rng(0).standard_normal((20, 10)).astype(np.float32)
    check_grads(lambda x: np.sum(np.tanh(x) * x), x, order=2, forward=True)
    with pytest.raises(AssertionError):
        check_grads(lambda x: np.sum(half_wrong(x)), x, order=1)


def test_arguments_are_left_unchanged():
    p = {"w": X.copy(), "s": 2.0}
    check_grads(lambda p: np.sum(p["w"] ** 3) * p["s"], p, order=2, forward=True)
    assert np.array_equal(p["w"], X) and p["s"] == 2.0
