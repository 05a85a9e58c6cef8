"""Second derivatives next to the first: the polynomial's second derivative (a gradient of a gradient) and the
MLP's Hessian-vector product (``fx.hvp``, forward over reverse) against its gradient. Target: at most 4x.
"""

from types import SimpleNamespace

import numpy as np

import fluxpy as fx
from benchmarks import handwritten, workloads
from benchmarks.cases import WORKLOADS
from benchmarks.fluxpy_impl import mlp_loss, poly, poly_derivative

TARGET = 4.0


def mlp_hvp_inputs():
    """The MLP workload, a direction ``v`` per parameter, and the loss as a function of the parameters."""
    d = workloads.mlp()
    rng = np.random.default_rng(7)
    v = tuple(rng.standard_normal(p.shape).astype(p.dtype) for p in d.params)
    return SimpleNamespace(d=d, v=v, loss=lambda params: mlp_loss(params, d.x, d.y))


def rows():
    """``(name, first-order callable, second-order callable, main)``, checked by ``check``; ``main`` names
    the main table's rows timing the same two calls (their times are reused), or is None."""
    x = workloads.poly().x
    m = mlp_hvp_inputs()
    return [
        (
            "3x²+2x+1 at a float: second vs first derivative",
            lambda: fx.gradient(poly, x)[0],
            lambda: fx.gradient(poly_derivative, x)[0],
            (WORKLOADS[0][0], WORKLOADS[1][0]),
        ),
        (
            "MLP 784→128→10 float32: Hessian-vector product (fx.hvp) vs gradient",
            lambda: fx.gradient(m.loss, m.d.params)[0],
            lambda: fx.hvp(m.loss, m.d.params, m.v),
            None,
        ),
    ]


def check():
    """The second derivatives agree with hand-written ones: 6 for the polynomial; for the MLP, central
    differences of the hand-written gradient along ``v``, in float64."""
    x = workloads.poly().x
    assert fx.gradient(poly_derivative, x)[0] == handwritten.poly_second(x)
    m = mlp_hvp_inputs()
    hvp = fx.hvp(m.loss, m.d.params, m.v)
    eps, f64 = 1e-4, lambda xs: tuple(np.asarray(a, np.float64) for a in xs)
    params, v, x, y = f64(m.d.params), f64(m.v), *f64((m.d.x, m.d.y))
    plus = handwritten.mlp(tuple(p + eps * t for p, t in zip(params, v, strict=True)), x, y)
    minus = handwritten.mlp(tuple(p - eps * t for p, t in zip(params, v, strict=True)), x, y)
    for i, (h, a, b) in enumerate(zip(hvp, plus, minus, strict=True)):
        assert h.dtype == np.float32, f"hvp entry {i} has dtype {h.dtype}"
        central = (a - b) / (2 * eps)
        np.testing.assert_allclose(h, central, rtol=1e-3, atol=1e-4 * np.abs(central).max())
