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

import inspect
import operator
import sys
from types import FunctionType

import numpy as np

from ..backend import is_array, xp_of
from .forward_core import _forward_mode
from .registry import adjoint, forward_rule, nograd

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
def carries_values(y):
    """True when a cast's or a constructor's result ``y`` holds its input's values: a float or complex dtype,
    or ``object`` (the Python numbers themselves, as ``np.vectorize`` makes them). An integer or boolean
    result (``x.astype(int)``, ``np.asarray(x, dtype=bool)``) is piecewise constant: no gradient."""
    return is_inexact(y) or getattr(getattr(y, "dtype", None), "kind", None) == "O"


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


_ARITHMETIC_DUNDERS = frozenset(
    "__add__ __radd__ __sub__ __rsub__ __mul__ __rmul__ __truediv__ __rtruediv__ __floordiv__ __rfloordiv__ "
    "__mod__ __rmod__ __pow__ __rpow__ __matmul__ __rmatmul__ __neg__ __pos__ __abs__".split()
)
_custom_arithmetic_types = {}  # number subclass -> whether Python code of it overrides an operator


@nograd
def custom_arithmetic(x):
    """Whether ``x`` is a number of a Python subclass of int, float or complex that overrides an operator
    (``class MyFloat(float): def __mul__(...)``): the arithmetic rules then run its Python methods, as
    Python does, rather than computing as with a float."""
    t = type(x)
    known = _custom_arithmetic_types.get(t)
    if known is None:
        known = _custom_arithmetic_types[t] = any(
            type(vars(k).get(name)) is FunctionType for k in t.__mro__ for name in _ARITHMETIC_DUNDERS
        )
    return known


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


# ---------------------------------------------------------------------------------------------------------
# arrays read from lists and tuples, and back: NumPy reads a nested list or tuple as an array (``np.trace(
# [[a, b], [c, d]])``), and splatting an array (``f(*x)``, ``[*x]``) reads it as a tuple of its items


def stacked(items, like):
    """The nested list or tuple ``items`` (cotangents or tangents of ``like``'s items; None is a zero) as one
    array of the array ``like``'s shape: the cotangent of an array splatted (``f(*x)``) from those of its
    items, the tangent of a list NumPy reads as an array from its items'. None when ``items`` is.

    >>> stacked((None, 2.0, None), np.zeros(3))
    array([0., 2., 0.])
    """
    if items is None:
        return None
    xp = xp_of(like)
    dtype = like.dtype if like.dtype.kind in "fc" else np.dtype(float)
    return _stack(items, like.shape, xp, dtype)


@nograd
def _stack(t, shape, xp, dtype):
    if t is None:
        return xp.zeros(shape, dtype=dtype)
    if type(t) is list or type(t) is tuple:
        if not t:
            return xp.zeros(shape, dtype=dtype)
        out = xp.stack([_stack(v, shape[1:], xp, dtype) for v in t])
    else:
        out = xp.broadcast_to(xp.asarray(t), shape)  # a tangent may be anything broadcasting to the item
    if out.dtype.kind == "c" and dtype.kind == "f":  # a real array's complex cotangent stays complex
        dtype = np.result_type(dtype, np.complex64)
    return out if out.dtype == dtype else out.astype(dtype)


def unstacked(g, like):
    """The array ``g`` as nested lists and tuples with the structure of ``like`` (items that are None get
    None): the cotangent of a list or tuple that NumPy read as an array, from that array's cotangent; the
    inverse of :func:`stacked`.

    >>> unstacked(np.array([[1.0, 2.0], [3.0, 4.0]]), [(0.5, None), (0.5, 0.5)])
    [(np.float64(1.0), None), (np.float64(3.0), np.float64(4.0))]
    """
    if like is None:
        return None
    if g is None or not (type(like) is list or type(like) is tuple):
        return g
    if not is_array(g) or g.ndim == 0:  # a tangent broadcasting to the array: one per item
        g = xp_of(g).broadcast_to(g, (len(like),) + tuple(getattr(g, "shape", ())))
    items = [unstacked(g[i], like[i]) for i in range(len(like))]
    return items if type(like) is list else tuple(items)


@adjoint(stacked)
def stacked_rule(items, like):
    def stacked_pullback(dy):
        return (unstacked(dy, items), None)

    return stacked(items, like), stacked_pullback


@adjoint(unstacked)
def unstacked_rule(g, like):
    def unstacked_pullback(dd):
        return (None if g is None else stacked(dd, g), None)

    return unstacked(g, like), unstacked_pullback


@forward_rule(stacked)
def stacked_jvp(args, targs):
    """Linear in ``items``: the tangent is the same map of theirs."""
    return stacked(*args), stacked(targs[0], args[1])


@forward_rule(unstacked)
def unstacked_jvp(args, targs):
    return unstacked(*args), unstacked(targs[0], args[1])


@nograd
def _sequence_shape(a):
    """``(shape, inexact)`` of ``a`` read as an array: a number, a numeric array, or a nested list or tuple of
    them that NumPy reads as one numeric array (items of one shape); ``inexact`` when one of them is a float
    or complex. None for anything else (strings, objects, ragged or empty sequences)."""
    t = type(a)
    if t is list or t is tuple:
        if not a:
            return None
        first = _sequence_shape(a[0])
        if first is None:
            return None
        inexact = first[1]
        for v in a[1:]:
            s = _sequence_shape(v)
            if s is None or s[0] != first[0]:
                return None
            inexact = inexact or s[1]
        return (len(a),) + first[0], inexact
    if t is float or t is complex:
        return (), True
    if t is int or t is bool:
        return (), False
    dtype = getattr(a, "dtype", None)
    if dtype is None or dtype.kind not in "biufc":
        return None
    return tuple(a.shape), dtype.kind in "fc"


@nograd
def _array_flags(args, named):
    """Which of ``args`` a NumPy rule reads as arrays from lists and tuples: those in a parameter ``named``
    holds True for (an array parameter), and any other holding a float (a float is never a shape, an axis
    or an index); None when none is."""
    flags = None
    for i in range(len(args)):
        a = args[i]
        if type(a) is list or type(a) is tuple:
            read = _sequence_shape(a)
            if read is not None and (read[1] or (i < len(named) and named[i])):
                if flags is None:
                    flags = [False] * len(args)
                flags[i] = True
    return None if flags is None else tuple(flags)


def array_of(a, xp=np):
    """``xp.asarray(a)`` for a nested list or tuple ``a`` of numbers and arrays (``xp``: NumPy, or CuPy where
    the call has CuPy arrays); its cotangent has ``a``'s structure (:func:`unstacked`)."""
    if xp is np:
        return np.asarray(a)
    return xp.stack([array_of(v, xp) if type(v) is list or type(v) is tuple else xp.asarray(v) for v in a])


@nograd
def _sequence_xp(a):
    """CuPy when a CuPy array is among ``a``'s items, at any depth; else NumPy."""
    if type(a) is list or type(a) is tuple:
        for v in a:
            xp = _sequence_xp(v)
            if xp is not np:
                return xp
        return np
    return xp_of(a)


@adjoint(array_of)
def array_of_rule(a, xp=np):
    def array_of_pullback(dy):
        return (unstacked(dy, a), None)

    return array_of(a, xp), array_of_pullback


@forward_rule(array_of)
def array_of_jvp(args, targs):
    y = array_of(*args)
    return y, stacked(targs[0], y)


def array_args(args, flags):
    """``args`` with those ``flags`` marks (see :func:`_array_flags`) read as arrays: CuPy's where one of
    ``args`` holds a CuPy array (as the NumPy function called dispatches to CuPy's)."""
    xp = _sequence_xp(args)
    out = ()
    for i in range(len(args)):
        out = out + ((array_of(args[i], xp) if flags[i] else args[i]),)
    return out


def array_tangents(targs, arrays, flags):
    """The tangents of :func:`array_args`' arrays from those of the lists and tuples they were read from."""
    out = ()
    for i in range(len(targs)):
        out = out + ((stacked(targs[i], arrays[i]) if i < len(flags) and flags[i] else targs[i]),)
    return out


def sequence_grads(g, args, flags):
    """A pullback's result for :func:`array_args`' arrays as the cotangents of the lists and tuples they
    were read from (the same nesting: a list's gradient is a list)."""
    out = ()
    for i in range(len(g)):
        out = out + ((unstacked(g[i], args[i]) if i < len(flags) and flags[i] else g[i]),)
    return out


# ---------------------------------------------------------------------------------------------------------
# NumPy's rules take what NumPy takes: lists and tuples where it reads arrays

# positional parameters that NumPy reads as arrays, by the names the rules give them as NumPy does: a list or
# tuple there becomes an array even when it holds integers only (``np.cross([0, 0, 1], v)``); one holding a
# float does anywhere (``np.einsum("i,i", [a, b], v)``, ``np.clip(x, [lo, 0.0], hi)``)
ARRAY_PARAMETERS = frozenset(
    {"a", "b", "x", "y", "z", "m", "v", "A", "x1", "x2", "y1", "h0", "e", "ar", "ary", "arr", "array"}
    | {"values", "condition", "xp_knots", "fp", "q"}
)

array_like_primals = {}  # NumPy callable -> its rule's ARRAY_PARAMETERS flags (fluxpy/forward.py reads it)


def accept_array_likes(module, skip=()):
    """Let the rules the NumPy rule module ``module`` registered for NumPy's callables take lists and tuples
    where NumPy takes arrays: each is registered wrapped (:func:`takes_array_likes`), except for the
    callables in ``skip`` (those reading a list as a sequence of arrays, ``np.concatenate``, or building an
    array, ``np.array``). Called at the end of each such module. Forward mode converts in dispatch
    (fluxpy/forward.py's ``jvp_call`` reads ``array_like_primals``)."""
    from . import registry

    skip = {registry._key(p) for p in skip}
    wrapped = {}
    for key, rule in list(registry._rules.items()):
        if key in skip or getattr(rule, "__module__", None) != module or not _numpy_callable(key):
            continue
        ufunc = key if isinstance(key, np.ufunc) else None  # its positional arguments past nin are outputs
        out_at = None if ufunc is not None else out_position(key)  # np.clip(a, lo, hi, out): refused
        if (rule, ufunc, out_at) not in wrapped:
            wrapped[rule, ufunc, out_at] = takes_array_likes(rule, ufunc, out_at, key)
        registry.register(key, wrapped[rule, ufunc, out_at])
        array_like_primals[key] = wrapped[rule, ufunc, out_at].array_parameters


@nograd
def _numpy_callable(f):
    if isinstance(f, np.ufunc) or f is operator.matmul:
        return True
    module = getattr(f, "__module__", None)
    return type(module) is str and (module == "numpy" or module.startswith("numpy."))


@nograd
def out_position(f):
    """The position of NumPy function ``f``'s ``out`` parameter where it can be passed by position
    (``np.clip(a, lo, hi, out)``: 3), else None (a ufunc's outputs follow its ``nin`` inputs)."""
    module = getattr(f, "__module__", None)
    if isinstance(f, np.ufunc) or type(module) is not str or module.split(".")[0] != "numpy":
        return None
    return out_parameter_position(f)


def out_parameter_position(f):
    """The position of any function ``f``'s ``out`` parameter where it can be passed by position, else None
    (also when ``f`` has no signature to read)."""
    try:
        parameters = list(inspect.signature(f).parameters.values())
    except (TypeError, ValueError):
        return None
    positional = (inspect.Parameter.POSITIONAL_ONLY, inspect.Parameter.POSITIONAL_OR_KEYWORD)
    names = []
    for p in parameters:
        if p.kind not in positional:  # np.einsum(*operands, out=None): out by keyword only
            break
        names.append(p.name)
    return names.index("out") if "out" in names else None


def takes_array_likes(rule, ufunc=None, out_at=None, primal=None):
    """``rule`` (a NumPy rule) reading lists and tuples as NumPy does, as arrays (:func:`_array_flags`): their
    cotangents come back with their structure. Its partial form, if it has one, likewise.

    The other arguments NumPy reads otherwise than fluxpy's rules are caught on the same (rare) path: a user
    object whose ``__array__`` is Python code (:func:`array_of_object`), a masked array (refused), and, for a
    ``ufunc``, an output array passed by position (``np.negative(x, x)``: refused as ``out=`` is), and
    for another NumPy function ``primal``, its ``out`` passed by position at ``out_at``."""
    named = _named_array_parameters(rule, 0)
    most = ufunc.nin if ufunc is not None else _MANY if out_at is None else out_at

    def array_like_rule(*args, **kwargs):
        unusual = len(args) > most
        for a in args:  # inline: every call of the rule pays this test
            if type(a) not in _PLAIN_ARGUMENTS:
                unusual = True
        if not unusual:
            return rule(*args, **kwargs)
        if out_at is not None and len(args) > out_at and args[out_at] is not None:
            from ..runtime import check_no_out

            check_no_out(primal, positional=True)
        return _unusual_call(rule, (), ufunc, named, args, kwargs)

    array_like_rule.__module__ = rule.__module__  # its registration stays the module's own
    array_like_rule.array_parameters = named
    _forward_through(array_like_rule, rule, named, 0)
    partial = getattr(rule, "partial", None)
    if partial is not None:
        array_like_rule.partial = _partial_taking_array_likes(partial, ufunc, out_at, primal)
    return array_like_rule


def _partial_taking_array_likes(partial, ufunc=None, out_at=None, primal=None):
    named = _named_array_parameters(partial, 1)
    most = ufunc.nin if ufunc is not None else _MANY if out_at is None else out_at

    def array_like_partial(mask, *args, **kwargs):
        unusual = len(args) > most
        for a in args:
            if type(a) not in _PLAIN_ARGUMENTS:
                unusual = True
        if not unusual:
            return partial(mask, *args, **kwargs)
        if out_at is not None and len(args) > out_at and args[out_at] is not None:
            from ..runtime import check_no_out

            check_no_out(primal, positional=True)
        return _unusual_call(partial, (mask,), ufunc, named, args, kwargs)

    array_like_partial.__module__ = partial.__module__
    _forward_through(array_like_partial, partial, named, 1)
    return array_like_partial


_MANY = 1 << 30  # no limit on the positional arguments (not a ufunc)

# the types of the arguments NumPy's rules take as they are (anything else takes :func:`_unusual_call`)
_PLAIN_ARGUMENTS = frozenset(
    {np.ndarray, float, int, bool, complex, str, bytes, type(None), type, slice, type(Ellipsis)}
    | {np.float64, np.float32, np.float16, np.int64, np.int32, np.intp, np.bool_, np.complex128, np.complex64}
)


def _unusual_call(rule, head, ufunc, named, args, kwargs):
    """``rule(*head, *args, **kwargs)`` where an argument is not an array or a number: lists and tuples read
    as arrays, user objects read through their Python ``__array__``; a positional output of a ``ufunc`` and
    a masked array are refused."""
    if ufunc is not None and len(args) > ufunc.nin:
        refuse_positional_out(ufunc)
    refuse_masked(args)
    flags = _array_flags(args, named)
    objects = _array_objects(args)
    if flags is None and objects is None:
        return rule(*head, *args, **kwargs)
    converted = args
    object_pbs = ()
    if objects is not None:
        converted, object_pbs = arrays_of_objects(args, objects)
    if flags is not None:
        converted = array_args(converted, flags)
    y, back = rule(*head, *converted, **kwargs)

    def array_like_pullback(dy):
        g = tuple(back(dy))
        if flags is not None:
            g = sequence_grads(g, args, flags)
        if objects is not None:
            g = object_grads(g, object_pbs)
        return g

    return y, array_like_pullback


# ---------------------------------------------------------------------------------------------------------
# user objects NumPy reads as arrays through their Python ``__array__`` (C4 of the bad-input hunt)


@nograd
def has_array_method(a):
    """Whether NumPy reads ``a`` through a Python ``__array__`` of its class (a user's array-like): fluxpy
    then differentiates that method. Not a class that takes over NumPy's functions (``__array_function__``,
    ``__array_ufunc__``): NumPy hands those the call instead."""
    cls = type(a)
    return (
        type(getattr(cls, "__array__", None)) is FunctionType
        and getattr(cls, "__array_function__", None) is None
        and getattr(cls, "__array_ufunc__", None) is None
    )


@nograd
def _array_objects(args):
    """The positions of the arguments that :func:`has_array_method`; None when none is."""
    found = tuple(i for i in range(len(args)) if has_array_method(args[i]))
    return found or None


def array_of_object(a):
    """``(np.asarray(a), pullback)`` for a user object ``a`` with a Python ``__array__``: the method is
    differentiated, so the array's cotangent reaches ``a``'s fields (an ``fx.Tangent``)."""
    from ..runtime import call_method

    return call_method(a, "__array__")


def arrays_of_objects(args, positions):
    """``args`` with the objects at ``positions`` read as arrays, and the pullbacks of those reads."""
    out = list(args)
    pbs = []
    for i in positions:
        value, pb = array_of_object(args[i])
        out[i] = value
        pbs.append((i, pb))
    return tuple(out), pbs


def reads_array_objects(rule):
    """``rule`` of a NumPy function whose first argument is a sequence of arrays (``np.concatenate``,
    ``np.stack``): user objects in the sequence are read through their Python ``__array__``
    (:func:`array_of_object`), as NumPy reads them, and their cotangents go back to them."""

    def sequence_rule(arrays, *args, **kwargs):
        if type(arrays) is list or type(arrays) is tuple:
            for a in arrays:  # inline: every call of the rule pays this test
                if type(a) not in _PLAIN_ARGUMENTS:
                    found = _array_objects(arrays)
                    if found is not None:
                        return _objects_in_sequence(rule, found, arrays, args, kwargs)
                    break
        return rule(arrays, *args, **kwargs)

    def sequence_rule_jvp(args, targs, kwargs, tkwargs):
        forward = _forward_mode()
        items = args[0] if args else ()
        if not (type(items) in (list, tuple) and _array_objects(items) is not None):
            return forward.jvp_call(rule, None, args, targs, kwargs, tkwargs)
        return forward._python_jvp(sequence_rule, None, args, targs, kwargs, tkwargs)

    sequence_rule.__module__ = rule.__module__
    sequence_rule.__name__ = rule.__name__
    sequence_rule_jvp.takes_keywords = True
    forward_rule(sequence_rule)(sequence_rule_jvp)
    return sequence_rule


def _objects_in_sequence(rule, found, arrays, args, kwargs):
    converted, pbs = arrays_of_objects(tuple(arrays), found)
    y, back = rule(type(arrays)(converted), *args, **kwargs)

    def objects_in_sequence_pullback(dy):
        g = tuple(back(dy))
        if g and g[0] is not None:
            g = (type(g[0])(object_grads(tuple(g[0]), pbs)),) + g[1:]
        return g

    return y, objects_in_sequence_pullback


def object_grads(g, object_pbs):
    """A pullback's result ``g`` with the arrays' cotangents taken back to the objects they were read from."""
    out = list(g)
    for i, pb in object_pbs:
        if i < len(out) and out[i] is not None:
            out[i] = pb(out[i])[0]
    return tuple(out)


# ---------------------------------------------------------------------------------------------------------
# refused: an output passed by position, masked arrays


@nograd
def refuse_positional_out(ufunc):
    """``np.negative(x, x)``: NumPy writes into the array passed after the inputs, as ``out=`` would."""
    from ..runtime import check_no_out

    check_no_out(ufunc, positional=True)


@nograd
def is_masked(x):
    """Whether ``x`` is a NumPy masked array (``numpy.ma`` is loaded only where one was made)."""
    ma = sys.modules.get("numpy.ma")
    return ma is not None and type(x) is not np.ndarray and isinstance(x, ma.MaskedArray)


@nograd
def refuse_masked(values):
    """Raise a FluxpyError when one of ``values`` is a masked array: the rules compute with its data and
    would ignore its mask."""
    for v in values:
        if is_masked(v):
            from ..errors import MASKED_ARRAY, FluxpyError
            from ..runtime import user_location

            raise FluxpyError(MASKED_ARRAY.format(where=user_location()))


def _forward_through(wrapper, rule, named, skip):
    """Forward over reverse (``fx.hvp``) runs the rule of ``wrapper`` (a rule or a partial form taking
    array-likes) by the rule's own forward rule where no argument is read as an array: the wrapper adds
    nothing there, and running its code in forward mode would cost every call."""

    def array_like_rule_jvp(args, targs, kwargs, tkwargs):
        forward = _forward_mode()
        if _array_flags(args[skip:], named) is None and _array_objects(args[skip:]) is None:
            return forward.jvp_call(rule, None, args, targs, kwargs, tkwargs)
        return forward._python_jvp(wrapper, None, args, targs, kwargs, tkwargs)

    array_like_rule_jvp.takes_keywords = True
    forward_rule(wrapper)(array_like_rule_jvp)


@nograd
def _named_array_parameters(rule, skip):
    code = rule.__code__
    return tuple(name in ARRAY_PARAMETERS for name in code.co_varnames[skip : code.co_argcount])
