"""The rule registry: primal callables mapped to rules, plus the non-differentiable set.

A *rule* is plain Python: ``rule(*args, **kwargs) -> (y, back)`` where ``back(dy)`` returns a tuple with
one cotangent per positional argument (``None`` for no gradient). Keyword arguments get no gradient.
``back`` is written with differentiable operations only, so the transformer can differentiate it again
(gradient of gradient). The registry has a ``version`` that is part of every cache key: a rule registered
after a first gradient takes effect with no refresh call.

>>> import math
>>> def my_sin(x):
...     return math.sin(x)
>>> @adjoint(my_sin)
... def my_sin_rule(x):
...     def my_sin_pullback(dy):
...         return (dy * math.cos(x),)
...     return my_sin(x), my_sin_pullback
>>> lookup(my_sin) is my_sin_rule
True
"""

import threading
from types import BuiltinMethodType, FunctionType, ModuleType

_lock = threading.Lock()
_rules = {}  # primal -> rule
_method_rules = {}  # method name -> rule(self, *args) for array receivers (ndarray, NumPy scalars, CuPy)
_container_rules = {}  # (dict/list/tuple, method name) -> rule(self, *args)
_attribute_rules = {}  # attribute name -> rule(self) for array receivers (x.T, x.real, ...)
_nondiff = {}  # primal -> True: its result carries no gradient
_state = {"version": 0}
_origins = {}  # primal -> module that registered it (to catch two modules claiming one primal)
_conflicts = []


def version():
    """The registry version: bumped by every registration."""
    return _state["version"]


_listeners = []  # called after every registration (caches that depend on the registry)


def on_change(callback):
    """Call ``callback()`` after every registration (to drop caches derived from the registry)."""
    _listeners.append(callback)


def _bump():
    _state["version"] += 1
    for callback in _listeners:
        callback()


def _key(f):
    try:
        hash(f)
        return f
    except TypeError:
        return id(f)


def register(primal, rule):
    """Register ``rule`` as the rule of ``primal`` (replacing any previous one)."""
    with _lock:
        key = _key(primal)
        _note_origin(key, primal, getattr(rule, "__module__", None))
        _rules[key] = rule
        _nondiff.pop(key, None)
        _bump()
    return rule


def _note_origin(key, primal, module):
    previous = _origins.get(key)
    # a user's rule replacing fluxpy's is an override; two fluxpy modules claiming one primal is a bug
    ours = previous is not None and module is not None and previous.startswith("fluxpy.")
    if ours and previous != module and module.startswith("fluxpy."):
        _conflicts.append((primal, previous, module))
    if module is not None:
        _origins[key] = module


def conflicts():
    """``(primal, first module, second module)`` for primals that two fluxpy modules registered."""
    return list(_conflicts)


def adjoint(*primals):
    """Decorator: register the decorated ``rule(*args) -> (y, back)`` for each of ``primals``.

    ``back(dy)`` returns a tuple with one entry per positional argument (``None`` = no gradient).
    """

    def decorate(rule):
        for p in primals:
            register(p, rule)
        return rule

    return decorate


def partial_of(rule):
    """Decorator: the decorated ``partial(mask, *args) -> (y, back)`` is the form of ``rule`` for callers
    that want only some cotangents: ``mask`` holds one bool per positional argument, and ``back`` may give
    ``None`` (computing nothing) where it is False. Generated code calls it where its activity analysis
    proves an operand constant (a data batch in ``x @ W``)."""

    def decorate(partial):
        with _lock:
            rule.partial = partial
            _bump()
        return partial

    return decorate


def register_method(names, rule):
    """Register ``rule(self, *args, **kw)`` for array methods called ``names`` (``x.sum(...)``)."""
    import numpy as np

    with _lock:
        for name in (names,) if isinstance(names, str) else names:
            _method_rules[name] = rule
            descriptor = getattr(np.ndarray, name, None)
            if descriptor is not None:
                _rules[_key(descriptor)] = rule  # np.ndarray.sum(x) takes the same rule
        _bump()
    return rule


def register_container_method(kind, names, rule):
    """Register ``rule(self, *args)`` for methods called ``names`` of a builtin container type ``kind``
    (``dict.get``, ``dict.items``, ...)."""
    with _lock:
        for name in (names,) if isinstance(names, str) else names:
            _container_rules[(kind, name)] = rule
            _rules[_key(getattr(kind, name))] = rule
        _bump()
    return rule


def lookup_container_method(kind, name):
    """The rule for method ``name`` of builtin container type ``kind`` (or of a subclass), or ``None``."""
    rule = _container_rules.get((kind, name))
    if rule is None and kind not in (dict, list, tuple):
        for base in (dict, list, tuple):
            inherited = getattr(kind, name, None) is getattr(base, name, None)  # not overridden
            if issubclass(kind, base) and base is not kind and inherited:
                return _container_rules.get((base, name))
    return rule


def register_attribute(names, rule):
    """Register ``rule(self)`` for array attributes called ``names`` (``x.T``)."""
    with _lock:
        for name in (names,) if isinstance(names, str) else names:
            _attribute_rules[name] = rule
        _bump()
    return rule


def nograd(*fs):
    """Mark callables as non-differentiable: their results carry no gradient. Returns the first.

    Usable as a decorator (``@fx.nograd``) or a call (``fx.nograd(np.argmax)``).
    """
    for f in fs:
        _refuse_ruled(f)
    with _lock:
        for f in fs:
            _nondiff[_key(f)] = True
            _rules.pop(_key(f), None)
            if type(f) is FunctionType:
                NONDIFF_CODES.add(f.__code__)
        _bump()
    return fs[0] if fs else None


def _refuse_ruled(f):
    """A FluxpyError for ``nograd(f)`` from outside fluxpy when fluxpy has a derivative rule for ``f``
    (``fx.nograd(np.sum)``): the mark is global, and every ``np.sum`` in the program would lose its
    gradient, while the caller most likely wanted one value without its gradient (``fx.dropgrad``)."""
    key = _key(f)
    origin = _origins.get(key, "") if key in _rules else ""
    if not origin.startswith("fluxpy."):
        return
    import sys

    frame = sys._getframe(2)
    while frame is not None and frame.f_globals.get("__name__", "").startswith("fluxpy.runtime"):
        frame = frame.f_back  # fluxpy calling nograd on behalf of differentiated code
    caller = frame.f_globals.get("__name__", "") if frame is not None else ""
    if caller.startswith("fluxpy.") or caller == "fluxpy":
        return
    from ..errors import FluxpyError

    name = getattr(f, "__qualname__", None) or repr(f)
    module = getattr(f, "__module__", None) or ""
    if module == "numpy" or module.startswith("numpy."):
        name = f"np{module[5:]}.{name}"
    elif module and module != "builtins":
        name = f"{module}.{name}"
    raise FluxpyError(
        f"fx.nograd({name}): {name} has a derivative rule, and nograd marks it non-differentiable everywhere "
        f"in the program, not only here. To use one value without its gradient, write "
        f"fx.dropgrad({name}(...)) (a constant at every order)."
    )


NONDIFF_CODES = set()  # the code of Python functions marked nograd: they run plainly (layers/normalise.py)


_forward_rules = {}  # primal -> jvp_rule(args, targs) -> (y, ty): forward mode's fast path


def forward_rule(*primals):
    """Decorator: register ``jvp_rule(args, targs) -> (y, ty)`` as the forward rule of ``primals``
    (optional: forward mode otherwise transposes the reverse rule)."""

    import numpy as np

    def decorate(rule):
        with _lock:
            for p in primals:
                _forward_rules[_key(p)] = _outputs_refused(rule, p) if isinstance(p, np.ufunc) else rule
            _bump()
        return rule

    return decorate


def _outputs_refused(rule, ufunc):
    """The forward rule ``rule`` of ``ufunc``, refusing an output array passed by position
    (``np.negative(x, x)``) as reverse mode and ``out=`` do (the rules compute a new array instead), and
    reading a user object through its Python ``__array__`` (:func:`_unusual_jvp`)."""
    nin = ufunc.nin
    plain = _plain_operands()
    if getattr(rule, "takes_keywords", False):

        def ufunc_keywords_jvp(args, targs, kwargs, tkwargs):
            if len(args) > nin:
                _refuse_positional_out(ufunc)
            for a in args:
                if type(a) not in plain:
                    return _unusual_jvp(rule, ufunc, args, targs, kwargs, tkwargs)
            return rule(args, targs, kwargs, tkwargs)

        checked = ufunc_keywords_jvp
    else:

        def ufunc_jvp(args, targs):
            if len(args) > nin:
                _refuse_positional_out(ufunc)
            for a in args:
                if type(a) not in plain:
                    return _unusual_jvp(rule, ufunc, args, targs, None, None)
            return rule(args, targs)

        checked = ufunc_jvp
    checked.__dict__.update(rule.__dict__)  # takes_keywords, makes_container
    checked.__name__ = getattr(rule, "__name__", checked.__name__)
    return checked


def _plain_operands():
    """The operand types a ufunc's forward rule takes as they are: numbers, arrays, lists and tuples."""
    import numpy as np

    return frozenset(
        {float, int, bool, complex, list, tuple, type(None), np.ndarray}
        | {np.float64, np.float32, np.float16, np.int64, np.int32, np.bool_, np.complex128, np.complex64}
    )


def _unusual_jvp(rule, ufunc, args, targs, kwargs, tkwargs):
    """A ufunc's forward rule given another operand: a user object read through its Python ``__array__``
    follows the reverse rule, transposed (which reads it through that method: rules/helpers.py); anything
    else goes to ``rule``."""
    from .helpers import _array_objects

    if _array_objects(args) is not None:
        from ..forward import derived_jvp

        return derived_jvp(ufunc, None, args, targs, kwargs or {}, tkwargs or {})
    if kwargs is None:
        return rule(args, targs)
    return rule(args, targs, kwargs, tkwargs)


def _refuse_positional_out(ufunc):
    from ..runtime import check_no_out

    check_no_out(ufunc, positional=True)


def lookup_forward(f):
    """The forward rule of ``f`` (or of the NumPy function CuPy's ``f`` implements), or ``None``."""
    try:
        rule = _forward_rules.get(f)
    except TypeError:
        return None
    if rule is None and _is_device_callable(f):
        return _forward_rules.get(host_counterpart(f))
    return rule


def lookup(f):
    """The rule registered for ``f`` (or for the NumPy function CuPy's ``f`` implements), or ``None``."""
    try:
        rule = _rules.get(f)
    except TypeError:
        return _rules.get(id(f))
    if rule is None and _is_device_callable(f):
        return _device_rule(f)
    return rule


# ---------------------------------------------------------------------------------------------------------
# CuPy's functions take NumPy's rules


_counterparts = {}  # CuPy callable -> the NumPy callable it implements (None: none)
_device_rules = {}  # constructor name -> make(f): the rule of CuPy's constructor f
_made = {}  # CuPy constructor -> its rule, made once (runtime caches adapters by rule)


def device_rule(*names):
    """Decorator: ``make(f)`` gives the rule of CuPy's function ``f`` named one of ``names``, for functions
    whose result lives where the callee puts it (``cupy.asarray(host)`` is a device array), which NumPy's
    rule, computing with NumPy, cannot give. Other CuPy functions take NumPy's rule
    (:func:`host_counterpart`)."""

    def decorate(make):
        with _lock:
            for name in names:
                _device_rules[name] = make
            _made.clear()
            _bump()
        return make

    return decorate


def _device_rule(f):
    try:
        return _made[f]
    except KeyError:
        pass
    except TypeError:
        return None
    make = _device_rules.get(getattr(f, "__name__", None))
    counterpart = host_counterpart(f)
    if make is not None and counterpart is not None:
        rule = _made[f] = make(f)
        return rule
    return _rules.get(counterpart)


def _is_device_callable(f):
    module = getattr(f, "__module__", None)
    return type(module) is str and module.startswith("cupy")


def host_counterpart(f):
    """The NumPy callable that CuPy callable ``f`` implements (``cupy.sum`` -> ``np.sum``, ``cupy.linalg.inv``
    -> ``np.linalg.inv``), or ``None``. Rules are registered for NumPy's functions and written for both
    array modules (``xp_of``), so code that calls ``xp.sum(x)`` with ``xp`` CuPy (a layer, or a pullback
    differentiated again) takes ``np.sum``'s rule instead of having CuPy's own source transformed."""
    try:
        return _counterparts[f]
    except KeyError:
        pass
    except TypeError:
        return None
    counterpart = _counterparts[f] = _numpy_namesake(f.__module__, getattr(f, "__name__", None))
    return counterpart


def _numpy_namesake(module, name):
    """NumPy's callable ``name`` in the namespace of CuPy module path ``module``, or in a namespace above it:
    ``cupy.linalg._norms`` gives ``np.linalg.norm``, ``cupy.linalg._einsum`` ``np.einsum`` (CuPy defines
    it there), ``cupy._core._kernel`` (the ufuncs) ``np.sin``."""
    import numpy as np

    parts = [p for p in module.split(".")[1:] if not p.startswith("_")]
    for depth in range(len(parts), -1, -1):
        namespace = np
        for part in parts[:depth]:
            namespace = getattr(namespace, part, None)
        found = getattr(namespace, name, None) if isinstance(name, str) and namespace is not None else None
        if callable(found) and not isinstance(found, type):
            return found
    return None


def lookup_method(name):
    """The rule for array method ``name``, or ``None``."""
    return _method_rules.get(name)


def lookup_attribute(name):
    """The rule for array attribute ``name``, or ``None``."""
    return _attribute_rules.get(name)


def is_nondiff(f):
    """True when ``f`` (or the NumPy function CuPy's ``f`` implements) was marked non-differentiable."""
    try:
        if f in _nondiff:
            return True
    except TypeError:
        return id(f) in _nondiff
    if type(f) is BuiltinMethodType and _method_descriptor(f) in _nondiff:
        return True  # ``rng.standard_normal``: the method of its class was marked
    return _is_device_callable(f) and host_counterpart(f) in _nondiff


def _method_descriptor(f):
    """The class attribute a bound C method comes from (``np.random.Generator.standard_normal`` for
    ``rng.standard_normal``), or None for a module's function."""
    owner = getattr(f, "__self__", None)
    if owner is None or isinstance(owner, ModuleType):
        return None
    descriptor = getattr(type(owner), f.__name__, None)
    try:
        hash(descriptor)
    except TypeError:
        return None
    return descriptor


def registered():
    """A snapshot of the registered primals (for coverage reports)."""
    return dict(_rules), set(_nondiff)


# the lookups are bookkeeping: rules call them, and nothing differentiable passes through; the
# registration functions too, when a differentiated function calls them (``record = fx.nograd(log.append)``)
nograd(
    nograd,
    adjoint,
    forward_rule,
    partial_of,
    register,
    register_method,
    register_attribute,
    lookup,
    lookup_method,
    lookup_attribute,
    lookup_container_method,
    lookup_forward,
    is_nondiff,
    version,
    host_counterpart,
)
