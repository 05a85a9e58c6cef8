"""One-hot encoding of labels, after Flux's ``onehot``/``onehotbatch`` and ``onecold``, batch first.

>>> import numpy as np
>>> y = onehot(["b", "a", "c"], ["a", "b", "c"])
>>> y
array([[0., 1., 0.],
       [1., 0., 0.],
       [0., 0., 1.]], dtype=float32)
>>> onecold(y, ["a", "b", "c"])
array(['b', 'a', 'c'], dtype='<U1')
"""

import numpy as np

from .backend import is_array, to_numpy, xp_of
from .errors import FluxpyError

__all__ = ["onehot", "onecold"]

_NO_DEFAULT = object()


def _as_sequence(classes):
    if isinstance(classes, str):
        return list(classes)
    if is_array(classes):
        return to_numpy(classes).ravel().tolist()
    return list(classes)


def _is_single(labels):
    if isinstance(labels, (str, bytes)):
        return True
    if isinstance(labels, np.ndarray):
        return labels.ndim == 0
    return not isinstance(labels, (list, tuple, range)) and np.ndim(labels) == 0


def _flatten(labels):
    """``(flat labels, shape)`` of a sequence of labels, where nested lists (or arrays) are further axes, as
    the rows of a matrix of labels (Flux's ``onehotbatch`` takes an array of any dimension). A list is never a
    label (classes are looked up by hash); a tuple is one."""
    items = list(labels)
    nested = [isinstance(v, list) or (is_array(v) and v.ndim > 0) for v in items]
    if not any(nested):
        return items, (len(items),)
    if not all(nested):
        raise FluxpyError(
            "onehot: the labels mix lists (or arrays) with single labels; give one label per entry, or a "
            "nested list with the same length at every level (a matrix of labels)"
        )
    parts = [_flatten(to_numpy(v).tolist() if is_array(v) else v) for v in items]
    inner = {shape for _, shape in parts}
    if len(inner) != 1:
        raise FluxpyError(
            f"onehot: a nested list of labels must be rectangular (as an array); its rows have the shapes "
            f"{sorted(inner)}"
        )
    return [label for flat, _ in parts for label in flat], (len(items), *inner.pop())


def onehot(labels, classes, default=_NO_DEFAULT, *, dtype=np.float32):
    """One-hot encode ``labels`` against the list of ``classes``.

    A single label gives a vector of shape ``(len(classes),)``; a list (or 1-d array) of labels gives shape
    ``(len(labels), len(classes))``, one row per label (an n-d array of labels, or a nested list read as one,
    gives its shape plus the classes axis, as Flux's ``onehotbatch`` of a matrix). A label that is not among
    ``classes`` raises :class:`~fluxpy.errors.FluxpyError`, unless ``default`` is given: such labels are
    then encoded as ``default`` (which must be one of ``classes``). The result is a ``dtype`` (``float32``)
    array, ready to be compared with a model's output.

    >>> onehot(2, [1, 2, 3])
    array([0., 1., 0.], dtype=float32)
    >>> onehot([1, 7], [1, 2, 3], 3, dtype=np.float64)
    array([[1., 0., 0.],
           [0., 0., 1.]])
    >>> onehot([["a", "b"], ["c", "a"]], "abc").shape
    (2, 2, 3)
    """
    xp = xp_of(labels)
    if xp is not np:  # device labels: encoded on the host, the result made on the labels' device
        return xp.asarray(onehot(to_numpy(labels), classes, default, dtype=dtype))
    classes = _as_sequence(classes)
    index = {}
    for i, c in enumerate(classes):
        index.setdefault(c, i)
    if default is not _NO_DEFAULT and default not in index:
        raise FluxpyError(f"onehot: the default label {default!r} is not one of the classes {classes!r}")

    def position(label):
        if label in index:
            return index[label]
        if default is _NO_DEFAULT:
            raise FluxpyError(
                f"onehot: label {label!r} is not one of the classes {classes!r}; "
                "pass a default label as the third argument to encode unknown labels"
            )
        return index[default]

    if _is_single(labels):
        label = labels.item() if isinstance(labels, np.ndarray) else labels
        out = np.zeros(len(classes), dtype=dtype)
        out[position(label)] = 1
        return out
    if isinstance(labels, np.ndarray):
        shape = labels.shape
        flat = labels.ravel().tolist()
    else:
        flat, shape = _flatten(labels)
    positions = np.array([position(label) for label in flat], dtype=np.intp)
    out = np.zeros((len(flat), len(classes)), dtype=dtype)
    out[np.arange(len(flat)), positions] = 1
    return out.reshape(*shape, len(classes))


def onecold(y, classes=None):
    """The inverse of :func:`onehot`: the argmax of ``y`` over its last axis.

    Returns the 0-based index of the largest entry (an int for a vector, an integer array for a batch), or,
    with ``classes``, the matching element(s) of ``classes``. Works on probabilities or logits alike.

    >>> onecold(np.array([0.1, 0.7, 0.2]))
    1
    >>> onecold(np.array([0.1, 0.7, 0.2]), ["a", "b", "c"])
    'b'
    >>> onecold(np.array([[0.1, 0.9], [0.8, 0.2]]))
    array([1, 0])
    """
    y = to_numpy(y)
    if y.ndim == 0:
        raise FluxpyError("onecold needs a vector or an array with classes on its last axis, got a scalar")
    idx = np.argmax(y, axis=-1)
    if classes is None:
        return int(idx) if y.ndim == 1 else idx
    classes = _as_sequence(classes)
    if y.shape[-1] != len(classes):
        raise FluxpyError(f"onecold: y has {y.shape[-1]} entries on its last axis but {len(classes)} classes")
    if y.ndim == 1:
        return classes[int(idx)]
    table = np.asarray(classes)
    if table.ndim != 1:  # e.g. tuples as classes: index an object array of them
        table = np.empty(len(classes), dtype=object)
        table[:] = classes
    return table[idx]
