"""Convolution and pooling layers: ``Conv``, ``CrossCor``, ``ConvTranspose``, ``DepthwiseConv``, ``MaxPool``,
``MeanPool``, adaptive and global pools, ``flatten``, ``Upsample``.

Inputs are channels-first: ``(batch, channels, *spatial)`` (NCHW for images) or unbatched
``(channels, *spatial)``. Weights are ``(out_ch, in_ch // groups, *kernel)``. ``outdims(isize)`` gives the
spatial output size for a spatial (or full NCHW) input size.

>>> import numpy as np, fluxpy as fx
>>> from fluxpy.layers.conv import Conv, MaxPool, flatten
>>> m = fx.Chain(Conv((3, 3), 3, 16, fx.relu), MaxPool((2, 2)), flatten)
>>> m(np.ones((4, 3, 10, 10), dtype=np.float32)).shape
(4, 256)
>>> Conv((3, 3), 3, 16, fx.relu).outdims((10, 10))
(8, 8)
"""

import numpy as np

from ..errors import FluxpyError
from ..functors import functor
from ..nnlib.conv import (
    conv_bias_act,
    conv_outsize,
    conv_transpose,
    conv_transpose_outsize,
    expand,
    maxpool,
    meanpool,
    pad_pairs,
    upsample_linear,
    upsample_nearest,
)
from ..rules.registry import nograd
from .activations import identity, relu
from .init import create_bias, glorot_uniform


@functor
class SamePad:
    """``pad=SamePad()`` (or ``pad="same"``): padding so that the output size is ``ceil(input / stride)``
    (``dilation * (k - 1)`` in all, the larger half first, as Flux).

    >>> from fluxpy.layers.conv import Conv
    >>> Conv((3, 3), 1, 1, pad=SamePad()).pad
    (1, 1, 1, 1)
    """

    def __repr__(self):
        return "SamePad()"


@nograd
def _kernel(kernel):
    if isinstance(kernel, (int, np.integer)):
        return (int(kernel),) * 2
    return tuple(int(k) for k in kernel)


@nograd
def _pad_tuple(pad, kernel, dilation):
    """``pad`` as Flux stores it: ``(lo1, hi1, lo2, hi2, ...)``."""
    nd = len(kernel)
    if isinstance(pad, SamePad) or (isinstance(pad, str) and pad.lower() == "same"):
        total = [d * (k - 1) for k, d in zip(kernel, expand(dilation, nd, "dilation"), strict=True)]
        return tuple(v for t in total for v in (t - t // 2, t // 2))
    if isinstance(pad, str):
        raise FluxpyError(f"unknown padding {pad!r}: use an int, a tuple, or SamePad()")
    return tuple(v for pair in pad_pairs(pad, nd) for v in pair)


@nograd
def _spatial_size(isize, nd):
    isize = tuple(int(i) for i in isize)
    if len(isize) == nd:
        return isize
    if len(isize) in (nd + 1, nd + 2):  # unbatched (C, *spatial) or batched (N, C, *spatial)
        return isize[-nd:]
    raise FluxpyError(f"input size {isize} does not match {nd} spatial dimensions")


def _name(f):
    return getattr(f, "__name__", repr(f))


def _short(values):
    """An int when all entries are equal (Flux prints ``stride=2``), the tuple otherwise."""
    return values[0] if len(set(values)) == 1 else values


def _options_repr(layer, defaults=True):
    parts = []
    if any(s != 1 for s in layer.stride):
        parts.append(f"stride={_short(layer.stride)}")
    if any(layer.pad):
        parts.append(f"pad={_short(layer.pad)}")
    if any(getattr(layer, "outpad", ())):
        parts.append(f"outpad={_short(layer.outpad)}")
    if any(d != 1 for d in layer.dilation):
        parts.append(f"dilation={_short(layer.dilation)}")
    if layer.groups != 1:
        parts.append(f"groups={layer.groups}")
    if layer.bias is False:
        parts.append("bias=False")
    return "".join(", " + p for p in parts)


@nograd
def _check_channels(layer, x, expected):
    nd = layer.weight.ndim - 2
    shape = np.shape(x)
    if len(shape) not in (nd + 1, nd + 2) or shape[-nd - 1] != expected:
        raise FluxpyError(
            f"{layer!r} expects inputs of shape (batch, {expected}, ...) or ({expected}, ...) "
            f"with {nd} spatial axes, got shape {shape}"
        )


@nograd
def _outpad(transposed, outpad, stride, dilation):
    """``outpad`` as a tuple, checked by PyTorch's ``output_padding`` rule: below ``stride`` or ``dilation``
    in each dimension (more would add rows that no input entry reaches and no matching Conv reads)."""
    outpad = expand(outpad, len(stride), "outpad")
    if any(outpad) and not transposed:
        raise FluxpyError(
            f"outpad={_short(outpad)}: only ConvTranspose has outpad (Conv and CrossCor have none)"
        )
    if any(o < 0 or (o >= s and o >= d) for o, s, d in zip(outpad, stride, dilation, strict=True)):
        raise FluxpyError(
            f"ConvTranspose: outpad={_short(outpad)} must be non-negative and smaller than either "
            f"stride={_short(stride)} or dilation={_short(dilation)} in each spatial dimension; "
            "it picks among the input sizes a strided Conv maps to one output size (7 or 8: outpad=1 gives 8)"
        )
    return outpad


class _ConvBase:
    flip = True
    transposed = False  # ConvTranspose: the only one with Flux's outpad

    def __init__(
        self,
        kernel,
        in_ch=None,
        out_ch=None,
        activation=identity,
        *,
        stride=1,
        pad=0,
        dilation=1,
        groups=1,
        bias=True,
        init=glorot_uniform,
        rng=None,
        outpad=0,
    ):
        if hasattr(kernel, "shape") and hasattr(kernel, "dtype"):  # Conv(weight, bias, activation), as Flux
            weight, bias, activation = kernel, True if in_ch is None else in_ch, out_ch or identity
            kernel = tuple(weight.shape[2:])
        else:
            kernel = _kernel(kernel)
            weight = None
        nd = len(kernel)
        self.stride = expand(stride, nd)
        self.dilation = expand(dilation, nd, "dilation")
        self.pad = _pad_tuple(pad, kernel, self.dilation)
        outpad = _outpad(self.transposed, outpad, self.stride, self.dilation)
        if self.transposed:
            self.outpad = outpad
        self.groups = int(groups)
        if weight is None:
            weight = self._init_weight(kernel, in_ch, out_ch, init, rng)
        self.weight = weight
        self.bias = create_bias(self.weight, bias, self._out_channels())
        self.activation = activation

    def _init_weight(self, kernel, in_ch, out_ch, init, rng):
        if in_ch % self.groups or out_ch % self.groups:
            raise FluxpyError(f"in_ch={in_ch} and out_ch={out_ch} must be divisible by groups={self.groups}")
        dims = (out_ch, in_ch // self.groups) + kernel
        return init(*dims, rng=rng) if rng is not None else init(*dims)

    def _out_channels(self):
        return self.weight.shape[0]

    def _in_channels(self):
        return self.weight.shape[1] * self.groups

    def __call__(self, x):
        # one fused rule for the convolution, the bias and a relu (issue 6); any other activation is
        # applied to the result, as written
        _check_channels(self, x, self._in_channels())
        fused = self.activation is relu
        y = conv_bias_act(
            x,
            self.weight,
            self.bias,
            act="relu" if fused else "identity",
            stride=self.stride,
            pad=self.pad,
            dilation=self.dilation,
            groups=self.groups,
            flip=self.flip,
        )
        return y if fused or self.activation is identity else self.activation(y)

    def outdims(self, isize):
        """Spatial output size for spatial (or full NCHW) input size ``isize``."""
        kernel = tuple(self.weight.shape[2:])
        return conv_outsize(
            _spatial_size(isize, len(kernel)),
            kernel,
            stride=self.stride,
            pad=self.pad,
            dilation=self.dilation,
        )

    def __repr__(self):
        kernel = tuple(self.weight.shape[2:])
        act = "" if self.activation is identity else f", {_name(self.activation)}"
        name = type(self).__name__
        return f"{name}({kernel}, {self._in_channels()}, {self._out_channels()}{act}{_options_repr(self)})"


def _add_bias(y, bias, nd):
    if bias is False:
        return y
    return y + bias.reshape((-1,) + (1,) * nd)


@functor
class Conv(_ConvBase):
    """A true convolution (the kernel flipped, as Flux's ``Conv``): ``activation(conv(x, weight) .+ bias)``.

    ``Conv(kernel, in_ch, out_ch, activation=identity, *, stride=1, pad=0, dilation=1, groups=1, bias=True,
    init=glorot_uniform, rng=None)``; weight ``(out_ch, in_ch // groups, *kernel)``, bias ``(out_ch,)``.

    >>> import numpy as np, fluxpy as fx
    >>> c = Conv((3, 3), 3, 16, fx.relu, stride=2, pad=1)
    >>> c
    Conv((3, 3), 3, 16, relu, stride=2, pad=1)
    >>> c.weight.shape, c.bias.shape, c(np.ones((2, 3, 8, 8), dtype=np.float32)).shape
    ((16, 3, 3, 3), (16,), (2, 16, 4, 4))
    >>> c(np.ones((3, 8, 8), dtype=np.float32)).shape  # unbatched
    (16, 4, 4)
    """


@functor
class CrossCor(_ConvBase):
    """Cross-correlation (no kernel flip; PyTorch's ``conv2d``); the same arguments as :class:`Conv`.

    >>> import numpy as np
    >>> c = CrossCor((2,), 1, 1, init=lambda *d: np.array([[[1.0, -1.0]]]))
    >>> c(np.array([[[1.0, 4.0, 9.0]]]))
    array([[[-3., -5.]]])
    """

    flip = False


@nograd
def _transpose_outsize(layer, isize):
    kernel = tuple(layer.weight.shape[2:])
    return conv_transpose_outsize(
        _spatial_size(isize, len(kernel)),
        kernel,
        stride=layer.stride,
        pad=layer.pad,
        dilation=layer.dilation,
        outpad=layer.outpad,
    )


@functor
class ConvTranspose(_ConvBase):
    """The input gradient of the matching ``Conv`` (Flux's ``ConvTranspose``): upsamples by ``stride``.

    ``ConvTranspose(kernel, in_ch, out_ch, activation=identity, *, stride=1, pad=0, outpad=0, dilation=1,
    groups=1, bias=True, init=glorot_uniform, rng=None)``. Weight ``(in_ch, out_ch // groups, *kernel)``
    (the matching convolution maps ``out_ch`` to ``in_ch``); output size
    ``(i - 1) * stride - lo - hi + dilation * (k - 1) + 1 + outpad``. A ``Conv`` with ``stride=2`` maps
    sizes 8 and 7 both to 4; ``outpad=1`` (an int, or one per spatial axis, below ``stride`` or
    ``dilation``; PyTorch's ``output_padding``) adds a row on the high side to get back 8 rather than 7.

    >>> import numpy as np
    >>> t = ConvTranspose((3, 3), 8, 4, stride=2)
    >>> t, t.weight.shape, t(np.ones((1, 8, 5, 5), dtype=np.float32)).shape, t.outdims((5, 5))
    (ConvTranspose((3, 3), 8, 4, stride=2), (8, 4, 3, 3), (1, 4, 11, 11), (11, 11))
    >>> down = Conv((3, 3), 4, 8, stride=2, pad=1)
    >>> up = ConvTranspose((3, 3), 8, 4, stride=2, pad=1, outpad=1)
    >>> up, up(down(np.ones((1, 4, 8, 8), dtype=np.float32))).shape
    (ConvTranspose((3, 3), 8, 4, stride=2, pad=1, outpad=1), (1, 4, 8, 8))
    """

    transposed = True

    def _init_weight(self, kernel, in_ch, out_ch, init, rng):
        if in_ch % self.groups or out_ch % self.groups:
            raise FluxpyError(f"in_ch={in_ch} and out_ch={out_ch} must be divisible by groups={self.groups}")
        dims = (in_ch, out_ch // self.groups) + kernel
        return init(*dims, rng=rng) if rng is not None else init(*dims)

    def _out_channels(self):
        return self.weight.shape[1] * self.groups

    def _in_channels(self):
        return self.weight.shape[0]

    def __call__(self, x):
        _check_channels(self, x, self._in_channels())
        y = conv_transpose(
            x,
            self.weight,
            stride=self.stride,
            pad=self.pad,
            dilation=self.dilation,
            groups=self.groups,
            flip=True,
            out_size=_transpose_outsize(self, np.shape(x)),
        )
        return self.activation(_add_bias(y, self.bias, self.weight.ndim - 2))

    def outdims(self, isize):
        """Spatial output size for spatial (or full NCHW) input size ``isize``."""
        return _transpose_outsize(self, isize)


def DepthwiseConv(kernel, in_ch, out_ch=None, activation=identity, **kw):
    """A ``Conv`` with ``groups=in_ch`` (Flux's ``DepthwiseConv``); ``out_ch``: a multiple of ``in_ch``.

    >>> import numpy as np
    >>> d = DepthwiseConv((3, 3), 4, 8)
    >>> d, d.weight.shape
    (Conv((3, 3), 4, 8, groups=4), (8, 1, 3, 3))
    """
    out_ch = in_ch if out_ch is None else out_ch
    if out_ch % in_ch:
        raise FluxpyError(f"DepthwiseConv: out_ch={out_ch} must be a multiple of in_ch={in_ch}")
    return Conv(kernel, in_ch, out_ch, activation, groups=in_ch, **kw)


# ---------------------------------------------------------------------------------------------------------
# pooling


class _Pool:
    _op = None

    def __init__(self, window, *, stride=None, pad=0):
        self.k = _kernel(window)
        self.stride = self.k if stride is None else expand(stride, len(self.k))
        self.pad = _pad_tuple(pad, self.k, 1)

    def __call__(self, x):
        return type(self)._op(x, self.k, stride=self.stride, pad=self.pad)

    def outdims(self, isize):
        """Spatial output size for spatial (or full NCHW) input size ``isize``."""
        return conv_outsize(_spatial_size(isize, len(self.k)), self.k, stride=self.stride, pad=self.pad)

    def __repr__(self):
        extra = "" if self.stride == self.k else f", stride={_short(self.stride)}"
        extra += f", pad={_short(self.pad)}" if any(self.pad) else ""
        return f"{type(self).__name__}({self.k}{extra})"


@functor
class MaxPool(_Pool):
    """Maximum over windows (``stride`` defaults to the window).

    >>> import numpy as np
    >>> p = MaxPool((2, 2))
    >>> p, p(np.arange(16.0).reshape(1, 1, 4, 4))[0, 0]
    (MaxPool((2, 2)), array([[ 5.,  7.], [13., 15.]]))
    """

    _op = staticmethod(maxpool)


@functor
class MeanPool(_Pool):
    """Mean over windows (``stride`` defaults to the window; padded zeros count).

    >>> import numpy as np
    >>> MeanPool((2, 2))(np.arange(16.0).reshape(1, 1, 4, 4))[0, 0]
    array([[ 2.5,  4.5], [10.5, 12.5]])
    """

    _op = staticmethod(meanpool)


@nograd
def _adaptive(shape, out):
    """``(window, stride)`` of an adaptive pool from input ``shape`` to spatial ``out`` (Flux's formula)."""
    isize = tuple(shape[-len(out) :])
    if any(i < o for i, o in zip(isize, out, strict=True)):
        raise FluxpyError(f"adaptive pooling: input size {isize} is smaller than the output size {out}")
    stride = tuple(i // o for i, o in zip(isize, out, strict=True))
    window = tuple(i - (o - 1) * s for i, o, s in zip(isize, out, stride, strict=True))
    return window, stride


class _AdaptivePool:
    _op = None

    def __init__(self, out_size):
        self.out = _kernel(out_size)

    def __call__(self, x):
        window, stride = _adaptive(np.shape(x), self.out)
        return type(self)._op(x, window, stride=stride)

    def outdims(self, isize):
        """The output size (``out_size``), whatever the input size."""
        return self.out

    def __repr__(self):
        return f"{type(self).__name__}({self.out})"


@functor
class AdaptiveMaxPool(_AdaptivePool):
    """Max pooling to a fixed spatial output size.

    >>> import numpy as np
    >>> AdaptiveMaxPool((2, 2))(np.ones((1, 3, 7, 9))).shape
    (1, 3, 2, 2)
    """

    _op = staticmethod(maxpool)


@functor
class AdaptiveMeanPool(_AdaptivePool):
    """Mean pooling to a fixed spatial output size.

    >>> import numpy as np
    >>> AdaptiveMeanPool((1, 2))(np.ones((1, 3, 4, 4))).shape
    (1, 3, 1, 2)
    """

    _op = staticmethod(meanpool)


@nograd
def _global_window(shape):
    """All spatial axes: ``shape[2:]`` for a batched input, ``shape[1:]`` for an unbatched (C, H, W) one."""
    return tuple(shape[1:]) if len(shape) == 3 else tuple(shape[2:])


class _GlobalPool:
    _op = None

    def __call__(self, x):
        return type(self)._op(x, _global_window(np.shape(x)))

    def outdims(self, isize):
        """Ones, one per spatial axis (two for a spatial or NCHW size of an image)."""
        n = len(isize) - 2 if len(isize) > 3 else (2 if len(isize) == 3 else len(isize))
        return (1,) * n

    def __repr__(self):
        return f"{type(self).__name__}()"


@functor
class GlobalMaxPool(_GlobalPool):
    """Maximum over all spatial axes: ``(N, C, H, W)`` to ``(N, C, 1, 1)`` (a 3-axis input is unbatched).

    >>> import numpy as np
    >>> GlobalMaxPool()(np.arange(8.0).reshape(1, 2, 2, 2))
    array([[[[3.]], [[7.]]]])
    """

    _op = staticmethod(maxpool)


@functor
class GlobalMeanPool(_GlobalPool):
    """Mean over all spatial axes: ``(N, C, H, W)`` to ``(N, C, 1, 1)`` (a 3-axis input is unbatched).

    >>> import numpy as np
    >>> GlobalMeanPool()(np.arange(8.0).reshape(1, 2, 2, 2))
    array([[[[1.5]], [[5.5]]]])
    """

    _op = staticmethod(meanpool)


def flatten(x):
    """Keep the first (batch) axis, flatten the rest: ``(N, ...)`` to ``(N, rest)``.

    >>> import numpy as np
    >>> flatten(np.ones((2, 3, 4, 5))).shape
    (2, 60)
    """
    return x.reshape(x.shape[0], -1)


@functor
class Upsample:
    """Upsampling of the spatial axes by an integer ``scale`` (an int, or one per axis; an int means two
    spatial axes): ``mode="nearest"`` repeats entries, ``"bilinear"`` (``"trilinear"``, ``"linear"``)
    interpolates with aligned corners, as Flux.

    >>> import numpy as np
    >>> u = Upsample(2)
    >>> u, u(np.ones((1, 3, 2, 4))).shape, u.outdims((2, 4))
    (Upsample(2, mode='nearest'), (1, 3, 4, 8), (4, 8))
    """

    def __init__(self, scale=2, mode="nearest"):
        if mode not in ("nearest", "bilinear", "linear", "trilinear"):
            raise FluxpyError(f"Upsample: unknown mode {mode!r} (use 'nearest', 'bilinear' or 'trilinear')")
        self.scale = _kernel(scale)
        self.mode = mode

    def __call__(self, x):
        if self.mode == "nearest":
            return upsample_nearest(x, self.scale)
        return upsample_linear(x, self.scale)

    def outdims(self, isize):
        """Spatial output size: ``isize * scale``."""
        return tuple(i * s for i, s in zip(_spatial_size(isize, len(self.scale)), self.scale, strict=True))

    def __repr__(self):
        return f"Upsample({_short(self.scale)}, mode={self.mode!r})"


__all__ = [
    "AdaptiveMaxPool",
    "AdaptiveMeanPool",
    "Conv",
    "ConvTranspose",
    "CrossCor",
    "DepthwiseConv",
    "GlobalMaxPool",
    "GlobalMeanPool",
    "MaxPool",
    "MeanPool",
    "SamePad",
    "Upsample",
    "flatten",
]
