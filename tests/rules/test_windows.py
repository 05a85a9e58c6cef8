"""NumPy's window functions (a length alone: no gradient; Kaiser's beta: differentiated through i0) and
``np.asarray_chkfinite`` (np.asarray with NumPy's check), rules/numpy_signal.py."""

import numpy as np
import pytest

import fluxpy as fx
from fluxpy.testing import check_grads


def kaiser_loss(beta):
    return np.sum(np.kaiser(7, beta) * np.arange(7.0))


def windows_loss(x):
    w = np.hamming(5) + np.hanning(5) + np.bartlett(5) + np.blackman(5)
    return np.sum(w * x)


def chkfinite_loss(x):
    return np.sum(np.asarray_chkfinite(x, dtype=float) ** 2)


def test_kaiser_is_differentiated_in_beta():
    check_grads(kaiser_loss, 2.5, order=2, forward=True)
    assert fx.withgradient(kaiser_loss, 2.5)[0] == kaiser_loss(2.5)
    assert fx.withgradient(lambda b: np.kaiser(1, b)[0], 3.0) == (1.0, (None,))


def test_windows_of_a_length_are_constants():
    x = np.linspace(0.1, 0.9, 5)
    (g,) = fx.gradient(windows_loss, x)
    np.testing.assert_allclose(g, np.hamming(5) + np.hanning(5) + np.bartlett(5) + np.blackman(5))


def test_asarray_chkfinite():
    check_grads(chkfinite_loss, np.array([0.5, -1.5]), order=2, forward=True)
    with pytest.raises(ValueError, match="infs or NaNs"):
        fx.gradient(chkfinite_loss, np.array([0.5, np.inf]))
