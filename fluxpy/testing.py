"""Checking derivatives against central finite differences (float64).

``check_grads(f, *args, order=2)`` compares reverse-mode vector-Jacobian products with central finite
differences along random directions, for every differentiable argument, forward-mode Jacobian-vector
products (``fx.jvp``) likewise (``forward=False`` skips them), and at ``order=2`` also the derivative of the
gradient (gradient of gradient) against finite differences of the gradient.

>>> import numpy as np
>>> check_grads(np.sin, np.array([0.1, 0.2]), order=1)
"""

import copy
import dataclasses

import numpy as np

from . import functors
from .backend import is_array, to_numpy, xp_of
from .interface import pullback
from .layers.normalise import TRAINING_ANSWERS
from .tangents import Tangent

EPS = 1e-6


def check_grads(f, *args, order=2, eps=EPS, rtol=1e-5, atol=1e-6, seed=0, forward=True, **kwargs):
    """Raise ``AssertionError`` unless reverse (and forward) derivatives of ``f`` up to ``order`` match finite
    differences.

    The float values of the arguments are perturbed: numbers, float arrays, and those inside dicts, lists,
    tuples (namedtuples too) and the fields of models and dataclasses; others are passed through. Finite
    differences run in float64 (a float32 value is perturbed as float64, and the comparison then allows
    float32's rounding). Keyword arguments are passed to ``f`` and not differentiated. Forward mode
    (``fx.jvp``) is checked too, along a random direction, keywords bound; ``forward=False`` checks reverse
    mode only. Each comparison is of derivatives projected on random directions (a number each), as the
    message says. A function that asks ``fx.istraining()`` (a model with an automatic-mode BatchNorm) is
    evaluated as it is differentiated, in training mode, where its plain calls would differ.

    >>> check_grads(lambda p: np.sum(p["w"] ** 2) * p["s"], {"w": np.array([1.0, 2.0]), "s": 3.0})
    """
    rng = np.random.default_rng(seed)
    if _has_low_precision(args):
        rtol, atol = max(rtol, 2e-3), max(atol, 1e-4)
    _check_first(f, args, kwargs, eps, rtol, atol, rng)
    if forward:
        _check_forward(f, args, kwargs, eps, rtol, atol, rng)
    if order >= 2:
        _check_second(f, args, kwargs, eps, rtol, atol, rng)


def _float_positions(args):
    """The arguments holding float values somewhere."""
    return [i for i, a in enumerate(args) if _holds_float(a)]


def _is_float(a):
    if isinstance(a, float) and not isinstance(a, bool):
        return True
    if is_array(a) or isinstance(a, np.generic):
        return a.dtype.kind == "f"
    return False


def _fields(x):
    """The fields of a model (a functor) or dataclass, whose float values are perturbed; None for others."""
    if functors.is_functor(x) or dataclasses.is_dataclass(x) and not isinstance(x, type):
        return functors.fields_of(x)
    return None


def _holds_float(x, seen=None):
    if _is_float(x):
        return True
    seen = set() if seen is None else seen
    if id(x) in seen:
        return False
    seen.add(id(x))
    if isinstance(x, dict):
        return any(_holds_float(v, seen) for v in x.values())
    if isinstance(x, (list, tuple)):
        return any(_holds_float(v, seen) for v in x)
    fields = _fields(x)
    return fields is not None and any(_holds_float(v, seen) for v in fields.values())


def _has_low_precision(args):
    def low(x):
        if _is_float(x):
            return not isinstance(x, float) and x.dtype.itemsize < 8
        if isinstance(x, dict):
            return any(low(v) for v in x.values())
        if isinstance(x, (list, tuple)):
            return any(low(v) for v in x)
        fields = _fields(x)
        return fields is not None and any(low(v) for v in fields.values())

    return any(low(a) for a in args)


def _random_like(x, rng):
    """A random direction like ``x``: drawn on the host, then in ``x``'s array module (NumPy or CuPy).
    For a container or model: the same structure, with a direction for each float value (None elsewhere;
    a model's is a :class:`Tangent`, or a dict with ``as_dict``)."""
    if _is_float(x):
        if is_array(x) or isinstance(x, np.generic):
            out = rng.standard_normal(np.shape(x))
            return xp_of(x).asarray(out.astype(x.dtype)) if is_array(x) else x.dtype.type(out)
        return float(rng.standard_normal())
    return _random_tree(x, rng, False)


def _random_tree(x, rng, as_dict):
    if _is_float(x):
        return _random_like(x, rng)
    if not _holds_float(x):
        return None
    if isinstance(x, dict):
        return {k: _random_tree(v, rng, as_dict) for k, v in x.items()}
    if isinstance(x, (list, tuple)):
        items = [_random_tree(v, rng, as_dict) for v in x]
        return items if isinstance(x, list) else tuple(items)
    fields = {k: _random_tree(v, rng, as_dict) for k, v in _fields(x).items()}
    return fields if as_dict else Tangent(x, fields)


def _perturb(args, i, direction, h):
    """``args`` with argument ``i`` moved by ``h * direction``, every float value in float64 (the others too:
    a float32 array beside a float64 argument would round the step away in their products)."""
    return tuple(
        _shifted(a, direction, h) if j == i else _shifted(a, _PROMOTE, 0.0) for j, a in enumerate(args)
    )


_PROMOTE = object()  # _shifted's direction meaning "no step, float values in float64"


def _shifted(x, d, h):
    """``x + h * d`` in float64, value by value (containers and models rebuilt; ``x`` is not changed)."""
    if d is None or (d is _PROMOTE and not _holds_float(x)):
        return x
    if _is_float(x):
        if d is _PROMOTE:
            return x.astype(np.float64) if is_array(x) else np.float64(x) if isinstance(x, np.generic) else x
        if is_array(x):
            out = x.astype(np.float64, copy=True)  # a new array of its own, never a view: a function's
            out += h * d  # `x -= ...` on it writes into nothing else (and a 0-d array stays an array)
            return out
        return np.float64(x) + h * float(d) if isinstance(x, np.generic) else float(x + h * d)

    def part(parts, key):
        return _PROMOTE if d is _PROMOTE else parts[key] if isinstance(key, int) else parts.get(key)

    if isinstance(x, dict):
        out = dict(x) if type(x) is dict else copy.copy(x)  # a defaultdict keeps its default_factory
        for k in x:
            out[k] = _shifted(x[k], part(d, k), h)
        return out
    if isinstance(x, (list, tuple)):
        items = [_shifted(v, part(d, j), h) for j, v in enumerate(x)]
        if isinstance(x, list):
            return items
        return type(x)(*items) if hasattr(x, "_fields") else type(x)(items)
    out = copy.copy(x)
    for k, v in _fields(x).items():
        object.__setattr__(out, k, _shifted(v, part(d, k), h))
    return out


def _inner(a, b):
    """Sum of elementwise products of two cotangents (None is zero), as a float."""
    if a is None or b is None:
        return 0.0
    if isinstance(a, (tuple, list)):
        return sum(_inner(x, y) for x, y in zip(a, b, strict=True))
    if isinstance(a, (dict, Tangent)):
        return sum(_inner(a[k], b.get(k)) for k in a)
    return float(np.sum(to_numpy(a) * to_numpy(b)).real)


def _as_float64(y):
    if isinstance(y, (tuple, list)):
        return tuple(_as_float64(v) for v in y)
    if is_array(y):
        return to_numpy(y).astype(np.float64)
    return y


def _differentiated_values(f, args, kwargs, y, answers):
    """The function finite differences evaluate: ``f`` itself, or ``f`` as differentiated when it asked
    ``fx.istraining()`` there (``answers``: the count of True answers before) and its value ``y`` is not the
    value of a plain call (an automatic-mode BatchNorm uses batch statistics where it is differentiated,
    running statistics in a plain call)."""
    if TRAINING_ANSWERS[0] == answers or _same_values(_as_float64(f(*args, **kwargs)), _as_float64(y)):
        return f

    def as_differentiated(*xs, **kws):
        return pullback(f, *xs, **kws)[0]

    return as_differentiated


def _same_values(a, b):
    if isinstance(a, (tuple, list)) and isinstance(b, (tuple, list)):
        return len(a) == len(b) and all(_same_values(u, v) for u, v in zip(a, b, strict=True))
    try:
        return bool(np.allclose(to_numpy(a), to_numpy(b), rtol=1e-6, atol=1e-9, equal_nan=True))
    except (TypeError, ValueError):
        return True  # values finite differences do not read


def _check_first(f, args, kwargs, eps, rtol, atol, rng):
    answers = TRAINING_ANSWERS[0]
    y, back = pullback(f, *args, **kwargs)
    dy = _random_cotangent(y, rng)
    grads = back(dy)
    f = _differentiated_values(f, args, kwargs, y, answers)
    for i in _float_positions(args):
        direction = _random_like(args[i], rng)
        y_plus = f(*_perturb(args, i, direction, eps), **kwargs)
        y_minus = f(*_perturb(args, i, direction, -eps), **kwargs)
        fd = (_inner(dy, _as_float64(y_plus)) - _inner(dy, _as_float64(y_minus))) / (2 * eps)
        rev = _inner(grads[i], direction)
        _assert_close(rev, fd, rtol, atol, f"first derivative wrt argument {i}")


def _check_forward(f, args, kwargs, eps, rtol, atol, rng):
    from .derivatives import jvp

    positions = _float_positions(args)
    tangents = tuple(_random_tree(a, rng, True) if i in positions else None for i, a in enumerate(args))
    answers = TRAINING_ANSWERS[0]
    y, dy = jvp(_with_keywords(f, kwargs), args, tangents)
    f = _differentiated_values(f, args, kwargs, y, answers)
    plus, minus = args, args
    for i in positions:
        plus = _perturb(plus, i, tangents[i], eps)
        minus = _perturb(minus, i, tangents[i], -eps)
    probe = _random_cotangent(y, rng)
    fd = (
        _inner(probe, _as_float64(f(*plus, **kwargs))) - _inner(probe, _as_float64(f(*minus, **kwargs)))
    ) / (2 * eps)
    _assert_close(_inner(probe, dy), fd, rtol, atol, "forward mode (jvp)")


def _check_second(f, args, kwargs, eps, rtol, atol, rng):
    """d/dx <v, grad f(x)> by reverse-over-reverse vs finite differences of the gradient."""
    y, back = pullback(f, *args, **kwargs)
    dy = _random_cotangent(y, rng)
    positions = _float_positions(args)

    def vjp_dot(*xs):
        _, b = pullback(f, *xs, **kwargs)
        g = b(dy)
        total = 0.0
        for j in positions:
            total = total + _dot(g[j], directions[j])
        return total

    directions = {j: _random_like(args[j], rng) for j in positions}
    second = pullback(vjp_dot, *args)[1](1.0)
    for i in positions:
        d = _random_like(args[i], rng)
        plus = vjp_dot(*_perturb(args, i, d, eps))
        minus = vjp_dot(*_perturb(args, i, d, -eps))
        fd = (float(plus) - float(minus)) / (2 * eps)
        _assert_close(_inner(second[i], d), fd, rtol * 10, atol * 10, f"second derivative wrt argument {i}")


def _dot(g, d):
    """Differentiable inner product used by the second-order check (``d``: a direction from _random_like)."""
    if g is None or d is None:
        return 0.0
    if isinstance(d, (list, tuple)):
        total = 0.0
        for i in range(len(d)):
            total = total + _dot(g[i], d[i])
        return total
    if isinstance(d, (dict, Tangent)):
        total = 0.0
        for k in d:
            total = total + _dot(g.get(k), d[k])
        return total
    return np.sum(g * d)


def _random_cotangent(y, rng):
    if isinstance(y, (tuple, list)):
        items = [_random_cotangent(v, rng) for v in y]
        return items if type(y) is list else tuple(items)
    if is_array(y) or isinstance(y, np.generic):
        if y.dtype.kind not in "fc":
            return None
        return _random_like(y, rng)
    if isinstance(y, float):
        return float(rng.standard_normal())
    return None


def _with_keywords(f, kwargs):
    """``f`` with ``kwargs`` bound (fx.jvp passes positional arguments only)."""
    if not kwargs:
        return f
    return lambda *args: f(*args, **kwargs)


def _assert_close(derivative, fd, rtol, atol, what):
    if not np.isclose(derivative, fd, rtol=rtol, atol=atol):
        mode = "forward mode" if what.startswith("forward") else "reverse mode"
        raise AssertionError(
            f"{what}: {mode} gives {derivative!r}, finite differences give {fd!r} (both projected on "
            "random directions: one number each)"
        )
