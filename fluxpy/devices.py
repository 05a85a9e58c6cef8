"""Moving models between devices and precisions: ``gpu``, ``cpu``, ``f32``, ``f64`` (arrays only).

>>> import numpy as np, fluxpy as fx
>>> fx.f32({"w": np.ones(2)})["w"].dtype
dtype('float32')
"""

import warnings

import numpy as np

from .backend import is_array
from .functors import fmap

_warned = []


def _cupy():
    try:
        import cupy

        if cupy.cuda.runtime.getDeviceCount() > 0:
            return cupy
    except Exception:  # noqa: BLE001  (no CuPy, no driver, no device: all mean "no GPU")
        return None
    return None


def gpu(x):
    """``x`` with its arrays moved to the GPU (CuPy); unchanged, with one warning, when there is none."""
    cp = _cupy()
    if cp is None:
        if not _warned:
            _warned.append(True)
            warnings.warn(
                "fx.gpu: no CuPy or no GPU available; the model stays on the CPU", UserWarning, stacklevel=2
            )
        return x
    return fmap(lambda v: cp.asarray(v) if isinstance(v, np.ndarray) else v, x)


def cpu(x):
    """``x`` with its arrays moved to the CPU (NumPy)."""
    return fmap(lambda v: v.get() if is_array(v) and not isinstance(v, np.ndarray) else v, x)


def _cast(real, complex_):
    def cast(v):
        if is_array(v) and v.dtype.kind == "f":
            return v.astype(real)
        if is_array(v) and v.dtype.kind == "c":
            return v.astype(complex_)
        return v

    return cast


def f32(x):
    """``x`` with its floating-point arrays as float32, and complex ones as complex64 (as Flux's ``f32``).

    >>> import numpy as np
    >>> m = f32({"w": np.ones(2), "z": np.ones(2, dtype=complex), "i": np.arange(2)})
    >>> m["w"].dtype, m["z"].dtype, m["i"].dtype
    (dtype('float32'), dtype('complex64'), dtype('int64'))
    """
    return fmap(_cast(np.float32, np.complex64), x)


def f64(x):
    """``x`` with its floating-point arrays as float64, and complex ones as complex128."""
    return fmap(_cast(np.float64, np.complex128), x)
