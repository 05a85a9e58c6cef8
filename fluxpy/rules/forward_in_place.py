"""Forward rules of the in-place changes of a list or dict (``stack.pop()`` inside an expression; statements
are rebound by the normalizer): the same change is made to its tangent, which mirrors it, aliases included.
"""

from .forward_containers import dict_jvp
from .forward_core import _arity, _forward_error, _items, keyword_forward_rule
from .forward_iteration import _iterate
from .python_builtins import _sort_order, pick
from .registry import forward_rule


def _tangent_to_change(x, tx, name):
    """The tangent container to change alongside ``x`` (None: ``x`` has no tangent)."""
    if tx is None:
        return None
    if (type(tx) is list and len(tx) == len(x)) if isinstance(x, list) else type(tx) is dict:
        return tx
    raise _forward_error(
        f"follow {type(x).__name__}.{name}(...)",
        f"it changes the {type(x).__name__} in place, and its tangent, a {type(tx).__name__}, cannot follow",
    )


def _no_new_tangents(x, name, *tangents):
    if any(t is not None for t in tangents):
        from ..forward import FORWARD_IN_PLACE_FIX

        raise _forward_error(
            f"follow {type(x).__name__}.{name}(...)",
            f"it puts values with tangents in place into a {type(x).__name__} that had none",
            FORWARD_IN_PLACE_FIX,
        )


@forward_rule(list.append)
def append_in_place_jvp(args, targs):
    _arity(list.append, args, {}, 2, 2)
    lst, v = args
    t = _tangent_to_change(lst, targs[0], "append")
    if t is None:
        _no_new_tangents(lst, "append", targs[1])
    lst.append(v)
    if t is not None:
        t.append(targs[1])
    return None, None


@forward_rule(list.extend)
def extend_in_place_jvp(args, targs):
    _arity(list.extend, args, {}, 2, 2)
    lst, values = args
    t = _tangent_to_change(lst, targs[0], "extend")
    items, titems = _iterate(values, targs[1])
    if t is None and titems is not None:
        _no_new_tangents(lst, "extend", *titems)
    lst.extend(items)
    if t is not None:
        t.extend(_items(titems, items))
    return None, None


@forward_rule(list.insert)
def insert_in_place_jvp(args, targs):
    _arity(list.insert, args, {}, 3, 3)
    lst, index, v = args
    t = _tangent_to_change(lst, targs[0], "insert")
    if t is None:
        _no_new_tangents(lst, "insert", targs[2])
    lst.insert(index, v)
    if t is not None:
        t.insert(index, targs[2])
    return None, None


@forward_rule(list.pop)
def pop_in_place_jvp(args, targs):
    _arity(list.pop, args, {}, 1, 2)
    lst, index = args[0], args[1:]
    t = _tangent_to_change(lst, targs[0], "pop")
    y = lst.pop(*index)
    return y, None if t is None else t.pop(*index)


@forward_rule(list.remove)
def remove_in_place_jvp(args, targs):
    _arity(list.remove, args, {}, 2, 2)
    lst, v = args
    t = _tangent_to_change(lst, targs[0], "remove")
    i = lst.index(v)
    del lst[i]
    if t is not None:
        del t[i]
    return None, None


@forward_rule(list.clear, dict.clear)
def clear_in_place_jvp(args, targs):
    _arity(type(args[0]).clear if args else list.clear, args, {}, 1, 1)
    x = args[0]
    t = _tangent_to_change(x, targs[0], "clear")
    x.clear()
    if t is not None:
        t.clear()
    return None, None


@forward_rule(list.reverse)
def reverse_in_place_jvp(args, targs):
    _arity(list.reverse, args, {}, 1, 1)
    lst = args[0]
    t = _tangent_to_change(lst, targs[0], "reverse")
    lst.reverse()
    if t is not None:
        t.reverse()
    return None, None


@keyword_forward_rule(list.sort)
def sort_in_place_jvp(args, targs, kwargs, tkwargs):
    _arity(list.sort, args, kwargs, 1, 1, ("key", "reverse"))
    lst = args[0]
    t = _tangent_to_change(lst, targs[0], "sort")
    order = _sort_order(lst, kwargs.get("key"), kwargs.get("reverse", False))
    lst[:] = pick(lst, order)
    if t is not None:
        t[:] = pick(t, order)
    return None, None


@keyword_forward_rule(dict.update)
def update_in_place_jvp(args, targs, kwargs, tkwargs):
    _arity(dict.update, args, {}, 1, 2)
    d = args[0]
    t = _tangent_to_change(d, targs[0], "update")
    new = dict_jvp(args[1:], targs[1:], kwargs, tkwargs)
    if t is None:
        _no_new_tangents(d, "update", *new[1].values())
    d.update(new[0])
    if t is not None:
        t.update(new[1])
    return None, None


@forward_rule(dict.setdefault)
def setdefault_in_place_jvp(args, targs):
    _arity(dict.setdefault, args, {}, 2, 3)
    d, key = args[0], args[1]
    t = _tangent_to_change(d, targs[0], "setdefault")
    if key in d:
        return d[key], None if t is None else t.get(key)
    tv = targs[2] if len(args) > 2 else None
    if t is None:
        _no_new_tangents(d, "setdefault", tv)
    y = d.setdefault(key, *args[2:])
    if t is not None:
        t[key] = tv
    return y, tv


@forward_rule(dict.pop)
def dict_pop_in_place_jvp(args, targs):
    _arity(dict.pop, args, {}, 2, 3)
    d, key = args[0], args[1]
    t = _tangent_to_change(d, targs[0], "pop")
    if key not in d and len(args) > 2:
        return args[2], targs[2]
    y = d.pop(key)
    return y, None if t is None else t.pop(key, None)


@forward_rule(dict.popitem)
def popitem_in_place_jvp(args, targs):
    _arity(dict.popitem, args, {}, 1, 1)
    d = args[0]
    t = _tangent_to_change(d, targs[0], "popitem")
    key, value = d.popitem()
    return (key, value), None if t is None else (None, t.pop(key, None))
