"""The differentiation API of shared/API.md: return conventions and semantics."""

import threading
from collections import namedtuple
from dataclasses import dataclass

import numpy as np
import pytest

import fluxpy as fx


def test_gradient_returns_one_entry_per_positional_argument():
    assert fx.gradient(lambda a, b, c: a * b, 2.0, 3.0, 4.0) == (3.0, 2.0, None)


def test_keyword_arguments_are_passed_and_get_no_gradient():
    assert fx.gradient(lambda x, scale=1.0: x * scale, 2.0, scale=3.0) == (3.0,)


def test_gradient_value_types_mirror_arguments():
    assert fx.gradient(lambda x: x * 2, 1)[0] == 2.0 and type(fx.gradient(lambda x: x * 2, 1)[0]) is float
    assert type(fx.gradient(lambda x: x * 2, np.float32(1))[0]) is float
    g32 = fx.gradient(lambda x: np.sum(x * 2.0), np.ones(3, np.float32))[0]
    assert g32.dtype == np.float32
    g32 = fx.gradient(lambda x: np.sum(x * np.float64(2.0)), np.ones(3, np.float32))[0]
    assert g32.dtype == np.float32
    g0 = fx.gradient(lambda x: x * 2.0, np.array(1.0))[0]
    assert isinstance(g0, np.ndarray) and g0.shape == ()
    assert fx.gradient(lambda t: t[0] * t[1], (2.0, 3.0)) == ((3.0, 2.0),)
    assert fx.gradient(lambda t: t[0] * t[1], [2.0, 3.0]) == ([3.0, 2.0],)
    assert fx.gradient(lambda d: d["a"] * 2.0, {"a": 1.0, "b": 5.0}) == ({"a": 2.0, "b": None},)


def test_none_where_nothing_flows():
    assert fx.gradient(lambda x, s, f, b, n: x * 2.0, 1.0, "s", np.sin, True, 3) == (
        2.0,
        None,
        None,
        None,
        None,
    )
    assert fx.gradient(lambda t, x: x * 2.0 if t[0] == "a" else x, ("a", "b"), 1.0) == (None, 2.0)


@dataclass
class Pair:
    w: np.ndarray
    name: str


def test_objects_give_tangents():
    p = Pair(np.array([1.0, 2.0]), "p")
    (dp,) = fx.gradient(lambda p: np.sum(p.w * p.w), p)
    assert isinstance(dp, fx.Tangent)
    np.testing.assert_array_equal(dp.w, [2.0, 4.0])
    np.testing.assert_array_equal(dp["w"], [2.0, 4.0])
    assert "Pair" in repr(dp)
    assert set(dp.keys()) == {"w"}


def test_closure_gradient_fields_are_captured_names():
    def linear(W, b):
        return lambda x: W * x + b

    (dm, dx) = fx.gradient(lambda m, x: m(x), linear(2.0, 1.0), 3.0)
    assert dm.W == 3.0 and dm.b == 1.0 and dx == 2.0


def test_pullback_can_be_called_many_times():
    y, back = fx.pullback(lambda x: x * x, 3.0)
    assert y == 9.0
    assert back(1.0) == (6.0,)
    assert back(2.0) == (12.0,)


def test_withgradient_with_auxiliary_outputs():
    val, grad = fx.withgradient(lambda x: (x * x, "aux", x + 1), 3.0)
    assert val == (9.0, "aux", 4.0)
    assert grad == (6.0,)


def test_forward_pass_runs_once():
    calls = []

    def f(x):
        calls.append(1)
        return x * x

    fx.gradient(f, 2.0)
    assert len(calls) == 1


def test_callers_arrays_are_not_mutated():
    x = np.array([1.0, 2.0])

    def f(x):
        x += 1.0
        return np.sum(x * x)

    g = fx.gradient(f, x)[0]
    np.testing.assert_array_equal(x, [1.0, 2.0])
    np.testing.assert_allclose(g, [4.0, 6.0])


def test_exceptions_escape_unchanged():
    def f(x):
        raise KeyError("mine")

    with pytest.raises(KeyError, match="mine"):
        fx.gradient(f, 1.0)


def test_differentiable_decorator_keeps_function_callable():
    @fx.differentiable
    def sq(x):
        return x * x

    assert sq(3.0) == 9.0
    assert fx.gradient(sq, 3.0) == (6.0,)


def test_nograd_and_dropgrad():
    @fx.nograd
    def constant_of(x):
        return x * 10

    assert fx.gradient(lambda x: x * constant_of(x), 2.0) == (20.0,)
    assert fx.gradient(lambda x: x * fx.dropgrad(x), 2.0) == (2.0,)


def test_checkpointed():
    assert fx.gradient(lambda x: fx.checkpointed(lambda t: t * t * t, x), 2.0) == (12.0,)


def test_custom_rule_registered_after_first_gradient_takes_effect():
    def my_square(x):
        return x * x

    def uses(x):
        return my_square(x) + 0.0

    assert fx.gradient(uses, 3.0) == (6.0,)

    @fx.adjoint(my_square)
    def my_square_rule(x):
        def my_square_pullback(dy):
            return (dy * 100.0,)

        return my_square(x), my_square_pullback

    assert fx.gradient(uses, 3.0) == (100.0,)


def test_threads_share_the_cache_safely():
    def f(x, k):
        return x * x * k

    results = []

    def work(k):
        for _ in range(20):
            results.append(fx.gradient(f, 3.0, float(k))[0] == 6.0 * k)

    threads = [threading.Thread(target=work, args=(k,)) for k in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert len(results) == 80 and all(results)


Point = namedtuple("Point", "x y")


def test_keyword_argument_gradients_inside_the_function():
    def scaled(x, scale=1.0):
        return x * scale

    assert fx.gradient(lambda s: scaled(2.0, scale=s), 3.0) == (2.0,)
    assert fx.gradient(lambda x: scaled(x), 3.0) == (1.0,)
    assert fx.gradient(lambda x, s: scaled(scale=s, x=x), 3.0, 5.0) == (5.0, 3.0)


def test_star_args_and_kwargs_forwarding():
    def inner(a, b):
        return a * b

    def wrapper(*args, **kwargs):
        return inner(*args, **kwargs)

    assert fx.gradient(wrapper, 2.0, 3.0) == (3.0, 2.0)
    assert fx.gradient(lambda a, b: wrapper(a, b=b), 2.0, 3.0) == (3.0, 2.0)


def test_non_scalar_output_suggests_pullback_and_jacobian():
    with pytest.raises(fx.FluxpyError, match="pullback") as info:
        fx.gradient(lambda x: x * 2.0, np.ones(3))
    assert "jacobian" in str(info.value)
    assert isinstance(info.value, fx.NonScalarError)


def test_dict_argument_is_not_mistaken_for_keyword_gradients():
    def f(d, scale=1.0):
        return d["a"] * scale

    assert fx.gradient(lambda d: f(d, scale=2.0), {"a": 3.0}) == ({"a": 2.0},)
    assert fx.gradient(lambda d, s: f(d, scale=s), {"a": 3.0}, 2.0) == ({"a": 2.0}, 3.0)


def test_keyword_only_parameters_and_kwargs_get_gradients_inside():
    def f(x, *, w, **extra):
        return x * w + extra["b"]

    assert fx.gradient(lambda x, w, b: f(x, w=w, b=b), 2.0, 3.0, 4.0) == (3.0, 2.0, 1.0)


def test_keyword_after_skipped_default():
    def f(x, a=1.0, b=2.0):
        return x * a * b

    assert fx.gradient(lambda x, w: f(x, b=w), 3.0, 5.0) == (5.0, 3.0)
    check = fx.gradient(lambda w: fx.gradient(lambda x, w: f(x, b=w), 3.0, w)[0], 5.0)
    assert check == (1.0,)


def test_keywords_named_like_the_dispatchers_parameters():
    """A callee's keyword may be called ``f``, ``mask``, ``obj`` or ``name``: the dispatchers generated
    code calls take their own leading parameters by position only."""

    def g(x, f=1.0, mask=1.0):
        return x * f * mask

    class A:
        def m(self, x, name=1.0, obj=1.0):
            return x * name * obj

    a = A()
    assert fx.gradient(lambda x: g(x, f=2.0, mask=3.0), 3.0) == (6.0,)
    assert fx.gradient(lambda x: g(x, f=x), 3.0) == (6.0,)
    assert fx.gradient(lambda x: a.m(x, name=2.0, obj=5.0), 3.0) == (10.0,)
    assert fx.gradient(lambda x: fx.gradient(lambda y: g(y, f=x) * y, x)[0], 3.0) == (12.0,)  # 2x², at x = 3
    assert fx.gradient(g, 3.0, f=2.0) == (2.0,)
