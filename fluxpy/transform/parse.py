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


def lambda_name(node):
    """A readable identifier for a lambda: ``lambda_L12C8``."""
    return f"lambda_L{node.lineno}C{node.col_offset}"
