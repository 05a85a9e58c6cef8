"""Stage 4: normalization passes, in order. Each states its postcondition with a before/after example.

m. ``matches``  ``match`` statements become ``if``/``elif``/``else`` (run by the fence, before its analyses)
w. ``named_exprs``  ``:=`` becomes an assignment before its statement, Python's order kept (run by the
                fence, before its analyses; again after ``comprehensions`` for those that were inside one)
p. ``parameters``  an array parameter that a method or an ``out=`` may change in place is copied at entry (the
                caller's arrays never change)
0. ``conditions``  a list method called in an ``if``/``while`` test becomes a statement of its own
1. ``loops``    ``break``/``continue``/``return`` inside loops and loop ``else`` become flags
2. ``returns``  early returns in ``if`` branches become one exit (a result variable)
3. ``comprehensions``  comprehensions and generator expressions become loops building a list (``any``/``all``
                of one: a loop stopping at the first true/false item); one in a lambda's body stays there,
                one in a part of an expression evaluated only sometimes lands in its branch (blocks.py);
                then ``named_exprs`` moves out the ``:=`` of those that held one
4. ``lambdas``  lambdas inside the body become nested ``def`` statements (normalized when called), defined
                in the branch that evaluates them where their defaults are computed
5. ``anf``      one call per statement (its methods in mixins: anf_statements, anf_expressions, anf_calls,
                anf_argument_writes, anf_updates for ``op=`` and list methods, anf_loops, anf_writeback):
                operators, attribute and item reads, container literals and calls
                become ``__fx_call``/``__fx_call_method`` assignments; ``and``/``or``/``x if c else y``,
                augmented and tuple assignments and ``for`` loops over iterables are desugared

The adjoint stage relies on the postcondition of ``anf`` (see its docstring) and never sees raw syntax.
"""

from .anf import normalize_anf
from .comprehensions import desugar_comprehensions
from .conditions import hoist_condition_calls
from .lambdas import hoist_lambdas
from .loops import lower_loop_exits
from .matches import INACTIVE_HELPERS
from .named_exprs import hoist_named_exprs
from .parameters import copy_written_parameters
from .returns import lift_returns


def normalize(fdef, ctx):
    """Run every pass over the gast FunctionDef ``fdef`` and return the normalized FunctionDef."""
    fdef = copy_written_parameters(fdef, ctx)
    fdef = hoist_condition_calls(fdef, ctx)
    fdef = lower_loop_exits(fdef, ctx)
    fdef = lift_returns(fdef, ctx)
    fdef = desugar_comprehensions(fdef, ctx)
    fdef = hoist_named_exprs(fdef, ctx.namer)  # those that were in comprehensions
    fdef = hoist_lambdas(fdef, ctx)
    ctx.inactive_builtins |= INACTIVE_HELPERS  # (helpers the fence's desugaring may have written)
    fdef = normalize_anf(fdef, ctx)
    return fdef
