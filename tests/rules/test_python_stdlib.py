"""Rules for statistics' means, medians and variances, heapq.nsmallest/nlargest and functools' wrapper
helpers (fluxpy/rules/python_stdlib.py): values as the library computes them, gradients checked against
finite differences to second order in both modes."""

import functools
import heapq
import statistics

import numpy as np
import pytest

import fluxpy as fx
from fluxpy.testing import check_grads

X = np.array([1.3, -0.4, 2.2, 0.9, 3.1])


def means(x):
    items = list(x)
    return statistics.mean(items) * statistics.fmean(tuple(items)) + statistics.fmean(v * v for v in items)


def medians(x):
    return statistics.median(list(x)) + statistics.median(list(x[:4])) * 2 + statistics.median(iter(x[1:]))


def spreads(x):
    items = list(x)
    return (
        statistics.pvariance(items)
        + statistics.variance(items) * 2
        + statistics.pstdev(items)
        + statistics.stdev(tuple(items))
        + statistics.pvariance(items, 0.5)
        + statistics.variance(items, x[0])
        + statistics.stdev(v * 2 for v in items)
    )


def smallest(x):
    low = heapq.nsmallest(2, list(x))
    high = heapq.nlargest(2, list(x), key=lambda v: -abs(v - 1.0))
    return low[0] * 3 + low[1] + high[0] * high[1]


@pytest.mark.parametrize("f", [means, medians, spreads, smallest])
def test_gradients(f):
    check_grads(f, X, order=2, forward=True)


def test_values_and_gradients_by_hand():
    items = list(X)
    assert fx.jvp(means, (X,), (np.zeros(5),))[0] == means(X)
    g = fx.gradient(lambda x: statistics.pvariance(list(x)), X)[0]
    np.testing.assert_allclose(g, 2 * (X - X.mean()) / 5)
    g = fx.gradient(lambda x: statistics.median(list(x)), X)[0]
    np.testing.assert_array_equal(g, [1.0, 0.0, 0.0, 0.0, 0.0])  # the middle of 1.3, -0.4, 2.2, 0.9, 3.1
    assert statistics.median(items) == 1.3


def wrapped(x):
    def inner(v):
        return v * v

    @functools.wraps(inner)
    def outer(v):
        return inner(v) + 1.0

    return outer(x) + (1.0 if outer.__name__ == "inner" else 0.0)


def test_functools_wraps_inside_a_differentiated_function():
    assert fx.gradient(wrapped, 3.0) == (6.0,)
    assert fx.jvp(wrapped, (3.0,), (1.0,)) == (11.0, 6.0)
