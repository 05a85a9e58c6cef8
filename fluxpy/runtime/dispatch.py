"""Call dispatch: every call in generated code goes through :func:`call` (or ``methods.call_method``).

``call(f, *args)`` runs ``f`` and returns ``(y, pullback)`` where ``pullback(dy)`` returns
``(df, *dargs)``: the cotangent of the callee itself first (a closure's captured variables, a callable
object's fields), then one per positional argument. How ``f`` is differentiated, in order:

1. a registered rule (``@fx.adjoint``);
2. a non-differentiable function (``fx.nograd``): no gradient;
3. a Python function with source: transformed (cached), recursion-safe because transformation is lazy;
   bound methods and callable objects go through their function;
4. anything else: run as is; a pullback that raises :class:`NoAdjointError` if a gradient ever reaches it.

``call`` and ``call_method`` are plain Python on purpose: the transformer differentiates them like any
other function, which is how gradients of gradients go through dispatch.
"""

import functools
import inspect
import threading
from types import FunctionType, MethodType

from .. import errors
from ..rules import registry
from .foreign import _carries_float, foreign_forward, nondiff_forward
from .keywords import (
    bound_rule_call,
    bound_values,
    checked_keywords_call,
    keyword_layout,
    layout_grads,
    layout_mask,
    merge_keyword_grads,
    primal_layout,
    remaining_keywords,
)
from .rule_checks import _is_user_rule, _positional_params, checked_rule
from .writes import check_no_out, check_no_positional_out

_lock = threading.Lock()
_rule_forwards = {}  # rule -> its forward adapter
_resolved = {}  # callable (not a Python function) -> forward; emptied whenever the registry changes
_rules, _nondiff = registry._rules, registry._nondiff
_registry_state = registry._state
_transformed = {}  # the transformation cache's dict (transform/cache.py), bound when that module loads
registry.on_change(_resolved.clear)

# Bound when the package has loaded (runtime/__init__.py), as imports here would be cycles:
# the forward of a callee that is not a Python function (callees.resolve_other: its forwards call back into
# call), and resolve's check of a cached forward with defaults (transform/cache.py's defaulted).
_resolve_other = None
_transformed_defaulted = None


def call(f, /, *args, **kwargs):
    """``f(*args, **kwargs)`` as ``(y, pullback)``; ``pullback(dy)`` gives ``(df, *dargs)``.

    When keywords are passed, the pullback's result has one more entry: a dict of the keyword arguments'
    gradients (``None`` when the callee gives keywords none, as rules do).
    """
    if type(f) is FunctionType and (kwargs or f.__defaults__ is not None):
        return call_binding(f, args, kwargs)
    return resolve(f)(f, *args, **kwargs)


def call_binding(f, args, kwargs, mask=None):
    """Call Python function ``f`` with keywords bound to its positional parameters, so that their
    gradients come back (in the trailing dict), and defaults filled in (their gradients dropped)."""
    layout, names = keyword_layout(f, len(args), kwargs)
    full = args + bound_values(kwargs, layout)
    rest = remaining_keywords(kwargs, names)
    if mask is None:
        y, pb = resolve(f)(f, *full, **rest)
    else:
        y, pb = resolve_masked(f, mask + layout_mask(layout))(f, *full, **rest)
    n = len(args)

    def keyword_pullback(dy):
        g = pb(dy)
        head = g[: n + 1]
        if kwargs:
            return head + (merge_keyword_grads(layout_grads(g, n + 1, layout), g[-1]),)
        return head

    return y, keyword_pullback


def call_masked(mask, f, /, *args, **kwargs):
    """``call(f, *args, **kwargs)`` for a caller that wants no gradient for the positions ``mask`` marks
    False (``mask[0]`` is the callee itself, then one bool per positional argument): a Python function
    runs its variant that computes only the wanted ones (the others come back None), a rule with a
    partial form (``rule.partial(mask, *args)``) skips them; any other callee computes them all.

    Generated code calls this where its activity analysis proves a value constant: a captured batch, an
    argument the caller did not ask about, a global under an explicit ``gradient``.
    """
    t = type(f)
    if t is FunctionType:
        if kwargs or f.__defaults__ is not None:
            return call_binding(f, args, kwargs, mask)
        return resolve_masked(f, mask)(f, *args)
    if t is MethodType and type(f.__func__) is FunctionType:
        func = f.__func__
        y, pb = call_masked((False,) + mask, func, f.__self__, *args, **kwargs)

        def bound_method_pullback(dy):
            g = pb(dy)
            check_no_function_gradient(g[0], func)
            return g[1:]

        return y, bound_method_pullback
    func = getattr(t, "__call__", None)  # noqa: B004
    if type(func) is FunctionType and not isinstance(f, type) and resolve(f) is callable_object_forward:
        y, pb = call_masked((False,) + mask, func, f, *args, **kwargs)

        def callable_object_pullback(dy):
            g = pb(dy)
            check_no_function_gradient(g[0], func)
            return g[1:]

        return y, callable_object_pullback
    return call(f, *args, **kwargs)


def resolve(f):
    """The forward function ``F`` for callee ``f``: ``F(f, *args) -> (y, pullback)``."""
    if type(f) is FunctionType:
        rule = _rules.get(f)
        if rule is not None:
            forward = _rule_forwards.get(rule)
            return forward if forward is not None else rule_forward(rule)
        if f in _nondiff:
            return nondiff_forward
        # the transformation cache's hit, inlined (every call in generated code comes here)
        entry = _transformed.get(f.__code__)
        current = entry is not None and entry.version == _registry_state["version"]
        if current and entry.globals is f.__globals__:
            if f.__defaults__ is None and f.__kwdefaults__ is None:
                return entry.forward
            if entry.defaulted_for is f and _transformed_defaulted(entry, f) is not None:
                return entry.defaulted
        if registry._is_device_callable(f):
            return _device_forward(f)
        from ..transform.cache import forward_function

        try:
            return forward_function(f)
        except errors.SourceError:
            return foreign_forward  # no source (exec, a C-accelerated stand-in): NoAdjointError if needed
    try:
        return _resolved[f]
    except (KeyError, TypeError):  # not resolved yet, or unhashable: resolve below
        pass
    forward, cacheable = _resolve_other(f)
    if cacheable:
        try:
            _resolved[f] = forward
        except TypeError:  # unhashable callables are resolved on every call
            pass
    return forward


def resolve_masked(f, mask):
    """The forward of Python function ``f`` for a caller wanting only the gradients ``mask`` marks."""
    rule = _rules.get(f)
    if rule is not None:
        partial = getattr(rule, "partial", None)
        return rule_forward(rule) if partial is None else partial_forward_of(partial, mask[1:])
    if f in _nondiff or all(mask):
        return resolve(f)
    entry = _transformed.get((f.__code__, mask))
    current = entry is not None and entry.version == _registry_state["version"]
    if current and entry.globals is f.__globals__:
        if f.__defaults__ is None and f.__kwdefaults__ is None:
            return entry.forward
        if entry.defaulted_for is f and _transformed_defaulted(entry, f) is not None:
            return entry.defaulted
    if registry._is_device_callable(f):
        return _device_forward(f)
    from ..transform.cache import forward_function

    try:
        return forward_function(f, mask=mask)
    except errors.SourceError:
        return foreign_forward


def _device_forward(f):
    """The forward of CuPy's Python function ``f``: its device rule, or the NumPy function's it implements
    (``cupy.einsum`` takes ``np.einsum``'s rule); never CuPy's own source transformed. No counterpart: run
    as is."""
    rule = registry.lookup(f)
    if rule is not None:
        return rule_forward(rule)
    counterpart = registry.host_counterpart(f)
    return foreign_forward if counterpart is None else resolve(counterpart)


def rule_of(f):
    """The rule of ``f``, for generated code that calls a module function's rule directly
    (``__fx_rule_of(np.sum)(x)``, whose pullback has one entry per argument and none for the callee). A
    callee with no rule now (a name rebound since the code was generated) is dispatched as ``call`` does.
    A user's rule comes checked (:func:`checked_rule`)."""
    try:
        rule = _direct_rules.get(f)
    except TypeError:
        rule = None
    return rule if rule is not None else _direct_rule(f)


_direct_rules = {}  # primal -> what rule_of returns for it; emptied whenever the registry changes


registry.on_change(_direct_rules.clear)


def _direct_rule(f):
    try:
        rule = _rules.get(f)
    except TypeError:
        rule = _rules.get(id(f))
        if rule is not None:
            return checked_rule(rule) if _is_user_rule(rule) else rule
    if rule is None:
        return functools.partial(_call_as_rule, f)
    if _is_user_rule(rule):
        rule = checked_rule(rule)
    elif getattr(rule, "array_parameters", None) is None:  # (takes_array_likes' rules refuse it themselves)
        from ..rules.helpers import out_position

        if out_position(f) is not None:
            rule = _out_checked(rule, f)
    _direct_rules[f] = rule
    return rule


def _out_checked(rule, f):
    """``rule`` refusing ``f``'s output array passed by position (``np.concatenate(xs, 0, out)``)."""

    def out_checked_rule(*args, **kwargs):
        if len(args) > 1:
            check_no_positional_out(f, args)
        return rule(*args, **kwargs)

    out_checked_rule.partial = getattr(rule, "partial", None)
    if out_checked_rule.partial is None:
        del out_checked_rule.partial
    return out_checked_rule


def _call_as_rule(f, *args):
    y, pb = call(f, *args)

    def call_as_rule_pullback(dy):
        return pb(dy)[1:]

    return y, call_as_rule_pullback


def rule_forward(rule):
    """The forward adapter of a rule: prepends the callee's (absent) cotangent to the rule's."""
    forward = _rule_forwards.get(rule)
    if forward is None:
        forward = _make_rule_forward(rule)
        with _lock:
            _rule_forwards[rule] = forward
    return forward


def _make_rule_forward(rule):
    params = _positional_params(rule)
    varargs = type(rule) is FunctionType and bool(rule.__code__.co_flags & inspect.CO_VARARGS)
    run_rule = checked_rule(rule) if _is_user_rule(rule) else rule

    def rule_forward(f, /, *args, **kwargs):
        if len(args) > 1:
            check_no_positional_out(f, args)
        if kwargs:
            if kwargs.get("out") is not None:
                check_no_out(f)
            if params and not params.isdisjoint(kwargs):
                return bound_rule_call(rule, args, kwargs)
            if any(_carries_float(v) for v in kwargs.values()):
                layout = primal_layout(f, len(args), kwargs) if varargs else None
                if layout:
                    return bound_rule_call(rule, args, kwargs, layout=layout)
                return checked_keywords_call(rule, f, args, kwargs)
        y, back = run_rule(*args, **kwargs)
        n = len(args) + (1 if kwargs else 0)

        def rule_pullback(dy):
            # a rule with defaulted parameters may return entries for arguments that were not passed;
            # a rule called with keywords may end with their KeywordGrads
            return (None,) + tuple(back(dy))[:n]

        return y, rule_pullback

    return rule_forward


_partial_forwards = {}


def partial_forward_of(partial, mask):
    """The forward adapter of a rule's partial form for ``mask`` (the arguments' part)."""
    forward = _partial_forwards.get((partial, mask))
    if forward is None:
        params = _positional_params(partial, skip=1)  # after the mask

        def partial_rule_forward(f, /, *args, **kwargs):
            if len(args) > 1:
                check_no_positional_out(f, args)
            if kwargs:
                if kwargs.get("out") is not None:
                    check_no_out(f)
                if params and not params.isdisjoint(kwargs):
                    return bound_rule_call(partial, args, kwargs, mask)
                if any(_carries_float(v) for v in kwargs.values()):
                    return checked_keywords_call(partial, f, (mask,) + args, kwargs, skip=1)
            y, back = partial(mask, *args, **kwargs)
            n = len(args) + (1 if kwargs else 0)

            def rule_pullback(dy):
                return (None,) + tuple(back(dy))[:n]

            return y, rule_pullback

        forward = _partial_forwards.setdefault((partial, mask), partial_rule_forward)
    return forward


def bound_method_forward(m, /, *args, **kwargs):
    """Forward of a bound Python method: the method's cotangent is its ``self``'s."""
    func = m.__func__
    y, pb = call(func, m.__self__, *args, **kwargs)

    def bound_method_pullback(dy):
        g = pb(dy)
        check_no_function_gradient(g[0], func)
        return g[1:]

    return y, bound_method_pullback


def callable_object_forward(obj, /, *args, **kwargs):
    """Forward of an object with a Python ``__call__``: the gradient goes to the object's fields."""
    func = type(obj).__call__
    y, pb = call(func, obj, *args, **kwargs)

    def callable_object_pullback(dy):
        g = pb(dy)
        check_no_function_gradient(g[0], func)
        return g[1:]

    return y, callable_object_pullback


def check_no_function_gradient(dfunc, func):
    """Methods defined in a function body can capture locals; their gradient is not propagated (yet)."""
    if dfunc is not None:
        raise errors.FluxpyError(
            f"{func.__qualname__} is a method whose code captures variables of an enclosing function, "
            "and a gradient reached them; fluxpy does not propagate gradients into a method's closure. "
            "Pass those values as arguments or store them on the object."
        )


registry.nograd(rule_of, resolve, resolve_masked, partial_forward_of, check_no_function_gradient)
