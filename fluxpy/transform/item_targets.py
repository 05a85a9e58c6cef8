"""The fence's check of writes into items, attributes and lists (``x[i] = v``, ``obj.a = v``,
``lst.append(v)``), which rebind ``x`` to an updated value in differentiated code: a write into a value that
may be shared is refused (TransformError), since plain Python would show it through the other reference
(aliases.py). Before the analysis, two rewrites: NumPy's in-place writers as item writes
(in_place_calls.py) and item swaps in Python's order (item_swaps.py); after it, runtime checks where only the
values can tell (kept_view_guards.py, receiver_guards.py).

Refused::

    def f(x):
        y = x
        y[0] = 1.0     # TransformError: writing into 'y', which is the same object as 'x' (bound to it at
        return x[0]    # line 3) ... Hint: write into a copy first: y = y.copy() (or list(y), dict(y))

Passed as it is: ``y = x.copy(); y[0] = 1.0``.
"""

import gast

from .aliases import first_shared_write
from .in_place_calls import rewrite_in_place_calls
from .item_swaps import split_item_assignments
from .kept_view_guards import guard_kept_views
from .local_lists import local_lists as flow_local_lists
from .nodes import body_nodes
from .receiver_guards import guard_receiver_parts


def check_item_targets(fence, fdef, body):
    """``x[i] = v`` (and ``lst.append(v)``, ``obj.a = v``) rebind ``x`` to an updated value: refuse a
    write into a value that may be shared, since plain Python would show it through the other
    reference (see aliases.py). ``fence``: the fence (its ``error`` and ``classes``); ``body`` is
    ``body_nodes(fdef)``."""
    rewritten = rewrite_in_place_calls(fdef)
    labels = split_item_assignments(fdef)
    if labels or rewritten:
        body = body_nodes(fdef)
    local = (
        {x.id for x in body if isinstance(x, gast.Name) and isinstance(x.ctx, gast.Store)}
        | {a.id for a in fdef.args.args + fdef.args.posonlyargs + fdef.args.kwonlyargs}
        | {a.id for a in (fdef.args.vararg, fdef.args.kwarg) if a is not None}
    )
    receiver_checks = []
    found = first_shared_write(fdef, local, fence.classes, local_lists(fdef, body), receiver_checks)
    if found is None:
        guard_kept_views(fdef, body, fence.classes, labels)
        guard_receiver_parts(fdef, receiver_checks)
        return
    where, name, reason = found
    hint = f"write into a copy first: {name} = {name}.copy() (or list({name}), dict({name}))"
    if reason.startswith("is a parameter whose default"):
        hint = f"default to None and make the value in the body (if {name} is None: {name} = ...)"
    raise fence.error(
        where,
        f"writing into {name!r}, which {reason}",
        why="the write would be visible through the other reference in plain Python",
        hint=hint,
    )


def local_lists(fdef, body=None):
    """Names bound to new lists in ``fdef`` (list displays, list comprehensions, ``list(...)`` and
    ``sorted(...)``) wherever a list method is called on them (local_lists.py): their list-method calls
    (append, pop, sort, ...) become rebindings to new lists (aliasing is refused as for item assignment).
    ``body``: unused (the analysis follows the statements)."""
    return flow_local_lists(fdef, _new_list)


def _new_list(node):
    return isinstance(node, (gast.List, gast.ListComp)) or _new_list_call(node)


def _new_list_call(node):
    return (
        isinstance(node, gast.Call)
        and isinstance(node.func, gast.Name)
        and node.func.id in ("list", "sorted")
        and len(node.args) <= 1
        and not any(isinstance(a, gast.Starred) for a in node.args)
    )
