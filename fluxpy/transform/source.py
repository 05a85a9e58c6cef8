"""Stage 1: find the source of a function from its code object.

Works for plain functions, methods, ``__call__``, nested functions, decorated functions (the code object,
not ``__wrapped__``, decides what is transformed) and lambdas: two lambdas on one line are told apart by
the column positions that Python 3.11 code objects carry.
"""

import ast
import linecache
import os
import re
import sys
import sysconfig
import threading
from collections import OrderedDict, deque
from dataclasses import dataclass

from ..errors import SourceError, add_call_sites
from .parse import mangled

# an identifier starting with two underscores and not ending with two (what CPython mangles in a class)
_PRIVATE = re.compile(r"(?<!\w)__\w*(?<!__)(?!\w)")
_trees = OrderedDict()  # filename -> (source text, parsed module), the most recently used last
_codes = OrderedDict()  # filename -> (source text, its module's code object or None): see _compiles_like
_changed = set()  # the code objects whose file's text no longer compiles to them
CHANGED = (
    "{file} has changed since it was imported (its text no longer compiles to the code Python runs). "
    "Reload the module (importlib.reload, or %autoreload in IPython) or restart"
)
_TREES_KEPT = 32  # parsed files kept (a module's functions are transformed together; generated code's
# sources are one file per function, read once when it is differentiated again)
_lock = threading.Lock()


@dataclass(frozen=True)
class Source:
    """Where a function's source is: the file, its lines, and the ``ast`` node of the def or lambda.

    ``private`` is the name of the innermost class whose body holds the def or lambda (at any depth: a
    function nested in a method counts), which CPython's compiler mangles its private names with
    (``self.__w`` in class ``A`` is ``self._A__w``); None outside every class body.
    """

    file: str
    lines: tuple
    node: ast.AST
    name: str
    private: str | None = None

    @property
    def generated(self):
        """True for code fluxpy generated (differentiated again for higher derivatives)."""
        return self.file.startswith("<fluxpy ")

    @property
    def private_names(self):
        """Whether the lines of the def or lambda spell an identifier CPython may mangle (``__w``, not
        ``__init__``): when not, the parse stage has nothing to mangle (a string or comment may match)."""
        lines = self.lines[self.node.lineno - 1 : self.node.end_lineno]
        return any(_PRIVATE.search(line) for line in lines if "__" in line)

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
    node, private = _find_node(tree, code)
    if node is None:
        raise SourceError(
            f"fluxpy cannot locate {fn.__qualname__} in {code.co_filename} at line {code.co_firstlineno}: "
            "the file may have changed since it was imported."
        )
    if not _compiles_like(code, lines):
        _changed.add(code)
        raise SourceError(
            f"fluxpy cannot use the source of {fn.__qualname__}: {CHANGED.format(file=code.co_filename)}"
        )
    return Source(code.co_filename, tuple(lines), node, code.co_name, private)


def changed_since_import(code):
    """Whether ``code``'s file was found changed since it was imported (its source then is not used)."""
    return code in _changed


def _compiles_like(code, lines):
    """Whether the file's text compiles to a code object like ``code`` at its line: one whose constants
    and names ``code`` has too (a file edited after import with the same line layout, ``x * 2`` now
    ``x * 1000``, would otherwise be differentiated from its new text). Only added ones are allowed, as
    pytest's assertion rewriting adds; a text that does not compile alone (a notebook cell's top-level
    ``await``) is taken as it is."""
    module = _compiled(code.co_filename, "".join(lines))
    if module is None:
        return True
    found = [
        c
        for c in _code_objects(module)
        if (c.co_name, c.co_firstlineno) == (code.co_name, code.co_firstlineno)
    ]
    return not found or any(_signature(c) <= _signature(code) for c in found)


def _compiled(filename, text):
    with _lock:
        cached = _codes.get(filename)
        if cached is not None and cached[0] == text:
            return cached[1]
    try:
        module = compile(text, filename, "exec", dont_inherit=True)
    except (SyntaxError, ValueError):
        module = None
    with _lock:
        _codes[filename] = (text, module)
        while len(_codes) > _TREES_KEPT:
            _codes.popitem(last=False)
    return module


def _code_objects(code):
    todo = [code]
    while todo:
        c = todo.pop()
        yield c
        todo.extend(k for k in c.co_consts if isinstance(k, type(code)))


def _signature(code):
    """The constants (by type and repr: ``nan != nan``), names and variable names of ``code``."""
    consts = {(type(k), repr(k)) for k in code.co_consts if not isinstance(k, type(code))}
    return consts | {("name", v) for v in code.co_names + code.co_varnames}


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
    """``(node, private)``: the def or lambda of ``code`` in ``tree`` and the class that mangles its names
    (see :class:`Source`); ``(None, None)`` when it is not there."""
    if code.co_name == "<lambda>":
        return _find_lambda(tree, code)
    for node, private in _walk(tree):
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)) and node.name == code.co_name:
            first = node.decorator_list[0].lineno if node.decorator_list else node.lineno
            if first == code.co_firstlineno or node.lineno == code.co_firstlineno:
                return node, private
    return None, None


def _walk(tree):
    """``(node, private)`` for every node of ``tree`` in ``ast.walk``'s order, ``private`` the name of the
    innermost class whose body holds the node (None outside every class body). As CPython's compiler has it,
    a class's body takes the class's name; its decorators, bases and keywords are evaluated outside it, and
    functions, lambdas and comprehensions inherit the name of the scope they are written in."""
    todo = deque([(tree, None)])
    while todo:
        node, private = todo.popleft()
        yield node, private
        if isinstance(node, ast.ClassDef):
            body = {id(statement) for statement in node.body}
            for child in ast.iter_child_nodes(node):
                todo.append((child, node.name if id(child) in body else private))
        else:
            todo.extend((child, private) for child in ast.iter_child_nodes(node))


def _find_lambda(tree, code):
    candidates = [
        (n, private)
        for n, private in _walk(tree)
        if isinstance(n, ast.Lambda) and n.lineno == code.co_firstlineno
    ]
    if len(candidates) <= 1:
        return candidates[0] if candidates else (None, None)
    position = _body_position(code)
    containing = []
    for node, private in candidates:
        body = node.body
        start = (body.lineno, body.col_offset)
        end = (body.end_lineno, body.end_col_offset)
        if position is not None and start <= position <= end:
            containing.append((node, private))
    if containing:  # a lambda inside another lambda's body: the innermost one holds the position
        return min(containing, key=lambda c: _extent(c[0].body))
    names = tuple(code.co_varnames[: code.co_argcount])
    same_args = [
        c
        for c in candidates
        if tuple(mangled(a.arg, c[1]) for a in c[0].args.posonlyargs + c[0].args.args) == names
    ]
    return same_args[0] if same_args else candidates[0]


def _extent(node):
    return (node.end_lineno - node.lineno, node.end_col_offset - node.col_offset)


def _body_position(code):
    """(line, column) of the first instruction of a lambda body (Python 3.11 code positions)."""
    for line, _, col, _ in code.co_positions():
        if line is not None and col is not None and (line, col) != (code.co_firstlineno, 0):
            return (line, col)
    return None


# -- where a refused function was called from -----------------------------------------------------------


def note_call_sites(error):
    """Add to TransformError ``error``, raised for a function that differentiated code called, the lines of
    differentiated code on the stack (the user's call site among them): see ``errors.add_call_sites``."""
    from .codegen import map_location  # (late: codegen imports the runtime and the rules)

    sites = []
    frame = sys._getframe(1)
    while frame is not None:
        mapped = map_location(frame.f_code.co_filename, frame.f_lineno)
        if mapped is not None and not os.path.abspath(mapped[0]).startswith(_RULES):
            file, line = mapped  # (fluxpy's rules written in Python stand for the builtin their caller calls)
            sites.append((file, line, linecache.getline(file, line).strip()))
        frame = frame.f_back
    sites.reverse()
    user = None
    for i, (file, _, _) in enumerate(sites):
        if not _in_library(file):
            user = i
    add_call_sites(error, sites, user)


def _in_library(file):
    """Whether ``file`` is part of Python's standard library, an installed package or fluxpy."""
    path = os.path.abspath(file)
    return any(path.startswith(folder) for folder in _library_folders())


def _library_folders():
    global _LIBRARIES
    if _LIBRARIES is None:
        paths = sysconfig.get_paths()
        folders = {paths.get(key) for key in ("stdlib", "platstdlib", "purelib", "platlib")}
        folders.add(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))  # fluxpy itself
        _LIBRARIES = tuple(os.path.join(os.path.abspath(f), "") for f in folders if f)
    return _LIBRARIES


_LIBRARIES = None
_RULES = os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "rules", "")
