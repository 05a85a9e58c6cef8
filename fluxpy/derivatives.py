"""Jacobians and Hessians, built on ``pullback`` (one reverse pass per output element).

>>> import numpy as np, fluxpy as fx
>>> fx.jacobian(lambda x: x**2, np.array([1.0, 2.0]))[0]
array([[2., 0.],
       [0., 4.]])
>>> fx.hessian(lambda x: x**3, 2.0)
12.0
"""

import numbers
import types

import numpy as np

from . import functors
from .backend import is_array, xp_of
from .errors import FluxpyError
from .interface import gradient, pullback
from .tangents import Tangent, project


def jacobian(f, /, *args, **kwargs):
    """One Jacobian per positional argument, each of shape ``y.shape + x.shape`` (zeros where no gradient).

    Computed with one reverse pass per element of the output ``y = f(*args)``.
    """
    if not kwargs and _input_size(args) < _output_size(f, args):
        return _forward_jacobian(f, args)
    y, back = pullback(f, *args, **kwargs)
    xp = xp_of(y, *args)
    y_arr = xp.asarray(y)
    out_shape = y_arr.shape
    dtype = _float_dtype(y_arr)
    rows = [[] for _ in args]
    for k in range(y_arr.size):
        seed = xp.zeros(y_arr.size, dtype=dtype)
        seed[k] = 1
        seed = seed.reshape(out_shape)
        grads = back(seed if is_array(y) else seed[()].item())
        for i, (g, x) in enumerate(zip(grads, args, strict=True)):
            rows[i].append(_dense(g, x, xp))
    return tuple(_stack(r, out_shape, x, xp) for r, x in zip(rows, args, strict=True))


def hessian(f, x, **kwargs):
    """The Hessian of the real-scalar ``f`` at ``x``: shape ``x.shape + x.shape``, a float for a scalar ``x``.

    Forward over reverse: one Jacobian-vector product of ``gradient`` per element of ``x``.
    """
    if not is_array(x):
        return float(np.asarray(hvp(f, x, 1.0, **kwargs)))
    xp = xp_of(x)
    columns = []
    for k in range(x.size):
        e = xp.zeros(x.size, dtype=_float_dtype(x))
        e[k] = 1
        columns.append(xp.asarray(hvp(f, x, e.reshape(x.shape), **kwargs)).reshape(x.shape))
    return xp.stack(columns, axis=-1).reshape(x.shape + x.shape)


def hvp(f, x, v, **kwargs):
    """The Hessian-vector product ``H(x) @ v`` of the real-scalar ``f``, without forming ``H``.

    >>> import numpy as np, fluxpy as fx
    >>> fx.hvp(lambda x: np.sum(x**3), np.array([1.0, 2.0]), np.array([1.0, 0.0]))
    array([6., 0.])
    """
    return jvp(lambda t: gradient(f, t, **kwargs)[0], (x,), (v,))[1]


def jvp(f, primals, tangents):
    """``(y, dy)``: ``f(*primals)`` and its directional derivative along ``tangents`` (a Jacobian-vector
    product), by forward mode: a source transformation with one tangent statement per statement.
    ``primals`` and ``tangents`` are tuples of the same length.

    >>> import numpy as np, fluxpy as fx
    >>> fx.jvp(lambda x: x**3, (2.0,), (1.0,))
    (8.0, 12.0)
    >>> fx.jvp(lambda x, y: x * y, (np.array([1.0, 2.0]), 3.0), (np.array([1.0, 0.0]), 0.5))
    (array([3., 6.]), array([3.5, 1. ]))
    """
    from .forward import _zero_like, jvp_call

    primals, tangents = tuple(primals), tuple(tangents)
    if len(primals) != len(tangents):
        raise ValueError("jvp: primals and tangents must have the same length")
    tangents = tuple(_as_tangent(t, p) for t, p in zip(tangents, primals, strict=True))
    y, dy = jvp_call(f, None, primals, tangents, {}, {})
    if dy is None:
        dy = _zero_like(y)
    return y, project(dy, y)


def _as_tangent(t, p, in_object=False):
    """The tangent ``t`` of the primal ``p`` as forward mode reads it. For an object (a layer, a model), an
    ``fx.Tangent`` is read as it is; an object of the same type (what ``fx.fmap`` builds: the same structure,
    as JAX's tangents) or a dict of its fields becomes an ``fx.Tangent`` of those fields. Inside an object,
    leaves that are no direction (functions, strings, flags, numbers left equal to the primal's, as
    ``fx.fmap`` maps arrays only) get none. Anything else for an object raises a ``FluxpyError``: never a
    silent zero."""
    if t is None or isinstance(t, Tangent):
        return t
    if is_array(t) or isinstance(t, (numbers.Number, np.generic)):
        if _has_fields(p) and not is_array(p):
            raise _tangent_error(t, p)
        if in_object and not is_array(t) and _unmapped_number(t, p):
            return None
        return t
    if isinstance(t, (str, bytes)) and in_object:
        return None
    if isinstance(t, (tuple, list)):
        if not isinstance(p, (tuple, list)) or len(t) != len(p):
            return t
        items = [_as_tangent(a, b, in_object) for a, b in zip(t, p, strict=True)]
        return type(t)(*items) if hasattr(type(t), "_fields") else type(t)(items)
    if isinstance(t, dict):
        if isinstance(p, dict):
            return {k: _as_tangent(v, p[k], in_object) if k in p else v for k, v in t.items()}
        if not _has_fields(p):
            return t
        fields = _fields_of(p)
        unknown = [k for k in t if k not in fields]
        if unknown:
            raise FluxpyError(
                f"jvp: the tangent dict for a {type(p).__name__} names {unknown}, which are not its fields "
                f"({list(fields)})"
            )
        return Tangent(type(p), {k: _as_tangent(v, fields[k], True) for k, v in t.items()})
    if type(t) is type(p) and _has_fields(p):
        return Tangent(
            type(p), {k: _as_tangent(getattr(t, k, None), v, True) for k, v in _fields_of(p).items()}
        )
    if t is p:  # a function, a string: no direction
        return None
    raise _tangent_error(t, p)


def _unmapped_number(t, p):
    """A number in an object's tangent that is no direction: a flag, or one left equal to the primal's."""
    if isinstance(t, (bool, np.bool_)) or isinstance(p, (bool, np.bool_)):
        return True
    return not isinstance(p, (numbers.Number, np.generic)) or t == p


def _tangent_error(t, p):
    name = type(p).__name__
    return FluxpyError(
        f"jvp: the tangent of a {name} primal is a {type(t).__name__}; give an fx.Tangent({name}, "
        "{field: direction}), an object of the same type (as fx.fmap builds) or a dict of its fields"
    )


_NO_FIELDS = (type, types.ModuleType, types.FunctionType, types.BuiltinFunctionType, types.MethodType)


def _has_fields(p):
    if functors.is_functor(p):
        return True
    if isinstance(p, _NO_FIELDS):
        return False
    return isinstance(getattr(p, "__dict__", None), dict)


def _fields_of(p):
    return functors.children(p) if functors.is_functor(p) else dict(vars(p))


def _input_size(args):
    return sum(int(np.size(a)) for a in args)


def _output_size(f, args):
    return int(np.size(f(*args)))


def _forward_jacobian(f, args):
    """Jacobians by forward passes: one JVP per input element (fewer inputs than outputs)."""
    out = []
    for i, x in enumerate(args):
        if _has_fields(x) and not is_array(x):
            raise FluxpyError(
                f"jacobian takes arrays and numbers, not a {type(x).__name__}: for a model, differentiate "
                "with respect to its arrays (pass them as arguments), or use pullback/jvp"
            )
        xp = xp_of(x)
        columns = []
        y = None
        for k in range(int(np.size(x))):
            e = xp.zeros(int(np.size(x)), dtype=float)
            e[k] = 1
            tangent = e.reshape(np.shape(x)) if is_array(x) else 1.0
            tangents = tuple(tangent if j == i else _zero_tangent(a) for j, a in enumerate(args))
            y, dy = jvp(f, args, tangents)
            columns.append(xp.asarray(dy, dtype=float))
        shape = np.shape(y) if y is not None else ()
        stacked = xp.stack(columns, axis=-1) if columns else xp.zeros(shape + (0,))
        out.append(stacked.reshape(tuple(shape) + np.shape(x)))
    return tuple(out)


def _zero_tangent(a):
    if is_array(a):
        return xp_of(a).zeros(np.shape(a))
    return 0.0 if isinstance(a, (numbers.Number, np.generic)) else None


def _float_dtype(a):
    return a.dtype if a.dtype.kind in "fc" else np.float64


def _dense(g, x, xp):
    shape = np.shape(x)
    if g is None:
        return xp.zeros(shape)
    return xp.asarray(g, dtype=float).reshape(shape)


def _stack(rows, out_shape, x, xp):
    shape = np.shape(x)
    return xp.stack(rows).reshape(out_shape + shape) if rows else xp.zeros(out_shape + shape)
