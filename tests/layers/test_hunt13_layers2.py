"""Layer fixes of the thirteenth hunt, second part: ``AlphaDropout(1)``, ``Dropout``'s ``dims`` beyond the
input's axes, the true gradient of the normalisation layers' ``eps`` (and running statistics), constructor
errors of the convolutions, Flux's ``Upsample(mode; scale, size)``, named ``Parallel``, ``PixelShuffle``,
``GroupNorm(track_stats=True)``, array-like inputs of convolution and pooling layers, and ``outdims`` refusing
what the call refuses."""

import numpy as np
import pytest

import fluxpy as fx
from fluxpy.testing import check_grads

rng = np.random.default_rng(13_2)


def rand(*shape):
    return rng.standard_normal(shape)


# ---------------------------------------------------------------------------------------------------------
# 1. AlphaDropout(1.0): zeros, as Flux's `isone(p) && return sign.(x) .* T(0)`


def test_alphadropout_p1_trains_to_signed_zeros_without_nan():
    x = np.array([1.0, -2.0, 3.0, 0.0])
    d = fx.trainmode(fx.AlphaDropout(1.0))
    with np.errstate(all="raise"):  # no 1 / sqrt(0) on the way
        y = d(x)
    np.testing.assert_array_equal(y, np.zeros(4))
    np.testing.assert_array_equal(np.signbit(y), [False, True, False, False])  # sign.(x) .* 0
    x32 = x.astype(np.float32)
    assert d(x32).dtype == np.float32
    assert fx.testmode(fx.AlphaDropout(1.0))(x) is x  # inference passes the input


def test_alphadropout_p1_gradient_is_zero_not_nan():
    x = np.array([1.0, -2.0, 3.0])
    (g,) = fx.gradient(lambda x: np.sum(fx.AlphaDropout(1.0)(x) * x), x)  # automatic mode: trains here
    assert g is None or np.array_equal(g, np.zeros(3))
    d = fx.trainmode(fx.AlphaDropout(1.0))
    check_grads(lambda x: np.sum(d(x) + x**2), x, order=2, forward=True)
    # just below 1 the correction is finite
    y = fx.trainmode(fx.AlphaDropout(0.999, rng=np.random.default_rng(0)))(x)
    assert np.all(np.isfinite(y))


# ---------------------------------------------------------------------------------------------------------
# 2. Dropout dims: Flux's _dropout_shape keeps the input's size along the axes in dims, 1 elsewhere


def _flux_mask_shape(shape, dims):
    """Flux's ``_dropout_shape`` read in NumPy's numbering: an axis varies if it (or its negative form) is in
    ``dims``; axes the input does not have are never met."""
    dims = (dims,) if isinstance(dims, int) else tuple(dims)
    n = len(shape)
    return tuple(s if (i in dims or i - n in dims) else 1 for i, s in enumerate(shape))


@pytest.mark.parametrize(
    "dims, shape",
    [(2, (1, 1)), ((1, 5), (1, 4)), (-1, (1, 4)), (-2, (6, 1)), (-3, (1, 1)), ((0, 1), (6, 4)), ((), (1, 1))],
)
def test_dropout_dims_beyond_the_input_are_left_out_as_flux(dims, shape):
    assert _flux_mask_shape((6, 4), dims) == shape  # the reference itself, by hand
    p = 0.5
    d = fx.trainmode(fx.Dropout(p, dims=dims, rng=np.random.default_rng(7)))
    x = np.arange(1.0, 25.0).reshape(6, 4)
    y = d(x)
    keep = np.random.default_rng(7).random(shape) >= p  # the mask drawn for the mask's shape
    np.testing.assert_array_equal(y, x * (keep / (1 - p)))


def test_dropout_dims_two_on_a_matrix_shares_one_value():
    d = fx.trainmode(fx.Dropout(0.5, dims=2, rng=np.random.default_rng(0)))
    for _ in range(5):
        y = d(np.ones((6, 4)))
        assert len(set(y.ravel().tolist())) == 1 and y[0, 0] in (0.0, 2.0)


@pytest.mark.parametrize("dims", [1.5, "a", (0, 1.0), True, [0, None]])
def test_dropout_refuses_dims_that_are_not_axes(dims):
    with pytest.raises(fx.FluxpyError, match=r"Dropout\(0\.5\): dims must be"):
        fx.Dropout(0.5, dims=dims)


def test_dropout_dims_list_reads_as_tuple_and_prints():
    d = fx.Dropout(0.5, dims=[0, 2])
    assert d.dims == (0, 2) and repr(d) == "Dropout(0.5, dims=(0, 2))"


# ---------------------------------------------------------------------------------------------------------
# 3. eps (and running statistics in inference) get their true gradient


def _norm_cases():
    return [
        ("LayerNorm", fx.LayerNorm(3), rand(4, 3)),
        ("LayerNorm 2d", fx.LayerNorm((2, 3), affine=False), rand(2, 2, 3)),
        ("BatchNorm train", fx.trainmode(fx.BatchNorm(3)), rand(5, 3)),
        ("BatchNorm test", fx.testmode(fx.BatchNorm(3)), rand(5, 3)),
        ("BatchNorm no stats", fx.BatchNorm(2, track_stats=False), rand(3, 2, 4)),
        ("GroupNorm", fx.GroupNorm(4, 2), rand(2, 4, 3)),
        ("GroupNorm tracked train", fx.trainmode(fx.GroupNorm(4, 2, track_stats=True)), rand(2, 4, 3)),
        ("GroupNorm tracked test", fx.testmode(fx.GroupNorm(4, 2, track_stats=True)), rand(2, 4, 3)),
        ("InstanceNorm", fx.InstanceNorm(2, affine=True), rand(2, 2, 5)),
        ("InstanceNorm tracked test", fx.testmode(fx.InstanceNorm(2, track_stats=True)), rand(2, 2, 5)),
    ]


@pytest.mark.parametrize("case", _norm_cases(), ids=lambda c: c[0])
def test_check_grads_on_the_whole_normalisation_layer(case):
    _, m, x = case
    m = fx.f64(m)
    if getattr(m, "running_var", None) is not None:
        m.running_mean[...] = rng.standard_normal(m.running_mean.shape)
        m.running_var[...] = rng.uniform(0.5, 2.0, m.running_var.shape)
    check_grads(lambda m: np.sum(np.sin(m(x))), m, order=2, forward=True)
    check_grads(lambda x: np.sum(np.sin(m(x))), x, order=2, forward=True)


def test_layernorm_eps_gradient_matches_the_hand_formula():
    x, w = rand(4, 3), rand(4, 3)
    m = fx.f64(fx.LayerNorm(3))
    m.gamma[...] = [0.5, -1.0, 2.0]
    m.eps = 0.3
    (g,) = fx.gradient(lambda m: np.sum(m(x) * w), m)
    mu = x.mean(-1, keepdims=True)
    v = ((x - mu) ** 2).mean(-1, keepdims=True)
    # d/d eps of (x - mu) / sqrt(v + eps) * gamma = -(x - mu) / 2 * (v + eps)^(-3/2) * gamma
    expected = np.sum(w * m.gamma * -(x - mu) / 2 * (v + 0.3) ** -1.5)
    assert isinstance(g.eps, float)
    np.testing.assert_allclose(g.eps, expected, rtol=1e-10)


def test_batchnorm_inference_running_stats_gradient_matches_the_hand_formula():
    x, w = rand(5, 3), rand(5, 3)
    bn = fx.f64(fx.testmode(fx.BatchNorm(3)))
    bn.running_mean[...] = [0.1, -0.2, 0.3]
    bn.running_var[...] = [1.5, 0.5, 2.0]
    (g,) = fx.gradient(lambda m: np.sum(m(x) * w), bn)
    s = bn.running_var + bn.eps
    np.testing.assert_allclose(g.running_mean, -np.sum(w, 0) / np.sqrt(s), rtol=1e-10)
    np.testing.assert_allclose(g.running_var, np.sum(w * -(x - bn.running_mean) / 2 * s**-1.5, 0), rtol=1e-10)
    np.testing.assert_allclose(g.eps, np.sum(g.running_var), rtol=1e-10)
    # in training the running statistics are not read: no gradient for them
    (g,) = fx.gradient(lambda m: np.sum(m(x) * w), fx.trainmode(bn))
    assert g.running_mean is None and g.running_var is None and isinstance(g.eps, float)


def test_optimisers_leave_eps_and_running_stats_alone():
    x = rand(4, 3).astype(np.float32)
    bn = fx.testmode(fx.BatchNorm(3))
    st = fx.setup(fx.optimise.Adam(0.1), bn)
    (g,) = fx.gradient(lambda m: np.sum(m(x) ** 2), bn)
    assert g.eps is not None and g.running_mean is not None
    fx.update(st, bn, g)
    assert bn.eps == 1e-5 and np.array_equal(bn.running_mean, np.zeros(3)) and not np.allclose(bn.gamma, 1)
    assert len(fx.params(bn)) == 2  # still only gamma and beta


# ---------------------------------------------------------------------------------------------------------
# 4a. constructor errors of the convolutions, as Dense(3)'s


@pytest.mark.parametrize(
    "make, message",
    [
        (lambda: fx.Conv((3, 3), 3), r"Conv\(\(3, 3\), 3\) needs the output channels"),
        (lambda: fx.Conv((3, 3)), r"Conv\(\(3, 3\)\) needs the input and output channels"),
        (lambda: fx.CrossCor((3,), 2), r"CrossCor\(\(3,\), 2\) needs the output channels"),
        (lambda: fx.ConvTranspose((3, 3), 3), r"ConvTranspose\(\(3, 3\), 3\) needs the output channels"),
        (lambda: fx.DepthwiseConv((3, 3)), r"DepthwiseConv\(\(3, 3\)\) needs the input channels"),
        (lambda: fx.DepthwiseConv((3, 3), 0), r"DepthwiseConv: in_ch=0 must be at least 1"),
        (
            lambda: fx.DepthwiseConv((3, 3), 2.0),
            r"input channel count must be a non-negative integer, got 2.0",
        ),
        (lambda: fx.Conv((3, 3), 3, -1), r"Conv\(\(3, 3\), 3, -1\): the output channel count .* got -1"),
        (lambda: fx.Conv((3, 3), 3.0, 2), r"the input channel count must be a non-negative integer, got 3.0"),
        (lambda: fx.Conv((3, 3), 3, 4, 5), r"Conv: the activation must be a function, got 5"),
        (lambda: fx.ConvTranspose((3,), 2, 4, 5), r"ConvTranspose: the activation must be a function"),
        (lambda: fx.DepthwiseConv((3, 3), 2, 4, 5), r"DepthwiseConv: the activation must be a function"),
        (lambda: fx.Conv(np.ones((2, 3, 3, 3)), True, 5), r"Conv: the activation must be a function"),
    ],
)
def test_convolution_constructor_errors_are_clear(make, message):
    with pytest.raises(fx.FluxpyError, match=message):
        make()


# ---------------------------------------------------------------------------------------------------------
# 4b. Upsample: Flux's Upsample(mode; scale, size) forms


def test_upsample_mode_first_and_keyword_forms():
    x = rand(1, 2, 3, 4)
    for a, b in [
        (fx.Upsample("bilinear", scale=2), fx.Upsample(2, mode="bilinear")),
        (fx.Upsample(scale=(2, 3)), fx.Upsample((2, 3))),
        (fx.Upsample(mode="bilinear", scale=1.5), fx.Upsample(1.5, "bilinear")),
    ]:
        assert repr(a) == repr(b)
        np.testing.assert_array_equal(a(x), b(x))
    assert repr(fx.Upsample("bilinear", scale=2)) == "Upsample(2, mode='bilinear')"


def test_upsample_size_nearest_repeats_by_the_ratio():
    x = rand(2, 3, 4, 5)
    u = fx.Upsample(size=(8, 15))
    assert repr(u) == "Upsample('nearest', size=(8, 15))" and u.scale is None
    np.testing.assert_array_equal(u(x), np.repeat(np.repeat(x, 2, axis=2), 3, axis=3))
    assert u(x[0]).shape == (3, 8, 15)  # a size tuple fixes the rank: an unbatched sample too
    assert u.outdims((4, 5)) == (8, 15) and fx.outdims(u, (2, 3, 4, 5)) == (8, 15)
    check_grads(lambda x: np.sum(np.sin(u(x))), x, order=2, forward=True)
    with pytest.raises(
        fx.FluxpyError, match=r"output size \(8, 15\) must be a multiple of the spatial size \(3, 5\)"
    ):
        u(np.ones((1, 1, 3, 5)))
    with pytest.raises(fx.FluxpyError, match=r"must be a multiple .* an input of size \(3, 5\)"):
        fx.outdims(u, (3, 5))


def _interp_matrix(n_in, n_out):
    """Linear interpolation with aligned corners, by hand: output j sits at j * (n_in - 1) / (n_out - 1)."""
    m = np.zeros((n_out, n_in))
    for j in range(n_out):
        pos = j * (n_in - 1) / (n_out - 1) if n_out > 1 else 0.0
        lo = min(int(np.floor(pos)), n_in - 1)
        hi = min(lo + 1, n_in - 1)
        m[j, lo] += 1 - (pos - lo)
        m[j, hi] += pos - lo
    return m


def test_upsample_size_bilinear_interpolates_to_any_size():
    x = rand(2, 3, 4, 5)
    u = fx.Upsample("bilinear", size=(7, 3))
    assert repr(u) == "Upsample('bilinear', size=(7, 3))"
    expected = np.einsum("hi,wj,ncij->nchw", _interp_matrix(4, 7), _interp_matrix(5, 3), x)
    np.testing.assert_allclose(u(x), expected, rtol=1e-12)
    check_grads(lambda x: np.sum(np.sin(u(x))), x, order=2, forward=True)
    assert fx.outdims(fx.Chain(fx.Conv((3, 3), 1, 1), fx.Upsample("bilinear", size=(9, 9))), (5, 5)) == (9, 9)


def test_upsample_size_bilinear_as_pytorch():
    torch = pytest.importorskip("torch")
    x = rand(2, 3, 4, 5)
    ref = torch.nn.functional.interpolate(torch.tensor(x), size=(7, 3), mode="bilinear", align_corners=True)
    np.testing.assert_allclose(fx.Upsample("bilinear", size=(7, 3))(x), ref.numpy(), rtol=1e-12, atol=1e-12)


@pytest.mark.parametrize(
    "make, message",
    [
        (lambda: fx.Upsample(), r"give either a scale or an output size"),
        (lambda: fx.Upsample(mode="bilinear"), r"give either a scale or an output size"),
        (lambda: fx.Upsample(2, size=(2, 2)), r"give either a scale or an output size \(but not both\)"),
        (lambda: fx.Upsample("bilinear", "nearest"), r"Upsample takes Upsample\(scale, mode\)"),
        (lambda: fx.Upsample("bilinear", mode="nearest"), r"the mode is given twice"),
        (lambda: fx.Upsample(2, "bilinear", mode="nearest"), r"the mode is given twice"),
        (lambda: fx.Upsample(2, scale=3), r"the scale is given twice"),
        (lambda: fx.Upsample(size=4), r"size must be a tuple of output sizes"),
        (lambda: fx.Upsample(size=(0, 2)), r"size must be a tuple of output sizes"),
        (lambda: fx.Upsample("cubic", scale=2), r"unknown mode 'cubic'"),
        (lambda: fx.Upsample("bilinear", size=(3, 3))(np.ones((1, 1, 0, 2))), r"empty spatial axis"),
    ],
)
def test_upsample_constructor_and_call_errors(make, message):
    with pytest.raises(fx.FluxpyError, match=message):
        make()


# ---------------------------------------------------------------------------------------------------------
# 4c. named Parallel, as Flux's Parallel(connection; a = ..., b = ...)


def test_named_parallel_calls_prints_and_indexes_as_flux():
    p = fx.Parallel(np.add, a=fx.Dense(2, 3), b=fx.Dense(2, 3, fx.tanh))
    assert list(p.layers) == ["a", "b"] and p["a"] is p.layers["a"] and p[1] is p.layers["b"] and len(p) == 2
    x = rand(4, 2).astype(np.float32)
    np.testing.assert_allclose(p(x), p["a"](x) + p["b"](x), rtol=1e-6)
    assert repr(p) == (
        "Parallel(\n"
        "  add,\n"
        "  a = Dense(2, 3),                      # 9 parameters\n"
        "  b = Dense(2, 3, tanh),                # 9 parameters\n"
        ")                   # Total: 4 arrays, 18 parameters, 72 bytes."
    )
    assert repr(fx.Parallel(np.add, a=fx.relu, b=fx.tanh)) == "Parallel(add, a = relu, b = tanh)"
    assert repr(p[1:]).startswith("Parallel(\n  add,\n  b = Dense(2, 3, tanh),")
    assert fx.outputsize(p, (4, 2)) == (4, 3)
    # several inputs: input i to layer i, in the names' order
    y = rand(4, 2).astype(np.float32)
    np.testing.assert_allclose(p(x, y), p["a"](x) + p["b"](y), rtol=1e-6)


def test_named_parallel_gradient_is_a_dict_and_trains():
    p = fx.f64(fx.Parallel(lambda u, v: u * v, a=fx.Dense(2, 3), b=fx.Dense(2, 3, fx.tanh)))
    x = rand(4, 2)
    check_grads(lambda m: np.sum(np.sin(m(x))), p, order=2, forward=True)
    check_grads(lambda x: np.sum(np.sin(p(x))), x, order=2, forward=True)
    (g,) = fx.gradient(lambda m: np.sum(m(x)), p)
    assert type(g.layers) is dict and list(g.layers) == ["a", "b"]
    st = fx.setup(fx.optimise.Descent(0.1), p)
    w = p["a"].weight.copy()
    fx.update(st, p, g)
    np.testing.assert_allclose(p["a"].weight, w - 0.1 * g.layers["a"].weight)
    assert len(fx.params(p)) == 4 and type(fx.f32(p).layers) is dict


def test_named_parallel_refusals():
    with pytest.raises(fx.FluxpyError, match="by position or by name"):
        fx.Parallel(np.add, fx.relu, b=fx.tanh)
    with pytest.raises(fx.FluxpyError, match="cannot be called 'layers'"):
        fx.Parallel(np.add, layers=fx.relu)
    with pytest.raises(TypeError):
        fx.Parallel(np.add, connection=fx.relu)  # the first argument's name, as Flux refuses it


# ---------------------------------------------------------------------------------------------------------
# 4d. PixelShuffle: NNlib's pixel_shuffle in channels-first layout


def _pixel_shuffle_loops(x, r):
    """By hand: output channel c at (s_1 * r + i_1, ..) is input channel c * r^d + sum_k i_k r^(d - k)."""
    n, cin, *spatial = x.shape
    d = len(spatial)
    c_out = cin // r**d
    out = np.zeros((n, c_out, *(s * r for s in spatial)))
    for c in range(c_out):
        for offs in np.ndindex(*(r,) * d):
            ch = c * r**d + sum(i * r ** (d - 1 - k) for k, i in enumerate(offs))
            for pos in np.ndindex(*spatial):
                out[(slice(None), c) + tuple(p * r + i for p, i in zip(pos, offs, strict=True))] = x[
                    (slice(None), ch) + pos
                ]
    return out


def test_pixel_shuffle_matches_fluxs_documented_examples():
    p = fx.PixelShuffle(2)
    assert repr(p) == "PixelShuffle(2)" and fx.PixelShuffle is fx.layers.PixelShuffle
    # NNlib: x = [10i + j + channel/10 for i in 1:2, j in 1:3, channel in 1:4, batch in 1:1] (Julia's
    # (W, H, C, N) is fluxpy's (N, C, H, W) read backwards)
    x = np.zeros((1, 4, 3, 2))
    for ch, j, i in np.ndindex(4, 3, 2):
        x[0, ch, j, i] = 10 * (i + 1) + (j + 1) + (ch + 1) / 10
    julia = np.array(
        [
            [11.1, 11.3, 12.1, 12.3, 13.1, 13.3],
            [11.2, 11.4, 12.2, 12.4, 13.2, 13.4],
            [21.1, 21.3, 22.1, 22.3, 23.1, 23.3],
            [21.2, 21.4, 22.2, 22.4, 23.2, 23.4],
        ]
    )
    np.testing.assert_allclose(p(x)[0, 0], julia.T)
    # the 1-d example: y = [i + channel/10 for i in 1:3, channel in 1:6, batch in 1:1]
    y = np.array([[[(i + 1) + (c + 1) / 10 for i in range(3)] for c in range(6)]])
    expected = np.array(
        [[1.1, 1.2, 2.1, 2.2, 3.1, 3.2], [1.3, 1.4, 2.3, 2.4, 3.3, 3.4], [1.5, 1.6, 2.5, 2.6, 3.5, 3.6]]
    )
    np.testing.assert_allclose(p(y)[0], expected)


@pytest.mark.parametrize(
    "shape, r", [((2, 8, 3), 2), ((2, 18, 2, 3), 3), ((1, 16, 2, 1, 3), 2), ((1, 3, 4), 1)]
)
def test_pixel_shuffle_against_loops_and_gradients(shape, r):
    x = rand(*shape)
    p = fx.PixelShuffle(r)
    np.testing.assert_array_equal(p(x), _pixel_shuffle_loops(x, r))
    w = rand(*p(x).shape)
    check_grads(lambda x: np.sum(np.sin(p(x)) * w), x, order=2, forward=True)
    out = tuple(s * r for s in shape[2:])
    assert p.outdims(shape) == out == fx.outdims(p, shape)
    if len(shape) < 5:  # a spatial size (fewer than 3 entries: the rank rule reads 3 or more as full)
        assert p.outdims(shape[2:]) == out
    assert fx.outputsize(p, shape) == p(x).shape


def test_pixel_shuffle_as_pytorch():
    torch = pytest.importorskip("torch")
    x = rand(2, 18, 4, 5)
    ref = torch.nn.functional.pixel_shuffle(torch.tensor(x), 3).numpy()
    np.testing.assert_array_equal(fx.PixelShuffle(3)(x), ref)


def test_pixel_shuffle_in_a_model_and_errors():
    m = fx.Chain(fx.Conv((3, 3), 1, 8, pad=1), fx.PixelShuffle(2))
    assert fx.outputsize(m, (1, 1, 5, 5)) == (1, 2, 10, 10) == m(np.ones((1, 1, 5, 5), np.float32)).shape
    assert fx.outdims(m, (5, 5)) == (10, 10)
    with pytest.raises(fx.FluxpyError, match=r"has 6 channels, not a multiple of r\^d = 2\^2 = 4"):
        fx.PixelShuffle(2)(np.ones((1, 6, 2, 2)))
    with pytest.raises(fx.FluxpyError, match=r"has 6 channels"):
        fx.outdims(fx.PixelShuffle(2), (1, 6, 2, 2))
    with pytest.raises(fx.FluxpyError, match=r"PixelShuffle\(2\) works on batched inputs"):
        fx.PixelShuffle(2)(np.ones((4, 2)))
    for r in (0, 1.5, True):
        with pytest.raises(fx.FluxpyError, match="upscale factor r must be a positive integer"):
            fx.PixelShuffle(r)


# ---------------------------------------------------------------------------------------------------------
# 4e. GroupNorm(track_stats=True): per-group running statistics, as Flux's (zeros32(G), ones32(G))


def test_groupnorm_tracks_per_group_statistics_as_flux():
    m = fx.GroupNorm(4, 2, track_stats=True, momentum=0.3)
    assert repr(m) == "GroupNorm(4, 2, track_stats=True)"
    assert m.running_mean.shape == (2,) and m.running_var.shape == (2,)
    plain = fx.GroupNorm(4, 2)
    assert plain.track_stats is False and plain.running_mean is None and repr(plain) == "GroupNorm(4, 2)"
    x = rand(3, 4, 5)
    fx.trainmode(m)(x)
    grouped = x.reshape(3, 2, 10)  # (N, G, C/G * spatial)
    mean = grouped.mean(-1).mean(0)  # per-sample group means, averaged over the batch
    var = (grouped.var(-1) * 10 / 9).mean(0)  # unbiased, averaged
    np.testing.assert_allclose(m.running_mean, 0.3 * mean, rtol=1e-5)
    np.testing.assert_allclose(m.running_var, 0.7 + 0.3 * var, rtol=1e-5)
    # inference: every sample's groups normalised with the running statistics, then gamma and beta
    m.gamma[...] = [1.0, 2.0, 3.0, 4.0]
    m.beta[...] = [0.5, 0.0, -0.5, 1.0]
    y = fx.testmode(m)(x)
    rm, rv = np.repeat(m.running_mean, 2), np.repeat(m.running_var, 2)  # per channel
    expected = (x - rm[:, None]) / np.sqrt(rv[:, None] + m.eps) * m.gamma[:, None] + m.beta[:, None]
    np.testing.assert_allclose(y, expected, rtol=1e-5)


def test_groupnorm_tracked_in_automatic_mode_updates_once_per_gradient():
    m = fx.f64(fx.GroupNorm(4, 2, track_stats=True))
    x = rand(2, 4, 3)
    before = m.running_mean.copy()
    y0 = m(x)  # plain call: inference with the running statistics, nothing updated
    np.testing.assert_array_equal(m.running_mean, before)
    np.testing.assert_allclose(y0, x / np.sqrt(1 + 1e-5), rtol=1e-12)
    fx.gradient(lambda m: np.sum(m(x) ** 2), m)
    np.testing.assert_allclose(m.running_mean, 0.1 * x.reshape(2, 2, 6).mean(-1).mean(0), rtol=1e-12)


# ---------------------------------------------------------------------------------------------------------
# 5. convolution and pooling layers take array-likes, as Dense does


def _list_layers():
    return [
        fx.Conv((2,), 1, 2),
        fx.CrossCor((2,), 1, 2),
        fx.ConvTranspose((2,), 1, 2, stride=2),
        fx.DepthwiseConv((2,), 1, 2),
        fx.MaxPool((2,)),
        fx.MeanPool(2),
        fx.AdaptiveMaxPool((2,)),
        fx.AdaptiveMeanPool(2),
        fx.GlobalMaxPool(),
        fx.GlobalMeanPool(),
        fx.Upsample(2),
        fx.Upsample("bilinear", size=(5,)),
        fx.PixelShuffle(1),
    ]


@pytest.mark.parametrize("layer", _list_layers(), ids=repr)
def test_conv_and_pool_layers_take_nested_lists(layer):
    layer = fx.f64(layer)
    xs = [[[1.0, -2.0, 3.0, 0.5]]]
    np.testing.assert_array_equal(layer(xs), layer(np.array(xs)))
    (g_list,) = fx.gradient(lambda x: np.sum(np.sin(layer(x))), xs)
    (g_array,) = fx.gradient(lambda x: np.sum(np.sin(layer(x))), np.array(xs))
    assert isinstance(g_list, list)
    np.testing.assert_allclose(np.array(g_list), g_array, rtol=1e-12)


def test_a_data_batch_gets_no_input_gradient(monkeypatch):
    """The list conversion takes only x: passing the layer too made a data batch look as if it depended on
    the weight, and the first convolution computed an input gradient nobody asked for (1.4 ms a step on
    the benchmark CNN)."""
    from fluxpy.nnlib import conv as nnconv

    calls = []
    original = nnconv.conv_transpose
    monkeypatch.setattr(nnconv, "conv_transpose", lambda *a, **k: calls.append(1) or original(*a, **k))
    model = fx.f64(fx.Chain(fx.Conv((3, 3), 2, 4, fx.relu, pad=1), fx.Conv((3, 3), 4, 2, pad=1)))
    x = np.random.default_rng(0).standard_normal((2, 2, 6, 6))
    fx.gradient(lambda m: np.sum(m(x) ** 2), model)
    assert len(calls) == 1  # the second convolution's input gradient only
    calls.clear()
    fx.gradient(lambda m: np.sum(m(x.tolist()) ** 2), model)
    assert len(calls) == 1


# ---------------------------------------------------------------------------------------------------------
# 6. outdims refuses what the call refuses, and names the size the layer got


def test_outdims_of_upsample_refuses_an_empty_output_as_the_call():
    u = fx.Upsample(0.5, mode="bilinear")
    with pytest.raises(fx.FluxpyError, match=r"an input of shape \(1, 1, 1\) gives an empty output \(0,\)"):
        u(np.ones((1, 1, 1)))
    with pytest.raises(fx.FluxpyError, match=r"an input of size \(1,\) gives an empty output \(0,\)"):
        fx.outdims(u, (1,))
    assert fx.outdims(u, (4,)) == (2,)


@pytest.mark.parametrize(
    "layer, message",
    [
        (fx.MaxPool(7), r"MaxPool\(7\): an input of size \(6, 6, 6\) is too small"),
        (fx.AdaptiveMaxPool(7), r"AdaptiveMaxPool\(7\): an input of size \(6, 6, 6\) is too small"),
        (fx.Upsample(0.1, mode="bilinear"), r"an input of spatial size \(6, 6, 6\) gives an empty output"),
    ],
)
def test_outdims_in_a_chain_shows_the_spatial_size_the_open_layer_got(layer, message):
    m = fx.Chain(fx.Conv((3, 3, 3), 1, 1), layer)
    with pytest.raises(fx.FluxpyError, match=message) as info:
        fx.outdims(m, (8, 8, 8))
    assert "(1, 1, 6, 6, 6)" not in str(info.value)
