"""Pass: comprehensions and generator expressions become ``for`` loops that build a list.

Postcondition: no ``ListComp``, ``SetComp``, ``DictComp`` or ``GeneratorExp`` remains in the body. Items
are pushed on an immutable linked list (``acc = (item, acc)``) and turned into a list once, so building
is linear and the loop stays differentiable; generator expressions are such lists behind a single-use
iterator (plain lists where one builtin reads them once, as in ``sum(... for ...)``). Iteration
variables are renamed, since a comprehension has its own scope.

Before::

    def f(xs, w):
        return sum(x * w for x in xs if x > 0)

After::

    def f(xs, w):
        _acc = None
        for _x in xs:
            if _x > 0:
                _acc = (_x * w, _acc)
        _comp = __fx_cons_to_list(_acc)
        return sum(_comp)

A generator expression kept for later (``g = (x * i for i in r)``) is computed here, in full: the fence
refuses one whose items read a name assigned again before they are taken (lazy_generators.py), and items
Python would never take are computed too (docs/limitations.md).

A comprehension is evaluated where Python evaluates it: one in a lambda's body stays there (the lambda
becomes a function of its own, lambdas.py, normalized when it is called), one in a part of an expression
evaluated only sometimes (``c and any(...)``, ``[...] if c else []``, an ``assert``'s message, an outer
comprehension's condition) lands in the branch that evaluates it (blocks.py). ``any(...)`` and ``all(...)``
of a generator expression stop at the first true (false) item, as Python's do::

    _found = False
    for _x in xs:
        _item = _x > 0
        if _item:
            _found = True
        if _found:
            break
    ok = _found                     # ok = any(x > 0 for x in xs)
"""

import gast

from .. import nodes as n
from .blocks import StatementRewriter, outside_lambdas


def desugar_comprehensions(fdef, ctx):
    if _contains_comprehension(fdef):  # (most functions have none: the walk is cheaper than the rewriter)
        fdef.body = _Desugar(ctx).block(fdef.body)
    return fdef


# builtins that read an iterable argument once, from start to end: a generator expression passed straight to
# one (``sum(x * w for x in xs)``) is built as a plain list, which no one else can read
_READ_ONCE = frozenset(
    ["sum", "list", "tuple", "set", "frozenset", "dict", "any", "all", "max", "min", "sorted"]
    + ["enumerate", "zip"]
)
_COMPREHENSIONS = (gast.ListComp, gast.SetComp, gast.DictComp, gast.GeneratorExp)


class _Desugar(StatementRewriter):
    def moves(self, node):
        return any(isinstance(x, _COMPREHENSIONS) for x in outside_lambdas(node))

    def visit_ListComp(self, node):
        return self.build(node, [node.elt], "__fx_cons_to_list")

    def visit_GeneratorExp(self, node):
        """Python's generator is read once: a second read (``g = (...)``, then ``max(g) + sum(g)``) sees no
        items; the list built behind an iterator (``__fx_iterate``) behaves the same."""
        items = self.build(node, [node.elt], "__fx_cons_to_list")
        result = self.ctx.namer.fresh("_gen")
        self.pending.append(n.located(n.assign(result, n.call("__fx_iterate", [items])), node))
        return n.name(result)

    def visit_Call(self, node):
        if self.is_search(node):
            return self.search(node)
        if _reads_once(node.func):
            node.func = self.visit(node.func)
            node.args = [self.listed(a) for a in node.args]
            node.keywords = [self.visit(k) for k in node.keywords]
            return node
        return self.generic_visit(node)

    def visit_For(self, node):
        node.iter = self.listed(node.iter)
        node.body, node.orelse = self.block(node.body), self.block(node.orelse)
        return node

    def listed(self, node):
        """A generator expression read once, right here, as a list; anything else as usual."""
        if isinstance(node, gast.GeneratorExp):
            return self.build(node, [node.elt], "__fx_cons_to_list")
        return self.visit(node)

    def visit_SetComp(self, node):
        return self.build(node, [node.elt], "__fx_cons_to_set")

    def visit_DictComp(self, node):
        return self.build(node, [node.key, node.value], "__fx_cons_to_dict")

    def build(self, node, parts, finish):
        acc = self.ctx.namer.fresh("_acc")
        loops = self.loops(node, parts, lambda item: [n.assign(acc, n.tuple_([item, n.name(acc)]))])
        result = self.ctx.namer.fresh("_comp")
        finished = n.assign(result, n.call(finish, [n.name(acc)]))
        self.emit(node, [n.assign(acc, n.const(None))] + loops + [finished])
        return n.name(result)

    def is_search(self, node):
        """``any(...)``/``all(...)`` (the builtins) of a generator expression."""
        return (
            isinstance(node.func, gast.Name)
            and node.func.id in ("any", "all")
            and node.func.id in self.ctx.inactive_builtins
            and len(node.args) == 1
            and isinstance(node.args[0], gast.GeneratorExp)
            and not node.keywords
        )

    def search(self, node):
        """``any(gen)``/``all(gen)``: loops that stop at the first true (false) item, as Python's do."""
        gen = node.args[0]
        found = self.ctx.namer.fresh("_found")
        item = self.ctx.namer.fresh("_item")
        test = n.name(item) if node.func.id == "any" else gast.UnaryOp(op=gast.Not(), operand=n.name(item))

        def innermost(elt):
            return [n.assign(item, elt), n.if_(test, [n.assign(found, n.const(True))])]

        def stop():  # the one final break the loops pass leaves in a loop's body
            return [n.if_(n.name(found), [gast.Break()])]

        self.emit(node, [n.assign(found, n.const(False))] + self.loops(gen, [gen.elt], innermost, stop))
        if node.func.id == "any":
            return n.name(found)
        return gast.UnaryOp(op=gast.Not(), operand=n.name(found))

    def loops(self, node, parts, innermost, last=list):
        """The ``for`` loops (and ``if`` conditions) of comprehension ``node`` around ``innermost(item)``,
        the item made of ``parts`` (expressions of ``node``); each loop's body ends with ``last()``."""
        renames = {}
        loops = []
        for gen in node.generators:
            iter_ = _Rename(renames).visit(gen.iter)
            target = _rename_target(gen.target, renames, self.ctx.namer, self.ctx.user_names)
            ifs = [_Rename(renames).visit(c) for c in gen.ifs]
            loops.append((target, iter_, ifs))
        parts = [_Rename(renames).visit(p) for p in parts]
        body = innermost(parts[0] if len(parts) == 1 else n.tuple_(parts))
        for target, iter_, ifs in reversed(loops):
            for test in reversed(ifs):
                body = [n.if_(test, body)]
            body = [gast.For(target=target, iter=iter_, body=body + last(), orelse=[], type_comment=None)]
        return body

    def emit(self, node, statements):
        # nested comprehensions (in items, conditions, inner iterables) land inside the loops they need
        self.lowered(statements, node)


def _reads_once(func):
    """A call of a builtin that reads its iterable arguments once (``sum``, ``max``, ..., ``"".join``)."""
    if isinstance(func, gast.Name):
        return func.id in _READ_ONCE
    return isinstance(func, gast.Attribute) and func.attr == "join" and isinstance(func.value, gast.Constant)


def _rename_target(target, renames, namer, user_names):
    if isinstance(target, gast.Name):
        new = namer.fresh(f"_{target.id}")
        renames[target.id] = new
        user_names[new] = user_names.get(target.id, target.id)
        return n.name(new, store=True)
    if isinstance(target, (gast.Tuple, gast.List)):
        elts = [_rename_target(e, renames, namer, user_names) for e in target.elts]
        return gast.Tuple(elts=elts, ctx=gast.Store())
    return target


class _Rename(gast.NodeTransformer):
    """Renames the variables of an enclosing comprehension, respecting the scopes nested inside it."""

    def __init__(self, renames):
        self.renames = renames

    def visit_Name(self, node):
        if node.id in self.renames:
            return gast.Name(id=self.renames[node.id], ctx=node.ctx, annotation=None, type_comment=None)
        return node

    def visit_Lambda(self, node):
        args = node.args
        args.defaults = [self.visit(d) for d in args.defaults]  # evaluated outside the lambda
        args.kw_defaults = [d if d is None else self.visit(d) for d in args.kw_defaults]
        params = {a.id for a in args.args + args.posonlyargs + args.kwonlyargs}
        params |= {a.id for a in (args.vararg, args.kwarg) if a is not None}
        inner = _Rename({k: v for k, v in self.renames.items() if k not in params})
        node.body = inner.visit(node.body)
        return node

    def _comprehension(self, node, fields):
        node.generators[0].iter = self.visit(node.generators[0].iter)  # evaluated outside
        bound = set()
        for gen in node.generators:
            bound |= {x.id for x in n.walk(gen.target) if isinstance(x, gast.Name)}
        inner = _Rename({k: v for k, v in self.renames.items() if k not in bound})
        for i, gen in enumerate(node.generators):
            if i:
                gen.iter = inner.visit(gen.iter)
            gen.ifs = [inner.visit(c) for c in gen.ifs]
        for field in fields:
            setattr(node, field, inner.visit(getattr(node, field)))
        return node

    def visit_ListComp(self, node):
        return self._comprehension(node, ["elt"])

    visit_SetComp = visit_GeneratorExp = visit_ListComp

    def visit_DictComp(self, node):
        return self._comprehension(node, ["key", "value"])


def _contains_comprehension(node):
    return any(isinstance(x, _COMPREHENSIONS) for x in n.walk(node))
