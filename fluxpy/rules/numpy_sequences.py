"""Rules: NumPy functions of sequences: ``diff``, ``append``, ``convolve``, ``correlate``, ``interp``,
``linspace``.

All but ``interp`` are linear (``convolve`` and ``correlate`` in each argument), so each pullback applies the
transposed map with ruled operations (``diff``'s transpose is a ``diff`` of the padded cotangent,
``convolve``'s a ``correlate``), and their forward rules apply the map itself to the tangents.

``interp(x, xp, fp)`` is piecewise linear: ``fp``'s cotangent goes to the two knots around each ``x``
(``1 - t`` and ``t``), ``x``'s is the slope of its segment (the right-hand one at a knot; 0 outside the
range), ``xp``'s follows from moving the knots. ``period=`` has no rule.

>>> import numpy as np, fluxpy as fx
>>> fx.gradient(lambda x: np.sum(np.diff(x) ** 2), np.array([0.0, 1.0, 3.0]))
(array([-2., -2.,  4.]),)
"""

import functools

import numpy as np

from ..backend import xp_of
from ..errors import FluxpyError
from .forward_core import _like, keyword_forward_rule
from .helpers import accept_array_likes, conj, is_inexact, unbroadcast
from .numpy_joins import _join_layout
from .numpy_shape import _scatter, _unjoin, array_shape, bind, normalize_axis
from .registry import adjoint, forward_rule, nograd

_NOVALUE = np._NoValue
_DIFF = ("n", "axis", "prepend", "append")
_INTERP = ("left", "right", "period")
_LINSPACE = ("num", "endpoint", "retstep", "dtype", "axis")
PERIOD_UNSUPPORTED = (
    "the gradient of np.interp(..., period=...) has no rule in fluxpy; map x into one period and pass "
    "sorted, extended xp and fp (np.concatenate the ends) without period="
)


# ---------------------------------------------------------------------------------------------------------
# forward rules of linear maps: the map applied to the tangents


@nograd
def _zeros_for(value):
    """The zero tangent of ``value``, as an array of its shape on its device."""
    dtype = getattr(value, "dtype", None)
    return xp_of(value).zeros(array_shape(value), dtype if is_inexact(value) else float)


@nograd
def _moving_data(targs, tkwargs, names, data):
    return any(t is not None and n in data for n, t in zip(names, targs, strict=False)) or any(
        tkwargs.get(k) is not None for k in data
    )


def linear_forward(primal, names, data):
    """Register the forward rule of ``primal``, jointly linear in its parameters named in ``data`` (``names``
    lists its positional parameters in order): the tangent is ``primal`` of their tangents (zeros for those
    with none), the other arguments passed as they are. A result with no float dtype has no tangent."""

    @keyword_forward_rule(primal)
    def linear_jvp(args, targs, kwargs, tkwargs):
        y = primal(*args, **kwargs)
        first = y[0] if isinstance(y, tuple) else y
        if not _moving_data(targs, tkwargs, names, data) or not is_inexact(first):
            return y, None
        targs = tuple(targs) + (None,) * (len(args) - len(targs))
        moved = [_data_tangent(t, a) if n in data else a for n, t, a in zip(names, targs, args, strict=False)]
        kw = {k: _data_tangent(tkwargs.get(k), v) if k in data else v for k, v in kwargs.items()}
        return y, primal(*moved, **kw)

    linear_jvp.__name__ = f"{primal.__name__}_jvp"
    return linear_jvp


def _data_tangent(t, value):
    if value is _NOVALUE or value is None:  # an option left out
        return value
    if t is None:
        return _zeros_for(value)
    return _like(t, value) if hasattr(value, "shape") else t


# ---------------------------------------------------------------------------------------------------------
# diff: the transpose of a difference is minus the difference of the zero-padded cotangent


@nograd
def _diff_plan(a, args, kwargs):
    """``(n, axis, prepend, append, lengths)``: the options and the lengths along ``axis`` of the prepended
    values, ``a`` and the appended ones."""
    opts = bind("diff", args, kwargs, _DIFF)
    shape = array_shape(a)
    n = opts.get("n", 1)
    axis = normalize_axis(opts.get("axis", -1), len(shape))
    prepend, append = opts.get("prepend", _NOVALUE), opts.get("append", _NOVALUE)
    lengths = tuple(_along(v, axis) for v in (prepend, a, append))
    return n, axis, prepend, append, lengths


@nograd
def _along(value, axis):
    """How many entries ``value`` adds along ``axis`` (a number broadcasts to one)."""
    if value is _NOVALUE:
        return 0
    shape = array_shape(value)
    return shape[axis] if shape else 1


@nograd
def _axis_slice(axis, start, stop):
    return (slice(None),) * axis + (slice(start, stop),)


@nograd
def _pad_widths(ndim, axis):
    return tuple((1, 1) if i == axis else (0, 0) for i in range(ndim))


def diff_transpose(g, n, axis):
    """The transpose of ``n`` differences along ``axis``: ``-diff(pad(g, 1))``, ``n`` times."""
    xp = xp_of(g)
    widths = _pad_widths(len(array_shape(g)), axis)
    for _ in range(n):
        g = -xp.diff(xp.pad(g, widths), axis=axis)
    return g


def _part(dc, axis, start, stop, value):
    """The cotangent of ``prepend`` or ``append`` (``value``) from the slice ``start:stop`` of the combined
    array's: summed for a number (it was broadcast), else shaped like it."""
    if value is _NOVALUE:
        return None
    xp = xp_of(dc)
    piece = dc[_axis_slice(axis, start, stop)]
    if not array_shape(value):
        return xp.sum(piece)
    return xp.reshape(piece, array_shape(value))


@adjoint(np.diff)
def diff_rule(a, *args, **kwargs):
    xp = xp_of(a)
    y = xp.diff(a, *args, **kwargs)
    n, axis, prepend, append, lengths = _diff_plan(a, args, kwargs)
    count = len(args)

    def diff_pullback(dy):
        if n == 0:
            return (dy,) + (None,) * count
        dc = diff_transpose(dy, n, axis)
        p, m, q = lengths
        da = dc[_axis_slice(axis, p, p + m)] if p or q else dc
        grads = (da, None, None, _part(dc, axis, 0, p, prepend), _part(dc, axis, p + m, p + m + q, append))
        return grads[: 1 + count]

    return y, diff_pullback


linear_forward(np.diff, ("a",) + _DIFF, ("a", "prepend", "append"))


@adjoint(np.ediff1d)
def ediff1d_rule(ary, to_end=None, to_begin=None):
    """``ediff1d(ary, to_end, to_begin)``: the differences of ``ary.ravel()`` between ``to_begin`` and
    ``to_end``."""
    xp = xp_of(ary)
    y = xp.ediff1d(ary, to_end, to_begin)
    shape = array_shape(ary)
    begin = 0 if to_begin is None else int(np.size(to_begin))

    def ediff1d_pullback(dy):
        dflat = diff_transpose(dy[begin : begin + max(_size(shape) - 1, 0)], 1, 0)
        dend = None if to_end is None else _ends(dy[begin + max(_size(shape) - 1, 0) :], to_end)
        dbegin = None if to_begin is None else _ends(dy[:begin], to_begin)
        return (xp.reshape(dflat, shape), dend, dbegin)

    return y, ediff1d_pullback


@nograd
def _size(shape):
    return int(np.prod(shape, dtype=np.int64))


def _ends(piece, value):
    xp = xp_of(piece)
    return xp.sum(piece) if not array_shape(value) else xp.reshape(piece, array_shape(value))


linear_forward(np.ediff1d, ("ary", "to_end", "to_begin"), ("ary", "to_end", "to_begin"))


# ---------------------------------------------------------------------------------------------------------
# append: a concatenation (of the raveled arguments when axis is None)


@adjoint(np.append)
def append_rule(arr, values, *args, **kwargs):
    xp = xp_of(arr, values)
    axis = bind("append", args, kwargs, ("axis",)).get("axis")
    layout, joined_axis, _ = _join_layout("concatenate", (arr, values), axis)

    def append_pullback(dy):
        return tuple(_unjoin(dy, layout, joined_axis, tuple, None)) + (None,) * len(args)

    return xp.append(arr, values, *args, **kwargs), append_pullback


linear_forward(np.append, ("arr", "values", "axis"), ("arr", "values"))


# ---------------------------------------------------------------------------------------------------------
# convolve and correlate: the 'same' and 'valid' outputs are windows of the 'full' one


@nograd
@functools.lru_cache(maxsize=256)
def _window(kind, n, m, mode):
    """Where the ``mode`` output of ``np.convolve``/``np.correlate`` (``kind``) of lengths ``n`` and ``m``
    starts in the 'full' output, found by running NumPy on integer probes (exact)."""
    f = np.convolve if kind == "convolve" else np.correlate
    a, v = np.arange(1.0, n + 1), np.arange(1.0, m + 1) ** 2 + np.arange(m) * 7
    full, part = f(a, v, "full"), f(a, v, mode)
    for start in range(len(full) - len(part) + 1):
        if np.array_equal(full[start : start + len(part)], part):
            return start, len(full) - start - len(part)
    raise AssertionError(f"no window of np.{kind}(mode={mode!r})")  # pragma: no cover


@nograd
def _mode(args, kwargs, default):
    return bind("convolve", args, kwargs, ("mode",)).get("mode", default)


@nograd
def _length(a):
    return int(np.prod(array_shape(a), dtype=np.int64))


def _shaped(g, value):
    """The cotangent ``g`` of a 1-d argument given as ``value``: a number for a number."""
    return _as_given(xp_of(g).reshape(g, array_shape(value)), value)


def _full_cotangent(dy, kind, n, m, mode):
    """The cotangent of the 'full' output from that of the ``mode`` output: zeros around it."""
    if mode == "full":
        return dy
    before, after = _window(kind, n, m, mode)
    return xp_of(dy).pad(dy, ((before, after),))


@adjoint(np.convolve)
def convolve_rule(a, v, *args, **kwargs):
    """``y[k] = sum_i a[i] v[k - i]`` ('full'): ``da = correlate(dy, v, 'valid')``, ``dv = correlate(dy, a,
    'valid')`` (correlate conjugates its second argument: the complex cotangents)."""
    xp = xp_of(a, v)
    mode = _mode(args, kwargs, "full")
    n, m = _length(a), _length(v)

    def convolve_pullback(dy):
        g = _full_cotangent(dy, "convolve", n, m, mode)
        da = _shaped(xp.correlate(g, v, "valid"), a)
        return (da, _shaped(xp.correlate(g, a, "valid"), v)) + (None,) * len(args)

    return xp.convolve(a, v, *args, **kwargs), convolve_pullback


@adjoint(np.correlate)
def correlate_rule(a, v, *args, **kwargs):
    """``correlate(a, v) = convolve(a, conj(v)[::-1])``: the cotangents of ``convolve``, the second one
    reversed and conjugated back."""
    xp = xp_of(a, v)
    mode = _mode(args, kwargs, "valid")
    n, m = _length(a), _length(v)

    def correlate_pullback(dy):
        g = _full_cotangent(dy, "correlate", n, m, mode)
        w = conj(xp.flip(xp.reshape(xp.asarray(v), (m,)), 0))
        dv = conj(xp.flip(xp.correlate(g, a, "valid"), 0))
        return (_shaped(xp.correlate(g, w, "valid"), a), _shaped(dv, v)) + (None,) * len(args)

    return xp.correlate(a, v, *args, **kwargs), correlate_pullback


def _bilinear_forward(primal):
    """The forward rule of ``primal(a, v, mode)``, linear in each of ``a`` and ``v``."""

    @forward_rule(primal)
    def bilinear_jvp(args, targs):
        y = primal(*args)
        a, v = args[0], args[1]
        ta, tv = targs[0], targs[1] if len(targs) > 1 else None
        t = None
        if ta is not None:
            t = primal(_data_tangent(ta, a), v, *args[2:])
        if tv is not None:
            tv_part = primal(a, _data_tangent(tv, v), *args[2:])
            t = tv_part if t is None else t + tv_part
        return y, t

    bilinear_jvp.__name__ = f"{primal.__name__}_jvp"
    return bilinear_jvp


_bilinear_forward(np.convolve)
_bilinear_forward(np.correlate)


# ---------------------------------------------------------------------------------------------------------
# interp: piecewise linear between the knots xp


@nograd
def _interp_plan(x, xp_knots, args, kwargs):
    """The segment of each ``x`` (``j``: between knots ``j`` and ``j + 1``) and the masks of the points
    inside the knots, below them and above them."""
    opts = dict(zip(_INTERP, args, strict=False))
    opts.update(kwargs)
    xpm = xp_of(x, xp_knots)
    knots = xpm.asarray(xp_knots)
    xs = xpm.asarray(x)
    n = knots.shape[0]
    j = xpm.clip(xpm.searchsorted(knots, xs, side="right") - 1, 0, max(n - 2, 0))
    below, above = xs < knots[0], xs > knots[-1]
    inside = ~(below | above)
    return j, inside, below, above, n, opts


def _weights(x, knots, j, inside):
    """``(t, width)``: where each ``x`` lies in its segment (0 to 1; 0 outside the knots), the width of the
    segment (1 where it is empty)."""
    xp = xp_of(x, knots)
    x0 = knots[j]
    width = knots[j + 1] - x0 if array_shape(knots)[0] > 1 else xp.ones_like(x0)
    width = xp.where(width == 0, 1.0, width)
    return xp.where(inside, (x - x0) / width, 0.0), width


@adjoint(np.interp)
def interp_rule(x, xp_knots, fp, *args, **kwargs):
    xpm = xp_of(x, xp_knots, fp)
    y = xpm.interp(x, xp_knots, fp, *args, **kwargs)
    j, inside, below, above, n, opts = _interp_plan(x, xp_knots, args, kwargs)
    left, right, period = opts.get("left"), opts.get("right"), opts.get("period")

    def interp_pullback(dy):
        if period is not None:
            raise FluxpyError(PERIOD_UNSUPPORTED)
        knots, values = xpm.asarray(xp_knots), xpm.asarray(fp)
        t, width = _weights(x, knots, j, inside)
        slope = xpm.where(inside, (values[xpm.minimum(j + 1, n - 1)] - values[j]) / width, 0.0)
        g = xpm.broadcast_to(dy, array_shape(y))
        edge_low = below if left is None else xpm.zeros_like(below)
        edge_high = above if right is None else xpm.zeros_like(above)
        dfp = _scatter(g * (1 - t) * inside + g * edge_low, j, (n,))
        dfp = dfp + _scatter(g * t * inside, xpm.minimum(j + 1, n - 1), (n,))
        dfp = dfp + _scatter(g * edge_high, xpm.full(array_shape(j), n - 1), (n,))
        gs = g * conj(slope)
        if _is_complex(fp):  # real x and xp: the real part (see helpers.conj)
            gs = xpm.real(gs)
        dx = unbroadcast(gs, x)
        dknots = _scatter(-gs * (1 - t), j, (n,)) + _scatter(-gs * t, xpm.minimum(j + 1, n - 1), (n,))
        dleft = None if left is None else xpm.sum(g * below)
        dright = None if right is None else xpm.sum(g * above)
        grads = (_as_given(dx, x), _as_given(dknots, xp_knots), _as_given(dfp, fp), dleft, dright, None)
        return grads[: 3 + len(args)]

    return y, interp_pullback


@nograd
def _is_complex(v):
    return np.iscomplexobj(v) if not hasattr(v, "dtype") else v.dtype.kind == "c"


def _as_given(g, value):
    """A cotangent of ``value``: a number for a number."""
    if hasattr(value, "shape") or isinstance(value, (list, tuple)):
        return g
    return g[()] if hasattr(g, "shape") and not array_shape(g) else g


# ---------------------------------------------------------------------------------------------------------
# linspace: start (1 - i / div) + stop (i / div), the last sample stop itself


@nograd
def _linspace_plan(start, stop, args, kwargs):
    """``(weights, axis, retstep, div, carries)``: the share of ``stop`` in each sample, shaped to broadcast
    against the samples."""
    opts = bind("linspace", args, kwargs, _LINSPACE)
    num = opts.get("num", 50)
    endpoint = opts.get("endpoint", True)
    div = (num - 1) if endpoint else num
    ndim = max(len(array_shape(start)), len(array_shape(stop)))
    weights = np.arange(num, dtype=float) / div if div > 0 else np.zeros(num)
    weights = weights.reshape((-1,) + (1,) * ndim)
    axis = normalize_axis(opts.get("axis", 0), ndim + 1)
    dtype = opts.get("dtype")
    carries = dtype is None or np.dtype(dtype).kind in "fc"
    return (
        xp_of(start, stop).asarray(np.moveaxis(weights, 0, axis)),
        axis,
        opts.get("retstep", False),
        div,
        carries,
    )


@adjoint(np.linspace)
def linspace_rule(start, stop, *args, **kwargs):
    xp = xp_of(start, stop)
    y = xp.linspace(start, stop, *args, **kwargs)
    weights, axis, retstep, div, carries = _linspace_plan(start, stop, args, kwargs)

    def linspace_pullback(dy):
        if not carries:
            return (None, None) + (None,) * len(args)
        samples = dy[0] if retstep else dy
        dstart = dstop = None
        if samples is not None:
            dstop = xp.sum(samples * weights, axis=axis)
            dstart = xp.sum(samples, axis=axis) - dstop
        if retstep and dy[1] is not None and div > 0:
            dstep = dy[1] / div
            dstop = dstep if dstop is None else dstop + dstep
            dstart = -dstep if dstart is None else dstart - dstep
        grads = (_linspace_grad(dstart, start), _linspace_grad(dstop, stop))
        return grads + (None,) * len(args)

    return y, linspace_pullback


def _linspace_grad(g, value):
    if g is None:
        return None
    if isinstance(value, (list, tuple)):
        return unbroadcast(g, xp_of(g).empty(array_shape(value)))
    return unbroadcast(g, value)


linear_forward(np.linspace, ("start", "stop") + _LINSPACE, ("start", "stop"))


accept_array_likes(__name__)  # lists and tuples where NumPy reads arrays (rules/helpers.py)
