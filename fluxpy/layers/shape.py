"""Output sizes without training: ``outdims`` (Flux's, spatial sizes) and ``outputsize`` (full shapes).

``outdims(layer, isize)`` follows Flux: ``(out,)`` for ``Dense`` and ``Bilinear``; for convolution and pooling
layers (anything with an ``outdims(isize)`` method, duck-typed) the spatial output size, where ``isize`` is
spatial, ``(H, W)``, or a full NCHW size, ``(N, C, H, W)``; ``Chain`` folds through its layers; ``Diagonal``,
activation functions, dropout and normalisation layers keep the size. Any other callable raises a
``FluxpyError`` (no rule is guessed).

``outputsize(model, input_shape)`` gives the full output shape. It propagates shapes by rule where one is
known (``Chain``, ``Dense``, ``Diagonal``, ``Bilinear``, ``Maxout``, activation functions, a layer's own
``outputsize(shape)`` method) and otherwise runs that one layer on ``np.zeros(shape, float32)`` (outside any
gradient, so dropout and normalisation layers are in inference mode) and reads the result's shape. A model
made only of layers with rules therefore costs no arithmetic; the fallback costs one forward pass of the
layers without rules, on zeros of the propagated size.

>>> from fluxpy.layers.basic import Chain, Dense
>>> from fluxpy.layers.activations import relu
>>> outdims(Dense(10, 5), (10,))
(5,)
>>> outdims(Chain(Dense(10, 5, relu), relu, Dense(5, 2)), (10,))
(2,)
>>> outputsize(Chain(Dense(10, 5), lambda x: x[..., :3]), (64, 10))
(64, 3)
>>> outputsize(Dense(10, 5), (10,), padbatch=True)
(1, 5)
"""

import numpy as np

from ..backend import is_array, xp_of
from ..errors import FluxpyError
from ..functors import leaves
from . import activations, normalise
from .basic import Chain, Composed, Dense, _name
from .extra import Bilinear, Diagonal, Maxout

_ACTIVATIONS = {
    id(getattr(activations, name))
    for name in dir(activations)
    if not name.startswith("_") and callable(getattr(activations, name))
}


# dropout and normalisation layers: their output has their input's size
_SIZE_KEEPING = (
    normalise.Dropout,
    normalise.AlphaDropout,
    normalise.BatchNorm,
    normalise.InstanceNorm,
    normalise.GroupNorm,
    normalise.LayerNorm,
)


def _is_activation(f):
    """An activation function from ``fluxpy.layers.activations`` (all of them keep their input's shape)."""
    return id(f) in _ACTIVATIONS and getattr(f, "__module__", "") == activations.__name__


def outdims(layer, isize):
    """Flux's ``outdims``: the output size of ``layer`` for inputs of size ``isize`` (see the module docs).

    >>> from fluxpy.layers.extra import Diagonal
    >>> outdims(Diagonal(4), (4,))
    (4,)
    >>> outdims(lambda x: x, (3,))  # doctest: +ELLIPSIS
    Traceback (most recent call last):
    ...
    fluxpy.errors.FluxpyError: outdims has no rule for <lambda>; ...
    """
    isize = _as_size(isize)
    if isinstance(layer, Chain):
        for inner in layer._show_children():  # (a named Chain's values)
            isize = outdims(inner, isize)
        return isize
    if isinstance(layer, Composed):
        return outdims(layer.outer, outdims(layer.inner, isize))
    if isinstance(layer, (Dense, Bilinear)):
        return (layer.weight.shape[0],)
    if hasattr(layer, "outdims") and callable(layer.outdims):
        return tuple(layer.outdims(isize))
    if _is_activation(layer) or isinstance(layer, _SIZE_KEEPING):
        return isize
    raise FluxpyError(
        f"outdims has no rule for {_name(layer)}; it knows Chain, Dense, Bilinear, Diagonal, Maxout, "
        "activation functions, dropout and normalisation layers and layers with an outdims(isize) method "
        "(Conv, pooling). "
        "Use outputsize(model, input_shape) to get the shape by running the model."
    )


def outputsize(model, input_shape, *, padbatch=False):
    """The full shape of ``model(x)`` for ``x`` of shape ``input_shape`` (see the module docs for how).

    ``padbatch=True`` adds a batch axis of size 1 in front of ``input_shape``, as Flux's ``padbatch``.

    >>> from fluxpy.layers.basic import Dense
    >>> outputsize(Dense(3, 2), (7, 3))
    (7, 2)
    >>> outputsize(Dense(3, 2), (7, 4))  # doctest: +ELLIPSIS
    Traceback (most recent call last):
    ...
    fluxpy.errors.FluxpyError: outputsize: Dense(3, 2) expects inputs whose last axis has 3 entries, ...
    """
    shape = _as_size(input_shape)
    if padbatch:
        shape = (1, *shape)
    return _outputsize(model, shape)


def _outputsize(layer, shape):
    if isinstance(layer, Chain):
        for inner in layer._show_children():  # (a named Chain's values)
            shape = _outputsize(inner, shape)
        return shape
    if isinstance(layer, Composed):
        return _outputsize(layer.outer, _outputsize(layer.inner, shape))
    if isinstance(layer, Dense):
        n_out, n_in = layer.weight.shape
        if shape[-1:] != (n_in,):
            raise FluxpyError(
                f"outputsize: {layer!r} expects inputs whose last axis has {n_in} entries, got shape {shape}"
            )
        return (*shape[:-1], n_out)
    if isinstance(layer, Diagonal):
        try:
            return tuple(np.broadcast_shapes(shape, layer.scale.shape))
        except ValueError:
            raise FluxpyError(
                f"outputsize: {layer!r} cannot scale inputs of shape {shape} by a scale of shape "
                f"{layer.scale.shape}"
            ) from None
    if isinstance(layer, Bilinear):
        return (*shape[:-1], layer.weight.shape[0])
    if isinstance(layer, Maxout):
        return _outputsize(layer.layers[0], shape)
    if _is_activation(layer):
        return shape
    if hasattr(layer, "outputsize") and callable(layer.outputsize):
        return tuple(layer.outputsize(shape))
    with np.errstate(all="ignore"):
        y = layer(_zeros_like_model(layer, shape))
    return tuple(np.shape(y))


def _zeros_like_model(layer, shape):
    """Float32 zeros of ``shape`` in the array module of ``layer``'s parameters (a model on a device runs on
    device zeros)."""
    xp = next((xp_of(v) for v in leaves(layer) if is_array(v)), np)
    return xp.zeros(shape, dtype=np.float32)


def _as_size(isize):
    if isinstance(isize, (int, np.integer)):
        return (int(isize),)
    return tuple(int(d) for d in isize)


__all__ = ["outdims", "outputsize"]
