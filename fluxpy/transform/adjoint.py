"""Stage 5: from a normalized function, generate its forward function and pullback (Zygote-style).

``f(x, ...)`` becomes ``f__forward(self, x, ...) -> (y, f_pullback)`` where ``self`` is the function
object (its closure cells give the captured variables) and ``f_pullback(dy)`` returns
``(dself, dx, ...)``. Every active call stores its pullback; the pullback replays them in reverse:

    # forward                                   # pullback, in reverse order
    y, y_pb = __fx_call(__fx_op.mul, x, w)       if d_y is not None:
                                                     _fx_g = y_pb(d_y)
                                                     d_y = None
                                                     d_x = __fx_accum(d_x, _fx_g[1])
                                                     d_w = __fx_accum(d_w, _fx_g[2])

Pullbacks are the only thing the reverse pass reads from the forward pass (they capture their operands),
so straight-line code needs no tape. Inside loops each pullback, branch choice and inner trip count is
pushed on an immutable linked list (``tape = (item, tape)``): memory grows with iterations executed, the
pullback can run many times, and the generated code stays differentiable (no mutation), which is what
gradient-of-gradient needs.

This module holds the core: the function, its statements in order, branches, loops and the tape. The
rest of the adjoint is in mixins of the one class it builds, by concern: activity.py (the analyses before
code generation), adjoint_calls.py (the active calls), adjoint_inline.py (inlined scalar arithmetic),
adjoint_try.py (``try`` and ``with`` bodies that may stop early) and adjoint_defaults.py (the checks
``fx.params`` needs on parameters with default values).
"""

import copy
import os
from collections import Counter

import gast

from . import known
from . import nodes as n
from .activity import Activity, _assignments, _captured, _is_active_call, _names_in, _walk_statements
from .adjoint_calls import RULE_HELPERS, Calls, mark_unpack_groups
from .adjoint_defaults import DefaultChecks
from .adjoint_inline import InlinedArithmetic
from .adjoint_try import RecordedBodies
from .fence import HELPER_PREFIX

__all__ = ["ACCUM", "RULE_HELPERS", "Signature", "build_forward", "build_gradient"]

ACCUM = "__fx_accum"


def build_forward(fdef, ctx):
    """The gast FunctionDef of the forward function for the normalized ``fdef``."""
    return _Adjoint(fdef, ctx).build()


def build_gradient(fdef, ctx):
    """The gast FunctionDef of the gradient function for the normalized ``fdef``: the forward function's
    body, the seed, then its pullback's body, in one function (``G(f, *args)`` returns what
    ``F(f, *args)[1](1.0)`` returns). A gradient of a gradient differentiates this one function: no
    pullback closure to build, read back field by field, and differentiate apart (see gradient_rule)."""
    adjoint = _Adjoint(fdef, ctx)
    forward = adjoint.build()
    *body, pullback, _ = forward.body  # ..., def pullback(d_out): ..., return (y, pullback)
    seed = pullback.args.args[0].id
    value = copy.deepcopy(adjoint.ret)
    body.append(n.assign(seed, n.call("__fx_seed", [value, n.name(adjoint.self_name)])))
    tail = known.drop_known_guards(pullback.body, {seed})  # the seed is never None
    forward.body = body + known.drop_dead_resets(tail, set())
    forward.name = forward.name.replace("__forward", "__gradient")
    return forward


class Signature:
    """The names a generated function works with: parameters, captured variables, all local names."""

    def __init__(self, fdef, ctx):
        self.fdef = fdef
        self.ctx = ctx
        self.namer = ctx.namer
        args = fdef.args
        self.params = [a.id for a in args.posonlyargs + args.args]
        self.vararg = args.vararg.id if args.vararg is not None else None
        self.kwonly = [a.id for a in args.kwonlyargs]
        self.kwarg = args.kwarg.id if args.kwarg is not None else None
        self.freevars = [v for v in ctx.freevars if not v.startswith(HELPER_PREFIX)]
        self.locals = set(self.params) | set(self.freevars) | set(self.kwonly)
        self.locals |= {v for v in (self.vararg, self.kwarg) if v}
        for target, _ in _assignments(fdef.body):
            self.locals.add(target)
        for s in _walk_statements(fdef.body):
            if isinstance(s, gast.For):
                self.locals |= _names_in(s.target)


class _Adjoint(Calls, InlinedArithmetic, RecordedBodies, DefaultChecks, Activity, Signature):
    """The forward function and pullback of one normalized function (see the mixins for calls, inlined
    runs, ``try``/``with`` and defaults)."""

    def __init__(self, fdef, ctx):
        super().__init__(fdef, ctx)
        body = fdef.body
        self.ret = body[-1].value if body and isinstance(body[-1], gast.Return) else n.const(None)
        self.body = body[:-1] if body and isinstance(body[-1], gast.Return) else body
        bound = set(self.params) | set(self.freevars) | set(self.kwonly)
        self.stable = _stable_names(fdef, self.locals, bound)
        self.active = self._activity()
        if self._move_defaults():
            fdef.body = self.body + body[len(self.body) :]
            self.stable = _stable_names(fdef, self.locals, bound)
            self.active = self._activity()
        loads = _load_counts(self.body)
        self.read = set(loads) | ({self.ret.id} if isinstance(self.ret, gast.Name) else set())
        self._mark_calls()
        self.closures = self._direct_closures()
        mark_unpack_groups(self.body, loads)
        self.tape = self.namer.fresh("_fx_tape")
        self.rtape = self.namer.fresh("_fx_rt")
        self.grads = self.namer.fresh("_fx_g")
        self.uses_tape = False
        self.comments = ctx.comments
        self.last_line = None
        self.recorded_body = 0  # inside a try or with body (see fwd_try)

    # -- cotangent names ------------------------------------------------------------------------------
    def adj(self, name):
        return self.namer.adjoint(name)

    def adj_or_none(self, name):
        """The cotangent variable of ``name``, or ``None`` for a name whose gradient is not wanted."""
        return n.name(self.adj(name)) if name in self.active else n.const(None)

    # -- the whole function ---------------------------------------------------------------------------
    def build(self):
        self_name = self.namer.fresh("_fx_self")
        self.self_name = self_name
        forward_body = []
        if self.freevars:
            targets = n.tuple_([n.name(v, store=True) for v in self.freevars], store=True)
            names = n.tuple_([n.const(v) for v in self.freevars])
            forward_body.append(
                gast.Assign(
                    targets=[targets],
                    value=n.call("__fx_freevars", [n.name(self_name), names]),
                    type_comment=None,
                )
            )
        for name, _, _ in self.defaulted_params():  # the value passed, for default_checks
            if name != self.initial_value(name):
                forward_body.append(n.assign(self.initial_value(name), n.name(name)))
        self.vararg_count = n.call("__fx_len", [n.name(self.vararg)]) if self.vararg else None
        if self.vararg and _rebinds(self.body, self.vararg):  # the pullback needs the length passed
            count = self.namer.fresh(f"_fx_{self.vararg}_count")
            forward_body.append(n.assign(count, self.vararg_count))
            self.vararg_count = n.name(count)
        fwd = self.fwd_block(self.body, in_loop=False)
        if self.uses_tape:
            forward_body.append(n.assign(self.tape, n.const(None)))
        forward_body += fwd
        pullback_name = self.namer.fresh(f"{_base(self.fdef.name)}_pullback")
        forward_body.append(self.pullback(pullback_name))
        forward_body.append(gast.Return(value=n.tuple_([self.ret, n.name(pullback_name)])))
        name = self.namer.fresh(f"{_base(self.fdef.name)}__forward")
        return n.generated_function(name, [self_name], self.fdef.args, forward_body)

    def pullback(self, pullback_name):
        seed = self.namer.fresh("d_out")
        known_none = set(self.active)
        body = []
        ordered = sorted(self.active)
        ret_name = self.ret.id if isinstance(self.ret, gast.Name) and self.ret.id in self.active else None
        starting_none = [self.adj(v) for v in ordered if v != ret_name]
        if ret_name is not None:
            body.append(n.assign(self.adj(ret_name), n.name(seed)))
            known_none.discard(ret_name)
        elif self.global_active(self.ret):
            body.append(self.record(self.ret, n.name(seed)))
        if self.uses_tape:
            body.append(n.assign(self.rtape, n.name(self.tape)))
        self.last_line = None
        body += self.rev_block(self.body, in_loop=False, known_none=known_none)
        body += self.default_checks()
        body.append(gast.Return(value=self.pullback_result()))
        return n.function(pullback_name, [seed], known.place_none_inits(starting_none, body))

    def pullback_result(self):
        if self.freevars and self.self_active:
            names = n.tuple_([n.const(v) for v in self.freevars])
            values = n.tuple_([n.name(self.adj(v)) for v in self.freevars])
            dself = n.call("__fx_closure_tangent", [n.name(self.self_name), names, values])
        else:
            dself = n.const(None)
        result = n.tuple_([dself] + [self.adj_or_none(p) for p in self.params])
        if self.vararg:
            expanded = n.call("__fx_expand", [self.adj_or_none(self.vararg), self.vararg_count])
            result = gast.BinOp(left=result, op=gast.Add(), right=expanded)
        if self.kwonly or self.kwarg:
            names = n.tuple_([n.const(k) for k in self.kwonly])
            values = n.tuple_([n.name(self.adj(k)) for k in self.kwonly])
            rest = n.name(self.adj(self.kwarg)) if self.kwarg else n.const(None)
            keywords = n.tuple_([n.call("__fx_keyword_grads", [names, values, rest])])
            result = gast.BinOp(left=result, op=gast.Add(), right=keywords)
        return result

    # -- forward --------------------------------------------------------------------------------------
    def fwd_block(self, stmts, in_loop):
        out = []
        i = 0
        while i < len(stmts):
            run = [] if self.recorded_body else self.inline_run(stmts, i, in_loop)
            if run:
                out += self.fwd_inline(run, in_loop)
                i += len(run)
                continue
            out += self.comment(stmts[i], "")
            out += self.fwd_stmt(stmts[i], in_loop)
            i += 1
        return out

    def fwd_stmt(self, s, in_loop):
        if hasattr(s, "_fx_item_of"):  # one name of ``a, b = v``: a plain subscript (see rev_unpack)
            items, index = s._fx_item_of
            return [n.assign(s.targets[0].id, n.subscript(n.name(items), n.const(index)))]
        if isinstance(s, gast.Assign) and _is_active_call(s.value):
            return self.fwd_call(s, in_loop)
        if isinstance(s, gast.If):
            return self.fwd_if(s, in_loop)
        if isinstance(s, (gast.For, gast.While)):
            return self.fwd_loop(s, in_loop)
        if isinstance(s, gast.With):
            return self.fwd_with(s)
        if isinstance(s, gast.Try):
            return self.fwd_try(s, in_loop)
        if isinstance(s, gast.FunctionDef):
            self.mark_locations(s.body)
        return [s]

    def mark_locations(self, stmts):
        mark_locations(stmts, self.comments, self.ctx.source.file)

    def push(self, item):
        self.uses_tape = True
        return n.assign(self.tape, n.tuple_([item, n.name(self.tape)]))

    def fwd_if(self, s, in_loop):
        body = self.fwd_block(s.body, in_loop)
        orelse = self.fwd_block(s.orelse, in_loop)
        if in_loop:
            body.append(self.push(n.const(True)))
            orelse.append(self.push(n.const(False)))
        else:
            flag = self.namer.fresh("_fx_cond")
            s._fx_flag = flag
            body.insert(0, n.assign(flag, n.const(True)))
            orelse.insert(0, n.assign(flag, n.const(False)))
        return [n.if_(s.test, body, orelse)]

    def fwd_loop(self, s, in_loop):
        count = self.namer.fresh("_fx_trips")
        s._fx_count = count
        statements, exit_ = _split_exit(s.body)
        body = self.fwd_block(statements, in_loop=True)
        body.append(n.assign(count, gast.BinOp(left=n.name(count), op=gast.Add(), right=n.const(1))))
        body += exit_  # "if _break: break" last: the trip count already includes this iteration
        if isinstance(s, gast.For):
            loop = gast.For(target=s.target, iter=s.iter, body=body, orelse=[], type_comment=None)
        else:
            loop = gast.While(test=s.test, body=body, orelse=[])
        out = [n.assign(count, n.const(0)), loop]
        if in_loop:
            out.append(self.push(n.name(count)))
        return out

    # -- reverse --------------------------------------------------------------------------------------
    def rev_block(self, stmts, in_loop, known_none):
        out = []
        done = set()
        for s in reversed(stmts):
            if id(s) in done:
                continue
            if hasattr(s, "_fx_run"):
                flag, run = s._fx_run
                done.update(id(r) for r in run)
                out += self.rev_inline_run(flag, run, known_none)
                continue
            code = self.rev_stmt(s, in_loop, known_none)
            if code:
                out += self.comment(s, "grad of: ")
                out += code
        return out

    def rev_stmt(self, s, in_loop, known_none):
        if isinstance(s, gast.Assign) and isinstance(s.targets[0], gast.Name):
            target = s.targets[0].id
            if hasattr(s, "_fx_item_of"):
                return []  # its cotangent is collected by rev_unpack
            if hasattr(s, "_fx_unpacked"):
                return self.rev_unpack(s, target, in_loop, known_none)
            if _is_active_call(s.value):
                return self.rev_call(s, target, in_loop, known_none)
            if target not in self.active:
                return []
            if isinstance(s.value, gast.Name) and s.value.id == target:
                return []  # ``x = x`` (``x = f(x) if c else x``): the cotangent stays where it is
            if isinstance(s.value, gast.Name) and s.value.id in self.active:
                out = [self.accumulate(s.value.id, n.name(self.adj(target)), known_none)]
                out.append(n.assign(self.adj(target), n.const(None)))
                known_none.add(target)
                return out
            if self.global_active(s.value):
                return [self.record(s.value, n.name(self.adj(target)))] + self.reset(target, known_none)
            return self.reset(target, known_none)
        if isinstance(s, gast.FunctionDef):
            return self.rev_def(s, known_none)
        if isinstance(s, gast.If):
            return self.rev_if(s, in_loop, known_none)
        if isinstance(s, (gast.For, gast.While)):
            return self.rev_loop(s, in_loop, known_none)
        if isinstance(s, gast.With):
            return self.rev_with(s, known_none)
        if isinstance(s, gast.Try):
            return self.rev_try(s, in_loop, known_none)
        return []

    def pop(self, name):
        """``name, _fx_rt = _fx_rt``: the reverse pass takes the tape's next entry (pushed by ``push``)."""
        return gast.Assign(
            targets=[n.tuple_([n.name(name, True), n.name(self.rtape, True)], store=True)],
            value=n.name(self.rtape),
            type_comment=None,
        )

    def reset(self, target, known_none):
        if target in known_none:
            return []
        known_none.add(target)
        return [n.assign(self.adj(target), n.const(None))]

    def accumulate(self, name, value, known_none):
        """``d_name += value``, as a plain assignment when ``d_name`` is known to be None here."""
        if name in known_none:
            known_none.discard(name)
            return n.assign(self.adj(name), value)
        return n.assign(self.adj(name), n.call(ACCUM, [n.name(self.adj(name)), value]))

    def assigned_adjoints(self, stmts):
        """The names whose cotangent variables ``stmts`` assign."""
        names = set()
        reverse = {v: k for k, v in self.namer._adjoints.items()}
        for s in stmts:
            for node in n.walk(s):
                if isinstance(node, gast.Name) and isinstance(node.ctx, gast.Store) and node.id in reverse:
                    names.add(reverse[node.id])
        return names

    def rev_def(self, s, known_none):
        if s.name not in self.active or s.name not in self.closures:
            return []
        out = []
        captured = sorted(_captured(s) & self.active)
        tree = self.trees.get(s.name)
        if tree is not None:
            # it calls local functions (itself, ``g = lambda ...: ... g(...)`` through its copy, or others
            # that may call it back): its cotangent nests theirs, one level per call, summed here
            follow, fields = tree
            sums = self.namer.fresh("_fx_rec")
            call = n.call(
                "__fx_recursive_fields", [n.name(self.adj(s.name)), n.const(follow), n.const(fields)]
            )
            out.append(n.assign(sums, call))
            for i, v in enumerate(fields):
                out.append(self.accumulate(v, n.subscript(n.name(sums), n.const(i)), known_none))
            return out + self.reset(s.name, known_none)
        if len(captured) == 1:
            field = n.call("__fx_tangent_field", [n.name(self.adj(s.name)), n.const(captured[0])])
            out.append(self.accumulate(captured[0], field, known_none))
            return out + self.reset(s.name, known_none)
        # ``d_a, d_b = __fx_tangent_values(d_f, ('a', 'b'))``, when the closure has a cotangent
        fields = self.namer.fresh("_fx_fields")
        body = [
            n.assign(
                fields, n.call("__fx_tangent_values", [n.name(self.adj(s.name)), n.const(tuple(captured))])
            )
        ]
        inner_known = set(known_none)
        for i, v in enumerate(captured):
            body.append(self.accumulate(v, n.subscript(n.name(fields), n.const(i)), inner_known))
        known_none.difference_update(captured)
        out.append(n.if_(n.is_not_none(n.name(self.adj(s.name))), body))
        return out + self.reset(s.name, known_none)

    def rev_if(self, s, in_loop, known_none):
        body_known, else_known = set(known_none), set(known_none)
        body = self.rev_block(s.body, in_loop, body_known)
        orelse = self.rev_block(s.orelse, in_loop, else_known)
        known_none.intersection_update(body_known & else_known)
        if in_loop:
            flag = self.namer.fresh("_fx_branch") if not hasattr(self, "_branch") else self._branch
            self._branch = flag
            return [self.pop(flag), n.if_(n.name(flag), body, orelse)]
        if not body and not orelse:
            return []  # no gradient flows through either branch (a check's ``if``): no dead ``if c: pass``
        return [n.if_(n.name(s._fx_flag), body, orelse)]

    def rev_loop(self, s, in_loop, known_none):
        """``for _ in range(trips): <the body's reverse>``. A cotangent known to be None when the loop
        starts and again at the end of every iteration of the body's reverse (a temporary of the body) is
        known None at the start of each: it is assigned, not accumulated. The body is generated under that
        assumption, narrowed until it holds (at most a few passes)."""
        statements = _split_exit(s.body)[0]
        assumed = set(known_none)
        while True:
            body_known, last_line = set(assumed), self.last_line
            body = self.rev_block(statements, True, body_known)
            if assumed <= body_known:
                break
            assumed &= body_known
            self.last_line = last_line
        for name in self.assigned_adjoints(body) - assumed:
            known_none.discard(name)
        count = s._fx_count
        counter = self.namer.fresh("_fx_k")
        out = []
        if in_loop:
            out.append(self.pop(count))
        out.append(n.for_range(counter, n.name(count), body or [gast.Pass()]))
        return out

    # -- comments -------------------------------------------------------------------------------------
    def comment(self, s, prefix):
        line = getattr(s, "lineno", None)
        if line is None or line == self.last_line:
            return []
        self.last_line = line
        file = self.ctx.source.file
        if self.ctx.source.generated:  # no comment line, only the location (see codegen.generate)
            self.comments.append((None, file, line))
        else:
            text = self.ctx.source.line(line).strip()
            self.comments.append((f"{prefix}{text}  ({os.path.basename(file)}:{line})", file, line))
        return [gast.Expr(value=n.const(f"__fx_comment__{len(self.comments) - 1}"))]


def mark_locations(stmts, comments, file):
    """A location marker (no comment line) before each statement of a nested function, in place: the code
    generated for it when it is differentiated in turn (in either mode) maps back to the user's lines.
    ``comments``: the generated function's list of comments and locations (codegen.generate)."""
    for i in reversed(range(len(stmts))):
        stmt = stmts[i]
        for field in ("body", "orelse", "finalbody"):
            if isinstance(getattr(stmt, field, None), list):
                mark_locations(getattr(stmt, field), comments, file)
        for handler in getattr(stmt, "handlers", None) or []:
            mark_locations(handler.body, comments, file)
        if getattr(stmt, "lineno", None) is not None:
            comments.append((None, file, stmt.lineno))
            stmts.insert(i, gast.Expr(value=n.const(f"__fx_comment__{len(comments) - 1}")))


# -- analysis helpers ---------------------------------------------------------------------------------


def _load_counts(stmts):
    """How many times each name is read in ``stmts``."""
    counts = {}
    for s in stmts:
        for node in n.walk(s):
            if isinstance(node, gast.Name) and isinstance(node.ctx, gast.Load):
                counts[node.id] = counts.get(node.id, 0) + 1
    return counts


def _split_exit(body):
    """``(statements, [final "if flag: break"])`` of a loop body (see normalize/loops.py)."""
    last = body[-1] if body else None
    if isinstance(last, gast.If) and len(last.body) == 1 and isinstance(last.body[0], gast.Break):
        return body[:-1], [last]
    return body, []


def _stable_names(fdef, local_names, initial):
    """The local names that keep one value once assigned: bound once (a parameter, a captured variable or a
    single assignment), outside loops, and never rebound by a nested function (``nonlocal``)."""
    counts = Counter(initial)
    looped, rebound = set(), set()
    outside, inside = list(fdef.body), []  # nodes to visit outside loops, and inside them
    for stack, in_loop in ((outside, False), (inside, True)):  # outside first: it hands loops over
        while stack:
            node = stack.pop()
            if isinstance(node, (gast.FunctionDef, gast.Lambda)):
                if isinstance(node, gast.FunctionDef):
                    counts[node.name] += 1
                    if in_loop:
                        looped.add(node.name)
                for inner in n.walk(node):
                    if isinstance(inner, (gast.Nonlocal, gast.Global)):
                        rebound.update(inner.names)
                continue
            if isinstance(node, gast.Name):
                if not isinstance(node.ctx, gast.Load):
                    counts[node.id] += 1
                    if in_loop:
                        looped.add(node.id)
                continue  # (its children are its context and annotation)
            if isinstance(node, (gast.Nonlocal, gast.Global)):
                rebound.update(node.names)
            looping = in_loop or isinstance(node, (gast.For, gast.While))
            (inside if looping else stack).extend(n.children(node))
    return {v for v in local_names if counts[v] == 1 and v not in looped and v not in rebound}


def _base(name):
    return name.replace("<", "").replace(">", "")


def _rebinds(body, name):
    """Whether a statement of ``body`` assigns ``name`` (a function's ``*args`` made another value)."""
    return any(
        isinstance(node, gast.Name) and node.id == name and isinstance(node.ctx, (gast.Store, gast.Del))
        for stmt in body
        for node in n.walk(stmt)
    )
