"""Fixes from an API bug hunt: jacobian's forward pass, containers, dtypes and shapes; dropgrad at every order;
bools get no gradient; user rules' pullbacks, jvp's and back's arguments checked; NoAdjointError's names."""

import types
from collections import namedtuple

import numpy as np
import pytest

import fluxpy as fx
from fluxpy.testing import check_grads

EPS = 1e-6


def finite_jacobian(f, x):
    """Central differences of ``f`` (array or number output) at the array or number ``x``."""
    x = np.asarray(x, dtype=float)
    y = np.asarray(f(x.copy()))
    out = np.zeros(y.shape + x.shape)
    for k in np.ndindex(x.shape):
        e = np.zeros(x.shape)
        e[k] = EPS
        out[(...,) + k] = (np.asarray(f(x + e)) - np.asarray(f(x - e))) / (2 * EPS)
    return out


# ---------------------------------------------------------------------------------------------------------
# jacobian and hessian never change the caller's arguments, and evaluate at the right point


def doubles_in_place(x):
    x *= 2.0
    return x**2


def doubles_in_place_outer(x):
    x *= 2.0
    return np.outer(x, x)  # more outputs than inputs: the forward-mode path


def doubles_in_place_loss(x):
    x *= 2.0
    return np.sum(x**3)


@pytest.mark.parametrize("f", [doubles_in_place, doubles_in_place_outer], ids=["reverse", "forward"])
def test_jacobian_leaves_the_argument_alone(f):
    x = np.array([1.0, 2.0, 3.0])
    (j,) = fx.jacobian(f, x)
    np.testing.assert_array_equal(x, [1.0, 2.0, 3.0])
    np.testing.assert_allclose(j, finite_jacobian(lambda t: f(t.copy()), x), rtol=1e-6, atol=1e-6)


def test_hessian_leaves_the_argument_alone():
    x = np.array([1.0, 2.0, 3.0])
    h = fx.hessian(doubles_in_place_loss, x)
    np.testing.assert_array_equal(x, [1.0, 2.0, 3.0])
    np.testing.assert_allclose(h, np.diag(48.0 * x))


def test_reverse_jacobian_runs_the_forward_pass_once():
    calls = []

    def f(x):
        calls.append(1)
        return np.sin(x) * 2.0

    fx.jacobian(f, np.ones(3))
    assert len(calls) == 1


# ---------------------------------------------------------------------------------------------------------
# dropgrad: a constant at every order, as nograd(identity) and JAX's stop_gradient


@fx.nograd
def constant_identity(x):
    return x


@pytest.mark.parametrize("stop", [fx.dropgrad, constant_identity], ids=["dropgrad", "nograd"])
def test_dropgrad_is_a_constant_at_every_order(stop):
    def f(x):
        return stop(x) * x**2  # c * x**2 with c = x held: f' = 2cx = 8, f'' = 2c = 4 at x = 2

    def d(g):
        return lambda x: fx.gradient(g, x)[0]

    assert fx.gradient(f, 2.0) == (8.0,)
    assert fx.hessian(f, 2.0) == 4.0
    assert d(d(f))(2.0) == 4.0
    assert fx.hvp(f, 2.0, 1.0) == 4.0
    assert fx.jvp(f, (2.0,), (1.0,)) == (8.0, 8.0)
    assert fx.jvp(lambda x: fx.jvp(f, (x,), (1.0,))[1], (2.0,), (1.0,))[1] == 4.0
    assert fx.gradient(lambda x: fx.jvp(f, (x,), (1.0,))[1], 2.0) == (4.0,)
    assert fx.gradient(lambda x: fx.hessian(lambda t: stop(t) * t**3, x), 2.0) == (12.0,)  # (6cx)' = 6c


def test_dropgrad_hessian_of_an_array():
    x = np.array([1.0, 2.0])
    g = lambda x: np.sum(fx.dropgrad(x) * x**2)  # noqa: E731
    np.testing.assert_allclose(fx.hessian(g, x), np.diag(2.0 * x))
    np.testing.assert_allclose(fx.jacobian(lambda t: fx.gradient(g, t)[0], x)[0], np.diag(2.0 * x))


# ---------------------------------------------------------------------------------------------------------
# bools get None (API.md), their Jacobians and Hessians zeros


@pytest.mark.parametrize(
    "flag",
    [np.array([True, False, True]), np.array(True), np.bool_(True), True],
    ids=["bool array", "0-d bool array", "np.bool_", "bool"],
)
def test_bools_get_no_gradient(flag):
    x = np.array([1.0, 2.0, 3.0])
    gx, gflag = fx.gradient(lambda x, m: np.sum(x * m), x, flag)
    assert gflag is None
    np.testing.assert_array_equal(gx, np.ones(3) * flag)


def test_jacobian_and_hessian_of_bools_are_zeros():
    x, m = np.array([1.0, 2.0, 3.0]), np.array([True, False, True])
    jx, jm = fx.jacobian(lambda x, m: x * m, x, m)  # reverse
    np.testing.assert_array_equal(jx, np.diag([1.0, 0.0, 1.0]))
    assert jm.shape == (3, 3) and not jm.any()
    jx, jm = fx.jacobian(lambda x, m: np.outer(x * m, x), x, m)  # forward
    assert jm.shape == (3, 3, 3) and not jm.any()
    np.testing.assert_allclose(jx, finite_jacobian(lambda t: np.outer(t * m, t), x), atol=1e-6)
    assert not fx.hessian(lambda m: np.sum(m * 2.0), m).any()
    assert fx.hessian(lambda b: 2.0 * b, True) == 0.0


def test_numbers_and_int_arrays_still_get_gradients():
    assert fx.gradient(lambda x: x * 2, 1) == (2.0,)
    assert type(fx.gradient(lambda x: x * 2.0, np.float64(1.0))[0]) is float
    np.testing.assert_array_equal(fx.gradient(lambda x: np.sum(x * 2.0), np.array([1, 2]))[0], [2.0, 2.0])


# ---------------------------------------------------------------------------------------------------------
# jacobian: containers, shapes, dtypes


P = namedtuple("P", "a b")

X, Y = np.array([1.0, 2.0]), np.array([3.0, 4.0, 5.0])


def concat(d):
    return np.concatenate([d["a"] * 2.0, d["b"] ** 2 * d["s"]])


def concat_outer(d):
    return np.outer(d["a"], d["a"]) * d["s"]  # 4 outputs, 3 inputs: forward mode


@pytest.mark.parametrize("f", [concat, concat_outer], ids=["reverse", "forward"])
def test_jacobian_of_a_dict_argument(f):
    d = {"a": X, "b": Y, "s": 1.5}
    (j,) = fx.jacobian(f, d)
    assert set(j) == {"a", "b", "s"}
    for key in d:
        expected = finite_jacobian(lambda t, key=key: f({**d, key: t if np.ndim(t) else float(t)}), d[key])
        assert j[key].shape == np.shape(f(d)) + np.shape(d[key])
        np.testing.assert_allclose(j[key], expected, rtol=1e-6, atol=1e-6)


def test_jacobian_of_tuples_lists_and_namedtuples():
    (jt,) = fx.jacobian(lambda t: np.concatenate([t[0] * 2, t[1] ** 2]), (X, Y))
    assert type(jt) is tuple
    np.testing.assert_allclose(jt[0], np.vstack([2 * np.eye(2), np.zeros((3, 2))]))
    np.testing.assert_allclose(jt[1], np.vstack([np.zeros((2, 3)), np.diag(2 * Y)]))
    (jl,) = fx.jacobian(lambda t: t[0] * t[1], [X, 3.0])
    assert type(jl) is list
    np.testing.assert_allclose(jl[0], 3 * np.eye(2))
    np.testing.assert_allclose(jl[1], X)
    (jp,) = fx.jacobian(lambda p: np.outer(p.a, p.a) * p.b, P(X, 3.0))  # forward
    assert type(jp) is P
    np.testing.assert_allclose(jp.b, np.outer(X, X))
    (jn,) = fx.jacobian(lambda d: d["l"][0].a * d["l"][1], {"l": [P(X, None), 2.0]})
    assert jn["l"][0].b is None
    np.testing.assert_allclose(jn["l"][0].a, 2 * np.eye(2))
    np.testing.assert_allclose(jn["l"][1], X)


def test_jacobian_shapes_with_empty_arrays():
    je, js = fx.jacobian(lambda e, s: np.sum(e) + s * np.ones(2), np.zeros(0), 1.0)
    assert je.shape == (2, 0) and js.shape == (2,)
    (je,) = fx.jacobian(lambda e: np.sum(e**2), np.zeros(0))
    assert je.shape == (0,)
    (jx,) = fx.jacobian(lambda x: x[:0], X)
    assert jx.shape == (0, 2)
    assert fx.hessian(lambda e: np.sum(e**2), np.zeros(0)).shape == (0, 0)
    assert fx.hessian(lambda e: np.sum(e**2), np.zeros((2, 0))).shape == (2, 0, 2, 0)


@pytest.mark.parametrize(
    "f",
    [lambda t: t * np.ones(2, np.float32) * 2.0, lambda t: np.outer(t, t[:1])],
    ids=["reverse", "forward"],
)
def test_jacobian_keeps_float32(f):
    x = np.array([1.0, 2.0], np.float32)
    (j,) = fx.jacobian(f, x)
    assert j.dtype == np.float32
    np.testing.assert_allclose(j, finite_jacobian(f, x.astype(float)), rtol=1e-3, atol=1e-3)
    assert fx.jacobian(f, x.astype(np.float64))[0].dtype == np.float64
    assert fx.jacobian(lambda n: np.outer(n, n), np.array([1, 2]))[0].dtype == np.float64


def test_jacobian_with_keywords_in_both_modes():
    (j,) = fx.jacobian(lambda a, scale=1.0: a * scale, X, scale=2.0)
    np.testing.assert_allclose(j, 2 * np.eye(2))
    (j,) = fx.jacobian(lambda a, scale=1.0: np.outer(a, a) * scale, X, scale=2.0)
    np.testing.assert_allclose(j, 2 * finite_jacobian(lambda t: np.outer(t, t), X), atol=1e-6)


@pytest.mark.parametrize(
    "f",
    [lambda t: np.sin(t) * t[0], lambda t: np.outer(t, np.tanh(t))],
    ids=["reverse", "forward"],
)
def test_jacobian_inside_differentiated_code(f):
    x = np.array([0.3, -0.7, 1.1])
    check_grads(lambda x: np.sum(fx.jacobian(f, x)[0] ** 2), x, order=1)
    t = np.array([1.0, 0.5, -2.0])
    _, dj = fx.jvp(lambda x: fx.jacobian(f, x)[0], (x,), (t,))
    fd = (fx.jacobian(f, x + EPS * t)[0] - fx.jacobian(f, x - EPS * t)[0]) / (2 * EPS)
    np.testing.assert_allclose(dj, fd, rtol=1e-5, atol=1e-6)


def test_jacobian_and_hessian_refuse_clearly():
    with pytest.raises(fx.FluxpyError, match="argument 2 is a str"):
        fx.jacobian(lambda x, s: x * 2, X, "mode")
    with pytest.raises(fx.FluxpyError, match=r"argument 1\['b'\] is a str"):
        fx.jacobian(lambda d: d["a"] * 2, {"a": X, "b": "name"})
    with pytest.raises(fx.FluxpyError, match="is a Dense: for a model"):
        fx.jacobian(lambda m: m(X), fx.Dense(2, 3))
    with pytest.raises(fx.FluxpyError, match="returned a tuple"):
        fx.jacobian(lambda x: (x, x), X)
    with pytest.raises(fx.FluxpyError, match="got a dict"):
        fx.hessian(lambda d: np.sum(d["a"] ** 3), {"a": X})
    with pytest.raises(fx.FluxpyError, match="got a tuple"):
        fx.hessian(lambda t: np.sum(t[0] ** 3), (X, 2.0))
    with pytest.raises(fx.FluxpyError, match="got 2 arguments"):
        fx.hessian(lambda a, b: np.sum(a * a * b), X, X)
    # the nearby valid cases
    assert fx.jacobian(lambda x, s=None: x * 2, X, s="mode")[0].shape == (2, 2)
    np.testing.assert_allclose(fx.hessian(lambda a, k=1.0: np.sum(a**3) * k, X, k=2.0), np.diag(12 * X))


# ---------------------------------------------------------------------------------------------------------
# a user rule's pullback with the wrong number of entries


def two(a, b):
    return a * b


@fx.adjoint(two)
def two_short_rule(a, b):
    return a * b, lambda dy: (dy * b,)  # one entry for two positional arguments


def three(a):
    return a * 3.0


@fx.adjoint(three)
def three_untupled_rule(a):
    return a * 3.0, lambda dy: dy * 3.0  # not a tuple


def cube(x):
    return x**3


@fx.adjoint(cube)
def cube_rule(x):
    def cube_pullback(dy):
        return (dy * 3 * x**2,)

    return cube(x), cube_pullback


userlib = types.ModuleType("userlib")  # a module attribute: generated code calls its rule directly
userlib.three, userlib.cube = three, cube


def test_a_short_pullback_result_names_the_rule():
    with pytest.raises(fx.FluxpyError) as info:
        fx.gradient(lambda a, b: two(a, b), 2.0, 3.0)
    message = str(info.value)
    assert "two_short_rule" in message and "test_api_hunt_fixes.py" in message
    assert "a tuple of 1 entry" in message and "2 positional arguments" in message


@pytest.mark.parametrize("via", ["call", "module attribute"])
def test_a_pullback_result_that_is_no_tuple_names_the_rule(via):
    f = (lambda x: three(x) * 2.0) if via == "call" else (lambda x: userlib.three(x) * 2.0)
    with pytest.raises(fx.FluxpyError, match=r"three_untupled_rule .*returned a float, not a tuple"):
        fx.gradient(f, 2.0)


def elementwise_square(x):
    return x * x


@fx.adjoint(elementwise_square)
def square_untupled_rule(x):
    def square_untupled_pullback(dy):
        return 2 * x * dy  # an array, not a tuple: tuple() of it would give one entry per element

    return x * x, square_untupled_pullback


@pytest.mark.parametrize("how", ["hessian", "hvp", "jvp of gradient", "gradient of gradient"])
def test_a_pullback_result_that_is_no_tuple_is_caught_at_second_order(how):
    # forward over reverse ran the rule unchecked: fx.hessian gave [[2, 0, 0], [2, 0, 0], [2, 0, 0]]
    def f(x):
        return np.sum(elementwise_square(x))

    x = np.ones(3)
    calls = {
        "hessian": lambda: fx.hessian(f, x),
        "hvp": lambda: fx.hvp(f, (x,), (x,)),
        "jvp of gradient": lambda: fx.jvp(lambda x: fx.gradient(f, x)[0], (x,), (x,)),
        "gradient of gradient": lambda: fx.gradient(lambda x: np.sum(fx.gradient(f, x)[0]), x),
    }
    with pytest.raises(fx.FluxpyError, match=r"square_untupled_rule .*returned an ndarray, not a tuple"):
        calls[how]()


def test_user_rules_still_differentiate_at_every_order():
    x = np.array([0.5, -1.5])
    assert "__fx_rule_of" in fx.adjoint_source(lambda x: np.sum(userlib.cube(x)))
    check_grads(lambda x: np.sum(userlib.cube(x) * 2.0), x, order=2, forward=True)
    check_grads(lambda x: np.sum(cube(x) * 2.0), x, order=2, forward=True)
    check_grads(lambda x: userlib.cube(x), 1.5, order=3)


# ---------------------------------------------------------------------------------------------------------
# jvp's arguments, back's cotangent


def test_jvp_takes_tuples():
    with pytest.raises(fx.FluxpyError, match="primals is an ndarray"):
        fx.jvp(lambda a: a * a, X, np.ones(2))
    with pytest.raises(fx.FluxpyError, match="tangents is a float"):
        fx.jvp(lambda a: a * a, (2.0,), 1.0)
    with pytest.raises(fx.FluxpyError, match="1 primals but 2 tangents"):
        fx.jvp(lambda a: a * a, (2.0,), (1.0, 1.0))
    assert fx.jvp(lambda a: a * a, [2.0], [1.0]) == (4.0, 4.0)


def test_jvp_tangent_of_the_wrong_shape_names_the_argument():
    with pytest.raises(
        fx.FluxpyError, match=r"tangents\[1\] has shape \(3,\), but primals\[1\] has shape \(2,\)"
    ):
        fx.jvp(lambda s, a: a * s, (1.0, X), (1.0, np.ones(3)))
    with pytest.raises(fx.FluxpyError, match=r"tangents\[0\]\['a'\] has shape"):
        fx.jvp(lambda d: d["a"] * 2, ({"a": X},), ({"a": np.ones(3)},))
    with pytest.raises(
        fx.FluxpyError, match=r"tangents\[0\] has shape \(2,\), but primals\[0\] has shape \(\)"
    ):
        fx.jvp(lambda s: s * 2, (1.0,), (np.ones(2),))
    # broadcasting tangents, and tangents of the primal's shape, are fine
    np.testing.assert_allclose(fx.jvp(lambda a: a * a, (X,), (np.ones(2),))[1], 2 * X)
    np.testing.assert_allclose(fx.jvp(lambda a: a * a, (X,), (1.0,))[1], 2 * X)


def test_back_checks_the_cotangent():
    _, back = fx.pullback(lambda a: np.outer(a, a), X)
    with pytest.raises(fx.FluxpyError, match=r"dy has shape \(3,\), but the output y has shape \(2, 2\)"):
        back(np.ones(3))
    _, back2 = fx.pullback(lambda a: (a * 3, a[0]), X)
    with pytest.raises(fx.FluxpyError, match="y is a tuple of 2 entries, but dy is an ndarray"):
        back2(np.ones(2))
    with pytest.raises(fx.FluxpyError, match="dy is a tuple of 1 entry"):
        back2((np.ones(2),))
    with pytest.raises(fx.FluxpyError, match=r"dy\[0\] has shape \(3,\)"):
        back2((np.ones(3), 1.0))
    _, back3 = fx.pullback(lambda a: {"u": a * 2, "v": a[0]}, X)
    with pytest.raises(fx.FluxpyError, match=r"keys \['w'\]"):
        back3({"w": 1.0})
    _, back4 = fx.pullback(lambda a: np.sum(a), X)
    with pytest.raises(fx.FluxpyError, match=r"dy has shape \(2,\), but the output y has shape \(\)"):
        back4(np.ones(2))
    # the nearby valid cotangents
    np.testing.assert_allclose(back(np.eye(2))[0], 2 * X)
    np.testing.assert_allclose(back(1.0)[0], 2 * np.sum(X) * np.ones(2))
    np.testing.assert_allclose(back2([np.ones(2), 1.0])[0], [4.0, 3.0])
    np.testing.assert_allclose(back2((None, 1.0))[0], [1.0, 0.0])
    np.testing.assert_allclose(back3({"u": np.ones(2)})[0], [2.0, 2.0])
    np.testing.assert_allclose(back4(np.array(2.0))[0], [2.0, 2.0])
    assert back(None) == (None,)


# ---------------------------------------------------------------------------------------------------------
# NoAdjointError names a ufunc as its module exposes it


def test_no_adjoint_error_names_scipy_ufuncs_by_their_module():
    special = pytest.importorskip("scipy.special")
    if not isinstance(special.gammaln, np.ufunc) or fx.rules.registry.lookup(special.gammaln) is not None:
        pytest.skip("scipy.special.gammaln is no bare ufunc here, or has a rule")
    with pytest.raises(fx.NoAdjointError) as info:
        fx.gradient(lambda t: np.sum(special.gammaln(t)), X)
    message = str(info.value)
    assert "@fx.adjoint(scipy.special.gammaln)" in message and "numpy.gammaln" not in message


def test_no_adjoint_error_names_ufunc_methods():
    if fx.rules.registry.lookup(np.logaddexp.accumulate) is not None:
        pytest.skip("np.logaddexp.accumulate has a rule now")
    with pytest.raises(fx.NoAdjointError) as info:
        fx.gradient(lambda t: np.sum(np.logaddexp.accumulate(t)), X)
    message = str(info.value)
    assert "@fx.adjoint(numpy.logaddexp.accumulate)" in message and "ufunc.accumulate" not in message
    assert "def logaddexp_accumulate_rule" in message
