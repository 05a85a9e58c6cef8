"""Stage 3: reject unsupported syntax early, in one place, with the user's file, line, column and source.

Everything the later stages accept is listed here; anything else raises :class:`TransformError` at
``@fx.differentiable`` time or at the first gradient, never later as a wrong gradient. What only the
values can tell (whether a name kept before a write into an array is a view of the cells written) gets a
runtime check put before the write: :func:`guard_kept_views`. ``match`` statements and ``:=`` are desugared
first (``_Fence.desugar``), so that the analyses see the names they bind.
"""

import copy
import linecache
import re

import gast

from ..errors import unsupported
from . import nodes as n
from .alias_sources import IN_PLACE_DUNDERS, in_place_update
from .aliases import first_shared_write, kept_views
from .attribute_items import rewrite_attribute_items
from .index_tricks import rewrite_index_tricks
from .lazy_generators import first_late_read
from .local_lists import local_lists as flow_local_lists
from .out_writes import out_write

HELPER_PREFIX = "__fx_"

# node type -> (what, hint)
_REJECT = {
    gast.AsyncFunctionDef: ("an async function", "differentiate a synchronous function"),
    gast.AsyncFor: ("async for", "use a plain for loop"),
    gast.AsyncWith: ("async with", "use a plain with block outside the differentiated code"),
    gast.Await: ("await", "differentiate a synchronous function"),
    gast.Yield: ("a generator (yield)", "build and return a list instead of yielding values"),
    gast.YieldFrom: ("a generator (yield from)", "build and return a list instead"),
    gast.ClassDef: (
        "a class definition inside a differentiated function",
        "define the class at module level",
    ),
    gast.Global: ("the global statement", "return the new value instead of assigning a global"),
    gast.Nonlocal: ("the nonlocal statement", "return the new value instead of rebinding an outer variable"),
    gast.Delete: ("del", "leave the variable in place or rebind it"),
}
# desugared by the fence before its analyses (``_Fence.desugar``)
_SUGAR = frozenset({gast.Match, gast.NamedExpr})


# the builtins that read the calling frame, with the number of positional arguments that makes them do so
_FRAME_READERS = {"locals": 0, "globals": 0, "vars": 0, "eval": 1, "exec": 1}


def _bound_names(fdef):
    """The names ``fdef`` (and the functions in it) binds: parameters, assignments, imports, defs."""
    bound = set()
    for x in n.walk(fdef):
        if isinstance(x, gast.Name) and isinstance(x.ctx, (gast.Store, gast.Param, gast.Del)):
            bound.add(x.id)
        elif isinstance(x, (gast.Import, gast.ImportFrom)):
            bound.update((a.asname or a.name).split(".")[0] for a in x.names)
        elif isinstance(x, (gast.FunctionDef, gast.ClassDef)):
            bound.add(x.name)
        elif isinstance(x, (gast.Global, gast.Nonlocal)):
            bound.update(x.names)
    return bound


def check(fdef, source, writable=None, classes=frozenset()):
    """Raise TransformError for the first unsupported construct in ``fdef`` (a gast FunctionDef).

    ``writable`` names the one variable whose attributes may be assigned (``self`` of an ``__init__``
    building a fresh object). ``match`` statements and ``:=`` are desugared here, after the syntax checks
    and before the analyses, which must see the names they bind (``desugar``).
    """
    fence = _Fence(source)
    fence.writable = writable
    nodes = fence.check_syntax(fdef)
    if fence.sugar:
        fence.desugar(fdef)
        nodes = n.walk(fdef)[1:]
    if rewrite_index_tricks(fdef):  # np.r_[w, 1.0]: np.r_.__getitem__((w, 1.0))
        nodes = n.walk(fdef)[1:]
    body = body_nodes(fdef)
    fence.objects = local_objects(fdef, classes, body)
    fence.classes = classes
    if rewrite_attribute_items(fdef, fence.objects | {writable}):  # self.params["W"] = v
        nodes, body = n.walk(fdef)[1:], body_nodes(fdef)
    fence.check_function(fdef, nodes)
    fence.check_late_reads(fdef)
    fence.check_item_targets(fdef, body)


def _user_location(file, line):
    """``(user file, line, source line)`` for a line of generated code, or None."""
    from .codegen import map_location  # (codegen imports this module)

    mapped = map_location(file, line)
    if mapped is None or mapped[0] == file:
        return None
    return mapped[0], mapped[1], linecache.getline(mapped[0], mapped[1]).rstrip("\n")


def _user_line(file, match):
    mapped = _user_location(file, int(match.group(1)))
    return match.group(1) if mapped is None else mapped[1]


class _Fence:
    def __init__(self, source):
        self.source = source
        self.writable = None
        self.objects = set()  # local names bound only to new instances: their attributes may be written
        self.classes = frozenset()
        self.sugar = set()  # the node types of ``_SUGAR`` the function holds

    def error(self, node, what, why="", hint=""):
        line = getattr(node, "lineno", None) or 0
        col = getattr(node, "col_offset", None) or 0
        file, source_line = self.source.file, self.source.line(line)
        if self.source.generated:  # a function defined in a differentiated one: name the user's line
            mapped = _user_location(file, line)
            if mapped is not None:
                file, line, source_line = mapped
                col = len(source_line) - len(source_line.lstrip())
                what = re.sub(r"\(line (\d+)\)", lambda m: f"(line {_user_line(self.source.file, m)})", what)
        return unsupported(
            what,
            file=file,
            line=line,
            col=col,
            source_line=source_line,
            why=why,
            hint=hint,
        )

    def check_syntax(self, fdef):
        """Refuse what no stage handles, and the reserved names, in the user's own tree (desugaring adds
        helpers' names); note the constructs to desugar. Returns the nodes below ``fdef``."""
        if isinstance(fdef, gast.AsyncFunctionDef):
            what, hint = _REJECT[gast.AsyncFunctionDef]
            raise self.error(fdef, what, hint=hint)
        nodes = n.walk(fdef)[1:]
        for node in nodes:
            kind = type(node)  # gast's node classes have no subclasses
            rejected = _REJECT.get(kind)
            if rejected is not None:
                what, hint = rejected
                raise self.error(node, what, hint=hint)
            if kind in _SUGAR:
                self.sugar.add(kind)
            elif kind is gast.Name and node.id.startswith(HELPER_PREFIX) and not self.source.generated:
                raise self.error(
                    node, f"the name {node.id!r}", why=f"names starting with {HELPER_PREFIX} are reserved"
                )
        return nodes

    def desugar(self, fdef):
        """``match`` statements become ``if`` statements and ``:=`` assignments of their own
        (normalize/matches.py, normalize/named_exprs.py); what cannot be made exact is refused here."""
        from .naming import Namer  # (late: the normalize package imports this module)
        from .normalize.matches import lower_matches, pattern_names
        from .normalize.named_expr_checks import refusal
        from .normalize.named_exprs import hoist_named_exprs

        namer = Namer.for_function(fdef)
        namer.taken |= pattern_names(fdef)
        if gast.Match in self.sugar:
            lower_matches(fdef, namer)
        if gast.NamedExpr in self.sugar:
            refused = refusal(fdef)
            if refused is not None:
                node, what, why, hint = refused
                raise self.error(node, what, why=why, hint=hint)
            hoist_named_exprs(fdef, namer)
            self.check_comprehension_targets(fdef)

    def check_comprehension_targets(self, fdef):
        """A ``:=`` in a comprehension is moved out once that is a loop (after the analyses), so they do not
        see what its name is bound to (an item of the sequence iterated, say): writes into it are refused."""
        body = body_nodes(fdef)
        bound = {x.target.id: x for x in body if isinstance(x, gast.NamedExpr)}
        for node in body if bound else ():
            name = _written_name(node)
            if name in bound:
                raise self.error(
                    node,
                    f"writing into {name!r}, which an assignment expression (:=) in a comprehension binds "
                    f"(line {bound[name].lineno})",
                    why="fluxpy writes into a copy, and cannot tell which other reference Python's write "
                    "would show through (an item of the sequence iterated, say)",
                    hint=f"write into a copy under another name: `w = {name}.copy()`",
                )

    def check_function(self, fdef, nodes):
        """The checks that need the desugared function (``nodes``: those below ``fdef``)."""
        for stmt in fdef.body:
            self.check_stmt(stmt, in_loop=False)
        for node in nodes:
            self.check_node(node)
        self.check_frame_reads(fdef, nodes)

    def check_frame_reads(self, fdef, nodes):
        """``locals()``, ``globals()``, ``vars()`` (no argument) and ``eval(src)`` (no namespace) read the
        calling frame, which in differentiated code is fluxpy's: refused where the user wrote them, since a
        call whose value needs no gradient runs without its rule (rules/python_stdlib.py refuses the calls
        through other names at run time). Not where the name is bound in the function."""
        calls = [
            x
            for x in nodes
            if isinstance(x, gast.Call)
            and isinstance(x.func, gast.Name)
            and _FRAME_READERS.get(x.func.id, -1) == len(x.args)
            and not x.keywords
            and not any(isinstance(a, gast.Starred) for a in x.args)
        ]
        if not calls:
            return
        bound = _bound_names(fdef)
        for call in calls:
            name = call.func.id
            if name in bound:
                continue
            hint = (
                "write the expression as code (`x ** 2`), not text"
                if name == "eval"
                else "pass the values you need explicitly (as arguments, or in a dict you build: `{'x': x}`)"
            )
            raise self.error(
                call,
                f"{name}() with no {'namespace' if name == 'eval' else 'argument'}",
                why="it reads the calling function's frame, which in differentiated code is fluxpy's",
                hint=hint,
            )

    def check_stmt(self, stmt, in_loop, in_block=False):
        if isinstance(stmt, gast.Return) and in_block:
            raise self.error(
                stmt,
                "a return inside a with or try block",
                hint="assign the result and return it after the block",
            )
        if isinstance(stmt, gast.Try) and stmt.handlers == [] and not stmt.finalbody:
            raise self.error(stmt, "a try without except or finally")
        if isinstance(stmt, gast.Try) and any(h.type is None for h in stmt.handlers[:-1]):
            raise self.error(stmt, "a bare except before other handlers")
        if isinstance(stmt, (gast.Break, gast.Continue)) and in_block == "loop-block":
            raise self.error(
                stmt,
                "break or continue inside a with or try block in a loop",
                hint="set a flag in the block and test it after the block",
            )
        loop = in_loop or isinstance(stmt, (gast.For, gast.While))
        block = in_block or isinstance(stmt, (gast.With, gast.Try))
        if isinstance(stmt, (gast.For, gast.While)):
            block = False
        elif isinstance(stmt, (gast.With, gast.Try)):
            block = "loop-block" if loop else True
        for child in _child_statements(stmt):
            self.check_stmt(child, in_loop=loop, in_block=block)

    def check_node(self, node):
        if isinstance(node, (gast.Assign, gast.AugAssign, gast.AnnAssign)):
            targets = node.targets if isinstance(node, gast.Assign) else [node.target]
            for t in targets:
                self.check_target(t)
        if isinstance(node, gast.For):
            self.check_target(node.target)
        if isinstance(node, gast.While) and any(
            isinstance(x, (gast.ListComp, gast.SetComp, gast.DictComp, gast.GeneratorExp))
            for x in n.walk(node.test)
        ):
            raise self.error(
                node, "a comprehension in a while condition", hint="compute it before the loop and at its end"
            )

    def check_late_reads(self, fdef):
        """A generator expression whose items read a name assigned again before they are taken: fluxpy
        makes the items where the expression is (lazy_generators.py)."""
        found = first_late_read(fdef)
        if found is None:
            return
        gen, name, rebinding = found
        raise self.error(
            gen,
            f"a generator expression whose items read {name!r}, which is assigned again (line "
            f"{rebinding.lineno}) before its items are all taken",
            why="Python computes each item when it is taken, reading the new value; fluxpy computes them "
            "all where the expression is",
            hint=f"write the generator expression where its items are taken, after {name!r} is assigned "
            f"(`sum(... for ...)`), or take its items before that (`total = sum(g)`) if the old value "
            "is meant",
        )

    def check_item_targets(self, fdef, body):
        """``x[i] = v`` (and ``lst.append(v)``, ``obj.a = v``) rebind ``x`` to an updated value: refuse a
        write into a value that may be shared, since plain Python would show it through the other
        reference (see aliases.py). ``body`` is ``body_nodes(fdef)``."""
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
        found = first_shared_write(fdef, local, self.classes, local_lists(fdef, body), receiver_checks)
        if found is None:
            guard_kept_views(fdef, body, self.classes, labels)
            guard_receiver_parts(fdef, receiver_checks)
            return
        where, name, reason = found
        hint = f"write into a copy first: {name} = {name}.copy() (or list({name}), dict({name}))"
        if reason.startswith("is a parameter whose default"):
            hint = f"default to None and make the value in the body (if {name} is None: {name} = ...)"
        raise self.error(
            where,
            f"writing into {name!r}, which {reason}",
            why="the write would be visible through the other reference in plain Python",
            hint=hint,
        )

    def check_target(self, target):
        if isinstance(target, gast.Subscript) and isinstance(target.value, gast.Name):
            return  # x[i] = v: functional update; aliasing is checked by check_item_targets
        if (
            isinstance(target, gast.Attribute)
            and isinstance(target.value, gast.Name)
            and (target.value.id == self.writable or target.value.id in self.objects)
        ):
            return
        if isinstance(target, gast.Subscript):
            raise self.error(target, *_ITEM_OF_EXPRESSION[isinstance(target.value, gast.Subscript)])
        if isinstance(target, gast.Attribute):
            raise self.error(
                target,
                "assigning to an attribute of an object the function did not create",
                why="fluxpy writes attributes only on `self` in `__init__` and on objects the function made "
                "with `C(...)`: another object may be seen by other code",
                hint="build a new object (`dataclasses.replace(obj, a=v)`, `C(...)`) or return the value",
            )
        if isinstance(target, gast.Starred):  # a, *rest = x: rest is bound to a new list
            self.check_target(target.value)
            return
        if isinstance(target, (gast.Tuple, gast.List)):
            for elt in target.elts:
                self.check_target(elt)


# (what, why, hint) for an item assignment whose target is not an item of a name: [other, ``R[i][j] = v``]
_ITEM_OF_EXPRESSION = [
    (
        "assigning to an item of an expression that is not a plain name (`obj.w[i] = v`, `f(x)[i] = v`)",
        "fluxpy writes an item by binding a name to an updated copy (`x[i] = v` works), and here there is "
        "no name to bind",
        "copy it into a name, write there and use that name (`w = obj.w.copy(); w[i] = v`)",
    ),
    (
        "assigning to an item of an item (`R[i][j] = v`)",
        "fluxpy writes an item by binding a name to an updated copy (`R[i] = v` works), and `R[i]` has no "
        "name of its own",
        "for an array write `R[i, j] = v`; for a list of lists (or a dict of dicts) update a copy of the "
        "inner one and store it back: `row = list(R[i]); row[j] = v; R[i] = row`",
    ),
]


# NumPy functions that write into their first argument, and the codegen helpers for their functional forms
# (rules/numpy_assembly.py: copyto_value, ...)
IN_PLACE_CALLS = {
    "copyto": "__fx_copyto_value",
    "fill_diagonal": "__fx_fill_diagonal_value",
    "put": "__fx_put_value",
    "put_along_axis": "__fx_put_along_axis_value",
    "putmask": "__fx_putmask_value",
    "place": "__fx_place_value",
}
_NUMPY_NAMES = frozenset({"np", "numpy"})


def rewrite_in_place_calls(fdef):
    """``np.fill_diagonal(a, v)`` (``copyto``, ``put``, ``put_along_axis``, ``putmask``, ``place``) as a
    statement on a name: a write of the whole of ``a`` with the functional form's new array,
    ``a[...] = __fx_fill_diagonal_value(a, v)``, so that it is differentiated (and checked for aliases) as
    any item assignment; ``np.floor(x, out=y)`` likewise (out_writes.py). Returns whether something was
    rewritten; rewrites ``fdef`` in place."""
    rewritten = False

    def in_place(s):
        if not (isinstance(s, gast.Expr) and isinstance(s.value, gast.Call)):
            return out_write(s)  # z = np.floor(x, out=y): y[...] = np.floor(x); z = y
        call, func = s.value, s.value.func
        if not (
            isinstance(func, gast.Attribute)
            and isinstance(func.value, gast.Name)
            and func.value.id in _NUMPY_NAMES
            and func.attr in IN_PLACE_CALLS
            and call.args
            and isinstance(call.args[0], gast.Name)
            and not any(isinstance(a, gast.Starred) for a in call.args)
            and all(k.arg is not None for k in call.keywords)
        ):
            return out_write(s)  # np.floor(x, out=y): y[...] = np.floor(x)
        name = call.args[0].id
        value = gast.Call(func=n.name(IN_PLACE_CALLS[func.attr]), args=call.args, keywords=call.keywords)
        target = gast.Subscript(value=n.name(name), slice=n.const(Ellipsis), ctx=gast.Store())
        return n.located(gast.Assign(targets=[target], value=value, type_comment=None), s)

    def rewrite(stmts):
        nonlocal rewritten
        out = []
        for s in stmts:
            for field in ("body", "orelse", "finalbody"):
                if type(getattr(s, field, None)) is list and not isinstance(s, gast.FunctionDef):
                    setattr(s, field, rewrite(getattr(s, field)))
            for handler in getattr(s, "handlers", None) or []:
                handler.body = rewrite(handler.body)
            new = in_place(s)
            rewritten = rewritten or new is not None
            out.extend([s] if new is None else new if type(new) is list else [new])
        return out

    fdef.body = rewrite(fdef.body)
    return rewritten


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


def guard_receiver_parts(fdef, checks):
    """Before each ``h[i] = v`` where ``h`` was bound to a method's result (``h = obj.get()``, ``h =
    self.fc(x)``), insert ``__fx_check_receiver_part(h, obj, ('h', 'obj', method), line)``: refused at run
    time when ``h`` is one of the receiver's objects or shares memory with one of its arrays (the write
    would show through the receiver in Python), passed for a new array (a layer's output)."""
    if not checks:
        return
    by_statement = {}
    for stmt, name, receiver, line in checks:
        by_statement.setdefault(id(stmt), []).append((name, receiver, line))

    def guarded(stmts):
        out = []
        for s in stmts:
            for field in ("body", "orelse", "finalbody"):
                if type(getattr(s, field, None)) is list and not isinstance(s, gast.FunctionDef):
                    setattr(s, field, guarded(getattr(s, field)))
            for handler in getattr(s, "handlers", None) or []:
                handler.body = guarded(handler.body)
            for name, receiver, line in by_statement.get(id(s), ()):
                args = [n.name(name), n.name(receiver), n.const((name, receiver)), n.const(line)]
                out.append(n.located(gast.Expr(value=n.call("__fx_check_receiver_part", args)), s))
            out.append(s)
        return out

    fdef.body = guarded(fdef.body)


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
    ``__iadd__`` is checked by its rule, rules/python.check_shared_in_place), since a number or a tuple is
    never changed in place. For an item, ``__fx_check_kept_view(view, array[i], ...)`` first names an array
    that ``view`` views. An item whose index is not a plain expression (it would be evaluated again) is not
    checked. ``arrays=False``: not where ``obj`` is an array (``for row in Y: row *= 2``: the rule of ``op=``
    refuses a view, rules/mutation.check_in_place_view)."""
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


# Calls that may return their array argument itself, or a view of it: NumPy's (and CuPy's) functions by
# name (``np.asarray(y)``), and array methods (``y.ravel()``). A write into the result shows through the
# argument in plain Python, as one into ``y[:]`` or ``y.T`` does (attributes and subscripts, see aliases.py).
def local_objects(fdef, classes, body=None):
    """Names bound only to ``C(...)`` calls where ``C`` names a class (``classes``): fresh objects whose
    attributes may be written (aliasing is refused as for item assignment)."""
    kinds = {}
    for node in body_nodes(fdef) if body is None else body:
        for t in _assign_targets(node):
            for name in _names(t) if not isinstance(t, (gast.Attribute, gast.Subscript)) else ():
                fresh = (
                    isinstance(node, gast.Assign)
                    and len(node.targets) == 1
                    and t is node.targets[0]
                    and isinstance(node.value, gast.Call)
                    and isinstance(node.value.func, gast.Name)
                    and node.value.func.id in classes
                )
                kinds[name] = kinds.get(name, True) and fresh
        if isinstance(node, (gast.For, gast.comprehension)):
            for name in _names(node.target):
                kinds[name] = False
    params = {a.id for a in fdef.args.args + fdef.args.posonlyargs + fdef.args.kwonlyargs}
    return {name for name, ok in kinds.items() if ok and name not in params}


def local_lists(fdef, body=None):
    """Names bound to new lists in ``fdef`` (list displays, list comprehensions, ``list(...)`` and
    ``sorted(...)``) wherever a list method is called on them (local_lists.py): their list-method calls
    (append, pop, sort, ...) become rebindings to new lists (aliasing is refused as for item assignment).
    ``body``: unused (the analysis follows the statements)."""
    return flow_local_lists(fdef, _new_list)


def _new_list(node):
    return isinstance(node, (gast.List, gast.ListComp)) or _new_list_call(node)


def _list_iadd_call(node):
    """``lst = operator.iadd(lst, values)`` (or ``iconcat``): the normalizer's ``lst += values``."""
    updated = in_place_update(node) if isinstance(node, gast.Assign) else None
    return updated is not None and updated[1] == "__iadd__"


def _new_list_call(node):
    return (
        isinstance(node, gast.Call)
        and isinstance(node.func, gast.Name)
        and node.func.id in ("list", "sorted")
        and len(node.args) <= 1
        and not any(isinstance(a, gast.Starred) for a in node.args)
    )


def body_nodes(fdef):
    """The nodes of ``fdef``'s body outside nested function definitions (those themselves included), as a
    list (breadth first)."""
    out = list(fdef.body)
    for node in out:  # a list grows under its own iteration
        if not isinstance(node, (gast.FunctionDef, gast.Lambda)):
            out.extend(n.children(node))
    return out


def _assign_targets(node):
    if isinstance(node, gast.Assign):
        out = []
        for t in node.targets:
            out.extend(t.elts if isinstance(t, (gast.Tuple, gast.List)) else [t])
        return out
    if isinstance(node, (gast.AugAssign, gast.AnnAssign)):
        return [node.target]
    return []


def _names(node):
    return {x.id for x in n.walk(node) if isinstance(x, gast.Name)}


def _child_statements(stmt):
    if isinstance(stmt, (gast.FunctionDef, gast.Lambda)):
        return []
    out = []
    for field in ("body", "orelse", "finalbody"):  # (With has only a body)
        out.extend(getattr(stmt, field, None) or [])
    for handler in getattr(stmt, "handlers", None) or []:
        out.extend(handler.body)
    return [s for s in out if isinstance(s, gast.stmt)]


def _written_name(node):
    """The name ``node`` writes into: ``x[i] = v``, ``x.a = v``, ``x += v``, ``np.copyto(x, v)``; or None."""
    if isinstance(node, gast.Expr) and isinstance(node.value, gast.Call):
        call = node.value
        if isinstance(call.func, gast.Attribute) and call.func.attr in IN_PLACE_CALLS and call.args:
            return call.args[0].id if isinstance(call.args[0], gast.Name) else None
    for target in _assign_targets(node):
        if isinstance(node, gast.AugAssign) and isinstance(target, gast.Name):
            return target.id
        if isinstance(target, (gast.Subscript, gast.Attribute)) and isinstance(target.value, gast.Name):
            return target.value.id
    return None
