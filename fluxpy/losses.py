"""Loss functions, after Flux's ``Flux.Losses``: plain NumPy code that fluxpy differentiates like any other.

Every loss is called as ``loss(yhat, y, *, agg=np.mean, ...)``: ``yhat`` is the model's output, ``y`` the
target, and ``agg`` reduces the elementwise (or per-sample) losses to the returned value: ``np.mean`` by
default, ``np.sum``, or ``lambda x: x`` for no aggregation. Arrays are batch first with classes on the
**last** axis (``axis=-1``), where Flux has them on its first dimension.

>>> import numpy as np
>>> from fluxpy import losses
>>> y, yhat = np.array([1.0, 1.0, 0.0, 0.0]), np.array([0.9, 0.1, 0.1, 0.9])
>>> round(float(losses.mse(yhat, y)), 6)
0.41
>>> losses.mae(yhat, y, agg=lambda x: x)
array([0.1, 0.9, 0.1, 0.9])
"""

import numpy as np

from .errors import FluxpyError
from .layers.activations import logsoftmax
from .nnlib.ctc import ctc_nll, ctc_plan
from .rules.registry import nograd

__all__ = [
    "mae",
    "mse",
    "msle",
    "huber_loss",
    "label_smoothing",
    "crossentropy",
    "logitcrossentropy",
    "binarycrossentropy",
    "logitbinarycrossentropy",
    "kldivergence",
    "poisson_loss",
    "hinge_loss",
    "squared_hinge_loss",
    "dice_coeff_loss",
    "tversky_loss",
    "binary_focal_loss",
    "focal_loss",
    "siamese_contrastive_loss",
    "ctc_loss",
    "epseltype",
]


def epseltype(x):
    """The machine epsilon of ``x``'s float type (``float64`` for integers and Python numbers), as Flux's.

    >>> epseltype(np.zeros(2, dtype=np.float32)) == float(np.finfo(np.float32).eps)
    True
    """
    dtype = getattr(x, "dtype", None)
    if dtype is None or dtype.kind != "f":
        return float(np.finfo(np.float64).eps)
    return float(np.finfo(dtype).eps)


def _xlogy(x, y):
    """``x * log(y)``, and 0 where ``x == 0`` (even if ``y == 0``), as Flux's ``xlogy``.

    ``log`` is never evaluated at ``y <= 0`` where ``x == 0``, so there is no warning and no NaN; the
    derivative with respect to ``x`` stays ``log(y)`` wherever ``y > 0``.
    """
    return x * np.log(np.where((x == 0) & (y <= 0), 1.0, y))


def _xlogx(x):
    """``x * log(x)``, and 0 at ``x == 0``."""
    return _xlogy(x, x)


def _logsigmoid(x):
    """``log(sigmoid(x)) = -log(1 + exp(-x))``, without overflow."""
    return -np.logaddexp(0.0, -x)


@nograd
def _check_sizes(yhat, y, loss):
    """A FluxpyError unless ``yhat`` and ``y`` have the same shape (a number or 0-d array passes: a constant
    target), as Flux's ``_check_sizes``: NumPy would broadcast a (N, 1) output against (N,) targets to
    (N, N), comparing every prediction with every target."""
    a, b = np.shape(yhat), np.shape(y)
    if a != b and a and b:
        raise FluxpyError(
            f"losses.{loss} expects yhat and y of the same shape, but yhat has shape {a} and y {b}: "
            f"broadcasting them would compare every prediction with every target. Reshape one of them "
            f"(e.g. yhat[:, 0] for a model with one output, or y[:, None])"
        )


def mae(yhat, y, *, agg=np.mean):
    """Mean absolute error, ``agg(abs(yhat - y))``.

    >>> float(mae(np.array([0.9, 0.1, 0.1, 0.9]), np.array([1.0, 1.0, 0.0, 0.0])))
    0.5
    """
    _check_sizes(yhat, y, "mae")
    return agg(np.abs(yhat - y))


def mse(yhat, y, *, agg=np.mean):
    """Mean squared error, ``agg((yhat - y) ** 2)``.

    >>> float(mse(np.array([1.0, 3.0]), np.array([0.0, 1.0])))
    2.5
    """
    _check_sizes(yhat, y, "mse")
    return agg((yhat - y) ** 2)


def msle(yhat, y, *, agg=np.mean, eps=None):
    """Mean squared logarithmic error, ``agg(log((yhat + eps) / (y + eps)) ** 2)``; for non-negative data.

    ``eps`` defaults to :func:`epseltype` of ``yhat``.

    >>> round(float(msle(np.array([345.0, 332.0, 789.0]), np.array([123.0, 456.0, 789.0]))), 8)
    0.38813986
    """
    _check_sizes(yhat, y, "msle")
    if eps is None:
        eps = epseltype(yhat)
    return agg(np.log((yhat + eps) / (y + eps)) ** 2)


def huber_loss(yhat, y, *, agg=np.mean, delta=1):
    """Huber loss: ``0.5 * |e|**2`` where ``|e| < delta``, ``delta * (|e| - 0.5 * delta)`` elsewhere.

    >>> round(float(huber_loss(np.array([0.9, 0.1, 0.1, 0.9]), np.array([1.0, 1.0, 0.0, 0.0]))), 6)
    0.205
    """
    _check_sizes(yhat, y, "huber_loss")
    abs_error = np.abs(yhat - y)
    small = abs_error < delta
    quadratic = 0.5 * abs_error**2
    linear = delta * (abs_error - 0.5 * delta)
    return agg(np.where(small, quadratic, linear))


def label_smoothing(y, alpha, *, axis=-1, binary=False):
    """Smooth one-hot (or binary) labels ``y`` towards uniform by ``0 < alpha < 1``.

    With classes along ``axis`` (the last by default): ``y * (1 - alpha) + alpha / n_classes``. With
    ``binary=True`` (Flux's ``dims=0``, for 0/1 labels used with the binary losses):
    ``y * (1 - alpha) + alpha / 2``.

    >>> label_smoothing(np.array([[0.0, 1.0], [1.0, 0.0]]), 0.1)
    array([[0.05, 0.95],
           [0.95, 0.05]])
    >>> label_smoothing(np.array([0.0, 1.0]), 0.2, binary=True)
    array([0.1, 0.9])
    """
    if not 0 < alpha < 1:
        raise FluxpyError(f"label_smoothing needs 0 < alpha < 1, got alpha = {alpha!r}")
    if binary:
        return y * (1 - alpha) + alpha / 2
    return y * (1 - alpha) + alpha / np.shape(y)[axis]


def crossentropy(yhat, y, *, axis=-1, agg=np.mean, eps=None):
    """Cross entropy of probabilities ``yhat`` (e.g. a softmax output) against targets ``y``.

    ``agg(-sum(y * log(yhat + eps), axis=axis))``, with terms where ``y == 0`` counted as 0. ``eps``
    defaults to :func:`epseltype` of ``yhat``; prefer :func:`logitcrossentropy` on logits, which is more
    stable.

    >>> yhat = np.array([[0.1, 0.9], [0.9, 0.1], [0.9, 0.1], [0.1, 0.9]])
    >>> y = np.array([[0.0, 1.0], [0.0, 1.0], [1.0, 0.0], [1.0, 0.0]])
    >>> round(float(crossentropy(yhat, y)), 8)
    1.2039728
    """
    _check_sizes(yhat, y, "crossentropy")
    if eps is None:
        eps = epseltype(yhat)
    return agg(-np.sum(_xlogy(y, yhat + eps), axis=axis))


def logitcrossentropy(yhat, y, *, axis=-1, agg=np.mean):
    """``crossentropy(softmax(yhat), y)`` computed stably from logits: ``agg(-sum(y * logsoftmax(yhat)))``.

    >>> v = np.log(0.1 / 0.9)
    >>> logits = np.array([[v, 0.0], [0.0, v], [0.0, v], [v, 0.0]])
    >>> y = np.array([[0.0, 1.0], [0.0, 1.0], [1.0, 0.0], [1.0, 0.0]])
    >>> round(float(logitcrossentropy(logits, y)), 8)
    1.2039728
    """
    _check_sizes(yhat, y, "logitcrossentropy")
    return agg(-np.sum(y * logsoftmax(yhat, axis), axis=axis))


def binarycrossentropy(yhat, y, *, agg=np.mean, eps=None):
    """Binary cross entropy of probabilities ``yhat`` against 0/1 (or smoothed) targets ``y``, elementwise.

    ``agg(-y * log(yhat + eps) - (1 - y) * log(1 - yhat + eps))``; prefer
    :func:`logitbinarycrossentropy` on logits.

    >>> round(float(binarycrossentropy(np.array([0.1, 0.2, 0.9]), 1.0)), 6)  # -mean(log(yhat))
    1.339128
    """
    _check_sizes(yhat, y, "binarycrossentropy")
    if eps is None:
        eps = epseltype(yhat)
    return agg(-_xlogy(y, yhat + eps) - _xlogy(1 - y, 1 - yhat + eps))


def logitbinarycrossentropy(yhat, y, *, agg=np.mean):
    """``binarycrossentropy(sigmoid(yhat), y)`` computed stably from logits: ``(1 - y) * yhat - logσ(yhat)``.

    >>> round(float(logitbinarycrossentropy(np.array([0.0]), np.array([1.0]))), 6)
    0.693147
    """
    _check_sizes(yhat, y, "logitbinarycrossentropy")
    return agg((1 - y) * yhat - _logsigmoid(yhat))


def kldivergence(yhat, y, *, axis=-1, agg=np.mean, eps=None):
    """Kullback-Leibler divergence of the predicted distribution ``yhat`` from the true ``y``.

    ``agg(sum(y * log(y), axis)) + crossentropy(yhat, y)``, i.e. cross entropy minus the entropy of ``y``.

    >>> p = np.array([0.1, 0.0, 0.9])
    >>> abs(float(kldivergence(p, p))) < 1e-12
    True
    """
    _check_sizes(yhat, y, "kldivergence")
    entropy = agg(np.sum(_xlogx(y), axis=axis))
    return entropy + crossentropy(yhat, y, axis=axis, agg=agg, eps=eps)


def poisson_loss(yhat, y, *, agg=np.mean):
    """Poisson loss, ``agg(yhat - y * log(yhat))``, for count data.

    >>> round(float(poisson_loss(np.array([0.4, 0.5, 0.6]), np.array([0.1, 0.2, 0.3]))), 8)
    0.6278354
    """
    _check_sizes(yhat, y, "poisson_loss")
    return agg(yhat - _xlogy(y, yhat))


def hinge_loss(yhat, y, *, agg=np.mean):
    """Hinge loss for targets ``y`` in ``{-1, 1}``: ``agg(max(0, 1 - yhat * y))``.

    >>> float(hinge_loss(np.array([1.0, 2.0]), np.array([0.5, 1.0])))
    0.25
    """
    _check_sizes(yhat, y, "hinge_loss")
    return agg(np.maximum(0.0, 1 - yhat * y))


def squared_hinge_loss(yhat, y, *, agg=np.mean):
    """Squared hinge loss, ``agg(max(0, 1 - yhat * y) ** 2)``.

    >>> float(squared_hinge_loss(np.array([1.0, 2.0]), np.array([0.5, 1.0])))
    0.125
    """
    _check_sizes(yhat, y, "squared_hinge_loss")
    return agg(np.maximum(0.0, 1 - yhat * y) ** 2)


def dice_coeff_loss(yhat, y, *, smooth=1):
    """Dice coefficient loss for segmentation, summed over all entries.

    ``1 - (2 sum(y yhat) + smooth) / (sum(y²) + sum(yhat²) + smooth)``.

    >>> round(float(dice_coeff_loss(np.array([0.0, 1.4, 0.5, 1.2]), np.array([1.0, 0.5, 0.3, 2.4]))), 6)
    0.28
    """
    _check_sizes(yhat, y, "dice_coeff_loss")
    return 1 - (2 * np.sum(y * yhat) + smooth) / (np.sum(y**2) + np.sum(yhat**2) + smooth)


def tversky_loss(yhat, y, *, beta=0.7):
    """Tversky loss (a generalised Dice loss; ``beta`` weighs false positives, ``1 - beta`` false negatives).

    ``1 - (sum(y yhat) + 1) / (sum(y yhat + beta (1 - y) yhat + (1 - beta) y (1 - yhat)) + 1)``.

    >>> round(float(tversky_loss(np.array([0.0, 1.4, 0.5, 1.2]), np.array([1.0, 0.5, 0.3, 2.4]))), 8)
    -0.06772009
    """
    _check_sizes(yhat, y, "tversky_loss")
    num = np.sum(y * yhat) + 1
    den = np.sum(y * yhat + beta * (1 - y) * yhat + (1 - beta) * y * (1 - yhat)) + 1
    return 1 - num / den


def binary_focal_loss(yhat, y, *, agg=np.mean, gamma=2, eps=None):
    """Binary focal loss (Lin et al. 2017) of probabilities ``yhat`` against 0/1 targets ``y``.

    With ``p_t = y (yhat + eps) + (1 - y)(1 - yhat - eps)``: ``agg(-(1 - p_t) ** gamma * log(p_t))``;
    ``gamma=0`` gives :func:`binarycrossentropy`.

    >>> yhat = np.array([[0.6, 0.4], [0.3, 0.7]])
    >>> y = np.array([[1.0, 0.0], [0.0, 1.0]])
    >>> round(float(binary_focal_loss(yhat, y)), 8)
    0.05691642
    """
    _check_sizes(yhat, y, "binary_focal_loss")
    if eps is None:
        eps = epseltype(yhat)
    yhat = yhat + eps
    p_t = y * yhat + (1 - y) * (1 - yhat)
    return agg((1 - p_t) ** gamma * -np.log(p_t))


def focal_loss(yhat, y, *, axis=-1, agg=np.mean, gamma=2, eps=None):
    """Multi-class focal loss of probabilities ``yhat`` against one-hot ``y`` (classes along ``axis``).

    ``agg(sum(-y (1 - yhat) ** gamma * log(yhat + eps), axis))``; ``gamma=0`` gives :func:`crossentropy`.

    >>> yhat = np.array([[0.4, 0.5, 0.1], [0.2, 0.5, 0.3]])
    >>> y = np.array([[1.0, 0.0, 0.0], [0.0, 0.0, 1.0]])
    >>> round(float(focal_loss(yhat, y)), 8)
    0.45990567
    """
    _check_sizes(yhat, y, "focal_loss")
    if eps is None:
        eps = epseltype(yhat)
    yhat = yhat + eps
    # -(y * ...), not -y * ...: NumPy has no negative of a bool array (one-hot targets, fx.onehot's)
    return agg(np.sum(-(y * (1 - yhat) ** gamma * np.log(yhat)), axis=axis))


def siamese_contrastive_loss(yhat, y, *, agg=np.mean, margin=1):
    """Contrastive loss for siamese networks: ``agg((1 - y) * yhat**2 + y * max(0, margin - yhat)**2)``.

    ``yhat`` is a distance between the two inputs, ``y`` is 1 for a dissimilar pair, 0 for a similar one.

    >>> round(float(siamese_contrastive_loss(np.array([0.6, 0.4, 0.1, 0.2, 0.7]),
    ...                                      np.array([1.0, 0.0, 0.0, 1.0, 1.0]))), 6)
    0.212
    """
    _check_sizes(yhat, y, "siamese_contrastive_loss")
    if margin < 0:
        raise FluxpyError(f"siamese_contrastive_loss needs a margin >= 0, got margin = {margin!r}")
    return agg((1 - y) * yhat**2 + y * np.maximum(0.0, margin - yhat) ** 2)


def ctc_loss(yhat, y, *, agg=np.mean, input_lengths=None, blank=-1, zero_infinity=False):
    """Connectionist temporal classification loss (Graves et al. 2006): ``-log p(y | yhat)``, summed over
    every alignment of the label sequence ``y`` to the frames of ``yhat``.

    ``yhat`` holds unnormalised scores (logits; ``logsoftmax`` is applied here), ``(time, classes)`` for one
    sequence as Flux's ``ctc_loss(ŷ, y)`` (transposed), with ``y`` a sequence of integer class indices (not
    one-hot); or ``(batch, time, classes)`` with ``y`` a list of ``batch`` such sequences, of any lengths.
    ``agg`` reduces the per-sequence losses (one sequence: its loss as it is). The blank is the last class
    (Flux's); ``blank`` picks another (PyTorch's default is ``blank=0``). ``input_lengths`` (PyTorch's
    ``input_lengths``) gives each sequence's number of frames; frames after it are ignored. A repeated label
    needs a blank between its copies, so ``y`` fits ``time`` frames only if ``len(y) + repeats <= time``;
    otherwise the loss is ``inf`` and its gradient ``nan``, as PyTorch's; ``zero_infinity=True`` makes both
    0. The empty sequence is all blanks.

    Unlike PyTorch's ``reduction="mean"``, ``np.mean`` does not divide each loss by its label length: pass
    ``agg=lambda l: np.mean(l / lengths)`` for that. The gradient (``softmax - posterior class occupancy``)
    and its derivative (gradient of gradient) come from rules (``fluxpy.nnlib.ctc``); third derivatives raise
    a FluxpyError.

    >>> yhat = np.zeros((3, 3))  # 3 frames, uniform over the classes a, b and the blank
    >>> round(float(np.exp(-ctc_loss(yhat, [0, 1])) * 27), 9)  # 5 of the 27 paths: ab-, a-b, -ab, aab, abb
    5.0
    >>> batch = np.zeros((2, 3, 3))
    >>> ctc_loss(batch, [[0, 1], [0, 0, 0]], agg=lambda l: l)  # "aaa" needs 5 frames
    array([1.68639895,        inf])
    """
    plan = ctc_plan(y, np.shape(yhat), input_lengths=input_lengths, blank=blank, zero_infinity=zero_infinity)
    return agg(ctc_nll(logsoftmax(yhat), plan=plan))
