"""Item assignment, ``x[idx] = v``, as a functional update: generated code rebinds ``x`` to a new value with
the item replaced. Values captured by earlier pullbacks are never changed under them, and the caller's
arrays, lists and dicts are never written to.

Python's aliasing would make such an update visible through other references; the transformer refuses
targets that may share their value (copies, elements of containers, loop variables, attributes), and
:func:`setitem` refuses a view whose base is referenced elsewhere.

>>> import numpy as np
>>> x = np.zeros(3)
>>> setitem(x, 1, 5.0), x
(array([0., 5., 0.]), array([0., 0., 0.]))
"""

import sys

import numpy as np

from ..backend import is_array, xp_of
from ..errors import FluxpyError
from .helpers import unbroadcast
from .numpy_indexing import index_array
from .registry import adjoint, nograd

VIEW_WRITE = (
    "writing into a view of another array (made by reshape, transpose, slicing, ...): in plain Python the "
    "write would show through that array, which fluxpy does not model. Copy the view first "
    "(`v = v.copy()`) or write into the original array."
)


def setitem(x, idx, v):
    """``x[idx] = v`` as a new value (array, list or dict); ``x`` itself is left unchanged."""
    if is_array(x):
        check_writable(x)
        y = x.copy()
        y[idx] = v
        return y
    if type(x) is list or type(x) is dict:
        y = type(x)(x)
        y[idx] = v
        return y
    raise _unsupported_setitem(x)


@nograd
def _unsupported_setitem(x):
    """The FluxpyError for ``x[idx] = v`` on an ``x`` that is no array, list or dict."""
    from ..runtime import user_location

    kind = type(x).__name__
    if isinstance(x, dict):  # defaultdict, OrderedDict, Counter, a dict subclass
        hint = (
            "Use a plain dict (`d = {}`, or `d = dict(d)`), reading a missing key with a default: "
            "`d[k] = d.get(k, 0.0) + v`."
        )
    elif isinstance(x, list):
        hint = "Use a plain list: `items = list(items)` first."
    else:
        hint = (
            f"fluxpy does not differentiate {kind}.__setitem__; keep the values in a dict, a list or an "
            "array, or give the class a method that returns a new object."
        )
    return FluxpyError(
        f"assigning items of a {kind} is not supported in differentiated code.\n  {user_location()}\n{hint}"
    )


def setitem_argument(x, idx, v):
    """``x[idx] = v`` where ``x`` is still the caller's argument: a new value, whether or not ``x`` is a
    view (the caller's arrays are never written, so nothing can show through)."""
    if not (is_array(x) or isinstance(x, (list, dict))):
        raise _unsupported_setitem(x)  # (as for a local object: a class's own __setitem__)
    y = x.copy() if is_array(x) else type(x)(x)
    y[idx] = v
    return y


@adjoint(setitem_argument)
def setitem_argument_rule(x, idx, v):
    y, pullback = setitem_rule_for(x, idx, v, setitem_argument(x, idx, v))
    return y, pullback


@nograd
def check_writable(x):
    """Refuse writes into a view whose base has other references (the write would alias)."""
    base = x.base
    if base is not None and sys.getrefcount(base) > 2:
        raise FluxpyError(VIEW_WRITE)


REPEATED = (
    "item assignment with repeated indices is not differentiable: the last write wins.\n  {where}\n"
    "Write each cell once, e.g. the last value for each index: "
    "`u, last = np.unique(idx[::-1], return_index=True); a[u] = v[::-1][last]`; or, to add the values up, "
    "`a = a + np.bincount(idx, weights=v, minlength=len(a))` (a 1-D `a`)."
)


@nograd
def sequence_indices(idx):
    """``idx`` with each tuple inside an index tuple as a list: NumPy reads ``a[(0, 0),]`` as the fancy
    index ``a[[0, 0],]`` (a tuple as the whole index is one entry per axis instead)."""
    if type(idx) is tuple and any(type(p) is tuple for p in idx):
        return tuple(list(p) if type(p) is tuple else p for p in idx)
    return idx


@nograd
def check_distinct(idx, shape):
    """Fancy assignment with repeated indices keeps only the last value: no gradient model for that.

    The addressed cells are compared, not the raw index values: indices are normalised modulo their axis's
    length (``[0, -4]`` on a length-4 axis repeats 0) and the index arrays of all indexed axes are broadcast
    together (``A[[0, 1], [0, 0]]`` addresses the distinct cells (0, 0) and (1, 0)). Every entry that NumPy
    reads as an array counts (a list, a ``range``: ``P[range(N), y]``, a tuple inside the index), and boolean
    masks count as the integer arrays of their nonzero positions, as NumPy reads them."""
    parts = idx if type(idx) is tuple else (idx,)
    xp = xp_of(*parts)
    entries = [index_array(p, xp) for p in parts]
    if all(a is None for a in entries):
        return
    ellipsis = len(shape) - sum(_axes_taken(p, a) for p, a in zip(parts, entries, strict=True))
    axis, arrays, lengths, any_int = 0, [], [], False
    for part, a in zip(parts, entries, strict=True):
        if part is Ellipsis:
            axis += ellipsis
            continue
        if a is not None and a.dtype.kind == "b":
            if a.ndim:
                arrays.extend(xp.nonzero(a))
                lengths.extend(shape[axis : axis + a.ndim])
            axis += a.ndim
            continue
        if a is not None and a.size and a.dtype.kind in "iu":
            arrays.append(a)
            lengths.append(shape[axis])
            any_int = True
        elif a is not None and not a.size:
            return  # an empty index writes nothing
        axis += _axes_taken(part, a)
    if not any_int:
        return  # slices, ints and masks alone never address a cell twice
    arrays = xp.broadcast_arrays(*arrays)
    if not arrays[0].size:
        return
    cells = xp.zeros(arrays[0].shape, dtype=xp.int64)
    for a, n in zip(arrays, lengths, strict=True):
        cells = cells * n + a.astype(xp.int64) % n  # the flat position of each addressed cell
    if int(xp.unique(cells.ravel()).size) != int(cells.size):
        from ..runtime import user_location

        raise FluxpyError(REPEATED.format(where=user_location()))


@nograd
def _axes_taken(part, a):
    """How many axes of the indexed array an index entry consumes (``a``: the array NumPy reads it as)."""
    if part is None or part is Ellipsis or isinstance(part, (bool, np.bool_)):
        return 0
    if a is not None and a.dtype.kind == "b":
        return a.ndim
    return 1


@adjoint(setitem)
def setitem_rule(x, idx, v):
    return setitem_rule_for(x, idx, v, setitem(x, idx, v))


def setitem_rule_for(x, idx, v, y):
    """The pullback of ``y = x`` with ``y[idx] = v``."""
    if is_array(x):
        check_distinct(idx, x.shape)
        float_target = x.dtype.kind in "fc"

        if isinstance(v, (list, tuple)):  # y[1:] = [a, b]: NumPy reads the list as an array

            def array_setitem_sequence_pullback(dy):
                dv = None
                if float_target:
                    dv = sequence_cotangent(unbroadcast(dy[idx], _shaped_like(dy, v)), v)
                return (zero_at(dy, idx), None, dv)

            return y, array_setitem_sequence_pullback

        def array_setitem_pullback(dy):
            dv = unbroadcast(dy[idx], v) if float_target else None
            return (zero_at(dy, idx), None, dv)

        return y, array_setitem_pullback
    if type(x) is list and isinstance(idx, slice):
        return y, _list_slice_setitem_pullback(len(x), len(y), idx, v)
    if type(x) is list:

        def list_setitem_pullback(dy):
            return (replace_item(dy, idx, None), None, dy[idx])

        return y, list_setitem_pullback

    def dict_setitem_pullback(dy):
        return (replace_item(dy, idx, None), None, dy.get(idx))

    return y, dict_setitem_pullback


@nograd
def _shaped_like(d, v):
    """A zero array of ``np.shape(v)`` (a nested list or tuple of numbers and arrays), for unbroadcast."""
    xp = xp_of(d)
    return xp.broadcast_to(xp.zeros((), dtype=d.dtype), np.shape(v))


def sequence_cotangent(g, v):
    """The cotangent of the list or tuple ``v`` (nested, of numbers and arrays) that NumPy read as an array,
    from that array's cotangent ``g``: the same nesting, one entry per item."""
    if not isinstance(v, (list, tuple)):
        return g
    items = []
    for i in range(len(v)):
        items.append(sequence_cotangent(g[i], v[i]))
    return items if type(v) is list else tuple(items)


def _list_slice_setitem_pullback(n_old, n_new, idx, v):
    """The pullback of ``y = x`` with ``y[idx] = v`` for a list ``x`` of ``n_old`` items and a slice ``idx``
    (``y`` has ``n_new``): a plain slice may change the length (``lst[1:3] = [a, b, c]``), an extended one
    replaces as many items as it takes."""
    start, stop, step = idx.indices(n_old)
    taken = range(start, stop, step)
    written = n_new - n_old + len(taken) if step == 1 else len(taken)
    replaced = set(taken)

    def list_slice_setitem_pullback(dy):
        if step == 1:
            dx = list(dy[:start]) + [None] * len(taken) + list(dy[start + written :])
            dv = list(dy[start : start + written])
        else:
            dx = [None if k in replaced else d for k, d in enumerate(dy)]
            dv = [dy[k] for k in taken]
        if is_array(v):
            xp = xp_of(v)
            dv = xp.stack([xp.zeros(v.shape[1:], dtype=v.dtype) if d is None else d for d in dv])
        elif type(v) is tuple:
            dv = tuple(dv)
        return dx, None, dv

    return list_slice_setitem_pullback


def zero_at(d, idx):
    """A copy of the array cotangent ``d`` with zeros at ``idx``."""
    out = xp_of(d).array(d, copy=True)
    out[idx] = 0
    return out


@adjoint(zero_at)
def zero_at_rule(d, idx):
    def zero_at_pullback(dd):
        return (zero_at(dd, idx), None)

    return zero_at(d, idx), zero_at_pullback


def replace_item(d, key, value):
    """A copy of the list or dict cotangent ``d`` with ``d[key] = value``.

    A list's cotangent may arrive as a tuple (``f(*lst)`` hands back its arguments' cotangents as one)."""
    if type(d) is list or type(d) is tuple:
        out = list(d)
        out[key] = value
        return out
    out = dict(d)
    out[key] = value
    return out


@adjoint(replace_item)
def replace_item_rule(d, key, value):
    def replace_item_pullback(dd):
        return (replace_item(dd, key, None), None, dd[key] if type(dd) in (list, tuple) else dd.get(key))

    return replace_item(d, key, value), replace_item_pullback


# ---------------------------------------------------------------------------------------------------------
# list methods on local lists, rebinding the name: lst = append(lst, v)


def list_append(lst, value):
    """``lst.append(value)`` as a new list."""
    return lst + [value]


@adjoint(list_append)
def list_append_rule(lst, value):
    n = len(lst)

    def list_append_pullback(dy):
        return (dy[:n], None if dy is None else dy[n])

    return list_append(lst, value), list_append_pullback


@nograd
def check_in_place_view(a, op):
    """Refuse ``a op= b`` when ``a`` is an array that views another one still in use (``for row in y: row
    *= 2``, ``v = y[:2]; v += 1``, ``w = W.T``): Python writes into the shared data, while fluxpy's ``op=``
    on arrays makes a new array (the other one would keep its values)."""
    base = getattr(a, "base", None)
    if base is None or not is_array(a) or sys.getrefcount(base) <= 2:  # a view of a temporary: unseen
        return
    from ..runtime import user_location

    raise FluxpyError(
        f"`{op}=` on an array that is a view of another array writes into that array in Python, and fluxpy "
        f"makes a new array instead (the other one would keep its values).\n  {user_location()}\n"
        "Assign into the array it views (`y[i] = row * 2`, `y[:2] += 1`), or, when nothing reads that "
        "array again, compute a new one (`row = row * 2`)."
    )


KEPT_VIEW = (
    "writing into {array!r} while {view!r} (bound at line {line}) is a view of it that is read afterwards: "
    "in Python the write would show through {view!r}, while fluxpy writes into a new copy of {array!r} and "
    "{view!r} keeps the old values.\n  {where}\n"
    "Add `.copy()` where {view!r} is bound (line {line}), or bind it again after the write."
)


SAME_ARRAY = (
    "writing into {array!r} while {view!r}, which {relation} (see line {line}), is read afterwards: in "
    "Python the write would show through {view!r}, while fluxpy writes into a new copy of {array!r} and "
    "{view!r} keeps the old values.\n  {where}\n"
    "Add `.copy()` to the value bound at line {line}, or bind {view!r} again after the write."
)


def _linked(view, array):
    """How ``view`` relates to ``array`` where it is not a view of it (``array`` is ``view`` or views it:
    ``array = np.asarray(view)``, ``array = view.ravel()``), else None."""
    if view is array:
        return "is the same array"
    base = getattr(array, "base", None)
    while base is not None:
        if base is view:
            return "it views"
        base = getattr(base, "base", None)
    return None


@nograd
def check_kept_view(view, array, names, line, *index):
    """Refuse ``array[*index] = v`` while ``view``, bound earlier from ``array`` (``view = array[:2]``,
    ``array[0]``, ``array.T``) and read after this write, is an array sharing memory with the cells written:
    in Python the write would show through it. The transformer calls this only where that pattern may occur
    (aliases.kept_views); a scalar (NumPy's ``y[0]`` of a 1-D ``y``) or a copy (``y[[0, 1]]``) passes.
    ``names``: ``(view, array)`` as in the user's source; ``line``: where ``view`` was bound; ``index``: the
    parts of the written index, or ``...`` where any cell may be written before ``view`` is read."""
    if _live(view):
        from ..runtime import user_location

        raise FluxpyError(LIVE_VIEW.format(view=names[0], array=names[1], line=line, where=user_location()))
    if not (is_array(view) and is_array(array)) or not view.size or not array.size:
        return
    xp = xp_of(view)
    if xp is not xp_of(array) or not xp.shares_memory(view, _written_cells(array, index)):
        return  # (a host array and a device one share nothing)
    from ..runtime import user_location

    relation = _linked(view, array)  # b = np.asarray(a), b = ident(a), b = a.ravel(): written through b
    text = KEPT_VIEW if relation is None else SAME_ARRAY
    message = text.format(view=names[0], array=names[1], line=line, relation=relation, where=user_location())
    if names[0].startswith(names[1] + "["):  # A[0], A[1] = A[1], A[0]: the values are views of A
        message += (
            f" For a swap of rows or columns, index with lists: `{names[1]}[[0, 1]] = {names[1]}[[1, 0]]`."
        )
    raise FluxpyError(message)


RECEIVER_PART = (
    "writing into {name!r}, which is {what} {receiver!r} (bound at line {line}, {origin}): in Python the "
    "write would show through {receiver!r}, while fluxpy writes into a new copy.\n  {where}\n"
    "Write into a copy: `{name} = {name}.copy()` where it is bound."
)


SHARED_PART = (
    "changing {name!r} in place while {receiver!r} (bound at line {line}) holds {what} and is read "
    "afterwards: in Python the change would show through {receiver!r}, while fluxpy gives {name!r} a new "
    "value.\n  {where}\nWrite `{name} = {name} + ...` (a new object) instead of the in-place operator, or "
    "store a copy in {receiver!r} (`{name}.copy()`)."
)


@nograd
def check_receiver_part(value, receiver, names, line, shared=False):
    """Refuse ``value[i] = v`` where ``value`` came from a method of ``receiver`` (``h = obj.get()``) and is
    ``receiver`` itself or one of the objects it holds (three levels down: fields, items, values), or an
    array sharing memory with it or one of its arrays; a new array (``h = self.fc(x)``, a layer's output)
    passes. ``line``: the line that bound ``value``, or ``(line, call)`` where a call that may return its
    argument or a view of it did (``v = np.asarray(y)``, ``np.ravel(d["k"])``: alias_reasons.of_view_maker;
    a new array, ``np.asarray`` of a list, passes). ``shared``: the in-place ``value op= v`` while the
    container or object ``receiver[0]`` holding it is read afterwards (``d = {"k": a}; a += x``;
    transform/kept_view_guards._shared_object_checks), with its own message."""
    seen, stack = set(), [(receiver, 0)]
    while stack and len(seen) < 10_000:
        x, depth = stack.pop()
        if id(x) in seen:
            continue
        seen.add(id(x))
        if x is value:
            what = "a part of" if depth else "the same object as"
        elif is_array(x) and is_array(value) and x.size and value.size and xp_of(x) is xp_of(value):
            if not xp_of(x).shares_memory(x, value):
                continue
            what = "a view of an array of" if depth else "a view of"
        else:
            what = None
        if what is not None:
            from ..runtime import user_location

            if shared:
                what = "it" if what == "a part of" else "a view of it"
            text = SHARED_PART if shared else RECEIVER_PART
            origin = f"from a method of {names[1]!r}"
            if type(line) is tuple:
                line, origin = line[0], f"as `{line[1]}`"
            where = user_location()
            raise FluxpyError(
                text.format(
                    name=names[0], what=what, receiver=names[1], line=line, origin=origin, where=where
                )
            )
        if depth < 3 and not is_array(x):
            stack.extend((v, depth + 1) for v in _held(x))


def _held(x):
    """The objects ``x`` holds directly: a container's items or values, an object's fields."""
    if isinstance(x, dict):
        return list(x.values())
    if isinstance(x, (list, tuple)):
        return list(x)
    fields = getattr(x, "__dict__", None)
    return list(fields.values()) if isinstance(fields, dict) else []


LIVE_VIEW = (
    "writing into {array!r} while {view!r} (bound at line {line}), a generator expression that reads it "
    "lazily, is read afterwards: in Python {view!r} would see the write, while fluxpy's items were made "
    "from the old {array!r}.\n  {where}\n"
    "Make a list where {view!r} is bound (line {line}): `list(...)`, or bind it again after the write."
)


def _live(view):
    """Whether ``view`` reads its container when consumed: a generator expression's iterator (a
    SequenceIterator in differentiated code) with items left. (A dict's keys(), values() and items() are
    refused when the transformer sees them: aliases.call_reason.)"""
    from .python_common import SequenceIterator

    return type(view) is SequenceIterator and view.pos < len(view.seq)


@nograd
def _written_cells(array, index):
    """A view of ``array`` holding every cell ``array[*index] = v`` writes: ``array[index]`` itself for a
    basic index (as a view, a 0-d one for a single cell), else the basic index with each index array or
    mask widened to a whole-axis slice (a superset of the cells)."""
    parts = index[0] if len(index) == 1 and type(index[0]) is tuple else index  # y[t] is y[*t]
    basic = []
    for part in parts:
        a = index_array(part, xp_of(array))
        if a is not None or isinstance(part, (bool, np.bool_)):
            basic.extend([slice(None)] * _axes_taken(part, a))  # advanced: the whole axes it indexes
        else:
            basic.append(part)  # an integer, a slice, None, Ellipsis
    if not any(p is Ellipsis for p in basic):
        basic.append(Ellipsis)  # a[0, ...] is a 0-d view where a[0] would be a scalar
    return array[tuple(basic)]


def list_iadd(lst, values):
    """``lst += values`` on a local list, as a new value: ``lst`` extended by any iterable, except that an
    array on the right wins as in Python (ndarray's ``__radd__`` runs first: the result is the array
    ``lst + values``). Plain Python, differentiated through ``list_extend`` or the ``+`` rule."""
    if is_array(values):
        return lst + values
    return list_extend(lst, values)


def list_extend(lst, values):
    """``lst.extend(values)`` as a new list (the cotangent of ``values`` mirrors its container)."""
    from .python_iteration import iterlist

    return lst + iterlist(values)


@adjoint(list_extend)
def list_extend_rule(lst, values):
    from .python_iteration import _user_iterable, cotangent_as, iterlist

    if _user_iterable(values):
        # an object with a Python __iter__: its items, differentiated through it
        from ..runtime import call

        items, items_pb = call(iterlist, values)
        y, pb = list_extend_rule(lst, items)

        def user_items_extend_pullback(dy):
            g = pb(dy)
            return (g[0], None if g[1] is None else items_pb(g[1])[1])

        return y, user_items_extend_pullback

    n = len(lst)

    def list_extend_pullback(dy):
        return (dy[:n], cotangent_as(dy[n:], values))

    return lst + iterlist(values), list_extend_pullback


def list_insert(lst, index, value):
    """``lst.insert(index, value)`` as a new list."""
    out = list(lst)
    out.insert(index, value)
    return out


@adjoint(list_insert)
def list_insert_rule(lst, index, value):
    n = len(lst)
    position = _insert_position(n, index)

    def list_insert_pullback(dy):
        return (dy[:position] + dy[position + 1 :], None, dy[position])

    return list_insert(lst, index, value), list_insert_pullback


@nograd
def _insert_position(n, index):
    return max(0, min(n, index if index >= 0 else n + index))


def list_pop(lst, *index):
    """``value = lst.pop(index)`` as ``(new list, value)``."""
    out = list(lst)
    value = out.pop(*index)
    return out, value


@adjoint(list_pop)
def list_pop_rule(lst, *index):
    n = len(lst)
    position = _pop_position(n, index)

    def list_pop_pullback(dy):
        rest, dvalue = dy
        rest = [None] * (n - 1) if rest is None else list(rest)
        return (rest[:position] + [dvalue] + rest[position:],) + (None,) * len(index)

    return list_pop(lst, *index), list_pop_pullback


@nograd
def _pop_position(n, index):
    i = index[0] if index else -1
    return i if i >= 0 else n + i


def list_reverse(lst):
    """``lst.reverse()`` as a new list."""
    return lst[::-1]


@adjoint(list_reverse)
def list_reverse_rule(lst):
    def list_reverse_pullback(dy):
        return (list_reverse(list(dy)),)

    return list_reverse(lst), list_reverse_pullback


def list_remove(lst, value):
    """``lst.remove(value)`` as a new list: without its first item equal to ``value`` (ValueError if
    none is). ``value`` only picks the item: it gets no gradient."""
    position = _remove_position(lst, value)
    return lst[:position] + lst[position + 1 :]


@adjoint(list_remove)
def list_remove_rule(lst, value):
    position = _remove_position(lst, value)

    def list_remove_pullback(dy):
        dy = list(dy)
        return (dy[:position] + [None] + dy[position:], None)

    return lst[:position] + lst[position + 1 :], list_remove_pullback


@nograd
def _remove_position(lst, value):
    for i, item in enumerate(lst):
        if item is value or item == value:
            return i
    raise ValueError("list.remove(x): x not in list")
