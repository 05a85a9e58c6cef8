"""Layer fixes from the 14th bug hunt: ``DepthwiseConv(weight, bias, activation; ...)`` as Flux's, and Flux's
``_match_eltype``: a float64 input to a float32 layer is converted to float32 (with a one-time warning),
integer and bool inputs silently, and the input gradient comes back in the input's own dtype."""

import warnings

import numpy as np
import pytest

import fluxpy as fx
import fluxpy.layers.basic
from fluxpy.testing import check_grads

rng = np.random.default_rng(1414)

FLUX_WARNING = (
    "Layer with Float32 parameters got Float64 input. The input will be converted, but any earlier layers "
    "may be very slow."
)


@pytest.fixture
def fresh_warnings(monkeypatch):
    """Forget which dtype pairs were warned about (the warning is shown once per process, as Flux's)."""
    monkeypatch.setattr(fluxpy.layers.basic, "_warned_eltypes", set())


# ---------------------------------------------------------------------------------------------------------
# 5. DepthwiseConv from a weight array


def depthwise_reference(w, x, bias=None, **kw):
    """Each output channel convolves its own input channel (multiplier 1): one single-channel Conv each."""
    outs = [fx.Conv(w[c : c + 1], False, **kw)(x[:, c : c + 1]) for c in range(w.shape[0])]
    y = np.concatenate(outs, axis=1)
    return y if bias is None else y + bias.reshape(1, -1, *([1] * (x.ndim - 2)))


def test_depthwise_conv_from_a_weight_matches_per_channel_convolutions():
    w = rng.standard_normal((4, 1, 3, 3))
    b = rng.standard_normal(4)
    x = rng.standard_normal((2, 4, 7, 6))
    d = fx.DepthwiseConv(w)
    assert repr(d) == "Conv((3, 3), 4, 4, groups=4)" and d.weight is w and d.groups == 4
    np.testing.assert_allclose(d(x), depthwise_reference(w, x), rtol=1e-12)
    d = fx.DepthwiseConv(w, b, fx.relu, stride=2, pad=1, dilation=(1, 2))
    assert d.bias is b and d.activation is fx.relu
    want = np.maximum(depthwise_reference(w, x, b, stride=2, pad=1, dilation=(1, 2)), 0)
    np.testing.assert_allclose(d(x), want, rtol=1e-12)
    assert fx.DepthwiseConv(w, bias=False, activation=fx.tanh).bias is False
    assert fx.DepthwiseConv(w, activation=fx.tanh).activation is fx.tanh


def test_depthwise_conv_from_a_weight_with_a_channel_multiplier():
    w = rng.standard_normal((6, 1, 2))
    d = fx.DepthwiseConv(w, groups=3)  # 3 input channels, 2 filters each
    assert repr(d) == "Conv((2,), 3, 6, groups=3)"
    x = rng.standard_normal((2, 3, 5))
    manual = fx.f64(fx.DepthwiseConv((2,), 3, 6))
    manual.weight[...] = w
    np.testing.assert_allclose(d(x), manual(x), rtol=1e-12)


def test_depthwise_conv_from_a_weight_gradients():
    w = rng.standard_normal((3, 1, 2, 2))
    b = rng.standard_normal(3)
    x = rng.standard_normal((2, 3, 4, 4))

    def loss(w, b, x):
        return np.sum(fx.DepthwiseConv(w, b, fx.tanh, pad=1)(x) ** 2)

    check_grads(loss, w, b, x, order=2)


@pytest.mark.parametrize(
    "call, message",
    [
        (lambda w: fx.DepthwiseConv(np.ones((4, 2, 3, 3))), r"shape \(out_ch, 1, \*kernel\).*\(4, 2, 3, 3\)"),
        (lambda w: fx.DepthwiseConv(np.ones((4, 1))), r"shape \(out_ch, 1, \*kernel\)"),
        (lambda w: fx.DepthwiseConv(w, groups=3), r"groups=3 .* divisor of the 4 output channels"),
        (lambda w: fx.DepthwiseConv(w, groups=0), r"groups=0"),
        (lambda w: fx.DepthwiseConv(w, init=fx.glorot_uniform), r"takes no init="),
        (lambda w: fx.DepthwiseConv((3, 3)), r"needs the input channels.*DepthwiseConv\(weight\)"),
    ],
)
def test_depthwise_conv_errors_say_what_to_pass(call, message):
    with pytest.raises(fx.FluxpyError, match=message):
        call(np.ones((4, 1, 3, 3), np.float32))


def test_depthwise_conv_weight_form_refuses_an_argument_given_twice():
    w = np.ones((4, 1, 3, 3), np.float32)
    with pytest.raises(TypeError, match="multiple values for argument 'activation'"):
        fx.DepthwiseConv(w, True, fx.relu, activation=fx.relu)
    with pytest.raises(TypeError, match="multiple values for argument 'bias'"):
        fx.DepthwiseConv(w, True, bias=False)
    assert fx.DepthwiseConv((3, 3), 4).weight.shape == (4, 1, 3, 3)  # the size form is unchanged


# ---------------------------------------------------------------------------------------------------------
# 9. Flux's _match_eltype


LAYERS = [
    ("Dense", lambda: fx.Dense(3, 2, fx.relu), (4, 3)),
    ("Dense tanh", lambda: fx.Dense(3, 2, fx.σ), (3,)),
    ("Conv", lambda: fx.Conv((2, 2), 3, 2), (2, 3, 4, 4)),
    ("Conv relu", lambda: fx.Conv((2,), 3, 2, fx.relu), (3, 5)),
    ("CrossCor", lambda: fx.CrossCor((2, 2), 3, 2), (2, 3, 4, 4)),
    ("ConvTranspose", lambda: fx.ConvTranspose((2, 2), 3, 2, stride=2), (2, 3, 4, 4)),
    ("DepthwiseConv", lambda: fx.DepthwiseConv((2, 2), 3, 6), (2, 3, 4, 4)),
    ("Scale", lambda: fx.Scale(3), (4, 3)),
    ("Bilinear", lambda: fx.Bilinear(3, 2), (4, 3)),
    ("RNNCell", lambda: fx.RNNCell(3, 2), (4, 3)),
    ("LSTMCell", lambda: fx.LSTMCell(3, 2), (4, 3)),
    ("GRUCell", lambda: fx.GRUCell(3, 2), (4, 3)),
    ("GRUv3Cell", lambda: fx.GRUv3Cell(3, 2), (4, 3)),
    ("RNN", lambda: fx.RNN(3, 2), (5, 4, 3)),
    ("LSTM", lambda: fx.LSTM(3, 2), (5, 3)),
    ("GRU", lambda: fx.GRU(3, 2), (5, 4, 3)),
    ("GRUv3", lambda: fx.GRUv3(3, 2), (5, 4, 3)),
]


def first(y):
    return y[0] if isinstance(y, tuple) else y


@pytest.mark.parametrize("name, make, shape", LAYERS, ids=[r[0] for r in LAYERS])
def test_float64_input_to_a_float32_layer_runs_in_float32_and_warns_once(fresh_warnings, name, make, shape):
    layer = make()
    x = rng.standard_normal(shape)
    with pytest.warns(UserWarning, match=FLUX_WARNING.replace(".", r"\.")):
        y = first(layer(x))
    assert y.dtype == np.float32
    np.testing.assert_allclose(y, first(layer(x.astype(np.float32))), rtol=1e-6)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert first(layer(x)).dtype == np.float32  # shown once


@pytest.mark.parametrize("name, make, shape", LAYERS, ids=[r[0] for r in LAYERS])
def test_integer_and_bool_inputs_are_converted_silently(name, make, shape):
    layer = make()
    for x in (rng.integers(-2, 3, shape), rng.integers(0, 2, shape).astype(bool)):
        assert first(layer(x)).dtype == np.float32  # no warning: warnings are errors here
        np.testing.assert_allclose(first(layer(x)), first(layer(x.astype(np.float32))), rtol=1e-6)


def test_a_float16_layer_converts_wider_inputs_with_flux_warning(fresh_warnings):
    layer = fx.Dense(fx.ones32(2, 3).astype(np.float16), False)
    with pytest.warns(UserWarning, match="Layer with Float16 parameters got Float32 input"):
        assert layer(np.ones(3, np.float32)).dtype == np.float16
    with pytest.warns(UserWarning, match="Layer with Float16 parameters got Float64 input"):
        assert layer(np.ones(3)).dtype == np.float16
    assert layer(np.ones(3, int)).dtype == np.float16


def test_float64_and_complex_layers_and_inputs_are_left_alone():
    assert fx.f64(fx.Dense(3, 2))(np.ones(3, np.float32)).dtype == np.float64  # NumPy's promotion
    assert fx.Dense(3, 2)(np.ones(3, np.complex128)).dtype == np.complex128
    wc = np.ones((2, 3), np.complex64)
    assert fx.Dense(wc, False)(np.ones(3)).dtype == np.complex128
    assert fx.Dense(3, 2)([1.0, 2.0, 3.0]).shape == (2,)  # a list is not converted by Dense


def test_gradients_through_the_conversion_come_back_in_the_input_dtype(fresh_warnings):
    d32 = fx.Dense(4, 3, rng=np.random.default_rng(5))
    d64 = fx.f64(d32)
    x = np.random.default_rng(6).standard_normal((2, 4))
    with pytest.warns(UserWarning, match="Float32 parameters got Float64 input"):
        gx, gd = fx.gradient(lambda x, d: np.sum(d(x) ** 2), x, d32)
    assert gx.dtype == np.float64 and gd.weight.dtype == np.float32  # each as its argument (ProjectTo)
    gx64, gd64 = fx.gradient(lambda x, d: np.sum(d(x) ** 2), x, d64)
    # float32 against float64 arithmetic: a small entry from a cancellation differs relatively more
    np.testing.assert_allclose(gx, gx64, rtol=1e-4, atol=1e-6)
    np.testing.assert_allclose(gd.weight, gd64.weight, rtol=1e-4, atol=1e-6)


def dense_square(x):
    return np.sum(DENSE32(x) ** 2)


def conv_square(x):
    return np.sum(CONV32(x) ** 2)


def cell_square(x):
    return np.sum(CELL32(x)[0] ** 2)


DENSE32 = fx.Dense(4, 3, rng=np.random.default_rng(1))
CONV32 = fx.Conv((2, 2), 2, 3, stride=2, rng=np.random.default_rng(2))
CELL32 = fx.RNNCell(3, 2, fx.identity, rng=np.random.default_rng(3))


@pytest.mark.parametrize(
    "f, shape", [(dense_square, (2, 4)), (conv_square, (1, 2, 4, 4)), (cell_square, (3,))]
)
def test_check_grads_through_the_float32_conversion(fresh_warnings, f, shape):
    # the layers compute in float32: steps of 1e-3 survive it, and a quadratic's differences are exact up to
    # float32's rounding (1 in 30 random cells missed rtol=1e-3 by a little)
    x = np.random.default_rng(4).standard_normal(shape)
    with pytest.warns(UserWarning, match="Float32 parameters got Float64 input"):
        check_grads(f, x, order=2, forward=True, eps=1e-3, rtol=1e-2, atol=1e-4)


def test_a_float64_data_batch_still_gets_no_input_gradient(fresh_warnings, monkeypatch):
    """The conversion reads only ``x``: a data batch converted stays constant to the activity analysis, and
    the first convolution computes no input gradient (see test_hunt13_layers2)."""
    from fluxpy.nnlib import conv as nnconv

    calls = []
    original = nnconv.conv_transpose
    monkeypatch.setattr(nnconv, "conv_transpose", lambda *a, **k: calls.append(1) or original(*a, **k))
    model = fx.Chain(fx.Conv((3, 3), 2, 4, fx.relu, pad=1), fx.Conv((3, 3), 4, 2, pad=1))
    x = rng.standard_normal((2, 2, 6, 6))
    with pytest.warns(UserWarning, match="Float32 parameters got Float64 input"):
        (g,) = fx.gradient(lambda m: np.sum(m(x) ** 2), model)
    assert len(calls) == 1  # the second convolution's input gradient only
    assert g.layers[0].weight.dtype == np.float32


def test_shape_errors_come_before_the_conversion_warning():
    # Flux's _size_check runs before _match_eltype: a wrong input is refused without a dtype warning
    with pytest.raises(fx.FluxpyError, match=r"Dense\(3, 4\) expects inputs whose last axis has 3"):
        fx.Dense(3, 4)(np.ones((2, 5)))
    with pytest.raises(fx.FluxpyError, match=r"the state h has shape \(3, 4\)"):
        fx.GRUCell(3, 4)(np.ones((2, 3)), np.ones((3, 4), np.float32))
    with pytest.raises(fx.FluxpyError, match="empty output"):
        fx.ConvTranspose((1, 1), 1, 1, pad=1)(np.ones((1, 1, 1, 1)))
