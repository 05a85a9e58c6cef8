"""Fixes from the 13th transform bug hunt (reproductions in /tmp/hunt13_transform), runtime dispatch: bound
methods of arrays and dicts taken as values carry their receiver's cotangent; the methods of Python floats,
ints and complex numbers run the rules of the operators they implement (or are refused, never a silent
zero); a method reached through a wrapper's ``__getattr__`` differentiates the delegation; and
``operator.itemgetter``/``attrgetter``/``methodcaller``, ``types.SimpleNamespace`` and ``dict.fromkeys``."""

import bisect
import operator
import types

import numpy as np
import pytest

import fluxpy as fx
from fluxpy.testing import check_grads

A = np.array([1.0, 2.0])
X = np.array([[1.0, 2.0], [3.0, 4.0]])


# ---------------------------------------------------------------------------------------------------------
# bound methods of arrays and dicts taken as values


def picked_reduction(a):
    reducer = a.sum if a.ndim == 1 else a.max
    return reducer() ** 2


def mean_method(a):
    m = a.mean
    return m() * a[0]


def getattr_method(a):
    return getattr(a, "prod")() * a[1]


def mapped_dot(w):
    return sum(map(w.dot, X)) ** 2


def along_axis_dot(w):
    return np.sum(np.apply_along_axis(w.dot, 1, X) ** 2)


def mapped_dict_get(x):
    d = {"a": x[0], "b": x[1] ** 2}
    return sum(map(d.get, ["a", "b"])) * x[0]


def dict_values_method(x):
    d = {"a": x[0], "b": x[1] ** 2}
    vals = d.values
    return sum(vals()) * x[1]


@pytest.mark.parametrize(
    "f",
    [
        picked_reduction,
        mean_method,
        getattr_method,
        mapped_dot,
        along_axis_dot,
        mapped_dict_get,
        dict_values_method,
    ],
)
def test_a_bound_method_taken_as_a_value(f):
    check_grads(f, A, order=2, forward=True)


def test_a_bound_method_taken_as_a_value_known_gradients():
    assert np.allclose(fx.gradient(picked_reduction, A)[0], [6.0, 6.0])
    assert np.allclose(fx.gradient(mean_method, A)[0], [2.0, 0.5])
    assert np.allclose(fx.gradient(lambda w: sum(map(w.dot, X)), np.array([0.5, -1.0]))[0], [4.0, 6.0])


# ---------------------------------------------------------------------------------------------------------
# methods of Python numbers


def conjugate_times(x):
    return x.conjugate() * x


def neg_times(x):
    return x.__neg__() * x


def abs_method(x):
    return x.__abs__() * 2 + (-x).__abs__() * x


def float_method(x):
    return x.__float__() * x


def complex_abs(x):
    return complex(x, 1.0).__abs__()


def pow_method(x):
    return x.__pow__(2) + x.__rpow__(2.0) + x.__pow__(x)


def rsub_method(x):
    return x.__rsub__(1.0) * x


def real_times(x):
    return x.real * x + x.imag


def binary_methods(x):
    y = x.__add__(1.0) * x.__sub__(0.5) + x.__mul__(3) - x.__radd__(2) * x.__rmul__(0.5)
    return y + x.__truediv__(2.0) + x.__rtruediv__(1.0) + x.__mod__(1.0) + x.__rmod__(7.0)


def divmod_method(x):
    q, r = x.__divmod__(0.7)
    return q + r * x + x.__floordiv__(0.3) + x.__pos__() * x


def complex_conjugate(x):
    z = complex(x, 2.0)
    return (z * z.conjugate()).real + complex(x, 2.0).conjugate().real


def complex_methods(x):
    z = complex(x, 0.5)
    w = z.__mul__(z).__add__(1.0).__rtruediv__(2.0)
    return w.real + w.imag * x + z.__neg__().imag


def bound_number_methods(x):
    m = x.__neg__
    c = x.conjugate
    return m() * x + c() + sum(map(x.__mul__, [1.0, 2.0]))


def unbound_number_methods(x):
    return float.__mul__(x, 2.0) * x + float.conjugate(x) + float.__rsub__(x, 1.0)


def constant_results(x):
    k = len(x.hex()) + x.is_integer() + x.__lt__(2.0) + x.__int__() + x.__round__()
    return x * k + x.__trunc__() + x.__ceil__()


def not_implemented(x):
    r = x.__mul__(np.ones(2))
    s = x.__add__("a")
    return x * (r is NotImplemented) * (s is NotImplemented)


NUMBER_METHODS = [
    conjugate_times,
    neg_times,
    abs_method,
    float_method,
    complex_abs,
    pow_method,
    rsub_method,
    real_times,
    binary_methods,
    divmod_method,
    complex_conjugate,
    complex_methods,
    bound_number_methods,
    unbound_number_methods,
    constant_results,
    not_implemented,
]


@pytest.mark.parametrize("f", NUMBER_METHODS)
def test_methods_of_a_python_number(f):
    check_grads(f, 1.3, order=2, forward=True)
    assert fx.withgradient(f, 1.3).val == f(1.3)


@pytest.mark.parametrize(
    ("f", "right"),
    [
        (conjugate_times, 3.0),
        (neg_times, -3.0),
        (float_method, 3.0),
        (rsub_method, -2.0),
        (real_times, 3.0),
        (complex_conjugate, 4.0),
    ],
)
def test_methods_of_a_python_number_known_gradients(f, right):
    assert fx.gradient(f, 1.5)[0] == pytest.approx(right)
    assert fx.jvp(f, (1.5,), (1.0,))[1] == pytest.approx(right)


def pickled_arguments(x):
    return x.__getnewargs__()[0] * x


def integer_ratio(x):
    p, q = x.as_integer_ratio()
    return x * p / q


def subclass_operand(x):
    return x.__add__(np.float64(2.0)) * x


@pytest.mark.parametrize("f", [pickled_arguments, integer_ratio, subclass_operand])
def test_an_unknown_method_of_a_number_is_refused(f):
    with pytest.raises(fx.NoAdjointError):
        fx.gradient(f, 1.5)
    with pytest.raises(fx.NoAdjointError):
        fx.jvp(f, (1.5,), (1.0,))


def test_methods_of_a_number_without_gradients_run_plainly():
    def f(x, n):
        return x * n.__add__(1).__mul__(2) * n.bit_length()

    assert fx.gradient(f, 1.5, 3) == (16.0, 6.0)  # ints are treated as reals


# ---------------------------------------------------------------------------------------------------------
# a method reached through a wrapper's __getattr__ (or a property)


class Lin:
    def __init__(self, w):
        self.w = w

    def f(self, x):
        return self.w * x


class Wrapper:
    def __init__(self, inner):
        self._inner = inner

    def __getattr__(self, name):
        return getattr(self._inner, name)


class Holder:
    def __init__(self, inner):
        self.inner = inner

    @property
    def apply(self):
        return self.inner.f


def delegated(w, x):
    return Wrapper(Lin(w)).f(x) * w


def through_property(w, x):
    return Holder(Lin(w)).apply(x) ** 2


@pytest.mark.parametrize("f", [delegated, through_property])
def test_a_method_reached_through_python_code(f):
    check_grads(f, 1.5, 2.0, order=2, forward=True)


def test_a_delegated_method_gradients():
    assert fx.gradient(lambda w, x: Wrapper(Lin(w)).f(x), 1.5, 2.0) == (2.0, 1.5)
    g = fx.gradient(lambda m, x: m.f(x), Wrapper(Lin(1.5)), 2.0)
    assert type(g[0]) is fx.Tangent and g[0].primal_type is Wrapper
    assert g[0]._inner.w == 2.0 and g[1] == 1.5


# ---------------------------------------------------------------------------------------------------------
# operator's getters, SimpleNamespace, dict.fromkeys, bisect


def item_getters(x):
    one = operator.itemgetter(1)([x[0], x[1]]) * 2
    two = sum(operator.itemgetter(0, 2)(x)) * x[0]
    sliced = np.sum(operator.itemgetter(slice(1, None))(x) ** 2)
    keyed = operator.itemgetter("b")({"a": x[0], "b": x[2] ** 2})
    return one + two + sliced + keyed


def attribute_getters(x):
    ns = types.SimpleNamespace(a=x[1] * 1j + x[0], b=x[2])
    first = operator.attrgetter("real")(x[0] + 0j) * 2
    imag, b = operator.attrgetter("a.imag", "b")(ns)
    return first + imag * b * x[0]


def method_callers(x):
    total = operator.methodcaller("sum")(x) * x[0]
    dotted = operator.methodcaller("dot", np.array([1.0, 2.0, 3.0]))(x**2)
    clipped = np.sum(operator.methodcaller("clip", 1.5, max=2.5)(x) ** 2)
    return total + dotted + clipped


def namespaces(x):
    ns = types.SimpleNamespace(a=x[0], b=x[1] ** 2)
    other = types.SimpleNamespace(ns=ns, c=x[2])
    return ns.a * ns.b + other.ns.b * other.c


def dict_from_keys(x):
    d = dict.fromkeys("ab", x[0] ** 2)
    e = dict.fromkeys(["u", "v", "w"])
    return sum(d.values()) * x[1] + len(e)


def bisected(x):
    return x[0] * bisect.bisect([0.0, 1.5, 2.5], x[1]) + x[2] * bisect.bisect_left([1.0, 3.5], x[2])


@pytest.mark.parametrize(
    "f", [item_getters, attribute_getters, method_callers, namespaces, dict_from_keys, bisected]
)
def test_getters_namespaces_and_fromkeys(f):
    x = np.array([1.0, 2.0, 3.0])
    check_grads(f, x, order=2, forward=True)
    assert fx.withgradient(f, x).val == f(x)


def test_getters_known_gradients():
    x = np.array([1.0, 2.0, 3.0])
    assert np.allclose(fx.gradient(lambda x: operator.itemgetter(1)([x[0], x[1]]) * 2, x)[0], [0, 2, 0])
    assert np.allclose(fx.gradient(lambda x: types.SimpleNamespace(a=x[0]).a * 2, x)[0], [2, 0, 0])
    assert np.allclose(fx.gradient(lambda x: sum(dict.fromkeys("ab", x[0]).values()), x)[0], [2, 0, 0])


def caller_from_a_gradient(a, b):
    m = operator.methodcaller("__mul__", b)
    return m(a)


def test_a_methodcaller_made_from_a_value_with_a_gradient_is_refused():
    with pytest.raises(fx.NoAdjointError):
        fx.gradient(caller_from_a_gradient, 1.5, 2.0)
    g = fx.gradient(lambda m, y: m(y), operator.methodcaller("__mul__", 2.0), 3.0)
    assert g[1] == 2.0 and g[0].args == (3.0,)  # the caller's own argument's gradient, in its cotangent
    g = fx.gradient(lambda m, y: np.sum(m(y)), operator.methodcaller("clip", None, 2.0), np.array([1.0, 3.0]))
    assert np.allclose(g[1], [1.0, 0.0]) and g[0].args == (None, 1.0)
