"""Run the user-style corpus of ``tests/corpus.py`` through fluxpy.

For every case: first derivatives against finite differences, second derivatives where the case asks
for them, arguments left untouched by ``fx.gradient``, and the forward value of ``fx.withgradient``
equal to a plain call (with ``fx.gradient`` agreeing with ``fx.withgradient``'s gradient).
"""

import copy
import dataclasses
import types
import zlib

import numpy as np
import pytest

import fluxpy as fx
from fluxpy.testing import check_grads
from tests.corpus import CORPUS


def _args(case):
    rng = np.random.default_rng(zlib.crc32(case.name.encode()))
    return case.args_factory(rng)


def _params(check, cases=CORPUS):
    out = []
    for case in cases:
        marks = []
        if case.xfail and check in case.xfail_checks:
            marks.append(pytest.mark.xfail(reason=case.xfail, strict=True))
        out.append(pytest.param(case, id=case.name, marks=marks))
    return out


def _same(a, b):
    """Deep equality: arrays by dtype, shape and values; containers and objects field by field."""
    if type(a) is not type(b):
        return False
    if isinstance(a, np.ndarray):
        return a.dtype == b.dtype and a.shape == b.shape and np.array_equal(a, b, equal_nan=True)
    if isinstance(a, dict):
        return a.keys() == b.keys() and all(_same(a[k], b[k]) for k in a)
    if isinstance(a, (list, tuple)):
        return len(a) == len(b) and all(_same(x, y) for x, y in zip(a, b))
    if isinstance(a, fx.Tangent):
        return set(a) == set(b) and all(_same(a[k], b[k]) for k in a)
    if dataclasses.is_dataclass(a):
        return all(_same(getattr(a, f.name), getattr(b, f.name)) for f in dataclasses.fields(a))
    if isinstance(a, (types.FunctionType, types.BuiltinFunctionType, np.ufunc, type)):
        return a is b
    if hasattr(a, "__dict__"):
        return _same(vars(a), vars(b))
    if isinstance(a, float) and np.isnan(a):
        return np.isnan(b)
    return a is b or bool(a == b)


@pytest.mark.parametrize("case", _params("first"))
def test_first_order(case):
    check_grads(case.fn, *_args(case), order=1)


@pytest.mark.second_order
@pytest.mark.parametrize("case", _params("second", [c for c in CORPUS if c.second_order]))
def test_second_order(case):
    check_grads(case.fn, *_args(case), order=2)


@pytest.mark.parametrize("case", _params("mutation"))
def test_arguments_not_mutated(case):
    args = _args(case)
    before = copy.deepcopy(args)
    fx.gradient(case.fn, *args)
    for i, (a, b) in enumerate(zip(args, before)):
        assert _same(a, b), f"argument {i} was changed by fx.gradient"


@pytest.mark.parametrize("case", _params("value"))
def test_forward_value_unchanged(case):
    args = _args(case)
    expected = case.fn(*copy.deepcopy(args))  # a plain call may write into its arguments
    val, grad = fx.withgradient(case.fn, *args)
    assert type(val) is type(expected) or np.ndim(val) == np.ndim(expected) == 0
    assert val == expected, f"withgradient value {val!r} != plain call {expected!r}"
    assert _same(fx.gradient(case.fn, *args), grad)


def test_corpus_size():
    names = [c.name for c in CORPUS]
    assert len(names) == len(set(names))
    assert len(CORPUS) >= 150
    assert sum(c.second_order for c in CORPUS) >= 60
