"""A statement-level rewriter shared by the passes that move expressions out into statements of their own.

Subclasses rewrite expression nodes and append the statements they need to ``self.pending``; those land
just before the statement being rewritten. Nested function bodies are left alone (they are transformed on
their own when called); ``while`` tests are not rewritten (they are evaluated on every iteration).
"""

import gast


class StatementRewriter(gast.NodeTransformer):
    def __init__(self, ctx):
        self.ctx = ctx
        self.pending = []

    def block(self, stmts):
        out = []
        for stmt in stmts:
            saved, self.pending = self.pending, []
            new = self.visit(stmt)
            out.extend(self.pending)
            out.append(new)
            self.pending = saved
        return out

    def visit_FunctionDef(self, node):
        return node

    def visit_If(self, node):
        node.test = self.visit(node.test)
        node.body, node.orelse = self.block(node.body), self.block(node.orelse)
        return node

    def visit_For(self, node):
        node.iter = self.visit(node.iter)
        node.body, node.orelse = self.block(node.body), self.block(node.orelse)
        return node

    def visit_While(self, node):
        node.body, node.orelse = self.block(node.body), self.block(node.orelse)
        return node

    def visit_With(self, node):
        node.body = self.block(node.body)
        return node

    def visit_Try(self, node):
        node.body, node.orelse, node.finalbody = (
            self.block(node.body),
            self.block(node.orelse),
            self.block(node.finalbody),
        )
        for handler in node.handlers:
            handler.body = self.block(handler.body)
        return node
