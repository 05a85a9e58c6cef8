"""Rules for higher-order builtins (``map``, ``filter``, ``functools.reduce``): each is implemented by a
plain Python function that the transformer differentiates, so the function argument's own gradient
(a closure's captured variables, a layer's fields) flows too.

>>> import functools, fluxpy as fx
>>> fx.gradient(lambda w: functools.reduce(lambda acc, x: acc * x, [w, 2.0, 3.0]), 1.5)
(6.0,)
"""

import functools

from .registry import register


def reduce_impl(f, xs, *initial):
    """``functools.reduce`` as a loop."""
    items = list(xs)
    if initial:
        acc = initial[0]
        start = 0
    else:
        acc = items[0]
        start = 1
    for i in range(start, len(items)):
        acc = f(acc, items[i])
    return acc


def map_impl(f, *iterables):
    """``map``, materialized as a list."""
    out = []
    for args in zip(*iterables):  # noqa: B905  (map stops at the shortest)
        out = out + [f(*args)]
    return out


def filter_impl(f, xs):
    """``filter``, materialized as a list."""
    out = []
    for x in xs:
        keep = bool(x) if f is None else bool(f(x))
        if keep:
            out = out + [x]
    return out


def implemented_by(impl):
    """A rule whose forward and pullback come from transforming the Python function ``impl``."""

    def rule(*args, **kwargs):
        from ..runtime import call

        y, pb = call(impl, *args, **kwargs)

        def implementation_pullback(dy):
            return pb(dy)[1:]

        return y, implementation_pullback

    rule.__name__ = f"{impl.__name__}_rule"
    return rule


register(functools.reduce, implemented_by(reduce_impl))
register(map, implemented_by(map_impl))
register(filter, implemented_by(filter_impl))
