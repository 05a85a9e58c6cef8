"""Forward rules of iteration: the tangent of an iterator is an iterator over its items' tangents, advanced
in step with it (by iter, next, for loops, list, tuple, zip, ...; fluxpy/forward.py refuses to hand one to
other callees).

``_iterate`` and ``_stream`` are the two ways in: a list of the items with a list of their tangents, or an
iterator with an iterator over their tangents. The container rules build on them.
"""

import functools
import itertools
import math
from collections.abc import Iterator, Mapping, Set

import numpy as np

from ..backend import is_array
from ..errors import FluxpyError
from .forward_arithmetic import add_jvp
from .forward_core import (
    _add,
    _arity,
    _forward_error,
    _forward_mode,
    _items,
    _like,
    _scale,
    keyword_forward_rule,
    makes_container,
)
from .helpers import refuse_masked
from .higher_order import chain_impl, filter_impl, groupby_impl, map_impl, product_impl, reduce_impl
from .itertools_impl import IMPLEMENTATIONS as ITERTOOLS
from .math import prod_impl
from .python_builtins import _sort_order, extreme_choice, pick
from .python_common import SequenceIterator, _advance, _python_dunder
from .python_iteration import _user_iterable, item_at, ndenumerate_impl
from .python_zip import _unzip, _zip_positions, zip_rows
from .registry import forward_rule

_END = object()


def _no_item_tangents(x):
    """Iterating these visits keys, set members, characters or ints: no tangents, whatever the container's."""
    return isinstance(x, (Mapping, Set, str, bytes, range))


def _iterate(x, tx):
    """``(list(x), the items' tangents)``: what a for loop over ``x`` visits (rows of an array, keys of a
    dict, the items of a Python ``__iter__`` or ``__getitem__``); the tangents are None when they are all
    zero."""
    if _user_iterable(x):
        from ..forward import jvp_call
        from .higher_order import iterate_user_object

        return jvp_call(iterate_user_object, None, (x,), (tx,), {}, {})
    it, tit = _stream(x, tx)
    items = list(it)
    if tit is None:
        return items, None
    titems = list(tit)
    if len(titems) != len(items):
        raise FluxpyError(f"forward mode: {len(items)} items but {len(titems)} tangents iterating {x!r:.60}")
    return items, titems


def _stream(x, tx):
    """``(iter(x), an iterator over the items' tangents or None)``, to be advanced in step."""
    if tx is None or _no_item_tangents(x):
        return iter(x), None
    if type(x) is not np.ndarray and is_array(x):
        refuse_masked((x,))  # a masked array's masked items would get tangents
    if _user_iterable(x):
        items, titems = _iterate(x, tx)
        return _paired(items, titems)
    if isinstance(x, Iterator):
        if not isinstance(tx, Iterator):
            raise _forward_error(f"iterate a {type(x).__name__}", f"its tangent is a {type(tx).__name__}")
        _same_position(x, tx)
        return x, tx
    shape = getattr(tx, "shape", None)
    if isinstance(tx, (list, tuple)) or (shape is not None and shape == getattr(x, "shape", shape)):
        return iter(x), iter(tx)
    if is_array(x):  # a broadcastable tangent: one per row
        return iter(x), iter(_like(tx, x))
    raise _forward_error(
        f"iterate a {type(x).__name__} whose tangent is a {type(tx).__name__}",
        "the items' tangents cannot be told apart",
    )


@forward_rule(iter)
def iter_jvp(args, targs):
    if len(args) != 1 or targs[0] is None:  # iter(callable, sentinel): the callable has no source here
        if any(t is not None for t in targs):
            raise _forward_error("follow iter(callable, sentinel)", "the callable carries tangents")
        return iter(*args), None
    x, tx = args[0], targs[0]
    method = _python_dunder(x, "__iter__")
    if method is not None:
        from ..forward import jvp_call

        it, tit = jvp_call(method, None, (x,), (tx,), {}, {})
        if not isinstance(it, Iterator):
            raise TypeError(f"iter() returned non-iterator of type '{type(it).__name__}'")
        return it, tit
    if isinstance(x, (list, tuple)) or is_array(x):
        # as in reverse mode, an iterator that knows its position (rules/python_iteration.py's rewind moves
        # it back after a loop that broke early), its tangent kept at the same position
        _, tit = sequence_iterator_jvp((x,), (tx,))
        return _paired(x, tit)
    it, tit = _stream(x, tx)
    return it, tit


def _paired(seq, tangent):
    """``iter(seq)`` as a SequenceIterator, with the tangent iterator (a SequenceIterator, or a sequence of
    the items' tangents) kept at its position: code that advances the iterator alone (``int(next(it))``
    needs no tangent, so it runs plainly) moves both (``_same_position``), as rewind after a loop that
    broke early does (rules/python_iteration.py)."""
    it = SequenceIterator(seq)
    if tangent is not None and type(tangent) is not SequenceIterator:
        tangent = SequenceIterator(tangent)
    it.tangent = tangent
    return it, tangent


@forward_rule(next)
def next_jvp(args, targs):
    _arity(next, args, {}, 1, 2)
    it, tit = args[0], targs[0]
    y = next(it, _END)
    if y is _END:
        if len(args) > 1:
            return args[1], targs[1]
        raise StopIteration
    if tit is None:
        return y, None
    if not isinstance(tit, Iterator):
        raise _forward_error(
            f"follow next() of a {type(it).__name__}",
            f"its tangent is a {type(tit).__name__}",
        )
    if type(it) is SequenceIterator:  # y was the item before it.pos
        it.pos -= 1
        _same_position(it, tit)
        it.pos += 1
    return y, next(tit)


# reverse mode's iterator (rules/python_common.py's SequenceIterator), met by forward over reverse
# (fx.hvp): its tangent is a SequenceIterator over its items' tangents, kept at the same position


@forward_rule(SequenceIterator)
def sequence_iterator_jvp(args, targs):
    _arity(SequenceIterator, args, {}, 1, 1)
    (seq,), t = args, targs[0]
    if t is None:
        return SequenceIterator(seq), None
    return SequenceIterator(seq), SequenceIterator(list(_like(t, seq) if is_array(seq) else _items(t, seq)))


def _same_position(it, tit):
    """Move tangent iterator ``tit`` to ``it``'s position (fluxpy's own code, or a plain call whose result
    needs no tangent, moved ``it`` alone)."""
    if type(tit) is SequenceIterator and type(it) is SequenceIterator:
        tit.pos = it.pos


@forward_rule(_advance)
def advance_jvp(args, targs):
    i = _advance(args[0])
    _same_position(args[0], targs[0])
    return i, None


@forward_rule(item_at)
def item_at_jvp(args, targs):
    (it, i), tit = args, targs[0]
    return item_at(it, i), tit.seq[i] if type(tit) is SequenceIterator else None


@forward_rule(_zip_positions)
def zip_positions_jvp(args, targs):
    xs, txs = args[0], targs[0]
    y = _zip_positions(*args)
    for x, tx in zip(xs, () if txs is None else txs, strict=False):
        _same_position(x, tx)
    return y, None


@forward_rule(zip_rows)
def zip_rows_jvp(args, targs):
    xs, taken, n, collected = args
    txs = targs[0]
    y = zip_rows(*args)
    if txs is None:
        return y, None
    columns = []
    for j, (x, tx) in enumerate(zip(xs, txs, strict=True)):
        if tx is None or collected[j] is not None:
            columns.append(None)
        elif type(x) is SequenceIterator:
            columns.append(tx.seq if type(tx) is SequenceIterator else None)
        else:
            columns.append(_like(tx, x) if is_array(x) else _items(tx, x))
    return y, [
        tuple([None if c is None else c[taken[j][i]] for j, c in enumerate(columns)]) for i in range(n)
    ]


@forward_rule(_unzip)
def unzip_jvp(args, targs):
    """Linear in the rows' cotangent; the arguments give only the structure."""
    return _unzip(*args), None if targs[0] is None else _unzip(targs[0], *args[1:])


def _one_pass(rows, trows):
    """What ``zip``, ``enumerate`` and ``reversed`` return: an iterator (reverse mode's SequenceIterator, so
    that a loop that breaks early leaves it where Python would) over their ``rows``, read once, as Python's
    are; its tangent iterates ``trows`` in step (None: no tangents)."""
    it = SequenceIterator(rows)
    if trows is None:
        return it, None
    it.tangent = SequenceIterator(trows)
    return it, it.tangent


@keyword_forward_rule(zip)
def zip_jvp(args, targs, kwargs, tkwargs):
    """``zip``: an iterator over its rows (tuples), its tangent one over the rows' tangents."""
    _arity(zip, args, kwargs, 0, len(args), ("strict",))
    strict = kwargs.get("strict", False)
    streams = [_stream(x, tx) for x, tx in zip(args, targs, strict=True)]
    if not streams:
        return _one_pass([], None)
    rows, trows = [], []
    while True:
        row, trow = [], []
        for j, (it, tit) in enumerate(streams):
            v = next(it, _END)
            if v is _END:
                if strict:
                    _check_zip_strict(j, streams)
                return _one_pass(rows, None if all(t is None for _, t in streams) else trows)
            row.append(v)
            trow.append(None if tit is None else next(tit))
        rows.append(tuple(row))
        trows.append(tuple(trow))


def _check_zip_strict(j, streams):
    """zip(..., strict=True)'s errors."""

    def before(k):
        return f"arguments 1-{k - 1}" if k > 2 else "argument 1"

    if j > 0:
        raise ValueError(f"zip() argument {j + 1} is shorter than {before(j + 1)}")
    for k, (it, _) in enumerate(streams[1:], start=2):
        if next(it, _END) is not _END:
            raise ValueError(f"zip() argument {k} is longer than {before(k)}")


@keyword_forward_rule(enumerate)
def enumerate_jvp(args, targs, kwargs, tkwargs):
    _arity(enumerate, args, kwargs, 1, 2, ("start",))
    start = args[1] if len(args) > 1 else kwargs.get("start", 0)
    items, titems = _iterate(args[0], targs[0])
    return _one_pass(list(enumerate(items, start)), None if titems is None else [(None, t) for t in titems])


@forward_rule(reversed)
def reversed_jvp(args, targs):
    _arity(reversed, args, {}, 1, 1)
    x = args[0]
    method = _python_dunder(x, "__reversed__")
    if method is not None:
        from ..forward import jvp_call

        return jvp_call(method, None, (x,), (targs[0],), {}, {})
    reversed(x)  # Python's TypeError where x is not a sequence
    items, titems = _iterate(x, targs[0])
    return _one_pass(items[::-1], None if titems is None else titems[::-1])


@keyword_forward_rule(sorted)
@makes_container
def sorted_jvp(args, targs, kwargs, tkwargs):
    """The tangents follow their items' order (the key's own derivative does not matter: the order is
    piecewise constant)."""
    _arity(sorted, args, kwargs, 1, 1, ("key", "reverse"))
    items, titems = _iterate(args[0], targs[0])
    order = _sort_order(items, kwargs.get("key"), kwargs.get("reverse", False))
    return pick(items, order), None if titems is None else pick(titems, order)


@keyword_forward_rule(sum)
def sum_jvp(args, targs, kwargs, tkwargs):
    """``sum`` left to right, as Python adds; numbers and arrays by Python's own sum (its float rounding)."""
    _arity(sum, args, kwargs, 1, 2, ("start",))
    start, tstart = (args[1], targs[1]) if len(args) > 1 else (kwargs.get("start", 0), tkwargs.get("start"))
    items, titems = _iterate(args[0], targs[0])
    titems = _items(titems, items)
    if all(_number_or_array(v) for v in items) and _number_or_array(start):
        t = tstart
        for tv in titems:
            t = _add(t, tv)
        return sum(items, start), t
    y, t = start, tstart
    for v, tv in zip(items, titems, strict=True):
        y, t = add_jvp((y, v), (t, tv))
    return y, t


def reading_items_first(primal):
    """A forward rule for ``primal(data, ...)`` that reads an iterator ``data`` into a list (its items and
    their tangents, advanced together) and differentiates the call on the list (``statistics.mean(gen)``)."""

    def items_first_jvp(args, targs, kwargs, tkwargs):
        if args and isinstance(args[0], Iterator):
            items, titems = _iterate(args[0], targs[0])
            args, targs = (items, *args[1:]), (titems, *targs[1:])
        return _forward_mode().derived_jvp(primal, None, args, targs, kwargs, tkwargs)

    items_first_jvp.__name__ = f"{getattr(primal, '__name__', 'call')}_items_first_jvp"
    return keyword_forward_rule(primal)(items_first_jvp)


@keyword_forward_rule(math.fsum)
def fsum_jvp(args, targs, kwargs, tkwargs):
    """``math.fsum``: the exact sum of the items, the sum of their tangents."""
    _arity(math.fsum, args, kwargs, 1, 1)
    items, titems = _iterate(args[0], targs[0])
    t = None
    for tv in _items(titems, items):
        t = _add(t, tv)
    return math.fsum(items), t


def _extreme_jvp(primal):
    """``max``/``min`` of several arguments or of one list or tuple (an iterator's items, advanced with their
    tangents; a Python ``__iter__``'s): the tangent of the item chosen as the reverse rule chooses it
    (``extreme_choice``: the key runs once per item), the mean of the tied ones' between equal numbers. An
    array's rows: its reverse rule transposed."""

    def extreme_jvp(args, targs, kwargs, tkwargs):
        if len(args) == 1 and (isinstance(args[0], Iterator) or _user_iterable(args[0])):
            items, titems = _iterate(args[0], targs[0])
            args, targs = (items,), (titems,)
        if len(args) == 1 and type(args[0]) not in (list, tuple) or set(kwargs) - {"key", "default"}:
            return _forward_mode().derived_jvp(primal, None, args, targs, kwargs, tkwargs)
        if "default" in kwargs and len(args) != 1:
            primal(*args, **kwargs)  # Python's TypeError
        values = list(args[0]) if len(args) == 1 else list(args)
        tvalues = _items(targs[0], values) if len(args) == 1 else tuple(targs)
        if not values and "default" in kwargs and len(args) == 1:
            return kwargs["default"], tkwargs.get("default")
        y, chosen = extreme_choice(primal, values, kwargs.get("key"))
        if len(chosen) == 1:
            return y, tvalues[chosen[0]]
        t = None
        for i in chosen:
            t = _add(t, tvalues[i])
        return y, None if t is None else _scale(t, 1.0 / len(chosen))

    extreme_jvp.__name__ = f"{primal.__name__}_jvp"
    return extreme_jvp


keyword_forward_rule(max)(_extreme_jvp(max))
keyword_forward_rule(min)(_extreme_jvp(min))


def _number_or_array(x):
    return isinstance(x, (int, float, complex, np.generic)) or is_array(x)


def _implemented_jvp(impl):
    """map, filter, functools.reduce, itertools.product and chain: the JVP of the plain Python function
    that reverse mode differentiates for them (rules/higher_order.py)."""

    def implementation_jvp(args, targs, kwargs, tkwargs):
        from ..forward import jvp_call

        return jvp_call(impl, None, args, targs, kwargs, tkwargs)

    implementation_jvp.__name__ = f"{impl.__name__}_jvp"
    return implementation_jvp


def _iterating_jvp(impl):
    """map, filter and itertools' iterators: over the list ``impl`` makes, with an iterator over its tangents
    (None when every item's is zero, so that ``", ".join(map(str, xs))`` passes no iterator of tangents)."""
    jvp = _implemented_jvp(impl)

    def iterating_jvp(args, targs, kwargs, tkwargs):
        y, t = jvp(args, targs, kwargs, tkwargs)
        if t is None or all(v is None for v in t):
            return SequenceIterator(y), None
        return _paired(y, t)

    iterating_jvp.__name__ = f"{impl.__name__}_iterating_jvp"
    return iterating_jvp


keyword_forward_rule(functools.reduce)(_implemented_jvp(reduce_impl))
keyword_forward_rule(math.prod)(_implemented_jvp(prod_impl))
for _primal, _impl in [
    (map, map_impl),
    (filter, filter_impl),
    (itertools.product, product_impl),
    (itertools.chain, chain_impl),
    (itertools.groupby, groupby_impl),
    (np.ndenumerate, ndenumerate_impl),
    *ITERTOOLS,
]:
    keyword_forward_rule(_primal)(_iterating_jvp(_impl))
