"""Hunt 15, forward mode and the API: the tangents fx.jvp is given (fluxpy/jvp_tangents.py: a tangent is a
direction, never compared with the primal; what does not fit raises a FluxpyError naming where), the caller's
lists never change and the caller's tangents are never returned, a structured output's tangent is dense;
fx.jacobian of a complex output (and complex arguments refused), and clearer errors (implicit parameters
with a function that takes arguments, a rule's cotangent of the wrong shape, a missing keyword-only
argument)."""

import dataclasses
from collections import namedtuple

import numpy as np
import pytest

import fluxpy as fx
from fluxpy.errors import FluxpyError
from fluxpy.testing import check_grads

rng = np.random.default_rng(15)
Z = np.array([0.3, 0.1])


# ---------------------------------------------------------------------------------------------------------
# 1. the tangent of an object: a direction, whatever its value


@dataclasses.dataclass
class P:
    mu: float
    sig: np.ndarray


def log_density(p, z):
    return np.sum(-0.5 * ((z - p.mu) / p.sig) ** 2)


@fx.functor
class Affine:
    def __init__(self, a, b):
        self.a = a
        self.b = b

    def __call__(self, x):
        return self.a * x + self.b


def affine_at_3(m):
    return m(3.0)


def d_log_density_d_mu(p, z):
    return np.sum((z - p.mu) / p.sig**2)


@pytest.mark.parametrize("dmu", [0.5, 1.0, 2.0])
def test_a_number_in_an_object_tangent_equal_to_the_primal_is_a_direction(dmu):
    p = P(1.0, np.array([1.0, 2.0]))
    expected = dmu * d_log_density_d_mu(p, Z)
    for tangent in ({"mu": dmu, "sig": np.zeros(2)}, {"mu": dmu}, fx.Tangent(P, {"mu": dmu})):
        np.testing.assert_allclose(fx.jvp(log_density, (p, Z), (tangent, np.zeros(2)))[1], expected)
    check_grads(log_density, p, Z, order=2, forward=True)


def test_dict_tangents_of_a_functor_move_the_fields_they_name():
    m = Affine(2.0, 1.0)
    assert fx.jvp(affine_at_3, (m,), ({"a": 2.0, "b": 0.0},))[1] == 6.0
    assert fx.jvp(affine_at_3, (m,), ({"a": 0.0, "b": 1.0},))[1] == 1.0
    assert fx.jvp(affine_at_3, (m,), (fx.Tangent(Affine, {"b": 1.0}),))[1] == 1.0


def test_an_object_of_the_primal_type_moves_its_arrays_and_refuses_its_floats():
    p = P(1.0, np.array([1.0, 2.0]))
    dsig = np.array([0.5, -1.0])
    expected = fx.jvp(log_density, (p, Z), ({"sig": dsig}, None))[1]
    np.testing.assert_allclose(fx.jvp(log_density, (p, Z), (P(None, dsig), None))[1], expected)
    for mu in (1.0, 0.5, 0.0):  # a float there is ambiguous (fx.fmap leaves numbers as they are)
        with pytest.raises(FluxpyError, match=r"tangents\[0\]\.mu is a float.*ambiguous.*None"):
            fx.jvp(log_density, (p, Z), (P(mu, dsig), None))


def conv_of(m, x):
    return m(x)


def test_an_fmap_tangent_of_a_layer_with_int_fields_and_of_a_norm_layer():
    x = rng.standard_normal((1, 2, 5, 5))
    m = fx.f64(fx.Conv((2, 2), 2, 3, np.tanh, stride=1))
    t = fx.fmap(lambda a: rng.standard_normal(a.shape) if isinstance(a, np.ndarray) else a, m)
    expected = fx.jvp(conv_of, (m, x), ({"weight": t.weight, "bias": t.bias}, None))[1]
    np.testing.assert_allclose(fx.jvp(conv_of, (m, x), (t, None))[1], expected)  # stride, groups: ints
    norm = fx.f64(fx.LayerNorm(3))
    h = rng.standard_normal((4, 3))
    with pytest.raises(FluxpyError, match=r"tangents\[0\]\.eps is a float"):
        fx.jvp(
            conv_of, (norm, h), (fx.fmap(lambda a: a * 0.5 if isinstance(a, np.ndarray) else a, norm), None)
        )
    t = fx.fmap(lambda a: a * 0.5 if isinstance(a, np.ndarray) else None, norm)
    expected = fx.jvp(conv_of, (norm, h), ({"gamma": t.gamma, "beta": t.beta}, None))[1]
    np.testing.assert_allclose(fx.jvp(conv_of, (norm, h), (t, None))[1], expected)


# ---------------------------------------------------------------------------------------------------------
# 2. the caller's lists and dicts never change


def appends(items, x):
    items.append(x**2)
    return sum(items)


def extends(items, x):
    items.extend([x, x])
    items[0] = items[0] * x
    return items[0] + items[-1]


def updates(d, x):
    d.update({"k": x * 3.0})
    return d["k"] + d["a"]


def test_jvp_leaves_the_callers_list_and_dict_alone():
    items, t_items = [1.0, 2.0], [1.0, 0.0]
    for _ in range(2):  # the second call sees the same list
        assert fx.jvp(appends, (items, 0.5), (t_items, 1.0)) == (3.25, 2.0)
    assert items == [1.0, 2.0] and t_items == [1.0, 0.0]
    arrays = [np.array(1.0)]
    y, ty = fx.jvp(extends, (arrays, 2.0), ([np.array(1.0)], 1.0))
    assert (y, ty) == (4.0, 4.0) and len(arrays) == 1
    d = {"a": 1.0}
    assert fx.jvp(updates, (d, 2.0), ({"a": 1.0}, 1.0)) == (7.0, 4.0)
    assert d == {"a": 1.0}
    nested = ([1.0], 2.0)
    fx.jvp(lambda n: appends(n[0], n[1]), (nested,), (([1.0], 1.0),))
    assert nested == ([1.0], 2.0)


def appends_a_copy(items, x):
    more = list(items)
    more.append(x**2)
    return sum(more)


def test_a_list_argument_still_differentiates():
    check_grads(appends_a_copy, [1.0, 2.0], 0.5, order=2, forward=True)


# ---------------------------------------------------------------------------------------------------------
# 3. tangents that do not fit their primals


def product(pair):
    return pair[0] * pair[1]


def keyed(d):
    return d["a"] * d["b"]


def square(a):
    return a**2


def dense_of(m, x):
    return m(x)


PAIR = [np.ones(2), np.ones(2) * 2]
KEYED = {"a": np.ones(2), "b": np.ones(2) * 2}
DENSE = fx.f64(fx.Dense(3, 4))
X3 = np.ones(3)

BAD_TANGENTS = [
    (product, (PAIR,), ([np.ones(2)],), r"tangents\[0\] has 1 entry, but primals\[0\] has 2"),
    (product, (PAIR,), ((np.ones(2),) * 3,), r"tangents\[0\] has 3 entries, but primals\[0\] has 2"),
    (
        product,
        (PAIR,),
        ({"a": 1.0},),
        r"tangents\[0\] is a dict, but primals\[0\] is a list: give a list of 2",
    ),
    (product, (PAIR,), ([np.ones(2), np.ones(3)],), r"tangents\[0\]\[1\] has shape \(3,\)"),
    (keyed, (KEYED,), ([np.ones(2), np.ones(2)],), r"tangents\[0\] is a list, but primals\[0\] is a dict"),
    (keyed, (KEYED,), ({"a": np.ones(2), "c": np.ones(2)},), r"names \['c'\], which are not its keys"),
    (
        keyed,
        (KEYED,),
        ({"a": [1.0, 1.0]},),
        r"tangents\[0\]\['a'\] is a list, but primals\[0\]\['a'\] is an nd",
    ),
    (square, (2.0,), ([1.0],), r"tangents\[0\] is a list, but primals\[0\] is a float: give a number"),
    (square, (2.0,), ("a",), r"tangents\[0\] is a str, but primals\[0\] is a float: give a number"),
    (
        square,
        (X3,),
        (np.ones((1, 3)),),
        r"tangents\[0\] has shape \(1, 3\), but primals\[0\] has shape \(3,\)",
    ),
    (dense_of, (DENSE, X3), ({"weight": np.ones((2, 2))}, None), r"tangents\[0\]\.weight has shape \(2, 2\)"),
    (dense_of, (DENSE, X3), ({"weight": np.ones(3)}, None), r"tangents\[0\]\.weight has shape \(3,\), but"),
    (
        dense_of,
        (DENSE, X3),
        ([np.ones((4, 3))], None),
        r"tangents\[0\] is a list, but primals\[0\] is a Dense",
    ),
    (dense_of, (DENSE, X3), (fx.Tangent(P, {"mu": 1.0}), None), r"is a Tangent\[P\], but primals\[0\] is a"),
    (dense_of, (DENSE, X3), (fx.Tangent(fx.Dense, {"weigth": 1.0}), None), r"\['weigth'\], which are not"),
    (dense_of, (DENSE, X3), (None, {"a": 1.0}), r"tangents\[1\] is a dict, but primals\[1\] is an ndarray"),
    (
        lambda s, n: s * 2,
        ("a", 1.0),
        ("b", 1.0),
        r"tangents\[0\] is a str, but primals\[0\] is a str, which has",
    ),
]


@pytest.mark.parametrize("f, primals, tangents, message", BAD_TANGENTS)
def test_a_tangent_that_does_not_fit_raises_naming_where(f, primals, tangents, message):
    with pytest.raises(FluxpyError, match=message):
        fx.jvp(f, primals, tangents)


Pair = namedtuple("Pair", "a b")


def test_tangents_that_fit():
    assert fx.jvp(product, ([2.0, 3.0],), ((1.0, None),)) == (6.0, 3.0)  # a tuple for a list, None is zero
    np.testing.assert_allclose(fx.jvp(keyed, (KEYED,), ({"a": np.ones(2)},))[1], [2.0, 2.0])  # missing: zero
    np.testing.assert_allclose(fx.jvp(square, (X3,), (0.5,))[1], X3)  # a number: the same in every element
    np.testing.assert_allclose(fx.jvp(square, (X3,), (np.array(0.5),))[1], X3)
    assert fx.jvp(square, (2.0,), (np.ones(1),))[1] == 4.0
    assert fx.jvp(lambda p: p.a * p.b, (Pair(2.0, 3.0),), (Pair(1.0, 0.0),)) == (6.0, 3.0)
    assert fx.jvp(lambda s, n: n * 2, ("a", 1.0), (None, 1.0)) == (2.0, 2.0)
    nested = {"layers": ({"weight": np.ones((4, 3))}, None)}
    chain = fx.Chain(DENSE, np.tanh)
    expected = fx.jvp(dense_of, (DENSE, X3), ({"weight": np.ones((4, 3))}, None))[1]
    _, dy = fx.jvp(lambda m, x: m[0](x), (chain, X3), (nested, None))
    np.testing.assert_allclose(dy, expected)


# ---------------------------------------------------------------------------------------------------------
# 4. the output's tangent: never the caller's, dense in a structured output


def identity(v):
    return v


def first_two(v):
    return v[:2]


def both(a, b):
    return a, b, "label"


def test_jvp_never_returns_the_callers_tangent():
    t = np.array([1.0, 2.0, 3.0])
    for f in (identity, first_two):
        _, ty = fx.jvp(f, (np.zeros(3),), (t,))
        ty[0] = 99.0
        np.testing.assert_array_equal(t, [1.0, 2.0, 3.0])
    u = np.ones(2)
    _, (ta, tb, tlabel) = fx.jvp(both, (np.zeros(3), np.zeros(2)), (t, u))
    assert ta is not t and tb is not u and tlabel is None
    np.testing.assert_array_equal(ta, t)


def with_a_constant(x):
    return np.floor(x), x * 2, {"c": 1.0, "x": x}


def test_a_structured_outputs_tangent_is_zeros_where_none_reached():
    sign, logabsdet = fx.jvp(np.linalg.slogdet, (np.eye(2) * 2,), (np.ones((2, 2)),))[1]
    assert sign == 0.0 and logabsdet == 1.0
    floor, double, d = fx.jvp(with_a_constant, (1.5,), (1.0,))[1]
    assert (floor, double, d) == (0.0, 2.0, {"c": 0.0, "x": 1.0})


# ---------------------------------------------------------------------------------------------------------
# 5. fx.jacobian of a complex output; complex arguments refused by jacobian and hessian

C = 1.0 + 1.0j


def complex_of_real(x):
    return np.exp(1j * x) * x[::-1] + np.conj(C * x)


def test_jacobian_of_a_complex_output_of_real_arguments_is_d_re_plus_i_d_im():
    x = np.array([2.0, -1.0])
    (jac,) = fx.jacobian(complex_of_real, x)
    for k in range(2):
        np.testing.assert_allclose(jac[:, k], fx.jvp(complex_of_real, (x,), (np.eye(2)[k],))[1])
    assert fx.jacobian(lambda s: s * C, 2.0) == (np.array(C),)
    assert fx.jacobian(lambda s: s * C, np.ones(2, np.float32))[0].dtype == np.complex64
    np.testing.assert_allclose(fx.jacobian(lambda s: np.sum(s * C), x)[0], [C, C])
    assert fx.jacobian(lambda s: np.sum(s * 2.0), x)[0].dtype == np.float64  # a real output stays real


@pytest.mark.parametrize(
    "call",
    [
        lambda: fx.jacobian(lambda z: z * C, np.array([2.0 + 0j])),
        lambda: fx.jacobian(np.conj, np.array([2.0 + 0j])),
        lambda: fx.jacobian(lambda d: np.abs(d["z"]), {"z": 1j}),
        lambda: fx.hessian(lambda z: abs(z) ** 2, 1.0 + 1.0j),
    ],
)
def test_complex_arguments_are_refused_by_jacobian_and_hessian(call):
    with pytest.raises(FluxpyError, match="takes real arguments.*complex.*fx.jvp"):
        call()


# ---------------------------------------------------------------------------------------------------------
# 6, 7. errors: implicit parameters with a function of arguments, a rule's cotangent of the wrong shape,
# a missing keyword-only argument

W = np.ones(2)


def loss_of_w():
    return np.sum(W * 2.0)


def test_implicit_parameters_need_a_function_of_no_arguments():
    with pytest.raises(FluxpyError, match=r"calls f with no arguments.*takes the argument p"):
        fx.gradient(lambda p: np.sum(W * 2), fx.params(W))
    with pytest.raises(FluxpyError, match=r"fx.withgradient\(f, fx.params"):
        fx.withgradient(lambda p: np.sum(W * 2), fx.params(W))
    np.testing.assert_array_equal(fx.gradient(loss_of_w, fx.params(W))[W], [2.0, 2.0])
    np.testing.assert_array_equal(fx.gradient(lambda p=1.0: np.sum(W * p), fx.params(W))[W], [1.0, 1.0])


def summed(x):
    return np.sum(x)


@fx.adjoint(summed)
def summed_rule(x):
    return summed(x), lambda dy: (np.ones(3) * dy,)  # (3,) for a (2,) argument


def sum_of(x):
    return summed(x)


def twice_summed(x):
    y = x * 2
    return summed(y) + np.sum(y)


def test_a_rules_cotangent_of_the_wrong_shape_names_the_shapes():
    # checked where the user's rule returns it (hunt 16): the rule, its file and line, and the caller's line
    shapes = r"summed_rule \(defined at .*test_hunt15_forward.py:\d+\) returned an array of shape \(3,\)"
    with pytest.raises(FluxpyError, match=shapes + r".*array of shape \(2,\)"):
        fx.gradient(sum_of, np.ones(2))
    with pytest.raises(FluxpyError, match=shapes + r"(.|\n)*summed\(y\)"):
        fx.gradient(twice_summed, np.ones(2))
    assert fx.gradient(lambda x: x * 2.0, 1.0) == (2.0,)


def keyword_only(v, *, k):
    return v * k


def test_a_missing_keyword_only_argument_names_the_function():
    for call in (
        lambda: fx.jvp(keyword_only, (1.0,), (1.0,)),
        lambda: fx.gradient(keyword_only, 1.0),
        lambda: fx.withgradient(keyword_only, 1.0),
        lambda: fx.pullback(keyword_only, 1.0),
    ):
        with pytest.raises(
            TypeError, match=r"^keyword_only\(\) missing 1 required keyword-only argument: 'k'$"
        ):
            call()
    assert fx.jvp(lambda v: keyword_only(v, k=2.0), (1.0,), (1.0,)) == (2.0, 2.0)


def loops_over_ndindex(x):
    total = 0.0
    for i, j in np.ndindex((2, 2)):
        total = total + x[i] * x[j] ** 2
    return total


def test_a_call_whose_tuple_arguments_carry_no_tangent_runs_plainly_in_forward_mode():
    # `np.ndindex((2, 2))`: the tuple's tangent is (None, None), zero; forward mode used to follow
    # ndindex.__init__, whose `product(*map(range, shape))` failed with "SequenceIterator has no len()"
    x = np.array([0.5, -1.5])
    y, dy = fx.jvp(loops_over_ndindex, (x,), (np.array([1.0, 2.0]),))
    assert np.isclose(y, loops_over_ndindex(x))
    assert np.isclose(dy, fx.gradient(loops_over_ndindex, x)[0] @ [1.0, 2.0])
    check_grads(loops_over_ndindex, x, order=1)


def times(a, b):
    return a * b


def splat_map(x):
    return times(*map(lambda v: v * 2.0, [x, x]))


def splat_iter(x):
    return times(*iter([x, x * 3.0]))


def splat_generator(x):
    return times(*(v * 1.0 for v in (x, x * x)))


@pytest.mark.parametrize("f", [splat_map, splat_iter, splat_generator])
def test_an_iterator_splatted_into_a_call(f):
    """``g(*it)`` of an iterator: its items must be read once, for the call, its mask and its gradients."""
    check_grads(f, 1.5, order=2, forward=True)
