"""Rules for Python's builtins that compute with numbers (``complex``, ``float``, ``sum``, ``max``, ``min``,
``sorted``) and NumPy's float types called as functions; the builtins that give no gradient (``len``,
``range``, ``isinstance``, ...) are listed here too. Iteration: rules/python_iteration.py; ``abs``,
``divmod``: rules/python_operators.py; ``pow``: rules/python_power.py.

>>> y, back = max_rule(1.0, 3.0, 2.0)
>>> y, back(1.0)
(3.0, (None, 1.0, None))
"""

import bisect
import builtins
import collections
import contextlib
import dataclasses
import math

import numpy as np

from ..backend import is_array, xp_of
from ..tangents import KeywordGrads
from .helpers import unbroadcast
from .python_common import _complex, _none_pullback, _numeric, _python_dunder
from .python_iteration import _through_items, _user_iterable, cotangent_as, iterlist
from .python_operators import _other_unary
from .registry import adjoint, nograd

# =========================================================================================================
# builtins with no gradient


nograd(
    len,
    range,
    isinstance,
    issubclass,
    type,
    print,
    id,
    hash,
    str,
    repr,
    format,
    hasattr,
    callable,
    int,
    bool,
    round,
    slice,
    any,
    all,
    ord,
    chr,
    object,
    bytes,
    math.floor,
    math.ceil,
    math.trunc,
    math.isnan,
    math.isinf,
    math.isfinite,
    bisect.bisect_left,  # a position (an int); bisect.insort changes its list: refused (runtime/method_kinds)
    bisect.bisect_right,
)


nograd(collections.namedtuple, dataclasses.make_dataclass, dataclasses.fields, dataclasses.is_dataclass)


# context managers made by @contextlib.contextmanager run their generator as Python does (fluxpy does not
# differentiate generators): what they yield to ``with ... as v`` gets no gradient, and asking for one
# raises (see python_control.with_value_rule)
nograd(contextlib._GeneratorContextManager, contextlib._AsyncGeneratorContextManager)


# =========================================================================================================
# numbers: complex() and float()


_NO_IMAG = object()


@adjoint(complex)
def complex_rule(real=0, imag=_NO_IMAG):
    """``complex(a, b)`` is ``a + 1j * b``. In the library's convention (tests/rules/test_complex.py) the
    cotangent of ``z = a + ib`` is ``dL/da + i dL/db``: a real ``a`` gets ``Re(dz)``, a real ``b``
    ``Im(dz)``; a complex one the holomorphic pullback's ``dz`` and ``conj(1j) * dz``. A string has none."""
    y = complex(real) if imag is _NO_IMAG else complex(real, imag)
    if imag is _NO_IMAG:
        imag = 0
    if not (_numeric(real) and _numeric(imag)):
        if isinstance(real, (str, bytes)):
            return y, _none_pullback(2)
        from ..runtime import foreign_forward

        y, pb = foreign_forward(complex, real, imag)  # a __complex__ method: a gradient reaching it raises
        return y, lambda dy: pb(dy)[1:]

    def complex_pullback(dy):
        if dy is None:
            return (None, None)
        db = -1j * dy
        return (dy if _complex(real) else np.real(dy), db if _complex(imag) else np.real(db))

    return y, complex_pullback


@adjoint(float)
def float_rule(x=0.0):
    if not _numeric(x) and _python_dunder(x, "__float__") is not None:
        # a user class: its __float__ differentiated, then Python's check and conversion of what it gave
        y, pb = _other_unary("__float__", x)
        _check_float(x, y)
        return float(y), pb

    def float_pullback(dy):
        return (dy,)

    return float(x), float_pullback


@nograd
def _check_float(x, y):
    if not isinstance(y, float):
        raise TypeError(f"{type(x).__name__}.__float__ returned non-float (type {type(y).__name__})")


def _float_scalar_rule(kind):
    """The rule of a NumPy float type called as a function (``np.float64(x)``)."""

    def float_scalar_rule(x=0.0):
        def float_scalar_pullback(dy):
            return (dy,)

        return kind(x), float_scalar_pullback

    return float_scalar_rule


for _kind in (np.float64, np.float32, np.float16):
    adjoint(_kind)(_float_scalar_rule(_kind))


# =========================================================================================================
# sum


@adjoint(builtins.sum)
def sum_rule(xs, start=0):
    if not (type(xs) is list or type(xs) is tuple or is_array(xs)):
        # an iterator (read once), or a user container: its items are those a for loop visits,
        # differentiated through its __iter__
        from ..runtime import call

        items, items_pb = call(iterlist, xs)
        y, total_pb = call(builtins.sum, items, start)

        def items_sum_pullback(dy):
            g = total_pb(dy)
            return (None if g[1] is None else items_pb(g[1])[1], g[2])

        return y, items_sum_pullback
    y = sum(xs, start)
    if not _numeric(y):
        # lists, tuples or objects added up (``sum(rows, [])``): Python's ``+``, from ``start`` on
        from ..runtime import call

        y, fold_pb = call(sum_fold, xs, start)

        def fold_pullback(dy):
            return fold_pb(dy)[1:]

        return y, fold_pullback

    def sum_pullback(dy):
        return (fill_like(xs, dy), unbroadcast(dy, start))

    return y, sum_pullback


def sum_fold(xs, start):
    """``sum(xs, start)`` as Python computes it, ``start + xs[0] + xs[1] + ...``, for items that are not
    numbers or arrays (lists concatenate, objects add by their ``__add__``)."""
    total = start
    for x in xs:
        total = total + x
    return total


def fill_like(xs, dy):
    """The cotangent of ``xs`` when every element (row of an array) receives ``dy``."""
    if is_array(xs):
        return xp_of(xs).broadcast_to(dy, xs.shape)
    items = [unbroadcast(dy, x) for x in xs]
    return items if type(xs) is list else tuple(items)


@adjoint(fill_like)
def fill_like_rule(xs, dy):
    def fill_like_pullback(dd):
        if is_array(xs):
            return (None, xp_of(dd).sum(dd, axis=0))
        return (None, builtins.sum(_nonzero(dd)))

    return fill_like(xs, dy), fill_like_pullback


def _nonzero(ds):
    return [d for d in ds if d is not None]


@adjoint(_nonzero)
def _nonzero_rule(ds):
    def nonzero_pullback(dd):
        out, k = [], 0
        for d in ds:
            if d is None:
                out.append(None)
            else:
                out.append(dd[k])
                k += 1
        return (out,)

    return _nonzero(ds), nonzero_pullback


# =========================================================================================================
# max and min


_NO_DEFAULT = object()


def _extreme_rule(pick, args, key, default=_NO_DEFAULT):
    if default is not _NO_DEFAULT and len(args) != 1:
        pick(*args, default=default)  # Python's TypeError
    if len(args) == 1 and _user_iterable(args[0]):
        return _through_items(lambda items: _extreme_rule(pick, (items,), key, default), args[0])
    values = list(args[0]) if len(args) == 1 else list(args)
    if not values and default is not _NO_DEFAULT:
        x = args[0]

        def default_pullback(dy):
            return (cotangent_as([], x), KeywordGrads({"default": dy}))

        return default, default_pullback
    if key is None:
        y = pick(values)
        chosen = _chosen(values, y)
    else:
        chosen = [_key_choice(pick, values, key)]
        y = values[chosen[0]]

    def extreme_pullback(dy):
        # ties between numbers share the cotangent; any other item is chosen alone (see _chosen)
        share = dy if len(chosen) == 1 else dy / len(chosen)
        parts = _onehots(len(values), chosen, share)
        if len(args) == 1:
            return (cotangent_as(parts, args[0]),)
        return tuple(parts)

    return y, extreme_pullback


def extreme_choice(pick, values, key):
    """``(pick(values, key=key), the positions whose items get its cotangent)`` (``pick`` is ``max`` or
    ``min``): see _chosen and _key_choice."""
    if key is None:
        y = pick(values)
        return y, _chosen(values, y)
    best = _key_choice(pick, values, key)
    return values[best], [best]


@nograd
def _chosen(values, y):
    """The positions whose items get the cotangent of ``y = max(values)`` (``min``): when the items are not
    numbers or arrays (tuples, lists, objects), only the one Python returns; between equal numbers or
    arrays, all of them (the cotangent is shared)."""
    if not _numeric(y):
        return [next(i for i, v in enumerate(values) if v is y)]
    return [i for i, v in enumerate(values) if v is y or bool(np.all(v == y))]


@nograd
def _key_choice(pick, values, key):
    """The position of the item ``pick(values, key=key)`` returns (``pick`` is ``max`` or ``min``), which
    alone gets the cotangent: the first extreme one, the keys compared as Python's max/min compare them.
    The key runs once per item, as in Python (its side effects happen once)."""
    if not values:
        pick(values)  # Python's ValueError (a default was handled before)
    keys = [key(v) for v in values]
    best = 0
    for i in range(1, len(values)):
        if keys[i] > keys[best] if pick is max else keys[i] < keys[best]:
            best = i
    return best


def _onehots(n, chosen, share):
    out = [None] * n
    for i in chosen:
        out[i] = share
    return out


@adjoint(_onehots)
def _onehots_rule(n, chosen, share):
    def onehots_pullback(dd):
        if len(chosen) == 1:  # the item may be a tuple or a list (max of pairs): not summed
            return (None, None, dd[chosen[0]])
        return (None, None, builtins.sum(_nonzero([dd[i] for i in chosen])))

    return _onehots(n, chosen, share), onehots_pullback


@adjoint(builtins.max)
def max_rule(*args, key=None, default=_NO_DEFAULT):
    return _extreme_rule(max, args, key, default)


@adjoint(builtins.min)
def min_rule(*args, key=None, default=_NO_DEFAULT):
    return _extreme_rule(min, args, key, default)


# =========================================================================================================
# sorted


@adjoint(sorted)
def sorted_rule(x, key=None, reverse=False):
    if _user_iterable(x):
        return _through_items(sorted_rule, x, key, reverse)
    values = list(x)
    order = _sort_order(values, key, reverse)

    def sorted_pullback(dy):
        return (cotangent_as(permute_back(dy, order), x),)

    return pick(values, order), sorted_pullback


@nograd
def _sort_order(values, key, reverse):
    return sorted(
        range(len(values)), key=lambda i: values[i] if key is None else key(values[i]), reverse=reverse
    )


def pick(values, order):
    """``[values[i] for i in order]``."""
    return [values[i] for i in order]


@adjoint(pick)
def pick_rule(values, order):
    def pick_pullback(dy):
        return (permute_back(dy, order), None)

    return pick(values, order), pick_pullback


def permute_back(dy, order):
    """The cotangent of ``values`` from that of ``pick(values, order)`` (order is a permutation)."""
    out = [None] * len(order)
    for k, i in enumerate(order):
        out[i] = dy[k]
    return out


@adjoint(permute_back)
def permute_back_rule(dy, order):
    def permute_back_pullback(dd):
        return (pick(dd, order), None)

    return permute_back(dy, order), permute_back_pullback
