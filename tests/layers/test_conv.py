"""Convolution and pooling: kernels against nested-loop references and PyTorch, layers, gradients, outdims."""

import itertools
import math
import tracemalloc

import numpy as np
import pytest

import fluxpy as fx
from fluxpy.errors import FluxpyError
from fluxpy.layers.activations import identity
from fluxpy.layers.conv import (
    AdaptiveMaxPool,
    AdaptiveMeanPool,
    Conv,
    ConvTranspose,
    CrossCor,
    DepthwiseConv,
    GlobalMaxPool,
    GlobalMeanPool,
    MaxPool,
    MeanPool,
    SamePad,
    Upsample,
    flatten,
)
from fluxpy.nnlib import conv as nnconv
from fluxpy.nnlib.conv import (
    conv,
    conv_bias_act,
    conv_bias_act_partial,
    conv_filter_grad,
    conv_transpose,
    maxpool,
    maxpool_gather,
    maxpool_scatter,
    meanpool,
    meanpool_transpose,
    upsample_linear,
    upsample_nearest,
)
from fluxpy.testing import check_grads

rng = np.random.default_rng(0)


# ---------------------------------------------------------------------------------------------------------
# nested-loop references (2-D, batched)


def ref_conv(x, w, stride=(1, 1), pad=(0, 0, 0, 0), dilation=(1, 1), groups=1, flip=True):
    n_batch, _, _, _ = x.shape
    n_out, cg, kh, kw = w.shape
    if flip:
        w = w[:, :, ::-1, ::-1]
    xp = np.pad(x, ((0, 0), (0, 0), (pad[0], pad[1]), (pad[2], pad[3])))
    ho = (xp.shape[2] - dilation[0] * (kh - 1) - 1) // stride[0] + 1
    wo = (xp.shape[3] - dilation[1] * (kw - 1) - 1) // stride[1] + 1
    og = n_out // groups
    y = np.zeros((n_batch, n_out, ho, wo))
    for n, o, i, j in itertools.product(range(n_batch), range(n_out), range(ho), range(wo)):
        g = o // og
        total = 0.0
        for c, a, b in itertools.product(range(cg), range(kh), range(kw)):
            total += (
                xp[n, g * cg + c, i * stride[0] + a * dilation[0], j * stride[1] + b * dilation[1]]
                * w[o, c, a, b]
            )
        y[n, o, i, j] = total
    return y


def ref_conv_transpose(y, w, stride, pad, size, flip=True, dilation=(1, 1)):
    """Scatter each input entry times the (dilated) kernel (the adjoint of ``ref_conv`` with groups=1).

    ``size`` may exceed the default size (``outpad``): the padded buffer is ``size + lo + hi`` long and the
    rows that no entry reaches stay zero."""
    n_batch, n_out, ho, wo = y.shape
    _, n_in, kh, kw = w.shape
    (sh, sw), (dh, dw) = stride, dilation
    if flip:
        w = w[:, :, ::-1, ::-1]
    xp = np.zeros((n_batch, n_in, size[0] + pad[0] + pad[1], size[1] + pad[2] + pad[3]))
    for n, o, i, j in itertools.product(range(n_batch), range(n_out), range(ho), range(wo)):
        rows = slice(i * sh, i * sh + dh * (kh - 1) + 1, dh)
        cols = slice(j * sw, j * sw + dw * (kw - 1) + 1, dw)
        xp[n, :, rows, cols] += y[n, o, i, j] * w[o]
    return xp[:, :, pad[0] : pad[0] + size[0], pad[2] : pad[2] + size[1]]


def ref_pool(x, window, stride, pad, op):
    fill = -np.inf if op is np.max else 0.0
    xp = np.pad(x, ((0, 0), (0, 0), (pad[0], pad[1]), (pad[2], pad[3])), constant_values=fill)
    ho = (xp.shape[2] - window[0]) // stride[0] + 1
    wo = (xp.shape[3] - window[1]) // stride[1] + 1
    y = np.zeros(x.shape[:2] + (ho, wo))
    for i, j in itertools.product(range(ho), range(wo)):
        patch = xp[:, :, i * stride[0] : i * stride[0] + window[0], j * stride[1] : j * stride[1] + window[1]]
        y[:, :, i, j] = op(patch, axis=(2, 3))
    return y


CONV_CASES = [
    dict(stride=(1, 1), pad=(0, 0, 0, 0), dilation=(1, 1), groups=1),
    dict(stride=(2, 1), pad=(1, 2, 0, 1), dilation=(1, 2), groups=2),
    dict(stride=(2, 2), pad=(1, 1, 1, 1), dilation=(2, 1), groups=4),
    dict(stride=(3, 2), pad=(2, 0, 1, 1), dilation=(1, 1), groups=1),
]


@pytest.mark.parametrize("case", CONV_CASES)
@pytest.mark.parametrize("flip", [True, False])
def test_conv_matches_the_nested_loop_reference(case, flip):
    x = rng.standard_normal((2, 4, 7, 8))
    w = rng.standard_normal((8, 4 // case["groups"], 3, 2))
    y = conv(x, w, flip=flip, **case)
    np.testing.assert_allclose(y, ref_conv(x, w, flip=flip, **case), atol=1e-12)
    # the two gradients are the adjoints of the convolution in x and in w
    dy = rng.standard_normal(y.shape)
    x2, w2 = rng.standard_normal(x.shape), rng.standard_normal(w.shape)
    dx = conv_transpose(dy, w, flip=flip, out_size=(7, 8), **case)
    dw = conv_filter_grad(x, dy, kernel=(3, 2), flip=flip, **case)
    assert dx.shape == x.shape and dw.shape == w.shape
    np.testing.assert_allclose(np.sum(dx * x2), np.sum(dy * conv(x2, w, flip=flip, **case)))
    np.testing.assert_allclose(np.sum(dw * w2), np.sum(dy * conv(x, w2, flip=flip, **case)))


@pytest.mark.parametrize(
    "stride, pad", [((1, 1), (0, 0, 0, 0)), ((2, 2), (1, 1, 1, 1)), ((2, 3), (0, 1, 2, 0))]
)
def test_conv_transpose_matches_the_scatter_reference(stride, pad):
    y = rng.standard_normal((2, 3, 4, 3))
    w = rng.standard_normal((3, 2, 3, 3))
    size = tuple(
        (i - 1) * s - lo - hi + 3 for i, s, lo, hi in zip((4, 3), stride, pad[::2], pad[1::2], strict=True)
    )
    out = conv_transpose(y, w, stride=stride, pad=pad)
    assert out.shape == (2, 2) + size
    np.testing.assert_allclose(out, ref_conv_transpose(y, w, stride, pad, size), atol=1e-12)
    t = ConvTranspose(w, False, stride=stride, pad=pad)
    np.testing.assert_allclose(t(y), out)
    assert t.outdims(y.shape) == size


# (stride, pad, dilation, outpad): outpad below the stride, above the high padding (zero rows), and below
# the dilation with stride 1 (PyTorch's output_padding rule allows either)
OUTPAD_CASES = [
    ((2, 2), (1, 1, 1, 1), (1, 1), (1, 1)),
    ((2, 3), (0, 1, 2, 0), (1, 1), (1, 2)),
    ((3, 2), (0, 0, 0, 0), (1, 1), (2, 1)),
    ((1, 2), (1, 1, 0, 0), (2, 1), (1, 0)),
]


def _default_transpose_size(isize, kernel, stride, pad, dilation):
    return tuple(
        (i - 1) * s - lo - hi + d * (k - 1) + 1
        for i, k, s, lo, hi, d in zip(isize, kernel, stride, pad[::2], pad[1::2], dilation, strict=True)
    )


@pytest.mark.parametrize("stride, pad, dilation, outpad", OUTPAD_CASES)
def test_conv_transpose_outpad_matches_the_scatter_reference(stride, pad, dilation, outpad):
    y = rng.standard_normal((2, 3, 4, 3))
    w = rng.standard_normal((3, 2, 3, 2))
    default = _default_transpose_size((4, 3), (3, 2), stride, pad, dilation)
    size = tuple(d + o for d, o in zip(default, outpad, strict=True))
    t = ConvTranspose(w, False, stride=stride, pad=pad, dilation=dilation, outpad=outpad)
    out = t(y)
    assert out.shape == (2, 2) + size
    assert t.outdims(y.shape) == t.outdims((4, 3)) == size == fx.outdims(t, y.shape)
    assert fx.outputsize(t, y.shape) == out.shape
    np.testing.assert_allclose(
        out, ref_conv_transpose(y, w, stride, pad, size, dilation=dilation), atol=1e-12
    )
    # the outpad rows are the high end of the same scatter: cropping them gives the layer without outpad
    plain = ConvTranspose(w, False, stride=stride, pad=pad, dilation=dilation)(y)
    np.testing.assert_allclose(out[:, :, : default[0], : default[1]], plain, atol=1e-12)
    np.testing.assert_allclose(t(y[0]), out[0], atol=1e-12)  # unbatched


@pytest.mark.parametrize(
    "stride, pad, dilation, outpad", [c for c in OUTPAD_CASES if c[1][::2] == c[1][1::2]]
)  # PyTorch's conv_transpose2d pads both sides alike
def test_conv_transpose_outpad_against_torch(stride, pad, dilation, outpad):
    torch = pytest.importorskip("torch")
    y = rng.standard_normal((2, 4, 4, 3))
    wt = rng.standard_normal((4, 3, 3, 2))  # (in, out // groups, kH, kW), as PyTorch
    expected = torch.nn.functional.conv_transpose2d(
        torch.from_numpy(y),
        torch.from_numpy(wt),
        stride=stride,
        padding=pad[::2],
        output_padding=outpad,
        dilation=dilation,
        groups=2,
    ).numpy()
    layer = ConvTranspose(
        wt[:, :, ::-1, ::-1].copy(), False, stride=stride, pad=pad, dilation=dilation, groups=2, outpad=outpad
    )
    np.testing.assert_allclose(layer(y), expected, atol=1e-10)
    assert layer.outdims(y.shape) == expected.shape[2:]


@pytest.mark.parametrize("size", [8, 10, 7])
def test_outpad_makes_conv_transpose_invert_a_strided_conv_size(size):
    down = Conv((3, 3), 2, 4, stride=2, pad=1)
    up = ConvTranspose((3, 3), 4, 2, stride=2, pad=1, outpad=1 - size % 2)
    x = rng.standard_normal((1, 2, size, size)).astype(np.float32)
    assert up(down(x)).shape == x.shape
    m = fx.Chain(down, up)
    assert m(x).shape == x.shape and fx.outdims(m, (size, size)) == (size, size)
    assert fx.outputsize(m, x.shape) == x.shape
    # without outpad an even size comes back one short: the stride-2 Conv maps 2n and 2n - 1 alike
    assert ConvTranspose((3, 3), 4, 2, stride=2, pad=1)(down(x)).shape[2:] == (size - 1 + size % 2,) * 2
    k4 = fx.Chain(Conv((4, 4), 2, 4, stride=2, pad=1), ConvTranspose((4, 4), 4, 2, stride=2, pad=1))
    if size % 2 == 0:  # kernel 4, pad 1: even sizes come back without outpad
        assert k4(x).shape == x.shape


def test_outpad_repr_fields_and_errors():
    t = ConvTranspose((3, 3), 4, 2, stride=2, pad=1, outpad=1)
    assert t.outpad == (1, 1) and repr(t) == "ConvTranspose((3, 3), 4, 2, stride=2, pad=1, outpad=1)"
    assert repr(ConvTranspose((3, 3), 4, 2, stride=(2, 3), outpad=(0, 2))) == (
        "ConvTranspose((3, 3), 4, 2, stride=(2, 3), outpad=(0, 2))"
    )
    assert repr(ConvTranspose((3, 3), 4, 2, stride=2)) == "ConvTranspose((3, 3), 4, 2, stride=2)"
    assert ConvTranspose((3, 3), 4, 2).outpad == (0, 0)
    assert "outpad" not in fx.children(Conv((3, 3), 1, 1)) and not hasattr(Conv((3, 3), 1, 1), "outpad")
    assert ConvTranspose((3,), 1, 1, dilation=3, outpad=2).outpad == (2,)  # below the dilation is valid
    for kw in [dict(stride=2, outpad=2), dict(stride=(2, 1), outpad=(1, 1)), dict(outpad=-1)]:
        with pytest.raises(FluxpyError, match="smaller than either stride"):
            ConvTranspose((3, 3), 4, 2, **kw)
    with pytest.raises(FluxpyError, match="outpad .* does not match 2 spatial"):
        ConvTranspose((3, 3), 4, 2, stride=2, outpad=(1, 1, 1))
    with pytest.raises(FluxpyError, match="only ConvTranspose has outpad"):
        Conv((3, 3), 4, 2, stride=2, outpad=1)
    assert Conv((3, 3), 4, 2, stride=2, outpad=0).stride == (2, 2)


@pytest.mark.parametrize(
    "window, stride, pad",
    [((2, 2), (2, 2), (0, 0, 0, 0)), ((3, 2), (1, 2), (1, 1, 0, 1)), ((3, 3), (2, 1), (1, 1, 1, 1))],
)
def test_pools_match_the_nested_loop_reference(window, stride, pad):
    x = rng.standard_normal((2, 3, 7, 6))
    np.testing.assert_allclose(
        maxpool(x, window, stride=stride, pad=pad), ref_pool(x, window, stride, pad, np.max)
    )
    np.testing.assert_allclose(
        meanpool(x, window, stride=stride, pad=pad), ref_pool(x, window, stride, pad, np.mean), atol=1e-12
    )
    np.testing.assert_allclose(
        MaxPool(window, stride=stride, pad=pad)(x), ref_pool(x, window, stride, pad, np.max)
    )
    # scatter/gather and the mean's transpose are adjoint pairs
    y = maxpool(x, window, stride=stride, pad=pad)
    dy, x2 = rng.standard_normal(y.shape), rng.standard_normal(x.shape)
    opts = dict(window=window, stride=stride, pad=pad)
    np.testing.assert_allclose(
        np.sum(maxpool_scatter(dy, x, **opts) * x2), np.sum(dy * maxpool_gather(x2, x, **opts))
    )
    np.testing.assert_allclose(
        np.sum(meanpool_transpose(dy, out_size=(7, 6), **opts) * x2), np.sum(dy * meanpool(x2, **opts))
    )


def test_one_dimensional_convolution_and_pooling():
    x = np.arange(6.0).reshape(1, 1, 6)
    c = Conv((3,), 1, 2, init=lambda *d: np.array([[[1.0, 0.0, -1.0]], [[1.0, 1.0, 1.0]]]), bias=False)
    np.testing.assert_allclose(c(x), [[[2.0, 2.0, 2.0, 2.0], [3.0, 6.0, 9.0, 12.0]]])
    assert c.outdims((6,)) == (4,)
    np.testing.assert_allclose(MaxPool((2,))(x), [[[1.0, 3.0, 5.0]]])
    np.testing.assert_allclose(MeanPool((3,))(x), [[[1.0, 4.0]]])


# ---------------------------------------------------------------------------------------------------------
# PyTorch (cross-correlation; Flux's Conv flips the kernel)


def test_against_torch():
    torch = pytest.importorskip("torch")
    F = torch.nn.functional
    t = torch.from_numpy
    x = rng.standard_normal((2, 4, 9, 8))
    w = rng.standard_normal((6, 2, 3, 3))
    opts = dict(stride=(2, 1), padding=(1, 2), dilation=(1, 2), groups=2)
    expected = F.conv2d(t(x), t(w), **opts).numpy()
    mine = dict(stride=(2, 1), pad=(1, 2), dilation=(1, 2), groups=2)
    np.testing.assert_allclose(conv(x, w, flip=False, **mine), expected, atol=1e-10)
    np.testing.assert_allclose(conv(x, w[:, :, ::-1, ::-1].copy(), **mine), expected, atol=1e-10)
    np.testing.assert_allclose(CrossCor(w, False, **mine)(x), expected, atol=1e-10)
    np.testing.assert_allclose(Conv(w[:, :, ::-1, ::-1].copy(), False, **mine)(x), expected, atol=1e-10)

    np.testing.assert_allclose(
        maxpool(x, (3, 2), stride=(2, 1), pad=(1, 1)), F.max_pool2d(t(x), (3, 2), (2, 1), (1, 1)).numpy()
    )
    np.testing.assert_allclose(
        meanpool(x, (3, 3), stride=2, pad=1), F.avg_pool2d(t(x), 3, 2, 1).numpy(), atol=1e-12
    )  # padded zeros count in both

    y = rng.standard_normal((2, 4, 4, 5))
    wt = rng.standard_normal((4, 3, 3, 2))  # (in, out // groups, kH, kW), as PyTorch
    expected = F.conv_transpose2d(t(y), t(wt), stride=2, padding=1, dilation=(1, 2)).numpy()
    np.testing.assert_allclose(
        conv_transpose(y, wt, stride=2, pad=1, dilation=(1, 2), flip=False), expected, atol=1e-10
    )
    expected = F.interpolate(t(x), scale_factor=(2, 3), mode="bilinear", align_corners=True).numpy()
    np.testing.assert_allclose(Upsample((2, 3), mode="bilinear")(x), expected, atol=1e-12)
    np.testing.assert_allclose(Upsample(2)(x), F.interpolate(t(x), scale_factor=2, mode="nearest").numpy())

    expected = F.conv_transpose2d(t(y), t(wt), stride=2, padding=1, dilation=(1, 2)).numpy()
    layer = ConvTranspose(wt[:, :, ::-1, ::-1].copy(), False, stride=2, pad=1, dilation=(1, 2))
    np.testing.assert_allclose(layer(y), expected, atol=1e-10)
    assert layer.outdims(y.shape) == expected.shape[2:]


# ---------------------------------------------------------------------------------------------------------
# layers


def test_conv_layer_fields_repr_and_outdims():
    c = Conv((3, 3), 3, 16, fx.relu)
    assert c.weight.shape == (16, 3, 3, 3) and c.bias.shape == (16,) and c.weight.dtype == np.float32
    assert repr(c) == "Conv((3, 3), 3, 16, relu)"
    assert c.outdims((10, 10)) == (8, 8) and c.outdims((5, 3, 10, 10)) == (8, 8)
    assert Conv((3, 3), 3, 16, stride=2, pad=1).outdims((10, 10)) == (5, 5)
    y = c(rng.standard_normal((5, 3, 10, 10)).astype(np.float32))
    assert y.shape == (5, 16, 8, 8) and y.dtype == np.float32 and np.all(y >= 0)
    assert (
        repr(Conv((3, 3), 4, 8, stride=2, pad=1, bias=False))
        == "Conv((3, 3), 4, 8, stride=2, pad=1, bias=False)"
    )
    assert Conv((3, 3), 4, 8, bias=False).bias is False
    assert repr(CrossCor((2, 2), 1, 2)) == "CrossCor((2, 2), 1, 2)"
    assert repr(MaxPool((2, 2))) == "MaxPool((2, 2))"
    assert repr(MeanPool((3, 3), stride=1, pad=1)) == "MeanPool((3, 3), stride=1, pad=1)"
    assert (
        repr(GlobalMeanPool()) == "GlobalMeanPool()"
        and repr(AdaptiveMaxPool((2, 2))) == "AdaptiveMaxPool((2, 2))"
    )
    d = DepthwiseConv((3, 3), 4, 8)
    assert d.groups == 4 and d.weight.shape == (8, 1, 3, 3)


def test_rng_makes_weights_reproducible():
    a = Conv((3, 3), 2, 4, rng=np.random.default_rng(7))
    b = Conv((3, 3), 2, 4, rng=np.random.default_rng(7))
    np.testing.assert_array_equal(a.weight, b.weight)
    c = ConvTranspose((2, 2), 2, 4, rng=np.random.default_rng(7))
    assert c.weight.shape == (2, 4, 2, 2)
    assert [p.shape for p in fx.params(a)] == [(4, 2, 3, 3), (4,)]


def test_same_padding_keeps_the_size():
    for stride, dilation in [(1, 1), (1, 2), (2, 1)]:
        c = Conv((4, 3), 2, 3, pad=SamePad(), stride=stride, dilation=dilation)
        y = c(rng.standard_normal((1, 2, 9, 8)).astype(np.float32))
        assert y.shape[2:] == (-(-9 // stride), -(-8 // stride)) == c.outdims((9, 8))
    assert Conv((3, 3), 1, 1, pad="same").pad == (1, 1, 1, 1)


def test_unbatched_inputs_match_batched_ones():
    # layers whose kernel, window or scale is a tuple (the number of spatial axes fixed) take an unbatched
    # sample; the global pools and int windows or scales read every input as batched (test_hunt11_layers)
    x = rng.standard_normal((3, 8, 8)).astype(np.float32)
    for layer in [
        Conv((3, 3), 3, 4, stride=2, pad=1),
        CrossCor((2, 2), 3, 2),
        ConvTranspose((3, 3), 3, 2, stride=2),
        DepthwiseConv((3, 3), 3, 6),
        MaxPool((2, 2)),
        MeanPool((3, 3), stride=2),
        AdaptiveMeanPool((3, 3)),
        AdaptiveMaxPool((2, 3)),
        Upsample((2, 2)),
        Upsample((2, 2), mode="bilinear"),
    ]:
        np.testing.assert_allclose(layer(x), layer(x[None])[0], rtol=1e-6, err_msg=repr(layer))


def test_pool_layers_and_flatten_shapes():
    x = rng.standard_normal((2, 3, 7, 9))
    assert AdaptiveMaxPool((2, 3))(x).shape == (2, 3, 2, 3) and AdaptiveMeanPool((7, 9))(x).shape == x.shape
    np.testing.assert_allclose(AdaptiveMeanPool((1, 1))(x), GlobalMeanPool()(x))
    np.testing.assert_allclose(GlobalMaxPool()(x)[:, :, 0, 0], x.max(axis=(2, 3)))
    np.testing.assert_allclose(GlobalMeanPool()(x)[:, :, 0, 0], x.mean(axis=(2, 3)))
    assert GlobalMaxPool().outdims((7, 9)) == (1, 1) and AdaptiveMaxPool((2, 3)).outdims((7, 9)) == (2, 3)
    assert MaxPool((2, 2)).outdims((7, 9)) == (3, 4) and MaxPool((3, 3), stride=1, pad=1).outdims((7, 9)) == (
        7,
        9,
    )
    assert flatten(x).shape == (2, 189)
    u = Upsample((2, 3))
    np.testing.assert_allclose(u(x), x.repeat(2, axis=2).repeat(3, axis=3))
    assert u.outdims(x.shape) == (14, 27)


def test_a_small_cnn_chain():
    m = fx.Chain(
        Conv((3, 3), 1, 4, fx.relu, pad=1),
        MaxPool((2, 2)),
        Conv((3, 3), 4, 8, fx.relu),
        GlobalMeanPool(),
        flatten,
    )
    y = m(rng.standard_normal((5, 1, 10, 10)).astype(np.float32))
    assert y.shape == (5, 8) and y.dtype == np.float32


def test_wrong_channel_count_raises():
    with pytest.raises(FluxpyError, match="expects inputs"):
        Conv((3, 3), 3, 4)(np.ones((1, 2, 5, 5), dtype=np.float32))
    with pytest.raises(FluxpyError, match="divisible"):
        Conv((3, 3), 3, 4, groups=2)
    with pytest.raises(FluxpyError, match="larger than"):
        Conv((3, 3), 1, 1)(np.ones((1, 1, 2, 2), dtype=np.float32))


# ---------------------------------------------------------------------------------------------------------
# gradients


def test_gradient_of_a_conv_layer_is_a_tangent():
    c = Conv((2, 2), 2, 3, fx.tanh)
    x = rng.standard_normal((2, 2, 5, 5)).astype(np.float32)
    (dc,) = fx.gradient(lambda m: np.sum(m(x)), c)
    assert isinstance(dc, fx.Tangent)
    assert dc.weight.shape == c.weight.shape and dc.bias.shape == c.bias.shape
    assert dc.weight.dtype == np.float32


LAYERS = [
    lambda: Conv((3, 3), 4, 6, fx.tanh, stride=2, pad=1),
    lambda: Conv((2, 3), 4, 2, dilation=(2, 1), groups=2),
    lambda: CrossCor((2, 2), 4, 3, stride=(1, 2)),
    lambda: ConvTranspose((3, 3), 4, 2, stride=2, pad=1),
    lambda: ConvTranspose((3, 3), 4, 2, fx.tanh, stride=2, pad=1, outpad=1),
    lambda: ConvTranspose((2, 3), 4, 2, stride=(1, 3), pad=(0, 0, 1, 0), dilation=(2, 1), outpad=(1, 2)),
    lambda: DepthwiseConv((3, 3), 4, 8, pad=1),
    lambda: MaxPool((2, 2)),
    lambda: MaxPool((3, 3), stride=1, pad=1),
    lambda: MeanPool((3, 2), stride=(1, 2), pad=(1, 0)),
    lambda: AdaptiveMaxPool((2, 3)),
    lambda: AdaptiveMeanPool((3, 2)),
    lambda: GlobalMaxPool(),
    lambda: GlobalMeanPool(),
    lambda: Upsample((2, 1)),
    lambda: Upsample((2, 3), mode="bilinear"),
    lambda: fx.Chain(Conv((3, 3), 4, 2, pad=SamePad()), flatten),
]


@pytest.mark.parametrize("make", LAYERS)
def test_layer_gradients_match_finite_differences(make):
    m = fx.f64(make())
    x = rng.standard_normal((2, 4, 6, 6))
    check_grads(lambda x: np.sum(m(x) ** 2), x, order=1)
    check_grads(lambda x: np.sum(m(x[0]) ** 2), x, order=1)  # unbatched
    if hasattr(m, "weight"):
        cls = type(m)
        opts = dict(stride=m.stride, pad=m.pad, dilation=m.dilation, groups=m.groups)
        opts.update(dict(outpad=m.outpad) if hasattr(m, "outpad") else {})
        check_grads(lambda w, b: np.sum(cls(w, b, m.activation, **opts)(x) ** 2), m.weight, m.bias, order=1)
        (dm,) = fx.gradient(lambda m: np.sum(m(x) ** 2), m)
        (dw, db) = fx.gradient(lambda w, b: np.sum(cls(w, b, m.activation, **opts)(x) ** 2), m.weight, m.bias)
        np.testing.assert_allclose(dm.weight, dw)
        np.testing.assert_allclose(dm.bias, db)


@pytest.mark.second_order
@pytest.mark.parametrize("case", CONV_CASES[:3])
def test_conv_second_order(case):
    x = rng.standard_normal((1, 4, 5, 5))
    w = rng.standard_normal((4, 4 // case["groups"], 2, 2))
    check_grads(lambda x, w: np.sum(np.sin(conv(x, w, **case))), x, w, order=2)
    check_grads(
        lambda y, w: np.sum(conv_transpose(y, w, out_size=(5, 5), **case) ** 3),
        conv(x, w, **case),
        w,
        order=2,
    )


def test_conv_transpose_outpad_forward_mode():
    x = rng.standard_normal((2, 4, 4, 3))
    for m in [
        ConvTranspose((3, 3), 4, 2, fx.tanh, stride=2, pad=1, outpad=1),
        ConvTranspose((2, 2), 4, 2, dilation=2, outpad=1),
    ]:
        m = fx.f64(m)
        check_grads(lambda x: np.sum(m(x) ** 2), x, order=1, forward=True)


@pytest.mark.second_order
def test_conv_transpose_beyond_the_stride_second_order():
    # out_size one past the default with stride 1 (outpad below the dilation): the pullback must leave out
    # the row no window reaches, at every order
    y = rng.standard_normal((1, 2, 4, 3))
    w = rng.standard_normal((2, 2, 2, 2))
    opts = dict(dilation=(2, 1), pad=(0, 1, 0, 0), out_size=(6, 4))
    check_grads(lambda y, w: np.sum(conv_transpose(y, w, **opts) ** 3), y, w, order=2)
    t = fx.f64(ConvTranspose((2, 2), 2, 2, dilation=(2, 1), outpad=(1, 0)))
    check_grads(
        lambda w, y: np.sum(ConvTranspose(w, t.bias, outpad=(1, 0), dilation=(2, 1))(y) ** 3), t.weight, y
    )


@pytest.mark.second_order
def test_pool_and_upsample_second_order():
    x = rng.standard_normal((1, 2, 5, 4))
    check_grads(lambda x: np.sum(meanpool(x, (2, 2), stride=1, pad=1) ** 3), x, order=2)
    check_grads(lambda x: np.sum(maxpool(x, (2, 2), stride=1) ** 3), x, order=2)
    check_grads(lambda x: np.sum(upsample_nearest(x, (2, 2)) ** 3), x, order=2)
    check_grads(lambda x: np.sum(upsample_linear(x, (2, 3)) ** 3), x, order=2)
    c = fx.f64(Conv((2, 2), 2, 3, fx.tanh))
    check_grads(lambda w, x: np.sum(Conv(w, c.bias, fx.tanh)(x) ** 2), c.weight, x, order=2)


def test_forward_mode_through_conv_and_pools():
    x = rng.standard_normal((1, 2, 5, 5))
    w = rng.standard_normal((2, 2, 2, 2))

    def f(x, w):
        return np.sum(np.tanh(meanpool(maxpool(conv(x, w, pad=1), (2, 2), stride=1), (2, 2))))

    check_grads(f, x, w, order=1, forward=True)


@pytest.mark.parametrize(
    "pad, dilation, kernel",
    [((3, 0, 0, 2), (1, 1), (3, 2)), ((2, 3, 4, 1), (2, 1), (2, 3)), ((1, 1, 1, 1), (1, 1), (1, 1))],
)
@pytest.mark.parametrize("out_ch", [2, 6])  # per group 1 or 3 outputs to 2 inputs: correlation or col2im
def test_stride_one_conv_transpose_with_padding_beyond_the_kernel(pad, dilation, kernel, out_ch):
    # padding wider than dilation * (k - 1) reads no input: the transpose's rows for it are cut
    x = rng.standard_normal((2, 4, 6, 7))
    w = rng.standard_normal((out_ch, 2) + kernel)
    y = conv(x, w, pad=pad, dilation=dilation, groups=2)
    dy = rng.standard_normal(y.shape)
    dx = conv_transpose(dy, w, pad=pad, dilation=dilation, groups=2, out_size=(6, 7))
    assert dx.shape == x.shape and dx.flags.c_contiguous
    np.testing.assert_allclose(np.sum(dx * x), np.sum(dy * y))


def test_maxpool_gradient_goes_to_the_first_of_tied_maxima():
    x = np.array([[[[1.0, 1.0, 0.0], [0.0, 1.0, 2.0], [2.0, 2.0, 2.0]]]])
    (dx,) = fx.gradient(lambda x: np.sum(maxpool(x, (2, 2), stride=1)), x)
    np.testing.assert_array_equal(dx, [[[[1.0, 0.0, 0.0], [0.0, 0.0, 2.0], [1.0, 0.0, 0.0]]]])
    (dx,) = fx.gradient(lambda x: np.sum(maxpool(x[:, :, :2, :2], (2, 2))), x)  # windows tiling x
    np.testing.assert_array_equal(dx, [[[[1.0, 0.0, 0.0], [0.0, 0.0, 0.0], [0.0, 0.0, 0.0]]]])
    g = maxpool_gather(np.arange(9.0).reshape(x.shape), x, window=(2, 2), stride=1)
    np.testing.assert_array_equal(g, [[[[0.0, 5.0], [6.0, 5.0]]]])


# ---------------------------------------------------------------------------------------------------------
# conv_bias_act: the Conv layer's convolution, bias and relu in one rule (issue 6)


def _unfused(x, w, b, act, **opts):
    y = conv(x, w, **opts)
    if b is not None and b is not False:
        y = y + b.reshape((-1,) + (1,) * (w.ndim - 2))
    return fx.relu(y) if act == "relu" else y


FUSED_CASES = [
    dict(pad=1),
    dict(stride=(2, 1), pad=(1, 2, 0, 1), dilation=(1, 2), groups=2, flip=False),
    dict(stride=2, pad=(1, 1, 0, 1), groups=4),
]


def _fused_operands(case, dtype=np.float64):
    x = rng.standard_normal((2, 4, 6, 5)).astype(dtype)
    w = rng.standard_normal((4, 4 // case.get("groups", 1), 3, 2)).astype(dtype)
    return x, w, rng.standard_normal(4).astype(dtype)


@pytest.mark.parametrize("case", FUSED_CASES)
@pytest.mark.parametrize("act", ["identity", "relu"])
def test_conv_bias_act_matches_the_unfused_composition(case, act):
    x, w, b = _fused_operands(case)
    for bias in (b, None, False):
        np.testing.assert_allclose(
            conv_bias_act(x, w, bias, act=act, **case), _unfused(x, w, bias, act, **case), atol=1e-12
        )
    np.testing.assert_allclose(conv_bias_act(x[0], w, b, act=act, **case), _unfused(x, w, b, act, **case)[0])
    if act == "relu":
        assert np.all(conv_bias_act(x, w, b, act=act, **case) >= 0)

    def loss(op):
        return lambda x, w, b: np.sum(np.sin(op(x, w, b, act, **case)))

    fused = fx.gradient(loss(lambda x, w, b, act, **o: conv_bias_act(x, w, b, act=act, **o)), x, w, b)
    for mine, expected in zip(fused, fx.gradient(loss(_unfused), x, w, b), strict=True):
        np.testing.assert_allclose(mine, expected, atol=1e-12)


@pytest.mark.second_order
@pytest.mark.parametrize("case", FUSED_CASES)
@pytest.mark.parametrize("act", ["identity", "relu"])
def test_conv_bias_act_second_order(case, act):
    x, w, b = _fused_operands(case)

    def f(x, w, b):
        return np.sum(np.sin(conv_bias_act(x, w, b, act=act, **case)))

    check_grads(f, x, w, b, order=2)
    check_grads(f, x, w, b, order=1, forward=True)
    check_grads(lambda x, w, b: np.sum(conv_bias_act(x[1], w, b, act=act, **case) ** 3), x, w, b, order=2)
    check_grads(lambda x, w: np.sum(np.sin(conv_bias_act(x, w, None, act=act, **case))), x, w, order=2)


def test_conv_bias_act_partial_form_skips_the_input_gradient():
    x, w, b = _fused_operands(FUSED_CASES[1])
    y, back = conv_bias_act_partial((False, True, True), x, w, b, act="relu", **FUSED_CASES[1])
    y_all, back_all = conv_bias_act_partial((True, True, True), x, w, b, act="relu", **FUSED_CASES[1])
    dy = rng.standard_normal(y.shape)
    np.testing.assert_array_equal(y, y_all)
    dx, dw, db = back(dy)
    assert dx is None
    np.testing.assert_allclose(dw, back_all(dy)[1])
    np.testing.assert_allclose(db, back_all(dy)[2])
    dx, dw, db = conv_bias_act_partial((True, False, False), x, w, b, act="relu", **FUSED_CASES[1])[1](dy)
    assert dw is None and db is None
    np.testing.assert_allclose(dx, back_all(dy)[0])


def test_conv_bias_act_relu_derivative_at_zero_is_zero():
    # zero weights and bias: every pre-activation is exactly 0, where relu'(0) = 0 (as fx.relu, Flux, PyTorch)
    x = rng.standard_normal((2, 3, 5, 5))
    w, b = np.zeros((4, 3, 3, 3)), np.zeros(4)
    dx, dw, db = fx.gradient(lambda x, w, b: np.sum(conv_bias_act(x, w, b, act="relu", pad=1)), x, w, b)
    assert not np.any(dx) and not np.any(dw) and not np.any(db)
    (db,) = fx.gradient(lambda b: np.sum(Conv(w, b, fx.relu, pad=1)(x)), b)
    np.testing.assert_array_equal(db, np.zeros(4))
    (db,) = fx.gradient(lambda b: np.sum(conv_bias_act(x, w, b, act="identity", pad=1)), b)
    np.testing.assert_array_equal(db, np.full(4, 2 * 5 * 5.0))


def test_conv_bias_act_keeps_float32():
    x, w, b = _fused_operands(FUSED_CASES[0], np.float32)
    for act in ("identity", "relu"):
        assert conv_bias_act(x, w, b, act=act, pad=1).dtype == np.float32
        grads = fx.gradient(lambda x, w, b: np.sum(conv_bias_act(x, w, b, act=act, pad=1) ** 2), x, w, b)
        assert [g.dtype for g in grads] == [np.float32] * 3
    # a float64 bias promotes as the unfused sum does
    assert conv_bias_act(x, w, b.astype(np.float64), act="relu", pad=1).dtype == np.float64
    layer = Conv((3, 3), 4, 2, fx.relu, pad=1)
    (d,) = fx.gradient(lambda m: np.sum(m(x) ** 2), layer)
    assert layer(x).dtype == d.weight.dtype == d.bias.dtype == np.float32


def test_conv_layer_fuses_relu_and_applies_any_other_activation():
    x, w, b = _fused_operands(FUSED_CASES[0])
    for act in (fx.relu, identity, fx.tanh, fx.leakyrelu, lambda v: v**2):
        layer = Conv(w, b, act, pad=1)
        expected = act(conv(x, w, pad=1) + b.reshape(-1, 1, 1))
        np.testing.assert_allclose(layer(x), expected, atol=1e-12)
        grads = fx.gradient(lambda x, w, b: np.sum(np.sin(Conv(w, b, act, pad=1)(x))), x, w, b)
        unfused = fx.gradient(
            lambda x, w, b: np.sum(np.sin(act(conv(x, w, pad=1) + b.reshape(-1, 1, 1)))), x, w, b
        )
        for mine, ref in zip(grads, unfused, strict=True):
            np.testing.assert_allclose(mine, ref, atol=1e-12)
    layer = Conv(w, False, fx.relu, pad=1)
    np.testing.assert_allclose(layer(x), fx.relu(conv(x, w, pad=1)))
    (d,) = fx.gradient(lambda m: np.sum(m(x)), layer)
    assert d.weight.shape == w.shape and d.bias is None


def test_conv_bias_act_against_torch():
    torch = pytest.importorskip("torch")
    x, w, b = _fused_operands(FUSED_CASES[1])
    opts = dict(stride=(2, 1), padding=(1, 2), dilation=(1, 2), groups=2)
    tx, tw, tb = (torch.from_numpy(a).requires_grad_(True) for a in (x, w, b))
    ty = torch.relu(torch.nn.functional.conv2d(tx, tw, tb, **opts))
    ty.pow(2).sum().backward()
    mine = dict(stride=(2, 1), pad=(1, 2), dilation=(1, 2), groups=2)
    expected = ty.detach().numpy()
    np.testing.assert_allclose(conv_bias_act(x, w, b, act="relu", flip=False, **mine), expected, atol=1e-10)
    grads = fx.gradient(lambda x, w, b: np.sum(CrossCor(w, b, fx.relu, **mine)(x) ** 2), x, w, b)
    for g, t in zip(grads, (tx, tw, tb), strict=True):
        np.testing.assert_allclose(g, t.grad.numpy(), atol=1e-10)


def test_conv_bias_act_unknown_activation_raises():
    x, w, b = _fused_operands(FUSED_CASES[0])
    with pytest.raises(FluxpyError, match="act='tanh' is not one of"):
        conv_bias_act(x, w, b, act="tanh")
    assert conv_bias_act(x, w, b, act="relu").shape == (2, 4, 4, 4)


# ---------------------------------------------------------------------------------------------------------
# chunks of the batch: the convolutions make their im2col columns (and col2im its products) a few images at a
# time, in one buffer; tests shrink the byte budget so that every boundary is crossed


def ref_conv_nd(x, w, stride, pads, dilation, groups=1, flip=True):
    """The convolution (correlation when not ``flip``) of ``x`` (N, C, *spatial) with ``w`` in any number of
    spatial dimensions, one output entry at a time (``pads``: one ``(lo, hi)`` pair per dimension)."""
    nd = w.ndim - 2
    if flip:
        w = w[(slice(None),) * 2 + (slice(None, None, -1),) * nd]
    xp = np.pad(x, ((0, 0), (0, 0)) + tuple(pads))
    extent = [d * (k - 1) + 1 for k, d in zip(w.shape[2:], dilation, strict=True)]
    out = [(p - e) // s + 1 for p, e, s in zip(xp.shape[2:], extent, stride, strict=True)]
    og, cg = w.shape[0] // groups, w.shape[1]
    y = np.zeros((x.shape[0], w.shape[0], *out))
    for n, o, *at in itertools.product(range(x.shape[0]), range(w.shape[0]), *map(range, out)):
        g = o // og
        window = tuple(
            slice(i * s, i * s + e, d) for i, s, e, d in zip(at, stride, extent, dilation, strict=True)
        )
        y[(n, o, *at)] = np.sum(xp[(n, slice(g * cg, (g + 1) * cg), *window)] * w[o])
    return y


def chunk_images(monkeypatch, images, x, w, **opts):
    """Make ``conv(x, w, **opts)`` make its columns ``images`` at a time (0: a budget of one byte, which still
    takes one image per chunk)."""
    out = conv(x, w, **opts).shape[2:]
    per_image = x.shape[1] * math.prod(w.shape[2:]) * math.prod(out) * x.itemsize
    monkeypatch.setattr(nnconv, "CHUNK_BYTES", max(images * per_image, 1))
    return per_image


def _conv_gradients(x, w, b, opts):
    return fx.gradient(lambda x, w, b: np.sum(conv_bias_act(x, w, b, act="relu", **opts) ** 2), x, w, b)


def _pairs(pad):
    return tuple(zip(pad[::2], pad[1::2], strict=True))


@pytest.mark.parametrize("images, regions", [(0, None), (2, None), (3, None), (1, 2), (2, 1), (2, 2)])
@pytest.mark.parametrize("case", CONV_CASES)
@pytest.mark.parametrize("flip", [True, False])
def test_chunked_convolutions_match_one_chunk_and_the_references(monkeypatch, images, regions, case, flip):
    x = rng.standard_normal((5, 4, 7, 8))  # 5 images: chunks of 1, 2 + 2 + 1 or 3 + 2
    w = rng.standard_normal((8, 4 // case["groups"], 3, 2))
    b = rng.standard_normal(8)
    opts = dict(case, flip=flip)
    y = conv(x, w, **opts)
    dy = rng.standard_normal(y.shape)
    whole = (
        y,
        conv_transpose(dy, w, out_size=(7, 8), **opts),
        conv_filter_grad(x, dy, kernel=(3, 2), **opts),
        conv_bias_act(x, w, b, act="relu", **opts),
        _conv_gradients(x, w, b, opts),
    )
    per_image = chunk_images(monkeypatch, images, x, w, **opts)
    if regions is not None:  # a buffer of `regions` chunks, taken in turn (and no columns kept)
        monkeypatch.setattr(nnconv, "BUFFER_BYTES", regions * max(images, 1) * per_image)
    chunked = (
        conv(x, w, **opts),
        conv_transpose(dy, w, out_size=(7, 8), **opts),
        conv_filter_grad(x, dy, kernel=(3, 2), **opts),
        conv_bias_act(x, w, b, act="relu", **opts),
        _conv_gradients(x, w, b, opts),  # the weight gradient from kept columns, or columns made again
    )
    for got, want in zip(chunked[4], whole[4], strict=True):
        np.testing.assert_allclose(got, want, rtol=1e-12)
    np.testing.assert_array_equal(chunked[0], whole[0])  # each image's product is the same product
    np.testing.assert_array_equal(chunked[1], whole[1])
    np.testing.assert_allclose(chunked[2], whole[2], rtol=1e-12)  # the sum over the batch regrouped
    np.testing.assert_array_equal(chunked[3], whole[3])
    np.testing.assert_allclose(chunked[0], ref_conv(x, w, flip=flip, **case), atol=1e-12)
    pads = _pairs(case["pad"])
    np.testing.assert_allclose(
        chunked[0],
        ref_conv_nd(x, w, case["stride"], pads, case["dilation"], case["groups"], flip),
        atol=1e-12,
    )
    np.testing.assert_allclose(chunked[3], _unfused(x, w, b, "relu", **opts), atol=1e-12)
    x2, w2 = rng.standard_normal(x.shape), rng.standard_normal(w.shape)
    np.testing.assert_allclose(np.sum(chunked[1] * x2), np.sum(dy * conv(x2, w, **opts)))
    np.testing.assert_allclose(np.sum(chunked[2] * w2), np.sum(dy * conv(x, w2, **opts)))
    np.testing.assert_array_equal(conv(x[3], w, **opts), chunked[0][3])  # unbatched: a batch of one
    np.testing.assert_array_equal(conv_transpose(dy[3], w, out_size=(7, 8), **opts), chunked[1][3])


@pytest.mark.parametrize("images", [0, 2])
@pytest.mark.parametrize("stride, pad, dilation, outpad", OUTPAD_CASES)
def test_chunked_conv_transpose_with_outpad_matches_the_scatter_reference(
    monkeypatch, images, stride, pad, dilation, outpad
):
    y = rng.standard_normal((5, 3, 4, 3))
    w = rng.standard_normal((3, 2, 3, 2))
    default = _default_transpose_size((4, 3), (3, 2), stride, pad, dilation)
    size = tuple(d + o for d, o in zip(default, outpad, strict=True))
    opts = dict(stride=stride, pad=pad, dilation=dilation, flip=False)
    chunk_images(monkeypatch, images, rng.standard_normal((5, 2) + size), w, **opts)
    np.testing.assert_allclose(
        conv_transpose(y, w, out_size=size, **opts),
        ref_conv_transpose(y, w, stride, pad, size, flip=False, dilation=dilation),
        atol=1e-12,
    )


# (x shape, w shape, options): 1-D and 3-D, with groups, strides, dilations, uneven padding and both flips
ND_CASES = [
    ((5, 2, 9), (4, 2, 3), dict(stride=2, pad=(1, 2))),
    ((5, 4, 10), (6, 2, 2), dict(stride=1, pad=1, dilation=3, groups=2, flip=False)),
    (
        (3, 2, 4, 5, 3),
        (4, 1, 2, 3, 2),
        dict(stride=(1, 2, 1), pad=(1, 0, 0, 1, 1, 1), dilation=(1, 1, 2), groups=2),
    ),
    ((3, 2, 4, 4, 4), (2, 2, 3, 3, 3), dict(pad=1, flip=False)),
]


@pytest.mark.parametrize("images", [0, 2])
@pytest.mark.parametrize("xshape, wshape, opts", ND_CASES)
def test_chunked_convolutions_in_one_and_three_dimensions(monkeypatch, images, xshape, wshape, opts):
    nd = len(wshape) - 2
    x, w = rng.standard_normal(xshape), rng.standard_normal(wshape)
    size = xshape[2:]
    y = conv(x, w, **opts)
    dy = rng.standard_normal(y.shape)
    whole = (conv_transpose(dy, w, out_size=size, **opts), conv_filter_grad(x, dy, kernel=wshape[2:], **opts))
    chunk_images(monkeypatch, images, x, w, **opts)
    np.testing.assert_array_equal(conv(x, w, **opts), y)
    np.testing.assert_array_equal(conv_transpose(dy, w, out_size=size, **opts), whole[0])
    np.testing.assert_allclose(conv_filter_grad(x, dy, kernel=wshape[2:], **opts), whole[1], rtol=1e-12)
    stride, dilation = nnconv.expand(opts.get("stride", 1), nd), nnconv.expand(opts.get("dilation", 1), nd)
    reference = ref_conv_nd(
        x,
        w,
        stride,
        nnconv.pad_pairs(opts["pad"], nd),
        dilation,
        opts.get("groups", 1),
        opts.get("flip", True),
    )
    np.testing.assert_allclose(y, reference, atol=1e-12)
    np.testing.assert_array_equal(conv(x[1], w, **opts), y[1])
    x2, w2 = rng.standard_normal(x.shape), rng.standard_normal(w.shape)
    np.testing.assert_allclose(np.sum(whole[0] * x2), np.sum(dy * conv(x2, w, **opts)))
    np.testing.assert_allclose(np.sum(whole[1] * w2), np.sum(dy * conv(x, w2, **opts)))


@pytest.mark.parametrize(
    "xshape, wshape, opts", ND_CASES[:3] + [((5, 4, 7, 8), (8, 2, 3, 2), FUSED_CASES[1])]
)
def test_chunked_convolution_gradients_match_finite_differences(monkeypatch, xshape, wshape, opts):
    x, w, b = rng.standard_normal(xshape), rng.standard_normal(wshape), rng.standard_normal(wshape[0])
    chunk_images(monkeypatch, 2, x, w, **opts)
    size = xshape[2:]
    check_grads(lambda x, w: np.sum(np.sin(conv(x, w, **opts))), x, w, order=1)
    check_grads(lambda x, w: np.sum(np.sin(conv(x[2], w, **opts))), x, w, order=1)  # unbatched
    y = conv(x, w, **opts)
    check_grads(lambda y, w: np.sum(conv_transpose(y, w, out_size=size, **opts) ** 3), y, w, order=1)
    for act in ("identity", "relu"):
        check_grads(lambda x, w, b: np.sum(np.sin(conv_bias_act(x, w, b, act=act, **opts))), x, w, b, order=1)


@pytest.mark.second_order
@pytest.mark.parametrize(
    "xshape, wshape, opts",
    [
        ((3, 2, 7), (4, 2, 3), dict(stride=2, pad=(1, 2))),
        ((3, 4, 5, 6), (4, 2, 3, 2), FUSED_CASES[1]),
        ((3, 2, 3, 4, 3), (2, 1, 2, 2, 2), dict(pad=(1, 0, 0, 1, 1, 1), dilation=(1, 1, 2), groups=2)),
    ],
)
def test_chunked_convolution_second_order(monkeypatch, xshape, wshape, opts):
    x, w, b = rng.standard_normal(xshape), rng.standard_normal(wshape), rng.standard_normal(wshape[0])
    chunk_images(monkeypatch, 2, x, w, **opts)
    check_grads(lambda x, w: np.sum(np.sin(conv(x, w, **opts))), x, w, order=2)
    check_grads(lambda x, w, b: np.sum(np.sin(conv_bias_act(x, w, b, act="relu", **opts))), x, w, b, order=2)
    check_grads(lambda x, w: np.sum(conv_bias_act(x[1], w, None, **opts) ** 3), x, w, order=2)
    y = conv(x, w, **opts)
    check_grads(lambda y, w: np.sum(conv_transpose(y, w, out_size=xshape[2:], **opts) ** 3), y, w, order=2)


def test_chunked_convolutions_keep_float32_and_promote_as_the_product(monkeypatch):
    x, w, b = _fused_operands(FUSED_CASES[0], np.float32)
    x = np.concatenate([x, x[:1]])  # 3 images
    chunk_images(monkeypatch, 2, x, w, pad=1)
    assert conv(x, w, pad=1).dtype == conv_bias_act(x, w, b, act="relu", pad=1).dtype == np.float32
    grads = fx.gradient(lambda x, w, b: np.sum(conv_bias_act(x, w, b, act="relu", pad=1) ** 2), x, w, b)
    assert [g.dtype for g in grads] == [np.float32] * 3
    wide = conv(x, w.astype(np.float64), pad=1)
    assert wide.dtype == np.float64
    np.testing.assert_allclose(wide, conv(x.astype(np.float64), w.astype(np.float64), pad=1), rtol=1e-12)
    ints = conv(np.arange(24).reshape(3, 1, 8), np.ones((1, 1, 3), dtype=int), pad=1)
    assert ints.dtype.kind == "i"
    np.testing.assert_array_equal(ints[1, 0], [17, 27, 30, 33, 36, 39, 42, 29])


def test_given_columns_are_a_cache(monkeypatch):
    monkeypatch.setattr(nnconv, "CHUNK_BYTES", 1 << 30)  # the whole batch's columns in one chunk
    x, w, b = _fused_operands(FUSED_CASES[1])
    opts = FUSED_CASES[1]
    s, p, d = nnconv._conv_options(2, opts["stride"], opts["pad"], opts["dilation"])
    plan = nnconv._im2col_plan(x.shape[2:], w.shape[2:], s, p, d)
    ((_, columns),) = nnconv._column_chunks(np, x, w.shape[2:], plan, opts["groups"])
    y = conv_bias_act(x, w, b, act="relu", columns=columns, **opts)
    np.testing.assert_array_equal(y, conv_bias_act(x, w, b, act="relu", **opts))
    dy = rng.standard_normal(y.shape)
    np.testing.assert_allclose(
        conv_filter_grad(x, dy, kernel=w.shape[2:], columns=columns, **opts),
        conv_filter_grad(x, dy, kernel=w.shape[2:], **opts),
        rtol=1e-12,
    )


def test_chunks_take_as_many_images_as_fit_and_at_least_one(monkeypatch):
    monkeypatch.setattr(nnconv, "CHUNK_BYTES", 25)
    assert nnconv._chunks(5, 10) == [slice(0, 2), slice(2, 4), slice(4, 5)]
    assert nnconv._chunks(5, 100) == [slice(i, i + 1) for i in range(5)]
    assert nnconv._chunks(2, 1) == [slice(0, 2)] and nnconv._chunks(0, 10) == []


def test_a_gradient_holds_the_whole_batch_columns_only_within_the_buffer_budget(monkeypatch):
    x = rng.standard_normal((16, 8, 16, 16))
    w, b = rng.standard_normal((8, 8, 3, 3)), rng.standard_normal(8)
    columns = x.shape[0] * 8 * 9 * 16 * 16 * x.itemsize  # 2.4 MB; x, y, dx and the cotangents: 0.26 MB each
    per_image = chunk_images(monkeypatch, 2, x, w, pad=1)
    assert nnconv.kept_columns(x, (3, 3), pad=1).shape == (16, 1, 72, 256)  # within BUFFER_BYTES: kept
    monkeypatch.setattr(nnconv, "BUFFER_BYTES", 4 * per_image)  # two chunks' regions, used in turn
    assert nnconv.kept_columns(x, (3, 3), pad=1) is None

    def loss(x, w, b):
        return np.sum(conv_bias_act(x, w, b, act="relu", pad=1))

    fx.gradient(loss, x, w, b)  # compiled before tracing
    nnconv.workspace.clear()  # the pool's arrays would not be counted: start from none
    tracemalloc.start()
    try:
        fx.gradient(loss, x, w, b)
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert peak < 0.75 * columns  # 1.4 MB here; with the columns kept (a larger budget) 5.6 MB


@pytest.mark.parametrize(
    "size, kernel, stride, pads, dilation",
    [
        ((7, 8), (3, 2), (1, 1), ((0, 0), (0, 0)), (1, 1)),  # no padding: no blanks
        ((7, 8), (3, 3), (1, 1), ((1, 1), (1, 1)), (1, 1)),
        ((7, 8), (3, 2), (2, 1), ((1, 2), (0, 1)), (1, 2)),
        ((5, 5), (3, 3), (3, 2), ((2, 0), (1, 1)), (1, 1)),
        ((2, 2), (3, 3), (1, 1), ((3, 3), (1, 1)), (1, 1)),  # some offsets read only padding
    ],
)
def test_the_blanks_are_the_columns_no_copy_writes(monkeypatch, size, kernel, stride, pads, dilation):
    """A pooled column buffer is not zeroed: the plan's blanks are the entries that read only padding."""
    out, copies, blanks = nnconv._im2col_plan(size, kernel, stride, pads, dilation)
    written = np.zeros((1, 1) + kernel + tuple(out), dtype=int)
    for target, _ in copies:
        written[target] += 1
    blanked = np.zeros_like(written)
    for blank in blanks:
        blanked[blank] = 1
    np.testing.assert_array_equal(written + blanked >= 1, True)  # every entry made
    np.testing.assert_array_equal(written[blanked == 1], 0)  # and no blank copied into
    x = rng.standard_normal((2, 3) + size)
    w = rng.standard_normal((2, 3) + kernel)
    opts = dict(stride=stride, pad=sum(pads, ()), dilation=dilation)
    monkeypatch.setattr(nnconv.workspace, "MIN_BYTES", 0)  # every array from the pool
    nnconv.workspace.clear()
    stale = nnconv.workspace.empty(np, (2, 3) + kernel + tuple(out), x.dtype)
    stale.fill(np.nan)  # what the column buffer held before
    del stale
    np.testing.assert_allclose(
        conv(x, w, **opts), ref_conv_nd(x, w, stride, pads, dilation, 1, True), atol=1e-12
    )
    nnconv.workspace.clear()


def test_options_given_as_lists_or_numpy_ints_read_as_tuples():
    """The option readers are cached on their arguments; a list (unhashable) is read afresh."""
    x, w = rng.standard_normal((2, 3, 6, 5)), rng.standard_normal((4, 3, 3, 2))
    want = conv(x, w, stride=(2, 1), pad=(1, 1), dilation=(1, 1))
    np.testing.assert_array_equal(conv(x, w, stride=[2, 1], pad=[1, 1], dilation=[1, 1]), want)
    np.testing.assert_array_equal(conv(x, w, stride=(np.int64(2), 1), pad=np.int32(1)), want)
    np.testing.assert_array_equal(maxpool(x, [2, 2], stride=[2, 1]), maxpool(x, (2, 2), stride=(2, 1)))
    for _ in range(2):  # an error is not cached: raised each time
        with pytest.raises(fx.FluxpyError, match="stride"):
            conv(x, w, stride=(0, 1))
