"""Fixes from the 15th bug hunts (reproductions in /tmp/hunt15_forward and /tmp/hunt15_api): second order
through ``functools.partial`` of a bound method and through a gradient's fields read by item, int loop
variables as defaults under fx.hessian, the user's line in messages raised inside fluxpy's own generated
code, logging to an outside list, the message of ``op=`` on a value a container holds, and
``adjoint_source`` of a class's ``__init__``."""

import functools
import os
import re

import numpy as np
import pytest

import fluxpy as fx
from fluxpy.testing import check_grads

X = np.array([0.5, -1.0])


# -- second order through functools.partial of a bound method ---------------------------------------------


class Cubic:
    def __init__(self, w):
        self.w = w

    def f(self, v):
        return np.sum(self.w * v**3)


class Holder:
    def __init__(self, method):
        self.method = method


def partial_of_bound_method(x):
    k = Cubic(x)
    return functools.partial(k.f)(x)  # sum(x**4)


def partial_of_bound_method_with_argument(x):
    k = Cubic(x**2)
    return functools.partial(k.f, x)()  # sum(x**5)


def field_holding_another_objects_method(x):
    h = Holder(Cubic(x).f)
    return h.method(x)  # sum(x**4): h.method is bound to the Cubic, not to h


def partial_bound_method_reference(x):
    """The Hessian of sum(x**4)."""
    return np.diag(12.0 * x**2)


def partial_with_argument_reference(x):
    """The Hessian of sum(x**5)."""
    return np.diag(20.0 * x**3)


SECOND_ORDER = [
    (partial_of_bound_method, partial_bound_method_reference),
    (partial_of_bound_method_with_argument, partial_with_argument_reference),
    (field_holding_another_objects_method, partial_bound_method_reference),
]


@pytest.mark.parametrize("f, reference", SECOND_ORDER, ids=[f.__name__ for f, _ in SECOND_ORDER])
def test_second_order_through_a_method_bound_to_another_object(f, reference):
    expected = reference(X)
    assert np.allclose(fx.hessian(f, X), expected)  # the fused gradient function, differentiated
    assert np.allclose(fx.gradient(lambda v: np.sum(fx.gradient(f, v)[0]), X)[0], expected.sum(axis=0))
    assert np.allclose(fx.hvp(f, X, np.array([1.0, 0.0])), expected[:, 0])
    check_grads(f, X, order=2, forward=True)


def gradient_of_a_pullback(x):
    y, back = fx.pullback(partial_of_bound_method, x)
    return np.sum(back(1.0)[0])


def test_gradient_of_a_pullback_through_a_partial_of_a_bound_method():
    assert np.allclose(fx.gradient(gradient_of_a_pullback, X)[0], 12 * X**2)


def field_read_by_item(x):
    (g,) = fx.gradient(lambda k: k.f(x), Cubic(x))  # g.w == x**3
    return np.sum(g["w"] * x)  # sum(x**4)


def field_of_a_constructed_tangent(x):
    t = fx.Tangent(Cubic, {"w": x**3})
    return np.sum(t["w"])


def test_a_gradients_field_read_by_item_carries_its_gradient():
    assert np.allclose(fx.gradient(field_read_by_item, X)[0], 4 * X**3)
    assert np.allclose(fx.hessian(field_of_a_constructed_tangent, X), np.diag(6 * X))
    check_grads(field_of_a_constructed_tangent, X, order=2, forward=True)


# -- int loop variables as defaults, at second order -----------------------------------------------------


def def_in_loop(x):
    fs = []
    for i in range(1, 4):

        def f(t, i=i):
            return t**i

        fs.append(f)
    return sum(f(x) for f in fs)


def lambdas_in_comprehension(x):
    fs = [lambda t, k=k: t**k for k in range(1, 4)]
    return sum(f(x) for f in fs)


@pytest.mark.parametrize("f", [def_in_loop, lambdas_in_comprehension])
def test_int_loop_variable_as_default_at_second_order(f):
    expected = 2 + 6 * 1.1  # of x + x**2 + x**3
    assert np.isclose(fx.hessian(f, 1.1), expected)
    assert np.isclose(fx.gradient(lambda v: fx.gradient(f, v)[0], 1.1)[0], expected)
    assert np.isclose(fx.hvp(f, 1.1, 1.0), expected)
    check_grads(f, 1.1, order=2, forward=True)


def float_default_in_loop(x):
    fs = []
    for i in range(1, 3):
        s = x * i

        def f(t, s=s):
            return t * s

        fs.append(f)
    return sum(f(x) for f in fs)


def test_a_float_default_that_carries_a_gradient_is_still_refused():
    for run in (
        lambda: fx.gradient(float_default_in_loop, 1.1),
        lambda: fx.hessian(float_default_in_loop, 1.1),
    ):
        with pytest.raises(fx.TransformError, match="a default value computed from 's'"):
            run()


W = np.array([1.0, 2.0])


def implicit_loop_defaults():
    fs = []
    for i in range(1, 3):

        def f(t, i=i):
            return np.sum(t**i)

        fs.append(f)
    return sum(f(W) for f in fs)


def test_int_loop_defaults_with_implicit_parameters():
    assert np.allclose(fx.gradient(implicit_loop_defaults, fx.params(W))[W], 1 + 2 * W)


# -- messages name the user's line -------------------------------------------------------------------------


def updates_a_dict(x):
    d = {"a": x}
    d.update(b=x**2)
    return d["a"] * d["b"]


UPDATE_LINE = updates_a_dict.__code__.co_firstlineno + 2


@pytest.mark.parametrize("run", ["gradient", "hessian", "hvp"])
def test_dict_update_refusal_names_the_users_line(run):
    calls = {
        "gradient": lambda: fx.gradient(updates_a_dict, 0.7),
        "hessian": lambda: fx.hessian(updates_a_dict, 0.7),
        "hvp": lambda: fx.hvp(updates_a_dict, 0.7, 1.0),
    }
    with pytest.raises(fx.FluxpyError, match="dict.update changes a dict in place") as caught:
        calls[run]()
    where = f'File "{__file__}", line {UPDATE_LINE}'
    assert where in str(caught.value) and "fluxpy/runtime/" not in str(caught.value)


def test_jvp_of_dict_update_still_works():
    assert np.isclose(fx.jvp(updates_a_dict, (0.7,), (1.0,))[1], 3 * 0.7**2)


# -- logging to an outside list (docs/limitations.md) ------------------------------------------------------

LOG = []


def logs_through_nograd(x):
    y = np.sum(x**2)
    fx.nograd(LOG.append)(y)
    return y


def logs_a_float(x):
    y = np.sum(x**2)
    LOG.append(float(y))
    return y


def logs_a_string(x):
    y = np.sum(x**2)
    LOG.append(f"{y:.3f}")
    return y


@pytest.mark.parametrize(
    "run",
    [
        lambda f: fx.gradient(f, np.ones(2)),
        lambda f: fx.hessian(f, np.ones(2)),
        lambda f: fx.jvp(f, (np.ones(2),), (np.ones(2),)),
    ],
    ids=["gradient", "hessian", "jvp"],
)
def test_logging_to_an_outside_list(run):
    LOG.clear()
    run(logs_through_nograd)
    assert LOG == [2.0]
    LOG.clear()
    run(logs_a_string)
    assert LOG == ["2.000"]
    LOG.clear()
    with pytest.raises(fx.FluxpyError, match="list.append"):
        run(logs_a_float)
    assert LOG == []


# -- smaller messages ----------------------------------------------------------------------------------------


def adds_into_a_held_array(x):
    a = np.zeros(2)
    d = {"k": a}
    a += x
    return np.sum(d["k"]) + np.sum(a)


class Buffer:
    def __init__(self, data):
        self.data = data

    def get(self):
        return self.data


def writes_into_a_method_result(x):
    h = Buffer(np.zeros(2))
    buf = h.get()
    buf[0] = x
    return np.sum(h.data)


def test_op_assign_on_a_held_value_says_what_holds_it():
    with pytest.raises(fx.FluxpyError) as caught:
        fx.gradient(adds_into_a_held_array, 1.0)
    text = str(caught.value)
    line = adds_into_a_held_array.__code__.co_firstlineno + 2
    assert text.startswith(f"changing 'a' in place while 'd' (bound at line {line}) holds it")
    assert "from a method" not in text and "`a = a + ...`" in text


def test_a_method_results_part_keeps_its_message():
    with pytest.raises(fx.FluxpyError, match=r"writing into 'buf', which is a part of 'h'.*from a method of"):
        fx.gradient(writes_into_a_method_result, 1.0)


class Affine:
    def __init__(self, w):
        self.w = w * 2


def test_adjoint_source_of_init_shows_the_constructor():
    text = fx.adjoint_source(Affine.__init__)
    assert "return (self, __init___pullback)" in text
    assert f"({os.path.basename(__file__)}:{Affine.__init__.__code__.co_firstlineno + 1})" in text


def test_no_dead_branch_for_a_check_in_generated_code():
    from fluxpy import demo

    text = fx.adjoint_source(demo.loss)
    # (predict, looked up when loss is transformed, writes into no argument: no check is made at all,
    # normalize/anf_writeback.py)
    assert not re.search(r"if _fx_cond\w*:\s*pass", text)
