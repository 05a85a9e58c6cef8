"""Item writes into a container held by an attribute of an object the function builds, as a rebinding of
the attribute (run by the fence, before its checks).

Before::

    def __init__(self, D, reg=0.0):
        self.params = {}
        self.params["W1"] = np.ones((D, 2)) * 0.1

After::

    def __init__(self, D, reg=0.0):
        self.params = {}
        self.params = __fx_setitem(self.params, "W1", np.ones((D, 2)) * 0.1)

Python changes the dict in place; fluxpy's ``__fx_setitem`` makes an updated copy (rules/mutation.py), which
is the same only when nothing else holds the dict. So the write is rewritten only where the function made
the container itself and nothing can have taken it: every store of ``self.params`` is a new list, dict or
set (a display, a comprehension, ``dict()``, ``list()``, ``set()``), the first mention of ``self.params`` is
such a store among the function's top-level statements, every other read of it is an item read
(``self.params["W1"]``), and ``self`` is the object being built (``writable``) or a local object of a class
(``objects``), used only through its attributes (or returned). Other item writes through an attribute
stay refused by the fence (``_ITEM_OF_EXPRESSION``).
"""

import gast

from . import nodes as n

_NEW_CONTAINERS = frozenset({"dict", "list", "set"})


def rewrite_attribute_items(fdef, owners):
    """Rewrite ``o.a[k] = v`` into ``o.a = __fx_setitem(o.a, k, v)`` for the pairs ``(o, a)`` that pass the
    conditions above, ``o`` in ``owners``; returns whether something was rewritten (``fdef`` in place)."""
    body = n.body_nodes(fdef)
    pairs = {
        (t.value.value.id, t.value.attr)
        for node in body
        if isinstance(node, gast.Assign)
        for t in node.targets
        if _attribute_item(t, owners)
    }
    safe = {pair for pair in pairs if _owned_container(fdef, body, *pair)}
    if not safe:
        return False
    for node in body:
        if isinstance(node, gast.Assign) and len(node.targets) == 1:
            target = node.targets[0]
            if _attribute_item(target, owners) and (target.value.value.id, target.value.attr) in safe:
                attribute = target.value
                node.targets = [gast.Attribute(value=attribute.value, attr=attribute.attr, ctx=gast.Store())]
                load = gast.Attribute(value=n.name(attribute.value.id), attr=attribute.attr, ctx=gast.Load())
                node.value = n.call("__fx_setitem", [load, target.slice, node.value])
    return True


def _attribute_item(target, owners):
    """``o.a[k]`` (``k`` no slice) with ``o`` a name in ``owners``."""
    return (
        isinstance(target, gast.Subscript)
        and isinstance(target.value, gast.Attribute)
        and isinstance(target.value.value, gast.Name)
        and target.value.value.id in owners
        and not any(isinstance(x, gast.Slice) for x in n.walk(target.slice))
    )


def _owned_container(fdef, body, owner, attr):
    """Whether ``owner.attr`` is a container the function made and nothing else can hold (module doc)."""
    mentions = []
    for node in body:
        if isinstance(node, gast.Name) and node.id == owner:
            mentions.append(node)
        elif isinstance(node, (gast.FunctionDef, gast.Lambda)) and any(
            isinstance(x, gast.Name) and x.id == owner for x in n.walk(node)
        ):
            return False  # a closure may read the container whole, later
    parents = _parents(body)
    uses = []
    for name in mentions:
        parent = parents.get(id(name))
        if isinstance(parent, gast.Return) and parent.value is name:
            continue  # return self: its holders read the container through it
        if not isinstance(parent, gast.Attribute) or isinstance(name.ctx, gast.Store):
            return False  # self bound again, or passed as a whole (a callee could keep self.attr)
        if parent.attr == attr:
            uses.append(parent)
    if not uses:
        return False
    first = min(uses, key=lambda a: (a.lineno, a.col_offset))
    if not isinstance(first.ctx, gast.Store) or not any(
        isinstance(s, gast.Assign) and s.targets == [first] for s in fdef.body
    ):
        return False
    for use in uses:
        parent = parents.get(id(use))
        if isinstance(use.ctx, gast.Store):
            if not (
                isinstance(parent, gast.Assign) and parent.targets == [use] and _new_container(parent.value)
            ):
                return False
        elif not (isinstance(parent, gast.Subscript) and parent.value is use):
            return False  # read whole: another name or a call may hold the container
    return True


def _new_container(value):
    if isinstance(value, (gast.Dict, gast.List, gast.Set, gast.ListComp, gast.DictComp, gast.SetComp)):
        return True
    return (
        isinstance(value, gast.Call)
        and isinstance(value.func, gast.Name)
        and value.func.id in _NEW_CONTAINERS
        and not value.args
        and not value.keywords
    )


def _parents(nodes):
    """``{id(child): parent}`` over ``nodes``."""
    return {id(child): node for node in nodes for child in n.children(node)}
