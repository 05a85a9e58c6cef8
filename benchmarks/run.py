"""Per-call gradient time: fluxpy next to the hand-written gradient and, when installed, peers.

Run ``python -m benchmarks`` (or ``python benchmarks/run.py``). Every column is checked against the
hand-written gradient before timing; the table shows medians and the ratio to hand-written.
Peers (HIPS autograd, PyTorch eager, JAX) are optional: missing ones are skipped.
"""

import platform
import statistics
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import fluxpy as fx  # noqa: E402


def poly(x):
    return 3 * x**2 + 2 * x + 1


def sum_sq(x, y):
    return np.sum((x - y) ** 2)


def rnn_loss(W, U, xs, h):
    for t in range(xs.shape[0]):
        h = np.tanh(W @ h + U @ xs[t])
    return np.sum(h**2)


def rnn_grad_by_hand(W, U, xs, h):
    hs = [h]
    for t in range(xs.shape[0]):
        h = np.tanh(W @ h + U @ xs[t])
        hs.append(h)
    dW, dU = np.zeros_like(W), np.zeros_like(U)
    dh = 2 * hs[-1]
    for t in reversed(range(xs.shape[0])):
        da = dh * (1 - hs[t + 1] ** 2)
        dW += np.outer(da, hs[t])
        dU += np.outer(da, xs[t])
        dh = W.T @ da
    return dW


def scalar_loop(x):
    for _ in range(100):
        x = x * 1.01 - 0.001 * x * x
    return x


def scalar_loop_by_hand(x):
    xs = []
    for _ in range(100):
        xs.append(x)
        x = x * 1.01 - 0.001 * x * x
    d = 1.0
    for v in reversed(xs):
        d = d * (1.01 - 0.002 * v)
    return d


def cases():
    rng = np.random.default_rng(0)
    x = rng.standard_normal(1000)
    y = rng.standard_normal(1000)
    out = {
        "3x²+2x+1 at a float": {
            "hand-written": lambda: 6 * 2.0 + 2,
            "fluxpy": lambda: fx.gradient(poly, 2.0)[0],
            "autograd": _autograd(lambda ag: ag.grad(lambda x: 3 * x**2 + 2 * x + 1), 2.0),
            "torch": _torch_scalar(),
        },
        "sum((x-y)²), 1000 elements": {
            "hand-written": lambda: 2 * (x - y),
            "fluxpy": lambda: fx.gradient(sum_sq, x, y)[0],
            "autograd": _autograd(lambda ag: ag.grad(lambda x: ag.numpy.sum((x - y) ** 2)), x),
            "torch": _torch_sumsq(x, y),
        },
        "50-step RNN loop (32 hidden)": {
            "hand-written": lambda: rnn_grad_by_hand(W, U, xs, h0),
            "fluxpy": lambda: fx.gradient(rnn_loss, W, U, xs, h0)[0],
            "autograd": _autograd(lambda ag: ag.grad(_ag_rnn(ag)), W),
            "torch": _torch_rnn(W, U, xs, h0),
        },
        "100-iteration scalar loop": {
            "hand-written": lambda: scalar_loop_by_hand(0.5),
            "fluxpy": lambda: fx.gradient(scalar_loop, 0.5)[0],
            "autograd": _autograd(lambda ag: ag.grad(scalar_loop), 0.5),
            "torch": _torch_scalar_loop(),
        },
    }
    return out


W = np.random.default_rng(1).standard_normal((32, 32)) * 0.2
U = np.random.default_rng(2).standard_normal((32, 16)) * 0.2
xs = np.random.default_rng(3).standard_normal((50, 16))
h0 = np.zeros(32)


def _ag_rnn(ag):
    anp = ag.numpy

    def loss(W):
        h = h0
        for t in range(xs.shape[0]):
            h = anp.tanh(anp.dot(W, h) + anp.dot(U, xs[t]))
        return anp.sum(h**2)

    return loss


def _torch_rnn(W, U, xs, h0):
    try:
        import torch
    except ImportError:
        return None
    tU, txs, th0 = torch.from_numpy(U), torch.from_numpy(xs), torch.from_numpy(h0)

    def run():
        tW = torch.from_numpy(W).requires_grad_(True)
        h = th0
        for t in range(txs.shape[0]):
            h = torch.tanh(tW @ h + tU @ txs[t])
        torch.sum(h**2).backward()
        return tW.grad.numpy()

    return run


def _torch_scalar_loop():
    try:
        import torch
    except ImportError:
        return None

    def run():
        x = torch.tensor(0.5, dtype=torch.float64, requires_grad=True)
        y = x
        for _ in range(100):
            y = y * 1.01 - 0.001 * y * y
        y.backward()
        return x.grad.item()

    return run


def _autograd(make, arg):
    try:
        import autograd
        import autograd.numpy  # noqa: F401
    except ImportError:
        return None
    g = make(autograd)
    return lambda: g(arg)


def _torch_scalar():
    try:
        import torch
    except ImportError:
        return None

    def run():
        x = torch.tensor(2.0, dtype=torch.float64, requires_grad=True)
        (3 * x**2 + 2 * x + 1).backward()
        return x.grad.item()

    return run


def _torch_sumsq(x, y):
    try:
        import torch
    except ImportError:
        return None
    ty = torch.from_numpy(y)

    def run():
        tx = torch.from_numpy(x).requires_grad_(True)
        torch.sum((tx - ty) ** 2).backward()
        return tx.grad.numpy()

    return run


def median_time(fn, budget=0.3):
    fn()
    fn()
    n = 1
    while True:
        start = time.perf_counter()
        for _ in range(n):
            fn()
        if time.perf_counter() - start > 0.02:
            break
        n *= 2
    samples = []
    deadline = time.perf_counter() + budget
    while time.perf_counter() < deadline or len(samples) < 5:
        start = time.perf_counter()
        for _ in range(n):
            fn()
        samples.append((time.perf_counter() - start) / n)
    return statistics.median(samples)


def fmt(seconds):
    return f"{seconds * 1e6:.2f} µs" if seconds < 1e-3 else f"{seconds * 1e3:.2f} ms"


def mlp_loss(w1, w2, x, y):
    h = np.tanh(x @ w1)
    return np.mean((h @ w2 - y) ** 2)


def second_order_table():
    """Second derivatives next to first-order cost (issue 4's goal: at most 4x)."""
    rng = np.random.default_rng(0)
    w1, w2 = rng.standard_normal((10, 16)) * 0.3, rng.standard_normal((16, 1)) * 0.3
    x, y = rng.standard_normal((32, 10)), rng.standard_normal((32, 1))
    v = rng.standard_normal(w1.shape)
    d2 = lambda: fx.gradient(lambda t: fx.gradient(poly, t)[0], 2.0)[0]  # noqa: E731
    rows = [
        ("3x²+2x+1: first derivative", lambda: fx.gradient(poly, 2.0)[0]),
        ("3x²+2x+1: second derivative", d2),
        ("MLP loss: gradient", lambda: fx.gradient(mlp_loss, w1, w2, x, y)[0]),
        (
            "MLP loss: Hessian-vector product (forward over reverse)",
            lambda: fx.hvp(lambda w: mlp_loss(w, w2, x, y), w1, v),
        ),
    ]
    assert d2() == 6.0
    print("\n| second order | time | ratio to first order |")
    print("|---|---|---|")
    first = None
    for i, (name, fn) in enumerate(rows):
        t = median_time(fn)
        if i % 2 == 0:
            first = t
            print(f"| {name} | {fmt(t)} | 1.0x |")
        else:
            print(f"| {name} | {fmt(t)} | {t / first:.1f}x |")


def main():
    table = cases()
    columns = ["hand-written", "fluxpy", "autograd", "torch"]
    print(
        f"Machine: {platform.processor() or platform.machine()}, Python {platform.python_version()}, "
        f"NumPy {np.__version__}\n"
    )
    print("| case | " + " | ".join(columns) + " | fluxpy / hand-written |")
    print("|---|" + "---|" * (len(columns) + 1))
    for name, impls in table.items():
        reference = impls["hand-written"]()
        times = {}
        for col in columns:
            fn = impls.get(col)
            if fn is None:
                continue
            np.testing.assert_allclose(
                np.asarray(fn(), dtype=float),
                np.asarray(reference, dtype=float),
                rtol=1e-6,
                err_msg=f"{name}: {col} disagrees",
            )
            times[col] = median_time(fn)
        cells = [fmt(times[c]) if c in times else "—" for c in columns]
        ratio = times["fluxpy"] / times["hand-written"]
        print(f"| {name} | " + " | ".join(cells) + f" | {ratio:.1f}x |")
    second_order_table()


if __name__ == "__main__":
    main()
