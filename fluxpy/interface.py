"""The differentiation API: ``gradient``, ``withgradient``, ``pullback``, ``differentiable``, ...

The entry points are here; what they share is beside them: interface_args.py (the caller's containers
copied, the mask of the arguments wanted), results.py (the seed, the gradients projected onto the
arguments), gradient_functions.py (``f``'s fused gradient function, cached), implicit_calls.py (the
``fx.params(...)`` form) and call_errors.py (how a bad call is reported).

>>> import fluxpy as fx
>>> fx.gradient(lambda x: 3 * x**2 + 2 * x + 1, 2.0)
(14.0,)
"""

from types import FunctionType

import numpy as np

from . import errors
from .call_errors import a_kind, check_callable, entry_point, name_the_function, short
from .errors import note_user_lines, raise_recursion_depth
from .gradient_functions import cached_gradient_forward, cached_gradient_function, transformed_plainly
from .implicit_calls import implicit, is_params
from .interface_args import explicit_mask, owned
from .results import WithGradient, project_all, seed_first, sensitivity
from .rules import registry
from .rules.registry import forward_rule
from .runtime import call, call_masked, resolve_masked
from .tangents import broadcast_needed, check_cotangent, fit_cotangent


def pullback(f, /, *args, **kwargs):
    """``(y, back)``: run ``f(*args, **kwargs)`` once; ``back(dy)`` gives one gradient per positional arg.

    >>> import fluxpy as fx
    >>> y, back = fx.pullback(lambda a, b: a * b, 2.0, 3.0)
    >>> y, back(1.0)
    (6.0, (3.0, 2.0))
    """
    if is_params(args):
        return implicit("pullback", f, args[0], kwargs)
    try:
        y, pb = call_masked(explicit_mask(len(args)), f, *owned(args), **kwargs)
    except Exception as error:
        check_callable("pullback", f)
        name_the_function(error, f)
        note_user_lines(error)
        raise_recursion_depth(error, "pullback")
        raise

    t = type(y)

    def back(dy):
        if dy is not None and not (type(dy) is t and (t is float or t is np.ndarray and dy.shape == y.shape)):
            dy = fit_cotangent(dy, y)  # the common cases above need no check
        try:
            grads = pb(dy)
        except Exception as error:
            check_cotangent(dy, y)  # a str array of the output's shape passes the quick test above
            note_user_lines(error)
            raise_recursion_depth(error, "pullback")
            raise
        return project_all(grads[1 : len(args) + 1], args)

    return y, back


registry.nograd(check_cotangent, broadcast_needed, note_user_lines)


def gradient(f, /, *args, **kwargs):
    """Gradient of the real-scalar function ``f`` at ``args``: a tuple, one entry per positional argument.

    >>> import numpy as np, fluxpy as fx
    >>> fx.gradient(lambda x, y: np.sum((x - y) ** 2), np.array([2, 1]), np.array([2, 0]))
    (array([0., 2.]), array([-0., -2.]))
    """
    n = len(args)
    if n == 1 and type(args[0]).__name__ == "Params" and is_params(args):
        return implicit("gradient", f, args[0], kwargs)
    try:
        if not kwargs and transformed_plainly(f):
            # f's gradient function: its forward pass, the seed and its pullback fused into one
            grads = cached_gradient_function(f, n)(f, *owned(args))
        else:
            y, pb = call_masked(explicit_mask(n), f, *owned(args), **kwargs)
            grads = pb(sensitivity(y, f))
    except Exception as error:
        check_callable("gradient", f)
        name_the_function(error, f)
        note_user_lines(error)
        raise_recursion_depth(error, "gradient")
        raise
    return project_all(grads[1 : n + 1], args)


@registry.adjoint(gradient)
def gradient_rule(f, /, *args, **kwargs):
    """``fx.gradient`` inside differentiated code (a gradient of a gradient): ``f``'s forward function and
    its pullback are differentiated directly, which is what differentiating ``gradient``'s own code amounts
    to, without differentiating the dispatch in between (``call_masked``, the seed, the projection).

    The gradient's cotangent goes back through the pullback (to its captured values) and then through the
    forward function, to ``f``'s captured variables and to the arguments.
    """
    nargs = len(args)
    if not callable(f):
        check_callable(entry_point(), f)
    if not kwargs and transformed_plainly(f):
        if nargs != 1 or type(args[0]).__name__ != "Params" or not is_params(args):
            # f's gradient function (its forward and pullback fused into one), differentiated
            g, g_forward = cached_gradient_forward(f, nargs)
            grads, gradient_function_pb = g_forward(g, f, *args)

            def fused_gradient_pullback(dresult):
                dgrads = (None,) + tuple(dresult) + (None,) * (len(grads) - 1 - nargs)
                return tuple(gradient_function_pb(dgrads)[1 : nargs + 2])  # f's cotangent, the arguments'

            return project_all(grads[1 : nargs + 1], args), fused_gradient_pullback
    if kwargs or is_params(args):  # keywords and implicit parameters: gradient's own code, differentiated
        from .transform.cache import forward_function

        y, pb = forward_function(gradient)(gradient, f, *args, **kwargs)

        def gradient_code_pullback(dy):
            return pb(dy)[1:]

        return y, gradient_code_pullback
    mask = explicit_mask(nargs)
    if transformed_plainly(f, keyword_defaults=True):  # what call_masked would run
        (y, pb), forward_pb = call(resolve_masked(f, mask), f, *args)
        first = 1  # the forward function's own cotangent, then f's, then the arguments'
    else:
        (y, pb), forward_pb = call(call_masked, mask, f, *args)
        first = 2  # call_masked's own, the mask's, then f's and the arguments'
    grads, pullback_pb = call(pb, sensitivity(y, f))
    result = project_all(grads[1 : nargs + 1], args)

    def gradient_pullback(dresult):
        dgrads = (None,) + tuple(dresult) + (None,) * (len(grads) - 1 - nargs)
        dpb = pullback_pb(dgrads)[0]  # the cotangent of the pullback: of the values it captured
        if dpb is None:
            return (None,) * (nargs + 1)
        return tuple(forward_pb((None, dpb))[first : first + nargs + 1])

    return result, gradient_pullback


@forward_rule(gradient)
def gradient_jvp(args, targs, kwargs, tkwargs):
    """Forward over reverse (``fx.hvp``, ``fx.jvp`` of a gradient): ``f``'s forward function and then its
    pullback run in forward mode, the pullback's tangent being the Hessian-vector product; ``gradient``'s own
    code (the seed, the projection) is not followed, as gradient_rule does in reverse mode. Keywords and
    implicit parameters run ``gradient``'s own code in forward mode."""
    from .forward import _python_jvp, jvp_call

    f, xs = args[0], args[1:]
    if kwargs or is_params(xs):
        return _python_jvp(gradient, None, args, targs, kwargs, tkwargs)
    n = len(xs)
    if transformed_plainly(f):
        g = cached_gradient_function(f, n)  # f's gradient function, in forward mode
        grads, tgrads = jvp_call(g, None, args, tuple(targs), {}, {})
    else:
        (y, pb), t = jvp_call(call_masked, None, (explicit_mask(n),) + args, (None,) + tuple(targs), {}, {})
        grads, tgrads = jvp_call(pb, None if t is None else t[1], (sensitivity(y, f),), (None,), {}, {})
    result = project_all(grads[1 : n + 1], xs)
    return result, None if tgrads is None else project_all(tuple(tgrads)[1 : n + 1], xs)


gradient_jvp.takes_keywords = True


def withgradient(f, /, *args, **kwargs):
    """``(val, grad)``: the value of ``f`` and its gradient, from one forward pass.

    When ``f`` returns a tuple, its first element is differentiated and ``val`` is the whole tuple.

    >>> import fluxpy as fx
    >>> fx.withgradient(lambda x: x * x, 3.0)
    WithGradient(val=9.0, grad=(6.0,))
    """
    if is_params(args):
        return implicit("withgradient", f, args[0], kwargs)
    try:
        y, pb = call_masked(explicit_mask(len(args)), f, *owned(args), **kwargs)
        grads = pb(seed_first(y, f) if type(y) is tuple else sensitivity(y, f))
    except Exception as error:
        check_callable("withgradient", f)
        name_the_function(error, f)
        note_user_lines(error)
        raise_recursion_depth(error, "withgradient")
        raise
    return WithGradient(y, project_all(grads[1 : len(args) + 1], args))


# ---------------------------------------------------------------------------------------------------------
# marking code


def differentiable(f):
    """Decorator: transform ``f`` now (unsupported code fails here) and return it, callable as before.

    A method (bound, static or class), a ``functools.partial`` or an object with a Python ``__call__`` has
    that function transformed. A callable with a derivative rule (``np.sin``, a function under
    ``@fx.adjoint``) or marked ``fx.nograd`` is returned as it is: it is differentiated by its rule. A class,
    or a C function with no rule, raises a ``FluxpyError``.

    >>> import fluxpy as fx
    >>> @fx.differentiable
    ... def square(x):
    ...     return x * x
    >>> square(3.0), fx.gradient(square, 3.0)
    (9.0, (6.0,))
    """
    from .transform.cache import forward_function, function_of

    if type(f) is not FunctionType and _has_rule(f):
        return f
    forward_function(function_of(f, "differentiable"))
    return f


def _has_rule(f):
    """Whether ``f`` is differentiated by a rule, or marked nograd: there is no source of its to transform."""
    try:
        return registry.lookup(f) is not None or registry.is_nondiff(f)
    except TypeError:  # unhashable
        return False


def adjoint(*primals):
    """Decorator: register ``rule(*args, **kwargs) -> (y, back)`` as the derivative rule of each of
    ``primals``; ``back(dy)`` returns a tuple with one cotangent per positional argument (None: no gradient).
    See docs/writing-rules.md.

    >>> import fluxpy as fx
    >>> def cube(x):
    ...     return x**3
    >>> @fx.adjoint(cube)
    ... def cube_rule(x):
    ...     return cube(x), lambda dy: (3 * x**2 * dy,)
    >>> fx.gradient(cube, 2.0)
    (12.0,)
    """
    if not primals:
        raise errors.FluxpyError(
            "fx.adjoint takes the function the rule is for: write @fx.adjoint(f) above def f_rule(...)"
        )
    for p in primals:
        if not callable(p):
            raise errors.FluxpyError(
                f"fx.adjoint(f) registers a rule for the function f, but it was given {a_kind(p)} "
                f"({short(p)}), which is not callable: write @fx.adjoint(f) above def f_rule(...)"
            )
    register = registry.adjoint(*primals)

    def adjoint_decorator(rule):
        if not callable(rule):
            raise errors.FluxpyError(
                f"fx.adjoint({short(primals[0])}) returns a decorator, which takes the rule function, but "
                f"it was given {a_kind(rule)} ({short(rule)}). Write @fx.adjoint(f) above def f_rule(...) "
                "(a bare @fx.adjoint above the rule registers the rule for itself)"
            )
        return register(rule)

    return adjoint_decorator


def nograd(*fs):
    """Mark callables as non-differentiable: their results carry no gradient. Returns the first.

    Usable as a decorator (``@fx.nograd``) or a call (``fx.nograd(np.argmax)``).
    """
    for f in fs:
        if not callable(f):
            raise errors.FluxpyError(
                f"fx.nograd(f) marks the function f non-differentiable, but it was given {a_kind(f)} "
                f"({short(f)}), which is not callable. To stop the gradient at a value, write fx.dropgrad(x)"
            )
        registry._refuse_ruled(f)  # here, so that its look at the caller sees the user's frame
    return registry.nograd(*fs)


# registering is bookkeeping, also when a differentiated function does it (``record = fx.nograd(log.append)``)
registry.nograd(adjoint, nograd)


def adjoint_source(f):
    """The generated forward and pullback Python source for ``f`` (valid Python).

    >>> import fluxpy as fx
    >>> src = fx.adjoint_source(lambda x: x * x)
    >>> "def " in src and "pullback" in src
    True
    """
    from .transform.cache import generated_source

    return generated_source(f)


def dropgrad(x):
    """``x``, through which no gradient flows back: a constant at every order (JAX's ``stop_gradient``).

    >>> import fluxpy as fx
    >>> fx.gradient(lambda x: x * fx.dropgrad(x), 3.0)
    (3.0,)
    >>> fx.hessian(lambda x: fx.dropgrad(x) * x**2, 2.0)
    4.0
    """
    return x


# Non-differentiable rather than a rule whose pullback gives None: a rule returning ``x`` itself is
# differentiated again at second order (fx.hessian, a gradient of a gradient, fx.jvp), and the tangent
# would ride through its output. Marked nograd, its value is a constant at every order (JAX's
# stop_gradient): fx.hessian(lambda x: fx.dropgrad(x) * x**2, 2.0) == 4.0.
registry.nograd(dropgrad)


def checkpointed(f, *args):
    """``f(*args)``; its pullback recomputes ``f``'s forward pass instead of keeping it in memory.

    The recomputation is the same function as the first pass (as PyTorch's checkpoint): the random
    generators ``f`` and ``args`` reach (a ``Dropout``'s ``rng``, NumPy's and Python's global ones) are put
    back to their state before the first pass for it, and then to where they were; and it updates no
    running statistics (``BatchNorm``'s were updated by the first pass: side effects happen once).

    >>> import fluxpy as fx
    >>> fx.gradient(lambda x: fx.checkpointed(lambda t: t * t, x), 3.0)
    (6.0,)
    """
    return f(*args)


@registry.adjoint(checkpointed)
def checkpointed_rule(f, *args):
    from .layers.normalise import recomputing, restore_rngs, rng_snapshot

    roots = (f, *args)
    before = rng_snapshot(roots)
    y = f(*args)

    def checkpointed_pullback(dy):
        now = rng_snapshot(roots)
        restore_rngs(before)
        try:
            with recomputing():
                _, pb = call(f, *args)
        finally:
            restore_rngs(now)
        return pb(dy)

    return y, checkpointed_pullback
