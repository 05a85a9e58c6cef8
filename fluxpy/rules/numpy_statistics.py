"""Rules: NumPy order statistics: ``ptp``, ``median``, ``quantile``, ``percentile``.

Each is piecewise linear in the input: the result is an entry of the sorted input, or (``method='linear'``,
NumPy's default) the interpolation ``(1 - f) s[lo] + f s[lo + 1]`` between two neighbours. The cotangent
goes to those entries (``1 - f`` and ``f``), found by a stable ``argsort`` (equal entries: the one NumPy's
sort puts there); ``q``'s is the slope ``(n - 1) (s[lo + 1] - s[lo])``. The pullbacks gather and scatter
with ruled helpers (``numpy_shape._gather``/``_scatter``), so they are differentiable again. ``ptp`` splits
the cotangent between tied maxima (and minima) as ``max`` and ``min`` do.

>>> import numpy as np, fluxpy as fx
>>> fx.gradient(np.median, np.array([3.0, 1.0, 2.0, 5.0]))
(array([0.5, 0. , 0.5, 0. ]),)
"""

import numpy as np

from ..backend import to_numpy, xp_of
from ..errors import FluxpyError
from .helpers import accept_array_likes, unbroadcast
from .numpy_reductions import _axes, _spread, _tie_share
from .numpy_shape import _gather, _scatter, array_shape, bind, normalize_axes
from .registry import adjoint, nograd

_PTP = ("axis", "out", "keepdims")
_MEDIAN = ("axis", "out", "overwrite_input", "keepdims")
_QUANTILE = ("axis", "out", "overwrite_input", "method", "keepdims")
METHOD_UNSUPPORTED = (
    "the gradient of np.{name}(..., method={method!r}) has no rule in fluxpy: only method='linear' (the "
    "default) has one"
)


# ---------------------------------------------------------------------------------------------------------
# ptp: max - min


@adjoint(np.ptp)
def ptp_rule(a, *args, **kwargs):
    xp = xp_of(a)
    y = xp.ptp(a, *args, **kwargs)
    shape = array_shape(a)
    axes = _axes("ptp", a, args, kwargs, _PTP)
    share = _tie_share(a, xp.max(a, axis=axes), axes) - _tie_share(a, xp.min(a, axis=axes), axes)

    def ptp_pullback(dy):
        return (_spread(dy, shape, axes) * share,) + (None,) * len(args)

    return y, ptp_pullback


# ---------------------------------------------------------------------------------------------------------
# median, quantile, percentile: the entries the result interpolates


@nograd
def _unsupported(name, opts):
    """Why the options of a call have no rule, or None."""
    if opts.get("method", "linear") != "linear":  # weights= needs method='inverted_cdf'
        return METHOD_UNSUPPORTED.format(name=name, method=opts.get("method"))
    return None


@nograd
def _refuse(why):
    raise FluxpyError(why)


@nograd
def _order_plan(a, q, scale, opts):
    """``(lo, hi, frac, out_shape, n)``: the flat positions in ``a`` of the two sorted entries each result
    interpolates between, shaped like the result (``q``'s shape first), the share ``frac`` of the upper one
    (shaped to broadcast against the result), the result's shape and the number of entries reduced."""
    xp = xp_of(a)
    values = xp.asarray(a)
    shape = values.shape
    axes = normalize_axes(opts.get("axis"), len(shape))
    kept = tuple(i for i in range(len(shape)) if i not in axes)
    n = int(np.prod([shape[i] for i in axes], dtype=np.int64))
    merged = tuple(shape[i] for i in kept) + (n,)
    positions = xp.reshape(xp.transpose(xp.reshape(xp.arange(values.size), shape), kept + axes), merged)
    order = xp.argsort(xp.reshape(xp.transpose(values, kept + axes), merged), axis=-1, kind="stable")
    ranked = xp.take_along_axis(positions, order, axis=-1)
    qs = np.asarray(0.5 if q is None else to_numpy(q), dtype=float) / scale
    index = qs * (n - 1)
    lo = np.clip(np.floor(index), 0, n - 1).astype(np.intp)
    hi = np.minimum(lo + 1, n - 1)
    if opts.get("keepdims"):
        rest = tuple(1 if i in axes else shape[i] for i in range(len(shape)))
    else:
        rest = merged[:-1]
    out_shape = qs.shape + rest
    lead = tuple(range(len(kept), len(kept) + qs.ndim))
    pick = [xp.moveaxis(ranked[..., xp.asarray(k)], lead, tuple(range(qs.ndim))) for k in (lo, hi)]
    frac = xp.asarray((index - lo).reshape(qs.shape + (1,) * len(rest)))
    return xp.reshape(pick[0], out_shape), xp.reshape(pick[1], out_shape), frac, out_shape, n


@nograd
def _frac_value(q, scale, n, frac):
    """``q (n - 1) / scale`` as the plan computed it, shaped like ``frac`` (so that ``f0 - frac`` is the
    index of the lower entry, a constant)."""
    if q is None:
        return frac
    return xp_of(frac).asarray((np.asarray(to_numpy(q), dtype=float) / scale * (n - 1)).reshape(frac.shape))


@nograd
def _rest_axes(q, out_shape):
    """The axes of a result that are not ``q``'s."""
    return tuple(range(len(np.shape(q)), len(out_shape)))


def _order_statistic(name, a, q, scale, opts, y):
    """``(y, pullback)`` of ``np.median``/``quantile``/``percentile`` with value ``y`` (``q`` in units of
    ``scale``: 1, or 100 for percentiles; None for the median); the pullback gives ``(da, dq)``."""
    xp = xp_of(a)
    shape = array_shape(a)
    why = _unsupported(name, opts)
    if why is not None:

        def unsupported_pullback(dy):
            return _refuse(why)

        return y, unsupported_pullback
    lo, hi, frac, out_shape, n = _order_plan(a, q, scale, opts)
    f0 = _frac_value(q, scale, n, frac)

    def order_statistic_pullback(dy):
        g = xp.broadcast_to(dy, out_shape)
        f = frac
        if q is not None:  # the share moves with q (a second derivative reads that)
            f = xp.reshape(xp.asarray(q) * ((n - 1) / scale), array_shape(frac)) - (f0 - frac)
        da = _scatter(g * (1 - f), lo, shape) + _scatter(g * f, hi, shape)
        if q is None:
            return da, None
        slope = g * ((_gather(a, hi) - _gather(a, lo)) * ((n - 1) / scale))
        dq = xp.sum(slope, axis=_rest_axes(q, out_shape))
        if hasattr(q, "shape"):
            return da, unbroadcast(dq, q)
        return da, dq if isinstance(q, (list, tuple)) else dq[()]

    return y, order_statistic_pullback


@adjoint(np.median)
def median_rule(a, *args, **kwargs):
    opts = bind("median", args, kwargs, _MEDIAN)
    y, back = _order_statistic("median", a, None, 1.0, opts, xp_of(a).median(a, *args, **kwargs))

    def median_pullback(dy):
        return (back(dy)[0],) + (None,) * len(args)

    return y, median_pullback


def _quantile_rule(name, scale):
    """The rule of ``np.quantile`` (``scale`` 1) or ``np.percentile`` (100): ``q`` gets a gradient too."""
    primal = getattr(np, name)

    def rule(a, q, *args, **kwargs):
        opts = bind(name, args, kwargs, _QUANTILE)
        y, back = _order_statistic(name, a, q, scale, opts, getattr(xp_of(a), name)(a, q, *args, **kwargs))

        def quantile_pullback(dy):
            return back(dy) + (None,) * len(args)

        return y, quantile_pullback

    rule.__name__ = f"{name}_rule"
    return adjoint(primal)(rule)


quantile_rule = _quantile_rule("quantile", 1.0)
percentile_rule = _quantile_rule("percentile", 100.0)


accept_array_likes(__name__)  # lists and tuples where NumPy reads arrays (rules/helpers.py)
