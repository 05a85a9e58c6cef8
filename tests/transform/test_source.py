"""Stage 1: source retrieval for every kind of function."""

import ast
import functools

import numpy as np

import fluxpy as fx
from fluxpy.transform.source import get_source

pair = (lambda x: x * 2.0), (lambda x: x * x)  # two lambdas on one line


def test_two_lambdas_on_one_line_are_told_apart():
    first, second = pair
    assert ast.unparse(get_source(first).node.body) == "x * 2.0"
    assert ast.unparse(get_source(second).node.body) == "x * x"
    assert fx.gradient(first, 3.0) == (2.0,)
    assert fx.gradient(second, 3.0) == (6.0,)


class Model:
    def __init__(self, w):
        self.w = w

    def __call__(self, x):
        return self.scale(x) * 2.0

    def scale(self, x):
        return self.w * x


def test_methods_and_call():
    m = Model(3.0)
    assert get_source(Model.__call__).name == "__call__"
    dm, dx = fx.gradient(lambda m, x: m(x), m, 2.0)
    assert dm.w == 4.0 and dx == 6.0
    (dm,) = fx.gradient(lambda m: m.scale(2.0), m)
    assert dm.w == 2.0
    assert fx.gradient(m.scale, 2.0) == (3.0,)


def test_callable_object_directly():
    assert fx.gradient(Model(3.0), 2.0) == (6.0,)


def outer(k):
    def inner(x):
        return x * k

    return inner


def test_nested_functions():
    assert get_source(outer(2.0)).name == "inner"
    assert fx.gradient(outer(2.0), 5.0) == (2.0,)


def shout(fn):
    @functools.wraps(fn)
    def wrapper(*args, **kwargs):
        return fn(*args, **kwargs) * 10.0

    return wrapper


@shout
def decorated(x):
    return x * x


def test_functions_behind_functools_wraps_are_transformed_with_their_wrapper():
    assert get_source(decorated).name == "wrapper"
    assert fx.gradient(decorated, 3.0) == (60.0,)


def test_numpy_functions_in_default_arguments():
    def f(x, op=np.sin):
        return op(x)

    np.testing.assert_allclose(fx.gradient(f, 0.5)[0], np.cos(0.5))


def test_parsed_files_are_kept_for_the_most_recent_files_only():
    # generated code is one "file" per function: a long session must not keep every parsed tree
    from fluxpy.transform import source

    for i in range(source._TREES_KEPT + 10):
        source._parse_file(f"<test file {i}>", [f"x = {i}\n"])
    assert len(source._trees) <= source._TREES_KEPT
    assert "<test file 0>" not in source._trees
    last = f"<test file {source._TREES_KEPT + 9}>"
    assert source._parse_file(last, [f"x = {source._TREES_KEPT + 9}\n"]) is source._trees[last][1]
