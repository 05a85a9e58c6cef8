"""Fixes and rules after the 14th bug hunt: enum members carry no gradient (a keyword such as
``copy=np._CopyMode.IF_NEEDED``), dict subclasses get a gradient of their own type and keys, rules for
``np.logaddexp.reduce``/``accumulate`` (and base 2), reparameterised random draws (``rng.normal(mu,
sigma)``, ...) and the hint of the ``np.add.at`` refusal."""

import enum
from collections import OrderedDict, defaultdict

import numpy as np
import pytest

import fluxpy as fx
from fluxpy.tangents import is_differentiable
from fluxpy.testing import check_grads

# ---------------------------------------------------------------------------------------------------------
# 1. enum members (and random generators) carry no gradient


def asarray(obj, /, *, dtype=None, copy=None):  # scipy's array-api helper, as scipy.special.softmax calls it
    if copy is None:
        copy = np._CopyMode.IF_NEEDED
    return np.array(obj, copy=copy, dtype=dtype)


def squares_through_asarray(x):
    return np.sum(asarray(x) ** 2)


class Mode(enum.IntEnum):
    SUM = 1
    MEAN = 2


def reduce_by(x, mode):
    total = np.sum(x**2)
    return total if mode is Mode.SUM else total / x.size


def pick_mode(x, flag):
    mode = Mode.MEAN if flag else Mode.SUM
    return reduce_by(x, mode=mode)


def test_an_enum_keyword_bound_to_a_variable_needs_no_gradient():
    x = np.array([0.5, 1.5, -2.0])
    check_grads(squares_through_asarray, x, order=2, forward=True)
    np.testing.assert_allclose(fx.gradient(squares_through_asarray, x)[0], 2 * x)
    np.testing.assert_allclose(fx.gradient(pick_mode, x, True)[0], 2 * x / 3)
    assert fx.gradient(reduce_by, x, Mode.SUM)[1] is None  # an IntEnum argument gets none


@pytest.mark.parametrize(
    "value",
    [Mode.SUM, np._CopyMode.IF_NEEDED, np.dtype("float32"), float, np.random.default_rng(0)],
    ids=["IntEnum", "CopyMode", "dtype", "type", "Generator"],
)
def test_non_numeric_objects_are_not_differentiable(value):
    assert not is_differentiable(value)


def clip_below(x, lo):
    return np.sum(np.clip(x, min=lo))


def test_a_float_keyword_that_needs_a_gradient_is_still_refused():
    with pytest.raises(fx.FluxpyError, match="keyword argument min="):
        fx.gradient(clip_below, np.array([1.0, 2.0]), 1.5)


def scipy_softmax_loss(x):
    import scipy.special

    return np.sum(scipy.special.softmax(x) * np.array([1.0, 2.0, 3.0]))


def test_scipy_softmax():
    pytest.importorskip("scipy")
    x = np.array([0.1, 0.5, -0.2])
    p = np.exp(x) / np.sum(np.exp(x))
    w = np.array([1.0, 2.0, 3.0])
    np.testing.assert_allclose(fx.gradient(scipy_softmax_loss, x)[0], p * (w - np.sum(p * w)), rtol=1e-12)


# ---------------------------------------------------------------------------------------------------------
# 2. dict subclasses: the same type, keys and order; Python floats stay floats


def dict_loss(d):
    return d["s"] ** 2 + 0.0 * d["w"][0]


def dict_cases():
    items = [("s", 2.0), ("w", np.array([1.0])), ("t", 3.0)]

    class Params(dict):
        pass

    return [dict(items), OrderedDict(items), defaultdict(float, items), Params(items)]


@pytest.mark.parametrize("d", dict_cases(), ids=["dict", "OrderedDict", "defaultdict", "subclass"])
def test_a_dict_subclass_gets_its_own_type_keys_and_order(d):
    (g,) = fx.gradient(dict_loss, d)
    assert type(g) is type(d)
    assert list(g) == ["s", "w", "t"]
    assert type(g["s"]) is float and g["s"] == 4.0
    np.testing.assert_array_equal(g["w"], [0.0])
    assert g["t"] is None
    if isinstance(d, defaultdict):
        assert g.default_factory is float
    (back,) = fx.pullback(dict_loss, d)[1](1.0)
    assert type(back) is type(d) and list(back) == ["s", "w", "t"]


def nested_loss(p):
    return p["a"]["x"] * 2.0 + p["a"]["z"] ** 2


def s_gradient(d):
    return fx.gradient(nested_loss, d)[0]["a"]["z"]


def test_nested_and_second_order_dict_subclasses():
    p = {"b": 3.0, "a": OrderedDict(z=1.5, x=1.0, y=2.0)}
    (g,) = fx.gradient(nested_loss, p)
    assert list(g) == ["b", "a"] and g["b"] is None
    assert type(g["a"]) is OrderedDict and list(g["a"].items()) == [("z", 3.0), ("x", 2.0), ("y", None)]
    (gg,) = fx.gradient(s_gradient, p)  # d/dz of 2z
    assert type(gg["a"]) is OrderedDict and gg["a"]["z"] == 2.0


def test_a_dict_subclass_that_gets_no_gradient_gives_none():
    assert fx.gradient(lambda_free_loss, 1.0, OrderedDict(k=2.0))[1] is None


def lambda_free_loss(x, d):
    return x * 2.0


# ---------------------------------------------------------------------------------------------------------
# 3. np.logaddexp.reduce / accumulate, np.logaddexp2.reduce / accumulate

X34 = np.random.default_rng(7).normal(size=(3, 4))


def lse_default(x):
    return np.sum(np.logaddexp.reduce(x) ** 2)


def lse_axis1_keepdims(x):
    return np.sum(np.sin(np.logaddexp.reduce(x, 1, keepdims=True)))


def lse2_all(x):
    return np.logaddexp2.reduce(x, axis=None)


def lse_tuple_axes(x):
    return np.sum(np.logaddexp.reduce(x, axis=(0, 1), keepdims=True) ** 2)


def lse_initial(x):
    return np.sum(np.logaddexp.reduce(x, axis=-1, initial=0.5) ** 2)


def cum_lse(x):
    return np.sum(np.sin(np.logaddexp.accumulate(x)))


def cum_lse2_axis1(x):
    return np.sum(np.sin(np.logaddexp2.accumulate(x, axis=1)))


def cum_lse_negative_axis(x):
    return np.sum(np.logaddexp.accumulate(x, -1) * np.arange(4.0))


@pytest.mark.parametrize(
    "f",
    [
        lse_default,
        lse_axis1_keepdims,
        lse2_all,
        lse_tuple_axes,
        lse_initial,
        cum_lse,
        cum_lse2_axis1,
        cum_lse_negative_axis,
    ],
)
def test_logaddexp_reduce_and_accumulate(f):
    check_grads(f, X34, order=2, forward=True)


def lse_value(x):
    return np.logaddexp.reduce(x, axis=1)


def cum_value(x):
    return np.logaddexp2.accumulate(x, axis=0)


def test_logaddexp_values_are_numpys():
    np.testing.assert_array_equal(fx.pullback(lse_value, X34)[0], np.logaddexp.reduce(X34, axis=1))
    np.testing.assert_array_equal(fx.pullback(cum_value, X34)[0], np.logaddexp2.accumulate(X34, axis=0))


def weighted_cum_lse(x):
    return np.sum(np.logaddexp.accumulate(x) * np.array([0.0, 1.0, 2.0, 3.0]))


def test_logaddexp_gradients_are_stable_and_exact():
    x = np.array([0.1, 1.0, -0.5, 0.3])
    p = np.exp(x) / np.sum(np.exp(x))
    np.testing.assert_allclose(fx.gradient(np.logaddexp.reduce, x)[0], p, rtol=1e-14)
    big = np.array([1000.0, -1000.0, 999.0, 1001.0])
    for f in (weighted_cum_lse, lse_default, cum_lse):
        g = fx.gradient(f, big)[0] if f is weighted_cum_lse else fx.gradient(f, big.reshape(2, 2))[0]
        assert np.all(np.isfinite(g))
    np.testing.assert_allclose(  # shifting x does not change a log-sum-exp's weights
        fx.gradient(weighted_cum_lse, big)[0], fx.gradient(weighted_cum_lse, big - 1000.0)[0], rtol=1e-12
    )


def lse_of_list(a, b):
    return np.logaddexp.reduce([a, b, 0.5])


def test_logaddexp_reduce_of_a_list_and_float32():
    ga, gb = fx.gradient(lse_of_list, 0.2, -0.3)
    z = np.exp(0.2) + np.exp(-0.3) + np.exp(0.5)
    assert ga == pytest.approx(np.exp(0.2) / z) and gb == pytest.approx(np.exp(-0.3) / z)
    g = fx.gradient(cum_lse, X34.astype(np.float32))[0]
    assert g.dtype == np.float32


# ---------------------------------------------------------------------------------------------------------
# 4. reparameterised random draws: NumPy's values, gradients of the standard noise held fixed

FAMILIES = {  # method -> (parameters, the standard parameters)
    "normal": ((0.3, 1.7), (0.0, 1.0)),
    "laplace": ((0.3, 1.7), (0.0, 1.0)),
    "gumbel": ((0.3, 1.7), (0.0, 1.0)),
    "logistic": ((0.3, 1.7), (0.0, 1.0)),
    "uniform": ((-0.5, 2.5), (0.0, 1.0)),
    "exponential": ((1.7,), (1.0,)),
    "rayleigh": ((1.7,), (1.0,)),
    "lognormal": ((0.3, 0.6), None),
}
MAKERS = {
    "Generator": lambda: np.random.default_rng(11),
    "MT19937": lambda: np.random.Generator(np.random.MT19937(3)),
    "RandomState": lambda: np.random.RandomState(5),
}
SHAPES = [  # parameter shapes, size
    ((), None),
    ((), (2, 3)),
    ((3, 1), None),
    ((3, 1), (2, 3, 4)),
    ((4,), None),
]


def params_of(method, shapes_index):
    base, _ = FAMILIES[method]
    shape, size = SHAPES[shapes_index]
    r = np.random.default_rng(shapes_index)
    out = []
    for k, p in enumerate(base):
        if shape == ():
            out.append(p)
        else:
            s = shape if k == 0 else shape[-1:]  # two shapes that broadcast together
            out.append(p + r.uniform(0.0, 0.5, s))
    return tuple(out), size


def drawn(rng, method, params, size):
    return getattr(rng, method)(*params, size=size)


@pytest.mark.parametrize("maker", list(MAKERS))
@pytest.mark.parametrize("method", list(FAMILIES))
@pytest.mark.parametrize("shapes", range(len(SHAPES)))
def test_draws_are_numpys_bit_for_bit_and_leave_the_same_state(maker, method, shapes):
    params, size = params_of(method, shapes)
    mine, theirs = MAKERS[maker](), MAKERS[maker]()
    y, back = fx.pullback(drawn, mine, method, params, size)
    expected = drawn(theirs, method, params, size)
    assert type(y) is type(expected)
    np.testing.assert_array_equal(y, expected)
    np.testing.assert_array_equal(
        mine.random_sample(5) if maker == "RandomState" else mine.random(5),
        theirs.random_sample(5) if maker == "RandomState" else theirs.random(5),
    )
    grads = back(np.ones_like(y))[2]
    assert len(grads) == len(params) and all(g is not None for g in grads)


def draw_loc_scale(loc, scale, method, seed):
    return getattr(np.random.default_rng(seed), method)(loc, scale, (2, 3))


@pytest.mark.parametrize("method", ["normal", "laplace", "gumbel", "logistic"])
def test_location_scale_cotangents_are_one_and_the_standard_draws(method):
    loc, scale = np.full((2, 3), 0.3), np.full((2, 3), 1.7)
    y, back = fx.pullback(draw_loc_scale, loc, scale, method, 4)
    dloc, dscale, _, _ = back(np.ones((2, 3)))
    np.testing.assert_array_equal(dloc, np.ones((2, 3)))
    np.testing.assert_array_equal(dscale, getattr(np.random.default_rng(4), method)(0.0, 1.0, (2, 3)))
    np.testing.assert_array_equal(y, loc + scale * dscale)  # no FMA on this path: NumPy's arithmetic


def legacy_draw(mu, sigma):
    np.random.seed(3)
    return np.random.normal(mu, sigma, 5)


def test_legacy_normal_and_its_cached_gaussian():
    np.random.seed(3)
    expected = np.random.normal(0.5, 2.0, 5)
    np.random.seed(3)
    eps = np.random.standard_normal(5)
    y, back = fx.pullback(legacy_draw, 0.5, 2.0)
    np.testing.assert_array_equal(y, expected)
    assert back(np.ones(5)) == (5.0, float(np.sum(eps)))
    rs, twin = np.random.RandomState(8), np.random.RandomState(8)
    rs.normal(), twin.normal()  # an odd count: the second Gaussian of a pair is cached in the state
    y, back = fx.pullback(drawn, rs, "normal", (0.5, np.full(3, 2.0)), None)
    twin_eps = twin.standard_normal(3)
    np.testing.assert_array_equal(back(np.ones(3))[2][1], twin_eps)


def vae_loss(mu, log_sigma):
    rng = np.random.default_rng(0)
    z = rng.normal(mu, np.exp(log_sigma), size=(4, 3))
    return np.sum(np.tanh(z) ** 2) + np.sum(np.exp(2 * log_sigma) + mu**2 - 2 * log_sigma)


def other_families(a, b):
    rng = np.random.default_rng(2)
    return (
        np.sum(np.sin(rng.uniform(a, a + b, 5)))
        + np.sum(np.cos(rng.exponential(b, (2, 2))))
        + np.sum(rng.lognormal(a, b, 3))
        + np.sum(np.sin(rng.laplace(a, b, 3)) * rng.gumbel(a, b, 3) + rng.logistic(a, b, 3) ** 2)
        + np.sum(rng.rayleigh(scale=b, size=2) ** 2)
    )


def legacy_families(mu, sigma):
    rs = np.random.RandomState(2)
    return np.sum(np.sin(rs.normal(loc=mu, scale=sigma, size=(2, 3)))) + np.sum(
        np.random.RandomState(4).lognormal(mu, sigma)
    )


def test_reparameterised_draws_second_order():
    check_grads(vae_loss, np.array([0.5, -0.2, 0.1]), np.array([[-0.3, 0.2, 0.0]]), order=2, forward=True)
    check_grads(other_families, 0.3, 0.8, order=2, forward=True)
    check_grads(legacy_families, np.array([0.1, 0.4, -0.3]), 0.7, order=2, forward=True)


def lognormal_sum(sigma):
    return np.sum(np.random.default_rng(1).lognormal(0.5, sigma, 3))


def test_lognormal_hessian_and_float32_parameters():
    eps = np.random.default_rng(1).standard_normal(3)
    assert fx.hessian(lognormal_sum, 2.0) == pytest.approx(np.sum(eps**2 * np.exp(0.5 + 2.0 * eps)))
    mu, sigma = np.array([0.5, 1.0, -1.0], np.float32), np.float32(2.0)
    y, back = fx.pullback(draw_loc_scale, mu, sigma, "normal", 0)
    assert y.dtype == np.float64  # as NumPy, which reads the parameters as float64
    np.testing.assert_array_equal(y, np.random.default_rng(0).normal(mu, sigma, (2, 3)))
    dmu, dsigma, _, _ = back(np.ones((2, 3)))
    assert dmu.dtype == np.float32 and type(dsigma) is float


def list_parameters(a, b):
    return np.sum(np.random.default_rng(0).normal([a, 1.0], [b, b], (3, 2)))


def test_list_parameters():
    ga, gb = fx.gradient(list_parameters, 0.2, 0.5)
    eps = np.random.default_rng(0).standard_normal((3, 2))
    assert ga == 3.0 and gb == pytest.approx(float(np.sum(eps)))


def gamma_scale(theta):
    return np.sum(np.random.default_rng(0).gamma(2.0, theta, 3))


def test_other_distributions_are_still_refused():
    with pytest.raises(fx.NoAdjointError, match="gamma"):
        fx.gradient(gamma_scale, 1.5)


# ---------------------------------------------------------------------------------------------------------
# 5. the hint of the np.add.at refusal names what works for arrays

IDX = np.array([0, 0, 2])


def scatter_at(v):
    a = np.zeros(3)
    np.add.at(a, IDX, v)
    return np.sum(a**2)


def scatter_bincount(v):
    a = np.ones(4)
    a = a + np.bincount(IDX, weights=v, minlength=len(a))
    return np.sum(a**3)


def scatter_rows(v):
    a = np.ones((4, 2))
    a = a + np.eye(len(a))[IDX].T @ v
    return np.sum(a**3)


def scatter_loop(v):
    a = np.ones(4)
    for k, i in enumerate(IDX):
        a[i] += v[k]
    return np.sum(a**3)


def test_add_at_hint_suggests_array_alternatives_that_work():
    with pytest.raises(fx.FluxpyError, match="ufunc.at changes") as e:
        fx.gradient(scatter_at, np.array([1.0, 2.0, 3.0]))
    message = str(e.value)
    assert "np.bincount(idx, weights=v" in message and "items = items" not in message
    assert "np.add.at(a, IDX, v)" in message  # the user's line
    check_grads(scatter_bincount, np.array([1.0, 2.0, 3.0]), order=2, forward=True)
    check_grads(scatter_rows, np.arange(6.0).reshape(3, 2), order=2, forward=True)
    check_grads(scatter_loop, np.array([1.0, 2.0, 3.0]), order=2, forward=True)


def lse_where(x):
    mask = np.array([[True, False, True, True], [False, True, True, True], [True, True, True, False]])
    return np.sum(np.logaddexp.reduce(x, axis=1, where=mask, initial=-np.inf) ** 2)


def lse_out(x):
    out = np.zeros(4)
    return np.sum(np.logaddexp.reduce(x, axis=0, out=out))


def test_logaddexp_reduce_where_and_out():
    check_grads(lse_where, X34, order=2, forward=True)
    masked = X34.copy()
    masked[0, 1] = masked[1, 0] = masked[2, 3] = 1e6  # never read: no overflow reaches the gradient
    g = fx.gradient(lse_where, masked)[0]
    assert np.all(np.isfinite(g)) and g[0, 1] == g[1, 0] == g[2, 3] == 0.0
    with pytest.raises(fx.FluxpyError, match=r"reduce\(\.\.\., out=\.\.\.\) changes an array in place"):
        fx.gradient(lse_out, X34)
