"""Hunt 13, forward mode and NumPy's array-likes: an array splatted (``f(*x)``) gets an array gradient, ``out=``
is refused by fx.jvp as by fx.gradient, ``super()`` in classmethods and constructors under fx.jvp, NumPy
functions given lists and tuples (rules/helpers.py's ``accept_array_likes``, forward.py's ``jvp_call``), and
forward mode's ``warnings.warn`` (tests/test_hunt13_runtime.py)."""

import numpy as np
import pytest

import fluxpy as fx
from fluxpy.errors import FluxpyError
from fluxpy.rules import registry
from fluxpy.rules.helpers import array_of, stacked, unstacked
from fluxpy.rules.python_cotangents import starred_grads
from fluxpy.tangents import KeywordGrads
from fluxpy.testing import check_grads

X = np.array([1.5, 2.0, 3.0])

# ---------------------------------------------------------------------------------------------------------
# an array splatted: g(*x), [*x], (*x,), max(*x)


def second_only(*a):
    return a[1] * 2


def splat_call(x):
    return second_only(*x)


def splat_list(x):
    return [*x][1] * 2


def splat_tuple_and_sum(x):
    return (*x,)[1] * 2 + np.sum(x)


def ends(*a):
    return a[0] * a[-1] + len(a) * sum(a[1:-1])


def splat_ends(x):
    return ends(*x)


def splat_max(x):
    return max(*x) ** 2


def splat_after_product(y):
    x = y * 2.0
    return second_only(*x) * x[0]


def splat_rows(m):
    return np.sum(second_only(*m) ** 2)


def test_generated_code_hands_starred_grads_the_value():
    """Without the value splatted the rule cannot know an array was splatted (its gradient was a tuple).

    The value splatted is read into a tuple once first (an iterator can be read only once); that tuple's
    pullback gives the array's gradient an array again."""
    source = fx.adjoint_source(splat_call)
    assert "_args, _args_pb = __fx_call(__fx_tuple, x)" in source
    assert "__fx_starred_grads(_fx_g, 1, _args)" in source


def test_starred_grads_of_an_array_is_an_array_with_zeros():
    g = (None, None, 2.0, None)
    np.testing.assert_array_equal(starred_grads(g, 1, X), [0.0, 2.0, 0.0])
    assert starred_grads(g, 1) == (None, 2.0, None)  # a tuple splatted: its items' gradients, as before
    assert starred_grads(g, 1, (1.0, 2.0, 3.0)) == (None, 2.0, None)
    assert starred_grads((None, None, None), 1, np.zeros(2)) is None  # no gradient at all: a zero
    keywords = (None, 1.0, None, KeywordGrads({"k": 3.0}))
    np.testing.assert_array_equal(starred_grads(keywords, 1, np.zeros(2, dtype=np.float32)), [1.0, 0.0])
    assert starred_grads(keywords, 1, np.zeros(2, dtype=np.float32)).dtype == np.float32
    rows = starred_grads((None, np.ones(2), None), 1, np.zeros((2, 2)))
    np.testing.assert_array_equal(rows, [[1.0, 1.0], [0.0, 0.0]])


def test_starred_grads_rule_and_forward_rule():
    rule = registry.lookup(starred_grads)
    y, back = rule((None, None, 2.0, None), 1, X)
    np.testing.assert_array_equal(y, [0.0, 2.0, 0.0])
    dg, dstart, dlike = back(np.array([5.0, 6.0, 7.0]))
    assert dg == (None, None, 6.0, None) and dstart is None and dlike is None
    jvp = registry.lookup_forward(starred_grads)
    y, ty = jvp(((None, None, 2.0, None), 1, X), ((None, None, 0.5, None), None, None))
    np.testing.assert_array_equal(ty, [0.0, 0.5, 0.0])
    y, ty = jvp(((None, 1.0, 2.0), 1), ((None, 0.5, None), None))
    assert y == (1.0, 2.0) and ty == (0.5, None)


@pytest.mark.parametrize("f", [splat_call, splat_list, splat_max, splat_after_product])
def test_an_array_splatted_gets_an_array_gradient(f):
    y = np.array([1.0, 3.0, 2.0])
    g = fx.gradient(f, y)[0]
    assert isinstance(g, np.ndarray) and g.shape == (3,) and not np.isnan(g).any()
    check_grads(f, y, order=2, forward=True)


def test_a_splatted_arrays_gradient_adds_to_its_others():
    np.testing.assert_array_equal(fx.gradient(splat_tuple_and_sum, X)[0], [1.0, 3.0, 1.0])
    check_grads(splat_tuple_and_sum, X, order=2, forward=True)


def test_hessian_of_a_splatted_array_has_no_nan():
    np.testing.assert_array_equal(fx.hessian(splat_ends, X), [[0, 0, 1], [0, 0, 0], [1, 0, 0]])
    np.testing.assert_array_equal(fx.hessian(splat_max, np.array([1.0, 3.0, 2.0])), np.diag([0.0, 2.0, 0.0]))
    check_grads(splat_ends, X, order=2, forward=True)


def test_a_matrix_splatted_by_rows():
    m = np.array([[1.0, 2.0], [3.0, 4.0]])
    np.testing.assert_array_equal(fx.gradient(splat_rows, m)[0], [[0.0, 0.0], [24.0, 32.0]])
    check_grads(splat_rows, m, order=2, forward=True)


def test_forward_mode_of_a_splatted_array():
    y, t = fx.jvp(splat_ends, (X,), (np.array([1.0, 10.0, 100.0]),))
    assert y == splat_ends(X) and t == pytest.approx(3.0 + 100 * 1.5 + 3 * 10.0)


# ---------------------------------------------------------------------------------------------------------
# stacked / unstacked / array_of: the conversions between an array and the list or tuple it was read from


def test_stacked_and_unstacked_are_inverse():
    like = [(0.5, None), (0.5, 0.5)]
    g = np.array([[1.0, 2.0], [3.0, 4.0]])
    assert unstacked(g, like) == [(1.0, None), (3.0, 4.0)]
    np.testing.assert_array_equal(stacked(unstacked(g, like), g), [[1.0, 0.0], [3.0, 4.0]])
    assert stacked(None, g) is None and unstacked(None, like) is None
    assert stacked([1j, None], np.zeros(2)).dtype == np.complex128  # a complex cotangent stays complex
    np.testing.assert_array_equal(unstacked(2.0, [0.0, 0.0]), [2.0, 2.0])  # a tangent broadcasting


def stack_unstack(x):
    items = unstacked(x * x, [1.0, 2.0, 3.0])
    return np.sum(stacked(items, x) ** 2) + np.sum(array_of([x[0], x[1] * x[2]]) ** 3)


def test_the_conversions_are_differentiable():
    check_grads(stack_unstack, X, order=2, forward=True)


# ---------------------------------------------------------------------------------------------------------
# out= in forward mode: as a statement a write of the whole array (transform/out_writes.py), inside an
# expression refused, as in reverse mode


def negate_in_place(x):
    a = x.copy()
    np.negative(a, out=a)
    return np.sum(a * x)


def clip_in_place(x):
    a = x.copy()
    np.clip(a, 1.5, 2.5, out=a)
    return np.sum(a * x)


def exp_in_place(x):
    a = x.copy()
    np.exp(a, out=a)
    return np.sum(a)


def floor_in_place(x):
    a = x.copy()
    np.floor(a, out=a)
    return np.sum(a * x)


def negate_in_an_expression(x):
    a = x.copy()
    return np.sum(np.negative(a, out=a) * x)


def clip_in_an_expression(x):
    a = x.copy()
    return np.sum(np.clip(a, 1.5, 2.5, out=a) * x)


def exp_in_an_expression(x):
    a = x.copy()
    return np.sum(np.exp(a, out=a))


def floor_in_an_expression(x):
    a = x * 1.0
    return np.sum(np.floor(a, out=a) * 0.0 + a * x)


@pytest.mark.parametrize("f", [negate_in_place, clip_in_place, exp_in_place, floor_in_place])
def test_out_as_a_statement_is_differentiated_in_both_modes(f):
    check_grads(f, X + 0.13, order=1)  # off clip's corners and floor's steps


def test_a_non_differentiable_ufunc_writing_a_float_array_in_an_expression_is_refused_in_both_modes():
    with pytest.raises(FluxpyError, match=r"floor\(\.\.\., out"):
        fx.gradient(floor_in_an_expression, X)
    with pytest.raises(FluxpyError, match=r"floor\(\.\.\., out"):
        fx.jvp(floor_in_an_expression, (X,), (np.ones(3),))


def clip_method_in_place(x):
    a = x.copy()
    a.clip(1.5, 2.5, out=a)
    return np.sum(a * x)


def constant_written_out(x):
    b = np.zeros(3)
    np.exp(np.ones(3), out=b)  # nothing with a tangent reaches the call or its out=
    return np.sum(b * x)


@pytest.mark.parametrize("f", [negate_in_an_expression, clip_in_an_expression, exp_in_an_expression])
def test_forward_mode_refuses_out_as_reverse_mode_does(f):
    with pytest.raises(FluxpyError) as reverse:
        fx.gradient(f, X)
    with pytest.raises(FluxpyError) as forward:
        fx.jvp(f, (X,), (np.ones(3),))
    assert str(forward.value) == str(reverse.value)
    assert "(..., out=...) changes an array in place" in str(forward.value)


def test_forward_mode_refuses_an_array_methods_out():
    with pytest.raises(FluxpyError, match=r"clip\(\.\.\., out=\.\.\.\) changes an array in place"):
        fx.jvp(clip_method_in_place, (X,), (np.ones(3),))


def test_out_with_no_tangent_reaching_it_runs():
    y, t = fx.jvp(constant_written_out, (X,), (np.ones(3),))
    assert y == constant_written_out(X) and t == pytest.approx(3 * np.e)


# ---------------------------------------------------------------------------------------------------------
# super() under fx.jvp: a classmethod's super().make(...), a constructor's super().__init__(...)


class Base:
    def __init__(self, w):
        self.w = w

    @classmethod
    def make(cls, w):
        return cls(w)


class Derived(Base):
    @classmethod
    def make(cls, w):
        return super().make(w * 3)


def made_by_super(w, x):
    return Derived.make(w).w * x


class Parent:
    def __init__(self, channels, k=1.0):
        self.channels = channels
        self.k = k


class Child(Parent):
    def __init__(self, w):
        super().__init__(2, 3.0)
        self.w = w


class ChildMoving(Parent):
    def __init__(self, w):
        super().__init__(2, w * w)
        self.w = w


def built_by_parent(w):
    b = Child(w)
    return b.w * b.channels * b.k


def built_by_parent_moving(w):
    b = ChildMoving(w)
    return b.w * b.channels * b.k


def test_super_classmethod_in_forward_mode():
    assert fx.jvp(made_by_super, (1.5, 2.0), (1.0, 0.0)) == (9.0, 6.0)
    check_grads(made_by_super, 1.5, 2.0, order=2, forward=True)


@pytest.mark.parametrize("f", [built_by_parent, built_by_parent_moving])
def test_super_init_sets_the_parents_fields_in_forward_mode(f):
    y, t = fx.jvp(f, (1.0,), (1.0,))
    assert y == f(1.0) and t == fx.gradient(f, 1.0)[0]
    check_grads(f, 1.0, order=2, forward=True)


# ---------------------------------------------------------------------------------------------------------
# NumPy functions given lists and tuples, as NumPy takes them


W = np.array([1.0, 2.0, 3.0])

LIST_CASES = {
    "det": lambda x: np.linalg.det([[x[0], x[1]], [x[2], x[0]]]),
    "solve": lambda x: np.sum(np.linalg.solve([[x[0], 1.0], [0.5, x[1]]], [x[2], 1.0])),
    "inv": lambda x: np.sum(np.linalg.inv([[x[0], 1.0], [0.5, x[1]]])),
    "trace": lambda x: np.trace([[x[0], 1.0], [0.5, x[1]]]) * x[2],
    "cross": lambda x: np.sum(np.cross([x[0], x[1], 0.0], [0.0, 1.0, x[2]]) ** 2),
    "cross of integers": lambda x: np.sum(np.cross([0, 0, 1], x) ** 2),
    "dot of integers": lambda x: np.dot([1, 2, 3], x) ** 2,
    "outer": lambda x: np.sum(np.outer([x[0], x[1]], [x[2], 1.0]) ** 2),
    "maximum": lambda x: np.sum(np.maximum([x[0] - 2, x[1]], 0.0) ** 2),
    "maximum of integers": lambda x: np.sum(np.maximum(x, [1, 1, 4]) ** 2),
    "exp": lambda x: np.sum(np.exp([x[0], 1.0])),
    "sin of a tuple": lambda x: np.sum(np.sin((x[0], x[1] * x[2]))),
    "norm": lambda x: np.linalg.norm([x[0], 3.0, x[1]]),
    "norm by keyword": lambda x: np.linalg.norm(x=[x[0], x[1]]),
    "einsum": lambda x: np.einsum("ij,j->", [[x[0], 1.0], [0.0, x[1]]], [x[2], 1.0]),
    "clip": lambda x: np.sum(np.clip([x[0], 5.0, x[2]], 0.0, 2.5) * W),
    "clip bounds": lambda x: np.sum(np.clip(x, [0.0, 2.5, 0.0], [2.5, 3.0, 2.5]) * W),
    "where": lambda x: np.sum(np.where([True, False], [x[0], x[1]], [x[2], 1.0]) ** 2),
    "sum over an axes tuple": lambda x: np.sum([[x[0], x[1]], [x[2], 1.0]], (0, 1)) ** 2,
    "reshape": lambda x: np.sum(np.reshape([x[0], x[1], x[2], 1.0], (2, 2)) @ W[:2]),
    "diff": lambda x: np.sum(np.diff([x[0], x[1] ** 2, x[2]]) ** 2),
    "interp": lambda x: np.interp(0.5, [0.0, 1.0], [x[0], x[1]]) * x[2],
    "matmul": lambda x: np.sum(np.matmul([[x[0], 1.0], [0.5, x[1]]], [x[2], 2.0]) ** 2),
    "@ a list": lambda x: np.sum((np.array([[x[0], 1.0], [0.5, x[1]]]) @ [x[2], 2.0]) ** 2),
    "percentile": lambda x: np.sum(np.percentile(x, [25.0, 75.0])),
    "pad": lambda x: np.sum(np.pad([x[0], x[1]], (1, 1)) * np.arange(4)),
    "stack": lambda x: np.sum(np.stack([x[0], x[1]]) ** 2),
    "concatenate": lambda x: np.sum(np.concatenate([[x[0]], [x[1], x[2]]]) ** 2),
    "linspace": lambda x: np.sum(np.linspace([0.0, x[0]], [x[1], 2.0], 4) ** 2),
    "take": lambda x: np.sum(np.take([x[0], x[1], x[2]], [0, 2]) ** 2),
    "fft": lambda x: np.sum(np.abs(np.fft.fft([x[0], x[1], x[2]])) ** 2),
    "eigvalsh": lambda x: np.sum(np.linalg.eigvalsh([[x[0], 0.3], [0.3, x[1]]])),
    "tril": lambda x: np.sum(np.tril([[x[0], x[1]], [x[2], 1.0]]) ** 2),
    "vecdot": lambda x: np.linalg.vecdot([x[0], x[1]], [x[2], 1.0]),
}


@pytest.mark.parametrize("name", list(LIST_CASES))
def test_numpy_functions_take_lists(name):
    f = LIST_CASES[name]
    check_grads(f, X, order=2, forward=True)


def vecdot_of_vectors(x):
    return np.linalg.vecdot(x[:2], x[1:]) + np.vecdot(x[1:], x[:2])


def test_vecdot_of_vectors_in_forward_mode():
    check_grads(vecdot_of_vectors, X, order=2, forward=True)


M = [[1.5, 0.3], [0.2, 2.0]]


def det_of(m):
    return np.linalg.det(m)


def solve_sum(m, v):
    return np.sum(np.linalg.solve(m, v))


def exp_sum(v):
    return np.sum(np.exp(v))


def test_a_list_arguments_gradient_is_a_list_of_its_structure():
    (g,) = fx.gradient(det_of, M)
    assert type(g) is list and all(type(row) is list for row in g)
    np.testing.assert_allclose(g, [[2.0, -0.2], [-0.3, 1.5]])
    (g,) = fx.gradient(det_of, ((1.5, 0.3), (0.2, 2.0)))
    assert type(g) is tuple and all(type(row) is tuple for row in g)
    gm, gv = fx.gradient(solve_sum, M, (1.0, 2.0))
    assert type(gm) is list and type(gv) is tuple
    check_grads(det_of, M, order=2, forward=True)
    check_grads(solve_sum, M, [1.0, 2.0], order=2, forward=True)


def test_a_list_with_a_tangent_for_some_items():
    y, t = fx.jvp(exp_sum, ([1.0, 2.0],), ([1.0, None],))
    assert y == exp_sum([1.0, 2.0]) and t == pytest.approx(np.e)


def test_shapes_and_axes_stay_sequences():
    # integer tuples in parameters that are not arrays (shapes, axes, pad widths) are not read as arrays
    assert registry.lookup(np.reshape)(np.arange(4.0), (2, 2))[0].shape == (2, 2)
    y, back = registry.lookup(np.sum)(np.ones((2, 2)), (0, 1))
    assert y == 4.0 and back(1.0)[0].shape == (2, 2)


@pytest.mark.parametrize("name", ["solve", "cross", "einsum", "clip bounds", "@ a list", "linspace"])
def test_hessian_vector_products_through_lists(name):
    f, v = LIST_CASES[name], np.array([0.3, -0.7, 1.1])
    np.testing.assert_allclose(fx.hvp(f, X, v), fx.hessian(f, X) @ v, rtol=1e-6, atol=1e-9)


def astype_of_a_list(x):
    return np.sum(np.astype([x[0], 1.0], np.float32))


def test_what_numpy_refuses_stays_refused():
    with pytest.raises(TypeError):
        astype_of_a_list(X)  # NumPy's astype takes arrays only
    with pytest.raises((TypeError, AttributeError)):
        fx.gradient(astype_of_a_list, X)
