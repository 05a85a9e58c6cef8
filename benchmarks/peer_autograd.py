"""The HIPS autograd column: each workload written in ``autograd.numpy``, differentiated by ``autograd.grad``.
Importing this module raises ImportError when autograd is not installed (the column is then skipped).
"""

import autograd
import autograd.numpy as anp
from autograd.scipy.signal import convolve
from autograd.scipy.special import logsumexp

from benchmarks.fluxpy_impl import poly, scalar_loop  # plain arithmetic: autograd's boxes run it as it is
from benchmarks.workloads import cnn_weights, dense_weights


def make_poly_first(d):
    g = autograd.grad(poly)
    return lambda: g(d.x)


def make_poly_second(d):
    g = autograd.grad(autograd.grad(poly))
    return lambda: g(d.x)


def make_sum_sq(d):
    g = autograd.grad(lambda x, y: anp.sum((x - y) ** 2), argnum=(0, 1))
    return lambda: g(d.x, d.y)


def mlp_loss(params, x, y):
    W1, b1, W2, b2 = params
    h = anp.tanh(anp.dot(x, W1) + b1)
    return anp.mean((anp.dot(h, W2) + b2 - y) ** 2)


def make_mlp(d):
    g = autograd.grad(mlp_loss)
    return lambda: g(d.params, d.x, d.y)


def digits_loss(params, x, onehot):
    W1, b1, W2, b2 = params
    h = anp.maximum(anp.dot(x, W1.T) + b1, 0.0)
    out = anp.dot(h, W2.T) + b2
    return anp.mean(-anp.sum(onehot * (out - logsumexp(out, axis=1, keepdims=True)), axis=1))


def make_digits_mlp(d):
    g = autograd.grad(digits_loss)
    params = dense_weights(d.model)
    return lambda: g(params, d.x, d.onehot)


def rnn_loss(W, U, xs, h):
    for t in range(xs.shape[0]):
        h = anp.tanh(anp.dot(W, h) + anp.dot(U, xs[t]))
    return anp.sum(h**2)


def make_rnn(d):
    g = autograd.grad(rnn_loss, argnum=(0, 1))
    return lambda: g(d.W, d.U, d.xs, d.h0)


def make_scalar_loop(d):
    g = autograd.grad(scalar_loop)
    return lambda: g(d.x)


def _conv(x, w, b):
    """autograd's convolve is a true convolution, as fluxpy's Conv; it wants weights as (in, out, kh, kw)."""
    padded = anp.pad(x, ((0, 0), (0, 0), (1, 1), (1, 1)), mode="constant")  # its pullback needs the mode
    y = convolve(
        padded, anp.transpose(w, (1, 0, 2, 3)), axes=([2, 3], [2, 3]), dot_axes=([1], [0]), mode="valid"
    )
    return y + b[None, :, None, None]


def _maxpool(x):
    n, c, h, w = x.shape
    return anp.max(anp.reshape(x, (n, c, h // 2, 2, w // 2, 2)), axis=(3, 5))


def cnn_loss(params, x, onehot):
    w1, b1, w2, b2, wd, bd = params
    h = _maxpool(anp.maximum(_conv(x, w1, b1), 0.0))
    h = _maxpool(anp.maximum(_conv(h, w2, b2), 0.0))
    out = anp.dot(anp.reshape(h, (x.shape[0], -1)), wd.T) + bd
    return -anp.sum(onehot * (out - logsumexp(out, axis=1, keepdims=True))) / x.shape[0]


def make_cnn(d):
    g = autograd.grad(cnn_loss)
    params = cnn_weights(d.model)
    return lambda: g(params, d.x, d.onehot)
