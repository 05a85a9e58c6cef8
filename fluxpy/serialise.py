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
    ``model`` is unchanged.

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
    if isinstance(path_or_state, dict):
        saved = dict(path_or_state)
        source = "the saved state"
    else:
        saved = _read(path_or_state)
        source = f"{_name(path_or_state)}"
    target = state(model)
    what = type(model).__name__
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
        if not is_array(src):
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
    if problems:  # all checked before anything is copied: a refused load leaves the model unchanged
        raise FluxpyError(f"cannot load into {what}: " + "; ".join(problems))
    for key, dst in target.items():
        src = saved[key]
        xp = xp_of(dst)
        dst[...] = src if xp is np else xp.asarray(src)
    return model


def _name(path):
    if isinstance(path, (str, os.PathLike)):
        return repr(os.fspath(path))
    return repr(getattr(path, "name", type(path).__name__))


def _read(path):
    """The arrays of an ``.npz`` archive, read without ever unpickling."""
    if isinstance(path, (str, os.PathLike)):
        path = os.fspath(path)
        if not os.path.exists(path) and os.path.exists(path + ".npz"):
            path += ".npz"
    refused = (
        f"cannot load {_name(path)}: it is not an .npz archive of plain arrays ({{why}}). fluxpy never "
        "unpickles a file, since unpickling can run arbitrary code; save models with fx.savemodel"
    )
    try:
        loaded = np.load(path, allow_pickle=False)
    except ValueError as err:
        raise FluxpyError(refused.format(why="it is a pickle, or not a NumPy file at all")) from err
    except (OSError, EOFError) as err:
        if isinstance(err, FileNotFoundError):
            raise FluxpyError(f"cannot load {_name(path)}: no such file") from err
        raise FluxpyError(refused.format(why=f"{type(err).__name__}: {err}")) from err
    if not isinstance(loaded, np.lib.npyio.NpzFile):
        raise FluxpyError(refused.format(why="it holds a single array, not named arrays"))
    with loaded:
        out = {}
        for key in loaded.files:
            try:
                out[key] = loaded[key]
            except ValueError as err:
                raise FluxpyError(
                    refused.format(why=f"{key!r} is an object array, which would need unpickling")
                ) from err
            except (OSError, EOFError, zipfile.BadZipFile) as err:
                raise FluxpyError(refused.format(why=f"{key!r} could not be read: {err}")) from err
    return out


__all__ = ["loadmodel", "savemodel", "state"]
