"""An error raised while fluxpy runs generated code (NumPy's, Python's, the user's own ``raise``) carries a note
naming the user's lines it passed through (fluxpy/errors.py ``note_user_lines``): Python's traceback shows the
generated frames without their text. Both modes, nested functions, pullbacks; FluxpyErrors are left alone."""

import inspect

import numpy as np
import pytest

import fluxpy as fx
from fluxpy.errors import FluxpyError, note_user_lines

SINGULAR = np.zeros((2, 2))


def _line_of(f, text):
    lines, first = inspect.getsourcelines(f)
    return first + next(i for i, line in enumerate(lines) if text in line)


def inverse_sum(x):
    z = x * 2.0
    w = np.linalg.inv(z)
    return np.sum(w)


def through_inner(x):
    def inner(y):
        z = y * 2.0
        return np.linalg.inv(z)

    return np.sum(inner(x))


def raises_itself(x):
    if np.sum(x) < 1.0:
        raise ValueError("x is too small")
    return np.sum(x)


def note_of(error):
    notes = getattr(error, "__notes__", [])
    assert len(notes) == 1, notes
    return notes[0]


@pytest.mark.parametrize(
    "run",
    [
        lambda f: fx.gradient(f, SINGULAR),
        lambda f: fx.withgradient(f, SINGULAR),
        lambda f: fx.pullback(f, SINGULAR),
        lambda f: fx.jvp(f, (SINGULAR,), (SINGULAR,)),
        lambda f: fx.jacobian(f, SINGULAR),
        lambda f: fx.hessian(f, SINGULAR),
    ],
    ids=["gradient", "withgradient", "pullback", "jvp", "jacobian", "hessian"],
)
def test_a_numpy_error_names_the_users_line(run):
    with pytest.raises(np.linalg.LinAlgError) as info:
        run(inverse_sum)
    note = note_of(info.value)
    assert note.startswith("raised in differentiated code")
    assert f'{__file__}", line {_line_of(inverse_sum, "np.linalg.inv")}, in inverse_sum' in note
    assert "w = np.linalg.inv(z)" in note


@pytest.mark.parametrize("mode", ["gradient", "jvp"])
def test_nested_functions_name_their_own_lines(mode):
    with pytest.raises(np.linalg.LinAlgError) as info:
        if mode == "gradient":
            fx.gradient(through_inner, SINGULAR)
        else:
            fx.jvp(through_inner, (SINGULAR,), (SINGULAR,))
    note = note_of(info.value)
    call = f"line {_line_of(through_inner, 'np.sum(inner(x))')}, in through_inner"
    inner = f"line {_line_of(through_inner, 'return np.linalg.inv(z)')}, in inner"
    assert call in note and inner in note
    assert note.index(call) < note.index(inner)  # most recent call last


def test_the_users_own_raise():
    with pytest.raises(ValueError, match="too small") as info:
        fx.gradient(raises_itself, np.zeros(3))
    assert f"line {_line_of(raises_itself, 'raise ValueError')}, in raises_itself" in note_of(info.value)


def opaque(x):
    return x * 3.0


@fx.adjoint(opaque)
def opaque_rule(x):
    def failing_pullback(dy):
        raise RuntimeError("pullback failed")

    return opaque(x), failing_pullback


def uses_opaque(x):
    y = opaque(x) * 2.0
    return np.sum(y)


def test_an_error_in_the_backward_pass_names_the_line_being_differentiated():
    y, back = fx.pullback(uses_opaque, np.ones(2))
    with pytest.raises(RuntimeError, match="pullback failed") as info:
        back(1.0)
    note = note_of(info.value)
    assert f"line {_line_of(uses_opaque, 'opaque(x) * 2.0')}, in uses_opaque (its pullback)" in note


def gradient_inside(x):
    return fx.gradient(inverse_sum, x)[0].sum()


def test_a_gradient_of_a_gradient_notes_once():
    with pytest.raises(np.linalg.LinAlgError) as info:
        fx.gradient(gradient_inside, SINGULAR)
    note = note_of(info.value)
    assert f"line {_line_of(inverse_sum, 'np.linalg.inv')}, in inverse_sum" in note


def test_fluxpy_errors_are_left_alone():
    error = FluxpyError("a message with its own location")
    note_user_lines(error)
    assert not getattr(error, "__notes__", None)


def test_an_error_outside_generated_code_gets_no_note():
    try:
        raise ValueError("plain")
    except ValueError as error:
        note_user_lines(error)
        assert not getattr(error, "__notes__", None)


def test_a_lambda_is_named_as_python_names_it():
    with pytest.raises(np.linalg.LinAlgError) as info:
        fx.gradient(lambda x: np.sum(np.linalg.inv(x)), SINGULAR)
    assert ", in <lambda>\n" in note_of(info.value)
