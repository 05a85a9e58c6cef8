"""Programs that a bug hunt found raising raw exceptions (often from generated code) instead of
differentiating: iterators taken item by item (``zip(it, it)``, ``next`` of ``iter``/``map``/``filter``),
sums of lists, objects with a Python ``__iter__``, ``-obj`` in forward mode, ``min``/``max`` keywords and
``np.pad``'s ``constant_values``. Each now gets its gradient (checked against finite differences, in
reverse mode to second order and in forward mode), or a FluxpyError naming the user's line where no
gradient can be had."""

import itertools

import numpy as np
import pytest

import fluxpy as fx
from fluxpy.testing import check_grads

EPS = 1e-6


def check(f, *args):
    check_grads(f, *args, order=2, forward=True)


# ---------------------------------------------------------------------------------------------------------
# iterators: the position of every item an iterator gives is known, so its cotangent goes back there


def pairs_of_one_iterator(a, b, c, d):
    it = iter([a, b, c, d])
    total = 0.0
    for p, q in zip(it, it):
        total = total + p * q
    return total


def test_zip_of_one_iterator_pairs_its_items():
    assert pairs_of_one_iterator(1.0, 2.0, 3.0, 4.0) == 14.0
    assert fx.gradient(pairs_of_one_iterator, 1.0, 2.0, 3.0, 4.0) == (2.0, 1.0, 4.0, 3.0)
    check(pairs_of_one_iterator, 1.0, 2.0, 3.0, 4.0)


def zip_of_iterator_and_list(a, b):
    it = iter([a, b, a * b])
    first = next(it)
    return sum(p * q for p, q in zip(it, [3.0, 5.0, 7.0])) * first


def test_zip_of_a_partly_consumed_iterator_and_a_list():
    # first = a; the rows pair b with 3 and a*b with 5: (3b + 5ab) a
    assert fx.gradient(zip_of_iterator_and_list, 1.5, 2.0) == pytest.approx((6.0 + 30.0, (3 + 7.5) * 1.5))
    check(zip_of_iterator_and_list, 1.5, 2.0)


def strict_zip_of_iterator(a, b):
    it = iter([a, b, a])
    return sum(p * q for p, q in zip(it, [1.0, 2.0], strict=True))


def test_strict_zip_of_an_iterator_raises_as_python_does():
    with pytest.raises(ValueError) as plain:
        strict_zip_of_iterator(1.5, 2.0)
    with pytest.raises(ValueError) as differentiated:
        fx.gradient(strict_zip_of_iterator, 1.5, 2.0)
    assert str(differentiated.value) == str(plain.value) == "zip() argument 2 is shorter than argument 1"


def map_then_next(a, b):
    m = map(lambda v: v * v, [a, b, a * b])
    first = next(m)
    return first + 2 * next(m) + sum(m) * 3


def filter_then_next(a, b):
    f = filter(lambda v: v > 0, [a, -b, b])
    return next(f) * 2 + next(f) * a


def test_next_of_map_and_filter():
    # a^2 + 2 b^2 + 3 a^2 b^2
    assert fx.gradient(map_then_next, 1.5, 2.0) == pytest.approx(
        (2 * 1.5 + 6 * 1.5 * 4.0, 8.0 + 6 * 2.25 * 2.0)
    )
    assert fx.gradient(filter_then_next, 1.5, 2.0) == pytest.approx((2.0 + 2.0, 1.5))
    check(map_then_next, 1.5, 2.0)
    check(filter_then_next, 1.5, 2.0)


def next_then_consumers(a, b):
    it = iter([a, b, a * b, b])
    first = next(it)
    second = next(it, 0.0)
    rest = sorted(it)  # the last two items, each to its own place
    return first * second + rest[0] * 2 + rest[1] * 3


def next_default_and_exhaustion(a, b):
    it = iter([a])
    x = next(it)
    y = next(it, b * 2)  # exhausted: the default, whose gradient flows
    return x * y


def test_next_of_iter_with_the_consumers_after_it():
    assert fx.gradient(next_then_consumers, 1.5, 2.0) == pytest.approx((2.0 + 3 * 2.0, 1.5 + 2.0 + 3 * 1.5))
    assert fx.gradient(next_default_and_exhaustion, 1.5, 2.0) == (4.0, 3.0)
    check(next_then_consumers, 1.5, 2.0)
    check(next_default_and_exhaustion, 1.5, 2.0)


def rows_of_an_array(x):
    it = iter(x)
    top = next(it)
    return np.sum(top * 2) + sum(np.sum(r**2) for r in it)


def test_next_of_iter_of_an_array_gives_rows():
    x = np.arange(6.0).reshape(3, 2)
    expected = np.vstack([np.full(2, 2.0), 2 * x[1:]])
    np.testing.assert_allclose(fx.gradient(rows_of_an_array, x)[0], expected)
    check(rows_of_an_array, x)


def dict_of_mapped_pairs(a, b):
    d = dict(map(lambda kv: (kv[0], kv[1] * 3), [("x", a), ("y", b)]))
    e = dict(iter([("u", a), ("v", b * b)]))
    return d["x"] * d["y"] + e["v"]


def test_dict_of_pairs_from_an_iterator():
    assert fx.gradient(dict_of_mapped_pairs, 1.5, 2.0) == pytest.approx((18.0, 13.5 + 4.0))
    check(dict_of_mapped_pairs, 1.5, 2.0)


def next_of_a_foreign_iterator(w):
    return next(itertools.count(w)) * 2


def test_next_of_an_iterator_fluxpy_does_not_follow_names_the_line():
    with pytest.raises(fx.FluxpyError, match=r"next\(\) of a count") as info:
        fx.gradient(next_of_a_foreign_iterator, 1.5)
    assert "test_loud_python_fixes.py" in str(info.value)
    assert "next(itertools.count(w))" in str(info.value)


def test_hvp_through_iterators():
    """Forward over reverse (fx.hvp) runs the iterator's reverse code in forward mode."""

    def f(x):
        return pairs_of_one_iterator(x[0], x[1], x[2], x[3]) * x[0] + map_then_next(x[1], x[2])

    x, v = np.array([0.5, -1.0, 1.5, 2.0]), np.array([0.3, -0.2, 0.7, 0.1])
    g = lambda a: fx.gradient(f, a)[0]  # noqa: E731
    fd = (g(x + EPS * v) - g(x - EPS * v)) / (2 * EPS)
    np.testing.assert_allclose(fx.hvp(f, x, v), fd, rtol=1e-5, atol=1e-6)


# ---------------------------------------------------------------------------------------------------------
# list += iterable, sum of lists


def extend_by_tuple_and_object(a, b):
    lst = [a]
    lst.extend((a, b))
    lst.extend(Bag(b * 2, a))
    return lst[0] * lst[1] + lst[2] ** 2 + lst[3] * lst[4]


def test_list_extend_by_a_tuple_or_an_object():
    assert fx.gradient(extend_by_tuple_and_object, 1.5, 2.0) == pytest.approx((3.0 + 4.0, 4.0 + 3.0))
    check(extend_by_tuple_and_object, 1.5, 2.0)


def augmented_add_of_a_tuple(a, b):
    lst = [a]
    lst += (a, b)
    return lst[0] * lst[1] + lst[2] ** 2


def augmented_add_of_a_map_then_append(a, b):
    lst = [a]
    lst += map(lambda v: v * b, [a, b])
    lst.append(a * b)  # still a local list after +=
    return lst[0] * lst[1] + lst[2] ** 2 + lst[3]


def test_augmented_add_of_a_tuple_to_a_list():
    """``lst += (a, b)`` on a local list extends it (Python's list += takes any iterable); the transform
    made it ``lst = lst + (a, b)``, which raised TypeError."""
    assert fx.gradient(augmented_add_of_a_tuple, 1.5, 2.0) == (3.0, 4.0)
    check(augmented_add_of_a_tuple, 1.5, 2.0)
    check(augmented_add_of_a_map_then_append, 1.5, 2.0)


def sum_of_lists(a, b):
    rows = sum([[a], [b, a]], [])
    return rows[0] * rows[1] + rows[2]


def sum_of_tuples_and_objects(a, b):
    t = sum([(a,), (b, a * b)], ())
    v = sum([Vec(a, b), Vec(b, a)], Vec(1.0, 0.0))
    return t[0] * t[2] + v.x * v.y


def test_sum_with_a_list_start_concatenates():
    assert sum_of_lists(1.5, 2.0) == 4.5
    assert fx.gradient(sum_of_lists, 1.5, 2.0) == (3.0, 1.5)
    # t[0] * t[2] = a * a * b; v = (1 + a + b, a + b)
    expected_a = 2 * 1.5 * 2.0 + (1.5 + 2.0) + (1 + 1.5 + 2.0)
    expected_b = 1.5**2 + (1.5 + 2.0) + (1 + 1.5 + 2.0)
    assert fx.gradient(sum_of_tuples_and_objects, 1.5, 2.0) == pytest.approx((expected_a, expected_b))
    check(sum_of_lists, 1.5, 2.0)
    check(sum_of_tuples_and_objects, 1.5, 2.0)


# ---------------------------------------------------------------------------------------------------------
# objects with a Python __iter__


class Bag:
    def __init__(self, *items):
        self.items = list(items)

    def __iter__(self):
        return iter(self.items)


class Pair:
    def __init__(self, a, b):
        self.a = a
        self.b = b

    def __iter__(self):
        yield self.a
        yield self.b


class Vec:
    def __init__(self, x, y):
        self.x = x
        self.y = y

    def __add__(self, other):
        return Vec(self.x + other.x, self.y + other.y)

    def __neg__(self):
        return Vec(-self.x, -self.y)

    def __pos__(self):
        return Vec(self.x, self.y)

    def __abs__(self):
        return Vec(abs(self.x), abs(self.y))


def unpack_bag(a, b):
    x, y = Bag(a, b)
    first, *rest = Bag(a, b, a * b)
    return x * y * y + first * sum(rest)


def convert_bag(a, b):
    t = tuple(Bag(a, b))
    lst = list(Bag(b, a))
    return t[0] * t[1] ** 2 + lst[0] * lst[1]


def reduce_bag(a, b):
    bag = Bag(a, b * 2, a * b)
    top = max(bag)
    low = min(bag, key=lambda v: abs(v))
    order = sorted(bag)
    return top * 3 + low + order[1] * 5


def iterate_bag(a, b):
    bag = Bag(a, b)
    it = iter(bag)
    first = next(it)
    pairs = dict(zip(["p", "q"], bag))
    total = sum(i * v for i, v in enumerate(bag))
    return first * 2 + pairs["q"] * pairs["p"] + total


@pytest.mark.parametrize("f", [unpack_bag, convert_bag, reduce_bag, iterate_bag])
def test_objects_with_a_python_iter(f):
    check(f, 1.5, 2.0)


def test_object_iteration_values():
    # x * y^2 + a * (b + a*b)
    assert fx.gradient(unpack_bag, 1.5, 2.0) == pytest.approx((4.0 + 2.0 + 2 * 1.5 * 2.0, 6.0 + 1.5 + 1.5**2))
    # items (a, 2b, ab) = (1.5, 4.0, 3.0): max is 2b, min by |v| is a, sorted()[1] is ab
    assert fx.gradient(reduce_bag, 1.5, 2.0) == pytest.approx((1.0 + 5 * 2.0, 6.0 + 5 * 1.5))


def unpack_generator_object(a, b):
    x, y = Pair(a, b)
    return x * y


def max_of_generator_object(a, b):
    return max(Pair(a, b))


@pytest.mark.parametrize("f", [unpack_generator_object, max_of_generator_object])
def test_a_generator_iter_is_refused_naming_its_line(f):
    """A generator method has no transformation yet: the error names the yield and how to rewrite it."""
    with pytest.raises(fx.FluxpyError, match="generator") as info:
        fx.gradient(f, 1.5, 2.0)
    assert "yield self.a" in str(info.value)
    assert "test_loud_python_fixes.py" in str(info.value)


# ---------------------------------------------------------------------------------------------------------
# forward mode: unary operators of objects


def negated(a, b):
    v = -Vec(a, b)
    return v.x * v.y + v.x


def unary_plus(a, b):
    v = +Vec(a, b)
    return v.x * v.y + v.x


def absolute(a, b):
    v = abs(Vec(a, b))
    return v.x * v.y + v.x


@pytest.mark.parametrize("f", [negated, unary_plus, absolute])
def test_unary_operators_of_objects_in_forward_mode(f):
    check(f, 1.5, -2.0)


def test_unary_operator_tangents():
    # -V: x*y - x with x = 1.5, y = -2: d = (y - 1) da + x db
    assert fx.jvp(negated, (1.5, -2.0), (1.0, 0.5))[1] == pytest.approx(-3.0 + 0.75)
    # abs: |x| |y| + |x|, x > 0, y < 0: d = (|y| + 1) da - x db
    assert fx.jvp(absolute, (1.5, -2.0), (1.0, 0.5))[1] == pytest.approx(3.0 - 0.75)


# ---------------------------------------------------------------------------------------------------------
# min and max: default= and key=


def min_with_default(a, b):
    return min([a, b], default=0.0) * 2


def max_of_empty_with_default(a, b):
    return max([], default=a) * 2 + b


def max_with_key_and_default(a, b):
    return max([a, b], key=lambda v: -v, default=b) * 3 + max(a, b, key=abs)


def test_min_and_max_keywords():
    assert fx.gradient(min_with_default, 1.5, 2.0) == (2.0, None)
    assert fx.gradient(max_of_empty_with_default, 1.5, 2.0) == (2.0, 1.0)
    assert fx.gradient(max_with_key_and_default, 1.5, -2.0) == (None, 4.0)
    for f in [min_with_default, max_of_empty_with_default, max_with_key_and_default]:
        check(f, 1.5, -2.0)


def test_default_with_several_arguments_raises_as_python_does():
    with pytest.raises(TypeError) as plain:
        max(1.0, 2.0, default=0.0)
    with pytest.raises(TypeError) as differentiated:
        fx.gradient(lambda a, b: max(a, b, default=0.0), 1.0, 2.0)
    assert str(differentiated.value) == str(plain.value)


# ---------------------------------------------------------------------------------------------------------
# np.pad(..., constant_values=c): c gets the sum of the cotangent over the cells it filled

X = np.arange(6.0).reshape(2, 3) / 5
W = np.arange(20.0).reshape(4, 5)  # weights of the padded (4, 5) array
BORDER = W.sum() - W[1:3, 1:4].sum()


def pad_by_constant(x, c):
    return np.sum(np.pad(x, 1, constant_values=c) * W)


def pad_by_pair(x, c0, c1):
    return np.sum(np.pad(x, ((1, 2), (0, 1)), mode="constant", constant_values=(c0, c1)) ** 3)


def pad_by_axes(x, a, b):
    return np.sum(np.pad(x, 1, constant_values=((a, b), (b * 2, a))) ** 2 * W)


def pad_by_array(x, c):
    return np.sum(np.sin(np.pad(x, 1, constant_values=c)))


def test_pad_constant_values_gradient():
    assert fx.gradient(pad_by_constant, X, 0.5)[1] == pytest.approx(BORDER)
    # the second axis pads the corners (NumPy pads axis after axis): column 0 is b*2, column 4 is a
    _, da, db = fx.gradient(pad_by_axes, X, 0.5, -0.25)
    # and rows 0 and 3 (inner columns) are a and b
    a, b = 0.5, -0.25
    assert da == pytest.approx(2 * a * W[0, 1:4].sum() + 2 * a * W[:, 4].sum())
    assert db == pytest.approx(2 * b * W[3, 1:4].sum() + 2 * (2 * b) * 2 * W[:, 0].sum())


@pytest.mark.parametrize(
    "f, args",
    [
        (pad_by_constant, (X, 0.5)),
        (pad_by_pair, (X, 0.5, -1.5)),
        (pad_by_axes, (X, 0.5, -0.25)),
        (pad_by_array, (X, np.array([0.3, 0.7]))),
    ],
    ids=["number", "pair", "per-axis", "array"],
)
def test_pad_constant_values_to_second_order(f, args):
    check(f, *args)


# ---------------------------------------------------------------------------------------------------------
# np.where's arguments are positional-only in NumPy itself


def test_where_by_keyword_raises_typeerror_as_numpy_does():
    x = np.array([1.0, -1.0])
    with pytest.raises(TypeError):
        np.where(condition=x > 0, x=x, y=2 * x)
    with pytest.raises(TypeError):
        fx.gradient(lambda x: np.sum(np.where(condition=x > 0, x=x, y=2 * x)), x)
