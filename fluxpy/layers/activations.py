"""Activation functions (plain NumPy code, differentiated like any other) and ``softmax``.

``relu``, ``softmax`` and ``logsoftmax`` have rules of their own, as NNlib's: their pullbacks are one or two
array operations (and ``relu``'s derivative at 0 is 0, as in NNlib, PyTorch and JAX).

>>> import numpy as np, fluxpy as fx
>>> float(fx.sigmoid(0.0)), float(fx.relu(-1.0))
(0.5, 0.0)
>>> fx.softmax(np.array([1.0, 1.0]))
array([0.5, 0.5])
"""

import numpy as np

from ..backend import xp_of
from ..rules.registry import adjoint, forward_rule


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


@adjoint(relu)
def relu_rule(x):
    y = relu(x)

    def relu_pullback(dy):
        return (dy * (y > 0),)

    return y, relu_pullback


@forward_rule(relu)
def relu_jvp(args, targs):
    y = relu(args[0])
    return y, None if targs[0] is None else targs[0] * (y > 0)


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


@adjoint(softmax)
def softmax_rule(x, axis=-1):
    y = softmax(x, axis)
    xp = xp_of(y)

    def softmax_pullback(dy):
        return (y * (dy - xp.sum(dy * y, axis=axis, keepdims=True)), None)

    return y, softmax_pullback


@adjoint(logsoftmax)
def logsoftmax_rule(x, axis=-1):
    y = logsoftmax(x, axis)
    xp = xp_of(y)

    def logsoftmax_pullback(dy):
        return (dy - xp.exp(y) * xp.sum(dy, axis=axis, keepdims=True), None)

    return y, logsoftmax_pullback


def _axis(args, kwargs):
    return args[1] if len(args) > 1 else kwargs.get("axis", -1)


@forward_rule(softmax)
def softmax_jvp(args, targs, kwargs, tkwargs):
    axis = _axis(args, kwargs)
    y = softmax(args[0], axis)
    t = targs[0]
    if t is None:
        return y, None
    return y, y * (t - xp_of(y).sum(t * y, axis=axis, keepdims=True))


@forward_rule(logsoftmax)
def logsoftmax_jvp(args, targs, kwargs, tkwargs):
    axis = _axis(args, kwargs)
    y = logsoftmax(args[0], axis)
    t = targs[0]
    if t is None:
        return y, None
    xp = xp_of(y)
    return y, t - xp.sum(xp.exp(y) * t, axis=axis, keepdims=True)


softmax_jvp.takes_keywords = logsoftmax_jvp.takes_keywords = True
