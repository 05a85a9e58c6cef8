"""Dropout and normalisation layers, and the train/test switch they share.

``istraining()`` is ``False`` in a plain call and ``True`` inside a gradient (Flux's trick: a plain
function whose adjoint returns ``True``). A layer's ``active`` field is ``None`` (automatic: train inside a
gradient, infer in a plain call), ``True`` or ``False``; ``trainmode(m)`` / ``testmode(m)`` set it for every
such layer inside ``m``.

>>> import numpy as np, fluxpy as fx
>>> istraining()
False
>>> fx.gradient(lambda x: x * istraining(), 3.0)
(1.0,)
>>> m = fx.Chain(fx.Dense(3, 4), BatchNorm(4, fx.relu), Dropout(0.5))
>>> m[1], m[2]
(BatchNorm(4, relu), Dropout(0.5))
>>> x = np.ones((2, 3), dtype=np.float32)
>>> bool(np.all(m(x) == m(x)))  # a plain call runs in inference mode: deterministic
True
>>> _ = trainmode(m)
>>> m[2].active, m[1].active
(True, True)
"""

import contextlib
import contextvars
import functools
import random
import re
import sys
import types

import numpy as np

from ..backend import is_array, xp_of
from ..errors import FluxpyError
from ..functors import functor, is_functor
from ..rules import registry
from .activations import identity


def istraining():
    """``False`` in a plain call, ``True`` in code being differentiated (reverse mode, and forward mode:
    ``fx.jvp`` and ``fx.jacobian`` agree with ``fx.gradient``), as Flux's.

    A call the compiler differentiates goes to the rule below (``True``); a call it runs plainly, such as
    the test of an ``if``, finds a generated forward (or gradient) function among its callers, unless a
    function marked ``fx.nograd`` comes first (its body is not differentiated: inference mode, as code
    Flux's AD ignores).

    >>> import fluxpy as fx
    >>> istraining(), fx.gradient(lambda x: x * istraining(), 2.0)
    (False, (1.0,))
    """
    frame = sys._getframe(1)
    for _ in range(_CALLER_DEPTH):
        if frame is None:
            return False
        code = frame.f_code
        if code in registry.NONDIFF_CODES:  # a nograd function runs plainly
            return False
        if code.co_filename.startswith("<fluxpy") and _GENERATED_NAME.search(code.co_name):
            _count_answer()
            return True
        frame = frame.f_back
    return False


TRAINING_ANSWERS = [0]  # how many times istraining() said True (fluxpy.testing: a mode-dependent function)


@registry.nograd
def _count_answer():
    TRAINING_ANSWERS[0] += 1


_CALLER_DEPTH = 64  # how far up istraining() looks for generated forward code
# the generated functions of reverse mode (``f__forward``, ``f__gradient``) and of forward mode (``f__jvp``):
# jvp differentiates too, so it trains (as jacobian and gradient do, and as Flux ties trainmode to AD)
_GENERATED_NAME = re.compile(r"__(forward|gradient|jvp)(_\d+)?$")


@registry.adjoint(istraining)
def _istraining_rule():
    def istraining_pullback(dy):
        return ()

    _count_answer()
    return True, istraining_pullback


def _isactive(layer):
    """Whether ``layer`` trains now: its ``active`` field, or ``istraining()`` when that is ``None``."""
    if layer.active is None:
        return istraining()
    return layer.active


def _set_active(x, value, seen):
    if id(x) in seen:
        return
    seen.add(id(x))
    if isinstance(x, _Switchable):
        x.active = value
    if isinstance(x, (list, tuple)):
        for v in x:
            _set_active(v, value, seen)
    elif isinstance(x, dict):
        for v in x.values():
            _set_active(v, value, seen)
    elif is_functor(x) or isinstance(x, _Switchable):
        for v in vars(x).values():
            _set_active(v, value, seen)


def _mode(mode):
    if mode is None or (isinstance(mode, str) and mode == "auto"):
        return None
    if isinstance(mode, (bool, np.bool_)):
        return bool(mode)
    raise FluxpyError(f"mode must be True, False, None or 'auto', got {mode!r}")


def trainmode(m, mode=True):
    """Put every dropout and normalisation layer inside ``m`` in training mode (``mode=True``), inference
    mode (``False``) or automatic mode (``None`` or ``"auto"``). Changes ``m`` in place and returns it.

    >>> d = Dropout(0.5)
    >>> trainmode(d).active, trainmode(d, False).active, trainmode(d, "auto").active
    (True, False, None)
    """
    _set_active(m, _mode(mode), set())
    return m


def testmode(m, mode=True):
    """Put every dropout and normalisation layer inside ``m`` in inference mode (``mode=True``), training
    mode (``False``) or automatic mode (``None`` or ``"auto"``). Changes ``m`` in place and returns it.

    >>> d = testmode(Dropout(0.5))
    >>> d.active
    False
    """
    value = _mode(mode)
    _set_active(m, None if value is None else not value, set())
    return m


registry.nograd(trainmode, testmode)  # switches, not maths (Flux marks trainmode!/testmode! so too)
testmode.__test__ = False  # not a pytest test, whatever module imports it


class _Switchable:
    """Base of layers with an ``active`` field."""


def _name(f):
    return getattr(f, "__name__", repr(f))


def _activation_repr(activation):
    return "" if activation is identity else f", {_name(activation)}"


# ---------------------------------------------------------------------------------------------------
# Dropout


def _dropout_shape(shape, dims):
    """The mask's shape for an input of ``shape``: as Flux's ``_dropout_shape``, the input's size along the
    axes in ``dims`` and 1 along the others, so an axis the input does not have (``dims=2`` for a 2-d input)
    varies nowhere. A negative axis counts from the end, as NumPy's (``-1``: the last axis).

    >>> _dropout_shape((6, 4), 1), _dropout_shape((6, 4), -2), _dropout_shape((6, 4), 2)
    ((1, 4), (6, 1), (1, 1))
    """
    shape = tuple(shape)
    if dims is None:
        return shape
    ndim = len(shape)
    axes = (dims,) if _axis_like(dims) else tuple(dims)
    return tuple(n if i in axes or i - ndim in axes else 1 for i, n in enumerate(shape))


def _axis_like(d):
    return isinstance(d, (int, np.integer)) and not isinstance(d, (bool, np.bool_))


def _check_dims(layer_name, dims):
    """``dims`` as a Dropout takes it: ``None`` (every entry its own), an axis, or a tuple or list of axes."""
    if dims is None or _axis_like(dims):
        return dims
    if isinstance(dims, (tuple, list)) and all(_axis_like(d) for d in dims):
        return tuple(int(d) for d in dims)
    raise FluxpyError(
        f"{layer_name}: dims must be None, an axis (an int) or a tuple of axes, the axes along which the "
        f"mask varies; got {dims!r}"
    )


def _dropout_mask(x, p, dims, rng):
    """The scaled mask ``keep / (1 - p)``, shaped to broadcast against ``x`` (varying along ``dims``)."""
    xp = xp_of(x)
    shape = _dropout_shape(np.shape(x), dims)
    dtype = x.dtype if hasattr(x, "dtype") and x.dtype.kind == "f" else np.dtype(np.float64)
    if p >= 1:
        return xp.zeros(shape, dtype=dtype)
    keep = rng.random(shape) >= p
    return xp.asarray(keep.astype(dtype) / dtype.type(1 - p))


registry.nograd(_dropout_mask, _dropout_shape)


def _alpha_dropout_params(x, p, rng):
    """``(keep, a, dropped, b)``: AlphaDropout's mask and affine correction, as Flux computes them."""
    alpha = -1.7580993408473766  # -lambda * alpha of SELU
    keep = rng.random(np.shape(x)) >= p
    a = 1.0 / np.sqrt((1 - p) * (1 + p * alpha**2))
    b = -a * alpha * p
    xp = xp_of(x)
    dtype = x.dtype if hasattr(x, "dtype") and x.dtype.kind == "f" else np.dtype(np.float64)
    keep = xp.asarray(keep.astype(dtype))
    return keep, dtype.type(a), dtype.type(alpha * a + b), dtype.type(b)


registry.nograd(_alpha_dropout_params)


@registry.nograd
def _zero_like(x):
    """A zero of ``x``'s float type (float64 for an int input), as Flux's ``T(0)``."""
    dtype = x.dtype if hasattr(x, "dtype") and x.dtype.kind == "f" else np.dtype(np.float64)
    return dtype.type(0)


class Dropout(_Switchable):
    """Inverted dropout: in training, each entry is zeroed with probability ``p`` and the rest scaled by
    ``1 / (1 - p)``; in inference the input passes unchanged. ``dims`` (an axis or tuple of axes, NumPy's
    numbering: a negative one counts from the end) makes the mask vary only along those axes (shared along
    the others); as Flux, an axis the input does not have is left out (``dims=2`` on a 2-d input: one value
    for the whole input). ``rng`` is a NumPy ``Generator``.

    >>> import numpy as np
    >>> d = Dropout(0.5, rng=np.random.default_rng(0))
    >>> d
    Dropout(0.5)
    >>> x = np.ones(6)
    >>> bool(np.all(d(x) == x))  # plain call: inference
    True
    >>> sorted(set(trainmode(d)(x).tolist()))
    [0.0, 2.0]
    >>> y = trainmode(Dropout(0.5, dims=1, rng=np.random.default_rng(0)))(np.ones((3, 4)))
    >>> bool(np.all(y == y[:1]))  # one mask row, shared along axis 0
    True
    """

    def __init__(self, p, *, dims=None, rng=None, active=None):
        if not 0 <= p <= 1:
            raise FluxpyError(f"Dropout probability must be in [0, 1], got {p}")
        self.p = p
        self.dims = _check_dims(f"Dropout({p})", dims)
        self.rng = rng if rng is not None else np.random.default_rng()
        self.active = active

    def __call__(self, x):
        active = _isactive(self)  # a statement of its own: the compiler runs `if` tests undifferentiated
        if not active or self.p == 0:
            return x
        mask = _dropout_mask(x, self.p, self.dims, self.rng)
        return x * mask

    def __repr__(self):
        dims = "" if self.dims is None else f", dims={self.dims}"
        return f"Dropout({self.p}{dims})"


functor(Dropout, ())


class AlphaDropout(_Switchable):
    """Dropout for SELU networks: dropped entries are set to SELU's negative saturation value and the result
    is rescaled to keep zero mean and unit variance. Inference passes the input unchanged; with ``p = 1``
    training gives zeros (as Flux: every entry dropped, no rescaling possible).

    >>> import numpy as np
    >>> d = trainmode(AlphaDropout(0.2, rng=np.random.default_rng(0)))
    >>> d, d(np.zeros(4)).shape
    (AlphaDropout(0.2), (4,))
    >>> trainmode(AlphaDropout(1.0))(np.array([1.0, 2.0]))
    array([0., 0.])
    """

    def __init__(self, p, *, rng=None, active=None):
        if not 0 <= p <= 1:
            raise FluxpyError(f"AlphaDropout probability must be in [0, 1], got {p}")
        self.p = p
        self.rng = rng if rng is not None else np.random.default_rng()
        self.active = active

    def __call__(self, x):
        active = _isactive(self)  # a statement of its own: the compiler runs `if` tests undifferentiated
        if not active or self.p == 0:
            return x
        if self.p == 1:  # every entry dropped: zeros (Flux: `isone(p) && return sign.(x) .* T(0)`)
            return np.sign(x) * _zero_like(x)
        keep, a, dropped, b = _alpha_dropout_params(x, self.p, self.rng)
        # keep: a * x + b ; dropped: a * alpha' + b
        return x * (keep * a) + (1 - keep) * dropped + keep * b

    def __repr__(self):
        return f"AlphaDropout({self.p})"


functor(AlphaDropout, ())


# ---------------------------------------------------------------------------------------------------
# Normalisation


def _channel_shape(x, channels):
    """``(1, C, 1, ...)``: the shape that broadcasts a per-channel vector against ``x`` (channels: axis 1)."""
    return (1, channels) + (1,) * (np.ndim(x) - 2)


def _check_channels(layer, x, channels):
    if np.ndim(x) < 2 or np.shape(x)[1] != channels:
        raise FluxpyError(
            f"{layer!r} expects inputs of shape (batch, {channels}, ...) with channels on axis 1, "
            f"got shape {np.shape(x)}"
        )


def _update_running_stats(layer, mean, var, n, *, per_sample=False):
    """Blend the batch statistics into ``layer``'s running mean and (unbiased) variance, in place; nothing
    while ``fx.checkpointed`` recomputes a forward pass (the statistics were updated by the first one).

    ``n`` is the number of entries each statistic was computed from. ``per_sample=True`` (InstanceNorm):
    ``mean`` and ``var`` hold one value per sample and channel, ``(N, C, 1, ...)``, and their averages over
    the batch are blended in, as Flux's ``_track_stats!``."""
    if _RECOMPUTING.get():
        return
    if per_sample:
        if np.shape(mean)[0] == 0:  # no samples: nothing to blend in
            return
        mean, var = np.mean(mean, axis=0), np.mean(var, axis=0)
    journal = _STATS_JOURNAL.get()
    if journal is not None:
        journal.extend((a, a.copy()) for a in (layer.running_mean, layer.running_var))
    mom = layer.momentum
    correction = n / (n - 1) if n > 1 else 1.0
    mean = np.reshape(mean, (-1,))
    var = np.reshape(var, (-1,)) * correction
    dtype = layer.running_mean.dtype
    layer.running_mean[...] = ((1 - mom) * layer.running_mean + mom * mean).astype(dtype)
    layer.running_var[...] = ((1 - mom) * layer.running_var + mom * var).astype(dtype)


registry.nograd(_update_running_stats)


def _affine_params(affine, channels):
    if affine:
        return np.ones(channels, dtype=np.float32), np.zeros(channels, dtype=np.float32)
    return False, False


class BatchNorm(_Switchable):
    """Batch normalisation over every axis but the channel axis 1 (``(N, C)`` or NCHW inputs).

    In training (inside a gradient, or after ``trainmode``) it normalises with the batch's statistics and,
    with ``track_stats``, updates ``running_mean``/``running_var`` in place (``momentum``, unbiased variance,
    as Flux and PyTorch); in inference it uses the running statistics. Trainable: ``gamma`` (scale) and
    ``beta`` (shift), both ``False`` when ``affine=False``.

    >>> import numpy as np, fluxpy as fx
    >>> bn = BatchNorm(2, fx.relu)
    >>> bn
    BatchNorm(2, relu)
    >>> x = np.array([[1.0, 2.0], [3.0, 6.0]])
    >>> np.round(trainmode(bn)(x), 3).tolist()  # normalised over the batch to -1 and 1, then relu
    [[0.0, 0.0], [1.0, 1.0]]
    >>> bn.running_mean
    array([0.2, 0.4], dtype=float32)
    >>> len(fx.params(bn))
    2
    """

    def __init__(
        self,
        channels,
        activation=identity,
        *,
        eps=1e-5,
        momentum=0.1,
        affine=True,
        track_stats=True,
        active=None,
    ):
        self.channels = channels
        self.activation = activation
        self.eps = eps
        self.momentum = momentum
        self.affine = affine
        self.track_stats = track_stats
        self.gamma, self.beta = _affine_params(affine, channels)
        self.running_mean = np.zeros(channels, dtype=np.float32) if track_stats else None
        self.running_var = np.ones(channels, dtype=np.float32) if track_stats else None
        self.active = active

    def __call__(self, x):
        _check_channels(self, x, self.channels)
        shape = _channel_shape(x, self.channels)
        axes = (0,) + tuple(range(2, np.ndim(x)))
        training = _isactive(self)  # a statement of its own: the compiler runs `if` tests undifferentiated
        if training or not self.track_stats:
            mean = np.mean(x, axis=axes, keepdims=True)
            d = x - mean
            var = np.mean(d * d, axis=axes, keepdims=True)
            if training and self.track_stats:
                _update_running_stats(self, mean, var, np.size(x) // self.channels)
            y = d / np.sqrt(var + self.eps)
        else:
            mean = np.reshape(self.running_mean, shape)
            var = np.reshape(self.running_var, shape)
            y = (x - mean) / np.sqrt(var + self.eps)
        if self.affine:
            y = y * np.reshape(self.gamma, shape) + np.reshape(self.beta, shape)
        return self.activation(y)

    def __repr__(self):
        extra = _activation_repr(self.activation)
        if not self.affine:
            extra += ", affine=False"
        if not self.track_stats:
            extra += ", track_stats=False"
        return f"BatchNorm({self.channels}{extra})"


functor(BatchNorm, trainable=("gamma", "beta"))


class InstanceNorm(_Switchable):
    """Instance normalisation: each sample's channel normalised over its spatial axes (NCHW inputs).
    ``affine=False`` by default (as Flux); with ``affine=True`` a per-channel ``gamma``/``beta`` follows.

    ``track_stats=True`` (default ``False``, as Flux) keeps ``running_mean``/``running_var``, one entry per
    channel: in training (inside a gradient, or after ``trainmode``) each call normalises with the samples'
    own statistics and blends the batch average of the per-sample means and (unbiased) variances into them
    (``momentum``, as BatchNorm and Flux); in inference every sample is normalised with the running ones.

    >>> import numpy as np
    >>> m = InstanceNorm(2)
    >>> m
    InstanceNorm(2)
    >>> y = m(np.arange(12.0).reshape(1, 2, 6))
    >>> np.round(y.mean(axis=2), 6), np.round(y.var(axis=2), 3)
    (array([[0., 0.]]), array([[1., 1.]]))
    >>> t = InstanceNorm(2, track_stats=True)
    >>> t
    InstanceNorm(2, track_stats=True)
    >>> _ = trainmode(t)(np.arange(12.0).reshape(1, 2, 6))
    >>> t.running_mean, t.running_var  # 0.1 * (2.5, 8.5); 0.9 + 0.1 * 3.5 (the unbiased variance)
    (array([0.25, 0.85], dtype=float32), array([1.25, 1.25], dtype=float32))
    """

    def __init__(
        self,
        channels,
        activation=identity,
        *,
        eps=1e-5,
        momentum=0.1,
        affine=False,
        track_stats=False,
        active=None,
    ):
        self.channels = channels
        self.activation = activation
        self.eps = eps
        self.momentum = momentum
        self.affine = affine
        self.track_stats = track_stats
        self.gamma, self.beta = _affine_params(affine, channels)
        self.running_mean = np.zeros(channels, dtype=np.float32) if track_stats else None
        self.running_var = np.ones(channels, dtype=np.float32) if track_stats else None
        self.active = active

    def __call__(self, x):
        _check_instance_input(self, x)
        axes = tuple(range(2, np.ndim(x)))
        training = _isactive(self)  # a statement of its own: the compiler runs `if` tests undifferentiated
        if training or not self.track_stats:
            mean = np.mean(x, axis=axes, keepdims=True)
            d = x - mean
            var = np.mean(d * d, axis=axes, keepdims=True)
            if training and self.track_stats:
                _update_running_stats(self, mean, var, _spatial_count(x), per_sample=True)
            y = d / np.sqrt(var + self.eps)
        else:
            shape = _channel_shape(x, self.channels)
            mean = np.reshape(self.running_mean, shape)
            var = np.reshape(self.running_var, shape)
            y = (x - mean) / np.sqrt(var + self.eps)
        if self.affine:
            shape = _channel_shape(x, self.channels)
            y = y * np.reshape(self.gamma, shape) + np.reshape(self.beta, shape)
        return self.activation(y)

    def __repr__(self):
        extra = _activation_repr(self.activation)
        if self.affine:
            extra += ", affine=True"
        if self.track_stats:
            extra += ", track_stats=True"
        return f"InstanceNorm({self.channels}{extra})"


def _check_instance_input(layer, x):
    """InstanceNorm's input: ``(N, C, *spatial)`` with at least one spatial axis and ``C`` its channels."""
    _check_channels(layer, x, layer.channels)
    if np.ndim(x) < 3:
        raise FluxpyError(f"{layer!r} expects inputs with spatial axes (N, C, ...), got shape {np.shape(x)}")


def _spatial_count(x):
    """The number of entries in one sample's channel: the product of the spatial sizes."""
    return int(np.prod(np.shape(x)[2:], dtype=np.int64))


registry.nograd(_check_instance_input, _spatial_count)


functor(InstanceNorm, trainable=("gamma", "beta"))


class GroupNorm(_Switchable):
    """Group normalisation: the channels (axis 1) split into ``groups`` groups, each sample's group
    normalised over its channels and spatial axes, then a per-channel ``gamma``/``beta``.

    ``track_stats=True`` (default ``False``, as Flux's) keeps ``running_mean``/``running_var``, one entry per
    group (as Flux's ``zeros32(G)``/``ones32(G)``): in training each call normalises with the samples' own
    statistics and blends the batch average of the per-sample group means and (unbiased) variances into them
    (``momentum``, as Flux's ``_track_stats!``); in inference every sample's groups are normalised with the
    running ones.

    >>> import numpy as np
    >>> m = GroupNorm(4, 2)
    >>> m
    GroupNorm(4, 2)
    >>> m(np.arange(16.0).reshape(2, 4, 2)).shape
    (2, 4, 2)
    >>> t = GroupNorm(4, 2, track_stats=True)
    >>> t
    GroupNorm(4, 2, track_stats=True)
    >>> _ = trainmode(t)(np.arange(8.0).reshape(1, 4, 2))  # groups [0, 1, 2, 3] and [4, 5, 6, 7]
    >>> t.running_mean, np.round(t.running_var, 4)  # 0.1 * (1.5, 5.5); 0.9 + 0.1 * 5/3 (unbiased)
    (array([0.15, 0.55], dtype=float32), array([1.0667, 1.0667], dtype=float32))
    """

    def __init__(
        self,
        channels,
        groups,
        activation=identity,
        *,
        eps=1e-5,
        momentum=0.1,
        affine=True,
        track_stats=False,
        active=None,
    ):
        if channels % groups:
            raise FluxpyError(f"GroupNorm: {channels} channels do not split into {groups} groups")
        self.channels = channels
        self.groups = groups
        self.activation = activation
        self.eps = eps
        self.momentum = momentum
        self.affine = affine
        self.track_stats = track_stats
        self.gamma, self.beta = _affine_params(affine, channels)
        self.running_mean = np.zeros(groups, dtype=np.float32) if track_stats else None
        self.running_var = np.ones(groups, dtype=np.float32) if track_stats else None
        self.active = active

    def __call__(self, x):
        _check_channels(self, x, self.channels)
        shape = np.shape(x)
        grouped = np.reshape(x, (shape[0], self.groups, self.channels // self.groups) + tuple(shape[2:]))
        axes = tuple(range(2, len(shape) + 1))
        training = _isactive(self)  # a statement of its own: the compiler runs `if` tests undifferentiated
        if training or not self.track_stats:
            mean = np.mean(grouped, axis=axes, keepdims=True)
            d = grouped - mean
            var = np.mean(d * d, axis=axes, keepdims=True)
            if training and self.track_stats:
                _update_running_stats(self, mean, var, _spatial_count(grouped), per_sample=True)
            y = np.reshape(d / np.sqrt(var + self.eps), shape)
        else:
            gshape = (1, self.groups) + (1,) * (len(shape) - 1)
            mean = np.reshape(self.running_mean, gshape)
            var = np.reshape(self.running_var, gshape)
            y = np.reshape((grouped - mean) / np.sqrt(var + self.eps), shape)
        if self.affine:
            cshape = _channel_shape(x, self.channels)
            y = y * np.reshape(self.gamma, cshape) + np.reshape(self.beta, cshape)
        return self.activation(y)

    def __repr__(self):
        extra = _activation_repr(self.activation)
        if not self.affine:
            extra += ", affine=False"
        if self.track_stats:
            extra += ", track_stats=True"
        return f"GroupNorm({self.channels}, {self.groups}{extra})"


functor(GroupNorm, trainable=("gamma", "beta"))


class LayerNorm:
    """Layer normalisation over the trailing axes given by ``size`` (an int or a tuple), then an
    elementwise ``gamma``/``beta`` of shape ``size`` when ``affine``.

    >>> import numpy as np
    >>> m = LayerNorm(3)
    >>> m
    LayerNorm(3)
    >>> np.round(m(np.array([[1.0, 2.0, 3.0]])), 3)
    array([[-1.225,  0.   ,  1.225]])
    """

    def __init__(self, size, activation=identity, *, eps=1e-5, affine=True):
        self.size = (size,) if isinstance(size, (int, np.integer)) else tuple(size)
        self.activation = activation
        self.eps = eps
        self.affine = affine
        if affine:
            self.gamma = np.ones(self.size, dtype=np.float32)
            self.beta = np.zeros(self.size, dtype=np.float32)
        else:
            self.gamma, self.beta = False, False

    def __call__(self, x):
        _check_layernorm_input(self, x)
        k = len(self.size)
        axes = tuple(range(np.ndim(x) - k, np.ndim(x)))
        mean = np.mean(x, axis=axes, keepdims=True)
        d = x - mean
        var = np.mean(d * d, axis=axes, keepdims=True)
        y = d / np.sqrt(var + self.eps)
        if self.affine:
            y = y * self.gamma + self.beta
        return self.activation(y)

    def __repr__(self):
        size = str(self.size[0]) if len(self.size) == 1 else str(self.size)
        extra = _activation_repr(self.activation)
        if not self.affine:
            extra += ", affine=False"
        return f"LayerNorm({size}{extra})"


functor(LayerNorm, trainable=("gamma", "beta"))


@registry.nograd
def _check_layernorm_input(layer, x):
    k = len(layer.size)
    if np.ndim(x) < k or tuple(np.shape(x)[-k:]) != layer.size:
        raise FluxpyError(f"{layer!r} expects inputs whose trailing axes are {layer.size}, got {np.shape(x)}")


def _check_input_shape(layer, shape):
    """Raise the ``FluxpyError`` that a dropout or normalisation ``layer`` raises for an input of ``shape``
    (``fx.outputsize``'s rule for these layers: their output has their input's shape), without running it."""
    x = np.broadcast_to(np.float32(0), tuple(shape))  # a shape only: no memory, no arithmetic
    if isinstance(layer, InstanceNorm):
        _check_instance_input(layer, x)
    elif isinstance(layer, (BatchNorm, GroupNorm)):
        _check_channels(layer, x, layer.channels)
    elif isinstance(layer, LayerNorm):
        _check_layernorm_input(layer, x)


registry.nograd(_check_input_shape)


# ---------------------------------------------------------------------------------------------------
# State that a recomputed forward pass (fx.checkpointed) or a refused training step (fx.train) puts back:
# random generators (found by walking the objects a function can reach) and running statistics (journaled).

_RECOMPUTING = contextvars.ContextVar("fluxpy_recomputing", default=False)
_STATS_JOURNAL = contextvars.ContextVar("fluxpy_stats_journal", default=None)
_WALK_LIMIT = 200_000  # objects one walk visits at most (a dataset in a global is not searched to its end)
_RNG_TYPES = (np.random.Generator, np.random.RandomState)


@contextlib.contextmanager
def recomputing():
    """While active, a forward pass is a recomputation: running statistics are not updated again."""
    token = _RECOMPUTING.set(True)
    try:
        yield
    finally:
        _RECOMPUTING.reset(token)


def _code_names(code, names):
    names.update(code.co_names)
    for const in code.co_consts:
        if isinstance(const, types.CodeType):
            _code_names(const, names)
    return names


def _reachable(roots):
    """Every object reachable from ``roots``, as a list: object fields, containers, closures, defaults and the
    globals a function names (arrays, numbers, strings, classes and modules are not entered)."""
    found, seen, stack = [], set(), list(roots)
    while stack and len(seen) < _WALK_LIMIT:
        x = stack.pop()
        if id(x) in seen:
            continue
        seen.add(id(x))
        if x is None or isinstance(x, (str, bytes, int, float, complex, type, types.ModuleType, np.generic)):
            continue
        if is_array(x):
            continue
        found.append(x)
        if isinstance(x, _RNG_TYPES):
            continue
        if isinstance(x, (list, tuple, set, frozenset)):
            stack.extend(x)
        elif isinstance(x, dict):
            stack.extend(x.values())
        elif isinstance(x, types.FunctionType):
            for cell in x.__closure__ or ():
                try:
                    stack.append(cell.cell_contents)
                except ValueError:  # an empty cell
                    pass
            stack.extend(x.__defaults__ or ())
            stack.extend((x.__kwdefaults__ or {}).values())
            g = x.__globals__
            stack.extend(g[n] for n in _code_names(x.__code__, set()) if n in g)
        elif isinstance(x, types.MethodType):
            stack.extend((x.__self__, x.__func__))
        elif isinstance(x, functools.partial):
            stack.extend((x.func, x.args, x.keywords))
        else:
            fields = getattr(x, "__dict__", None)
            if isinstance(fields, dict):
                stack.extend(fields.values())
    return found


def rng_snapshot(roots):
    """The state of every NumPy random generator reachable from ``roots``, of NumPy's global generator and of
    Python's ``random``: ``restore_rngs(snapshot)`` puts them back (PyTorch's checkpoint does the same)."""
    states = [(g, _rng_state(g)) for g in _reachable(roots) if isinstance(g, _RNG_TYPES)]
    return states, np.random.get_state(), random.getstate()


def restore_rngs(snapshot):
    states, numpy_state, python_state = snapshot
    for g, state in states:
        if isinstance(g, np.random.Generator):
            g.bit_generator.state = state
        else:
            g.set_state(state)
    np.random.set_state(numpy_state)
    random.setstate(python_state)


def _rng_state(g):
    return g.bit_generator.state if isinstance(g, np.random.Generator) else g.get_state()


@contextlib.contextmanager
def stats_journal():
    """Within, every update of running statistics first records their values in the list this yields;
    ``restore_stats(journal)`` puts them back (``fx.train`` does, for a step it refuses)."""
    journal = []
    token = _STATS_JOURNAL.set(journal)
    try:
        yield journal
    finally:
        _STATS_JOURNAL.reset(token)


def restore_stats(journal):
    for array, saved in reversed(journal):
        array[...] = saved
    journal.clear()


# bookkeeping, not maths: run as they are when a rule using them is itself differentiated (second order)
registry.nograd(recomputing, rng_snapshot, restore_rngs, stats_journal, restore_stats)


__all__ = [
    "AlphaDropout",
    "BatchNorm",
    "Dropout",
    "GroupNorm",
    "InstanceNorm",
    "LayerNorm",
    "istraining",
    "testmode",
    "trainmode",
]
