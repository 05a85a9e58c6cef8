"""What every forward-rule module shares: the registration decorators and tables, and the small tangent
helpers the rules are built from.

A forward rule is ``jvp_rule(args, targs) -> (y, ty)`` (``registry.forward_rule``), or
``jvp_rule(args, targs, kwargs, tkwargs)`` when it takes keywords (``keyword_forward_rule``). A tangent of
None is a zero: ``_add`` and ``_scale`` handle it first. An array's tangent is anything that broadcasts to
the array's shape (``_like``). Closures made from one code object (the pullbacks rules return) have forward
rules of their own in ``closure_rules``, which fluxpy/forward.py's ``jvp_call`` looks up first.
"""

import functools

import numpy as np

from ..backend import is_array, xp_of
from .registry import forward_rule, nograd

# ---------------------------------------------------------------------------------------------------------
# registration


def makes_container(rule):
    """Marks the forward rule of a callee that returns a new list or dict: called with no tangents, an empty
    result still gets an empty tangent container, which in-place changes can fill (fluxpy/forward.py)."""
    rule.makes_container = True
    return rule


def keyword_forward_rule(*primals):
    """As ``forward_rule``, for a ``jvp_rule(args, targs, kwargs, tkwargs) -> (y, ty)`` that takes keyword
    arguments (``sorted(xs, key=...)``, ``dict(a=x)``)."""

    def decorate(rule):
        rule.takes_keywords = True
        return forward_rule(*primals)(rule)

    return decorate


closure_rules = {}  # code object -> jvp(fn, tfn, args, targs, kwargs, tkwargs) of every closure made from it


def closure_forward_rule(*codes):
    """Decorator: the forward rule ``jvp(fn, tfn, args, targs, kwargs, tkwargs) -> (y, ty)`` of every
    function made from one of ``codes`` (fluxpy/forward.py's jvp_call looks here first)."""

    def decorate(rule):
        for code in codes:
            closure_rules[code] = rule
        return rule

    return decorate


plain_call_rules = {}  # callee -> its keyword forward rule, run even where no tangent moves (see below)


def runs_without_tangents(*primals):
    """Decorator: the keyword forward rule ``jvp(args, targs, kwargs, tkwargs) -> (y, ty)`` of callees whose
    plain call is wrong in JVP code even where no tangent moves, so fluxpy/forward.py's ``jvp_call`` runs it
    there too (it calls any other callee plainly then): ``warnings.warn``, whose warning would name
    fluxpy's frame, and ``init_into``, which does its work only through fluxpy's dispatch."""

    def decorate(rule):
        rule.takes_keywords = True
        for p in primals:
            plain_call_rules[p] = rule
        return forward_rule(*primals)(rule)

    return decorate


def inner_code(fn, name):
    """The code object of the function ``name`` defined in ``fn``'s body (a rule's pullback)."""
    return next(c for c in fn.__code__.co_consts if getattr(c, "co_name", None) == name)


# ---------------------------------------------------------------------------------------------------------
# tangents: None is the zero; an array's tangent broadcasts to its shape


def _arity(primal, args, kwargs, least, most, keywords=()):
    """Call ``primal`` for its own TypeError when the arguments do not fit the rule's signature."""
    if not least <= len(args) <= most or set(kwargs) - set(keywords):
        primal(*args, **kwargs)


def _add(a, b):
    if a is None:
        return b
    if b is None:
        return a
    return a + b


def _scale(t, k):
    return None if t is None else t * k


def _seq(x):
    return isinstance(x, (list, tuple))


def _plain(x):
    if _seq(x):
        return True
    if isinstance(x, (int, float, complex, np.generic)):
        t = type(x)
        if t is float or t is int or t is bool or t is complex or isinstance(x, np.generic):
            return True
        from .helpers import custom_arithmetic

        return not custom_arithmetic(x)  # a float subclass with its own __mul__: its dunders run
    if is_array(x):  # NumPy or CuPy (not CuPy's ufuncs)
        if type(x) is not np.ndarray:  # a masked array is refused: the rules would ignore its mask
            from .helpers import refuse_masked

            refuse_masked((x,))
        return True
    return False


def _items(t, x):
    """The tangent of sequence ``x`` as a sequence (None expands to Nones)."""
    return (None,) * len(x) if t is None else tuple(t)


def _like(t, x):
    """Tangent ``t`` with the shape of array ``x``, a read-only view (no copy).

    The convention: an array's tangent is anything that broadcasts to the array's shape. The tangent of
    ``c + s`` for an array ``c`` without a tangent and a moving number ``s`` is ``s``'s, a number; that of
    ``M + r`` for a matrix ``M`` and a moving row ``r`` is ``r``'s. Elementwise rules broadcast it as NumPy
    does; a rule that selects (``x[i]``), reshapes, transposes, reduces, contracts (``@``), iterates over or
    writes into its argument calls this first. Broadcasting in the arithmetic rules instead would cost every
    operation a shape test and materialize arrays an elementwise chain does not need."""
    if t is None or type(x) is float or not is_array(x) or getattr(t, "shape", None) == x.shape:
        return t
    return xp_of(x).broadcast_to(t, x.shape)


# ---------------------------------------------------------------------------------------------------------
# fluxpy/forward.py, reached lazily (it imports runtime, which imports the rules)


def _forward_error(what, why, fix=None):
    from ..forward import forward_error

    return forward_error(what, why, fix) if fix else forward_error(what, why)


@nograd
@functools.cache
def _forward_mode():
    """fluxpy/forward.py, imported on first use (its import reaches this module through runtime)."""
    from .. import forward

    return forward
