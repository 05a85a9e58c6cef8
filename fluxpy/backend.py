"""The array module of a value: NumPy, or CuPy for CuPy arrays. Rules never hard-code ``numpy``.

>>> import numpy as np
>>> xp_of(np.ones(2)) is np
True
"""

import numpy as np


def xp_of(*values):
    """Return the array module (``numpy`` or ``cupy``) of the first array-like among ``values``."""
    for v in values:
        module = type(v).__module__
        if module.startswith("cupy"):
            import cupy

            return cupy
    return np


def is_array(x):
    """True for NumPy and CuPy arrays (not Python numbers or NumPy scalars)."""
    return isinstance(x, np.ndarray) or type(x).__module__.startswith("cupy")


def to_numpy(x):
    """Host copy of an array (CuPy arrays are moved to the CPU)."""
    if type(x).__module__.startswith("cupy"):
        return x.get()
    return np.asarray(x)
