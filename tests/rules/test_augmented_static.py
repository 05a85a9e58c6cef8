"""``x op= y`` calls fluxpy's own functions (rules/augmented.py), and a user's call of ``operator.iadd`` (and
friends) is decided where it is written: ``x = operator.iadd(x, v)`` and ``operator.iadd(<new object>, v)``
are that same functional update, every other call goes to ``operator.iadd`` itself, whose rule refuses an
in-place change of a float-carrying array, list or object without looking at the caller's source."""

import functools
import operator
import operator as op
from operator import iadd

import numpy as np
import pytest

import fluxpy as fx
from fluxpy.rules import augmented, registry
from fluxpy.rules.python_in_place import AUGMENTED_RULES
from fluxpy.testing import check_grads
from fluxpy.transform import codegen
from fluxpy.transform.cache import normalized_source

X3 = np.array([0.7, -1.2, 1.9])
HERE = "test_augmented_static.py"


def _refused(f, x, match):
    """``f`` is refused in reverse and in forward mode, with a FluxpyError naming this file's line."""
    for run in (lambda: fx.gradient(f, x), lambda: fx.jvp(f, (x,), (np.ones_like(x),))):
        with pytest.raises(fx.FluxpyError, match=match) as e:
            run()
        assert HERE in str(e.value)


# ---------------------------------------------------------------------------------------------------------
# 1. generated code: ``__fx_op.iadd`` is fluxpy's function, with its own rules


def test_generated_operators_are_fluxpys_functions():
    ops = codegen.HELPERS["__fx_op"]
    for name in ("iadd", "isub", "imul", "itruediv", "ipow", "imod", "imatmul", "ifloordiv", "iconcat"):
        fn = getattr(augmented, name)
        assert getattr(ops, name) is fn and getattr(ops, f"__{name}__") is fn
        assert fn is not getattr(operator, name)
        assert registry.lookup(fn) is AUGMENTED_RULES[fn]
        assert registry.lookup_forward(fn) is not None
        assert getattr(codegen.direct_rules(), name) is AUGMENTED_RULES[fn]
    assert ops.add is operator.add and ops.getitem is operator.getitem and ops.__add__ is operator.add


def test_the_functions_run_as_pythons_operators():
    a = np.ones(2)
    assert augmented.iadd(a, 2.0) is a  # undifferentiated: Python's in-place operator
    np.testing.assert_array_equal(a, [3.0, 3.0])
    lst = [1]
    assert augmented.iconcat(lst, (2,)) is lst and lst == [1, 2]
    assert augmented.ipow(3.0, 2) == 9.0 and augmented.ifloordiv(7, 2) == 3


def test_their_rules_update_functionally_and_pythons_refuse():
    a = np.ones(2) * 1.5
    y, back = AUGMENTED_RULES[augmented.imul](a, np.array([2.0, 3.0]))
    np.testing.assert_array_equal(y, [3.0, 4.5])
    np.testing.assert_array_equal(a, [1.5, 1.5])  # not written
    da, db = back(np.ones(2))
    np.testing.assert_array_equal(da, [2.0, 3.0])
    np.testing.assert_array_equal(db, [1.5, 1.5])
    # Python's own operator.imul, called with no generated code on the stack: decided without it
    with pytest.raises(fx.FluxpyError, match=r"operator.imul changes an ndarray in place"):
        registry.lookup(operator.imul)(a, np.array([2.0, 3.0]))
    np.testing.assert_array_equal(a, [1.5, 1.5])
    lst = [1, 2]  # no float: as Python runs it
    y, _ = registry.lookup(operator.iadd)(lst, [3])
    assert y is lst and lst == [1, 2, 3]
    assert registry.lookup(operator.iadd)(2.5, 1.0)[0] == 3.5  # a number: a new value


def loop(a, b):
    a = a * 1.0  # (check_grads passes views of its perturbed arguments: `a += b` on one is refused)
    for _ in range(3):
        a += b
        a *= 0.5
    return np.sum(a)


def test_augmented_assignment_in_every_mode():
    a, b = np.array([1.0, 2.0]), np.array([0.5, -1.0])
    assert "__fx_op.iadd" in normalized_source(loop) and "__fx_op.imul" in normalized_source(loop)
    assert "__fx_rule.iadd" in fx.adjoint_source(loop)
    check_grads(loop, a, b, order=2, forward=True)
    check_grads(loop, a, 0.25, order=2, forward=True)  # broadcast: the rule, not the inlined arithmetic
    np.testing.assert_array_equal(a, [1.0, 2.0])


def broadcast_loop(a):
    b = np.sum(a) * 0.1
    for _ in range(3):
        a += b
        a -= a * 0.1
    return np.sum(a * a)


def broadcast_loop_plain(a):
    b = np.sum(a) * 0.1
    for _ in range(3):
        a = a + b
        a = a - a * 0.1
    return np.sum(a * a)


def test_hessian_vector_products_through_the_rules():
    a, v = np.array([1.0, -2.0, 0.5]), np.array([0.3, 1.0, -1.0])
    np.testing.assert_allclose(fx.hvp(broadcast_loop, a, v), fx.hvp(broadcast_loop_plain, a, v))
    np.testing.assert_allclose(fx.gradient(broadcast_loop, a)[0], fx.gradient(broadcast_loop_plain, a)[0])


# ---------------------------------------------------------------------------------------------------------
# 2. a user's calls: decided by the transformer


def rebinding(x):
    a = np.ones(3) * x
    a = operator.iadd(a, x[0])  # rebinds `a`, as `a += x[0]` does
    a = iadd(a, x)  # imported from operator
    a = op.__imul__(a, x)
    a: np.ndarray = operator.itruediv(a, 2.0)
    b = operator.isub(a * 1.0, x[1])  # a new array no name holds
    c = operator.iadd([x[0], x[1]], [x[2]])  # a new list
    d = operator.iadd([v * 2 for v in x], [1.0])  # a comprehension's list
    e = operator.imatmul(np.outer(x, x) * 1.0, np.outer(x, x))
    f = operator.imod(x * 3.0, 1.0)
    return np.sum(a * b) + c[0] * c[2] + d[1] * d[3] + np.sum(e) + np.sum(f)


def test_rebinding_and_new_objects_are_functional_updates():
    text = normalized_source(rebinding)
    assert "operator.iadd" not in text and "__fx_op.itruediv, a, 2.0" in text
    assert text.count("__fx_op.iadd") == 4 and "__fx_op.__imul__" not in text and "__fx_op.imul" in text
    assert "__fx_op.imatmul" in text and "__fx_op.imod" in text
    x = X3.copy()
    assert fx.withgradient(rebinding, x).val == pytest.approx(rebinding(X3.copy()))
    check_grads(rebinding, x, order=2, forward=True)
    np.testing.assert_array_equal(x, X3)


def statement(x):
    a = np.ones(3) * x
    operator.iadd(a, x)  # Python changes `a` in place
    return np.sum(a)


def other_name(x):
    a = np.ones(3) * x
    c = operator.iadd(a, x)  # `a` is `c` in Python
    return np.sum(a * c)


def through_a_name(x):
    f = operator.iadd
    a = np.ones(3) * x
    a = f(a, x)
    return np.sum(a)


def reduced(x):
    a, b = np.ones(3) * x, np.ones(3)
    return np.sum(functools.reduce(operator.iadd, [a, b]) * a)


def local_name(x, iadd=operator.iadd):
    a = np.ones(3) * x
    a = iadd(a, x)  # a parameter: not resolved by the transformer
    return np.sum(a)


def list_statement(x):
    lst = [x[0]]
    operator.iadd(lst, [x[1]])
    return lst[0] * lst[1]


@pytest.mark.parametrize(
    "f, match",
    [
        (statement, r"operator.iadd changes an ndarray in place.*\n.*\n.*\nWrite the statement instead"),
        (other_name, r"operator.iadd changes an ndarray in place"),
        (through_a_name, r"operator.iadd changes an ndarray in place"),
        (reduced, r"operator.iadd changes an ndarray in place"),
        (local_name, r"operator.iadd changes an ndarray in place"),
        (list_statement, r"operator.iadd changes a list in place"),
    ],
)
def test_other_calls_go_to_pythons_operator_and_are_refused(f, match):
    assert "__fx_op.iadd" not in normalized_source(f)  # Python's operator.iadd, called as written
    _refused(f, X3, match)


def test_the_error_names_the_users_line():
    with pytest.raises(fx.FluxpyError) as e:
        fx.gradient(statement, X3)
    assert "operator.iadd(a, x)  # Python changes `a` in place" in str(e.value)


def iadd_of_mine(a, b):
    return a + 2.0 * b


def named_like_it(x):
    a = np.ones(3) * x
    a = iadd_of_mine(a, x)
    return np.sum(a)


def test_only_operators_in_place_functions_are_rewritten():
    assert "__fx_call(iadd_of_mine, a, x)" in normalized_source(named_like_it)
    assert "__fx_call(iadd, a, x)" in normalized_source(local_name)
    assert "__fx_call(f, a, x)" in normalized_source(through_a_name)
    check_grads(named_like_it, X3, order=2, forward=True)


def test_calls_without_floats_run_as_python_runs_them():
    def f(x):
        lst = [1, 2]
        operator.iadd(lst, [3])
        c = operator.iadd(lst, [4])
        return x * len(lst) + c[0] * (c is lst)

    assert fx.withgradient(f, 1.5) == (7.0, (4.0,))
    assert fx.jvp(f, (1.5,), (1.0,)) == (7.0, 4.0)


# ---------------------------------------------------------------------------------------------------------
# 3. ``x = operator.iadd(x, v)`` is normalized as ``x += v`` is: copies, holders and parameters


class Acc:
    def __init__(self, v):
        self.v = v

    def __iadd__(self, o):
        self.v = self.v + o
        return self


def copy_sees_the_change(x):
    a = Acc(x)
    b = a
    a = operator.iadd(a, x * 2)
    return b.v * x


def held_in_a_list(x):
    a = Acc(x)
    items = [a]
    a = operator.iadd(a, x * 2)
    return items[0].v * a.v


def test_an_object_changed_in_place_is_followed_as_for_augmented_assignment():
    assert fx.withgradient(copy_sees_the_change, 1.5) == (6.75, (9.0,))  # b.v = 3x: 3x^2
    assert fx.jvp(copy_sees_the_change, (1.5,), (1.0,)) == (6.75, 9.0)
    check_grads(copy_sees_the_change, 1.5, order=2, forward=True)
    _refused(held_in_a_list, 1.5, r"Acc.__iadd__ changes its object in place, and 'items' holds that object")


def adds_into(a, v):
    a = operator.iadd(a, v)  # Python writes into the caller's array
    return np.sum(a)


def caller(x):
    buf = np.zeros(3)
    s = adds_into(buf, x)
    return s + np.sum(buf * x)


def caller_not_reading(x):
    return adds_into(np.zeros(3), x) * 2.0


def test_a_parameter_updated_so_is_a_write_into_the_callers_array():
    _refused(caller, X3, r"adds_into writes into its argument 'a' in place .*, and the caller reads 'buf'")
    check_grads(caller_not_reading, X3, order=2, forward=True)


def view_rebinding(x):
    y = np.ones(3) * x
    v = y[:2]
    v = operator.iadd(v, x[0])  # Python writes into y
    return np.sum(y)


def test_a_view_is_refused_as_for_augmented_assignment():
    _refused(view_rebinding, X3, r"`\+=` on an array that is a view of another array")
