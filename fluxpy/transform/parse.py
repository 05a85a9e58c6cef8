"""Stage 2: turn the located ``ast`` node into a gast ``FunctionDef`` with absolute positions.

A lambda becomes ``def <name>(args): return <body>``; decorators are dropped (the code object being
transformed is the undecorated function). Private names are mangled as CPython compiles them in a class
body (``self.__w`` in a method of ``A`` is ``self._A__w``): the generated module has no class around it, so
the later stages see, and generated code uses, the names the original code object uses.
"""

import ast

import gast

from .nodes import children


def to_function_def(node, name, private=None, private_names=True):
    """A gast FunctionDef for an ``ast.FunctionDef`` or ``ast.Lambda`` node (positions kept), its private
    names mangled: ``private`` is the class whose body holds it (``Source.private``); ``private_names``
    False (``Source.private_names``) says that it has none."""
    if isinstance(node, ast.Lambda):
        ret = ast.Return(value=node.body)
        ast.copy_location(ret, node.body)
        fdef = ast.FunctionDef(
            name=name, args=node.args, body=[ret], decorator_list=[], returns=None, type_comment=None
        )
        ast.copy_location(fdef, node)
        node = fdef
    fdef = to_gast(node)  # new nodes throughout: the parsed file's tree (cached) is left as it is
    fdef.decorator_list = []
    if private_names:
        mangle(fdef, private)
    return fdef


# -- private names ------------------------------------------------------------------------------------


def mangled(name, private):
    """``name`` as CPython compiles it in the body of the class named ``private`` (``_Py_Mangle``).

    ``__w`` becomes ``_A__w`` in class ``A`` and in class ``__A`` (the class name's leading underscores are
    dropped). Unchanged: names not starting with two underscores, names ending with two (``__init__``,
    ``__``), dotted names (an imported module's path), any name outside a class (``private`` None) or in a
    class whose name is underscores only.
    """
    if private is None or name[:2] != "__" or name[-2:] == "__" or "." in name:
        return name
    stripped = private.lstrip("_")
    return f"_{stripped}{name}" if stripped else name


def mangle(fdef, private):
    """Mangle, in place, every private name in gast FunctionDef ``fdef`` that CPython mangles (checked with
    ``dis`` on CPython 3.11): variables and parameters (``Name``), attributes (``obj.__w``), the names of
    nested functions and classes, ``global``/``nonlocal`` names, import bindings and undotted imported module
    names (``import __m`` imports ``_A__m``; ``from m import __f`` reads ``m._A__f``), and match captures.
    Left as CPython leaves them: keyword names in calls (``f(__k=1)``), match class attribute names,
    strings (``getattr(self, "__w")``) and ``fdef``'s own name (bound in the enclosing scope). A nested
    class's body takes that class's name; its bases, keywords and decorators stay in the outer one.
    ``import __m.sub`` (no ``as``), which imports ``__m.sub`` but binds ``_A__m``, has no spelling as an
    import statement: it is left unmangled.
    """
    todo = [(fdef, private)]
    while todo:
        node, private = todo.pop()
        kind = type(node)
        if kind is gast.Name:
            node.id = mangled(node.id, private)
        elif kind is gast.Attribute:
            node.attr = mangled(node.attr, private)
        elif kind is gast.ClassDef:
            inner = node.name  # the class's own name (unmangled) mangles its body
            node.name = mangled(node.name, private)
            body = {id(statement) for statement in node.body}
            todo.extend((child, inner if id(child) in body else private) for child in children(node))
            continue
        elif kind in (gast.FunctionDef, gast.AsyncFunctionDef):
            if node is not fdef:
                node.name = mangled(node.name, private)
        elif kind in (gast.Global, gast.Nonlocal):
            node.names = [mangled(name, private) for name in node.names]
        elif kind is gast.alias:
            if node.asname is not None:
                node.asname = mangled(node.asname, private)
            node.name = mangled(node.name, private)  # dotted paths are left as they are
        elif kind is gast.ImportFrom:
            if node.module is not None:
                node.module = mangled(node.module, private)
        elif kind in (gast.MatchAs, gast.MatchStar):
            if node.name is not None:
                node.name = mangled(node.name, private)
        elif kind is gast.MatchMapping:
            if node.rest is not None:
                node.rest = mangled(node.rest, private)
        todo.extend((child, private) for child in children(node))


def returning_self(fdef):
    """An ``__init__`` rewritten to return its ``self`` (every ``return`` and the end of the body)."""
    self_name = (fdef.args.posonlyargs + fdef.args.args)[0].id  # ``self`` may be positional-only

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


# -- ast to gast --------------------------------------------------------------------------------------
# What gast.ast_to_gast gives, in one pass with a converter per node class (gast's generic NodeTransformer
# costs a visit dispatch and a dict of fields per node: three times as long). The differences between the
# two trees, as gast has them: a parameter is a Name (ctx Param), an exception handler's name a Name, and a
# function or class definition has ``type_params`` on Pythons whose ast has none. Contexts and operators
# are shared between nodes, as ast.parse shares them.


def to_gast(node):
    """The gast tree of the ``ast`` tree ``node`` (positions kept)."""
    return _CONVERTERS[type(node)](node)


def _value(value):
    if isinstance(value, ast.AST):
        return _CONVERTERS[type(value)](value)
    if type(value) is list:
        return [_CONVERTERS[type(v)](v) if isinstance(v, ast.AST) else v for v in value]
    return value


def _converter(cls):
    """Copy the fields and positions the node has into the gast class of the same name."""
    target = getattr(gast, cls.__name__, None)
    if target is None:  # not a node gast knows (as gast_to_ast: dropped)
        return lambda node: None
    if not cls._fields and not cls._attributes:
        shared = target()
        return lambda node: shared
    names = cls._fields + cls._attributes

    def convert(node):
        values = {}
        for name in names:
            value = getattr(node, name, _MISSING)
            if value is not _MISSING:
                values[name] = _value(value)
        return target(**values)

    return convert


_MISSING = object()


def _located(new, node):
    return ast.copy_location(new, node)  # as gast does for the nodes it converts by hand


def _name(node):
    return _located(gast.Name(id=node.id, ctx=_value(node.ctx), annotation=None, type_comment=None), node)


def _arg(node):
    annotation = _value(node.annotation)
    new = gast.Name(id=node.arg, ctx=gast.Param(), annotation=annotation, type_comment=node.type_comment)
    return _located(new, node)


def _except_handler(node):
    if not node.name:
        return _plain_handler(node)
    name = gast.Name(id=node.name, ctx=gast.Store(), annotation=None, type_comment=None)
    return _located(gast.ExceptHandler(type=_value(node.type), name=name, body=_value(node.body)), node)


def _with_type_params(cls):
    """A definition on a Python whose ast has no ``type_params``: gast's has, empty."""
    convert = _converter(cls)

    def with_type_params(node):
        new = convert(node)
        new.type_params = []
        return new

    return with_type_params


_plain_handler = _converter(ast.ExceptHandler)


class _Converters(dict):
    def __missing__(self, cls):
        convert = self[cls] = _converter(cls)
        return convert


_CONVERTERS = _Converters({ast.Name: _name, ast.arg: _arg, ast.ExceptHandler: _except_handler})
for _cls in (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef):
    if "type_params" not in _cls._fields:
        _CONVERTERS[_cls] = _with_type_params(_cls)
for _kind in ("TypeVar", "ParamSpec", "TypeVarTuple"):  # (Python 3.12+): as gast converts them
    if hasattr(ast, _kind):
        _CONVERTERS[getattr(ast, _kind)] = gast.ast_to_gast
