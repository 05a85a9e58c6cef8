"""The run-time half of matches.py: the tests that desugared ``match`` statements call, as Python's pattern
matching makes them (PEP 634). Generated code reaches them as ``__fx_match_*`` (codegen.HELPERS); they are
evaluated in ``if`` tests only, so they carry no gradient.

>>> match_sequence((1.0, 2.0), 2), match_sequence("ab", 2), match_sequence([1, 2, 3], 2, at_least=True)
(True, False, True)
"""

import collections.abc

# a single positional sub-pattern of these classes matches the subject itself: ``case float(x)``
SELF_MATCHING = (bool, bytearray, bytes, dict, float, frozenset, int, list, set, str, tuple)


def match_sequence(subject, length, at_least=False):
    """``case [a, b]`` (``length`` 2), ``case [a, *rest]`` (at least 1). A NumPy array, a string and bytes
    are not sequences to a pattern, as in Python."""
    if not isinstance(subject, collections.abc.Sequence) or isinstance(subject, (str, bytes, bytearray)):
        return False
    return len(subject) >= length if at_least else len(subject) == length


def match_mapping(subject, keys):
    """``case {"k": v}``: a mapping holding every key of ``keys``. Keys that are equal (two dotted names of
    one value) match nothing, as in Python."""
    if not isinstance(subject, collections.abc.Mapping) or len(set(keys)) < len(keys):
        return False
    return all(key in subject for key in keys)


def match_class(subject, cls, positional, keywords=()):
    """``case C(a, b, k=c)``: an instance of ``cls`` with the attributes the sub-patterns read (``positional``
    of them named by ``cls.__match_args__``, then ``keywords``). Raises Python's TypeErrors."""
    if not isinstance(cls, type):
        raise TypeError("called match pattern must be a type")
    if not isinstance(subject, cls):
        return False
    names = _attribute_names(cls, positional) + list(keywords)
    for i, name in enumerate(names):
        if name in names[:i]:
            raise TypeError(f"{cls.__name__}() got multiple sub-patterns for attribute {name!r}")
    return all(hasattr(subject, name) for name in names)


def match_self(subject, cls):
    """``case float(x)``: ``x`` is the subject itself (a builtin of SELF_MATCHING, named as such)."""
    if not isinstance(cls, type):
        raise TypeError("called match pattern must be a type")
    if not isinstance(subject, cls):
        return False
    if cls not in SELF_MATCHING:  # the name was rebound: matches.py took it for the builtin
        raise TypeError(
            f"fluxpy read the class pattern `{cls.__name__}(x)` as one of the builtin {cls.__name__}, which "
            "matches the subject itself, but that name is bound to another class here: rename it"
        )
    return True


def match_arg(cls, index):
    """The attribute that positional sub-pattern ``index`` of ``case cls(...)`` reads."""
    return _attribute_names(cls, index + 1)[index]


def _attribute_names(cls, positional):
    if not positional:
        return []
    if cls in SELF_MATCHING:
        if positional > 1:
            raise TypeError(f"{cls.__name__}() accepts 1 positional sub-pattern ({positional} given)")
        raise TypeError(  # matches.py matches `float(x)` itself; another name for float gets here
            f"fluxpy matches a positional sub-pattern of the builtin {cls.__name__} only where the pattern "
            f"names it `{cls.__name__}(...)`"
        )
    args = getattr(cls, "__match_args__", ())
    if not isinstance(args, tuple):
        raise TypeError(f"{cls.__name__}.__match_args__ must be a tuple (got {type(args).__name__})")
    if positional > len(args):
        s = "" if len(args) == 1 else "s"
        given = f"({positional} given)"
        raise TypeError(f"{cls.__name__}() accepts {len(args)} positional sub-pattern{s} {given}")
    return list(args[:positional])
