"""Forward rules of arithmetic: Python's operators and the NumPy ufuncs behind them, the elementwise table,
and the linear maps pullbacks apply (sums, reshapes, transposes, ``unbroadcast``), whose tangent goes
through the same map.

These are the hottest forward rules: numbers and arrays are tested first (``_NUMERIC``), then sequences
(which NumPy converts to arrays), and user classes go through their Python ``__op__``/``__rop__``.
"""

import builtins
import operator
import types

import numpy as np

from ..backend import is_array, xp_of
from . import augmented
from . import numpy_elementwise as ew
from .forward_core import (
    _add,
    _arity,
    _forward_error,
    _forward_mode,
    _items,
    _like,
    _plain,
    _scale,
    _seq,
    keyword_forward_rule,
)
from .helpers import cast, cast_back, conj, refuse_masked, unbroadcast
from .mutation import check_in_place_view
from .numpy_reductions import spread
from .numpy_shape import grads_first
from .python_in_place import (
    check_in_place_fits,
    check_shared_in_place,
    in_place_method,
    stored_as,
    user_in_place,
)
from .python_iteration import nested_array
from .python_power import power_by_constant, zero_base_power
from .registry import forward_rule

# ---------------------------------------------------------------------------------------------------------
# operators and ufuncs


def _dunder_jvp(name, args, targs):
    """User classes: their Python ``__op__``/``__rop__``, differentiated in forward mode."""
    from ..forward import jvp_call
    from .python_operators import via_dunders

    a, b = args
    return jvp_call(
        via_dunders, None, (f"__{name}__", f"__r{name}__", a, b), (None, None) + tuple(targs), {}, {}
    )


_NUMERIC = frozenset({float, int, complex, np.ndarray, np.float64, np.float32, np.int64, np.complex128})


@forward_rule(operator.add)
def add_jvp(args, targs):
    a, b = args
    if type(a) in _NUMERIC and type(b) in _NUMERIC:
        return a + b, _add(targs[0], targs[1])
    if not (_plain(a) and _plain(b)):
        return _dunder_jvp("add", args, targs)
    if _seq(a) and _seq(b):  # concatenation
        t = _items(targs[0], a) + _items(targs[1], b)
        return a + b, list(t) if isinstance(a, list) else t
    if _seq(a) or _seq(b):  # NumPy converts the list
        return a + b, _add(
            targs[0] if not _seq(a) else _array(targs[0], a), targs[1] if not _seq(b) else _array(targs[1], b)
        )
    return a + b, _add(targs[0], targs[1])


@forward_rule(np.add)
def numpy_add_jvp(args, targs):
    a, b = args
    return np.add(a, b), _add(
        targs[0] if not _seq(a) else _array(targs[0], a), targs[1] if not _seq(b) else _array(targs[1], b)
    )


def _numpy_semantics(jvp):
    """The forward rule of a NumPy ufunc from its operator's: lists and tuples are arrays to NumPy
    (``np.multiply([x, x], 2)`` doubles each entry, where ``[x, x] * 2`` repeats the list)."""

    def ufunc_jvp(args, targs):
        if any(_seq(a) for a in args):
            targs = tuple(_array(t, a) if _seq(a) else t for t, a in zip(targs, args, strict=True))
            args = tuple(np.asarray(a) if _seq(a) else a for a in args)
        return jvp(args, targs)

    ufunc_jvp.__name__ = f"numpy_{jvp.__name__}"
    return ufunc_jvp


def _array(t, x):
    if t is None:
        return None
    return np.asarray([0.0 if v is None else v for v in t])


@forward_rule(operator.sub, np.subtract)
def subtract_jvp(args, targs):
    a, b = args
    if type(a) in _NUMERIC and type(b) in _NUMERIC:
        return a - b, _add(targs[0], _scale(targs[1], -1))
    if not (_plain(a) and _plain(b)):
        return _dunder_jvp("sub", args, targs)
    if _seq(a) or _seq(b):
        a, b = np.asarray(a), np.asarray(b)
        targs = (
            _array(targs[0], args[0]) if _seq(args[0]) else targs[0],
            _array(targs[1], args[1]) if _seq(args[1]) else targs[1],
        )
    return a - b, _add(targs[0], _scale(targs[1], -1))


@forward_rule(operator.mul)
def multiply_jvp(args, targs):
    a, b = args
    if type(a) in _NUMERIC and type(b) in _NUMERIC:
        return a * b, _add(_scale(targs[0], b), _scale(targs[1], a))
    if not (_plain(a) and _plain(b)):
        return _dunder_jvp("mul", args, targs)
    if _seq(a) or _seq(b):
        if isinstance(b, int) or isinstance(a, int):  # repetition
            seq, reps, t = (a, b, targs[0]) if _seq(a) else (b, a, targs[1])
            out = _items(t, seq) * reps
            return a * b, list(out) if isinstance(seq, list) else out
        a, b = np.asarray(a), np.asarray(b)
        targs = (
            _array(targs[0], args[0]) if _seq(args[0]) else targs[0],
            _array(targs[1], args[1]) if _seq(args[1]) else targs[1],
        )
    return a * b, _add(_scale(targs[0], b), _scale(targs[1], a))


@forward_rule(operator.truediv)
def divide_jvp(args, targs):
    a, b = args
    if not (_plain(a) and _plain(b)):
        return _dunder_jvp("truediv", args, targs)
    y = a / b
    return y, _add(_scale(targs[0], 1 / b), _scale(targs[1], -y / b))


@forward_rule(operator.neg)
def negative_jvp(args, targs):
    return -args[0], _scale(targs[0], -1)


forward_rule(np.multiply)(_numpy_semantics(multiply_jvp))
forward_rule(np.divide, np.true_divide)(_numpy_semantics(divide_jvp))
forward_rule(np.negative)(_numpy_semantics(negative_jvp))


@forward_rule(power_by_constant)
def power_by_constant_jvp(args, targs):
    a, b = args
    if type(a) not in _NUMERIC and not _plain(a):  # a user class: its __pow__ (or b's __rpow__)
        return _dunder_jvp("pow", args, targs)
    if b == 0:  # a constant (b * a ** (b - 1) would be 0 * inf at a = 0)
        return a**b, None
    if b == 1:
        return a**b, targs[0]
    if type(a) in (float, int) and a == 0:  # 0.0 ** (b - 1): inf for b < 1, where Python raises
        return a**b, _scale(targs[0], b * zero_base_power(a, b - 1))
    return a**b, _scale(targs[0], b * a ** (b - 1))


@forward_rule(divmod)
def divmod_jvp(args, targs):
    """``divmod(a, b) = (q, r)``: the quotient is piecewise constant, ``r = a - q * b``."""
    _arity(divmod, args, {}, 2, 2)
    a, b = args
    if not (_plain(a) and _plain(b)):
        return _dunder_jvp("divmod", args, targs)
    y = divmod(a, b)  # a list meets an array only: NumPy converts it (Python refuses a list and a number)
    ta, tb = targs
    if _seq(a) or _seq(b):
        ta, tb = (_array(t, v) if _seq(v) else t for t, v in zip(targs, args, strict=True))
    return y, (None, _add(ta, _scale(tb, -y[0])))


def _union_jvp(op):
    """``a | b`` (``op``: ``operator.or_``, or ``operator.ior``, which updates ``a`` in place): two dicts'
    union takes each key's value, and its tangent, from ``b`` when ``b`` has the key, else from ``a``. Other
    operands (ints, bools, sets) carry no tangent."""

    def union_jvp(args, targs):
        a, b = args
        if not (isinstance(a, dict) and isinstance(b, dict)):
            return op(a, b), None
        ta, tb = (_dict_tangent(t) for t in targs)
        new = {k: None if tb is None else tb.get(k) for k in b}
        if op is operator.ior and type(ta) is dict:  # ``a`` changes in place: its tangent alike
            ta.update(new)
            return op(a, b), ta
        t = {k: None if ta is None else ta.get(k) for k in a}
        t.update(new)
        return op(a, b), t

    union_jvp.__name__ = f"{op.__name__.strip('_')}_jvp"
    return union_jvp


def _dict_tangent(t):
    if t is None or isinstance(t, dict):
        return t
    raise _forward_error("follow a | b of two dicts", f"a tangent is a {type(t).__name__}, not a dict")


forward_rule(operator.or_)(_union_jvp(operator.or_))
forward_rule(operator.ior)(_union_jvp(operator.ior))


@forward_rule(operator.matmul, np.matmul)
def matmul_jvp(args, targs):
    a, b = args
    if not (_plain(a) and _plain(b)):
        return _dunder_jvp("matmul", args, targs)
    xp = xp_of(a, b)
    ta, tb = targs
    if _seq(a) or _seq(b):
        ta, tb = (_array(t, v) if _seq(v) else t for t, v in zip(targs, args, strict=True))
    t = None if ta is None else xp.matmul(_like(ta, a), b)
    return xp.matmul(a, b), _add(t, None if tb is None else xp.matmul(a, _like(tb, b)))


# elementwise functions: one row each, f -> f'
ELEMENTWISE = {
    np.sin: np.cos,
    np.cos: lambda x: -np.sin(x),
    np.exp: np.exp,
    np.tanh: lambda x: 1 - np.tanh(x) ** 2,
}


def _elementwise_jvp(f, df):
    def elementwise_jvp(args, targs):
        (x,) = args
        t = targs[0]
        return f(x), None if t is None else _scale(t, df(x))

    return elementwise_jvp


for _f, _df in ELEMENTWISE.items():
    forward_rule(_f)(_elementwise_jvp(_f, _df))


def _from_pullback_jvp(f, rule):
    """The forward rule of a holomorphic elementwise ``f`` from its reverse rule: the pullback is
    ``dy -> dy * conj(f'(x))`` (helpers.conj), so the tangent ``f'(x) t`` is ``conj(pullback(conj(t)))``
    (on real values: ``pullback(t)``). The pullback's care at singular points (``divide_or_zero``) comes
    with it; forward mode needs this for complex tangents, which a transposed pullback conjugates."""

    def from_pullback_jvp(args, targs):
        if len(args) != 1:  # an ``out`` argument: the general path (and NumPy's error)
            from ..forward import derived_jvp

            return derived_jvp(f, None, args, targs, {}, {})
        y, pb = rule(args[0])
        t = targs[0]
        return y, None if t is None else conj(pb(conj(t))[0])

    from_pullback_jvp.__name__ = f"{f.__name__}_jvp"
    return from_pullback_jvp


for _f, _rule in [
    (np.sqrt, ew.sqrt_rule),  # 0 where the tangent is 0, at x == 0 too (divide_or_zero), as reverse mode
    (np.log, ew.log_rule),
    (np.tan, ew.tan_rule),
    (np.arcsin, ew.arcsin_rule),
    (np.arccos, ew.arccos_rule),
    (np.arctan, ew.arctan_rule),
    (np.sinh, ew.sinh_rule),
    (np.cosh, ew.cosh_rule),
    (np.arcsinh, ew.arcsinh_rule),
    (np.arccosh, ew.arccosh_rule),
    (np.arctanh, ew.arctanh_rule),
    (np.sinc, ew.sinc_rule),
    (np.exp2, ew.exp2_rule),
    (np.expm1, ew.expm1_rule),
    (np.log2, ew.log2_rule),
    (np.log10, ew.log10_rule),
    (np.log1p, ew.log1p_rule),
    (np.square, ew.square_rule),
    (np.reciprocal, ew.reciprocal_rule),
]:
    forward_rule(_f)(_from_pullback_jvp(_f, _rule))


@forward_rule(ew.divide_or_zero)
def divide_or_zero_jvp(args, targs):
    """``n / d``, 0 where ``n == 0`` (the singular derivatives' helper): ``(tn - z td) / d``, each term 0
    where its numerator is, as the reverse rule has it."""
    n, d = args
    tn, td = targs
    z = ew.divide_or_zero(n, d)
    t = None if tn is None else ew.divide_or_zero(tn, d)
    if td is not None:
        t = _add(t, -ew.divide_or_zero(z * td, d))
    return z, t


# complex parts: not holomorphic, so not ``f'(z) t``


def _one_argument(f, args, targs):
    """None for ``f(x)``; else the general path's result (``np.real(x, out)`` does not exist: NumPy's
    error)."""
    if len(args) == 1:
        return None
    from ..forward import derived_jvp

    return derived_jvp(f, None, args, targs, {}, {})


def _part_jvp(f, name):
    """The forward rule of ``np.real``, ``np.imag`` or ``np.conjugate``: linear (over the reals), so the
    tangent is the same part of the tangent."""

    def part_jvp(args, targs):
        other = _one_argument(f, args, targs)
        if other is not None:
            return other
        x, t = args[0], targs[0]
        part = getattr(xp_of(x), name)
        return part(x), None if t is None else part(t)

    part_jvp.__name__ = f"{name}_jvp"
    return part_jvp


for _f, _name in [(np.real, "real"), (np.imag, "imag"), (np.conjugate, "conjugate")]:
    forward_rule(_f)(_part_jvp(_f, _name))


@forward_rule(np.absolute, np.fabs)
def absolute_jvp(args, targs):
    """``sign(x) t`` for real ``x``; ``Re(conj(z / |z|) t)`` for complex ``z`` (0 at 0)."""
    other = _one_argument(np.absolute, args, targs)
    if other is not None:
        return other
    x, t = args[0], targs[0]
    xp = xp_of(x)
    if t is None:
        return xp.absolute(x), None
    if _is_complex(x) or _is_complex(t):
        return xp.absolute(x), xp.real(xp.conjugate(xp.sign(x)) * t)
    return xp.absolute(x), t * xp.sign(x)


@keyword_forward_rule(np.angle)
def angle_jvp(args, targs, kwargs, tkwargs):
    """``Im(conj(z) t) / |z|^2`` (0 at 0; in degrees with ``deg=True``); a real value's angle is piecewise
    constant."""
    z, t = args[0], targs[0]
    y = np.angle(*args, **kwargs)
    if t is None or not _is_complex(z):
        return y, None
    xp = xp_of(z)
    ty = ew.divide_or_zero(xp.imag(xp.conjugate(z) * t), xp.real(z * xp.conjugate(z)))
    if args[1] if len(args) > 1 else kwargs.get("deg", False):
        ty = ty * (180.0 / np.pi)
    return y, ty


def _is_complex(x):
    return type(x) is complex or getattr(getattr(x, "dtype", None), "kind", None) == "c"


def _power_jvp(f):
    """``b a ** (b - 1) ta + a ** b log(a) tb`` where the result is complex (the principal branch); real
    powers take the general path, which handles ``a <= 0``."""

    def power_jvp(args, targs):
        from ..forward import derived_jvp

        if len(args) == 2 and f is operator.pow and not (_plain(args[0]) and _plain(args[1])):
            return _dunder_jvp("pow", args, targs)  # a user class: its __pow__/__rpow__
        if len(args) != 2 or not all(_plain(v) and not _seq(v) for v in args):
            return derived_jvp(f, None, args, targs, {}, {})
        a, b = args
        y = f(a, b)
        if not _is_complex(y):
            return derived_jvp(f, None, args, targs, {}, {})
        xp = xp_of(a, b)
        ta, tb = targs
        t = None
        if ta is not None:
            at_zero = (a == 0) & (b == 0)
            t = xp.where(at_zero, 0.0, ta * (b * f(xp.where(at_zero, 1.0, a) + 0j, b - 1)))
        if tb is not None:
            t = _add(t, tb * (y * xp.log(xp.where(a == 0, 1.0, a) + 0j)))
        return y, t

    power_jvp.__name__ = f"{f.__name__}_jvp"
    return power_jvp


forward_rule(operator.pow)(_power_jvp(operator.pow))
forward_rule(np.power)(_power_jvp(np.power))
forward_rule(np.float_power)(_power_jvp(np.float_power))
_operator_power_jvp = _power_jvp(operator.pow)


@forward_rule(builtins.pow)
def builtin_pow_jvp(args, targs):
    """``pow(a, b)`` is ``a ** b``; ``pow(a, b, mod)`` is integer-only: no tangent."""
    if len(args) == 3 and args[2] is not None:
        return pow(*args), None
    return _operator_power_jvp(args[:2], targs[:2])


# ---------------------------------------------------------------------------------------------------------
# in-place operators: as reverse mode's rules (rules/augmented.py). fluxpy's functions (``x += y`` calls
# ``augmented.iadd``) update functionally: a user class's Python ``__iadd__`` differentiated, everything else
# by the plain operator's forward rule; Python's own (``operator.iadd``, the user's call) first refuses to
# change an array, list or object in place.


def _augmented_jvp(op, fn, functional, symbol, dunder):
    def augmented_jvp(args, targs):
        a = args[0]
        if type(a) in _NUMERIC or _plain(a) or len(args) != 2:
            check_in_place_view(a, symbol)  # an array viewing another: refused, as in reverse mode
            if is_array(a) and len(args) == 2:
                return _in_place_array_jvp(op, functional, args, targs)
            return functional(args, targs)
        found = in_place_method(a, dunder)
        if found is None:
            return functional(args, targs)
        method, mutates = found
        forward = _forward_mode()
        if mutates:  # it writes its self's attributes and returns self: run as a constructor
            check_shared_in_place(method, a)
            return forward._python_jvp(method, None, args, targs, {}, {}, constructor=True)
        y, ty = forward.jvp_call(method, None, args, targs, {}, {})
        if y is NotImplemented:
            return functional(args, targs)
        return y, ty

    augmented_jvp.__name__ = f"{fn.__name__}_jvp"
    return augmented_jvp


def _in_place_array_jvp(op, functional, args, targs):
    """``a op= b`` on array ``a``: what NumPy's in-place ``op`` stores (``a``'s dtype and shape, as reverse
    mode's rules/python_in_place.py in_place_array), and its tangent in ``a``'s dtype."""
    a = args[0]
    y, ty = functional(args, targs)
    if is_array(y) and y.dtype == a.dtype and y.shape == a.shape:
        return y, ty
    check_in_place_fits(op, a, args[1], y)
    return stored_as(y, a), None if ty is None else stored_as(ty, a)


@forward_rule(stored_as)
def stored_as_jvp(args, targs):
    """``stored_as(y, a)``: a cast, linear in ``y``."""
    y, a = args
    t = targs[0]
    return stored_as(y, a), None if t is None else stored_as(t, a)


def _in_place_operator_jvp(op, functional, dunder):
    def in_place_operator_jvp(args, targs):
        if len(args) == 2 and hasattr(type(args[0]), dunder):
            # the user's own ``operator.iadd(a, b)``: Python changes ``a`` in place (see augmented.py)
            done = user_in_place(op, *args, dunder)
            if done is not None:
                return done[0], None
        return functional(args, targs)

    in_place_operator_jvp.__name__ = f"operator_{op.__name__}_jvp"
    return in_place_operator_jvp


def _operator_jvp(op):
    """The forward rule of ``op`` as fluxpy/forward.py dispatches it (its rule, or its reverse rule
    transposed)."""

    def operator_jvp(args, targs):
        return _forward_mode().jvp_call(op, None, args, targs, {}, {})

    return operator_jvp


def _floordiv_jvp(args, targs):
    return args[0] // args[1], None


_PLAIN_JVPS = {
    "+": add_jvp,
    "-": subtract_jvp,
    "*": multiply_jvp,
    "/": divide_jvp,
    "**": _operator_power_jvp,
    "%": _operator_jvp(operator.mod),
    "@": matmul_jvp,
    "//": _floordiv_jvp,
}
for _op, _fn, _symbol, _dunder in augmented.TABLE:
    _jvp = forward_rule(_fn)(_augmented_jvp(_op, _fn, _PLAIN_JVPS[_symbol], _symbol, _dunder))
    forward_rule(_op)(_in_place_operator_jvp(_op, _jvp, _dunder))


def _positive_jvp(f):
    def positive_jvp(args, targs):
        if len(args) != 1 or not _plain(args[0]) or _seq(args[0]):
            from ..forward import derived_jvp

            return derived_jvp(f, None, args, targs, {}, {})
        return +args[0], targs[0]

    return positive_jvp


forward_rule(np.positive)(_positive_jvp(np.positive))  # (+x and abs(x): forward_objects.py)


# ---------------------------------------------------------------------------------------------------------
# linear maps (what pullbacks apply to their cotangents): the tangent goes through the same map. Forward
# over reverse runs every pullback, so these are hot there; without a rule they would be transposed.


def _integer_dtype(options):
    """True when a reduction's ``dtype=`` option truncates (its tangent would be truncated too)."""
    dtype = options.get("dtype")
    return dtype is not None and np.dtype(dtype).kind not in "fc"


def _masked_mean_tangent(t, rest, kwargs):
    """The tangent of ``np.mean(x, *rest, where=mask, ...)`` (or ``x.mean``) for ``t``: the mean of ``t``
    over the entries kept, and 0 where none is (NumPy's NaN there does not move, as reverse mode says),
    without the warning ``np.mean(t, where=mask)`` would raise again."""
    xp = xp_of(t)
    count = xp.sum(xp.ones(t.shape, dtype=t.real.dtype), *rest, **kwargs)
    return xp.sum(t, *rest, **kwargs) / xp.maximum(count, 1)


def _linear_jvp(f, others_constant):
    """The forward rule of ``f(x, *rest, **options)``, linear in ``x``. ``others_constant``: ``f`` reads
    only the shapes of ``rest`` (``unbroadcast(g, x)``), so their tangents do not matter; otherwise any
    tangent there takes the general path (``np.sum(x, initial=c)`` is affine in ``c``), as does an integer
    ``dtype=``."""

    def linear_jvp(args, targs, kwargs, tkwargs):
        x, t = args[0], targs[0]
        if type(x) is not np.ndarray:
            refuse_masked((x,))  # np.sum of a masked array: its mask would be ignored
        if (
            not (is_array(x) or isinstance(x, (int, float, complex, np.generic)))
            or (not others_constant and (any(v is not None for v in targs[1:]) or any(tkwargs.values())))
            or _integer_dtype(kwargs)
        ):
            from ..forward import derived_jvp

            return derived_jvp(f, None, args, targs, kwargs, tkwargs)
        y = f(*args, **kwargs)
        if t is None:
            return y, None
        rest, options = args[1:], kwargs
        if f is np.sum:  # np.sum(x, ..., initial=c) is affine in x: c is no part of the tangent
            options = {k: v for k, v in kwargs.items() if k != "initial"}
            if len(rest) > 4:  # initial by position (axis, dtype, out, keepdims, initial, where)
                rest = rest[:4] + (np._NoValue,) + rest[5:]
        elif f is np.mean and "where" in kwargs:
            return y, _masked_mean_tangent(_like(t, x), rest, kwargs)
        return y, f(_like(t, x), *rest, **options)

    linear_jvp.__name__ = f"{getattr(f, '__name__', 'linear')}_jvp"
    return linear_jvp


for _f, _constant in [
    (unbroadcast, True),
    (spread, True),
    (conj, True),  # real-linear: the tangent of conj(x) is conj(t)
    (cast, True),
    (cast_back, True),
    (np.sum, False),
    (np.mean, False),
]:
    keyword_forward_rule(_f)(_linear_jvp(_f, _constant))


for _f in (np.transpose, np.reshape, np.swapaxes, np.moveaxis, np.squeeze, np.expand_dims, np.ravel):
    keyword_forward_rule(_f)(_linear_jvp(_f, True))  # the options are axes and shapes


@forward_rule(nested_array)
def nested_array_jvp(args, targs):
    """Linear in the nested cotangent (the pullback of ``x.tolist()``)."""
    return nested_array(*args), None if targs[0] is None else nested_array(targs[0], args[1])


@forward_rule(complex)
def complex_jvp(args, targs):
    """``complex(a, b)`` is ``a + 1j * b``: so is its tangent. A string has none."""
    if args and not all(isinstance(v, (int, float, complex, np.generic)) for v in args):
        from ..forward import derived_jvp

        return derived_jvp(complex, None, args, targs, {}, {})
    t = _add(targs[0] if targs else None, _scale(targs[1] if len(targs) > 1 else None, 1j))
    return complex(*args), None if t is None else complex(t)


# nan-reductions skip the NaN entries of ``x``: their tangent entries count for nothing. The tangent there
# is often NaN itself (that of ``np.where(c, x, np.nan) ** 2``), and 0 * NaN is NaN: it is zeroed first.


def _without_nan_entries(x, t):
    """Tangent ``t`` of array ``x`` with zeros where ``x`` is NaN."""
    xp = xp_of(x)
    return xp.where(xp.isnan(x), 0, _like(t, x))


def _nan_options(args, kwargs):
    """The options of ``np.nansum(x, *args, **kwargs)`` or ``np.nanmean``, when the formulas below read
    them all (``axis``, ``dtype``, ``keepdims``, ``initial``, ``where`` by keyword), else None."""
    options = dict(zip(("axis", "dtype", "out", "keepdims"), args, strict=False)) | kwargs
    if len(args) > 4 or options.get("out") is not None or _integer_dtype(options):
        return None
    return options


def _nan_reduction_jvp(f):
    """The forward rule of nan-reduction ``f`` (``np.nansum``, ``np.nanmax``, ``np.nanmedian``, ...): the
    tangent of ``x`` without its NaN entries, then ``nansum``'s and ``nanmean``'s as they are linear
    (``sum`` of it, over the count of entries that are not NaN), the others' by their reverse rules
    transposed (whose pullbacks give the NaN entries no cotangent)."""

    def nan_reduction_jvp(args, targs, kwargs, tkwargs):
        from ..forward import derived_jvp

        x, t = args[0], targs[0] if targs else None
        if t is None or not is_array(x) or x.dtype.kind not in "fc":
            return derived_jvp(f, None, args, targs, kwargs, tkwargs)
        t = _without_nan_entries(x, t)
        moving = any(v is not None for v in targs[1:]) or any(v is not None for v in tkwargs.values())
        options = _nan_options(args[1:], kwargs) if f in (np.nansum, np.nanmean) and not moving else None
        if options is not None:
            return f(*args, **kwargs), _nan_linear_tangent(f, x, t, options)
        return derived_jvp(f, None, args, (t,) + tuple(targs[1:]), kwargs, tkwargs)

    nan_reduction_jvp.__name__ = f"{f.__name__}_jvp"
    return nan_reduction_jvp


def _nan_linear_tangent(f, x, t, options):
    """The tangent of ``np.nansum`` (``initial`` is a constant) or ``np.nanmean`` of ``x`` for ``t``, the
    tangent of ``x`` without its NaN entries; with ``where=``, of the entries it keeps."""
    xp = xp_of(x)
    axis, keepdims = options.get("axis"), options.get("keepdims", False)
    masked = {"where": options["where"]} if "where" in options else {}  # (CuPy's sum takes no where=)
    total = xp.sum(t, axis=axis, dtype=options.get("dtype"), keepdims=keepdims, **masked)
    if f is np.nansum:
        return total
    count = xp.sum(~xp.isnan(x), axis=axis, keepdims=keepdims, **masked)
    return total / xp.maximum(count, 1)  # an all-NaN slice: NaN, whose entries all count for nothing


for _f in (
    np.nansum,
    np.nanmean,
    np.nanmax,
    np.nanmin,
    np.nanprod,
    np.nancumsum,
    np.nancumprod,
    np.nanvar,
    np.nanstd,
    np.nanmedian,
    np.nanpercentile,
    np.nanquantile,
):
    keyword_forward_rule(_f)(_nan_reduction_jvp(_f))


# array methods linear in the array (options without tangents): the same method on the tangent
LINEAR_METHODS = frozenset(
    {"sum", "mean", "reshape", "transpose", "ravel", "flatten", "squeeze", "swapaxes", "copy", "tolist"}
    | {"conj", "conjugate"}  # real-linear: the tangent of x.conj() is t.conj()
)


def linear_method_jvp(obj, tobj, name, args, targs, kwargs, tkwargs):
    """``x.sum(...)``, ``x.reshape(...)``, ...: the method on ``x`` and on its tangent; None where this does
    not apply (another method, tangents among the options, an integer dtype): then the method's reverse
    rule is transposed (fluxpy/forward.py).

    Also ``super().name(...)`` of a Python method: the method's JVP on the object the proxy stands for (the
    proxy's tangent is the object's), which transposing could not do where it returns an object."""
    if type(obj) is super:
        return _super_method_jvp(obj, tobj, name, args, targs, kwargs, tkwargs)
    if name == "astype" and type(obj) is np.ndarray and obj.dtype.kind in "fcO" and _no_tangents(targs):
        return _astype_jvp(obj, tobj, args, kwargs)
    if name not in LINEAR_METHODS or type(obj) is not np.ndarray or obj.dtype.kind not in "fc":
        return None
    if any(t is not None for t in targs) or any(tkwargs.values()) or _integer_dtype(kwargs):
        return None
    if (name == "sum" or name == "mean") and len(args) > 1:  # a dtype by position
        return None
    y = getattr(obj, name)(*args, **kwargs)
    if tobj is None:
        return y, None
    if name == "mean" and "where" in kwargs:
        return y, _masked_mean_tangent(_like(tobj, obj), args, kwargs)
    options = {k: v for k, v in kwargs.items() if k != "initial"}  # x.sum(initial=c): c is no tangent
    return y, getattr(_like(tobj, obj), name)(*args, **options)


def _no_tangents(targs):
    return all(t is None for t in targs)


def _astype_jvp(obj, tobj, args, kwargs):
    """``x.astype(dtype)``: the tangent cast alike (to ``object`` too: such an array holds the values
    themselves), none for an integer or boolean dtype."""
    y = obj.astype(*args, **kwargs)
    if tobj is None or y.dtype.kind not in "fcO":
        return y, None
    return y, _like(tobj, obj).astype(*args, **kwargs)


def _super_method_jvp(proxy, tproxy, name, args, targs, kwargs, tkwargs):
    from ..forward import jvp_call

    func = getattr(getattr(proxy, name, None), "__func__", None)
    if type(func) is not types.FunctionType or proxy.__self__ is None or isinstance(proxy.__self__, type):
        return None  # a builtin method, a classmethod: the reverse rule, transposed
    return jvp_call(func, None, (proxy.__self__,) + tuple(args), (tproxy,) + tuple(targs), kwargs, tkwargs)


@forward_rule(grads_first)
def grads_first_jvp(args, targs):
    dx, rest = args
    return grads_first(dx, rest), None if targs[0] is None else grads_first(targs[0], rest)
