"""Stage 2: turn the located ``ast`` node into a gast ``FunctionDef`` with absolute positions.

A lambda becomes ``def <name>(args): return <body>``; decorators are dropped (the code object being
transformed is the undecorated function).
"""

import ast
import copy

import gast


def to_function_def(node, name):
    """A gast FunctionDef for an ``ast.FunctionDef`` or ``ast.Lambda`` node (positions kept)."""
    node = copy.deepcopy(node)
    if isinstance(node, ast.Lambda):
        ret = ast.Return(value=node.body)
        ast.copy_location(ret, node.body)
        fdef = ast.FunctionDef(
            name=name, args=node.args, body=[ret], decorator_list=[], returns=None, type_comment=None
        )
        ast.copy_location(fdef, node)
        node = fdef
    else:
        node.decorator_list = []
    return gast.ast_to_gast(node)


def returning_self(fdef):
    """An ``__init__`` rewritten to return its ``self`` (every ``return`` and the end of the body)."""
    self_name = fdef.args.args[0].id

    class _Returns(gast.NodeTransformer):
        def visit_FunctionDef(self, node):
            return node if node is not fdef else self.generic_visit(node)

        def visit_Return(self, node):
            return gast.copy_location(gast.Return(value=_load(self_name)), node)

    fdef = _Returns().visit(fdef)
    end = gast.Return(value=_load(self_name))
    gast.copy_location(end, fdef.body[-1])
    fdef.body.append(end)
    return fdef


def _load(name):
    return gast.Name(id=name, ctx=gast.Load(), annotation=None, type_comment=None)


def lambda_name(node):
    """A readable identifier for a lambda: ``lambda_L12C8``."""
    return f"lambda_L{node.lineno}C{node.col_offset}"
