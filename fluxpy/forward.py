"""Forward-mode dispatch: every call in JVP code goes through :func:`jvp_call` or :func:`jvp_method`.

``jvp_call(f, tf, args, targs, kwargs, tkwargs) -> (y, ty)``. Python functions run their generated JVP
code (one tangent statement per statement: control flow needs no tape). Any other callee -- a rule, a
class, a C function -- gets its tangent by transposing its pullback, the reverse rule
(``J v`` is the gradient of ``<back(u), v>`` with respect to ``u``), unless a forward rule is registered
(``registry.forward_rule``: the hot elementwise operations, in rules/forward.py).
"""

from types import FunctionType, MethodType

import numpy as np

from .backend import is_array, xp_of
from .errors import FluxpyError
from .rules import registry
from .runtime import call, keyword_layout
from .tangents import Tangent


def jvp_call(f, tf, args, targs, kwargs, tkwargs):
    """``(f(*args, **kwargs), its tangent)`` from the tangents of ``f`` (its closure) and the arguments."""
    if type(f) is FunctionType and registry.lookup(f) is None and not registry.is_nondiff(f):
        return _python_jvp(f, tf, args, targs, kwargs, tkwargs)
    if tf is None and not _moving(targs) and not _moving(tuple(tkwargs.values())):
        return f(*args, **kwargs), None
    fast = registry.lookup_forward(f)
    if fast is not None and not kwargs:
        return fast(args, targs)
    if registry.is_nondiff(f) if _hashable(f) else False:
        return f(*args, **kwargs), None
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


def jvp_method(obj, tobj, name, args, targs, kwargs, tkwargs):
    """``obj.name(*args, **kwargs)`` and its tangent."""
    from .runtime import class_function, method_kind

    kind = method_kind(obj, name)
    if kind == "method":
        func = class_function(obj, name)
        return jvp_call(func, None, (obj,) + tuple(args), (tobj,) + tuple(targs), kwargs, tkwargs)
    if kind in ("array", "container", "super", "replace", "mutation"):
        return derived_method_jvp(obj, tobj, name, args, targs, kwargs, tkwargs)
    attr = getattr(obj, name)
    tattr = tobj.get(name) if isinstance(tobj, Tangent) else None
    return jvp_call(attr, tattr, args, targs, kwargs, tkwargs)


def _python_jvp(f, tf, args, targs, kwargs, tkwargs, constructor=False):
    from .transform.cache import forward_function

    code = f.__code__
    if kwargs:
        layout, names = keyword_layout(f, len(args), kwargs)
        args = tuple(args) + tuple(kwargs[v] if kind == "keyword" else v for kind, v in layout)
        targs = tuple(targs) + tuple(tkwargs.get(v) if kind == "keyword" else None for kind, v in layout)
        kwargs = {k: v for k, v in kwargs.items() if k not in names}
        tkwargs = {k: v for k, v in tkwargs.items() if k not in names}
    if len(targs) < code.co_argcount:
        targs = tuple(targs) + (None,) * (code.co_argcount - len(targs))
    forward = forward_function(f, constructor=constructor, mode="jvp")
    return forward(f, tf, tuple(targs), tkwargs, *args, **kwargs)


def derived_jvp(f, tf, args, targs, kwargs, tkwargs):
    """The tangent of any callee by transposing its pullback (reverse mode's rule)."""
    y, pb = call(f, *args, **kwargs)
    return y, _transpose(_along(pb, tf, targs, kwargs, tkwargs), y)


def derived_method_jvp(obj, tobj, name, args, targs, kwargs, tkwargs):
    """The tangent of an array or container method call by transposing its pullback."""
    from .runtime import call_method

    y, pb = call_method(obj, name, *args, **kwargs)
    return y, _transpose(_along(pb, tobj, targs, kwargs, tkwargs), y)


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
    return y is None or is_array(y) or isinstance(y, (int, float, complex, np.generic))


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
    if is_array(g) or is_array(t):
        return xp_of(g, t).sum(g * t)
    return g * t


def _moving(ts):
    return any(t is not None for t in ts)


def _hashable(f):
    try:
        hash(f)
        return True
    except TypeError:
        return False


def tangent_item(tkw, name):
    """The tangent of keyword argument ``name`` (None when absent)."""
    return tkw.get(name) if tkw else None


def or_empty(d):
    return d if d is not None else {}


registry.nograd(_moving, _hashable, _zero_like, _numeric_tree)
