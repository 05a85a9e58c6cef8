"""Checking derivatives against central finite differences (float64).

``check_grads(f, *args, order=2)`` compares reverse-mode vector-Jacobian products with central finite
differences along random directions, for every differentiable argument, and at ``order=2`` also the
derivative of the gradient (gradient of gradient) against finite differences of the gradient.

>>> import numpy as np
>>> check_grads(np.sin, np.array([0.1, 0.2]), order=1)
"""

import numpy as np

from .backend import is_array, to_numpy, xp_of
from .interface import pullback
from .layers.normalise import TRAINING_ANSWERS
from .tangents import Tangent

EPS = 1e-6


def check_grads(f, *args, order=2, eps=EPS, rtol=1e-5, atol=1e-6, seed=0, forward=False, **kwargs):
    """Raise ``AssertionError`` unless reverse derivatives of ``f`` up to ``order`` match finite differences.

    Only float arguments (numbers and float arrays) are perturbed; others are passed through. Keyword
    arguments are passed to ``f`` and not differentiated. ``forward=True`` also checks forward mode
    (``fx.jvp``) along a random direction. A function that asks ``fx.istraining()`` (a model with an
    automatic-mode BatchNorm) is evaluated as it is differentiated, in training mode, where its plain calls
    would differ.
    """
    rng = np.random.default_rng(seed)
    _check_first(f, args, kwargs, eps, rtol, atol, rng)
    if forward and not kwargs:
        _check_forward(f, args, eps, rtol, atol, rng)
    if order >= 2:
        _check_second(f, args, kwargs, eps, rtol, atol, rng)


def _float_positions(args):
    return [i for i, a in enumerate(args) if _is_float(a)]


def _is_float(a):
    if isinstance(a, float) and not isinstance(a, bool):
        return True
    if is_array(a) or isinstance(a, np.generic):
        return a.dtype.kind == "f"
    return False


def _random_like(x, rng):
    """A random direction like ``x``: drawn on the host, then in ``x``'s array module (NumPy or CuPy)."""
    if is_array(x) or isinstance(x, np.generic):
        out = rng.standard_normal(np.shape(x))
        return xp_of(x).asarray(out.astype(x.dtype)) if is_array(x) else x.dtype.type(out)
    return float(rng.standard_normal())


def _perturb(args, i, direction, h):
    args = list(args)
    x = args[i]
    if is_array(x):
        args[i] = (x + h * direction).reshape(x.shape)  # keeps 0-d arrays as arrays
    else:
        args[i] = type(x)(x + h * direction)
    return tuple(args)


def _inner(a, b):
    """Sum of elementwise products of two cotangents (None is zero), as a float."""
    if a is None or b is None:
        return 0.0
    if isinstance(a, (tuple, list)):
        return sum(_inner(x, y) for x, y in zip(a, b, strict=True))
    if isinstance(a, dict):
        return sum(_inner(a[k], b.get(k)) for k in a)
    if isinstance(a, Tangent):
        return sum(_inner(a[k], getattr(b, k, None)) for k in a)
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


def _check_forward(f, args, eps, rtol, atol, rng):
    from .derivatives import jvp

    positions = _float_positions(args)
    tangents = tuple(_random_like(a, rng) if i in positions else None for i, a in enumerate(args))
    answers = TRAINING_ANSWERS[0]
    y, dy = jvp(f, args, tangents)
    f = _differentiated_values(f, args, {}, y, answers)
    plus, minus = args, args
    for i in positions:
        plus = _perturb(plus, i, tangents[i], eps)
        minus = _perturb(minus, i, tangents[i], -eps)
    probe = _random_cotangent(y, rng)
    fd = (_inner(probe, _as_float64(f(*plus))) - _inner(probe, _as_float64(f(*minus)))) / (2 * eps)
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
    """Differentiable inner product used by the second-order check."""
    if g is None:
        return 0.0
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


def _assert_close(rev, fd, rtol, atol, what):
    if not np.isclose(rev, fd, rtol=rtol, atol=atol):
        raise AssertionError(f"{what}: reverse mode gives {rev!r}, finite differences give {fd!r}")
