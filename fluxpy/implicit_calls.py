"""The entry points (interface.py) given implicit parameters, ``fx.gradient(f, fx.params(W, b))``: ``f()``
runs with no arguments, and the gradients are collected for the parameters its code reads (implicit.py)
into a ``Grads``."""

from types import FunctionType

from . import errors
from .call_errors import check_callable, name_the_function
from .results import WithGradient, seed_first, sensitivity
from .rules import registry
from .runtime import call


def _implicit_pullback(f, ps, kwargs):
    """``(y, back)`` for ``f()`` with gradients collected for the parameters ``ps`` (a ``Grads``)."""
    from .implicit import _forward, recording

    _forward[0] += 1  # (a count: implicit gradients in several threads at once only make it conservative)
    try:
        y, pb = call(f, **kwargs)
    finally:
        _forward[0] -= 1

    def back(dy):
        with recording(ps) as recorder:
            g = pb(dy)
            recorder.add(f, g[0])  # the function's own closure (a zero-argument lambda's captures)
        return recorder.result()

    return y, back


def implicit(kind, f, ps, kwargs):
    """``gradient``/``withgradient``/``pullback`` of ``f()`` with respect to the parameters ``ps``."""
    _check_no_arguments(kind, f, kwargs)
    try:
        y, back = _implicit_pullback(f, ps, kwargs)
    except TypeError as error:
        check_callable(kind, f)
        name_the_function(error, f)
        raise
    if kind == "pullback":
        return y, back
    seed = seed_first(y, f) if type(y) is tuple else sensitivity(y, f)
    if kind == "gradient":
        return back(seed)
    return WithGradient(y, back(seed))


def _check_no_arguments(kind, f, kwargs):
    """A FluxpyError when ``f`` needs a positional argument: with implicit parameters it takes none."""
    code = getattr(f, "__code__", None)
    if type(f) is not FunctionType or code.co_argcount == 0:
        return
    required = code.co_varnames[: code.co_argcount - len(f.__defaults__ or ())]
    missing = [name for i, name in enumerate(required) if i < code.co_posonlyargcount or name not in kwargs]
    if missing:
        name = "<lambda>" if f.__name__ == "<lambda>" else f.__name__
        raise errors.FluxpyError(
            f"fx.{kind}(f, fx.params(...)) calls f with no arguments: its parameters are read where f finds "
            f"them (globals, closures, a model's arrays), and gs[W] is W's gradient. But {name} takes the "
            f"argument{'s' if len(missing) > 1 else ''} {', '.join(missing)}. Write "
            f"fx.{kind}(lambda: loss(W, x), fx.params(W)), or pass the arrays themselves: fx.{kind}(loss, W)"
        )


registry.nograd(_check_no_arguments)


@registry.adjoint(implicit)
def implicit_rule(kind, f, ps, kwargs):
    def implicit_gradient_pullback(d):
        raise errors.FluxpyError(
            "a gradient reached an implicit-parameter gradient (fx.gradient(f, fx.params(...))) taken inside "
            "differentiated code: gradients of Grads are not supported; take the inner gradient explicitly"
        )

    return implicit(kind, f, ps, kwargs), implicit_gradient_pullback


def is_params(args):
    """Whether an entry point's arguments are one ``fx.params(...)``: the implicit-parameter form."""
    return len(args) == 1 and type(args[0]).__name__ == "Params" and _params_class() is type(args[0])


def _params_class():
    from .implicit import Params

    return Params


registry.nograd(is_params)
