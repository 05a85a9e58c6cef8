"""Rules: NumPy functions that assemble arrays from the entries of others, or that build, sample or fit:
``broadcast_arrays``, ``block``, ``delete``, ``insert``, ``choose``, ``select``, ``extract``, ``resize``,
``rollaxis``, ``row_stack``, ``diagflat``, ``vander``, ``trim_zeros``, ``sort_complex``, ``geomspace``,
``logspace``, ``gradient``, ``unwrap``, ``i0``, ``apply_along_axis``, ``apply_over_axes``, the polynomial
functions (``polyadd``, ``polysub``, ``polymul``, ``polyder``, ``polyint``, ``polyfit``), ``bincount``,
``histogram``/``histogram_bin_edges``, ``unique`` and its array-API forms, the set operations; and the marks
of functions whose results carry no gradient (printing, files, dates, bits).

How they are differentiated:

- Functions that only copy entries of their array arguments into a new array (``delete``, ``insert``,
  ``choose``, ``select``, ``extract``, ``resize``, ``block``) go through :func:`assemble`: the value is
  NumPy's, and the map from the result's entries to the arguments' entries is found by calling the same
  NumPy function on arrays of positions (so NumPy's own broadcasting, casting and index rules decide it).
  The pullback adds the cotangent back through that map (a scatter-add), so an entry copied twice gets both
  shares, and an entry that is not copied (or a constant fill) gets none.
- The others are their own computations, NumPy's steps over ruled operations (rules/numpy_implemented.py's
  ``implemented``): gradients of any order and forward mode come from the transformer. ``apply_along_axis``
  and ``apply_over_axes`` call the user's function once per slice (or axis) as a Python loop, as
  rules/numpy_vectorize.py does for ``np.vectorize``, so the gradient reaches what that function captures.
- ``unique`` (and ``unique_values``/``_counts``/``_inverse``/``_all``) splits each value's cotangent evenly
  between the entries equal to it (as ``max`` splits it between ties); ``intersect1d`` follows NumPy's
  steps, so a common value's cotangent goes to ``ar1``'s entries.
- ``bincount`` and ``histogram`` differentiate the weights (and ``histogram``'s edges, through the data's
  minimum and maximum or ``range``, and ``density``); counts are integers and carry no gradient.

Functions that write into their argument (``copyto``, ``fill_diagonal``, ``put``, ``put_along_axis``,
``putmask``, ``place``), called as a statement on a name, are differentiated: the fence writes them as
``dst[...] = copyto_value(dst, src)`` (transform/fence.py: rewrite_in_place_calls), :func:`copyto_value` and
its siblings being their functional forms (a new array). Called otherwise (as a value, on an attribute)
they are refused when floats take part: the write would happen behind the transformer's back, and the
gradient of the values written would be lost.

>>> import numpy as np, fluxpy as fx
>>> fx.gradient(lambda x: np.sum(np.delete(x, 1) ** 2), np.array([1.0, 2.0, 3.0]))
(array([2., 0., 6.]),)
>>> fx.gradient(lambda x: np.sum(np.unique(x) * [1.0, 10.0]), np.array([2.0, 1.0, 2.0]))
(array([5., 1., 5.]),)
"""

import operator
import warnings

import numpy as np
from numpy.lib import _function_base_impl as _numpy_function_base

from ..backend import is_array, to_numpy, xp_of
from ..errors import FluxpyError
from .helpers import accept_array_likes, cast_back, unbroadcast
from .numpy_implemented import implemented
from .numpy_shape import (
    _gather,
    _pack,
    _scatter,
    _unpack,
    array_shape,
    bind,
    grads_first,
    normalize_axis,
    xp_of_items,
)
from .registry import adjoint, nograd

OUT_UNSUPPORTED = (
    "np.{name}(..., out=...) writes into an existing array, which fluxpy cannot differentiate; drop out= and "
    "use the returned array"
)
IN_PLACE_REFUSED = (
    "np.{name} writes into its argument in place, and fluxpy does not differentiate in-place changes of "
    "arrays: the values it writes would lose their gradient (and values read before the write would change "
    "under the pullbacks that kept them).\n  {where}\n{hint}"
)
IN_PLACE_HINTS = {
    "copyto": "Compute a new array instead: `dst = np.where(where, src, dst)`, or assign into it: "
    "`dst[...] = src` (item assignment is differentiated).",
    "fill_diagonal": "Assign into the diagonal instead: `i = np.arange(min(a.shape)); a[i, i] = val` (item "
    "assignment is differentiated), or add `np.diag(...)` to a new array.",
    "put": "Assign through the positions instead: `a[np.unravel_index(ind, a.shape)] = v` (item assignment "
    "is differentiated).",
    "put_along_axis": "Assign through an index tuple instead (`a[i, idx] = values`; item assignment is "
    "differentiated), or compute a new array with np.where.",
    "putmask": "Compute a new array instead: `a = np.where(mask, np.resize(values, a.shape), a)`.",
    "place": "Assign into the masked entries instead: `arr[mask] = np.resize(vals, np.count_nonzero(mask))` "
    "(item assignment is differentiated).",
}
POLY1D_UNSUPPORTED = (
    "np.{name} of np.poly1d objects has no rule in fluxpy; pass the coefficient arrays (`p.coeffs`) and wrap "
    "the result in np.poly1d afterwards"
)
POLYFIT_UNSUPPORTED = (
    "np.polyfit(..., {option}={value}) has no rule in fluxpy: only the coefficients (the default) are "
    "differentiated"
)


# ---------------------------------------------------------------------------------------------------------
# bookkeeping: never differentiated


@nograd
def _refuse_out(name, out):
    if out is not None:
        raise FluxpyError(OUT_UNSUPPORTED.format(name=name))


@nograd
def _inexact(x):
    """True when ``x`` holds floats or complex numbers (an array, a number, nested lists of them)."""
    if isinstance(x, (list, tuple)):
        return any(_inexact(v) for v in x)
    if isinstance(x, (bool, np.bool_)):
        return False
    if isinstance(x, (float, complex)):
        return True
    dtype = getattr(x, "dtype", None)
    return dtype is not None and dtype.kind in "fc"


@nograd
def _host(x):
    """``x`` with device arrays moved to the host (inside lists and tuples too)."""
    if is_array(x):
        return to_numpy(x)
    if isinstance(x, list):
        return [_host(v) for v in x]
    if isinstance(x, tuple):
        return tuple(_host(v) for v in x)
    return x


@nograd
def _size(shape):
    return int(np.prod(shape, dtype=np.int64))


def _like_value(g, value):
    """The cotangent ``g`` of ``value`` (summed over broadcast axes): an array in ``value``'s dtype, a number,
    or nested lists as ``value`` is."""
    if g is None:
        return None
    if isinstance(value, (list, tuple)):
        return _unpack(unbroadcast(g, xp_of(g).empty(array_shape(value))), value)
    return cast_back(unbroadcast(g, value), value)


@nograd
def _none_grads(n):
    def no_grads_pullback(dy):
        return (None,) * n

    return no_grads_pullback


def _refused(value, inputs, why):
    """``value`` (computed without a rule from ``inputs``): a gradient through it raises ``why``."""
    return value


@adjoint(_refused)
def refused_rule(value, inputs, why):
    def refused_pullback(dy):
        raise FluxpyError(why)

    return value, refused_pullback


def device_call(xp, name, *args, **kwargs):
    """``xp.name(*args, **kwargs)``; for an array module that lacks ``name`` (CuPy has no ``np.block``, for
    one), NumPy's on host copies, the arrays of the result moved back to the device."""
    f = getattr(xp, name, None)
    if f is not None or xp is np:
        return f(*args, **kwargs)
    y = getattr(np, name)(*_host(args), **{k: _host(v) for k, v in kwargs.items()})
    if isinstance(y, tuple):
        items = [xp.asarray(v) for v in y]
        return type(y)(*items) if hasattr(y, "_fields") else tuple(items)
    return xp.asarray(y)


# ---------------------------------------------------------------------------------------------------------
# assemble: NumPy's function of the leaves; the pullback adds the cotangent back through the entry map
#
# Each kind has the real call (``statics``: the arguments that only steer, ``leaves``: the values whose
# entries are copied) and the same call on position arrays (host NumPy, 1, 2, ... numbering the entries of
# the leaves one after the other; 0 marks an entry that copies none).


def _rebuild(statics, leaves):
    """``choices`` of np.choose: the one array, or the sequence of the leaves."""
    return list(leaves) if statics[2] else leaves[0]


def _copied(x):
    return x.copy()


_ASSEMBLY = {
    "delete": lambda s, v: device_call(xp_of(*v), "delete", v[0], s[0], s[1]),
    "insert": lambda s, v: device_call(xp_of(*v), "insert", v[0], s[0], v[1], s[1]),
    "choose": lambda s, v: device_call(xp_of(*v, s[0]), "choose", s[0], _rebuild(s, v), mode=s[1]),
    "select": lambda s, v: device_call(xp_of(*v), "select", s[0], list(v[:-1]), v[-1]),
    "extract": lambda s, v: device_call(xp_of(*v), "extract", s[0], v[0]),
    "resize": lambda s, v: device_call(xp_of(*v), "resize", v[0], s[0]),
    "block": lambda s, v: device_call(xp_of(*v), "block", _nest(list(v), s[0])),
}


def _fill_diagonal(s, v):
    out = _copied(v[0])
    xp_of(out).fill_diagonal(out, v[1], wrap=s[0])
    return out


def _copyto(s, v):
    out = _copied(v[0])
    xp_of(out).copyto(out, v[1], casting=s[0], where=s[1])
    return out


def _put(s, v):
    out = _copied(v[0])
    xp_of(out).put(out, s[0], v[1], mode=s[1])
    return out


def _put_along_axis(s, v):
    out = _copied(v[0])
    xp_of(out).put_along_axis(out, s[0], v[1], s[1])
    return out


def _putmask(s, v):
    out = _copied(v[0])
    xp_of(out).putmask(out, s[0], v[1])
    return out


def _place(s, v):
    out = _copied(v[0])
    xp_of(out).place(out, s[0], v[1])
    return out


_ASSEMBLY.update(
    fill_diagonal=_fill_diagonal,
    copyto=_copyto,
    put=_put,
    put_along_axis=_put_along_axis,
    putmask=_putmask,
    place=_place,
)


def _position_call(kind, statics, positions):
    """The assembly ``kind`` of host position arrays: which entry each result entry copies."""
    if kind in ("copyto", "put", "put_along_axis", "putmask", "place", "fill_diagonal"):
        positions = [np.array(positions[0], copy=True)] + list(positions[1:])
    if kind == "copyto":
        statics = ("unsafe", statics[1])
    return _ASSEMBLY[kind](statics, positions)


def assemble(kind, statics, leaves):
    """The array NumPy's function ``kind`` makes of ``leaves`` (arrays, numbers or nested lists, each one
    whose entries are copied) and ``statics`` (the arguments that only steer: indices, masks, axes)."""
    return _ASSEMBLY[kind](statics, leaves)


@nograd
def _assembly_plan(kind, statics, leaves, y):
    """``(index, layout)``: for each entry of ``y``, the entry of the leaves it copies (1, 2, ... numbering
    the leaves' entries in turn; 0: none), and ``(entries, total)`` with ``(offset, shape, inexact, leaf)``
    for each leaf. None for a result that carries no gradient."""
    if not _inexact(y):
        return None, None
    positions, entries = [], []
    offset = 1
    for leaf in leaves:
        shape = array_shape(leaf)
        size = _size(shape)
        positions.append(np.arange(offset, offset + size, dtype=np.int64).reshape(shape))
        entries.append((offset, shape, _inexact(leaf), leaf))
        offset += size
    index = np.asarray(_position_call(kind, _host(statics), positions))
    return xp_of(y).asarray(index), (tuple(entries), offset)


def _collect(dy, index, layout):
    """The cotangents of the leaves (a tuple, None for those that are not floats) from the cotangent ``dy``
    of the assembled array: each entry of ``dy`` added to the leaf entry ``index`` names."""
    xp = xp_of(dy)
    entries, total = layout
    flat = _scatter(xp.broadcast_to(dy, index.shape), index, (total,))
    out = ()
    for offset, shape, inexact, leaf in entries:
        if not inexact:
            out = out + (None,)
            continue
        piece = xp.reshape(flat[offset : offset + _size(shape)], shape)
        if piece.dtype.kind == "c" and not _complex_leaf(leaf):
            piece = piece.real
        out = out + (cast_back(piece, leaf) if is_array(leaf) else _unpack(piece, leaf),)
    return out


@nograd
def _complex_leaf(leaf):
    if isinstance(leaf, (list, tuple)):
        return any(_complex_leaf(v) for v in leaf)
    return isinstance(leaf, complex) or getattr(getattr(leaf, "dtype", None), "kind", None) == "c"


def _distribute(parts, index, layout, like):
    """The adjoint of :func:`_collect`: an array shaped like ``index`` holding, at each entry, the entry of
    ``parts`` (cotangents shaped like the leaves; None is zeros) that ``index`` names (0: zero)."""
    xp = xp_of(like)
    entries, total = layout
    pieces = [xp.zeros(1, dtype=like.dtype)]
    for part, (_, shape, _, leaf) in zip(parts, entries, strict=True):
        if part is None:
            pieces.append(xp.zeros(_size(shape), dtype=like.dtype))
        else:
            pieces.append(xp.reshape(_pack(part, leaf, like), (-1,)))
    return xp.concatenate(pieces)[index]


@adjoint(_collect)
def collect_rule(dy, index, layout):
    like = _float_like(dy)

    def collect_pullback(dd):
        return (_distribute(dd, index, layout, like), None, None)

    return _collect(dy, index, layout), collect_pullback


@adjoint(_distribute)
def distribute_rule(parts, index, layout, like):
    def distribute_pullback(dz):
        return (_collect(dz, index, layout), None, None, None)

    return _distribute(parts, index, layout, like), distribute_pullback


@nograd
def _float_like(dy):
    """A zero-size array in the float (or complex) dtype of ``dy``, on its device."""
    xp = xp_of(dy)
    dtype = getattr(dy, "dtype", np.dtype(float))
    return xp.zeros(0, dtype=dtype if dtype.kind in "fc" else np.float64)


@adjoint(assemble)
def assemble_rule(kind, statics, leaves):
    y = assemble(kind, statics, leaves)
    index, layout = _assembly_plan(kind, statics, leaves, y)
    n = len(leaves)

    def assemble_pullback(dy):
        if layout is None or dy is None:
            return (None, None, (None,) * n)
        return (None, None, _collect(dy, index, layout))

    return y, assemble_pullback


# ---------------------------------------------------------------------------------------------------------
# delete, insert, choose, select, extract, resize, block


@implemented(np.fromiter)
def fromiter_impl(iterable, dtype, count=-1, *, like=None):
    """``np.fromiter``: the array of the iterable's items (the first ``count`` when it is not -1)."""
    items = []
    for item in iterable:
        if count >= 0 and len(items) == count:
            break
        items.append(item)
    if count >= 0 and len(items) < count:
        raise ValueError(f"iterator too short: Expected {count} but iterator had only {len(items)} items.")
    return np.array(items, dtype=dtype)


@implemented(np.delete)
def delete_impl(arr, obj, axis=None):
    """``np.delete``: the entries of ``arr`` that are kept."""
    return assemble("delete", (obj, axis), (arr,))


@implemented(np.insert)
def insert_impl(arr, obj, values, axis=None):
    """``np.insert``: the entries of ``arr`` with those of ``values`` (broadcast, cast) between them."""
    return assemble("insert", (obj, axis), (arr, values))


@nograd
def _one_array(choices):
    return is_array(choices)


@implemented(np.choose)
def choose_impl(a, choices, out=None, mode="raise"):
    """``np.choose``: each entry from the choice ``a`` names (``choices``: an array, or a sequence)."""
    _refuse_out("choose", out)
    if _one_array(choices):
        return assemble("choose", (a, mode, False), (choices,))
    return assemble("choose", (a, mode, True), tuple(choices))


@implemented(np.select)
def select_impl(condlist, choicelist, default=0):
    """``np.select``: each entry from the first choice whose condition holds there, else ``default``."""
    return assemble("select", (condlist,), tuple(choicelist) + (default,))


@implemented(np.extract)
def extract_impl(condition, arr):
    """``np.extract``: the entries of ``arr`` where ``condition`` holds."""
    return assemble("extract", (condition,), (arr,))


@implemented(np.resize)
def resize_impl(a, new_shape):
    """``np.resize``: the entries of ``a`` repeated (or cut) to ``new_shape``."""
    return assemble("resize", (new_shape,), (a,))


@nograd
def _block_plan(arrays):
    """``(depth, structure)`` of np.block's nested lists (after NumPy's own checks, made on placeholders of
    the same shapes): ``structure`` is the nesting with None for each leaf."""

    def placeholders(x):
        if isinstance(x, list):
            return [placeholders(v) for v in x]
        if isinstance(x, tuple):
            return tuple(placeholders(v) for v in x)
        return np.zeros(np.shape(_host(x)), dtype=np.int8)

    np.block(placeholders(arrays))

    def shape_of(x):
        return [shape_of(v) for v in x] if isinstance(x, list) else None

    depth = 0
    probe = arrays
    while isinstance(probe, list):
        depth += 1
        probe = probe[0]
    return depth, shape_of(arrays)


def _block_leaves(nested, depth):
    """The leaves of np.block's nested lists, in order (a list)."""
    if depth == 0:
        return [nested]
    out = []
    for item in nested:
        out = out + _block_leaves(item, depth - 1)
    return out


def _nest(flat, structure):
    """The flat leaves (a list, emptied) as nested lists shaped like ``structure``."""
    if structure is None:
        return flat.pop(0)
    return [_nest(flat, s) for s in structure]


@implemented(np.block)
def block_impl(arrays):
    """``np.block``: nested lists of arrays joined along the last axes, innermost first."""
    depth, structure = _block_plan(arrays)
    return assemble("block", (structure,), tuple(_block_leaves(arrays, depth)))


# ---------------------------------------------------------------------------------------------------------
# writing into an argument: refused; the functional forms a rewrite would call


def _in_place_rule(name):
    primal = getattr(np, name)

    def rule(*args, **kwargs):
        _refuse_in_place(name, args, kwargs)
        primal(*args, **kwargs)
        return None, _none_grads(len(args))

    rule.__name__ = f"{name}_rule"
    return adjoint(primal)(rule)


@nograd
def _refuse_in_place(name, args, kwargs):
    if any(_inexact(v) for v in list(args) + list(kwargs.values())):
        from ..runtime import user_location

        where = user_location()
        raise FluxpyError(IN_PLACE_REFUSED.format(name=name, where=where, hint=IN_PLACE_HINTS[name]))


for _name in IN_PLACE_HINTS:
    _in_place_rule(_name)


def copyto_value(dst, src, casting="same_kind", where=True):
    """``np.copyto(dst, src, ...)`` as a new array (``dst`` is not changed)."""
    return assemble("copyto", (casting, where), (dst, src))


def fill_diagonal_value(a, val, wrap=False):
    """``np.fill_diagonal(a, val, wrap)`` as a new array."""
    return assemble("fill_diagonal", (wrap,), (a, val))


def put_value(a, ind, v, mode="raise"):
    """``np.put(a, ind, v, mode)`` as a new array (of repeated positions, the last write wins)."""
    return assemble("put", (ind, mode), (a, v))


def put_along_axis_value(arr, indices, values, axis):
    """``np.put_along_axis(arr, indices, values, axis)`` as a new array."""
    return assemble("put_along_axis", (indices, axis), (arr, values))


def putmask_value(a, mask, values):
    """``np.putmask(a, mask, values)`` as a new array."""
    return assemble("putmask", (mask,), (a, values))


def place_value(arr, mask, vals):
    """``np.place(arr, mask, vals)`` as a new array."""
    return assemble("place", (mask,), (arr, vals))


# ---------------------------------------------------------------------------------------------------------
# broadcast_arrays


@adjoint(np.broadcast_arrays)
def broadcast_arrays_rule(*args, **kwargs):
    ys = xp_of_items(args).broadcast_arrays(*args, **kwargs)

    def broadcast_arrays_pullback(dys):
        out = ()
        for dy, a in zip(dys, args, strict=True):
            out = out + (_like_value(dy, a) if _inexact(a) else None,)
        return out

    return ys, broadcast_arrays_pullback


# ---------------------------------------------------------------------------------------------------------
# rollaxis, row_stack, diagflat, vander, trim_zeros, sort_complex


@nograd
def _rollaxis_axes(n, axis, start):
    """NumPy's ``rollaxis`` permutation (None: ``a[...]``), after its checks."""
    axis = normalize_axis(axis, n)
    start = operator.index(start)
    if start < 0:
        start += n
    if not 0 <= start < n + 1:
        raise np.exceptions.AxisError(
            f"'start' arg requires {-n} <= start < {n + 1}, but {start} was passed in"
        )
    if axis < start:
        start -= 1
    if axis == start:
        return None
    axes = list(range(n))
    axes.remove(axis)
    axes.insert(start, axis)
    return tuple(axes)


@implemented(np.rollaxis)
def rollaxis_impl(a, axis, start=0):
    """``np.rollaxis``: a transpose."""
    axes = _rollaxis_axes(a.ndim, axis, start)
    if axes is None:
        return a[...]
    return a.transpose(axes)


@nograd
def _warn_row_stack():
    warnings.warn(
        "`row_stack` alias is deprecated. Use `np.vstack` directly.", DeprecationWarning, stacklevel=4
    )


@implemented(np.row_stack)
def row_stack_impl(tup, *, dtype=None, casting="same_kind"):
    """``np.row_stack``: ``np.vstack`` (deprecated by NumPy, with its warning)."""
    _warn_row_stack()
    return np.vstack(tup, dtype=dtype, casting=casting)


@implemented(np.diagflat)
def diagflat_impl(v, k=0):
    """``np.diagflat``: the flattened input on diagonal ``k`` of a square array of zeros."""
    return np.diag(np.ravel(xp_of(v).asarray(v)), k)


@nograd
def _vander_plan(x, N):
    """``(N, dtype)`` of np.vander (after its check)."""
    if x.ndim != 1:
        raise ValueError("x must be a one-dimensional array or sequence.")
    return (x.shape[0] if N is None else operator.index(N)), np.promote_types(x.dtype, int)


@nograd
def _empty(xp, shape, dtype):
    return xp.empty(shape, dtype=dtype)


@nograd
def _ones(xp, shape, dtype):
    return xp.ones(shape, dtype=dtype)


@nograd
def _zeros(xp, shape, dtype):
    return xp.zeros(shape, dtype=dtype)


@implemented(np.vander)
def vander_impl(x, N=None, increasing=False):
    """``np.vander``: the powers ``x**0, x**1, ...`` as running products (NumPy's ``multiply.accumulate``)."""
    xp = xp_of(x)
    x = xp.asarray(x)
    N, dtype = _vander_plan(x, N)
    n = x.shape[0]
    if N == 0:
        return _empty(xp, (n, 0), dtype)
    ones = _ones(xp, (n, 1), dtype)
    if N == 1:
        return ones
    powers = np.cumprod(xp.broadcast_to(xp.reshape(x.astype(dtype), (n, 1)), (n, N - 1)), axis=1)
    if increasing:
        return np.concatenate([ones, powers], axis=1)
    return np.concatenate([np.flip(powers, axis=1), ones], axis=1)


@nograd
def _trim_slices(filt, trim, axis):
    """The slices np.trim_zeros takes (after its checks), or None when it returns ``filt`` itself."""
    values = np.asarray(_host(filt))
    trim = trim.lower()
    if trim not in {"fb", "bf", "f", "b"}:
        raise ValueError(f"unexpected character(s) in `trim`: {trim!r}")
    if axis is None:
        axes = tuple(range(values.ndim))
    else:
        axes = np.lib.array_utils.normalize_axis_tuple(axis, values.ndim, argname="axis")
    if not axes:
        return None
    nonzero = np.argwhere(values) if values.dtype != np.object_ else np.argwhere(values != 0)
    if nonzero.size == 0:
        start = stop = np.zeros(values.ndim, dtype=np.intp)
    else:
        start = nonzero.min(axis=0)
        stop = nonzero.max(axis=0) + 1
        if "f" not in trim:
            start = (None,) * values.ndim
        if "b" not in trim:
            stop = (None,) * values.ndim
    return tuple(
        slice(_as_index(start[k]), _as_index(stop[k])) if k in axes else slice(None)
        for k in range(values.ndim)
    )


@nograd
def _as_index(v):
    return None if v is None else int(v)


@implemented(np.trim_zeros)
def trim_zeros_impl(filt, trim="fb", axis=None):
    """``np.trim_zeros``: a slice of ``filt`` (a list stays a list)."""
    sl = _trim_slices(filt, trim, axis)
    if sl is None:
        return filt
    if len(sl) == 1:
        return filt[sl[0]]
    return filt[sl]


@nograd
def _complex_target(dtype):
    """The complex dtype np.sort_complex casts a result of ``dtype`` to (None: already complex)."""
    if dtype.kind == "c":
        return None
    if dtype.char in "bhBH":
        return np.dtype("F")
    if dtype.char == "g":
        return np.dtype("G")
    return np.dtype("D")


@implemented(np.sort_complex)
def sort_complex_impl(a):
    """``np.sort_complex``: sorted along the last axis (real part first), as complex numbers."""
    b = np.sort(xp_of(a).asarray(a))
    target = _complex_target(b.dtype)
    if target is None:
        return b
    return b.astype(target)


# ---------------------------------------------------------------------------------------------------------
# geomspace, logspace


@nograd
def _geomspace_types(start, stop, num, dtype):
    """``(dt, dtype)``: NumPy's working and result dtypes (after its check of zero endpoints)."""
    xp = xp_of(start, stop)
    if bool(xp.any(start == 0)) or bool(xp.any(stop == 0)):
        raise ValueError("Geometric sequence cannot include zero")
    dt = np.result_type(start, stop, float(num), np.zeros((), dtype))
    return dt, (dt if dtype is None else np.dtype(dtype))


@implemented(np.geomspace)
def geomspace_impl(start, stop, num=50, endpoint=True, dtype=None, axis=0):
    """``np.geomspace``: ``logspace`` between the logarithms of the endpoints (rotated to positive), the
    endpoints themselves at the ends."""
    xp = xp_of(start, stop)
    start = xp.asanyarray(start)
    stop = xp.asanyarray(stop)
    dt, dtype = _geomspace_types(start, stop, num, dtype)
    start = start.astype(dt, copy=True)
    stop = stop.astype(dt, copy=True)
    if dt.kind == "c":  # NumPy's sign, start / |start|, differentiated
        modulus = np.hypot(np.real(start), np.imag(start))
        out_sign = np.real(start) / modulus + 1j * (np.imag(start) / modulus)
    else:
        out_sign = np.sign(start)  # locally constant
    start = start / out_sign
    stop = stop / out_sign
    result = np.logspace(np.log10(start), np.log10(stop), num=num, endpoint=endpoint, base=10.0, dtype=dt)
    if num > 0:
        result[0] = start
        if num > 1 and endpoint:
            result[-1] = stop
    result = result * out_sign
    if axis != 0:
        result = np.moveaxis(result, 0, axis)
    return result.astype(dtype, copy=False)


@nograd
def _array_base(base):
    return not isinstance(base, (float, int)) and np.ndim(base) > 0


@nograd
def _number(x):
    return isinstance(x, (int, float)) and not isinstance(x, bool)


@nograd
def _broadcast_ndim(*values):
    return len(np.broadcast_shapes(*[array_shape(v) for v in values]))


@nograd
def _padded(shape, ndmin):
    return (1,) * (ndmin - len(shape)) + tuple(shape)


def _at_least(a, ndmin):
    """``np.array(a, copy=None, ndmin=ndmin)``: ``a`` with leading axes of length 1 added."""
    a = xp_of(a).asanyarray(a)
    return xp_of(a).reshape(a, _padded(a.shape, ndmin))


@implemented(np.logspace)
def logspace_impl(start, stop, num=50, endpoint=True, base=10.0, dtype=None, axis=0):
    """``np.logspace``: ``base ** linspace(start, stop)``."""
    if _array_base(base):
        ndmax = _broadcast_ndim(start, stop, base)
        start = _at_least(start, ndmax)
        stop = _at_least(stop, ndmax)
        base = np.expand_dims(_at_least(base, ndmax), axis=axis)
    y = np.linspace(start, stop, num=num, endpoint=endpoint, axis=axis)
    if _number(base):  # as NumPy reads it (weakly typed), an array on y's device
        base = xp_of(y).asarray(base, dtype=y.dtype)
    if dtype is None:
        return np.power(base, y)
    return np.power(base, y).astype(dtype, copy=False)


# ---------------------------------------------------------------------------------------------------------
# gradient: central differences inside, one-sided at the edges (NumPy's steps)


@nograd
def _gradient_axes(f, axis, varargs, edge_order):
    """The axes np.gradient differentiates along (after its checks of the spacings)."""
    n = f.ndim
    axes = tuple(range(n)) if axis is None else np.lib.array_utils.normalize_axis_tuple(axis, n)
    if len(varargs) not in (0, len(axes)) and not (len(varargs) == 1 and np.ndim(_host(varargs[0])) == 0):
        raise TypeError("invalid number of arguments")
    if edge_order > 2:
        raise ValueError("'edge_order' greater than 2 not supported")
    for i, distances in enumerate(varargs if len(varargs) == len(axes) else ()):
        d = np.asanyarray(_host(distances))
        if d.ndim > 1:
            raise ValueError("distances must be either scalars or 1d")
        if d.ndim == 1 and len(d) != f.shape[axes[i]]:
            raise ValueError("when 1d, distances must match the length of the corresponding dimension")
    for ax in axes:
        if f.shape[ax] < edge_order + 1:
            raise ValueError(
                "Shape of array too small to calculate a numerical gradient, at least (edge_order + 1) "
                "elements are required."
            )
    return axes


@nograd
def _uniform(diffx):
    return bool((diffx == diffx[0]).all())


@nograd
def _numpy_gradient(f, varargs, axis, edge_order):
    return np.gradient(f, *varargs, axis=axis, edge_order=edge_order)


@nograd
def _slices(n, axis, index):
    """``[:, ..., index, ..., :]`` with ``index`` at ``axis`` (a tuple for indexing)."""
    out = [slice(None)] * n
    out[axis] = index
    return tuple(out)


@nograd
def _line(n, axis):
    shape = [1] * n
    shape[axis] = -1
    return tuple(shape)


@implemented(np.gradient)
def gradient_impl(f, *varargs, axis=None, edge_order=1):
    """``np.gradient``: second-order central differences inside, first- or second-order one-sided ones at
    the edges; spacings (numbers or coordinates) get gradients too."""
    xp = xp_of(f)
    f = xp.asanyarray(f)
    if f.dtype.kind in "mM":  # dates: no gradient
        return _numpy_gradient(f, varargs, axis, edge_order)
    axes = _gradient_axes(f, axis, varargs, edge_order)
    N = f.ndim
    if len(varargs) == 0:
        dx = [1.0] * len(axes)
    elif len(varargs) == 1 and np.ndim(varargs[0]) == 0:
        dx = []
        for _ in axes:
            dx = dx + [varargs[0]]
    else:
        dx = []
        for given in varargs:
            distances = xp.asanyarray(given)
            if distances.ndim == 0:
                dx = dx + [given]
            else:
                if distances.dtype.kind in "iu":
                    distances = distances.astype(np.float64)
                diffx = np.diff(distances)
                if _uniform(diffx):
                    diffx = diffx[0]
                dx = dx + [diffx]
    otype = f.dtype
    if otype.kind not in "fc":
        f = f.astype(np.float64)
        otype = np.dtype(np.float64)
    outvals = []
    for axis, ax_dx in zip(axes, dx, strict=True):
        out = _empty(xp, f.shape, otype)
        out[_slices(N, axis, slice(1, -1))] = _interior_differences(f, ax_dx, axis)
        if edge_order == 1:
            first, last = _first_order_edges(f, ax_dx, axis)
        else:
            first, last = _second_order_edges(f, ax_dx, axis)
        out[_slices(N, axis, 0)] = first
        out[_slices(N, axis, -1)] = last
        outvals = outvals + [out]
    if len(axes) == 1:
        return outvals[0]
    return tuple(outvals)


def _interior_differences(f, ax_dx, axis):
    """np.gradient's second-order central differences along ``axis`` (spacing ``ax_dx``: a number, or the
    steps between coordinates)."""
    N = f.ndim
    if np.ndim(ax_dx) == 0:
        return (f[_slices(N, axis, slice(2, None))] - f[_slices(N, axis, slice(None, -2))]) / (2.0 * ax_dx)
    dx1 = ax_dx[0:-1]
    dx2 = ax_dx[1:]
    line = _line(N, axis)
    a = xp_of(f).reshape(-(dx2) / (dx1 * (dx1 + dx2)), line)
    b = xp_of(f).reshape((dx2 - dx1) / (dx1 * dx2), line)
    c = xp_of(f).reshape(dx1 / (dx2 * (dx1 + dx2)), line)
    return (
        a * f[_slices(N, axis, slice(None, -2))]
        + b * f[_slices(N, axis, slice(1, -1))]
        + c * f[_slices(N, axis, slice(2, None))]
    )


def _first_order_edges(f, ax_dx, axis):
    """np.gradient's one-sided first-order differences at both ends of ``axis``."""
    N = f.ndim
    uniform = np.ndim(ax_dx) == 0
    dx_0 = ax_dx if uniform else ax_dx[0]
    dx_n = ax_dx if uniform else ax_dx[-1]
    first = (f[_slices(N, axis, 1)] - f[_slices(N, axis, 0)]) / dx_0
    last = (f[_slices(N, axis, -1)] - f[_slices(N, axis, -2)]) / dx_n
    return first, last


def _second_order_edges(f, ax_dx, axis):
    """np.gradient's one-sided second-order differences at both ends of ``axis``."""
    N = f.ndim
    if np.ndim(ax_dx) == 0:
        a = -1.5 / ax_dx
        b = 2.0 / ax_dx
        c = -0.5 / ax_dx
    else:
        dx1 = ax_dx[0]
        dx2 = ax_dx[1]
        a = -(2.0 * dx1 + dx2) / (dx1 * (dx1 + dx2))
        b = (dx1 + dx2) / (dx1 * dx2)
        c = -dx1 / (dx2 * (dx1 + dx2))
    first = a * f[_slices(N, axis, 0)] + b * f[_slices(N, axis, 1)] + c * f[_slices(N, axis, 2)]
    if np.ndim(ax_dx) == 0:
        a = 0.5 / ax_dx
        b = -2.0 / ax_dx
        c = 1.5 / ax_dx
    else:
        dx1 = ax_dx[-2]
        dx2 = ax_dx[-1]
        a = (dx2) / (dx1 * (dx1 + dx2))
        b = -(dx2 + dx1) / (dx1 * dx2)
        c = (2.0 * dx2 + dx1) / (dx2 * (dx1 + dx2))
    last = a * f[_slices(N, axis, -3)] + b * f[_slices(N, axis, -2)] + c * f[_slices(N, axis, -1)]
    return first, last


# ---------------------------------------------------------------------------------------------------------
# unwrap: the input plus whole periods (the gradient goes to the input, and to the period by the count)


@nograd
def _unwrap_plan(p, discont, axis, period):
    """``(turns, rest, dtype, tail)``: NumPy's correction of ``p[tail]`` (``p`` without its first entry along
    ``axis``) is ``turns * period + rest``, ``turns`` the running count of periods added (floats) and
    ``rest`` its rounding (exactly, so the sum is NumPy's value); ``dtype``: the result's."""
    xp = xp_of(p)
    host = to_numpy(p)
    nd = host.ndim
    dd = np.diff(host, axis=axis)
    if discont is None:
        discont = period / 2
    dtype = np.result_type(dd, period)
    if np.issubdtype(dtype, np.integer):
        interval_high, rem = divmod(period, 2)
        boundary_ambiguous = rem == 0
    else:
        interval_high = period / 2
        boundary_ambiguous = True
    interval_low = -interval_high
    ddmod = np.mod(dd - interval_low, period) + interval_low
    if boundary_ambiguous:
        np.copyto(ddmod, interval_high, where=(ddmod == interval_low) & (dd > 0))
    ph_correct = ddmod - dd
    np.copyto(ph_correct, 0, where=abs(dd) < discont)
    correction = ph_correct.cumsum(axis)
    tail = [slice(None)] * nd
    tail[axis] = slice(1, None)
    if correction.dtype.kind not in "fc":
        turns = np.zeros(correction.shape, dtype=float)
        return xp.asarray(turns), xp.asarray(correction), dtype, tuple(tail)
    turns = np.cumsum(np.rint(ph_correct / period), axis=axis) if period else np.zeros(correction.shape)
    rest = correction - turns * period
    return xp.asarray(turns), xp.asarray(rest), dtype, tuple(tail)


@implemented(np.unwrap)
def unwrap_impl(p, discont=None, axis=-1, *, period=2 * np.pi):
    """``np.unwrap``: ``p`` plus the whole periods that undo its jumps (piecewise constant in ``p``)."""
    p = xp_of(p).asarray(p)
    turns, rest, dtype, tail = _unwrap_plan(p, discont, axis, period)
    up = p.astype(dtype)
    up[tail] = p[tail] + (turns * period + rest)
    return up


# ---------------------------------------------------------------------------------------------------------
# i0: NumPy's Chebyshev expansions (Cephes), differentiated term by term


_I0A = list(_numpy_function_base._i0A)
_I0B = list(_numpy_function_base._i0B)


def _chbevl(x, vals):
    b0 = vals[0]
    b1 = 0.0
    b2 = 0.0
    for i in range(1, len(vals)):
        b2 = b1
        b1 = b0
        b0 = x * b1 - b2 + vals[i]
    return 0.5 * (b0 - b2)


@nograd
def _i0_checked(x):
    if x.dtype.kind == "c":
        raise TypeError("i0 not supported for complex values")
    return x.dtype.kind != "f"


@nograd
def _at_most(x, bound):
    return x <= bound


@implemented(np.i0)
def i0_impl(x):
    """``np.i0``: the modified Bessel function of the first kind, order 0 (its derivative is i1)."""
    xp = xp_of(x)
    x = xp.asanyarray(x)
    if _i0_checked(x):
        x = x.astype(float)
    x = np.abs(x)
    small = _at_most(x, 8.0)
    near = xp.where(small, x, 0.0)
    far = xp.where(small, 9.0, x)
    inner = np.exp(near) * _chbevl(near / 2.0 - 2, _I0A)
    outer = np.exp(far) * _chbevl(32.0 / far - 2.0, _I0B) / np.sqrt(far)
    return xp.where(small, inner, outer)


# window functions of a length alone carry no gradient; Kaiser's depends on beta (NumPy's steps)
nograd(np.bartlett, np.blackman, np.hamming, np.hanning)


@implemented(np.kaiser)
def kaiser_impl(M, beta):
    """``np.kaiser``: ``i0(beta sqrt(1 - ((n - alpha) / alpha)**2)) / i0(beta)``, as NumPy computes it."""
    values = np.array([0.0, M, beta])
    M = values[1]
    beta = values[2]
    if M == 1:
        return np.ones(1, dtype=values.dtype)
    n = np.arange(0, M)
    alpha = (M - 1) / 2.0
    return np.i0(beta * np.sqrt(1 - ((n - alpha) / alpha) ** 2.0)) / np.i0(beta)


@nograd
def _refuse_nonfinite(a):
    if a.dtype.char in np.typecodes["AllFloat"] and not np.isfinite(a).all():
        raise ValueError("array must not contain infs or NaNs")


@implemented(np.asarray_chkfinite)
def asarray_chkfinite_impl(a, dtype=None, order=None):
    """``np.asarray_chkfinite``: ``np.asarray`` and NumPy's ValueError for infs and NaNs."""
    a = np.asarray(a, dtype=dtype, order=order)
    _refuse_nonfinite(a)
    return a


# ---------------------------------------------------------------------------------------------------------
# apply_along_axis, apply_over_axes: the user's function called in a Python loop


@nograd
def _along_axis_plan(shape, axis):
    """``(perm, indices)``: the transpose that moves ``axis`` last, and the index tuples of the slices."""
    nd = len(shape)
    axis = normalize_axis(axis, nd)
    perm = tuple(range(axis)) + tuple(range(axis + 1, nd)) + (axis,)
    rest = tuple(shape[k] for k in perm[:-1])
    indices = [ind + (Ellipsis,) for ind in np.ndindex(rest)]
    if not indices or _size(rest) == 0:
        raise ValueError("Cannot apply_along_axis when any iteration dimensions are 0")
    return perm, indices, axis


@nograd
def _along_axis_result(lead, res, axis):
    """``(shape, perm, dtype)``: the stacked results' shape, the transpose NumPy applies, their dtype."""
    res_ndim = np.ndim(res)
    ndim = len(lead) + res_ndim
    dims = list(range(ndim))
    perm = dims[0:axis] + dims[ndim - res_ndim : ndim] + dims[axis : ndim - res_ndim]
    return lead + tuple(np.shape(res)), tuple(perm), res.dtype


@implemented(np.apply_along_axis)
def apply_along_axis_impl(func1d, axis, arr, *args, **kwargs):
    """``np.apply_along_axis``: ``func1d`` on each 1-D slice along ``axis``, the results stacked where the
    slice was."""
    xp = xp_of(arr)
    arr = xp.asanyarray(arr)
    perm, indices, axis = _along_axis_plan(arr.shape, axis)
    view = xp.transpose(arr, perm)
    results = []
    for ind in indices:
        results = results + [xp.asanyarray(func1d(view[ind], *args, **kwargs))]
    shape, out_perm, dtype = _along_axis_result(view.shape[:-1], results[0], axis)
    buff = xp.reshape(xp.stack(results), shape)
    if buff.dtype != dtype:
        buff = buff.astype(dtype)
    return xp.transpose(buff, out_perm)


@nograd
def _over_axes(axes, n):
    axes = (axes,) if np.ndim(axes) == 0 else axes
    return [n + int(axis) if axis < 0 else int(axis) for axis in axes]


@nograd
def _wrong_shape():
    raise ValueError("function is not returning an array of the correct shape")


@implemented(np.apply_over_axes)
def apply_over_axes_impl(func, a, axes):
    """``np.apply_over_axes``: ``func(a, axis)`` for each axis in turn, the reduced axis kept."""
    val = xp_of(a).asarray(a)
    for axis in _over_axes(axes, a.ndim):
        res = func(val, axis)
        if res.ndim == val.ndim:
            val = res
        else:
            res = np.expand_dims(res, axis)
            if res.ndim == val.ndim:
                val = res
            else:
                _wrong_shape()
    return val


# ---------------------------------------------------------------------------------------------------------
# polynomials (coefficients highest power first, as np.polyval)


@nograd
def _any_poly1d(*values):
    return any(isinstance(v, np.poly1d) for v in values)


@nograd
def _numpy_poly(name, *args, **kwargs):
    return getattr(np, name)(*args, **kwargs)


def _poly1d_refused(name, *args, **kwargs):
    """NumPy's result for ``np.poly1d`` arguments, which no rule here differentiates."""
    return _refused(_numpy_poly(name, *args, **kwargs), args, POLY1D_UNSUPPORTED.format(name=name))


def _sum_poly(a1, a2, sign):
    """``np.polyadd`` (``sign`` 1) or ``np.polysub`` (-1): the shorter one padded with leading zeros."""
    xp = xp_of(a1, a2)
    a1 = np.atleast_1d(a1)
    a2 = np.atleast_1d(a2)
    diff = len(a2) - len(a1)
    if diff > 0:
        a1 = np.concatenate((_zeros(xp, diff, a1.dtype), a1))
    elif diff < 0:
        a2 = np.concatenate((_zeros(xp, -diff, a2.dtype), a2))
    if sign > 0:
        return a1 + a2
    return a1 - a2


@implemented(np.polyadd)
def polyadd_impl(a1, a2):
    """``np.polyadd``."""
    if _any_poly1d(a1, a2):
        return _poly1d_refused("polyadd", a1, a2)
    return _sum_poly(a1, a2, 1)


@implemented(np.polysub)
def polysub_impl(a1, a2):
    """``np.polysub``."""
    if _any_poly1d(a1, a2):
        return _poly1d_refused("polysub", a1, a2)
    return _sum_poly(a1, a2, -1)


@nograd
def _check_poly(a):
    if np.ndim(a) > 1:
        raise ValueError("Polynomial must be 1d only.")


def _coefficients(a):
    """The coefficients np.poly1d keeps: leading zeros trimmed, ``[0]`` for none left."""
    a = np.atleast_1d(a)
    _check_poly(a)
    a = np.trim_zeros(a, trim="f")
    if len(a) == 0:
        return _zeros(xp_of(a), 1, a.dtype)
    return a


@implemented(np.polymul)
def polymul_impl(a1, a2):
    """``np.polymul``: the convolution of the coefficients (leading zeros dropped, as np.poly1d does)."""
    if _any_poly1d(a1, a2):
        return _poly1d_refused("polymul", a1, a2)
    return np.convolve(_coefficients(a1), _coefficients(a2))


@nograd
def _order(m, what):
    m = int(m)
    if m < 0:
        other = "polyint" if what == "derivative" else "polyder"
        raise ValueError(f"Order of {what} must be positive (see {other})")
    return m


@nograd
def _powers(xp, n):
    return xp.arange(n, 0, -1)


@implemented(np.polyder)
def polyder_impl(p, m=1):
    """``np.polyder``: each coefficient times its power, ``m`` times."""
    if _any_poly1d(p):
        return _poly1d_refused("polyder", p, m)
    m = _order(m, "derivative")
    xp = xp_of(p)
    p = xp.asarray(p)
    for _ in range(m):
        p = p[:-1] * _powers(xp, len(p) - 1)
    return p


@nograd
def _check_constants(k, m):
    if len(k) < m:
        raise ValueError("k must be a scalar or a rank-1 array of length 1 or >m.")


@implemented(np.polyint)
def polyint_impl(p, m=1, k=None):
    """``np.polyint``: each coefficient divided by its new power, the constant ``k`` appended, ``m``
    times."""
    if _any_poly1d(p):
        return _poly1d_refused("polyint", p, m, k)
    m = _order(m, "integral")
    xp = xp_of(p, k)
    if k is None:
        k = _zeros(xp, m, float)
    k = np.atleast_1d(k)
    if len(k) == 1 and m > 1:
        k = k[0] * _ones(xp, m, float)
    _check_constants(k, m)
    p = xp.asarray(p)
    for i in range(m):
        p = np.concatenate((p / _powers(xp, len(p)), xp.reshape(k[i], (1,))))
    return p


@nograd
def _polyfit_checks(deg, x, y, full, cov):
    for option, value in (("full", full), ("cov", cov)):
        if value is not False:  # (cov="unscaled" too)
            raise FluxpyError(POLYFIT_UNSUPPORTED.format(option=option, value=repr(value)))
    order = int(deg) + 1
    if deg < 0:
        raise ValueError("expected deg >= 0")
    if x.ndim != 1:
        raise TypeError("expected 1D vector for x")
    if x.size == 0:
        raise TypeError("expected non-empty vector for x")
    if y.ndim < 1 or y.ndim > 2:
        raise TypeError("expected 1D or 2D array for y")
    if x.shape[0] != y.shape[0]:
        raise TypeError("expected x and y to have same length")
    return order


@nograd
def _polyfit_weights_check(w, x):
    if w.ndim != 1:
        raise TypeError("expected a 1-d array for weights")
    if w.shape[0] != x.shape[0]:
        raise TypeError("expected w and y to have the same length")


@nograd
def _default_rcond(x):
    return len(x) * np.finfo(x.dtype).eps


@nograd
def _warn_rank(lhs, rcond, order):
    s = np.linalg.svd(to_numpy(lhs), compute_uv=False)
    rank = int(np.sum(s > rcond * s[0])) if s.size else 0
    if rank != order:
        warnings.warn("Polyfit may be poorly conditioned", np.exceptions.RankWarning, stacklevel=4)


@implemented(np.polyfit)
def polyfit_impl(x, y, deg, rcond=None, full=False, w=None, cov=False):
    """``np.polyfit``: NumPy's steps, the scaled Vandermonde least-squares problem solved by ``lstsq`` (its
    rule: the rank must not change). ``full=True`` and ``cov=True`` are refused."""
    xp = xp_of(x, y)
    x = xp.asarray(x) + 0.0
    y = xp.asarray(y) + 0.0
    order = _polyfit_checks(deg, x, y, full, cov)
    if rcond is None:
        rcond = _default_rcond(x)
    lhs = np.vander(x, order)
    rhs = y
    if w is not None:
        w = xp.asarray(w) + 0.0
        _polyfit_weights_check(w, x)
        lhs = lhs * w[:, None]
        if rhs.ndim == 2:
            rhs = rhs * w[:, None]
        else:
            rhs = rhs * w
    scale = np.sqrt(np.sum(lhs * lhs, axis=0))
    lhs = lhs / scale
    _warn_rank(lhs, rcond, order)
    c = np.linalg.lstsq(lhs, rhs, rcond)[0]
    return (c.T / scale).T


# ---------------------------------------------------------------------------------------------------------
# bincount, histogram: the weights carry the gradient


@nograd
def _counts(x, minlength):
    return xp_of(x).bincount(x, minlength=minlength)


def _weighted_bincount(x, weights, minlength):
    """``np.bincount(x, weights, minlength)``."""
    return xp_of(x, weights).bincount(x, weights, minlength)


@adjoint(_weighted_bincount)
def weighted_bincount_rule(x, weights, minlength):
    xp = xp_of(x, weights)
    index = xp.asarray(x)

    def weighted_bincount_pullback(dy):
        return (None, _like_value(_gather(dy, index), weights), None)

    return _weighted_bincount(x, weights, minlength), weighted_bincount_pullback


@implemented(np.bincount)
def bincount_impl(x, weights=None, minlength=0):
    """``np.bincount``: the counts (integers: no gradient), or the sums of the weights in each bin."""
    if weights is None:
        return _counts(x, minlength)
    return _weighted_bincount(x, weights, minlength)


@nograd
def _histogram_plan(a, bins, range, weights):
    """``(hist, edges, index, given)``: NumPy's histogram (before ``density``) and edges, the bin of each
    entry of the raveled ``a`` (the number of bins for an entry outside them), and whether the edges are
    ``bins`` itself."""
    xp = xp_of(a, weights)
    hist, edges = np.histogram(a, bins=bins, range=range, weights=weights)
    host_a = np.ravel(to_numpy(xp.asarray(a)))
    host_edges = to_numpy(edges)
    nbins = len(host_edges) - 1
    index = np.searchsorted(host_edges, host_a, side="right") - 1
    index[host_a == host_edges[-1]] = nbins - 1
    index[(index < 0) | (index >= nbins) | (host_a > host_edges[-1])] = nbins
    return hist, edges, xp.asarray(index), np.ndim(_host(bins)) == 1


@nograd
def _edges_plan(a, bins, range, weights):
    """``(edges, given)`` of np.histogram_bin_edges (see :func:`_histogram_plan`)."""
    return np.histogram_bin_edges(a, bins=bins, range=range, weights=weights), np.ndim(_host(bins)) == 1


@nograd
def _edge_source(a, range, edges):
    """Where NumPy's outer edges come from ('range', 'empty' or 'data'), and whether it widened them by 0.5
    (equal ends)."""
    if range is not None:
        return "range", bool(range[0] == range[1])
    size = _size(array_shape(a))
    if size == 0:
        return "empty", False
    values = to_numpy(xp_of(a).asarray(a))
    return "data", bool(values.min() == values.max())


def _histogram_edges(a, bins, range, edges, given):
    """The bin edges, computed as NumPy does from the data's minimum and maximum (or ``range``), so that
    they carry gradients: ``bins`` itself when it is the edges."""
    xp = xp_of(a)
    if given:
        return xp_of(bins).asarray(bins)
    source, widened = _edge_source(a, range, edges)
    if source == "range":
        first = range[0]
        last = range[1]
    elif source == "empty":
        first = 0
        last = 1
    else:
        flat = xp.ravel(xp.asarray(a))
        first = np.min(flat)
        last = np.max(flat)
    if widened:
        first = first - 0.5
        last = last + 0.5
    return np.linspace(first, last, edges.shape[0], endpoint=True, dtype=edges.dtype)


@nograd
def _residual(value, approx):
    """``value - approx`` (NumPy's value less a ruled computation's), or None where they agree."""
    rest = value - approx
    return None if not bool(rest.any()) else rest


def _weights_in_bins(weights, index, nbins, value):
    """NumPy's weighted histogram ``value``, as the sum of the weights in each bin (``index``: each weight's
    bin, ``nbins`` for none): a scatter-add, plus NumPy's rounding of it (a constant)."""
    sums = _scatter(np.ravel(weights), index, (nbins + 1,))[:nbins]
    rest = _residual(value, sums)
    if rest is None:
        return sums
    return sums + rest


@implemented(np.histogram)
def histogram_impl(a, bins=10, range=None, density=None, weights=None):
    """``np.histogram``: counts carry no gradient; the weights' sums, the edges (through the data's minimum
    and maximum, or ``range``, or ``bins`` itself) and ``density`` do."""
    hist, host_edges, index, given = _histogram_plan(a, bins, range, weights)
    edges = _histogram_edges(a, bins, range, host_edges, given)
    if weights is not None and _inexact(weights):
        hist = _weights_in_bins(weights, index, host_edges.shape[0] - 1, hist)
    if density:
        db = np.diff(edges).astype(np.float64)
        return hist / db / np.sum(hist), edges
    return hist, edges


@implemented(np.histogram_bin_edges)
def histogram_bin_edges_impl(a, bins=10, range=None, weights=None):
    """``np.histogram_bin_edges``: see :func:`histogram_impl`."""
    host_edges, given = _edges_plan(a, bins, range, weights)
    return _histogram_edges(a, bins, range, host_edges, given)


# ---------------------------------------------------------------------------------------------------------
# unique and the set operations: each value's cotangent split evenly between the entries equal to it


_UNIQUE = ("return_index", "return_inverse", "return_counts", "axis")


@nograd
def _unique_plan(ar, values, axis, equal_nan):
    """``(inverse, share)``: for each entry of ``ar`` (each slice along ``axis``), the position in
    ``values`` of the value it equals, and ``1 / count`` of the entries that equal it (shaped to broadcast
    against the gathered cotangent)."""
    xp = xp_of(ar)
    host = np.asarray(_host(ar))
    found = np.asarray(_host(values))
    if axis is not None:
        sorted_values, inverse = np.unique(host, axis=axis, return_inverse=True, equal_nan=equal_nan)
        if not np.array_equal(sorted_values, found, equal_nan=True):
            raise FluxpyError("np.unique(..., axis=...) gave its values in an order fluxpy cannot match")
        inverse = inverse.reshape(-1)
        counts = np.bincount(inverse, minlength=found.shape[axis])
        line = [1] * host.ndim
        line[normalize_axis(axis, host.ndim)] = -1
        share = (1.0 / counts[inverse]).reshape(line)
        return xp.asarray(inverse), xp.asarray(share)
    flat = host.reshape(-1)
    found = found.reshape(-1)
    order = np.argsort(found, kind="stable")
    ranked = found[order]
    index = np.searchsorted(ranked, flat, side="left")
    if flat.dtype.kind in "fc":
        missing = np.isnan(flat)
        if missing.any():
            first = int(np.count_nonzero(~np.isnan(ranked)))
            index[missing] = first if equal_nan else first + np.arange(int(missing.sum()))
    inverse = order[np.minimum(index, max(len(order) - 1, 0))]
    counts = np.bincount(inverse, minlength=len(found))
    return xp.asarray(inverse), xp.asarray((1.0 / counts[inverse]).reshape(host.shape))


def _unique_cotangent(dvalues, ar, inverse, share, axis):
    """The cotangent of ``ar`` from that of the unique values: each entry's value's, over its count."""
    xp = xp_of(dvalues)
    if axis is None:
        g = xp.reshape(_gather(dvalues, inverse), array_shape(share)) * share
    else:
        g = xp.take(dvalues, inverse, axis=axis) * share
    return _like_value(g, ar)


@adjoint(np.unique)
def unique_rule(ar, *args, **kwargs):
    y = device_call(xp_of(ar), "unique", ar, *args, **kwargs)
    opts = bind("unique", args, kwargs, _UNIQUE)
    several = isinstance(y, tuple)
    values = y[0] if several else y
    n = 1 + len(args)
    if not _inexact(values):
        return y, _none_grads(n)
    axis = opts.get("axis")
    inverse, share = _unique_plan(ar, values, axis, opts.get("equal_nan", True))

    def unique_pullback(dy):
        dvalues = dy[0] if several else dy
        if dvalues is None:
            return (None,) * n
        return grads_first(_unique_cotangent(dvalues, ar, inverse, share, axis), args)

    return y, unique_pullback


def _unique_family_rule(name):
    """The rule of the array API's ``np.unique_values``/``_counts``/``_inverse``/``_all`` (``equal_nan``
    False): the values carry the gradient."""
    primal = getattr(np, name)

    def rule(x):
        y = device_call(xp_of(x), name, x)
        several = name != "unique_values"
        values = y[0] if several else y
        if not _inexact(values):
            return y, _none_grads(1)
        inverse, share = _unique_plan(x, values, None, False)

        def unique_family_pullback(dy):
            dvalues = dy[0] if several else dy
            if dvalues is None:
                return (None,)
            return (_unique_cotangent(dvalues, x, inverse, share, None),)

        return y, unique_family_pullback

    rule.__name__ = f"{name}_rule"
    return adjoint(primal)(rule)


for _name in ("unique_values", "unique_counts", "unique_inverse", "unique_all"):
    _unique_family_rule(_name)


@implemented(np.union1d)
def union1d_impl(ar1, ar2):
    """``np.union1d``: the unique values of both."""
    return np.unique(np.concatenate((ar1, ar2), axis=None))


@nograd
def _pairs(aux):
    """Where ``aux[k + 1] == aux[k]``."""
    return aux[1:] == aux[:-1]


@nograd
def _stable_order(aux):
    return xp_of(aux).argsort(aux, kind="mergesort")


@implemented(np.intersect1d)
def intersect1d_impl(ar1, ar2, assume_unique=False, return_indices=False):
    """``np.intersect1d``, NumPy's steps: a value in both takes its gradient from ``ar1``'s entries."""
    xp = xp_of(ar1, ar2)
    ar1 = xp.asanyarray(ar1)
    ar2 = xp.asanyarray(ar2)
    ind1 = None
    ind2 = None
    if not assume_unique:
        if return_indices:
            ar1, ind1 = np.unique(ar1, return_index=True)
            ar2, ind2 = np.unique(ar2, return_index=True)
        else:
            ar1 = np.unique(ar1)
            ar2 = np.unique(ar2)
    else:
        ar1 = np.ravel(ar1)
        ar2 = np.ravel(ar2)
    aux = np.concatenate((ar1, ar2))
    aux_sort_indices = None
    if return_indices:
        aux_sort_indices = _stable_order(aux)
        aux = aux[aux_sort_indices]
    else:
        aux = np.sort(aux)
    mask = _pairs(aux)
    int1d = aux[:-1][mask]
    if not return_indices:
        return int1d
    ar1_indices = aux_sort_indices[:-1][mask]
    ar2_indices = aux_sort_indices[1:][mask] - ar1.size
    if not assume_unique:
        ar1_indices = ind1[ar1_indices]
        ar2_indices = ind2[ar2_indices]
    return int1d, ar1_indices, ar2_indices


@nograd
def _not_in(ar1, ar2):
    return xp_of(ar1, ar2).isin(ar1, ar2, assume_unique=True, invert=True)


@implemented(np.setdiff1d)
def setdiff1d_impl(ar1, ar2, assume_unique=False):
    """``np.setdiff1d``: the unique values of ``ar1`` not in ``ar2`` (which gets no gradient)."""
    if assume_unique:
        ar1 = np.ravel(xp_of(ar1).asarray(ar1))
    else:
        ar1 = np.unique(ar1)
        ar2 = np.unique(ar2)
    return ar1[_not_in(ar1, ar2)]


@nograd
def _single(aux):
    """Where ``aux`` (sorted) holds a value once."""
    xp = xp_of(aux)
    edge = xp.ones(1, dtype=bool)
    flag = xp.concatenate((edge, aux[1:] != aux[:-1], edge))
    return flag[1:] & flag[:-1]


@implemented(np.setxor1d)
def setxor1d_impl(ar1, ar2, assume_unique=False):
    """``np.setxor1d``: the values in exactly one of the two."""
    if not assume_unique:
        ar1 = np.unique(ar1)
        ar2 = np.unique(ar2)
    aux = np.concatenate((ar1, ar2), axis=None)
    if aux.size == 0:
        return aux
    aux = np.sort(aux)
    return aux[_single(aux)]


# ---------------------------------------------------------------------------------------------------------
# no derivative: text, files, dates, bits, settings


nograd(
    np.array2string, np.array_repr, np.array_str, np.base_repr, np.binary_repr, np.format_float_positional,
    np.format_float_scientific, np.typename, np.mintypecode, np.info,
    np.save, np.savez, np.savez_compressed, np.savetxt, np.load, np.loadtxt, np.genfromtxt, np.fromfile,
    np.fromregex, np.frombuffer, np.fromstring,
    np.busday_count, np.busday_offset, np.is_busday, np.datetime_as_string, np.datetime_data,
    np.packbits, np.unpackbits, np.einsum_path,
    np.get_printoptions, np.set_printoptions, np.printoptions, np.getbufsize, np.setbufsize, np.geterrcall,
    np.seterrcall, np.get_include, np.show_config, np.show_runtime, np.test, np.linalg.test,
)  # fmt: skip


# lists and tuples where NumPy reads arrays (rules/helpers.py); not in the in-place writers, where NumPy
# refuses a list to write into
accept_array_likes(
    __name__, skip=(np.copyto, np.fill_diagonal, np.put, np.put_along_axis, np.putmask, np.place)
)
