"""Forward mode (fx.jvp) over the rule tables and the corpus, against finite differences."""

import numpy as np
import pytest

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
