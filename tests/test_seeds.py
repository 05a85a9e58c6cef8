"""Every gradient example of shared/seeds/, translated to Python, with the seeds' values."""

from collections import namedtuple

import numpy as np

import fluxpy as fx


def f(x):
    return 3 * x**2 + 2 * x + 1


def df(x):
    return fx.gradient(f, x)[0]


def d2f(x):
    return fx.gradient(df, x)[0]


def test_polynomial_gradient_at_2_and_1():
    assert fx.gradient(f, 2) == (14.0,)
    assert fx.gradient(f, 2.0) == (14.0,)
    assert fx.gradient(f, 1) == (8.0,)
    assert isinstance(fx.gradient(f, 2)[0], float)


def test_second_derivative():
    assert df(2) == 14.0
    assert d2f(2) == 6.0
    assert d2f(2.0) == 6.0


def sum_sq(x, y):
    return np.sum((x - y) ** 2)


def test_two_array_arguments_with_int_inputs():
    gx, gy = fx.gradient(sum_sq, np.array([2, 1]), np.array([2, 0]))
    np.testing.assert_array_equal(gx, [0.0, 2.0])
    np.testing.assert_array_equal(gy, [-0.0, -2.0])
    assert gx.dtype == np.float64 and gy.dtype == np.float64


NT = namedtuple("NT", "a b c")


def g(x):
    return np.sum(np.abs(x["a"] - x["b"]) ** 2) if isinstance(x, dict) else np.sum(np.abs(x.a - x.b) ** 2)


def test_named_tuple_as_dict():
    nt = {"a": np.array([2, 1]), "b": np.array([2, 0]), "c": np.tanh}
    assert g(nt) == 1
    (dg,) = fx.gradient(g, nt)
    assert set(dg) == {"a", "b", "c"}
    np.testing.assert_array_equal(dg["a"], [0.0, 2.0])
    np.testing.assert_array_equal(dg["b"], [-0.0, -2.0])
    assert dg["c"] is None


def test_named_tuple_as_namedtuple():
    nt = NT(np.array([2, 1]), np.array([2, 0]), np.tanh)
    (dg,) = fx.gradient(g, nt)
    assert type(dg) is NT
    np.testing.assert_array_equal(dg.a, [0.0, 2.0])
    np.testing.assert_array_equal(dg.b, [-0.0, -2.0])
    assert dg.c is None


def test_anonymous_functions():
    nt = NT(np.array([2, 1]), np.array([2, 0]), np.tanh)
    dnt, dy = fx.gradient(lambda x, y: np.sum(np.abs(x.a / y - x.b) ** 2), nt, np.array([1, 2]))
    np.testing.assert_allclose(dnt.a, [0.0, 0.5])
    np.testing.assert_allclose(dnt.b, [-0.0, -1.0])
    assert dnt.c is None
    np.testing.assert_allclose(dy, [-0.0, -0.25])


def do_block(x, y):
    z = x.a / y
    return np.sum(np.abs(z - x.b) ** 2)


def test_do_block():
    nt = NT(np.array([2, 1]), np.array([2, 0]), np.tanh)
    dnt, dy = fx.gradient(do_block, nt, np.array([1, 2]))
    np.testing.assert_allclose(dnt.a, [0.0, 0.5])
    np.testing.assert_allclose(dy, [-0.0, -0.25])


def test_withgradient():
    nt = NT(np.array([2, 1]), np.array([2, 0]), np.tanh)
    res = fx.withgradient(g, nt)
    assert res.val == 1
    (dg,) = res.grad
    np.testing.assert_array_equal(dg.a, [0.0, 2.0])
    assert dg.c is None
    val, grad = res
    assert val == 1
