"""The hand-written column: each workload's gradient derived by hand and written in NumPy, computing only the
gradients asked for (no input gradients) and keeping only what the backward pass needs. The reference
every other column is checked against. The CNN's lives in conv_by_hand.py.
"""

import numpy as np

from benchmarks.workloads import dense_weights


def poly_first(x):
    return 6 * x + 2  # d/dx (3x² + 2x + 1)


def poly_second(x):
    return 6.0


def sum_sq(x, y):
    dx = 2 * (x - y)
    return dx, -dx


def mlp(params, x, y):
    """Backpropagation through tanh(x W1 + b1) W2 + b2 and a mean squared error."""
    W1, b1, W2, b2 = params
    h = np.tanh(x @ W1 + b1)
    r = h @ W2 + b2 - y
    dout = r * (2 / r.size)
    dh = dout @ W2.T
    da = dh * (1 - h * h)
    return x.T @ da, da.sum(axis=0), h.T @ dout, dout.sum(axis=0)


def digits_mlp(model, x, onehot):
    """Backpropagation through Dense(64, 64, relu), Dense(64, 10) and a mean softmax cross-entropy."""
    W1, b1, W2, b2 = dense_weights(model)
    a = x @ W1.T + b1
    h = np.maximum(a, 0)
    out = h @ W2.T + b2
    e = np.exp(out - out.max(axis=1, keepdims=True))
    # d/dout of mean(-sum(onehot * logsoftmax(out))) is (softmax(out) - onehot) / batch (rows sum to 1)
    dout = (e / e.sum(axis=1, keepdims=True) - onehot) / x.shape[0]
    da = (dout @ W2) * (a > 0)
    return da.T @ x, da.sum(axis=0), dout.T @ h, dout.sum(axis=0)


def rnn(W, U, xs, h):
    """Backpropagation through time for h = tanh(W h + U x_t), loss sum(h²)."""
    hs = [h]
    for t in range(xs.shape[0]):
        h = np.tanh(W @ h + U @ xs[t])
        hs.append(h)
    dW, dU = np.zeros_like(W), np.zeros_like(U)
    dh = 2 * hs[-1]
    for t in reversed(range(xs.shape[0])):
        da = dh * (1 - hs[t + 1] ** 2)
        dW += np.outer(da, hs[t])
        dU += np.outer(da, xs[t])
        dh = W.T @ da
    return dW, dU


def scalar_loop(x):
    """d/dx of 100 iterations of x = 1.01 x - 0.001 x²: the product of the steps' derivatives."""
    xs = []
    for _ in range(100):
        xs.append(x)
        x = x * 1.01 - 0.001 * x * x
    d = 1.0
    for v in reversed(xs):
        d = d * (1.01 - 0.002 * v)
    return d


def make_poly_first(d):
    return lambda: poly_first(d.x)


def make_poly_second(d):
    return lambda: poly_second(d.x)


def make_sum_sq(d):
    return lambda: sum_sq(d.x, d.y)


def make_mlp(d):
    return lambda: mlp(d.params, d.x, d.y)


def make_digits_mlp(d):
    return lambda: digits_mlp(d.model, d.x, d.onehot)


def make_rnn(d):
    return lambda: rnn(d.W, d.U, d.xs, d.h0)


def make_scalar_loop(d):
    return lambda: scalar_loop(d.x)


def make_cnn(d):
    from benchmarks.conv_by_hand import cnn_gradient

    return lambda: cnn_gradient(d.model, d.x, d.onehot)
