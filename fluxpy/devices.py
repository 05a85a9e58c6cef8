"""Moving models between devices and precisions: ``gpu``, ``cpu``, ``f32``, ``f64`` (arrays only).

>>> import numpy as np, fluxpy as fx
>>> fx.f32({"w": np.ones(2)})["w"].dtype
dtype('float32')
"""

import warnings

import numpy as np

from .backend import is_array, xp_of
from .functors import fmap, leaves

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
    return _map_arrays(lambda v: cp.asarray(v) if isinstance(v, np.ndarray) else v, x)


def cpu(x):
    """``x`` with its arrays moved to the CPU (NumPy)."""
    return fmap(lambda v: v.get() if is_array(v) and not isinstance(v, np.ndarray) else v, x)


def _map_arrays(convert, x):
    """``fmap(convert, x)``, keeping weights tied through a view tied (``fx.Dense(enc.weight.T)``, as
    Functors.jl maps a ``transpose(W)``'s parent once): a NumPy array that views another array of ``x``
    becomes the same view of that array's converted copy."""
    from .optimise.ties import tie_owners

    owners = tie_owners([v for v in leaves(x) if isinstance(v, np.ndarray)])
    if not owners:
        return fmap(convert, x)
    done = {}

    def converted(v):
        out = done.get(id(v))
        if out is None:
            out = done[id(v)] = (v, convert(v))  # the original kept alive: its id stays unique
        return out[1]

    def keep_ties(v):
        owner = owners.get(id(v)) if isinstance(v, np.ndarray) else None
        if owner is None:
            return converted(v)
        tied = _same_view(v, owner, converted(owner))
        return converted(v) if tied is None else tied

    return fmap(keep_ties, x)


def _same_view(view, owner, new_owner):
    """``view`` of ``owner``, remade on ``new_owner`` (``owner`` converted: another dtype or device, the
    same layout); None when it cannot be (the view reinterprets the dtype, or the layout changed)."""
    if new_owner is owner:
        return view
    if view.dtype != owner.dtype or getattr(new_owner, "shape", None) != owner.shape:
        return None
    size, new_size = owner.itemsize, new_owner.dtype.itemsize
    if tuple(new_owner.strides) != tuple(st // size * new_size for st in owner.strides):
        return None
    offset = view.__array_interface__["data"][0] - owner.__array_interface__["data"][0]
    if offset % size or any(st % size for st in view.strides):
        return None
    xp = xp_of(new_owner)
    strided = getattr(getattr(getattr(xp, "lib", None), "stride_tricks", None), "as_strided", None)
    if strided is None:
        return None
    flat = xp.reshape(new_owner, -1, order="A")[offset // size :]
    return strided(flat, shape=view.shape, strides=tuple(st // size * new_size for st in view.strides))


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
    return _map_arrays(_cast(np.float32, np.complex64), x)


def f64(x):
    """``x`` with its floating-point arrays as float64, and complex ones as complex128."""
    return _map_arrays(_cast(np.float64, np.complex128), x)
