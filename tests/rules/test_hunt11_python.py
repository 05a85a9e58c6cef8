"""Bug hunt 11 (Python rules): in-place functions of ``operator`` and explicit dunder calls, repeated
fancy indices given as tuples, forward rules of the nan-reductions, ``max``/``min`` calling their key once
per item, and smaller gaps (``math.prod``, ``complex()``, ``ndarray.tolist``, ``np.ndenumerate``,
``lru_cache`` wrappers, error messages that name the user's line)."""

import functools
import math
import operator
import warnings
from collections import defaultdict

import numpy as np
import pytest

import fluxpy as fx
from fluxpy.testing import check_grads

X3 = np.array([0.7, -1.2, 1.9])
X4 = np.array([0.7, -1.2, 1.9, 0.4])
HERE = "test_hunt11_python.py"


def _refused(f, x, match):
    """``f`` is refused in reverse and in forward mode, with a FluxpyError naming this file's line."""
    for run in (lambda: fx.gradient(f, x), lambda: fx.jvp(f, (x,), (np.ones_like(x),))):
        with pytest.raises(fx.FluxpyError, match=match) as e:
            run()
        assert HERE in str(e.value)


# ---------------------------------------------------------------------------------------------------------
# 1. in-place functions of the operator module, and dunders called explicitly


def setitem_array(x):
    a = np.zeros(3)
    operator.setitem(a, 1, x)
    return np.sum(a) * 2


def setitem_list(x):
    lst = [0.0, 0.0]
    operator.setitem(lst, 0, x)
    return sum(lst) * 2


def setitem_dict(x):
    d = {}
    operator.setitem(d, "k", x)
    return d["k"] * 2


def delitem_dict(x):
    d = {"k": x, "j": 1.0}
    operator.delitem(d, "j")
    return d["k"]


def iadd_array(x):
    a = np.ones(2) * x
    b = operator.iadd(a, x)
    return np.sum(a * b)


def isub_array(x):
    a = np.ones(2)
    operator.isub(a, x)
    return np.sum(a) * 2


def iadd_list(x):
    lst = [1.0]
    operator.iadd(lst, [x])
    return sum(lst) * 2


def iconcat_list(x):
    lst = [x]
    operator.iconcat(lst, [x * 2])
    return lst[0] * lst[1]


def ior_dict(x):
    d = {"a": x}
    operator.ior(d, {"b": x * 2})
    return d["a"] * d["b"]


def dunder_iadd(x):
    a = np.ones(2)
    np.ndarray.__iadd__(a, x)
    return np.sum(a) * 2


def unbound_list_setitem(x):
    lst = [0.0, 0.0]
    list.__setitem__(lst, 0, x)
    return sum(lst)


def unbound_dict_setitem(x):
    d = {}
    dict.__setitem__(d, "k", x)
    return d["k"]


def unbound_fill(x):
    a = np.ones(2)
    np.ndarray.fill(a, x)
    return np.sum(a)


def reduce_iadd(x):
    a, b = np.ones(2) * x, np.ones(2)
    return np.sum(functools.reduce(operator.iadd, [a, b]) * a)


class Acc:
    def __init__(self, v):
        self.v = v

    def __iadd__(self, o):
        self.v = self.v + o
        return self


def iadd_mutating_object(x):
    a = Acc(x)
    operator.iadd(a, x * 2)
    return a.v * 3


@pytest.mark.parametrize(
    "f, match",
    [
        (setitem_array, r"operator.setitem changes an ndarray in place.*\n.*\n.*\nWrite the assignment"),
        (setitem_list, r"operator.setitem changes a list in place"),
        (setitem_dict, r"operator.setitem changes a dict in place"),
        (delitem_dict, r"operator.delitem changes a dict in place"),
        (iadd_array, r"operator.iadd changes an ndarray in place.*\n.*\n.*\nWrite the statement instead"),
        (isub_array, r"operator.isub changes an ndarray in place"),
        (iadd_list, r"operator.iadd changes a list in place"),
        (iconcat_list, r"operator.iconcat changes a list in place"),
        (dunder_iadd, r"ndarray.__iadd__ changes an ndarray in place"),
        (unbound_list_setitem, r"list.__setitem__ changes a list in place"),
        (unbound_dict_setitem, r"dict.__setitem__ changes a dict in place"),
        (unbound_fill, r"ndarray.fill changes an ndarray in place"),
        (reduce_iadd, r"operator.iadd changes an ndarray in place"),
        (iadd_mutating_object, r"operator.iadd changes an Acc in place"),
    ],
)
def test_in_place_operator_functions_are_refused(f, match):
    _refused(f, 1.3, match)


def test_operator_ior_on_a_dict_is_refused_in_reverse_mode_and_followed_in_forward_mode():
    with pytest.raises(fx.FluxpyError, match=r"operator.ior changes a dict in place") as e:
        fx.gradient(ior_dict, 1.5)
    assert HERE in str(e.value)
    assert fx.jvp(ior_dict, (1.5,), (1.0,)) == (4.5, 6.0)  # the dict and its tangent change alike


def immutable_in_place(x):
    t = (x[0],)
    u = operator.iadd(t, (x[1] * 2,))  # a tuple: a new one
    s = operator.imul(3.0, x[2])  # numbers: new values
    n = operator.iadd(2, 3)
    return u[0] * u[1] + operator.iadd(x[0], 1.0) * s + n + len(t)


def rebinding_in_place(x):
    a = np.ones(3) * x
    a = operator.iadd(a, x[0])  # rebinds `a`, as `a += x[0]` does
    a = operator.imul(a, x)
    b = operator.isub(a * 1.0, x[1])  # a new array no other name holds
    return np.sum(a * b)


def in_place_syntax(x):
    a = np.ones(3) * x
    a += x[0]  # arrays of other shapes: the operator's rule (not inlined)
    a *= x[1]
    a -= 1.0
    a /= 2.0
    a **= 2
    lst = list(x)
    lst += [x[0] * 2]
    acc = Acc(x[1])
    acc += x[2]
    holder = [Acc(x[0])]
    holder[0] += x[1]
    return np.sum(a) + sum(lst) * lst[-1] + acc.v * holder[0].v


@pytest.mark.parametrize("f", [immutable_in_place, rebinding_in_place, in_place_syntax])
def test_in_place_operators_that_rebind_or_make_new_values_are_differentiated(f):
    assert fx.withgradient(f, X3).val == pytest.approx(f(X3.copy()))
    check_grads(f, X3, order=2, forward=True)


def test_in_place_calls_without_floats_run_as_python_runs_them():
    def f(x):
        lst = [1, 2]
        operator.iadd(lst, [3])
        list.append(lst, 4)
        operator.setitem(lst, 0, 10)
        return x * len(lst) + lst[0]

    assert fx.withgradient(f, 1.5) == (16.0, (4.0,))
    assert fx.jvp(f, (1.5,), (1.0,)) == (16.0, 4.0)


# ---------------------------------------------------------------------------------------------------------
# 2. repeated fancy indices given as a tuple inside the index

W3 = np.array([5.0, 1.0, 1.0])


def write_tuple_index(x):
    a = np.zeros(3)
    a[(0, 0),] = x
    return np.sum(a * W3)


def read_tuple_index(x):
    return np.sum(x[(0, 0, 2),] * np.array([2.0, 3.0, 4.0]))


def test_repeated_indices_in_a_tuple_are_refused_with_advice_that_works():
    with pytest.raises(fx.FluxpyError, match="repeated indices") as e:
        fx.gradient(write_tuple_index, np.array([0.7, -1.2]))
    message = str(e.value)
    assert HERE in message and "np.unique" in message and "np.bincount" in message
    assert "np.add.at" not in message


IDX = np.array([0, 2, 0])


def last_write_per_index(v):  # the advice: write each cell once, the last value for each index
    a = np.zeros(3)
    u, last = np.unique(IDX[::-1], return_index=True)
    a[u] = v[::-1][last]
    return np.sum(a * W3)


def accumulate_per_index(v):  # the advice: add the values up
    a = np.ones(3)
    a = a + np.bincount(IDX, weights=v, minlength=len(a))
    return np.sum(a * a * W3)


def test_the_advised_rewrites_are_differentiated():
    def plain(v):
        a = np.zeros(3)
        a[IDX] = v  # NumPy: the last write wins
        return np.sum(a * W3)

    assert last_write_per_index(X3) == plain(X3)
    np.testing.assert_allclose(fx.gradient(last_write_per_index, X3)[0], [0.0, 1.0, 5.0])
    check_grads(last_write_per_index, X3, order=2, forward=True)
    check_grads(accumulate_per_index, X3, order=2, forward=True)


def test_reading_repeated_indices_in_a_tuple_accumulates():
    np.testing.assert_allclose(fx.gradient(read_tuple_index, X3)[0], [5.0, 0.0, 4.0])
    check_grads(read_tuple_index, X3, order=2, forward=True)


# ---------------------------------------------------------------------------------------------------------
# 3. forward rules of the nan-reductions: NaN entries have a zero tangent


def _masked(x):
    return np.where(x > 0, x, np.nan) ** 2  # the tangent is NaN where the value is


NAN_REDUCTIONS = {
    "nansum": lambda x: np.nansum(_masked(x)),
    "nansum_axis_keepdims": lambda x: np.nansum(_masked(x), 1, None, None, True),
    "nansum_initial": lambda x: np.nansum(_masked(x), axis=0, initial=2.0),
    "nanmean": lambda x: np.nanmean(_masked(x)),
    "nanmean_axis": lambda x: np.nanmean(_masked(x), axis=0, keepdims=True),
    "nanmax": lambda x: np.nanmax(_masked(x), axis=1),
    "nanmin": lambda x: np.nanmin(_masked(x)),
    "nanprod": lambda x: np.nanprod(_masked(x), axis=1),
    "nancumsum": lambda x: np.nancumsum(_masked(x), axis=1),
    "nancumprod": lambda x: np.nancumprod(_masked(x)),
    "nanvar": lambda x: np.nanvar(_masked(x), axis=1),
    "nanstd": lambda x: np.nanstd(_masked(x)),
    "nanmedian": lambda x: np.nanmedian(_masked(x), axis=0),
    "nanpercentile": lambda x: np.nanpercentile(_masked(x), 30.0, axis=1),
    "nanquantile": lambda x: np.nanquantile(_masked(x), 0.3),
    "nanargmax": lambda x: np.nanargmax(_masked(x)) * x[0, 0],
}
XM = np.array([[0.5, -1.0, 2.0], [1.5, 0.3, -0.2]])
TM = np.array([[1.0, 2.0, 3.0], [-1.0, 0.5, 2.0]])


@pytest.mark.parametrize("name", list(NAN_REDUCTIONS))
def test_nan_reductions_jvp_matches_the_jacobian(name):
    f = NAN_REDUCTIONS[name]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        y, t = fx.jvp(f, (XM,), (TM,))
        jacobian = fx.jacobian(f, XM)[0]
    expected = np.tensordot(jacobian, TM, axes=TM.ndim)
    assert np.all(np.isfinite(t))
    np.testing.assert_allclose(t, expected, atol=1e-12)
    assert np.shape(t) == np.shape(y)


def test_nansum_and_nanmean_jvp_from_the_hunt():
    x, t = np.array([0.5, -1.0, 2.0]), np.ones(3)
    assert fx.jvp(lambda x: np.nansum(_masked(x)), (x,), (t,))[1] == pytest.approx(5.0)
    assert fx.jvp(lambda x: np.nanmean(_masked(x)), (x,), (t,))[1] == pytest.approx(2.5)
    check_grads(lambda x: np.nansum(_masked(x)) + np.nanmean(_masked(x)), x, order=2, forward=True)


# ---------------------------------------------------------------------------------------------------------
# 4. max/min run their key once per item; ties keep their semantics


def test_key_runs_once_per_item():
    calls = []

    def key(t):
        calls.append(1)
        return (t - 0.5) ** 2

    fs = [
        lambda x: max(list(x), key=key),
        lambda x: min(list(x), key=key),
        lambda x: max(x[0], x[1], x[2], x[3], key=key),
        lambda x: sorted(list(x), key=key)[0],
    ]
    for f in fs:
        for run in (lambda: f(X4), lambda: fx.gradient(f, X4), lambda: fx.jvp(f, (X4,), (np.ones(4),))):
            calls.clear()
            run()
            assert len(calls) == 4


def test_max_min_with_a_key_choose_as_python_does():
    x = np.array([0.0, 1.0, -1.0, 0.5])  # keys 0.25, 0.25, 2.25, 0: max ties between items 0 and 1 first
    key = lambda t: (t - 0.5) ** 2  # noqa: E731
    np.testing.assert_allclose(fx.gradient(lambda x: max(list(x), key=key), x)[0], [0, 0, 1, 0])
    np.testing.assert_allclose(fx.gradient(lambda x: min(list(x), key=key), x)[0], [0, 0, 0, 1])
    y = np.array([0.0, 1.0, 0.2])  # the tie: Python returns the first extreme item, which alone gets it
    np.testing.assert_allclose(fx.gradient(lambda x: max(list(x), key=key), y)[0], [1, 0, 0])
    assert fx.jvp(lambda x: max(list(x), key=key), (y,), (np.array([1.0, 2.0, 3.0]),)) == (0.0, 1.0)
    check_grads(lambda x: max(list(x), key=key) * min(x[0], x[2], x[3], key=abs), X4, order=2, forward=True)


def test_ties_between_numbers_still_share_the_cotangent():
    x = np.array([2.0, 2.0, 1.0])
    np.testing.assert_allclose(fx.gradient(lambda x: max(list(x)), x)[0], [0.5, 0.5, 0.0])
    np.testing.assert_allclose(fx.gradient(lambda x: min(x[2], x[2] * 1.0, x[0]), x)[0], [0.0, 0.0, 1.0])
    assert fx.jvp(lambda x: max(list(x)), (x,), (np.array([1.0, 3.0, 5.0]),)) == (2.0, 2.0)


class V:
    def __init__(self, x, y):
        self.x = x
        self.y = y

    def __lt__(self, o):
        return self.x < o.x

    def __gt__(self, o):
        return self.x > o.x


def max_of_objects(x):
    a, b = V(x[0], x[1]), V(x[2], x[3])
    m = max([a, b])
    return m.x * 2 + m.y


def min_of_objects_by_key(x):
    m = min(V(x[0], x[1]), V(x[2], x[3]), key=lambda v: v.y)
    return m.x * m.y


@pytest.mark.parametrize("f", [max_of_objects, min_of_objects_by_key])
def test_max_min_of_objects_in_forward_mode(f):
    check_grads(f, X4, order=2, forward=True)
    assert fx.jvp(f, (X4,), (np.ones(4),))[1] == pytest.approx(fx.gradient(f, X4)[0].sum())


# ---------------------------------------------------------------------------------------------------------
# 5. math.prod, complex(), ndarray.tolist, np.ndenumerate, lru_cache, errors naming the user's line


@pytest.mark.parametrize(
    "f",
    [
        lambda x: math.prod([x[0], x[1], 2.0]),
        lambda x: math.prod([x[0], x[1]], start=x[2]),
        lambda x: np.sum(math.prod([x, x * 2.0])),
        lambda x: math.prod([]) * x[0],
    ],
)
def test_math_prod(f):
    check_grads(f, X3, order=2, forward=True)


def test_math_prod_values():
    assert fx.withgradient(lambda x: math.prod([x, x, 2.0]), 1.5) == (4.5, (6.0,))


@pytest.mark.parametrize(
    "f",
    [
        lambda x: abs(complex(x[0], 2 * x[1])),
        lambda x: abs(complex(real=x[0], imag=x[1])),
        lambda x: abs(complex(imag=x[1])),
        lambda x: np.imag(complex(x[0]) * (1 + 2j)),
        lambda x: (complex(x[0]) * (1 + 2j)).imag + complex(x[1], x[2]).real,
        lambda x: np.real(complex(x[0] + 1j * x[1], x[2] * 1j + x[0]) * (0.3 - 2j)),
        lambda x: x[0] * complex("1+2j").imag,
    ],
)
def test_complex_builtin(f):
    check_grads(f, X3, order=2, forward=True)


def test_complex_builtin_follows_the_convention():
    # the cotangent of z = a + ib is dL/da + i dL/db: a real part gets Re(dz), an imaginary part Im(dz)
    (g,) = fx.gradient(lambda z: np.real(complex(z, 2.0) * (0.5 - 1.5j)), 1.0 + 0j)
    assert g == pytest.approx(0.5 + 1.5j)
    assert fx.gradient(lambda a, b: np.imag(complex(a, b) * (0.5 - 1.5j)), 1.0, 2.0) == (
        pytest.approx(-1.5),
        pytest.approx(0.5),
    )


@pytest.mark.parametrize(
    "f",
    [
        lambda x: sum(np.array([x[0], 2 * x[1]]).tolist()),
        lambda x: sum(sum(row) for row in np.outer(x, x).tolist()),
        lambda x: np.outer(x, x).tolist()[1][2] * 3,
        lambda x: np.sum(x).tolist() ** 2,
    ],
)
def test_tolist(f):
    check_grads(f, X3, order=2, forward=True)


def test_tolist_gradient_is_an_array_of_the_same_shape():
    (g,) = fx.gradient(lambda x: x.tolist()[1][0] * 2.0, np.ones((2, 3)))
    assert type(g) is np.ndarray and g.shape == (2, 3)
    np.testing.assert_array_equal(g, [[0, 0, 0], [2, 0, 0]])


def enumerate_2d(x):
    total = 0.0
    for (i, j), v in np.ndenumerate(np.outer(x, x[:2])):
        total = total + v * (i + 2 * j + 1)
    return total


@pytest.mark.parametrize("f", [lambda x: sum(v * i[0] for i, v in np.ndenumerate(x)), enumerate_2d])
def test_ndenumerate(f):
    assert fx.withgradient(f, X3).val == pytest.approx(f(X3))
    check_grads(f, X3, order=2, forward=True)


@functools.cache
def cube(t):
    return t**3


def test_cache_wrapper_names_its_wrapped_function():
    with pytest.raises(fx.NoAdjointError, match=r"functools.lru_cache.*`cube.__wrapped__\(...\)`") as e:
        fx.gradient(lambda x: cube(x), 1.5)
    assert HERE in str(e.value)
    assert fx.gradient(lambda x: cube.__wrapped__(x), 1.5) == (pytest.approx(6.75),)


class Counts:
    def __init__(self):
        self.d = {}

    def __setitem__(self, k, v):
        self.d = {**self.d, k: v}


def write_defaultdict(x):
    d = defaultdict(float)
    for i, v in enumerate(x):
        d[i % 2] += v * v
    return d[0] * d[1]


def write_user_setitem(x):
    c = Counts()
    c["a"] = x[0]
    return c.d["a"]


def exception_interrupts_loop(x):
    y = x[0]
    try:
        for i in range(3):
            y = y * x[1]
            if i == 1:
                raise ValueError
    except ValueError:
        y = y + 1
    return y


@pytest.mark.parametrize(
    "f, match",
    [
        (write_defaultdict, r"assigning items of a defaultdict.*\n.*\n.*\nUse a plain dict"),
        (write_user_setitem, r"assigning items of a Counts.*\n.*\n.*\nfluxpy does not differentiate Counts"),
        (exception_interrupts_loop, r"an exception was caught after it interrupted a loop"),
    ],
)
def test_errors_name_the_users_line(f, match):
    with pytest.raises(fx.FluxpyError, match=match) as e:
        fx.gradient(f, X4)
    assert HERE in str(e.value)


def test_the_defaultdict_advice_works():
    def f(x):
        d = {}
        for i, v in enumerate(x):
            d[i % 2] = d.get(i % 2, 0.0) + v * v
        return d[0] * d[1]

    check_grads(f, X4, order=2, forward=True)
