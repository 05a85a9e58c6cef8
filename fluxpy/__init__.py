"""fluxpy: source-transformation automatic differentiation for Python and NumPy.

The public surface of ``shared/API.md``: explicit re-exports, no logic.
"""

from . import rules  # noqa: F401  (registers every rule)
from .derivatives import hessian, hvp, jacobian
from .errors import FluxpyError, NoAdjointError, NonScalarError, TransformError
from .interface import (
    adjoint_source,
    checkpointed,
    differentiable,
    dropgrad,
    gradient,
    pullback,
    withgradient,
)
from .rules.registry import adjoint, nograd
from .tangents import Tangent

__all__ = [
    "FluxpyError",
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
    "nograd",
    "pullback",
    "withgradient",
]

__version__ = "0.1.0"
