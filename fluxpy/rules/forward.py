"""Forward rules (``jvp_rule(args, targs) -> (y, ty)``, or ``(args, targs, kwargs, tkwargs)`` when they take
keywords) written beside the reverse rules: the hottest operations, the linear maps pullbacks apply, and the
Python builtins whose results a transposed reverse rule cannot carry (iterators, dicts, partials, lists
changed in place). Every other callee gets its tangent by transposing its reverse rule (see
fluxpy/forward.py). Elementwise derivatives are one table row each.

Importing this module registers them all. They live in one module per domain, in the order a value meets
them:

    forward_core.py        the registration decorators and tables (``closure_rules``), tangent helpers
    forward_arithmetic.py  operators, ufuncs, the elementwise table, linear maps and array methods
    forward_iteration.py   iter, next, zip, enumerate, sorted, sum, map, ...: iterators over tangents
    forward_containers.py  tuples, lists, dicts and partials built, read (``x[i]``) and updated functionally
    forward_in_place.py    list and dict methods that change them in place, and their tangents alike
    forward_objects.py     attributes, closures and Tangents, and generated code's cotangent plumbing

forward_over_reverse.py serves ``fx.hvp``: the forward rules of the hot reverse rules themselves, and of the
pullbacks they make (keyed by code object: ``closure_rules``). This module re-exports what it and
fluxpy/forward.py use.
"""

from . import (
    forward_arithmetic,  # noqa: F401
    forward_containers,  # noqa: F401
    forward_core,  # noqa: F401
    forward_in_place,  # noqa: F401
    forward_iteration,  # noqa: F401
    forward_objects,  # noqa: F401
)
from .forward_arithmetic import _NUMERIC, ELEMENTWISE, LINEAR_METHODS, _integer_dtype, linear_method_jvp
from .forward_core import (
    _add,
    _forward_mode,
    _like,
    _scale,
    closure_forward_rule,
    closure_rules,
    inner_code,
    keyword_forward_rule,
    makes_container,
)

__all__ = [
    "ELEMENTWISE",
    "LINEAR_METHODS",
    "_NUMERIC",
    "_add",
    "_forward_mode",
    "_integer_dtype",
    "_like",
    "_scale",
    "closure_forward_rule",
    "closure_rules",
    "inner_code",
    "keyword_forward_rule",
    "linear_method_jvp",
    "makes_container",
]
