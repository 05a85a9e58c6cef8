"""Command line: ``fluxpy demo`` and ``fluxpy adjoint path/to/file.py:function``.

Also reachable as ``python -m fluxpy ...``. ``fluxpy adjoint`` prints what :func:`fluxpy.adjoint_source`
returns, highlighted by pygments on a terminal; its errors are one line on stderr and exit status 2.
The demo module (and what it needs to train) is imported only for ``fluxpy demo``.
"""

import argparse
import contextlib
import importlib
import importlib.machinery
import importlib.util
import os
import sys
import traceback
from types import FunctionType, ModuleType

from .errors import FluxpyError
from .interface import adjoint_source

# Messages of ``fluxpy adjoint``, each printed after "fluxpy adjoint: error: ".
NO_COLON = "{target!r} names no function: write FILE.py:FUNCTION, FILE.py:Class.method or MODULE:FUNCTION"
NO_FILE = "no such file: {path!r}"
NO_MODULE = "no module named {name!r} (a file target ends in .py: FILE.py:FUNCTION)"
IMPORT_FAILED = "importing {where} raised {error}{location}{hint}"
RELATIVE_IMPORT_HINT = "; name it as a module instead: package.module:FUNCTION"
NO_ATTRIBUTE = "{owner} has no attribute {name!r}; {members}"
IS_CLASS = "{target} is a class, not a function; name one of its methods: {methods}"
NOT_FUNCTION = "{target} is a value of type {kind}, not a Python function (fluxpy transforms its source)"

DESCRIPTION = "fluxpy: gradients of Python and NumPy code by source transformation."
ADJOINT_DESCRIPTION = """\
Print the forward and pullback Python source that fluxpy generates for a function, as
fx.adjoint_source(f) returns it. The file is imported as a module (its top-level code runs, its
`if __name__ == "__main__":` block does not), with its directory on sys.path for its own imports.

examples:
  fluxpy adjoint model.py:loss
  fluxpy adjoint path/to/model.py:Model.__call__
  fluxpy adjoint fluxpy.layers.activations:relu --color never
"""

# The name a target file is imported under while it is shown: never a real module's name.
TARGET_MODULE = "__fluxpy_adjoint_target__"


class TargetError(Exception):
    """A target that cannot be shown; its message is printed on one line, with exit status 2."""


def main(argv=None):
    """Run the command line ``fluxpy *argv``; returns the exit status.

    >>> main(["adjoint", "fluxpy.layers.activations:relu", "--color", "never"])  # doctest: +ELLIPSIS
    # fluxpy: generated forward and pullback of relu (activations.py:...)
    ...
    0
    """
    argv = sys.argv[1:] if argv is None else list(argv)
    args = build_parser(demo_options=argv[:1] == ["demo"]).parse_args(argv)
    if args.command == "adjoint":
        return adjoint(args.target, args.color)
    from . import demo

    return demo.run(args)


def build_parser(demo_options=False):
    """The argparse parser; the demo's own options (and its imports) only with ``demo_options``."""
    parser = argparse.ArgumentParser(prog="fluxpy", description=DESCRIPTION)
    sub = parser.add_subparsers(dest="command", required=True)
    demo_parser = sub.add_parser("demo", help="train on the handwritten-digits data: linear, MLP, CNN")
    if demo_options:
        from . import demo

        demo.add_arguments(demo_parser)
    p = sub.add_parser(
        "adjoint",
        help="print the generated forward and pullback of file.py:function",
        description=ADJOINT_DESCRIPTION,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    p.add_argument("target", metavar="FILE.py:FUNCTION", help="also FILE.py:Class.method or MODULE:FUNCTION")
    p.add_argument(
        "--color",
        choices=("auto", "always", "never"),
        default="auto",
        help="highlight the source: auto (the default) does on a terminal, unless NO_COLOR is set",
    )
    return parser


def console():
    """Entry point of the ``fluxpy`` console script."""
    try:
        status = main(sys.argv[1:])
        sys.stdout.flush()
    except BrokenPipeError:  # `fluxpy adjoint f.py:g | head`: the reader left; as Python's docs advise
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        status = 1
    sys.exit(status)


# ---------------------------------------------------------------------------------------------------------
# fluxpy adjoint


def adjoint(target, color="auto"):
    """Print the generated source of ``target`` (``file.py:function``, ...); returns the exit status."""
    try:
        where, names = split_target(target)
        with loaded(where) as module:
            text = adjoint_source(as_function(resolve(module, names, where), target))
    except (TargetError, FluxpyError) as e:
        print(f"fluxpy adjoint: error: {e}", file=sys.stderr)
        return 2
    show(text, color)
    return 0


def split_target(target):
    """``(where, names)``: the file or module, and the attribute path inside it.

    >>> split_target("path/to/model.py:Model.loss")
    ('path/to/model.py', ['Model', 'loss'])
    >>> split_target("model.py")  # doctest: +ELLIPSIS
    Traceback (most recent call last):
    fluxpy.cli.TargetError: 'model.py' names no function: write FILE.py:FUNCTION, ...
    """
    where, _, path = target.rpartition(":")  # rpartition: a Windows path has a colon of its own
    names = path.split(".")
    if not where or not all(name.isidentifier() for name in names):
        raise TargetError(NO_COLON.format(target=target))
    return where, names


def is_path(where):
    """Whether ``where`` names a file rather than a module: a ``.py`` suffix, a slash, or not a dotted name.

    >>> is_path("model.py"), is_path("models/mlp"), is_path("fluxpy.layers")
    (True, True, False)
    """
    if where.endswith(".py") or os.sep in where or (os.altsep and os.altsep in where):
        return True
    return not all(part.isidentifier() for part in where.split("."))


@contextlib.contextmanager
def loaded(where):
    """The module in file or module ``where``, imported with its directory on ``sys.path``.

    A file is imported under ``TARGET_MODULE``, never under a real module's name; that entry and
    ``sys.path`` are restored when the block ends (modules the target imports stay, under their own names).
    """
    if not is_path(where):
        with importable_from(os.getcwd()):
            yield import_module(where)
        return
    path = os.path.abspath(where)
    if not os.path.isfile(path):
        raise TargetError(NO_FILE.format(path=where))
    with importable_from(os.path.dirname(path)), module_named(TARGET_MODULE):
        loader = importlib.machinery.SourceFileLoader(TARGET_MODULE, path)
        spec = importlib.util.spec_from_file_location(TARGET_MODULE, path, loader=loader)
        module = importlib.util.module_from_spec(spec)
        sys.modules[TARGET_MODULE] = module  # dataclasses and pickle look the module up while it runs
        importing(where, path, lambda: loader.exec_module(module))
        yield module


@contextlib.contextmanager
def importable_from(directory):
    """``directory`` first on ``sys.path`` while the block runs, as ``python file.py`` puts it."""
    sys.path.insert(0, directory)
    try:
        yield
    finally:
        with contextlib.suppress(ValueError):
            sys.path.remove(directory)


@contextlib.contextmanager
def module_named(name):
    """Restore ``sys.modules[name]`` (or its absence) when the block ends."""
    previous = sys.modules.get(name)
    try:
        yield
    finally:
        if previous is None:
            sys.modules.pop(name, None)
        else:
            sys.modules[name] = previous


def import_module(name):
    """The module ``name``, imported; a missing module is a :class:`TargetError`."""
    try:
        return importing(name, None, lambda: importlib.import_module(name))
    except TargetError as e:
        missing = getattr(e.__cause__, "name", None)  # the module that was not found: name or a parent?
        if isinstance(e.__cause__, ModuleNotFoundError) and f"{name}.".startswith(f"{missing}."):
            raise TargetError(NO_MODULE.format(name=name)) from None
        raise


def importing(where, path, run):
    """``run()``, with an exception it raises (the target's own) as a one-line :class:`TargetError`.

    What the target prints while it is imported goes to stderr: stdout carries the generated source only.
    """
    try:
        with contextlib.redirect_stdout(sys.stderr):
            return run()
    except (Exception, SystemExit) as e:
        hint = RELATIVE_IMPORT_HINT if isinstance(e, ImportError) and "relative import" in str(e) else ""
        message = e.msg if isinstance(e, SyntaxError) else str(e)  # str(SyntaxError) has its location too
        error = f"{type(e).__name__}: {message}" if message else type(e).__name__
        raise TargetError(
            IMPORT_FAILED.format(where=where, error=error, location=raised_at(e, path), hint=hint)
        ) from e


def raised_at(error, path):
    """`` (file.py, line N)``: where ``error`` was raised, in file ``path`` if it passed through it."""
    if isinstance(error, SyntaxError) and error.lineno:
        return f" ({os.path.basename(error.filename or '?')}, line {error.lineno})"
    frames = [f for f in traceback.extract_tb(error.__traceback__) if not f.filename.startswith("<")]
    mine = [f for f in frames if path is not None and f.filename == path]
    frame = (mine or frames or [None])[-1]
    return f" ({os.path.basename(frame.filename)}, line {frame.lineno})" if frame else ""


def resolve(module, names, where):
    """``module.a.b`` for ``names == ["a", "b"]``; a missing attribute lists what is there."""
    obj, owner = module, where
    for i, name in enumerate(names):
        if not hasattr(obj, name):
            raise TargetError(NO_ATTRIBUTE.format(owner=owner, name=name, members=members(obj)))
        obj, owner = getattr(obj, name), f"{owner}{'.' if i else ':'}{name}"
    return obj


def members(obj):
    """What a missing-attribute message lists: a module's functions and classes, or a class's methods.

    >>> import fluxpy.devices
    >>> members(fluxpy.devices)  # private ones (_cupy, _cast) only when there is nothing else
    'its functions: gpu, cpu, f32, f64'
    """
    if isinstance(obj, type):
        return f"its methods: {', '.join(methods(obj)) or 'none'}"
    if not isinstance(obj, ModuleType):
        return f"it is a value of type {type(obj).__name__}"
    defined = [v for v in vars(obj).values() if getattr(v, "__module__", None) == obj.__name__]
    functions = public([v.__name__ for v in defined if isinstance(v, FunctionType)])
    classes = public([v.__name__ for v in defined if isinstance(v, type)])
    listing = f"its functions: {', '.join(functions)}" if functions else "it defines no functions"
    return listing + (f"; its classes: {', '.join(classes)}" if classes else "")


def public(names):
    """The names not starting with an underscore, or all of them when every one does."""
    return [name for name in names if not name.startswith("_")] or names


def methods(cls):
    """The names of the functions defined in class ``cls``'s body (plain, static and class methods)."""
    kinds = (FunctionType, staticmethod, classmethod)
    return [name for name, v in vars(cls).items() if isinstance(v, kinds)]


def as_function(obj, target):
    """``obj`` if fluxpy can show its generated code (a function, a method, an object with a ``__call__``)."""
    if isinstance(obj, FunctionType) or isinstance(getattr(obj, "__func__", None), FunctionType):
        return obj
    if isinstance(obj, type):
        raise TargetError(IS_CLASS.format(target=target, methods=", ".join(methods(obj)) or "none"))
    if isinstance(getattr(type(obj), "__call__", None), FunctionType):  # noqa: B004  (a layer: its __call__)
        return obj
    raise TargetError(NOT_FUNCTION.format(target=target, kind=type(obj).__name__))


# ---------------------------------------------------------------------------------------------------------
# Output


def show(text, color="auto"):
    """Write ``text`` (Python source) to stdout, highlighted when :func:`use_color` says so."""
    text = text if text.endswith("\n") else text + "\n"
    sys.stdout.write(highlight(text) if use_color(color, sys.stdout) else text)


def use_color(choice, stream, environ=None):
    """Whether to highlight: ``always``, ``never``, or ``auto``: on a terminal, unless NO_COLOR or TERM=dumb.

    >>> import io
    >>> use_color("auto", io.StringIO()), use_color("always", io.StringIO()), use_color("never", sys.stdout)
    (False, True, False)
    """
    if choice != "auto":
        return choice == "always"
    environ = os.environ if environ is None else environ
    if environ.get("NO_COLOR") or environ.get("TERM") == "dumb":  # https://no-color.org
        return False
    isatty = getattr(stream, "isatty", None)
    return bool(isatty and isatty())


def highlight(text):
    """``text`` with ANSI colour escapes for a terminal; stripping them gives ``text`` back."""
    from pygments import highlight as pygmentize
    from pygments.formatters import TerminalFormatter
    from pygments.lexers import PythonLexer

    return pygmentize(text, PythonLexer(stripnl=False, ensurenl=True), TerminalFormatter())


if __name__ == "__main__":
    console()
