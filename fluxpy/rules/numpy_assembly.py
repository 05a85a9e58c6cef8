"""Rules: NumPy functions that assemble arrays from the entries of others (``broadcast_arrays``, ``block``,
``delete``, ``insert``, ``choose``, ``select``, ``extract``, ``resize``, ``fromiter``), the functional forms
of the functions that write into their argument, and the marks of functions whose results carry no gradient
(printing, files, dates, bits). The bookkeeping here (``device_call``, ``_host``, ...) serves the modules
split from this one by domain: numpy_builders.py, numpy_signal.py, numpy_apply.py, numpy_polynomials.py,
numpy_histograms.py, numpy_sets.py.

Functions that only copy entries of their array arguments into a new array (``delete``, ``insert``,
``choose``, ``select``, ``extract``, ``resize``, ``block``) go through :func:`assemble`: the value is
NumPy's, and the map from the result's entries to the arguments' entries is found by calling the same
NumPy function on arrays of positions (so NumPy's own broadcasting, casting and index rules decide it). The
pullback adds the cotangent back through that map (a scatter-add), so an entry copied twice gets both
shares, and an entry that is not copied (or a constant fill) gets none.

Functions that write into their argument (``copyto``, ``fill_diagonal``, ``put``, ``put_along_axis``,
``putmask``, ``place``), called as a statement on a name, are differentiated: the fence writes them as
``dst[...] = copyto_value(dst, src)`` (transform/in_place_calls.py), :func:`copyto_value` and
its siblings being their functional forms (a new array). Called otherwise (as a value, on an attribute)
they are refused when floats take part: the write would happen behind the transformer's back, and the
gradient of the values written would be lost.

>>> import numpy as np, fluxpy as fx
>>> fx.gradient(lambda x: np.sum(np.delete(x, 1) ** 2), np.array([1.0, 2.0, 3.0]))
(array([2., 0., 6.]),)
"""

import numpy as np

from ..backend import is_array, to_numpy, xp_of
from ..errors import FluxpyError
from .helpers import accept_array_likes, cast_back, unbroadcast
from .numpy_implemented import implemented
from .numpy_shape import _pack, _scatter, _unpack, array_shape, xp_of_items
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


@nograd
def _empty(xp, shape, dtype):
    return xp.empty(shape, dtype=dtype)


@nograd
def _ones(xp, shape, dtype):
    return xp.ones(shape, dtype=dtype)


@nograd
def _zeros(xp, shape, dtype):
    return xp.zeros(shape, dtype=dtype)


# ---------------------------------------------------------------------------------------------------------
# assemble: NumPy's function of the leaves; the pullback adds the cotangent back through the entry map


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
