"""Pass: lambdas inside the function body become nested ``def`` statements placed just before use.

Postcondition: no ``Lambda`` node remains in the body (nested ``def`` bodies, a lambda's body included, are
left alone: they are transformed on their own when called). A lambda whose defaults are computed, in a
part of an expression evaluated only sometimes (``(lambda t, k=f(x): t * k) if c else g``), is defined in
the branch that evaluates it (blocks.py): its defaults are evaluated only there.

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
from .blocks import StatementRewriter, outside_lambdas


def hoist_lambdas(fdef, ctx):
    if any(isinstance(node, gast.Lambda) for node in walk(fdef)):  # (a walk is cheaper than the rewriter)
        fdef.body = _Hoister(ctx).block(fdef.body)
    return fdef


class _Hoister(StatementRewriter):
    def moves(self, node):
        """A lambda with a computed default moves out: its ``def`` evaluates the default."""
        return any(isinstance(x, gast.Lambda) and _computed_defaults(x) for x in outside_lambdas(node))

    def visit_Lambda(self, node):
        node = super().visit_Lambda(node)  # lambdas in the defaults first: they are evaluated before
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


def _computed_defaults(node):
    defaults = node.args.defaults + [d for d in node.args.kw_defaults if d is not None]
    return any(not isinstance(d, gast.Constant) for d in defaults)
