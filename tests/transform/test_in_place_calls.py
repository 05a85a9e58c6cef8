"""NumPy's in-place writers as statements on a name (``np.fill_diagonal(a, v)``, ``copyto``, ``put``,
``put_along_axis``, ``putmask``, ``place``) are differentiated: in_place_calls.rewrite_in_place_calls writes them as
``a[...] = <functional form>``, an item assignment (aliases checked as for any). Elsewhere (in an
expression, on an attribute) they are refused when floats are involved (rules/numpy_assembly.py)."""

import numpy as np
import pytest

import fluxpy as fx
from fluxpy.testing import check_grads

X = np.array([0.5, -1.2, 2.0])


def every_writer(x):
    a = np.outer(x, x)
    np.fill_diagonal(a, x * 3)
    b = np.zeros(3)
    np.copyto(b, x**2, where=x > 0)
    np.put(b, [0], x[1] * 5)
    np.putmask(a, a < 0, 0.5 * a)
    c = np.ones((3, 2)) * x[:, None]
    np.put_along_axis(c, np.array([[1], [0], [1]]), x[:, None] ** 3, axis=1)
    np.place(b, b > 1.0, x[2] * 7)
    return np.sum(a**2) + np.sum(b * x) + np.sum(c**2)


def in_a_loop_and_a_branch(x):
    a = np.zeros((3, 3))
    for i in range(2):
        if i == 1:
            np.fill_diagonal(a, x * i)
        else:
            np.copyto(a, np.outer(x, x))
    return np.sum(np.tanh(a))


@pytest.mark.parametrize("f", [every_writer, in_a_loop_and_a_branch])
def test_in_place_writers_are_differentiated(f):
    assert np.isclose(fx.withgradient(f, X)[0], f(X))
    check_grads(f, X, order=2, forward=True)


def test_a_parameter_written_in_place_is_not_changed_for_the_caller():
    def fill(a, v):
        np.fill_diagonal(a, v)
        return np.sum(a**2)

    a = np.arange(9.0).reshape(3, 3)
    before = a.copy()
    (da, dv) = fx.gradient(fill, a, 2.0)
    np.testing.assert_array_equal(a, before)
    assert dv == 2.0 * 2.0 * 3 and da[0, 0] == 0.0 and da[0, 1] == 2.0


def test_a_write_through_an_alias_is_refused_as_item_assignment():
    def aliased(x):
        a = np.outer(x, x)
        b = a
        np.fill_diagonal(a, 0.0)
        return np.sum(b)

    with pytest.raises(fx.TransformError, match="writing into 'a'"):
        fx.gradient(aliased, X)


def test_in_an_expression_it_is_still_refused():
    def used_as_a_value(x):
        a = np.outer(x, x)
        r = np.fill_diagonal(a, x)
        return np.sum(a) if r is None else 0.0

    with pytest.raises(fx.FluxpyError, match="fill_diagonal"):
        fx.gradient(used_as_a_value, X)


# ---------------------------------------------------------------------------------------------------------
# out=: a NumPy call writing its result into an array named by a plain name (transform/out_writes.py)

XO = np.array([0.3, -1.4, 2.6])  # away from integers: the finite differences of floor and round are 0


def floor_into_own_array(x):
    y = x * 1.0
    np.floor(y, out=y)  # y is floor(x) now: its old gradient is gone (it was kept: 2 * x)
    return np.sum(y * x)


def round_by_position(x):
    y = x * 2.0
    np.round(y, 0, y)  # out at np.round's parameter position
    return np.sum(y * x)


def sign_by_position_and_as_a_value(x):
    y = x**2
    z = np.sign(x, y)  # a ufunc's output after its nin inputs; z is y
    return np.sum(y * x) + np.sum(z * x)


def floor_where(x):
    y = x * 3.0
    np.floor(y, out=y, where=x > 0)  # y keeps 3 * x where the mask is False
    return np.sum(y * x)


def sin_into_a_new_array(x):
    y = np.empty_like(x)  # a ruled ufunc: was refused
    np.sin(x * 2.0, out=y)
    return np.sum(y**2)


def floor_into_a_new_array(x):
    y = np.empty_like(x)  # a constant output: right before too
    np.floor(x, out=y)
    return np.sum(y * x)


OUT_WRITERS = [
    floor_into_own_array,
    round_by_position,
    sign_by_position_and_as_a_value,
    floor_where,
    sin_into_a_new_array,
    floor_into_a_new_array,
]


@pytest.mark.parametrize("f", OUT_WRITERS, ids=lambda f: f.__name__)
def test_out_writes_are_differentiated(f):
    y, (g,) = fx.withgradient(f, XO)
    assert np.isclose(y, f(XO.copy()))
    check_grads(f, XO, order=2, forward=True)


def test_out_write_gradients():
    np.testing.assert_allclose(fx.gradient(floor_into_own_array, XO)[0], np.floor(XO))
    np.testing.assert_allclose(fx.gradient(round_by_position, XO)[0], np.round(2 * XO))
    np.testing.assert_allclose(fx.gradient(floor_where, XO)[0], np.where(XO > 0, np.floor(3 * XO), 6 * XO))


def floor_into_parameter(x):
    np.floor(x, out=x)
    return np.sum(x * x)


def test_an_out_write_into_a_parameter_leaves_the_callers_array():
    x = XO.copy()
    np.testing.assert_array_equal(fx.gradient(floor_into_parameter, x)[0], 0.0)  # floor(x) (was 2 * x)
    np.testing.assert_array_equal(x, XO)


# out= with where=: a ufunc masks its inputs too (the entries left out never reach its derivative), a
# reduction's where= picks the entries it reads


def _safe_divide(a, b):
    y = np.zeros_like(a)
    np.divide(a, b, out=y, where=b != 0)  # the classic safe division
    return np.sum(y**2)


def _exp_where(x):
    y = np.ones_like(x)
    np.exp(x, out=y, where=x > 0.0)
    return np.sum(y * x)


def _arccos_where(x):
    y = np.zeros_like(x)
    np.arccos(x, out=y, where=np.abs(x) < 1.0)
    return np.sum(y)


def _sum_where(x):
    y = np.zeros(2)
    np.sum(x, axis=0, out=y, where=x > 0.0)
    return np.sum(y**2)


def test_safe_division_by_out_and_where_has_a_finite_gradient():
    a, b = np.array([0.3, 0.4, 0.5]), np.array([2.0, 0.0, 1.5])
    assert fx.withgradient(_safe_divide, a, b).val == _safe_divide(a, b)
    ga, gb = fx.gradient(_safe_divide, a, b)
    np.testing.assert_allclose(ga, [2 * 0.3 / 4.0, 0.0, 2 * 0.5 / 1.5**2])
    np.testing.assert_allclose(gb, [-2 * 0.09 / 8.0, 0.0, -2 * 0.25 / 1.5**3])
    check_grads(_safe_divide, a, np.array([2.0, -0.7, 1.5]), order=2)


@pytest.mark.parametrize(
    "f, x",
    [
        (_exp_where, np.array([-0.5, 0.7, 1.2])),
        (_arccos_where, np.array([0.3, 1.5, -0.4])),
        (_sum_where, np.array([[0.5, -1.0], [2.0, 3.0]])),
    ],
    ids=["exp", "arccos_outside_its_domain", "sum_reads_the_masked_entries"],
)
def test_out_with_where(f, x):
    with np.errstate(invalid="ignore"):
        want = f(x)
    assert fx.withgradient(f, x).val == pytest.approx(want)
    check_grads(f, x, order=2)
