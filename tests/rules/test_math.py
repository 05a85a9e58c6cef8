"""Rules of fluxpy/rules/math.py against finite differences, one table row per rule."""

import math

import numpy as np
import pytest

import fluxpy  # noqa: F401  (registers every rule)
from fluxpy.runtime import call
from fluxpy.testing import check_grads


def uniform(lo, hi, k=0):
    """A Python float in [lo, hi)."""
    return float(np.random.default_rng(k).uniform(lo, hi))


# primal, domains of the positional arguments
DOMAINS = [
    (math.sin, [(-3, 3)]),
    (math.cos, [(-3, 3)]),
    (math.tan, [(-1.2, 1.2)]),
    (math.asin, [(-0.9, 0.9)]),
    (math.acos, [(-0.9, 0.9)]),
    (math.atan, [(-3, 3)]),
    (math.atan2, [(-2, 2), (-2, 2)]),
    (math.sinh, [(-2, 2)]),
    (math.cosh, [(-2, 2)]),
    (math.tanh, [(-2, 2)]),
    (math.asinh, [(-3, 3)]),
    (math.acosh, [(1.1, 3)]),
    (math.atanh, [(-0.9, 0.9)]),
    (math.degrees, [(-2, 2)]),
    (math.radians, [(-90, 90)]),
    (math.hypot, [(-2, 2), (-2, 2)]),
    (math.hypot, [(-2, 2), (-2, 2), (-2, 2)]),
    (math.hypot, [(0.5, 2)]),
    (math.exp, [(-2, 2)]),
    (math.exp2, [(-2, 2)]),
    (math.expm1, [(-2, 2)]),
    (math.log, [(0.1, 3)]),
    (math.log, [(0.1, 3), (1.5, 10)]),
    (math.log2, [(0.1, 3)]),
    (math.log10, [(0.1, 3)]),
    (math.log1p, [(-0.9, 3)]),
    (math.sqrt, [(0.1, 3)]),
    (math.cbrt, [(0.1, 3)]),
    (math.cbrt, [(-3, -0.1)]),
    (math.pow, [(0.2, 3), (-2, 2)]),
    (math.erf, [(-2, 2)]),
    (math.erfc, [(-2, 2)]),
    (math.fabs, [(0.1, 2)]),
    (math.fabs, [(-2, -0.1)]),
    (math.copysign, [(0.1, 2), (-2, -0.1)]),
    (math.copysign, [(-2, -0.1), (0.1, 2)]),
    (math.fmod, [(-5, 5), (0.7, 2)]),
    (math.remainder, [(-5, 5), (0.7, 2)]),
    (math.modf, [(0.1, 5)]),
    (math.frexp, [(0.1, 10)]),
]

ROWS = [
    pytest.param(
        f, tuple(uniform(lo, hi, 10 * i + j) for j, (lo, hi) in enumerate(domains)), id=f"{f.__name__}-{i}"
    )
    for i, (f, domains) in enumerate(DOMAINS)
] + [
    pytest.param(math.ldexp, (uniform(-2, 2), 3), id="ldexp"),
    pytest.param(math.pow, (-1.5, 3), id="pow-negative-base-integer-exponent"),
    pytest.param(math.sin, (2,), id="sin-int"),
]


@pytest.mark.parametrize("primal, args", ROWS)
def test_first_order(primal, args):
    check_grads(primal, *args, order=1)


@pytest.mark.second_order
@pytest.mark.parametrize("primal, args", ROWS)
def test_second_order(primal, args):
    check_grads(primal, *args, order=2)


@pytest.mark.parametrize("primal, args", ROWS)
def test_gradients_are_python_floats(primal, args):
    _, pb = call(primal, *args)
    y = primal(*args)
    dy = tuple(1.0 for _ in y) if isinstance(y, tuple) else 1.0
    for g in pb(dy)[1:]:
        assert g is None or type(g) is float


# ---------------------------------------------------------------------------------------------------------
# non-differentiable functions give no gradient


@pytest.mark.parametrize(
    "primal, args",
    [
        pytest.param(f, args, id=f.__name__)
        for f, args in [
            (math.floor, (1.5,)),
            (math.ceil, (1.5,)),
            (math.trunc, (1.5,)),
            (math.isnan, (1.5,)),
            (math.isinf, (1.5,)),
            (math.isfinite, (1.5,)),
            (math.isclose, (1.5, 1.5)),
            (math.factorial, (5,)),
            (math.comb, (5, 2)),
            (math.perm, (5, 2)),
            (math.gcd, (12, 8)),
            (math.lcm, (4, 6)),
            (math.isqrt, (17,)),
            (math.nextafter, (1.5, 2.0)),
            (math.ulp, (1.5,)),
        ]
    ],
)
def test_no_gradient(primal, args):
    _, pb = call(primal, *args)
    grads = pb(1.0)
    assert len(grads) == len(args) + 1
    assert all(g is None for g in grads)


# ---------------------------------------------------------------------------------------------------------
# singular points: a float (inf or 0), never ZeroDivisionError


@pytest.mark.parametrize(
    "primal, x", [(math.sqrt, 0.0), (math.cbrt, 0.0), (math.asin, 1.0), (math.acos, -1.0)]
)
def test_singular_derivative(primal, x):
    _, pb = call(primal, x)
    assert math.isinf(pb(1.0)[1])
    assert pb(0.0)[1] == 0.0


def test_subgradients_at_zero():
    assert call(math.fabs, 0.0)[1](1.0)[1] == 0.0
    assert call(math.hypot, 0.0, 0.0)[1](1.0)[1:] == (0.0, 0.0)
    assert call(math.atan2, 0.0, 0.0)[1](1.0)[1:] == (0.0, 0.0)
    assert call(math.pow, 0.0, 2.0)[1](1.0)[1:] == (0.0, 0.0)
    assert math.isinf(call(math.pow, 0.0, 0.5)[1](1.0)[1])
    assert call(math.pow, 3.0, 0.0)[1](1.0)[1] == 0.0
