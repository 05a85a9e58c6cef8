"""Rules: ``unique`` (and ``unique_values``/``_counts``/``_inverse``/``_all``) splits each value's
cotangent evenly between the entries equal to it (as ``max`` splits it between ties); the set operations
(``union1d``, ``intersect1d``, ``setdiff1d``, ``setxor1d``) follow NumPy's steps, so a common value's
cotangent in ``intersect1d`` goes to ``ar1``'s entries.

>>> import numpy as np, fluxpy as fx
>>> fx.gradient(lambda x: np.sum(np.unique(x) * [1.0, 10.0]), np.array([2.0, 1.0, 2.0]))
(array([5., 1., 5.]),)
"""

import numpy as np

from ..backend import xp_of
from ..errors import FluxpyError
from .helpers import accept_array_likes
from .numpy_assembly import _host, _inexact, _like_value, _none_grads, device_call
from .numpy_implemented import implemented
from .numpy_shape import _gather, array_shape, bind, grads_first, normalize_axis
from .registry import adjoint, nograd

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


# lists and tuples where NumPy reads arrays (rules/helpers.py)
accept_array_likes(__name__)
