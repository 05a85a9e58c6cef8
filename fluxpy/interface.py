"""The differentiation API: ``gradient``, ``withgradient``, ``pullback``, ``differentiable``, ...

>>> import fluxpy as fx
>>> fx.gradient(lambda x: 3 * x**2 + 2 * x + 1, 2.0)
(14.0,)
"""

import numbers
import os
import re
import sys
from collections import namedtuple
from types import FunctionType

import numpy as np

from . import errors
from .backend import is_array, xp_of
from .errors import note_user_lines, raise_recursion_depth
from .jvp_tangents import own_containers
from .rules import registry
from .rules.registry import forward_rule
from .runtime import call, call_masked, resolve, resolve_masked
from .tangents import broadcast_needed, check_cotangent, fit_cotangent, project

WithGradient = namedtuple("WithGradient", ["val", "grad"])


def pullback(f, /, *args, **kwargs):
    """``(y, back)``: run ``f(*args, **kwargs)`` once; ``back(dy)`` gives one gradient per positional arg.

    >>> import fluxpy as fx
    >>> y, back = fx.pullback(lambda a, b: a * b, 2.0, 3.0)
    >>> y, back(1.0)
    (6.0, (3.0, 2.0))
    """
    if _is_params(args):
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
        f"{_a_kind(f)} ({_short(f)}), which is not callable"
    )


def _a_kind(value):
    name = type(value).__name__
    return f"{'an' if name[:1] in 'aeiou' or name == 'ndarray' else 'a'} {name}"


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


def _is_params(args):
    return len(args) == 1 and type(args[0]).__name__ == "Params" and _params_class() is type(args[0])


def _params_class():
    from .implicit import Params

    return Params


def gradient(f, /, *args, **kwargs):
    """Gradient of the real-scalar function ``f`` at ``args``: a tuple, one entry per positional argument.

    >>> import numpy as np, fluxpy as fx
    >>> fx.gradient(lambda x, y: np.sum((x - y) ** 2), np.array([2, 1]), np.array([2, 0]))
    (array([0., 2.]), array([-0., -2.]))
    """
    n = len(args)
    if n == 1 and type(args[0]).__name__ == "Params" and _is_params(args):
        return implicit("gradient", f, args[0], kwargs)
    try:
        if not kwargs and _transformed_plainly(f):
            # f's gradient function: its forward pass, the seed and its pullback fused into one
            grads = _gradient_function(f, n)(f, *owned(args))
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


_CONTAINERS = (list, tuple, dict, set)
_NOT_CONTAINERS = frozenset({float, int, np.ndarray, np.float64, np.float32})  # the common case, quickly


def owned(args):
    """``args`` with the lists, dicts and sets among them (in tuples too) copied, their items shared: ``f``
    may change one in place (``labels.append(k)``: floats are refused, ints and strings are bookkeeping),
    and the caller's arguments never change (API.md). Arrays need no copy here: fluxpy never writes into
    them (normalize/parameters.py)."""
    for a in args:
        if type(a) not in _NOT_CONTAINERS and isinstance(a, _CONTAINERS):  # subclasses: a defaultdict, ...
            memo = {}  # one list passed twice stays one list (see own_containers)
            return tuple([own_containers(a, memo) for a in args])
    return args


def _transformed_plainly(f, keyword_defaults=False):
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


registry.nograd(_transformed_plainly)


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
        check_callable(_entry_point(), f)
    if not kwargs and _transformed_plainly(f):
        if nargs != 1 or type(args[0]).__name__ != "Params" or not _is_params(args):
            # f's gradient function (its forward and pullback fused into one), differentiated
            g, g_forward = _gradient_forward(f, nargs)
            grads, gradient_function_pb = g_forward(g, f, *args)

            def fused_gradient_pullback(dresult):
                dgrads = (None,) + tuple(dresult) + (None,) * (len(grads) - 1 - nargs)
                return tuple(gradient_function_pb(dgrads)[1 : nargs + 2])  # f's cotangent, the arguments'

            return project_all(grads[1 : nargs + 1], args), fused_gradient_pullback
    if kwargs or _is_params(args):  # keywords and implicit parameters: gradient's own code, differentiated
        from .transform.cache import forward_function

        y, pb = forward_function(gradient)(gradient, f, *args, **kwargs)

        def gradient_code_pullback(dy):
            return pb(dy)[1:]

        return y, gradient_code_pullback
    mask = explicit_mask(nargs)
    if _transformed_plainly(f, keyword_defaults=True):  # what call_masked would run
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


def gradient_function(f, mask):
    """``G(f, *args)``: what ``f``'s forward function and then its pullback at the seed return (the
    gradients as ``(df, *dargs)``, those ``mask`` marks False None), as one generated function."""
    from .transform.cache import forward_function

    return forward_function(f, mode="gradient", mask=mask)


registry.nograd(gradient_function)

_gradient_forwards = {}  # (code, nargs) -> (globals, G, G's forward function); cleared by registrations
registry.on_change(_gradient_forwards.clear)


_gradient_functions = {}  # (code, nargs) -> (globals, G); cleared by registrations
registry.on_change(_gradient_functions.clear)


def _gradient_function(f, nargs):
    """``f``'s gradient function for explicit gradients of ``nargs`` arguments (``fx.gradient``'s path)."""
    key = (f.__code__, nargs)
    hit = _gradient_functions.get(key)
    if hit is None or hit[0] is not f.__globals__:
        hit = _gradient_functions[key] = (f.__globals__, gradient_function(f, explicit_mask(nargs)))
    return hit[1]


def _gradient_forward(f, nargs):
    """``(G, F)``: ``f``'s gradient function (explicit gradients of ``nargs`` arguments) and the forward
    function that differentiates it."""
    key = (f.__code__, nargs)
    hit = _gradient_forwards.get(key)
    if hit is None or hit[0] is not f.__globals__:
        g = _gradient_function(f, nargs)
        hit = _gradient_forwards[key] = (f.__globals__, g, resolve(g))
    return hit[1], hit[2]


registry.nograd(_gradient_forward, _gradient_function)


@forward_rule(gradient)
def gradient_jvp(args, targs, kwargs, tkwargs):
    """Forward over reverse (``fx.hvp``, ``fx.jvp`` of a gradient): ``f``'s forward function and then its
    pullback run in forward mode, the pullback's tangent being the Hessian-vector product; ``gradient``'s own
    code (the seed, the projection) is not followed, as gradient_rule does in reverse mode. Keywords and
    implicit parameters run ``gradient``'s own code in forward mode."""
    from .forward import _python_jvp, jvp_call

    f, xs = args[0], args[1:]
    if kwargs or _is_params(xs):
        return _python_jvp(gradient, None, args, targs, kwargs, tkwargs)
    n = len(xs)
    if _transformed_plainly(f):
        g = _gradient_function(f, n)  # f's gradient function, in forward mode
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
    if _is_params(args):
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


_explicit_masks = {}


def explicit_mask(nargs):
    """Explicit gradients want every argument's and not ``f``'s own (its captured variables and the
    globals it reads are constants): ``(False, True, ...)``."""
    mask = _explicit_masks.get(nargs)
    if mask is None:
        mask = _explicit_masks.setdefault(nargs, (False,) + (True,) * nargs)
    return mask


def project_all(grads, args):
    """Project each gradient onto its argument (the API boundary)."""
    n = len(args)
    if len(grads) != n:
        raise ValueError(f"{len(grads)} gradients for {n} arguments")
    if n == 1:
        return (project(grads[0], args[0]),)
    return tuple(map(project, grads, args))  # lengths checked above


@registry.adjoint(project_all)
def project_all_rule(grads, args):
    def project_all_pullback(dd):
        return (dd, None)

    return project_all(grads, args), project_all_pullback


@forward_rule(project_all)
def project_all_jvp(args, targs):
    """Projection is linear in the gradients (the arguments give only shapes and dtypes)."""
    grads, xs = args
    tgrads = targs[0]
    return project_all(grads, xs), None if tgrads is None else project_all(tuple(tgrads), xs)


def seed_first(y, f):
    """The seed for a tuple output whose first element is the loss (auxiliary outputs get none)."""
    if not y:
        _non_scalar(y, f)
    return (sensitivity(y[0], f),) + (None,) * (len(y) - 1)


registry.nograd(seed_first, _is_params, explicit_mask)


_ONES = {np.float64: np.float64(1.0), np.float32: np.float32(1.0)}  # the seeds of NumPy scalar losses


def sensitivity(y, f=None):
    """The seed cotangent ``1`` for a real scalar output, else a NonScalarError."""
    if type(y) is float or type(y) is int:
        return 1.0
    one = _ONES.get(type(y))
    if one is not None:
        return one
    if isinstance(y, np.floating):
        return y.dtype.type(1)
    if isinstance(y, np.integer):
        return 1.0  # an integer-valued loss still has real derivatives
    if is_array(y) and y.ndim == 0 and y.dtype.kind in "fiu":
        xp = xp_of(y)
        return xp.ones((), dtype=y.dtype if y.dtype.kind == "f" else np.float64)
    if isinstance(y, float):
        return 1.0  # a float subclass: a real scalar (its arithmetic gives plain floats)
    _non_scalar(y, f)


def _non_scalar(y, f):
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
    raise errors.NonScalarError(
        errors.NON_SCALAR.format(call=_entry_point(), name=name, what=what, hint=hint)
    )


def _entry_point():
    """The function of fluxpy's API the user called that wants a real scalar: ``gradient`` (also for a
    gradient inside differentiated code), ``withgradient``, or ``hessian``/``hvp`` when that gradient is
    theirs (no user code between). Walks the stack: the error path only."""
    from . import derivatives
    from .transform.codegen import map_location

    api = {gradient.__code__, gradient_rule.__code__, gradient_jvp.__code__, implicit.__code__}
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
            if code is withgradient.__code__:
                return "withgradient"
            # gradient's code, or gradient_rule's differentiated (generated code mapped to this file)
            if code in api or (mapped is not None and file == _THIS_FILE):
                found = "gradient"
        elif not file.startswith(_PACKAGE_DIR):
            return found  # the user's code called gradient
        frame = frame.f_back
    return found or "gradient"


_THIS_FILE = os.path.abspath(__file__)
_PACKAGE_DIR = os.path.join(os.path.dirname(os.path.abspath(__file__)), "")


registry.nograd(sensitivity, _non_scalar, _entry_point)


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
                f"fx.adjoint(f) registers a rule for the function f, but it was given {_a_kind(p)} "
                f"({_short(p)}), which is not callable: write @fx.adjoint(f) above def f_rule(...)"
            )
    register = registry.adjoint(*primals)

    def adjoint_decorator(rule):
        if not callable(rule):
            raise errors.FluxpyError(
                f"fx.adjoint({_short(primals[0])}) returns a decorator, which takes the rule function, but "
                f"it was given {_a_kind(rule)} ({_short(rule)}). Write @fx.adjoint(f) above def f_rule(...) "
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
                f"fx.nograd(f) marks the function f non-differentiable, but it was given {_a_kind(f)} "
                f"({_short(f)}), which is not callable. To stop the gradient at a value, write fx.dropgrad(x)"
            )
        registry._refuse_ruled(f)  # here, so that its look at the caller sees the user's frame
    return registry.nograd(*fs)


def _short(value):
    text = getattr(value, "__qualname__", None) if callable(value) else None
    text = text or repr(value)
    return text if len(text) <= 60 else text[:57] + "..."


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
