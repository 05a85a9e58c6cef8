"""Explicit-mode cost of implicit-parameter support: the same loss reading its weights as module globals
(the generated code tests one flag per global read in the pullback) and as arguments (no such test).

Run ``python benchmarks/implicit_overhead.py``; the two columns should agree within noise.
"""

import sys
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import fluxpy as fx  # noqa: E402
from benchmarks.timing import fmt, median_time  # noqa: E402

rng = np.random.default_rng(0)
W1, b1, W2, b2 = (
    rng.standard_normal((32, 16)),
    rng.standard_normal(32),
    rng.standard_normal((4, 32)),
    rng.standard_normal(4),
)
x = rng.standard_normal(16)


def loss_globals(x):
    return np.sum(W2 @ np.tanh(W1 @ x + b1) + b2)


def loss_arguments(x, W1, b1, W2, b2):
    return np.sum(W2 @ np.tanh(W1 @ x + b1) + b2)


def main():
    with_globals = median_time(lambda: fx.gradient(loss_globals, x))
    with_arguments = median_time(lambda: fx.gradient(loss_arguments, x, W1, b1, W2, b2))
    implicit = median_time(lambda: fx.gradient(lambda: loss_globals(x), fx.params(W1, b1, W2, b2)))
    print("| explicit, weights as globals | explicit, weights as arguments | implicit (params) |")
    print("|---|---|---|")
    print(f"| {fmt(with_globals)} | {fmt(with_arguments)} | {fmt(implicit)} |")


if __name__ == "__main__":
    main()
