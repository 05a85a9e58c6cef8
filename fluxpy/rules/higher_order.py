"""Rules for higher-order builtins (``map``, ``filter``, ``functools.reduce``): each is implemented by a
plain Python function that the transformer differentiates, so the function argument's own gradient
(a closure's captured variables, a layer's fields) flows too.

>>> import functools, fluxpy as fx
>>> fx.gradient(lambda w: functools.reduce(lambda acc, x: acc * x, [w, 2.0, 3.0]), 1.5)
(6.0,)
"""

import functools
import itertools

from .registry import nograd, register


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


def iterating(impl):
    """The rule of a builtin that returns an iterator (``map``, ``filter``): ``impl``'s list, transformed as
    :func:`implemented_by` does, behind an iterator over it, so that ``next(...)`` works on the result. The
    iterator's cotangent (one entry per item) is the list's."""
    rule = implemented_by(impl)

    def iterator_rule(*args, **kwargs):
        from .python_common import SequenceIterator

        y, pb = rule(*args, **kwargs)
        return SequenceIterator(y), pb

    iterator_rule.__name__ = f"{impl.__name__}_iterator_rule"
    return iterator_rule


register(functools.reduce, implemented_by(reduce_impl))
register(map, iterating(map_impl))
register(filter, iterating(filter_impl))


def product_impl(*iterables, repeat=1):
    """``itertools.product``: the list of tuples its iterator gives (``repeat``: the iterables repeated that
    many times, each read once)."""
    pools = [list(iterable) for iterable in iterables] * repeat
    out = [()]
    for items in pools:
        extended = []
        for prefix in out:
            for item in items:
                extended = extended + [prefix + (item,)]
        out = extended
    return out


def chain_impl(*iterables):
    """``itertools.chain``: the list of what its iterator gives."""
    out = []
    for iterable in iterables:
        out = out + list(iterable)
    return out


def groupby_impl(iterable, key=None):
    """``itertools.groupby``: the list of ``(key, iterator over the group's items)`` it gives. Python's
    groups are views of one shared iterator (a group read after the next one starts is empty); these are
    independent, which is the same wherever each group is read in its own turn."""
    groups = []
    current = []
    last = None
    for item in iterable:
        k = item if key is None else key(item)
        if current and k == last:
            current = current + [item]
        else:
            if current:
                groups = groups + [(last, iter(current))]
            current = [item]
            last = k
    if current:
        groups = groups + [(last, iter(current))]
    return groups


def iterate_user_object(x):
    """The items a ``for`` loop visits in an object whose class defines ``__iter__`` in Python, or only a
    Python ``__getitem__`` (the sequence protocol)."""
    if by_index(x):
        return iterate_by_index(x)
    it = type(x).__iter__(x)
    if it is x:
        return drain_iterator(it)
    return list(it)


def iterate_by_index(x):
    """The sequence protocol: ``x[0], x[1], ...`` until ``__getitem__`` raises IndexError."""
    items = []
    i = 0
    more = True
    while more:
        try:
            item = x[i]
        except IndexError:
            more = False
        else:
            items = items + [item]
            i = i + 1
    return items


@nograd
def by_index(x):
    from .python_iteration import _by_index

    return _by_index(x)


@nograd
def drain_iterator(it):
    """The items of an iterator whose ``__next__`` fluxpy does not see: refused if they carry floats."""
    from ..errors import FluxpyError
    from ..runtime import _carries_float

    items = []
    for item in it:
        items.append(item)
    if any(_carries_float(item) for item in items):
        raise FluxpyError(
            f"iterating a {type(it).__name__}, whose items come from a __next__ method that fluxpy does not "
            "differentiate; iterate over a list of the values instead"
        )
    return items


register(itertools.product, iterating(product_impl))
register(itertools.chain, iterating(chain_impl))
register(itertools.groupby, iterating(groupby_impl))
