"""Rules for NumPy indexing: ``x[idx]``, ``np.take``, ``take_along_axis``, ``compress``, ``tril``, ``triu``.

Every gather ``y = x[idx]`` has the scatter ``dx = scatter_add(x.shape, idx, dy, x)`` as its pullback, and the
scatter's own pullback is the gather ``dd[idx]``: so both stay differentiable (gradient of gradient) although
the scatter writes into a fresh zeros array. Repeated integer indices accumulate (``xp.add.at``).

>>> import numpy as np
>>> y, back = array_getitem_rule(np.arange(4.0), [0, 0, 3])
>>> back(np.ones(3))[0]
array([2., 0., 0., 1.])
"""

import numpy as np

from ..backend import is_array, xp_of
from .helpers import accept_array_likes, shape_of, unbroadcast
from .registry import adjoint, nograd, register_method

# ---------------------------------------------------------------------------------------------------------
# bookkeeping (never differentiated)


@nograd
def _options(rest, kwargs, *spec):
    """Bind extra positional arguments ``rest`` and keywords to ``(name, default)`` pairs, in order."""
    names = [name for name, _ in spec]
    values = dict(spec)
    if len(rest) > len(names):
        raise TypeError(f"expected at most {len(names)} optional positional arguments, got {len(rest)}")
    values.update(zip(names, rest, strict=False))
    for key, value in kwargs.items():
        if key not in values:
            raise TypeError(f"unexpected keyword argument {key!r}")
        values[key] = value
    return tuple(values[name] for name in names)


@nograd
def _nones(rest):
    """One ``None`` cotangent per extra positional argument."""
    return (None,) * len(rest)


@nograd
def _grad_dtype(dy, like):
    """The dtype of a cotangent for ``like`` receiving ``dy``: floats stay, ints become float64."""
    like_dtype = like.dtype if hasattr(like, "dtype") else np.asarray(like).dtype  # not a default: eager
    dtype = np.result_type(getattr(dy, "dtype", dy), like_dtype)
    return dtype if dtype.kind in "fc" else np.dtype(np.float64)


@nograd
def index_array(part, xp=np):
    """The array NumPy reads the index entry ``part`` as (from an array, a list, a ``range``, a tuple inside
    an index tuple, any sequence), or None for an entry of basic indexing (an integer, a slice, None, ...).

    >>> index_array(range(2))
    array([0, 1])
    """
    if part is None or part is Ellipsis or isinstance(part, (slice, bool, np.bool_)):
        return None
    if is_array(part):
        return part
    if hasattr(type(part), "__index__"):  # int, np.integer, a user integer
        return None
    return xp.asarray(part)


@nograd
def _is_int_array(i):
    a = index_array(i)
    return a is not None and a.dtype.kind in "iu" and a.ndim > 0


@nograd
def _needs_accumulation(idx):
    """True when ``idx`` holds an integer array (fancy indexing), where repeated entries must accumulate."""
    parts = idx if type(idx) is tuple else (idx,)
    return any(_is_int_array(i) for i in parts)


@nograd
def _scatter_into(out, idx, dy):
    """Add ``dy`` into the fresh array ``out`` at ``idx`` (in place; ``out`` is owned by ``scatter_add``)."""
    xp = xp_of(out)
    if not _needs_accumulation(idx):
        out[idx] = dy
    elif hasattr(xp.add, "at"):
        xp.add.at(out, idx, dy)
    else:  # older CuPy
        import cupyx

        cupyx.scatter_add(out, idx, dy)
    return out


# ---------------------------------------------------------------------------------------------------------
# the scatter and its rule (pullback: gather)


def scatter_add(shape, idx, dy, like):
    """A new zero array of ``shape`` with ``dy`` added at ``idx`` (dtype and module from ``like`` and ``dy``).

    >>> scatter_add((3,), [1, 1], np.array([1.0, 2.0]), np.zeros(3))
    array([0., 3., 0.])
    """
    xp = xp_of(dy, like)
    out = xp.zeros(shape, dtype=_grad_dtype(dy, like))
    return _scatter_into(out, idx, dy)


@adjoint(scatter_add)
def scatter_add_rule(shape, idx, dy, like):
    def scatter_add_pullback(dd):
        return (None, None, dd[idx], None)

    return scatter_add(shape, idx, dy, like), scatter_add_pullback


# ---------------------------------------------------------------------------------------------------------
# x[idx]


def array_getitem_rule(x, idx):
    """Rule of ``x[idx]`` for array receivers: basic, fancy (accumulating), boolean, newaxis, Ellipsis."""

    def getitem_pullback(dy):
        return (scatter_add(shape_of(x), idx, dy, x), None)

    return x[idx], getitem_pullback


adjoint(np.ndarray.__getitem__)(array_getitem_rule)


# ---------------------------------------------------------------------------------------------------------
# take, take_along_axis, compress


@nograd
def _take_index(shape, indices, axis, mode):
    """The index into ``a`` (or into ``a.ravel()`` when ``axis`` is None) that ``np.take`` gathers."""
    xp = xp_of(indices)
    n = int(np.prod(shape)) if axis is None else shape[axis]
    indices = xp.asarray(indices)
    if indices.dtype.kind not in "iu":
        indices = indices.astype(np.intp)
    if mode == "wrap":
        indices = indices % n
    elif mode == "clip":
        indices = xp.clip(indices, 0, n - 1)
    if axis is None:
        return (indices,)
    axis = axis % len(shape)
    return (slice(None),) * axis + (indices,)


@nograd
def _size(x):
    return int(np.prod(shape_of(x)))


@adjoint(np.take)
def take_rule(a, indices, *rest, **kwargs):
    axis, out, mode = _options(rest, kwargs, ("axis", None), ("out", None), ("mode", "raise"))
    xp = xp_of(a)
    y = xp.take(a, indices, axis=axis, mode=mode)
    idx = _take_index(shape_of(a), indices, axis, mode)

    def take_pullback(dy):
        if axis is None:
            flat = scatter_add((_size(a),), idx, dy, a)
            return (xp.reshape(flat, shape_of(a)), None) + _nones(rest)
        return (scatter_add(shape_of(a), idx, dy, a), None) + _nones(rest)

    return y, take_pullback


register_method("take", take_rule)  # x.take(indices, axis=...): the same arguments after the array


@nograd
def _along_axis_index(shape, indices, axis):
    """The fancy index tuple with ``a[index] == np.take_along_axis(a, indices, axis)`` (as in NumPy)."""
    xp = xp_of(indices)
    ndim = len(shape)
    axis = axis % ndim
    index = []
    for d in range(ndim):
        if d == axis:
            index.append(indices)
        else:
            fancy_shape = [1] * ndim
            fancy_shape[d] = shape[d]
            index.append(xp.arange(shape[d]).reshape(fancy_shape))
    return tuple(index)


@adjoint(np.take_along_axis)
def take_along_axis_rule(arr, indices, *rest, **kwargs):
    (axis,) = _options(rest, kwargs, ("axis", -1))
    xp = xp_of(arr)
    y = xp.take_along_axis(arr, indices, axis=axis)
    if axis is None:
        idx = _along_axis_index((_size(arr),), indices, 0)
    else:
        idx = _along_axis_index(shape_of(arr), indices, axis)

    def take_along_axis_pullback(dy):
        if axis is None:
            flat = scatter_add((_size(arr),), idx, dy, arr)
            return (xp.reshape(flat, shape_of(arr)), None) + _nones(rest)
        return (scatter_add(shape_of(arr), idx, dy, arr), None) + _nones(rest)

    return y, take_along_axis_pullback


@nograd
def _compress_indices(condition):
    xp = xp_of(condition)
    return xp.nonzero(xp.asarray(condition).ravel())[0]


@adjoint(np.compress)
def compress_rule(condition, a, *rest, **kwargs):
    axis, out = _options(rest, kwargs, ("axis", None), ("out", None))
    xp = xp_of(a)
    y = xp.compress(condition, a, axis=axis)
    idx = _take_index(shape_of(a), _compress_indices(condition), axis, "raise")

    def compress_pullback(dy):
        if axis is None:
            flat = scatter_add((_size(a),), idx, dy, a)
            return (None, xp.reshape(flat, shape_of(a))) + _nones(rest)
        return (None, scatter_add(shape_of(a), idx, dy, a)) + _nones(rest)

    return y, compress_pullback


# ---------------------------------------------------------------------------------------------------------
# tril, triu: the gradient is masked the same way (a 1-d input was broadcast to rows)


@adjoint(np.tril)
def tril_rule(m, *rest, **kwargs):
    (k,) = _options(rest, kwargs, ("k", 0))
    xp = xp_of(m)

    def tril_pullback(dy):
        return (unbroadcast(xp.tril(dy, k), m),) + _nones(rest)

    return xp.tril(m, k), tril_pullback


@adjoint(np.triu)
def triu_rule(m, *rest, **kwargs):
    (k,) = _options(rest, kwargs, ("k", 0))
    xp = xp_of(m)

    def triu_pullback(dy):
        return (unbroadcast(xp.triu(dy, k), m),) + _nones(rest)

    return xp.triu(m, k), triu_pullback


# ---------------------------------------------------------------------------------------------------------
# index producers: no gradient

nograd(
    np.nonzero,
    np.flatnonzero,
    np.argwhere,
    np.indices,
    np.ix_,
    np.unravel_index,
    np.ravel_multi_index,
    np.diag_indices,
    np.diag_indices_from,
    np.tril_indices,
    np.triu_indices,
    np.tril_indices_from,
    np.triu_indices_from,
    np.mask_indices,
)


# ---------------------------------------------------------------------------------------------------------
# x.item(...)


@nograd
def _item_position(shape, index):
    """The position ``(i, j, ...)`` in an array of ``shape`` that ``x.item(*index)`` reads, as non-negative
    Python ints: ``()`` (a size-1 array), a flat index (negative counts from the end), ``i, j, ...`` or one
    tuple ``(i, j, ...)``."""
    if len(index) == 1 and isinstance(index[0], tuple):
        index = index[0]
    if len(index) <= 1:
        size = int(np.prod(shape, dtype=np.int64))
        flat = int(index[0]) % size if index else 0
        return tuple(int(i) for i in np.unravel_index(flat, shape))
    return tuple(int(i) % n for i, n in zip(index, shape, strict=True))


def item_rule(x, *index):
    """``x.item()``, ``x.item(i)``, ``x.item(i, j)``, ``x.item((i, j))``: a Python scalar; its gradient lands
    on that element."""
    y = x.item(*index)  # first: NumPy's own errors for a bad index
    position = _item_position(shape_of(x), index)

    def item_pullback(dy):
        return (scatter_add(shape_of(x), position, dy, x),) + (None,) * len(index)

    return y, item_pullback


register_method("item", item_rule)


accept_array_likes(__name__)  # lists and tuples where NumPy reads arrays (rules/helpers.py)
