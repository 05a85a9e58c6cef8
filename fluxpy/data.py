"""``fx.DataLoader``: mini-batches along the first axis of an array, a tuple of arrays or a dict of arrays
(or a list of observations, stacked into one).

>>> import numpy as np, fluxpy as fx
>>> X, y = np.arange(10.0).reshape(5, 2), np.arange(5)
>>> loader = DataLoader((X, y), batchsize=2)
>>> len(loader)
3
>>> [yb.tolist() for _, yb in loader]
[[0, 1], [2, 3], [4]]
>>> [yb.tolist() for _, yb in DataLoader((X, y), batchsize=2, partial=False)]
[[0, 1], [2, 3]]
"""

import math
from numbers import Integral

import numpy as np

from .backend import is_array, xp_of
from .errors import FluxpyError


class DataLoader:
    """Iterate over ``data`` in mini-batches of ``batchsize`` observations (Flux's ``DataLoader``).

    ``data`` is an array (observations along its first axis), a tuple of arrays or a dict of arrays; every
    array must have the same number of observations. A list of observations, each a tuple (or dict) such as
    ``[(x1, y1), (x2, y2), ...]`` (MLUtils' vector of observations), is stacked into a tuple of arrays
    ``(X, Y)`` first, so that a batch is a tuple of arrays with the observations along the first axis. Each
    batch is an array, a tuple of arrays or a dict of arrays, as ``data`` is. ``shuffle=True`` draws a new
    order every epoch (every ``iter``) from ``rng``: a NumPy ``Generator`` or an int seed (a seeded loader
    gives the same sequence of epochs each time it is built). ``partial=False`` drops a last batch shorter
    than ``batchsize``.

    >>> import numpy as np
    >>> X = np.arange(12.0).reshape(6, 2)
    >>> loader = DataLoader(X, batchsize=4, shuffle=True, rng=0)
    >>> loader
    2-element DataLoader(6×2 float64, batchsize=4, shuffle=True)
    >>> [b.shape for b in loader]
    [(4, 2), (2, 2)]
    >>> sorted(np.concatenate(list(loader))[:, 0].tolist())
    [0.0, 2.0, 4.0, 6.0, 8.0, 10.0]
    """

    def __init__(self, data, batchsize=1, shuffle=False, partial=True, rng=None):
        if isinstance(batchsize, bool) or not isinstance(batchsize, Integral) or batchsize < 1:
            raise FluxpyError(f"DataLoader needs a positive integer batchsize, got {batchsize!r}")
        self.data = _check_data(data)
        self.batchsize = int(batchsize)
        self.shuffle = bool(shuffle)
        self.partial = bool(partial)
        if rng is None or isinstance(rng, Integral):
            rng = np.random.default_rng(rng)
        elif not isinstance(rng, np.random.Generator):
            raise FluxpyError(
                f"DataLoader's rng must be a NumPy Generator or an int seed, got {type(rng).__name__}"
            )
        self.rng = rng
        self.nobs = _nobs(self.data)

    def __len__(self):
        if self.partial:
            return math.ceil(self.nobs / self.batchsize)
        return self.nobs // self.batchsize

    def __iter__(self):
        order = self.rng.permutation(self.nobs) if self.shuffle else None
        for i in range(len(self)):
            start = i * self.batchsize
            stop = min(start + self.batchsize, self.nobs)
            index = slice(start, stop) if order is None else order[start:stop]
            yield _take(self.data, index)

    def __repr__(self):
        options = [f"batchsize={self.batchsize}"]
        if self.shuffle:
            options.append("shuffle=True")
        if not self.partial:
            options.append("partial=False")
        return f"{len(self)}-element DataLoader({_describe(self.data)}, {', '.join(options)})"


def _check_array(x, where):
    if isinstance(x, list):
        try:
            x = np.asarray(x)
        except ValueError as err:
            raise FluxpyError(
                f"DataLoader could not make an array of {where} (a list): {err}. Pass arrays with the "
                "observations along their first axis, a tuple of them (X, Y), or a list of observations "
                "[(x1, y1), (x2, y2), ...]"
            ) from err
    if not is_array(x):
        raise FluxpyError(
            f"DataLoader batches arrays (or tuples/dicts of arrays), but {where} is a {type(x).__name__}"
        )
    if x.ndim == 0:
        raise FluxpyError(f"DataLoader needs observations along a first axis, but {where} is a 0-d array")
    return x


def _check_data(data):
    stacked = _stacked_observations(data)
    if stacked is not None:
        data = stacked
    if isinstance(data, tuple):
        if not data:
            raise FluxpyError("DataLoader got an empty tuple: there is no data to batch")
        data = _same_tuple(data, [_check_array(x, f"element {i} of the tuple") for i, x in enumerate(data)])
    elif isinstance(data, dict):
        if not data:
            raise FluxpyError("DataLoader got an empty dict: there is no data to batch")
        data = {k: _check_array(x, f"entry {k!r} of the dict") for k, x in data.items()}
    else:
        data = _check_array(data, "the data")
    sizes = {where: x.shape[0] for where, x in _items(data)}
    if len(set(sizes.values())) > 1:
        shown = ", ".join(f"{where}: {n}" for where, n in sizes.items())
        raise FluxpyError(
            "DataLoader needs the same number of observations (length of the first axis) in every array, "
            f"got {shown}"
        )
    return data


def _stacked_observations(data):
    """A list of observations, each a tuple (or namedtuple, or dict) of arrays or numbers, as MLUtils'
    ``DataLoader`` takes one (``[(x1, y1), (x2, y2), ...]``): the same container of arrays, each the
    observations' entries stacked along a new first axis (``(X, Y)``). None when ``data`` is not one."""
    if not isinstance(data, list) or not data or not isinstance(data[0], (tuple, dict)):
        return None
    first = data[0]
    keys = list(first) if isinstance(first, dict) else list(range(len(first)))
    for i, obs in enumerate(data):
        same = isinstance(obs, dict) and set(obs) == set(keys) if isinstance(first, dict) else None
        if same is None:
            same = isinstance(obs, tuple) and len(obs) == len(keys)
        if not same:
            raise FluxpyError(
                f"DataLoader got a list of observations whose first is {_show_obs(first)} but observation "
                f"{i} is {_show_obs(obs)}: every observation must have the same entries"
            )
    columns = {k: _stack([obs[k] for obs in data], k) for k in keys}
    if isinstance(first, dict):
        return columns
    return _same_tuple(first, list(columns.values()))


def _show_obs(obs):
    if isinstance(obs, dict):
        return f"a dict with keys {sorted(obs, key=repr)}"
    if isinstance(obs, tuple):
        return f"a tuple of {len(obs)}"
    name = type(obs).__name__
    return f"{'an' if name[:1] in 'aeiou' else 'a'} {name}"


def _stack(values, key):
    shapes = {np.shape(v) for v in values}
    if len(shapes) > 1:
        raise FluxpyError(
            f"DataLoader got a list of observations whose entry {key!r} has different shapes "
            f"{sorted(shapes)}: they are stacked into one array, so each must have the same shape"
        )
    return xp_of(*values[:1]).stack([xp_of(v).asarray(v) for v in values])


def _items(data):
    if isinstance(data, tuple):
        return [(f"element {i}", x) for i, x in enumerate(data)]
    if isinstance(data, dict):
        return [(repr(k), x) for k, x in data.items()]
    return [("data", data)]


def _nobs(data):
    return _items(data)[0][1].shape[0]


def _take(data, index):
    """The observations ``index`` of every array in ``data``, in a container of ``data``'s type (a namedtuple
    stays one, as MLUtils' ``getobs``). A batch is a copy, never a view of the data: changing it in place
    leaves the dataset alone."""
    if isinstance(data, tuple):
        return _same_tuple(data, [_rows(x, index) for x in data])
    if isinstance(data, dict):
        return {k: _rows(x, index) for k, x in data.items()}
    return _rows(data, index)


def _rows(x, index):
    part = x[index]
    return part.copy() if isinstance(index, slice) else part  # fancy indexing copies already


def _same_tuple(data, values):
    """``values`` in a tuple of ``data``'s type: a namedtuple keeps its fields."""
    return type(data)(*values) if hasattr(type(data), "_fields") else tuple(values)


def _describe_array(x):
    return f"{'×'.join(str(n) for n in x.shape)} {x.dtype}"


def _describe(data):
    if isinstance(data, tuple):
        return "(" + ", ".join(_describe_array(x) for x in data) + ("," if len(data) == 1 else "") + ")"
    if isinstance(data, dict):
        return "{" + ", ".join(f"{k!r}: {_describe_array(x)}" for k, x in data.items()) + "}"
    return _describe_array(data)


__all__ = ["DataLoader"]
