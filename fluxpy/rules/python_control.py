"""Helpers of generated code for ``with``, ``except`` and ``try``: the value bound by ``with m as v``
(``with_value``), the exception bound by ``except E as e`` (``caught``: values read from it get no
gradient), and the check that an exception did not interrupt a block fluxpy would have to replay
(``check_try_step``). Where a ``for`` loop leaves its iterator: rules/python_iteration.py's rewind.

>>> caught_rule(ValueError("x"))[1](None)
(None,)
"""

from ..errors import FluxpyError
from ..tangents import Tangent
from . import attributes
from .registry import adjoint, nograd


def with_value(manager, entered):
    """``v`` of ``with manager as v`` (generated code): what ``manager.__enter__()`` returned."""
    return entered


@adjoint(with_value)
def with_value_rule(manager, entered):
    field = attributes.entered_field(manager, entered)

    def with_value_pullback(dv):
        if dv is None:
            return (None, None)
        if field is None:
            attributes.refuse_entered(manager, entered)
            return (None, None)
        return (dv if field is attributes.ITSELF else Tangent(type(manager), {field: dv}), None)

    return entered, with_value_pullback


def caught(exc):
    """``e`` of ``except E as e`` in generated code: the exception as raised."""
    return exc


@adjoint(caught)
def caught_rule(exc):
    def caught_pullback(dexc):
        if dexc is not None and _has_gradient(dexc):
            from ..errors import FluxpyError
            from ..runtime import user_location

            raise FluxpyError(
                f"a value read from the caught {type(exc).__name__} needs a gradient, and fluxpy does not "
                "follow values through a raise (the code that made them stopped there).\n"
                f"  {user_location()}\n"
                "Return the value instead of raising it, or wrap a constant read from it in fx.dropgrad."
            )
        return (None,)

    return exc, caught_pullback


@nograd
def _has_gradient(d):
    """Whether a cotangent holds anything but None (nested tuples, lists, dicts and Tangents)."""
    if d is None:
        return False
    if isinstance(d, (tuple, list)):
        return any(_has_gradient(v) for v in d)
    if isinstance(d, (dict, Tangent)):
        return any(_has_gradient(v) for v in d.values())
    return True


def check_try_step(step, compound, untouched):
    """In an ``except`` handler: a block the exception interrupted must not have recorded anything."""
    if step in compound and not untouched:
        from ..runtime import user_location

        raise FluxpyError(
            "an exception was caught after it interrupted a loop, if, with or try block inside a try body; "
            f"fluxpy cannot replay a partly run block backwards.\n  {user_location()}\n"
            "Move that block into a function of its own and call it from the try body."
        )


nograd(check_try_step)
