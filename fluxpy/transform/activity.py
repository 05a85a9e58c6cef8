"""Stage 5, the analyses the adjoint needs before it generates code (a mixin of adjoint._Adjoint): which
names may carry a wanted gradient (activity), which calls read none (their masks), which globals and module
attributes ``fx.params`` may reach, which local functions capture active variables and are called directly
(their closures' gradients go straight to the current bindings, across mutual recursion), and the default
values moved to their calls so that gradients reach them.
"""

import copy
import functools
import os
import sys
import sysconfig
from types import ModuleType

import gast

from ..errors import unsupported
from . import nodes as n
from .fence import HELPER_PREFIX
from .normalize.anf_names import CALL, CALL_METHOD

MASKED = {CALL: "__fx_call_masked", CALL_METHOD: "__fx_call_method_masked"}


_WRITE_CHECKS = frozenset({"__fx_check_writes"})  # helpers given a local function without calling it
_SCOPES = (gast.FunctionDef, gast.Lambda, gast.ListComp, gast.SetComp, gast.DictComp, gast.GeneratorExp)
_LIBRARY_ROOTS = frozenset({"fluxpy", "numpy", "scipy", "cupy", "cupyx", "jax", "jaxlib", "torch", "pandas"})
_library_modules = {}  # module name -> whether it is a library's (its attributes hold no parameters)


class Activity:
    """Methods of adjoint._Adjoint: the analyses before code generation."""

    def _activity(self):
        """The names that may carry a gradient the caller wants: the active parameters (all of them, or
        those ``ctx.mask`` marks), the captured variables and globals when the function's own cotangent is
        wanted (``mask[0]``), and every name assigned from a call reading an active name (flow-insensitive:
        a name is active when any of its assignments is). Calls reading no active name run without a
        pullback; calls reading some inactive names pass the callee a mask of the positions to skip."""
        mask = self.ctx.mask
        self.self_active = mask is None or bool(mask[0])
        active = set(self.kwonly) | {name for name in (self.kwarg,) if name}
        if mask is None:
            active |= set(self.params) | set(self.freevars)
            if self.vararg:
                active.add(self.vararg)
        else:
            flags = mask[1:]
            active |= {p for i, p in enumerate(self.params) if i >= len(flags) or flags[i]}
            if self.vararg and any(flags[len(self.params) :]):
                active.add(self.vararg)
            if self.self_active:
                active |= set(self.freevars)
        # (targets, the names that make them active, whether a global read makes them active already)
        flows = []
        for target, value in _assignments(self.body):
            if _is_active_call(value) and _callee_is(value, "__fx_caught"):
                flows.append(({target}, set(), True))  # a caught exception: its rule refuses gradients
                continue
            if _is_active_call(value):
                names = set().union(*[_names_read(e) for e in _call_operands(value)])
            elif isinstance(value, gast.Name):
                names = {value.id}
            elif isinstance(value, gast.FunctionDef):
                # a local function reading globals (``fx.params`` reach it there) is active as they are
                captured = _captured(value)
                flows.append(({target}, captured, any(self.global_root_active(v) for v in captured)))
                continue
            elif isinstance(value, gast.Attribute):  # ``t = mod.W``: an attribute of a user's module
                flows.append(({target}, set(), self.global_active(value)))
                continue
            else:
                continue
            flows.append(({target}, names, any(self.global_name_active(v) for v in names)))
        for s in _walk_statements(self.body):  # normalized loops iterate over indices; any other target
            if isinstance(s, gast.For):  # is conservative
                names = _names_in(s.iter)
                flows.append((_names_in(s.target), names, any(self.global_name_active(v) for v in names)))
        changed = True
        while changed:  # to the least fixed point: the order of the flows does not matter
            changed = False
            for targets, names, by_global in flows:
                if not targets <= active and (by_global or not names.isdisjoint(active)):
                    active |= targets
                    changed = True
        return active

    def _move_defaults(self):
        """Default values that may carry a gradient (a name that does, a global or module attribute
        ``fx.params`` may reach) of a local function that is only ever called directly: computed into a
        variable where the ``def`` runs (as Python does) and passed by every call that leaves them out, as
        keywords. Their gradients then reach the variables (no gradient reaches a default). Returns whether
        something moved."""
        statements = list(_walk_statements(self.body))
        moved = False
        for block in _blocks(self.body):
            for s in list(block):
                if isinstance(s, gast.FunctionDef) and self._move_defaults_of(s, block, statements):
                    moved = True
        return moved

    def _carries(self, d):
        """Whether default value ``d`` may carry a gradient: an active name, or a global (whether or not
        this function's own cotangent is wanted: a gradient of this code may want it)."""
        if isinstance(d, gast.Name):
            return d.id in self.active or self.is_global(d)
        return isinstance(d, gast.Attribute) and self.is_global(d)

    def _move_defaults_of(self, fdef, block, statements):
        args = fdef.args
        positional = args.posonlyargs + args.args
        first = len(positional) - len(args.defaults)
        moving = [i for i, d in enumerate(args.defaults) if self._carries(d)]
        keyword = [i for i, d in enumerate(args.kw_defaults) if d is not None and self._carries(d)]
        if not moving and not keyword:
            return False
        if moving:  # defaults stay a suffix: the later ones move too
            moving = list(range(moving[0], len(args.defaults)))
        defaults = [args.defaults[i] for i in moving] + [args.kw_defaults[i] for i in keyword]
        if not all(isinstance(d, (gast.Name, gast.Constant)) or self.is_global(d) for d in defaults):
            return False
        if any(first + i < len(args.posonlyargs) for i in moving):
            return False  # positional-only: not passed by keyword
        names = _copies(fdef.name, statements)
        if not names <= self.stable or any(_escapes(a, self.body, self.ret, names) for a in names):
            return False
        if any(isinstance(d, gast.FunctionDef) and _captured(d) & names for d in statements):
            return False  # called from a local function (itself, recursively): a call not rewritten here
        calls = []
        for s in statements:
            for node in _statement_nodes(s):
                if isinstance(node, gast.Name) and node.id in names and isinstance(node.ctx, gast.Load):
                    calls.append(node)
        sites = []
        for s in statements:
            for node in _statement_nodes(s):
                if (
                    isinstance(node, gast.Call)
                    and isinstance(node.func, gast.Name)
                    and node.func.id == CALL
                    and isinstance(node.args[0], gast.Name)
                    and node.args[0].id in names
                ):
                    if any(isinstance(a, gast.Starred) for a in node.args) or any(
                        k.arg is None for k in node.keywords
                    ):
                        return False
                    sites.append(node)
        copies = sum(
            1
            for s in statements
            if isinstance(s, gast.Assign) and isinstance(s.value, gast.Name) and s.value.id in names
        )
        # the normalizer's check that a callee wrote no argument the caller reads (__fx_check_writes(f,
        # ...)) reads f without calling it
        checks = sum(
            1
            for s in statements
            for node in _statement_nodes(s)
            if isinstance(node, gast.Call)
            and isinstance(node.func, gast.Name)
            and node.func.id in _WRITE_CHECKS
            and node.args
            and isinstance(node.args[0], gast.Name)
            and node.args[0].id in names
        )
        if len(sites) + copies + checks != len(calls):
            return False  # read other than as a callee (or as the dispatcher's: generated code)
        # (parameter, its position among the positional ones or None)
        params = [(positional[first + i].id, first + i) for i in moving]
        params += [(args.kwonlyargs[i].id, None) for i in keyword]
        variables = [self.namer.fresh(f"_fx_default_{p}") for p, _ in params]
        for call in sites:
            given = len(call.args) - 1
            passed = {k.arg for k in call.keywords}
            for (p, position), v in zip(params, variables, strict=True):
                if p not in passed and (position is None or position >= given):
                    call.keywords.append(gast.keyword(arg=p, value=n.name(v)))
        args.defaults = [d for i, d in enumerate(args.defaults) if i not in moving]
        args.kw_defaults = [None if i in keyword else d for i, d in enumerate(args.kw_defaults)]
        index = next(i for i, x in enumerate(block) if x is fdef)
        block[index:index] = [
            n.located(n.assign(v, _load_copy(d)), fdef) for v, d in zip(variables, defaults, strict=True)
        ]
        self.locals.update(variables)
        return True

    def _reads_active(self, call, active):
        """Whether the call ``__fx_call(f, ...)`` / ``__fx_call_method(obj, name, ...)`` reads an active
        name (the callee included)."""
        return any(self._operand_active(e, active) for e in _call_operands(call))

    def _operand_active(self, e, active):
        if isinstance(e, gast.Name):
            return e.id in active or self.global_active(e)
        return self.global_active(e) or self._mentions_active(e, active)

    def _mentions_active(self, e, active):
        return any(v in active or self.global_name_active(v) for v in _names_in(e))

    def _mark_calls(self):
        """Mark each call statement reading no active name (``_fx_inactive``) and, for the others, the
        mask of the positions whose gradient is not wanted (``_fx_mask``: callee first, then the positional
        arguments; None when every position that could carry a gradient is active)."""
        for s in _walk_statements(self.body):
            if not (isinstance(s, gast.Assign) and _is_active_call(s.value)):
                continue
            value = s.value
            if not self._reads_active(value, self.active):
                s._fx_inactive = True
                continue
            args = value.args
            callee, rest = (args[0], args[1:]) if value.func.id == CALL else (args[0], args[2:])
            skips = [
                isinstance(e, gast.Name)
                and not e.id.startswith(HELPER_PREFIX)
                and e.id not in self.ctx.static_roots
                and not self._operand_active(e, self.active)
                for e in [callee] + [a.value if isinstance(a, gast.Starred) else a for a in rest]
            ]
            if any(skips):
                flags = [self._operand_active(callee, self.active)]
                flags += [
                    (a, self._operand_active(a.value, self.active))
                    if isinstance(a, gast.Starred)
                    else self._operand_active(a, self.active) and not isinstance(a, gast.Constant)
                    for a in rest
                ]
                s._fx_mask = flags

    def global_active(self, node):
        """A global read whose cotangent is wanted (for ``fx.params``): only when the function's own is."""
        return self.self_active and self.is_global(node)

    def global_root_active(self, name):
        """Whether a nested function reading ``name`` may read a parameter there: a global name, or a user's
        module (``mod.W``)."""
        return self.global_name_active(name) or (self.self_active and name in self.user_modules)

    @property
    def user_modules(self):
        """The module globals (static roots) that are the user's own modules, not libraries: attributes
        read from them (``mod.W``, ``mod.f``) may hold parameters, as globals do."""
        modules = self.__dict__.get("_user_modules")
        if modules is None:
            modules = self._user_modules = _user_module_roots(self.ctx)
        return modules

    def global_name_active(self, name):
        """``global_active`` of a read of the name ``name``. The builtins ``len``, ``range``, ... hold no
        parameter: the loop variable of ``for i in range(n)`` in generated code (a gradient function,
        differentiated again with its own cotangent wanted) carries no gradient, and neither does a default
        ``i=i`` read from it."""
        return (
            self.self_active
            and name not in self.locals
            and not name.startswith(HELPER_PREFIX)
            and name not in self.ctx.static_roots
            and name not in self.ctx.inactive_builtins
        )

    def _direct_closures(self):
        """Local functions (nested defs, lambdas) that capture active variables: name -> captured names.

        Their direct calls send the captured variables' gradients straight to the current bindings. A
        closure that escapes (stored, returned, passed on) gets them where it was made instead, which is
        only right if none of those variables is assigned again afterwards: that case is refused.

        A local function capturing local functions (``p`` calling ``q``, recursion, mutual recursion) has a
        cotangent nesting theirs, one level per call, under the names it calls them by: ``self.trees``
        maps it to ``(those names, the variables captured anywhere below)``, whose gradients are summed
        over the whole tree where its cotangent is taken (see recursive_fields), so that no level is left
        for a ``def`` whose reverse has already run.
        """
        statements = list(_walk_statements(self.body))
        defs = {s.name: s for s in statements if isinstance(s, gast.FunctionDef)}
        out = {}
        found = {}  # def name -> (its names, captured active names)
        for name, fdef in defs.items():
            self._check_defaults(fdef)
            captured = _captured(fdef) & self.active
            if not captured or name not in self.active:
                continue
            names = _copies(name, statements)  # g = lambda_L3C8 (a hoisted lambda) is the same closure
            found[name] = (names, captured)
            for alias in names:
                out[alias] = captured
        def_of = {alias: name for name, (names, _) in found.items() for alias in names}
        self.trees = {}
        for name, (names, captured) in found.items():
            below = _reachable(name, def_of, found)
            follow = set().union(*[found[d][1] & def_of.keys() for d in below])
            fields = set().union(*[found[d][1] - def_of.keys() for d in below])
            if follow:
                for alias in names:
                    self.trees[alias] = (tuple(sorted(follow)), tuple(sorted(fields)))
            if any(_escapes(alias, self.body, self.ret, names) for alias in names):
                fdef = defs[name]
                rebound = _assigned_after(fdef, set().union(*[found[d][1] for d in below]), self.body)
                if rebound:
                    what = "a lambda" if name.startswith("lambda_L") else repr(name)  # (parse.lambda_name)
                    shown = self.ctx.user_names.get(rebound, rebound)
                    through = "" if rebound in captured else ", through the local functions it calls"
                    raise unsupported(
                        f"a closure that escapes ({what}: stored, returned or passed on) while a variable it "
                        f"captures ({shown!r}{through}) is assigned again later",
                        file=self.ctx.source.file,
                        line=fdef.lineno,
                        col=fdef.col_offset,
                        source_line=self.ctx.source.line(fdef.lineno),
                        why="the closure would read the later value, and its gradient cannot be routed there",
                        hint="pass the value as an argument (a default is evaluated once: use a parameter) "
                        "or give each value its own name",
                    )
        return out

    def is_global(self, node):
        """A name read from the module (or builtins), or an attribute chain on a user's module (``mod.W``,
        ``mod.sub.f``): its cotangent is recorded for ``fx.params``."""
        if isinstance(node, gast.Attribute):
            root = node
            while isinstance(root, gast.Attribute):
                root = root.value
            return isinstance(root, gast.Name) and root.id in self.user_modules
        return (
            isinstance(node, gast.Name)
            and node.id not in self.locals
            and not node.id.startswith(HELPER_PREFIX)
            and node.id not in self.ctx.static_roots
        )

    def record(self, node, value):
        """``if implicit gradients are running: record(global value, cotangent)`` (``node``: the global
        name or module attribute, read again)."""
        test = n.subscript(n.name("__fx_implicit"), n.const(0))
        return n.if_(test, [gast.Expr(value=n.call("__fx_record", [_load_copy(node), value]))])

    def _check_defaults(self, fdef):
        """Default values are computed once, when the ``def`` runs, and no gradient reaches them."""
        defaults = list(fdef.args.defaults) + [d for d in fdef.args.kw_defaults if d is not None]
        for expr in defaults:
            used = _names_in(expr) & self.active
            if used:
                line = getattr(expr, "lineno", None) or fdef.lineno
                raise unsupported(
                    f"a default value computed from {sorted(used)[0]!r}, which carries a gradient",
                    file=self.ctx.source.file,
                    line=line,
                    col=getattr(expr, "col_offset", None) or fdef.col_offset,
                    source_line=self.ctx.source.line(line),
                    why="defaults are evaluated once and get no gradient",
                    hint="read the variable in the function body instead, or pass it as an argument",
                )


def _names_in(node):
    """The ids of the names in the tree ``node``."""
    return {x.id for x in n.walk(node) if isinstance(x, gast.Name)}


def _names_read(e):
    """The names an operand reads: its own if it is one, else those in it."""
    return {e.id} if isinstance(e, gast.Name) else _names_in(e)


def _is_active_call(value):
    return (
        isinstance(value, gast.Call)
        and isinstance(value.func, gast.Name)
        and value.func.id in (CALL, CALL_METHOD)
    )


def _dispatcher_callee_index(call):
    """For ``__fx_call(__fx_call, g, ...)`` (0) or ``__fx_call(__fx_call_masked, mask, g, ...)`` (1), as
    generated code reads when differentiated again: the index of ``g`` among the arguments after the
    dispatcher; None for other calls."""
    if call.func.id != CALL or not isinstance(call.args[0], gast.Name):
        return None
    return {CALL: 0, MASKED[CALL]: 1}.get(call.args[0].id)


def _call_operands(call):
    """The expressions a dispatch call reads: the callee (or the object of a method call), the positional
    arguments (a starred one's value) and the keyword values."""
    args = call.args
    rest = args[1:] if call.func.id == CALL else args[2:]
    out = [args[0]]
    out += [a.value if isinstance(a, gast.Starred) else a for a in rest]
    out += [k.value for k in call.keywords]
    return out


def _assignments(stmts):
    for s in stmts:
        if isinstance(s, gast.Assign) and isinstance(s.targets[0], gast.Name):
            yield s.targets[0].id, s.value
        elif isinstance(s, gast.FunctionDef):
            yield s.name, s
        elif isinstance(s, (gast.If, gast.For, gast.While, gast.With, gast.Try)):
            yield from _assignments(s.body)
            yield from _assignments(getattr(s, "orelse", []))
            yield from _assignments(getattr(s, "finalbody", []))
            for h in getattr(s, "handlers", []):
                yield from _assignments(h.body)


def _blocks(stmts):
    """``stmts`` and the statement lists nested in it (not in nested functions)."""
    yield stmts
    for s in stmts:
        if isinstance(s, gast.FunctionDef):
            continue
        for field in ("body", "orelse", "finalbody"):
            inner = getattr(s, field, None)
            if inner:
                yield from _blocks(inner)
        for handler in getattr(s, "handlers", None) or []:
            yield from _blocks(handler.body)


def _walk_statements(stmts):
    """Statements of a body in source order, entering compound statements (not nested functions)."""
    for s in stmts:
        yield s
        if isinstance(s, gast.FunctionDef):
            continue
        for field in ("body", "orelse", "finalbody"):
            yield from _walk_statements(getattr(s, field, None) or [])
        for handler in getattr(s, "handlers", None) or []:
            yield from _walk_statements(handler.body)


def _callee_is(call, helper):
    """Whether the call ``__fx_call(f, ...)`` calls the helper named ``helper``."""
    return call.func.id == CALL and isinstance(call.args[0], gast.Name) and call.args[0].id == helper


def _reachable(name, def_of, found):
    """The local functions that ``name`` may call, itself included: through the captured names that are
    local functions (``def_of``: alias -> def name; ``found``: def name -> (aliases, captured))."""
    seen, stack = set(), [name]
    while stack:
        d = stack.pop()
        if d not in seen:
            seen.add(d)
            stack.extend(def_of[v] for v in found[d][1] if v in def_of)
    return seen


def _copies(name, statements):
    """``name`` and the names it is copied to (``g = name``), transitively."""
    names = {name}
    changed = True
    while changed:
        changed = False
        for s in statements:
            if (
                isinstance(s, gast.Assign)
                and isinstance(s.value, gast.Name)
                and s.value.id in names
                and isinstance(s.targets[0], gast.Name)
                and s.targets[0].id not in names
            ):
                names.add(s.targets[0].id)
                changed = True
    return names


def _escapes(name, body, ret, aliases=()):
    """Whether the local function ``name`` is used other than as the callee of a direct call (copies to
    its ``aliases`` do not count)."""
    for s in _walk_statements(body):
        if (
            isinstance(s, gast.Assign)
            and isinstance(s.value, gast.Name)
            and s.value.id == name
            and isinstance(s.targets[0], gast.Name)
            and s.targets[0].id in aliases
        ):
            continue
        for node in _statement_nodes(s):
            if isinstance(node, gast.Call) and isinstance(node.func, gast.Name) and node.func.id == CALL:
                inner = _dispatcher_callee_index(node)
                first = 1 if inner is None else inner + 2
                values = node.args[first:] + [k.value for k in node.keywords]
            elif (
                isinstance(node, gast.Call)
                and isinstance(node.func, gast.Name)
                and node.func.id == CALL_METHOD
            ):
                values = node.args + [k.value for k in node.keywords]
            elif isinstance(node, gast.Assign) and isinstance(node.value, gast.Name):
                values = [node.value]
            else:
                continue
            if any(isinstance(v, gast.Name) and v.id == name for v in values) or any(
                isinstance(v, gast.Starred) and isinstance(v.value, gast.Name) and v.value.id == name
                for v in values
            ):
                return True
    return isinstance(ret, gast.Name) and ret.id == name


def _statement_nodes(s):
    """The expression-level nodes of one statement (not of the statements nested in it)."""
    if isinstance(s, gast.FunctionDef):
        return []
    out = [s]
    for field, value in gast.iter_fields(s):
        if field in ("body", "orelse", "finalbody", "handlers"):
            continue
        for node in value if isinstance(value, list) else [value]:
            if isinstance(node, gast.AST):
                out.extend(n.walk(node))
    return out


def _path_to(target, body):
    """The blocks from ``body`` down to the statement ``target``: ``[(block, index, owner), ...]``."""
    for i, s in enumerate(body):
        if s is target:
            return [(body, i, None)]
        if isinstance(s, gast.FunctionDef):
            continue
        blocks = [getattr(s, f, None) or [] for f in ("body", "orelse", "finalbody")]
        blocks += [h.body for h in getattr(s, "handlers", None) or []]
        for block in blocks:
            inner = _path_to(target, block)
            if inner:
                return [(body, i, s)] + inner
    return []


def _assigned_after(fdef, names, body):
    """A name of ``names`` that may be assigned after the definition ``fdef`` runs: later in its block and
    in the blocks around it, or anywhere in a loop around it (not in branches that exclude it)."""
    later = []
    for block, index, owner in _path_to(fdef, body):
        later += list(_walk_statements(block[index + 1 :]))
        if isinstance(owner, (gast.For, gast.While)):
            later += list(_walk_statements(owner.body))
    for s in later:
        if isinstance(s, gast.Assign):
            for t in s.targets:
                for node in n.walk(t):
                    if isinstance(node, gast.Name) and node.id in names:
                        return node.id
        if isinstance(s, gast.For):
            for node in n.walk(s.target):
                if isinstance(node, gast.Name) and node.id in names:
                    return node.id
    return None


def _captured(scope):
    """The free variables of a function (or lambda, comprehension): the names it reads that it does not
    bind, including those its own nested scopes read from it or further out."""
    loads, bound = set(), set()
    if isinstance(scope, (gast.FunctionDef, gast.Lambda)):
        args = scope.args
        bound |= {a.id for a in args.posonlyargs + args.args + args.kwonlyargs}
        bound |= {a.id for a in (args.vararg, args.kwarg) if a is not None}
        children = scope.body if isinstance(scope.body, list) else [scope.body]
    else:  # a comprehension: its targets are its own
        for gen in scope.generators:
            bound |= _names_in(gen.target)
        children = [scope]
    stack = list(children)
    while stack:
        node = stack.pop()
        if node is not scope and isinstance(node, _SCOPES):
            if isinstance(node, gast.FunctionDef):
                bound.add(node.name)
                stack.extend(node.args.defaults + [d for d in node.args.kw_defaults if d is not None])
            elif isinstance(node, gast.Lambda):
                stack.extend(node.args.defaults + [d for d in node.args.kw_defaults if d is not None])
            else:
                stack.append(node.generators[0].iter)  # evaluated in the enclosing scope
            loads |= _captured(node)
            continue
        if isinstance(node, gast.Name):
            (loads if isinstance(node.ctx, gast.Load) else bound).add(node.id)
        stack.extend(n.children(node))
    return loads - bound


def _load_copy(node):
    """A fresh copy of the name or attribute chain ``node``, read (Load context)."""
    node = copy.deepcopy(node)
    for x in n.walk(node):
        if isinstance(x, (gast.Name, gast.Attribute)):
            x.ctx = gast.Load()
    return node


def _library_module(module):
    """Whether ``module`` belongs to the standard library, an installed package or fluxpy itself."""
    name = getattr(module, "__name__", None)
    if not isinstance(name, str):
        return False
    known = _library_modules.get(name)
    if known is not None:
        return known
    root = name.partition(".")[0]
    library = root in sys.stdlib_module_names or root in _LIBRARY_ROOTS
    file = getattr(module, "__file__", None)
    if not library and isinstance(file, str):
        path = os.path.realpath(file)
        library = any(path.startswith(p + os.sep) for p in _installed_paths())
    _library_modules[name] = library
    return library


@functools.cache
def _installed_paths():
    paths = set()
    for key in ("stdlib", "platstdlib", "purelib", "platlib"):
        path = sysconfig.get_paths().get(key)
        if path:
            paths.add(os.path.realpath(path))
    for path in sys.path:
        if os.path.basename(path) in ("site-packages", "dist-packages"):
            paths.add(os.path.realpath(path))
    return tuple(paths)


def _user_globals(ctx):
    """The globals dict of the function being transformed (bound into ``ctx.module_rule``), or None."""
    rule = getattr(ctx, "module_rule", None)
    user_globals = getattr(rule, "args", (None,))[0] if isinstance(rule, functools.partial) else None
    return user_globals if isinstance(user_globals, dict) else None


def _user_module_roots(ctx):
    """The static roots of ``ctx`` naming a user's module (see _Adjoint.user_modules). Without the
    function's globals at hand, every module root counts (a record more, never a gradient less)."""
    roots = {r for r in ctx.static_roots if not r.startswith(HELPER_PREFIX)}
    user_globals = _user_globals(ctx)
    if user_globals is None:
        return frozenset(roots)
    return frozenset(
        r
        for r in roots
        if isinstance(user_globals.get(r), ModuleType) and not _library_module(user_globals[r])
    )
