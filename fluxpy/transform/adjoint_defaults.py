"""Stage 5, parameters with default values (a mixin of adjoint._Adjoint): the checks ``fx.params`` needs.

A default value is one object, made when the ``def`` ran: with ``def f(x, w=W)``, a gradient that reaches
``w`` reaches ``W`` when the call omitted ``w``, and the caller's argument otherwise. Which one it was is not
known (the caller may pass ``W`` itself), so a gradient for ``fx.params`` reaching a parameter through a
default is refused, at run time (implicit.record), rather than dropped or counted twice. The pullback
records the parameter's value as passed with its cotangent::

    def f__forward(_fx_self, x, w):
        _fx_passed_w = w            # w is assigned again below: keep the value passed
        ...
        def f_pullback(d_out):
            ...
            if __fx_implicit[0] and d_w is not None:
                __fx_record(_fx_passed_w, d_w, _fx_self, 0, "'w' of f (file.py:4)")

A constant default (``-1``, ``(0, 1)``) or an attribute of a library's module (``dtype=np.float32``) needs
no check.
"""

import os

import gast

from . import nodes as n
from .activity import _assignments, _names_in, _walk_statements


class DefaultChecks:
    """Methods of adjoint._Adjoint: which active parameters have defaults that may hold a parameter, and
    their checks in the pullback. They use the core's names (``stable``, ``active``, ``self_name``)."""

    def defaulted_params(self):
        """``(parameter, its default's position or keyword-only name, the parameter described)`` for the
        active parameters whose default value may hold an ``fx.params`` parameter (not a constant, not an
        attribute of a library's module). Generated code (a forward function differentiated again, for a
        gradient of a gradient) has its defaults bound at run time: its parameters checked one level down
        (their pullback's ``record`` calls, see default_checks) are checked again here."""
        found = self.__dict__.get("_defaulted")
        if found is not None:
            return found
        args = self.fdef.args
        positional = args.posonlyargs + args.args
        pairs = list(enumerate(positional[len(positional) - len(args.defaults) :]))
        pairs = [(a, i) for i, a in pairs]
        pairs += [(a, a.id) for a, d in zip(args.kwonlyargs, args.kw_defaults, strict=True) if d is not None]
        defaults = list(args.defaults) + [d for d in args.kw_defaults if d is not None]
        found = []
        for (a, where), d in zip(pairs, defaults, strict=True):
            if a.id in self.active and _names_in(d):  # (not ``-1``, ``(0, 1)``)
                if isinstance(d, gast.Attribute) and not self.is_global(d):
                    continue  # ``dtype=np.float32``
                found.append((a.id, where, f"{a.id!r} of {self.where()}"))
        if self.ctx.source.generated:
            found += self._checked_below({name for name, _, _ in found})
        self._defaulted = found
        self._initial = {
            name: name if name in self.stable else self.namer.fresh(f"_fx_passed_{name}")
            for name, _, _ in found
        }
        return found

    def _checked_below(self, seen):
        """The parameters of this generated forward function whose defaults its pullback (a nested def)
        checks: ``__fx_record(a, d_a, _fx_self, 0, "'a' of f (file.py:3)")`` with ``_fx_self`` and ``a``
        parameters here (or ``a``'s value as passed: ``_fx_passed_a = a``)."""
        params = set(self.params) | set(self.kwonly)
        passed = {
            target: value.id
            for target, value in _assignments(self.body)
            if isinstance(value, gast.Name) and value.id in params
        }
        out = []
        for s in _walk_statements(self.body):
            if not isinstance(s, gast.FunctionDef):
                continue
            for node in n.walk(s):
                if not (
                    isinstance(node, gast.Call)
                    and isinstance(node.func, gast.Name)
                    and node.func.id == "__fx_record"
                    and len(node.args) == 5
                    and all(isinstance(a, gast.Name) for a in node.args[:3])
                    and all(isinstance(a, gast.Constant) for a in node.args[3:])
                    and node.args[2].id in params
                ):
                    continue
                name = passed.get(node.args[0].id, node.args[0].id)
                if name in params and name in self.active and name not in seen:
                    seen.add(name)
                    out.append((name, node.args[3].value, node.args[4].value))
        return out

    def initial_value(self, name):
        """The name holding parameter ``name``'s value as passed: itself, unless it is assigned again."""
        return self._initial[name]

    def where(self):
        """``f (file.py:12)``: this function as the user wrote it (through generated code's locations)."""
        from .codegen import map_location  # (codegen imports this module)

        file, line = self.ctx.source.file, self.fdef.lineno
        if self.ctx.source.generated:
            file, line = map_location(file, line) or (file, line)
        name = self.fdef.name
        name = "a lambda" if name.startswith("lambda_L") or name == "<lambda>" else name
        return f"{name} ({os.path.basename(file)}:{line})"

    def default_checks(self):
        """``if implicit gradients are running and d_a is not None: record(a, d_a, f, 0, ...)``, per
        parameter ``a`` with a default: ``fx.params`` refuses a gradient reaching a parameter through it
        (the call may or may not have used the default: see implicit.record)."""
        out = []
        for name, where, what in self.defaulted_params():
            test = gast.BoolOp(
                op=gast.And(),
                values=[
                    n.subscript(n.name("__fx_implicit"), n.const(0)),
                    n.is_not_none(n.name(self.adj(name))),
                ],
            )
            call = n.call(
                "__fx_record",
                [
                    n.name(self.initial_value(name)),
                    n.name(self.adj(name)),
                    n.name(self.self_name),
                    n.const(where),
                    n.const(what),
                ],
            )
            out.append(n.if_(test, [gast.Expr(value=call)]))
        return out
