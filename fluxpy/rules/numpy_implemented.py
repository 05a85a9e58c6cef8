"""Rules: NumPy functions whose rule is their own computation, written as plain Python over ruled operations
and differentiated by fluxpy (as rules/higher_order.py's ``implemented_by``): ``trapezoid``, ``cov``,
``corrcoef``, ``polyval``, ``cumulative_sum``/``cumulative_prod``, ``linalg.matrix_power``,
``linalg.multi_dot``, ``linalg.vector_norm``, ``linalg.matrix_norm``, and the array API's
``linalg.trace``/``diagonal``/``matrix_transpose``/``cross`` (NumPy's functions with other axes).

Each implementation takes NumPy's own steps (the same operations in the same order, so the same values; the
checks NumPy makes are made by its own call of the ruled functions), so gradients of any order and forward
mode (its JVP) come from the transformer.

>>> import numpy as np, fluxpy as fx
>>> fx.gradient(lambda a: np.sum(np.linalg.matrix_power(a, 3)), np.eye(2))[0]
array([[3., 3.],
       [3., 3.]])
"""

import math
import operator

import numpy as np

from ..backend import to_numpy, xp_of
from ..errors import FluxpyError
from .forward_core import _forward_mode, keyword_forward_rule
from .higher_order import implemented_by
from .numpy_shape import normalize_axes
from .registry import nograd, register

OUT_UNSUPPORTED = (
    "{name}(..., out=...) writes into an existing array, which fluxpy cannot differentiate; drop out="
)


def implemented(*primals):
    """Decorator: the decorated Python function is the rule of ``primals`` (transformed as
    ``implemented_by`` does), and forward mode runs its JVP."""

    def decorate(impl):
        rule = implemented_by(impl)
        for primal in primals:
            register(primal, rule)

        @keyword_forward_rule(*primals)
        def implementation_jvp(args, targs, kwargs, tkwargs):
            return _forward_mode().jvp_call(impl, None, args, targs, kwargs, tkwargs)

        implementation_jvp.__name__ = f"{impl.__name__}_jvp"
        return impl

    return decorate


@nograd
def _refuse_out(name, out):
    if out is not None:
        raise FluxpyError(OUT_UNSUPPORTED.format(name=name))


# ---------------------------------------------------------------------------------------------------------
# trapezoid


@nograd
def _line_shape(ndim, axis, n):
    """``(1, ..., n, ..., 1)``: ``n`` at ``axis`` of ``ndim`` axes."""
    shape = [1] * ndim
    shape[axis] = n
    return tuple(shape)


@nograd
def _trapezoid_slices(ndim, axis):
    """The index tuples of ``y[1:]`` and ``y[:-1]`` along ``axis``."""
    upper = [slice(None)] * ndim
    lower = [slice(None)] * ndim
    upper[axis] = slice(1, None)
    lower[axis] = slice(None, -1)
    return tuple(upper), tuple(lower)


@implemented(np.trapezoid)
def trapezoid_impl(y, x=None, dx=1.0, axis=-1):
    """``np.trapezoid``: ``sum(d * (y[1:] + y[:-1]) / 2)`` along ``axis``, ``d`` the spacing."""
    xp = xp_of(y, x)
    y = xp.asanyarray(y)
    if x is None:
        d = dx
    else:
        x = xp.asanyarray(x)
        if x.ndim == 1:
            d = np.diff(x)
            d = np.reshape(d, _line_shape(y.ndim, axis, d.shape[0]))
        else:
            d = np.diff(x, axis=axis)
    upper, lower = _trapezoid_slices(y.ndim, axis)
    return (d * (y[upper] + y[lower]) / 2.0).sum(axis)


# ---------------------------------------------------------------------------------------------------------
# cov, corrcoef


@nograd
def _cov_options(m, y, bias, ddof, dtype):
    """``(dtype, ddof)`` as np.cov settles them (and its checks of the arguments)."""
    if ddof is not None and ddof != int(ddof):
        raise ValueError("ddof must be integer")
    if np.ndim(m) > 2 or (y is not None and np.ndim(y) > 2):
        raise ValueError("m has more than 2 dimensions" if np.ndim(m) > 2 else "y has more than 2 dimensions")
    if dtype is None:
        dtype = np.result_type(m, np.float64) if y is None else np.result_type(m, y, np.float64)
    if ddof is None:
        ddof = 1 if bias == 0 else 0
    return dtype, ddof


@nograd
def _sample_weights(fweights, aweights, n):
    """The product of ``fweights`` and ``aweights`` (constants) after np.cov's checks; None for neither."""
    w = None
    for name, weights in (("fweights", fweights), ("aweights", aweights)):
        if weights is None:
            continue
        weights = np.asarray(weights, dtype=float)
        if name == "fweights" and not np.all(weights == np.around(weights)):
            raise TypeError("fweights must be integer")
        if weights.ndim > 1:
            raise RuntimeError(f"cannot handle multidimensional {name}")
        if weights.shape[0] != n:
            raise RuntimeError(f"incompatible numbers of samples and {name}")
        if np.any(weights < 0):
            raise ValueError(f"{name} cannot be negative")
        w = weights if w is None else w * weights
    return w


@nograd
def _on_device(xp, host):
    return xp.asarray(host)


@nograd
def _cov_factor(n, ddof, w, w_sum, aweights):
    """np.cov's normalization: ``N - ddof`` (or the weighted count), 0 with a warning when not positive."""
    import warnings

    w_sum = float(to_numpy(w_sum))
    if w is None:
        fact = n - ddof
    elif ddof == 0:
        fact = w_sum
    elif aweights is None:
        fact = w_sum - ddof
    else:
        fact = w_sum - ddof * np.sum(w * np.asarray(aweights, dtype=float)) / w_sum
    if fact <= 0:
        warnings.warn("Degrees of freedom <= 0 for slice", RuntimeWarning, stacklevel=4)
        fact = 0.0
    return fact


@implemented(np.cov)
def cov_impl(m, y=None, rowvar=True, bias=False, ddof=None, fweights=None, aweights=None, *, dtype=None):
    """``np.cov``: the rows (``rowvar``) or columns are the variables; ``fweights``/``aweights`` are
    constants."""
    xp = xp_of(m, y)
    dtype, ddof = _cov_options(m, y, bias, ddof, dtype)
    x = np.atleast_2d(xp.asarray(m, dtype=dtype))
    if not rowvar and np.ndim(m) != 1:
        x = x.T
    if x.shape[0] == 0:
        return xp.zeros((0, 0))
    if y is not None:
        y = np.atleast_2d(xp.asarray(y, dtype=dtype))
        if not rowvar and y.shape[0] != 1:
            y = y.T
        x = np.concatenate((x, y), axis=0)
    host_w = _sample_weights(fweights, aweights, x.shape[1])
    w = None if host_w is None else _on_device(xp, host_w)
    avg, w_sum = np.average(x, axis=1, weights=w, returned=True)
    fact = _cov_factor(x.shape[1], ddof, host_w, w_sum[0], aweights)
    x = x - avg[:, None]
    x_t = x.T if w is None else (x * w).T
    c = np.dot(x, x_t.conj())
    c = c * np.true_divide(1, fact)
    return c.squeeze()


@implemented(np.corrcoef)
def corrcoef_impl(x, y=None, rowvar=True, *, dtype=None):
    """``np.corrcoef``: the covariance scaled by the standard deviations, clipped to [-1, 1]."""
    c = cov_impl(x, y, rowvar, dtype=dtype)
    if np.ndim(c) == 0:
        return c / c
    stddev = np.sqrt(np.diag(c).real)
    c = c / stddev[:, None]
    c = c / stddev[None, :]
    if np.iscomplexobj(c):
        return np.clip(c.real, -1, 1) + 1j * np.clip(c.imag, -1, 1)
    return np.clip(c, -1, 1)


# ---------------------------------------------------------------------------------------------------------
# matrix_power, multi_dot


@nograd
def _power_exponent(a, n):
    """The integer exponent (NumPy's checks: a stack of square matrices, an integer ``n``)."""
    shape = np.shape(a)
    if len(shape) < 2:
        raise np.linalg.LinAlgError(
            f"{len(shape)}-dimensional array given. Array must be at least two-dimensional"
        )
    if shape[-1] != shape[-2]:
        raise np.linalg.LinAlgError("Last 2 dimensions of the array must be square")
    try:
        return operator.index(n)
    except TypeError as e:
        raise TypeError("exponent must be an integer") from e


@nograd
def _identity_like(a):
    """``eye`` stacked like ``a`` (``matrix_power(a, 0)``: no gradient)."""
    xp = xp_of(a)
    out = xp.empty_like(a)
    out[...] = xp.eye(a.shape[-2], dtype=a.dtype)
    return out


@implemented(np.linalg.matrix_power)
def matrix_power_impl(a, n):
    """``np.linalg.matrix_power``: ``inv(a)`` first for ``n < 0``, then binary powering as NumPy does."""
    a = xp_of(a).asanyarray(a)
    n = _power_exponent(a, n)
    if n == 0:
        return _identity_like(a)
    if n < 0:
        a = np.linalg.inv(a)
        n = abs(n)
    if n == 1:
        return a
    if n == 2:
        return np.matmul(a, a)
    if n == 3:
        return np.matmul(np.matmul(a, a), a)
    z = None
    result = None
    while n > 0:
        z = a if z is None else np.matmul(z, z)
        n, bit = divmod(n, 2)
        if bit:
            result = z if result is None else np.matmul(result, z)
    return result


@nograd
def _multi_dot_tree(shapes):
    """The order NumPy multiplies matrices of ``shapes`` in: a nested pair of positions (the cost test of
    ``_multi_dot_three`` for three, the matrix-chain dynamic programme beyond)."""
    for s in shapes:
        if len(s) != 2:
            raise np.linalg.LinAlgError(f"{len(s)}-dimensional array given. Array must be two-dimensional")
    n = len(shapes)
    if n == 3:
        (a0, a1b0), (b1c0, c1) = shapes[0], shapes[2]
        return ((0, 1), 2) if a0 * b1c0 * (a1b0 + c1) < a1b0 * c1 * (a0 + b1c0) else (0, (1, 2))
    dims = [s[0] for s in shapes] + [shapes[-1][1]]
    cost = [[0.0] * n for _ in range(n)]
    split = [[0] * n for _ in range(n)]
    for length in range(1, n):
        for i in range(n - length):
            j = i + length
            cost[i][j] = math.inf
            for k in range(i, j):
                q = cost[i][k] + cost[k + 1][j] + dims[i] * dims[k + 1] * dims[j + 1]
                if q < cost[i][j]:
                    cost[i][j], split[i][j] = q, k
    return _subtree(split, 0, n - 1)


def _subtree(split, i, j):
    if i == j:
        return i
    return (_subtree(split, i, split[i][j]), _subtree(split, split[i][j] + 1, j))


@nograd
def _shapes(arrays):
    return tuple(np.shape(a) for a in arrays)


@nograd
def _too_few(n):
    if n < 2:
        raise ValueError("Expecting at least two arrays.")


def multiply_tree(mats, tree):
    """The product of ``mats`` grouped as ``tree`` (a position, or a pair of subtrees)."""
    if isinstance(tree, int):
        return mats[tree]
    return np.dot(multiply_tree(mats, tree[0]), multiply_tree(mats, tree[1]))


@implemented(np.linalg.multi_dot)
def multi_dot_impl(arrays, *, out=None):
    """``np.linalg.multi_dot``: the chain in NumPy's cheapest order (vectors first and last allowed)."""
    _refuse_out("multi_dot", out)
    n = len(arrays)
    _too_few(n)
    if n == 2:
        return np.dot(arrays[0], arrays[1])
    xp = xp_of(*arrays)
    mats = [xp.asanyarray(a) for a in arrays]
    ndim_first = mats[0].ndim
    ndim_last = mats[-1].ndim
    if ndim_first == 1:
        mats[0] = np.atleast_2d(mats[0])
    if ndim_last == 1:
        mats[-1] = np.atleast_2d(mats[-1]).T
    result = multiply_tree(mats, _multi_dot_tree(_shapes(mats)))
    if ndim_first == 1 and ndim_last == 1:
        return result[0, 0]
    if ndim_first == 1 or ndim_last == 1:
        return result.ravel()
    return result


# ---------------------------------------------------------------------------------------------------------
# vector_norm, matrix_norm (the array API's): np.linalg.norm on a reshaped array


@nograd
def _vector_norm_plan(shape, axis, keepdims):
    """``(perm, merged, axis, kept)``: the transpose and reshape that bring a tuple of ``axis`` first as one
    axis (None when ``axis`` is an int), the axis ``norm`` reduces, and the keepdims shape (None)."""
    ndim = len(shape)
    kept = None
    if keepdims:
        axes = normalize_axes(tuple(range(ndim)) if axis is None else axis, ndim)
        kept = tuple(1 if i in axes else n for i, n in enumerate(shape))
    if axis is None:
        return None, (-1,), 0, kept
    if isinstance(axis, tuple):
        axes = normalize_axes(axis, ndim)
        rest = tuple(i for i in range(ndim) if i not in axes)
        merged = (int(np.prod([shape[i] for i in axis], dtype=np.int64)),) + tuple(shape[i] for i in rest)
        return tuple(axis) + rest, merged, 0, kept
    return None, None, axis, kept


@implemented(np.linalg.vector_norm)
def vector_norm_impl(x, axis=None, keepdims=False, ord=2):
    """``np.linalg.vector_norm``: the norm of each vector along ``axis`` (all entries for None, several axes
    merged into one)."""
    x = xp_of(x).asanyarray(x)
    perm, merged, norm_axis, kept = _vector_norm_plan(x.shape, axis, keepdims)
    if perm is not None:
        x = np.transpose(x, perm)
    if merged is not None:
        x = np.reshape(x, merged)
    res = np.linalg.norm(x, axis=norm_axis, ord=ord)
    if kept is not None:
        res = np.reshape(res, kept)
    return res


@implemented(np.linalg.matrix_norm)
def matrix_norm_impl(x, keepdims=False, ord="fro"):
    """``np.linalg.matrix_norm``: ``norm`` over the last two axes."""
    x = xp_of(x).asarray(x)
    return np.linalg.norm(x, axis=(-2, -1), keepdims=keepdims, ord=ord)


# ---------------------------------------------------------------------------------------------------------
# polyval, cumulative_sum, cumulative_prod


@implemented(np.polyval)
def polyval_impl(p, x):
    """``np.polyval``: Horner's scheme, highest power first."""
    xp = xp_of(p, x)
    p = xp.asarray(p)
    x = xp.asanyarray(x)
    y = xp.zeros_like(x)
    for pv in p:
        y = y * x + pv
    return y


@nograd
def _cumulative_axis(ndim, axis):
    if axis is None:
        if ndim >= 2:
            raise ValueError("For arrays which have more than one dimension ``axis`` argument is required.")
        return 0
    return axis


@nograd
def _initial_block(res, axis, identity):
    """The ``include_initial`` block: the identity, one entry thick along ``axis`` (a constant)."""
    shape = list(res.shape)
    shape[axis] = 1
    return xp_of(res).full(tuple(shape), identity, dtype=res.dtype)


def cumulative_impl(name, accumulate, identity, x, axis, dtype, out, include_initial):
    """``np.cumulative_sum``/``cumulative_prod``: ``np.cumsum``/``np.cumprod`` (the same accumulation),
    after the identity when ``include_initial``."""
    _refuse_out(name, out)
    x = np.atleast_1d(x)
    axis = _cumulative_axis(x.ndim, axis)
    res = accumulate(x, axis=axis, dtype=dtype)
    if include_initial:
        res = np.concatenate([_initial_block(res, axis, identity), res], axis=axis)
    return res


@implemented(np.cumulative_sum)
def cumulative_sum_impl(x, axis=None, dtype=None, out=None, include_initial=False):
    return cumulative_impl("cumulative_sum", np.cumsum, 0, x, axis, dtype, out, include_initial)


@implemented(np.cumulative_prod)
def cumulative_prod_impl(x, axis=None, dtype=None, out=None, include_initial=False):
    return cumulative_impl("cumulative_prod", np.cumprod, 1, x, axis, dtype, out, include_initial)


# ---------------------------------------------------------------------------------------------------------
# the array API's linalg functions: NumPy's own, over the last axes


@implemented(np.linalg.trace)
def linalg_trace_impl(x, offset=0, dtype=None):
    return np.trace(x, offset, axis1=-2, axis2=-1, dtype=dtype)


@implemented(np.linalg.diagonal)
def linalg_diagonal_impl(x, offset=0):
    return np.diagonal(x, offset, axis1=-2, axis2=-1)


@implemented(np.linalg.matrix_transpose)
def linalg_matrix_transpose_impl(x):
    return np.matrix_transpose(x)


@implemented(np.linalg.cross)
def linalg_cross_impl(x1, x2, axis=-1):
    xp = xp_of(x1, x2)
    x1 = xp.asanyarray(x1)
    x2 = xp.asanyarray(x2)
    _check_cross(x1.shape, x2.shape, axis)
    return np.cross(x1, x2, axis=axis)


@nograd
def _check_cross(shape1, shape2, axis):
    if shape1[axis] != 3 or shape2[axis] != 3:
        raise ValueError(
            "Both input arrays must be (arrays of) 3-dimensional vectors, "
            f"but they are {shape1[axis]} and {shape2[axis]} dimensional instead."
        )
