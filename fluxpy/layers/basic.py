"""Basic layers: ``Dense``, ``Chain``, ``compose``. A layer is a plain class: fields, a constructor
mirroring Flux's, a call, and a repr that prints the constructor call.

>>> import numpy as np, fluxpy as fx
>>> m = fx.Chain(fx.Dense(10, 5, fx.sigmoid), fx.Dense(5, 2), fx.softmax)
>>> m
Chain(
  Dense(10, 5, sigmoid),                # 55 parameters
  Dense(5, 2),                          # 12 parameters
  softmax,
)                   # Total: 4 arrays, 67 parameters, 268 bytes.
>>> y = m(np.ones(10, dtype=np.float32))
>>> y.shape, bool(np.isclose(y.sum(), 1.0))
((2,), True)
"""

import numpy as np

from ..backend import is_array
from ..errors import FluxpyError
from ..functors import children, functor
from ..nnlib.dense import dense_bias_act
from ..rules.python_warnings import warn
from ..rules.registry import nograd
from .activations import identity, relu, sigmoid, tanh
from .init import create_bias, glorot_uniform


@functor
class Dense:
    """``activation(x @ weight.T + bias)`` for ``x`` of shape ``(in,)`` or ``(batch, in)``.

    >>> import fluxpy as fx
    >>> d = fx.Dense(3, 2)
    >>> d.weight.shape, d.bias.shape
    ((2, 3), (2,))
    """

    def __init__(self, n_in, n_out=None, activation=identity, *, bias=True, init=glorot_uniform, rng=None):
        if is_array(n_in):
            # Dense(weight, bias=True, activation), as Flux's Dense(W, bias=true, σ=identity) (NumPy or CuPy):
            # the bias takes create_bias's forms, True a zero trainable bias, False none; the keyword when
            # there is no second argument
            check_activation("Dense", activation)
            self.weight = n_in
            self.bias = _bias_for(n_in, bias if n_out is None else n_out)
            self.activation = activation
            return
        if n_out is None:
            raise FluxpyError(
                f"Dense({n_in!r}) needs the output size too: Dense(in, out), or Dense(weight) with a weight "
                "array"
            )
        check_sizes("Dense", (n_in, n_out), ("input", "output"))
        check_activation("Dense", activation)
        self.weight = init(n_out, n_in, rng=rng) if rng is not None else init(n_out, n_in)
        self.bias = create_bias(self.weight, bias, n_out)
        self.activation = activation

    def __call__(self, x):
        weight = self.weight
        bias = self.bias
        activation = self.activation
        act = _fused(self, x, weight, bias, activation)  # checks x's shape first, as Flux's _size_check
        cast = input_cast(self, x, weight)  # Flux's _match_eltype: float64 data into a float32 layer
        if cast == "float32":
            x = x.astype(np.float32)
            act = _fused(self, x, weight, bias, activation)
        elif cast == "float16":
            x = x.astype(np.float16)
            act = _fused(self, x, weight, bias, activation)
        if act is not None:  # one rule for the product, the bias and the activation
            return dense_bias_act(x, weight, bias, act)
        y = x @ weight.T
        if bias is not False:
            y = y + bias
        return activation(y)

    def __repr__(self):
        out, n_in = self.weight.shape
        extra = "" if self.activation is identity else f", {_name(self.activation)}"
        bias = "" if self.bias is not False else ", bias=False"
        return f"Dense({n_in}, {out}{extra}{bias})"


MATCH_ELTYPE_WARNING = (
    "Layer with {param} parameters got {given} input. The input will be converted, but any earlier layers "
    "may be very slow. (layer: {layer}, input: {shape} {given}; Flux's _match_eltype, shown once)"
)
_warned_eltypes = set()  # (parameter dtype, input dtype) pairs warned about: once each, as Flux's maxlog=1


@nograd
def input_cast(layer, x, weight):
    """How ``layer`` converts its input ``x`` (Flux's ``_match_eltype``): ``"float32"`` or ``"float16"``, the
    dtype of its ``weight``, when ``x`` is a real float, integer or bool array of another dtype; None to
    leave it (the dtypes match; a float64 or complex layer, whose dtype NumPy's promotion gives anyway; a
    complex input, a list, a NumPy scalar). A float input of higher precision than the layer (float64 data,
    NumPy's default, into a float32 layer) also warns, once per pair of dtypes. One dtype comparison when
    they already match.

    The layer converts with ``x.astype(np.float32)`` written out, reading no name but ``x``: the activity
    analysis then keeps a data batch (an ``x`` that needs no gradient) constant, and an input gradient comes
    back in ``x``'s own dtype at the API boundary, as Flux's ``ProjectTo``."""
    given = getattr(x, "dtype", None)
    param = weight.dtype
    if given is None or given is param or given == param:
        return None
    if param.kind != "f" or param.itemsize > 4 or given.kind not in "fiub" or not is_array(x):
        return None
    if given.kind == "f" and given.itemsize > param.itemsize:
        _warn_eltype(layer, x, param)
    return param.name


def _warn_eltype(layer, x, param):
    key = (param.str, x.dtype.str)
    if key in _warned_eltypes:
        return
    _warned_eltypes.add(key)
    shape = "×".join(str(n) for n in x.shape) or "0-d"
    message = MATCH_ELTYPE_WARNING.format(
        param=param.name.capitalize(), given=x.dtype.name.capitalize(), layer=_short_repr(layer), shape=shape
    )
    warn(message, UserWarning)  # names the user's line, through generated code too


def _short_repr(layer):
    text = repr(layer)
    return text if "\n" not in text and len(text) <= 60 else type(layer).__name__


@nograd
def check_sizes(layer, sizes, names):
    """A FluxpyError unless every size given to ``layer``'s constructor is a non-negative integer (a bool is
    none): ``check_sizes("Dense", (3, 2.0), ("input", "output"))`` names the layer, the size and the value."""
    for n, what in zip(sizes, names, strict=True):
        if isinstance(n, (bool, np.bool_)) or not isinstance(n, (int, np.integer)) or n < 0:
            shown = ", ".join(repr(v) for v in sizes)
            raise FluxpyError(f"{layer}({shown}): the {what} size must be a non-negative integer, got {n!r}")


@nograd
def check_activation(layer, activation):
    """A FluxpyError unless ``activation`` is callable (a number there is a misplaced size or bias)."""
    if not callable(activation):
        raise FluxpyError(f"{layer}: the activation must be a function, got {activation!r}")


_FUSED = {identity: "identity", relu: "relu", tanh: "tanh", np.tanh: "tanh", sigmoid: "sigmoid"}


@nograd
def _fused(layer, x, weight, bias, activation):
    """The name of ``activation`` for ``dense_bias_act`` when the layer's call fits it: real floating arrays,
    a 2-d weight, a bias of shape ``(out,)`` or none; None otherwise (the call is written out). Refuses an
    input whose last axis does not match the weight."""
    if np.shape(x)[-1:] != weight.shape[1:]:
        raise FluxpyError(
            f"{layer!r} expects inputs whose last axis has {weight.shape[1]} entries, got shape {np.shape(x)}"
        )
    act = _FUSED.get(activation) if _hashable(activation) else None
    if act is None or not (_real_float(x) and _real_float(weight)) or weight.ndim != 2:
        return None
    if bias is not False and not (_real_float(bias) and bias.shape == weight.shape[:1]):
        return None
    return act


def _hashable(f):
    try:
        hash(f)
    except TypeError:
        return False
    return True


def _real_float(a):
    return is_array(a) and a.dtype.kind == "f"


def _bias_for(weight, bias):
    """The bias of a layer built from its ``weight``: ``True`` and ``False`` as ``create_bias`` (zeros of
    ``weight``'s dtype, shape ``weight.shape[0]``; no bias), anything else kept as given (so that a gradient
    reaches an array passed in)."""
    if isinstance(bias, (bool, np.bool_)):
        return create_bias(weight, bool(bias), weight.shape[0])
    return bias


@functor
class Chain:
    """Calls each layer in turn; ``m[i]``, ``m[a:b]`` (a Chain), ``len(m)``, ``m.layers``.

    Named layers, as Flux's ``Chain(enc = ..., dec = ...)``: ``fx.Chain(enc=..., dec=...)`` keeps them in a
    dict, ``m.layers`` (its gradient a dict too), read as ``m["enc"]`` (or by position, ``m[0]``).

    >>> import fluxpy as fx
    >>> fx.Chain(lambda x: x**2, lambda x: x + 1)(5)
    26
    >>> m = fx.Chain(enc=lambda x: x * 2, dec=lambda x: x + 1)
    >>> m(5), m["dec"](1), list(m.layers)
    (11, 2, ['enc', 'dec'])
    """

    def __init__(self, *layers, **named):
        if named and layers:
            raise FluxpyError("Chain takes layers by position or by name (Chain(enc=..., dec=...)), not both")
        if named:
            self.layers = dict(named)
            return
        # Chain([l1, l2]), as Flux's Chain(vector)
        if len(layers) == 1 and isinstance(layers[0], (list, tuple)):
            layers = layers[0]
        self.layers = tuple(layers)

    def __call__(self, x):
        layers = self.layers
        if type(layers) is dict:
            layers = tuple(layers.values())
        if not layers:
            return x
        # the first layer's output gets a name of its own, so that a constant input (a data batch) stays
        # one for the activity analysis and the first layer computes no gradient for it
        y = layers[0](x)
        for i in range(1, len(layers)):
            y = layers[i](y)
        return y

    def __getitem__(self, index):
        layers = self.layers
        if type(layers) is dict:
            if isinstance(index, str):
                return layers[index]
            names = list(layers)[index]
            if isinstance(index, slice):
                return Chain(**{k: layers[k] for k in names})
            return layers[names]
        if isinstance(index, slice):
            return Chain(*layers[index])
        return layers[index]

    def __len__(self):
        return len(self.layers)

    def _show_children(self):
        return tuple(self.layers.values()) if type(self.layers) is dict else self.layers

    def _show_labels(self):
        """The names of named layers, for the printing (``enc = Dense(2, 3)``), else None."""
        return tuple(self.layers) if type(self.layers) is dict else None

    def __repr__(self):
        return big_repr(self)


@functor
class Composed:
    """``outer(inner(x))``: Julia's ``outer ∘ inner``."""

    def __init__(self, outer, inner):
        self.outer, self.inner = outer, inner

    def __call__(self, x):
        return self.outer(self.inner(x))

    def __repr__(self):
        return f"compose({_name(self.outer)}, {_name(self.inner)})"


def compose(f, g):
    """``compose(f, g)(x) == f(g(x))``.

    >>> import fluxpy as fx
    >>> fx.compose(lambda x: x + 1, lambda x: x * 2)(3)
    7
    """
    return Composed(f, g)


def parameter_count(model):
    """The number of array entries in a model's children (shared arrays once)."""
    from ..implicit import params

    return sum(int(np.size(p)) for p in params(model))


def big_repr(obj, name=None, children=None):
    """Flux's printing of a container layer: one line when every child is a plain function (or array),
    else one indented line per child with its parameter count, and at the top a total line (arrays,
    parameters, bytes of the arrays' data). Containers list their children in ``_show_children()``
    (or pass ``children``); ``name`` defaults to the class name.

    >>> import fluxpy as fx
    >>> print(big_repr(fx.Chain(fx.Dense(2, 3), fx.Chain(fx.relu, fx.Dense(3, 1)))))
    Chain(
      Dense(2, 3),                          # 9 parameters
      Chain(
        relu,
        Dense(3, 1),                        # 4 parameters
      ),
    )                   # Total: 4 arrays, 13 parameters, 52 bytes.
    >>> fx.Chain(fx.relu, fx.tanh)
    Chain(relu, tanh)
    """
    lines = []
    _big_show(obj, 0, lines, name, children)
    return "\n".join(lines)


def _show_children(x):
    method = getattr(type(x), "_show_children", None)
    return None if method is None else tuple(method(x))


def _leaflike(x):
    from ..functors import is_functor

    return not is_functor(x)


def _big_show(obj, indent, lines, name=None, children=None, label=""):
    children = _show_children(obj) if children is None else tuple(children)
    name = type(obj).__name__ if name is None else name
    method = getattr(type(obj), "_show_labels", None)
    labels = (method(obj) if method is not None else None) or ("",) * len(children or ())
    labels = tuple(f"{k} = " if k else "" for k in labels)
    if children is None or all(_leaflike(c) for c in children):
        if children is None:
            text = label + _name(obj)
        else:
            text = label + f"{name}({', '.join(k + _name(c) for k, c in zip(labels, children, strict=True))})"
        _layer_show(obj, text, indent, lines)
        return
    lines.append(" " * indent + f"{label}{name}(")
    for child, child_label in zip(children, labels, strict=True):
        _big_show(child, indent + 2, lines, label=child_label)
    if indent == 0:
        lines.append(")" + _big_finale(obj))
    else:
        lines.append(" " * indent + "),")


def _layer_show(obj, text, indent, lines):
    line = " " * indent + text + ("," if indent else "")
    count = parameter_count(obj) if not _leaflike(obj) else 0
    if count:
        pad = max(2, (20 if indent == 0 else 39) - indent - len(text))
        line += " " * pad + f"# {_underscorise(count)} parameters"
        others = sum(int(np.size(a)) for a in _arrays(obj)) - count  # BatchNorm's running statistics
        if others > 0:
            line += f", plus {_underscorise(others)}" + (" non-trainable" if indent == 0 else "")
        line += _nan_show(obj)
    lines.append(line)


def _nan_show(layer):
    """Flux's ``_nan_show``: ``"  (all zero)"`` when every parameter of ``layer`` is zero, else
    ``"  (some NaN)"`` or ``"  (some Inf)"`` when one is; ``""`` otherwise.

    >>> import numpy as np, fluxpy as fx
    >>> d = fx.Dense(2, 2)
    >>> _nan_show(d), _nan_show(fx.Dense(2, 2, init=fx.zeros32))
    ('', '  (all zero)')
    >>> d.weight[0, 0] = np.inf
    >>> _nan_show(d)
    '  (some Inf)'
    """
    from ..backend import xp_of
    from ..implicit import params

    ps = list(params(layer))
    if not ps:
        return ""
    if all(not bool(xp_of(p).any(p)) for p in ps):
        return "  (all zero)"
    if any(bool(xp_of(p).isnan(p).any()) for p in ps):
        return "  (some NaN)"
    if any(bool(xp_of(p).isinf(p).any()) for p in ps):
        return "  (some Inf)"
    return ""


def _arrays(model):
    """Every array in ``model`` once, trainable or not (as Flux's ``_childarray_sum``)."""
    from ..functors import leaves

    return [v for v in leaves(model) if is_array(v)]


def _big_finale(model):
    """The total line: arrays, parameters and bytes; as Flux's, the non-trainable arrays (BatchNorm's
    running statistics) on a line of their own when there are any."""
    from ..implicit import params

    ps = _untied(list(params(model)))
    if len(ps) <= 2:
        return ""
    total = _underscorise(sum(int(np.size(p)) for p in ps))
    arrays = _untied(_arrays(model))
    size = _format_bytes(sum(int(getattr(a, "nbytes", 0)) for a in arrays))
    trainable = {id(p) for p in ps}
    others = [a for a in arrays if id(a) not in trainable]
    if not others:
        return " " * 19 + f"# Total: {len(ps)} arrays, {total} parameters, {size}."
    rest = _underscorise(sum(int(np.size(a)) for a in others))
    # as Flux's show.jl: rpad(")", 2) then 8 spaces, so that both lines' "#" sit in the same column
    return (
        " " * 9
        + f"# Total: {len(ps)} trainable arrays, {total} parameters,\n"
        + " " * 10
        + f"# plus {len(others)} non-trainable, {rest} parameters, summarysize {size}."
    )


def _untied(arrays):
    """``arrays`` less those that view another's memory (``Dense(enc.weight.T)``'s weight): one parameter, as
    the optimisers see it (``optimise/ties.py``) and Flux counts ``transpose(W)``."""
    if all(getattr(a, "base", None) is None for a in arrays):
        return arrays  # each owns its memory: nothing is tied (the common case, and no pairwise look)
    from ..optimise.ties import tie_owners

    owners = tie_owners(arrays)
    return [a for a in arrays if id(a) not in owners] if owners else arrays


def _underscorise(n):
    """``1234567 -> "1_234_567"``, as Flux prints counts."""
    return f"{n:,}".replace(",", "_")


def _format_bytes(n):
    """Julia's ``Base.format_bytes``: ``"268 bytes"``, ``"1.500 KiB"``, ``"2.000 MiB"``."""
    units = ["byte", "KiB", "MiB", "GiB", "TiB"]
    value, unit = float(n), 0
    while value >= 1024 and unit < len(units) - 1:
        value, unit = value / 1024, unit + 1
    if unit == 0:
        return f"{int(n)} byte" + ("" if n == 1 else "s")
    return f"{value:.3f} {units[unit]}"


def _name(f):
    if hasattr(type(f), "__fluxpy_functor_fields__"):
        return repr(f)
    return getattr(f, "__name__", repr(f))


__all__ = ["Chain", "Composed", "Dense", "compose", "children"]
