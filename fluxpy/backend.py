"""The array module of a value: NumPy, or CuPy for CuPy arrays. Rules never hard-code ``numpy``.

>>> import numpy as np
>>> xp_of(np.ones(2)) is np
True
"""

import numpy as np

_device_types = {}  # type -> True for CuPy's ndarray (and subclasses), False for anything else


def _is_device_array_type(t):
    """True for ``cupy.ndarray`` and its subclasses: not for CuPy's ufuncs, generators or devices, whose
    types live in ``cupy`` modules too."""
    known = _device_types.get(t)
    if known is None:
        known = _device_types[t] = t.__module__.startswith("cupy") and any(
            c.__name__ in ("ndarray", "_ndarray_base") for c in t.__mro__
        )
    return known


def xp_of(*values):
    """The array module of ``values``: ``cupy`` when one of them is a CuPy array, else ``numpy``."""
    for v in values:
        if _is_device_array_type(type(v)):
            import cupy

            return cupy
    return np


def is_array(x):
    """True for NumPy and CuPy arrays (not Python numbers, NumPy scalars, or CuPy's ufuncs)."""
    return isinstance(x, np.ndarray) or _is_device_array_type(type(x))


def to_numpy(x):
    """Host copy of an array (CuPy arrays are moved to the CPU)."""
    if _is_device_array_type(type(x)):
        return x.get()
    return np.asarray(x)
