"""Rules for iterating: ``list(x)`` and ``tuple(x)``, ``iter`` and ``next``, ``enumerate``, ``reversed``,
and the conversions of an array to lists (``x.tolist()``, ``np.ndenumerate``). A sequence's cotangent has
one entry per item (None where no gradient flows), shaped like the sequence by :func:`cotangent_as`; an
object whose class iterates in Python is differentiated through its ``__iter__`` (or ``__getitem__``).
``zip``: rules/python_zip.py; the iterator itself: rules/python_common.py's SequenceIterator.

>>> y, back = enumerate_rule([1.0, 2.0])
>>> list(y), back([(None, 1.0), None])
([(0, 1.0), (1, 2.0)], ([1.0, None], None))
"""

import numpy as np

from ..backend import is_array, xp_of
from ..errors import FluxpyError
from ..tangents import is_differentiable
from .higher_order import iterating
from .python_common import (
    SequenceIterator,
    _advance,
    _none_pullback,
    _python_dunder,
    _same_pullback,
    seq_scatter,
)
from .registry import adjoint, nograd, register, register_method

# =========================================================================================================
# arrays as lists: x.tolist(), np.ndenumerate


def ndenumerate_impl(arr):
    """``np.ndenumerate(arr)``: the list of ``(index, value)`` pairs its iterator gives (NumPy's ``__next__``
    is not differentiated), which the transformer differentiates."""
    return list(zip(_ndindices(np.shape(arr)), np.asarray(arr).ravel(), strict=True))


@nograd
def _ndindices(shape):
    return list(np.ndindex(*shape))


register(np.ndenumerate, iterating(ndenumerate_impl))


def tolist_rule(self):
    """``x.tolist()``: nested lists of Python numbers; their cotangent goes back as an array of ``x``'s
    shape (:func:`nested_array`)."""

    def tolist_pullback(dy):
        return (nested_array(dy, self),)

    return self.tolist(), tolist_pullback


register_method("tolist", tolist_rule)


def nested_array(d, x):
    """The array cotangent of array ``x`` from ``d``, the cotangent of ``x.tolist()`` (nested lists or
    tuples, None for zero entries and rows)."""
    if d is None:
        return None
    xp = xp_of(x)
    shape = tuple(x.shape)
    out = xp.asarray(_zeros_for_none(d, shape))
    if out.dtype.kind not in "fc":
        out = out.astype(_float_like(x))
    return xp.reshape(out, shape)


@nograd
def _float_like(x):
    return x.dtype if x.dtype.kind in "fc" else np.float64


@nograd
def _zeros_for_none(d, shape):
    if d is None:
        return np.zeros(shape).tolist() if shape else 0.0
    if isinstance(d, (list, tuple)):
        return [_zeros_for_none(v, shape[1:]) for v in d]
    return d


@adjoint(nested_array)
def nested_array_rule(d, x):
    def nested_array_pullback(dd):
        return (None if dd is None else dd.tolist(), None)

    return nested_array(d, x), nested_array_pullback


# =========================================================================================================
# list(x), and the cotangent of a sequence


def cotangent_as(ds, x):
    """A sequence cotangent ``ds`` (entries may be None) reshaped like the container ``x``.

    For a :class:`SequenceIterator`, ``ds`` holds the cotangents of its last items (the list, tuple, sum,
    for loop, ... that took them took all it had left): the result lines up with the whole sequence."""
    if type(x) is SequenceIterator:
        if all(d is None for d in ds):
            return None
        return [None] * (len(x.seq) - len(ds)) + list(ds)
    if is_array(x):
        xp = xp_of(x)
        rows = [xp.zeros(x.shape[1:], dtype=_float_dtype(x)) if d is None else d for d in ds]
        return xp.stack([xp.asarray(r) for r in rows]) if rows else xp.zeros(x.shape, dtype=_float_dtype(x))
    if all(d is None for d in ds):
        return None
    if type(x) is list:
        return list(ds)
    if type(x) is dict:
        return None  # iterating a dict yields its keys: no gradient
    return tuple(ds)


def _float_dtype(x):
    return x.dtype if x.dtype.kind in "fc" else np.float64


@adjoint(cotangent_as)
def cotangent_as_rule(ds, x):
    skip = len(x.seq) - len(ds) if type(x) is SequenceIterator else 0

    def cotangent_as_pullback(dd):
        if is_array(x):
            return (list(dd), None)
        return (tuple(dd)[skip:] if dd is not None else None, None)

    return cotangent_as(ds, x), cotangent_as_pullback


def iterlist(x):
    """``list(x)``: what a ``for`` loop over ``x`` visits (rows of an array, keys of a dict)."""
    return list(x)


nograd(_float_dtype)


@adjoint(iterlist, list)
def iterlist_rule(x=()):
    if _user_iterable(x):
        from ..runtime import call
        from .higher_order import iterate_user_object

        y, pb = call(iterate_user_object, x)

        def user_iteration_pullback(dy):
            return pb(dy)[1:]

        return y, user_iteration_pullback

    def iterlist_pullback(dy):
        return (cotangent_as(dy, x),)

    return list(x), iterlist_pullback


def _user_iterable(x):
    """An object whose class defines ``__iter__`` in Python (not a list, tuple, array or iterator), or one
    iterated by its Python ``__getitem__`` (:func:`_by_index`)."""
    return _python_dunder(x, "__iter__") is not None or _by_index(x)


def _user_container(x):
    """A user iterable that is not an iterator itself (its class has no Python ``__next__``): iterating it
    all at once, where Python would take its items one by one, ends (an iterator may never end)."""
    if _by_index(x):
        return True
    return _python_dunder(x, "__iter__") is not None and _python_dunder(x, "__next__") is None


def _by_index(x):
    """An object Python iterates by the old sequence protocol: its class has no ``__iter__`` and a Python
    ``__getitem__``, which gives the items ``x[0], x[1], ...`` until it raises IndexError."""
    return getattr(type(x), "__iter__", None) is None and _python_dunder(x, "__getitem__") is not None


nograd(_user_iterable, _user_container, _by_index)


def _through_items(rule, x, *rest, **kwargs):
    """``rule(items, *rest, **kwargs)`` with ``items`` the list of what iterating ``x`` (an object with a
    Python ``__iter__``) gives, differentiated through its ``__iter__``: the items' cotangent goes back to
    ``x``'s fields."""
    from ..runtime import call

    items, items_pb = call(iterlist, x)
    y, pb = rule(items, *rest, **kwargs)

    def through_items_pullback(dy):
        g = tuple(pb(dy))
        return (None if g[0] is None else items_pb(g[0])[1],) + g[1:]

    return y, through_items_pullback


@adjoint(tuple)
def tuple_rule(x=()):
    if _user_iterable(x):
        return _through_items(tuple_rule, x)

    def tuple_pullback(dy):
        return (cotangent_as(dy, x),)

    return tuple(x), tuple_pullback


# =========================================================================================================
# iterators: iter, next, and where a for loop leaves one


@adjoint(SequenceIterator)
def sequence_iterator_rule(seq):
    def sequence_iterator_pullback(dy):
        return (None if dy is None else cotangent_as(list(dy), seq),)

    return SequenceIterator(seq), sequence_iterator_pullback


def item_at(it, i):
    """Item ``i`` of the sequence SequenceIterator ``it`` iterates (``next`` took it)."""
    return it.seq[i]


@nograd
def _length_of(it):
    return len(it.seq)


@adjoint(item_at)
def item_at_rule(it, i):
    n = len(it.seq)

    def item_at_pullback(dy):
        return (seq_scatter(n, i, dy, True), None)

    return it.seq[i], item_at_pullback


@adjoint(iter)
def iter_rule(x, *sentinel):
    if sentinel:  # iter(callable, sentinel): next() of it refuses a gradient (see next_rule)
        return iter(x, *sentinel), _none_pullback(1 + len(sentinel))
    if type(x) is SequenceIterator:  # iter() of an iterator is the iterator
        return x, _same_pullback
    if type(x) is list or type(x) is tuple or (is_array(x) and x.ndim > 0):
        return sequence_iterator_rule(x)
    if _user_container(x):
        return _through_items(iter_rule, x)

    def iter_pullback(dy):
        # an iterator's cotangent is the sequence of its items' cotangents (see iterlist)
        return (cotangent_as(list(dy), x),)

    return iter(x), iter_pullback


_NO_ITEM = object()


@adjoint(next, SequenceIterator.__next__)
def next_rule(it, *default):
    if len(default) > 1:
        next(it, *default)  # Python's TypeError
    i = _advance(it) if type(it) is SequenceIterator else None
    if i is not None:
        n = _length_of(it)

        def next_pullback(dy):
            return (seq_scatter(n, i, dy, True),) + (None,) * len(default)

        return item_at(it, i), next_pullback
    y = _NO_ITEM if type(it) is SequenceIterator else _foreign_next(it)
    if y is _NO_ITEM:
        if not default:
            raise StopIteration
        return default[0], _default_item_pullback
    where = _where_next_called(y)

    def foreign_next_pullback(dy):
        if dy is not None:
            raise FluxpyError(FOREIGN_NEXT.format(kind=type(it).__name__, where=where))
        return (None,) * (1 + len(default))

    return y, foreign_next_pullback


FOREIGN_NEXT = (
    "next() of a {kind}: fluxpy follows the items of iter() of a list, tuple or array, of map() and of "
    "filter(), but not of this iterator, and a gradient has to flow through the item it gave.\n  {where}\n"
    "Take the items from a list instead (`items = list(...)`, then `items[0]` or `it = iter(items)`)."
)


@nograd
def _foreign_next(it):
    return next(it, _NO_ITEM)


@nograd
def _where_next_called(y):
    from ..runtime import user_location

    return user_location() if is_differentiable(y) else None


def _default_item_pullback(dy):
    return (None, dy)


@nograd
def rewind(it, count, last):
    """After a ``for`` loop that read ``count`` items from ``it`` and stopped at index ``last`` (-1: no trip;
    below ``count - 1``: it broke early): a SequenceIterator goes back to the first item not taken, as
    Python's loop would leave it. Other iterators cannot go back; their items past the break are used up
    (docs/limitations.md)."""
    if type(it) is SequenceIterator:
        it.pos -= count - (last + 1)
        tangent = getattr(it, "tangent", None)  # forward mode's (rules/forward_iteration.py: iter_jvp)
        if type(tangent) is SequenceIterator:
            tangent.pos = it.pos


# =========================================================================================================
# enumerate and reversed


@adjoint(enumerate)
def enumerate_rule(x, start=0):
    if _user_iterable(x):
        return _through_items(enumerate_rule, x, start)
    y = list(enumerate(x, start))

    def enumerate_pullback(dy):
        return (cotangent_as([None if d is None else d[1] for d in dy], x), None)

    return SequenceIterator(y), enumerate_pullback


@adjoint(reversed)
def reversed_rule(x):
    method = _python_dunder(x, "__reversed__")
    if method is not None:  # a class's own __reversed__, differentiated
        from ..runtime import call

        y, pb = call(method, x)

        def user_reversed_pullback(dy):
            return pb(dy)[1:]

        return y, user_reversed_pullback
    if _by_index(x) and _python_dunder(x, "__reversed__") is None and hasattr(type(x), "__len__"):
        # the sequence protocol: the items by __getitem__, differentiated, in reverse order
        return _through_items(reversed_rule, x)

    def reversed_pullback(dy):
        return (cotangent_as(list(dy)[::-1], x),)

    return SequenceIterator(list(reversed(x))), reversed_pullback
