"""Pass (run by the fence's item-target check, item_targets.py): a runtime check before each item write into
a name bound to a method's result, which may be one of the receiver's own objects.

Before::

    h = self.fc(x)
    h[0] = 0.0

After::

    h = self.fc(x)
    __fx_check_receiver_part(h, self, ('h', 'self'), 2)
    h[0] = 0.0

Which writes need the check, aliases.first_shared_write finds (``receiver_checks``).
"""

import gast

from . import nodes as n


def guard_receiver_parts(fdef, checks):
    """Before each ``h[i] = v`` where ``h`` was bound to a method's result (``h = obj.get()``, ``h =
    self.fc(x)``), insert ``__fx_check_receiver_part(h, obj, ('h', 'obj', method), line)``: refused at run
    time when ``h`` is one of the receiver's objects or shares memory with one of its arrays (the write
    would show through the receiver in Python), passed for a new array (a layer's output)."""
    if not checks:
        return
    by_statement = {}
    for stmt, name, receiver, line in checks:
        by_statement.setdefault(id(stmt), []).append((name, receiver, line))

    def guarded(stmts):
        out = []
        for s in stmts:
            for field in ("body", "orelse", "finalbody"):
                if type(getattr(s, field, None)) is list and not isinstance(s, gast.FunctionDef):
                    setattr(s, field, guarded(getattr(s, field)))
            for handler in getattr(s, "handlers", None) or []:
                handler.body = guarded(handler.body)
            for name, receiver, line in by_statement.get(id(s), ()):
                args = [n.name(name), n.name(receiver), n.const((name, receiver)), n.const(line)]
                out.append(n.located(gast.Expr(value=n.call("__fx_check_receiver_part", args)), s))
            out.append(s)
        return out

    fdef.body = guarded(fdef.body)
