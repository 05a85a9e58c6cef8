"""The fluxpy column: each workload as a user writes it (plain Python and NumPy, or fluxpy's layers), and
the call that differentiates it. Every maker takes a workload's inputs and returns a zero-argument callable
giving the gradients in the order the hand-written column gives them.
"""

import numpy as np

import fluxpy as fx
from benchmarks.workloads import cnn_weights, dense_weights


def poly(x):
    return 3 * x**2 + 2 * x + 1


def poly_derivative(x):
    return fx.gradient(poly, x)[0]


def sum_of_squares(x, y):
    return np.sum((x - y) ** 2)


def mlp_loss(params, x, y):
    W1, b1, W2, b2 = params
    h = np.tanh(x @ W1 + b1)
    return np.mean((h @ W2 + b2 - y) ** 2)


def classifier_loss(model, x, onehot):
    return fx.losses.logitcrossentropy(model(x), onehot)


def rnn_loss(W, U, xs, h):
    for t in range(xs.shape[0]):
        h = np.tanh(W @ h + U @ xs[t])
    return np.sum(h**2)


def scalar_loop(x):
    for _ in range(100):
        x = x * 1.01 - 0.001 * x * x
    return x


def make_poly_first(d):
    return lambda: fx.gradient(poly, d.x)[0]


def make_poly_second(d):
    return lambda: fx.gradient(poly_derivative, d.x)[0]  # a gradient of a gradient


def make_sum_sq(d):
    return lambda: fx.gradient(sum_of_squares, d.x, d.y)


# The array workloads differentiate with respect to the parameters only, as the peers do (PyTorch's
# inputs do not require grad): the data are captured by a closure, Flux's `gradient(m -> loss(m, x, y), m)`.
# fluxpy's activity analysis then computes no cotangent for them (no `dx` in the first layer).


def make_mlp(d):
    return lambda: fx.gradient(lambda params: mlp_loss(params, d.x, d.y), d.params)[0]


def make_digits_mlp(d):
    return lambda: dense_weights(
        fx.gradient(lambda model: classifier_loss(model, d.x, d.onehot), d.model)[0].layers
    )


def make_rnn(d):
    return lambda: fx.gradient(lambda W, U: rnn_loss(W, U, d.xs, d.h0), d.W, d.U)


def make_scalar_loop(d):
    return lambda: fx.gradient(scalar_loop, d.x)[0]


def make_cnn(d):
    from benchmarks.cnn import loss

    return lambda: cnn_weights(fx.gradient(lambda model: loss(model, d.x, d.onehot), d.model)[0].layers)
