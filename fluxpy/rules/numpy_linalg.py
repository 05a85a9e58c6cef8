"""Rules for NumPy linear algebra: products, einsum, traces and diagonals, and ``np.linalg``.

Matrix rules work on stacks (the last two axes) and undo batch broadcasting with ``unbroadcast``. Rules
for symmetric (complex: Hermitian) inputs (``cholesky``, ``eigh``, ``eigvalsh``) return the symmetrized
(Hermitian) cotangent: the gradient along symmetric (Hermitian) perturbations, as in JAX. Formulas: Giles
2008 ("An extended collection of matrix derivative results"), Murray 2016 ("Differentiation of the Cholesky
decomposition", eq. 10), Seeger et al. 2017; complex SVD: the transpose of JAX's svd JVP (PyTorch's
``svd_backward``).

Complex values follow the library's convention (the cotangent of ``z = a + ib`` is ``dL/da + i dL/db``):
transposes in the formulas are conjugate transposes (``_mH``), and a rule whose output is real (singular
values, eigenvalues of a Hermitian matrix, norms, ``logabsdet``) keeps only the real part of a complex
cotangent (its imaginary part is not the output's own).

>>> import numpy as np
>>> y, back = matmul_rule(np.eye(2), np.array([1.0, 2.0]))
>>> back(np.array([1.0, 0.0]))[1]
array([1., 0.])
"""

import operator
import string

import numpy as np

from ..backend import is_array, xp_of
from ..errors import FluxpyError
from .helpers import accept_array_likes, conj, shape_of, unbroadcast
from .numpy_elementwise import divide_or_zero
from .numpy_indexing import _nones, _options
from .numpy_reductions import _prod_others
from .registry import adjoint, nograd, partial_of, register_method

# ---------------------------------------------------------------------------------------------------------
# bookkeeping (never differentiated)


@nograd
def _is_numeric(x):
    return isinstance(x, (int, float, complex, np.generic)) or is_array(x)  # NumPy or CuPy arrays


@nograd
def _ndim(x):
    return len(shape_of(x))


@nograd
def _size(x):
    return int(np.prod(shape_of(x)))


@nograd
def _float_dtype(*xs):
    """The float dtype for constants mixed with ``xs`` (float32 stays float32; ints give float64)."""
    dtype = np.result_type(*[getattr(x, "dtype", np.float64) for x in xs])
    return dtype if dtype.kind in "fc" else np.dtype(np.float64)


@nograd
def _plus_shape(x, extra):
    """``x``'s shape followed by ``extra``."""
    return tuple(shape_of(x)) + tuple(extra)


@nograd
def _both_1d(a, b):
    return _ndim(a) == 1 and _ndim(b) == 1


@nograd
def _any_0d(a, b):
    return _ndim(a) == 0 or _ndim(b) == 0


# ---------------------------------------------------------------------------------------------------------
# matmul, dot, vdot, inner, outer, tensordot, kron


@adjoint(operator.matmul, np.matmul, np.linalg.matmul)
def matmul_rule(a, b):
    if type(a) is np.ndarray and type(b) is np.ndarray:  # the common case, decided without the checks below
        dims = (a.ndim, b.ndim)
        if dims == (2, 2) or dims == (2, 1) or dims == (1, 2):
            return a @ b, _plain_matmul_pullback(np, a, b, dims)
    if isinstance(a, (list, tuple)) or isinstance(b, (list, tuple)):
        return _with_arrays(operator.matmul, a, b)
    if not (_is_numeric(a) and _is_numeric(b)):
        from .python_operators import _other_operands

        return _other_operands(operator.matmul, "matmul", a, b)
    xp = xp_of(a, b)
    dims = (_ndim(a), _ndim(b))
    if dims == (2, 2) or dims == (2, 1) or dims == (1, 2):
        return xp.matmul(a, b), _plain_matmul_pullback(xp, a, b, dims)

    def matmul_pullback(dy):
        if _both_1d(a, b):
            return (dy * conj(b), dy * conj(a))
        a2 = conj(a)
        b2 = conj(b)
        dy2 = dy
        if _ndim(a) == 1:
            a2 = a2[None, :]
            dy2 = dy2[..., None, :]
        if _ndim(b) == 1:
            b2 = b2[:, None]
            dy2 = dy2[..., None]
        da = unbroadcast(xp.matmul(dy2, xp.swapaxes(b2, -1, -2)), a2)
        db = unbroadcast(xp.matmul(xp.swapaxes(a2, -1, -2), dy2), b2)
        return (xp.reshape(da, shape_of(a)), xp.reshape(db, shape_of(b)))

    return xp.matmul(a, b), matmul_pullback


@partial_of(matmul_rule)
def matmul_partial(mask, a, b):
    """``matmul_rule`` computing only the cotangents ``mask`` wants (``x @ W`` with a constant ``x``).

    >>> import numpy as np
    >>> y, back = matmul_partial((False, True), np.ones((2, 3)), np.ones((3, 4)))
    >>> da, db = back(np.ones((2, 4)))
    >>> da is None, db.shape
    (True, (3, 4))
    """
    if type(a) is np.ndarray and type(b) is np.ndarray:
        dims = (a.ndim, b.ndim)
        if dims == (2, 2) or dims == (2, 1) or dims == (1, 2):
            return a @ b, _plain_matmul_pullback(np, a, b, dims, mask)
    y, back = matmul_rule(a, b)

    def matmul_partial_pullback(dy):
        da, db = back(dy)
        return (da if mask[0] else None, db if mask[1] else None)

    return y, matmul_partial_pullback


def _with_arrays(op, a, b):
    """``op(a, b)`` with list operands converted as NumPy converts them (differentiated as written)."""
    from ..runtime import call
    from .python_operators import via_arrays

    y, pb = call(via_arrays, op, a, b)

    def with_arrays_pullback(dy):
        return pb(dy)[2:]

    return y, with_arrays_pullback


def _plain_matmul_pullback(xp, a, b, dims, mask=(True, True)):
    """Matrix-matrix, matrix-vector and vector-matrix products: no batch axes to undo. ``mask``: which of
    the two cotangents to compute. Complex operands: ``da = dy @ conj(b).T``, ``db = conj(a).T @ dy``."""
    if mask[0] and mask[1]:

        def matmul_pullback(dy):
            if dims == (2, 2):
                return (xp.matmul(dy, conj(b).T), xp.matmul(conj(a).T, dy))
            if dims == (2, 1):
                return (dy[:, None] * conj(b), xp.matmul(conj(a).T, dy))
            return (xp.matmul(conj(b), dy), conj(a)[:, None] * dy)

        return matmul_pullback
    if mask[1]:

        def matmul_b_pullback(dy):
            if dims == (1, 2):
                return (None, conj(a)[:, None] * dy)
            return (None, xp.matmul(conj(a).T, dy))

        return matmul_b_pullback

    def matmul_a_pullback(dy):
        if dims == (2, 2):
            return (xp.matmul(dy, conj(b).T), None)
        if dims == (2, 1):
            return (dy[:, None] * conj(b), None)
        return (xp.matmul(conj(b), dy), None)

    return matmul_a_pullback


@nograd
def _tensordot_plan(a_ndim, b_ndim, axes):
    """``(axes for da, axes for db, perm_a, perm_b)`` for ``y = np.tensordot(a, b, axes)``.

    ``da = transpose(tensordot(dy, b, axes_da), perm_a)``,
    ``db = transpose(tensordot(a, dy, axes_db), perm_b)``.
    """
    if isinstance(axes, (int, np.integer)):
        axa, axb = list(range(a_ndim - axes, a_ndim)), list(range(int(axes)))
    else:
        axa, axb = axes
        axa = [axa] if isinstance(axa, (int, np.integer)) else list(axa)
        axb = [axb] if isinstance(axb, (int, np.integer)) else list(axb)
        axa, axb = [int(i) % a_ndim for i in axa], [int(i) % b_ndim for i in axb]
    a_free = [i for i in range(a_ndim) if i not in axa]
    b_free = [i for i in range(b_ndim) if i not in axb]
    y_a = list(range(len(a_free)))
    y_b = list(range(len(a_free), len(a_free) + len(b_free)))
    # tensordot keeps each operand's free axes in their natural order
    da_axes = a_free + [axa[axb.index(j)] for j in sorted(axb)]
    db_axes = [axb[axa.index(i)] for i in sorted(axa)] + b_free
    perm_a = tuple(int(i) for i in np.argsort(da_axes))
    perm_b = tuple(int(i) for i in np.argsort(db_axes))
    return (y_b, b_free), (a_free, y_a), perm_a, perm_b


def _tensordot_cotangents(dy, a, b, plan):
    """``(da, db)`` for ``y = tensordot(a, b, ...)`` given its ``_tensordot_plan`` (each cotangent reads the
    other operand's conjugate)."""
    xp = xp_of(a, b)
    da = xp.transpose(xp.tensordot(dy, conj(b), axes=plan[0]), plan[2])
    db = xp.transpose(xp.tensordot(conj(a), dy, axes=plan[1]), plan[3])
    return (da, db)


@adjoint(np.tensordot, np.linalg.tensordot)
def tensordot_rule(a, b, *rest, **kwargs):
    (axes,) = _options(rest, kwargs, ("axes", 2))
    xp = xp_of(a, b)
    plan = _tensordot_plan(_ndim(a), _ndim(b), axes)

    def tensordot_pullback(dy):
        return _tensordot_cotangents(dy, a, b, plan) + _nones(rest)

    return xp.tensordot(a, b, axes=axes), tensordot_pullback


@adjoint(np.dot)
def dot_rule(a, b):
    if isinstance(a, (list, tuple)) or isinstance(b, (list, tuple)):
        return _with_arrays(np.dot, a, b)
    xp = xp_of(a, b)
    scalar = _any_0d(a, b)
    plan = None
    if not scalar:
        plan = _tensordot_plan(_ndim(a), _ndim(b), ([_ndim(a) - 1], [max(_ndim(b) - 2, 0)]))

    def dot_pullback(dy):
        if scalar:
            return (unbroadcast(dy * conj(b), a), unbroadcast(dy * conj(a), b))
        return _tensordot_cotangents(dy, a, b, plan)

    return xp.dot(a, b), dot_pullback


register_method("dot", dot_rule)


@adjoint(np.inner)
def inner_rule(a, b):
    xp = xp_of(a, b)
    scalar = _any_0d(a, b)
    plan = None
    if not scalar:
        plan = _tensordot_plan(_ndim(a), _ndim(b), ([_ndim(a) - 1], [_ndim(b) - 1]))

    def inner_pullback(dy):
        if scalar:
            return (unbroadcast(dy * conj(b), a), unbroadcast(dy * conj(a), b))
        return _tensordot_cotangents(dy, a, b, plan)

    return xp.inner(a, b), inner_pullback


@adjoint(np.vdot)
def vdot_rule(a, b):
    """``vdot(a, b) == sum(conj(a.ravel()) * b.ravel())``: holomorphic in ``b`` (``db = dy * a``), and
    antiholomorphic in ``a`` (``da = conj(dy) * b``)."""
    xp = xp_of(a, b)

    def vdot_pullback(dy):
        da = unbroadcast(xp.reshape(conj(dy) * b, shape_of(a)), a)
        db = unbroadcast(xp.reshape(dy * a, shape_of(b)), b)
        return (da, db)

    return xp.vdot(a, b), vdot_pullback


@adjoint(np.outer, np.linalg.outer)
def outer_rule(a, b):
    xp = xp_of(a, b)

    def outer_pullback(dy):
        da = xp.reshape(xp.matmul(dy, xp.reshape(conj(b), (_size(b),))), shape_of(a))
        db = xp.reshape(xp.matmul(xp.reshape(conj(a), (_size(a),)), dy), shape_of(b))
        return (unbroadcast(da, a), unbroadcast(db, b))

    return xp.outer(a, b), outer_pullback


@nograd
def _kron_plan(a_shape, b_shape):
    """Padded shapes, the interleaved shape of ``dy`` and the einsum specs of ``da`` and ``db``."""
    nd = max(len(a_shape), len(b_shape))
    sa = (1,) * (nd - len(a_shape)) + tuple(a_shape)
    sb = (1,) * (nd - len(b_shape)) + tuple(b_shape)
    p, q = string.ascii_letters[:nd], string.ascii_letters[nd : 2 * nd]
    interleaved = "".join(p[i] + q[i] for i in range(nd))
    dy_shape = tuple(n for i in range(nd) for n in (sa[i], sb[i]))
    return sa, sb, dy_shape, f"{interleaved},{q}->{p}", f"{interleaved},{p}->{q}"


@adjoint(np.kron)
def kron_rule(a, b):
    xp = xp_of(a, b)
    sa, sb, dy_shape, spec_a, spec_b = _kron_plan(shape_of(a), shape_of(b))

    def kron_pullback(dy):
        dy4 = xp.reshape(dy, dy_shape)
        da = xp.einsum(spec_a, dy4, xp.reshape(conj(b), sb))
        db = xp.einsum(spec_b, dy4, xp.reshape(conj(a), sa))
        return (unbroadcast(xp.reshape(da, shape_of(a)), a), unbroadcast(xp.reshape(db, shape_of(b)), b))

    return xp.kron(a, b), kron_pullback


@adjoint(np.cross)
def cross_rule(a, b, *rest, **kwargs):
    """3-vectors along ``axis`` (default last): ``da = cross(b, dy)``, ``db = cross(dy, a)``."""
    axisa, axisb, axisc, axis = _options(
        rest, kwargs, ("axisa", -1), ("axisb", -1), ("axisc", -1), ("axis", None)
    )
    xp = xp_of(a, b)
    y = xp.cross(a, b, axisa, axisb, axisc, axis)
    if axis is None:
        axis = _cross_axis(axisa, axisb, axisc)

    def cross_pullback(dy):
        _check_cross_3(a, b, axis)
        da = unbroadcast(xp.cross(conj(b), dy, axis=axis), a)
        db = unbroadcast(xp.cross(dy, conj(a), axis=axis), b)
        return (da, db) + _nones(rest)

    return y, cross_pullback


@nograd
def _check_cross_3(a, b, axis):
    if shape_of(a)[axis] != 3 or shape_of(b)[axis] != 3:
        raise FluxpyError("the gradient of np.cross is implemented for 3-vectors only")


@nograd
def _cross_axis(axisa, axisb, axisc):
    if not axisa == axisb == axisc:
        raise FluxpyError("the gradient of np.cross needs axisa == axisb == axisc (or axis=)")
    return axisa


# ---------------------------------------------------------------------------------------------------------
# einsum: the cotangent of operand k is an einsum of dy with the other operands


@nograd
def _einsum_letters(subscripts, shapes):
    """Operand and output subscripts as letter lists, ellipses expanded to fresh letters."""
    subscripts = subscripts.replace(" ", "")
    ins, out = subscripts.split("->") if "->" in subscripts else (subscripts, None)
    ins = ins.split(",")
    if len(ins) != len(shapes):
        raise ValueError(f"einsum: {len(ins)} operand subscripts for {len(shapes)} operands")
    used = {c for c in subscripts if c in string.ascii_letters}
    fresh = [c for c in string.ascii_letters if c not in used]
    n_ell = max(
        [len(s) - len(i.replace("...", "")) for i, s in zip(ins, shapes, strict=True) if "..." in i] + [0]
    )
    ell = fresh[:n_ell]
    ops = []
    for sub, shape in zip(ins, shapes, strict=True):
        if "..." in sub:
            head, tail = sub.split("...")
            k = len(shape) - len(head) - len(tail)
            ops.append(list(head) + ell[n_ell - k :] + list(tail))
        else:
            ops.append(list(sub))
    if out is None:
        counts = {}
        for sub in ins:
            for c in sub.replace("...", ""):
                counts[c] = counts.get(c, 0) + 1
        out_letters = ell + sorted(c for c in counts if counts[c] == 1)
    else:
        out_letters = list(out.replace("...", "".join(ell)))
    return ops, out_letters, fresh[n_ell:]


@nograd
def _einsum_plans(subscripts, shapes, xp, dtype):
    """For each operand k: ``(spec, constants)`` with ``d_k = einsum(spec, dy, *others, *constants)``.

    Repeated letters in operand k (``"ii->"``) get a fresh letter tied by an identity matrix; letters only
    operand k has (summed away) and its size-1 broadcast dims get a ones vector.
    """
    ops, out, fresh = _einsum_letters(subscripts, shapes)
    sizes = {}
    for letters, shape in zip(ops, shapes, strict=True):
        for c, n in zip(letters, shape, strict=True):
            sizes[c] = max(sizes.get(c, 1), n)
    fresh = iter(fresh)
    for letters, shape in zip(ops, shapes, strict=True):
        for i, (c, n) in enumerate(zip(letters, shape, strict=True)):
            if n == 1 and sizes[c] > 1:  # broadcast dim: its own letter, of size 1
                letters[i] = next(fresh)
                sizes[letters[i]] = 1
    plans = []
    for k, letters in enumerate(ops):
        others = [o for j, o in enumerate(ops) if j != k]
        available = set(out).union(*others)
        target, subs, consts = [], [], []
        for c in letters:
            if c in target:
                f = next(fresh)
                subs.append(c + f)
                consts.append(xp.eye(sizes[c], dtype=dtype))
                target.append(f)
            else:
                target.append(c)
        for c in dict.fromkeys(letters):
            if c not in available:
                subs.append(c)
                consts.append(xp.ones(sizes[c], dtype=dtype))
        inputs = ["".join(out)] + ["".join(o) for o in others] + subs
        plans.append((",".join(inputs) + "->" + "".join(target), tuple(consts)))
    return tuple(plans)


@adjoint(np.einsum)
def einsum_rule(subscripts, *operands, **kwargs):
    _check_subscripts(subscripts)
    xp = xp_of(*operands)
    y = xp.einsum(subscripts, *operands, **kwargs)
    plans = _einsum_plans(subscripts, _operand_shapes(operands), xp, _float_dtype(y))
    optimize = _options(
        (), kwargs, ("optimize", False), ("out", None), ("dtype", None), ("order", "K"), ("casting", "safe")
    )[0]
    conjugates = _conjugates(operands)

    def einsum_pullback(dy):
        grads = (None,)
        for k in range(len(operands)):
            plan = plans[k]
            args = (dy,) + conjugates[:k] + conjugates[k + 1 :] + plan[1]
            g = xp.einsum(plan[0], *args, optimize=optimize)
            grads = grads + (unbroadcast(g, operands[k]),)
        return grads

    return y, einsum_pullback


def _conjugates(xs):
    """The tuple of the conjugates of ``xs`` (the same objects where they are real)."""
    out = ()
    for x in xs:
        out = out + (conj(x),)
    return out


@nograd
def _check_subscripts(subscripts):
    if not isinstance(subscripts, str):
        raise FluxpyError("the gradient of np.einsum needs string subscripts (not the sublist form)")


@nograd
def _operand_shapes(operands):
    return tuple(shape_of(o) for o in operands)


# ---------------------------------------------------------------------------------------------------------
# trace, diagonal, diag


@nograd
def _diagonal_selectors(n, m, offset, xp, dtype):
    """``(P, Q)`` with ``diagonal(a, offset)[..., l] = sum_ij a[..., i, j] P[i, l] Q[j, l]``."""
    length = max(0, min(n + min(offset, 0), m - max(offset, 0)))
    rows = np.arange(length) + max(0, -offset)
    cols = np.arange(length) + max(0, offset)
    p = np.zeros((n, length))
    q = np.zeros((m, length))
    p[rows, np.arange(length)] = 1.0
    q[cols, np.arange(length)] = 1.0
    return xp.asarray(p, dtype=dtype), xp.asarray(q, dtype=dtype)


@nograd
def _pair_axes(shape, axis1, axis2):
    nd = len(shape)
    axis1, axis2 = axis1 % nd, axis2 % nd
    return axis1, axis2, shape[axis1], shape[axis2]


def _diagonal_cotangent(dy, a, offset, axis1, axis2):
    """The cotangent of ``a`` for ``y = diagonal(a, offset, axis1, axis2)`` (differentiable in ``dy``)."""
    xp = xp_of(a)
    ax1, ax2, n, m = _pair_axes(shape_of(a), axis1, axis2)
    sel = _diagonal_selectors(n, m, offset, xp, _float_dtype(a, dy))
    moved = xp.einsum("...l,il,jl->...ij", dy, sel[0], sel[1])
    return xp.moveaxis(moved, (-2, -1), (ax1, ax2))


@adjoint(np.trace)
def trace_rule(a, *rest, **kwargs):
    offset, axis1, axis2, dtype, out = _options(
        rest, kwargs, ("offset", 0), ("axis1", 0), ("axis2", 1), ("dtype", None), ("out", None)
    )
    xp = xp_of(a)

    def trace_pullback(dy):
        ax1, ax2, n, m = _pair_axes(shape_of(a), axis1, axis2)
        eye = xp.eye(n, m, k=offset, dtype=_float_dtype(a, dy))
        moved = xp.einsum("...,ij->...ij", dy, eye)
        return (xp.moveaxis(moved, (-2, -1), (ax1, ax2)),) + _nones(rest)

    return xp.trace(a, offset, axis1, axis2, dtype), trace_pullback


register_method("trace", trace_rule)


@adjoint(np.diagonal)
def diagonal_rule(a, *rest, **kwargs):
    offset, axis1, axis2 = _options(rest, kwargs, ("offset", 0), ("axis1", 0), ("axis2", 1))
    xp = xp_of(a)

    def diagonal_pullback(dy):
        return (_diagonal_cotangent(dy, a, offset, axis1, axis2),) + _nones(rest)

    return xp.diagonal(a, offset, axis1, axis2), diagonal_pullback


register_method("diagonal", diagonal_rule)


@adjoint(np.diag)
def diag_rule(v, *rest, **kwargs):
    (k,) = _options(rest, kwargs, ("k", 0))
    xp = xp_of(v)

    def diag_pullback(dy):
        if _ndim(v) == 1:
            return (xp.diagonal(dy, k),) + _nones(rest)
        return (_diagonal_cotangent(dy, v, k, 0, 1),) + _nones(rest)

    return xp.diag(v, k), diag_pullback


# ---------------------------------------------------------------------------------------------------------
# np.linalg: inv, det, slogdet, solve


def _mT(x):
    """Transpose of the last two axes."""
    return xp_of(x).swapaxes(x, -1, -2)


def _mH(x):
    """Conjugate transpose of the last two axes (the transpose of a real ``x``)."""
    return _mT(conj(x))


def _real_part(g, ref):
    """The cotangent ``g`` of a real output of a rule whose input ``ref`` may be complex: its real part
    where ``g`` or ``ref`` is complex (always through ``real`` then, so that a real ``g`` also gets a real
    cotangent, which forward mode needs: it transposes the pullback), else ``g`` as it is."""
    if _is_complex_value(g) or _is_complex_value(ref):
        return xp_of(g).real(g)
    return g


@nograd
def _eye(n, xp, dtype):
    return xp.eye(n, dtype=dtype)


@nograd
def _real_dtype(*xs):
    """The real float dtype of ``xs`` (complex128 gives float64; ints give float64)."""
    dtype = _float_dtype(*xs)
    return np.finfo(dtype).dtype


def _expand_matrix(s):
    """A stack of scalars as a stack of 1x1 matrices (a scalar stays a scalar: it broadcasts)."""
    if _ndim(s) == 0:
        return s
    return xp_of(s).reshape(s, _plus_shape(s, (1, 1)))


@adjoint(np.linalg.inv)
def inv_rule(a):
    xp = xp_of(a)
    y = xp.linalg.inv(a)

    def inv_pullback(dy):
        yH = _mT(conj(y))  # complex: the conjugate transpose
        return (-xp.matmul(xp.matmul(yH, dy), yH),)

    return y, inv_pullback


@adjoint(np.linalg.det)
def det_rule(a):
    """``d det = tr(adj(a) da)``: the cotangent is ``dy * conj(adj(a)).T``, with ``adj(a) = det(a) inv(a)``
    where ``a`` is invertible, and from an SVD where it is singular (a zero determinant)."""
    xp = xp_of(a)
    d = xp.linalg.det(a)

    def det_pullback(dy):
        if _any_zero(d):
            return (_expand_matrix(dy) * _mT(conj(_adjugate(a))),)
        return (_expand_matrix(dy * conj(d)) * _mT(conj(xp.linalg.inv(a))),)

    return d, det_pullback


@nograd
def _any_zero(d):
    return bool(xp_of(d).any(d == 0))


def _adjugate(a):
    """The adjugate of (a stack of) square ``a``, finite where ``a`` is singular: from ``a = U diag(s) Vh``,
    ``adj(a) = det(U) det(Vh) Vh^H diag(prod_{j != i} s_j) U^H`` (no division by a singular value)."""
    xp = xp_of(a)
    usv = xp.linalg.svd(a)
    u = usv[0]
    s = usv[1]
    vh = usv[2]
    others = _prod_others(s, (_ndim(s) - 1,))
    scale = _expand_matrix(xp.linalg.det(u) * xp.linalg.det(vh))
    return scale * xp.matmul(_mT(conj(vh)) * others[..., None, :], _mT(conj(u)))


@adjoint(np.linalg.slogdet)
def slogdet_rule(a):
    """Output ``(sign, logabsdet)``: ``d logabsdet = Re tr(inv(a) da)``, so its cotangent is
    ``conj(inv(a)).T`` times the (real part of the) cotangent. A real sign is piecewise constant; a complex
    one, ``exp(i theta)``, moves with ``d theta = Im tr(inv(a) da)``."""
    xp = xp_of(a)
    y = xp.linalg.slogdet(a)
    complex_sign = _is_complex_value(y[0])

    def slogdet_pullback(dy):
        dsign = dy[0]
        dlogdet = dy[1]
        if dlogdet is None and (dsign is None or not complex_sign):
            return (None,)
        weight = 0.0
        if dlogdet is not None:
            weight = xp.real(dlogdet)
        if dsign is not None and complex_sign:
            # L changes by Re(conj(dsign) i sign) d theta = Re(conj(i s) tr(inv(a) da)), s that real factor
            weight = weight + 1j * xp.real(conj(dsign) * 1j * y[0])
        return (_expand_matrix(weight) * _mT(conj(xp.linalg.inv(a))),)

    return y, slogdet_pullback


@nograd
def _is_complex_value(x):
    return type(x) is complex or getattr(getattr(x, "dtype", None), "kind", None) == "c"


@adjoint(np.linalg.solve)
def solve_rule(a, b):
    """NumPy 2 semantics: ``b`` is a vector only when it is 1-d, otherwise a (stack of) matrices."""
    xp = xp_of(a, b)
    x = xp.linalg.solve(a, b)

    def solve_pullback(dy):
        # complex: db = inv(a)^H dy, da = -db x^H
        aH = _mT(conj(a))
        if _ndim(b) == 1:
            db = xp.linalg.solve(aH, dy[..., None])
            da = -xp.matmul(db, _mT(conj(x[..., None])))
            return (unbroadcast(da, a), unbroadcast(db[..., 0], b))
        db = xp.linalg.solve(aH, dy)
        da = -xp.matmul(db, _mT(conj(x)))
        return (unbroadcast(da, a), unbroadcast(db, b))

    return x, solve_pullback


# ---------------------------------------------------------------------------------------------------------
# np.linalg: cholesky, eigh, eigvalsh (symmetric inputs: symmetrized cotangents)


def _sym(x):
    """The symmetric (complex: Hermitian) part of ``x``."""
    return (x + _mH(x)) * 0.5


@nograd
def _phi_mask(n, xp, dtype):
    """Lower-triangular ones with a halved diagonal (Murray 2016's Phi as a mask)."""
    return xp.asarray(np.tril(np.ones((n, n))) - 0.5 * np.eye(n), dtype=dtype)


@nograd
def _is_numpy(xp):
    return xp is np


@adjoint(np.linalg.cholesky)
def cholesky_rule(a, **kwargs):
    """``A = L L^H``: ``dA = L^-H Phi(L^H dL) L^-1``, Hermitian part (Murray 2016, eq. 10, with conjugate
    transposes). ``upper=True`` gives ``U = L^H`` (NumPy's own factor, which reads the upper triangle), so
    ``dL = dU^H``."""
    (upper,) = _options((), kwargs, ("upper", False))
    xp = xp_of(a)
    if upper and _is_numpy(xp):
        y = xp.linalg.cholesky(a, upper=True)
        low = _mH(y)
    else:  # an array module whose cholesky has no upper= (CuPy): L^H, exactly as NumPy forms it
        low = xp.linalg.cholesky(a)
        y = _mH(low) if upper else low

    def cholesky_pullback(dy):
        dlow = dy
        if upper:
            dlow = _mH(dy)
        low_inv = xp.linalg.inv(low)
        phi = xp.matmul(_mH(low), dlow) * _phi_mask(shape_of(a)[-1], xp, _real_dtype(a))
        return (_sym(xp.matmul(xp.matmul(_mH(low_inv), phi), low_inv)),)

    return y, cholesky_pullback


@nograd
def _all_none(*xs):
    return all(x is None for x in xs)


@nograd
def _eye_mask(n, xp):
    return xp.eye(n, dtype=bool)


@adjoint(np.linalg.eigh)
def eigh_rule(a, *rest, **kwargs):
    """Distinct eigenvalues: ``da = V (diag(Re dw) + F * (V^H dV)) V^H`` (Hermitian part),
    ``F_ij = 1 / (w_j - w_i)`` (the transpose of JAX's eigh JVP). ``F``'s zero diagonal drops the part of
    ``dV`` along each eigenvector's phase, which a loss that does not depend on that phase never has."""
    (uplo,) = _options(rest, kwargs, ("UPLO", "L"))
    xp = xp_of(a)
    res = xp.linalg.eigh(a, uplo)
    w = res[0]
    v = res[1]

    def eigh_pullback(dy):
        dw = dy[0]
        dv = dy[1]
        if _all_none(dw, dv):
            return (None,) + _nones(rest)
        mask = _eye_mask(shape_of(a)[-1], xp)
        inner = None
        if dv is not None:
            diff = w[..., None, :] - w[..., :, None]
            f = xp.where(mask, 0.0, 1.0 / xp.where(mask, 1.0, diff))
            inner = f * xp.matmul(_mH(v), dv)
        if dw is not None:
            dw_diag = xp.where(mask, _real_part(dw, v)[..., None], 0.0)  # real eigenvalues
            if inner is None:
                inner = dw_diag
            else:
                inner = inner + dw_diag
        return (_sym(xp.matmul(xp.matmul(v, inner), _mH(v))),) + _nones(rest)

    return res, eigh_pullback


@adjoint(np.linalg.eigvalsh)
def eigvalsh_rule(a, *rest, **kwargs):
    (uplo,) = _options(rest, kwargs, ("UPLO", "L"))
    xp = xp_of(a)
    res = xp.linalg.eigh(a, uplo)
    v = res[1]

    def eigvalsh_pullback(dy):
        # real eigenvalues: V diag(Re dy) V^H, Hermitian already
        return (xp.matmul(v * _real_part(dy, v)[..., None, :], _mH(v)),) + _nones(rest)

    return res[0], eigvalsh_pullback


# ---------------------------------------------------------------------------------------------------------
# np.linalg.norm


@nograd
def _norm_plan(shape, ord, axis):
    """``(kind, axes, keepdims shape)`` of ``np.linalg.norm(x, ord, axis)``."""
    nd = len(shape)
    if axis is None:
        axes = tuple(range(nd))
    elif isinstance(axis, (int, np.integer)):
        axes = (int(axis) % nd,)
    else:
        axes = tuple(int(i) % nd for i in axis)
    kshape = tuple(1 if i in axes else n for i, n in enumerate(shape))
    if ord is None or (len(axes) == 1 and ord == 2) or (len(axes) == 2 and ord == "fro"):
        return "l2", axes, kshape
    if len(axes) == 1:
        kinds = {1: "l1", np.inf: "max", -np.inf: "min", 0: "zero"}
        return kinds.get(ord, "p"), axes, kshape
    kinds = {
        "nuc": "nuc",
        2: "smax",
        -2: "smin",
        1: "colmax",
        -1: "colmin",
        np.inf: "rowmax",
        -np.inf: "rowmin",
    }
    return kinds[ord], axes, kshape


def _split_ties(score, over, kind, xp):
    """A mask of the extreme entries of ``score`` along ``over``, divided by their count (ties split)."""
    if kind in ("max", "colmax", "rowmax"):
        mask = score == xp.max(score, axis=over, keepdims=True)
    else:
        mask = score == xp.min(score, axis=over, keepdims=True)
    return mask / xp.sum(mask, axis=over, keepdims=True)


def _unit(x):
    """``d|x| / dx`` in the convention: ``sign(x)`` for real ``x`` (locally constant), ``x / |x|`` for
    complex ``x`` (which moves with ``x``: its derivative is part of the second order), 0 at 0."""
    xp = xp_of(x)
    if _is_complex_value(x):
        return divide_or_zero(x, xp.abs(x))
    return xp.sign(x)


def _norm_cotangent(dyk, x, n, kind, axes, ord):
    """``dyk * d norm / dx`` with ``dyk`` and ``n`` of the keepdims shape; 0 at a zero input."""
    xp = xp_of(x)
    if kind == "l2":
        return dyk * x / xp.where(n == 0, 1.0, n)
    if kind == "l1":
        return dyk * _unit(x)
    if kind in ("max", "min"):
        return dyk * _unit(x) * _split_ties(xp.abs(x), axes, kind, xp)
    if kind == "p":
        ax = xp.abs(x)
        powered = xp.where(ax == 0, 0.0, xp.where(ax == 0, 1.0, ax) ** (ord - 1))
        return dyk * _unit(x) * powered / xp.where(n == 0, 1.0, n) ** (ord - 1)
    if kind in ("colmax", "colmin"):
        colsum = xp.sum(xp.abs(x), axis=axes[0], keepdims=True)
        return dyk * _unit(x) * _split_ties(colsum, axes[1], kind, xp)
    if kind in ("rowmax", "rowmin"):
        rowsum = xp.sum(xp.abs(x), axis=axes[1], keepdims=True)
        return dyk * _unit(x) * _split_ties(rowsum, axes[0], kind, xp)
    return dyk * _singular_cotangent(x, kind, axes)


def _singular_cotangent(x, kind, axes):
    """d/dx of the nuclear norm (``U V^H``) or of the largest / smallest singular value (``u v^H``); both
    are independent of the singular vectors' phases, and differentiable through ``svd_rule``."""
    xp = xp_of(x)
    moved = xp.moveaxis(x, axes, (-2, -1))
    usv = xp.linalg.svd(moved, full_matrices=False)
    u = usv[0]
    vh = usv[2]
    if kind == "smax":
        u = u[..., :, :1]
        vh = vh[..., :1, :]
    elif kind == "smin":
        u = u[..., :, -1:]
        vh = vh[..., -1:, :]
    return xp.moveaxis(xp.matmul(u, vh), (-2, -1), axes)


@adjoint(np.linalg.norm)
def norm_rule(x, *rest, **kwargs):
    ord, axis, keepdims = _options(rest, kwargs, ("ord", None), ("axis", None), ("keepdims", False))
    xp = xp_of(x)
    y = xp.linalg.norm(x, ord, axis, keepdims)
    plan = _norm_plan(shape_of(x), ord, axis)

    def norm_pullback(dy):
        if plan[0] == "zero":
            return (None,) + _nones(rest)
        dyk = dy
        if _is_complex_value(x):  # a real norm: its cotangent's imaginary part is not its own
            dyk = xp.real(dy)
        n = y
        if _ndim(dy) > 0:
            dyk = xp.reshape(dyk, plan[2])
            n = xp.reshape(y, plan[2])
        return (_norm_cotangent(dyk, x, n, plan[0], plan[1], ord),) + _nones(rest)

    return y, norm_pullback


nograd(np.linalg.matrix_rank)


# ---------------------------------------------------------------------------------------------------------
# pinv (Golub and Pereyra 1973, eq. 4.12: the derivative of the pseudo-inverse at constant rank)


@adjoint(np.linalg.pinv)
def pinv_rule(a, *rest, **kwargs):
    """With ``P = pinv(a)``: ``dP = -P da P + P P^H da^H (I - a P) + (I - P a) da^H P^H P``, so the cotangent
    is ``-P^H dy P^H + (I - a P) dy^H P P^H + P^H P dy^H (I - P a)``; symmetrized for ``hermitian=True``
    (the value reads one triangle). Valid where the rank does not change (no singular value crosses the
    cutoff ``rcond``)."""
    xp = xp_of(a)
    p = xp.linalg.pinv(a, *rest, **kwargs)
    hermitian = bool(kwargs.get("hermitian", rest[1] if len(rest) > 1 else False))

    def pinv_pullback(dy):
        m, n = shape_of(a)[-2:]
        pH = _mT(conj(p))
        dyH = _mT(conj(dy))
        left = xp.eye(m) - xp.matmul(a, p)  # I - a P: projects away from the range of a
        right = xp.eye(n) - xp.matmul(p, a)  # I - P a: away from the row space
        da = -xp.matmul(xp.matmul(pH, dy), pH)
        da = da + xp.matmul(xp.matmul(left, dyH), xp.matmul(p, pH))
        da = da + xp.matmul(xp.matmul(pH, p), xp.matmul(dyH, right))
        if hermitian:
            da = (da + _mT(conj(da))) * 0.5
        return (unbroadcast(da, a),) + _nones(rest)

    return p, pinv_pullback


# ---------------------------------------------------------------------------------------------------------
# svd (Townsend 2016, "Differentiating the singular value decomposition"; complex: the transpose of JAX's
# svd JVP, as PyTorch's svd_backward); distinct singular values, and full rank for rectangular or complex
# matrices


@nograd
def _svd_options(args, kwargs):
    full = kwargs.get("full_matrices", args[0] if args else True)
    compute_uv = kwargs.get("compute_uv", args[1] if len(args) > 1 else True)
    hermitian = kwargs.get("hermitian", args[2] if len(args) > 2 else False)
    return bool(full), bool(compute_uv), bool(hermitian)


@adjoint(np.linalg.svd)
def svd_rule(a, *args, **kwargs):
    """NumPy's own values (``compute_uv=False`` too). The cotangent reads the factors it returns (a loss of
    the singular vectors must not depend on their phases: ``u[:, j] v[:, j]^H`` does not, ``|u|`` does not).
    ``hermitian=True`` (NumPy reads one triangle) gives the Hermitian part, as ``pinv`` and ``eigh`` do."""
    xp = xp_of(a)
    full, compute_uv, hermitian = _svd_options(args, kwargs)
    m, n = shape_of(a)[-2:]
    if compute_uv and full and m != n:
        raise FluxpyError(
            "the gradient of np.linalg.svd with full_matrices=True needs a square matrix; "
            "pass full_matrices=False"
        )
    res = xp.linalg.svd(a, *args, **kwargs)

    if not compute_uv:

        def svd_values_pullback(ds):
            usv = xp.linalg.svd(a, full_matrices=False)
            da = _svd_back(xp, usv[0], usv[1], usv[2], None, ds, None)
            return (_hermitian_part(da, hermitian),) + _nones(args)

        return res, svd_values_pullback

    u = res[0]
    s = res[1]
    vh = res[2]

    def svd_pullback(dy):
        da = _svd_back(xp, u, s, vh, dy[0], dy[1], dy[2])
        return (_hermitian_part(da, hermitian),) + _nones(args)

    return res, svd_pullback


def _hermitian_part(g, hermitian):
    if hermitian:
        return _sym(g)
    return g


def _svd_back(xp, u, s, vh, du, ds, dvh):
    """The cotangent of A from those of U, S and Vh (thin SVD, A = U diag(s) Vh; any of them None).

    With ``J = U^H dU``, ``K = Vh dVh^H`` and ``F`` of ``_svd_f``: ``dA = U M Vh`` plus, for a tall (wide)
    A, ``(I - U U^H) dU S^-1 Vh`` (``U S^-1 dVh (I - V Vh)``), where
    ``M = diag(Re ds) + (F * (J - J^H)) S + S (F * (K - K^H)) + i diag(Im diag(J)) S^-1``. The last term,
    complex only, is the phase (gauge) term of JAX's JVP, which puts the phase of each pair of singular
    vectors on U (0 where a singular value is 0); ``Re ds``: the singular values are real."""
    complex_factors = _is_complex_value(u)
    k = shape_of(s)[-1]
    middle = None
    if ds is not None:
        middle = _diag_embed(xp, _real_part(ds, u))
    j = None
    kk = None
    if du is not None or dvh is not None:
        f = _svd_f(xp, s)
        if du is not None:
            j = xp.matmul(_mH(u), du)
            term = (f * (j - _mH(j))) * s[..., None, :]
            if complex_factors:
                gauge = xp.imag(j) * _eye(k, xp, _real_dtype(s)) * _safe_reciprocal(s)[..., None, :]
                term = term + 1j * gauge
            middle = term if middle is None else middle + term
        if dvh is not None:
            kk = xp.matmul(vh, _mH(dvh))
            term = s[..., :, None] * (f * (kk - _mH(kk)))
            middle = term if middle is None else middle + term
    if middle is None:
        return xp.zeros(shape_of(u)[:-1] + shape_of(vh)[-1:], dtype=_float_dtype(u))
    da = xp.matmul(xp.matmul(u, middle), vh)
    if du is not None and shape_of(u)[-2] > k:  # tall: the part of dU off U's columns
        da = da + xp.matmul((du - xp.matmul(u, j)) / s[..., None, :], vh)
    if dvh is not None and shape_of(vh)[-1] > k:  # wide: the part of dVh off Vh's rows
        da = da + xp.matmul(u / s[..., None, :], dvh - xp.matmul(_mH(kk), vh))
    return da


def _safe_reciprocal(s):
    """``1 / s``, 0 where ``s`` is 0."""
    xp = xp_of(s)
    zero = s == 0
    return xp.where(zero, 0.0, 1.0 / xp.where(zero, 1.0, s))


def _svd_f(xp, s):
    """``F[i, j] = 1 / (s_j**2 - s_i**2)`` off the diagonal, 0 on it."""
    s2 = s**2
    diff = s2[..., None, :] - s2[..., :, None]
    k = shape_of(s)[-1]
    eye = _eye(k, xp, _real_dtype(s))
    return (1.0 - eye) / (diff + eye)


def _diag_embed(xp, d):
    k = shape_of(d)[-1]
    return d[..., :, None] * _eye(k, xp, _real_dtype(d))


@adjoint(np.linalg.svdvals)
def svdvals_rule(a):
    """NumPy's own values (``svd(a, compute_uv=False)``); the cotangent ``U diag(Re ds) Vh``."""
    xp = xp_of(a)

    def svdvals_pullback(ds):
        usv = xp.linalg.svd(a, full_matrices=False)
        return (_svd_back(xp, usv[0], usv[1], usv[2], None, ds, None),)

    return xp.linalg.svd(a, compute_uv=False), svdvals_pullback


accept_array_likes(__name__)  # lists and tuples where NumPy reads arrays (rules/helpers.py)
