"""The PyTorch eager column (CPU): each workload on tensors sharing the NumPy inputs' memory and dtype,
differentiated by ``torch.autograd.grad`` for the same arguments as the hand-written gradient. Importing this
module raises ImportError when PyTorch is not installed (the column is then skipped).
"""

import numpy as np
import torch
import torch.nn.functional as F

from benchmarks.fluxpy_impl import poly, scalar_loop  # plain arithmetic: runs on tensors as it is
from benchmarks.workloads import cnn_weights, dense_weights


def _leaves(*arrays):
    return tuple(torch.from_numpy(np.ascontiguousarray(a)).requires_grad_(True) for a in arrays)


def _scalar(x):
    return torch.tensor(x, dtype=torch.float64, requires_grad=True)


def make_poly_first(d):
    def run():
        x = _scalar(d.x)
        return torch.autograd.grad(poly(x), x)[0]

    return run


def make_poly_second(d):
    def run():
        x = _scalar(d.x)
        (dx,) = torch.autograd.grad(poly(x), x, create_graph=True)
        return torch.autograd.grad(dx, x)[0]

    return run


def make_sum_sq(d):
    def run():
        x, y = _leaves(d.x, d.y)
        return torch.autograd.grad(torch.sum((x - y) ** 2), (x, y))

    return run


def make_mlp(d):
    params = _leaves(*d.params)
    x, y = torch.from_numpy(d.x), torch.from_numpy(d.y)

    def run():
        W1, b1, W2, b2 = params
        h = torch.tanh(x @ W1 + b1)
        return torch.autograd.grad(torch.mean((h @ W2 + b2 - y) ** 2), params)

    return run


def make_digits_mlp(d):
    params = _leaves(*dense_weights(d.model))
    x, labels = torch.from_numpy(d.x), torch.from_numpy(d.onehot.argmax(axis=1))

    def run():
        W1, b1, W2, b2 = params
        out = F.linear(F.relu(F.linear(x, W1, b1)), W2, b2)
        return torch.autograd.grad(F.cross_entropy(out, labels), params)

    return run


def make_rnn(d):
    W, U = _leaves(d.W, d.U)
    xs, h0 = torch.from_numpy(d.xs), torch.from_numpy(d.h0)

    def run():
        h = h0
        for t in range(xs.shape[0]):
            h = torch.tanh(W @ h + U @ xs[t])
        return torch.autograd.grad(torch.sum(h**2), (W, U))

    return run


def make_scalar_loop(d):
    def run():
        x = _scalar(d.x)
        return torch.autograd.grad(scalar_loop(x), x)[0]

    return run


def make_cnn(d):
    """PyTorch's conv2d correlates: its leaves hold the flipped kernels, and their gradients are flipped back
    (a copy of a few thousand numbers) so that they compare with the other columns'."""
    w1, b1, w2, b2, wd, bd = cnn_weights(d.model)
    params = _leaves(w1[:, :, ::-1, ::-1], b1, w2[:, :, ::-1, ::-1], b2, wd, bd)
    x, labels = torch.from_numpy(d.x), torch.from_numpy(d.onehot.argmax(axis=1))

    def run():
        w1, b1, w2, b2, wd, bd = params
        h = F.max_pool2d(F.relu(F.conv2d(x, w1, b1, padding=1)), 2)
        h = F.max_pool2d(F.relu(F.conv2d(h, w2, b2, padding=1)), 2)
        out = F.linear(h.flatten(1), wd, bd)
        g = torch.autograd.grad(F.cross_entropy(out, labels), params)
        return (g[0].flip((2, 3)), g[1], g[2].flip((2, 3))) + g[3:]

    return run


def description():
    threads = torch.get_num_threads()
    return f"PyTorch {torch.__version__} ({threads} thread{'s' if threads > 1 else ''})"
