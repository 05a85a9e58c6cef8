"""Hunt 19: writes into arguments that the write-back form (normalize/anf_writeback.py) did not hand back.
Each pattern either gives Python's value and gradients, or is refused with a FluxpyError naming the user's
file and line: never a silently lost write."""

import functools

import numpy as np
import pytest

import fluxpy as fx
from fluxpy.testing import check_grads

X = np.array([0.7, 0.4])


# -- callees ----------------------------------------------------------------------------------------------
def put(d, x):
    d["v"] = x * 3.0


def put_by_keyword(x, d=None):
    d["v"] = x * 2
    return 1.0


def put_kwonly(x, *, out):
    out["v"] = x * 2.0


def put_scaled(scale, d, x):
    d["v"] = x * scale


def put_returning(d, x):
    d["b"] = x * 3.0
    return x


def rec(n, d, x):
    if n == 0:
        return x
    d[n] = rec(n - 1, d, x) * x
    return d[n]


def accumulate(d, x):
    d["v"] = d["v"] + x
    return d["v"]


def put_returning_dict(d, x):
    d["v"] = x * 3.0
    return d


def put_then_raise(d, x):
    d["v"] = x * 3.0
    raise ValueError("boom")


def add_into_item(d, x):
    d["w"] += x


def bump(arr, x):
    arr[0] = x[0] * 5


def take(d, k):
    return d.pop(k)


def logged(fn):
    @functools.wraps(fn)
    def wrapper(*a, **k):
        return fn(*a, **k)

    return wrapper


@logged
def put_decorated(d, x):
    d["v"] = x * 3.0


class Box:
    def __init__(self):
        self.v = 0.0

    def __setitem__(self, k, v):
        self.v = v

    def __getitem__(self, k):
        return self.v


class Cache:
    def __init__(self):
        self.cache = {}


class Net:
    def __init__(self, w):
        self.params = {"W": w}
        put(self.params, w)


class NetRebound:
    def __init__(self, w):
        self.params = {"v": w}
        self.params = put_returning_dict(self.params, w)


# -- fixed: the value and the gradients as Python computes them --------------------------------------------
def by_keyword(x):  # 01
    d = {"v": 1.0}
    put_by_keyword(np.sum(x), d=d)
    return d["v"] * np.sum(x)


def keyword_only(x):  # 02
    d = {"v": 1.0}
    put_kwonly(np.sum(x), out=d)
    return d["v"] * np.sum(x)


def through_partial(x):  # 03
    d = {"v": 1.0}
    p = functools.partial(put_scaled, 3.0)
    p(d, np.sum(x))
    return d["v"] * np.sum(x)


def call_inside_write(x):  # 07
    d = {}
    d["a"] = put_returning(d, np.sum(x)) * 2.0
    return d["a"] * d["b"]


def recursion_inside_write(x):  # 08
    d = {}
    v = rec(3, d, np.sum(x))
    return v + d[1] + d[2]


def two_writers_in_one_expression(x):  # 21
    d = {"v": 1.0}
    return accumulate(d, np.sum(x)) * accumulate(d, np.sum(x) * 2) + d["v"]


def item_stored_back(x):  # the rewrite the refusals suggest
    D = {"inner": {"v": 1.0}}
    D["inner"] = put_returning_dict(D["inner"], np.sum(x))
    return D["inner"]["v"] * np.sum(x)


def attribute_stored_back(w):  # 27, rewritten
    n = NetRebound(w)
    return np.sum(n.params["v"] ** 2)


FIXED = [
    by_keyword,
    keyword_only,
    through_partial,
    call_inside_write,
    recursion_inside_write,
    two_writers_in_one_expression,
    item_stored_back,
    attribute_stored_back,
]


@pytest.mark.parametrize("f", FIXED, ids=[f.__name__ for f in FIXED])
def test_value_as_python_computes_it(f):
    value, _ = fx.withgradient(f, X)
    assert np.isclose(value, f(X.copy()), rtol=1e-12)


@pytest.mark.parametrize("f", FIXED, ids=[f.__name__ for f in FIXED])
def test_gradients_in_every_mode_to_second_order(f):
    check_grads(f, X, order=2)


# -- refused: a FluxpyError naming the user's line ---------------------------------------------------------
def also_in_a_list(x):  # 04
    d = {"v": 1.0}
    holder = [d]
    put(d, np.sum(x))
    return d["v"] + holder[0]["v"]


def inner_dict_held_by_another(x):  # 05
    inner = {"v": 1.0}
    d = {"a": inner}
    put(inner, np.sum(x))
    return d["a"]["v"] * np.sum(x)


def raises_after_writing(x):  # 06
    d = {"v": 1.0}
    try:
        put_then_raise(d, np.sum(x))
    except ValueError:
        pass
    return d["v"] * np.sum(x)


def class_with_setitem(x):  # 09
    b = Box()
    put(b, np.sum(x))
    return b["k"] * np.sum(x)


def closure_writer(x):  # 10
    d = {"k": 1.0}

    def put_here(e, y):
        e["k"] = y * d["k"]

    put_here(d, np.sum(x))
    return d["k"]


def caller_alias(x):  # 18
    d = {"v": 1.0}
    e = d
    put(d, np.sum(x))
    return e["v"] * np.sum(x)


def dict_item_argument(x):  # 19
    D = {"inner": {"v": 1.0}}
    put(D["inner"], np.sum(x))
    return D["inner"]["v"] * np.sum(x)


def attribute_argument(x):  # 20
    c = Cache()
    put(c.cache, np.sum(x))
    return c.cache["v"] * np.sum(x)


def pop_in_a_callee(x):  # 22
    d = {"a": x * 2, "b": x**2}
    a = take(d, "a")
    return np.sum(a * d["b"]) + len(d)


def decorated_writer(x):  # 23
    d = {"v": 1.0}
    put_decorated(d, np.sum(x))
    return d["v"] * np.sum(x)


def starred_arguments(x):  # 24
    d = {"v": 1.0}
    args = (d, np.sum(x))
    put(*args)
    return d["v"] * np.sum(x)


def double_starred_arguments(x):  # 25
    d = {"v": 1.0}
    put(**{"d": d, "x": np.sum(x)})
    return d["v"] * np.sum(x)


def through_map_and_lambda(x):  # 26
    d = {"v": 0.0}
    list(map(lambda v: accumulate(d, v), x))
    return d["v"] * 2


def attribute_in_constructor(w):  # 27
    n = Net(w)
    return np.sum(n.params["W"] ** 2)


def array_item_also_named(x):  # 28
    w = x * 2
    d = {"w": w}
    add_into_item(d, x)
    return np.sum(w * x) + np.sum(d["w"])


def array_in_a_list_item(x):  # 29
    lst = [np.zeros(2), np.ones(2)]
    bump(lst[0], x)
    return np.sum(lst[0] * x)


REFUSED = [
    (
        also_in_a_list,
        r"put \(test_writeback_hunt19.py:\d+\) writes into its argument 'd', .* through 'holder'",
    ),
    (inner_dict_held_by_another, r"writes into its argument 'd', .* through 'd' \(line \d+\)"),
    (raises_after_writing, r"put_then_raise .* may raise, and the caller calls it inside a `try`"),
    (class_with_setitem, r"assigning items of a Box is not supported"),
    (closure_writer, r"^closure_writer.<locals>.put_here writes into its argument 'e' in place "),
    (caller_alias, r"writes into its argument 'd', .* through 'e'"),
    (dict_item_argument, r"put writes into its argument 'd' in place .* reads \"D\['inner'\]\""),
    (attribute_argument, r"put writes into its argument 'd' in place .* reads 'c.cache'"),
    (pop_in_a_callee, r"dict.pop changes a dict in place"),
    (decorated_writer, r"put_decorated .* passes its parameter 'a' on"),
    (
        starred_arguments,
        r"put \(test_writeback_hunt19.py:\d+\) may write into its argument 'd', .* `\*args \(its item 0\)`",
    ),
    (double_starred_arguments, r"may write into its argument 'd', which the caller passes as `\*\*"),
    (through_map_and_lambda, r"accumulate writes into its argument 'd' in place"),
    (attribute_in_constructor, r"put writes into its argument 'd' in place .* reads 'self.params'"),
    (array_item_also_named, r"add_into_item .* through 'w'"),
    (array_in_a_list_item, r"bump writes into its argument 'arr' in place .* reads 'lst\[0\]'"),
]


@pytest.mark.parametrize("f, message", REFUSED, ids=[f.__name__ for f, _ in REFUSED])
def test_refused_with_a_clear_message(f, message):
    with pytest.raises(fx.FluxpyError, match=message) as info:
        fx.gradient(f, X)
    text = str(info.value)
    assert "test_writeback_hunt19.py" in text  # the user's file and line
    assert "__fx" not in text and "<fluxpy" not in text and "handing back" not in text  # no generated names


def test_the_message_of_a_pop_in_a_write_back_callee_quotes_the_users_line():
    with pytest.raises(fx.FluxpyError) as info:
        fx.gradient(pop_in_a_callee, X)
    assert "return d.pop(k)" in str(info.value)


def test_a_dict_passed_by_keyword_to_a_reader_is_fine():
    def reads(x, d=None):
        return d["v"] * x

    def f(x):
        d = {"v": 2.0}
        y = reads(np.sum(x), d=d)
        return y * d["v"]

    check_grads(f, X, order=2)


def test_a_call_in_a_try_that_writes_and_cannot_raise_is_fine():
    def f(x):
        d = {"v": 1.0}
        try:
            put(d, np.sum(x))
        except ValueError:
            pass
        return d["v"] * np.sum(x)

    assert np.isclose(fx.withgradient(f, X)[0], f(X))
    check_grads(f, X, order=2)


def one_array_in_several_slots(x):  # 8: Python's `+=` changes the one array every slot holds
    buf = [np.zeros(2)] * 3
    buf[0] += x
    return np.sum(buf[1] * x)


def one_array_per_slot(x):  # the nearby valid case
    buf = [np.zeros(2) for _ in range(3)]
    buf[0] += x
    d = {"a": x * 3}
    d["a"] += x
    return np.sum(buf[0] * x) + np.sum(buf[1]) + np.sum(d["a"])


def test_an_op_on_one_object_in_several_slots_is_refused():
    with pytest.raises(fx.FluxpyError, match=r"the list also holds at \[1\]") as info:
        fx.gradient(one_array_in_several_slots, X)
    assert "buf[0] += x" in str(info.value)


def test_an_op_on_an_item_of_its_own_is_fine():
    assert np.isclose(fx.withgradient(one_array_per_slot, X)[0], one_array_per_slot(X.copy()))
    check_grads(one_array_per_slot, X, order=2)
