"""``x op= y``: the functions that the code generated for an augmented assignment calls.

Python runs ``a += b`` as ``a = operator.iadd(a, b)``: an array or a list is changed in place (another name
holding it sees the change), a number or a tuple is not (``a`` is bound to a new value). fluxpy updates
functionally: ``a`` is bound to a new value and nothing is written into an array. That is right for
``a += b``, which rebinds ``a``, and wrong for a user's ``c = operator.iadd(a, b)``, where ``a`` would miss
the change. The transformer tells the two apart where they are written (transform/normalize/anf_updates.py):

* ``a += b`` (``-=``, ``*=``, ``/=``, ``**=``; and ``x[i] += v``, ``obj.a += v`` on a user class with an
  ``__iadd__``) calls the functions here, spelled ``__fx_op.iadd`` in generated code: ``__fx_op`` is
  :data:`OPERATORS`, Python's operators but for the in-place ones, which are these. So does a user's call
  of an in-place function of ``operator`` (``operator.iadd``, ``operator.__iadd__``, ``iadd`` imported
  from it; ``isub``, ..., ``iconcat``) that rebinds the name it updates (``a = operator.iadd(a, b)``, which
  is then normalized as ``a += b`` is) or updates a new object no name holds (``operator.iadd(a * 2, b)``,
  ``operator.iadd([x, y], b)``);
* every other call (``operator.iadd(a, b)`` as a statement, ``c = operator.iadd(a, b)``,
  ``functools.reduce(operator.iadd, ...)``, ``op = operator.iadd; op(a, b)``) calls ``operator.iadd``
  itself, whose rule refuses to change an array, a list or an object in place when a float is involved, and
  otherwise runs it as Python does.

Run without a gradient, each function here is Python's own operator (``iadd(a, b)`` is
``operator.iadd(a, b)``: forward mode calls it so when no tangent is involved). Their rules
(rules/python_in_place.py, rules/forward_arithmetic.py) update functionally: numbers, arrays, lists and
tuples by the rule of the plain operator (an array that views another is refused: Python would write into
the data they share), a user class's Python ``__iadd__`` differentiated (one that changes its object and
returns it, as a constructor), ``__add__``/``__radd__`` where it returns NotImplemented.

>>> import numpy as np
>>> from fluxpy.rules.python_in_place import AUGMENTED_RULES
>>> a = np.ones(2)
>>> y, back = AUGMENTED_RULES[iadd](a, np.full(2, 2.0))
>>> y, a  # a new array, a unchanged
(array([3., 3.]), array([1., 1.]))
>>> back(np.ones(2))
(array([1., 1.]), array([1., 1.]))
>>> functional(operator.iadd) is iadd is OPERATORS.iadd is OPERATORS.__iadd__, functional(operator.add)
(True, None)
"""

import operator
import types


def iadd(a, b):
    """``a += b`` (Python's ``operator.iadd``; differentiated, ``a`` gets a new value)."""
    return operator.iadd(a, b)


def isub(a, b):
    """``a -= b`` (Python's ``operator.isub``)."""
    return operator.isub(a, b)


def imul(a, b):
    """``a *= b`` (Python's ``operator.imul``)."""
    return operator.imul(a, b)


def itruediv(a, b):
    """``a /= b`` (Python's ``operator.itruediv``)."""
    return operator.itruediv(a, b)


def ipow(a, b):
    """``a **= b`` (Python's ``operator.ipow``)."""
    return operator.ipow(a, b)


def imod(a, b):
    """``a = operator.imod(a, b)`` (``a %= b`` is ``a = a % b`` in generated code)."""
    return operator.imod(a, b)


def imatmul(a, b):
    """``a = operator.imatmul(a, b)``."""
    return operator.imatmul(a, b)


def ifloordiv(a, b):
    """``a = operator.ifloordiv(a, b)``."""
    return operator.ifloordiv(a, b)


def iconcat(a, b):
    """``a = operator.iconcat(a, b)`` (``a += b`` for sequences)."""
    return operator.iconcat(a, b)


# (Python's in-place operator, fluxpy's function, the plain operator's sign, the method Python calls on the
# left operand); their rules: rules/python_in_place.py (reverse), rules/forward_arithmetic.py (forward)
TABLE = [
    (operator.iadd, iadd, "+", "__iadd__"),
    (operator.isub, isub, "-", "__isub__"),
    (operator.imul, imul, "*", "__imul__"),
    (operator.itruediv, itruediv, "/", "__itruediv__"),
    (operator.ipow, ipow, "**", "__ipow__"),
    (operator.imod, imod, "%", "__imod__"),
    (operator.imatmul, imatmul, "@", "__imatmul__"),
    (operator.ifloordiv, ifloordiv, "//", "__ifloordiv__"),
    (operator.iconcat, iconcat, "+", "__iadd__"),  # a list's __iadd__ extends it in place
]


def functional(f):
    """fluxpy's function for Python's in-place operator ``f`` (``iadd`` for ``operator.iadd``), else None:
    what the transformer writes for a user's call of ``f`` that rebinds its name or updates a new object."""
    for op, fn, *_ in TABLE:
        if f is op:
            return fn
    return None


def _operators():
    """``__fx_op`` of generated code: Python's operators, but for the in-place ones, which are the
    functions above (``__fx_op.iadd``, and ``__fx_op.__iadd__``, which the adjoint does not inline: see
    anf_updates.InPlaceUpdates.in_place_on_item)."""
    names = {k: v for k, v in vars(operator).items() if not k.startswith("_") and callable(v)}
    dunders = {k: v for k, v in vars(operator).items() if k.startswith("__") and k.endswith("__")}
    names.update({k: v for k, v in dunders.items() if callable(v) and not isinstance(v, type)})
    for op, fn, *_ in TABLE:
        names[op.__name__] = names[f"__{op.__name__}__"] = fn
    return types.SimpleNamespace(**names)


OPERATORS = _operators()
