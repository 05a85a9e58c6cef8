"""What the head of a loop's trip reads its item from, when the loop's body writes into what it iterates
(normalize/anf_loops.py): Python's iterator reads item ``i`` from the live object when trip ``i`` begins,
fluxpy's write rebinds the name to a new object, so the trip reads the item again from that name.
"""

import numpy as np

from ..backend import is_array, xp_of
from ..errors import FluxpyError


def live_items(value, source, dict_view=False, refusal=None):
    """Whether a ``for`` loop over ``value`` (``source`` itself, or an expression of it evaluated when the
    loop began: ``y.T``, ``y[::2]``) reads its items from ``source`` as it is when each trip begins, so that
    a write into ``source`` in the body shows in later items (normalize/anf_loops.py reads them again from
    the rebound ``source``): ``source`` itself when it is an array (NumPy's or CuPy's) or a list, a view
    of an array ``source`` (a copy, ``y[[0, 1]]`` or ``L[:]``, keeps the values it had) or its ``flat``
    iterator, a list of such views (``list(y)``), or with ``dict_view`` (``source.values()``,
    ``source.items()``) a dict ``source``.
    ``refusal``: a message to raise instead of answering yes (a view the loop cannot take again)."""
    if dict_view:
        return type(source) is dict
    if value is source:
        live = is_array(value) or isinstance(value, list)
    elif type(value) is np.flatiter:  # y.flat
        live = value.base is source
    elif type(value) in (list, tuple):  # list(y): the rows of an array y are views of it
        live = bool(value) and is_array(source) and live_items(value[0], source)
    else:
        live = is_array(value) and is_array(source) and xp_of(source).may_share_memory(value, source)
    if live and refusal is not None:
        raise FluxpyError(refusal)
    return live
