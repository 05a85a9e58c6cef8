"""Recurrent layers and ``Embedding``, as Flux 0.15/0.16 (stateless), written as plain NumPy code.

Conventions (NumPy is row-major, so the time and batch axes come first, as in PyTorch's default):

- A *cell* takes one time step: ``x`` of shape ``(in,)`` or ``(batch, in)`` and a state, and returns
  ``(output, new_state)`` (Flux 0.16's convention). The state is ``h`` for ``RNNCell`` and ``GRUCell`` and
  the pair ``(h, c)`` for ``LSTMCell``; the output is the new ``h``. ``cell(x)`` starts from a zero state.
  Weights follow ``Dense``: inputs multiply as ``x @ Wi.T + h @ Wh.T + bias``, with ``Wi`` of shape
  ``(gates * out, in)``, ``Wh`` of shape ``(gates * out, out)`` and ``bias`` of shape ``(gates * out,)``.
- Gates are stacked in PyTorch's (and Flux's) order: ``LSTMCell`` input, forget, cell, output (i, f, g, o);
  ``GRUCell`` reset, update, new (r, z, n), with ``n = tanh(x Wi_n + r * (h Wh_n) + b_n)`` and
  ``h' = (1 - z) * n + z * h`` (Flux's ``GRUCell``: one bias, none inside the reset product). ``GRUv3Cell``
  resets ``h`` before the candidate's product instead, ``n = tanh(x Wi_n + (r * h) Wh_n + b_n)``, with
  ``Wh_n`` a field of its own (Flux's ``Wh_h̃``) and ``Wh`` holding the r and z rows only.
- A *sequence layer* (``RNN``, ``LSTM``, ``GRU``, ``GRUv3``) is stateless: ``m(x, h0=None)`` runs the cell
  over the first axis of ``x`` (shape ``(seq_len, batch, in)`` or ``(seq_len, in)``) from ``h0`` (zeros
  when ``None``; ``(h0, c0)`` for ``LSTM``) and returns every output stacked: ``(seq_len, batch, out)`` or
  ``(seq_len, out)``. There is no hidden state to ``reset``; carry a state yourself with the cell.
- Built from arrays, as ``Dense(weight, bias)``: ``RNNCell(Wi, Wh, activation=tanh, bias=b)``,
  ``LSTMCell(Wi, Wh, bias=b)``, ``GRUCell(Wi, Wh, bias=b)``, ``GRUv3Cell(Wi, Wh, Wh_n, bias=b)`` (``bias``
  as ``create_bias``: an array, ``True`` for zeros, ``False`` for none), ``RNN(cell)``, ``LSTM(cell)``,
  ``GRU(cell)``, ``GRUv3(cell)``, ``Embedding(weight)``.
- ``Embedding(vocab, dim)`` has ``weight`` of shape ``(vocab, dim)`` (a row per token, as PyTorch);
  ``m(indices)`` gives ``weight[indices]`` of shape ``indices.shape + (dim,)``.

>>> import numpy as np, fluxpy as fx
>>> from fluxpy.layers.recurrent import LSTM
>>> m = LSTM(3, 5)
>>> m
LSTM(3, 5)
>>> m(np.ones((7, 2, 3), dtype=np.float32)).shape
(7, 2, 5)
"""

import numpy as np

from ..errors import FluxpyError
from ..functors import functor
from ..rules.registry import nograd
from .activations import sigmoid, tanh
from .init import create_bias, glorot_uniform, randn32


def _make(init, rng, *dims):
    return init(*dims, rng=rng) if rng is not None else init(*dims)


@nograd
def _check_input(layer, x, n_in):
    if np.shape(x)[-1:] != (n_in,):
        raise FluxpyError(
            f"{layer!r} expects inputs whose last axis has {n_in} entries, got shape {np.shape(x)}"
        )


@nograd
def _zeros_state(x, n_out, dtype):
    return np.zeros(tuple(np.shape(x)[:-1]) + (n_out,), dtype=dtype)


def _affine(cell, x, h):
    """``x @ Wi.T + h @ Wh.T + bias`` (all gates at once)."""
    y = x @ cell.Wi.T + h @ cell.Wh.T
    if cell.bias is not False:
        y = y + cell.bias
    return y


def _name(f):
    return getattr(f, "__name__", repr(f))


@functor
class RNNCell:
    """One step of an Elman RNN: ``h' = activation(x @ Wi.T + h @ Wh.T + bias)``; returns ``(h', h')``.

    >>> import numpy as np
    >>> c = RNNCell(3, 2)
    >>> c.Wi.shape, c.Wh.shape, c.bias.shape
    ((2, 3), (2, 2), (2,))
    >>> y, h = c(np.ones(3, dtype=np.float32))
    >>> y.shape, bool(np.all(y == h))
    ((2,), True)
    """

    def __init__(
        self,
        n_in,
        n_out,
        activation=tanh,
        *,
        init=glorot_uniform,
        init_recurrent=glorot_uniform,
        bias=True,
        rng=None,
    ):
        if isinstance(n_in, np.ndarray):  # RNNCell(Wi, Wh, activation, bias=...) from arrays
            self.Wi, self.Wh, self.activation = n_in, n_out, activation
            self.bias = create_bias(self.Wi, bias, self.Wi.shape[0])
            return
        self.Wi = _make(init, rng, n_out, n_in)
        self.Wh = _make(init_recurrent, rng, n_out, n_out)
        self.bias = create_bias(self.Wi, bias, n_out)
        self.activation = activation

    def __call__(self, x, h=None):
        _check_input(self, x, self.Wi.shape[1])
        if h is None:
            h = _zeros_state(x, self.Wh.shape[1], self.Wi.dtype)
        h = self.activation(_affine(self, x, h))
        return h, h

    def __repr__(self):
        out, n_in = self.Wi.shape
        extra = "" if self.activation is tanh else f", {_name(self.activation)}"
        bias = "" if self.bias is not False else ", bias=False"
        return f"RNNCell({n_in}, {out}{extra}{bias})"


@functor
class LSTMCell:
    """One LSTM step; state ``(h, c)``, gates i, f, g, o stacked in ``Wi`` (``4 * out`` rows).

    ``c' = f * c + i * g``, ``h' = o * tanh(c')``; returns ``(h', (h', c'))``.

    >>> import numpy as np
    >>> c = LSTMCell(3, 2)
    >>> c.Wi.shape, c.Wh.shape, c.bias.shape
    ((8, 3), (8, 2), (8,))
    >>> y, (h, cc) = c(np.ones((4, 3), dtype=np.float32))
    >>> y.shape, cc.shape
    ((4, 2), (4, 2))
    """

    def __init__(
        self, n_in, n_out, *, init=glorot_uniform, init_recurrent=glorot_uniform, bias=True, rng=None
    ):
        if isinstance(n_in, np.ndarray):  # from arrays: (Wi, Wh, bias=...)
            self.Wi, self.Wh = n_in, n_out
            self.bias = create_bias(self.Wi, bias, self.Wi.shape[0])
            return
        self.Wi = _make(init, rng, 4 * n_out, n_in)
        self.Wh = _make(init_recurrent, rng, 4 * n_out, n_out)
        self.bias = create_bias(self.Wi, bias, 4 * n_out)

    def __call__(self, x, state=None):
        _check_input(self, x, self.Wi.shape[1])
        n = self.Wh.shape[1]
        if state is None:
            h = _zeros_state(x, n, self.Wi.dtype)
            c = _zeros_state(x, n, self.Wi.dtype)
        else:
            h, c = state
        gates = _affine(self, x, h)
        i = sigmoid(gates[..., :n])
        f = sigmoid(gates[..., n : 2 * n])
        g = np.tanh(gates[..., 2 * n : 3 * n])
        o = sigmoid(gates[..., 3 * n :])
        c = f * c + i * g
        h = o * np.tanh(c)
        return h, (h, c)

    def __repr__(self):
        bias = "" if self.bias is not False else ", bias=False"
        return f"LSTMCell({self.Wi.shape[1]}, {self.Wh.shape[1]}{bias})"


@functor
class GRUCell:
    """One GRU step; gates r, z, n stacked in ``Wi`` (``3 * out`` rows); returns ``(h', h')``.

    ``r = σ(x Wi_r + h Wh_r + b_r)``, ``z = σ(x Wi_z + h Wh_z + b_z)``,
    ``n = tanh(x Wi_n + r * (h Wh_n) + b_n)``, ``h' = (1 - z) * n + z * h``.

    >>> import numpy as np
    >>> c = GRUCell(3, 2)
    >>> c.Wi.shape, c.Wh.shape, c.bias.shape
    ((6, 3), (6, 2), (6,))
    >>> c(np.ones(3, dtype=np.float32))[0].shape
    (2,)
    """

    def __init__(
        self, n_in, n_out, *, init=glorot_uniform, init_recurrent=glorot_uniform, bias=True, rng=None
    ):
        if isinstance(n_in, np.ndarray):  # from arrays: (Wi, Wh, bias=...)
            self.Wi, self.Wh = n_in, n_out
            self.bias = create_bias(self.Wi, bias, self.Wi.shape[0])
            return
        self.Wi = _make(init, rng, 3 * n_out, n_in)
        self.Wh = _make(init_recurrent, rng, 3 * n_out, n_out)
        self.bias = create_bias(self.Wi, bias, 3 * n_out)

    def __call__(self, x, h=None):
        _check_input(self, x, self.Wi.shape[1])
        n = self.Wh.shape[1]
        if h is None:
            h = _zeros_state(x, n, self.Wi.dtype)
        gx, gh, r, z = _gru_gates(self, x, h, n)
        candidate = np.tanh(gx[..., 2 * n :] + r * gh[..., 2 * n :])
        h = (1 - z) * candidate + z * h
        return h, h

    def __repr__(self):
        bias = "" if self.bias is not False else ", bias=False"
        return f"GRUCell({self.Wi.shape[1]}, {self.Wh.shape[1]}{bias})"


def _gru_gates(cell, x, h, n):
    """``(x @ Wi.T + bias, h @ Wh.T, r, z)``: the products and the reset and update gates of a GRU step."""
    gx = x @ cell.Wi.T
    if cell.bias is not False:
        gx = gx + cell.bias
    gh = h @ cell.Wh.T
    r = sigmoid(gx[..., :n] + gh[..., :n])
    z = sigmoid(gx[..., n : 2 * n] + gh[..., n : 2 * n])
    return gx, gh, r, z


@functor
class GRUv3Cell:
    """One step of the GRU of Cho et al. (arXiv:1406.1078 v3; Flux's ``GRUv3Cell``): the reset gate scales
    ``h`` *before* the candidate's recurrent product, whose weight ``Wh_n`` (Flux's ``Wh_h̃``) is a field of
    its own.

    ``r = σ(x Wi_r + h Wh_r + b_r)``, ``z = σ(x Wi_z + h Wh_z + b_z)``,
    ``n = tanh(x Wi_n + (r * h) Wh_n + b_n)``, ``h' = (1 - z) * n + z * h``; returns ``(h', h')``.
    ``Wi`` ``(3 * out, in)`` and ``bias`` ``(3 * out,)`` stack r, z, n; ``Wh`` ``(2 * out, out)`` stacks r
    and z only (Flux 0.15/0.16 allocate ``3 * out`` rows and never read the last ``out``; such a ``Wh``
    works here too, its last rows unread). From arrays: ``GRUv3Cell(Wi, Wh, Wh_n, bias=b)``.

    >>> import numpy as np
    >>> c = GRUv3Cell(3, 2)
    >>> c, c.Wi.shape, c.Wh.shape, c.Wh_n.shape, c.bias.shape
    (GRUv3Cell(3, 2), (6, 3), (4, 2), (2, 2), (6,))
    >>> y, h = c(np.ones((5, 3), dtype=np.float32))
    >>> y.shape, y.dtype
    ((5, 2), dtype('float32'))
    """

    def __init__(
        self,
        n_in,
        n_out,
        Wh_n=None,
        *,
        init=glorot_uniform,
        init_recurrent=glorot_uniform,
        bias=True,
        rng=None,
    ):
        if isinstance(n_in, np.ndarray):  # from arrays: (Wi, Wh, Wh_n, bias=...)
            if Wh_n is None:
                raise FluxpyError("GRUv3Cell(Wi, Wh, Wh_n, bias=...): the candidate's weight Wh_n is missing")
            self.Wi, self.Wh, self.Wh_n = n_in, n_out, Wh_n
            self.bias = create_bias(self.Wi, bias, self.Wi.shape[0])
            return
        self.Wi = _make(init, rng, 3 * n_out, n_in)
        self.Wh = _make(init_recurrent, rng, 2 * n_out, n_out)
        self.Wh_n = _make(init_recurrent, rng, n_out, n_out)
        self.bias = create_bias(self.Wi, bias, 3 * n_out)

    def __call__(self, x, h=None):
        _check_input(self, x, self.Wi.shape[1])
        n = self.Wh_n.shape[0]
        if h is None:
            h = _zeros_state(x, n, self.Wi.dtype)
        gx, _, r, z = _gru_gates(self, x, h, n)
        candidate = np.tanh(gx[..., 2 * n :] + (r * h) @ self.Wh_n.T)
        h = (1 - z) * candidate + z * h
        return h, h

    def __repr__(self):
        bias = "" if self.bias is not False else ", bias=False"
        return f"GRUv3Cell({self.Wi.shape[1]}, {self.Wh_n.shape[0]}{bias})"


def _scan(cell, x, state):
    """Run ``cell`` over the first axis of ``x``; every output stacked along a new first axis."""
    if np.ndim(x) < 2:
        raise FluxpyError(
            f"{cell!r} in a sequence layer expects x of shape (seq_len, in) or (seq_len, batch, in), "
            f"got shape {np.shape(x)}"
        )
    outputs = []
    for t in range(np.shape(x)[0]):
        y, state = cell(x[t], state)
        outputs.append(y)
    return np.stack(outputs)


@functor
class RNN:
    """``RNNCell`` over a sequence: ``m(x, h0=None)`` with ``x`` of shape ``(seq_len, [batch,] in)``
    gives all outputs, ``(seq_len, [batch,] out)``. Stateless (Flux 0.15): ``h0`` defaults to zeros.

    >>> import numpy as np
    >>> m = RNN(3, 4)
    >>> m, m(np.ones((6, 3), dtype=np.float32)).shape
    (RNN(3, 4), (6, 4))
    """

    def __init__(self, n_in, n_out=None, activation=tanh, **kwargs):
        if isinstance(n_in, RNNCell):  # RNN(cell)
            self.cell = n_in
            return
        self.cell = RNNCell(n_in, n_out, activation, **kwargs)

    def __call__(self, x, h0=None):
        return _scan(self.cell, x, h0)

    def __repr__(self):
        return "RNN" + repr(self.cell)[len("RNNCell") :]


@functor
class LSTM:
    """``LSTMCell`` over a sequence: ``m(x, state0=None)`` with ``state0 = (h0, c0)`` (zeros when ``None``)
    gives every ``h``, shape ``(seq_len, [batch,] out)``.

    >>> import numpy as np
    >>> m = LSTM(3, 4)
    >>> m(np.ones((6, 2, 3), dtype=np.float32), (np.zeros((2, 4)), np.ones((2, 4)))).shape
    (6, 2, 4)
    """

    def __init__(self, n_in, n_out=None, **kwargs):
        if isinstance(n_in, LSTMCell):  # LSTM(cell)
            self.cell = n_in
            return
        self.cell = LSTMCell(n_in, n_out, **kwargs)

    def __call__(self, x, state0=None):
        return _scan(self.cell, x, state0)

    def __repr__(self):
        return "LSTM" + repr(self.cell)[len("LSTMCell") :]


@functor
class GRU:
    """``GRUCell`` over a sequence: ``m(x, h0=None)`` gives every ``h``, shape ``(seq_len, [batch,] out)``.

    >>> import numpy as np
    >>> m = GRU(3, 4)
    >>> m, m(np.ones((6, 3), dtype=np.float32)).shape
    (GRU(3, 4), (6, 4))
    """

    def __init__(self, n_in, n_out=None, **kwargs):
        if isinstance(n_in, GRUCell):  # GRU(cell)
            self.cell = n_in
            return
        self.cell = GRUCell(n_in, n_out, **kwargs)

    def __call__(self, x, h0=None):
        return _scan(self.cell, x, h0)

    def __repr__(self):
        return "GRU" + repr(self.cell)[len("GRUCell") :]


@functor
class GRUv3:
    """``GRUv3Cell`` over a sequence: ``m(x, h0=None)`` gives every ``h``, shape ``(seq_len, [batch,] out)``.

    >>> import numpy as np
    >>> m = GRUv3(3, 4)
    >>> m, m(np.ones((6, 2, 3), dtype=np.float32)).shape
    (GRUv3(3, 4), (6, 2, 4))
    """

    def __init__(self, n_in, n_out=None, **kwargs):
        if isinstance(n_in, GRUv3Cell):  # GRUv3(cell)
            self.cell = n_in
            return
        self.cell = GRUv3Cell(n_in, n_out, **kwargs)

    def __call__(self, x, h0=None):
        return _scan(self.cell, x, h0)

    def __repr__(self):
        return "GRUv3" + repr(self.cell)[len("GRUv3Cell") :]


@functor
class Embedding:
    """A lookup table: ``weight`` of shape ``(vocab, dim)``; ``m(indices)`` is ``weight[indices]``.

    ``indices`` is an integer array of any shape (or an int), 0-based; the result has shape
    ``indices.shape + (dim,)``. A float or bool array whose last axis has ``vocab`` entries (one-hot rows,
    as ``fx.onehot`` gives) is multiplied: ``onehot @ weight``. Repeated indices accumulate in the gradient.

    >>> import numpy as np
    >>> e = Embedding(10, 4)
    >>> e, e.weight.shape, e(np.array([[1, 2, 3], [4, 5, 6]])).shape
    (Embedding(10, 4), (10, 4), (2, 3, 4))
    """

    def __init__(self, vocab, dim=None, *, init=randn32, rng=None):
        if isinstance(vocab, np.ndarray):  # Embedding(weight)
            self.weight = vocab
            return
        self.weight = _make(init, rng, vocab, dim)

    def __call__(self, indices):
        kind = np.asarray(indices).dtype.kind
        vocab = self.weight.shape[0]
        if kind in "fb":
            if np.shape(indices)[-1:] != (vocab,):
                raise FluxpyError(
                    f"{self!r} expects one-hot inputs whose last axis has {vocab} entries, "
                    f"got shape {np.shape(indices)}"
                )
            return np.asarray(indices, dtype=self.weight.dtype) @ self.weight
        if kind not in "iu":
            raise FluxpyError(f"{self!r} expects integer indices, got dtype {np.asarray(indices).dtype}")
        idx = np.asarray(indices)
        if idx.size and (idx.min() < 0 or idx.max() >= vocab):
            raise FluxpyError(f"{self!r}: indices must lie in [0, {vocab}), got {idx.min()} to {idx.max()}")
        return self.weight[idx]

    def __repr__(self):
        return f"Embedding({self.weight.shape[0]}, {self.weight.shape[1]})"


__all__ = ["GRU", "GRUCell", "GRUv3", "GRUv3Cell", "LSTM", "LSTMCell", "RNN", "RNNCell", "Embedding"]
