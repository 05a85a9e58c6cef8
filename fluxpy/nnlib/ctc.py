"""Connectionist temporal classification (CTC) kernels, with first- and second-order rules.

After Graves et al. 2006 (https://www.cs.toronto.edu/~graves/icml_2006.pdf), in log space. A label sequence
``l`` of length ``U`` is extended with blanks to ``z = (b, l1, b, l2, ..., lU, b)`` (``S = 2U + 1`` states).
An alignment visits one state per frame: it starts in one of the first two, ends in one of the last two,
and moves 0, 1 or 2 states a frame, 2 only onto a label that differs from the one two states back (so a
repeated label needs a blank between its copies). Its weight is the product of its frames' probabilities,
and ``Z`` is the sum of all alignments' weights.

The kernels take log-probabilities ``lp`` of shape ``(batch, time, classes)``, or ``(time, classes)`` for
one sequence, and a :class:`CTCPlan` from :func:`ctc_plan` (the integer bookkeeping, never differentiated):

- ``ctc_nll(lp, plan=plan)``: ``-log Z`` per sequence, by the forward (alpha) recursion: a Python loop over
  frames, vectorised over the batch and the states (``ctc_forward``, ruled, returns the recursion too);
- its pullback is ``-dy * ctc_occupancy(lp, plan=plan)``, where ``gamma[t, c] = d log Z / d lp[t, c]`` is
  the posterior probability that frame ``t`` emits class ``c`` (the alpha-beta sums);
- ``ctc_occupancy``'s pullback is ``ctc_hvp(lp, g, plan=plan)``: the Hessian of ``log Z`` times ``g``, which
  is the posterior covariance of ``1{frame t emits c}`` with ``f = sum_t g[t, class at t]``, by one more
  forward-backward pass of conditional expectations of ``f``. The Hessian is symmetric, so the same
  function is ``ctc_occupancy``'s tangent in forward mode;
- ``ctc_hvp`` has no derivative: a third derivative raises a FluxpyError.

The recursions, with their ``-inf`` (log 0) entries, run inside the rules: differentiated by AD they would
give ``nan`` (``logaddexp(-inf, -inf)``'s derivative is ``0/0``). ``lp`` is treated as free log-potentials,
not necessarily normalised; ``losses.ctc_loss`` applies ``logsoftmax`` first, whose rule then turns
``-gamma`` into the familiar ``softmax - gamma`` with respect to the logits.

When no alignment fits (``U`` plus the number of adjacent repeats exceeds the frames) ``Z = 0``: the loss
is ``inf`` and its gradient ``nan``, as PyTorch's ``ctc_loss`` with ``zero_infinity=False``; with
``zero_infinity=True`` both are 0.

>>> import numpy as np
>>> lp = np.log(np.full((2, 3), 1 / 3))  # two frames, classes a, b and the blank
>>> plan = ctc_plan([0], lp.shape)  # the label "a": aa, a-, -a
>>> round(float(np.exp(-ctc_nll(lp, plan=plan)) * 9), 6)
3.0
"""

from typing import NamedTuple

import numpy as np

from ..backend import is_array, to_numpy, xp_of
from ..errors import FluxpyError
from ..rules.registry import adjoint, forward_rule, nograd

THIRD_ORDER = (
    "ctc_loss has derivatives up to the second order: a third derivative (a derivative of ctc_hvp, the "
    "Hessian-vector product of the CTC log-likelihood) is not implemented. Differentiate at most twice, "
    "or write the third derivative as a rule for fluxpy.nnlib.ctc.ctc_hvp"
)


class CTCPlan(NamedTuple):
    """The integer side of a CTC problem, from :func:`ctc_plan`."""

    states: np.ndarray  # (batch, S) int: the class of each extended-label state, blank-padded past 2U + 1
    skip: np.ndarray  # (batch, S) bool: the move s - 2 -> s is allowed
    final: np.ndarray  # (batch, S) bool: the states an alignment may end in
    lengths: np.ndarray  # (batch,) int: frames per sequence
    zero_infinity: bool


# ---------------------------------------------------------------------------------------------------------
# bookkeeping (plain Python, never differentiated)


@nograd
def ctc_plan(labels, shape, *, input_lengths=None, blank=-1, zero_infinity=False):
    """The :class:`CTCPlan` of ``labels`` for log-probabilities of shape ``shape``.

    ``shape`` is ``(time, classes)`` with ``labels`` one sequence of class indices, or ``(batch, time,
    classes)`` with ``labels`` a list of ``batch`` sequences (a 2-D integer array is read as its rows).
    ``input_lengths`` (one per sequence; default: every frame) limits each sequence to its first frames.
    """
    if len(shape) not in (2, 3):
        raise FluxpyError(
            f"ctc_loss expects scores of shape (time, classes) for one sequence or (batch, time, classes), "
            f"got shape {tuple(shape)}"
        )
    batch, time, classes = (1, *shape) if len(shape) == 2 else shape
    if time < 1 or classes < 1:
        raise FluxpyError(f"ctc_loss needs at least one frame and one class, got scores of shape {shape}")
    blank = _blank_index(blank, classes)
    sequences = [labels] if len(shape) == 2 else _sequences(labels, batch)
    sequences = [_label_array(s, classes, blank) for s in sequences]
    width = 2 * max(len(s) for s in sequences) + 1
    states = np.full((batch, width), blank, dtype=np.intp)
    final = np.zeros((batch, width), dtype=bool)
    for i, s in enumerate(sequences):
        states[i, 1 : 2 * len(s) : 2] = s
        final[i, 2 * len(s)] = final[i, max(2 * len(s) - 1, 0)] = True
    skip = np.zeros((batch, width), dtype=bool)
    skip[:, 2:] = (states[:, 2:] != blank) & (states[:, 2:] != states[:, :-2])
    lengths = _input_lengths(input_lengths, batch, time)
    return CTCPlan(states, skip, final, lengths, bool(zero_infinity))


def _blank_index(blank, classes):
    if not isinstance(blank, (int, np.integer)) or not -classes <= blank < classes:
        raise FluxpyError(f"ctc_loss: blank={blank!r} is not a class index for {classes} classes")
    return int(blank) % classes


def _sequences(labels, batch):
    """The ``batch`` label sequences of a batched call."""
    if is_array(labels) and labels.ndim == 2 or isinstance(labels, (list, tuple)):
        if len(labels) == batch:
            return list(labels)
    raise FluxpyError(
        f"ctc_loss with batched scores (batch = {batch}) expects a list of {batch} label sequences (one per "
        f"sequence, of any lengths), got {type(labels).__name__} of length {_length(labels)}. For padded "
        f"targets and lengths, pass [row[:n] for row, n in zip(targets, target_lengths)]"
    )


def _length(x):
    try:
        return len(x)
    except TypeError:
        return None


def _label_array(seq, classes, blank):
    """One label sequence as a 1-D int array on the host, checked."""
    a = to_numpy(seq)
    if a.size == 0:
        return np.zeros(0, dtype=np.intp)
    if a.ndim != 1 or a.dtype.kind not in "iu":
        raise FluxpyError(
            f"ctc_loss expects each label sequence as a 1-D sequence of integer class indices (not one-hot), "
            f"got an array of shape {a.shape} and dtype {a.dtype}"
        )
    if a.min() < 0 or a.max() >= classes or np.any(a == blank):
        raise FluxpyError(
            f"ctc_loss: labels {a.tolist()} must be class indices in [0, {classes}) other than the blank "
            f"({blank})"
        )
    return a.astype(np.intp)


def _input_lengths(input_lengths, batch, time):
    if input_lengths is None:
        return np.full(batch, time, dtype=np.intp)
    lengths = to_numpy(input_lengths).reshape(-1)
    bad = lengths.shape != (batch,) or lengths.dtype.kind not in "iu"
    if bad or np.any((lengths < 1) | (lengths > time)):
        raise FluxpyError(
            f"ctc_loss: input_lengths must hold {batch} integers in [1, {time}] (frames per sequence), "
            f"got {lengths.tolist()}"
        )
    return lengths.astype(np.intp)


# ---------------------------------------------------------------------------------------------------------
# log-space helpers (inside rules only: -inf is an ordinary value here)


def _lse3(xp, a, b, c):
    """``log(exp(a) + exp(b) + exp(c))``, elementwise, ``-inf`` where all three are."""
    m = xp.maximum(xp.maximum(a, b), c)
    m = xp.where(m > -xp.inf, m, 0)
    with np.errstate(divide="ignore"):
        return m + xp.log(xp.exp(a - m) + xp.exp(b - m) + xp.exp(c - m))


def _logsumexp(xp, a, axis):
    m = xp.max(a, axis=axis, keepdims=True)
    m = xp.where(m > -xp.inf, m, 0)
    with np.errstate(divide="ignore"):
        return xp.squeeze(m, axis) + xp.log(xp.sum(xp.exp(a - m), axis=axis))


def _back(xp, a, k, fill):
    """``a[..., s - k]`` along the states, ``fill`` where ``s < k``."""
    n = min(k, a.shape[-1])
    pad = xp.full(a.shape[:-1] + (n,), fill, dtype=a.dtype)
    return xp.concatenate([pad, a[..., : a.shape[-1] - n]], axis=-1)


def _ahead(xp, a, k, fill):
    """``a[..., s + k]`` along the states, ``fill`` where ``s + k`` is past the end."""
    n = min(k, a.shape[-1])
    pad = xp.full(a.shape[:-1] + (n,), fill, dtype=a.dtype)
    return xp.concatenate([a[..., n:], pad], axis=-1)


def _batched(lp):
    return lp[None] if lp.ndim == 2 else lp


def _emissions(xp, lp3, states):
    """``e[n, t, s] = lp[n, t, states[n, s]]``, shape ``(batch, time, S)``."""
    n, t, _ = lp3.shape
    index = xp.broadcast_to(states[:, None, :], (n, t, states.shape[1]))
    return xp.take_along_axis(lp3, index, axis=2)


def _predecessors(xp, prev, skip):
    """The log-weights of the moves into each state: from ``s``, ``s - 1`` and (where allowed) ``s - 2``."""
    return prev, _back(xp, prev, 1, -xp.inf), xp.where(skip, _back(xp, prev, 2, -xp.inf), -xp.inf)


def _alpha(xp, e, skip):
    """``alpha[t, n, s]``: the log-weight of the alignments of frames ``0..t`` that end in state ``s``."""
    n, time, width = e.shape
    alpha = xp.full((time, n, width), -xp.inf, dtype=e.dtype)
    alpha[0, :, :2] = e[:, 0, :2]
    for t in range(1, time):
        alpha[t] = e[:, t] + _lse3(xp, *_predecessors(xp, alpha[t - 1], skip))
    return alpha


def _log_z(xp, alpha, plan):
    """``log Z`` per sequence, from the final states at each sequence's last frame."""
    lengths, final = xp.asarray(plan.lengths), xp.asarray(plan.final)
    last = alpha[lengths - 1, xp.arange(alpha.shape[1])]
    return _logsumexp(xp, xp.where(final, last, -xp.inf), axis=-1)


def _successors(xp, nxt, skip_ahead):
    """The log-weights of the moves out of each state: to ``s``, ``s + 1`` and (where allowed) ``s + 2``."""
    return nxt, _ahead(xp, nxt, 1, -xp.inf), xp.where(skip_ahead, _ahead(xp, nxt, 2, -xp.inf), -xp.inf)


def _beta(xp, e, plan):
    """``beta[t, n, s]``: the log-weight of the alignments of frames ``t+1..`` from state ``s`` at ``t``."""
    n, time, width = e.shape
    lengths = xp.asarray(plan.lengths)[:, None]
    skip_ahead = _ahead(xp, xp.asarray(plan.skip), 2, False)
    start = xp.where(xp.asarray(plan.final), 0.0, -xp.inf).astype(e.dtype)
    beta = xp.full((time, n, width), -xp.inf, dtype=e.dtype)
    for t in range(time - 1, -1, -1):
        inner = beta[t]
        if t < time - 1:
            inner = _lse3(xp, *_successors(xp, e[:, t + 1] + beta[t + 1], skip_ahead))
        beta[t] = xp.where(t == lengths - 1, start, xp.where(t < lengths - 1, inner, -xp.inf))
    return beta


def _posterior(xp, alpha, beta, log_z, zero_infinity):
    """``P[t, n, s]``: the probability that an alignment is in state ``s`` at frame ``t``; nan (0/0) for a
    sequence no alignment fits, or 0 with ``zero_infinity``."""
    with np.errstate(invalid="ignore"):
        p = xp.exp(alpha + beta - log_z[None, :, None])
    if zero_infinity:
        p = xp.where(xp.isfinite(log_z)[None, :, None], p, 0)
    return p


def _by_class(xp, v, states, classes):
    """``out[n, t, c] = sum of v[t, n, s] over the states s of class c``."""
    onehot = (states[:, :, None] == xp.arange(classes)).astype(v.dtype)
    return xp.matmul(xp.transpose(v, (1, 0, 2)), onehot)


def _unbatched(out, lp):
    return out[0] if lp.ndim == 2 else out


# ---------------------------------------------------------------------------------------------------------
# the kernels


def ctc_nll(lp, *, plan):
    """``-log Z`` for each sequence (a number for unbatched ``lp``): the CTC negative log-likelihood."""
    return ctc_forward(lp, plan=plan)[0]


def ctc_forward(lp, *, plan):
    """``(ctc_nll(lp), alpha)``: the loss and its forward recursion, which ``ctc_occupancy`` reuses in the
    pullback. ``alpha`` carries no gradient: it is a cache, and the rules differentiate ``lp`` directly."""
    xp = xp_of(lp)
    lp3 = _batched(lp)
    alpha = _alpha(xp, _emissions(xp, lp3, xp.asarray(plan.states)), xp.asarray(plan.skip))
    nll = -_log_z(xp, alpha, plan)
    if plan.zero_infinity:
        nll = xp.where(xp.isinf(nll), 0, nll)
    return _unbatched(nll, lp), alpha


def ctc_occupancy(lp, *, plan, alpha=None):
    """``gamma[..., t, c]``: the posterior probability that frame ``t`` emits class ``c``, ``d log Z / d lp``.
    ``alpha`` is the forward recursion when the caller has it (``ctc_forward``'s rule)."""
    xp = xp_of(lp)
    lp3 = _batched(lp)
    states = xp.asarray(plan.states)
    e = _emissions(xp, lp3, states)
    alpha = _alpha(xp, e, xp.asarray(plan.skip)) if alpha is None else alpha
    p = _posterior(xp, alpha, _beta(xp, e, plan), _log_z(xp, alpha, plan), plan.zero_infinity)
    return _unbatched(_by_class(xp, p, states, lp.shape[-1]), lp)


def ctc_hvp(lp, g, *, plan):
    """The Hessian of ``log Z`` with respect to ``lp``, times ``g`` (same shape as ``lp``): the posterior
    covariance of the frame-class indicators with ``f = sum over frames of g[t, class at t]``."""
    xp = xp_of(lp, g)
    lp3, g3 = _batched(lp), _batched(xp.broadcast_to(g, lp.shape))
    states, skip = xp.asarray(plan.states), xp.asarray(plan.skip)
    e = _emissions(xp, lp3, states)
    alpha, beta = _alpha(xp, e, skip), _beta(xp, e, plan)
    p = _posterior(xp, alpha, beta, _log_z(xp, alpha, plan), plan.zero_infinity)
    gs = _emissions(xp, g3, states)
    total = _expected_before(xp, alpha, gs, skip) + _expected_after(xp, e, beta, gs, plan)
    mean_f = xp.sum(p[0] * total[0], axis=-1)  # E[f], from frame 0 (every sequence has it)
    return _unbatched(_by_class(xp, p * (total - mean_f[None, :, None]), states, lp.shape[-1]), lp)


def _expected_before(xp, alpha, gs, skip):
    """``A[t, n, s] = E[sum_{t' <= t} g at t' | state s at t]`` under the forward (alpha) weights."""
    a = xp.zeros(alpha.shape, dtype=xp.result_type(alpha, gs))
    a[0] = gs[:, 0]
    for t in range(1, alpha.shape[0]):
        moves = _predecessors(xp, alpha[t - 1], skip)
        into = _lse3(xp, *moves)
        into = xp.where(into > -xp.inf, into, 0)
        carried = (a[t - 1], _back(xp, a[t - 1], 1, 0), _back(xp, a[t - 1], 2, 0))
        a[t] = gs[:, t] + sum(xp.exp(m - into) * c for m, c in zip(moves, carried, strict=True))
    return a


def _expected_after(xp, e, beta, gs, plan):
    """``B[t, n, s] = E[sum_{t' > t} g at t' | state s at t]`` under the backward (beta) weights."""
    time = beta.shape[0]
    lengths = xp.asarray(plan.lengths)[:, None]
    skip_ahead = _ahead(xp, xp.asarray(plan.skip), 2, False)
    b = xp.zeros(beta.shape, dtype=xp.result_type(beta, gs))
    for t in range(time - 2, -1, -1):
        moves = _successors(xp, e[:, t + 1] + beta[t + 1], skip_ahead)
        here = xp.where(beta[t] > -xp.inf, beta[t], 0)
        h = gs[:, t + 1] + b[t + 1]
        carried = (h, _ahead(xp, h, 1, 0), _ahead(xp, h, 2, 0))
        inner = sum(xp.exp(m - here) * c for m, c in zip(moves, carried, strict=True))
        b[t] = xp.where(t < lengths - 1, inner, 0)
    return b


# ---------------------------------------------------------------------------------------------------------
# rules


@adjoint(ctc_forward)
def ctc_forward_rule(lp, *, plan):
    y = ctc_forward(lp, plan=plan)

    def ctc_forward_pullback(dy):
        dnll = dy[0]
        if dnll is None:
            return (None,)
        gamma = ctc_occupancy(lp, plan=plan, alpha=y[1])
        if lp.ndim == 3:
            return (-(dnll[:, None, None] * gamma),)
        return (-(dnll * gamma),)

    return y, ctc_forward_pullback


@adjoint(ctc_occupancy)
def ctc_occupancy_rule(lp, *, plan, alpha=None):
    def ctc_occupancy_pullback(dgamma):
        return (ctc_hvp(lp, dgamma, plan=plan),)

    return ctc_occupancy(lp, plan=plan, alpha=alpha), ctc_occupancy_pullback


@adjoint(ctc_hvp)
def ctc_hvp_rule(lp, g, *, plan):
    def ctc_hvp_pullback(dh):
        if dh is None:
            return None, None
        raise FluxpyError(THIRD_ORDER)

    return ctc_hvp(lp, g, plan=plan), ctc_hvp_pullback


@forward_rule(ctc_forward)
def ctc_forward_jvp(args, targs, kwargs, tkwargs):
    lp, t = args[0], targs[0]
    y = ctc_forward(lp, **kwargs)
    if t is None:
        return y, None
    gamma = ctc_occupancy(lp, plan=kwargs["plan"], alpha=y[1])
    return y, (-xp_of(lp).sum(gamma * t, axis=(-2, -1)), None)


@forward_rule(ctc_occupancy)
def ctc_occupancy_jvp(args, targs, kwargs, tkwargs):
    lp, t = args[0], targs[0]
    y = ctc_occupancy(lp, **kwargs)
    return y, None if t is None else ctc_hvp(lp, t, plan=kwargs["plan"])


@forward_rule(ctc_hvp)
def ctc_hvp_jvp(args, targs, kwargs, tkwargs):
    if any(t is not None for t in targs):
        raise FluxpyError(THIRD_ORDER)
    return ctc_hvp(*args, **kwargs), None


ctc_forward_jvp.takes_keywords = ctc_occupancy_jvp.takes_keywords = ctc_hvp_jvp.takes_keywords = True
