"""Reused memory for the convolution and pooling kernels' large arrays (NumPy arrays only).

A CNN step makes the same large arrays every time: each layer's output, the im2col columns, the pullbacks'
masks and input gradients (about 12 MB on the benchmark CNN). Made afresh, each costs a page fault per
4 KiB whenever the C allocator has handed the memory back to the system in between, which glibc does when
the top of its heap is freed: on the benchmark CNN about 1,200 faults and 3 ms of system time a step, a
quarter of the step. CuPy keeps a pool of device memory for the same reason; this is its small CPU
counterpart for the kernels in :mod:`fluxpy.nnlib`.

An array is handed out again only when nothing but the pool refers to it: every view of an array refers to
it (its ``base``), so a layer's output that a user, a pullback or a view still holds is never reused. The
pool keeps at most ``PER_SHAPE`` arrays of one shape and dtype and ``LIMIT_BYTES`` in all (the shapes used
least recently go first); a request beyond that gets a fresh array. Arrays under ``MIN_BYTES`` come from the
allocator (it reuses small blocks well), and so do CuPy arrays (CuPy has its own pool).

>>> import numpy as np
>>> a = empty(np, (512, 512), np.float32)
>>> address = a.ctypes.data
>>> del a                                  # nothing refers to it now: it is handed out again
>>> empty(np, (512, 512), np.float32).ctypes.data == address
True
>>> kept = empty(np, (512, 512), np.float32)
>>> empty(np, (512, 512), np.float32) is kept  # still held: another array
False
"""

import math
import sys
import threading
from collections import OrderedDict

import numpy as np

MIN_BYTES = 1 << 16
PER_SHAPE = 8
LIMIT_BYTES = 128 << 20

_lock = threading.Lock()
_slots = OrderedDict()  # (shape, dtype) -> list of arrays, the shape used most recently last
_held = [0]  # bytes held by the pool


def _refcounts(arrays):
    return [sys.getrefcount(a) for a in arrays]


# The count of an array that only the pool's list refers to, as _refcounts sees it (measured rather than
# assumed: the interpreter's own references differ between Python versions)
_FREE = _refcounts([np.empty(1)])[0]

# Free-threaded Python counts references per thread: a count is no proof that an array is free
_ENABLED = getattr(sys, "_is_gil_enabled", lambda: True)()


def empty(xp, shape, dtype):
    """An uninitialised array of ``shape`` and ``dtype`` of module ``xp``: from the pool when it holds a
    free one, else a new one (kept by the pool when there is room)."""
    dtype = np.dtype(dtype)
    nbytes = dtype.itemsize * math.prod(shape)
    if xp is not np or nbytes < MIN_BYTES or not _ENABLED:
        return xp.empty(shape, dtype=dtype)
    shape = tuple(int(n) for n in shape)
    key = (shape, dtype)
    with _lock:
        arrays = _slots.get(key)
        if arrays is not None:
            _slots.move_to_end(key)
            for array, count in zip(arrays, _refcounts(arrays), strict=True):
                if count == _FREE:
                    return array
        array = np.empty(shape, dtype=dtype)
        if arrays is None:
            arrays = _slots[key] = []
        if len(arrays) < PER_SHAPE and nbytes <= LIMIT_BYTES:
            _make_room(nbytes, key)
            arrays.append(array)
            _held[0] += nbytes
        return array


def zeros(xp, shape, dtype):
    """:func:`empty` filled with zeros."""
    array = empty(xp, shape, dtype)
    array.fill(0)
    return array


def _make_room(nbytes, keep):
    """Drop the least recently used shapes (never ``keep``) until ``nbytes`` more fit ``LIMIT_BYTES``."""
    for key in list(_slots):
        if _held[0] + nbytes <= LIMIT_BYTES:
            return
        if key != keep:
            arrays = _slots.pop(key)
            _held[0] -= sum(a.nbytes for a in arrays)


def clear():
    """Let go of every pooled array (the memory returns to the allocator as the last reference goes)."""
    with _lock:
        _slots.clear()
        _held[0] = 0
