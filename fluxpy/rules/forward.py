"""Forward rules (``jvp_rule(args, targs) -> (y, ty)``, or ``(args, targs, kwargs, tkwargs)`` when they take
keywords) written beside the reverse rules: the hottest operations, the linear maps pullbacks apply, and the
Python builtins whose results a transposed reverse rule cannot carry (iterators, dicts, partials, lists
changed in place). Every other callee gets its tangent by transposing its reverse rule (see
fluxpy/forward.py). Elementwise derivatives are one table row each.

The last section serves forward over reverse (``fx.hvp``): the forward rules of the hot reverse rules
themselves, and of the pullbacks they make (keyed by code object: ``closure_rules``).
"""

import functools
import itertools
import operator
import types
from collections.abc import Iterator, Mapping, Set

import numpy as np

from ..backend import is_array, xp_of
from ..errors import FluxpyError
from ..runtime import bound_values, kwgrad, remaining_keywords
from ..tangents import Tangent, accum
from .helpers import unbroadcast
from .higher_order import chain_impl, filter_impl, map_impl, product_impl, reduce_impl
from .mutation import list_append, list_extend, list_insert, list_pop, setitem, setitem_argument
from .numpy_reductions import spread
from .numpy_shape import grads_first
from .python import (
    _property_getter,
    _python_dunder,
    _sort_order,
    closure_tangent,
    cons_to_dict,
    cons_to_list,
    cotangent_as,
    expand,
    field_of,
    freevars,
    iterlist,
    pack_dict,
    pack_list,
    pack_tuple,
    pick,
    power_by_constant,
    seq_scatter,
    starred_grads,
    tangent_field,
    tangent_values,
    unpack,
    without_field,
    write_attribute,
)
from .registry import forward_rule, lookup_attribute, nograd


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
    return (
        _seq(x)
        or isinstance(x, (int, float, complex, np.generic, np.ndarray))
        or type(x).__module__.startswith("cupy")
    )


def _dunder_jvp(name, args, targs):
    """User classes: their Python ``__op__``/``__rop__``, differentiated in forward mode."""
    from ..forward import jvp_call
    from .python import via_dunders

    a, b = args
    return jvp_call(
        via_dunders, None, (f"__{name}__", f"__r{name}__", a, b), (None, None) + tuple(targs), {}, {}
    )


def _items(t, x):
    """The tangent of sequence ``x`` as a sequence (None expands to Nones)."""
    return (None,) * len(x) if t is None else tuple(t)


# numbers and NumPy arrays: no sequences to convert, no user classes (the common case, decided first)
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
    return a**b, _scale(targs[0], b * a ** (b - 1))


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
    np.log: lambda x: 1 / x,
    np.tanh: lambda x: 1 - np.tanh(x) ** 2,
    np.sqrt: lambda x: 0.5 / np.sqrt(x),
}


def _elementwise_jvp(f, df):
    def elementwise_jvp(args, targs):
        (x,) = args
        return f(x), _scale(targs[0], df(x))

    return elementwise_jvp


for _f, _df in ELEMENTWISE.items():
    forward_rule(_f)(_elementwise_jvp(_f, _df))


# ---------------------------------------------------------------------------------------------------------
# linear maps (what pullbacks apply to their cotangents): the tangent goes through the same map. Forward
# over reverse runs every pullback, so these are hot there; without a rule they would be transposed.


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


def _integer_dtype(options):
    """True when a reduction's ``dtype=`` option truncates (its tangent would be truncated too)."""
    dtype = options.get("dtype")
    return dtype is not None and np.dtype(dtype).kind not in "fc"


def _linear_jvp(f, others_constant):
    """The forward rule of ``f(x, *rest, **options)``, linear in ``x``. ``others_constant``: ``f`` reads
    only the shapes of ``rest`` (``unbroadcast(g, x)``), so their tangents do not matter; otherwise any
    tangent there takes the general path (``np.sum(x, initial=c)`` is affine in ``c``), as does an integer
    ``dtype=``."""

    def linear_jvp(args, targs, kwargs, tkwargs):
        x, t = args[0], targs[0]
        if (
            not (is_array(x) or isinstance(x, (int, float, complex, np.generic)))
            or (not others_constant and (any(v is not None for v in targs[1:]) or any(tkwargs.values())))
            or _integer_dtype(kwargs)
        ):
            from ..forward import derived_jvp

            return derived_jvp(f, None, args, targs, kwargs, tkwargs)
        y = f(*args, **kwargs)
        return y, None if t is None else f(_like(t, x), *args[1:], **kwargs)

    linear_jvp.__name__ = f"{getattr(f, '__name__', 'linear')}_jvp"
    return linear_jvp


for _f, _constant in [(unbroadcast, True), (spread, True), (np.sum, False), (np.mean, False)]:
    keyword_forward_rule(_f)(_linear_jvp(_f, _constant))


for _f in (np.transpose, np.reshape, np.swapaxes, np.moveaxis, np.squeeze, np.expand_dims, np.ravel):
    keyword_forward_rule(_f)(_linear_jvp(_f, True))  # the options are axes and shapes


# array methods linear in the array (options without tangents): the same method on the tangent
LINEAR_METHODS = frozenset(
    {"sum", "mean", "reshape", "transpose", "ravel", "flatten", "squeeze", "swapaxes", "copy"}
)


def linear_method_jvp(obj, tobj, name, args, targs, kwargs, tkwargs):
    """``x.sum(...)``, ``x.reshape(...)``, ...: the method on ``x`` and on its tangent; None where this does
    not apply (another method, tangents among the options, an integer dtype): then the method's reverse
    rule is transposed (fluxpy/forward.py)."""
    if name not in LINEAR_METHODS or type(obj) is not np.ndarray or obj.dtype.kind not in "fc":
        return None
    if any(t is not None for t in targs) or any(tkwargs.values()) or _integer_dtype(kwargs):
        return None
    if (name == "sum" or name == "mean") and len(args) > 1:  # a dtype by position
        return None
    y = getattr(obj, name)(*args, **kwargs)
    return y, None if tobj is None else getattr(_like(tobj, obj), name)(*args, **kwargs)


@forward_rule(grads_first)
def grads_first_jvp(args, targs):
    dx, rest = args
    return grads_first(dx, rest), None if targs[0] is None else grads_first(targs[0], rest)


# ---------------------------------------------------------------------------------------------------------
# containers and attributes: tangents mirror the structure (closures and objects carry Tangents)


@forward_rule(pack_tuple)
def pack_tuple_jvp(args, targs):
    return tuple(args), tuple(targs)


@forward_rule(pack_list)
@makes_container
def pack_list_jvp(args, targs):
    return list(args), list(targs)


@forward_rule(pack_dict)
@makes_container
def pack_dict_jvp(args, targs):
    keys, values = args[0], args[1:]
    return pack_dict(keys, *values), dict(zip(keys, targs[1:], strict=True))


@forward_rule(unpack)
def unpack_jvp(args, targs):
    x, count = args
    items, titems = _iterate(x, targs[0])
    unpack(items, count)  # the same error as the primal for a wrong count
    return tuple(items), None if titems is None else tuple(titems)


@forward_rule(iterlist, list)
@makes_container
def iterlist_jvp(args, targs):
    if not args:
        return [], []
    return _iterate(args[0], targs[0])


@forward_rule(tuple)
def tuple_jvp(args, targs):
    if not args:
        return (), ()
    items, titems = _iterate(args[0], targs[0])
    return tuple(items), None if titems is None else tuple(titems)


@forward_rule(operator.getitem)
def getitem_jvp(args, targs):
    x, idx = args
    tx = targs[0]
    if type(x) is np.ndarray and type(tx) is np.ndarray:  # the common case first
        return x[idx], (tx if tx.shape == x.shape else _like(tx, x))[idx]
    if type(x) is Tangent:  # a field (fluxpy's own code, in forward mode of forward mode)
        return x[idx], None if tx is None else tx.get(idx)
    if not (_plain(x) or isinstance(x, (dict, str, range))):
        from ..forward import jvp_call
        from .python import _python_dunder

        method = _python_dunder(x, "__getitem__")
        if method is not None:
            return jvp_call(method, None, (x, idx), (tx, None), {}, {})
    if tx is None:
        return x[idx], None
    if isinstance(tx, dict):
        return x[idx], tx.get(idx)
    if isinstance(tx, Tangent):
        return x[idx], None
    return x[idx], _like(tx, x)[idx]


@forward_rule(getattr)
def getattr_jvp(args, targs):
    obj, name = args[0], args[1]
    y = getattr(obj, *args[1:])
    t = targs[0]
    methods = (types.MethodType, types.BuiltinMethodType)
    if isinstance(y, methods) and (getattr(y, "__self__", None) is obj or type(obj) is super):
        return y, t  # a bound method's tangent is its object's (``x.sum``, ``d.get`` taken as values)
    if isinstance(obj, methods) or type(obj) is super:  # proxies: only __self__ stands for the object
        return y, t if name == "__self__" else None
    if (
        type(obj) is np.ndarray
        and (name == "T" or name == "mT")
        and type(t) is np.ndarray
        and t.shape == obj.shape
    ):
        return y, getattr(t, name)  # a transpose: linear (its attribute rule, without the pullback)
    fget = _property_getter(obj, name)
    if fget is not None:
        from ..forward import jvp_call

        return jvp_call(fget, None, (obj,), (t,), {}, {})
    if t is None:
        return y, None
    if isinstance(t, Tangent):
        t = _forward_mode().settled(t)  # None when no captured variable of a closure has a tangent now
        return y, None if t is None else t.get(name)
    if isinstance(obj, tuple) and hasattr(type(obj), "_fields"):
        return y, t[type(obj)._fields.index(name)]
    rule = lookup_attribute(name)
    if rule is not None:  # x.T on an array: linear, so the tangent goes through the same map
        return y, rule(_like(t, obj))[0]
    return y, None


@forward_rule(Tangent)
def tangent_type_jvp(args, targs):
    """``Tangent(primal_type, fields)`` built by fluxpy's own code (forward mode of forward mode): linear in
    the fields, so its tangent is a Tangent of the fields' tangents (its ``__init__`` writes its slots in
    place, which forward mode does not follow)."""
    _arity(Tangent, args, {}, 2, 2)
    primal_type, fields = args
    tfields = targs[1]
    if tfields is not None and not isinstance(tfields, Mapping):
        return _forward_mode().derived_jvp(Tangent, None, args, targs, {}, {})
    y = Tangent(primal_type, fields)
    return y, None if tfields is None else Tangent(primal_type, {k: tfields.get(k) for k in y})


@forward_rule(Tangent.get)
def tangent_get_jvp(args, targs):
    """``t.get(name)`` on a Tangent (fluxpy's own code reads closures' tangents so: forward mode of forward
    mode, ``fx.jvp`` of ``fx.hvp``): a selection, so its tangent is the same field of ``t``'s tangent, a
    Tangent of the fields' tangents. A field may hold a function (``settled``'s thunk): transposing the
    reverse rule could not carry that."""
    _arity(Tangent.get, args, {}, 2, 3)
    t, name = args[0], args[1]
    tt = targs[0]
    if name not in t:
        return t.get(name, *args[2:]), targs[2] if len(args) > 2 else None
    if tt is not None and type(tt) is not Tangent:
        return _forward_mode().derived_jvp(Tangent.get, None, args, targs, {}, {})
    return t.get(name), None if tt is None else tt.get(name)


def _tangent_view_jvp(method, of_field):
    """``t.items()``, ``t.values()``, ``t.keys()`` of a Tangent (Mapping's methods: no source to transform),
    as dict's rules do: a list, and ``of_field(the field's tangent)`` for each field (keys: None). Another
    Mapping's method runs its own code."""

    def view_jvp(args, targs):
        t, tt = args[0], targs[0]
        if type(t) is not Tangent or len(args) != 1 or (tt is not None and type(tt) is not Tangent):
            return _forward_mode()._python_jvp(method, None, args, targs, {}, {})
        y = list(method(t))
        return y, None if tt is None or of_field is None else [of_field(tt.get(k)) for k in t]

    view_jvp.__name__ = f"tangent_{method.__name__}_jvp"
    return view_jvp


for _method, _of_field in [
    (Mapping.items, lambda t: (None, t)),
    (Mapping.values, lambda t: t),
    (Mapping.keys, None),
]:
    forward_rule(_method)(_tangent_view_jvp(_method, _of_field))


@forward_rule(accum)
def accum_jvp(args, targs):
    return accum(*args), accum(*targs)


# ---------------------------------------------------------------------------------------------------------
# writes (functional updates): the tangent is updated the same way


@forward_rule(write_attribute)
def write_attribute_jvp(args, targs):
    obj, name, value = args
    tobj, _, tvalue = targs
    fields = dict(tobj) if isinstance(tobj, Tangent) else {}
    fields[name] = tvalue
    return write_attribute(obj, name, value), Tangent(type(obj), fields)


def _setitem_jvp(write):
    def setitem_jvp(args, targs):
        x, idx, v = args
        tx, _, tv = targs
        y = write(x, idx, v)
        if isinstance(x, dict):
            t = dict(tx) if tx else {}
            t[idx] = tv
            return y, t
        if isinstance(x, list):
            t = list(tx) if tx is not None else [None] * len(x)
            t[idx] = tv
            return y, t
        if tx is None and tv is None:
            return y, None
        xp = xp_of(y)
        t = (
            xp.zeros(y.shape, dtype=y.dtype if y.dtype.kind in "fc" else float)
            if tx is None
            else xp.array(_like(tx, y), copy=True)
        )
        t[idx] = 0 if tv is None else tv
        return y, t

    return setitem_jvp


forward_rule(setitem)(_setitem_jvp(setitem))
forward_rule(setitem_argument)(_setitem_jvp(setitem_argument))


@forward_rule(list_append)
def list_append_jvp(args, targs):
    lst, value = args
    return list_append(lst, value), list(_items(targs[0], lst)) + [targs[1]]


@forward_rule(list_extend)
def list_extend_jvp(args, targs):
    lst, values = args
    items, titems = _iterate(values, targs[1])
    return list_extend(lst, items), list(_items(targs[0], lst)) + list(_items(titems, items))


@forward_rule(list_insert)
def list_insert_jvp(args, targs):
    lst, index, value = args
    t = list(_items(targs[0], lst))
    t.insert(index, targs[2])
    return list_insert(lst, index, value), t


@forward_rule(list_pop)
def list_pop_jvp(args, targs):
    lst, rest = args[0], args[1:]
    t = list(_items(targs[0], lst))
    popped = t.pop(*rest)
    return list_pop(lst, *rest), (t, popped)


# ---------------------------------------------------------------------------------------------------------
# the helpers generated code calls (forward over reverse runs through generated code)


@forward_rule(closure_tangent)
def closure_tangent_jvp(args, targs):
    fn, names, values = args
    tvalues = targs[2]
    y = closure_tangent(fn, names, values)
    if tvalues is None:
        return y, None
    return y, closure_tangent(fn, names, tuple(tvalues))


@forward_rule(freevars)
def freevars_jvp(args, targs):
    from ..forward import settled

    fn, names = args
    tfn = settled(targs[0])
    return freevars(fn, names), tangent_values(tfn, names) if isinstance(tfn, Tangent) else None


@forward_rule(cotangent_as)
def cotangent_as_jvp(args, targs):
    ds, x = args
    tds = targs[0]  # linear in ds; x only gives the structure
    return cotangent_as(ds, x), None if tds is None else cotangent_as(tds, x)


@forward_rule(tangent_field)
def tangent_field_jvp(args, targs):
    t, name = args
    tt = targs[0]
    return tangent_field(t, name), tangent_field(tt, name) if isinstance(tt, Tangent) else None


@forward_rule(tangent_values)
def tangent_values_jvp(args, targs):
    t, names = args
    tt = targs[0]
    return tangent_values(t, names), tangent_values(tt, names) if isinstance(tt, Tangent) else None


@forward_rule(expand)
def expand_jvp(args, targs):
    d, count = args
    return expand(d, count), None if targs[0] is None else expand(targs[0], count)


@forward_rule(starred_grads)
def starred_grads_jvp(args, targs):
    g, start = args
    tg = targs[0]
    return starred_grads(g, start), None if tg is None else tuple(tg)[
        start : start + len(starred_grads(g, start))
    ]


@forward_rule(cons_to_list)
@makes_container
def cons_to_list_jvp(args, targs):
    (acc,) = args
    tacc = targs[0]
    out, t = cons_to_list(acc), []
    node = tacc
    for _ in out:
        t.append(None if node is None else node[0])
        node = None if node is None else node[1]
    t.reverse()
    return out, t


# ---------------------------------------------------------------------------------------------------------
# iteration: the tangent of an iterator is an iterator over its items' tangents, advanced in step with it
# (by iter, next, for loops, list, tuple, zip, ...; fluxpy/forward.py refuses to hand one to other callees)

_END = object()


def _forward_error(what, why, fix=None):
    from ..forward import forward_error

    return forward_error(what, why, fix) if fix else forward_error(what, why)


def _no_item_tangents(x):
    """Iterating these visits keys, set members, characters or ints: no tangents, whatever the container's."""
    return isinstance(x, (Mapping, Set, str, bytes, range))


def _iterate(x, tx):
    """``(list(x), the items' tangents)``: what a for loop over ``x`` visits (rows of an array, keys of a
    dict, the items of a Python ``__iter__``); the tangents are None when they are all zero."""
    if _python_dunder(x, "__iter__") is not None:
        from ..forward import jvp_call
        from .higher_order import iterate_user_object

        return jvp_call(iterate_user_object, None, (x,), (tx,), {}, {})
    it, tit = _stream(x, tx)
    items = list(it)
    if tit is None:
        return items, None
    titems = list(tit)
    if len(titems) != len(items):
        raise FluxpyError(f"forward mode: {len(items)} items but {len(titems)} tangents iterating {x!r:.60}")
    return items, titems


def _stream(x, tx):
    """``(iter(x), an iterator over the items' tangents or None)``, to be advanced in step."""
    if tx is None or _no_item_tangents(x):
        return iter(x), None
    if _python_dunder(x, "__iter__") is not None:
        items, titems = _iterate(x, tx)
        return iter(items), None if titems is None else iter(titems)
    if isinstance(x, Iterator):
        if not isinstance(tx, Iterator):
            raise _forward_error(f"iterate a {type(x).__name__}", f"its tangent is a {type(tx).__name__}")
        return x, tx
    shape = getattr(tx, "shape", None)
    if isinstance(tx, (list, tuple)) or (shape is not None and shape == getattr(x, "shape", shape)):
        return iter(x), iter(tx)
    if is_array(x):  # a broadcastable tangent: one per row
        return iter(x), iter(_like(tx, x))
    raise _forward_error(
        f"iterate a {type(x).__name__} whose tangent is a {type(tx).__name__}",
        "the items' tangents cannot be told apart",
    )


@forward_rule(iter)
def iter_jvp(args, targs):
    if len(args) != 1 or targs[0] is None:  # iter(callable, sentinel): the callable has no source here
        if any(t is not None for t in targs):
            raise _forward_error("follow iter(callable, sentinel)", "the callable carries tangents")
        return iter(*args), None
    x, tx = args[0], targs[0]
    method = _python_dunder(x, "__iter__")
    if method is not None:
        from ..forward import jvp_call

        it, tit = jvp_call(method, None, (x,), (tx,), {}, {})
        if not isinstance(it, Iterator):
            raise TypeError(f"iter() returned non-iterator of type '{type(it).__name__}'")
        return it, tit
    it, tit = _stream(x, tx)
    return it, tit


@forward_rule(next)
def next_jvp(args, targs):
    _arity(next, args, {}, 1, 2)
    it, tit = args[0], targs[0]
    y = next(it, _END)
    if y is _END:
        if len(args) > 1:
            return args[1], targs[1]
        raise StopIteration
    if tit is None:
        return y, None
    if not isinstance(tit, Iterator):
        raise _forward_error(
            f"follow next() of a {type(it).__name__}",
            f"its tangent is a {type(tit).__name__}",
        )
    return y, next(tit)


@keyword_forward_rule(zip)
@makes_container
def zip_jvp(args, targs, kwargs, tkwargs):
    """``zip``, materialized as a list (as reverse mode does), its tangent a list of tuples."""
    _arity(zip, args, kwargs, 0, len(args), ("strict",))
    strict = kwargs.get("strict", False)
    streams = [_stream(x, tx) for x, tx in zip(args, targs, strict=True)]
    if not streams:
        return [], None
    rows, trows = [], []
    while True:
        row, trow = [], []
        for j, (it, tit) in enumerate(streams):
            v = next(it, _END)
            if v is _END:
                if strict:
                    _check_zip_strict(j, streams)
                return rows, None if all(t is None for _, t in streams) else trows
            row.append(v)
            trow.append(None if tit is None else next(tit))
        rows.append(tuple(row))
        trows.append(tuple(trow))


def _check_zip_strict(j, streams):
    """zip(..., strict=True)'s errors."""

    def before(k):
        return f"arguments 1-{k - 1}" if k > 2 else "argument 1"

    if j > 0:
        raise ValueError(f"zip() argument {j + 1} is shorter than {before(j + 1)}")
    for k, (it, _) in enumerate(streams[1:], start=2):
        if next(it, _END) is not _END:
            raise ValueError(f"zip() argument {k} is longer than {before(k)}")


@keyword_forward_rule(enumerate)
@makes_container
def enumerate_jvp(args, targs, kwargs, tkwargs):
    _arity(enumerate, args, kwargs, 1, 2, ("start",))
    start = args[1] if len(args) > 1 else kwargs.get("start", 0)
    items, titems = _iterate(args[0], targs[0])
    return list(enumerate(items, start)), None if titems is None else [(None, t) for t in titems]


@forward_rule(reversed)
@makes_container
def reversed_jvp(args, targs):
    _arity(reversed, args, {}, 1, 1)
    x = args[0]
    if _python_dunder(x, "__reversed__") is not None or not (
        isinstance(x, (list, tuple, dict, range, str)) or is_array(x)
    ):
        from ..forward import derived_jvp

        return derived_jvp(reversed, None, args, targs, {}, {})
    items, titems = _iterate(x, targs[0])
    return items[::-1], None if titems is None else titems[::-1]


@keyword_forward_rule(sorted)
@makes_container
def sorted_jvp(args, targs, kwargs, tkwargs):
    """The tangents follow their items' order (the key's own derivative does not matter: the order is
    piecewise constant)."""
    _arity(sorted, args, kwargs, 1, 1, ("key", "reverse"))
    items, titems = _iterate(args[0], targs[0])
    order = _sort_order(items, kwargs.get("key"), kwargs.get("reverse", False))
    return pick(items, order), None if titems is None else pick(titems, order)


@keyword_forward_rule(sum)
def sum_jvp(args, targs, kwargs, tkwargs):
    """``sum`` left to right, as Python adds; numbers and arrays by Python's own sum (its float rounding)."""
    _arity(sum, args, kwargs, 1, 2, ("start",))
    start, tstart = (args[1], targs[1]) if len(args) > 1 else (kwargs.get("start", 0), tkwargs.get("start"))
    items, titems = _iterate(args[0], targs[0])
    titems = _items(titems, items)
    if all(_number_or_array(v) for v in items) and _number_or_array(start):
        t = tstart
        for tv in titems:
            t = _add(t, tv)
        return sum(items, start), t
    y, t = start, tstart
    for v, tv in zip(items, titems, strict=True):
        y, t = add_jvp((y, v), (t, tv))
    return y, t


def _number_or_array(x):
    return isinstance(x, (int, float, complex, np.generic)) or is_array(x)


def _implemented_jvp(impl):
    """map, filter, functools.reduce, itertools.product and chain: the JVP of the plain Python function
    that reverse mode differentiates for them (rules/higher_order.py)."""

    def implementation_jvp(args, targs, kwargs, tkwargs):
        from ..forward import jvp_call

        return jvp_call(impl, None, args, targs, kwargs, tkwargs)

    implementation_jvp.__name__ = f"{impl.__name__}_jvp"
    return implementation_jvp


for _primal, _impl in [
    (functools.reduce, reduce_impl),
    (map, map_impl),
    (filter, filter_impl),
    (itertools.product, product_impl),
    (itertools.chain, chain_impl),
]:
    keyword_forward_rule(_primal)(_implemented_jvp(_impl))


# ---------------------------------------------------------------------------------------------------------
# dicts and partials built by calls


def _dict_tangent(td, what="a dict"):
    """A dict's tangent as a mapping (None: all zero)."""
    if td is None or isinstance(td, (dict, Tangent)):
        return td
    raise _forward_error(f"follow {what}", f"its tangent is a {type(td).__name__}, not a dict")


@keyword_forward_rule(dict)
@makes_container
def dict_jvp(args, targs, kwargs, tkwargs):
    _arity(dict, args, {}, 0, 1)
    t = {}
    if args:
        source, tsource = args[0], targs[0]
        if hasattr(source, "keys"):
            td = _dict_tangent(tsource)
            y = dict(source)
            t = {k: None if td is None else td.get(k) for k in y}
        else:
            pairs, tpairs = _iterate(source, tsource)
            y = dict(pairs)
            for i, (k, _) in enumerate(pairs):
                t[k] = None if tpairs is None or tpairs[i] is None else tpairs[i][1]
    else:
        y = {}
    y.update(kwargs)
    t.update({k: tkwargs.get(k) for k in kwargs})
    return y, t


@forward_rule(cons_to_dict)
@makes_container
def cons_to_dict_jvp(args, targs):
    pairs, tpairs = cons_to_list_jvp(args, targs)
    t = {}
    for (k, _), tp in zip(pairs, tpairs, strict=True):
        t[k] = None if tp is None else tp[1]
    return dict(pairs), t


@keyword_forward_rule(functools.partial)
def partial_jvp(args, targs, kwargs, tkwargs):
    """The tangent of a partial is ``Tangent(func=..., args=..., keywords=...)``, as reverse mode's cotangent
    (fluxpy/forward.py calls it); Python flattens a partial of a partial, and so does its tangent."""
    y = functools.partial(*args, **kwargs)
    tfunc, tbound, tkw = targs[0], tuple(targs[1:]), {k: tkwargs.get(k) for k in kwargs}
    inner = args[0]
    if type(inner) is functools.partial and y.func is not inner:
        fields = tfunc if isinstance(tfunc, Tangent) else {}
        inner_kw = fields.get("keywords") or {}
        tbound = tuple(fields.get("args") or (None,) * len(inner.args)) + tbound
        tkw = {**{k: inner_kw.get(k) for k in inner.keywords}, **tkw}
        tfunc = fields.get("func")
    if tfunc is None and all(t is None for t in tbound) and all(t is None for t in tkw.values()):
        return y, None
    return y, Tangent(functools.partial, {"func": tfunc, "args": tbound, "keywords": tkw})


# ---------------------------------------------------------------------------------------------------------
# methods of dict and list (fluxpy/forward.py finds them by the class's method: ``dict.items``)


@forward_rule(dict.items)
def dict_items_jvp(args, targs):
    _arity(dict.items, args, {}, 1, 1)
    d = args[0]
    td = _dict_tangent(targs[0])
    y = list(d.items())
    return y, None if td is None else [(None, td.get(k)) for k in d]


@forward_rule(dict.values)
def dict_values_jvp(args, targs):
    _arity(dict.values, args, {}, 1, 1)
    d = args[0]
    td = _dict_tangent(targs[0])
    return list(d.values()), None if td is None else [td.get(k) for k in d]


@forward_rule(dict.get)
def dict_get_jvp(args, targs):
    _arity(dict.get, args, {}, 2, 3)
    d, key = args[0], args[1]
    if key in d:
        td = _dict_tangent(targs[0])
        return d[key], None if td is None else td.get(key)
    return d.get(key, *args[2:]), targs[2] if len(args) > 2 else None


@forward_rule(dict.copy, list.copy)
@makes_container
def copy_jvp(args, targs):
    _arity(type(args[0]).copy if args else dict.copy, args, {}, 1, 1)
    x, t = args[0], targs[0]
    return x.copy(), None if t is None else (dict(t) if isinstance(x, dict) else list(t))


# ---------------------------------------------------------------------------------------------------------
# in-place changes of a list or dict (``stack.pop()`` inside an expression; statements are rebound by the
# normalizer): the same change is made to its tangent, which mirrors it, aliases included


def _tangent_to_change(x, tx, name):
    """The tangent container to change alongside ``x`` (None: ``x`` has no tangent)."""
    if tx is None:
        return None
    if (type(tx) is list and len(tx) == len(x)) if isinstance(x, list) else type(tx) is dict:
        return tx
    raise _forward_error(
        f"follow {type(x).__name__}.{name}(...)",
        f"it changes the {type(x).__name__} in place, and its tangent, a {type(tx).__name__}, cannot follow",
    )


def _no_new_tangents(x, name, *tangents):
    if any(t is not None for t in tangents):
        from ..forward import FORWARD_IN_PLACE_FIX

        raise _forward_error(
            f"follow {type(x).__name__}.{name}(...)",
            f"it puts values with tangents in place into a {type(x).__name__} that had none",
            FORWARD_IN_PLACE_FIX,
        )


@forward_rule(list.append)
def append_in_place_jvp(args, targs):
    _arity(list.append, args, {}, 2, 2)
    lst, v = args
    t = _tangent_to_change(lst, targs[0], "append")
    if t is None:
        _no_new_tangents(lst, "append", targs[1])
    lst.append(v)
    if t is not None:
        t.append(targs[1])
    return None, None


@forward_rule(list.extend)
def extend_in_place_jvp(args, targs):
    _arity(list.extend, args, {}, 2, 2)
    lst, values = args
    t = _tangent_to_change(lst, targs[0], "extend")
    items, titems = _iterate(values, targs[1])
    if t is None and titems is not None:
        _no_new_tangents(lst, "extend", *titems)
    lst.extend(items)
    if t is not None:
        t.extend(_items(titems, items))
    return None, None


@forward_rule(list.insert)
def insert_in_place_jvp(args, targs):
    _arity(list.insert, args, {}, 3, 3)
    lst, index, v = args
    t = _tangent_to_change(lst, targs[0], "insert")
    if t is None:
        _no_new_tangents(lst, "insert", targs[2])
    lst.insert(index, v)
    if t is not None:
        t.insert(index, targs[2])
    return None, None


@forward_rule(list.pop)
def pop_in_place_jvp(args, targs):
    _arity(list.pop, args, {}, 1, 2)
    lst, index = args[0], args[1:]
    t = _tangent_to_change(lst, targs[0], "pop")
    y = lst.pop(*index)
    return y, None if t is None else t.pop(*index)


@forward_rule(list.remove)
def remove_in_place_jvp(args, targs):
    _arity(list.remove, args, {}, 2, 2)
    lst, v = args
    t = _tangent_to_change(lst, targs[0], "remove")
    i = lst.index(v)
    del lst[i]
    if t is not None:
        del t[i]
    return None, None


@forward_rule(list.clear, dict.clear)
def clear_in_place_jvp(args, targs):
    _arity(type(args[0]).clear if args else list.clear, args, {}, 1, 1)
    x = args[0]
    t = _tangent_to_change(x, targs[0], "clear")
    x.clear()
    if t is not None:
        t.clear()
    return None, None


@forward_rule(list.reverse)
def reverse_in_place_jvp(args, targs):
    _arity(list.reverse, args, {}, 1, 1)
    lst = args[0]
    t = _tangent_to_change(lst, targs[0], "reverse")
    lst.reverse()
    if t is not None:
        t.reverse()
    return None, None


@keyword_forward_rule(list.sort)
def sort_in_place_jvp(args, targs, kwargs, tkwargs):
    _arity(list.sort, args, kwargs, 1, 1, ("key", "reverse"))
    lst = args[0]
    t = _tangent_to_change(lst, targs[0], "sort")
    order = _sort_order(lst, kwargs.get("key"), kwargs.get("reverse", False))
    lst[:] = pick(lst, order)
    if t is not None:
        t[:] = pick(t, order)
    return None, None


@keyword_forward_rule(dict.update)
def update_in_place_jvp(args, targs, kwargs, tkwargs):
    _arity(dict.update, args, {}, 1, 2)
    d = args[0]
    t = _tangent_to_change(d, targs[0], "update")
    new = dict_jvp(args[1:], targs[1:], kwargs, tkwargs)
    if t is None:
        _no_new_tangents(d, "update", *new[1].values())
    d.update(new[0])
    if t is not None:
        t.update(new[1])
    return None, None


@forward_rule(dict.setdefault)
def setdefault_in_place_jvp(args, targs):
    _arity(dict.setdefault, args, {}, 2, 3)
    d, key = args[0], args[1]
    t = _tangent_to_change(d, targs[0], "setdefault")
    if key in d:
        return d[key], None if t is None else t.get(key)
    tv = targs[2] if len(args) > 2 else None
    if t is None:
        _no_new_tangents(d, "setdefault", tv)
    y = d.setdefault(key, *args[2:])
    if t is not None:
        t[key] = tv
    return y, tv


@forward_rule(dict.pop)
def dict_pop_in_place_jvp(args, targs):
    _arity(dict.pop, args, {}, 2, 3)
    d, key = args[0], args[1]
    t = _tangent_to_change(d, targs[0], "pop")
    if key not in d and len(args) > 2:
        return args[2], targs[2]
    y = d.pop(key)
    return y, None if t is None else t.pop(key, None)


@forward_rule(dict.popitem)
def popitem_in_place_jvp(args, targs):
    _arity(dict.popitem, args, {}, 1, 1)
    d = args[0]
    t = _tangent_to_change(d, targs[0], "popitem")
    key, value = d.popitem()
    return (key, value), None if t is None else (None, t.pop(key, None))


# ---------------------------------------------------------------------------------------------------------
# cotangent plumbing of generated reverse code for objects, sequences and keywords: linear selections, whose
# tangents are the same selections of the tangents (forward over reverse runs them; transposing their
# reverse rules costs a reverse pass each)


def _fields(t):
    """A Tangent's tangent is a Tangent of its fields' tangents (None: all zero); anything else: no rule."""
    return t is None or type(t) is Tangent


@forward_rule(seq_scatter)
def seq_scatter_jvp(args, targs):
    n, idx, dy, as_list = args
    tdy = targs[2]
    return seq_scatter(n, idx, dy, as_list), None if tdy is None else seq_scatter(n, idx, tdy, as_list)


@forward_rule(field_of)
def field_of_jvp(args, targs):
    t, name = args
    if not _fields(targs[0]):
        return _forward_mode().derived_jvp(field_of, None, args, targs, {}, {})
    return field_of(t, name), field_of(targs[0], name)


@forward_rule(without_field)
def without_field_jvp(args, targs):
    t, name = args
    if not _fields(targs[0]):
        return _forward_mode().derived_jvp(without_field, None, args, targs, {}, {})
    return without_field(t, name), without_field(targs[0], name)


@forward_rule(bound_values)
def bound_values_jvp(args, targs):
    kwargs, layout = args
    tkwargs = targs[0]
    if tkwargs is not None and type(tkwargs) is not dict:
        return _forward_mode().derived_jvp(bound_values, None, args, targs, {}, {})
    t = (
        None
        if tkwargs is None
        else tuple(tkwargs.get(v) if kind == "keyword" else None for kind, v in layout)
    )
    return bound_values(kwargs, layout), t


@forward_rule(remaining_keywords)
def remaining_keywords_jvp(args, targs):
    kwargs, names = args
    tkwargs = targs[0]
    if tkwargs is not None and type(tkwargs) is not dict:
        return _forward_mode().derived_jvp(remaining_keywords, None, args, targs, {}, {})
    t = None if tkwargs is None else {k: tkwargs.get(k) for k in kwargs if k not in names}
    return remaining_keywords(kwargs, names), t


@forward_rule(kwgrad)
def kwgrad_jvp(args, targs):
    g, position, name = args
    y, tg = kwgrad(g, position, name), targs[0]
    t = None if y is None or tg is None or len(tg) <= position else tg[position]
    if t is not None and not isinstance(t, dict):
        return _forward_mode().derived_jvp(kwgrad, None, args, targs, {}, {})
    return y, None if t is None else (dict(t) if name is None else t.get(name))


# -- closures with forward rules of their own (see forward_over_reverse.py) ----------------------------------

closure_rules = {}  # code object -> jvp(fn, tfn, args, targs, kwargs, tkwargs) of every closure made from it


def closure_forward_rule(*codes):
    """Decorator: the forward rule ``jvp(fn, tfn, args, targs, kwargs, tkwargs) -> (y, ty)`` of every
    function made from one of ``codes`` (fluxpy/forward.py's jvp_call looks here first)."""

    def decorate(rule):
        for code in codes:
            closure_rules[code] = rule
        return rule

    return decorate


def inner_code(fn, name):
    """The code object of the function ``name`` defined in ``fn``'s body (a rule's pullback)."""
    return next(c for c in fn.__code__.co_consts if getattr(c, "co_name", None) == name)


@nograd
@functools.cache
def _forward_mode():
    """fluxpy/forward.py, imported on first use (its import reaches this module through runtime)."""
    from .. import forward

    return forward
