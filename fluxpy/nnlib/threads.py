"""Threads for the convolution and pooling kernels: a batch split into parts computed side by side.

NumPy runs one operation on one core (BLAS aside), but it lets go of Python's lock while it copies,
compares and multiplies arrays, so the kernels in :mod:`fluxpy.nnlib` split a large batch into one
contiguous part per thread and compute the parts at once, as PyTorch's intra-op threads do. The caller's
thread computes the first part; a pool of ``num_threads() - 1`` threads the others. Each part writes its
own rows of the result (a sum, as the weight gradient, adds the parts' sums in order), so the result does
not depend on which thread finishes first.

The number of threads is ``FLUXPY_NUM_THREADS`` when set, else the cores this process may run on (at most
8); :func:`set_num_threads` changes it (1: everything in the caller's thread). Small batches, a single
image and CuPy arrays (the GPU runs its own threads) are never split: :func:`parts` asks for at least
``MIN_PART_BYTES`` of work per part, less work than a thread's wake-up is worth.

>>> import numpy as np
>>> [s for s in parts(np, 10, 10 * MIN_PART_BYTES, threads=3)]
[slice(0, 4, None), slice(4, 7, None), slice(7, 10, None)]
>>> run(lambda s: sum(range(s.start, s.stop)), [slice(0, 5), slice(5, 10)])
[10, 35]
"""

import os
import threading
from concurrent.futures import ThreadPoolExecutor, wait

import numpy as np

# A part's work (bytes it reads or writes) below which splitting is slower than one thread: a part handed
# to a pool thread costs tens of microseconds before it starts
MIN_PART_BYTES = 1 << 18
MAX_DEFAULT_THREADS = 8

_lock = threading.Lock()
_state = {"threads": None, "pool": None, "pid": None}


def _default_threads():
    setting = os.environ.get("FLUXPY_NUM_THREADS")
    if setting:
        return max(1, int(setting))
    try:
        cores = len(os.sched_getaffinity(0))
    except AttributeError:  # not on Linux
        cores = os.cpu_count() or 1
    return max(1, min(cores, MAX_DEFAULT_THREADS))


def num_threads():
    """The number of threads the kernels split a batch across (1: no splitting)."""
    if _state["threads"] is None:
        _state["threads"] = _default_threads()
    return _state["threads"]


def set_num_threads(n):
    """Split the kernels' batches across ``n`` threads from now on (1: compute in the caller's thread)."""
    if int(n) < 1:
        raise ValueError(f"set_num_threads: n must be at least 1, not {n}")
    with _lock:
        _state["threads"] = int(n)
        pool, _state["pool"] = _state["pool"], None
    if pool is not None:
        pool.shutdown(wait=False)


def parts(xp, n, work_bytes, threads=None):
    """Consecutive slices of a batch of ``n`` items, one per thread, each with at least ``MIN_PART_BYTES``
    of the ``work_bytes`` in all (a single slice when splitting does not pay or ``xp`` is not NumPy)."""
    threads = num_threads() if threads is None else threads
    k = min(threads, n, int(work_bytes // MIN_PART_BYTES)) if xp is np else 1
    if k <= 1:
        return [slice(0, n)]
    size, extra = divmod(n, k)
    bounds = [0]
    for i in range(k):
        bounds.append(bounds[-1] + size + (i < extra))
    return [slice(a, b) for a, b in zip(bounds, bounds[1:], strict=False)]


def _pool():
    with _lock:
        if _state["pool"] is None or _state["pid"] != os.getpid():  # a forked child has no pool threads
            _state["pool"] = ThreadPoolExecutor(max(1, num_threads() - 1), thread_name_prefix="fluxpy-kernel")
            _state["pid"] = os.getpid()
        return _state["pool"]


def run(task, slices):
    """``[task(s) for s in slices]``, the first in this thread and the others at the same time in the
    pool's. Every part has finished when it returns or raises (a part's error is raised after all)."""
    if len(slices) == 1:
        return [task(slices[0])]
    futures = [_pool().submit(task, s) for s in slices[1:]]
    try:
        first = task(slices[0])
    finally:
        wait(futures)
    return [first] + [f.result() for f in futures]
