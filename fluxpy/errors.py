"""Errors raised on purpose by fluxpy; every one derives from :class:`FluxpyError`.

Message texts are named constants so that tests and docs can refer to them.
"""

NON_SCALAR = (
    "{call} needs a function that returns a real scalar (a Python number, a NumPy scalar or a 0-d array), "
    "but {name} returned {what}. {hint}"
)
# the last sentence of NON_SCALAR, by what came back
NON_SCALAR_HINTS = {
    "vector": (
        "For a vector-valued function use fx.pullback(f, *args) and call back(dy) with a cotangent of the "
        "output's shape, or fx.jacobian(f, *args)."
    ),
    "complex": (
        "A complex number has no gradient of its own: return a real quantity of it, such as its real part "
        "(`y.real`) or its modulus (`abs(y)`, `abs(y) ** 2`); fx.pullback(f, *args) takes a complex "
        "cotangent, and fx.jvp gives a complex derivative."
    ),
    "number": (
        "Return a float (`float(y)`): fluxpy differentiates floats, ints and NumPy numbers, not "
        "Fraction or Decimal arithmetic."
    ),
    "empty": "withgradient differentiates a tuple output's first element (the loss): return (loss, aux...).",
}
NO_ADJOINT = (
    "fluxpy cannot differentiate {qualname}: {why},\n"
    "and a gradient has to flow through it. It was called at:\n"
    "  {where}\n"
    "Register a rule for it:\n\n"
    "    @fx.adjoint({qualname})\n"
    "    def {rulename}(x):\n"
    "        y = {qualname}(x)\n"
    "        def {pbname}(dy):\n"
    "            return (dy * ...,)   # one entry per positional argument\n"
    "        return y, {pbname}\n\n"
    "or, if it has no derivative, mark it with fx.nograd({qualname})."
)
# indexing (``q[i]``) an object whose ``__getitem__`` is C code with no rule: a rule for operator.getitem
# would replace indexing everywhere, so the advice is to convert the object
NO_ADJOINT_ITEM = (
    "fluxpy cannot differentiate indexing a {kind} ({expr}): its __getitem__ is C code with no registered "
    "rule, and a gradient has to flow through it. It was called at:\n"
    "  {where}\n"
    "Convert it to a type fluxpy differentiates first ({fix}), or register a rule for a function of your "
    "own that does the read (@fx.adjoint(my_read))."
)
# the conversion NO_ADJOINT_ITEM suggests, by the receiver's type name
NO_ADJOINT_ITEM_FIXES = {
    "numpy.flatiter": "`x.ravel()[i]` for `x.flat[i]`",
    "collections.deque": "`list(obj)[i]`",
}
# an attribute of an array that carries its values in a form fluxpy does not follow (x.data, x.base)
NO_ADJOINT_ATTRIBUTE = (
    "fluxpy cannot differentiate the array attribute `.{name}` ({what}), and a gradient has to flow "
    "through it. It was called at:\n  {where}\n"
    "Read the values as an array instead ({fix})."
)
# a NumPy masked array reaching a rule: the rules compute with its data and would ignore its mask
MASKED_ARRAY = (
    "fluxpy does not differentiate NumPy masked arrays (numpy.ma.MaskedArray): its rules compute with the "
    "data and would ignore the mask, so masked entries would get gradients. It was used at:\n  {where}\n"
    "Pass the data and the mask as arrays and apply the mask yourself: `np.where(mask, 0.0, x)` for "
    "`np.ma.array(x, mask=mask).filled(0.0)`, `np.sum(np.where(mask, 0.0, x)) / np.sum(~mask)` for a masked "
    "mean."
)
# exec (or eval) of source text in differentiated code, given values that carry floats
EXEC_CALL = (
    "{name}() runs source text that fluxpy cannot see, {why}.\n  {where}\n"
    "Write the computation as code in a function instead (fluxpy differentiates functions defined in a "
    "file), or pass values that need no gradient (`fx.dropgrad(x)`)."
)
# EXEC_CALL's why, with or without namespace dicts
EXEC_WHY = {
    "floats": (
        "and it writes its results into its namespace dicts in place, which hold floating-point values here: "
        "their gradient would be lost without an error"
    ),
    "frame": (
        "and without namespace dicts it would read and change the calling function's variables, which "
        "differentiated code does not keep where exec can reach them"
    ),
}
# added to a TransformError raised in a library's code (the standard library, an installed package)
LIBRARY_HINT = (
    "This code is in a library ({file}), not in your files: rather than changing it, give the function your "
    "code calls a rule, `@fx.adjoint({qualname})` (see docs/writing-rules.md), or mark it "
    "`fx.nograd({qualname})` if no gradient has to flow through it."
)
COTANGENT_SHAPE = (
    "back(dy): dy{path} has shape {shape}, but the output y{path} has shape {out}: give dy the output's "
    "shape (the cotangent of y; a number is broadcast)"
)
COTANGENT_STRUCTURE = (
    "back(dy): the output y{path} is {what}, but dy{path} is {given}: give dy the output's structure, "
    "one cotangent (or None) per entry"
)
COTANGENT_TYPE = (
    "back(dy): dy{path} is {given}, which is not a number: the output y{path} is {what}, and its cotangent "
    "is a number or an array of numbers (None: no cotangent)"
)
RULE_COTANGENTS = (
    "the pullback of the rule {rule} (defined at {where}) returned {got}, but it was called with {n} "
    "positional argument{s}: back(dy) must return a tuple with one entry per positional argument, None for "
    "no gradient, e.g. `return ({example})`.{extra} It was called at:\n  {called}"
)
# added to RULE_COTANGENTS for a pullback that returned more entries than arguments
RULE_COTANGENTS_EXTRA = (
    " There is no entry for the function itself (ChainRules' and Zygote's rules start with one for it, "
    "NoTangent() or nothing): fluxpy's first entry is the first argument's, so the extra ones would shift "
    "every gradient onto the wrong argument."
)
RULE_RESULT = (
    "the rule {rule} (defined at {where}) returned {got}, but a rule returns a pair (y, back): the primal's "
    "value and its pullback, a function of the output's cotangent dy that returns one cotangent per "
    "positional argument (`return y, {short}_pullback`). It was called at:\n  {called}"
)
RULE_ENTRY = (
    "the pullback of the rule {rule} (defined at {where}) returned {got} as the cotangent of its "
    "argument {i}, which is {arg}: {why}. It was called at:\n  {called}"
)
IN_PLACE = (
    "{method} changes {article} {kind} in place, and fluxpy does not differentiate in-place changes of "
    "containers yet: a gradient could be lost.\n  {where}\n{hint}"
)
# the last line of IN_PLACE, by what was changed
IN_PLACE_HINTS = {
    "array": (
        "Compute a new array instead (`v = np.sort(v)`, `y = np.clip(v, lo, hi)` without out=), or assign "
        "into it (`v[...] = np.sort(v)`, `v[i] = value`): item assignment is differentiated."
    ),
    "list": (
        "The methods of a list made in this function (`items = [...]`, a comprehension, `list(...)`) are "
        "differentiated; for another list, build a new one: `items = items + [value]`, "
        "`items = sorted(items)`, `items = items[::-1]`. To record a value that needs no gradient (a log), "
        "call the method through fx.nograd: `record = fx.nograd(log.append)`, then `record(float(loss))`."
    ),
    "dict": "Build a new dict instead: `d = {**d, key: value}`, or `{k: v for k, v in d.items() if ...}`.",
    "other": "Build a new one instead, e.g. `items = items + [value]` or a comprehension.",
    "ufunc.at": (
        "Compute a new array instead. A scatter-add `np.add.at(a, idx, v)` is "
        "`a = a + np.bincount(idx, weights=v, minlength=len(a))` for a 1-d `a`, or "
        "`a = a + np.eye(len(a))[idx].T @ v` to add rows; a loop `for k, i in enumerate(idx): a[i] += v[k]` "
        "works too. (`a[idx] += v` is differentiated only when `idx` has no repeated index.)"
    ),
    "operator": (
        "Write the statement instead (`a += b`, `a -= b`, `a *= b`, `d |= e`: fluxpy rebinds `a` to the new "
        "value), or compute a new value (`c = a + b`)."
    ),
    "setitem": (
        "Write the assignment instead (`a[i] = value`, `del a[i]`): item assignment is differentiated."
    ),
}


def in_place_error(method, kind, where, hint=None):
    """The FluxpyError for an in-place change that fluxpy refuses; ``hint``: a key of IN_PLACE_HINTS
    (by default ``kind``, or "other")."""
    if hint is None and method.endswith("ufunc.at"):  # np.add.at(a, idx, v): an array, not a list
        hint = "ufunc.at"
    hint = IN_PLACE_HINTS.get(hint or kind, IN_PLACE_HINTS["other"])
    article = "an" if kind[:1].lower() in ("a", "e", "i", "o", "u") or kind == "ndarray" else "a"
    return FluxpyError(IN_PLACE.format(method=method, article=article, kind=kind, where=where, hint=hint))


UNSUPPORTED_SYNTAX = (
    '{what} is not supported by fluxpy{why}.\n  File "{file}", line {line}, column {col}\n    {source}{hint}'
)
# appended to a TransformError raised for a function that differentiated code called: the calls that led
# there, the user's own call first
CALL_SITES = "It was reached from (most recent call last):\n{sites}"
CALL_SITES_KEPT = 6  # call sites shown at most (the rest are summarised)


class FluxpyError(Exception):
    """Base class of every error fluxpy raises on purpose."""


class TransformError(FluxpyError):
    """Source code that fluxpy cannot transform: names the file, line, column and source line.

    ``file``, ``line`` and ``col`` are absolute (``line`` counts from 1 in the file, ``col`` from 0).

    ``call_sites``: the calls in differentiated code that led to the function refused, ``(file, line)``
    outermost first (empty for the function given to fluxpy itself): see :func:`add_call_sites`.
    """

    def __init__(self, message, *, file=None, line=None, col=None, source_line=None):
        super().__init__(message)
        self.file, self.line, self.col, self.source_line = file, line, col, source_line
        self.call_sites = ()


class NoAdjointError(FluxpyError):
    """A callee with no source and no rule was asked for a gradient.

    ``call_sites``: as :class:`TransformError`'s, the calls in differentiated code that led to the callee
    (see :func:`add_call_sites`), when it was reached through functions of other files.
    """

    call_sites = ()


class NonScalarError(FluxpyError):
    """``gradient`` was given a function whose output is not a real scalar."""


class SourceError(TransformError):
    """No source for a function (made by ``exec``, a C function, an interactive session)."""


class RecursionDepthError(FluxpyError, RecursionError):
    """Python's recursion limit reached in differentiated code (a RecursionError too: ``except
    RecursionError`` still catches it). The original RecursionError is its ``__cause__``."""


RECURSION_DEPTH = (
    "fx.{kind} reached Python's recursion limit ({limit} frames). Each level of a recursive function costs "
    "{frames} or more frames under fluxpy where plain Python takes one (its generated code and the call that "
    "dispatches it; more under jvp and higher derivatives), so a recursion that runs plainly at depth "
    "{half} may be too deep here.\nRaise the limit before the call, `import sys; "
    "sys.setrecursionlimit({suggested})`, or write the recursion as a loop (a recursion that never ends "
    "fails at any limit)."
)
RECURSION_FRAMES = 2  # frames per level of recursion in a gradient's generated code: forward + runtime call


def raise_recursion_depth(error, kind):
    """Turn a RecursionError raised under ``fx.<kind>`` into a RecursionDepthError saying why and what to do
    (at the API's entry points, after the error's user lines are noted). Other errors pass."""
    if not isinstance(error, RecursionError) or isinstance(error, FluxpyError):
        return
    import sys

    limit = sys.getrecursionlimit()
    message = RECURSION_DEPTH.format(
        kind=kind,
        limit=limit,
        frames=RECURSION_FRAMES,
        half=limit // RECURSION_FRAMES,
        suggested=4 * limit,
    )
    raise RecursionDepthError(message) from error


def unsupported(what, *, file, line, col, source_line, why="", hint=""):
    """Build a :class:`TransformError` for an unsupported construct at a user location."""
    message = UNSUPPORTED_SYNTAX.format(
        what=what,
        why=f" ({why})" if why else "",
        file=file,
        line=line,
        col=col,
        source=(source_line or "").strip(),
        hint=f"\n  Hint: {hint}" if hint else "",
    )
    return TransformError(message, file=file, line=line, col=col, source_line=source_line)


def add_call_sites(error, sites, user=None):
    """Append to TransformError (or NoAdjointError) ``error``'s message the calls that led to the function it
    refuses.

    ``sites``: ``(file, line, source line)`` of each call in differentiated code, outermost first; ``user``:
    the index of the innermost call written in the user's code (not in a library), else None. A long chain
    keeps its outermost call, the user's innermost one and the one after it, and the two innermost (the
    library calls that reached the refused function); the calls between are counted. Does nothing with no
    sites, or when ``error`` has its call sites already.
    """
    if isinstance(error, TransformError):
        add_library_hint(error, sites, user)  # before the sites: library code gets a rule, not an edit
    if not sites or error.call_sites:
        return
    error.call_sites = tuple((file, line) for file, line, _ in sites)
    last = len(sites) - 1
    if len(sites) <= CALL_SITES_KEPT:
        kept = set(range(len(sites)))
    else:
        kept = {0, last - 1, last}
        if user is not None:
            kept |= {user, min(user + 1, last)}
    lines, skipped = [], 0
    for i, (file, line, source) in enumerate(sites):
        if i not in kept:
            skipped += 1
            continue
        if skipped:
            lines.append(f"  ... {skipped} more call{'s' if skipped > 1 else ''} ...")
            skipped = 0
        mark = "  <- your call" if i == user and user != last else ""
        lines.append(f'  File "{file}", line {line}{mark}' + (f"\n    {source}" if source else ""))
    message = f"{error.args[0]}\n" + CALL_SITES.format(sites="\n".join(lines))
    error.args = (message,) + error.args[1:]


USER_LINES = "raised in differentiated code (most recent call last):\n{frames}"
_SUFFIXES = ("__gradient", "__forward", "__jvp")


def note_user_lines(error):
    """Add to ``error`` (an exception from NumPy, Python or user code, raised while fluxpy ran generated
    code) a note naming the user's lines it passed through: Python's own traceback shows the generated
    code's frames without their text, as its files are not on disk. FluxpyErrors name their location
    already; an error is noted once."""
    if isinstance(error, FluxpyError) or getattr(error, "_fluxpy_noted", False):
        return
    import linecache

    from .transform.codegen import map_location  # (late: codegen imports the runtime)

    frames, tb = [], error.__traceback__
    while tb is not None:
        code = tb.tb_frame.f_code
        mapped = map_location(code.co_filename, tb.tb_lineno)
        if mapped is not None:
            name = code.co_name
            for suffix in _SUFFIXES:
                name = name.removesuffix(suffix)
            if name.startswith("lambda_L"):  # a lambda's generated name (transform/parse.py)
                name = "<lambda>" + (" (its pullback)" if name.endswith("_pullback") else "")
            elif name.endswith("_pullback"):
                name = f"{name.removesuffix('_pullback')} (its pullback)"
            file, line = mapped
            source = linecache.getline(file, line).strip()
            frame = f'  File "{file}", line {line}, in {name}' + (f"\n    {source}" if source else "")
            if not frames or frames[-1] != frame:
                frames.append(frame)
        tb = tb.tb_next
    if not frames:
        return
    try:
        error._fluxpy_noted = True
        error.add_note(USER_LINES.format(frames="\n".join(frames)))
    except (AttributeError, TypeError):  # an exception type that takes no attributes
        pass


# -- refused code in a library: the fix is a rule for the function, not an edit of the library's code ------


def add_library_hint(error, sites=(), user=None):
    """Append LIBRARY_HINT to TransformError ``error`` when the code it refuses is in the standard library or
    an installed package (the fence's own hint, "write into a copy first", would have the user edit it):
    name, as the user would import it, the library function the user's code called (``sites[user + 1]`` is
    a line in its body: see add_call_sites), else the refused function, for ``@fx.adjoint`` or
    ``fx.nograd``. Once."""
    file = getattr(error, "file", None)
    if not file or getattr(error, "_library_hint", False) or not _in_library(file):
        return
    fn = None
    if user is not None and user + 1 < len(sites) and _in_library(sites[user + 1][0]):
        fn = _function_at(sites[user + 1][0], sites[user + 1][1])
    if fn is None:
        fn = _function_at(file, error.line)
    qualname = _import_path(fn) if fn is not None else "the_library_function"
    hint = LIBRARY_HINT.format(file=_library_name(fn, file), qualname=qualname)
    error._library_hint = True
    error.args = (f"{error.args[0]}\n{hint}",) + error.args[1:]


def _in_library(file):
    """Whether ``file`` lies in Python's standard library or an installed package (site-packages)."""
    import os

    path = os.path.realpath(file)
    return any(path.startswith(folder + os.sep) for folder in _library_folders())


def _library_folders():
    import os
    import sys
    import sysconfig

    folders = {sysconfig.get_paths().get(key) for key in ("stdlib", "platstdlib", "purelib", "platlib")}
    folders |= {p for p in sys.path if os.path.basename(p) in ("site-packages", "dist-packages")}
    return tuple(os.path.realpath(f) for f in folders if f)


def _function_at(file, line):
    """The function whose code holds ``file``'s ``line``, found among the local variables of the frames on
    the stack: the transform that refused it holds it (``fn`` of transform/cache.py's ``forward_function``),
    and so does the generated code running a function (its first parameter). None when none is found."""
    import os
    import sys

    target = os.path.realpath(file)
    frame = sys._getframe(1)
    while frame is not None:
        for value in list(frame.f_locals.values()):
            code = getattr(value, "__code__", None)
            if code is None or not isinstance(getattr(code, "co_filename", None), str):
                continue
            if os.path.realpath(code.co_filename) == target and _spans(code, line):
                return value
        frame = frame.f_back
    return None


def _spans(code, line):
    lines = [n for _, _, n in code.co_lines() if n is not None]
    return bool(lines) and code.co_firstlineno <= (line or 0) <= max(lines)


def _import_path(fn):
    """``module.qualname`` of ``fn`` as a loaded public module exposes it (``scipy.special.logsumexp``, not
    ``scipy.special._logsumexp.logsumexp``): the shortest path whose parts have no leading underscore."""
    import sys

    qualname = getattr(fn, "__qualname__", None) or getattr(fn, "__name__", "?")
    head, _, rest = qualname.partition(".")
    module = getattr(fn, "__module__", None) or ""
    owner = sys.modules.get(module)
    obj = getattr(owner, head, None) if owner is not None else None
    found = [module] if obj is not None else []
    public = not any(p.startswith("_") for p in module.split("."))
    if obj is not None and "<locals>" not in qualname and not public:  # (a public home is the best one)
        for name, mod in list(sys.modules.items()):
            namespace = getattr(mod, "__dict__", None)
            if isinstance(namespace, dict) and namespace.get(head) is obj:
                found.append(name)
    if not found:
        return f"{module}.{qualname}" if module else qualname
    best = min(found, key=lambda m: (any(p.startswith("_") for p in m.split(".")), m.count("."), m))
    return f"{best}.{qualname}" if rest or head else best


def _library_name(fn, file):
    """The library a refused function belongs to, for the message: its top package, or the file."""
    module = getattr(fn, "__module__", None) if fn is not None else None
    if not module:
        return file
    import sys

    root = module.partition(".")[0]
    return "Python's standard library" if root in sys.stdlib_module_names else root
