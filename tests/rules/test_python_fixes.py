"""Gradients of divmod, dict union, dicts with repeated keys, max/min over pairs, and powers at 0."""

import warnings

import numpy as np
import pytest

import fluxpy as fx
from fluxpy.testing import check_grads

X4 = np.array([0.7, -1.3, 2.1, 0.4])


# ---------------------------------------------------------------------------------------------------------
# 1. divmod: the quotient has no gradient; the remainder is a - q * b


def divmod_remainder(x):
    q, r = divmod(x * 2.0 + 0.3, 1.0)
    return r


def divmod_both(a, b):
    q, r = divmod(a, b)
    return 3.0 * r + q


def divmod_quotient(a, b):
    q, r = divmod(a, b)
    return q * 1.0 + a


def divmod_arrays(a, b):
    q, r = divmod(a, b)
    return np.sum(r * r) + np.sum(q)


def divmod_array_scalar(a, b):
    return np.sum(divmod(a, b)[1] ** 3)


def divmod_list_array(x):
    return np.sum(divmod([x[0], x[1]], np.array([0.6, 0.9]))[1] * x[2])


def divmod_list_number(x):
    return divmod([x[0], x[1]], 0.6)[1]


B4 = np.array([0.8, 1.3, 0.7, 1.1])
# a / b well inside (k, k + 1): no jump of the quotient within a finite-difference step
RATIOS = np.array([[0.4, 2.3, -1.6, 3.7], [1.5, -0.7, 4.2, 0.3], [-2.6, 0.45, 1.75, 2.35]])
A34 = B4 * RATIOS


def test_divmod_examples():
    assert fx.gradient(divmod_remainder, 1.3) == (2.0,)
    assert fx.gradient(divmod_both, 2.3, 1.1) == (3.0, -6.0)
    ga, gb = fx.gradient(divmod_quotient, 2.3, 1.1)
    assert ga == 1.0 and not gb  # None or 0: the quotient is piecewise constant


@pytest.mark.parametrize(
    "f, args",
    [
        (divmod_remainder, (1.3,)),
        (divmod_both, (2.3, 1.1)),
        (divmod_both, (-2.3, 1.1)),
        (divmod_arrays, (A34, B4)),
        (divmod_array_scalar, (0.6 * RATIOS, 0.6)),
        (divmod_list_array, (X4,)),
    ],
)
def test_divmod_grads(f, args):
    check_grads(f, *args, order=2, forward=True)


def test_divmod_list_and_number_is_refused_as_in_python():
    with pytest.raises(TypeError):
        fx.gradient(divmod_list_number, X4)
    with pytest.raises(TypeError):
        fx.jvp(divmod_list_number, (X4,), (X4,))


def test_divmod_arrays_values():
    ga, gb = fx.gradient(divmod_arrays, A34, B4)
    q, r = np.divmod(A34, B4)
    np.testing.assert_allclose(ga, 2 * r)
    np.testing.assert_allclose(gb, np.sum(-2 * r * q, axis=0))


def test_divmod_jvp():
    y, t = fx.jvp(divmod_both, (2.3, 1.1), (1.0, 0.5))
    assert y == pytest.approx(3.0 * (2.3 % 1.1) + 2.0)
    assert t == pytest.approx(3.0 - 6.0 * 0.5)


# ---------------------------------------------------------------------------------------------------------
# 2. dict union: keys of the right operand win


def dict_union(x):
    d = {"a": x[0]} | {"b": x[1]}
    return d["a"] * 2 + d["b"] * 3


def dict_union_update(x):
    d = {"a": x[0]}
    d |= {"b": x[1], "a": x[2]}
    return d["a"] * 2 + d["b"] * 3


def dict_union_overlap(x):
    left = {"a": x[0], "b": x[1], "c": x[2]}
    d = left | {"b": x[3] * x[3]}
    return d["a"] * d["b"] + d["c"] ** 2 + left["b"] * 5


def union_of_ints_and_sets(x):
    k = 3 | 4
    s = {1, 2} | {2, 5}
    flag = True | False
    return x * k + len(s) + flag


def test_dict_union_examples():
    x = np.array([1.0, 2.0, 3.0])
    np.testing.assert_allclose(fx.gradient(dict_union, x)[0], [2.0, 3.0, 0.0])
    np.testing.assert_allclose(fx.gradient(dict_union_update, x)[0], [0.0, 3.0, 2.0])
    assert fx.gradient(union_of_ints_and_sets, 1.5) == (7.0,)


@pytest.mark.parametrize("f", [dict_union, dict_union_update, dict_union_overlap])
def test_dict_union_grads(f):
    check_grads(f, X4, order=2, forward=True)


def test_dict_union_overlap_values():
    (g,) = fx.gradient(dict_union_overlap, X4)
    np.testing.assert_allclose(g, [X4[3] ** 2, 5.0, 2 * X4[2], 2 * X4[3] * X4[0]])


# ---------------------------------------------------------------------------------------------------------
# 3. dicts with a repeated key keep its last value: only that one has a gradient


def dict_comprehension_repeats(x):
    d = {i % 2: x[i] for i in range(4)}
    return d[0] * 3 + d[1]


def dict_display_repeats(x):
    d = {"a": x[0], "b": x[2], "a": x[1]}  # noqa: F601  (the repeated key is the point)
    return d["a"] * 3 + d["b"]


def dict_equal_keys(x):
    d = {1: x[0], 1.0: x[1]}  # noqa: F601
    return d[1] * 3


def dict_zip_repeats(x):
    d = dict(zip([0, 1, 0], [x[0], x[1], x[2]], strict=True))
    return d[0] * 3 + d[1]


def dict_comprehension_squares(x):
    d = {int(i > 1): x[i] * x[i] for i in range(4)}
    total = 0.0
    for v in d.values():
        total = total + v * v
    return total


@pytest.mark.parametrize(
    "f, expected",
    [
        (dict_comprehension_repeats, [0.0, 0.0, 3.0, 1.0]),
        (dict_display_repeats, [0.0, 3.0, 1.0, 0.0]),
        (dict_equal_keys, [0.0, 3.0, 0.0, 0.0]),
        (dict_zip_repeats, [0.0, 1.0, 3.0, 0.0]),
    ],
)
def test_dict_repeated_keys_examples(f, expected):
    x = np.array([1.0, 2.0, 3.0, 4.0])
    np.testing.assert_allclose(fx.gradient(f, x)[0], expected)


@pytest.mark.parametrize(
    "f",
    [
        dict_comprehension_repeats,
        dict_display_repeats,
        dict_equal_keys,
        dict_zip_repeats,
        dict_comprehension_squares,
    ],
)
def test_dict_repeated_keys_grads(f):
    check_grads(f, X4, order=2, forward=True)


# ---------------------------------------------------------------------------------------------------------
# 4. max/min over pairs: the chosen pair's entries get the cotangent


def max_item_by_value(x):
    d = {"a": x[0], "b": x[1], "c": x[2]}
    k, v = max(d.items(), key=lambda kv: kv[1])
    return v * 2


def max_of_pairs(x):
    p = max([(x[0], x[1]), (x[2], x[3])])
    return p[0] * 2 + p[1] * 5


def min_of_pairs(x):
    p = min((x[0], x[1] * x[1]), (x[2], x[3]))
    return p[0] * p[1]


def max_of_lists(x):
    p = max([[x[0], x[1]], [x[2], x[3]], [x[0] - 1.0, x[3]]])
    return p[0] * p[1] + p[1]


def max_pair_by_key(x):
    pairs = [(x[i], x[(i + 1) % 4]) for i in range(4)]
    a, b = max(pairs, key=lambda p: p[0] * p[1])
    return a * a * b


def max_tied_numbers(x):
    return max(x[0], x[0], x[1])


def test_max_min_pairs_examples():
    x = np.array([1.0, 2.0, 3.0, 4.0])
    np.testing.assert_allclose(fx.gradient(max_item_by_value, np.array([1.0, 5.0, 3.0]))[0], [0.0, 2.0, 0.0])
    np.testing.assert_allclose(fx.gradient(max_of_pairs, x)[0], [0.0, 0.0, 2.0, 5.0])
    np.testing.assert_allclose(fx.gradient(min_of_pairs, x)[0], [4.0, 4.0, 0.0, 0.0])
    # a tie between pairs: Python returns the first, which alone gets the cotangent
    tied = np.array([3.0, 4.0, 3.0, 4.0])
    np.testing.assert_allclose(fx.gradient(max_of_pairs, tied)[0], [2.0, 5.0, 0.0, 0.0])
    # ties between numbers still share it
    np.testing.assert_allclose(fx.gradient(max_tied_numbers, np.array([2.0, 1.0]))[0], [1.0, 0.0])


@pytest.mark.parametrize("f", [max_item_by_value, max_of_pairs, min_of_pairs, max_of_lists, max_pair_by_key])
def test_max_min_pairs_grads(f):
    check_grads(f, X4 if f is not max_item_by_value else X4[:3], order=2, forward=True)


# ---------------------------------------------------------------------------------------------------------
# 5. powers with exponent 0 or 1 at 0: zero, and dy passed through, with no nan


def power_zero(x):
    return x**0


def power_zero_sum(x):
    return np.sum(x**0 * 3.0)


def power_one_np(x):
    return np.sum(np.power(x, 1.0))


def power_one_loop(x):
    total = 0.0
    for _ in range(2):
        total = total + x**1  # in a loop: the rule, not the inlined arithmetic
    return np.sum(total * total)


def power_zero_loop(x):
    total = 0.0
    for _ in range(2):
        total = total + x**0 * x
    return np.sum(total)


def power_variable_exponent(x, p):
    return np.sum(np.power(x, p))


def test_power_at_zero_examples():
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # no 0 * inf on the way
        assert fx.gradient(power_zero, 0.0) == (0.0,)
        np.testing.assert_array_equal(fx.gradient(power_zero_sum, np.array([0.0, 2.0]))[0], [0.0, 0.0])
        h = fx.hessian(power_one_np, np.array([0.0, 2.0]))
        np.testing.assert_array_equal(h, np.zeros((2, 2)))
        np.testing.assert_array_equal(fx.gradient(power_one_np, np.array([0.0, 2.0]))[0], [1.0, 1.0])
        np.testing.assert_array_equal(fx.hessian(power_one_loop, np.array([0.0, 2.0])), 8.0 * np.eye(2))
        np.testing.assert_array_equal(fx.gradient(power_zero_loop, np.array([0.0, 2.0]))[0], [2.0, 2.0])


def test_power_zero_hessian_forward_over_reverse():
    """fx.hessian is forward over reverse: power_by_constant's forward rule of its rule special-cases the
    exponents 0 and 1 as its pullbacks do (b * a ** (b - 1) would be 0 * inf at a = 0)."""
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        h = fx.hessian(power_zero_loop, np.array([0.0, 2.0]))
    np.testing.assert_array_equal(h, np.zeros((2, 2)))


def test_power_at_zero_forward():
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        y, t = fx.jvp(power_zero, (0.0,), (1.0,))
        assert y == 1.0 and not t
        y, t = fx.jvp(power_one_loop, (np.array([0.0, 2.0]),), (np.array([1.0, 1.0]),))
        assert t == pytest.approx(8.0 * 2.0)


ZERO_AND_MORE = np.array([0.0, 0.5, 2.0])


@pytest.mark.parametrize("f", [power_zero_sum, power_one_np, power_one_loop, power_zero_loop])
def test_power_at_zero_grads(f):
    check_grads(f, ZERO_AND_MORE, order=2, forward=True)


@pytest.mark.parametrize("p", [0.0, 1.0, 2.5])
def test_power_variable_exponent(p):
    # the exponent is differentiated too: its mixed second derivative is not lost at p = 0 or 1
    check_grads(power_variable_exponent, np.array([0.5, 1.5, 2.0]), p, order=2, forward=True)


def test_power_scalar_variable_exponent():
    check_grads(lambda x, p: x**p, 1.7, 0.0, order=2, forward=True)
    check_grads(lambda x, p: x**p, 1.7, 1.0, order=2, forward=True)
