"""Rules: NumPy shape and structure: reshapes, transposes, joins, splits, pad, flip, roll, tile, repeat, sort.

Every rule here moves entries around without changing them, so every pullback moves the cotangent back:
reshape undoes reshape, concatenate's pullback splits, split's pullback concatenates (a ``None`` piece is a
zero), a gather's pullback is a scatter-add and the other way round. Helpers that a pullback needs and that
NumPy lacks come in pairs whose rules call each other (``_gather``/``_scatter``, ``_join``/``_unjoin``,
``_pack``/``_unpack``, ``_crop``/``np.pad``), so pullbacks stay differentiable to any order.

A function whose argument is a list of arrays (``np.stack([a, b])``) gets a list of cotangents for it,
of the same container type.

>>> import numpy as np, fluxpy as fx
>>> y, back = fx.pullback(np.stack, [np.zeros(2), np.ones(2)])
>>> back(np.array([[1.0, 2.0], [3.0, 4.0]]))
([array([1., 2.]), array([3., 4.])],)
"""

import operator

import numpy as np

from ..backend import xp_of
from ..errors import FluxpyError
from ..tangents import KeywordGrads
from .forward_core import keyword_forward_rule
from .helpers import (
    accept_array_likes,
    array_of_object,
    carries_values,
    has_array_method,
    is_number,
    reads_array_objects,
    unbroadcast,
)
from .registry import adjoint, device_rule, nograd, register_attribute, register_method
from .registry import lookup as _lookup_rule
from .registry import register as _register_rule

OUT_UNSUPPORTED = (
    "{name}(..., out=...) writes into an existing array, which fluxpy cannot differentiate; "
    "drop out= and use the returned array."
)
WHERE_UNSUPPORTED = (
    "np.{name}(..., where=mask) has no rule in fluxpy.\n  {where}\nApply the mask to the input instead, with "
    "the value that leaves the result as it is where the mask is False: "
    "np.{name}(np.where(mask, x, <that value>)). np.sum, mean, prod, max, min, var, std and their "
    "NaN-ignoring forms take where= themselves."
)
ORDER_K_UNSUPPORTED = (
    "{name}(..., order='K') of an array that is neither C- nor Fortran-contiguous has no rule in fluxpy; "
    "use order='C' (the default) or order='F'."
)
PAD_MODE_UNSUPPORTED = (
    "np.pad(..., mode={mode!r}) has no rule in fluxpy: its padding is not a copy of input entries. Supported "
    "modes: 'constant', 'empty', 'edge', 'wrap', and 'reflect'/'symmetric' with reflect_type='even'."
)


# ---------------------------------------------------------------------------------------------------------
# bookkeeping: never differentiated


@nograd
def array_shape(x):
    """Shape of an array, NumPy scalar, number, or nested list/tuple of them."""
    shape = getattr(x, "shape", None)
    if shape is not None:
        return tuple(shape)
    if isinstance(x, (list, tuple)):
        return (len(x),) + (array_shape(x[0]) if len(x) else ())
    return ()


@nograd
def normalize_axes(axis, ndim):
    """``axis`` (None, an int or a sequence, negative allowed) as a sorted tuple of non-negative axes."""
    if axis is None:
        return tuple(range(ndim))
    axes = tuple(axis) if isinstance(axis, (tuple, list)) else (axis,)
    return tuple(sorted(normalize_axis(a, ndim) for a in axes))


@nograd
def normalize_axis(axis, ndim):
    """One axis as a non-negative int (raises NumPy's ``AxisError`` when out of range)."""
    a = operator.index(axis)
    if not -ndim <= a < ndim:
        raise np.exceptions.AxisError(a, ndim)
    return a + ndim if a < 0 else a


@nograd
def bind(name, args, kwargs, names, reads_where=False):
    """The options of a call as a dict: positional ``args`` (after the array) named by ``names``, and
    ``kwargs``. Refuses ``out=``, which no rule differentiates, and ``where=`` unless the caller's rule
    ``reads_where`` (the reductions of rules/numpy_reductions.py): a rule that ignored the mask would give
    masked entries gradients."""
    if len(args) > len(names):
        raise TypeError(
            f"{name}() takes at most {len(names) + 1} positional arguments ({len(args) + 1} given)"
        )
    opts = dict(zip(names, args, strict=False))
    for key, value in kwargs.items():
        if key in opts:
            raise TypeError(f"{name}() got multiple values for argument {key!r}")
        opts[key] = value
    if opts.get("out") is not None:
        raise FluxpyError(OUT_UNSUPPORTED.format(name=name))
    if not reads_where and "where" in opts and opts["where"] is not True:
        raise where_unsupported(name)
    return opts


@nograd
def where_unsupported(name):
    """The FluxpyError for ``np.<name>(..., where=mask)`` of a function whose rule does not read the mask:
    where (the user's line), and the rewrite without ``where=`` to differentiate instead."""
    from ..runtime import user_location

    return FluxpyError(WHERE_UNSUPPORTED.format(name=name, where=user_location()))


@nograd
def option(name, args, kwargs, names, key, default=None):
    """One option of a call (see :func:`bind`); ``default`` when it was not passed."""
    return bind(name, args, kwargs, names).get(key, default)


@nograd
def xp_of_items(items):
    """The array module of a sequence of values."""
    return xp_of(*items) if isinstance(items, (list, tuple)) else xp_of(items)


@nograd
def _float_dtype(x):
    dtype = getattr(x, "dtype", None)
    return dtype if dtype is not None and dtype.kind in "fc" else np.dtype(np.float64)


@nograd
def _to_scalar(g):
    """A 1-element cotangent as a Python number (the cotangent of a Python number)."""
    value = g.reshape(()).item() if hasattr(g, "reshape") else g
    return value if isinstance(value, complex) else float(value)


@nograd
def _resolve_order(name, x, order):
    """A memory order as 'C' or 'F' ('A' and 'K' resolved from the layout of ``x``)."""
    order = "C" if order is None else order.upper()
    flags = getattr(x, "flags", None)
    if order == "A":
        return "F" if flags is not None and flags.f_contiguous and not flags.c_contiguous else "C"
    if order == "K":
        if flags is None or flags.c_contiguous:
            return "C"
        if flags.f_contiguous:
            return "F"
        raise FluxpyError(ORDER_K_UNSUPPORTED.format(name=name))
    return order


# ---------------------------------------------------------------------------------------------------------
# the cotangent tuple of a call: one entry per positional argument


def grads_first(dx, args):
    """``(dx, None, ...)``: the cotangents of a call whose only differentiable positional argument is the
    first, with ``args`` the other positional arguments."""
    return (dx,) + (None,) * len(args)


@adjoint(grads_first)
def grads_first_rule(dx, args):
    def grads_first_pullback(dd):
        return (dd[0], None)

    return grads_first(dx, args), grads_first_pullback


def place(values, positions, n):
    """The cotangents of a call with ``n`` positional arguments: ``values[k]`` at ``positions[k]``, ``None``
    elsewhere."""
    out = [None] * n
    for value, position in zip(values, positions, strict=True):
        out[position] = value
    return tuple(out)


def pick(grads, positions, n):
    """The adjoint of :func:`place`: the entries of ``grads`` at ``positions``, as a tuple."""
    return tuple(grads[p] for p in positions)


@adjoint(place)
def place_rule(values, positions, n):
    def place_pullback(dd):
        return (pick(dd, positions, n), None, None)

    return place(values, positions, n), place_pullback


@adjoint(pick)
def pick_rule(grads, positions, n):
    def pick_pullback(dd):
        return (place(dd, positions, n), None, None)

    return pick(grads, positions, n), pick_pullback


@nograd
def count_args(args):
    """``1 + len(args)``: the number of positional arguments of a call whose first one is not in ``args``."""
    return 1 + len(args)


# ---------------------------------------------------------------------------------------------------------
# paired helpers: each one's pullback is the other


def _gather(x, index):
    """``x.ravel()[index]``: entries of ``x`` picked by the flat integer array ``index``."""
    xp = xp_of(x)
    return xp.reshape(xp.asarray(x), (-1,))[index]


def _scatter(g, index, shape):
    """The adjoint of :func:`_gather`: each entry of ``g`` added into flat position ``index`` of zeros of
    ``shape``."""
    xp = xp_of(g)
    g = xp.asarray(g)
    size = int(np.prod(shape, dtype=np.int64))
    flat_index = xp.reshape(index, (-1,))
    flat = xp.reshape(g, (-1,))
    if g.dtype.kind == "c":
        out = xp.bincount(flat_index, weights=flat.real, minlength=size) + 1j * xp.bincount(
            flat_index, weights=flat.imag, minlength=size
        )
    else:
        out = xp.bincount(flat_index, weights=flat, minlength=size)
    return xp.reshape(out.astype(_float_dtype(g), copy=False), shape)


@adjoint(_gather)
def gather_rule(x, index):
    shape = array_shape(x)

    def gather_pullback(dy):
        return (_scatter(dy, index, shape), None)

    return _gather(x, index), gather_pullback


@adjoint(_scatter)
def scatter_rule(g, index, shape):
    def scatter_pullback(dy):
        return (_gather(dy, index), None, None)

    return _scatter(g, index, shape), scatter_pullback


def _crop(g, widths):
    """The inside of a padded array: ``g`` without ``widths[i] = (before, after)`` entries on axis ``i``."""
    g = xp_of(g).asarray(g)
    return g[tuple(slice(b, n - a) for (b, a), n in zip(widths, g.shape, strict=True))]


@adjoint(_crop)
def crop_rule(g, widths):
    xp = xp_of(g)

    def crop_pullback(dy):
        return (xp.pad(dy, widths), None)

    return _crop(g, widths), crop_pullback


def _unjoin(g, layout, axis, container, keep):
    """Split ``g`` along ``axis`` into pieces: the cotangents of a join's inputs, as ``container``.

    ``layout[k] = (joined_shape, input_shape, is_number)``: piece ``k`` has ``joined_shape`` in ``g`` and is
    reshaped to ``input_shape`` (a Python number when ``is_number``). ``keep[k]`` false gives ``None``.
    """
    xp = xp_of(g)
    g = xp.asarray(g)
    cuts = np.cumsum([joined[axis] for joined, _, _ in layout])[:-1].tolist()
    out = []
    for k, (piece, (_, shape, number)) in enumerate(zip(xp.split(g, cuts, axis=axis), layout, strict=True)):
        if keep is not None and not keep[k]:
            out.append(None)
        elif number:
            out.append(_to_scalar(piece))
        else:
            out.append(xp.reshape(piece, shape))
    return container(out)


def _join(parts, layout, axis, like):
    """The adjoint of :func:`_unjoin`: ``parts`` reshaped to their joined shapes and concatenated along
    ``axis``; a ``None`` part is zeros (dtype from the other parts, else from ``like``)."""
    present = [p for p in parts if p is not None]
    xp = xp_of(*present, like)
    dtype = xp.result_type(*present) if present else _float_dtype(like)
    pieces = []
    for part, (joined, _, _) in zip(parts, layout, strict=True):
        if part is None:
            pieces.append(xp.zeros(joined, dtype))
        else:
            pieces.append(xp.reshape(xp.asarray(part), joined))
    return xp.concatenate(pieces, axis=axis)


@nograd
def _sequence_info(parts):
    """The container type of ``parts`` and which of its entries are not ``None``."""
    return (list if isinstance(parts, list) else tuple), tuple(p is not None for p in parts)


@adjoint(_unjoin)
def unjoin_rule(g, layout, axis, container, keep):
    def unjoin_pullback(dd):
        return (_join(dd, layout, axis, g), None, None, None, None)

    return _unjoin(g, layout, axis, container, keep), unjoin_pullback


@adjoint(_join)
def join_rule(parts, layout, axis, like):
    container, keep = _sequence_info(parts)

    def join_pullback(dy):
        return (_unjoin(dy, layout, axis, container, keep), None, None, None)

    return _join(parts, layout, axis, like), join_pullback


def _unpack(g, template):
    """The cotangent of ``template`` (an array, a number, or nested lists/tuples of them) from the cotangent
    ``g`` of ``np.array(template)``: same nesting, Python numbers for numbers."""
    xp = xp_of(g)
    return _unpack_nested(xp.reshape(xp.asarray(g), array_shape(template)), template)


def _unpack_nested(g, template):
    if isinstance(template, (list, tuple)):
        items = [_unpack_nested(g[k], t) for k, t in enumerate(template)]
        return items if isinstance(template, list) else tuple(items)
    if is_number(template):
        return _to_scalar(g)
    return g


def _pack(parts, template, like):
    """The adjoint of :func:`_unpack`: nested cotangents ``parts`` shaped like ``template`` as one array
    (``None`` entries are zeros of ``like``'s float dtype)."""
    return _pack_nested(parts, template, xp_of(like), _float_dtype(like))


def _pack_nested(parts, template, xp, dtype):
    shape = array_shape(template)
    if parts is None or (isinstance(template, (list, tuple)) and not template):
        return xp.zeros(shape, dtype)
    if isinstance(template, (list, tuple)):
        return xp.stack([_pack_nested(p, t, xp, dtype) for p, t in zip(parts, template, strict=True)])
    return xp.reshape(xp.asarray(parts), shape)


@adjoint(_unpack)
def unpack_rule(g, template):
    xp = xp_of(g)
    shape = array_shape(g)

    def unpack_pullback(dd):
        return (xp.reshape(_pack(dd, template, g), shape), None)

    return _unpack(g, template), unpack_pullback


@adjoint(_pack)
def pack_rule(parts, template, like):
    def pack_pullback(dy):
        return (_unpack(dy, template), None, None)

    return _pack(parts, template, like), pack_pullback


def _reshape_each(parts, shapes):
    """A tuple: each part reshaped to its shape (``None`` stays ``None``)."""
    out = []
    for part, shape in zip(parts, shapes, strict=True):
        out.append(None if part is None else xp_of(part).reshape(part, shape))
    return tuple(out)


@nograd
def _shapes_of(items):
    return tuple(array_shape(x) for x in items)


@adjoint(_reshape_each)
def reshape_each_rule(parts, shapes):
    before = _shapes_of(parts)

    def reshape_each_pullback(dd):
        return (_reshape_each(dd, before), None)

    return _reshape_each(parts, shapes), reshape_each_pullback


# ---------------------------------------------------------------------------------------------------------
# reshapes: the pullback reshapes back


@adjoint(np.reshape)
def reshape_rule(a, *args, **kwargs):
    xp = xp_of(a)
    shape = array_shape(a)
    order = _resolve_order("reshape", a, option("reshape", args, kwargs, ("shape", "order"), "order"))

    def reshape_pullback(dy):
        return grads_first(xp.reshape(dy, shape, order=order), args)

    return xp.reshape(a, *args, **kwargs), reshape_pullback


def reshape_method_rule(self, *args, **kwargs):
    xp = xp_of(self)
    shape = array_shape(self)
    order = _resolve_order("reshape", self, option("reshape", (), kwargs, (), "order"))

    def reshape_pullback(dy):
        return grads_first(xp.reshape(dy, shape, order=order), args)

    return self.reshape(*args, **kwargs), reshape_pullback


register_method("reshape", reshape_method_rule)


@adjoint(np.ravel)
def ravel_rule(a, *args, **kwargs):
    xp = xp_of(a)
    shape = array_shape(a)
    order = _resolve_order("ravel", a, option("ravel", args, kwargs, ("order",), "order"))

    def ravel_pullback(dy):
        return grads_first(xp.reshape(dy, shape, order=order), args)

    return xp.ravel(a, *args, **kwargs), ravel_pullback


register_method("ravel", ravel_rule)


def flat_attribute_rule(self):
    """``x.flat`` read as ``x.ravel()``: a 1-D array of the entries in C order, which iterating, indexing
    and ``np.asarray`` read as they read the flat iterator (its ``index`` and ``coords`` are not kept)."""
    return ravel_rule(self)


register_attribute("flat", flat_attribute_rule)


def flatten_rule(self, *args, **kwargs):
    xp = xp_of(self)
    shape = array_shape(self)
    order = _resolve_order("flatten", self, option("flatten", args, kwargs, ("order",), "order"))

    def flatten_pullback(dy):
        return grads_first(xp.reshape(dy, shape, order=order), args)

    return self.flatten(*args, **kwargs), flatten_pullback


register_method("flatten", flatten_rule)


@adjoint(np.expand_dims)
def expand_dims_rule(a, *args, **kwargs):
    xp = xp_of(a)
    shape = array_shape(a)

    def expand_dims_pullback(dy):
        return grads_first(xp.reshape(dy, shape), args)

    return xp.expand_dims(a, *args, **kwargs), expand_dims_pullback


@adjoint(np.squeeze)
def squeeze_rule(a, *args, **kwargs):
    xp = xp_of(a)
    shape = array_shape(a)

    def squeeze_pullback(dy):
        return grads_first(xp.reshape(dy, shape), args)

    return xp.squeeze(a, *args, **kwargs), squeeze_pullback


register_method("squeeze", squeeze_rule)


@nograd
def _single(arys):
    return len(arys) == 1


@adjoint(np.atleast_1d)
def atleast_1d_rule(*arys):
    shapes = _shapes_of(arys)
    single = _single(arys)

    def atleast_1d_pullback(dy):
        if single:
            return _reshape_each((dy,), shapes)
        return _reshape_each(dy, shapes)

    return xp_of_items(arys).atleast_1d(*arys), atleast_1d_pullback


@adjoint(np.atleast_2d)
def atleast_2d_rule(*arys):
    shapes = _shapes_of(arys)
    single = _single(arys)

    def atleast_2d_pullback(dy):
        if single:
            return _reshape_each((dy,), shapes)
        return _reshape_each(dy, shapes)

    return xp_of_items(arys).atleast_2d(*arys), atleast_2d_pullback


@adjoint(np.atleast_3d)
def atleast_3d_rule(*arys):
    shapes = _shapes_of(arys)
    single = _single(arys)

    def atleast_3d_pullback(dy):
        if single:
            return _reshape_each((dy,), shapes)
        return _reshape_each(dy, shapes)

    return xp_of_items(arys).atleast_3d(*arys), atleast_3d_pullback


@adjoint(np.broadcast_to)
def broadcast_to_rule(array, *args, **kwargs):
    xp = xp_of(array)

    def broadcast_to_pullback(dy):
        return grads_first(unbroadcast(dy, array), args)

    return xp.broadcast_to(array, *args, **kwargs), broadcast_to_pullback


# ---------------------------------------------------------------------------------------------------------
# transposes: the pullback applies the inverse permutation


@nograd
def _inverse_permutation(axes, ndim):
    """The axes that undo ``transpose(x, axes)`` (``None``: reversing, its own inverse)."""
    if axes is None:
        return None
    return tuple(np.argsort([normalize_axis(a, ndim) for a in axes]).tolist())


@nograd
def _method_axes(args):
    """The axes of ``x.transpose(*args)``: none, one sequence (or None), or several ints."""
    if len(args) == 0 or (len(args) == 1 and args[0] is None):
        return None
    if len(args) == 1 and isinstance(args[0], (tuple, list)):
        return tuple(args[0])
    return tuple(args)


@adjoint(np.transpose, np.permute_dims)
def transpose_rule(a, *args, **kwargs):
    xp = xp_of(a)
    axes = option("transpose", args, kwargs, ("axes",), "axes")
    inverse = _inverse_permutation(axes, len(array_shape(a)))

    def transpose_pullback(dy):
        return grads_first(xp.transpose(dy, inverse), args)

    return xp.transpose(a, *args, **kwargs), transpose_pullback


def transpose_method_rule(self, *args):
    xp = xp_of(self)
    inverse = _inverse_permutation(_method_axes(args), len(array_shape(self)))

    def transpose_pullback(dy):
        return grads_first(xp.transpose(dy, inverse), args)

    return self.transpose(*args), transpose_pullback


register_method("transpose", transpose_method_rule)


def transpose_attribute_rule(self):
    xp = xp_of(self)

    def transpose_pullback(dy):
        return (xp.transpose(dy),)

    return self.T, transpose_pullback


register_attribute("T", transpose_attribute_rule)


@adjoint(np.matrix_transpose)
def matrix_transpose_rule(x):
    xp = xp_of(x)

    def matrix_transpose_pullback(dy):
        return (xp.swapaxes(dy, -1, -2),)

    return xp.swapaxes(x, -1, -2), matrix_transpose_pullback


def matrix_transpose_attribute_rule(self):
    xp = xp_of(self)

    def matrix_transpose_pullback(dy):
        return (xp.swapaxes(dy, -1, -2),)

    return self.mT, matrix_transpose_pullback


register_attribute("mT", matrix_transpose_attribute_rule)


@adjoint(np.swapaxes)
def swapaxes_rule(a, *args, **kwargs):
    xp = xp_of(a)
    names = ("axis1", "axis2")
    axis1 = option("swapaxes", args, kwargs, names, "axis1")
    axis2 = option("swapaxes", args, kwargs, names, "axis2")

    def swapaxes_pullback(dy):
        return grads_first(xp.swapaxes(dy, axis1, axis2), args)

    return xp.swapaxes(a, *args, **kwargs), swapaxes_pullback


register_method("swapaxes", swapaxes_rule)


@adjoint(np.moveaxis)
def moveaxis_rule(a, *args, **kwargs):
    xp = xp_of(a)
    names = ("source", "destination")
    source = option("moveaxis", args, kwargs, names, "source")
    destination = option("moveaxis", args, kwargs, names, "destination")

    def moveaxis_pullback(dy):
        return grads_first(xp.moveaxis(dy, destination, source), args)

    return xp.moveaxis(a, *args, **kwargs), moveaxis_pullback


# ---------------------------------------------------------------------------------------------------------
# joins (their pullback splits the cotangent) and splits (their pullback joins the cotangents)


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


# ---------------------------------------------------------------------------------------------------------
# array construction and copies: the cotangent of a nested list is a nested list (numbers get floats)


def _via_array_method(rule, obj, args, kwargs):
    """``rule(np.asarray(obj), *args, **kwargs)`` for a user object ``obj`` with a Python ``__array__``
    (helpers.has_array_method): the method is differentiated, so the cotangent reaches ``obj``'s fields."""
    a, a_pb = array_of_object(obj)
    y, back = rule(a, *args, **kwargs)

    def array_method_pullback(dy):
        g = tuple(back(dy))
        if g[0] is None:
            return g
        return (a_pb(g[0])[0],) + g[1:]

    return y, array_method_pullback


def _carries(y, args, kwargs):
    """Whether a constructor's result ``y`` holds its input's values: an integer or boolean ``dtype``
    given (the argument after the input, or ``dtype=``) gives no gradient, as ``x.astype(int)``; an
    integer input kept as it is (``np.asarray(x)`` of an int array) does (ints are reals, API.md)."""
    given = kwargs.get("dtype") is not None or (len(args) > 0 and args[0] is not None)
    return carries_values(y) or not given


@adjoint(np.array)
def array_rule(obj, *args, **kwargs):
    if has_array_method(obj):
        return _via_array_method(array_rule, obj, args, kwargs)
    y = np.array(obj, *args, **kwargs)
    carries = _carries(y, args, kwargs)

    def array_pullback(dy):
        if not carries:
            return grads_first(None, args)
        return grads_first(_unpack(dy, obj), args)

    return y, array_pullback


@adjoint(np.asarray)
def asarray_rule(a, *args, **kwargs):
    if has_array_method(a):
        return _via_array_method(asarray_rule, a, args, kwargs)
    y = np.asarray(a, *args, **kwargs)
    carries = _carries(y, args, kwargs)

    def asarray_pullback(dy):
        if not carries:
            return grads_first(None, args)
        return grads_first(_unpack(dy, a), args)

    return y, asarray_pullback


@adjoint(np.asanyarray)
def asanyarray_rule(a, *args, **kwargs):
    if has_array_method(a):
        return _via_array_method(asanyarray_rule, a, args, kwargs)
    y = np.asanyarray(a, *args, **kwargs)
    carries = _carries(y, args, kwargs)

    def asanyarray_pullback(dy):
        if not carries:
            return grads_first(None, args)
        return grads_first(_unpack(dy, a), args)

    return y, asanyarray_pullback


@adjoint(np.ascontiguousarray)
def ascontiguousarray_rule(a, *args, **kwargs):
    if has_array_method(a):
        return _via_array_method(ascontiguousarray_rule, a, args, kwargs)
    y = np.ascontiguousarray(a, *args, **kwargs)
    carries = _carries(y, args, kwargs)

    def ascontiguousarray_pullback(dy):
        if not carries:
            return grads_first(None, args)
        return grads_first(_unpack(dy, a), args)

    return y, ascontiguousarray_pullback


@adjoint(np.asfortranarray)
def asfortranarray_rule(a, *args, **kwargs):
    if has_array_method(a):
        return _via_array_method(asfortranarray_rule, a, args, kwargs)
    y = np.asfortranarray(a, *args, **kwargs)
    carries = _carries(y, args, kwargs)

    def asfortranarray_pullback(dy):
        if not carries:
            return grads_first(None, args)
        return grads_first(_unpack(dy, a), args)

    return y, asfortranarray_pullback


@device_rule("array", "asarray", "asanyarray", "ascontiguousarray", "asfortranarray")
def device_constructor_rule(f):
    """The rule of CuPy's ``f`` (``cupy.asarray``...): the value on the device, the cotangent as NumPy's."""

    def device_constructor(a, *args, **kwargs):
        y = f(a, *args, **kwargs)
        carries = _carries(y, args, kwargs)

        def device_constructor_pullback(dy):
            if not carries:
                return grads_first(None, args)
            return grads_first(_unpack(dy, a), args)

        return y, device_constructor_pullback

    return device_constructor


@adjoint(np.copy)
def copy_rule(a, *args, **kwargs):
    def copy_pullback(dy):
        return grads_first(_unpack(dy, a), args)

    return xp_of(a).copy(a, *args, **kwargs), copy_pullback


def copy_method_rule(self, *args, **kwargs):
    def copy_pullback(dy):
        return grads_first(dy, args)

    return self.copy(*args, **kwargs), copy_pullback


register_method("copy", copy_method_rule)


@adjoint(np.full_like)
def full_like_rule(a, *args, **kwargs):
    xp = xp_of(a)
    fill_value = option(
        "full_like", args, kwargs, ("fill_value", "dtype", "order", "subok", "shape"), "fill_value"
    )
    position = _fill_position(args)
    n = count_args(args)

    def full_like_pullback(dy):
        if position is None:
            return grads_first(None, args)
        return place((unbroadcast(dy, fill_value),), (position,), n)

    return xp.full_like(a, *args, **kwargs), full_like_pullback


@nograd
def _fill_position(args):
    """The position of ``fill_value`` among ``full_like``'s positional arguments, or None (a keyword)."""
    return 1 if len(args) >= 1 else None


# ---------------------------------------------------------------------------------------------------------
# pad, flip, roll, tile, repeat, sort


@nograd
def _pad_plan(array, args, kwargs):
    """``(widths, kind, index)``: normalized pad widths; kind 'crop' (the pullback crops), 'scatter' (it
    adds back through the flat ``index`` map of the padded entries) or the name of an unsupported mode."""
    opts = bind("pad", args, kwargs, ("pad_width", "mode"))
    shape = array_shape(array)
    widths = np.broadcast_to(np.asarray(opts["pad_width"], dtype=np.int64), (len(shape), 2))
    widths = tuple((int(b), int(a)) for b, a in widths)
    mode = opts.get("mode", "constant")
    if mode in ("constant", "empty"):
        return widths, "crop", None
    even = opts.get("reflect_type", "even") == "even"
    if not (mode in ("edge", "wrap") or (mode in ("reflect", "symmetric") and even)):
        return widths, mode, None
    positions = np.arange(int(np.prod(shape, dtype=np.int64))).reshape(shape)
    return widths, "scatter", xp_of(array).asarray(np.pad(positions, widths, mode=mode))


@nograd
def _refuse_pad(mode):
    raise FluxpyError(PAD_MODE_UNSUPPORTED.format(mode=mode))


@adjoint(np.pad)
def pad_rule(array, *args, **kwargs):
    xp = xp_of(array)
    shape = array_shape(array)
    widths, kind, index = _pad_plan(array, args, kwargs)
    y = xp.pad(array, *args, **kwargs)
    constants = kwargs.get("constant_values") if kind == "crop" else None
    if constants is not None:
        # mode="constant" with constant_values=c: c gets the sum of the cotangent over the cells it filled
        padded = y.shape

        def constant_pad_pullback(dy):
            labels = _pad_labels(padded, widths)
            grads = grads_first(_crop(dy, widths), args)
            return grads + (KeywordGrads({"constant_values": pad_constants_grad(dy, labels, constants)}),)

        return y, constant_pad_pullback

    def pad_pullback(dy):
        if kind == "crop":
            return grads_first(_crop(dy, widths), args)
        if kind == "scatter":
            return grads_first(_scatter(dy, index, shape), args)
        return _refuse_pad(kind)

    return y, pad_pullback


@nograd
def _pad_labels(shape, widths):
    """For each cell of an array of ``shape`` padded by ``widths`` in mode "constant": ``2 * axis + side``
    for the constant ``constant_values[axis][side]`` that NumPy wrote there (the last axis fills the
    corners), -1 inside. Made by ``np.pad`` itself."""
    inner = tuple(n - before - after for n, (before, after) in zip(shape, widths, strict=True))
    table = np.arange(2 * len(shape), dtype=np.int64).reshape(len(shape), 2)
    return np.pad(np.full(inner, -1, dtype=np.int64), widths, mode="constant", constant_values=table)


@nograd
def _constants_shape(constants):
    return np.shape(constants)


def pad_constants_grad(dy, labels, constants):
    """The cotangent of ``np.pad``'s ``constant_values`` (shaped like ``constants``: a number, pairs, an
    array) from the padded array's cotangent ``dy``: each constant's is the sum over the cells it filled."""
    xp = xp_of(dy)
    dy = xp.broadcast_to(dy, labels.shape)
    marks = xp.asarray(labels)
    sums = [xp.sum(dy[marks == k]) for k in range(2 * labels.ndim)]
    table = xp.stack(sums).reshape(labels.ndim, 2) if sums else xp.zeros((0, 2))
    shape = _constants_shape(constants)
    size = int(np.prod(shape, dtype=np.int64))
    # NumPy reads constant_values as its _as_pairs does: one value, one pair for every axis, or (ndim, 2)
    if size == 1:
        g = table.sum().reshape(shape)
    elif size == 2 and shape != (2, 1) and len(shape) < 3:
        g = table.sum(axis=0).reshape(shape)
    else:
        g = unbroadcast(table, xp.empty(shape))
    return _shaped_like(g, constants)


def _shaped_like(g, constants):
    """Array ``g`` as a cotangent of ``constants``: an array, a NumPy scalar, a number, nested tuples or
    lists."""
    if hasattr(constants, "shape"):
        return g if g.ndim else g[()]
    if isinstance(constants, (list, tuple)):
        items = [_shaped_like(g[i], c) for i, c in enumerate(constants)]
        return items if type(constants) is list else tuple(items)
    return complex(g) if isinstance(constants, complex) else float(np.real(g))


def pad_constants_spread(dd, labels, constants):
    """The transpose of :func:`pad_constants_grad`: an array of the padded shape holding, in each padded
    cell, the cotangent ``dd`` (shaped like ``constants``) of the constant that filled it; 0 inside."""
    pairs = _pairs_table(np.asarray(_zero_nones(dd)), _constants_shape(constants))
    table = np.broadcast_to(pairs, (labels.ndim, 2))
    flat = np.concatenate([np.ravel(table), np.zeros(1, dtype=table.dtype)])
    return flat[labels]


def _zero_nones(d):
    if d is None:
        return 0.0
    if isinstance(d, (list, tuple)):
        return [_zero_nones(v) for v in d]
    return d


def _pairs_table(values, shape):
    """Values shaped like ``constant_values`` as an array that broadcasts to ``(ndim, 2)``, as NumPy reads
    them."""
    values = values.reshape(shape)
    size = values.size
    if size == 1:
        return values.reshape(1, 1)
    if size == 2 and shape != (2, 1) and len(shape) < 3:
        return values.reshape(1, 2)
    return values


@adjoint(pad_constants_grad)
def pad_constants_grad_rule(dy, labels, constants):
    def pad_constants_grad_pullback(dd):
        return (pad_constants_spread(dd, labels, constants), None, None)

    return pad_constants_grad(dy, labels, constants), pad_constants_grad_pullback


@adjoint(pad_constants_spread)
def pad_constants_spread_rule(dd, labels, constants):
    def pad_constants_spread_pullback(dz):
        return (pad_constants_grad(dz, labels, constants), None, None)

    return pad_constants_spread(dd, labels, constants), pad_constants_spread_pullback


@adjoint(np.flip)
def flip_rule(m, *args, **kwargs):
    xp = xp_of(m)
    axis = option("flip", args, kwargs, ("axis",), "axis")

    def flip_pullback(dy):
        return grads_first(xp.flip(dy, axis), args)

    return xp.flip(m, *args, **kwargs), flip_pullback


@adjoint(np.fliplr)
def fliplr_rule(m):
    xp = xp_of(m)

    def fliplr_pullback(dy):
        return (xp.fliplr(dy),)

    return xp.fliplr(m), fliplr_pullback


@adjoint(np.flipud)
def flipud_rule(m):
    xp = xp_of(m)

    def flipud_pullback(dy):
        return (xp.flipud(dy),)

    return xp.flipud(m), flipud_pullback


@nograd
def _negated(shift):
    """``-shift`` for an int or a sequence of ints."""
    if isinstance(shift, (tuple, list)) or getattr(shift, "ndim", 0):
        return tuple(-int(s) for s in shift)
    return -int(shift)


@adjoint(np.rot90)
def rot90_rule(m, *args, **kwargs):
    xp = xp_of(m)
    names = ("k", "axes")
    k = option("rot90", args, kwargs, names, "k", 1)
    axes = option("rot90", args, kwargs, names, "axes", (0, 1))

    def rot90_pullback(dy):
        return grads_first(xp.rot90(dy, _negated(k), axes), args)

    return xp.rot90(m, *args, **kwargs), rot90_pullback


@adjoint(np.roll)
def roll_rule(a, *args, **kwargs):
    xp = xp_of(a)
    names = ("shift", "axis")
    back_shift = _negated(option("roll", args, kwargs, names, "shift"))
    axis = option("roll", args, kwargs, names, "axis")

    def roll_pullback(dy):
        return grads_first(xp.roll(dy, back_shift, axis), args)

    return xp.roll(a, *args, **kwargs), roll_pullback


@nograd
def _tile_plan(shape, reps):
    """``(split_shape, copy_axes)``: the tiled cotangent reshaped to ``(r0, s0, r1, s1, ...)`` and summed
    over the copies ``(0, 2, ...)`` gives the cotangent of the tile."""
    reps = tuple(int(r) for r in reps) if np.ndim(reps) else (int(reps),)
    d = max(len(shape), len(reps))
    shape = (1,) * (d - len(shape)) + tuple(shape)
    reps = (1,) * (d - len(reps)) + reps
    split = tuple(n for pair in zip(reps, shape, strict=True) for n in pair)
    return split, tuple(range(0, 2 * d, 2))


@adjoint(np.tile)
def tile_rule(A, *args, **kwargs):
    xp = xp_of(A)
    shape = array_shape(A)
    split, copies = _tile_plan(shape, option("tile", args, kwargs, ("reps",), "reps"))

    def tile_pullback(dy):
        return grads_first(xp.reshape(xp.sum(xp.reshape(dy, split), axis=copies), shape), args)

    return xp.tile(A, *args, **kwargs), tile_pullback


@nograd
def _repeat_plan(a, args, kwargs):
    """``(split_shape, copy_axis, index)``: for one repeat count the cotangent reshaped to ``split_shape`` is
    summed over ``copy_axis``; for per-entry counts it is scattered back through the flat ``index``."""
    opts = bind("repeat", args, kwargs, ("repeats", "axis"))
    shape = array_shape(a)
    size = int(np.prod(shape, dtype=np.int64))
    repeats = np.asarray(opts["repeats"])
    axis = opts.get("axis")
    if repeats.size != 1:
        positions = np.arange(size).reshape(shape)
        return None, None, xp_of(a).asarray(np.repeat(positions, repeats, axis))
    base = (size,) if axis is None else shape
    axis = 0 if axis is None else normalize_axis(axis, len(shape))
    split = base[:axis] + (base[axis], int(repeats.reshape(-1)[0])) + base[axis + 1 :]
    return split, axis + 1, None


@adjoint(np.repeat)
def repeat_rule(a, *args, **kwargs):
    xp = xp_of(a)
    shape = array_shape(a)
    split, copies, index = _repeat_plan(a, args, kwargs)

    def repeat_pullback(dy):
        if index is None:
            return grads_first(xp.reshape(xp.sum(xp.reshape(dy, split), axis=copies), shape), args)
        return grads_first(_scatter(dy, index, shape), args)

    return xp.repeat(a, *args, **kwargs), repeat_pullback


register_method("repeat", repeat_rule)


@nograd
def _sort_index(a, args, kwargs):
    """Flat positions in ``a`` of the entries of ``np.sort(a, ...)``, shaped like the result."""
    opts = bind("sort", args, kwargs, ("axis", "kind", "order"))
    xp = xp_of(a)
    a = xp.asarray(a)
    extra = {k: opts[k] for k in ("kind", "stable") if opts.get(k) is not None}
    if opts.get("axis", -1) is None:
        return xp.argsort(a.reshape(-1), **extra)
    axis = normalize_axis(opts.get("axis", -1), a.ndim)
    positions = xp.arange(a.size).reshape(a.shape)
    return xp.take_along_axis(positions, xp.argsort(a, axis=axis, **extra), axis=axis)


@adjoint(np.sort)
def sort_rule(a, *args, **kwargs):
    xp = xp_of(a)
    shape = array_shape(a)
    index = _sort_index(a, args, kwargs)

    def sort_pullback(dy):
        return grads_first(_scatter(dy, index, shape), args)

    return xp.sort(a, *args, **kwargs), sort_pullback


# ---------------------------------------------------------------------------------------------------------
# meshgrid: output i is input i (raveled) laid along its own axis and repeated along the others


@nograd
def _meshgrid_plan(xi, kwargs):
    """``(axes, lines, shapes)``: the axis each input lies along in the outputs, each input's shape there
    (its length on its axis, 1 elsewhere) and its own shape."""
    ndim = len(xi)
    axes = list(range(ndim))
    if kwargs.get("indexing", "xy") == "xy" and ndim > 1:
        axes[0], axes[1] = 1, 0
    shapes = _shapes_of(xi)
    lines = []
    for axis, shape in zip(axes, shapes, strict=True):
        line = [1] * ndim
        line[axis] = int(np.prod(shape, dtype=np.int64))
        lines.append(tuple(line))
    return tuple(axes), tuple(lines), shapes


@nograd
def _other_axes(axis, ndim):
    return tuple(k for k in range(ndim) if k != axis)


def _meshgrid_sum(dys, axes, shapes):
    """The cotangents of meshgrid's inputs from those of its outputs ``dys`` (``None`` stays ``None``):
    output ``i``'s summed over every axis but input ``i``'s, reshaped like input ``i``."""
    out = []
    for dy, axis, shape in zip(dys, axes, shapes, strict=True):
        if dy is None:
            out.append(None)
        else:
            xp = xp_of(dy)
            dy = xp.asarray(dy)
            out.append(xp.reshape(xp.sum(dy, axis=_other_axes(axis, dy.ndim)), shape))
    return tuple(out)


def _meshgrid_spread(dxs, lines, out_shapes):
    """The adjoint of :func:`_meshgrid_sum`: each ``dxs[i]`` laid along its line (its length at the axis
    marked -1) and broadcast to ``out_shapes[i]`` (``None`` gives ``None``)."""
    out = []
    for dx, line, shape in zip(dxs, lines, out_shapes, strict=True):
        if dx is None or shape is None:
            out.append(None)
        else:
            xp = xp_of(dx)
            out.append(xp.broadcast_to(xp.reshape(xp.asarray(dx), line), shape).copy())
    return tuple(out)


@adjoint(_meshgrid_sum)
def meshgrid_sum_rule(dys, axes, shapes):
    lines = tuple(tuple(-1 if k == axis else 1 for k in range(len(axes))) for axis in axes)
    out_shapes = tuple(None if dy is None else array_shape(dy) for dy in dys)

    def meshgrid_sum_pullback(dd):
        return (_meshgrid_spread(dd, lines, out_shapes), None, None)

    return _meshgrid_sum(dys, axes, shapes), meshgrid_sum_pullback


@adjoint(_meshgrid_spread)
def meshgrid_spread_rule(dxs, lines, out_shapes):
    axes = tuple(line.index(-1) for line in lines)
    shapes = _shapes_of(dxs)

    def meshgrid_spread_pullback(dd):
        return (_meshgrid_sum(dd, axes, shapes), None, None)

    return _meshgrid_spread(dxs, lines, out_shapes), meshgrid_spread_pullback


@adjoint(np.meshgrid)
def meshgrid_rule(*xi, **kwargs):
    axes, _, shapes = _meshgrid_plan(xi, kwargs)

    def meshgrid_pullback(dy):
        return _meshgrid_sum(dy, axes, shapes)

    return xp_of(*xi).meshgrid(*xi, **kwargs), meshgrid_pullback


@keyword_forward_rule(np.meshgrid)
def meshgrid_jvp(args, targs, kwargs, tkwargs):
    ys = xp_of(*args).meshgrid(*args, **kwargs)
    if all(t is None for t in targs):
        return ys, None
    _, lines, shapes = _meshgrid_plan(args, kwargs)
    ts = []
    for t, x, y, line, shape in zip(targs, args, ys, lines, shapes, strict=True):
        if t is None:
            ts.append(None)
        else:
            xp = xp_of(t, x)
            t = xp.broadcast_to(xp.asarray(t), shape)  # a tangent broadcasts to its value's shape
            ts.append(xp.broadcast_to(xp.reshape(t, line), y.shape))
    return ys, type(ys)(ts)


# ---------------------------------------------------------------------------------------------------------
# no derivative: shape queries and arrays shaped like another

nograd(np.zeros_like, np.ones_like, np.empty_like, np.shape, np.ndim, np.size, np.broadcast_shapes)


# =========================================================================================================
# array constructors and queries: no gradient

nograd(
    np.zeros,
    np.ones,
    np.empty,
    np.eye,
    np.identity,
    np.arange,
    np.tri,
    np.array_equal,
    np.array_equiv,
    np.isscalar,
    np.iterable,
    np.can_cast,
    np.result_type,
    np.promote_types,
    np.may_share_memory,
    np.shares_memory,
    np.isin,
    np.digitize,
    np.lexsort,
    np.geterr,
    np.seterr,
    np.isdtype,
    np.issubdtype,
    np.min_scalar_type,
    np.common_type,
    np.isfortran,
    np.indices,
)


@adjoint(np.full)
def full_rule(shape, fill_value, *rest, **kwargs):
    return _full_rule(np.full, shape, fill_value, *rest, **kwargs)


@device_rule("full")
def device_full_rule(f):
    """The rule of ``cupy.full``: a device array, whatever the fill value."""

    def device_full(shape, fill_value, *rest, **kwargs):
        return _full_rule(f, shape, fill_value, *rest, **kwargs)

    return device_full


def _full_rule(full, shape, fill_value, *rest, **kwargs):
    y = full(shape, fill_value, *rest, **kwargs) if not rest else full(shape, fill_value, *rest)

    def full_pullback(dy):
        return (None, xp_of(dy).sum(dy)) + (None,) * len(rest)

    return y, full_pullback


# user objects with a Python ``__array__`` in the sequences of arrays that the joins read (rules/helpers.py)
for _joiner in (np.concatenate, np.stack, np.vstack, np.hstack, np.column_stack, np.dstack):
    _register_rule(_joiner, reads_array_objects(_lookup_rule(_joiner)))


# lists and tuples where NumPy reads arrays (rules/helpers.py); not where it reads sequences of arrays, nor in
# the constructors, nor in np.unstack (NumPy's takes arrays only)
accept_array_likes(
    __name__,
    skip=(np.concatenate, np.stack, np.vstack, np.hstack, np.column_stack, np.dstack, np.unstack)
    + (np.array, np.asarray, np.asanyarray, np.ascontiguousarray, np.asfortranarray, np.copy),
)
