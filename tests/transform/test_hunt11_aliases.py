"""Two names for one object, made other ways than ``b = a``: a bug hunt found these silently wrong.

In differentiated code ``x[i] = v`` (and ``x += v``, ``obj.a = v``) rebinds ``x`` to an updated copy, so a
write must not be one that plain Python would show through another name. Each case here either gives
Python's value and derivatives (reverse mode to second order and forward mode, against finite differences)
or raises a ``FluxpyError`` naming the user's line:

1. chained assignment ``a = b = v`` binds both names to one object (aliases.py, ``_Walker.chained``);
2. a value a call may return (an argument, its receiver, a variable a local function captures), a branch
   of ``a if c else b``, the rows of ``p, q = A``, ``with m(a) as b``: arrays are checked at run time
   where one name is written and the other read after (``aliases.Sources``, ``kept_views``); a method's
   result is refused as a write target (like ``d[k]``); a function that writes into an argument whose
   caller reads it afterwards is refused after ``z = fill(a, x)`` as after ``fill(a, x)``;
3. an attribute write on an object a call may have handed out again (``q = p.me()``);
4. ``A[0], A[1] = A[1], A[0]``: the values are views in NumPy (a row swap copies one row over both);
5. a write into a parameter's default value, one object shared by the calls that omit it.
"""

import contextlib
import inspect

import numpy as np
import pytest

import fluxpy as fx
from fluxpy.testing import check_grads


def check(f, *args):
    check_grads(f, *args, order=2, forward=True)
    plain = f(*[a.copy() if isinstance(a, np.ndarray) else a for a in args])
    assert np.allclose(fx.withgradient(f, *args).val, plain)


def line_of(f, text):
    """The file line of the first line of ``f``'s source holding ``text``."""
    lines, first = inspect.getsourcelines(f)
    return first + next(i for i, line in enumerate(lines) if text in line)


def refused(f, args, text, match=None):
    """``f`` is refused in reverse and forward mode, naming its line holding ``text`` (a nested function's
    own line in both modes)."""
    tangents = tuple(np.ones_like(a) if isinstance(a, np.ndarray) else 1.0 for a in args)
    for run, line in (
        (lambda: fx.gradient(f, *args), text),
        (lambda: fx.jvp(f, args, tangents), text),
    ):
        with pytest.raises(fx.FluxpyError, match=match) as caught:
            run()
        assert f'File "{__file__}", line {line_of(f, line)}' in str(caught.value)


X = 1.3
V = np.array([0.7, -1.2, 1.9, 0.4])


# ---------------------------------------------------------------------------------------------------------
# 1. chained assignment


def chained_item(x):
    a = b = np.zeros(3)
    a[0] = x
    return b[0] * 5


def chained_iadd(x):
    a = b = np.ones(2) * x
    a += x
    return np.sum(b * 3.0)


def chained_iadd_other_name(x):
    a = b = np.ones(2) * x
    b += x
    return np.sum(a * 3.0)


def copy_iadd_other_name(x):
    a = np.ones(2) * x
    b = a
    b += x  # writes into a's array in Python
    return np.sum(a * 3.0)


def chained_dict(x):
    a = b = {}
    a["k"] = x
    return b["k"] * 3.0


@pytest.mark.parametrize(
    "f, text",
    [
        (chained_item, "a[0] = x"),
        (chained_iadd, "a += x"),
        (chained_iadd_other_name, "b += x"),
        (copy_iadd_other_name, "b += x"),
        (chained_dict, 'a["k"] = x'),
    ],
    ids=lambda v: getattr(v, "__name__", ""),
)
def test_chained_assignment_is_one_object(f, text):
    refused(f, (X,), text)


def test_chained_item_write_names_the_assignment():
    with pytest.raises(fx.TransformError, match=r"which is the same object as 'b' \(chained assignment"):
        fx.gradient(chained_item, X)


class Acc:
    def __init__(self, v):
        self.v = v

    def __iadd__(self, o):
        self.v = self.v + o * o
        return self


def chained_numbers(x):
    s = t = 0.0
    s += x
    t += 2 * x
    return s * t


def chained_read_only(x):
    a = b = np.sin(x) * np.ones(3)
    return np.sum(a * b)


def chained_rebound(x):
    a = b = np.zeros(3)
    a = a + x
    a[1] = x**2
    return np.sum(a) + np.sum(b)


def chained_object_iadd(x):
    a = b = Acc(x)
    a += x  # Acc.__iadd__ changes the one object: b sees it
    return b.v * 3.0


@pytest.mark.parametrize("f", [chained_numbers, chained_read_only, chained_rebound, chained_object_iadd])
def test_chained_assignment_without_a_shared_write(f):
    check(f, X)


# ---------------------------------------------------------------------------------------------------------
# 2. aliases made by calls and expressions


def ident(a):
    return a


def fill(buf, v):
    buf[0] = v
    return 0.0


def filled(buf, v):
    buf[0] = v
    return buf


class Holder:
    def __init__(self, arr):
        self.arr = arr

    def get(self):
        return self.arr


def via_identity(x):
    a = np.zeros(3)
    b = ident(a)
    b[0] = x
    return np.sum(a) * 3.0


def via_identity_read(x):
    a = np.zeros(3)
    b = ident(a)
    a[0] = x
    return np.sum(b) * 3.0


def via_conditional_expression(x):
    a = np.zeros(3)
    b = a if x > 0 else np.ones(3)
    b[0] = x
    return np.sum(a) * 3.0


def via_conditional_expression_read(x):
    a = np.zeros(3)
    b = a if x > 0 else np.ones(3)
    a[0] = x
    return np.sum(b) * 3.0


def via_method(x):
    h = Holder(np.zeros(3))
    buf = h.get()
    buf[0] = x
    return np.sum(h.arr) * 3.0


def via_dict_get(x):
    d = {"k": np.zeros(3)}
    b = d.get("k")
    b[0] = x
    return np.sum(d["k"]) * 3.0


def via_with(x):
    a = np.zeros(3)
    with contextlib.nullcontext(a) as b:
        b[0] = x
    return np.sum(a) * 3.0


def via_callee_write(x):
    a = np.zeros(3)
    z = fill(a, x)
    return np.sum(a) * 3.0 + z


def via_unpacked_rows(x):
    a = np.zeros((2, 2))
    p, q = a  # rows: views of a
    a[0, 0] = x
    return np.sum(p) * 3.0


def via_split(x):
    a = np.zeros(4)
    p, q = np.split(a, 2)  # views
    a[0] = x
    return np.sum(p) * 3.0


def via_comprehension(x):
    a = np.zeros(3)
    items = [a for _ in range(1)]
    a[0] = x
    return np.sum(items[0]) * 3.0


def via_next_iter(x):
    a = np.zeros(3)
    b = next(iter([a]))
    b[0] = x
    return np.sum(a) * 3.0


def via_getattr(x):
    a = np.zeros((2, 2))
    b = getattr(a, "T")
    a[0, 1] = x
    return np.sum(b[1]) * 3.0


def via_closure(x):
    a = np.zeros(3)

    def get():
        return a

    b = get()
    b[0] = x
    return np.sum(a) * 3.0


def via_returned_argument_written(x):
    a = np.zeros(3)
    b = filled(a, x)  # Python: b is a, written
    return np.sum(a) * 3.0 + np.sum(b)


def put(items, v):
    items[0] = v
    return 1.0


def via_callee_list_write(x):
    items = [0.0, 0.0]
    y = put(items, x)
    return items[0] * 3.0 + y


def via_local_dict_argument(x):
    d = {}
    e = ident(d)
    e["k"] = x
    return d["k"] * 3.0


REFUSED = [
    (via_identity, "b[0] = x"),
    (via_identity_read, "a[0] = x"),
    (via_conditional_expression, "b[0] = x"),
    (via_conditional_expression_read, "a[0] = x"),
    (via_method, "buf[0] = x"),
    (via_dict_get, "b[0] = x"),
    (via_with, "b[0] = x"),
    (via_callee_write, "z = fill(a, x)"),
    (via_unpacked_rows, "a[0, 0] = x"),
    (via_split, "a[0] = x"),
    (via_comprehension, "a[0] = x"),
    (via_next_iter, "b[0] = x"),
    (via_getattr, "a[0, 1] = x"),
    (via_closure, "b[0] = x"),
    (via_returned_argument_written, "b = filled(a, x)"),
    (via_local_dict_argument, 'e["k"] = x'),
]


@pytest.mark.parametrize("f, text", REFUSED, ids=[f.__name__ for f, _ in REFUSED])
def test_alias_made_by_a_call_or_expression_is_refused(f, text):
    refused(f, (X,), text)


def test_callee_list_write_is_handed_back():
    # put writes into the list it is passed: handed back to the caller (transform/writeback.py)
    assert fx.withgradient(via_callee_list_write, X) == (X * 3.0 + 1.0, (3.0,))
    check_grads(via_callee_list_write, X, order=2)


def test_method_result_refused_like_an_item():
    # checked at run time: the method's result is one of the receiver's objects
    with pytest.raises(fx.FluxpyError, match=r"writing into 'buf', which is a part of 'h' \(bound at line"):
        fx.gradient(via_method, X)


W = np.array([[0.5, -1.0, 0.3, 0.8], [1.1, 0.2, -0.7, 0.4], [0.3, 0.9, 0.1, -0.2], [-0.6, 0.5, 0.8, 1.0]])


def layer(x):
    return np.tanh(x @ W)


def written_layer_output(x):
    h = layer(x)
    h[h < 0] = 0.0  # a new array: fine
    return np.sum(h**2) + np.sum(x * h)


def written_numpy_results(x):
    y = np.tanh(x)
    z = x @ W
    y[0] = z[1]
    z[2] = x[0] ** 2
    return np.sum(y * z) + np.sum(x)


def model_in_loop(x):
    h = x
    out = np.zeros((3, 4))
    for t in range(3):
        h = layer(h) + 0.1 * x
        out[t] = h
    return np.sum(out**2) + np.sum(x * h)


def copy_returned(x):
    a = x * 2.0
    b = ident(a).copy()
    b[0] = 7.0
    return np.sum(a * b)


def rebound_from_writer(x):
    buf = np.zeros(4)
    buf = filled(buf, x[1])  # the way to write it: rebound
    return np.sum(buf * x)


def alias_never_written(x):
    a = x * 2.0
    b = ident(a)
    c = a if x[0] > 0 else x
    return np.sum(a * b * c)


def method_result_read_only(x):
    h = Holder(x * 2.0)
    buf = h.get()
    return np.sum(buf * x)


def fib_memo(x, n, memo):
    if n in memo:
        return memo[n]
    value = x * (n + 1) if n < 2 else fib_memo(x, n - 1, memo) * 0.5 + np.sin(fib_memo(x, n - 2, memo))
    memo[n] = value  # a cache: the caller's later calls recompute what Python would find here
    return value


def memoized(x):
    memo = {}
    a = fib_memo(x, 4, memo)
    b = fib_memo(x, 5, memo)
    return np.sum(a * b)


def conditional_copy_written(x):
    a = x * 2.0
    b = a.copy() if x[0] > 0 else np.ones(4)
    b[0] = 1.0
    return np.sum(a * b)


VALID = [
    written_layer_output,
    written_numpy_results,
    model_in_loop,
    copy_returned,
    rebound_from_writer,
    alias_never_written,
    method_result_read_only,
    conditional_copy_written,
    memoized,
]


@pytest.mark.parametrize("f", VALID, ids=[f.__name__ for f in VALID])
def test_fresh_values_are_differentiated(f):
    check(f, V.copy())


# ---------------------------------------------------------------------------------------------------------
# 3. attribute writes seen through an alias from a call


class C:
    def __init__(self, a):
        self.a = a

    def me(self):
        return self

    def doubled(self):
        return self.a * 2.0


def method_returns_self(x):
    p = C(0.0)
    q = p.me()  # q is p
    p.a = x
    return q.a * 3.0


def method_returns_value(x):
    p = C(x)
    y = p.doubled()
    p.a = y * x  # p was not handed out by the call: fine
    return p.a + y


def identity_holds_object(x):
    p = C(x)
    q = ident(p)
    p.a = p.a * x
    p.a += x
    return q.a * 3.0 + p.a


@pytest.mark.parametrize("f", [method_returns_self, method_returns_value, identity_holds_object])
def test_attribute_write_seen_through_a_returned_object(f):
    check(f, X)


# ---------------------------------------------------------------------------------------------------------
# 4. item swaps


Wt = np.array([[1.0, 2.0], [3.0, 4.0]])


def row_swap(x):
    A = x.reshape(2, 2).copy()
    A[0], A[1] = A[1], A[0]  # NumPy: both rows become the old row 1
    return np.sum(A * Wt)


def column_swap(x):
    A = x.reshape(2, 2).copy()
    A[:, 0], A[:, 1] = A[:, 1], A[:, 0]
    return np.sum(A * Wt)


def test_row_and_column_swaps_are_refused():
    refused(row_swap, (V,), "A[0], A[1] = A[1], A[0]", match=r"writing into 'A' while 'A\[0\]'")
    refused(
        row_swap, (V,), "A[0], A[1] = A[1], A[0]", match=r"index with lists: `A\[\[0, 1\]\] = A\[\[1, 0\]\]`"
    )
    refused(column_swap, (V,), "A[:, 0], A[:, 1] =", match="writing into 'A'")


def element_swap(x):
    y = x * np.arange(1.0, 5.0)
    y[0], y[3] = y[3], y[0]  # scalars: a real swap
    for i in range(2):
        y[i], y[i + 1] = y[i + 1] * 2.0, y[i]
    return np.sum(y * np.arange(4.0)) + y[0] * y[1]


def list_swap(x):
    items = [x[0], x[1] * 2.0, x[2]]
    items[0], items[2] = items[2], items[0]
    return items[0] * 3.0 + items[1] * items[2]


def fancy_row_swap(x):
    A = x.reshape(2, 2).copy()
    A[[0, 1]] = A[[1, 0]]
    return np.sum(A * Wt) + A[0, 0] * A[1, 1]


def mixed_swap(x):
    y = x * 1.0
    s = x[0] * 0.5
    y[1], s = s, y[1]
    return np.sum(y**2) * s


@pytest.mark.parametrize("f", [element_swap, list_swap, fancy_row_swap, mixed_swap])
def test_swaps_of_values_are_differentiated(f):
    check(f, V.copy())


# ---------------------------------------------------------------------------------------------------------
# 5. writes into a default value


def default_written(x0, x1):
    def g(t, buf=np.zeros(2)):
        buf[0] = buf[0] + t
        return np.sum(buf) * t

    return g(x0) + g(x1)  # Python: the second call sees the first call's write


def default_augmented(x0, x1):
    def g(t, acc=np.zeros(2)):
        acc += t
        return np.sum(acc) * t

    return g(x0) + g(x1)


def test_writing_into_a_default_value_is_refused():
    refused(default_written, (0.7, -1.2), "buf[0] = buf[0] + t", "default value")
    refused(default_augmented, (0.7, -1.2), "acc += t", "default value")


def default_none(x0, x1):
    def g(t, buf=None):
        if buf is None:
            buf = np.zeros(2)
        buf[0] = buf[0] + t
        return np.sum(buf) * t

    return g(x0) + g(x1)


def default_read_only(x0, x1):
    def g(t, w=np.ones(2), k=2):
        s = 0.0
        s += t * k
        return np.sum(w * t) + s

    return g(x0) * g(x1)


@pytest.mark.parametrize("f", [default_none, default_read_only])
def test_defaults_not_written_are_fine(f):
    check(f, 0.7, -1.2)


class _TwoLayers:
    def __init__(self):
        self.fc = fx.Dense(3, 4)

    def __call__(self, x):
        h = self.fc(x)
        h[:, 0] = 0.0
        return np.sum(h**2)

    def copied(self, x):
        h = self.fc(x).copy()
        h[:, 0] = 0.0
        return np.sum(h**2)


class _Buffer:
    def __init__(self, x):
        self.arr = x * 1.0

    def tail(self):
        return self.arr[1:]


def writes_a_method_view(x):
    b = _Buffer(x)
    v = b.tail()
    v[0] = 5.0
    return np.sum(b.arr)


def test_a_write_into_a_layer_fields_result_works_and_a_receivers_array_is_refused():
    # h = self.fc(x) is a new array: the run-time check passes it (it was refused when transformed)
    m, x = _TwoLayers(), np.ones((2, 3), np.float32)
    g = fx.gradient(lambda m: m(x), m)[0]
    assert np.all(g.fc.weight[0] == 0) and np.any(g.fc.weight[1] != 0)
    assert np.allclose(g.fc.weight, fx.gradient(lambda m: m.copied(x), m)[0].fc.weight)
    with pytest.raises(fx.FluxpyError, match=r"which is a view of an array of 'b'"):
        fx.gradient(writes_a_method_view, np.array([1.0, 2.0, 3.0]))
