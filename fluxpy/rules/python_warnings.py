"""The ``warnings`` module inside differentiated code: its calls run as plain Python, and a warning names
the user's line.

``with warnings.catch_warnings(): warnings.simplefilter("ignore")`` is common numerical code; its Python
source edits the filter list in place, which fluxpy would refuse to differentiate. Nothing differentiable
passes through these calls, so they run untransformed. ``warnings.warn(message)`` issued inside a
differentiated function would name fluxpy's own frame (``stacklevel`` counts the frames fluxpy adds), so it
goes through :func:`warn`, which counts user frames only and maps generated code back to the user's line,
in reverse mode (its rule) and forward mode (its forward rule, which fx.jvp runs even where no tangent
moves).
"""

import os
import sys
import warnings

from .forward_core import runs_without_tangents
from .registry import adjoint, nograd

_PACKAGE_DIR = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def _user_frames():
    """``(file, line, globals)`` of the user's frames on the stack, innermost first: generated code mapped
    to the line it came from, fluxpy's own frames passed over."""
    from ..transform.codegen import map_location

    frame = sys._getframe(2)
    while frame is not None:
        filename, lineno = frame.f_code.co_filename, frame.f_lineno
        mapped = map_location(filename, lineno)
        if mapped is not None:  # generated code: of the user's function, or of a rule (fx.hvp runs them)
            filename, lineno = mapped[0], mapped[1]
        if not os.path.abspath(filename).startswith(_PACKAGE_DIR):
            yield filename, lineno, frame.f_globals
        frame = frame.f_back


def warn(message, category=None, stacklevel=1, source=None):
    """``warnings.warn`` called from differentiated code: the warning names the ``stacklevel``-th user
    frame, as it would in a plain call."""
    if isinstance(message, Warning):
        category = message.__class__
    category = UserWarning if category is None else category
    for level, (filename, lineno, module_globals) in enumerate(_user_frames(), start=1):
        if level < stacklevel:
            continue
        registry = module_globals.setdefault("__warningregistry__", {})
        module = module_globals.get("__name__", "<string>")
        warnings.warn_explicit(message, category, filename, lineno, module, registry, module_globals, source)
        return
    warnings.warn(message, category, 2, source)


@adjoint(warnings.warn)
def warn_rule(*args, **kwargs):
    warn(*args, **kwargs)
    nones = (None,) * len(args)

    def warn_pullback(dy):
        return nones

    return None, warn_pullback


@runs_without_tangents(warnings.warn)
def warn_jvp(args, targs, kwargs, tkwargs):
    """Forward mode (fx.jvp): the same :func:`warn`, run where no tangent moves too (a plain call would
    name fluxpy/forward.py's line)."""
    warn(*args, **kwargs)
    return None, None


nograd(
    warn,
    warnings.simplefilter,
    warnings.filterwarnings,
    warnings.resetwarnings,
    warnings.showwarning,
    warnings.formatwarning,
    warnings.warn_explicit,
    warnings.catch_warnings,
    warnings.catch_warnings.__enter__,
    warnings.catch_warnings.__exit__,
)
