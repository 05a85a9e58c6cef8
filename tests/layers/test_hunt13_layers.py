"""Initialiser fans as Flux's ``nfan``, Flux's model printing (total lines, ``(all zero)`` / ``(some NaN)`` /
``(some Inf)`` markers), recurrent cells' shape checks and constructor errors, and ``onehot`` of nested
lists."""

import functools

import numpy as np
import pytest

import fluxpy as fx
from fluxpy.layers.init import _fans, init_with_fans
from fluxpy.testing import check_grads

rng = np.random.default_rng(1313)


def _sigmoid(z):
    return 1 / (1 + np.exp(-z))


# ---------------------------------------------------------------------------------------------------------
# initialiser fans: Flux's nfan, read in fluxpy's layouts


def test_fans_follow_flux_nfan_in_fluxpy_layouts():
    assert _fans(()) == (1, 1)  # nfan() = (1, 1)
    assert _fans((100,)) == (1, 100)  # nfan(n) = (1, n): a vector
    assert _fans((3, 5)) == (5, 3)  # Dense (out, in): nfan(out, in) = (in, out)
    # Conv (out, in, *kernel) is Flux's (*kernel, in, out): prod(kernel) .* (in, out)
    assert _fans((16, 8, 3, 2)) == (8 * 6, 16 * 6)
    assert _fans((4, 2, 5)) == (2 * 5, 4 * 5)


def _max_abs(init, *dims, **kw):
    return float(np.abs(init(*dims, rng=np.random.default_rng(0), **kw)).max())


def test_vector_initialisers_use_fans_one_and_n_as_flux():
    n = 100
    bound = np.sqrt(6 / (1 + n))  # Flux: glorot_uniform(100) with nfan(100) = (1, 100)
    w = fx.glorot_uniform(20_000, rng=np.random.default_rng(0))
    assert w.shape == (20_000,) and w.dtype == np.float32
    w = fx.glorot_uniform(n, rng=np.random.default_rng(0))
    assert np.abs(w).max() <= bound
    big = np.concatenate([fx.glorot_uniform(n, rng=np.random.default_rng(s)) for s in range(100)])
    assert np.abs(big).max() > 0.99 * bound  # the bound is reached, not the old sqrt(6 / 200)
    std = np.sqrt(2 / (1 + n))
    normal = np.concatenate([fx.glorot_normal(n, rng=np.random.default_rng(s)) for s in range(200)])
    assert abs(normal.std() / std - 1) < 0.02
    # kaiming: fan_in = 1 for a vector
    assert _max_abs(fx.kaiming_uniform, 50_000) <= np.sqrt(2) * np.sqrt(3)
    assert _max_abs(fx.kaiming_uniform, 50_000) > 0.99 * np.sqrt(6)
    assert abs(fx.kaiming_normal(50_000, rng=np.random.default_rng(1)).std() / np.sqrt(2) - 1) < 0.02


def test_scalar_initialiser_uses_fans_one_and_one():
    vals = np.array([float(fx.glorot_uniform(rng=np.random.default_rng(s))) for s in range(3000)])
    assert (
        vals.shape == (3000,) and np.abs(vals).max() <= np.sqrt(3) and np.abs(vals).max() > 0.99 * np.sqrt(3)
    )


def test_dense_and_conv_shaped_bounds_and_stds_as_flux():
    # Dense (out=30, in=50): glorot bound sqrt(6 / 80); kaiming_normal std sqrt(2 / 50)
    assert _max_abs(fx.glorot_uniform, 300, 500) <= np.sqrt(6 / 800)
    assert _max_abs(fx.glorot_uniform, 300, 500) > 0.99 * np.sqrt(6 / 800)
    std = fx.kaiming_normal(400, 500, rng=np.random.default_rng(2)).std()
    assert abs(std / np.sqrt(2 / 500) - 1) < 0.01
    # Conv (out=32, in=8, 3, 3): Flux's (3, 3, 8, 32): fans (72, 288)
    assert _max_abs(fx.glorot_uniform, 32, 8, 3, 3) <= np.sqrt(6 / (72 + 288))
    std = fx.kaiming_normal(64, 8, 3, 3, rng=np.random.default_rng(3)).std()
    assert abs(std / np.sqrt(2 / 72) - 1) < 0.03
    bound = np.sqrt(2) * np.sqrt(3 / 72)
    w = fx.kaiming_uniform(64, 8, 3, 3, rng=np.random.default_rng(4))
    assert np.abs(w).max() <= bound and np.abs(w).max() > 0.99 * bound


def test_init_with_fans_gives_bilinear_the_fans_flux_computes():
    out, in1, in2 = 8, 3, 5  # Flux: nfan(out, in1, in2) = (out * in1, out * in2) = (24, 40)
    bound = np.sqrt(6 / (24 + 40))
    draws = [
        init_with_fans(fx.glorot_uniform, (out, in1, in2), (24, 40), rng=np.random.default_rng(s))
        for s in range(50)
    ]
    assert draws[0].shape == (out, in1, in2) and draws[0].dtype == np.float32
    assert max(np.abs(d).max() for d in draws) <= bound
    assert max(np.abs(d).max() for d in draws) > 0.99 * bound
    # kaiming reads fan_in = out * in1; a partial (a gain) is recognised too
    w = init_with_fans(fx.kaiming_normal, (80, 30, 50), (80 * 30, 80 * 50), rng=np.random.default_rng(5))
    assert abs(w.std() / np.sqrt(2 / 2400) - 1) < 0.01
    half = functools.partial(fx.glorot_uniform, gain=0.5)
    w = init_with_fans(half, (out, in1, in2), (24, 40), rng=np.random.default_rng(6))
    assert np.abs(w).max() <= 0.5 * bound
    # any other initialiser is called as it is
    np.testing.assert_array_equal(init_with_fans(fx.ones32, (2, 3, 4), (1, 1)), np.ones((2, 3, 4)))
    seen = []
    init_with_fans(lambda *dims: seen.append(dims) or np.zeros(dims), (2, 3, 4), (6, 8))
    assert seen == [(2, 3, 4)]


def test_fans_keyword_overrides_the_shape():
    w = fx.glorot_uniform(2000, fans=(1000, 1000), rng=np.random.default_rng(7))
    assert np.abs(w).max() <= np.sqrt(6 / 2000)


# ---------------------------------------------------------------------------------------------------------
# printing as Flux's show.jl


def test_total_lines_align_as_flux_and_say_summarysize():
    lines = repr(fx.Chain(fx.Dense(2, 3), fx.BatchNorm(3), fx.Dense(3, 1))).splitlines()
    # rpad(")", 2) and 8 spaces: both "#" in column 10
    assert lines[-2] == ")         # Total: 6 trainable arrays, 19 parameters,"
    assert lines[-1].startswith("          # plus 2 non-trainable, 6 parameters, summarysize ")
    assert lines[-2].index("#") == lines[-1].index("#") == 10
    single = repr(fx.Chain(fx.Dense(2, 3), fx.Dense(3, 1))).splitlines()[-1]
    assert single == ")                   # Total: 4 arrays, 13 parameters, 52 bytes."


def test_all_zero_some_nan_and_some_inf_markers_as_flux():
    zero = fx.Dense(2, 3, init=fx.zeros32)
    nan = fx.Dense(3, 3)
    nan.weight[0, 0] = np.nan
    inf = fx.Dense(3, 2)
    inf.bias[1] = -np.inf
    both = fx.Dense(2, 2)
    both.weight[0, 0], both.weight[1, 1] = np.inf, np.nan  # NaN is named first, as Flux
    lines = repr(fx.Chain(zero, nan, inf, both, fx.Dense(2, 1))).splitlines()
    assert lines[1] == "  Dense(2, 3),                          # 9 parameters  (all zero)"
    assert lines[2] == "  Dense(3, 3),                          # 12 parameters  (some NaN)"
    assert lines[3] == "  Dense(3, 2),                          # 8 parameters  (some Inf)"
    assert lines[4].endswith("# 6 parameters  (some NaN)")
    assert lines[5].endswith("# 3 parameters")  # a healthy layer: no marker


def test_markers_look_at_the_trainable_parameters_only():
    half_zero = fx.Dense(2, 2)  # a zero bias beside a non-zero weight: not "all zero"
    assert repr(fx.Chain(half_zero, fx.relu, fx.Dense(2, 1))).splitlines()[1].endswith("# 6 parameters")
    bn = fx.BatchNorm(3)
    bn.gamma[:] = 0  # gamma and beta zero, the running variance ones: Flux looks at trainables only
    line = repr(fx.Chain(fx.Dense(2, 3), bn, fx.Dense(3, 1))).splitlines()[2]
    assert line == "  BatchNorm(3),                         # 6 parameters, plus 6  (all zero)"
    nested = repr(fx.Chain(fx.Chain(fx.Dense(2, 2, init=fx.zeros32), fx.Dense(2, 2)), fx.Dense(2, 1)))
    assert "    Dense(2, 2),                        # 6 parameters  (all zero)" in nested.splitlines()


# ---------------------------------------------------------------------------------------------------------
# recurrent cells: shapes checked at construction, Flux's positional bias, constructor errors


def test_cells_built_from_arrays_that_do_not_fit_are_refused_with_the_shapes():
    with pytest.raises(fx.FluxpyError, match=r"GRUCell\(Wi, Wh\).*\(6, 3\).*\(5, 2\)"):
        fx.GRUCell(rng.standard_normal((6, 3)), rng.standard_normal((5, 2)))
    with pytest.raises(fx.FluxpyError, match=r"LSTMCell\(Wi, Wh\).*Wh of shape \(8, 3\)"):
        fx.LSTMCell(rng.standard_normal((8, 3)), rng.standard_normal((8, 3)))
    with pytest.raises(fx.FluxpyError, match=r"RNNCell.*Wi of shape \(3, 3\)"):
        fx.RNNCell(rng.standard_normal((3, 3)), rng.standard_normal((2, 2)))
    with pytest.raises(fx.FluxpyError, match=r"LSTMCell.*2-d.*\(8,\)"):
        fx.LSTMCell(rng.standard_normal(8), rng.standard_normal((8, 2)))
    with pytest.raises(fx.FluxpyError, match=r"LSTMCell.*Wh must be an array too"):
        fx.LSTMCell(rng.standard_normal((8, 3)), 2)
    with pytest.raises(fx.FluxpyError, match=r"GRUv3Cell.*Wh_n must be an array of shape \(2, 2\).*\(3, 2\)"):
        fx.GRUv3Cell(rng.standard_normal((6, 3)), rng.standard_normal((4, 2)), rng.standard_normal((3, 2)))
    with pytest.raises(fx.FluxpyError, match=r"LSTMCell: the bias must have shape \(8,\).*\(4,\)"):
        fx.LSTMCell(rng.standard_normal((8, 3)), rng.standard_normal((8, 2)), bias=np.zeros(4))
    # what fits is taken: GRUv3Cell's Wh with Flux's unread third block too
    cell = fx.GRUv3Cell(rng.standard_normal((6, 3)), rng.standard_normal((6, 2)), rng.standard_normal((2, 2)))
    assert cell(np.ones(3))[0].shape == (2,)


def _lstm_step(Wi, Wh, b, x, h, c):
    n = Wh.shape[1]
    z = x @ Wi.T + h @ Wh.T + b
    i, f, g, o = (
        _sigmoid(z[..., :n]),
        _sigmoid(z[..., n : 2 * n]),
        np.tanh(z[..., 2 * n : 3 * n]),
        _sigmoid(z[..., 3 * n :]),
    )
    c = f * c + i * g
    return o * np.tanh(c), c


def test_lstm_and_gru_cells_take_flux_positional_bias():
    Wi, Wh, b = rng.standard_normal((8, 3)), rng.standard_normal((8, 2)), rng.standard_normal(8)
    x, h, c = rng.standard_normal((4, 3)), rng.standard_normal((4, 2)), rng.standard_normal((4, 2))
    cell = fx.LSTMCell(Wi, Wh, b)  # Flux 0.15: LSTMCell(Wi, Wh, bias)
    assert cell.bias is b
    y, (h1, c1) = cell(x, (h, c))
    ref_h, ref_c = _lstm_step(Wi, Wh, b, x, h, c)
    np.testing.assert_allclose(y, ref_h, rtol=1e-12)
    np.testing.assert_allclose(c1, ref_c, rtol=1e-12)
    assert fx.LSTMCell(Wi, Wh, False).bias is False
    Wi3, Wh3, b3 = rng.standard_normal((6, 3)), rng.standard_normal((6, 2)), rng.standard_normal(6)
    g = fx.GRUCell(Wi3, Wh3, b3)
    gx, gh = x @ Wi3.T + b3, h @ Wh3.T
    r, z = _sigmoid(gx[:, :2] + gh[:, :2]), _sigmoid(gx[:, 2:4] + gh[:, 2:4])
    ref = (1 - z) * np.tanh(gx[:, 4:] + r * gh[:, 4:]) + z * h
    np.testing.assert_allclose(g(x, h)[0], ref, rtol=1e-12)
    with pytest.raises(TypeError):  # the bias once only
        fx.LSTMCell(Wi, Wh, b, bias=b)


def test_gradients_through_a_cell_built_with_a_positional_bias():
    Wi, Wh, b = rng.standard_normal((8, 3)), rng.standard_normal((8, 2)), rng.standard_normal(8)
    x = rng.standard_normal((2, 3))
    check_grads(lambda Wi, Wh, b: np.sum(fx.LSTMCell(Wi, Wh, b)(x)[0] ** 2), Wi, Wh, b, order=2, forward=True)
    Wi3, Wh3, b3 = Wi[:6], Wh[:6], b[:6]
    check_grads(lambda b: np.sum(np.sin(fx.GRUCell(Wi3, Wh3, b)(x)[0])), b3, order=2, forward=True)


@pytest.mark.parametrize(
    "make, name",
    [
        (lambda: fx.LSTM(3), "LSTM"),
        (lambda: fx.RNN(3), "RNN"),
        (lambda: fx.RNN(3, activation=fx.relu), "RNN"),
        (lambda: fx.GRU(3), "GRU"),
        (lambda: fx.GRUv3(3), "GRUv3"),
        (lambda: fx.LSTMCell(3), "LSTMCell"),
        (lambda: fx.RNNCell(3), "RNNCell"),
        (lambda: fx.GRUCell(3), "GRUCell"),
        (lambda: fx.GRUv3Cell(3), "GRUv3Cell"),
        (lambda: fx.Dense(3), "Dense"),
    ],
)
def test_a_missing_output_size_is_a_clear_error(make, name):
    with pytest.raises(fx.FluxpyError, match=rf"^{name}\(3\) needs the output size too: {name}\(in, out\)"):
        make()


def test_embedding_and_size_errors():
    with pytest.raises(fx.FluxpyError, match=r"Embedding\(5\) needs the embedding size too"):
        fx.Embedding(5)
    with pytest.raises(fx.FluxpyError, match=r"Embedding\(5, -1\): the embedding size .* got -1"):
        fx.Embedding(5, -1)
    with pytest.raises(fx.FluxpyError, match=r"Embedding\(weight\).*\(vocab, dim\).*\(5,\)"):
        fx.Embedding(np.ones(5))
    with pytest.raises(
        fx.FluxpyError, match=r"Dense\(3, -1\): the output size must be a non-negative integer"
    ):
        fx.Dense(3, -1)
    with pytest.raises(fx.FluxpyError, match=r"Dense\(3.0, 2\): the input size"):
        fx.Dense(3.0, 2)
    with pytest.raises(fx.FluxpyError, match=r"LSTMCell\(3, 2.5\): the output size"):
        fx.LSTMCell(3, 2.5)
    with pytest.raises(fx.FluxpyError, match=r"Dense: the activation must be a function, got 5"):
        fx.Dense(3, 4, 5)
    with pytest.raises(fx.FluxpyError, match=r"RNNCell: the activation must be a function"):
        fx.RNNCell(3, 4, 0.5)
    with pytest.raises(
        fx.FluxpyError, match=r"LSTM\(cell\): the cell must be a LSTMCell, got GRUCell\(3, 2\)"
    ):
        fx.LSTM(fx.GRUCell(3, 2))
    assert fx.Dense(np.int64(3), 2).weight.shape == (2, 3) and fx.Embedding(4, 0).weight.shape == (4, 0)


# ---------------------------------------------------------------------------------------------------------
# onehot of nested lists: a matrix of labels, as Flux's onehotbatch of a matrix


def test_onehot_of_a_nested_list_is_that_of_the_array():
    labels = [[0, 1], [1, 2]]
    y = fx.onehot(labels, range(3))
    assert y.shape == (2, 2, 3) and y.dtype == np.float32
    expected = np.zeros((2, 2, 3), np.float32)
    for i in range(2):
        for j in range(2):
            expected[i, j, labels[i][j]] = 1
    np.testing.assert_array_equal(y, expected)
    np.testing.assert_array_equal(y, fx.onehot(np.array(labels), range(3)))
    np.testing.assert_array_equal(fx.onecold(y), np.array(labels))
    deep = fx.onehot([[["a"], ["b"]], [["c"], ["a"]]], "abc")
    assert deep.shape == (2, 2, 1, 3) and deep[1, 0, 0, 2] == 1
    rows = fx.onehot([np.array([0, 2]), np.array([1, 1])], [0, 1, 2])  # a list of arrays: rows too
    np.testing.assert_array_equal(rows.argmax(-1), [[0, 2], [1, 1]])
    # tuples stay labels
    np.testing.assert_array_equal(fx.onehot([(0, 1)], [(0, 1), (1, 0)]), [[1.0, 0.0]])
    assert fx.onehot([[7, 1]], [1, 2], 2).tolist() == [[[0.0, 1.0], [1.0, 0.0]]]  # with a default


def test_onehot_of_a_ragged_or_mixed_nested_list_is_a_clear_error():
    with pytest.raises(fx.FluxpyError, match="rectangular"):
        fx.onehot([[0, 1], [2]], range(3))
    with pytest.raises(fx.FluxpyError, match="mix lists"):
        fx.onehot([0, [1, 2]], range(3))
