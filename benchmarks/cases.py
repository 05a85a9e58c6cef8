"""The main table's rows: each workload's inputs, one zero-argument gradient callable per column, and the
agreement check run before anything is timed.

A column is a module with one ``make_<workload>(inputs)`` per workload it covers; a column whose module does
not import (a peer that is not installed) or that lacks a workload's maker shows "—".
"""

import importlib
from dataclasses import dataclass, field

import numpy as np

from benchmarks import workloads

COLUMNS = ("hand-written", "fluxpy", "autograd", "torch", "jax eager", "jax jit")
PEERS = {"autograd": "peer_autograd", "torch": "peer_torch", "jax eager": "peer_jax", "jax jit": "peer_jax"}

# kind: "array" (array-bound: judged against hand-written), "overhead" (judged against the peers),
# "second" (judged against the first derivative, in the second-order table)
WORKLOADS = (
    ("3x²+2x+1 at a float: first derivative", "overhead", workloads.poly, "poly_first"),
    ("3x²+2x+1 at a float: second derivative", "second", workloads.poly, "poly_second"),
    ("sum((x-y)²), 1000 elements, float64", "overhead", workloads.sum_sq, "sum_sq"),
    ("MLP 784→128→10, float32, batch 64", "array", workloads.mlp, "mlp"),
    ("digits MLP 64→64→10 step, float64, batch 128", "array", workloads.digits_mlp, "digits_mlp"),
    ("50-step RNN loop, 32 hidden, float64", "array", workloads.rnn, "rnn"),
    ("100-iteration scalar loop", "overhead", workloads.scalar_loop, "scalar_loop"),
    ("small CNN step (32, 3, 32, 32), float32", "array", workloads.cnn, "cnn"),
)

RTOL = {np.dtype(np.float64): 1e-7, np.dtype(np.float32): 1e-4}


@dataclass
class Case:
    name: str
    kind: str
    dtype: np.dtype
    columns: dict = field(default_factory=dict)  # column name -> zero-argument callable giving gradients


def column_module(column):
    """The module implementing ``column``, or None when it cannot be imported (the peer is not installed)."""
    name = {"hand-written": "handwritten", "fluxpy": "fluxpy_impl"}.get(column) or PEERS[column]
    try:
        return importlib.import_module(f"benchmarks.{name}")
    except ImportError:
        return None


def build(only=None, columns=COLUMNS):
    """The cases whose name contains ``only`` (case-insensitive), with the given columns where available.
    A workload whose inputs need a missing package (the digits need scikit-learn) is left out."""
    modules = {c: column_module(c) for c in columns}
    cases = []
    for name, kind, inputs, workload in WORKLOADS:
        if only and only.lower() not in name.lower():
            continue
        try:
            data = inputs()
        except ImportError:
            continue
        case = Case(name, kind, np.dtype(data.dtype))
        for column, module in modules.items():
            maker = getattr(module, f"make_{workload}", None)
            if maker is None:
                continue
            made = maker(data)
            if column.startswith("jax"):
                made = module.eager(made) if column == "jax eager" else module.jitted(made)
            case.columns[column] = made
        cases.append(case)
    return cases


def check(case):
    """Raise AssertionError unless every column's gradients match the hand-written ones: same structure,
    same dtype for arrays, values within the dtype's tolerance (relative, with an absolute floor at that
    tolerance times the largest entry, as float32 sums round differently in each implementation)."""
    reference = to_numpy(case.columns["hand-written"]())
    for column, fn in case.columns.items():
        if column != "hand-written":
            compare(to_numpy(fn()), reference, case.dtype, f"{case.name}: {column}")


def compare(actual, expected, dtype, where):
    if isinstance(expected, tuple):
        assert isinstance(actual, tuple) and len(actual) == len(expected), f"{where}: gives {actual!r}"
        for i, (a, e) in enumerate(zip(actual, expected, strict=True)):
            compare(a, e, dtype, f"{where}, gradient {i}")
        return
    actual, expected = np.asarray(actual), np.asarray(expected)
    if expected.ndim:
        assert actual.dtype == dtype, f"{where}: dtype {actual.dtype}, expected {dtype}"
    rtol = RTOL[np.dtype(dtype)]
    floor = rtol * float(np.max(np.abs(expected), initial=0.0))
    np.testing.assert_allclose(actual, expected, rtol=rtol, atol=floor, err_msg=f"{where} disagrees")


def to_numpy(result):
    """Gradients as NumPy values: tuples stay tuples; tensors are detached; JAX arrays are copied out."""
    if isinstance(result, (tuple, list)):
        return tuple(to_numpy(r) for r in result)
    if hasattr(result, "detach"):
        return result.detach().numpy()
    return np.asarray(result)
