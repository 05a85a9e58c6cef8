"""Keyword arguments in dispatch: which positional parameters keywords fill (``keyword_layout``), so that
their gradients come back in the trailing ``KeywordGrads`` of a pullback's result (``kwgrad`` reads one), and
the keywords a rule gives no gradient, marked so that asking for one raises (``DroppedKeyword``).

The helpers that move values and gradients (``bound_values``, ``layout_grads``, ...) have rules of their
own: generated code and dispatch call them in differentiated code, gradients of gradients included.
"""

import functools
import inspect
from types import FunctionType

from .. import errors
from ..rules import registry
from ..rules.python_cotangents import keyword_grads
from ..tangents import KeywordGrads
from .foreign import _carries_float
from .linear import linear_in
from .locations import user_location


def keyword_layout(f, nargs, kwargs):
    """How keywords fill ``f``'s positional parameters after ``nargs`` positional arguments:
    ``(layout, names)`` where ``layout`` holds, per parameter, ``("keyword", name)`` or ``("default", value)``
    up to the last parameter passed by keyword, and ``names`` the keywords so bound. Values of the
    arguments never pass through here (it is non-differentiable)."""
    code = f.__code__
    params = code.co_varnames[: code.co_argcount]
    defaults = f.__defaults__ or ()
    first_default = len(params) - len(defaults)
    last = max([nargs] + [params.index(k) + 1 for k in kwargs if k in params])
    layout, names = [], []
    for i in range(nargs, last):
        name = params[i]
        if name in kwargs:
            layout.append(("keyword", name))
            names.append(name)
        elif i >= first_default:
            layout.append(("default", defaults[i - first_default]))
        else:
            raise TypeError(f"{f.__qualname__}() missing required argument {name!r}")
    return tuple(layout), tuple(names)


def layout_mask(layout):
    """Keyword arguments bound to positional parameters keep their gradient; defaults need none."""
    return tuple(kind == "keyword" for kind, _ in layout)


def bound_values(kwargs, layout):
    """The positional values ``layout`` describes: keyword arguments and defaults."""
    return tuple(kwargs[v] if kind == "keyword" else v for kind, v in layout)


@registry.adjoint(bound_values)
def bound_values_rule(kwargs, layout):
    def bound_values_pullback(dd):
        grads = {v: d for (kind, v), d in zip(layout, dd, strict=True) if kind == "keyword"}
        return (grads, None)

    return bound_values(kwargs, layout), bound_values_pullback


def layout_grads(g, start, layout):
    """The gradients of the keyword arguments a ``layout`` bound, read from pullback result ``g``."""
    return {v: g[start + i] for i, (kind, v) in enumerate(layout) if kind == "keyword"}


@registry.adjoint(layout_grads)
def layout_grads_rule(g, start, layout):
    def layout_grads_pullback(dd):
        out = [None] * len(g)
        for i, (kind, v) in enumerate(layout):
            if kind == "keyword":
                out[start + i] = dd.get(v)
        return (tuple(out), None, None)

    return layout_grads(g, start, layout), layout_grads_pullback


def remaining_keywords(kwargs, names):
    """``kwargs`` without ``names``."""
    return {k: v for k, v in kwargs.items() if k not in names}


@registry.adjoint(remaining_keywords)
def remaining_keywords_rule(kwargs, names):
    def remaining_keywords_pullback(dd):
        return (dd, None)

    return remaining_keywords(kwargs, names), remaining_keywords_pullback


def merge_keyword_grads(bound, last):
    """Keyword gradients: those of keywords bound to positional parameters, plus the callee's own
    trailing dict (keyword-only parameters and ``**kwargs``), when it has one."""
    out = KeywordGrads(last) if type(last) is KeywordGrads else KeywordGrads()
    out.update(bound)
    return out


@registry.adjoint(merge_keyword_grads)
def merge_keyword_grads_rule(bound, last):
    def merge_keyword_grads_pullback(dd):
        return (dd, dd if type(last) is KeywordGrads else None)

    return merge_keyword_grads(bound, last), merge_keyword_grads_pullback


def kwgrad(g, position, name):
    """The gradient of keyword argument ``name`` (None: all of ``**kwargs``, as a dict) from a pullback
    result ``g``: the dict at ``position``, when the callee returned one."""
    if len(g) > position and type(g[position]) is KeywordGrads:
        grads = g[position]
        if name is None:
            return {k: None if type(v) is DroppedKeyword else v for k, v in grads.items()}
        value = grads.get(name)
        if type(value) is DroppedKeyword:
            raise value.error()
        return value
    return None


@registry.adjoint(kwgrad)
def kwgrad_rule(g, position, name):
    def kwgrad_pullback(dd):
        out = [None] * len(g)
        out[position] = KeywordGrads(dd) if name is None else KeywordGrads({name: dd})
        return (tuple(out), None, None)

    return kwgrad(g, position, name), kwgrad_pullback


def primal_layout(f, nargs, kwargs):
    """For a rule taking ``*args`` (it reads its options by position, as the primal takes them), called
    with keywords some of which carry floats: :func:`keyword_layout` of those keywords that name the
    primal's own positional parameters (``np.average(a, weights=w)``, ``np.sum(a=x)``), read from its
    signature. None when there are none, or the primal has no signature to read."""
    params = _primal_params(f)
    if not params or not any(name in kwargs and _carries_float(kwargs[name]) for name, _ in params):
        return None
    names = [name for name, _ in params]
    last = max([nargs] + [names.index(k) + 1 for k in kwargs if k in names])
    layout, bound = [], []
    for i in range(nargs, last):
        name, default = params[i]
        if name in kwargs:
            layout.append(("keyword", name))
            bound.append(name)
        elif default is not inspect.Parameter.empty:
            layout.append(("default", default))
        else:
            return None  # a required parameter missing: leave the call as it is, to fail as it would
    return tuple(layout), tuple(bound)


@functools.lru_cache(maxsize=512)
def _primal_params_of(f):
    try:
        signature = inspect.signature(f)
    except (TypeError, ValueError):
        return ()
    kinds = (inspect.Parameter.POSITIONAL_OR_KEYWORD,)
    out = []
    for p in signature.parameters.values():
        if p.kind is inspect.Parameter.POSITIONAL_ONLY:
            out.append((None, p.default))  # fills a place; cannot be named by a keyword
        elif p.kind in kinds:
            out.append((p.name, p.default))
        else:
            break
    return tuple(out)


def _primal_params(f):
    try:
        return _primal_params_of(f)
    except TypeError:  # unhashable callee
        return ()


def bound_rule_call(rule, args, kwargs, mask=None, layout=None):
    """A rule (or, with ``mask``, a rule's partial form) called with keywords that name its positional
    parameters (``np.linalg.norm(x=x)``, ``np.average(a, weights=w)``): they are passed by position, as
    :func:`call_binding` does for Python functions, so that the rule's pullback gives their gradients, in
    the trailing dict of keyword gradients. Passed as keywords the rule would give them none."""
    if layout is None:
        layout, names = keyword_layout(rule, len(args) + (mask is not None), kwargs)
    else:
        layout, names = layout
    full = args + bound_values(kwargs, layout)
    rest = remaining_keywords(kwargs, names)
    if mask is None:
        y, back = rule(*full, **rest)
    else:
        y, back = rule(mask + layout_mask(layout), *full, **rest)
    n, m = len(args), len(full)

    def bound_rule_pullback(dy):
        g = tuple(back(dy))
        if len(g) < m:
            g = g + (None,) * (m - len(g))
        last = mark_dropped_keywords(g[m] if rest and len(g) > m else None, rest, rule)
        return (None,) + g[:n] + (merge_keyword_grads(layout_grads(g, n, layout), last),)

    return y, bound_rule_pullback


def checked_keywords_call(rule, f, args, kwargs, skip=0):
    """``rule(*args, **kwargs)`` (the first ``skip`` arguments being a partial form's mask) as
    ``(y, pullback)`` whose trailing keyword gradients mark each keyword argument carrying floats that the
    rule gave no gradient (:func:`mark_dropped_keywords`): :func:`kwgrad` raises when generated code asks
    for one, instead of a gradient silently missing. Keywords the rule declares (keyword-only parameters,
    such as a cache of the forward pass's values) are the rule's to handle, and are not marked."""
    declared = _keyword_only_params(rule)
    unknown = {k: v for k, v in kwargs.items() if k not in declared}
    y, back = rule(*args, **kwargs)
    n = len(args) - skip
    if not any(_carries_float(v) for v in unknown.values()):

        def rule_pullback(dy):
            return (None,) + tuple(back(dy))[: n + 1]

        return y, rule_pullback

    def checked_rule_pullback(dy):
        g = tuple(back(dy))
        last = g[n] if len(g) > n else None
        return (None,) + g[:n] + (mark_dropped_keywords(last, unknown, f),)

    return y, checked_rule_pullback


def _keyword_only_params(rule):
    if type(rule) is not FunctionType:
        return frozenset()
    code = rule.__code__
    return frozenset(code.co_varnames[code.co_argcount : code.co_argcount + code.co_kwonlyargcount])


class DroppedKeyword:
    """Stands, in a callee's keyword gradients, for a keyword argument carrying floats that its rule gives
    no gradient (``np.clip(x, min=lo)``): reading it raises (see :func:`kwgrad`)."""

    __slots__ = ("callee", "name")

    def __init__(self, callee, name):
        self.callee, self.name = callee, name

    def error(self):
        what = getattr(self.callee, "__qualname__", None) or getattr(self.callee, "__name__", None)
        what = what or repr(self.callee)
        return errors.FluxpyError(
            f"{what}'s rule gives no gradient for its keyword argument {self.name}=, which needs one here.\n"
            f"  {user_location()}\n"
            f"Pass it by position if {what} takes it so, or register a rule for {what} whose pullback ends "
            "with the keyword arguments' gradients (see docs/writing-rules.md)."
        )


def mark_dropped_keywords(last, kwargs, callee):
    """A rule's trailing keyword gradients ``last``: as they are when the rule gave a KeywordGrads (it
    handles keywords; a missing entry is a zero gradient), otherwise a :class:`DroppedKeyword` for each
    keyword argument that carries floats (the rule ignores keywords' gradients)."""
    if type(last) is KeywordGrads:
        return KeywordGrads(last)
    out = KeywordGrads()
    for name, value in kwargs.items():
        if name != "out" and _carries_float(value):
            out[name] = DroppedKeyword(callee, name)
    return out


@registry.adjoint(mark_dropped_keywords)
def mark_dropped_keywords_rule(last, kwargs, callee):
    def mark_dropped_keywords_pullback(dd):
        return (dd if type(last) is KeywordGrads else None, None, None)

    return mark_dropped_keywords(last, kwargs, callee), mark_dropped_keywords_pullback


@registry.forward_rule(mark_dropped_keywords)
def mark_dropped_keywords_jvp(args, targs):
    y = mark_dropped_keywords(*args)
    t = targs[0]
    if t is None or not isinstance(t, dict):
        return y, None
    return y, KeywordGrads({k: t.get(k) for k in y if type(y[k]) is not DroppedKeyword})


registry.nograd(layout_mask, keyword_layout, primal_layout)
linear_in(layout_grads, 0)
linear_in(merge_keyword_grads, 0, 1)
linear_in(keyword_grads, 1, 2)
