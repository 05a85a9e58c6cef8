"""hypothesis: broadcasting shapes and dtypes through the binary operators, against finite differences."""

import operator

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

import fluxpy as fx
from fluxpy.testing import check_grads

OPS = [operator.add, operator.sub, operator.mul, operator.truediv, np.maximum, np.minimum, np.arctan2]


@st.composite
def broadcastable_pair(draw):
    shapes = draw(hnp.mutually_broadcastable_shapes(num_shapes=2, min_dims=0, max_dims=3, max_side=3))
    a = draw(hnp.arrays(np.float64, shapes.input_shapes[0], elements=st.floats(0.5, 2.0)))
    b = draw(hnp.arrays(np.float64, shapes.input_shapes[1], elements=st.floats(0.5, 2.0)))
    return a, b


@settings(max_examples=60, deadline=None)
@given(broadcastable_pair(), st.sampled_from(OPS))
def test_binary_ops_unbroadcast(pair, op):
    a, b = pair
    if op in (np.maximum, np.minimum):
        b = np.asarray(b + 0.25 * (np.abs(a - b) < 1e-3))  # stay away from ties
    check_grads(op, a, b, order=1)
    ga, gb = fx.pullback(op, a, b)[1](np.ones(np.broadcast_shapes(a.shape, b.shape)))
    assert ga.shape == a.shape and gb.shape == b.shape


@settings(max_examples=40, deadline=None)
@given(broadcastable_pair(), st.sampled_from([np.float32, np.float64, np.int64]))
def test_gradient_dtype_mirrors_argument(pair, dtype):
    a, b = pair
    a = np.asarray(a * 3).astype(dtype)

    def f(a, b):
        return np.sum(a * b + a / 2.0)

    ga, gb = fx.gradient(f, a, b)
    assert ga.shape == a.shape
    assert ga.dtype == (np.float32 if dtype == np.float32 else np.float64)
    assert gb.dtype == np.float64


@settings(max_examples=30, deadline=None)
@given(broadcastable_pair())
def test_second_order_through_broadcasting(pair):
    a, b = pair
    check_grads(operator.mul, a, b, order=2)
