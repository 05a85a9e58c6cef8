"""The loops of the ANF pass (anf_loops.py) whose body writes into what they iterate, other than ``for row in
y`` itself: Python's iterator reads item ``i`` from the live object (or the live view) when trip ``i``
begins, and fluxpy's write rebinds the name to a new object, so the head of each trip reads its item again
from the name, taking the view again: ``for col in X.T``, ``for v in X[::2]``, ``X.flat``, ``iter(X)``,
``reversed(X)``, ``list(X)`` (rows that are views), ``enumerate``/``zip`` of those or of a list,
``d.values()``/``d.items()``.

Before::

    for i, col in enumerate(X.T):
        X[0, i] = col[1]

After::

    _items = __fx_call(__fx_getattr, X, 'T')
    _live = __fx_live_items(_items, X, False) is True   # a view of X (not a copy): read again
    _enumerate = __fx_call(enumerate, _items)
    _seq = __fx_call(__fx_iterlist, _enumerate)
    for _i in __fx_range(__fx_len(_seq)):
        ...                                              # i, col = _seq[_i]
        if _live:
            _T = __fx_call(__fx_getattr, X, 'T')
            col = __fx_call(__fx_op.getitem, _T, _i)
        ...

Refused, each with a rewrite: a view that cannot be taken again as it was, and a body that writes into the
array or list and then binds its name again (whose writes Python's loop sees, up to the rebinding), when
the loop starts (a FluxpyError, where the items are live: ``d[k]`` of a dict written is not);
``enumerate``/``zip`` over a list whose length the body changes, when transformed (a TransformError).
"""

import copy
from typing import NamedTuple

import gast

from ...errors import unsupported
from .. import nodes as n
from ..array_views import same_or_view_source, view_root
from ..nodes import body_nodes
from .anf_names import CALL, LIST_METHODS


class LiveSource(NamedTuple):
    """An item a loop's trip reads again (LiveItems.live_sources): ``if flag: target = expr[i]``, or
    ``root[keys[i]]`` for ``root.values()`` (``kind``), ``(keys[i], root[keys[i]])`` for ``items``;
    ``backwards``: ``reversed(...)``, item ``len - 1 - i``."""

    flag: str
    target: gast.AST
    expr: gast.AST
    root: str
    kind: str | None
    backwards: bool
    keys: str | None


class LiveItems:
    """Methods of anf._ANF (through anf_loops.ForLoops): the items a loop reads again at each trip."""

    def live_sources(self, s):
        """``(iterable, sources)`` for a loop whose items come from an object its body writes into, other
        than ``for row in y`` (writes_iterated_items): ``for col in y.T``, ``for v in y[::2]``, ``for i, v in
        enumerate(lst)``, ``for a, b in zip(y, y[1:])``, ``for v in reversed(y)``, ``for k, v in d.items()``.
        Python's iterator reads item ``i`` from the object (or the view) when trip ``i`` begins, so each trip
        reads it again from the object as the body left it: the loop's start evaluates the expression
        iterated into a name (``iterable`` holds that name in its place) and whether its value really is
        that object, a view of that array or a view of that dict (``__fx_live_items``: a copy, ``y[[0, 1]]``
        or ``lst[:]``, keeps its values). ``sources``: a LiveSource each, for live_read. A view that cannot be
        taken again as it was (it names a variable the body assigns, or calls a function other than NumPy's
        view makers) is refused when the loop starts, where it is a view of the array written."""
        iterated, out = s.iter, []
        if isinstance(s.iter, gast.Name) and _written_before_rebound(s, s.iter.id):
            self.live_flag(s, s.iter.id, s.iter.id, False, self.refusal(s, s.iter.id, _REBOUND))
        for target, expr, position in self.item_sources(s):
            found = self.written_source(s, expr, position)
            if found is None:
                continue
            root, (whole, inner), backwards, kind = found
            start = whole
            if not isinstance(whole, gast.Name):
                start = n.name(self.ctx.namer.fresh("_items"))
                self.stmt(n.located(n.assign(start.id, copy.deepcopy(whole)), s))
                iterated = _replaced(iterated, position, n.call("reversed", [start]) if backwards else start)
            if kind == _REBOUND or not (kind or isinstance(inner, gast.Name) or _taken_again(s, inner, root)):
                # X[k:] with k assigned in the body, X[0] = v; X = ...: refused where the items are live
                refusal = self.refusal(s, root, kind if kind == _REBOUND else "view")
                self.live_flag(s, start.id, root, _dict_view(whole) is not None, refusal)
                continue
            flag = self.live_flag(s, start.id, root, kind is not None)
            keys = None
            if kind is not None:  # d.values(), d.items(): the keys, to read the values again
                keys = self.ctx.namer.fresh("_keys")
                self.emit(n.assign(keys, n.call(CALL, [n.name("__fx_iterlist"), n.name(root)])))
            out.append(LiveSource(flag, copy.deepcopy(target), inner, root, kind, backwards, keys))
        return iterated, out

    def refusal(self, s, root, kind):
        """The message of a loop whose items cannot be read again (``kind``: _LIVE_VIEW, _REBOUND)."""
        what, hint = _REFUSALS[kind]
        return str(self.loop_error(s, what.format(root=root), hint.format(root=root)))

    def live_flag(self, s, start, root, dict_view=False, refusal=None):
        """``_live = __fx_live_items(start, root, dict_view) is True``, before the loop: its name. With
        ``refusal`` (a message), the call raises it where the items are live."""
        flag = self.ctx.namer.fresh("_live")
        args = [n.name(start), n.name(root), n.const(dict_view)] + ([n.const(refusal)] if refusal else [])
        test = gast.Compare(
            left=n.call("__fx_live_items", args),
            ops=[gast.Is()],
            comparators=[n.const(True)],
        )
        self.stmt(n.located(n.assign(flag, test), s))
        return flag

    def item_sources(self, s):
        """``[(target, expression, position)]``: what each trip binds to an item of which expression:
        ``for t in e`` (position None), ``for i, t in enumerate(e)`` (0), ``for a, b in zip(e, f)`` (0,
        1), where enumerate and zip are Python's. A plain loop over a name is writes_iterated_items'."""
        it, target = s.iter, s.target
        if not (
            isinstance(it, gast.Call)
            and isinstance(it.func, gast.Name)
            and it.func.id in ("enumerate", "zip")
            and it.func.id in self.ctx.builtin_loops
        ):
            return [] if isinstance(it, gast.Name) else [(target, it, None)]
        if not isinstance(target, (gast.Tuple, gast.List)) or any(
            isinstance(e, gast.Starred) for e in target.elts + it.args
        ):
            return []
        if it.func.id == "enumerate" and len(target.elts) == 2 and it.args:
            return [(target.elts[1], it.args[0], 0)]
        if it.func.id == "zip" and len(target.elts) == len(it.args):
            return [(t, a, k) for k, (t, a) in enumerate(zip(target.elts, it.args, strict=True))]
        return []

    def written_source(self, s, expr, position):
        """``(root, expression, backwards, kind)`` when the loop's items taken from ``expr`` come from the
        object of the name ``root`` that the body writes into, else None: ``expr`` is ``root`` (not alone:
        writes_iterated_items), a view of it (array_views.view_root; ``root.flat``), ``reversed(...)`` of
        one of those (``backwards``), ``iter``, ``list`` or ``tuple`` of one, or ``root.values()`` /
        ``root.items()`` (``kind``)."""
        if self.builtin_call(expr, ("iter",)):  # iter(y): y's items, one by one
            expr = expr.args[0]
        backwards = self.builtin_call(expr, ("reversed",))
        if backwards:
            expr = expr.args[0]
        kind = _dict_view(expr)
        whole = expr
        if self.builtin_call(expr, ("list", "tuple")):  # list(y): y's rows (views), taken when it is made
            expr = expr.args[0]
        if isinstance(expr, gast.Attribute) and expr.attr == "flat" and isinstance(expr.value, gast.Name):
            expr = n.call(n.attr(expr.value, "reshape"), [n.const(-1)])  # y.flat[i]: y.reshape(-1)[i]
        if kind is not None:
            root = expr.func.value.id
            if _written_before_rebound(s, root):
                return root, (expr, expr), False, _REBOUND
            if "item" not in changes_in(s, root):
                return None
            if backwards:
                raise self.loop_error(s, _LIVE_VIEW.format(root=root), _LIVE_VIEW_HINT)
            return root, (expr, expr), False, kind
        root = expr.id if isinstance(expr, gast.Name) else view_root(expr)
        if root is None:
            return None
        if _written_before_rebound(s, root):
            return root, (whole, expr), backwards, _REBOUND
        changes = changes_in(s, root)
        in_list = whole is expr and isinstance(expr, gast.Name) and root in self.ctx.local_lists
        if in_list and position is not None:  # (for v in lst: iterate_by_index)
            if changes & {"method", "augmented"} or _slice_written(s, root):
                raise self.loop_error(s, _LIST_LENGTH.format(root=root), _LIST_LENGTH_HINT.format(root=root))
        if not changes & {"item", "augmented"}:
            return None
        return root, (whole, expr), backwards, None

    def builtin_call(self, expr, names):
        """Whether ``expr`` calls Python's builtin of one of ``names`` with one argument, no keyword."""
        return (
            isinstance(expr, gast.Call)
            and isinstance(expr.func, gast.Name)
            and expr.func.id in names
            and expr.func.id in self.ctx.builtin_loops
            and len(expr.args) == 1
            and not isinstance(expr.args[0], gast.Starred)
            and not expr.keywords
        )

    def loop_error(self, s, what, hint):
        line = getattr(s, "lineno", 0) or 0
        source = self.ctx.source
        return unsupported(
            what, file=source.file, line=line, col=s.col_offset or 0, source_line=source.line(line), hint=hint
        )


def changes_in(loop, name):
    """How ``loop``'s body changes the object ``name`` holds: a set of "method" (``name.append(v)``, a
    list method), "item" (``name[i] = v``, ``name[i] += v``) and "augmented" (``name += v``); empty when
    it rebinds ``name`` (the loop goes on over the old object, as the snapshot it iterates does)."""
    changes = set()
    for node in body_nodes(loop):  # the loop's body, outside nested functions
        if isinstance(node, gast.Call) and isinstance(node.func, gast.Attribute):
            if isinstance(node.func.value, gast.Name) and node.func.value.id == name:
                if node.func.attr in LIST_METHODS:
                    changes.add("method")
        elif isinstance(node, (gast.Assign, gast.AugAssign)):
            for target in node.targets if isinstance(node, gast.Assign) else [node.target]:
                if isinstance(target, gast.Subscript) and isinstance(target.value, gast.Name):
                    if target.value.id == name:
                        changes.add("item")
                elif isinstance(target, gast.Name) and target.id == name:
                    if isinstance(node, gast.Assign):
                        return set()
                    changes.add("augmented")
    return changes


# the refusals of live_sources (their hints: a rewrite that reads each item after the writes before it)
_LIVE_VIEW = (
    "a loop over a view of '{root}' (or reversed over its dict's values) whose body writes into "
    "'{root}', where the view cannot be taken again at each trip (it reads a name the loop assigns, or "
    "calls a function)"
)
_LIVE_VIEW_HINT = (
    "Python's loop reads each item from the live view when its trip begins: loop over indices and read the "
    "item there, after the writes before it, e.g. `for i in range(X.shape[1]): col = X[:, i]`"
)
_LIST_LENGTH = "an enumerate or zip loop over the list '{root}' whose body changes its length"
_LIST_LENGTH_HINT = (
    "Python's loop sees the items added or removed: loop with an index, "
    "`i = 0` then `while i < len({root}): v = {root}[i]; i += 1; ...`"
)


_REBOUND = "rebound"  # (a kind of written_source: the body writes into the root, then binds it again)
_REFUSALS = {
    "view": (_LIVE_VIEW, _LIVE_VIEW_HINT),
    _REBOUND: (
        "a loop over '{root}' (or a view of it) whose body writes into '{root}' and then binds it again",
        "Python's loop sees the writes made before '{root}' is bound again: bind it again first, or loop "
        "over indices and read the item from '{root}' there",
    ),
}


def _written_before_rebound(loop, name):
    """Whether the loop's body writes into ``name`` (``name[i] = v``, ``name += v``) before, or in the same
    statement as, the first assignment that binds ``name`` again (changes_in then sees no change)."""
    written = False
    for stmt in loop.body:
        nodes = [x for x in n.walk(stmt) if isinstance(x, (gast.Assign, gast.AugAssign))]
        written = written or any(
            isinstance(t, gast.Subscript) and isinstance(t.value, gast.Name) and t.value.id == name
            for x in nodes
            for t in (x.targets if isinstance(x, gast.Assign) else [x.target])
        )
        written = written or any(
            isinstance(x, gast.AugAssign) and isinstance(x.target, gast.Name) and x.target.id == name
            for x in nodes
        )
        if any(
            isinstance(x, gast.Assign) and any(isinstance(t, gast.Name) and t.id == name for t in x.targets)
            for x in nodes
        ):
            return written
    return False


def live_read(loop, source, seq, index):
    """``if <flag>: <target> = <expression>[index]``: the head of a trip reading its item again
    (live_sources), ``[len(seq) - 1 - index]`` for reversed, ``(keys[index], d[keys[index]])`` for
    ``d.items()``."""
    position = n.name(index)
    if source.backwards:
        last = gast.BinOp(left=n.call("__fx_len", [n.name(seq)]), op=gast.Sub(), right=n.const(1))
        position = gast.BinOp(left=last, op=gast.Sub(), right=position)
    if source.keys is None:
        value = n.subscript(copy.deepcopy(source.expr), position)
    else:
        key = n.subscript(n.name(source.keys), position)
        value = n.subscript(n.name(source.root), key)
        if source.kind == "items":
            value = n.tuple_([copy.deepcopy(key), value])
    read = n.located(gast.Assign(targets=[source.target], value=value, type_comment=None), loop)
    return n.located(n.if_(n.name(source.flag), [read]), loop)


def size_check(loop, flag, name, keys):
    """``if flag: if len(name) != len(keys): raise RuntimeError(...)``: Python's check of a dict that a loop
    iterates, at each item it takes (fluxpy's write made a new dict: the loop goes on over the old keys)."""
    error = n.call("RuntimeError", [n.const("dictionary changed size during iteration")])
    changed = gast.Compare(
        left=n.call("__fx_len", [n.name(name)]),
        ops=[gast.NotEq()],
        comparators=[n.call("__fx_len", [n.name(keys)])],
    )
    check = n.if_(changed, [n.located(gast.Raise(exc=error, cause=None), loop)])
    return n.located(n.if_(n.name(flag), [n.located(check, loop)]), loop)


def _taken_again(loop, expr, root):
    """Whether the view ``expr`` of ``root`` gives the same view when evaluated again at each trip: it reads
    no name the loop assigns (its target, its body) but ``root``, and calls only NumPy's view makers."""
    assigned = {x.id for x in n.walk(loop.target) if isinstance(x, gast.Name)}
    assigned |= {x.id for x in body_nodes(loop) if isinstance(x, gast.Name) and isinstance(x.ctx, gast.Store)}
    return not any(
        (isinstance(node, gast.Name) and node.id != root and node.id in assigned)
        or (
            isinstance(node, (gast.Call, gast.Lambda, gast.NamedExpr, gast.GeneratorExp))
            and same_or_view_source(node) is None
        )
        for node in n.walk(expr)
    )


def _replaced(iterated, position, value):
    """The loop's iterable with the expression at ``position`` (live_sources) replaced by ``value``."""
    if position is None:
        return value
    out = copy.copy(iterated)
    out.args = list(iterated.args)
    out.args[position] = value
    return out


def _dict_view(expr):
    """``"values"`` or ``"items"`` for ``d.values()`` and ``d.items()`` on a name, else None."""
    if (
        isinstance(expr, gast.Call)
        and isinstance(expr.func, gast.Attribute)
        and isinstance(expr.func.value, gast.Name)
        and expr.func.attr in ("values", "items")
        and not expr.args
        and not expr.keywords
    ):
        return expr.func.attr
    return None


def _slice_written(loop, name):
    """Whether the loop's body assigns a slice of ``name`` (``lst[1:3] = ...``, which may change a list's
    length)."""
    return any(
        isinstance(node, gast.Assign)
        and any(
            isinstance(t, gast.Subscript)
            and isinstance(t.value, gast.Name)
            and t.value.id == name
            and isinstance(t.slice, gast.Slice)
            for t in node.targets
        )
        for node in body_nodes(loop)
    )
