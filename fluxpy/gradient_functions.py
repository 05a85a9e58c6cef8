"""``f``'s gradient function: its forward pass, the seed and its pullback generated as one function, which
``fx.gradient`` calls in place of the three (interface.py), cached per code object and number of arguments.

>>> from fluxpy.gradient_functions import gradient_function
>>> def cube(x):
...     return x**3
>>> gradient_function(cube, (False, True))(cube, 2.0)  # (f's own gradient: not asked for, x's)
(None, 12.0)
"""

from types import FunctionType

from .interface_args import explicit_mask
from .rules import registry
from .runtime import resolve


def transformed_plainly(f, keyword_defaults=False):
    """Whether ``f`` is a Python function differentiated from its source with no defaults to bind (keyword
    defaults allowed when ``keyword_defaults``): then its gradient function fuses its forward pass, seed and
    pullback. Not when a rule is registered for ``f`` or ``f`` is marked ``nograd``: those are used."""
    return (
        type(f) is FunctionType
        and f.__defaults__ is None
        and (keyword_defaults or f.__kwdefaults__ is None)
        and f not in registry._rules
        and f not in registry._nondiff
    )


def gradient_function(f, mask):
    """``G(f, *args)``: what ``f``'s forward function and then its pullback at the seed return (the
    gradients as ``(df, *dargs)``, those ``mask`` marks False None), as one generated function."""
    from .transform.cache import forward_function

    return forward_function(f, mode="gradient", mask=mask)


_gradient_forwards = {}  # (code, nargs) -> (globals, G, G's forward function); cleared by registrations
registry.on_change(_gradient_forwards.clear)


_gradient_functions = {}  # (code, nargs) -> (globals, G); cleared by registrations
registry.on_change(_gradient_functions.clear)


def cached_gradient_function(f, nargs):
    """``f``'s gradient function for explicit gradients of ``nargs`` arguments (``fx.gradient``'s path)."""
    key = (f.__code__, nargs)
    hit = _gradient_functions.get(key)
    if hit is None or hit[0] is not f.__globals__:
        hit = _gradient_functions[key] = (f.__globals__, gradient_function(f, explicit_mask(nargs)))
    return hit[1]


def cached_gradient_forward(f, nargs):
    """``(G, F)``: ``f``'s gradient function (explicit gradients of ``nargs`` arguments) and the forward
    function that differentiates it."""
    key = (f.__code__, nargs)
    hit = _gradient_forwards.get(key)
    if hit is None or hit[0] is not f.__globals__:
        g = cached_gradient_function(f, nargs)
        hit = _gradient_forwards[key] = (f.__globals__, g, resolve(g))
    return hit[1], hit[2]


registry.nograd(transformed_plainly, gradient_function, cached_gradient_forward, cached_gradient_function)
