"""Rules of fluxpy/rules/numpy_decompositions.py (qr, eig, eigvals, lstsq, cond, tensorsolve, tensorinv, vecdot,
matvec, vecmat) and fluxpy/rules/numpy_fft.py (np.fft).

One table row per rule and option, checked by ``check_grads`` (order 2, forward mode too) against finite
differences, values compared with NumPy's; complex inputs enter as ``a + 1j * b`` of two real arguments
(``check_grads`` perturbs real values) and complex outputs leave through real losses; a hypothesis sweep over
the one-dimensional transforms' ``n``/``axis``/``norm``; forward over reverse (``fx.hessian``) against reverse
over reverse; each refusal next to a valid neighbour."""

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import fluxpy as fx
from fluxpy.errors import FluxpyError
from fluxpy.rules import numpy_decompositions as dec
from fluxpy.testing import check_grads


def normal(seed, *shape):
    return np.random.default_rng(seed).standard_normal(shape)


X = normal(0, 4, 5)
XI = normal(1, 4, 5)
X3 = normal(2, 3, 4, 5)
X3I = normal(3, 3, 4, 5)
V = normal(4, 6)
VI = normal(5, 6)
W = normal(6, 4, 5) + 1j * normal(7, 4, 5)  # complex weights: real losses of complex outputs
SQ = normal(8, 3, 3) + 3 * np.eye(3)
SQI = normal(9, 3, 3)
STACK = normal(10, 2, 3, 3)
TALL = normal(11, 5, 3)
TALLI = normal(12, 5, 3)
WIDE = normal(13, 3, 5)
WIDEI = normal(14, 3, 5)
NORMS = (None, "backward", "ortho", "forward")


def cube(z):
    """A real loss of a (complex) array that reads real and imaginary parts unevenly."""
    return np.sum(np.abs(z + 0.3) ** 3) + np.sum(np.real(z * (0.5 - 1.5j)))


def real_cube(x):
    return np.sum(x**3) + np.sum(np.sin(x))


# ---------------------------------------------------------------------------------------------------------
# np.fft


FFT_CASES = [
    # fft, ifft: real and complex inputs, n cropping and padding, axis, every norm
    *[
        pytest.param(lambda x, norm=norm: cube(np.fft.fft(x, norm=norm)), (X,), id=f"fft-{norm}")
        for norm in NORMS
    ],
    *[
        pytest.param(
            lambda x, y, n=n: cube(np.fft.fft(x + 1j * y, n, 0, "ortho")), (X, XI), id=f"fft-complex-n{n}"
        )
        for n in (2, 4, 7)
    ],
    *[
        pytest.param(
            lambda x, y, norm=norm: cube(np.fft.ifft(x + 1j * y, n=7, axis=-1, norm=norm)),
            (X, XI),
            id=f"ifft-{norm}",
        )
        for norm in NORMS
    ],
    pytest.param(lambda v: cube(np.fft.ifft(v, 3)), (V,), id="ifft-real-crop"),
    pytest.param(lambda v: cube(np.fft.fft(list(v))), (V,), id="fft-list"),
    # rfft, irfft: the weighting of the non-duplicated bins, odd and even n
    *[
        pytest.param(
            lambda x, norm=norm, n=n: cube(np.fft.rfft(x, n, norm=norm)), (X,), id=f"rfft-{norm}-{n}"
        )
        for norm in NORMS
        for n in (None, 3, 4, 8, 9)
    ],
    pytest.param(lambda x: cube(np.fft.rfft(x, axis=0)), (X3,), id="rfft-axis0"),
    *[
        pytest.param(
            lambda x, y, norm=norm, n=n: real_cube(np.fft.irfft(x + 1j * y, n, norm=norm)),
            (X, XI),
            id=f"irfft-{norm}-{n}",
        )
        for norm in NORMS
        for n in (None, 5, 7, 8, 12)
    ],
    pytest.param(lambda x: real_cube(np.fft.irfft(x, axis=1)), (X3,), id="irfft-real-input"),
    pytest.param(lambda x: real_cube(np.fft.irfft(np.fft.rfft(x), 5)), (X,), id="rfft-irfft-roundtrip"),
    # n-dimensional transforms
    *[
        pytest.param(
            lambda x, y, norm=norm: cube(np.fft.fftn(x + 1j * y, norm=norm)), (X3, X3I), id=f"fftn-{norm}"
        )
        for norm in NORMS
    ],
    pytest.param(
        lambda x, y: cube(np.fft.ifftn(x + 1j * y, s=(3, 6), axes=(0, 2))), (X3, X3I), id="ifftn-s-axes"
    ),
    pytest.param(lambda x: cube(np.fft.fftn(x, axes=(1,))), (X3,), id="fftn-one-axis"),
    pytest.param(lambda x: cube(np.fft.fft2(x)), (X3,), id="fft2"),
    pytest.param(lambda x, y: cube(np.fft.ifft2(x + 1j * y, (2, 7), norm="ortho")), (X3, X3I), id="ifft2-s"),
    pytest.param(lambda x: cube(np.fft.rfftn(x, norm="forward")), (X3,), id="rfftn"),
    pytest.param(lambda x: cube(np.fft.rfftn(x, s=(5, 3), axes=(2, 0))), (X3,), id="rfftn-s-axes"),
    pytest.param(lambda x: cube(np.fft.rfft2(x, s=(3, 6))), (X,), id="rfft2-s"),
    pytest.param(lambda x, y: real_cube(np.fft.irfftn(x + 1j * y)), (X3, X3I), id="irfftn"),
    pytest.param(
        lambda x, y: real_cube(np.fft.irfftn(x + 1j * y, s=(4, 7), axes=(0, 1), norm="ortho")),
        (X3, X3I),
        id="irfftn-s-axes",
    ),
    pytest.param(lambda x, y: real_cube(np.fft.irfft2(x + 1j * y, (3, 9))), (X, XI), id="irfft2-s"),
    # hfft, ihfft, shifts
    *[
        pytest.param(
            lambda x, y, norm=norm: real_cube(np.fft.hfft(x + 1j * y, norm=norm)), (X, XI), id=f"hfft-{norm}"
        )
        for norm in NORMS
    ],
    pytest.param(lambda x, y: real_cube(np.fft.hfft(x + 1j * y, 7, 0)), (X, XI), id="hfft-n-axis"),
    pytest.param(
        lambda x, y: cube(np.fft.irfft(x + 1j * y) * (1 + 1j)), (X, XI), id="irfft-complex-cotangent"
    ),
    pytest.param(lambda x, y: cube(np.fft.hfft(x + 1j * y)), (X, XI), id="hfft-complex-cotangent"),
    *[
        pytest.param(lambda x, norm=norm: cube(np.fft.ihfft(x, norm=norm)), (X,), id=f"ihfft-{norm}")
        for norm in NORMS
    ],
    pytest.param(lambda x: cube(np.fft.ihfft(x, 6, axis=0)), (X,), id="ihfft-n-axis"),
    pytest.param(lambda x: np.sum(np.fft.fftshift(x) * X3), (X3,), id="fftshift"),
    pytest.param(lambda x: np.sum(np.fft.fftshift(x, axes=1) * X3), (X3,), id="fftshift-axis"),
    pytest.param(lambda x: np.sum(np.fft.ifftshift(x, axes=(0, 2)) * X3), (X3,), id="ifftshift-axes"),
    pytest.param(lambda x: cube(np.fft.ifftshift(np.fft.fft(x))), (X,), id="fft-then-ifftshift"),
]


@pytest.mark.parametrize("f, args", FFT_CASES)
def test_fft_gradients_match_finite_differences(f, args):
    check_grads(f, *args, order=2, forward=True)


VALUE_CASES = [
    pytest.param(np.fft.fft, (X,), {"n": 7, "norm": "ortho"}, id="fft"),
    pytest.param(np.fft.ifft, (X + 1j * XI,), {"axis": 0}, id="ifft"),
    pytest.param(np.fft.rfft, (X,), {"n": 9}, id="rfft"),
    pytest.param(np.fft.irfft, (X + 1j * XI,), {"n": 7, "norm": "forward"}, id="irfft"),
    pytest.param(np.fft.fftn, (X3 + 1j * X3I,), {"s": (2, 5), "axes": (0, 2)}, id="fftn"),
    pytest.param(np.fft.ifft2, (X3,), {}, id="ifft2"),
    pytest.param(np.fft.rfftn, (X3,), {"norm": "ortho"}, id="rfftn"),
    pytest.param(np.fft.irfft2, (X + 1j * XI,), {"s": (3, 7)}, id="irfft2"),
    pytest.param(np.fft.hfft, (X + 1j * XI,), {"n": 9}, id="hfft"),
    pytest.param(np.fft.ihfft, (X,), {"axis": 0}, id="ihfft"),
    pytest.param(np.fft.fftshift, (X3,), {"axes": (0, 1)}, id="fftshift"),
    pytest.param(np.fft.ifftshift, (X3,), {}, id="ifftshift"),
    pytest.param(np.linalg.qr, (TALL,), {}, id="qr"),
    pytest.param(np.linalg.qr, (WIDE + 1j * WIDEI,), {"mode": "complete"}, id="qr-complete"),
    pytest.param(np.linalg.eig, (SQ,), {}, id="eig"),
    pytest.param(np.linalg.eigvals, (SQ + 1j * SQI,), {}, id="eigvals"),
    pytest.param(np.linalg.lstsq, (TALL, V[:5]), {}, id="lstsq"),
    pytest.param(
        np.linalg.tensorsolve, (normal(20, 6, 2, 3) + 3 * np.eye(6).reshape(6, 2, 3), V), {}, id="tsolve"
    ),
    pytest.param(
        np.linalg.tensorinv, (normal(21, 4, 6, 8, 3) + 3 * np.eye(24).reshape(4, 6, 8, 3),), {}, id="tinv"
    ),
    pytest.param(np.vecdot, (X + 1j * XI, X), {"axis": 0}, id="vecdot"),
    pytest.param(np.linalg.vecdot, (X, X[0]), {}, id="linalg-vecdot"),
    pytest.param(np.matvec, (X3, V[:5]), {}, id="matvec"),
    pytest.param(np.vecmat, (V[:4] + 1j * VI[:4], X), {}, id="vecmat"),
]


@pytest.mark.parametrize("f, args, kwargs", VALUE_CASES)
def test_values_are_numpys(f, args, kwargs):
    y, _ = fx.pullback(lambda *a: f(*a, **kwargs), *args)
    expected = f(*args, **kwargs)
    assert type(y) is type(expected)
    if isinstance(expected, tuple):
        for got, want in zip(y, expected, strict=True):
            np.testing.assert_array_equal(got, want)
    else:
        np.testing.assert_array_equal(y, expected)


def test_cond_values_match_numpys():
    """``cond`` is implemented with ``svd``, whose singular values (computed with the vectors) may differ from
    NumPy's in the last bit."""
    for p in (None, 2, -2, 1, -1, np.inf, -np.inf, "fro", "nuc"):
        np.testing.assert_allclose(fx.pullback(np.linalg.cond, SQ, p)[0], np.linalg.cond(SQ, p), rtol=1e-13)


TRANSFORMS = {
    "fft": (np.fft.fft, cube, True),
    "ifft": (np.fft.ifft, cube, True),
    "rfft": (np.fft.rfft, cube, False),
    "irfft": (np.fft.irfft, real_cube, True),
    "hfft": (np.fft.hfft, real_cube, True),
    "ihfft": (np.fft.ihfft, cube, False),
}


@settings(max_examples=25, deadline=None)
@given(
    name=st.sampled_from(sorted(TRANSFORMS)),
    shape=st.lists(st.integers(2, 6), min_size=1, max_size=3),
    n=st.one_of(st.none(), st.integers(1, 9)),
    axis_seed=st.integers(0, 5),
    norm=st.sampled_from(NORMS),
    seed=st.integers(0, 2**16),
)
def test_one_dimensional_transforms_sweep(name, shape, n, axis_seed, norm, seed):
    f, loss, complex_input = TRANSFORMS[name]
    axis = axis_seed % len(shape) - len(shape) * (axis_seed % 2)  # negative axes too
    x, y = normal(seed, *shape), normal(seed + 1, *shape)
    if complex_input:
        check_grads(lambda x, y: loss(f(x + 1j * y, n, axis, norm)), x, y, order=2, forward=True)
    else:
        check_grads(lambda x: loss(f(x, n, axis, norm)), x, order=2, forward=True)


def test_rfft_gradient_weights_the_bins_that_stand_for_two():
    """Parseval: ``sum(w |rfft(x)|^2) == n sum(x^2)`` with the mirrored bins counted twice, so its gradient
    is ``2 n x``; without the weights the duplicated bins' gradient would be counted once (even and odd n)."""
    for n in (6, 7):
        x = normal(n, n)
        w = np.full(n // 2 + 1, 2.0)
        w[0] = 1.0
        if n % 2 == 0:
            w[-1] = 1.0
        g = fx.gradient(lambda x, w=w: np.sum(w * np.abs(np.fft.rfft(x)) ** 2), x)[0]
        np.testing.assert_allclose(g, 2 * n * x, rtol=1e-12)
        g = fx.gradient(lambda x: np.sum(np.fft.irfft(np.fft.rfft(x), n) * x), x)[0]
        np.testing.assert_allclose(g, 2 * x, rtol=1e-12)


def test_fftfreq_and_rfftfreq_carry_no_gradient():
    assert fx.gradient(lambda d: np.sum(np.fft.fftfreq(4, d)), 0.5) == (None,)
    assert (
        fx.gradient(lambda x: np.sum(np.fft.rfftfreq(5) * x), V[:3])[0].tolist()
        == np.fft.rfftfreq(5).tolist()
    )


def test_fft_out_is_refused():
    out = np.empty(5, dtype=complex)
    with pytest.raises(FluxpyError, match="out="):
        fx.gradient(lambda x: cube(np.fft.fft(x, out=out)), X[0])
    with pytest.raises(FluxpyError, match="out="):
        fx.gradient(lambda x: cube(np.fft.fftn(x, out=np.empty((4, 5), dtype=complex))), X)
    with pytest.raises(FluxpyError, match="out="):
        fx.jvp(lambda x: cube(np.fft.rfft(x, out=np.empty(3, dtype=complex))), (X[0],), (X[1],))
    check_grads(lambda x: cube(np.fft.fft(x)), X[0])


# ---------------------------------------------------------------------------------------------------------
# qr, eig, eigvals, lstsq, cond, tensorsolve, tensorinv, vecdot, matvec, vecmat


def qr_loss(q, r):
    """A loss of both factors (LAPACK's: R with a real diagonal, so Q and R are unique)."""
    return cube(q) + cube(r)


WQ = normal(30, 5, 5) + 1j * normal(31, 5, 5)


def signless(v):
    """Eigenvectors with their sign divided out. LAPACK makes a real matrix's eigenvectors real (real
    eigenvalues) or their largest component real (complex pairs) with either sign, and the sign can jump
    where the matrix moves by a rounding error; complex matrices' eigenvectors get a positive largest
    component."""
    return v * v[..., ::-1, :]


DECOMPOSITION_CASES = [
    # qr: square, tall, wide, stacks; reduced, complete, r; real and complex
    *[
        pytest.param(lambda a: qr_loss(*np.linalg.qr(a)), (a,), id=f"qr-{name}")
        for name, a in (("square", SQ), ("tall", TALL), ("wide", WIDE), ("stack", STACK), ("tall-stack", X3))
    ],
    *[
        pytest.param(lambda a, b: qr_loss(*np.linalg.qr(a + 1j * b)), (a, b), id=f"qr-complex-{name}")
        for name, a, b in (("square", SQ, SQI), ("tall", TALL, TALLI), ("wide", WIDE, WIDEI))
    ],
    pytest.param(lambda a: np.sum(np.linalg.qr(a).Q * TALL), (TALL,), id="qr-Q-only"),
    pytest.param(lambda a: real_cube(np.linalg.qr(a).R), (WIDE,), id="qr-R-only-wide"),
    pytest.param(lambda a: real_cube(np.linalg.qr(a, mode="r")), (TALL,), id="qr-mode-r"),
    pytest.param(lambda a, b: cube(np.linalg.qr(a + 1j * b, "r")), (WIDE, WIDEI), id="qr-mode-r-complex"),
    pytest.param(lambda a: qr_loss(*np.linalg.qr(a, mode="complete")), (SQ,), id="qr-complete-square"),
    pytest.param(lambda a: qr_loss(*np.linalg.qr(a, mode="complete")), (WIDE,), id="qr-complete-wide"),
    pytest.param(
        lambda a: (
            real_cube(np.linalg.qr(a, mode="complete")[1]) + cube(np.linalg.qr(a, "complete")[0][:, :3])
        ),
        (TALL,),
        id="qr-complete-tall-first-columns",
    ),
    # eig: eigenvalues and eigenvectors (LAPACK's normalization), real spectra and complex pairs, stacks
    pytest.param(lambda a: cube(np.linalg.eigvals(a)), (SQ,), id="eigvals-real-spectrum"),
    pytest.param(lambda a: cube(np.linalg.eigvals(a)), (STACK,), id="eigvals-complex-pairs"),
    pytest.param(lambda a, b: cube(np.linalg.eigvals(a + 1j * b)), (SQ, SQI), id="eigvals-complex"),
    pytest.param(lambda a: cube(np.linalg.eigvals(a)), (normal(32, 5, 5),), id="eigvals-5"),
    pytest.param(
        lambda a: cube(np.linalg.eig(a)[0]) + cube(signless(np.linalg.eig(a)[1]) * WQ[:3, :3]),
        (SQ,),
        id="eig",
    ),
    pytest.param(
        lambda a: cube(signless(np.linalg.eig(a).eigenvectors) * WQ[:3, :3]), (STACK,), id="eig-complex-pairs"
    ),
    pytest.param(
        lambda a, b: (
            cube(np.linalg.eig(a + 1j * b).eigenvalues) + cube(np.linalg.eig(a + 1j * b)[1] * WQ[:3, :3])
        ),
        (SQ, SQI),
        id="eig-complex",
    ),
    pytest.param(lambda a: cube(signless(np.linalg.eig(a)[1]) * WQ), (normal(33, 5, 5),), id="eig-vectors-5"),
    pytest.param(lambda a: cube(signless(np.linalg.eig(a + a.T)[1])), (SQ,), id="eig-symmetric"),
    pytest.param(lambda a: np.linalg.eigvals(a)[0], (normal(34, 1, 1),), id="eigvals-1x1"),
    # lstsq: solution, residuals, singular values; tall, square, wide, rank deficient, complex
    *[
        pytest.param(lambda a, b: real_cube(np.linalg.lstsq(a, b)[0]), (a, b), id=f"lstsq-{name}")
        for name, a, b in (
            ("tall-vector", TALL, V[:5]),
            ("tall-matrix", TALL, X[:, :2].repeat(2, axis=0)[:5]),
            ("square", SQ, V[:3]),
            ("wide", WIDE, X[:3, :2]),
        )
    ],
    pytest.param(
        lambda a, b: real_cube(np.linalg.lstsq(a, b)[1]) + real_cube(np.linalg.lstsq(a, b, rcond=None)[3]),
        (TALL, X[:, :2].repeat(2, axis=0)[:5]),
        id="lstsq-residuals-sv",
    ),
    pytest.param(
        lambda a, b: real_cube(np.linalg.lstsq(a, b)[0]) + real_cube(np.linalg.lstsq(a, b)[1]),
        (TALL, V[:5]),
        id="lstsq-solution-and-residuals",
    ),
    pytest.param(
        lambda a, b, c, d: (
            cube(np.linalg.lstsq(a + 1j * b, c + 1j * d)[0])
            + real_cube(np.linalg.lstsq(a + 1j * b, c + 1j * d)[1])
        ),
        (TALL, TALLI, V[:5], VI[:5]),
        id="lstsq-complex",
    ),
    pytest.param(
        lambda u, v, b: real_cube(np.linalg.lstsq(u @ v, b)[0]),
        (TALL[:, :2], WIDE[:2, :3], V[:5]),
        id="lstsq-rank2",
    ),
    pytest.param(
        lambda u, v, b: real_cube(np.linalg.lstsq(u @ v, b, rcond=1e-10)[0]),
        (WIDE[:, :2], normal(35, 2, 5), X[:3, :2]),
        id="lstsq-rank2-wide",
    ),
    # cond (implemented with svd, norm and inv)
    *[
        pytest.param(lambda a, p=p: np.linalg.cond(a, p), (SQ,), id=f"cond-{p}")
        for p in (None, 2, -2, 1, -np.inf, "fro", "nuc")
    ],
    pytest.param(lambda a: np.sum(np.linalg.cond(a) ** 2), (STACK,), id="cond-stack"),
    pytest.param(lambda a, b: np.linalg.cond(a + 1j * b, "fro"), (SQ, SQI), id="cond-complex-fro"),
    # tensorsolve, tensorinv
    pytest.param(
        lambda a, b: real_cube(np.linalg.tensorsolve(a, b)),
        (normal(36, 6, 2, 3) + 3 * np.eye(6).reshape(6, 2, 3), V),
        id="tensorsolve",
    ),
    pytest.param(
        lambda a, b: real_cube(np.linalg.tensorsolve(a, b)),
        (normal(37, 2, 3, 2, 3) + 3 * np.eye(6).reshape(2, 3, 2, 3), X[:2, :3]),
        id="tensorsolve-2d-b",
    ),
    pytest.param(
        lambda a, b: real_cube(np.linalg.tensorsolve(a, b, axes=(0, 1))),
        (np.moveaxis(normal(38, 6, 2, 3) + 3 * np.eye(6).reshape(6, 2, 3), 0, 2), V),
        id="tensorsolve-axes",
    ),
    pytest.param(
        lambda a, b, c, d: cube(np.linalg.tensorsolve(a + 1j * b, c + 1j * d)),
        (normal(39, 6, 2, 3) + 3 * np.eye(6).reshape(6, 2, 3), normal(40, 6, 2, 3), V, VI),
        id="tensorsolve-complex",
    ),
    pytest.param(
        lambda a: real_cube(np.linalg.tensorinv(a)),
        (normal(41, 4, 6, 8, 3) + 3 * np.eye(24).reshape(4, 6, 8, 3),),
        id="tensorinv",
    ),
    pytest.param(
        lambda a: real_cube(np.linalg.tensorinv(a, ind=1)),
        (normal(42, 6, 2, 3) + 3 * np.eye(6).reshape(6, 2, 3),),
        id="tensorinv-ind1",
    ),
    # vecdot, matvec, vecmat: broadcasting, axis/axes/keepdims, NumPy's conjugations
    pytest.param(lambda a, b: real_cube(np.vecdot(a, b)), (X3, X[0]), id="vecdot-broadcast"),
    pytest.param(
        lambda a, b: real_cube(np.linalg.vecdot(a, b, axis=0)), (X, X[:, :1]), id="linalg-vecdot-axis"
    ),
    pytest.param(
        lambda a, b: real_cube(np.vecdot(a, b, axis=1, keepdims=True)), (X3, X3I), id="vecdot-keepdims"
    ),
    pytest.param(lambda a, b: real_cube(np.vecdot(a, b, axes=[(0,), (1,)])), (X, X.T), id="vecdot-axes"),
    pytest.param(
        lambda a, b: real_cube(np.vecdot(a, b, axes=[(0,), (1,), (1,)], keepdims=True)),
        (X, X.T),
        id="vecdot-axes-keepdims",
    ),
    pytest.param(
        lambda a, b, c, d: cube(np.vecdot(a + 1j * b, c + 1j * d)), (X, XI, X[1], XI[2]), id="vecdot-complex"
    ),
    pytest.param(lambda a, b, c: cube(np.vecdot(a + 1j * b, c)), (X, XI, X[3]), id="vecdot-complex-real"),
    pytest.param(lambda a, b: real_cube(np.matvec(a, b)), (X3, V[:5]), id="matvec"),
    pytest.param(lambda a, b: real_cube(np.matvec(a, b)), (X, X3[:, 0]), id="matvec-batched-vector"),
    pytest.param(
        lambda a, b: real_cube(np.matvec(a, b, axes=[(0, 1), (0,), (0,)])), (X3.T, X[:, :3]), id="matvec-axes"
    ),
    pytest.param(
        lambda a, b, c, d: cube(np.matvec(a + 1j * b, c + 1j * d)),
        (X3, X3I, V[:5], VI[:5]),
        id="matvec-complex",
    ),
    pytest.param(lambda a, b: real_cube(np.vecmat(a, b)), (V[:4], X3), id="vecmat"),
    pytest.param(
        lambda a, b: real_cube(np.vecmat(a, b, axes=[(0,), (1, 0), (0,)])), (X[:, :2], X.T), id="vecmat-axes"
    ),
    pytest.param(
        lambda a, b, c, d: cube(np.vecmat(a + 1j * b, c + 1j * d)),
        (V[:4], VI[:4], X, XI),
        id="vecmat-complex",
    ),
]


@pytest.mark.parametrize("f, args", DECOMPOSITION_CASES)
def test_decomposition_gradients_match_finite_differences(f, args):
    check_grads(f, *args, order=2, forward=True)


@pytest.mark.parametrize("p", [None, 1, np.inf, "nuc"])
def test_cond_of_complex_matrices_first_order(p):
    """Second order of these goes through ``svd``/``norm`` rules of numpy_linalg that are exact at second
    order for real matrices only."""
    check_grads(lambda a, b: np.linalg.cond(a + 1j * b, p), SQ, SQI, order=1, forward=True)


@settings(max_examples=12, deadline=None)
@given(
    m=st.integers(1, 5), n=st.integers(1, 5), batch=st.sampled_from([(), (2,)]), seed=st.integers(0, 2**16)
)
def test_qr_shapes_sweep(m, n, batch, seed):
    a = normal(seed, *batch, m, n)
    check_grads(lambda a: qr_loss(*np.linalg.qr(a)), a, order=2)


@settings(max_examples=10, deadline=None)
@given(n=st.integers(1, 5), seed=st.integers(0, 2**16))
def test_eig_sweep(n, seed):
    a = normal(seed, n, n)
    w = np.linalg.eigvals(a)
    gaps = np.abs(w[:, None] - w[None, :]) + np.eye(n)
    if gaps.min() < 1e-2:  # (nearly) repeated eigenvalues: no derivative of the eigenvectors
        return
    weights = normal(seed + 1, n, n) + 1j * normal(seed + 2, n, n)
    check_grads(
        lambda a: cube(np.linalg.eig(a)[0]) + cube(signless(np.linalg.eig(a)[1]) * weights), a, order=2
    )
    b = normal(seed + 3, n, n)
    check_grads(lambda a, b: cube(np.linalg.eig(a + 1j * b)[1] * weights), a, b, order=2)


def test_eig_matches_jax_where_jax_runs():
    jax = pytest.importorskip("jax")
    jax.config.update("jax_enable_x64", True)
    a = STACK[1]
    weights = WQ[:3, :3]

    def loss(xp, eig, a):
        w, v = eig(a)
        return xp.sum(xp.abs(w) ** 3) + xp.sum(xp.real(v * weights)) + xp.sum(xp.imag(v * weights) ** 2)

    expected = jax.grad(
        lambda a: loss(
            jax.numpy,
            lambda m: jax.lax.linalg.eig(m, compute_left_eigenvectors=False, enable_eigvec_derivs=True),
            a,
        )
    )(a)
    got = fx.gradient(lambda a: loss(np, np.linalg.eig, a), a)[0]
    np.testing.assert_allclose(got, np.asarray(expected), rtol=1e-9, atol=1e-12)


HESSIANS = [
    pytest.param(lambda x: cube(np.fft.fft(x * x[0], 7, norm="ortho")), V, id="fft"),
    pytest.param(lambda x: cube(np.fft.rfft(x**2, 5)), V, id="rfft"),
    pytest.param(lambda x: real_cube(np.fft.irfft(x * (1 + 2j) + x[::-1], 9)), V, id="irfft"),
    pytest.param(lambda x: cube(np.fft.rfft2(np.outer(x, x[:4]))), V, id="rfft2"),
    pytest.param(lambda x: qr_loss(*np.linalg.qr(np.outer(x, x[:3]) + TALL.repeat(2, 0)[:6])), V, id="qr"),
    pytest.param(lambda x: cube(np.linalg.eigvals(np.outer(x[:3], x[3:]) + SQ)), V, id="eigvals"),
    pytest.param(lambda x: real_cube(np.linalg.lstsq(TALL + x[:5, None], x[1:])[0]), V, id="lstsq"),
    pytest.param(lambda x: real_cube(np.vecdot(np.outer(x, x), x)), V, id="vecdot"),
]


@pytest.mark.parametrize("f, x", HESSIANS)
def test_forward_over_reverse_matches_reverse_over_reverse(f, x):
    expected = fx.jacobian(lambda t: fx.gradient(f, t)[0], x)[0]
    np.testing.assert_allclose(fx.hessian(f, x), expected, rtol=1e-9, atol=1e-10)


# ---------------------------------------------------------------------------------------------------------
# refusals, each next to the valid call


def test_qr_raw_mode_is_refused():
    with pytest.raises(FluxpyError, match="mode='raw'"):
        fx.gradient(lambda a: np.sum(np.linalg.qr(a, mode="raw")[0]), TALL)
    h, tau = fx.pullback(lambda a: np.linalg.qr(a, mode="raw"), TALL)[0]
    np.testing.assert_array_equal(tau, np.linalg.qr(TALL, mode="raw")[1])
    check_grads(lambda a: np.sum(np.linalg.qr(a, mode="r") ** 2), TALL)


def test_qr_complete_of_a_tall_matrix_refuses_a_gradient_through_the_completion():
    with pytest.raises(FluxpyError, match="orthonormal completion"):
        fx.gradient(lambda a: np.sum(np.linalg.qr(a, mode="complete")[0] ** 3), TALL)
    check_grads(lambda a: np.sum(np.linalg.qr(a, mode="complete")[0][:, :3] ** 3), TALL)
    check_grads(lambda a: np.sum(np.linalg.qr(a, mode="complete")[0] ** 3), WIDE)


def test_gufunc_options_are_refused():
    with pytest.raises(FluxpyError, match="out="):
        fx.gradient(lambda a: np.sum(np.vecdot(a, a, out=np.empty(4))), X)
    with pytest.raises(FluxpyError, match="dtype= is not supported"):
        fx.gradient(lambda a: np.sum(np.vecdot(a, a, dtype=np.float64)), X)
    with pytest.raises(FluxpyError, match="axis= is not supported"):
        fx.gradient(lambda a: np.sum(np.matvec(a, a[0], axis=-1)), X.T @ X)
    check_grads(lambda a: np.sum(np.vecdot(a, a)), X)


def test_outputs_without_cotangents():
    _, back = fx.pullback(np.linalg.eig, SQ)
    assert back((None, None)) == (None,)
    g = fx.gradient(lambda a: np.linalg.lstsq(a, V[:5])[2] * np.sum(np.linalg.lstsq(a, V[:5])[0]), TALL)[0]
    expected = fx.gradient(lambda a: 3 * np.sum(np.linalg.lstsq(a, V[:5])[0]), TALL)[0]
    np.testing.assert_allclose(g, expected, rtol=1e-12)  # the rank carries no gradient


def test_array_modules_without_the_gufuncs_compute_numpys_values():
    """``vecdot``/``matvec``/``vecmat`` on an array module that lacks them: the same values by sums and
    products (the device path where CuPy has no such function)."""
    z = X + 1j * XI
    for x1, x2, kwargs in (
        (z, X, {}),
        (z, X[:, :1], {"axis": 0}),
        (X3, X3I, {"axis": 1, "keepdims": True}),
        (z, X.T, {"axes": [(0,), (1,), (0,)], "keepdims": True}),
        (X3, X[0], {"axes": [(-1,), (0,)]}),
    ):
        np.testing.assert_allclose(dec._vecdot_fallback(x1, x2, kwargs), np.vecdot(x1, x2, **kwargs))
    np.testing.assert_allclose(dec._matvec_fallback(X3, V[:5], {}, False), np.matvec(X3, V[:5]))
    axes = {"axes": [(0, 1), (0,), (0,)]}
    np.testing.assert_allclose(
        dec._matvec_fallback(X3.T, X[:, :3], axes, False), np.matvec(X3.T, X[:, :3], **axes)
    )
    v = V[:4] + 1j * VI[:4]
    np.testing.assert_allclose(dec._matvec_fallback(v, X3, {}, True), np.vecmat(v, X3))
