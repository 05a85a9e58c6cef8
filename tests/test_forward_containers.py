"""Forward mode (fx.jvp) through Python's containers, iterators, in-place changes, partials and local
functions: the forward rules of rules/forward_*.py and the closure tangents of transform/forward.py.

Each row is checked in forward mode only, against central finite differences (some rows are refused by
reverse mode, or wrong there: see tests/test_forward.py's REVERSE_RAISES and tests/corpus.py's xfails).
"""

import functools
import itertools
import operator

import numpy as np
import pytest

import fluxpy as fx

from . import corpus

EPS = 1e-6


def check_jvp(f, *args, seed=0):
    """fx.jvp's tangent of ``f`` along a random direction against central finite differences."""
    rng = np.random.default_rng(seed)
    tangents = tuple(
        rng.standard_normal(a.shape) if isinstance(a, np.ndarray) else float(rng.standard_normal())
        for a in args
    )
    _, dy = fx.jvp(f, args, tangents)
    plus = f(*(a + EPS * t for a, t in zip(args, tangents, strict=True)))
    minus = f(*(a - EPS * t for a, t in zip(args, tangents, strict=True)))
    np.testing.assert_allclose(dy, (plus - minus) / (2 * EPS), rtol=1e-5, atol=1e-6)


# ---------------------------------------------------------------------------------------------------------
# iterators: the tangent of an iterator is an iterator over its items' tangents, advanced in step


def iter_and_next(x, w):
    it = iter(x)
    first = next(it)
    second = next(it)
    rest = [v for v in it]
    return first * second + sum(rest) * w + next(iter([]), w) * next(iter({"a": w}.values()))


def zip_of_one_iterator(x, w):
    it = iter([x[0], w, x[1], x[2]])
    return sum(a * b for a, b in zip(it, it))


def zip_shortest_and_strict(x, w):
    short = sum(a * b for a, b in zip(x, [w, 2.0]))
    return short + sum(a * b for a, b in zip(x[:2], [w, w], strict=True))


def enumerate_and_reversed(x, w):
    total = 0.0
    for i, v in enumerate(reversed([x[0], w, x[1]]), start=1):
        total = total + i * v
    return total + sum(reversed(x)) * w


def sorted_by_key(x, w):
    scores = {f"f{i}": v * w for i, v in enumerate(x)}
    ranked = sorted(scores.items(), key=lambda kv: kv[1], reverse=True)
    return sum(v * (i + 1) for i, (_, v) in enumerate(ranked)) + sorted([w, x[0]])[0]


def sums(x, w):
    return sum(iter([x[0], w])) + sum([[x[1]], [w]], [])[1] * w + sum([x, x * w], np.ones(4)).sum()


def higher_order_over_iterators(x, w):
    scaled = list(map(lambda v: v * w, iter(x)))
    kept = list(filter(lambda v: v > -10.0, iter(x)))
    product = functools.reduce(operator.mul, iter(x))
    chained = sum(itertools.chain(iter(x[:2]), [w]))
    return sum(scaled) + sum(kept) * w + product + chained


class Bag:
    def __init__(self, *items):
        self.items = list(items)

    def __iter__(self):
        return iter(self.items)


def user_iterable(x, w):
    bag = Bag(x[0], w, x[1])
    it = iter(bag)
    a, b = next(it), next(it)
    return a * b + sum(bag) + sum(v for v in bag) * w


def unpack_and_convert(x, w):
    k, m = {"k": x, "m": w}
    d = dict(zip([k, m], [x[0], w]))
    return d["k"] * d["m"] * len(tuple({"a": x})) + tuple(x)[1] * w


# ---------------------------------------------------------------------------------------------------------
# dicts, and methods taken as values


def dict_methods(x, w):
    d = dict(zip(["a", "b"], [x, w]))
    e = dict(d, c=w * 2.0)
    f = dict(a=x[0], b=2.0)
    total = sum(np.sum(v) for _, v in e.items()) + sum(np.sum(v) for v in e.values())
    return total + np.sum(d.get("a")) * d.get("z", w) + e.copy()["c"] * f["a"] * f["b"]


def methods_as_values(x, w):
    d = {"a": x, "b": w}
    get = d.get
    items = d.items
    total = x.sum
    return get("b") * total() + sum(np.sum(v) for _, v in items()) + np.sum(x.astype(float) * w)


def bound_method_parts(x, w):
    bag = Bag(x, w)
    method = bag.__iter__
    return np.sum(method.__self__.items[0]) * method.__self__.items[1]


# ---------------------------------------------------------------------------------------------------------
# in-place changes inside expressions (statements are rebound by the normalizer): the tangent changes alike


def list_in_place(x, w):
    lst = [x[0], w]
    total = lst.pop() * 2.0
    lst.extend([w, x[2]]) if total else None
    head = (lst.insert(0, x[3]) or 1.0) * lst[0]
    (lst.append(x[1] * w) or lst.reverse() or lst.sort() or lst.remove(lst[-1])) if head else None
    return total + head + sum(v * (i + 1) for i, v in enumerate(lst))


def dict_in_place(x, w):
    d = {"a": x[1]}
    total = d.pop("a") + d.pop("missing", w)
    total = total + d.setdefault("b", w) * 3.0 + d.setdefault("b", 5.0)
    d.update({"c": x[0] * w}, e=w) if total else None
    key, value = d.popitem()
    return total + sum(v for _, v in sorted(d.items())) + value * len(key)


# ---------------------------------------------------------------------------------------------------------
# functools.partial, strings, local functions


def affine(x, w, b=0.0, power=1):
    return np.sum((w * x + b) ** power)


def partials(x, w):
    f = functools.partial(affine, w=w, power=3)
    g = functools.partial(functools.partial(np.multiply, w))
    h = functools.partial(lambda a, b, c=1.0: a * b * c, c=w)
    return f(x) + np.sum(g(x)) + np.sum(h(x, w))


def formatted_strings(x, w):
    label = "%.2f" % w + "{:.3f}".format(x[0]) + f"{w!r}"  # noqa: UP031, UP032
    return w * x[0] * (len(label) > 0)


def local_recursion(x, w):
    def power(n):
        return w if n == 0 else w * power(n - 1)

    alias = power
    return alias(3) * x[0]


def closure_read_late(x, w):
    def scaled(t):
        return t * s

    s = w
    first = scaled(x[0])
    s = w * w
    kept = [scaled]
    return first + kept[0](x[1])


def tangents_as_containers(x, w):
    """fx.Tangent read as a mapping (as forward mode of forward mode reads closures' tangents): its tangent is
    a Tangent of its fields' tangents."""
    t = fx.Tangent(object, {"a": x * w, "b": w})
    total = np.sum(t["a"]) * t.get("b") + t.get("c", w) + sum(np.sum(v) for v in t.values())
    return total + sum(np.sum(v) * len(k) for k, v in t.items()) + len(list(t.keys())) * t.b


ROWS = [
    iter_and_next,
    zip_of_one_iterator,
    zip_shortest_and_strict,
    enumerate_and_reversed,
    sorted_by_key,
    sums,
    higher_order_over_iterators,
    user_iterable,
    unpack_and_convert,
    dict_methods,
    methods_as_values,
    bound_method_parts,
    list_in_place,
    dict_in_place,
    partials,
    formatted_strings,
    local_recursion,
    closure_read_late,
    tangents_as_containers,
]


@pytest.mark.parametrize("f", ROWS, ids=[f.__name__ for f in ROWS])
def test_forward_rules(f):
    check_jvp(f, np.array([0.3, -0.5, 1.2, 0.8]), 0.9)


# corpus cases that reverse mode refuses or gets wrong, and forward mode gets right
FORWARD_ONLY = [
    "list_as_stack",  # reverse mode: its `stack.pop()` inside an expression
    "next_of_iter",
    "late_binding_lambdas",
    "loop_lambdas",
    "default_binding_lambdas",
    "lambda_default_capture",
]


@pytest.mark.parametrize("name", FORWARD_ONLY)
@pytest.mark.parametrize("seed", [0, 1, 2])
def test_corpus_forward_only(name, seed):
    (case,) = [c for c in corpus.CORPUS if c.name == name]
    check_jvp(case.fn, *case.args_factory(np.random.default_rng(seed)), seed=seed)


def test_hessian_through_bound_methods_and_dict_items():
    """Forward over reverse (fx.hvp) runs these rules over generated pullbacks too."""
    x = np.array([0.3, -0.4])

    def f(W):
        net = corpus.Net(W)
        step = net.step
        parts = {"a": np.sum(step(x, x)), "b": np.sum(W**2)}
        return sum(v for _, v in sorted(parts.items()))

    W, v = np.array([[0.5, -0.2], [0.1, 0.7]]), np.array([[1.0, 0.5], [-0.3, 0.2]])
    g = lambda a: fx.gradient(f, a)[0]  # noqa: E731
    fd = (g(W + EPS * v) - g(W - EPS * v)) / (2 * EPS)
    np.testing.assert_allclose(fx.hvp(f, W, v), fd, rtol=1e-5, atol=1e-6)


# ---------------------------------------------------------------------------------------------------------
# what forward mode refuses, each beside a nearby case it follows


def update_untracked_dict(x, w):
    d = dict.fromkeys("b")
    scale = d.update(a=x[0]) or 1.0
    return d["a"] * scale * w


def update_new_dicts(x, w):
    d, e = {}, dict()
    scale = (d.update(a=x[0]) or 1.0) + (e.update(b=w) or 1.0)
    return d["a"] * scale * e["b"]


def hstack_of_iterator(x, w):
    return np.sum(np.hstack(iter([x[0], w])))


def hstack_of_list(x, w):
    return np.sum(np.hstack([x[0], w]))


def list_dunder_read(x, w):
    return [x[0], w].__getitem__(1)


def list_item_read(x, w):
    return [x[0], w][1]


def list_dunder_add(x, w):
    lst = [x[0]]
    lst.__iadd__([w])
    return lst[1]


def list_augmented_add(x, w):
    lst = [x[0]]
    lst += [w]
    return lst[1]


REFUSED = [
    (update_untracked_dict, update_new_dicts, "dict.update"),
    (hstack_of_iterator, hstack_of_list, "iterator"),
    (list_dunder_read, list_item_read, "list.__getitem__"),
    (list_dunder_add, list_augmented_add, "list.__iadd__"),
]


@pytest.mark.parametrize("refused, followed, match", REFUSED, ids=[r[0].__name__ for r in REFUSED])
def test_forward_refusals(refused, followed, match):
    args = (np.array([0.3, -0.5, 1.2, 0.8]), 0.9)
    with pytest.raises(fx.FluxpyError, match=match) as info:
        fx.jvp(refused, args, (np.ones(4), 1.0))
    assert "test_forward_containers.py" in str(info.value)  # names the user's line
    check_jvp(followed, *args)


def test_default_computed_from_a_local_is_refused():
    x, w = np.array([0.3, -0.5]), 0.9
    with pytest.raises(fx.FluxpyError, match="default value of parameter 'scale' of g"):
        fx.jvp(corpus.def_time_default, (x, w), (np.ones(2), 1.0))

    def defaults_of_ints(x):
        def g(t, k=len(x) + 1):  # an int: no tangent to lose
            return t * k

        return np.sum(g(x))

    check_jvp(defaults_of_ints, x)


def _checks_only(x):
    if x > 100.0:
        raise ValueError("too large")


def _calls_a_function_without_return(x):
    _checks_only(x)
    return np.sin(x) * 2.0


def test_jvp_through_a_callee_without_return():
    """A callee that falls off its end (returns None) has no tangent: forward mode goes on past it."""
    y, t = fx.jvp(_calls_a_function_without_return, (0.5,), (1.0,))
    assert np.isclose(y, 2 * np.sin(0.5)) and np.isclose(t, 2 * np.cos(0.5))
