"""Timing and memory measurement: medians of batched calls after warm-up, and tracemalloc peaks."""

import gc
import os
import statistics
import time
import tracemalloc

DEFAULT_BUDGET = 2.0  # seconds of sampling per timed cell; --quick uses QUICK_BUDGET
QUICK_BUDGET = 0.03


def median_time(fn, budget=DEFAULT_BUDGET, min_samples=5):
    """The median seconds per call of ``fn()``: two warm-up calls, then batches of ``n`` calls (``n``
    doubled until a batch takes 20 ms, so timer resolution does not matter) sampled for ``budget`` seconds.
    """
    fn()
    fn()
    n, batch = 1, min(0.02, budget / min_samples)
    while True:
        start = time.perf_counter()
        for _ in range(n):
            fn()
        if time.perf_counter() - start > batch:
            break
        n *= 2
    samples = []
    deadline = time.perf_counter() + budget
    while time.perf_counter() < deadline or len(samples) < min_samples:
        start = time.perf_counter()
        for _ in range(n):
            fn()
        samples.append((time.perf_counter() - start) / n)
    return statistics.median(samples)


def peak_memory(fn, repeats=3):
    """Peak bytes traced by tracemalloc during ``fn()`` (NumPy reports its buffers to tracemalloc), counting
    only what the call allocates: its inputs already exist, its result is still alive at the peak. The
    smallest of ``repeats`` runs, after one untraced warm-up call.
    """
    fn()
    peaks = []
    for _ in range(repeats):
        gc.collect()
        tracemalloc.start()
        try:
            result = fn()
            peaks.append(tracemalloc.get_traced_memory()[1])
        finally:
            tracemalloc.stop()
        del result
    return min(peaks)


def fmt(seconds):
    """A duration for a table cell: µs below a millisecond, ms below ten seconds."""
    if seconds < 1e-3:
        return f"{seconds * 1e6:.2f} µs"
    return f"{seconds * 1e3:.2f} ms"


def fmt_bytes(n):
    return f"{n / 1024:.0f} KiB" if n < 1024**2 else f"{n / 1024**2:.2f} MiB"


def single_thread():
    """Limit NumPy's BLAS, PyTorch and XLA to one thread each: steadier figures on a busy machine, and every
    column on equal terms. Call before the JAX column is first built (XLA reads its flags once)."""
    os.environ["XLA_FLAGS"] = os.environ.get("XLA_FLAGS", "") + " --xla_cpu_multi_thread_eigen=false"
    try:
        from threadpoolctl import threadpool_limits
    except ImportError:
        os.environ["OPENBLAS_NUM_THREADS"] = "1"  # works only if NumPy is not imported yet
    else:
        threadpool_limits(1)
    try:
        import torch
    except ImportError:
        return
    torch.set_num_threads(1)
