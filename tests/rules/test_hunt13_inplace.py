"""Fixes from the 13th transform bug hunt (reproductions in /tmp/hunt13_transform), in-place changes: C
functions and methods that reorder or fill their argument (``rng.shuffle``, ``heapq``, ``bisect.insort``, a
``collections.deque``'s methods) are refused where a float is involved and run plainly where none is; and
``a += v`` on an array keeps NumPy's in-place semantics (``a``'s dtype and shape, NumPy's casting errors), in
the rules, the inlined arithmetic and forward mode."""

import bisect
import collections
import heapq
import operator

import numpy as np
import pytest

import fluxpy as fx
from fluxpy.testing import check_grads

X = np.array([3.0, 1.0, 2.0])


# ---------------------------------------------------------------------------------------------------------
# in-place C mutators


def shuffled(x):
    a = x.copy()
    np.random.default_rng(0).shuffle(a)
    return a[0] * 1.0 + a[1] * 2.0 + a[2] * 3.0


def legacy_shuffled(x):
    a = x * 1.0
    np.random.shuffle(a)
    return np.sum(a * np.arange(3))


def shuffled_by_value(x):
    a = x * 1.0
    rng = np.random.default_rng(0)
    mix = rng.shuffle
    mix(a)
    return a[0]


def shuffled_by_class(x):
    a = x * 1.0
    np.random.Generator.shuffle(np.random.default_rng(0), a)
    return a[0]


def heapified(x):
    h = [v * 1.0 for v in x]
    heapq.heapify(h)
    return h[0] * 10 + h[1]


def heap_pushed(x):
    h = []
    heapq.heappush(h, x[0] * 1.0)
    return h[0]


def heap_popped(x):
    h = sorted([x[0], x[1]])
    return heapq.heappop(h) * 2


def heap_replaced(x):
    h = [x[1] * 1.0, x[0] * 1.0]
    return heapq.heapreplace(h, 5.0) + heapq.heappushpop(h, x[2])


def deque_appended(x):
    q = collections.deque()
    for v in x:
        q.append(v**2)
    return q[0] + 2 * q[1]


def deque_rotated(x):
    q = collections.deque([1.0, 2.0])
    q.appendleft(x[0])
    q.rotate(1)
    return x[0] * q[0]


def insorted(x):
    lst = []
    for v in x:
        bisect.insort(lst, v * 1.0)
    return lst[0] * 1.0 + lst[1] * 2.0


def insorted_left(x):
    lst = [0.0, 5.0]
    bisect.insort_left(lst, x[0])
    return x[0] * lst[1]


@pytest.mark.parametrize(
    "f",
    [
        shuffled,
        legacy_shuffled,
        shuffled_by_value,
        shuffled_by_class,
        heapified,
        heap_pushed,
        heap_popped,
        heap_replaced,
        deque_appended,
        deque_rotated,
        insorted,
        insorted_left,
    ],
)
def test_in_place_c_mutators_moving_floats_are_refused(f):
    with pytest.raises(fx.FluxpyError, match="in place"):
        fx.gradient(f, X)
    with pytest.raises(fx.FluxpyError, match="in place"):
        fx.jvp(f, (X,), (np.ones(3),))


def test_a_refused_mutator_names_the_user_line():
    with pytest.raises(fx.FluxpyError) as info:
        fx.gradient(shuffled, X)
    assert "Generator.shuffle changes an ndarray in place" in str(info.value)
    assert "np.random.default_rng(0).shuffle(a)" in str(info.value)
    with pytest.raises(fx.FluxpyError) as info:
        fx.gradient(heapified, X)
    assert "heapq.heapify changes a list in place" in str(info.value)


def bookkeeping(x):
    idx = np.arange(3)
    np.random.default_rng(0).shuffle(idx)
    h = [3, 1, 2]
    heapq.heapify(h)
    heapq.heappush(h, 0)
    first = heapq.heappop(h)
    q = collections.deque([1, 2])
    q.append(0)
    q.rotate(1)
    last = q.popleft()
    lst = [0, 2]
    bisect.insort(lst, 1)
    where = bisect.bisect([0.0, 1.5, 2.5], x[1]) + bisect.bisect_left([0.0, 2.5], x[0])
    return x[idx[0]] * 2 + x[h[0]] + x[first] + x[last] * x[lst[1]] * where


def test_mutators_moving_no_float_run_plainly():
    check_grads(bookkeeping, X, order=2, forward=True)
    assert fx.withgradient(bookkeeping, X).val == bookkeeping(X)


# ---------------------------------------------------------------------------------------------------------
# a += v keeps the array's dtype and shape


def zero_d_then_written(x):
    a = np.array(x)
    a += 1.0
    a[...] = a * x
    return a


def zero_d_type_check(x):
    a = np.zeros(())
    a += x
    return a * 2 if isinstance(a, np.ndarray) else a * 100


def zero_d_accumulated(x):
    a = np.zeros(())
    for v in x:
        a += v * v
        a *= 1.5
    return a if isinstance(a, np.ndarray) and a.ndim == 0 else a * 100


def float32_accumulator(x):
    acc = np.zeros(2, dtype=np.float32)
    acc += x
    return acc.dtype.itemsize * np.sum(acc)


def float32_chain(x):
    acc = np.zeros(2, dtype=np.float32)
    acc += x
    acc *= x
    acc -= x
    acc /= x + 3
    return np.sum(acc) * acc.dtype.itemsize


def float32_operator_iadd(x):
    acc = np.ones(2, dtype=np.float32)
    acc = operator.iadd(acc, x * 2)
    return np.sum(acc) * acc.dtype.itemsize


def int_accumulator(x):
    acc = np.zeros(2, dtype=int)
    acc += x
    return np.sum(acc * 1.0)


def int_true_divide(x):
    acc = np.ones(2, dtype=int)
    acc /= 2
    return np.sum(acc * x)


def broadcast_beyond(x):
    acc = np.zeros(2)
    acc += np.outer(x, x)
    return np.sum(acc)


def test_zero_d_array_stays_an_array():
    x = np.array(1.5)
    check_grads(zero_d_then_written, x, order=2, forward=True)
    check_grads(zero_d_type_check, x, order=2, forward=True)
    assert fx.gradient(zero_d_then_written, x)[0] == pytest.approx(4.0)
    result = fx.withgradient(zero_d_type_check, x)
    assert result.val == 3.0 and result.grad[0] == pytest.approx(2.0)
    xs = np.array([0.5, 1.5])
    check_grads(zero_d_accumulated, xs, order=2, forward=True)
    assert fx.withgradient(zero_d_accumulated, xs).val == pytest.approx(zero_d_accumulated(xs))


@pytest.mark.parametrize("f", [float32_accumulator, float32_chain, float32_operator_iadd])
def test_float32_accumulator_keeps_its_dtype(f):
    x = np.array([1.1, 2.2])
    result = fx.withgradient(f, x)
    assert result.val == f(x) and type(result.val) is type(f(x))
    y, t = fx.jvp(f, (x,), (np.ones(2),))
    assert y == f(x)
    h = 1e-3
    fd = (f(x + h) - f(x - h)) / (2 * h)
    assert t == pytest.approx(fd, rel=1e-3)
    assert np.sum(result.grad[0]) == pytest.approx(fd, rel=1e-3)


def test_float32_accumulator_gradient():
    assert np.allclose(fx.gradient(float32_accumulator, np.array([1.1, 2.2]))[0], [4.0, 4.0])


def float32_input(x):
    a = x * 2.0
    a += np.float64(1.5) * x.astype(np.float64)
    return np.sum(a * a)


def test_float32_cotangent_stays_float32():
    x = np.array([1.0, 2.0], dtype=np.float32)
    result = fx.withgradient(float32_input, x)
    assert result.val == float32_input(x)
    assert result.grad[0].dtype == np.float32
    assert np.allclose(result.grad[0], 2 * 3.5 * 3.5 * x)


@pytest.mark.parametrize(
    ("f", "error"),
    [
        (int_accumulator, np._core._exceptions._UFuncOutputCastingError),
        (int_true_divide, np._core._exceptions._UFuncOutputCastingError),
        (broadcast_beyond, ValueError),
    ],
)
def test_numpy_in_place_errors_are_raised(f, error):
    x = np.array([1.1, 2.2])
    with pytest.raises(error) as plain:
        f(x)
    with pytest.raises(error) as reverse:
        fx.gradient(f, x)
    with pytest.raises(error):
        fx.jvp(f, (x,), (np.ones(2),))
    assert str(reverse.value) == str(plain.value)


def inlined_update(a, b):
    c = a * 1.0
    c += b
    c *= b
    return np.sum(c)


def updated_parameter(a, b):
    a = a.copy()
    a += b
    return np.sum(a * a) * a.dtype.itemsize if isinstance(a, np.ndarray) else a * 100


def mixed_dtypes(a, b):
    c = a * 1.0
    c += b
    return np.sum(c) * c.dtype.itemsize


def test_inlined_update_keeps_dtypes():
    a, b = np.array([1.0, 2.0]), np.array([0.5, -1.0])
    check_grads(inlined_update, a, b, order=2, forward=True)
    source = fx.adjoint_source(inlined_update)
    assert "c = c + b" in source and "a.dtype is b.dtype" in source
    source = fx.adjoint_source(updated_parameter)
    assert "a = a + b" in source and "a.dtype is b.dtype" in source and "a.ndim != 0" in source
    check_grads(updated_parameter, a, b, order=2, forward=True)
    zero_d = fx.withgradient(updated_parameter, np.array(1.5), np.array(0.5))
    assert zero_d.val == 32.0 and zero_d.grad == (32.0, 32.0)  # a stays an array: 8 * (a + b) ** 2
    assert fx.jvp(updated_parameter, (np.array(1.5), np.array(0.5)), (1.0, 0.0))[1] == 32.0
    assert fx.withgradient(updated_parameter, a.astype(np.float32), b).val == updated_parameter(
        a.astype(np.float32), b
    )
    a32 = a.astype(np.float32)
    for args in [(a32, b), (a, b.astype(np.float32)), (a32, b.astype(np.float32))]:
        result = fx.withgradient(mixed_dtypes, *args)
        assert result.val == mixed_dtypes(*args)
        assert [g.dtype for g in result.grad] == [v.dtype for v in args]
    assert np.allclose(fx.gradient(mixed_dtypes, a32, b)[0], [4.0, 4.0])


def int_constant_update(x, n):
    acc = n * 1
    acc += 1.5
    return np.sum(acc * x)


def test_an_int_array_updated_by_a_float_constant_raises():
    x, n = np.array([1.0, 2.0]), np.array([1, 2])
    with pytest.raises(np._core._exceptions._UFuncOutputCastingError):
        int_constant_update(x, n)
    with pytest.raises(np._core._exceptions._UFuncOutputCastingError):
        fx.gradient(int_constant_update, x, n)


def squares_into_zero_d(x):
    a = np.zeros(())
    for v in x:
        a += v * v
    return a if isinstance(a, np.ndarray) else a * 100


def squares_into_float32(x):
    acc = np.zeros(2, dtype=np.float32)
    acc += x * x
    return np.sum(acc) * acc.dtype.itemsize


@pytest.mark.parametrize("f", [squares_into_zero_d, squares_into_float32])
def test_hvp_of_an_in_place_update(f):
    x, v = np.array([0.5, 1.5]), np.array([0.3, 0.7])
    h = 1e-5
    numeric = (fx.gradient(f, x + h * v)[0] - fx.gradient(f, x - h * v)[0]) / (2 * h)
    assert np.allclose(fx.hvp(f, x, v), numeric, atol=1e-4)
