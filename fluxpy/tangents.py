"""Cotangent values: ``None`` as the zero, :class:`Tangent` for objects, accumulation and projection.

Inside generated code a cotangent is ``None`` (no gradient), a number or array, a tuple/list/dict
mirroring a container, or a :class:`Tangent` for any other object (fields by name). ``accum`` adds two
cotangents, handling ``None`` first (house rule 6). ``project`` shapes a cotangent like the argument it
belongs to, at the API boundary (Zygote's ``ProjectTo``).

>>> accum(None, 2.0)
2.0
>>> accum((1.0, None), (2.0, 3.0))
(3.0, 3.0)
"""

import copy
import enum
from collections import defaultdict
from collections.abc import Mapping
from numbers import Number
from types import FunctionType

import numpy as np

from . import errors, functors  # no fluxpy imports at their tops: no cycle
from .backend import is_array, xp_of
from .errors import FluxpyError

_NUMBER_TYPES = (int, float, np.integer, np.floating)

# (here rather than in errors.py: the messages of the cotangents' own checks, on the error path only)
COTANGENT_SUM = (
    "two cotangents of one value have the shapes {a} and {b}, which do not broadcast together: a rule's "
    "pullback (@fx.adjoint) returned a cotangent of the wrong shape; back(dy) must give each argument's "
    "cotangent that argument's shape. Summed at:\n  {where}"
)
GRADIENT_SHAPE = (
    "the gradient of an argument of shape {x} came back with shape {shape}: a rule's pullback "
    "(@fx.adjoint) returned a cotangent of the wrong shape; back(dy) must give each argument's cotangent "
    "that argument's shape"
)


class Tangent(Mapping):
    """The gradient of an object: a read-only mapping from field names to gradients.

    >>> t = Tangent(object, {"weight": 1.0, "bias": None})
    >>> t.weight, t["bias"], sorted(t.keys())
    (1.0, None, ['bias', 'weight'])
    """

    __slots__ = ("_type", "_fields")

    def __init__(self, primal_type, fields):
        object.__setattr__(self, "_type", primal_type if isinstance(primal_type, type) else type(primal_type))
        object.__setattr__(self, "_fields", dict(fields))

    def __getattr__(self, name):
        if name in Tangent.__slots__:  # not set yet (an instance made without __init__)
            raise AttributeError(name)
        try:
            return self._fields[name]
        except KeyError:
            raise AttributeError(f"Tangent[{self._type.__name__}] has no field {name!r}") from None

    def __setattr__(self, name, value):
        raise AttributeError("Tangent is read-only")

    def __getitem__(self, name):
        return self._fields[name]

    def __copy__(self):
        return self  # read-only: a copy would be the same value

    def __deepcopy__(self, memo):
        return Tangent(self._type, {k: copy.deepcopy(v, memo) for k, v in self._fields.items()})

    def __reduce__(self):
        # pickle rebuilds a Tangent through __init__ (__setattr__ refuses: it is read-only)
        return (Tangent, (self._type, self._fields))

    def get(self, name, default=None):
        """Field ``name``, or ``default`` when absent."""
        return self._fields.get(name, default)

    def __iter__(self):
        return iter(self._fields)

    def __len__(self):
        return len(self._fields)

    def __eq__(self, other):
        if not isinstance(other, Tangent):
            return NotImplemented
        return (
            self._type is other._type
            and self._fields.keys() == other._fields.keys()
            and all(_equal(self._fields[k], other._fields[k]) for k in self._fields)
        )

    __hash__ = None

    def __repr__(self):
        inner = ", ".join(f"{k}={_short(v)}" for k, v in self._fields.items())
        return f"Tangent[{self._type.__name__}]({inner})"

    @property
    def primal_type(self):
        """The type of the object this is the gradient of."""
        return self._type


def _equal(a, b):
    if is_array(a) or is_array(b):
        return a is not None and b is not None and bool(np.all(a == b))
    return a == b


def _short(v):
    if is_array(v):
        return f"array(shape={v.shape}, dtype={v.dtype})" if v.size > 6 else repr(v)
    return repr(v)


class KeywordGrads(dict):
    """The trailing entry of a pullback result: gradients of arguments passed by keyword.

    A distinct type so that it is never mistaken for the gradient of a dict passed positionally.
    """


# ---------------------------------------------------------------------------------------------------------
# accumulation


def accum(a, b):
    """Sum of two cotangents of the same primal; ``None`` is the zero.

    Never writes into its arguments: a cotangent may be shared (a rule may return ``dy`` itself).
    """
    if a is None:
        return b
    if b is None:
        return a
    ta = type(a)
    if ta is tuple:
        return tuple(accum(x, y) for x, y in zip(a, b, strict=True))
    if ta is list:
        return [accum(x, y) for x, y in zip(a, b, strict=True)]
    if ta is dict or ta is KeywordGrads:
        out = ta(a)
        for k, v in b.items():
            out[k] = accum(out.get(k), v)
        return out
    if ta is Tangent:
        fields = dict(a._fields)
        other = b._fields if type(b) is Tangent else b
        for k, v in other.items():
            fields[k] = accum(fields.get(k), v)
        return Tangent(a._type, fields)
    try:
        return a + b
    except ValueError as error:  # the error path only: the sum above costs nothing more
        raise _sum_error(a, b) from error


def _sum_error(a, b):
    """Two cotangents of one value whose shapes do not broadcast: a rule's pullback (``@fx.adjoint``) gave a
    cotangent of the wrong shape for one of its arguments."""
    from .runtime import user_location  # (late: the runtime imports this module)

    return FluxpyError(COTANGENT_SUM.format(a=np.shape(a), b=np.shape(b), where=user_location()))


def accum_many(*xs):
    """``accum`` over any number of cotangents."""
    out = None
    for x in xs:
        out = accum(out, x)
    return out


# ---------------------------------------------------------------------------------------------------------
# what can carry a gradient


def is_differentiable(x):
    """True when ``x`` may carry a gradient: numbers (not bools), numeric arrays, containers of them, objects.

    Ints count (ints are treated as reals, as in Flux). Strings, ``None``, bools, types, modules, plain
    functions without a closure, enum members (``np._CopyMode.IF_NEEDED``, an ``IntEnum`` too: a label,
    not a quantity) and NumPy's random generators do not.

    >>> import enum
    >>> is_differentiable(enum.Enum("Mode", "A B").A), is_differentiable(np.dtype("f4"))
    (False, False)
    """
    t = type(x)
    if t is float or t is int:
        return True
    if x is None or t is bool or t is str or t is bytes:
        return False
    if t is tuple or t is list:
        return any(is_differentiable(v) for v in x)
    if t is dict:
        return any(is_differentiable(v) for v in x.values())
    if is_array(x):
        return x.dtype.kind in "fiuc"
    if isinstance(x, (np.bool_, str, type, range, slice)) or x is Ellipsis:
        return False
    if isinstance(x, np.generic):
        return x.dtype.kind in "fiuc"
    if t is FunctionType:
        return bool(x.__closure__)
    if t.__module__ == "builtins" and t.__name__ in ("builtin_function_or_method", "module"):
        return False
    if isinstance(x, _NON_NUMERIC):
        return False
    return True


_NON_NUMERIC = (
    np.ufunc,
    np.dtype,
    enum.Enum,
    np.random.Generator,
    np.random.RandomState,
    np.random.BitGenerator,
    np.random.SeedSequence,
)


# ---------------------------------------------------------------------------------------------------------
# projection: the API boundary


def project(dx, x):
    """Shape the cotangent ``dx`` like the argument ``x`` (API.md, "Gradient values mirror the argument").

    >>> project(np.float64(3.0), 2)
    3.0
    >>> project(np.ones(2), np.array([1, 2])).dtype
    dtype('float64')
    """
    if dx is None:
        return None
    t = type(x)
    if t is float and type(dx) is float:
        return dx
    if t is np.ndarray and type(dx) is np.ndarray and dx.dtype is x.dtype and dx.shape == x.shape:
        if dx.base is None and dx.flags.writeable and x.dtype.kind in "fc":
            return dx  # a fresh float array of the right shape and dtype: nothing to do
    if t is bool or x is None or t is str or t is np.bool_:
        return None  # API.md: bools get None (a bool array or a 0-d one too, below)
    if isinstance(x, enum.Enum):
        return None  # a member is a label, not a quantity (an IntEnum's too: is_differentiable)
    if isinstance(x, _NUMBER_TYPES):
        return _to_float(dx)
    if is_array(x):
        return None if x.dtype.kind == "b" else _project_array(dx, x)
    if isinstance(x, tuple) and hasattr(t, "_fields"):
        return _project_namedtuple(dx, x)
    if t is tuple or t is list:
        return _project_sequence(dx, x)
    if isinstance(x, dict) and type(dx) is not Tangent and t is not KeywordGrads:
        return _project_dict(dx, x)
    if type(dx) is Tangent:
        return _project_object(dx, x)
    return dx


def _to_float(dx):
    if is_array(dx) or isinstance(dx, np.generic):
        if getattr(dx, "size", 1) != 1:
            raise ValueError(f"gradient of a scalar argument has shape {dx.shape}")
        dx = dx.reshape(()) if is_array(dx) else dx
        v = dx.item() if hasattr(dx, "item") else dx
        return v.real if isinstance(v, complex) else float(v)
    if isinstance(dx, complex):
        return dx.real
    return float(dx)


def _project_array(dx, x):
    xp = xp_of(x)
    dtype = x.dtype if x.dtype.kind in "fc" else np.dtype(np.float64)
    if xp is np and is_array(dx) and not isinstance(dx, np.ndarray):
        dx = dx.get()  # a host argument moved to the device inside f: its gradient comes back to the host
    dx = xp.asarray(dx)
    if dx.shape != x.shape:
        try:
            dx = xp.broadcast_to(dx, x.shape)
        except ValueError as error:
            raise FluxpyError(GRADIENT_SHAPE.format(shape=dx.shape, x=x.shape)) from error
    if dtype.kind == "f" and dx.dtype.kind == "c":
        dx = dx.real
    if dx.dtype != dtype:
        dx = dx.astype(dtype)
    elif _read_only(dx) or (x.ndim and not dx.flags.owndata and dx.base is None):
        dx = dx.copy()
    return dx


def _read_only(dx):
    """NumPy's ``writeable`` flag. CuPy's flags have none (its arrays are always writable), so there a
    broadcast view (a zero stride over more than one element) counts as read-only: it must be copied."""
    if isinstance(dx, np.ndarray):
        return not dx.flags.writeable
    return any(s == 0 and n > 1 for s, n in zip(dx.strides, dx.shape, strict=True))


def _project_sequence(dx, x):
    if isinstance(dx, Tangent) or dx is None:
        return dx
    if len(dx) > len(x) and type(x) is list and all(d is None for d in dx[len(x) :]):
        dx = dx[: len(x)]  # f appended ints or strings to its copy of the list (interface_args.owned)
    items = [project(d, v) for d, v in zip(dx, x, strict=True)]
    if all(i is None for i in items):
        return None
    return type(x)(items)


def _project_namedtuple(dx, x):
    if isinstance(dx, Tangent):
        dx = tuple(dx._fields.get(f) for f in x._fields)
    items = [project(d, v) for d, v in zip(dx, x, strict=True)]
    if all(i is None for i in items):
        return None
    return type(x)(*items)


def _project_dict(dx, x):
    """The gradient of a dict: the same keys in the same order (``None`` for a key that got none), and the
    same type for a subclass (``OrderedDict``; a ``defaultdict`` keeps its ``default_factory``)."""
    out = {k: project(dx.get(k), v) for k, v in x.items()}
    if all(v is None for v in out.values()):
        return None
    return _same_dict_type(x, out)


def _same_dict_type(x, items):
    t = type(x)
    if t is dict:
        return items
    try:
        return t(x.default_factory, items) if isinstance(x, defaultdict) else t(items)
    except TypeError:  # a subclass whose constructor takes other arguments: a plain dict, same keys
        return items


def _project_object(dx, x):
    fields = {name: None for name in functors.children(x)} if functors.is_functor(x) else {}
    for k, d in dx._fields.items():
        try:
            primal = getattr(x, k)
        except AttributeError:
            primal = _closure_value(x, k)
        fields[k] = project(d, primal) if primal is not _MISSING else d
    if all(v is None for v in fields.values()):
        return None
    return Tangent(dx._type, fields)


_MISSING = object()


def _closure_value(fn, name):
    code = getattr(fn, "__code__", None)
    if code is None or name not in code.co_freevars:
        return _MISSING
    return fn.__closure__[code.co_freevars.index(name)].cell_contents


# ---------------------------------------------------------------------------------------------------------
# checking a cotangent given to ``back`` (fx.pullback) against the output


def fit_cotangent(dy, y):
    """``dy`` checked against the output ``y`` (:func:`check_cotangent`); a number or an array with fewer
    dimensions is broadcast to an array output's shape, as rules take ``dy`` shaped like ``y``."""
    check_cotangent(dy, y)
    if is_array(y) and broadcast_needed(dy, y):
        return dy * xp_of(y).ones(y.shape, dtype=y.dtype if y.dtype.kind in "fc" else np.float64)
    return dy


def check_cotangent(dy, y, path=""):
    """A FluxpyError unless the cotangent ``dy`` given to ``back`` fits the output ``y``: an array's
    broadcasts to its shape, a tuple's or list's has one entry per item (None: no cotangent), a dict's has
    no other keys. Cheap checks only: ``back`` may run once per output element (``fx.jacobian``)."""
    if isinstance(dy, (str, bytes)) or (is_array(dy) and dy.dtype.kind in "USV"):
        raise FluxpyError(errors.COTANGENT_TYPE.format(path=path, given=_describe(dy), what=_describe(y)))
    if is_array(y):
        if is_array(dy) or isinstance(dy, np.generic):
            if dy.shape != y.shape and not _broadcasts(dy.shape, y.shape) and (y.ndim or dy.size != 1):
                raise _cotangent_shape_error(dy, y.shape, path)
        elif isinstance(dy, (tuple, list, dict)):
            raise _cotangent_structure_error(dy, y, path)
    elif isinstance(y, (tuple, list)):
        if isinstance(dy, (tuple, list)):
            if len(dy) != len(y):
                raise _cotangent_structure_error(dy, y, path)
            for i, (d, v) in enumerate(zip(dy, y, strict=True)):
                if d is not None:
                    check_cotangent(d, v, f"{path}[{i}]")
        elif is_array(dy) or isinstance(dy, (Number, np.generic, dict)):
            raise _cotangent_structure_error(dy, y, path)
    elif type(y) is dict:
        if type(dy) is dict:
            unknown = [k for k in dy if k not in y]
            if unknown:
                raise FluxpyError(
                    f"back(dy): dy{path} has the keys {unknown}, which the output y{path} does not have "
                    f"(its keys: {list(y)})"
                )
            for k, d in dy.items():
                if d is not None:
                    check_cotangent(d, y[k], f"{path}[{k!r}]")
        elif is_array(dy) or isinstance(dy, (Number, np.generic, tuple, list)):
            raise _cotangent_structure_error(dy, y, path)
    elif isinstance(y, (Number, np.generic)) and not isinstance(y, str):
        if is_array(dy) and dy.size != 1:
            raise _cotangent_shape_error(dy, (), path)
        if isinstance(dy, (tuple, list, dict)):
            raise _cotangent_structure_error(dy, y, path)


def broadcast_needed(dy, y):
    """Whether ``dy``, a number or an array with fewer dimensions, is broadcast to the array output ``y``."""
    if is_array(dy):
        return dy.shape != y.shape and _broadcasts(dy.shape, y.shape)
    return isinstance(dy, (Number, np.generic)) and y.ndim > 0


def _broadcasts(shape, out):
    try:
        return np.broadcast_shapes(shape, out) == out
    except ValueError:
        return False


def _cotangent_shape_error(dy, shape, path):
    return FluxpyError(errors.COTANGENT_SHAPE.format(path=path, shape=dy.shape, out=shape))


def _cotangent_structure_error(dy, y, path):
    what, given = _describe(y), _describe(dy)
    return FluxpyError(errors.COTANGENT_STRUCTURE.format(path=path, what=what, given=given))


def _describe(v):
    """``a tuple of 2 entries``, ``an ndarray``: for messages."""
    name = type(v).__name__
    out = f"{'an' if name[:1] in ('a', 'e', 'i', 'o', 'u') or name == 'ndarray' else 'a'} {name}"
    if isinstance(v, (tuple, list, dict)):
        out += f" of {len(v)} entr{'y' if len(v) == 1 else 'ies'}"
    return out
