"""Forward mode follows an iterator advanced by code that needs no tangent (``int(next(it))``, ``next(it) >
0``): such a call runs plainly, so the tangent iterator is kept at the primal's position
(rules/forward_iteration.py's ``_paired``) instead of being advanced only by the calls it sees."""

import numpy as np
import pytest

import fluxpy as fx
from fluxpy.testing import check_grads

X = np.array([1.5, 2.0, 3.0])  # int(1.5) is flat around it


def _iterator(kind, x):
    if kind == "list":
        return iter([x[0], x[1], x[2]])
    if kind == "array":
        return iter(x)
    if kind == "tuple":
        return iter((x[0], x[1], x[2]))
    if kind == "map":
        return map(lambda v: v * 1.0, x)
    if kind == "generator expression":
        return (v * 1.0 for v in x)
    if kind == "dict values":
        return iter({"a": x[0], "b": x[1], "c": x[2]}.values())
    return iter(Items([x[0], x[1], x[2]]))


class Items:
    def __init__(self, xs):
        self.xs = xs

    def __iter__(self):
        return iter(self.xs)


KINDS = ["list", "array", "tuple", "map", "generator expression", "dict values", "python __iter__"]


def int_of_next(kind):
    def f(x):
        it = _iterator(kind, x)
        a = int(next(it))  # needs no tangent: runs plainly
        b = next(it)
        return b * b * 2.0 + a * next(it)

    return f


def compared_then_looped(kind):
    def f(x):
        it = _iterator(kind, x)
        if next(it) > 100.0:  # advanced by a test
            return x[0]
        s = 0.0
        for v in it:
            s = s + v * v
        return s

    return f


def zipped(x):
    it = zip(x, x * 2.0)
    int(next(it)[0])
    a, b = next(it)
    return a * b


@pytest.mark.parametrize("kind", KINDS)
@pytest.mark.parametrize("make", [int_of_next, compared_then_looped])
def test_jvp_follows_an_iterator_advanced_plainly(make, kind):
    f = make(kind)
    grad = fx.gradient(f, X)[0]
    tangents = [fx.jvp(f, (X,), (e,))[1] for e in np.eye(3)]
    np.testing.assert_allclose(tangents, grad)
    check_grads(f, X, order=2, forward=True)


def test_the_first_example():
    def f(x):
        it = iter(x)
        a = int(next(it))
        b = next(it)
        return b * 2.0 + a

    assert fx.jvp(f, (X,), (np.array([0.0, 1.0, 0.0]),)) == (5.0, 2.0)  # int(1.5) + 2 * 2


def test_zip_advanced_plainly():
    check_grads(zipped, X, order=2, forward=True)
    assert fx.jvp(zipped, (X,), (np.array([0.0, 1.0, 0.0]),))[1] == pytest.approx(8.0)


def test_hvp_through_an_iterator_advanced_plainly():
    f = compared_then_looped("list")
    v = np.array([1.0, 1.0, 1.0])
    np.testing.assert_allclose(fx.hvp(f, X, v), fx.hessian(f, X) @ v)
