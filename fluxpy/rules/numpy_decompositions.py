"""Rules for the NumPy decompositions and products numpy_linalg leaves out: ``linalg.qr``, ``linalg.eig``,
``linalg.eigvals``, ``linalg.lstsq`` and the gufuncs ``vecdot``/``linalg.vecdot``, ``matvec``, ``vecmat``;
and, implemented as NumPy computes them (differentiated by fluxpy), ``linalg.cond``, ``linalg.tensorsolve``
and ``linalg.tensorinv``.

- ``qr``: the reverse of JAX's rule (``qr_jvp_rule``): with ``M = dR R^H - Q^H dQ``, ``dA = (dQ + Q S) R^-H``,
  ``S`` the Hermitian matrix with ``M``'s strict upper triangle and the real part of its diagonal. LAPACK's
  ``R`` has a real diagonal, so this is the derivative of NumPy's own factors. A wide ``A = [X | Y]`` is
  ``qr(X)`` and ``R2 = Q^H Y``. ``mode="complete"`` is the reduced factorization for square and wide
  matrices; for tall ones the last ``m - n`` columns of ``Q`` are any orthonormal completion, so they may
  carry no gradient (a FluxpyError when they do). ``mode="r"`` differentiates ``R`` alone; ``mode="raw"``
  (Householder reflectors) is refused.
- ``eig``: JAX's rule (``eig_jvp_rule`` with ``enable_eigvec_derivs``): distinct eigenvalues, and the
  eigenvectors as LAPACK normalizes them (unit 2-norm, largest-magnitude component real), so real losses of
  NumPy's complex outputs have the gradients finite differences give. (The sign LAPACK leaves a real
  matrix's eigenvectors with is arbitrary and may jump: such a loss has no derivative there.) ``eigvals``:
  ``dA = V^-H diag(dw) V^H``.
- ``lstsq``: ``x = pinv(a) b`` at the rank NumPy found (valid where the rank is constant: the singular
  values ``rcond`` cuts off are zeros); residuals are ``|b - a x|^2``, singular values as ``svdvals``; the
  rank has no gradient (JAX's choices).
- ``vecdot(x1, x2) = sum(conj(x1) * x2)``, ``matvec(A, v) = A v``, ``vecmat(v, A) = conj(v) A`` (NumPy's
  conjugations), with ``axis=``/``axes=``/``keepdims=``.

>>> import numpy as np, fluxpy as fx
>>> a = np.array([[2.0, 1.0], [1.0, 3.0], [0.0, 1.0]])
>>> g = fx.gradient(lambda a: np.sum(np.linalg.qr(a)[1] ** 2), a)[0]
>>> bool(np.allclose(g, 2 * a))  # sum(R**2) == sum(A**2): Q is orthonormal
True
"""

import numpy as np

from ..backend import is_array, xp_of
from ..errors import FluxpyError
from .helpers import accept_array_likes, conj, is_real, shape_of, unbroadcast
from .numpy_implemented import implemented
from .numpy_indexing import _nones, _options
from .numpy_linalg import _all_none, _is_complex_value, _mT
from .registry import adjoint, nograd

OUT_UNSUPPORTED = (
    "np.{name}(..., out=...) writes into an existing array, which fluxpy cannot differentiate; drop out="
)

# ---------------------------------------------------------------------------------------------------------
# bookkeeping (never differentiated)


@nograd
def _matrix_shape(a):
    shape = tuple(shape_of(a)) if is_array(a) else np.shape(a)
    if len(shape) < 2:
        raise np.linalg.LinAlgError(
            f"{len(shape)}-dimensional array given. Array must be at least two-dimensional"
        )
    return shape[-2], shape[-1]


@nograd
def _real_dtype(*xs):
    dtype = np.result_type(*[getattr(x, "dtype", np.float64) for x in xs], np.float32)
    return np.finfo(dtype).dtype


@nograd
def _strict_upper(n, xp, dtype):
    return xp.asarray(np.triu(np.ones((n, n)), 1), dtype=dtype)


@nograd
def _eye(n, xp, dtype):
    return xp.eye(n, dtype=dtype)


def _real_for(g, a):
    """The cotangent ``g`` of ``a``: its real part where ``a`` is real."""
    if is_real(a) and _is_complex_value(g):
        return xp_of(g).real(g)
    return g


def _H(x):
    """The conjugate transpose of the last two axes."""
    return _mT(conj(x))


# ---------------------------------------------------------------------------------------------------------
# qr


@nograd
def _qr_kind(mode):
    """The factorization a mode asks for: ``"reduced"``, ``"complete"``, ``"r"``; None for ``"raw"`` and
    ``"economic"`` (refused where a gradient is needed; NumPy rejects other modes itself)."""
    if mode in ("reduced", "f", "full"):
        return "reduced"
    if mode in ("complete", "r"):
        return mode
    return None


@nograd
def _refuse_qr_mode(mode):
    raise FluxpyError(
        f"the gradient of np.linalg.qr(..., mode={mode!r}) is not implemented: it returns LAPACK's "
        "Householder reflectors, not Q and R; use mode='reduced' (or 'complete', or 'r')"
    )


@nograd
def _check_completion_cotangent(dq, n):
    """Tall ``qr(a, mode="complete")``: Q's last columns complete an orthonormal basis in no particular way
    (any rotation of them is as good), so a loss must not read them."""
    xp = xp_of(dq)
    if bool(xp.any(dq[..., :, n:] != 0)):
        raise FluxpyError(
            "np.linalg.qr(a, mode='complete') of a tall matrix (more rows than columns): the last "
            "m - n columns of Q are an arbitrary orthonormal completion and have no derivative, yet the "
            "result depends on them; use mode='reduced', or read only Q[..., :, :n] and R"
        )


@adjoint(np.linalg.qr)
def qr_rule(a, *rest, **kwargs):
    (mode,) = _options(rest, kwargs, ("mode", "reduced"))
    xp = xp_of(a)
    res = xp.linalg.qr(a, mode)
    kind = _qr_kind(mode)
    m, n = _matrix_shape(a)
    q = r = None
    if kind == "reduced" or (kind == "complete" and m <= n):
        q = res[0]
        r = res[1]
    elif kind is not None:
        reduced = xp.linalg.qr(a)
        q = reduced[0]
        r = reduced[1]

    def qr_pullback(dy):
        if kind is None:
            _refuse_qr_mode(mode)
        if kind == "r":
            dq = None
            dr = dy
        else:
            dq = dy[0]
            dr = dy[1]
        if kind == "complete" and m > n:
            if dq is not None:
                _check_completion_cotangent(dq, n)
                dq = dq[..., :, :n]
            if dr is not None:
                dr = dr[..., :n, :]  # R's last rows are zeros, whatever a is
        if _all_none(dq, dr):
            return (None,) + _nones(rest)
        return (_real_for(_qr_cotangent(a, q, r, dq, dr, m, n), a),) + _nones(rest)

    return res, qr_pullback


def _qr_cotangent(a, q, r, dq, dr, m, n):
    """The cotangent of ``a`` from those of its reduced factors ``q`` and ``r`` (either may be None)."""
    if m >= n:
        return _qr_square_back(q, r, dq, dr)
    # wide: a = [x | y], q r1 = qr(x), r2 = q^H y
    xp = xp_of(q, r)
    r1 = r[..., :, :m]
    dr1 = None
    if dr is not None:
        dr1 = dr[..., :, :m]
        dr2 = dr[..., :, m:]
        dq_y = xp.matmul(a[..., :, m:], _H(dr2))
        dq = dq_y if dq is None else dq + dq_y
        dy = xp.matmul(q, dr2)
    else:
        dy = xp.zeros(_shape_with(q, n - m), dtype=q.dtype)
    dx = _qr_square_back(q, r1, dq, dr1)
    return xp.concatenate([dx, dy], axis=-1)


@nograd
def _shape_with(q, k):
    return tuple(shape_of(q)[:-1]) + (k,)


def _qr_square_back(q, r, dq, dr):
    """``m >= n``: ``dA = (dQ + Q S) R^-H`` with ``S`` Hermitian, built from the upper triangle of
    ``M = dR R^H - Q^H dQ`` (its diagonal's real part)."""
    xp = xp_of(q, r)
    if dr is None:
        mm = -xp.matmul(_H(q), dq)
    else:
        mm = xp.matmul(dr, _H(r))
        if dq is not None:
            mm = mm - xp.matmul(_H(q), dq)
    k = shape_of(r)[-1]
    real = _real_dtype(q, mm)
    upper = mm * _strict_upper(k, xp, real)
    s = upper + _H(upper) + xp.real(mm) * _eye(k, xp, real)
    x = xp.matmul(q, s)
    if dq is not None:
        x = x + dq
    # x R^-H: solve R z = x^H, then z^H
    return _H(xp.linalg.solve(r, _H(x)))


# ---------------------------------------------------------------------------------------------------------
# eig, eigvals


@nograd
def _largest_component_mask(v):
    """One-hot (real) along the rows of ``v`` at each column's largest-magnitude component: LAPACK makes
    that component real."""
    xp = xp_of(v)
    k = xp.argmax(xp.abs(v), axis=-2)
    rows = xp.arange(shape_of(v)[-2]).reshape((-1, 1))
    return (rows == k[..., None, :]).astype(_real_dtype(v))


def _eig_f(w):
    """``F[i, j] = 1 / (w_j - w_i)`` off the diagonal, 0 on it."""
    xp = xp_of(w)
    k = shape_of(w)[-1]
    mask = xp.eye(k, dtype=bool)
    diff = w[..., None, :] - w[..., :, None]
    return xp.where(mask, 0.0, 1.0 / xp.where(mask, 1.0, diff))


def _eig_back(a, w, v, dw, dv):
    """The cotangent of ``a`` from those of ``w`` and ``v`` (JAX's ``_eig_vec_jvp`` transposed):
    ``dA = V^-H (diag(dw) + conj(F) * (V^H G)) V^H`` with ``G = dv - V Re(h) - i mask Im(h) / r``,
    ``h_j = v_j^H dv_j``, ``r_j`` the real largest component of ``v_j``."""
    xp = xp_of(v)
    vh = _H(v)
    inner = None
    if dv is not None:
        h = xp.sum(conj(v) * dv, axis=-2)
        g = dv - v * xp.real(h)[..., None, :]
        if _is_complex_value(v):
            mask = _largest_component_mask(v)
            r = xp.sum(mask * xp.real(v), axis=-2)
            g = g - mask * (1j * xp.imag(h) / r)[..., None, :]
        inner = conj(_eig_f(w)) * xp.matmul(vh, g)
    if dw is not None:
        k = shape_of(w)[-1]
        diag = dw[..., :, None] * _eye(k, xp, _real_dtype(dw))
        inner = diag if inner is None else inner + diag
    return _real_for(xp.linalg.solve(vh, xp.matmul(inner, vh)), a)


@adjoint(np.linalg.eig)
def eig_rule(a):
    xp = xp_of(a)
    res = xp.linalg.eig(a)
    w = res[0]
    v = res[1]

    def eig_pullback(dy):
        dw = dy[0]
        dv = dy[1]
        if _all_none(dw, dv):
            return (None,)
        return (_eig_back(a, w, v, dw, dv),)

    return res, eig_pullback


@adjoint(np.linalg.eigvals)
def eigvals_rule(a):
    xp = xp_of(a)
    y = xp.linalg.eigvals(a)
    res = xp.linalg.eig(a)  # the same eigenvalues, in the same order
    w = res[0]
    v = res[1]

    def eigvals_pullback(dy):
        return (_eig_back(a, w, v, dy, None),)

    return y, eigvals_pullback


# ---------------------------------------------------------------------------------------------------------
# lstsq


@nograd
def _lstsq_rcond(a, rcond):
    """The relative cutoff LAPACK's gelsd applies (NumPy's default ``eps * max(m, n)``; a negative
    ``rcond`` means machine precision)."""
    m, n = _matrix_shape(a)
    eps = float(np.finfo(_real_dtype(a)).eps)
    if rcond is None:
        return eps * max(m, n)
    return eps if rcond < 0 else float(rcond)


@nograd
def _size(x):
    return int(np.prod(shape_of(x)))


@adjoint(np.linalg.lstsq)
def lstsq_rule(a, b, *rest, **kwargs):
    """``x = P b`` with ``P = pinv(a)`` at the rank found: ``db = P^H dx`` and
    ``da = -db x^H + r (P db)^H + P^H x dx^H (I - P a)``, ``r = b - a x``; residuals ``|r_j|^2`` add
    ``2 r_j dres_j`` to ``db`` and ``-2 r_j dres_j x_j^H`` to ``da``; singular values ``U diag(ds) V^H``."""
    (rcond,) = _options(rest, kwargs, ("rcond", None))
    xp = xp_of(a, b)
    res = xp.linalg.lstsq(a, b, rcond)
    x = res[0]
    vector = len(shape_of(b)) == 1

    def lstsq_pullback(dy):
        dx = dy[0]
        dres = dy[1]
        ds = dy[3]
        if _size(res[1]) == 0:
            dres = None
        if _all_none(dx, dres, ds):
            return (None, None) + _nones(rest)
        b2 = b
        x2 = x
        if vector:
            b2 = b[:, None]
            x2 = x[:, None]
        da = None
        db = None
        if dx is not None or dres is not None:
            r2 = b2 - xp.matmul(a, x2)
        if dx is not None:
            dx2 = dx[:, None] if vector else dx
            p = xp.linalg.pinv(a, _lstsq_rcond(a, rcond))
            db = xp.matmul(_H(p), dx2)
            n = shape_of(a)[-1]
            null = _eye(n, xp, _real_dtype(a)) - xp.matmul(p, a)
            da = -xp.matmul(db, _H(x2)) + xp.matmul(r2, _H(xp.matmul(p, db)))
            da = da + xp.matmul(xp.matmul(_H(p), x2), xp.matmul(_H(dx2), null))
        if dres is not None:  # real outputs: real cotangents (and real cotangents of those)
            weighted = r2 * (2.0 * xp.real(dres))
            db = weighted if db is None else db + weighted
            da_res = -xp.matmul(weighted, _H(x2))
            da = da_res if da is None else da + da_res
        if ds is not None:
            usv = xp.linalg.svd(a, full_matrices=False)
            da_s = xp.matmul(usv[0] * xp.real(ds)[None, :], usv[2])
            da = da_s if da is None else da + da_s
        if db is not None and vector:
            db = db[:, 0]
        return (_real_or_none(da, a), _real_or_none(db, b)) + _nones(rest)

    return res, lstsq_pullback


def _real_or_none(g, a):
    if g is None:
        return None
    return _real_for(g, a)


# ---------------------------------------------------------------------------------------------------------
# cond, tensorsolve, tensorinv: NumPy's steps


@implemented(np.linalg.cond)
def cond_impl(x, p=None):
    """``np.linalg.cond``: the ratio of extreme singular values (``p`` None, 2, -2), else
    ``norm(x, p) * norm(inv(x), p)``."""
    x = xp_of(x).asarray(x)
    if p is None or p == 2 or p == -2:
        s = np.linalg.svd(x, compute_uv=False)
        if p == -2:
            return s[..., -1] / s[..., 0]
        return s[..., 0] / s[..., -1]
    return np.linalg.norm(x, p, axis=(-2, -1)) * np.linalg.norm(np.linalg.inv(x), p, axis=(-2, -1))


@nograd
def _tensorsolve_plan(a_shape, b_ndim, axes):
    """``(perm, oldshape, prod)``: ``a``'s transpose (None for none), the solution's shape and size."""
    an = len(a_shape)
    perm = None
    if axes is not None:
        perm = list(range(an))
        for k in axes:
            perm.remove(k)
            perm.insert(an, k)
        a_shape = tuple(a_shape[i] for i in perm)
    oldshape = tuple(a_shape[-(an - b_ndim) :])
    prod = int(np.prod(oldshape, dtype=np.int64))
    if int(np.prod(a_shape, dtype=np.int64)) != prod**2:
        raise np.linalg.LinAlgError(
            "Input arrays must satisfy the requirement prod(a.shape[b.ndim:]) == prod(a.shape[:b.ndim])"
        )
    return perm, oldshape, prod


@implemented(np.linalg.tensorsolve)
def tensorsolve_impl(a, b, axes=None):
    """``np.linalg.tensorsolve``: ``solve`` of ``a`` reshaped to a square matrix."""
    xp = xp_of(a, b)
    a = xp.asarray(a)
    b = xp.asarray(b)
    perm, oldshape, prod = _tensorsolve_plan(a.shape, b.ndim, axes)
    if perm is not None:
        a = np.transpose(a, perm)
    a = np.reshape(a, (prod, prod))
    res = np.linalg.solve(a, np.ravel(b))
    return np.reshape(res, oldshape)


@nograd
def _tensorinv_plan(shape, ind):
    if ind <= 0:
        raise ValueError("Invalid ind argument.")
    invshape = tuple(shape[ind:]) + tuple(shape[:ind])
    prod = int(np.prod(shape[ind:], dtype=np.int64))
    return invshape, prod


@implemented(np.linalg.tensorinv)
def tensorinv_impl(a, ind=2):
    """``np.linalg.tensorinv``: ``inv`` of ``a`` reshaped to a square matrix."""
    a = xp_of(a).asarray(a)
    invshape, prod = _tensorinv_plan(a.shape, ind)
    ia = np.linalg.inv(np.reshape(a, (prod, -1)))
    return np.reshape(ia, invshape)


# ---------------------------------------------------------------------------------------------------------
# vecdot, matvec, vecmat: cotangents with the core axes last, moved where axes= puts them


@nograd
def _refuse_out(name, out):
    if out is not None:
        raise FluxpyError(OUT_UNSUPPORTED.format(name=name))


@nograd
def _refuse_options(name, kwargs, allowed):
    for key in kwargs:
        if key not in allowed:
            if key == "out":
                _refuse_out(name, kwargs[key])
                continue
            raise FluxpyError(
                f"the gradient of np.{name} takes the keywords {', '.join(sorted(allowed))}; "
                f"{key}= is not supported"
            )


@nograd
def _core_axes(entry, k, ndim):
    """A gufunc ``axes=`` entry as a tuple of ``k`` non-negative axes of an array of ``ndim`` axes."""
    entry = (entry,) if isinstance(entry, (int, np.integer)) else tuple(entry)
    if len(entry) != k:
        raise ValueError(f"axes entry {entry!r} should have {k} axes")
    return tuple(int(i) % ndim for i in entry)


@nograd
def _gufunc_plan(ndims, cores, out_core, y_ndim, kwargs):
    """``(operand axes, output axes, kept)``: where each operand's core axes are (non-negative), where the
    output's core axes are (an empty tuple for a scalar core), and the axis ``keepdims`` kept (or None)."""
    axes = kwargs.get("axes")
    axis = kwargs.get("axis")
    keepdims = bool(kwargs.get("keepdims", False))
    if axes is not None and axis is not None:
        raise TypeError("cannot specify both 'axis' and 'axes'")
    if axis is not None:
        axes = [axis] * len(ndims) + ([axis] if keepdims else [])
    out_ndim_core = out_core + (1 if keepdims else 0)
    if axes is None:
        ops = tuple(tuple(range(nd - c, nd)) for nd, c in zip(ndims, cores, strict=True))
        out = tuple(range(y_ndim - out_ndim_core, y_ndim))
    else:
        axes = list(axes)
        ops = tuple(_core_axes(axes[i], c, nd) for i, (nd, c) in enumerate(zip(ndims, cores, strict=True)))
        if len(axes) > len(ndims):
            out = _core_axes(axes[len(ndims)], out_ndim_core, y_ndim)
        elif out_ndim_core:
            out = ops[0] if keepdims else tuple(range(y_ndim - out_ndim_core, y_ndim))
        else:
            out = ()
    return ops, out, keepdims


@nograd
def _trailing(axes, ndim):
    return tuple(range(ndim - len(axes), ndim))


def _to_end(x, axes):
    """``x`` with ``axes`` moved to the end (in order)."""
    ndim = len(shape_of(x))
    end = _trailing(axes, ndim)
    if axes == end:
        return x
    return xp_of(x).moveaxis(x, axes, end)


def _from_end(x, axes):
    ndim = len(shape_of(x))
    end = _trailing(axes, ndim)
    if axes == end:
        return x
    return xp_of(x).moveaxis(x, end, axes)


def _core_pullback(name, cotangents, a, b, y, kwargs, cores, out_core):
    """The pullback of gufunc ``name`` given ``cotangents(dy, a, b)`` for the standard layout."""
    plan = _gufunc_plan((len(shape_of(a)), len(shape_of(b))), cores, out_core, len(shape_of(y)), kwargs)

    def gufunc_pullback(dy):
        ops, out, kept = plan
        dyl = _to_end(dy, out)
        if kept:
            dyl = dyl[..., 0]
        al = _to_end(a, ops[0])
        bl = _to_end(b, ops[1])
        da, db = cotangents(dyl, al, bl)
        return (_from_end(da, ops[0]), _from_end(db, ops[1]))

    return gufunc_pullback


def _vecdot_cotangents(dy, a, b):
    """``y = sum(conj(a) * b)``: holomorphic in ``b`` (``db = dy a``), antiholomorphic in ``a``
    (``da = conj(dy) b``)."""
    dyk = xp_of(a, b).asarray(dy)[..., None]  # a number where forward mode transposes this (a 0-d result)
    return unbroadcast(conj(dyk) * b, a), unbroadcast(dyk * a, b)


def _matvec_cotangents(dy, a, v):
    """``y = a v``: ``da = dy conj(v)^T``, ``dv = conj(a)^T dy``."""
    xp = xp_of(a, v)
    da = dy[..., :, None] * conj(v)[..., None, :]
    dv = xp.matmul(dy[..., None, :], conj(a))[..., 0, :]
    return unbroadcast(da, a), unbroadcast(dv, v)


def _vecmat_cotangents(dy, v, a):
    """``y = conj(v) a``: ``da = v dy^T``, ``dv = a conj(dy)``."""
    xp = xp_of(a, v)
    da = v[..., :, None] * dy[..., None, :]
    dv = xp.matmul(a, conj(dy)[..., :, None])[..., 0]
    return unbroadcast(dv, v), unbroadcast(da, a)


@nograd
def _has(xp, name):
    return hasattr(xp, name)


@adjoint(np.linalg.vecdot)
def linalg_vecdot_rule(x1, x2, *, axis=-1):
    """``np.linalg.vecdot``: ``np.vecdot`` with ``axis`` alone."""
    return vecdot_rule(x1, x2, axis=axis)


@adjoint(np.vecdot)
def vecdot_rule(x1, x2, **kwargs):
    _refuse_options("vecdot", kwargs, {"axis", "axes", "keepdims"})
    xp = xp_of(x1, x2)
    if _has(xp, "vecdot"):
        y = xp.vecdot(x1, x2, **kwargs)
    else:  # an array module without vecdot: the same sum, axes as NumPy moves them
        y = _vecdot_fallback(x1, x2, kwargs)
    return y, _core_pullback("vecdot", _vecdot_cotangents, x1, x2, y, kwargs, (1, 1), 0)


def _vecdot_fallback(x1, x2, kwargs):
    xp = xp_of(x1, x2)
    keepdims = bool(kwargs.get("keepdims", False))
    ndim = max(len(shape_of(x1)), len(shape_of(x2))) - 1 + (1 if keepdims else 0)
    ops, out, kept = _gufunc_plan((len(shape_of(x1)), len(shape_of(x2))), (1, 1), 0, ndim, kwargs)
    y = xp.sum(conj(_to_end(x1, ops[0])) * _to_end(x2, ops[1]), axis=-1)
    if kept:
        y = _from_end(y[..., None], out)
    return y


def _matvec_rule(name, cotangents, core_dims, vecmat):
    """The rule of ``np.matvec`` or ``np.vecmat`` (``core_dims``: the operands' core dimensions); where the
    array module has no such function, the product is summed out (``_matvec_fallback``)."""

    def rule(x1, x2, **kwargs):
        _refuse_options(name, kwargs, {"axes"})
        xp = xp_of(x1, x2)
        if _has(xp, name):
            y = getattr(xp, name)(x1, x2, **kwargs)
        else:
            y = _matvec_fallback(x1, x2, kwargs, vecmat)
        return y, _core_pullback(name, cotangents, x1, x2, y, kwargs, core_dims, 1)

    rule.__name__ = f"{name}_rule"
    return adjoint(getattr(np, name))(rule)


matvec_rule = _matvec_rule("matvec", _matvec_cotangents, (2, 1), False)
vecmat_rule = _matvec_rule("vecmat", _vecmat_cotangents, (1, 2), True)


def _matvec_fallback(x1, x2, kwargs, vecmat):
    xp = xp_of(x1, x2)
    cores = (1, 2) if vecmat else (2, 1)
    nd1 = len(shape_of(x1))
    nd2 = len(shape_of(x2))
    ndim = max(nd1 - cores[0], nd2 - cores[1]) + 1
    ops, out, _ = _gufunc_plan((nd1, nd2), cores, 1, ndim, kwargs)
    a = _to_end(x1, ops[0])
    b = _to_end(x2, ops[1])
    if vecmat:
        y = xp.matmul(conj(a)[..., None, :], b)[..., 0, :]
    else:
        y = xp.matmul(a, b[..., :, None])[..., 0]
    return _from_end(y, out)


accept_array_likes(__name__)  # lists and tuples where NumPy reads arrays (rules/helpers.py)
