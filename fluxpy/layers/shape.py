"""Output sizes without training: ``outdims`` (Flux's, spatial sizes) and ``outputsize`` (full shapes).

``outdims(layer, isize)`` follows Flux: ``(out,)`` for ``Dense`` and ``Bilinear``; for convolution and pooling
layers (anything with an ``outdims(isize)`` method, duck-typed) the spatial output size, where ``isize`` is
spatial, ``(H, W)``, or a full NCHW size, ``(N, C, H, W)``; ``Chain`` folds through its layers; ``Diagonal``,
activation functions, dropout and normalisation layers keep the size. Any other callable raises a
``FluxpyError`` (no rule is guessed).

In a ``Chain``, once a convolution, pooling or upsampling layer has given a spatial size, the layers after it
read the sizes they get as spatial sizes of that many axes, as they are. A layer whose arguments leave the
number of spatial axes open (``GlobalMeanPool()``, ``AdaptiveMeanPool(2)``, ``Upsample(2)``, an int window)
would read a lone 3-entry size as a full ``(N, C, L)`` (the rank rule of ``fluxpy.layers.conv``); inside the
chain it pools or upsamples all 3 spatial axes of a 3-d kernel's output, as the chain's call does. A layer
that fixes the number of spatial axes and gets another number from the layers before it is refused, as the
call refuses it. A layer of your own with an ``outdims`` method gets the spatial size and keeps this rank
when it returns a size of the same length.

``outputsize(model, input_shape)`` gives the full output shape. It propagates shapes by rule where one is
known (``Chain``, ``Dense``, ``Diagonal``, ``Bilinear``, ``Maxout``, ``Parallel``'s branches, activation
functions, dropout and normalisation layers (their input's shape, checked as their call checks it; they are
not run, so running statistics never change), a layer's own ``outputsize(shape)`` method) and otherwise runs
that one layer on ``np.zeros(shape, float32)`` (outside any gradient, so dropout and normalisation layers are
in inference mode) and reads the result's shape. A model made only of layers with rules therefore costs no
arithmetic; the fallback costs one forward pass of the layers without rules, on zeros of the propagated size.

A model taking several inputs gets one shape per input, as Flux's ``outputsize(m, x_size, y_size, ...)``:
``outputsize(model, xshape, yshape)`` (or the tuple ``(xshape, yshape)``) is the shape of
``model((x, y))``. A layer that returns a tuple of arrays gives a tuple of shapes, which the next layer of a
``Chain`` takes as its several inputs.

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
>>> from fluxpy.layers.extra import Bilinear
>>> outputsize(Chain(Bilinear(3, 2, 4), Dense(4, 1)), (64, 3), (64, 2))
(64, 1)
>>> from fluxpy.layers.conv import Conv, GlobalMeanPool
>>> m = Chain(Conv((3, 3, 3), 2, 4), GlobalMeanPool())
>>> outdims(m, (8, 8, 8)), outputsize(m, (1, 2, 8, 8, 8))
((1, 1, 1), (1, 4, 1, 1, 1))
"""

import numpy as np

from ..backend import is_array, xp_of
from ..errors import FluxpyError
from ..functors import leaves
from . import activations, conv, normalise
from .basic import Chain, Composed, Dense, _name
from .extra import Bilinear, Diagonal, Maxout, Parallel, bilinear_outsize

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

# convolution, pooling and upsampling layers: their outdims gives a spatial size
_SPATIAL = (
    conv._ConvBase,
    conv._Pool,
    conv._AdaptivePool,
    conv._GlobalPool,
    conv.Upsample,
    conv.PixelShuffle,
)


def _is_activation(f):
    """An activation function from ``fluxpy.layers.activations`` (all of them keep their input's shape)."""
    return id(f) in _ACTIVATIONS and getattr(f, "__module__", "") == activations.__name__


def _fixed_rank(layer):
    """The number of spatial axes a convolution, pooling or upsampling layer's arguments fix (a kernel, or a
    window, output size or scale given as a tuple), or ``None`` where they leave it open."""
    if isinstance(layer, conv._ConvBase):
        return layer.weight.ndim - 2
    if isinstance(layer, conv._Pool):
        fixing = layer.k
    elif isinstance(layer, conv._AdaptivePool):
        fixing = layer.out
    elif isinstance(layer, conv.Upsample):
        return layer._rank()
    else:  # global pools, PixelShuffle
        return None
    return len(fixing) if isinstance(fixing, tuple) else None


def outdims(layer, isize):
    """Flux's ``outdims``: the output size of ``layer`` for inputs of size ``isize`` (see the module docs).

    >>> from fluxpy.layers.extra import Diagonal
    >>> outdims(Diagonal(4), (4,))
    (4,)
    >>> from fluxpy.layers.basic import Chain
    >>> from fluxpy.layers.conv import Conv, Upsample
    >>> outdims(Chain(Conv((3, 3, 3), 1, 1), Upsample(2)), (8, 8, 8))  # 3 spatial axes throughout
    (12, 12, 12)
    >>> outdims(lambda x: x, (3,))  # doctest: +ELLIPSIS
    Traceback (most recent call last):
    ...
    fluxpy.errors.FluxpyError: outdims has no rule for <lambda>; ...
    """
    return _outdims(layer, _as_size(isize), None)[0]


def _outdims(layer, isize, rank):
    """``(size, rank)``: ``layer``'s output size for ``isize``, and the number of spatial axes of that size
    where a convolution, pooling or upsampling layer has fixed it (else ``None``). ``rank`` is that of
    ``isize``: not ``None`` inside a ``Chain`` after such a layer, where ``isize`` is a spatial size."""
    if isinstance(layer, Chain):
        for inner in layer._show_children():  # (a named Chain's values)
            isize, rank = _outdims(inner, isize, rank)
        return isize, rank
    if isinstance(layer, Composed):
        return _outdims(layer.outer, *_outdims(layer.inner, isize, rank))
    if isinstance(layer, (Dense, Bilinear)):
        return (layer.weight.shape[0],), None
    if isinstance(layer, Maxout):
        return _outdims(layer.layers[0], isize, rank)
    if isinstance(layer, _SPATIAL):
        fixed = _fixed_rank(layer)
        if rank is not None and fixed is not None and fixed != rank:
            raise FluxpyError(
                f"outdims: {layer!r} works on {fixed} spatial axes, but the layers before it give a spatial "
                f"size with {rank}: {isize}"
            )
        if rank is not None and fixed is None:
            # an open-rank layer on a spatial size of `rank` axes, however many (its errors show that size)
            out = tuple(layer._spatial_outdims(isize))
        else:
            out = tuple(layer.outdims(isize))
        return out, len(out)
    if hasattr(layer, "outdims") and callable(layer.outdims):
        out = tuple(layer.outdims(isize))
        return out, (rank if len(out) == rank else None)
    if _is_activation(layer) or isinstance(layer, _SIZE_KEEPING):
        return isize, rank
    raise FluxpyError(
        f"outdims has no rule for {_name(layer)}; it knows Chain, Dense, Bilinear, Diagonal, Maxout, "
        "activation functions, dropout and normalisation layers and layers with an outdims(isize) method "
        "(Conv, pooling). "
        "Use outputsize(model, input_shape) to get the shape by running the model."
    )


def outputsize(model, *input_shapes, padbatch=False):
    """The full shape of ``model(x)`` for ``x`` of shape ``input_shape`` (see the module docs for how).

    With several shapes (or one tuple of shapes), the shape of ``model((x, y, ...))``: one shape per input,
    as Flux's ``outputsize(m, x_size, y_size, ...)``. ``padbatch=True`` adds a batch axis of size 1 in front
    of every input shape, as Flux's ``padbatch``.

    >>> from fluxpy.layers.basic import Dense
    >>> outputsize(Dense(3, 2), (7, 3))
    (7, 2)
    >>> outputsize(Dense(3, 2), (7, 4))  # doctest: +ELLIPSIS
    Traceback (most recent call last):
    ...
    fluxpy.errors.FluxpyError: outputsize: Dense(3, 2) expects inputs whose last axis has 3 entries, ...
    >>> from fluxpy.layers.extra import Bilinear
    >>> b = Bilinear(3, 2, 4)
    >>> outputsize(b, (3,), (2,), padbatch=True), outputsize(b, ((5, 3), (5, 2)))
    ((1, 4), (5, 4))
    """
    if not input_shapes:
        raise FluxpyError(
            "outputsize(model, input_shape, ...) needs the input's shape (one shape per input for a model "
            "taking several)"
        )
    specs = tuple(_as_spec(s) for s in input_shapes)
    spec = specs[0] if len(specs) == 1 else specs
    if padbatch:
        spec = _padbatch(spec)
    return _outputsize(model, spec)


def _outputsize(layer, spec):
    """The output of ``layer`` for ``spec``: a shape (a tuple of ints) or a tuple of them (several inputs)."""
    if isinstance(layer, Chain):
        for inner in layer._show_children():  # (a named Chain's values)
            spec = _outputsize(inner, spec)
        return spec
    if isinstance(layer, Composed):
        return _outputsize(layer.outer, _outputsize(layer.inner, spec))
    if isinstance(layer, Bilinear):
        if _is_shape(spec):
            return bilinear_outsize(layer, spec, spec, "outputsize: ")
        if len(spec) != 2 or not all(_is_shape(s) for s in spec):
            raise FluxpyError(f"outputsize: {layer!r} takes one input or two, got the input shapes {spec}")
        return bilinear_outsize(layer, *spec, "outputsize: ")
    if isinstance(layer, Parallel):
        return _parallel_outputsize(layer, spec)
    if isinstance(layer, Maxout):
        return _outputsize(layer.layers[0], spec)
    if hasattr(layer, "outputsize") and callable(layer.outputsize):
        return _as_output(layer.outputsize(spec), layer)
    one_input = (Dense, Diagonal) + _SIZE_KEEPING
    if not _is_shape(spec) and (isinstance(layer, one_input) or _is_activation(layer)):
        raise FluxpyError(f"outputsize: {_name(layer)} takes one input, got the input shapes {spec}")
    if isinstance(layer, Dense):
        n_out, n_in = layer.weight.shape
        if spec[-1:] != (n_in,):
            raise FluxpyError(
                f"outputsize: {layer!r} expects inputs whose last axis has {n_in} entries, got shape {spec}"
            )
        return (*spec[:-1], n_out)
    if isinstance(layer, Diagonal):
        try:
            return tuple(np.broadcast_shapes(spec, layer.scale.shape))
        except ValueError:
            raise FluxpyError(
                f"outputsize: {layer!r} cannot scale inputs of shape {spec} by a scale of shape "
                f"{layer.scale.shape}"
            ) from None
    if isinstance(layer, _SIZE_KEEPING):
        normalise._check_input_shape(layer, spec)  # the call's own check; nothing runs, no statistic moves
        return spec
    if _is_activation(layer):
        return spec
    return _run(layer, spec)


def _parallel_outputsize(layer, spec):
    """``Parallel``: its branches by rule (input ``i`` to layer ``i``, or one input to every layer, or every
    input to its one layer, as its call), then its connection run on zeros of their output shapes."""
    xs = (spec,) if _is_shape(spec) else spec
    branches = layer._show_children()[1:]  # (a named Parallel's values)
    n = len(branches)
    if len(xs) == 1:
        outs = [_outputsize(inner, xs[0]) for inner in branches]
    elif n == 1:
        outs = [_outputsize(branches[0], s) for s in xs]
    elif len(xs) == n:
        outs = [_outputsize(inner, s) for inner, s in zip(branches, xs, strict=True)]
    else:
        raise FluxpyError(f"outputsize: Parallel with {n} layers got {len(xs)} inputs, shapes {spec}")
    zeros = [_zeros_like_model(layer, s) for s in outs]
    with np.errstate(all="ignore"):
        y = layer.connection(*zeros)
    return _shape_of(y)


def _run(layer, spec):
    """The output shape of ``layer`` called on zeros of ``spec`` (a tuple of arrays for several inputs)."""
    with np.errstate(all="ignore"):
        y = layer(_zeros_like_model(layer, spec))
    return _shape_of(y)


def _shape_of(y):
    if isinstance(y, (tuple, list)):
        return tuple(_shape_of(v) for v in y)
    return tuple(int(d) for d in np.shape(y))


def _zeros_like_model(layer, spec):
    """Float32 zeros of ``spec`` (a tuple of arrays for a tuple of shapes) in the array module of ``layer``'s
    parameters (a model on a device runs on device zeros)."""
    xp = next((xp_of(v) for v in leaves(layer) if is_array(v)), np)

    def zeros(s):
        return xp.zeros(s, dtype=np.float32) if _is_shape(s) else tuple(zeros(t) for t in s)

    return zeros(spec)


def _is_int(d):
    return isinstance(d, (int, np.integer)) and not isinstance(d, (bool, np.bool_))


def _is_shape(spec):
    """A shape (a tuple of ints; ``()`` too), not a tuple of shapes."""
    return all(_is_int(d) for d in spec)


def _as_spec(s):
    """An input shape as given (an int, a tuple or list of ints, or a tuple of such shapes) as a tuple."""
    given = s
    if _is_int(s):
        s = (s,)
    elif isinstance(s, (tuple, list)) and s and all(isinstance(t, (tuple, list)) for t in s):
        return tuple(_as_spec(t) for t in s)  # a tuple of shapes: one per input
    elif not isinstance(s, (tuple, list)):
        try:
            s = tuple(s)
        except TypeError:
            s = None
    if s is None or not _is_shape(s) or any(d < 0 for d in s):
        raise FluxpyError(
            "outputsize: an input shape is a tuple of sizes (ints, at least 0), or for a model taking "
            f"several inputs a tuple of such shapes, one per input; got {given!r}"
        )
    return tuple(int(d) for d in s)


def _as_output(spec, layer=None):
    """A layer's own ``outputsize`` result as a shape, or a tuple of shapes."""
    if _is_int(spec) or not isinstance(spec, (tuple, list)):
        raise FluxpyError(f"outputsize: {_name(layer)}.outputsize gave {spec!r}, not a shape")
    if _is_shape(spec):
        return tuple(int(d) for d in spec)
    return tuple(_as_output(s, layer) for s in spec)


def _padbatch(spec):
    return (1, *spec) if _is_shape(spec) else tuple(_padbatch(s) for s in spec)


def _as_size(isize):
    if isinstance(isize, (int, np.integer)):
        return (int(isize),)
    return tuple(int(d) for d in isize)


__all__ = ["outdims", "outputsize"]
