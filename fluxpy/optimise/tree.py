"""The explicit optimiser API (Optimisers.jl's): ``setup`` builds a state tree mirroring a model, ``update``
walks state, model and gradient together and updates the model's arrays in place.

>>> import numpy as np, fluxpy as fx
>>> from fluxpy.optimise import Descent, setup, update
>>> model = {"w": np.array([1.0, 2.0]), "name": "toy"}
>>> state = setup(Descent(0.1), model)
>>> state
{'w': Leaf(Descent(0.1), None), 'name': None}
>>> state, model = update(state, model, {"w": np.array([1.0, 1.0]), "name": None})
>>> model["w"]
array([0.9, 1.9])
"""

import functools
from collections.abc import Mapping
from types import BuiltinFunctionType, FunctionType, MethodType, ModuleType

from ..backend import is_array, xp_of
from ..errors import FluxpyError
from ..functors import children, closure_children, fields_of, is_functor, unbound
from ..tangents import Tangent, accum
from .rules import adjusted, is_rule
from .ties import _root, tie_owners, to_owner

try:  # the functors module may narrow a layer's parameters (Optimisers.jl's ``trainable``)
    from ..functors import trainable as _trainable
except ImportError:  # pragma: no cover - older functors module
    _trainable = children


class Leaf:
    """The optimiser state of one array: its ``rule``, the rule's ``state``, and whether it is ``frozen``."""

    __slots__ = ("rule", "state", "frozen")

    def __init__(self, rule, state, frozen=False):
        self.rule, self.state, self.frozen = rule, state, frozen

    def __repr__(self):
        frozen = ", frozen=True" if self.frozen else ""
        return f"Leaf({self.rule!r}, {_show(self.state)}{frozen})"


class Tied:
    """The state of an array that views another parameter's memory (tied weights, ``fx.Dense(enc.weight.T)``):
    its gradient is added to that parameter's (``leaf``, for array ``owner``), which takes the one step."""

    __slots__ = ("leaf", "owner")

    def __init__(self, leaf, owner):
        self.leaf, self.owner = leaf, owner

    @property
    def frozen(self):
        return self.leaf.frozen

    def __repr__(self):
        return f"Tied(to the array of shape {tuple(self.owner.shape)})"


def _show(v):
    if is_array(v):
        if v.size <= 6:
            return repr(v.tolist())
        return f"array(shape={v.shape}, dtype={v.dtype})"
    if isinstance(v, tuple):
        inner = ", ".join(_show(e) for e in v)
        return f"({inner},)" if len(v) == 1 else f"({inner})"
    return repr(v)


class Tree:
    """The state of a functor (a layer, a model): its children's states by field name, as attributes
    (``state.layers[0].weight``) or items (``state["layers"]``); None for a child with nothing to train."""

    __slots__ = ("_type", "_fields")

    def __init__(self, primal_type, fields):
        object.__setattr__(self, "_type", primal_type)
        object.__setattr__(self, "_fields", dict(fields))

    def __getattr__(self, name):
        if name in Tree.__slots__:  # not set yet (an instance copy or pickle made without __init__)
            raise AttributeError(name)
        try:
            return self._fields[name]
        except KeyError:
            raise AttributeError(f"Tree[{self._type.__name__}] has no field {name!r}") from None

    def __setattr__(self, name, value):
        raise AttributeError("a state Tree's fields are fixed; adjust or freeze its leaves instead")

    def __reduce__(self):
        # copy.copy, copy.deepcopy (Leaf objects shared by tied weights stay shared) and pickle (to checkpoint
        # Adam's moments; fx.savemodel saves models only) rebuild a Tree through __init__: __setattr__ refuses
        return (Tree, (self._type, self._fields))

    def __getitem__(self, name):
        return self._fields[name]

    def __iter__(self):
        return iter(self._fields)

    def __len__(self):
        return len(self._fields)

    def keys(self):
        return self._fields.keys()

    def values(self):
        return self._fields.values()

    def items(self):
        return self._fields.items()

    def __repr__(self):
        inner = ", ".join(f"{k}={v!r}" for k, v in self._fields.items())
        return f"Tree[{self._type.__name__}]({inner})"


def _trainable_array(x):
    return is_array(x) and x.dtype.kind in "fc"


# ---------------------------------------------------------------------------------------------------------
# setup


def setup(rule, model):
    """The optimiser state for ``model``: a tree mirroring it, with a :class:`Leaf` (``rule`` and its state)
    at every trainable float array — reached through functor children, tuples, lists, dicts, and the
    variables a closure captures (``lambda x: W @ x + b``; a ``Tree[function]`` by variable name, as its
    gradient is a ``Tangent[function]``) — and None elsewhere. A bound method's state is its object's,
    a ``functools.partial``'s is a ``Tree[partial]`` of ``func``, ``args`` and ``keywords``. An array (or
    layer) used in two places gets one shared Leaf (tied weights).

    >>> import numpy as np, fluxpy as fx
    >>> W = np.zeros(2)
    >>> s = fx.optimise.setup(fx.optimise.Momentum(), (W, W, 3))
    >>> s
    (Leaf(Momentum(0.01, 0.9), [0.0, 0.0]), Leaf(Momentum(0.01, 0.9), [0.0, 0.0]), None)
    >>> s[0] is s[1]
    True
    """
    if not is_rule(rule):
        raise FluxpyError(f"setup(rule, model) takes an optimisation rule first (e.g. Adam()), not {rule!r}")
    reached = []
    _reach(model, reached, set())
    cache = {"owners": tie_owners(reached)}
    return _setup(rule, model, cache)


def _reach(x, out, seen):
    """The trainable arrays of ``x`` in the order :func:`_setup` meets them, each once."""
    x = unbound(x)
    if id(x) in seen:
        return
    seen.add(id(x))
    if is_array(x):
        if _trainable_array(x):
            out.append(x)
    elif is_functor(x):
        for v in _trainable(x).values():
            _reach(v, out, seen)
    elif closure_children(x) is not None:
        for v in closure_children(x).values():
            _reach(v, out, seen)
    elif isinstance(x, (tuple, list)):
        for v in x:
            _reach(v, out, seen)
    elif isinstance(x, dict):
        for v in x.values():
            _reach(v, out, seen)


def _setup(rule, x, cache):
    x = unbound(x)
    key = id(x)
    if key in cache:
        return cache[key]
    owner = cache["owners"].get(key)
    if owner is not None:
        out = Tied(_setup(rule, owner, cache), owner)
    elif is_array(x):
        out = Leaf(rule, rule.init(x)) if _trainable_array(x) else None
    elif closure_children(x) is not None:
        out = _setup_closure(rule, x, cache)
    elif is_functor(x):
        train = _trainable(x)
        out = Tree(
            type(x), {k: _setup(rule, v, cache) if k in train else None for k, v in children(x).items()}
        )
    elif isinstance(x, tuple) and hasattr(type(x), "_fields"):
        out = type(x)(*(_setup(rule, v, cache) for v in x))
    elif isinstance(x, (tuple, list)):
        out = type(x)(_setup(rule, v, cache) for v in x)
    elif isinstance(x, dict):
        out = {k: _setup(rule, v, cache) for k, v in x.items()}
    else:
        _refuse_hidden_parameters(x)
        out = None
    if is_array(x) or isinstance(x, (list, dict)) or is_functor(x):
        cache[key] = out  # mutable things can be shared; tuples and numbers are not cached by identity
    return out


def _setup_closure(rule, f, cache):
    """A ``Tree[function]`` (or ``Tree[partial]``) of the state of what ``f`` captures, by the names its
    gradient uses; None when nothing in it is trainable (an activation function, ``fx.relu``)."""
    cache[id(f)] = None  # a closure that reaches itself (a recursive local function) stops here
    fields = {k: _setup(rule, v, cache) for k, v in closure_children(f).items()}
    out = Tree(type(f), fields) if _leaves(fields) else None
    cache[id(f)] = out
    return out


def _refuse_hidden_parameters(x):
    """A FluxpyError when ``x``, an object whose class is not a functor, holds trainable arrays in its
    attributes: optimisers cannot see inside it (Flux's "Flux does not know to look inside it"), and
    training would leave those arrays alone without a word."""
    if isinstance(x, (type, ModuleType, FunctionType, MethodType, BuiltinFunctionType, functools.partial)):
        return
    if type(x).__module__ == "builtins" or isinstance(x, (Leaf, Tree, Tangent)):
        return
    path = _hidden_array(fields_of(x), set(), 3)
    if path is None:
        return
    name = type(x).__name__
    raise FluxpyError(
        f"setup: {name} holds a trainable array ({name}.{path}) but its class is not a functor, so "
        f"optimisers cannot see inside it and training would leave it alone. Decorate the class with "
        f"@fx.functor (or call fx.functor({name})); fx.functor({name}, trainable=()) keeps its arrays out "
        "of training."
    )


def _hidden_array(fields, seen, depth):
    """The attribute path to a trainable array among ``fields`` (a plain object's ``vars``), looking into
    containers and plain objects ``depth`` levels down; None when there is none."""
    for key, value in fields.items():
        value = unbound(value)
        if id(value) in seen:
            continue
        seen.add(id(value))
        label = f"{key}" if isinstance(key, str) else f"[{key!r}]"
        if _trainable_array(value):
            return label
        if depth == 0:
            found = None
        elif closure_children(value) is not None:
            found = _hidden_array(closure_children(value), seen, depth - 1)
        elif is_functor(value):
            found = _hidden_array(_trainable(value), seen, depth - 1)
        elif isinstance(value, (list, tuple)):
            found = _hidden_array(dict(enumerate(value)), seen, depth - 1)
        elif isinstance(value, dict):
            found = _hidden_array(value, seen, depth - 1)
        elif not isinstance(value, (type, ModuleType, FunctionType)) and type(value).__module__ != "builtins":
            found = _hidden_array(fields_of(value), seen, depth - 1)
        else:
            found = None
        if found is not None:
            return label + ("" if found.startswith("[") else ".") + found
    return None


# ---------------------------------------------------------------------------------------------------------
# update


def update(*args):
    """Update parameters in place.

    ``update(state, model, grad)`` (explicit, Optimisers.jl's ``update!``): ``state`` from :func:`setup`,
    ``grad`` the gradient of ``model`` as ``fx.gradient`` gives it (a ``Tangent`` for a layer, a tuple /
    list / dict for a container, an array, or None for no gradient). Each array is updated once, with the
    gradients of all the places it is used summed; frozen leaves and arrays without a gradient are left
    alone. Returns ``(state, model)``.

    ``update(opt, ps, gs)`` (implicit): ``opt`` a rule, ``ps`` an ``fx.params``, ``gs`` its ``Grads``;
    returns None.

    >>> import numpy as np, fluxpy as fx
    >>> from fluxpy.optimise import Adam, setup, update
    >>> model = (np.array([1.0, -1.0]),)
    >>> state = setup(Adam(0.1), model)
    >>> state, model = update(state, model, (np.array([0.5, -2.0]),))
    >>> model[0]
    array([ 0.9, -0.9])
    >>> state[0].rule, state[0].state[2]
    (Adam(0.1, (0.9, 0.999), 1e-08), (0.81, 0.998001))
    """
    if len(args) != 3:
        raise FluxpyError("update takes (state, model, grad) or (opt, params, grads)")
    first = args[0]
    if is_rule(first):
        from .implicit import update_implicit

        return update_implicit(*args)
    state, model, grad = args
    pending, tied = {}, []
    _collect(state, model, grad, pending, tied)
    for st, view, g in tied:
        _collect_tied(st, view, g, pending)
    for leaf, x, dx in pending.values():
        _apply(leaf, x, dx)
    return state, model


def _field(g, name):
    if g is None:
        return None
    if isinstance(g, Mapping):
        return g.get(name)
    if isinstance(g, (tuple, list)):
        return g[name] if isinstance(name, int) and name < len(g) else None
    return getattr(g, name, None)


def _check_grad(st, x, g):
    """A FluxpyError unless gradient ``g`` has the structure of model ``x`` (whose state is ``st``): a
    gradient that does not fit would otherwise find no entry for any parameter and leave them all alone."""
    if isinstance(st, (Leaf, Tied)):
        wrong = isinstance(g, (tuple, list, Mapping, Tangent))
    elif isinstance(st, Tree) and not isinstance(x, (tuple, list)):
        wrong = not isinstance(g, (Tangent, Mapping)) or (isinstance(g, Tangent) and g._type is not type(x))
    elif isinstance(st, (tuple, list)):
        wrong = not isinstance(g, (tuple, list)) or len(g) != len(st)
    elif isinstance(st, dict):
        wrong = not isinstance(g, Mapping)
    else:
        return
    if wrong:
        hint = ""
        if isinstance(g, tuple) and not isinstance(x, (tuple, list)):
            hint = (
                " A tuple: fx.gradient(loss, model, x) gives one gradient per argument; pass the model's, "
                "fx.gradient(...)[0] (withgradient's .grad[0])."
            )
        raise FluxpyError(
            f"update: the gradient does not match the model: the model is {_describe(x)}, the gradient "
            f"{_describe(g)}.{hint}"
        )


def _describe(v):
    if isinstance(v, Tangent):
        return f"a Tangent of a {v._type.__name__}"
    if isinstance(v, (tuple, list)):
        return f"a {type(v).__name__} of {len(v)} entr{'y' if len(v) == 1 else 'ies'}"
    if is_array(v):
        return f"an array of shape {v.shape}"
    name = type(v).__name__
    return f"{'an' if name[:1].lower() in 'aeiou' else 'a'} {name}"


def _collect(st, x, g, pending, tied):
    if st is None or g is None:
        return
    x = unbound(x)
    _check_grad(st, x, g)
    if isinstance(st, Tied):
        if st.frozen:
            return
        if not is_array(x):
            raise FluxpyError(
                f"update: the state has a Tied leaf where the model has {type(x).__name__}, not an array"
            )
        tied.append((st, x, g))  # added to its owner's gradient once every owner is known
        return
    if isinstance(st, Leaf):
        if st.frozen:
            return
        if not is_array(x):
            raise FluxpyError(
                f"update: the state has a Leaf where the model has {type(x).__name__}, not an array"
            )
        entry = pending.get(id(st))
        if entry is None:
            pending[id(st)] = [st, x, g]
        else:
            if entry[1] is not x:
                raise FluxpyError(
                    "update: one Leaf reached for two different arrays; is this the model's state?"
                )
            entry[2] = accum(entry[2], g)
        return
    if isinstance(st, Tree):
        kids = closure_children(x)
        kids = children(x) if kids is None else kids
        for name, sub in st.items():
            if sub is not None:
                if name not in kids:
                    raise FluxpyError(f"update: the model has no field {name!r} that its state has")
                _collect(sub, kids[name], _field(g, name), pending, tied)
        return
    if isinstance(st, (tuple, list)):
        if not isinstance(x, (tuple, list)) or len(x) != len(st):
            raise FluxpyError("update: the state and the model have a different structure")
        for i, sub in enumerate(st):
            _collect(sub, x[i], _field(g, i), pending, tied)
        return
    if isinstance(st, dict):
        for k, sub in st.items():
            _collect(sub, x[k], _field(g, k), pending, tied)
        return
    raise FluxpyError(f"update: {type(st).__name__} is not an optimiser state (use setup(rule, model))")


def _collect_tied(st, view, g, pending):
    """Add the gradient ``g`` of ``view``, a model array tied to another (``st``, its :class:`Tied` state), to
    its owner's, laid out as the owner. The owner is the model's array that ``st.leaf`` was collected for: a
    state copied or unpickled apart from its model (``copy.deepcopy(state)``) holds a copy of the array it
    was set up with, not the model's. When the owner got no gradient, that array is used if the view lies in
    its memory."""
    entry = pending.get(id(st.leaf))
    owner = entry[1] if entry is not None else st.owner
    if _root(owner) is not _root(view):
        raise FluxpyError(
            f"update: the array of shape {view.shape} is tied to another in the state (Tied), but does not "
            "share its memory in this model: is this the model's state? (a state deep-copied or unpickled "
            "without its model can update that model only when the tied array's owner gets a gradient too)"
        )
    dx = to_owner(view, owner, _as_grad(view, g))
    if entry is None:
        pending[id(st.leaf)] = [st.leaf, owner, dx]
    else:
        entry[2] = accum(entry[2], dx)


def _as_grad(x, dx):
    """``dx`` as an array of ``x``'s module, dtype and shape."""
    xp = xp_of(x)
    if not is_array(dx) or dx.dtype != x.dtype or xp_of(dx) is not xp:
        dx = xp.asarray(dx, dtype=x.dtype)
    if dx.shape != x.shape:
        try:
            dx = xp.broadcast_to(dx, x.shape)
        except ValueError:
            raise FluxpyError(
                f"update: a gradient of shape {dx.shape} for an array of shape {x.shape}"
            ) from None
    return dx


def _step(x, step):
    if step is None:  # a rule taking no step this time (AccumGrad between its gradients)
        return
    if x.dtype.kind in "iub":
        _check_whole_step(x, step)
    if is_array(step) and step.dtype != x.dtype:
        step = step.astype(x.dtype, copy=False)
    x -= step


def _check_whole_step(x, step):
    """A FluxpyError unless ``step`` is whole numbers: an integer array cannot take a fractional step (Flux:
    an InexactError), and casting would truncate it silently."""
    xp = xp_of(x)
    if xp.all(step == xp.round(step)):
        return
    raise FluxpyError(
        f"update: a parameter of integer dtype {x.dtype} (shape {x.shape}) cannot take a fractional step; "
        "make it a float array (astype(np.float32), fx.f32) or leave it out of the parameters"
    )


def _apply(leaf, x, dx):
    leaf.state, step = leaf.rule.apply(leaf.state, x, _as_grad(x, dx))
    _step(x, step)


# ---------------------------------------------------------------------------------------------------------
# adjust / freeze / thaw


def _leaves(tree, seen=None):
    seen = set() if seen is None else seen
    if tree is None or id(tree) in seen:
        return []
    seen.add(id(tree))
    if isinstance(tree, Leaf):
        return [tree]
    if isinstance(tree, Tied):
        return _leaves(tree.leaf, seen)
    if isinstance(tree, (Tree, dict)):
        subs = tree.values()
    elif isinstance(tree, (tuple, list)):
        subs = tree
    else:
        raise FluxpyError(f"{type(tree).__name__} is not an optimiser state (use setup(rule, model))")
    out = []
    for s in subs:
        out += _leaves(s, seen)
    return out


def adjust(tree, eta=None, **changes):
    """Change hyperparameters in place (Optimisers.jl's ``adjust!``): ``adjust(state, 0.01)`` sets the
    learning rate ``eta`` of every rule in ``state`` (a whole state tree or any part of it); keywords set
    other fields (``adjust(state, beta=(0.8, 0.9))``). The rules' state is kept. Returns ``tree``.
    Given a rule instead of a state, returns a changed copy of the rule.

    >>> import numpy as np
    >>> from fluxpy.optimise import Adam, setup
    >>> s = setup(Adam(), [np.zeros(1)])
    >>> adjust(s, 0.1)[0].rule
    Adam(0.1, (0.9, 0.999), 1e-08)
    """
    if eta is not None:
        changes["eta"] = eta
    if is_rule(tree):
        return adjusted(tree, **changes)
    new_rules = {}
    for leaf in _leaves(tree):
        key = id(leaf.rule)
        if key not in new_rules:
            new_rules[key] = adjusted(leaf.rule, **changes)
        leaf.rule = new_rules[key]
    return tree


def freeze(tree):
    """Freeze every Leaf in ``tree`` (a state tree or part of it, e.g. ``state.layers[0]``): ``update``
    leaves those arrays and their state alone until :func:`thaw` (Optimisers.jl's ``freeze!``)."""
    for leaf in _leaves(tree):
        leaf.frozen = True


def thaw(tree):
    """Undo :func:`freeze` on every Leaf in ``tree``."""
    for leaf in _leaves(tree):
        leaf.frozen = False


__all__ = ["Leaf", "Tied", "Tree", "adjust", "freeze", "setup", "thaw", "update"]
