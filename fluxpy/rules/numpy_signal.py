"""Rules: NumPy's functions of sampled signals: ``gradient`` (central differences), ``unwrap``, the window
functions (``i0``, ``kaiser``; ``bartlett``, ``blackman``, ``hamming`` and ``hanning`` carry no gradient)
and ``asarray_chkfinite``. They are NumPy's steps over ruled operations (rules/numpy_implemented.py's
``implemented``): gradients of any order and forward mode come from the transformer.

>>> import numpy as np, fluxpy as fx
>>> fx.gradient(lambda x: np.sum(np.gradient(x) ** 2), np.array([1.0, 2.0, 4.0]))
(array([-3.5, -2. ,  5.5]),)
"""

import numpy as np
from numpy.lib import _function_base_impl as _numpy_function_base

from ..backend import to_numpy, xp_of
from .numpy_assembly import _empty, _host
from .numpy_implemented import implemented
from .registry import nograd

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
