"""The errors of the entry points (interface.py) that are about how they were called: ``f`` not callable, a
TypeError that names generated code where the user's function is meant, and a loss that is not a real
scalar (NonScalarError, naming the entry point the user called). All on the error path."""

import numbers
import os
import re
import sys

import numpy as np

from . import errors
from .backend import is_array
from .rules import registry

# ``__fx_factory.<locals>.g__jvp()``: the generated function Python names in a TypeError for arguments that
# do not fit (a missing keyword-only argument), where a plain call reads ``g()``
_GENERATED_CALL = re.compile(r"(?:[\w<>]+\.)*__fx_factory\.<locals>\.(\w+?)__(?:jvp|gradient|forward)\(\)")


def check_callable(kind, f):
    """A FluxpyError when ``f``, given to ``fx.<kind>``, is not a function (``fx.gradient(3.0, 1.0)``). Called
    on the error path: calling ``f`` failed already."""
    if callable(f):
        return
    raise errors.FluxpyError(
        f"fx.{kind} takes the function to differentiate first, fx.{kind}(f, *args), but it was given "
        f"{a_kind(f)} ({short(f)}), which is not callable"
    )


def a_kind(value):
    """``a float``, ``an ndarray``: the type of ``value`` for a message."""
    name = type(value).__name__
    return f"{'an' if name[:1] in 'aeiou' or name == 'ndarray' else 'a'} {name}"


def short(value):
    """A callable's qualified name, else its repr, cut to 60 characters for a message."""
    text = getattr(value, "__qualname__", None) if callable(value) else None
    text = text or repr(value)
    return text if len(text) <= 60 else text[:57] + "..."


def name_the_function(error, f):
    """A TypeError raised calling the generated code of ``f`` (or of a function it calls) with arguments that
    do not fit names the function as a plain call does (``g() missing 1 required keyword-only argument``),
    not its generated code. Only on the error path."""
    if type(error) is not TypeError or not error.args or type(error.args[0]) is not str:
        return
    message = _GENERATED_CALL.sub(_plain_name, error.args[0])
    if message != error.args[0]:
        error.args = (message,) + error.args[1:]


# a function defined in differentiated code is made by its generated code:
# ``__fx_factory.<locals>.g__forward.<locals>.h``
_GENERATED_NAME = re.compile(
    r"(?:[\w<>]+\.)*__fx_factory\.<locals>\.\w+?__(?:jvp|gradient|forward)\.<locals>\.(\w+)"
)


def _plain_name(match):
    name = match.group(1)
    return ("<lambda>" if name.startswith("lambda_L") else name) + "()"


registry.nograd(name_the_function, check_callable)


def non_scalar(y, f):
    """Raise the NonScalarError for the output ``y`` of ``f``, naming the function the user called
    (``gradient``, ``withgradient``, ``hessian``) and how to get a real scalar."""
    name = _GENERATED_NAME.sub(_plain_name, getattr(f, "__qualname__", None) or repr(f)).removesuffix("()")
    hint = "vector"
    if is_array(y):
        what = f"an array of shape {y.shape} and dtype {y.dtype}"
        if y.ndim == 0 and y.dtype.kind == "c":
            hint = "complex"
    elif type(y) is tuple and not y:
        what, hint = "an empty tuple", "empty"
    else:
        what = f"a value of type {type(y).__name__}"
        if isinstance(y, (complex, np.complexfloating)):
            hint = "complex"
        elif isinstance(y, numbers.Number) and not isinstance(y, bool):
            hint = "number"  # Fraction, Decimal
    hint = errors.NON_SCALAR_HINTS[hint]
    raise errors.NonScalarError(errors.NON_SCALAR.format(call=entry_point(), name=name, what=what, hint=hint))


def entry_point():
    """The function of fluxpy's API the user called that wants a real scalar: ``gradient`` (also for a
    gradient inside differentiated code), ``withgradient``, or ``hessian``/``hvp`` when that gradient is
    theirs (no user code between). Walks the stack: the error path only."""
    from . import derivatives, interface
    from .implicit_calls import implicit
    from .transform.codegen import map_location

    api = {
        interface.gradient.__code__,
        interface.gradient_rule.__code__,
        interface.gradient_jvp.__code__,
        implicit.__code__,
    }
    interface_file = os.path.abspath(interface.__file__)
    outer = {derivatives.hessian.__code__: "hessian", derivatives.hvp.__code__: "hvp"}
    found = None
    frame = sys._getframe(1)
    while frame is not None:
        code = frame.f_code
        if found is not None and code in outer:
            return outer[code]
        mapped = map_location(code.co_filename, frame.f_lineno)
        file = os.path.abspath(mapped[0] if mapped is not None else code.co_filename)
        if found is None:
            if code is interface.withgradient.__code__:
                return "withgradient"
            # gradient's code, or gradient_rule's differentiated (generated code mapped to interface.py)
            if code in api or (mapped is not None and file == interface_file):
                found = "gradient"
        elif not file.startswith(_PACKAGE_DIR):
            return found  # the user's code called gradient
        frame = frame.f_back
    return found or "gradient"


_PACKAGE_DIR = os.path.join(os.path.dirname(os.path.abspath(__file__)), "")


registry.nograd(non_scalar, entry_point)
