"""Every error class, triggered, with its message checked, next to a nearby valid case that must not error."""

import inspect
from types import FunctionType

import numpy as np
import pytest

import fluxpy as fx


def test_all_errors_derive_from_fluxpy_error():
    for cls in (fx.TransformError, fx.NoAdjointError, fx.NonScalarError):
        assert issubclass(cls, fx.FluxpyError)


def generator_function(x):
    yield x


def uses_with_block(x):
    with open(__file__) as fh:
        return len(fh.read()) * x  # a return inside a with block


def test_transform_error_names_file_line_column_and_source():
    with pytest.raises(fx.TransformError) as info:
        fx.differentiable(uses_with_block)
    err = info.value
    line = inspect.getsourcelines(uses_with_block)[1] + 1
    assert err.file == __file__
    assert err.line == line + 1
    assert err.col == 8  # 0-based, as in Python's ast
    assert "return len(fh.read()) * x" in str(err)
    assert f'"{__file__}", line {line + 1}, column 8' in str(err)
    assert "with or try block" in str(err) and "Hint:" in str(err)


def test_transform_error_for_generators_at_decoration():
    with pytest.raises(fx.TransformError, match="generator"):
        fx.differentiable(generator_function)


def test_transform_error_at_first_gradient():
    with pytest.raises(fx.TransformError, match="with or try block"):
        fx.gradient(uses_with_block, 1.0)


def test_nearby_valid_loop_does_not_error():
    def loop_instead(x):
        s = 0.0
        for v in [1.0, 2.0]:
            s = s + v * x
        return s

    assert fx.gradient(loop_instead, 1.0) == (3.0,)


def _made_by_exec():
    namespace = {}
    exec("def h(x):\n    return x * 2\n", namespace)
    return namespace["h"]


def test_no_adjoint_for_function_without_source():
    h = _made_by_exec()
    with pytest.raises(fx.NoAdjointError) as info:
        fx.gradient(lambda x: h(x), 1.0)
    message = str(info.value)
    assert "h" in message and "@fx.adjoint" in message


def test_no_adjoint_for_c_function_names_callee_and_user_line():
    def uses_frexp_like(x):
        return np.ldexp(x, 2) if False else np.frompyfunc(lambda t: t, 1, 1)(x) * 1.0

    with pytest.raises(fx.NoAdjointError) as info:
        fx.gradient(uses_frexp_like, 1.0)
    message = str(info.value)
    assert "test_errors.py" in message
    assert "np.frompyfunc" in message
    assert "@fx.adjoint(" in message and "fx.nograd(" in message


def test_no_adjoint_for_numpy_function_says_numpy_is_differentiated_by_rules():
    # a NumPy dispatcher wrapping Python (`._implementation`) is not "without Python source"
    from fluxpy.rules import coverage

    def takes_an_array(f):
        try:
            return np.asarray(f(np.ones(3))).dtype == np.float64
        except Exception:
            return False

    _, _, without = coverage.report()
    functions = [coverage.numpy_callables()[n] for n in without]
    f = next(
        f
        for f in functions
        if type(getattr(f, "_implementation", None)) is FunctionType and takes_an_array(f)
    )

    def uses_it(x):
        return np.sum(f(x))

    with pytest.raises(fx.NoAdjointError) as info:
        fx.gradient(uses_it, np.ones(3))
    message = str(info.value)
    assert "differentiates numpy by rules only" in message and "no Python source" not in message


def test_no_adjoint_is_lazy_when_no_gradient_is_needed():
    def f(x):
        unused = np.frompyfunc(lambda t: t, 1, 1)(x)
        return x * 2.0 if unused is not None else x

    assert fx.gradient(f, 1.0) == (2.0,)


def test_non_scalar_output():
    with pytest.raises(fx.NonScalarError, match=r"shape \(3,\)") as info:
        fx.gradient(lambda x: x * 2.0, np.ones(3))
    assert "pullback" in str(info.value) and "jacobian" in str(info.value)
    assert fx.gradient(lambda x: np.sum(x * 2.0), np.ones(3))[0].shape == (3,)


def test_non_scalar_string_output():
    with pytest.raises(fx.NonScalarError, match="str"):
        fx.gradient(lambda x: "no", 1.0)


def test_reserved_names_rejected():
    def f(x):
        __fx_call = x
        return __fx_call

    with pytest.raises(fx.TransformError, match="reserved"):
        fx.gradient(f, 1.0)


def test_source_error_for_exec_function_called_directly():
    h = _made_by_exec()
    with pytest.raises(fx.TransformError, match="source"):
        fx.differentiable(h)


def test_in_place_container_changes_with_gradients_are_refused():
    def appends(x, out=None):
        out = out if out is not None else []
        out.append(x * 2)  # not a local list display: could be the caller's list
        return out[0]

    def appends_bound(x):
        out = []
        add = out.append
        add(x)
        return out[0]

    for f in (appends, appends_bound):
        with pytest.raises(fx.FluxpyError, match="list.append changes a list in place") as info:
            fx.gradient(f, 1.0)
        assert "test_errors.py" in str(info.value)


def test_in_place_container_changes_without_gradients_are_fine():
    def names(x):
        seen = []
        seen.append("a")
        return x * len(seen)

    assert fx.gradient(names, 2.0) == (1.0,)


def fills(x):
    y = x * 2.0
    y.fill(1.0)
    return np.sum(y)


def copies_into(x):
    y = np.zeros(2)
    kept = [np.copyto(y, x)]  # used as a value (as a statement it is differentiated)
    return np.sum(y) + len(kept)


def adds_at(x):
    y = np.zeros(3)
    np.add.at(y, [0, 0], x)
    return np.sum(y)


def sets_attribute(x):
    class Box:
        pass

    return x


def out_argument(x):
    y = np.zeros(2)
    return np.sum(np.multiply(x, 2.0, out=y))  # as a statement, a write of y (transform/out_writes.py)


@pytest.mark.parametrize("f", [fills, copies_into, adds_at, out_argument], ids=lambda f: f.__name__)
def test_in_place_array_changes_are_refused(f):
    with pytest.raises(fx.FluxpyError, match="in place"):
        fx.gradient(f, np.array([1.0, 2.0]))


def test_setattr_builtin_with_a_float_is_refused():
    class Box:
        pass

    def f(x):
        b = Box()
        setattr(b, "v", x * 2.0)
        return b.v

    with pytest.raises(fx.FluxpyError, match="in place"):
        fx.gradient(f, 1.0)


def test_writing_into_a_view_is_refused():
    def f(x):
        v = np.transpose(x)
        v[0, 0] = 1.0
        return np.sum(v)

    with pytest.raises(fx.FluxpyError, match="writing into 'v', which is a view of 'x'"):
        fx.gradient(f, np.ones((2, 2)))


def test_writing_into_a_copy_of_a_view_is_fine():
    def f(x):
        v = np.zeros(4).reshape(2, 2).copy()
        v[0, 0] = x
        return np.sum(v)

    assert fx.gradient(f, 3.0) == (1.0,)


def test_implicit_gradient_through_a_function_with_no_source_raises():
    """fx.params with a function fluxpy cannot read (made by exec) must not come back as "no gradient"."""
    W = np.ones(2)
    namespace = {"np": np, "W": W}
    exec("f = lambda: np.sum(W * 2)", namespace)
    with pytest.raises(fx.NoAdjointError, match="source is not available"):
        fx.gradient(namespace["f"], fx.params(W))
    cells = {}
    exec("def make(W):\n    return lambda: np.sum(W * 2)\n", {"np": np}, cells)
    with pytest.raises(fx.NoAdjointError):
        fx.gradient(cells["make"](W), fx.params(W))
    exec("g = lambda: 3.0", namespace)  # reads nothing that could carry a gradient: a constant
    assert fx.withgradient(namespace["g"], fx.params(W)).val == 3.0


def _fill_first(buf, w):
    buf[0] = w


def _fill_first_returning(buf, w):
    buf[0] = w
    return buf


class _Filler:
    def fill(self, buf, w):
        buf[1] = w * 2.0


def _procedure_then_read(w):
    buf = np.zeros(2)
    _fill_first(buf, w)  # plain Python: buf changes here
    return np.sum(buf)


def _method_procedure_then_read(w):
    buf = np.zeros(2)
    _Filler().fill(buf, w)
    return np.sum(buf)


def _procedure_in_a_loop(w):
    total = 0.0
    buf = np.zeros(2)
    for _ in range(2):
        total = total + np.sum(buf)
        _fill_first(buf, w)
    return total


def _rebinding_the_result(w):
    buf = np.zeros(2)
    buf = _fill_first_returning(buf, w)
    return np.sum(buf) * w


def _procedure_on_a_dead_value(w):
    buf = np.zeros(2)
    _fill_first(buf, w)
    return w * 3.0


@pytest.mark.parametrize("f", [_procedure_then_read, _method_procedure_then_read, _procedure_in_a_loop])
def test_writes_into_an_argument_the_caller_reads_again_are_refused(f):
    """In differentiated code a callee's write into its argument goes to a copy: the caller would read the
    old value where plain Python reads the new one. An honest error, never a silently different result."""
    with pytest.raises(fx.FluxpyError, match=r"writes into its argument 'buf' in place") as info:
        fx.gradient(f, 1.5)
    message = str(info.value)
    assert "test_errors.py" in message and "Return the new value and rebind it" in message


def test_writes_into_an_argument_are_fine_when_the_result_is_used():
    assert fx.gradient(_rebinding_the_result, 1.5) == (3.0,)
    assert fx.gradient(_procedure_on_a_dead_value, 1.5) == (3.0,)


def _add_into(a, v):
    a += v  # plain Python: writes into the caller's array (a rebinding for a number or a tuple)


def _add_into_after_copy(a, v):
    a = a * 1.0
    a += v


class _Accumulator:
    def add(self, a, v):
        a *= v


def _augmented_procedure_then_read(w):
    buf = np.ones(2) * w
    _add_into(buf, w)
    return np.sum(buf * buf)


def _augmented_method_then_read(w):
    buf = np.ones(2) * w
    _Accumulator().add(buf, w)
    return np.sum(buf)


def _augmented_list_then_read(w):
    items = [w]
    _add_into(items, [w])
    return items[0] * len(items)


def _augmented_number_then_read(w):
    s = w * 2.0
    _add_into(s, w)  # a number: the callee rebinds its own name, the caller's s is unchanged
    _add_into_after_copy(np.ones(2) * w, w)
    buf = np.ones(2) * w
    _add_into_after_copy(buf, w)  # assigned first: the callee's a is its own array
    return s * np.sum(buf)


def test_augmented_write_into_a_list_argument_is_handed_back():
    # the list is handed back to the caller (transform/writeback.py): items is [w, w], as in Python
    assert fx.withgradient(_augmented_list_then_read, 1.5) == (3.0, (2.0,))


@pytest.mark.parametrize("f", [_augmented_procedure_then_read, _augmented_method_then_read])
def test_augmented_writes_into_an_argument_the_caller_reads_again_are_refused(f):
    """``a += v`` on a parameter writes into the caller's array or list in plain Python: the same honest
    error as ``a[i] = v``, where fluxpy used to rebind silently and return a different value."""
    with pytest.raises(
        fx.FluxpyError, match=r"writes into its argument '(a|items)' in place|writes into its"
    ):
        fx.gradient(f, 1.5)


def test_augmented_assignment_of_a_number_argument_is_a_rebinding():
    assert _augmented_number_then_read(1.5) == 9.0  # 2w * 2w
    assert fx.gradient(_augmented_number_then_read, 1.5) == (pytest.approx(12.0),)


def _appends_in_a_closure(x):
    found = []

    def keep(v):
        found.append(v * 2)  # a list the closure did not build: refused, naming this line

    keep(x)
    return found[0]


def test_errors_in_a_nested_closure_name_the_users_line():
    """The closure's own generated code maps back through its enclosing function's generated code."""
    with pytest.raises(fx.FluxpyError, match="list.append changes a list in place") as info:
        fx.gradient(_appends_in_a_closure, 2.0)
    assert "test_errors.py" in str(info.value) and "found.append(v * 2)" in str(info.value)
    assert "<fluxpy" not in str(info.value)


def two_arguments(x, y):
    return x * y


def test_too_many_arguments_give_pythons_type_error():
    # the transformer crashed with AttributeError: 'NoneType' object has no attribute 'id'
    with pytest.raises(TypeError, match=r"two_arguments\(\) takes 2 positional arguments but 3 were given"):
        fx.gradient(lambda m: two_arguments(m, 1.0, 2.0), 3.0)
    assert fx.gradient(lambda m: two_arguments(m, 2.0), 3.0) == (2.0,)


TRAINING_LOG = []


def test_logging_into_an_outside_list_says_how_and_the_way_works():
    def logs(x):
        loss = np.sum(x**2)
        TRAINING_LOG.append(float(loss))
        return loss

    with pytest.raises(fx.FluxpyError, match=r"fx.nograd\(log.append\)"):
        fx.gradient(logs, np.ones(3))
    record = fx.nograd(TRAINING_LOG.append)

    def records(x):
        loss = np.sum(x**2)
        record(float(loss))
        return loss

    TRAINING_LOG.clear()
    assert np.allclose(fx.gradient(records, np.ones(3))[0], 2.0) and TRAINING_LOG == [3.0]


def nested_sine(x, n):
    if n == 0:
        return x
    return np.sin(nested_sine(x, n - 1))


@pytest.mark.parametrize(
    "run",
    [
        lambda n: fx.gradient(nested_sine, 0.5, n),
        lambda n: fx.jvp(lambda x: nested_sine(x, n), (0.5,), (1.0,)),
        lambda n: fx.pullback(nested_sine, 0.5, n),
    ],
    ids=["gradient", "jvp", "pullback"],
)
def test_recursion_past_the_limit_says_why_and_how_to_raise_it(run):
    import sys

    depth = int(sys.getrecursionlimit() * 0.6)  # runs plainly; two frames a level under fluxpy do not
    nested_sine(0.5, depth)
    with pytest.raises(fx.FluxpyError, match=r"(?s)recursion limit .*sys\.setrecursionlimit\(") as caught:
        run(depth)
    assert isinstance(caught.value, RecursionError)  # `except RecursionError` still catches it
    assert type(caught.value.__cause__) is RecursionError
    assert "frames under fluxpy" in str(caught.value)


def test_recursion_within_a_raised_limit_is_differentiated():
    import sys

    depth = int(sys.getrecursionlimit() * 0.6)
    old = sys.getrecursionlimit()
    sys.setrecursionlimit(4 * old)
    try:
        (g, _) = fx.gradient(nested_sine, 0.5, depth)
    finally:
        sys.setrecursionlimit(old)
    assert g == pytest.approx(fx.gradient(lambda x: x, 0.5)[0] * np.prod(np.cos(_sines(0.5, depth))))


def _sines(x, n):
    values = []
    for _ in range(n):
        values.append(x)
        x = np.sin(x)
    return np.array(values)
