"""Implicit parameters: ``fx.params`` / ``Params`` / ``Grads``, on top of explicit mode.

``fx.gradient(f, ps)`` runs ``f()`` as any explicit gradient does; the generated code records, at the
points where a value from outside the function enters (a global name, the function's own closure), the
cotangent that reached it, and the recorder keeps those of the parameters (by identity), however deep in
an object, closure or container they sit. Explicit gradients pay one flag test where globals are used.

>>> import numpy as np, fluxpy as fx
>>> W = np.ones((2, 3))
>>> gs = fx.gradient(lambda: np.sum(W * 2.0), fx.params(W))
>>> gs[W]
array([[2., 2., 2.],
       [2., 2., 2.]])
"""

import contextvars
import functools
import threading
from types import BuiltinMethodType, FunctionType, MethodType, ModuleType

import numpy as np

from .backend import is_array, xp_of
from .errors import FluxpyError
from .functors import closure_children, unbound
from .rules.registry import nograd
from .tangents import Tangent, accum, project

_active = [0]  # implicit gradients running now, in any thread (generated code tests this first)
_forward = [0]  # forward passes of implicit gradients running now (runtime.construct_forward reads it)
_recorder = contextvars.ContextVar("fluxpy_implicit_recorder", default=None)
_lock = threading.Lock()


# ---------------------------------------------------------------------------------------------------------
# Params


class Params:
    """An ordered set of parameter arrays, by identity.

    >>> import numpy as np, fluxpy as fx
    >>> fx.params(np.zeros((2, 5)), np.zeros(2))
    Params([2×5 float64, 2 float64])
    """

    def __init__(self, arrays=()):
        self._arrays = []
        self._ids = set()
        for a in arrays:
            self.push(a)

    def push(self, a):
        """Add array ``a`` unless it is already here."""
        if id(a) not in self._ids:
            self._ids.add(id(a))
            self._arrays.append(a)

    def __len__(self):
        return len(self._arrays)

    def __iter__(self):
        return iter(self._arrays)

    def __contains__(self, a):
        return id(a) in self._ids

    def __getitem__(self, i):
        return self._arrays[i]

    def __repr__(self):
        return f"Params([{', '.join(_describe(a) for a in self._arrays)}])"


def params(*xs):
    """Collect the arrays in ``xs`` (arrays, and the arrays inside models, closures and containers)."""
    ps = Params()
    seen = set()
    for x in xs:
        _collect(x, ps, seen)
    return ps


def _collect(x, ps, seen):
    if id(x) in seen:
        return
    seen.add(id(x))
    if is_array(x):
        if x.dtype.kind in "fiuc":
            ps.push(x)
    elif isinstance(x, Params):
        for a in x:
            ps.push(a)
    elif isinstance(x, (list, tuple)):
        for v in x:
            _collect(v, ps, seen)
    elif isinstance(x, dict):
        for v in x.values():
            _collect(v, ps, seen)
    elif type(x) is FunctionType or isinstance(x, functools.partial):
        for v in closure_children(x).values():
            _collect(v, ps, seen)
    elif type(x) is MethodType:
        _collect(unbound(x), ps, seen)
    else:
        for v in _fields(x).values():
            _collect(v, ps, seen)


def _fields(x):
    """The attributes ``params`` looks inside: a functor's trainable children, else any object's fields
    (its ``__dict__`` and its ``__slots__``, ``fields_of``). fluxpy's own classes with slots only hold no
    parameters: gradients (``Tangent``) and optimiser state (``Leaf``, ``Tree``) are not looked inside."""
    from .functors import fields_of, is_functor, trainable

    if is_functor(x):
        return trainable(x)
    if isinstance(x, type) or type(x).__module__ == "builtins":
        return {}
    if hasattr(x, "__dict__"):
        return fields_of(x)
    if hasattr(type(x), "__slots__") and not type(x).__module__.startswith("fluxpy."):
        return fields_of(x)
    return {}


def _describe(a):
    shape = "×".join(str(n) for n in a.shape) if a.ndim else "scalar"
    return f"{shape} {a.dtype}"


# ---------------------------------------------------------------------------------------------------------
# Grads


class Grads:
    """Gradients of a ``Params``: ``gs[x]`` (None when no gradient reached ``x``), ``in``, ``items()``,
    iteration over the parameters, ``+``/``-`` with another ``Grads``, ``*`` by a number, ``map``, and
    ``to_vector``/``copy_from`` a flat vector."""

    def __init__(self, ps, grads):
        self.params = ps
        self._grads = grads  # id(param) -> gradient

    def __getitem__(self, x):
        if x not in self.params:
            raise FluxpyError(f"{_describe(x) if is_array(x) else repr(x)} is not one of this Grads' params")
        return self._grads.get(id(x))

    def __contains__(self, x):
        return x in self.params

    def __iter__(self):
        return iter(self.params)

    def __len__(self):
        return len(self.params)

    def items(self):
        """``(param, gradient)`` pairs, in the order of the params."""
        return [(p, self._grads.get(id(p))) for p in self.params]

    def _check_same(self, other):
        if not isinstance(other, Grads) or [id(p) for p in self.params] != [id(p) for p in other.params]:
            raise FluxpyError("these Grads belong to different params; combine Grads of the same fx.params")

    def __add__(self, other):
        self._check_same(other)
        return Grads(
            self.params, {id(p): accum(self._grads.get(id(p)), other._grads.get(id(p))) for p in self.params}
        )

    def __sub__(self, other):
        self._check_same(other)
        return self + other * -1.0

    def __mul__(self, k):
        if not isinstance(k, (int, float, np.number)):
            return NotImplemented
        return self.map(lambda g: g * k)

    __rmul__ = __mul__

    def map(self, f):
        """A new Grads with ``f`` applied to each gradient that exists."""
        return Grads(self.params, {i: f(g) for i, g in self._grads.items() if g is not None})

    def to_vector(self):
        """All gradients in one flat float64 vector, in params order (zeros where none reached)."""
        xp = xp_of(*self.params)
        parts = [xp.ravel(g) if g is not None else xp.zeros(p.size) for p, g in self.items()]
        return xp.concatenate(parts) if parts else xp.zeros(0)

    def copy_from(self, vector):
        """Set every gradient from a flat vector laid out as ``to_vector`` gives."""
        start = 0
        for p in self.params:
            self._grads[id(p)] = np.reshape(vector[start : start + p.size], p.shape).astype(
                p.dtype if p.dtype.kind == "f" else np.float64
            )
            start += p.size
        return self

    def __repr__(self):
        shown = ", ".join(
            f"{_describe(p)} => {'nothing' if g is None else 'gradient'}" for p, g in self.items()
        )
        return f"Grads({shown})"


# ---------------------------------------------------------------------------------------------------------
# recording


class Recorder:
    """Collects the cotangents that reach parameters during one implicit gradient."""

    def __init__(self, ps):
        self.params = ps
        self.ids = {id(p): p for p in ps}
        self.grads = {}

    def add(self, value, d, depth=0):
        if d is None or depth > 50:
            return
        key = id(value)
        if key in self.ids:
            self.grads[key] = accum(self.grads.get(key), d)
            return
        if type(value) in _BOUND_METHODS:
            owner = getattr(value, "__self__", None)
            if owner is not None and not isinstance(owner, ModuleType):
                # a bound method (``W.dot``, ``model.forward``): its cotangent is its object's
                self.add(owner, d, depth + 1)
            return
        if isinstance(d, Tangent):
            for name, dv in d.items():
                self.add(_field_value(value, name), dv, depth + 1)
        elif isinstance(d, (tuple, list)) and isinstance(value, (tuple, list)):
            for v, dv in zip(value, d, strict=False):
                self.add(v, dv, depth + 1)
        elif isinstance(d, dict) and isinstance(value, dict):
            for k, dv in d.items():
                if k in value:
                    self.add(value[k], dv, depth + 1)

    def reaches(self, value, d):
        """Whether the cotangent ``d`` of ``value`` would reach a parameter (nothing is recorded)."""
        grads = self.grads
        self.grads = {}
        try:
            self.add(value, d)
            return bool(self.grads)
        finally:
            self.grads = grads

    def result(self):
        return Grads(self.params, {i: project(g, self.ids[i]) for i, g in self.grads.items()})


_BOUND_METHODS = (MethodType, BuiltinMethodType)


def _field_value(value, name):
    if type(value) is FunctionType and value.__closure__ and name in value.__code__.co_freevars:
        try:
            return value.__closure__[value.__code__.co_freevars.index(name)].cell_contents
        except ValueError:
            return None
    return getattr(value, name, None)


def record(value, d, function=None, default=None, where=None):
    """Generated code: the cotangent ``d`` reached ``value``, which came from outside the function.

    With ``function``, ``value`` is the value a parameter of ``function`` was called with, ``d`` that
    parameter's cotangent, and ``default`` the position (or keyword-only name) of the parameter's default
    value, ``where`` the parameter described: when ``value`` is that default, whether the caller passed it
    or Python filled it in is not known, so a cotangent reaching a parameter there is refused (dropped or
    counted twice otherwise)."""
    recorder = _recorder.get()
    if recorder is None:
        return
    if function is None:
        recorder.add(value, d)
        return
    defaults = function.__kwdefaults__ if type(default) is str else function.__defaults__
    if defaults is None or default not in (defaults if type(default) is str else range(len(defaults))):
        return
    if defaults[default] is value and recorder.reaches(value, d):
        raise FluxpyError(
            f"a gradient for fx.params reached a parameter through the default value of {where}: a default "
            "is evaluated once, when the function is defined, and fluxpy cannot tell whether a call used it, "
            "so that gradient cannot be recorded. Read the parameter in the function body (or pass it as an "
            "argument to a parameter without a default) instead."
        )


nograd(record, params, Params)


class recording:
    """Context manager: record the cotangents reaching ``ps`` for the gradient run inside."""

    def __init__(self, ps):
        self.recorder = Recorder(ps)

    def __enter__(self):
        self.token = _recorder.set(self.recorder)
        with _lock:
            _active[0] += 1
        return self.recorder

    def __exit__(self, *exc):
        _recorder.reset(self.token)
        with _lock:
            _active[0] -= 1
        return False
