"""Jacobians and Hessians: ``jacobian`` by one pullback and a reverse pass per output element, ``hessian``
as the Jacobian of ``gradient`` (reverse over reverse), ``hvp`` forward over reverse.

>>> import numpy as np, fluxpy as fx
>>> fx.jacobian(lambda x: x**2, np.array([1.0, 2.0]))[0]
array([[2., 0.],
       [0., 4.]])
>>> fx.hessian(lambda x: x**3, 2.0)
12.0
"""

import enum

import numpy as np

from .backend import is_array, xp_of
from .call_errors import name_the_function
from .errors import FluxpyError, note_user_lines, raise_recursion_depth
from .interface import gradient, pullback
from .jvp_tangents import as_tangent, check_tangents, filled, has_fields, own_containers, unshared
from .jvp_tangents import is_leaf as _is_leaf
from .rules.registry import nograd
from .tangents import project


def jacobian(f, /, *args, **kwargs):
    """One Jacobian per positional argument, each of shape ``y.shape + x.shape`` (zeros where no gradient).

    ``f`` returns an array or a number. An argument is an array or a number, or a tuple, list or dict of
    them: its Jacobian then has the same structure, one array per leaf (as JAX's). ``f``'s forward pass runs
    once, as ``pullback`` runs it (the caller's arrays never change, even when ``f`` writes into them; its
    side effects, a Dropout's mask or BatchNorm's statistics, happen once, as PyTorch's ``jacobian``); then
    one reverse pass per element of ``y``. Arguments are real (a complex one raises: its Jacobian has several
    conventions); a complex ``y``'s Jacobian is ``d re(y) + i d im(y)``, two reverse passes per element, as
    ``jvp`` along each basis vector gives it. Plain Python with no in-place changes: a gradient or a ``jvp``
    of a Jacobian differentiates it.
    """
    leaves = [_jacobian_leaves(x, i) for i, x in enumerate(args)]
    y, back = pullback(f, *args, **kwargs)
    y_arr = _jacobian_output(y, f)
    xp = _array_module(y_arr, leaves)
    rows = [back(_seed(y, y_arr, k, xp)) for k in range(y_arr.size)]
    blocks = [
        [_reverse_block(rows, i, j, args[i], leaf, y_arr.shape, xp) for j, leaf in enumerate(leaves[i])]
        for i in range(len(args))
    ]
    if y_arr.dtype.kind == "c":  # the cotangent 1j picks the imaginary part: J = d re(y) + i d im(y)
        rows = [back(_seed(y, y_arr, k, xp, 1j)) for k in range(y_arr.size)]
        blocks = [
            [
                xp.asarray(block + 1j * _reverse_block(rows, i, j, args[i], leaf, y_arr.shape, xp))
                for j, (block, leaf) in enumerate(zip(blocks[i], leaves[i], strict=True))
            ]
            for i in range(len(args))
        ]
    leaf = [_is_leaf(x) and not _no_leaves(x) for x in args]
    return tuple(b[0] if one else _rebuild(x, b) for x, b, one in zip(args, blocks, leaf, strict=True))


def hessian(f, x, *more, **kwargs):
    """The Hessian of the real-scalar ``f`` at ``x``: shape ``x.shape + x.shape``, a float for a scalar ``x``.

    Reverse over reverse: the Jacobian of ``gradient``, one pullback of it (``f``'s forward pass runs once:
    a Dropout's mask or BatchNorm's statistics are drawn or updated once, as for ``gradient``) and one
    reverse pass per element of ``x``. ``x`` is one real array or number (zeros for a bool, which gets no
    gradient). A single Hessian-vector product without forming ``H``: :func:`hvp`.
    """
    if more or not _is_leaf(x):
        raise FluxpyError(_hessian_message(x, more))
    if _is_complex(x):
        raise FluxpyError(COMPLEX_ARGUMENT.format(call="hessian", what="x"))
    if isinstance(x, (bool, np.bool_)):
        return 0.0
    dtype = _leaf_dtype(x)
    if is_array(x) and (x.size == 0 or x.dtype.kind == "b"):
        return xp_of(x).zeros(x.shape + x.shape, dtype=dtype)

    def gradient_of_f(t):
        g = gradient(f, t, **kwargs)[0]
        return (t * 0 if g is None else g) if is_array(t) else (0.0 if g is None else g)

    (h,) = jacobian(gradient_of_f, x)
    if not is_array(x):
        return float(np.asarray(h))
    return xp_of(x).asarray(h, dtype=dtype).reshape(x.shape + x.shape)


COMPLEX_ARGUMENT = (
    "{call} takes real arguments, but {what} is complex: a complex Jacobian has more than one convention "
    "(a holomorphic f's df/dz, the pair d/d re and d/d im, or the conjugate one reverse mode's gradient "
    "gives). Split it into real and imaginary parts (f(re + 1j * im) of two real arrays), or take "
    "directional derivatives with fx.jvp(f, (z,), (dz,)) (a holomorphic f's df/dz is the jvp along 1) or "
    "fx.pullback. A real argument with a complex output is fine: its Jacobian is d re(y) + i d im(y)"
)


def _is_complex(x):
    return isinstance(x, complex) or (hasattr(x, "dtype") and x.dtype.kind == "c")


def _hessian_message(x, more):
    if more:
        got = f"{1 + len(more)} arguments"
    else:
        got = _a(x)
    return (
        f"hessian(f, x) takes one array or number x, but got {got}. For several arguments or a container, "
        "concatenate them into one array, or differentiate one at a time: fx.hessian(lambda a: f(a, b), a), "
        "and for cross terms fx.jacobian(lambda b: fx.gradient(f, a, b)[0], b)"
    )


def hvp(f, x, v, **kwargs):
    """The Hessian-vector product ``H(x) @ v`` of the real-scalar ``f``, without forming ``H``.

    >>> import numpy as np, fluxpy as fx
    >>> fx.hvp(lambda x: np.sum(x**3), np.array([1.0, 2.0]), np.array([1.0, 0.0]))
    array([6., 0.])
    """
    return jvp(lambda t: gradient(f, t, **kwargs)[0], (x,), (v,))[1]


def jvp(f, primals, tangents):
    """``(y, dy)``: ``f(*primals)`` and its directional derivative along ``tangents`` (a Jacobian-vector
    product), by forward mode: a source transformation with one tangent statement per statement.
    ``primals`` and ``tangents`` are tuples of the same length; each tangent mirrors its primal (see
    fluxpy/jvp_tangents.py: an array's has its shape, an object's is an ``fx.Tangent`` or a dict of its
    fields). The caller's primals and tangents never change, and ``dy`` is never one of them.

    >>> import numpy as np, fluxpy as fx
    >>> fx.jvp(lambda x: x**3, (2.0,), (1.0,))
    (8.0, 12.0)
    >>> fx.jvp(lambda x, y: x * y, (np.array([1.0, 2.0]), 3.0), (np.array([1.0, 0.0]), 0.5))
    (array([3., 6.]), array([3.5, 1. ]))
    """
    from .forward import jvp_call

    check_tangents(primals, tangents)
    primals = own_containers(tuple(primals))  # f may append to a list: never the caller's
    tangents = tuple([as_tangent(t, p) for t, p in zip(tangents, primals, strict=True)])
    try:
        y, dy = jvp_call(f, None, primals, tangents, {}, {})
    except Exception as error:
        name_the_function(error, f)
        note_user_lines(error)
        raise_recursion_depth(error, "jvp")
        raise
    return y, unshared(project(filled(dy, y), y), tangents)


def _jacobian_leaves(x, position, path=""):
    """The arrays and numbers of argument ``x`` (containers flattened, in order); anything else raises."""
    if _no_leaves(x):
        return []
    if _is_leaf(x):
        if _is_complex(x):
            what = f"argument {position + 1}{path}" if path else f"argument {position + 1}"
            raise FluxpyError(COMPLEX_ARGUMENT.format(call="jacobian", what=what))
        return [x]
    if isinstance(x, (tuple, list)):
        return [leaf for i, v in enumerate(x) for leaf in _jacobian_leaves(v, position, f"{path}[{i}]")]
    if type(x) is dict:
        return [leaf for k, v in x.items() for leaf in _jacobian_leaves(v, position, f"{path}[{k!r}]")]
    what = f"argument {position + 1}{path}" if path else f"argument {position + 1}"
    hint = (
        "for a model, differentiate with respect to its arrays (pass them as arguments), or use "
        "fx.pullback/fx.jvp"
        if has_fields(x)
        else "pass values that get no Jacobian as keyword arguments, or capture them in a closure"
    )
    raise FluxpyError(
        f"jacobian takes arrays, numbers, and tuples, lists and dicts of them, but {what} is {_a(x)}: {hint}"
    )


def _jacobian_output(y, f):
    """``y`` as an array: jacobian needs an array or a number."""
    if is_array(y):
        return y
    if _is_leaf(y):
        return np.asarray(y)
    name = getattr(f, "__qualname__", None) or repr(f)
    raise FluxpyError(
        f"jacobian needs a function that returns an array or a number, but {name} returned "
        f"{_a(y)}: take the Jacobian of each output (fx.jacobian(lambda x: f(x)[0], x)), or use "
        "fx.pullback(f, *args) and call back(dy) with a cotangent shaped like the output"
    )


def _a(value):
    """``a list``, ``an ndarray``: the type of ``value`` with its article, for messages."""
    name = type(value).__name__
    return f"{'an' if name[:1] in ('a', 'e', 'i', 'o', 'u') or name == 'ndarray' else 'a'} {name}"


def _leaf_dtype(x):
    """A Jacobian's dtype: a float argument's own (float32 stays float32), else float64."""
    return x.dtype if is_array(x) and x.dtype.kind in "fc" else np.dtype(np.float64)


def _is_constant(leaf):
    """Bools get no gradient (API.md): their Jacobian is zeros."""
    return isinstance(leaf, (bool, np.bool_)) or (is_array(leaf) and leaf.dtype.kind == "b")


def _array_module(y_arr, leaves):
    return xp_of(y_arr, *[leaf for ls in leaves for leaf in ls])


def _seed(y, y_arr, k, xp, one=1):
    """The cotangent of ``y`` that is ``one`` at its ``k``-th element and 0 elsewhere."""
    seed = xp.zeros(y_arr.size, dtype=_float_dtype(y_arr))
    seed[k] = one
    return seed.reshape(y_arr.shape) if is_array(y) else seed[0].item()


def _reverse_block(rows, i, j, x, leaf, out_shape, xp):
    """The Jacobian of leaf ``j`` of argument ``i`` from the reverse passes' gradients ``rows``."""
    if not rows:
        return xp.zeros(out_shape + np.shape(leaf), dtype=_leaf_dtype(leaf))
    if _is_leaf(x):
        dense = [_dense(r[i], leaf, xp) for r in rows]
    else:
        dense = [_dense(_grad_leaves(r[i], x)[j], leaf, xp) for r in rows]
    return xp.stack(dense).reshape(out_shape + np.shape(leaf))


def _no_leaves(x):
    """An argument with no leaves, whose Jacobian is None: None, or an enum member (a label, not a quantity,
    an ``IntEnum``'s too: ``gradient`` gives it None)."""
    return x is None or isinstance(x, enum.Enum)


def _grad_leaves(g, x):
    """The gradient ``g`` of argument ``x`` (as ``project`` shapes it) as a list parallel to its leaves."""
    if _no_leaves(x):
        return []
    if _is_leaf(x):
        return [g]
    if isinstance(x, (tuple, list)):
        parts = (None,) * len(x) if g is None else g
        return [d for p, v in zip(parts, x, strict=True) for d in _grad_leaves(p, v)]
    return [d for k, v in x.items() for d in _grad_leaves(None if g is None else g.get(k), v)]


def _rebuild(x, items):
    """The structure of argument ``x`` with its leaves replaced, in order, by the list ``items``."""
    return _rebuild_from(x, items, 0)[0]


def _rebuild_from(x, items, start):
    """``(structure, next index)``: ``x`` rebuilt from ``items[start:]``."""
    if _no_leaves(x):
        return None, start
    if _is_leaf(x):
        return items[start], start + 1
    parts = []
    for v in x.values() if type(x) is dict else x:
        part, start = _rebuild_from(v, items, start)
        parts = parts + [part]
    if type(x) is dict:
        return dict(zip(x.keys(), parts, strict=True)), start
    if isinstance(x, tuple) and hasattr(type(x), "_fields"):
        return type(x)(*parts), start
    return type(x)(parts), start


nograd(_jacobian_leaves, _jacobian_output, _array_module, _seed, _is_complex)


def _float_dtype(a):
    return a.dtype if a.dtype.kind in "fc" else np.float64


def _dense(g, leaf, xp):
    shape, dtype = np.shape(leaf), _leaf_dtype(leaf)
    if g is None:
        return xp.zeros(shape, dtype=dtype)
    return xp.asarray(g, dtype=dtype).reshape(shape)
