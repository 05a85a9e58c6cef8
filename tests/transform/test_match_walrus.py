"""``match`` statements and assignment expressions (``:=``): desugared by the fence (normalize/matches.py,
normalize/named_exprs.py). Each supported form gives plain Python's value and passes check_grads (reverse,
forward and second order); the forms that cannot be made exact are refused, naming the line."""

import ast
import dataclasses
import inspect
import textwrap

import gast
import numpy as np
import pytest

import fluxpy as fx
from fluxpy.testing import check_grads
from fluxpy.transform.cache import normalized_source
from fluxpy.transform.naming import Namer
from fluxpy.transform.normalize import matches, named_exprs


@dataclasses.dataclass
class Point:
    x: float
    y: float


@dataclasses.dataclass
class Shape:
    kind: str
    size: float


class Pair:
    __match_args__ = ("first", "second")

    def __init__(self, first, second):
        self.first, self.second = first, second


CALLS = []  # the side effects of noisy(), which run once per plain or differentiated call


def noisy(v):
    CALLS.append(1)
    return v


# -- match: one function per pattern form ----------------------------------------------------------------
def match_tuple(p):
    match p:
        case (a, b):
            return np.sum(a * b)
        case _:
            return 0.0


def match_literals(x, mode):
    match mode:
        case 0 | 1:
            return x * 2
        case "square":
            return x * x
        case None:
            return -x
        case n if n > 5:
            return x * n
        case other:
            return x + other


def match_star(xs):
    match xs:
        case []:
            return 0.0
        case [only]:
            return only * 3
        case [first, *middle, last]:
            return first * last + sum(middle)


def match_array(x):
    match x:
        case [a, b]:  # an ndarray is no sequence to a pattern: never taken
            return a * b
        case np.ndarray():
            return np.sum(x * x)


def match_mapping(d):
    match d:
        case {"w": w, "b": b, **rest}:
            return w * b + sum(rest.values())
        case {"w": w}:
            return w**2


def match_class(s):
    match s:
        case Point(0, y):
            return y
        case Point(x, y=y):
            return x * y
        case Shape("circle", r):
            return np.pi * r * r
        case Shape(kind="square", size=a):
            return a * a
        case Pair(Point(x1, y1), Point(x2, y2)):
            return x1 * y2 - x2 * y1
        case float(v):
            return v**3
        case int(k):
            return float(k)
        case str():
            return 0.0


def match_nested(p):
    match p:
        case [(a, b) as pair, {"k": c}]:
            return a * b * c + pair[0]
        case ("x", a) | (a, "x"):
            return a * 2


def match_in_loop(items):
    total = 0.0
    for item in items:
        match item:
            case ("skip", _):
                continue
            case ("stop", _):
                break
            case ("add", v):
                total = total + v
            case ("ret", v):
                return total * v
    return total


def match_subject_expression(x, y):
    match noisy(x * 2), y:
        case (a, b) if (s := a + b) > 0:
            return s * a
        case (a, _):
            return a


def match_in_nested_function(x):
    def inner(p):
        match p:
            case (a, b):
                return a * b
        return 0.0

    return inner((x, 2.0))


MATCHES = [
    (match_tuple, ((2.0, 3.0),)),
    (match_tuple, ((np.array([1.0, 2.0]), np.array([3.0, -1.0])),)),
    (match_tuple, (1.5,)),
    (match_literals, (1.5, 1)),
    (match_literals, (1.5, "square")),
    (match_literals, (1.5, None)),
    (match_literals, (1.5, 7)),
    (match_literals, (1.5, 2.5)),
    (match_star, ([],)),
    (match_star, ([1.5],)),
    (match_star, ([1.5, 2.0],)),
    (match_star, ((1.5, 2.0, 3.0, 4.0),)),
    (match_array, (np.array([1.0, 2.0]),)),
    (match_mapping, ({"w": 1.5, "b": 2.0, "c": 3.0, "d": 4.0},)),
    (match_mapping, ({"w": 1.5},)),
    (match_class, (Point(0, 2.0),)),
    (match_class, (Point(1.5, 2.0),)),
    (match_class, (Shape("circle", 1.5),)),
    (match_class, (Shape("square", 1.5),)),
    (match_class, (Pair(Point(1.0, 2.0), Point(3.0, 5.0)),)),
    (match_class, (1.5,)),
    (match_class, (3,)),
    (match_nested, ([(1.5, 2.0), {"k": 3.0}],)),
    (match_nested, (("x", 1.5),)),
    (match_nested, ((1.5, "x"),)),
    (match_in_loop, ([("add", 1.5), ("skip", 9.0), ("add", 2.0), ("stop", 0.0), ("add", 5.0)],)),
    (match_in_loop, ([("add", 1.5), ("ret", 2.0), ("add", 5.0)],)),
    (match_subject_expression, (1.5, 2.0)),
    (match_subject_expression, (1.5, -9.0)),
    (match_in_nested_function, (1.5,)),
]


def _ids(rows):
    return [f"{f.__name__}-{i}" for i, (f, _) in enumerate(rows)]


@pytest.mark.parametrize("f, args", MATCHES, ids=_ids(MATCHES))
def test_match_is_plain_pythons_and_differentiable(f, args):
    value, _ = fx.withgradient(f, *args)
    np.testing.assert_allclose(value, f(*args))
    if any(isinstance(leaf, (float, np.ndarray)) for leaf in _leaves(args)):
        check_grads(f, *args, order=2)


def _leaves(value):
    if isinstance(value, (list, tuple)):
        return [x for v in value for x in _leaves(v)]
    if isinstance(value, dict):
        return _leaves(list(value.values()))
    if dataclasses.is_dataclass(value) or isinstance(value, Pair):
        return _leaves(list(vars(value).values()))
    return [value]


def test_match_gradient_flows_through_captured_values():
    assert fx.gradient(match_tuple, (2.0, 3.0)) == ((3.0, 2.0),)
    grad = fx.gradient(match_class, Point(1.5, 2.0))[0]
    assert (grad.x, grad.y) == (2.0, 1.5)


def test_match_on_an_ndarray_takes_no_sequence_pattern():
    x = np.array([1.0, 2.0])
    assert match_array(x) == 5.0
    np.testing.assert_allclose(fx.gradient(match_array, x)[0], 2 * x)
    assert match_tuple(x) == 0.0 and fx.gradient(match_tuple, x) == (None,)


def test_match_subject_is_evaluated_once():
    CALLS.clear()
    match_subject_expression(1.5, 2.0)
    plain = len(CALLS)
    CALLS.clear()
    fx.gradient(match_subject_expression, 1.5, 2.0)
    assert plain == len(CALLS) == 1


def test_match_desugars_into_readable_if_statements():
    text = normalized_source(match_tuple)
    assert "if __fx_match_sequence(p, 2):" in text
    assert "match " not in text
    assert "case (a, b):" in fx.adjoint_source(match_tuple)  # the comments name the user's lines


def test_match_raises_pythons_type_errors():
    def too_many(p):
        match p:
            case Point(a, b, c):
                return a + b + c

    with pytest.raises(TypeError, match="accepts 2 positional sub-patterns"):
        too_many(Point(1.0, 2.0))
    with pytest.raises(TypeError, match="accepts 2 positional sub-patterns"):
        fx.gradient(too_many, Point(1.0, 2.0))


class Wrapped:
    __match_args__ = ("v",)

    def __init__(self, v):
        self.v = v


FLOAT = float  # another name for the builtin


def match_shadowed_builtin(p, float):  # noqa: A002 (a class named float, on purpose)
    match p:
        case float(x):
            return x * 2


def match_aliased_builtin(p):
    match p:
        case FLOAT(x):
            return x * 2


def test_match_refuses_what_it_took_for_a_builtin_at_run_time():
    """``float(x)`` is read as the builtin's pattern (x: the subject itself); bound to another class, or
    the builtin under another name, it is a TypeError naming the cause rather than another match."""
    assert match_shadowed_builtin(Wrapped(1.5), Wrapped) == 3.0
    with pytest.raises(TypeError, match="bound to another class"):
        fx.gradient(match_shadowed_builtin, Wrapped(1.5), Wrapped)
    assert match_aliased_builtin(1.5) == 3.0
    with pytest.raises(TypeError, match="only where the pattern names it `float"):
        fx.gradient(match_aliased_builtin, 1.5)
    assert fx.gradient(match_class, 1.5) == (3 * 1.5**2,)  # nearby: the builtin by its name


# -- := ---------------------------------------------------------------------------------------------------
def walrus_if(x):
    if (n := np.sum(x)) > 0:
        return np.sum(x * n)
    return np.sum(x)


def walrus_while(x):
    while (y := np.sum(x * x)) < 10:
        x = x * 1.5
    return y


def walrus_while_else(x):
    k = 0
    while (k := k + 1) < 4:
        if x > 100:
            break
        x = x * 1.5
    else:
        x = x + k
    return x


def walrus_comprehension(ts):
    kept = [v * 3 for t in ts if (v := t * 2) > 1]
    return sum(kept) + v  # v: the last item's, bound in the function's scope


def walrus_any(xs):
    if any((w := t) > 1.5 for t in xs):
        return w * 2
    return 0.0


def walrus_short_circuit(x, c):
    y = c > 0 and (z := x * 2) > 1
    u = (m := x * 3) > 100 or x * 2
    return (z if y else x) * u + m


def walrus_conditional(x):
    y = x * 2 if (c := x > 1) else (d := x * 3) + d
    return y * (2 if c else 1)


def walrus_order(x):
    return x + (x := x * 2) + x  # Python reads the first x before the assignment


def walrus_order_calls(x):
    before = len(CALLS)
    return noisy(x) * ((n := len(CALLS)) - before) + n * 0  # noisy() runs first: n - before == 1


def walrus_not_evaluated(x):
    if x > 100 and (big := noisy(x)) > 0:
        return big
    return x * 2


def walrus_in_guard_and_subject(p):
    match q := p * 2:
        case r if (s := r + q) > 0:
            return s
        case _:
            return q


WALRUSES = [
    (walrus_if, (np.array([1.0, 2.0]),)),
    (walrus_if, (np.array([-1.0, -2.0]),)),
    (walrus_while, (np.array([1.0, 0.5]),)),
    (walrus_while_else, (1.5,)),
    (walrus_comprehension, ([0.2, 1.0, 1.5],)),
    (walrus_any, ([1.0, 2.0, 3.0],)),
    (walrus_any, ([1.0],)),
    (walrus_short_circuit, (1.5, 1)),
    (walrus_short_circuit, (0.2, -1)),
    (walrus_conditional, (1.5,)),
    (walrus_conditional, (0.5,)),
    (walrus_order, (1.5,)),
    (walrus_order_calls, (1.5,)),
    (walrus_not_evaluated, (1.5,)),
    (walrus_in_guard_and_subject, (1.5,)),
    (walrus_in_guard_and_subject, (-1.5,)),
]


@pytest.mark.parametrize("f, args", WALRUSES, ids=_ids(WALRUSES))
def test_walrus_is_plain_pythons_and_differentiable(f, args):
    value, _ = fx.withgradient(f, *args)
    np.testing.assert_allclose(value, f(*args))
    check_grads(f, *args, order=2)


def test_walrus_evaluated_only_when_python_evaluates_it():
    CALLS.clear()
    fx.gradient(walrus_not_evaluated, 1.5)
    assert CALLS == []


def test_walrus_moves_out_in_pythons_order():
    text = normalized_source(walrus_order)
    assert text.index("_x = x") < text.index("x = __fx_call(__fx_op.mul, x, 2)")
    assert "while True:" in normalized_source(walrus_while)


# -- refused: := where moving it out would change what Python does --------------------------------------
def in_lambda(x):
    g = lambda t: (u := t * 2) + u  # noqa: E731  refused
    return g(x)


def in_chained_comparison(x):
    if 0 < x < (m := 3.0):  # refused
        return x * m
    return x


def in_lazy_generator(xs):
    g = ((v := t * 2) + v for t in xs)  # refused
    return sum(g)


def in_item_target(x):
    ys = [x, x]
    ys[(i := 0)] = x * 2  # refused
    return ys[i]


def in_augmented_target(x):
    x += (x := 2.0)  # refused
    return x


def in_later_with_item(x):
    import contextlib

    with contextlib.nullcontext(), contextlib.nullcontext(y := x):  # refused
        return y


def in_except(x):
    try:
        return x
    except (e := ValueError):  # refused
        return e


def in_annotation(x):
    y: (a := float) = x * 2  # noqa: F841  refused
    return y


def in_nested_default(x):
    def g(t, k=(m := 2.0)):  # refused
        return t * k

    return g(x) * m


def written_comprehension_target(xs):
    last = [(row := t) for t in xs]
    row[0] = 1.0  # refused
    return last


def match_return_in_with(x):
    import contextlib

    match x:
        case (a, b):
            with contextlib.nullcontext():
                return a * b  # refused


REFUSED = [
    (in_lambda, "in a lambda"),
    (in_chained_comparison, "after the first comparison of a chain"),
    (in_lazy_generator, "in a generator expression"),
    (in_item_target, "in an assignment target"),
    (in_augmented_target, "augmented assignment"),
    (in_later_with_item, "second or later item"),
    (in_except, "in an except clause"),
    (in_annotation, "in an annotation"),
    (in_nested_default, "nested function's default value"),
    (written_comprehension_target, "in a comprehension binds"),
    (match_return_in_with, "a return inside a with or try block"),
]


@pytest.mark.parametrize("f, what", REFUSED, ids=[f.__name__ for f, _ in REFUSED])
def test_refused_forms_name_the_line(f, what):
    with pytest.raises(fx.TransformError) as info:
        fx.differentiable(f)
    err = info.value
    assert what in str(err)
    lines, first = inspect.getsourcelines(f)
    refused = next(i for i, line in enumerate(lines) if line.rstrip().endswith("refused"))
    assert err.file == __file__ and err.line == first + refused
    assert "Hint:" in str(err)


# the nearby forms that are fine
def lambda_without_walrus(x):
    g = lambda t: t * 2  # noqa: E731
    return g(u := x) + u


def chain_first_comparison(x):
    if (m := x * 2) < 4.0 < 10.0:
        return x * m
    return x


def generator_read_at_once(xs):
    return sum((v := t * 2) for t in xs) + v


def comprehension_target_copied(xs):
    last = [(row := t) for t in xs]
    copy = row.copy()
    copy[0] = 1.0
    return np.sum(copy * row) + np.sum(last[0])


NEARBY = [
    (lambda_without_walrus, (1.5,)),
    (chain_first_comparison, (1.5,)),
    (generator_read_at_once, ([1.5, 2.0],)),
    (comprehension_target_copied, ([np.array([1.0, 2.0]), np.array([3.0, 4.0])],)),
]


@pytest.mark.parametrize("f, args", NEARBY, ids=_ids(NEARBY))
def test_nearby_forms_are_supported(f, args):
    value, _ = fx.withgradient(f, *args)
    np.testing.assert_allclose(value, f(*args))
    check_grads(f, *args, order=2)


# -- the passes' docstring examples, as unparsed source ----------------------------------------------------
def _example(module):
    """The ``Before::`` and ``After::`` blocks of a pass's docstring, as source."""
    blocks = []
    for marker in ("Before::", "After::"):
        lines = module.__doc__.split(marker)[1].splitlines()[1:]
        end = next((i for i, line in enumerate(lines) if line.strip() and not line.startswith("    ")), None)
        blocks.append(textwrap.dedent("\n".join(lines[:end])))
    return blocks


@pytest.mark.parametrize("module", [matches, named_exprs], ids=["matches", "named_exprs"])
def test_docstring_example(module):
    before, after = _example(module)
    fdef = gast.parse(before).body[0]
    namer = Namer.for_function(fdef)
    namer.taken |= matches.pattern_names(fdef)
    matches.lower_matches(fdef, namer)
    named_exprs.hoist_named_exprs(fdef, namer)
    assert ast.unparse(ast.parse(gast.unparse(fdef))) == ast.unparse(ast.parse(after))
