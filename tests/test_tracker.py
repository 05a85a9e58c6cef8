"""Seed 004's Tracker workflow, translated: param, back, grad, update, with the compiler's rules."""

import numpy as np
import pytest

import fluxpy as fx
from fluxpy import tracker


def test_seed_linear_regression_tracker_workflow():
    rng = np.random.default_rng(0)
    W0, b0 = rng.random((2, 5)), rng.random(2)
    x, y = rng.random(5), rng.random(2)
    W, b = tracker.param(W0), tracker.param(b0)

    def predict(x):
        return W @ x + b

    def loss(x, y):
        return np.sum((predict(x) - y) ** 2)

    l = loss(x, y)
    assert np.isclose(float(l), np.sum((W0 @ x + b0 - y) ** 2))
    tracker.back(l)
    delta = tracker.grad(W)
    np.testing.assert_allclose(delta, 2 * np.outer(W0 @ x + b0 - y, x))
    tracker.update(W, -0.1 * delta)
    assert float(loss(x, y)) < float(l)
    assert not tracker.grad(W).any()  # update resets the gradient


def test_two_layers_and_closures_with_tracked_params():
    rng = np.random.default_rng(1)
    W1, b1 = tracker.param(rng.random((3, 5))), tracker.param(rng.random(3))
    W2, b2 = tracker.param(rng.random((2, 3))), tracker.param(rng.random(2))

    def model(x):
        h = 1 / (1 + np.exp(-(W1 @ x + b1)))
        return W2 @ h + b2

    x = rng.random(5)
    out = model(x)
    assert out.shape == (2,)
    tracker.back(np.sum(out))
    h = 1 / (1 + np.exp(-(W1.data @ x + b1.data)))
    np.testing.assert_allclose(tracker.grad(W2), np.outer(np.ones(2), h))
    np.testing.assert_allclose(tracker.grad(b2), np.ones(2))
    assert tracker.grad(W1).shape == (3, 5)


def test_gradients_accumulate_over_two_backs_and_methods_work():
    W = tracker.param(np.array([1.0, 2.0]))
    tracker.back((W * W).sum())
    tracker.back(np.sum(W.T * 3.0))
    np.testing.assert_allclose(tracker.grad(W), [2.0 + 3.0, 4.0 + 3.0])
    tracker.back(np.sum(np.stack([W, W])[1]))
    np.testing.assert_allclose(tracker.grad(W), [6.0, 8.0])


def test_errors():
    with pytest.raises(fx.FluxpyError):
        tracker.back(np.ones(2))
    with pytest.raises(fx.FluxpyError):
        tracker.grad(np.ones(2))


def test_float32_parameters_stay_float32_and_asarray_gives_the_value():
    # param() made float64 copies of float32 arrays; np.asarray(tracked) gave a 0-d object array
    W = tracker.param(np.ones((1, 2), np.float32))
    assert W.data.dtype == np.float32 and tracker.param(np.arange(2)).data.dtype == np.float64
    loss = np.sum((W @ np.array([3.0, 4.0], np.float32)) ** 2)
    tracker.back(loss)
    assert tracker.grad(W).dtype == np.float32 and np.allclose(tracker.grad(W), [[42.0, 56.0]])
    assert np.asarray(W).dtype == np.float32 and float(np.asarray(loss)) == 49.0
