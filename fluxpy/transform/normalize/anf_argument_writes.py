"""The check after a call of the ANF pass (anf.py) whose callee may write into an argument the caller reads
afterwards and cannot rebind (a global, a captured variable: the write-back form, anf_writeback.py, is for
local names): the callee wrote into a copy in differentiated code, which the caller would not see, so the
write is refused at run time (runtime.check_writes).

Before::

    fill(buf, w)        # buf: a global, read after the call
    return buf[0]

After::

    _ = __fx_call(fill, buf, w)
    __fx_check_writes(fill, (0,), ('buf',), (buf,))
    _getitem = __fx_call(__fx_op.getitem, buf, 0)
    return _getitem
"""

import builtins

import gast

from .. import nodes as n
from ..aliases import FRESH_METHODS
from .anf_names import CALL_METHOD


class ArgumentWrites:
    """Methods of anf._ANF: the runtime check of a call's writes into its arguments."""

    def check_argument_writes(self, e, call):
        """After ``y = f(a, b)`` (or ``f(a, b)`` alone) where the caller reads ``a`` afterwards and cannot
        rebind it (a global, a captured variable: the write-back form, anf_writeback.py, is for local
        names): a Python ``f`` that writes into its argument (``buf[0] = v``, ``buf += v`` on an array or
        list) wrote into a copy in differentiated code, which the caller would not see.
        ``__fx_check_writes(f, (0,), ('a',), (a,))`` refuses that at run time (runtime.check_writes), in
        every mode."""
        self.check_passed_writes(e, call)
        found = self.live_arguments(e, call)
        if not found:
            return
        method, live = found
        for i, name in live:
            positions, names, values = n.const((i,)), n.const((name,)), n.tuple_([n.name(name)])
            if method:
                check = n.call(
                    "__fx_check_method_writes", [call.args[0], call.args[1], positions, names, values]
                )
            else:
                check = n.call("__fx_check_writes", [call.args[0], positions, names, values])
            local = name in self.local_names and name not in self.ctx.freevars
            statement = isinstance(self.where, gast.Expr) and self.where.value is e
            if statement or not local or name in self.ctx.local_lists:
                self.emit(gast.Expr(value=check))  # (a global or captured name: any value)
                continue
            # a function defined here, in an expression: an array only, as before write-backs
            array = n.call("__fx_getattr", [n.name(name), n.const("__array_priority__"), n.const(None)])
            self.emit(n.if_(n.is_not_none(array), [n.located(gast.Expr(value=check), self.where)]))

    def live_arguments(self, e, call):
        """``(method, [(position, name)])``: the arguments of the user's call ``e`` (normalized: ``call``)
        that are names the caller may read afterwards (:meth:`read_later`) and the statement does not bind
        again (``buf = fill(buf, w)``, the way to write it), for a callee that may be a Python function;
        None if none. A position is an int, or a str for an argument passed by keyword (``f(x, d=d)``)."""
        if not self.user_code() or any(k.arg is None for k in e.keywords):
            return None
        if not self.may_be_python(e, call):
            return None
        method = call.func.id == CALL_METHOD
        args = call.args[2:] if method else call.args[1:]
        if any(isinstance(a, gast.Starred) for a in args):
            return None
        rebound = _stored_names(self.where)
        passed = [(i, a) for i, a in enumerate(args)] + [(k.arg, k.value) for k in call.keywords]
        live = [
            (i, a.id)
            for i, a in passed
            if isinstance(a, gast.Name) and a.id not in rebound and self.read_later(a.id, e)
        ]
        return (method, live) if live else None

    def may_be_python(self, e, call):
        """Whether the callee of the user's call ``e`` may be a Python function (not a builtin, a helper
        of generated code, a module's function or a method that makes a new object)."""
        func = e.func
        if isinstance(func, gast.Name) and (func.id.startswith("__fx_") or hasattr(builtins, func.id)):
            return False
        if isinstance(func, gast.Attribute) and (self.is_static(func) or func.attr in FRESH_METHODS):
            return False
        method = call.func.id == CALL_METHOD
        return method or not _is_operator(call.args[0])  # operator.iadd(x * 2, v), written as x += v


class Positions:
    """Where each statement of the function is: its block, its index there, and the statement that owns the
    block (None: the function's body)."""

    def __init__(self, fdef):
        self.parent = {}
        self.later = {}  # id(statement) -> the names that may be read after it
        self.visit(fdef.body, None)

    def visit(self, block, owner):
        for i, s in enumerate(block):
            self.parent[id(s)] = (block, i, owner)
            if isinstance(s, gast.FunctionDef):
                continue
            for field in ("body", "orelse", "finalbody"):
                inner = getattr(s, field, None)
                if type(inner) is list:
                    self.visit(inner, s)
            for handler in getattr(s, "handlers", None) or []:
                self.visit(handler.body, s)

    def read_after(self, stmt, name):
        """Whether ``name`` may be read after ``stmt`` runs: later in its block and the blocks around it,
        anywhere in a loop (or ``try``) around it, in a nested function."""
        names = self.later.get(id(stmt))
        if names is None:
            later = []
            node = stmt
            while id(node) in self.parent:
                block, i, owner = self.parent[id(node)]
                later += block[i + 1 :]
                if owner is None:
                    break
                if isinstance(owner, (gast.For, gast.While, gast.Try)):
                    later.append(owner)
                node = owner
            names = self.later[id(stmt)] = {
                x.id
                for s in later
                for x in n.walk(s)
                if isinstance(x, gast.Name) and isinstance(x.ctx, gast.Load)
            }
        return name in names


def _stored_names(stmt):
    """The names a user statement binds (``buf`` of ``buf = fill(buf, w)``; not ``d`` of ``d['a'] = ...``,
    a write into it)."""
    targets = stmt.targets if isinstance(stmt, gast.Assign) else [getattr(stmt, "target", None)]
    return {
        x.id
        for t in targets
        if t is not None
        for x in n.walk(t)
        if isinstance(x, gast.Name) and not isinstance(x.ctx, gast.Load)
    }


def _is_operator(callee):
    """``__fx_op.<name>``: an operator of generated code."""
    return (
        isinstance(callee, gast.Attribute)
        and isinstance(callee.value, gast.Name)
        and callee.value.id == "__fx_op"
    )
