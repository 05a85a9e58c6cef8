"""The dense layer's kernel: ``act(x @ w.T + b)`` in one call with one rule.

``Dense`` calls it for the activations it knows (identity, ``relu``, ``tanh``, ``sigmoid``), so a layer
costs one rule and one pullback, not a matmul, a bias addition with its unbroadcast and an activation, each
with its own. The pullback forms ``g = dy * act'(y)`` once, from the output, and is written with ruled
operations, so gradients of gradients go through the compiler; the forward rule (``fx.jvp``) is written out.

>>> import numpy as np
>>> x, w, b = np.array([[1.0, -2.0]]), np.array([[1.0, 1.0], [2.0, 0.5]]), np.array([0.5, -1.0])
>>> dense_bias_act(x, w, b, act="relu")
array([[0., 0.]])
>>> dense_bias_act(x, w, b)
array([[-0.5,  0. ]])
"""

import numpy as np

from ..backend import xp_of
from ..errors import FluxpyError
from ..rules.registry import adjoint, forward_rule, partial_of

ACTIVATIONS = ("identity", "relu", "tanh", "sigmoid")


def dense_bias_act(x, w, b, act="identity"):
    """``act(x @ w.T + b)`` for ``x`` of shape ``(..., in)``, ``w`` ``(out, in)`` and ``b`` ``(out,)``
    (``None`` or ``False``: no bias); ``act`` is one of ``ACTIVATIONS``."""
    if act not in ACTIVATIONS:
        raise FluxpyError(f"dense_bias_act: act={act!r} is not one of {ACTIVATIONS}; apply it to the result")
    xp = xp_of(x, w)
    y = xp.matmul(x, w.T)
    if b is not None and b is not False:
        if np.result_type(y.dtype, b.dtype) == y.dtype and y.ndim > 0:
            y += b
        else:
            y = y + b
    if act == "relu":
        if y.dtype.kind == "f" and y.ndim > 0:
            xp.maximum(y, 0, out=y)
        else:
            y = xp.maximum(y, 0.0)
    elif act == "tanh":
        y = xp.tanh(y)
    elif act == "sigmoid":
        y = xp.exp(-xp.logaddexp(0.0, -y))  # as activations.sigmoid: no overflow
    return y


def _slope(y, act):
    """``act'`` at the input whose output is ``y`` (None for the identity); relu'(0) = 0, as relu's rule."""
    if act == "relu":
        return y > 0
    if act == "tanh":
        return 1 - y * y
    if act == "sigmoid":
        return y * (1 - y)
    return None


@adjoint(dense_bias_act)
def dense_bias_act_rule(x, w, b, act="identity"):
    return dense_bias_act_partial((True, True, True), x, w, b, act)


@partial_of(dense_bias_act_rule)
def dense_bias_act_partial(mask, x, w, b, act="identity"):
    """``dense_bias_act_rule`` computing only the cotangents ``mask`` wants (a data batch ``x`` needs none).
    The forward pass calls ``dense_bias_act`` itself, so a gradient of this rule goes through that rule."""
    y = dense_bias_act(x, w, b, act)
    has_bias = b is not None and b is not False

    def dense_bias_act_pullback(dy):
        slope = _slope(y, act)
        g = dy if slope is None else dy * slope
        g2 = g.reshape(-1, g.shape[-1]) if g.ndim != 2 else g
        dx = g @ w if mask[0] else None
        dw = g2.T @ x.reshape(-1, x.shape[-1]) if mask[1] else None
        db = g2.sum(axis=0) if mask[2] and has_bias else None
        return dx, dw, db, None

    return y, dense_bias_act_pullback


@forward_rule(dense_bias_act)
def dense_bias_act_jvp(args, targs):
    x, w, b = args[:3]
    act = args[3] if len(args) > 3 else "identity"
    tx, tw, tb = targs[:3]
    y = dense_bias_act(x, w, b, act)
    t = None
    if tx is not None:
        t = xp_of(x).broadcast_to(tx, x.shape) @ w.T
    if tw is not None:
        tw = xp_of(w).broadcast_to(tw, w.shape)
        t = x @ tw.T if t is None else t + x @ tw.T
    if tb is not None and b is not None and b is not False:
        t = tb if t is None else t + tb
    if t is None:
        return y, None
    slope = _slope(y, act)
    return y, t if slope is None else t * slope
