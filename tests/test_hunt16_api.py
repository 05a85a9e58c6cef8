"""Hunt 16 (bad input and the API's promises): a user's rule is checked where it is called (a pullback with
more entries than arguments, a string or a misshapen cotangent, a rule returning no pullback) and the error
names the rule; a NoAdjointError in a helper shows the calls that led there; API misuse (a class or a number
given as the function, an empty tuple output, a complex tangent for a real primal) gets a FluxpyError;
loadmodel checks an archive's headers before reading; optimiser states and gradients copy and pickle."""

import copy
import decimal
import fractions
import os
import pickle
import warnings
import zipfile

import numpy as np
import pytest

import fluxpy as fx
from fluxpy import FluxpyError, NoAdjointError, NonScalarError
from fluxpy.testing import check_grads

# ---------------------------------------------------------------------------------------------------------
# user rules: checked where they are called (W5, E3)


def scale(a, b):
    return a * b


@fx.adjoint(scale)
def scale_rule(a, b):
    def scale_pullback(dy):
        return (None, dy * b, dy * a)  # ChainRules' order: an entry for the function itself first

    return a * b, scale_pullback


def square(a):
    return a * a


@fx.adjoint(square)
def square_rule(a):
    return a * a, lambda dy: (0.0, 2 * a * dy)


def test_a_pullback_with_more_entries_than_arguments_names_the_rule():
    with pytest.raises(
        FluxpyError, match=r"scale_rule \(defined at .*test_hunt16_api.py:\d+\).*3 entries.*2 pos"
    ):
        fx.gradient(scale, 2.0, 3.0)
    with pytest.raises(FluxpyError, match=r"square_rule .*2 entries.*no entry for the function itself"):
        fx.gradient(lambda t: square(t) * 2, 2.0)


def scaled(a, k=2.0):
    return a * k


@fx.adjoint(scaled)
def scaled_rule(a, k=2.0):
    return a * k, lambda dy: (dy * k, np.sum(dy * a))  # an entry for k, also when k is not passed


def keyed(a, *, power=2):
    return a**power


@fx.adjoint(keyed)
def keyed_rule(a, *, power=2):
    return a**power, lambda dy: (power * a ** (power - 1) * dy, None)  # None: the keywords' (no) gradient


def broadcast_sum(x):
    return float(np.sum(x))


@fx.adjoint(broadcast_sum)
def broadcast_sum_rule(x):
    return broadcast_sum(x), lambda dy: (dy,)  # a number for an array argument: the same in every element


def test_rules_that_fit_their_calls_are_accepted():
    assert fx.gradient(scaled, 3.0) == (2.0,)
    assert fx.gradient(lambda t: scaled(t, 4.0), 3.0) == (4.0,)
    assert fx.gradient(lambda t: keyed(t, power=3), 2.0) == (12.0,)
    np.testing.assert_array_equal(fx.gradient(lambda x: broadcast_sum(x) * 2, np.ones(3))[0], [2.0, 2.0, 2.0])
    check_grads(lambda t: scaled(t, t), 1.5, order=2)


def too_few(a, b):
    return a * b


@fx.adjoint(too_few)
def too_few_rule(a, b):
    return a * b, lambda dy: (dy * b,)


def test_a_pullback_with_fewer_entries_is_still_refused():
    with pytest.raises(FluxpyError, match=r"too_few_rule .*1 entry, but it was called with 2"):
        fx.gradient(too_few, 2.0, 3.0)


def as_text(x):
    return x * 2


@fx.adjoint(as_text)
def as_text_rule(x):
    return x * 2, lambda dy: ("oops",)


def spread(x):
    return x * 2


@fx.adjoint(spread)
def spread_rule(x):
    return x * 2, lambda dy: (np.array([dy, dy]),)


def value_only(x):
    return x * 2


@fx.adjoint(value_only)
def value_only_rule(x):
    return x * 2  # forgot the pullback


def number_back(x):
    return x * 2


@fx.adjoint(number_back)
def number_back_rule(x):
    return x * 2, 2.0


def misshapen(x):
    return x * 2


@fx.adjoint(misshapen)
def misshapen_rule(x):
    return x * 2, lambda dy: (np.ones(5),)


@pytest.mark.parametrize(
    "call, message",
    [
        (lambda: fx.gradient(lambda t: as_text(t), 1.5), r"as_text_rule .*returned a str as the cotangent"),
        (lambda: fx.gradient(lambda t: spread(t), 1.5), r"spread_rule .*shape \(2,\).*which is a float"),
        (
            lambda: fx.gradient(lambda t: value_only(t), 1.5),
            r"value_only_rule .*returned a float, but a rule",
        ),
        (lambda: fx.gradient(lambda t: number_back(t), 1.5), r"number_back_rule .*second item is a float"),
        (lambda: fx.gradient(lambda t: np.sum(misshapen(t)), np.ones(2)), r"misshapen_rule .*shape \(5,\)"),
        (
            lambda: fx.jvp(lambda t: np.sum(misshapen(t)), (np.ones(2),), (np.ones(2),)),
            r"misshapen_rule .*shape \(5,\).*array of shape \(2,\)",
        ),
    ],
    ids=["str", "array_for_float", "y_only", "number_pullback", "shape", "shape_jvp"],
)
def test_a_malformed_rule_is_named_with_its_file_and_line(call, message):
    with pytest.raises(FluxpyError, match=message) as info:
        call()
    assert "test_hunt16_api.py:" in str(info.value) and "It was called at" in str(info.value)


def test_a_well_formed_rule_through_every_mode():
    check_grads(lambda x: np.sum(scaled(x, 3.0)), np.array([1.0, 2.0]), order=2)


# ---------------------------------------------------------------------------------------------------------
# a NoAdjointError reached through helpers (E4)

_namespace = {}
exec("def opaque(x):\n    return x * 3.0\n", _namespace)  # no source: fluxpy cannot read it
opaque = _namespace["opaque"]


def helper(x):
    return opaque(x) + 1.0


def through_helper(x):
    return helper(x) ** 2


def test_no_adjoint_in_a_helper_shows_the_calls_that_led_there():
    with pytest.raises(
        NoAdjointError, match=r"(?s)opaque.*It was reached from.*return helper\(x\) \*\* 2"
    ) as info:
        fx.gradient(through_helper, 0.5)
    assert info.value.call_sites and info.value.call_sites[-1][0].endswith("test_hunt16_api.py")


def test_no_adjoint_in_the_users_own_function_has_no_chain():
    with pytest.raises(NoAdjointError) as info:
        fx.gradient(lambda x: opaque(x) * 2, 0.5)
    assert "It was reached from" not in str(info.value)


# ---------------------------------------------------------------------------------------------------------
# outputs and cotangents (E5)


class MyFloat(float):
    pass


def test_a_float_subclass_output_is_a_scalar():
    assert fx.gradient(lambda t: MyFloat(t * 2), 1.5) == (2.0,)
    assert fx.gradient(lambda t: MyFloat(t) * 3, 1.5) == (3.0,)
    check_grads(lambda t: MyFloat(t**3), 1.5, order=2)


@pytest.mark.parametrize(
    "f, message",
    [
        (lambda x: complex(x, 1.0), r"value of type complex\. .*`y\.real`.*`abs\(y\)`"),
        (lambda x: np.array(1j) * x, r"complex128\. .*`y\.real`"),
        (lambda x: fractions.Fraction(1, 2) * int(x), r"type Fraction\. Return a float"),
        (lambda x: decimal.Decimal("0.5"), r"type Decimal\. Return a float"),
        (lambda x: np.array([x, x]), r"shape \(2,\).*fx\.pullback"),
    ],
    ids=["complex", "complex_0d", "fraction", "decimal", "vector"],
)
def test_a_non_scalar_output_says_what_to_return(f, message):
    with pytest.raises(NonScalarError, match=r"^gradient needs .*" + message):
        fx.gradient(f, 1.0)


def test_hessian_and_hvp_say_their_own_name():
    with pytest.raises(NonScalarError, match=r"^hessian needs"):
        fx.hessian(lambda t: t**2, np.array([1.0, 2.0]))
    with pytest.raises(NonScalarError, match=r"^hvp needs"):
        fx.hvp(lambda t: t**2, np.ones(2), np.ones(2))
    with pytest.raises(NonScalarError, match=r"^withgradient needs .*empty tuple"):
        fx.withgradient(lambda t: (), 1.0)
    assert fx.withgradient(lambda t: (t * 2, "aux"), 1.0) == ((2.0, "aux"), (2.0,))


def inner_gradient(x):
    return np.sum(fx.gradient(lambda t: t * 2, x)[0])


def test_a_gradient_inside_a_hessian_is_named_gradient():
    with pytest.raises(NonScalarError, match=r"^gradient needs .*<lambda> returned an array"):
        fx.hessian(inner_gradient, np.ones(2))


def test_a_complex_tangent_for_a_real_primal_is_refused():
    with pytest.raises(FluxpyError, match=r"tangents\[0\] is complex, but primals\[0\] is real"):
        fx.jvp(lambda t: t * 2, (1.0,), (1j,))
    with pytest.raises(FluxpyError, match=r"tangents\[0\] is complex"):
        fx.jvp(lambda t: t * 2, (np.ones(2),), (np.ones(2) * 1j,))
    assert fx.jvp(lambda t: t * 2, (1.0 + 0j,), (1j,)) == (2 + 0j, 2j)
    assert fx.jvp(lambda t: t * 2, (1.0,), (1.0,)) == (2.0, 2.0)


def test_a_cotangent_that_is_not_a_number_is_refused():
    y, back = fx.pullback(lambda t: np.sin(t) * 2, np.array([1.0, 2.0]))
    with pytest.raises(FluxpyError, match=r"back\(dy\): dy is a str, which is not a number"):
        back("a")
    with pytest.raises(FluxpyError, match=r"dy is an ndarray, which is not a number"):
        back(np.array(["a", "b"]))
    np.testing.assert_allclose(back(1.0)[0], 2 * np.cos([1.0, 2.0]))


# ---------------------------------------------------------------------------------------------------------
# API misuse (E5, C7)


def test_adjoint_source_of_a_function_with_a_rule_says_so():
    with pytest.raises(FluxpyError, match=r"numpy\.sin has no Python source.*registered rule"):
        fx.adjoint_source(np.sin)
    with pytest.raises(FluxpyError, match=r"Dense is a class: pass its methods"):
        fx.adjoint_source(fx.Dense)
    assert "pullback" in fx.adjoint_source(fx.Dense.__call__)


def test_registering_for_something_not_callable_is_refused():
    with pytest.raises(
        FluxpyError, match=r"fx\.adjoint\(f\) registers a rule for the function f.*an int \(5\)"
    ):
        fx.adjoint(5)
    with pytest.raises(FluxpyError, match=r"takes the rule function, but it was given a float"):
        fx.adjoint(square)(2.0)  # a bare @fx.adjoint above the rule, the rule then called
    with pytest.raises(
        FluxpyError, match=r"fx\.nograd\(f\) marks the function f .*an int \(5\).*fx\.dropgrad"
    ):
        fx.nograd(5)
    with pytest.raises(FluxpyError, match=r"fx\.adjoint takes the function the rule is for"):
        fx.adjoint()


def test_nograd_still_refuses_a_function_with_a_rule_and_returns_its_argument():
    with pytest.raises(FluxpyError, match=r"fx\.nograd\(np\.sum\)"):
        fx.nograd(np.sum)

    def labels(x):
        return x * 2

    assert fx.nograd(labels) is labels
    assert fx.gradient(lambda t: labels(t) + t, 1.0) == (1.0,)


def test_differentiable_takes_functions_and_says_what_else_to_pass():
    with pytest.raises(FluxpyError, match=r"fx\.differentiable takes a function, but Dense is a class"):
        fx.differentiable(fx.Dense)
    with pytest.raises(FluxpyError, match=r"takes a Python function, but it was given an int \(5\)"):
        fx.differentiable(5)
    assert fx.differentiable(np.sin) is np.sin  # differentiated by its rule: nothing to transform
    layer = fx.Dense(2, 1)
    assert fx.differentiable(layer) is layer  # its __call__ transformed
    bound = layer.__call__
    assert fx.differentiable(bound) is bound


def test_gradient_of_something_not_callable():
    for call in (fx.gradient, fx.withgradient, fx.pullback):
        with pytest.raises(FluxpyError, match=r"takes the function to differentiate first.*a float \(3\.0\)"):
            call(3.0, 1.0)
    with pytest.raises(FluxpyError, match=r"fx\.hessian takes the function to differentiate first"):
        fx.hessian(3.0, 1.0)


def test_a_flux_users_top_level_optimiser_names_its_namespace():
    with pytest.raises(AttributeError, match=r"has no attribute 'Adam'.*use fx\.optimise\.Adam"):
        fx.Adam  # noqa: B018
    with pytest.raises(AttributeError, match=r"use fx\.optimise\.OptimiserChain"):
        fx.OptimiserChain  # noqa: B018
    with pytest.raises(AttributeError, match=r"use fx\.losses\.mse"):
        fx.mse  # noqa: B018
    with pytest.raises(AttributeError, match=r"^module 'fluxpy' has no attribute 'nothing_here'$"):
        fx.nothing_here  # noqa: B018
    assert not hasattr(fx, "Adam") and "Adam" not in fx.__all__
    assert fx.setup is fx.optimise.setup  # the names API.md puts at the top stay


# ---------------------------------------------------------------------------------------------------------
# loadmodel: damaged and crafted archives (C6)


def _header(shape, descr="<f4"):
    text = f"{{'descr': '{descr}', 'fortran_order': False, 'shape': {shape}, }}"
    text += " " * (64 - (10 + len(text) + 1) % 64) + "\n"
    return b"\x93NUMPY\x01\x00" + len(text).to_bytes(2, "little") + text.encode()


def test_a_truncated_archive_is_a_fluxpy_error(tmp_path):
    good = fx.savemodel(os.path.join(tmp_path, "good"), fx.Dense(2, 3))
    with open(good, "rb") as file:
        data = file.read()
    for cut in (10, len(data) // 2):
        path = os.path.join(tmp_path, f"cut{cut}.npz")
        with open(path, "wb") as out:
            out.write(data[:-cut])
        with pytest.raises(
            FluxpyError, match=r"not an \.npz archive of plain arrays \(it is damaged or trunc"
        ):
            fx.loadmodel(fx.Dense(2, 3), path)


def test_a_header_is_checked_against_the_model_before_anything_is_read(tmp_path):
    path = os.path.join(tmp_path, "huge.npz")
    with zipfile.ZipFile(path, "w") as archive:
        archive.writestr("weight.npy", _header("(10000000000000,)"))  # 36 TiB, if it were allocated
        archive.writestr("bias.npy", _header("(3,)") + np.zeros(3, np.float32).tobytes())
    model = fx.Dense(2, 3)
    before = model.weight.copy()
    with pytest.raises(
        FluxpyError, match=r"'weight' has shape \(10000000000000,\) in .*, but \(3, 2\) in the model"
    ):
        fx.loadmodel(model, path)
    np.testing.assert_array_equal(model.weight, before)
    short = os.path.join(tmp_path, "short.npz")
    with zipfile.ZipFile(short, "w") as archive:
        archive.writestr("weight.npy", _header("(3, 2)") + bytes(8))  # the right shape, too little data
        archive.writestr("bias.npy", _header("(3,)") + np.zeros(3, np.float32).tobytes())
    with pytest.raises(FluxpyError, match=r"'weight' could not be read"):
        fx.loadmodel(model, short)
    np.testing.assert_array_equal(model.weight, before)


def test_an_object_array_member_is_refused_from_its_header(tmp_path):
    path = os.path.join(tmp_path, "object.npz")
    with zipfile.ZipFile(path, "w") as archive:
        archive.writestr("weight.npy", _header("(3, 2)", descr="|O"))
        archive.writestr("bias.npy", _header("(3,)") + np.zeros(3, np.float32).tobytes())
    with pytest.raises(FluxpyError, match=r"'weight' is an object array, which would need unpickling"):
        fx.loadmodel(fx.Dense(2, 3), path)


def test_loadmodel_arguments_swapped_or_of_the_wrong_kind(tmp_path):
    path = fx.savemodel(os.path.join(tmp_path, "m"), fx.Dense(2, 3))
    with pytest.raises(FluxpyError, match=r"takes the model first and the file second"):
        fx.loadmodel(path, fx.Dense(2, 3))
    with pytest.raises(FluxpyError, match=r"takes a path, an open file or a dict .* not a Dense"):
        fx.loadmodel(fx.Dense(2, 3), fx.Dense(2, 3))


def test_loadmodel_round_trips_from_a_path_and_an_open_file(tmp_path):
    model = fx.Chain(fx.Dense(2, 3, fx.relu), fx.BatchNorm(3), fx.Dense(3, 1))
    path = fx.savemodel(os.path.join(tmp_path, "m"), model)
    with open(path, "rb") as file:
        for source in (path, file):
            other = fx.Chain(fx.Dense(2, 3, fx.relu), fx.BatchNorm(3), fx.Dense(3, 1))
            fx.loadmodel(other, source)
            for a, b in zip(fx.state(model).values(), fx.state(other).values(), strict=True):
                np.testing.assert_array_equal(a, b)
    with pytest.raises(
        FluxpyError, match=r"'layers\.0\.weight' has shape \(3, 2\) in .*, but \(4, 2\) in the model"
    ):
        fx.loadmodel(fx.Chain(fx.Dense(2, 4), fx.BatchNorm(4), fx.Dense(4, 1)), path)


# ---------------------------------------------------------------------------------------------------------
# optimiser states copy and pickle (hunt16_b 1)

X = np.random.default_rng(0).normal(size=(6, 4)).astype(np.float32)


def _loss(m):
    return np.mean((m(X) - X) ** 2)


def _train(state, model, steps):
    for _ in range(steps):
        state, model = fx.update(state, model, fx.gradient(_loss, model)[0])
    return state, model


def _seeded(*dims):
    return np.asarray(np.random.default_rng(sum(dims)).normal(size=dims), np.float32)


@pytest.mark.parametrize(
    "duplicate",
    [copy.deepcopy, lambda s: pickle.loads(pickle.dumps(s))],
    ids=["deepcopy", "pickle"],
)
def test_a_copied_state_continues_training_as_the_original(duplicate):
    model = fx.Chain(fx.Dense(4, 3, fx.tanh, init=_seeded), fx.Dense(3, 4, init=_seeded))
    state = fx.setup(fx.optimise.Adam(0.01), model)
    state, model = _train(state, model, 2)
    model2, state2 = copy.deepcopy(model), duplicate(state)
    assert repr(state2) == repr(state) and state2.layers[0].weight is not state.layers[0].weight
    state, model = _train(state, model, 3)
    state2, model2 = _train(state2, model2, 3)
    for a, b in zip(fx.state(model).values(), fx.state(model2).values(), strict=True):
        np.testing.assert_array_equal(a, b)
    np.testing.assert_array_equal(state.layers[1].bias.state[0], state2.layers[1].bias.state[0])


def test_a_shallow_copy_of_a_state_shares_its_leaves():
    state = fx.setup(fx.optimise.Momentum(), fx.Dense(2, 1))
    shallow = copy.copy(state)
    assert shallow is not state and shallow.weight is state.weight


def test_a_checkpointed_state_of_tied_weights_resumes_training():
    enc = fx.Dense(4, 2, init=_seeded)
    model = fx.Chain(enc, fx.Dense(enc.weight.T))
    state = fx.setup(fx.optimise.Adam(0.01), model)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # float64 data into float32 layers
        state, model = _train(state, model, 2)
        saved = {k: v.copy() for k, v in fx.state(model).items()}
        checkpoint = pickle.loads(pickle.dumps(state))  # its Tied owner is a copy of the encoder's weight
        state, model = _train(state, model, 3)
        expected = model[0].weight.copy()
        fx.loadmodel(model, saved)
        checkpoint, model = _train(checkpoint, model, 3)
    np.testing.assert_array_equal(model[0].weight, expected)
    assert np.shares_memory(model[0].weight, model[1].weight)


def test_a_gradient_tangent_pickles_and_copies():
    model = fx.Dense(2, 1)
    grad = fx.gradient(lambda m: np.sum(m(np.ones(2, np.float32))), model)[0]
    for again in (pickle.loads(pickle.dumps(grad)), copy.deepcopy(grad), copy.copy(grad)):
        assert again == grad and again.primal_type is fx.Dense
    with pytest.raises(AttributeError, match="read-only"):
        grad.weight = None


# ---------------------------------------------------------------------------------------------------------
# a model's printed total counts a tied view once (hunt16_b 2)


def test_the_printed_total_counts_a_tied_view_once():
    enc = fx.Dense(4, 2)
    tied = fx.Chain(enc, fx.Dense(enc.weight.T))
    assert "# Total: 3 arrays, 14 parameters, 56 bytes." in repr(tied)
    untied = fx.Chain(fx.Dense(4, 2), fx.Dense(2, 4))
    assert "# Total: 4 arrays, 22 parameters, 88 bytes." in repr(untied)
