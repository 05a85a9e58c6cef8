"""Rules for Python operators and builtins: one row each through check_grads (first and second order)."""

import builtins
import enum
import math
import operator

import numpy as np
import pytest

import fluxpy as fx
from fluxpy.runtime import call
from fluxpy.testing import check_grads

rng = np.random.default_rng(0)
A = rng.standard_normal((3, 4))
B = rng.standard_normal(4)
P = rng.uniform(0.5, 2.0, (3, 4))

ROWS = [
    ("add", operator.add, (A, B)),
    ("add-scalar", operator.add, (1.5, 2.5)),
    ("add-array-scalar", operator.add, (A, 2.0)),
    ("sub", operator.sub, (A, B)),
    ("sub-scalar", operator.sub, (1.5, 2.5)),
    ("mul", operator.mul, (A, B)),
    ("mul-scalar", operator.mul, (1.5, -2.5)),
    ("mul-keepdims-shape", operator.mul, (A, rng.standard_normal((3, 1)))),
    ("truediv", operator.truediv, (A, P)),
    ("truediv-scalar", operator.truediv, (1.5, 2.5)),
    ("pow-array", operator.pow, (P, 2.5)),
    ("pow-int-exponent", operator.pow, (A, 3)),
    ("pow-array-exponent", operator.pow, (P, rng.standard_normal(4))),
    ("pow-scalar", operator.pow, (1.5, 2.5)),
    ("pow-builtin", builtins.pow, (1.5, 2.5)),
    ("neg", operator.neg, (A,)),
    ("pos", operator.pos, (A,)),
    ("mod", operator.mod, (P * 3, 0.7)),
    ("abs-scalar", builtins.abs, (-1.5,)),
    ("abs-array", builtins.abs, (A,)),
    ("np.add", np.add, (A, B)),
    ("np.multiply", np.multiply, (A, B)),
    ("np.divide", np.divide, (A, P)),
    ("np.power", np.power, (P, 1.5)),
    ("np.negative", np.negative, (A,)),
    ("float", float, (np.array(1.5),)),
    ("sum-array-rows", builtins.sum, (A,)),
    ("max-two", builtins.max, (1.5, 2.5)),
    ("min-two", builtins.min, (1.5, 2.5)),
    ("max-array", builtins.max, (B,)),
]


@pytest.mark.parametrize("primal, args", [r[1:] for r in ROWS], ids=[r[0] for r in ROWS])
def test_first_order(primal, args):
    check_grads(primal, *args, order=1)


@pytest.mark.second_order
@pytest.mark.parametrize("primal, args", [r[1:] for r in ROWS], ids=[r[0] for r in ROWS])
def test_second_order(primal, args):
    check_grads(primal, *args, order=2)


def test_containers():
    assert fx.gradient(lambda t: builtins.sum(t), (1.0, 2.0)) == ((1.0, 1.0),)
    assert fx.gradient(lambda t: builtins.max(t), [1.0, 3.0, 3.0]) == ([None, 0.5, 0.5],)
    assert fx.gradient(lambda a, b: builtins.sum([a, b, a]), 1.0, 2.0) == (2.0, 1.0)
    assert fx.gradient(lambda t: (t + t)[3], (1.0, 2.0)) == ((None, 1.0),)
    assert fx.gradient(lambda x: ([x] * 3)[2] * 2.0, 1.0) == (2.0,)
    assert fx.gradient(lambda x: builtins.max([x, 2 * x], key=lambda v: -v), 1.0) == (1.0,)


def test_zip_enumerate_sorted_reversed():
    def f(xs, ys):
        total = 0.0
        for i, (x, y) in enumerate(zip(xs, ys)):
            total = total + i * x * y
        return total

    assert fx.gradient(f, [1.0, 2.0, 3.0], (4.0, 5.0)) == ([0.0, 5.0, None], (0.0, 2.0))
    assert fx.gradient(lambda xs: sorted(xs)[0] * 10.0, [3.0, 1.0, 2.0]) == ([None, 10.0, None],)
    assert fx.gradient(lambda xs: list(reversed(xs))[0] * 10.0, [3.0, 1.0]) == ([None, 10.0],)


def test_iterating_array_rows():
    x = np.arange(6.0).reshape(3, 2)

    def f(x):
        s = 0.0
        for row in x:
            s = s + row[0] * row[1]
        return s

    np.testing.assert_array_equal(fx.gradient(f, x)[0], x[:, ::-1])


def test_ties_split_evenly():
    assert fx.gradient(builtins.max, 2.0, 2.0) == (0.5, 0.5)
    assert fx.gradient(builtins.min, 1.0, 1.0, 3.0) == (0.5, 0.5, None)


def test_nondifferentiable_builtins_give_no_gradient():
    for f, args in [(len, ([1.0, 2.0],)), (operator.lt, (1.0, 2.0)), (round, (1.4,)), (int, (1.7,))]:
        y, pb = call(f, *args)
        assert all(g is None for g in pb(1.0))


def test_math_scalar_fast_paths_return_floats():
    g = fx.gradient(lambda x: math.sin(x) * x**2, 0.5)[0]
    assert type(g) is float
    assert g == pytest.approx(math.cos(0.5) * 0.25 + math.sin(0.5) * 1.0)


class Color(enum.Enum):
    RED = 2.0
    BLUE = 3.0


class Level(enum.IntEnum):
    LOW = 2


def scaled_by_value(x, c):
    return x * x * c.value


def scaled_by_int_enum(x, c):
    return x * c  # an IntEnum is an int to NumPy, and a label to fluxpy


@pytest.mark.parametrize("f, c", [(scaled_by_value, Color.RED), (scaled_by_int_enum, Level.LOW)])
def test_an_enum_member_argument_gets_no_gradient(f, c):
    x = np.array([1.5, -2.0])
    g = fx.gradient(lambda x, c: np.sum(f(x, c)), x, c)
    assert g[1] is None  # was Tangent[Color](value=...) for c.value
    y, back = fx.pullback(f, x, c)
    assert back(np.ones(2))[1] is None
    np.testing.assert_allclose(fx.jvp(f, (x, c), (np.ones(2), None))[1], fx.jacobian(f, x, c)[0].sum(1))
    assert fx.jacobian(f, x, c)[1] is None
    check_grads(f, x, c, order=2)


def test_an_enum_members_value_read_from_a_global_still_scales_the_gradient():
    assert fx.gradient(lambda x: x * x * Color.BLUE.value, 1.5) == (9.0,)
