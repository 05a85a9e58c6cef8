"""Rules: NumPy's NaN-ignoring statistics beyond ``nansum``/``nanmean``/``nanmax``/``nanmin``/``nanprod``
(rules/numpy_reductions.py): ``nanvar``, ``nanstd``, ``nancumsum``, ``nancumprod``, ``nanmedian``,
``nanquantile``, ``nanpercentile``.

As in the other nan-reductions, a NaN entry gets a zero gradient, and so does every entry of a slice whose
result is NaN (all entries NaN, or no degrees of freedom left): NumPy's value there does not move.

- ``nanvar``/``nanstd``, ``nancumsum``/``nancumprod`` are their own computations (NumPy's steps over ruled
  operations, as rules/numpy_implemented.py's): NaN entries replaced by ``np.where`` (0, or 1 for the
  product), so gradients of any order and forward mode come from the transformer. ``nanvar``/``nanstd``
  take ``where=`` as NumPy does (its sums take it, and entries left out are zeros as NaN entries are).
  ``nanstd``'s gradient is zero where the deviation is (a slice of equal entries), as ``np.std``'s.
- ``nanmedian``/``nanquantile``/``nanpercentile`` interpolate between two sorted non-NaN entries of each
  slice, as ``np.median``'s rule (rules/numpy_statistics.py), with ``n`` the slice's count of non-NaN
  entries; only ``method='linear'`` (the default) has a rule.

>>> import numpy as np, fluxpy as fx
>>> fx.gradient(np.nanvar, np.array([1.0, np.nan, 3.0]))
(array([-1.,  0.,  1.]),)
>>> fx.gradient(np.nanmedian, np.array([4.0, np.nan, 1.0, 2.0]))
(array([0., 0., 0., 1.]),)
"""

import warnings

import numpy as np

from ..backend import to_numpy, xp_of
from ..errors import FluxpyError
from .helpers import accept_array_likes, unbroadcast
from .numpy_assembly import device_call
from .numpy_implemented import implemented
from .numpy_shape import _gather, _scatter, array_shape, bind, normalize_axes
from .numpy_statistics import _unsupported
from .registry import adjoint, nograd

OUT_UNSUPPORTED = (
    "np.{name}(..., out=...) writes into an existing array, which fluxpy cannot differentiate; drop out= and "
    "use the returned array"
)
_QUANTILE = ("axis", "out", "overwrite_input", "method", "keepdims")
_MEDIAN = ("axis", "out", "overwrite_input", "keepdims")


# ---------------------------------------------------------------------------------------------------------
# bookkeeping: never differentiated


@nograd
def _refuse_options(name, out):
    if out is not None:
        raise FluxpyError(OUT_UNSUPPORTED.format(name=name))


@nograd
def _nan_mask(a):
    """NumPy's ``_replace_nan`` mask: where ``a`` is NaN, or None for a dtype that holds no NaN."""
    if a.dtype.kind not in "fc":
        return None
    return xp_of(a).isnan(a)


@nograd
def _given(**options):
    """The options that were passed (NumPy's ``np._NoValue`` marks those that were not)."""
    return {k: v for k, v in options.items() if v is not np._NoValue}


@nograd
def _variance_options(dtype, ddof, correction):
    """``ddof`` as NumPy settles it (``correction`` is its other name), after NumPy's checks of ``dtype``."""
    if dtype is not None and not issubclass(np.dtype(dtype).type, np.inexact):
        raise TypeError("If a is inexact, then dtype must be inexact")
    if correction is not np._NoValue:
        if ddof != 0:
            raise ValueError("ddof and correction can't be provided simultaneously.")
        return correction
    return ddof


@nograd
def _present_count(mask, axis):
    """How many entries of each slice are not NaN (nor left out by ``where=``: see :func:`_skipped`), with
    the reduced axes kept (NumPy's ``cnt``)."""
    return xp_of(mask).sum(~mask, axis=axis, dtype=np.intp, keepdims=True)


@nograd
def _skipped(mask, where):
    """The entries a NaN-ignoring reduction skips: NaN ones (``mask``) and those ``where=`` leaves out."""
    if where is np._NoValue or where is True:
        return mask
    xp = xp_of(mask)
    return mask | ~xp.broadcast_to(xp.asarray(where, dtype=bool), mask.shape)


@nograd
def _degrees_of_freedom(cnt, var, axis, ddof):
    """``(dof, bad)``: NumPy's ``cnt - ddof`` shaped like the variance ``var``, and where it is not positive
    (None when nowhere; NumPy warns then, and the variance is NaN there)."""
    if np.ndim(var) < cnt.ndim:
        cnt = cnt.squeeze(axis)
    dof = cnt - ddof
    bad = dof <= 0
    if not bool(bad.any()):
        return dof, None
    warnings.warn("Degrees of freedom <= 0 for slice.", RuntimeWarning, stacklevel=5)
    return xp_of(dof).where(bad, 1, dof), bad


@nograd
def _cast_needed(value, dtype):
    """NumPy's ``casting='unsafe'`` outputs: True when ``value`` is not already of ``dtype``."""
    return getattr(value, "dtype", dtype) != dtype


def _divide_by_count(a, b):
    """NumPy's ``_divide_by_count``: ``a / b`` in ``a``'s dtype (``b`` is positive here)."""
    out = a / b
    if _cast_needed(out, a.dtype):
        out = out.astype(a.dtype)
    return out


# ---------------------------------------------------------------------------------------------------------
# nanvar, nanstd: NumPy's steps, NaN entries replaced by zeros


@implemented(np.nanvar)
def nanvar_impl(
    a,
    axis=None,
    dtype=None,
    out=None,
    ddof=0,
    keepdims=np._NoValue,
    *,
    where=np._NoValue,
    mean=np._NoValue,
    correction=np._NoValue,
):
    """``np.nanvar``: the squared deviations of the non-NaN entries (kept by ``where=``) from their mean,
    summed and divided by ``count - ddof``; a slice with no degrees of freedom left is NaN (and gets no
    gradient)."""
    _refuse_options("nanvar", out)
    xp = xp_of(a)
    arr = xp.asanyarray(a)
    mask = _nan_mask(arr)
    if mask is None and mean is np._NoValue:  # no NaN possible: NumPy's np.var
        options = _given(keepdims=keepdims, correction=correction, where=where)
        return np.var(arr, axis=axis, dtype=dtype, ddof=ddof, **options)
    if mask is None:  # a given mean (which _given, being non-differentiable, would pass as a constant)
        mask = xp.zeros(arr.shape, dtype=bool)
    ddof = _variance_options(dtype, ddof, correction)
    mask = _skipped(mask, where)  # entries left out are zeros too: none reaches a sum or a gradient
    masked = _given(where=where)  # NumPy's sums take where= too: the same values to the last bit
    cnt = _present_count(mask, axis)
    arr = xp.where(mask, 0, arr)
    if mean is not np._NoValue:
        avg = mean
    else:
        avg = np.sum(arr, axis=axis, dtype=dtype, keepdims=True, **masked)
        avg = _divide_by_count(avg, xp.maximum(cnt, 1))  # an all-NaN slice: a mean nothing reads
    dev = arr - avg
    if arr.dtype.kind in "fc" and _cast_needed(dev, arr.dtype):  # (integers: np.var's steps, no cast)
        dev = dev.astype(arr.dtype)
    dev = xp.where(mask, 0, dev)
    if dev.dtype.kind == "c":
        sqr = np.real(dev * np.conj(dev))
    else:
        sqr = dev * dev
    var = np.sum(sqr, axis=axis, dtype=dtype, **_given(keepdims=keepdims, where=where))
    dof, bad = _degrees_of_freedom(cnt, var, axis, ddof)
    var = _divide_by_count(var, dof)
    if bad is not None:
        var = xp.where(bad, np.nan, var)
        if var.ndim == 0:  # NumPy's full reductions give scalars
            var = var[()]
    return var


def _root(var):
    """``np.sqrt(var)``, its gradient zero where ``var`` is (a slice of equal entries), as ``np.std``'s."""
    return np.sqrt(var)


@adjoint(_root)
def root_rule(var):
    xp = xp_of(var)
    y = np.sqrt(var)

    def root_pullback(dy):
        positive = y > 0
        return (xp.where(positive, dy, 0) * 0.5 / xp.where(positive, y, 1),)

    return y, root_pullback


@implemented(np.nanstd)
def nanstd_impl(
    a,
    axis=None,
    dtype=None,
    out=None,
    ddof=0,
    keepdims=np._NoValue,
    *,
    where=np._NoValue,
    mean=np._NoValue,
    correction=np._NoValue,
):
    """``np.nanstd``: the square root of ``np.nanvar``."""
    _refuse_options("nanstd", out)
    options = _given(keepdims=keepdims, correction=correction, where=where)
    if mean is np._NoValue:
        var = np.nanvar(a, axis=axis, dtype=dtype, ddof=ddof, **options)
    else:  # passed itself, not through _given (non-differentiable: mean would get no gradient)
        var = np.nanvar(a, axis=axis, dtype=dtype, ddof=ddof, mean=mean, **options)
    return _root(var)


# ---------------------------------------------------------------------------------------------------------
# nancumsum, nancumprod: NaN entries replaced by the identity


@implemented(np.nancumsum)
def nancumsum_impl(a, axis=None, dtype=None, out=None):
    """``np.nancumsum``: ``np.cumsum`` with NaN entries read as 0."""
    _refuse_options("nancumsum", out)
    a = xp_of(a).asanyarray(a)
    mask = _nan_mask(a)
    if mask is not None:
        a = xp_of(a).where(mask, 0, a)
    return np.cumsum(a, axis=axis, dtype=dtype)


@implemented(np.nancumprod)
def nancumprod_impl(a, axis=None, dtype=None, out=None):
    """``np.nancumprod``: ``np.cumprod`` with NaN entries read as 1."""
    _refuse_options("nancumprod", out)
    a = xp_of(a).asanyarray(a)
    mask = _nan_mask(a)
    if mask is not None:
        a = xp_of(a).where(mask, 1, a)
    return np.cumprod(a, axis=axis, dtype=dtype)


# ---------------------------------------------------------------------------------------------------------
# nanmedian, nanquantile, nanpercentile: the two non-NaN entries each result interpolates


@nograd
def _keepdims(opts):
    keep = opts.get("keepdims", False)
    return False if keep is np._NoValue else bool(keep)


@nograd
def _nan_order_plan(a, q, scale, opts):
    """The plan of a NaN-ignoring order statistic of ``a`` (``q`` in units of ``scale``; None: the median),
    each entry shaped like the result (``q``'s shape first): ``lo``, ``hi``: the flat positions in ``a`` of
    the sorted non-NaN entries the result interpolates between; ``frac``: the share of ``hi``; ``base``:
    ``q (n - 1) / scale - frac`` (the lower rank, a constant); ``count``: ``n - 1`` with ``n`` the slice's
    count of non-NaN entries; ``ok``: where that count is positive; ``present``: where ``a`` is not NaN;
    ``rest``: the result's axes that are not ``q``'s."""
    xp = xp_of(a)
    values = xp.asarray(a)
    shape = values.shape
    axes = normalize_axes(opts.get("axis"), len(shape))
    kept = tuple(i for i in range(len(shape)) if i not in axes)
    n = int(np.prod([shape[i] for i in axes], dtype=np.int64))
    merged = tuple(shape[i] for i in kept) + (n,)
    moved = xp.reshape(xp.transpose(values, kept + axes), merged)
    positions = xp.reshape(xp.transpose(xp.reshape(xp.arange(values.size), shape), kept + axes), merged)
    ranked = xp.take_along_axis(positions, xp.argsort(moved, axis=-1, kind="stable"), axis=-1)  # NaN last
    present = ~xp.isnan(values)
    valid = xp.sum(~xp.isnan(moved), axis=-1)
    qs = np.asarray(0.5 if q is None else to_numpy(q), dtype=float) / scale
    lead = qs.shape
    slices = merged[:-1]
    top = xp.maximum(valid - 1, 0)
    index = xp.asarray(qs.reshape(lead + (1,) * len(slices))) * (valid - 1)
    lo = xp.minimum(xp.maximum(xp.floor(index), 0), top).astype(np.intp)
    hi = xp.minimum(lo + 1, top)
    frac = index - lo
    ranked = xp.broadcast_to(ranked, lead + merged)
    picks = [xp.take_along_axis(ranked, k[..., None], axis=-1)[..., 0] for k in (lo, hi)]
    rest = tuple(1 if i in axes else shape[i] for i in range(len(shape))) if _keepdims(opts) else slices
    out_shape = lead + rest
    count = xp.reshape((valid - 1).astype(float), (1,) * len(lead) + rest)
    ok = xp.reshape(xp.broadcast_to(valid > 0, lead + slices), out_shape)
    return {
        "lo": xp.reshape(picks[0], out_shape),
        "hi": xp.reshape(picks[1], out_shape),
        "frac": xp.reshape(frac, out_shape),
        "base": xp.reshape(lo.astype(float), out_shape),
        "count": count,
        "ok": ok,
        "present": present,
        "out_shape": out_shape,
        "rest": tuple(range(len(lead), len(out_shape))),
        "q_shape": lead + (1,) * len(rest),
    }


@nograd
def _refuse(why):
    raise FluxpyError(why)


def _nan_order_statistic(name, a, q, scale, opts, y):
    """``(y, pullback)`` of ``np.nanmedian``/``nanquantile``/``nanpercentile`` with value ``y``; the
    pullback gives ``(da, dq)``."""
    xp = xp_of(a)
    shape = array_shape(a)
    why = _unsupported(name, opts)
    if why is not None:

        def unsupported_pullback(dy):
            return _refuse(why)

        return y, unsupported_pullback
    if int(np.prod(shape, dtype=np.int64)) == 0:

        def empty_pullback(dy):
            return xp.zeros(shape), None if q is None else unbroadcast(xp.zeros(array_shape(q)), q)

        return y, empty_pullback
    plan = _nan_order_plan(a, q, scale, opts)

    def nan_order_statistic_pullback(dy):
        g = xp.where(plan["ok"], xp.broadcast_to(dy, plan["out_shape"]), 0)
        f = plan["frac"]
        if q is not None:  # the share moves with q (a second derivative reads that)
            f = xp.reshape(xp.asarray(q), plan["q_shape"]) * (plan["count"] / scale) - plan["base"]
        da = _scatter(g * (1 - f), plan["lo"], shape) + _scatter(g * f, plan["hi"], shape)
        if q is None:
            return da, None
        filled = xp.where(plan["present"], xp.asarray(a), 0)
        step = _gather(filled, plan["hi"]) - _gather(filled, plan["lo"])
        dq = xp.sum(g * (step * (plan["count"] / scale)), axis=plan["rest"])
        if hasattr(q, "shape"):
            return da, unbroadcast(dq, q)
        return da, dq if isinstance(q, (list, tuple)) else dq[()]

    return y, nan_order_statistic_pullback


@adjoint(np.nanmedian)
def nanmedian_rule(a, *args, **kwargs):
    opts = bind("nanmedian", args, kwargs, _MEDIAN)
    y = device_call(xp_of(a), "nanmedian", a, *args, **kwargs)
    y, back = _nan_order_statistic("nanmedian", a, None, 1.0, opts, y)

    def nanmedian_pullback(dy):
        return (back(dy)[0],) + (None,) * len(args)

    return y, nanmedian_pullback


def _nan_quantile_rule(name, scale):
    """The rule of ``np.nanquantile`` (``scale`` 1) or ``np.nanpercentile`` (100): ``q`` gets a gradient
    too."""
    primal = getattr(np, name)

    def rule(a, q, *args, **kwargs):
        opts = bind(name, args, kwargs, _QUANTILE)
        y = device_call(xp_of(a), name, a, q, *args, **kwargs)
        y, back = _nan_order_statistic(name, a, q, scale, opts, y)

        def nan_quantile_pullback(dy):
            return back(dy) + (None,) * len(args)

        return y, nan_quantile_pullback

    rule.__name__ = f"{name}_rule"
    return adjoint(primal)(rule)


nanquantile_rule = _nan_quantile_rule("nanquantile", 1.0)
nanpercentile_rule = _nan_quantile_rule("nanpercentile", 100.0)


accept_array_likes(__name__)  # lists and tuples where NumPy reads arrays (rules/helpers.py)
