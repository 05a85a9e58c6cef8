"""Deterministic, collision-free names for generated code, derived from the user's names.

>>> n = Namer({"x", "d_x"})
>>> n.adjoint("x"), n.fresh("_mul"), n.fresh("_mul")
('d_x_1', '_mul', '_mul_1')
"""

import gast

from .nodes import walk


class Namer:
    """Hands out names not used by the user's code (nor by earlier calls); same inputs, same names."""

    def __init__(self, taken):
        self.taken = set(taken)
        self._adjoints = {}
        self._pullbacks = {}

    @classmethod
    def for_function(cls, fdef):
        return cls(_identifiers(fdef))

    def fresh(self, base):
        name, k = base, 0
        while name in self.taken:
            k += 1
            name = f"{base}_{k}"
        self.taken.add(name)
        return name

    def adjoint(self, name):
        """The adjoint variable of ``name`` (``d_x``), the same each time it is asked for."""
        if name not in self._adjoints:
            self._adjoints[name] = self.fresh(f"d_{name}")
        return self._adjoints[name]

    def pullback(self, name):
        """A new pullback variable for an assignment to ``name`` (``x_pb``, ``x_pb_1``, ...)."""
        return self.fresh(f"{name}_pb")


def _identifiers(fdef):
    names = set()
    for node in walk(fdef):
        if isinstance(node, gast.Name):
            names.add(node.id)
        elif isinstance(node, (gast.FunctionDef, gast.ClassDef)):
            names.add(node.name)
        elif isinstance(node, gast.alias):
            names.add(node.asname or node.name.split(".")[0])
    return names
