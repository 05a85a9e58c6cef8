"""The arguments of the entry points (interface.py): the caller's containers copied before ``f`` may change
them (``owned``), and which of ``f(*args)``'s inputs want a gradient (``explicit_mask``)."""

import numpy as np

from .jvp_tangents import own_containers
from .rules import registry

_CONTAINERS = (list, tuple, dict, set)
_NOT_CONTAINERS = frozenset({float, int, np.ndarray, np.float64, np.float32})  # the common case, quickly


def owned(args):
    """``args`` with the lists, dicts and sets among them (in tuples too) copied, their items shared: ``f``
    may change one in place (``labels.append(k)``: floats are refused, ints and strings are bookkeeping),
    and the caller's arguments never change (API.md). Arrays need no copy here: fluxpy never writes into
    them (normalize/parameters.py)."""
    for a in args:
        if type(a) not in _NOT_CONTAINERS and isinstance(a, _CONTAINERS):  # subclasses: a defaultdict, ...
            memo = {}  # one list passed twice stays one list (see own_containers)
            return tuple([own_containers(a, memo) for a in args])
    return args


_explicit_masks = {}


def explicit_mask(nargs):
    """Explicit gradients want every argument's and not ``f``'s own (its captured variables and the
    globals it reads are constants): ``(False, True, ...)``."""
    mask = _explicit_masks.get(nargs)
    if mask is None:
        mask = _explicit_masks.setdefault(nargs, (False,) + (True,) * nargs)
    return mask


registry.nograd(explicit_mask)
