"""Functors: which fields of an object are its children (Functors.jl's one small protocol).

``@fx.functor`` marks every field of a class as a child; ``fx.functor(Cls, ("a", "c"))`` only those.
``fx.children(x)`` gives them; ``fx.fmap(f, x)`` rebuilds ``x`` with ``f`` applied to every leaf (a value
with no children: arrays, numbers, functions), mapping an array shared in two places once.

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
        if isinstance(x, tuple) and hasattr(type(x), "_fields"):
            return x._replace(**new)
        if isinstance(x, (tuple, list)):
            return type(x)(new[i] for i in range(len(x)))
        if isinstance(x, dict):
            return {**x, **new}
        out = copy.copy(x)
        for name, value in new.items():
            setattr(out, name, value)
        return out

    return re


def is_functor(x):
    return hasattr(type(x), FIELDS)


def children(x):
    """The children of ``x`` as a dict (empty for a leaf)."""
    if is_functor(x):
        fields = getattr(type(x), FIELDS)
        if fields is None:
            return dict(vars(x))
        return {name: getattr(x, name) for name in fields}
    if isinstance(x, tuple) and hasattr(type(x), "_fields"):
        return dict(zip(type(x)._fields, x, strict=True))
    if isinstance(x, (tuple, list)):
        return dict(enumerate(x))
    if isinstance(x, dict):
        return dict(x)
    return {}


def fmap(f, x, cache=None):
    """A new ``x`` with ``f`` applied to every leaf; a leaf reached twice (shared) is mapped once."""
    cache = {} if cache is None else cache
    key = id(x)
    if key in cache:
        return cache[key]
    kids = children(x)
    if not kids and not isinstance(x, (tuple, list, dict)) and not is_functor(x):
        out = f(x)
    elif isinstance(x, tuple) and hasattr(type(x), "_fields"):
        out = type(x)(*(fmap(f, v, cache) for v in x))
    elif isinstance(x, (tuple, list)):
        out = type(x)(fmap(f, v, cache) for v in x)
    elif isinstance(x, dict):
        out = {k: fmap(f, v, cache) for k, v in x.items()}
    else:
        out = copy.copy(x)
        for name, value in kids.items():
            setattr(out, name, fmap(f, value, cache))
    cache[key] = out
    return out


def leaves(x, seen=None):
    """Every leaf of ``x`` once, depth first."""
    seen = set() if seen is None else seen
    if id(x) in seen:
        return []
    seen.add(id(x))
    kids = children(x)
    if not kids and not isinstance(x, (tuple, list, dict)) and not is_functor(x):
        return [x]
    out = []
    for value in kids.values():
        out += leaves(value, seen)
    return out
