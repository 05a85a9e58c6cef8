"""Stage 3: every construct the fence rejects raises TransformError naming the user's line; the nearby
supported form works."""

import inspect

import numpy as np
import pytest

import fluxpy as fx


def gen(x):
    yield x


async def coro(x):
    return x


def comprehension(x):
    return sum([v * x for v in [1.0, 2.0]])


def dict_comprehension(x):
    return {k: x for k in "ab"}["a"]


def set_comprehension(x):
    return len({k % 2 for k in range(4)}) * x


def generator_expression(x):
    return sum(v * x for v in [1.0, 2.0])


def try_block(x):
    try:
        y = x * 2
    except ValueError:
        y = x
    return y


def with_block(x):
    with open(__file__):
        y = x * 2
    return y


def try_return(x):
    try:
        return x * 2
    except ValueError:
        return x


def break_in_try(x):
    for i in range(3):
        try:
            break
        except ValueError:
            pass
    return x


def break_loop(x):
    for i in range(3):
        if i > 1:
            break
        x = x * 2
    return x


def continue_loop(x):
    for i in range(3):
        if i > 1:
            continue
        x = x * 2
    return x


def return_in_loop(x):
    for i in range(3):
        return x
    return x


def loop_else(x):
    for i in range(3):
        x = x * 2
    else:
        x = x + 1
    return x


def global_stmt(x):
    global G
    G = x
    return x


def walrus(x):
    return (y := x * 2) + y


def walrus_in_lambda(x):
    return (lambda t: (y := t * 2) + y)(x)


def item_assignment(x):
    y = [x]
    y[0] = 1.0
    return y[0]


def copy_then_write(x):
    y = x
    y[0] = 1.0
    return x[0]


def view_then_write(x):
    row = x[0]
    row[0] = 1.0
    return x[0, 0]


def loop_element_write(x):
    for row in x:
        row[0] = 1.0
    return x[0, 0]


def stored_then_write(x):
    pair = [x, x]
    x[0] = 1.0
    return pair[0][0]


def nested_item_assignment(x):
    x[0][1] = 1.0
    return x


def attribute_assignment(x):
    x.a = 1.0
    return x.a


def deletion(x):
    y = x
    del y
    return x


def class_inside(x):
    class A:
        pass

    return x


REJECTED = [
    (gen, "generator (yield)"),
    (coro, "async function"),
    (try_return, "return inside a with or try block"),
    (break_in_try, "break or continue inside a with or try block"),
    (global_stmt, "global statement"),
    (walrus_in_lambda, "assignment expression (:=) in a lambda"),
    (copy_then_write, "writing into 'y', which is the same object as 'x'"),
    (view_then_write, "may be a view or element"),
    (loop_element_write, "element of the sequence being iterated"),
    (stored_then_write, "is stored in a container"),
    (nested_item_assignment, "assigning to an item"),
    (attribute_assignment, "assigning to an attribute"),
    (deletion, "del"),
    (class_inside, "class definition"),
]


@pytest.mark.parametrize("fn, what", REJECTED, ids=[f.__name__ for f, _ in REJECTED])
def test_rejected_with_location(fn, what):
    with pytest.raises(fx.TransformError) as info:
        fx.differentiable(fn)
    err = info.value
    assert what in str(err)
    lines, first = inspect.getsourcelines(fn)
    assert err.file == __file__
    assert first <= err.line < first + len(lines)
    assert err.source_line.strip() in str(err)
    assert "Hint:" in str(err) or what in ("del",)


def early_return_in_branch(x):
    if x > 0:
        return x * 2
    return x * 3


def loop_with_flag(x):
    done = False
    for i in range(3):
        if not done:
            x = x * 2
        done = i >= 1
    return x


def unreachable_after_return(x):
    return x * 2
    x = x * 100  # noqa: F841


SUPPORTED = [
    (item_assignment, 1.0, (None,)),
    (try_block, 1.0, (2.0,)),
    (with_block, 1.0, (2.0,)),
    (break_loop, 1.0, (4.0,)),
    (continue_loop, 1.0, (4.0,)),
    (return_in_loop, 1.0, (1.0,)),
    (loop_else, 1.0, (8.0,)),
    (comprehension, 2.0, (3.0,)),
    (dict_comprehension, 2.0, (1.0,)),
    (set_comprehension, 2.0, (2.0,)),
    (generator_expression, 2.0, (3.0,)),
    (early_return_in_branch, 2.0, (2.0,)),
    (early_return_in_branch, -2.0, (3.0,)),
    (loop_with_flag, 1.0, (4.0,)),
    (unreachable_after_return, 1.0, (2.0,)),
    (walrus, 1.0, (4.0,)),
]


@pytest.mark.parametrize("fn, x, expected", SUPPORTED, ids=[f"{f.__name__}-{x}" for f, x, _ in SUPPORTED])
def test_nearby_supported_forms(fn, x, expected):
    assert fx.gradient(fn, x) == expected


def unpacked_fresh_dicts(x):
    xs, hs = {}, {}
    hs[0] = x * 2.0
    xs[0] = hs[0]
    return xs[0]


def write_before_store(x):
    store = {}
    for t in range(2):
        v = np.zeros(2)
        v[0] = x * t
        store[t] = v
    return store[1][0]


def store_then_write(x):
    v = np.zeros(2)
    store = {}
    store["a"] = v
    v[0] = x
    return store["a"][0]


def test_alias_analysis_follows_execution_order():
    assert fx.gradient(unpacked_fresh_dicts, 1.0) == (2.0,)
    assert fx.gradient(write_before_store, 1.0) == (1.0,)
    with pytest.raises(fx.TransformError, match="writing into 'v', which is stored in another container"):
        fx.gradient(store_then_write, 1.0)
