"""Pass (run by the fence's item-target check, item_targets.py): a tuple assignment that swaps items or
attributes of a name is run as Python runs it, every value first, then each target in turn, left to right.

Before::

    A[0], A[1] = A[1], A[0]

After::

    _swap_0 = A[1]
    _swap_1 = A[0]
    A[0] = _swap_0
    A[1] = _swap_1

In NumPy the values may be views (rows, columns) that the first write changes before the second reads them:
kept_view_guards.py then checks that write.
"""

import gast

from . import nodes as n


def split_item_assignments(fdef):
    """``A[0], A[1] = A[1], A[0]`` as Python runs it: every value first, then each target in turn, left to
    right, through temporaries (``_swap_0 = A[1]; _swap_1 = A[0]; A[0] = _swap_0; A[1] = _swap_1``), when a
    target is an item or attribute of a name that a value reads. In NumPy the values may be views (rows,
    columns), which the first write changes before the second reads them: guard_kept_views then checks
    that write (a row swap is refused; the items of a 1-D array, or of a list, are swapped). Returns
    ``{temporary: the value's source, for messages}``; rewrites ``fdef`` in place."""
    taken = {x.id for x in n.walk(fdef) if isinstance(x, gast.Name)}
    labels = {}

    def fresh():
        i = len(labels)
        while f"_swap_{i}" in taken:
            i += 1
        taken.add(f"_swap_{i}")
        return f"_swap_{i}"

    def split(stmts):
        out = []
        for s in stmts:
            for field in ("body", "orelse", "finalbody"):
                if type(getattr(s, field, None)) is list and not isinstance(s, gast.FunctionDef):
                    setattr(s, field, split(getattr(s, field)))
            for handler in getattr(s, "handlers", None) or []:
                handler.body = split(handler.body)
            if not _item_swap(s):
                out.append(s)
                continue
            temps = []
            for value in s.value.elts:
                temps.append(fresh())
                labels[temps[-1]] = _source_text(value)
                out.append(n.located(n.assign(temps[-1], value), s))
            for target, temp in zip(s.targets[0].elts, temps, strict=True):
                out.append(n.located(gast.Assign(targets=[target], value=n.name(temp), type_comment=None), s))
        return out

    fdef.body = split(fdef.body)
    return labels


def _item_swap(s):
    """``A[0], A[1] = A[1], A[0]``: a tuple of targets, one of them an item or attribute of a name that
    one of the values (as many, none starred) reads."""
    if not (isinstance(s, gast.Assign) and len(s.targets) == 1):
        return False
    target, value = s.targets[0], s.value
    if not (
        isinstance(target, (gast.Tuple, gast.List))
        and isinstance(value, (gast.Tuple, gast.List))
        and len(target.elts) == len(value.elts)
        and not any(isinstance(x, gast.Starred) for x in target.elts + value.elts)
    ):
        return False
    bases = {
        t.value.id
        for t in target.elts
        if isinstance(t, (gast.Subscript, gast.Attribute)) and isinstance(t.value, gast.Name)
    }
    return any(isinstance(x, gast.Name) and x.id in bases for v in value.elts for x in n.walk(v))


def _source_text(node):
    return gast.unparse(node).strip()
