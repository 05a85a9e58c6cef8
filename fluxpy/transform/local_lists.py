"""Which names hold a list the function built itself wherever a list method is called on them.

fluxpy performs ``lst.append(v)`` (``extend``, ``insert``, ``pop``, ``remove``, ``reverse``, ``sort``,
``clear``, and ``lst += v``) on such a list as a rebinding to a new list (normalize/anf_updates.py); on a
list that may come from outside (a parameter, a global, an item of another container) that would hide the
change from the other references, so it is refused. The answer is a set of names, decided flow by flow: at
every call of a list method on the name, each assignment that may reach it binds a new list (a display, a
comprehension, ``list(...)``, ``sorted(...)``) or another such name (``prev = row``: aliases.py refuses a
write seen through the other name). Other assignments elsewhere do not count::

    out = []
    for i in range(3):
        out.append(x[i])        # only `out = []` reaches here: a local list
    out = np.array(out)         # fine: no list method is called on this value

    lst = f(x)
    lst.append(v)               # `lst = f(x)` reaches here: not a local list (refused when transformed)

Loops are run to a fixed point; a ``break``, ``continue`` or exception may leave a block after any of its
statements, so the states after each of them are merged into what follows.
"""

import gast

from . import nodes as n
from .alias_sources import in_place_update

_SCOPES = (gast.FunctionDef, gast.Lambda)


def local_lists(fdef, new_list):
    """The names of ``fdef`` that are new lists wherever a list method is called on them (see the module's
    docstring); ``new_list(expr)``: whether ``expr`` surely makes a new list."""
    from .normalize.anf_names import LIST_METHODS  # (late: normalize imports the fence, which imports this)

    walk = _Walk(new_list, LIST_METHODS)
    walk.block(fdef.body, {}, [])
    params = {a.id for a in fdef.args.args + fdef.args.posonlyargs + fdef.args.kwonlyargs}
    return walk.lists - walk.refused - walk.comprehension_targets - params


class _Walk:
    def __init__(self, new_list, methods):
        self.new_list = new_list
        self.methods = methods
        self.lists = set()  # names bound to a new list somewhere
        self.refused = set()  # names with a list method called where they may hold something else
        self.comprehension_targets = set()

    def block(self, stmts, state, trace):
        """Run ``stmts`` on ``state`` (name -> surely a list made here), appending the state after each
        statement (nested ones included) to ``trace``."""
        for s in stmts:
            self.stmt(s, state, trace)
            trace.append(dict(state))
        return state

    def stmt(self, s, state, trace):
        if isinstance(s, _SCOPES):
            state[s.name] = False
            return
        self.sites(s, state)
        if isinstance(s, gast.If):
            body = self.block(s.body, dict(state), trace)
            orelse = self.block(s.orelse, dict(state), trace)
            _replace(state, _join(body, orelse))
        elif isinstance(s, (gast.For, gast.While)):
            self.loop(s, state, trace)
        elif isinstance(s, gast.Try):
            self.try_(s, state, trace)
        elif isinstance(s, gast.With):
            for item in s.items:
                if item.optional_vars is not None:
                    self.unknown(item.optional_vars, state)
            self.block(s.body, state, trace)
        else:
            self.bind(s, state)

    def loop(self, s, state, trace):
        head = dict(state)
        while True:  # to a fixed point: states only lose names
            inner = []
            entry = dict(head)
            if isinstance(s, gast.For):
                self.unknown(s.target, entry)
            self.block(s.body, entry, inner)
            new = _join(head, *inner)
            if isinstance(s, gast.While):
                self.sites_of(s.test, new)
            if new == head:
                break
            head = new
        after = self.block(s.orelse, dict(head), trace)
        trace.extend(inner)
        _replace(state, _join(after, *inner))

    def try_(self, s, state, trace):
        inner = []
        body = self.block(s.body, dict(state), inner)
        raised = _join(state, *inner)  # a handler may run after any statement of the body
        ends = [self.block(s.orelse, body, inner)]
        for handler in s.handlers:
            entry = dict(raised)
            if isinstance(handler.name, gast.Name):
                entry[handler.name.id] = False
            ends.append(self.block(handler.body, entry, inner))
        trace.extend(inner)
        _replace(state, self.block(s.finalbody, _join(*ends, *inner), trace))

    def bind(self, s, state):
        updated = in_place_update(s)
        if updated is not None:  # lst += v (lst = operator.iadd(lst, v)): the same list, extended
            name, dunder = updated
            if dunder != "__iadd__":
                state[name] = False
            return
        if isinstance(s, gast.Assign):
            if len(s.targets) == 1 and isinstance(s.targets[0], gast.Name):
                self.assign(s.targets[0].id, s.value, state)
            else:
                for t in s.targets:
                    self.unknown(t, state)
        elif isinstance(s, gast.AnnAssign) and isinstance(s.target, gast.Name):
            if s.value is not None:
                self.assign(s.target.id, s.value, state)
        elif isinstance(s, (gast.Import, gast.ImportFrom)):
            for alias in s.names:
                state[(alias.asname or alias.name).split(".")[0]] = False

    def assign(self, name, value, state):
        if self.new_list(value):
            state[name] = True
            self.lists.add(name)
        elif isinstance(value, gast.Name):
            state[name] = state.get(value.id, False)  # another name for it (aliases.py checks its writes)
        else:
            state[name] = False

    def unknown(self, target, state):
        if isinstance(target, (gast.Subscript, gast.Attribute)):
            return
        for x in n.walk(target):
            if isinstance(x, gast.Name):
                state[x.id] = False

    def sites(self, s, state):
        """The list-method calls (and ``lst += v``) of statement ``s`` itself, checked against ``state``."""
        updated = in_place_update(s)
        if updated is not None and updated[1] == "__iadd__" and not state.get(updated[0], False):
            self.refused.add(updated[0])
        for field, value in gast.iter_fields(s):
            if field in ("body", "orelse", "finalbody", "handlers") or (
                isinstance(s, gast.While) and field == "test"
            ):
                continue
            for node in value if isinstance(value, list) else [value]:
                if isinstance(node, gast.AST):
                    self.sites_of(node, state)

    def sites_of(self, expr, state):
        stack = [expr]
        while stack:
            node = stack.pop()
            if isinstance(node, _SCOPES):
                continue
            if isinstance(node, gast.comprehension):
                self.comprehension_targets |= {x.id for x in n.walk(node.target) if isinstance(x, gast.Name)}
            if (
                isinstance(node, gast.Call)
                and isinstance(node.func, gast.Attribute)
                and isinstance(node.func.value, gast.Name)
                and node.func.attr in self.methods
                and not state.get(node.func.value.id, False)
            ):
                self.refused.add(node.func.value.id)
            stack.extend(n.children(node))


def _join(*states):
    """The names surely lists in every one of ``states``."""
    first, *rest = states
    return {k: v and all(s.get(k, False) for s in rest) for k, v in first.items()}


def _replace(state, new):
    state.clear()
    state.update(new)
