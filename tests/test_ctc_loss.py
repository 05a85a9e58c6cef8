"""losses.ctc_loss (kernel and rules: fluxpy/nnlib/ctc.py): values against a brute-force sum over every
alignment and against PyTorch's ctc_loss, first and second derivatives against finite differences, the
edge cases (repeated labels, empty labels, labels too long for the frames, input lengths, float32) and
the errors."""

import itertools

import numpy as np
import pytest

import fluxpy as fx
from fluxpy import losses
from fluxpy.errors import FluxpyError
from fluxpy.nnlib.ctc import THIRD_ORDER
from fluxpy.testing import check_grads

identity = lambda x: x


def logsoftmax(x):
    shifted = x - np.max(x, axis=-1, keepdims=True)
    return shifted - np.log(np.sum(np.exp(shifted), axis=-1, keepdims=True))


def collapse(path, blank):
    """CTC's many-to-one map: merge repeats, then drop blanks."""
    merged = [c for i, c in enumerate(path) if i == 0 or c != path[i - 1]]
    return [c for c in merged if c != blank]


def brute_force(yhat, labels, blank=-1):
    """``-log`` of the summed probability of every path of classes that collapses to ``labels``."""
    time, classes = yhat.shape
    blank %= classes
    p = np.exp(logsoftmax(yhat))
    total = 0.0
    for path in itertools.product(range(classes), repeat=time):
        if collapse(path, blank) == list(labels):
            total += np.prod(p[np.arange(time), path])
    return -np.log(total) if total > 0 else np.inf


rng = np.random.default_rng(0)

# (time, classes, labels): distinct labels, repeats (a blank between them), the empty sequence, a sequence
# that fits the frames exactly, one too long for them
CASES = [
    (4, 3, [0, 1]),
    (4, 3, [1, 1]),
    (5, 3, [0, 0, 1]),
    (3, 3, []),
    (3, 2, [0, 0]),
    (3, 4, [2, 0, 1]),
    (4, 3, [0, 1, 0, 1]),
    (2, 2, [0, 0]),
]


# ---------------------------------------------------------------- values


@pytest.mark.parametrize("time, classes, labels", CASES)
def test_matches_brute_force(time, classes, labels):
    yhat = rng.normal(size=(time, classes)) * 2
    expected = brute_force(yhat, labels)
    got = losses.ctc_loss(yhat, labels)
    if np.isinf(expected):
        assert got == np.inf
    else:
        np.testing.assert_allclose(got, expected, rtol=1e-12)


def test_other_blank_matches_brute_force():
    yhat = rng.normal(size=(4, 3))
    np.testing.assert_allclose(losses.ctc_loss(yhat, [2, 1], blank=0), brute_force(yhat, [2, 1], blank=0))


def test_batch_is_each_sequence_and_agg():
    yhat = rng.normal(size=(3, 5, 4))
    labels = [[0, 1], [2, 2, 2], []]
    each = [losses.ctc_loss(yhat[i], labels[i]) for i in range(3)]
    np.testing.assert_allclose(losses.ctc_loss(yhat, labels, agg=identity), each, rtol=1e-12)
    np.testing.assert_allclose(losses.ctc_loss(yhat, labels), np.mean(each), rtol=1e-12)
    np.testing.assert_allclose(losses.ctc_loss(yhat, labels, agg=np.sum), np.sum(each), rtol=1e-12)
    rows = np.array([[0, 1, 0], [2, 2, 2], [1, 1, 1]])  # a 2-D integer array: its rows
    np.testing.assert_allclose(losses.ctc_loss(yhat, rows, agg=identity)[1], each[1], rtol=1e-12)


def test_input_lengths_ignore_the_later_frames():
    yhat = rng.normal(size=(2, 6, 3))
    labels = [[0, 1], [1]]
    got = losses.ctc_loss(yhat, labels, input_lengths=[4, 2], agg=identity)
    expected = [losses.ctc_loss(yhat[0, :4], labels[0]), losses.ctc_loss(yhat[1, :2], labels[1])]
    np.testing.assert_allclose(got, expected, rtol=1e-12)
    g = fx.gradient(lambda x: losses.ctc_loss(x, labels, input_lengths=[4, 2]), yhat)[0]
    assert np.all(g[0, 4:] == 0) and np.all(g[1, 2:] == 0)


def test_too_long_is_infinite_with_nan_gradient_as_torch():
    yhat = rng.normal(size=(3, 3))
    assert losses.ctc_loss(yhat, [0, 0]) < np.inf  # a-a fits 3 frames
    assert losses.ctc_loss(yhat, [0, 0, 1]) == np.inf  # a-ab needs 4
    g = fx.gradient(lambda x: losses.ctc_loss(x, [0, 0, 1]), yhat)[0]
    assert np.all(np.isnan(g))


def test_zero_infinity_zeroes_only_the_infinite_losses():
    yhat = rng.normal(size=(2, 3, 3))
    labels = [[0, 0, 1], [0, 1]]
    f = lambda x: losses.ctc_loss(x, labels, zero_infinity=True, agg=np.sum)
    values = losses.ctc_loss(yhat, labels, zero_infinity=True, agg=identity)
    assert values[0] == 0 and values[1] == losses.ctc_loss(yhat[1], labels[1])
    g = fx.gradient(f, yhat)[0]
    assert np.all(g[0] == 0) and np.all(np.isfinite(g[1])) and np.any(g[1] != 0)
    check_grads(f, yhat, order=2)


def test_long_sequences_and_large_scores_stay_finite():
    yhat = rng.normal(size=(200, 6)) * 30  # probabilities far below float64's smallest number
    labels = list(rng.integers(0, 5, size=60))
    value = losses.ctc_loss(yhat, labels)
    g = fx.gradient(lambda x: losses.ctc_loss(x, labels), yhat)[0]
    assert np.isfinite(value) and value > 700 and np.all(np.isfinite(g))
    np.testing.assert_allclose(g.sum(axis=-1), 0, atol=1e-9)  # softmax - occupancy: both sum to 1


def test_float32_stays_float32():
    yhat = rng.normal(size=(2, 5, 4))
    labels = [[0, 1], [2, 2]]
    value = losses.ctc_loss(yhat.astype(np.float32), labels)
    g = fx.gradient(lambda x: losses.ctc_loss(x, labels), yhat.astype(np.float32))[0]
    assert value.dtype == np.float32 and g.dtype == np.float32
    g64 = fx.gradient(lambda x: losses.ctc_loss(x, labels), yhat)[0]
    np.testing.assert_allclose(value, losses.ctc_loss(yhat, labels), rtol=1e-5)
    np.testing.assert_allclose(g, g64, atol=1e-5)


# ---------------------------------------------------------------- derivatives


@pytest.mark.parametrize(
    "time, classes, labels", [c for c in CASES if brute_force(np.zeros(c[:2]), c[2]) < np.inf]
)
def test_derivatives_against_finite_differences(time, classes, labels):
    yhat = rng.normal(size=(time, classes))
    check_grads(lambda x: losses.ctc_loss(x, labels), yhat, order=2)


def test_batched_derivatives_against_finite_differences():
    yhat = rng.normal(size=(3, 6, 4))
    f = lambda x: losses.ctc_loss(x, [[0, 1, 1], [], [2, 2, 0]], input_lengths=[6, 3, 5], agg=np.sum)
    check_grads(f, yhat, order=2)


def test_gradient_is_softmax_minus_occupancy():
    # one frame per label: the only alignment emits the labels in order, so the occupancy is one-hot
    yhat = rng.normal(size=(3, 4))
    g = fx.gradient(lambda x: losses.ctc_loss(x, [0, 1, 2]), yhat)[0]
    occupancy = np.eye(4)[[0, 1, 2]]
    np.testing.assert_allclose(g, np.exp(logsoftmax(yhat)) - occupancy, atol=1e-12)


def test_hessian_is_symmetric_and_hvp_agrees():
    yhat = rng.normal(size=(4, 3))
    f = lambda x: losses.ctc_loss(x, [0, 1])
    h = fx.hessian(f, yhat).reshape(12, 12)
    np.testing.assert_allclose(h, h.T, atol=1e-12)
    v = rng.normal(size=(4, 3))
    np.testing.assert_allclose(fx.hvp(f, yhat, v), (h @ v.reshape(-1)).reshape(4, 3), atol=1e-10)


def test_jvp_against_gradient():
    yhat, t = rng.normal(size=(2, 4, 3)), rng.normal(size=(2, 4, 3))
    f = lambda x: losses.ctc_loss(x, [[0, 1], [1]])
    _, dy = fx.jvp(f, (yhat,), (t,))
    np.testing.assert_allclose(dy, np.sum(fx.gradient(f, yhat)[0] * t), rtol=1e-10)


def test_third_derivative_raises():
    yhat = rng.normal(size=(3, 3))
    f = lambda x: losses.ctc_loss(x, [0])
    second = lambda x: fx.gradient(lambda z: fx.gradient(f, z)[0][0, 0], x)[0][1, 1]
    assert np.isfinite(second(yhat))  # the second derivative is fine
    with pytest.raises(FluxpyError, match="third derivative"):
        fx.gradient(second, yhat)
    assert "ctc_hvp" in THIRD_ORDER


def test_in_a_model():
    model = fx.Dense(5, 4, rng=np.random.default_rng(1))
    x = rng.normal(size=(2, 6, 5)).astype(np.float32)  # (batch, time, features): Dense acts on each frame
    labels = [[0, 1, 0], [2]]
    loss = lambda m: losses.ctc_loss(m(x), labels)
    g = fx.gradient(loss, model)[0]
    assert g.weight.shape == (4, 5) and g.bias.shape == (4,)
    check_grads(loss, model, order=1)
    state = fx.setup(fx.optimise.Adam(0.1), model)
    before = loss(model)
    for _ in range(20):
        state, model = fx.update(state, model, fx.gradient(loss, model)[0])
    assert loss(model) < before / 2


# ---------------------------------------------------------------- against PyTorch


def torch_ctc(yhat, labels, blank, input_lengths=None):
    """PyTorch's per-sequence losses and gradient (of their sum) with respect to ``yhat`` (N, T, C)."""
    torch = pytest.importorskip("torch")
    n, time, _ = yhat.shape
    x = torch.tensor(yhat, requires_grad=True)
    log_probs = torch.log_softmax(x, -1).transpose(0, 1)  # (T, N, C)
    targets = torch.tensor([c for s in labels for c in s], dtype=torch.long)
    lengths = torch.tensor([time] * n if input_lengths is None else input_lengths)
    target_lengths = torch.tensor([len(s) for s in labels])
    out = torch.nn.functional.ctc_loss(
        log_probs, targets, lengths, target_lengths, blank=blank, reduction="none"
    )
    out.sum().backward()
    return out.detach().numpy(), x.grad.numpy()


@pytest.mark.parametrize("blank", [-1, 0])
def test_matches_torch(blank):
    yhat = rng.normal(size=(4, 12, 6)) * 3
    labels = [[0, 1, 2, 3], [3, 3, 1], [], [2, 2, 2, 2, 2]] if blank == -1 else [[1, 2], [5, 5], [], [4]]
    input_lengths = [12, 9, 5, 11]
    expected, grad = torch_ctc(yhat, labels, yhat.shape[-1] - 1 if blank == -1 else 0, input_lengths)
    f = lambda x: losses.ctc_loss(x, labels, blank=blank, input_lengths=input_lengths, agg=np.sum)
    np.testing.assert_allclose(
        losses.ctc_loss(yhat, labels, blank=blank, input_lengths=input_lengths, agg=identity),
        expected,
        rtol=1e-10,
    )
    np.testing.assert_allclose(fx.gradient(f, yhat)[0], grad, atol=1e-10)


def test_matches_torch_when_infinite():
    yhat = rng.normal(size=(1, 3, 3))
    expected, grad = torch_ctc(yhat, [[0, 0, 1]], 2)
    assert expected[0] == np.inf and np.all(np.isnan(grad))
    assert losses.ctc_loss(yhat, [[0, 0, 1]]) == np.inf


# ---------------------------------------------------------------- errors, and nearby valid calls


@pytest.mark.parametrize(
    "yhat, labels, kw, message",
    [
        (np.zeros(4), [0], {}, "shape"),
        (np.zeros((2, 3, 4, 5)), [0], {}, "shape"),
        (np.zeros((0, 3)), [], {}, "at least one frame"),
        (np.zeros((3, 3)), [3], {}, "class indices"),
        (np.zeros((3, 3)), [2], {}, "blank"),
        (np.zeros((3, 3)), [0], {"blank": 0}, "blank"),
        (np.zeros((3, 3)), [-1], {}, "class indices"),
        (np.zeros((3, 3)), np.eye(3)[[0, 1]], {}, "not one-hot"),
        (np.zeros((3, 3)), [0.0, 1.0], {}, "integer"),
        (np.zeros((3, 3)), [0], {"blank": 3}, "blank=3"),
        (np.zeros((2, 3, 3)), [[0]], {}, "list of 2"),
        (np.zeros((2, 3, 3)), [0, 1], {}, "1-D sequence"),
        (np.zeros((2, 3, 3)), [[0], [1]], {"input_lengths": [3, 4]}, "input_lengths"),
        (np.zeros((2, 3, 3)), [[0], [1]], {"input_lengths": [0, 3]}, "input_lengths"),
        (np.zeros((2, 3, 3)), [[0], [1]], {"input_lengths": [3]}, "input_lengths"),
    ],
)
def test_errors(yhat, labels, kw, message):
    with pytest.raises(FluxpyError, match=message):
        losses.ctc_loss(yhat, labels, **kw)


def test_valid_neighbours_of_the_errors():
    assert np.isfinite(losses.ctc_loss(np.zeros((3, 3)), [1]))
    assert np.isfinite(losses.ctc_loss(np.zeros((3, 3)), [2], blank=0))
    assert np.isfinite(losses.ctc_loss(np.zeros((3, 3)), np.array([0, 1], dtype=np.uint8)))
    assert np.isfinite(losses.ctc_loss(np.zeros((3, 3)), ()))
    assert np.isfinite(losses.ctc_loss(np.zeros((2, 3, 3)), ([0], [1]), input_lengths=np.array([3, 1])))


# ---------------------------------------------------------------- device arrays (CuPy's stand-in)


def test_device_arrays_match_the_host(monkeypatch):
    from . import cupy_standin

    cupy_standin.install(monkeypatch)
    yhat = rng.normal(size=(2, 5, 4))
    labels = [[0, 1, 1], [2]]
    f = lambda x: losses.ctc_loss(x, labels, input_lengths=[5, 3])
    x = cupy_standin.asarray(yhat)
    value, g = f(x), fx.gradient(f, x)[0]
    hvp = fx.hvp(f, x, cupy_standin.asarray(yhat[::-1].copy()))
    assert type(g) is cupy_standin.ndarray and type(hvp) is cupy_standin.ndarray
    np.testing.assert_allclose(float(value), f(yhat), rtol=1e-12)
    np.testing.assert_allclose(g.get(), fx.gradient(f, yhat)[0], atol=1e-12)
    np.testing.assert_allclose(hvp.get(), fx.hvp(f, yhat, yhat[::-1].copy()), atol=1e-10)
    device_labels = cupy_standin.asarray(np.array([[0, 1], [2, 2]]))  # labels on the device are read too
    np.testing.assert_allclose(
        float(losses.ctc_loss(x, device_labels)), losses.ctc_loss(yhat, [[0, 1], [2, 2]]), rtol=1e-12
    )
