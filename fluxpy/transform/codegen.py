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
import re
import textwrap
import threading
import types
from types import FunctionType

import gast
import numpy as np

from .. import forward as forward_mode
from .. import implicit, results, runtime, tangents
from ..rules import (
    augmented,
    mutation,
    python_attributes,
    python_common,
    python_control,
    python_cotangents,
    python_iteration,
    python_packing,
    python_power,
)
from ..rules import numpy_assembly as assembly
from . import adjoint, inline
from . import nodes as n
from .fence import HELPER_PREFIX
from .normalize import match_runtime

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
    "__fx_check_repeated_item": runtime.check_repeated_item,
    "__fx_check_method_writes": runtime.check_method_writes,
    "__fx_owned_view": runtime.owned_view,
    "__fx_live_items": runtime.live_items,
    "__fx_check_param_aliases": runtime.check_param_aliases,
    "__fx_accum": tangents.accum,
    "__fx_type": builtins.type,
    "__fx_scalars": inline.SCALARS,
    "__fx_ndarray": np.ndarray,
    "__fx_op": augmented.OPERATORS,  # operator's functions, but x op= y's are fluxpy's (rules/augmented.py)
    "__fx_getattr": builtins.getattr,
    "__fx_slice": builtins.slice,
    "__fx_range": builtins.range,
    "__fx_len": builtins.len,
    "__fx_tuple": builtins.tuple,
    "__fx_pack_tuple": python_packing.pack_tuple,
    "__fx_pack_list": python_packing.pack_list,
    "__fx_pack_set": python_packing.pack_set,
    "__fx_pack_dict": python_packing.pack_dict,
    "__fx_unpack": python_packing.unpack,
    "__fx_unpack_starred": python_packing.unpack_starred,
    "__fx_iterlist": python_iteration.iterlist,
    "__fx_freevars": python_cotangents.freevars,
    "__fx_closure_tangent": python_cotangents.closure_tangent,
    "__fx_tangent_field": python_cotangents.tangent_field,
    "__fx_tangent_values": python_cotangents.tangent_values,
    "__fx_seed": results.sensitivity,
    "__fx_recursive_fields": python_cotangents.recursive_fields,
    "__fx_expand": python_cotangents.expand,
    "__fx_kwgrad": runtime.kwgrad,
    "__fx_power_by_constant": python_power.power_by_constant,
    "__fx_starred_grads": python_cotangents.starred_grads,
    "__fx_keyword_grads": python_cotangents.keyword_grads,
    "__fx_cons_to_list": python_packing.cons_to_list,
    "__fx_iterate": python_common.SequenceIterator,
    "__fx_implicit": implicit._active,
    "__fx_jvp_call": forward_mode.jvp_call,
    "__fx_jvp_method": forward_mode.jvp_method,
    "__fx_jvp_unpack": forward_mode.jvp_unpack,
    "__fx_jvp_getitem": forward_mode.jvp_getitem,
    "__fx_jvp_binary": forward_mode.jvp_binary,
    "__fx_merged_keywords": runtime.merged_keywords,
    "__fx_tangent_item": forward_mode.tangent_item,
    "__fx_or_empty": forward_mode.or_empty,
    "__fx_record": implicit.record,
    "__fx_setattr": python_attributes.write_attribute,
    "__fx_object_setattr": python_attributes.object_setattr,
    "__fx_with_value": python_control.with_value,
    "__fx_rewind": python_iteration.rewind,
    "__fx_caught": python_control.caught,
    "__fx_parent_setattr": python_attributes.parent_setattr,
    "__fx_setitem": mutation.setitem,
    "__fx_setitem_argument": mutation.setitem_argument,
    "__fx_check_kept_view": mutation.check_kept_view,
    "__fx_check_receiver_part": mutation.check_receiver_part,
    "__fx_init_into": runtime.init_into,
    "__fx_parent_init": runtime.parent_init,
    "__fx_list_append": mutation.list_append,
    "__fx_list_extend": mutation.list_extend,
    "__fx_list_iadd": mutation.list_iadd,
    "__fx_list_insert": mutation.list_insert,
    "__fx_list_pop": mutation.list_pop,
    "__fx_list_remove": mutation.list_remove,
    "__fx_list_reverse": mutation.list_reverse,
    "__fx_list_sort": sorted,
    "__fx_check_try_step": python_control.check_try_step,
    "__fx_cons_to_set": python_packing.cons_to_set,
    "__fx_cons_to_dict": python_packing.cons_to_dict,
    # the functional forms of NumPy's in-place writers (in_place_calls.py)
    "__fx_copyto_value": assembly.copyto_value,
    "__fx_fill_diagonal_value": assembly.fill_diagonal_value,
    "__fx_put_value": assembly.put_value,
    "__fx_put_along_axis_value": assembly.put_along_axis_value,
    "__fx_putmask_value": assembly.putmask_value,
    "__fx_place_value": assembly.place_value,
    # the tests of desugared match statements (normalize/matches.py)
    "__fx_match_sequence": match_runtime.match_sequence,
    "__fx_match_mapping": match_runtime.match_mapping,
    "__fx_match_class": match_runtime.match_class,
    "__fx_match_self": match_runtime.match_self,
    "__fx_match_arg": match_runtime.match_arg,
    "__fx_list": builtins.list,
    # arguments handed back by a callee that writes into them (normalize/anf_writeback.py)
    "__fx_writeback_plan": runtime.writeback_plan,
    "__fx_writeback_method_plan": runtime.writeback_method_plan,
    "__fx_writeback_function": runtime.writeback_function,
    "__fx_writeback_method": runtime.writeback_method,
}


# helpers whose value carries no gradient: called as they are
INACTIVE_HELPERS = frozenset(
    {
        "__fx_seed",
        "__fx_match_arg",
        "__fx_check_param_aliases",
        "__fx_writeback_plan",
        "__fx_writeback_method_plan",
    }
)


def direct_rules():
    """The rules of the operators of generated code (``__fx_op``: ``__fx_rule.iadd`` is the rule of fluxpy's
    ``x += y``, rules/augmented.py) and of ``power_by_constant`` as attributes: generated code calls them
    without dispatch. Built when code is generated: a later registration bumps the registry version, and
    the cache regenerates."""
    from ..rules import registry

    rules = {}
    for name, value in vars(augmented.OPERATORS).items():
        if not name.startswith("_"):
            rule = registry.lookup(value)
            if rule is not None:
                rules[name] = rule
    for name in adjoint.RULE_HELPERS:
        rule = registry.lookup(HELPERS[HELPER_PREFIX + name])
        if rule is not None:
            rules[name] = rule
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
    used = set()
    forward = to_ast(forward_def, used)
    params = [name for name in [*HELPERS, "__fx_rule"] if name in used]  # only the helpers the code uses
    factory = to_ast(n.function("__fx_factory", params, [gast.Pass()]), set())
    factory.body = [forward, ast.Return(value=ast.Name(forward_def.name, ast.Load()))]
    text = ast.unparse(ast.Module(body=[factory], type_ignores=[]))
    lines = [f"# fluxpy: generated forward and pullback of {title}"]
    locations = []
    body = text.splitlines()
    header = textwrap.wrap(", ".join(params), width=100, initial_indent="    ", subsequent_indent="    ")
    header = header or ["    "]
    lines += ["def __fx_factory(  # the helpers generated code calls"] + header[:-1] + [header[-1] + "):"]
    body = body[1:]
    for i, line in enumerate(body):
        m = _COMMENT.match(line) if "__fx_comment__" in line else None
        if m:
            comment, file, lineno = comments[int(m.group(2))]
            locations.append((len(lines) + 1, file, lineno))
            if comment is None:  # a location only: the lines that follow map to it
                if _block_continues(body, i, len(m.group(1))):
                    continue
                line = f"{m.group(1)}pass"  # the marker was the block's only statement
            elif _block_continues(body, i, len(m.group(1))):
                line = f"{m.group(1)}# {comment}"
            else:  # a block left with its comment alone (a pass dropped the statements it described)
                line = f"{m.group(1)}pass  # {comment}"
        lines.append(line)
    return "\n".join(lines) + "\n", locations


def _block_continues(lines, i, indent):
    """Whether a statement at ``indent`` or deeper follows line ``i`` before the block ends."""
    for line in lines[i + 1 :]:
        if line.strip():
            return len(line) - len(line.lstrip()) >= indent
    return False


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
    """``(user file, line)`` for a line of generated code, or None for other files. Code generated from
    generated code (a closure defined in a differentiated function, a gradient of a gradient) maps back
    through each level to the user's file."""
    entries = _locations.get(filename)
    if entries is None:
        return None
    for _ in range(100):  # one step per level of generated code
        found = (filename, lineno)
        for line, file, user_line in entries:
            if line > lineno:
                break
            found = (file, user_line)
        filename, lineno = found
        entries = _locations.get(filename)
        if entries is None:
            break
    return filename, lineno


# -- gast to ast, for ast.unparse ---------------------------------------------------------------------
# gast.gast_to_ast is a generic NodeTransformer (a visit dispatch, a dict of fields and a location copy per
# node); with ast.fix_missing_locations and a walk for the names used, it took half of a fresh transform.
# One pass with a converter per node class does all three in a fifth of the time. The tree serves
# ast.unparse only, which reads no position but a statement's ``lineno`` (to look up type comments: there
# are none here), so that is the one kept.


def unparse(node):
    """The source text of the gast tree ``node``."""
    return ast.unparse(to_ast(node, set()))


def to_ast(node, names):
    """The ``ast`` tree of the gast tree ``node`` (for ast.unparse); adds the id of every name in it
    (parameters included) to the set ``names``."""
    return _CONVERTERS[type(node)](node, names)


def _convert_list(values, names):
    return [_CONVERTERS[type(v)](v, names) if isinstance(v, ast.AST) else v for v in values]


def _converter(cls):
    """The converter of gast class ``cls``: the ast class of the same name, given the fields both have."""
    target = getattr(ast, cls.__name__, None)
    if target is None:  # not a node ast knows (as gast_to_ast: dropped)
        return lambda node, names: None
    if not target._fields and not target._attributes:  # operators, contexts: shared, as ast.parse does
        shared = target()
        return lambda node, names: shared
    fields = target._fields
    statement = issubclass(target, ast.stmt)

    def convert(node, names):
        values = []
        for field in fields:
            value = getattr(node, field, None)
            if isinstance(value, ast.AST):
                value = _CONVERTERS[type(value)](value, names)
            elif type(value) is list:
                value = _convert_list(value, names)
            values.append(value)
        new = target(*values)
        if statement:
            new.lineno = getattr(node, "lineno", 0)
        return new

    return convert


def _name(node, names):
    names.add(node.id)
    return ast.Name(node.id, _CONTEXTS[type(node.ctx)])


def _constant(node, names):
    return ast.Constant(node.value, node.kind)


def _assign(node, names):  # as gast_to_ast: no type comment
    new = ast.Assign(_convert_list(node.targets, names), _CONVERTERS[type(node.value)](node.value, names))
    new.lineno = getattr(node, "lineno", 0)
    return new


def _arg(node, names):
    """gast writes a parameter as a Name (ctx Param), ast as an ``arg``."""
    if node is None:
        return None
    names.add(node.id)
    annotation = node.annotation
    if annotation is not None:
        annotation = _CONVERTERS[type(annotation)](annotation, names)
    return ast.arg(node.id, annotation, node.type_comment)


def _arguments(node, names):
    return ast.arguments(
        posonlyargs=[_arg(a, names) for a in node.posonlyargs],
        args=[_arg(a, names) for a in node.args],
        vararg=_arg(node.vararg, names),
        kwonlyargs=[_arg(a, names) for a in node.kwonlyargs],
        kw_defaults=_convert_list(node.kw_defaults, names),
        kwarg=_arg(node.kwarg, names),
        defaults=_convert_list(node.defaults, names),
    )


def _except_handler(node, names):
    """gast names the exception with a Name, ast with a string."""
    name = node.name
    if name is not None:
        names.add(name.id)
        name = name.id
    kind = node.type
    if kind is not None:
        kind = _CONVERTERS[type(kind)](kind, names)
    return ast.ExceptHandler(kind, name, _convert_list(node.body, names))


class _Converters(dict):
    def __missing__(self, cls):
        convert = self[cls] = _converter(cls)
        return convert


_CONVERTERS = _Converters(
    {
        gast.Name: _name,
        gast.Constant: _constant,
        gast.Assign: _assign,
        gast.arguments: _arguments,
        gast.ExceptHandler: _except_handler,
    }
)
# gast.Param only marks parameters (see _arg): never unparsed
_CONTEXTS = {gast.Load: ast.Load(), gast.Store: ast.Store(), gast.Del: ast.Del(), gast.Param: ast.Load()}
