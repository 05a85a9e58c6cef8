"""Forward mode (fx.jvp) over the rule tables and the corpus, against finite differences."""

import numpy as np
import pytest

import fluxpy as fx
from fluxpy.testing import check_grads

from . import corpus
from .rules import (
    test_math,
    test_numpy_elementwise,
    test_numpy_linalg,
    test_numpy_reductions,
    test_numpy_shape,
)


def _rows():
    rows = []
    tables = [
        (test_numpy_elementwise, test_numpy_elementwise.ROWS),
        (test_numpy_reductions, test_numpy_reductions.CASES),
        (test_numpy_shape, test_numpy_shape.CASES),
    ]
    for module, table in tables:
        for row in table:
            rows.append(pytest.param(*row.values[:3], id=f"{module.__name__.split('.')[-1][5:]}-{row.id}"))
    for row in test_math.ROWS:
        values = row.values if hasattr(row, "values") else row
        rows.append(
            pytest.param(
                values[0], values[1], {}, id=f"math-{getattr(row, 'id', None) or values[0].__name__}"
            )
        )
    for case in test_numpy_linalg.CASES:
        rows.append(pytest.param(*case[1:], id=f"linalg-{case[0]}"))
    return rows


@pytest.mark.parametrize("primal, args, kwargs", _rows())
def test_rules_forward(primal, args, kwargs):
    if kwargs:
        pytest.skip("keyword arguments get no tangent")
    check_grads(primal, *args, order=1, forward=True)


# FORWARD_WRONG lists corpus cases with a wrong tangent, FORWARD_RAISES cases fx.jvp raises on (none known now).
# REVERSE_RAISES: check_grads checks reverse mode first, and it raises on these inputs;
# tests/test_forward_containers.py checks their tangents.
FORWARD_WRONG = []
FORWARD_RAISES = []
REVERSE_RAISES = []


def _case_param(case):
    if case.name in FORWARD_WRONG:
        return pytest.param(
            case, id=case.name, marks=pytest.mark.xfail(reason="WRONG tangent in forward mode", strict=True)
        )
    if case.name in FORWARD_RAISES:
        return pytest.param(
            case, id=case.name, marks=pytest.mark.xfail(reason="forward mode raises", strict=True)
        )
    if case.name in REVERSE_RAISES:
        return pytest.param(
            case, id=case.name, marks=pytest.mark.xfail(reason="reverse mode raises", strict=True)
        )
    return pytest.param(case, id=case.name)


CASES = [_case_param(c) for c in corpus.CORPUS if not c.xfail]


@pytest.mark.parametrize("case", CASES)
def test_corpus_forward(case):
    args = case.args_factory(np.random.default_rng(0))
    check_grads(case.fn, *args, order=1, forward=True)


# ---------------------------------------------------------------------------------------------------------
# broadcastable tangents: an array's tangent is anything that broadcasts to its shape (``x + s`` with only the
# number ``s`` moving has ``s``'s tangent, a number); the rules that select, reshape, transpose, contract,
# iterate over or write into an array broadcast it first, and fx.jvp returns the output's shape

_rng = np.random.default_rng(5)
W = _rng.standard_normal((3, 2))
M = _rng.standard_normal((3, 4))


def sliced_matmul(x, s):
    return (x + s)[1:] @ W


def setitem_of_a_number(x, s):
    y = x * 1.0 + s
    y[0] = s * 2
    return y


def setitem_into_a_constant(x, s):
    y = np.zeros(4) + s
    y[1:3] = x[:2] * s
    y[3] += s
    return y @ x


def transposed_and_reshaped(x, s):
    return (x + s).reshape(2, 2).T[0] + (x - s).T[1:3] + M.T[1:3, 0] * s


def iterated_and_unpacked(x, s):
    total = 0.0
    for v in x + s:
        total = total + v * v
    a, b, c, d = x - s
    return total + a * b - c * d + sum(list(x * 0.0 + s)) + sum(i * v for i, v in enumerate(x + s))


def contracted(x, s):
    return M @ (x + s) + (x * 0.0 + s) @ M.T + np.dot(x - s, x) * (W @ (x + s)[:2])


def selected(x, s):
    y = x + s
    return np.concatenate([y[x > 0], y[[0, 2, 2]], y[None, 1:3].ravel(), (-y)[-1:] ** 2, x])


def row_of_a_matrix(m, r):
    """A (3, 4) matrix plus a moving row: the sum's tangent is the row's, shape (4,)."""
    y = m + r
    return np.concatenate([y[1], y.T[2], (y @ W[:, 0].repeat(2)[:4]), list(y)[2] * 3.0])


BROADCAST_ROWS = [
    pytest.param(f, args, id=f.__name__)
    for f, args in [
        (sliced_matmul, (_rng.standard_normal(4), 0.7)),
        (setitem_of_a_number, (_rng.standard_normal(4), 0.7)),
        (setitem_into_a_constant, (_rng.standard_normal(4), 0.7)),
        (transposed_and_reshaped, (_rng.standard_normal(4), 0.7)),
        (iterated_and_unpacked, (_rng.standard_normal(4), 0.7)),
        (contracted, (_rng.standard_normal(4), 0.7)),
        (selected, (_rng.standard_normal(4), 0.7)),
        (row_of_a_matrix, (M, _rng.standard_normal(4))),
    ]
]


@pytest.mark.parametrize("f, args", BROADCAST_ROWS)
@pytest.mark.parametrize("zero", [None, 0.0], ids=["none", "zero"])
def test_tangent_only_in_the_broadcast_operand(f, args, zero):
    """The array ``args[0]``'s tangent is None or the number 0.0; only ``args[1]`` moves."""
    x, s = args
    ts = np.linspace(0.5, 1.5, np.size(s)).reshape(np.shape(s)) if np.ndim(s) else 1.3
    y, dy = fx.jvp(f, (x, s), (zero, ts))
    eps = 1e-6
    fd = (f(x, s + eps * ts) - f(x, s - eps * ts)) / (2 * eps)
    assert np.shape(dy) == np.shape(y)
    np.testing.assert_allclose(dy, fd, rtol=1e-6, atol=1e-8)
