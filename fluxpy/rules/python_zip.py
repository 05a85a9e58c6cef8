"""The rule of ``zip``: the cotangent of its rows goes back, column by column, to the positions of its
arguments' items (an iterator passed to it, even twice, ``zip(it, it)``, has its items' positions
recorded); ``strict=True`` raises Python's errors.

>>> y, back = zip_rule([1.0, 2.0], (3.0, 4.0))
>>> list(y), back([(1.0, None), (None, 2.0)])
([(1.0, 3.0), (2.0, 4.0)], ([1.0, None], (None, 2.0)))
"""

from ..backend import is_array
from .python_common import SequenceIterator, _advance
from .python_iteration import _NO_ITEM, _user_container, cotangent_as, iterlist
from .registry import adjoint, nograd


@adjoint(zip)
def zip_rule(*xs, strict=False):
    if any(_user_container(x) for x in xs):
        return _zip_user_iterables(xs, strict)
    if any(type(x) is SequenceIterator for x in xs):
        # iterators (one may be passed twice: zip(it, it) pairs its items): the position of every item
        # taken, so that its cotangent goes back there
        taken, n, collected = _zip_positions(xs, strict)
        y = zip_rows(xs, taken, n, collected)
    else:
        y, taken = list(zip(*xs, strict=strict)), None
        n = len(y)

    def zip_pullback(dy):
        return _unzip(dy, xs, n, taken)

    return SequenceIterator(y), zip_pullback


@nograd
def _zip_positions(xs, strict):
    """What ``zip(*xs)`` takes from each argument, advancing its iterators as zip does: ``(taken, n,
    collected)`` where ``taken[j]`` lists the positions in argument ``j`` (in the sequence of a
    SequenceIterator) of its items in rows ``0, 1, ...`` (one more when a later argument ran out first), ``n``
    the number of rows, and ``collected[j]`` the items taken from an argument of another kind (a dict, a
    range, another iterator: positions in that list), None for the others."""
    taken = [[] for _ in xs]
    collected = [
        None if type(x) is SequenceIterator or type(x) is list or type(x) is tuple or is_array(x) else []
        for x in xs
    ]
    others = [None if c is None else iter(x) for x, c in zip(xs, collected, strict=True)]
    n = 0
    while True:
        for j, x in enumerate(xs):
            if type(x) is SequenceIterator:
                p = _advance(x)
            elif collected[j] is None:
                p = n if n < len(x) else None
            else:
                item = next(others[j], _NO_ITEM)
                p = None
                if item is not _NO_ITEM:
                    collected[j].append(item)
                    p = len(collected[j]) - 1
            if p is None:
                if strict:
                    _check_zip_strict(xs, j, n, others)
                return taken, n, collected
            taken[j].append(p)
        n += 1


def zip_rows(xs, taken, n, collected):
    """The ``n`` rows ``zip(*xs)`` gave, from the positions ``_zip_positions`` found."""
    sources = [
        x.seq if type(x) is SequenceIterator else x if collected[j] is None else collected[j]
        for j, x in enumerate(xs)
    ]
    return [tuple([sources[j][taken[j][i]] for j in range(len(xs))]) for i in range(n)]


@adjoint(zip_rows)
def zip_rows_rule(xs, taken, n, collected):
    def zip_rows_pullback(dy):
        return (_unzip(dy, xs, n, taken), None, None, None)

    return zip_rows(xs, taken, n, collected), zip_rows_pullback


def _check_zip_strict(xs, j, n, others):
    """``zip(..., strict=True)``'s error when argument ``j`` ran out at row ``n``."""

    def before(k):
        return f"arguments 1-{k}" if k > 1 else "argument 1"

    if j > 0:
        raise ValueError(f"zip() argument {j + 1} is shorter than {before(j)}")
    for k in range(1, len(xs)):
        x = xs[k]
        if type(x) is SequenceIterator:
            more = _advance(x) is not None
        elif others[k] is None:
            more = len(x) > n
        else:
            more = next(others[k], _NO_ITEM) is not _NO_ITEM
        if more:
            raise ValueError(f"zip() argument {k + 1} is longer than {before(k)}")


def _zip_user_iterables(xs, strict):
    """``zip`` of arguments some of which have a Python ``__iter__``: their items, differentiated through
    it, zipped."""
    from ..runtime import call

    converted = [call(iterlist, x) if _user_container(x) else (x, None) for x in xs]
    pullbacks = [pb for _, pb in converted]
    y, pb = zip_rule(*[items for items, _ in converted], strict=strict)

    def zip_user_iterables_pullback(dy):
        g = pb(dy)
        return tuple([d if p is None or d is None else p(d)[1] for d, p in zip(g, pullbacks, strict=True)])

    return y, zip_user_iterables_pullback


def _unzip(dy, xs, n, taken=None):
    """The cotangents of ``zip``'s arguments ``xs`` from that of its rows ``dy`` (``taken``: see
    _zip_positions; None when no argument is an iterator)."""
    out = []
    for j, x in enumerate(xs):
        column = [None if d is None else d[j] for d in dy]
        if taken is not None and type(x) is SequenceIterator:
            out.append(_placed(column, taken[j], len(x.seq)))
            continue
        if type(x) is list or type(x) is tuple or is_array(x):
            column = column + [None] * (len(x) - n)
        out.append(cotangent_as(column, x))
    return tuple(out)


def _placed(column, positions, n):
    """A length-``n`` list with ``column[i]`` at ``positions[i]`` (None elsewhere; None if all are)."""
    if all(d is None for d in column):
        return None
    out = [None] * n
    for d, p in zip(column, positions, strict=False):  # positions may have one more (zip stopped later)
        out[p] = d
    return out


@adjoint(_unzip)
def _unzip_rule(dy, xs, n, taken=None):
    def unzip_pullback(dd):
        rows = []
        for i in range(n):
            row = []
            for j, d in enumerate(dd):
                if d is None:
                    row.append(None)
                elif taken is not None and type(xs[j]) is SequenceIterator:
                    row.append(d[taken[j][i]])
                else:
                    row.append(_row(d, i))
            rows.append(tuple(row))
        return (rows, None, None, None)

    return _unzip(dy, xs, n, taken), unzip_pullback


def _row(d, i):
    return d[i]
