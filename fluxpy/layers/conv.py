"""Convolution and pooling layers: ``Conv``, ``CrossCor``, ``ConvTranspose``, ``DepthwiseConv``, ``MaxPool``,
``MeanPool``, adaptive and global pools, ``flatten``, ``Upsample``, ``PixelShuffle``.

Inputs are channels-first: ``(batch, channels, *spatial)`` (NCHW for images). Weights are
``(out_ch, in_ch // groups, *kernel)``. ``outdims(isize)`` gives the spatial output size for a spatial (or
full NCHW) input size.

The rank rule. A layer whose number of spatial axes is fixed by its arguments (a kernel, window or scale
given as a tuple: ``Conv((3, 3), ...)``, ``MaxPool((2, 2))``, ``Upsample((2, 2))``) also takes an unbatched
sample, ``(channels, *spatial)``: an input with one axis fewer. A layer whose arguments leave the number of
spatial axes open (``GlobalMeanPool()``, ``GlobalMaxPool()``, an int window ``MaxPool(2)``, an int output
size ``AdaptiveMeanPool(2)``, an int or real scale ``Upsample(2)``) reads every input as batched, as Flux:
rank ``r`` is ``(batch, channels, *spatial)`` with ``r - 2`` spatial axes, so ``(N, C, L)`` is a batch of
1-d signals. Their ``outdims`` read a size of length 3 or more as a full size ``(N, C, *spatial)`` and a
shorter one as spatial (give a 3-d volume's full 5-axis size).

>>> import numpy as np, fluxpy as fx
>>> from fluxpy.layers.conv import Conv, MaxPool, flatten
>>> m = fx.Chain(Conv((3, 3), 3, 16, fx.relu), MaxPool((2, 2)), flatten)
>>> m(np.ones((4, 3, 10, 10), dtype=np.float32)).shape
(4, 256)
>>> Conv((3, 3), 3, 16, fx.relu).outdims((10, 10))
(8, 8)
"""

import math

import numpy as np

from ..backend import is_array
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
from .basic import check_activation, input_cast
from .extra import _UNSET_ACTIVATION, _UNSET_BIAS, _bias_argument, _given, _Unset, _weight_form
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


def _is_same(pad):
    return isinstance(pad, SamePad) or (isinstance(pad, str) and pad.lower() == "same")


@nograd
def _pad_tuple(pad, kernel, dilation):
    """``pad`` as Flux stores it: ``(lo1, hi1, lo2, hi2, ...)``."""
    nd = len(kernel)
    if _is_same(pad):
        total = [d * (k - 1) for k, d in zip(kernel, expand(dilation, nd, "dilation"), strict=True)]
        return tuple(v for t in total for v in (t - t // 2, t // 2))
    if isinstance(pad, str):
        raise FluxpyError(f"unknown padding {pad!r}: use an int, a tuple, or SamePad()")
    return tuple(v for pair in pad_pairs(pad, nd) for v in pair)


@nograd
def _check_geometry(name, kernel, stride, pad, dilation=None):
    """Kernel (window) sizes and strides and dilations at least 1, paddings at least 0, at construction."""
    checks = [("kernel" if dilation is not None else "window", kernel, 1), ("stride", stride, 1)]
    checks += [("dilation", dilation, 1)] if dilation is not None else []
    checks += [("pad", pad, 0)]
    for what, values, least in checks:
        if any(v < least for v in values):
            raise FluxpyError(
                f"{name}: {what}={_short(values)} must be at least {least} in every spatial dimension"
            )


@nograd
def _spatial_size(isize, nd, layer=None):
    isize = tuple(int(i) for i in isize)
    if len(isize) == nd:
        return isize
    if len(isize) in (nd + 1, nd + 2):  # unbatched (C, *spatial) or batched (N, C, *spatial)
        return isize[-nd:]
    who = "" if layer is None else f"{layer!r}: "
    raise FluxpyError(
        f"{who}input size {isize} does not match {nd} spatial dimensions (give {nd} spatial sizes, or "
        f"(C, *spatial) or (N, C, *spatial))"
    )


@nograd
def _open_spatial_size(isize):
    """The spatial part of ``isize`` for a layer whose number of spatial axes is open (the rank rule in the
    module docs): a full size ``(N, C, *spatial)`` when it has 3 or more entries, else spatial."""
    isize = tuple(int(i) for i in isize)
    return isize[2:] if len(isize) >= 3 else isize


@nograd
def _open_rank(layer, shape):
    """The number of spatial axes of a batched input ``(N, C, *spatial)`` for a layer whose arguments leave
    it open; at least one."""
    if len(shape) < 3:
        raise FluxpyError(
            f"{layer!r} works on batched inputs (batch, channels, *spatial) with at least one spatial axis "
            f"(its arguments do not fix the number of spatial axes, so an input of rank r has r - 2), got an "
            f"input of shape {tuple(shape)}"
        )
    return len(shape) - 2


@nograd
def _check_rank(layer, shape, nd):
    """A layer with ``nd`` spatial axes takes ``(N, C, *spatial)`` or an unbatched ``(C, *spatial)``."""
    if len(shape) not in (nd + 1, nd + 2):
        raise FluxpyError(
            f"{layer!r} has {nd} spatial axes: it takes inputs of shape (batch, channels, *spatial) or "
            f"unbatched (channels, *spatial), {nd + 2} or {nd + 1} axes, got shape {tuple(shape)}"
        )


@nograd
def _check_window_fits(layer, shape, window, pad, dilation=None):
    """The (dilated) window must fit in the padded input: name the layer and the input's shape if not."""
    nd = len(window)
    dilation = (1,) * nd if dilation is None else dilation
    size = tuple(shape[-nd:])
    padded = tuple(i + pad[2 * j] + pad[2 * j + 1] for j, i in enumerate(size))
    extent = tuple(d * (k - 1) + 1 for k, d in zip(window, dilation, strict=True))
    if any(e > p for e, p in zip(extent, padded, strict=True)):
        what = "dilated kernel" if any(d != 1 for d in dilation) else "window"
        raise FluxpyError(
            f"{layer!r}: the input of shape {tuple(shape)} is too small: the {what} {extent} is larger than "
            f"its spatial size {size} padded to {padded}"
        )


def _name(f):
    return getattr(f, "__name__", repr(f))


def _short(values):
    """An int when all entries are equal (Flux prints ``stride=2``), the tuple otherwise."""
    return values[0] if len(set(values)) == 1 else values


def _as_input(x):
    """``x``, or an array-like (a nested list) as a NumPy array, as ``Dense`` takes one. Arrays, and objects
    NumPy functions dispatch on, pass as they are (the gradient reaches them through this function; a list's
    comes back as a list). Only ``x`` is passed: were the layer passed too (to pick its weight's array
    module), its parameters would seem to reach ``x``, and a data batch would get an input gradient (the
    CNN benchmark's first convolution computed one: 1.4 ms a step)."""
    if is_array(x) or hasattr(type(x), "__array_function__"):
        return x
    return np.asarray(x)


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
    if not layer.transposed:
        _check_window_fits(layer, shape, tuple(layer.weight.shape[2:]), layer.pad, layer.dilation)


@nograd
def _check_channel_counts(name, kernel, in_ch, out_ch):
    """A FluxpyError unless a layer built from its kernel size got both channel counts, non-negative ints (as
    ``Dense(3)`` without its output size is refused)."""
    shown = ", ".join(repr(v) for v in (kernel, in_ch, out_ch) if v is not None)
    if in_ch is None or out_ch is None:
        what = "input and output channels" if in_ch is None else "output channels too"
        raise FluxpyError(
            f"{name}({shown}) needs the {what}: {name}(kernel, in_ch, out_ch), or {name}(weight) with a "
            "weight array"
        )
    for n, what in ((in_ch, "input"), (out_ch, "output")):
        if isinstance(n, (bool, np.bool_)) or not isinstance(n, (int, np.integer)) or n < 0:
            raise FluxpyError(
                f"{name}({shown}): the {what} channel count must be a non-negative integer, got {n!r}"
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


@nograd
def _conv_arguments(flip, transposed, kernel, in_ch, out_ch, activation, bias, stride, pad, dilation, groups):
    """``(kernel, from a weight array, bias given positionally, activation, (stride, dilation, pad, groups))``
    of a convolution layer's arguments, checked. (The weight and the bias, arrays that may carry a
    gradient, are not returned: they do not pass through this non-differentiable function.)"""
    name = "ConvTranspose" if transposed else "Conv" if flip else "CrossCor"
    from_weight = is_array(kernel) or (hasattr(kernel, "shape") and hasattr(kernel, "dtype"))
    if from_weight:
        # Conv(weight, bias, activation) positionally, as Flux, or Conv(weight, bias=..., activation=...);
        # the bias takes create_bias's three forms (True: zeros, False: none, an array)
        positional_bias, activation = _weight_form(name, in_ch, out_ch, bias, activation)
        if kernel.ndim < 3:
            raise FluxpyError(
                f"{name}(weight): the weight must have shape (out_ch, in_ch // groups, *kernel), got "
                f"{kernel.shape}"
            )
        kernel = tuple(kernel.shape[2:])
    else:
        positional_bias, activation = False, _given(activation)
        kernel = _kernel(kernel)
        _check_channel_counts(name, kernel, in_ch, out_ch)
    check_activation(name, activation)
    nd = len(kernel)
    stride = expand(stride, nd)
    dilation = expand(dilation, nd, "dilation")
    if transposed and _is_same(pad):
        # Flux: calc_padding(ConvTranspose, SamePad(), k, dilation, stride)
        #     = calc_padding(Conv, SamePad(), k .- stride .+ 1, dilation, stride): output = input * stride
        if any(k < s for k, s in zip(kernel, stride, strict=True)):
            raise FluxpyError(
                f"{name}: pad=SamePad() needs a kernel at least as large as the stride in every spatial "
                f"dimension, got kernel {kernel} and stride={_short(stride)}; give pad and outpad"
            )
        pad = _pad_tuple(pad, tuple(k - s + 1 for k, s in zip(kernel, stride, strict=True)), dilation)
    else:
        pad = _pad_tuple(pad, kernel, dilation)
    _check_geometry(name, kernel, stride, pad, dilation)
    groups = int(groups)
    if groups < 1:
        raise FluxpyError(f"{name}: groups={groups} must be at least 1")
    return kernel, from_weight, positional_bias, activation, (stride, dilation, pad, groups)


class _ConvBase:
    flip = True
    transposed = False  # ConvTranspose: the only one with Flux's outpad

    def __init__(
        self,
        kernel,
        in_ch=None,
        out_ch=None,
        activation=_UNSET_ACTIVATION,
        *,
        stride=1,
        pad=0,
        dilation=1,
        groups=1,
        bias=_UNSET_BIAS,
        init=glorot_uniform,
        rng=None,
        outpad=0,
    ):
        size, from_weight, positional_bias, activation, geometry = _conv_arguments(
            self.flip,
            self.transposed,
            kernel,
            in_ch,
            out_ch,
            activation,
            bias,
            stride,
            pad,
            dilation,
            groups,
        )
        self.stride, self.dilation, self.pad, self.groups = geometry
        outpad = _outpad(self.transposed, outpad, self.stride, self.dilation)
        if self.transposed:
            self.outpad = outpad
        if from_weight:
            self.weight = kernel
        else:
            self.weight = self._init_weight(size, in_ch, out_ch, init, rng)
        self.bias = create_bias(
            self.weight, _bias_argument(in_ch if positional_bias else bias), self._out_channels()
        )
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
        x = _as_input(x)
        _check_channels(self, x, self._in_channels())
        cast = input_cast(self, x, self.weight)  # Flux's _match_eltype: float64 data into a float32 layer
        if cast == "float32":
            x = x.astype(np.float32)
        elif cast == "float16":
            x = x.astype(np.float16)
        activation = self.activation
        fused = activation is relu
        stride, pad, dilation, groups, flip = _geometry(self)
        y = conv_bias_act(
            x,
            self.weight,
            self.bias,
            act="relu" if fused else "identity",
            stride=stride,
            pad=pad,
            dilation=dilation,
            groups=groups,
            flip=flip,
        )
        return y if fused or activation is identity else activation(y)

    def outdims(self, isize):
        """Spatial output size for spatial (or full NCHW) input size ``isize``."""
        kernel = tuple(self.weight.shape[2:])
        out = conv_outsize(
            _spatial_size(isize, len(kernel), self),
            kernel,
            stride=self.stride,
            pad=self.pad,
            dilation=self.dilation,
        )
        return _nonempty(self, isize, out)

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
def _nonempty(layer, isize, out):
    """``out``, the output size ``outdims`` computed for input size ``isize``, unless the input is too small
    for the window (as the call and ``outputsize`` refuse it)."""
    if any(o < 1 for o in out):
        raise FluxpyError(
            f"{layer!r}: an input of size {tuple(isize)} is too small: its (dilated) window does not fit in "
            f"the padded input (the output size would be {tuple(out)})"
        )
    return tuple(out)


@nograd
def _transpose_outsize(layer, isize):
    kernel = tuple(layer.weight.shape[2:])
    out = conv_transpose_outsize(
        _spatial_size(isize, len(kernel), layer),
        kernel,
        stride=layer.stride,
        pad=layer.pad,
        dilation=layer.dilation,
        outpad=layer.outpad,
    )
    if any(o < 1 for o in out):
        raise FluxpyError(
            f"{layer!r}: an input of size {tuple(isize)} gives an empty output {out}: its padding "
            f"{layer.pad} crops more than the transposed convolution makes"
        )
    return out


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
        x = _as_input(x)
        _check_channels(self, x, self._in_channels())
        out_size = _transpose_outsize(self, np.shape(x))
        cast = input_cast(self, x, self.weight)
        if cast == "float32":
            x = x.astype(np.float32)
        elif cast == "float16":
            x = x.astype(np.float16)
        y = conv_transpose(
            x,
            self.weight,
            stride=self.stride,
            pad=self.pad,
            dilation=self.dilation,
            groups=self.groups,
            flip=True,
            out_size=out_size,
        )
        return self.activation(_add_bias(y, self.bias, self.weight.ndim - 2))

    def outdims(self, isize):
        """Spatial output size for spatial (or full NCHW) input size ``isize``."""
        return _transpose_outsize(self, isize)


def DepthwiseConv(kernel, in_ch=None, out_ch=None, activation=_UNSET_ACTIVATION, **kw):
    """A ``Conv`` with ``groups=in_ch`` (Flux's ``DepthwiseConv``); ``out_ch``: a multiple of ``in_ch``
    (default ``in_ch``).

    From a weight array, as Flux's ``DepthwiseConv(weight, bias=true, σ=identity; stride, pad, dilation)``:
    ``DepthwiseConv(weight, bias=True, activation=identity, *, stride=1, pad=0, dilation=1)`` with ``weight``
    of shape ``(out_ch, 1, *kernel)``, the shape of ``DepthwiseConv(kernel, in_ch, out_ch).weight``: one
    filter per output channel, each seeing one input channel. There are ``out_ch`` input channels unless
    ``groups=in_ch`` says otherwise (a divisor of ``out_ch``: ``out_ch // in_ch`` filters per channel).

    >>> import numpy as np
    >>> d = DepthwiseConv((3, 3), 4, 8)
    >>> d, d.weight.shape
    (Conv((3, 3), 4, 8, groups=4), (8, 1, 3, 3))
    >>> DepthwiseConv(np.ones((4, 1, 3, 3), dtype=np.float32), pad=1)
    Conv((3, 3), 4, 4, pad=1, groups=4)
    """
    if _is_weight(kernel):
        return _depthwise_from_weight(kernel, in_ch, out_ch, activation, dict(kw))
    activation = _given(activation)
    if in_ch is None:
        raise FluxpyError(
            f"DepthwiseConv({kernel!r}) needs the input channels: DepthwiseConv(kernel, in_ch, "
            "out_ch=in_ch), or DepthwiseConv(weight) with a weight array"
        )
    out_ch = in_ch if out_ch is None else out_ch
    _check_channel_counts("DepthwiseConv", _kernel(kernel), in_ch, out_ch)
    check_activation("DepthwiseConv", activation)
    if in_ch < 1:
        raise FluxpyError(f"DepthwiseConv: in_ch={in_ch} must be at least 1 (it is the number of groups)")
    if out_ch % in_ch:
        raise FluxpyError(f"DepthwiseConv: out_ch={out_ch} must be a multiple of in_ch={in_ch}")
    return Conv(kernel, in_ch, out_ch, activation, groups=in_ch, **kw)


def _is_weight(kernel):
    return is_array(kernel) or (hasattr(kernel, "shape") and hasattr(kernel, "dtype"))


def _depthwise_from_weight(weight, positional_bias, positional_activation, keyword_activation, kw):
    """``DepthwiseConv(weight, bias, activation; ...)``: a ``Conv(weight, ...)`` with one group per input
    channel, after checking that ``weight`` has a depthwise convolution's shape."""
    activation = positional_activation
    if not isinstance(keyword_activation, _Unset):
        if activation is not None:
            raise TypeError(
                "DepthwiseConv() got multiple values for argument 'activation': built from a weight array "
                "it takes DepthwiseConv(weight, bias, activation) positionally, or bias= and activation= "
                "as keywords"
            )
        activation = keyword_activation
    shape = tuple(weight.shape)
    if len(shape) < 3 or shape[1] != 1:
        raise FluxpyError(
            f"DepthwiseConv(weight): the weight must have shape (out_ch, 1, *kernel), one input channel per "
            f"filter, got {shape}; for other groupings use Conv(weight, groups=...)"
        )
    for name in ("init", "rng", "outpad"):
        if name in kw:
            raise FluxpyError(f"DepthwiseConv(weight) takes no {name}=: the weight array is the layer's")
    groups = kw.pop("groups", shape[0])
    if (
        isinstance(groups, bool)
        or not isinstance(groups, (int, np.integer))
        or groups < 1
        or shape[0] % groups
    ):
        raise FluxpyError(
            f"DepthwiseConv(weight): groups={groups!r} is the number of input channels, a positive divisor "
            f"of the {shape[0]} output channels of a weight of shape {shape}"
        )
    args = (weight,) if positional_bias is None else (weight, positional_bias)
    if activation is not None:
        kw["activation"] = activation
    return Conv(*args, groups=groups, **kw)


# ---------------------------------------------------------------------------------------------------------
# pooling


@nograd
@nograd
def _geometry(layer):
    """A convolution layer's ``(stride, pad, dilation, groups, flip)``, read in one call: in differentiated
    code each field read is a rule call with a pullback (0.05 ms of a CNN step for two layers)."""
    return layer.stride, layer.pad, layer.dilation, layer.groups, layer.flip


@nograd
def _pool_geometry(layer, shape):
    """``(window, stride, pad)`` tuples for an input of ``shape``: as stored when the window is a tuple
    (which also admits an unbatched sample), for ``(N, C, *spatial)`` when it is an int (the rank rule)."""
    if isinstance(layer.k, tuple):
        _check_rank(layer, shape, len(layer.k))
        window, stride, pad = layer.k, layer.stride, layer.pad
    else:
        nd = _open_rank(layer, shape)
        window, stride = (layer.k,) * nd, (layer.stride,) * nd
        pad = _pad_tuple(layer.pad, window, 1)
    _check_window_fits(layer, shape, window, pad)
    return window, stride, pad


def _int(value):
    return isinstance(value, (int, np.integer)) and not isinstance(value, (bool, np.bool_))


class _Pool:
    _op = None

    def __init__(self, window, *, stride=None, pad=0):
        name = type(self).__name__
        if _int(window):
            # an int window: every spatial axis of a batched input, however many (Flux's pools take a tuple)
            if not (stride is None or _int(stride)) or not (_int(pad) or _is_same(pad)):
                raise FluxpyError(
                    f"{name}({window}): an int window applies to every spatial axis of a batched input, "
                    f"so stride and pad must be ints too (or pad=SamePad()), got stride={stride!r}, "
                    f"pad={pad!r}; give the window as a tuple, one entry per spatial axis"
                )
            self.k = int(window)
            self.stride = self.k if stride is None else int(stride)
            self.pad = SamePad() if _is_same(pad) else int(pad)
            _check_geometry(name, (self.k,), (self.stride,), () if _is_same(pad) else (self.pad,))
            return
        self.k = _kernel(window)
        self.stride = self.k if stride is None else expand(stride, len(self.k))
        self.pad = _pad_tuple(pad, self.k, 1)
        _check_geometry(name, self.k, self.stride, self.pad)

    def __call__(self, x):
        x = _as_input(x)
        window, stride, pad = _pool_geometry(self, np.shape(x))
        return type(self)._op(x, window, stride=stride, pad=pad)

    def outdims(self, isize):
        """Spatial output size for spatial (or full NCHW) input size ``isize``."""
        if isinstance(self.k, tuple):
            out = conv_outsize(
                _spatial_size(isize, len(self.k), self), self.k, stride=self.stride, pad=self.pad
            )
            return _nonempty(self, isize, out)
        return self._spatial_outdims(_open_spatial_size(isize), isize)

    def _spatial_outdims(self, size, isize=None):
        """An int window's ``outdims`` for the spatial size ``size`` of any number of axes (errors name
        ``isize``, the size as given, or else ``size``)."""
        window = (self.k,) * len(size)
        out = conv_outsize(size, window, stride=self.stride, pad=_pad_tuple(self.pad, window, 1))
        return _nonempty(self, tuple(size) if isize is None else isize, out)

    def __repr__(self):
        extra = "" if self.stride == self.k else f", stride={_short(_as_tuple(self.stride))}"
        if isinstance(self.pad, SamePad):
            extra += ", pad=SamePad()"
        elif any(_as_tuple(self.pad)):
            extra += f", pad={_short(_as_tuple(self.pad))}"
        return f"{type(self).__name__}({self.k}{extra})"


def _as_tuple(value):
    return value if isinstance(value, tuple) else (value,)


@functor
class MaxPool(_Pool):
    """Maximum over windows (``stride`` defaults to the window). A tuple window fixes the number of spatial
    axes (an unbatched ``(C, *spatial)`` sample is accepted too); an int window pools every spatial axis of
    a batched ``(N, C, *spatial)`` input (``MaxPool(2)`` on ``(N, C, L)`` pools ``L``).

    >>> import numpy as np
    >>> p = MaxPool((2, 2))
    >>> p, p(np.arange(16.0).reshape(1, 1, 4, 4))[0, 0]
    (MaxPool((2, 2)), array([[ 5.,  7.], [13., 15.]]))
    >>> MaxPool(2)(np.arange(8.0).reshape(1, 2, 4))
    array([[[1., 3.], [5., 7.]]])
    """

    _op = staticmethod(maxpool)


@functor
class MeanPool(_Pool):
    """Mean over windows (``stride`` defaults to the window; padded zeros count); windows as
    :class:`MaxPool`'s.

    >>> import numpy as np
    >>> MeanPool((2, 2))(np.arange(16.0).reshape(1, 1, 4, 4))[0, 0]
    array([[ 2.5,  4.5], [10.5, 12.5]])
    """

    _op = staticmethod(meanpool)


@nograd
def _adaptive(layer, shape):
    """``(window, stride)`` of an adaptive pool from input ``shape`` to its output size (Flux's formula)."""
    if isinstance(layer.out, tuple):
        out = layer.out
        _check_rank(layer, shape, len(out))
    else:
        out = (layer.out,) * _open_rank(layer, shape)
    isize = tuple(shape[-len(out) :])
    if any(i < o for i, o in zip(isize, out, strict=True)):
        raise FluxpyError(
            f"{layer!r}: the input of shape {tuple(shape)} is too small: its spatial size {isize} is smaller "
            f"than the output size {out}"
        )
    stride = tuple(i // o for i, o in zip(isize, out, strict=True))
    window = tuple(i - (o - 1) * s for i, o, s in zip(isize, out, stride, strict=True))
    return window, stride


class _AdaptivePool:
    _op = None

    def __init__(self, out_size):
        self.out = int(out_size) if _int(out_size) else _kernel(out_size)
        if any(o < 1 for o in _as_tuple(self.out)):
            raise FluxpyError(f"{type(self).__name__}: the output size {self.out} must be at least 1")

    def __call__(self, x):
        x = _as_input(x)
        window, stride = _adaptive(self, np.shape(x))
        return type(self)._op(x, window, stride=stride)

    def outdims(self, isize):
        """The output size (``out_size``; an int: one per spatial axis of ``isize``, read by the rank rule),
        for an input whose spatial size is at least that (as the call requires)."""
        if isinstance(self.out, tuple):
            return self._spatial_outdims(_spatial_size(isize, len(self.out), self), isize)
        return self._spatial_outdims(_open_spatial_size(isize), isize)

    def _spatial_outdims(self, size, isize=None):
        """``outdims`` for the spatial size ``size`` (errors name ``isize``, as given, or ``size``)."""
        size = tuple(size)
        out = self.out if isinstance(self.out, tuple) else (self.out,) * len(size)
        if any(i < o for i, o in zip(size, out, strict=True)):
            shown = size if isize is None else tuple(isize)
            raise FluxpyError(
                f"{self!r}: an input of size {shown} is too small: its spatial size {size} is smaller than "
                f"the output size {out}"
            )
        return out

    def __repr__(self):
        return f"{type(self).__name__}({self.out})"


@functor
class AdaptiveMaxPool(_AdaptivePool):
    """Max pooling to a fixed spatial output size: a tuple (an unbatched ``(C, *spatial)`` sample is
    accepted too), or an int for every spatial axis of a batched ``(N, C, *spatial)`` input.

    >>> import numpy as np
    >>> AdaptiveMaxPool((2, 2))(np.ones((1, 3, 7, 9))).shape
    (1, 3, 2, 2)
    """

    _op = staticmethod(maxpool)


@functor
class AdaptiveMeanPool(_AdaptivePool):
    """Mean pooling to a fixed spatial output size (as :class:`AdaptiveMaxPool`).

    >>> import numpy as np
    >>> AdaptiveMeanPool((1, 2))(np.ones((1, 3, 4, 4))).shape
    (1, 3, 1, 2)
    >>> AdaptiveMeanPool(2)(np.ones((1, 3, 8))).shape  # an int: every spatial axis of a batch
    (1, 3, 2)
    """

    _op = staticmethod(meanpool)


@nograd
def _global_window(layer, shape):
    """All spatial axes of a batched input ``(N, C, *spatial)``: ``shape[2:]``."""
    _open_rank(layer, shape)
    return tuple(shape[2:])


class _GlobalPool:
    _op = None

    def __call__(self, x):
        x = _as_input(x)
        return type(self)._op(x, _global_window(self, np.shape(x)))

    def outdims(self, isize):
        """Ones, one per spatial axis of ``isize`` (a full ``(N, C, *spatial)`` size when it has 3 or more
        entries, else spatial)."""
        return self._spatial_outdims(_open_spatial_size(isize))

    def _spatial_outdims(self, size):
        return (1,) * len(size)

    def __repr__(self):
        return f"{type(self).__name__}()"


@functor
class GlobalMaxPool(_GlobalPool):
    """Maximum over all spatial axes of a batched input: ``(N, C, H, W)`` to ``(N, C, 1, 1)``, ``(N, C, L)``
    to ``(N, C, 1)`` (as Flux, every input is batched: no unbatched form).

    >>> import numpy as np
    >>> GlobalMaxPool()(np.arange(8.0).reshape(1, 2, 2, 2))
    array([[[[3.]], [[7.]]]])
    >>> GlobalMaxPool()(np.arange(8.0).reshape(2, 2, 2))
    array([[[1.], [3.]], [[5.], [7.]]])
    """

    _op = staticmethod(maxpool)


@functor
class GlobalMeanPool(_GlobalPool):
    """Mean over all spatial axes of a batched input: ``(N, C, H, W)`` to ``(N, C, 1, 1)``, ``(N, C, L)``
    to ``(N, C, 1)`` (as Flux, every input is batched: no unbatched form).

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


_LINEAR_MODES = ("bilinear", "linear", "trilinear")


@nograd
def _upsample_scale(scale, mode):
    """``scale`` checked: an int or real (every spatial axis) or a tuple (one per spatial axis), positive;
    integral for ``"nearest"``. Integral reals become ints."""
    single = not isinstance(scale, (tuple, list))
    values = (scale,) if single else tuple(scale)
    if not values or any(
        isinstance(v, (bool, np.bool_)) or not isinstance(v, (int, float, np.integer, np.floating))
        for v in values
    ):
        raise FluxpyError(f"Upsample: scale must be a positive number or a tuple of them, got {scale!r}")
    if any(not v > 0 or not math.isfinite(v) for v in values):
        raise FluxpyError(f"Upsample: scale {scale!r} must be positive")
    values = tuple(int(v) if float(v).is_integer() else float(v) for v in values)
    if mode == "nearest" and any(isinstance(v, float) for v in values):
        raise FluxpyError(
            f"Upsample: mode='nearest' repeats entries, so it needs integer scales, got {scale!r}; "
            "use mode='bilinear' (or 'linear', 'trilinear') for a real scale"
        )
    return values[0] if single else values


@nograd
def _upsample_target(size):
    """``size=`` checked: a tuple of output sizes, one per spatial axis, each at least 1 (as Flux's, whose
    ``size`` is a tuple: it fixes the number of spatial axes)."""
    values = tuple(size) if isinstance(size, (tuple, list)) else None
    if not values or not all(_int(v) and v >= 1 for v in values):
        raise FluxpyError(
            f"Upsample: size must be a tuple of output sizes, one positive int per spatial axis (such as "
            f"size=(8, 8)), got {size!r}"
        )
    return tuple(int(v) for v in values)


@nograd
def _upsample_out(layer, insize, shown):
    """``(scale tuple, output spatial size)`` of ``layer`` for the spatial input size ``insize`` (the scale
    ``None`` for an interpolation to ``size``), refusing what the call refuses; the messages name ``shown``,
    the input as the caller gave it."""
    insize = tuple(insize)
    if layer.size is not None:
        size = layer.size
        if any(i < 1 for i in insize):
            raise FluxpyError(f"{layer!r}: {shown} has an empty spatial axis: there is nothing to upsample")
        if layer.mode != "nearest":
            return None, size
        if any(o % i for o, i in zip(size, insize, strict=True)):
            raise FluxpyError(
                f"{layer!r}: mode='nearest' repeats entries, so the output size {size} must be a multiple of "
                f"the spatial size {insize} of {shown}; use mode='bilinear' for any size"
            )
        return tuple(o // i for o, i in zip(size, insize, strict=True)), size
    scale = layer.scale if isinstance(layer.scale, tuple) else (layer.scale,) * len(insize)
    size = tuple(math.floor(i * s) for i, s in zip(insize, scale, strict=True))
    if any(o < 1 for o in size):
        raise FluxpyError(f"{layer!r}: {shown} gives an empty output {size}")
    return scale, size


@nograd
def _upsample_size(layer, shape):
    """``(scale tuple, output spatial size)`` of ``layer`` on an input of ``shape`` (the rank rule)."""
    nd = layer._rank()
    if nd is None:
        nd = _open_rank(layer, shape)
    else:
        _check_rank(layer, shape, nd)
    return _upsample_out(layer, shape[-nd:], f"an input of shape {tuple(shape)}")


@functor
class Upsample:
    """Upsampling of the spatial axes by ``scale``, or to the output size ``size``: ``mode="nearest"`` repeats
    entries (integer scales; an output size a multiple of the input's); ``"bilinear"`` (also ``"linear"``,
    ``"trilinear"``: each interpolates linearly along every spatial axis) interpolates with aligned corners,
    as Flux, and takes real scales too (output size ``floor(input * scale)``, as PyTorch's
    ``interpolate(..., align_corners=True)``) and any output size.

    Flux's forms: ``Upsample(scale, mode="nearest")`` and ``Upsample(mode="nearest", *, scale=None,
    size=None)`` with the mode first, as ``Upsample(:bilinear; scale=2)``: ``Upsample("bilinear", scale=2)``,
    ``Upsample(size=(8, 8))``; exactly one of ``scale`` and ``size``.

    A tuple ``scale`` gives one factor per spatial axis, and ``size`` one output size per spatial axis (both
    admit an unbatched ``(C, *spatial)`` sample); an int or real scale applies to every spatial axis of a
    batched ``(N, C, *spatial)`` input (as Flux: ``(N, C, L)`` is upsampled along ``L``, ``(N, C, D, H, W)``
    along all three).

    >>> import numpy as np
    >>> u = Upsample(2)
    >>> u, u(np.ones((1, 3, 2, 4))).shape, u.outdims((2, 4))
    (Upsample(2, mode='nearest'), (1, 3, 4, 8), (4, 8))
    >>> Upsample(2)(np.ones((1, 3, 4))).shape, Upsample(1.5, mode="bilinear")(np.ones((1, 3, 4, 4))).shape
    ((1, 3, 8), (1, 3, 6, 6))
    >>> b = Upsample("bilinear", size=(4, 5))
    >>> b, b(np.ones((1, 3, 2, 2))).shape, Upsample("bilinear", scale=2)
    (Upsample('bilinear', size=(4, 5)), (1, 3, 4, 5), Upsample(2, mode='bilinear'))
    """

    def __init__(self, *args, scale=None, mode=None, size=None):
        # Flux's two forms: Upsample(scale, mode) and Upsample(mode; scale, size); positional arguments are
        # read by hand so that the mode may come first with scale= as a keyword
        if len(args) > 2 or (args and isinstance(args[0], str) and len(args) > 1):
            raise FluxpyError(
                f"Upsample takes Upsample(scale, mode) or Upsample(mode, scale=..., size=...), got the "
                f"positional arguments {args!r}"
            )
        if args and isinstance(args[0], str):
            if mode is not None:
                raise FluxpyError(f"Upsample: the mode is given twice, {args[0]!r} and mode={mode!r}")
            mode = args[0]
        elif args:
            if scale is not None:
                raise FluxpyError(f"Upsample: the scale is given twice, {args[0]!r} and scale={scale!r}")
            scale = args[0]
            if len(args) == 2:
                if mode is not None:
                    raise FluxpyError(f"Upsample: the mode is given twice, {args[1]!r} and mode={mode!r}")
                mode = args[1]
        mode = "nearest" if mode is None else mode
        if not isinstance(mode, str) or mode not in ("nearest",) + _LINEAR_MODES:
            raise FluxpyError(
                f"Upsample: unknown mode {mode!r} (use 'nearest', 'bilinear', 'linear' or 'trilinear')"
            )
        if (scale is None) == (size is None):
            raise FluxpyError(
                "Upsample: give either a scale or an output size (but not both): Upsample(2), "
                f"Upsample((2, 3), mode='bilinear'), Upsample({mode!r}, size=(8, 8)); got scale={scale!r}, "
                f"size={size!r}"
            )
        self.scale = None if scale is None else _upsample_scale(scale, mode)
        self.size = None if size is None else _upsample_target(size)
        self.mode = mode

    def _rank(self):
        """The number of spatial axes a tuple ``scale`` or ``size`` fixes; None where it is open."""
        if self.size is not None:
            return len(self.size)
        return len(self.scale) if isinstance(self.scale, tuple) else None

    def __call__(self, x):
        x = _as_input(x)
        scale, size = _upsample_size(self, np.shape(x))
        if self.mode == "nearest":
            return upsample_nearest(x, scale)
        return upsample_linear(x, size=size)

    def outdims(self, isize):
        """Spatial output size (``floor(isize * scale)``, or ``size``) for a spatial or full input size
        ``isize`` (an int or real scale: a full ``(N, C, *spatial)`` size when it has 3 or more entries, else
        spatial); a ``FluxpyError`` where the call would refuse the input (an empty output)."""
        nd = self._rank()
        spatial = _open_spatial_size(isize) if nd is None else _spatial_size(isize, nd, self)
        return _upsample_out(self, spatial, f"an input of size {tuple(isize)}")[1]

    def _spatial_outdims(self, size):
        """``outdims`` for the spatial size ``size`` of any number of axes (an int or real scale)."""
        return _upsample_out(self, size, f"an input of spatial size {tuple(size)}")[1]

    def __repr__(self):
        if self.size is not None:
            return f"Upsample({self.mode!r}, size={self.size})"  # Flux's Upsample(:bilinear, size = (4, 5))
        return f"Upsample({self.scale}, mode={self.mode!r})"  # a tuple stays one: it fixes the rank


@nograd
def _pixel_shuffle_shapes(layer, shape):
    """``(split, perm, out)``: the reshape, transpose and reshape that ``PixelShuffle`` does on an input of
    ``shape`` ``(N, C * r^d, *spatial)``: the channel axis split into ``(C, r, .., r)`` (the last ``r``
    varying fastest), each ``r`` moved after its spatial axis, and each pair merged."""
    d = _open_rank(layer, shape)
    r = layer.r
    n, cin, spatial = shape[0], shape[1], tuple(shape[2:])
    if cin % r**d:
        raise FluxpyError(
            f"{layer!r}: an input of shape {tuple(shape)} has {cin} channels, not a multiple of r^d = "
            f"{r}^{d} = {r**d} (d = {d} spatial axes): PixelShuffle turns C * r^d channels into C"
        )
    split = (n, cin // r**d) + (r,) * d + spatial
    perm = (0, 1) + tuple(a for j in range(d) for a in (2 + d + j, 2 + j))
    out = (n, cin // r**d) + tuple(i * r for i in spatial)
    return split, perm, out


@functor
class PixelShuffle:
    """Flux's ``PixelShuffle(r)`` (NNlib's ``pixel_shuffle``): a batched input ``(N, C * r^d, *spatial)``
    with ``d`` spatial axes becomes ``(N, C, *(spatial * r))``, its channels spread over ``r``-fold larger
    spatial axes (sub-pixel convolution, for super-resolution). Output channel ``c`` at ``(h * r + i,
    w * r + j)`` is input channel ``c * r^2 + i * r + j`` at ``(h, w)``: Flux's ordering in fluxpy's
    channels-first layout, which is PyTorch's ``pixel_shuffle`` for images. No parameters.

    >>> import numpy as np
    >>> p = PixelShuffle(2)
    >>> p, p(np.ones((1, 8, 3, 3))).shape, p.outdims((3, 3))
    (PixelShuffle(2), (1, 2, 6, 6), (6, 6))
    >>> p(np.arange(4.0).reshape(1, 4, 1, 1))[0, 0]  # channels (i, j) = (0, 0), (0, 1), (1, 0), (1, 1)
    array([[0., 1.],
           [2., 3.]])
    """

    def __init__(self, r):
        if not _int(r) or r < 1:
            raise FluxpyError(f"PixelShuffle: the upscale factor r must be a positive integer, got {r!r}")
        self.r = int(r)

    def __call__(self, x):
        x = _as_input(x)
        split, perm, out = _pixel_shuffle_shapes(self, np.shape(x))
        return np.reshape(np.transpose(np.reshape(x, split), perm), out)

    def outdims(self, isize):
        """``r`` times the spatial input size (a full ``(N, C, *spatial)`` size when ``isize`` has 3 or more
        entries, whose channels are then checked, else spatial)."""
        isize = tuple(int(i) for i in isize)
        if len(isize) >= 3:
            _pixel_shuffle_shapes(self, isize)
        return self._spatial_outdims(_open_spatial_size(isize))

    def _spatial_outdims(self, size):
        return tuple(int(i) * self.r for i in size)

    def __repr__(self):
        return f"PixelShuffle({self.r})"


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
    "PixelShuffle",
    "SamePad",
    "Upsample",
    "flatten",
]
