"""hunt17: the parameter-alias check (normalize/parameter_aliases.py, runtime.check_param_aliases,
runtime.owned_view)."""

import numpy as np
import pytest

import fluxpy as fx
from fluxpy.testing import check_grads

G = np.array([1.0, 2.0, 3.0, 4.0])


def rebind_default(x, y):
    x = x if x is not None else np.zeros(2)
    x[0] = 9.0
    return np.sum(y) + x[1]


def rebind_same(x, y):
    x = x
    x[0] = 9.0
    return np.sum(y) + x[1]


def rebind_annotated(x, y):
    x: np.ndarray = x
    x[0] = 9.0
    return np.sum(y) + x[1]


@pytest.mark.parametrize("fn", [rebind_default, rebind_same, rebind_annotated])
def test_rebinding_to_itself_keeps_check(fn):
    a = np.array([1.0, 2.0])
    with pytest.raises(fx.FluxpyError, match="writes into its parameter 'x'"):
        fx.withgradient(fn, a, a)
    check_grads(fn, np.array([1.0, 2.0]), np.array([3.0, 4.0]))


def nested_captured(a):
    c = a * 1.0

    def inner(x):
        x[0] = 9.0
        return np.sum(c) + x[1]

    return inner(c)


def nested_captured_copy(a):
    c = a * 1.0

    def inner(x):
        x[0] = 9.0
        return np.sum(c) + x[1]

    return inner(c.copy())


def test_nested_def_captured_alias_refused():
    with pytest.raises(fx.FluxpyError, match="'c', a captured variable"):
        fx.withgradient(nested_captured, np.array([1.0, 2.0]))
    check_grads(nested_captured_copy, np.array([1.0, 2.0]))


class SBox:
    __slots__ = ("v",)

    def __init__(self, v):
        self.v = v


def slots_reader(x, b):
    x[0] = 9.0
    return np.sum(b.v) + x[1]


def test_slots_object_looked_into():
    a = np.array([1.0, 2.0])
    with pytest.raises(fx.FluxpyError, match="'b', a parameter"):
        fx.withgradient(slots_reader, a, SBox(a))
    v, _ = fx.withgradient(slots_reader, a, SBox(a.copy()))
    assert v == 5.0


def global_read_before(x):
    s = np.sum(G)
    x -= 0.5
    return s * np.sum(x**2)


def interleaved(x, y):
    x -= 0.5
    return np.sum(x * y)


def test_no_false_refusal_views():
    (g,) = fx.gradient(global_read_before, G[:2])
    np.testing.assert_allclose(g, 10.0 * 2 * (G[:2] - 0.5))
    gx, gy = fx.gradient(interleaved, G[::2], G[1::2])
    np.testing.assert_allclose(gx, G[1::2])
    np.testing.assert_allclose(gy, G[::2] - 0.5)
    np.testing.assert_array_equal(G, [1.0, 2.0, 3.0, 4.0])


def helper_item(x):
    x[0] = x[0] * 3.0
    return np.sum(x)


def view_arg_item_write(a):
    B = a * 1.0
    t = helper_item(B[:2])
    return t + np.sum(B)


def view_arg_item_write_copy(a):
    B = a * 1.0
    t = helper_item(B[:2].copy())
    return t + np.sum(B)


def test_view_argument_item_write_refused():
    with pytest.raises(fx.FluxpyError, match="passed a view of another array"):
        fx.withgradient(view_arg_item_write, np.array([1.0, 2.0, 3.0, 4.0]))
    check_grads(view_arg_item_write_copy, np.array([1.0, 2.0, 3.0, 4.0]))
    # a view passed at top level is the function's own
    check_grads(helper_item, G[1:3])
    np.testing.assert_array_equal(G, [1.0, 2.0, 3.0, 4.0])


def sort_after_rebind(x, idx):
    idx = idx
    idx.sort()
    return np.sum(x[idx[:1]])


def test_method_write_after_self_rebinding_copies():
    idx = np.array([2, 0, 1])
    fx.gradient(sort_after_rebind, np.array([1.0, 2.0, 3.0]), idx)
    np.testing.assert_array_equal(idx, [2, 0, 1])
