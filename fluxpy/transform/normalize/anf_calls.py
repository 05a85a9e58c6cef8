"""The calls of the ANF pass (anf.py): the callee (or a method's object) first, then the arguments left to
right, then the keywords' values, as Python evaluates a call; a method call on a value becomes
``__fx_call_method``, and starred arguments one trailing ``*t``.

Before::

    y = model.predict(x, *rest, scale=2 * s)

After::

    _args = __fx_call(__fx_tuple, rest)
    _mul = __fx_call(__fx_op.mul, 2, s)
    y = __fx_call_method(model, 'predict', x, *_args, scale=_mul)
"""

import gast

from .. import nodes as n
from .anf_names import CALL, CALL_METHOD


class Calls:
    """Methods of anf._ANF: a call's callee and arguments (``call``, ``arguments``)."""

    def call(self, e):
        if isinstance(e.func, gast.Name) and e.func.id == "super" and not e.args and self.ctx.first_param:
            # the zero-argument form needs the frame of a method defined in the class: spell it out
            e = gast.Call(func=e.func, args=[n.name("__class__"), n.name(self.ctx.first_param)], keywords=[])
        functional = self.functional_in_place(e)  # operator.iadd(x * 2, v): fluxpy's x += v (anf_updates)
        # as Python evaluates a call: the callee (a method's object), then the arguments left to right, then
        # the keywords' values
        func, obj, callee = e.func, None, None
        if functional is None:
            if isinstance(func, gast.Attribute) and not self.is_static(func):
                obj = self.atom(func.value)
            else:
                callee = self.callee(func)
        args = self.arguments(e.args, call=True)
        keywords = [gast.keyword(arg=k.arg, value=self.atom(k.value)) for k in e.keywords]
        if functional is not None:
            return self.op_call(functional, args)
        if obj is not None:
            return n.call(CALL_METHOD, [obj, n.const(func.attr)] + args, keywords)
        return n.call(CALL, [callee] + args, keywords)

    def callee(self, func):
        if isinstance(func, gast.Name) or self.is_static(func):
            return func
        return self.atom(func)

    def arguments(self, elts, call=False):
        """Atoms for call arguments or container items; starred items become one trailing ``*t``.

        A call's single splatted value is read into a tuple first (``__fx_tuple``) unless it is the
        function's own ``*args``: an iterator (``g(*map(f, xs))``) can be read only once, and the adjoint
        reads a splatted value's length and items again for the call's mask and gradients."""
        starred = [i for i, a in enumerate(elts) if isinstance(a, gast.Starred)]
        if not starred:
            return [self.atom(a) for a in elts]
        if starred == [len(elts) - 1] and call and not self.is_own_varargs(elts[-1].value):
            return [self.atom(a) for a in elts[:-1]] + [
                gast.Starred(
                    value=self.atom_of_value(n.call(CALL, [n.name("__fx_tuple"), self.atom(elts[-1].value)])),
                    ctx=gast.Load(),
                )
            ]
        if starred == [len(elts) - 1]:
            return [self.atom(a) for a in elts[:-1]] + [
                gast.Starred(value=self.atom(elts[-1].value), ctx=gast.Load())
            ]
        pieces = []
        run = []
        for a in elts:
            if isinstance(a, gast.Starred):
                if run:
                    pieces.append(n.call(CALL, [n.name("__fx_pack_tuple")] + run))
                    run = []
                pieces.append(n.call(CALL, [n.name("__fx_tuple"), self.atom(a.value)]))
            else:
                run.append(self.atom(a))
        if run:
            pieces.append(n.call(CALL, [n.name("__fx_pack_tuple")] + run))
        total = self.atom_of_value(pieces[0])
        for piece in pieces[1:]:
            total = self.atom_of_value(self.op_call("add", [total, self.atom_of_value(piece)]))
        return [gast.Starred(value=total, ctx=gast.Load())]

    def is_own_varargs(self, e):
        return isinstance(e, gast.Name) and e.id == self.own_varargs

    def atom_of_value(self, value):
        target = self.ctx.namer.fresh("_args")
        self.emit(n.assign(target, value))
        return n.name(target)
