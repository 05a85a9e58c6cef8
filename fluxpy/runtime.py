"""Call dispatch: every call in generated code goes through :func:`call` or :func:`call_method`.

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

import bisect
import builtins
import collections
import dataclasses
import functools
import heapq
import inspect
import linecache
import operator
import os
import sys
import threading
from types import (
    BuiltinFunctionType,
    BuiltinMethodType,
    FunctionType,
    MethodDescriptorType,
    MethodType,
    MethodWrapperType,
    ModuleType,
    WrapperDescriptorType,
)

import numpy as np

from . import errors
from .backend import is_array
from .rules import registry
from .tangents import KeywordGrads, Tangent, is_differentiable

_PACKAGE_DIR = os.path.dirname(os.path.abspath(__file__))
_lock = threading.Lock()
_rule_forwards = {}  # rule -> its forward adapter
_resolved = {}  # callable (not a Python function) -> forward; emptied whenever the registry changes
_rules, _nondiff = registry._rules, registry._nondiff
_registry_state = registry._state
_transformed = {}  # the transformation cache's dict (transform/cache.py), bound when that module loads
_param_writes = {}  # code object -> {position of a parameter its function writes into: how (check_writes)}
registry.on_change(_resolved.clear)


# ---------------------------------------------------------------------------------------------------------
# the two entry points used by generated code


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


def call_method(obj, name, /, *args, **kwargs):
    """``obj.name(*args, **kwargs)`` as ``(y, pullback)``; ``pullback(dy)`` gives ``(dobj, *dargs)``."""
    kind = method_kind(obj, name)
    if kind == "replace":
        y, pb = call(namedtuple_replace, obj, **kwargs)

        def replace_pullback(dy):
            return pb(dy)[1:]

        return y, replace_pullback
    if kind == "scalar":
        return scalar_method(obj, name, *args, **kwargs)
    if kind == "mutation":
        check_no_mutation(obj, name, args, kwargs)
        kind = "attribute"
    if kind == "array" or kind == "container":
        if kind == "array":
            if kwargs.get("out") is not None:  # ``a.clip(lo, hi, out=a)``: as np.clip(..., out=a)
                check_no_out(getattr(obj, name))
            if type(obj) is not np.ndarray:  # ``a.sum()`` of a masked array: refused (its mask is ignored)
                from .rules.helpers import refuse_masked

                refuse_masked((obj,))
            rule = array_method_rule(obj, name)
        else:
            rule = registry.lookup_container_method(type(obj), name)
        if kwargs and any(_carries_float(v) for v in kwargs.values()):
            y, pb = checked_keywords_call(rule, getattr(obj, name), (obj,) + args, kwargs)

            def checked_method_pullback(dy):
                return pb(dy)[1:]

            return y, checked_method_pullback
        return rule(obj, *args, **kwargs)
    if kind == "super":
        func = getattr(obj, name).__func__
        y, pb = call(func, obj.__self__, *args, **kwargs)

        def super_method_pullback(dy):
            g = pb(dy)
            check_no_function_gradient(g[0], func)
            return g[1:]

        return y, super_method_pullback
    if kind == "method":
        func = class_function(obj, name)
        y, pb = call(func, obj, *args, **kwargs)

        def method_pullback(dy):
            g = pb(dy)
            check_no_function_gradient(g[0], func)
            return g[1:]

        return y, method_pullback
    if kind == "hooked":
        # a property, a descriptor or ``__getattr__`` gives the callee (``wrapper.f`` delegating to an
        # inner object's method): its code is differentiated, so the callee's cotangent reaches ``obj``
        # through it (getattr's rule)
        attr, attr_pb = call(getattr, obj, name)
        y, pb = call(attr, *args, **kwargs)

        def hooked_attribute_pullback(dy):
            g = pb(dy)
            return (attr_pb(g[0])[1],) + g[1:]

        return y, hooked_attribute_pullback
    attr = getattr(obj, name)
    y, pb = call(attr, *args, **kwargs)

    def attribute_pullback(dy):
        g = pb(dy)
        return (field_cotangent(obj, name, g[0]),) + g[1:]

    return y, attribute_pullback


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


def call_method_masked(mask, obj, name, /, *args, **kwargs):
    """``call_method(obj, name, *args, **kwargs)`` with a mask as :func:`call_masked` takes (the object
    first): a Python method runs the variant that skips the unwanted gradients."""
    if method_kind(obj, name) == "method":
        func = class_function(obj, name)
        y, pb = call_masked((False,) + mask, func, obj, *args, **kwargs)

        def method_pullback(dy):
            g = pb(dy)
            check_no_function_gradient(g[0], func)
            return g[1:]

        return y, method_pullback
    return call_method(obj, name, *args, **kwargs)


def check_writes(f, positions, names, values):
    """After ``f(a, b)`` as a statement whose caller reads ``a`` or ``b`` later (``positions``, ``names``,
    ``values``): refuse a Python ``f`` that writes into those arguments (``x[i] = v``, or ``x += v`` on an
    array or a list). In differentiated code the write goes to a copy (earlier pullbacks keep the old
    values), so the caller would read the unchanged array, unlike plain Python."""
    func, shift = f, 0
    if type(f) is MethodType:
        func, shift = f.__func__, 1
    elif type(f) is not FunctionType and not isinstance(f, type):
        func, shift = getattr(type(f), "__call__", None), 1  # noqa: B004
    _check_param_writes(func, shift, positions, names, values)


def check_method_writes(obj, method, positions, names, values):
    """:func:`check_writes` for ``obj.method(a, b)`` as a statement (``obj`` itself is position 0)."""
    if method_kind(obj, method) == "method":
        _check_param_writes(class_function(obj, method), 1, positions, names, values)


def _check_param_writes(func, shift, positions, names, values):
    written = _param_writes.get(getattr(func, "__code__", None))
    if written:
        for position, name, value in zip(positions, names, values, strict=True):
            if position + shift in written:
                in_place = written[position + shift]  # None: x[i] = v; else the dunders of x += v
                if in_place is None or any(hasattr(type(value), d) for d in in_place):
                    _refuse_write(func, position + shift, name)


def _refuse_write(func, position, name):
    code = func.__code__
    param = code.co_varnames[position]
    raise errors.FluxpyError(
        f"{func.__qualname__} writes into its argument {param!r} in place "
        f"({os.path.basename(code.co_filename)}:{code.co_firstlineno}), and the caller reads {name!r} after "
        f"the call:\n  {user_location()}\nIn differentiated code that write goes to a copy (the values "
        "earlier pullbacks saw stay unchanged), so the caller would not see it. Return the new value and "
        f"rebind it instead: `{name} = {func.__name__}(...)` with `return {param}` at its end."
    )


def owned_view(x, name, globals_read=None, item=False):
    """Whether parameter ``name`` (value ``x``) of the differentiated function that calls this (its first
    statements; the function does ``x op= v``) is an array viewing another one that only the user's code
    around ``fx.gradient`` (``pullback``, ``jvp``, ...) can see: ``fx.gradient(f, data[0])``. fluxpy never
    writes into the caller's arrays, so the function may work on a copy of its own (normalize/parameters.py)
    and ``x op= v`` need not be refused as a write into a view (rules/mutation.check_in_place_view). Not when
    differentiated code made the call (it may read the array viewed afterwards, where Python shows the write),
    or when another parameter, a global or a captured variable of the function shares memory with ``x``.
    ``globals_read``: the globals the function reads after its write (None: every global it names).
    ``item``: the function writes ``x[i] = v``, which is refused where differentiated code passed a view
    of an array that is still in use (``helper(B[:2])``: Python writes into ``B``), as ``x op= v`` is
    (rules/mutation.check_in_place_view)."""
    if getattr(x, "base", None) is None or not is_array(x):
        return False
    frame = sys._getframe(1)
    while frame is not None and not frame.f_code.co_filename.startswith("<fluxpy"):
        frame = frame.f_back  # (through the dispatch, if the call went through it)
    if frame is None:
        return False
    caller = frame.f_back
    while caller is not None:
        file = caller.f_code.co_filename
        if file.startswith("<fluxpy"):
            if item and sys.getrefcount(x.base) > 3:  # (x.base, the argument, and another: still in use)
                _refuse_view_item_write(frame, name)
            return False  # differentiated code passed the view
        if not file.startswith(_PACKAGE_DIR):
            break  # the user's code (fluxpy's own frames in between: interface, testing, ...)
        caller = caller.f_back
    others = [v for k, v in frame.f_locals.items() if k != name]
    g = frame.f_globals
    names = frame.f_code.co_names if globals_read is None else globals_read
    others += [g[k] for k in names if k in g and not isinstance(g[k], ModuleType)]
    return not any(_shares_memory(x, v, 3) for v in others)


def _refuse_view_item_write(frame, name):
    raise errors.FluxpyError(
        f"{frame.f_code.co_name.removesuffix('__forward')} writes into its parameter {name!r} in place "
        f"(`{name}[...] = ...`), and the caller passed a view of another array that is still in use "
        f"(`f(B[:2])`, `f(B.T)`):\n  {user_location()}\nIn Python the write would show in that array, while "
        "fluxpy writes into a copy of the view. Pass a copy (`f(B[:2].copy())`), or return the new value "
        "and assign it into the array (`B[:2] = f(B[:2])`)."
    )


def _shares_memory(x, v, depth):
    """Whether ``v`` (an array, or a container or object holding one, ``depth`` levels down) may share
    memory with the array ``x``."""
    if is_array(v):
        if isinstance(x, np.ndarray) and isinstance(v, np.ndarray):
            if not np.may_share_memory(x, v):
                return False
            try:  # (interleaved slices: the bounds overlap, the cells do not; exponential at worst)
                return bool(np.shares_memory(x, v, max_work=100_000))
            except np.exceptions.TooHardError:
                return True
        return _root(x) is _root(v)
    if depth == 0 or isinstance(v, (str, bytes, int, float, complex, type, FunctionType, ModuleType)):
        return False
    items = _held(v)
    if len(items) > 10_000:
        return True  # (not worth the look: the function keeps the view, and x op= v is refused on it)
    return any(_shares_memory(x, item, depth - 1) for item in items)


def _held(v):
    """What container or object ``v`` holds: a dict's values, a list's items, an object's fields (its
    ``__dict__`` and its ``__slots__``)."""
    if isinstance(v, dict):
        return list(v.values())
    if isinstance(v, (list, tuple, set, frozenset)):
        return list(v)
    items = list(getattr(v, "__dict__", {}).values())
    for cls in type(v).__mro__:
        slots = cls.__dict__.get("__slots__", ())
        for slot in (slots,) if isinstance(slots, str) else slots:
            if slot not in ("__dict__", "__weakref__"):
                if slot.startswith("__") and not slot.endswith("__"):
                    slot = f"_{cls.__name__.lstrip('_')}{slot}"  # (a private slot's mangled name)
                try:
                    items.append(getattr(v, slot))
                except Exception:  # noqa: BLE001 (an unset slot, a descriptor that raises)
                    pass
    return items


def _root(a):
    while getattr(a, "base", None) is not None:
        a = a.base
    return a


ALIASED_PARAMETER = (
    "{function} writes into its parameter {name!r} ({file}:{line}{source}) while {other!r}, {kind} it reads "
    "afterwards, {how}: in Python the write would show through {other!r}, while fluxpy writes into a new "
    "copy of {name!r} and {other!r} keeps the old values.\n  {where}\nPass a copy "
    "(`{function}({name}.copy(), ...)`), or make {name!r} {function}'s own first: `{name} = {name}.copy()`."
)


_ATOMS = frozenset({float, int, bool, complex, str, type(None)})  # values that hold nothing


def check_param_aliases(x, name, others, names, global_names, where, arrays_only):
    """Refuse a call of a differentiated function that writes into its parameter ``name`` (value ``x``) in
    place (``x[i] = v``, ``x op= v``; ``arrays_only``: only ``x.sort()``, ``out=x``, which run on a copy of
    an array and in place on a list) while another name it reads afterwards (``others``, the values of the
    parameters and captured variables ``names``; the globals ``global_names``) is ``x``, shares memory with
    it or holds it: Python shows the write through that name, fluxpy's write goes to a copy. Numbers and
    tuples are rebound by Python too, and pass. ``where``: ``(function, file, line)`` of the first write.
    Generated code calls it first thing (normalize/parameter_aliases.py)."""
    if not is_array(x) and (arrays_only or not isinstance(x, (list, dict, set, bytearray))):
        return
    owner = type(x) is np.ndarray and x.base is None
    for other, value in zip(names, others, strict=True):
        kind = type(value)
        if kind in _ATOMS or (owner and kind is np.ndarray and value is not x and value.base is None):
            continue  # (two arrays that own their data share none)
        how = _aliasing(x, value, 3)
        if how is not None:
            _refuse_aliased_param(x, name, other, how, where, None)
    if global_names:
        frame = sys._getframe(1)
        namespace = frame.f_globals
        for other in global_names:
            value = namespace.get(other, namespace)  # (not defined yet: nothing to share)
            how = None if value is namespace else _aliasing(x, value, 3)
            if how is not None:
                _refuse_aliased_param(x, name, other, how, where, "a global")


def _aliasing(x, v, depth):
    """How ``v`` shows a write into ``x`` (a phrase), or None: ``v`` is ``x``, an array sharing memory with
    the array ``x``, or a container or object holding one ``depth`` levels down (10,000 items at most)."""
    if v is x:
        return f"is the same {'array' if is_array(x) else type(x).__name__}"
    if is_array(v):
        if not is_array(x) or not _shares_memory(x, v, 0):  # (the cells, not only the bounds)
            return None
        return "shares memory with it"
    if depth == 0 or isinstance(v, (str, bytes, int, float, complex, type, FunctionType, ModuleType)):
        return None
    items = _held(v)
    if len(items) > 10_000:
        return None
    for item in items:
        if _aliasing(x, item, depth - 1) is not None:
            return "holds it"
    return None


def _refuse_aliased_param(x, name, other, how, where, kind):
    function, file, line = where
    if kind is None:  # a parameter of the generated function that called the check, or a captured variable
        frame = sys._getframe(2)
        code = frame.f_code
        extra = bool(code.co_flags & inspect.CO_VARARGS) + bool(code.co_flags & inspect.CO_VARKEYWORDS)
        params = code.co_varnames[: code.co_argcount + code.co_kwonlyargcount + extra]
        kind = "a parameter" if other in params else "a captured variable"
    source = linecache.getline(file, line).strip()
    raise errors.FluxpyError(
        ALIASED_PARAMETER.format(
            function=function,
            name=name,
            file=os.path.basename(file),
            line=line,
            source=f": `{source}`" if source else "",
            other=other,
            kind=kind,
            how=how,
            where=user_location(),
        )
    )


# ---------------------------------------------------------------------------------------------------------
# dispatch


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
        from .transform.cache import forward_function

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
    from .transform.cache import forward_function

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
        from .rules.helpers import out_position

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


def layout_mask(layout):
    """Keyword arguments bound to positional parameters keep their gradient; defaults need none."""
    return tuple(kind == "keyword" for kind, _ in layout)


def _resolve_other(f):
    rule = registry.lookup(f)
    if rule is not None:
        return rule_forward(rule), True
    if registry.is_nondiff(f):
        return nondiff_forward, True
    t = type(f)
    getter = _GETTERS.get(t)
    if getter is not None:
        return getter, False  # ``operator.itemgetter(1)(xs)``: differentiated as ``xs[1]``
    if t is MethodType:
        if type(f.__func__) is not FunctionType and f.__name__ in _MUTATORS.get(type(f.__self__), ()):
            return mutation_forward, False  # ``rng.shuffle`` (a compiled method) taken as a value
        return bound_method_forward, False
    if (t is BuiltinFunctionType or t is MethodWrapperType) and type(f.__self__) in _SCALAR_OPERANDS:
        return scalar_method_forward, False  # ``x.__neg__``, ``z.conjugate`` taken as values
    if t is BuiltinFunctionType and _is_array_like(f.__self__):
        if registry.lookup_method(f.__name__) is not None:
            return array_method_forward, False
        return foreign_forward, False
    if (
        t is BuiltinFunctionType
        and registry.lookup_container_method(type(f.__self__), f.__name__) is not None
    ):
        return container_method_forward, False
    if t is BuiltinFunctionType and f.__name__ in _MUTATORS.get(type(f.__self__), ()):
        return mutation_forward, False
    if t is BuiltinFunctionType and isinstance(f.__self__, np.ufunc) and f.__name__ == "at":
        return in_place_function_forward, False
    if (t is MethodDescriptorType or t is WrapperDescriptorType) and f.__name__ in _mutators_of(
        f.__objclass__
    ):
        return unbound_mutation_forward, True  # ``list.append(items, v)``, ``np.ndarray.__iadd__(a, v)``
    if (t is MethodDescriptorType or t is WrapperDescriptorType) and f.__objclass__ in _SCALAR_OPERANDS:
        return unbound_scalar_method_forward, True  # ``float.__mul__(x, 2.0)``
    if _hashable_in(f, _IN_PLACE_FUNCTIONS):
        return in_place_function_forward, True
    if _hashable_in(f, _UNBOUND_ARGUMENT_MUTATORS):
        return unbound_mutation_forward, True  # ``np.random.Generator.shuffle(rng, a)``
    if t is functools.partial:
        return partial_forward, False
    if isinstance(f, type) and _plain_number_subclass(f):
        return number_subclass_forward, True  # ``MyFloat(x)``: a float, as ``float(x)`` is
    if isinstance(f, type) and _record_fields(f) is not None:
        return record_forward, True
    if isinstance(f, type) and _python_init(f) is not None:
        return construct_forward, True
    if not isinstance(f, type) and type(getattr(t, "__call__", None)) is FunctionType:  # noqa: B004
        return callable_object_forward, False
    return foreign_forward, not isinstance(f, BuiltinFunctionType) or f.__self__ is None or isinstance(
        f.__self__, ModuleType
    )


def _plain_number_subclass(cls):
    """Whether ``cls`` subclasses float or complex and makes its values as they do: no ``__new__`` or
    ``__init__`` of its own (``class MyFloat(float): pass``)."""
    if not issubclass(cls, (float, complex)) or cls is float or cls is complex:
        return False
    for klass in cls.__mro__:
        if klass is float or klass is complex:
            return True
        if "__new__" in vars(klass) or "__init__" in vars(klass):
            return False
    return False


def number_subclass_forward(f, /, *args, **kwargs):
    """``MyFloat(x)`` for a float (or complex) subclass without a constructor of its own: its value, and
    the pullback of ``float(x)`` (``complex(x)``)."""
    base = float if issubclass(f, float) else complex
    y = f(*args, **kwargs)
    _, pb = resolve(base)(base, *args, **kwargs)
    return y, pb


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


registry.nograd(primal_layout)


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


def check_no_out(f, positional=False):
    """``out=`` writes a result into an existing array: refused, as other in-place changes. ``positional``:
    a ufunc's output passed by position (``np.negative(x, x)``, ``np.add(a, b, out)``), refused alike."""
    name = getattr(f, "__name__", repr(f))
    call = f"{name}(..., out) (an output array passed by position)" if positional else f"{name}(..., out=...)"
    raise errors.in_place_error(call, "array", user_location())


_out_positions = {}  # a NumPy function -> the position of its ``out`` parameter, or None


def check_no_positional_out(f, args):
    """A NumPy function's output array passed by position (``np.clip(x, 0, 1, buf)``, ``np.dot(a, b, out)``):
    refused as ``out=`` is (:func:`check_no_out`). Ufuncs are refused by their own rules."""
    try:
        position = _out_positions[f]
    except KeyError:
        from .rules.helpers import out_position

        position = _out_positions.setdefault(f, out_position(f))
    except TypeError:  # unhashable: not a NumPy function
        return
    if position is not None and len(args) > position and args[position] is not None:
        check_no_out(f, positional=True)


registry.nograd(check_no_positional_out)


def nondiff_forward(f, /, *args, **kwargs):
    """Forward of a non-differentiable callee: its result carries no gradient."""
    return f(*args, **kwargs), none_pullback(len(args) + 1)


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


_none_pullbacks = {}


def none_pullback(n):
    """A pullback returning ``n`` Nones."""
    pb = _none_pullbacks.get(n)
    if pb is None:
        nones = (None,) * n

        def nondiff_pullback(dy):
            return nones

        pb = _none_pullbacks.setdefault(n, nondiff_pullback)
    return pb


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


def array_method_forward(m, /, *args, **kwargs):
    """Forward of a bound array method (``x.sum`` taken as a value): its cotangent is ``x``'s."""
    if kwargs.get("out") is not None:
        check_no_out(m)
    rule = registry.lookup_method(m.__name__)
    return rule(m.__self__, *args, **kwargs)


def _record_fields(cls):
    """The constructor's field names of a namedtuple or dataclass type, else None."""
    if issubclass(cls, tuple) and hasattr(cls, "_fields"):
        return tuple(cls._fields)
    if not dataclasses.is_dataclass(cls) or not cls.__dataclass_params__.init:
        return None
    init = getattr(cls, "__init__", None)
    owner = next((k for k in cls.__mro__ if "__init__" in k.__dict__), None)
    if type(init) is not FunctionType or not _generated_init(owner, init):
        return None  # a subclass's own __init__ (or the dataclass's, written in its body) runs
    if hasattr(cls, "__post_init__") or any(
        f._field_type is dataclasses._FIELD_INITVAR for f in cls.__dataclass_fields__.values()
    ):
        return None  # construction does more than store the arguments
    return tuple(f.name for f in dataclasses.fields(cls) if f.init)


def _python_init(cls):
    """The Python ``__init__`` of a class built the ordinary way (``object.__new__``), else None. The
    ``__init__`` a dataclass generates has no source (dataclasses make it with exec): its stand-in
    :func:`dataclass_init` (records with no ``__post_init__`` go by ``_record_fields`` first)."""
    if cls.__new__ is not object.__new__:
        return None
    for klass in cls.__mro__:
        init = klass.__dict__.get("__init__")
        if init is not None:
            if type(init) is not FunctionType:
                return None
            return dataclass_init if _generated_init(klass, init) else init
    return None


def _generated_init(klass, init):
    """Whether ``init``, defined in ``klass``, is the ``__init__`` dataclasses generated for it."""
    return "__dataclass_fields__" in klass.__dict__ and init.__code__.co_filename.startswith("<")


def dataclass_init(self, *args, **kwargs):
    """The ``__init__`` a dataclass generates, as Python that fluxpy transforms as a constructor: each field
    from its argument (or its default), then ``__post_init__`` run on the object as a constructor is, so
    that its attribute writes (``self.b = self.a * 2``) are differentiated."""
    cls = type(self)
    sources, stores, initvars, frozen = dataclass_plan(cls, len(args), tuple(kwargs))
    values = []
    for kind, key in sources:
        if kind == "arg":
            values = values + [args[key]]
        elif kind == "keyword":
            values = values + [kwargs[key]]
        else:
            values = values + [dataclass_default(cls, key)]
    for name, position in stores:
        value = dataclass_default(cls, name) if position < 0 else values[position]
        if frozen:
            object.__setattr__(self, name, value)
        else:
            setattr(self, name, value)
    post = post_init_of(cls)
    if post is not None:
        self = init_into(post, self, *[values[i] for i in initvars])


def _dataclass_owner(cls):
    """The first class in ``cls``'s MRO with a generated ``__init__``: the one that runs (the first
    ``__init__`` of all, or the one a subclass's own ``__init__`` calls by ``super().__init__(...)``)."""
    for klass in cls.__mro__:
        init = klass.__dict__.get("__init__")
        if type(init) is FunctionType and _generated_init(klass, init):
            return klass
    return None


_dataclass_plans = {}


def dataclass_plan(cls, nargs, keywords):
    """How the generated ``__init__`` of dataclass ``cls`` uses ``nargs`` positional arguments and the
    keyword arguments ``keywords``: ``(sources, stores, initvars, frozen)``. ``sources``: per parameter,
    ``("arg", position)``, ``("keyword", name)`` or ``("default", field name)``; ``stores``: the fields it
    sets, in order, as ``(name, parameter)`` (-1: the field's default, for a field with ``init=False``);
    ``initvars``: the parameters passed on to ``__post_init__``. Wrong arguments raise Python's TypeError."""
    key = (cls, nargs, keywords)
    plan = _dataclass_plans.get(key)
    if plan is not None:
        return plan
    owner = _dataclass_owner(cls)
    signature = inspect.signature(owner.__init__)
    bound = signature.bind(None, *range(nargs), **dict.fromkeys(keywords)).arguments
    params = list(signature.parameters)[1:]
    sources = tuple(_dataclass_source(name, keywords, bound) for name in params)
    fields = owner.__dataclass_fields__
    stores = tuple(
        (name, params.index(name) if f.init else -1)
        for name, f in fields.items()
        if f._field_type is dataclasses._FIELD
        and (f.init or f.default is not dataclasses.MISSING or f.default_factory is not dataclasses.MISSING)
    )
    initvars = tuple(
        params.index(name) for name, f in fields.items() if f._field_type is dataclasses._FIELD_INITVAR
    )
    plan = (sources, stores, initvars, owner.__dataclass_params__.frozen)
    _dataclass_plans[key] = plan
    return plan


def _dataclass_source(name, keywords, bound):
    if name in keywords:
        return ("keyword", name)
    return ("arg", bound[name]) if name in bound else ("default", name)


def dataclass_default(cls, name):
    """The default value of field ``name`` of dataclass ``cls`` (a new one from its ``default_factory``)."""
    field = _dataclass_owner(cls).__dataclass_fields__[name]
    return field.default_factory() if field.default_factory is not dataclasses.MISSING else field.default


def post_init_of(cls):
    """The ``__post_init__`` the generated ``__init__`` of dataclass ``cls`` calls, else None."""
    if not hasattr(_dataclass_owner(cls), "__post_init__"):
        return None
    return cls.__post_init__


def _implicit_running():
    """Whether an implicit gradient's forward pass (fx.gradient(f, fx.params(...))) may be running."""
    from .implicit import _forward  # (late: implicit imports this module)

    return _forward[0] > 0


def construct_forward(cls, /, *args, **kwargs):
    """Forward of ``cls(*args)``: ``__init__`` transformed as a function returning the fresh ``self``."""
    from .transform.cache import forward_function

    if not any(_carries_float(v) for v in list(args) + list(kwargs.values())) and not _implicit_running():
        # nothing differentiable goes in (np.ndindex(shape), Layer(3, 4)): build it as Python does. Not
        # for implicit gradients: __init__ may read a parameter from a global (self.p = W)
        return cls(*args, **kwargs), none_pullback(len(args) + 1 + (1 if kwargs else 0))
    obj = new_object(cls)
    init = _python_init(cls)
    layout, names = keyword_layout(init, len(args) + 1, kwargs)
    full = (obj,) + args + bound_values(kwargs, layout)
    rest = remaining_keywords(kwargs, names)
    y, pb = forward_function(init, constructor=True)(init, *full, **rest)
    n = len(args)

    def construct_pullback(dy):
        g = pb(dy)
        head = (None,) + g[2 : n + 2]
        if kwargs:
            return head + (merge_keyword_grads(layout_grads(g, n + 2, layout), g[-1]),)
        return head

    return y, construct_pullback


def init_into(init, obj, /, *args, **kwargs):
    """``Base.__init__(self, *args, **kwargs)`` or ``super().__init__(...)`` inside a constructor: ``init``
    run on the fresh ``obj`` as a function returning it (see construct_forward)."""
    if type(init) is not FunctionType:
        init(obj, *args, **kwargs)
    return obj  # the rule below does the work when fluxpy's dispatcher calls this


@registry.adjoint(init_into)
def init_into_rule(init, obj, /, *args, **kwargs):
    from .transform.cache import forward_function

    n = len(args)
    if type(init) is not FunctionType:
        init(obj, *args, **kwargs)

        def builtin_init_pullback(dobj):
            return (None, dobj) + (None,) * n

        return obj, builtin_init_pullback
    owner = _dataclass_owner(type(obj))
    if owner is not None and owner.__dict__["__init__"] is init:  # ``Base.__init__(self, ...)``, generated
        init = dataclass_init
    layout, names = keyword_layout(init, n + 1, kwargs)
    full = args + bound_values(kwargs, layout)
    rest = remaining_keywords(kwargs, names)
    y, pb = forward_function(init, constructor=True)(init, obj, *full, **rest)

    def init_into_pullback(dobj):
        g = pb(dobj)
        head = (None,) + g[1 : n + 2]
        if kwargs:
            return head + (merge_keyword_grads(layout_grads(g, n + 2, layout), g[-1]),)
        return head

    return y, init_into_pullback


def parent_init(cls, obj):
    """The ``__init__`` after ``cls`` in ``obj``'s MRO, as a plain function when it is Python code."""
    init = super(cls, obj).__init__
    func = getattr(init, "__func__", None)
    if type(func) is FunctionType:
        after = type(obj).__mro__[type(obj).__mro__.index(cls) + 1 :]
        owner = next(k for k in after if "__init__" in k.__dict__)
        return dataclass_init if _generated_init(owner, func) else func
    return type(obj).__mro__[type(obj).__mro__.index(cls) + 1].__init__


@registry.adjoint(super)
def super_rule(*args):
    def super_pullback(dy):
        # the cotangent of a super() proxy is the cotangent of the object it proxies
        return (None, dy) if len(args) == 2 else (None,) * len(args)

    return super(*args), super_pullback


def namedtuple_replace(obj, **changes):
    """``obj._replace(**changes)`` for a namedtuple ``obj``."""
    return obj._replace(**changes)


@registry.adjoint(namedtuple_replace)
def namedtuple_replace_rule(obj, **changes):
    fields = type(obj)._fields

    def namedtuple_replace_pullback(dy):
        dobj = tuple(None if f in changes else dy[i] for i, f in enumerate(fields))
        return (dobj, KeywordGrads({f: dy[i] for i, f in enumerate(fields) if f in changes}))

    return obj._replace(**changes), namedtuple_replace_pullback


def new_object(cls):
    """A fresh, uninitialized instance of ``cls``."""
    return object.__new__(cls)


def record_forward(cls, /, *args, **kwargs):
    """Forward of constructing a namedtuple or a dataclass: each argument becomes a field."""
    fields = _record_fields(cls)
    y = cls(*args, **kwargs)
    n = len(args)

    def record_pullback(dy):
        values = record_field_grads(dy, fields)
        grads = (None,) + values[:n]
        if kwargs:
            return grads + (keyword_field_grads(values, fields, tuple(kwargs)),)
        return grads

    return y, record_pullback


def record_field_grads(dy, fields):
    """The cotangents of a record's fields, in constructor order (dy: a tuple or a Tangent)."""
    if dy is None:
        return (None,) * len(fields)
    if isinstance(dy, Tangent):
        return tuple(dy.get(name) for name in fields)
    return tuple(dy)


@registry.adjoint(record_field_grads)
def record_field_grads_rule(dy, fields):
    as_tuple = not isinstance(dy, Tangent)  # a namedtuple's cotangent is a tuple of its fields

    def record_field_grads_pullback(dd):
        if as_tuple:
            return (tuple(dd), None)
        return (Tangent(object, dict(zip(fields, dd, strict=True))), None)

    return record_field_grads(dy, fields), record_field_grads_pullback


def keyword_field_grads(values, fields, names):
    """The KeywordGrads of constructor keywords ``names``."""
    return KeywordGrads({name: values[fields.index(name)] for name in names if name in fields})


@registry.adjoint(keyword_field_grads)
def keyword_field_grads_rule(values, fields, names):
    def keyword_field_grads_pullback(dd):
        out = [None] * len(values)
        for name in names:
            if name in fields:
                out[fields.index(name)] = dd.get(name)
        return (tuple(out), None, None)

    return keyword_field_grads(values, fields, names), keyword_field_grads_pullback


def _hashable_in(f, collection):
    try:
        return f in collection
    except TypeError:
        return False


def in_place_function_forward(f, /, *args, **kwargs):
    """Forward of a function that writes into its arguments (``np.copyto``, ``np.add.at``, ``setattr``,
    ``operator.setitem``)."""
    if any(_carries_float(v) for v in list(args) + list(kwargs.values())):
        name = getattr(f, "__qualname__", None) or getattr(f, "__name__", repr(f))
        if _hashable_in(f, _ITEM_WRITERS) and args:  # operator.setitem(a, i, v): written `a[i] = v`
            raise errors.in_place_error(
                f"operator.{name}", type(args[0]).__name__, user_location(), "setitem"
            )
        if _hashable_in(f, _LIST_WRITERS) and args:  # heapq.heappush(h, v): reorders the list h
            kind = type(args[0]).__name__
            raise errors.in_place_error(f"{f.__module__.lstrip('_')}.{name}", kind, user_location(), kind)
        raise errors.in_place_error(name, "value", user_location())
    return foreign_forward(f, *args, **kwargs)


def mutation_forward(m, /, *args, **kwargs):
    """Forward of a bound mutating method of a list, a dict or a deque taken as a value (or of one that
    changes its argument: ``rng.shuffle``)."""
    check_no_mutation(m.__self__, m.__name__, args, kwargs)
    return foreign_forward(m, *args, **kwargs)


def unbound_mutation_forward(f, /, *args, **kwargs):
    """Forward of a mutating method taken from its class (``list.append(items, v)``,
    ``np.ndarray.__iadd__(a, v)``): refused as the bound method is (check_no_mutation)."""
    if args:
        check_no_mutation(args[0], f.__name__, args[1:], kwargs)
    return foreign_forward(f, *args, **kwargs)


def container_method_forward(m, /, *args, **kwargs):
    """Forward of a bound method of a builtin container (``d.get`` taken as a value)."""
    rule = registry.lookup_container_method(type(m.__self__), m.__name__)
    return rule(m.__self__, *args, **kwargs)


def scalar_method(obj, name, /, *args, **kwargs):
    """``obj.name(*args, **kwargs)`` for a Python float, int or complex ``obj``, as ``(y, pullback)``
    (``pullback(dy)`` gives ``(dobj, *dargs)``): a method that implements an operator or a conversion runs
    that operator's rule (``x.__rsub__(1.0)`` is ``1.0 - x``, ``z.conjugate()`` is ``conj(z)``), one whose
    result carries no gradient (comparisons, ``__int__``, ``hex``) runs plainly, and any other is run as a
    callee with no rule: a gradient reaching it raises NoAdjointError (never a silent zero)."""
    plan = scalar_plan(obj, name, args, kwargs)
    if plan is None:
        return foreign_forward(getattr(obj, name), *args, **kwargs)
    callee, order = plan
    if callee is None:
        return run_method(obj, name, args, kwargs), none_pullback(len(args) + 1)
    if order == "reflected":  # ``x.__rsub__(a)`` is ``a - x``
        y, pb = call(callee, args[0], obj)

        def reflected_scalar_pullback(dy):
            g = pb(dy)
            return (g[2], g[1])

        return y, reflected_scalar_pullback
    y, pb = call(callee, obj, *args)

    def scalar_method_pullback(dy):
        return pb(dy)[1:]

    return y, scalar_method_pullback


def scalar_method_forward(m, /, *args, **kwargs):
    """Forward of a method bound to a Python number taken as a value (``f = x.__neg__``): its cotangent is
    the number's (see :func:`scalar_method`)."""
    return scalar_method(m.__self__, m.__name__, *args, **kwargs)


def unbound_scalar_method_forward(f, /, *args, **kwargs):
    """Forward of a method of ``float``, ``int`` or ``complex`` taken from its class (``float.__mul__(x,
    2.0)``): as the bound method (:func:`scalar_method`) on an operand of that very type."""
    if not args or type(args[0]) is not f.__objclass__:
        return foreign_forward(f, *args, **kwargs)
    y, pb = scalar_method(args[0], f.__name__, *args[1:], **kwargs)

    def unbound_scalar_method_pullback(dy):
        return (None,) + tuple(pb(dy))

    return y, unbound_scalar_method_pullback


def scalar_plan(obj, name, args, kwargs):
    """How :func:`scalar_method` runs ``obj.name(*args, **kwargs)``: ``(callee, order)`` to call the rule of
    ``callee`` on ``(obj, *args)`` (order ``"reflected"``: on ``(args[0], obj)``), ``(None, None)`` for a
    method whose result carries no gradient (NotImplemented too), None for one fluxpy does not know (or
    called with arguments it does not take: Python's own call raises)."""
    if name in _SCALAR_NONDIFF:
        return None, None
    entry = _SCALAR_METHODS.get(name)
    if entry is None or kwargs or not hasattr(type(obj), name):
        return None
    callee, order = entry
    takes = _SCALAR_OPERANDS[type(obj)]
    if order is None:
        return (callee, None) if not args else None
    if len(args) == 2 and name == "__pow__" and type(obj) is int:  # pow(n, e, mod): integers only
        return (builtins.pow, None) if type(args[0]) in takes and type(args[1]) in takes else None
    if len(args) != 1:
        return None
    if not isinstance(args[0], takes):
        return None, None  # Python's binary methods give NotImplemented for an operand of another type
    if type(args[0]) not in takes:
        return None  # a subclass (a np.float64): Python's result is not the operator's (a float, not one)
    return callee, order


def run_method(obj, name, args, kwargs):
    """``obj.name(*args, **kwargs)``, run plainly."""
    return getattr(obj, name)(*args, **kwargs)


# the Python numbers whose methods scalar_method differentiates, and the operand types each one's binary
# methods take (another type gives NotImplemented, or a different value: float.__add__ of a np.float64
# returns a float, operator.add a np.float64)
_SCALAR_OPERANDS = {float: (float, int, bool), int: (int, bool), complex: (complex, float, int, bool)}
# methods whose results carry no gradient: comparisons, truth, hashing, text, integer conversions (steps,
# as int(x) and round(x) are)
_SCALAR_NONDIFF = frozenset(
    {
        "__eq__",
        "__ne__",
        "__lt__",
        "__le__",
        "__gt__",
        "__ge__",
        "__bool__",
        "__hash__",
        "__repr__",
        "__str__",
        "__format__",
        "__sizeof__",
        "is_integer",
        "hex",
        "__int__",
        "__index__",
        "__trunc__",
        "__floor__",
        "__ceil__",
        "__round__",
        "bit_length",
        "bit_count",
    }
)


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


def foreign_forward(f, /, *args, **kwargs):
    """Forward of a callee with no rule and no source: fine until a gradient has to go through it."""
    y = f(*args, **kwargs)
    if (
        not any(is_differentiable(a) for a in args)
        and not any(is_differentiable(v) for v in kwargs.values())
        and not _reads_differentiable(f)
        and not _receiver_carries_float(f)
    ):
        return y, none_pullback(len(args) + 1)
    where = user_location()

    def no_adjoint_pullback(dy):
        raise_no_adjoint(f, where)

    return y, no_adjoint_pullback


def _receiver_carries_float(f):
    """Whether ``f`` is a builtin method bound to a value carrying floats (``x.hex``, ``z.__reduce__`` of a
    Python number; a method of an array, a list, a dict or a tuple): its result may depend on them."""
    t = type(f)
    if t is not BuiltinFunctionType and t is not MethodWrapperType:
        return False
    owner = f.__self__
    kind = type(owner)
    if kind is float or kind is complex:
        return True
    if _is_array_like(owner) or isinstance(owner, (list, dict, tuple)):  # OrderedDict's C methods too
        return _carries_float(owner)
    return False


def _reads_differentiable(f):
    """Whether a Python function with no source captures or reads a differentiable global value (a gradient
    could flow to it, as ``fx.params`` asks): then it must not pass for a constant."""
    if type(f) is not FunctionType:
        return False
    for cell in f.__closure__ or ():
        try:
            if is_differentiable(cell.cell_contents):
                return True
        except ValueError:  # an empty cell
            continue
    names = f.__code__.co_names
    return any(is_differentiable(f.__globals__.get(name)) for name in names)


# ---------------------------------------------------------------------------------------------------------
# helpers used by call_method and the pullbacks above (non-differentiable, or with rules below)


def method_kind(obj, name):
    """How ``obj.name(...)`` dispatches: ``"array"``, ``"method"`` (a class function), ``"scalar"`` (a Python
    number's), ``"hooked"`` (the callee is what Python code of ``obj``'s class gives: a property, a
    descriptor, ``__getattr__``) or ``"attribute"``."""
    if _is_array_like(obj):
        return "mutation" if name in _ARRAY_MUTATORS else "array"
    if type(obj) in _SCALAR_OPERANDS:
        return "scalar"
    if name == "_replace" and isinstance(obj, tuple) and hasattr(type(obj), "_fields"):
        return "replace"
    if registry.lookup_container_method(type(obj), name) is not None:
        return "container"
    if name in _MUTATORS.get(type(obj), ()):
        return "mutation"
    if isinstance(obj, ModuleType):
        return "attribute"
    if type(obj) is super:
        method = getattr(obj, name, None)
        if type(getattr(method, "__func__", None)) is FunctionType:
            return "super"
        return "hooked" if _read_hook(obj, name) is not None else "attribute"
    cls = type(obj)
    for klass in cls.__mro__:
        attr = klass.__dict__.get(name, _MISSING)
        if attr is not _MISSING:
            kind = type(attr)
            if kind is FunctionType:
                return "method" if name not in getattr(obj, "__dict__", ()) else "attribute"
            if (
                kind is property
                or kind is functools.cached_property
                or type(getattr(kind, "__get__", None)) is FunctionType
            ):
                return "hooked" if _read_hook(obj, name) is not None else "attribute"
            return "attribute"
    if type(getattr(cls, "__getattr__", None)) is FunctionType and _read_hook(obj, name) is not None:
        return "hooked"
    return "attribute"


_MISSING = object()


_ARRAY_MUTATORS = {
    "fill",
    "sort",
    "put",
    "itemset",
    "resize",
    "partition",
    "setfield",
    "__setitem__",
    "__iadd__",
    "__isub__",
    "__imul__",
    "__itruediv__",
    "__ipow__",
    "__imatmul__",
}
_IN_PLACE_FUNCTIONS = {
    np.copyto,
    np.put,
    np.place,
    np.putmask,
    np.fill_diagonal,
    np.put_along_axis,
    setattr,
    delattr,
    object.__setattr__,
    operator.setitem,  # the user's own call: generated code writes items with __fx_setitem
    operator.delitem,
}
# C functions that reorder, fill or empty the list given first (heapq's, bisect's insort): refused when a
# float is involved, as a list's own mutators are
_LIST_WRITERS = {
    getattr(module, name)
    for module, names in [
        (
            heapq,
            (
                "heapify",
                "heappush",
                "heappop",
                "heapreplace",
                "heappushpop",
                "heapify_max",
                "heappush_max",
                "heappop_max",
                "heapreplace_max",
                "heappushpop_max",
                "_heapify_max",
                "_heappop_max",
                "_heapreplace_max",
            ),
        ),
        (bisect, ("insort", "insort_left", "insort_right")),
    ]
    for name in names
    if type(getattr(module, name, None)) is BuiltinFunctionType
}
_IN_PLACE_FUNCTIONS |= _LIST_WRITERS
_ITEM_WRITERS = {operator.setitem, operator.delitem}
# methods that change their first argument in place (``rng.shuffle(a)``): ``check_no_mutation`` refuses
# them when a float is involved; as functions of the class (``Generator.shuffle(rng, a)``) too
_ARGUMENT_MUTATORS = {np.random.Generator: {"shuffle"}, np.random.RandomState: {"shuffle"}}
_UNBOUND_ARGUMENT_MUTATORS = {np.random.Generator.shuffle, np.random.RandomState.shuffle}
_DEQUE_REARRANGING = {
    "pop",
    "popleft",
    "remove",
    "insert",
    "clear",
    "reverse",
    "rotate",
    "__delitem__",
    "__imul__",
}
_MUTATORS = {
    list: {
        "append",
        "extend",
        "insert",
        "pop",
        "remove",
        "clear",
        "sort",
        "reverse",
        "__setitem__",
        "__iadd__",
    },
    dict: {"update", "setdefault", "pop", "popitem", "clear", "__setitem__"},
    collections.deque: {"append", "appendleft", "extend", "extendleft", "__setitem__", "__iadd__"}
    | _DEQUE_REARRANGING,
    **_ARGUMENT_MUTATORS,
}
# the C subclasses of dict change in place as dict does (OrderedDict overrides these in C)
_MUTATORS[collections.OrderedDict] = _MUTATORS[dict] | {"move_to_end"}
_MUTATORS[collections.defaultdict] = _MUTATORS[dict]


def _mutators_of(cls):
    """The names of the methods of builtin ``cls`` that change its objects in place."""
    if isinstance(cls, type) and issubclass(cls, np.ndarray):
        return _ARRAY_MUTATORS
    return _MUTATORS.get(cls, ())


# in-place changes that move, drop or hand out the items already in a list or dict: refused when those
# carry gradients (a cotangent by position or key would reach the wrong item, or none)
_REARRANGING = {
    list: {"pop", "remove", "insert", "sort", "reverse", "clear"},
    dict: {"pop", "popitem", "setdefault", "clear"},
    collections.deque: _DEQUE_REARRANGING,
}
_REARRANGING[collections.OrderedDict] = _REARRANGING[dict] | {"move_to_end"}
_REARRANGING[collections.defaultdict] = _REARRANGING[dict]


def check_no_mutation(obj, name, args, kwargs):
    """In-place changes of a list or dict that put floating-point values in are refused (a later read
    would lose their gradient), and so are those that move, remove or return the float items already
    there (sort, reverse, pop, ...); adding ints, strings and other bookkeeping values is fine. A local
    list's methods never get here: the normalizer rebinds its name to a new list instead."""
    values = list(args) + list(kwargs.values())
    if name in _ARGUMENT_MUTATORS.get(type(obj), ()):  # ``rng.shuffle(a)`` changes ``a``, not ``rng``
        if any(_carries_float(v) for v in values):
            target = type(args[0]).__name__ if args else "value"
            article = "an" if target[:1] in "aeiou" or target == "ndarray" else "a"
            hint = "Index with a permutation instead: `a = a[rng.permutation(len(a))]` (differentiated)."
            where = user_location()
            method = f"{type(obj).__name__}.{name}"
            raise errors.FluxpyError(
                errors.IN_PLACE.format(method=method, article=article, kind=target, where=where, hint=hint)
            )
        return
    rearranges = name in _REARRANGING.get(type(obj), ()) or _is_array_like(obj)
    if rearranges and _carries_float(obj) or any(_carries_float(v) for v in values):
        hint = "array" if _is_array_like(obj) else type(obj).__name__
        raise errors.in_place_error(f"{type(obj).__name__}.{name}", type(obj).__name__, user_location(), hint)


def _carries_float(x):
    t = type(x)
    if t is int or t is bool or t is str or x is None:
        return False
    if is_array(x) or isinstance(x, np.generic):
        return x.dtype.kind in "fc"
    if t is tuple or t is list or t is collections.deque:
        return any(_carries_float(v) for v in x)
    if t is dict:
        return any(_carries_float(v) for v in x.values())
    return is_differentiable(x)


def class_function(obj, name):
    """The plain function ``name`` on ``obj``'s class."""
    for klass in type(obj).__mro__:
        if name in klass.__dict__:
            return klass.__dict__[name]
    raise AttributeError(name)


def array_method_rule(obj, name):
    """The rule of array method ``name``; a missing one raises NoAdjointError when a gradient needs it."""
    rule = registry.lookup_method(name)
    if rule is None:
        method = getattr(obj, name)
        where = user_location()

        def missing_method_rule(self, /, *args, **kwargs):
            y = method(*args, **kwargs)

            def missing_method_pullback(dy):
                raise_no_adjoint(method, where, qualname=f"{type(obj).__name__}.{name}")

            return y, missing_method_pullback

        return missing_method_rule
    return rule


def field_cotangent(obj, name, d):
    """The cotangent of ``obj`` when its field ``name`` has cotangent ``d``."""
    if d is None or isinstance(obj, ModuleType) or isinstance(obj, type):
        return None
    if isinstance(obj, tuple) and hasattr(type(obj), "_fields"):
        return tuple(d if f == name else None for f in type(obj)._fields)
    if type(obj) in _PROXIES:
        # proxies: a bound method's or super()'s cotangent is that of the object it stands for
        if name == "__self__":
            return d
        if type(obj) is not super:
            return None  # a Python function's (closure) cotangent is not propagated; a builtin has none
    if bound_to(getattr(obj, name, None), obj):
        return d  # a bound method's cotangent is its self's (a Python method's, or a builtin's: ``d.get``)
    return Tangent(type(obj), {name: d})


_PROXIES = (MethodType, BuiltinMethodType, MethodWrapperType, super)  # their __self__'s cotangent is theirs


def bound_to(value, obj):
    """Whether ``value`` is a method bound to ``obj`` (whose cotangent is ``obj``'s): a Python method, or a
    builtin one (``a.sum``, ``d.get``, ``x.__neg__``). A method bound to another object (``p.func`` of
    ``functools.partial(k.f)``) is a field like any other: its cotangent goes under its name."""
    t = type(value)
    if t is not MethodType and t is not BuiltinMethodType and t is not MethodWrapperType:
        return False
    return value.__self__ is (obj.__self__ if type(obj) is super else obj)  # super().f is bound to the object


def check_no_function_gradient(dfunc, func):
    """Methods defined in a function body can capture locals; their gradient is not propagated (yet)."""
    if dfunc is not None:
        raise errors.FluxpyError(
            f"{func.__qualname__} is a method whose code captures variables of an enclosing function, "
            "and a gradient reached them; fluxpy does not propagate gradients into a method's closure. "
            "Pass those values as arguments or store them on the object."
        )


def _is_array_like(x):
    """NumPy arrays and scalars, CuPy arrays (not ufuncs, dtypes or other NumPy objects)."""
    return isinstance(x, (np.ndarray, np.generic)) or (
        type(x).__module__.startswith("cupy") and hasattr(x, "shape")
    )


def user_location():
    """``file:line`` of the innermost user code (generated code is mapped back to the user's line)."""
    from .transform.codegen import map_location

    frame = sys._getframe(1)
    while frame is not None:
        filename, lineno = frame.f_code.co_filename, frame.f_lineno
        mapped = map_location(filename, lineno)
        if mapped is not None:
            filename, lineno = mapped
        if not os.path.abspath(filename).startswith(_PACKAGE_DIR):
            break  # generated code of fluxpy's own (call_method differentiated by fx.hvp) is not the user's
        frame = frame.f_back
    else:
        return "<unknown location>"
    source = linecache.getline(filename, lineno).strip()
    return f'File "{filename}", line {lineno}' + (f"\n    {source}" if source else "")


def _source_changed(f):
    """The reason ``f``'s source is not used when its file changed after import, else None."""
    from .transform import source

    return (
        source.CHANGED.format(file=f.__code__.co_filename)
        if source.changed_since_import(f.__code__)
        else None
    )


def raise_no_adjoint(f, where, qualname=None):
    """Raise the NoAdjointError for callee ``f`` called at ``where``."""
    module = getattr(f, "__module__", None) or type(f).__module__
    name = getattr(f, "__qualname__", None) or getattr(f, "__name__", None) or type(f).__name__
    owner = getattr(f, "__self__", None)
    if isinstance(f, np.ufunc):  # no __module__ of its own (type(f)'s is numpy's, even for SciPy's)
        name = f.__name__
        qualname = qualname or _ufunc_path(f)
    elif type(f) is BuiltinFunctionType and isinstance(owner, np.ufunc):  # np.add.reduce, not ufunc.reduce
        name = f"{owner.__name__}_{f.__name__}"
        qualname = qualname or f"{_ufunc_path(owner)}.{f.__name__}"
    if qualname is None:
        qualname = f"{module}.{name}" if module and module != "builtins" else name
    short = "".join(c if c.isalnum() or c == "_" else "" for c in name.split(".")[-1]) or "primal"
    if type(f) is FunctionType and _source_changed(f):
        why = f"its source cannot be used: {_source_changed(f)}; and it has no registered rule"
    elif type(f) is FunctionType:
        why = (
            "its source is not available (functions made by exec/eval or typed at `python -c` or a plain "
            "interactive prompt have none: define it in a file) and it has no registered rule"
        )
    elif type(getattr(f, "__wrapped__", None)) is FunctionType and hasattr(f, "cache_info"):
        # functools.lru_cache / functools.cache: a C wrapper that may answer from its cache
        wrapped = getattr(f.__wrapped__, "__qualname__", name)
        why = (
            "it is wrapped by functools.lru_cache (or functools.cache), a C cache of results fluxpy does not "
            f"transform. Call the Python function itself in differentiated code, `{wrapped}.__wrapped__(...)`"
            ": it is differentiated (without the cache), or define it without the cache decorator"
        )
    elif type(getattr(f, "_implementation", None)) is FunctionType:
        # NumPy's dispatching functions wrap Python (np.resize's `_implementation`), which fluxpy does not
        # transform: NumPy is differentiated by rules (its internals write into buffers and call C)
        why = f"fluxpy differentiates {module.split('.')[0]} by rules only, and none is registered for it"
    else:
        why = "it has no Python source to transform and no registered rule"
    error = errors.NoAdjointError(
        errors.NO_ADJOINT.format(
            why=why,
            where=where,
            qualname=qualname,
            rulename=f"{short}_rule",
            pbname=f"{short}_pullback",
        )
    )
    note_call_chain(error, where)
    raise error


def note_call_chain(error, where):
    """Add to ``error`` (a NoAdjointError for a callee called at ``where``, in a helper of another file) the
    calls in differentiated code that led there, the user's own call first, as a TransformError has them
    (``errors.add_call_sites``): the frames of generated code on the stack, forward functions or pullbacks,
    mapped to the user's lines; fluxpy's own are left out. Nothing is added when ``where`` is the only one.
    On the error path only."""
    from .transform.codegen import map_location
    from .transform.source import _in_library

    sites = []
    frame = sys._getframe(1)
    while frame is not None:
        mapped = map_location(frame.f_code.co_filename, frame.f_lineno)
        if mapped is not None and not os.path.abspath(mapped[0]).startswith(_PACKAGE_DIR):
            if not sites or sites[-1][:2] != mapped:
                sites.append((mapped[0], mapped[1], linecache.getline(mapped[0], mapped[1]).strip()))
        frame = frame.f_back
    sites.reverse()
    if sites and where.startswith(f'File "{sites[-1][0]}", line {sites[-1][1]}'):
        sites.pop()  # the call the message names already
    user = None
    for i, (file, _, _) in enumerate(sites):
        if not _in_library(file):
            user = i
    errors.add_call_sites(error, sites, user)


def _ufunc_path(u):
    """``module.name`` of a ufunc as a loaded module exposes it (``numpy.sin``, ``scipy.special.gammaln``):
    public modules first, the shortest path first. Just its name when none does."""
    found = []
    for module_name, module in list(sys.modules.items()):
        namespace = getattr(module, "__dict__", None)  # not getattr(module, name): no module __getattr__ runs
        if isinstance(namespace, dict) and namespace.get(u.__name__) is u:
            found.append(module_name)
    if not found:
        return u.__name__
    best = min(found, key=lambda m: (any(p.startswith("_") for p in m.split(".")), m.count("."), m))
    return f"{best}.{u.__name__}"


registry.nograd(
    rule_of,
    check_writes,
    owned_view,
    check_param_aliases,
    check_method_writes,
    _record_fields,
    _python_init,
    dataclass_plan,
    dataclass_default,
    post_init_of,
    new_object,
    parent_init,
    check_no_mutation,
    _mutators_of,
    check_no_out,
    _hashable_in,
    _carries_float,
    resolve,
    resolve_masked,
    partial_forward_of,
    layout_mask,
    keyword_layout,
    method_kind,
    class_function,
    array_method_rule,
    check_no_function_gradient,
    check_rule_cotangents,
    checked_rule_result,
    check_rule_entries,
    _plain_number_subclass,
    bound_to,
    getter_arguments,
    scalar_plan,
    run_method,
    _receiver_carries_float,
    _is_user_rule,
    user_location,
    raise_no_adjoint,
    note_call_chain,
    none_pullback,
)


@registry.adjoint(kwgrad)
def kwgrad_rule(g, position, name):
    def kwgrad_pullback(dd):
        out = [None] * len(g)
        out[position] = KeywordGrads(dd) if name is None else KeywordGrads({name: dd})
        return (tuple(out), None, None)

    return kwgrad(g, position, name), kwgrad_pullback


@registry.adjoint(field_cotangent)
def field_cotangent_rule(obj, name, d):
    def field_cotangent_pullback(dd):
        if name == "__self__" and type(obj) in _PROXIES:
            return (None, None, dd)
        if type(obj) in _PROXIES and type(obj) is not super:
            return (None, None, None)
        if bound_to(getattr(obj, name, None), obj):
            return (None, None, dd)
        return (None, None, dd.get(name) if isinstance(dd, Tangent) else _pick_field(obj, name, dd))

    return field_cotangent(obj, name, d), field_cotangent_pullback


def _pick_field(obj, name, dd):
    if isinstance(obj, tuple) and hasattr(type(obj), "_fields") and dd is not None:
        return dd[type(obj)._fields.index(name)]
    return dd


registry.nograd(_pick_field)


def _empty_like(x):
    """The all-None cotangent shaped like structure ``x`` (a dict or sequence of cotangents)."""
    if isinstance(x, dict):
        return {}
    if isinstance(x, (tuple, list)):
        return (None,) * len(x)
    return None


def linear_in(f, *positions):
    """Register the forward rule of a helper that is linear in the arguments at ``positions`` (the
    cotangent-assembling helpers above): its tangent is the helper applied to their tangents."""

    @registry.forward_rule(f)
    def linear_jvp(args, targs):
        moving = [targs[i] if i < len(targs) else None for i in positions]
        if all(t is None for t in moving):
            return f(*args), None
        targs_in = list(args)
        for i, t in zip(positions, moving, strict=True):
            targs_in[i] = _empty_like(args[i]) if t is None else t
        return f(*args), f(*targs_in)

    return linear_jvp


def _register_linear_helpers():
    from .rules.python import keyword_grads

    linear_in(field_cotangent, 2)
    linear_in(layout_grads, 0)
    linear_in(merge_keyword_grads, 0, 1)
    linear_in(record_field_grads, 0)
    linear_in(partial_tangent, 0, 1, 2)
    linear_in(methodcaller_tangent, 0, 1)
    linear_in(keyword_grads, 1, 2)


_register_linear_helpers()

from .transform import cache as _transform_cache  # noqa: E402  (after call/call_method exist: codegen uses them)

registry.nograd(_transform_cache.forward_function)
_transformed_defaulted = _transform_cache.defaulted  # resolve's check of a cached forward with defaults

from .rules.attributes import read_hook as _read_hook  # noqa: E402  (Python code an attribute read runs)
from .rules.helpers import conj as _conj  # noqa: E402

_GETTERS = {
    operator.itemgetter: itemgetter_forward,
    operator.attrgetter: attrgetter_forward,
    operator.methodcaller: methodcaller_forward,
}

# a Python number's methods that implement an operator or a conversion: name -> (the callee whose rule
# differentiates it, None for a method taking no argument, "direct" for ``x.__sub__(a)`` = ``x - a``,
# "reflected" for ``x.__rsub__(a)`` = ``a - x``)
_SCALAR_METHODS = {
    "__neg__": (operator.neg, None),
    "__pos__": (operator.pos, None),
    "__abs__": (builtins.abs, None),
    "__float__": (float, None),
    "__complex__": (complex, None),
    "conjugate": (_conj, None),
}
for _name, _op in [
    ("add", operator.add),
    ("sub", operator.sub),
    ("mul", operator.mul),
    ("truediv", operator.truediv),
    ("floordiv", operator.floordiv),
    ("mod", operator.mod),
    ("pow", operator.pow),
    ("divmod", builtins.divmod),
]:
    _SCALAR_METHODS[f"__{_name}__"] = (_op, "direct")
    _SCALAR_METHODS[f"__r{_name}__"] = (_op, "reflected")
