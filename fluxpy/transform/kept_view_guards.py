"""Pass (run by the fence's item-target check, item_targets.py): a runtime check before each write into an
array that a name kept as a possible view of it (kept_views.py) may be read after, and before each ``op=``
that Python runs in place on an object another name may be, hold or view.

Before::

    r = y[:2]
    y[0] = 5.0
    return np.sum(r)

After::

    r = y[:2]
    try:
        __fx_check_kept_view(r, y, ('r', 'y'), 1, 0)
    except UnboundLocalError:
        pass
    y[0] = 5.0
    return np.sum(r)

``__fx_check_kept_view`` (rules/mutation.check_kept_view) refuses the write when ``r`` shares memory with the
cells written; ``__fx_check_receiver_part`` (rules/mutation.check_receiver_part) when the object changed in
place is held by another name.
"""

import copy

import gast

from . import nodes as n
from .alias_sources import IN_PLACE_DUNDERS, in_place_update
from .aliases import kept_views


def guard_kept_views(fdef, body, classes=frozenset(), labels=None):
    """Before each ``y[i] = v`` that a name bound to a possible view of ``y`` (``r = y[:2]``, ``y[0]``,
    ``y.T``) may be read after, insert ``__fx_check_kept_view(r, y, ('r', 'y'), line, i)``: the write would
    show through ``r`` in Python, which fluxpy's functional write does not model, so the check refuses it
    when ``r`` is an array sharing memory with the cells written (see aliases.kept_views). ``i`` is ``...``
    where the index is not a plain expression (it is evaluated twice) or another write may come before the
    read. Functions without the pattern are left unchanged. ``body`` is ``body_nodes(fdef)``.

    Before: ``r = y[:2]; y[0] = 5.0; return np.sum(r)``. After: ``r = y[:2];
    __fx_check_kept_view(r, y, ('r', 'y'), 1, 0); y[0] = 5.0; return np.sum(r)``. ``labels``: names for
    the messages in place of temporaries (split_item_assignments); ``classes``: see aliases.kept_views."""
    parts = set()
    found = kept_views(fdef, body, classes, parts)
    if not found:
        return
    for node in [fdef] + body:
        if isinstance(node, gast.FunctionDef) and node is not fdef:
            continue
        for field in ("body", "orelse", "finalbody"):
            stmts = getattr(node, field, None)
            if type(stmts) is list and any(s in found for s in stmts):
                checks = [c for s in stmts for c in _kept_view_checks(s, found, labels, parts) + [s]]
                setattr(node, field, checks)


def _kept_view_checks(stmt, found, labels=None, parts=frozenset()):
    checks = []
    for view, array, every_cell, line in found.get(stmt, ()):
        index = (None if every_cell else _write_index(stmt, array)) or n.const(Ellipsis)
        names = ((labels or {}).get(view, view), (labels or {}).get(array, array))
        args = [n.name(view), n.name(array), n.const(names), n.const(line)]
        args += index.elts if isinstance(index, gast.Tuple) else [index]  # spread: no tuple rule to record
        check = n.located(gast.Expr(value=n.call("__fx_check_kept_view", args)), stmt)
        item = (stmt, view) in parts  # view holds array's object as an item, and views none of its arrays
        more = _shared_object_checks(stmt, view, array, names, line, arrays=not item)
        body = [n.located(c, stmt) for c in ([] if item else [check]) + more]
        if not body:
            continue
        # the view may not be bound yet (bound later in a loop's trip, or in a branch not taken): no view to
        # check then, as Python would not read it here either
        unbound = gast.ExceptHandler(type=n.name("UnboundLocalError"), name=None, body=[gast.Pass()])
        guarded = gast.Try(body=body, handlers=[unbound], orelse=[], finalbody=[])
        checks.append(n.located(guarded, stmt))
    return checks


def _shared_object_checks(stmt, view, array, names, line, arrays=True):
    """The checks of an ``op=`` that Python runs in place on an object ``view`` may be, hold or view.

    ``array op= v`` (``array = operator.iadd(array, v)``) changes a list, dict, set or array ``array`` in
    place, ``array[i] op= v`` and ``array.f op= v`` the object held there: ``view`` (``d = {"k": a}``, ``t =
    (a, 2.0)``, ``b = Box(a)``, ``a`` stored in ``lst = [a]``) would show the change in Python, while
    fluxpy rebinds one name or item to a new value. ``__fx_check_receiver_part(obj, (view,), ...)`` refuses
    it when ``view`` is that object, holds it, or holds an array sharing its memory; only where ``obj`` is
    of a type whose in-place operator is not Python code (arrays, lists, dicts, sets: a user class's
    ``__iadd__`` is checked by its rule, rules/python_in_place.check_shared_in_place), since a number or a
    tuple is never changed in place. For an item, ``__fx_check_kept_view(view, array[i], ...)`` first names
    an array that ``view`` views. An item whose index is not a plain expression (it would be evaluated
    again) is not checked. ``arrays=False``: not where ``obj`` is an array (``for row in Y: row *= 2``:
    the rule of ``op=`` refuses a view, rules/mutation.check_in_place_view)."""
    updated = in_place_update(stmt)
    if updated is not None and updated[0] == array:
        obj, label, dunder, out = n.name(array), names[1], updated[1], []
    elif (
        isinstance(stmt, gast.AugAssign)
        and isinstance(stmt.target, (gast.Subscript, gast.Attribute))
        and isinstance(stmt.target.value, gast.Name)
        and stmt.target.value.id == array
    ):
        target = stmt.target
        if isinstance(target, gast.Subscript):
            index = _write_index(stmt, array)
            if index is None:
                return []
            obj = gast.Subscript(value=n.name(array), slice=index, ctx=gast.Load())
        else:
            obj = n.attr(n.name(array), target.attr)
        label, dunder = _source_text(target), IN_PLACE_DUNDERS[type(stmt.op)]
        args = [n.name(view), copy.deepcopy(obj), n.const((names[0], label)), n.const(line)]
        out = [gast.Expr(value=n.call("__fx_check_kept_view", args))]
    else:
        return []
    receiver = gast.Tuple(elts=[n.name(view)], ctx=gast.Load())
    args = [copy.deepcopy(obj), receiver, n.const((label, names[0])), n.const(line), n.const(True)]
    check = gast.Expr(value=n.call("__fx_check_receiver_part", args))  # shared: its own message
    test = _builtin_in_place(obj, dunder)
    if not arrays:
        array_test = n.call(
            "__fx_getattr", [copy.deepcopy(obj), n.const("__array_priority__"), n.const(None)]
        )
        test.values.append(n.is_none(array_test))
    return out + [n.if_(test, [check])]


def _builtin_in_place(obj, dunder):
    """``obj``'s type has the in-place method ``dunder`` and it is no Python function (an array's, a
    list's)::

        __fx_getattr(__fx_type(obj), '__iadd__', None) is not None
            and __fx_getattr(__fx_getattr(__fx_type(obj), '__iadd__', None), '__code__', None) is None
    """
    method = n.call(
        "__fx_getattr", [n.call("__fx_type", [copy.deepcopy(obj)]), n.const(dunder), n.const(None)]
    )
    code = n.call("__fx_getattr", [copy.deepcopy(method), n.const("__code__"), n.const(None)])
    return gast.BoolOp(op=gast.And(), values=[n.is_not_none(method), n.is_none(code)])


def _write_index(stmt, array):
    """A copy of the index of ``stmt``'s one write into ``array`` when it is a plain expression (names,
    constants, slices, arithmetic, comparisons), with slices as ``__fx_slice`` calls; else None."""
    targets = stmt.targets if isinstance(stmt, gast.Assign) else [stmt.target]
    writes = [
        t
        for target in targets
        for t in n.walk(target)
        if isinstance(t, gast.Subscript)
        and isinstance(t.ctx, gast.Store)
        and isinstance(t.value, gast.Name)
        and t.value.id == array
    ]
    if len(writes) != 1 or not all(isinstance(x, _PLAIN_INDEX) for x in n.walk(writes[0].slice)):
        return None
    return _SliceCalls().visit(copy.deepcopy(writes[0].slice))


_PLAIN_INDEX = (
    gast.Name,
    gast.Constant,
    gast.Slice,
    gast.Tuple,
    gast.UnaryOp,
    gast.BinOp,
    gast.Compare,
    gast.expr_context,
    gast.operator,
    gast.unaryop,
    gast.cmpop,
)


class _SliceCalls(gast.NodeTransformer):
    def visit_Slice(self, node):
        parts = [
            self.visit(p) if p is not None else n.const(None) for p in (node.lower, node.upper, node.step)
        ]
        return n.call("__fx_slice", parts)


def _source_text(node):
    return gast.unparse(node).strip()
