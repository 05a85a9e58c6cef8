"""Write-back variants: a callee that also returns the final values of the parameters it writes into.

In differentiated code ``d[k] = v`` rebinds ``d`` to a new dict, so a callee's write into its parameter is
not seen by the caller that passed ``d``. The caller hands its arguments back instead (normalize/anf.py,
runtime/writeback.py): ``y = f(x, d)`` runs the variant of ``f`` whose every ``return e`` is
``return (e), (None, d)`` (one entry per argument the caller reads afterwards, ``None`` where none is
handed back) and rebinds ``d`` to what comes back. The variant is a plain Python function made from
``f``'s source, with ``f``'s globals, closure and defaults, so the transformer differentiates it like any
other, to any order.

Before (``f``, handing back its second argument)::

    def bn_forward(x, bn_param):
        out = x - np.mean(x)
        bn_param['running_mean'] = 0.9 * bn_param['running_mean'] + 0.1 * np.mean(x)
        return out

After (the variant's text: its lines where ``f``'s are, in a file of its own registered in linecache)::

    def bn_forward(x, bn_param):
        out = x - np.mean(x)
        bn_param['running_mean'] = 0.9 * bn_param['running_mean'] + 0.1 * np.mean(x)
        return (out), (None, bn_param,)
        return None, (None, bn_param,)

A list parameter that the function changes through list methods (``buf.append(v)``) is renamed and
copied first (``buf = list(_fx_arg_buf)``, on a line of its own before the body), so that those calls
become rebindings as on a list the function built (item_targets.local_lists).

The variant's text is made by transform/writeback_variants.py. ``effects(func)`` says which parameters a
function may write into: directly (``p[k] = v``, ``p op= v``,
a mutating method) or by passing it on to a callee that does (followed through its globals and closure;
a callee that cannot be looked up counts as one that may).
"""

import ast
import functools
import os
from dataclasses import dataclass
from types import FunctionType, MethodType, ModuleType

from .. import errors
from . import source

_MUTATORS = frozenset(
    {"append", "extend", "insert", "pop", "remove", "reverse", "sort", "clear", "update", "setdefault"}
    | {"popitem", "add", "discard", "difference_update", "intersection_update", "symmetric_difference_update"}
)
_PACKAGE_DIR = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))  # fluxpy/
_LIST_METHODS = frozenset({"append", "extend", "insert", "pop", "remove", "reverse", "sort", "clear"})
_SCOPES = (ast.FunctionDef, ast.AsyncFunctionDef, ast.Lambda, ast.ClassDef)
_DUNDERS = {
    ast.Add: "__iadd__",
    ast.Sub: "__isub__",
    ast.Mult: "__imul__",
    ast.BitOr: "__ior__",
    ast.BitAnd: "__iand__",
    ast.BitXor: "__ixor__",
}


@dataclass(frozen=True)
class Effect:
    """What a function does with one of its parameters (``p``) that a caller's object would show."""

    direct: bool  # p[k] = v, p[k] op= v, p.append(v), ...
    augmented: frozenset  # the in-place dunders of ``p op= v`` (a write where the argument has them)
    list_methods: bool  # p.append(v) and the other list methods
    rebound: bool  # p = ... (then the final value of ``p`` is not the caller's object)
    passed: bool  # given to a callee that may write into it
    written_first: int = 0  # the line of a write into ``p`` before its first rebinding (0: none)
    item_augmented: bool = False  # p[k] op= v (in place on an array or list item, in Python)


_effects = {}  # code object -> tuple of Effect or None per parameter (as co_varnames), or None: writes none


def effects(func):
    """Per parameter of Python function ``func`` (positional, keyword-only, then ``*args`` and ``**kwargs``:
    the order of ``co_varnames``), its :class:`Effect` (None: never written); None when it writes into
    none (or has no source). ``*args`` and ``**kwargs`` count as written when the function passes them on
    (``fn(*args, **kwargs)``, a decorator's wrapper) to a callee that may write into its arguments."""
    code = func.__code__
    try:
        return _effects[code]
    except KeyError:
        pass
    found = _effects_of(func, {code})
    _effects[code] = found
    return found


def clear():
    """Forget what was found (a rule registered since may make a callee one that writes nothing)."""
    _effects.clear()


def _effects_of(func, seen):
    node = _def_node(func)
    if node is None:
        return None
    nodes = _scope_nodes(node)
    params = _all_params(node)
    named = len(node.args.posonlyargs + node.args.args + node.args.kwonlyargs)
    own = func.__code__.co_filename.startswith(_PACKAGE_DIR)  # (fluxpy's dispatch: ``rule(*args)``)
    out = tuple(None if own and i >= named else _effect(p, nodes, func, seen) for i, p in enumerate(params))
    return out if any(e is not None for e in out) else None


def _all_params(node):
    """The parameters of def ``node`` in the order of its code's ``co_varnames``."""
    args = node.args
    extra = [a for a in (args.vararg, args.kwarg) if a is not None]
    return [a.arg for a in args.posonlyargs + args.args + args.kwonlyargs + extra]


def parameter_index(func, shift, position):
    """The index in :func:`effects` of the parameter of ``func`` that receives a caller's argument:
    ``position`` an int (by position, ``shift`` more for a bound method or a partial's own arguments) or a
    str (by keyword); None where no parameter receives it."""
    code = func.__code__
    named = code.co_argcount + code.co_kwonlyargcount
    varargs = bool(code.co_flags & 0x04)
    if isinstance(position, int):
        index = position + shift
        if index < code.co_argcount:
            return index
        return named if varargs else None
    names = code.co_varnames[code.co_posonlyargcount : named]
    if position in names:
        return code.co_posonlyargcount + names.index(position)
    return named + varargs if code.co_flags & 0x08 else None


def _def_node(func):
    try:
        node = source.get_source(func).node
    except errors.SourceError:
        return None
    return node if isinstance(node, ast.FunctionDef) else None  # (a lambda writes nothing)


def _scope_nodes(node):
    """The nodes of ``node``'s body outside nested functions and classes."""
    out, todo = [], list(node.body)
    while todo:
        x = todo.pop()
        out.append(x)
        if not isinstance(x, _SCOPES):
            todo.extend(ast.iter_child_nodes(x))
    return out


def _effect(p, nodes, func, seen):
    lists = passed = item_augmented = False
    augmented, writes, rebinds = set(), [], []
    for x in nodes:
        if isinstance(x, ast.Subscript) and _is(x.value, p) and not isinstance(x.ctx, ast.Load):
            writes.append(x)
        elif isinstance(x, ast.AugAssign) and isinstance(x.target, ast.Subscript) and _is(x.target.value, p):
            item_augmented = True
        elif isinstance(x, ast.AugAssign) and _is(x.target, p):
            augmented.add(_DUNDERS.get(type(x.op), "__i?__"))
        elif isinstance(x, ast.Name) and x.id == p and not isinstance(x.ctx, ast.Load):
            rebinds += [] if _aug_target(x, nodes) or _in_place_call(x, nodes, func) else [x]
        elif isinstance(x, (ast.Global, ast.Nonlocal)) and p in x.names:
            rebinds.append(x)
        elif isinstance(x, ast.Call):
            dunder = _in_place_operator(x, p, func)
            if dunder is not None:
                augmented.add(dunder)
            elif isinstance(x.func, ast.Attribute) and _is(x.func.value, p) and x.func.attr in _MUTATORS:
                writes.append(x)
                lists = lists or x.func.attr in _LIST_METHODS
            passed = passed or _passes(x, p, func, seen)
    if not (writes or augmented or passed):
        return None
    first = min(writes, key=_at, default=None)
    early = first is not None and rebinds and _at(first) < min(map(_at, rebinds))
    line = first.lineno if early else 0
    return Effect(bool(writes), frozenset(augmented), lists, bool(rebinds), passed, line, item_augmented)


def _at(node):
    return (node.lineno, node.col_offset)


def _in_place_operator(call, p, func):
    """``__iadd__`` for ``operator.iadd(p, v)`` (Python's ``p += v``), else None."""
    from ..rules import augmented as operators

    if not (call.args and _is(call.args[0], p)):
        return None
    callee = _lookup(call.func, func)
    for op, _, _, dunder in operators.TABLE:
        if callee is op:
            return dunder
    return None


def _in_place_call(name, nodes, func):
    """Whether ``name`` is the target of ``p = operator.iadd(p, v)``."""
    return any(
        isinstance(x, ast.Assign)
        and name in x.targets
        and _in_place_operator(x.value, name.id, func) is not None
        for x in nodes
        if isinstance(x, ast.Assign) and isinstance(x.value, ast.Call)
    )


def _is(e, p):
    return isinstance(e, ast.Name) and e.id == p


def _aug_target(name, nodes):
    return any(isinstance(x, ast.AugAssign) and x.target is name for x in nodes)


def _passes(call, p, func, seen):
    """Whether ``call`` gives ``p`` to a callee that may write into it: by position, by keyword, or spread
    (``fn(*p)``, ``fn(**p)``: the items of ``p``, a wrapper's ``*args``)."""
    keywords = [k.arg for k in call.keywords if _is(k.value, p)]
    positions = [i for i, a in enumerate(call.args) if _is(a, p)]
    spread = [a for a in call.args if isinstance(a, ast.Starred) and _is(a.value, p)]
    if not (keywords or positions or spread):
        return False
    if (
        None in keywords
        or spread
        or any(isinstance(a, ast.Starred) for a in call.args[: max(positions or [0])])
    ):
        return _may_write_any(_lookup(call.func, func), seen)
    callee = _lookup(call.func, func)
    if callee is _UNKNOWN:
        return True
    return any(_writes_into(callee, i, seen) for i in positions + keywords)


def may_write_any(callee):
    """Whether calling ``callee`` (a value) may write into any of its arguments."""
    return _may_write_any(callee, frozenset())


def _may_write_any(callee, seen):
    """Whether ``callee`` may write into any of its arguments (unknown: it may)."""
    if callee is _UNKNOWN:
        return True
    return any(_writes_into(callee, i, seen) for i in range(_arity(callee)))


def _arity(callee):
    code = getattr(getattr(callee, "__func__", callee), "__code__", None)
    return 0 if code is None else code.co_argcount + code.co_kwonlyargcount + 2


_UNKNOWN = object()


def _lookup(e, func):
    """The value of callee expression ``e`` in ``func``'s closure, globals or builtins (an attribute chain
    on a module), or _UNKNOWN."""
    path = []
    while isinstance(e, ast.Attribute):
        path.append(e.attr)
        e = e.value
    if not isinstance(e, ast.Name):
        return _UNKNOWN
    cells = dict(zip(func.__code__.co_freevars, func.__closure__ or (), strict=True))
    if e.id in cells:
        try:
            value = cells[e.id].cell_contents
        except ValueError:
            return _UNKNOWN
    elif e.id in func.__globals__:
        value = func.__globals__[e.id]
    else:
        builtins = func.__globals__.get("__builtins__")
        builtins = vars(builtins) if isinstance(builtins, ModuleType) else builtins or {}
        value = builtins.get(e.id, _UNKNOWN)
    for attr in reversed(path):
        if not isinstance(value, ModuleType):
            return _UNKNOWN  # (obj.method(p): the object is known only when the function runs)
        value = getattr(value, attr, _UNKNOWN)
    return value


def writes_into(callee, position):
    """Whether calling ``callee`` (a value) may write into its argument ``position`` (an int: positional;
    a str: by keyword)."""
    return _writes_into(callee, position, frozenset())


def _writes_into(callee, position, seen):
    """Whether calling ``callee`` may write into its argument ``position``: a Python function (a bound
    method, a ``functools.partial`` of one) that writes into that parameter; rules, builtins and classes
    do not."""
    from ..rules import registry

    shift = 0
    if type(callee) is functools.partial and type(callee.func) is FunctionType:
        callee, shift = callee.func, len(callee.args)
    if type(callee) is MethodType and type(callee.__func__) is FunctionType:
        callee, shift = callee.__func__, 1
    if type(callee) is not FunctionType or registry.lookup(callee) is not None or registry.is_nondiff(callee):
        return False
    position = parameter_index(callee, shift, position)
    if position is None:
        return False
    code = callee.__code__
    if code in _effects:
        found = _effects[code]
    elif not seen:
        found = effects(callee)
    elif code in seen:
        return False  # (recursion: its own writes are counted where it is analysed)
    else:
        found = _effects_of(callee, seen | {code})
    return found is not None and position < len(found) and found[position] is not None
