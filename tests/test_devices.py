"""Device parity: every computation gives the same result with NumPy inputs and with device (CuPy) inputs.

Each test runs the same thing twice, on host arrays and on device copies (``fx.gpu``), checks that the
device results are device arrays (no silent fall back to NumPy), and compares them on the host. The device
is ``tests/cupy_standin.py`` (a strict CPU stand-in for CuPy) always, and real CuPy too where it imports and
sees a GPU; the stand-in case runs there as well.

With a GPU: ``pip install cupy-cuda12x`` then ``python -m pytest tests/test_devices.py -q``; the ids
``[cupy]`` are the real-device cases.
"""

import math
import sys

import numpy as np
import pytest

import fluxpy as fx
from fluxpy.backend import is_array, xp_of
from fluxpy.testing import check_grads

from . import cupy_standin


def _real_cupy():
    try:
        import cupy

        if cupy.cuda.runtime.getDeviceCount() > 0:
            return cupy
    except Exception:  # noqa: BLE001  (no CuPy, no driver, no device)
        return None
    return None


REAL_CUPY = _real_cupy()
BACKENDS = ["standin"] + (["cupy"] if REAL_CUPY is not None else [])


@pytest.fixture(params=BACKENDS)
def xp(request, monkeypatch):
    """The device array module: the stand-in (installed as ``cupy`` for this test) or real CuPy."""
    if request.param == "standin":
        cupy_standin.install(monkeypatch)
        return cupy_standin
    monkeypatch.setitem(sys.modules, "cupy", REAL_CUPY)
    return REAL_CUPY


def rand(*shape, seed=0, dtype=np.float64, low=None):
    r = np.random.default_rng(seed)
    x = r.uniform(low, 1.0, shape) if low is not None else r.standard_normal(shape)
    return x.astype(dtype)


# ---------------------------------------------------------------------------------------------------------
# host/device comparison


def is_device(x):
    return is_array(x) and not isinstance(x, np.ndarray)


def assert_on_device(x, where="result"):
    """Every array in ``x`` is a device array: no NumPy array or NumPy scalar came back."""
    if isinstance(x, (np.ndarray, np.generic)):
        raise AssertionError(f"{where} is a NumPy {type(x).__name__}, not a device array: {x!r}")
    if isinstance(x, (tuple, list)):
        for i, v in enumerate(x):
            assert_on_device(v, f"{where}[{i}]")
    elif isinstance(x, dict) or isinstance(x, fx.Tangent):
        for k in x:
            assert_on_device(x[k], f"{where}.{k}")
    elif hasattr(x, "_fields") and isinstance(x, tuple):
        assert_on_device(tuple(x), where)


def to_host(x):
    if is_device(x):
        return x.get()
    if isinstance(x, fx.Tangent):
        return {k: to_host(v) for k, v in x.items()}
    if isinstance(x, dict):
        return {k: to_host(v) for k, v in x.items()}
    if isinstance(x, (tuple, list)):
        return type(x)(to_host(v) for v in x) if not hasattr(x, "_fields") else tuple(to_host(v) for v in x)
    return x


def assert_close(got, expected, rtol=1e-6, atol=1e-9, where="result"):
    if isinstance(expected, fx.Tangent):
        expected = {k: v for k, v in expected.items()}
    if isinstance(expected, dict):
        assert isinstance(got, dict) and got.keys() == expected.keys(), f"{where}: {got!r} vs {expected!r}"
        for k in expected:
            assert_close(got[k], expected[k], rtol, atol, f"{where}.{k}")
    elif isinstance(expected, (tuple, list)):
        assert len(got) == len(expected), f"{where}: {got!r} vs {expected!r}"
        for i, (g, e) in enumerate(zip(got, expected, strict=True)):
            assert_close(g, e, rtol, atol, f"{where}[{i}]")
    elif expected is None or isinstance(expected, (bool, str)) or callable(expected):
        assert got is expected or got == expected, f"{where}: {got!r} vs {expected!r}"
    else:
        if hasattr(expected, "dtype") and hasattr(got, "dtype"):
            assert got.dtype == expected.dtype, f"{where}: dtype {got.dtype} vs {expected.dtype}"
        assert np.shape(got) == np.shape(expected), f"{where}: shape {np.shape(got)} vs {np.shape(expected)}"
        np.testing.assert_allclose(got, expected, rtol=rtol, atol=atol, err_msg=where)


def parity(compute, *args, rtol=1e-6, atol=1e-9):
    """``compute(*args)`` on host arrays and on device copies of them: the same values, device results."""
    moved = fx.gpu(args)
    assert not any(isinstance(a, np.ndarray) for a in moved), "fx.gpu did not move the arrays"
    expected = compute(*args)
    got = compute(*moved)
    assert_on_device(got)
    assert_close(to_host(got), to_host(expected), rtol, atol)
    return got


def grad_parity(f, *args, rtol=1e-6, atol=1e-9):
    """``fx.withgradient(f, *args)``, host vs device."""
    return parity(lambda *a: tuple(fx.withgradient(f, *a)), *args, rtol=rtol, atol=atol)


# ---------------------------------------------------------------------------------------------------------
# the stand-in itself: it refuses what CuPy refuses


def test_device_arrays_refuse_host_arrays_and_implicit_conversion(xp):
    a = xp.asarray(np.arange(3.0))
    assert type(a).__module__.startswith("cupy") and not isinstance(a, np.ndarray)
    for bad in (
        lambda: np.asarray(a),
        lambda: a + np.ones(3),
        lambda: np.ones(3) * a,
        lambda: xp.exp(np.ones(3)),
    ):
        with pytest.raises(TypeError):
            bad()
    s = np.sum(a)
    assert is_device(s) and s.shape == () and float(s) == 3.0
    assert is_device(a[1]) and int(a[1]) == 1 and a[1].item() == 1.0
    assert is_device(np.float32(2.0) * a) and is_device(2 * a)
    assert xp.asnumpy(a).tolist() == [0.0, 1.0, 2.0] and isinstance(a.get(), np.ndarray)


def test_fx_gpu_and_cpu_round_trip_a_model(xp):
    m = fx.Chain(fx.Dense(3, 4, fx.relu), fx.Dense(4, 2))
    g = fx.gpu(m)
    assert g is not m and all(is_device(p) for p in fx.params(g))
    assert all(isinstance(p, np.ndarray) for p in fx.params(m))
    x = rand(5, 3, dtype=np.float32)
    assert is_device(g(xp.asarray(x)))
    back = fx.cpu(g)
    assert all(type(p) is np.ndarray for p in fx.params(back))
    assert_close(back(x), m(x))
    assert fx.f64(g)[0].weight.dtype == np.float64 and is_device(fx.f64(g)[0].weight)
    assert fx.f32(fx.f64(g))[0].weight.dtype == np.float32


# ---------------------------------------------------------------------------------------------------------
# gradient rules, by family: one row per function, gradient with respect to every argument

X = rand(3, 4)
Y = rand(3, 4, seed=1)
V = rand(4, seed=2)
P = rand(3, 4, seed=3, low=0.2)  # positive
U = rand(3, 4, seed=4, low=-0.9) * 0.9  # in (-1, 1)
SQ = rand(3, 3, seed=5) + 3 * np.eye(3)  # well conditioned
SPD = SQ @ SQ.T
IDX = np.array([2, 0, 2])
MASK = X > 0

ELEMENTWISE = [
    ("sin", lambda x: np.sum(np.sin(x)), (X,)),
    ("power-number-base", lambda x: np.sum(np.power(10.0, x) + 2.0**x), (X,)),
    ("cos-tan", lambda x: np.sum(np.cos(x) + np.tan(x * 0.3)), (X,)),
    ("exp-log", lambda p: np.sum(np.exp(p) * np.log(p)), (P,)),
    ("sqrt-cbrt", lambda p: np.sum(np.sqrt(p) + np.cbrt(p)), (P,)),
    ("tanh-sinh-cosh", lambda x: np.sum(np.tanh(x) * np.sinh(x) / np.cosh(x)), (X,)),
    ("arcsin-arccos-arctan", lambda u: np.sum(np.arcsin(u) + np.arccos(u) * np.arctan(u)), (U,)),
    ("arcsinh-arctanh", lambda u: np.sum(np.arcsinh(u) + np.arctanh(u)), (U,)),
    ("abs-sign", lambda x: np.sum(np.abs(x) * np.sign(x) + np.absolute(x)), (X,)),
    ("maximum-minimum", lambda x, y: np.sum(np.maximum(x, y) - np.minimum(x, 0.1)), (X, Y)),
    ("fmax-fmin", lambda x, y: np.sum(np.fmax(x, y) * np.fmin(x, y)), (X, Y)),
    ("where", lambda x, y: np.sum(np.where(x > 0, x * y, -y)), (X, Y)),
    ("clip", lambda x: np.sum(np.clip(x, -0.5, 0.5) ** 2), (X,)),
    ("power", lambda p, y: np.sum(p**y + np.power(p, 2.5)), (P, Y)),
    ("divide", lambda x, p: np.sum(x / p + np.divide(1.0, p) - x // 1.0), (X, P)),
    ("hypot-arctan2", lambda x, y: np.sum(np.hypot(x, y) + np.arctan2(x, y)), (X, Y)),
    ("logaddexp", lambda x, y: np.sum(np.logaddexp(x, y) + np.logaddexp2(x, y)), (X, Y)),
    (
        "expm1-log1p",
        lambda p: np.sum(np.expm1(p) * np.log1p(p) + np.log2(p) + np.log10(p) + np.exp2(p)),
        (P,),
    ),
    ("square-reciprocal", lambda p: np.sum(np.square(p) + np.reciprocal(p)), (P,)),
    ("floor-round", lambda x: np.sum(np.floor(x) * x + np.round(x, 1) + np.ceil(x) + np.trunc(x)), (X,)),
    ("nan_to_num", lambda x: np.sum(np.nan_to_num(x) * 2), (X,)),
    (
        "copysign-fmod",
        lambda x, y: np.sum(np.copysign(x, y) + np.fmod(x, 0.7) + np.remainder(x, 0.7)),
        (X, Y),
    ),
    ("deg-rad-sinc", lambda x: np.sum(np.deg2rad(x) + np.rad2deg(x) * np.sinc(x)), (X,)),
    ("real-conj", lambda x: np.sum(np.real(x) * np.conj(x)), (X,)),
    ("negative-positive", lambda x: np.sum(-x + (+x) * 2 - np.negative(x)), (X,)),
    ("float_power-ldexp", lambda p: np.sum(np.float_power(p, 1.5) + np.ldexp(p, 2)), (P,)),
    ("methods", lambda x: (x.clip(-1, 1) ** 2).sum() + x.conj().mean(), (X,)),
]

REDUCTIONS = [
    ("sum-axis", lambda x: np.sum(np.sum(x, axis=0) ** 2) + x.sum(axis=1, keepdims=True).sum(), (X,)),
    ("mean", lambda x: np.mean(x**2) + np.mean(x, axis=(0, 1)) + x.mean(axis=-1)[0], (X,)),
    ("prod", lambda p: np.sum(np.prod(p, axis=1)) + p.prod(), (P,)),
    ("prod-zeros", lambda x: np.sum(np.prod(x * (x > 0), axis=0)), (X,)),
    (
        "max-min",
        lambda x: np.max(x) - np.min(x, axis=0).sum() + np.amax(x, axis=1, keepdims=True).sum(),
        (X,),
    ),
    ("max-ties", lambda x: np.max(np.round(x)) + np.sum(np.max(np.ones_like(x) * 2.0, axis=0)), (X,)),
    ("std-var", lambda x: np.std(x) + np.var(x, axis=0).sum() + x.std(ddof=1), (X,)),
    ("cumsum-cumprod", lambda p: np.sum(np.cumsum(p, axis=1) * np.cumprod(p, axis=0)), (P,)),
    ("norm", lambda x: np.linalg.norm(x) + np.linalg.norm(x, axis=1).sum() + np.linalg.norm(x, ord=1), (X,)),
    ("nansum-nanmean", lambda x: np.nansum(x**2) + np.nanmean(x) + np.nanmax(x), (X,)),
    ("average", lambda x, p: np.average(x, weights=p) + np.average(x, axis=0).sum(), (X, P)),
    ("logsumexp", lambda x: np.log(np.sum(np.exp(x - np.max(x)))) + np.max(x), (X,)),
    ("ptp-argmax", lambda x: np.sum(x[np.argmax(x, axis=0), np.arange(4)]), (X,)),
    (
        "all-any-count",
        lambda x: np.sum(x) * (np.all(x > -10) + np.any(x > 0) + np.count_nonzero(x > 0)),
        (X,),
    ),
]

INDEXING = [
    (
        "getitem",
        lambda x: np.sum(x[0] * 2 + x[1:3].sum(axis=0) + x[..., 1].sum() + x[:, None, 2].sum()),
        (X,),
    ),
    ("int-array", lambda x, i: np.sum(x[i] ** 2) + np.sum(x[:, i]), (X, IDX)),
    ("host-int-array", lambda x: np.sum(x[np.array([1, 1, 0])] ** 2), (X,)),
    ("bool-mask", lambda x, m: np.sum(x[m] ** 2), (X, MASK)),
    ("element", lambda x: x[1, 2] * x[0, 0] + x[-1, -1], (X,)),
    ("setitem", lambda x, y: np.sum(_setitem(x, y) ** 2), (X, Y)),
    ("setitem-fancy", lambda x, v: np.sum(_setitem_fancy(x, v) ** 2), (X, V)),
    ("inplace", lambda x, y: np.sum(_inplace(x, y) ** 2), (X, Y)),
    ("inplace-index", lambda x, v: np.sum(_inplace_index(x, v) ** 2), (X, V)),
    ("take", lambda x, i: np.sum(np.take(x, i, axis=1) ** 2) + np.sum(np.take(x, [1, 5])), (X, IDX)),
    (
        "take_along_axis",
        lambda x, v: np.sum(np.take_along_axis(x, np.argsort(x, axis=1), axis=1) * v),
        (X, V),
    ),
    ("sort", lambda x, y: np.sum(np.sort(x, axis=0) * y), (X, Y)),
    ("diag-diagonal", lambda s: np.sum(np.diag(s) * 2) + np.trace(s) + np.sum(np.diagonal(s)), (SQ,)),
    ("triu-tril", lambda s: np.sum(np.triu(s) ** 2 + np.tril(s, -1)), (SQ,)),
    (
        "compress-nonzero",
        lambda x: np.sum(x[np.nonzero(x > 0)] ** 2) + np.sum(np.compress([1, 0, 1], x, 0)),
        (X,),
    ),
]


def _setitem(x, y):
    z = x.copy()
    z[0] = 2 * y[1]
    z[1:, 1] = y[0, :2] * x[2, 3]
    return z


def _setitem_fancy(x, v):
    z = x * 1.0
    z[[0, 2], 1] = v[:2]
    z[z > 1.0] = 0.0
    return z


def _inplace(x, y):
    z = x * 1.0
    z += y
    z *= x
    z -= 1.0
    z /= 2.0
    z **= 2
    return z


def _inplace_index(x, v):
    z = np.zeros_like(x)
    z[1] += v * x[0]
    z[:, 0] -= x[:, 1]
    return z


LINALG = [
    ("matmul", lambda x, y, v: np.sum((x @ y.T) ** 2) + np.sum(np.matmul(x, v)), (X, Y, V)),
    ("matmul-vector", lambda v, x: np.sum(x @ v) + v @ v, (V, X)),
    ("dot-inner-outer", lambda x, v: np.sum(np.dot(x, v)) + np.inner(v, v) + np.sum(np.outer(v, v)), (X, V)),
    ("einsum", lambda x, y: np.einsum("ij,ij->", x, y) + np.sum(np.einsum("ij,kj->ik", x, y) ** 2), (X, Y)),
    ("tensordot", lambda x, y: np.sum(np.tensordot(x, y, axes=([1], [1])) ** 2), (X, Y)),
    ("vdot-kron", lambda v: np.vdot(v, v) + np.sum(np.kron(v[:2], v) ** 2), (V,)),
    ("cross", lambda x, y: np.sum(np.cross(x[:, :3], y[:, :3]) ** 2), (X, Y)),
    ("inv-solve", lambda s, v: np.sum(np.linalg.inv(s)) + np.sum(np.linalg.solve(s, v)), (SQ, V[:3])),
    ("det-slogdet", lambda s: np.linalg.det(s) + np.linalg.slogdet(s)[1], (SQ,)),
    ("cholesky", lambda a: np.sum(np.linalg.cholesky(a) ** 2), (SPD,)),
    ("eigh", lambda a: np.sum(np.linalg.eigh(a)[0] ** 2), (SPD,)),
    ("svd", lambda x: np.sum(np.linalg.svd(x, compute_uv=False)), (X,)),
    ("trace", lambda s: np.trace(s @ s), (SQ,)),
]

SHAPE = [
    (
        "reshape-T",
        lambda x: np.sum(x.reshape(2, 6) ** 3) + np.sum(x.T @ x) + np.sum(np.reshape(x, (4, 3))[0]),
        (X,),
    ),
    (
        "transpose-swapaxes",
        lambda x, y: np.sum(np.transpose(x) * y.T) + np.sum(np.swapaxes(x[None], 0, 2) ** 2),
        (X, Y),
    ),
    (
        "moveaxis-expand-squeeze",
        lambda x: np.sum(np.moveaxis(np.expand_dims(x, 0), 0, -1).squeeze(-1) ** 3),
        (X,),
    ),
    (
        "concatenate-stack",
        lambda x, y: np.sum(np.concatenate([x, y], axis=1) ** 2 + np.stack([x, y]).sum(0).sum()),
        (X, Y),
    ),
    ("hstack-vstack", lambda x, y: np.sum(np.hstack([x, y]) ** 2) + np.sum(np.vstack([x, y])[::2]), (X, Y)),
    ("split", lambda x: np.sum(np.split(x, 2, axis=1)[1] ** 2) + np.sum(np.array_split(x, 3)[0]), (X,)),
    (
        "flip-roll",
        lambda x, y: np.sum(np.flip(x, 0) * y + np.roll(x, 1, axis=1) * y**2 + np.fliplr(x)),
        (X, Y),
    ),
    ("tile-repeat", lambda x: np.sum(np.tile(x, (2, 1)) ** 2) + np.sum(np.repeat(x, 2, axis=1) ** 3), (X,)),
    (
        "pad",
        lambda x: np.sum(np.pad(x, 1) ** 2 + 1) + np.sum(np.pad(x, ((0, 1), (2, 0)), mode="edge") ** 2),
        (X,),
    ),
    (
        "broadcast_to-ravel",
        lambda v, x: np.sum(np.broadcast_to(v, (3, 4)) * x) + np.sum(np.ravel(v) ** 2),
        (V, X),
    ),
    ("atleast-column_stack", lambda v: np.sum(np.atleast_2d(v) ** 2) + np.sum(np.column_stack([v, v])), (V,)),
    ("flatten-copy", lambda x: np.sum(x.flatten() ** 2) + np.sum(np.copy(x)) + np.sum(x.ravel()[::3]), (X,)),
]

BROADCASTING = [
    ("column-row", lambda c, r: np.sum((c + r) ** 2 * (c * r)), (X[:, :1], V[None, :])),
    ("vector-matrix", lambda v, x: np.sum(v * x - x / (v**2 + 1)), (V, X)),
    ("0-d", lambda s, x: np.sum(s * x + s**2), (np.array(1.5), X)),
    ("python-float", lambda s, x: np.sum(np.sin(s * x)) + s**2, (1.5, X)),
    ("float32", lambda x, y: np.sum(x * y * 1.5 + 2.0), (X.astype(np.float32), Y.astype(np.float32))),
]

SEQUENCES = [
    (
        "diff-append",
        lambda x, v: np.sum(np.diff(x, axis=0, prepend=v[None, :]) ** 2) + np.sum(np.append(x, v) ** 3),
        (X, V),
    ),
    (
        "convolve-correlate",
        lambda v, w: np.sum(np.convolve(v, w, "same") ** 2) + np.sum(np.correlate(v, w)),
        (V, V[:3]),
    ),
    ("interp", lambda v, k, y: np.sum(np.interp(v, k, y[0, :3]) ** 2), (V, np.array([-1.0, 0.0, 1.5]), Y)),
    (
        "linspace-trapezoid",
        lambda v: np.sum(np.linspace(v[0], v[1], 5) ** 2) + np.trapezoid(v**2, dx=0.5),
        (V,),
    ),
    ("ptp-median-quantile", lambda x: np.ptp(x) + np.sum(np.median(x, axis=0)) + np.quantile(x, 0.3), (X,)),
    (
        "pinv-matrix_power",
        lambda s: np.sum(np.linalg.pinv(s) ** 2) + np.sum(np.linalg.matrix_power(s, 3)),
        (SQ,),
    ),
    (
        "multi_dot-vector_norm",
        lambda x, s: np.sum(np.linalg.multi_dot([x.T, s, x])) + np.linalg.vector_norm(x),
        (X, SQ),
    ),
    ("take-method", lambda x: np.sum(x.take([0, 5, 5]) ** 2), (X,)),
    (
        "fft-rfft-irfft",
        lambda x, v: (
            np.sum(np.abs(np.fft.fft(x, axis=0)) ** 2)
            + np.sum(np.fft.irfft(np.fft.rfft(v, 7) * (1 + 0.5j), 9, norm="ortho") ** 3)
            + np.sum(np.fft.ifft(x, 6).imag ** 2)
        ),
        (X, V),
    ),
    (
        "fftn-rfft2-shift",
        lambda x, y: (
            np.sum(np.abs(np.fft.fftn(x * y, norm="forward")) ** 3)
            + np.sum(np.abs(np.fft.rfft2(x, s=(4, 6))) ** 2)
            + np.sum(np.fft.fftshift(x) * y)
            + np.sum(np.fft.irfftn(np.fft.ifft2(y), axes=(0, 1)) ** 2)
        ),
        (X, Y),
    ),
    (
        "qr",
        lambda x, s: (
            np.sum(np.linalg.qr(x)[1] ** 2)
            + np.sum(np.linalg.qr(s)[0] * s)
            + np.sum(np.linalg.qr(x.T, mode="r") ** 3)
            + np.sum(np.linalg.qr(x, mode="complete")[0] ** 3)
        ),
        (X, SQ),
    ),
    (
        "nan-statistics",
        lambda x: (
            np.nanvar(np.where(x > 1.0, np.nan, x))
            + np.sum(np.nanstd(np.where(x > 1.0, np.nan, x), axis=0) ** 2)
            + np.sum(np.nancumsum(np.where(x > 1.0, np.nan, x), axis=1) ** 2)
            + np.sum(np.nanmedian(np.where(x > 1.0, np.nan, x), axis=1))
            + np.nanquantile(np.where(x > 1.0, np.nan, x), 0.3)
        ),
        (X,),
    ),
    (
        "delete-insert-select",
        lambda x, v: (
            np.sum(np.delete(x, 1, axis=1) ** 2)
            + np.sum(np.insert(x, 2, v, axis=0) ** 3)
            + np.sum(np.select([x > 0], [x * 2], default=v[0]))
        ),
        (X, V),
    ),
    (
        "unique-bincount-histogram",
        lambda v, w: (
            np.sum(np.unique(v) ** 2 * w)
            + np.sum(np.bincount(np.argsort(v), weights=w) ** 2)
            + np.sum(np.histogram(v, bins=3, weights=w)[0] ** 2)
        ),
        (V, Y[0]),
    ),
    (
        "vander-polyfit-gradient",
        lambda v: (
            np.sum(np.vander(v, 3) ** 2) + np.sum(np.polyfit(v, v**2, 1) ** 2) + np.sum(np.gradient(v) ** 2)
        ),
        (V,),
    ),
    (
        "geomspace-unwrap-i0",
        lambda v: np.sum(np.geomspace(1.0 + v[0] ** 2, 3.0, 4)) + np.sum(np.unwrap(v * 4)) + np.sum(np.i0(v)),
        (V,),
    ),
    (
        "block-choose-broadcast_arrays",
        lambda x, v: (
            np.sum(np.block([[x], [v[None, :]]]) ** 2)
            + np.sum(np.choose((v > 0).astype(int), [x[0], v]) ** 2)
            + np.sum(np.broadcast_arrays(x, v)[1] * x)
        ),
        (X, V),
    ),
]

RULES = ELEMENTWISE + REDUCTIONS + INDEXING + LINALG + SHAPE + BROADCASTING + SEQUENCES


@pytest.mark.parametrize("name, f, args", RULES, ids=[r[0] for r in RULES])
def test_rule_gradients(xp, name, f, args):
    rtol = 1e-5 if any(getattr(a, "dtype", None) == np.float32 for a in args) else 1e-6
    grad_parity(f, *args, rtol=rtol)


def _tangent(a, seed):
    if isinstance(a, float):
        return 0.5
    if getattr(a, "dtype", np.dtype(int)).kind != "f":
        return None
    return rand(*a.shape, seed=seed + 10, dtype=a.dtype)


@pytest.mark.parametrize("name, f, args", RULES, ids=[r[0] for r in RULES])
def test_rule_jvp(xp, name, f, args):
    """Forward mode (``fx.jvp``) through the same rules, host vs device."""
    tangents = tuple(_tangent(a, i) for i, a in enumerate(args))
    rtol = 1e-5 if any(getattr(a, "dtype", None) == np.float32 for a in args) else 1e-6
    parity(lambda *both: fx.jvp(f, both[: len(args)], both[len(args) :]), *args, *tangents, rtol=rtol)


SECOND_ORDER_NAMES = {"sin", "exp-log", "maximum-minimum", "matmul", "sum-axis", "getitem", "setitem"}
SECOND_ORDER_NAMES |= {"diff-append", "ptp-median-quantile", "pinv-matrix_power"}
SECOND_ORDER = [r for r in RULES if r[0] in SECOND_ORDER_NAMES]


@pytest.mark.parametrize("name, f, args", SECOND_ORDER, ids=[r[0] for r in SECOND_ORDER])
def test_rule_second_order_check_grads(xp, name, f, args):
    """``fluxpy.testing.check_grads`` on device arguments: first and second derivatives against finite
    differences."""
    check_grads(f, *fx.gpu(args), order=2)


# ---------------------------------------------------------------------------------------------------------
# the interface: gradient, pullback, jacobian, hessian, jvp, hvp, gradient of gradient


def cubic(x, w):
    return np.sum(np.tanh(x @ w) ** 2) + np.sum(x**3)


def test_gradient_withgradient_pullback(xp):
    x, w = rand(2, 3), rand(3, 2, seed=1)
    parity(lambda x, w: fx.gradient(cubic, x, w), x, w)
    parity(lambda x, w: tuple(fx.withgradient(lambda a, b: (cubic(a, b), a * 2), x, w)), x, w)
    dy = rand(2, 3, seed=2)

    def pull(x, w, dy):
        y, back = fx.pullback(lambda a, b: a * np.sin(a @ b @ b.T), x, w)
        return y, back(dy), back(dy * 2)

    parity(pull, x, w, dy)


def test_jacobian_hessian_jvp_hvp(xp):
    x = rand(3)
    parity(lambda x: fx.jacobian(lambda a: np.sin(a) * np.sum(a), x), x)
    parity(lambda x: fx.jacobian(lambda a: np.outer(a, a[:2]), x), x)  # wider output than input: forward mode
    parity(lambda x: fx.hessian(lambda a: np.sum(a**3 * np.exp(a[0])), x), x)
    parity(lambda x, t: fx.jvp(lambda a: np.tanh(a) * a[1], (x,), (t,)), x, rand(3, seed=1))
    parity(lambda x, t: fx.hvp(lambda a: np.sum(np.sin(a) ** 2), x, t), x, rand(3, seed=1))


def test_gradient_of_gradient(xp):
    def outer(x):
        (g,) = fx.gradient(lambda a: np.sum(np.sin(a) * a**2), x)
        return np.sum(g**2)

    parity(lambda x: fx.gradient(outer, x), rand(4))


def test_implicit_params_gradient(xp):
    """``fx.gradient(f, fx.params(w, b))`` with the constants of ``f`` in the parameters' module."""

    def compute(w, b):
        ones = xp_of(w).ones(3)
        gs = fx.gradient(lambda: np.sum(np.tanh(ones @ w + b) ** 2), fx.params(w, b))
        return gs[w], gs[b]

    parity(compute, rand(3, 2), rand(2, seed=1))


# ---------------------------------------------------------------------------------------------------------
# layers: forward, and gradient with respect to the model and the input


def layer_parity(model, x, rtol=1e-5, atol=1e-6, loss=None):
    """Forward pass and gradients (model, input) of ``sum(model(x)**2)``, host vs device."""
    loss = loss or (lambda m, x: np.sum(m(x) ** 2))

    def compute(m, x):
        return m(x), tuple(fx.withgradient(loss, m, x))

    return parity(compute, model, x, rtol=rtol, atol=atol)


IMG = rand(2, 2, 6, 6, dtype=np.float32)
SEQ = rand(5, 2, 3, dtype=np.float32)  # (seq_len, batch, in)

LAYERS = [
    ("Dense", lambda: fx.Dense(4, 3, fx.tanh), rand(5, 4, dtype=np.float32)),
    ("Dense-vector-nobias", lambda: fx.Dense(4, 3, fx.relu, bias=False), rand(4, dtype=np.float32)),
    (
        "Chain",
        lambda: fx.Chain(fx.Dense(4, 5, fx.σ), fx.Dense(5, 3), fx.softmax),
        rand(2, 4, dtype=np.float32),
    ),
    (
        "Chain-activations",
        lambda: fx.Chain(fx.leakyrelu, fx.elu, fx.gelu, fx.swish, fx.softplus, fx.logsoftmax),
        rand(2, 4, dtype=np.float32),
    ),
    ("Conv", lambda: fx.Conv((3, 3), 2, 3, fx.relu, pad=1, stride=2), IMG),
    ("Conv-dilation-groups", lambda: fx.Conv((2, 2), 2, 4, dilation=2, groups=2), IMG),
    ("Conv-1d", lambda: fx.Conv((3,), 2, 3), rand(2, 2, 7, dtype=np.float32)),
    ("CrossCor", lambda: fx.CrossCor((3, 3), 2, 3, pad=fx.SamePad()), IMG),
    ("ConvTranspose", lambda: fx.ConvTranspose((3, 3), 2, 3, stride=2), IMG),
    ("DepthwiseConv", lambda: fx.DepthwiseConv((3, 3), 2, 4), IMG),
    ("MaxPool", lambda: fx.MaxPool((2, 2)), IMG),
    ("MeanPool", lambda: fx.MeanPool((3, 3), stride=1, pad=1), IMG),
    ("AdaptiveMaxPool", lambda: fx.AdaptiveMaxPool((2, 3)), IMG),
    ("AdaptiveMeanPool", lambda: fx.AdaptiveMeanPool((3, 2)), IMG),
    ("GlobalMaxPool", lambda: fx.GlobalMaxPool(), IMG),
    ("GlobalMeanPool", lambda: fx.GlobalMeanPool(), IMG),
    ("flatten", lambda: fx.Chain(fx.MaxPool((2, 2)), fx.flatten, fx.Dense(18, 2)), IMG),
    ("Upsample-nearest", lambda: fx.Upsample(2), IMG),
    ("Upsample-bilinear", lambda: fx.Upsample(2, mode="bilinear"), IMG),
    ("BatchNorm-train", lambda: fx.trainmode(fx.BatchNorm(2, fx.relu)), IMG),
    ("BatchNorm-test", lambda: fx.testmode(fx.BatchNorm(2)), IMG),
    ("LayerNorm", lambda: fx.LayerNorm(6), IMG),
    ("GroupNorm", lambda: fx.trainmode(fx.GroupNorm(4, 2)), rand(2, 4, 3, 3, dtype=np.float32)),
    ("InstanceNorm", lambda: fx.trainmode(fx.InstanceNorm(2, affine=True)), IMG),
    ("Dropout-p0", lambda: fx.trainmode(fx.Dropout(0.0)), IMG),
    ("Dropout-test", lambda: fx.testmode(fx.Dropout(0.5)), IMG),
    ("Scale", lambda: fx.Scale(6, fx.tanh), IMG),
    ("Diagonal", lambda: fx.Diagonal(4), rand(3, 4, dtype=np.float32)),
    ("Maxout", lambda: fx.Maxout(lambda: fx.Dense(4, 3), 3), rand(2, 4, dtype=np.float32)),
    (
        "SkipConnection",
        lambda: fx.SkipConnection(fx.Dense(4, 4, fx.relu), lambda a, b: a + b),
        rand(2, 4, dtype=np.float32),
    ),
    (
        "Parallel",
        lambda: fx.Parallel(lambda a, b: a * b, fx.Dense(4, 3), fx.Dense(4, 3, fx.tanh)),
        rand(2, 4, dtype=np.float32),
    ),
    ("Bilinear-one-input", lambda: fx.Bilinear(4, 4, 2), rand(5, 4, dtype=np.float32)),
    ("RNN", lambda: fx.RNN(3, 4), SEQ),
    ("LSTM", lambda: fx.LSTM(3, 4), SEQ),
    ("GRU", lambda: fx.GRU(3, 4), SEQ),
    ("GRUv3", lambda: fx.GRUv3(3, 4), SEQ),
]


@pytest.mark.parametrize("name, make, x", LAYERS, ids=[r[0] for r in LAYERS])
def test_layers(xp, name, make, x):
    layer_parity(make(), x)


def test_layer_pairwise_fusion(xp):
    m = fx.PairwiseFusion(lambda a, b: a + b, fx.Dense(4, 4), fx.Dense(4, 4))
    layer_parity(
        m, rand(2, 4, dtype=np.float32), loss=lambda m, x: np.sum(m(x)[0] ** 2) + np.sum(m(x)[1] ** 3)
    )


@pytest.mark.parametrize("cell", [fx.RNNCell, fx.LSTMCell, fx.GRUCell, fx.GRUv3Cell])
def test_recurrent_cells(xp, cell):
    layer_parity(cell(3, 4), rand(2, 3, dtype=np.float32), loss=lambda m, x: np.sum(m(x)[0] ** 2))


def test_layer_bilinear_pair_input(xp):
    m = fx.Bilinear(4, 3, 2)
    x1, x2 = rand(5, 4, dtype=np.float32), rand(5, 3, dtype=np.float32, seed=1)
    parity(
        lambda m, a, b: (m((a, b)), fx.gradient(lambda m, a, b: np.sum(m((a, b)) ** 2), m, a, b)),
        m,
        x1,
        x2,
        rtol=1e-5,
    )


def test_layer_embedding(xp):
    m = fx.Embedding(10, 3)
    idx = np.array([1, 4, 4, 9])
    parity(lambda m, i: (m(i), fx.gradient(lambda m: np.sum(m(i) ** 2), m)), m, idx, rtol=1e-5)


def test_layer_dropout_training_masks_like_the_host(xp):
    x = rand(4, 6, dtype=np.float32)

    def compute(x):
        m = fx.trainmode(fx.Dropout(0.5, rng=np.random.default_rng(3)))
        return fx.withgradient(lambda m, x: np.sum(m(x) ** 2), m, x)[1][1]

    parity(compute, x)
    m = fx.trainmode(fx.AlphaDropout(0.3, rng=np.random.default_rng(3)))
    assert is_device(m(xp.asarray(x)))


def test_batchnorm_running_statistics_stay_on_the_device(xp):
    bn = fx.trainmode(fx.BatchNorm(2))
    g = fx.gpu(bn)
    fx.gradient(lambda m: np.sum(m(xp.asarray(IMG)) ** 2), g)
    fx.gradient(lambda m: np.sum(m(IMG) ** 2), bn)
    for name in ("running_mean", "running_var"):
        assert is_device(getattr(g, name))
        assert_close(getattr(g, name).get(), getattr(bn, name), rtol=1e-5)
    assert not np.allclose(bn.running_mean, 0)  # the statistics did move


def test_device_ufuncs_as_activations_are_not_arrays(xp):
    """``Dense(3, 2, cupy.tanh)``: CuPy's ufuncs live in ``cupy`` modules but are not arrays (not parameters,
    no gradient)."""
    m = fx.gpu(fx.Dense(3, 2, xp.tanh))
    assert len(fx.params(m)) == 2 and fx.f32(m).activation is xp.tanh
    x = xp.asarray(rand(4, 3, dtype=np.float32))
    (g,) = fx.gradient(lambda m: np.sum(m(x) ** 2), m)
    assert g.activation is None and is_device(g.weight)
    state = fx.setup(fx.optimise.Adam(), m)
    fx.update(state, m, g)


def test_layers_built_from_device_arrays(xp):
    """``Dense(weight, bias)``, ``Embedding(weight)``, cells from arrays: device arrays are arrays too, and a
    ``bias=True`` made for a device weight is on the device."""
    w, b = rand(3, 4, dtype=np.float32), rand(3, seed=1, dtype=np.float32)
    x = rand(2, 4, dtype=np.float32)
    parity(lambda w, b, x: fx.Dense(w, b, fx.tanh)(x), w, b, x)
    parity(lambda w, x: fx.Bilinear(w.T[None] * 1, True)(x[:, :4], x[:, :3]), w, x)
    parity(lambda w, x: fx.Diagonal(w[0])(x), w, x)
    parity(lambda w: fx.Embedding(w)(np.array([0, 2, 2])), w)
    parity(lambda wi, wh, x: fx.RNNCell(wi, wh)(x)[0], w, rand(3, 3, seed=2, dtype=np.float32), x)
    assert is_device(fx.create_bias(xp.asarray(w), True, 3))


def test_repeated_device_indices_in_assignment_are_refused(xp):
    """``y[idx] = v`` with repeated indices has no gradient model: refused for device indices too."""

    def f(x, i):
        z = x * 1.0
        z[i] = x[0]
        return np.sum(z**2)

    x, i = rand(3, 4), np.array([1, 1])
    with pytest.raises(fx.FluxpyError, match="repeated indices"):
        fx.gradient(f, x, i)
    with pytest.raises(fx.FluxpyError, match="repeated indices"):
        fx.gradient(f, *fx.gpu((x, i)))


def test_onehot_of_device_labels(xp):
    parity(lambda labels: fx.onehot(labels, [0, 1, 2]), np.array([2, 0, 1]))
    parity(lambda labels: fx.onehot(labels, [0, 1, 2], 2), np.array([[2, 7], [0, 1]]))
    parity(lambda labels, classes: fx.onehot(labels, classes), np.array([5, 3]), np.array([3, 4, 5]))


def test_tracker_parameters_on_the_device(xp):
    from fluxpy import tracker

    def step(w, x):
        W = tracker.param(w)
        loss = np.sum((W @ x) ** 2)
        tracker.back(loss)
        g = tracker.grad(W)
        tracker.update(W, -0.1 * g)
        return g, tracker.data(W)

    parity(step, rand(2, 3), rand(3, seed=1))


def test_implicit_gradients_as_one_vector(xp):
    def flat(w, b, x):
        ps = fx.params(w, b)
        gs = fx.gradient(lambda: np.sum(np.tanh(w @ x)), ps)
        return gs.to_vector()

    parity(flat, rand(2, 3), rand(2, seed=1), rand(3, seed=2))


def test_outputsize_of_a_device_model(xp):
    m = fx.gpu(fx.Chain(fx.Conv((3, 3), 2, 4), fx.flatten, fx.Dense(64, 3)))
    assert fx.outputsize(m, (2, 2, 6, 6)) == (2, 3)


# ---------------------------------------------------------------------------------------------------------
# losses


LOSSES = [
    ("mae", fx.losses.mae, rand(4, 3), rand(4, 3, seed=1)),
    ("mse", fx.losses.mse, rand(4, 3), rand(4, 3, seed=1)),
    ("msle", fx.losses.msle, rand(4, 3, low=0.1), rand(4, 3, seed=1, low=0.1)),
    ("huber", fx.losses.huber_loss, rand(4, 3), rand(4, 3, seed=1)),
    ("crossentropy", fx.losses.crossentropy, fx.softmax(rand(4, 3)), np.eye(3)[[0, 2, 1, 1]]),
    ("logitcrossentropy", fx.losses.logitcrossentropy, rand(4, 3), np.eye(3)[[0, 2, 1, 1]]),
    (
        "binarycrossentropy",
        fx.losses.binarycrossentropy,
        rand(4, 3, low=0.05) * 0.9,
        (rand(4, 3, seed=1) > 0) * 1.0,
    ),
    (
        "logitbinarycrossentropy",
        fx.losses.logitbinarycrossentropy,
        rand(4, 3),
        (rand(4, 3, seed=1) > 0) * 1.0,
    ),
    ("kldivergence", fx.losses.kldivergence, fx.softmax(rand(4, 3)), fx.softmax(rand(4, 3, seed=1))),
    ("poisson", fx.losses.poisson_loss, rand(4, 3, low=0.1), rand(4, 3, seed=1, low=0.1)),
    ("hinge", fx.losses.hinge_loss, rand(4, 3), np.sign(rand(4, 3, seed=1))),
    ("squared_hinge", fx.losses.squared_hinge_loss, rand(4, 3), np.sign(rand(4, 3, seed=1))),
    ("dice", fx.losses.dice_coeff_loss, rand(4, 3, low=0.0), (rand(4, 3, seed=1) > 0) * 1.0),
    ("tversky", fx.losses.tversky_loss, rand(4, 3, low=0.0), (rand(4, 3, seed=1) > 0) * 1.0),
    ("binary_focal", fx.losses.binary_focal_loss, rand(4, 3, low=0.05) * 0.9, (rand(4, 3, seed=1) > 0) * 1.0),
    ("focal", fx.losses.focal_loss, fx.softmax(rand(4, 3)), np.eye(3)[[0, 2, 1, 1]]),
    (
        "siamese_contrastive",
        fx.losses.siamese_contrastive_loss,
        rand(4, 3, low=0.0),
        (rand(4, 3, seed=1) > 0) * 1.0,
    ),
]


@pytest.mark.parametrize("name, loss, yhat, y", LOSSES, ids=[r[0] for r in LOSSES])
def test_losses(xp, name, loss, yhat, y):
    parity(lambda a, b: (loss(a, b), fx.gradient(loss, a, b)), yhat, y)


def test_label_smoothing_onehot_onecold(xp):
    y = np.eye(3)[[0, 2, 1]]
    parity(lambda y: fx.losses.label_smoothing(y, 0.1), y)
    scores = rand(4, 3)
    labels = fx.onecold(xp.asarray(scores))
    assert list(np.asarray(to_host(labels)).ravel()) == list(fx.onecold(scores))


# ---------------------------------------------------------------------------------------------------------
# optimisers and training

OPTIMISERS = [
    fx.optimise.Descent(0.1),
    fx.optimise.Momentum(0.01, 0.9),
    fx.optimise.Nesterov(),
    fx.optimise.RMSProp(),
    fx.optimise.Adam(),
    fx.optimise.AdamW(),
    fx.optimise.AdaGrad(),
    fx.optimise.AdaMax(),
    fx.optimise.AdaDelta(),
    fx.optimise.AMSGrad(),
    fx.optimise.NAdam(),
    fx.optimise.RAdam(),
    fx.optimise.Lion(),
    fx.optimise.SignDecay(),
    fx.optimise.WeightDecay(),
    fx.optimise.ClipGrad(0.1),
    fx.optimise.ClipNorm(0.5),
    fx.optimise.OptimiserChain(fx.optimise.ClipNorm(1.0), fx.optimise.Adam()),
]


def tiny_model():
    return fx.Chain(
        fx.Dense(3, 4, fx.tanh, rng=np.random.default_rng(0)), fx.Dense(4, 2, rng=np.random.default_rng(1))
    )


def model_loss(m, x, y):
    return fx.losses.mse(m(x), y)


@pytest.mark.parametrize("opt", OPTIMISERS, ids=lambda o: type(o).__name__)
def test_optimiser_steps(xp, opt):
    x, y = rand(5, 3, dtype=np.float32), rand(5, 2, seed=1, dtype=np.float32)

    def compute(m, x, y):
        state = fx.setup(opt, m)
        for _ in range(2):
            grad = fx.gradient(model_loss, m, x, y)[0]
            state, m = fx.update(state, m, grad)
        return [p * 1 for p in fx.params(m)]

    parity(compute, tiny_model(), x, y, rtol=1e-4, atol=1e-6)


def test_implicit_update(xp):
    def compute(w):
        ps = fx.params(w)
        opt = fx.optimise.Adam(0.1)
        for _ in range(2):
            gs = fx.gradient(lambda: np.sum(np.sin(w) ** 2), ps)
            fx.update(opt, ps, gs)
        return w

    parity(compute, rand(3, 2))


def test_train_explicit_and_implicit_with_device_data(xp):
    x, y = rand(8, 3, dtype=np.float32), rand(8, 2, seed=1, dtype=np.float32)

    def explicit(m, x, y):
        data = fx.DataLoader((x, y), batchsize=4)
        losses = fx.train(model_loss, m, data, fx.setup(fx.optimise.Adam(0.01), m))
        assert all(type(v) is float for v in losses)
        return [p * 1 for p in fx.params(m)], np.array(losses)

    def implicit(m, x, y):
        ps = fx.params(m)
        losses = fx.train(lambda a, b: model_loss(m, a, b), ps, [(x, y)] * 2, fx.optimise.Descent(0.1))
        return [p * 1 for p in ps], np.array(losses)

    got = explicit(fx.gpu(tiny_model()), xp.asarray(x), xp.asarray(y))
    expected = explicit(tiny_model(), x, y)
    assert_on_device(got[0])
    assert_close(to_host(got[0]), expected[0], rtol=1e-4, atol=1e-6)
    assert_close(got[1], expected[1], rtol=1e-4)
    got = implicit(fx.gpu(tiny_model()), xp.asarray(x), xp.asarray(y))
    expected = implicit(tiny_model(), x, y)
    assert_on_device(got[0])
    assert_close(to_host(got[0]), expected[0], rtol=1e-4, atol=1e-6)


def test_dataloader_shuffles_device_arrays(xp):
    x = np.arange(12.0).reshape(6, 2)
    batches = list(fx.DataLoader(xp.asarray(x), batchsize=4, shuffle=True, rng=np.random.default_rng(0)))
    host = list(fx.DataLoader(x, batchsize=4, shuffle=True, rng=np.random.default_rng(0)))
    assert_on_device(batches)
    assert_close(to_host(batches), host)


def test_non_finite_loss_on_device_raises(xp):
    m = fx.gpu(tiny_model())
    x = xp.asarray(np.full((2, 3), np.nan, dtype=np.float32))
    y = xp.asarray(np.zeros((2, 2), dtype=np.float32))
    with pytest.raises(fx.FluxpyError, match="loss is nan"):
        fx.train(model_loss, m, [(x, y)], fx.setup(fx.optimise.Descent(), m))


def test_math_on_device_scalars(xp):
    """A 0-d device array where a Python number is expected (``math.exp(loss)``) reads through ``float``."""
    s = xp.asarray(np.array(0.5))
    parity(lambda x: fx.gradient(lambda a: math.exp(float(np.sum(a))) * np.sum(a**2), x), rand(3))
    assert math.isclose(math.exp(s), math.exp(0.5))


def test_device_constructors_inside_differentiated_code(xp):
    """``xp.asarray``, ``xp.array``, ``xp.full`` called in the function: device results, gradients through
    them (NumPy's rules compute with NumPy, so CuPy's constructors have rules of their own)."""
    x = rand(3)

    def f(x):
        xp_ = sys.modules["cupy"]
        a = xp_.asarray(x)
        b = xp_.array([a[0], a[1] * 2.0])
        return np.sum(a**2) + np.sum(b**3) + np.sum(xp_.full((2,), a[2]) * a[:2])

    got = fx.withgradient(f, x)  # a host argument moved to the device inside f
    assert is_device(got.val) and isinstance(got.grad[0], np.ndarray)
    on_device = fx.withgradient(f, xp.asarray(x))
    assert is_device(on_device.grad[0])
    assert_close(on_device.grad[0].get(), got.grad[0])
    y, t = fx.jvp(f, (xp.asarray(x),), (xp.asarray(rand(3, seed=1)),))
    assert is_device(t)
    assert_close(float(t), float(np.sum(got.grad[0] * rand(3, seed=1))))


def test_array_module_functions_inside_differentiated_code(xp):
    """``xp = xp_of(x); xp.einsum(...)``: the pattern of layers and pullbacks. CuPy's functions take NumPy's
    rules (``cupy.einsum`` is defined in ``cupy.linalg``, ``cupy.sin`` is a ufunc object), never a
    transformation of CuPy's own source."""

    def f(x, w):
        xq = xp_of(x)
        h = xq.tanh(xq.einsum("ij,jk->ik", x, w)) + xq.linalg.norm(x, axis=1, keepdims=True)
        h = xq.where(h > 0, h, 0.1 * h) + xq.maximum(h, 0.2)
        return xq.sum(xq.mean(h**2, axis=0)) + xq.sum(xq.stack([h[0], h[1]]) ** 3)

    grad_parity(f, rand(3, 4), rand(4, 2, seed=1))
    parity(lambda x, w, t: fx.jvp(f, (x, w), (t, None)), rand(3, 4), rand(4, 2, seed=1), rand(3, 4, seed=2))
    parity(
        lambda x, w: fx.gradient(lambda a: np.sum(fx.gradient(f, a, w)[0] ** 2), x),
        rand(3, 4),
        rand(4, 2, seed=1),
    )
