"""Pass: comprehensions and generator expressions become ``for`` loops that build a list.

Postcondition: no ``ListComp``, ``SetComp``, ``DictComp`` or ``GeneratorExp`` remains in the body. Items
are pushed on an immutable linked list (``acc = (item, acc)``) and turned into a list once, so building
is linear and the loop stays differentiable; generator expressions are materialized as lists. Iteration
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
"""

import gast

from .. import nodes as n
from .blocks import StatementRewriter


def desugar_comprehensions(fdef, ctx):
    fdef.body = _Desugar(ctx).block(fdef.body)
    return fdef


class _Desugar(StatementRewriter):
    def visit_ListComp(self, node):
        return self.build(node, [node.elt], "__fx_cons_to_list")

    def visit_GeneratorExp(self, node):
        return self.build(node, [node.elt], "__fx_cons_to_list")

    def visit_SetComp(self, node):
        return self.build(node, [node.elt], "__fx_cons_to_set")

    def visit_DictComp(self, node):
        return self.build(node, [node.key, node.value], "__fx_cons_to_dict")

    def build(self, node, parts, finish):
        acc = self.ctx.namer.fresh("_acc")
        renames = {}
        loops = []
        for gen in node.generators:
            target = _rename_target(gen.target, renames, self.ctx.namer)
            iter_ = _Rename(renames).visit(self.visit(gen.iter))
            ifs = [_Rename(renames).visit(self.visit(c)) for c in gen.ifs]
            loops.append((target, iter_, ifs))
        parts = [_Rename(renames).visit(self.visit(p)) for p in parts]
        item = parts[0] if len(parts) == 1 else n.tuple_(parts)
        body = [n.assign(acc, n.tuple_([item, n.name(acc)]))]
        for target, iter_, ifs in reversed(loops):
            for test in reversed(ifs):
                body = [n.if_(test, body)]
            body = [gast.For(target=target, iter=iter_, body=body, orelse=[], type_comment=None)]
        self.pending.append(n.located(n.assign(acc, n.const(None)), node))
        self.pending.extend(n.located(s, node) for s in body)
        result = self.ctx.namer.fresh("_comp")
        self.pending.append(n.located(n.assign(result, n.call(finish, [n.name(acc)])), node))
        return n.name(result)


def _rename_target(target, renames, namer):
    if isinstance(target, gast.Name):
        new = namer.fresh(f"_{target.id}")
        renames[target.id] = new
        return n.name(new, store=True)
    if isinstance(target, (gast.Tuple, gast.List)):
        return gast.Tuple(elts=[_rename_target(e, renames, namer) for e in target.elts], ctx=gast.Store())
    return target


class _Rename(gast.NodeTransformer):
    def __init__(self, renames):
        self.renames = renames

    def visit_Name(self, node):
        if node.id in self.renames:
            return gast.Name(id=self.renames[node.id], ctx=node.ctx, annotation=None, type_comment=None)
        return node


def _contains_comprehension(node):
    kinds = (gast.ListComp, gast.SetComp, gast.DictComp, gast.GeneratorExp)
    return any(isinstance(x, kinds) for x in gast.walk(node))
