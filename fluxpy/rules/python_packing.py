"""The containers generated code builds and takes apart: ``(a, b)``, ``[a, b]``, ``{k: a}`` and ``{a, b}``
(``pack_tuple``, ...), ``a, b = x`` and ``a, *rest = x`` (``unpack``, ``unpack_starred``), and the linked
lists a comprehension accumulates into (``cons_to_list``, ...). Each has a rule, so code calling them is
differentiated, again for second order (transform/codegen.py's HELPERS name them).

>>> y, back = pack_dict_rule(["a", "b"], 1.0, 2.0)
>>> y, back({"b": 3.0})
({'a': 1.0, 'b': 2.0}, (None, None, 3.0))
"""

import numpy as np

from ..backend import is_array
from .python_iteration import _through_items, _user_iterable, cotangent_as
from .registry import adjoint, nograd

# =========================================================================================================
# (a, b), [a, b], {k: a}


def pack_tuple(*xs):
    """``(a, b, ...)`` in generated code."""
    return xs


@adjoint(pack_tuple)
def pack_tuple_rule(*xs):
    def pack_tuple_pullback(dy):
        return tuple(dy)

    return xs, pack_tuple_pullback


def pack_list(*xs):
    """``[a, b, ...]`` in generated code."""
    return list(xs)


@adjoint(pack_list)
def pack_list_rule(*xs):
    def pack_list_pullback(dy):
        return tuple(dy)

    return list(xs), pack_list_pullback


def pack_dict(keys, *values):
    """``{k1: a, k2: b}`` in generated code (keys are evaluated without gradient)."""
    return dict(zip(keys, values, strict=True))


@adjoint(pack_dict)
def pack_dict_rule(keys, *values):
    def pack_dict_pullback(dy):
        return (None,) + dict_values(dy, keys)

    return pack_dict(keys, *values), pack_dict_pullback


def dict_values(d, keys):
    """The values of dict ``d`` at ``keys`` (None where absent), as a tuple. A key that ``keys`` repeats
    (``1`` and ``1.0`` are one key) gets its value at its last position only, None at the others: in
    ``{k: a, k: b}`` only ``b`` is kept, so only ``b`` has a gradient (this is the transpose of
    ``pack_dict``, and ``pack_dict`` is its transpose)."""
    last = _last_positions(keys)
    if last is None:
        return tuple(d.get(k) for k in keys)
    return tuple(d.get(k) if last[i] else None for i, k in enumerate(keys))


@nograd
def _last_positions(keys):
    """None when ``keys`` has no repeated key; otherwise one bool per position: True where that key occurs
    for the last time (the occurrence whose value a dict keeps)."""
    final = {}
    for i, k in enumerate(keys):
        final[k] = i
    if len(final) == len(keys):
        return None
    return [final[k] == i for i, k in enumerate(keys)]


@adjoint(dict_values)
def dict_values_rule(d, keys):
    def dict_values_pullback(dd):
        return (pack_dict(keys, *dd), None)

    return dict_values(d, keys), dict_values_pullback


# =========================================================================================================
# a, b = x and a, *rest = x


def unpack(x, n):
    """``a, b = x`` in generated code: ``x`` as a tuple of exactly ``n`` items."""
    items = tuple(x)
    if len(items) != n:
        raise ValueError(f"cannot unpack {len(items)} values into {n} names")
    return items


@adjoint(unpack)
def unpack_rule(x, n):
    if _user_iterable(x):
        return _through_items(unpack_rule, x, n)

    def unpack_pullback(dy):
        return (cotangent_as(dy, x), None)

    return unpack(x, n), unpack_pullback


def unpack_starred(x, before, after):
    """``a, *rest, z = x`` in generated code (``before`` names before the star, ``after`` after it): the
    items of ``x`` as a tuple whose entry ``before`` is the list of the middle items."""
    items = list(x)
    if len(items) < before + after:
        expected = before + after
        raise ValueError(f"not enough values to unpack (expected at least {expected}, got {len(items)})")
    end = len(items) - after
    return tuple(items[:before]) + (items[before:end],) + tuple(items[end:])


@adjoint(unpack_starred)
def unpack_starred_rule(x, before, after):
    if _user_iterable(x):
        return _through_items(unpack_starred_rule, x, before, after)
    y = unpack_starred(x, before, after)
    middle = len(y[before])

    def unpack_starred_pullback(dy):
        rest = dy[before] if dy[before] is not None else [None] * middle
        return (cotangent_as(list(dy[:before]) + list(rest) + list(dy[before + 1 :]), x), None, None)

    return y, unpack_starred_pullback


# =========================================================================================================
# comprehensions: the linked lists they accumulate into, as a list, a set or a dict


def cons_to_list(acc):
    """The list of items pushed on the linked list ``acc = (item, acc)``, first pushed first."""
    out = []
    while acc is not None:
        out.append(acc[0])
        acc = acc[1]
    out.reverse()
    return out


@adjoint(cons_to_list)
def cons_to_list_rule(acc):
    def cons_to_list_pullback(dl):
        d = None
        for item in dl:
            d = (item, d)
        return (d,)

    return cons_to_list(acc), cons_to_list_pullback


def cons_to_set(acc):
    """A set of the items of a linked list (sets carry no gradient: floats are refused)."""
    return pack_set(*cons_to_list(acc))


def pack_set(*xs):
    """``{a, b, ...}`` in generated code. A set has no order to mirror a gradient on, so floating-point
    elements are refused (a later read would lose their gradient); ints, strings and the like are fine."""
    for x in xs:
        if isinstance(x, (float, np.floating)) or (is_array(x) and x.dtype.kind in "fc"):
            from ..errors import FluxpyError

            raise FluxpyError(
                "a set of floating-point values has no gradient (sets are unordered); use a list or a tuple"
            )
    return set(xs)


def cons_to_dict(acc):
    """A dict from the (key, value) items of a linked list, later keys winning."""
    return dict(cons_to_list(acc))


@adjoint(cons_to_dict)
def cons_to_dict_rule(acc):
    items = cons_to_list(acc)
    keys = _pair_keys(items)

    def cons_to_dict_pullback(dd):
        # a repeated key keeps its last value: only that one gets the cotangent
        d = None
        for value in dict_values(dd, keys):
            d = ((None, value), d)
        return (d,)

    return dict(items), cons_to_dict_pullback


@nograd
def _pair_keys(pairs):
    """The keys of a sequence of (key, value) pairs."""
    return [k for k, _ in pairs]


nograd(cons_to_set, pack_set)
