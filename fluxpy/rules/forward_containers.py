"""Forward rules of containers: tuples, lists, dicts and partials built, read and updated functionally;
their tangents mirror their structure (a list's tangent is a list, a dict's a dict, a partial's a Tangent).

In-place changes of a list or dict are in forward_in_place.py; objects, closures and Tangents in
forward_objects.py.
"""

import collections
import copy
import functools
import operator

import numpy as np

from ..backend import xp_of
from ..tangents import Tangent
from .forward_core import (
    _arity,
    _forward_error,
    _items,
    _like,
    _plain,
    keyword_forward_rule,
    makes_container,
)
from .forward_iteration import _iterate
from .mutation import (
    _remove_position,
    list_append,
    list_extend,
    list_insert,
    list_pop,
    list_remove,
    list_reverse,
    setitem,
    setitem_argument,
)
from .python_iteration import iterlist
from .python_packing import (
    cons_to_dict,
    cons_to_list,
    pack_dict,
    pack_list,
    pack_tuple,
    unpack,
    unpack_starred,
)
from .registry import forward_rule

# ---------------------------------------------------------------------------------------------------------
# tuples, lists and dict displays built and read (``(a, b)``, ``[a, b]``, ``{k: v}``, unpacking, ``x[i]``)


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


@forward_rule(unpack_starred)
def unpack_starred_jvp(args, targs):
    x, before, after = args
    items, titems = _iterate(x, targs[0])
    y = unpack_starred(items, before, after)
    return y, None if titems is None else unpack_starred(list(titems), before, after)


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
        from .python_common import _python_dunder

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


# ---------------------------------------------------------------------------------------------------------
# dicts and partials built by calls, and lists and dicts built by comprehensions (``cons_to_list``)


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


@keyword_forward_rule(collections.OrderedDict)
@makes_container
def ordered_dict_jvp(args, targs, kwargs, tkwargs):
    """``OrderedDict(...)``: as ``dict(...)``, its tangent a dict of the same keys."""
    y, t = dict_jvp(args, targs, kwargs, tkwargs)
    return collections.OrderedDict(y), t


@keyword_forward_rule(collections.defaultdict)
@makes_container
def defaultdict_jvp(args, targs, kwargs, tkwargs):
    """``defaultdict(factory, ...)``: the items as ``dict(...)`` has them; the factory has no tangent."""
    y, t = dict_jvp(tuple(args[1:]), tuple(targs[1:]), kwargs, tkwargs)
    return collections.defaultdict(args[0] if args else None, y), t


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


@forward_rule(dict.items, collections.OrderedDict.items)
def dict_items_jvp(args, targs):
    _arity(dict.items, args, {}, 1, 1)
    d = args[0]
    td = _dict_tangent(targs[0])
    y = list(d.items())
    return y, None if td is None else [(None, td.get(k)) for k in d]


@forward_rule(dict.values, collections.OrderedDict.values)
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


@forward_rule(copy.copy)
@makes_container
def copy_copy_jvp(args, targs):
    """``copy.copy(x)``: the tangent is copied the same way (a new list or dict for a new one, which
    in-place changes of the copy then update)."""
    _arity(copy.copy, args, {}, 1, 1)
    return copy.copy(args[0]), None if targs[0] is None else copy.copy(targs[0])


@forward_rule(copy.deepcopy)
@makes_container
def deepcopy_jvp(args, targs):
    _arity(copy.deepcopy, args, {}, 1, 2)
    return copy.deepcopy(*args), None if targs[0] is None else copy.deepcopy(targs[0])


# ---------------------------------------------------------------------------------------------------------
# writes (functional updates): the tangent is updated the same way


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
            if isinstance(idx, slice) and tv is None:  # lst[a:b] = values, none of them carrying a tangent
                tv = [None] * (len(y) - len(x) + len(range(*idx.indices(len(x)))))
            t[idx] = tv
            return y, t
        if getattr(y, "dtype", None) is not None and y.dtype.kind not in "fc":
            tv = None  # the written value is cast to the integer (or bool) dtype: its tangent is lost
        if tx is None and tv is None:
            return y, None
        xp = xp_of(y)
        t = (
            xp.zeros(y.shape, dtype=y.dtype if y.dtype.kind in "fc" else float)
            if tx is None
            else xp.array(_like(tx, y), copy=True)
        )
        t[idx] = 0 if tv is None else _dense(tv, v)
        return y, t

    return setitem_jvp


def _dense(t, v):
    """The tangent ``t`` of the value ``v`` written into an array: a list or tuple's None entries (no
    tangent) as zeros of their item's shape."""
    if isinstance(t, (list, tuple)):
        return [
            np.zeros(np.shape(item)) if e is None else _dense(e, item) for e, item in zip(t, v, strict=True)
        ]
    return t


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


@forward_rule(list_reverse)
def list_reverse_jvp(args, targs):
    (lst,) = args
    return list_reverse(lst), list_reverse(list(_items(targs[0], lst)))


@forward_rule(list_remove)
def list_remove_jvp(args, targs):
    lst, value = args
    position = _remove_position(lst, value)
    t = list(_items(targs[0], lst))
    return list_remove(lst, value), t[:position] + t[position + 1 :]
