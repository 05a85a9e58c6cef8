"""Initialisers: ``(*dims, rng=None)`` -> float32 arrays; ``create_bias``.

>>> import fluxpy as fx
>>> fx.glorot_uniform(3, 2).shape, fx.zeros32(2).dtype
((3, 2), dtype('float32'))
"""

import functools

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
    """``(fan_in, fan_out)`` of an array of shape ``dims`` in fluxpy's layouts, as Flux's ``nfan`` counts them
    for the same layer in its (column-major, reversed) layouts:

    - ``()``: ``(1, 1)`` (Flux's ``nfan()``);
    - ``(n,)``, a vector: ``(1, n)`` (``nfan(n)``);
    - ``(out, in)``, a ``Dense`` weight (Flux's ``(out, in)`` too): ``(in, out)``;
    - ``(out, in, *kernel)``, a convolution's weight (Flux's ``(*kernel, in, out)``):
      ``(in * prod(kernel), out * prod(kernel))``.

    A weight laid out otherwise (``Bilinear``'s ``(out, in1, in2)``: Flux's fans are
    ``(out * in1, out * in2)``) passes its own fans to :func:`init_with_fans`.

    >>> _fans(()), _fans((5,)), _fans((3, 2)), _fans((8, 4, 3, 3))
    ((1, 1), (1, 5), (2, 3), (36, 72))
    """
    dims = tuple(int(d) for d in dims)
    if not dims:
        return 1, 1
    if len(dims) == 1:
        return 1, dims[0]
    receptive = int(np.prod(dims[2:])) if len(dims) > 2 else 1
    return dims[1] * receptive, dims[0] * receptive


def _fans_of(dims, fans):
    return _fans(dims) if fans is None else (int(fans[0]), int(fans[1]))


def glorot_uniform(*dims, gain=1.0, rng=None, fans=None):
    """Uniform in ``±gain * sqrt(6 / (fan_in + fan_out))`` (``fans``: ``(fan_in, fan_out)`` to use instead of
    those of ``dims``, see ``_fans``).

    >>> import numpy as np
    >>> w = glorot_uniform(100, 100, rng=np.random.default_rng(0))
    >>> bool(np.abs(w).max() <= np.sqrt(6 / 200)), w.dtype
    (True, dtype('float32'))
    """
    fan_in, fan_out = _fans_of(dims, fans)
    scale = gain * np.sqrt(6.0 / (fan_in + fan_out))
    return ((_rng(rng).random(dims) * 2 - 1) * scale).astype(np.float32)


def glorot_normal(*dims, gain=1.0, rng=None, fans=None):
    """Normal with standard deviation ``gain * sqrt(2 / (fan_in + fan_out))``."""
    fan_in, fan_out = _fans_of(dims, fans)
    return (_rng(rng).standard_normal(dims) * gain * np.sqrt(2.0 / (fan_in + fan_out))).astype(np.float32)


def kaiming_uniform(*dims, gain=np.sqrt(2.0), rng=None, fans=None):
    """Uniform in ``±gain * sqrt(3 / fan_in)``."""
    fan_in, _ = _fans_of(dims, fans)
    bound = gain * np.sqrt(3.0 / fan_in)
    return ((_rng(rng).random(dims) * 2 - 1) * bound).astype(np.float32)


def kaiming_normal(*dims, gain=np.sqrt(2.0), rng=None, fans=None):
    """Normal with standard deviation ``gain / sqrt(fan_in)``."""
    fan_in, _ = _fans_of(dims, fans)
    return (_rng(rng).standard_normal(dims) * gain / np.sqrt(fan_in)).astype(np.float32)


_FAN_BASED = (glorot_uniform, glorot_normal, kaiming_uniform, kaiming_normal)


def init_with_fans(init, dims, fans, rng=None):
    """``init(*dims)`` drawn with Flux's ``fans`` ``(fan_in, fan_out)`` when ``init`` is one of the
    fan-based initialisers (``glorot_*``, ``kaiming_*``, or a ``functools.partial`` of one); any other
    ``init`` is called as ``init(*dims)``. For a weight whose layout ``_fans`` does not read as Flux does:
    ``Bilinear``'s ``(out, in1, in2)``, whose fans in Flux are ``(out * in1, out * in2)``.

    >>> import numpy as np
    >>> w = init_with_fans(glorot_uniform, (4, 3, 2), (12, 8), rng=np.random.default_rng(0))
    >>> w.shape, bool(np.abs(w).max() <= np.sqrt(6 / 20))
    ((4, 3, 2), True)
    """
    base = init
    while isinstance(base, functools.partial):
        base = base.func
    kwargs = {} if rng is None else {"rng": rng}
    if base in _FAN_BASED:
        kwargs["fans"] = fans
    return init(*dims, **kwargs)


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
