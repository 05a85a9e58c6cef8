"""First-call latency: from a function fluxpy has never seen to its gradient, transform included.

fluxpy caches a transform by code object (fluxpy/transform/cache.py) and a parsed file by file name
(fluxpy/transform/source.py), so each measurement compiles benchmarks/portfolio.py's text afresh under a
new file name registered in ``linecache`` (where fluxpy looks for source, as for a file on disk): a new
module, a new code object, nothing cached. Making the function is not timed; ``fx.gradient`` is, from the
first look at the source to the gradient returned. Target: under 30 ms.
"""

import inspect
import linecache
import statistics
import time

import numpy as np

import fluxpy as fx
from benchmarks import portfolio

TARGET = 0.030
_fresh = 0  # a counter, so that every compiled copy has its own file name


def fresh_function():
    """A new copy of ``portfolio_objective``: its own module globals, code object and file name."""
    global _fresh
    _fresh += 1
    text = inspect.getsource(portfolio)
    filename = f"{portfolio.__file__[:-3]}_fresh_{_fresh}.py"
    lines = text.splitlines(keepends=True)
    linecache.cache[filename] = (len(text), None, lines, filename)  # mtime None: never checked on disk
    namespace = {"__name__": f"benchmarks.portfolio_fresh_{_fresh}"}
    exec(compile(text, filename, "exec"), namespace)
    return namespace["portfolio_objective"]


def first_gradient_time(args):
    """Seconds from a fresh function to its gradient."""
    f = fresh_function()
    start = time.perf_counter()
    fx.gradient(f, *args)
    return time.perf_counter() - start


def measure(budget, min_samples=5):
    """``(median first-call seconds, median cached-call seconds)``, after two discarded warm-up transforms
    (the first ones in a process also import and warm up fluxpy's own machinery)."""
    from benchmarks.timing import median_time

    args = portfolio.inputs()
    for _ in range(2):
        first_gradient_time(args)
    samples = []
    deadline = time.perf_counter() + budget
    while time.perf_counter() < deadline or len(samples) < min_samples:
        samples.append(first_gradient_time(args))
    f = fresh_function()
    cached = median_time(lambda: fx.gradient(f, *args), budget=budget / 4)
    return statistics.median(samples), cached


def check():
    """A fresh copy's gradient matches central finite differences (weights and returns)."""
    f = fresh_function()
    args = portfolio.inputs()
    grads = fx.gradient(f, *args)
    for i, (x, g) in enumerate(zip(args, grads, strict=True)):
        assert g.shape == x.shape and g.dtype == np.float64, f"gradient {i}: {g.shape} {g.dtype}"
        np.testing.assert_allclose(g, _central_differences(f, args, i), rtol=1e-5, atol=1e-8)


def _central_differences(f, args, i, eps=1e-6):
    out = np.zeros_like(args[i])
    for j in np.ndindex(out.shape):
        shifted = []
        for sign in (1, -1):
            x = args[i].copy()
            x[j] += sign * eps
            shifted.append(f(*args[:i], x, *args[i + 1 :]))
        out[j] = (shifted[0] - shifted[1]) / (2 * eps)
    return out
