"""A NumPy call that writes its result into an output array, as a statement on a name, as a write of the
whole array: :func:`~fluxpy.transform.in_place_calls.rewrite_in_place_calls` uses it.

``np.floor(x, out=y)``, ``np.sign(x, y)`` (a ufunc's output after its ``nin`` inputs) and
``np.round(x, 0, y)`` (``out`` at its parameter's position) become ``y[...] = np.floor(x)``, ... : ``y``
then holds the new values and their gradient (none for ``np.floor``), as any item assignment, where the call
run as written would change ``y`` behind the transformer's back and leave it the gradient of its old values.
A call of a ufunc with several outputs, or whose output is not a plain name, is left as it is::

    np.floor(x, out=y)              ->  y[...] = np.floor(x)
    z = np.add(a, b, y)             ->  y[...] = np.add(a, b); z = y
    np.divide(a, b, out=y, where=m) ->  _fx_where_4_4 = m
                                        y[...] = np.where(_fx_where_4_4, np.divide(np.where(_fx_where_4_4,
                                            a, 1.0), np.where(_fx_where_4_4, b, 1.0)), y)
    np.sum(x, out=y, where=m)       ->  y[...] = np.sum(x, where=m)   (a reduction's where= picks entries)
"""

import gast
import numpy as np

from ..rules.helpers import out_parameter_position
from . import nodes as n

_NUMPY_NAMES = frozenset({"np", "numpy"})


def out_write(s):
    """The statements for ``s`` when it is a call ``np.f(..., out=y)`` (see the module's docstring), a
    statement or the value of an assignment to a name (``z = np.f(..., out=y)``: then ``z = y`` follows);
    else None."""
    call = s.value if isinstance(s, (gast.Expr, gast.Assign)) else None
    if isinstance(s, gast.Assign) and not (len(s.targets) == 1 and isinstance(s.targets[0], gast.Name)):
        return None
    split = _numpy_out_call(call) if isinstance(call, gast.Call) else None
    if split is None:
        return None
    name, args, keywords = split
    out = []
    f = getattr(np, call.func.attr)
    where = [k.value for k in keywords if k.arg == "where"]
    if where and isinstance(f, np.ufunc):  # elementwise: y keeps its old values where the mask is False
        mask = n.name(f"_fx_where_{s.lineno}_{s.col_offset}")
        out.append(n.located(gast.Assign(targets=[_store(mask.id)], value=where[0], type_comment=None), s))
        value = _masked_ufunc(call.func, f, args, [k for k in keywords if k.arg != "where"], mask, name)
    else:  # a reduction's where= picks the entries it reads: the call as it is
        value = gast.Call(func=call.func, args=args, keywords=keywords)
    target = gast.Subscript(value=n.name(name), slice=n.const(Ellipsis), ctx=gast.Store())
    out.append(n.located(gast.Assign(targets=[target], value=value, type_comment=None), s))
    if isinstance(s, gast.Assign):
        out.append(n.located(gast.Assign(targets=s.targets, value=n.name(name), type_comment=None), s))
    return out


# Where the mask leaves an entry out, the ufunc's inputs there are replaced by a value inside its domain
# with a finite derivative (1, or these), so that the pullback's cotangent, zero there, stays zero: the
# entries left out (a division by zero, a log of a negative) would give inf * 0 = nan otherwise
_SAFE_INPUTS = {np.arcsin: 0.0, np.arccos: 0.0, np.arctanh: 0.0, np.arccosh: 2.0}


def _masked_ufunc(func, f, args, keywords, mask, out):
    """``np.where(mask, np.f(np.where(mask, a, safe), ...), out)``: ``np.f(a, ..., where=mask, out=out)``
    written with functions that have rules, its inputs masked too (:data:`_SAFE_INPUTS`)."""
    module = func.value.id
    safe = n.const(_SAFE_INPUTS.get(f, 1.0))
    inputs = [_where(module, mask, a, safe) for a in args[: f.nin]] + list(args[f.nin :])
    value = gast.Call(func=func, args=inputs, keywords=keywords)
    return _where(module, mask, value, n.name(out))


def _where(module, mask, a, b):
    np_where = gast.Attribute(value=n.name(module), attr="where", ctx=gast.Load())
    return gast.Call(func=np_where, args=[n.name(mask.id), a, b], keywords=[])


def _store(name):
    return gast.Name(id=name, ctx=gast.Store(), annotation=None, type_comment=None)


def _numpy_out_call(call):
    """``(name, args, keywords)`` of a call ``np.f(...)`` passing its one output array as a plain name, with
    the output left out; else None."""
    func = call.func
    if not (isinstance(func, gast.Attribute) and isinstance(func.value, gast.Name)):
        return None
    f = getattr(np, func.attr, None) if func.value.id in _NUMPY_NAMES else None
    if f is None or any(isinstance(a, gast.Starred) for a in call.args):
        return None
    if any(k.arg is None for k in call.keywords) or getattr(f, "nout", 1) != 1:
        return None
    return _without_out(f, call)


def _without_out(f, call):
    """``(name, args, keywords)``: the output array's name and the call's other arguments; None when the
    call passes no output, or one that is not a plain name."""
    out = [k for k in call.keywords if k.arg == "out"]
    if out:
        rest = [k for k in call.keywords if k.arg != "out"]
        return (out[0].value.id, call.args, rest) if isinstance(out[0].value, gast.Name) else None
    position = f.nin if isinstance(f, np.ufunc) else _position(f)
    if position is None or len(call.args) != position + 1 or not isinstance(call.args[-1], gast.Name):
        return None
    return call.args[-1].id, call.args[:-1], call.keywords


def _position(f):
    """Where NumPy function ``f`` takes ``out`` by position, or None."""
    return out_parameter_position(f) if callable(f) else None
