"""Stage 6: unparse the forward function, compile it under a filename registered in ``linecache`` and bind
it to the user's live globals.

The generated module holds one factory whose parameters are the helpers generated code calls
(``__fx_call``, ``__fx_accum``, ...), so the user's globals dict is never written to::

    def __fx_factory(__fx_call, __fx_call_method, __fx_accum, ...):
        def f__forward(_fx_self, x):
            ...
        return f__forward

Comments ``# grad of: <user line>  (file.py:12)`` are kept in the text, and each generated line maps
back to the user's line for error messages.
"""

import ast
import builtins
import linecache
import operator
import re
import textwrap
import threading
import types
from types import FunctionType

import gast
import numpy as np

from .. import forward as forward_mode
from .. import implicit, runtime, tangents
from ..rules import mutation
from ..rules import python as pyrules
from . import inline
from . import nodes as n

_COMMENT = re.compile(r"""^(\s*)(?:'|"|\"\"\")__fx_comment__(\d+)(?:'|"|\"\"\")$""")
_lock = threading.Lock()
_counter = [0]
_locations = {}  # generated filename -> sorted list of (generated line, "user file:line")


HELPERS = {
    "__fx_call": runtime.call,
    "__fx_call_method": runtime.call_method,
    "__fx_call_masked": runtime.call_masked,
    "__fx_rule_of": runtime.rule_of,
    "__fx_call_method_masked": runtime.call_method_masked,
    "__fx_check_writes": runtime.check_writes,
    "__fx_check_method_writes": runtime.check_method_writes,
    "__fx_accum": tangents.accum,
    "__fx_type": builtins.type,
    "__fx_scalars": inline.SCALARS,
    "__fx_ndarray": np.ndarray,
    "__fx_op": operator,
    "__fx_getattr": builtins.getattr,
    "__fx_slice": builtins.slice,
    "__fx_range": builtins.range,
    "__fx_len": builtins.len,
    "__fx_tuple": builtins.tuple,
    "__fx_pack_tuple": pyrules.pack_tuple,
    "__fx_pack_list": pyrules.pack_list,
    "__fx_pack_set": pyrules.pack_set,
    "__fx_pack_dict": pyrules.pack_dict,
    "__fx_unpack": pyrules.unpack,
    "__fx_iterlist": pyrules.iterlist,
    "__fx_freevars": pyrules.freevars,
    "__fx_closure_tangent": pyrules.closure_tangent,
    "__fx_tangent_field": pyrules.tangent_field,
    "__fx_recursive_fields": pyrules.recursive_fields,
    "__fx_expand": pyrules.expand,
    "__fx_kwgrad": runtime.kwgrad,
    "__fx_power_by_constant": pyrules.power_by_constant,
    "__fx_starred_grads": pyrules.starred_grads,
    "__fx_keyword_grads": pyrules.keyword_grads,
    "__fx_cons_to_list": pyrules.cons_to_list,
    "__fx_implicit": implicit._active,
    "__fx_jvp_call": forward_mode.jvp_call,
    "__fx_jvp_method": forward_mode.jvp_method,
    "__fx_merged_keywords": runtime.merged_keywords,
    "__fx_tangent_item": forward_mode.tangent_item,
    "__fx_or_empty": forward_mode.or_empty,
    "__fx_record": implicit.record,
    "__fx_setattr": pyrules.write_attribute,
    "__fx_setitem": mutation.setitem,
    "__fx_setitem_argument": mutation.setitem_argument,
    "__fx_init_into": runtime.init_into,
    "__fx_parent_init": runtime.parent_init,
    "__fx_list_append": mutation.list_append,
    "__fx_list_extend": mutation.list_extend,
    "__fx_list_insert": mutation.list_insert,
    "__fx_list_pop": mutation.list_pop,
    "__fx_check_try_step": pyrules.check_try_step,
    "__fx_cons_to_set": pyrules.cons_to_set,
    "__fx_cons_to_dict": pyrules.cons_to_dict,
}


def direct_rules():
    """The rules of the operators (and ``power_by_constant``) as attributes: generated code calls them
    without dispatch. Built when code is generated: a later registration bumps the registry version, and
    the cache regenerates."""
    from ..rules import registry

    rules = {}
    for name in dir(operator):
        if not name.startswith("_"):
            rule = registry.lookup(getattr(operator, name))
            if rule is not None:
                rules[name] = rule
    rule = registry.lookup(pyrules.power_by_constant)
    if rule is not None:
        rules["power_by_constant"] = rule
    for name, rule in list(rules.items()):
        partial = getattr(rule, "partial", None)
        if partial is not None:  # ``matmul__partial(mask, a, b)``: only the cotangents ``mask`` wants
            rules[f"{name}__partial"] = partial
    return types.SimpleNamespace(**rules)


def generate(forward_def, comments, title):
    """``(text, locations)``: the generated module for the gast FunctionDef ``forward_def``.

    ``comments`` holds ``(text, file, line)`` per comment marker; ``locations`` maps generated lines to
    the user's ``(file, line)``.
    """
    used = {node.id for node in gast.walk(forward_def) if isinstance(node, gast.Name)}
    params = [name for name in [*HELPERS, "__fx_rule"] if name in used]  # only the helpers the code uses
    factory = n.function("__fx_factory", params, [forward_def, gast.Return(value=n.name(forward_def.name))])
    module = gast.Module(body=[factory], type_ignores=[])
    tree = ast.fix_missing_locations(gast.gast_to_ast(module))
    text = ast.unparse(tree)
    lines = [f"# fluxpy: generated forward and pullback of {title}"]
    locations = []
    body = text.splitlines()
    header = textwrap.wrap(", ".join(params), width=100, initial_indent="    ", subsequent_indent="    ")
    header = header or ["    "]
    lines += ["def __fx_factory(  # the helpers generated code calls"] + header[:-1] + [header[-1] + "):"]
    for line in body[1:]:
        m = _COMMENT.match(line)
        if m:
            comment, file, lineno = comments[int(m.group(2))]
            locations.append((len(lines) + 1, file, lineno))
            line = f"{m.group(1)}# {comment}"
        lines.append(line)
    return "\n".join(lines) + "\n", locations


def compile_forward(text, locations, user_globals, label):
    """Compile the generated ``text`` and return the forward function bound to ``user_globals``."""
    with _lock:
        _counter[0] += 1
        filename = f"<fluxpy {label} #{_counter[0]}>"
    lines = text.splitlines(keepends=True)
    linecache.cache[filename] = (len(text), None, lines, filename)
    _locations[filename] = locations
    code = compile(text, filename, "exec")
    factory_code = next(c for c in code.co_consts if hasattr(c, "co_name") and c.co_name == "__fx_factory")
    factory = FunctionType(factory_code, user_globals, "__fx_factory")
    names = factory_code.co_varnames[: factory_code.co_argcount]
    rules = direct_rules() if "__fx_rule" in names else None
    return factory(*[rules if name == "__fx_rule" else HELPERS[name] for name in names]), filename


def map_location(filename, lineno):
    """``(user file, line)`` for a line of generated code, or None for other files."""
    entries = _locations.get(filename)
    if entries is None:
        return None
    found = (filename, lineno)
    for line, file, user_line in entries:
        if line > lineno:
            break
        found = (file, user_line)
    return found
