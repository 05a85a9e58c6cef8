"""Pass: an array parameter that the function may change in place through a method or an ``out=`` argument
is copied first, so that ``fx.gradient`` and ``fx.pullback`` never change the caller's arrays.

fluxpy updates ``x[i] = v`` and ``x += v`` functionally (the caller's array is never written), and refuses
to store a float through an in-place method. An index array or a mask has no gradient, though, and its
in-place methods (``idx.sort()``, ``idx.fill(0)``, ``np.logical_not(m, out=m)``, ``rng.shuffle(idx)``)
run as Python runs them: on the caller's array, unless the function works on a copy of it. The copy is made
at entry only for a parameter that such a call may write into (an index array only read costs nothing),
and only when it is an array (a list, a dict or a set passed in keeps Python's in-place methods: appending
labels to a caller's list is bookkeeping a caller in differentiated code may want to see; those passed to
``fx.gradient`` and the rest are copied there, interface_args.owned).

Before::

    def f(x, idx):
        idx.sort()
        return np.sum(x[idx])

After::

    def f(x, idx):
        if __fx_getattr(idx, '__array_priority__', None) is not None:
            idx = idx.copy()
        idx.sort()
        return np.sum(x[idx])

A caller in differentiated code that passes an array and reads it after the call would not see the change:
the parameter is recorded as written (``ctx.augmented_params``, for arrays), and that caller is refused at
run time (runtime.check_writes), as for ``x[i] = v`` on a parameter.

Before the copies go the checks of parameter_aliases.py: a parameter written in place while another name
the function reads afterwards holds the same object is refused when the function is called.
"""

import gast
import numpy as np

from ...rules.helpers import out_parameter_position
from .. import nodes as n
from ..alias_sources import in_place_update
from .anf_updates import _IN_PLACE_NAMES, _lookup, _user_globals
from .parameter_aliases import _may_be, after_checks, alias_checks_and_reads

# methods that change their array in place
_IN_PLACE_METHODS = frozenset(
    {
        "sort",
        "fill",
        "resize",
        "partition",
        "put",
        "itemset",
        "setfield",
        "byteswap",
        "setflags",
        "__setitem__",
        "__delitem__",
    }
    | {f"__i{op}__" for op in ("add", "sub", "mul", "truediv", "floordiv", "mod", "pow", "matmul")}
    | {f"__i{op}__" for op in ("or", "and", "xor", "lshift", "rshift")}
)
# functions (by the last name of their callee) that change their first argument in place
_WRITES_FIRST = frozenset(
    {
        "copyto",  # (as a statement on a name, in_place_calls.py makes these item assignments)
        "put",
        "place",
        "putmask",
        "fill_diagonal",
        "put_along_axis",
        "shuffle",  # rng.shuffle(idx), np.random.shuffle
        "at",  # np.add.at(idx, ...)
        "setitem",
        "__setitem__",
    }
    | _IN_PLACE_NAMES  # operator.iadd(idx, v) (but for idx = operator.iadd(idx, v): a rebinding)
)
# keyword names under which those functions take it
_FIRST_KEYWORDS = frozenset({"dst", "a", "arr", "x"})
# what makes a caller's argument one that is copied (see runtime.check_writes): an array's type has it
_COPIED_KINDS = frozenset({"__array_priority__"})


def copy_written_parameters(fdef, ctx):
    """Put the copies of the parameters ``fdef`` may change in place first in its body (see the module's
    docstring); record them in ``ctx``."""
    args = fdef.args
    params = {a.id for a in args.posonlyargs + args.args + args.kwonlyargs} - {ctx.writable}
    if not params:  # (a constructor's self is its fresh object)
        return fdef
    user_globals = _user_globals(ctx)
    first = after_checks(fdef.body)  # (generated code differentiated again: after the checks it holds)
    # (generated code differentiated again holds its checks already; a def nested in differentiated code,
    # which is transformed from the generated text, gets its own)
    if first:
        checks, reads, items = [], None, set()
    else:
        checks, reads, items = alias_checks_and_reads(fdef, ctx, params, user_globals, _written)
        reads = None if user_globals is None else reads
    written = _written(fdef, params, user_globals)
    updated = _updated(fdef, params) - written
    if updated:
        updated -= _rebound_first(fdef.body, updated, user_globals)
    items -= written | updated
    owned = [
        _own_view(a.id, fdef, reads, a.id in items)
        for a in args.posonlyargs + args.args + args.kwonlyargs
        if a.id in updated or a.id in items
    ]
    if not written:
        fdef.body = fdef.body[:first] + checks + owned + fdef.body[first:]
        return fdef
    rebound = _rebound_first(fdef.body, written, user_globals)
    copies = owned
    for a in args.posonlyargs + args.args + args.kwonlyargs:
        name = a.id
        if name not in written or name in rebound:
            continue
        copies.append(n.located(n.if_(_copied_kind(name), [_copy(name, fdef)]), fdef))
        ctx.augmented_params.setdefault(name, set()).update(_COPIED_KINDS)
    fdef.body = fdef.body[:first] + checks + copies + fdef.body[first:]
    return fdef


def _updated(tree, params):
    """The parameters that ``x op= v`` (or ``x = operator.iadd(x, v)``) updates somewhere in ``tree``."""
    out = set()
    for node in n.walk(tree):
        if isinstance(node, gast.AugAssign) and isinstance(node.target, gast.Name):
            out.add(node.target.id)
        elif isinstance(node, gast.Assign):
            found = in_place_update(node)
            if found is not None and isinstance(found[0], str):
                out.add(found[0])
    return out & params


def _own_view(name, fdef, reads, item):
    """``if __fx_owned_view(x, 'x', ('G',), False): x = x.copy()``: an array parameter viewing an array that
    only the user's code around ``fx.gradient`` sees (``fx.gradient(f, data[0])``) becomes the function's
    own, so that ``x -= x.mean()`` is not refused as a write into a view (runtime.owned_view says when).
    ``reads``: per parameter, the globals the function reads after a write into it (None: all it names).
    ``item``: the function writes ``x[i] = v`` (a view that differentiated code passed is refused there)."""
    globals_read = None if reads is None or name not in reads else reads[name]
    test = n.call("__fx_owned_view", [n.name(name), n.const(name), n.const(globals_read), n.const(item)])
    return n.located(n.if_(test, [_copy(name, fdef)]), fdef)


def _written(tree, params, user_globals):
    """The parameters a call in ``tree`` (a nested function's included) may change in place."""
    nodes = n.walk(tree)
    # idx = operator.iadd(idx, v) is a rebinding (normalized as idx += v, which writes into nothing)
    rebinding = {id(node.value) for node in nodes if isinstance(node, gast.Assign) and in_place_update(node)}
    out = set()
    for node in nodes:
        if not isinstance(node, gast.Call) or id(node) in rebinding:
            continue
        func = node.func
        if isinstance(func, gast.Attribute) and isinstance(func.value, gast.Name):
            if func.value.id in params and func.attr in _IN_PLACE_METHODS:
                out.add(func.value.id)  # idx.sort()
        for k in node.keywords:  # np.add(a, b, out=idx), out=(idx,)
            if k.arg == "out":
                out |= _names(k.value) & params
        if _last_name(func) in _WRITES_FIRST:
            first = node.args[:1] + [k.value for k in node.keywords if k.arg in _FIRST_KEYWORDS]
            out |= {a.id for a in first if isinstance(a, gast.Name) and a.id in params}
        out |= _positional_outputs(node, params, user_globals)
    return out


def _last_name(func):
    """``shuffle`` of ``rng.shuffle``, ``np.random.shuffle`` and ``shuffle``."""
    if isinstance(func, gast.Attribute):
        return func.attr
    return func.id if isinstance(func, gast.Name) else None


def _positional_outputs(call, params, user_globals):
    """The parameters passed as a NumPy function's output by position: ``np.logical_not(m, m)`` (a ufunc's
    arguments past its inputs), ``np.clip(a, 0, 1, a)`` (the position of its ``out`` parameter)."""
    positions = [i for i, a in enumerate(call.args) if i and isinstance(a, gast.Name) and a.id in params]
    if not positions or any(isinstance(a, gast.Starred) for a in call.args):
        return set()
    root = call.func
    while isinstance(root, gast.Attribute):
        root = root.value
    if not isinstance(root, gast.Name) or root.id in params:
        return set()
    fn = _lookup(call.func, user_globals)  # (a local variable of that name: at worst a copy more or less)
    if fn is None:
        return set()
    first_out = fn.nin if isinstance(fn, np.ufunc) else out_parameter_position(fn)
    if first_out is None:
        return set()
    return {call.args[i].id for i in positions if i >= first_out}


def _rebound_first(body, names, user_globals):
    """The names of ``names`` that the body's first statements (up to the first that may write into one of
    them) bind to a new value: ``idx = idx.copy()`` before ``idx.sort()`` needs no copy at entry."""
    out = set()
    for s in body:
        if isinstance(s, gast.Expr) and isinstance(s.value, gast.Constant):
            continue  # a docstring
        if not (
            isinstance(s, gast.Assign)
            and len(s.targets) == 1
            and isinstance(s.targets[0], gast.Name)
            and s.targets[0].id in names
            and in_place_update(s) is None
            and _may_be(s.value, s.targets[0].id) is None  # (x = x, x = np.asarray(x): the caller's still)
            and not _written(s.value, names - out, user_globals)
        ):
            break
        out.add(s.targets[0].id)
    return out


def _names(node):
    return {x.id for x in n.walk(node) if isinstance(x, gast.Name)}


def _copied_kind(name):
    """``name`` is an array (NumPy's, CuPy's: its copy() is a new one)."""
    return n.is_not_none(n.call("__fx_getattr", [n.name(name), n.const("__array_priority__"), n.const(None)]))


def _copy(name, fdef):
    call = n.call(n.attr(n.name(name), "copy"))
    return n.located(n.assign(name, call), fdef)
