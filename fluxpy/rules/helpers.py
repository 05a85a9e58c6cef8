"""Small differentiable helpers that rules share: unbroadcasting, complex conjugates, casts, shapes, safe
scalars.

Each helper used inside a pullback has its own rule, so pullbacks stay differentiable.

>>> import numpy as np
>>> unbroadcast(np.ones((2, 3)), np.ones(3))
array([2., 2., 2.])
>>> float(unbroadcast(np.ones((2, 3)), 1.0))
6.0
>>> x = np.ones(2)
>>> conj(x) is x, conj(1 + 2j)
(True, (1-2j))
"""

import numpy as np

from ..backend import is_array, xp_of
from .registry import adjoint, nograd

nograd(xp_of, is_array)


@nograd
def shape_of(x):
    """Shape of an array or ``()`` for a number."""
    return getattr(x, "shape", ())


@nograd
def _sum_axes(gshape, shape):
    extra = len(gshape) - len(shape)
    lead = tuple(range(extra))
    ones = tuple(i + extra for i, n in enumerate(shape) if n == 1 and gshape[i + extra] != 1)
    return lead + ones


def unbroadcast(g, x):
    """Sum the cotangent ``g`` down to the shape of ``x`` (undoing broadcasting); numbers give a float."""
    gshape = getattr(g, "shape", ())
    shape = getattr(x, "shape", ())
    if gshape == shape:
        if shape == () and not hasattr(x, "shape") and hasattr(g, "shape"):
            return g[()] if hasattr(g, "ndim") and g.ndim == 0 else g
        return g
    axes = _sum_axes(gshape, shape)
    if type(g) is np.ndarray:
        out = g.sum(axis=axes, keepdims=True)  # the method: no dispatch through np.sum's wrapper
    else:
        out = xp_of(g).sum(g, axis=axes, keepdims=True)
    if len(gshape) != len(shape):
        out = out.reshape(shape)
    if shape == () and not hasattr(x, "shape"):
        return out[()]
    return out


@adjoint(unbroadcast)
def unbroadcast_rule(g, x):
    def unbroadcast_pullback(dd):
        xp = xp_of(g)
        return (xp.broadcast_to(dd, shape_of(g)), None)

    return unbroadcast(g, x), unbroadcast_pullback


def conj(x):
    """``x``'s complex conjugate when ``x`` is complex (a Python complex, a complex NumPy or CuPy array or
    scalar), else ``x`` itself, not copied.

    Complex values follow ChainRules' convention: the cotangent of ``z = a + ib`` is ``dL/da + i dL/db``.
    So the pullback of a holomorphic ``f`` multiplies the cotangent by ``conj(f'(z))`` (``dy * conj(b)``
    for ``a * b``, ``dy @ conj(b).T`` for ``a @ b``); for real values that is ``f'(z)``, and this costs a
    type test."""
    t = type(x)
    if t is float or t is int:
        return x
    if t is complex:
        return x.conjugate()
    dtype = getattr(x, "dtype", None)
    if dtype is not None and dtype.kind == "c":
        return x.conjugate()
    return x


@adjoint(conj)
def conj_rule(x):
    def conj_pullback(dy):
        return (conj(dy),)

    return conj(x), conj_pullback


@nograd
def is_real(a):
    """Whether ``a`` (an array or a number) is not complex."""
    dtype = getattr(a, "dtype", None)
    if dtype is None:
        dtype = np.asarray(a).dtype
    return dtype.kind != "c"


@nograd
def is_inexact(x):
    """True for float and complex numbers and arrays: those carry gradients (and a ufunc's ``dtype=``
    casts them)."""
    if isinstance(x, (float, complex)):
        return True
    dtype = getattr(x, "dtype", None)
    return dtype is not None and dtype.kind in "fc"


@nograd
def _cotangent_dtype(g, x):
    """The dtype ``x``'s cotangent ``g`` is cast back to: ``x``'s float or complex dtype (complex for a
    complex ``g``: a real ``x``'s cotangent keeps its imaginary part until the end); None for no cast."""
    dtype = getattr(x, "dtype", None)
    gdtype = getattr(g, "dtype", None)
    if dtype is None or gdtype is None or dtype.kind not in "fc":
        return None
    if gdtype.kind == "c" and dtype.kind == "f":
        dtype = np.result_type(dtype, np.complex64)
    return None if dtype == gdtype else dtype


def cast(x, dtype):
    """``x`` as ``dtype`` (an array stays an array, a number becomes a NumPy scalar): what a ufunc's
    ``dtype=`` keyword does to its inputs. The cotangent is cast back to ``x``'s dtype."""
    y = xp_of(x).asarray(x, dtype=dtype)
    return y if is_array(x) else y[()]


@adjoint(cast)
def cast_rule(x, dtype):
    def cast_pullback(dy):
        return (cast_back(dy, x), None)

    return cast(x, dtype), cast_pullback


def cast_back(g, x):
    """The cotangent ``g`` in the dtype of ``x`` (a float or complex array or NumPy scalar); else ``g``."""
    dtype = _cotangent_dtype(g, x)
    if g is None or dtype is None:
        return g
    return cast(g, dtype) if is_array(g) else dtype.type(g)


@adjoint(cast_back)
def cast_back_rule(g, x):
    def cast_back_pullback(dd):
        return (cast_back(dd, g), None)

    return cast_back(g, x), cast_back_pullback


def in_dtype(primal, rule, dtype, *args):
    """``(y, pullback)`` of ``primal(*args, dtype=dtype)``, a ufunc given a ``dtype=`` keyword: the value is
    NumPy's; the pullback is ``rule``'s at the float and complex inputs cast to ``dtype``, each cotangent
    cast back to its input's dtype. An integer or boolean ``dtype`` gives no gradient."""
    y = primal(*args, dtype=dtype)
    if not _inexact_kind(dtype):
        return y, _no_grads(len(args))
    cast_args = ()
    for a in args:
        cast_args = cast_args + ((cast(a, dtype) if is_inexact(a) else a),)
    _, back = rule(*cast_args)

    def in_dtype_pullback(dy):
        grads = ()
        for g, a in zip(back(dy), args, strict=False):
            grads = grads + (cast_back(g, a),)
        return grads

    return y, in_dtype_pullback


@nograd
def _inexact_kind(dtype):
    return np.dtype(dtype).kind in "fc"


@nograd
def _no_grads(n):
    def no_grads_pullback(dy):
        return (None,) * n

    return no_grads_pullback


@nograd
def is_number(x):
    """True for Python and NumPy real scalars (not arrays)."""
    return isinstance(x, (int, float, np.integer, np.floating)) and not isinstance(x, (bool, np.bool_))


@nograd
def is_python_scalar(*xs):
    """True when every value is a Python ``float`` or ``int`` (fast path with ``math``)."""
    for x in xs:
        t = type(x)
        if t is not float and t is not int:
            return False
    return True
