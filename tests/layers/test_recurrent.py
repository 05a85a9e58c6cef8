"""Recurrent layers (RNN, LSTM, GRU, GRUv3 and their cells) and Embedding: shapes, reprs, values against
hand-written NumPy equations and PyTorch, gradients against finite differences."""

import inspect
import re

import numpy as np
import pytest

import fluxpy as fx
from fluxpy.layers.recurrent import (
    GRU,
    LSTM,
    RNN,
    Embedding,
    GRUCell,
    GRUv3,
    GRUv3Cell,
    LSTMCell,
    RNNCell,
)
from fluxpy.testing import check_grads

rng = np.random.default_rng(0)


def _sig(x):
    return 1 / (1 + np.exp(-x))


# hand-written references: (x, h[, c]) -> new state, weights passed explicitly


def ref_rnn(Wi, Wh, b, x, h, act=np.tanh):
    return act(x @ Wi.T + h @ Wh.T + b)


def ref_lstm(Wi, Wh, b, x, h, c):
    n = Wh.shape[1]
    z = x @ Wi.T + h @ Wh.T + b
    i, f, g, o = (z[..., k * n : (k + 1) * n] for k in range(4))
    c = _sig(f) * c + _sig(i) * np.tanh(g)
    return _sig(o) * np.tanh(c), c


def ref_gru(Wi, Wh, b, x, h):
    n = Wh.shape[1]
    Wir, Wiz, Win = Wi[:n], Wi[n : 2 * n], Wi[2 * n :]
    Whr, Whz, Whn = Wh[:n], Wh[n : 2 * n], Wh[2 * n :]
    br, bz, bn = b[:n], b[n : 2 * n], b[2 * n :]
    r = _sig(x @ Wir.T + h @ Whr.T + br)
    z = _sig(x @ Wiz.T + h @ Whz.T + bz)
    cand = np.tanh(x @ Win.T + bn + r * (h @ Whn.T))
    return (1 - z) * cand + z * h


def ref_gruv3(Wi, Wh, Wh_n, b, x, h):
    """Cho et al. v3 (Flux's GRUv3Cell): the reset gate scales h before the candidate's own product."""
    n = Wh_n.shape[0]
    Wir, Wiz, Win = Wi[:n], Wi[n : 2 * n], Wi[2 * n :]
    Whr, Whz = Wh[:n], Wh[n : 2 * n]
    br, bz, bn = b[:n], b[n : 2 * n], b[2 * n :]
    r = _sig(x @ Wir.T + h @ Whr.T + br)
    z = _sig(x @ Wiz.T + h @ Whz.T + bz)
    cand = np.tanh(x @ Win.T + (r * h) @ Wh_n.T + bn)
    return (1 - z) * cand + z * h


def _f64_with_bias(cell):
    """The cell in float64 with a random (non-zero) bias, so the bias is exercised."""
    cell = fx.f64(cell)
    cell.bias = rng.standard_normal(cell.bias.shape)
    return cell


# shapes and reprs


@pytest.mark.parametrize("batch", [(), (2,)])
def test_cell_shapes_and_state_conventions(batch):
    x = np.ones(batch + (3,), dtype=np.float32)
    y, h = RNNCell(3, 5)(x)
    assert y.shape == batch + (5,) and y is h and y.dtype == np.float32
    y, (h, c) = LSTMCell(3, 5)(x)
    assert y.shape == h.shape == c.shape == batch + (5,) and y is h
    y, h = GRUCell(3, 5)(x)
    assert y.shape == batch + (5,) and y is h
    y, h = GRUv3Cell(3, 5)(x)
    assert y.shape == batch + (5,) and y is h and y.dtype == np.float32


@pytest.mark.parametrize("layer", [RNN, LSTM, GRU, GRUv3])
@pytest.mark.parametrize("batch", [(), (2,)])
def test_sequence_shapes(layer, batch):
    m = layer(3, 5)
    y = m(rng.standard_normal((7,) + batch + (3,)).astype(np.float32))
    assert y.shape == (7,) + batch + (5,) and y.dtype == np.float32


def test_reprs_fields_and_params():
    assert repr(RNN(3, 5)) == "RNN(3, 5)"
    assert repr(RNN(3, 5, fx.relu)) == "RNN(3, 5, relu)"
    assert repr(RNNCell(3, 5, bias=False)) == "RNNCell(3, 5, bias=False)"
    assert repr(LSTM(3, 5)) == "LSTM(3, 5)"
    assert repr(LSTMCell(3, 5)) == "LSTMCell(3, 5)"
    assert repr(GRU(3, 5)) == "GRU(3, 5)"
    assert repr(GRUCell(3, 5, bias=False)) == "GRUCell(3, 5, bias=False)"
    assert repr(Embedding(10, 4)) == "Embedding(10, 4)"
    m = LSTM(3, 5)
    assert set(fx.children(m)) == {"cell"} and set(fx.children(m.cell)) == {"Wi", "Wh", "bias"}
    assert m.cell.Wi.shape == (20, 3) and m.cell.Wh.shape == (20, 5) and m.cell.bias.shape == (20,)
    assert GRU(3, 5).cell.Wi.shape == (15, 3)
    assert len(fx.params(m)) == 3 and len(fx.params(RNN(3, 5, bias=False))) == 2
    assert len(fx.params(Embedding(10, 4))) == 1
    assert fx.Chain(Embedding(10, 4), LSTM(4, 3)).layers[1].cell.Wi.shape == (12, 4)


def test_gruv3_repr_fields_and_params():
    cell = GRUv3Cell(3, 5)
    assert repr(cell) == "GRUv3Cell(3, 5)" and repr(GRUv3(3, 5)) == "GRUv3(3, 5)"
    assert repr(GRUv3(3, 5, bias=False)) == "GRUv3(3, 5, bias=False)"
    assert set(fx.children(cell)) == {"Wi", "Wh", "Wh_n", "bias"}
    assert (cell.Wi.shape, cell.Wh.shape, cell.Wh_n.shape, cell.bias.shape) == (
        (15, 3),
        (10, 5),
        (5, 5),
        (15,),
    )
    assert all(a.dtype == np.float32 for a in (cell.Wi, cell.Wh, cell.Wh_n, cell.bias))
    m = GRUv3(cell)
    assert m.cell is cell and set(fx.children(m)) == {"cell"}
    ps = fx.params(m)
    assert len(ps) == 4 and all(a in ps for a in (cell.Wi, cell.Wh, cell.Wh_n, cell.bias))
    assert len(fx.params(GRUv3(3, 5, bias=False))) == 3
    # the implicit-parameter gradient reaches every array, Wh_n included
    x = rng.standard_normal((4, 2, 3)).astype(np.float32)
    h0 = rng.standard_normal((2, 5)).astype(np.float32)
    gs = fx.gradient(lambda: np.sum(m(x, h0) ** 2), ps)
    for a in (cell.Wi, cell.Wh, cell.Wh_n, cell.bias):
        assert gs[a] is not None and gs[a].shape == a.shape and np.any(gs[a] != 0)


# what the cells and sequence layers share (one base each): signatures, field order, printing, keywords

_INIT = "*, init=glorot_uniform, init_recurrent=glorot_uniform, bias=True, rng=None"
_INIT_NO_BIAS = (
    "*, init=glorot_uniform, init_recurrent=glorot_uniform, rng=None"  # bias is positional (Flux 0.15)
)
SIGNATURES = [  # (class, constructor, call)
    (RNNCell, f"(n_in, n_out=None, activation=tanh, {_INIT})", "(self, x, h=None)"),
    (LSTMCell, f"(n_in, n_out=None, bias=True, {_INIT_NO_BIAS})", "(self, x, state=None)"),
    (GRUCell, f"(n_in, n_out=None, bias=True, {_INIT_NO_BIAS})", "(self, x, h=None)"),
    (GRUv3Cell, f"(n_in, n_out=None, Wh_n=None, {_INIT})", "(self, x, h=None)"),
    (RNN, "(n_in, n_out=None, activation=tanh, **kwargs)", "(self, x, h0=None)"),
    (LSTM, "(n_in, n_out=None, **kwargs)", "(self, x, state0=None)"),
    (GRU, "(n_in, n_out=None, **kwargs)", "(self, x, h0=None)"),
    (GRUv3, "(n_in, n_out=None, **kwargs)", "(self, x, h0=None)"),
]


def _shown(f):
    return re.sub(r"<function (\w+) at 0x[0-9a-f]+>", r"\1", str(inspect.signature(f)))


@pytest.mark.parametrize("cls, init, call", SIGNATURES, ids=lambda v: getattr(v, "__name__", ""))
def test_constructor_and_call_signatures(cls, init, call):
    assert _shown(cls) == init and _shown(cls.__call__) == call


_W = {
    n: rng.standard_normal(s) for n, s in [("Wi1", (2, 3)), ("Wh1", (2, 2)), ("Wi3", (6, 3)), ("Wh3", (6, 2))]
}
_W |= {"Wi4": rng.standard_normal((8, 3)), "Wh4": rng.standard_normal((8, 2)), "Wh2": _W["Wh3"][:4]}
FIELDS = [  # (built, fields in order: fx.children, fx.params and a gradient's Tangent follow it)
    (lambda: RNNCell(3, 2), ["Wi", "Wh", "bias", "activation"]),
    (lambda: RNNCell(_W["Wi1"], _W["Wh1"], fx.relu), ["Wi", "Wh", "bias", "activation"]),
    (lambda: LSTMCell(3, 2), ["Wi", "Wh", "bias"]),
    (lambda: LSTMCell(_W["Wi4"], _W["Wh4"], bias=False), ["Wi", "Wh", "bias"]),
    (lambda: GRUCell(3, 2), ["Wi", "Wh", "bias"]),
    (lambda: GRUCell(_W["Wi3"], _W["Wh3"]), ["Wi", "Wh", "bias"]),
    (lambda: GRUv3Cell(3, 2), ["Wi", "Wh", "Wh_n", "bias"]),
    (lambda: GRUv3Cell(_W["Wi3"], _W["Wh2"], _W["Wh1"]), ["Wi", "Wh", "Wh_n", "bias"]),
]


@pytest.mark.parametrize("build, fields", FIELDS)
def test_cell_fields_in_order_and_the_gradient_mirrors_them(build, fields):
    cell = fx.f64(build())
    assert list(fx.children(cell)) == fields
    arrays = [getattr(cell, f) for f in fields if isinstance(getattr(cell, f), np.ndarray)]
    assert [id(p) for p in fx.params(cell)] == [id(a) for a in arrays]
    (dcell,) = fx.gradient(lambda c: np.sum(c(np.ones((2, 3)))[0] ** 2), cell)
    assert isinstance(dcell, fx.Tangent) and list(dcell) == fields
    for f in fields:
        value = getattr(cell, f)
        assert (dcell[f].shape == value.shape) if isinstance(value, np.ndarray) else dcell[f] is None
    m = {RNNCell: RNN, LSTMCell: LSTM, GRUCell: GRU, GRUv3Cell: GRUv3}[type(cell)](cell)
    assert m.cell is cell and list(fx.children(m)) == ["cell"]
    (dm,) = fx.gradient(lambda m: np.sum(m(np.ones((4, 3)))), m)
    assert list(dm) == ["cell"] and list(dm.cell) == fields


REPRS = [
    (lambda: RNNCell(3, 5, fx.relu, bias=False), "RNNCell(3, 5, relu, bias=False)"),
    (lambda: RNNCell(3, 5, activation=fx.tanh), "RNNCell(3, 5)"),
    (lambda: RNN(3, 5, activation=fx.relu, bias=False), "RNN(3, 5, relu, bias=False)"),
    (lambda: LSTMCell(3, 5, bias=False), "LSTMCell(3, 5, bias=False)"),
    (lambda: LSTM(3, 5, bias=False), "LSTM(3, 5, bias=False)"),
    (lambda: GRU(3, 5, bias=False), "GRU(3, 5, bias=False)"),
    (lambda: GRUv3Cell(3, 5, bias=False), "GRUv3Cell(3, 5, bias=False)"),
    (lambda: GRUv3(GRUv3Cell(_W["Wi3"], _W["Wh3"], _W["Wh1"])), "GRUv3(3, 2)"),
    (
        lambda: fx.Chain(GRUv3(3, 5, bias=False), LSTM(5, 2)),
        "Chain(\n  GRUv3(3, 5, bias=False),              # 120 parameters\n"
        "  LSTM(5, 2),                           # 64 parameters\n"
        ")                   # Total: 6 arrays, 184 parameters, 736 bytes.",
    ),
]


@pytest.mark.parametrize("build, shown", REPRS)
def test_printing_as_the_constructor_call(build, shown):
    assert repr(build()) == shown


@pytest.mark.parametrize("layer", [RNN, LSTM, GRU, GRUv3])
def test_states_passed_by_keyword(layer):
    m = fx.f64(layer(3, 4))
    x, h = rng.standard_normal((5, 2, 3)), rng.standard_normal((2, 4))
    state, name, cell_name = ((h, 2 * h), "state0", "state") if layer is LSTM else (h, "h0", "h")
    np.testing.assert_array_equal(m(x, **{name: state}), m(x, state))
    step = m.cell(x[0], **{cell_name: state})
    np.testing.assert_array_equal(step[0], m.cell(x[0], state)[0])
    np.testing.assert_array_equal(m(x, state)[0], step[0])


@pytest.mark.parametrize("kind", ["RNN", "LSTM", "GRU", "GRUv3"])
def test_cell_step_gradients_built_from_arrays(kind):
    """Each cell built inside the differentiated function (its constructor transformed too), one step."""
    cell_type = {"RNN": RNNCell, "LSTM": LSTMCell, "GRU": GRUCell, "GRUv3": GRUv3Cell}[kind]
    cell = _f64_with_bias(cell_type(3, 2))
    arrays = [v for v in fx.children(cell).values() if isinstance(v, np.ndarray)]
    x, h, c = rng.standard_normal((2, 3)), rng.standard_normal((2, 2)), rng.standard_normal((2, 2))

    def step(*args):
        x, h, c = args[-3:]
        new = cell_type(*args[:-4], bias=args[-4])
        y, state = new(x, (h, c)) if kind == "LSTM" else new(x, h)
        return y + state[1] if kind == "LSTM" else y

    check_grads(step, *arrays, x, h, c, order=1)


def test_gruv3_from_arrays():
    Wi, Wh, Wh_n = rng.standard_normal((6, 3)), rng.standard_normal((4, 2)), rng.standard_normal((2, 2))
    cell = GRUv3Cell(Wi, Wh, Wh_n, bias=False)
    assert cell.Wi is Wi and cell.Wh is Wh and cell.Wh_n is Wh_n and cell.bias is False
    assert repr(GRUv3(cell)) == "GRUv3(3, 2, bias=False)"
    assert np.all(GRUv3Cell(Wi, Wh, Wh_n).bias == 0)
    # Flux 0.15/0.16 allocate Wh with 3 * out rows and never read the last block: such a Wh gives the same
    x, h = rng.standard_normal((5, 3)), rng.standard_normal((5, 2))
    flux16 = GRUv3Cell(Wi, np.concatenate([Wh, rng.standard_normal((2, 2))]), Wh_n, bias=False)
    np.testing.assert_allclose(flux16(x, h)[0], cell(x, h)[0])
    with pytest.raises(fx.FluxpyError, match="Wh_n is missing"):
        GRUv3Cell(Wi, Wh)
    with pytest.raises(fx.FluxpyError, match=r"GRUv3Cell\(3, 2, bias=False\)"):
        GRUv3(cell)(np.ones((4, 2, 7)))


def test_rng_and_init_keywords():
    a = LSTM(3, 4, rng=np.random.default_rng(1))
    b = LSTM(3, 4, rng=np.random.default_rng(1))
    np.testing.assert_array_equal(a.cell.Wi, b.cell.Wi)
    c = GRUCell(3, 4, init=fx.ones32, init_recurrent=fx.zeros32)
    assert np.all(c.Wi == 1) and np.all(c.Wh == 0)
    g = GRUv3Cell(3, 4, init=fx.ones32, init_recurrent=fx.zeros32)
    assert np.all(g.Wi == 1) and np.all(g.Wh == 0) and np.all(g.Wh_n == 0)
    a, b = GRUv3(3, 4, rng=np.random.default_rng(1)), GRUv3(3, 4, rng=np.random.default_rng(1))
    np.testing.assert_array_equal(a.cell.Wh_n, b.cell.Wh_n)
    e = Embedding(5, 2, init=fx.ones32)
    assert np.all(e.weight == 1) and e.weight.dtype == np.float32


def test_wrong_input_size_names_the_layer():
    with pytest.raises(fx.FluxpyError, match=r"LSTMCell\(3, 5\)"):
        LSTM(3, 5)(np.ones((4, 2, 7)))
    with pytest.raises(fx.FluxpyError, match="seq_len"):
        GRU(3, 5)(np.ones(3))


# values against hand-written NumPy


@pytest.mark.parametrize("batch", [(), (3,)])
def test_cells_match_numpy_reference(batch):
    x = rng.standard_normal(batch + (4,))
    h = rng.standard_normal(batch + (5,))
    c = rng.standard_normal(batch + (5,))

    cell = _f64_with_bias(RNNCell(4, 5, fx.relu))
    y, h1 = cell(x, h)
    np.testing.assert_allclose(y, ref_rnn(cell.Wi, cell.Wh, cell.bias, x, h, act=lambda v: np.maximum(v, 0)))

    cell = _f64_with_bias(LSTMCell(4, 5))
    y, (h1, c1) = cell(x, (h, c))
    hr, cr = ref_lstm(cell.Wi, cell.Wh, cell.bias, x, h, c)
    np.testing.assert_allclose(h1, hr)
    np.testing.assert_allclose(c1, cr)
    np.testing.assert_allclose(y, hr)

    cell = _f64_with_bias(GRUCell(4, 5))
    y, h1 = cell(x, h)
    np.testing.assert_allclose(y, ref_gru(cell.Wi, cell.Wh, cell.bias, x, h))

    cell = _f64_with_bias(GRUv3Cell(4, 5))
    y, h1 = cell(x, h)
    np.testing.assert_allclose(y, ref_gruv3(cell.Wi, cell.Wh, cell.Wh_n, cell.bias, x, h))
    assert y is h1
    # not the GRUCell equations: with Wh_n as GRUCell's candidate block the two differ (the reset gate
    # scales h before the product here, after it there)
    gru = GRUCell(cell.Wi, np.concatenate([cell.Wh, cell.Wh_n]), bias=cell.bias)
    assert not np.allclose(gru(x, h)[0], y)


def test_cells_default_state_is_zeros():
    x = rng.standard_normal((2, 4))
    z = np.zeros((2, 5))
    for cell in (RNNCell(4, 5), GRUCell(4, 5), GRUv3Cell(4, 5)):
        cell = _f64_with_bias(cell)
        np.testing.assert_allclose(cell(x)[0], cell(x, z)[0])
    cell = _f64_with_bias(LSTMCell(4, 5))
    np.testing.assert_allclose(cell(x)[0], cell(x, (z, z))[0])


def test_no_bias_cells():
    x, h = rng.standard_normal(4), rng.standard_normal(5)
    cell = fx.f64(GRUCell(4, 5, bias=False))
    assert cell.bias is False
    np.testing.assert_allclose(cell(x, h)[0], ref_gru(cell.Wi, cell.Wh, np.zeros(15), x, h))
    cell = fx.f64(GRUv3Cell(4, 5, bias=False))
    assert cell.bias is False
    np.testing.assert_allclose(cell(x, h)[0], ref_gruv3(cell.Wi, cell.Wh, cell.Wh_n, np.zeros(15), x, h))


@pytest.mark.parametrize("batch", [(), (2,)])
def test_sequences_match_a_loop_over_the_reference(batch):
    T = 6
    x = rng.standard_normal((T,) + batch + (3,))
    h0 = rng.standard_normal(batch + (4,))
    c0 = rng.standard_normal(batch + (4,))

    m = RNN(3, 4)
    m.cell = _f64_with_bias(m.cell)
    h, outs = h0, []
    for t in range(T):
        h = ref_rnn(m.cell.Wi, m.cell.Wh, m.cell.bias, x[t], h)
        outs.append(h)
    np.testing.assert_allclose(m(x, h0), np.stack(outs))

    m = LSTM(3, 4)
    m.cell = _f64_with_bias(m.cell)
    h, c, outs = h0, c0, []
    for t in range(T):
        h, c = ref_lstm(m.cell.Wi, m.cell.Wh, m.cell.bias, x[t], h, c)
        outs.append(h)
    np.testing.assert_allclose(m(x, (h0, c0)), np.stack(outs))

    m = GRU(3, 4)
    m.cell = _f64_with_bias(m.cell)
    h, outs = np.zeros(batch + (4,)), []
    for t in range(T):
        h = ref_gru(m.cell.Wi, m.cell.Wh, m.cell.bias, x[t], h)
        outs.append(h)
    np.testing.assert_allclose(m(x), np.stack(outs))  # default h0: zeros

    m = GRUv3(3, 4)
    m.cell = _f64_with_bias(m.cell)
    h, outs = h0, []
    for t in range(T):
        h = ref_gruv3(m.cell.Wi, m.cell.Wh, m.cell.Wh_n, m.cell.bias, x[t], h)
        outs.append(h)
    np.testing.assert_allclose(m(x, h0), np.stack(outs))


def test_built_from_arrays_and_cells():
    Wi, Wh, b = rng.standard_normal((8, 3)), rng.standard_normal((8, 2)), rng.standard_normal(8)
    cell = LSTMCell(Wi, Wh, bias=b)
    assert cell.Wi is Wi and cell.bias is b and repr(cell) == "LSTMCell(3, 2)"
    assert LSTM(cell).cell is cell and repr(LSTM(cell)) == "LSTM(3, 2)"
    r = RNNCell(Wi[:2], Wh[:2], fx.relu, bias=False)
    assert r.bias is False and repr(RNN(r)) == "RNN(3, 2, relu, bias=False)"
    g = GRUCell(Wi[:6], Wh[:6])
    assert np.all(g.bias == 0) and repr(GRU(g)) == "GRU(3, 2)"
    w = rng.standard_normal((7, 3))
    assert Embedding(w).weight is w and repr(Embedding(w)) == "Embedding(7, 3)"


# values against PyTorch (weights copied; torch stacks gates i,f,g,o for LSTM and r,z,n for GRU, as here)


def _torch_run(torch_layer, x, h0):
    torch = pytest.importorskip("torch")
    with torch.no_grad():
        h0 = (
            tuple(torch.from_numpy(h[None]) for h in h0)
            if isinstance(h0, tuple)
            else torch.from_numpy(h0[None])
        )
        out, _ = torch_layer(torch.from_numpy(x), h0)
    return out.numpy()


def _copy_to_torch(torch_layer, Wi, Wh, b_ih, b_hh):
    torch = pytest.importorskip("torch")
    with torch.no_grad():
        torch_layer.weight_ih_l0.copy_(torch.from_numpy(Wi))
        torch_layer.weight_hh_l0.copy_(torch.from_numpy(Wh))
        torch_layer.bias_ih_l0.copy_(torch.from_numpy(b_ih))
        torch_layer.bias_hh_l0.copy_(torch.from_numpy(b_hh))


@pytest.mark.parametrize("kind", ["RNN", "LSTM", "GRU"])
def test_sequences_match_torch(kind):
    torch = pytest.importorskip("torch")
    n_in, n_out, T, B = 3, 4, 5, 2
    gates = {"RNN": 1, "LSTM": 4, "GRU": 3}[kind]
    Wi = rng.standard_normal((gates * n_out, n_in))
    Wh = rng.standard_normal((gates * n_out, n_out))
    b_ih = rng.standard_normal(gates * n_out)
    b_hh = rng.standard_normal(gates * n_out)
    if kind == "GRU":
        b_hh[2 * n_out :] = 0  # torch's b_hn sits inside the reset product; Flux's GRUCell has none there
    x = rng.standard_normal((T, B, n_in))
    h0 = rng.standard_normal((B, n_out))
    layer = getattr(torch.nn, kind)(n_in, n_out, dtype=torch.float64)
    _copy_to_torch(layer, Wi, Wh, b_ih, b_hh)
    if kind == "LSTM":
        state0 = (h0, rng.standard_normal((B, n_out)))
        ours = LSTM(LSTMCell(Wi, Wh, bias=b_ih + b_hh))
    elif kind == "GRU":
        state0 = h0
        ours = GRU(GRUCell(Wi, Wh, bias=b_ih + b_hh))
    else:
        state0 = h0
        ours = RNN(RNNCell(Wi, Wh, bias=b_ih + b_hh))
    np.testing.assert_allclose(ours(x, state0), _torch_run(layer, x, state0), rtol=1e-10, atol=1e-12)


def test_embedding_matches_torch():
    torch = pytest.importorskip("torch")
    e = Embedding(10, 4)
    t = torch.nn.Embedding(10, 4)
    with torch.no_grad():
        t.weight.copy_(torch.from_numpy(e.weight))
        idx = np.array([[1, 2, 9], [0, 0, 5]])
        np.testing.assert_array_equal(e(idx), t(torch.from_numpy(idx)).numpy())


# gradients


@pytest.mark.parametrize("layer", [RNN, LSTM, GRU, GRUv3])
def test_sequence_gradients_wrt_inputs_and_initial_state(layer):
    m = layer(3, 4)
    m.cell = _f64_with_bias(m.cell)
    x = rng.standard_normal((4, 2, 3))
    h0 = rng.standard_normal((2, 4))
    if layer is LSTM:
        c0 = rng.standard_normal((2, 4))
        check_grads(lambda x, h0, c0: m(x, (h0, c0)), x, h0, c0, order=1, forward=True)
    else:
        check_grads(lambda x, h0: m(x, h0), x, h0, order=1, forward=True)
    check_grads(lambda x: m(x), x[:, 0], order=1, forward=True)  # unbatched, default state


@pytest.mark.parametrize("kind", ["RNN", "LSTM", "GRU"])
def test_sequence_gradients_wrt_parameters(kind):
    cell_type = {"RNN": RNNCell, "LSTM": LSTMCell, "GRU": GRUCell}[kind]
    layer = {"RNN": RNN, "LSTM": LSTM, "GRU": GRU}[kind]
    cell = _f64_with_bias(cell_type(3, 4))
    x = rng.standard_normal((4, 2, 3))

    def run(Wi, Wh, b, x):
        return layer(cell_type(Wi, Wh, bias=b))(x)

    check_grads(run, cell.Wi, cell.Wh, cell.bias, x, order=1)

    # the gradient of the layer is a Tangent mirroring it, and agrees with the arrays' gradient
    m = layer(cell)
    (dm,) = fx.gradient(lambda m: np.sum(m(x) ** 2), m)
    assert isinstance(dm, fx.Tangent) and set(dm) == {"cell"}
    dWi, dWh, db = fx.gradient(lambda Wi, Wh, b: np.sum(run(Wi, Wh, b, x) ** 2), cell.Wi, cell.Wh, cell.bias)
    np.testing.assert_allclose(dm.cell.Wi, dWi)
    np.testing.assert_allclose(dm.cell.Wh, dWh)
    np.testing.assert_allclose(dm.cell.bias, db)


def test_gruv3_gradients_wrt_parameters_and_inputs():
    cell = _f64_with_bias(GRUv3Cell(3, 4))
    x = rng.standard_normal((4, 2, 3))
    h0 = rng.standard_normal((2, 4))

    def run(Wi, Wh, Wh_n, b, x, h0):
        return GRUv3(GRUv3Cell(Wi, Wh, Wh_n, bias=b))(x, h0)

    check_grads(run, cell.Wi, cell.Wh, cell.Wh_n, cell.bias, x, h0, order=1)
    check_grads(lambda x, h: cell(x, h)[0], x[0, 0], h0[0], order=1)  # one unbatched step

    # the layer's gradient is a Tangent mirroring it, equal to the arrays' gradient and to the reference's
    m = GRUv3(cell)
    (dm,) = fx.gradient(lambda m: np.sum(m(x, h0) ** 2), m)
    assert isinstance(dm, fx.Tangent) and set(dm.cell) == {"Wi", "Wh", "Wh_n", "bias"}
    arrays = (cell.Wi, cell.Wh, cell.Wh_n, cell.bias)
    want = fx.gradient(lambda *w: np.sum(run(*w, x, h0) ** 2), *arrays)
    for name, g in zip(("Wi", "Wh", "Wh_n", "bias"), want, strict=True):
        np.testing.assert_allclose(dm.cell[name], g)

    def ref_loss(Wi, Wh, Wh_n, b):
        h, total = h0, 0.0
        for t in range(x.shape[0]):
            h = ref_gruv3(Wi, Wh, Wh_n, b, x[t], h)
            total = total + np.sum(h**2)
        return total

    for got, ref in zip(want, fx.gradient(ref_loss, *arrays), strict=True):
        np.testing.assert_allclose(got, ref)


def test_lstm_gradient_matches_reference_gradient():
    cell = _f64_with_bias(LSTMCell(3, 2))
    x, h, c = rng.standard_normal((2, 3)), rng.standard_normal((2, 2)), rng.standard_normal((2, 2))
    (dcell,) = fx.gradient(lambda cell: np.sum(cell(x, (h, c))[1][1] ** 2), cell)
    dref = fx.gradient(
        lambda Wi, Wh, b: np.sum(ref_lstm(Wi, Wh, b, x, h, c)[1] ** 2), cell.Wi, cell.Wh, cell.bias
    )
    for got, want in zip((dcell.Wi, dcell.Wh, dcell.bias), dref, strict=True):
        np.testing.assert_allclose(got, want)


def test_cell_gradients_with_state_outputs():
    cell = _f64_with_bias(LSTMCell(2, 3))
    x, h, c = rng.standard_normal(2), rng.standard_normal(3), rng.standard_normal(3)
    check_grads(lambda x, h, c: cell(x, (h, c))[1], x, h, c, order=1)
    gru = _f64_with_bias(GRUCell(2, 3))
    check_grads(lambda x, h: gru(x, h)[0], x, h, order=1)


@pytest.mark.second_order
def test_rnn_cell_second_order():
    cell = _f64_with_bias(RNNCell(2, 2))
    x, h = rng.standard_normal(2), rng.standard_normal(2)

    def step(Wi, Wh, b, x, h):
        return RNNCell(Wi, Wh, bias=b)(x, h)[0]

    check_grads(step, cell.Wi, cell.Wh, cell.bias, x, h, order=2)
    m = RNN(cell)
    check_grads(lambda x: m(x), rng.standard_normal((3, 2)), order=2)


@pytest.mark.second_order
def test_gruv3_cell_second_order():
    cell = _f64_with_bias(GRUv3Cell(2, 2))
    x, h = rng.standard_normal(2), rng.standard_normal(2)

    def step(Wi, Wh, Wh_n, b, x, h):
        return GRUv3Cell(Wi, Wh, Wh_n, bias=b)(x, h)[0]

    check_grads(step, cell.Wi, cell.Wh, cell.Wh_n, cell.bias, x, h, order=2)


# Embedding


def test_embedding_lookup_any_shape():
    e = Embedding(10, 4)
    assert e.weight.shape == (10, 4) and e.weight.dtype == np.float32
    idx = rng.integers(0, 10, size=(2, 3, 5))
    y = e(idx)
    assert y.shape == (2, 3, 5, 4)
    np.testing.assert_array_equal(y[1, 2, 3], e.weight[idx[1, 2, 3]])
    np.testing.assert_array_equal(e(7), e.weight[7])
    np.testing.assert_array_equal(e(np.array([3], dtype=np.uint8)), e.weight[[3]])
    assert e(np.zeros((0,), dtype=int)).shape == (0, 4)


def test_embedding_one_hot_input_is_a_matmul():
    e = fx.f64(Embedding(5, 3))
    labels = np.array([4, 0, 4])
    onehot = np.eye(5)[labels]
    np.testing.assert_allclose(e(onehot), e(labels))
    np.testing.assert_allclose(e(onehot.astype(bool)), e(labels))
    (de,) = fx.gradient(lambda e: np.sum(e(onehot)), e)
    np.testing.assert_allclose(de.weight[:, 0], [1, 0, 0, 0, 2])


def test_embedding_gradient_accumulates_repeated_indices():
    e = fx.f64(Embedding(6, 2))
    idx = np.array([[1, 3, 1], [1, 0, 5]])
    (de,) = fx.gradient(lambda e: np.sum(e(idx)), e)
    assert isinstance(de, fx.Tangent)
    np.testing.assert_allclose(de.weight[:, 0], [1, 3, 0, 1, 0, 1])
    np.testing.assert_allclose(de.weight[:, 1], [1, 3, 0, 1, 0, 1])
    check_grads(lambda w: Embedding(w)(idx) ** 2, e.weight, order=1)


def test_embedding_then_lstm_gradient():
    m = fx.f64(fx.Chain(Embedding(8, 3), LSTM(3, 2)))
    tokens = np.array([[1, 2], [3, 1], [1, 7]])  # (seq_len, batch)
    assert m(tokens).shape == (3, 2, 2)
    (dm,) = fx.gradient(lambda m: np.sum(m(tokens)), m)
    emb = dm.layers[0].weight
    assert emb.shape == (8, 3) and np.all(emb[[0, 4, 5, 6]] == 0) and np.any(emb[1] != 0)


def test_embedding_rejects_bad_indices():
    e = Embedding(4, 2)
    with pytest.raises(fx.FluxpyError, match=r"Embedding\(4, 2\).*\[0, 4\)"):
        e(np.array([0, 4]))
    with pytest.raises(fx.FluxpyError, match="integer indices"):
        e(np.array(["a"]))
    with pytest.raises(fx.FluxpyError, match="one-hot"):
        e(np.ones((2, 3)))
