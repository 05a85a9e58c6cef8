"""A user's rule, checked: its result is a pair ``(y, back)`` and ``back(dy)`` gives one cotangent per
positional argument, each fitting its argument; else a FluxpyError naming the rule and where it is defined.
fluxpy's own rules are called unchecked (``_is_user_rule``): the hot path pays nothing.
"""

from types import FunctionType

import numpy as np

from .. import errors
from ..rules import registry
from ..tangents import KeywordGrads
from .locations import user_location


def _is_user_rule(rule):
    """Whether ``rule`` was registered by a user (not defined in fluxpy): its pullback's result is checked."""
    module = getattr(rule, "__module__", None)
    return type(rule) is FunctionType and not (type(module) is str and module.split(".")[0] == "fluxpy")


def checked_rule(rule):
    """A user's ``rule`` whose result is checked: a pair ``(y, back)`` with a callable ``back``, which returns
    a tuple with one cotangent per positional argument (:func:`check_rule_cotangents`), each a number or an
    array that fits its argument (:func:`check_rule_entries`); else a FluxpyError naming the rule and where
    it is defined (generated code would fail on it later with an IndexError, a TypeError, or a gradient on
    the wrong argument). fluxpy's own rules are called unchecked: the hot path pays nothing."""

    def checked_rule_call(*args, **kwargs):
        out = rule(*args, **kwargs)
        if type(out) is not tuple or len(out) != 2 or not callable(out[1]):
            out = checked_rule_result(rule, out)
        y, back = out
        n = len(args)

        def checked_rule_pullback(dy):
            g = back(dy)
            if (type(g) is not tuple and type(g) is not list) or len(g) != n:
                check_rule_cotangents(rule, g, n, bool(kwargs))
            check_rule_entries(rule, g, args)
            return g

        return y, checked_rule_pullback

    return checked_rule_call


def _rule_where(rule):
    """``(name, file:line)`` of a user's rule, for messages."""
    code = getattr(rule, "__code__", None)
    where = f"{code.co_filename}:{code.co_firstlineno}" if code is not None else "<unknown location>"
    return getattr(rule, "__qualname__", repr(rule)), where


def checked_rule_result(rule, out):
    """``(y, back)`` from what ``rule`` returned (any pair whose second item is callable); else the
    FluxpyError saying what a rule returns. The error path of :func:`checked_rule`'s quick test."""
    try:
        y, back = out
    except (TypeError, ValueError):
        back = None
    if callable(back):
        return y, back
    name, where = _rule_where(rule)
    if type(out) is tuple and len(out) == 2:
        got = f"a pair whose second item is {_a_kind(back)}, not a function"
    else:
        got = _a_kind(out)
        if isinstance(out, (tuple, list)):
            got += f" of {len(out)} entr{'y' if len(out) == 1 else 'ies'}"
    short = "".join(c for c in getattr(rule, "__name__", "rule") if c.isalnum() or c == "_")
    raise errors.FluxpyError(
        errors.RULE_RESULT.format(
            rule=name, where=where, got=got, short=short.removesuffix("_rule"), called=user_location()
        )
    )


def _a_kind(value):
    kind = type(value).__name__
    return f"{'an' if kind[:1] in 'aeiou' or kind == 'ndarray' else 'a'} {kind}"


def check_rule_cotangents(rule, g, n, keywords=False):
    """Raise a FluxpyError unless ``g``, what ``rule``'s pullback returned, is a tuple (or a list) of ``n``
    entries: one per positional argument the rule was called with. Also accepted after those: entries
    for the rule's defaulted positional parameters that were not passed, and a trailing ``KeywordGrads``
    (or, for a call with ``keywords``, a dict or None: the keyword arguments' gradients)."""
    if type(g) is tuple or type(g) is list:
        extra = len(g) - n
        last = g[-1] if g else None
        if extra > 0 and (type(last) is KeywordGrads or (keywords and (last is None or type(last) is dict))):
            extra -= 1
        if extra == 0 or 0 < extra <= len(_positional_params(rule)) - n:
            return
    name, where = _rule_where(rule)
    if type(g) is tuple or type(g) is list:
        got = f"a {type(g).__name__} of {len(g)} entr{'y' if len(g) == 1 else 'ies'}"
    else:
        got = f"{_a_kind(g)}, not a tuple"
    raise errors.FluxpyError(
        errors.RULE_COTANGENTS.format(
            rule=name,
            where=where,
            got=got,
            n=n,
            s="" if n == 1 else "s",
            example=", ".join(f"d{i}" for i in range(n)) + ("," if n == 1 else ""),
            extra=errors.RULE_COTANGENTS_EXTRA if isinstance(g, (tuple, list)) and len(g) > n else "",
            called=user_location(),
        )
    )


def check_rule_entries(rule, g, args):
    """Raise a FluxpyError when a cotangent in ``g``, what ``rule``'s pullback returned, cannot be its
    argument's: a string, or an array whose shape is not the argument's (an array of more than one element
    for a number). It runs on every call of a user's pullback: floats and None, the common entries, cost
    one type test each, and only other entries are compared with their arguments."""
    for d in g:
        if d is not None and type(d) is not float:
            _check_rule_entries(rule, g, args)
            return


def _check_rule_entries(rule, g, args):
    i = 0
    for a in args:  # ``g`` has an entry per argument (checked first); those after, for defaults, are not read
        d = g[i]
        i += 1
        td = type(d)
        if td is np.ndarray:
            ta = type(a)
            if ta is np.ndarray:
                if d.shape != a.shape and d.ndim:
                    _rule_entry_error(rule, g, args)
            elif (ta is float or ta is int) and d.size != 1:
                _rule_entry_error(rule, g, args)
        elif td is str or td is bytes:
            _rule_entry_error(rule, g, args)


def _rule_entry_error(rule, g, args):
    """The FluxpyError for the first entry of ``g`` that :func:`check_rule_entries` refuses."""
    for i, (d, a) in enumerate(zip(g, args, strict=False)):
        if type(d) is str or type(d) is bytes:
            got, why = _a_kind(d), "a cotangent is a number, an array or None (no gradient)"
        elif type(d) is np.ndarray and type(a) is np.ndarray and d.shape != a.shape and d.ndim:
            got = f"an array of shape {d.shape}"
            why = (
                "back(dy) must give each argument's cotangent that argument's shape (sum over the axes "
                "along which the primal broadcast it)"
            )
        elif type(d) is np.ndarray and type(a) in (float, int) and d.size != 1:
            got = f"an array of shape {d.shape}"
            why = "the cotangent of a number is a number (sum the array, if the primal broadcast the number)"
        else:
            continue
        arg = f"an array of shape {a.shape}" if type(a) is np.ndarray else _a_kind(a)
        name, where = _rule_where(rule)
        called = user_location()
        raise errors.FluxpyError(
            errors.RULE_ENTRY.format(rule=name, where=where, got=got, i=i, arg=arg, why=why, called=called)
        )


def _positional_params(rule, skip=0):
    """The names of a rule's positional parameters after the first ``skip`` (empty for a rule that is not
    a plain function)."""
    if type(rule) is not FunctionType:
        return frozenset()
    code = rule.__code__
    return frozenset(code.co_varnames[skip : code.co_argcount])


registry.nograd(check_rule_cotangents, checked_rule_result, check_rule_entries, _is_user_rule)
