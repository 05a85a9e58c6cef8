"""Bug hunt 16 (scientific NumPy programs): aliasing of parameters, view makers decided at run time, and
``where=`` on reductions.

1. A function that writes into its parameter (``x[i] = v``, ``x op= v``, ``x.sort()``) while another
   parameter, a global or a captured variable that it reads after the write is that object, shares memory
   with it or holds it: Python shows the write through the other name, fluxpy's write goes to a copy. A
   check at entry refuses it (normalize/parameters.alias_checks, runtime.check_param_aliases).
2. ``v = np.asarray(y)`` and NumPy's other calls that may return their argument or a view of it: a write into
   ``v`` is refused at run time where ``v`` really shares memory with ``y`` (``np.asarray(a.shape)``,
   ``np.asarray`` of a list are new arrays).
3. ``where=`` on reductions: refused with the user's line and a rewrite that gives NumPy's value.
"""

import inspect

import numpy as np
import pytest

import fluxpy as fx
from fluxpy.errors import FluxpyError, TransformError
from fluxpy.testing import check_grads

X = np.array([1.0, 2.0, 3.0])


def line_of(f, text):
    lines, first = inspect.getsourcelines(f)
    return first + next(i for i, line in enumerate(lines) if text in line)


# ---------------------------------------------------------------------------------------------------------
# 1. a write into a parameter that another name the function reads afterwards also holds


def step(x, x_prev):
    x -= 0.5
    return np.sum(x * x_prev)


def item_write(a, b):
    a[0] = 100.0
    return np.sum(a * b)


def sorts_index(idx, other, x):
    idx.sort()
    return np.sum(x[other])


def extends_list(lst, other):
    lst += [3.0]
    return sum(other)


G = np.array([1.0, 2.0, 3.0])


def writes_global_parameter(p):
    p[0] = 10.0
    return np.sum(p * G)


def make_closure():
    c = np.array([1.0, 2.0, 3.0])

    def writes_captured(x):
        x *= 2.0
        return np.sum(x * c)

    return writes_captured, c


def reads_a_holder(x, d):
    x[1] = 0.0
    return np.sum(x) + np.sum(d["k"])


def reads_in_a_closure(x, y):
    total = lambda: np.sum(y)  # noqa: E731  (read after the write, when called)
    x[0] = 5.0
    return total() * np.sum(x)


REFUSED = [
    pytest.param(step, lambda: (X.copy(),) * 2, "step", "x", "x_prev", "is the same array", id="op=-same"),
    pytest.param(item_write, lambda: (X.copy(),) * 2, "item_write", "a", "b", "is the same", id="item-same"),
    pytest.param(
        item_write,
        lambda: (lambda a: (a, a[:2]))(X.copy()),
        "item_write",
        "a",
        "b",
        "shares memory",
        id="b-views-a",
    ),
    pytest.param(
        item_write,
        lambda: (lambda b: (b[1:], b))(X.copy()),
        "item_write",
        "a",
        "b",
        "shares memory",
        id="a-views-b",
    ),
    pytest.param(
        sorts_index,
        lambda: (lambda i: (i, i, X))(np.array([2, 0, 1])),
        "sorts_index",
        "idx",
        "other",
        "is the same array",
        id="method-write",
    ),
    pytest.param(
        reads_a_holder,
        lambda: (lambda x: (x, {"k": x}))(X.copy()),
        "reads_a_holder",
        "x",
        "d",
        "holds it",
        id="holder",
    ),
    pytest.param(
        reads_in_a_closure,
        lambda: (X.copy(),) * 2,
        "reads_in_a_closure",
        "x",
        "y",
        "is the same",
        id="lambda",
    ),
]


@pytest.mark.parametrize("f, args, function, name, other, how", REFUSED)
def test_a_write_into_a_parameter_another_name_holds_is_refused(f, args, function, name, other, how):
    """Plain Python would show the write through ``other``: refused in every mode, naming the function, the
    write's line and both names, with the fix."""
    for run in (
        lambda: fx.gradient(f, *args()),
        lambda: fx.withgradient(f, *args()),
        lambda: fx.jvp(f, args(), tuple({} if isinstance(a, dict) else np.ones(np.shape(a)) for a in args())),
    ):
        with pytest.raises(FluxpyError, match=f"{function} writes into its parameter '{name}'") as caught:
            run()
        message = str(caught.value)
        assert not isinstance(caught.value, TransformError)
        assert f"while '{other}', a parameter it reads afterwards, {how}" in message
        assert f"`{name} = {name}.copy()`" in message
        assert f"{__name__.split('.')[-1]}.py:" in message  # the write's line


def test_the_message_names_the_write():
    with pytest.raises(FluxpyError) as caught:
        fx.hessian(lambda x: step(x, x), X.copy())
    message = str(caught.value)
    assert f"(test_hunt16_aliases.py:{line_of(step, 'x -= 0.5')}: `x -= 0.5`)" in message
    assert f'File "{__file__}", line {line_of(step, "def step")}' in message
    assert "Pass a copy (`step(x.copy(), ...)`)" in message


@pytest.mark.parametrize(
    "f, args",
    [
        pytest.param(step, lambda: (X.copy(), X.copy()), id="op="),
        pytest.param(item_write, lambda: (X.copy(), X + 1.0), id="item"),
        pytest.param(reads_a_holder, lambda: (X.copy(), {"k": X + 1.0}), id="holder"),
        pytest.param(reads_in_a_closure, lambda: (X.copy(), X + 2.0), id="lambda"),
    ],
)
def test_distinct_arguments_are_differentiated(f, args):
    check_grads(f, *args(), order=2)


def test_a_global_parameter_is_refused_and_a_copy_is_not():
    with pytest.raises(FluxpyError, match="while 'G', a global it reads afterwards, is the same array"):
        fx.withgradient(writes_global_parameter, G)
    with pytest.raises(FluxpyError, match="'G', a global it reads afterwards, shares memory"):
        fx.gradient(writes_global_parameter, G[:3])
    check_grads(writes_global_parameter, G.copy(), order=2)
    np.testing.assert_array_equal(G, [1.0, 2.0, 3.0])  # never written


def test_a_captured_variable_is_refused_and_a_copy_is_not():
    f, c = make_closure()
    with pytest.raises(
        FluxpyError, match="while 'c', a captured variable it reads afterwards, is the same array"
    ):
        fx.gradient(f, c)
    check_grads(f, c.copy(), order=2)


def passes_one_list_twice(v):
    lst = [v, 2.0]
    return extends_list(lst, lst)


def test_a_list_parameter_extended_in_place_is_refused():
    with pytest.raises(FluxpyError, match="writes into its parameter 'lst'.*'other'.*is the same list"):
        fx.gradient(passes_one_list_twice, 1.0)
    assert fx.gradient(extends_list, [1.0, 2.0], [1.0, 2.0]) == (None, [1.0, 1.0])


def rebinds_numbers(a, b):
    a += 1.0
    return a * b


def reads_before_the_write(x, y):
    s = np.sum(y)  # read before the write: Python's y has the old values here too
    x[0] = 5.0
    return s * np.sum(x)


def rebinds_first(x, y):
    x = x * 1.0
    x[0] = 5.0
    return np.sum(x * y)


def interleaved(a, b):
    a[0] = 7.0
    return np.sum(a) * np.sum(b)


def test_writes_that_python_does_not_show_elsewhere_pass():
    """Numbers are rebound by Python too; a read before the write, a write after a rebinding and two slices
    that share no cell see no write: the same values as plain Python, and no check where none is needed."""
    assert fx.gradient(rebinds_numbers, 2.0, 2.0) == (2.0, 3.0)
    a = X.copy()
    assert fx.withgradient(reads_before_the_write, a, a).val == reads_before_the_write(X.copy(), X.copy())
    assert fx.withgradient(rebinds_first, a, a).val == rebinds_first(X.copy(), X.copy())
    base = np.arange(6.0)
    expected = interleaved(base.copy()[::2], base.copy()[1::2])
    assert fx.withgradient(interleaved, base[::2], base[1::2]).val == expected
    np.testing.assert_array_equal(base, np.arange(6.0))
    assert "__fx_check_param_aliases" not in fx.adjoint_source(rebinds_first)
    assert "__fx_check_param_aliases" in fx.adjoint_source(step)


def asarray_then_write(x, y):
    x = np.asarray(x, dtype=float)  # the caller's array itself, or a new one made from a list
    x[0] = 5.0
    return np.sum(x * y)


def test_a_write_after_asarray_of_the_parameter_is_checked_for_arrays():
    a = X.copy()
    with pytest.raises(FluxpyError, match="asarray_then_write writes into its parameter 'x'"):
        fx.gradient(asarray_then_write, a, a)
    check_grads(asarray_then_write, X.copy(), X + 1.0, order=2)
    assert fx.gradient(asarray_then_write, [1.0, 2.0, 3.0], X.copy())[1].tolist() == [5.0, 2.0, 3.0]


def center(x):
    x -= x.mean()
    return np.sum(x**3)


def test_a_view_only_the_caller_holds_is_still_the_functions_own():
    data = np.array([[1.0, 2.0, 4.0], [0.0, 1.0, 3.0]])
    (g,) = fx.gradient(center, data[0])
    np.testing.assert_allclose(g, fx.gradient(center, data[0].copy())[0])
    check_grads(center, data[0], order=2)
    np.testing.assert_array_equal(data, [[1.0, 2.0, 4.0], [0.0, 1.0, 3.0]])


def differentiated_caller(a):
    return step(a, a)


def test_a_differentiated_caller_passing_one_array_twice_is_refused():
    with pytest.raises(FluxpyError, match="step writes into its parameter 'x'"):
        fx.gradient(differentiated_caller, X.copy())


# ---------------------------------------------------------------------------------------------------------
# 2. writes into what a view maker returned: decided at run time


def shape_written(x):
    shape = np.asarray(x.shape)  # of a tuple: a new array
    shape[0] = 1
    return np.sum(x) * shape[0]


def list_made_an_array(x, lst):
    a = np.asarray(lst)  # of a list: a new array
    a[0] = 2.0
    return np.sum(a * x) + lst[0]


def fortran_copy(x):
    y = x * 1.0
    z = np.asfortranarray(y)  # of a C-ordered 2-D y: a copy
    z[0, 0] = 5.0
    return np.sum(z * y)


def test_view_makers_that_make_new_arrays_may_be_written():
    check_grads(shape_written, X.copy(), order=2)
    check_grads(lambda x: list_made_an_array(x, [1.0, 2.0, 3.0]), X.copy(), order=2)
    m = np.arange(1.0, 5.0).reshape(2, 2)
    assert fx.withgradient(fortran_copy, m).val == fortran_copy(m)
    check_grads(fortran_copy, m, order=2)


def same_array_written(y):
    y = y * 1.0
    z = np.asarray(y)
    z[0] = 5.0
    return np.sum(z)


def held_array_written(y):
    d = {"k": y * 1.0}
    z = np.asarray(d["k"])
    z[0] = 5.0
    return np.sum(z)


def conj_written(y):
    y = y * 1.0
    z = y.conj()  # (its rule copies: refused when transformed)
    z[0] = 5.0
    return np.sum(y)


def test_view_makers_that_return_the_array_are_refused_at_run_time():
    with pytest.raises(
        FluxpyError, match=r"writing into 'z', which is the same object as 'y'.*as `np.asarray\(y\)`"
    ):
        fx.gradient(same_array_written, X.copy())
    with pytest.raises(FluxpyError, match=r"writing into 'z', which is a part of 'd'"):
        fx.gradient(held_array_written, X.copy())
    with pytest.raises(TransformError, match="writing into 'z', which may be a view of another array"):
        fx.gradient(conj_written, X.copy())


def test_scipy_logsumexp_gets_past_its_shape_array():
    special = pytest.importorskip("scipy.special")
    try:
        (g,) = fx.gradient(lambda x: special.logsumexp(x), X.copy())
    except FluxpyError as e:  # (scipy's other internals, or a rule still to come)
        assert "writing into 'shape'" not in str(e)
    else:
        np.testing.assert_allclose(g, np.exp(X) / np.sum(np.exp(X)))


# ---------------------------------------------------------------------------------------------------------
# 3. where= on reductions: refused, with a rewrite that gives NumPy's value


A = np.array([[1.0, -2.0, 3.0, 4.0], [0.5, 2.0, -1.5, 3.0]])
MASK = A > 0


def masked_mean(x):
    m = np.sum(np.where(MASK, x, 0), axis=1, keepdims=True) / np.sum(MASK, axis=1, keepdims=True)
    return m


WHERE = [
    ("sum", lambda x: np.sum(x, axis=1, where=MASK), lambda x: np.sum(np.where(MASK, x, 0), axis=1)),
    ("prod", lambda x: np.prod(x, axis=1, where=MASK), lambda x: np.prod(np.where(MASK, x, 1), axis=1)),
    (
        "max",
        lambda x: np.max(x, axis=1, where=MASK, initial=-9.0),
        lambda x: np.max(np.where(MASK, x, -9.0), axis=1),
    ),
    (
        "min",
        lambda x: np.min(x, axis=1, where=MASK, initial=9.0),
        lambda x: np.min(np.where(MASK, x, 9.0), axis=1),
    ),
    (
        "mean",
        lambda x: x.mean(axis=1, where=MASK),
        lambda x: np.sum(np.where(MASK, x, 0), axis=1) / np.sum(MASK, axis=1),
    ),
    (
        "var",
        lambda x: np.var(x, axis=1, where=MASK, ddof=1),
        lambda x: np.sum(np.where(MASK, x - masked_mean(x), 0) ** 2, axis=1) / (np.sum(MASK, axis=1) - 1),
    ),
    (
        "std",
        lambda x: np.std(x, axis=1, where=MASK),
        lambda x: np.sqrt(np.sum(np.where(MASK, x - masked_mean(x), 0) ** 2, axis=1) / np.sum(MASK, axis=1)),
    ),
    (
        "nanmean",
        lambda x: np.nanmean(x, axis=1, where=MASK),
        lambda x: np.nanmean(np.where(MASK, x, np.nan), axis=1),
    ),
    (
        "nanstd",
        lambda x: np.nanstd(x, axis=1, where=MASK),
        lambda x: np.nanstd(np.where(MASK, x, np.nan), axis=1),
    ),
]


@pytest.mark.parametrize("name, with_where, rewrite", WHERE, ids=[w[0] for w in WHERE])
def test_where_gives_the_gradient_of_a_rewrite_of_the_same_value(name, with_where, rewrite):
    # where= was refused with these rewrites as the hint; it is supported now (rules/numpy_reductions.py)
    np.testing.assert_allclose(rewrite(A), with_where(A))
    (g,) = fx.gradient(lambda x: np.sum(with_where(x) ** 2), A.copy())
    (expected,) = fx.gradient(lambda x: np.sum(rewrite(x) ** 2), A.copy())
    np.testing.assert_allclose(g, expected, rtol=1e-12, atol=1e-12)
    check_grads(lambda x: np.sum(rewrite(x) ** 2), A.copy(), order=2)


def test_where_on_a_reduction_runs_in_forward_mode_where_it_is_linear():
    t = np.arange(8.0).reshape(2, 4)
    for f in (lambda x: np.sum(x, where=MASK), lambda x: np.mean(x, where=MASK)):
        _, tangent = fx.jvp(f, (A.copy(),), (t,))
        assert tangent == pytest.approx(f(t))


# ---------------------------------------------------------------------------------------------------------
# 4. eigh's symmetric gradient: check_grads along any direction needs a symmetrised input (documented)


def test_eigvalsh_symmetrised_passes_check_grads():
    s = np.array([[4.0, 1.0, 0.5], [1.0, 3.0, 0.2], [0.5, 0.2, 2.0]])
    check_grads(lambda a: np.sum(np.linalg.eigvalsh(0.5 * (a + a.T)) ** 3), s, order=2)
