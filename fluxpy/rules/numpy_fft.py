"""Rules for ``np.fft``: the four one-dimensional transforms have rules, everything else is built from them.

``fft``, ``ifft``, ``rfft`` and ``irfft`` are linear, so each pullback is the adjoint transform: the inverse
transform with the dual normalization (``"backward"`` and ``"forward"`` swap, ``"ortho"`` is its own dual),
after undoing ``n=`` (cropping is adjoint to zero padding). The real transforms are real-linear: ``rfft``'s
adjoint is ``irfft`` of the cotangent with the bins that stand for two (all but the zero and Nyquist bins)
halved, and ``irfft``'s adjoint is ``rfft`` with those bins doubled (``irfft`` reads only the real parts of
the zero and Nyquist bins, so their imaginary parts get no gradient). Forward mode applies the transform to
the tangent.

The n-dimensional transforms (``fftn``, ``fft2``, ``rfftn``, ``irfft2``, ...), ``hfft``/``ihfft`` and
``fftshift``/``ifftshift`` are implemented as NumPy implements them (the same one-dimensional transforms,
conjugates and rolls in the same order, so the same values), and differentiated by fluxpy.
``fftfreq``/``rfftfreq`` are non-differentiable.

>>> import numpy as np, fluxpy as fx
>>> x = np.array([1.0, 2.0, 0.5, -1.0])
>>> w = np.array([1.0, 2.0, 1.0])  # bin 1 stands for bins 1 and 3 of the full spectrum
>>> g = fx.gradient(lambda x: np.sum(w * np.abs(np.fft.rfft(x)) ** 2), x)[0]
>>> bool(np.allclose(g, 2 * len(x) * x))  # Parseval: the loss is len(x) * sum(x**2)
True
"""

import warnings

import numpy as np

from ..backend import is_array, xp_of
from ..errors import FluxpyError
from .forward_core import _like, keyword_forward_rule
from .helpers import accept_array_likes, is_real, shape_of
from .numpy_implemented import implemented
from .numpy_indexing import _nones, _options
from .registry import adjoint, nograd

OUT_UNSUPPORTED = (
    "np.fft.{name}(..., out=...) writes into an existing array, which fluxpy cannot differentiate; drop out="
)

# ---------------------------------------------------------------------------------------------------------
# bookkeeping (never differentiated)


@nograd
def _refuse_out(name, out):
    if out is not None:
        raise FluxpyError(OUT_UNSUPPORTED.format(name=name))


@nograd
def _dual(norm):
    """The normalization of the adjoint transform (NumPy's ``_swap_direction``)."""
    duals = {None: "forward", "backward": "forward", "ortho": "ortho", "forward": "backward"}
    if norm not in duals:
        raise ValueError(f'Invalid norm value {norm}; should be "backward", "ortho" or "forward".')
    return duals[norm]


@nograd
def _shape(a):
    return tuple(shape_of(a)) if is_array(a) else np.shape(a)


@nograd
def _axis_plan(shape, n, axis, kind):
    """``(axis, length, n)``: the transformed axis (non-negative), the input's length along it and the
    transform's ``n`` (NumPy's default where ``n`` is None: the length, or ``2 * (length - 1)`` for
    ``irfft``)."""
    if not shape:
        raise ValueError("the FFT needs an array of at least one dimension")
    axis = int(axis)
    if not -len(shape) <= axis < len(shape):
        raise np.exceptions.AxisError(axis, len(shape))
    axis %= len(shape)
    length = shape[axis]
    if n is None:
        n = 2 * (length - 1) if kind == "irfft" else length
    return axis, length, int(n)


@nograd
def _bin_weights(n, bins, ndim, axis, xp, like, scale):
    """``scale`` on the bins that stand for a pair of bins of the full spectrum (all but the zero bin and,
    for even ``n``, the Nyquist bin), 1 on those two: ``bins`` entries along ``axis`` of ``ndim`` axes."""
    w = np.full(bins, scale)
    w[0] = 1.0
    if n % 2 == 0 and n // 2 < bins:
        w[n // 2] = 1.0
    shape = [1] * ndim
    shape[axis] = bins
    real = np.finfo(np.result_type(getattr(like, "dtype", np.float64), np.float32)).dtype
    return xp.asarray(w.reshape(shape), dtype=real)


@nograd
def _crop_index(ndim, axis, length):
    index = [slice(None)] * ndim
    index[axis] = slice(0, length)
    return tuple(index)


@nograd
def _pad_widths(ndim, axis, extra):
    widths = [(0, 0)] * ndim
    widths[axis] = (0, extra)
    return tuple(widths)


def _resize(g, axis, length):
    """``g`` cropped or zero padded to ``length`` along ``axis`` (the adjoint of NumPy's ``n=``)."""
    shape = _shape(g)
    if shape[axis] > length:
        return g[_crop_index(len(shape), axis, length)]
    if shape[axis] < length:
        return xp_of(g).pad(g, _pad_widths(len(shape), axis, length - shape[axis]))
    return g


def _real_for(g, a):
    """The cotangent ``g`` of ``a``: its real part where ``a`` is real."""
    if is_real(a):
        return xp_of(g).real(g)
    return g


# ---------------------------------------------------------------------------------------------------------
# the one-dimensional transforms


def _fft_options(name, rest, kwargs):
    n, axis, norm, out = _options(rest, kwargs, ("n", None), ("axis", -1), ("norm", None), ("out", None))
    _refuse_out(name, out)
    return n, axis, norm


def _complex_transform_rule(name, dual_name):
    """The rule of ``np.fft.fft`` or ``ifft``: the pullback is the other transform with the dual norm, cut
    or padded back to the input's length (and real for a real input)."""

    def rule(a, *rest, **kwargs):
        n, axis, norm = _fft_options(name, rest, kwargs)
        xp = xp_of(a)
        y = getattr(xp.fft, name)(a, n, axis, norm)
        axis, length, n = _axis_plan(_shape(a), n, axis, name)

        def transform_pullback(dy):
            g = getattr(xp.fft, dual_name)(dy, None, axis, _dual(norm))
            return (_real_for(_resize(g, axis, length), a),) + _nones(rest)

        return y, transform_pullback

    rule.__name__ = f"{name}_rule"
    return adjoint(getattr(np.fft, name))(rule)


fft_rule = _complex_transform_rule("fft", "ifft")
ifft_rule = _complex_transform_rule("ifft", "fft")


@adjoint(np.fft.rfft)
def rfft_rule(a, *rest, **kwargs):
    """A real input (NumPy refuses complex ones): the cotangent is real."""
    n, axis, norm = _fft_options("rfft", rest, kwargs)
    xp = xp_of(a)
    y = xp.fft.rfft(a, n, axis, norm)
    axis, length, n = _axis_plan(_shape(a), n, axis, "rfft")

    def rfft_pullback(dy):
        w = _bin_weights(n, n // 2 + 1, len(_shape(y)), axis, xp, dy, 0.5)
        g = xp.fft.irfft(dy * w, n, axis, _dual(norm))
        return (_resize(g, axis, length),) + _nones(rest)

    return y, rfft_pullback


@adjoint(np.fft.irfft)
def irfft_rule(a, *rest, **kwargs):
    n, axis, norm = _fft_options("irfft", rest, kwargs)
    xp = xp_of(a)
    y = xp.fft.irfft(a, n, axis, norm)
    axis, length, n = _axis_plan(_shape(a), n, axis, "irfft")

    def irfft_pullback(dy):
        if not is_real(dy):  # a real output: the imaginary part of its cotangent is no part of it
            dy = xp.real(dy)
        w = _bin_weights(n, n // 2 + 1, len(_shape(y)), axis, xp, dy, 2.0)
        g = xp.fft.rfft(dy, n, axis, _dual(norm)) * w
        return (_real_for(_resize(g, axis, length), a),) + _nones(rest)

    return y, irfft_pullback


def _linear_jvp(name):
    """Forward mode of a transform linear in its input (real-linear for the real transforms): the same
    transform of the tangent."""

    def transform_jvp(args, targs, kwargs, tkwargs):
        n, axis, norm = _fft_options(name, args[1:], kwargs)
        transform = getattr(xp_of(args[0]).fft, name)
        y = transform(args[0], n, axis, norm)
        t = targs[0]
        if t is None:
            return y, None
        return y, transform(_like(t, args[0]), n, axis, norm)

    transform_jvp.__name__ = f"{name}_jvp"
    return transform_jvp


for _f in (np.fft.fft, np.fft.ifft, np.fft.rfft, np.fft.irfft):
    keyword_forward_rule(_f)(_linear_jvp(_f.__name__))


# ---------------------------------------------------------------------------------------------------------
# the n-dimensional transforms, as NumPy composes them


@nograd
def _cook_nd_args(shape, s=None, axes=None, invreal=False):
    """NumPy's ``_cook_nd_args``: the lengths ``s`` and ``axes`` of an n-dimensional transform."""
    shapeless = s is None
    if s is None:
        s = list(shape) if axes is None else [shape[i] for i in axes]
    s = list(s)
    if axes is None:
        if not shapeless:
            warnings.warn(
                "`axes` should not be `None` if `s` is not `None` (Deprecated in NumPy 2.0). In a future "
                "version of NumPy, this will raise an error and `s[i]` will correspond to the size along the "
                "transformed axis specified by `axes[i]`. To retain current behaviour, pass a sequence "
                "[0, ..., k-1] to `axes` for an array of dimension k.",
                DeprecationWarning,
                stacklevel=4,
            )
        axes = list(range(-len(s), 0))
    axes = list(axes)
    if len(s) != len(axes):
        raise ValueError("Shape and axes have different lengths.")
    if invreal and shapeless:
        s[-1] = (shape[axes[-1]] - 1) * 2
    if None in s:
        warnings.warn(
            "Passing an array containing `None` values to `s` is deprecated in NumPy 2.0 and will raise an "
            "error in a future version of NumPy. To use the default behaviour of the corresponding 1-D "
            "transform, pass the value matching the default for its `n` parameter. To use the default "
            "behaviour for every axis, the `s` argument can be omitted.",
            DeprecationWarning,
            stacklevel=4,
        )
    s = [shape[a] if n == -1 else n for n, a in zip(s, axes, strict=True)]
    return s, axes


def _complex_nd(transform, a, s, axes, norm):
    """``fftn``/``ifftn``: ``transform`` along each axis, the last one first."""
    a = xp_of(a).asarray(a)
    s, axes = _cook_nd_args(a.shape, s, axes)
    for ii in range(len(axes) - 1, -1, -1):
        a = transform(a, s[ii], axes[ii], norm)
    return a


@implemented(np.fft.fftn)
def fftn_impl(a, s=None, axes=None, norm=None, out=None):
    _refuse_out("fftn", out)
    return _complex_nd(np.fft.fft, a, s, axes, norm)


@implemented(np.fft.ifftn)
def ifftn_impl(a, s=None, axes=None, norm=None, out=None):
    _refuse_out("ifftn", out)
    return _complex_nd(np.fft.ifft, a, s, axes, norm)


@implemented(np.fft.fft2)
def fft2_impl(a, s=None, axes=(-2, -1), norm=None, out=None):
    _refuse_out("fft2", out)
    return _complex_nd(np.fft.fft, a, s, axes, norm)


@implemented(np.fft.ifft2)
def ifft2_impl(a, s=None, axes=(-2, -1), norm=None, out=None):
    _refuse_out("ifft2", out)
    return _complex_nd(np.fft.ifft, a, s, axes, norm)


def _rfftn(a, s, axes, norm):
    a = xp_of(a).asarray(a)
    s, axes = _cook_nd_args(a.shape, s, axes)
    a = np.fft.rfft(a, s[-1], axes[-1], norm)
    for ii in range(len(axes) - 2, -1, -1):
        a = np.fft.fft(a, s[ii], axes[ii], norm)
    return a


def _irfftn(a, s, axes, norm):
    a = xp_of(a).asarray(a)
    s, axes = _cook_nd_args(a.shape, s, axes, invreal=True)
    for ii in range(len(axes) - 1):
        a = np.fft.ifft(a, s[ii], axes[ii], norm)
    return np.fft.irfft(a, s[-1], axes[-1], norm)


@implemented(np.fft.rfftn)
def rfftn_impl(a, s=None, axes=None, norm=None, out=None):
    _refuse_out("rfftn", out)
    return _rfftn(a, s, axes, norm)


@implemented(np.fft.rfft2)
def rfft2_impl(a, s=None, axes=(-2, -1), norm=None, out=None):
    _refuse_out("rfft2", out)
    return _rfftn(a, s, axes, norm)


@implemented(np.fft.irfftn)
def irfftn_impl(a, s=None, axes=None, norm=None, out=None):
    _refuse_out("irfftn", out)
    return _irfftn(a, s, axes, norm)


@implemented(np.fft.irfft2)
def irfft2_impl(a, s=None, axes=(-2, -1), norm=None, out=None):
    _refuse_out("irfft2", out)
    return _irfftn(a, s, axes, norm)


# ---------------------------------------------------------------------------------------------------------
# Hermitian transforms, shifts, frequencies


@implemented(np.fft.hfft)
def hfft_impl(a, n=None, axis=-1, norm=None, out=None):
    """``np.fft.hfft``: ``irfft`` of the conjugate, with the dual normalization."""
    _refuse_out("hfft", out)
    a = xp_of(a).asarray(a)
    if n is None:
        n = (a.shape[axis] - 1) * 2
    return np.fft.irfft(np.conjugate(a), n, axis, norm=_dual(norm))


@implemented(np.fft.ihfft)
def ihfft_impl(a, n=None, axis=-1, norm=None, out=None):
    """``np.fft.ihfft``: the conjugate of ``rfft`` with the dual normalization."""
    _refuse_out("ihfft", out)
    a = xp_of(a).asarray(a)
    if n is None:
        n = a.shape[axis]
    return np.conjugate(np.fft.rfft(a, n, axis, norm=_dual(norm)))


@nograd
def _shifts(shape, axes, sign):
    """The ``(shift, axes)`` that ``fftshift`` (``sign`` 1) or ``ifftshift`` (-1) rolls by."""
    if axes is None:
        return [sign * (dim // 2) for dim in shape], tuple(range(len(shape)))
    if isinstance(axes, (int, np.integer)):
        return sign * (shape[axes] // 2), axes
    return [sign * (shape[ax] // 2) for ax in axes], axes


@implemented(np.fft.fftshift)
def fftshift_impl(x, axes=None):
    x = xp_of(x).asarray(x)
    shift, axes = _shifts(x.shape, axes, 1)
    return np.roll(x, shift, axes)


@implemented(np.fft.ifftshift)
def ifftshift_impl(x, axes=None):
    x = xp_of(x).asarray(x)
    shift, axes = _shifts(x.shape, axes, -1)
    return np.roll(x, shift, axes)


nograd(np.fft.fftfreq, np.fft.rfftfreq)


accept_array_likes(__name__)  # lists and tuples where NumPy reads arrays (rules/helpers.py)
