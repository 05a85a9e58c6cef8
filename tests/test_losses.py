"""Losses (fluxpy.losses) against Flux's own test values (test/losses.jl, transposed to batch first with
classes on the last axis) and hand computations; their derivatives against finite differences; onehot and
onecold."""

import numpy as np
import pytest

import fluxpy as fx
import fluxpy.losses as losses
from fluxpy.errors import FluxpyError
from fluxpy.onehot import onecold, onehot
from fluxpy.testing import check_grads

rng = np.random.default_rng(0)
identity = lambda x: x


def softmax(x):
    e = np.exp(x - np.max(x, axis=-1, keepdims=True))
    return e / np.sum(e, axis=-1, keepdims=True)


def logsoftmax(x):
    return np.log(softmax(x))


def sigmoid(x):
    return 1 / (1 + np.exp(-x))


# ---------------------------------------------------------------- Flux's reference values: regression


def test_mse_mae_huber_flux_values():
    y = np.array([1, 1, 0, 0])
    yhat = np.array([0.9, 0.1, 0.1, 0.9])
    assert np.isclose(losses.mse(yhat, y), (0.1**2 + 0.9**2) / 2)
    assert np.isclose(losses.mse(yhat, y), 0.41)
    assert np.isclose(losses.mae(yhat, y), 0.5)
    assert np.isclose(losses.huber_loss(yhat, y), 0.20500000000000002)


def test_huber_loss_by_hand_with_delta():
    yhat, y = np.array([0.0, 0.5, 3.0]), np.zeros(3)
    # |e| < delta: e²/2; else delta (|e| - delta/2)
    np.testing.assert_allclose(losses.huber_loss(yhat, y, agg=identity), [0.0, 0.125, 2.5])
    np.testing.assert_allclose(losses.huber_loss(yhat, y, delta=2, agg=identity), [0.0, 0.125, 4.0])


def test_msle_flux_value():
    y = np.array([123.0, 456.0, 789.0])
    yhat = np.array([345.0, 332.0, 789.0])
    assert np.isclose(losses.msle(yhat, y), 0.38813985859136585)
    assert losses.msle(y, y) == 0


# ---------------------------------------------------------------- Flux's reference values: classification

Y = onehot([1, 1, 0, 0], [0, 1], dtype=np.float64)
YHAT = np.array([[0.1, 0.9], [0.9, 0.1], [0.9, 0.1], [0.1, 0.9]])
V = np.log(0.1 / 0.9)
LOGYHAT = np.array([[V, 0.0], [0.0, V], [0.0, V], [V, 0.0]])
LOSSVALUE = 1.203972804325936
LOSSVALUE_SMOOTHED = 1.2039728043259348
SF = 0.1
YL = onehot(1, [0, 1], dtype=np.float64)  # [0, 1]
YLS = np.array([SF, 1 - SF])  # YL after label smoothing by 2 SF
YLP = np.array([0.9, 0.1])
LOGYLP = np.array([0.0, V])
YA = onehot([1, 1, 1, 0, 0], [0, 1], dtype=np.float64)
Y_SAME = YA.astype(np.float32)
Y_SIM = Y_SAME * (1 - 2 * SF) + SF
Y_DIS = Y_SIM[:, ::-1]  # the two classes swapped


def test_crossentropy_flux_values():
    p = np.array([0.1, 0.0, 0.9])
    q = np.array([0.1, 0.9])
    assert np.isclose(losses.crossentropy(p, p), losses.crossentropy(q, q))
    assert np.isclose(losses.crossentropy(YHAT, Y), LOSSVALUE)
    assert np.isclose(losses.crossentropy(YHAT, losses.label_smoothing(Y, 0.1)), LOSSVALUE_SMOOTHED)
    assert np.isclose(
        losses.crossentropy(YLP, losses.label_smoothing(YL, 2 * SF)), -np.sum(YLS * np.log(YLP))
    )
    assert np.isclose(losses.crossentropy(YLP, YL), -np.sum(YL * np.log(YLP)))
    assert losses.crossentropy(Y_SAME, YA, eps=0) == 0
    assert losses.crossentropy(YA, YA, eps=0) == 0
    ya_smoothed = losses.label_smoothing(YA, 2 * SF)
    assert losses.crossentropy(Y_SIM, YA) < losses.crossentropy(Y_SIM, ya_smoothed)
    assert losses.crossentropy(Y_DIS, YA) > losses.crossentropy(Y_DIS, ya_smoothed)


def test_crossentropy_eps_is_the_machine_eps_of_yhat():
    assert losses.epseltype(np.zeros(1, np.float32)) == float(np.finfo(np.float32).eps)
    assert losses.epseltype(np.zeros(1)) == float(np.finfo(np.float64).eps)
    assert losses.epseltype(np.zeros(1, int)) == float(np.finfo(np.float64).eps)
    yhat = np.array([[0.0, 1.0]])
    y = np.array([[1.0, 0.0]])
    assert np.isclose(losses.crossentropy(yhat, y), -np.log(np.finfo(np.float64).eps))
    assert np.isclose(losses.crossentropy(yhat.astype(np.float32), y), -np.log(np.finfo(np.float32).eps))
    assert np.isclose(losses.crossentropy(yhat, y, eps=1e-3), -np.log(1e-3))


def test_logitcrossentropy_flux_values():
    assert np.isclose(losses.logitcrossentropy(LOGYHAT, Y), LOSSVALUE)
    assert np.isclose(losses.logitcrossentropy(LOGYLP, YL), -np.sum(YL * logsoftmax(LOGYLP)))
    smoothed = losses.label_smoothing(YL, 2 * SF)
    assert np.isclose(losses.logitcrossentropy(LOGYLP, smoothed), -np.sum(YLS * logsoftmax(LOGYLP)))


def test_logitcrossentropy_equals_crossentropy_of_softmax_and_is_stable():
    x = rng.standard_normal((6, 4))
    y = onehot(rng.integers(0, 4, 6), range(4))
    assert np.isclose(losses.logitcrossentropy(x, y), losses.crossentropy(fx.softmax(x), y, eps=0))
    big = np.array([[1000.0, -1000.0, 0.0]])
    assert np.isclose(losses.logitcrossentropy(big, np.array([[0.0, 1.0, 0.0]])), 2000.0)
    assert np.isclose(losses.logitcrossentropy(big, np.array([[1.0, 0.0, 0.0]])), 0.0)


def test_binarycrossentropy_flux_values():
    logyhat, y = rng.standard_normal(3), rng.random(3)
    yls = y * (1 - 2 * SF) + SF
    p = sigmoid(logyhat)
    smoothed = losses.label_smoothing(y, 2 * SF, binary=True)
    np.testing.assert_allclose(smoothed, yls)
    np.testing.assert_allclose(
        losses.binarycrossentropy(p, smoothed, eps=0, agg=identity),
        -yls * np.log(p) - (1 - yls) * np.log(1 - p),
    )
    expected = np.mean(-y * np.log(p) - (1 - y) * np.log(1 - p))
    assert np.isclose(losses.binarycrossentropy(p, y, eps=0), expected)
    e = np.finfo(np.float64).eps
    expected = np.mean(-y * np.log(p + e) - (1 - y) * np.log(1 - p + e))
    assert np.isclose(losses.binarycrossentropy(p, y), expected)
    assert np.isclose(
        losses.binarycrossentropy(np.array([0.1, 0.2, 0.9]), 1), -np.mean(np.log([0.1, 0.2, 0.9]))
    )
    assert losses.binarycrossentropy(np.array([0.0, 1.0]), np.array([0.0, 1.0]), eps=0) == 0


def test_logitbinarycrossentropy_flux_values_and_stability():
    logyhat, y = rng.standard_normal(3), rng.random(3)
    smoothed = losses.label_smoothing(y, 0.2, binary=True)
    np.testing.assert_allclose(
        losses.logitbinarycrossentropy(logyhat, smoothed, agg=identity),
        losses.binarycrossentropy(sigmoid(logyhat), smoothed, eps=0, agg=identity),
    )
    assert np.isclose(
        losses.logitbinarycrossentropy(logyhat, y), losses.binarycrossentropy(sigmoid(logyhat), y, eps=0)
    )
    np.testing.assert_allclose(
        losses.logitbinarycrossentropy(np.array([1000.0, -1000.0]), np.array([0.0, 1.0]), agg=identity),
        [1000.0, 1000.0],
    )


def test_label_smoothing_flux_values_and_errors():
    np.testing.assert_allclose(losses.label_smoothing(YL, 0.2), [0.1, 0.9])
    np.testing.assert_allclose(losses.label_smoothing(YL, 0.2, binary=True), [0.1, 0.9])
    np.testing.assert_allclose(losses.label_smoothing(np.eye(4)[:2], 0.4), np.eye(4)[:2] * 0.6 + 0.1)
    for alpha in (1.2, 0.0, 1.0):
        with pytest.raises(FluxpyError, match="alpha"):
            losses.label_smoothing(np.array([0.0, 0.0, 1.0, 0.0]), alpha)


def test_kldivergence_flux_values():
    p, q = np.array([0.1, 0.0, 0.9]), np.array([0.1, 0.9])
    assert np.isclose(losses.kldivergence(p, p), losses.kldivergence(q, q))
    # Flux's 1×3 matrices: one class and three samples, so (3, 1) here
    y = np.array([[1], [2], [3]])
    yhat = np.array([[4.0], [5.0], [6.0]])
    assert np.isclose(losses.kldivergence(yhat, y), -1.7661057888493457)
    assert np.isclose(losses.kldivergence(y, y), 0.0)


def test_kldivergence_of_distributions_by_hand():
    p = np.array([[0.2, 0.3, 0.5], [0.5, 0.5, 0.0]])
    q = np.array([[0.3, 0.3, 0.4], [0.25, 0.25, 0.5]])
    with np.errstate(divide="ignore", invalid="ignore"):
        terms = np.where(p > 0, p * np.log(p / q), 0.0)
    np.testing.assert_allclose(losses.kldivergence(q, p, eps=0, agg=identity), terms.sum(axis=-1))
    assert np.all(losses.kldivergence(q, p, agg=identity) >= 0)


def test_hinge_losses_flux_values():
    y = np.array([[1, 2, 3, 4]])
    yhat = np.array([[5.0, 6.0, 7.0, 8.0]])
    assert np.isclose(losses.hinge_loss(yhat, y), 0)
    assert np.isclose(losses.hinge_loss(y, 0.5 * y), 0.125)
    assert np.isclose(losses.squared_hinge_loss(yhat, y), 0)
    assert np.isclose(losses.squared_hinge_loss(y, 0.5 * y), 0.0625)


def test_poisson_loss_flux_values():
    y = np.array([[0.1, 0.2, 0.3]])
    yhat = np.array([[0.4, 0.5, 0.6]])
    assert np.isclose(losses.poisson_loss(yhat, y), 0.6278353988097339)
    assert np.isclose(losses.poisson_loss(y, y), 0.5044459776946685)
    assert np.isclose(losses.poisson_loss(np.array([2.0]), np.array([0.0])), 2.0)  # 0 log(ŷ) is 0


def test_dice_and_tversky_flux_values():
    y = np.array([[1.0, 0.5, 0.3, 2.4]])
    yhat = np.array([[0.0, 1.4, 0.5, 1.2]])
    assert np.isclose(losses.dice_coeff_loss(yhat, y), 0.2799999999999999)
    assert np.isclose(losses.dice_coeff_loss(y, y), 0.0)
    assert np.isclose(losses.tversky_loss(yhat, y), -0.06772009029345383)
    assert np.isclose(losses.tversky_loss(yhat, y, beta=0.8), -0.09490740740740744)
    assert np.isclose(losses.tversky_loss(y, y), -0.5576923076923075)


def test_binary_focal_loss_flux_values():
    y = np.array([[0, 1], [1, 0], [0, 1]])
    yhat = np.array([[0.268941, 0.731059], [0.5, 0.5], [0.268941, 0.731059]])
    y1 = np.array([[1, 0], [0, 1]])
    yhat1 = np.array([[0.6, 0.4], [0.3, 0.7]])
    assert np.isclose(losses.binary_focal_loss(yhat, y), 0.0728675615927385)
    assert np.isclose(losses.binary_focal_loss(yhat1, y1), 0.05691642237852222)
    assert np.isclose(losses.binary_focal_loss(yhat, y, gamma=0), losses.binarycrossentropy(yhat, y))


FOCAL_Y = np.array([[1, 0, 0], [0, 1, 0], [0, 0, 1], [0, 1, 0], [1, 0, 0]])
FOCAL_YHAT = softmax(np.arange(-7, 8).reshape(5, 3).astype(np.float32))  # Julia's reshape(-7:7, 3, 5)'
FOCAL_Y1 = np.array([[1, 0, 0], [0, 0, 1]])
FOCAL_YHAT1 = np.array([[0.4, 0.5, 0.1], [0.2, 0.5, 0.3]])


def test_focal_loss_flux_values():
    assert np.isclose(losses.focal_loss(FOCAL_YHAT, FOCAL_Y), 1.1277571935622628, rtol=1e-5)
    assert np.isclose(losses.focal_loss(FOCAL_YHAT1, FOCAL_Y1), 0.45990566879720157)
    assert np.isclose(
        losses.focal_loss(FOCAL_YHAT, FOCAL_Y, gamma=0), losses.crossentropy(FOCAL_YHAT, FOCAL_Y), rtol=1e-6
    )


def test_siamese_contrastive_loss_flux_values():
    y, yhat = FOCAL_Y1, FOCAL_YHAT1
    y1, yhat1 = FOCAL_Y, FOCAL_YHAT
    y2 = np.array([1, 0, 0, 1, 1])
    yhat2 = np.array([0.6, 0.4, 0.1, 0.2, 0.7])
    loss = losses.siamese_contrastive_loss
    assert np.isclose(loss(yhat, y), 0.2333333333333333)
    assert np.isclose(loss(yhat, y, margin=0.5), 0.10000000000000002)
    assert np.isclose(loss(yhat, y, margin=1.5), 0.5333333333333333)
    assert np.isclose(loss(yhat1, y1), 0.32554644, rtol=1e-5)
    assert np.isclose(loss(yhat1, y1, margin=0.5), 0.16271012, rtol=1e-5)
    assert np.isclose(loss(yhat1, y1, margin=1.5), 0.6532292, rtol=1e-5)
    assert np.isclose(loss(yhat, y, margin=1), loss(yhat, y))
    assert np.isclose(loss(y, y), 0.0)
    assert np.isclose(loss(y1, y1), 0.0)
    assert np.isclose(loss(yhat, y, margin=0), 0.09166666666666667)
    assert np.isclose(loss(yhat1, y1, margin=0), 0.13161165, rtol=1e-5)
    assert np.isclose(loss(yhat2, y2), 0.21200000000000005)
    assert np.isclose(loss(yhat2, yhat2), 0.18800000000000003)
    with pytest.raises(FluxpyError, match="margin"):
        loss(yhat1, y1, margin=-0.5)


# ---------------------------------------------------------------- aggregation


def test_agg_sum_and_no_aggregation():
    yhat = rng.uniform(0.05, 0.95, (5, 3))
    y = onehot(rng.integers(0, 3, 5), range(3), dtype=np.float64)
    per_sample = losses.crossentropy(yhat, y, agg=identity)
    assert per_sample.shape == (5,)
    np.testing.assert_allclose(per_sample, -np.log(np.sum(yhat * y, axis=-1) + np.finfo(float).eps))
    assert np.isclose(losses.crossentropy(yhat, y, agg=np.sum), per_sample.sum())
    assert np.isclose(losses.crossentropy(yhat, y), per_sample.mean())
    assert losses.logitcrossentropy(yhat, y, agg=identity).shape == (5,)
    assert losses.kldivergence(yhat, y, agg=identity).shape == (5,)
    assert losses.focal_loss(yhat, y, agg=identity).shape == (5,)
    elementwise = losses.mse(yhat, y, agg=identity)
    np.testing.assert_allclose(elementwise, (yhat - y) ** 2)
    assert np.isclose(losses.mse(yhat, y, agg=np.sum), elementwise.sum())
    for name in [
        "mae",
        "msle",
        "huber_loss",
        "binarycrossentropy",
        "logitbinarycrossentropy",
        "poisson_loss",
    ]:
        f = getattr(losses, name)
        assert f(yhat, y, agg=identity).shape == (5, 3), name
        assert np.isclose(f(yhat, y, agg=np.sum), np.sum(f(yhat, y, agg=identity))), name
        assert np.isclose(f(yhat, y), np.mean(f(yhat, y, agg=identity))), name


def test_classes_on_another_axis():
    x = rng.standard_normal((3, 5))
    y = onehot(rng.integers(0, 3, 5), range(3), dtype=np.float64).T  # classes first
    assert np.isclose(losses.logitcrossentropy(x, y, axis=0), losses.logitcrossentropy(x.T, y.T))
    assert np.isclose(losses.crossentropy(softmax(x.T).T, y, axis=0), losses.crossentropy(softmax(x.T), y.T))


def test_float32_in_float32_out():
    yhat = rng.uniform(0.05, 0.95, (4, 3)).astype(np.float32)
    y = onehot([0, 2, 1, 1], range(3))
    for name in ["mse", "mae", "crossentropy", "logitcrossentropy", "binarycrossentropy", "focal_loss"]:
        f = getattr(losses, name)
        assert f(yhat, y).dtype == np.float32, name
        (g,) = fx.gradient(lambda a, f=f: f(a, y), yhat)
        assert g.dtype == np.float32, name


# ---------------------------------------------------------------- derivatives


def _probabilities(shape):
    return rng.uniform(0.05, 0.95, shape)


def _distribution(shape):
    return softmax(rng.standard_normal(shape))


CASES = {
    # name: (yhat, y, kwargs)
    "mse": (rng.standard_normal((4, 3)), rng.standard_normal((4, 3)), {}),
    "mae": (rng.standard_normal((4, 3)), rng.standard_normal((4, 3)), {}),
    "msle": (rng.random((4, 3)) + 0.5, rng.random((4, 3)) + 0.5, {}),
    "huber_loss": (rng.standard_normal((4, 3)) * 2, rng.standard_normal((4, 3)), {}),
    "crossentropy": (_distribution((4, 3)), _distribution((4, 3)), {}),
    "logitcrossentropy": (rng.standard_normal((4, 3)), _distribution((4, 3)), {}),
    "binarycrossentropy": (_probabilities((4, 3)), _probabilities((4, 3)), {}),
    "logitbinarycrossentropy": (rng.standard_normal((4, 3)), _probabilities((4, 3)), {}),
    "kldivergence": (_distribution((4, 3)), _distribution((4, 3)), {}),
    "poisson_loss": (rng.random((4, 3)) + 0.5, rng.random((4, 3)) * 3, {}),
    "hinge_loss": (rng.standard_normal((4, 3)), np.sign(rng.standard_normal((4, 3))), {}),
    "squared_hinge_loss": (rng.standard_normal((4, 3)), np.sign(rng.standard_normal((4, 3))), {}),
    "dice_coeff_loss": (_probabilities((4, 3)), _probabilities((4, 3)), {}),
    "tversky_loss": (_probabilities((4, 3)), _probabilities((4, 3)), {"beta": 0.6}),
    "binary_focal_loss": (_probabilities((4, 3)), _probabilities((4, 3)), {}),
    "focal_loss": (_distribution((4, 3)), _distribution((4, 3)), {}),
    "siamese_contrastive_loss": (rng.random((4, 3)) * 2, _probabilities((4, 3)), {"margin": 1.5}),
}


@pytest.mark.parametrize("name", sorted(CASES))
def test_first_derivatives(name):
    yhat, y, kwargs = CASES[name]
    check_grads(getattr(losses, name), yhat, y, order=1, **kwargs)


@pytest.mark.parametrize(
    "name", sorted(set(CASES) - {"dice_coeff_loss", "tversky_loss"})
)  # these have no agg
def test_first_derivatives_without_aggregation(name):
    yhat, y, kwargs = CASES[name]
    check_grads(getattr(losses, name), yhat, y, order=1, agg=identity, **kwargs)
    check_grads(getattr(losses, name), yhat, y, order=1, agg=np.sum, **kwargs)


def test_derivatives_with_one_hot_targets():
    y = onehot([2, 0, 1, 1], range(3), dtype=np.float64)
    x = rng.standard_normal((4, 3))
    p = softmax(x)
    for name in ["crossentropy", "logitcrossentropy", "kldivergence", "focal_loss"]:
        f = getattr(losses, name)
        check_grads(lambda a, f=f: f(a, y), x if name == "logitcrossentropy" else p, order=1)
    (g,) = fx.gradient(lambda a: losses.logitcrossentropy(a, y), x)
    np.testing.assert_allclose(g, (softmax(x) - y) / 4)


@pytest.mark.second_order
@pytest.mark.parametrize("name", ["mse", "crossentropy", "logitcrossentropy"])
def test_second_derivatives(name):
    yhat, y, kwargs = CASES[name]
    check_grads(getattr(losses, name), yhat, y, order=2, **kwargs)


def test_training_a_dense_layer_with_logitcrossentropy_lowers_the_loss():
    model = fx.Dense(4, 3)
    x = rng.standard_normal((8, 4)).astype(np.float32)
    y = onehot(rng.integers(0, 3, 8), range(3))
    loss = lambda m: losses.logitcrossentropy(m(x), y)
    before = loss(model)
    (dm,) = fx.gradient(loss, model)
    stepped = fx.Dense(model.weight - 0.5 * dm.weight, model.bias - 0.5 * dm.bias)
    assert loss(stepped) < before


# ---------------------------------------------------------------- onehot / onecold


def test_onehot_shapes_and_values():
    y = onehot([1, 3, 2, 1], [1, 2, 3])
    assert y.shape == (4, 3) and y.dtype == np.float32
    np.testing.assert_array_equal(y, [[1, 0, 0], [0, 0, 1], [0, 1, 0], [1, 0, 0]])
    np.testing.assert_array_equal(onehot(2, [1, 2, 3]), [0, 1, 0])
    assert onehot(2, [1, 2, 3]).shape == (3,)
    assert onehot("c", "abc").tolist() == [0, 0, 1]
    assert onehot(np.array(["a", "c"]), ["a", "b", "c"]).tolist() == [[1, 0, 0], [0, 0, 1]]
    assert onehot(np.array([[0, 1], [1, 1]]), range(2)).shape == (2, 2, 2)
    assert onehot(np.int64(1), range(3)).tolist() == [0, 1, 0]
    assert onehot([], range(3)).shape == (0, 3)
    assert onehot([1], range(3), dtype=np.float64).dtype == np.float64


def test_onehot_unknown_label_raises_or_uses_the_default():
    with pytest.raises(FluxpyError, match="label 'z'"):
        onehot(["a", "z"], ["a", "b"])
    with pytest.raises(FluxpyError, match="label 7"):
        onehot(7, [1, 2, 3])
    np.testing.assert_array_equal(onehot([1, 7], [1, 2, 3], 3), [[1, 0, 0], [0, 0, 1]])
    np.testing.assert_array_equal(onehot("z", "abc", "a"), [1, 0, 0])
    with pytest.raises(FluxpyError, match="default label 'q'"):
        onehot("a", "abc", "q")


def test_onecold():
    assert onecold(np.array([0.1, 0.7, 0.2])) == 1
    assert onecold(np.array([0.1, 0.7, 0.2]), ["a", "b", "c"]) == "b"
    assert onecold([0.1, 0.7, 0.2], "abc") == "b"
    np.testing.assert_array_equal(onecold(np.array([[0.1, 0.9], [0.8, 0.2], [-1.0, 3.0]])), [1, 0, 1])
    np.testing.assert_array_equal(onecold(np.array([[0.1, 0.9], [0.8, 0.2]]), [10, 20]), [20, 10])
    assert onecold(np.zeros((2, 3, 4))).shape == (2, 3)
    with pytest.raises(FluxpyError):
        onecold(np.array([[0.1, 0.9]]), [1, 2, 3])


def test_onehot_onecold_round_trip():
    classes = ["cat", "dog", "bird", "fish"]
    labels = [classes[i] for i in rng.integers(0, 4, 20)]
    assert onecold(onehot(labels, classes), classes).tolist() == labels
    ints = rng.integers(0, 10, 50)
    np.testing.assert_array_equal(onecold(onehot(ints, range(10))), ints)
    assert onecold(onehot(5, range(10))) == 5
    # the argmax of a model's output (logits or probabilities) matches the label it was trained towards
    logits = rng.standard_normal((20, 4))
    np.testing.assert_array_equal(onecold(onehot(onecold(logits), range(4))), onecold(softmax(logits)))


LOSSES_OF_TWO = [
    "mae",
    "mse",
    "msle",
    "huber_loss",
    "crossentropy",
    "logitcrossentropy",
    "binarycrossentropy",
    "logitbinarycrossentropy",
    "kldivergence",
    "poisson_loss",
    "hinge_loss",
    "squared_hinge_loss",
    "dice_coeff_loss",
    "tversky_loss",
    "binary_focal_loss",
    "focal_loss",
    "siamese_contrastive_loss",
]


@pytest.mark.parametrize("name", LOSSES_OF_TWO)
def test_mismatched_shapes_are_refused_as_flux_does(name):
    # NumPy broadcast a (N, 1) output against (N,) targets to (N, N): mse gave 1.33 where 0 is right
    loss = getattr(fx.losses, name)
    yhat, y = np.full((3, 1), 0.4), np.array([0.0, 1.0, 1.0])
    with pytest.raises(
        fx.FluxpyError, match=rf"losses.{name} expects yhat and y of the same shape.*\(3, 1\).*\(3,\)"
    ):
        loss(yhat, y)
    loss(yhat[:, 0], y)  # the same shape
    loss(yhat, 1.0)  # a constant target


def test_mismatched_shapes_are_refused_inside_a_gradient():
    with pytest.raises(fx.FluxpyError, match="same shape"):
        fx.gradient(lambda w: fx.losses.mse(np.ones((3, 1)) * w, np.zeros(3)), 2.0)
