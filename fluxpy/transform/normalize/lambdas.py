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

from ..nodes import walk
from .blocks import StatementRewriter


def hoist_lambdas(fdef, ctx):
    if any(isinstance(node, gast.Lambda) for node in walk(fdef)):  # (a walk is cheaper than the rewriter)
        fdef.body = _Hoister(ctx).block(fdef.body)
    return fdef


class _Hoister(StatementRewriter):
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
