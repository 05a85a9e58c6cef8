"""Arguments handed back: a call whose callee writes into an argument that the caller reads afterwards.

In differentiated code a write into a container rebinds the name to a new one, so the caller of
``bn_forward(x, bn_param)`` would not see ``bn_param['running_mean'] = ...``. The caller asks first
(``writeback_plan``) and, where the callee writes into one of those arguments, calls its write-back
variant, which returns ``(result, (final values))``, and rebinds its names to them (the generated form is
in normalize/anf_writeback.py's docstring).

The plan is None where nothing can be written (a rule, a builtin, a function that only reads those
arguments, numbers and tuples): the call runs as it is. It is False where the argument is an array (another
name may view its memory, which a rebinding would not update: the check after the call refuses a write, as
before) or where no variant can be made. Otherwise a flag per argument: 0 nothing handed back, 1 the
parameter's final value, 2 that of a list parameter copied first (transform/writeback.py).

A position is an int, or a str for an argument passed by keyword; a ``functools.partial`` of a Python
function is planned through it. The plan refuses what the rebinding would not show (``notes``, see
``_check_notes``: another name of the caller's holding the object, a ``try`` around a callee that raises),
and so does ``check_unreturned`` after a call whose argument is an item, an attribute or spread, and the
plan of a callee that passes its ``*args`` on to a writer (a decorator's wrapper).
"""

import ast
import functools
import os
import re
from types import FunctionType, MethodType

from .. import errors
from ..backend import is_array
from ..rules import registry
from ..transform import writeback as variants
from ..transform import writeback_variants
from .locations import user_location
from .method_kinds import class_function, method_kind
from .writes import _aliasing

_ATOMS = frozenset({int, float, complex, bool, str, bytes, tuple, frozenset, type(None)})  # never written


def writeback_plan(f, positions, values, notes=None):
    """For ``f(...)`` whose arguments at ``positions`` (``values``) the caller reads afterwards: None, False
    or the flags (see the module's docstring). A position is an int (by position) or a str (by keyword).
    ``notes``: what the caller knows that a rebinding cannot show (:func:`_check_notes`), or None."""
    if type(f) is FunctionType:
        return _plan(f, 0, positions, values, notes)
    if type(f) is MethodType and type(f.__func__) is FunctionType:
        return _plan(f.__func__, 1, positions, values, notes)
    if type(f) is functools.partial and type(f.func) is FunctionType:
        return _plan(f.func, len(f.args), positions, values, notes)
    return None


def writeback_method_plan(obj, name, positions, values, notes=None):
    """:func:`writeback_plan` for ``obj.name(...)`` (a Python method of ``obj``'s class)."""
    func = getattr(type(obj), name, None)
    if type(func) is not FunctionType or variants.effects(func) is None:
        return None  # (the common case first: no Python method, or one that writes into no parameter)
    if method_kind(obj, name) != "method":
        return None
    return _plan(class_function(obj, name), 1, positions, values, notes)


def _plan(func, shift, positions, values, notes):
    found = variants.effects(func)
    if found is None or func in registry._rules or func in registry._nondiff:
        return None
    indices = [variants.parameter_index(func, shift, p) for p in positions]
    flags = tuple(_flag(func, found, i, v) for i, v in zip(indices, values, strict=True))
    if notes is not None:
        _check_notes(func, found, indices, values, flags, notes)
        flags = tuple(
            0 if flag == 2 and note and note[2] else flag for flag, note in zip(flags, notes, strict=True)
        )
    if not any(flags):
        return False if None in flags else None
    spec = tuple(zip(indices, flags, strict=True))
    if None in flags or not writeback_variants.can_make(func, spec):
        return False
    return flags


def _flag(func, found, index, value):
    """0: nothing to hand back; None: an array (checked after the call); 1 or 2 (see the module)."""
    effect = found[index] if index is not None and index < len(found) else None
    if effect is None or type(value) in _ATOMS:
        return 0
    if is_array(value):
        return None
    code = func.__code__
    if index >= code.co_argcount + code.co_kwonlyargcount:
        _refuse_spread(func, code.co_varnames[index])
    if effect.written_first:
        _refuse_written_then_rebound(func, index, effect.written_first)
    if effect.rebound or not all(hasattr(type(value), d) for d in effect.augmented):
        return 0  # (p = ..., or n += 1 on a number: the final p is not the caller's object)
    return 2 if effect.list_methods and type(value) is list else 1


def _refuse_written_then_rebound(func, index, line):
    param, file = func.__code__.co_varnames[index], _where(func)[0]
    raise errors.FluxpyError(
        f"{_name(func)} writes into its argument {param!r} ({file}:{line}) and then binds {param!r} "
        f"to another value, and the caller reads that argument after the call:\n  {user_location()}\n"
        "In Python the caller sees the write; fluxpy hands back a parameter's final value only, which is no "
        f"longer the caller's object. Write into a copy from the start (`{param} = dict({param})` or "
        f"`list({param})` first), or use another name for the new value."
    )


def _refuse_spread(func, param):
    file, line = _where(func)
    raise errors.FluxpyError(
        f"{_name(func)} ({file}:{line}) passes its parameter {param!r} on (`fn(*{param})`, `fn(**{param})`) "
        "to a function that may write into its arguments, and the caller reads an argument that went into "
        f"{param!r} after the call:\n  {user_location()}\nIn Python the caller sees the write; fluxpy hands "
        "back an argument's new value only from a function that names it as a parameter. Call the function "
        "that writes directly (a decorator's wrapper: call the undecorated function, `f.__wrapped__`), or "
        "return the new value and rebind it."
    )


def check_unreturned(func, shift, position, text, value):
    """After a call whose argument ``text`` (``value``) reaches ``func``'s parameter where no rebinding of
    the caller's can show a write into it (by keyword to a function the caller did not look up, spread by
    ``*`` or ``**``, an attribute or an item, into ``*args``): refuse the call when ``func`` may write into
    that parameter (transform/writeback.py ``effects``). ``position``: an int or a keyword, ``"*N"`` (the
    items of ``value`` from position N on) or ``"**"`` (the items of the mapping ``value``)."""
    found = variants.effects(func)
    if found is None or func in registry._rules or func in registry._nondiff:
        return
    if position == "**" and isinstance(value, dict):
        pairs = [(k, v, f"{text} (its item {k!r})") for k, v in value.items()]
    elif isinstance(position, str) and position.startswith("*") and position != "**":
        start = int(position[1:])
        pairs = (
            [(start + j, v, f"{text} (its item {j})") for j, v in enumerate(value)]
            if type(value) in (tuple, list)
            else []
        )
    else:
        pairs = [(position, value, text)]
    for where, item, shown in pairs:
        index = variants.parameter_index(func, shift, where)
        effect = found[index] if index is not None and index < len(found) else None
        if effect is not None and type(item) not in _ATOMS:
            _refuse_unreturned(func, index, shown)


def _refuse_unreturned(func, index, text):
    code = func.__code__
    param, (file, line) = code.co_varnames[index], _where(func)
    if index >= code.co_argcount + code.co_kwonlyargcount:
        _refuse_spread(func, param)
    callee = _name(func).rpartition(".")[2]
    fix = f"`{text} = {callee}(...)` with `return {param}` at its end"
    if text.startswith("*"):  # (f(*args), f(**kw))
        fix = f"`{param} = {callee}({param}, ...)` with `return {param}` at its end, passing it by name"
    raise errors.FluxpyError(
        f"{_name(func)} ({file}:{line}) may write into its argument {param!r}, which the caller passes as "
        f"`{text}`:\n  {user_location()}\nIn Python the write shows in the caller's object; in "
        "differentiated code it goes to a copy, and fluxpy hands the new value back only to a local name "
        f"passed as it is (`{callee}(d, x)` or `{callee}(x, d=d)`). Pass it so, or return the new value and "
        f"store it: {fix}."
    )


def _check_notes(func, found, indices, values, flags, notes):
    """Refuse what the caller's rebinding would not show: ``notes`` holds, per argument, None or a tuple
    ``(others, try_line, inside)``: ``others`` the caller's other names (with a line that shows it) that
    hold the argument or are held by it and are read after the call, ``(name, line, value)``; ``try_line``
    the line of the ``try`` the call is in (0: none); ``inside``: the argument is read in the call's
    statement only (a list changed by its methods is then changed in place by the call as it is)."""
    for index, value, flag, note in zip(indices, values, flags, notes, strict=True):
        if note is None or not flag:
            continue
        others, try_line, _ = note
        effect = found[index]
        for name, line, other in others:
            if other is not value and type(other) in _ATOMS:
                continue
            if (
                _aliasing(value, other, 3) is not None
                or effect.item_augmented
                and _holds_mutable(value, other)
            ):
                _refuse_shared(func, index, name, line)
        if try_line and _raises(func):
            _refuse_in_try(func, index, try_line)


def _holds_mutable(container, other):
    """Whether ``container`` holds ``other`` (an array or a list that ``x[k] += v`` changes in place)."""
    if not (is_array(other) or isinstance(other, (list, dict, set))):
        return False
    items = container.values() if isinstance(container, dict) else container
    try:
        return any(item is other for item in items)
    except TypeError:
        return False


def _refuse_shared(func, index, other, line):
    param, (file, first) = func.__code__.co_varnames[index], _where(func)
    shown = f" (line {line})" if line else ""
    raise errors.FluxpyError(
        f"{_name(func)} ({file}:{first}) writes into its argument {param!r}, and the caller reaches that "
        f"object (or an array or list in it) another way too, through {other!r}{shown}, which it reads "
        f"after the call:\n  {user_location()}\nIn Python the write shows through {other!r}; fluxpy hands "
        f"the new value back to the name passed only, and {other!r} keeps the old one. Read it through the "
        "name passed, or store a copy in the other place (`[d.copy()]`, `{'a': w.copy()}`)."
    )


def _refuse_in_try(func, index, line):
    param, (file, first) = func.__code__.co_varnames[index], _where(func)
    raise errors.FluxpyError(
        f"{_name(func)} ({file}:{first}) writes into its argument {param!r} and may raise, and the caller "
        f"calls it inside a `try` (line {line}):\n  {user_location()}\nIn Python a write made before the "
        "exception stays; fluxpy hands the new value back only when the function returns, so the caller "
        "would read the old one after catching it. Call it outside the `try`, or have it raise before "
        "writing."
    )


_raising = {}  # code object -> whether its body has a raise statement


def _raises(func):
    code = func.__code__
    if code not in _raising:
        node = variants._def_node(func)
        _raising[code] = node is None or any(isinstance(x, ast.Raise) for x in variants._scope_nodes(node))
    return _raising[code]


def _where(func):
    """The user's file (its base name) and line of ``func``'s def (a closure in generated code mapped
    back)."""
    from ..transform.codegen import map_location

    code = func.__code__
    file, line = map_location(code.co_filename, code.co_firstlineno) or (
        code.co_filename,
        code.co_firstlineno,
    )
    return os.path.basename(file), line


def _name(func):
    """``func``'s qualified name as the user wrote it (a closure in generated code: ``f.<locals>.put``)."""
    return user_qualname(func.__qualname__)


def user_qualname(qualname):
    """The user's qualified name for the qualified name of a function that generated code defined."""
    qualname = qualname.rpartition("__fx_factory.<locals>.")[2]
    return re.sub(r"__(forward|gradient|jvp|partial)\.<locals>\.", ".<locals>.", qualname)


def _spec(func, shift, positions, flags):
    indices = (variants.parameter_index(func, shift, p) for p in positions)
    return tuple(zip(indices, flags, strict=True))


def writeback_function(f, positions, flags):
    """The write-back variant of ``f`` for ``flags`` (a bound method of it for a bound method ``f``, a
    partial of it for a partial)."""
    if type(f) is MethodType:
        return MethodType(
            writeback_variants.variant(f.__func__, _spec(f.__func__, 1, positions, flags)), f.__self__
        )
    if type(f) is functools.partial:
        spec = _spec(f.func, len(f.args), positions, flags)
        return functools.partial(writeback_variants.variant(f.func, spec), *f.args, **f.keywords)
    return writeback_variants.variant(f, _spec(f, 0, positions, flags))


def writeback_method(obj, name, positions, flags):
    """The write-back variant of ``obj.name``, bound to ``obj``."""
    func = class_function(obj, name)
    return MethodType(writeback_variants.variant(func, _spec(func, 1, positions, flags)), obj)


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
