"""Stage 5, the active calls (a mixin of adjoint._Adjoint): how each call is made in the forward function
and how its pullback's result is spread over the cotangents of what it read.

A normalized statement ``t = __fx_call(f, a, b)`` becomes, in the forward function, a call returning the
value and its pullback (``t, t_pb = ...``), and in the pullback, the call of ``t_pb`` on ``t``'s cotangent
whose entries accumulate into ``a``'s and ``b``'s (:meth:`Calls.contributions` says which entry goes where)::

    # forward                                   # pullback
    t, t_pb = __fx_rule.mul(a, b)               if d_t is not None:
                                                    _fx_g_0, _fx_g_1 = t_pb(d_t)
                                                    d_t = None
                                                    d_a = __fx_accum(d_a, _fx_g_0)
                                                    d_b = __fx_accum(d_b, _fx_g_1)

The call itself is chosen here: an operator's rule or a module function's rule is called without dispatch
when it is known when the code is generated (``direct_rule_call``), a call reading no active name runs
without computing a gradient (``inactive_call``), and one reading some inactive names passes the callee a
mask of the positions to skip. ``a, b = v`` gets one tuple cotangent (``mark_unpack_groups``,
``rev_unpack``), and a local closure called directly gives its captured variables their gradients.
"""

import copy

import gast

from . import nodes as n
from .activity import MASKED, _dispatcher_callee_index, _is_active_call, _user_globals
from .fence import HELPER_PREFIX
from .normalize.anf_names import CALL

# helpers of generated code whose rules it calls directly, as it does the operators' (their pullbacks
# return one entry per argument): ``__fx_rule.pack_tuple(a, b)`` for ``__fx_call(__fx_pack_tuple, a, b)``
RULE_HELPERS = ("power_by_constant", "pack_tuple", "pack_list", "unpack", "accum")


def operator_name(callee):
    """``mul`` for ``__fx_op.mul`` (``pack_tuple`` for ``__fx_pack_tuple``: see RULE_HELPERS), else None."""
    if (
        isinstance(callee, gast.Attribute)
        and isinstance(callee.value, gast.Name)
        and callee.value.id == "__fx_op"
    ):
        return callee.attr
    if isinstance(callee, gast.Name) and callee.id.startswith(HELPER_PREFIX):
        name = callee.id[len(HELPER_PREFIX) :]
        return name if name in RULE_HELPERS else None
    return None


class Calls:
    """Methods of adjoint._Adjoint: the forward and reverse of the active calls. They use the core's
    ``push``, ``pop``, ``reset``, ``accumulate``, its names (``read``, ``active``, ``closures``, ``trees``,
    ``grads``) and Activity's ``record`` and ``global_active``."""

    # -- forward --------------------------------------------------------------------------------------
    def fwd_call(self, s, in_loop):
        """``t, t_pb = <the call>`` (``t = <the call>[0]`` when ``t`` is not read), its pullback pushed on
        the tape inside a loop."""
        target = s.targets[0].id
        if getattr(s, "_fx_inactive", False):
            return [n.assign(target, n.subscript(self.inactive_call(s.value), n.const(0)))]
        value = self.direct_rule_call(s)
        if value is s.value and getattr(s, "_fx_mask", None) is not None:
            value = _masked_call(value, s._fx_mask)
        if target not in self.read:
            return [n.assign(target, n.subscript(value, n.const(0)))]
        pb = self.namer.pullback(target)
        s._fx_pullback = pb
        out = [
            gast.Assign(
                targets=[n.tuple_([n.name(target, True), n.name(pb, True)], store=True)],
                value=value,
                type_comment=None,
            )
        ]
        if in_loop:
            out.append(self.push(n.name(pb)))
        return out

    def direct_rule_call(self, s):
        """``__fx_call(__fx_op.mul, a, b)`` becomes ``__fx_rule.mul(a, b)``: an operator's rule, called
        without dispatch (its pullback returns one entry per argument: no callee entry). Rules are bound
        when the code is generated; a later registration changes the registry version, which regenerates."""
        value = s.value
        callee = value.args[0] if value.func.id == CALL else None
        if value.keywords or any(isinstance(a, gast.Starred) for a in value.args[1:]):
            return value
        name = operator_name(callee)
        if name is None or name not in self.ctx.direct_rules:
            return self.module_rule_call(s, callee)
        s._fx_direct = True
        mask = getattr(s, "_fx_mask", None)
        if mask is not None and f"{name}__partial" in self.ctx.direct_rules:
            # the rule's partial form computes only the wanted cotangents (the others come back None)
            flags = n.const(tuple(bool(f) for f in mask[1:]))
            return n.call(n.attr(n.name("__fx_rule"), f"{name}__partial"), [flags] + value.args[1:])
        return n.call(n.attr(n.name("__fx_rule"), name), value.args[1:])

    def module_rule_call(self, s, callee):
        """``__fx_call(np.sum, x)`` becomes ``__fx_rule_of(np.sum)(x)`` when ``np.sum`` had a rule when
        the code was generated: the rule is called without dispatch (``rule_of`` still looks it up, so a
        name rebound since is dispatched as before). Its pullback may return entries for parameters that
        were not passed: they are indexed, not destructured."""
        value = s.value
        rule = self.ctx.module_rule(callee) if callee is not None else None
        if rule is None or (getattr(rule, "partial", None) is not None and getattr(s, "_fx_mask", None)):
            return value
        s._fx_direct = True
        s._fx_indexed = True
        return n.call(n.call("__fx_rule_of", [callee]), value.args[1:])

    def inactive_call(self, value):
        """A call reading no active name: a Python callee runs its variant that computes no gradient."""
        callee = value.args[0]
        if not (
            isinstance(callee, gast.Name)
            and not callee.id.startswith(HELPER_PREFIX)
            and callee.id not in self.ctx.static_roots
        ):
            return value  # operators, module functions, helpers: their rules are cheap enough as they are
        rest = value.args[1:] if value.func.id == CALL else value.args[2:]
        flags = [False] + [(a, False) if isinstance(a, gast.Starred) else False for a in rest]
        return _masked_call(value, flags)

    # -- reverse --------------------------------------------------------------------------------------
    def rev_call(self, s, target, in_loop, known_none):
        if getattr(s, "_fx_inactive", False):  # no pullback: the name's earlier cotangent is not wanted
            return self.reset(target, known_none) if target in self.active else []
        if target not in self.read:
            return []
        pb = s._fx_pullback
        out = []
        if in_loop:
            out.append(self.pop(pb))
        contributions = self.contributions(s.value, getattr(s, "_fx_direct", False))
        if not contributions:
            return out + self.reset(target, known_none)
        inner_known = set(known_none)
        inner_known.discard(target)
        result = n.call(pb, [n.name(self.adj(target))])
        items = self.destructured(s, contributions)
        if contributions[0][1] == "target":  # the value read, recorded with its own cotangent
            name = contributions[0][0]
            out.append(self.record(name[1], n.name(self.adj(target))))
            return out + self.reset(target, known_none)
        if items is None:
            inner = [n.assign(self.grads, result)]
            item = self.grad_item
        else:  # ``_fx_g_0, _fx_g_1 = pb(d)``: cheaper than indexing when differentiated again
            target_tuple = n.tuple_([n.name(v, True) for v in items], store=True)
            inner = [gast.Assign(targets=[target_tuple], value=result, type_comment=None)]
            item = lambda index: n.name(items[index])  # noqa: E731
        inner.append(n.assign(self.adj(target), n.const(None)))
        inner_known.add(target)
        trees = {}  # (index, follow, fields) -> the name holding their sums
        for _, index in contributions:
            if isinstance(index, tuple) and index[0] == "tree" and index[1:4] not in trees:
                trees[index[1:4]] = self.namer.fresh("_fx_rec")
                _, position, follow, fields, _ = index
                sums = n.call("__fx_recursive_fields", [item(position), n.const(follow), n.const(fields)])
                inner.append(n.assign(trees[index[1:4]], sums))
        for name, index in contributions:
            if isinstance(index, tuple) and index[0] == "tree":
                value = n.subscript(n.name(trees[index[1:4]]), n.const(index[4]))
                inner.append(self.accumulate(name, value, inner_known))
            elif isinstance(name, tuple):
                inner.append(self.record(name[1], item(index)))
            else:
                inner.append(self.accumulate(name, item(index), inner_known))
        written = {name for name, _ in contributions if not isinstance(name, tuple)}
        for name in written:
            known_none.discard(name)
        out.append(n.if_(n.is_not_none(n.name(self.adj(target))), inner))
        if target not in written:
            known_none.add(target)
        return out

    def rev_unpack(self, s, target, in_loop, known_none):
        """``a, b = v``: the cotangent of the unpacked tuple is ``(d_a, d_b)``, built in one step.

        The statements ``a = _items[0]; b = _items[1]`` that follow the unpacking get no pullback of their
        own (see fwd_stmt): one tuple instead of one indexing rule per name, which is what a pullback
        destructuring ``y, y_pb = rule(...)`` costs when it is differentiated again."""
        names = s._fx_unpacked
        live = [t for t in names if t in self.active and t not in known_none]
        out = []
        if live:
            parts = [n.name(self.adj(t)) if t in live else n.const(None) for t in names]
            body = [n.assign(self.adj(target), n.tuple_(parts))]
            body += [n.assign(self.adj(t), n.const(None)) for t in live]
            test = gast.BoolOp(op=gast.Or(), values=[n.is_not_none(n.name(self.adj(t))) for t in live])
            out.append(n.if_(test, body))
            known_none.discard(target)
            known_none.update(live)
        return out + self.rev_call(s, target, in_loop, known_none)

    def destructured(self, s, contributions):
        """Names for every entry of a direct rule's pullback result (one per argument, no callee entry),
        or None where the number of entries is not known from the call."""
        if not getattr(s, "_fx_direct", False) or getattr(s, "_fx_indexed", False):
            return None  # direct_rule_call has ruled out keywords and starred arguments
        if not all(type(index) is int for _, index in contributions):
            return None
        count = len(s.value.args) - 1
        names = self.__dict__.setdefault("_item_names", [])
        while len(names) < count:
            names.append(self.namer.fresh(f"{self.grads}_{len(names)}"))
        return names[:count]

    def grad_item(self, index):
        g = n.name(self.grads)
        if isinstance(index, tuple) and index[0] == "slice":
            # *args: up to the trailing keyword dict, if there is one
            if index[2] is None:
                return n.subscript(g, gast.Slice(lower=n.const(index[1]), upper=None, step=None))
            # with the value splatted: an array's gradient is one array (rules/python_cotangents.py's
            # starred_grads)
            return n.call("__fx_starred_grads", [g, n.const(index[1]), copy.deepcopy(index[2])])
        if isinstance(index, tuple) and index[0] == "keyword":
            return n.call("__fx_kwgrad", [g, index[1], index[2]])
        if isinstance(index, tuple) and index[0] == "field":
            return n.call("__fx_tangent_field", [n.subscript(g, n.const(index[1])), n.const(index[2])])
        return n.subscript(g, n.const(index))

    def contributions(self, value, direct=False):
        """(name, index into the pullback's result) for every active name the call reads."""
        out = []
        args = value.args
        attribute = None if direct else self.static_attribute(value)
        if attribute is not None:  # ``Cfg.W``: recorded as it is read (see static_attribute)
            return [(("global", attribute), "target")]
        if direct:
            callee, rest, first = None, args[1:], 0  # a rule called directly: no entry for the callee
        elif value.func.id == CALL:
            callee, rest, first = args[0], args[1:], 1
            if isinstance(callee, gast.Name) and callee.id in self.closures:
                # a local closure called directly: its captured variables get their gradient here, for
                # the bindings they have now (Python closures read variables when called, not when made)
                out += self.closure_fields(callee.id, 0)
            elif isinstance(callee, gast.Name) and callee.id in self.active:
                out.append((callee.id, 0))
            elif self.global_active(callee):
                out.append((("global", callee), 0))
        else:
            obj, rest, first = args[0], args[2:], 1
            if isinstance(obj, gast.Name) and obj.id in self.active:
                out.append((obj.id, 0))
            elif self.global_active(obj):  # ``W.dot(x)`` on a global: its cotangent is the object's
                out.append((("global", obj), 0))
        starred = None
        # __fx_call(__fx_call, g, ...) or __fx_call(__fx_call_masked, mask, g, ...): g is a closure call
        through = _dispatcher_callee_index(value)
        for i, a in enumerate(rest):
            if i == through and isinstance(a, gast.Name) and a.id in self.closures:
                # __fx_call(__fx_call, g, ...) in generated code is a direct call of the closure g
                out += self.closure_fields(a.id, first + i)
                continue
            if isinstance(a, gast.Starred):
                starred = a.value
                if isinstance(a.value, gast.Name) and a.value.id in self.active:
                    # up to a trailing KeywordGrads, which callees with **kwargs always return
                    out.append((a.value.id, ("slice", first + i, a.value)))
                elif self.global_active(a.value):
                    out.append((("global", a.value), ("slice", first + i, a.value)))
            elif isinstance(a, gast.Name) and a.id in self.active:
                out.append((a.id, first + i))
            elif self.global_active(a):
                out.append((("global", a), first + i))
        npos = len(rest) - (starred is not None)
        position = n.const(first + npos)
        if starred is not None:
            position = gast.BinOp(left=position, op=gast.Add(), right=n.call("__fx_len", [starred]))
        for k in value.keywords:
            if isinstance(k.value, gast.Name) and k.value.id in self.active:
                out.append((k.value.id, ("keyword", position, n.const(k.arg))))
            elif self.global_active(k.value):  # ``f(A=W)``, ``f(**KW)`` (a dict of the keywords' gradients)
                out.append((("global", k.value), ("keyword", position, n.const(k.arg))))
        return out

    def static_attribute(self, value):
        """``Cfg.W`` for ``__fx_call(__fx_getattr, Cfg, 'W')`` (or ``getattr(mod, 'W')``) reading an
        attribute of a global class or of a user's module, when this function's own cotangent is wanted:
        the attribute's cotangent does not reach the class or module (dispatch gives them none), so the
        value read is recorded for ``fx.params`` with it, as a global's is. Else None."""
        args = value.args
        if not (
            self.self_active
            and value.func.id == CALL
            and len(args) == 3
            and not value.keywords
            and isinstance(args[0], gast.Name)
            and isinstance(args[1], gast.Name)
            and isinstance(args[2], gast.Constant)
            and isinstance(args[2].value, str)
            and args[2].value.isidentifier()
        ):
            return None
        callee, obj = args[0].id, args[1].id
        user_globals = _user_globals(self.ctx)
        if user_globals is None or obj in self.locals:
            return None
        if callee != "__fx_getattr" and not (
            callee == "getattr" and callee not in self.locals and callee not in user_globals
        ):
            return None
        if not (obj in self.user_modules or isinstance(user_globals.get(obj), type)):
            return None
        return gast.Attribute(value=n.name(obj), attr=args[2].value, ctx=gast.Load())

    def closure_fields(self, name, index):
        """Contributions of the variables closure ``name`` captures, read from its cotangent at ``index``
        of the pullback's result: field by field, or summed over the tree of the local functions it calls
        (see _direct_closures)."""
        tree = self.trees.get(name)
        if tree is None:
            return [(v, ("field", index, v)) for v in sorted(self.closures[name])]
        follow, fields = tree
        return [(v, ("tree", index, follow, fields, k)) for k, v in enumerate(fields)]


def _masked_call(call, flags):
    """``__fx_call_masked(mask, f, ...)`` for ``__fx_call(f, ...)`` (likewise for method calls): ``flags``
    holds one bool per position (callee or object first), or ``(starred, bool)`` for a starred argument."""
    parts, current = [], []
    for flag in flags:
        if isinstance(flag, tuple):
            if current:
                parts.append(n.const(tuple(current)))
                current = []
            star = n.call("__fx_len", [flag[0].value])
            parts.append(gast.BinOp(left=n.const((bool(flag[1]),)), op=gast.Mult(), right=star))
        else:
            current.append(bool(flag))
    if current or not parts:
        parts.append(n.const(tuple(current)))
    mask = parts[0]
    for part in parts[1:]:
        mask = gast.BinOp(left=mask, op=gast.Add(), right=part)
    return gast.Call(func=n.name(MASKED[call.func.id]), args=[mask] + call.args, keywords=call.keywords)


# -- ``a, b = v``: one tuple cotangent ----------------------------------------------------------------


def mark_unpack_groups(stmts, loads):
    """Mark ``_items = unpack(v, k)`` followed by ``t_j = getitem(_items, j)`` for j = 0..k-1 (how the
    normalizer writes ``t_0, ..., t_k-1 = v``) when ``_items`` is read nowhere else and the names are
    distinct: the adjoint builds the tuple cotangent at once (rev_unpack)."""
    for s in stmts:
        for field in ("body", "orelse", "finalbody"):
            inner = getattr(s, field, None)
            if inner and not isinstance(s, gast.FunctionDef):
                mark_unpack_groups(inner, loads)
        for handler in getattr(s, "handlers", None) or []:
            mark_unpack_groups(handler.body, loads)
    for i, s in enumerate(stmts):
        count = _unpack_count(s)
        if count is None:
            continue
        items = s.targets[0].id
        group = stmts[i + 1 : i + 1 + count]
        if len(group) != count or loads.get(items) != count:
            continue
        names = [_item_target(g, items, j) for j, g in enumerate(group)]
        if None in names or len(set(names)) != count or items in names:
            continue
        s._fx_unpacked = names
        for j, g in enumerate(group):
            g._fx_item_of = (items, j)


def _binary_call(s):
    """The ``(callee, a, b)`` of ``t = __fx_call(callee, a, b)``, else None."""
    if not (isinstance(s, gast.Assign) and isinstance(s.targets[0], gast.Name)):
        return None
    v = s.value
    if not (_is_active_call(v) and v.func.id == CALL and len(v.args) == 3 and not v.keywords):
        return None
    return v.args


def _unpack_count(s):
    """``k`` for ``_items = __fx_call(__fx_unpack, v, k)``, else None."""
    call = _binary_call(s)
    if call is None:
        return None
    callee, _, count = call
    if isinstance(callee, gast.Name) and callee.id == "__fx_unpack" and isinstance(count, gast.Constant):
        return count.value if type(count.value) is int else None
    return None


def _item_target(s, items, index):
    """The target of ``t = getitem(items, index)``, else None."""
    call = _binary_call(s)
    if call is None or operator_name(call[0]) != "getitem":
        return None
    obj, idx = call[1], call[2]
    same = isinstance(obj, gast.Name) and obj.id == items
    if same and isinstance(idx, gast.Constant) and idx.value == index:
        return s.targets[0].id
    return None
