"""Rules: ``bincount`` and ``histogram`` (``histogram_bin_edges``) differentiate the weights, and
``histogram``'s edges through the data's minimum and maximum or ``range``, and ``density``; counts are
integers and carry no gradient.

>>> import numpy as np, fluxpy as fx
>>> fx.gradient(lambda w: np.sum(np.bincount([0, 1, 1], weights=w) ** 2), np.array([1.0, 2.0, 3.0]))
(array([ 2., 10., 10.]),)
"""

import numpy as np

from ..backend import to_numpy, xp_of
from .numpy_assembly import _host, _inexact, _like_value, _size
from .numpy_implemented import implemented
from .numpy_shape import _gather, _scatter, array_shape
from .registry import adjoint, nograd


@nograd
def _counts(x, minlength):
    return xp_of(x).bincount(x, minlength=minlength)


def _weighted_bincount(x, weights, minlength):
    """``np.bincount(x, weights, minlength)``."""
    return xp_of(x, weights).bincount(x, weights, minlength)


@adjoint(_weighted_bincount)
def weighted_bincount_rule(x, weights, minlength):
    xp = xp_of(x, weights)
    index = xp.asarray(x)

    def weighted_bincount_pullback(dy):
        return (None, _like_value(_gather(dy, index), weights), None)

    return _weighted_bincount(x, weights, minlength), weighted_bincount_pullback


@implemented(np.bincount)
def bincount_impl(x, weights=None, minlength=0):
    """``np.bincount``: the counts (integers: no gradient), or the sums of the weights in each bin."""
    if weights is None:
        return _counts(x, minlength)
    return _weighted_bincount(x, weights, minlength)


@nograd
def _histogram_plan(a, bins, range, weights):
    """``(hist, edges, index, given)``: NumPy's histogram (before ``density``) and edges, the bin of each
    entry of the raveled ``a`` (the number of bins for an entry outside them), and whether the edges are
    ``bins`` itself."""
    xp = xp_of(a, weights)
    hist, edges = np.histogram(a, bins=bins, range=range, weights=weights)
    host_a = np.ravel(to_numpy(xp.asarray(a)))
    host_edges = to_numpy(edges)
    nbins = len(host_edges) - 1
    index = np.searchsorted(host_edges, host_a, side="right") - 1
    index[host_a == host_edges[-1]] = nbins - 1
    index[(index < 0) | (index >= nbins) | (host_a > host_edges[-1])] = nbins
    return hist, edges, xp.asarray(index), np.ndim(_host(bins)) == 1


@nograd
def _edges_plan(a, bins, range, weights):
    """``(edges, given)`` of np.histogram_bin_edges (see :func:`_histogram_plan`)."""
    return np.histogram_bin_edges(a, bins=bins, range=range, weights=weights), np.ndim(_host(bins)) == 1


@nograd
def _edge_source(a, range, edges):
    """Where NumPy's outer edges come from ('range', 'empty' or 'data'), and whether it widened them by 0.5
    (equal ends)."""
    if range is not None:
        return "range", bool(range[0] == range[1])
    size = _size(array_shape(a))
    if size == 0:
        return "empty", False
    values = to_numpy(xp_of(a).asarray(a))
    return "data", bool(values.min() == values.max())


def _histogram_edges(a, bins, range, edges, given):
    """The bin edges, computed as NumPy does from the data's minimum and maximum (or ``range``), so that
    they carry gradients: ``bins`` itself when it is the edges."""
    xp = xp_of(a)
    if given:
        return xp_of(bins).asarray(bins)
    source, widened = _edge_source(a, range, edges)
    if source == "range":
        first = range[0]
        last = range[1]
    elif source == "empty":
        first = 0
        last = 1
    else:
        flat = xp.ravel(xp.asarray(a))
        first = np.min(flat)
        last = np.max(flat)
    if widened:
        first = first - 0.5
        last = last + 0.5
    return np.linspace(first, last, edges.shape[0], endpoint=True, dtype=edges.dtype)


@nograd
def _residual(value, approx):
    """``value - approx`` (NumPy's value less a ruled computation's), or None where they agree."""
    rest = value - approx
    return None if not bool(rest.any()) else rest


def _weights_in_bins(weights, index, nbins, value):
    """NumPy's weighted histogram ``value``, as the sum of the weights in each bin (``index``: each weight's
    bin, ``nbins`` for none): a scatter-add, plus NumPy's rounding of it (a constant)."""
    sums = _scatter(np.ravel(weights), index, (nbins + 1,))[:nbins]
    rest = _residual(value, sums)
    if rest is None:
        return sums
    return sums + rest


@implemented(np.histogram)
def histogram_impl(a, bins=10, range=None, density=None, weights=None):
    """``np.histogram``: counts carry no gradient; the weights' sums, the edges (through the data's minimum
    and maximum, or ``range``, or ``bins`` itself) and ``density`` do."""
    hist, host_edges, index, given = _histogram_plan(a, bins, range, weights)
    edges = _histogram_edges(a, bins, range, host_edges, given)
    if weights is not None and _inexact(weights):
        hist = _weights_in_bins(weights, index, host_edges.shape[0] - 1, hist)
    if density:
        db = np.diff(edges).astype(np.float64)
        return hist / db / np.sum(hist), edges
    return hist, edges


@implemented(np.histogram_bin_edges)
def histogram_bin_edges_impl(a, bins=10, range=None, weights=None):
    """``np.histogram_bin_edges``: see :func:`histogram_impl`."""
    host_edges, given = _edges_plan(a, bins, range, weights)
    return _histogram_edges(a, bins, range, host_edges, given)
