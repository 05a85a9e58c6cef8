"""User classes through Python's protocols: ``super()`` attribute reads and method calls, ``pow`` with a
modulus, ``float(obj)``, the old sequence protocol (``__getitem__`` without ``__iter__``), a user ``__pow__``
in forward mode, ``namedtuple._asdict``, dataclasses with ``__post_init__``, and in-place operators
(``operator.iadd`` and friends, called as ``x = operator.iadd(x, y)``, which is ``x += y``) on user
classes."""

import operator
from collections import namedtuple
from dataclasses import InitVar, dataclass, field

import numpy as np
import pytest

import fluxpy as fx
from fluxpy.errors import FluxpyError
from fluxpy.testing import check_grads

# ---------------------------------------------------------------------------------------------------------
# super()


class Base:
    def __init__(self, a):
        self._a = a

    @property
    def a(self):
        return self._a * 2

    def val(self, x):
        return self._a * x

    def scaled(self, k):
        return Base(self._a * k)


class Derived(Base):
    @property
    def a(self):
        return super().a + self._a**2

    def val(self, x):
        return super().val(x) + x * x

    def scaled(self, k):
        return Base(super().scaled(k)._a + self._a)


def super_property(x):
    return Derived(x).a  # 2x + x^2


def super_method(x):
    return Derived(x).val(x)  # 2x^2


def super_method_object(x):
    return Derived(x).scaled(x)._a  # x^2 + x


def test_super_property_gradient():
    assert fx.withgradient(super_property, 1.5) == (5.25, (5.0,))
    assert fx.jvp(super_property, (1.5,), (1.0,)) == (5.25, 5.0)


@pytest.mark.parametrize("f", [super_property, super_method, super_method_object])
def test_super_reads_and_calls(f):
    check_grads(f, 1.5, order=2, forward=True)


def test_super_method_forward():
    assert fx.jvp(super_method, (1.5,), (1.0,)) == (4.5, 6.0)
    assert fx.jvp(super_method_object, (1.5,), (1.0,)) == (3.75, 4.0)


# ---------------------------------------------------------------------------------------------------------
# pow(a, b, mod), float(obj), a user __pow__ in forward mode


def modular_pow(x):
    return pow(2, 5, 3) * x + pow(x, 2) + pow(x, 3, None)


def test_three_argument_pow_is_an_int():
    assert fx.withgradient(modular_pow, 1.3).grad == pytest.approx((2.0 + 2.6 + 3 * 1.69,))
    check_grads(modular_pow, 1.3, order=2, forward=True)


class AsFloat:
    def __init__(self, v):
        self.v = v

    def __float__(self):
        return self.v * self.v


def float_of_object(x):
    return float(AsFloat(x)) * x  # x^3


def test_float_calls_dunder_float():
    wg = fx.withgradient(float_of_object, 1.5)
    assert type(wg.val) is float
    assert wg == (3.375, (6.75,))
    check_grads(float_of_object, 1.5, order=2, forward=True)


class BadFloat:
    def __float__(self):
        return 1


def test_float_dunder_returning_non_float():
    with pytest.raises(TypeError, match="__float__ returned non-float"):
        fx.gradient(lambda x: float(BadFloat()) * x, 1.0)


class Scales:
    def __init__(self, v):
        self.v = v

    def __pow__(self, p):  # not a power: scales by p
        return Scales(self.v * p)

    def __rpow__(self, p):
        return Scales(self.v + p)


def user_pow(x):
    return (Scales(x) ** 3).v + (2.0 ** Scales(x * x)).v


def test_user_pow_forward():
    assert fx.jvp(user_pow, (1.5,), (1.0,)) == (8.75, 6.0)
    check_grads(user_pow, 1.5, order=2, forward=True)


# ---------------------------------------------------------------------------------------------------------
# the old sequence protocol


class Seq:
    def __init__(self, xs):
        self.xs = xs

    def __len__(self):
        return len(self.xs)

    def __getitem__(self, i):
        return self.xs[i] * 2


def seq_for(x):
    s = 0.0
    for v in Seq(x):
        s = s + v * v
    return s


def seq_list(x):
    return np.sum(np.array(list(Seq(x))) ** 2)


def seq_genexp(x):
    return sum(v * v for v in Seq(x))


def seq_sum(x):
    return sum(Seq(x)) * x[0]


def seq_zip_enumerate(x):
    return sum(a * b * i for i, (a, b) in enumerate(zip(Seq(x), x)))


def seq_sorted_reversed(x):
    s = sorted(Seq(x))
    r = list(reversed(Seq(x)))
    return s[0] * 3 + r[0] * 5 + max(Seq(x))


def seq_unpack_next(x):
    a, b, c = Seq(x)
    it = iter(Seq(x))
    return a * b * c + next(it) * next(it)


def test_sequence_protocol_gradient():
    x = np.array([1.0, 2.0, 3.0])
    wg = fx.withgradient(seq_for, x)
    assert wg.val == 56.0
    np.testing.assert_allclose(wg.grad[0], [8.0, 16.0, 24.0])


@pytest.mark.parametrize(
    "f", [seq_for, seq_list, seq_genexp, seq_sum, seq_zip_enumerate, seq_sorted_reversed, seq_unpack_next]
)
def test_sequence_protocol(f):
    check_grads(f, np.array([1.0, 2.0, 3.0]), order=2, forward=True)


# ---------------------------------------------------------------------------------------------------------
# namedtuple._asdict in forward mode

NT = namedtuple("NT", "a b")


def namedtuple_asdict(x):
    d = NT(x, x * 3)._asdict()
    return d["a"] + d["b"] * x


def test_namedtuple_asdict_forward():
    assert fx.jvp(namedtuple_asdict, (1.5,), (1.0,)) == (8.25, 10.0)
    check_grads(namedtuple_asdict, 1.5, order=2, forward=True)


# ---------------------------------------------------------------------------------------------------------
# dataclasses whose generated __init__ does more than store the arguments


@dataclass
class Squared:
    a: float
    b: float = field(init=False)

    def __post_init__(self):
        self.b = self.a * self.a


@dataclass
class Options:
    a: float
    scale: InitVar[float] = 2.0
    c: float = 1.0
    hist: list = field(default_factory=list)
    d: float = field(init=False, default=0.5)

    def __post_init__(self, scale):
        self.a = self.a * scale + self.c
        self.d = self.d * self.a


@dataclass(frozen=True)
class Frozen:
    a: float
    b: float = field(init=False)

    def __post_init__(self):
        object.__setattr__(self, "b", self.a**3)


@dataclass(kw_only=True)
class KeywordsOnly:
    a: float
    b: float

    def __post_init__(self):
        self.s = self.a * self.b


@dataclass
class Plain:
    a: float
    b: float = 2.0


class OwnInit(Plain):
    def __init__(self, x):
        super().__init__(x * 3, b=x)
        self.c = self.a * self.b


class Inherits(OwnInit):
    pass


def post_init(x):
    return Squared(x).b * x  # x^3


def post_init_options(x):
    q = Options(x, scale=x)
    return Options(x, 3.0, c=x).a + Options(a=x).d + q.a * q.d + len(q.hist)


def post_init_frozen(x):
    return Frozen(x).b + Frozen(a=x).a


def post_init_keywords(x):
    return KeywordsOnly(b=x, a=x * 2).s


def dataclass_parent_init(x):
    return OwnInit(x).c + Inherits(x).a * Inherits(x).c


def post_init_arrays(x):
    return Squared(x * 2.0).b.sum()


def test_dataclass_post_init_gradient():
    assert fx.withgradient(post_init, 1.5) == (3.375, (6.75,))


@pytest.mark.parametrize(
    "f", [post_init, post_init_options, post_init_frozen, post_init_keywords, dataclass_parent_init]
)
def test_dataclass_post_init(f):
    assert fx.withgradient(f, 1.5).val == pytest.approx(f(1.5))
    check_grads(f, 1.5, order=2, forward=True)


def test_dataclass_post_init_arrays():
    check_grads(post_init_arrays, np.array([1.0, 2.0]), order=2, forward=True)


# ---------------------------------------------------------------------------------------------------------
# in-place operators on user classes (what generated code calls for ``x op= y`` on a name)


class Mutates:
    def __init__(self, v):
        self.v = v

    def __add__(self, o):
        return Mutates(self.v + o)

    def __iadd__(self, o):
        self.v = self.v + 5 * o
        return self

    def __isub__(self, o):
        self.v = self.v - 2 * o
        return self

    def __ipow__(self, p):
        self.v = self.v**p + 1.0
        return self


class OnlyIMul:
    def __init__(self, v):
        self.v = v

    def __imul__(self, o):
        return OnlyIMul(self.v * o * 2)


class Declines:
    def __init__(self, v):
        self.v = v

    def __iadd__(self, o):
        return NotImplemented

    def __add__(self, o):
        return Declines(self.v + 3 * o)


class Sometimes:
    def __init__(self, v):
        self.v = v

    def __iadd__(self, o):
        if o is None:
            return NotImplemented
        self.v = self.v + o
        return self


def iadd_mutating(x):
    a = Mutates(x)
    a = operator.iadd(a, x)  # 6x
    a = operator.isub(a, x * x)  # 6x - 2x^2
    a = operator.ipow(a, 2)
    return a.v * x


def imul_only(x):
    a = OnlyIMul(x)
    a = operator.imul(a, x)
    return a.v  # 2x^2


def iadd_not_implemented(x):
    a = Declines(x)
    a = operator.iadd(a, x)
    return a.v  # 4x


def in_place_numbers(x):
    y = x * 1.0
    y = operator.iadd(y, x * 2)
    y = operator.imul(y, x)
    y = operator.ipow(y, 2)
    y = operator.isub(y, x)
    y = operator.imod(y, 7.0)
    y = operator.itruediv(y, 3.0)
    return np.sum(y) + np.sum(operator.imatmul(np.outer(x, x) * 1.0, np.outer(x, x)))


def iadd_rebound(x):
    a = Mutates(x)
    a = operator.iadd(a, x)  # rebinds `a`, as `a += x` does (without it, refused: see test_hunt11_python)
    return a.v


def test_iadd_runs_the_users_iadd():
    assert fx.withgradient(iadd_rebound, 1.5) == (9.0, (6.0,))
    assert fx.jvp(iadd_rebound, (1.5,), (1.0,)) == (9.0, 6.0)
    assert fx.withgradient(imul_only, 1.5) == (4.5, (6.0,))
    assert fx.withgradient(iadd_not_implemented, 1.5) == (6.0, (4.0,))


@pytest.mark.parametrize("f", [iadd_mutating, imul_only, iadd_not_implemented])
def test_in_place_operators_on_objects(f):
    assert fx.withgradient(f, 1.5).val == pytest.approx(f(1.5))
    check_grads(f, 1.5, order=2, forward=True)


@pytest.mark.parametrize("x", [1.5, np.array([1.0, 2.0])])
def test_in_place_operators_on_numbers_stay_functional(x):
    before = np.array(x, copy=True)
    check_grads(in_place_numbers, x, order=2, forward=True)
    np.testing.assert_array_equal(x, before)


def test_in_place_on_array_does_not_write():
    x = np.array([1.0, 2.0])
    # Python would change the caller's array in place: refused (test_hunt11_python.py), nothing written
    with pytest.raises(FluxpyError, match=r"operator.iadd changes an ndarray in place"):
        fx.withgradient(lambda a: np.sum(operator.iadd(a, a * 2)), x)
    np.testing.assert_array_equal(x, [1.0, 2.0])
    y, _ = fx.withgradient(lambda a: np.sum(operator.iadd(a * 1.0, a * 2)), x)  # a new array: functional
    assert y == 9.0
    np.testing.assert_array_equal(x, [1.0, 2.0])


def test_mutating_iadd_that_may_return_another_value():
    with pytest.raises(FluxpyError, match=r"Sometimes.__iadd__ changes its object's attributes") as e:
        fx.gradient(lambda x: operator.iadd(Sometimes(x), x).v, 1.5)
    assert "test_class_fixes.py" in str(e.value)


# ---------------------------------------------------------------------------------------------------------
# a class attribute (``SCALE = 0.5`` in the class body) is shared by the class: no entry in an instance's
# tangent, where the instance's own fields (set in __init__, or shadowing the class's) have theirs


@fx.functor
class Scaled:
    SCALE = 0.5
    bias = 0.0  # shadowed by an instance field in __init__

    def __init__(self, W):
        self.W = W
        self.bias = 0.1

    def __call__(self, x):
        return x @ (self.W * self.SCALE) + self.bias


def test_class_attribute_gets_no_entry_in_the_tangent():
    m = Scaled(np.array([[1.0, 2.0], [3.0, 4.0]]))
    (g,) = fx.gradient(lambda m: np.sum(m(np.ones(2)) ** 2), m)
    assert sorted(g.keys()) == ["W", "bias"]
    check_grads(lambda W: np.sum(Scaled(W)(np.ones(2)) ** 2), m.W, order=2, forward=True)
    W0 = m.W.copy()
    state = fx.setup(fx.optimise.Descent(0.1), m)
    state, m2 = fx.update(state, m, g)
    np.testing.assert_allclose(m2.W, W0 - 0.1 * g["W"])
    assert m2.SCALE == 0.5 and "SCALE" not in vars(m2)
