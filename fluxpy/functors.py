"""Functors: which fields of an object are its children (Functors.jl's one small protocol).

``@fx.functor`` marks every field of a class as a child; ``fx.functor(Cls, ("a", "c"))`` only those.
``fx.children(x)`` gives them; ``fx.fmap(f, x)`` rebuilds ``x`` with ``f`` applied to every leaf (a value
with no children: arrays, numbers, functions, None), mapping an array shared in two places once.

A gradient (``fx.Tangent``, Flux's NamedTuple) is walked too: its fields are its children, and ``fmap``
rebuilds a Tangent of the same primal type, so ``fx.fmap(lambda g: g * 0.5 if g is not None else g, grad)``
scales every gradient array. A class with ``__slots__`` (and no ``__dict__``) has its slots as fields, and
``fmap`` rebuilds a frozen dataclass too.

>>> import numpy as np, fluxpy as fx
>>> @fx.functor
... class Affine:
...     def __init__(self, W, b):
...         self.W, self.b = W, b
>>> a = Affine(np.ones(2), np.zeros(2))
>>> sorted(fx.children(a))
['W', 'b']
>>> fx.fmap(lambda v: v * 10 if isinstance(v, np.ndarray) else v, a).W
array([10., 10.])
"""

import copy
import dataclasses
import functools
from types import FunctionType, MethodType, ModuleType

FIELDS = "__fluxpy_functor_fields__"
TRAINABLE = "__fluxpy_trainable_fields__"


def functor(cls, fields=None, *, trainable=None):
    """Mark ``cls`` as a functor: all its fields are children, or only ``fields``. Returns ``cls``.

    ``trainable`` (Optimisers.jl's ``trainable``) narrows which children are parameters: ``fx.params`` and
    optimisers see only those, while ``fmap`` (``gpu``, ``f32``) still maps every child — a BatchNorm's
    running statistics move with it but are not trained.

    On an instance, as Functors.jl's ``functor(x)``: ``(children, re)`` where ``re(values)`` rebuilds ``x``
    with new children (a tuple in the children's order, or a dict by name); other fields are kept.

    >>> import fluxpy as fx
    >>> @fx.functor
    ... class Foo:
    ...     def __init__(self, x, y):
    ...         self.x, self.y = x, y
    >>> kids, re = fx.functor(Foo(1, 2))
    >>> kids, vars(re((10, 20)))
    ({'x': 1, 'y': 2}, {'x': 10, 'y': 20})
    """
    if not isinstance(cls, type):
        if fields is not None:
            raise TypeError("fx.functor(x) on an instance takes no fields; mark its class instead")
        return children(cls), _reconstructor(cls)
    setattr(cls, FIELDS, tuple(fields) if fields is not None else None)
    setattr(cls, TRAINABLE, tuple(trainable) if trainable is not None else None)
    return cls


def trainable(x):
    """The children of ``x`` that are parameters (all of them unless its class narrowed them).

    >>> import fluxpy as fx
    >>> bn = fx.BatchNorm(2)
    >>> sorted(fx.trainable(bn)), "running_mean" in fx.children(bn)
    (['beta', 'gamma'], True)
    """
    kids = children(x)
    names = getattr(type(x), TRAINABLE, None)
    return kids if names is None else {name: kids[name] for name in names if name in kids}


def _reconstructor(x):
    names = list(children(x))

    def re(values):
        new = dict(values) if isinstance(values, dict) else dict(zip(names, values, strict=True))
        if isinstance(x, _tangent_type()):
            return _tangent_type()(x.primal_type, {**x, **new})
        if isinstance(x, tuple) and hasattr(type(x), "_fields"):
            return x._replace(**new)
        if isinstance(x, (tuple, list)):
            return type(x)(new[i] for i in range(len(x)))
        if isinstance(x, dict):
            return {**x, **new}
        return _rebuilt(x, new)

    return re


def _rebuilt(x, new):
    """A shallow copy of the object ``x`` with the fields in ``new`` replaced (the others kept as they are).

    A frozen dataclass is written with ``object.__setattr__`` on the copy, as its own ``__init__`` does:
    ``dataclasses.replace`` would run ``__init__`` and ``__post_init__`` again (which may convert or check
    the new values, undoing ``f32``, or draw fresh arrays), and it cannot set ``init=False`` fields at all.
    Other objects get ``setattr``, so that a property's setter or a ``__setattr__`` of their own still runs.
    """
    out = copy.copy(x)
    put = object.__setattr__ if _frozen_dataclass(x) else setattr
    for name, value in new.items():
        put(out, name, value)
    return out


def _frozen_dataclass(x):
    params = getattr(type(x), "__dataclass_params__", None) if dataclasses.is_dataclass(x) else None
    return params is not None and params.frozen


_TANGENT = []


def _tangent_type():
    """``fx.Tangent``, imported on first use (fluxpy.tangents imports this module at its top)."""
    if not _TANGENT:
        from .tangents import Tangent

        _TANGENT.append(Tangent)
    return _TANGENT[0]


def is_functor(x):
    return hasattr(type(x), FIELDS)


def fields_of(x):
    """The attributes of the object ``x`` by name: the values of the ``__slots__`` declared by every class in
    its MRO (base classes first; unset slots are left out), then its ``__dict__``. For an ordinary class
    this is ``vars(x)``; a class with ``__slots__`` has no ``__dict__`` for ``vars`` to read.

    >>> class P:
    ...     __slots__ = ("a", "b")
    ...     def __init__(self):
    ...         self.a = 1
    >>> fields_of(P())
    {'a': 1}
    """
    out = {}
    for klass in reversed(type(x).__mro__):
        slots = klass.__dict__.get("__slots__", ())
        for name in (slots,) if isinstance(slots, str) else slots:
            if name in ("__dict__", "__weakref__"):
                continue
            if name.startswith("__") and not name.endswith("__"):  # stored under its mangled name
                name = f"_{klass.__name__.lstrip('_')}{name}"
            try:
                out[name] = getattr(x, name)
            except AttributeError:  # a slot never assigned
                pass
    attributes = getattr(x, "__dict__", None)
    if isinstance(attributes, dict):
        out.update(attributes)
    return out


def closure_children(f):
    """Where a function holds its parameters, by name, as its gradient (an ``fx.Tangent``) names them: a
    closure's captured variables (an unbound cell left out; ``{}`` for a function capturing nothing), or a
    ``functools.partial``'s ``func``, ``args`` and ``keywords``. None when ``f`` is neither. Optimisers and
    ``fx.state`` look inside them (Functors.jl 0.5 walks closures too); ``fmap`` keeps functions as leaves.

    >>> import numpy as np
    >>> def linear(W):
    ...     return lambda x: W @ x
    >>> closure_children(linear(np.ones(2)))
    {'W': array([1., 1.])}
    """
    if type(f) is FunctionType:
        out = {}
        for name, cell in zip(f.__code__.co_freevars, f.__closure__ or (), strict=True):
            try:
                out[name] = cell.cell_contents
            except ValueError:  # a variable not bound yet
                pass
        return out
    if isinstance(f, functools.partial):
        return {"func": f.func, "args": f.args, "keywords": f.keywords}
    return None


def unbound(x):
    """The object a bound method belongs to (its gradient is that object's, a ``Tangent`` of its class),
    else ``x`` itself. Methods of classes and modules are left as they are."""
    if type(x) is MethodType and not isinstance(x.__self__, (type, ModuleType)):
        return x.__self__
    return x


def children(x):
    """The children of ``x`` as a dict (empty for a leaf). A gradient's (``fx.Tangent``) are its fields.

    >>> import numpy as np, fluxpy as fx
    >>> g = fx.gradient(lambda m: np.sum(m(np.ones(2, np.float32))), fx.Dense(2, 1))[0]
    >>> list(fx.children(g))
    ['weight', 'bias', 'activation']
    """
    if is_functor(x):
        fields = getattr(type(x), FIELDS)
        if fields is None:
            return fields_of(x)
        return {name: getattr(x, name) for name in fields}
    if isinstance(x, tuple) and hasattr(type(x), "_fields"):
        return dict(zip(type(x)._fields, x, strict=True))
    if isinstance(x, (tuple, list)):
        return dict(enumerate(x))
    if isinstance(x, dict):
        return dict(x)
    if isinstance(x, _tangent_type()):
        return dict(x)
    return {}


def fmap(f, x, cache=None):
    """A new ``x`` with ``f`` applied to every leaf (``None`` included, as Functors.jl calls ``f`` on
    ``nothing``); a leaf reached twice (shared) is mapped once. Functors, containers and gradients
    (``fx.Tangent``: a Tangent of the same primal type comes back) are walked, not passed to ``f``.

    >>> import numpy as np, fluxpy as fx
    >>> g = fx.gradient(lambda m: np.sum(m(np.ones(2, np.float32))), fx.Dense(2, 1))[0]
    >>> half = fx.fmap(lambda v: v * 0.5 if isinstance(v, np.ndarray) else v, g)
    >>> type(half).__name__, half.primal_type.__name__, half.weight, half.activation
    ('Tangent', 'Dense', array([[0.5, 0.5]], dtype=float32), None)
    """
    cache = {} if cache is None else cache
    key = id(x)
    if key in cache:
        return cache[key]
    kids = children(x)
    if isinstance(x, _tangent_type()):
        out = _tangent_type()(x.primal_type, {k: fmap(f, v, cache) for k, v in kids.items()})
    elif not kids and not isinstance(x, (tuple, list, dict)) and not is_functor(x):
        out = f(x)
    elif isinstance(x, tuple) and hasattr(type(x), "_fields"):
        out = type(x)(*(fmap(f, v, cache) for v in x))
    elif isinstance(x, (tuple, list)):
        out = type(x)(fmap(f, v, cache) for v in x)
    elif isinstance(x, dict):
        out = {k: fmap(f, v, cache) for k, v in x.items()}
    else:
        out = _rebuilt(x, {name: fmap(f, value, cache) for name, value in kids.items()})
    cache[key] = out
    return out


def leaves(x, seen=None):
    """Every leaf of ``x`` once, depth first."""
    seen = set() if seen is None else seen
    if id(x) in seen:
        return []
    seen.add(id(x))
    kids = children(x)
    if not kids and not isinstance(x, (tuple, list, dict, _tangent_type())) and not is_functor(x):
        return [x]
    out = []
    for value in kids.values():
        out += leaves(value, seen)
    return out
