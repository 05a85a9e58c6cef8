"""``itertools``' finite iterators as plain Python functions that the transformer differentiates: each gives
the list of what the iterator would, and its rule (:func:`fluxpy.rules.higher_order.iterating`) hands that
list out behind a single-use iterator, so the items' gradients go back to where they came from.

>>> import itertools, fluxpy as fx
>>> fx.gradient(lambda xs: sum(a * b for a, b in itertools.pairwise(xs)), [1.0, 2.0, 3.0])
([2.0, 4.0, 2.0],)

The infinite ones (``count``, ``cycle``, ``repeat`` without ``times``) and ``tee`` have no rule: fluxpy
says so, naming the call, when a gradient has to flow through them.
"""

import itertools
import operator

from .higher_order import iterating
from .registry import nograd, register

_END = object()


def _indexed(pool, index_tuples):
    """``[(pool[i], pool[j], ...) for (i, j, ...) in index_tuples]``."""
    out = []
    for idx in index_tuples:
        out = out + [tuple([pool[i] for i in idx])]
    return out


@nograd
def _index_tuples(kind, n, *args):
    return list(kind(range(n), *args))


def combinations_impl(iterable, r):
    pool = tuple(iterable)
    return _indexed(pool, _index_tuples(itertools.combinations, len(pool), r))


def combinations_with_replacement_impl(iterable, r):
    pool = tuple(iterable)
    return _indexed(pool, _index_tuples(itertools.combinations_with_replacement, len(pool), r))


def permutations_impl(iterable, r=None):
    pool = tuple(iterable)
    return _indexed(pool, _index_tuples(itertools.permutations, len(pool), r))


def pairwise_impl(iterable):
    items = list(iterable)
    out = []
    for i in range(len(items) - 1):
        out = out + [(items[i], items[i + 1])]
    return out


@nograd
def _slice_bounds(args):
    s = slice(*args)
    for bound in (s.start, s.stop, s.step):
        if bound is not None and operator.index(bound) < 0:
            raise ValueError("Indices for islice() must be None or an integer: 0 <= x <= sys.maxsize.")
    if s.step is not None and s.step == 0:
        raise ValueError("Step for islice() must be a positive integer or None.")
    return s.start or 0, s.stop, s.step or 1


def islice_impl(iterable, *args):
    """Takes items one by one, no further than ``stop`` (an iterator passed in is left there, as Python
    leaves it)."""
    start, stop, step = _slice_bounds(args)
    it = iter(iterable)
    out = []
    i = 0
    while stop is None or i < stop:
        item = next(it, _END)
        if item is _END:
            break
        if i >= start and (i - start) % step == 0:
            out = out + [item]
        i = i + 1
    return out


def accumulate_impl(iterable, func=None, *, initial=None):
    out = []
    total = initial
    started = initial is not None
    if started:
        out = [initial]
    for item in iterable:
        if not started:
            total = item
            started = True
        elif func is None:
            total = total + item
        else:
            total = func(total, item)
        out = out + [total]
    return out


def zip_longest_impl(*iterables, fillvalue=None):
    columns = [list(x) for x in iterables]
    n = max([len(c) for c in columns], default=0)
    out = []
    for i in range(n):
        row = []
        for c in columns:
            row = row + [c[i] if i < len(c) else fillvalue]
        out = out + [tuple(row)]
    return out


def starmap_impl(f, iterable):
    out = []
    for args in iterable:
        out = out + [f(*args)]
    return out


def compress_impl(data, selectors):
    out = []
    for item, keep in zip(data, selectors):  # noqa: B905  (compress stops at the shortest)
        if keep:
            out = out + [item]
    return out


def takewhile_impl(predicate, iterable):
    """Stops at, and uses up, the first item for which ``predicate`` is false."""
    it = iter(iterable)
    out = []
    item = next(it, _END)
    while item is not _END and predicate(item):
        out = out + [item]
        item = next(it, _END)
    return out


def dropwhile_impl(predicate, iterable):
    out = []
    dropping = True
    for item in iterable:
        if dropping and not predicate(item):
            dropping = False
        if not dropping:
            out = out + [item]
    return out


def filterfalse_impl(predicate, iterable):
    out = []
    for item in iterable:
        keep = not item if predicate is None else not predicate(item)
        if keep:
            out = out + [item]
    return out


def from_iterable_impl(iterables):
    out = []
    for iterable in iterables:
        out = out + list(iterable)
    return out


IMPLEMENTATIONS = [
    (itertools.combinations, combinations_impl),
    (itertools.combinations_with_replacement, combinations_with_replacement_impl),
    (itertools.permutations, permutations_impl),
    (itertools.pairwise, pairwise_impl),
    (itertools.islice, islice_impl),
    (itertools.accumulate, accumulate_impl),
    (itertools.zip_longest, zip_longest_impl),
    (itertools.starmap, starmap_impl),
    (itertools.compress, compress_impl),
    (itertools.takewhile, takewhile_impl),
    (itertools.dropwhile, dropwhile_impl),
    (itertools.filterfalse, filterfalse_impl),
    (itertools.chain.from_iterable, from_iterable_impl),
]

for _primal, _impl in IMPLEMENTATIONS:
    register(_primal, iterating(_impl))
