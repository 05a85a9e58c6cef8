"""DataLoader, train (implicit and explicit), and saving/loading a model's arrays without pickle."""

import pickle

import numpy as np
import pytest

import fluxpy as fx
import fluxpy.optimise as optimise
from fluxpy.data import DataLoader
from fluxpy.errors import FluxpyError
from fluxpy.serialise import loadmodel, savemodel, state
from fluxpy.training import train

needs_setup = pytest.mark.skipif(
    not hasattr(optimise, "setup"), reason="explicit fx.optimise.setup is not there yet"
)


# ---------------------------------------------------------------------------------------------------------
# DataLoader


def test_dataloader_batches_along_the_first_axis_of_every_array():
    X, y = np.arange(20.0).reshape(10, 2), np.arange(10)
    loader = DataLoader((X, y), batchsize=4)
    batches = list(loader)
    assert len(loader) == len(batches) == 3
    assert all(isinstance(b, tuple) and len(b) == 2 for b in batches)
    assert [b[0].shape for b in batches] == [(4, 2), (4, 2), (2, 2)]
    np.testing.assert_array_equal(np.concatenate([b[1] for b in batches]), y)
    np.testing.assert_array_equal(np.concatenate([b[0] for b in batches]), X)


def test_dataloader_single_array_and_dict():
    x = np.arange(7.0)
    batches = list(DataLoader(x, batchsize=3))
    assert all(isinstance(b, np.ndarray) for b in batches)
    assert [b.tolist() for b in batches] == [[0, 1, 2], [3, 4, 5], [6]]
    d = list(DataLoader({"x": np.zeros((5, 3)), "y": np.arange(5)}, batchsize=2))
    assert [sorted(b) for b in d] == [["x", "y"]] * 3
    assert d[2]["x"].shape == (1, 3) and d[2]["y"].tolist() == [4]
    assert len(DataLoader(x)) == 7  # batchsize defaults to 1


def test_dataloader_partial_false_drops_the_short_batch():
    x = np.arange(10)
    loader = DataLoader(x, batchsize=4, partial=False)
    assert len(loader) == 2
    assert [b.tolist() for b in loader] == [[0, 1, 2, 3], [4, 5, 6, 7]]
    assert len(DataLoader(x, batchsize=5, partial=False)) == 2
    assert len(DataLoader(x, batchsize=11, partial=False)) == 0
    assert len(DataLoader(x, batchsize=11)) == 1


def test_dataloader_shuffle_reshuffles_each_epoch_and_is_reproducible():
    X, y = np.arange(40.0).reshape(20, 2), np.arange(20)

    def epochs(loader, n=3):
        return [np.concatenate([b[1] for b in loader]) for _ in range(n)]

    a = epochs(DataLoader((X, y), batchsize=6, shuffle=True, rng=123))
    b = epochs(DataLoader((X, y), batchsize=6, shuffle=True, rng=np.random.default_rng(123)))
    for ea, eb in zip(a, b):
        np.testing.assert_array_equal(ea, eb)
        assert sorted(ea.tolist()) == list(range(20))  # a permutation: every observation once
    assert not np.array_equal(a[0], a[1])  # a new order each epoch
    assert not np.array_equal(a[0], np.arange(20))
    # rows stay paired across arrays
    for xb, yb in DataLoader((X, y), batchsize=6, shuffle=True, rng=5):
        np.testing.assert_array_equal(xb[:, 0], 2 * yb)
    # no shuffle: the data's order
    np.testing.assert_array_equal(epochs(DataLoader((X, y), batchsize=6))[0], y)


def test_dataloader_errors_and_repr():
    with pytest.raises(FluxpyError, match="same number of observations"):
        DataLoader((np.zeros((5, 2)), np.zeros(4)))
    with pytest.raises(FluxpyError, match="same number of observations"):
        DataLoader({"x": np.zeros(3), "y": np.zeros(2)})
    with pytest.raises(FluxpyError, match="positive integer batchsize"):
        DataLoader(np.zeros(3), batchsize=0)
    with pytest.raises(FluxpyError, match="positive integer batchsize"):
        DataLoader(np.zeros(3), batchsize=2.5)
    with pytest.raises(FluxpyError, match="0-d"):
        DataLoader(np.array(3.0))
    with pytest.raises(FluxpyError, match="str"):
        DataLoader("abc")
    with pytest.raises(FluxpyError, match="list"):
        DataLoader([[1.0, 2.0], [3.0]])
    assert [b.tolist() for b in DataLoader([1, 2, 3], batchsize=2)] == [[1, 2], [3]]
    with pytest.raises(FluxpyError, match="rng"):
        DataLoader(np.zeros(3), shuffle=True, rng="seed")
    loader = DataLoader((np.zeros((10, 3), np.float32), np.zeros(10, np.int64)), batchsize=4, shuffle=True)
    assert repr(loader) == "3-element DataLoader((10×3 float32, 10 int64), batchsize=4, shuffle=True)"
    assert "partial=False" in repr(DataLoader(np.zeros(3), batchsize=2, partial=False))


# ---------------------------------------------------------------------------------------------------------
# train


def regression_data(n=64, seed=0):
    rng = np.random.default_rng(seed)
    X = rng.standard_normal((n, 5))
    W_true, b_true = rng.standard_normal((2, 5)), rng.standard_normal(2)
    Y = X @ W_true.T + b_true
    return X, Y


def test_train_implicit_linear_regression_lowers_the_loss():
    X, Y = regression_data()
    rng = np.random.default_rng(1)
    W = rng.random((2, 5))
    b = rng.random(2)

    def predict(x):
        return x @ W.T + b

    def loss(x, y):
        return np.mean((predict(x) - y) ** 2)

    before = loss(X, Y)
    data = DataLoader((X, Y), batchsize=8, shuffle=True, rng=0)
    losses = []
    for _ in range(5):
        losses += train(loss, fx.params(W, b), data, optimise.Descent(0.1))
    assert len(losses) == 5 * len(data) and all(type(l) is float for l in losses)
    assert loss(X, Y) < 0.1 * before
    assert np.mean(losses[-8:]) < np.mean(losses[:8])


def test_train_implicit_passes_a_non_tuple_batch_as_one_argument():
    w = np.zeros(3)
    seen = []

    @fx.nograd
    def record(x):
        seen.append(x.shape)

    def loss(x):
        record(x)
        return np.sum((w - x) ** 2)

    losses = train(loss, fx.params(w), [np.ones(3)] * 30, optimise.Descent(0.1))
    assert seen == [(3,)] * 30 and losses[-1] < losses[0]
    np.testing.assert_allclose(w, np.ones(3), atol=1e-2)


@needs_setup
def test_train_explicit_dense_lowers_the_loss():
    X, Y = regression_data()
    X, Y = X.astype(np.float32), Y.astype(np.float32)
    model = fx.Dense(5, 2)

    def loss(m, x, y):
        return np.mean((m(x) - y) ** 2)

    before = loss(model, X, Y)
    opt_state = optimise.setup(optimise.Descent(0.1), model)
    data = DataLoader((X, Y), batchsize=8, shuffle=True, rng=0)
    losses = []
    for _ in range(5):
        losses += train(loss, model, data, opt_state)
    assert all(type(l) is float for l in losses)
    assert loss(model, X, Y) < 0.1 * before
    assert model.weight.dtype == np.float32


@needs_setup
def test_train_explicit_keeps_the_optimiser_state_across_calls():
    model = fx.Dense(2, 1)
    opt_state = optimise.setup(optimise.Momentum(0.01, 0.9), model)
    data = [(np.ones((4, 2), np.float32), np.zeros((4, 1), np.float32))] * 3

    def loss(m, x, y):
        return np.mean((m(x) - y) ** 2)

    train(loss, model, data, opt_state)
    velocity = np.array(opt_state.weight.state, copy=True)
    assert np.any(velocity != 0)
    train(loss, model, data[:1], opt_state)
    assert not np.array_equal(opt_state.weight.state, velocity)


def test_train_explicit_rejects_a_bare_rule():
    with pytest.raises(FluxpyError, match="setup"):
        train(lambda m, x: np.sum(m(x)), fx.Dense(2, 1), [np.ones(2)], optimise.Descent(0.1))


def test_train_nan_loss_stops_before_the_update_implicit():
    W = np.ones(3)
    xs = [np.ones(3), 2 * np.ones(3), np.array([1.0, np.nan, 1.0]), np.ones(3)]
    snapshots = []

    @fx.nograd
    def snapshot(w):
        snapshots.append(w.copy())

    def loss(x):
        snapshot(W)
        return np.sum(W * x)

    with pytest.raises(FluxpyError, match="batch 2"):
        train(loss, fx.params(W), xs, optimise.Descent(0.1))
    assert len(snapshots) == 3  # stopped at the bad batch
    np.testing.assert_array_equal(W, snapshots[2])  # exactly as before that step
    np.testing.assert_allclose(W, 1 - 0.1 * 1 - 0.1 * 2)


@needs_setup
def test_train_nan_loss_stops_before_the_update_explicit():
    model = fx.Dense(3, 1)
    xs = [(np.ones((2, 3), np.float32),), (np.full((2, 3), np.nan, np.float32),)]
    opt_state = optimise.setup(optimise.Descent(0.1), model)

    def loss(m, x):
        return np.mean(m(x) ** 2)

    train(loss, model, xs[:1], opt_state)
    W, b = model.weight.copy(), model.bias.copy()
    with pytest.raises(FluxpyError, match="batch 1"):
        train(loss, model, xs, opt_state)
    # batch 0 was applied once more, batch 1 not at all
    after_first = fx.Dense(3, 1)
    after_first.weight[...], after_first.bias[...] = W, b
    train(loss, after_first, xs[:1], optimise.setup(optimise.Descent(0.1), after_first))
    np.testing.assert_array_equal(model.weight, after_first.weight)
    np.testing.assert_array_equal(model.bias, after_first.bias)
    assert np.all(np.isfinite(model.weight))


def test_train_progress_bar(capsys):
    w = np.zeros(1)
    losses = train(
        lambda x: np.sum((w - x) ** 2), fx.params(w), [np.ones(1)] * 5, optimise.Descent(0.1), progress=True
    )
    assert len(losses) == 5
    assert "5/5" in capsys.readouterr().err
    train(lambda x: np.sum((w - x) ** 2), fx.params(w), [np.ones(1)] * 60, optimise.Descent(0.1))
    assert capsys.readouterr().err == ""  # not a terminal: no bar by default


def test_train_progress_bar_by_itself_on_a_terminal_with_many_batches(capsys, monkeypatch):
    import sys

    monkeypatch.setattr(sys.stderr, "isatty", lambda: True, raising=False)
    w = np.zeros(1)
    train(lambda x: np.sum((w - x) ** 2), fx.params(w), [np.ones(1)] * 60, optimise.Descent(0.1))
    assert "60/60" in capsys.readouterr().err
    train(lambda x: np.sum((w - x) ** 2), fx.params(w), [np.ones(1)] * 10, optimise.Descent(0.1))
    assert capsys.readouterr().err == ""  # few batches: no bar
    train(
        lambda x: np.sum((w - x) ** 2), fx.params(w), [np.ones(1)] * 60, optimise.Descent(0.1), progress=False
    )
    assert capsys.readouterr().err == ""


def test_train_loss_with_auxiliary_output_uses_the_first_element():
    w = np.zeros(2)
    losses = train(
        lambda x: (np.sum((w - x) ** 2), "aux"), fx.params(w), [np.ones(2)] * 3, optimise.Descent(0.1)
    )
    assert losses[0] == 2.0 and losses[1] < 2.0


# ---------------------------------------------------------------------------------------------------------
# state / savemodel / loadmodel


def test_state_paths_of_a_chain():
    m = fx.Chain(fx.Dense(3, 4, fx.relu), fx.Dense(4, 2, bias=False))
    s = state(m)
    assert list(s) == ["layers.0.weight", "layers.0.bias", "layers.1.weight"]
    assert s["layers.0.weight"] is m[0].weight  # the arrays themselves
    shared = np.ones(2)
    assert list(state({"a": shared, "b": [shared, np.zeros(1)]})) == ["a", "b.1"]


def test_save_load_round_trip_restores_a_chain_exactly(tmp_path):
    m = fx.Chain(fx.Dense(3, 4, fx.relu), fx.Dense(4, 2))
    m[0].bias[...] = np.arange(4, dtype=np.float32)
    path = savemodel(tmp_path / "model.npz", m)
    assert path.endswith("model.npz")
    with np.load(path, allow_pickle=False) as f:
        assert sorted(f.files) == sorted(state(m))
    m2 = fx.Chain(fx.Dense(3, 4, fx.relu), fx.Dense(4, 2))
    weight_before = m2[0].weight
    assert loadmodel(m2, path) is m2
    assert m2[0].weight is weight_before  # copied in place
    for k, v in state(m).items():
        got = state(m2)[k]
        assert got.dtype == v.dtype and np.array_equal(got, v)
    x = np.random.default_rng(0).random((5, 3)).astype(np.float32)
    np.testing.assert_array_equal(m(x), m2(x))
    # np.savez's convention: .npz appended, and found again on load
    path2 = savemodel(str(tmp_path / "other"), m)
    assert path2.endswith("other.npz")
    loadmodel(fx.Chain(fx.Dense(3, 4, fx.relu), fx.Dense(4, 2)), str(tmp_path / "other"))


def test_loadmodel_checks_names_shapes_and_dtypes_and_changes_nothing_on_error(tmp_path):
    m = fx.Chain(fx.Dense(3, 4), fx.Dense(4, 2))
    before = {k: v.copy() for k, v in state(m).items()}
    good = {k: v + 1 for k, v in state(m).items()}

    missing = dict(good)
    del missing["layers.1.bias"]
    with pytest.raises(FluxpyError, match="missing.*layers.1.bias"):
        loadmodel(m, missing)
    with pytest.raises(FluxpyError, match="not in the model.*extra"):
        loadmodel(m, {**good, "extra": np.zeros(1)})
    with pytest.raises(FluxpyError, match="shape"):
        loadmodel(m, {**good, "layers.0.weight": np.zeros((3, 4), np.float32)})
    with pytest.raises(FluxpyError, match="float64"):
        loadmodel(m, {**good, "layers.0.weight": np.zeros((4, 3))})
    for k, v in state(m).items():
        np.testing.assert_array_equal(v, before[k])
    with pytest.raises(FluxpyError, match="no such file"):
        loadmodel(m, tmp_path / "nothing.npz")
    np.save(tmp_path / "single.npy", np.zeros(3))
    with pytest.raises(FluxpyError, match="single array"):
        loadmodel(m, tmp_path / "single.npy")


class Malicious:
    """Unpickling this creates the file at ``path``."""

    def __init__(self, path):
        self.path = str(path)

    def __reduce__(self):
        return (open, (self.path, "w"))


def test_a_pickle_is_refused_and_never_unpickled(tmp_path):
    marker = tmp_path / "pwned"
    bad = tmp_path / "model.npz"
    bad.write_bytes(pickle.dumps({"weight": Malicious(marker)}))
    m = fx.Dense(2, 1)
    weight = m.weight.copy()
    with pytest.raises(FluxpyError, match="pickle"):
        loadmodel(m, bad)
    assert not marker.exists()
    np.testing.assert_array_equal(m.weight, weight)


def test_an_npz_with_an_object_array_is_refused(tmp_path):
    marker = tmp_path / "pwned"
    bad = tmp_path / "model.npz"
    np.savez(bad, weight=np.array([Malicious(marker)], dtype=object), bias=np.zeros(1, np.float32))
    assert not marker.exists()
    m = fx.Dense(2, 1)
    with pytest.raises(FluxpyError, match="object array"):
        loadmodel(m, bad)
    assert not marker.exists()


def test_state_refuses_colliding_paths_and_optimiser_state(tmp_path):
    # one of the two arrays was silently dropped; an optimiser state saved as an empty archive
    with pytest.raises(fx.FluxpyError, match="two arrays have the path 'a.b'"):
        fx.state({"a.b": np.ones(2), "a": {"b": np.zeros(2)}})
    with pytest.raises(fx.FluxpyError, match="two arrays have the path '0'"):
        fx.savemodel(tmp_path / "m", {0: np.ones(2), "0": np.zeros(2)})
    m = fx.Chain(fx.Dense(2, 2))
    with pytest.raises(fx.FluxpyError, match="optimiser's state"):
        fx.savemodel(tmp_path / "opt", fx.setup(fx.optimise.Adam(), m))
    tied = np.ones(2)
    assert list(fx.state({"a": tied, "b": tied})) == ["a"]  # a shared array once


def test_implicit_train_refuses_an_optimiser_state():
    m = fx.Chain(fx.Dense(3, 1))
    data = [(np.ones((4, 3), np.float32), np.zeros((4, 1), np.float32))]
    with pytest.raises(fx.FluxpyError, match="takes a rule .* not Tree"):
        fx.train(
            lambda x, y: fx.losses.mse(m(x), y), fx.params(m), data, fx.setup(fx.optimise.Descent(0.1), m)
        )
    chain = fx.optimise.OptimiserChain(fx.optimise.ClipGrad(1.0), fx.optimise.Descent(0.1))
    fx.train(lambda x, y: fx.losses.mse(m(x), y), fx.params(m), data, chain)
