"""Pass: ``match`` statements become ``if``/``elif``/``else``. The fence runs it before its analyses (which
must see the names the patterns bind), so the later passes see the ``if`` statements: a ``return`` or
``break`` in a case is handled by ``returns`` and ``loops``.

Postcondition: no ``match`` statement remains in the body (one in a nested function is desugared when that
function is differentiated). The subject is evaluated once (into a fresh name, unless it is a name no
pattern binds). Each case tests its whole pattern first, with a condition that binds nothing, then binds
the names; a guard is evaluated after the binding, into a flag, as Python does.

Before::

    def f(p):
        match p:
            case (a, b) if a > 0:
                return a * b
            case Point(x=0.0, y=y) | [y]:
                return y
            case _:
                return 0.0

After::

    def f(p):
        _guard = False
        if __fx_match_sequence(p, 2):
            a = p[0]
            b = p[1]
            _guard = a > 0
        if _guard:
            return a * b
        elif __fx_match_class(p, Point, 0, ('x', 'y')) and p.x == 0.0 or __fx_match_sequence(p, 1):
            if __fx_match_class(p, Point, 0, ('x', 'y')) and p.x == 0.0:
                y = p.y
            else:
                y = p[0]
            return y
        else:
            return 0.0

The tests are Python's (match_runtime.py): a sequence pattern matches a ``collections.abc.Sequence`` that
is not a string or bytes (a NumPy array is no sequence: ``case [a, b]`` does not match it), a mapping
pattern a ``Mapping`` holding the keys, a class pattern an instance with the attributes (positional
sub-patterns through ``__match_args__``, read as the code runs; ``int(x)``, ``float(x)``, ``str(x)``, ...
match the subject itself). Items and attributes are read once to test and again to bind, which gives
Python's result for the containers and objects that hold their values (a property computing a new value
on each read would be read twice).
"""

import copy

import gast

from .. import nodes as n
from .blocks import locate_all
from .match_runtime import SELF_MATCHING

SELF_MATCHING_NAMES = frozenset(cls.__name__ for cls in SELF_MATCHING)
# the helper naming a positional sub-pattern's attribute (a string, no gradient): evaluated as it is
INACTIVE_HELPERS = frozenset({"__fx_match_arg"})
_SCOPES = (gast.FunctionDef, gast.AsyncFunctionDef, gast.ClassDef)


def lower_matches(fdef, namer):
    """Rewrite the ``match`` statements of ``fdef``'s body in place (``namer``: fresh names)."""
    fdef.body = _Lower(namer).block(fdef.body)
    return fdef


def pattern_names(tree):
    """The names the patterns in ``tree`` bind (``case [a, *rest]``: a, rest), which are no Name nodes."""
    out = set()
    for node in n.walk(tree):
        if isinstance(node, (gast.MatchAs, gast.MatchStar)) and node.name is not None:
            out.add(node.name)
        elif isinstance(node, gast.MatchMapping) and node.rest is not None:
            out.add(node.rest)
    return out


class _Lower:
    def __init__(self, namer):
        self.namer = namer

    def block(self, stmts):
        out = []
        for s in stmts:
            if isinstance(s, gast.Match):
                out.extend(self.match(s))
                continue
            if not isinstance(s, _SCOPES):
                for field in ("body", "orelse", "finalbody"):
                    if isinstance(getattr(s, field, None), list):
                        setattr(s, field, self.block(getattr(s, field)))
                for handler in getattr(s, "handlers", None) or []:
                    handler.body = self.block(handler.body)
            out.append(s)
        return out

    def match(self, s):
        rebound = _rebound(s)
        if isinstance(s.subject, gast.Name) and s.subject.id not in rebound:
            subject, before = s.subject.id, []
        elif isinstance(s.subject, gast.NamedExpr) and s.subject.target.id not in rebound:
            subject = s.subject.target.id  # match (n := f(x)):
            before = [n.located(n.assign(subject, s.subject.value), s)]
        else:
            subject = self.namer.fresh("_subject")
            before = [n.located(n.assign(subject, s.subject), s)]
        return before + self.cases(s.cases, n.name(subject))

    def cases(self, cases, subject):
        """The statements running the first case of ``cases`` that matches ``subject``."""
        if not cases:
            return []
        case, rest = cases[0], cases[1:]
        test = _all(self.test(case.pattern, subject))  # None: the pattern always matches
        bound = locate_all(self.binds(case.pattern, subject), case.pattern)
        body = self.block(case.body)
        if case.guard is None:
            if test is None:  # (Python allows an irrefutable case only last)
                return bound + body
            return [n.located(n.if_(test, bound + body, self.cases(rest, subject)), case.pattern)]
        flag = self.namer.fresh("_guard")
        guarded = bound + [n.located(n.assign(flag, case.guard), case.guard)]
        if test is not None:
            unset = n.located(n.assign(flag, n.const(False)), case.pattern)
            guarded = [unset, n.located(n.if_(test, guarded), case.pattern)]
        return guarded + [n.located(n.if_(n.name(flag), body, self.cases(rest, subject)), case.pattern)]

    # -- tests: conditions that bind nothing --------------------------------------------------------------
    def test(self, p, subject):
        """The conditions (all must hold; none: always) under which pattern ``p`` matches ``subject``."""
        kind = type(p)
        if kind is gast.MatchAs:
            return [] if p.pattern is None else self.test(p.pattern, subject)
        if kind is gast.MatchValue:
            return [gast.Compare(left=_c(subject), ops=[gast.Eq()], comparators=[_c(p.value)])]
        if kind is gast.MatchSingleton:
            return [gast.Compare(left=_c(subject), ops=[gast.Is()], comparators=[n.const(p.value)])]
        if kind is gast.MatchOr:
            alternatives = [self.test(q, subject) for q in p.patterns]
            if not all(alternatives):  # an irrefutable alternative (Python allows one only last)
                return []
            return [gast.BoolOp(op=gast.Or(), values=[_all(t) for t in alternatives])]
        if kind is gast.MatchSequence:
            fixed = [q for q in p.patterns if not isinstance(q, gast.MatchStar)]
            starred = len(fixed) < len(p.patterns)
            keywords = [gast.keyword(arg="at_least", value=n.const(True))] if starred else []
            out = [n.call("__fx_match_sequence", [_c(subject), n.const(len(fixed))], keywords)]
            return out + self.parts_test(_items(p, subject))
        if kind is gast.MatchMapping:
            keys = n.tuple_([_c(k) for k in p.keys])
            out = [n.call("__fx_match_mapping", [_c(subject), keys])]
            return out + self.parts_test(_values(p, subject))
        if kind is gast.MatchClass:
            return self.class_test(p, subject) + self.parts_test(_attributes(p, subject))
        raise AssertionError(f"a pattern fluxpy does not know: {type(p).__name__}")  # (Python's grammar)

    def parts_test(self, parts):
        out = []
        for q, part in parts:
            out += self.test(q, part)
        return out

    def class_test(self, p, subject):
        keywords = [n.tuple_([n.const(a) for a in p.kwd_attrs])] if p.kwd_attrs else []
        if _self_matching(p):
            out = [n.call("__fx_match_self", [_c(subject), _c(p.cls)])]
            if keywords:
                out.append(n.call("__fx_match_class", [_c(subject), _c(p.cls), n.const(0)] + keywords))
            return out
        return [n.call("__fx_match_class", [_c(subject), _c(p.cls), n.const(len(p.patterns))] + keywords)]

    # -- bindings, once the whole pattern matched -----------------------------------------------------
    def binds(self, p, subject):
        """The assignments of the names pattern ``p`` binds, given that it matches ``subject``."""
        kind = type(p)
        if kind is gast.MatchAs:
            out = [] if p.pattern is None else self.binds(p.pattern, subject)
            return out + ([n.assign(p.name, _c(subject))] if p.name is not None else [])
        if kind is gast.MatchOr:
            return self.alternative_binds(p, subject)
        if kind is gast.MatchSequence:
            return self.parts_binds(_items(p, subject), "_item") + _star_binds(p, subject)
        if kind is gast.MatchMapping:
            return self.parts_binds(_values(p, subject), "_value") + self.rest_binds(p, subject)
        if kind is gast.MatchClass:
            return self.parts_binds(_attributes(p, subject), "_field")
        return []  # MatchValue, MatchSingleton

    def parts_binds(self, parts, temporary):
        """The sub-patterns' bindings; a part that a nested pattern binds names from is read once, into a
        ``temporary``: ``_item = p[0]; a = _item[0]; b = _item[1]`` for ``case [(a, b), c]``."""
        out = []
        for q, part in parts:
            if (not isinstance(q, gast.MatchAs) or q.pattern is not None) and pattern_names(q):
                name = self.namer.fresh(temporary)
                out.append(n.assign(name, part))
                part = n.name(name)
            out += self.binds(q, part)
        return out

    def alternative_binds(self, p, subject):
        """``case [a, 1] | [1, a]``: the first alternative that matches binds (the last one when no other
        does), so the alternatives are tested again, in order."""
        alternatives = [(self.test(q, subject), self.binds(q, subject)) for q in p.patterns]
        if not any(bound for _, bound in alternatives):
            return []
        out = alternatives[-1][1]
        for test, bound in reversed(alternatives[:-1]):
            out = [n.if_(_all(test) or n.const(True), bound, out)]
        return out

    def rest_binds(self, p, subject):
        """``case {"k": v, **rest}``: ``rest`` is a new dict of the other items, in order."""
        if p.rest is None:
            return []
        key, value = self.namer.fresh("key"), self.namer.fresh("value")
        items = n.call(n.attr(_c(subject), "items"))
        ifs = []
        if p.keys:
            keys = n.tuple_([_c(k) for k in p.keys])
            ifs = [gast.Compare(left=n.name(key), ops=[gast.NotIn()], comparators=[keys])]
        target = n.tuple_([n.name(key, store=True), n.name(value, store=True)], store=True)
        loop = gast.comprehension(target=target, iter=items, ifs=ifs, is_async=0)
        return [n.assign(p.rest, gast.DictComp(key=n.name(key), value=n.name(value), generators=[loop]))]


def _items(p, subject):
    """``(pattern, item)`` of a sequence pattern's fixed parts: ``s[0]``, ..., and ``s[-1]`` after a star."""
    star = _star(p)
    out = []
    for i, q in enumerate(p.patterns):
        if star is None or i < star:
            out.append((q, n.subscript(_c(subject), n.const(i))))
        elif i > star:
            out.append((q, n.subscript(_c(subject), n.const(i - len(p.patterns)))))
    return out


def _star_binds(p, subject):
    """``case [a, *rest, b]``: ``rest = list(s)[1:-1]``, a new list, as Python binds it (sliced from a list).
    The other items are read by index (``s[0]``, ``s[-1]``): a deque's are refused, as indexing a deque is
    (docs/limitations.md)."""
    star = _star(p)
    if star is None or p.patterns[star].name is None:
        return []
    after = len(p.patterns) - star - 1
    upper = n.const(-after) if after else None
    items = n.call("__fx_list", [_c(subject)])
    part = gast.Slice(lower=n.const(star) if star else None, upper=upper, step=None)
    return [n.assign(p.patterns[star].name, n.subscript(items, part))]


def _star(p):
    return next((i for i, q in enumerate(p.patterns) if isinstance(q, gast.MatchStar)), None)


def _values(p, subject):
    return [(q, n.subscript(_c(subject), _c(key))) for key, q in zip(p.keys, p.patterns, strict=True)]


def _attributes(p, subject):
    """``(pattern, attribute read)`` of a class pattern's sub-patterns: the positional ones name their
    attributes by the class's ``__match_args__``, read as the code runs."""
    if _self_matching(p):
        out = [(p.patterns[0], _c(subject))]
    else:
        out = []
        for i, q in enumerate(p.patterns):
            name = n.call("__fx_match_arg", [_c(p.cls), n.const(i)])
            out.append((q, n.call("__fx_getattr", [_c(subject), name])))
    return out + [(q, n.attr(_c(subject), a)) for a, q in zip(p.kwd_attrs, p.kwd_patterns, strict=True)]


def _self_matching(p):
    """``case float(x)``: one positional sub-pattern of a builtin that it matches itself (the name read as
    the builtin's: match_runtime.match_self refuses another class by that name)."""
    return isinstance(p.cls, gast.Name) and p.cls.id in SELF_MATCHING_NAMES and len(p.patterns) == 1


def _rebound(s):
    """The names a match statement may bind before its last test: its patterns' and its guards' ``:=``."""
    names = set()
    for case in s.cases:
        names |= pattern_names(case.pattern)
        if case.guard is not None:
            names |= {x.target.id for x in n.walk(case.guard) if isinstance(x, gast.NamedExpr)}
    return names


def _all(tests):
    """``a and b and ...`` of ``tests`` (None for none)."""
    if not tests:
        return None
    return tests[0] if len(tests) == 1 else gast.BoolOp(op=gast.And(), values=tests)


def _c(node):
    return copy.deepcopy(node)
