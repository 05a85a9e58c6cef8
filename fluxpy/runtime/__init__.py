"""The runtime of generated code: call dispatch and the checks and helpers it uses, one job per module.

Every call in generated code goes through ``call`` or ``call_method``; the modules, in dependency order:

- ``locations``     where a call came from (``user_location``), and the NoAdjointError of a callee
- ``foreign``       callees run as they are (non-differentiable, or with no rule and no source)
- ``rule_checks``   a user's rule's result, checked (a pair, one fitting cotangent per argument)
- ``linear``        forward rules of the helpers that assemble cotangents
- ``keywords``      keyword arguments bound to positional parameters, and their gradients
- ``method_kinds``  how ``obj.name(...)`` dispatches, and the in-place changes refused
- ``writes``        writes into arguments that differentiated code could not show the caller, refused
- ``writeback``     arguments a callee writes into, handed back to the caller (its write-back variant)
- ``records``       constructing namedtuples, dataclasses and classes with a Python ``__init__``
- ``dispatch``      ``call``, ``call_masked`` and ``resolve``: the forward of a callee, rules first
- ``scalars``       methods of Python numbers, by the rules of the operators they implement
- ``methods``       ``call_method``: ``obj.name(*args)``
- ``partials``      ``functools.partial`` and ``operator``'s getters: the call each stands for
- ``callees``       the forward of a callee that is not a Python function (``resolve`` asks it)

Generated code and the rest of fluxpy reach these names here (``runtime.call``, ``from ..runtime import
user_location``): this module re-exports them, and binds the two late links that would be import cycles.
"""

# ruff: noqa: F401  (the names below are re-exported)
from ..rules import registry as _registry
from . import callees as _callees
from . import dispatch as _dispatch
from .callees import number_subclass_forward
from .dispatch import (
    _make_rule_forward,
    _transformed,
    bound_method_forward,
    call,
    call_binding,
    call_masked,
    callable_object_forward,
    check_no_function_gradient,
    partial_forward_of,
    resolve,
    resolve_masked,
    rule_forward,
    rule_of,
)
from .foreign import _carries_float, check_float_out, foreign_forward, nondiff_forward, none_pullback
from .keywords import (
    DroppedKeyword,
    bound_rule_call,
    bound_values,
    bound_values_rule,
    checked_keywords_call,
    keyword_layout,
    kwgrad,
    kwgrad_rule,
    layout_grads,
    layout_grads_rule,
    layout_mask,
    mark_dropped_keywords,
    mark_dropped_keywords_jvp,
    mark_dropped_keywords_rule,
    merge_keyword_grads,
    merge_keyword_grads_rule,
    primal_layout,
    remaining_keywords,
    remaining_keywords_rule,
)
from .linear import linear_in
from .locations import _ufunc_path, note_call_chain, raise_no_adjoint, user_location
from .loops import live_items
from .method_kinds import (
    _SCALAR_OPERANDS,
    check_no_mutation,
    class_function,
    in_place_function_forward,
    method_kind,
    mutation_forward,
    unbound_mutation_forward,
)
from .methods import (
    array_method_forward,
    array_method_rule,
    bound_to,
    call_method,
    call_method_masked,
    container_method_forward,
    field_cotangent,
    field_cotangent_rule,
)
from .partials import (
    attrgetter_forward,
    expand_cotangents,
    expand_cotangents_rule,
    follow_attributes,
    get_attributes,
    get_items,
    getter_arguments,
    itemgetter_forward,
    merged_keywords,
    merged_keywords_rule,
    methodcaller_forward,
    methodcaller_tangent,
    methodcaller_tangent_rule,
    partial_forward,
    partial_rule,
    partial_tangent,
    partial_tangent_rule,
    select_keywords,
    select_keywords_rule,
    trailing_keywords,
    trailing_keywords_rule,
)
from .records import (
    _python_init,
    _record_fields,
    construct_forward,
    dataclass_default,
    dataclass_init,
    dataclass_plan,
    init_into,
    init_into_rule,
    keyword_field_grads,
    keyword_field_grads_rule,
    namedtuple_replace,
    namedtuple_replace_rule,
    new_object,
    parent_init,
    post_init_of,
    record_field_grads,
    record_field_grads_rule,
    record_forward,
    super_rule,
)
from .rule_checks import (
    _is_user_rule,
    check_rule_cotangents,
    check_rule_entries,
    checked_rule,
    checked_rule_result,
)
from .scalars import (
    run_method,
    scalar_method,
    scalar_method_forward,
    scalar_plan,
    unbound_scalar_method_forward,
)
from .writeback import writeback_function, writeback_method, writeback_method_plan, writeback_plan
from .writes import (
    ALIASED_PARAMETER,
    _param_writes,
    check_method_writes,
    check_no_out,
    check_no_positional_out,
    check_param_aliases,
    check_repeated_item,
    check_writes,
    owned_view,
)

# the late links, each an import cycle if written as one: resolve's forward of a callee that is not a Python
# function (callees' forwards call back into call), then the transformation cache, whose modules (codegen,
# forward mode) read the names above when they load
_dispatch._resolve_other = _callees.resolve_other

from ..transform import cache as _transform_cache  # noqa: E402

_registry.nograd(_transform_cache.forward_function)
_dispatch._transformed_defaulted = _transform_cache.defaulted  # (resolve's check of a forward's defaults)
