"""Rules for small standard-library helpers that numerical code calls: ``statistics``' means, medians
and variances, ``heapq.nsmallest``/``nlargest``, and the decorator helpers of ``functools``.

Their Python source is written for exactness or speed (``statistics`` sums exact fractions, ``heapq``
keeps a heap in place), which fluxpy would refuse to differentiate. The rules here compute the value with
the library's own function, and the gradient from the textbook formula: the mean gives each item
``1 / n``, a median its middle item(s), a variance ``2 (x - mean) / (n - ddof)``. ``nsmallest`` and
``nlargest`` are the library's documented equivalents, ``sorted(...)[:n]``, whose rules pick the items.

>>> import statistics, fluxpy as fx
>>> fx.gradient(lambda a, b: statistics.median([a, 3.0, b]), 1.0, 5.0)
(0.0, 0.0)
>>> fx.gradient(lambda a, b: statistics.fmean([a, b, 4.0]), 1.0, 5.0)
(0.3333333333333333, 0.3333333333333333)
"""

import functools
import heapq
import statistics

from ..backend import is_array, xp_of
from .forward_iteration import reading_items_first
from .higher_order import implemented_by
from .python import iterlist
from .registry import adjoint, nograd, register


def _items(data):
    """``data`` as a list or tuple or array (the rules' cotangents mirror it), or None for an iterator."""
    return data if type(data) in (list, tuple) or is_array(data) else None


def _like(data, values):
    """The cotangent of ``data`` (a list, tuple or array) from one value per item."""
    if is_array(data):
        return xp_of(data).asarray(values, dtype=float)
    return list(values) if type(data) is list else tuple(values)


def _through_list(primal, data, *rest):
    """``primal(list(data), *rest)`` for an iterator ``data``: its items read once, their cotangents handed
    back through the iterator's."""
    from ..runtime import call

    items, items_pb = call(iterlist, data)
    y, pb = call(primal, items, *rest)

    def iterator_statistic_pullback(dy):
        g = pb(dy)
        return (None if g[1] is None else items_pb(g[1])[1],) + (None,) * len(rest)

    return y, iterator_statistic_pullback


def _mean_rule(primal):
    def mean_rule(data):
        if _items(data) is None:
            return _through_list(primal, data)
        n = len(data)

        def mean_pullback(dy):
            return (_like(data, [dy / n] * n),)

        return primal(data), mean_pullback

    mean_rule.__name__ = f"{primal.__name__}_rule"
    return mean_rule


register(statistics.mean, _mean_rule(statistics.mean))
register(statistics.fmean, _mean_rule(statistics.fmean))


@adjoint(statistics.median)
def median_rule(data):
    if _items(data) is None:
        return _through_list(statistics.median, data)
    order = sorted(range(len(data)), key=lambda i: data[i])
    n = len(order)
    middle = [order[n // 2]] if n % 2 else [order[n // 2 - 1], order[n // 2]]

    def median_pullback(dy):
        share = dy / len(middle)
        return (_like(data, [share if i in middle else 0.0 for i in range(n)]),)

    return statistics.median(data), median_pullback


def _variance_rule(primal, ddof, root):
    def variance_rule(data, mu=None):
        if _items(data) is None:
            return _through_list(primal, data, *(() if mu is None else (mu,)))
        y = primal(data) if mu is None else primal(data, mu)
        n = len(data)
        center = statistics.fmean(data) if mu is None else mu

        def variance_pullback(dy):
            scale = dy / (2 * y) if root else dy  # d sqrt(v) = dv / (2 sqrt(v))
            if root and y == 0:
                scale = 0.0
            grads = [2 * (v - center) / (n - ddof) * scale for v in data]
            dmu = None if mu is None else -2 * sum(v - center for v in data) / (n - ddof) * scale
            return (_like(data, grads),) + (() if mu is None else (dmu,))

        return y, variance_pullback

    variance_rule.__name__ = f"{primal.__name__}_rule"
    return variance_rule


register(statistics.pvariance, _variance_rule(statistics.pvariance, 0, False))
register(statistics.variance, _variance_rule(statistics.variance, 1, False))
register(statistics.pstdev, _variance_rule(statistics.pstdev, 0, True))
register(statistics.stdev, _variance_rule(statistics.stdev, 1, True))


def nsmallest_impl(n, iterable, key=None):
    """``heapq.nsmallest``: as the library documents it, ``sorted(iterable, key=key)[:n]``."""
    return sorted(iterable, key=key)[:n]


def nlargest_impl(n, iterable, key=None):
    """``heapq.nlargest``: ``sorted(iterable, key=key, reverse=True)[:n]``."""
    return sorted(iterable, key=key, reverse=True)[:n]


register(heapq.nsmallest, implemented_by(nsmallest_impl))
register(heapq.nlargest, implemented_by(nlargest_impl))

for _primal in (
    statistics.mean,
    statistics.fmean,
    statistics.median,
    statistics.pvariance,
    statistics.variance,
    statistics.pstdev,
    statistics.stdev,
):
    reading_items_first(_primal)  # forward mode: an iterator's items are read with their tangents

# copying a function's name and docstring, or making a cache wrapper, moves no value: run them plainly (a
# call of an lru_cache wrapper still needs a rule, and says so)
nograd(functools.update_wrapper, functools.wraps, functools.lru_cache, functools.cache)
