"""Item assignment, ``x[idx] = v``, as a functional update: generated code rebinds ``x`` to a new value with
the item replaced. Values captured by earlier pullbacks are never changed under them, and the caller's
arrays, lists and dicts are never written to.

Python's aliasing would make such an update visible through other references; the transformer refuses
targets that may share their value (copies, elements of containers, loop variables, attributes), and
:func:`setitem` refuses a view whose base is referenced elsewhere.

>>> import numpy as np
>>> x = np.zeros(3)
>>> setitem(x, 1, 5.0), x
(array([0., 5., 0.]), array([0., 0., 0.]))
"""

import sys

import numpy as np

from ..backend import is_array, xp_of
from ..errors import FluxpyError
from .helpers import unbroadcast
from .registry import adjoint, nograd

VIEW_WRITE = (
    "writing into a view of another array (made by reshape, transpose, slicing, ...): in plain Python the "
    "write would show through that array, which fluxpy does not model. Copy the view first "
    "(`v = v.copy()`) or write into the original array."
)


def setitem(x, idx, v):
    """``x[idx] = v`` as a new value (array, list or dict); ``x`` itself is left unchanged."""
    if is_array(x):
        check_writable(x)
        y = x.copy()
        y[idx] = v
        return y
    if type(x) is list or type(x) is dict:
        y = type(x)(x)
        y[idx] = v
        return y
    raise FluxpyError(f"assigning items of a {type(x).__name__} is not supported in differentiated code")


@nograd
def check_writable(x):
    """Refuse writes into a view whose base has other references (the write would alias)."""
    base = x.base
    if base is not None and sys.getrefcount(base) > 2:
        raise FluxpyError(VIEW_WRITE)


@nograd
def check_distinct(idx, shape):
    """Fancy assignment with repeated indices keeps only the last value: no gradient model for that."""
    parts = idx if type(idx) is tuple else (idx,)
    for part in parts:
        if isinstance(part, (list, np.ndarray)) and np.asarray(part).dtype.kind in "iu":
            flat = np.asarray(part).ravel()
            if len(np.unique(flat)) != len(flat):
                raise FluxpyError(
                    "item assignment with repeated indices is not differentiable: the last write "
                    "wins. Use np.add.at-style accumulation with a new array instead."
                )


@adjoint(setitem)
def setitem_rule(x, idx, v):
    y = setitem(x, idx, v)
    if is_array(x):
        check_distinct(idx, x.shape)
        float_target = x.dtype.kind in "fc"

        def array_setitem_pullback(dy):
            dv = unbroadcast(dy[idx], v) if float_target else None
            return (zero_at(dy, idx), None, dv)

        return y, array_setitem_pullback
    if type(x) is list:

        def list_setitem_pullback(dy):
            return (replace_item(dy, idx, None), None, dy[idx])

        return y, list_setitem_pullback

    def dict_setitem_pullback(dy):
        return (replace_item(dy, idx, None), None, dy.get(idx))

    return y, dict_setitem_pullback


def zero_at(d, idx):
    """A copy of the array cotangent ``d`` with zeros at ``idx``."""
    out = xp_of(d).array(d, copy=True)
    out[idx] = 0
    return out


@adjoint(zero_at)
def zero_at_rule(d, idx):
    def zero_at_pullback(dd):
        return (zero_at(dd, idx), None)

    return zero_at(d, idx), zero_at_pullback


def replace_item(d, key, value):
    """A copy of the list or dict cotangent ``d`` with ``d[key] = value``."""
    if type(d) is list:
        out = list(d)
        out[key] = value
        return out
    out = dict(d)
    out[key] = value
    return out


@adjoint(replace_item)
def replace_item_rule(d, key, value):
    def replace_item_pullback(dd):
        return (replace_item(dd, key, None), None, dd[key] if type(dd) is list else dd.get(key))

    return replace_item(d, key, value), replace_item_pullback
