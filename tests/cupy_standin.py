"""A strict CPU stand-in for CuPy, for tests: install it as ``sys.modules["cupy"]`` (and ``"cupyx"``).

No GPU has been available to this project, so the CuPy path of fluxpy is exercised against this module
instead. It wraps NumPy, but refuses what real CuPy refuses, so that host-only habits in the library fail
here as they would on a GPU:

- ``ndarray`` is its own class (``type(a).__module__ == "cupy"``), wrapping a NumPy array; it is not an
  ``np.ndarray`` subclass.
- Implicit conversion to NumPy fails: ``__array__`` raises ``TypeError`` (so ``np.asarray(a)`` and
  ``np.array([a, a])`` fail), as CuPy's does. ``.get()`` and ``cupy.asnumpy`` are the way out.
- Mixing a NumPy array with a device array in an operator, a ufunc, a function or ``a[i] = host_array``
  raises ``TypeError`` ("Unsupported type <class 'numpy.ndarray'>"), as CuPy's kernels do. Python and
  NumPy *scalars* mix fine. NumPy arrays and lists are accepted where CuPy accepts them:
  ``cupy.asarray``/``cupy.array``, index arrays in ``a[idx]``, and the dtype routines (``result_type``,
  ``ndim``, ``shape``...).
- Ufuncs take only device arrays and scalars (a list is refused, as by CuPy's kernels); functions that CuPy
  implements as a method call on their first argument (``cupy.sum(a)`` is ``a.sum()``, ``cupy.where(c, ...)``
  calls ``c.astype``) refuse a first argument that is not a device array.
- ``np.sum(a)``, ``np.sin(a)``, ``np.linalg.norm(a)``... on device arrays dispatch here through
  ``__array_function__``/``__array_ufunc__``, and return device arrays, as with CuPy.
- Reductions and single-element indexing give 0-d device arrays, never NumPy scalars (``count_nonzero``
  and ``allclose`` too); ``float()``, ``int()``, ``bool()`` and ``.item()`` read them, but there is no
  ``__index__`` (CuPy leaves it out), so ``range(n)`` or ``lst[i]`` with a device integer fails. ``a[0]`` is
  a view, as in CuPy.
- ``flags`` has only ``c_contiguous``, ``f_contiguous`` and ``owndata`` (CuPy has no ``writeable``); ``base``
  is the owning device array of a view.
- No floating-point warnings (a GPU raises none): NumPy runs under ``errstate(all="ignore")``.
- ``cuda.runtime.getDeviceCount()`` is 1, so ``fx.gpu`` moves arrays onto this "device".
- NumPy names CuPy lacks are refused (:data:`_ABSENT`): ``cupy.errstate`` is an ``AttributeError``.

- Attributes (``shape``, ``T``...) are C-level-like descriptors, not Python properties, and module functions
  report ``__module__`` ``"cupy"``: fluxpy treats them as it treats CuPy's own.

What it does not check: that a function exists in CuPy (the namespace is NumPy's, less :data:`_ABSENT`) or
takes the same keywords; dtype promotion (NumPy 2's rules apply; CuPy's may differ for NumPy scalars);
numerical differences of GPU kernels; performance (host/device transfers are free here, so a host
round trip inside a rule goes unnoticed as long as it ends on the device); streams and devices beyond one;
CuPy's looser writes (its arrays are never read-only, NumPy's broadcast views are). Array methods are
Python functions here (builtins in CuPy): a bound method taken as a value (``f = a.sum``) is dispatched
differently.

>>> import numpy as np
>>> a = asarray(np.arange(3.0))
>>> type(a).__module__, float(a.sum()), type(np.sum(a)) is ndarray
('cupy', 3.0, True)
>>> a + np.ones(3)
Traceback (most recent call last):
TypeError: Unsupported type <class 'numpy.ndarray'>
"""

import copy as _copy
import functools
import sys
import types

import numpy as np

_UNSUPPORTED = "Unsupported type {}"
_IMPLICIT = (
    "Implicit conversion to a NumPy array is not allowed. Please use `.get()` to construct a NumPy array "
    "explicitly."
)
_SCALARS = (bool, int, float, complex, np.generic)

# NumPy names that CuPy does not have (a library calling ``xp.errstate`` breaks on a GPU)
_ABSENT = {
    "errstate",
    "seterr",
    "geterr",
    "seterrcall",
    "geterrcall",
    "nditer",
    "ndindex",
    "frompyfunc",
    "matrix",
    "asmatrix",
    "ma",
    "char",
    "rec",
    "ctypeslib",
    "object_",
    "str_",
    "bytes_",
    "void",
    "unstack",
    "permute_dims",
    "matrix_transpose",
}
_ABSENT_LINALG = {"matrix_transpose", "outer", "svdvals", "vecdot", "vector_norm", "matrix_norm"}

# functions that real CuPy implements as ``a.method(...)`` or a Cython routine typed on ``ndarray``: their
# first argument must be a device array (``cupy.sum(2.0)`` is an AttributeError there)
_ARRAY_FIRST = {
    "sum",
    "prod",
    "mean",
    "var",
    "std",
    "max",
    "min",
    "amax",
    "amin",
    "argmax",
    "argmin",
    "clip",
    "round",
    "around",
    "reshape",
    "ravel",
    "transpose",
    "swapaxes",
    "moveaxis",
    "squeeze",
    "take",
    "repeat",
    "nonzero",
    "diagonal",
    "trace",
    "dot",
    "broadcast_to",
    "zeros_like",
    "ones_like",
    "empty_like",
    "full_like",
    "cumsum",
    "cumprod",
    "sort",
    "argsort",
    "where",
}
# functions that take host values too (they read dtypes and shapes, or copy to the device)
_HOST_OK = {
    "array",
    "asarray",
    "asanyarray",
    "asnumpy",
    "ndim",
    "shape",
    "size",
    "isscalar",
    "iscomplexobj",
    "isrealobj",
    "result_type",
    "can_cast",
    "promote_types",
    "min_scalar_type",
    "issubdtype",
    "common_type",
}
_COMPARISONS = {"greater", "greater_equal", "less", "less_equal", "equal", "not_equal"}
# functions that give a Python number or bool in NumPy but a 0-d device array in CuPy
_ARRAY_RESULT = {"count_nonzero", "allclose", "array_equal", "array_equiv"}


# ---------------------------------------------------------------------------------------------------------
# wrapping and unwrapping


class _Call:
    """Unwraps the arguments of one call (refusing host arrays) and wraps its result, keeping identities:
    a function returning its input (``asarray(a)``, ``out=a``) returns the same device array."""

    def __init__(self, name, host_ok=False):
        self.name, self.host_ok, self.seen = name, host_ok, {}

    def unwrap(self, x):
        t = type(x)
        if t is ndarray:
            self.seen[id(x._a)] = x
            return x._a
        if t is tuple or t is list:
            return t(self.unwrap(v) for v in x)
        if t is dict:
            return {k: self.unwrap(v) for k, v in x.items()}
        if isinstance(x, np.ndarray) and not self.host_ok:
            raise TypeError(_UNSUPPORTED.format(np.ndarray))
        return x

    def wrap(self, out):
        if isinstance(out, np.ndarray):
            known = self.seen.get(id(out))
            return known if known is not None else _wrap(out, self.seen)
        if isinstance(out, np.generic):
            return _wrap(np.asarray(out))
        t = type(out)
        if t is tuple or t is list:
            return t(self.wrap(v) for v in out)
        if isinstance(out, tuple) and hasattr(out, "_fields"):  # SVDResult, EighResult...
            return tuple(self.wrap(v) for v in out)
        return out


def _wrap(a, parents=None):
    """A device array around NumPy array ``a``; a view's ``base`` is the owning device array."""
    out = ndarray.__new__(ndarray)
    out._a = a
    out._base = None
    base = a.base
    if base is not None:
        for parent in (parents or {}).values():
            if parent._a is base or (parent._a.base is base and parent._base is not None):
                out._base = parent if parent._a is base else parent._base
                break
    return out


def _call(name, func, args, kwargs, host_ok=False):
    call = _Call(name, host_ok)
    args, kwargs = call.unwrap(args), call.unwrap(kwargs)
    with np.errstate(all="ignore"):
        return call.wrap(func(*args, **kwargs))


def _check_ufunc_operands(name, values):
    for v in values:
        if type(v) is ndarray or isinstance(v, _SCALARS):
            continue
        if isinstance(v, np.ndarray) and v.ndim == 0 and name in _COMPARISONS:
            continue  # CuPy's workaround for numpy/numpy#12142 turns these into scalars
        raise TypeError(_UNSUPPORTED.format(type(v)))


def _function(name, func, namespace="cupy"):
    """The stand-in for NumPy function ``func``: strict about host arrays, wrapping array results."""
    host_ok = name in _HOST_OK
    array_first = name in _ARRAY_FIRST
    array_result = name in _ARRAY_RESULT

    def standin(*args, **kwargs):
        if array_first and (not args or type(args[0]) is not ndarray):
            got = type(args[0]).__name__ if args else "nothing"
            raise TypeError(f"{namespace}.{name}: its first argument must be a cupy.ndarray, got {got}")
        out = _call(name, func, args, kwargs, host_ok)
        return _wrap(np.asarray(out)) if array_result and type(out) is not ndarray else out

    standin.__name__ = standin.__qualname__ = name
    standin.__module__ = namespace
    standin.__wrapped_numpy__ = func
    return standin


class _CSlot:
    """A method that is no Python function on its class, as a C slot of CuPy's ufuncs: fluxpy would
    transform a Python ``__call__`` where it runs CuPy's own as an opaque callable."""

    def __init__(self, func):
        self.func = func

    def __get__(self, obj, owner=None):
        return self if obj is None else functools.partial(self.func, obj)


class ufunc:
    """A CuPy ufunc: device arrays and scalars only; ``reduce``, ``accumulate``, ``outer`` and ``at``."""

    def __init__(self, np_ufunc):
        self._u = np_ufunc
        self.__name__ = np_ufunc.__name__
        self.nin, self.nout, self.nargs = np_ufunc.nin, np_ufunc.nout, np_ufunc.nargs
        self.signature = np_ufunc.signature

    def __repr__(self):
        return f"<ufunc '{self.__name__}'>"

    def _apply(self, *args, **kwargs):
        _check_ufunc_operands(self.__name__, args)
        out = kwargs.get("out")
        if out is not None:
            _check_ufunc_operands(self.__name__, out if isinstance(out, tuple) else (out,))
        return _call(self.__name__, self._u, args, kwargs)

    __call__ = _CSlot(_apply)

    def _method(self, method, a, *args, **kwargs):
        _check_ufunc_operands(self.__name__, (a,))
        return _call(self.__name__, getattr(self._u, method), (a, *args), kwargs)

    def reduce(self, a, *args, **kwargs):
        return self._method("reduce", a, *args, **kwargs)

    def accumulate(self, a, *args, **kwargs):
        return self._method("accumulate", a, *args, **kwargs)

    def outer(self, a, b, **kwargs):
        _check_ufunc_operands(self.__name__, (b,))
        return self._method("outer", a, b, **kwargs)

    def at(self, a, indices, b=None):
        """In place, unbuffered (``cupy.add.at``): indices may be device or host index arrays."""
        if type(a) is not ndarray:
            raise TypeError(_UNSUPPORTED.format(type(a)))
        if b is not None:
            _check_ufunc_operands(self.__name__, (b,))
        with np.errstate(all="ignore"):
            if b is None:
                self._u.at(a._a, _index(indices))
            else:
                self._u.at(a._a, _index(indices), b._a if type(b) is ndarray else b)


ufunc.__module__ = "cupy._core._kernel"
for _name in ("reduce", "accumulate", "outer", "at"):
    setattr(ufunc, _name, _CSlot(getattr(ufunc, _name)))  # builtin methods in CuPy, as __call__


def _index(key):
    """An index for the wrapped array: device arrays unwrapped; NumPy arrays and lists kept (CuPy copies
    them to the device)."""
    if type(key) is ndarray:
        return key._a
    if type(key) is tuple:
        return tuple(_index(k) for k in key)
    if type(key) is list:
        return [_index(k) for k in key]
    return key


def _is_basic(key):
    parts = key if type(key) is tuple else (key,)
    return all(
        p is None or p is Ellipsis or isinstance(p, (slice, int, np.integer)) for p in parts
    ) and not any(isinstance(p, (bool, np.bool_)) for p in parts)


# ---------------------------------------------------------------------------------------------------------
# the array


class Flags:
    """CuPy's flags: no ``writeable`` (CuPy arrays are always writable)."""

    def __init__(self, a):
        self.c_contiguous = a.flags.c_contiguous
        self.f_contiguous = a.flags.f_contiguous
        self.owndata = a.flags.owndata

    def __getitem__(self, name):
        return {
            "C_CONTIGUOUS": self.c_contiguous,
            "F_CONTIGUOUS": self.f_contiguous,
            "OWNDATA": self.owndata,
        }[name]


Flags.__module__ = "cupy._core.flags"


class Device:
    """The one device."""

    id = 0

    def __init__(self, device=None):
        pass

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        return False

    def synchronize(self):
        pass


Device.__module__ = "cupy.cuda.device"


def _operand(op, other):
    """``other`` unwrapped for an operator, or None when Python should try the reflected operator."""
    if getattr(other, "__array_ufunc__", False) is None or getattr(other, "__array_priority__", 0) > 100:
        return None
    if op in (np.equal, np.not_equal) and not isinstance(other, (ndarray, np.ndarray) + _SCALARS):
        return None  # ``a == None``: Python falls back to identity, as with CuPy
    _check_ufunc_operands(op.__name__, (other,))
    if isinstance(other, np.ndarray):
        return other.item()  # a 0-d host array in a comparison (CuPy's workaround for numpy#12142)
    return other._a if type(other) is ndarray else other


def _binary(name, op, reflected=False):
    def operator(self, other):
        b = _operand(op, other)
        if b is None:
            return NotImplemented
        with np.errstate(all="ignore"):
            return _wrap_result(op(b, self._a) if reflected else op(self._a, b))

    operator.__name__ = name
    return operator


def _inplace(name, op):
    def operator(self, other):
        b = _operand(op, other)
        if b is None:
            return NotImplemented
        with np.errstate(all="ignore"):
            op(self._a, b, out=self._a)
        return self

    operator.__name__ = name
    return operator


def _unary(name, op):
    def operator(self):
        with np.errstate(all="ignore"):
            return _wrap_result(op(self._a))

    operator.__name__ = name
    return operator


def _wrap_result(out):
    if isinstance(out, tuple):
        return tuple(_wrap_result(o) for o in out)
    return _wrap(out if isinstance(out, np.ndarray) else np.asarray(out))


def _array_method(name):
    def method(self, *args, **kwargs):
        call = _Call(name)
        call.seen[id(self._a)] = self
        args, kwargs = call.unwrap(args), call.unwrap(kwargs)
        with np.errstate(all="ignore"):
            return call.wrap(getattr(self._a, name)(*args, **kwargs))

    method.__name__ = name
    return method


class _Attribute:
    """An attribute computed by ``get(self)`` (and set by ``put``, when given), as a C-level attribute."""

    def __init__(self, get, put=None):
        self.get, self.put = get, put

    def __set_name__(self, owner, name):
        self.name = name

    def __get__(self, obj, owner=None):
        return self if obj is None else self.get(obj)

    def __set__(self, obj, value):
        if self.put is None:
            raise AttributeError(f"attribute '{self.name}' of 'cupy.ndarray' objects is not writable")
        self.put(obj, value)


class ndarray:
    """A device array: a NumPy array behind CuPy's interface. ``ndarray(shape, dtype)`` is uninitialised."""

    __slots__ = ("_a", "_base", "__weakref__")
    __array_priority__ = 100
    __hash__ = None

    def __init__(self, shape, dtype=float, memptr=None, strides=None, order="C"):
        self._a = np.empty(shape, dtype=dtype, order=order)
        self._base = None

    # -- leaving the device ------------------------------------------------------------------------------
    def __array__(self, *args, **kwargs):
        raise TypeError(_IMPLICIT)

    def get(self, stream=None, order="C", out=None):
        """A NumPy copy (device to host)."""
        return np.array(self._a, order=order, copy=True)

    def set(self, arr, stream=None):
        """Copy NumPy array ``arr`` into this array (host to device)."""
        if not isinstance(arr, np.ndarray) or arr.shape != self.shape:
            raise ValueError("set: a NumPy array of the same shape is needed")
        self._a[...] = arr

    def item(self, *args):
        return self._a.item(*args)

    def tolist(self):
        return self._a.tolist()

    def __float__(self):
        return float(self._a)

    def __int__(self):
        return int(self._a)

    def __complex__(self):
        return complex(self._a)

    def __bool__(self):
        return bool(self._a)

    # no __index__: CuPy leaves it out on purpose (an implicit device-to-host copy, cupy/cupy#5784), so
    # range(n), lst[i] and operator.index refuse a device integer

    def __len__(self):
        return len(self._a)

    def __iter__(self):
        if self.ndim == 0:
            raise TypeError("iteration over a 0-d array")
        return (self[i] for i in range(self.shape[0]))

    def __repr__(self):
        return repr(self._a)

    def __str__(self):
        return str(self._a)

    def __format__(self, spec):
        return format(self._a, spec)

    def __copy__(self):
        return self.copy()

    def __deepcopy__(self, memo):
        return _wrap(_copy.deepcopy(self._a, memo))

    def __reduce__(self):
        return (_from_host, (self.get(),))

    # -- attributes (not Python properties: CuPy's are Cython attributes, which fluxpy does not transform) ---
    shape = _Attribute(lambda self: self._a.shape, lambda self, value: setattr(self._a, "shape", value))
    dtype = _Attribute(lambda self: self._a.dtype)
    ndim = _Attribute(lambda self: self._a.ndim)
    size = _Attribute(lambda self: self._a.size)
    itemsize = _Attribute(lambda self: self._a.itemsize)
    nbytes = _Attribute(lambda self: self._a.nbytes)
    strides = _Attribute(lambda self: self._a.strides)
    flags = _Attribute(lambda self: Flags(self._a))
    base = _Attribute(lambda self: self._base)
    device = _Attribute(lambda self: Device())
    T = _Attribute(lambda self: _wrap(self._a.T, {0: self}))
    real = _Attribute(lambda self: _wrap(self._a.real, {0: self}))
    imag = _Attribute(lambda self: _wrap(self._a.imag, {0: self}))

    # -- indexing -----------------------------------------------------------------------------------------
    def __getitem__(self, key):
        if type(key) is not tuple:
            key = (key,)
        if _is_basic(key) and Ellipsis not in key:
            key = key + (Ellipsis,)  # a view even for a single element, as CuPy's a[0]
        return _wrap_result_view(self, self._a[_index(key)])

    def __setitem__(self, key, value):
        if type(value) is ndarray:
            value = value._a
        elif isinstance(value, np.ndarray) and value.ndim > 0:
            # CuPy: "non-scalar numpy.ndarray cannot be used for fill" (basic indices); refused here always
            raise TypeError(_UNSUPPORTED.format(np.ndarray))
        self._a[_index(key)] = value

    # -- NumPy protocols ----------------------------------------------------------------------------------
    def __array_ufunc__(self, np_ufunc, method, *inputs, **kwargs):
        out = kwargs.get("out")
        if isinstance(out, tuple):
            kwargs["out"] = out[0] if len(out) == 1 else out
        for x in inputs + (out if isinstance(out, tuple) else ()):
            if not isinstance(x, (ndarray, np.ndarray) + _SCALARS) and hasattr(x, "__array_ufunc__"):
                return NotImplemented
        standin = _lookup("cupy", np_ufunc.__name__)
        if not isinstance(standin, ufunc):
            return NotImplemented
        if method == "__call__":
            return standin(*inputs, **kwargs)
        return getattr(standin, method)(*inputs, **kwargs)

    def __array_function__(self, func, types, args, kwargs):
        standin = _lookup(func.__module__, func.__name__)
        if standin is None or standin is func:
            return NotImplemented
        if any(t not in (ndarray, np.ndarray) for t in types):
            return NotImplemented
        return standin(*args, **kwargs)


def _wrap_result_view(parent, out):
    if isinstance(out, np.ndarray):
        return _wrap(out, {0: parent})
    return _wrap(np.asarray(out))


def _from_host(a):
    return _wrap(np.array(a, copy=True))


ndarray.__module__ = "cupy"
for _name in (
    "all any argmax argmin argpartition argsort astype choose clip compress conj conjugate copy cumprod "
    "cumsum diagonal dot fill flatten max mean min nonzero partition prod ptp put ravel repeat reshape round "
    "sort squeeze std sum swapaxes take tobytes trace transpose var view"
).split():
    setattr(ndarray, _name, _array_method(_name))

_OPERATORS = {
    "add": np.add,
    "sub": np.subtract,
    "mul": np.multiply,
    "truediv": np.true_divide,
    "floordiv": np.floor_divide,
    "mod": np.remainder,
    "pow": np.power,
    "matmul": np.matmul,
    "and": np.bitwise_and,
    "or": np.bitwise_or,
    "xor": np.bitwise_xor,
    "lshift": np.left_shift,
    "rshift": np.right_shift,
}
for _name, _op in _OPERATORS.items():
    setattr(ndarray, f"__{_name}__", _binary(f"__{_name}__", _op))
    setattr(ndarray, f"__r{_name}__", _binary(f"__r{_name}__", _op, reflected=True))
    setattr(ndarray, f"__i{_name}__", _inplace(f"__i{_name}__", _op))
for _name, _op in {"lt": np.less, "le": np.less_equal, "gt": np.greater, "ge": np.greater_equal}.items():
    setattr(ndarray, f"__{_name}__", _binary(f"__{_name}__", _op))
ndarray.__eq__ = _binary("__eq__", np.equal)
ndarray.__ne__ = _binary("__ne__", np.not_equal)
ndarray.__divmod__ = _binary("__divmod__", np.divmod)
ndarray.__rdivmod__ = _binary("__rdivmod__", np.divmod, reflected=True)
for _name, _op in {"neg": np.negative, "pos": np.positive, "abs": np.absolute, "invert": np.invert}.items():
    setattr(ndarray, f"__{_name}__", _unary(f"__{_name}__", _op))


# ---------------------------------------------------------------------------------------------------------
# the module namespace: NumPy's names, wrapped on first use


def _wrap_numpy_name(namespace, np_module, name, absent):
    if name in absent or name.startswith("_"):
        raise AttributeError(f"module '{namespace}' has no attribute '{name}'")
    try:
        obj = getattr(np_module, name)
    except AttributeError:
        raise AttributeError(f"module '{namespace}' has no attribute '{name}'") from None
    if isinstance(obj, np.ufunc):
        return ufunc(obj)
    if isinstance(obj, (type, types.ModuleType)) or not callable(obj):
        return obj  # dtypes (cupy.float32 is numpy.float32), constants, classes such as finfo
    return _function(name, obj, namespace)


def _lookup(module_name, name):
    """The stand-in for ``module_name.name`` (``numpy.linalg``, ``cupy``...), or None."""
    parts = module_name.split(".")[1:]
    target = sys.modules[__name__]
    try:
        for part in parts:
            target = getattr(target, part)
        return getattr(target, name)
    except AttributeError:
        return None


def _namespace(name, np_module, absent=frozenset(), extra=None):
    module = types.ModuleType(name)

    def __getattr__(attr):
        value = _wrap_numpy_name(name, np_module, attr, absent)
        setattr(module, attr, value)
        return value

    module.__getattr__ = __getattr__
    for key, value in (extra or {}).items():
        setattr(module, key, value)
    return module


_cache = {}  # not globals(): cupy.any, cupy.sum... must not shadow the builtins inside this module


def __getattr__(name):
    value = _cache.get(name)
    if value is None:
        value = _cache[name] = _wrap_numpy_name("cupy", np, name, _ABSENT)
    return value


def asnumpy(a, stream=None, order="C"):
    """A NumPy array on the host from a device array (or anything NumPy takes)."""
    if type(a) is ndarray:
        return a.get(order=order)
    return np.asarray(a, order=order)


def array(obj, dtype=None, copy=True, order="K", ndmin=0):
    """A new device array from NumPy arrays, lists (of device arrays too), scalars or device arrays."""
    return _from_host_values(obj, dtype, order, ndmin, copy=True if copy is None else copy)


def asarray(a, dtype=None, order=None):
    """``a`` as a device array: itself when it is one already (with the dtype), else a host-to-device copy."""
    if type(a) is ndarray and (dtype is None or np.dtype(dtype) == a.dtype):
        return a
    return _from_host_values(a, dtype, order, 0, copy=False)


asanyarray = asarray


def _from_host_values(obj, dtype, order, ndmin, copy):
    if type(obj) is ndarray:
        return _call("array", np.array, (obj,), {"dtype": dtype, "copy": copy, "order": order or "K"})
    host = _host_values(obj)
    return _wrap(np.array(host, dtype=dtype, order=order or "K", ndmin=ndmin, copy=True))


def _host_values(obj):
    if type(obj) is ndarray:
        return obj._a
    if type(obj) in (list, tuple):
        return [_host_values(v) for v in obj]
    return obj


def get_array_module(*args):
    """This module when any argument is a device array, else NumPy."""
    return sys.modules[__name__] if any(type(a) is ndarray for a in args) else np


def ndim(a):
    return a.ndim if type(a) is ndarray else np.ndim(a)


def shape(a):
    return a.shape if type(a) is ndarray else np.shape(a)


def size(a, axis=None):
    return (a.size if axis is None else a.shape[axis]) if type(a) is ndarray else np.size(a, axis)


def isscalar(x):
    return np.isscalar(x)


# ---------------------------------------------------------------------------------------------------------
# random: NumPy's generators, their results on the device


class _Generator:
    """A random generator (``cupy.random.RandomState`` or ``default_rng``) whose draws are device arrays."""

    def __init__(self, rng):
        self._rng = rng

    def __getattr__(self, name):
        method = getattr(self._rng, name)
        if not callable(method):
            return method
        return _function(name, method, "cupy.random")


_Generator.__module__ = "cupy.random._generator"


def _random_state(seed=None):
    return _Generator(np.random.RandomState(seed))


def _default_rng(seed=None):
    return _Generator(np.random.default_rng(seed))


random = _namespace(
    "cupy.random",
    np.random,
    frozenset({"Generator", "BitGenerator"}),
    {"RandomState": _random_state, "default_rng": _default_rng},
)
linalg = _namespace("cupy.linalg", np.linalg, frozenset(_ABSENT_LINALG))
fft = _namespace("cupy.fft", np.fft)
lib = types.ModuleType("cupy.lib")
lib.stride_tricks = _namespace("cupy.lib.stride_tricks", np.lib.stride_tricks)


# ---------------------------------------------------------------------------------------------------------
# cuda: one device


class _Stream:
    def synchronize(self):
        pass


cuda = types.ModuleType("cupy.cuda")
cuda.runtime = types.ModuleType("cupy.cuda.runtime")
cuda.runtime.getDeviceCount = lambda: 1
cuda.runtime.getDevice = lambda: 0
cuda.is_available = lambda: True
cuda.Device = Device
cuda.Stream = types.SimpleNamespace(null=_Stream())


def is_available():
    return True


# ---------------------------------------------------------------------------------------------------------
# cupyx: the scatter functions of older CuPy


def _scatter(name):
    def scatter(a, slices, value):
        getattr(sys.modules[__name__], name).at(a, slices, value)

    return scatter


cupyx = types.ModuleType("cupyx")
cupyx.scatter_add = _scatter("add")
cupyx.scatter_max = _scatter("maximum")
cupyx.scatter_min = _scatter("minimum")


for _f in (asnumpy, array, asarray, get_array_module, ndim, shape, size, isscalar, is_available):
    _f.__module__ = "cupy"  # as CuPy's own functions (fluxpy maps cupy.* callables to NumPy's rules)


def install(monkeypatch):
    """Install this module as ``cupy`` (and ``cupyx``) for one test: ``monkeypatch`` undoes it."""
    monkeypatch.setitem(sys.modules, "cupy", sys.modules[__name__])
    monkeypatch.setitem(sys.modules, "cupyx", cupyx)
