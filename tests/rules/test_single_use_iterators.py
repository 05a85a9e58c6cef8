"""Generator expressions, ``zip``, ``enumerate``, ``reversed`` and ``itertools``' iterators are read once, as
in Python: a second read sees only what the first left (fluxpy used to build lists, which a second read saw
in full: a wrong value and gradient)."""

import itertools

import numpy as np
import pytest

import fluxpy as fx
from fluxpy.testing import check_grads

X = np.array([0.5, 1.5, 2.0, 3.0])


def genexp_read_twice(x):
    g = (v * 2 for v in x)
    return max(g) + sum(g)


def genexp_next_then_sum(x):
    g = (v * v for v in x)
    first = next(g)
    return first * 10 + sum(g)


def _take_two(it):
    return next(it) * next(it)


def genexp_to_user_function(x):
    g = (v + 1 for v in x)
    return _take_two(g) + sum(g)


def zip_read_twice(x):
    z = zip(x, x[::-1])
    a = sum(p * q for p, q in z)
    return a + sum(p for p, _ in z)


def enumerate_next_then_loop(x):
    en = enumerate(x)
    _, v0 = next(en)
    s = 0.0
    for i, v in en:
        s = s + i * v * v0
    return s + sum(v for _, v in en)


def reversed_next_then_sum(x):
    rv = reversed(x)
    first = next(rv)
    return first * sum(v for v in rv) + sum(v for v in rv)


def zip_left_by_break(x):
    z = zip(x, x[::-1])
    s = 0.0
    for a, b in z:
        s = s + a * b
        if s > 1.0:
            break
    for a, b in z:
        s = s + a * a * b
    return s


def read_once_builtins(x):
    # a generator passed straight to a builtin that reads it once is built as a plain list
    total = sum(v * v for v in x) + max((v for v in x), default=0.0) + min(v * 3 for v in x)
    ordered = sorted((v * 2 for v in x), key=lambda v: -v)
    label = ",".join(str(int(v > 1)) for v in x)
    return total + ordered[0] * len(label) + sum(a * b for a, b in zip((v for v in x), x))


def generator_in_a_loop(x):
    total = 0.0
    for v in (u * 2 for u in x):
        total = total + v * v
    return total


ITERATOR_CASES = [
    genexp_read_twice,
    genexp_next_then_sum,
    genexp_to_user_function,
    zip_read_twice,
    enumerate_next_then_loop,
    reversed_next_then_sum,
    zip_left_by_break,
    read_once_builtins,
    generator_in_a_loop,
]


@pytest.mark.parametrize("f", ITERATOR_CASES)
def test_read_once(f):
    value, (g,) = fx.withgradient(f, X)
    assert np.isclose(value, f(X))
    check_grads(f, X, order=2, forward=True)


def test_second_read_sees_nothing():
    # Python: max takes every item, so sum(g) is 0 and only the largest item has a gradient
    value, (g,) = fx.withgradient(genexp_read_twice, [1.0, 2.0])
    assert value == 4.0
    assert g == [None, 2.0]


def test_zip_result_is_not_a_list():
    def index_zip(x):
        return zip(x, x)[0][0]

    with pytest.raises(TypeError):
        fx.gradient(index_zip, X)


class Reversible:
    def __init__(self, xs):
        self.xs = xs

    def __reversed__(self):
        return iter([self.xs[1] * 2, self.xs[0] * 3])


def user_reversed(x):
    a, b = reversed(Reversible([x[0], x[1]]))
    return a * b * x[0]


def test_user_reversed():
    # a class's own __reversed__ is differentiated (its items' cotangent was given to the object as a tuple)
    assert np.allclose(fx.gradient(user_reversed, X[:2])[0], [12 * X[0] * X[1], 6 * X[0] ** 2])
    check_grads(user_reversed, X[:2], order=2, forward=True)


# ---------------------------------------------------------------------------------------------------------
# itertools


def combinations(x):
    return sum(a * b for a, b in itertools.combinations(x, 2))


def combinations_with_replacement(x):
    return sum(a * b for a, b in itertools.combinations_with_replacement(x, 2))


def permutations(x):
    return sum(a * b * b for a, b in itertools.permutations(x, 2))


def pairwise(x):
    return sum(a * b for a, b in itertools.pairwise(x))


def islice_leaves_the_rest(x):
    it = iter(x)
    a = sum(v * 2 for v in itertools.islice(it, 2))
    return a * next(it) + sum(itertools.islice(x, 1, None, 2))


def accumulate(x):
    return sum(itertools.accumulate(x)) + sum(itertools.accumulate(x, lambda a, b: a * b, initial=2.0))


def zip_longest(x):
    return sum(a * (b or 1.0) for a, b in itertools.zip_longest(x, x[:2]))


def starmap(x):
    return sum(itertools.starmap(lambda a, b: a * b, zip(x, x[::-1])))


def compress(x):
    return sum(itertools.compress(x, [1, 0, 1, 1]))


def takewhile_uses_up_one(x):
    it = iter(x)
    a = sum(v * v for v in itertools.takewhile(lambda v: v < 1.0, it))
    return a + sum(it) * 3  # the item takewhile stopped at is gone


def dropwhile_filterfalse(x):
    kept = sum(v * v for v in itertools.dropwhile(lambda v: v < 1.0, x))
    return kept + sum(itertools.filterfalse(lambda v: v > 1.0, x))


def chain_from_iterable(x):
    return sum(v * v for v in itertools.chain.from_iterable([x, x[:1]]))


def product_read_twice(x):
    p = itertools.product(x[:2], x[2:])
    first = next(p)
    return first[0] * first[1] + sum(a * b for a, b in p) + len(list(p))


ITERTOOLS_CASES = [
    combinations,
    combinations_with_replacement,
    permutations,
    pairwise,
    islice_leaves_the_rest,
    accumulate,
    zip_longest,
    starmap,
    compress,
    takewhile_uses_up_one,
    dropwhile_filterfalse,
    chain_from_iterable,
    product_read_twice,
]


@pytest.mark.parametrize("f", ITERTOOLS_CASES)
def test_itertools(f):
    value = fx.withgradient(f, X)[0]
    assert np.isclose(value, f(X))
    check_grads(f, X, order=2, forward=True)


def test_islice_bad_arguments():
    def negative(x):
        return sum(itertools.islice(x, -1))

    with pytest.raises(ValueError):
        fx.gradient(negative, X)


# A loop over an iterator whose body takes items from it too (an inner loop over it, sum(it), zip(it), a
# comprehension): the loop takes one item at a time, so the body sees the items it has not taken. The loop
# read them all up front (value 0, no gradient, or max() of an empty sequence).


def pairs_by_nested_loops(x):
    it = iter(x)
    s = 0.0
    for a in it:
        for b in it:
            s = s + a * b
            break
    return s


def sum_of_the_rest(x):
    it = iter(x)
    s = 0.0
    for a in it:
        s = s + a * sum(it)
    return s


def comprehension_over_one_iterator(x):
    it = iter(x)
    return sum([a * b for a in it for b in it])


def max_of_the_rest(x):
    it = iter(x)
    for a in it:
        return a * max(it)


def zip_of_the_rest(x):
    it = iter(x * 1.5)
    s = 0.0
    for a in it:
        for b, c in zip(it, it):
            s = s + a * b - c
    return s


def generator_consumed_in_its_loop(x):
    g = (v**2 for v in x)
    s = 0.0
    for a in g:
        s = s + a * next(g, 0.0) + sum(g)
    return s


@pytest.mark.parametrize(
    "f",
    [
        pairs_by_nested_loops,
        sum_of_the_rest,
        comprehension_over_one_iterator,
        max_of_the_rest,
        zip_of_the_rest,
        generator_consumed_in_its_loop,
    ],
)
def test_a_loop_shares_its_iterator_with_its_body(f):
    x = np.array([0.7, -1.2, 1.9, 0.4, 1.1])
    value = fx.withgradient(f, x)[0]
    assert np.isclose(value, f(x))
    check_grads(f, x, order=2, forward=True)


def test_a_list_read_in_its_own_loop_is_iterated_as_before():
    def pairs(x):
        xs = [x[i] for i in range(3)]
        s = 0.0
        for a in xs:
            for b in xs:
                s = s + a * b
        return s

    assert "__fx_range" in fx.adjoint_source(pairs)  # by index: a list is not used up
    check_grads(pairs, np.array([0.5, -1.0, 2.0]), order=2, forward=True)
