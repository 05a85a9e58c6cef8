"""Rules: NumPy's joins (``concatenate``, ``stack``, ``vstack``, ``hstack``, ``column_stack``, ``dstack``),
whose pullback splits the cotangent, and splits (``split``, ``array_split``, ``hsplit``, ``vsplit``,
``dsplit``, ``unstack``), whose pullback joins the cotangents (a ``None`` piece is a zero). A function whose
argument is a list of arrays (``np.stack([a, b])``) gets a list of cotangents for it, of the same container
type.

>>> import numpy as np, fluxpy as fx
>>> y, back = fx.pullback(np.stack, [np.zeros(2), np.ones(2)])
>>> back(np.array([[1.0, 2.0], [3.0, 4.0]]))
([array([1., 2.]), array([3., 4.])],)
"""

import numpy as np

from ..backend import xp_of
from .helpers import accept_array_likes, is_number, reads_array_objects
from .numpy_shape import _join, _unjoin, array_shape, grads_first, normalize_axis, option, xp_of_items
from .registry import adjoint, nograd
from .registry import lookup as _lookup_rule
from .registry import register as _register_rule


@nograd
def _join_layout(kind, arrays, axis):
    """``(layout, axis, container)`` of a join of ``arrays`` (see :func:`_unjoin`) by ``kind``."""
    shapes = [array_shape(a) for a in arrays]
    numbers = [is_number(a) for a in arrays]
    if kind == "concatenate" and axis is None:
        joined = [(int(np.prod(s, dtype=np.int64)),) for s in shapes]
        axis = 0
    elif kind == "concatenate":
        joined = shapes
        axis = normalize_axis(axis, len(shapes[0]))
    elif kind == "stack":
        axis = normalize_axis(axis, len(shapes[0]) + 1)
        joined = [s[:axis] + (1,) + s[axis:] for s in shapes]
    elif kind == "vstack":
        joined = [np.atleast_2d(np.empty(s, bool)).shape for s in shapes]
        axis = 0
    elif kind == "hstack":
        joined = [np.atleast_1d(np.empty(s, bool)).shape for s in shapes]
        axis = 0 if len(joined[0]) == 1 else 1
    elif kind == "column_stack":
        joined = [(s + (1,) if len(s) == 1 else (1, 1)) if len(s) < 2 else s for s in shapes]
        axis = 1
    else:  # dstack
        joined = [np.atleast_3d(np.empty(s, bool)).shape for s in shapes]
        axis = 2
    layout = tuple((tuple(j), tuple(s), n) for j, s, n in zip(joined, shapes, numbers, strict=True))
    return layout, axis, (list if isinstance(arrays, list) else tuple)


_CONCATENATE = ("axis", "out", "dtype", "casting")


_STACK = ("axis", "out", "dtype", "casting")


@adjoint(np.concatenate)
def concatenate_rule(arrays, *args, **kwargs):
    xp = xp_of_items(arrays)
    axis = option("concatenate", args, kwargs, _CONCATENATE, "axis", 0)
    layout, axis, container = _join_layout("concatenate", arrays, axis)

    def concatenate_pullback(dy):
        return grads_first(_unjoin(dy, layout, axis, container, None), args)

    return xp.concatenate(arrays, *args, **kwargs), concatenate_pullback


@adjoint(np.stack)
def stack_rule(arrays, *args, **kwargs):
    xp = xp_of_items(arrays)
    axis = option("stack", args, kwargs, _STACK, "axis", 0)
    layout, axis, container = _join_layout("stack", arrays, axis)

    def stack_pullback(dy):
        return grads_first(_unjoin(dy, layout, axis, container, None), args)

    return xp.stack(arrays, *args, **kwargs), stack_pullback


@adjoint(np.vstack)
def vstack_rule(tup, **kwargs):
    xp = xp_of_items(tup)
    layout, axis, container = _join_layout("vstack", tup, None)

    def vstack_pullback(dy):
        return (_unjoin(dy, layout, axis, container, None),)

    return xp.vstack(tup, **kwargs), vstack_pullback


@adjoint(np.hstack)
def hstack_rule(tup, **kwargs):
    xp = xp_of_items(tup)
    layout, axis, container = _join_layout("hstack", tup, None)

    def hstack_pullback(dy):
        return (_unjoin(dy, layout, axis, container, None),)

    return xp.hstack(tup, **kwargs), hstack_pullback


@adjoint(np.column_stack)
def column_stack_rule(tup):
    xp = xp_of_items(tup)
    layout, axis, container = _join_layout("column_stack", tup, None)

    def column_stack_pullback(dy):
        return (_unjoin(dy, layout, axis, container, None),)

    return xp.column_stack(tup), column_stack_pullback


@adjoint(np.dstack)
def dstack_rule(tup):
    xp = xp_of_items(tup)
    layout, axis, container = _join_layout("dstack", tup, None)

    def dstack_pullback(dy):
        return (_unjoin(dy, layout, axis, container, None),)

    return xp.dstack(tup), dstack_pullback


@nograd
def _split_layout(pieces, axis, ndim):
    """``(layout, axis)`` of the pieces of a split along ``axis`` (see :func:`_unjoin`)."""
    layout = tuple((array_shape(p), array_shape(p), False) for p in pieces)
    return layout, normalize_axis(axis, ndim)


@nograd
def _split_axis(kind, ary, args, kwargs):
    """The axis of ``np.{split,array_split,hsplit,vsplit,dsplit}(ary, ...)``."""
    if kind in ("split", "array_split"):
        return option(kind, args, kwargs, ("indices_or_sections", "axis"), "axis", 0)
    return {"hsplit": 1 if len(array_shape(ary)) > 1 else 0, "vsplit": 0, "dsplit": 2}[kind]


@adjoint(np.split)
def split_rule(ary, *args, **kwargs):
    ys = xp_of(ary).split(ary, *args, **kwargs)
    layout, axis = _split_layout(ys, _split_axis("split", ary, args, kwargs), len(array_shape(ary)))

    def split_pullback(dy):
        return grads_first(_join(dy, layout, axis, ary), args)

    return ys, split_pullback


@adjoint(np.array_split)
def array_split_rule(ary, *args, **kwargs):
    ys = xp_of(ary).array_split(ary, *args, **kwargs)
    layout, axis = _split_layout(ys, _split_axis("array_split", ary, args, kwargs), len(array_shape(ary)))

    def array_split_pullback(dy):
        return grads_first(_join(dy, layout, axis, ary), args)

    return ys, array_split_pullback


@adjoint(np.hsplit)
def hsplit_rule(ary, *args, **kwargs):
    ys = xp_of(ary).hsplit(ary, *args, **kwargs)
    layout, axis = _split_layout(ys, _split_axis("hsplit", ary, args, kwargs), len(array_shape(ary)))

    def hsplit_pullback(dy):
        return grads_first(_join(dy, layout, axis, ary), args)

    return ys, hsplit_pullback


@adjoint(np.vsplit)
def vsplit_rule(ary, *args, **kwargs):
    ys = xp_of(ary).vsplit(ary, *args, **kwargs)
    layout, axis = _split_layout(ys, _split_axis("vsplit", ary, args, kwargs), len(array_shape(ary)))

    def vsplit_pullback(dy):
        return grads_first(_join(dy, layout, axis, ary), args)

    return ys, vsplit_pullback


@adjoint(np.dsplit)
def dsplit_rule(ary, *args, **kwargs):
    ys = xp_of(ary).dsplit(ary, *args, **kwargs)
    layout, axis = _split_layout(ys, _split_axis("dsplit", ary, args, kwargs), len(array_shape(ary)))

    def dsplit_pullback(dy):
        return grads_first(_join(dy, layout, axis, ary), args)

    return ys, dsplit_pullback


@nograd
def _unstack_layout(x, axis):
    shape = array_shape(x)
    axis = normalize_axis(axis, len(shape))
    piece = shape[:axis] + shape[axis + 1 :]
    return tuple((piece[:axis] + (1,) + piece[axis:], piece, False) for _ in range(shape[axis])), axis


@adjoint(np.unstack)
def unstack_rule(x, **kwargs):
    layout, axis = _unstack_layout(x, option("unstack", (), kwargs, (), "axis", 0))

    def unstack_pullback(dy):
        return (_join(dy, layout, axis, x),)

    return xp_of(x).unstack(x, **kwargs), unstack_pullback


# user objects with a Python ``__array__`` in the sequences of arrays that the joins read (rules/helpers.py)
for _joiner in (np.concatenate, np.stack, np.vstack, np.hstack, np.column_stack, np.dstack):
    _register_rule(_joiner, reads_array_objects(_lookup_rule(_joiner)))


# lists and tuples where NumPy reads arrays (rules/helpers.py); not where it reads sequences of arrays, nor in
# np.unstack (NumPy's takes arrays only)
accept_array_likes(
    __name__, skip=(np.concatenate, np.stack, np.vstack, np.hstack, np.column_stack, np.dstack, np.unstack)
)
