"""Helpers of generated code that read and build cotangents: a closure's captured variables and its Tangent
(``freevars``, ``closure_tangent``, ...), Tangent's own methods, the keyword gradients that end a pullback's
result (``keyword_grads``), the gradients of ``*args`` (``starred_grads``), and ``accum``, the sum of two
cotangents. Each has a rule: a pullback that calls them is differentiated again (gradient of gradient).

>>> from fluxpy.tangents import Tangent
>>> tangent_values(Tangent(object, {"a": 1.0}), ("a", "b"))
(1.0, None)
"""

from ..backend import is_array
from ..tangents import KeywordGrads, Tangent, accum
from .python_packing import dict_values
from .registry import adjoint

# =========================================================================================================
# closures: their captured variables and the Tangent of those


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


# =========================================================================================================
# Tangent's own methods


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


# =========================================================================================================
# a pullback's result: *args and keyword gradients


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


# =========================================================================================================
# accum: two cotangents summed


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
