"""Rules of fluxpy/rules/numpy_shape.py and the shape modules split from it (numpy_reshapes.py,
numpy_joins.py, numpy_construction.py, numpy_rearrange.py): one table row per rule and option, checked
against finite differences; functions of a list of arrays get a list of cotangents, checked entry by entry."""

import functools

import numpy as np
import pytest

import fluxpy
from fluxpy.errors import FluxpyError
from fluxpy.rules import numpy_shape
from fluxpy.rules.registry import lookup_attribute
from fluxpy.runtime import call, call_method
from fluxpy.testing import check_grads


def normal(seed, *shape):
    return np.random.default_rng(seed).standard_normal(shape)


X = normal(0, 3, 4, 5)
M = normal(1, 3, 4)
V = normal(2, 6)
S6 = normal(3, 6, 4, 5)

CASES = [
    # reshapes
    pytest.param(np.reshape, (X, (4, 15)), {}, id="reshape"),
    pytest.param(np.reshape, (X, (4, -1), "F"), {}, id="reshape-order-F"),
    pytest.param(np.reshape, (2.5, (1, 1)), {}, id="reshape-scalar"),
    pytest.param(np.ndarray.reshape, (X, 12, 5), {}, id="method-reshape-varargs"),
    pytest.param(np.ndarray.reshape, (X, (12, 5)), {}, id="method-reshape-tuple"),
    pytest.param(functools.partial(np.ndarray.reshape, order="F"), (X, (5, 12)), {}, id="method-reshape-F"),
    pytest.param(np.ravel, (X,), {}, id="ravel"),
    pytest.param(np.ravel, (X, "F"), {}, id="ravel-order-F"),
    pytest.param(np.ndarray.ravel, (X,), {}, id="method-ravel"),
    pytest.param(np.ndarray.flatten, (X,), {}, id="method-flatten"),
    pytest.param(np.ndarray.flatten, (X, "F"), {}, id="method-flatten-F"),
    pytest.param(np.expand_dims, (X, 1), {}, id="expand-dims"),
    pytest.param(np.expand_dims, (X,), {"axis": (0, -1)}, id="expand-dims-axes"),
    pytest.param(np.expand_dims, (1.5, 0), {}, id="expand-dims-scalar"),
    pytest.param(np.squeeze, (X[:, :1, None],), {}, id="squeeze"),
    pytest.param(np.squeeze, (X[:, :1, None],), {"axis": -2}, id="squeeze-axis"),
    pytest.param(np.ndarray.squeeze, (X[:1],), {}, id="method-squeeze"),
    pytest.param(np.atleast_1d, (2.0,), {}, id="atleast-1d-scalar"),
    pytest.param(np.atleast_2d, (V,), {}, id="atleast-2d"),
    pytest.param(np.atleast_3d, (M,), {}, id="atleast-3d"),
    pytest.param(np.atleast_2d, (1.5, V, M), {}, id="atleast-2d-several"),
    pytest.param(np.broadcast_to, (M[:, :1], (2, 3, 4)), {}, id="broadcast-to"),
    pytest.param(np.broadcast_to, (2.0, (3,)), {}, id="broadcast-to-scalar"),
    # transposes
    pytest.param(np.transpose, (X,), {}, id="transpose"),
    pytest.param(np.transpose, (X, (2, 0, 1)), {}, id="transpose-axes"),
    pytest.param(np.transpose, (X,), {"axes": (1, -1, 0)}, id="transpose-axes-negative"),
    pytest.param(np.permute_dims, (X, (1, 2, 0)), {}, id="permute-dims"),
    pytest.param(np.ndarray.transpose, (X,), {}, id="method-transpose"),
    pytest.param(np.ndarray.transpose, (X, 1, 2, 0), {}, id="method-transpose-varargs"),
    pytest.param(np.ndarray.transpose, (X, (2, 1, 0)), {}, id="method-transpose-tuple"),
    pytest.param(np.matrix_transpose, (X,), {}, id="matrix-transpose"),
    pytest.param(np.swapaxes, (X, 0, -1), {}, id="swapaxes"),
    pytest.param(np.ndarray.swapaxes, (X, 1, 2), {}, id="method-swapaxes"),
    pytest.param(np.moveaxis, (X, 0, -1), {}, id="moveaxis"),
    pytest.param(np.moveaxis, (X, (0, 1), (2, 0)), {}, id="moveaxis-several"),
    # splits (the output is a list; the cotangent is a list)
    pytest.param(np.split, (S6, 3), {}, id="split"),
    pytest.param(np.split, (S6, [1, 3], 1), {}, id="split-indices-axis"),
    pytest.param(np.split, (S6, 5), {"axis": -1}, id="split-axis-negative"),
    pytest.param(np.array_split, (S6, 4), {"axis": 0}, id="array-split"),
    pytest.param(np.hsplit, (S6, 2), {}, id="hsplit"),
    pytest.param(np.hsplit, (V, 3), {}, id="hsplit-1d"),
    pytest.param(np.vsplit, (S6, [2]), {}, id="vsplit"),
    pytest.param(np.dsplit, (S6, [1, 4]), {}, id="dsplit"),
    pytest.param(np.unstack, (X,), {"axis": 1}, id="unstack"),
    # copies
    pytest.param(np.array, (X,), {}, id="array"),
    pytest.param(np.array, (X,), {"ndmin": 5}, id="array-ndmin"),
    pytest.param(np.array, (2.5,), {}, id="array-scalar"),
    pytest.param(np.asarray, (X,), {}, id="asarray"),
    pytest.param(np.asarray, (M,), {"dtype": np.float64}, id="asarray-dtype"),
    pytest.param(np.asanyarray, (X,), {}, id="asanyarray"),
    pytest.param(np.ascontiguousarray, (X.T,), {}, id="ascontiguousarray"),
    pytest.param(np.asfortranarray, (X,), {}, id="asfortranarray"),
    pytest.param(np.copy, (X,), {}, id="copy"),
    pytest.param(np.ndarray.copy, (X,), {}, id="method-copy"),
    pytest.param(np.full_like, (X, 2.0), {}, id="full-like"),
    # pad
    pytest.param(np.pad, (M, 2), {}, id="pad"),
    pytest.param(np.pad, (M, ((1, 2), (0, 3))), {"constant_values": 4.0}, id="pad-constant-values"),
    pytest.param(np.pad, (M, 1, "edge"), {}, id="pad-edge"),
    pytest.param(np.pad, (M, ((1, 2), (2, 3))), {"mode": "reflect"}, id="pad-reflect"),
    pytest.param(np.pad, (M, 2, "symmetric"), {}, id="pad-symmetric"),
    pytest.param(np.pad, (M, (2, 5), "wrap"), {}, id="pad-wrap"),
    # flip, rotate, roll
    pytest.param(np.flip, (X,), {}, id="flip"),
    pytest.param(np.flip, (X, 1), {}, id="flip-axis"),
    pytest.param(np.flip, (X,), {"axis": (0, -1)}, id="flip-axes"),
    pytest.param(np.fliplr, (M,), {}, id="fliplr"),
    pytest.param(np.flipud, (M,), {}, id="flipud"),
    pytest.param(np.rot90, (M,), {}, id="rot90"),
    pytest.param(np.rot90, (X, 3, (2, 0)), {}, id="rot90-k-axes"),
    pytest.param(np.roll, (X, 2), {}, id="roll-flat"),
    pytest.param(np.roll, (X, -1, 1), {}, id="roll-axis"),
    pytest.param(np.roll, (X, (1, -2), (0, 2)), {}, id="roll-axes"),
    pytest.param(np.roll, (X,), {"shift": 3, "axis": -1}, id="roll-keywords"),
    # tile, repeat, sort
    pytest.param(np.tile, (M, 2), {}, id="tile"),
    pytest.param(np.tile, (M, (2, 1, 3)), {}, id="tile-more-reps"),
    pytest.param(np.tile, (X, (2, 3)), {}, id="tile-fewer-reps"),
    pytest.param(np.tile, (2.0, 3), {}, id="tile-scalar"),
    pytest.param(np.repeat, (M, 3), {}, id="repeat-flat"),
    pytest.param(np.repeat, (M, 2, 1), {}, id="repeat-axis"),
    pytest.param(np.repeat, (M, 2), {"axis": -2}, id="repeat-axis-negative"),
    pytest.param(np.repeat, (M, [1, 0, 2, 3], -1), {}, id="repeat-array"),
    pytest.param(np.ndarray.repeat, (M, 2), {"axis": 0}, id="method-repeat"),
    pytest.param(np.sort, (X,), {}, id="sort"),
    pytest.param(np.sort, (X, 0), {}, id="sort-axis"),
    pytest.param(np.sort, (X,), {"axis": None}, id="sort-flat"),
    pytest.param(np.sort, (X,), {"axis": 1, "kind": "stable"}, id="sort-kind"),
    # the paired helpers pullbacks are built from (their rules are what second derivatives go through)
    pytest.param(numpy_shape._gather, (M, np.array([[0, 5, 5], [11, 2, 0]])), {}, id="helper-gather"),
    pytest.param(
        numpy_shape._scatter,
        (normal(4, 2, 3), np.array([[0, 5, 5], [11, 2, 0]]), (3, 4)),
        {},
        id="helper-scatter",
    ),
    pytest.param(numpy_shape._crop, (normal(5, 6, 9), ((1, 2), (3, 0))), {}, id="helper-crop"),
    pytest.param(
        numpy_shape._unjoin,
        (M, (((2, 4), (2, 4), False), ((1, 4), (4,), False)), 0, list, None),
        {},
        id="helper-unjoin",
    ),
    pytest.param(numpy_shape._unpack, (normal(6, 1, 2, 3), [V[:3], V[3:]]), {}, id="helper-unpack"),
    pytest.param(numpy_shape._unpack, (M[:2, :2], [[1.0, 2.0], [3.0, 4.0]]), {}, id="helper-unpack-nested"),
]


@pytest.mark.parametrize("f, args, kwargs", CASES)
def test_first_order(f, args, kwargs):
    check_grads(f, *args, order=1, **kwargs)


@pytest.mark.second_order
@pytest.mark.parametrize("f, args, kwargs", CASES)
def test_second_order(f, args, kwargs):
    check_grads(f, *args, order=2, **kwargs)


# ---------------------------------------------------------------------------------------------------------
# functions of a list of arrays: the cotangent is a list (or tuple) of cotangents


def check_sequence_grads(f, seq, *args, eps=1e-6, **kwargs):
    """Check the cotangent of the sequence argument ``seq`` of ``f`` against central finite differences,
    entry by entry: same container type, entry shapes, Python floats for Python-float entries."""
    rng = np.random.default_rng(0)
    y, back = fluxpy.pullback(f, seq, *args, **kwargs)
    dy = rng.standard_normal(np.shape(y))
    grads = back(dy)[0]
    assert type(grads) is type(seq) and len(grads) == len(seq)
    for k, item in enumerate(seq):
        direction = rng.standard_normal(np.shape(item))

        def perturbed(h, k=k, item=item, direction=direction):
            items = list(seq)
            items[k] = float(item + h * direction) if isinstance(item, float) else item + h * direction
            return np.sum(dy * f(type(seq)(items), *args, **kwargs))

        fd = (perturbed(eps) - perturbed(-eps)) / (2 * eps)
        assert np.shape(grads[k]) == np.shape(item)
        if isinstance(item, float):
            assert type(grads[k]) is float
        np.testing.assert_allclose(np.sum(np.asarray(grads[k]) * direction), fd, rtol=1e-5, atol=1e-6)


A, B, C = normal(7, 2, 3), normal(8, 4, 3), normal(9, 2, 3)

SEQUENCE_CASES = [
    pytest.param(np.concatenate, [A, B], {}, id="concatenate-list"),
    pytest.param(np.concatenate, (A, B, C), {}, id="concatenate-tuple"),
    pytest.param(np.concatenate, [A, C], {"axis": 1}, id="concatenate-axis"),
    pytest.param(np.concatenate, [A, C], {"axis": -1}, id="concatenate-axis-negative"),
    pytest.param(np.concatenate, [A, B], {"axis": None}, id="concatenate-axis-none"),
    pytest.param(np.concat, [A, B], {}, id="concat"),
    pytest.param(np.stack, [A, C], {}, id="stack"),
    pytest.param(np.stack, (A, C, A), {"axis": -1}, id="stack-axis-tuple"),
    pytest.param(np.stack, [1.0, 2.0, 3.0], {}, id="stack-floats"),
    pytest.param(np.vstack, [A, B, V[:3]], {}, id="vstack"),
    pytest.param(np.hstack, [V, 2.0, V[:2]], {}, id="hstack-1d"),
    pytest.param(np.hstack, (A, C), {}, id="hstack-2d"),
    pytest.param(np.column_stack, [V[:2], A], {}, id="column-stack"),
    pytest.param(np.dstack, [A, C], {}, id="dstack"),
    pytest.param(np.array, [A, C], {}, id="array-of-arrays"),
    pytest.param(np.array, [1.0, 2.5, -3.0], {}, id="array-of-floats"),
    pytest.param(np.asarray, (1.0, 2.5), {}, id="asarray-tuple-of-floats"),
    pytest.param(np.array, [V[0], V[1]], {}, id="array-of-numpy-scalars"),
]


@pytest.mark.parametrize("f, seq, kwargs", SEQUENCE_CASES)
def test_sequence_argument(f, seq, kwargs):
    check_sequence_grads(f, seq, **kwargs)


def test_stack_gradient_is_a_list_of_rows():
    _, back = fluxpy.pullback(np.stack, [np.zeros(2), np.ones(2)])
    g = back(np.array([[1.0, 2.0], [3.0, 4.0]]))[0]
    assert isinstance(g, list)
    np.testing.assert_array_equal(g[0], [1.0, 2.0])
    np.testing.assert_array_equal(g[1], [3.0, 4.0])


def test_array_of_nested_floats_gives_nested_floats():
    _, back = fluxpy.pullback(np.array, [[1.0, 2.0], [3.0, 4.0]])
    assert back(np.array([[5.0, 6.0], [7.0, 8.0]])) == ([[5.0, 6.0], [7.0, 8.0]],)


def test_split_cotangent_with_none_entries_is_zeros():
    _, back = fluxpy.pullback(np.split, S6, 3)
    g, none = back([None, np.ones((2, 4, 5)), None])
    assert none is None
    expected = np.zeros_like(S6)
    expected[2:4] = 1.0
    np.testing.assert_array_equal(g, expected)


def test_split_output_is_a_list():
    y, _ = fluxpy.pullback(np.array_split, V, 4)
    assert isinstance(y, list) and [p.shape for p in y] == [(2,), (2,), (1,), (1,)]


# ---------------------------------------------------------------------------------------------------------
# methods, attributes, errors, dtypes


def test_transpose_attribute():
    y, back = lookup_attribute("T")(X)
    assert y.shape == (5, 4, 3)
    g = normal(10, 5, 4, 3)
    np.testing.assert_array_equal(back(g)[0], g.T)


def test_matrix_transpose_attribute():
    y, back = lookup_attribute("mT")(X)
    g = normal(11, *y.shape)
    np.testing.assert_array_equal(back(g)[0], np.swapaxes(g, -1, -2))


@pytest.mark.parametrize(
    "name, args", [("reshape", (20, 3)), ("reshape", ((20, 3),)), ("transpose", (2, 0, 1)), ("sum", (0,))]
)
def test_method_calls_give_the_receiver_gradient(name, args):
    y, pb = call_method(X, name, *args)
    grads = pb(np.ones(y.shape))
    assert len(grads) == 1 + len(args) and grads[0].shape == X.shape and all(g is None for g in grads[1:])


def test_float32_stays_float32():
    x = M.astype(np.float32)
    for f, args in [
        (np.reshape, (x, (2, 6))),
        (np.pad, (x, 1)),
        (np.sort, (x,)),
        (np.repeat, (x, [1, 2, 0, 1], 1)),
    ]:
        y, back = fluxpy.pullback(f, *args)
        assert back(np.ones_like(y))[0].dtype == np.float32, f.__name__


def test_pad_mode_without_rule_is_refused_when_a_gradient_is_needed():
    y, back = fluxpy.pullback(np.pad, M, 1, "mean")
    assert y.shape == (5, 6)
    with pytest.raises(FluxpyError, match="mean"):
        back(np.ones(y.shape))


@pytest.mark.parametrize(
    "f, args, kwargs",
    [
        (np.reshape, (np.asfortranarray(X), (6, 10)), {"order": "A"}),
        (np.reshape, (X, (6, 10)), {"order": "A"}),
        (np.ravel, (X.T, "K"), {}),
        (np.ravel, (X, "A"), {}),
        (np.ndarray.ravel, (np.asfortranarray(X),), {"order": "K"}),
    ],
    ids=["reshape-A-fortran", "reshape-A-c", "ravel-K-fortran", "ravel-A-c", "method-ravel-K-fortran"],
)
def test_layout_dependent_orders_pull_back_in_the_same_order(f, args, kwargs):
    # finite differences cannot check these: a perturbed array is C-contiguous, so its order differs
    y, back = fluxpy.pullback(f, *args, **kwargs)
    g = normal(12, *y.shape)
    x = args[0]
    order = "F" if x.flags.f_contiguous and not x.flags.c_contiguous else "C"
    np.testing.assert_array_equal(back(g)[0], np.reshape(g, x.shape, order=order))
    np.testing.assert_array_equal(y, np.reshape(x, y.shape, order=order))


def test_ravel_order_k_of_a_strided_array_is_refused():
    with pytest.raises(FluxpyError, match="order='K'"):
        fluxpy.pullback(np.ravel, X[:, ::2].transpose(1, 0, 2), "K")


NOGRAD = [
    (np.zeros_like, (X,)),
    (np.ones_like, (X,)),
    (np.empty_like, (X,)),
    (np.shape, (X,)),
    (np.ndim, (X,)),
    (np.size, (X,)),
]


@pytest.mark.parametrize("f, args", NOGRAD, ids=[f.__name__ for f, _ in NOGRAD])
def test_nograd_functions_give_no_gradient(f, args):
    y, pb = call(f, *args)
    assert all(g is None for g in pb(np.ones(np.shape(y)) if np.ndim(y) else 1.0))
