"""Pass: lambdas inside the function body become nested ``def`` statements placed just before use.

Postcondition: no ``Lambda`` node remains in the body (nested ``def`` bodies are left alone: they are
transformed on their own when called).

Before::

    def f(x):
        g = lambda t: t * x
        return g(2.0)

After::

    def f(x):
        def lambda_L2C8(t):
            return t * x
        g = lambda_L2C8
        return g(2.0)
"""

import gast


def hoist_lambdas(fdef, ctx):
    fdef.body = _Hoister(ctx).block(fdef.body)
    return fdef


class _Hoister(gast.NodeTransformer):
    def __init__(self, ctx):
        self.ctx = ctx
        self.pending = []

    def block(self, stmts):
        out = []
        for stmt in stmts:
            self.pending = []
            new = self.visit(stmt)
            out.extend(self.pending)
            out.append(new)
        return out

    def visit_FunctionDef(self, node):
        return node  # nested functions are transformed on their own

    def visit_If(self, node):
        node.test = self.visit(node.test)
        pending = self.pending
        node.body, node.orelse = self.block(node.body), self.block(node.orelse)
        self.pending = pending
        return node

    def visit_For(self, node):
        node.iter = self.visit(node.iter)
        pending = self.pending
        node.body = self.block(node.body)
        self.pending = pending
        return node

    def visit_With(self, node):
        pending = self.pending
        node.body = self.block(node.body)
        self.pending = pending
        return node

    def visit_Try(self, node):
        pending = self.pending
        node.body, node.orelse, node.finalbody = (
            self.block(node.body),
            self.block(node.orelse),
            self.block(node.finalbody),
        )
        for h in node.handlers:
            h.body = self.block(h.body)
        self.pending = pending
        return node

    def visit_While(self, node):
        pending = self.pending
        node.body = self.block(node.body)
        self.pending = pending
        return node

    def visit_Lambda(self, node):
        name = self.ctx.namer.fresh(f"lambda_L{node.lineno}C{node.col_offset}")
        ret = gast.copy_location(gast.Return(value=node.body), node)
        fdef = gast.FunctionDef(
            name=name,
            args=node.args,
            body=[ret],
            decorator_list=[],
            returns=None,
            type_comment=None,
            type_params=[],
        )
        self.pending.append(gast.copy_location(fdef, node))
        return gast.copy_location(
            gast.Name(id=name, ctx=gast.Load(), annotation=None, type_comment=None), node
        )
