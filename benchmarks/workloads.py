"""The benchmark workloads' inputs, built once and shared by every column (hand-written, fluxpy, peers).

Each builder returns a ``types.SimpleNamespace`` of NumPy values from a fixed seed. Weights are in the
layout fluxpy's layers use (``Dense``: ``weight`` of shape ``(out, in)``; ``Conv``: ``(out, in, kh, kw)``,
a true convolution, kernel flipped), so every column's gradient can be compared entry by entry.
"""

from types import SimpleNamespace

import numpy as np

import fluxpy as fx


def poly():
    """3x² + 2x + 1 at a Python float (first and second derivative)."""
    return SimpleNamespace(x=2.0, dtype=np.float64)


def sum_sq():
    """sum((x - y)²) over 1000 float64 elements; gradients for x and y."""
    rng = np.random.default_rng(0)
    return SimpleNamespace(x=rng.standard_normal(1000), y=rng.standard_normal(1000), dtype=np.float64)


def mlp():
    """784 → 128 (tanh) → 10, mean squared error, float32, batch 64; gradients for the four parameters."""
    rng = np.random.default_rng(1)
    f32 = np.float32
    return SimpleNamespace(
        params=(
            (rng.standard_normal((784, 128)) / np.sqrt(784)).astype(f32),
            np.zeros(128, f32),
            (rng.standard_normal((128, 10)) / np.sqrt(128)).astype(f32),
            np.zeros(10, f32),
        ),
        x=rng.random((64, 784), dtype=f32),
        y=rng.standard_normal((64, 10)).astype(f32),
        dtype=f32,
    )


def digits_mlp(batch=128):
    """A training step on scikit-learn's digits: fx.Chain(Dense(64, 64, relu), Dense(64, 10)) in float64,
    softmax cross-entropy (fx.losses.logitcrossentropy) against one-hot labels, on one minibatch.
    """
    from sklearn.datasets import load_digits

    images, labels = load_digits(return_X_y=True)
    rng = np.random.default_rng(2)
    rows = rng.permutation(len(labels))[:batch]
    model = fx.f64(fx.Chain(fx.Dense(64, 64, fx.relu, rng=rng), fx.Dense(64, 10, rng=rng)))
    model[0].bias = rng.standard_normal(64) * 0.1  # nonzero biases, so their gradients are checked
    return SimpleNamespace(
        model=model,
        x=images[rows] / 16.0,
        onehot=np.eye(10)[labels[rows]],
        dtype=np.float64,
    )


def rnn():
    """50 steps of h = tanh(W h + U x_t), 32 hidden, 16 inputs, float64; loss sum(h²); gradients for W, U."""
    return SimpleNamespace(
        W=np.random.default_rng(3).standard_normal((32, 32)) * 0.2,
        U=np.random.default_rng(4).standard_normal((32, 16)) * 0.2,
        xs=np.random.default_rng(5).standard_normal((50, 16)),
        h0=np.zeros(32),
        dtype=np.float64,
    )


def scalar_loop():
    """100 iterations of x = 1.01 x - 0.001 x² on a Python float."""
    return SimpleNamespace(x=0.5, dtype=np.float64)


def cnn():
    """The small CNN of benchmarks/cnn.py: forward + backward on a (32, 3, 32, 32) float32 batch."""
    from benchmarks.cnn import make_model

    rng = np.random.default_rng(0)
    model = make_model(rng)
    x = rng.standard_normal((32, 3, 32, 32)).astype(np.float32)
    onehot = np.eye(10, dtype=np.float32)[rng.integers(0, 10, 32)]
    for layer in (model[0], model[2], model[5]):
        layer.bias = (rng.standard_normal(layer.bias.shape) * 0.1).astype(np.float32)
    return SimpleNamespace(model=model, x=x, onehot=onehot, dtype=np.float32)


def cnn_weights(model):
    """The CNN's six arrays in order: conv1 weight, bias, conv2 weight, bias, dense weight, bias."""
    c1, c2, d = model[0], model[2], model[5]
    return (c1.weight, c1.bias, c2.weight, c2.bias, d.weight, d.bias)


def dense_weights(model):
    """A two-Dense Chain's arrays in order: weight, bias, weight, bias."""
    return (model[0].weight, model[0].bias, model[1].weight, model[1].bias)
