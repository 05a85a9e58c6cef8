"""Pass: a condition that changes a local list (``s.pop()`` in an ``if`` or ``while`` test) is computed by
statements of its own first, which ``anf`` then normalizes as any other list method (rebinding the list).

Postcondition: no ``if``/``while`` test calls ``append``/``extend``/``insert``/``pop`` on a local list.

Before::

    def f(x):
        s = [x, 2 * x]
        while s.pop() > 1:
            x = x * 2
        return x

After::

    def f(x):
        s = [x, 2 * x]
        while True:
            _pop = s.pop()
            if not _pop > 1:
                break
            x = x * 2
        return x

A call that a test evaluates only sometimes (after ``and``/``or``, in ``a if c else b``) cannot move: it is
a TransformError naming the line.
"""

import copy

import gast

from ...errors import unsupported
from .. import nodes as n
from .anf_names import LIST_METHODS

_SCOPES = (gast.FunctionDef, gast.AsyncFunctionDef, gast.ClassDef, gast.Lambda)
_COMPREHENSIONS = (gast.ListComp, gast.SetComp, gast.DictComp, gast.GeneratorExp)


def hoist_condition_calls(fdef, ctx):
    fdef.body = _Hoist(ctx).block(fdef.body)
    return fdef


class _Hoist:
    def __init__(self, ctx):
        self.ctx = ctx

    def block(self, stmts):
        out = []
        for s in stmts:
            out += self.stmt(s)
        return out

    def stmt(self, s):
        if isinstance(s, _SCOPES):
            return [s]  # a nested function is normalized when it is itself differentiated
        for field in ("body", "orelse", "finalbody"):
            if isinstance(getattr(s, field, None), list):
                setattr(s, field, self.block(getattr(s, field)))
        if isinstance(s, gast.Try):
            for handler in s.handlers:
                handler.body = self.block(handler.body)
        if not isinstance(s, (gast.If, gast.While)):
            return [s]
        hoisted, test = self.hoisted(s.test, s)
        if not hoisted:
            return [s]
        if isinstance(s, gast.If):
            s.test = test
            return hoisted + [s]
        if any(isinstance(node, (gast.Break, gast.Continue)) for e in s.orelse for node in gast.walk(e)):
            raise self.error(s, "break or continue in the else of this while loop", "move it after the loop")
        # the loop's else runs when the test fails: just before that break
        exit_ = n.located(n.if_(gast.UnaryOp(op=gast.Not(), operand=test), s.orelse + [gast.Break()]), s)
        loop = gast.While(test=n.const(True), body=hoisted + [exit_] + s.body, orelse=[])
        return [n.located(loop, s)]

    def error(self, node, what, hint):
        line = getattr(node, "lineno", 0) or 0
        return unsupported(
            what,
            file=self.ctx.source.file,
            line=line,
            col=getattr(node, "col_offset", 0) or 0,
            source_line=self.ctx.source.line(line),
            hint=hint,
        )

    def is_list_method(self, node):
        return (
            isinstance(node, gast.Call)
            and isinstance(node.func, gast.Attribute)
            and isinstance(node.func.value, gast.Name)
            and node.func.value.id in self.ctx.local_lists
            and node.func.attr in LIST_METHODS
        )

    def hoisted(self, test, where):
        """``(assignments, test)``: each list-method call of ``test`` assigned to a fresh name, in the order
        Python evaluates them, and the test reading the names."""
        if not any(self.is_list_method(node) for node in gast.walk(test)):
            return [], test
        hoisted = []

        def visit(node, sometimes):
            if isinstance(node, _COMPREHENSIONS + (gast.Lambda,)):
                return node
            for field, value in gast.iter_fields(node):
                if isinstance(value, list):
                    later = isinstance(node, gast.BoolOp)
                    setattr(
                        node, field, [_visit(v, sometimes or (later and i > 0)) for i, v in enumerate(value)]
                    )
                elif isinstance(value, gast.AST):
                    inner = sometimes or (isinstance(node, gast.IfExp) and field != "test")
                    setattr(node, field, _visit(value, inner))
            if self.is_list_method(node):
                if sometimes:
                    raise self.error(
                        node if getattr(node, "lineno", None) else where,
                        f"{node.func.value.id}.{node.func.attr}() evaluated only sometimes in a condition",
                        f"call {node.func.attr}() on a line of its own before the condition",
                    )
                name = self.ctx.namer.fresh("_" + node.func.attr)
                hoisted.append(n.located(n.assign(name, node), where))
                return n.name(name)
            return node

        def _visit(value, sometimes):
            return visit(value, sometimes) if isinstance(value, gast.AST) else value

        return hoisted, visit(copy.deepcopy(test), False)
