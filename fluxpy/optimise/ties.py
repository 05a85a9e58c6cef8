"""Weights tied through a view: ``dec = fx.Dense(enc.weight.T)`` (Flux's "tied parameters").

The decoder's weight is a NumPy view of the encoder's, one array of memory under two names. Optimisers.jl
sees one parameter there (``transpose(W)`` is a wrapper around ``W``): one state, and one step of the two
places' gradients summed. Stepping the view and the array separately would move the shared memory twice,
with two states (Adam's step is not linear in the gradient). Here a view's gradient is moved into its owner's
layout and added to the owner's, and only the owner takes a step: the view sees it, as it shares the memory.

>>> import numpy as np
>>> w = np.arange(6.0).reshape(2, 3)
>>> owner_of(w.T, [w, w.T]) is w, owner_of(w, [w, w.T]) is None  # the first of the two owns it
(True, True)
>>> to_owner(w.T, w, np.ones((3, 2)))
array([[1., 1., 1.],
       [1., 1., 1.]])
>>> to_owner(w[:, 1], w, np.array([5.0, 7.0]))
array([[0., 5., 0.],
       [0., 7., 0.]])
"""

import numpy as np

from ..errors import FluxpyError


def _root(x):
    """The array owning ``x``'s memory (NumPy collapses a view's ``base`` to it; ``as_strided`` puts a
    holder object between the view and the array)."""
    while True:
        base = x.base
        if not isinstance(base, np.ndarray):
            base = getattr(base, "base", None)
            if not isinstance(base, np.ndarray):
                return x
        x = base


def _bounds(x):
    """``(low, high)``: the bytes ``x``'s entries lie in."""
    return np.lib.array_utils.byte_bounds(x) if hasattr(np.lib, "array_utils") else np.byte_bounds(x)


def _contiguous(x):
    return x.flags.c_contiguous or x.flags.f_contiguous


def tie_owners(arrays):
    """``{id(view): owner}`` for the arrays (in model order) whose memory lies inside another's: the owner
    is the contiguous array of the same memory that spans the most (the earliest of equals: ``W`` and
    ``W.T`` span the same bytes). Arrays of other modules than NumPy are never tied."""
    found = [(a, _root(a), _bounds(a)) for a in arrays if isinstance(a, np.ndarray) and a.size]
    owners = {}
    for i, (x, root, (lo, hi)) in enumerate(found):
        best = None
        for j, (a, a_root, (a_lo, a_hi)) in enumerate(found):
            if j == i or a_root is not root or not _contiguous(a) or not (a_lo <= lo and hi <= a_hi):
                continue
            if a_lo == lo and a_hi == hi and j > i and _contiguous(x):
                continue  # the same bytes: the earlier array owns them
            if best is None or a_hi - a_lo > best[1]:
                best = (a, a_hi - a_lo)
        if best is not None:
            owners[id(x)] = best[0]
    return owners


def owner_of(x, arrays):
    """The array among ``arrays`` that ``x`` is tied to (see :func:`tie_owners`), or None."""
    return tie_owners(list(arrays) + ([x] if not any(a is x for a in arrays) else [])).get(id(x))


def to_owner(view, owner, g):
    """The gradient ``g`` of ``view`` laid out as ``owner``: zeros where the view does not reach, ``g``'s
    entries where it does (each view entry is one owner entry: a broadcast view, repeating entries, is
    refused)."""
    if view.dtype.itemsize != owner.dtype.itemsize or view.dtype.kind != owner.dtype.kind:
        raise FluxpyError(
            f"update: a parameter of dtype {view.dtype} views one of dtype {owner.dtype}; tied weights must "
            "be views of the same dtype"
        )
    if any(s == 0 and n > 1 for s, n in zip(view.strides, view.shape, strict=True)):
        raise FluxpyError(
            f"update: a parameter of shape {view.shape} is a broadcast view of another (it repeats entries); "
            "tie weights with a transpose, reshape or slice"
        )
    out = np.zeros_like(owner, order="K")
    if out.strides != owner.strides:  # np.zeros_like keeps the layout of contiguous arrays only
        raise FluxpyError(f"update: cannot map a gradient onto a parameter with strides {owner.strides}")
    offset = view.__array_interface__["data"][0] - owner.__array_interface__["data"][0]
    base = out.reshape(-1, order="A")[offset // owner.itemsize :]  # memory order (C or F)
    target = np.lib.stride_tricks.as_strided(base, shape=view.shape, strides=view.strides, writeable=True)
    target += g
    return out
