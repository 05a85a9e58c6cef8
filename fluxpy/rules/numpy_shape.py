"""Rules: NumPy shape and structure. This module holds what the shape rules share: the bookkeeping of
arguments and axes, the cotangent tuple of a call, and the paired helpers; the rules themselves are split by
domain: numpy_reshapes.py (reshapes, transposes), numpy_joins.py (joins, splits), numpy_construction.py
(``np.array`` and its relatives, copies, constructors), numpy_rearrange.py (pad, flip, roll, tile, repeat,
sort, meshgrid).

Every rule there moves entries around without changing them, so every pullback moves the cotangent back:
reshape undoes reshape, concatenate's pullback splits, split's pullback concatenates (a ``None`` piece is a
zero), a gather's pullback is a scatter-add and the other way round. Helpers that a pullback needs and that
NumPy lacks come in pairs whose rules call each other (``_gather``/``_scatter``, ``_join``/``_unjoin``,
``_pack``/``_unpack``, ``_crop``/``np.pad``), so pullbacks stay differentiable to any order.

>>> import numpy as np
>>> y, back = gather_rule(np.array([1.0, 2.0, 3.0]), np.array([2, 2]))
>>> y, back(np.array([1.0, 1.0]))
(array([3., 3.]), (array([0., 0., 2.]), None))
"""

import operator

import numpy as np

from ..backend import xp_of
from ..errors import FluxpyError
from .helpers import is_number
from .registry import adjoint, nograd

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
