"""Python's semantics where a bug hunt found fluxpy's silently different: ``x[i] op= y`` and ``obj.a op= y``
run a user class's ``__iadd__`` (then write the result back); a copy of an object that ``__iadd__`` changes
in place sees the change (other references are refused); a ``for`` loop whose body calls ``next`` of its
iterator takes items in turn with it; a loop over an array that its body writes reads each row when its
trip begins. Each is checked against finite differences in reverse mode to second order and in forward
mode, and the normalized code is shown as unparsed source."""

import textwrap

import numpy as np
import pytest

import fluxpy as fx
from fluxpy.errors import FluxpyError
from fluxpy.testing import check_grads
from fluxpy.transform.cache import normalized_source


def check(f, *args):
    check_grads(f, *args, order=2, forward=True)


def same_value(f, *args):
    plain = f(*[a.copy() if isinstance(a, np.ndarray) else a for a in args])
    assert np.allclose(fx.withgradient(f, *args).val, plain)
    assert np.allclose(fx.jvp(f, args, tuple(np.ones_like(a) for a in args))[0], plain)


class Acc:
    """``+=`` changes the object in place (and differs from ``+``, to tell which one ran)."""

    def __init__(self, v):
        self.v = v

    def __add__(self, o):
        return Acc(self.v + 100 * o)

    def __iadd__(self, o):
        self.v = self.v + o * o
        return self

    def __imul__(self, o):
        self.v = self.v * o
        return self


class Fresh:
    """``+=`` returns a new object."""

    def __init__(self, v):
        self.v = v

    def __add__(self, o):
        return Fresh(self.v + 100 * o)

    def __iadd__(self, o):
        return Fresh(self.v * o)


class Declines:
    """``__iadd__`` returns NotImplemented: Python falls back to ``__add__``."""

    def __init__(self, v):
        self.v = v

    def __add__(self, o):
        return Declines(self.v + 3 * o)

    def __iadd__(self, o):
        return NotImplemented


class Box:
    def __init__(self, a):
        self.a = a


class Holder:
    def __init__(self, x):
        self.total = x
        self.total += x * x
        self.acc = Acc(x)
        self.acc += x
        self.w = np.array([1.0, 2.0]) * x
        self.w += x


# ---------------------------------------------------------------------------------------------------------
# x[i] op= y and obj.a op= y


def item_iadd(x):
    items = [Acc(x), Acc(2.0)]
    items[0] += x  # x + x^2
    items[0] *= x
    return items[0].v * items[1].v


def item_iadd_fresh(x):
    items = [Fresh(x)]
    items[0] += x  # x^2
    return items[0].v


def item_iadd_declined(x):
    d = {"k": Declines(x)}
    d["k"] += x  # 4x
    return d["k"].v


def attribute_iadd(x):
    b = Box(Acc(x))
    b.a += x
    return b.a.v


def constructor_attributes(x):
    h = Holder(x)
    return h.total * h.acc.v + np.sum(h.w)


def array_items(x):
    y = x * 1.0
    y[0] *= x[1]
    y[1:] += y[0]
    y[y > 3] -= 1.0
    y[2] /= x[0]
    return np.sum(y**2)


def array_rows(x):
    y = x * 2.0
    y[0] += x[1]
    y[1] *= y[0]
    y[:, 0] -= x[:, 1]
    return np.sum(y * x)


def number_items(x):
    d = {"k": x, "j": 2.0}
    d["k"] *= x
    d["k"] += d["j"]
    d["j"] **= 2
    return d["k"] * d["j"]


def test_item_and_attribute_run_the_users_iadd():
    assert fx.withgradient(item_iadd, 1.5) == (11.25, (19.5,))  # 2 (x + x^2) x
    assert fx.jvp(item_iadd, (1.5,), (1.0,)) == (11.25, 19.5)
    assert fx.withgradient(attribute_iadd, 1.5) == (3.75, (4.0,))
    assert fx.withgradient(item_iadd_declined, 1.5) == (6.0, (4.0,))


@pytest.mark.parametrize(
    "f, x",
    [
        (item_iadd, 1.5),
        (item_iadd_fresh, 1.5),
        (item_iadd_declined, 1.5),
        (attribute_iadd, 1.5),
        (constructor_attributes, 1.5),
        (number_items, 1.5),
        (array_items, np.array([1.0, 2.0, 3.0])),
        (array_rows, np.array([[1.0, 2.0], [3.0, 4.0]])),
    ],
)
def test_item_and_attribute_in_place(f, x):
    same_value(f, x)
    check(f, x)


def augmented_item(x, k):
    x[k] += 2.0
    return x


def test_augmented_item_snapshot():
    """A user class's ``__iadd__`` where the item has one (``__fx_op.__iadd__``: not inlined); the plain
    operator otherwise (an array row is updated functionally, a view written back, no view refused)."""
    expected = """
        def augmented_item(x, k):
            if __fx_owned_view(x, 'x', (), True):
                x = __fx_call_method(x, 'copy')
            _args = __fx_call(__fx_op.getitem, x, k)
            if __fx_getattr(__fx_getattr(__fx_type(_args), '__iadd__', None), '__code__', None) is not None and __fx_getattr(_args, '__array_priority__', None) is None:
                _iadd = __fx_call(__fx_op.__iadd__, _args, 2.0)
            else:
                _iadd = __fx_call(__fx_op.add, _args, 2.0)
            x = __fx_call(__fx_setitem_argument, x, k, _iadd)
            return x
    """
    assert normalized_source(augmented_item).strip() == textwrap.dedent(expected).strip()


# ---------------------------------------------------------------------------------------------------------
# b = a, then a += x where __iadd__ changes a in place: b is the changed object too


def copy_then_iadd(x):
    a = Acc(x)
    b = a
    a += x
    return b.v * 3 + a.v  # 4 (x + x^2)


def iadd_through_the_copy(x):
    a = Acc(x)
    b = a
    b += x
    return a.v * 3


def copies_in_both_branches(x):
    a = Acc(x)
    if x > 1:
        b = a
    else:
        b = a
    a += x
    return b.v


def copy_before_a_loop(x):
    a = Acc(x)
    b = a
    for _ in range(3):
        a += x
        a *= 1.1
    return b.v


def copy_of_a_fresh_result(x):
    a = Fresh(x)
    b = a
    a += x
    return b.v * 2 + a.v  # b keeps the old object


def copy_of_a_number(x):
    a = x * 2
    b = a
    a += x
    return b * a


def test_a_copy_sees_the_change():
    assert fx.withgradient(copy_then_iadd, 1.5) == (15.0, (16.0,))
    assert fx.jvp(copy_then_iadd, (1.5,), (1.0,)) == (15.0, 16.0)


@pytest.mark.parametrize(
    "f",
    [
        copy_then_iadd,
        iadd_through_the_copy,
        copies_in_both_branches,
        copy_before_a_loop,
        copy_of_a_fresh_result,
        copy_of_a_number,
    ],
)
def test_copies_and_in_place_operators(f):
    same_value(f, 1.5)
    check(f, 1.5)


def rebinding(x, a):
    b = a
    a += x
    return b


def test_rebinding_snapshot():
    """(the fence's check that ``b``, were it an array viewing ``a``, is not read after the write comes
    before: see tests/rules/test_mutation_fixes.py)"""
    expected = "    a = __fx_call(__fx_op.iadd, a, x)\n    if b is a:\n        b = a\n    return b"
    assert normalized_source(rebinding).endswith(expected)


def held_by_a_list(x):
    a = Acc(x)
    items = [a]
    a += x
    return items[0].v


def item_kept_in_a_name(x):
    items = [Acc(x)]
    kept = items[0]
    items[0] += x
    return kept.v


def copy_in_one_branch(x):
    a = Acc(x)
    if x > 1:
        b = a
    a += x
    return b.v


def held_by_an_object(x):
    a = Acc(x)
    box = Box(a)
    a += x
    return box.a.v


@pytest.mark.parametrize(
    "f, holder",
    [
        (held_by_a_list, "'items' holds that object"),
        (item_kept_in_a_name, "'kept' is that object"),
        (copy_in_one_branch, "'b' is that object"),
        (held_by_an_object, "'box' holds that object"),
    ],
)
def test_a_change_seen_through_another_reference_is_refused(f, holder):
    for derivative in (
        lambda: fx.gradient(f, 1.5),
        lambda: fx.jvp(f, (1.5,), (1.0,)),
        lambda: fx.hessian(f, 1.5),  # a gradient of a gradient: generated code's lines map back to the user's
        lambda: fx.hvp(f, 1.5, 1.0),  # forward over reverse
    ):
        with pytest.raises(
            FluxpyError, match=r"Acc.__iadd__ changes its object in place, and " + holder
        ) as e:
            derivative()
        assert "test_loop_semantics.py" in str(e.value)
        assert "+= x" in str(e.value)


def list_holds_another_object(x):
    a = Acc(x)
    items = [Acc(2.0)]
    a += x
    return items[0].v * a.v


def list_holds_a_fresh_result(x):
    a = Fresh(x)
    items = [a]
    a += x
    return items[0].v + a.v


def list_holds_a_number(x):
    a = x * 2
    items = [a]
    a += x
    return items[0] * a


@pytest.mark.parametrize("f", [list_holds_another_object, list_holds_a_fresh_result, list_holds_a_number])
def test_other_references_that_do_not_hold_the_changed_object(f):
    same_value(f, 1.5)
    check(f, 1.5)


# ---------------------------------------------------------------------------------------------------------
# next(it) inside `for v in it`


def next_in_loop(xs):
    it = iter([xs[0], xs[1], xs[2], xs[3]])
    total = 0.0
    for a in it:
        b = next(it)
        total += a * b
    return total


def next_with_default(xs):
    it = iter(xs)
    total = 0.0
    for a in it:
        total += a * next(it, 10.0)
    return total


def next_of_pairs(xs):
    it = iter([(xs[0], xs[1]), (xs[2], xs[3]), (xs[4], xs[5])])
    total = 0.0
    for a, b in it:
        c, d = next(it, (1.0, 1.0))
        total += a * d - b * c
    return total


def next_then_break(xs):
    it = iter(xs)
    total = 0.0
    for a in it:
        if a > 2.5:
            break
        total += a * next(it)
    return total + sum(it) * 0.5  # the loop leaves the items after the one it broke at


def test_next_inside_the_loop_takes_items_in_turn():
    xs = np.array([1.0, 2.0, 3.0, 4.0])
    assert fx.withgradient(next_in_loop, xs).val == 14.0
    np.testing.assert_allclose(fx.gradient(next_in_loop, xs)[0], [2.0, 1.0, 4.0, 3.0])
    assert fx.jvp(next_in_loop, (xs,), (np.array([1.0, 0.0, 0.0, 0.0]),)) == (14.0, 2.0)


@pytest.mark.parametrize(
    "f, n", [(next_in_loop, 4), (next_with_default, 5), (next_of_pairs, 6), (next_then_break, 6)]
)
def test_next_inside_the_loop(f, n):
    xs = np.arange(1.0, n + 1)
    same_value(f, xs)
    check(f, xs)


def loop_with_next(it):
    for v in it:
        w = next(it)
    return w


def test_next_inside_the_loop_snapshot():
    expected = """
        def loop_with_next(it):
            _iter = __fx_call(iter, it)
            _end = []
            _item = __fx_call(next, _iter, _end)
            while _item is not _end:
                v = _item
                w = __fx_call(next, it)
                _item = __fx_call(next, _iter, _end)
            return w
    """
    assert normalized_source(loop_with_next).strip() == textwrap.dedent(expected).strip()


# ---------------------------------------------------------------------------------------------------------
# for row in y, with y written in the body: each row is read from the live array when its trip begins


def rows_written(x):
    y = x * 1.0
    out = 0.0
    j = 0
    for row in y:
        out = out + np.sum(row * x[0])
        if j + 1 < len(y):
            y[j + 1] = y[j + 1] * row
        j = j + 1
    return out


def items_augmented(x):
    y = x * 1.0
    s = 0.0
    j = 0
    for v in y:
        s = s + v * v
        if j + 1 < len(y):
            y[j + 1] += v
        j += 1
    return s


def whole_array_augmented(x):
    y = x * 1.0
    s = 0.0
    for row in y:
        s = s + np.sum(row * row)
        y += 0.5 * x
    return s + np.sum(y)


def dict_values_written(x):
    d = {"a": x, "b": 2.0}
    for k in d:
        d[k] = d[k] * x
    return d["a"] + d["b"]


def tuple_extended(x):
    t = (x, 2.0)
    s = 0.0
    for v in t:
        s = s + v * v
        t += (v,)  # a new tuple: the loop goes on over the old one
    return s + sum(t)


@pytest.mark.parametrize(
    "f, x",
    [
        (rows_written, np.array([[1.0, 2.0], [3.0, 4.0], [0.5, 0.7]])),
        (items_augmented, np.array([1.0, 2.0, 3.0])),
        (whole_array_augmented, np.array([[1.0, 2.0], [3.0, 4.0]])),
        (dict_values_written, 1.5),
        (tuple_extended, 1.5),
    ],
)
def test_loop_over_a_sequence_its_body_writes(f, x):
    same_value(f, x)
    check(f, x)


def rows_normalised_by_enumerate(x):
    X = x * 1.0
    for i, row in enumerate(X):
        X[i] = row / np.linalg.norm(row)
    return np.sum(X @ X.T)


def later_rows_written_by_enumerate(x):
    y = x * 1.0
    out = 0.0
    for j, row in enumerate(y, 1):  # row is read from the live y: it shows the write of the trip before
        out = out + np.sum(row * x[0])
        if j < len(y):
            y[j] = y[j] * row
    return out


def later_rows_written_by_zip(x):
    y = x * 1.0
    out = 0.0
    for row, w, j in zip(y, x, range(len(x))):
        out = out + np.sum(row * w)
        if j + 1 < len(y):
            y[j + 1] += row
    return out


@pytest.mark.parametrize(
    "f", [rows_normalised_by_enumerate, later_rows_written_by_enumerate, later_rows_written_by_zip]
)
def test_enumerate_and_zip_over_an_array_their_body_writes(f):
    x = np.array([[1.0, 2.0], [3.0, 4.0], [0.5, 0.7]])
    same_value(f, x)
    check(f, x)


# views of the array written (y.T, y[::2], y[1:], reversed, list(y)), lists and dicts: each item is read from
# the live object, or the live view taken again, when its trip begins


def columns_written_by_enumerate(x):
    X = x * 1.0
    for i, col in enumerate(X.T):
        if i + 1 < X.shape[1]:
            X[:, i + 1] = X[:, i + 1] + col * col
    return np.sum(X)


def columns_written(x):
    X = x * 1.0
    i = 0
    for col in X.T:
        if i + 1 < X.shape[1]:
            X[:, i + 1] = X[:, i + 1] * col
        i += 1
    return np.sum(X)


def strided_rows_written(x):
    X = x * 1.0
    for i, row in enumerate(X[::2]):
        X[2 * i + 1] = X[2 * i + 1] * row
        X[(2 * i + 2) % len(X)] = X[(2 * i + 2) % len(X)] + 1.0
    return np.sum(X)


def tail_written(x):
    X = x * 1.0
    i = 1
    for row in X[1:]:
        if i + 1 < len(X):
            X[i + 1] = X[i + 1] + row * row
        i += 1
    return np.sum(X)


def pairs_written(x):
    X = x * 1.0
    i = 0
    for a, b in zip(X, X[1:]):
        if i + 2 < len(X):
            X[i + 2] = X[i + 2] + a * b
        i += 1
    return np.sum(X)


def reversed_written(x):
    X = x * 1.0
    n = len(X)
    for i, row in enumerate(reversed(X)):
        if i + 1 < n:
            X[n - 2 - i] = X[n - 2 - i] + row * row
    return np.sum(X)


def rows_listed_written(x):
    X = x * 1.0
    i = 0
    for row in list(X):  # a list of views of X's rows
        if i + 1 < len(X):
            X[i + 1] = X[i + 1] + row * row
        i += 1
    return np.sum(X)


def inner_row_written(x):
    X = x * 1.0
    s = 0.0
    for i in range(len(X)):
        for v in X[i]:
            X[i, -1] = X[i, -1] + v * v
            s = s + v
    return s + np.sum(X)


def fancy_rows_written(x):
    X = x * 1.0
    i = 0
    for row in X[[0, 1, 2]]:  # a copy: the writes do not show in its rows
        X[(i + 1) % len(X)] = X[(i + 1) % len(X)] + row * row
        i += 1
    return np.sum(X)


def rows_iterated_written(x):
    X = x * 1.0
    i = 0
    for row in iter(X):
        if i + 1 < len(X):
            X[i + 1] = X[i + 1] * row
        i += 1
    return np.sum(X)


def flat_written(x):
    X = x * 1.0
    i = 0
    for v in X.flat:
        if i + 1 < X.size:
            X[(i + 1) // 3, (i + 1) % 3] = X[(i + 1) // 3, (i + 1) % 3] + v * v
        i += 1
    return np.sum(X)


def list_enumerated_written(x):
    L = [x[0, 0], x[0, 1], x[0, 0] * x[0, 1]]
    for i, v in enumerate(L):
        if i + 1 < len(L):
            L[i + 1] = L[i + 1] + v * v
    return L[-1]


def list_zipped_written(x):
    L = [x[0, 0], x[0, 1], x[0, 0] * x[0, 1]]
    M = [x[1, 0], x[1, 1], 2.0]
    i = 0
    for a, b in zip(L, M):
        if i + 1 < len(L):
            L[i + 1] = L[i + 1] + a * b
        i += 1
    return L[-1] + L[1]


def list_copied_written(x):
    L = [x[0, 0], x[0, 1], x[0, 0] * x[0, 1]]
    s = 0.0
    i = 0
    for v in L[:]:  # copies: the writes do not show
        if i + 1 < len(L):
            L[i + 1] = L[i + 1] + v * v
        i += 1
    for v in list(L):
        L[0] = L[0] * v
        s = s + v
    return L[-1] + L[0] + s


def dict_values_replaced(x):
    d = {"a": x[0, 0], "b": x[0, 1], "c": x[0, 0] * x[0, 1]}
    s = 0.0
    for v in d.values():
        d["c"] = d["c"] + v * v
        s = s + v
    return s + d["c"]


def dict_items_replaced(x):
    d = {"a": x[0, 0], "b": x[0, 1], "c": x[1, 0]}
    s = 0.0
    for k, v in d.items():
        d["c"] = d["c"] * v
        d[k] = v * 2.0
        s = s + v
    return s + d["a"] + d["c"]


@pytest.mark.parametrize(
    "f",
    [
        columns_written_by_enumerate,
        columns_written,
        strided_rows_written,
        tail_written,
        pairs_written,
        reversed_written,
        rows_listed_written,
        inner_row_written,
        fancy_rows_written,
        rows_iterated_written,
        flat_written,
        list_enumerated_written,
        list_zipped_written,
        list_copied_written,
        dict_values_replaced,
        dict_items_replaced,
    ],
)
def test_loops_over_views_lists_and_dicts_their_body_writes(f):
    x = np.array([[0.3, 0.4, 0.7], [0.5, -0.2, 0.3], [0.9, 0.1, -0.4], [0.2, 0.6, 0.8]])
    same_value(f, x)
    check(f, x)


def list_parameter_written(x, L):
    s = 0.0
    for v in L:  # a list the caller gave: read live too
        L[-1] = L[-1] * x
        s = s + v
    return s


def test_loop_over_a_list_parameter_its_body_writes():
    assert np.isclose(fx.withgradient(list_parameter_written, 0.7, [1.0, 2.0, 3.0]).val, 4.47)
    check_grads(lambda x: list_parameter_written(x, [1.0, 2.0, 3.0]), 0.7, order=2, forward=True)


def view_bound_again(x):
    X = x * 1.0
    k = 1
    for v in X[k:]:
        X[0] = X[0] + v
        k = 2
    return np.sum(X)


def view_through_a_call(x):
    X = x * 1.0
    for v in X[int(np.argmax(X[:, 0]))]:
        X[0, 0] = X[0, 0] + v
    return np.sum(X)


def written_then_bound_again(x):
    X = x * 1.0
    for i, row in enumerate(X):
        if i + 1 < len(X):
            X[i + 1] = X[i + 1] + row * row  # Python's loop sees this write (into the array it iterates) ...
        X = X * 1.0  # ... not those after this line
    return np.sum(X)


def list_grown_by_enumerate(x):
    L = [x[0], x[1]]
    s = 0.0
    for i, v in enumerate(L):
        if i < 1:
            L.append(v * 2)
        s = s + v
    return s


def generator_over_rows_written(x):
    X = x * 1.0
    i = 0
    for v in (row * 2 for row in X):  # Python makes each item when it is taken, from the live X
        if i + 1 < len(X):
            X[i + 1] = X[i + 1] + v * v
        i += 1
    return np.sum(X)


def generator_over_a_list_it_reads_written(x):
    w = [x[0, 0], x[0, 1]]
    s = 0.0
    for v in (w[i] * 2 for i in range(2)):
        w[1] = w[1] * v
        s = s + v
    return s


@pytest.mark.parametrize("f", [generator_over_rows_written, generator_over_a_list_it_reads_written])
def test_a_loop_over_a_generator_whose_body_writes_what_it_reads_is_refused(f):
    with pytest.raises(FluxpyError, match="a generator expression whose items read") as info:
        fx.gradient(f, np.array([[0.3, 0.4], [0.5, -0.2]]))
    assert "test_loop_semantics.py" in str(info.value)


def generator_over_another_array(x):
    X = x * 1.0
    for v in (x[i, 0] * 2 for i in range(len(x))):  # its items read x, not the X written
        X[1, 1] = X[1, 1] + v
    return np.sum(X)


def test_a_loop_over_a_generator_reading_other_names_is_not_refused():
    x = np.array([[0.3, 0.4], [0.5, -0.2]])
    same_value(generator_over_another_array, x)
    check(generator_over_another_array, x)


@pytest.mark.parametrize(
    "f, message",
    [
        (view_bound_again, "a loop over a view of 'X'"),
        (view_through_a_call, "a loop over a view of 'X'"),
        (written_then_bound_again, "writes into 'X' and then binds it again"),
        (list_grown_by_enumerate, "an enumerate or zip loop over the list 'L' whose body changes its length"),
    ],
)
def test_loops_whose_items_cannot_be_read_again_are_refused(f, message):
    with pytest.raises(FluxpyError, match=message) as info:
        fx.gradient(
            f, np.array([[0.3, 0.4], [0.5, -0.2]]) if f is not list_grown_by_enumerate else np.ones(2)
        )
    assert "test_loop_semantics.py" in str(info.value)
    assert "loop over indices" in str(info.value) or "while i < len(L)" in str(info.value)


def bound_again_then_written(x):
    X = x * 1.0
    for i, row in enumerate(X):
        X = X * 1.0  # the loop goes on over the old array: the writes below do not show
        if i + 1 < len(X):
            X[i + 1] = X[i + 1] + row * row
    return np.sum(X)


def dict_written_then_bound_again(x):
    d = {"a": x[0, 0], "b": x[0, 1]}
    s = 0.0
    for k in d:  # a dict's keys: the writes replace values only
        d[k] = d[k] * 2.0
        d = dict(d)
        s = s + d[k]
    return s


def view_not_bound_again(x):
    X = x * 1.0
    k = 1
    for v in X[k:]:
        X[0] = X[0] + v
    return np.sum(X)


def copy_grown_by_enumerate(x):
    L = [x[0], x[1]]
    s = 0.0
    for i, v in enumerate(L[:]):  # a copy: nothing to read again
        L.append(v * 2)
        s = s + v * L[-1]
    return s


def dict_item_bound_again(x):
    d = {"a": x[0] * 1.0, "b": x[1] * 1.0}
    key = "a"
    s = 0.0
    for v in d[key]:  # d["b"] = ... rebinds an entry of d: the array iterated is another object
        d["b"] = d["b"] * v
        key = "b"
        s = s + v
    return s + np.sum(d["b"])


@pytest.mark.parametrize(
    "f",
    [
        view_not_bound_again,
        copy_grown_by_enumerate,
        dict_item_bound_again,
        bound_again_then_written,
        dict_written_then_bound_again,
    ],
)
def test_loops_near_the_refused_ones(f):
    x = np.array([0.3, 0.4]) if f is copy_grown_by_enumerate else np.array([[0.3, 0.4], [0.5, -0.2]])
    same_value(f, x)
    check(f, x)


def row_read_after_a_write_by_an_inner_loop(x):
    X = x * 1.0
    s = 0.0
    for row in X:
        for v in row:  # Python's inner loop reads the live row: the last row shows the write
            X[-1, -1] = X[-1, -1] + v * v
            s = s + v
    return s


def column_read_after_a_write(x):
    X = x * 1.0
    s = 0.0
    for i, col in enumerate(X.T):
        X[0, i] = 5.0 * X[1, i]
        s = s + np.sum(col * col)  # col views X: it shows the write
    return s


@pytest.mark.parametrize("f", [row_read_after_a_write_by_an_inner_loop, column_read_after_a_write])
def test_a_loop_row_read_after_a_write_into_its_array_is_refused(f):
    with pytest.raises(FluxpyError, match="is a view of it that is read afterwards"):
        fx.gradient(f, np.array([[0.3, 0.4], [0.5, -0.2]]))


def dict_key_added(x):
    d = {"a": x[0], "b": x[1]}
    s = 0.0
    for k in d:
        if k == "a":
            d["c"] = x[0]
        s = s + d[k]
    return s


def dict_key_added_by_values(x):
    d = {"a": x[0], "b": x[1]}
    s = 0.0
    for v in d.values():
        d[str(v)] = v
        s = s + v
    return s


@pytest.mark.parametrize("f", [dict_key_added, dict_key_added_by_values])
def test_a_dict_that_changes_size_while_iterated_raises_as_in_python(f):
    x = np.array([0.3, 0.4])
    with pytest.raises(RuntimeError, match="dictionary changed size during iteration"):
        f(x)
    with pytest.raises(RuntimeError, match="dictionary changed size during iteration"):
        fx.gradient(f, x)


def loop_writing_its_array(y):
    for row in y:
        y[0] = row
    return y


def test_loop_writing_its_array_snapshot():
    expected = """
        def loop_writing_its_array(y):
            if __fx_owned_view(y, 'y', (), True):
                y = __fx_call_method(y, 'copy')
            _live = __fx_live_items(y, y, False) is True
            _seq = __fx_call(__fx_iterlist, y)
            _live_1 = __fx_live_items(y, y, True) is True
            for _i in __fx_range(__fx_len(_seq)):
                if _live_1:
                    if __fx_len(y) != __fx_len(_seq):
                        raise RuntimeError('dictionary changed size during iteration')
                if _live:
                    row = __fx_call(__fx_op.getitem, y, _i)
                else:
                    row = __fx_call(__fx_op.getitem, _seq, _i)
                y = __fx_call(__fx_setitem_argument, y, 0, row)
            if _live_1:
                if __fx_len(y) != __fx_len(_seq):
                    raise RuntimeError('dictionary changed size during iteration')
            return y
    """
    assert normalized_source(loop_writing_its_array).strip() == textwrap.dedent(expected).strip()


# ---------------------------------------------------------------------------------------------------------
# a, b = x, y: plain assignments (no tuple packed and unpacked), every value taken before any name changes


def fibonacci_swap(x):
    a, b = x, 1.0
    for _ in range(5):
        a, b = b, a + b
    return a * b


def swap_twice(x, y):
    x, y = y, x
    x, y = y * 2, x
    return x * np.sin(y)


def list_display(x):
    [a, b] = [x**2, x]
    a, b, c = b, a, a
    return a * b + c


def same_name_twice(x):
    a, a = x, x * 3
    return a


@pytest.mark.parametrize(
    "f, args",
    [(fibonacci_swap, (0.7,)), (swap_twice, (0.3, 1.2)), (list_display, (1.5,)), (same_name_twice, (2.0,))],
)
def test_parallel_assignment(f, args):
    assert np.isclose(fx.withgradient(f, *args)[0], f(*args))
    check_grads(f, *args, order=2, forward=True)


def test_parallel_assignment_packs_no_tuple():
    source = fx.adjoint_source(fibonacci_swap)
    assert "pack_tuple" not in source and "unpack" not in source
