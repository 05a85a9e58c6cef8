"""Forward rules of objects: attributes, closures and Tangents, and the cotangent plumbing generated reverse
code calls (forward over reverse runs through generated code).

A closure's or an object's tangent is a Tangent of its fields' tangents; the plumbing helpers are linear
selections, whose tangents are the same selections of the tangents.
"""

import builtins
import operator
import types
from collections.abc import Mapping

import numpy as np

from ..backend import is_array
from ..runtime import (
    bound_values,
    kwgrad,
    remaining_keywords,
    run_method,
    scalar_plan,
    trailing_keywords,
    user_location,
)
from ..tangents import Tangent, accum
from . import attributes
from .forward_arithmetic import _NUMERIC, negative_jvp
from .forward_core import _arity, _forward_mode, _like, _plain
from .helpers import stacked
from .numpy_reshapes import flat_attribute_rule
from .python_attributes import (
    VALUE_ATTRIBUTES,
    field_of,
    no_adjoint_attribute,
    object_setattr,
    parent_setattr,
    store_field,
    without_field,
    write_attribute,
)
from .python_common import _python_dunder, seq_scatter
from .python_control import caught, with_value
from .python_cotangents import closure_tangent, expand, freevars, starred_grads, tangent_field, tangent_values
from .python_iteration import cotangent_as
from .python_operators import via_unary_dunder
from .registry import forward_rule, lookup_attribute

# ---------------------------------------------------------------------------------------------------------
# attributes and Tangents


@forward_rule(getattr)
def getattr_jvp(args, targs):
    obj, name = args[0], args[1]
    t = targs[0]
    hook = attributes.read_hook(obj, name) if isinstance(name, str) else None
    if hook is not None:  # a property, a descriptor, __getattr__: the JVP of their code
        fn, positions, _ = hook
        target = attributes.proxied(obj)  # super().prop: the getter runs on the object (the proxy's tangent)
        hook_args = tuple(target if p == 1 else p for p in positions)
        hook_targs = tuple(t if p == 1 else None for p in positions)
        return _forward_mode().jvp_call(fn, None, hook_args, hook_targs, {}, {})
    if name == "flat" and (type(obj) is np.ndarray or isinstance(obj, np.generic)):
        return flat_attribute_rule(obj)[0], None if t is None else flat_attribute_rule(_like(t, obj))[0]
    y = getattr(obj, *args[1:])
    if t is not None and name in VALUE_ATTRIBUTES and y is not None and is_array(obj):
        raise no_adjoint_attribute(name, user_location())  # ``x.data``, ``x.base``: no tangent to give
    methods = (types.MethodType, types.BuiltinMethodType, types.MethodWrapperType)
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
    if t is None:
        return y, None
    if isinstance(t, Tangent):
        t = _forward_mode().settled(t)  # None when no captured variable of a closure has a tangent now
        return y, None if t is None else t.get(name)
    if isinstance(obj, tuple) and hasattr(type(obj), "_fields"):
        fields = type(obj)._fields  # a field's tangent; class attributes (``_fields`` itself) have none
        return y, t[fields.index(name)] if name in fields else None
    rule = lookup_attribute(name)
    if rule is not None:  # x.T on an array: linear, so the tangent goes through the same map
        return y, rule(_like(t, obj))[0]
    return y, None


def scalar_method_jvp(obj, tobj, name, args, targs, kwargs, tkwargs):
    """``obj.name(*args)`` for a Python number ``obj``, and its tangent: the forward rule of the operator the
    method implements (``x.__rsub__(a)`` is ``a - x``: runtime.scalar_plan); a method whose result carries
    no gradient runs plainly; any other follows its reverse path, which raises NoAdjointError when a tangent
    has to pass (never a silent zero)."""
    forward = _forward_mode()
    plan = scalar_plan(obj, name, args, kwargs)
    if plan is None:
        return forward.derived_method_jvp(obj, tobj, name, args, targs, kwargs, tkwargs)
    callee, order = plan
    if callee is None:
        return run_method(obj, name, args, kwargs), None
    if order == "reflected":
        return forward.jvp_call(callee, None, (args[0], obj), (targs[0], tobj), {}, {})
    return forward.jvp_call(callee, None, (obj,) + tuple(args), (tobj,) + tuple(targs), {}, {})


def simple_namespace_jvp(args, targs, kwargs, tkwargs):
    """``types.SimpleNamespace(**fields)``: its tangent is a Tangent of the fields' (as its cotangent)."""
    y = types.SimpleNamespace(*args, **kwargs)
    fields = {}
    if args and isinstance(targs[0], Mapping):  # a mapping first (Python 3.13)
        fields.update({k: targs[0].get(k) for k in args[0] if k not in kwargs})
    fields.update({k: tkwargs.get(k) for k in kwargs})
    if all(t is None for t in fields.values()):
        return y, None
    return y, Tangent(types.SimpleNamespace, fields)


simple_namespace_jvp.takes_keywords = True
forward_rule(types.SimpleNamespace)(simple_namespace_jvp)


@forward_rule(trailing_keywords)
def trailing_keywords_jvp(args, targs):
    """``trailing_keywords(g)``: a selection of ``g``'s last entry, whose tangent is that entry's."""
    g, tg = args[0], targs[0]
    y = trailing_keywords(g)
    if tg is None or not y:
        return y, None
    t = tuple(tg)[-1]
    return y, dict(t) if isinstance(t, Mapping) else None


@forward_rule(dict.fromkeys)
def dict_fromkeys_jvp(args, targs):
    """``dict.fromkeys(keys, value)``: every key's tangent is the value's."""
    y = dict.fromkeys(*args)
    t = targs[1] if len(targs) > 1 else None
    return y, None if t is None else dict.fromkeys(y, t)


@forward_rule(super)
def super_jvp(args, targs):
    """``super(cls, obj)``: a proxy whose tangent is ``obj``'s (as its cotangent is in reverse mode)."""
    return super(*args), targs[1] if len(args) == 2 else None


def _unary_jvp(dunder, otherwise):
    """``-obj``, ``+obj``, ``abs(obj)`` of a user class: its Python ``__neg__``/``__pos__``/``__abs__``
    differentiated in forward mode (its result is an object, which a transposed reverse rule cannot carry);
    numbers and arrays as ``otherwise(args, targs)``."""

    def unary_jvp(args, targs):
        a = args[0] if len(args) == 1 else None
        if type(a) not in _NUMERIC and not _plain(a) and _python_dunder(a, dunder) is not None:
            return _forward_mode().jvp_call(
                via_unary_dunder, None, (dunder, args[0]), (None, targs[0]), {}, {}
            )
        return otherwise(args, targs)

    unary_jvp.__name__ = f"unary_{dunder.strip('_')}_jvp"
    return unary_jvp


def _transposed(primal):
    def transposed_jvp(args, targs):
        return _forward_mode().derived_jvp(primal, None, args, targs, {}, {})

    return transposed_jvp


# numbers and arrays: forward_arithmetic.py's negative_jvp (registered there before: imported above), and the
# transposed reverse rules of + and abs
forward_rule(operator.neg)(_unary_jvp("__neg__", negative_jvp))
forward_rule(operator.pos)(_unary_jvp("__pos__", _transposed(operator.pos)))
forward_rule(builtins.abs, operator.abs)(_unary_jvp("__abs__", _transposed(builtins.abs)))


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


@forward_rule(with_value)
def with_value_jvp(args, targs):
    _arity(with_value, args, {}, 2, 2)
    (manager, entered), tmanager = args, targs[0]
    if tmanager is None:
        return entered, None
    field = attributes.entered_field(manager, entered)
    if field is None:
        attributes.refuse_entered(manager, entered)
        return entered, None
    if field is attributes.ITSELF:
        return entered, tmanager
    return entered, tmanager.get(field) if isinstance(tmanager, Tangent) else None


@forward_rule(caught)
def caught_jvp(args, targs):
    """The exception of ``except E as e``: what it carries has no tangent (see rules/python_control.py's
    caught_rule); forward mode gives none (its tangent would be the zero it is)."""
    _arity(caught, args, {}, 1, 1)
    return args[0], None


@forward_rule(store_field)
def store_field_jvp(args, targs):
    obj, name, value = args
    tobj, _, tvalue = targs
    fields = dict(tobj) if isinstance(tobj, Tangent) else {}
    fields[name] = tvalue
    return store_field(obj, name, value), Tangent(type(obj), fields)


def _hooked_write_jvp(hook, args, targs):
    """The JVP of a class's ``__setattr__`` or a property's setter, run as a constructor (returning the
    object, with its tangent)."""
    if hook is None:
        return store_field_jvp(args, targs)
    setter, kind = hook
    (obj, name, value), (tobj, _, tvalue) = args, targs
    hook_args, hook_targs = (
        ((obj, name, value), (tobj, None, tvalue)) if kind == "setattr" else ((obj, value), (tobj, tvalue))
    )
    return _forward_mode()._python_jvp(setter, None, hook_args, hook_targs, {}, {}, constructor=True)


@forward_rule(write_attribute)
def write_attribute_jvp(args, targs):
    _arity(write_attribute, args, {}, 3, 3)
    return _hooked_write_jvp(attributes.write_hook(*args[:2]), args, targs)


@forward_rule(object_setattr)
def object_setattr_jvp(args, targs):
    _arity(object_setattr, args, {}, 3, 3)
    return _hooked_write_jvp(attributes.descriptor_write_hook(*args[:2]), args, targs)


@forward_rule(parent_setattr)
def parent_setattr_jvp(args, targs):
    _arity(parent_setattr, args, {}, 4, 4)
    cls, obj = args[0], args[1]
    setter = attributes.parent_setattr(cls, obj)
    if setter is None:
        return object_setattr_jvp(args[1:], targs[1:])
    return _hooked_write_jvp((setter, "setattr"), args[1:], targs[1:])


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
    g, start = args[0], args[1]
    y, tg = starred_grads(*args), targs[0]
    if tg is None or y is None:
        return y, None
    titems = tuple(tg)[start : start + len(starred_grads(g, start))]
    if len(args) > 2 and is_array(args[2]):  # an array splatted: the items' tangents stacked alike
        return y, stacked(titems, args[2])
    return y, titems


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
