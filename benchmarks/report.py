"""Formatting the results: ratios, targets met or missed, markdown rows, and the machine description."""

import os
import platform
from importlib import import_module, metadata

import numpy as np

ARRAY_TARGET = 1.2  # array workloads: fluxpy at most 1.2x the hand-written gradient
TORCH_TARGET = 5.0  # overhead-bound workloads: at least 5x faster than PyTorch eager
AUTOGRAD_TARGET = 10.0  # ... and at least 10x faster than HIPS autograd


def ratio(x):
    return f"{x:.0f}x" if x >= 99.5 else f"{x:.1f}x" if x >= 9.95 else f"{x:.2f}x"


def at_most(value, target):
    """The verdict on ``value <= target``: "met", or by how much it was missed."""
    return "met" if value <= target else f"missed by {ratio(value / target)}"


def at_least(value, target):
    """The verdict on ``value >= target``: "met", or by how much it was missed."""
    return "met" if value >= target else f"missed by {ratio(target / value)}"


def row(cells):
    return "| " + " | ".join(cells) + " |"


def header(cells):
    return row(cells) + "\n|" + "---|" * len(cells)


def target_cell(kind, times):
    """The main table's target column for a row of the given kind and its times by column."""
    fluxpy = times.get("fluxpy")
    if fluxpy is None:
        return "—"
    if kind == "array":
        return f"≤ {ARRAY_TARGET}x hand-written: {at_most(fluxpy / times['hand-written'], ARRAY_TARGET)}"
    if kind == "overhead":
        parts = []
        for peer, target in (("torch", TORCH_TARGET), ("autograd", AUTOGRAD_TARGET)):
            if peer in times:
                parts.append(f"≥ {target:.0f}x faster than {peer}: {at_least(times[peer] / fluxpy, target)}")
        return "; ".join(parts) or "no peer installed"
    return "≤ 4x the first derivative: second-order table"


def machine(peers):
    """One line: the machine, Python, NumPy, fluxpy and the installed peers with their versions."""
    return (
        f"Machine: {_cpu()}, {os.cpu_count()} CPUs, {platform.system()}; Python {platform.python_version()}, "
        f"NumPy {np.__version__}{_blas()}, fluxpy {metadata.version('fluxpy')}; "
        f"peers: {', '.join(peers) or 'none'}."
    )


def _cpu():
    try:
        with open("/proc/cpuinfo", encoding="utf-8") as f:
            names = [line.split(":", 1)[1].strip() for line in f if line.startswith("model name")]
    except OSError:
        names = []
    return names[0] if names else platform.processor() or platform.machine()


def _blas():
    """`` (openblas, 2 threads)``: NumPy's BLAS as threadpoolctl reports it (or nothing)."""
    try:
        from threadpoolctl import threadpool_info
    except ImportError:
        return ""
    blas = [i for i in threadpool_info() if i.get("user_api") == "blas"]
    if not blas:
        return ""
    threads = blas[0]["num_threads"]
    return f" ({blas[0]['internal_api']}, {threads} thread{'s' if threads > 1 else ''})"


def peer_descriptions(columns):
    """Names and versions of the installed peers among ``columns``."""
    out = []
    if "autograd" in columns:
        out.append(f"HIPS autograd {metadata.version('autograd')}")
    for column, module in (("torch", "peer_torch"), ("jax eager", "peer_jax")):
        if column in columns:
            out.append(import_module(f"benchmarks.{module}").description())
    return out
