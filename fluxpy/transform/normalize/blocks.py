"""A statement-level rewriter shared by the passes that move expressions out into statements of their own.

Subclasses rewrite expression nodes and append the statements they need to ``self.pending``; those land
just before the statement being rewritten. Nested function bodies are left alone (they are transformed on
their own when called), and so are lambda bodies (a lambda becomes such a function: lambdas.py);
``while`` tests are not rewritten (they are evaluated on every iteration).

A part of an expression that Python evaluates only sometimes keeps that: where such a part holds an
expression that the pass moves out (``moves``), the conditional expression around it becomes statements
first, so that the moved statements land in the branch that needs them::

    y = c and sum(v for v in xs)        ->    _boolop = c
                                              if _boolop:
                                                  _boolop = sum(v for v in xs)
                                              y = _boolop

(``x if c else y`` becomes an ``if``/``else``; ``assert t, msg`` becomes ``if not t: assert False, msg``.)
Each value's truth is tested once, as Python does.
"""

import gast

from .. import nodes as n


class StatementRewriter(gast.NodeTransformer):
    def __init__(self, ctx):
        self.ctx = ctx
        self.pending = []
        self.current = None  # the statement being rewritten (positions for statements made for it)

    def moves(self, node):
        """Whether rewriting the expression ``node`` moves some of it out into statements (subclasses)."""
        return False

    def block(self, stmts):
        out = []
        for stmt in stmts:
            saved, self.pending = self.pending, []
            saved_current, self.current = self.current, stmt
            new = self.visit(stmt)
            out.extend(self.pending)
            out.append(new)
            self.pending, self.current = saved, saved_current
        return out

    def lowered(self, statements, like):
        """``statements`` made for the expression ``like``, rewritten, appended to ``self.pending``."""
        where = like if getattr(like, "lineno", None) is not None else self.current
        self.pending.extend(n.located(s, where) for s in locate_all(self.block(statements), where))

    def visit_FunctionDef(self, node):
        return node

    def visit_Lambda(self, node):
        # the defaults are evaluated where the lambda is; the body is a function's own (lambdas.py)
        node.args.defaults = [self.visit(d) for d in node.args.defaults]
        node.args.kw_defaults = [d if d is None else self.visit(d) for d in node.args.kw_defaults]
        return node

    def visit_BoolOp(self, node):
        """``a and b``: ``b`` is evaluated only when ``a`` is true; so is what moves out of it."""
        if not any(self.moves(v) for v in node.values[1:]):
            return self.generic_visit(node)
        result = self.ctx.namer.fresh("_boolop")
        self.lowered(_short_circuit(node.op, node.values, result, self.moves), node)
        return n.located(n.name(result), node)

    def visit_IfExp(self, node):
        if not (self.moves(node.body) or self.moves(node.orelse)):
            return self.generic_visit(node)
        result = self.ctx.namer.fresh("_ifexp")
        branches = n.if_(node.test, [n.assign(result, node.body)], [n.assign(result, node.orelse)])
        self.lowered([branches], node)
        return n.located(n.name(result), node)

    def visit_Assert(self, node):
        """The message is evaluated only when the test fails."""
        failed = isinstance(node.test, gast.Constant) and node.test.value is False
        if node.msg is None or failed or not self.moves(node.msg):
            return self.generic_visit(node)
        fail = n.located(gast.Assert(test=n.const(False), msg=node.msg), node)
        return self.visit(n.located(n.if_(gast.UnaryOp(op=gast.Not(), operand=node.test), [fail]), node))

    def visit_If(self, node):
        node.test = self.visit(node.test)
        node.body, node.orelse = self.block(node.body), self.block(node.orelse)
        return node

    def visit_For(self, node):
        node.iter = self.visit(node.iter)
        node.body, node.orelse = self.block(node.body), self.block(node.orelse)
        return node

    def visit_While(self, node):
        node.body, node.orelse = self.block(node.body), self.block(node.orelse)
        return node

    def visit_With(self, node):
        node.body = self.block(node.body)
        return node

    def visit_Try(self, node):
        node.body, node.orelse, node.finalbody = (
            self.block(node.body),
            self.block(node.orelse),
            self.block(node.finalbody),
        )
        for handler in node.handlers:
            handler.body = self.block(handler.body)
        return node


def _short_circuit(op, values, result, moves):
    """Statements computing ``values[0] <op> values[1] ...`` into ``result``: the values up to the first
    later one that ``moves``, then that one and the rest inside ``if result:`` (``if not result:`` for
    ``or``). The last value of a group is truth-tested by the ``if`` alone, as in Python."""
    k = next((i for i in range(1, len(values)) if moves(values[i])), len(values))
    head = values[0] if k == 1 else gast.BoolOp(op=op, values=values[:k])
    statements = [n.assign(result, head)]
    if k < len(values):
        test = n.name(result)
        if isinstance(op, gast.Or):
            test = gast.UnaryOp(op=gast.Not(), operand=test)
        statements.append(n.if_(test, _short_circuit(op, values[k:], result, moves)))
    return statements


def outside_lambdas(node):
    """The nodes of the expression ``node`` that are evaluated where it is: not those in lambda bodies
    (nor in nested function bodies)."""
    out = [node]
    for x in out:  # a list grows under its own iteration
        if isinstance(x, gast.Lambda):
            out.extend(x.args.defaults)
            out.extend(d for d in x.args.kw_defaults if d is not None)
        elif not isinstance(x, (gast.FunctionDef, gast.AsyncFunctionDef, gast.ClassDef)):
            out.extend(gast.iter_child_nodes(x))
    return out


def locate_all(statements, like):
    """Give ``like``'s position to every statement in ``statements`` (nested ones too) that has none."""
    for s in statements:
        for node in n.walk(s):
            if isinstance(node, gast.stmt) and getattr(node, "lineno", None) is None:
                n.located(node, like)
    return statements
