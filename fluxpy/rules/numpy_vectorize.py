"""Rules: ``np.vectorize`` objects, called: the Python function looped over the broadcast elements, as a plain
Python loop that fluxpy differentiates.

NumPy runs a vectorized function by casting its inputs to ``object`` arrays and calling a
``np.frompyfunc`` ufunc, whose calls of the Python function fluxpy cannot see (the gradient would be lost).
The rule of ``np.vectorize.__call__`` runs :func:`vectorize_impl` instead: the same calls, in the same
(C) order, with the same element types (a float64 element is a Python ``float``, a float32 one a NumPy
scalar), each one differentiated, so the gradient reaches the inputs and what the function captures. The
result is NumPy's: ``otypes`` (else the first call's result types) give the dtypes, a tuple result gives a
tuple of arrays, ``excluded`` arguments are passed whole. NumPy calls the function on the first element
twice to find the output types (unless ``cache=True``); here it is called once per element.
``signature=`` has no rule yet: refused when a gradient is asked for.

>>> import numpy as np, fluxpy as fx
>>> relu2 = np.vectorize(lambda t: 2.0 * t if t > 0 else 0.0)
>>> fx.gradient(lambda x: np.sum(relu2(x)), np.array([-1.0, 3.0]))
(array([0., 2.]),)
"""

import numpy as np

from ..backend import to_numpy, xp_of
from ..errors import FluxpyError
from .forward_core import _forward_mode, keyword_forward_rule
from .helpers import cast_back, unbroadcast
from .numpy_shape import _unpack, array_shape
from .registry import adjoint, nograd, register

SIZE_ZERO = "cannot call `vectorize` on size 0 inputs unless `otypes` is set"
SIGNATURE_UNSUPPORTED = (
    "fluxpy cannot differentiate a np.vectorize function with signature={signature!r}: it has no rule for "
    "the generalized (core-dimension) loop yet. Loop over the leading axes yourself (a list of "
    "pyfunc(x[i]) stacked with np.stack), or vectorize the function over array operations."
)


# ---------------------------------------------------------------------------------------------------------
# bookkeeping: never differentiated


@nograd
def _vectorize_plan(vec, args, kwargs):
    """``(positions, names, shape)``: the positional arguments and keywords that are broadcast (those not in
    ``vec.excluded``) and their broadcast shape; None when there are none (NumPy then calls the function
    once, on the arguments as they are)."""
    excluded = vec.excluded
    positions = tuple(i for i in range(len(args)) if i not in excluded)
    names = tuple(k for k in kwargs if k not in excluded)
    if not positions and not names:
        return None
    values = [args[i] for i in positions] + [kwargs[k] for k in names]
    shape = np.broadcast_shapes(*[array_shape(v) for v in values])
    if vec.otypes is None and 0 in shape:
        raise ValueError(SIZE_ZERO)
    return positions, names, shape


@nograd
def _output_types(vec, outs):
    """``(dtypes, single)``: the result dtypes (``otypes``, else those of the first call's results, as NumPy
    finds them) and whether the result is one array rather than a tuple of them."""
    if vec.otypes is not None:
        return tuple(np.dtype(t) for t in vec.otypes), len(vec.otypes) == 1
    first = outs[0]
    if isinstance(first, tuple):
        return tuple(np.asarray(v).dtype for v in first), False
    return (np.asarray(first).dtype,), True


@nograd
def _simple_call(positions, args, kwargs):
    """True when every argument is broadcast and none is a keyword: ``pyfunc(*row)``."""
    return len(positions) == len(args) and not kwargs


@nograd
def _cotangent_dtypes(dys, dtypes):
    """The dtypes of the arrays the cotangents ``dys`` of the results fill (float64 for None or numbers)."""
    out = []
    for dy, dtype in zip(dys, dtypes, strict=True):
        kind = getattr(getattr(dy, "dtype", None), "kind", None)
        out.append(dy.dtype if kind in ("f", "c") else np.dtype(complex if dtype.kind == "c" else float))
    return tuple(out)


def _host_elements(value, shape):
    """The entries of ``value`` (None: zeros) broadcast to ``shape``, in C order, as NumPy's cast to
    ``object`` gives them (a float64 entry is a Python float, a float32 one a NumPy scalar); a device
    array's are read on the host."""
    if value is None:
        return [0.0] * int(np.prod(shape, dtype=np.int64))
    host = to_numpy(value) if hasattr(value, "get") else np.asarray(value)
    return np.broadcast_to(host, shape).astype(object).ravel().tolist()


def _check_signature(vec):
    if vec.signature is not None:
        raise FluxpyError(SIGNATURE_UNSUPPORTED.format(signature=vec.signature))


nograd(_host_elements, _check_signature)


# ---------------------------------------------------------------------------------------------------------
# paired helpers: inputs to rows of elements and back, outputs to arrays and back; each pullback is the other


def vectorized_rows(values, shape):
    """One tuple per element of the broadcast ``shape`` (C order): the entry of each of ``values`` there (a
    None value reads as zeros)."""
    return list(zip(*[_host_elements(v, shape) for v in values], strict=True))


def vectorized_columns(drows, values, shape):
    """The adjoint of :func:`vectorized_rows`: the cotangents of ``values`` from those of the rows (a None
    row or entry is a zero), each summed over its broadcast axes and shaped like its value."""
    xp = xp_of(*values)
    out = []
    for j, value in enumerate(values):
        column = [None if row is None else row[j] for row in drows]
        if all(d is None for d in column):
            out.append(None)
        else:
            g = xp.asarray(np.array([0.0 if d is None else d for d in column]).reshape(shape))
            out.append(_shaped_like(g, value))
    return tuple(out)


def _shaped_like(g, value):
    """The cotangent ``g`` (of the broadcast shape) of ``value``: summed to its shape, and a list, a number or
    an array in ``value``'s dtype as ``value`` is."""
    if isinstance(value, (list, tuple)):
        return _unpack(unbroadcast(g, xp_of(g).empty(array_shape(value))), value)
    return cast_back(unbroadcast(g, value), value)


@adjoint(vectorized_rows)
def vectorized_rows_rule(values, shape):
    def vectorized_rows_pullback(drows):
        return (vectorized_columns(drows, values, shape), None)

    return vectorized_rows(values, shape), vectorized_rows_pullback


@adjoint(vectorized_columns)
def vectorized_columns_rule(drows, values, shape):
    def vectorized_columns_pullback(dd):
        return (vectorized_rows(dd, shape), None, None)

    return vectorized_columns(drows, values, shape), vectorized_columns_pullback


def vectorized_result(outs, shape, dtypes, single, like, zeros):
    """The arrays of ``shape`` that the outputs ``outs`` fill (one per element: a value, or a tuple of one
    value per result unless ``single``), as NumPy makes them: an object array cast to each of ``dtypes``. One
    array when ``single``, else a tuple; on the device of the arrays in ``like``. With ``zeros`` (cotangents)
    a None, for an element or an entry, is a zero."""
    xp = xp_of(*like)
    results = []
    for j, dtype in enumerate(dtypes):
        column = np.empty(len(outs), dtype=object)
        for k, out in enumerate(outs):
            column[k] = _entry(out, j, single, zeros)
        results.append(xp.asarray(column.astype(dtype).reshape(shape)))
    return results[0] if single else tuple(results)


def _entry(out, j, single, zeros):
    value = out if single or (zeros and out is None) else out[j]
    return 0.0 if zeros and value is None else value


def vectorized_items(dys, dtypes, single):
    """The adjoint of :func:`vectorized_result`: the cotangent of each element's output (a tuple of one per
    result unless ``single``) from those of the results (``dys``; a None is a zero); None for results that
    carry no gradient (an integer or boolean dtype)."""
    dys = (dys,) if single else dys
    n = None
    columns = []
    for dy, dtype in zip(dys, dtypes, strict=True):
        if dy is None or dtype.kind not in "fcO":
            columns.append(None)
        else:
            flat = np.ravel(to_numpy(dy) if hasattr(dy, "get") else np.asarray(dy))
            n = flat.size
            columns.append(flat.tolist())
    if n is None:
        return None
    if single:
        return columns[0]
    return [tuple(None if c is None else c[k] for c in columns) for k in range(n)]


@adjoint(vectorized_result)
def vectorized_result_rule(outs, shape, dtypes, single, like, zeros):
    def vectorized_result_pullback(dy):
        return (vectorized_items(dy, dtypes, single), None, None, None, None, None)

    return vectorized_result(outs, shape, dtypes, single, like, zeros), vectorized_result_pullback


@adjoint(vectorized_items)
def vectorized_items_rule(dys, dtypes, single):
    like = (dys,) if single else tuple(dys)
    shape = array_shape(next(d for d in like if d is not None))
    back_dtypes = _cotangent_dtypes(like, dtypes)

    def vectorized_items_pullback(dd):
        if dd is None:
            return (None, None, None)
        return (vectorized_result(dd, shape, back_dtypes, single, like, True), None, None)

    return vectorized_items(dys, dtypes, single), vectorized_items_pullback


# ---------------------------------------------------------------------------------------------------------
# the loop, differentiated by fluxpy


def vectorize_impl(vec, *args, **kwargs):
    """``vec(*args, **kwargs)`` for an ``np.vectorize`` object ``vec``: its ``pyfunc`` called on each element
    of the broadcast arguments, in C order, the results gathered as NumPy gathers them."""
    pyfunc = vec.pyfunc
    plan = _vectorize_plan(vec, args, kwargs)
    if plan is None:  # nothing to broadcast: NumPy calls the function once, as it is
        return pyfunc(*args, **kwargs)
    positions, names, shape = plan
    values = []
    for i in positions:
        values = values + [args[i]]
    for name in names:
        values = values + [kwargs[name]]
    outs = []
    if _simple_call(positions, args, kwargs):
        for row in vectorized_rows(values, shape):
            outs = outs + [pyfunc(*row)]
    else:
        for row in vectorized_rows(values, shape):
            call_args = list(args)
            call_kwargs = dict(kwargs)
            for j in range(len(positions)):
                call_args[positions[j]] = row[j]
            for j in range(len(names)):
                call_kwargs[names[j]] = row[len(positions) + j]
            outs = outs + [pyfunc(*call_args, **call_kwargs)]
    dtypes, single = _output_types(vec, outs)
    return vectorized_result(outs, shape, dtypes, single, values, False)


def vectorize_call_rule(vec, *args, **kwargs):
    """The rule of ``np.vectorize.__call__``: :func:`vectorize_impl`, transformed (NumPy's own path goes
    through object arrays and a ``frompyfunc`` ufunc, where the gradient would be lost)."""
    from ..runtime import call

    if vec.pyfunc is np._NoValue:  # @np.vectorize(otypes=...) applied to the function: a new vectorize
        return vec(*args, **kwargs), _no_cotangents(1 + len(args))
    _check_signature(vec)
    y, pb = call(vectorize_impl, vec, *args, **kwargs)

    def vectorize_pullback(dy):
        return pb(dy)[1:]

    return y, vectorize_pullback


@nograd
def _no_cotangents(n):
    def no_cotangents_pullback(dy):
        return (None,) * n

    return no_cotangents_pullback


register(np.vectorize.__call__, vectorize_call_rule)


@keyword_forward_rule(np.vectorize.__call__)
def vectorize_call_jvp(args, targs, kwargs, tkwargs):
    """Forward mode runs :func:`vectorize_impl`'s own JVP (the tangent of ``vec`` is its function's)."""
    vec = args[0]
    if vec.pyfunc is np._NoValue:
        return vec(*args[1:], **kwargs), None
    _check_signature(vec)
    return _forward_mode().jvp_call(vectorize_impl, None, args, targs, kwargs, tkwargs)
