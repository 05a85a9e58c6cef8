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

import builtins
import decimal
import fractions
import functools
import heapq
import statistics

import numpy as np

from ..backend import is_array, xp_of
from ..errors import EXEC_CALL, EXEC_WHY, NO_ADJOINT, FluxpyError, NoAdjointError
from .forward_core import runs_without_tangents
from .forward_iteration import reading_items_first
from .higher_order import implemented_by
from .python_iteration import iterlist
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


# ---------------------------------------------------------------------------------------------------------
# values that leave what fluxpy can follow: exec's namespaces, exact numbers made from floats (refused where a
# gradient would be lost without an error)


@adjoint(builtins.exec)
def exec_rule(source, *namespaces, **kwargs):
    """``exec(source, globals, locals)``: the code it runs is text fluxpy cannot see, and it writes its
    results into the dicts in place, so floats in them would lose their gradient: refused (a FluxpyError);
    dicts of bookkeeping values run as Python runs them. With no dicts it would change the calling
    function's own variables, which differentiated code does not keep where exec can reach: refused too."""
    from ..runtime import _carries_float, user_location

    given = [ns for ns in namespaces if ns is not None]
    if not given or any(_carries_float(ns) for ns in given):
        why = EXEC_WHY["floats" if given else "frame"]
        raise FluxpyError(EXEC_CALL.format(name="exec", why=why, where=user_location()))
    exec(source, *namespaces, **kwargs)  # noqa: S102  (the user's own call, run as Python runs it)
    n = 1 + len(namespaces)

    def exec_pullback(dy):
        return (None,) * n

    return None, exec_pullback


FRAME_READ = (
    "{name}() reads the calling function's frame (its variables, or its module's for globals()), which "
    "in differentiated code is fluxpy's.\n  {where}\nPass the values you need "
    "explicitly{extra}."
)


def _frame_reader_rule(primal, least):
    """The rule of ``locals``, ``globals``, ``vars`` and ``eval``: called with fewer than ``least`` arguments
    they read the calling frame, which in differentiated code is fluxpy's (``globals()`` gave fluxpy's
    module, ``locals()["y"]`` a KeyError): refused, naming the user's line. With their arguments given
    (``vars(obj)``, ``eval(src, namespace)``) they are no different from other calls (a gradient through
    the text ``eval`` evaluates is lost: docs/limitations.md)."""

    def frame_reader_rule(*args, **kwargs):
        from ..runtime import user_location

        if len(args) + len(kwargs) < least:
            extra = " (for eval: write the expression as code, `x ** 2`, not text)" if primal is eval else ""
            raise FluxpyError(FRAME_READ.format(name=primal.__name__, where=user_location(), extra=extra))
        y = primal(*args, **kwargs)

        def frame_reader_pullback(dy):
            return (None,) * len(args)

        return y, frame_reader_pullback

    return frame_reader_rule


def _frame_reader_jvp(rule):
    """Forward mode: the same refusal, where no tangent moves too (a plain call would read fluxpy's frame)."""

    def frame_reader_jvp(args, targs, kwargs, tkwargs):
        return rule(*args, **kwargs)[0], None

    return frame_reader_jvp


for _primal, _least in ((locals, 1), (globals, 1), (vars, 1), (eval, 2)):
    _rule = adjoint(_primal)(_frame_reader_rule(_primal, _least))
    runs_without_tangents(_primal)(_frame_reader_jvp(_rule))


def _exact_number_rule(cls):
    """The rule of ``fractions.Fraction`` and ``decimal.Decimal``: built from a float, the exact number's
    arithmetic (Python code on integers, or C) would drop the float's gradient without an error, so a float
    argument raises NoAdjointError; from strings and integers it is a constant."""

    def exact_number_rule(*args, **kwargs):
        if any(_float_valued(a) for a in args) or any(_float_valued(v) for v in kwargs.values()):
            from ..runtime import user_location

            qualname = f"{cls.__module__}.{cls.__qualname__}"
            why = (
                f"it converts a float into an exact number ({cls.__qualname__}), whose arithmetic fluxpy "
                "does not follow (keep the value a float while it needs a gradient)"
            )
            raise NoAdjointError(
                NO_ADJOINT.format(
                    qualname=qualname,
                    why=why,
                    where=user_location(),
                    rulename=f"{cls.__qualname__}_rule",
                    pbname=f"{cls.__qualname__}_pullback",
                )
            )
        n = len(args)

        def exact_number_pullback(dy):
            return (None,) * n

        return cls(*args, **kwargs), exact_number_pullback

    exact_number_rule.__name__ = f"{cls.__qualname__}_rule"
    return exact_number_rule


@nograd
def _float_valued(x):
    """A float, a NumPy float scalar or a float array: a value that may carry a gradient."""
    if type(x) is float or isinstance(x, np.floating):
        return True
    return is_array(x) and x.dtype.kind in "fc"


register(fractions.Fraction, _exact_number_rule(fractions.Fraction))
register(decimal.Decimal, _exact_number_rule(decimal.Decimal))
