"""Callables that carry arguments of their own: ``functools.partial`` and ``operator``'s ``itemgetter``,
``attrgetter`` and ``methodcaller``. Calling one is differentiated as the call it stands for, and the
gradients of the arguments it holds make its cotangent (``Tangent(func=..., args=..., keywords=...)``).
"""

import functools
import operator

from ..rules import registry
from ..tangents import KeywordGrads, Tangent
from .dispatch import call
from .foreign import foreign_forward
from .linear import linear_in
from .methods import call_method


def itemgetter_forward(g, /, *args, **kwargs):
    """Forward of an ``operator.itemgetter`` called: ``obj[i]``, or a tuple of those for several items."""
    if len(args) != 1 or kwargs:
        return foreign_forward(g, *args, **kwargs)  # Python's own TypeError
    y, pb = call(get_items, getter_arguments(g), args[0])

    def itemgetter_pullback(dy):
        return (None, pb(dy)[2])

    return y, itemgetter_pullback


def attrgetter_forward(g, /, *args, **kwargs):
    """Forward of an ``operator.attrgetter`` called: ``obj.a`` (``obj.a.b`` for ``"a.b"``), or a tuple of
    those for several names."""
    if len(args) != 1 or kwargs:
        return foreign_forward(g, *args, **kwargs)
    y, pb = call(get_attributes, getter_arguments(g), args[0])

    def attrgetter_pullback(dy):
        return (None, pb(dy)[2])

    return y, attrgetter_pullback


def methodcaller_forward(m, /, *args, **kwargs):
    """Forward of an ``operator.methodcaller(name, *a, **k)`` called on ``obj``: ``obj.name(*a, **k)``. The
    gradients of its own arguments ``a`` and ``k`` make its cotangent (:func:`methodcaller_tangent`): a
    methodcaller made from values that carry gradients refuses it (NoAdjointError: its constructor has no
    rule), one made from constants drops it."""
    if len(args) != 1 or kwargs:
        return foreign_forward(m, *args, **kwargs)  # Python's own TypeError
    name, margs, mkwargs = getter_arguments(m)
    y, pb = call_method(args[0], name, *margs, **mkwargs)
    n = len(margs)

    def methodcaller_pullback(dy):
        g = pb(dy)
        return (methodcaller_tangent(g[1 : n + 1], trailing_keywords(g) if mkwargs else {}), g[0])

    return y, methodcaller_pullback


def methodcaller_tangent(dargs, dkeywords):
    """The cotangent of an ``operator.methodcaller`` from those of its arguments and keyword arguments (None
    when all are)."""
    if all(d is None for d in dargs) and all(d is None for d in dkeywords.values()):
        return None
    return Tangent(operator.methodcaller, {"args": tuple(dargs), "keywords": dict(dkeywords)})


@registry.adjoint(methodcaller_tangent)
def methodcaller_tangent_rule(dargs, dkeywords):
    n = len(dargs)

    def methodcaller_tangent_pullback(dd):
        if dd is None:
            return ((None,) * n, {})
        return (expand_cotangents(dd.get("args"), n), dd.get("keywords") or {})

    return methodcaller_tangent(dargs, dkeywords), methodcaller_tangent_pullback


def getter_arguments(g):
    """What an ``operator.itemgetter`` or ``attrgetter`` was made with (the items; the attribute paths as
    tuples of names), or a ``methodcaller``'s ``(name, args, kwargs)``."""
    made, arguments = g.__reduce__()
    if type(g) is operator.attrgetter:
        return tuple(tuple(path.split(".")) for path in arguments)
    if type(g) is operator.methodcaller:
        if type(made) is functools.partial:  # keywords: partial(methodcaller, name, **kwargs), args
            return made.args[0], tuple(arguments), dict(made.keywords)
        return arguments[0], tuple(arguments[1:]), {}
    return arguments


def get_items(items, obj):
    """What ``operator.itemgetter(*items)(obj)`` gives (differentiated as the Python it is)."""
    if len(items) == 1:
        return obj[items[0]]
    return tuple([obj[i] for i in items])


def get_attributes(paths, obj):
    """What ``operator.attrgetter(*names)(obj)`` gives, each name as a tuple of the parts of its path."""
    if len(paths) == 1:
        return follow_attributes(obj, paths[0])
    return tuple([follow_attributes(obj, path) for path in paths])


def follow_attributes(obj, path):
    """``obj.a.b`` for path ``("a", "b")``."""
    for name in path:
        obj = getattr(obj, name)
    return obj


def partial_forward(p, /, *args, **kwargs):
    """Forward of a ``functools.partial``: gradients of its bound arguments and keywords go to
    ``Tangent(func=..., args=..., keywords=...)``."""
    n = len(p.args)
    m = len(args)
    y, pb = call(p.func, *(p.args + args), **merged_keywords(p.keywords, kwargs))

    def partial_pullback(dy):
        g = pb(dy)
        keywords = trailing_keywords(g)
        bound = tuple(k for k in p.keywords if k not in kwargs)  # a keyword given again overrides
        dp = partial_tangent(g[0], g[1 : n + 1], select_keywords(keywords, bound))
        out = (dp,) + g[n + 1 : n + 1 + m]
        if kwargs:
            return out + (KeywordGrads(select_keywords(keywords, tuple(kwargs))),)
        return out

    return y, partial_pullback


@registry.adjoint(functools.partial)
def partial_rule(func, /, *args, **kwargs):
    y = functools.partial(func, *args, **kwargs)
    inner = func if type(func) is functools.partial and y.func is not func else None  # Python flattens it

    def partial_construct_pullback(dp):
        dfunc = dp.get("func") if dp is not None else None
        dargs = expand_cotangents(dp.get("args") if dp is not None else None, len(y.args))
        dkeywords = (dp.get("keywords") if dp is not None else None) or {}
        if inner is not None:  # the partial of a partial: the inner one's own arguments go to it
            bound = tuple(k for k in inner.keywords if k not in kwargs)
            dfunc = partial_tangent(dfunc, dargs[: len(inner.args)], select_keywords(dkeywords, bound))
            dargs = dargs[len(inner.args) :]
        out = (dfunc,) + dargs
        if kwargs:
            return out + (KeywordGrads(select_keywords(dkeywords, tuple(kwargs))),)
        return out

    return y, partial_construct_pullback


def expand_cotangents(d, n):
    """``d`` as a tuple of ``n`` cotangents (None expands to Nones)."""
    return (None,) * n if d is None else tuple(d)


@registry.adjoint(expand_cotangents)
def expand_cotangents_rule(d, n):
    def expand_cotangents_pullback(dd):
        return (dd, None)

    return expand_cotangents(d, n), expand_cotangents_pullback


def trailing_keywords(g):
    """The keyword gradients at the end of a pullback result (an empty dict when there are none)."""
    return dict(g[-1]) if g and type(g[-1]) is KeywordGrads else {}


@registry.adjoint(trailing_keywords)
def trailing_keywords_rule(g):
    def trailing_keywords_pullback(dd):
        if not (g and type(g[-1]) is KeywordGrads):
            return (None,)
        return ((None,) * (len(g) - 1) + (KeywordGrads(dd),),)

    return trailing_keywords(g), trailing_keywords_pullback


def select_keywords(d, names):
    """The entries of dict ``d`` at ``names``."""
    return {k: d[k] for k in names if k in d}


@registry.adjoint(select_keywords)
def select_keywords_rule(d, names):
    def select_keywords_pullback(dd):
        return (dd, None)

    return select_keywords(d, names), select_keywords_pullback


def partial_tangent(dfunc, dargs, dkeywords):
    """The cotangent of a ``functools.partial``: ``Tangent(func=..., args=..., keywords=...)``, or None."""
    if dfunc is None and all(d is None for d in dargs) and not any(v is not None for v in dkeywords.values()):
        return None
    return Tangent(functools.partial, {"func": dfunc, "args": tuple(dargs), "keywords": dict(dkeywords)})


@registry.adjoint(partial_tangent)
def partial_tangent_rule(dfunc, dargs, dkeywords):
    def partial_tangent_pullback(dd):
        return (dd.get("func"), dd.get("args"), dd.get("keywords"))

    return partial_tangent(dfunc, dargs, dkeywords), partial_tangent_pullback


def merged_keywords(first, second):
    """``{**first, **second}``."""
    return {**first, **second}


@registry.adjoint(merged_keywords)
def merged_keywords_rule(first, second):
    def merged_keywords_pullback(dd):
        return (
            {k: v for k, v in dd.items() if k in first and k not in second},
            {k: v for k, v in dd.items() if k in second},
        )

    return merged_keywords(first, second), merged_keywords_pullback


registry.nograd(getter_arguments)
linear_in(partial_tangent, 0, 1, 2)
linear_in(methodcaller_tangent, 0, 1)
