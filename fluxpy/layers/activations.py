"""Activation functions (plain NumPy code, differentiated like any other) and ``softmax``.

>>> import numpy as np, fluxpy as fx
>>> float(fx.sigmoid(0.0)), float(fx.relu(-1.0))
(0.5, 0.0)
>>> fx.softmax(np.array([1.0, 1.0]))
array([0.5, 0.5])
"""

import numpy as np


def identity(x):
    """``x``."""
    return x


def sigmoid(x):
    """``1 / (1 + exp(-x))``, computed without overflow."""
    return np.exp(-np.logaddexp(0.0, -x))


σ = sigmoid


def relu(x):
    """``max(x, 0)``."""
    return np.maximum(x, 0.0)


def leakyrelu(x, a=0.01):
    """``x`` where positive, ``a * x`` elsewhere."""
    return np.where(x > 0, x, a * x)


def elu(x, alpha=1.0):
    """``x`` where positive, ``alpha * (exp(x) - 1)`` elsewhere."""
    return np.where(x > 0, x, alpha * np.expm1(np.minimum(x, 0.0)))


def gelu(x):
    """Gaussian error linear unit (tanh approximation, as Flux)."""
    return 0.5 * x * (1.0 + np.tanh(0.7978845608028654 * (x + 0.044715 * x**3)))


def swish(x):
    """``x * sigmoid(x)``."""
    return x * sigmoid(x)


def softplus(x):
    """``log(1 + exp(x))``, computed without overflow."""
    return np.logaddexp(0.0, x)


def tanh(x):
    """The hyperbolic tangent."""
    return np.tanh(x)


def softmax(x, axis=-1):
    """``exp(x) / sum(exp(x))`` along ``axis``, shifted by the maximum for stability."""
    shifted = x - np.max(x, axis=axis, keepdims=True)
    e = np.exp(shifted)
    return e / np.sum(e, axis=axis, keepdims=True)


def logsoftmax(x, axis=-1):
    """``log(softmax(x))`` along ``axis``, computed stably."""
    shifted = x - np.max(x, axis=axis, keepdims=True)
    return shifted - np.log(np.sum(np.exp(shifted), axis=axis, keepdims=True))
