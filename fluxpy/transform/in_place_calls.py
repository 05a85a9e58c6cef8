"""Pass (run by the fence's item-target check, item_targets.py): NumPy's functions that write into their
first argument, called as a statement on a name, become a write of the whole of it with the functional
form's new array, so that they are differentiated (and checked for aliases) as any item assignment; a call
with ``out=`` likewise (out_writes.py).

Before::

    np.fill_diagonal(a, v)
    np.floor(x, out=y)

After::

    a[...] = __fx_fill_diagonal_value(a, v)
    y[...] = np.floor(x)

The functional forms are rules/numpy_assembly.py's (``copyto_value``, ...), bound by codegen.py.
"""

import gast

from . import nodes as n
from .out_writes import out_write

# NumPy functions that write into their first argument, and the codegen helpers for their functional forms
# (rules/numpy_assembly.py: copyto_value, ...)
IN_PLACE_CALLS = {
    "copyto": "__fx_copyto_value",
    "fill_diagonal": "__fx_fill_diagonal_value",
    "put": "__fx_put_value",
    "put_along_axis": "__fx_put_along_axis_value",
    "putmask": "__fx_putmask_value",
    "place": "__fx_place_value",
}


_NUMPY_NAMES = frozenset({"np", "numpy"})


def rewrite_in_place_calls(fdef):
    """``np.fill_diagonal(a, v)`` (``copyto``, ``put``, ``put_along_axis``, ``putmask``, ``place``) as a
    statement on a name: a write of the whole of ``a`` with the functional form's new array,
    ``a[...] = __fx_fill_diagonal_value(a, v)``, so that it is differentiated (and checked for aliases) as
    any item assignment; ``np.floor(x, out=y)`` likewise (out_writes.py). Returns whether something was
    rewritten; rewrites ``fdef`` in place."""
    rewritten = False

    def in_place(s):
        if not (isinstance(s, gast.Expr) and isinstance(s.value, gast.Call)):
            return out_write(s)  # z = np.floor(x, out=y): y[...] = np.floor(x); z = y
        call, func = s.value, s.value.func
        if not (
            isinstance(func, gast.Attribute)
            and isinstance(func.value, gast.Name)
            and func.value.id in _NUMPY_NAMES
            and func.attr in IN_PLACE_CALLS
            and call.args
            and isinstance(call.args[0], gast.Name)
            and not any(isinstance(a, gast.Starred) for a in call.args)
            and all(k.arg is not None for k in call.keywords)
        ):
            return out_write(s)  # np.floor(x, out=y): y[...] = np.floor(x)
        name = call.args[0].id
        value = gast.Call(func=n.name(IN_PLACE_CALLS[func.attr]), args=call.args, keywords=call.keywords)
        target = gast.Subscript(value=n.name(name), slice=n.const(Ellipsis), ctx=gast.Store())
        return n.located(gast.Assign(targets=[target], value=value, type_comment=None), s)

    def rewrite(stmts):
        nonlocal rewritten
        out = []
        for s in stmts:
            for field in ("body", "orelse", "finalbody"):
                if type(getattr(s, field, None)) is list and not isinstance(s, gast.FunctionDef):
                    setattr(s, field, rewrite(getattr(s, field)))
            for handler in getattr(s, "handlers", None) or []:
                handler.body = rewrite(handler.body)
            new = in_place(s)
            rewritten = rewritten or new is not None
            out.extend([s] if new is None else new if type(new) is list else [new])
        return out

    fdef.body = rewrite(fdef.body)
    return rewritten
