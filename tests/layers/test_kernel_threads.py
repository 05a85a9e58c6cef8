"""The kernels' batch split across threads (fluxpy/nnlib/threads.py): every kernel gives the same result
split into parts as in one (the products per image are the same products; the weight gradient's sum is
regrouped by part, in a fixed order), a part's error is raised after every part has finished, and small
batches, single images and non-NumPy arrays are never split."""

import threading
import time

import numpy as np
import pytest

import fluxpy as fx
from fluxpy.nnlib import conv as nnconv
from fluxpy.nnlib import threads
from fluxpy.nnlib.conv import (
    conv,
    conv_bias_act,
    conv_filter_grad,
    conv_transpose,
    maxpool,
    maxpool_scatter,
    meanpool,
    meanpool_transpose,
)
from fluxpy.testing import check_grads

rng = np.random.default_rng(7)


@pytest.fixture
def split(monkeypatch):
    """Split every batch, however small, into up to ``n`` parts (``split(n)``); one thread afterwards as
    before."""
    before = threads.num_threads()
    monkeypatch.setattr(threads, "MIN_PART_BYTES", 1)

    def use(n):
        threads.set_num_threads(n)

    yield use
    threads.set_num_threads(before)


# ---------------------------------------------------------------------------------------------------------
# the parts


def test_parts_are_consecutive_and_cover_the_batch():
    assert threads.parts(np, 7, 10**9, threads=3) == [slice(0, 3), slice(3, 5), slice(5, 7)]
    assert threads.parts(np, 2, 10**9, threads=4) == [slice(0, 1), slice(1, 2)]  # at most one per item


def test_too_little_work_or_one_item_is_not_split():
    assert threads.parts(np, 32, threads.MIN_PART_BYTES, threads=2) == [slice(0, 32)]
    assert threads.parts(np, 1, 10**9, threads=2) == [slice(0, 1)]
    assert threads.parts(np, 32, 3 * threads.MIN_PART_BYTES, threads=8) == [
        slice(0, 11),
        slice(11, 22),
        slice(22, 32),
    ]


def test_other_modules_are_not_split():
    class OtherModule:  # CuPy runs its own threads
        pass

    assert threads.parts(OtherModule, 32, 10**9, threads=4) == [slice(0, 32)]


def test_run_keeps_the_order_of_the_parts():
    def task(s):
        time.sleep(0.01 if s.start == 0 else 0)  # the first part finishes last
        return s.start

    assert threads.run(task, [slice(0, 1), slice(1, 2), slice(2, 3)]) == [0, 1, 2]


def test_run_computes_the_parts_on_other_threads(split):
    split(3)
    seen = threads.run(lambda s: threading.get_ident(), [slice(0, 1), slice(1, 2), slice(2, 3)])
    assert seen[0] == threading.get_ident() and len(set(seen)) >= 2


def test_a_parts_error_is_raised_after_every_part_finished(split):
    split(2)
    finished = []

    def task(s):
        if s.start == 1:
            raise ValueError("part 1 failed")
        time.sleep(0.05)
        finished.append(s.start)

    with pytest.raises(ValueError, match="part 1 failed"):
        threads.run(task, [slice(0, 1), slice(1, 2), slice(2, 3)])
    assert sorted(finished) == [0, 2]


def test_set_num_threads_checks_its_argument():
    with pytest.raises(ValueError, match="at least 1"):
        threads.set_num_threads(0)


def test_the_environment_sets_the_default(monkeypatch):
    monkeypatch.setenv("FLUXPY_NUM_THREADS", "3")
    assert threads._default_threads() == 3
    monkeypatch.delenv("FLUXPY_NUM_THREADS")
    assert 1 <= threads._default_threads() <= threads.MAX_DEFAULT_THREADS


# ---------------------------------------------------------------------------------------------------------
# every kernel, split against whole

CASES = [
    dict(stride=(1, 1), pad=(1, 1, 1, 1), dilation=(1, 1), groups=1),  # the CNN's layers
    dict(stride=(2, 1), pad=(1, 2, 0, 1), dilation=(1, 2), groups=2),
    dict(stride=(1, 1), pad=(0, 0, 0, 0), dilation=(1, 1), groups=4),
]


def _kernels(x, w, b, dy, opts):
    return (
        conv(x, w, **opts),
        conv_transpose(dy, w, out_size=x.shape[2:], **opts),
        conv_filter_grad(x, dy, kernel=w.shape[2:], **opts),
        conv_bias_act(x, w, b, act="relu", **opts),
        conv_bias_act(x.astype(np.float32), w.astype(np.float32), b, act="relu", **opts),  # b upcasts
    )


@pytest.mark.parametrize("n", [2, 3])
@pytest.mark.parametrize("chunk_bytes", [None, 1])
@pytest.mark.parametrize("case", CASES)
def test_convolutions_split_match_whole(split, monkeypatch, n, chunk_bytes, case):
    x = rng.standard_normal((5, 4, 7, 8))
    w = rng.standard_normal((8, 4 // case["groups"], 3, 2))
    b = rng.standard_normal(8)
    y = conv(x, w, **case)
    dy = rng.standard_normal(y.shape)
    whole = _kernels(x, w, b, dy, case)
    if chunk_bytes is not None:  # one image per chunk inside each part
        monkeypatch.setattr(nnconv, "CHUNK_BYTES", chunk_bytes)
    split(n)
    parts = _kernels(x, w, b, dy, case)
    for name, got, want in zip(["conv", "transpose", "filter", "bias_act", "bias_act f32"], parts, whole):
        if name == "filter":
            np.testing.assert_allclose(got, want, rtol=1e-12, err_msg=name)  # the sum regrouped by part
        else:
            np.testing.assert_array_equal(got, want, err_msg=name)
        assert got.dtype == want.dtype


@pytest.mark.parametrize("window, stride, pad", [((2, 2), None, 0), ((3, 3), (2, 2), 1), ((2, 3), (1, 1), 0)])
def test_pooling_split_matches_whole(split, window, stride, pad):
    x = rng.standard_normal((5, 3, 8, 9))
    x[0, 0, :2, :2] = 1.0  # a tie: the first maximum takes the gradient
    y = maxpool(x, window, stride, pad)
    dy = rng.standard_normal(y.shape)
    my = meanpool(x, window, stride, pad)

    def all_of():
        return (
            maxpool(x, window, stride, pad),
            maxpool_scatter(dy, x, window=window, stride=stride, pad=pad),
            maxpool_scatter(dy, x, window=window, stride=stride, pad=pad, maxima=y),
            meanpool_transpose(dy, window=window, stride=stride, pad=pad, out_size=x.shape[2:]),
            meanpool(x, window, stride, pad),
        )

    whole = all_of()
    split(3)
    for got, want in zip(all_of(), whole, strict=True):
        np.testing.assert_array_equal(got, want)
    assert my.shape == y.shape


def test_an_unbatched_input_is_one_part(split):
    split(4)
    x = rng.standard_normal((4, 7, 8))
    w = rng.standard_normal((8, 4, 3, 3))
    np.testing.assert_array_equal(conv(x, w), conv(x[None], w)[0])


def cnn(seed):
    r = np.random.default_rng(seed)
    model = fx.Chain(
        fx.Conv((3, 3), 3, 6, fx.relu, pad=1, rng=r),
        fx.MaxPool((2, 2)),
        fx.Conv((3, 3), 6, 8, fx.relu, pad=1, stride=2, rng=r),
        fx.MeanPool((2, 2)),
        fx.flatten,
        fx.Dense(8, 3, rng=r),
    )
    return fx.f64(model)  # float64 throughout: the inputs are float64


def cnn_loss(model, x):
    return np.sum(np.tanh(model(x)))


def test_a_cnn_gradient_split_matches_whole(split):
    model = cnn(0)
    x = rng.standard_normal((6, 3, 8, 8))
    whole = fx.gradient(cnn_loss, model, x)
    split(2)
    parts = fx.gradient(cnn_loss, model, x)
    np.testing.assert_allclose(parts[1], whole[1], rtol=1e-12)
    g_whole, g_parts = whole[0].layers, parts[0].layers
    for i in (0, 2, 5):
        np.testing.assert_allclose(g_parts[i].weight, g_whole[i].weight, rtol=1e-12)
        np.testing.assert_allclose(g_parts[i].bias, g_whole[i].bias, rtol=1e-12)


def test_gradients_checked_with_threads(split):
    split(2)
    model = cnn(1)
    x = rng.standard_normal((3, 3, 8, 8))
    check_grads(lambda x: cnn_loss(model, x), x, order=1)
