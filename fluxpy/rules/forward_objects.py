"""Forward rules of objects: attributes, closures and Tangents, and the cotangent plumbing generated reverse
code calls (forward over reverse runs through generated code).

A closure's or an object's tangent is a Tangent of its fields' tangents; the plumbing helpers are linear
selections, whose tangents are the same selections of the tangents.
"""

import types
from collections.abc import Mapping

import numpy as np

from ..runtime import bound_values, kwgrad, remaining_keywords
from ..tangents import Tangent, accum
from .forward_core import _arity, _forward_mode, _like
from .python import (
    _property_getter,
    closure_tangent,
    cotangent_as,
    expand,
    field_of,
    freevars,
    seq_scatter,
    starred_grads,
    tangent_field,
    tangent_values,
    without_field,
    write_attribute,
)
from .registry import forward_rule, lookup_attribute

# ---------------------------------------------------------------------------------------------------------
# attributes and Tangents


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


@forward_rule(write_attribute)
def write_attribute_jvp(args, targs):
    obj, name, value = args
    tobj, _, tvalue = targs
    fields = dict(tobj) if isinstance(tobj, Tangent) else {}
    fields[name] = tvalue
    return write_attribute(obj, name, value), Tangent(type(obj), fields)


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
