"""Convolution and pooling kernels (NNlib's ``conv``, ``∇conv_data``, ``∇conv_filter``, pooling).

Arrays are channels-first: ``(batch, channels, *spatial)`` (NCHW for images); an unbatched
``(channels, *spatial)`` input is accepted too. The number of spatial dimensions comes from the weight
(``w.ndim - 2``) or from the pooling window. Every kernel is vectorised (im2col by one strided copy per
kernel offset and a batched matrix product, a chunk of the batch at a time; no loop over pixels) and works
with the array's own module (NumPy or CuPy). Each public function has its own adjoint rule, and each
pullback is written with these same ruled functions, so gradients of gradients go through the compiler:

- ``conv(x, w)``: input gradient ``conv_transpose(dy, w)``, weight gradient ``conv_filter_grad(x, dy)``;
- ``conv_transpose`` and ``conv_filter_grad`` are bilinear and their pullbacks use the other two;
- ``conv_bias_act(x, w, b, act="relu")`` (the ``Conv`` layer's call) is ``act(conv(x, w) + b)`` with one
  rule: its pullback forms ``dy * relu'(y)`` once and hands it to the two above and to a sum for ``db``;
- ``maxpool``'s pullback is ``maxpool_scatter`` (its adjoint ``maxpool_gather``), ``meanpool``'s is
  ``meanpool_transpose`` and ``upsample_nearest``'s is ``upsample_nearest_transpose``.

``flip=True`` is a true convolution (the kernel flipped, as Flux's ``Conv``); ``flip=False`` is
cross-correlation (PyTorch's ``conv2d``, Flux's ``CrossCor``). ``pad`` is an int, one int per spatial
dimension, or ``(lo1, hi1, lo2, hi2, ...)``.

>>> import numpy as np
>>> x = np.arange(16.0).reshape(1, 1, 4, 4)
>>> conv(x, np.ones((1, 1, 2, 2)))[0, 0]
array([[10., 14., 18.],
       [26., 30., 34.],
       [42., 46., 50.]])
>>> maxpool(x, (2, 2))[0, 0]
array([[ 5.,  7.],
       [13., 15.]])
"""

import functools
import math

import numpy as np

from ..backend import xp_of
from ..errors import FluxpyError
from ..rules.registry import adjoint, nograd, partial_of
from . import workspace

# ---------------------------------------------------------------------------------------------------------
# option handling (plain Python, never differentiated)


def _memo(f):
    """``f`` cached on its arguments (each layer passes the same options every step: 0.15 ms of a CNN
    step's fixed cost went to reading them again), computed afresh for an unhashable one (a list)."""
    cached = functools.lru_cache(maxsize=512)(f)

    @functools.wraps(f)
    def memo(*args, **kwargs):
        try:
            return cached(*args, **kwargs)
        except TypeError:
            return f(*args, **kwargs)

    return memo


@nograd
def expand(value, nd, what="stride"):
    """``value`` as a tuple of ``nd`` ints (an int is repeated)."""
    if isinstance(value, (int, np.integer)):
        return (int(value),) * nd
    value = tuple(int(v) for v in value)
    if len(value) != nd:
        raise FluxpyError(f"{what} {value} does not match {nd} spatial dimensions")
    return value


@nograd
def pad_pairs(pad, nd):
    """``pad`` as ``nd`` ``(lo, hi)`` pairs: an int, one int per dimension, or ``(lo1, hi1, lo2, ...)``."""
    if isinstance(pad, (int, np.integer)):
        return ((int(pad), int(pad)),) * nd
    if len(pad) == nd and all(isinstance(p, tuple) for p in pad):  # already (lo, hi) pairs
        return tuple((int(lo), int(hi)) for lo, hi in pad)
    pad = tuple(int(p) for p in pad)
    if len(pad) == nd:
        return tuple((p, p) for p in pad)
    if len(pad) == 2 * nd:
        return tuple((pad[2 * i], pad[2 * i + 1]) for i in range(nd))
    raise FluxpyError(f"pad {pad} does not match {nd} spatial dimensions")


@nograd
@_memo
def conv_outsize(isize, kernel, *, stride=1, pad=0, dilation=1):
    """Spatial output size of a convolution (or pooling) of spatial input size ``isize``.

    >>> conv_outsize((10, 10), (3, 3))
    (8, 8)
    """
    nd = len(kernel)
    s, p, d = expand(stride, nd), pad_pairs(pad, nd), expand(dilation, nd, "dilation")
    return tuple(
        (i + lo + hi - dd * (k - 1) - 1) // ss + 1
        for i, k, ss, (lo, hi), dd in zip(isize, kernel, s, p, d, strict=True)
    )


@nograd
def conv_transpose_outsize(isize, kernel, *, stride=1, pad=0, dilation=1, outpad=0):
    """Spatial output size of a transposed convolution:
    ``(i - 1) * stride - lo - hi + dilation * (k - 1) + 1 + outpad``.

    ``outpad`` (Flux's ``outpad``, PyTorch's ``output_padding``) adds rows on the high side: a strided
    convolution maps several input sizes to one output size, and ``outpad`` picks the larger ones.

    >>> conv_transpose_outsize((4, 4), (3, 3), stride=2)
    (9, 9)
    >>> conv_transpose_outsize((4, 4), (3, 3), stride=2, pad=1, outpad=1)
    (8, 8)
    """
    nd = len(kernel)
    s, p, d = expand(stride, nd), pad_pairs(pad, nd), expand(dilation, nd, "dilation")
    extra = expand(outpad, nd, "outpad")
    return tuple(
        (i - 1) * ss - lo - hi + dd * (k - 1) + 1 + e
        for i, k, ss, (lo, hi), dd, e in zip(isize, kernel, s, p, d, extra, strict=True)
    )


@nograd
def _spatial(x, nd):
    return tuple(x.shape[-nd:])


# ---------------------------------------------------------------------------------------------------------
# raw kernels on batched arrays (no rules: called only from the ruled functions below)


def _batched(x, nd):
    """``(x with a batch axis, whether one was added)``."""
    if x.ndim == nd + 1:
        return x[None], True
    if x.ndim != nd + 2:
        raise FluxpyError(f"expected an input with {nd + 1} or {nd + 2} axes, got shape {x.shape}")
    return x, False


def _pad(xp, x, pads, value=0):
    if all(lo == 0 and hi == 0 for lo, hi in pads):
        return x
    if any(lo < 0 or hi < 0 for lo, hi in pads):
        raise FluxpyError(f"negative padding {pads} is not supported")
    return xp.pad(x, ((0, 0), (0, 0)) + tuple(pads), constant_values=value)


def _sliding(xp, x, extent, axes):
    if xp is np:
        return np.lib.stride_tricks.sliding_window_view(x, extent, axis=axes)
    return xp.lib.stride_tricks.sliding_window_view(x, extent, axis=axes)


def _windows(xp, xpad, kernel, stride, dilation):
    """The view ``(N, C, *out, *kernel)`` of every (strided, dilated) window of the padded input."""
    nd = len(kernel)
    extent = tuple(d * (k - 1) + 1 for k, d in zip(kernel, dilation, strict=True))
    if any(e > n for e, n in zip(extent, xpad.shape[2:], strict=True)):
        raise FluxpyError(
            f"window {extent} is larger than the input: its spatial size, padded, is {tuple(xpad.shape[2:])} "
            f"(padded input of shape {tuple(xpad.shape)})"
        )
    view = _sliding(xp, xpad, extent, tuple(range(2, 2 + nd)))
    index = (slice(None),) * 2 + tuple(slice(None, None, s) for s in stride)
    index += tuple(slice(None, None, d) for d in dilation)
    return view[index]


# The convolutions take the batch in chunks whose im2col columns fit in CHUNK_BYTES (made, multiplied and
# read again while in cache; 512 KiB is 4 and 3 images of the CNN's two layers). Each chunk gets its own
# region of one buffer of up to BUFFER_BYTES, used in turn when a batch needs more: a region the other
# core's BLAS thread has just read and is rewritten by this one costs a cache-line transfer per line, which
# made the im2col copies of the CNN's second layer 2-3x slower with OpenBLAS on two threads (0.5 -> 1.0-1.6
# ms; one reused 512 KiB buffer before) and the whole step slower on two threads than on one. The buffers
# come from the pool (nnlib/workspace.py), so no page is faulted in afresh each step (a large temporary
# freed to the system costs a page fault per 4 KiB: 2000-6000 faults a step before the pool). Tests make
# both tiny to reach every chunk and region boundary.
CHUNK_BYTES = 1 << 19
BUFFER_BYTES = 1 << 25


@nograd
def _chunks(n, per_image):
    """Consecutive slices of a batch of ``n`` whose columns (``per_image`` bytes each) fit ``CHUNK_BYTES``
    (at least one image per chunk)."""
    step = max(1, CHUNK_BYTES // max(per_image, 1))
    return [slice(start, min(start + step, n)) for start in range(0, n, step)]


@nograd
def _regions(chunks, per_image):
    """``(images, places)``: how many images' columns a buffer holds (the whole batch when it fits
    ``BUFFER_BYTES``, else as many whole chunks as fit, at least one) and, for each chunk, its region of
    that buffer (the regions taken in turn)."""
    if not chunks:
        return 0, []
    step, n = chunks[0].stop, chunks[-1].stop
    images = min(n, max(step, BUFFER_BYTES // max(per_image, 1) // step * step))
    places = [slice(c.start % images, c.start % images + c.stop - c.start) for c in chunks]
    return images, places


@nograd
@functools.lru_cache(maxsize=256)
def _im2col_plan(size, kernel, stride, pads, dilation):
    """``(out, copies, blanks)`` for the windows of an input of spatial size ``size`` padded by ``pads``:
    the output size; for each kernel offset that reads some of the input, the index ``(target, source)``
    into the columns (N, C, *kernel, *out) and into the input (N, C, *size) of the strided slice it reads;
    and the indices of the columns that read only padding (zeros: no copy reaches them). Cached: the same
    layers see the same shapes every step."""
    padded = tuple(i + lo + hi for i, (lo, hi) in zip(size, pads, strict=True))
    extent = tuple(d * (k - 1) + 1 for k, d in zip(kernel, dilation, strict=True))
    if any(e > p for e, p in zip(extent, padded, strict=True)):
        raise FluxpyError(
            f"window {extent} (kernel {kernel}, dilation {dilation}) is larger than the input: its spatial "
            f"size {size} padded by {pads} is {padded}"
        )
    if any(lo < 0 or hi < 0 for lo, hi in pads):
        raise FluxpyError(f"negative padding {pads} is not supported")
    out = tuple((p - e) // s + 1 for p, e, s in zip(padded, extent, stride, strict=True))
    every = (slice(None),) * 2
    slices = _window_slices(kernel, stride, pads, dilation, size, out)
    copies = tuple((every + offset + target, every + source) for offset, source, target in slices)
    return out, copies, _blanks(kernel, out, {offset: target for offset, _, target in slices})


def _blanks(kernel, out, targets):
    """The indices into the columns (N, C, *kernel, *out) of the entries that read only padding: for each
    kernel offset, the strips of output positions outside the part its copy writes (``targets``: offset
    -> that part), or all of them when it reads no input. Zeroing them alone costs a few percent of
    zeroing the whole buffer (8 MB a step on the CNN)."""
    every, nd, blanks = (slice(None),) * 2, len(kernel), []
    for offset in np.ndindex(*kernel):
        target = targets.get(offset)
        if target is None:
            blanks.append(every + offset)
            continue
        for axis, (part, q) in enumerate(zip(target, out, strict=True)):
            around = ((slice(None),) * axis, (slice(None),) * (nd - axis - 1))
            for strip in (slice(0, part.start), slice(part.stop, q)):
                if strip.start < strip.stop:
                    blanks.append(every + offset + around[0] + (strip,) + around[1])
    return tuple(blanks)


def _column_chunks(xp, x, kernel, plan, groups):
    """``(chunk, columns)`` for each chunk of the batch of ``x``: the im2col columns (M, G, Cg*K, P) of
    ``x[chunk]``, one contiguous copy per kernel offset (``plan`` from :func:`_im2col_plan`) into the
    chunk's region of a buffer (:func:`_regions`). Its zeros (the padding) are written once: every chunk
    copies into the same places of its region. A region may be overwritten by a later chunk's columns."""
    per_image = _column_bytes(x, kernel, plan)
    chunks = _chunks(x.shape[0], per_image)
    images, places = _regions(chunks, per_image)
    buffer = _column_buffer(xp, x, kernel, plan, images)
    for chunk, place in zip(chunks, places, strict=True):
        yield chunk, _im2col_into(xp, buffer[place], x[chunk], plan, groups)


def _column_bytes(x, kernel, plan):
    return x.shape[1] * math.prod(kernel) * math.prod(plan[0]) * x.dtype.itemsize


def _column_buffer(xp, x, kernel, plan, images):
    """A buffer (from the pool) for the columns of ``images`` images of ``x``, with zeros where columns
    read only padding (no copy writes them)."""
    buffer = workspace.empty(xp, (images, x.shape[1]) + tuple(kernel) + tuple(plan[0]), x.dtype)
    for blank in plan[2]:
        buffer[blank] = 0
    return buffer


def _im2col_into(xp, cols, part, plan, groups):
    """The columns of batch ``part`` copied into ``cols`` (M, C, *kernel, *out): shape (M, G, Cg*K, P)."""
    for target, source in plan[1]:
        cols[target] = part[source]
    return xp.reshape(cols, (cols.shape[0], groups, -1, math.prod(plan[0])))


@nograd
def kept_columns(x, kernel, *, stride=1, pad=0, dilation=1, groups=1):
    """``x``'s im2col columns (N, G, Cg*K, P) for the whole batch when they fit ``BUFFER_BYTES``, else None:
    made once by the forward pass of a convolution's rule and read again by its weight gradient (made
    again a chunk at a time, the step of the benchmark CNN took 0.6 ms more; beyond ``BUFFER_BYTES`` the
    memory counts more than the copies)."""
    nd = len(kernel)
    if x.ndim != nd + 2:
        return None
    s, p, d = _conv_options(nd, stride, pad, dilation)
    plan = _im2col_plan(tuple(x.shape[2:]), tuple(kernel), s, p, d)
    if x.shape[0] * _column_bytes(x, kernel, plan) > BUFFER_BYTES:
        return None
    xp = xp_of(x)
    return _im2col_into(xp, _column_buffer(xp, x, kernel, plan, x.shape[0]), x, plan, groups)


@nograd
@functools.lru_cache(maxsize=256)
def _window_slices(kernel, stride, pads, dilation, size, out):
    """``(offset, source, target)`` for each kernel offset that reads some of the input (spatial size
    ``size``): output positions ``target`` read input positions ``source`` (strided slices; padding
    ``pads``, output size ``out``). im2col copies ``source`` into ``target``, col2im adds it back. Cached
    (a tuple: shared by every call)."""
    slices = []
    for offset in np.ndindex(*kernel):
        source, target = [], []
        for a, d, s, q, i, (lo, _) in zip(offset, dilation, stride, out, size, pads, strict=True):
            # output position o reads input position o * s + a * d - lo, when that is inside the input
            first = max(0, -((a * d - lo) // s))
            last = min(q - 1, (i - 1 - a * d + lo) // s)
            if last < first:
                break
            start = first * s + a * d - lo
            source.append(slice(start, start + (last - first) * s + 1, s))
            target.append(slice(first, last + 1))
        else:
            slices.append((offset, tuple(source), tuple(target)))
    return tuple(slices)


def _check_channels(c, w, groups):
    if c != w.shape[1] * groups or w.shape[0] % groups:
        raise FluxpyError(
            f"convolution: input with {c} channels, weight of shape {w.shape} and groups={groups} "
            "do not match"
        )


def _xcorr(x, w, stride, pads, dilation, groups):
    """Cross-correlation of batched ``x`` (N, C, ...) with ``w`` (O, C // groups, *k): for each chunk of the
    batch, its im2col columns times the weight, written straight into the output."""
    xp = xp_of(x, w)
    n, c = x.shape[:2]
    o = w.shape[0]
    _check_channels(c, w, groups)
    kernel = tuple(w.shape[2:])
    plan = _im2col_plan(tuple(x.shape[2:]), kernel, stride, pads, dilation)
    out = plan[0]
    y = workspace.empty(xp, (n, o) + out, np.result_type(x.dtype, w.dtype))
    rows = xp.reshape(y, (n, groups, o // groups, -1))  # (N, G, Og, P)
    wmat = xp.reshape(w, (groups, o // groups, -1))
    for chunk, cols in _column_chunks(xp, x, kernel, plan, groups):
        xp.matmul(wmat, cols, out=rows[chunk])
    return y


def _columns_product(cols, w, n, out, groups):
    """The correlation from the im2col columns ``cols`` (N, G, Cg*K, P): shape (N, O, *out)."""
    xp = xp_of(cols, w)
    o = w.shape[0]
    y = workspace.empty(xp, (n, o) + tuple(out), np.result_type(cols.dtype, w.dtype))
    xp.matmul(xp.reshape(w, (groups, o // groups, -1)), cols, out=xp.reshape(y, (n, groups, o // groups, -1)))
    return y


def _xcorr_filter(x, dy, kernel, stride, pads, dilation, groups, cols=None):
    """The weight gradient of :func:`_xcorr`: shape (O, C // groups, *kernel). The im2col columns of each
    chunk of the batch are made again (the forward pass kept none) and multiplied by its ``dy``; ``cols``:
    the input's columns (N, G, Cg*K, P) when already made (``conv_filter_grad``'s cache)."""
    xp = xp_of(x, dy)
    n, c = x.shape[:2]
    o = dy.shape[1]
    plan = _im2col_plan(tuple(x.shape[2:]), kernel, stride, pads, dilation)
    out = plan[0]
    if tuple(out) != tuple(dy.shape[2:]) or (cols is not None and cols.shape[-1] != math.prod(out)):
        raise FluxpyError(f"conv_filter_grad: output gradient of shape {dy.shape} does not match {out}")
    g = xp.reshape(dy, (n, groups, o // groups, -1))  # (N, G, Og, P)
    chunks = [(slice(None), cols)] if cols is not None else _column_chunks(xp, x, kernel, plan, groups)
    dw = xp.zeros(
        (groups, c // groups * math.prod(kernel), o // groups), dtype=np.result_type(x.dtype, dy.dtype)
    )
    for chunk, part in chunks:
        # (Cg*K, P) @ (P, Og) per image: the large columns as they lie, the small dy transposed (a quarter
        # faster than dy @ columns' transpose on the CNN's second layer)
        dw += xp.matmul(part, xp.swapaxes(g[chunk], 2, 3)).sum(axis=0)
    return xp.reshape(xp.swapaxes(dw, 1, 2), (o, c // groups) + tuple(kernel))


def _xcorr_transpose(dy, w, size, stride, pads, dilation, groups):
    """The input gradient of :func:`_xcorr` for an input of spatial size ``size``: shape (N, C, *size).

    col2im, a chunk of the batch at a time: one batched product gives every window's contribution (into the
    chunk's region of a buffer, :func:`_regions`), then one strided add per kernel offset of the part that
    lands inside the input (no padded buffer to crop). With stride 1 and at least as many input as output
    channels per group, a correlation (:func:`_xcorr_transpose_stride1`) is faster: its im2col copies one row
    per output channel and offset where col2im adds one per input channel and offset, and a copy is cheaper
    than an add. With fewer input channels (the CNN's 16 to 32), col2im has fewer rows (half the memory
    there) and no thin product (a first layer's 3 channels: 0.9 ms, not 2.9).
    """
    xp = xp_of(dy, w)
    n, o = dy.shape[:2]
    kernel, out = tuple(w.shape[2:]), tuple(dy.shape[2:])
    cg, og = w.shape[1], o // groups
    padded = tuple(i + lo + hi for i, (lo, hi) in zip(size, pads, strict=True))
    if any(
        d * (k - 1) + s * (q - 1) + 1 > p
        for k, d, s, q, p in zip(kernel, dilation, stride, out, padded, strict=True)
    ):
        raise FluxpyError(f"conv_transpose: output size {size} is too small for an input of size {out}")
    fits = all(d * (k - 1) + q == p for k, d, q, p in zip(kernel, dilation, out, padded, strict=True))
    if all(s == 1 for s in stride) and fits and cg >= og:  # fits: no rows beyond the windows (outpad)
        return _xcorr_transpose_stride1(dy, w, size, pads, dilation, groups)
    dtype = np.result_type(dy.dtype, w.dtype)
    wmat = xp.swapaxes(xp.reshape(w, (groups, og, -1)), 1, 2)  # (G, Cg*K, Og)
    dx = workspace.zeros(xp, (n, groups * cg) + tuple(size), dtype)
    every = (slice(None),) * 2
    adds = [
        (every + source, every + offset + target)
        for offset, source, target in _window_slices(kernel, stride, pads, dilation, size, out)
    ]
    per_image = groups * cg * math.prod(kernel) * math.prod(out) * dtype.itemsize
    chunks = _chunks(n, per_image)
    images, places = _regions(chunks, per_image)
    buffer = workspace.empty(xp, (images, groups, wmat.shape[1], math.prod(out)), dtype)
    for chunk, place in zip(chunks, places, strict=True):
        m = chunk.stop - chunk.start
        # (M, G, Cg*K, P)
        cols = xp.matmul(wmat, xp.reshape(dy[chunk], (m, groups, og, -1)), out=buffer[place])
        cols = xp.reshape(cols, (m, groups * cg) + kernel + out)
        part = dx[chunk]
        for source, target in adds:
            part[source] += cols[target]
    return dx


def _xcorr_transpose_stride1(dy, w, size, pads, dilation, groups):
    """:func:`_xcorr_transpose` with stride 1: a correlation of ``dy`` with the flipped, channel-transposed
    kernel (im2col and one matmul, as the forward pass) instead of one strided add per kernel offset.

    Padded by ``dilation * (k - 1)`` less the forward padding, it has ``dx``'s size directly (a full
    correlation and a crop computed the rows of the padding too, a quarter more on the CNN's 16x16 maps);
    only a forward padding beyond ``dilation * (k - 1)`` (rows that read no input) leaves rows to cut.
    """
    xp = xp_of(dy, w)
    kernel = tuple(w.shape[2:])
    cg, og = w.shape[1], dy.shape[1] // groups
    wt = xp.reshape(xp.swapaxes(xp.reshape(w, (groups, og, cg) + kernel), 1, 2), (groups * cg, og) + kernel)
    wt = wt[(slice(None),) * 2 + (slice(None, None, -1),) * len(kernel)]
    reach = tuple(d * (k - 1) for k, d in zip(kernel, dilation, strict=True))
    inner = tuple((max(r - lo, 0), max(r - hi, 0)) for r, (lo, hi) in zip(reach, pads, strict=True))
    dx = _xcorr(dy, wt, (1,) * len(kernel), inner, dilation, groups)
    cut = tuple(max(lo - r, 0) for r, (lo, _) in zip(reach, pads, strict=True))
    if not any(cut) and tuple(dx.shape[2:]) == tuple(size):
        return dx
    crop = (slice(None),) * 2 + tuple(slice(c, c + i) for c, i in zip(cut, size, strict=True))
    return xp.ascontiguousarray(dx[crop])


def _flipped(w):
    nd = w.ndim - 2
    return w[(slice(None),) * 2 + (slice(None, None, -1),) * nd]


@_memo
def _conv_options(nd, stride, pad, dilation):
    s, p, d = expand(stride, nd), pad_pairs(pad, nd), expand(dilation, nd, "dilation")
    if min(s, default=1) < 1 or min(d, default=1) < 1:
        raise FluxpyError(f"convolution: stride {s} and dilation {d} must be at least 1 in every dimension")
    return s, p, d


# ---------------------------------------------------------------------------------------------------------
# convolutions


def conv(x, w, *, stride=1, pad=0, dilation=1, groups=1, flip=True):
    """Convolution of ``x`` (N, C, *spatial) or (C, *spatial) with ``w`` (O, C // groups, *kernel).

    ``flip=True`` flips the kernel (a true convolution, Flux's ``Conv``); ``flip=False`` does not (PyTorch).

    >>> import numpy as np
    >>> x = np.arange(5.0).reshape(1, 1, 5)
    >>> conv(x, np.array([[[1.0, 0.0, -1.0]]]))
    array([[[2., 2., 2.]]])
    >>> conv(x, np.array([[[1.0, 0.0, -1.0]]]), flip=False, pad=1)
    array([[[-1., -2., -2., -2.,  3.]]])
    """
    nd = w.ndim - 2
    s, p, d = _conv_options(nd, stride, pad, dilation)
    xb, unbatched = _batched(x, nd)
    y = _xcorr(xb, _flipped(w) if flip else w, s, p, d, groups)
    return y[0] if unbatched else y


def conv_transpose(y, w, *, stride=1, pad=0, dilation=1, groups=1, flip=True, out_size=None):
    """The input gradient of ``conv(x, w, ...)`` applied to ``y`` (NNlib's ``∇conv_data``).

    The result has shape ``(N, C, *out_size)``; ``out_size`` is the spatial size of ``x``, by default
    ``(i - 1) * stride - lo - hi + dilation * (k - 1) + 1``.

    >>> import numpy as np
    >>> conv_transpose(np.ones((1, 1, 2)), np.array([[[1.0, 2.0]]]), stride=2)
    array([[[2., 1., 2., 1.]]])
    """
    nd = w.ndim - 2
    s, p, d = _conv_options(nd, stride, pad, dilation)
    yb, unbatched = _batched(y, nd)
    if out_size is None:
        out_size = conv_transpose_outsize(yb.shape[2:], w.shape[2:], stride=s, pad=p, dilation=d)
    x = _xcorr_transpose(yb, _flipped(w) if flip else w, expand(out_size, nd, "out_size"), s, p, d, groups)
    return x[0] if unbatched else x


def conv_filter_grad(x, dy, *, kernel, stride=1, pad=0, dilation=1, groups=1, flip=True, columns=None):
    """The weight gradient of ``conv(x, w, ...)`` for output cotangent ``dy`` (NNlib's ``∇conv_filter``).
    ``columns``: ``x``'s im2col columns (N, groups, C // groups * prod(kernel), prod(out)) when already made
    (a cache: its values are those of ``x``); by default they are made a chunk of the batch at a time.

    >>> import numpy as np
    >>> conv_filter_grad(np.arange(4.0).reshape(1, 1, 4), np.ones((1, 1, 3)), kernel=(2,), flip=False)
    array([[[3., 6.]]])
    """
    nd = len(kernel)
    s, p, d = _conv_options(nd, stride, pad, dilation)
    xb, unbatched = _batched(x, nd)
    dyb = dy[None] if unbatched else dy
    dw = _xcorr_filter(xb, dyb, tuple(kernel), s, p, d, groups, columns)
    return _flipped(dw) if flip else dw


@adjoint(conv)
def conv_rule(x, w, *, stride=1, pad=0, dilation=1, groups=1, flip=True):
    return conv_partial(
        (True, True), x, w, stride=stride, pad=pad, dilation=dilation, groups=groups, flip=flip
    )


@partial_of(conv_rule)
def conv_partial(mask, x, w, *, stride=1, pad=0, dilation=1, groups=1, flip=True):
    """``conv_rule`` computing only the cotangents ``mask`` wants: a first layer's data batch gets none.
    The weight gradient makes the im2col columns again, a chunk of the batch at a time (keeping the
    forward pass's for it held them all at once: 3.5 and 4.7 MB on the CNN)."""
    y = conv(x, w, stride=stride, pad=pad, dilation=dilation, groups=groups, flip=flip)
    size = _spatial(x, w.ndim - 2)
    kernel = tuple(w.shape[2:])

    def conv_partial_pullback(dy):
        dx = None
        dw = None
        if mask[0]:
            dx = conv_transpose(
                dy, w, stride=stride, pad=pad, dilation=dilation, groups=groups, flip=flip, out_size=size
            )
        if mask[1]:
            dw = conv_filter_grad(
                x,
                dy,
                kernel=kernel,
                stride=stride,
                pad=pad,
                dilation=dilation,
                groups=groups,
                flip=flip,
            )
        return dx, dw

    return y, conv_partial_pullback


@nograd
def _transpose_cotangent_window(dz_size, y_size, kernel, stride, pad, dilation):
    """``(index, pads)``: the part of ``dz`` (and its padding) that the windows of ``y``'s entries cover.

    A convolution of ``dz`` with the given padding has ``(P - dilation * (k - 1) - 1) // stride + 1`` windows
    (``P`` the padded size), one per entry of ``y`` when ``out_size`` exceeds the default size by less than
    ``stride``. A larger ``out_size`` (``outpad`` below ``dilation`` but not below ``stride``, as PyTorch
    allows) leaves rows that no window of ``y`` reaches: they are cut, from the high padding first.
    """
    nd = len(kernel)
    s, pads, d = _conv_options(nd, stride, pad, dilation)
    index, kept = [], []
    for size, i, k, ss, (lo, hi), dd in zip(dz_size, y_size, kernel, s, pads, d, strict=True):
        excess = size + lo + hi - ((i - 1) * ss + dd * (k - 1) + 1)
        cut = excess if excess >= ss else 0
        index.append(slice(0, size - max(cut - hi, 0)))
        kept.append((lo, hi - min(cut, hi)))
    return (Ellipsis,) + tuple(index), tuple(kept)


@adjoint(conv_transpose)
def conv_transpose_rule(y, w, *, stride=1, pad=0, dilation=1, groups=1, flip=True, out_size=None):
    z = conv_transpose(
        y, w, stride=stride, pad=pad, dilation=dilation, groups=groups, flip=flip, out_size=out_size
    )
    nd = w.ndim - 2
    kernel = tuple(w.shape[2:])
    index, pads = _transpose_cotangent_window(_spatial(z, nd), _spatial(y, nd), kernel, stride, pad, dilation)

    def conv_transpose_pullback(dz):
        dz_seen = dz[index]
        dy = conv(dz_seen, w, stride=stride, pad=pads, dilation=dilation, groups=groups, flip=flip)
        dw = conv_filter_grad(
            dz_seen, y, kernel=kernel, stride=stride, pad=pads, dilation=dilation, groups=groups, flip=flip
        )
        return dy, dw

    return z, conv_transpose_pullback


@adjoint(conv_filter_grad)
def conv_filter_grad_rule(x, dy, *, kernel, stride=1, pad=0, dilation=1, groups=1, flip=True, columns=None):
    dw = conv_filter_grad(
        x,
        dy,
        kernel=kernel,
        stride=stride,
        pad=pad,
        dilation=dilation,
        groups=groups,
        flip=flip,
        columns=columns,
    )
    size = _spatial(x, len(kernel))

    def conv_filter_grad_pullback(ddw):
        dx = conv_transpose(
            dy, ddw, stride=stride, pad=pad, dilation=dilation, groups=groups, flip=flip, out_size=size
        )
        ddy = conv(x, ddw, stride=stride, pad=pad, dilation=dilation, groups=groups, flip=flip)
        return dx, ddy

    return dw, conv_filter_grad_pullback


# ---------------------------------------------------------------------------------------------------------
# convolution, bias and activation in one (the Conv layer's call): one rule instead of three, the pullback
# forms dy * relu'(y) once and the bias gradient is its sum (issue 6)

ACTIVATIONS = ("identity", "relu")


def _channel_sums(g, nd):
    """The sum of ``g`` over all but its channel axis (a bias's gradient): over the batch first, then each
    channel's contiguous map (0.06 ms less on the CNN's two layers than one sum over axes (0, 2, 3))."""
    if g.ndim == nd + 2:
        g = g.sum(axis=0)
    return g.reshape(g.shape[0], -1).sum(axis=1)


def _add_bias_act(y, b, act, nd):
    """``act(y + b)`` (channel ``c`` gets ``b[c]``) for a batched ``y``, in place where the dtypes allow.

    The bias and the relu's zero are one image's worth of values (``y.shape[1:]``), broadcast along the
    batch only: NumPy vectorises a loop whose operands all advance along its inner axis, and runs one with
    a repeated (scalar or per-channel) operand element by element. On the CNN's first layer (NumPy 2.4)
    the bias add took 135 µs, 51 with the bias repeated over each map; the relu 197 µs, 83 with a zero array.
    """
    xp = xp_of(y, b)
    image = tuple(y.shape[1:])
    if b is not None and b is not False:
        bias = xp.ascontiguousarray(xp.broadcast_to(xp.reshape(b, (-1,) + (1,) * nd), image))
        if np.result_type(y.dtype, b.dtype) == y.dtype:
            y += bias
        else:
            y = y + bias
    if act == "relu":
        if y.dtype.kind == "f":
            xp.maximum(y, xp.zeros(image, dtype=y.dtype), out=y)
        else:
            y = xp.maximum(y, 0.0)  # as relu: an integer y becomes float
    return y


def conv_bias_act(x, w, b, *, act="identity", stride=1, pad=0, dilation=1, groups=1, flip=True, columns=None):
    """``act(conv(x, w, ...) + b)`` with ``b`` (O,) added along the channel axis (``None`` or ``False``:
    no bias) and ``act`` ``"identity"`` or ``"relu"``: the layers' ``Conv`` in one call, with one rule.
    ``columns``: ``x``'s im2col columns when already made (a cache: its values are those of ``x``).

    >>> import numpy as np
    >>> x, w = np.arange(5.0).reshape(1, 1, 5), np.array([[[1.0, 0.0, -1.0]]])
    >>> conv(x, w, flip=False, pad=1)
    array([[[-1., -2., -2., -2.,  3.]]])
    >>> conv_bias_act(x, w, np.array([1.5]), act="relu", flip=False, pad=1)
    array([[[0.5, 0. , 0. , 0. , 4.5]]])
    """
    if act not in ACTIVATIONS:
        raise FluxpyError(f"conv_bias_act: act={act!r} is not one of {ACTIVATIONS}; apply it to the result")
    nd = w.ndim - 2
    s, p, d = _conv_options(nd, stride, pad, dilation)
    xb, unbatched = _batched(x, nd)
    wf = _flipped(w) if flip else w
    if columns is None:
        y = _xcorr(xb, wf, s, p, d, groups)
    else:
        out = conv_outsize(xb.shape[2:], w.shape[2:], stride=s, pad=p, dilation=d)
        y = _columns_product(columns, wf, xb.shape[0], out, groups)
    y = _add_bias_act(y, b, act, nd)
    return y[0] if unbatched else y


@adjoint(conv_bias_act)
def conv_bias_act_rule(
    x, w, b, *, act="identity", stride=1, pad=0, dilation=1, groups=1, flip=True, columns=None
):
    return conv_bias_act_partial(
        (True, True, True),
        x,
        w,
        b,
        act=act,
        stride=stride,
        pad=pad,
        dilation=dilation,
        groups=groups,
        flip=flip,
        columns=columns,
    )


@partial_of(conv_bias_act_rule)
def conv_bias_act_partial(
    mask, x, w, b, *, act="identity", stride=1, pad=0, dilation=1, groups=1, flip=True, columns=None
):
    """``conv_bias_act_rule`` computing only the cotangents ``mask`` wants. The forward pass calls
    ``conv_bias_act`` itself for ``y``: a gradient of this rule then goes through that same rule, never
    into the raw kernels. The weight gradient reads the im2col columns that the forward pass made
    (:func:`kept_columns`), or makes them again a chunk at a time when they are too large to keep."""
    kernel = tuple(w.shape[2:])
    options = dict(stride=stride, pad=pad, dilation=dilation, groups=groups, flip=flip)
    if columns is None and mask[1]:
        columns = kept_columns(x, kernel, stride=stride, pad=pad, dilation=dilation, groups=groups)
    y = conv_bias_act(x, w, b, act=act, columns=columns, **options)
    size = _spatial(x, len(kernel))
    has_bias = b is not None and b is not False

    def conv_bias_act_partial_pullback(dy):
        g = dy * (y > 0) if act == "relu" else dy  # relu'(0) = 0, as relu's own rule
        dx = conv_transpose(g, w, out_size=size, **options) if mask[0] else None
        dw = conv_filter_grad(x, g, kernel=kernel, columns=columns, **options) if mask[1] else None
        db = _channel_sums(g, len(kernel)) if mask[2] and has_bias else None
        return dx, dw, db

    return y, conv_bias_act_partial_pullback


# ---------------------------------------------------------------------------------------------------------
# pooling


@nograd
def _pool_options(x, window, stride, pad):
    """``(nd, window, stride, pads)`` with an int window meaning ``x.ndim - 2`` spatial dimensions."""
    return _pool_options_of(x.ndim, window, stride, pad)


@_memo
def _pool_options_of(ndim, window, stride, pad):
    nd = len(window) if not isinstance(window, (int, np.integer)) else ndim - 2
    window = expand(window, nd, "window")
    stride = window if stride is None else expand(stride, nd)
    if min(window, default=1) < 1 or min(stride, default=1) < 1:
        raise FluxpyError(
            f"pooling: window {window} and stride {stride} must be at least 1 in every dimension"
        )
    return nd, window, stride, pad_pairs(pad, nd)


def _max_windows(x, window, stride, pad, maxima=None):
    """``(y, xpad, slices, pads)``: the window maxima of batched ``x``, the padded input and, for every
    offset inside the window, the strided slice of ``xpad`` that it reads (one pass per offset; no copy
    of the windows). ``maxima``: the maxima when already known (the forward pass's output)."""
    xp = xp_of(x)
    nd, window, stride, pads = _pool_options(x, window, stride, pad)
    low = -np.inf if x.dtype.kind == "f" else np.iinfo(x.dtype).min
    xpad = _pad(xp, x, pads, value=low)
    out = conv_outsize(x.shape[2:], window, stride=stride, pad=pads)
    if any(o < 1 for o in out):
        raise FluxpyError(
            f"window {window} is larger than the input of shape {tuple(x.shape)}: its spatial size padded by "
            f"{pads} is {tuple(xpad.shape[2:])}"
        )
    slices = _offset_slices(window, stride, out)
    if maxima is not None:
        return maxima, xpad, slices, pads
    y = workspace.empty(xp, xpad[slices[0]].shape, xpad.dtype)
    y[...] = xpad[slices[0]]
    for index in slices[1:]:
        xp.maximum(y, xpad[index], out=y)
    return y, xpad, slices, pads


@nograd
@functools.lru_cache(maxsize=256)
def _offset_slices(window, stride, out):
    """For every offset inside a pooling window, the strided slice of the padded input that it reads (one
    entry per output position). Cached: the same layers see the same shapes every step."""
    return tuple(
        (slice(None),) * 2
        + tuple(slice(a, a + s * (o - 1) + 1, s) for a, s, o in zip(offset, stride, out, strict=True))
        for offset in np.ndindex(*window)
    )


@nograd
def _tiles(window, stride, pads, size):
    """Whether the pooling windows tile the input exactly: no overlap, no gap, no padding."""
    window = expand(window, len(size), "window")
    stride = window if stride is None else expand(stride, len(size))
    return (
        all(lo == 0 and hi == 0 for lo, hi in pads)
        and tuple(stride) == tuple(window)
        and all(n % w == 0 for n, w in zip(size, window, strict=True))
    )


def _first_max_masks(y, xpad, slices):
    """For each window offset, where it holds the window's maximum (the first one when tied). ``free``:
    the windows whose maximum no earlier offset held (each mask is its comparison narrowed in place, two
    passes per offset where ``(x == y) & ~taken`` and ``taken |= mask`` took four). The masks share one
    buffer: each is read before the next is made."""
    xp = xp_of(y)
    free = None
    mask = workspace.empty(xp, y.shape, bool)
    last = len(slices) - 1
    for k, index in enumerate(slices):
        xp.equal(xpad[index], y, out=mask)
        if free is None:
            free = xp.logical_not(mask, out=workspace.empty(xp, mask.shape, bool))
        else:
            xp.logical_and(mask, free, out=mask)
            if k < last:
                xp.logical_xor(free, mask, out=free)
        yield index, mask


def maxpool(x, window, stride=None, pad=0):
    """Maximum over each window (``stride`` defaults to ``window``; padding never wins).

    >>> import numpy as np
    >>> maxpool(np.array([[[1.0, 3.0, 2.0, 5.0, 4.0]]]), (2,), stride=1)
    array([[[3., 3., 5., 5.]]])
    """
    nd = len(window) if not isinstance(window, (int, np.integer)) else x.ndim - 2
    xb, unbatched = _batched(x, nd)
    y = _max_windows(xb, window, stride, pad)[0]
    return y[0] if unbatched else y


def maxpool_scatter(dy, x, *, window, stride=None, pad=0, maxima=None):
    """The input gradient of ``maxpool(x, window, stride, pad)`` for output cotangent ``dy``. ``maxima``:
    ``maxpool(x, ...)`` when already computed (the rule keeps the forward pass's output)."""
    xp = xp_of(dy, x)
    nd = len(window) if not isinstance(window, (int, np.integer)) else x.ndim - 2
    xb, unbatched = _batched(x, nd)
    dyb = dy[None] if unbatched else dy
    if maxima is not None and unbatched:
        maxima = maxima[None]
    y, xpad, slices, pads = _max_windows(xb, window, stride, pad, maxima)
    # dy * mask rather than where(mask, dy, 0): several times faster (an inf or nan in dy then reaches the
    # window's other entries as nan, as in relu's pullback)
    if _tiles(window, stride, pads, xb.shape[2:]):  # windows side by side covering x: each entry set once
        dx = workspace.empty(xp, xpad.shape, dy.dtype)
        for index, mask in _first_max_masks(y, xpad, slices):
            xp.multiply(dyb, mask, out=dx[index])
    else:
        dx = workspace.zeros(xp, xpad.shape, dy.dtype)
        for index, mask in _first_max_masks(y, xpad, slices):
            dx[index] += dyb * mask
    crop = (slice(None),) * 2 + tuple(
        slice(lo, lo + i) for i, (lo, _) in zip(xb.shape[2:], pads, strict=True)
    )
    dx = xp.ascontiguousarray(dx[crop])
    return dx[0] if unbatched else dx


def maxpool_gather(dx, x, *, window, stride=None, pad=0):
    """The adjoint of :func:`maxpool_scatter`: ``dx`` read at each window's maximum of ``x``."""
    xp = xp_of(dx, x)
    nd = len(window) if not isinstance(window, (int, np.integer)) else x.ndim - 2
    xb, unbatched = _batched(x, nd)
    dxb = dx[None] if unbatched else dx
    y, xpad, slices, pads = _max_windows(xb, window, stride, pad)
    dxpad = _pad(xp, dxb, pads)
    out = xp.zeros(y.shape, dtype=dx.dtype)
    for index, mask in _first_max_masks(y, xpad, slices):
        out += dxpad[index] * mask
    return out[0] if unbatched else out


@adjoint(maxpool)
def maxpool_rule(x, *args, **kw):
    y = maxpool(x, *args, **kw)
    window, stride, pad = _pool_arguments(args, kw)

    def maxpool_pullback(dy):
        dx = maxpool_scatter(dy, x, window=window, stride=stride, pad=pad, maxima=y)
        return (dx,) + (None,) * len(args)

    return y, maxpool_pullback


@nograd
def _pool_arguments(args, kw):
    names = ("window", "stride", "pad")
    values = {"stride": None, "pad": 0}
    values.update(zip(names, args, strict=False))
    values.update(kw)
    return values["window"], values["stride"], values["pad"]


@adjoint(maxpool_scatter)
def maxpool_scatter_rule(dy, x, *, window, stride=None, pad=0, maxima=None):
    def maxpool_scatter_pullback(ddx):
        return maxpool_gather(ddx, x, window=window, stride=stride, pad=pad), None

    dx = maxpool_scatter(dy, x, window=window, stride=stride, pad=pad, maxima=maxima)
    return dx, maxpool_scatter_pullback


@adjoint(maxpool_gather)
def maxpool_gather_rule(dx, x, *, window, stride=None, pad=0):
    def maxpool_gather_pullback(g):
        return maxpool_scatter(g, x, window=window, stride=stride, pad=pad), None

    return maxpool_gather(dx, x, window=window, stride=stride, pad=pad), maxpool_gather_pullback


def meanpool(x, window, stride=None, pad=0):
    """Mean over each window (``stride`` defaults to ``window``; padded zeros count, as NNlib and PyTorch).

    >>> import numpy as np
    >>> meanpool(np.array([[[1.0, 3.0, 2.0, 6.0]]]), (2,))
    array([[[2., 4.]]])
    """
    xp = xp_of(x)
    nd = len(window) if not isinstance(window, (int, np.integer)) else x.ndim - 2
    xb, unbatched = _batched(x, nd)
    nd, window, stride, pads = _pool_options(xb, window, stride, pad)
    cols = _windows(xp, _pad(xp, xb, pads), window, stride, (1,) * nd)
    y = xp.mean(cols, axis=tuple(range(2 + nd, 2 + 2 * nd)))
    y = y.astype(x.dtype, copy=False) if x.dtype.kind == "f" else y
    return y[0] if unbatched else y


def meanpool_transpose(dy, *, window, stride=None, pad=0, out_size):
    """The input gradient of ``meanpool`` (an input of spatial size ``out_size``) for cotangent ``dy``."""
    xp = xp_of(dy)
    nd = len(window) if not isinstance(window, (int, np.integer)) else dy.ndim - 2
    dyb, unbatched = _batched(dy, nd)
    nd, window, stride, pads = _pool_options(dyb, window, stride, pad)
    c = dyb.shape[1]
    kernel = xp.full((c, 1) + window, 1.0 / int(np.prod(window)), dtype=dy.dtype)
    dx = _xcorr_transpose(dyb, kernel, expand(out_size, nd, "out_size"), stride, pads, (1,) * nd, c)
    return dx[0] if unbatched else dx


@adjoint(meanpool)
def meanpool_rule(x, *args, **kw):
    y = meanpool(x, *args, **kw)
    window, stride, pad = _pool_arguments(args, kw)
    nd = len(window) if not isinstance(window, (int, np.integer)) else x.ndim - 2
    size = _spatial(x, nd)

    def meanpool_pullback(dy):
        dx = meanpool_transpose(dy, window=window, stride=stride, pad=pad, out_size=size)
        return (dx,) + (None,) * len(args)

    return y, meanpool_pullback


@adjoint(meanpool_transpose)
def meanpool_transpose_rule(dy, *, window, stride=None, pad=0, out_size):
    def meanpool_transpose_pullback(ddx):
        return (meanpool(ddx, window, stride=stride, pad=pad),)

    return meanpool_transpose(
        dy, window=window, stride=stride, pad=pad, out_size=out_size
    ), meanpool_transpose_pullback


# ---------------------------------------------------------------------------------------------------------
# nearest-neighbour upsampling


def upsample_nearest(x, scale):
    """Repeat each entry ``scale`` times along each spatial axis (``scale``: a tuple, one per spatial axis).

    >>> import numpy as np
    >>> upsample_nearest(np.array([[[1.0, 2.0]]]), (2,))
    array([[[1., 1., 2., 2.]]])
    """
    xp = xp_of(x)
    nd = len(scale)
    for j, s in enumerate(scale):
        x = xp.repeat(x, int(s), axis=x.ndim - nd + j)
    return x


def upsample_nearest_transpose(dy, scale):
    """The adjoint of :func:`upsample_nearest`: the sum over each ``scale`` block."""
    xp = xp_of(dy)
    nd = len(scale)
    lead = dy.shape[: dy.ndim - nd]
    shape = lead
    for n, s in zip(dy.shape[dy.ndim - nd :], scale, strict=True):
        shape += (n // s, s)
    axes = tuple(len(lead) + 2 * j + 1 for j in range(nd))
    return xp.sum(xp.reshape(dy, shape), axis=axes)


@adjoint(upsample_nearest)
def upsample_nearest_rule(x, scale):
    def upsample_nearest_pullback(dy):
        return upsample_nearest_transpose(dy, scale), None

    return upsample_nearest(x, scale), upsample_nearest_pullback


@adjoint(upsample_nearest_transpose)
def upsample_nearest_transpose_rule(dy, scale):
    def upsample_nearest_transpose_pullback(g):
        return upsample_nearest(g, scale), None

    return upsample_nearest_transpose(dy, scale), upsample_nearest_transpose_pullback


# ---------------------------------------------------------------------------------------------------------
# (bi/tri)linear upsampling: one interpolation matrix per spatial axis, applied with einsum (whose rule gives
# every derivative)


@nograd
def _interpolation(xp, n_in, n_out, dtype):
    """The ``(n_out, n_in)`` linear interpolation matrix with aligned corners (NNlib's default)."""
    src = np.arange(n_out) * ((n_in - 1) / (n_out - 1)) if n_out > 1 else np.zeros(1)
    lo = np.minimum(np.floor(src).astype(int), n_in - 1)
    hi = np.minimum(lo + 1, n_in - 1)
    frac = src - lo
    m = np.zeros((n_out, n_in))
    np.add.at(m, (np.arange(n_out), lo), 1 - frac)
    np.add.at(m, (np.arange(n_out), hi), frac)
    return xp.asarray(m.astype(dtype))


@nograd
def _linear_plan(x, nd, size):
    xp = xp_of(x)
    dtype = x.dtype if x.dtype.kind == "f" else np.float64
    inner = "abcdefgh"[: x.ndim - nd]
    old, new = "ijk"[:nd], "IJK"[:nd]
    spec = inner + old + "".join(f",{n}{o}" for n, o in zip(new, old, strict=True)) + "->" + inner + new
    mats = [_interpolation(xp, i, o, dtype) for i, o in zip(x.shape[-nd:], size, strict=True)]
    return spec, mats


def upsample_linear(x, scale=None, *, size=None):
    """Linear interpolation (bilinear for images) of the spatial axes, corners aligned (NNlib's default):
    output size ``size``, or the input size times ``scale`` (one entry per spatial axis).

    >>> import numpy as np
    >>> upsample_linear(np.array([[[0.0, 1.0, 2.0]]]), (2,))
    array([[[0. , 0.4, 0.8, 1.2, 1.6, 2. ]]])
    """
    xp = xp_of(x)
    nd = len(scale) if size is None else len(size)
    if size is None:
        size = tuple(int(i * s) for i, s in zip(x.shape[-nd:], scale, strict=True))
    spec, mats = _linear_plan(x, nd, tuple(size))
    return xp.einsum(spec, x, *mats)


__all__ = [
    "conv",
    "conv_bias_act",
    "conv_filter_grad",
    "conv_outsize",
    "conv_transpose",
    "conv_transpose_outsize",
    "maxpool",
    "maxpool_gather",
    "maxpool_scatter",
    "meanpool",
    "meanpool_transpose",
    "upsample_linear",
    "upsample_nearest",
    "upsample_nearest_transpose",
]
