"""The ``for`` loops of the ANF pass (anf.py): a loop over anything but ``range`` iterates a list of the
items by index (``__fx_iterlist``), or, where the body changes what it iterates or calls ``next`` of it,
takes the items as Python's iterator does. Where the body writes into what it iterates, each trip reads
its item from the live object (``for row in y``: here; views, lists and dicts: anf_live_items.py).

Before::

    for row in w:
        y += row[0]

After::

    _seq = __fx_call(__fx_iterlist, w)
    for _i in __fx_range(__fx_len(_seq)):
        row = __fx_call(__fx_op.getitem, _seq, _i)
        ...
"""

import copy

import gast

from .. import nodes as n
from ..nodes import body_nodes
from .anf_live_items import LiveItems, changes_in, live_read, size_check
from .anf_names import CALL


class ForLoops(LiveItems):
    """Methods of anf._ANF: ``for`` statements (stmt_For)."""

    def stmt_For(self, s):
        if self.is_range_call(s.iter) and isinstance(s.target, gast.Name):
            self.emit(
                gast.For(
                    target=s.target,
                    iter=s.iter,
                    body=self.block(s.body) or [gast.Pass()],
                    orelse=[],
                    type_comment=None,
                )
            )
            return
        if self.changes_iterated_list(s):
            self.iterate_by_index(s)
            return
        if self.calls_next_of_iterated(s) or self.consumes_iterated(s):
            self.iterate_by_next(s)
            return
        iterated, live = self.live_sources(s)
        whole = None
        if self.writes_iterated_items(s):  # the flag: y is an array or a list (anf_live_items)
            whole = self.live_flag(s, s.iter.id, s.iter.id)
        seq = self.ctx.namer.fresh("_seq")
        iterable = self.atom(iterated)
        self.emit(n.assign(seq, n.call(CALL, [n.name("__fx_iterlist"), iterable])))
        # for k in d, for v in d.values() writing d[k]: Python raises when d's size changed at the next item
        sizes = [(source.flag, source.root, source.keys) for source in live if source.keys is not None]
        if whole and "item" in changes_in(s, s.iter.id):
            sizes.append((self.live_flag(s, s.iter.id, s.iter.id, True), s.iter.id, seq))
        index = self.ctx.namer.fresh("_i")
        head = [assign_item(s, seq, index)]
        if whole:
            # for row in y: y[j] = ...: NumPy's iterator (a list's too) reads row i of the live y when trip i
            # begins
            head = [n.located(n.if_(n.name(whole), [assign_item(s, s.iter.id, index)], head), s)]
        head = [size_check(s, *size) for size in sizes] + head
        # for col in y.T, for i, row in enumerate(y[::2]), for a, b in zip(y, lst): the same, for the items
        # taken from y or a view of it (or a list, a dict's values)
        head += [live_read(s, source, seq, index) for source in live]
        # a loop that may break leaves an iterator it reads past the items it took (Python's loop takes
        # them one by one): __fx_rewind moves it back to the item after the last index reached, for a later
        # loop or next() to go on from there
        rewinds = breaks(s.body) and isinstance(iterable, gast.Name)
        if rewinds:
            self.emit(n.assign(index, n.const(-1)))  # no item taken when the loop makes no trip
        body = self.block(head + s.body)
        loop = gast.For(
            target=n.name(index, store=True),
            iter=n.call("__fx_range", [n.call("__fx_len", [n.name(seq)])]),
            body=body,
            orelse=[],
            type_comment=None,
        )
        self.emit(loop)
        if not breaks(s.body):  # (after a break, Python takes no more items)
            for size in sizes:
                self.stmt(size_check(s, *size))
        if rewinds:
            rewind = n.call("__fx_rewind", [iterable, n.call("__fx_len", [n.name(seq)]), n.name(index)])
            self.emit(n.located(gast.Expr(value=rewind), s))

    def changes_iterated_list(self, s):
        """Whether ``for v in lst`` (a local list) changes ``lst`` in its body through its methods
        (``lst.append(v)``), item writes or ``lst += [...]`` (which extends it in place), without rebinding
        it: Python's loop then sees the changes."""
        name = s.iter.id if isinstance(s.iter, gast.Name) else None
        return name in self.ctx.local_lists and bool(changes_in(s, name))

    def writes_iterated_items(self, s):
        """Whether ``for v in y`` writes items of ``y`` in its body (``y[j] = ...``, ``y[j] += ...``, or
        ``y += ...``, in place for an array), without rebinding it."""
        name = s.iter.id if isinstance(s.iter, gast.Name) else None
        return name is not None and bool(changes_in(s, name) & {"item", "augmented"})

    def calls_next_of_iterated(self, s):
        """Whether ``for v in it`` calls ``next(it)`` in its body: the two take items in turn."""
        name = s.iter.id if isinstance(s.iter, gast.Name) else None
        return name is not None and any(
            isinstance(node, gast.Call)
            and isinstance(node.func, gast.Name)
            and node.func.id == "next"
            and node.args
            and isinstance(node.args[0], gast.Name)
            and node.args[0].id == name
            for node in body_nodes(s)
        )

    def consumes_iterated(self, s):
        """Whether ``for v in it``, ``it`` an iterator (iterator_names), reads ``it`` in its body another way
        that takes items from it: an inner loop over it (``for w in it``, a comprehension's) or a call
        given it (``sum(it)``, ``zip(it)``). Python's loop takes one item at a time, so those see the items
        the loop has not taken yet."""
        name = s.iter.id if isinstance(s.iter, gast.Name) else None
        if name is None or name not in self.ctx.iterators:
            return False
        for node in body_nodes(s):
            if isinstance(node, gast.For) and isinstance(node.iter, gast.Name) and node.iter.id == name:
                return True
            if isinstance(node, gast.Call):
                values = node.args + [k.value for k in node.keywords]
                values = [v.value if isinstance(v, gast.Starred) else v for v in values]
                if any(isinstance(v, gast.Name) and v.id == name for v in values):
                    return True
        return False

    def iterate_by_next(self, s):
        """``for v in it`` whose body calls ``next(it)``, as Python runs it: one item at a time::

        _iter = iter(it)
        _end = []                     # a new object no iterator gives: the end
        _item = next(_iter, _end)
        while _item is not _end:
            v = _item
            <body>
            _item = next(_iter, _end)  # (not after a break)
        """
        it, end, item = (self.ctx.namer.fresh(p) for p in ("_iter", "_end", "_item"))
        self.stmt(n.located(n.assign(it, n.call("iter", [n.name(s.iter.id)])), s))
        self.emit(n.located(n.assign(end, gast.List(elts=[], ctx=gast.Load())), s))

        def take():
            return n.located(n.assign(item, n.call("next", [n.name(it), n.name(end)])), s)

        self.stmt(take())
        body = [n.located(gast.Assign(targets=[s.target], value=n.name(item), type_comment=None), s)]
        body += s.body
        if breaks(s.body):  # ends with `if <flag>: break`: no item is taken after the break
            stop = body.pop()
            go_on = gast.UnaryOp(op=gast.Not(), operand=copy.deepcopy(stop.test))
            body += [n.if_(go_on, [take()]), stop]
        else:
            body.append(take())
        test = gast.Compare(left=n.name(item), ops=[gast.IsNot()], comparators=[n.name(end)])
        self.emit(gast.While(test=test, body=self.block(body), orelse=[]))

    def iterate_by_index(self, s):
        """``for v in lst`` over a list the body changes, as Python's list iterator runs it::

        _i = 0
        while _i < len(lst):
            v = lst[_i]
            _i = _i + 1
            <body>
        """
        index = self.ctx.namer.fresh("_i")
        self.emit(n.located(n.assign(index, n.const(0)), s))
        test = gast.Compare(
            left=n.name(index), ops=[gast.Lt()], comparators=[n.call("__fx_len", [n.name(s.iter.id)])]
        )
        head = [
            n.located(
                gast.Assign(
                    targets=[s.target], value=n.subscript(n.name(s.iter.id), n.name(index)), type_comment=None
                ),
                s,
            ),
            n.located(n.assign(index, gast.BinOp(left=n.name(index), op=gast.Add(), right=n.const(1))), s),
        ]
        self.emit(gast.While(test=test, body=self.block(head + s.body), orelse=[]))


# calls that return an iterator (read once, shared by everything that reads it), and the generator
# expression a comprehension pass leaves (normalize/comprehensions.py)
ITERATOR_MAKERS = frozenset({"iter", "zip", "enumerate", "map", "filter", "reversed", "__fx_iterate"})


def iterator_names(fdef):
    """The names ``fdef`` binds to iterators: ``it = iter(x)``, ``zip(...)``, ``enumerate(...)``, ``map``,
    ``filter``, ``reversed``, ``itertools.<anything>(...)`` or a generator expression."""
    names = set()
    for node in body_nodes(fdef):
        if not (isinstance(node, gast.Assign) and len(node.targets) == 1):
            continue
        target, value = node.targets[0], node.value
        if not isinstance(target, gast.Name):
            continue
        if isinstance(value, gast.GeneratorExp):
            names.add(target.id)
        elif isinstance(value, gast.Call):
            func = value.func
            if isinstance(func, gast.Name) and func.id in ITERATOR_MAKERS:
                names.add(target.id)
            elif isinstance(func, gast.Attribute) and isinstance(func.value, gast.Name):
                if func.value.id == "itertools":
                    names.add(target.id)
    return names


def assign_item(loop, seq, index):
    """``<loop target> = seq[index]``."""
    value = n.subscript(n.name(seq), n.name(index))
    target = copy.deepcopy(loop.target)
    return n.located(gast.Assign(targets=[target], value=value, type_comment=None), loop)


def breaks(stmts):
    """Whether a loop body (after loops.py: its exits are flags) ends with ``if <flag>: break``."""
    return any(isinstance(s, gast.If) and any(isinstance(b, gast.Break) for b in s.body) for s in stmts[-1:])
