"""Rules of fluxpy/rules/numpy_elementwise.py against finite differences, one table row per rule."""

import warnings

import numpy as np
import pytest

import fluxpy
from fluxpy.rules import registry
from fluxpy.runtime import call
from fluxpy.testing import check_grads

SHAPE = (3, 4)


def uniform(lo, hi, shape=SHAPE, k=0):
    """float64 values in [lo, hi): an array, or a Python float for shape None."""
    rng = np.random.default_rng(k)
    if shape is None:
        return float(rng.uniform(lo, hi))
    return rng.uniform(lo, hi, shape)


def away_from_zero(lo, hi, shape=SHAPE, k=0):
    """Values with |x| in [lo, hi) and random signs (away from the kink of abs/copysign)."""
    rng = np.random.default_rng(k + 100)
    signs = rng.choice([-1.0, 1.0], size=shape)
    return uniform(lo, hi, shape, k) * signs


# primal, domain (lo, hi): every function gets an array, a 0-d array, a NumPy scalar and a Python float
UNARY = [
    (np.sin, -3, 3),
    (np.cos, -3, 3),
    (np.tan, -1.2, 1.2),
    (np.arcsin, -0.9, 0.9),
    (np.arccos, -0.9, 0.9),
    (np.arctan, -3, 3),
    (np.sinh, -2, 2),
    (np.cosh, -2, 2),
    (np.tanh, -2, 2),
    (np.arcsinh, -3, 3),
    (np.arccosh, 1.1, 3),
    (np.arctanh, -0.9, 0.9),
    (np.exp, -2, 2),
    (np.exp2, -2, 2),
    (np.expm1, -2, 2),
    (np.log, 0.1, 3),
    (np.log2, 0.1, 3),
    (np.log10, 0.1, 3),
    (np.log1p, -0.9, 3),
    (np.sqrt, 0.1, 3),
    (np.cbrt, 0.1, 3),
    (np.cbrt, -3, -0.1),
    (np.square, -2, 2),
    (np.reciprocal, 0.2, 3),
    (np.reciprocal, -3, -0.2),
    (np.sinc, -2, 2),
    (np.deg2rad, -90, 90),
    (np.radians, -90, 90),
    (np.rad2deg, -2, 2),
    (np.degrees, -2, 2),
    (np.real, -2, 2),
    (np.imag, -2, 2),
    (np.conjugate, -2, 2),
    (np.angle, -2, 2),
    (np.nan_to_num, -2, 2),
    (np.modf, 0.1, 5),
    (np.frexp, 0.1, 10),
    (np.ndarray.conj, -2, 2),
    (np.ndarray.conjugate, -2, 2),
    (np.ndarray.copy, -2, 2),
]


def unary_rows():
    rows = []
    for i, (f, lo, hi) in enumerate(UNARY):
        name = f"{f.__name__}[{lo},{hi}]"
        rows.append(pytest.param(f, (uniform(lo, hi, SHAPE, i),), {}, id=f"{name}-array"))
        if f.__qualname__.startswith("ndarray."):
            continue  # descriptors take arrays only (check_grads perturbs a 0-d array into a scalar)
        rows.append(pytest.param(f, (uniform(lo, hi, None, i),), {}, id=f"{name}-float"))
        rows.append(pytest.param(f, (np.array(uniform(lo, hi, None, i)),), {}, id=f"{name}-0d"))
        rows.append(pytest.param(f, (np.float64(uniform(lo, hi, None, i)),), {}, id=f"{name}-npscalar"))
    for f in (np.absolute, np.fabs):
        rows.append(pytest.param(f, (away_from_zero(0.1, 2),), {}, id=f"{f.__name__}-array"))
        rows.append(pytest.param(f, (-0.7,), {}, id=f"{f.__name__}-float"))
    return rows


BINARY_DOMAINS = {
    np.maximum: ((-2, 2), (-2, 2)),
    np.minimum: ((-2, 2), (-2, 2)),
    np.fmax: ((-2, 2), (-2, 2)),
    np.fmin: ((-2, 2), (-2, 2)),
    np.arctan2: ((-2, 2), (-2, 2)),
    np.hypot: ((-2, 2), (-2, 2)),
    np.logaddexp: ((-3, 3), (-3, 3)),
    np.logaddexp2: ((-3, 3), (-3, 3)),
    np.float_power: ((0.5, 2), (-2, 2)),
    np.copysign: ((0.2, 2), (-2, 2)),
    np.remainder: ((0.1, 5), (0.7, 2)),
    np.fmod: ((-5, 5), (0.7, 2)),
    np.divmod: ((0.1, 5), (0.7, 2)),
}

# broadcasting combinations of the two operands' shapes (None = Python float)
BINARY_SHAPES = [(SHAPE, SHAPE), (SHAPE, (4,)), ((3, 1), (1, 4)), ((), SHAPE), (SHAPE, None), (None, None)]


def binary_rows():
    rows = []
    for i, (f, ((alo, ahi), (blo, bhi))) in enumerate(BINARY_DOMAINS.items()):
        for sa, sb in BINARY_SHAPES:
            a = uniform(alo, ahi, sa, 2 * i)
            b = uniform(blo, bhi, sb, 2 * i + 1)
            if f is np.copysign:
                a = away_from_zero(alo, ahi, sa, 2 * i) if sa is not None else -a
            rows.append(pytest.param(f, (a, b), {}, id=f"{f.__name__}-{sa}-{sb}"))
    rows.append(pytest.param(np.ldexp, (uniform(-2, 2), np.arange(12).reshape(SHAPE) - 6), {}, id="ldexp"))
    rows.append(pytest.param(np.ldexp, (uniform(-2, 2, None), 3), {}, id="ldexp-float"))
    return rows


X = uniform(0, 1, SHAPE, 7)
LOWER = uniform(0.2, 0.4, (4,), 8)
UPPER = uniform(0.6, 0.8, (3, 1), 9)
COND = uniform(0, 1, SHAPE, 10) > 0.5
WITH_NAN = np.where(COND, np.nan, uniform(-2, 2, SHAPE, 11))

OTHER_ROWS = [
    pytest.param(np.clip, (X, 0.3, 0.6), {}, id="clip-scalars"),
    pytest.param(np.clip, (X, LOWER, UPPER), {}, id="clip-broadcast-arrays"),
    pytest.param(np.clip, (X, None, 0.5), {}, id="clip-upper-only"),
    pytest.param(np.clip, (X, 0.4, None), {}, id="clip-lower-only"),
    pytest.param(np.clip, (X, 0.6, 0.3), {}, id="clip-crossed-bounds"),
    pytest.param(np.clip, (X,), {"a_min": 0.3, "a_max": 0.6}, id="clip-keywords"),
    pytest.param(np.clip, (X,), {"min": LOWER, "max": UPPER}, id="clip-min-max-keywords"),
    pytest.param(np.clip, (X, 0.3), {"a_max": 0.6}, id="clip-mixed"),
    pytest.param(np.clip, (0.45, 0.3, 0.6), {}, id="clip-float-inside"),
    pytest.param(np.clip, (0.7, 0.3, 0.6), {}, id="clip-float-above"),
    pytest.param(np.ndarray.clip, (X, 0.3, 0.6), {}, id="method-clip"),
    pytest.param(np.ndarray.clip, (X,), {"max": 0.5}, id="method-clip-max-keyword"),
    pytest.param(np.where, (COND, uniform(-2, 2), uniform(-2, 2, SHAPE, 1)), {}, id="where"),
    pytest.param(np.where, (COND, uniform(-2, 2, (4,)), 0.5), {}, id="where-broadcast"),
    pytest.param(np.where, (COND[0, 0], 1.5, -0.5), {}, id="where-scalars"),
    pytest.param(np.nan_to_num, (WITH_NAN,), {}, id="nan_to_num-nan"),
    pytest.param(np.nan_to_num, (WITH_NAN,), {"nan": 3.0}, id="nan_to_num-keyword"),
    pytest.param(np.ndarray.astype, (uniform(-2, 2), np.float64), {}, id="method-astype"),
    pytest.param(np.ndarray.astype, (uniform(-2, 2),), {"dtype": np.float64}, id="method-astype-keyword"),
]

ROWS = unary_rows() + binary_rows() + OTHER_ROWS


@pytest.mark.parametrize("primal, args, kwargs", ROWS)
def test_first_order(primal, args, kwargs):
    check_grads(primal, *args, order=1, **kwargs)


@pytest.mark.second_order
@pytest.mark.parametrize("primal, args, kwargs", ROWS)
def test_second_order(primal, args, kwargs):
    check_grads(primal, *args, order=2, **kwargs)


# ---------------------------------------------------------------------------------------------------------
# ties split evenly


@pytest.mark.parametrize("primal", [np.maximum, np.minimum, np.fmax, np.fmin])
def test_ties_split_evenly(primal):
    a = np.array([1.0, 2.0, 3.0])
    _, pb = call(primal, a, a.copy())
    _, da, db = pb(np.array([2.0, 4.0, 6.0]))
    np.testing.assert_array_equal(da, [1.0, 2.0, 3.0])
    np.testing.assert_array_equal(db, [1.0, 2.0, 3.0])


def test_partial_tie_with_broadcast_scalar():
    _, pb = call(np.maximum, np.array([1.0, 2.0, 3.0]), 2.0)
    _, da, db = pb(np.ones(3))
    np.testing.assert_array_equal(da, [0.0, 0.5, 1.0])
    assert db == 1.5  # wins over 1.0, ties with 2.0
    _, pb = call(np.minimum, np.array([1.0, 2.0, 3.0]), 2.0)
    _, da, db = pb(np.ones(3))
    np.testing.assert_array_equal(da, [1.0, 0.5, 0.0])
    assert db == 1.5


def test_fmax_ignores_nan_operand():
    _, pb = call(np.fmax, np.array([np.nan, 1.0]), np.array([2.0, np.nan]))
    _, da, db = pb(np.ones(2))
    np.testing.assert_array_equal(da, [0.0, 1.0])
    np.testing.assert_array_equal(db, [1.0, 0.0])


# ---------------------------------------------------------------------------------------------------------
# non-differentiable functions give no gradient

X_INT = np.arange(12).reshape(SHAPE) - 5

NOGRAD_ROWS = [
    pytest.param(f, args, id=f.__name__)
    for f, args in [
        (np.sign, (X,)),
        (np.heaviside, (X - 0.5, 0.5)),
        (np.floor, (X,)),
        (np.ceil, (X,)),
        (np.trunc, (X,)),
        (np.rint, (X,)),
        (np.round, (X, 1)),
        (np.around, (X,)),
        (np.fix, (X,)),
        (np.floor_divide, (X, 0.3)),
        (np.isnan, (X,)),
        (np.isinf, (X,)),
        (np.isfinite, (X,)),
        (np.isposinf, (X,)),
        (np.isneginf, (X,)),
        (np.signbit, (X,)),
        (np.isclose, (X, 0.5)),
        (np.spacing, (X,)),
        (np.nextafter, (X, 2.0)),
        (np.greater, (X, 0.5)),
        (np.greater_equal, (X, 0.5)),
        (np.less, (X, 0.5)),
        (np.less_equal, (X, 0.5)),
        (np.equal, (X, 0.5)),
        (np.not_equal, (X, 0.5)),
        (np.logical_and, (X, 0.5)),
        (np.logical_or, (X, 0.5)),
        (np.logical_xor, (X, 0.5)),
        (np.logical_not, (X,)),
        (np.bitwise_and, (X_INT, 3)),
        (np.invert, (X_INT,)),
        (np.gcd, (X_INT, 4)),
        (np.where, (X > 0.5,)),
        (np.ndarray.round, (X, 2)),
    ]
]


@pytest.mark.parametrize("primal, args", NOGRAD_ROWS)
def test_no_gradient(primal, args):
    y, pb = call(primal, *args)
    dy = np.ones(np.shape(y[0] if isinstance(y, tuple) else y))
    grads = pb(dy)
    assert len(grads) == len(args) + 1
    assert all(g is None for g in grads)


def test_piecewise_constant_parts_give_no_gradient():
    x = uniform(-2, 2)
    assert fluxpy.pullback(np.imag, x)[1](np.ones(SHAPE)) == (None,)
    assert fluxpy.pullback(np.angle, x)[1](np.ones(SHAPE)) == (None,)
    assert fluxpy.pullback(np.ldexp, x, 3)[1](np.ones(SHAPE))[1] is None
    assert fluxpy.pullback(np.copysign, x, -x)[1](np.ones(SHAPE))[1] is None
    (dx,) = fluxpy.pullback(np.modf, x)[1]((None, np.ones(SHAPE)))
    assert dx is None or not np.any(dx)


# ---------------------------------------------------------------------------------------------------------
# singular points: no warnings, zero cotangent gives zero gradient


@pytest.mark.parametrize(
    "primal, x",
    [(np.sqrt, 0.0), (np.cbrt, 0.0), (np.log, 0.0), (np.arcsin, 1.0), (np.arccos, -1.0), (np.arccosh, 1.0)],
)
def test_singular_derivative_without_warnings(primal, x):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # the primal itself may warn (log(0)); the pullback must not
        _, pb = call(primal, np.array([x, 0.5 if primal is not np.arccosh else 2.0]))
    (_, dx) = pb(np.array([0.0, 1.0]))
    assert dx[0] == 0.0 and np.isfinite(dx[1])
    (_, dx) = pb(np.array([1.0, 1.0]))
    assert np.isinf(dx[0])


def test_hypot_and_arctan2_at_origin():
    zero = np.zeros(2)
    assert all(np.all(g == 0) for g in call(np.hypot, zero, zero)[1](np.ones(2))[1:])
    assert all(np.all(g == 0) for g in call(np.arctan2, zero, zero)[1](np.ones(2))[1:])


def test_sinc_at_zero():
    (_, dx) = call(np.sinc, np.array([0.0]))[1](np.ones(1))
    np.testing.assert_array_equal(dx, [0.0])


# ---------------------------------------------------------------------------------------------------------
# dtypes and input kinds


@pytest.mark.parametrize("primal", [np.sin, np.exp, np.sqrt, np.exp2, np.log10, np.arctanh, np.sinc])
def test_float32_gives_float32(primal):
    x = uniform(0.1, 0.9).astype(np.float32)
    (dx,) = fluxpy.pullback(primal, x)[1](np.ones(SHAPE, np.float32))
    assert dx.dtype == np.float32


def test_float32_binary_and_clip():
    a = uniform(-1, 1).astype(np.float32)
    b = uniform(-1, 1, SHAPE, 1).astype(np.float32)
    for primal in (np.maximum, np.hypot, np.arctan2, np.logaddexp):
        da, db = fluxpy.pullback(primal, a, b)[1](np.ones(SHAPE, np.float32))
        assert da.dtype == np.float32 and db.dtype == np.float32
    (da,) = fluxpy.pullback(np.clip, a, a_min=-0.5, a_max=0.5)[1](np.ones(SHAPE, np.float32))
    assert da.dtype == np.float32


@pytest.mark.parametrize("primal", [np.sin, np.log1p, np.square, np.abs, np.sqrt])
def test_int_inputs(primal):
    x = np.arange(1, 7).reshape(2, 3)
    (dx,) = fluxpy.pullback(primal, x)[1](np.ones((2, 3)))
    assert dx.shape == (2, 3) and dx.dtype.kind == "f"
    (dx,) = fluxpy.pullback(primal, 3)[1](1.0)
    assert isinstance(dx, float)


def test_astype_casts_back_to_input_float_dtype():
    x = uniform(-1, 1).astype(np.float32)
    y, back = fluxpy.pullback(np.ndarray.astype, x, np.float64)
    dx, ddtype = back(np.ones(SHAPE))
    assert y.dtype == np.float64 and dx.dtype == np.float32 and ddtype is None
    assert fluxpy.pullback(np.ndarray.astype, uniform(-1, 1), np.int64)[1](np.ones(SHAPE))[0] is None


def test_attributes_real_imag():
    x = uniform(-1, 1)
    dy = uniform(-1, 1, SHAPE, 1)
    y, back = registry.lookup_attribute("real")(x)
    np.testing.assert_array_equal(y, x)
    np.testing.assert_array_equal(back(dy)[0], dy)
    y, back = registry.lookup_attribute("imag")(x)
    assert back(dy) == (None,)


# ---------------------------------------------------------------------------------------------------------
# complex inputs: the cotangent of z = a + ib is dL/da + i dL/db (ChainRules' convention)


def complex_fd_gradient(f, z, dy, eps=1e-6):
    def loss(w):
        return np.sum(dy * f(w)).real

    grad = np.zeros_like(z)
    for idx in np.ndindex(z.shape):
        e = np.zeros_like(z)
        e[idx] = 1.0
        da = (loss(z + eps * e) - loss(z - eps * e)) / (2 * eps)
        db = (loss(z + 1j * eps * e) - loss(z - 1j * eps * e)) / (2 * eps)
        grad[idx] = da + 1j * db
    return grad


@pytest.mark.parametrize("primal", [np.real, np.imag, np.abs, np.angle])
def test_complex_to_real(primal):
    z = uniform(-1, 1, (2, 3)) + 1j * uniform(-1, 1, (2, 3), 1)
    dy = uniform(-1, 1, (2, 3), 2)
    (dz,) = call(primal, z)[1](dy)[1:]
    np.testing.assert_allclose(dz, complex_fd_gradient(primal, z, dy), rtol=1e-6, atol=1e-8)


def test_complex_conjugate():
    z = uniform(-1, 1, (2, 3)) + 1j * uniform(-1, 1, (2, 3), 1)
    dy = uniform(-1, 1, (2, 3), 2) + 1j * uniform(-1, 1, (2, 3), 3)
    (dz,) = call(np.conjugate, z)[1](dy)[1:]
    np.testing.assert_allclose(dz, np.conj(dy))
