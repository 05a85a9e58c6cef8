"""Stage 7: the transformation cache, and the pipeline that fills it.

Keyed on the code object; an entry is valid for the globals dict it was bound to and the rule registry's
version (a rule registered after a first gradient takes effect with no refresh call). Closure cells are
read at call time, so one entry serves every closure made from the same code. Safe for several threads.
"""

import builtins
import contextlib
import functools
import gc
import threading
from dataclasses import dataclass, field
from types import FunctionType, ModuleType

import gast
import numpy as np

from .. import runtime
from ..errors import FluxpyError, SourceError, TransformError
from ..rules import registry
from . import adjoint, codegen, fence, forward, inline, item_targets, normalize, parse, source
from . import nodes as n
from .fence import HELPER_PREFIX
from .naming import Namer
from .normalize.anf_loops import iterator_names
from .normalize.anf_names import INACTIVE_BUILTINS

_lock = threading.RLock()
_cache = runtime._transformed  # code object -> _Entry (runtime.resolve reads hits directly)
_no_source = {}  # code object -> the SourceError raised for it


@dataclass
class _Entry:
    globals: dict
    version: int
    forward: FunctionType
    text: str
    filename: str
    # the forward function made last for a function with default values (its defaults bound): reused while
    # the same function, with the same defaults, is called (runtime.resolve reads it)
    defaulted: FunctionType | None = None
    defaulted_for: FunctionType | None = None


@dataclass
class Context:
    """What the stages share about one function being transformed."""

    source: source.Source
    namer: Namer
    freevars: tuple
    static_roots: set
    inactive_builtins: set
    local_lists: set = field(default_factory=set)
    iterators: set = field(default_factory=set)  # names bound to iterators (anf_loops.iterator_names)
    builtin_loops: frozenset = frozenset()  # enumerate, zip, reversed, iter, ...: Python's (anf_loops)
    writable: str = None  # the constructor's self (attribute writes allowed)
    direct_rules: frozenset = frozenset()  # operators generated code calls straight to their rules
    inline_ops: frozenset = frozenset()  # operators whose scalar arithmetic is written into the code
    first_param: str = None
    unrebound_params: set = field(default_factory=set)
    comments: list = field(default_factory=list)
    written_params: set = field(default_factory=set)  # parameters written in place (x[i] = v)
    augmented_params: dict = field(default_factory=dict)  # parameter -> in-place dunders of its ``x += v``
    first_assignments: dict = field(default_factory=dict)  # parameter -> position of its first ``x = ...``
    mask: tuple = None  # per position (self, then the arguments): whether its gradient is wanted; None: all
    module_rule: object = None  # callee node -> the rule of the module function it names, or None
    user_names: dict = field(
        default_factory=dict
    )  # a variable renamed by a pass -> the user's name, for messages


def forward_function(fn, constructor=False, mode="reverse", mask=None):
    """The forward function of Python function ``fn``: ``F(fn, *args) -> (y, pullback)``.

    ``constructor=True`` transforms an ``__init__`` as a function that returns ``self``, so that the
    attributes it writes on the fresh object carry gradients back to its arguments. ``mask`` (one bool
    for ``fn`` itself, then one per positional argument) gives the variant whose pullback computes only
    the gradients marked True (the others come back None).
    """
    key = (fn.__code__, "constructor") if constructor else fn.__code__
    if mode != "reverse":
        key = (fn.__code__, mode, constructor, mask)
    elif mask is not None:
        key = (fn.__code__, mask)
    entry = _cache.get(key)
    if entry is None or entry.globals is not fn.__globals__ or entry.version != registry.version():
        missing = _no_source.get(key)
        if missing is not None:
            raise missing
        try:
            entry = _build(fn, key, constructor, mode, mask)
        except SourceError as e:
            _no_source[key] = e
            raise
        except TransformError as e:  # a callee of differentiated code: name the calls that led to it
            source.note_call_sites(e)
            raise
    forward = entry.forward
    if fn.__defaults__ is None and fn.__kwdefaults__ is None:
        return forward
    bound = defaulted(entry, fn)
    if bound is not None:
        return bound
    bound = FunctionType(
        forward.__code__, forward.__globals__, forward.__name__, fn.__defaults__, forward.__closure__
    )
    bound.__kwdefaults__ = fn.__kwdefaults__
    entry.defaulted, entry.defaulted_for = bound, fn
    return bound


def defaulted(entry, fn):
    """The forward function ``entry`` made last for ``fn``, a function with default values, while those are
    still ``fn``'s own (the same tuple and dict: none was reassigned); else None."""
    bound = entry.defaulted
    if (
        entry.defaulted_for is fn
        and bound.__defaults__ is fn.__defaults__
        and bound.__kwdefaults__ is fn.__kwdefaults__
    ):
        return bound
    return None


def generated_source(fn):
    """The generated module text for ``fn`` (transforming it if needed). A class's ``__init__`` is shown
    as fluxpy differentiates it, as a constructor writing ``self``'s attributes and returning ``self``."""
    fn = function_of(fn, "adjoint_source")
    constructor = fn.__name__ == "__init__" and "." in fn.__qualname__
    forward_function(fn, constructor=constructor)
    return _cache[(fn.__code__, "constructor") if constructor else fn.__code__].text


def function_of(f, kind):
    """The Python function that ``fx.<kind>`` (``adjoint_source``, ``differentiable``) transforms for
    ``f``: ``f`` itself, a method's function, a ``functools.partial``'s, an object's Python ``__call__``.
    Else a FluxpyError saying why there is none (a class, a C function, a value that is not callable)."""
    if isinstance(f, FunctionType):
        return f
    func = getattr(f, "__func__", None)  # bound methods, staticmethod and classmethod objects
    if isinstance(func, FunctionType):
        return func
    if isinstance(f, functools.partial):
        return function_of(f.func, kind)
    if not isinstance(f, type):
        call = getattr(type(f), "__call__", None)  # noqa: B004
        if isinstance(call, FunctionType):
            return call
    raise FluxpyError(_no_function(f, kind))


def _no_function(f, kind):
    """Why ``fx.<kind>(f)`` has no Python function to transform, and what to pass instead."""
    if isinstance(f, type):
        name = f.__qualname__
        return (
            f"fx.{kind} takes a function, but {name} is a class: pass its methods "
            f"(fx.{kind}({name}.__call__), fx.{kind}({name}.__init__)) or an instance with a __call__; "
            "instances of a class are differentiated through its methods"
        )
    if not callable(f):
        text = repr(f)
        text = text if len(text) <= 60 else text[:57] + "..."
        kind_name = type(f).__name__
        article = "an" if kind_name[:1] in "aeiou" else "a"
        return (
            f"fx.{kind} takes a Python function, but it was given {article} {kind_name} ({text}), not "
            "callable"
        )
    if isinstance(f, np.ufunc):
        name = runtime._ufunc_path(f)
    else:
        name = getattr(f, "__qualname__", None) or getattr(f, "__name__", None) or repr(f)
    try:
        ruled = registry.lookup(f) is not None
    except TypeError:
        ruled = False
    if ruled:
        return (
            f"{name} has no Python source for fx.{kind}: fluxpy differentiates it by its registered rule "
            f"(fluxpy.rules.registry.lookup({name}) returns it, a Python function)"
        )
    return (
        f"{name} has no Python source for fx.{kind} (a C function, a builtin) and no derivative rule: "
        "register one with @fx.adjoint (see docs/writing-rules.md), or mark it fx.nograd if it has no "
        "derivative"
    )


def _build(fn, key, constructor, mode="reverse", mask=None):
    with _lock:
        entry = _cache.get(key)
        version = registry.version()
        if entry is not None and entry.globals is fn.__globals__ and entry.version == version:
            return entry
        with _collector_paused():
            text, locations, title = transform_source(fn, constructor, mode, mask)
            forward, filename = codegen.compile_forward(text, locations, fn.__globals__, title)
        entry = _Entry(fn.__globals__, version, forward, text, filename)
        _cache[key] = entry
        return entry


@contextlib.contextmanager
def _collector_paused():
    """Pause the cyclic garbage collector while a function is transformed and compiled.

    A transform allocates some 20,000 tree nodes, lists and dicts that live until it ends and are then freed
    by reference counting. Meanwhile they set off some twenty young-generation collections that scan them
    for nothing, and, promoted to the old generation, hasten full collections of the whole process (40-60 ms
    each in benchmarks/first_call.py, every fifth call): a quarter of the mean first-call time there. Cycles
    made meanwhile are collected by the first collection after it."""
    if not gc.isenabled():  # paused already (by the caller, or by an enclosing transform)
        yield
        return
    gc.disable()
    try:
        yield
    finally:
        gc.enable()


def normalized_source(fn):
    """The normalized function (stages 1-4) as Python source: what the adjoint stage sees."""
    src = source.get_source(fn)
    name = parse.lambda_name(src.node) if fn.__code__.co_name == "<lambda>" else fn.__code__.co_name
    fdef = parse.to_function_def(src.node, name, src.private, src.private_names)
    fence.check(fdef, src)
    fdef = normalize.normalize(fdef, _context(fn, fdef, src))
    return codegen.unparse(fdef)


def transform_source(fn, constructor=False, mode="reverse", mask=None):
    """Run stages 1-6 on ``fn`` and return ``(generated text, line locations, title)``."""
    src = source.get_source(fn)
    name = parse.lambda_name(src.node) if fn.__code__.co_name == "<lambda>" else fn.__code__.co_name
    fdef = parse.to_function_def(src.node, name, src.private, src.private_names)
    if constructor:
        fdef = parse.returning_self(fdef)
    first = (fdef.args.posonlyargs + fdef.args.args)[:1]  # ``self``, positional-only or not
    writable = first[0].id if constructor and first else None
    fence.check(fdef, src, writable=writable, classes=_class_names(fn, fdef))
    ctx = _context(fn, fdef, src)
    ctx.writable = writable
    ctx.mask = mask
    if first and "__class__" in fn.__code__.co_freevars:
        ctx.first_param = first[0].id  # for zero-argument super()
    fdef = normalize.normalize(fdef, ctx)
    positional = [a.id for a in fdef.args.posonlyargs + fdef.args.args]
    # position -> None (``x[i] = v``: always a write) or the in-place operators of ``x += v`` (a write when
    # the argument's type has them: arrays and lists, not numbers or tuples)
    written = {i: None for i, name in enumerate(positional) if name in ctx.written_params}
    for i, name in enumerate(positional):
        if name in ctx.augmented_params and i not in written:
            written[i] = frozenset(ctx.augmented_params[name])
    if written:
        runtime._param_writes[fn.__code__] = written
    if mode == "jvp":
        forward_def = forward.build_jvp(fdef, ctx)
    elif mode == "gradient":
        forward_def = adjoint.build_gradient(fdef, ctx)
    else:
        forward_def = adjoint.build_forward(fdef, ctx)
    title = f"{fn.__qualname__} ({_short(src.file)}:{src.node.lineno})"
    if mask is not None:
        title += _mask_note(fdef, fn, mask)
    text, locations = codegen.generate(forward_def, ctx.comments, title)
    return text, locations, title


def _context(fn, fdef, src):
    tree = n.walk(fdef)
    names = [node for node in tree if isinstance(node, gast.Name)]
    loaded = {node.id for node in names}
    rebound = {node.id for node in names if isinstance(node.ctx, gast.Store)}
    local = _local_names(fdef, tree, rebound) | set(fn.__code__.co_freevars)
    # helpers (generated code's free variables when it is differentiated again): evaluated live, so that
    # ``__fx_rule.mul(a, b)`` is a call of that rule, not a method call on the namespace
    static = {name for name in loaded & set(fn.__code__.co_freevars) if name.startswith(HELPER_PREFIX)}
    inactive = static & codegen.INACTIVE_HELPERS
    for name in loaded - local:
        if name.startswith(HELPER_PREFIX):
            static.add(name)
        elif name in fn.__globals__:
            if isinstance(fn.__globals__[name], ModuleType):
                static.add(name)
        elif name in INACTIVE_BUILTINS and hasattr(builtins, name):
            inactive.add(name)
    lists = item_targets.local_lists(fdef)
    params = {a.id for a in fdef.args.posonlyargs + fdef.args.args + fdef.args.kwonlyargs}
    ctx = Context(src, Namer.for_function(fdef), tuple(fn.__code__.co_freevars), static, inactive, lists)
    ctx.unrebound_params = params - rebound
    ctx.iterators = iterator_names(fdef)
    ctx.builtin_loops = frozenset(
        name
        for name in ("enumerate", "zip", "reversed", "iter", "list", "tuple")
        if name in loaded - local and name not in fn.__globals__
    )
    ctx.first_assignments = _first_assignments(tree, params)
    ctx.direct_rules = frozenset(vars(codegen.direct_rules()))
    ctx.inline_ops = inline.available()
    ctx.module_rule = functools.partial(_module_rule, fn.__globals__, static)
    return ctx


def _first_assignments(tree, params):
    """Per parameter, the source position ``(line, column)`` of its first assignment other than an
    augmented one (None when it has none): until then, ``x += v`` writes into the caller's object."""
    augmented = {id(node.target) for node in tree if isinstance(node, gast.AugAssign)}
    first = dict.fromkeys(params)
    for node in tree:
        if isinstance(node, gast.Name) and node.id in first and isinstance(node.ctx, gast.Store):
            if id(node) not in augmented:
                where = (getattr(node, "lineno", 0), getattr(node, "col_offset", 0))
                if first[node.id] is None or where < first[node.id]:
                    first[node.id] = where
    return first


def _module_rule(user_globals, static, callee):
    """The rule of the function ``callee`` names when it is an attribute of a module global (``np.sum``,
    ``np.linalg.norm``), else None."""
    path = []
    while isinstance(callee, gast.Attribute):
        path.append(callee.attr)
        callee = callee.value
    if not (path and isinstance(callee, gast.Name) and callee.id in static):
        return None
    obj = user_globals.get(callee.id)
    if not isinstance(obj, ModuleType):
        return None
    for attr in reversed(path):
        obj = getattr(obj, attr, None)
    return registry.lookup(obj) if obj is not None else None


def _mask_note(fdef, fn, mask):
    """``, no gradient for: x, y`` naming what a variant's pullback skips."""
    names = ["its own captures and globals"] if not mask[0] else []
    params = [a.id for a in fdef.args.posonlyargs + fdef.args.args]
    if fdef.args.vararg is None and len(mask) - 1 > len(params):  # as the plain call would raise
        given, taken = len(mask) - 1, len(params)
        raise TypeError(
            f"{fn.__qualname__}() takes {taken} positional argument{'' if taken == 1 else 's'} but {given} "
            f"{'was' if given == 1 else 'were'} given"
        )
    for i, wanted in enumerate(mask[1:]):
        if not wanted:
            names.append(params[i] if i < len(params) else f"*{fdef.args.vararg.id}[{i - len(params)}]")
    return ", no gradient for: " + ", ".join(names) if names else ""


def _class_names(fn, fdef):
    """Names the function reads that are classes among its globals or the builtins."""
    loaded = {node.id for node in n.walk(fdef) if isinstance(node, gast.Name)}
    out = set()
    for name in loaded:
        value = fn.__globals__.get(name, getattr(builtins, name, None))
        if isinstance(value, type):
            out.add(name)
    return out


def _local_names(fdef, tree, stored):
    """The names local to ``fdef``: its parameters, the names it stores (``stored``), its nested
    functions and imports (``tree`` is ``nodes.walk(fdef)``)."""
    names = set(stored)
    args = fdef.args
    for a in args.posonlyargs + args.args + args.kwonlyargs + [args.vararg, args.kwarg]:
        if a is not None:
            names.add(a.id)
    for node in tree:
        if isinstance(node, gast.FunctionDef) and node is not fdef:
            names.add(node.name)
        elif isinstance(node, gast.alias):
            names.add(node.asname or node.name.split(".")[0])
    return names


def _short(path):
    import os

    return os.path.basename(path)
