"""What the entry points (interface.py) do with ``f``'s output and its gradients: the seed cotangent of a real
scalar loss (``sensitivity``, ``seed_first``), each gradient projected onto its argument (``project_all``),
and ``withgradient``'s result (``WithGradient``).

>>> from fluxpy.results import sensitivity, seed_first
>>> sensitivity(2.5), seed_first((2.5, "aux"), None)
(1.0, (1.0, None))
"""

from collections import namedtuple

import numpy as np

from .backend import is_array, xp_of
from .call_errors import non_scalar
from .rules import registry
from .rules.registry import forward_rule
from .tangents import project

WithGradient = namedtuple("WithGradient", ["val", "grad"])


def project_all(grads, args):
    """Project each gradient onto its argument (the API boundary)."""
    n = len(args)
    if len(grads) != n:
        raise ValueError(f"{len(grads)} gradients for {n} arguments")
    if n == 1:
        return (project(grads[0], args[0]),)
    return tuple(map(project, grads, args))  # lengths checked above


@registry.adjoint(project_all)
def project_all_rule(grads, args):
    def project_all_pullback(dd):
        return (dd, None)

    return project_all(grads, args), project_all_pullback


@forward_rule(project_all)
def project_all_jvp(args, targs):
    """Projection is linear in the gradients (the arguments give only shapes and dtypes)."""
    grads, xs = args
    tgrads = targs[0]
    return project_all(grads, xs), None if tgrads is None else project_all(tuple(tgrads), xs)


def seed_first(y, f):
    """The seed for a tuple output whose first element is the loss (auxiliary outputs get none)."""
    if not y:
        non_scalar(y, f)
    return (sensitivity(y[0], f),) + (None,) * (len(y) - 1)


_ONES = {np.float64: np.float64(1.0), np.float32: np.float32(1.0)}  # the seeds of NumPy scalar losses


def sensitivity(y, f=None):
    """The seed cotangent ``1`` for a real scalar output, else a NonScalarError."""
    if type(y) is float or type(y) is int:
        return 1.0
    one = _ONES.get(type(y))
    if one is not None:
        return one
    if isinstance(y, np.floating):
        return y.dtype.type(1)
    if isinstance(y, np.integer):
        return 1.0  # an integer-valued loss still has real derivatives
    if is_array(y) and y.ndim == 0 and y.dtype.kind in "fiu":
        xp = xp_of(y)
        return xp.ones((), dtype=y.dtype if y.dtype.kind == "f" else np.float64)
    if isinstance(y, float):
        return 1.0  # a float subclass: a real scalar (its arithmetic gives plain floats)
    non_scalar(y, f)


registry.nograd(seed_first, sensitivity)
