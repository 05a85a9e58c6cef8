"""``fx.train``: one pass over the data, one optimiser step per batch (Flux's ``train!``).

Explicit form, with the state of ``fx.setup(opt, model)``: ``loss(model, *batch)``.
Implicit form, with ``fx.params(...)`` and the optimiser itself: ``loss(*batch)``.

>>> import numpy as np, fluxpy as fx
>>> W = np.zeros(1)
>>> data = [(np.array([1.0]), np.array([2.0]))] * 40
>>> losses = train(lambda x, y: np.sum((W * x - y) ** 2), fx.params(W), data, fx.optimise.Descent(0.1))
>>> losses[0] > losses[-1], round(float(W[0]), 3)
(True, 2.0)
"""

import math
import sys

from .errors import FluxpyError
from .implicit import Params

AUTO_PROGRESS_BATCHES = 50  # more batches than this, on a terminal, shows a progress bar by itself

NON_FINITE = (
    "the loss is {value} on batch {index} (counting from 0), so training stopped before updating on it: "
    "the weights (and running statistics) are as they were {previous}"
)


def train(loss, model, data, opt, *, progress=None):
    """Take one optimiser step per batch of ``data``; return the list of losses (Python floats).

    ``train(loss, model, data, opt_state)``: for each batch ``b``, the gradient of ``loss(model, *b)`` with
    respect to ``model`` is taken and ``fx.update(opt_state, model, grad)`` changes the model's arrays in
    place (``opt_state`` from ``fx.setup(opt, model)``). ``train(loss, ps, data, opt)`` with
    ``ps = fx.params(...)``: the gradient of ``loss(*b)`` with respect to ``ps``, then
    ``fx.update(opt, ps, gs)``. A batch that is not a tuple is passed as one argument. When ``loss``
    returns a tuple, its first element is the loss (the rest is auxiliary output).

    A loss that is NaN or infinite raises a ``FluxpyError`` naming the batch before that step is applied;
    the running statistics of normalisation layers, which that batch's forward pass updated, are put back.
    ``progress=True`` shows a tqdm progress bar, ``False`` never does; by default it is shown when there
    are more than 50 batches and stderr is a terminal.
    """
    from .interface import withgradient
    from .layers.normalise import restore_stats, stats_journal
    from .optimise import update

    implicit = isinstance(model, Params)
    if not implicit and hasattr(opt, "apply") and hasattr(opt, "init"):
        raise FluxpyError(
            f"train(loss, model, data, opt_state) takes the optimiser state of fx.setup(opt, model), not the "
            f"rule {type(opt).__name__} itself: use `opt_state = fx.setup(opt, model)` and pass opt_state "
            "(or pass fx.params(model) for the implicit form, which takes the rule)"
        )
    if implicit and not (hasattr(opt, "apply") and hasattr(opt, "init")):
        raise FluxpyError(
            f"train(loss, fx.params(...), data, opt) takes a rule (fx.optimise.Adam(...)) in the implicit "
            f"form, not {type(opt).__name__}: pass the rule itself (an fx.setup state goes with the explicit "
            "form, train(loss, model, data, opt_state))"
        )
    bar = _progress_bar(data, progress)
    losses = []
    try:
        for index, batch in enumerate(data):
            args = batch if isinstance(batch, tuple) else (batch,)
            # the running statistics (BatchNorm's) the forward pass updates, put back if the step is refused
            with stats_journal() as journal:
                val, grad = _gradient(withgradient, loss, model, args, implicit)
            value = _loss_value(val, index)
            if not math.isfinite(value):
                restore_stats(journal)
                raise FluxpyError(
                    NON_FINITE.format(
                        value=value,
                        index=index,
                        previous=f"after batch {index - 1}" if index else "before this call to train",
                    )
                )
            if implicit:
                update(opt, model, grad)
            elif grad is not None:
                result = update(opt, model, grad)
                if isinstance(result, tuple) and len(result) == 2:
                    opt = result[0]
            losses.append(value)
            if bar is not None:
                bar.update(1)
                bar.set_postfix(loss=f"{value:.4g}", refresh=False)
    finally:
        if bar is not None:
            bar.close()
    return losses


def _gradient(withgradient, loss, model, args, implicit):
    if implicit:
        return withgradient(lambda: loss(*args), model)
    val, (grad,) = withgradient(lambda m: loss(m, *args), model)
    return val, grad


def _loss_value(val, index):
    if type(val) is tuple:
        val = val[0]
    try:
        return float(val)
    except (TypeError, ValueError) as err:
        raise FluxpyError(
            f"the loss must return a real scalar, but on batch {index} it returned {type(val).__name__}"
        ) from err


def _progress_bar(data, progress):
    try:
        total = len(data)
    except TypeError:
        total = None
    if progress is None:
        try:
            terminal = sys.stderr.isatty()
        except (AttributeError, ValueError):
            terminal = False
        progress = terminal and total is not None and total > AUTO_PROGRESS_BATCHES
    if not progress:
        return None
    from tqdm import tqdm

    return tqdm(total=total, desc="train", file=sys.stderr, leave=True)


__all__ = ["train"]
