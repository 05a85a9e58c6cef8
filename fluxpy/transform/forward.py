"""Stage 5 (forward mode): from a normalized function, generate its Jacobian-vector-product function.

``f(x, ...)`` becomes ``f__jvp(self, tself, targs, x, ...) -> (y, ty)``: every statement is followed by its
tangent statement, in the same control flow, so loops and branches need no tape::

    # primal:
    y = __fx_call(__fx_op.mul, x, w)
    # with tangents:
    y, t_y = __fx_jvp_call(__fx_op.mul, None, (x, w), (t_x, t_w), {}, {})

``tself`` is the tangent of the function object (its closure's captured variables), ``targs`` one tangent
per positional parameter (None: zero). A local function's tangent is made where it is defined::

    def g(t, k=k):
        return t * w
    t_g = __fx_closure_tangent(
        g, ('__fx_live__', '__fx_defaults__'),
        (lambda: __fx_closure_tangent(g, ('w',), (t_w,)), ((t_k,), {})))

a closure reads its variables when it is called, and so does its tangent: ``w`` may change after the ``def``
(a loop, a later assignment, a recursive call), so the field ``__fx_live__`` holds a thunk that reads the
tangents as they are then (fluxpy/forward.py's ``settled`` calls it).

Tuples built, unpacked and indexed, and arithmetic, skip ``__fx_jvp_call`` (``_Tangents.direct_call``): the
JVP code of generated reverse code (forward over reverse) does little else between its calls::

    _items, t__items = __fx_jvp_unpack(_add, t__add, 2)     # y, pb = rule(...)
    _tuple, t__tuple = ((_mean, pullback), (t__mean, t_pullback))
    _mul, t__mul = __fx_jvp_binary(__fx_op.mul, d__add, t_d__add, x, t_x)
"""

import os

import gast

from ..forward import DEFAULTS, LIVE, UNKNOWN
from . import nodes as n
from .activity import _captured, _is_active_call
from .adjoint import Signature, mark_locations
from .normalize.anf_names import CALL


def build_jvp(fdef, ctx):
    """The gast FunctionDef of the JVP function for the normalized ``fdef``."""
    return _Tangents(fdef, ctx).build()


class _Tangents(Signature):
    def __init__(self, fdef, ctx):
        super().__init__(fdef, ctx)
        self._names = {}
        self.last_line = None

    def t(self, name):
        """The tangent variable of ``name`` (``t_x``)."""
        if name not in self._names:
            self._names[name] = self.namer.fresh(f"t_{name}")
        return self._names[name]

    def tangent_of(self, node):
        """The tangent expression of an atom: its tangent variable, or None for constants and globals."""
        if isinstance(node, gast.Name) and node.id in self.locals:
            return n.name(self.t(node.id))
        return n.const(None)

    # -- the whole function -------------------------------------------------------------------------------
    def build(self):
        names = ("_fx_self", "_fx_tself", "_fx_targs", "_fx_tkw")
        self_name, tself, targs, tkw = (self.namer.fresh(b) for b in names)
        body = []
        if self.freevars:
            targets = n.tuple_([n.name(v, store=True) for v in self.freevars], store=True)
            names = n.tuple_([n.const(v) for v in self.freevars])
            body.append(
                gast.Assign(
                    targets=[targets],
                    value=n.call("__fx_freevars", [n.name(self_name), names]),
                    type_comment=None,
                )
            )
            for v in self.freevars:
                body.append(n.assign(self.t(v), n.call("__fx_tangent_field", [n.name(tself), n.const(v)])))
        for i, p in enumerate(self.params):
            body.append(n.assign(self.t(p), n.subscript(n.name(targs), n.const(i))))
        if self.vararg:
            rest = n.subscript(
                n.name(targs), gast.Slice(lower=n.const(len(self.params)), upper=None, step=None)
            )
            body.append(n.assign(self.t(self.vararg), rest))
        for a in self.fdef.args.kwonlyargs:
            body.append(n.assign(self.t(a.id), n.call("__fx_tangent_item", [n.name(tkw), n.const(a.id)])))
        if self.fdef.args.kwarg:
            body.append(n.assign(self.t(self.fdef.args.kwarg.id), n.name(tkw)))
        initialized = set(self.params) | set(self.freevars) | {a.id for a in self.fdef.args.kwonlyargs}
        initialized |= {v for v in (self.vararg, self.fdef.args.kwarg and self.fdef.args.kwarg.id) if v}
        for name in sorted(self.locals - initialized):
            body.append(n.assign(self.t(name), n.const(None)))  # read before assigned on some paths
        body += self.block(self.fdef.body)
        if not (self.fdef.body and isinstance(self.fdef.body[-1], gast.Return)):
            body.append(gast.Return(value=n.tuple_([n.const(None), n.const(None)])))  # falls off the end
        name = self.namer.fresh(f"{self.fdef.name.replace('<', '').replace('>', '')}__jvp")
        return n.generated_function(name, [self_name, tself, targs, tkw], self.fdef.args, body)

    # -- statements ---------------------------------------------------------------------------------------
    def block(self, stmts):
        out = []
        for s in stmts:
            out += self.comment(s)
            out += self.stmt(s)
        return out

    def comment(self, s):
        """``# <user line>  (file:line)`` before the first statement made from a user line: the generated
        code reads alongside its source, and errors raised in it name the user's line (codegen.py)."""
        line = getattr(s, "lineno", None)
        if line is None or line == self.last_line:
            return []
        self.last_line = line
        file = self.ctx.source.file
        if self.ctx.source.generated:  # no comment line, only the location (as adjoint.py's)
            self.ctx.comments.append((None, file, line))
        else:
            text = f"{self.ctx.source.line(line).strip()}  ({os.path.basename(file)}:{line})"
            self.ctx.comments.append((text, file, line))
        return [gast.Expr(value=n.const(f"__fx_comment__{len(self.ctx.comments) - 1}"))]

    def stmt(self, s):
        if isinstance(s, gast.Assign) and isinstance(s.targets[0], gast.Name):
            target = s.targets[0].id
            value = s.value
            if _is_active_call(value):
                return [self.call(target, value)]
            if isinstance(value, gast.Name):
                return [s, n.assign(self.t(target), self.tangent_of(value))]
            return [s, n.assign(self.t(target), n.const(None))]
        if isinstance(s, gast.Assign):  # the freevars prologue of generated code: tuple targets
            out = [s]
            source = s.value.args[0] if isinstance(s.value, gast.Call) and s.value.args else None
            for node in gast.walk(s.targets[0]):
                if isinstance(node, gast.Name) and isinstance(node.ctx, gast.Store):
                    # captured variables: their tangents are fields of the function's own tangent
                    field = (
                        n.call("__fx_tangent_field", [self.tangent_of(source), n.const(node.id)])
                        if source
                        else None
                    )
                    out.append(n.assign(self.t(node.id), field if field is not None else n.const(None)))
            return out
        if isinstance(s, gast.Return):
            return [gast.Return(value=n.tuple_([s.value, self.tangent_of(s.value)]))]
        if isinstance(s, gast.If):
            return [n.if_(s.test, self.block(s.body), self.block(s.orelse))]
        if isinstance(s, gast.For):
            body = self.block(s.body)
            prefix = [
                n.assign(self.t(x.id), n.const(None)) for x in gast.walk(s.target) if isinstance(x, gast.Name)
            ]
            return [
                gast.For(
                    target=s.target,
                    iter=s.iter,
                    body=prefix + body,
                    orelse=self.block(s.orelse),
                    type_comment=None,
                )
            ]
        if isinstance(s, gast.While):
            return [gast.While(test=s.test, body=self.block(s.body), orelse=self.block(s.orelse))]
        if isinstance(s, gast.With):
            return [gast.With(items=s.items, body=self.block(s.body) or [gast.Pass()], type_comment=None)]
        if isinstance(s, gast.Try):
            handlers = [
                gast.ExceptHandler(type=h.type, name=h.name, body=self.block(h.body) or [gast.Pass()])
                for h in s.handlers
            ]
            return [
                gast.Try(
                    body=self.block(s.body) or [gast.Pass()],
                    handlers=handlers,
                    orelse=self.block(s.orelse),
                    # a try needs a handler or a non-empty finally (``finally: pass`` blocks to nothing)
                    finalbody=self.block(s.finalbody) or ([] if handlers else [gast.Pass()]),
                )
            ]
        if isinstance(s, gast.FunctionDef):
            mark_locations(s.body, self.ctx.comments, self.ctx.source.file)
            return [s, n.assign(self.t(s.name), self.closure_tangent(s))]
        return [s]

    def closure_tangent(self, fdef):
        """The tangent of a local function, made where it is defined: its captured variables' tangents, read
        when it is called as the function reads them (a thunk in the field LIVE: loops, later assignments and
        recursion change them after the ``def``), and its defaults' tangents (DEFAULTS: computed here, once).
        """
        names, values = [], []
        captured = sorted(_captured(fdef) & self.locals)
        if captured:
            now = n.call(
                "__fx_closure_tangent",
                [
                    n.name(fdef.name),
                    n.tuple_([n.const(v) for v in captured]),
                    n.tuple_([n.name(self.t(v)) for v in captured]),
                ],
            )
            names, values = [n.const(LIVE)], [_thunk(now)]
        defaults = self.default_tangents(fdef.args)
        if defaults is not None:
            names.append(n.const(DEFAULTS))
            values.append(defaults)
        return n.call("__fx_closure_tangent", [n.name(fdef.name), n.tuple_(names), n.tuple_(values)])

    def default_tangents(self, args):
        """``((tangent, ...), {keyword-only name: tangent})`` of a local function's defaults, or None when
        none can have one. A default computed by an expression from local variables has an UNKNOWN tangent
        (fluxpy/forward.py refuses to use it if its value could carry one)."""
        positional = [self.default_tangent(d) for d in args.defaults]
        keyword_only = zip(args.kwonlyargs, args.kw_defaults, strict=True)
        pairs = [(a.id, self.default_tangent(d)) for a, d in keyword_only if d is not None]
        if all(isinstance(t, gast.Constant) and t.value is None for t in positional + [t for _, t in pairs]):
            return None
        keyword = gast.Dict(keys=[n.const(k) for k, _ in pairs], values=[t for _, t in pairs])
        return n.tuple_([n.tuple_(positional), keyword])

    def default_tangent(self, expr):
        if isinstance(expr, gast.Name) and expr.id in self.locals:
            return n.name(self.t(expr.id))
        if any(isinstance(node, gast.Name) and node.id in self.locals for node in gast.walk(expr)):
            return n.const(UNKNOWN)
        return n.const(None)

    def call(self, target, value):
        args = value.args
        named = [k for k in value.keywords if k.arg is not None]
        keywords = gast.Dict(keys=[n.const(k.arg) for k in named], values=[k.value for k in named])
        tkeywords = gast.Dict(
            keys=[n.const(k.arg) for k in named], values=[self.tangent_of(k.value) for k in named]
        )
        starred_kw = [k.value for k in value.keywords if k.arg is None]
        if starred_kw:
            keywords = n.call("__fx_merged_keywords", [keywords, starred_kw[0]])
            tkeywords = n.call(
                "__fx_merged_keywords", [tkeywords, n.call("__fx_or_empty", [self.tangent_of(starred_kw[0])])]
            )
        if value.func.id == CALL:
            callee, rest = args[0], args[1:]
            direct = None if value.keywords else self.direct_call(target, callee, rest)
            if direct is not None:
                return direct
            helper, lead = "__fx_jvp_call", [callee, self.callee_tangent(callee)]
        else:
            obj, name, rest = args[0], args[1], args[2:]
            helper, lead = "__fx_jvp_method", [obj, self.tangent_of(obj), name]
        primals, tangents = self.packed(rest)
        assign = gast.Assign(
            targets=[n.tuple_([n.name(target, True), n.name(self.t(target), True)], store=True)],
            value=n.call(helper, lead + [primals, tangents, keywords, tkeywords]),
            type_comment=None,
        )
        return assign

    def direct_call(self, target, callee, rest):
        """Tuples built, unpacked and indexed (half the calls in generated reverse code, which forward over
        reverse runs: every ``y, pb = rule(...)``), and arithmetic (the inlined runs of generated reverse
        code): written out, or a helper with a fast path, in place of ``__fx_jvp_call``. None for other
        calls."""
        if any(isinstance(a, gast.Starred) for a in rest):
            return None
        if isinstance(callee, gast.Name) and callee.id == "__fx_pack_tuple":
            pair = n.tuple_([n.tuple_(rest), n.tuple_([self.tangent_of(a) for a in rest])])
        elif isinstance(callee, gast.Name) and callee.id == "__fx_unpack" and len(rest) == 2:
            pair = n.call("__fx_jvp_unpack", [rest[0], self.tangent_of(rest[0]), rest[1]])
        elif _is_operator(callee, "getitem") and len(rest) == 2:
            pair = n.call("__fx_jvp_getitem", [rest[0], self.tangent_of(rest[0]), rest[1]])
        elif any(_is_operator(callee, op) for op in _ARITHMETIC) and len(rest) == 2:
            a, b = rest
            pair = n.call("__fx_jvp_binary", [callee, a, self.tangent_of(a), b, self.tangent_of(b)])
        else:
            return None
        targets = n.tuple_([n.name(target, True), n.name(self.t(target), True)], store=True)
        return gast.Assign(targets=[targets], value=pair, type_comment=None)

    def callee_tangent(self, callee):
        """The callee's tangent: a local function's is made where it is defined (closure_tangent)."""
        if isinstance(callee, gast.Name) and callee.id in self.locals:
            return n.name(self.t(callee.id))
        return n.const(None)

    def packed(self, rest):
        """``(args tuple, tangents tuple)`` expressions for positional arguments (one ``*s`` last)."""
        plain = [a for a in rest if not isinstance(a, gast.Starred)]
        primals = n.tuple_(plain)
        tangents = n.tuple_([self.tangent_of(a) for a in plain])
        if len(plain) < len(rest):
            star = rest[-1].value
            primals = gast.BinOp(left=primals, op=gast.Add(), right=n.call("__fx_tuple", [star]))
            expanded = n.call("__fx_expand", [self.tangent_of(star), n.call("__fx_len", [star])])
            tangents = gast.BinOp(left=tangents, op=gast.Add(), right=expanded)
        return primals, tangents


_ARITHMETIC = (
    "add",
    "sub",
    "mul",
    "truediv",
    "matmul",
    "iadd",  # x op= y: fluxpy's augmented assignments (rules/augmented.py)
    "isub",
    "imul",
    "itruediv",
    "ipow",
)  # operators with a forward rule (rules/forward_arithmetic.py)


def _is_operator(node, name):
    """``__fx_op.<name>``: an operator of generated code."""
    return (
        isinstance(node, gast.Attribute)
        and node.attr == name
        and isinstance(node.value, gast.Name)
        and node.value.id == "__fx_op"
    )


def _thunk(body):
    """``lambda: body``."""
    no_args = gast.arguments(
        args=[], posonlyargs=[], vararg=None, kwonlyargs=[], kw_defaults=[], kwarg=None, defaults=[]
    )
    return gast.Lambda(args=no_args, body=body)
