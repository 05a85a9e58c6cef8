"""Which expressions may be an array itself or a view of another one, told from the syntax alone.

NumPy hands back its argument itself, or a view sharing its memory, from many calls: ``np.asarray(y)`` is
``y`` when ``y`` is an array already, ``y.reshape(-1)`` and ``np.transpose(y)`` are views. fluxpy performs
``z[i] = v`` as a rebinding of ``z`` to an updated array, so the alias analyses (aliases.py, kept_views.py)
must know which names may share memory with which: that is decided here, call by call, from the callee's
name (NumPy's module under its usual names, a bare ``asarray`` imported from it, or a method) and its
``copy=`` argument::

    same_or_view_source(np.asarray(y))         # y
    same_or_view_source(y.astype(t))           # None: astype copies unless copy=False
    view_root(np.transpose(y[0]))              # 'y'

Whether the value really is a view is known at run time only; these answers are "may be", never "is".
"""

import gast

# the names NumPy (or a NumPy-like array module) goes by in user code
ARRAY_MODULES = frozenset({"np", "numpy", "cp", "cupy", "xp"})
# calls that may return their argument itself or a view of it (``z = np.asarray(y)``)
_SAME_OR_VIEW_FUNCTIONS = frozenset(
    {
        "array",  # with copy=False or copy=None only: it copies by default
        "asarray",
        "asanyarray",
        "ascontiguousarray",
        "asfortranarray",
        "asarray_chkfinite",
        "require",
        "atleast_1d",
        "atleast_2d",
        "atleast_3d",
        "ravel",
        "reshape",
        "squeeze",
        "transpose",
        "permute_dims",
        "matrix_transpose",
        "swapaxes",
        "moveaxis",
        "rollaxis",
        "expand_dims",
        "broadcast_to",
        "real",
        "imag",
        "diagonal",
        "flip",
        "fliplr",
        "flipud",
        "rot90",
    }
)
# (``y.conj()`` and ``y.conjugate()`` are ``y`` itself for a real ``y``; ``y.astype(t)`` only with copy=False)
_SAME_OR_VIEW_METHODS = frozenset(
    {
        "view",
        "ravel",
        "reshape",
        "squeeze",
        "transpose",
        "swapaxes",
        "diagonal",
        "astype",
        "conj",
        "conjugate",
        "getfield",
        "__array__",
    }
)
# names that mean NumPy's function even when imported bare (``from numpy import asarray``)
_BARE_FUNCTIONS = frozenset(
    {
        "asarray",
        "asanyarray",
        "ascontiguousarray",
        "asfortranarray",
        "asarray_chkfinite",
        "atleast_1d",
        "atleast_2d",
        "atleast_3d",
        "broadcast_to",
        "expand_dims",
    }
)
_COPY_BY_DEFAULT = frozenset({"array", "astype"})  # views only with copy=False (or None for np.array)
_VIEW_ATTRIBUTES = frozenset({"T", "mT", "real", "imag"})  # (not ``shape``, ``size``...: no data)


def same_or_view_source(call):
    """The expression whose value ``call`` may return itself or a view of (``y`` in ``np.asarray(y)``,
    ``y.ravel()``, ``np.transpose(y)``), or None: a call that makes a new value."""
    if not isinstance(call, gast.Call):
        return None
    func = call.func
    if (
        isinstance(func, gast.Attribute)
        and isinstance(func.value, gast.Name)
        and func.value.id in ARRAY_MODULES
    ):
        name, source = func.attr, (call.args[0] if call.args else _first_keyword(call))
        known = name in _SAME_OR_VIEW_FUNCTIONS
    elif isinstance(func, gast.Name):
        name, source = func.id, (call.args[0] if call.args else _first_keyword(call))
        known = name in _BARE_FUNCTIONS
    elif isinstance(func, gast.Attribute):
        name, source = func.attr, func.value
        known = name in _SAME_OR_VIEW_METHODS
    else:
        return None
    if not known or source is None or isinstance(source, gast.Starred):
        return None
    if name.startswith("atleast_") and len(call.args) != 1:
        return None  # np.atleast_1d(y, z): a list of views of each (alias_sources: a view maker)
    copy = next((k.value for k in call.keywords if k.arg == "copy"), None)
    if name in _COPY_BY_DEFAULT:
        if name == "astype" and copy is None and len(call.args) >= 5:
            copy = call.args[4]  # astype(dtype, order, casting, subok, copy): copy is the 5th
        if copy is None or (isinstance(copy, gast.Constant) and copy.value is True):
            return None
    elif isinstance(copy, gast.Constant) and copy.value is True:
        return None  # np.asarray(y, copy=True), np.reshape(y, s, copy=True): a new array
    return source


def _first_keyword(call):
    """The array argument of a NumPy function passed by keyword (``np.asarray(a=y)``), or None."""
    return next(
        (k.value for k in call.keywords if k.arg in ("a", "ary", "arr", "array", "m", "val", "x")), None
    )


def view_root(value):
    """The name whose array ``value`` may be, or be a view of (``y`` in ``y[0]``, ``y.T``, ``y[:2].ravel()``,
    ``np.transpose(y[0])``, ``y`` itself), or None."""
    while value is not None and not isinstance(value, gast.Name):
        if isinstance(value, gast.Subscript) or (
            isinstance(value, gast.Attribute) and value.attr in _VIEW_ATTRIBUTES
        ):
            value = value.value
        else:
            value = same_or_view_source(value)
    return None if value is None else value.id
