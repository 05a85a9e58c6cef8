"""Rules for building dicts and objects (``dict``, ``OrderedDict``, ``defaultdict``, ``dict.fromkeys``,
``types.SimpleNamespace``), for the methods of dict, list and tuple that do not change them (those that
do: rules/mutation.py), for copying, and for the union of two dicts (``a | b``). A dict's cotangent is a
dict, a list's a list, a tuple's a tuple.

>>> y, back = dict_rule([("a", 1.0), ("b", 2.0)])
>>> y, back({"a": 5.0})
({'a': 1.0, 'b': 2.0}, ([(None, 5.0), (None, None)],))
"""

import collections
import copy
import operator
import types

from ..tangents import KeywordGrads, accum
from .python_attributes import field_of
from .python_common import _none_pullback, _same_pullback
from .python_in_place import user_in_place
from .python_iteration import iterlist
from .python_packing import _pair_keys, dict_values, pack_dict
from .registry import adjoint, nograd, register_container_method

# =========================================================================================================
# methods of dict, list and tuple (those that do not mutate), and copies


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


# =========================================================================================================
# building dicts and namespaces


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


# =========================================================================================================
# a | b (the union of two dicts)


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
