"""Rules for in-place operators. The code generated for ``x += y`` (and a user's ``x = operator.iadd(x, y)``)
calls fluxpy's own functions, updated functionally (rules/augmented.py); a user's other calls of
``operator.iadd`` (``operator.iadd(a, b)`` as a statement, ``c = operator.iadd(a, b)``) would lose the
change where Python makes it in place: refused (or, carrying no float, run as Python runs it). A user
class's ``__iadd__`` that changes its object is differentiated as a constructor is, and refused where another
name still holds that object (SHARED_IN_PLACE).

>>> y, back = AUGMENTED_RULES[augmented.OPERATORS.iadd](1.0, 2.0)
>>> y, back(1.0)
(3.0, (1.0, 1.0))
"""

import os

from ..backend import is_array, xp_of
from ..errors import FluxpyError
from . import augmented
from .helpers import cast_back
from .mutation import check_in_place_view
from .python_common import _SCALARS, SequenceIterator, _is_seq, _none_pullback, _numeric, _python_dunder
from .python_operators import add_rule, divide_rule, mod_rule, multiply_rule, subtract_rule
from .python_power import power_rule
from .registry import adjoint, nograd

# =========================================================================================================
# a user's call of operator.iadd (and the others), and a class's own __iop__


_PACKAGE_DIR = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


@nograd
def user_in_place(op, a, b, dunder=None):
    """The rule result of a user's ``op(a, b)`` (``operator.iadd(a, b)``) on an ``a`` that Python changes
    in place (``dunder``: the method Python calls, ``__iadd__``): run as Python runs it when no float is
    involved, refused otherwise; None when Python does not change ``a`` (a user class whose ``__iadd__``
    returns a new object: differentiated as usual)."""
    dunder = dunder or f"__{op.__name__}__"
    python = _python_dunder(a, dunder)
    if python is not None:
        if not in_place_method(a, dunder)[1]:
            return None
    elif not (runtime._carries_float(a) or runtime._carries_float(b)):
        return op(a, b), _none_pullback(2)
    raise in_place_operator_error(op, a)


@nograd
def in_place_operator_error(op, a):
    """The FluxpyError for a user's call of in-place operator ``op`` that would change ``a`` in place."""
    from ..errors import in_place_error

    kind = type(a).__name__
    return in_place_error(f"operator.{op.__name__}", kind, _outside_package_location(), "operator")


@nograd
def _outside_package_location():
    """``runtime.user_location()``, passing over the lines of fluxpy's own Python implementations
    (``functools.reduce(operator.iadd, ...)`` names the user's ``reduce`` line)."""
    import linecache
    import sys

    from ..transform.codegen import map_location

    frame = sys._getframe(1)
    while frame is not None:
        where = map_location(frame.f_code.co_filename, frame.f_lineno)
        if where is not None and not os.path.abspath(where[0]).startswith(_PACKAGE_DIR):
            file, line = where
            source = linecache.getline(file, line).strip()
            return f'File "{file}", line {line}' + (f"\n    {source}" if source else "")
        frame = frame.f_back
    return runtime.user_location()


def _mutating_in_place(method, a, b):
    """``a.__iop__(b)`` that changes ``a`` (writes its attributes) and returns it: run as a constructor is
    (a function returning its object, whose attribute writes are differentiated), as property setters are
    (see python_attributes._hooked_write)."""
    from ..transform.cache import forward_function

    check_shared_in_place(method, a)
    y, pb = forward_function(method, constructor=True)(method, a, b)

    def mutating_in_place_pullback(dy):
        g = pb(dy)
        return (g[1], g[2])

    return y, mutating_in_place_pullback


# ``(file, line)`` of a user's ``x op= y`` -> ``{name: line}``, the names that may also hold the object it
# changes, or hold it inside (filled by the normalizer: transform/shared_objects.py). An ``__iop__`` that
# changes its object in place there is refused while one of them does: fluxpy differentiates the change
# through ``x`` only, and the other reference would keep the object's old value for the reverse pass.
SHARED_IN_PLACE = {}


SHARED_IN_PLACE_CHANGE = (
    "{method} changes its object in place, and {holder!r} {how} too{shown}: fluxpy differentiates the "
    "change through the name or item written here only, so a gradient through {holder!r} would miss it.\n"
    "  {where}\n"
    "Write `x = x {sign} y` (a new object), let {method} return a new object, or make {holder!r} after "
    "this line."
)


@nograd
def check_shared_in_place(method, obj):
    """Refuse ``method``, an ``__iop__`` about to change ``obj`` in place, at a user line listed in
    SHARED_IN_PLACE when one of the names listed there holds ``obj`` (looked up in the frame of the
    generated code)."""
    if not SHARED_IN_PLACE:
        return
    import sys

    from ..transform.codegen import map_location

    frame = sys._getframe(1)
    while frame is not None:
        where = map_location(frame.f_code.co_filename, frame.f_lineno)
        others = SHARED_IN_PLACE.get(where) if where is not None else None
        names = frame.f_locals if others else {}
        for holder in sorted(others or ()):
            value = names.get(holder)
            if holder in names and _holds(value, obj, 3):
                import linecache

                file, line = where
                shown = f" (line {others[holder]})" if others[holder] is not None else ""
                message = SHARED_IN_PLACE_CHANGE.format(
                    method=method.__qualname__,
                    holder=holder,
                    how="is that object" if value is obj else "holds that object",
                    shown=shown,
                    where=f'File "{file}", line {line}\n    {linecache.getline(file, line).strip()}',
                    sign=_OPERATOR_SIGNS.get(method.__name__, "?"),
                )
                raise FluxpyError(message)
        frame = frame.f_back


def _holds(value, obj, depth):
    """Whether ``value`` is ``obj``, or holds it within ``depth`` levels of containers and attributes."""
    if value is obj:
        return True
    if depth == 0:
        return False
    if isinstance(value, dict):
        items = value.values()
    elif isinstance(value, (list, tuple, set, frozenset)):
        items = value
    elif type(value) is SequenceIterator:
        items = value.seq
    else:
        items = getattr(value, "__dict__", None)
        if not isinstance(items, dict) or isinstance(value, type):
            return False
        items = items.values()
    return any(_holds(v, obj, depth - 1) for v in items if not is_array(v))


_in_place_kinds = {}  # code object of an __iop__ method -> "mutates", "returns" or "mixed"


@nograd
def in_place_method(a, dunder):
    """``(method, mutates)`` for ``a``'s Python in-place operator ``dunder`` (None when its class has none):
    ``mutates`` when it writes attributes of its ``self`` and returns ``self`` (every ``return``). One
    that writes them and may return something else cannot be followed: refused."""
    method = _python_dunder(a, dunder)
    if method is None:
        return None
    kind = _in_place_kinds.get(method.__code__)
    if kind is None:
        kind = _in_place_kinds.setdefault(method.__code__, _in_place_kind(method))
    if kind == "mixed":
        from ..runtime import user_location

        raise FluxpyError(
            f"{method.__qualname__} changes its object's attributes and does not return it (self) in every "
            f"branch; fluxpy differentiates such an in-place operator only when it returns self.\n  "
            f"{user_location()}\nReturn self after the writes (a new object: write none), or write "
            f"`x = x {_OPERATOR_SIGNS.get(dunder, '?')} y`."
        )
    return method, kind == "mutates"


_OPERATOR_SIGNS = {
    "__iadd__": "+",
    "__isub__": "-",
    "__imul__": "*",
    "__itruediv__": "/",
    "__ipow__": "**",
    "__imatmul__": "@",
    "__ifloordiv__": "//",
    "__imod__": "%",
}


def _in_place_kind(method):
    """``"mutates"``, ``"returns"`` (it writes no attribute of ``self``: a plain function) or ``"mixed"``,
    from the method's source."""
    import ast

    from ..errors import SourceError
    from ..transform.source import get_source

    try:
        fdef = get_source(method).node
    except SourceError:
        return "returns"
    params = fdef.args.posonlyargs + fdef.args.args
    if not params:
        return "returns"
    me = params[0].arg
    writes = other_returns = False
    stack = list(fdef.body)
    while stack:
        node = stack.pop()
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.Lambda, ast.ClassDef)):
            continue  # a nested function's own writes and returns
        if isinstance(node, (ast.Assign, ast.AugAssign, ast.AnnAssign, ast.Delete)):
            targets = node.targets if isinstance(node, (ast.Assign, ast.Delete)) else [node.target]
            writes = writes or any(_writes_into(t, me) for t in targets)
        elif isinstance(node, ast.Call) and node.args and isinstance(node.args[0], ast.Name):
            func = node.func
            setter = (isinstance(func, ast.Name) and func.id == "setattr") or (
                isinstance(func, ast.Attribute) and func.attr == "__setattr__"
            )
            writes = writes or (setter and node.args[0].id == me)
        elif isinstance(node, ast.Return):
            other_returns = other_returns or not (isinstance(node.value, ast.Name) and node.value.id == me)
        stack.extend(ast.iter_child_nodes(node))
    if not writes:
        return "returns"
    return "mixed" if other_returns else "mutates"


def _writes_into(target, name):
    """Whether assignment target ``target`` writes into the object named ``name`` (``name.a = ...``)."""
    import ast

    if isinstance(target, (ast.Tuple, ast.List)):
        return any(_writes_into(t, name) for t in target.elts)
    if isinstance(target, ast.Starred):
        return _writes_into(target.value, name)
    while isinstance(target, (ast.Attribute, ast.Subscript)):
        target = target.value
        if isinstance(target, ast.Name):
            return target.id == name
    return False


# =========================================================================================================
# fluxpy's a op= b (rules/augmented.py), and Python's operator.iop


def _functional_in_place_rule(op, fn, plain, symbol, dunder):
    """The rule of ``fn``, fluxpy's ``a op= b`` (rules/augmented.py: ``iadd``), from ``plain``, the rule of
    ``a op b``. An array ``a`` is updated functionally (a new array), so one that views another array is
    refused: Python would write into the data they share; the new array is what NumPy's in-place ``op``
    (``operator.iadd``) stores, of ``a``'s dtype and shape (:func:`in_place_array`)."""

    def augmented_rule(a, b):
        if type(a) in _SCALARS:
            return plain(a, b)
        if _numeric(a) or _is_seq(a):
            check_in_place_view(a, symbol)
            if is_array(a):
                return in_place_array(op, plain, a, b)
            return plain(a, b)
        found = in_place_method(a, dunder)
        if found is None:
            return plain(a, b)
        method, mutates = found
        if mutates:
            return _mutating_in_place(method, a, b)
        from ..runtime import call

        y, pb = call(method, a, b)
        if y is NotImplemented:
            return plain(a, b)

        def in_place_method_pullback(dy):
            return pb(dy)[1:]

        return y, in_place_method_pullback

    augmented_rule.__name__ = f"{fn.__name__}_rule"
    return augmented_rule


def in_place_array(op, plain, a, b):
    """``a op= b`` on array ``a`` as a new array (``plain``: the rule of ``a op b``) holding what NumPy's
    in-place ``op`` writes into ``a``: ``a``'s dtype (cast as NumPy casts, "same_kind": a float64 result
    into a float32 ``a``; a float one into an integer ``a`` raises NumPy's own error) and ``a``'s shape (a
    0-d ``a`` stays a 0-d array, where ``a op b`` gives a NumPy scalar; a result broadcast beyond ``a``'s
    shape raises). ``a``'s cotangent keeps ``a``'s dtype."""
    y, pb = plain(a, b)
    if is_array(y) and y.dtype == a.dtype and y.shape == a.shape:
        return y, pb
    check_in_place_fits(op, a, b, y)
    stored = stored_as(y, a)

    def in_place_array_pullback(dy):
        g = pb(cast_back(dy, y))
        return (cast_back(g[0], a), g[1])

    return stored, in_place_array_pullback


@nograd
def check_in_place_fits(op, a, b, y):
    """Raise what NumPy raises for ``op(a, b)`` (``a += b`` on an array) when its result ``y`` (of ``a op
    b``) does not fit into ``a``: a shape ``a`` does not have, a dtype NumPy does not cast into ``a``'s."""
    xp = xp_of(a)
    if getattr(y, "shape", ()) != a.shape or not xp.can_cast(y.dtype, a.dtype, casting="same_kind"):
        op(a.copy(), b)  # NumPy's own error, on a copy (``a`` itself is never written)


def stored_as(y, a):
    """``y`` as NumPy's in-place operation stores it into array ``a``: an array of ``a``'s dtype."""
    return xp_of(a).asarray(y, dtype=a.dtype)


@adjoint(stored_as)
def stored_as_rule(y, a):
    def stored_as_pullback(dd):
        return (cast_back(dd, y), None)

    return stored_as(y, a), stored_as_pullback


def _in_place_operator_rule(op, functional, dunder):
    """The rule of Python's ``op`` (``operator.iadd``), which only a user's call reaches where the
    functional update would be wrong (see rules/augmented.py): an ``a`` that Python changes in place is
    refused, or run as Python runs it when no float is involved (user_in_place); anything else (numbers,
    tuples, a user class whose ``__iadd__`` returns a new object) is ``functional``'s, the rule of fluxpy's
    ``a op= b``."""

    def in_place_operator_rule(a, b):
        if hasattr(type(a), dunder):
            done = user_in_place(op, a, b, dunder)
            if done is not None:
                return done
        return functional(a, b)

    in_place_operator_rule.__name__ = f"operator_{op.__name__}_rule"
    return in_place_operator_rule


def _floordiv_rule(a, b):
    return a // b, _none_pullback(2)


def _matmul_rule(a, b):
    from .numpy_linalg import matmul_rule

    return matmul_rule(a, b)


_PLAIN_RULES = {
    "+": add_rule,
    "-": subtract_rule,
    "*": multiply_rule,
    "/": divide_rule,
    "**": power_rule,
    "%": mod_rule,
    "@": _matmul_rule,
    "//": _floordiv_rule,
}


AUGMENTED_RULES = {}  # rules/augmented.py's iadd, ... -> its rule (transform/inline.py inlines + - * /'s)


for _op, _fn, _symbol, _dunder in augmented.TABLE:
    _rule = _functional_in_place_rule(_op, _fn, _PLAIN_RULES[_symbol], _symbol, _dunder)
    AUGMENTED_RULES[_fn] = adjoint(_fn)(_rule)
    adjoint(_op)(_in_place_operator_rule(_op, _rule, _dunder))


from .. import runtime  # noqa: E402  (last: runtime's own imports reach this module)
