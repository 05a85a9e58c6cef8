"""Forward rules (``jvp_rule(args, targs) -> (y, ty)``) written beside the reverse rules for the hottest
operations; every other callee gets its tangent by transposing its reverse rule (see fluxpy/forward.py).
Elementwise derivatives are one table row each.
"""

import operator
import types

import numpy as np

from ..backend import xp_of
from ..tangents import Tangent, accum
from .mutation import list_append, list_extend, list_insert, list_pop, setitem, setitem_argument
from .python import (
    _property_getter,
    _python_dunder,
    closure_tangent,
    cons_to_list,
    expand,
    iterlist,
    pack_dict,
    pack_list,
    pack_tuple,
    power_by_constant,
    starred_grads,
    tangent_field,
    tangent_values,
    unpack,
    write_attribute,
)
from .registry import forward_rule, lookup_attribute


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


@forward_rule(operator.add)
def add_jvp(args, targs):
    a, b = args
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


def _array(t, x):
    if t is None:
        return None
    return np.asarray([0.0 if v is None else v for v in t])


@forward_rule(operator.sub, np.subtract)
def subtract_jvp(args, targs):
    a, b = args
    if not (_plain(a) and _plain(b)):
        return _dunder_jvp("sub", args, targs)
    if _seq(a) or _seq(b):
        a, b = np.asarray(a), np.asarray(b)
        targs = (
            _array(targs[0], args[0]) if _seq(args[0]) else targs[0],
            _array(targs[1], args[1]) if _seq(args[1]) else targs[1],
        )
    return a - b, _add(targs[0], _scale(targs[1], -1))


@forward_rule(operator.mul, np.multiply)
def multiply_jvp(args, targs):
    a, b = args
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


@forward_rule(operator.truediv, np.divide, np.true_divide)
def divide_jvp(args, targs):
    a, b = args
    if not (_plain(a) and _plain(b)):
        return _dunder_jvp("truediv", args, targs)
    y = a / b
    return y, _add(_scale(targs[0], 1 / b), _scale(targs[1], -y / b))


@forward_rule(operator.neg, np.negative)
def negative_jvp(args, targs):
    return -args[0], _scale(targs[0], -1)


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
    t = None if ta is None else xp.matmul(ta, b)
    return xp.matmul(a, b), _add(t, None if tb is None else xp.matmul(a, tb))


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
# containers and attributes: tangents mirror the structure (closures and objects carry Tangents)


@forward_rule(pack_tuple)
def pack_tuple_jvp(args, targs):
    return tuple(args), tuple(targs)


@forward_rule(pack_list)
def pack_list_jvp(args, targs):
    return list(args), list(targs)


@forward_rule(pack_dict)
def pack_dict_jvp(args, targs):
    keys, values = args[0], args[1:]
    return pack_dict(keys, *values), dict(zip(keys, targs[1:], strict=True))


@forward_rule(unpack)
def unpack_jvp(args, targs):
    x, count = args
    tx = targs[0]
    items = unpack(x, count)
    if tx is None:
        return items, None
    return items, tuple(tx) if not hasattr(tx, "shape") else tuple(tx[i] for i in range(count))


@forward_rule(iterlist, list)
def iterlist_jvp(args, targs):
    (x,) = args
    tx = targs[0]
    if _python_dunder(x, "__iter__") is not None:
        from ..forward import jvp_call
        from .higher_order import iterate_user_object

        return jvp_call(iterate_user_object, None, (x,), (tx,), {}, {})
    items = list(x)
    if tx is None:
        return items, None
    if hasattr(tx, "shape"):
        return items, [tx[i] for i in range(len(items))]
    if isinstance(tx, dict):
        return items, None  # iterating a dict yields its keys
    return items, list(tx)


@forward_rule(tuple)
def tuple_jvp(args, targs):
    x = args[0] if args else ()
    tx = targs[0] if targs else None
    return tuple(x), None if tx is None else tuple(tx)


@forward_rule(operator.getitem)
def getitem_jvp(args, targs):
    x, idx = args
    tx = targs[0]
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
    return x[idx], tx[idx]


@forward_rule(getattr)
def getattr_jvp(args, targs):
    obj, name = args[0], args[1]
    y = getattr(obj, *args[1:])
    t = targs[0]
    if isinstance(y, types.MethodType) and y.__self__ is obj:
        return y, t  # a bound method's tangent is its object's
    fget = _property_getter(obj, name)
    if fget is not None:
        from ..forward import jvp_call

        return jvp_call(fget, None, (obj,), (t,), {}, {})
    if t is None:
        return y, None
    if isinstance(t, Tangent):
        return y, t.get(name)
    if isinstance(obj, tuple) and hasattr(type(obj), "_fields"):
        return y, t[type(obj)._fields.index(name)]
    rule = lookup_attribute(name)
    if rule is not None:  # x.T on an array: linear, so the tangent goes through the same map
        return y, rule(t)[0]
    return y, None


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
            else xp.array(tx, copy=True)
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
    y = list_extend(lst, values)
    more = _items(targs[1], list(values)) if not hasattr(targs[1], "shape") else list(targs[1])
    return y, list(_items(targs[0], lst)) + list(more)


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
