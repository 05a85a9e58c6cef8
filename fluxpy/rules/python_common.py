"""What the rules of Python's operators, builtins and containers share (rules/python_*.py): which operands are
plain numbers, a class's own Python dunder method, the pullbacks that pass a cotangent through or give
none, fluxpy's sequence iterator, and the cotangent of one item of a sequence.

>>> _plain(2.0, 3), _plain([1.0], 3)
(True, False)
>>> seq_scatter(3, 1, 5.0, True)
[None, 5.0, None]
"""

import numpy as np

from ..backend import is_array
from .helpers import custom_arithmetic, refuse_masked
from .registry import adjoint, nograd

# =========================================================================================================
# operands: numbers and arrays, and the Python dunders of other classes


_SCALARS = {float, int}


def _scalars(a, b):
    return type(a) in _SCALARS and type(b) in _SCALARS


def _is_seq(x):
    return type(x) is list or isinstance(x, tuple)


def _is_int(x):
    return isinstance(x, (int, np.integer)) and not isinstance(x, (bool, np.bool_))


def _numeric(x):
    """Numbers and arrays: what the arithmetic rules (rules/python_operators.py) compute with directly (a
    masked array is refused: they would ignore its mask)."""
    if isinstance(x, (int, float, complex, np.generic)):
        t = type(x)
        if t is float or t is int or t is bool or t is complex or isinstance(x, np.generic):
            return True
        return not custom_arithmetic(x)  # a float subclass with its own __mul__: its dunders run
    if is_array(x):
        if type(x) is not np.ndarray:
            refuse_masked((x,))
        return True
    return False


def _plain(a, b):
    """True when ``a op b`` is numeric arithmetic (no lists, tuples or user objects involved)."""
    return _numeric(a) and _numeric(b)


nograd(_scalars, _is_seq, _is_int, _numeric, _plain)


@nograd
def _complex(y):
    return type(y) is complex or getattr(getattr(y, "dtype", None), "kind", None) == "c"


@nograd
def _python_dunder(x, name):
    if type(x) is SequenceIterator:  # fluxpy's own iterator (below): its items' cotangents have rules
        return None
    for klass in type(x).__mro__:
        if name in klass.__dict__:
            attr = klass.__dict__[name]
            return attr if type(attr).__name__ == "function" else None
    return None


# =========================================================================================================
# pullbacks shared by many rules


def _same_pullback(dy):
    return (dy,)


@nograd
def _none_pullback(n):
    nones = (None,) * n

    def none_pullback(dy):
        return nones

    return none_pullback


# =========================================================================================================
# fluxpy's iterator over a list, tuple or array, and a sequence's cotangent at one position


class SequenceIterator:
    """``iter(x)`` of a list, tuple or array in differentiated code (and what ``map`` and ``filter`` return):
    Python's iterator over ``x``, which also knows the position of its next item, so that the cotangents of
    the items ``next``, ``zip``, a ``for`` loop, ``list``, ``sum``, ... took go back to their places in
    ``x``. Its cotangent is a list with one entry per item of ``x`` (None where no gradient flows)."""

    def __init__(self, seq):
        self.seq = seq
        self.pos = 0

    def __iter__(self):
        return self

    def __next__(self):
        i = _advance(self)
        if i is None:
            raise StopIteration
        return self.seq[i]

    def __length_hint__(self):
        return max(len(self.seq) - self.pos, 0)

    def __repr__(self):
        return f"<iterator at item {self.pos} of {len(self.seq)}>"


@nograd
def _advance(it):
    """The position of the next item of SequenceIterator ``it``, moving ``it`` past it (None at the end)."""
    i = it.pos
    if i >= len(it.seq):
        return None
    it.pos = i + 1
    return i


def seq_scatter(n, idx, dy, as_list):
    """A length-``n`` sequence cotangent that is ``dy`` at ``idx`` (an int or a slice) and None elsewhere."""
    out = [None] * n
    if isinstance(idx, slice):
        for k, i in enumerate(range(*idx.indices(n))):
            out[i] = dy[k]
    else:
        out[idx] = dy
    return out if as_list else tuple(out)


@adjoint(seq_scatter)
def seq_scatter_rule(n, idx, dy, as_list):
    def seq_scatter_pullback(dd):
        if dd is None:
            return (None, None, None, None)
        if isinstance(idx, slice):
            return (None, None, tuple(dd[i] for i in range(*idx.indices(n))), None)
        return (None, None, dd[idx], None)

    return seq_scatter(n, idx, dy, as_list), seq_scatter_pullback
