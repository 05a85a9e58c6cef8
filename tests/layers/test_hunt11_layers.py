"""Fixes from the eleventh bug hunt (model library): convolution and Bilinear layers built from a weight array
honour bias= and activation=; the rank rule of the pools and Upsample (global pools, int windows and scales
read every input as batched); Upsample's int scale on any number of spatial axes and real scales;
ConvTranspose with SamePad and a stride; clear errors (Scale, Maxout, Conv's options, too small inputs)."""

import numpy as np
import pytest

import fluxpy as fx
from fluxpy.errors import FluxpyError
from fluxpy.testing import check_grads

rng = np.random.default_rng(111)


def _torch():
    return pytest.importorskip("torch")


# ---------------------------------------------------------------------------------------------------------
# 1. Conv, CrossCor, ConvTranspose and Bilinear from a weight array: bias= and activation= keywords


@pytest.mark.parametrize("cls", [fx.Conv, fx.CrossCor, fx.ConvTranspose])
def test_conv_from_weight_honours_bias_and_activation_keywords(cls):
    W = (
        -np.ones((4, 2, 3, 3), np.float32)
        if cls is not fx.ConvTranspose
        else -np.ones((2, 4, 3, 3), np.float32)
    )
    x = np.ones((1, 2, 5, 5), np.float32)
    plain = cls(W, False)(x)
    assert plain.min() < 0
    c = cls(W, activation=fx.relu)
    assert c.activation is fx.relu and ", relu" in repr(c)
    np.testing.assert_array_equal(c(x), np.maximum(cls(W)(x), 0))
    c = cls(W, bias=False)
    assert c.bias is False and len(fx.params(c)) == 1 and "bias=False" in repr(c)
    c = cls(W, bias=np.False_, activation=fx.relu)
    assert c.bias is False and c.activation is fx.relu
    b = np.arange(4, dtype=np.float32)
    c = cls(W, bias=b, activation=fx.tanh)
    assert c.bias is b
    np.testing.assert_allclose(c(x), np.tanh(plain + b.reshape(-1, 1, 1)), rtol=1e-6)
    assert cls(W, bias=True).bias.shape == (4,)  # True: a zero trainable bias
    # the positional form, as Flux's Conv(weight, bias, σ), is unchanged
    c = cls(W, False, fx.relu)
    assert c.bias is False and c.activation is fx.relu


@pytest.mark.parametrize("cls", [fx.Conv, fx.ConvTranspose])
def test_conv_from_weight_both_positional_and_keyword_is_a_type_error(cls):
    W = np.ones((2, 2, 3, 3), np.float32)
    with pytest.raises(TypeError, match="multiple values for argument 'bias'"):
        cls(W, False, bias=False)
    with pytest.raises(TypeError, match="multiple values for argument 'activation'"):
        cls(W, True, fx.relu, activation=fx.relu)
    with pytest.raises(TypeError, match="multiple values for argument 'activation'"):
        cls(W, True, fx.relu, fx.tanh)  # a fourth positional argument is the activation again


def test_conv_from_weight_keyword_bias_array_keeps_its_gradient():
    W = rng.standard_normal((3, 2, 2, 2))
    b = rng.standard_normal(3)
    x = rng.standard_normal((2, 2, 4, 4))
    check_grads(
        lambda W, b, x: np.sum(fx.Conv(W, bias=b, activation=fx.tanh, pad=1)(x) ** 2), W, b, x, order=2
    )
    (gk, gbk) = fx.gradient(lambda W, b: np.sum(fx.Conv(W, bias=b, activation=fx.tanh)(x) ** 2), W, b)
    (gp, gbp) = fx.gradient(lambda W, b: np.sum(fx.Conv(W, b, fx.tanh)(x) ** 2), W, b)
    np.testing.assert_allclose(gk, gp)
    np.testing.assert_allclose(gbk, gbp)
    Wt = rng.standard_normal((2, 3, 3, 3))
    check_grads(
        lambda W, b, x: np.sum(fx.ConvTranspose(W, bias=b, activation=fx.tanh, stride=2)(x) ** 2),
        Wt,
        b,
        x[:1, :, :3, :3],
        order=2,
    )


def test_bilinear_from_weight_honours_bias_and_activation_keywords():
    W = -np.ones((2, 3, 3), np.float32)
    b = fx.Bilinear(W, bias=False, activation=fx.relu)
    assert b.bias is False and b.activation is fx.relu
    assert repr(b) == "Bilinear(3, 3, 2, relu, bias=False)"
    np.testing.assert_array_equal(b(np.ones(3, np.float32)), [0.0, 0.0])
    assert fx.Bilinear(W, False, fx.relu).bias is False
    with pytest.raises(TypeError, match="multiple values for argument 'bias'"):
        fx.Bilinear(W, False, bias=False)
    with pytest.raises(TypeError, match="multiple values for argument 'activation'"):
        fx.Bilinear(W, True, fx.relu, activation=fx.tanh)
    with pytest.raises(FluxpyError, match="shape \\(out, in1, in2\\)"):
        fx.Bilinear(np.ones((2, 3)))
    Wd, c = rng.standard_normal((2, 3, 4)), rng.standard_normal(2)
    x, y = rng.standard_normal((5, 3)), rng.standard_normal((5, 4))
    check_grads(lambda W, c, x, y: np.sum(fx.Bilinear(W, bias=c, activation=fx.tanh)(x, y) ** 2), Wd, c, x, y)


# ---------------------------------------------------------------------------------------------------------
# 2. the rank rule: global pools, int windows and output sizes read every input as batched


@pytest.mark.parametrize("kind", ["mean", "max"])
def test_global_pools_on_batched_1d_data_match_torch(kind):
    torch = _torch()
    layer = fx.GlobalMeanPool() if kind == "mean" else fx.GlobalMaxPool()
    ref = torch.nn.AdaptiveAvgPool1d(1) if kind == "mean" else torch.nn.AdaptiveMaxPool1d(1)
    x = rng.standard_normal((2, 3, 5))
    y = layer(x)
    assert y.shape == (2, 3, 1)
    np.testing.assert_allclose(y, ref(torch.tensor(x)).numpy())
    xt = torch.tensor(x, requires_grad=True)
    dy = rng.standard_normal(y.shape)
    (ref(xt) * torch.tensor(dy)).sum().backward()
    (gx,) = fx.gradient(lambda x: np.sum(layer(x) * dy), x)
    np.testing.assert_allclose(gx, xt.grad.numpy())
    check_grads(lambda x: np.sum(layer(x) ** 3), x, order=2)
    # 3-d volumes: every spatial axis
    v = rng.standard_normal((2, 3, 2, 3, 4))
    red = np.mean if kind == "mean" else np.max
    np.testing.assert_allclose(layer(v)[..., 0, 0, 0], red(v, axis=(2, 3, 4)))
    m = fx.Chain(fx.f64(fx.Conv((3,), 3, 5)), layer, fx.flatten)
    assert m(x).shape == (2, 5) == fx.outputsize(m, x.shape)


def test_global_pool_outdims_agree_with_outputsize():
    for layer in [fx.GlobalMeanPool(), fx.GlobalMaxPool()]:
        for shape in [(2, 3, 5), (2, 3, 5, 6), (1, 2, 3, 4, 5)]:
            assert layer.outdims(shape) == fx.outputsize(layer, shape)[2:] == (1,) * (len(shape) - 2)
        assert layer.outdims((7, 9)) == (1, 1)  # a spatial size
        with pytest.raises(FluxpyError, match="batched inputs"):
            layer(np.ones((2, 3)))
    chain = fx.Chain(fx.Conv((3, 3), 1, 2), fx.GlobalMeanPool())
    assert fx.outdims(chain, (10, 10)) == (1, 1) and fx.outdims(chain, (4, 1, 10, 10)) == (1, 1)


def test_int_window_pools_pool_every_spatial_axis_of_a_batch():
    torch = _torch()
    F = torch.nn.functional
    x1 = rng.standard_normal((2, 3, 9))
    x2 = rng.standard_normal((2, 3, 6, 7))
    t = torch.tensor
    np.testing.assert_allclose(fx.MaxPool(2)(x1), F.max_pool1d(t(x1), 2).numpy())
    np.testing.assert_allclose(fx.MaxPool(2)(x2), F.max_pool2d(t(x2), 2).numpy())
    m = fx.MeanPool(3, stride=2, pad=1)
    np.testing.assert_allclose(m(x1), F.avg_pool1d(t(x1), 3, 2, 1).numpy(), atol=1e-12)
    np.testing.assert_allclose(m(x2), F.avg_pool2d(t(x2), 3, 2, 1).numpy(), atol=1e-12)
    assert repr(fx.MaxPool(2)) == "MaxPool(2)" and repr(m) == "MeanPool(3, stride=2, pad=1)"
    for layer in [fx.MaxPool(2), m, fx.MaxPool(3, stride=1, pad=fx.SamePad())]:
        for x in (x1, x2):
            assert layer.outdims(x.shape) == layer(x).shape[2:] == fx.outputsize(layer, x.shape)[2:]
    assert fx.MaxPool(3, stride=1, pad=fx.SamePad())(x1).shape == x1.shape
    check_grads(lambda x: np.sum(fx.MaxPool(2)(x) ** 3), x1, order=2)
    check_grads(lambda x: np.sum(m(x) ** 3), x1, order=2)
    with pytest.raises(FluxpyError, match="int window"):
        fx.MaxPool(2, stride=(1, 2))
    with pytest.raises(FluxpyError, match="batched inputs"):
        fx.MaxPool(2)(np.ones(8))


def test_tuple_window_pools_still_take_an_unbatched_sample():
    x = rng.standard_normal((3, 9))
    for layer in [fx.MaxPool((2,)), fx.MeanPool((3,), stride=2), fx.AdaptiveMaxPool((3,))]:
        np.testing.assert_allclose(layer(x), layer(x[None])[0])
    with pytest.raises(FluxpyError, match="1 spatial axes"):
        fx.MaxPool((2,))(np.ones((1, 1, 4, 4)))


def test_int_adaptive_pools_read_every_input_as_batched():
    torch = _torch()
    x1 = rng.standard_normal((2, 3, 8))
    y = fx.AdaptiveMeanPool(2)(x1)
    np.testing.assert_allclose(y, torch.nn.functional.adaptive_avg_pool1d(torch.tensor(x1), 2).numpy())
    v = rng.standard_normal((1, 2, 4, 6, 8))
    assert fx.AdaptiveMaxPool(2)(v).shape == (1, 2, 2, 2, 2)
    layer = fx.AdaptiveMaxPool(2)
    assert layer.outdims(x1.shape) == (2,) == fx.outputsize(layer, x1.shape)[2:]
    assert layer.outdims(v.shape) == (2, 2, 2) and layer.outdims((8, 8)) == (2, 2)
    assert repr(layer) == "AdaptiveMaxPool(2)"
    check_grads(lambda x: np.sum(fx.AdaptiveMeanPool(2)(x) ** 3), x1, order=2)
    with pytest.raises(FluxpyError, match="too small"):
        fx.AdaptiveMeanPool(4)(np.ones((1, 1, 3)))


# ---------------------------------------------------------------------------------------------------------
# 3. Upsample with an int scale: every spatial axis (rank - 2)


def test_upsample_int_scale_applies_to_every_spatial_axis():
    torch = _torch()
    F = torch.nn.functional
    x1 = rng.standard_normal((2, 3, 4))
    x3 = rng.standard_normal((1, 2, 3, 4, 2))
    t = torch.tensor
    np.testing.assert_array_equal(fx.Upsample(2)(x1), F.interpolate(t(x1), scale_factor=2).numpy())
    np.testing.assert_array_equal(fx.Upsample(2)(x3), F.interpolate(t(x3), scale_factor=2).numpy())
    lin = F.interpolate(t(x1), scale_factor=2, mode="linear", align_corners=True).numpy()
    np.testing.assert_allclose(fx.Upsample(2, mode="linear")(x1), lin, atol=1e-12)
    tri = fx.Upsample(2, mode="trilinear")
    y = tri(x3)
    expected = F.interpolate(t(x3), scale_factor=2, mode="trilinear", align_corners=True).numpy()
    assert y.shape == (1, 2, 6, 8, 4)
    np.testing.assert_allclose(y, expected, atol=1e-12)
    xt = t(x3, requires_grad=True)
    dy = rng.standard_normal(y.shape)
    (F.interpolate(xt, scale_factor=2, mode="trilinear", align_corners=True) * t(dy)).sum().backward()
    (gx,) = fx.gradient(lambda x: np.sum(tri(x) * dy), x3)
    np.testing.assert_allclose(gx, xt.grad.numpy(), atol=1e-12)
    check_grads(lambda x: np.sum(tri(x) ** 3), x3, order=2)
    check_grads(lambda x: np.sum(fx.Upsample(2)(x) ** 3), x1, order=2)
    for u in [fx.Upsample(2), tri]:
        for x in (x1, x3):
            assert u.outdims(x.shape) == u(x).shape[2:] == fx.outputsize(u, x.shape)[2:]
    assert fx.Upsample(2).outdims((4, 5)) == (8, 10)


def test_upsample_int_scale_needs_a_batched_input():
    for x in [np.ones(4), np.ones((2, 4))]:
        with pytest.raises(FluxpyError, match="batched inputs"):
            fx.Upsample(2)(x)
    with pytest.raises(FluxpyError, match="2 spatial axes"):
        fx.Upsample((2, 2))(np.ones(4))
    # a tuple scale fixes the rank: an unbatched sample is accepted
    x = rng.standard_normal((3, 4, 5))
    np.testing.assert_allclose(
        fx.Upsample((2, 2), mode="bilinear")(x), fx.Upsample(2, mode="bilinear")(x[None])[0]
    )


# ---------------------------------------------------------------------------------------------------------
# 4. ConvTranspose with SamePad and a stride: output = input * stride (Flux's calc_padding)


@pytest.mark.parametrize("k,s", [(3, 2), (4, 2), (3, 3), (5, 1), (2, 2)])
def test_convtranspose_samepad_multiplies_the_size_by_the_stride(k, s):
    m = fx.ConvTranspose((k, k), 2, 3, stride=s, pad=fx.SamePad())
    total = k - s
    assert m.pad == (total - total // 2, total // 2) * 2
    for size in [(5, 5), (4, 7)]:
        y = m(np.ones((1, 2) + size, np.float32))
        assert (
            y.shape[2:]
            == tuple(i * s for i in size)
            == m.outdims(size)
            == fx.outputsize(m, (1, 2) + size)[2:]
        )
    assert fx.ConvTranspose((k, k), 2, 3, stride=s, pad="same").pad == m.pad


def test_convtranspose_samepad_matches_torch_and_has_gradients():
    torch = _torch()
    m = fx.f64(fx.ConvTranspose((4, 4), 2, 3, stride=2, pad=fx.SamePad()))  # pad (1, 1, 1, 1)
    m.bias = rng.standard_normal(3)
    y = rng.standard_normal((2, 2, 3, 4))
    w = torch.tensor(m.weight[:, :, ::-1, ::-1].copy())  # Flux's ConvTranspose flips the kernel
    expected = torch.nn.functional.conv_transpose2d(
        torch.tensor(y), w, torch.tensor(m.bias), stride=2, padding=1
    )
    np.testing.assert_allclose(m(y), expected.numpy(), atol=1e-12)
    check_grads(lambda m, y: np.sum(m(y) ** 2), m, y[:1], order=2)


def test_convtranspose_samepad_with_dilation_follows_flux():
    # Flux: calc_padding(Conv, SamePad(), k - s + 1, d, s): total padding d * (k - s)
    m = fx.ConvTranspose((3,), 1, 1, stride=2, dilation=2, pad=fx.SamePad())
    assert m.pad == (1, 1)
    assert (
        m(np.ones((1, 1, 5), np.float32)).shape
        == (1, 1, 5 * 2 - 2 + 2 * (2 - 1) + 1)
        == (1, 1) + m.outdims((5,))
    )
    with pytest.raises(FluxpyError, match="at least as large as the stride"):
        fx.ConvTranspose((2, 2), 1, 1, stride=3, pad=fx.SamePad())


# ---------------------------------------------------------------------------------------------------------
# 5. Upsample with a real scale


@pytest.mark.parametrize(
    "scale,shape,mode",
    [
        (1.5, (1, 2, 4, 5), "bilinear"),
        ((1.5, 2.5), (2, 1, 3, 4), "bilinear"),
        (0.6, (1, 1, 5, 7), "bilinear"),
        (1.7, (2, 3, 4), "linear"),
        (1.5, (1, 1, 2, 3, 4), "trilinear"),
    ],
)
def test_upsample_real_scale_matches_torch(scale, shape, mode):
    torch = _torch()
    x = rng.standard_normal(shape)
    u = fx.Upsample(scale, mode=mode)
    y = u(x)
    xt = torch.tensor(x, requires_grad=True)
    ref = torch.nn.functional.interpolate(xt, scale_factor=scale, mode=mode, align_corners=True)
    assert y.shape == tuple(ref.shape)
    np.testing.assert_allclose(y, ref.detach().numpy(), atol=1e-12)
    dy = rng.standard_normal(y.shape)
    (ref * torch.tensor(dy)).sum().backward()
    (gx,) = fx.gradient(lambda x: np.sum(u(x) * dy), x)
    np.testing.assert_allclose(gx, xt.grad.numpy(), atol=1e-12)
    assert u.outdims(shape) == y.shape[2:] == fx.outputsize(u, shape)[2:]


def test_upsample_real_scale_second_order_repr_and_nearest_errors():
    x = rng.standard_normal((1, 2, 3, 4))
    u = fx.Upsample(1.5, mode="bilinear")
    assert repr(u) == "Upsample(1.5, mode='bilinear')"
    assert repr(fx.Upsample((1.5, 2), mode="bilinear")) == "Upsample((1.5, 2), mode='bilinear')"
    check_grads(lambda x: np.sum(u(x) ** 3), x, order=2)
    assert u.outdims((5, 5)) == (7, 7)
    with pytest.raises(FluxpyError, match="integer scales"):
        fx.Upsample(1.5)
    with pytest.raises(FluxpyError, match="integer scales"):
        fx.Upsample((1.5, 1.5), mode="nearest")
    assert fx.Upsample(2.0).scale == 2  # an integral real is an int
    np.testing.assert_array_equal(fx.Upsample((2.0, 1.0))(x), fx.Upsample((2, 1))(x))
    for bad in [0, -1.5, (2, 0), "2", float("nan")]:
        with pytest.raises(FluxpyError):
            fx.Upsample(bad, mode="bilinear")
    with pytest.raises(FluxpyError, match="empty output"):
        fx.Upsample(0.1, mode="bilinear")(x)


# ---------------------------------------------------------------------------------------------------------
# 6. clear errors


def test_scale_on_inputs_of_the_wrong_width_raises_a_fluxpy_error():
    with pytest.raises(FluxpyError, match=r"Diagonal\(3\).*\(2, 4\)"):
        fx.Scale(3)(np.ones((2, 4)))
    assert fx.Scale((2, 3))(np.ones((4, 2, 3), np.float32)).shape == (4, 2, 3)  # broadcasting still works


def test_maxout_of_mismatched_layers_raises_a_fluxpy_error():
    m = fx.Maxout(fx.Dense(3, 2), fx.Dense(3, 4))
    with pytest.raises(FluxpyError, match=r"Maxout.*Dense\(3, 2\).*\(2,\).*layer 1.*\(4,\)"):
        m(np.ones(3, np.float32))
    with pytest.raises(FluxpyError, match=r"\(5, 2\).*\(5, 4\)"):
        m(np.ones((5, 3), np.float32))


@pytest.mark.parametrize(
    "make,what",
    [
        (lambda: fx.Conv((3, 3), 3, 4, stride=0), "stride=0"),
        (lambda: fx.Conv((3, 3), 3, 4, stride=(1, -1)), "stride"),
        (lambda: fx.Conv((3, 3), 3, 4, dilation=0), "dilation=0"),
        (lambda: fx.Conv((3, 3), 3, 4, pad=-1), "pad=-1"),
        (lambda: fx.CrossCor((0, 3), 3, 4), "kernel"),
        (lambda: fx.Conv((3, 3), 3, 3, groups=0), "groups=0"),
        (lambda: fx.ConvTranspose((3, 3), 3, 4, stride=0), "stride=0"),
        (lambda: fx.MaxPool((2, 2), stride=0), "stride=0"),
        (lambda: fx.MeanPool(2, pad=-1), "pad=-1"),
        (lambda: fx.MaxPool(0), "window=0"),
        (lambda: fx.AdaptiveMeanPool(0), "at least 1"),
    ],
)
def test_bad_layer_options_raise_at_construction(make, what):
    with pytest.raises(FluxpyError, match=what):
        make()


def test_nnlib_conv_with_stride_zero_raises_a_fluxpy_error():
    from fluxpy.nnlib.conv import conv, maxpool

    with pytest.raises(FluxpyError, match="stride"):
        conv(np.ones((1, 1, 5, 5)), np.ones((1, 1, 3, 3)), stride=0)
    with pytest.raises(FluxpyError, match="stride"):
        maxpool(np.ones((1, 1, 4, 4)), (2, 2), stride=0)


def test_too_small_inputs_name_the_layer_and_the_input_shape():
    chain = fx.Chain(fx.Dense(2, 2), lambda x: x.reshape(1, 1, 2, 1), fx.Conv((3, 3), 1, 1))
    with pytest.raises(FluxpyError, match=r"Conv\(\(3, 3\), 1, 1\).*shape \(1, 1, 2, 1\).*larger than"):
        chain(np.ones(2, np.float32))
    with pytest.raises(FluxpyError, match=r"dilated kernel \(5, 5\).*padded to \(4, 4\)"):
        fx.Conv((3, 3), 1, 1, dilation=2, pad=1)(np.ones((1, 1, 2, 2)))
    with pytest.raises(FluxpyError, match=r"MaxPool\(\(3, 3\)\).*shape \(2, 2, 4\)"):
        fx.MaxPool((3, 3))(np.ones((2, 2, 4)))  # unbatched (C, H, W)
    with pytest.raises(FluxpyError, match=r"MeanPool\(4\).*shape \(1, 2, 3\)"):
        fx.MeanPool(4)(np.ones((1, 2, 3)))
    with pytest.raises(FluxpyError, match=r"ConvTranspose.*empty output"):
        fx.ConvTranspose((1, 1), 1, 1, pad=1)(np.ones((1, 1, 1, 1)))
    # the kernels' own messages name the spatial size and the padding
    from fluxpy.nnlib.conv import conv, maxpool

    with pytest.raises(FluxpyError, match=r"spatial size \(2, 1\) padded by"):
        conv(np.ones((1, 1, 2, 1)), np.ones((1, 1, 3, 3)))
    with pytest.raises(FluxpyError, match=r"input of shape \(1, 1, 2, 1\)"):
        maxpool(np.ones((1, 1, 2, 1)), (3, 3))
