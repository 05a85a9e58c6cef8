"""Aliases, evaluation order and the caller's objects: a bug hunt found these silently wrong.

Each case here either gives Python's value and derivatives (reverse mode to second order and forward mode,
against finite differences) or raises a ``FluxpyError`` naming the user's line:

1. ``op=`` on an object that another reference also holds: ``lst[0] += x`` with ``a`` stored in ``lst``,
   ``a += 1`` with ``d = {"k": a}`` read after, ``b.v += 1`` on ``b = Box(a)``, ``lst = [a, a]``,
   ``b = operator.iadd(b, x)`` after ``b = a``, and ``a += [v]`` / ``d |= {...}`` / ``a *= 2`` on a list or
   dict the function built (kept_views.py, kept_view_guards._shared_object_checks; aliases.update_in_place);
2. ``y.astype(t, "K", "unsafe", True, False)``: ``copy`` is astype's 5th argument; ``y.conj()`` of a real
   array is ``y`` itself (array_views.py);
3. ``with m(lst) as b``: ``b`` may be ``lst`` (aliases.py);
4. ``a, *rest = x`` rebinds ``rest``, it writes into nothing (aliases.py);
5. Python's evaluation order: a dict display's keys and values alternate, a call's callee comes before its
   arguments (normalize/anf.py);
6. in-place methods on an int or bool array argument (``idx.sort()``, ``np.logical_not(m, out=m)``) leave
   the caller's array unchanged (normalize/parameters.py).
"""

import contextlib
import inspect
import operator

import gast
import numpy as np
import pytest

import fluxpy as fx
from fluxpy.testing import check_grads
from fluxpy.transform.alias_sources import Sources
from fluxpy.transform.array_views import same_or_view_source
from fluxpy.transform.cache import normalized_source


def check(f, *args):
    check_grads(f, *args, order=2, forward=True)
    plain = f(*[a.copy() if isinstance(a, (np.ndarray, list, dict)) else a for a in args])
    assert np.allclose(fx.withgradient(f, *args).val, plain)


def line_of(f, text):
    """The file line of the first line of ``f``'s source holding ``text``."""
    lines, first = inspect.getsourcelines(f)
    return first + next(i for i, line in enumerate(lines) if text in line)


def refused(f, args, text, match=None):
    """``f`` is refused in reverse and forward mode, naming its line holding ``text``."""
    tangents = tuple(np.ones_like(a) if isinstance(a, np.ndarray) else 1.0 for a in args)
    for run in (lambda: fx.gradient(f, *args), lambda: fx.jvp(f, args, tangents)):
        with pytest.raises(fx.FluxpyError, match=match) as caught:
            run()
        assert f'File "{__file__}", line {line_of(f, text)}' in str(caught.value)


X = 1.5
V = np.array([1.0, 2.0])


class Box:
    def __init__(self, v):
        self.v = v


class Acc:
    def __init__(self, v):
        self.v = v

    def __iadd__(self, other):
        return Acc(self.v + other)  # a new object: Python rebinds the name, as fluxpy does


# ---------------------------------------------------------------------------------------------------------
# 1. op= on an object another reference holds: arrays (checked at run time)


def via_list_item(x):
    a = np.zeros(2)
    lst = [a]
    lst[0] += x  # a is x now
    return np.sum(a * x)


def via_dict_item(x):
    a = np.zeros(2)
    d = {"k": a}
    d["k"] += x
    return np.sum(a * x)


def name_then_container(x):
    a = x.copy()
    d = {"k": a}
    a += 1.0  # d["k"] sees it
    return np.sum(d["k"] * x)


def list_twice(x):
    a = x.copy()
    lst = [a, a]
    lst[0] *= 2.0  # lst[1] is the same array
    return np.sum(lst[1] * x)


def list_times_two(x):
    a = x.copy()
    lst = [a] * 2
    lst[0] *= 2.0
    return np.sum(lst[1] * x)


def in_tuple(x):
    a = x.copy()
    t = (a, 2.0)
    a += 1.0
    return np.sum(t[0] * x)


def attribute(x):
    a = x.copy()
    b = Box(a)
    b.v += 1.0
    return np.sum(a * x)


def appended_then_updated(x):
    s = np.zeros(2)
    history = []
    for _ in range(3):
        s += x  # the second trip changes the array history[0] holds
        history.append(s)
    return np.sum(history[0] * x)


def iadd_call_through_alias(x):
    a = x.copy()
    b = a
    b = operator.iadd(b, x)  # normalized as b += x: Python changes the one array
    return np.sum(a * x)


def kept_item(x):
    lst = [x.copy()]
    r = lst[0]
    lst[0] += x
    return np.sum(r * x)


def appended_item(x):
    a = x.copy()
    lst = []
    lst.append(a)
    lst[0] += x
    return np.sum(a * x)


def stored_by_key(x):
    a = x.copy()
    d = {}
    d["k"] = a
    d["k"] *= 3.0
    return np.sum(a * x)


def stored_in_field(x):
    a = x.copy()
    b = Box(None)
    b.v = a
    b.v += x
    return np.sum(a * x)


@pytest.mark.parametrize(
    "f, text",
    [
        (appended_item, "lst[0] += x"),
        (stored_by_key, 'd["k"] *= 3.0'),
        (stored_in_field, "b.v += x"),
        (via_list_item, "lst[0] += x"),
        (via_dict_item, 'd["k"] += x'),
        (name_then_container, "a += 1.0"),
        (list_twice, "lst[0] *= 2.0"),
        (list_times_two, "lst[0] *= 2.0"),
        (in_tuple, "a += 1.0"),
        (attribute, "b.v += 1.0"),
        (appended_then_updated, "s += x"),
        (iadd_call_through_alias, "b = operator.iadd(b, x)"),
        (kept_item, "lst[0] += x"),
    ],
)
def test_in_place_update_of_a_shared_array_is_refused(f, text):
    refused(f, (V.copy(),), text)


# 1. lists, dicts: a list or dict the function built is refused when transformed


def list_alias(x):
    a = [1.0]
    b = a
    a += [x * 2]  # b sees it
    return sum(b) * x


def list_in_dict(x):
    a = [1.0]
    d = {"k": a}
    a += [x]
    return sum(d["k"]) * x


def dict_ior_alias(x):
    d = {"a": x}
    e = d
    d |= {"b": x * 2}
    return sum(e.values()) * x


def list_imul_alias(x):
    a = [x]
    b = a
    a *= 2
    return sum(b) * x


def list_iadd_call_alias(x):
    a = [x]
    b = a
    a = operator.iadd(a, [x * 2])
    return sum(b) * x


@pytest.mark.parametrize(
    "f, text",
    [
        (list_alias, "a += [x * 2]"),
        (list_in_dict, "a += [x]"),
        (dict_ior_alias, "d |= "),
        (list_imul_alias, "a *= 2"),
        (list_iadd_call_alias, "a = operator.iadd(a, [x * 2])"),
    ],
)
def test_in_place_update_of_a_shared_built_list_is_refused(f, text):
    with pytest.raises(fx.TransformError, match="writing into") as caught:
        fx.gradient(f, X)
    assert f'File "{__file__}", line {line_of(f, text)}' in str(caught.value)


def make_list(x):
    return [x]


def returned_list_alias(x):
    a = make_list(1.0)  # a list the function did not build: checked at run time
    b = a
    a += [x]
    return sum(b) * x


def returned_list_in_dict(x):
    a = make_list(1.0)
    d = {"k": a}
    a += [x]
    return sum(d["k"]) * x


def list_of_lists_iterated(x):
    rows = [[1.0], [2.0]]
    for row in rows:
        row += [x]  # extends the lists rows holds
    return sum(sum(r) for r in rows) * x


def list_of_lists_unpacked(x):
    rows = [[1.0], [2.0]]
    a, b = rows
    a += [x]
    return sum(rows[0]) * x + sum(b)


def list_in_list_item(x):
    a = [1.0]
    lst = [a]
    lst[0] += [x]  # extends a
    return sum(a) * x


@pytest.mark.parametrize(
    "f, text",
    [
        (returned_list_alias, "a += [x]"),
        (returned_list_in_dict, "a += [x]"),
        (list_in_list_item, "lst[0] +="),
        (list_of_lists_iterated, "row += [x]"),
        (list_of_lists_unpacked, "a += [x]"),
    ],
)
def test_in_place_update_of_a_shared_list_is_refused_at_run_time(f, text):
    with pytest.raises(fx.FluxpyError) as caught:
        fx.gradient(f, X)
    assert f'File "{__file__}", line {line_of(f, text)}' in str(caught.value)


# 1. what is not shared, or not changed in place, still runs


def floats_in_history(x):
    s = 0.0
    history = [s]
    for i in range(3):
        s += np.sum(x) * i  # a float: rebound in Python too
        history.append(s)
    return history[1] * 2 + s * history[2]


def float_items(x):
    a = np.sum(x)
    lst = [a, a]
    lst[0] += 1.0
    return lst[0] * lst[1] + a


def item_not_read_elsewhere(x):
    a = x * 2
    lst = [a]
    lst[0] += x  # a is not read after
    return np.sum(lst[0] * x)


def tuple_rebound(x):
    a = (x[0], x[1])
    t = [a]
    a += (x[0],)
    return t[0][0] * a[2]


def new_object_iadd(x):
    a = Acc(x)
    d = {"k": a}
    a += x  # Acc.__iadd__ returns a new object
    return np.sum(d["k"].v) * np.sum(a.v)


def copied_first(x):
    a = x.copy()
    d = {"k": a.copy()}
    a += 1.0
    lst = [a.copy(), a.copy()]
    lst[0] *= 2.0
    return np.sum(d["k"] * x) + np.sum(lst[0] * lst[1])


def own_list_extended(x):
    a = [1.0]
    for i in range(3):
        a += [x * i]
    b = [x]
    b *= 2
    return np.sum(sum(a) * x) + np.sum(sum(b))


def rows_appended(x):
    s = np.zeros(2)
    history = []
    for _ in range(3):
        s = s + x  # a new array each trip
        history.append(s)
    return np.sum(history[0] * history[2])


def floats_iterated(x):
    vals = [x[0], x[1] * 2]
    t = 0.0
    for v in vals:
        v += 1.0  # a float: rebound
        t = t + v
    a, b = vals
    a += 1.0
    return t * vals[0] + a * b


def rows_iterated(x):
    y = np.stack([x, x * 2])
    total = 0.0
    for row in y:
        row = row * 2.0
        total = total + np.sum(row)
    return total + np.sum(y)


def box_rebuilt(x):
    b = Box(x.copy())
    b.v += 1.0
    return np.sum(b.v * x)


@pytest.mark.parametrize(
    "f",
    [
        floats_in_history,
        float_items,
        item_not_read_elsewhere,
        tuple_rebound,
        new_object_iadd,
        copied_first,
        own_list_extended,
        rows_appended,
        box_rebuilt,
        floats_iterated,
        rows_iterated,
    ],
)
def test_updates_nothing_else_holds_are_differentiated(f):
    check(f, V.copy())


def row_views_updated(x):
    y = np.stack([x, x * 2])
    for row in y:
        row *= 2.0  # the rule of *= refuses a view, as before
    return np.sum(y)


def test_view_of_an_iterated_array_keeps_its_message():
    with pytest.raises(fx.FluxpyError, match="`[*]=` on an array that is a view of another array"):
        fx.gradient(row_views_updated, V.copy())


def caches_filled(x, w):
    caches = {}
    h = x
    for i in range(2):
        h, cache = np.tanh(h * w), (h, w)
        caches[i] = cache
    return np.sum(h) + np.sum(caches[1][0])


def test_no_check_where_nothing_is_written():
    assert "__fx_check" not in normalized_source(rows_appended)
    assert "__fx_check" not in normalized_source(copied_first)
    assert "__fx_check" not in normalized_source(caches_filled)
    check(caches_filled, V.copy(), 0.5)


# ---------------------------------------------------------------------------------------------------------
# 2. array_views: astype's copy, conj of a real array


def astype_by_position(y):
    z = y.astype(y.dtype, "K", "unsafe", True, False)  # copy=False: z is y itself
    z[0] = 5.0
    return np.sum(y * y)


def astype_by_keyword(y):
    z = y.astype(y.dtype, copy=False)
    z[0] = 5.0
    return np.sum(y * y)


def conj_of_real(y):
    z = y.conj()  # y itself for a real y
    z[0] = 5.0
    return np.sum(y * y)


@pytest.mark.parametrize("f", [astype_by_position, astype_by_keyword, conj_of_real])
def test_a_view_making_method_is_refused_as_a_write_target(f):
    # (at run time since hunt 16, where the two share memory: a view maker may make a new array)
    with pytest.raises(fx.FluxpyError, match="writing into 'z'") as caught:
        fx.gradient(f, V.copy())
    assert f'File "{__file__}", line {line_of(f, "z[0] = 5.0")}' in str(caught.value)


def astype_copies(y):
    z = y.astype(y.dtype, "K", "unsafe", True, True)  # copy=True
    w = y.astype(y.dtype, "K", "unsafe", True)  # subok=True: a copy by default
    z[0] = 5.0
    w[1] = 3.0
    return np.sum(y * y) + np.sum(z * w * y)


def test_astype_copies_are_written():
    check(astype_copies, V.copy())


def _call(text):
    return gast.parse(text).body[0].value


@pytest.mark.parametrize(
    "text, source",
    [
        ("y.astype(t, 'K', 'unsafe', True, False)", "y"),
        ("y.astype(t, 'K', 'unsafe', False)", None),  # subok=False: the 4th argument
        ("y.astype(t, 'K', 'unsafe', True, True)", None),
        ("y.astype(t, copy=False)", "y"),
        ("np.array(y, copy=False)", "y"),
        ("np.array(y, float)", None),
        ("np.asarray(y, float)", "y"),
        ("np.reshape(y, (2, 1), copy=True)", None),
        ("y.reshape(2, 1)", "y"),
        ("y.conj()", "y"),
        ("np.conj(y)", None),
        ("np.atleast_1d(y)", "y"),
        ("np.atleast_1d(y, z)", None),
    ],
)
def test_same_or_view_source(text, source):
    found = same_or_view_source(_call(text))
    assert (found.id if found is not None else None) == source


def test_atleast_of_several_arrays_may_view_each():
    fdef = gast.parse("def f(y, z):\n    p = np.atleast_1d(y, z)\n").body[0]
    sources = Sources(fdef, [fdef], frozenset())
    assert sources.of(_call("np.atleast_1d(y, z)")) == {"y", "z"}


# ---------------------------------------------------------------------------------------------------------
# 3. with ... as b: b may be the manager's object


def with_list(x):
    lst = [x, x]
    with contextlib.nullcontext(lst) as b:  # b is lst
        b[0] = x * 2.0
    return lst[0] * 1.0


def test_with_target_is_an_alias_of_a_list():
    with pytest.raises(fx.TransformError, match="writing into 'b'") as caught:
        fx.gradient(with_list, X)
    assert f'File "{__file__}", line {line_of(with_list, "b[0] = x * 2.0")}' in str(caught.value)


def with_value(x):
    with contextlib.nullcontext(x * 2) as b:
        y = b * x
    lst = [y]
    with contextlib.nullcontext(3.0) as c:
        lst[0] = lst[0] * c
    return lst[0]


def test_with_target_is_differentiated():
    check(with_value, X)


# ---------------------------------------------------------------------------------------------------------
# 4. a, *rest = x rebinds rest


def starred_rebinds(x):
    rest = [1.0, 2.0]
    keep = rest  # rest and keep: one list
    a, *rest = x  # rebinds rest, writes into nothing
    rest[0] = rest[0] * 3.0  # a write into the new list
    return a * 2.0 + rest[0] + keep[1] * x[2]


def starred_middle(x):
    first, *middle, last = [x[0], x[1], x[2], x[0] * x[1]]
    middle[1] = middle[1] * 2.0
    return first * last + middle[0] * middle[1]


@pytest.mark.parametrize("f", [starred_rebinds, starred_middle])
def test_starred_target_is_a_rebinding(f):
    check(f, np.array([1.0, 2.0, 3.0]))


# ---------------------------------------------------------------------------------------------------------
# 5. Python's evaluation order


def dict_from_iterator(x):
    it = iter(x)
    d = {next(it): next(it), next(it): next(it)}  # keys x0, x2; values x1, x3
    return sum(k * v for k, v in d.items())


def dict_values_from_iterator(x):
    it = iter(x)
    d = {int(next(it)): next(it), int(next(it)): next(it)}  # keys 1, 3; values x1, x3
    return sum(k * v for k, v in d.items())


def test_dict_display_evaluates_key_then_value():
    x = np.array([1.0, 2.0, 3.0, 4.0])
    assert fx.withgradient(dict_from_iterator, x).val == dict_from_iterator(x) == 14.0
    x = np.array([1.5, 2.0, 3.5, 4.0])  # (int() of the keys away from its jumps)
    found = fx.withgradient(dict_values_from_iterator, x)
    assert found.val == dict_values_from_iterator(x) == 14.0
    assert np.allclose(found.grad[0], [0.0, 1.0, 0.0, 3.0])
    # (not forward mode: there an inactive next(it), in int(next(it)), leaves the tangent iterator behind)
    check_grads(dict_values_from_iterator, x, order=2)


def side(log, tag, v):
    log.append(tag)
    return v


def dict_order(x, log):
    d = {side(log, "k1", "a"): side(log, "v1", x), side(log, "k2", "b"): side(log, "v2", x * 2)}
    return d["a"] + d["b"]


def call_order(x, log):
    return side(log, "fn", np.add)(side(log, "a1", x), side(log, "a2", x), out=side(log, "kw", None))


def method_order(x, log):
    return side(log, "obj", x).dot(side(log, "arg", x))


def keyword_order(x, log):
    return np.sum(side(log, "a", x), axis=side(log, "axis", 0), keepdims=side(log, "keep", False))


@pytest.mark.parametrize("f", [dict_order, call_order, method_order, keyword_order])
def test_side_effects_in_python_order(f):
    x = np.array([1.0, 2.0])
    plain, fluxpy, forward = [], [], []
    f(x, plain)
    fx.gradient(lambda z: np.sum(f(z, fluxpy)), x)
    fx.jvp(lambda z: f(z, forward), (x,), (np.ones(2),))
    assert fluxpy == forward == plain


def test_call_order_keeps_gradients():
    check(lambda x: np.sum(call_order(x, [])) + method_order(x, []) + keyword_order(x, []), V.copy())


# ---------------------------------------------------------------------------------------------------------
# 6. the caller's index arrays, masks and lists never change


def sorts_indices(x, idx):
    idx.sort()
    return np.sum(x[idx] * np.array([1.0, 10.0]))


def fills_indices(x, idx):
    idx.fill(0)
    return np.sum(x[idx])


def negates_mask(x, mask):
    np.logical_not(mask, out=mask)
    return np.sum(x[mask])


def negates_mask_by_position(x, mask):
    np.logical_not(mask, mask)  # a ufunc's output by position
    return np.sum(x[mask] ** 2)


def shuffles(x, idx):
    np.random.default_rng(0).shuffle(idx)
    return np.sum(x[idx] * np.arange(3.0))


def adds_at(x, idx):
    np.add.at(idx, [0], 1)
    return np.sum(x[idx] ** 2)


def clips_by_position(x, idx):
    np.clip(idx, 0, 1, idx)  # np.clip(a, a_min, a_max, out)
    return np.sum(x[idx] ** 2)


def clips_by_position_in_an_expression(x, idx):
    return np.sum(np.clip(x, 0, 1, x) ** 2) + np.sum(idx)


def test_an_output_passed_by_position_in_an_expression_is_refused_as_out_is():
    # a rule's function with its out by position (np.clip(a, a_min, a_max, out)) is refused as out= is; as a
    # statement on a name it is a write of the whole array (transform/out_writes.py): see below
    idx = np.array([0, 2, 1])
    with pytest.raises(fx.FluxpyError, match=r"clip\(\.\.\., out\) \(an output array passed by position\)"):
        fx.gradient(clips_by_position_in_an_expression, np.array([1.0, 2.0, 3.0]), idx)
    np.testing.assert_array_equal(idx, [0, 2, 1])


@pytest.mark.parametrize(
    "f, arg",
    [
        (sorts_indices, np.array([2, 0])),
        (fills_indices, np.array([1, 2])),
        (negates_mask, np.array([True, False, True])),
        (negates_mask_by_position, np.array([True, False, True])),
        (shuffles, np.array([0, 1, 2])),
        (adds_at, np.array([0, 1, 2])),
        (clips_by_position, np.array([0, 2, 1])),
    ],
)
def test_caller_arrays_are_left_unchanged(f, arg):
    x = np.array([1.0, 2.0, 3.0])
    before = arg.copy()
    expected = f(x.copy(), arg.copy())
    assert np.allclose(fx.withgradient(f, x, arg).val, expected)
    fx.gradient(f, x, arg)
    fx.pullback(f, x, arg)[1](1.0)
    fx.jvp(lambda z: f(z, arg), (x,), (np.ones(3),))
    assert (arg == before).all()
    check_grads(lambda z: f(z, arg.copy()), x, order=2, forward=True)


def only_reads_indices(x, idx):
    return np.sum(x[idx]) + idx.sum()


def copies_first(x, idx):
    """Sorts its own copy."""
    idx = idx.copy()
    idx.sort()
    return np.sum(x[idx])


def iadd_rebinding(x, idx):
    idx = operator.iadd(idx, 1)  # idx += 1: a new array in fluxpy
    return np.sum(x[idx])


@pytest.mark.parametrize("f", [only_reads_indices, copies_first, iadd_rebinding])
def test_no_copy_where_nothing_writes_the_parameter(f):
    assert "__array_priority__" not in normalized_source(f)
    x, idx = np.array([1.0, 2.0, 3.0]), np.array([1, 0])
    assert np.isclose(fx.withgradient(f, x, idx).val, f(x, idx.copy()))
    assert (idx == [1, 0]).all()


def helper_sorts(idx):
    idx.sort()


def reads_after_helper(x, idx):
    idx = idx.copy()
    helper_sorts(idx)  # Python sorts idx here
    return np.sum(x[idx] * np.array([1.0, 10.0]))


def test_caller_of_a_function_sorting_its_argument_is_refused():
    x, idx = np.array([1.0, 2.0, 3.0]), np.array([2, 0])
    with pytest.raises(fx.FluxpyError, match="writes into its argument 'idx'") as caught:
        fx.gradient(reads_after_helper, x, idx)
    assert f"line {line_of(reads_after_helper, 'helper_sorts(idx)')}" in str(caught.value)
    assert (idx == [2, 0]).all()


def appends_label(x, labels):
    labels.append(2)  # bookkeeping in the caller's list: Python's own append
    return np.sum(x[labels] ** 2)


def test_caller_list_keeps_python_semantics():
    x, labels = np.array([1.0, 2.0, 3.0]), [0, 1]
    assert np.isclose(fx.withgradient(appends_label, x, labels).val, appends_label(x, [0, 1]))
    assert labels == [0, 1]  # fx.withgradient appended to its own copy: the caller's never changes (API.md)
    assert "__array_priority__" not in normalized_source(appends_label)
