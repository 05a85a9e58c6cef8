"""Rules: ``np.r_[...]`` and ``np.c_[...]`` (NumPy's ``AxisConcatenator.__getitem__``).

Their ``__getitem__`` concatenates (or stacks) the parts of the key along an axis, after NumPy's own
reading of slices (``np.r_[0:5]``), scalars, 1-D parts (columns, for ``c_``) and string directives
(``"0,2"``, ``"r"``). The rule lets NumPy compute the value, and finds where each part's entries went by
running the same call once more on tagged parts (:func:`_positions`): every entry of a part is unique in
the result, so each part's cotangent is a gather of the result's cotangent (``take``, which has a rule:
second derivatives go through it). Float arrays and float numbers get a cotangent; other parts (ints,
lists, slices, strings) are constants and get None.

>>> import numpy as np, fluxpy as fx
>>> X = np.arange(4.0).reshape(2, 2)
>>> fx.gradient(lambda b: np.sum(np.c_[np.ones(2), X] @ b), np.ones(3))[0]
array([2., 2., 4.])
>>> fx.gradient(lambda w: np.sum(np.r_[w, 1.0, 0:2] ** 2), np.array([3.0, 4.0]))[0]
array([6., 8.])
"""

import numpy as np

from ..backend import is_array, xp_of
from .registry import adjoint, forward_rule, nograd

AxisConcatenator = type(np.r_).__mro__[1]  # numpy.lib._index_tricks_impl.AxisConcatenator


@nograd
def _moving(part):
    """Whether a part of the key carries a gradient: a float (or complex) array or number."""
    if is_array(part) or isinstance(part, np.generic):
        return part.dtype.kind in "fc"
    return type(part) is float or type(part) is complex


@nograd
def _positions(concatenator, parts):
    """For each part, the flat positions in the result of its entries in C order (None for a constant
    part): the call run again with each moving part replaced by its entries' numbers ``1, 2, ...`` in the
    imaginary part, the constant array parts by zeros (slices and strings kept as they are)."""
    tagged, start = [], 1
    for part in parts:
        if _moving(part):
            size = int(np.size(part))
            tags = 1j * np.arange(start, start + size, dtype=np.float64)
            tagged.append(tags.reshape(np.shape(part)) if np.ndim(part) else tags[0])
            start += size
        elif is_array(part) or isinstance(part, (list, tuple, np.generic, int, float, complex)):
            tagged.append(np.zeros(np.shape(part)) if np.ndim(part) else 0.0)
        else:
            tagged.append(part)  # a slice, a string directive
    index = np.asarray(concatenator[tuple(tagged)]).imag.ravel().astype(np.int64)
    order = np.argsort(index, kind="stable")
    out, start = [], 1
    for part in parts:
        if not _moving(part):
            out.append(None)
            continue
        size = int(np.size(part))
        first = np.searchsorted(index[order], start)
        out.append(order[first : first + size])
        start += size
    return out


def _gather(dy, positions, part):
    """The cotangent of one part: its entries' cotangents read from the result's, in its shape."""
    xp = xp_of(dy)
    g = xp.reshape(xp.take(xp.ravel(dy), positions), np.shape(part))
    return g if np.ndim(part) else g[()]


@adjoint(AxisConcatenator.__getitem__)
def axis_concatenator_getitem_rule(concatenator, key):
    parts = key if type(key) is tuple else (key,)
    y = concatenator[key]
    positions = _positions(concatenator, parts)

    def axis_concatenator_getitem_pullback(dy):
        grads = tuple(
            None if p is None else _gather(dy, p, part) for p, part in zip(positions, parts, strict=True)
        )
        return (None, grads if type(key) is tuple else grads[0])

    return y, axis_concatenator_getitem_pullback


@forward_rule(AxisConcatenator.__getitem__)
def axis_concatenator_getitem_jvp(args, targs):
    """The tangent of ``np.r_[key]``: each moving part's tangent put where its entries went, zeros elsewhere
    (the result is linear in its moving parts; constant parts, slices included, have no tangent)."""
    concatenator, key = args
    y = concatenator[key]
    if targs[1] is None:
        return y, None
    parts = key if type(key) is tuple else (key,)
    tparts = targs[1] if type(key) is tuple else (targs[1],)
    t = np.zeros(np.size(y), dtype=np.result_type(y, *[v for v in tparts if v is not None]))
    for p, part, tp in zip(_positions(concatenator, parts), parts, tparts, strict=True):
        if p is not None and tp is not None:
            t[p] = np.broadcast_to(tp, np.shape(part)).ravel()
    return y, t.reshape(np.shape(y))
