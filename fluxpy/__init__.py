"""fluxpy: source-transformation automatic differentiation for Python and NumPy.

The public surface of ``shared/API.md``: explicit re-exports, no logic.
"""

from . import (
    optimise,
    rules,  # noqa: F401  (registers every rule)
    tracker,
)
from .derivatives import hessian, hvp, jacobian, jvp
from .errors import FluxpyError, NoAdjointError, NonScalarError, TransformError
from .implicit import Grads, Params, params
from .interface import (
    adjoint_source,
    checkpointed,
    differentiable,
    dropgrad,
    gradient,
    pullback,
    withgradient,
)
from .optimise import update
from .rules.registry import adjoint, nograd
from .tangents import Tangent

__all__ = [
    "FluxpyError",
    "Grads",
    "Params",
    "NoAdjointError",
    "NonScalarError",
    "Tangent",
    "TransformError",
    "adjoint",
    "adjoint_source",
    "checkpointed",
    "differentiable",
    "dropgrad",
    "gradient",
    "hessian",
    "hvp",
    "jacobian",
    "jvp",
    "nograd",
    "params",
    "optimise",
    "pullback",
    "tracker",
    "update",
    "withgradient",
]

__version__ = "0.1.0"
