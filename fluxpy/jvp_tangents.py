"""The tangents ``fx.jvp`` is given and the one it returns: checked against the primals, read as forward
mode reads them, and the output's shaped like the output.

A tangent is a direction: its values are never compared with the primal's. It mirrors its primal:

- an array's is an array of its shape, or a number (the same in every element);
- a number's is a number (or an array of one element);
- a tuple's or list's has one entry per item, a dict's is a dict whose keys are among the primal's (a key
  left out, or ``None`` anywhere, is zero);
- an object's (a layer, a dataclass, a ``@functor`` class) is an ``fx.Tangent`` of its fields or a dict of
  its fields (every number and array in them is a direction), or an object of the same type (what
  ``fx.fmap`` builds, as JAX's tangents): its arrays are the directions, and a function, a string, a bool,
  None or an int (a size, a stride) none. A float there is refused: ``fx.fmap`` leaves numbers as they are,
  so a layer's ``eps`` kept would be a direction; map what does not move to None, or give a dict.

Anything else raises a ``FluxpyError`` naming where (``tangents[0]['w']``) and what was expected: never a
silent zero.

>>> import numpy as np
>>> check_tangents((np.ones(2),), ([1.0, 2.0],))  # doctest: +ELLIPSIS
Traceback (most recent call last):
    ...
fluxpy.errors.FluxpyError: fx.jvp: tangents[0] is a list, but primals[0] is an ndarray of shape (2,): ...
"""

import copy as _copy
import numbers
import types

import numpy as np

from . import functors
from .backend import is_array
from .errors import FluxpyError
from .rules.registry import adjoint, forward_rule, nograd
from .tangents import Tangent

_NUMBERS = (numbers.Number, np.generic)
_NO_FIELDS = (type, types.ModuleType, types.FunctionType, types.BuiltinFunctionType, types.MethodType)
_INTERNAL = "__fx_"  # the fields forward mode keeps in a closure's Tangent (forward.LIVE, DEFAULTS)
_COUNTS = (int, np.integer, np.bool_)  # a layer's sizes, strides and flags: no direction in a mapped object


def check_tangents(primals, tangents):
    """A FluxpyError unless ``primals`` and ``tangents`` are tuples (or lists) of the same length whose
    tangents fit their primals (see the module's docstring)."""
    for name, value in (("primals", primals), ("tangents", tangents)):
        if not isinstance(value, (tuple, list)):
            raise FluxpyError(
                f"fx.jvp(f, primals, tangents) takes tuples, one primal and one tangent per positional "
                f"argument of f (fx.jvp(f, (x,), (t,))), but {name} is {_a(value)}"
            )
    if len(primals) != len(tangents):
        raise FluxpyError(
            f"fx.jvp: {len(primals)} primals but {len(tangents)} tangents: give one tangent per primal"
        )
    for i, (t, p) in enumerate(zip(tangents, primals, strict=True)):
        if not plain_pair(t, p):
            _check(t, p, f"[{i}]")


def plain_pair(t, p):
    """The common case, which needs no check and no conversion: a float and a float tangent, or a float
    array and a float array tangent of its shape."""
    tp = type(p)
    if tp is float:
        return type(t) is float
    return (
        tp is np.ndarray
        and type(t) is np.ndarray
        and t.shape == p.shape
        and p.dtype.kind == "f"
        and t.dtype.kind == "f"
    )


def _check(t, p, path, mapped=False):
    """``mapped``: ``t`` is part of an object of its primal's type (what ``fx.fmap`` builds)."""
    if t is None:
        return
    if is_leaf(p):
        _check_leaf(t, p, path, mapped)
    elif isinstance(p, (tuple, list)):
        _check_sequence(t, p, path, mapped)
    elif isinstance(p, dict):
        _check_dict(t, p, path)
    elif has_fields(p):
        _check_object(t, p, path)
    elif t is not p and not isinstance(t, Tangent):  # a closure's tangent is a Tangent of its captures
        raise FluxpyError(
            f"fx.jvp: tangents{path} is {_a(t)}, but primals{path} is {_a(p)}, which has no tangent: "
            "give None"
        )


def _check_leaf(t, p, path, mapped):
    if mapped and not is_array(t) and isinstance(t, _NUMBERS) and not isinstance(p, _COUNTS):
        raise FluxpyError(
            f"fx.jvp: tangents{path} is {_a(t)}, in a tangent given as an object of its primal's type: there "
            "a number is ambiguous (fx.fmap leaves numbers as they are: a layer's eps would move). "
            "Map what does not move to None (fx.fmap(lambda a: d(a) if isinstance(a, np.ndarray) else None, "
            "m)), or give an fx.Tangent(type(m), {field: direction}) or a dict of the fields that move"
        )
    if is_array(t) or isinstance(t, _NUMBERS):
        if _complex(t) and not _complex(p) and not isinstance(p, (bool, np.bool_)):
            raise FluxpyError(
                f"fx.jvp: tangents{path} is complex, but primals{path} is real ({_a(p)}): a real primal "
                "moves along real directions only, and the imaginary part would be dropped without a word. "
                "For a complex direction make the primal complex (x + 0j, x.astype(complex)); for two real "
                "directions call fx.jvp once with each (the real and the imaginary part)"
            )
        shape, primal_shape = np.shape(t), np.shape(p)
        if shape == primal_shape or shape == () or (np.size(t) == 1 and not is_array(p)):
            return
        raise FluxpyError(
            f"fx.jvp: tangents{path} has shape {shape}, but primals{path} has shape {primal_shape}: "
            "give each tangent its primal's shape (or a number, the same in every element)"
        )
    raise FluxpyError(f"fx.jvp: tangents{path} is {_a(t)}, but primals{path} is {_expected_leaf(p)}")


def _complex(x):
    """Whether the number or array ``x`` is complex."""
    return isinstance(x, (complex, np.complexfloating)) or (is_array(x) and x.dtype.kind == "c")


def _expected_leaf(p):
    if is_array(p):
        shape = p.shape
        return f"{_a(p)} of shape {shape}: give an array of shape {shape} (or a number, the same everywhere)"
    return f"{_a(p)}: give a number"


def _check_sequence(t, p, path, mapped):
    if not isinstance(t, (tuple, list)):
        raise FluxpyError(
            f"fx.jvp: tangents{path} is {_a(t)}, but primals{path} is {_a(p)}: give {_a(p)} of "
            f"{_entries(len(p))}, one tangent per item (None: zero)"
        )
    if len(t) != len(p):
        raise FluxpyError(
            f"fx.jvp: tangents{path} has {_entries(len(t))}, but primals{path} has {len(p)}: give one "
            "tangent per item (None: zero)"
        )
    for i, (a, b) in enumerate(zip(t, p, strict=True)):
        _check(a, b, f"{path}[{i}]", mapped)


def _check_dict(t, p, path):
    if not isinstance(t, dict):
        raise FluxpyError(
            f"fx.jvp: tangents{path} is {_a(t)}, but primals{path} is {_a(p)}: give a dict with some of its "
            f"keys ({list(p)}); a key left out is zero"
        )
    _check_fields(t, p, path, "keys")


def _check_fields(t, fields, path, what):
    """The entries of the dict or Tangent ``t`` against ``fields``, the primal's (a dict or its fields)."""
    unknown = [k for k in t if k not in fields and not (isinstance(k, str) and k.startswith(_INTERNAL))]
    if unknown:
        raise FluxpyError(
            f"fx.jvp: tangents{path} names {unknown}, which are not its {what}: primals{path} has the {what} "
            f"{list(fields)}. Give a tangent for some of them (one left out is zero)"
        )
    for k, v in t.items():
        if k in fields:
            _check(v, fields[k], f"{path}[{k!r}]" if what == "keys" else f"{path}.{k}")


def _check_object(t, p, path):
    fields = fields_of(p)
    if isinstance(t, Tangent):
        if not isinstance(p, t.primal_type):
            raise FluxpyError(
                f"fx.jvp: tangents{path} is a Tangent[{t.primal_type.__name__}], but primals{path} is "
                f"{_a(p)}: give an fx.Tangent({type(p).__name__}, {{field: direction}})"
            )
        _check_fields(t, fields, path, "fields")
    elif type(t) is dict:
        _check_fields(t, fields, path, "fields")
    elif type(t) is type(p):
        for k, v in fields.items():
            tv = getattr(t, k, None)
            if _a_direction(tv):
                _check(tv, v, f"{path}.{k}", mapped=True)
    else:
        name = type(p).__name__
        raise FluxpyError(
            f"fx.jvp: tangents{path} is {_a(t)}, but primals{path} is {_a(p)}: give an fx.Tangent({name}, "
            f"{{field: direction}}), a dict of its fields ({list(fields)}; one left out is zero), or "
            f"a {name} holding the directions (as fx.fmap builds)"
        )


def _a_direction(v):
    """Whether ``v``, the value of a field of a tangent given as an object of the primal's type, is a
    direction: not a function, a string, a bool or None (what ``fx.fmap`` leaves as they are)."""
    return v is not None and not isinstance(v, (str, bytes, bool, np.bool_, *_NO_FIELDS))


nograd(check_tangents)


def as_tangent(t, p, mapped=False):
    """The tangent ``t`` of the primal ``p`` (checked by :func:`check_tangents`) as forward mode reads it:
    containers rebuilt (in-place changes of a list change its tangent alike: never the caller's), an
    object's a ``Tangent`` of its fields. A bool gets no direction. In an object of the primal's type
    (``mapped``), neither do a number (an int field's: a size, a stride), a function or a string."""
    if t is None or (not mapped and plain_pair(t, p)):
        return t
    if is_leaf(p):
        if isinstance(p, (bool, np.bool_)) or (mapped and not is_array(t)):
            return None
        return t
    if isinstance(p, (tuple, list)):
        items = [as_tangent(a, b, mapped) for a, b in zip(t, p, strict=True)]
        if type(p) is list:
            return items
        return type(t)(*items) if hasattr(type(t), "_fields") else tuple(items)
    if isinstance(p, dict):
        return {k: as_tangent(v, p[k], mapped) for k, v in t.items()}
    if not has_fields(p):
        return t if isinstance(t, Tangent) else None
    fields = fields_of(p)
    if isinstance(t, (Tangent, dict)):
        moving = {k: as_tangent(v, fields[k]) if k in fields else v for k, v in t.items()}
        return Tangent(type(p) if type(t) is dict else t.primal_type, moving)
    moving = {}
    for k, v in fields.items():
        tv = getattr(t, k, None)
        moving[k] = as_tangent(tv, v, True) if _a_direction(tv) else None
    return Tangent(type(p), moving)


def is_leaf(x):
    """An array or a number: what has a Jacobian of its own."""
    return is_array(x) or (isinstance(x, _NUMBERS) and not isinstance(x, (str, bytes)))


def has_fields(p):
    if functors.is_functor(p):
        return True
    if isinstance(p, _NO_FIELDS):
        return False
    return isinstance(getattr(p, "__dict__", None), dict) or bool(getattr(type(p), "__slots__", ()))


def fields_of(p):
    return functors.children(p) if functors.is_functor(p) else functors.fields_of(p)


# ---------------------------------------------------------------------------------------------------------
# the primals: f may change a list argument in place, the caller's never changes


def own_containers(x, memo=None):
    """``x`` with its lists, dicts and sets copied (their items shared): ``f`` may change a list argument in
    place (``L.append(v)``), and the caller's never changes (API.md), as reverse mode's copies of written
    arrays. Subclasses too: a ``defaultdict`` (its ``default_factory`` kept: reading a missing key inserts
    it), an ``OrderedDict``, and a namedtuple's lists (the namedtuple rebuilt with its own type). A list
    that holds itself is copied once: the copy is in ``memo`` before its items are."""
    if not isinstance(x, (tuple, list, dict, set)):
        return x
    if memo is None:
        memo = {}
    if isinstance(x, tuple):
        items = [own_containers(v, memo) for v in x]
        if all(a is b for a, b in zip(items, x, strict=True)):
            return x
        if type(x) is tuple:
            return tuple(items)
        if hasattr(type(x), "_make"):  # a namedtuple: its own type, its lists copied
            return type(x)._make(items)
        return x  # another tuple subclass: how to rebuild it is its own business
    if id(x) in memo:  # one list passed twice (f(lst, lst)) stays one list, as in Python
        return memo[id(x)]
    kind = type(x)
    if kind is set:
        copy = set(x)
    elif kind is list or kind is dict:
        copy = kind()
    else:
        try:  # a subclass (defaultdict, OrderedDict, ...): its own copy, its attributes kept
            copy = _copy.copy(x)
        except Exception:
            return x
        if copy is x or type(copy) is not kind:
            return x
    memo[id(x)] = copy  # before the items: a list that holds itself
    if isinstance(x, set):
        return copy
    if isinstance(x, list):
        items = [own_containers(v, memo) for v in x]
        if kind is list:
            copy.extend(items)
        else:
            for i, (a, b) in enumerate(zip(items, x, strict=True)):
                if a is not b:
                    copy[i] = a
        return copy
    if kind is dict:
        for k, v in x.items():
            copy[k] = own_containers(v, memo)
        return copy
    for k, v in list(x.items()):
        owned = own_containers(v, memo)
        if owned is not v:
            copy[k] = owned
    return copy


@adjoint(own_containers)
def own_containers_rule(x, memo=None):
    """A copy is the identity: the cotangent of the copy is the argument's (differentiating the copying
    itself would follow ``copy.copy`` of a ``defaultdict``, with nothing to gain)."""

    def own_containers_pullback(dx):
        return (dx, None)

    return own_containers(x, memo), own_containers_pullback


@forward_rule(own_containers)
def own_containers_jvp(args, targs):
    return own_containers(*args), targs[0]


# ---------------------------------------------------------------------------------------------------------
# the output's tangent


def filled(dy, y):
    """The tangent ``dy`` of the output ``y`` with zeros for a number or array that got none, in a tuple,
    list or dict output too (``np.linalg.slogdet``'s sign: 0.0, as JAX's), as for an output that got none
    at all."""
    from .forward import _zero_like

    if dy is None:
        return _zero_like(y)
    if type(dy) is tuple or type(dy) is list:
        if isinstance(y, (tuple, list)) and len(dy) == len(y):
            items = [filled(d, v) for d, v in zip(dy, y, strict=True)]
            return tuple(items) if type(dy) is tuple else items
        return dy
    if type(dy) is dict and isinstance(y, dict):
        return {k: filled(dy.get(k), v) for k, v in y.items()}
    return dy


def unshared(dy, tangents):
    """``dy`` with a copy of any array that is one of the caller's ``tangents`` (or a view of one: the
    identity's output tangent is its input's), so that writing into the result leaves the caller's alone."""
    if is_array(dy):
        return dy.copy() if _shares(dy, tangents) else dy
    if isinstance(dy, (tuple, list)):
        items = [unshared(d, tangents) for d in dy]
        if hasattr(type(dy), "_fields"):
            return type(dy)(*items)
        return tuple(items) if isinstance(dy, tuple) else items
    if type(dy) is dict:
        return {k: unshared(v, tangents) for k, v in dy.items()}
    if type(dy) is Tangent:
        return Tangent(dy.primal_type, {k: unshared(v, tangents) for k, v in dy.items()})
    return dy


def _shares(a, t):
    """Whether the array ``a`` is an array of the tangents ``t`` or a view of one (identity only: cheap)."""
    if is_array(t):
        base = getattr(t, "base", None)
        return a is t or (a.base is not None and (a.base is t or (base is not None and a.base is base)))
    if isinstance(t, (tuple, list)):
        return any(_shares(a, v) for v in t)
    if isinstance(t, (dict, Tangent)):
        return any(_shares(a, v) for v in t.values())
    return False


nograd(_shares, is_leaf, has_fields)


def _a(value):
    """``a list``, ``an ndarray``: the type of ``value`` with its article, for messages."""
    name = type(value).__name__
    return f"{'an' if name[:1] in ('a', 'e', 'i', 'o', 'u') or name == 'ndarray' else 'a'} {name}"


def _entries(n):
    return f"{n} entr{'y' if n == 1 else 'ies'}"
