"""Rules for Python's arithmetic operators, which the matching NumPy ufuncs share (``operator.mul`` and
``np.multiply``), with broadcasting undone by ``unbroadcast``; operands that are not numbers or arrays
(lists meeting arrays, user classes with their own dunders) are differentiated as Python evaluates them.
``**`` and ``pow``: rules/python_power.py; ``x op= y``: rules/python_in_place.py.

>>> import operator
>>> y, back = multiply_rule(3.0, 4.0)
>>> y, back(1.0)
(12.0, (4.0, 3.0))
"""

import builtins
import operator

import numpy as np

from ..backend import is_array, xp_of
from ..tangents import accum
from .helpers import conj, in_dtype, refuse_positional_out, unbroadcast
from .numpy_elementwise import divide_or_zero
from .python_common import _SCALARS, _complex, _is_int, _is_seq, _numeric, _plain, _python_dunder
from .registry import adjoint, nograd

# =========================================================================================================
# operands that are not numbers or arrays: lists meet arrays (NumPy converts them), user classes (dunders)


def via_arrays(op, a, b):
    """``op(a, b)`` with list/tuple operands converted as NumPy converts them (differentiated as written)."""
    return op(np.asarray(a) if _is_seq(a) else a, np.asarray(b) if _is_seq(b) else b)


def via_dunders(name, rname, a, b):
    """``a op b`` as Python evaluates it for user classes: ``a.__op__(b)``, else ``b.__rop__(a)``."""
    result = NotImplemented
    method = _python_dunder(a, name)
    if method is not None:
        result = method(a, b)
    if result is NotImplemented:
        reflected = _python_dunder(b, rname)
        if reflected is not None:
            result = reflected(b, a)
    if result is NotImplemented:
        raise TypeError(f"unsupported operand types for {name}: {type(a).__name__} and {type(b).__name__}")
    return result


def _other_operands(op, name, a, b):
    """The rule result for ``a op b`` when an operand is a list/tuple or a user object."""
    from ..runtime import call

    if (_is_seq(a) or _numeric(a)) and (_is_seq(b) or _numeric(b)):
        y, pb = call(via_arrays, op, a, b)
        skip = 2  # the pullback's cotangents of via_arrays itself and of op
    elif _python_dunder(a, f"__{name}__") is None and _python_dunder(b, f"__r{name}__") is None:
        # builtin types ("%.2f" % x, "a" * 3): evaluated as they are; a gradient reaching them is an error
        from ..runtime import foreign_forward

        y, pb = foreign_forward(op, a, b)
        skip = 1
    else:
        y, pb = call(via_dunders, f"__{name}__", f"__r{name}__", a, b)
        skip = 3

    def other_operands_pullback(dy):
        return pb(dy)[skip:]

    return y, other_operands_pullback


def numpy_semantics(rule, op, name, ufunc):
    """The rule of NumPy's ``ufunc``: like the operator's, except that lists and tuples are arrays; a
    ``dtype=`` keyword casts the inputs (and their cotangents back)."""

    def ufunc_rule(a, b, *out, **kwargs):
        if out:  # ``np.add(a, b, a)``: an output passed by position, refused as ``out=`` is
            refuse_positional_out(ufunc)
        if kwargs.get("dtype") is not None:
            return in_dtype(ufunc, ufunc_rule, kwargs["dtype"], a, b)
        if kwargs.get("out") is not None or _is_seq(a) or _is_seq(b):
            if _is_seq(a) or _is_seq(b):
                return _other_operands(op, name, a, b)
        return rule(a, b)

    ufunc_rule.__name__ = f"numpy_{rule.__name__}"
    return ufunc_rule


# =========================================================================================================
# binary arithmetic operators (and the NumPy ufuncs with the same meaning)


@adjoint(operator.add)
def add_rule(a, b):
    if type(a) in _SCALARS and type(b) in _SCALARS:
        return a + b, add_scalar_pullback
    if _is_seq(a) and _is_seq(b):
        return a + b, _concat_pullback(len(a))
    if not _plain(a, b):
        return _other_operands(operator.add, "add", a, b)

    def add_pullback(dy):
        return (unbroadcast(dy, a), unbroadcast(dy, b))

    return a + b, add_pullback


adjoint(np.add)(numpy_semantics(add_rule, operator.add, "add", np.add))


def add_scalar_pullback(dy):
    return (dy, dy)


def _concat_pullback(n):
    def concat_pullback(dy):
        return (dy[:n], dy[n:])

    return concat_pullback


@adjoint(operator.sub)
def subtract_rule(a, b):
    if type(a) in _SCALARS and type(b) in _SCALARS:
        return a - b, subtract_scalar_pullback
    if not _plain(a, b):
        return _other_operands(operator.sub, "sub", a, b)

    def subtract_pullback(dy):
        return (unbroadcast(dy, a), unbroadcast(-dy, b))

    return a - b, subtract_pullback


adjoint(np.subtract)(numpy_semantics(subtract_rule, operator.sub, "sub", np.subtract))


def subtract_scalar_pullback(dy):
    return (dy, -dy)


@adjoint(operator.mul)
def multiply_rule(a, b):
    if type(a) in _SCALARS and type(b) in _SCALARS:

        def multiply_scalar_pullback(dy):
            return (dy * b, dy * a)

        return a * b, multiply_scalar_pullback
    if (_is_seq(a) and _is_int(b)) or (_is_int(a) and _is_seq(b)):
        return _repeat_rule(a, b)
    if not _plain(a, b):
        return _other_operands(operator.mul, "mul", a, b)

    def multiply_pullback(dy):
        return (unbroadcast(dy * conj(b), a), unbroadcast(dy * conj(a), b))

    return a * b, multiply_pullback


adjoint(np.multiply)(numpy_semantics(multiply_rule, operator.mul, "mul", np.multiply))


def _repeat_rule(a, b):
    seq, n = (a, b) if _is_seq(a) else (b, a)
    seq_first = _is_seq(a)

    def repeat_pullback(dy):
        dseq = _sum_chunks(dy, len(seq), type(seq))
        if seq_first:
            return (dseq, None)
        return (None, dseq)

    return a * b, repeat_pullback


def _sum_chunks(dy, n, kind):
    out = None
    for start in range(0, len(dy), n):
        out = accum(out, tuple(dy[start : start + n]))
    if out is None:
        return None
    return list(out) if kind is list else out


@adjoint(_sum_chunks)
def _sum_chunks_rule(dy, n, kind):
    def sum_chunks_pullback(dd):
        reps = len(dy) // n if n else 0
        return (tuple(dd) * reps if dd is not None else None, None, None)

    return _sum_chunks(dy, n, kind), sum_chunks_pullback


@adjoint(operator.truediv)
def divide_rule(a, b):
    if not _plain(a, b):
        return _other_operands(operator.truediv, "truediv", a, b)
    y = a / b

    def divide_pullback(dy):
        # complex: the cotangents are dy * conj(1 / b) and dy * conj(-y / b) (see helpers.conj)
        cb = conj(b)
        return (unbroadcast(dy / cb, a), unbroadcast(-dy * conj(y) / cb, b))

    return y, divide_pullback


adjoint(np.divide, np.true_divide)(numpy_semantics(divide_rule, operator.truediv, "truediv", np.divide))


@adjoint(operator.mod)
def mod_rule(a, b):
    if not _plain(a, b):
        return _other_operands(operator.mod, "mod", a, b)

    def mod_pullback(dy):
        xp = xp_of(a, b)
        return (unbroadcast(dy, a), unbroadcast(-dy * xp.floor_divide(a, b), b))

    return a % b, mod_pullback


@adjoint(builtins.divmod)
def divmod_builtin_rule(a, b):
    """``divmod(a, b) = (a // b, a % b)``: the quotient is piecewise constant; the remainder is
    ``a - (a // b) * b``, as for ``%``."""
    if not _plain(a, b):
        if not (is_array(a) or is_array(b)) and (_is_seq(a) or _is_seq(b)):
            divmod(a, b)  # Python's TypeError: only NumPy converts a list
        return _other_operands(builtins.divmod, "divmod", a, b)

    def divmod_builtin_pullback(dy):
        dr = None if dy is None else dy[1]
        if dr is None:
            return (None, None)
        xp = xp_of(a, b)
        return (unbroadcast(dr, a), unbroadcast(-dr * xp.floor_divide(a, b), b))

    return divmod(a, b), divmod_builtin_pullback


# =========================================================================================================
# unary operators


def via_unary_dunder(name, a):
    """``-a``, ``+a``, ``abs(a)`` for user classes: their Python ``__neg__``/``__pos__``/``__abs__``."""
    method = _python_dunder(a, name)
    if method is None:
        raise TypeError(f"bad operand type for {name}: {type(a).__name__}")
    return method(a)


def _other_unary(name, a):
    from ..runtime import call

    y, pb = call(via_unary_dunder, name, a)

    def other_unary_pullback(dy):
        return pb(dy)[2:]

    return y, other_unary_pullback


@adjoint(operator.neg, np.negative)
def negative_rule(a, *out, dtype=None):
    if out:  # ``np.negative(x, x)``: an output passed by position
        refuse_positional_out(np.negative)
    if dtype is not None:  # np.negative(x, dtype=...)
        return in_dtype(np.negative, negative_rule, dtype, a)
    if not _numeric(a):
        return _other_unary("__neg__", a)

    def negative_pullback(dy):
        return (-dy,)

    return -a, negative_pullback


@adjoint(operator.pos, np.positive)
def positive_rule(a, *out, dtype=None):
    if out:  # ``np.positive(x, y)``: an output passed by position
        refuse_positional_out(np.positive)
    if dtype is not None:  # np.positive(x, dtype=...)
        return in_dtype(np.positive, positive_rule, dtype, a)
    if not _numeric(a):
        return _other_unary("__pos__", a)

    def positive_pullback(dy):
        return (dy,)

    return +a, positive_pullback


@adjoint(builtins.abs, operator.abs)
def abs_rule(x):
    if not _numeric(x):
        return _other_unary("__abs__", x)
    if type(x) is float or type(x) is int:

        def abs_scalar_pullback(dy):
            if x > 0:
                return (dy,)
            if x < 0:
                return (-dy,)
            return (0.0 * dy,)

        return abs(x), abs_scalar_pullback
    xp = xp_of(x)
    if _complex(x):

        def complex_abs_pullback(dy):
            # |z| is real: its cotangent's real part is its own (an imaginary part can come from a complex
            # product |z| took part in); d|z| = Re(conj(z / |z|) dz): the cotangent is Re(dy) z / |z|, 0 at
            # 0 (sign(z) is that too, but has no derivative)
            return (divide_or_zero(xp.real(dy) * x, abs(x)),)

        return abs(x), complex_abs_pullback

    def abs_pullback(dy):
        return (dy * xp.sign(x),)

    return abs(x), abs_pullback


# =========================================================================================================
# operators with no gradient (comparisons, integer and bitwise operators)


nograd(
    operator.floordiv,
    np.floor_divide,
    operator.lt,
    operator.le,
    operator.eq,
    operator.ne,
    operator.gt,
    operator.ge,
    operator.not_,
    operator.truth,
    operator.contains,
    operator.is_,
    operator.is_not,
    operator.invert,
    operator.and_,
    operator.xor,
    operator.lshift,
    operator.rshift,
    operator.index,
)
