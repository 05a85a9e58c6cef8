"""fluxpy: source-transformation automatic differentiation for Python and NumPy.

The public surface of ``shared/API.md``: explicit re-exports, no logic.
"""

from . import (
    optimise,
    rules,  # noqa: F401  (registers every rule)
    tracker,
)
from .derivatives import hessian, hvp, jacobian, jvp
from .devices import cpu, f32, f64, gpu
from .errors import FluxpyError, NoAdjointError, NonScalarError, TransformError
from .functors import children, fmap, functor
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
from .layers import (
    Chain,
    Dense,
    compose,
    create_bias,
    elu,
    gelu,
    glorot_normal,
    glorot_uniform,
    identity,
    kaiming_normal,
    kaiming_uniform,
    leakyrelu,
    logsoftmax,
    ones32,
    rand32,
    randn32,
    relu,
    sigmoid,
    softmax,
    softplus,
    swish,
    tanh,
    zeros32,
    σ,
)
from .optimise import update
from .rules.registry import adjoint, nograd
from .tangents import Tangent

__all__ = [
    "Chain",
    "Dense",
    "children",
    "compose",
    "cpu",
    "create_bias",
    "elu",
    "f32",
    "f64",
    "fmap",
    "functor",
    "gelu",
    "glorot_normal",
    "glorot_uniform",
    "gpu",
    "identity",
    "kaiming_normal",
    "kaiming_uniform",
    "leakyrelu",
    "logsoftmax",
    "ones32",
    "rand32",
    "randn32",
    "relu",
    "sigmoid",
    "softmax",
    "softplus",
    "swish",
    "tanh",
    "zeros32",
    "σ",
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
