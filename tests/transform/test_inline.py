"""Inlined scalar arithmetic (transform/inline.py): runs of ``+ - * / **const`` and unary minus on scalars
compute as written, with their derivatives written out in the pullback; anything else takes the rules.

Every test checks values against finite differences (``check_grads``, to second order) and, where both
paths can run, the inlined path against the rules' path.
"""

import math
import operator

import numpy as np
import pytest

import fluxpy as fx
from fluxpy.rules import python_operators, registry
from fluxpy.testing import check_grads


def poly(x):
    return 3 * x**2 + 2 * x + 1


def ratio(x, y):
    q = x / y
    return -q * x + y**3 - x / 2.0


def reassigned(x):
    y = x * x
    x = 3.0  # the pullback must not read this x for y's derivative
    return y * x


def accumulating(x, y):
    s = x * y
    s = s + x  # a name that is both target and operand
    s = s * 2.0
    return s


def branches(x):
    if x > 0:
        y = x * x * x
    else:
        y = -x / 4.0
    return y + 1


def in_loop(x):
    for _ in range(3):
        x = x * 1.5 - 0.1 * x * x
    return x


def test_generated_code_has_a_scalar_branch():
    src = fx.adjoint_source(poly)
    # real scalars, or real NumPy arrays (a complex one takes the rules: their pullbacks conjugate)
    assert "if __fx_type(x) in __fx_scalars or (__fx_type(x) is __fx_ndarray and x.dtype.kind != 'c'):" in src
    assert "_pow = x * x" in src  # the forward as written
    assert "d__pow * 2 * x" in src  # its derivative, written out
    assert "__fx_rule.power_by_constant(x, 2)" in src  # the general path stays


@pytest.mark.parametrize("f", [poly, reassigned, branches, in_loop])
def test_one_argument_functions(f):
    for x in (1.3, -0.7):
        check_grads(f, x, order=2)


@pytest.mark.parametrize("f", [ratio, accumulating])
def test_two_argument_functions(f):
    check_grads(f, 1.3, -0.6, order=2)
    check_grads(f, -2.1, 0.4, order=2)


def test_reassigned_operand_is_not_inlined_where_it_is_read():
    assert fx.gradient(reassigned, 2.0) == (12.0,)  # y * x with x = 3.0: d/dx (3 x^2) = 6x


def test_target_that_is_also_an_operand():
    assert fx.gradient(accumulating, 2.0, 5.0) == (12.0, 4.0)  # 2 (x y + x)


@pytest.mark.parametrize("x", [2.0, 2, np.float64(2.0), np.float32(2.0)])
def test_scalar_types_take_the_inlined_path(x):
    (g,) = fx.gradient(poly, x)
    assert g == 14.0 and type(g) is float
    assert fx.gradient(lambda t: fx.gradient(poly, t)[0], x) == (6.0,)


@pytest.mark.parametrize("x", [np.array(2.0), np.array([2.0, -1.0])])
def test_arrays_take_the_rules(x):
    g = fx.gradient(lambda v: np.sum(poly(v)), x)[0]
    np.testing.assert_allclose(g, 6 * x + 2)
    check_grads(lambda v: np.sum(ratio(v, v + 3.0)), x)


def test_arrays_of_one_shape_inlined_and_broadcast_ones_by_the_rules():
    def f(x, y):
        d = x - y
        return np.sum(d * d / y + 2.0 * x)

    src = fx.adjoint_source(f)
    assert "x.shape == y.shape" in src
    rng = np.random.default_rng(1)
    x, y = rng.normal(size=(3, 4)), rng.uniform(1, 2, size=(3, 4))
    check_grads(f, x, y)  # one shape: inlined
    check_grads(f, x, y[:1])  # y broadcast along the first axis: the rules unbroadcast
    check_grads(f, x[0], y)  # x broadcast
    single = fx.gradient(f, x.astype(np.float32), y.astype(np.float32))
    assert all(g.dtype == np.float32 for g in single)
    np.testing.assert_allclose(single[0], fx.gradient(f, x, y)[0], rtol=1e-5)
    inlined = fx.gradient(f, x, y)
    ruled = fx.gradient(f, x, y[None])  # a leading axis of 1: broadcast, the rules
    np.testing.assert_allclose(inlined[0], ruled[0])
    np.testing.assert_allclose(inlined[1], ruled[1][0])


def test_inlined_and_rule_paths_agree():
    for a, b in [(1.5, -0.25), (-3.0, 7.0)]:
        scalar = fx.gradient(ratio, a, b)
        arrays = fx.gradient(lambda u, v: np.sum(ratio(u, v)), np.array([a]), np.array([b]))
        np.testing.assert_allclose([g for g in scalar], [float(g[0]) for g in arrays], rtol=1e-14)


def test_bool_and_user_objects_take_the_rules():
    class Num:
        def __init__(self, v):
            self.v = v

        def __mul__(self, other):
            return Num(self.v * (other.v if isinstance(other, Num) else other))

        def __add__(self, other):
            return Num(self.v + (other.v if isinstance(other, Num) else other))

    def f(a):
        return (a * a + 1).v

    (g,) = fx.gradient(f, Num(3.0))
    assert g["v"] == 6.0
    assert fx.gradient(lambda x: x * True, 2.0) == (1.0,)


def test_higher_orders_through_inlined_code():
    def d(f):
        return lambda x: fx.gradient(f, x)[0]

    x = 1.0
    assert d(poly)(x) == 8.0 and d(d(poly))(x) == 6.0
    assert d(d(d(poly)))(x) is None  # no dependence on x left: the structural zero, as Zygote's nothing
    cube = lambda t: t * t * t - 2 * t  # noqa: E731
    assert d(d(d(cube)))(x) == 6.0
    assert math.isclose(d(d(lambda t: t / (1 + t * t)))(0.5), 2 * 0.5 * (0.25 - 3) / 1.25**3)


def test_a_users_rule_for_an_operator_is_never_bypassed():
    calls = []

    def traced_mul(a, b):
        calls.append((a, b))
        return python_operators.multiply_rule(a, b)

    def f(x):
        return x * 3.0

    fx.gradient(f, 2.0)
    registry.adjoint(operator.mul)(traced_mul)
    try:
        assert fx.gradient(f, 2.0) == (3.0,)
        assert calls == [(2.0, 3.0)]
        assert "mul" not in fx.transform.inline.available()
    finally:
        registry.adjoint(operator.mul)(python_operators.multiply_rule)
    assert "mul" in fx.transform.inline.available()


SCALE = 2.5


def test_globals_are_left_to_the_rules():
    def f(x):
        return SCALE * x * x

    src = fx.adjoint_source(f)
    assert "__fx_rule.mul(SCALE, x)" in src and "= SCALE * x" not in src
    assert fx.gradient(f, 2.0) == (10.0,)


def test_errors_are_pythons():
    with pytest.raises(ZeroDivisionError):
        fx.gradient(lambda x: x / 0.0, 1.0)


def test_masked_variants_skip_unwanted_operands():
    def f(x, y):
        return x * y + y * y

    assert fx.gradient(lambda x: f(x, 3.0), 2.0) == (3.0,)
    assert fx.gradient(f, 2.0, 3.0) == (3.0, 8.0)


# -- inside loops: the values the pullback reads are kept on the tape -----------------------------------


def logistic_map(x):
    for _ in range(20):
        x = x * 1.01 - 0.001 * x * x
    return x


def products_in_a_loop(x, y):
    for k in range(4):
        x = x * y  # its derivative in y reads the old x: saved before the name is rebound
        y = y / (1.0 + x * x)
        if k % 2:
            y = -y + 0.5 * x
    return x + y


def nested_loops(a, b):
    total = 0.0
    for i in range(3):
        c = a * b
        for j in range(2):
            c = c * a - b / (j + 2.0)
            total = total + c * c
    return total


def test_loop_runs_save_what_their_pullback_reads():
    src = fx.adjoint_source(logistic_map)
    assert "_fx_tape = ((x, _mul_2), _fx_tape)" in src  # the values, once per iteration
    assert "_fx_tape = (None, _fx_tape)" in src  # the rules' path marks its entries
    assert "__fx_accum(d__mul" not in src  # temporaries' cotangents are assigned, not accumulated


@pytest.mark.parametrize("x", [0.5, -1.5, 2])
def test_loops_match_finite_differences(x):
    check_grads(logistic_map, x)
    check_grads(products_in_a_loop, x, 0.7)
    check_grads(nested_loops, x, -0.4)


def test_loops_over_arrays_of_one_shape_and_broadcast_ones():
    rng = np.random.default_rng(3)
    a, b = rng.normal(size=(2, 3)), rng.normal(size=(2, 3))
    check_grads(lambda u, v: np.sum(products_in_a_loop(u, v)), a, b)
    check_grads(lambda u, v: np.sum(products_in_a_loop(u, v)), a, b[0])  # broadcast: the rules
    check_grads(lambda u, v: np.sum(nested_loops(u, v)), a, b)


def test_loop_paths_agree():
    scalar = fx.gradient(products_in_a_loop, 0.3, 0.9)
    arrays = fx.gradient(lambda u, v: np.sum(products_in_a_loop(u, v)), np.array([0.3]), np.array([[0.9]]))
    np.testing.assert_allclose(scalar, [float(arrays[0][0]), float(arrays[1][0, 0])], rtol=1e-13)


def with_try(x):
    try:
        y = x * x + 1.0
    except ValueError:
        y = x
    return y * x


def test_try_bodies_keep_the_rules():
    src = fx.adjoint_source(with_try)
    assert "y = _mul + 1.0" not in src  # each statement's pullback is recorded as it completes
    check_grads(with_try, 1.5)
