"""Arrays passed by keyword to functions with rules get their gradients (they used to get None silently),
and a keyword argument whose gradient a rule cannot give raises when one is needed."""

import functools

import numpy as np
import pytest

import fluxpy as fx
from fluxpy.testing import check_grads

A = 2 * np.eye(3) + 0.1
X = np.array([3.0, 4.0, 1.0])


def norm_by_keyword(x):
    return np.linalg.norm(x=x)


def solve_by_keywords(x):
    return np.sum(np.linalg.solve(a=A * x[0], b=x))


def stack_by_keyword(x):
    return np.sum(np.stack(arrays=[x, x**2]))


def average_weights(x):
    return np.average(x, weights=x**2)


def clip_bound_by_keyword(x):
    return np.sum(np.clip(x, a_min=x[2] * 2, a_max=None))


def full_like_fill_value(x):
    return np.sum(np.full_like(x, fill_value=x[0]))


def sum_of_a(x):
    return np.sum(np.sum(a=x * 2, axis=0))


def builtin_sum_start(x):
    return sum([x[0], x[1]], start=x[2])


@pytest.mark.parametrize(
    "f",
    [
        norm_by_keyword,
        solve_by_keywords,
        stack_by_keyword,
        average_weights,
        clip_bound_by_keyword,
        full_like_fill_value,
        sum_of_a,
        builtin_sum_start,
    ],
)
def test_arrays_passed_by_keyword_get_their_gradients(f):
    check_grads(f, X, order=2, forward=True)


def test_exact_gradients_of_keyword_arguments():
    (g,) = fx.gradient(norm_by_keyword, np.array([3.0, 4.0]))
    np.testing.assert_allclose(g, [0.6, 0.8])
    assert fx.gradient(builtin_sum_start, X)[0].tolist() == [1.0, 1.0, 1.0]


def clip_keyword_only_bound(x, lo):
    return np.sum(np.clip(x, min=lo))


def test_a_keyword_the_rule_gives_no_gradient_raises_when_one_is_needed():
    """np.clip's keyword-only min= cannot be moved to a position: its rule gives it no gradient, so asking
    for one raises (naming the line) instead of returning None."""
    with pytest.raises(fx.FluxpyError, match="no gradient for its keyword argument min=") as info:
        fx.gradient(clip_keyword_only_bound, np.array([0.0, 1.0]), 0.5)
    assert "test_keyword_arguments.py" in str(info.value)
    # a constant keyword (no gradient needed) is fine
    (g,) = fx.gradient(lambda x: clip_keyword_only_bound(x, 0.5), np.array([0.0, 1.0]))
    np.testing.assert_array_equal(g, [0.0, 1.0])


def _scaled(a, b=1.0, c=2.0):
    return a * b**2 * c


def partial_keyword_overridden(x):
    p = functools.partial(_scaled, b=x[0])
    return p(x[1]) + p(x[1], b=x[2])  # the second call's b replaces the bound one


def partial_of_partial(x):
    p = functools.partial(functools.partial(_scaled, x[0]), x[1])  # Python flattens it: args (x0, x1)
    return p(x[2])


def partial_of_partial_keywords(x):
    p = functools.partial(functools.partial(_scaled, b=x[0]), b=x[1], c=x[2])
    return p(x[0])


def partial_called_twice(x):
    p = functools.partial(functools.partial(_scaled, x[0], c=x[1]), x[2])
    return p() + p(c=x[0])


@pytest.mark.parametrize(
    "f", [partial_keyword_overridden, partial_of_partial, partial_of_partial_keywords, partial_called_twice]
)
def test_functools_partial_keyword_overrides_and_nesting(f):
    """A keyword given again at the call overrides the partial's (its gradient went to both), and a partial
    of a partial is flattened by Python (the outer one's cotangent was read with the inner one's arguments
    shifted): both were silently wrong in reverse mode."""
    check_grads(f, np.array([0.5, 1.5, 2.0]), order=2, forward=True)


def test_partial_keyword_override_gradient_value():
    x = np.array([0.5, 1.5, 2.0])
    (g,) = fx.gradient(partial_keyword_overridden, x)
    # f = 2 * x1 * x0**2 + 2 * x1 * x2**2 (c = 2)
    np.testing.assert_allclose(g, [4 * x[1] * x[0], 2 * x[0] ** 2 + 2 * x[2] ** 2, 4 * x[1] * x[2]])


def scaled(x, c=2.0, *, p=2):
    return c * x**p


def test_defaults_reassigned_after_a_gradient_take_effect():
    # the forward function made for a function with defaults is reused while they are the same objects
    assert fx.gradient(scaled, 3.0) == (12.0,)
    assert fx.gradient(lambda x: scaled(x) + scaled(x, 1.0), 3.0) == (18.0,)
    saved = scaled.__defaults__, scaled.__kwdefaults__
    try:
        scaled.__defaults__ = (5.0,)
        assert fx.gradient(scaled, 3.0) == (30.0,)
        scaled.__kwdefaults__ = {"p": 3}
        assert fx.gradient(scaled, 3.0) == (135.0,)
        assert fx.gradient(lambda x: scaled(x), 3.0) == (135.0,)
    finally:
        scaled.__defaults__, scaled.__kwdefaults__ = saved
    assert fx.gradient(lambda x: scaled(x), 3.0) == (12.0,)
