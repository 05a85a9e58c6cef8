"""The Tracker-style legacy API (Flux's old ``Flux.Tracker``): tracked arrays record a tape as they are
used; ``back(l)`` runs the reverse pass with **the same rule library** as the compiler.

>>> import numpy as np
>>> from fluxpy import tracker
>>> W = tracker.param(np.array([[1.0, 2.0]]))
>>> l = np.sum((W @ np.array([3.0, 4.0])) ** 2)
>>> float(l)
121.0
>>> tracker.back(l)
>>> tracker.grad(W)
array([[66., 88.]])
>>> tracker.update(W, -0.01 * tracker.grad(W))
>>> tracker.grad(W)
array([[0., 0.]])
"""

import operator

import numpy as np

from .backend import is_array, xp_of
from .errors import FluxpyError, NoAdjointError
from .rules import registry
from .tangents import accum


class Tracked(np.lib.mixins.NDArrayOperatorsMixin):
    """A value with its place on the tape: ``data``, the ``grad`` accumulated by ``back`` (for
    parameters), and how it was computed (a rule's pullback and the tracked inputs)."""

    __array_priority__ = 100

    def __init__(self, data, parents=(), back=None, is_param=False):
        self.data = data
        self.parents = parents  # the positional arguments the rule saw (tracked or not)
        self.back_fn = back
        self.is_param = is_param
        self.grad = xp_of(data).zeros_like(data) if is_param else None  # param() made data a float array

    # -- reading the value -------------------------------------------------------------------------------
    def __float__(self):
        return float(self.data)

    def __array__(self, dtype=None, copy=None):
        """``np.asarray(t)``: the plain value, untracked (it gave a 0-d object array)."""
        data = np.asarray(self.data, dtype=dtype)
        return data.copy() if copy else data

    def __repr__(self):
        return f"tracked({self.data!r})"

    @property
    def shape(self):
        return np.shape(self.data)

    @property
    def T(self):
        return _apply_attribute("T", self)

    def __len__(self):
        return len(self.data)

    # -- operations record themselves --------------------------------------------------------------------
    def __array_ufunc__(self, ufunc, method, *inputs, **kwargs):
        if method != "__call__":
            return NotImplemented
        return _apply(ufunc, inputs, kwargs)

    def __array_function__(self, func, types, args, kwargs):
        return _apply(func, args, kwargs)

    def __getitem__(self, index):
        return _apply(operator.getitem, (self, index), {})

    def __getattr__(self, name):
        if name.startswith("_"):
            raise AttributeError(name)
        rule = registry.lookup_method(name)
        if rule is None:
            raise AttributeError(f"tracked values have no method {name!r} with a rule")
        return lambda *args, **kwargs: _apply_method(rule, self, args, kwargs)


def param(x):
    """A tracked parameter: its gradient accumulates in ``grad(x)`` when ``back`` runs."""
    dtype = x.dtype if is_array(x) else np.asarray(x).dtype
    if dtype.kind not in "fc":  # integers and bools: float64; floats keep their precision (float32 too)
        dtype = np.result_type(dtype, np.float64)
    return Tracked(xp_of(x).array(x, dtype=dtype), is_param=True)


def data(x):
    """The plain value of a tracked value (or ``x`` itself)."""
    return x.data if isinstance(x, Tracked) else x


def _untracked(x):
    if isinstance(x, Tracked):
        return x.data
    if isinstance(x, (list, tuple)):
        return type(x)(_untracked(v) for v in x)
    return x


def _has_tracked(x):
    if isinstance(x, Tracked):
        return True
    if isinstance(x, (list, tuple)):
        return any(_has_tracked(v) for v in x)
    return False


def _apply(func, args, kwargs):
    rule = registry.lookup(func)
    plain = tuple(_untracked(a) for a in args)
    kwargs = {k: _untracked(v) for k, v in kwargs.items()}
    if rule is None:
        if registry.is_nondiff(func):
            return func(*plain, **kwargs)
        name = getattr(func, "__name__", func)
        raise NoAdjointError(f"fluxpy.tracker: {name!r} has no rule; register one with @fx.adjoint")
    y, back = rule(*plain, **kwargs)
    return Tracked(y, args, back)


def _apply_method(rule, obj, args, kwargs):
    y, back = rule(obj.data, *(_untracked(a) for a in args), **{k: _untracked(v) for k, v in kwargs.items()})
    return Tracked(y, (obj,) + tuple(args), back)


def _apply_attribute(name, obj):
    rule = registry.lookup_attribute(name)
    y, back = rule(obj.data)
    return Tracked(y, (obj,), back)


def back(l, dl=1.0):
    """Run the reverse pass from the tracked scalar ``l``: every parameter it depends on accumulates its
    gradient (see ``grad``)."""
    if not isinstance(l, Tracked):
        raise FluxpyError("tracker.back needs a tracked value (computed from tracker.param arrays)")
    order = _topological(l)
    cotangents = {id(l): dl}
    for node in reversed(order):
        d = cotangents.pop(id(node), None)
        if d is None:
            continue
        if node.is_param:  # in the parameter's dtype (a float32 parameter keeps a float32 gradient)
            xp = xp_of(node.grad)
            node.grad = node.grad + xp.broadcast_to(xp.asarray(d, dtype=node.grad.dtype), node.grad.shape)
        if node.back_fn is None:
            continue
        for parent, dp in zip(node.parents, node.back_fn(d), strict=False):
            _send(parent, dp, cotangents)


def _send(value, d, cotangents):
    if d is None:
        return
    if isinstance(value, Tracked):
        cotangents[id(value)] = accum(cotangents.get(id(value)), d)
    elif isinstance(value, (list, tuple)) and isinstance(d, (list, tuple)):
        for v, dv in zip(value, d, strict=False):
            _send(v, dv, cotangents)


def _topological(root):
    order, seen, stack = [], set(), [(root, False)]
    while stack:
        node, done = stack.pop()
        if done:
            order.append(node)
            continue
        if id(node) in seen:
            continue
        seen.add(id(node))
        stack.append((node, True))
        for parent in _tracked_in(node.parents):
            if id(parent) not in seen:
                stack.append((parent, False))
    return order


def _tracked_in(values):
    for v in values:
        if isinstance(v, Tracked):
            yield v
        elif isinstance(v, (list, tuple)):
            yield from _tracked_in(v)


def grad(x):
    """The gradient accumulated in parameter ``x`` by ``back``."""
    if not isinstance(x, Tracked) or not x.is_param:
        raise FluxpyError("tracker.grad takes a parameter made by tracker.param")
    return x.grad


def update(x, step):
    """``x += step`` on a parameter's value, and reset its gradient to zeros (Flux's ``update!``)."""
    if not isinstance(x, Tracked) or not x.is_param:
        raise FluxpyError("tracker.update takes a parameter made by tracker.param")
    xp = xp_of(x.data)
    x.data += xp.asarray(data(step), dtype=x.data.dtype)
    x.grad = xp.zeros_like(x.grad)


__all__ = ["Tracked", "back", "data", "grad", "param", "update"]
