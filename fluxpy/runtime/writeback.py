"""Arguments handed back: a call whose callee writes into an argument that the caller reads afterwards.

In differentiated code a write into a container rebinds the name to a new one, so the caller of
``bn_forward(x, bn_param)`` would not see ``bn_param['running_mean'] = ...``. The caller asks first
(``writeback_plan``) and, where the callee writes into one of those arguments, calls its write-back
variant, which returns ``(result, (final values))``, and rebinds its names to them (normalize/anf.py)::

    _wb = __fx_writeback_plan(bn_forward, (1,), (bn_param,))
    if _wb:
        _wbf = __fx_call(__fx_writeback_function, bn_forward, (1,), _wb)
        _wbr = __fx_call(_wbf, x, bn_param)
        out = __fx_call(__fx_op.getitem, _wbr, 0)
        _wbv = __fx_call(__fx_op.getitem, _wbr, 1)
        bn_param = __fx_call(__fx_op.getitem, _wbv, 0)
    else:
        out = __fx_call(bn_forward, x, bn_param)
        if _wb is not None:
            __fx_check_writes(bn_forward, (1,), ('bn_param',), (bn_param,))

The plan is None where nothing can be written (a rule, a builtin, a function that only reads those
arguments, numbers and tuples): the call runs as it is. It is False where the argument is an array (another
name may view its memory, which a rebinding would not update: the check after the call refuses a write, as
before) or where no variant can be made. Otherwise a flag per argument: 0 nothing handed back, 1 the
parameter's final value, 2 that of a list parameter copied first (transform/writeback.py).
"""

import os
from types import FunctionType, MethodType

from .. import errors
from ..backend import is_array
from ..rules import registry
from ..transform import writeback as variants
from .locations import user_location
from .method_kinds import class_function, method_kind

_ATOMS = frozenset({int, float, complex, bool, str, bytes, tuple, frozenset, type(None)})  # never written


def writeback_plan(f, positions, values):
    """For ``f(...)`` whose arguments at ``positions`` (``values``) the caller reads afterwards: None, False
    or the flags (see the module's docstring)."""
    if type(f) is FunctionType:
        return _plan(f, 0, positions, values)
    if type(f) is MethodType and type(f.__func__) is FunctionType:
        return _plan(f.__func__, 1, positions, values)
    return None


def writeback_method_plan(obj, name, positions, values):
    """:func:`writeback_plan` for ``obj.name(...)`` (a Python method of ``obj``'s class)."""
    func = getattr(type(obj), name, None)
    if type(func) is not FunctionType or variants.effects(func) is None:
        return None  # (the common case first: no Python method, or one that writes into no parameter)
    if method_kind(obj, name) != "method":
        return None
    return _plan(class_function(obj, name), 1, positions, values)


def _plan(func, shift, positions, values):
    found = variants.effects(func)
    if found is None or func in registry._rules or func in registry._nondiff:
        return None
    flags = tuple(_flag(func, found, p + shift, v) for p, v in zip(positions, values, strict=True))
    if not any(flags):
        return False if None in flags else None
    spec = _spec(positions, shift, flags)
    if None in flags or not variants.can_make(func, spec):
        return False
    return flags


def _flag(func, found, index, value):
    """0: nothing to hand back; None: an array (checked after the call); 1 or 2 (see the module)."""
    effect = found[index] if index < len(found) else None
    if effect is None or type(value) in _ATOMS:
        return 0
    if is_array(value):
        return None
    if effect.written_first:
        _refuse_written_then_rebound(func, index, effect.written_first)
    if effect.rebound or not all(hasattr(type(value), d) for d in effect.augmented):
        return 0  # (p = ..., or n += 1 on a number: the final p is not the caller's object)
    return 2 if effect.list_methods and type(value) is list else 1


def _refuse_written_then_rebound(func, index, line):
    param, file = func.__code__.co_varnames[index], os.path.basename(func.__code__.co_filename)
    raise errors.FluxpyError(
        f"{func.__qualname__} writes into its argument {param!r} ({file}:{line}) and then binds {param!r} "
        f"to another value, and the caller reads that argument after the call:\n  {user_location()}\n"
        "In Python the caller sees the write; fluxpy hands back a parameter's final value only, which is no "
        f"longer the caller's object. Write into a copy from the start (`{param} = dict({param})` or "
        f"`list({param})` first), or use another name for the new value."
    )


def _spec(positions, shift, flags):
    return tuple((p + shift, flag) for p, flag in zip(positions, flags, strict=True))


def writeback_function(f, positions, flags):
    """The write-back variant of ``f`` for ``flags`` (a bound method of it for a bound method ``f``)."""
    if type(f) is MethodType:
        return MethodType(variants.variant(f.__func__, _spec(positions, 1, flags)), f.__self__)
    return variants.variant(f, _spec(positions, 0, flags))


def writeback_method(obj, name, positions, flags):
    """The write-back variant of ``obj.name``, bound to ``obj``."""
    func = class_function(obj, name)
    return MethodType(variants.variant(func, _spec(positions, 1, flags)), obj)


# The variant is ``f`` with other returns: the cotangent (or tangent) of ``f`` (its closure, a bound
# method's object) is the variant's.
@registry.adjoint(writeback_function)
def writeback_function_rule(f, positions, flags):
    def writeback_function_pullback(dg):
        return (dg, None, None)

    return writeback_function(f, positions, flags), writeback_function_pullback


@registry.adjoint(writeback_method)
def writeback_method_rule(obj, name, positions, flags):
    def writeback_method_pullback(dg):
        return (dg, None, None, None)

    return writeback_method(obj, name, positions, flags), writeback_method_pullback


@registry.forward_rule(writeback_function)
def writeback_function_jvp(args, targs):
    return writeback_function(*args), targs[0]


@registry.forward_rule(writeback_method)
def writeback_method_jvp(args, targs):
    return writeback_method(*args), targs[0]


registry.on_change(variants.clear)
registry.nograd(writeback_plan, writeback_method_plan)
