"""The text of a write-back variant (transform/writeback.py): the callee's own lines, each ``return e``
made ``return (e), (d,)``, compiled in a file of its own whose lines are the user's (messages and
tracebacks name them), with the callee's globals, closure and defaults.

Before (``f``, handing back its second argument) and after::

    def bn_forward(x, bn_param):                    def bn_forward(x, bn_param):
        ...                                             ...
        return out                                      return (out), (None, bn_param,)
                                                        return None, (None, bn_param,)
"""

import ast
import linecache
from types import FunctionType

from .. import errors
from . import source
from .writeback import _all_params, _scope_nodes

_variants = {}  # (code, spec) -> the variant's code object, or None where it cannot be made


def variant(func, spec):
    """The write-back variant of Python function ``func`` (a new function with its globals, closure and
    defaults), or None. ``spec``: per argument handed back, ``(parameter index, flag)``: flag 0 hands back
    nothing (``None``), 1 the parameter's final value, 2 that of a list parameter copied first."""
    key = (func.__code__, spec)
    try:
        code = _variants[key]
    except KeyError:
        code = _variants[key] = _variant_code(func, spec)
    if code is None:
        return None
    cells = dict(zip(func.__code__.co_freevars, func.__closure__ or (), strict=True))
    if not set(code.co_freevars) <= cells.keys():
        return None
    closure = tuple(cells[v] for v in code.co_freevars) or None
    out = FunctionType(code, func.__globals__, func.__name__, func.__defaults__, closure)
    out.__kwdefaults__ = func.__kwdefaults__
    out.__qualname__ = func.__qualname__
    out.__module__ = func.__module__
    return out


def can_make(func, spec):
    return variant(func, spec) is not None


def _variant_code(func, spec):
    try:
        src = source.get_source(func)
    except errors.SourceError:
        return None
    node = src.node
    if not isinstance(node, ast.FunctionDef) or node.body[0].lineno == node.lineno:
        return None  # (a one-line def: no room for the lines added)
    params = _all_params(node)
    handed = ", ".join("None" if flag == 0 else params[k] for k, flag in spec) + ","
    copied = [params[k] for k, flag in spec if flag == 2]
    lines = _function_lines(src, node, handed, copied)
    wrappers = _wrappers(func, src, node)
    if wrappers is None:
        return None
    first = node.lineno - bool(copied) - len(wrappers)  # (the body's lines stay where they are)
    text = "\n" * max(first - 1, 0) + "".join(wrappers) + "".join(lines)
    filename = f"{src.file} ({func.__qualname__} handing back {handed.rstrip(',')})"
    if copied:
        filename = filename[:-1] + f"; {', '.join(copied)} copied)"
    linecache.cache[filename] = (len(text), None, text.splitlines(True), filename)
    _map_lines(filename, src.file, text.count("\n") + 1)
    try:
        module = compile(text, filename, "exec", dont_inherit=True)
    except SyntaxError:
        return None
    target = max(first, 1) + len(wrappers)
    return _find_code(module, node.name, target)


def _map_lines(filename, file, count):
    """Messages and tracebacks show the variant's lines as the user's (the same numbers, in ``file``)."""
    from .codegen import _locations

    _locations[filename] = [(line, file, line) for line in range(1, count + 1)]


def _function_lines(src, node, handed, copied):
    """The def's lines (decorators left out), its returns handing back ``handed``, ``copied`` parameters
    renamed and copied into lists first, and a last return for a body that may end without one."""
    start, body = node.lineno, node.body[0].lineno
    lines = [line.encode() for line in src.lines[start - 1 : node.end_lineno]]
    edits = [e for r in _scope_nodes(node) if isinstance(r, ast.Return) for e in _return_edits(r, handed)]
    for arg in node.args.posonlyargs + node.args.args:
        if arg.arg in copied:
            end = arg.col_offset + len(arg.arg)
            edits.append((arg.lineno, arg.col_offset, arg.lineno, end, f"_fx_arg_{arg.arg}"))
    for line, col, end_line, end_col, text in sorted(edits, reverse=True):
        i, j = line - start, end_line - start
        lines[i : j + 1] = [lines[i][:col] + text.encode() + lines[j][end_col:]]
    out = [line.decode() for line in lines]
    out[-1] = out[-1].rstrip("\n") + "\n"
    indent = src.lines[body - 1][: len(src.lines[body - 1]) - len(src.lines[body - 1].lstrip())]
    if not isinstance(node.body[-1], (ast.Return, ast.Raise)):
        out.append(f"{indent}return None, ({handed})\n")
    if copied:
        first = "; ".join(f"{p} = list(_fx_arg_{p})" for p in copied)
        out.insert(body - start, f"{indent}{first}\n")
    return out


def _return_edits(r, handed):
    """``return e`` becomes ``return (e), (d,)``; ``return``, ``return None, (d,)`` (byte columns)."""
    if r.value is None:
        return [(r.lineno, r.col_offset, r.end_lineno, r.end_col_offset, f"return None, ({handed})")]
    v = r.value
    return [
        (v.lineno, v.col_offset, v.lineno, v.col_offset, "("),
        (v.end_lineno, v.end_col_offset, v.end_lineno, v.end_col_offset, f"), ({handed})"),
    ]


def _wrappers(func, src, node):
    """The lines the def is compiled inside: a function whose parameters are its closure's variables (so
    that they stay free variables), the class that mangles its private names, or ``if True:`` for an
    indented def. None when its indentation leaves no room for them."""
    out = []
    freevars = [v for v in func.__code__.co_freevars if v != "__class__" or src.private is None]
    if freevars:
        out.append(f"def _fx_scope({', '.join(freevars)}):\n")
    if src.private is not None:
        out.append(" " * len(out) + f"class {src.private}:\n")
    if node.col_offset and not out:
        out.append("if True:\n")
    if (node.col_offset == 0 and out) or node.col_offset < len(out):
        return None
    return out


def _find_code(code, name, line):
    todo = [code]
    while todo:
        c = todo.pop()
        if c.co_name == name and c.co_firstlineno == line:
            return c
        todo.extend(k for k in c.co_consts if isinstance(k, type(code)))
    return None
