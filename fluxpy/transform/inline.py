"""Inlined arithmetic: the forward and pullback of ``+ - * / **const`` and unary minus written into
generated code, instead of a rule call and a pullback closure per operation, for scalars and for NumPy
arrays of one shape.

A run of consecutive operator statements (outside loops) gets one guard on the values it reads from
outside the run: all scalars, or all NumPy arrays of the same shape (see ``guard``). Then the run computes
as the user wrote it and its pullback is the derivative written out, as one would by hand::

    # forward                                     # pullback
    if __fx_type(x) in __fx_scalars or ...:       if _fx_inline:
        _pow = x * x                                  if d__mul is not None:
        _mul = 3 * _pow                                   d__pow = d__mul * 3
        _fx_inline = True                             if d__pow is not None:
    else:                                                 d_x = d__pow * 2 * x
        _pow, _pow_pb = __fx_rule.power_by_...    else:
        _mul, _mul_pb = __fx_rule.mul(3, _pow)        (the rules' pullbacks, as without inlining)
        _fx_inline = False

Broadcast operands, complex values (a product's cotangent reads the other factor's conjugate), other array
types, lists and user classes take the rule path (unbroadcasting, conjugates, dunders, containers). Scalars
of the types below stay scalars through these operations, and arrays of one shape keep it, so one guard
covers the run. The pullback reads the
operands themselves, so an operand must hold the same value when the pullback runs: the adjoint stage only
inlines statements whose operands are assigned once, outside loops (see ``_Adjoint.inline_op``).

Inlining pays twice: a first-order gradient makes no rule call and no closure per scalar operation, and a
gradient of a gradient differentiates plain arithmetic (inlined again) instead of the rules' own code.
"""

import gast
import numpy as np

from ..rules import augmented, python_in_place, python_operators, python_power, registry
from . import nodes as n

SCALARS = frozenset({float, int, np.float64, np.float32})  # real, and closed under the operations below


def _bin(op):
    return lambda a, b, _t: gast.BinOp(left=a(), op=op(), right=b())


def _mul(x, y):
    return gast.BinOp(left=x, op=gast.Mult(), right=y)


def _neg(x):
    return gast.UnaryOp(op=gast.USub(), operand=x)


def _power_forward(a, b, _t):
    if b().value == 2:
        return _mul(a(), a())
    return gast.BinOp(left=a(), op=gast.Pow(), right=b())


def _power_grads(d, a, b, _t):
    c = b().value
    if c == 2:
        return (_mul(_mul(d(), n.const(2)), a()), None)
    if c == 1:
        return (d(), None)
    power = gast.BinOp(left=a(), op=gast.Pow(), right=n.const(c - 1))
    return (_mul(_mul(d(), n.const(c)), power), None)


# operator name -> (its built-in rule, forward(a, b, target), grads(d, a, b, target)); each argument is a
# zero-argument function making a fresh node (a node is never shared between two places of the tree)
_BINARY = {
    "add": (python_operators.add_rule, _bin(gast.Add), lambda d, a, b, t: (d(), d())),
    "sub": (python_operators.subtract_rule, _bin(gast.Sub), lambda d, a, b, t: (d(), _neg(d()))),
    "mul": (
        python_operators.multiply_rule,
        _bin(gast.Mult),
        lambda d, a, b, t: (_mul(d(), b()), _mul(d(), a())),
    ),
    "truediv": (
        python_operators.divide_rule,
        _bin(gast.Div),
        lambda d, a, b, t: (
            gast.BinOp(left=d(), op=gast.Div(), right=b()),
            gast.BinOp(left=_mul(_neg(d()), t()), op=gast.Div(), right=b()),
        ),
    ),
    "power_by_constant": (python_power.power_by_constant_rule, _power_forward, _power_grads),
}
# x op= y: the rules of fluxpy's augmented assignments (``__fx_op.iadd`` is rules/augmented.py's iadd), which
# for scalars and arrays of one shape are those of op (an updated array must own its data: see guard)
for _name, _plain in [("iadd", "add"), ("isub", "sub"), ("imul", "mul"), ("itruediv", "truediv")]:
    _BINARY[_name] = (
        python_in_place.AUGMENTED_RULES[getattr(augmented.OPERATORS, _name)],
        *_BINARY[_plain][1:],
    )
_UNARY = {
    "neg": (python_operators.negative_rule, lambda a, _t: _neg(a()), lambda d, a, _t: (_neg(d()),)),
    "pos": (
        python_operators.positive_rule,
        lambda a, _t: gast.UnaryOp(op=gast.UAdd(), operand=a()),
        lambda d, a, _t: (d(),),
    ),
}
_FUNCTIONS = {"power_by_constant": python_power.power_by_constant}


def available():
    """The operators whose registered rule is still the built-in one (a user's own rule is never
    bypassed: registering one bumps the registry version, and generated code is regenerated)."""
    names = set()
    for name, (rule, _, _) in {**_BINARY, **_UNARY}.items():
        callee = _FUNCTIONS.get(name) or getattr(augmented.OPERATORS, name)
        if registry.lookup(callee) is rule:
            names.add(name)
    return frozenset(names)


def arity(name):
    return 2 if name in _BINARY else 1


def reads(name, operands):
    """``(operands, target)``: the operands whose values the pullback reads (the other operand of a
    product, the divisor, the base of a power) and whether it reads the result (a quotient's)."""
    if name in ("mul", "imul"):
        a, b = operands
        return [o for o, other in ((b, a), (a, b)) if isinstance(other, gast.Name)], False
    if name in ("truediv", "itruediv"):
        return [operands[1]], isinstance(operands[1], gast.Name)
    if name == "power_by_constant":
        return [operands[0]], False
    return [], False


def forward(name, operands, target):
    """The expression computing ``target`` from the operand nodes (copied)."""
    spec = _BINARY.get(name) or _UNARY[name]
    return spec[1](*[_fresh(o) for o in operands], _fresh(target))


def grads(name, d, operands, target):
    """One cotangent expression (or None) per operand, given the target's cotangent ``d``."""
    spec = _BINARY.get(name) or _UNARY[name]
    return spec[2](_fresh(d), *[_fresh(o) for o in operands], _fresh(target))


def in_place(name):
    """Whether the operator ``name`` is an augmented assignment's (``iadd``: ``x += y``)."""
    return name in ("iadd", "isub", "imul", "itruediv")


def guard(names, updated=(), in_place=False):
    """The test that the run can be inlined: every value it reads is a real scalar, or every one is a real
    NumPy array and all have one shape (then no operand is broadcast, and each cotangent has its operand's
    shape)::

        __fx_type(a) in __fx_scalars and __fx_type(b) in __fx_scalars
        or (__fx_type(a) is __fx_ndarray and a.dtype.kind != "c" and __fx_type(b) is __fx_ndarray
            and b.dtype.kind != "c" and a.shape == b.shape)

    Complex values take the rules: a product's cotangent reads the other factor's conjugate
    (``fluxpy.rules.helpers.conj``), which the written-out ``d * b`` does not. An array ``x`` that ``x += y``
    updates (``updated``) must own its data (``x.base is None``): Python would write into the array a view
    shares its data with, which the rules refuse. A run with an augmented assignment (``in_place``) must
    also give what NumPy's in-place operation stores, which keeps the array's dtype and its 0-d shape, where
    ``x = x + y`` would promote or make a scalar: so its arrays are all float with one dtype (``x.dtype is
    y.dtype``: the same dtype object; equal ones that are not take the rules, which cast), and an array it
    updates has a dimension (``x.ndim != 0``). Only comparisons, which a gradient of this code evaluates as
    they are (no dispatch, no pullback)."""
    in_place = in_place or bool(updated)
    scalars = [_compare(n.call("__fx_type", [n.name(v)]), gast.In(), n.name("__fx_scalars")) for v in names]
    arrays = []
    for i, v in enumerate(names):
        arrays.append(_compare(n.call("__fx_type", [n.name(v)]), gast.Is(), n.name("__fx_ndarray")))
        kind = n.attr(n.attr(n.name(v), "dtype"), "kind")
        if not in_place:
            arrays.append(_compare(kind, gast.NotEq(), n.const("c")))
        elif i == 0:  # the others have this very dtype (below)
            arrays.append(_compare(kind, gast.Eq(), n.const("f")))
    for v in updated:
        arrays.append(_compare(n.attr(n.name(v), "base"), gast.Is(), n.const(None)))
        arrays.append(_compare(n.attr(n.name(v), "ndim"), gast.NotEq(), n.const(0)))
    if len(names) > 1:
        shapes = [n.attr(n.name(v), "shape") for v in names]
        same = gast.Compare(left=shapes[0], ops=[gast.Eq() for _ in shapes[1:]], comparators=shapes[1:])
        arrays.append(same)
        if in_place:
            dtypes = [n.attr(n.name(v), "dtype") for v in names]
            one = gast.Compare(left=dtypes[0], ops=[gast.Is() for _ in dtypes[1:]], comparators=dtypes[1:])
            arrays.append(one)
    return gast.BoolOp(op=gast.Or(), values=[_all(scalars), _all(arrays)])


def _compare(left, op, right):
    return gast.Compare(left=left, ops=[op], comparators=[right])


def _all(tests):
    return tests[0] if len(tests) == 1 else gast.BoolOp(op=gast.And(), values=tests)


def is_scalar_constant(node):
    """A real number literal (``2``, ``0.5``; not ``True``, not ``1j``: complex operands take the rules)."""
    return isinstance(node, gast.Constant) and type(node.value) in (int, float)


def _fresh(node):
    """A zero-argument function making copies of ``node`` (a Name or a Constant)."""
    if isinstance(node, gast.Name):
        return lambda: n.name(node.id)
    return lambda: n.const(node.value)
