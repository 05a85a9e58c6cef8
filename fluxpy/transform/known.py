"""Cotangents known not to be None: the ``if d is not None`` tests a pullback makes, dropped where they
always hold.

A pullback guards every step with ``if d_y is not None`` because its caller may pass None and a rule may
return None for an argument. In a gradient function (see ``adjoint.build_gradient``) the seed is never
None, and an arithmetic result never is (``None * 2`` raises), so from the seed on many guards always hold::

    d__add = d_out                        d__add = d_out
    if d__add is not None:                d__mul = d__add * 3
        d__mul = d__add * 3       ->      d_x = d__mul * 2 if d_x is None else d_x + d__mul * 2
    if d__mul is not None:
        d_x = ...

The code differentiated at second order then has no branch (and no flag recording it) per step, and its
arithmetic forms longer runs to write out (see inline.py). A name is known not None after an assignment
from a known name, an operator expression, a constant other than None or a tuple; the knowledge is
intersected where branches meet, and dropped for names assigned in loops, ``try`` and ``with`` bodies.

Every pullback also starts its cotangents at None only where they are used: :func:`place_none_inits`
moves each ``d_v = None`` into the one ``if`` branch that holds all uses of ``d_v``.
"""

import gast

from . import nodes as n

_SCOPES = (gast.FunctionDef, gast.AsyncFunctionDef, gast.ClassDef)


def drop_known_guards(stmts, known):
    """``stmts`` (a list of gast statements) without the None tests that hold given that the names in
    ``known`` are not None (``known`` is updated to what holds after them)."""
    out = []
    for s in stmts:
        out += _stmt(s, known)
    return out


def _stmt(s, known):
    if isinstance(s, gast.Assign):
        if len(s.targets) == 1 and isinstance(s.targets[0], gast.Name):
            s.value = _expr(s.value, known)
            if _not_none(s.value, known):
                known.add(s.targets[0].id)
            else:
                known.discard(s.targets[0].id)
        else:
            known.difference_update(_assigned([s]))
        return [s]
    if isinstance(s, gast.If):
        holds = _test(s.test, known)
        if holds is True:
            return drop_known_guards(s.body, known)
        if holds is False:
            return drop_known_guards(s.orelse, known)
        after_body, after_else = set(known), set(known)
        s.body = drop_known_guards(s.body, after_body) or [gast.Pass()]
        s.orelse = drop_known_guards(s.orelse, after_else)
        known.intersection_update(after_body & after_else)
        return [s]
    if isinstance(s, _SCOPES):
        known.discard(s.name)
        return [s]
    known.difference_update(_assigned([s]))  # loops, try, with, ...: left as they are
    return [s]


def drop_dead_resets(stmts, live):
    """``stmts`` without the ``d = None`` resets whose name nothing reads afterwards (``live``: the names
    read after ``stmts``; updated to those read before them). A pullback resets each cotangent once it has
    passed it on, for the loops that accumulate into it again; at the end of straight-line code the resets
    only split the runs of arithmetic that inline.py writes out. Loops, ``try`` and ``with`` stay whole."""
    out = []
    for s in reversed(stmts):
        if isinstance(s, gast.Assign) and len(s.targets) == 1 and isinstance(s.targets[0], gast.Name):
            target = s.targets[0].id
            if isinstance(s.value, gast.Constant) and s.value.value is None and target not in live:
                continue
            live.discard(target)
            live |= _read([s.value])
        elif isinstance(s, gast.If):
            after_body, after_else = set(live), set(live)
            s.body = drop_dead_resets(s.body, after_body) or [gast.Pass()]
            s.orelse = drop_dead_resets(s.orelse, after_else)
            live |= after_body | after_else | _read([s.test])
        else:
            live |= _read([s])
        out.append(s)
    out.reverse()
    return out


def _read(nodes):
    return {
        node.id
        for e in nodes
        for node in n.walk(e)
        if isinstance(node, gast.Name) and isinstance(node.ctx, gast.Load)
    }


def _expr(e, known):
    """``A if d is None else B`` where ``d`` is known: ``B``."""
    if isinstance(e, gast.IfExp):
        holds = _test(e.test, known)
        if holds is True:
            return _expr(e.body, known)
        if holds is False:
            return _expr(e.orelse, known)
    return e


def _test(test, known):
    """True or False for ``d is not None`` / ``d is None`` with ``d`` known; else None."""
    if (
        isinstance(test, gast.Compare)
        and len(test.ops) == 1
        and isinstance(test.left, gast.Name)
        and test.left.id in known
        and isinstance(test.comparators[0], gast.Constant)
        and test.comparators[0].value is None
    ):
        if isinstance(test.ops[0], gast.IsNot):
            return True
        if isinstance(test.ops[0], gast.Is):
            return False
    return None


def _not_none(value, known):
    if isinstance(value, gast.Name):
        return value.id in known
    if isinstance(value, gast.Constant):
        return value.value is not None
    return isinstance(value, (gast.BinOp, gast.UnaryOp, gast.Tuple))


def _assigned(stmts):
    names = set()
    for s in stmts:
        for node in n.walk(s):
            if isinstance(node, gast.Name) and isinstance(node.ctx, (gast.Store, gast.Del)):
                names.add(node.id)
    return names


def place_none_inits(names, body):
    """``body`` (a pullback's) after ``v = None`` for each of ``names``, each placed at the start of the
    innermost ``if`` branch holding every use of ``v`` (none where nothing uses it).

    Code written out under a guard has two versions, and a gradient of it has a pullback for each, whose
    cotangents all started at the top: on the path taken, half of them were set to None for nothing (a
    gradient of a gradient began with dozens). A branch is entered at most once per pass, so an init moved
    into it still runs before every use; loop, ``try`` and ``with`` bodies are not entered.
    """
    return _place(body, names, {})


def _place(stmts, names, memo):
    """``stmts`` after ``v = None`` for each of ``names``, or with it moved into the one ``if`` branch that
    holds every use of ``v``. ``memo``: the names each statement uses, by ``id``."""
    if not names:
        return stmts
    uses = [_uses(s, memo) for s in stmts]
    here, into = [], {}  # into: (statement index, "body" or "orelse") -> names moved into that branch
    for v in names:
        users = [i for i, u in enumerate(uses) if v in u]
        if not users:
            continue  # never used: no init
        s = stmts[users[0]]
        if len(users) == 1 and isinstance(s, gast.If) and v not in _uses(s.test, memo):
            in_body = any(v in _uses(t, memo) for t in s.body)
            in_else = any(v in _uses(t, memo) for t in s.orelse)
            if in_body != in_else:
                into.setdefault((users[0], "body" if in_body else "orelse"), []).append(v)
                continue
        here.append(v)
    for (i, branch), moved in into.items():
        setattr(stmts[i], branch, _place(getattr(stmts[i], branch), moved, memo))
    return [n.assign(v, n.const(None)) for v in here] + stmts


def _uses(node, memo):
    """The names ``node`` reads or writes, its nested statements' computed once (``memo``, by ``id``)."""
    key = id(node)
    found = memo.get(key)
    if found is not None:
        return found
    if isinstance(node, gast.If):
        found = _uses(node.test, memo).union(*(_uses(s, memo) for s in node.body + node.orelse))
    else:
        found = {m.id for m in n.walk(node) if isinstance(m, gast.Name)}
    memo[key] = found
    return found
