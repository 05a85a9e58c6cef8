"""Rules: NumPy reductions: sum, mean, prod, max/min, var/std, cumsum/cumprod, average, nan-reductions.

Every reduction takes ``axis`` (None, an int, a tuple, negative allowed), ``keepdims`` and ``dtype`` (passed
to the forward call; the pullback does not cast), positionally or by keyword, as a function or a method
(``x.sum(0)``). The pullback broadcasts the cotangent back over the reduced axes (:func:`_spread`).

``where=mask`` (a bool array or list that broadcasts against ``x``) has NumPy's meaning on ``sum``,
``mean``, ``prod``, ``max``/``min`` (with the ``initial=`` NumPy requires), ``var``/``std`` and the
nan-reductions: entries the mask leaves out count for nothing and get a zero gradient; a mean or variance
counts the entries kept in each slice (none kept: NumPy's NaN, with its warning, and no gradient). The
mask is a constant (:func:`_plan`), and a call without it takes the same path as before.

Choices:

- ``max``/``min`` split the cotangent evenly between tied entries.
- ``prod`` and ``cumprod`` never divide by the input: ``prod``'s gradient is the product of exclusive
  cumulative products from both sides, and ``cumprod``'s pullback is a linear recurrence
  (:func:`_linear_scan`), so both are exact with any number of zeros, and differentiable again.

>>> import numpy as np, fluxpy as fx
>>> fx.gradient(np.prod, np.array([2.0, 0.0, 3.0]))
(array([0., 6., 0.]),)
>>> fx.gradient(np.max, np.array([1.0, 3.0, 3.0]))
(array([0. , 0.5, 0.5]),)
>>> fx.gradient(lambda x: np.mean(x, where=[True, False, True]), np.array([1.0, 5.0, 2.0]))
(array([0.5, 0. , 0.5]),)
"""

import math

import numpy as np

from ..backend import is_array, xp_of
from ..tangents import KeywordGrads
from .helpers import accept_array_likes, conj, unbroadcast
from .numpy_shape import array_shape, bind, count_args, grads_first, normalize_axes, normalize_axis, place
from .registry import adjoint, nograd, register_method

_SUM = ("axis", "dtype", "out", "keepdims", "initial", "where")
_MEAN = ("axis", "dtype", "out", "keepdims")
_MAX = ("axis", "out", "keepdims", "initial", "where")
_VAR = ("axis", "dtype", "out", "ddof", "keepdims")
_CUMULATIVE = ("axis", "dtype", "out")
_AVERAGE = ("axis", "weights", "returned")


# ---------------------------------------------------------------------------------------------------------
# bookkeeping: never differentiated


@nograd
def _axes(name, x, args, kwargs, names):
    """The reduced axes of ``name(x, *args, **kwargs)``, a sorted tuple of non-negative ints (``where=``
    refused: for reductions without a mask, ``np.ptp``)."""
    return normalize_axes(bind(name, args, kwargs, names).get("axis"), len(array_shape(x)))


@nograd
def _plan(name, x, args, kwargs, names):
    """``(axes, mask)`` of ``name(x, *args, **kwargs)``: the reduced axes, a sorted tuple of non-negative
    ints, and the ``where=`` mask as a bool array of ``x``'s shape, or None when every entry counts."""
    opts = bind(name, args, kwargs, names, reads_where=True)
    shape = array_shape(x)
    return normalize_axes(opts.get("axis"), len(shape)), _mask_of(x, shape, opts.get("where", True))


@nograd
def _mask_of(x, shape, where):
    """``where`` broadcast to ``shape`` as a bool array in ``x``'s array module; None for every entry."""
    if where is True or where is np._NoValue:
        return None
    xp = xp_of(x)
    return xp.broadcast_to(xp.asarray(where, dtype=bool), shape)


@nograd
def _kept_shape(shape, axes):
    """``shape`` with the reduced ``axes`` set to 1 (the result's shape under ``keepdims=True``)."""
    return tuple(1 if i in axes else n for i, n in enumerate(shape))


@nograd
def _count(shape, axes):
    """How many entries each reduction over ``axes`` combines."""
    return int(np.prod([shape[i] for i in axes], dtype=np.int64))


@nograd
def _initial_position(args, kwargs, names):
    """Where a call's ``initial=`` is: its index in ``args`` (dispatch passes a float ``initial=`` by
    position, so that the pullback can give its gradient), ``"keyword"``, or None when not given."""
    k = names.index("initial")
    if len(args) > k:
        return None if args[k] is np._NoValue or args[k] is None else k
    given = kwargs.get("initial", np._NoValue)
    return None if given is np._NoValue or given is None else "keyword"


def _initial_value(args, kwargs, position):
    """The value of ``initial=`` at ``position`` (:func:`_initial_position`), read from the arguments
    themselves (not a nograd helper), so that second derivatives flow through it; None when not given."""
    if position is None:
        return None
    if position == "keyword":
        return kwargs["initial"]
    return args[position]


def _grads_initial(dx, dinitial, args, position):
    """The cotangents of a reduction ``f(x, *args)``: ``dx`` first, and ``dinitial`` at ``initial``'s place
    (by position, or in the trailing keyword gradients: the method ``x.sum(initial=c)``)."""
    if position is None:
        return grads_first(dx, args)
    if position == "keyword":
        return place((dx, KeywordGrads({"initial": dinitial})), (0, len(args) + 1), len(args) + 2)
    return place((dx, dinitial), (0, position + 1), len(args) + 1)


@nograd
def _variance_plan(name, x, args, kwargs):
    """``(axes, scale, mask)``: the reduced axes, ``1 / (N - ddof)`` (NaN when ``N - ddof <= 0``, where
    NumPy's result is not finite either) and the ``where=`` mask (None: every entry). With a mask, ``scale``
    is an array of ``x``'s shape: ``1 / (n - ddof)`` on the entries kept, ``n`` their count in the slice
    (NaN when ``n - ddof <= 0``), and 0 on the others."""
    opts = bind(name, args, kwargs, _VAR, reads_where=True)
    shape = array_shape(x)
    axes = normalize_axes(opts.get("axis"), len(shape))
    ddof = opts.get("correction", opts.get("ddof", 0))
    mask = _mask_of(x, shape, opts.get("where", True))
    if mask is None:
        dof = _count(shape, axes) - ddof
        return axes, (1.0 / dof if dof > 0 else float("nan")), None
    xp = xp_of(x)
    dof = xp.sum(mask, axis=axes, keepdims=True) - ddof
    scale = xp.where(dof > 0, 1.0 / xp.maximum(dof, 1), np.nan)
    return axes, xp.where(mask, scale, 0).astype(_real_like(x)), mask


@nograd
def _cumulative_plan(name, x, args, kwargs):
    """``(axis, shape)``: the scanned axis and the shape scanned (flattened when ``axis`` is None)."""
    axis = bind(name, args, kwargs, _CUMULATIVE).get("axis")
    shape = array_shape(x)
    if axis is None:
        return 0, (int(np.prod(shape, dtype=np.int64)),)
    return normalize_axis(axis, len(shape)), shape


@nograd
def _merge_plan(shape, axes):
    """How to bring the reduced ``axes`` last and merge them into one: ``(perm, inverse, merged, moved)``."""
    kept = [i for i in range(len(shape)) if i not in axes]
    perm = tuple(kept) + tuple(axes)
    merged = tuple(shape[i] for i in kept) + (_count(shape, axes),)
    moved = tuple(shape[i] for i in perm)
    return perm, tuple(np.argsort(perm).tolist()), merged, moved


@nograd
def _float_like(x):
    """The float dtype of the gradient of ``x``."""
    dtype = getattr(x, "dtype", None)
    return dtype if dtype is not None and dtype.kind in "fc" else np.dtype(np.float64)


@nograd
def _real_like(x):
    """The real float dtype of the gradient of ``x`` (float32 for float32 and complex64)."""
    return np.empty(0, _float_like(x)).real.dtype


@nograd
def _tie_share(x, y, axes, mask=None, initial=None):
    """Each entry's share of the cotangent of a max/min: 1/k on the k entries equal to the result (and kept
    by ``mask``), else 0. With ``initial=``, the pair ``(share, initial_share)``: the initial value is one
    more candidate, so it gets 1/k where it is the result (all of it where no entry is) and ties split
    between it and the entries as between entries; ``initial_share`` has the reduced axes kept."""
    xp = xp_of(x)
    x = xp.asarray(x)
    yk = xp.reshape(xp.asarray(y), _kept_shape(x.shape, axes))
    hit = x == yk
    if mask is not None:
        hit = hit & mask
    count = xp.sum(hit, axis=axes, keepdims=True)
    dtype = _float_like(x)
    if initial is None:
        return hit.astype(dtype) / xp.maximum(count, 1).astype(dtype)
    at_initial = yk == initial
    count = xp.maximum(count + at_initial, 1).astype(dtype)
    return hit.astype(dtype) / count, at_initial.astype(dtype) / count


@nograd
def _present_share(x, axes, mean, mask=None):
    """1 on entries that are not NaN (and kept by ``mask``), else 0; divided by the count of such entries in
    the slice when ``mean`` (none: the result is NaN, and the share 0)."""
    xp = xp_of(x)
    x = xp.asarray(x)
    present = ~xp.isnan(x)
    if mask is not None:
        present = present & mask
    dtype = _float_like(x)
    if not mean:
        return present.astype(dtype)
    count = xp.maximum(xp.sum(present, axis=axes, keepdims=True), 1)
    return present.astype(dtype) / count.astype(dtype)


@nograd
def _mask_share(x, mask, axes, mean):
    """1 on the entries ``mask`` keeps, else 0, in the real dtype of ``x``'s gradient; divided by the count
    of kept entries in the slice when ``mean`` (none kept: NumPy's mean is NaN, and the share 0)."""
    dtype = _real_like(x)
    if not mean:
        return mask.astype(dtype)
    count = xp_of(mask).maximum(xp_of(mask).sum(mask, axis=axes, keepdims=True), 1)
    return mask.astype(dtype) / count.astype(dtype)


@nograd
def _kept_count(x, mask, axes):
    """How many entries ``mask`` keeps in each slice over ``axes`` (at least 1), in the real dtype of ``x``'s
    gradient, the reduced axes kept."""
    xp = xp_of(mask)
    return xp.maximum(xp.sum(mask, axis=axes, keepdims=True), 1).astype(_real_like(x))


@nograd
def _average_plan(a, args, kwargs):
    """``(axes, weights, weights_position, returned, weights_shape)`` of ``np.average(a, ...)``."""
    opts = bind("average", args, kwargs, _AVERAGE)
    shape = array_shape(a)
    axes = normalize_axes(opts.get("axis"), len(shape))
    weights = opts.get("weights")
    position = 2 if len(args) >= 2 else None
    if weights is None:
        return axes, None, position, bool(opts.get("returned", False)), None
    wshape = array_shape(weights)
    if wshape != shape:  # 1-D weights along the single reduced axis
        wshape = tuple(n if i in axes else 1 for i, n in enumerate(shape))
    return axes, weights, position, bool(opts.get("returned", False)), wshape


# ---------------------------------------------------------------------------------------------------------
# differentiable helpers used by pullbacks


def _spread(dy, shape, axes):
    """The cotangent of a reduction over ``axes`` (kept or not) broadcast back to the input ``shape``."""
    xp = xp_of(dy)
    return spread(xp.reshape(dy, _kept_shape(shape, axes)), shape, xp)


_SMALL = 1 << 14  # below this many entries, a filled array is cheaper to make than a broadcast view


def spread(dy, shape, xp):
    """The cotangent ``dy`` of a reduction spread over the input's ``shape`` (``dy`` broadcasts to it): a
    fresh NumPy array when small (``full`` costs a fraction of ``broadcast_to``'s bookkeeping), a read-only
    broadcast view otherwise (no memory)."""
    if xp is np and math.prod(shape) <= _SMALL:
        return np.full(shape, dy)
    return xp.broadcast_to(xp.asarray(dy), shape)  # CuPy's broadcast_to takes device arrays only


@adjoint(spread)
def spread_rule(dy, shape, xp):
    def spread_pullback(d):
        return (unbroadcast(d, dy), None, None)

    return spread(dy, shape, xp), spread_pullback


def _centred(x, axes, mask, given_mean):
    """``x`` minus its mean over ``axes`` (NumPy's ``mean=`` where given: it need not be ``x``'s), 0 where
    ``mask`` is False: the deviations ``var``'s and ``std``'s pullbacks scale."""
    if given_mean is not None:
        centred = x - given_mean
        return centred if mask is None else xp_of(x).where(mask, centred, 0)
    if mask is None:
        return x - xp_of(x).mean(x, axis=axes, keepdims=True)
    return _masked_centred(x, mask, axes)


def _masked_centred(x, mask, axes):
    """``x`` minus the mean of the entries ``mask`` keeps in its slice over ``axes``, 0 where ``mask`` is
    False (whatever ``x`` holds there: NumPy never reads it)."""
    xp = xp_of(x)
    kept = xp.where(mask, x, 0)
    mean = xp.sum(kept, axis=axes, keepdims=True) / _kept_count(x, mask, axes)
    return xp.where(mask, kept - mean, 0)


def _reverse_cumsum(g, axis):
    """``g[i] + g[i+1] + ...`` along ``axis``: the adjoint of ``cumsum``."""
    xp = xp_of(g)
    return xp.flip(xp.cumsum(xp.flip(g, axis), axis=axis), axis)


def _prod_others(x, axes):
    """For each entry of ``x``, the product of the other entries of its reduction over ``axes``: the product
    of the exclusive cumulative products from the left and from the right, exact with zeros."""
    xp = xp_of(x)
    perm, inverse, merged, moved = _merge_plan(array_shape(x), axes)
    z = xp.reshape(xp.transpose(x, perm), merged)
    left = _shift(xp.cumprod(z, axis=-1), -1, 1, 1)
    right = xp.flip(_shift(xp.cumprod(xp.flip(z, -1), axis=-1), -1, 1, 1), -1)
    return xp.transpose(xp.reshape(left * right, moved), inverse)


def _shift(x, axis, k, fill):
    """``x`` moved by ``k = ±1`` along ``axis``: ``y[i] = x[i - k]``, the vacated entry set to the constant
    ``fill`` (no gradient)."""
    xp = xp_of(x)
    x = xp.asarray(x)
    out = xp.full_like(x, fill)
    n = x.shape[axis]
    src = [slice(None)] * x.ndim
    dst = [slice(None)] * x.ndim
    src[axis] = slice(0, n - 1) if k > 0 else slice(1, n)
    dst[axis] = slice(1, n) if k > 0 else slice(0, n - 1)
    out[tuple(dst)] = x[tuple(src)]
    return out


@adjoint(_shift)
def shift_rule(x, axis, k, fill):
    def shift_pullback(dy):
        return (_shift(dy, axis, -k, 0), None, None, None)

    return _shift(x, axis, k, fill), shift_pullback


def _linear_scan(b, a, axis, reverse):
    """The linear recurrence ``t[i] = b[i] + a[i] * t[i-1]`` along ``axis`` (``t[i+1]`` when ``reverse``),
    starting from zero, in log2(n) vectorized steps (Hillis-Steele scan of affine maps)."""
    xp = xp_of(b, a)
    b, a = xp.broadcast_arrays(xp.asarray(b), xp.asarray(a))
    dtype = xp.result_type(b, a)
    t = xp.moveaxis(b, axis, -1).astype(dtype)
    c = xp.moveaxis(a, axis, -1).astype(dtype)
    if reverse:
        t, c = t[..., ::-1], c[..., ::-1]
    step = 1
    while step < t.shape[-1]:
        t_next, c_next = t.copy(), c.copy()
        t_next[..., step:] = t[..., step:] + c[..., step:] * t[..., :-step]
        c_next[..., step:] = c[..., step:] * c[..., :-step]
        t, c = t_next, c_next
        step *= 2
    if reverse:
        t = t[..., ::-1]
    return xp.moveaxis(t, -1, axis)


@nograd
def _scan_plan(reverse):
    """``(step, back_reverse)``: the shift that aligns ``t[i-1]`` (``t[i+1]`` when ``reverse``) with ``t[i]``,
    and the direction of the adjoint scan (the opposite one)."""
    return (-1 if reverse else 1), not reverse


@adjoint(_linear_scan)
def linear_scan_rule(b, a, axis, reverse):
    t = _linear_scan(b, a, axis, reverse)
    step, back_reverse = _scan_plan(reverse)

    def linear_scan_pullback(dt):
        # the adjoint scan runs the other way: u[k] = dt[k] + a[k+1] * u[k+1] (forward case)
        # complex: the coefficients enter conjugated (see helpers.conj)
        u = _linear_scan(dt, conj(_shift(a, axis, -step, 0)), axis, back_reverse)
        return (u, u * conj(_shift(t, axis, step, 0)), None, None)

    return t, linear_scan_pullback


# ---------------------------------------------------------------------------------------------------------
# sum, mean, prod


def _masked(y, shape, axes, share, args):
    """``(y, pullback)`` of a mean with ``where=``: the pullback spreads ``dy`` over the reduced ``axes``
    times the constant ``share`` of each entry (:func:`_mask_share`)."""

    def masked_pullback(dy):
        return grads_first(_spread(dy, shape, axes) * share, args)

    return y, masked_pullback


def _summed(y, x, axes, share, args, kwargs, names):
    """``(y, pullback)`` of a sum (``np.sum``, ``np.nansum``) with options: ``dy`` spread over the reduced
    ``axes`` (times the constant ``share`` of each entry: the ``where=`` mask, the entries not NaN; None:
    all count), and ``initial=``, added to every result, gets the sum of ``dy``."""
    shape = array_shape(x)
    position = _initial_position(args, kwargs, names)
    initial = _initial_value(args, kwargs, position)

    def sum_pullback(dy):
        dx = _spread(dy, shape, axes)
        if share is not None:
            dx = dx * share
        return _grads_initial(dx, None if initial is None else unbroadcast(dy, initial), args, position)

    return y, sum_pullback


@adjoint(np.sum)
def sum_rule(x, *args, **kwargs):
    if not args and not kwargs:  # the whole array: no options to read
        if type(x) is np.ndarray:  # the commonest case, without the generic lookups
            xp, shape, y = np, x.shape, x.sum()
        else:
            xp, shape = xp_of(x), array_shape(x)
            y = x.sum() if is_array(x) else xp.sum(x)

        def sum_all_pullback(dy):
            return (spread(dy, shape, xp),)

        return y, sum_all_pullback
    axes, mask = _plan("sum", x, args, kwargs, _SUM)
    share = None if mask is None else _mask_share(x, mask, axes, False)
    return _summed(xp_of(x).sum(x, *args, **kwargs), x, axes, share, args, kwargs, _SUM)


register_method("sum", sum_rule)


@adjoint(np.mean)
def mean_rule(x, *args, **kwargs):
    xp = xp_of(x)
    shape = array_shape(x)
    axes, mask = _plan("mean", x, args, kwargs, _MEAN)
    if mask is not None:  # NumPy's NaN (and warning) where no entry is kept: a share of 0 there
        return _masked(xp.mean(x, *args, **kwargs), shape, axes, _mask_share(x, mask, axes, True), args)
    n = _count(shape, axes)

    def mean_pullback(dy):
        return grads_first(_spread(dy, shape, axes) / n, args)

    return xp.mean(x, *args, **kwargs), mean_pullback


register_method("mean", mean_rule)


def _multiplied(y, x, axes, kept, args, kwargs):
    """``(y, pullback)`` of a product (``np.prod``, ``np.nanprod``) with options: ``kept`` (a constant bool
    array, or None for every entry) marks the entries in the product, the others being 1s. Each entry
    gets ``dy`` times the product of the others (:func:`_prod_others`, exact with zeros) times
    ``initial=``, and ``initial`` the sum of ``dy`` times the product of the entries."""
    xp = xp_of(x)
    shape = array_shape(x)
    position = _initial_position(args, kwargs, _SUM)
    initial = _initial_value(args, kwargs, position)

    def prod_pullback(dy):
        factors = x if kept is None else xp.where(kept, x, 1)
        g = _spread(dy, shape, axes) * conj(_prod_others(factors, axes))
        if kept is not None:  # the entries left out are 1s: no part of the product, no gradient
            g = g * kept
        if initial is None:
            return grads_first(g, args)
        product = xp.prod(factors, axis=axes, keepdims=True)
        dinitial = unbroadcast(xp.reshape(dy, _kept_shape(shape, axes)) * conj(product), initial)
        return _grads_initial(g * conj(initial), dinitial, args, position)

    return y, prod_pullback


@adjoint(np.prod)
def prod_rule(x, *args, **kwargs):
    axes, mask = _plan("prod", x, args, kwargs, _SUM)
    return _multiplied(xp_of(x).prod(x, *args, **kwargs), x, axes, mask, args, kwargs)


register_method("prod", prod_rule)


# ---------------------------------------------------------------------------------------------------------
# max and min: ties split evenly


def _extremum(name, x, args, kwargs):
    """``(y, pullback)`` of ``np.<name>(x, *args, **kwargs)``, a max or min (NaN-ignoring or not): the
    cotangent goes to the entries equal to the result, split evenly at a tie, and to ``initial=`` where it
    is the result (one more candidate in a tie: :func:`_tie_share`)."""
    xp = xp_of(x)
    shape = array_shape(x)
    axes, mask = _plan(name, x, args, kwargs, _MAX)
    y = getattr(xp, name)(x, *args, **kwargs)
    position = _initial_position(args, kwargs, _MAX)
    initial = _initial_value(args, kwargs, position)
    if initial is None:
        share = _tie_share(x, y, axes, mask)

        def extremum_pullback(dy):
            return grads_first(_spread(dy, shape, axes) * share, args)

        return y, extremum_pullback
    share, initial_share = _tie_share(x, y, axes, mask, initial)

    def extremum_initial_pullback(dy):
        dinitial = unbroadcast(xp.reshape(dy, _kept_shape(shape, axes)) * initial_share, initial)
        return _grads_initial(_spread(dy, shape, axes) * share, dinitial, args, position)

    return y, extremum_initial_pullback


@adjoint(np.max, np.amax)
def max_rule(x, *args, **kwargs):
    return _extremum("max", x, args, kwargs)


register_method("max", max_rule)


@adjoint(np.min, np.amin)
def min_rule(x, *args, **kwargs):
    return _extremum("min", x, args, kwargs)


register_method("min", min_rule)


# ---------------------------------------------------------------------------------------------------------
# var and std (ddof / correction)


def _real_part(dy, x):
    """The cotangent ``dy`` of a real result computed from a complex ``x`` (a variance, a norm): its real
    part, the imaginary part not being its own. For a real ``x``, ``dy`` itself."""
    if _complex_dtype(x):
        return xp_of(dy).real(dy)
    return dy


@nograd
def _complex_dtype(x):
    return type(x) is complex or getattr(getattr(x, "dtype", None), "kind", None) == "c"


@adjoint(np.var)
def var_rule(x, *args, **kwargs):
    xp = xp_of(x)
    shape = array_shape(x)
    axes, scale, mask = _variance_plan("var", x, args, kwargs)
    given_mean = kwargs.get("mean")  # (its own gradient is refused: runtime's keyword check)

    def var_pullback(dy):
        centred = _centred(x, axes, mask, given_mean)
        return grads_first(_spread(_real_part(dy, x), shape, axes) * centred * (2 * scale), args)

    return xp.var(x, *args, **kwargs), var_pullback


register_method("var", var_rule)


@adjoint(np.std)
def std_rule(x, *args, **kwargs):
    xp = xp_of(x)
    shape = array_shape(x)
    axes, scale, mask = _variance_plan("std", x, args, kwargs)
    given_mean = kwargs.get("mean")  # (its own gradient is refused: runtime's keyword check)
    y = xp.std(x, *args, **kwargs)

    def std_pullback(dy):
        centred = _centred(x, axes, mask, given_mean)
        yk = xp.reshape(y, _kept_shape(shape, axes))
        safe = xp.where(yk > 0, yk, 1)
        return grads_first(_spread(_real_part(dy, x), shape, axes) * centred * (scale / safe), args)

    return y, std_pullback


register_method("std", std_rule)


# ---------------------------------------------------------------------------------------------------------
# cumulative sum and product


@adjoint(np.cumsum)
def cumsum_rule(x, *args, **kwargs):
    xp = xp_of(x)
    shape = array_shape(x)
    axis, _ = _cumulative_plan("cumsum", x, args, kwargs)

    def cumsum_pullback(dy):
        return grads_first(xp.reshape(_reverse_cumsum(dy, axis), shape), args)

    return xp.cumsum(x, *args, **kwargs), cumsum_pullback


register_method("cumsum", cumsum_rule)


@adjoint(np.cumprod)
def cumprod_rule(x, *args, **kwargs):
    xp = xp_of(x)
    shape = array_shape(x)
    axis, scanned = _cumulative_plan("cumprod", x, args, kwargs)
    y = xp.cumprod(x, *args, **kwargs)

    def cumprod_pullback(dy):
        # dx[k] = prod(x[:k]) * sum_{i>=k} dy[i] * prod(x[k+1:i+1]); the sum is a reverse linear scan
        z = conj(xp.reshape(x, scanned))
        later = _linear_scan(dy, _shift(z, axis, -1, 0), axis, True)
        return grads_first(xp.reshape(conj(_shift(y, axis, 1, 1)) * later, shape), args)

    return y, cumprod_pullback


register_method("cumprod", cumprod_rule)


# ---------------------------------------------------------------------------------------------------------
# average (weights get a gradient when passed positionally), nan-reductions


@adjoint(np.average)
def average_rule(a, *args, **kwargs):
    xp = xp_of(a)
    shape = array_shape(a)
    axes, weights, position, returned, wshape = _average_plan(a, args, kwargs)
    if position is not None:
        # take the weights from the arguments, not from the nograd plan: second derivatives flow through them
        weights = args[position - 1]
    kept = _kept_shape(shape, axes)
    count = _count(shape, axes)
    n = count_args(args)
    y = xp.average(a, *args, **kwargs)
    avg = y
    if returned:
        avg = y[0]

    def average_pullback(dy):
        g = dy
        gsum = None
        if returned:
            g = dy[0]
            gsum = dy[1]
        if weights is None:
            if g is None:
                return grads_first(None, args)
            return grads_first(_spread(g, shape, axes) / count, args)
        w = xp.reshape(weights, wshape)
        da = None
        dw = None
        if g is not None:
            # complex: the cotangents read the conjugates of w / sum(w) and (a - average) / sum(w)
            gk = _spread(g, shape, axes) / conj(xp.sum(xp.broadcast_to(w, shape), axis=axes, keepdims=True))
            da = gk * conj(w)
            dw = xp.reshape(unbroadcast(gk * conj(a - xp.reshape(avg, kept)), w), array_shape(weights))
        if gsum is not None:
            dsum = xp.reshape(unbroadcast(_spread(gsum, shape, axes), w), array_shape(weights))
            if dw is None:
                dw = dsum
            else:
                dw = dw + dsum
        if position is None:
            return grads_first(da, args)
        return place((da, dw), (0, position), n)

    return y, average_pullback


@adjoint(np.nansum)
def nansum_rule(x, *args, **kwargs):
    axes, mask = _plan("nansum", x, args, kwargs, _SUM)
    share = _present_share(x, axes, False, mask)
    return _summed(xp_of(x).nansum(x, *args, **kwargs), x, axes, share, args, kwargs, _SUM)


@adjoint(np.nanmean)
def nanmean_rule(x, *args, **kwargs):
    xp = xp_of(x)
    shape = array_shape(x)
    axes, mask = _plan("nanmean", x, args, kwargs, _MEAN)
    share = _present_share(x, axes, True, mask)

    def nanmean_pullback(dy):
        return grads_first(_spread(dy, shape, axes) * share, args)

    return xp.nanmean(x, *args, **kwargs), nanmean_pullback


@adjoint(np.nanmax)
def nanmax_rule(x, *args, **kwargs):
    return _extremum("nanmax", x, args, kwargs)


@adjoint(np.nanmin)
def nanmin_rule(x, *args, **kwargs):
    return _extremum("nanmin", x, args, kwargs)


@adjoint(np.nanprod)
def nanprod_rule(x, *args, **kwargs):
    axes, mask = _plan("nanprod", x, args, kwargs, _SUM)
    present = _present_share(x, axes, False, mask) > 0
    return _multiplied(xp_of(x).nanprod(x, *args, **kwargs), x, axes, present, args, kwargs)


# ---------------------------------------------------------------------------------------------------------
# no derivative: positions, counts, truth values


nograd(
    np.argmax, np.argmin, np.nanargmax, np.nanargmin, np.argsort, np.argpartition, np.count_nonzero,
    np.any, np.all, np.nonzero, np.flatnonzero, np.argwhere, np.searchsorted,
)  # fmt: skip


def _nograd_method(name):
    """The rule of array method ``name`` whose result carries no gradient."""

    def nograd_method_rule(self, *args, **kwargs):
        def nograd_method_pullback(dy):
            return grads_first(None, args)

        return getattr(self, name)(*args, **kwargs), nograd_method_pullback

    return nograd_method_rule


for _name in ("argmax", "argmin", "argsort", "argpartition", "nonzero", "any", "all", "searchsorted"):
    register_method(_name, _nograd_method(_name))


accept_array_likes(__name__)  # lists and tuples where NumPy reads arrays (rules/helpers.py)
