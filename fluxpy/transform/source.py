"""Stage 1: find the source of a function from its code object.

Works for plain functions, methods, ``__call__``, nested functions, decorated functions (the code object,
not ``__wrapped__``, decides what is transformed) and lambdas: two lambdas on one line are told apart by
the column positions that Python 3.11 code objects carry.
"""

import ast
import linecache
import threading
from collections import OrderedDict
from dataclasses import dataclass

from ..errors import SourceError

_trees = OrderedDict()  # filename -> (source text, parsed module), the most recently used last
_TREES_KEPT = 32  # parsed files kept (a module's functions are transformed together; generated code's
# sources are one file per function, read once when it is differentiated again)
_lock = threading.Lock()


@dataclass(frozen=True)
class Source:
    """Where a function's source is: the file, its lines, and the ``ast`` node of the def or lambda."""

    file: str
    lines: tuple
    node: ast.AST
    name: str

    @property
    def generated(self):
        """True for code fluxpy generated (differentiated again for higher derivatives)."""
        return self.file.startswith("<fluxpy ")

    def line(self, lineno):
        """The source line ``lineno`` (1-based, absolute), without its newline."""
        if 1 <= lineno <= len(self.lines):
            return self.lines[lineno - 1].rstrip("\n")
        return ""


def get_source(fn):
    """The :class:`Source` of Python function ``fn``, or a SourceError saying why it has none."""
    code = fn.__code__
    lines = linecache.getlines(code.co_filename, fn.__globals__)
    if not lines:
        raise SourceError(
            f"fluxpy cannot find the source of {fn.__qualname__} (file {code.co_filename!r}): functions "
            "made by exec/eval or typed at a plain interactive prompt have none. Define it in a file, or "
            "register a rule with @fx.adjoint."
        )
    tree = _parse_file(code.co_filename, lines)
    node = _find_node(tree, code)
    if node is None:
        raise SourceError(
            f"fluxpy cannot locate {fn.__qualname__} in {code.co_filename} at line {code.co_firstlineno}: "
            "the file may have changed since it was imported."
        )
    return Source(code.co_filename, tuple(lines), node, code.co_name)


def _parse_file(filename, lines):
    text = "".join(lines)
    with _lock:
        cached = _trees.get(filename)
        if cached is not None and cached[0] == text:
            _trees.move_to_end(filename)
            return cached[1]
    try:
        tree = ast.parse(text, filename)
    except SyntaxError as e:
        raise SourceError(f"fluxpy cannot parse {filename}: {e}") from None
    with _lock:
        _trees[filename] = (text, tree)
        _trees.move_to_end(filename)
        while len(_trees) > _TREES_KEPT:
            _trees.popitem(last=False)
    return tree


def _find_node(tree, code):
    if code.co_name == "<lambda>":
        return _find_lambda(tree, code)
    for node in ast.walk(tree):
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)) and node.name == code.co_name:
            first = node.decorator_list[0].lineno if node.decorator_list else node.lineno
            if first == code.co_firstlineno or node.lineno == code.co_firstlineno:
                return node
    return None


def _find_lambda(tree, code):
    candidates = [n for n in ast.walk(tree) if isinstance(n, ast.Lambda) and n.lineno == code.co_firstlineno]
    if len(candidates) <= 1:
        return candidates[0] if candidates else None
    position = _body_position(code)
    containing = []
    for node in candidates:
        body = node.body
        start = (body.lineno, body.col_offset)
        end = (body.end_lineno, body.end_col_offset)
        if position is not None and start <= position <= end:
            containing.append(node)
    if containing:  # a lambda inside another lambda's body: the innermost one holds the position
        return min(
            containing,
            key=lambda n: (n.body.end_lineno - n.body.lineno, n.body.end_col_offset - n.body.col_offset),
        )
    names = tuple(code.co_varnames[: code.co_argcount])
    same_args = [n for n in candidates if tuple(a.arg for a in n.args.args) == names]
    return same_args[0] if same_args else candidates[0]


def _body_position(code):
    """(line, column) of the first instruction of a lambda body (Python 3.11 code positions)."""
    for line, _, col, _ in code.co_positions():
        if line is not None and col is not None and (line, col) != (code.co_firstlineno, 0):
            return (line, col)
    return None
