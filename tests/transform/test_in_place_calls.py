"""NumPy's in-place writers as statements on a name (``np.fill_diagonal(a, v)``, ``copyto``, ``put``,
``put_along_axis``, ``putmask``, ``place``) are differentiated: fence.rewrite_in_place_calls writes them as
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
