"""Rules: NumPy functions that copy entries into a new arrangement: ``pad`` (its pullback crops; the
constants' cotangent sums the padding), ``flip``, ``fliplr``, ``flipud``, ``rot90``, ``roll``, ``tile``,
``repeat``, ``sort``, and ``meshgrid`` (output i is input i, raveled, laid along its own axis and repeated
along the others: its pullback sums over those).

>>> import numpy as np
>>> y, back = roll_rule(np.array([1.0, 2.0, 3.0]), 1)
>>> y, back(np.array([1.0, 0.0, 0.0]))[0]
(array([3., 1., 2.]), array([0., 0., 1.]))
"""

import numpy as np

from ..backend import xp_of
from ..errors import FluxpyError
from ..tangents import KeywordGrads
from .forward_core import keyword_forward_rule
from .helpers import accept_array_likes, unbroadcast
from .numpy_shape import _crop, _scatter, _shapes_of, array_shape, bind, grads_first, normalize_axis, option
from .registry import adjoint, nograd, register_method

# ---------------------------------------------------------------------------------------------------------
# pad, flip, roll, tile, repeat, sort


PAD_MODE_UNSUPPORTED = (
    "np.pad(..., mode={mode!r}) has no rule in fluxpy: its padding is not a copy of input entries. Supported "
    "modes: 'constant', 'empty', 'edge', 'wrap', and 'reflect'/'symmetric' with reflect_type='even'."
)


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


# lists and tuples where NumPy reads arrays (rules/helpers.py)
accept_array_likes(__name__)
