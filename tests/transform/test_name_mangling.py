"""Private names (``self.__w``) in the body of a class are mangled as CPython compiles them (``self._A__w``):
fluxpy re-parses a method's source outside its class, so the parse stage mangles them itself."""

import ast
import types

import gast
import numpy as np
import pytest

import fluxpy as fx
from fluxpy.testing import check_grads
from fluxpy.transform import parse, source

# ---------------------------------------------------------------------------------------------------------
# The rule, against CPython's compiler


@pytest.mark.parametrize("cls", ["A", "_A", "__A", "A_", "A__b", "___", "_"])
@pytest.mark.parametrize("name", ["__w", "__w_", "_w", "w", "__w__", "__", "___", "__a__b", "__W9"])
def test_the_rule_is_cpythons(cls, name):
    code = compile(f"class {cls}:\n    def f(self):\n        return self.{name}\n", "<rule>", "exec")
    body = next(c for c in code.co_consts if isinstance(c, types.CodeType))
    method = next(c for c in body.co_consts if isinstance(c, types.CodeType))
    assert parse.mangled(name, cls) == method.co_names[0]


def test_no_class_no_dotted_names():
    assert parse.mangled("__w", None) == "__w"
    assert parse.mangled("__m.sub", "A") == "__m.sub"


# Compiled, never run: every kind of identifier CPython mangles, and some it leaves alone.
class _Probe:
    def __every(self, __p, *__a, __k=1, **__kw):
        global __g
        import __m1  # noqa: I001 (the order below is the probe's)
        import os as __o
        from __m3 import __n, x as __y
        from . import __rel

        __loc = __p + __g
        self.__w = __loc
        self.__w.__v += len(__a)
        f(__kw=1, key=__k)  # noqa: F821 (a keyword's name is not mangled)
        del self.__w
        try:
            pass
        except ValueError as __e:
            print(__e)

        def __inner(__q):
            nonlocal __loc
            return __q + __loc + self.__w

        __fn = lambda __l: __l + __inner(1)  # noqa: E731

        class __C(__B := object):
            __cv = 1

            def m(self):
                return self.__cv + __gx  # noqa: F821 (mangled with C, not _Probe)

        values = [__c * __fn(__c) for __c in __m1.__it if __c]
        getattr(self, "__w")  # a string: never mangled
        self.__d__, self.__, self.___, self.__a_
        match values:
            case P(__ka=__cap):  # noqa: F821 (a match class's attribute name is not mangled)
                pass
            case {"k": 1, **__rest}:
                pass
            case [*__st]:
                pass
        return __o, __n, __y, __rel, __C, __B, __cap, __rest, __st, __kw  # noqa: F821


class ___:  # a class name of underscores only mangles nothing
    def plain(self, __p):
        return self.__z + __p


def _outside(x):  # not in a class: nothing is mangled, but a nested class's body is
    class __Local:
        def get(self):
            return self.__v

    return __Local, x.__v


def _names(code, top=True):
    """Every identifier of ``code`` and the code objects it makes, in order. Not the names of nested
    functions and classes: CPython binds ``def __inner`` to ``_A__inner`` but names the function ``__inner``;
    a def statement has one name for both, the mangled one."""
    out = [code.co_name if top else None, code.co_names, code.co_varnames, code.co_freevars, code.co_cellvars]
    for const in code.co_consts:
        if isinstance(const, types.CodeType):
            out.append(_names(const, top=False))
    return out


def _recompiled(fn):
    """``fn`` parsed as fluxpy parses it and compiled outside any class."""
    src = source.get_source(fn)
    fdef = parse.to_function_def(src.node, fn.__code__.co_name, src.private)
    module = ast.fix_missing_locations(ast.Module(body=[gast.gast_to_ast(fdef)], type_ignores=[]))
    code = compile(module, src.file, "exec")
    return next(c for c in code.co_consts if isinstance(c, types.CodeType))


@pytest.mark.parametrize("fn", [_Probe._Probe__every, ___.plain, _outside], ids=lambda f: f.__qualname__)
def test_mangled_as_cpython_does(fn):
    assert _names(_recompiled(fn)) == _names(fn.__code__)


def _dunders_only(x):
    return x.__class__.__name__, x.__len__()


def test_a_function_with_no_private_name_is_not_walked():
    assert not source.get_source(_dunders_only).private_names
    assert source.get_source(_outside).private_names  # (its nested class's body mangles)
    assert source.get_source(___.plain).private_names


def test_the_enclosing_class_is_the_innermost():
    class Outer:
        def method(self):
            class Inner:
                def get(self):
                    return lambda: self.__v

            return Inner, lambda: self.__v

    inner, outer_lambda = Outer().method()
    assert source.get_source(inner.get).private == "Inner"
    assert source.get_source(inner().get()).private == "Inner"
    assert source.get_source(outer_lambda).private == "Outer"
    assert source.get_source(Outer.method).private == "Outer"
    assert source.get_source(_outside).private is None


# ---------------------------------------------------------------------------------------------------------
# Differentiated


class Scaler:
    def __init__(self, w):
        self.__w = w

    def __scale(self, x):
        return self.__w * x

    def __call__(self, x):
        return self.__scale(x) ** 2


class Base:
    def __init__(self, w):
        self.__w = w

    def fa(self):
        return self.__w


class Derived(Base):
    def __init__(self, w, v):
        super().__init__(w)
        self.__w = v  # _Derived__w: Base's _Base__w is another attribute

    def fb(self):
        return self.__w


def base_and_derived(w, v):
    b = Derived(w, v)
    return b.fa() * 10.0 + b.fb()


def scaled(w, x):
    return Scaler(w)(x)


def test_private_attribute_and_method():
    assert fx.gradient(scaled, 1.5, 2.0) == pytest.approx((2 * 1.5 * 4, 2 * 1.5**2 * 2))
    check_grads(scaled, 1.5, 2.0, order=2, forward=True)


def test_base_and_subclass_keep_their_own_private_attribute():
    value, grad = fx.withgradient(base_and_derived, 1.0, 2.0)
    assert value == base_and_derived(1.0, 2.0) == 12.0
    assert grad == pytest.approx((10.0, 1.0))
    assert fx.jvp(base_and_derived, (1.0, 2.0), (1.0, 0.0)) == pytest.approx((12.0, 10.0))
    check_grads(base_and_derived, 1.0, 2.0, order=2, forward=True)


class Layer:
    def __init__(self, w):
        self.__w = w

    def __call__(self, x):
        return self.__w * x


def test_object_built_outside():
    layer = Layer(1.5)
    dlayer, dx = fx.gradient(lambda m, x: m(x), layer, 2.0)
    assert dlayer._Layer__w == 2.0
    assert dx == 1.5
    assert fx.gradient(lambda x: layer(x), 2.0) == (1.5,)


_Helper__table = 3.0  # what ``__table`` in a method of class ``_Helper`` reads (CPython mangles globals too)


class _Helper:  # a leading underscore: stripped from the mangled names (``_Helper__k``)
    def __init__(self, k):
        self.__k = k
        setattr(self, "__raw", 100.0)  # a string is not mangled: an attribute named ``__raw``

    def __power(self, __x):
        __square = __x * __x
        return [__square * __t for __t in (self.__k, __table)]  # noqa: F821 (_Helper__table)

    def total(self, x):
        __f = lambda __y: self.__power(__y)[0]  # noqa: E731 (a lambda in a method mangles with its class)

        def __twice(__z):
            return 2.0 * __f(__z)

        return __twice(x) + sum(self.__power(x)) + getattr(self, "__raw") * 0.0


def helper_total(k, x):
    return _Helper(k).total(x)


def test_names_in_nested_functions_lambdas_comprehensions_and_globals():
    k, x = 1.5, 2.0
    assert helper_total(k, x) == 2 * k * x**2 + k * x**2 + 3.0 * x**2
    assert fx.withgradient(helper_total, k, x).val == helper_total(k, x)
    check_grads(helper_total, k, x, order=2, forward=True)


class Vector:
    def __init__(self, values):
        self.__values = values

    def __norm2(self):
        return np.sum(self.__values**2)

    def energy(self):
        return 0.5 * self.__norm2()


def test_arrays_through_private_attributes():
    x = np.array([1.0, -2.0, 3.0])
    np.testing.assert_allclose(fx.gradient(lambda v: Vector(v).energy(), x)[0], x)
    check_grads(lambda v: Vector(v).energy(), x, order=2, forward=True)
