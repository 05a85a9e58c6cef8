"""Errors raised on purpose by fluxpy; every one derives from :class:`FluxpyError`.

Message texts are named constants so that tests and docs can refer to them.
"""

NON_SCALAR = (
    "gradient needs a function that returns a real scalar (a Python number, a NumPy scalar or a 0-d array), "
    "but {name} returned {what}. For a vector-valued function use fx.pullback(f, *args) and call "
    "back(dy) with a cotangent of the output's shape, or fx.jacobian(f, *args)."
)
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
COTANGENT_SHAPE = (
    "back(dy): dy{path} has shape {shape}, but the output y{path} has shape {out}: give dy the output's "
    "shape (the cotangent of y; a number is broadcast)"
)
COTANGENT_STRUCTURE = (
    "back(dy): the output y{path} is {what}, but dy{path} is {given}: give dy the output's structure, "
    "one cotangent (or None) per entry"
)
RULE_COTANGENTS = (
    "the pullback of the rule {rule} (defined at {where}) returned {got}, but it was called with {n} "
    "positional argument{s}: back(dy) must return a tuple with one entry per positional argument, None for "
    "no gradient, e.g. `return ({example})`. It was called at:\n  {called}"
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
    """A callee with no source and no rule was asked for a gradient."""


class NonScalarError(FluxpyError):
    """``gradient`` was given a function whose output is not a real scalar."""


class SourceError(TransformError):
    """No source for a function (made by ``exec``, a C function, an interactive session)."""


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
    """Append to TransformError ``error``'s message the calls that led to the function it refuses.

    ``sites``: ``(file, line, source line)`` of each call in differentiated code, outermost first; ``user``:
    the index of the innermost call written in the user's code (not in a library), else None. A long chain
    keeps its outermost call, the user's innermost one and the one after it, and the two innermost (the
    library calls that reached the refused function); the calls between are counted. Does nothing with no
    sites, or when ``error`` has its call sites already.
    """
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
