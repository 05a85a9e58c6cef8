"""Reading and writing attributes through the class's own code: property getters and setters, a class's
``__setattr__`` (calling ``object.__setattr__`` or ``super().__setattr__``), ``__getattr__``,
descriptors' ``__get__``, ``functools.cached_property``, ``setattr(self, name, value)`` in ``__init__``.
Each was bypassed (the write or read treated as a plain field): the gradient through the hook was lost,
silently."""

import functools

import numpy as np
import pytest

import fluxpy as fx
from fluxpy.testing import check_grads


class Squared:
    def __init__(self, w):
        self.w = w  # runs the setter

    @property
    def w(self):
        return self._w * 2

    @w.setter
    def w(self, v):
        self._w = v**2


class Tripled:
    def __init__(self, w):
        self.w = w

    def __setattr__(self, name, value):
        object.__setattr__(self, name, value * 3)


class TripledBySuper(Tripled):
    def __setattr__(self, name, value):
        super().__setattr__(name, value + 1)  # then Tripled's: (value + 1) * 3


class Halved:
    def __init__(self, w):
        self.w = w

    def __setattr__(self, name, value):
        super().__setattr__(name, value / 2)  # object's: a plain write


class Delegating:
    def __init__(self, w):
        self.w = w

    def __getattr__(self, name):
        return self.w * 5  # any missing attribute


class Cached:
    def __init__(self, w):
        self.w = w

    @functools.cached_property
    def square(self):
        return self.w**2


class Doubled:
    """A non-data descriptor with a Python ``__get__``."""

    def __get__(self, obj, owner=None):
        return obj.w * 2


class WithDescriptor:
    twice = Doubled()

    def __init__(self, w):
        self.w = w


class Settable:
    def __init__(self, **fields):
        for name, value in fields.items():
            setattr(self, name, value)


def through_setter(x):
    return np.sum(Squared(x).w)


def through_setattr(x):
    return np.sum(Tripled(x).w ** 2)


def through_super_setattr(x):
    return np.sum(TripledBySuper(x).w * x)


def through_object_setattr_via_super(x):
    return np.sum(Halved(x).w ** 2)


def through_getattr(x):
    return np.sum(Delegating(x).anything * x)


def through_cached_property(x):
    c = Cached(x)
    return np.sum(c.square + c.square * x)


def through_descriptor(x):
    return np.sum(WithDescriptor(x).twice ** 2)


def through_builtin_setattr(x):
    s = Settable(a=x, b=x * 2)
    return np.sum(s.a * s.b)


def setter_after_construction(x):
    s = Squared(x)
    s.w = x * 3  # a local object: its attribute may be written
    return np.sum(s.w)


CASES = [
    through_setter,
    through_setattr,
    through_super_setattr,
    through_object_setattr_via_super,
    through_getattr,
    through_cached_property,
    through_descriptor,
    through_builtin_setattr,
    setter_after_construction,
]


@pytest.mark.parametrize("f", CASES)
def test_attribute_hooks_are_differentiated(f):
    check_grads(f, np.array([0.5, 1.5]), order=2, forward=True)


def test_property_setter_gradient_value():
    # w stored as v**2, read as 2 * v**2: d/dx sum(2 x**2) = 4 x
    np.testing.assert_allclose(fx.gradient(through_setter, np.array([0.5, 1.5]))[0], [2.0, 6.0])


def test_cached_property_is_left_uncached_by_a_gradient_and_read_when_cached():
    c = Cached(np.array([1.0, 2.0]))
    (g,) = fx.gradient(lambda c: np.sum(c.square), c)
    np.testing.assert_allclose(g.w, [2.0, 4.0])
    assert "square" not in c.__dict__  # computed for the gradient, not stored into the caller's object


class Offset:
    def __set_name__(self, owner, name):
        self.name = "_" + name

    def __get__(self, obj, owner=None):
        return getattr(obj, self.name)

    def __set__(self, obj, value):
        setattr(obj, self.name, value + 1)


class WithDataDescriptor:
    d = Offset()

    def __init__(self, w):
        self.d = w


def test_a_data_descriptor_with_a_python_set_is_refused():
    with pytest.raises(fx.FluxpyError, match=r"Offset.__set__"):
        fx.gradient(lambda x: np.sum(WithDataDescriptor(x).d), np.array([1.0]))
