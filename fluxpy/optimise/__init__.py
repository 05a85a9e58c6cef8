"""Optimisers, as Optimisers.jl: each rule is a small dataclass of hyperparameters with ``init`` and
``apply``; state is kept outside the rule, in a tree from :func:`setup` (explicit) or on the rule
(implicit).

>>> import numpy as np, fluxpy as fx
>>> W = np.ones(2)
>>> gs = fx.gradient(lambda: np.sum(W * 3.0), fx.params(W))
>>> fx.update(fx.optimise.Descent(0.1), fx.params(W), gs)
>>> W
array([0.7, 0.7])
"""

from .more_rules import AccumGrad, AdaBelief, OAdam, Rprop
from .rules import (
    AdaDelta,
    AdaGrad,
    Adam,
    AdaMax,
    AdamW,
    AMSGrad,
    ClipGrad,
    ClipNorm,
    Descent,
    Lion,
    Momentum,
    NAdam,
    Nesterov,
    OptimiserChain,
    RAdam,
    RMSProp,
    Rule,
    SignDecay,
    WeightDecay,
)
from .tree import Leaf, Tied, Tree, adjust, freeze, setup, thaw, update

__all__ = [
    "AMSGrad",
    "AccumGrad",
    "AdaBelief",
    "AdaDelta",
    "AdaGrad",
    "AdaMax",
    "Adam",
    "AdamW",
    "ClipGrad",
    "ClipNorm",
    "Descent",
    "Leaf",
    "Lion",
    "Momentum",
    "NAdam",
    "Nesterov",
    "OAdam",
    "OptimiserChain",
    "RAdam",
    "RMSProp",
    "Rprop",
    "Rule",
    "SignDecay",
    "Tied",
    "Tree",
    "WeightDecay",
    "adjust",
    "freeze",
    "setup",
    "thaw",
    "update",
]
