"""Optimisers: each rule is a small dataclass of hyperparameters with ``init`` and ``apply``; state is kept
outside the rule (Optimisers.jl's design).

>>> import numpy as np, fluxpy as fx
>>> W = np.ones(2)
>>> gs = fx.gradient(lambda: np.sum(W * 3.0), fx.params(W))
>>> fx.update(fx.optimise.Descent(0.1), fx.params(W), gs)
>>> W
array([0.7, 0.7])
"""

from dataclasses import dataclass

from ..errors import FluxpyError
from ..implicit import Grads, Params


@dataclass
class Descent:
    """Plain gradient descent: ``x -= eta * dx``."""

    eta: float = 0.1

    def init(self, x):
        return None

    def apply(self, state, x, dx):
        """``(new state, step)``; the update is ``x -= step``."""
        return state, self.eta * dx


def update(opt, ps, gs):
    """Implicit form: apply ``opt`` to every parameter in ``ps`` that has a gradient in ``gs``, in place."""
    if not isinstance(ps, Params) or not isinstance(gs, Grads):
        raise FluxpyError(
            "fx.update(opt, ps, gs) takes an optimiser, fx.params(...) and the Grads of a gradient"
        )
    states = opt.__dict__.setdefault("_implicit_state", {})
    for p in ps:
        dx = gs[p] if p in gs else None
        if dx is None:
            continue
        key = id(p)
        if key not in states:
            states[key] = opt.init(p)
        states[key], step = opt.apply(states[key], p, dx)
        p -= step.astype(p.dtype, copy=False) if hasattr(step, "astype") else step


__all__ = ["Descent", "update"]
