"""The ``for`` loops of the ANF pass (anf.py): a loop over anything but ``range`` iterates a list of the
items by index (``__fx_iterlist``), or, where the body changes what it iterates or calls ``next`` of it,
takes the items as Python's iterator does.

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
from ..fence import body_nodes
from .anf_names import CALL, LIST_METHODS


class ForLoops:
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
        seq = self.ctx.namer.fresh("_seq")
        iterable = self.atom(s.iter)
        self.emit(n.assign(seq, n.call(CALL, [n.name("__fx_iterlist"), iterable])))
        index = self.ctx.namer.fresh("_i")
        head = [assign_item(s, seq, index)]
        if self.writes_iterated_items(s):
            # for row in y: y[j] = ...: NumPy's iterator reads row i of the live y when trip i begins
            head = [n.located(n.if_(_is_array(s.iter.id), [assign_item(s, s.iter.id, index)], head), s)]
        for target, array in self.written_arrays_zipped(s):
            # for i, row in enumerate(y), for a, b in zip(y, z): the same, for the item taken from y
            read = gast.Assign(
                targets=[target], value=n.subscript(n.name(array), n.name(index)), type_comment=None
            )
            head.append(n.located(n.if_(_is_array(array), [n.located(read, s)]), s))
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

    def written_arrays_zipped(self, s):
        """``[(target, y)]`` for ``for i, row in enumerate(y)`` (``row``, ``y``) and ``for a, b in zip(y, z)``
        (each of ``a``, ``b`` whose argument is a name), where the body writes items of ``y`` without
        rebinding it (as writes_iterated_items)."""
        it = s.iter
        if not (
            isinstance(it, gast.Call)
            and isinstance(it.func, gast.Name)
            and it.func.id in self.ctx.builtin_loops
            and isinstance(s.target, (gast.Tuple, gast.List))
            and not any(isinstance(e, gast.Starred) for e in s.target.elts + it.args)
        ):
            return []
        if it.func.id == "enumerate" and len(s.target.elts) == 2 and it.args:
            pairs = [(s.target.elts[1], it.args[0])]
        elif it.func.id == "zip" and len(s.target.elts) == len(it.args):
            pairs = list(zip(s.target.elts, it.args, strict=True))
        else:
            return []
        return [
            (copy.deepcopy(target), arg.id)
            for target, arg in pairs
            if isinstance(arg, gast.Name) and changes_in(s, arg.id) & {"item", "augmented"}
        ]

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


def _is_array(name):
    """``__fx_type(name) is __fx_ndarray``."""
    return gast.Compare(
        left=n.call("__fx_type", [n.name(name)]), ops=[gast.Is()], comparators=[n.name("__fx_ndarray")]
    )


def assign_item(loop, seq, index):
    """``<loop target> = seq[index]``."""
    value = n.subscript(n.name(seq), n.name(index))
    target = copy.deepcopy(loop.target)
    return n.located(gast.Assign(targets=[target], value=value, type_comment=None), loop)


def breaks(stmts):
    """Whether a loop body (after loops.py: its exits are flags) ends with ``if <flag>: break``."""
    return any(isinstance(s, gast.If) and any(isinstance(b, gast.Break) for b in s.body) for s in stmts[-1:])
