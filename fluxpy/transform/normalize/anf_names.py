"""The vocabulary of the ANF pass (anf.py): operator names, the helpers' call names, the builtins
evaluated without gradient, and the list methods rewritten as rebindings."""

import gast

BINOPS = {
    gast.Add: "add",
    gast.Sub: "sub",
    gast.Mult: "mul",
    gast.Div: "truediv",
    gast.FloorDiv: "floordiv",
    gast.Mod: "mod",
    gast.Pow: "pow",
    gast.MatMult: "matmul",
    gast.LShift: "lshift",
    gast.RShift: "rshift",
    gast.BitOr: "or_",
    gast.BitXor: "xor",
    gast.BitAnd: "and_",
}
UNARYOPS = {gast.USub: "neg", gast.UAdd: "pos", gast.Invert: "invert"}
INACTIVE_BUILTINS = {
    "len",
    "range",
    "isinstance",
    "issubclass",
    "type",
    "print",
    "hasattr",
    "callable",
    "id",
    "str",
    "repr",
    "int",
    "bool",
    "round",
    "slice",
    "format",
    "hash",
    "any",
    "all",
    "ord",
    "chr",
}
CALL, CALL_METHOD = "__fx_call", "__fx_call_method"
# methods of a local list that the normalizer turns into rebindings of its name to a new list (sort takes
# its keywords; the others take none)
LIST_METHODS = {"append", "extend", "insert", "pop", "remove", "reverse", "sort", "clear"}
