"""Fixes in item assignment, ``x.item``, ``np.meshgrid``, ``np.sum(..., initial=)`` and the alias fence.

Item assignment with repeated cells is refused (the last write wins), whatever the spelling of the index;
distinct cells are not. Writes into an integer array drop the written value's tangent. ``x.item`` takes
every index form NumPy takes. ``np.meshgrid`` is differentiable. A write into what may be another array
itself or a view of it (``np.asarray(y)``, ``y.ravel()``, ...) is refused at transform time.
"""

import numpy as np
import pytest

import fluxpy as fx
from fluxpy.rules.mutation import check_distinct
from fluxpy.testing import check_grads

from .. import cupy_standin


def rand(k, *shape):
    return np.random.default_rng(k).standard_normal(shape)


# ---------------------------------------------------------------------------------------------------------
# 1. repeated cells in item assignment: compared after normalising and broadcasting the indices


def negative_alias_write(x):
    y = x * 1.0
    y[[0, -4]] = x[1:3]
    return np.sum(y)


def negative_alias_add(x):
    y = x * 1.0
    y[[1, -5]] += x[2:4]
    return np.sum(y * y)


def negative_alias_rows(A):
    B = A * 1.0
    B[[2, -1]] = A[:2]
    return np.sum(B * B)


def negative_alias_pairs(A):
    B = A * 1.0
    B[[0, -3], [1, 1]] = A[2, :2]
    return np.sum(B * B)


@pytest.mark.parametrize(
    "f, x",
    [
        (negative_alias_write, rand(0, 4)),
        (negative_alias_add, rand(1, 6)),
        (negative_alias_rows, rand(2, 3, 2)),
        (negative_alias_pairs, rand(3, 3, 2)),
    ],
    ids=["write", "augmented", "rows", "pairs"],
)
def test_repeated_cells_spelled_with_negative_indices_are_refused(f, x):
    with pytest.raises(fx.FluxpyError, match="repeated indices"):
        fx.gradient(f, x)


def distinct_cells(A, v):
    B = A * 1.0
    B[[0, 1], [0, 0]] = v
    return np.sum(B * B)


def distinct_cells_mixed(T, v):
    U = T * 1.0
    U[[0, 1, 1], :, [2, 2, 0]] = v
    return np.sum(U * U * T)


def distinct_cells_mask_and_list(A, v):
    B = A * 1.0
    B[np.array([True, False, True]), [1, 1]] = v
    return np.sum(B * B)


def distinct_cells_negative(x, v):
    y = x * 1.0
    y[[0, -1, 1]] = v
    return np.sum(y * x)


def test_distinct_cells_with_repeated_values_along_one_axis_are_differentiable():
    A, v = np.ones((2, 2)), np.array([2.0, 3.0])
    dA, dv = fx.gradient(distinct_cells, A, v)
    np.testing.assert_allclose(dA, [[0.0, 2.0], [0.0, 2.0]])
    np.testing.assert_allclose(dv, [4.0, 6.0])
    check_grads(distinct_cells, rand(0, 2, 2), rand(1, 2), order=2, forward=True)
    check_grads(distinct_cells_mixed, rand(2, 2, 3, 4), rand(3, 3, 3), order=2, forward=True)
    check_grads(distinct_cells_mask_and_list, rand(4, 3, 2), rand(5, 2), order=2, forward=True)
    check_grads(distinct_cells_negative, rand(6, 4), rand(7, 3), order=2, forward=True)


def test_check_distinct_index_forms():
    check_distinct(([0, 1], [0, 0]), (2, 2))
    check_distinct((Ellipsis, [0, -1]), (3, 2))
    check_distinct((slice(None), None, [1, 2]), (2, 3))
    check_distinct([], (3,))
    check_distinct(np.array([[0, 1], [2, 3]]), (4,))
    check_distinct((np.array([[0], [1]]), np.array([0, 1])), (2, 2))  # broadcast: 4 distinct cells
    check_distinct((np.array([True, True]), [0, 0]), (2, 2, 2))  # the mask's positions: (0, 0), (1, 0)
    for idx, shape in [
        ([0, 0], (3,)),
        ([0, -4], (4,)),
        ((Ellipsis, [0, -2]), (3, 2)),
        ((np.array([[0], [0]]), np.array([1, 1])), (2, 2)),
        ((0, [1, -2]), (2, 3)),
        ((np.array([True, False]), [1, -1]), (2, 2)),
    ]:
        with pytest.raises(fx.FluxpyError, match="repeated indices"):
            check_distinct(idx, shape)


# A ``range`` or a tuple inside the index is an index array to NumPy: its cells are compared too.
LABELS = np.array([0, 1, 0])  # labels repeat; the cells (0, 0), (1, 1), (2, 0) do not


def softmax_gradient_line(S):
    P = S * 1.0
    P[range(3), LABELS] -= 1  # CS231n's softmax gradient
    return np.sum(P**2)


def range_read(S):
    return np.sum(S[range(3), LABELS] ** 2) + np.sum(S[(range(2), [[0], [0]])] ** 3)


def test_range_index_entries_address_distinct_cells():
    check_grads(softmax_gradient_line, rand(0, 3, 2), order=2, forward=True)
    check_grads(range_read, rand(1, 3, 2), order=2, forward=True)
    check_distinct((range(3), [0, 1, 0]), (3, 2))
    check_distinct(((0, 1), range(2)), (2, 2))
    for idx in [(range(2), [[0], [0]]), ((0, 0), range(1, 2)), (range(1), (1, 1))]:
        with pytest.raises(fx.FluxpyError, match="repeated indices"):
            check_distinct(idx, (2, 3))


def repeated_device_cells(x, i):
    z = x * 1.0
    z[i] = x[0]
    return np.sum(z**2)


def distinct_device_cells(x, i, j):
    z = x * 1.0
    z[i, j] = x[2, :2]
    return np.sum(z**2)


def test_device_indices(monkeypatch):
    cupy_standin.install(monkeypatch)
    x = rand(0, 3, 4)
    with pytest.raises(fx.FluxpyError, match="repeated indices"):
        fx.gradient(repeated_device_cells, *fx.gpu((x, np.array([1, -2]))))
    i, j = np.array([0, 1]), np.array([3, 3])
    (expected,) = fx.gradient(distinct_device_cells, x, i, j)[:1]
    (got,) = fx.gradient(distinct_device_cells, *fx.gpu((x, i, j)))[:1]
    assert type(got).__module__ == "cupy"
    np.testing.assert_allclose(got.get(), expected)


# ---------------------------------------------------------------------------------------------------------
# 2. a float written into an integer array is truncated: no tangent


def write_into_int_zeros(x):
    y = np.zeros(3, dtype=int)
    y[0] = x[0]
    return np.sum(y * 1.0)


def write_into_arange(x):
    y = np.arange(4)
    y[2] = x[0]
    return np.sum(y * x)


def write_into_bool(x):
    y = np.zeros(4, dtype=bool)
    y[1] = x[1]
    return np.sum(y * x)


def write_into_float(x):
    y = np.zeros(4)
    y[0] = x[0]
    return np.sum(y * x)


def test_writes_into_integer_arrays_have_no_tangent():
    x, t = np.array([1.5, 2.0, 3.0, 4.0]), np.ones(4)
    y, ty = fx.jvp(write_into_int_zeros, (x,), (t,))
    assert y == 1.0 and ty == 0.0
    y, ty = fx.jvp(write_into_arange, (x,), (t,))
    assert y == 0 * 1.5 + 1 * 2.0 + 1 * 3.0 + 3 * 4.0 and ty == 0 + 1 + 1 + 3
    _, ty = fx.jvp(write_into_bool, (x,), (t,))
    assert ty == 1.0
    (g,) = fx.gradient(write_into_arange, x)
    np.testing.assert_allclose(g, [0.0, 1.0, 1.0, 3.0])
    _, ty = fx.jvp(write_into_float, (x,), (t,))
    assert ty == 2 * 1.5  # a float target keeps the written value's tangent
    check_grads(write_into_arange, rand(0, 4) + 5.3, order=2, forward=True)


# ---------------------------------------------------------------------------------------------------------
# 3. x.item in every index form


def item_tuple(x):
    return x.item((0, 1)) * 4.0


def item_pair(x):
    return x.item(1, -1) * x.item(0, 0)


def item_negative_flat(x):
    return x.item(-1) * 4.0


def item_flat(x):
    return x.item(4) ** 2 + x.item((2,))


def item_size_one(x):
    return np.sum(x[:1, :1]).reshape(1, 1).item() * x.reshape(1, 1, -1)[:, :, 2:3].item() ** 2


def test_item_index_forms():
    x = np.ones((2, 3))
    (g,) = fx.gradient(item_tuple, x)
    np.testing.assert_allclose(g, [[0.0, 4.0, 0.0], [0.0, 0.0, 0.0]])
    (g,) = fx.gradient(item_negative_flat, x)
    np.testing.assert_allclose(g, [[0.0, 0.0, 0.0], [0.0, 0.0, 4.0]])
    for f in (item_tuple, item_pair, item_negative_flat, item_flat, item_size_one):
        check_grads(f, rand(1, 2, 3), order=2, forward=True)


def test_item_keeps_numpys_errors():
    with pytest.raises((IndexError, ValueError)):
        fx.gradient(item_negative_flat, np.ones(0))


# ---------------------------------------------------------------------------------------------------------
# 4. meshgrid


def meshgrid_product(x, y):
    X, Y = np.meshgrid(x, y)
    return np.sum(X * Y)


def meshgrid_ij(x, y):
    X, Y = np.meshgrid(x, y, indexing="ij")
    return np.sum(np.sin(X) * Y**2)


def meshgrid_sparse(x, y, z):
    X, Y, Z = np.meshgrid(x, y, z, sparse=True)
    return np.sum(np.sin(X * Y) + Z * X)


def meshgrid_three(x, y, z):
    X, Y, Z = np.meshgrid(x, y, z, indexing="ij", copy=False)
    return np.sum(np.exp(X * 0.1) * Y * Z**2)


def meshgrid_one(x):
    (X,) = np.meshgrid(x)
    return np.sum(X**3)


def meshgrid_first_only(x, y):
    X = np.meshgrid(x, y, sparse=True, indexing="ij")[0]
    return np.sum(X**2)


def meshgrid_matrix_input(x, y):
    X, Y = np.meshgrid(x, y)  # a 2-D input is raveled
    return np.sum(np.tanh(X) * Y)


def test_meshgrid_gradient():
    x, y = np.array([1.0, 2.0, 3.0]), np.array([0.5, 4.0])
    dx, dy = fx.gradient(meshgrid_product, x, y)
    np.testing.assert_allclose(dx, [4.5, 4.5, 4.5])
    np.testing.assert_allclose(dy, [6.0, 6.0])
    _, t = fx.jvp(meshgrid_product, (x, y), (np.ones(3), np.zeros(2)))
    assert t == pytest.approx(3 * 4.5)


@pytest.mark.parametrize(
    "f, args",
    [
        (meshgrid_product, (rand(0, 3), rand(1, 2))),
        (meshgrid_ij, (rand(2, 3), rand(3, 2))),
        (meshgrid_sparse, (rand(4, 3), rand(5, 2), rand(6, 4))),
        (meshgrid_three, (rand(7, 2), rand(8, 3), rand(9, 4))),
        (meshgrid_one, (rand(10, 3),)),
        (meshgrid_first_only, (rand(11, 3), rand(12, 2))),
        (meshgrid_matrix_input, (rand(13, 2, 2), rand(14, 3))),
    ],
    ids=["xy", "ij", "sparse", "three-ij-nocopy", "one", "first-only", "matrix-input"],
)
def test_meshgrid_matches_finite_differences(f, args):
    check_grads(f, *args, order=2, forward=True)


def meshgrid_on_device(x, y):
    X, Y = np.meshgrid(x, y, indexing="ij")
    return np.sum(X * Y**2)


def test_meshgrid_on_device(monkeypatch):
    cupy_standin.install(monkeypatch)
    x, y = rand(0, 3), rand(1, 2)
    expected = fx.gradient(meshgrid_on_device, x, y)
    got = fx.gradient(meshgrid_on_device, *fx.gpu((x, y)))
    for e, g in zip(expected, got, strict=True):
        assert type(g).__module__ == "cupy"
        np.testing.assert_allclose(g.get(), e)


# ---------------------------------------------------------------------------------------------------------
# 5. np.sum(..., initial=c): the tangent is the sum of the tangent, without c


def sum_initial(x):
    return np.sum(x, initial=2.0)


def sum_initial_axis(x):
    return np.sum(x, axis=0, initial=2.0)


def sum_initial_method(x):
    return x.sum(initial=2.0)


def test_sum_initial_reverse():
    (g,) = fx.gradient(sum_initial, np.array([1.0, 2.0]))
    np.testing.assert_allclose(g, [1.0, 1.0])
    check_grads(lambda x: sum_initial_axis(x) ** 2, rand(0, 2, 3), order=2)


@pytest.mark.parametrize("f", [sum_initial, sum_initial_axis, sum_initial_method])
def test_sum_initial_forward(f):
    """np.sum is affine in x with initial=: forward rules (and forward over reverse) gave initial a part in
    the tangent."""
    _, t = fx.jvp(f, (np.array([1.0, 2.0]),), (np.ones(2),))
    assert float(np.sum(t)) == 2.0


def squared_sum_initial(x):
    return np.sum(x**2, initial=2.0) ** 2


def test_sum_initial_hessian_vector_product():
    x, v = np.array([1.0, 2.0]), np.ones(2)
    s = np.sum(x**2) + 2.0
    (hv,) = fx.hvp(squared_sum_initial, (x,), (v,))
    np.testing.assert_allclose(hv, 4 * s * v + 8 * x * (x @ v))


# ---------------------------------------------------------------------------------------------------------
# 6. writes into what may be another array itself or a view of it are refused


def write_through_asarray(y):
    y = y * 1.0
    z = np.asarray(y)
    z[0] = 5.0
    return np.sum(y)


def write_through_asarray_source(y):
    y = y * 1.0
    z = np.asarray(y)
    y[0] = 5.0
    return np.sum(z)


def write_through_nested(y):
    y = y * 1.0
    z = np.atleast_1d(np.ravel(y))
    z[0] = 5.0
    return np.sum(y)


def write_through_view_method(y):
    y = y * 1.0
    z = y.view()
    z[0] = 5.0
    return np.sum(y)


def write_through_astype_nocopy(y):
    y = y * 1.0
    z = y.astype(float, copy=False)
    z[0] = 5.0
    return np.sum(y)


def write_through_element_view(y):
    y = y * 1.0
    z = np.asarray(y[0])
    z[0] = 5.0
    return np.sum(y)


SAME_OR_VIEW = r"writing into 'z' while 'y', which (is the same array|it views) \(see line \d+\)"
SHARING = [
    "np.asarray(y)",
    "np.asanyarray(y)",
    "np.ascontiguousarray(y)",
    "np.asfortranarray(y.T)",  # (of a C-ordered y: a new array, which may be written)
    "np.asarray_chkfinite(y)",
    "np.atleast_1d(y)",
    "np.atleast_2d(y)",
    "np.atleast_3d(y)",
    "np.array(y, copy=False)",
    "y.view()",
    "np.ravel(y)",
    "y.ravel()",
    "np.squeeze(y)",
    "y.squeeze()",
    "np.transpose(y)",
    "y.transpose()",
    "np.expand_dims(y, 0)",
    "np.broadcast_to(y, (2, 2))",
    "np.real(y)",
    # (np.imag(y) of a real y is a new array)
    "np.reshape(y, 4)",
    "y.reshape(4)",
    "np.swapaxes(y, 0, 1)",
    "np.flip(y)",
]


def _write_through(expr):
    """A function writing into ``z = <expr>`` (built from source: the fence reads it)."""
    import linecache

    source = f"def f(x):\n    y = x * 1.0\n    z = {expr}\n    z[0] = 5.0\n    return z + y\n"
    filename = f"<write-through {expr}>"
    linecache.cache[filename] = (len(source), None, source.splitlines(True), filename)
    namespace = {"np": np}
    exec(compile(source, filename, "exec"), namespace)  # noqa: S102  (a test's own source)
    return namespace["f"]


@pytest.mark.parametrize("expr", SHARING)
def test_write_into_same_array_or_view_is_refused(expr):
    """Refused at run time where the two share memory (np.asarray of a list makes a new array: hunt 16)."""
    f = _write_through(expr)
    with pytest.raises(fx.FluxpyError, match=SAME_OR_VIEW) as caught:
        fx.gradient(lambda x: np.sum(f(x)), np.ones((2, 2)))
    assert not isinstance(caught.value, fx.TransformError)


@pytest.mark.parametrize(
    "f, match",
    [
        (
            write_through_asarray,
            SAME_OR_VIEW,
        ),
        (write_through_asarray_source, "writing into 'y' while 'z', which is the same array"),
        (
            write_through_nested,
            SAME_OR_VIEW,
        ),
        (
            write_through_view_method,
            SAME_OR_VIEW,
        ),
        (
            write_through_astype_nocopy,
            SAME_OR_VIEW,
        ),
        (write_through_element_view, SAME_OR_VIEW),
    ],
    ids=["asarray", "asarray-source", "nested", "view", "astype-copy-false", "element"],
)
def test_write_through_alias_is_refused(f, match):
    with pytest.raises(fx.FluxpyError, match=match):
        fx.gradient(f, np.array([[1.0, 2.0]]))


def rebind_through_asarray(x):
    x = np.asarray(x)
    x[0] = 5.0
    return np.sum(x * x)


def copies_are_new(y):
    y = y * 1.0
    a = np.asarray(y, copy=True)
    a[0] = 5.0
    b = np.array(y)
    b[1] = 7.0
    c = y.astype(float)
    c[0] = 1.0
    d = np.copy(y)
    d[1] = 0.5
    return np.sum(a * b * c * d * y)


def test_new_arrays_and_rebinding_stay_writable():
    (g,) = fx.gradient(rebind_through_asarray, np.array([1.0, 2.0, 3.0]))
    np.testing.assert_allclose(g, [0.0, 4.0, 6.0])
    check_grads(copies_are_new, rand(0, 3), order=2, forward=True)
