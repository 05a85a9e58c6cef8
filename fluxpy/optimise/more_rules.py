"""More optimisation rules from Optimisers.jl: ``Rprop``, ``OAdam``, ``AdaBelief`` and ``AccumGrad``, with its
formulas and defaults (``src/rules.jl``), in the form of :mod:`fluxpy.optimise.rules`: a dataclass of
hyperparameters with ``init(x)`` and ``apply(state, x, dx) -> (state, step)``.

>>> import numpy as np
>>> from fluxpy.optimise import AccumGrad, Descent, OptimiserChain
>>> rule = OptimiserChain(AccumGrad(2), Descent(0.1))
>>> x = np.array([1.0])
>>> state = rule.init(x)
>>> state, step = rule.apply(state, x, np.array([3.0]))
>>> step is None  # the first of two gradients: no step yet
True
>>> state, step = rule.apply(state, x, np.array([1.0]))
>>> step  # Descent's step on the mean of the two
array([0.2])
"""

from dataclasses import dataclass
from numbers import Integral

from ..backend import xp_of
from ..errors import FluxpyError
from .rules import Rule, _abs2, _eps, _filled, _real, _scalars, _zeros


@dataclass(repr=False)
class Rprop(Rule):
    """Rprop (resilient backpropagation, Riedmiller & Braun 1993): each entry has its own step size,
    multiplied by ``ell[1]`` (at most ``gamma[1]``) while its gradient keeps its sign and by ``ell[0]`` (at
    least ``gamma[0]``) when the sign flips; the step is ``eta_i * sign(dx)`` (zero just after a flip).
    State ``(previous dx, step sizes)``; the step sizes start at ``eta``.

    >>> import numpy as np
    >>> rule = Rprop(0.1)
    >>> state = rule.init(np.zeros(2))
    >>> state, step = rule.apply(state, None, np.array([2.0, -3.0]))
    >>> state, step = rule.apply(state, None, np.array([1.0, 3.0]))
    >>> step  # same sign: the step grows by 1.2; a flip: it shrinks by 0.5, and no step is taken
    array([0.12, 0.  ])
    """

    eta: float = 0.001
    ell: tuple = (0.5, 1.2)
    gamma: tuple = (1e-6, 50.0)

    def init(self, x):
        return (_zeros(x), _filled(x, _real(x)(self.eta)))

    def apply(self, state, x, dx):
        g, eta = state
        shrink, grow, low, high = _scalars(g, *self.ell, *self.gamma)
        xp = xp_of(g)
        turn = g * dx
        eta = xp.where(
            turn > 0, xp.minimum(eta * grow, high), xp.where(turn < 0, xp.maximum(eta * shrink, low), eta)
        )
        g = xp.where(turn < 0, g.dtype.type(0), dx).astype(g.dtype, copy=False)
        return (g, eta), eta * xp.sign(g)


@dataclass(repr=False)
class OAdam(Rule):
    """Optimistic Adam (Daskalakis et al. 2018), for adversarial training: with Adam's bias-corrected step
    ``term``, the step is ``2 * term - previous term``. State ``(m, v, beta_t, term)``.

    >>> OAdam()
    OAdam(0.001, (0.5, 0.9), 1e-08)
    """

    eta: float = 0.001
    beta: tuple = (0.5, 0.9)
    epsilon: float = 1e-8

    def init(self, x):
        return (_zeros(x), _zeros(x), tuple(self.beta), _zeros(x))

    def apply(self, state, x, dx):
        eta, eps, b1, b2 = _scalars(x, self.eta, _eps(x, self.epsilon), *self.beta)
        mt, vt, bt, term = state
        mt *= b1
        mt += (1 - b1) * dx
        vt *= b2
        vt += (1 - b2) * _abs2(dx)
        prev = term.copy()
        c1, c2 = _scalars(x, 1 - bt[0], 1 - bt[1])
        term[...] = eta * mt / c1 / (xp_of(x).sqrt(vt / c2) + eps)
        return (mt, vt, (bt[0] * self.beta[0], bt[1] * self.beta[1]), term), 2 * term - prev


@dataclass(repr=False)
class AdaBelief(Rule):
    """AdaBelief (Zhuang et al. 2020): Adam with the second moment of ``dx - m`` (the "belief" in the
    gradient) in place of ``dx**2``; ``s = beta2 * s + (1 - beta2) * (dx - m)**2 + epsilon``. State
    ``(m, s, beta_t)``.

    >>> AdaBelief()
    AdaBelief(0.001, (0.9, 0.999), 1e-16)
    """

    eta: float = 0.001
    beta: tuple = (0.9, 0.999)
    epsilon: float = 1e-16

    def init(self, x):
        return (_zeros(x), _zeros(x), tuple(self.beta))

    def apply(self, state, x, dx):
        eta, eps, b1, b2 = _scalars(x, self.eta, _eps(x, self.epsilon), *self.beta)
        mt, st, bt = state
        mt *= b1
        mt += (1 - b1) * dx
        st *= b2
        st += (1 - b2) * _abs2(dx - mt)
        st += eps
        c1, c2 = _scalars(x, 1 - bt[0], 1 - bt[1])
        step = eta * mt / c1 / (xp_of(x).sqrt(st / c2) + eps)
        return (mt, st, (bt[0] * self.beta[0], bt[1] * self.beta[1])), step


@dataclass(repr=False)
class AccumGrad(Rule):
    """Accumulate ``n`` gradients before a step: ``OptimiserChain(AccumGrad(n), rule)`` applies ``rule`` to
    the mean of every ``n`` gradients, and leaves the parameters alone in between (the step is None, and the
    rules after it in the chain are not called). An effective batch ``n`` times larger than fits in memory.
    State ``(mean so far, count)``.

    >>> AccumGrad(4)
    AccumGrad(4)
    """

    n: int

    def __post_init__(self):
        if isinstance(self.n, bool) or not isinstance(self.n, Integral) or self.n < 1:
            raise FluxpyError(f"AccumGrad(n) accumulates n >= 1 gradients (an integer), got n = {self.n!r}")

    def init(self, x):
        return (_zeros(x), 1)

    def apply(self, state, x, dx):
        acc, counter = state
        if counter == 1:
            acc[...] = dx / self.n
        else:
            acc += dx / self.n
        if counter >= self.n:
            return (acc, 1), acc.copy()
        return (acc, counter + 1), None


__all__ = ["AccumGrad", "AdaBelief", "OAdam", "Rprop"]
