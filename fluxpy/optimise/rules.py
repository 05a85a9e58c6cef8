"""Optimisation rules, as Optimisers.jl's: a small dataclass of hyperparameters with ``init(x)`` (the state
for one array) and ``apply(state, x, dx) -> (state, step)``; the update is ``x -= step``.

State is kept outside the rule, so one rule serves every array of a model. Arithmetic stays in the
parameter's dtype (a float32 array gets float32 state and steps) and uses the array's own module (NumPy or
CuPy). State arrays are updated in place, as Optimisers.jl's ``apply!``.

>>> import numpy as np
>>> rule = Momentum(0.1, 0.9)
>>> x, dx = np.array([1.0, 2.0]), np.array([1.0, -1.0])
>>> state = rule.init(x)
>>> state, step = rule.apply(state, x, dx)
>>> step
array([ 0.1, -0.1])
>>> state, step = rule.apply(state, x, dx)
>>> step
array([ 0.19, -0.19])
"""

import dataclasses
import math
from dataclasses import dataclass, field

import numpy as np

from ..backend import xp_of
from ..errors import FluxpyError


def _real(x):
    """The real floating type of ``x``'s dtype (float32 for float32 and complex64)."""
    try:
        return np.finfo(x.dtype).dtype.type
    except (ValueError, TypeError, AttributeError):
        return np.float64


def _scalars(x, *values):
    """``values`` as scalars of ``x``'s real dtype, so that float32 stays float32."""
    t = _real(x)
    return tuple(t(v) for v in values)


def _eps(x, epsilon):
    """``epsilon`` in ``x``'s real dtype, kept above zero (Optimisers.jl's ``_eps``): float16 rounds the
    default 1e-8 to 0, and a zero gradient would then step by 0 / 0."""
    t = _real(x)
    e = t(epsilon)
    return t(max(float(epsilon), 1e-7)) if e == 0 and epsilon > 0 else e


def _zeros(x):
    return xp_of(x).zeros_like(x)


def _filled(x, value):
    """An array like ``x`` holding ``value`` everywhere (Optimisers.jl's ``onevalue``), 0-d arrays too."""
    out = _zeros(x)
    out += value
    return out


def _abs2(dx):
    return (dx * dx.conj()).real if dx.dtype.kind == "c" else dx * dx


class Rule:
    """Base class of the optimisation rules: a repr with the hyperparameters in order, as Julia shows them.
    ``apply`` may return the step None: the parameter is left alone this time (``AccumGrad``)."""

    def init(self, x):
        """The state for array ``x`` (None for a stateless rule)."""
        return None

    def apply(self, state, x, dx):
        """``(new state, step)``; the update is ``x -= step``. Every rule defines it."""
        raise FluxpyError(
            f"{type(self).__name__} subclasses fx.optimise.Rule but defines no "
            "apply(state, x, dx) -> (state, step)"
        )

    def __repr__(self):
        parts = []
        for f in dataclasses.fields(self):
            if not f.repr:
                continue
            value = getattr(self, f.name)
            parts.append(f"{f.name}={value!r}" if f.kw_only else repr(value))
        return f"{type(self).__name__}({', '.join(parts)})"


@dataclass(repr=False)
class Descent(Rule):
    """Plain gradient descent: ``x -= eta * dx``.

    >>> import numpy as np
    >>> Descent(0.5).apply(None, np.ones(2), np.array([1.0, 2.0]))
    (None, array([0.5, 1. ]))
    """

    eta: float = 0.1

    def apply(self, state, x, dx):
        (eta,) = _scalars(x, self.eta)
        return state, eta * dx


@dataclass(repr=False)
class Momentum(Rule):
    """Gradient descent with momentum: ``v = rho * v + eta * dx``, step ``v``."""

    eta: float = 0.01
    rho: float = 0.9

    def init(self, x):
        return _zeros(x)

    def apply(self, state, x, dx):
        eta, rho = _scalars(x, self.eta, self.rho)
        state *= rho
        state += eta * dx
        return state, state.copy()


@dataclass(repr=False)
class Nesterov(Rule):
    """Nesterov momentum: step ``-rho**2 * v + (1 + rho) * eta * dx``, then ``v = rho * v - eta * dx``."""

    eta: float = 0.001
    rho: float = 0.9

    def init(self, x):
        return _zeros(x)

    def apply(self, state, x, dx):
        eta, rho = _scalars(x, self.eta, self.rho)
        step = -(rho * rho) * state + (1 + rho) * eta * dx
        state *= rho
        state -= eta * dx
        return state, step


@dataclass(repr=False)
class RMSProp(Rule):
    """RMSProp: ``quad = rho * quad + (1 - rho) * dx**2``, step ``eta * dx / (sqrt(quad) + epsilon)``;
    ``centred=True`` subtracts the square of the running mean of ``dx`` under the root."""

    eta: float = 0.001
    rho: float = 0.9
    epsilon: float = 1e-8
    centred: bool = field(default=False, kw_only=True)

    def init(self, x):
        return (_zeros(x), _zeros(x) if self.centred else None)

    def apply(self, state, x, dx):
        eta, rho, eps = _scalars(x, self.eta, self.rho, _eps(x, self.epsilon))
        quad, lin = state
        xp = xp_of(x)
        quad *= rho
        quad += (1 - rho) * _abs2(dx)
        if self.centred:
            if lin is None:
                lin = _zeros(x)
            lin *= rho
            lin += (1 - rho) * dx
            denom = xp.sqrt(quad - _abs2(lin)) + eps
        else:
            denom = xp.sqrt(quad) + eps
        return (quad, lin), dx * eta / denom


@dataclass(repr=False)
class Adam(Rule):
    """Adam: state ``(m, v, beta_t)``; step ``eta * m̂ / (sqrt(v̂) + epsilon)`` with bias correction."""

    eta: float = 0.001
    beta: tuple = (0.9, 0.999)
    epsilon: float = 1e-8

    def init(self, x):
        return (_zeros(x), _zeros(x), tuple(self.beta))

    def _moments(self, state, x, dx):
        b1, b2 = _scalars(x, *self.beta)
        mt, vt, bt = state
        mt *= b1
        mt += (1 - b1) * dx
        vt *= b2
        vt += (1 - b2) * _abs2(dx)
        return mt, vt, bt, (bt[0] * self.beta[0], bt[1] * self.beta[1])

    def apply(self, state, x, dx):
        eta, eps = _scalars(x, self.eta, _eps(x, self.epsilon))
        mt, vt, bt, bt_next = self._moments(state, x, dx)
        c1, c2 = _scalars(x, 1 - bt[0], 1 - bt[1])
        step = mt / c1 / (xp_of(x).sqrt(vt / c2) + eps) * eta
        return (mt, vt, bt_next), step


@dataclass(repr=False)
class AdamW(Rule):
    """Adam with decoupled weight decay (Optimisers.jl's ``AdamW``): step ``eta * (adam + lambda_ * x)``,
    or ``eta * adam + lambda_ * x`` with ``couple=False``."""

    eta: float = 0.001
    beta: tuple = (0.9, 0.999)
    lambda_: float = 0.0
    epsilon: float = 1e-8
    couple: bool = field(default=True, kw_only=True)

    init = Adam.init
    _moments = Adam._moments

    def apply(self, state, x, dx):
        eta, eps, lam = _scalars(x, self.eta, _eps(x, self.epsilon), self.lambda_)
        mt, vt, bt, bt_next = self._moments(state, x, dx)
        c1, c2 = _scalars(x, 1 - bt[0], 1 - bt[1])
        adam = mt / c1 / (xp_of(x).sqrt(vt / c2) + eps)
        step = eta * (adam + lam * x) if self.couple else eta * adam + lam * x
        return (mt, vt, bt_next), step


@dataclass(repr=False)
class RAdam(Rule):
    """Rectified Adam: state ``(m, v, beta_t, t)``; Adam's step times the rectification ``r`` once the
    variance estimate is tractable (``rho > 4``), plain bias-corrected momentum before."""

    eta: float = 0.001
    beta: tuple = (0.9, 0.999)
    epsilon: float = 1e-8

    def init(self, x):
        return (_zeros(x), _zeros(x), tuple(self.beta), 1)

    def apply(self, state, x, dx):
        eta, eps, b1, b2 = _scalars(x, self.eta, _eps(x, self.epsilon), *self.beta)
        mt, vt, bt, t = state
        rho_inf = 2 / (1 - self.beta[1]) - 1
        mt *= b1
        mt += (1 - b1) * dx
        vt *= b2
        vt += (1 - b2) * _abs2(dx)
        rho = rho_inf - 2 * t * bt[1] / (1 - bt[1])
        (c1,) = _scalars(x, 1 - bt[0])
        if rho > 4:
            r, c2 = _scalars(
                x,
                ((rho - 4) * (rho - 2) * rho_inf / ((rho_inf - 4) * (rho_inf - 2) * rho)) ** 0.5,
                1 - bt[1],
            )
            step = mt / c1 * r / (xp_of(x).sqrt(vt / c2) + eps) * eta
        else:
            step = mt / c1 * eta
        return (mt, vt, (bt[0] * self.beta[0], bt[1] * self.beta[1]), t + 1), step


@dataclass(repr=False)
class AdaMax(Rule):
    """AdaMax (Adam with the infinity norm): ``u = max(beta2 * u, |dx|)``, step
    ``eta / (1 - beta1^t) * m / (u + epsilon)``."""

    eta: float = 0.001
    beta: tuple = (0.9, 0.999)
    epsilon: float = 1e-8

    def init(self, x):
        return (_zeros(x), _zeros(x), tuple(self.beta))

    def apply(self, state, x, dx):
        eta, eps, b1, b2 = _scalars(x, self.eta, _eps(x, self.epsilon), *self.beta)
        xp = xp_of(x)
        mt, ut, bt = state
        mt *= b1
        mt += (1 - b1) * dx
        xp.maximum(b2 * ut, xp.abs(dx), out=ut)
        (c1,) = _scalars(x, 1 - bt[0])
        step = (eta / c1) * mt / (ut + eps)
        return (mt, ut, (bt[0] * self.beta[0], bt[1] * self.beta[1])), step


@dataclass(repr=False)
class NAdam(Rule):
    """Nesterov-accelerated Adam: state ``(m, v, beta_t)``."""

    eta: float = 0.001
    beta: tuple = (0.9, 0.999)
    epsilon: float = 1e-8

    def init(self, x):
        return (_zeros(x), _zeros(x), tuple(self.beta))

    def apply(self, state, x, dx):
        eta, eps, b1, b2 = _scalars(x, self.eta, _eps(x, self.epsilon), *self.beta)
        mt, vt, bt = state
        mt *= b1
        mt += (1 - b1) * dx
        vt *= b2
        vt += (1 - b2) * _abs2(dx)
        c1m, c1, c2 = _scalars(x, 1 - self.beta[0] * bt[0], 1 - bt[0], 1 - bt[1])
        step = (b1 * mt / c1m + (1 - b1) * dx / c1) / (xp_of(x).sqrt(vt * b2 / c2) + eps) * eta
        return (mt, vt, (bt[0] * self.beta[0], bt[1] * self.beta[1])), step


@dataclass(repr=False)
class AdaGrad(Rule):
    """AdaGrad: ``acc += dx**2`` (``acc`` starts at ``epsilon``), step ``eta * dx / (sqrt(acc) + eps)``."""

    eta: float = 0.1
    epsilon: float = 1e-8

    def init(self, x):
        acc = _zeros(x).real if x.dtype.kind == "c" else _zeros(x)
        acc += _eps(x, self.epsilon)
        return acc

    def apply(self, state, x, dx):
        eta, eps = _scalars(x, self.eta, _eps(x, self.epsilon))
        state += _abs2(dx)
        return state, dx * eta / (xp_of(x).sqrt(state) + eps)


@dataclass(repr=False)
class AdaDelta(Rule):
    """AdaDelta: state ``(acc, delta_acc)``; step ``dx * sqrt(delta_acc + eps) / sqrt(acc + eps)``."""

    rho: float = 0.9
    epsilon: float = 1e-8

    def init(self, x):
        return (_zeros(x), _zeros(x))

    def apply(self, state, x, dx):
        rho, eps = _scalars(x, self.rho, _eps(x, self.epsilon))
        xp = xp_of(x)
        acc, dacc = state
        acc *= rho
        acc += (1 - rho) * _abs2(dx)
        step = dx * xp.sqrt(dacc + eps) / xp.sqrt(acc + eps)
        dacc *= rho
        dacc += (1 - rho) * _abs2(step)
        return (acc, dacc), step


@dataclass(repr=False)
class AMSGrad(Rule):
    """AMSGrad: Adam without bias correction, with the running maximum of ``v``; state ``(m, v, v̂)``."""

    eta: float = 0.001
    beta: tuple = (0.9, 0.999)
    epsilon: float = 1e-8

    def init(self, x):
        # built in place: ``zeros + e`` would be a NumPy scalar for a 0-d parameter, not an array
        return tuple(_filled(x, _eps(x, self.epsilon)) for _ in range(3))

    def apply(self, state, x, dx):
        eta, eps, b1, b2 = _scalars(x, self.eta, _eps(x, self.epsilon), *self.beta)
        xp = xp_of(x)
        mt, vt, vhat = state
        mt *= b1
        mt += (1 - b1) * dx
        vt *= b2
        vt += (1 - b2) * _abs2(dx)
        xp.maximum(vhat, vt, out=vhat)
        return (mt, vt, vhat), eta * mt / (xp.sqrt(vhat) + eps)


@dataclass(repr=False)
class Lion(Rule):
    """Lion (evolved sign momentum, Chen et al. 2023, Algorithm 1): step
    ``eta * sign(beta1 * m + (1 - beta1) * dx)``, then ``m = beta2 * m + (1 - beta2) * dx``. Defaults as
    Optimisers.jl's ``Lion(η = 0.001, β = (0.9, 0.999))`` (the paper suggests ``beta = (0.9, 0.99)``)."""

    eta: float = 0.001
    beta: tuple = (0.9, 0.999)

    def init(self, x):
        return _zeros(x)

    def apply(self, state, x, dx):
        eta, b1, b2 = _scalars(x, self.eta, *self.beta)
        step = eta * xp_of(x).sign(b1 * state + (1 - b1) * dx)
        state *= b2
        state += (1 - b2) * dx
        return state, step


@dataclass(repr=False)
class ClipGrad(Rule):
    """Clip every gradient entry to ``[-delta, delta]``.

    >>> import numpy as np
    >>> ClipGrad(1.0).apply(None, np.zeros(3), np.array([-3.0, 0.5, 2.0]))[1]
    array([-1. ,  0.5,  1. ])
    """

    delta: float = 10.0

    def apply(self, state, x, dx):
        (d,) = _scalars(x, self.delta)
        return state, xp_of(x).clip(dx, -d, d)


@dataclass(repr=False)
class ClipNorm(Rule):
    """Scale the gradient down so that its ``p``-norm is at most ``omega``; a non-finite norm raises a
    ``FluxpyError`` unless ``throw=False``.

    >>> import numpy as np
    >>> ClipNorm(1.0).apply(None, np.zeros(2), np.array([3.0, 4.0]))[1]
    array([0.6, 0.8])
    """

    omega: float = 10.0
    p: float = 2
    throw: bool = field(default=True, kw_only=True)

    def apply(self, state, x, dx):
        nrm = _pnorm(dx, self.p)
        if self.throw and not np.isfinite(nrm):
            raise FluxpyError(f"ClipNorm: the gradient's {self.p}-norm is {nrm}, not finite")
        scale = min(self.omega / nrm, 1.0) if nrm > 0 else 1.0
        (scale,) = _scalars(x, scale)
        return state, dx * scale


def _pnorm(dx, p):
    """The ``p``-norm of ``dx`` without overflow (Julia's ``norm`` rescales): float16 and float32 are summed
    in float64, where their squares cannot overflow (float16's ``300**2`` can); a float64 norm that
    overflows all the same is taken again of ``dx / max|dx|`` and scaled back."""
    xp = xp_of(dx)
    flat = dx.ravel()
    if flat.dtype.kind == "f" and flat.dtype.itemsize < 8:
        flat = flat.astype(np.float64)
    elif flat.dtype.kind == "c" and flat.dtype.itemsize < 16:
        flat = flat.astype(np.complex128)
    with np.errstate(over="ignore"):  # an overflow is caught just below
        nrm = float(xp.linalg.norm(flat, ord=p))
    if math.isinf(nrm) and math.isfinite(p) and flat.size:
        top = float(xp.max(xp.abs(flat)))
        if math.isfinite(top):
            nrm = top * float(xp.linalg.norm(flat / top, ord=p))
    return nrm


@dataclass(repr=False)
class WeightDecay(Rule):
    """L2 weight decay: step ``dx + lambda_ * x`` (put it before the main rule in an ``OptimiserChain``).

    >>> import numpy as np
    >>> WeightDecay(0.5).apply(None, np.array([2.0]), np.array([1.0]))[1]
    array([2.])
    """

    lambda_: float = 5e-4

    def apply(self, state, x, dx):
        (lam,) = _scalars(x, self.lambda_)
        return state, dx + lam * x


@dataclass(repr=False)
class SignDecay(Rule):
    """L1 weight decay: step ``dx + lambda_ * sign(x)``."""

    lambda_: float = 1e-3

    def apply(self, state, x, dx):
        (lam,) = _scalars(x, self.lambda_)
        return state, dx + lam * xp_of(x).sign(x)


class OptimiserChain(Rule):
    """Apply several rules in turn, each to the step of the one before; state is a tuple of theirs.

    >>> OptimiserChain(ClipGrad(1.0), Descent(0.1))
    OptimiserChain(ClipGrad(1.0), Descent(0.1))
    """

    def __init__(self, *opts):
        for o in opts:
            if not is_rule(o):
                raise FluxpyError(f"OptimiserChain takes optimisation rules, not {o!r}")
        self.opts = tuple(opts)

    def init(self, x):
        return tuple(o.init(x) for o in self.opts)

    def apply(self, state, x, dx):
        new = []
        for o, s in zip(self.opts, state, strict=True):
            if dx is not None:  # None: no step this time (AccumGrad); the later rules keep their state
                s, dx = o.apply(s, x, dx)
            new.append(s)
        return tuple(new), dx

    def __eq__(self, other):
        return isinstance(other, OptimiserChain) and self.opts == other.opts

    __hash__ = None

    def __repr__(self):
        return f"OptimiserChain({', '.join(repr(o) for o in self.opts)})"


def is_rule(x):
    """True for an optimisation rule (anything with ``init`` and ``apply`` that is not a type)."""
    return (
        not isinstance(x, type) and callable(getattr(x, "init", None)) and callable(getattr(x, "apply", None))
    )


def adjusted(rule, **changes):
    """A copy of ``rule`` with the hyperparameters in ``changes`` replaced where it has them (inside an
    ``OptimiserChain``, in each rule that has them). ``lambda`` is accepted for ``lambda_``."""
    if "lambda" in changes:
        changes["lambda_"] = changes.pop("lambda")
    if isinstance(rule, OptimiserChain):
        return OptimiserChain(*(adjusted(o, **changes) for o in rule.opts))
    if dataclasses.is_dataclass(rule):
        names = {f.name for f in dataclasses.fields(rule)}
        mine = {k: v for k, v in changes.items() if k in names}
        return dataclasses.replace(rule, **mine) if mine else rule
    return rule


__all__ = [
    "AMSGrad",
    "AdaDelta",
    "AdaGrad",
    "AdaMax",
    "Adam",
    "AdamW",
    "ClipGrad",
    "ClipNorm",
    "Descent",
    "Lion",
    "Momentum",
    "NAdam",
    "Nesterov",
    "OptimiserChain",
    "RAdam",
    "RMSProp",
    "Rule",
    "SignDecay",
    "WeightDecay",
]
