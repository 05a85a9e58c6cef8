"""``np.lib.stride_tricks.sliding_window_view`` (rules/numpy_stride_tricks.py): NumPy's read-only view as
the value, a scatter-add as the pullback, the window view of the tangent in forward mode; a convolution
written with it against finite differences and against a loop."""

import numpy as np
import pytest

import fluxpy as fx
from fluxpy.errors import FluxpyError
from fluxpy.rules.numpy_stride_tricks import window_scatter
from fluxpy.testing import check_grads

windows = np.lib.stride_tricks.sliding_window_view
RNG = np.random.default_rng(0)
V = RNG.standard_normal(7)
M = RNG.standard_normal((4, 5))
T = RNG.standard_normal((2, 3, 6, 5))


def row(x, *args, **kwargs):
    name = ",".join([str(np.shape(x))] + [repr(a) for a in args] + [f"{k}={v!r}" for k, v in kwargs.items()])
    return pytest.param(x, args, kwargs, id=name.replace(" ", ""))


CASES = [
    row(V, 3),
    row(V, (1,)),
    row(V, 7),
    row(M, (2, 3)),
    row(M, 2, axis=0),
    row(M, 3, axis=-1),
    row(M, (2, 2), axis=(1, 0)),
    row(V, (3, 2), axis=(0, 0)),  # one axis twice: the offsets add
    row(T, (3, 2), axis=(2, 3)),
    row(T, 2, 1),  # axis by position
]


@pytest.mark.parametrize("x, args, kwargs", CASES)
def test_value_is_numpys_read_only_view(x, args, kwargs):
    y, _ = fx.pullback(lambda x: windows(x, *args, **kwargs), x)
    expected = windows(x, *args, **kwargs)
    np.testing.assert_array_equal(y, expected)
    assert y.shape == expected.shape and not y.flags.writeable and np.shares_memory(y, x)


@pytest.mark.second_order
@pytest.mark.parametrize("x, args, kwargs", CASES)
def test_gradients_match_finite_differences(x, args, kwargs):
    check_grads(lambda x: np.sin(windows(x, *args, **kwargs)), x, order=2)


@pytest.mark.parametrize("x, args, kwargs", CASES)
def test_pullback_adds_each_window_entry_back(x, args, kwargs):
    y = windows(x, *args, **kwargs)
    dy = RNG.standard_normal(y.shape)
    (g,) = fx.pullback(lambda x: windows(x, *args, **kwargs), x)[1](dy)
    # the brute force: each view entry's index into x, through a view of the indices
    index = windows(np.arange(x.size).reshape(x.shape), *args, **kwargs)
    expected = np.bincount(index.ravel(), weights=dy.ravel(), minlength=x.size).reshape(x.shape)
    np.testing.assert_allclose(g, expected, rtol=1e-12, atol=1e-12)


def test_scatter_and_view_are_adjoint():
    y_shape = windows(T, (3, 2), axis=(2, 3)).shape
    dy = RNG.standard_normal(y_shape)
    lhs = np.sum(windows(T, (3, 2), axis=(2, 3)) * dy)
    rhs = np.sum(T * window_scatter(dy, T.shape, (2, 3), (3, 2)))
    np.testing.assert_allclose(lhs, rhs, rtol=1e-12)


# ---------------------------------------------------------------------------------------------------------
# a convolution by hand


def conv_windows(x, w):
    """Cross-correlation of ``x`` (n, c, h, w) with ``w`` (o, c, kh, kw), vectorised by windows."""
    return np.einsum("nchwij,ocij->nohw", windows(x, w.shape[2:], axis=(2, 3)), w)


def conv_loop(x, w):
    n, _, h, wd = x.shape
    o, _, kh, kw = w.shape
    out = np.zeros((n, o, h - kh + 1, wd - kw + 1))
    for i in range(h - kh + 1):
        for j in range(wd - kw + 1):
            out[:, :, i, j] = np.einsum("ncij,ocij->no", x[:, :, i : i + kh, j : j + kw], w)
    return out


W = RNG.standard_normal((4, 3, 3, 2))


def test_conv_by_windows_matches_the_loop():
    np.testing.assert_allclose(conv_windows(T, W), conv_loop(T, W), rtol=1e-12)
    loss_windows = lambda x, w: np.sum(np.tanh(conv_windows(x, w)))  # noqa: E731
    loss_loop = lambda x, w: np.sum(np.tanh(conv_loop(x, w)))  # noqa: E731
    for g, expected in zip(fx.gradient(loss_windows, T, W), fx.gradient(loss_loop, T, W), strict=True):
        np.testing.assert_allclose(g, expected, rtol=1e-10, atol=1e-12)


@pytest.mark.second_order
def test_conv_by_windows_matches_finite_differences():
    check_grads(lambda x, w: np.sum(np.tanh(conv_windows(x, w))), T, W, order=2)


def test_forward_mode_is_the_window_view_of_the_tangent():
    t = RNG.standard_normal(M.shape)
    y, ty = fx.jvp(lambda x: windows(x, (2, 3)), (M,), (t,))
    np.testing.assert_array_equal(y, windows(M, (2, 3)))
    np.testing.assert_array_equal(ty, windows(t, (2, 3)))


def test_writeable_view_is_refused():
    with pytest.raises(FluxpyError, match="writeable=True"):
        fx.gradient(lambda x: np.sum(windows(x, 2, writeable=True)), V)
    fx.gradient(lambda x: np.sum(windows(x, 2, writeable=False)), V)  # the default, spelled out: fine
