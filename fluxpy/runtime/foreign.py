"""Callees run as they are: non-differentiable ones (``nondiff_forward``) and those with no rule and no
source (``foreign_forward``: fine until a gradient has to go through it, then NoAdjointError), and the
value tests that decide whether a gradient can reach one (``_carries_float``).
"""

import collections
from types import BuiltinFunctionType, FunctionType, MethodWrapperType

import numpy as np

from ..backend import is_array
from ..rules import registry
from ..tangents import is_differentiable
from .locations import raise_no_adjoint, user_location

_none_pullbacks = {}


def none_pullback(n):
    """A pullback returning ``n`` Nones."""
    pb = _none_pullbacks.get(n)
    if pb is None:
        nones = (None,) * n

        def nondiff_pullback(dy):
            return nones

        pb = _none_pullbacks.setdefault(n, nondiff_pullback)
    return pb


def nondiff_forward(f, /, *args, **kwargs):
    """Forward of a non-differentiable callee: its result carries no gradient."""
    if (kwargs and kwargs.get("out") is not None) or (type(f) is np.ufunc and len(args) > f.nin):
        check_float_out(f, args, kwargs)
    return f(*args, **kwargs), none_pullback(len(args) + 1)


def check_float_out(f, args, kwargs):
    """A non-differentiable function writing into a float output array inside an expression
    (``np.floor(x, out=y) + 1``; as a statement the fence rewrites it, transform/out_writes.py): the array
    would hold new values with its old gradient, so it is refused as other ``out=`` writes are. Integer and
    boolean outputs (``np.logical_not(m, out=m)``) carry no gradient and run."""
    positional = kwargs.get("out") is None
    out = args[f.nin] if positional else kwargs["out"]
    for array in out if type(out) is tuple else (out,):
        if is_array(array) and array.dtype.kind in "fc":
            from .writes import check_no_out  # (writes imports this module's neighbours)

            check_no_out(f, positional=positional)


def foreign_forward(f, /, *args, **kwargs):
    """Forward of a callee with no rule and no source: fine until a gradient has to go through it."""
    y = f(*args, **kwargs)
    if (
        not any(is_differentiable(a) for a in args)
        and not any(is_differentiable(v) for v in kwargs.values())
        and not _reads_differentiable(f)
        and not _receiver_carries_float(f)
    ):
        return y, none_pullback(len(args) + 1)
    where = user_location()

    def no_adjoint_pullback(dy):
        raise_no_adjoint(f, where)

    return y, no_adjoint_pullback


def _receiver_carries_float(f):
    """Whether ``f`` is a builtin method bound to a value carrying floats (``x.hex``, ``z.__reduce__`` of a
    Python number; a method of an array, a list, a dict or a tuple): its result may depend on them."""
    t = type(f)
    if t is not BuiltinFunctionType and t is not MethodWrapperType:
        return False
    owner = f.__self__
    kind = type(owner)
    if kind is float or kind is complex:
        return True
    if _is_array_like(owner) or isinstance(owner, (list, dict, tuple)):  # OrderedDict's C methods too
        return _carries_float(owner)
    return False


def _reads_differentiable(f):
    """Whether a Python function with no source captures or reads a differentiable global value (a gradient
    could flow to it, as ``fx.params`` asks): then it must not pass for a constant."""
    if type(f) is not FunctionType:
        return False
    for cell in f.__closure__ or ():
        try:
            if is_differentiable(cell.cell_contents):
                return True
        except ValueError:  # an empty cell
            continue
    names = f.__code__.co_names
    return any(is_differentiable(f.__globals__.get(name)) for name in names)


def _carries_float(x):
    t = type(x)
    if t is int or t is bool or t is str or x is None:
        return False
    if is_array(x) or isinstance(x, np.generic):
        return x.dtype.kind in "fc"
    if t is tuple or t is list or t is collections.deque:
        return any(_carries_float(v) for v in x)
    if t is dict:
        return any(_carries_float(v) for v in x.values())
    return is_differentiable(x)


def _is_array_like(x):
    """NumPy arrays and scalars, CuPy arrays (not ufuncs, dtypes or other NumPy objects)."""
    return isinstance(x, (np.ndarray, np.generic)) or (
        type(x).__module__.startswith("cupy") and hasattr(x, "shape")
    )


def _hashable_in(f, collection):
    try:
        return f in collection
    except TypeError:
        return False


registry.nograd(check_float_out, _hashable_in, _carries_float, _receiver_carries_float, none_pullback)
