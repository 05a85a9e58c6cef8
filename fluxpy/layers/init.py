"""Initialisers: ``(*dims, rng=None)`` -> float32 arrays; ``create_bias``.

>>> import fluxpy as fx
>>> fx.glorot_uniform(3, 2).shape, fx.zeros32(2).dtype
((3, 2), dtype('float32'))
"""

import numpy as np

from ..backend import is_array, xp_of
from ..errors import FluxpyError


def _rng(rng):
    return rng if rng is not None else np.random.default_rng()


def randn32(*dims, rng=None):
    """Standard normal values."""
    return _rng(rng).standard_normal(dims).astype(np.float32)


def rand32(*dims, rng=None):
    """Uniform values in [0, 1)."""
    return _rng(rng).random(dims).astype(np.float32)


def zeros32(*dims, rng=None):
    return np.zeros(dims, dtype=np.float32)


def ones32(*dims, rng=None):
    return np.ones(dims, dtype=np.float32)


def _fans(dims):
    """(fan_in, fan_out) of a weight shaped (out, in, *kernel), as Flux counts them."""
    if len(dims) < 2:
        return dims[0] if dims else 1, dims[0] if dims else 1
    receptive = int(np.prod(dims[2:])) if len(dims) > 2 else 1
    return dims[1] * receptive, dims[0] * receptive


def glorot_uniform(*dims, gain=1.0, rng=None):
    """Uniform in ``±gain * sqrt(6 / (fan_in + fan_out))``."""
    fan_in, fan_out = _fans(dims)
    scale = gain * np.sqrt(6.0 / (fan_in + fan_out))
    return ((_rng(rng).random(dims) * 2 - 1) * scale).astype(np.float32)


def glorot_normal(*dims, gain=1.0, rng=None):
    """Normal with standard deviation ``gain * sqrt(2 / (fan_in + fan_out))``."""
    fan_in, fan_out = _fans(dims)
    return (_rng(rng).standard_normal(dims) * gain * np.sqrt(2.0 / (fan_in + fan_out))).astype(np.float32)


def kaiming_uniform(*dims, gain=np.sqrt(2.0), rng=None):
    """Uniform in ``±gain * sqrt(3 / fan_in)``."""
    fan_in, _ = _fans(dims)
    bound = gain * np.sqrt(3.0 / fan_in)
    return ((_rng(rng).random(dims) * 2 - 1) * bound).astype(np.float32)


def kaiming_normal(*dims, gain=np.sqrt(2.0), rng=None):
    """Normal with standard deviation ``gain / sqrt(fan_in)``."""
    fan_in, _ = _fans(dims)
    return (_rng(rng).standard_normal(dims) * gain / np.sqrt(fan_in)).astype(np.float32)


def create_bias(weight, bias, *dims):
    """``True``: zeros like ``weight`` (its dtype and array module) of shape ``dims``; ``False``: ``False``
    (no trainable bias); an array: checked against ``dims`` and kept."""
    if bias is True:
        return xp_of(weight).zeros(dims, dtype=weight.dtype)
    if bias is False:
        return False
    if not is_array(bias):
        bias = xp_of(weight).asarray(bias)
    if bias.shape != tuple(dims):
        raise FluxpyError(f"create_bias: the bias has shape {bias.shape}, but the layer needs {tuple(dims)}")
    return bias
