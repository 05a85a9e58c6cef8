"""Forward over reverse (the JVP of ``fx.gradient``: ``fx.hvp``, ``fx.hessian``) over the rule tables, against
central differences of the reverse-mode gradient. Forward mode runs every rule's reverse code and pullback
here (or its forward rule over reverse, fluxpy/rules/forward_over_reverse.py), so each row checks those too."""

import functools
import math

import numpy as np
import pytest

import fluxpy as fx
from fluxpy.backend import is_array

from . import test_forward
from .rules import (
    test_math,
    test_numpy_elementwise,
    test_numpy_linalg,
    test_numpy_reductions,
    test_numpy_shape,
    test_python,
)

EPS = 1e-6


def _rows():
    rows = []
    for module, table in [
        (test_numpy_elementwise, test_numpy_elementwise.ROWS),
        (test_numpy_reductions, test_numpy_reductions.CASES),
        (test_numpy_shape, test_numpy_shape.CASES),
    ]:
        for row in table:
            rows.append(pytest.param(*row.values[:3], id=f"{module.__name__.split('.')[-1][5:]}-{row.id}"))
    for row in test_math.ROWS:
        values = row.values if hasattr(row, "values") else row
        name = getattr(row, "id", None) or values[0].__name__
        rows.append(pytest.param(values[0], values[1], {}, id=f"math-{name}"))
    for case in test_numpy_linalg.CASES:
        rows.append(pytest.param(*case[1:], id=f"linalg-{case[0]}"))
    for name, primal, args in test_python.ROWS:
        rows.append(pytest.param(primal, args, {}, id=f"python-{name}"))
    return rows


def _is_float(a):
    if isinstance(a, float):
        return True
    return (is_array(a) or isinstance(a, np.generic)) and a.dtype.kind == "f"


def _random_like(x, rng):
    if is_array(x) or isinstance(x, np.generic):
        out = rng.standard_normal(np.shape(x))
        return out.astype(x.dtype) if is_array(x) else x.dtype.type(out)
    return float(rng.standard_normal())


def _inner(a, b):
    if a is None or b is None:
        return 0.0
    if isinstance(a, (tuple, list)):
        return sum(_inner(x, y) for x, y in zip(a, b, strict=True))
    return float(np.sum(np.asarray(a, dtype=np.float64) * np.asarray(b, dtype=np.float64)))


def _check_hvp(primal, args, kwargs):
    rng = np.random.default_rng(1)
    positions = [i for i, a in enumerate(args) if _is_float(a)]
    if not positions:
        pytest.skip("no float argument")
    y = primal(*args, **kwargs)
    if not _is_float(y):
        pytest.skip("not a float result")
    weights = _random_like(y, rng)

    def loss(*xs):
        full = list(args)
        for i, x in zip(positions, xs, strict=True):
            full[i] = x
        return np.sum(primal(*full, **kwargs) * weights)

    def grad(*xs):
        return fx.gradient(loss, *xs)

    xs = tuple(args[i] for i in positions)
    vs = tuple(_random_like(x, rng) for x in xs)
    g, hv = fx.jvp(grad, xs, vs)
    exact = grad(*xs)
    for a, b in zip(g, exact, strict=True):
        np.testing.assert_allclose(np.asarray(a, dtype=float), np.asarray(b, dtype=float), rtol=1e-12)
    plus = grad(*(x + EPS * v for x, v in zip(xs, vs, strict=True)))
    minus = grad(*(x - EPS * v for x, v in zip(xs, vs, strict=True)))
    probe = tuple(_random_like(x, rng) for x in xs)
    fd = (_inner(probe, plus) - _inner(probe, minus)) / (2 * EPS)
    got = _inner(probe, hv)
    assert np.isclose(got, fd, rtol=1e-4, atol=1e-5), (
        f"forward over reverse gives {got!r}, differences {fd!r}"
    )


@pytest.mark.parametrize("primal, args, kwargs", _rows())
def test_rules_forward_over_reverse(primal, args, kwargs):
    _check_hvp(primal, args, kwargs)


# user-style programs that take the rules' path rather than inlined arithmetic: loops, broadcasting,
# constant data (``x @ W`` with a captured batch: matmul's partial form), floats and arrays
_rng = np.random.default_rng(2)
X = _rng.standard_normal((5, 4))
Y = _rng.standard_normal((5, 3))


def loop_scalar(x, y):
    for _ in range(3):
        x = x * y - 0.1 * x**2 + x / (1.5 + y**2) - (-x) ** 3
        y = y + math.tanh(x) * math.sin(y) - math.exp(-x * x) * math.cos(y)
    return x * y


def loop_array(x, c):
    for _ in range(2):
        x = x * c - x**2 / 4.0 + np.tanh(x) - np.sin(x) * np.cos(c) + np.exp(-x * x) ** 3
    return np.sum(x * x)


def broadcasting(x, c):
    y = 3 * x**2 + c * x - x / (2.0 + c**2) + x**3 - (-x) ** 2 + np.mean(x * c, axis=0) ** 2
    return np.sum(y * np.sin(x**3 * c - x / c))


def mlp(W1, b1, W2):
    h = np.tanh(X @ W1 + b1)
    out = h @ W2 - Y
    return np.mean(np.sum(out**2, axis=1)) + np.sum(W1.T @ W1 @ b1**2)


def vector_products(A, v, u):
    return np.sum((A @ v) ** 2) + np.sum((u @ A) ** 3) + np.exp(np.sum(np.sin(v) * np.cos(v)))


class Affine:
    """A user class: fields written by the constructor and read by a method with a keyword."""

    def __init__(self, W, b):
        self.W = W
        self.b = b

    def __call__(self, x, scale=1.0):
        return np.tanh(x @ self.W + self.b) * scale


def keyword_sum(a, b=None, **rest):
    return np.sum(a * a) + np.sum(b * b) + sum(np.sum(v * v) for v in rest.values())


def objects_and_keywords(W, b):
    layer = Affine(W, b)
    h = layer(X, scale=2.0)
    layer.W = layer.W * h[0]  # overwritten after a read: the old value's gradient stays the old field's
    g = layer(X)
    parts = [h[0], h[1:3], g[-1]]
    return np.sum(parts[0] ** 2) + np.sum(parts[1] * parts[2]) + keyword_sum(h, b=h.T @ g, c=h[0] * b)


def layers(W):
    model = fx.Chain(fx.Dense(W, np.linspace(-0.1, 0.1, 4), fx.relu), fx.Dense(W.T * 0.5, np.ones(3)))
    return fx.losses.logitcrossentropy(model(X[:, :3]), np.eye(3)[[0, 1, 2, 0, 1]])


PROGRAMS = [
    pytest.param(loop_scalar, (0.3, 0.7), id="loop-scalar"),
    pytest.param(loop_array, (_rng.standard_normal((3, 4)), _rng.standard_normal(4)), id="loop-array"),
    pytest.param(broadcasting, (_rng.standard_normal((3, 4)), _rng.standard_normal(4)), id="broadcasting"),
    pytest.param(
        mlp,
        (
            _rng.standard_normal((4, 3)) * 0.5,
            _rng.standard_normal(3) * 0.1,
            _rng.standard_normal((3, 3)) * 0.5,
        ),
        id="mlp",
    ),
    pytest.param(objects_and_keywords, (_rng.standard_normal((4, 3)), _rng.standard_normal(3)), id="objects"),
    pytest.param(layers, (_rng.standard_normal((4, 3)),), id="layers"),
    pytest.param(
        vector_products,
        (_rng.standard_normal((3, 4)), _rng.standard_normal(4), _rng.standard_normal(3)),
        id="vector-products",
    ),
]


@pytest.mark.parametrize("f, args", PROGRAMS)
def test_programs_hvp(f, args):
    """fx.hvp of each program (one argument at a time) and fx.hessian of a float against differences."""
    rng = np.random.default_rng(3)
    for i, x in enumerate(args):

        def of_one(t, i=i):
            return f(*args[:i], t, *args[i + 1 :])

        v = _random_like(x, rng)
        hv = fx.hvp(of_one, x, v)
        (plus,) = fx.gradient(of_one, x + EPS * v)
        (minus,) = fx.gradient(of_one, x - EPS * v)
        np.testing.assert_allclose(hv, (plus - minus) / (2 * EPS), rtol=1e-5, atol=1e-6)


@pytest.mark.second_order
@pytest.mark.parametrize("f, args", PROGRAMS[:4])
def test_gradient_of_hvp(f, args):
    """Reverse mode over forward over reverse: the forward rules above are plain Python, differentiated
    again (a third derivative), against differences of fx.hvp."""
    rng = np.random.default_rng(4)
    x, rest = args[0], args[1:]
    v, w, d = (_random_like(x, rng) for _ in range(3))

    def of_one(t):
        return f(t, *rest)

    def projected(t):
        return np.sum(fx.hvp(of_one, t, v) * w)

    (g,) = fx.gradient(projected, x)
    fd = (projected(x + EPS * d) - projected(x - EPS * d)) / (2 * EPS)
    assert np.isclose(_inner(g, d), fd, rtol=1e-4, atol=1e-5)


@pytest.mark.parametrize("f, args", test_forward.BROADCAST_ROWS)
def test_gradient_jvp_with_only_a_broadcast_operand_moving(f, args):
    """Forward over reverse with a tangent only in ``args[1]`` (a number or a row broadcast against the array
    ``args[0]``): pullbacks see broadcastable tangents of the values they captured."""
    x, s = args
    weights = np.cos(np.arange(np.size(f(x, s)), dtype=float)).reshape(np.shape(f(x, s)))

    def grad(x, s):
        return fx.gradient(lambda a, b: np.sum(np.sin(f(a, b)) ** 2 * weights), x, s)

    ts = np.linspace(0.5, 1.5, np.size(s)).reshape(np.shape(s)) if np.ndim(s) else 1.3
    g, tg = fx.jvp(grad, (x, s), (None, ts))
    plus, minus = grad(x, s + EPS * ts), grad(x, s - EPS * ts)
    for got, a, b, primal in zip(tg, plus, minus, (x, s), strict=True):
        fd = (np.zeros(np.shape(primal)) if a is None else (a - b)) / (2 * EPS)
        assert np.shape(got) == np.shape(primal)
        np.testing.assert_allclose(got, fd, rtol=1e-5, atol=1e-6)


# ---------------------------------------------------------------------------------------------------------
# third derivatives: forward mode over forward over reverse (fx.jvp of fx.hvp, fx.jvp of fx.jvp of a gradient)
# runs fluxpy's own forward-mode code in forward mode, where closures' tangents (Tangents holding a thunk)
# are values with tangents of their own


def closures_and_partials(x):
    w = x * 2.0

    def scaled_sine(z, k=1.5):
        return np.sin(z * w) * k

    total = 0.0
    for _ in range(2):
        total = total + np.sum(scaled_sine(x) ** 2)
    half = functools.partial(scaled_sine, k=0.5)
    return total + np.sum(half(x))


THIRD_DERIVATIVES = [
    pytest.param(lambda x: x**4, lambda x: 24 * x, id="x^4"),
    pytest.param(lambda x: 2 * x**3 + x * x - x, lambda x: 12.0, id="cubic"),
    pytest.param(lambda x: math.exp(2 * x), lambda x: 8 * math.exp(2 * x), id="exp"),
    pytest.param(lambda x: np.sin(x) * x, lambda x: -np.cos(x) * x - 3 * np.sin(x), id="x-sin"),
    pytest.param(lambda x: np.tanh(x) / (1.0 + x * x), None, id="quotient"),
]


@pytest.mark.parametrize("f, third", THIRD_DERIVATIVES)
def test_third_derivative_of_a_number(f, third):
    x = 0.7

    def hvp(t):
        return fx.hvp(f, t, 1.0)

    def jvp_of_gradient(t):
        return fx.jvp(lambda s: fx.gradient(f, s)[0], (t,), (1.0,))[1]

    fd = (hvp(x + EPS) - hvp(x - EPS)) / (2 * EPS)
    expected = fd if third is None else third(x)
    for second in (hvp, jvp_of_gradient):
        y, t = fx.jvp(second, (x,), (1.0,))
        assert np.isclose(y, hvp(x), rtol=1e-12)
        assert np.isclose(t, expected, rtol=1e-6, atol=1e-8)
        assert np.isclose(t, fd, rtol=1e-5, atol=1e-6)


def test_third_derivative_along_directions():
    """d/dt hvp(f, x + t u, v) for f(x) = sum(sin(x) ** 3): (6 cos³ x - 21 sin² x cos x) u v, entrywise."""
    x, u, v = np.array([0.3, -0.7, 1.1]), np.array([1.0, 0.5, -0.2]), np.array([0.2, 1.0, 0.4])

    def f(z):
        return np.sum(np.sin(z) ** 3)

    closed = (6 * np.cos(x) ** 3 - 21 * np.sin(x) ** 2 * np.cos(x)) * u * v
    _, t = fx.jvp(lambda z: fx.hvp(f, z, v), (x,), (u,))
    np.testing.assert_allclose(t, closed, rtol=1e-10)
    _, t = fx.jvp(lambda z: fx.jvp(lambda s: fx.gradient(f, s)[0], (z,), (v,))[1], (x,), (u,))
    np.testing.assert_allclose(t, closed, rtol=1e-10)


@pytest.mark.second_order
@pytest.mark.parametrize(
    "f, args",
    PROGRAMS[:5] + [pytest.param(closures_and_partials, (np.array([0.3, -0.7, 1.1]),), id="closures")],
)
def test_jvp_of_hvp(f, args):
    """Forward over forward over reverse on the programs, against central differences of fx.hvp."""
    rng = np.random.default_rng(5)
    x, rest = args[0], args[1:]
    v, d = _random_like(x, rng), _random_like(x, rng)

    def hvp(t):
        return fx.hvp(lambda a: f(a, *rest), t, v)

    y, t = fx.jvp(hvp, (x,), (d,))
    np.testing.assert_allclose(y, hvp(x), rtol=1e-12)
    eps = 1e-5
    fd = (hvp(x + eps * d) - hvp(x - eps * d)) / (2 * eps)
    np.testing.assert_allclose(t, fd, rtol=1e-5, atol=1e-6 * max(1.0, np.abs(fd).max()))


def test_settled_keeps_the_tangent_of_a_closures_tangent():
    """A closure's tangent holds a thunk under LIVE; the tangent of that tangent holds the thunk's tangent (a
    Tangent), which ``settled`` must not call."""
    from fluxpy.forward import LIVE, settled

    def thunk():
        return None

    of_thunk = fx.Tangent(thunk, {"w": 1.0})
    t = fx.Tangent(closures_and_partials, {LIVE: of_thunk})
    assert settled(t) is t
    assert settled(fx.Tangent(closures_and_partials, {LIVE: lambda: of_thunk})) is of_thunk
