"""Fixes from the 13th transform bug hunt (reproductions in /tmp/hunt13_transform): lists written into array
slices and list slices, itertools.product(repeat=), fx.nograd called inside differentiated code, random
draws sized by a shape, the warnings module, and check_grads' finite differences beside float32 values."""

import itertools
import warnings

import numpy as np
import pytest

import fluxpy as fx
from fluxpy.testing import check_grads

X = np.array([1.0, 2.0, 3.0])


def write_list_into_slice(x):
    y = np.zeros(3)
    y[1:] = [x[1] * 2, x[2]]
    return np.sum(y**2)


def write_tuple_with_constant(x):
    y = np.zeros(3)
    y[:2] = (x[0], 5.0)
    return np.sum(np.sin(y))


def write_nested_list(x):
    m = np.zeros((2, 2))
    m[...] = [[x[0], x[1]], [x[2], 1.0]]
    return np.sum(m**2 * m[0, 1])


def write_rows_of_arrays(x):
    m = np.zeros((2, 3))
    m[:] = [x, np.ones(3)]
    return np.sum(m**2 * x)


def write_row_from_tuple(x):
    m = np.zeros((2, 2))
    m[0] = (x[0], 2.0)
    m[1, :] = [x[1] ** 2, x[0] * x[1]]
    return np.sum(np.sin(m))


@pytest.mark.parametrize(
    "f",
    [
        write_list_into_slice,
        write_tuple_with_constant,
        write_nested_list,
        write_rows_of_arrays,
        write_row_from_tuple,
    ],
)
def test_a_list_written_into_an_array(f):
    check_grads(f, X, order=2, forward=True)


def test_a_list_written_into_an_array_by_hand():
    np.testing.assert_allclose(fx.gradient(write_list_into_slice, X)[0], [0.0, 16.0, 6.0])
    assert fx.jvp(write_list_into_slice, (X,), (np.ones(3),))[1] == pytest.approx(22.0)


def swap_by_slice(x):
    items = [x[0], x[1], x[2]]
    items[0:2] = [x[1], x[0]]
    return items[0] * 1 + items[1] * 2 + items[2] * 3


def slice_changing_length(x):
    items = [x[0], x[1], x[2], 4.0]
    items[1:3] = [x[2] * 2, x[1], x[0] ** 2]
    items[::2] = (x[1], x[0], 1.0)
    return items[0] * 2 + items[1] * items[2] + items[3] + items[4] * 5


def slice_from_array(x):
    items = [x[0], x[1], x[2]]
    items[0:2] = np.array([x[2], 3.0]) * x[1]
    return items[0] * items[1] + items[2]


@pytest.mark.parametrize("f", [swap_by_slice, slice_changing_length, slice_from_array])
def test_list_slice_assignment(f):
    check_grads(f, X, order=2, forward=True)


def test_list_slice_swap_by_hand():
    np.testing.assert_allclose(fx.gradient(swap_by_slice, X)[0], [2.0, 1.0, 3.0])


def product_repeat(x):
    s = 0.0
    for a, b in itertools.product(x, repeat=2):
        s += a * b
    return s


def test_itertools_product_repeat():
    assert list(itertools.product([1, 2], repeat=2)) == [(1, 1), (1, 2), (2, 1), (2, 2)]
    np.testing.assert_allclose(fx.gradient(product_repeat, X)[0], [12.0, 12.0, 12.0])  # (sum x)^2
    check_grads(product_repeat, X, order=2, forward=True)


HISTORY = []


def logged_loss(x):
    loss = np.sum(x**2)
    record = fx.nograd(HISTORY.append)
    record(float(loss))
    return loss


def test_nograd_called_inside_a_differentiated_function():
    HISTORY.clear()
    np.testing.assert_allclose(fx.gradient(logged_loss, X)[0], 2 * X)
    assert HISTORY == [14.0]


def stop_sum(x):
    return np.sum(x) * fx.nograd(np.sum)(x**2)


def test_nograd_of_a_ruled_function_is_refused():
    """fx.nograd(np.sum) would make every np.sum in the program non-differentiable (the gradient of
    sum(x**2) was None afterwards)."""
    with pytest.raises(fx.FluxpyError, match=r"fx\.nograd\(np\.sum\).*fx\.dropgrad"):
        fx.gradient(stop_sum, X)
    with pytest.raises(fx.FluxpyError, match="derivative rule"):
        fx.nograd(np.sum)
    np.testing.assert_allclose(fx.gradient(lambda x: np.sum(x**2), X)[0], 2 * X)


def draw_by_shape(mu):
    rng = np.random.default_rng(0)
    return np.sum(mu * rng.standard_normal(mu.shape))


def draw_by_tuple(mu):
    rng = np.random.default_rng(0)
    return np.sum(mu * rng.standard_normal((3,)) + rng.random(mu.shape) * mu**2)


def draw_legacy(mu):
    np.random.seed(0)
    return np.sum(mu * np.random.randn(*mu.shape))


@pytest.mark.parametrize("f", [draw_by_shape, draw_by_tuple, draw_legacy])
def test_random_draws_sized_by_a_shape_are_constants(f):
    check_grads(f, X, order=2, forward=True)


def test_random_draw_gradient_is_the_noise():
    eps = np.random.default_rng(0).standard_normal(3)
    np.testing.assert_allclose(fx.gradient(draw_by_shape, X)[0], eps)


def quiet_sqrt(x):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        y = np.sqrt(x)
    return np.sum(y)


def warns(x):
    warnings.warn("check me", RuntimeWarning)  # the line a warning names
    return np.sum(x**2)


def test_warnings_filters_inside_a_differentiated_function():
    np.testing.assert_allclose(fx.gradient(quiet_sqrt, X)[0], 0.5 / np.sqrt(X))
    check_grads(quiet_sqrt, X, order=2, forward=True)


def test_a_warning_names_the_users_line():
    line = warns.__code__.co_firstlineno + 1
    runs = (
        lambda: warns(X),
        lambda: fx.gradient(warns, X),
        lambda: fx.jvp(warns, (X,), (X,)),  # forward mode: by warnings.warn's forward rule
        lambda: fx.jvp(lambda s: warns(X) * s, (2.0,), (1.0,)),  # there with no tangent moving through it
        lambda: fx.hvp(warns, X, X),  # the reverse rule run by forward mode: the user's line still
    )
    for run in runs:
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            run()
        assert [(w.filename, w.lineno, w.category) for w in caught] == [(__file__, line, RuntimeWarning)]


def mixed_precision(x, a):
    return np.sum((x * a + np.float64(1.5)) ** 2)


def test_check_grads_promotes_every_argument():
    """A float32 array beside a perturbed Python float: finite differences in float32 lost the step."""
    check_grads(mixed_precision, np.array([0.5, 0.7], dtype=np.float32), 2.0, order=2)


def clip_into_itself(x):
    a = x * 2.0
    a.clip(1.0, 3.0, out=a)
    return np.sum(a * x)


def test_an_array_methods_out_is_refused_as_np_clips():
    """``a.clip(lo, hi, out=a)`` ignored the write (a wrong gradient); refused as ``np.clip(..., out=a)``."""
    with pytest.raises(fx.FluxpyError, match=r"clip\(\.\.\., out=\.\.\.\)"):
        fx.gradient(clip_into_itself, X)
    with pytest.raises(fx.FluxpyError, match=r"clip\(\.\.\., out=\.\.\.\)"):
        fx.jvp(clip_into_itself, (X,), (X,))
