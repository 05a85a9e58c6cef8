"""Rules for Python operators and builtins, containers, and the helpers that generated code calls.

The arithmetic operators share their rules with the matching NumPy ufuncs (``operator.mul`` and
``np.multiply``), with broadcasting undone by ``unbroadcast``. Containers: a tuple's cotangent is a tuple,
a list's a list, a dict's a dict, a namedtuple's a tuple of its fields.

>>> import operator
>>> y, back = multiply_rule(3.0, 4.0)
>>> y, back(1.0)
(12.0, (4.0, 3.0))
"""

import bisect
import builtins
import collections
import contextlib
import copy
import dataclasses
import enum
import math
import operator
import os
import types

import numpy as np

from ..backend import is_array, xp_of
from ..errors import FluxpyError
from ..tangents import KeywordGrads, Tangent, accum, is_differentiable
from . import attributes, augmented
from .helpers import (
    cast_back,
    conj,
    custom_arithmetic,
    in_dtype,
    refuse_masked,
    refuse_positional_out,
    unbroadcast,
)
from .higher_order import iterating
from .mutation import check_in_place_view, sequence_indices
from .numpy_elementwise import divide_or_zero
from .numpy_indexing import array_getitem_rule
from .registry import (
    adjoint,
    lookup_attribute,
    nograd,
    partial_of,
    register,
    register_container_method,
    register_method,
)

_SCALARS = {float, int}


def _scalars(a, b):
    return type(a) in _SCALARS and type(b) in _SCALARS


def _is_seq(x):
    return type(x) is list or isinstance(x, tuple)


def _is_int(x):
    return isinstance(x, (int, np.integer)) and not isinstance(x, (bool, np.bool_))


def _numeric(x):
    """Numbers and arrays: what the arithmetic rules below compute with directly (a masked array is refused:
    they would ignore its mask)."""
    if isinstance(x, (int, float, complex, np.generic)):
        t = type(x)
        if t is float or t is int or t is bool or t is complex or isinstance(x, np.generic):
            return True
        return not custom_arithmetic(x)  # a float subclass with its own __mul__: its dunders run
    if is_array(x):
        if type(x) is not np.ndarray:
            refuse_masked((x,))
        return True
    return False


def _plain(a, b):
    """True when ``a op b`` is numeric arithmetic (no lists, tuples or user objects involved)."""
    return _numeric(a) and _numeric(b)


nograd(_scalars, _is_seq, _is_int, _numeric, _plain)


# ---------------------------------------------------------------------------------------------------------
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


@nograd
def _python_dunder(x, name):
    if type(x) is SequenceIterator:  # fluxpy's own iterator (below): its items' cotangents have rules
        return None
    for klass in type(x).__mro__:
        if name in klass.__dict__:
            attr = klass.__dict__[name]
            return attr if type(attr).__name__ == "function" else None
    return None


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
# arithmetic operators (and the NumPy ufuncs with the same meaning)


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


@adjoint(operator.pow)
def power_rule(a, b):
    if not _plain(a, b):
        return _other_operands(operator.pow, "pow", a, b)
    y = a**b
    if _scalars(a, b) and type(y) is not complex:  # (-8.0) ** (1 / 3) is complex: the general path

        def power_scalar_pullback(dy):
            if a > 0:
                return (dy * b * a ** (b - 1), dy * y * math.log(a))
            if a == 0:  # Python raises on 0.0 ** -0.5 where NumPy gives inf (see zero_base_power)
                return ((dy * b * zero_base_power(a, b - 1) if b != 0 else 0.0), 0.0)
            return (dy * b * a ** (b - 1), math.nan)

        return y, power_scalar_pullback

    if _complex(y):
        return y, _complex_power_pullback(a, b, y)
    return y, _power_pullback(a, b, y, True)


@partial_of(power_rule)
def power_partial(mask, a, b):
    """``power_rule`` for a caller that wants no cotangent for a constant base: its term, ``b * a ** (b -
    1)``, is never computed (``0.0 ** y``)."""
    if mask[0] or not _plain(a, b):
        return power_rule(a, b)
    y = a**b
    if _complex(y):
        return y, _complex_power_pullback(a, b, y)
    if _scalars(a, b):

        def power_exponent_pullback(dy):
            if a > 0:
                return (None, dy * y * math.log(a))
            return (None, 0.0 if a == 0 else math.nan)

        return y, power_exponent_pullback
    return y, _power_pullback(a, b, y, False)


def _power_pullback(a, b, y, base):
    """The pullback of a real ``a ** b`` of arrays or NumPy numbers (without ``a``'s cotangent unless
    ``base``)."""

    def power_pullback(dy):
        xp = xp_of(a, b, y)
        da = None
        if base and _zero_exponent(b):
            # b * a ** (b - 1) is 0 * inf where a == b == 0 (x ** 0, and the second derivative of x ** 1):
            # zero there, with a ** (b - 1) read at 1 so that differentiating this again stays finite
            at_zero = (a == 0) & (b == 0)
            safe_a = xp.where(at_zero, 1.0, a)
            da = unbroadcast(xp.where(at_zero, 0.0, dy * b * safe_a ** (b - 1)), a)
        elif base:
            da = unbroadcast(dy * b * a ** (b - 1), a)
        # a Python number's comparisons are bools: CuPy's where takes arrays only (an exponent on a device)
        positive, zero = xp.asarray(a > 0), xp.asarray(a == 0)
        log_a = xp.log(xp.where(positive, a, 1))
        db = xp.where(positive, dy * y * log_a, xp.where(zero, 0.0, math.nan))
        return (da, unbroadcast(db, b))

    return power_pullback


def zero_base_power(a, e):
    """``a ** e`` for a zero base ``a`` (a Python number), as NumPy computes it: ``inf`` for a negative
    ``e`` (``-inf`` at ``-0.0`` with an odd integer ``e``), where Python raises ZeroDivisionError. The
    derivative of ``x ** b`` at 0 reads it (``b * 0.0 ** (b - 1)`` is ``inf`` for ``0 < b < 1``, as
    ``np.sqrt``'s rule gives)."""
    if e >= 0:
        return a**e
    if math.copysign(1.0, a) < 0 and e == int(e) and int(e) % 2:
        return -math.inf
    return math.inf


@adjoint(zero_base_power)
def zero_base_power_rule(a, e):
    def zero_base_power_pullback(dy):
        # the exponent's cotangent at a zero base is 0, as power_rule's (d/db of a ** b there)
        return ((dy * e * zero_base_power(a, e - 1) if e != 0 else 0.0), None)

    return zero_base_power(a, e), zero_base_power_pullback


adjoint(np.power)(numpy_semantics(power_rule, operator.pow, "pow", np.power))


@adjoint(builtins.pow)
def builtin_pow_rule(base, exp, mod=None):
    """``pow(base, exp)`` is ``base ** exp``; ``pow(base, exp, mod)`` is integer-only in Python: its result
    is an int, with no gradient."""
    if mod is not None:
        return pow(base, exp, mod), _none_pullback(3)
    return power_rule(base, exp)


@nograd
def _complex(y):
    return type(y) is complex or getattr(getattr(y, "dtype", None), "kind", None) == "c"


def _complex_power_pullback(a, b, y):
    """``a ** b`` with a complex result: ``d/da = b a ** (b - 1)``, ``d/db = y log(a)`` (the principal branch;
    0 where ``a == 0``), each conjugated (see helpers.conj)."""

    def complex_power_pullback(dy):
        xp = xp_of(a, b, y)
        at_zero = (a == 0) & (b == 0)  # x ** 0: zero, with a ** (b - 1) read at 1 (as power_pullback)
        base = xp.where(at_zero, 1.0, a) + 0j  # complex: a negative real base has a complex power and log
        da = xp.where(at_zero, 0.0, dy * conj(b * base ** (b - 1)))
        db = dy * conj(y * xp.log(xp.where(a == 0, 1.0, a) + 0j))
        return (unbroadcast(da, a), unbroadcast(db, b))

    return complex_power_pullback


@nograd
def _zero_exponent(b):
    """True when the exponent ``b`` (a number or an array) is 0 somewhere."""
    if type(b) in _SCALARS:
        return b == 0
    return bool(xp_of(b).any(b == 0))


def power_by_constant(a, b):
    """``a ** b`` where ``b`` is a literal in the source: generated code calls this, never needing ``db``."""
    return a**b


@adjoint(power_by_constant)
def power_by_constant_rule(a, b):
    if not _numeric(a):
        return power_rule(a, b)
    if b == 2:

        def square_pullback(dy):
            return (dy * 2 * conj(a), None)

        return a * a, square_pullback
    if b == 1:
        return a**b, identity_power_pullback
    if b == 0:
        # a constant: a zero cotangent, exactly (b * a ** (b - 1) would be 0 * inf at a = 0)
        def zero_power_pullback(dy):
            return (0.0 * dy, None)

        return a**b, zero_power_pullback
    if type(a) in _SCALARS and a == 0:  # b * 0.0 ** (b - 1): inf for 0 < b < 1, where Python raises

        def zero_base_pullback(dy):
            return (dy * b * zero_base_power(a, b - 1), None)

        return a**b, zero_base_pullback

    def power_by_constant_pullback(dy):
        return (dy * conj(b * a ** (b - 1)), None)

    return a**b, power_by_constant_pullback


def identity_power_pullback(dy):
    return (dy, None)


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


def _union_rule(op):
    """The rule of ``a | b`` (``op`` is ``operator.or_``, or ``operator.ior``, which updates ``a`` in place):
    for two dicts, each key's value comes from ``b`` when ``b`` has the key (Python's union), else from
    ``a``, and so does its cotangent. Ints, bools, sets and other operands carry no gradient."""

    def union_rule(a, b):
        if not (isinstance(a, dict) and isinstance(b, dict)):
            return op(a, b), _none_pullback(2)
        if op is operator.ior:  # never generated (``d |= e`` is ``d = d | e``): the user's own call
            done = user_in_place(op, a, b)
            if done is not None:
                return done
        keys_a, keys_b = _union_keys(a, b)

        def dict_union_pullback(dy):
            if dy is None:
                return (None, None)
            return (pack_dict(keys_a, *dict_values(dy, keys_a)), pack_dict(keys_b, *dict_values(dy, keys_b)))

        return op(a, b), dict_union_pullback

    union_rule.__name__ = f"{op.__name__.strip('_')}_rule"
    return union_rule


@nograd
def _union_keys(a, b):
    """The keys of ``a | b`` whose value comes from ``a`` (those ``b`` lacks), and the keys of ``b``."""
    return [k for k in a if k not in b], list(b)


adjoint(operator.or_)(_union_rule(operator.or_))
adjoint(operator.ior)(_union_rule(operator.ior))


# ---------------------------------------------------------------------------------------------------------
# in-place operators. The code generated for ``x += y`` (and a user's ``x = operator.iadd(x, y)``) calls
# fluxpy's own functions, updated functionally (rules/augmented.py); a user's other calls of
# ``operator.iadd`` (``operator.iadd(a, b)`` as a statement, ``c = operator.iadd(a, b)``) would lose the
# change where Python makes it in place: refused (or, carrying no float, run as Python runs it).
_PACKAGE_DIR = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


@nograd
def user_in_place(op, a, b, dunder=None):
    """The rule result of a user's ``op(a, b)`` (``operator.iadd(a, b)``) on an ``a`` that Python changes
    in place (``dunder``: the method Python calls, ``__iadd__``): run as Python runs it when no float is
    involved, refused otherwise; None when Python does not change ``a`` (a user class whose ``__iadd__``
    returns a new object: differentiated as usual)."""
    dunder = dunder or f"__{op.__name__}__"
    python = _python_dunder(a, dunder)
    if python is not None:
        if not in_place_method(a, dunder)[1]:
            return None
    elif not (runtime._carries_float(a) or runtime._carries_float(b)):
        return op(a, b), _none_pullback(2)
    raise in_place_operator_error(op, a)


@nograd
def in_place_operator_error(op, a):
    """The FluxpyError for a user's call of in-place operator ``op`` that would change ``a`` in place."""
    from ..errors import in_place_error

    kind = type(a).__name__
    return in_place_error(f"operator.{op.__name__}", kind, _outside_package_location(), "operator")


@nograd
def _outside_package_location():
    """``runtime.user_location()``, passing over the lines of fluxpy's own Python implementations
    (``functools.reduce(operator.iadd, ...)`` names the user's ``reduce`` line)."""
    import linecache
    import sys

    from ..transform.codegen import map_location

    frame = sys._getframe(1)
    while frame is not None:
        where = map_location(frame.f_code.co_filename, frame.f_lineno)
        if where is not None and not os.path.abspath(where[0]).startswith(_PACKAGE_DIR):
            file, line = where
            source = linecache.getline(file, line).strip()
            return f'File "{file}", line {line}' + (f"\n    {source}" if source else "")
        frame = frame.f_back
    return runtime.user_location()


def _mutating_in_place(method, a, b):
    """``a.__iop__(b)`` that changes ``a`` (writes its attributes) and returns it: run as a constructor is
    (a function returning its object, whose attribute writes are differentiated), as property setters are
    (see _hooked_write)."""
    from ..transform.cache import forward_function

    check_shared_in_place(method, a)
    y, pb = forward_function(method, constructor=True)(method, a, b)

    def mutating_in_place_pullback(dy):
        g = pb(dy)
        return (g[1], g[2])

    return y, mutating_in_place_pullback


# ``(file, line)`` of a user's ``x op= y`` -> ``{name: line}``, the names that may also hold the object it
# changes, or hold it inside (filled by the normalizer: transform/shared_objects.py). An ``__iop__`` that
# changes its object in place there is refused while one of them does: fluxpy differentiates the change
# through ``x`` only, and the other reference would keep the object's old value for the reverse pass.
SHARED_IN_PLACE = {}
SHARED_IN_PLACE_CHANGE = (
    "{method} changes its object in place, and {holder!r} {how} too{shown}: fluxpy differentiates the "
    "change through the name or item written here only, so a gradient through {holder!r} would miss it.\n"
    "  {where}\n"
    "Write `x = x {sign} y` (a new object), let {method} return a new object, or make {holder!r} after "
    "this line."
)


@nograd
def check_shared_in_place(method, obj):
    """Refuse ``method``, an ``__iop__`` about to change ``obj`` in place, at a user line listed in
    SHARED_IN_PLACE when one of the names listed there holds ``obj`` (looked up in the frame of the
    generated code)."""
    if not SHARED_IN_PLACE:
        return
    import sys

    from ..transform.codegen import map_location

    frame = sys._getframe(1)
    while frame is not None:
        where = map_location(frame.f_code.co_filename, frame.f_lineno)
        others = SHARED_IN_PLACE.get(where) if where is not None else None
        names = frame.f_locals if others else {}
        for holder in sorted(others or ()):
            value = names.get(holder)
            if holder in names and _holds(value, obj, 3):
                import linecache

                file, line = where
                shown = f" (line {others[holder]})" if others[holder] is not None else ""
                message = SHARED_IN_PLACE_CHANGE.format(
                    method=method.__qualname__,
                    holder=holder,
                    how="is that object" if value is obj else "holds that object",
                    shown=shown,
                    where=f'File "{file}", line {line}\n    {linecache.getline(file, line).strip()}',
                    sign=_OPERATOR_SIGNS.get(method.__name__, "?"),
                )
                raise FluxpyError(message)
        frame = frame.f_back


def _holds(value, obj, depth):
    """Whether ``value`` is ``obj``, or holds it within ``depth`` levels of containers and attributes."""
    if value is obj:
        return True
    if depth == 0:
        return False
    if isinstance(value, dict):
        items = value.values()
    elif isinstance(value, (list, tuple, set, frozenset)):
        items = value
    elif type(value) is SequenceIterator:
        items = value.seq
    else:
        items = getattr(value, "__dict__", None)
        if not isinstance(items, dict) or isinstance(value, type):
            return False
        items = items.values()
    return any(_holds(v, obj, depth - 1) for v in items if not is_array(v))


_in_place_kinds = {}  # code object of an __iop__ method -> "mutates", "returns" or "mixed"


@nograd
def in_place_method(a, dunder):
    """``(method, mutates)`` for ``a``'s Python in-place operator ``dunder`` (None when its class has none):
    ``mutates`` when it writes attributes of its ``self`` and returns ``self`` (every ``return``). One
    that writes them and may return something else cannot be followed: refused."""
    method = _python_dunder(a, dunder)
    if method is None:
        return None
    kind = _in_place_kinds.get(method.__code__)
    if kind is None:
        kind = _in_place_kinds.setdefault(method.__code__, _in_place_kind(method))
    if kind == "mixed":
        from ..runtime import user_location

        raise FluxpyError(
            f"{method.__qualname__} changes its object's attributes and does not return it (self) in every "
            f"branch; fluxpy differentiates such an in-place operator only when it returns self.\n  "
            f"{user_location()}\nReturn self after the writes (a new object: write none), or write "
            f"`x = x {_OPERATOR_SIGNS.get(dunder, '?')} y`."
        )
    return method, kind == "mutates"


_OPERATOR_SIGNS = {
    "__iadd__": "+",
    "__isub__": "-",
    "__imul__": "*",
    "__itruediv__": "/",
    "__ipow__": "**",
    "__imatmul__": "@",
    "__ifloordiv__": "//",
    "__imod__": "%",
}


def _in_place_kind(method):
    """``"mutates"``, ``"returns"`` (it writes no attribute of ``self``: a plain function) or ``"mixed"``,
    from the method's source."""
    import ast

    from ..errors import SourceError
    from ..transform.source import get_source

    try:
        fdef = get_source(method).node
    except SourceError:
        return "returns"
    params = fdef.args.posonlyargs + fdef.args.args
    if not params:
        return "returns"
    me = params[0].arg
    writes = other_returns = False
    stack = list(fdef.body)
    while stack:
        node = stack.pop()
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.Lambda, ast.ClassDef)):
            continue  # a nested function's own writes and returns
        if isinstance(node, (ast.Assign, ast.AugAssign, ast.AnnAssign, ast.Delete)):
            targets = node.targets if isinstance(node, (ast.Assign, ast.Delete)) else [node.target]
            writes = writes or any(_writes_into(t, me) for t in targets)
        elif isinstance(node, ast.Call) and node.args and isinstance(node.args[0], ast.Name):
            func = node.func
            setter = (isinstance(func, ast.Name) and func.id == "setattr") or (
                isinstance(func, ast.Attribute) and func.attr == "__setattr__"
            )
            writes = writes or (setter and node.args[0].id == me)
        elif isinstance(node, ast.Return):
            other_returns = other_returns or not (isinstance(node.value, ast.Name) and node.value.id == me)
        stack.extend(ast.iter_child_nodes(node))
    if not writes:
        return "returns"
    return "mixed" if other_returns else "mutates"


def _writes_into(target, name):
    """Whether assignment target ``target`` writes into the object named ``name`` (``name.a = ...``)."""
    import ast

    if isinstance(target, (ast.Tuple, ast.List)):
        return any(_writes_into(t, name) for t in target.elts)
    if isinstance(target, ast.Starred):
        return _writes_into(target.value, name)
    while isinstance(target, (ast.Attribute, ast.Subscript)):
        target = target.value
        if isinstance(target, ast.Name):
            return target.id == name
    return False


def _functional_in_place_rule(op, fn, plain, symbol, dunder):
    """The rule of ``fn``, fluxpy's ``a op= b`` (rules/augmented.py: ``iadd``), from ``plain``, the rule of
    ``a op b``. An array ``a`` is updated functionally (a new array), so one that views another array is
    refused: Python would write into the data they share; the new array is what NumPy's in-place ``op``
    (``operator.iadd``) stores, of ``a``'s dtype and shape (:func:`in_place_array`)."""

    def augmented_rule(a, b):
        if type(a) in _SCALARS:
            return plain(a, b)
        if _numeric(a) or _is_seq(a):
            check_in_place_view(a, symbol)
            if is_array(a):
                return in_place_array(op, plain, a, b)
            return plain(a, b)
        found = in_place_method(a, dunder)
        if found is None:
            return plain(a, b)
        method, mutates = found
        if mutates:
            return _mutating_in_place(method, a, b)
        from ..runtime import call

        y, pb = call(method, a, b)
        if y is NotImplemented:
            return plain(a, b)

        def in_place_method_pullback(dy):
            return pb(dy)[1:]

        return y, in_place_method_pullback

    augmented_rule.__name__ = f"{fn.__name__}_rule"
    return augmented_rule


def in_place_array(op, plain, a, b):
    """``a op= b`` on array ``a`` as a new array (``plain``: the rule of ``a op b``) holding what NumPy's
    in-place ``op`` writes into ``a``: ``a``'s dtype (cast as NumPy casts, "same_kind": a float64 result
    into a float32 ``a``; a float one into an integer ``a`` raises NumPy's own error) and ``a``'s shape (a
    0-d ``a`` stays a 0-d array, where ``a op b`` gives a NumPy scalar; a result broadcast beyond ``a``'s
    shape raises). ``a``'s cotangent keeps ``a``'s dtype."""
    y, pb = plain(a, b)
    if is_array(y) and y.dtype == a.dtype and y.shape == a.shape:
        return y, pb
    check_in_place_fits(op, a, b, y)
    stored = stored_as(y, a)

    def in_place_array_pullback(dy):
        g = pb(cast_back(dy, y))
        return (cast_back(g[0], a), g[1])

    return stored, in_place_array_pullback


@nograd
def check_in_place_fits(op, a, b, y):
    """Raise what NumPy raises for ``op(a, b)`` (``a += b`` on an array) when its result ``y`` (of ``a op
    b``) does not fit into ``a``: a shape ``a`` does not have, a dtype NumPy does not cast into ``a``'s."""
    xp = xp_of(a)
    if getattr(y, "shape", ()) != a.shape or not xp.can_cast(y.dtype, a.dtype, casting="same_kind"):
        op(a.copy(), b)  # NumPy's own error, on a copy (``a`` itself is never written)


def stored_as(y, a):
    """``y`` as NumPy's in-place operation stores it into array ``a``: an array of ``a``'s dtype."""
    return xp_of(a).asarray(y, dtype=a.dtype)


@adjoint(stored_as)
def stored_as_rule(y, a):
    def stored_as_pullback(dd):
        return (cast_back(dd, y), None)

    return stored_as(y, a), stored_as_pullback


def _in_place_operator_rule(op, functional, dunder):
    """The rule of Python's ``op`` (``operator.iadd``), which only a user's call reaches where the
    functional update would be wrong (see rules/augmented.py): an ``a`` that Python changes in place is
    refused, or run as Python runs it when no float is involved (user_in_place); anything else (numbers,
    tuples, a user class whose ``__iadd__`` returns a new object) is ``functional``'s, the rule of fluxpy's
    ``a op= b``."""

    def in_place_operator_rule(a, b):
        if hasattr(type(a), dunder):
            done = user_in_place(op, a, b, dunder)
            if done is not None:
                return done
        return functional(a, b)

    in_place_operator_rule.__name__ = f"operator_{op.__name__}_rule"
    return in_place_operator_rule


def _floordiv_rule(a, b):
    return a // b, _none_pullback(2)


def _matmul_rule(a, b):
    from .numpy_linalg import matmul_rule

    return matmul_rule(a, b)


_PLAIN_RULES = {
    "+": add_rule,
    "-": subtract_rule,
    "*": multiply_rule,
    "/": divide_rule,
    "**": power_rule,
    "%": mod_rule,
    "@": _matmul_rule,
    "//": _floordiv_rule,
}
AUGMENTED_RULES = {}  # rules/augmented.py's iadd, ... -> its rule (transform/inline.py inlines + - * /'s)
for _op, _fn, _symbol, _dunder in augmented.TABLE:
    _rule = _functional_in_place_rule(_op, _fn, _PLAIN_RULES[_symbol], _symbol, _dunder)
    AUGMENTED_RULES[_fn] = adjoint(_fn)(_rule)
    adjoint(_op)(_in_place_operator_rule(_op, _rule, _dunder))

# =========================================================================================================
# builtins


nograd(
    len,
    range,
    isinstance,
    issubclass,
    type,
    print,
    id,
    hash,
    str,
    repr,
    format,
    hasattr,
    callable,
    int,
    bool,
    round,
    slice,
    any,
    all,
    ord,
    chr,
    object,
    bytes,
    math.floor,
    math.ceil,
    math.trunc,
    math.isnan,
    math.isinf,
    math.isfinite,
    bisect.bisect_left,  # a position (an int); bisect.insort changes its list: refused (runtime/method_kinds)
    bisect.bisect_right,
)


nograd(collections.namedtuple, dataclasses.make_dataclass, dataclasses.fields, dataclasses.is_dataclass)
# context managers made by @contextlib.contextmanager run their generator as Python does (fluxpy does not
# differentiate generators): what they yield to ``with ... as v`` gets no gradient, and asking for one
# raises (see with_value_rule)
nograd(contextlib._GeneratorContextManager, contextlib._AsyncGeneratorContextManager)


_NO_IMAG = object()


@adjoint(complex)
def complex_rule(real=0, imag=_NO_IMAG):
    """``complex(a, b)`` is ``a + 1j * b``. In the library's convention (tests/rules/test_complex.py) the
    cotangent of ``z = a + ib`` is ``dL/da + i dL/db``: a real ``a`` gets ``Re(dz)``, a real ``b``
    ``Im(dz)``; a complex one the holomorphic pullback's ``dz`` and ``conj(1j) * dz``. A string has none."""
    y = complex(real) if imag is _NO_IMAG else complex(real, imag)
    if imag is _NO_IMAG:
        imag = 0
    if not (_numeric(real) and _numeric(imag)):
        if isinstance(real, (str, bytes)):
            return y, _none_pullback(2)
        from ..runtime import foreign_forward

        y, pb = foreign_forward(complex, real, imag)  # a __complex__ method: a gradient reaching it raises
        return y, lambda dy: pb(dy)[1:]

    def complex_pullback(dy):
        if dy is None:
            return (None, None)
        db = -1j * dy
        return (dy if _complex(real) else np.real(dy), db if _complex(imag) else np.real(db))

    return y, complex_pullback


@adjoint(float)
def float_rule(x=0.0):
    if not _numeric(x) and _python_dunder(x, "__float__") is not None:
        # a user class: its __float__ differentiated, then Python's check and conversion of what it gave
        y, pb = _other_unary("__float__", x)
        _check_float(x, y)
        return float(y), pb

    def float_pullback(dy):
        return (dy,)

    return float(x), float_pullback


@nograd
def _check_float(x, y):
    if not isinstance(y, float):
        raise TypeError(f"{type(x).__name__}.__float__ returned non-float (type {type(y).__name__})")


@adjoint(builtins.sum)
def sum_rule(xs, start=0):
    if not (type(xs) is list or type(xs) is tuple or is_array(xs)):
        # an iterator (read once), or a user container: its items are those a for loop visits,
        # differentiated through its __iter__
        from ..runtime import call

        items, items_pb = call(iterlist, xs)
        y, total_pb = call(builtins.sum, items, start)

        def items_sum_pullback(dy):
            g = total_pb(dy)
            return (None if g[1] is None else items_pb(g[1])[1], g[2])

        return y, items_sum_pullback
    y = sum(xs, start)
    if not _numeric(y):
        # lists, tuples or objects added up (``sum(rows, [])``): Python's ``+``, from ``start`` on
        from ..runtime import call

        y, fold_pb = call(sum_fold, xs, start)

        def fold_pullback(dy):
            return fold_pb(dy)[1:]

        return y, fold_pullback

    def sum_pullback(dy):
        return (fill_like(xs, dy), unbroadcast(dy, start))

    return y, sum_pullback


def sum_fold(xs, start):
    """``sum(xs, start)`` as Python computes it, ``start + xs[0] + xs[1] + ...``, for items that are not
    numbers or arrays (lists concatenate, objects add by their ``__add__``)."""
    total = start
    for x in xs:
        total = total + x
    return total


def fill_like(xs, dy):
    """The cotangent of ``xs`` when every element (row of an array) receives ``dy``."""
    if is_array(xs):
        return xp_of(xs).broadcast_to(dy, xs.shape)
    items = [unbroadcast(dy, x) for x in xs]
    return items if type(xs) is list else tuple(items)


@adjoint(fill_like)
def fill_like_rule(xs, dy):
    def fill_like_pullback(dd):
        if is_array(xs):
            return (None, xp_of(dd).sum(dd, axis=0))
        return (None, builtins.sum(_nonzero(dd)))

    return fill_like(xs, dy), fill_like_pullback


def _nonzero(ds):
    return [d for d in ds if d is not None]


@adjoint(_nonzero)
def _nonzero_rule(ds):
    def nonzero_pullback(dd):
        out, k = [], 0
        for d in ds:
            if d is None:
                out.append(None)
            else:
                out.append(dd[k])
                k += 1
        return (out,)

    return _nonzero(ds), nonzero_pullback


_NO_DEFAULT = object()


def _extreme_rule(pick, args, key, default=_NO_DEFAULT):
    if default is not _NO_DEFAULT and len(args) != 1:
        pick(*args, default=default)  # Python's TypeError
    if len(args) == 1 and _user_iterable(args[0]):
        return _through_items(lambda items: _extreme_rule(pick, (items,), key, default), args[0])
    values = list(args[0]) if len(args) == 1 else list(args)
    if not values and default is not _NO_DEFAULT:
        x = args[0]

        def default_pullback(dy):
            return (cotangent_as([], x), KeywordGrads({"default": dy}))

        return default, default_pullback
    if key is None:
        y = pick(values)
        chosen = _chosen(values, y)
    else:
        chosen = [_key_choice(pick, values, key)]
        y = values[chosen[0]]

    def extreme_pullback(dy):
        # ties between numbers share the cotangent; any other item is chosen alone (see _chosen)
        share = dy if len(chosen) == 1 else dy / len(chosen)
        parts = _onehots(len(values), chosen, share)
        if len(args) == 1:
            return (cotangent_as(parts, args[0]),)
        return tuple(parts)

    return y, extreme_pullback


def extreme_choice(pick, values, key):
    """``(pick(values, key=key), the positions whose items get its cotangent)`` (``pick`` is ``max`` or
    ``min``): see _chosen and _key_choice."""
    if key is None:
        y = pick(values)
        return y, _chosen(values, y)
    best = _key_choice(pick, values, key)
    return values[best], [best]


@nograd
def _chosen(values, y):
    """The positions whose items get the cotangent of ``y = max(values)`` (``min``): when the items are not
    numbers or arrays (tuples, lists, objects), only the one Python returns; between equal numbers or
    arrays, all of them (the cotangent is shared)."""
    if not _numeric(y):
        return [next(i for i, v in enumerate(values) if v is y)]
    return [i for i, v in enumerate(values) if v is y or bool(np.all(v == y))]


@nograd
def _key_choice(pick, values, key):
    """The position of the item ``pick(values, key=key)`` returns (``pick`` is ``max`` or ``min``), which
    alone gets the cotangent: the first extreme one, the keys compared as Python's max/min compare them.
    The key runs once per item, as in Python (its side effects happen once)."""
    if not values:
        pick(values)  # Python's ValueError (a default was handled before)
    keys = [key(v) for v in values]
    best = 0
    for i in range(1, len(values)):
        if keys[i] > keys[best] if pick is max else keys[i] < keys[best]:
            best = i
    return best


def _onehots(n, chosen, share):
    out = [None] * n
    for i in chosen:
        out[i] = share
    return out


@adjoint(_onehots)
def _onehots_rule(n, chosen, share):
    def onehots_pullback(dd):
        if len(chosen) == 1:  # the item may be a tuple or a list (max of pairs): not summed
            return (None, None, dd[chosen[0]])
        return (None, None, builtins.sum(_nonzero([dd[i] for i in chosen])))

    return _onehots(n, chosen, share), onehots_pullback


@adjoint(builtins.max)
def max_rule(*args, key=None, default=_NO_DEFAULT):
    return _extreme_rule(max, args, key, default)


@adjoint(builtins.min)
def min_rule(*args, key=None, default=_NO_DEFAULT):
    return _extreme_rule(min, args, key, default)


# =========================================================================================================
# containers: conversion, iteration, zip/enumerate


def ndenumerate_impl(arr):
    """``np.ndenumerate(arr)``: the list of ``(index, value)`` pairs its iterator gives (NumPy's ``__next__``
    is not differentiated), which the transformer differentiates."""
    return list(zip(_ndindices(np.shape(arr)), np.asarray(arr).ravel(), strict=True))


@nograd
def _ndindices(shape):
    return list(np.ndindex(*shape))


register(np.ndenumerate, iterating(ndenumerate_impl))


def tolist_rule(self):
    """``x.tolist()``: nested lists of Python numbers; their cotangent goes back as an array of ``x``'s
    shape (:func:`nested_array`)."""

    def tolist_pullback(dy):
        return (nested_array(dy, self),)

    return self.tolist(), tolist_pullback


register_method("tolist", tolist_rule)


def nested_array(d, x):
    """The array cotangent of array ``x`` from ``d``, the cotangent of ``x.tolist()`` (nested lists or
    tuples, None for zero entries and rows)."""
    if d is None:
        return None
    xp = xp_of(x)
    shape = tuple(x.shape)
    out = xp.asarray(_zeros_for_none(d, shape))
    if out.dtype.kind not in "fc":
        out = out.astype(_float_like(x))
    return xp.reshape(out, shape)


@nograd
def _float_like(x):
    return x.dtype if x.dtype.kind in "fc" else np.float64


@nograd
def _zeros_for_none(d, shape):
    if d is None:
        return np.zeros(shape).tolist() if shape else 0.0
    if isinstance(d, (list, tuple)):
        return [_zeros_for_none(v, shape[1:]) for v in d]
    return d


@adjoint(nested_array)
def nested_array_rule(d, x):
    def nested_array_pullback(dd):
        return (None if dd is None else dd.tolist(), None)

    return nested_array(d, x), nested_array_pullback


def cotangent_as(ds, x):
    """A sequence cotangent ``ds`` (entries may be None) reshaped like the container ``x``.

    For a :class:`SequenceIterator`, ``ds`` holds the cotangents of its last items (the list, tuple, sum,
    for loop, ... that took them took all it had left): the result lines up with the whole sequence."""
    if type(x) is SequenceIterator:
        if all(d is None for d in ds):
            return None
        return [None] * (len(x.seq) - len(ds)) + list(ds)
    if is_array(x):
        xp = xp_of(x)
        rows = [xp.zeros(x.shape[1:], dtype=_float_dtype(x)) if d is None else d for d in ds]
        return xp.stack([xp.asarray(r) for r in rows]) if rows else xp.zeros(x.shape, dtype=_float_dtype(x))
    if all(d is None for d in ds):
        return None
    if type(x) is list:
        return list(ds)
    if type(x) is dict:
        return None  # iterating a dict yields its keys: no gradient
    return tuple(ds)


def _float_dtype(x):
    return x.dtype if x.dtype.kind in "fc" else np.float64


@adjoint(cotangent_as)
def cotangent_as_rule(ds, x):
    skip = len(x.seq) - len(ds) if type(x) is SequenceIterator else 0

    def cotangent_as_pullback(dd):
        if is_array(x):
            return (list(dd), None)
        return (tuple(dd)[skip:] if dd is not None else None, None)

    return cotangent_as(ds, x), cotangent_as_pullback


def iterlist(x):
    """``list(x)``: what a ``for`` loop over ``x`` visits (rows of an array, keys of a dict)."""
    return list(x)


nograd(_float_dtype)


@adjoint(iterlist, list)
def iterlist_rule(x=()):
    if _user_iterable(x):
        from ..runtime import call
        from .higher_order import iterate_user_object

        y, pb = call(iterate_user_object, x)

        def user_iteration_pullback(dy):
            return pb(dy)[1:]

        return y, user_iteration_pullback

    def iterlist_pullback(dy):
        return (cotangent_as(dy, x),)

    return list(x), iterlist_pullback


class SequenceIterator:
    """``iter(x)`` of a list, tuple or array in differentiated code (and what ``map`` and ``filter`` return):
    Python's iterator over ``x``, which also knows the position of its next item, so that the cotangents of
    the items ``next``, ``zip``, a ``for`` loop, ``list``, ``sum``, ... took go back to their places in
    ``x``. Its cotangent is a list with one entry per item of ``x`` (None where no gradient flows)."""

    def __init__(self, seq):
        self.seq = seq
        self.pos = 0

    def __iter__(self):
        return self

    def __next__(self):
        i = _advance(self)
        if i is None:
            raise StopIteration
        return self.seq[i]

    def __length_hint__(self):
        return max(len(self.seq) - self.pos, 0)

    def __repr__(self):
        return f"<iterator at item {self.pos} of {len(self.seq)}>"


@nograd
def rewind(it, count, last):
    """After a ``for`` loop that read ``count`` items from ``it`` and stopped at index ``last`` (-1: no trip;
    below ``count - 1``: it broke early): a SequenceIterator goes back to the first item not taken, as
    Python's loop would leave it. Other iterators cannot go back; their items past the break are used up
    (docs/limitations.md)."""
    if type(it) is SequenceIterator:
        it.pos -= count - (last + 1)
        tangent = getattr(it, "tangent", None)  # forward mode's (rules/forward_iteration.py: iter_jvp)
        if type(tangent) is SequenceIterator:
            tangent.pos = it.pos


@nograd
def _advance(it):
    """The position of the next item of SequenceIterator ``it``, moving ``it`` past it (None at the end)."""
    i = it.pos
    if i >= len(it.seq):
        return None
    it.pos = i + 1
    return i


def _user_iterable(x):
    """An object whose class defines ``__iter__`` in Python (not a list, tuple, array or iterator), or one
    iterated by its Python ``__getitem__`` (:func:`_by_index`)."""
    return _python_dunder(x, "__iter__") is not None or _by_index(x)


def _user_container(x):
    """A user iterable that is not an iterator itself (its class has no Python ``__next__``): iterating it
    all at once, where Python would take its items one by one, ends (an iterator may never end)."""
    if _by_index(x):
        return True
    return _python_dunder(x, "__iter__") is not None and _python_dunder(x, "__next__") is None


def _by_index(x):
    """An object Python iterates by the old sequence protocol: its class has no ``__iter__`` and a Python
    ``__getitem__``, which gives the items ``x[0], x[1], ...`` until it raises IndexError."""
    return getattr(type(x), "__iter__", None) is None and _python_dunder(x, "__getitem__") is not None


nograd(_user_iterable, _user_container, _by_index)


def _through_items(rule, x, *rest, **kwargs):
    """``rule(items, *rest, **kwargs)`` with ``items`` the list of what iterating ``x`` (an object with a
    Python ``__iter__``) gives, differentiated through its ``__iter__``: the items' cotangent goes back to
    ``x``'s fields."""
    from ..runtime import call

    items, items_pb = call(iterlist, x)
    y, pb = rule(items, *rest, **kwargs)

    def through_items_pullback(dy):
        g = tuple(pb(dy))
        return (None if g[0] is None else items_pb(g[0])[1],) + g[1:]

    return y, through_items_pullback


@adjoint(SequenceIterator)
def sequence_iterator_rule(seq):
    def sequence_iterator_pullback(dy):
        return (None if dy is None else cotangent_as(list(dy), seq),)

    return SequenceIterator(seq), sequence_iterator_pullback


def item_at(it, i):
    """Item ``i`` of the sequence SequenceIterator ``it`` iterates (``next`` took it)."""
    return it.seq[i]


@nograd
def _length_of(it):
    return len(it.seq)


@adjoint(item_at)
def item_at_rule(it, i):
    n = len(it.seq)

    def item_at_pullback(dy):
        return (seq_scatter(n, i, dy, True), None)

    return it.seq[i], item_at_pullback


@adjoint(iter)
def iter_rule(x, *sentinel):
    if sentinel:  # iter(callable, sentinel): next() of it refuses a gradient (see next_rule)
        return iter(x, *sentinel), _none_pullback(1 + len(sentinel))
    if type(x) is SequenceIterator:  # iter() of an iterator is the iterator
        return x, _same_pullback
    if type(x) is list or type(x) is tuple or (is_array(x) and x.ndim > 0):
        return sequence_iterator_rule(x)
    if _user_container(x):
        return _through_items(iter_rule, x)

    def iter_pullback(dy):
        # an iterator's cotangent is the sequence of its items' cotangents (see iterlist)
        return (cotangent_as(list(dy), x),)

    return iter(x), iter_pullback


_NO_ITEM = object()


@adjoint(next, SequenceIterator.__next__)
def next_rule(it, *default):
    if len(default) > 1:
        next(it, *default)  # Python's TypeError
    i = _advance(it) if type(it) is SequenceIterator else None
    if i is not None:
        n = _length_of(it)

        def next_pullback(dy):
            return (seq_scatter(n, i, dy, True),) + (None,) * len(default)

        return item_at(it, i), next_pullback
    y = _NO_ITEM if type(it) is SequenceIterator else _foreign_next(it)
    if y is _NO_ITEM:
        if not default:
            raise StopIteration
        return default[0], _default_item_pullback
    where = _where_next_called(y)

    def foreign_next_pullback(dy):
        if dy is not None:
            raise FluxpyError(FOREIGN_NEXT.format(kind=type(it).__name__, where=where))
        return (None,) * (1 + len(default))

    return y, foreign_next_pullback


FOREIGN_NEXT = (
    "next() of a {kind}: fluxpy follows the items of iter() of a list, tuple or array, of map() and of "
    "filter(), but not of this iterator, and a gradient has to flow through the item it gave.\n  {where}\n"
    "Take the items from a list instead (`items = list(...)`, then `items[0]` or `it = iter(items)`)."
)


@nograd
def _foreign_next(it):
    return next(it, _NO_ITEM)


@nograd
def _where_next_called(y):
    from ..runtime import user_location

    return user_location() if is_differentiable(y) else None


def _default_item_pullback(dy):
    return (None, dy)


@adjoint(tuple)
def tuple_rule(x=()):
    if _user_iterable(x):
        return _through_items(tuple_rule, x)

    def tuple_pullback(dy):
        return (cotangent_as(dy, x),)

    return tuple(x), tuple_pullback


@adjoint(zip)
def zip_rule(*xs, strict=False):
    if any(_user_container(x) for x in xs):
        return _zip_user_iterables(xs, strict)
    if any(type(x) is SequenceIterator for x in xs):
        # iterators (one may be passed twice: zip(it, it) pairs its items): the position of every item
        # taken, so that its cotangent goes back there
        taken, n, collected = _zip_positions(xs, strict)
        y = zip_rows(xs, taken, n, collected)
    else:
        y, taken = list(zip(*xs, strict=strict)), None
        n = len(y)

    def zip_pullback(dy):
        return _unzip(dy, xs, n, taken)

    return SequenceIterator(y), zip_pullback


@nograd
def _zip_positions(xs, strict):
    """What ``zip(*xs)`` takes from each argument, advancing its iterators as zip does: ``(taken, n,
    collected)`` where ``taken[j]`` lists the positions in argument ``j`` (in the sequence of a
    SequenceIterator) of its items in rows ``0, 1, ...`` (one more when a later argument ran out first), ``n``
    the number of rows, and ``collected[j]`` the items taken from an argument of another kind (a dict, a
    range, another iterator: positions in that list), None for the others."""
    taken = [[] for _ in xs]
    collected = [
        None if type(x) is SequenceIterator or type(x) is list or type(x) is tuple or is_array(x) else []
        for x in xs
    ]
    others = [None if c is None else iter(x) for x, c in zip(xs, collected, strict=True)]
    n = 0
    while True:
        for j, x in enumerate(xs):
            if type(x) is SequenceIterator:
                p = _advance(x)
            elif collected[j] is None:
                p = n if n < len(x) else None
            else:
                item = next(others[j], _NO_ITEM)
                p = None
                if item is not _NO_ITEM:
                    collected[j].append(item)
                    p = len(collected[j]) - 1
            if p is None:
                if strict:
                    _check_zip_strict(xs, j, n, others)
                return taken, n, collected
            taken[j].append(p)
        n += 1


def zip_rows(xs, taken, n, collected):
    """The ``n`` rows ``zip(*xs)`` gave, from the positions ``_zip_positions`` found."""
    sources = [
        x.seq if type(x) is SequenceIterator else x if collected[j] is None else collected[j]
        for j, x in enumerate(xs)
    ]
    return [tuple([sources[j][taken[j][i]] for j in range(len(xs))]) for i in range(n)]


@adjoint(zip_rows)
def zip_rows_rule(xs, taken, n, collected):
    def zip_rows_pullback(dy):
        return (_unzip(dy, xs, n, taken), None, None, None)

    return zip_rows(xs, taken, n, collected), zip_rows_pullback


def _check_zip_strict(xs, j, n, others):
    """``zip(..., strict=True)``'s error when argument ``j`` ran out at row ``n``."""

    def before(k):
        return f"arguments 1-{k}" if k > 1 else "argument 1"

    if j > 0:
        raise ValueError(f"zip() argument {j + 1} is shorter than {before(j)}")
    for k in range(1, len(xs)):
        x = xs[k]
        if type(x) is SequenceIterator:
            more = _advance(x) is not None
        elif others[k] is None:
            more = len(x) > n
        else:
            more = next(others[k], _NO_ITEM) is not _NO_ITEM
        if more:
            raise ValueError(f"zip() argument {k + 1} is longer than {before(k)}")


def _zip_user_iterables(xs, strict):
    """``zip`` of arguments some of which have a Python ``__iter__``: their items, differentiated through
    it, zipped."""
    from ..runtime import call

    converted = [call(iterlist, x) if _user_container(x) else (x, None) for x in xs]
    pullbacks = [pb for _, pb in converted]
    y, pb = zip_rule(*[items for items, _ in converted], strict=strict)

    def zip_user_iterables_pullback(dy):
        g = pb(dy)
        return tuple([d if p is None or d is None else p(d)[1] for d, p in zip(g, pullbacks, strict=True)])

    return y, zip_user_iterables_pullback


def _unzip(dy, xs, n, taken=None):
    """The cotangents of ``zip``'s arguments ``xs`` from that of its rows ``dy`` (``taken``: see
    _zip_positions; None when no argument is an iterator)."""
    out = []
    for j, x in enumerate(xs):
        column = [None if d is None else d[j] for d in dy]
        if taken is not None and type(x) is SequenceIterator:
            out.append(_placed(column, taken[j], len(x.seq)))
            continue
        if type(x) is list or type(x) is tuple or is_array(x):
            column = column + [None] * (len(x) - n)
        out.append(cotangent_as(column, x))
    return tuple(out)


def _placed(column, positions, n):
    """A length-``n`` list with ``column[i]`` at ``positions[i]`` (None elsewhere; None if all are)."""
    if all(d is None for d in column):
        return None
    out = [None] * n
    for d, p in zip(column, positions, strict=False):  # positions may have one more (zip stopped later)
        out[p] = d
    return out


@adjoint(_unzip)
def _unzip_rule(dy, xs, n, taken=None):
    def unzip_pullback(dd):
        rows = []
        for i in range(n):
            row = []
            for j, d in enumerate(dd):
                if d is None:
                    row.append(None)
                elif taken is not None and type(xs[j]) is SequenceIterator:
                    row.append(d[taken[j][i]])
                else:
                    row.append(_row(d, i))
            rows.append(tuple(row))
        return (rows, None, None, None)

    return _unzip(dy, xs, n, taken), unzip_pullback


def _row(d, i):
    return d[i]


@adjoint(enumerate)
def enumerate_rule(x, start=0):
    if _user_iterable(x):
        return _through_items(enumerate_rule, x, start)
    y = list(enumerate(x, start))

    def enumerate_pullback(dy):
        return (cotangent_as([None if d is None else d[1] for d in dy], x), None)

    return SequenceIterator(y), enumerate_pullback


@adjoint(reversed)
def reversed_rule(x):
    method = _python_dunder(x, "__reversed__")
    if method is not None:  # a class's own __reversed__, differentiated
        from ..runtime import call

        y, pb = call(method, x)

        def user_reversed_pullback(dy):
            return pb(dy)[1:]

        return y, user_reversed_pullback
    if _by_index(x) and _python_dunder(x, "__reversed__") is None and hasattr(type(x), "__len__"):
        # the sequence protocol: the items by __getitem__, differentiated, in reverse order
        return _through_items(reversed_rule, x)

    def reversed_pullback(dy):
        return (cotangent_as(list(dy)[::-1], x),)

    return SequenceIterator(list(reversed(x))), reversed_pullback


@adjoint(sorted)
def sorted_rule(x, key=None, reverse=False):
    if _user_iterable(x):
        return _through_items(sorted_rule, x, key, reverse)
    values = list(x)
    order = _sort_order(values, key, reverse)

    def sorted_pullback(dy):
        return (cotangent_as(permute_back(dy, order), x),)

    return pick(values, order), sorted_pullback


@nograd
def _sort_order(values, key, reverse):
    return sorted(
        range(len(values)), key=lambda i: values[i] if key is None else key(values[i]), reverse=reverse
    )


def pick(values, order):
    """``[values[i] for i in order]``."""
    return [values[i] for i in order]


@adjoint(pick)
def pick_rule(values, order):
    def pick_pullback(dy):
        return (permute_back(dy, order), None)

    return pick(values, order), pick_pullback


def permute_back(dy, order):
    """The cotangent of ``values`` from that of ``pick(values, order)`` (order is a permutation)."""
    out = [None] * len(order)
    for k, i in enumerate(order):
        out[i] = dy[k]
    return out


@adjoint(permute_back)
def permute_back_rule(dy, order):
    def permute_back_pullback(dd):
        return (pick(dd, order), None)

    return permute_back(dy, order), permute_back_pullback


# =========================================================================================================
# methods of dict, list and tuple (those that do not mutate)


def dict_get_rule(d, key, *default):
    present = key in d

    def dict_get_pullback(dy):
        if present:
            return ({key: dy}, None) + (None,) * len(default)
        return (None, None) + (dy,) * len(default)

    return d.get(key, *default), dict_get_pullback


def dict_items_rule(d):
    keys = list(d)

    def dict_items_pullback(dy):
        return (pack_dict(keys, *_seconds(dy)),)

    return list(d.items()), dict_items_pullback


def _seconds(pairs):
    return tuple(None if p is None else p[1] for p in pairs)


@adjoint(_seconds)
def _seconds_rule(pairs):
    def seconds_pullback(dd):
        return ([None if d is None else (None, d) for d in dd],)

    return _seconds(pairs), seconds_pullback


def dict_values_rule(d):
    keys = list(d)

    def dict_values_pullback(dy):
        return (pack_dict(keys, *dy),)

    return list(d.values()), dict_values_pullback


def copy_rule(x):
    def copy_pullback(dy):
        return (dy,)

    return x.copy(), copy_pullback


@adjoint(copy.copy)
def copy_copy_rule(x):
    """``copy.copy``: a new object with the same contents (arrays, containers, objects): the cotangent
    passes through unchanged."""
    return copy.copy(x), _same_pullback


@adjoint(copy.deepcopy)
def deepcopy_rule(x, *memo):
    def deepcopy_pullback(dy):
        return (dy,) + (None,) * len(memo)

    return copy.deepcopy(x, *memo), deepcopy_pullback


def _same_pullback(dy):
    return (dy,)


def _nondiff_method(method_name):
    def nondiff_method_rule(x, *args):
        return getattr(x, method_name)(*args), _none_pullback(1 + len(args))

    return nondiff_method_rule


register_container_method(dict, "get", dict_get_rule)
register_container_method(dict, "items", dict_items_rule)
register_container_method(dict, "values", dict_values_rule)
register_container_method(dict, "copy", copy_rule)
register_container_method(list, "copy", copy_rule)
for _kind, _name in [(dict, "keys"), (list, "index"), (list, "count"), (tuple, "index"), (tuple, "count")]:
    register_container_method(_kind, _name, _nondiff_method(_name))
# the C subclasses of dict that override these methods (in C) read their items as dict's do
register_container_method(collections.OrderedDict, "items", dict_items_rule)
register_container_method(collections.OrderedDict, "values", dict_values_rule)
register_container_method(collections.OrderedDict, "keys", _nondiff_method("keys"))
for _kind in (collections.OrderedDict, collections.defaultdict):
    register_container_method(_kind, "copy", copy_rule)


@adjoint(dict)
def dict_rule(*args, **kwargs):
    if len(args) == 1 and not (isinstance(args[0], (dict, list, tuple)) or hasattr(args[0], "keys")):
        # pairs from an iterator (read once) or an object with a Python __iter__: as a list first
        from ..runtime import call

        pairs, pairs_pb = call(iterlist, args[0])
        y, pb = dict_rule(pairs, **kwargs)

        def dict_of_items_pullback(dy):
            g = tuple(pb(dy))
            return (None if g[0] is None else pairs_pb(g[0])[1],) + g[1:]

        return y, dict_of_items_pullback
    y = dict(*args, **kwargs)
    keys = None
    if args and not isinstance(args[0], dict):
        # pairs: a repeated key keeps its last value (a keyword argument overrides them all)
        keys = _pair_keys(args[0])

    def dict_pullback(dy):
        out = ()
        if args:
            source = args[0]
            if isinstance(source, dict):
                out = ({k: None if k in kwargs else dy.get(k) for k in source},)
            else:
                values = dict_values(dy, keys)
                out = ([(None, None if k in kwargs else v) for k, v in zip(keys, values, strict=True)],)
        if kwargs:
            out = out + (KeywordGrads({k: dy.get(k) for k in kwargs}),)
        return out

    return y, dict_pullback


@adjoint(collections.OrderedDict)
def ordered_dict_rule(*args, **kwargs):
    """``OrderedDict(...)``: built from its arguments as ``dict(...)`` is, in the same order."""
    d, back = dict_rule(*args, **kwargs)
    return collections.OrderedDict(d), back


@adjoint(collections.defaultdict)
def defaultdict_rule(*args, **kwargs):
    """``defaultdict(factory, ...)``: the items from the other arguments, as ``dict(...)``; the factory gets
    no gradient."""
    d, back = dict_rule(*args[1:], **kwargs)
    y = collections.defaultdict(args[0] if args else None, d)

    def defaultdict_pullback(dy):
        return (None,) + tuple(back(dy))

    return y, defaultdict_pullback


@adjoint(dict.fromkeys)
def dict_fromkeys_rule(keys, value=None):
    """``dict.fromkeys(keys, value)``: every key holds ``value``, whose cotangent sums theirs."""
    y = dict.fromkeys(keys, value)
    names = list(y)

    def dict_fromkeys_pullback(dy):
        total = None
        if dy is not None:
            for k in names:
                total = accum(total, dy.get(k))
        return (None, total)

    return y, dict_fromkeys_pullback


@adjoint(types.SimpleNamespace)
def simple_namespace_rule(*args, **kwargs):
    """``types.SimpleNamespace(**fields)`` (and a mapping first, where Python takes one): an object whose
    attributes are the fields, its cotangent a Tangent of theirs."""
    y = types.SimpleNamespace(*args, **kwargs)

    def simple_namespace_pullback(dy):
        out = ()
        if args:
            out = ({k: None if k in kwargs else field_of(dy, k) for k in args[0]},)
        return out + (KeywordGrads({k: field_of(dy, k) for k in kwargs}),)

    return y, simple_namespace_pullback


def _float_scalar_rule(kind):
    """The rule of a NumPy float type called as a function (``np.float64(x)``)."""

    def float_scalar_rule(x=0.0):
        def float_scalar_pullback(dy):
            return (dy,)

        return kind(x), float_scalar_pullback

    return float_scalar_rule


for _kind in (np.float64, np.float32, np.float16):
    adjoint(_kind)(_float_scalar_rule(_kind))


# =========================================================================================================
# attribute and item access


@adjoint(builtins.getattr)
def getattr_rule(obj, name, *default):
    if is_array(obj) or isinstance(obj, np.generic) or type(obj) is complex and name in ("real", "imag"):
        if type(obj) is not np.ndarray and name not in _MASK_METADATA:
            refuse_masked((obj,))  # ``a.data``, ``a.filled`` of a masked array: the values without the mask
        rule = lookup_attribute(name)
        if rule is not None:
            y, back = rule(obj)

            def array_attribute_pullback(dy):
                return (back(dy)[0], None) + (None,) * len(default)

            return y, array_attribute_pullback
        y = getattr(obj, name, *default)
        if runtime.bound_to(y, obj):
            # ``a.sum`` taken as a value: calling it gives the array's cotangent as the method's own
            # (runtime.array_method_forward), which is the array's
            return y, _receiver_pullback(len(default))
        if name in VALUE_ATTRIBUTES and y is not None:
            return y, _value_attribute_pullback(name, len(default), runtime.user_location())
        return y, _none_pullback(2 + len(default))
    if (type(obj) is float or type(obj) is int) and (name == "real" or name == "imag"):
        # a Python number's real part is itself, its imaginary part a constant 0
        if name == "imag":
            return obj.imag, _none_pullback(2 + len(default))
        return obj.real, _receiver_pullback(len(default))
    if isinstance(obj, enum.Enum):  # a member is a constant: its ``value`` and ``name`` carry no gradient
        return getattr(obj, name, *default), _none_pullback(2 + len(default))
    hook = attributes.read_hook(obj, name)
    if hook is not None:  # a property, a descriptor, __getattr__: their code is differentiated
        from ..runtime import call

        fn, positions, index = hook
        target = attributes.proxied(obj)  # super().prop: the getter runs on the object (the proxy's gradient)
        y, pb = call(fn, *[target if p == 1 else p for p in positions])

        def attribute_hook_pullback(dy):
            return (pb(dy)[index], None) + (None,) * len(default)

        return y, attribute_hook_pullback
    y = getattr(obj, name, *default)

    def getattr_pullback(dy):
        return (runtime.field_cotangent(obj, name, dy), None) + (None,) * len(default)

    return y, getattr_pullback


# what may be read of a masked array (refused otherwise): its layout and its mask, which carry no gradient
_MASK_METADATA = frozenset(
    {"shape", "dtype", "ndim", "size", "strides", "itemsize", "nbytes", "flags", "mask", "_mask"}
)

# array attributes that hold its values in a form no rule follows: a gradient reaching them is refused (the
# others, ``shape``, ``dtype``, ``strides``, ``flags``, ..., describe the array and carry none); ``x.flat``,
# ``x.T``, ``x.real`` and ``x.imag`` have rules
VALUE_ATTRIBUTES = {
    "data": ("a memoryview of its buffer", "`x` itself, or `np.asarray(x)`"),
    "base": ("the array it views", "the array itself, or `x.reshape(...)` of it"),
}


@nograd
def _value_attribute_pullback(name, ndefault, where):
    """The pullback of ``x.data`` or ``x.base`` (VALUE_ATTRIBUTES): a NoAdjointError when a gradient reaches
    it (reading ``x.base is None`` needs none)."""

    def value_attribute_pullback(dy):
        if dy is not None:
            raise no_adjoint_attribute(name, where)
        return (None,) * (2 + ndefault)

    return value_attribute_pullback


@nograd
def no_adjoint_attribute(name, where):
    """The NoAdjointError for a gradient through the array attribute ``name`` (VALUE_ATTRIBUTES)."""
    from ..errors import NO_ADJOINT_ATTRIBUTE, NoAdjointError

    what, fix = VALUE_ATTRIBUTES[name]
    return NoAdjointError(NO_ADJOINT_ATTRIBUTE.format(name=name, what=what, fix=fix, where=where))


def _receiver_pullback(ndefault):
    """The pullback of ``getattr(obj, name, *default)`` whose value's cotangent is ``obj``'s (a method bound
    to it, a real number's ``real``)."""

    def receiver_pullback(dy):
        return (dy, None) + (None,) * ndefault

    return receiver_pullback


@nograd
def _none_pullback(n):
    nones = (None,) * n

    def none_pullback(dy):
        return nones

    return none_pullback


@adjoint(operator.getitem)
def getitem_rule(x, idx):
    if is_array(x) or isinstance(x, np.generic):
        if type(x) is not np.ndarray:
            refuse_masked((x,))  # ``a[i]`` of a masked array may be ``np.ma.masked``
        return array_getitem_rule(x, sequence_indices(idx))
    if isinstance(x, dict):

        def dict_getitem_pullback(dy):
            return ({idx: dy}, None)

        return x[idx], dict_getitem_pullback
    if isinstance(x, (tuple, list)):
        n = len(x)

        def sequence_getitem_pullback(dy):
            return (seq_scatter(n, idx, dy, type(x) is list), None)

        return x[idx], sequence_getitem_pullback
    if type(x) is str or type(x) is bytes or type(x) is range:
        return x[idx], _none_pullback(2)
    return _user_getitem(x, idx)


def _user_getitem(x, idx):
    """``x[idx]`` on any other object: its Python ``__getitem__`` is differentiated; a C one must not be
    asked for a gradient."""
    from ..runtime import call, foreign_forward

    method = _python_dunder(x, "__getitem__")
    if method is None:
        y, pb = foreign_forward(operator.getitem, x, idx)
        if pb.__name__ == "no_adjoint_pullback":  # a gradient would have to pass: say which object it was
            pb = _c_getitem_pullback(x, runtime.user_location())
    else:
        y, pb = call(method, x, idx)

    def user_getitem_pullback(dy):
        return pb(dy)[1:]

    return y, user_getitem_pullback


@nograd
def _c_getitem_pullback(x, where):
    """The pullback of ``x[i]`` on an object whose ``__getitem__`` is C code with no rule (a
    ``collections.deque``, a ``numpy.flatiter``): a NoAdjointError naming its type (a rule for
    ``operator.getitem`` itself would replace indexing everywhere, so converting is the advice)."""
    from ..errors import NO_ADJOINT_ITEM, NO_ADJOINT_ITEM_FIXES, NoAdjointError

    cls = type(x)
    kind = cls.__qualname__ if cls.__module__ == "builtins" else f"{cls.__module__}.{cls.__qualname__}"
    fix = NO_ADJOINT_ITEM_FIXES.get(kind, "`list(x)[i]`, or `np.asarray(x)[i]`")

    def c_getitem_pullback(dy):
        raise NoAdjointError(NO_ADJOINT_ITEM.format(kind=kind, expr="`obj[i]`", fix=fix, where=where))

    return c_getitem_pullback


def seq_scatter(n, idx, dy, as_list):
    """A length-``n`` sequence cotangent that is ``dy`` at ``idx`` (an int or a slice) and None elsewhere."""
    out = [None] * n
    if isinstance(idx, slice):
        for k, i in enumerate(range(*idx.indices(n))):
            out[i] = dy[k]
    else:
        out[idx] = dy
    return out if as_list else tuple(out)


@adjoint(seq_scatter)
def seq_scatter_rule(n, idx, dy, as_list):
    def seq_scatter_pullback(dd):
        if dd is None:
            return (None, None, None, None)
        if isinstance(idx, slice):
            return (None, None, tuple(dd[i] for i in range(*idx.indices(n))), None)
        return (None, None, dd[idx], None)

    return seq_scatter(n, idx, dy, as_list), seq_scatter_pullback


# =========================================================================================================
# helpers called by generated code


def pack_tuple(*xs):
    """``(a, b, ...)`` in generated code."""
    return xs


@adjoint(pack_tuple)
def pack_tuple_rule(*xs):
    def pack_tuple_pullback(dy):
        return tuple(dy)

    return xs, pack_tuple_pullback


def pack_list(*xs):
    """``[a, b, ...]`` in generated code."""
    return list(xs)


@adjoint(pack_list)
def pack_list_rule(*xs):
    def pack_list_pullback(dy):
        return tuple(dy)

    return list(xs), pack_list_pullback


def pack_dict(keys, *values):
    """``{k1: a, k2: b}`` in generated code (keys are evaluated without gradient)."""
    return dict(zip(keys, values, strict=True))


@adjoint(pack_dict)
def pack_dict_rule(keys, *values):
    def pack_dict_pullback(dy):
        return (None,) + dict_values(dy, keys)

    return pack_dict(keys, *values), pack_dict_pullback


def dict_values(d, keys):
    """The values of dict ``d`` at ``keys`` (None where absent), as a tuple. A key that ``keys`` repeats
    (``1`` and ``1.0`` are one key) gets its value at its last position only, None at the others: in
    ``{k: a, k: b}`` only ``b`` is kept, so only ``b`` has a gradient (this is the transpose of
    ``pack_dict``, and ``pack_dict`` is its transpose)."""
    last = _last_positions(keys)
    if last is None:
        return tuple(d.get(k) for k in keys)
    return tuple(d.get(k) if last[i] else None for i, k in enumerate(keys))


@nograd
def _last_positions(keys):
    """None when ``keys`` has no repeated key; otherwise one bool per position: True where that key occurs
    for the last time (the occurrence whose value a dict keeps)."""
    final = {}
    for i, k in enumerate(keys):
        final[k] = i
    if len(final) == len(keys):
        return None
    return [final[k] == i for i, k in enumerate(keys)]


@adjoint(dict_values)
def dict_values_rule(d, keys):
    def dict_values_pullback(dd):
        return (pack_dict(keys, *dd), None)

    return dict_values(d, keys), dict_values_pullback


def unpack(x, n):
    """``a, b = x`` in generated code: ``x`` as a tuple of exactly ``n`` items."""
    items = tuple(x)
    if len(items) != n:
        raise ValueError(f"cannot unpack {len(items)} values into {n} names")
    return items


@adjoint(unpack)
def unpack_rule(x, n):
    if _user_iterable(x):
        return _through_items(unpack_rule, x, n)

    def unpack_pullback(dy):
        return (cotangent_as(dy, x), None)

    return unpack(x, n), unpack_pullback


def unpack_starred(x, before, after):
    """``a, *rest, z = x`` in generated code (``before`` names before the star, ``after`` after it): the
    items of ``x`` as a tuple whose entry ``before`` is the list of the middle items."""
    items = list(x)
    if len(items) < before + after:
        expected = before + after
        raise ValueError(f"not enough values to unpack (expected at least {expected}, got {len(items)})")
    end = len(items) - after
    return tuple(items[:before]) + (items[before:end],) + tuple(items[end:])


@adjoint(unpack_starred)
def unpack_starred_rule(x, before, after):
    if _user_iterable(x):
        return _through_items(unpack_starred_rule, x, before, after)
    y = unpack_starred(x, before, after)
    middle = len(y[before])

    def unpack_starred_pullback(dy):
        rest = dy[before] if dy[before] is not None else [None] * middle
        return (cotangent_as(list(dy[:before]) + list(rest) + list(dy[before + 1 :]), x), None, None)

    return y, unpack_starred_pullback


def freevars(fn, names):
    """The values captured by closure ``fn`` under ``names``."""
    code = fn.__code__
    positions = _freevar_positions.get((code, names))
    if positions is None:
        positions = _freevar_positions.setdefault((code, names), tuple(map(code.co_freevars.index, names)))
    cells = fn.__closure__
    # a pullback closes over the pullbacks of every branch; those of branches not taken stay empty (an
    # empty cell compares equal only to another empty cell, without reading either: no exception to catch)
    return tuple([None if cells[i] == _EMPTY_CELL else cells[i].cell_contents for i in positions])


_freevar_positions = {}  # (code, names) -> the cells' positions (one entry per generated closure read)


def _empty_cell():
    if False:
        value = None  # never assigned: the closure's cell stays empty

    def reader():
        return value

    return reader.__closure__[0]


_EMPTY_CELL = _empty_cell()


@adjoint(freevars)
def freevars_rule(fn, names):
    def freevars_pullback(dvalues):
        return (closure_tangent(fn, names, dvalues), None)

    return freevars(fn, names), freevars_pullback


def closure_tangent(fn, names, values):
    """The cotangent of closure ``fn``: a Tangent of its captured variables, or None if none has one."""
    for v in values:
        if v is not None:
            return Tangent(fn, dict(zip(names, values, strict=True)))
    return None


@adjoint(closure_tangent)
def closure_tangent_rule(fn, names, values):
    def closure_tangent_pullback(dt):
        return (None, None, tangent_values(dt, names))

    return closure_tangent(fn, names, values), closure_tangent_pullback


def tangent_values(t, names):
    """The fields ``names`` of Tangent ``t`` (None when ``t`` is None or lacks them)."""
    if t is None:
        return (None,) * len(names)
    return tuple(t.get(name) for name in names)


@adjoint(tangent_values)
def tangent_values_rule(t, names):
    def tangent_values_pullback(dd):
        return (Tangent(t.primal_type if t is not None else object, dict(zip(names, dd, strict=True))), None)

    return tangent_values(t, names), tangent_values_pullback


def tangent_field(t, name):
    """Field ``name`` of the cotangent ``t`` of a closure (None when absent)."""
    if t is None:
        return None
    return t.get(name)


@adjoint(tangent_field)
def tangent_field_rule(t, name):
    def tangent_field_pullback(dd):
        return (Tangent(t.primal_type if t is not None else object, {name: dd}), None)

    return tangent_field(t, name), tangent_field_pullback


def recursive_fields(d, names, fields):
    """The cotangents of the variables ``fields`` that a recursive local function captures, summed over
    its own cotangent ``d``: each call of itself nests one level deeper, as a field named by one of
    ``names`` (its own name, and the names it is copied to)."""
    out = (None,) * len(fields)
    pending = [d]
    while pending:
        d = pending.pop()
        if d is None:
            continue
        out = tuple([accum(o, tangent_field(d, v)) for o, v in zip(out, fields, strict=True)])
        pending.extend(tangent_field(d, name) for name in names)
    return out


def expand(d, count):
    """A tuple cotangent for ``*args`` of length ``count`` (None expands to Nones)."""
    if d is None:
        return (None,) * count
    return tuple(d)


@adjoint(expand)
def expand_rule(d, count):
    def expand_pullback(dd):
        return (dd, None)

    return expand(d, count), expand_pullback


@adjoint(Tangent)
def tangent_type_rule(primal_type, fields):
    def tangent_type_pullback(dt):
        return (None, None if dt is None else tangent_fields(dt))

    return Tangent(primal_type, fields), tangent_type_pullback


def tangent_fields(t):
    """The fields of a Tangent cotangent (or of a dict one) as a dict."""
    return dict(t._fields) if isinstance(t, Tangent) else dict(t)


@adjoint(tangent_fields)
def tangent_fields_rule(t):
    def tangent_fields_pullback(dd):
        return (Tangent(t.primal_type, dd) if isinstance(t, Tangent) and dd is not None else dd,)

    return tangent_fields(t), tangent_fields_pullback


@adjoint(Tangent.get)
def tangent_get_rule(t, name, default=None):
    def tangent_get_pullback(dd):
        return (Tangent(t.primal_type, {name: dd}), None, None)

    return t.get(name, default), tangent_get_pullback


@adjoint(Tangent.__getitem__)
def tangent_getitem_rule(t, name):
    """``t[name]`` (a gradient's field read inside a differentiated function: gradient of a gradient)."""

    def tangent_getitem_pullback(dd):
        return (Tangent(t.primal_type, {name: dd}), None)

    return t[name], tangent_getitem_pullback


@adjoint(KeywordGrads)
def keyword_grads_type_rule(d=()):
    def keyword_grads_type_pullback(dd):
        return (None if dd is None else dict(dd),)

    return KeywordGrads(d), keyword_grads_type_pullback


def keyword_grads(names, values, rest):
    """The trailing dict of a pullback result: gradients of keyword-only parameters and ``**kwargs``."""
    out = KeywordGrads(rest) if rest else KeywordGrads()
    for name, value in zip(names, values, strict=True):
        if value is not None:
            out[name] = value
    return out


@adjoint(keyword_grads)
def keyword_grads_rule(names, values, rest):
    def keyword_grads_pullback(dd):
        return (None, dict_values(dd, names), dd)

    return keyword_grads(names, values, rest), keyword_grads_pullback


def cons_to_list(acc):
    """The list of items pushed on the linked list ``acc = (item, acc)``, first pushed first."""
    out = []
    while acc is not None:
        out.append(acc[0])
        acc = acc[1]
    out.reverse()
    return out


@adjoint(cons_to_list)
def cons_to_list_rule(acc):
    def cons_to_list_pullback(dl):
        d = None
        for item in dl:
            d = (item, d)
        return (d,)

    return cons_to_list(acc), cons_to_list_pullback


def cons_to_set(acc):
    """A set of the items of a linked list (sets carry no gradient: floats are refused)."""
    return pack_set(*cons_to_list(acc))


def pack_set(*xs):
    """``{a, b, ...}`` in generated code. A set has no order to mirror a gradient on, so floating-point
    elements are refused (a later read would lose their gradient); ints, strings and the like are fine."""
    for x in xs:
        if isinstance(x, (float, np.floating)) or (is_array(x) and x.dtype.kind in "fc"):
            from ..errors import FluxpyError

            raise FluxpyError(
                "a set of floating-point values has no gradient (sets are unordered); use a list or a tuple"
            )
    return set(xs)


def cons_to_dict(acc):
    """A dict from the (key, value) items of a linked list, later keys winning."""
    return dict(cons_to_list(acc))


@adjoint(cons_to_dict)
def cons_to_dict_rule(acc):
    items = cons_to_list(acc)
    keys = _pair_keys(items)

    def cons_to_dict_pullback(dd):
        # a repeated key keeps its last value: only that one gets the cotangent
        d = None
        for value in dict_values(dd, keys):
            d = ((None, value), d)
        return (d,)

    return dict(items), cons_to_dict_pullback


@nograd
def _pair_keys(pairs):
    """The keys of a sequence of (key, value) pairs."""
    return [k for k, _ in pairs]


nograd(cons_to_set, pack_set)


def write_attribute(obj, name, value):
    """``obj.name = value`` (and ``setattr(obj, name, value)``) in generated code, only on the fresh object
    of a constructor or a local object; returns ``obj``."""
    setattr(obj, name, value)
    return obj


def object_setattr(obj, name, value):
    """``object.__setattr__(obj, name, value)`` in generated code (a class's own ``__setattr__`` calling
    its default): a property's setter still runs, the class's ``__setattr__`` does not; returns ``obj``."""
    object.__setattr__(obj, name, value)
    return obj


def parent_setattr(cls, obj, name, value):
    """``super().__setattr__(name, value)`` in a method of ``cls``, in generated code; returns ``obj``."""
    super(cls, obj).__setattr__(name, value)
    return obj


@adjoint(write_attribute)
def write_attribute_rule(obj, name, value):
    return _write_through(attributes.write_hook(obj, name), obj, name, value)


@adjoint(object_setattr)
def object_setattr_rule(obj, name, value):
    return _write_through(attributes.descriptor_write_hook(obj, name), obj, name, value)


def _write_through(hook, obj, name, value):
    """``obj.name = value`` as a plain field (no ``hook``) or through the class's code (see _hooked_write)."""
    if hook is None:
        return _plain_write(obj, name, value)
    return _hooked_write(hook, obj, name, value)


@adjoint(parent_setattr)
def parent_setattr_rule(cls, obj, name, value):
    setter = attributes.parent_setattr(cls, obj)
    y, back = (
        object_setattr_rule(obj, name, value)
        if setter is None
        else _hooked_write((setter, "setattr"), obj, name, value)
    )

    def parent_setattr_pullback(dobj):
        return (None,) + back(dobj)

    return y, parent_setattr_pullback


def with_value(manager, entered):
    """``v`` of ``with manager as v`` (generated code): what ``manager.__enter__()`` returned."""
    return entered


@adjoint(with_value)
def with_value_rule(manager, entered):
    field = attributes.entered_field(manager, entered)

    def with_value_pullback(dv):
        if dv is None:
            return (None, None)
        if field is None:
            attributes.refuse_entered(manager, entered)
            return (None, None)
        return (dv if field is attributes.ITSELF else Tangent(type(manager), {field: dv}), None)

    return entered, with_value_pullback


def caught(exc):
    """``e`` of ``except E as e`` in generated code: the exception as raised."""
    return exc


@adjoint(caught)
def caught_rule(exc):
    def caught_pullback(dexc):
        if dexc is not None and _has_gradient(dexc):
            from ..errors import FluxpyError
            from ..runtime import user_location

            raise FluxpyError(
                f"a value read from the caught {type(exc).__name__} needs a gradient, and fluxpy does not "
                "follow values through a raise (the code that made them stopped there).\n"
                f"  {user_location()}\n"
                "Return the value instead of raising it, or wrap a constant read from it in fx.dropgrad."
            )
        return (None,)

    return exc, caught_pullback


@nograd
def _has_gradient(d):
    """Whether a cotangent holds anything but None (nested tuples, lists, dicts and Tangents)."""
    if d is None:
        return False
    if isinstance(d, (tuple, list)):
        return any(_has_gradient(v) for v in d)
    if isinstance(d, (dict, Tangent)):
        return any(_has_gradient(v) for v in d.values())
    return True


def store_field(obj, name, value):
    """``obj.name = value`` as a plain field (no class hook runs: the caller found none); returns ``obj``."""
    object.__setattr__(obj, name, value)
    return obj


@adjoint(store_field)
def store_field_rule(obj, name, value):
    def write_attribute_pullback(dobj):
        return (without_field(dobj, name), None, field_of(dobj, name))

    return store_field(obj, name, value), write_attribute_pullback


_plain_write = store_field_rule


def _hooked_write(hook, obj, name, value):
    """A write through the class's ``__setattr__`` or a property's setter: its code differentiated as a
    constructor's is (a function returning the object, whose attribute writes are differentiated)."""
    from ..transform.cache import forward_function

    setter, kind = hook
    args = (obj, name, value) if kind == "setattr" else (obj, value)
    y, pb = forward_function(setter, constructor=True)(setter, *args)

    def attribute_setter_pullback(dobj):
        g = pb(dobj)
        return (g[1], None, g[-1])

    return y, attribute_setter_pullback


def field_of(t, name):
    """Field ``name`` of an object's cotangent (None when absent)."""
    if t is None:
        return None
    return t.get(name)


@adjoint(field_of)
def field_of_rule(t, name):
    def field_of_pullback(dd):
        return (Tangent(t.primal_type if t is not None else object, {name: dd}), None)

    return field_of(t, name), field_of_pullback


def without_field(t, name):
    """An object's cotangent with field ``name`` removed: the gradient of the value before the write."""
    if t is None or name not in t:
        return t
    rest = {k: v for k, v in t.items() if k != name}
    return Tangent(t.primal_type, rest) if rest else None


@adjoint(without_field)
def without_field_rule(t, name):
    def without_field_pullback(dd):
        return (without_field(dd, name), None)

    return without_field(t, name), without_field_pullback


def check_try_step(step, compound, untouched):
    """In an ``except`` handler: a block the exception interrupted must not have recorded anything."""
    if step in compound and not untouched:
        from ..errors import FluxpyError

        raise FluxpyError(
            "an exception was caught after it interrupted a loop, if, with or try block inside a try body; "
            f"fluxpy cannot replay a partly run block backwards.\n  {runtime.user_location()}\n"
            "Move that block into a function of its own and call it from the try body."
        )


nograd(check_try_step)


def starred_grads(g, start, like=None):
    """The gradients of ``*args`` in a pullback result that may end with a keyword dict. Given the value
    splatted, ``like``: an array's (``f(*x)``, ``[*x]``) is one array of its shape, zeros for the items
    given none, or None when none is given one; a tuple of items' gradients would not add to the array's
    other gradients, and its Nones would become NaN."""
    items = g[start:-1] if g and type(g[-1]) is KeywordGrads else g[start:]
    if like is None or not is_array(like):
        return items
    for d in items:
        if d is not None:
            from .helpers import stacked

            return stacked(items, like)
    return None


@adjoint(starred_grads)
def starred_grads_rule(g, start, *like):
    items = starred_grads(g, start)
    whole = bool(like) and is_array(like[0])

    def starred_grads_pullback(dd):
        if whole:  # the array's cotangent: its rows, to the items that had a gradient
            dd = tuple(None if dd is None or items[i] is None else dd[i] for i in range(len(items)))
        dg = (None,) * start + tuple(dd) + (None,) * (len(g) - start - len(dd))
        return (dg, None) + (None,) * len(like)

    return starred_grads(g, start, *like), starred_grads_pullback


@adjoint(accum)
def accum_rule(a, b):
    def accum_pullback(dy):
        return (restrict_to(dy, a), restrict_to(dy, b))

    return accum(a, b), accum_pullback


def restrict_to(d, like):
    """The parts of the cotangent ``d`` that the cotangent ``like`` has: None where ``like`` is None, and
    only ``like``'s keys and fields of a dict or Tangent (two cotangents summed by ``accum`` may have
    different keys: a partial's keywords, a dict's entries)."""
    if like is None or d is None:
        return None
    t = type(like)
    if (t is tuple or t is list) and type(d) is t and len(d) == len(like):
        return t(restrict_to(x, y) for x, y in zip(d, like, strict=True))
    if (t is dict or t is KeywordGrads) and isinstance(d, dict):
        return t({k: restrict_to(d[k], v) for k, v in like.items() if k in d})
    if t is Tangent and type(d) is Tangent:
        fields = {k: restrict_to(d.get(k), v) for k, v in like.items()}
        return Tangent(like.primal_type, fields)
    return d


@adjoint(restrict_to)
def restrict_to_rule(d, like):
    def restrict_to_pullback(dy):
        return (restrict_to(dy, like), None)

    return restrict_to(d, like), restrict_to_pullback


from .. import runtime  # noqa: E402  (last: runtime's own imports reach this module)
