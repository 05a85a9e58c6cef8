"""Saving and loading a model's arrays: ``fx.state``, ``fx.savemodel``, ``fx.loadmodel``.

A model's state is a flat dict from a dotted path (``"layers.0.weight"``) to each array inside it, found as
``fx.params`` finds them (functor children, tuples, lists, dicts, object fields, the variables a closure
captures: ``"layers.0.W"`` for ``lambda x: W @ x``); an array shared in two places is listed once, at its
first path. ``savemodel`` writes it as an ``.npz`` archive (as ``np.savez``);
``loadmodel`` copies the arrays back into a model of the same structure, in place. Files are read with
``allow_pickle=False``: a pickle, or an archive holding object arrays, is refused and never unpickled.

>>> import numpy as np, fluxpy as fx
>>> m = fx.Chain(fx.Dense(2, 3), fx.Dense(3, 1))
>>> sorted(state(m))
['layers.0.bias', 'layers.0.weight', 'layers.1.bias', 'layers.1.weight']
>>> m2 = fx.Chain(fx.Dense(2, 3), fx.Dense(3, 1))
>>> loadmodel(m2, state(m)) is m2, np.array_equal(m2[0].weight, m[0].weight)
(True, True)
"""

import os
import zipfile
import zlib

import numpy as np

from .backend import is_array, to_numpy, xp_of
from .errors import FluxpyError

_KINDS = "biufc"  # array kinds kept in a state (not object, string or void arrays)


def state(model):
    """A flat dict from a dotted path to each array in ``model`` (the arrays themselves, not copies).

    >>> import numpy as np, fluxpy as fx
    >>> {k: v.shape for k, v in state(fx.Dense(3, 2)).items()}
    {'weight': (2, 3), 'bias': (2,)}
    >>> state({"w": np.zeros(2), "layers": [np.ones(1), "not an array"]})
    {'w': array([0., 0.]), 'layers.0': array([1.])}
    """
    out = {}
    _walk(model, "", out, set())
    return out


def _walk(x, path, out, seen):
    from .functors import unbound

    x = unbound(x)  # a bound method's arrays are its object's, at the same path (as its gradient)
    if id(x) in seen:
        return
    if is_array(x):
        seen.add(id(x))
        if x.dtype.kind in _KINDS:
            if path in out:
                raise FluxpyError(
                    f"state: two arrays have the path {path!r} (a key with a '.' beside nested keys, or the "
                    "keys 0 and '0'): rename one, or the file would hold only one of them"
                )
            out[path] = x
        return
    if isinstance(x, (str, bytes, type)) or x is None:
        return
    from .optimise.tree import Leaf, Tree

    if isinstance(x, (Leaf, Tree)):
        raise FluxpyError(
            "state/savemodel: an optimiser's state (fx.setup's) is not saved: save the model, and call "
            "fx.setup(rule, model) again after loading it"
        )
    seen.add(id(x))
    for name, value in _children(x).items():
        _walk(value, f"{path}.{name}" if path else str(name), out, seen)


def _children(x):
    from .functors import children, closure_children, is_functor
    from .implicit import _fields

    if is_functor(x) or isinstance(x, (tuple, list, dict)):
        return children(x)
    captured = closure_children(x)  # a closure's variables by name (``layers.0.W``), a partial's arguments
    return _fields(x) if captured is None else captured


def savemodel(path, model):
    """Write ``state(model)`` to ``path`` as an ``.npz`` archive; returns the path written.

    As ``np.savez``, ``.npz`` is appended to a path that does not end with it. Arrays on a GPU are copied to
    the host first. The archive holds plain arrays only, so it loads with ``allow_pickle=False``.

    >>> import os, tempfile, fluxpy as fx
    >>> d = tempfile.mkdtemp()
    >>> path = savemodel(os.path.join(d, "model"), fx.Dense(2, 2))
    >>> os.path.basename(path)
    'model.npz'
    """
    arrays = state(model)
    if isinstance(path, (str, os.PathLike)):
        path = os.fspath(path)
        if not path.endswith(".npz"):
            path += ".npz"
    # written member by member (the layout np.savez writes), so that no name can clash with savez's own
    # keyword arguments and nothing is ever pickled
    with zipfile.ZipFile(path, mode="w", compression=zipfile.ZIP_STORED, allowZip64=True) as archive:
        for name, array in arrays.items():
            with archive.open(name + ".npy", mode="w", force_zip64=True) as member:
                np.lib.format.write_array(member, np.asarray(to_numpy(array)), allow_pickle=False)
    return path


def loadmodel(model, path_or_state):
    """Copy saved arrays into ``model`` in place and return it.

    ``path_or_state`` is a path to (or an open file of) an ``.npz`` archive written by ``savemodel``, or a
    dict such as ``state(other_model)``. Every array of ``model`` must be given, with the same shape and
    dtype, and nothing else, and be writable: otherwise a ``FluxpyError`` names the differences and
    ``model`` is unchanged. An archive's arrays are checked from their headers before any is read, so a
    damaged or crafted file never makes an array the model does not have room for.

    >>> import numpy as np, fluxpy as fx
    >>> m = fx.Dense(2, 1)
    >>> loadmodel(m, {"weight": np.ones((1, 2), np.float32), "bias": np.zeros(1, np.float32)}).weight
    array([[1., 1.]], dtype=float32)
    >>> loadmodel(m, {"weight": np.ones((1, 3), np.float32), "bias": np.zeros(1, np.float32)})
    ... # doctest: +ELLIPSIS
    Traceback (most recent call last):
    ...
    fluxpy.errors.FluxpyError: cannot load into Dense: 'weight' has shape (1, 3) in the saved state, but ...
    """
    _check_arguments(model, path_or_state)
    target = state(model)
    what = type(model).__name__
    if isinstance(path_or_state, dict):
        saved = dict(path_or_state)
        _check_saved(target, saved, "the saved state", what)
    else:
        saved = _read(path_or_state, target, what)
    for key, dst in target.items():
        src = saved[key]
        xp = xp_of(dst)
        dst[...] = src if xp is np else xp.asarray(src)
    return model


def _check_arguments(model, source):
    """A FluxpyError for arguments in the wrong order (``loadmodel(path, model)``) or of the wrong kinds."""
    if isinstance(model, (str, bytes, os.PathLike)):
        raise FluxpyError(
            f"loadmodel(model, path) takes the model first and the file second (as Flux's loadmodel!), but "
            f"the first argument is the path {_name(model)}: write fx.loadmodel(model, {_name(model)})"
        )
    if not isinstance(source, (dict, str, bytes, os.PathLike)) and not hasattr(source, "read"):
        raise FluxpyError(
            f"loadmodel(model, path_or_state) takes a path, an open file or a dict of arrays (fx.state(m)) "
            f"second, not a {type(source).__name__}"
        )


def _check_saved(target, saved, source, what):
    """A FluxpyError naming every difference between the model's arrays ``target`` and ``saved`` (arrays,
    or an archive's :class:`_Header`), before anything is read or copied: a refused load leaves the model
    unchanged."""
    missing = [k for k in target if k not in saved]
    extra = [k for k in saved if k not in target]
    if missing or extra:
        parts = []
        if missing:
            parts.append(f"missing from {source}: {', '.join(map(repr, missing))}")
        if extra:
            parts.append(f"not in the model: {', '.join(map(repr, extra))}")
        raise FluxpyError(f"cannot load into {what}, the names do not match; " + "; ".join(parts))
    problems = []
    for key, dst in target.items():
        src = saved[key]
        if not is_array(src) and not isinstance(src, _Header):
            problems.append(f"{key!r} is a {type(src).__name__} in {source}, not an array")
        elif src.dtype.kind not in _KINDS:
            problems.append(f"{key!r} is a {src.dtype} array in {source}; only numeric arrays are loaded")
        elif src.shape != dst.shape:
            problems.append(f"{key!r} has shape {src.shape} in {source}, but {dst.shape} in the model")
        elif src.dtype != dst.dtype:
            problems.append(
                f"{key!r} is {src.dtype} in {source}, but {dst.dtype} in the model "
                "(convert the model first, e.g. with fx.f32 or fx.f64)"
            )
        elif isinstance(dst, np.ndarray) and not dst.flags.writeable:
            problems.append(
                f"{key!r} is read-only in the model (np.load(..., mmap_mode='r'), np.broadcast_to, or "
                "writeable=False), so it cannot be loaded into in place; give the model a writable copy"
            )
    if problems:
        raise FluxpyError(f"cannot load into {what}: " + "; ".join(problems))


def _name(path):
    if isinstance(path, (str, bytes, os.PathLike)):
        return repr(os.fspath(path))
    return repr(getattr(path, "name", type(path).__name__))


class _Header(tuple):
    """``(shape, dtype)`` of an archive member, read from its ``.npy`` header (no data read)."""

    shape = property(lambda self: self[0])
    dtype = property(lambda self: self[1])


def _read(path, target, what):
    """The arrays of an ``.npz`` archive (a path or an open file) for the model arrays ``target``, read
    without ever unpickling: every member's header is checked against the model (:func:`_check_saved`)
    before any data is read."""
    if not isinstance(path, (str, bytes, os.PathLike)):
        return _read_archive(path, _name(path), target, what)
    path = os.fspath(path)
    suffix = b".npz" if isinstance(path, bytes) else ".npz"
    if not os.path.exists(path) and os.path.exists(path + suffix):
        path += suffix
    source = _name(path)
    try:
        file = open(path, "rb")  # noqa: SIM115  (closed by the with below)
    except FileNotFoundError as err:
        raise FluxpyError(f"cannot load {source}: no such file") from err
    except IsADirectoryError as err:
        raise FluxpyError(f"cannot load {source}: it is a directory") from err
    except OSError as err:
        raise FluxpyError(f"cannot load {source}: {type(err).__name__}: {err}") from err
    with file:
        return _read_archive(file, source, target, what)


def _read_archive(file, source, target, what):
    refused = (
        f"cannot load {source}: it is not an .npz archive of plain arrays ({{why}}). fluxpy never "
        "unpickles a file, since unpickling can run arbitrary code; save models with fx.savemodel"
    )
    try:
        start = file.tell()
        magic = file.read(6)
        file.seek(start)
    except (OSError, ValueError, AttributeError) as err:
        raise FluxpyError(refused.format(why=f"it could not be read: {err}")) from err
    if magic == b"\x93NUMPY":
        raise FluxpyError(refused.format(why="it holds a single array, not named arrays"))
    if magic[:2] != b"PK":  # a zip archive's first bytes (np.load tells them apart so too)
        why = "it is empty" if not magic else "it is a pickle, or not a NumPy file at all"
        raise FluxpyError(refused.format(why=why))
    try:
        archive = zipfile.ZipFile(file)
    except (zipfile.BadZipFile, OSError, EOFError, ValueError) as err:
        raise FluxpyError(refused.format(why=f"it is damaged or truncated: {err}")) from err
    with archive:
        members = {name.removesuffix(".npy"): name for name in archive.namelist()}  # as np.load names them
        headers = {key: _header(archive, name, key, refused) for key, name in members.items()}
        _check_saved(target, headers, source, what)
        return {key: _member(archive, name, key, refused) for key, name in members.items()}


# what reading a damaged or crafted member raises: a corrupt deflate stream (zlib.error), the encryption flag
# (RuntimeError), an unknown compression method (NotImplementedError)
_UNREADABLE = (
    ValueError, OSError, EOFError, zipfile.BadZipFile, zlib.error, RuntimeError, NotImplementedError
)  # fmt: skip


def _header(archive, name, key, refused):
    """The shape and dtype of the member ``name`` (array ``key``) from its header, refusing what would need
    unpickling."""
    try:
        with archive.open(name) as member:
            version = np.lib.format.read_magic(member)
            if version == (1, 0):
                shape, _, dtype = np.lib.format.read_array_header_1_0(member)
            elif version == (2, 0):
                shape, _, dtype = np.lib.format.read_array_header_2_0(member)
            else:
                raise ValueError(
                    f"an .npy format version {version[0]}.{version[1]}, which fluxpy does not read"
                )
    except _UNREADABLE + (KeyError,) as err:
        raise FluxpyError(refused.format(why=f"{key!r} could not be read: {err}")) from err
    if dtype.hasobject:
        raise FluxpyError(refused.format(why=f"{key!r} is an object array, which would need unpickling"))
    return _Header((tuple(shape), dtype))


def _member(archive, name, key, refused):
    """The array of the member ``name`` (array ``key``; its header checked already)."""
    try:
        with archive.open(name) as member:
            return np.lib.format.read_array(member, allow_pickle=False)
    except _UNREADABLE as err:
        raise FluxpyError(refused.format(why=f"{key!r} could not be read: {err}")) from err


__all__ = ["loadmodel", "savemodel", "state"]
