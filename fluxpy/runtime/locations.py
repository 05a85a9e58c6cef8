"""Where a call came from, for messages, and the NoAdjointError of a callee fluxpy cannot differentiate.

``user_location()`` is the innermost user line on the stack (generated code mapped back to the user's line,
fluxpy's own frames passed over); ``raise_no_adjoint`` says why a callee has no gradient and how to give it
one, with the chain of differentiated calls that led there (``note_call_chain``).
"""

import linecache
import os
import sys
from types import BuiltinFunctionType, FunctionType

import numpy as np

from .. import errors
from ..rules import registry

_PACKAGE_DIR = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))  # fluxpy/


def user_location():
    """``file:line`` of the innermost user code (generated code is mapped back to the user's line)."""
    from ..transform.codegen import map_location

    frame = sys._getframe(1)
    while frame is not None:
        filename, lineno = frame.f_code.co_filename, frame.f_lineno
        mapped = map_location(filename, lineno)
        if mapped is not None:
            filename, lineno = mapped
        if not os.path.abspath(filename).startswith(_PACKAGE_DIR):
            break  # generated code of fluxpy's own (call_method differentiated by fx.hvp) is not the user's
        frame = frame.f_back
    else:
        return "<unknown location>"
    source = linecache.getline(filename, lineno).strip()
    return f'File "{filename}", line {lineno}' + (f"\n    {source}" if source else "")


def _source_changed(f):
    """The reason ``f``'s source is not used when its file changed after import, else None."""
    from ..transform import source

    return (
        source.CHANGED.format(file=f.__code__.co_filename)
        if source.changed_since_import(f.__code__)
        else None
    )


def raise_no_adjoint(f, where, qualname=None):
    """Raise the NoAdjointError for callee ``f`` called at ``where``."""
    module = getattr(f, "__module__", None) or type(f).__module__
    name = getattr(f, "__qualname__", None) or getattr(f, "__name__", None) or type(f).__name__
    owner = getattr(f, "__self__", None)
    if isinstance(f, np.ufunc):  # no __module__ of its own (type(f)'s is numpy's, even for SciPy's)
        name = f.__name__
        qualname = qualname or _ufunc_path(f)
    elif type(f) is BuiltinFunctionType and isinstance(owner, np.ufunc):  # np.add.reduce, not ufunc.reduce
        name = f"{owner.__name__}_{f.__name__}"
        qualname = qualname or f"{_ufunc_path(owner)}.{f.__name__}"
    if qualname is None:
        qualname = f"{module}.{name}" if module and module != "builtins" else name
    short = "".join(c if c.isalnum() or c == "_" else "" for c in name.split(".")[-1]) or "primal"
    if type(f) is FunctionType and _source_changed(f):
        why = f"its source cannot be used: {_source_changed(f)}; and it has no registered rule"
    elif type(f) is FunctionType:
        why = (
            "its source is not available (functions made by exec/eval or typed at `python -c` or a plain "
            "interactive prompt have none: define it in a file) and it has no registered rule"
        )
    elif type(getattr(f, "__wrapped__", None)) is FunctionType and hasattr(f, "cache_info"):
        # functools.lru_cache / functools.cache: a C wrapper that may answer from its cache
        wrapped = getattr(f.__wrapped__, "__qualname__", name)
        why = (
            "it is wrapped by functools.lru_cache (or functools.cache), a C cache of results fluxpy does not "
            f"transform. Call the Python function itself in differentiated code, `{wrapped}.__wrapped__(...)`"
            ": it is differentiated (without the cache), or define it without the cache decorator"
        )
    elif type(getattr(f, "_implementation", None)) is FunctionType:
        # NumPy's dispatching functions wrap Python (np.resize's `_implementation`), which fluxpy does not
        # transform: NumPy is differentiated by rules (its internals write into buffers and call C)
        why = f"fluxpy differentiates {module.split('.')[0]} by rules only, and none is registered for it"
    else:
        why = "it has no Python source to transform and no registered rule"
    error = errors.NoAdjointError(
        errors.NO_ADJOINT.format(
            why=why,
            where=where,
            qualname=qualname,
            rulename=f"{short}_rule",
            pbname=f"{short}_pullback",
        )
    )
    note_call_chain(error, where)
    raise error


def note_call_chain(error, where):
    """Add to ``error`` (a NoAdjointError for a callee called at ``where``, in a helper of another file) the
    calls in differentiated code that led there, the user's own call first, as a TransformError has them
    (``errors.add_call_sites``): the frames of generated code on the stack, forward functions or pullbacks,
    mapped to the user's lines; fluxpy's own are left out. Nothing is added when ``where`` is the only one.
    On the error path only."""
    from ..transform.codegen import map_location
    from ..transform.source import _in_library

    sites = []
    frame = sys._getframe(1)
    while frame is not None:
        mapped = map_location(frame.f_code.co_filename, frame.f_lineno)
        if mapped is not None and not os.path.abspath(mapped[0]).startswith(_PACKAGE_DIR):
            if not sites or sites[-1][:2] != mapped:
                sites.append((mapped[0], mapped[1], linecache.getline(mapped[0], mapped[1]).strip()))
        frame = frame.f_back
    sites.reverse()
    if sites and where.startswith(f'File "{sites[-1][0]}", line {sites[-1][1]}'):
        sites.pop()  # the call the message names already
    user = None
    for i, (file, _, _) in enumerate(sites):
        if not _in_library(file):
            user = i
    errors.add_call_sites(error, sites, user)


def _ufunc_path(u):
    """``module.name`` of a ufunc as a loaded module exposes it (``numpy.sin``, ``scipy.special.gammaln``):
    public modules first, the shortest path first. Just its name when none does."""
    found = []
    for module_name, module in list(sys.modules.items()):
        namespace = getattr(module, "__dict__", None)  # not getattr(module, name): no module __getattr__ runs
        if isinstance(namespace, dict) and namespace.get(u.__name__) is u:
            found.append(module_name)
    if not found:
        return u.__name__
    best = min(found, key=lambda m: (any(p.startswith("_") for p in m.split(".")), m.count("."), m))
    return f"{best}.{u.__name__}"


registry.nograd(user_location, raise_no_adjoint, note_call_chain)
