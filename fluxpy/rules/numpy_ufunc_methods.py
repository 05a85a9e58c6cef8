"""Rules for the ``reduce`` and ``accumulate`` methods of NumPy's arithmetic ufuncs.

``np.add.reduce(x, axis)`` is ``np.sum``, ``np.maximum.accumulate(x)`` a running maximum. The sums and
products go to the functions with rules (``np.sum``, ``np.cumsum``, ...); a running maximum or minimum is
a loop of ``np.maximum`` (``np.minimum``) along the axis, whose rules split a tie evenly between the running
value and the new entry. The transformer differentiates these implementations as any Python function.

``np.logaddexp.reduce`` (a stable log-sum-exp) and ``np.logaddexp.accumulate`` (and their base-2 forms) have
rules: the value is NumPy's own, and the pullback never exponentiates anything but a difference that is at
most zero, so it is stable for any magnitude (see :func:`logaddexp_accumulate_rule`).

>>> import numpy as np, fluxpy as fx
>>> fx.gradient(lambda x: np.sum(np.maximum.accumulate(x)), np.array([1.0, 3.0, 2.0, 5.0]))[0]
array([1., 2., 0., 1.])
>>> fx.gradient(np.logaddexp.reduce, np.array([1000.0, 1000.0]))[0]
array([0.5, 0.5])
"""

import numpy as np

from ..backend import xp_of
from ..errors import FluxpyError
from .helpers import takes_array_likes
from .higher_order import implemented_by
from .numpy_reductions import _linear_scan, _shift
from .numpy_shape import bind, grads_first, normalize_axes, normalize_axis
from .registry import nograd, register


def _options(ufunc, method, dtype, out):
    if out is not None:
        raise FluxpyError(
            f"np.{ufunc.__name__}.{method}(..., out=...) writes in place; use its result instead"
        )
    return dtype


@nograd
def _given(ufunc, out, initial, where):
    """The ``where=`` of ``ufunc.reduce`` as keywords for the reduction function that computes it, only
    where given (NumPy's own error stands for ``where=`` without ``initial=`` on ``maximum``/``minimum``),
    and whether ``initial=`` was given: its value is passed on by :func:`_reduce`, in differentiated code,
    so that it gets its gradient (``np.sum``'s rule gives one)."""
    _options(ufunc, "reduce", None, out)
    return ({} if where is True else {"where": where}), initial is not np._NoValue


def _reduce(f, x, axis, keepdims, initial, options, given):
    """``f(x, axis=axis, keepdims=keepdims, ...)`` with ``initial=`` when ``given`` and the ``where=``
    options :func:`_given` made (and ``dtype=``, for sums and products)."""
    if given:
        return f(x, axis=axis, keepdims=keepdims, initial=initial, **options)
    return f(x, axis=axis, keepdims=keepdims, **options)


def add_reduce(x, axis=0, dtype=None, out=None, keepdims=False, initial=np._NoValue, where=True):
    opts, given = _given(np.add, out, initial, where)
    return _reduce(xp_of(x).sum, x, axis, keepdims, initial, {**opts, "dtype": dtype}, given)


def multiply_reduce(x, axis=0, dtype=None, out=None, keepdims=False, initial=np._NoValue, where=True):
    opts, given = _given(np.multiply, out, initial, where)
    return _reduce(xp_of(x).prod, x, axis, keepdims, initial, {**opts, "dtype": dtype}, given)


def maximum_reduce(x, axis=0, dtype=None, out=None, keepdims=False, initial=np._NoValue, where=True):
    opts, given = _given(np.maximum, out, initial, where)
    return _reduce(xp_of(x).max, x, axis, keepdims, initial, opts, given)


def minimum_reduce(x, axis=0, dtype=None, out=None, keepdims=False, initial=np._NoValue, where=True):
    opts, given = _given(np.minimum, out, initial, where)
    return _reduce(xp_of(x).min, x, axis, keepdims, initial, opts, given)


def add_accumulate(x, axis=0, dtype=None, out=None):
    _options(np.add, "accumulate", dtype, out)
    return xp_of(x).cumsum(x, axis=axis, dtype=dtype)


def multiply_accumulate(x, axis=0, dtype=None, out=None):
    _options(np.multiply, "accumulate", dtype, out)
    return xp_of(x).cumprod(x, axis=axis, dtype=dtype)


def _running(step, x, axis):
    """The running ``step`` (``np.maximum``) of ``x`` along ``axis``, one entry at a time."""
    xp = xp_of(x)
    moved = xp.moveaxis(xp.asarray(x), axis, 0)
    if moved.shape[0] == 0:
        return xp.asarray(x).copy()
    value = moved[0]
    values = [value]
    for k in range(1, moved.shape[0]):
        value = step(value, moved[k])
        values.append(value)
    return xp.moveaxis(xp.stack(values), 0, axis)


def maximum_accumulate(x, axis=0, dtype=None, out=None):
    _options(np.maximum, "accumulate", dtype, out)
    return _running(np.maximum, x, axis)


def minimum_accumulate(x, axis=0, dtype=None, out=None):
    _options(np.minimum, "accumulate", dtype, out)
    return _running(np.minimum, x, axis)


# ---------------------------------------------------------------------------------------------------------
# logaddexp and logaddexp2: reduce and accumulate

_REDUCE = ("axis", "dtype", "out", "keepdims", "initial", "where")
_ACCUMULATE = ("axis", "dtype", "out")


@nograd
def _bound(ufunc, method, args, kwargs):
    """The options of ``ufunc.method(x, *args, **kwargs)`` by name (refusing ``out=``, and a ``where=``
    passed by position; :func:`_mask` reads the keyword)."""
    kwargs = {k: v for k, v in kwargs.items() if k != "where"}
    return bind(f"{ufunc.__name__}.{method}", args, kwargs, _REDUCE if method == "reduce" else _ACCUMULATE)


@nograd
def _mask(kwargs):
    """The ``where=`` mask of a reduction (``True``: every entry)."""
    return kwargs.get("where", True)


@nograd
def _reduced_shape(ufunc, x, args, kwargs):
    """The shape of ``x`` with the axes ``ufunc.reduce(x, *args, **kwargs)`` reduces set to 1."""
    opts = _bound(ufunc, "reduce", args, kwargs)
    shape = np.shape(x)
    axes = normalize_axes(opts.get("axis", 0), len(shape))
    return tuple(1 if i in axes else n for i, n in enumerate(shape))


@nograd
def _accumulated_axis(ufunc, x, args, kwargs):
    """The axis ``ufunc.accumulate(x, *args, **kwargs)`` runs along (``None`` reads a 1-d ``x``'s one)."""
    axis = _bound(ufunc, "accumulate", args, kwargs).get("axis", 0)
    return 0 if axis is None else normalize_axis(axis, np.ndim(x))


@nograd
def _exponential(ufunc, xp):
    """``exp`` for ``logaddexp``, ``exp2`` for ``logaddexp2``: the inverse of the ufunc's logarithm."""
    return xp.exp if ufunc is np.logaddexp else xp.exp2


def _logaddexp_reduce_rule(ufunc):
    def logaddexp_reduce_rule(x, *args, **kwargs):
        xp = xp_of(x)
        _bound(ufunc, "reduce", args, kwargs)  # out= and where= refused before NumPy writes or masks
        y = getattr(xp, ufunc.__name__).reduce(x, *args, **kwargs)  # NumPy's errors for bad options
        kept = _reduced_shape(ufunc, x, args, kwargs)
        exp = _exponential(ufunc, xp)
        where = _mask(kwargs)

        def logaddexp_reduce_pullback(dy):
            # d y / d x_i = exp(x_i - y): each entry's share of the sum, at most 1
            shifted = x - xp.reshape(y, kept)
            if where is not True:
                shifted = xp.where(where, shifted, -np.inf)  # a masked entry gets none, and never overflows
            return grads_first(xp.reshape(dy, kept) * exp(shifted), args)

        return y, logaddexp_reduce_pullback

    logaddexp_reduce_rule.__name__ = f"{ufunc.__name__}_reduce_rule"
    return logaddexp_reduce_rule


def _logaddexp_accumulate_rule(ufunc):
    def logaddexp_accumulate_rule(x, *args, **kwargs):
        """``y[k] = log(sum(exp(x[:k+1])))`` along the axis, so the cotangent of ``x[i]`` is
        ``sum(dy[k] * exp(x[i] - y[k]) for k >= i) = exp(x[i] - y[i]) * s[i]``, where ``s`` is the reverse
        linear recurrence ``s[i] = dy[i] + exp(y[i] - y[i+1]) * s[i+1]``: as ``y`` never decreases, every
        exponent is at most zero (stable however large or small ``x`` is), and the scan is differentiable
        again."""
        xp = xp_of(x)
        _bound(ufunc, "accumulate", args, kwargs)
        y = getattr(xp, ufunc.__name__).accumulate(x, *args, **kwargs)
        axis = _accumulated_axis(ufunc, x, args, kwargs)
        exp = _exponential(ufunc, xp)

        def logaddexp_accumulate_pullback(dy):
            decay = exp(y - _shift(y, axis, -1, np.inf))  # exp(y[i] - y[i+1]); 0 after the last entry
            s = _linear_scan(dy, decay, axis, True)
            return grads_first(exp(x - y) * s, args)

        return y, logaddexp_accumulate_pullback

    logaddexp_accumulate_rule.__name__ = f"{ufunc.__name__}_accumulate_rule"
    return logaddexp_accumulate_rule


for _ufunc in (np.logaddexp, np.logaddexp2):
    register(_ufunc.reduce, takes_array_likes(_logaddexp_reduce_rule(_ufunc)))
    register(_ufunc.accumulate, takes_array_likes(_logaddexp_accumulate_rule(_ufunc)))


for _method, _impl in [
    (np.add.reduce, add_reduce),
    (np.multiply.reduce, multiply_reduce),
    (np.maximum.reduce, maximum_reduce),
    (np.minimum.reduce, minimum_reduce),
    (np.add.accumulate, add_accumulate),
    (np.multiply.accumulate, multiply_accumulate),
    (np.maximum.accumulate, maximum_accumulate),
    (np.minimum.accumulate, minimum_accumulate),
]:
    register(_method, implemented_by(_impl))
