"""A small CNN's forward + backward on a (32, 3, 32, 32) float32 batch: fluxpy next to PyTorch eager (CPU).

Run ``python benchmarks/cnn.py``. All compute the same loss (softmax cross-entropy over 10 classes) with the
same weights; the gradients are compared before timing. PyTorch is optional. The model and loss defined here
are the CNN workload of ``python -m benchmarks`` too (benchmarks/workloads.py).
The goal (issue 6) is within 2x of PyTorch eager on CPU.
"""

import sys
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import fluxpy as fx  # noqa: E402
from benchmarks.timing import fmt, median_time  # noqa: E402


def make_model(rng):
    return fx.Chain(
        fx.Conv((3, 3), 3, 16, fx.relu, pad=1, rng=rng),
        fx.MaxPool((2, 2)),
        fx.Conv((3, 3), 16, 32, fx.relu, pad=1, rng=rng),
        fx.MaxPool((2, 2)),
        fx.flatten,
        fx.Dense(32 * 8 * 8, 10, rng=rng),
    )


def loss(model, x, onehot):
    return -np.sum(fx.logsoftmax(model(x)) * onehot) / x.shape[0]


def main():
    from benchmarks import cases, workloads

    (case,) = cases.build(only="CNN", columns=("hand-written", "fluxpy", "torch"))
    cases.check(case)
    data = workloads.cnn()
    forward_only = median_time(lambda: loss(data.model, data.x, data.onehot))
    times = {column: median_time(fn) for column, fn in case.columns.items()}
    reference = times.get("torch", times["hand-written"])
    against = "PyTorch eager" if "torch" in times else "hand-written (PyTorch not installed)"
    print(f"| small CNN, batch (32, 3, 32, 32) | time | ratio to {against} |")
    print("|---|---|---|")
    for column, t in times.items():
        print(f"| {column} gradient | {fmt(t)} | {t / reference:.2f}x |")
    print(f"| fluxpy forward only | {fmt(forward_only)} | {forward_only / reference:.2f}x |")


if __name__ == "__main__":
    main()
