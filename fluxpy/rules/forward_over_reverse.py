"""Forward over reverse (``fx.hvp``): the forward rules of the hot reverse rules, and of the pullbacks they
make.

fx.hvp runs generated reverse code in forward mode: every ``y, pb = rule(a, b)`` and every ``pb(dy)`` there
is a call forward mode follows. Without a forward rule, the rule's own code and then its pullback's code run
through the JVP transform (right, and several times slower). A rule's forward rule here returns the
pullback's tangent as the transform would: a Tangent of the values the pullback captured, by name (None when
the pullback reads only their shapes: it does not change with them). The pullback's own forward rule is keyed
by its code object (a pullback is a new closure per call) and reads those tangents.
"""

import math

import numpy as np

from ..backend import is_array
from ..runtime import _is_user_rule, _make_rule_forward, check_rule_cotangents
from ..tangents import Tangent
from . import augmented
from . import math as math_rules
from . import numpy_elementwise as elementwise
from . import numpy_linalg as linalg
from . import numpy_reductions as reductions
from .forward import (
    _NUMERIC,
    _add,
    _forward_mode,
    _integer_dtype,
    _like,
    _scale,
    closure_forward_rule,
    inner_code,
)
from .helpers import conj, unbroadcast
from .python_cotangents import closure_tangent, freevars
from .python_in_place import AUGMENTED_RULES
from .python_operators import (
    add_rule,
    add_scalar_pullback,
    divide_rule,
    multiply_rule,
    negative_rule,
    positive_rule,
    subtract_rule,
    subtract_scalar_pullback,
)
from .python_packing import unpack_rule
from .python_power import power_by_constant_rule
from .registry import forward_rule

# -- runtime/dispatch.py's adapter around a rule (``call(f, *args)`` of a function with a rule) --------------


@closure_forward_rule(inner_code(_make_rule_forward, "rule_forward"))
def rule_forward_jvp(fwd, tfwd, args, targs, kwargs, tkwargs):
    """``rule_forward(f, *args)``: the rule's own forward rule, and its pullback behind one that puts the
    callee's (absent) cotangent first."""
    if kwargs:
        return _fallback(fwd, tfwd, args, targs, kwargs, tkwargs)
    (rule,) = freevars(fwd, ("rule",))
    (y, back), t = _forward_mode().jvp_call(rule, None, args[1:], targs[1:], {}, {})
    pb = adapter_pullback(back, len(args) - 1, rule if _is_user_rule(rule) else None)
    if t is None:
        return (y, pb), None
    return (y, pb), (t[0], closure_tangent(pb, ("back", "n"), (t[1], None)))


def adapter_pullback(back, n, checked=None):
    """The pullback ``rule_forward`` (runtime/dispatch.py) makes around a rule's; what a user's rule
    ``checked`` returns is checked as runtime.checked_rule does."""

    def rule_pullback(dy):
        g = back(dy)
        if checked is not None:
            check_rule_cotangents(checked, g, n)
        return (None,) + tuple(g)[:n]

    return rule_pullback


@closure_forward_rule(inner_code(adapter_pullback, "rule_pullback"))
def adapter_pullback_jvp(pb, tpb, args, targs, kwargs, tkwargs):
    (back, n), (tback, _) = _captured(pb, tpb, ("back", "n"))
    (checked,) = freevars(pb, ("checked",))
    g, tg = _forward_mode().jvp_call(back, tback, args, targs, kwargs, tkwargs)
    if checked is not None:
        check_rule_cotangents(checked, g, n)
    return (None,) + tuple(g)[:n], None if tg is None else (None,) + tuple(tg)[:n]


def forward_rule_of_rule(rule):
    """Decorator: ``jvp(args, targs, kwargs) -> ((y, pullback), (ty, tangent of pullback))`` is the forward
    rule of the reverse rule ``rule`` itself; it returns None for what it does not cover (user classes,
    lists, keywords it does not know, complex numbers): then ``rule``'s own code runs in forward mode."""

    def decorate(jvp):
        def rule_jvp(args, targs, kwargs, tkwargs):
            out = (
                None if tkwargs and any(v is not None for v in tkwargs.values()) else jvp(args, targs, kwargs)
            )
            if out is None:
                return _forward_mode()._python_jvp(rule, None, args, targs, kwargs, tkwargs)
            return out

        rule_jvp.takes_keywords = True
        rule_jvp.__name__ = f"{rule.__name__}_jvp"
        forward_rule(rule)(rule_jvp)
        return jvp

    return decorate


def _captured(fn, tfn, names):
    """``(values, tangents)`` of the variables ``names`` captured by closure ``fn`` whose tangent is
    ``tfn`` (a Tangent of them, or None)."""
    tfn = _forward_mode().settled(tfn)
    values = freevars(fn, names)
    if type(tfn) is not Tangent:
        return values, (None,) * len(names)
    return values, tuple(tfn.get(name) for name in names)


def _one_cotangent(args, targs, kwargs):
    """``(dy, tdy)`` of a pullback's call, tdy shaped like dy; None for any other call."""
    if kwargs or len(args) != 1:
        return None
    return args[0], _like(targs[0], args[0])


def _fallback(fn, tfn, args, targs, kwargs, tkwargs):
    """``fn``'s own code in forward mode (what a closure's forward rule does not cover)."""
    return _forward_mode()._python_jvp(fn, tfn, args, targs, kwargs, tkwargs)


def _real(x):
    """Python floats, float arrays and NumPy float scalars: what the rules below cover."""
    t = type(x)
    return t is float or ((t is np.ndarray or isinstance(x, np.floating)) and x.dtype.kind == "f")


def _mul(t, k):
    """``t * k`` for a tangent ``t`` (None is zero)."""
    return None if t is None else t * k


# -- pullbacks that are linear in the cotangent and read only shapes: the tangent is the same map ---------


def linear_pullback_jvp(pb, tpb, args, targs, kwargs, tkwargs):
    """A pullback that reads only the shapes of what it captured: ``pb`` is linear, its tangent is zero."""
    pair = _one_cotangent(args, targs, kwargs)
    if pair is None:
        return _fallback(pb, tpb, args, targs, kwargs, tkwargs)
    dy, tdy = pair
    return pb(dy), None if tdy is None else pb(tdy)


closure_forward_rule(
    *(inner_code(r, name) for r, name in [(add_rule, "add_pullback"), (subtract_rule, "subtract_pullback")]),
    add_scalar_pullback.__code__,
    subtract_scalar_pullback.__code__,
    inner_code(negative_rule, "negative_pullback"),
    inner_code(positive_rule, "positive_pullback"),
    inner_code(unpack_rule, "unpack_pullback"),
    inner_code(reductions.sum_rule, "sum_all_pullback"),
    inner_code(reductions._summed, "sum_pullback"),
    inner_code(reductions.mean_rule, "mean_pullback"),
)(linear_pullback_jvp)


def _numeric_operands(args):
    """Two numbers or NumPy arrays (the rules' operands: no lists, user classes, keywords)."""
    return len(args) == 2 and type(args[0]) in _NUMERIC and type(args[1]) in _NUMERIC


@forward_rule_of_rule(add_rule)
def add_rule_jvp(args, targs, kwargs):
    if kwargs or not _numeric_operands(args):
        return None
    y, pb = add_rule(*args)
    return (y, pb), (_add(targs[0], targs[1]), None)


@forward_rule_of_rule(subtract_rule)
def subtract_rule_jvp(args, targs, kwargs):
    if kwargs or not _numeric_operands(args):
        return None
    y, pb = subtract_rule(*args)
    return (y, pb), (_add(targs[0], _scale(targs[1], -1)), None)


@forward_rule_of_rule(negative_rule)
def negative_rule_jvp(args, targs, kwargs):
    if kwargs or len(args) != 1 or type(args[0]) not in _NUMERIC:
        return None
    y, pb = negative_rule(*args)
    return (y, pb), (_scale(targs[0], -1), None)


@forward_rule_of_rule(unpack_rule)
def unpack_rule_jvp(args, targs, kwargs):
    if kwargs or len(args) != 2:
        return None
    x, n = args
    if type(x) is not tuple or len(x) != n or not (targs[0] is None or type(targs[0]) is tuple):
        return None
    y, pb = unpack_rule(x, n)
    return (y, pb), (targs[0], None)


def _reduction_rule_jvp(rule, primal):
    """np.sum and np.mean: linear, and their pullbacks read only the input's shape and the options."""

    def reduction_rule_jvp(args, targs, kwargs):
        x, tx = args[0], targs[0]
        if not _real(x) or any(t is not None for t in targs[1:]) or "out" in kwargs or _integer_dtype(kwargs):
            return None
        if len(args) > 5:  # initial by position: take the general path
            return None
        y, pb = rule(*args, **kwargs)
        options = {k: v for k, v in kwargs.items() if k != "initial"}  # affine: initial is no tangent
        return (y, pb), (None if tx is None else primal(_like(tx, x), *args[1:], **options), None)

    return reduction_rule_jvp


forward_rule_of_rule(reductions.sum_rule)(_reduction_rule_jvp(reductions.sum_rule, np.sum))
forward_rule_of_rule(reductions.mean_rule)(_reduction_rule_jvp(reductions.mean_rule, np.mean))


# -- products: the pullback reads the other operand, so its tangent carries the operands' tangents ----------


def _div(t, k):
    return None if t is None else t / k


@forward_rule_of_rule(multiply_rule)
def multiply_rule_jvp(args, targs, kwargs):
    if kwargs or not _numeric_operands(args):
        return None
    a, b = args
    ta, tb = _like(targs[0], a), _like(targs[1], b)
    y, pb = multiply_rule(a, b)
    return (y, pb), (_add(_mul(ta, b), _mul(tb, a)), closure_tangent(pb, ("a", "b"), (ta, tb)))


@closure_forward_rule(
    inner_code(multiply_rule, "multiply_scalar_pullback"), inner_code(multiply_rule, "multiply_pullback")
)
def multiply_pullback_jvp(pb, tpb, args, targs, kwargs, tkwargs):
    """``(unbroadcast(dy * conj(b), a), unbroadcast(dy * conj(a), b))`` (no unbroadcasting for two
    scalars; ``conj`` is the identity on real values)."""
    pair = _one_cotangent(args, targs, kwargs)
    if pair is None:
        return _fallback(pb, tpb, args, targs, kwargs, tkwargs)
    dy, tdy = pair
    (a, b), (ta, tb) = _captured(pb, tpb, ("a", "b"))
    ta, tb = _like(ta, a), _like(tb, b)
    g = pb(dy)
    t = (_add(_mul(tdy, conj(b)), _mul(conj(tb), dy)), _add(_mul(tdy, conj(a)), _mul(conj(ta), dy)))
    if pb.__code__ is multiply_pullback_jvp.scalar:
        return g, t
    return g, (None if t[0] is None else unbroadcast(t[0], a), None if t[1] is None else unbroadcast(t[1], b))


multiply_pullback_jvp.scalar = inner_code(multiply_rule, "multiply_scalar_pullback")


@forward_rule_of_rule(divide_rule)
def divide_rule_jvp(args, targs, kwargs):
    if kwargs or not _numeric_operands(args):
        return None
    a, b = args
    ta, tb = _like(targs[0], a), _like(targs[1], b)
    y, pb = divide_rule(a, b)
    ty = _div(_add(ta, _mul(tb, -y)), b)  # (ta - y tb) / b
    return (y, pb), (ty, closure_tangent(pb, ("a", "b", "y"), (ta, tb, ty)))


@closure_forward_rule(inner_code(divide_rule, "divide_pullback"))
def divide_pullback_jvp(pb, tpb, args, targs, kwargs, tkwargs):
    """``(unbroadcast(dy / conj(b), a), unbroadcast(-dy * conj(y) / conj(b), b))``."""
    pair = _one_cotangent(args, targs, kwargs)
    if pair is None:
        return _fallback(pb, tpb, args, targs, kwargs, tkwargs)
    dy, tdy = pair
    (a, b, y), (ta, tb, ty) = _captured(pb, tpb, ("a", "b", "y"))
    tb, ty = _like(tb, b), _like(ty, y)
    cb, cy, ctb = conj(b), conj(y), conj(tb)
    q, r = dy / cb, -dy * cy / cb
    tq = _div(_add(tdy, _mul(ctb, -q)), cb)  # d(dy / conj(b))
    tr = _div(_add(_add(_mul(tdy, -cy), _mul(conj(ty), -dy)), _mul(ctb, -r)), cb)  # d(-dy conj(y / b))
    g = (unbroadcast(q, a), unbroadcast(r, b))
    return g, (None if tq is None else unbroadcast(tq, a), None if tr is None else unbroadcast(tr, b))


@forward_rule_of_rule(power_by_constant_rule)
def power_by_constant_rule_jvp(args, targs, kwargs):
    if kwargs or len(args) != 2:
        return None
    a, b = args
    if type(a) not in _NUMERIC or type(b) not in (int, float) or (type(a) in (int, float) and a == 0):
        return None  # a Python zero base: 0.0 ** (b - 1) raises, the rule's own pullback handles it
    ta = _like(targs[0], a)
    y, pb = power_by_constant_rule(a, b)
    if (
        b == 0 or b == 1
    ):  # a constant or a itself; the pullbacks capture nothing (b * a ** (b - 1) is nan at 0)
        return (y, pb), (None if b == 0 else ta, None)
    ty = _mul(ta, 2 * a) if b == 2 else _mul(ta, b * a ** (b - 1))
    return (y, pb), (ty, closure_tangent(pb, ("a",), (ta,)))


@closure_forward_rule(
    inner_code(power_by_constant_rule, "square_pullback"),
    inner_code(power_by_constant_rule, "power_by_constant_pullback"),
)
def power_by_constant_pullback_jvp(pb, tpb, args, targs, kwargs, tkwargs):
    """``(dy * 2 * conj(a), None)``, or ``(dy * conj(b * a ** (b - 1)), None)``."""
    pair = _one_cotangent(args, targs, kwargs)
    if pair is None:
        return _fallback(pb, tpb, args, targs, kwargs, tkwargs)
    dy, tdy = pair
    (a,), (ta,) = _captured(pb, tpb, ("a",))
    ta = _like(ta, a)
    b = freevars(pb, ("b",))[0] if pb.__code__ is power_by_constant_pullback_jvp.power else 2
    g = pb(dy)
    t = _mul(tdy, conj(b * a ** (b - 1))) if b != 2 else _mul(tdy, 2 * conj(a))
    if ta is not None and b * (b - 1) != 0:  # d(a ** (b - 1)) = (b - 1) a ** (b - 2) da
        t = _add(t, dy * conj(ta * (b * (b - 1) * a ** (b - 2))) if b != 2 else dy * (2 * conj(ta)))
    return g, (t, None)


power_by_constant_pullback_jvp.power = inner_code(power_by_constant_rule, "power_by_constant_pullback")


# -- x op= y (rules/augmented.py): on numbers and arrays that own their data, the plain operator's rule -----


def _augmented_rule_jvp(plain_jvp):
    def augmented_rule_jvp(args, targs, kwargs):
        if kwargs or not _numeric_operands(args) or getattr(args[0], "base", None) is not None:
            return None  # an array viewing another: the rule's own code refuses it (or a temporary's view)
        a = args[0]
        if is_array(a) and (a.ndim == 0 or np.result_type(*args) != a.dtype):
            return None  # the rule's own code keeps NumPy's in-place dtype and shape
        return plain_jvp(args, targs, kwargs)

    return augmented_rule_jvp


for _fn, _plain_jvp in [
    (augmented.iadd, add_rule_jvp),
    (augmented.isub, subtract_rule_jvp),
    (augmented.imul, multiply_rule_jvp),
    (augmented.itruediv, divide_rule_jvp),
]:
    forward_rule_of_rule(AUGMENTED_RULES[_fn])(_augmented_rule_jvp(_plain_jvp))


# -- matrix products: each cotangent reads the other operand -----------------------------------------------

_PLAIN_DIMS = ((2, 2), (2, 1), (1, 2))


def _plain_matmul(a, b):
    """The operands linalg.matmul_rule and matmul_partial give a plain pullback (_plain_matmul_pullback)."""
    return type(a) is np.ndarray and type(b) is np.ndarray and (a.ndim, b.ndim) in _PLAIN_DIMS


def _matmul_rule_tangents(out, a, b, ta, tb):
    y, pb = out
    ta, tb = _like(ta, a), _like(tb, b)
    ty = _add(None if ta is None else ta @ b, None if tb is None else a @ tb)
    names = pb.__code__.co_freevars  # a and/or b, dims, xp
    tangents = tuple(ta if name == "a" else tb if name == "b" else None for name in names)
    return (y, pb), (ty, closure_tangent(pb, names, tangents))


@forward_rule_of_rule(linalg.matmul_rule)
def matmul_rule_jvp(args, targs, kwargs):
    if kwargs or len(args) != 2 or not _plain_matmul(*args):
        return None
    return _matmul_rule_tangents(linalg.matmul_rule(*args), *args, *targs)


@forward_rule_of_rule(linalg.matmul_partial)
def matmul_partial_jvp(args, targs, kwargs):
    if kwargs or len(args) != 3 or not _plain_matmul(args[1], args[2]):
        return None
    return _matmul_rule_tangents(linalg.matmul_partial(*args), *args[1:], *targs[1:])


@closure_forward_rule(
    *(inner_code(linalg._plain_matmul_pullback, name) for name in ("matmul_pullback", "matmul_b_pullback")),
    inner_code(linalg._plain_matmul_pullback, "matmul_a_pullback"),
)
def plain_matmul_pullback_jvp(pb, tpb, args, targs, kwargs, tkwargs):
    """Bilinear: the pullback of the cotangent's tangent, plus the same pullback with the tangent of the
    operand each cotangent reads (``b`` for ``da``, ``a`` for ``db``) in place of that operand."""
    pair = _one_cotangent(args, targs, kwargs)
    if pair is None:
        return _fallback(pb, tpb, args, targs, kwargs, tkwargs)
    dy, tdy = pair
    names = pb.__code__.co_freevars
    values, tangents = _captured(pb, tpb, names)
    cells, tcells = dict(zip(names, values, strict=True)), dict(zip(names, tangents, strict=True))
    xp, dims = cells["xp"], cells["dims"]
    a, b = cells.get("a"), cells.get("b")
    ta, tb = _like(tcells.get("a"), a), _like(tcells.get("b"), b)
    g = pb(dy)
    da, db = (None, None) if tdy is None else pb(tdy)
    if g[0] is not None and tb is not None:
        da = _add(da, linalg._plain_matmul_pullback(xp, a, tb, dims, (True, False))(dy)[0])
    if g[1] is not None and ta is not None:
        db = _add(db, linalg._plain_matmul_pullback(xp, ta, b, dims, (False, True))(dy)[1])
    return g, (da, db)


# -- elementwise functions: the pullback is dy * D(v) for one captured value v (x or y) --------------------


def _elementwise_rule(rule, pullback, captured, d_derivative):
    """Forward rules for ``rule(x) -> (y, pullback)`` with ``pullback(dy) = (dy * conj(D),)``, ``D`` the
    derivative (real arguments: then the tangent of ``y`` is ``pullback(tx)``), and for the pullback:
    ``d_derivative(v, tv)`` is the tangent of ``D`` when the captured value ``v`` (named ``captured``)
    moves along ``tv``."""

    def elementwise_rule_jvp(args, targs, kwargs):
        if kwargs or len(args) != 1 or not _real(args[0]):
            return None
        x, tx = args[0], _like(targs[0], args[0])
        y, pb = rule(x)
        ty = None if tx is None else pb(tx)[0]
        return (y, pb), (ty, closure_tangent(pb, (captured,), (tx if captured == "x" else ty,)))

    def elementwise_pullback_jvp(pb, tpb, args, targs, kwargs, tkwargs):
        pair = _one_cotangent(args, targs, kwargs)
        if pair is None:
            return _fallback(pb, tpb, args, targs, kwargs, tkwargs)
        dy, tdy = pair
        (v,), (tv,) = _captured(pb, tpb, (captured,))
        g = pb(dy)
        t = None if tdy is None else pb(tdy)[0]
        if tv is not None:  # pullback(dy) = dy * conj(D(v))
            t = _add(t, dy * conj(d_derivative(v, _like(tv, v))))
        return g, (t,)

    forward_rule_of_rule(rule)(elementwise_rule_jvp)
    closure_forward_rule(inner_code(rule, pullback))(elementwise_pullback_jvp)


# D = 1 - y², y, cos x and -sin x; the tangent of D as the captured value moves
for _module, _sin, _cos in [(elementwise, np.sin, np.cos), (math_rules, math.sin, math.cos)]:
    _elementwise_rule(_module.tanh_rule, "tanh_pullback", "y", lambda y, ty: -2 * y * ty)
    _elementwise_rule(_module.exp_rule, "exp_pullback", "y", lambda y, ty: ty)
    _elementwise_rule(_module.sin_rule, "sin_pullback", "x", lambda x, tx, sin=_sin: -sin(x) * tx)
    _elementwise_rule(_module.cos_rule, "cos_pullback", "x", lambda x, tx, cos=_cos: -cos(x) * tx)
