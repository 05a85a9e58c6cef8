"""Attribute hooks: where reading or writing ``obj.name`` runs Python code of the user's class, that code
is differentiated instead of the plain field read or write.

Python resolves ``obj.name`` through the class: a property's getter, a descriptor's ``__get__``, a
``functools.cached_property``, ``__getattr__`` when nothing else has the name; and ``obj.name = v`` through
a class's own ``__setattr__``, then a property's setter. :func:`read_hook` and :func:`write_hook` find that
code (None when the access is a plain field, the common case); the rules of ``getattr`` and of attribute
writes (rules/python_attributes.py) then differentiate it with ``runtime.call``, and their forward rules
(rules/forward_objects.py) with its JVP. Setters run as constructors do: transformed as functions that
return their object, so that the writes in their body (``self._w = v``) are differentiated.

>>> class Celsius:
...     def __init__(self, kelvin):
...         self.kelvin = kelvin
...     @property
...     def degrees(self):
...         return self.kelvin - 273.15
>>> read_hook(Celsius(300.0), "degrees")[1:]
((1,), 1)
>>> read_hook(Celsius(300.0), "kelvin") is None
True
"""

import enum
import functools
from types import FunctionType

import numpy as np

from ..backend import is_array
from ..errors import FluxpyError
from .registry import nograd

MISSING = object()


@nograd
def class_attribute(cls, name):
    """``name`` in the first class of ``cls``'s MRO that defines it (``MISSING`` when none does)."""
    for klass in cls.__mro__:
        attr = klass.__dict__.get(name, MISSING)
        if attr is not MISSING:
            return attr
    return MISSING


@nograd
def read_hook(obj, name):
    """``(function, arguments, index)`` when reading ``obj.name`` runs Python code: ``function(*arguments)``
    gives the value, and the gradient of ``obj`` is entry ``index`` of its pullback's result (``runtime.call``
    convention: entry 0 is the function's own). ``arguments`` holds positions: 1 stands for ``obj`` (for a
    super() proxy, for the object it proxies: see :func:`proxied`). None for a plain field (and for methods,
    slots, namedtuple fields and builtin descriptors)."""
    cls = type(obj)
    if cls is super:
        return _super_read_hook(obj, name)
    if is_array(obj) or issubclass(cls, np.generic):
        return None  # arrays have attribute rules of their own
    if isinstance(obj, enum.Enum):
        return None  # a member's ``value`` and ``name`` (enum's own descriptors) are constants: read plainly
    attr = class_attribute(cls, name)
    if type(attr) is property:
        return (attr.fget, (1,), 1) if type(attr.fget) is FunctionType else None
    if attr is not MISSING:
        get = getattr(type(attr), "__get__", None)
        data = hasattr(type(attr), "__set__") or hasattr(type(attr), "__delete__")
        in_instance = name in getattr(obj, "__dict__", ())
        if type(attr) is functools.cached_property:
            # computed on each differentiated read (not stored), so that every read has the gradient
            return None if in_instance else (attr.func, (1,), 1)
        if type(get) is FunctionType and (data or not in_instance):
            return (get, (attr, 1, cls), 2)
        return None
    getattr_hook = getattr(cls, "__getattr__", None)
    if type(getattr_hook) is FunctionType and name not in getattr(obj, "__dict__", ()) and not _own(cls):
        return (getattr_hook, (1, name), 1)
    return None


def _super_read_hook(proxy, name):
    """``super().name``: Python looks ``name`` up on the classes after the method's class in the object's
    MRO (never in the object's ``__dict__``, nor through ``__getattr__``), and calls a property's getter or
    a descriptor's ``__get__`` with the object itself. Position 1 then stands for that object
    (:func:`proxied`), whose gradient is the proxy's."""
    target = proxy.__self__
    if target is None or isinstance(target, type):  # an unbound super, or one in a classmethod
        return None
    mro = proxy.__self_class__.__mro__
    for klass in mro[mro.index(proxy.__thisclass__) + 1 :]:
        attr = klass.__dict__.get(name, MISSING)
        if attr is MISSING:
            continue
        if type(attr) is property:
            return (attr.fget, (1,), 1) if type(attr.fget) is FunctionType else None
        if type(attr) is functools.cached_property:
            return (attr.func, (1,), 1)
        get = getattr(type(attr), "__get__", None)
        return (get, (attr, 1, proxy.__self_class__), 2) if type(get) is FunctionType else None
    return None


def proxied(obj):
    """The object whose code a read hook of ``obj`` runs on: ``obj`` itself, or what a super() proxies
    (differentiated: the rules calling it are, at second order)."""
    return obj.__self__ if type(obj) is super else obj


@nograd
def write_hook(obj, name):
    """``(function, kind)`` when ``obj.name = value`` runs Python code of ``obj``'s class: its own
    ``__setattr__`` (kind ``"setattr"``: called ``function(obj, name, value)``) or a property's setter
    (``"property"``: ``function(obj, value)``). None for a plain field write. A data descriptor of another
    kind with a Python ``__set__`` is refused (its ``__set__`` writes into an object that is not its first
    argument, which fluxpy does not follow)."""
    setattr_hook = getattr(type(obj), "__setattr__", None)
    if type(setattr_hook) is FunctionType and not _own(type(obj)):
        return setattr_hook, "setattr"
    return descriptor_write_hook(obj, name)


@nograd
def descriptor_write_hook(obj, name):
    """``write_hook`` past the class's ``__setattr__``: what ``object.__setattr__(obj, name, value)`` runs."""
    attr = class_attribute(type(obj), name)
    if type(attr) is property:
        return (attr.fset, "property") if type(attr.fset) is FunctionType else None
    if attr is not MISSING and type(getattr(type(attr), "__set__", None)) is FunctionType:
        raise FluxpyError(
            f"writing {type(obj).__name__}.{name} runs {type(attr).__name__}.__set__, a descriptor that "
            "fluxpy does not differentiate through (a gradient would be lost); use a property, or a plain "
            "attribute"
        )
    return None


def _own(cls):
    """fluxpy's own classes (Tangent, an optimiser state's Tree): their ``__getattr__`` reads fields and
    their ``__setattr__`` refuses writes, which the plain rules follow."""
    return cls.__module__.startswith("fluxpy.")


@nograd
def parent_setattr(cls, obj):
    """The ``__setattr__`` after ``cls`` in ``obj``'s MRO (``super().__setattr__`` in a method of ``cls``):
    None when it is ``object``'s."""
    mro = type(obj).__mro__
    for klass in mro[mro.index(cls) + 1 :]:
        hook = klass.__dict__.get("__setattr__")
        if hook is not None:
            return hook if type(hook) is FunctionType else None
    return None


ITSELF = object()


@nograd
def entered_field(manager, entered):
    """How the value ``v`` of ``with manager as v`` relates to ``manager``: ``ITSELF`` when ``__enter__``
    returned the manager (the common case), the name of the manager's field holding it, or None (a value
    made by ``__enter__``, whose code runs as Python's ``with`` calls it, undifferentiated)."""
    if entered is manager:
        return ITSELF
    for name, value in getattr(manager, "__dict__", {}).items():
        if value is entered:
            return name
    return None


@nograd
def refuse_entered(manager, entered):
    """Called when ``v`` of ``with manager as v`` needs a gradient that cannot be routed to ``manager``."""
    from ..runtime import _carries_float, user_location

    if _carries_float(entered) and _carries_float(manager):
        raise FluxpyError(
            f"the value a `with ... as` target gets from {type(manager).__name__}.__enter__ is neither the "
            "context manager nor one of its attributes, and fluxpy does not differentiate __enter__: its "
            f"gradient would be lost.\n  {user_location()}\nReturn self (or an attribute) from __enter__, "
            "or compute the value before the with block."
        )
