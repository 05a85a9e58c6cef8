"""``np.r_[...]`` and ``np.c_[...]`` (rules/numpy_index_tricks.py): NumPy's value, and each array part's
cotangent gathered back from the result's, with constant parts (ints, lists, slices, strings) getting
None. The rule is checked on its own (``fx.pullback`` of ``__getitem__``) and as written in user code,
where the fence turns ``np.r_[key]`` into that call (transform/index_tricks.py)."""

import numpy
import numpy as np
import pytest
from numpy import r_

import fluxpy as fx
from fluxpy.testing import check_grads

RNG = np.random.default_rng(0)
A = RNG.standard_normal(3)
B = RNG.standard_normal(3)
M = RNG.standard_normal((3, 2))
X = np.arange(6.0).reshape(3, 2)
getitem = type(np.r_).__mro__[1].__getitem__


def r_parts(*parts):
    return getitem(np.r_, parts)


def c_parts(*parts):
    return getitem(np.c_, parts)


CASES = [
    pytest.param(lambda a, b: r_parts(a, b), (A, B), id="r_[a,b]"),
    pytest.param(lambda a, b: r_parts(a, 2.0, slice(0, 3), [7, 8], b), (A, B), id="r_[a,2.0,0:3,[7,8],b]"),
    pytest.param(lambda a, s: r_parts(a, s), (A, 1.5), id="r_[a,s]"),
    pytest.param(lambda a, b: r_parts("0,2", a, b), (A, B), id="r_['0,2',a,b]"),
    pytest.param(lambda a, b: r_parts("1,2,0", a, b), (A, B), id="r_['1,2,0',a,b]"),
    pytest.param(lambda a, m: r_parts("-1", m, a[:, None]), (A, M), id="r_['-1',m,a]"),
    pytest.param(lambda a, b: c_parts(a, X, b), (A, B), id="c_[a,X,b]"),
    pytest.param(lambda m, a: c_parts(m, a), (M, A), id="c_[m,a]"),
]


@pytest.mark.second_order
@pytest.mark.parametrize("f, args", CASES)
def test_gradients_match_finite_differences(f, args):
    check_grads(f, *args, order=2)


@pytest.mark.parametrize("f, args", CASES)
def test_value_is_numpys(f, args):
    y, _ = fx.pullback(f, *args)
    np.testing.assert_array_equal(y, f(*args))


def test_constant_parts_get_none():
    _, back = fx.pullback(lambda key: getitem(np.r_, key), (A, slice(0, 3), [1, 2], 4))
    (g,) = back(np.ones(3 + 3 + 2 + 1))
    assert g[1:] == (None, None, None)
    np.testing.assert_array_equal(g[0], np.ones(3))


def test_intercept_column_on_constant_data():
    def loss(beta):
        return np.sum((np.c_[np.ones(3), X] @ beta) ** 2)

    (g,) = fx.gradient(loss, np.ones(3))
    design = np.column_stack([np.ones(3), X])
    np.testing.assert_allclose(g, 2 * design.T @ (design @ np.ones(3)))
    check_grads(loss, np.ones(3), order=2)


def test_one_part_key_carries_the_gradient():
    check_grads(lambda a: np.sum(np.r_[a] ** 2), A, order=2)
    check_grads(lambda a: np.sum(np.c_[a] ** 2), A, order=2)


def _written_r(a, b):
    return np.sum(np.r_[a, 1.0, 0:2, b] ** 2) + np.sum(np.r_["0,2", a, b * 2] ** 3)


def _assigned(a, b):
    joined = np.r_[a, 1.0]  # a statement of its own: the analyses after the fence read the new nodes' lines
    columns = np.c_[a, b]
    return np.sum(joined**2) + np.sum(columns[:, 0] * columns[:, 1])


def _written_c(a, m):
    return (
        np.sum(np.c_[np.ones(3), m, a] @ np.arange(4.0))
        + np.sum(numpy.c_[a, 2 * a] ** 3)
        + np.sum(r_[a, m[0]])
    )


@pytest.mark.second_order
@pytest.mark.parametrize(
    "f, args", [(_written_r, (A, B)), (_written_c, (A, M)), (_assigned, (A, B))], ids=["r_", "c_", "assigned"]
)
def test_a_key_of_several_parts_as_written_carries_gradients_in_both_modes(f, args):
    check_grads(f, *args, order=2)
    tangents = tuple(np.ones_like(a) for a in args)
    _, jvp = fx.jvp(f, args, tangents)
    grads = fx.gradient(f, *args)
    np.testing.assert_allclose(jvp, sum(np.sum(g) for g in grads), rtol=1e-12)
