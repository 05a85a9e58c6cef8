"""Fixes from a bug hunt of the model library: outputsize through Embedding, recurrent states of the wrong
shape, DataLoader's namedtuples and copies, f32/f64 of complex arrays, and the printing of non-trainable
arrays (BatchNorm's running statistics), each as Flux does it."""

from collections import namedtuple

import numpy as np
import pytest

import fluxpy as fx
from fluxpy.testing import check_grads


def test_outputsize_reads_an_embeddings_input_as_indices():
    e = fx.Embedding(10, 4)
    assert fx.outputsize(e, (2, 3)) == e(np.zeros((2, 3), dtype=int)).shape == (2, 3, 4)
    model = fx.Chain(fx.Embedding(10, 4), fx.LSTM(4, 5), fx.Dense(5, 2))
    assert fx.outputsize(model, (2, 3)) == model(np.zeros((2, 3), dtype=int)).shape == (2, 3, 2)


@pytest.mark.parametrize(
    "call, shape",
    [
        (lambda: fx.LSTMCell(3, 4)(np.ones((2, 3)), (np.ones((2, 5)), np.ones((2, 5)))), r"\(2, 5\)"),
        (
            lambda: fx.LSTMCell(3, 4)(np.ones((2, 3)), (np.ones((2, 4)), np.ones((3, 4)))),
            r"\(3, 4\)",
        ),
        (lambda: fx.LSTM(3, 4)(np.ones((5, 2, 3)), (np.zeros((3, 4)), np.zeros((3, 4)))), r"\(3, 4\)"),
        (lambda: fx.GRUCell(3, 4)(np.ones((2, 3)), np.ones((3, 4))), r"\(3, 4\)"),
        (lambda: fx.RNN(3, 4)(np.ones((5, 3)), np.ones(5)), r"\(5,\)"),
    ],
)
def test_a_recurrent_state_of_the_wrong_shape_is_named(call, shape):
    with pytest.raises(fx.FluxpyError, match=r"the state [hc] has shape " + shape):
        call()


def test_a_recurrent_state_shared_by_the_batch_broadcasts():
    cell = fx.f64(fx.GRUCell(3, 4))
    x, h = np.ones((2, 3)), np.linspace(-1, 1, 4)
    np.testing.assert_allclose(cell(x, h)[0], cell(x, np.stack([h, h]))[0])
    check_grads(lambda h: np.sum(cell(x, h)[0] ** 2), h, order=2)


Data = namedtuple("Data", "x y")


def test_dataloader_keeps_namedtuples_and_copies_its_batches():
    data = Data(np.arange(6.0).reshape(3, 2), np.arange(3))
    batch = next(iter(fx.DataLoader(data, batchsize=2)))
    assert type(batch) is Data
    np.testing.assert_array_equal(batch.x, [[0.0, 1.0], [2.0, 3.0]])
    batch.x[...] = -1  # a batch is no view of the data
    assert data.x.min() == 0.0
    shuffled = next(iter(fx.DataLoader(data, batchsize=2, shuffle=True, rng=np.random.default_rng(0))))
    assert type(shuffled) is Data and shuffled.x.shape == (2, 2)


def test_f32_and_f64_convert_complex_arrays_too():
    model = {"w": np.ones(2, dtype=np.complex128), "b": np.ones(2)}
    assert fx.f32(model)["w"].dtype == np.complex64 and fx.f32(model)["b"].dtype == np.float32
    assert fx.f64(fx.f32(model))["w"].dtype == np.complex128


def test_non_trainable_arrays_are_counted_in_the_printing_as_flux():
    text = repr(fx.Chain(fx.Dense(2, 4), fx.BatchNorm(4)))
    assert "BatchNorm(4),                         # 8 parameters, plus 8\n" in text
    assert text.endswith(
        ")         # Total: 4 trainable arrays, 20 parameters,\n"
        "          # plus 2 non-trainable, 8 parameters, summarysize 112 bytes."
    )
    assert repr(fx.BatchNorm(4)) == "BatchNorm(4)"


def test_outdims_refuses_an_input_too_small_for_the_window():
    # it gave (-1, 1) and (0, 0)
    conv = fx.Conv((3, 3), 3, 16)
    for size in [(10, 10, 1, 3), (2, 2)]:
        with pytest.raises(fx.FluxpyError, match="too small"):
            fx.outdims(conv, size)
    with pytest.raises(fx.FluxpyError, match="too small"):
        fx.outdims(fx.MaxPool((4, 4)), (3, 3))
    assert fx.outdims(conv, (3, 3)) == (1, 1)


def test_a_chain_with_named_layers_as_flux():
    # Flux's Chain(enc = ..., dec = ...): a raw TypeError before
    m = fx.f64(fx.Chain(enc=fx.Dense(3, 4, fx.relu), drop=fx.Dropout(0.5), dec=fx.Dense(4, 2)))
    x = np.random.default_rng(0).standard_normal((5, 3))
    assert repr(m).startswith("Chain(\n  enc = Dense(3, 4, relu),")
    assert m["dec"] is m[2] and list(m[0:2].layers) == ["enc", "drop"] and len(m) == 3
    g = fx.gradient(lambda m: np.sum(m(x) ** 2), m)[0]
    assert list(g.layers) == ["enc", "drop", "dec"] and g.layers["enc"].weight.shape == (4, 3)
    w0 = m["enc"].weight.copy()
    fx.update(fx.setup(fx.optimise.Descent(0.1), m), m, g)
    assert not np.array_equal(w0, m["enc"].weight)
    assert fx.outputsize(m, (5, 3)) == (5, 2) and fx.outdims(m, (3,)) == (2,)
    assert list(fx.state(m)) == [
        "layers.enc.weight",
        "layers.enc.bias",
        "layers.dec.weight",
        "layers.dec.bias",
    ]
    fx.testmode(m)
    check_grads(lambda x: np.sum(m(x) ** 2), x, order=2, forward=True)
    with pytest.raises(fx.FluxpyError, match="by position or by name"):
        fx.Chain(fx.relu, dec=fx.relu)


def test_bilinear_takes_flux_size_forms():
    # Flux's Bilinear((in1, in2) => out, σ) and Bilinear(in => out): refused before ("give all three sizes")
    assert fx.Bilinear((3, 4), 2).weight.shape == (2, 3, 4)
    assert repr(fx.Bilinear((3, 4), 2, fx.tanh)) == "Bilinear(3, 4, 2, tanh)"
    assert repr(fx.Bilinear(3, 2, fx.relu)) == "Bilinear(3, 3, 2, relu)" and fx.Bilinear(
        3, 2
    ).weight.shape == (2, 3, 3)
    assert fx.Bilinear(3, 4, 2).weight.shape == (2, 3, 4)
    with pytest.raises(fx.FluxpyError, match="give the input and output sizes"):
        fx.Bilinear(3)
