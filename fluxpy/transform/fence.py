"""Stage 3: reject unsupported syntax early, in one place, with the user's file, line, column and source.

Everything the later stages accept is listed here; anything else raises :class:`TransformError` at
``@fx.differentiable`` time or at the first gradient, never later as a wrong gradient. ``match`` statements
and ``:=`` are desugared first (``_Fence.desugar``), so that the analyses see the names they bind. Writes
into items, attributes and lists are item_targets.py's: refused where another reference would show them,
checked at run time where only the values can tell (a name kept as a possible view of the array written).

Refused (TransformError, with the file, line, column and source line, and a hint)::

    def f(xs):
        del xs[0]       # del is not supported by fluxpy. Hint: leave the variable in place or rebind it
"""

import linecache
import re

import gast

from ..errors import unsupported
from . import nodes as n
from .attribute_items import rewrite_attribute_items
from .in_place_calls import IN_PLACE_CALLS
from .index_tricks import rewrite_index_tricks
from .item_targets import check_item_targets
from .lazy_generators import first_late_read

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
    body = n.body_nodes(fdef)
    fence.objects = local_objects(fdef, classes, body)
    fence.classes = classes
    if rewrite_attribute_items(fdef, fence.objects | {writable}):  # self.params["W"] = v
        nodes, body = n.walk(fdef)[1:], n.body_nodes(fdef)
    fence.check_function(fdef, nodes)
    fence.check_late_reads(fdef)
    check_item_targets(fence, fdef, body)  # item_targets.py: aliases, and the rewrites and guards around them


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
        body = n.body_nodes(fdef)
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


def local_objects(fdef, classes, body=None):
    """Names bound only to ``C(...)`` calls where ``C`` names a class (``classes``): fresh objects whose
    attributes may be written (aliasing is refused as for item assignment)."""
    kinds = {}
    for node in n.body_nodes(fdef) if body is None else body:
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
