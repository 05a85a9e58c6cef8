"""Rules: NumPy functions that build or rearrange arrays in a few steps of their own: ``rollaxis``,
``row_stack``, ``diagflat``, ``vander``, ``trim_zeros``, ``sort_complex``, ``geomspace``, ``logspace``.
They are NumPy's steps over ruled operations (rules/numpy_implemented.py's ``implemented``): gradients
of any order and forward mode come from the transformer.

>>> import numpy as np, fluxpy as fx
>>> fx.gradient(lambda x: np.sum(np.vander(x, 3)), np.array([2.0, 3.0]))
(array([5., 7.]),)
"""

import operator
import warnings

import numpy as np

from ..backend import xp_of
from .numpy_assembly import _empty, _host, _ones
from .numpy_implemented import implemented
from .numpy_shape import array_shape, normalize_axis
from .registry import nograd

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
        "`row_stack` alias is deprecated. Use `np.vstack` directly.",
        DeprecationWarning,
        stacklevel=4,
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
