"""Comprehensions, generator expressions and lambdas are evaluated where and when Python evaluates them.

A comprehension inside a lambda stays in the lambda (its variables are the lambda's); one in a part of an
expression that Python evaluates only sometimes (``c and A``, ``A if c else B``, an ``assert`` message, an
outer comprehension's condition) is evaluated only then; ``any``/``all`` of a generator stop at the first
true (false) item; a lambda's default in a branch not taken is not evaluated.
"""

import math

import numpy as np
import pytest

import fluxpy as fx
from fluxpy.testing import check_grads
from fluxpy.transform.cache import normalized_source

X = np.array([1.0, 2.0, 3.0])


# -- comprehensions inside lambdas ---------------------------------------------------------------------
def lambda_norm(x):
    norm = lambda v: math.sqrt(sum(t * t for t in v))  # noqa: E731
    return norm(x)


def lambda_shadows_outer(x):
    v = np.array([10.0, 10.0, 10.0])  # the lambda's parameter has the same name
    norm2 = lambda v: sum(t * t for t in v)  # noqa: E731
    return norm2(x) + v[0]


def lambda_key(x):
    groups = [x[:2], x[2:]]
    best = max(groups, key=lambda grp: sum(t for t in grp))
    return np.sum(best**2)


def lambdas_in_comprehension(x):
    fs = [lambda v, k=k: sum(t**k for t in v) for k in (1, 2)]
    gs = [lambda t, *, k=k: t * k for k in (2.0, 3.0)]
    return fs[1](x) + fs[0](x) * gs[1](x[0])


def lambda_list_comprehension(x):
    scale = lambda z, w=2.0: [v * w for v in z]  # noqa: E731
    return sum(scale(x)) + (lambda z: sum({i: t for i, t in enumerate(z)}.values()))(x)


NORM = lambda v: math.sqrt(sum(t * t for t in v))  # noqa: E731


@pytest.mark.parametrize(
    "f", [lambda_norm, lambda_shadows_outer, lambdas_in_comprehension, lambda_list_comprehension, NORM]
)
def test_comprehension_stays_in_its_lambda(f):
    assert np.isclose(fx.withgradient(f, X).val, f(X))
    check_grads(f, X, order=2, forward=True)


def test_lambda_with_generator_as_key():
    x = np.array([1.0, 2.0, 3.5])
    assert np.allclose(fx.gradient(lambda_key, x)[0], [0.0, 0.0, 7.0])
    assert np.allclose(fx.gradient(lambda_key, X)[0], [2.0, 4.0, 0.0])  # a tie: max keeps the first
    check_grads(lambda_key, x, order=2, forward=True)


def test_lambda_body_keeps_its_comprehension():
    source = normalized_source(lambda_shadows_outer)
    body = source.split("def lambda_L", 1)[1].split("\n")[1]
    assert "for t in v" in body  # the generator is the lambda's, evaluated when it is called


# -- comprehensions evaluated only sometimes -----------------------------------------------------------
def guard(x, weights=None):
    if weights is not None and any(w > 0 for w in weights):
        return np.sum(x * np.asarray(weights))
    return np.sum(x**2)


def test_guarded_generator_not_evaluated():
    x = np.array([1.0, 2.0])
    assert np.allclose(fx.gradient(guard, x)[0], 2 * x)
    assert np.allclose(fx.gradient(guard, x, [0.5, 3.0])[0], [0.5, 3.0])
    assert np.allclose(fx.gradient(guard, x, [0.0, -1.0])[0], 2 * x)
    check_grads(guard, x, order=2, forward=True)


def branch_not_taken(x):
    d = {"a": x}
    keys = ["a", "b"]
    return sum(np.sum(d[k]) for k in keys) if "b" in d else np.sum(d["a"] * 2)


def and_or(x):
    idx = [0, 5]
    ok = max(idx) < len(x)
    return ok and sum(x[i] for i in idx) or np.sum(x) * 3


def division_guarded(x):
    vals = [float(v) for v in x]
    return sum(1.0 / v for v in vals) if min(vals) > 0 else np.sum(x * 2)


def chained(x):
    a = len(x) > 1 and x[0] > 0 and sum(t for t in x[1:]) and x[0] * 2
    b = len(x) > 5 or [t * 3 for t in x] or x
    c = None if len(x) > 5 else {i: t for i, t in enumerate(x)} if len(x) > 1 else {}
    return a + sum(b) + c[2]


def elif_test(x):
    if x[0] > 5:
        y = x[0]
    elif x[0] > 0 and all(t > 0 for t in x):
        y = np.sum(x**2)
    else:
        y = np.sum(x)
    return y


def outer_comprehension(x):
    rows = [x[:2], None, x[1:]]
    kept = sum(np.sum(r) for r in rows if r is not None and all(v > 0 for v in r))
    nested = [[t * 2 for t in r] if r is not None else [] for r in rows]
    return kept + sum(sum(r) for r in nested)


@pytest.mark.parametrize(
    "f", [branch_not_taken, and_or, division_guarded, chained, elif_test, outer_comprehension]
)
def test_conditional_comprehension(f):
    assert np.isclose(fx.withgradient(f, X).val, f(X))
    check_grads(f, X, order=2, forward=True)
    if f is division_guarded:  # the guard fails: no division by zero
        x = np.array([0.0, 2.0])
        value, (grad,) = fx.withgradient(f, x)
        assert value == f(x) and np.allclose(grad, [2.0, 2.0])


def consumes_iterator(x):
    it = iter(x)
    skip = False
    extra = [next(it) for _ in range(1)] if skip else []
    c = next(it)
    return c * 10 + len(extra)


def consumes_in_or(x):
    it = iter(x)
    d = {"k": 1}
    v = d.get("k") or [next(it) for _ in range(1)]
    return next(it) * 10 + v


def consumes_in_fstring(x):
    it = iter(x)
    s = f"{[next(it) for _ in range(1)] if False else ''}"
    return next(it) * 10 + len(s)


def consumes_in_dict_comprehension(x):
    it = iter(x)
    y = x[0] if True else {k: next(it) for k in range(1)}
    return next(it) * 10 + y


@pytest.mark.parametrize(
    "f", [consumes_iterator, consumes_in_or, consumes_in_fstring, consumes_in_dict_comprehension]
)
def test_iterator_read_only_when_python_reads_it(f):
    value, (grad,) = fx.withgradient(f, X)
    assert value == f(X)
    first = 11.0 if f is consumes_in_dict_comprehension else 10.0  # the first item is read by next
    assert np.allclose(grad, [first, 0.0, 0.0])
    assert np.isclose(fx.jvp(f, (X,), (np.array([1.0, 0.0, 0.0]),))[1], first)
    check_grads(f, X, order=2, forward=True)


# -- any and all stop at the first true (false) item ---------------------------------------------------
def any_stops(x):
    vals = [float(v) for v in x]
    if any(1.0 / v > 2 for v in vals):  # Python stops at 0.25 and never divides by 0.0
        return np.sum(x**2)
    return np.sum(x)


def all_stops(x):
    vals = [float(v) for v in x]
    if all(1.0 / v < 2 for v in vals):  # stops at 0.25
        return np.sum(x)
    return np.sum(x**3)


def any_reads_iterator(x):
    it = iter(x)
    found = any(next(it) > 0 for _ in range(2))
    return next(it) * 10 + found


def any_leaves_iterator(x):
    it = iter(x)
    found = any(v > 0.5 for v in it)  # reads one item
    ok = all(v < 2.5 for v in it)  # reads two
    return next(it) * 10 + found + ok


COUNT = []


def counted(v):
    COUNT.append(v)
    return v


def any_nested_loops(x):
    found = any(counted(a * b) > 3 for a in x for b in x if a != b)
    every = all(counted(a) < 2 for a in x)
    return np.sum(x) * (1 + found + 2 * every)


def test_any_all_short_circuit():
    x = np.array([0.25, 0.0])
    assert np.allclose(fx.gradient(any_stops, x)[0], 2 * x)
    assert np.allclose(fx.gradient(all_stops, x)[0], 3 * x**2)
    check_grads(any_stops, x, order=2, forward=True)
    check_grads(all_stops, x, order=2, forward=True)
    y = np.array([0.25, 0.0, 3.0])
    assert fx.withgradient(any_reads_iterator, y).val == any_reads_iterator(y)
    assert np.allclose(fx.gradient(any_reads_iterator, y)[0], [0.0, 10.0, 0.0])
    z = np.array([1.0, 2.0, 3.0, 4.0])
    assert fx.withgradient(any_leaves_iterator, z).val == any_leaves_iterator(z) == 41.0
    assert np.allclose(fx.gradient(any_leaves_iterator, z)[0], [0.0, 0.0, 0.0, 10.0])
    check_grads(any_leaves_iterator, z, order=2, forward=True)


def test_any_all_items_evaluated_as_in_python():
    x = np.array([1.0, 2.0, 3.0])
    COUNT.clear()
    plain = any_nested_loops(x)
    expected = list(COUNT)
    COUNT.clear()
    value, (grad,) = fx.withgradient(any_nested_loops, x)
    assert value == plain and COUNT == expected  # the same items, in the same order
    assert np.allclose(grad, 2.0)
    check_grads(any_nested_loops, x, order=2, forward=True)


class Truth:
    """Counts how often its truth is tested (Python tests each value of ``a and b`` once)."""

    tested = 0

    def __init__(self, value):
        self.value = value

    def __bool__(self):
        Truth.tested += 1
        return self.value


def truth_tested_once(x):
    a = Truth(True) and Truth(True) and [t for t in x] and Truth(False) and [t * 2 for t in x]
    b = Truth(False) or Truth(False) or [t * 3 for t in x]
    return sum(b) * (a.value + 1)


def test_truth_tested_once():
    Truth.tested = 0
    plain = truth_tested_once(X)
    tested = Truth.tested
    Truth.tested = 0
    assert fx.withgradient(truth_tested_once, X).val == plain
    assert Truth.tested == tested == 5


# -- assert messages and lambda defaults ---------------------------------------------------------------
def assert_message(x):
    it = iter(x)
    assert True, [next(it) for _ in range(1)]
    return next(it) * 10


def assert_fails(x):
    assert np.all(x > 0), f"non-positive entries: {[float(v) for v in x if v <= 0]}"
    return np.sum(np.log(x))


def test_assert_message_evaluated_when_it_fails():
    assert np.allclose(fx.gradient(assert_message, X)[0], [10.0, 0.0, 0.0])
    assert np.allclose(fx.gradient(assert_fails, X)[0], 1 / X)
    with pytest.raises(AssertionError, match=r"non-positive entries: \[-1.0\]"):
        fx.gradient(assert_fails, np.array([1.0, -1.0]))


CALLS = []


def side(tag, v):
    CALLS.append(tag)
    return v


def lambda_defaults(x):
    f = (lambda t, k=side("default", 2.0): t * k) if False else (lambda t: t * 3)
    g = x[0] > 5 and (lambda t, *, k=side("keyword", 2.0): t * k)
    h = (lambda t, k=side("taken", 4.0): t * k) if True else None
    return np.sum(f(x) + h(x) + (g(x) if g else 0.0))


def test_lambda_default_evaluated_only_when_its_lambda_is():
    CALLS.clear()
    plain = lambda_defaults(X)
    assert CALLS == ["taken"]
    CALLS.clear()
    assert np.allclose(fx.withgradient(lambda_defaults, X).val, plain)
    assert CALLS == ["taken"]
    CALLS.clear()
    assert np.allclose(fx.jvp(lambda_defaults, (X,), (np.ones(3),))[1], 21.0)
    assert CALLS == ["taken"]
    check_grads(lambda_defaults, X, order=2, forward=True)
