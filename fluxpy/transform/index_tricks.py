"""``np.r_[...]`` and ``np.c_[...]`` as the calls they are: the fence's :func:`~fluxpy.transform.fence.check`
rewrites them before the analyses.

An index expression carries no gradient in normalized code (``x[i]``: the key is a constant), yet the key
of ``np.r_`` and ``np.c_`` holds the parts they concatenate (``np.r_[w, 1.0]``). Written as a call of their
``__getitem__``, whose rule is in rules/numpy_index_tricks.py, the parts are arguments like any other, in
both modes. Slices in the key become ``slice`` objects, which is what ``__getitem__`` receives::

    np.r_[w, 0:2]      ->  np.r_.__getitem__((w, slice(0, 2, None)))
    numpy.c_[ones, X]  ->  numpy.c_.__getitem__((ones, X))
    r_[w, 1.0]         ->  r_.__getitem__((w, 1.0))          (from numpy import r_)
"""

import gast

from . import nodes as n

_NUMPY_NAMES = frozenset({"np", "numpy"})
_CONCATENATORS = frozenset({"r_", "c_"})


def rewrite_index_tricks(fdef):
    """Rewrite every ``np.r_[key]``/``np.c_[key]`` read in ``fdef`` in place; return whether any was."""
    rewriter = _IndexTricks()
    rewriter.visit(fdef)
    return rewriter.rewritten


class _IndexTricks(gast.NodeTransformer):
    rewritten = False

    def visit_Subscript(self, node):
        self.generic_visit(node)
        value = node.value
        if not (isinstance(node.ctx, gast.Load) and _is_concatenator(value)):
            return node
        self.rewritten = True
        func = gast.Attribute(value=value, attr="__getitem__", ctx=gast.Load())
        call = gast.Call(func=func, args=[_key(node.slice)], keywords=[])
        for made in gast.walk(call):  # the analyses after the fence read every node's line
            if not hasattr(made, "lineno"):
                gast.copy_location(made, node)
        return call


def _is_concatenator(value):
    """``np.r_``, ``numpy.c_``, or a bare ``r_``/``c_`` (``from numpy import r_``). Should the name be
    something else, ``v.__getitem__(key)`` is still what ``v[key]`` calls."""
    if isinstance(value, gast.Name):
        return value.id in _CONCATENATORS
    return (
        isinstance(value, gast.Attribute)
        and isinstance(value.value, gast.Name)
        and value.value.id in _NUMPY_NAMES
        and value.attr in _CONCATENATORS
    )


def _key(key):
    """The value ``__getitem__`` receives for ``key``: its slices as ``slice(lo, hi, step)`` calls."""
    if isinstance(key, gast.Tuple):
        return gast.Tuple(elts=[_key(k) for k in key.elts], ctx=gast.Load())
    if isinstance(key, gast.Slice):
        parts = [key.lower, key.upper, key.step]
        return n.call("slice", [n.const(None) if p is None else p for p in parts])
    return key
