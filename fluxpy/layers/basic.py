"""Basic layers: ``Dense``, ``Chain``, ``compose``. A layer is a plain class: fields, a constructor
mirroring Flux's, a call, and a repr that prints the constructor call.

>>> import numpy as np, fluxpy as fx
>>> m = fx.Chain(fx.Dense(10, 5, fx.sigmoid), fx.Dense(5, 2), fx.softmax)
>>> m
Chain(Dense(10, 5, sigmoid), Dense(5, 2), softmax)  # 67 parameters
>>> y = m(np.ones(10, dtype=np.float32))
>>> y.shape, bool(np.isclose(y.sum(), 1.0))
((2,), True)
"""

import numpy as np

from ..errors import FluxpyError
from ..functors import children, functor
from .activations import identity
from .init import create_bias, glorot_uniform


@functor
class Dense:
    """``activation(x @ weight.T + bias)`` for ``x`` of shape ``(in,)`` or ``(batch, in)``.

    >>> import fluxpy as fx
    >>> d = fx.Dense(3, 2)
    >>> d.weight.shape, d.bias.shape
    ((2, 3), (2,))
    """

    def __init__(self, n_in, n_out, activation=identity, *, bias=True, init=glorot_uniform, rng=None):
        if isinstance(n_in, np.ndarray):  # Dense(weight, bias, activation), as Flux allows
            self.weight, self.bias, self.activation = n_in, n_out, activation
            return
        self.weight = init(n_out, n_in, rng=rng) if rng is not None else init(n_out, n_in)
        self.bias = create_bias(self.weight, bias, n_out)
        self.activation = activation

    def __call__(self, x):
        if np.shape(x)[-1:] != self.weight.shape[1:]:
            raise FluxpyError(
                f"{self!r} expects inputs whose last axis has {self.weight.shape[1]} entries, "
                f"got shape {np.shape(x)}"
            )
        y = x @ self.weight.T
        if self.bias is not False:
            y = y + self.bias
        return self.activation(y)

    def __repr__(self):
        out, n_in = self.weight.shape
        extra = "" if self.activation is identity else f", {_name(self.activation)}"
        bias = "" if self.bias is not False else ", bias=False"
        return f"Dense({n_in}, {out}{extra}{bias})"


@functor
class Chain:
    """Calls each layer in turn; ``m[i]``, ``m[a:b]`` (a Chain), ``len(m)``, ``m.layers``.

    >>> import fluxpy as fx
    >>> fx.Chain(lambda x: x**2, lambda x: x + 1)(5)
    26
    """

    def __init__(self, *layers):
        self.layers = tuple(layers)

    def __call__(self, x):
        for layer in self.layers:
            x = layer(x)
        return x

    def __getitem__(self, index):
        if isinstance(index, slice):
            return Chain(*self.layers[index])
        return self.layers[index]

    def __len__(self):
        return len(self.layers)

    def __repr__(self):
        inner = ", ".join(
            _name(layer) if not hasattr(type(layer), "__fluxpy_functor_fields__") else repr(layer)
            for layer in self.layers
        )
        count = parameter_count(self)
        return f"Chain({inner})" + (f"  # {count} parameters" if count else "")


@functor
class Composed:
    """``outer(inner(x))``: Julia's ``outer ∘ inner``."""

    def __init__(self, outer, inner):
        self.outer, self.inner = outer, inner

    def __call__(self, x):
        return self.outer(self.inner(x))

    def __repr__(self):
        return f"compose({_name(self.outer)}, {_name(self.inner)})"


def compose(f, g):
    """``compose(f, g)(x) == f(g(x))``.

    >>> import fluxpy as fx
    >>> fx.compose(lambda x: x + 1, lambda x: x * 2)(3)
    7
    """
    return Composed(f, g)


def parameter_count(model):
    """The number of array entries in a model's children (shared arrays once)."""
    from ..implicit import params

    return sum(int(np.size(p)) for p in params(model))


def _name(f):
    if hasattr(type(f), "__fluxpy_functor_fields__"):
        return repr(f)
    return getattr(f, "__name__", repr(f))


__all__ = ["Chain", "Composed", "Dense", "compose", "children"]
