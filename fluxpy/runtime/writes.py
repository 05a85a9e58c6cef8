"""Writes into arguments that differentiated code cannot show the caller, refused with a FluxpyError.

fluxpy writes into a copy where Python writes in place (earlier pullbacks keep the values they saw), so a
write the caller (or another name for the same memory) would read afterwards is refused: a Python callee
writing into its argument (``check_writes``), a parameter written while another name shares it
(``check_param_aliases``), an output array (``out=``, ``check_no_out``). ``owned_view`` says when a
parameter's view is the function's own to copy.
"""

import functools
import inspect
import linecache
import os
import sys
from types import FunctionType, MethodType, ModuleType

import numpy as np

from .. import errors
from ..backend import is_array
from ..rules import registry
from .locations import _PACKAGE_DIR, user_location
from .method_kinds import class_function, method_kind

_param_writes = {}  # code object -> {position of a parameter its function writes into: how (check_writes)}


def check_writes(f, positions, names, values):
    """After ``f(a, b)`` as a statement whose caller reads ``a`` or ``b`` later (``positions``, ``names``,
    ``values``): refuse a Python ``f`` that writes into those arguments (``x[i] = v``, or ``x += v`` on an
    array or a list). In differentiated code the write goes to a copy (earlier pullbacks keep the old
    values), so the caller would read the unchanged array, unlike plain Python."""
    func, shift = f, 0
    if type(f) is MethodType:
        func, shift = f.__func__, 1
    elif type(f) is functools.partial:
        func, shift = f.func, len(f.args)
        if type(func) is MethodType:
            func, shift = func.__func__, shift + 1
    elif type(f) is not FunctionType and not isinstance(f, type):
        func, shift = getattr(type(f), "__call__", None), 1  # noqa: B004
    _check_param_writes(func, shift, positions, names, values)


def check_method_writes(obj, method, positions, names, values):
    """:func:`check_writes` for ``obj.method(a, b)`` as a statement (``obj`` itself is position 0)."""
    if method_kind(obj, method) == "method":
        _check_param_writes(class_function(obj, method), 1, positions, names, values)


def _check_param_writes(func, shift, positions, names, values):
    code = getattr(func, "__code__", None)
    if code is None or type(func) is not FunctionType:
        return
    written = _param_writes.get(code) or {}
    for position, name, value in zip(positions, names, values, strict=True):
        if type(position) is int and position + shift in written:
            in_place = written[position + shift]  # None: x[i] = v; else the dunders of x += v
            if in_place is None or any(hasattr(type(value), d) for d in in_place):
                _refuse_write(func, position + shift, name)
        elif type(position) is not int or position + shift >= code.co_argcount:
            from .writeback import check_unreturned  # (by keyword, spread, or into *args)

            check_unreturned(func, shift, position, name, value)


def check_repeated_item(container, index):
    """Before ``lst[i] op= v`` (``d[k] op= v``): refuse where the item is an array, a list, a dict or a set
    that the container also holds at another index (``buf = [np.zeros(2)] * 3``): Python changes the one
    object in place, and every slot shows it; fluxpy's ``op=`` makes a new value for slot ``i`` only."""
    kind = type(container)
    if kind is not list and kind is not dict:
        return
    try:
        item = container[index]
    except (IndexError, KeyError, TypeError):
        return
    if not (is_array(item) or isinstance(item, (list, dict, set))):
        return
    items = container.items() if kind is dict else enumerate(container)
    for other, value in items:
        if value is item and other != index and not (kind is list and other == index % len(container)):
            raise errors.FluxpyError(
                f"`x[{index!r}] op= v` changes, in Python, the {type(item).__name__} that the "
                f"{kind.__name__} also holds at [{other!r}] (one object in several slots, as "
                f"`[np.zeros(2)] * 3` makes):\n  {user_location()}\nfluxpy's `op=` gives slot {index!r} "
                "a new value and the other slots keep the old one. Make one object per slot "
                "(`[np.zeros(2) for _ in range(3)]`), or write `x[i] = x[i] + v`."
            )


def _refuse_write(func, position, name):
    from .writeback import _name, _where

    param, (file, line) = func.__code__.co_varnames[position], _where(func)
    raise errors.FluxpyError(
        f"{_name(func)} writes into its argument {param!r} in place "
        f"({file}:{line}), and the caller reads {name!r} after "
        f"the call:\n  {user_location()}\nIn differentiated code that write goes to a copy (the values "
        "earlier pullbacks saw stay unchanged), so the caller would not see it. Return the new value and "
        f"rebind it instead: `{name} = {func.__name__}(...)` with `return {param}` at its end."
    )


def owned_view(x, name, globals_read=None, item=False):
    """Whether parameter ``name`` (value ``x``) of the differentiated function that calls this (its first
    statements; the function does ``x op= v``) is an array viewing another one that only the user's code
    around ``fx.gradient`` (``pullback``, ``jvp``, ...) can see: ``fx.gradient(f, data[0])``. fluxpy never
    writes into the caller's arrays, so the function may work on a copy of its own (normalize/parameters.py)
    and ``x op= v`` need not be refused as a write into a view (rules/mutation.check_in_place_view). Not when
    differentiated code made the call (it may read the array viewed afterwards, where Python shows the write),
    or when another parameter, a global or a captured variable of the function shares memory with ``x``.
    ``globals_read``: the globals the function reads after its write (None: every global it names).
    ``item``: the function writes ``x[i] = v``, which is refused where differentiated code passed a view
    of an array that is still in use (``helper(B[:2])``: Python writes into ``B``), as ``x op= v`` is
    (rules/mutation.check_in_place_view)."""
    if getattr(x, "base", None) is None or not is_array(x):
        return False
    frame = sys._getframe(1)
    while frame is not None and not frame.f_code.co_filename.startswith("<fluxpy"):
        frame = frame.f_back  # (through the dispatch, if the call went through it)
    if frame is None:
        return False
    caller = frame.f_back
    while caller is not None:
        file = caller.f_code.co_filename
        if file.startswith("<fluxpy"):
            if item and sys.getrefcount(x.base) > 3:  # (x.base, the argument, and another: still in use)
                _refuse_view_item_write(frame, name)
            return False  # differentiated code passed the view
        if not file.startswith(_PACKAGE_DIR):
            break  # the user's code (fluxpy's own frames in between: interface, testing, ...)
        caller = caller.f_back
    others = [v for k, v in frame.f_locals.items() if k != name]
    g = frame.f_globals
    names = frame.f_code.co_names if globals_read is None else globals_read
    others += [g[k] for k in names if k in g and not isinstance(g[k], ModuleType)]
    return not any(_shares_memory(x, v, 3) for v in others)


def _refuse_view_item_write(frame, name):
    raise errors.FluxpyError(
        f"{frame.f_code.co_name.removesuffix('__forward')} writes into its parameter {name!r} in place "
        f"(`{name}[...] = ...`), and the caller passed a view of another array that is still in use "
        f"(`f(B[:2])`, `f(B.T)`):\n  {user_location()}\nIn Python the write would show in that array, while "
        "fluxpy writes into a copy of the view. Pass a copy (`f(B[:2].copy())`), or return the new value "
        "and assign it into the array (`B[:2] = f(B[:2])`)."
    )


def _shares_memory(x, v, depth):
    """Whether ``v`` (an array, or a container or object holding one, ``depth`` levels down) may share
    memory with the array ``x``."""
    if is_array(v):
        if isinstance(x, np.ndarray) and isinstance(v, np.ndarray):
            if not np.may_share_memory(x, v):
                return False
            try:  # (interleaved slices: the bounds overlap, the cells do not; exponential at worst)
                return bool(np.shares_memory(x, v, max_work=100_000))
            except np.exceptions.TooHardError:
                return True
        return _root(x) is _root(v)
    if depth == 0 or isinstance(v, (str, bytes, int, float, complex, type, FunctionType, ModuleType)):
        return False
    items = _held(v)
    if len(items) > 10_000:
        return True  # (not worth the look: the function keeps the view, and x op= v is refused on it)
    return any(_shares_memory(x, item, depth - 1) for item in items)


def _held(v):
    """What container or object ``v`` holds: a dict's values, a list's items, an object's fields (its
    ``__dict__`` and its ``__slots__``)."""
    if isinstance(v, dict):
        return list(v.values())
    if isinstance(v, (list, tuple, set, frozenset)):
        return list(v)
    items = list(getattr(v, "__dict__", {}).values())
    for cls in type(v).__mro__:
        slots = cls.__dict__.get("__slots__", ())
        for slot in (slots,) if isinstance(slots, str) else slots:
            if slot not in ("__dict__", "__weakref__"):
                if slot.startswith("__") and not slot.endswith("__"):
                    slot = f"_{cls.__name__.lstrip('_')}{slot}"  # (a private slot's mangled name)
                try:
                    items.append(getattr(v, slot))
                except Exception:  # noqa: BLE001 (an unset slot, a descriptor that raises)
                    pass
    return items


def _root(a):
    while getattr(a, "base", None) is not None:
        a = a.base
    return a


ALIASED_PARAMETER = (
    "{function} writes into its parameter {name!r} ({file}:{line}{source}) while {other!r}, {kind} it reads "
    "afterwards, {how}: in Python the write would show through {other!r}, while fluxpy writes into a new "
    "copy of {name!r} and {other!r} keeps the old values.\n  {where}\nPass a copy "
    "(`{function}({name}.copy(), ...)`), or make {name!r} {function}'s own first: `{name} = {name}.copy()`."
)


_ATOMS = frozenset({float, int, bool, complex, str, type(None)})  # values that hold nothing


def check_param_aliases(x, name, others, names, global_names, where, arrays_only):
    """Refuse a call of a differentiated function that writes into its parameter ``name`` (value ``x``) in
    place (``x[i] = v``, ``x op= v``; ``arrays_only``: only ``x.sort()``, ``out=x``, which run on a copy of
    an array and in place on a list) while another name it reads afterwards (``others``, the values of the
    parameters and captured variables ``names``; the globals ``global_names``) is ``x``, shares memory with
    it or holds it: Python shows the write through that name, fluxpy's write goes to a copy. Numbers and
    tuples are rebound by Python too, and pass. ``where``: ``(function, file, line)`` of the first write.
    Generated code calls it first thing (normalize/parameter_aliases.py)."""
    if not is_array(x) and (arrays_only or not isinstance(x, (list, dict, set, bytearray))):
        return
    owner = type(x) is np.ndarray and x.base is None
    for other, value in zip(names, others, strict=True):
        kind = type(value)
        if kind in _ATOMS or (owner and kind is np.ndarray and value is not x and value.base is None):
            continue  # (two arrays that own their data share none)
        how = _aliasing(x, value, 3)
        if how is not None:
            _refuse_aliased_param(x, name, other, how, where, None)
    if global_names:
        frame = sys._getframe(1)
        namespace = frame.f_globals
        for other in global_names:
            value = namespace.get(other, namespace)  # (not defined yet: nothing to share)
            how = None if value is namespace else _aliasing(x, value, 3)
            if how is not None:
                _refuse_aliased_param(x, name, other, how, where, "a global")


def _aliasing(x, v, depth):
    """How ``v`` shows a write into ``x`` (a phrase), or None: ``v`` is ``x``, an array sharing memory with
    the array ``x``, or a container or object holding one ``depth`` levels down (10,000 items at most)."""
    if v is x:
        return f"is the same {'array' if is_array(x) else type(x).__name__}"
    if is_array(v):
        if not is_array(x) or not _shares_memory(x, v, 0):  # (the cells, not only the bounds)
            return None
        return "shares memory with it"
    if depth == 0 or isinstance(v, (str, bytes, int, float, complex, type, FunctionType, ModuleType)):
        return None
    items = _held(v)
    if len(items) > 10_000:
        return None
    for item in items:
        if _aliasing(x, item, depth - 1) is not None:
            return "holds it"
    return None


def _refuse_aliased_param(x, name, other, how, where, kind):
    function, file, line = where
    if kind is None:  # a parameter of the generated function that called the check, or a captured variable
        frame = sys._getframe(2)
        code = frame.f_code
        extra = bool(code.co_flags & inspect.CO_VARARGS) + bool(code.co_flags & inspect.CO_VARKEYWORDS)
        params = code.co_varnames[: code.co_argcount + code.co_kwonlyargcount + extra]
        kind = "a parameter" if other in params else "a captured variable"
    source = linecache.getline(file, line).strip()
    raise errors.FluxpyError(
        ALIASED_PARAMETER.format(
            function=function,
            name=name,
            file=os.path.basename(file),
            line=line,
            source=f": `{source}`" if source else "",
            other=other,
            kind=kind,
            how=how,
            where=user_location(),
        )
    )


def check_no_out(f, positional=False):
    """``out=`` writes a result into an existing array: refused, as other in-place changes. ``positional``:
    a ufunc's output passed by position (``np.negative(x, x)``, ``np.add(a, b, out)``), refused alike."""
    name = getattr(f, "__name__", repr(f))
    call = f"{name}(..., out) (an output array passed by position)" if positional else f"{name}(..., out=...)"
    raise errors.in_place_error(call, "array", user_location())


_out_positions = {}  # a NumPy function -> the position of its ``out`` parameter, or None


def check_no_positional_out(f, args):
    """A NumPy function's output array passed by position (``np.clip(x, 0, 1, buf)``, ``np.dot(a, b, out)``):
    refused as ``out=`` is (:func:`check_no_out`). Ufuncs are refused by their own rules."""
    try:
        position = _out_positions[f]
    except KeyError:
        from ..rules.helpers import out_position

        position = _out_positions.setdefault(f, out_position(f))
    except TypeError:  # unhashable: not a NumPy function
        return
    if position is not None and len(args) > position and args[position] is not None:
        check_no_out(f, positional=True)


registry.nograd(check_repeated_item)
registry.nograd(
    check_writes, owned_view, check_param_aliases, check_method_writes, check_no_out, check_no_positional_out
)
