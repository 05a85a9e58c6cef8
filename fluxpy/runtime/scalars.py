"""Methods of Python numbers (``x.__rsub__(1.0)``, ``z.conjugate()``, ``float.__mul__(x, 2.0)``): a method
that implements an operator or a conversion runs that operator's rule (``scalar_method``), one whose result
carries no gradient runs plainly, any other is a callee with no rule.
"""

import builtins
import operator

from ..rules import registry
from ..rules.helpers import conj as _conj
from .dispatch import call
from .foreign import foreign_forward, none_pullback
from .method_kinds import _SCALAR_OPERANDS


def scalar_method(obj, name, /, *args, **kwargs):
    """``obj.name(*args, **kwargs)`` for a Python float, int or complex ``obj``, as ``(y, pullback)``
    (``pullback(dy)`` gives ``(dobj, *dargs)``): a method that implements an operator or a conversion runs
    that operator's rule (``x.__rsub__(1.0)`` is ``1.0 - x``, ``z.conjugate()`` is ``conj(z)``), one whose
    result carries no gradient (comparisons, ``__int__``, ``hex``) runs plainly, and any other is run as a
    callee with no rule: a gradient reaching it raises NoAdjointError (never a silent zero)."""
    plan = scalar_plan(obj, name, args, kwargs)
    if plan is None:
        return foreign_forward(getattr(obj, name), *args, **kwargs)
    callee, order = plan
    if callee is None:
        return run_method(obj, name, args, kwargs), none_pullback(len(args) + 1)
    if order == "reflected":  # ``x.__rsub__(a)`` is ``a - x``
        y, pb = call(callee, args[0], obj)

        def reflected_scalar_pullback(dy):
            g = pb(dy)
            return (g[2], g[1])

        return y, reflected_scalar_pullback
    y, pb = call(callee, obj, *args)

    def scalar_method_pullback(dy):
        return pb(dy)[1:]

    return y, scalar_method_pullback


def scalar_method_forward(m, /, *args, **kwargs):
    """Forward of a method bound to a Python number taken as a value (``f = x.__neg__``): its cotangent is
    the number's (see :func:`scalar_method`)."""
    return scalar_method(m.__self__, m.__name__, *args, **kwargs)


def unbound_scalar_method_forward(f, /, *args, **kwargs):
    """Forward of a method of ``float``, ``int`` or ``complex`` taken from its class (``float.__mul__(x,
    2.0)``): as the bound method (:func:`scalar_method`) on an operand of that very type."""
    if not args or type(args[0]) is not f.__objclass__:
        return foreign_forward(f, *args, **kwargs)
    y, pb = scalar_method(args[0], f.__name__, *args[1:], **kwargs)

    def unbound_scalar_method_pullback(dy):
        return (None,) + tuple(pb(dy))

    return y, unbound_scalar_method_pullback


def scalar_plan(obj, name, args, kwargs):
    """How :func:`scalar_method` runs ``obj.name(*args, **kwargs)``: ``(callee, order)`` to call the rule of
    ``callee`` on ``(obj, *args)`` (order ``"reflected"``: on ``(args[0], obj)``), ``(None, None)`` for a
    method whose result carries no gradient (NotImplemented too), None for one fluxpy does not know (or
    called with arguments it does not take: Python's own call raises)."""
    if name in _SCALAR_NONDIFF:
        return None, None
    entry = _SCALAR_METHODS.get(name)
    if entry is None or kwargs or not hasattr(type(obj), name):
        return None
    callee, order = entry
    takes = _SCALAR_OPERANDS[type(obj)]
    if order is None:
        return (callee, None) if not args else None
    if len(args) == 2 and name == "__pow__" and type(obj) is int:  # pow(n, e, mod): integers only
        return (builtins.pow, None) if type(args[0]) in takes and type(args[1]) in takes else None
    if len(args) != 1:
        return None
    if not isinstance(args[0], takes):
        return None, None  # Python's binary methods give NotImplemented for an operand of another type
    if type(args[0]) not in takes:
        return None  # a subclass (a np.float64): Python's result is not the operator's (a float, not one)
    return callee, order


def run_method(obj, name, args, kwargs):
    """``obj.name(*args, **kwargs)``, run plainly."""
    return getattr(obj, name)(*args, **kwargs)


# methods whose results carry no gradient: comparisons, truth, hashing, text, integer conversions (steps,
# as int(x) and round(x) are)
_SCALAR_NONDIFF = frozenset(
    {
        "__eq__",
        "__ne__",
        "__lt__",
        "__le__",
        "__gt__",
        "__ge__",
        "__bool__",
        "__hash__",
        "__repr__",
        "__str__",
        "__format__",
        "__sizeof__",
        "is_integer",
        "hex",
        "__int__",
        "__index__",
        "__trunc__",
        "__floor__",
        "__ceil__",
        "__round__",
        "bit_length",
        "bit_count",
    }
)


# a Python number's methods that implement an operator or a conversion: name -> (the callee whose rule
# differentiates it, None for a method taking no argument, "direct" for ``x.__sub__(a)`` = ``x - a``,
# "reflected" for ``x.__rsub__(a)`` = ``a - x``)
_SCALAR_METHODS = {
    "__neg__": (operator.neg, None),
    "__pos__": (operator.pos, None),
    "__abs__": (builtins.abs, None),
    "__float__": (float, None),
    "__complex__": (complex, None),
    "conjugate": (_conj, None),
}


for _name, _op in [
    ("add", operator.add),
    ("sub", operator.sub),
    ("mul", operator.mul),
    ("truediv", operator.truediv),
    ("floordiv", operator.floordiv),
    ("mod", operator.mod),
    ("pow", operator.pow),
    ("divmod", builtins.divmod),
]:
    _SCALAR_METHODS[f"__{_name}__"] = (_op, "direct")
    _SCALAR_METHODS[f"__r{_name}__"] = (_op, "reflected")


registry.nograd(scalar_plan, run_method)
