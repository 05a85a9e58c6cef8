"""The kernels' array pool (fluxpy/nnlib/workspace.py): an array is handed out again only when nothing but
the pool refers to it, so results kept by a user, a pullback or a view never change."""

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import fluxpy as fx
from fluxpy.nnlib import conv as nnconv
from fluxpy.nnlib import workspace

SHAPE = (128, 256)  # 128 KiB of float32: above MIN_BYTES


@pytest.fixture(autouse=True)
def fresh_pool():
    workspace.clear()
    yield
    workspace.clear()


def test_free_array_is_reused_and_held_one_is_not():
    a = workspace.empty(np, SHAPE, np.float32)
    address = a.ctypes.data
    b = workspace.empty(np, SHAPE, np.float32)
    assert b.ctypes.data != address  # a is held
    del a
    c = workspace.empty(np, SHAPE, np.float32)
    assert c.ctypes.data == address
    assert c.shape == SHAPE and c.dtype == np.float32


def test_a_view_keeps_its_base_out_of_the_pool():
    a = workspace.empty(np, SHAPE, np.float32)
    address = a.ctypes.data
    view = a[3:, ::2]
    del a
    assert workspace.empty(np, SHAPE, np.float32).ctypes.data != address
    del view
    assert workspace.empty(np, SHAPE, np.float32).ctypes.data == address


def test_shapes_and_dtypes_are_kept_apart():
    a = workspace.empty(np, SHAPE, np.float32)
    address = a.ctypes.data
    del a
    assert workspace.empty(np, SHAPE, np.float64).ctypes.data != address
    assert workspace.empty(np, SHAPE[::-1], np.float32).ctypes.data != address


def test_zeros_are_zero_after_reuse():
    a = workspace.empty(np, SHAPE, np.float32)
    a.fill(7.0)
    del a
    assert not workspace.zeros(np, SHAPE, np.float32).any()


def test_small_arrays_and_other_modules_are_not_pooled():
    workspace.empty(np, (4, 4), np.float32)
    assert not workspace._slots  # the allocator reuses small blocks well

    class Module:  # stands in for CuPy: the request goes to the array's own module
        calls = []

        @staticmethod
        def empty(shape, dtype):
            Module.calls.append((shape, dtype))
            return np.empty(shape, dtype)

    workspace.empty(Module, SHAPE, np.float32)
    assert Module.calls == [(SHAPE, np.dtype(np.float32))]


def test_the_pool_keeps_within_its_limits(monkeypatch):
    monkeypatch.setattr(workspace, "LIMIT_BYTES", 3 * 128 * 256 * 4)
    monkeypatch.setattr(workspace, "PER_SHAPE", 2)
    held = [workspace.empty(np, SHAPE, np.float32) for _ in range(4)]
    assert len(workspace._slots[(SHAPE, np.dtype(np.float32))]) == 2
    other = workspace.empty(np, (256, 128), np.float32)
    assert workspace._held[0] <= workspace.LIMIT_BYTES
    held.append(other)
    big = workspace.empty(np, (1024, 1024), np.float32)  # larger than the whole limit: never pooled
    assert (big.shape, big.dtype) not in {k for k in workspace._slots if workspace._slots[k]}


def test_layer_outputs_kept_across_calls_do_not_change():
    rng = np.random.default_rng(0)
    model = fx.Chain(fx.Conv((3, 3), 3, 8, fx.relu, pad=1, rng=rng), fx.MaxPool((2, 2)))
    x1, x2 = rng.standard_normal((2, 4, 3, 32, 32)).astype(np.float32)
    y1 = model(x1)
    copy = y1.copy()
    y2 = model(x2)
    del y2
    model(x1 * 2)
    np.testing.assert_array_equal(y1, copy)


def test_gradients_kept_across_steps_do_not_change():
    rng = np.random.default_rng(1)
    model = fx.Chain(
        fx.Conv((3, 3), 3, 8, fx.relu, pad=1, rng=rng),
        fx.MaxPool((2, 2)),
        fx.flatten,
        fx.Dense(8 * 16 * 16, 2),
    )
    xs = rng.standard_normal((3, 4, 3, 32, 32)).astype(np.float32)

    def loss(m, x):
        return np.sum(m(x) ** 2)

    grads = [fx.gradient(loss, model, x) for x in xs]
    for (g_model, g_x), x in zip(grads, xs, strict=True):
        again_model, again_x = fx.gradient(loss, model, x)
        np.testing.assert_array_equal(g_x, again_x)
        np.testing.assert_array_equal(g_model.layers[0].weight, again_model.layers[0].weight)


@settings(max_examples=25, deadline=None)
@given(st.lists(st.tuples(st.integers(0, 2), st.booleans()), min_size=1, max_size=12))
def test_random_calls_match_fresh_results(calls):
    """A random sequence of kernel calls, some results kept and some dropped: every kept result still equals
    the same computation made with the pool switched off."""
    rng = np.random.default_rng(2)
    inputs = [rng.standard_normal((8, 8, 32, 32)).astype(np.float32) for _ in range(3)]
    w = rng.standard_normal((8, 8, 3, 3)).astype(np.float32)
    wt = rng.standard_normal((8, 8, 3, 3)).astype(np.float32)
    workspace._ENABLED = False
    try:
        fresh = [
            (
                nnconv.conv(x, w, pad=1),
                nnconv.maxpool(x, (2, 2)),
                nnconv.conv_transpose(x, wt, pad=1),
            )
            for x in inputs
        ]
    finally:
        workspace._ENABLED = True
    kept = []
    for which, keep in calls:
        x = inputs[which]
        results = (
            nnconv.conv(x, w, pad=1),
            nnconv.maxpool(x, (2, 2)),
            nnconv.conv_transpose(x, wt, pad=1),
        )
        if keep:
            kept.append((which, results))
    assert workspace._slots  # the kernels' results were pooled
    for which, results in kept:
        for got, want in zip(results, fresh[which], strict=True):
            np.testing.assert_array_equal(got, want)
