"""Part of the parameters pass (parameters.py): a check at entry, per parameter the function writes into in
place, that no other name it reads after the write holds the same object.

fluxpy writes ``x[i] = v`` and ``x op= v`` into a copy of ``x`` (the caller's arrays are never written).
Python writes into the caller's object, so another parameter, a global or a captured variable that is that
object, shares memory with it or holds it shows the write; fluxpy's copy does not, and the function's values
would differ. Whether two names hold one object is known at run time only: the pass puts a call of
runtime.check_param_aliases first in the body, naming the other names read after a write.

Before::

    def step(x, x_prev):
        x -= 0.5
        return np.sum(x * x_prev)

After::

    def step(x, x_prev):
        __fx_check_param_aliases(x, 'x', (x_prev,), ('x_prev',), (), ('step', 'f.py', 2), False)
        x -= 0.5
        return np.sum(x * x_prev)

A parameter that no other such name is read after gets no check (no cost). The check is an inactive call
(``ctx.inactive_builtins``; codegen.INACTIVE_HELPERS when generated code is differentiated again), so every
mode runs it as it is.
"""

from types import BuiltinFunctionType, FunctionType, ModuleType

import gast
import numpy as np

from .. import nodes as n
from ..alias_sources import in_place_update
from ..array_views import same_or_view_source
from ..fence import HELPER_PREFIX
from .anf_argument_writes import Positions

_CHECK = "__fx_check_param_aliases"
# globals that hold no array a parameter could share (what else a function reads: arrays, objects, lists)
_NO_HOLDERS = (ModuleType, FunctionType, BuiltinFunctionType, type, np.ufunc)
# the fields of a compound statement that it evaluates itself (the rest are blocks of statements)
_HEADERS = {gast.If: ("test",), gast.While: ("test",), gast.For: ("target", "iter"), gast.With: ("items",)}


def alias_checks(fdef, ctx, params, user_globals, written):
    """The statements ``__fx_check_param_aliases(x, 'x', (y, c), ('y', 'c'), ('G',), where, False)``, one
    per parameter ``x`` that a statement may write into while it is still the caller's object (``x[i] =
    v``, ``x op= v``, ``x.sort()``), naming the other parameters, captured variables and globals that the
    function reads after such a write. Where one of them is ``x``, shares memory with it or holds it, Python
    shows the write through it, while fluxpy's write goes to a copy: runtime.check_param_aliases refuses
    that (see the module's docstring). ``written``: parameters.py's test of the calls that write into a
    parameter (``idx.sort()``, ``out=idx``)."""
    return alias_checks_and_reads(fdef, ctx, params, user_globals, written)[0]


def alias_checks_and_reads(fdef, ctx, params, user_globals, written):
    """``(alias_checks' statements, {parameter: the globals read after a write into it}, the parameters an
    item assignment ``x[i] = v`` may write into while they are still the caller's objects)``."""
    writes = _entry_writes(fdef, params, user_globals, written)
    if not writes:
        return [], {}, set()
    args = fdef.args
    order = [a.id for a in args.posonlyargs + args.args + args.kwonlyargs if a.id in params]
    order += [a.id for a in (args.vararg, args.kwarg) if a is not None]
    positions = Positions(fdef)
    local, nested = _locals_and_nested_reads(fdef)
    captured = [v for v in ctx.freevars if not v.startswith(HELPER_PREFIX)]
    candidates = _global_candidates(fdef, local | set(order) | set(captured), ctx, user_globals)
    checks, done, reads = [], set(), {}
    items = {name for name, (_, _, item) in writes.items() if item}
    for name in order:
        if name not in writes:
            continue
        statements, arrays_only, _ = writes[name]

        def read(other, statements=statements):
            return other in nested or any(positions.read_after(s, other) for s in statements)

        done.add(name)
        others = [v for v in order if v not in done and read(v)] + [v for v in captured if read(v)]
        globals_read = tuple(g for g in candidates if read(g))
        reads[name] = globals_read
        if not (others or globals_read):
            continue
        where = (fdef.name, ctx.source.file, getattr(statements[0], "lineno", fdef.lineno))
        if ctx.source.generated:  # (a def nested in differentiated code: its line in the user's file)
            from ..codegen import map_location

            where = (fdef.name, *(map_location(*where[1:]) or where[1:]))
        values = n.tuple_([n.name(v) for v in others])
        call = n.call(
            _CHECK,
            [n.name(name), n.const(name), values, n.const(tuple(others)), n.const(globals_read)]
            + [n.const(where), n.const(arrays_only)],
        )
        checks.append(n.located(gast.Expr(value=call), fdef))
    if checks:
        ctx.inactive_builtins.add(_CHECK)  # run as it is, in every mode (codegen.INACTIVE_HELPERS when again)
    return checks, reads, items


def _entry_writes(fdef, params, user_globals, written):
    """``{parameter: (the statements that may write into it in place, whether only an array method or an
    ``out=`` does)}``, for the writes that may come before the body first binds the name to something else
    (a top-level ``x = ...``: after it, the write goes to that value). After ``x = np.asarray(x)`` (a call
    that may return its argument or a view of it) a write goes into the caller's array still, not into a
    list's: it counts for arrays only."""
    rebound, viewed = {}, {}
    for i, s in enumerate(fdef.body):
        view, same = _view_rebinding(s)
        if view is not None:
            if not same:
                viewed.setdefault(view, i)
            continue
        for name in _plain_bindings(s) & params:
            rebound.setdefault(name, i)
    out = {}
    for i, top in enumerate(fdef.body):
        for s in _statements(top):
            for name, by_method, item in _writes_of(s, params, user_globals, written):
                if i > rebound.get(name, i):
                    continue
                by_method = by_method or i > viewed.get(name, i)
                statements, arrays_only, items = out.get(name, ([], True, False))
                if not statements or statements[-1] is not s:
                    statements.append(s)
                out[name] = (statements, arrays_only and by_method, items or item)
    return out


def _writes_of(s, params, user_globals, written):
    """``(parameter, by_method, item)`` per write statement ``s`` itself makes into a parameter: an item
    assignment (``item``), an ``op=`` on its name, or (``by_method``) an in-place method or an ``out=``."""
    out = []
    found = in_place_update(s)
    if found is not None and found[0] in params:
        out.append((found[0], False, False))
    for part in _own_parts(s):
        for node in n.walk(part):
            if (
                isinstance(node, gast.Subscript)
                and isinstance(node.ctx, gast.Store)
                and isinstance(node.value, gast.Name)
                and node.value.id in params
            ):
                out.append((node.value.id, False, True))
        out += [(name, True, False) for name in sorted(written(part, params, user_globals))]
    return out


def _own_parts(s):
    """What statement ``s`` evaluates itself: a simple statement whole, a compound one's header."""
    if isinstance(s, (gast.FunctionDef, gast.AsyncFunctionDef, gast.ClassDef)):
        return []
    fields = _HEADERS.get(type(s))
    if fields is None:
        return [] if _blocks(s) else [s]
    parts = []
    for field in fields:
        value = getattr(s, field)
        parts += value if type(value) is list else [value]
    return parts


def _statements(s):
    """``s`` and the statements in its blocks (not in nested functions), in source order."""
    out = [s]
    if not isinstance(s, (gast.FunctionDef, gast.AsyncFunctionDef, gast.ClassDef)):
        for block in _blocks(s):
            for inner in block:
                out += _statements(inner)
    return out


def _blocks(s):
    blocks = [getattr(s, f) for f in ("body", "orelse", "finalbody") if type(getattr(s, f, None)) is list]
    return blocks + [h.body for h in getattr(s, "handlers", None) or []]


def _view_rebinding(s):
    """``(x, same)`` for a binding that may leave ``x`` the object it was: ``x = x``, ``x: T = x``,
    ``x = x if x is not None else d``, ``x = x or d`` (``same``: whatever ``x`` is, a list too), or
    ``x = np.asarray(x)``, ``x = x.reshape(-1)``, ``x = np.atleast_1d(np.ravel(x))`` (the same array or a
    view of it, array_views.py); else ``(None, False)``."""
    if isinstance(s, gast.Assign) and len(s.targets) == 1 and isinstance(s.targets[0], gast.Name):
        target, value = s.targets[0], s.value
    elif isinstance(s, gast.AnnAssign) and s.value is not None and isinstance(s.target, gast.Name):
        target, value = s.target, s.value
    else:
        return None, False
    kind = _may_be(value, target.id)
    return (target.id, kind == "same") if kind is not None else (None, False)


def _may_be(e, name):
    """``"same"`` where expression ``e`` may be the object ``name`` holds, ``"view"`` where it may be that
    array or a view of it, else None."""
    if isinstance(e, gast.Name):
        return "same" if e.id == name else None
    if isinstance(e, gast.NamedExpr):
        return _may_be(e.value, name)
    if isinstance(e, (gast.IfExp, gast.BoolOp)):
        kinds = {_may_be(v, name) for v in ([e.body, e.orelse] if isinstance(e, gast.IfExp) else e.values)}
        return "same" if "same" in kinds else "view" if "view" in kinds else None
    source = same_or_view_source(e)
    while source is not None and not isinstance(source, gast.Name):
        source = same_or_view_source(source)
    return "view" if source is not None and source.id == name else None


def _plain_bindings(s):
    """The names a top-level statement binds to a new value: ``x = ...`` (not ``x = operator.iadd(x, v)``,
    which Python runs in place)."""
    if isinstance(s, gast.Assign) and in_place_update(s) is None:
        targets = s.targets
    elif isinstance(s, gast.AnnAssign) and s.value is not None:
        targets = [s.target]
    else:
        return set()
    out = set()
    for t in targets:
        stack = [t]
        while stack:
            e = stack.pop()
            if isinstance(e, gast.Name):
                out.add(e.id)
            elif isinstance(e, (gast.Tuple, gast.List)):
                stack += e.elts
            elif isinstance(e, gast.Starred):
                stack.append(e.value)
    return out


def _locals_and_nested_reads(fdef):
    """``(local, nested)``: the names ``fdef`` binds (its parameters included), and the names read inside
    its nested functions and lambdas (they may run after any write)."""
    local, nested = set(), set()
    for node in n.walk(fdef):
        if isinstance(node, gast.Name) and not isinstance(node.ctx, gast.Load):
            local.add(node.id)
        elif isinstance(node, (gast.FunctionDef, gast.AsyncFunctionDef)) and node is not fdef:
            local.add(node.name)
            nested |= _names(node)
        elif isinstance(node, gast.Lambda):
            nested |= _names(node)
        elif isinstance(node, gast.alias):
            local.add(node.asname or node.name.split(".")[0])
    return local, nested


def _global_candidates(fdef, local, ctx, user_globals):
    """The globals ``fdef`` reads that may hold an array (not modules, functions or classes), sorted."""
    if user_globals is None:
        return []
    names = _names(fdef) - local - ctx.static_roots
    return sorted(
        g
        for g in names
        if not g.startswith(HELPER_PREFIX)
        and g in user_globals
        and not isinstance(user_globals[g], _NO_HOLDERS)
    )


def after_checks(body):
    """Where the copies of parameters go: after the alias checks the body holds (``alias_checks``' of the
    first transformation, in generated code differentiated again), which must see the arguments as passed."""
    last = [i for i, s in enumerate(body) if isinstance(s, gast.Expr) and _is_check(s.value)]
    return last[-1] + 1 if last else 0


def _is_check(e):
    return isinstance(e, gast.Call) and isinstance(e.func, gast.Name) and e.func.id == _CHECK


def _names(node):
    return {x.id for x in n.walk(node) if isinstance(x, gast.Name)}
