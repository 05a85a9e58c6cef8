"""Forward-mode dispatch: every call in JVP code goes through :func:`jvp_call` or :func:`jvp_method`.

``jvp_call(f, tf, args, targs, kwargs, tkwargs) -> (y, ty)``. Python functions run their generated JVP
code (one tangent statement per statement: control flow needs no tape). Any other callee -- a rule, a
class, a C function -- gets its tangent by transposing its pullback, the reverse rule
(``J v`` is the gradient of ``<back(u), v>`` with respect to ``u``), unless a forward rule is registered
(``registry.forward_rule``, in the modules rules/forward.py lists: the hot elementwise operations, the
linear maps pullbacks apply, and the Python builtins whose results transposition cannot carry: dicts,
iterators, partials, in-place changes of lists and dicts).

Forward over reverse (``fx.hvp``: the JVP of ``fx.gradient``) runs generated reverse code, so two more
kinds of forward rule serve it: those of Python functions (``runtime.call``, ``call_masked``, the reverse
rules themselves: they take keywords), and those of closures, keyed by code object (the pullbacks rules
make per call, and runtime's adapters around rules: ``rules/forward_core.py``'s ``closure_rules``).

Tangents mirror their primals: a list's is a list, a dict's a dict, an object's or a closure's a ``Tangent``
of its fields, an iterator's an iterator over its items' tangents (advanced in step with it), None is zero.
An array's tangent is anything that broadcasts to its shape (``x + s`` with only the number ``s`` moving has
``s``'s tangent, a number): rules that select, reshape, contract or iterate broadcast it first
(rules/forward_core.py's ``_like``); ``fx.jvp`` returns it with the output's shape. A ``Tangent`` is a value
too when forward mode runs this module's own code (``fx.jvp`` of ``fx.hvp``: third derivatives): its tangent
is a Tangent of its fields' tangents, so the tangent of a closure's tangent holds its thunk's tangent under
LIVE.
What forward mode cannot follow raises a FluxpyError naming the callee and the user's line, never a wrong
tangent.
"""

import functools
import operator
from collections.abc import Iterator
from types import (
    BuiltinFunctionType,
    BuiltinMethodType,
    FunctionType,
    MethodType,
    MethodWrapperType,
    ModuleType,
)

import numpy as np

from .backend import is_array, xp_of
from .errors import FluxpyError
from .rules import forward as forward_rules
from .rules import registry
from .rules.forward_core import plain_call_rules, runs_without_tangents
from .rules.helpers import _array_flags, array_args, array_like_primals, array_tangents, conj
from .rules.python_packing import unpack
from .runtime import (
    _SCALAR_OPERANDS,
    _carries_float,
    call,
    call_masked,
    check_float_out,
    check_no_out,
    class_function,
    init_into,
    keyword_layout,
    method_kind,
    resolve,
    resolve_masked,
    user_location,
)
from .tangents import Tangent, is_differentiable

FORWARD_UNSUPPORTED = "forward mode (fx.jvp) cannot {what}: {why}.\n  {where}\n{fix}"
FORWARD_IN_PLACE_FIX = (
    "Build a new container instead (`items = items + [value]`, `d = {**d, key: value}`), "
    "or use reverse mode (fx.gradient, fx.jacobian)."
)


# the tangent of a local function (made by fluxpy/transform/forward.py where it is defined) is a Tangent of
# its captured variables' tangents; two more fields may hold
LIVE = "__fx_live__"  # a thunk giving them as they are now, for variables that change after the def
DEFAULTS = "__fx_defaults__"  # its defaults' tangents: ((positional, ...), {keyword-only name: tangent})
UNKNOWN = "__fx_unknown__"  # the tangent of a default computed by an expression from local variables


def settled(t):
    """A local function's tangent as of now (a closure reads its captured variables when it is called)."""
    live = t.get(LIVE) if type(t) is Tangent else None
    if type(live) is not FunctionType:  # None, or the thunk's tangent: ``t`` is a closure's tangent's tangent
        return t
    now = live()
    defaults = t.get(DEFAULTS)
    if defaults is None:
        return now
    fields = dict(now) if now is not None else {}
    fields[DEFAULTS] = defaults
    return Tangent(t.primal_type, fields)


def forward_error(what, why, fix="Use reverse mode (fx.gradient, fx.jacobian) for this function."):
    """The FluxpyError for a call forward mode cannot follow, located at the user's line."""
    return FluxpyError(FORWARD_UNSUPPORTED.format(what=what, why=why, where=user_location(), fix=fix))


def _keywords_by_position(f, args, targs, kwargs, tkwargs):
    """Keyword arguments with tangents that name positional parameters of ``f`` (``np.sum(a=x)``,
    ``np.average(a, weights=w)``) moved into ``args``, defaults filling the places before them: forward
    rules read their arguments by position (see runtime.primal_layout)."""
    from .runtime import primal_layout

    bound = primal_layout(f, len(args), kwargs) if _hashable(f) else None
    if not bound:
        return args, targs, kwargs, tkwargs
    layout, names = bound
    args = tuple(args) + tuple(kwargs[v] if kind == "keyword" else v for kind, v in layout)
    targs = tuple(targs) + tuple(tkwargs.get(v) if kind == "keyword" else None for kind, v in layout)
    kwargs = {k: v for k, v in kwargs.items() if k not in names}
    tkwargs = {k: v for k, v in tkwargs.items() if k not in names}
    return args, targs, kwargs, tkwargs


def jvp_call(f, tf, args, targs, kwargs, tkwargs):
    """``(f(*args, **kwargs), its tangent)`` from the tangents of ``f`` (its closure) and the arguments."""
    if type(f) is FunctionType:
        by_code = forward_rules.closure_rules.get(f.__code__)
        if by_code is not None:
            return by_code(f, tf, args, targs, kwargs, tkwargs)
        if registry.lookup(f) is None and not registry.is_nondiff(f):
            fast = registry.lookup_forward(f)
            if fast is not None and getattr(fast, "takes_keywords", False):
                return fast(args, targs, kwargs, tkwargs)
            if fast is not None and not kwargs:
                return fast(args, targs)
            return _python_jvp(f, tf, args, targs, kwargs, tkwargs)
    if tf is None and not _moving(targs) and not (tkwargs and _moving(tkwargs.values())):
        plain = plain_call_rules.get(f) if type(f) in _PLAIN_RULE_TYPES else None
        if plain is not None:  # warnings.warn, init_into: their plain call is wrong here
            return plain(args, targs, kwargs, tkwargs)
        y = f(*args, **kwargs)
        return y, _untouched_tangent(f, y)
    if kwargs and kwargs.get("out") is not None and _hashable(f) and registry.lookup(f) is not None:
        check_no_out(f)  # ``np.exp(a, out=a)``: refused, as reverse mode refuses it
    if kwargs and tkwargs and _moving(tkwargs.values()):
        args, targs, kwargs, tkwargs = _keywords_by_position(f, args, targs, kwargs, tkwargs)
    if _holds_sequence(args) and _hashable(f) and f in array_like_primals:  # ``np.exp([x, 1.0])``
        flags = _array_flags(args, array_like_primals[f])  # lists and tuples NumPy reads as arrays
        if flags is not None:
            args = array_args(args, flags)
            targs = array_tangents(targs, args, flags)
    fast = registry.lookup_forward(f)
    if fast is not None:
        if getattr(fast, "takes_keywords", False):
            return fast(args, targs, kwargs, tkwargs)
        if not kwargs:
            return fast(args, targs)
    if registry.is_nondiff(f) if _hashable(f) else False:
        if (kwargs and kwargs.get("out") is not None) or (type(f) is np.ufunc and len(args) > f.nin):
            check_float_out(f, args, kwargs)  # ``np.floor(y, out=y) + 1``: refused, as in reverse mode
        return f(*args, **kwargs), None
    if type(f) is functools.partial:
        return _partial_jvp(f, tf, args, targs, kwargs, tkwargs)
    if type(f) is BuiltinMethodType and _has_methods(f.__self__):  # `x.sum`, `d.get` taken as values
        return jvp_method(f.__self__, tf, f.__name__, args, targs, kwargs, tkwargs)
    if type(f) in _BOUND_BUILTINS and type(f.__self__) in _SCALAR_OPERANDS:  # `x.__neg__` taken as a value
        return jvp_method(f.__self__, tf, f.__name__, args, targs, kwargs, tkwargs)
    if type(f) is MethodType and type(f.__func__) is FunctionType:
        return jvp_call(f.__func__, None, (f.__self__,) + tuple(args), (tf,) + tuple(targs), kwargs, tkwargs)
    if isinstance(f, type):
        constructed = _construct_jvp(f, args, targs, kwargs, tkwargs)
        if constructed is not None:
            return constructed
    callable_call = getattr(type(f), "__call__", None)  # noqa: B004  (a Python __call__, not callable())
    if not isinstance(f, type) and type(callable_call) is FunctionType:
        return jvp_call(callable_call, None, (f,) + tuple(args), (tf,) + tuple(targs), kwargs, tkwargs)
    return derived_jvp(f, tf, args, targs, kwargs, tkwargs)


_PLAIN_RULE_TYPES = (FunctionType, BuiltinFunctionType)  # the types of plain_call_rules' callees
_BOUND_BUILTINS = (BuiltinMethodType, MethodWrapperType)  # methods of a Python number: runtime.scalar_method


def _construct_jvp(cls, args, targs, kwargs, tkwargs):
    """``cls(*args)`` with tangents: namedtuples and dataclasses field by field, other classes by running
    their ``__init__``'s JVP on a fresh object."""
    from .runtime import _python_init, _record_fields, new_object

    fields = _record_fields(cls)
    if fields is not None:
        y = cls(*args, **kwargs)
        values = list(targs) + [tkwargs.get(name) for name in fields[len(args) :]]
        if isinstance(y, tuple):
            return y, tuple(values)
        return y, Tangent(cls, dict(zip(fields, values, strict=True)))
    init = _python_init(cls)
    if init is None:
        return None
    obj = new_object(cls)
    return _python_jvp(
        init, None, (obj,) + tuple(args), (None,) + tuple(targs), kwargs, tkwargs, constructor=True
    )


def _untouched_tangent(f, y):
    """The tangent of ``y = f(...)`` when no tangent reaches it: None (zero), but a new empty list or dict
    (``[]``, ``dict()``) gets an empty one, for in-place changes to fill (rules/forward_in_place.py mirrors
    them)."""
    if (type(y) is list or type(y) is dict) and not y:
        if getattr(registry.lookup_forward(f), "makes_container", False):
            return type(y)()
    return None


def _partial_jvp(p, tp, args, targs, kwargs, tkwargs):
    """A ``functools.partial`` called: its function on its bound and given arguments; the partial's tangent
    is ``Tangent(func=..., args=..., keywords=...)``, as reverse mode's cotangent of it."""
    fields = tp if isinstance(tp, Tangent) else {}
    bound = fields.get("args") or (None,) * len(p.args)
    tbound_kw = fields.get("keywords") or {}
    tkw = {k: tbound_kw.get(k) for k in p.keywords}
    tkw.update({k: tkwargs.get(k) for k in kwargs})
    return jvp_call(
        p.func,
        fields.get("func"),
        p.args + tuple(args),
        tuple(bound) + tuple(targs),
        {**p.keywords, **kwargs},
        tkw,
    )


def _has_methods(obj):
    """Receivers whose builtin methods forward mode follows: arrays, lists, dicts and tuples."""
    return isinstance(obj, (list, dict, tuple)) or is_array(obj)


def jvp_method(obj, tobj, name, args, targs, kwargs, tkwargs):
    """``obj.name(*args, **kwargs)`` and its tangent."""
    if type(obj) is ModuleType and tobj is None:  # ``xp.tanh(x)``, ``np.sum(x)``: the module's function
        return jvp_call(getattr(obj, name), None, args, targs, kwargs, tkwargs)
    kind = method_kind(obj, name)
    if kind == "method":
        func = class_function(obj, name)
        return jvp_call(func, None, (obj,) + tuple(args), (tobj,) + tuple(targs), kwargs, tkwargs)
    if kind != "super" and tobj is None and not _moving(targs) and not _moving(tuple(tkwargs.values())):
        y = getattr(obj, name)(*args, **kwargs)
        if kind == "container" and isinstance(obj, (list, dict)):
            return y, _untouched_tangent(_builtin_method(type(obj), name), y)
        return y, None
    if kind == "array" and kwargs and kwargs.get("out") is not None:
        check_no_out(getattr(obj, name))  # ``a.clip(lo, hi, out=a)``, as ``np.clip(a, lo, hi, out=a)``
    if kind in ("container", "mutation") and isinstance(obj, (list, dict)):
        return _container_method_jvp(obj, tobj, name, kind, args, targs, kwargs, tkwargs)
    if kind == "super":  # a Python method (a classmethod's too) on what the proxy stands for, as reverse mode
        func = getattr(obj, name).__func__
        return jvp_call(func, None, (obj.__self__,) + tuple(args), (tobj,) + tuple(targs), kwargs, tkwargs)
    if kind == "scalar":  # a Python number's method: the rule of the operator it implements
        return forward_rules.forward_objects.scalar_method_jvp(obj, tobj, name, args, targs, kwargs, tkwargs)
    linear = forward_rules.linear_method_jvp(obj, tobj, name, args, targs, kwargs, tkwargs)
    if linear is not None:
        return linear
    if kind in ("array", "container", "super", "replace", "mutation"):
        return derived_method_jvp(obj, tobj, name, args, targs, kwargs, tkwargs)
    attr, tattr = registry.lookup_forward(getattr)((obj, name), (tobj, None))
    if type(attr) is BuiltinMethodType and attr.__self__ is obj and _has_methods(obj):
        if tobj is not None:  # lst.__getitem__(i): no rule, and the list's tangent must not be dropped
            raise _no_method_rule(obj, name, kind)
        return derived_jvp(attr, None, args, targs, kwargs, tkwargs)
    return jvp_call(attr, tattr, args, targs, kwargs, tkwargs)


def _container_method_jvp(obj, tobj, name, kind, args, targs, kwargs, tkwargs):
    """A method of a builtin list or dict: its forward rule (rules/forward_in_place.py; a method that changes
    the container in place changes its tangent the same way), else its reverse rule transposed."""
    fast = registry.lookup_forward(_builtin_method(type(obj), name))
    if fast is not None and getattr(fast, "takes_keywords", False):
        return fast((obj,) + tuple(args), (tobj,) + tuple(targs), kwargs, tkwargs)
    if fast is not None and not kwargs:
        return fast((obj,) + tuple(args), (tobj,) + tuple(targs))
    if kind == "container":
        return derived_method_jvp(obj, tobj, name, args, targs, kwargs, tkwargs)
    raise _no_method_rule(obj, name, kind)


def _no_method_rule(obj, name, kind):
    kind_name = type(obj).__name__
    if kind == "mutation":
        return forward_error(
            f"follow {kind_name}.{name}(...)",
            f"it changes the {kind_name} in place, and forward mode has no rule to change its tangent alike",
            FORWARD_IN_PLACE_FIX,
        )
    return forward_error(
        f"follow {kind_name}.{name}(...)", f"the {kind_name} carries tangents and this method has no rule"
    )


def _builtin_method(cls, name):
    """The method ``name`` as defined on ``cls`` or its first base that defines it (``dict.items``)."""
    for klass in cls.__mro__:
        if name in klass.__dict__:
            return klass.__dict__[name]
    return None


def _python_jvp(f, tf, args, targs, kwargs, tkwargs, constructor=False):
    code = f.__code__
    tf = settled(tf)
    defaults = tf.get(DEFAULTS) if isinstance(tf, Tangent) else None
    n = len(args)
    if kwargs:
        layout, names = keyword_layout(f, len(args), kwargs)
        args = tuple(args) + tuple(kwargs[v] if kind == "keyword" else v for kind, v in layout)
        targs = tuple(targs) + tuple(
            tkwargs.get(v) if kind == "keyword" else _default_tangent(f, defaults, n + j)
            for j, (kind, v) in enumerate(layout)
        )
        kwargs = {k: v for k, v in kwargs.items() if k not in names}
        tkwargs = {k: v for k, v in tkwargs.items() if k not in names}
    if len(targs) < code.co_argcount:
        targs = tuple(targs) + tuple(
            _default_tangent(f, defaults, i) for i in range(len(targs), code.co_argcount)
        )
    if defaults is not None and defaults[1]:
        tkwargs = {**{k: _default_tangent(f, defaults, k) for k in defaults[1] if k not in kwargs}, **tkwargs}
    forward = _transform_cache().forward_function(f, constructor=constructor, mode="jvp")
    return forward(f, tf, tuple(targs), tkwargs, *args, **kwargs)


@functools.cache
def _transform_cache():
    """transform/cache.py, imported on first use (that module imports this one)."""
    from .transform import cache

    return cache


def _default_tangent(f, defaults, param):
    """The tangent of the default value of parameter ``param`` (a position, or a keyword-only name) of a
    local function (see transform/forward.py): computed where the function was defined."""
    if defaults is None:
        return None
    if isinstance(param, str):
        t, value = defaults[1].get(param), (f.__kwdefaults__ or {}).get(param)
    else:
        first = f.__code__.co_argcount - len(defaults[0])
        if param < first:
            return None
        t, value = defaults[0][param - first], f.__defaults__[param - first]
    if not (type(t) is str and t == UNKNOWN):
        return t
    if _carries_float(value):  # an int or a string computed from locals: no tangent to lose
        name = param if isinstance(param, str) else f.__code__.co_varnames[param]
        raise forward_error(
            f"use the default value of parameter {name!r} of {f.__name__}",
            "it was computed from local variables when the function was defined, by an expression forward "
            "mode does not follow there",
            "Pass the value as an argument, or compute it in the function's body.",
        )
    return None


def derived_jvp(f, tf, args, targs, kwargs, tkwargs):
    """The tangent of any callee by transposing its pullback (reverse mode's rule)."""
    tf, targs, tkwargs = _settled_tree(f, (tf, tuple(targs), tkwargs))
    y, pb = call(f, *args, **kwargs)
    if not is_differentiable(y):  # a string, a bool, None: no tangent to carry
        return y, None
    return y, _transpose(_along(pb, tf, targs, kwargs, tkwargs), y)


def derived_method_jvp(obj, tobj, name, args, targs, kwargs, tkwargs):
    """The tangent of an array or container method call by transposing its pullback."""
    from .runtime import call_method

    tobj, targs, tkwargs = _settled_tree(getattr(obj, name, name), (tobj, tuple(targs), tkwargs))
    y, pb = call_method(obj, name, *args, **kwargs)
    if not is_differentiable(y):
        return y, None
    return y, _transpose(_along(pb, tobj, targs, kwargs, tkwargs), y)


def _settled_tree(f, t):
    """The tangents handed to callee ``f``, which is followed by transposing its reverse rule: local
    functions' tangents as of now. The rule knows nothing of tangents of local functions' defaults or of
    iterators (advanced in step with theirs by forward rules only): those are refused."""
    if isinstance(t, Iterator):
        raise forward_error(
            f"pass an iterator over values with tangents to {_name(f)}",
            "forward mode follows iterators through for loops and its rules for iter, next, list, tuple, "
            "dict, zip, enumerate, sorted, sum, map, filter, functools.reduce and itertools.chain/product",
            "Pass a list instead (`list(it)`), or use reverse mode (fx.gradient, fx.jacobian).",
        )
    if type(t) is tuple or type(t) is list:
        return type(t)(_settled_tree(f, v) for v in t)
    if type(t) is dict:
        return {k: _settled_tree(f, v) for k, v in t.items()}
    if type(t) is Tangent:
        t = settled(t)
        defaults = t.get(DEFAULTS) if type(t) is Tangent else None
        if defaults is not None and (_moving(defaults[0]) or _moving(tuple(defaults[1].values()))):
            raise forward_error(
                f"pass a local function whose default values carry tangents to {_name(f)}",
                "forward mode follows this callee by its reverse rule, which does not see defaults",
                "Pass those values as arguments, or read them in the function's body.",
            )
        if type(t) is Tangent:
            return Tangent(t.primal_type, {k: _settled_tree(f, v) for k, v in t.items()})
    return t


def _name(f):
    return getattr(f, "__qualname__", None) or getattr(f, "__name__", None) or repr(f)


# ---------------------------------------------------------------------------------------------------------
# constructors run by generated code: Base.__init__(self, ...) and super().__init__(...) in an __init__


def init_into_jvp(args, targs, kwargs, tkwargs):
    """``init`` run on the fresh object being constructed: its JVP, writing fields into the object's
    Tangent (see _construct_jvp)."""
    init, obj, rest = args[0], args[1], tuple(args[2:])
    if type(init) is not FunctionType:
        if _moving(targs[2:]) or (tkwargs and _moving(tkwargs.values())):
            raise forward_error(
                f"follow {getattr(init, '__qualname__', init)!s}(self, ...)",
                "it is not Python code, and values with tangents are passed to it",
            )
        return init_into(init, obj, *rest, **kwargs), targs[1]
    targs = (targs[1],) + tuple(targs[2:])
    return _python_jvp(init, None, (obj,) + rest, targs, kwargs, tkwargs or {}, constructor=True)


runs_without_tangents(init_into)(init_into_jvp)  # its plain call leaves a Python ``init`` unrun


# ---------------------------------------------------------------------------------------------------------
# forward over reverse: generated reverse code dispatches through runtime.call and call_masked to forward
# functions and rules' adapters; forward mode follows the callee directly, not the dispatch's own code


def call_jvp(args, targs, kwargs, tkwargs):
    """``call(f, *args)`` runs ``resolve(f)(f, *args)`` (keywords and defaults bind first: its own code)."""
    f = args[0]
    if type(f) is FunctionType and (kwargs or f.__defaults__ is not None):
        return _python_jvp(call, None, args, targs, kwargs, tkwargs)
    return jvp_call(resolve(f), None, args, targs, kwargs, tkwargs)


def call_masked_jvp(args, targs, kwargs, tkwargs):
    """``call_masked(mask, f, *args)`` of a Python function runs ``resolve_masked(f, mask)(f, *args)``."""
    mask, f = args[0], args[1]
    if type(f) is FunctionType and not kwargs and f.__defaults__ is None:
        return jvp_call(resolve_masked(f, mask), None, args[1:], targs[1:], kwargs, tkwargs)
    return _python_jvp(call_masked, None, args, targs, kwargs, tkwargs)


call_jvp.takes_keywords = call_masked_jvp.takes_keywords = True
registry.forward_rule(call)(call_jvp)
registry.forward_rule(call_masked)(call_masked_jvp)


def _along(pb, tfirst, targs, kwargs, tkwargs):
    """``u -> <pb(u), tangents>``: linear in ``u``, so its gradient is the Jacobian-vector product.
    ``pb(u)`` gives the callee's (or receiver's) cotangent, then one per argument, then keyword ones."""
    n = len(targs)

    def along(u):
        g = pb(u)
        total = _dot(g[0], tfirst) + _dot_all(g[1 : n + 1], targs)
        if kwargs and len(g) > n + 1 and isinstance(g[-1], dict):
            total = total + _dot_all(
                tuple(g[-1].get(k) for k in tkwargs), tuple(tkwargs.get(k) for k in tkwargs)
            )
        return total

    return along


def _transpose(along, y):
    if not _numeric_tree(y):
        raise FluxpyError(
            f"forward mode cannot carry a tangent through a call that returns a {type(y).__name__} "
            "(only numbers, arrays and tuples/lists of them are transposed); use reverse mode "
            "(fx.gradient, fx.jacobian) for this function"
        )
    _, pb = call(along, _zero_like(y))
    ty = pb(1.0)[1]
    return ty


def _numeric_tree(y):
    if isinstance(y, (tuple, list)):
        return all(_numeric_tree(v) for v in y)
    if isinstance(y, (Tangent, dict)):  # cotangent-building helpers, differentiated in forward-over-reverse
        return all(_numeric_tree(v) for v in y.values())
    # leaves that cannot carry a tangent (strings, plain functions, None) take None
    return is_array(y) or isinstance(y, (int, float, complex, np.generic)) or not is_differentiable(y)


def _zero_like(y):
    if is_array(y):
        return xp_of(y).zeros(y.shape, dtype=y.dtype if y.dtype.kind in "fc" else float)
    if isinstance(y, tuple):
        return tuple(_zero_like(v) for v in y)
    if isinstance(y, list):
        return [_zero_like(v) for v in y]
    if isinstance(y, Tangent):
        return Tangent(y.primal_type, {k: _zero_like(v) for k, v in y.items()})
    if isinstance(y, dict):
        return type(y)({k: _zero_like(v) for k, v in y.items()})
    if isinstance(y, complex):
        return 0j
    if isinstance(y, (int, float)) or hasattr(y, "dtype"):
        return 0.0
    return None


def _dot_all(gs, ts):
    total = 0.0
    for g, t in zip(gs, ts, strict=False):
        total = total + _dot(g, t)
    return total


def _dot(g, t):
    """``<g, t>`` for matching cotangent and tangent structures (None is zero); differentiable."""
    if g is None or t is None:
        return 0.0
    if isinstance(g, (tuple, list)):
        return _dot_all(g, t)
    if isinstance(g, dict):
        return (
            _dot_all(tuple(g.get(k) for k in t), tuple(t.get(k) for k in t)) if isinstance(t, dict) else 0.0
        )
    if isinstance(g, Tangent):
        if not isinstance(t, Tangent):
            return 0.0
        return _dot_all(tuple(g.get(k) for k in t), tuple(t.get(k) for k in t))
    if is_array(g) and isinstance(t, (tuple, list)):  # a list's tangent, an array's cotangent (np.sum(list))
        return _dot_all([g[i] for i in range(len(t))], t)
    if is_array(g) or is_array(t):  # complex: <g, t> = sum(conj(g) t)
        return xp_of(g, t).sum(conj(g) * t)
    return conj(g) * t


def _holds_sequence(args):
    for a in args:
        if type(a) is list or type(a) is tuple:
            return True
    return False


def _moving(ts):
    """Whether any of the tangents ``ts`` is not zero: None, and a tuple of zeros (``(2, 2)``'s ``(None,
    None)``), are zero (a list's tangent is not: in-place changes may fill it)."""
    for t in ts:
        if t is not None and not (type(t) is tuple and not _moving(t)):
            return True
    return False


def _hashable(f):
    try:
        hash(f)
        return True
    except TypeError:
        return False


def jvp_unpack(x, tx, n):
    """``unpack(x, n)`` and its tangent in JVP code: a tuple of ``n`` (and its tuple tangent) as it is."""
    if type(x) is tuple and len(x) == n and (tx is None or (type(tx) is tuple and len(tx) == n)):
        return x, tx
    return jvp_call(unpack, None, (x, n), (tx, None), {}, {})


def jvp_getitem(x, tx, index):
    """``x[index]`` and its tangent in JVP code: tuples directly (the index has no tangent to follow)."""
    if type(x) is tuple and (tx is None or type(tx) is tuple):
        return x[index], None if tx is None else tx[index]
    return jvp_call(operator.getitem, None, (x, index), (tx, None), {}, {})


def jvp_binary(op, a, ta, b, tb):
    """``op(a, b)`` and its tangent in JVP code, for an arithmetic operator: its forward rule directly."""
    if ta is None and tb is None:
        return op(a, b), None
    fast = registry.lookup_forward(op)
    if fast is None or getattr(fast, "takes_keywords", False):
        return jvp_call(op, None, (a, b), (ta, tb), {}, {})
    return fast((a, b), (ta, tb))


def tangent_item(tkw, name):
    """The tangent of keyword argument ``name`` (None when absent)."""
    return tkw.get(name) if tkw else None


def or_empty(d):
    return d if d is not None else {}


registry.nograd(_holds_sequence, _moving, _hashable, _zero_like, _numeric_tree, _transform_cache)
