"""Hunt 15 (the API contract): fx.gradient of a function that has a rule or a nograd mark uses them (the fused
gradient function transformed its source instead); implicit parameters read from a global in a constructor
get their gradient (the object was built plainly when no argument carried a float); check_grads checks
forward mode with keywords and says which mode disagrees."""

from dataclasses import dataclass

import numpy as np
import pytest

import fluxpy as fx
from fluxpy.rules.registry import forward_rule
from fluxpy.testing import check_grads


def squared(x):
    return x * x


@fx.adjoint(squared)
def squared_rule(x):
    def squared_pullback(dy):
        return (dy * 100.0,)

    return squared(x), squared_pullback


def marked(x):
    return x * x


fx.nograd(marked)


def test_gradient_of_a_function_with_a_rule_uses_the_rule():
    assert fx.gradient(squared, 3.0) == (100.0,)
    assert fx.gradient(lambda x: squared(x), 3.0) == (100.0,)
    assert fx.hessian(squared, 3.0) == 0.0
    assert fx.hvp(squared, 3.0, 1.0) == 0.0


def test_gradient_of_a_nograd_function_is_none():
    assert fx.gradient(marked, 3.0) == (None,)
    assert fx.gradient(fx.dropgrad, 2.0) == (None,)


def test_gradient_of_relu_at_zero_is_its_rules():
    assert fx.gradient(fx.relu, 0.0) == (0.0,)


def test_a_gradient_of_a_ruled_function_inside_a_gradient():
    assert fx.gradient(lambda x: fx.gradient(squared, x)[0] * x, 3.0) == (100.0,)


W = np.array([1.0, 2.0])


class Holder:
    def __init__(self):
        self.p = W


class Base:
    def __init__(self, s):
        self.s = s


class Sub(Base):
    def __init__(self):
        super().__init__(1.0)
        self.w = W


@dataclass
class Record:
    tag: str = "r"

    def __post_init__(self):
        self.q = W


def through_init():
    return np.sum(Holder().p ** 2)


def through_super_init():
    return np.sum(Sub().w ** 2)


def through_post_init():
    return np.sum(Record().q ** 2)


@pytest.mark.parametrize("loss", [through_init, through_super_init, through_post_init])
def test_a_parameter_read_from_a_global_in_a_constructor(loss):
    np.testing.assert_array_equal(fx.gradient(loss, fx.params(W))[W], 2 * W)


def cubic(x, k=1.0):
    return k * x**3


def misruled(x):
    return x**3


@forward_rule(misruled)
def misruled_jvp(args, targs):
    (x,), (t,) = args, targs
    return misruled(x), None if t is None else 2.0 * x * t  # wrong: 3 x**2


def test_check_grads_checks_forward_mode_with_keywords():
    check_grads(cubic, 1.5, forward=True, k=2.0)
    with pytest.raises(
        AssertionError, match=r"forward mode \(jvp\): forward mode gives .* random directions"
    ):
        check_grads(lambda x, k=1.0: misruled(x) * k, 2.0, forward=True, k=1.0)


def test_check_grads_checks_forward_mode_by_default():
    with pytest.raises(AssertionError, match=r"forward mode \(jvp\): forward mode gives"):
        check_grads(misruled, 2.0, order=1)
    check_grads(misruled, 2.0, order=2, forward=False)  # reverse mode only: its rule is right
