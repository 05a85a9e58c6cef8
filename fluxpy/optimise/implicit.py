"""The implicit optimiser form, ``update(opt, ps, gs)``: state is kept on the rule, by parameter identity."""

from ..errors import FluxpyError
from ..implicit import Grads, Params
from ..tangents import accum
from .ties import tie_owners, to_owner
from .tree import _as_grad, _step

_STATE = "_implicit_state"


def update_implicit(opt, ps, gs):
    """Apply ``opt`` to every parameter in ``ps`` that has a gradient in ``gs``, in place."""
    if not isinstance(ps, Params) or not isinstance(gs, Grads):
        raise FluxpyError(
            "fx.update(opt, ps, gs) takes an optimiser, fx.params(...) and the Grads of a gradient; "
            "for a model use state = fx.setup(opt, model) and fx.update(state, model, grad)"
        )
    states = opt.__dict__.setdefault(_STATE, {})
    owners = tie_owners(list(ps))
    pending = {}  # id(param) -> [param, gradient]: a tied view's gradient goes to the array it views
    for p in ps:
        dx = gs[p] if p in gs else None
        if dx is None:
            continue
        owner = owners.get(id(p))
        if owner is not None:
            p, dx = owner, to_owner(p, owner, _as_grad(p, dx))
        entry = pending.get(id(p))
        pending[id(p)] = [p, dx] if entry is None else [p, accum(entry[1], dx)]
    for p, dx in pending.values():
        entry = states.get(id(p))
        if entry is None or entry[0] is not p:  # keep the array alive so its id is not reused
            entry = [p, opt.init(p)]
            states[id(p)] = entry
        entry[1], step = opt.apply(entry[1], p, _as_grad(p, dx))
        _step(p, step)
