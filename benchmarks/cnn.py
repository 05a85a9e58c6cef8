"""A small CNN's forward + backward on a (32, 3, 32, 32) float32 batch: fluxpy next to PyTorch eager (CPU).

Run ``python benchmarks/cnn.py``. Both compute the same loss (softmax cross-entropy over 10 classes) with the
same weights; the gradients are compared before timing. PyTorch is optional: without it only fluxpy is timed.
The goal (issue 6) is within 2x of PyTorch eager on CPU.
"""

import sys
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import fluxpy as fx  # noqa: E402
from benchmarks.run import fmt, median_time  # noqa: E402


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


def _torch_step(model, x, onehot):
    try:
        import torch
        import torch.nn.functional as F
    except ImportError:
        return None, None
    torch.set_num_threads(max(1, torch.get_num_threads()))
    c1, c2, d = model[0], model[2], model[5]
    # fluxpy's Conv is a true convolution (Flux's): PyTorch's conv2d correlates, so flip the kernels
    w1 = torch.tensor(np.ascontiguousarray(c1.weight[:, :, ::-1, ::-1]), requires_grad=True)
    w2 = torch.tensor(np.ascontiguousarray(c2.weight[:, :, ::-1, ::-1]), requires_grad=True)
    b1, b2 = torch.tensor(c1.bias, requires_grad=True), torch.tensor(c2.bias, requires_grad=True)
    wd, bd = torch.tensor(d.weight, requires_grad=True), torch.tensor(d.bias, requires_grad=True)
    tx, ty = torch.from_numpy(x), torch.from_numpy(onehot)
    leaves = (w1, b1, w2, b2, wd, bd)

    def step():
        for t in leaves:
            t.grad = None
        h = F.max_pool2d(F.relu(F.conv2d(tx, w1, b1, padding=1)), 2)
        h = F.max_pool2d(F.relu(F.conv2d(h, w2, b2, padding=1)), 2)
        out = F.linear(h.flatten(1), wd, bd)
        value = -(F.log_softmax(out, dim=-1) * ty).sum() / tx.shape[0]
        value.backward()
        return value, wd.grad

    return step, torch


def main():
    rng = np.random.default_rng(0)
    model = make_model(rng)
    x = rng.standard_normal((32, 3, 32, 32)).astype(np.float32)
    onehot = np.eye(10, dtype=np.float32)[rng.integers(0, 10, 32)]

    value, (grad,) = fx.withgradient(lambda m: loss(m, x, onehot), model)
    ours = median_time(lambda: fx.gradient(lambda m: loss(m, x, onehot), model), budget=2.0)
    forward_only = median_time(lambda: loss(model, x, onehot), budget=1.0)
    print("| small CNN, batch (32, 3, 32, 32) | time | ratio to PyTorch |")
    print("|---|---|---|")
    step, torch = _torch_step(model, x, onehot)
    if step is None:
        print(f"| fluxpy gradient | {fmt(ours)} | PyTorch not installed |")
        print(f"| fluxpy forward only | {fmt(forward_only)} | |")
        return
    tvalue, twd = step()
    np.testing.assert_allclose(value, tvalue.item(), rtol=1e-4)
    np.testing.assert_allclose(grad.layers[5].weight, twd.numpy(), rtol=1e-3, atol=1e-5)
    theirs = median_time(step, budget=2.0)
    print(f"| fluxpy gradient | {fmt(ours)} | {ours / theirs:.2f}x |")
    peer = f"PyTorch eager CPU ({torch.__version__}, {torch.get_num_threads()} threads)"
    print(f"| {peer} | {fmt(theirs)} | 1.00x |")
    print(f"| fluxpy forward only | {fmt(forward_only)} | {forward_only / theirs:.2f}x |")


if __name__ == "__main__":
    main()
