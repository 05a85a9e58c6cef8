"""A view kept in a name, then its array written: ``r = y[:2]; y[0] = 5.0; np.sum(r)``.

In Python ``r`` is a view of ``y`` and shows the write; fluxpy's ``y[0] = v`` rebinds ``y`` to a new array,
so ``r`` would keep the old values (a silently wrong value and gradient). The fence finds the names bound
to a possible view of ``y`` (``y[...]``, ``y.T``, ``y[0].reshape(-1)``, chains of them) that may be read
after a write into ``y`` (``y[i] = v``, ``y[i] += v``, ``y += v``), and puts a runtime check before that
write (aliases.kept_views, kept_view_guards.guard_kept_views, mutation.check_kept_view): it raises a FluxpyError
naming the write's file and line when the name is an array sharing memory with the cells written. A
scalar (``y[0]`` of a 1-D NumPy array), a copy (``y[0].copy()``, ``y[[0, 1]]``, ``y[mask]``), a view of
other cells, or a name not read after the write pass, with correct derivatives in every mode.
"""

import inspect

import numpy as np
import pytest

import fluxpy as fx
from fluxpy.rules.mutation import check_kept_view
from fluxpy.testing import check_grads
from fluxpy.transform import parse, source
from fluxpy.transform.aliases import kept_views
from fluxpy.transform.cache import normalized_source
from fluxpy.transform.nodes import body_nodes

from .. import cupy_standin

X = np.array([1.0, 2.0, 3.0])
KEPT = r"writing into '{array}' while '{view}' \(bound at line \d+\) is a view of it that is read afterwards"


# ---------------------------------------------------------------------------------------------------------
# 1. a view read after a write into its array: refused at the write, in every mode


def slice_kept(x):
    y = x * 1.0
    r = y[:2]
    y[0] = 5.0
    return np.sum(r)


def row_kept(x):
    y = np.stack([x, 2 * x])
    r = y[0]
    y[0] = x**2
    return np.sum(r * x)


def transpose_kept(x):
    y = np.outer(x, x)
    r = y.T
    y[0, 1] = 0.0
    return np.sum(r * r)


def reshaped_row_kept(x):
    y = np.stack([x, 2 * x])
    r = y[0].reshape(-1)
    y[0, 0] = 1.0
    return np.sum(r * x)


def view_of_view_kept(x):
    y = x * 1.0
    r = y[:2]
    s = r[1:]
    y[1] = 5.0
    return np.sum(s * x[:1])


def other_cells_then_these(x):
    y = x * 1.0
    r = y[:2]
    y[2] = 1.0  # not r's cells, but the next write is: this write checks them all (y is rebound after it)
    y[0] = 5.0
    return np.sum(r * x[:2])


def parameter_kept(x):
    r = x[:2]
    x[0] = 5.0
    return np.sum(r)


def written_in_loop(x):
    y = np.zeros((3, 3))
    r = y[0]
    for i in range(3):
        y[i] = x * i
    return np.sum(r * x)


def written_in_branch(x):
    y = np.stack([x, 2 * x])
    r = y[0]
    if x[0] > 0:
        y[0] = x**2
    return np.sum(r * x)


def augmented_item(x):
    y = np.stack([x, 2 * x])
    r = y[0]
    y[0] += x
    return np.sum(r * x)


def augmented_name(x):
    y = x * 1.0
    r = y[:2]
    y += 1.0  # in place on an array in Python
    return np.sum(r * x[:2])


def read_by_closure(x):
    y = x * 1.0
    r = y[:2]
    total = lambda: np.sum(r)  # noqa: E731  (a closure reading r after the write)
    y[0] = 5.0
    return total()


def read_after_break(x):
    y = np.stack([x, 2 * x])
    r = y[0]
    i = 0
    while i < 3:
        if i == 1:
            break
        y[0] = x * i
        i = i + 1
    return np.sum(r * x)


def written_in_try(x):
    y = np.stack([x, 2 * x])
    r, s = y[0], y[1]
    try:
        y[1] = x**2
    except ValueError:
        pass
    return np.sum(s * x) + np.sum(r)


def loop_row_written(x):
    y = np.stack([x, 2 * x])
    s = 0.0
    for row in y:  # NumPy's row is a view of y: it shows the write below
        y[0] = x**2
        s = s + np.sum(row * x)
    return s


def enumerate_row_written(x):
    y = np.stack([x, 2 * x])
    s = 0.0
    for i, row in enumerate(y):
        y[i] = row * x
        s = s + np.sum(row)
    return s


def zip_row_written(x):
    y = np.stack([x, 2 * x])
    s = 0.0
    for row, w in zip(y, [1.0, 2.0]):
        y += w
        s = s + np.sum(row * x)
    return s


REFUSED = [
    (slice_kept, "r"),
    (row_kept, "r"),
    (transpose_kept, "r"),
    (reshaped_row_kept, "r"),
    (view_of_view_kept, "s"),
    (other_cells_then_these, "r"),
    (parameter_kept, "r"),
    (written_in_loop, "r"),
    (written_in_branch, "r"),
    (augmented_item, "r"),
    (augmented_name, "r"),
    (read_by_closure, "r"),
    (read_after_break, "r"),
    (written_in_try, "s"),
    (loop_row_written, "row"),
    (enumerate_row_written, "row"),
    (zip_row_written, "row"),
]
MODES = {
    "gradient": lambda f: fx.gradient(f, X.copy()),
    "jvp": lambda f: fx.jvp(f, (X.copy(),), (np.ones(3),)),
    "hessian": lambda f: fx.hessian(f, X.copy()),
}


@pytest.mark.parametrize("mode", MODES)
@pytest.mark.parametrize("f, view", REFUSED, ids=[f.__name__ for f, _ in REFUSED])
def test_view_read_after_a_write_into_its_array_is_refused(f, view, mode):
    array = "x" if f is parameter_kept else "y"
    with pytest.raises(fx.FluxpyError, match=KEPT.format(view=view, array=array)):
        MODES[mode](f)


def test_the_error_names_the_write():
    with pytest.raises(fx.FluxpyError) as caught:
        fx.gradient(row_kept, X)
    lines, first = inspect.getsourcelines(row_kept)
    message = str(caught.value)
    assert f'File "{__file__}", line {first + 3}\n    y[0] = x**2' in message
    assert f"(bound at line {first + 2})" in message
    assert "Add `.copy()` where 'r' is bound" in message


def test_a_write_into_the_view_itself_stays_refused_at_transform_time():
    def write_into_view(x):
        y = x * 1.0
        r = y[:2]
        r[0] = 5.0
        return np.sum(y)

    with pytest.raises(fx.TransformError, match="writing into 'r', which may be a view or element"):
        fx.gradient(write_into_view, X)


# ---------------------------------------------------------------------------------------------------------
# 2. no view of the cells written, or no read after the write: derivatives as Python's values give them


def scalar_carried(x):
    y = np.zeros(3)
    for i in range(1, 3):
        prev = y[i - 1]  # a scalar: not a view
        y[i] = prev + x[i]
    return np.sum(y * x)


def scalar_read_after(x):
    y = x * 1.0
    for i in range(1, 3):
        prev = y[i - 1]
        y[i] = prev * y[i] + x[i]
        y[i - 1] = prev * 2.0
    return np.sum(y * x) + prev


def element_kept(x):
    y = x * 1.0
    a = y[0]  # a NumPy scalar
    y[0] = x[1] ** 2
    return a * x[0] + np.sum(y)


def copy_kept(x):
    y = np.stack([x, 2 * x])
    r = y[0].copy()
    y[0] = x**2
    return np.sum(r * x)


def fancy_kept(x):
    y = x * 1.0
    r = y[[0, 1]]  # advanced index: a copy
    y[0] = 5.0
    return np.sum(r * x[:2])


def mask_kept(x):
    y = x * 1.0
    r = y[x > 0]
    y[0] = 5.0
    return np.sum(r**2)


def read_before_write(x):
    y = np.stack([x, 2 * x])
    r = y[0]
    s = np.sum(r * x)
    y[0] = x**2
    return s + np.sum(y)


def other_cells(x):
    y = x * 1.0
    r = y[1:]
    y[0] = 5.0
    return np.sum(r * x[1:])


def other_row(x):
    y = np.stack([x, 2 * x])
    r = y[1]
    y[0] = x**2
    return np.sum(r * x) + np.sum(y)


def previous_row_read_after(x):
    y = np.zeros((4, 3))
    y[0] = x
    loss = 0.0
    for i in range(1, 4):
        prev = y[i - 1]
        y[i, 1:] = np.sin(prev[1:]) * x[1:]
        loss = loss + np.sum((y[i] - prev) ** 2)
    return loss


def array_rebound(x):
    y = x * 1.0
    r = y[:2]
    y = x * 3.0
    y[0] = 5.0
    return np.sum(r * x[:2]) + np.sum(y * x)


def mask_written(x):
    y = np.stack([x, 2 * x])
    r = y[0]
    y[1, x > 2.5] = 0.0
    return np.sum(r * y[1])


def closure_over_other_row(x):
    y = np.stack([x, 2 * x])
    r = y[0]

    def scaled(v):
        return v * r

    y[1] = x
    return np.sum(scaled(x)) + np.sum(y)


def loop_row_read_before_write(x):
    y = np.stack([x, 2 * x])
    for i, row in enumerate(y):
        y[i] = row / np.sum(row * row)
    for row in y:
        y[0] = y[0] + row
    return np.sum(y * y)


def loop_element_read_after_write(x):
    y = x * 1.0
    s = 0.0
    for i, v in enumerate(y):  # an element of a 1-D array: a number, not a view
        y[i] = v * x[0]
        s = s + v
    return s + np.sum(y)


VALID = [
    scalar_carried,
    scalar_read_after,
    element_kept,
    copy_kept,
    fancy_kept,
    mask_kept,
    read_before_write,
    other_cells,
    other_row,
    previous_row_read_after,
    array_rebound,
    mask_written,
    closure_over_other_row,
    loop_row_read_before_write,
    loop_element_read_after_write,
]


@pytest.mark.parametrize("f", VALID, ids=[f.__name__ for f in VALID])
def test_no_view_of_the_cells_written_is_differentiated(f):
    check_grads(f, X.copy(), order=2, forward=True)
    assert fx.withgradient(f, X.copy()).val == pytest.approx(f(X.copy()))


# ---------------------------------------------------------------------------------------------------------
# 3. the analysis: which writes get a check, against which cells


def _found(f):
    """``{write line: [(view, array, every_cell, bound line)]}``, lines counted from the ``def``."""
    src = source.get_source(f)
    fdef = parse.to_function_def(src.node, f.__name__)
    first = fdef.lineno
    return {
        s.lineno - first: [(v, a, every, line - first) for v, a, every, line in views]
        for s, views in kept_views(fdef, body_nodes(fdef)).items()
    }


@pytest.mark.parametrize(
    "f, expected",
    [
        (slice_kept, {3: [("r", "y", False, 2)]}),
        (view_of_view_kept, {4: [("s", "y", False, 3)]}),
        (other_cells_then_these, {3: [("r", "y", True, 2)], 4: [("r", "y", False, 2)]}),
        (written_in_loop, {4: [("r", "y", True, 2)]}),
        (augmented_name, {3: [("r", "y", False, 2)]}),  # (a write into every cell)
        (scalar_carried, {}),
        (copy_kept, {}),
        (read_before_write, {}),
        (array_rebound, {}),
        (scalar_read_after, {4: [("prev", "y", True, 3)], 5: [("prev", "y", False, 3)]}),
        (previous_row_read_after, {6: [("prev", "y", False, 5)]}),
    ],
    ids=lambda v: v.__name__ if callable(v) else "",
)
def test_writes_checked(f, expected):
    assert _found(f) == expected


def test_functions_without_the_pattern_are_unchanged():
    assert "__fx_check_kept_view" not in normalized_source(scalar_carried)
    bound = inspect.getsourcelines(slice_kept)[1] + 2
    check = f"        _ = __fx_call(__fx_check_kept_view, r, y, ('r', 'y'), {bound}, 0)\n"
    unbound = "    except UnboundLocalError:\n        pass\n"  # a view not bound yet is no view to check
    assert check + unbound + "    y = __fx_call(__fx_setitem, y, 0, 5.0)" in normalized_source(slice_kept)


# ---------------------------------------------------------------------------------------------------------
# 4. the runtime check, NumPy and device arrays


def test_check_against_the_cells_written():
    y = np.arange(12.0).reshape(3, 4)
    names = ("r", "y")
    passing = [
        (y[0, 0], (0, 0)),  # a scalar
        (y[[0, 1]], (0,)),  # a copy
        (y[1], (0,)),  # another row
        (y[:, 1], (slice(None), 2)),  # another column
        (y[:, 0], (np.array([0, 1]), 2)),  # an index array counts as its whole axis, the rest as given
        ([1.0], (...,)),  # not an array
    ]
    for view, index in passing:
        check_kept_view(view, y, names, 1, *index)
    column = y[:2, 3]
    for index in [
        (0,),
        (0, 3),
        ((0, 3),),
        (slice(None), 3),
        (...,),
        (np.array([0, 2]), 3),
        (y > 10,),
        (range(2), 3),
    ]:
        with pytest.raises(fx.FluxpyError, match=KEPT.format(view="r", array="y")):
            check_kept_view(column, y, names, 1, *index)


def element_on_device(x):
    y = x * 1.0
    a = y[0]  # CuPy: a 0-d view of y, which shows the write
    y[0] = x[1] ** 2
    return a * x[0] + np.sum(y)


def test_device_arrays(monkeypatch):
    cupy_standin.install(monkeypatch)
    (x,) = fx.gpu((X,))
    with pytest.raises(fx.FluxpyError, match=KEPT.format(view="a", array="y")):
        fx.gradient(element_on_device, x)
    (expected,) = fx.gradient(other_cells, X)
    (got,) = fx.gradient(other_cells, x)
    assert type(got).__module__ == "cupy"
    np.testing.assert_allclose(got.get(), expected)


def view_bound_in_a_later_trip(x, a0):
    o1 = np.zeros(2)
    for i2 in range(2):
        if i2 > 0:

            def h7(y0):
                return y0 + o1[0] * a0

            v10 = h7(a0 * 2.0)  # may view o1 (a closure's result), bound from the second trip on
            x = x + 0.5 * np.tanh(np.sum(v10))
        o1[i2] = x + 0.0  # checked against v10, which the first trip has not bound
    return x + np.sum(o1)


def augmented_in_a_loop_beside_inlined_arithmetic(x, y0):
    o1 = np.zeros(2)
    for i2 in range(2):
        v3 = x + 0.0
        o1 += x + 0.0  # generated op=, run beside a line of inlined arithmetic: not a user's operator.iadd
        v4 = x + 0.0
        x = x + 0.5 * np.tanh(v3 + v4)
        o1[i2] = x + 0.0
    return x + y0 + np.sum(o1)


def test_random_program_regressions():
    # found by tests/test_random_programs.py: an UnboundLocalError from the check of a view not bound yet,
    # and a generated ``o1 += ...`` refused as a hand-written operator.iadd
    check_grads(view_bound_in_a_later_trip, 0.3, np.array([0.5, 0.7]), order=2)
    check_grads(augmented_in_a_loop_beside_inlined_arithmetic, 0.3, 0.2, order=2)
