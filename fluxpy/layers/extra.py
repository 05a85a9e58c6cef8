"""More of Flux's layers: ``Diagonal`` (alias ``Scale``), ``Maxout``, ``SkipConnection``, ``Parallel``,
``Bilinear``. Each is a plain class marked ``@functor`` whose call is ordinary NumPy code that the compiler
differentiates; containers print as Flux does (see ``fluxpy.layers.basic.big_repr``).

>>> import numpy as np
>>> from fluxpy.layers.basic import Dense
>>> from fluxpy.layers.extra import Diagonal, SkipConnection
>>> m = SkipConnection(Dense(3, 3), lambda y, x: y + x)
>>> m(np.ones(3, dtype=np.float32)).shape
(3,)
>>> Diagonal(3)(np.arange(3.0, dtype=np.float32))
array([0., 1., 2.], dtype=float32)
"""

import numpy as np

from ..backend import is_array
from ..errors import FluxpyError
from ..functors import functor
from ..rules.registry import nograd
from .activations import identity
from .basic import _name, big_repr, input_cast
from .init import create_bias, glorot_uniform, init_with_fans, ones32


class _Unset:
    """The default of ``bias=`` or ``activation=`` in a layer that also takes them positionally after a
    weight array (``Conv(weight, bias, activation)``, as Flux): it tells "not given" apart from a value,
    and shows as the default it stands for (``bias=True``, ``activation=identity``) in signatures."""

    __slots__ = ("value",)

    def __init__(self, value):
        self.value = value

    def __repr__(self):
        return _name(self.value) if callable(self.value) else repr(self.value)


_UNSET_BIAS = _Unset(True)
_UNSET_ACTIVATION = _Unset(identity)


def _given(value):
    """``value``, or the default a ``_Unset`` stands for."""
    return value.value if isinstance(value, _Unset) else value


@nograd
def _weight_form(name, positional_bias, positional_activation, bias, activation):
    """For a layer built from a weight array, given the positional bias and activation after the weight
    (``None``: not given) and the keywords: ``(whether the bias is the positional one, the activation)``.
    Both forms of one argument is a ``TypeError``, as Python's own. (The bias itself is not returned: an
    array bias keeps its gradient by not passing through this non-differentiable function.)"""
    for what, positional, keyword in (
        ("bias", positional_bias, bias),
        ("activation", positional_activation, activation),
    ):
        if positional is not None and not isinstance(keyword, _Unset):
            raise TypeError(
                f"{name}() got multiple values for argument {what!r}: built from a weight array it takes "
                f"{name}(weight, bias, activation) positionally, or bias= and activation= as keywords"
            )
    activation = _given(activation) if positional_activation is None else positional_activation
    return positional_bias is not None, activation


def _bias_argument(bias):
    """A ``bias=`` argument with a NumPy bool read as ``True`` or ``False`` (create_bias's forms)."""
    return bool(bias) if isinstance(bias, (bool, np.bool_)) else _given(bias)


@functor
class Diagonal:
    """``activation(x * scale + bias)``, elementwise, with ``scale`` and ``bias`` of shape ``size``
    (broadcast against the trailing axes of ``x``). ``Scale`` is the same class (Flux's newer name).
    From arrays, as Flux's ``Scale(scale, bias=true, σ=identity)``: ``Diagonal(scale, bias, activation)``
    (``bias`` an array, ``True`` for zeros, ``False`` for none).

    >>> import numpy as np
    >>> d = Diagonal(2)
    >>> d.scale, d.bias
    (array([1., 1.], dtype=float32), array([0., 0.], dtype=float32))
    >>> d(np.array([[1.0, 2.0], [3.0, 4.0]], dtype=np.float32))
    array([[1., 2.],
           [3., 4.]], dtype=float32)
    >>> Diagonal(2, bias=False)
    Diagonal(2, bias=False)
    """

    def __init__(self, size, activation=identity, *rest, bias=True, init=ones32):
        if is_array(size):
            # Diagonal(scale, bias=True, activation=identity) positionally, as Flux's Scale(scale, bias, σ)
            # (NumPy or CuPy; bias an array, True or False), or Diagonal(scale, activation, bias=...)
            self.scale = size
            self.bias, self.activation = _diagonal_from_array(size, activation, rest, bias)
            return
        if rest:
            raise FluxpyError(
                f"Diagonal(size, activation) takes one activation, got {len(rest) + 1} positional arguments "
                "after the size: a size of several axes is a tuple, Diagonal((2, 3), relu)"
            )
        dims = tuple(size) if isinstance(size, (tuple, list)) else (size,)
        self.scale = init(*dims)
        self.bias = create_bias(self.scale, bias, *dims)
        self.activation = activation

    def __call__(self, x):
        _check_diagonal(self, x)
        cast = input_cast(self, x, self.scale)  # Flux's _match_eltype
        if cast == "float32":
            x = x.astype(np.float32)
        elif cast == "float16":
            x = x.astype(np.float16)
        y = x * self.scale
        if self.bias is not False:
            y = y + self.bias
        return self.activation(y)

    def outdims(self, isize):
        return tuple(isize)

    def __repr__(self):
        dims = ", ".join(str(d) for d in self.scale.shape)
        extra = "" if self.activation is identity else f", {_name(self.activation)}"
        bias = "" if self.bias is not False else ", bias=False"
        return f"Diagonal({dims}{extra}{bias})"


Scale = Diagonal


@nograd
def _check_diagonal(layer, x):
    """The input must broadcast against the scale (its trailing axes)."""
    shape = np.shape(x)
    try:
        np.broadcast_shapes(shape, layer.scale.shape)
    except ValueError:
        raise FluxpyError(
            f"{layer!r} scales the trailing axes of its input by a scale of shape {layer.scale.shape}: "
            f"an input of shape {shape} does not broadcast against it"
        ) from None


def _diagonal_from_array(scale, second, rest, bias):
    """``(bias, activation)`` of ``Diagonal(scale, second, *rest, bias=bias)`` built from the array
    ``scale``: Flux's positional ``(bias, activation)``, or ``(activation,)`` with the keyword bias."""
    if callable(second) and not is_array(second):
        if rest:
            raise FluxpyError("Diagonal(scale, activation, ...): the bias comes before the activation")
        return create_bias(scale, bias, *scale.shape), second
    if len(rest) > 1:
        raise FluxpyError(f"Diagonal(scale, bias, activation) takes at most 3 arguments, got {len(rest) + 2}")
    activation = rest[0] if rest else identity
    if isinstance(second, (bool, np.bool_)):
        second = bool(second)
    return create_bias(scale, second, *scale.shape), activation


@functor
class Maxout:
    """The elementwise maximum of several layers' outputs on the same input.

    ``Maxout(make_layer, n)`` builds ``n`` layers by calling ``make_layer()``; ``Maxout(layer1, layer2, ...)``
    takes them as given. The field ``layers`` is a tuple.

    >>> import numpy as np
    >>> m = Maxout(lambda x: x, lambda x: -x)
    >>> m(np.array([1.0, -2.0]))
    array([1., 2.])
    >>> from fluxpy.layers.basic import Dense
    >>> len(Maxout(lambda: Dense(3, 2), 4).layers)
    4
    """

    def __init__(self, *layers):
        if len(layers) == 2 and isinstance(layers[1], (int, np.integer)) and not isinstance(layers[1], bool):
            make, n = layers
            if n < 1:
                raise FluxpyError(f"Maxout needs at least one layer, got n = {n}")
            layers = tuple(make() for _ in range(n))
        if not layers:
            raise FluxpyError("Maxout needs at least one layer")
        self.layers = tuple(layers)

    def __call__(self, x):
        y = self.layers[0](x)
        for i in range(1, len(self.layers)):
            out = self.layers[i](x)
            _check_maxout(self, i, y, out)
            y = np.maximum(y, out)
        return y

    def outdims(self, isize):
        from .shape import outdims

        return outdims(self.layers[0], isize)

    def _show_children(self):
        return self.layers

    def __repr__(self):
        return big_repr(self)


@nograd
def _check_maxout(m, i, first, out):
    """Every layer of a Maxout must give outputs of one shape (the maximum is elementwise)."""
    if np.shape(out) != np.shape(first):
        raise FluxpyError(
            f"Maxout: its layers must give outputs of one shape, but layer 0 ({_name(m.layers[0])}) gave "
            f"shape {np.shape(first)} and layer {i} ({_name(m.layers[i])}) gave shape {np.shape(out)}"
        )


@functor
class SkipConnection:
    """``connection(layers(x), x)``: a residual block when ``connection`` adds its two arguments.

    >>> import numpy as np
    >>> m = SkipConnection(lambda x: 2 * x, lambda y, x: np.concatenate([y, x]))
    >>> m(np.array([1.0, 2.0]))
    array([2., 4., 1., 2.])
    """

    def __init__(self, layers, connection):
        self.layers, self.connection = layers, connection

    def __call__(self, x):
        return self.connection(self.layers(x), x)

    def _show_children(self):
        return (self.layers, self.connection)

    def __repr__(self):
        return big_repr(self)


@functor
class Parallel:
    """``connection(*(layer(x) for layer in layers))`` on one input; with several inputs (or one tuple of
    them) layer ``i`` gets input ``i`` (a single layer is applied to every input).

    Named layers, as Flux's ``Parallel(connection; a = ..., b = ...)``: ``Parallel(connection, a=..., b=...)``
    keeps them in a dict, ``m.layers`` (its gradient a dict too), read as ``m["a"]`` or by position ``m[0]``,
    as a named ``Chain``'s.

    >>> import numpy as np
    >>> p = Parallel(lambda a, b: a + b, lambda x: 2 * x, lambda x: 3 * x)
    >>> p(np.array([1.0, 2.0]))
    array([ 5., 10.])
    >>> p(np.array([1.0]), np.array([10.0]))
    array([32.])
    >>> q = Parallel(np.add, double=lambda x: 2 * x, triple=lambda x: 3 * x)
    >>> q(np.array([1.0])), list(q.layers), q["triple"](1), len(q)
    (array([5.]), ['double', 'triple'], 3, 2)
    """

    def __init__(self, connection, *layers, **named):
        if named and layers:
            raise FluxpyError(
                "Parallel takes its layers by position or by name (Parallel(connection, a=..., b=...)), "
                "not both"
            )
        if named:
            if "layers" in named:  # ("connection" is the first argument's name: Python refuses it already)
                raise FluxpyError(
                    "Parallel: a named layer cannot be called 'layers' (the name of its field), as in Flux"
                )
            self.connection, self.layers = connection, dict(named)
            return
        if not layers:
            raise FluxpyError("Parallel needs at least one layer")
        self.connection, self.layers = connection, tuple(layers)

    def __call__(self, *xs):
        layers = self.layers
        if type(layers) is dict:
            layers = tuple(layers.values())
        if len(xs) == 1 and isinstance(xs[0], tuple):
            xs = xs[0]
        if len(xs) == 1:
            outs = [layer(xs[0]) for layer in layers]
        elif len(layers) == 1:
            outs = [layers[0](x) for x in xs]
        elif len(xs) == len(layers):
            outs = [layer(x) for layer, x in zip(layers, xs, strict=True)]
        else:
            raise FluxpyError(f"Parallel with {len(layers)} layers got {len(xs)} inputs")
        return self.connection(*outs)

    def __getitem__(self, index):
        layers = self.layers
        if type(layers) is dict:
            if isinstance(index, str):
                return layers[index]
            names = list(layers)[index]
            if isinstance(index, slice):
                return Parallel(self.connection, **{k: layers[k] for k in names})
            return layers[names]
        if isinstance(index, slice):
            return Parallel(self.connection, *layers[index])
        return layers[index]

    def __len__(self):
        return len(self.layers)

    def _show_children(self):
        layers = tuple(self.layers.values()) if type(self.layers) is dict else self.layers
        return (self.connection, *layers)

    def _show_labels(self):
        """The connection unnamed, then the names of named layers (Flux's ``a = Dense(2, 2)``), else None."""
        return ("", *self.layers) if type(self.layers) is dict else None

    def __repr__(self):
        return big_repr(self)


@functor
class PairwiseFusion:
    """Flux's ``PairwiseFusion(connection, *layers)``: with inputs ``x1 .. xN`` (a tuple, or one input used
    for all), ``y1 = layers[0](x1)`` and ``yi = layers[i-1](connection(y(i-1), xi))``; returns the tuple
    ``(y1, .., yN)``.

    >>> import numpy as np
    >>> m = PairwiseFusion(lambda y, x: y + x, lambda x: 2 * x, lambda x: 10 * x)
    >>> m((np.array([1.0]), np.array([3.0])))
    (array([2.]), array([50.]))
    >>> m(np.array([1.0]))
    (array([2.]), array([30.]))
    """

    def __init__(self, connection, *layers):
        if not layers:
            raise FluxpyError("PairwiseFusion needs at least one layer")
        self.connection, self.layers = connection, tuple(layers)

    def __call__(self, x):
        if isinstance(x, tuple):
            if len(x) != len(self.layers):
                raise FluxpyError(f"PairwiseFusion with {len(self.layers)} layers got {len(x)} inputs")
            xs = x
        else:
            xs = tuple(x for _ in self.layers)
        y = self.layers[0](xs[0])
        outs = (y,)
        for i in range(1, len(self.layers)):
            y = self.layers[i](self.connection(y, xs[i]))
            outs = outs + (y,)
        return outs

    def _show_children(self):
        return (self.connection, *self.layers)

    def __repr__(self):
        return big_repr(self)


@functor
class Bilinear:
    """``activation(z[o] = sum_ij weight[o, i, j] * x[i] * y[j] + bias[o])`` for ``x`` of shape ``(in1,)`` or
    ``(batch, in1)`` and ``y`` of shape ``(in2,)`` or ``(batch, in2)``; ``weight`` has shape
    ``(out, in1, in2)``. Call it as ``m(x, y)``, ``m((x, y))``, or ``m(x)`` meaning ``m(x, x)``.

    >>> import numpy as np
    >>> b = Bilinear(3, 2, 4)
    >>> b.weight.shape, b.bias.shape
    ((4, 3, 2), (4,))
    >>> b(np.ones((5, 3), np.float32), np.ones((5, 2), np.float32)).shape
    (5, 4)
    >>> b
    Bilinear(3, 2, 4)
    """

    def __init__(
        self, in1, in2=None, out=None, activation=_UNSET_ACTIVATION, *, bias=_UNSET_BIAS, init=glorot_uniform
    ):
        if is_array(in1):
            # Bilinear(weight, bias, activation) positionally, as Flux, or Bilinear(weight, bias=...,
            # activation=...); the bias takes create_bias's three forms
            positional_bias, activation = _weight_form("Bilinear", in2, out, bias, activation)
            _check_bilinear_weight(in1)
            self.weight = in1
            self.bias = create_bias(in1, _bias_argument(in2 if positional_bias else bias), in1.shape[0])
            self.activation = activation
            return
        if isinstance(in1, tuple) and len(in1) == 2 and in2 is not None:
            # Flux's Bilinear((in1, in2) => out, σ): fx.Bilinear((in1, in2), out, σ)
            if out is not None:
                if activation is not _UNSET_ACTIVATION:
                    raise TypeError("Bilinear() got multiple values for argument 'activation'")
                activation = out
            (in1, in2), out = in1, in2
        elif in2 is not None and (out is None or callable(out)):
            # Flux's Bilinear(in => out, σ), both inputs of size in: fx.Bilinear(in, out, σ)
            if out is not None:
                if activation is not _UNSET_ACTIVATION:
                    raise TypeError("Bilinear() got multiple values for argument 'activation'")
                activation = out
            in2, out = in1, in2
        if in2 is None or out is None:
            raise FluxpyError(
                "Bilinear(in1, in2, out, activation=identity), Bilinear((in1, in2), out) or "
                "Bilinear(in, out): give the input and output sizes"
            )
        self.weight = init_with_fans(init, (out, in1, in2), (out * in1, out * in2))  # Flux's fans
        self.bias = create_bias(self.weight, _bias_argument(bias), out)
        self.activation = _given(activation)

    def __call__(self, x, y=None):
        if y is None:
            if isinstance(x, tuple):
                _check_bilinear_pair(self, x)
                x, y = x
            else:
                y = x
        _check_bilinear(self, x, y)
        cast = input_cast(self, x, self.weight)  # Flux's _match_eltype, on both inputs
        if cast == "float32":
            x = x.astype(np.float32)
        elif cast == "float16":
            x = x.astype(np.float16)
        cast = input_cast(self, y, self.weight)
        if cast == "float32":
            y = y.astype(np.float32)
        elif cast == "float16":
            y = y.astype(np.float16)
        if np.ndim(x) == 1:
            z = np.einsum("oij,i,j->o", self.weight, x, y)
        else:
            z = np.einsum("oij,bi,bj->bo", self.weight, x, y)
        if self.bias is not False:
            z = z + self.bias
        return self.activation(z)

    def __repr__(self):
        out, in1, in2 = self.weight.shape
        extra = "" if self.activation is identity else f", {_name(self.activation)}"
        bias = "" if self.bias is not False else ", bias=False"
        return f"Bilinear({in1}, {in2}, {out}{extra}{bias})"


@nograd
def _check_bilinear_weight(weight):
    if np.ndim(weight) != 3:
        raise FluxpyError(
            f"Bilinear(weight): the weight must have shape (out, in1, in2), got {np.shape(weight)}"
        )


@nograd
def _check_bilinear(layer, x, y):
    """Flux's checks: ``x`` ``(in1,)`` and ``y`` ``(in2,)``, or both batched with the same batch size."""
    bilinear_outsize(layer, np.shape(x), np.shape(y))


@nograd
def _check_bilinear_pair(layer, xy):
    if len(xy) != 2:
        raise FluxpyError(
            f"{layer!r} takes two inputs, m(x, y) or m((x, y)), or one, m(x) meaning m(x, x); got a tuple of "
            f"{len(xy)}"
        )


def bilinear_outsize(layer, xs, ys, what=""):
    """The shape of ``layer(x, y)`` for ``x`` of shape ``xs`` and ``y`` of shape ``ys`` (a ``FluxpyError``,
    its message prefixed by ``what``, where the call would refuse them)."""
    out, in1, in2 = layer.weight.shape
    xs, ys = tuple(xs), tuple(ys)
    if len(xs) not in (1, 2) or len(ys) != len(xs) or xs[-1] != in1 or ys[-1] != in2 or xs[:-1] != ys[:-1]:
        raise FluxpyError(
            f"{what}{layer!r} takes x of shape ({in1},) and y of shape ({in2},), or both batched: x (batch, "
            f"{in1}) and y (batch, {in2}) with the same batch; got x {xs} and y {ys}"
        )
    return (*xs[:-1], out)


__all__ = ["Bilinear", "Diagonal", "Maxout", "PairwiseFusion", "Parallel", "Scale", "SkipConnection"]
