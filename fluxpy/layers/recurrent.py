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
  ``LSTMCell(Wi, Wh, b)``, ``GRUCell(Wi, Wh, b)`` (Flux 0.15's ``LSTMCell(Wi, Wh, bias)``; ``bias=b`` too),
  ``GRUv3Cell(Wi, Wh, Wh_n, bias=b)`` (``bias`` as ``create_bias``: an array, ``True`` for zeros, ``False``
  for none), ``RNN(cell)``, ``LSTM(cell)``, ``GRU(cell)``, ``GRUv3(cell)``, ``Embedding(weight)``. The
  arrays' shapes are checked there: ``Wi`` ``(gates * out, in)``, ``Wh`` ``(gates * out, out)``.
- ``Embedding(vocab, dim)`` has ``weight`` of shape ``(vocab, dim)`` (a row per token, as PyTorch);
  ``m(indices)`` gives ``weight[indices]`` of shape ``indices.shape + (dim,)``.

What the cells share lives once in ``_Cell`` (construction from sizes or arrays, the input check, the zero
state, the printing) and what the sequence layers share in ``_Recurrent`` (the cell field, the loop over
time, the printing); each public class states only what differs: its gate counts and its step, or its cell.

>>> import numpy as np, fluxpy as fx
>>> from fluxpy.layers.recurrent import LSTM
>>> m = LSTM(3, 5)
>>> m
LSTM(3, 5)
>>> m(np.ones((7, 2, 3), dtype=np.float32)).shape
(7, 2, 5)
"""

import numpy as np

from ..backend import is_array, xp_of
from ..errors import FluxpyError
from ..functors import functor
from ..rules.registry import nograd
from .activations import sigmoid, tanh
from .basic import _name, check_activation, check_sizes, input_cast
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
def _check_state(cell, x, h, name="h"):
    """A FluxpyError unless state ``h`` fits input ``x``: shape ``x.shape[:-1] + (out,)``, or one that
    broadcasts to it (an ``(out,)`` state shared by a batch, as Flux's)."""
    n_out = cell.Wh.shape[1]
    batch, shape = tuple(np.shape(x)[:-1]), tuple(np.shape(h))
    if shape == batch + (n_out,):
        return
    try:
        fits = shape[-1:] == (n_out,) and np.broadcast_shapes(shape[:-1], batch) == batch
    except ValueError:
        fits = False
    if not fits:
        raise FluxpyError(
            f"{cell!r}: the state {name} has shape {shape}, but an input of shape {np.shape(x)} needs one of "
            f"shape {batch + (n_out,)}" + (f" (or ({n_out},), shared by the batch)" if batch else "")
        )


@nograd
def _zeros(cell, x):
    """A zero ``h`` for ``cell`` at input ``x``: shape ``x.shape[:-1] + (out,)``, the weights' dtype and array
    module (a device model starts from device zeros)."""
    return xp_of(cell.Wi).zeros(tuple(np.shape(x)[:-1]) + (cell.Wh.shape[1],), dtype=cell.Wi.dtype)


@nograd
def _check_weights(cell, Wi, Wh):
    """A FluxpyError unless the arrays ``Wi`` and ``Wh`` a cell is built from fit each other: both 2-d,
    ``Wh`` ``(recurrent_gates * out, out)`` (its columns give ``out``) and ``Wi`` ``(gates * out, in)``. A
    ``GRUv3Cell`` takes a ``Wh`` of ``3 * out`` rows too (Flux allocates them, and never reads the last
    ``out``)."""
    name = type(cell).__name__
    if not is_array(Wh):
        raise FluxpyError(
            f"{name}(Wi, Wh, ...): Wi is an array of shape {Wi.shape}, so Wh must be an array too, got {Wh!r}"
        )
    g, rg = cell.gates, cell.recurrent_gates
    if Wi.ndim != 2 or Wh.ndim != 2:
        raise FluxpyError(
            f"{name}(Wi, Wh): Wi must have shape ({g} * out, in) and Wh ({rg} * out, out), both 2-d; got "
            f"Wi of shape {Wi.shape} and Wh of shape {Wh.shape}"
        )
    out = Wh.shape[1]
    rows = (rg * out, g * out) if isinstance(cell, GRUv3Cell) else (rg * out,)
    if Wh.shape[0] not in rows or Wi.shape[0] != g * out:
        raise FluxpyError(
            f"{name}(Wi, Wh): Wi must have shape ({g} * out, in) and Wh ({rg} * out, out); got Wi of shape "
            f"{Wi.shape} and Wh of shape {Wh.shape} (Wh's {out} columns make out = {out}: Wi needs "
            f"{g * out} rows, Wh {' or '.join(str(r) for r in rows)})"
        )


@nograd
def _check_candidate_weight(cell, Wh_n):
    out = cell.Wh.shape[1]
    if not is_array(Wh_n) or Wh_n.shape != (out, out):
        got = f"shape {Wh_n.shape}" if is_array(Wh_n) else repr(Wh_n)
        raise FluxpyError(
            f"GRUv3Cell(Wi, Wh, Wh_n): the candidate's weight Wh_n must be an array of shape ({out}, {out}) "
            f"(out = {out}, Wh's columns), got {got}"
        )


@nograd
def _check_bias(cell, bias):
    """A FluxpyError naming the cell unless ``bias`` is a bool or has shape ``(gates * out,)``."""
    if isinstance(bias, (bool, np.bool_)):
        return
    rows = cell.Wi.shape[0]
    if np.shape(bias) != (rows,):
        raise FluxpyError(
            f"{type(cell).__name__}: the bias must have shape ({rows},) ({cell.gates} gates of "
            f"{rows // cell.gates} rows, as Wi's {rows}), got shape {np.shape(bias)}"
        )


@nograd
def _check_cell_sizes(cell, n_in, n_out):
    name = type(cell).__name__
    if n_out is None:
        raise FluxpyError(
            f"{name}({n_in!r}) needs the output size too: {name}(in, out), or {name}(Wi, Wh) with weight "
            "arrays"
        )
    check_sizes(name, (n_in, n_out), ("input", "output"))


def _affine(cell, x, h):
    """``x @ Wi.T + h @ Wh.T + bias`` (all gates at once)."""
    y = x @ cell.Wi.T + h @ cell.Wh.T
    if cell.bias is not False:
        y = y + cell.bias
    return y


class _Cell:
    """Base of the cells. A subclass sets ``gates`` (blocks of ``out`` rows stacked in ``Wi`` and ``bias``)
    and ``recurrent_gates`` (in ``Wh``), and defines ``_step(x, state) -> (output, new_state)``.

    ``Cell(n_in, n_out, bias=True, *, init=glorot_uniform, init_recurrent=glorot_uniform, rng=None)``, or
    ``Cell(Wi, Wh, bias)`` from arrays (Flux 0.15's ``LSTMCell(Wi, Wh, bias)``: the bias positional or by
    keyword); ``cell(x, h=None)`` checks ``x`` and starts from zeros.
    A cell with a field of its own writes all its fields in its ``__init__`` (``_weights`` gives ``Wi`` and
    ``Wh``, ``_bias`` the bias, both checked): the transformer passes ``super().__init__`` positional
    arguments only, and the field order is the one ``fx.params`` and a gradient's ``Tangent`` show.
    """

    def __init__(
        self, n_in, n_out=None, bias=True, *, init=glorot_uniform, init_recurrent=glorot_uniform, rng=None
    ):
        self.Wi, self.Wh = self._weights(n_in, n_out, init, init_recurrent, rng)
        self.bias = self._bias(bias)

    def _weights(self, n_in, n_out, init, init_recurrent, rng):
        """``(Wi, Wh)``: the arrays ``n_in`` and ``n_out`` themselves (their shapes checked), or drawn with
        the gates' rows."""
        if is_array(n_in):  # from arrays: Cell(Wi, Wh, bias=...)
            _check_weights(self, n_in, n_out)
            return n_in, n_out
        _check_cell_sizes(self, n_in, n_out)
        Wi = _make(init, rng, self.gates * n_out, n_in)
        return Wi, _make(init_recurrent, rng, self.recurrent_gates * n_out, n_out)

    def _bias(self, bias):
        """The bias as ``create_bias`` makes it (``True``: zeros, ``False``: none), an array checked first."""
        _check_bias(self, bias)
        return create_bias(self.Wi, bias, self.Wi.shape[0])

    def __call__(self, x, h=None):
        _check_input(self, x, self.Wi.shape[1])
        if h is None:
            h = _zeros(self, x)
        _check_state(self, x, h)
        cast = input_cast(self, x, self.Wi)  # Flux's _match_eltype (the input, not the state)
        if cast == "float32":
            x = x.astype(np.float32)
        elif cast == "float16":
            x = x.astype(np.float16)
        return self._step(x, h)

    def _show_extra(self):
        return ""

    def __repr__(self):
        bias = "" if self.bias is not False else ", bias=False"
        n_out, n_in = self.Wh.shape[1], self.Wi.shape[1]
        return f"{type(self).__name__}({n_in}, {n_out}{self._show_extra()}{bias})"


@functor
class RNNCell(_Cell):
    """One step of an Elman RNN: ``h' = activation(x @ Wi.T + h @ Wh.T + bias)``; returns ``(h', h')``.

    >>> import numpy as np
    >>> c = RNNCell(3, 2)
    >>> c.Wi.shape, c.Wh.shape, c.bias.shape
    ((2, 3), (2, 2), (2,))
    >>> y, h = c(np.ones(3, dtype=np.float32))
    >>> y.shape, bool(np.all(y == h))
    ((2,), True)
    """

    gates = recurrent_gates = 1

    def __init__(
        self,
        n_in,
        n_out=None,
        activation=tanh,
        *,
        init=glorot_uniform,
        init_recurrent=glorot_uniform,
        bias=True,
        rng=None,
    ):
        check_activation("RNNCell", activation)
        self.Wi, self.Wh = self._weights(n_in, n_out, init, init_recurrent, rng)
        self.bias = self._bias(bias)
        self.activation = activation

    def _step(self, x, h):
        h = self.activation(_affine(self, x, h))
        return h, h

    def _show_extra(self):
        return "" if self.activation is tanh else f", {_name(self.activation)}"


@functor
class LSTMCell(_Cell):
    """One LSTM step; state ``(h, c)``, gates i, f, g, o stacked in ``Wi`` (``4 * out`` rows).

    ``c' = f * c + i * g``, ``h' = o * tanh(c')``; returns ``(h', (h', c'))``.
    ``LSTMCell(in, out, bias=True, *, init=glorot_uniform, init_recurrent=glorot_uniform, rng=None)``, or
    ``LSTMCell(Wi, Wh, bias)`` from arrays of shapes ``(4 * out, in)``, ``(4 * out, out)`` and ``(4 * out,)``.

    >>> import numpy as np
    >>> c = LSTMCell(3, 2)
    >>> c.Wi.shape, c.Wh.shape, c.bias.shape
    ((8, 3), (8, 2), (8,))
    >>> y, (h, cc) = c(np.ones((4, 3), dtype=np.float32))
    >>> y.shape, cc.shape
    ((4, 2), (4, 2))
    """

    gates = recurrent_gates = 4

    def __call__(self, x, state=None):
        # _Cell.__call__ with the state named for the pair (h, c), restated: called through _Cell.__call__,
        # _step would lose the activity analysis' mask (and compute a gradient for x at each step)
        _check_input(self, x, self.Wi.shape[1])
        if state is None:
            state = _zeros(self, x), _zeros(self, x)
        _check_lstm_state(self, state)
        _check_state(self, x, state[0], "h")
        _check_state(self, x, state[1], "c")
        cast = input_cast(self, x, self.Wi)
        if cast == "float32":
            x = x.astype(np.float32)
        elif cast == "float16":
            x = x.astype(np.float16)
        return self._step(x, state)

    def _step(self, x, state):
        h, c = state
        n = self.Wh.shape[1]
        gates = _affine(self, x, h)
        i = sigmoid(gates[..., :n])
        f = sigmoid(gates[..., n : 2 * n])
        g = np.tanh(gates[..., 2 * n : 3 * n])
        o = sigmoid(gates[..., 3 * n :])
        c = f * c + i * g
        h = o * np.tanh(c)
        return h, (h, c)


@nograd
def _check_lstm_state(cell, state):
    """An LSTM's state is the pair ``(h, c)``: a single array would be unpacked along its first axis."""
    if not isinstance(state, (tuple, list)) or len(state) != 2:
        got = f"an array of shape {np.shape(state)}" if is_array(state) else f"a {type(state).__name__}"
        raise FluxpyError(
            f"{cell!r}: the state of an LSTM is the pair (h, c), got {got}; pass (h0, c0) "
            "(e.g. (h0, zeros_like(h0)) to start from a given h)"
        )


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
class GRUCell(_Cell):
    """One GRU step; gates r, z, n stacked in ``Wi`` (``3 * out`` rows); returns ``(h', h')``.

    ``r = σ(x Wi_r + h Wh_r + b_r)``, ``z = σ(x Wi_z + h Wh_z + b_z)``,
    ``n = tanh(x Wi_n + r * (h Wh_n) + b_n)``, ``h' = (1 - z) * n + z * h``.
    ``GRUCell(in, out, bias=True, *, init=glorot_uniform, init_recurrent=glorot_uniform, rng=None)``, or
    ``GRUCell(Wi, Wh, bias)`` from arrays of shapes ``(3 * out, in)``, ``(3 * out, out)`` and ``(3 * out,)``.

    >>> import numpy as np
    >>> c = GRUCell(3, 2)
    >>> c.Wi.shape, c.Wh.shape, c.bias.shape
    ((6, 3), (6, 2), (6,))
    >>> c(np.ones(3, dtype=np.float32))[0].shape
    (2,)
    """

    gates = recurrent_gates = 3

    def _step(self, x, h):
        n = self.Wh.shape[1]
        gx, gh, r, z = _gru_gates(self, x, h, n)
        candidate = np.tanh(gx[..., 2 * n :] + r * gh[..., 2 * n :])
        h = (1 - z) * candidate + z * h
        return h, h


@functor
class GRUv3Cell(_Cell):
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

    gates, recurrent_gates = 3, 2  # the candidate's recurrent rows are Wh_n

    def __init__(
        self,
        n_in,
        n_out=None,
        Wh_n=None,
        *,
        init=glorot_uniform,
        init_recurrent=glorot_uniform,
        bias=True,
        rng=None,
    ):
        arrays = is_array(n_in)
        if arrays and Wh_n is None:
            raise FluxpyError("GRUv3Cell(Wi, Wh, Wh_n, bias=...): the candidate's weight Wh_n is missing")
        self.Wi, self.Wh = self._weights(n_in, n_out, init, init_recurrent, rng)
        if arrays:
            _check_candidate_weight(self, Wh_n)
        self.Wh_n = Wh_n if arrays else _make(init_recurrent, rng, n_out, n_out)
        self.bias = self._bias(bias)

    def _step(self, x, h):
        n = self.Wh.shape[1]
        gx, _, r, z = _gru_gates(self, x, h, n)
        candidate = np.tanh(gx[..., 2 * n :] + (r * h) @ self.Wh_n.T)
        h = (1 - z) * candidate + z * h
        return h, h


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


class _Recurrent:
    """Base of the sequence layers: one field, ``cell``, of the subclass's ``cell_type``, given or built from
    ``(n_in, n_out, **kwargs)``; ``m(x, h0=None)`` runs it over the first axis of ``x``; printed as the cell
    with the layer's name (``RNN(3, 5)`` for ``RNNCell(3, 5)``)."""

    def __init__(self, n_in, n_out=None, **kwargs):
        if isinstance(n_in, self.cell_type):  # Layer(cell)
            self.cell = n_in
            return
        _check_layer_arguments(self, n_in, n_out)
        self.cell = self.cell_type(n_in, n_out, **kwargs)

    def __call__(self, x, h0=None):
        return _scan(self.cell, x, h0)

    def __repr__(self):
        cell = repr(self.cell)
        return type(self).__name__ + cell[cell.index("(") :]


@nograd
def _check_layer_arguments(layer, n_in, n_out):
    """A FluxpyError for a sequence layer given neither a cell of its type nor both sizes."""
    name, cell = type(layer).__name__, layer.cell_type.__name__
    if isinstance(n_in, _Cell):
        raise FluxpyError(f"{name}(cell): the cell must be a {cell}, got {n_in!r}")
    if n_out is None:
        raise FluxpyError(
            f"{name}({n_in!r}) needs the output size too: {name}(in, out), or {name}({cell}(...)) with a cell"
        )


@functor
class RNN(_Recurrent):
    """``RNNCell`` over a sequence: ``m(x, h0=None)`` with ``x`` of shape ``(seq_len, [batch,] in)``
    gives all outputs, ``(seq_len, [batch,] out)``. Stateless (Flux 0.15): ``h0`` defaults to zeros.

    >>> import numpy as np
    >>> m = RNN(3, 4)
    >>> m, m(np.ones((6, 3), dtype=np.float32)).shape
    (RNN(3, 4), (6, 4))
    """

    cell_type = RNNCell

    def __init__(self, n_in, n_out=None, activation=tanh, **kwargs):
        if not isinstance(n_in, RNNCell):  # the cell built here, as _Recurrent passes on no activation
            _check_layer_arguments(self, n_in, n_out)
            n_in = RNNCell(n_in, n_out, activation, **kwargs)
        super().__init__(n_in)


@functor
class LSTM(_Recurrent):
    """``LSTMCell`` over a sequence: ``m(x, state0=None)`` with ``state0 = (h0, c0)`` (zeros when ``None``)
    gives every ``h``, shape ``(seq_len, [batch,] out)``.

    >>> import numpy as np
    >>> m = LSTM(3, 4)
    >>> m(np.ones((6, 2, 3), dtype=np.float32), (np.zeros((2, 4)), np.ones((2, 4)))).shape
    (6, 2, 4)
    """

    cell_type = LSTMCell

    def __call__(self, x, state0=None):  # the state is the pair (h0, c0), and is named so
        return _scan(self.cell, x, state0)


@functor
class GRU(_Recurrent):
    """``GRUCell`` over a sequence: ``m(x, h0=None)`` gives every ``h``, shape ``(seq_len, [batch,] out)``.

    >>> import numpy as np
    >>> m = GRU(3, 4)
    >>> m, m(np.ones((6, 3), dtype=np.float32)).shape
    (GRU(3, 4), (6, 4))
    """

    cell_type = GRUCell


@functor
class GRUv3(_Recurrent):
    """``GRUv3Cell`` over a sequence: ``m(x, h0=None)`` gives every ``h``, shape ``(seq_len, [batch,] out)``.

    >>> import numpy as np
    >>> m = GRUv3(3, 4)
    >>> m, m(np.ones((6, 2, 3), dtype=np.float32)).shape
    (GRUv3(3, 4), (6, 2, 4))
    """

    cell_type = GRUv3Cell


@nograd
def _as_indices(indices, weight):
    """``indices`` as an array: a device array stays one, anything else goes to ``weight``'s module."""
    return indices if is_array(indices) else xp_of(weight).asarray(indices)


@nograd
def _check_indices(layer, idx, vocab):
    if idx.size:
        low, high = int(idx.min()), int(idx.max())  # one synchronisation each on a device
        if low < 0 or high >= vocab:
            raise FluxpyError(f"{layer!r}: indices must lie in [0, {vocab}), got {low} to {high}")


@nograd
def _check_embedding_sizes(vocab, dim):
    if dim is None:
        raise FluxpyError(
            f"Embedding({vocab!r}) needs the embedding size too: Embedding(vocab, dim), or Embedding(weight) "
            "with a weight array of shape (vocab, dim)"
        )
    check_sizes("Embedding", (vocab, dim), ("vocabulary", "embedding"))


@nograd
def _check_embedding_weight(weight):
    if weight.ndim != 2:
        raise FluxpyError(f"Embedding(weight): the weight must have shape (vocab, dim), got {weight.shape}")


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
        if is_array(vocab):  # Embedding(weight)
            _check_embedding_weight(vocab)
            self.weight = vocab
            return
        _check_embedding_sizes(vocab, dim)
        self.weight = _make(init, rng, vocab, dim)

    def __call__(self, indices):
        idx = _as_indices(indices, self.weight)
        kind = idx.dtype.kind
        vocab = self.weight.shape[0]
        if kind in "fb":
            if np.shape(indices)[-1:] != (vocab,):
                raise FluxpyError(
                    f"{self!r} expects one-hot inputs whose last axis has {vocab} entries, "
                    f"got shape {np.shape(indices)}"
                )
            return xp_of(self.weight).asarray(indices, dtype=self.weight.dtype) @ self.weight
        if kind not in "iu":
            raise FluxpyError(f"{self!r} expects integer indices, got dtype {idx.dtype}")
        _check_indices(self, idx, vocab)
        return self.weight[idx]

    def outputsize(self, shape):
        """``fx.outputsize``'s rule: the output shape for integer indices of ``shape`` (as Flux's, whose
        Embedding takes indices there; zeros in float32 would read as one-hot rows)."""
        return (*shape, self.weight.shape[1])

    def __repr__(self):
        return f"Embedding({self.weight.shape[0]}, {self.weight.shape[1]})"


__all__ = ["GRU", "GRUCell", "GRUv3", "GRUv3Cell", "LSTM", "LSTMCell", "RNN", "RNNCell", "Embedding"]
