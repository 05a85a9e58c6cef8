"""Hunt 11: implicit parameters (``fx.params``) read through method calls, keyword arguments, defaults,
nested functions and module attributes, and closures calling one another (mutual recursion).

Each gradient is checked against finite differences on the parameter itself; where a case cannot be made
right, a clear error is expected instead of a silently missing gradient.
"""

import types

import numpy as np
import pytest

import fluxpy as fx
from fluxpy.testing import check_grads

W = np.array([[0.5, -1.0], [2.0, 0.3]])
b = np.array([0.1, -0.2])
x = np.array([1.0, 2.0])
xs = [np.array([1.0, 2.0]), np.array([-0.5, 0.4])]
KW = {"A": W, "v": x, "c": b}
ARGS = (W, x, b)
WDOT = W.dot  # a bound method as a global

# a user's module (not a library's): its attributes may hold parameters
mod = types.ModuleType("hunt11_user_module")
mod.W = W
mod.sub = types.ModuleType("hunt11_user_module.sub")
mod.sub.W = W


def lin(A, v, c):
    return A @ v + c


class Model:
    def __init__(self, A, c):
        self.A = A
        self.c = c

    def forward(self, v):
        return self.A @ v + self.c


class Config:
    A = W


model = Model(W, b)
FORWARD = model.forward
P = {"A": W, "c": b}


def lin_kwonly(v, *, A, c):
    return A @ v + c


def lin_kwargs(v, **kw):
    return kw["A"] @ v + kw["c"]


def use_method(v):
    return W.dot(v)


def use_default(v, A=W):
    return A @ v


mod.use_method = use_method
mod.use_default = use_default


def sq(y):
    return np.sum(np.tanh(y) ** 2)


def _fd(loss, p, eps=1e-6):
    g = np.zeros_like(p)
    for i in np.ndindex(p.shape):
        old = p[i]
        p[i] = old + eps
        up = loss()
        p[i] = old - eps
        down = loss()
        p[i] = old
        g[i] = (up - down) / (2 * eps)
    return g


def _check_implicit(loss, atol=1e-6):
    ps = fx.params(W, b)
    gs = fx.gradient(loss, ps)
    for p in (W, b):
        expected = _fd(loss, p)
        got = gs[p]
        if got is None:
            assert np.allclose(expected, 0.0, atol=atol), "no gradient reached a parameter"
        else:
            np.testing.assert_allclose(got, expected, atol=atol)


def nested_def():
    def inner():
        return sq(W @ x + b)

    return inner()


def nested_twice():
    def outer():
        def inner(v):
            return sq(W @ v + b)

        return inner(x)

    return outer()


def nested_recursive():
    def rec(n, v):
        return v if n == 0 else rec(n - 1, np.tanh(W @ v))

    return sq(rec(3, x) + b)


def defaults_local_function():
    def g(t, u, A=W, *, c=b, d=2.0):
        return sq(lin(A, t, c)) * u * d

    h = g
    return g(x, 1.0) + h(x, 2.0, c=b * 2) + g(x, 0.5, W * 3)


IMPLICIT = {
    # a parameter read through a method call (its object is the parameter)
    "W.dot": lambda: sq(W.dot(x) + b),
    "W.copy": lambda: sq(W.copy() @ x + b.copy()),
    "W.reshape": lambda: sq(W.reshape(4)[:2] * x + b),
    "W.astype": lambda: sq(W.astype(np.float64) @ x + b),
    "W.clip": lambda: sq(W.clip(-0.9, 1.5) @ x + b),
    "W.round": lambda: sq(W.round(3) @ x + b),
    "W.take": lambda: sq(W.take([0, 1, 3])[:2] + b),
    "W.sum(axis)": lambda: sq(W.sum(axis=0) * b),
    "W.T.dot": lambda: sq(W.T.dot(x) + b),
    "bound method global": lambda: sq(WDOT(x) + b),
    "method of a global object": lambda: sq(model.forward(x)),
    "bound Python method global": lambda: sq(FORWARD(x)),
    "dict.get of a global": lambda: sq(P.get("A") @ x + b),
    "class attribute": lambda: sq(Config.A @ x + b),
    "getattr of a module": lambda: sq(getattr(mod, "W") @ x + b),
    # keyword arguments, ** and *
    "keyword": lambda: sq(lin(A=W, v=x, c=b)),
    "keyword-only": lambda: sq(lin_kwonly(x, A=W, c=b)),
    "**kwargs": lambda: sq(lin_kwargs(x, A=W, c=b)),
    "**dict": lambda: sq(lin(**KW)),
    "*tuple": lambda: sq(lin(*ARGS)),
    "rule keyword": lambda: sq(np.matmul(W, x) + b) + np.sum(a=W),
    # defaults of local functions called directly
    "lambda defaults": lambda: (lambda A=W, c=b: sq(lin(A, x, c)))(),
    "def defaults": defaults_local_function,
    # nested functions reading the global
    "nested lambda": lambda: (lambda: sq(W @ x + b))(),
    "nested lambda argument": lambda: (lambda v: sq(W @ v + b))(x),
    "map of lambda": lambda: sum(map(lambda v: sq(W @ v + b), xs)),
    "nested def": nested_def,
    "nested twice": nested_twice,
    "nested recursive": nested_recursive,
    # attributes of a user's module
    "module attribute": lambda: sq(mod.W @ x + b),
    "submodule attribute": lambda: sq(mod.sub.W @ x + b),
    "module attribute method": lambda: sq(mod.W.dot(x) + b),
    "module function": lambda: sq(mod.use_method(x) + b),
}


@pytest.mark.parametrize("name", list(IMPLICIT))
def test_implicit_parameter_reads(name):
    _check_implicit(IMPLICIT[name])


@pytest.mark.parametrize(
    "name", ["W.dot", "W.copy", "keyword", "lambda defaults", "nested def", "module attribute"]
)
def test_implicit_gradient_of_explicit_gradient(name):
    """Second order: an implicit gradient of a loss that takes an explicit gradient reading the globals."""
    inner = {
        "W.dot": lambda v: sq(W.dot(v) + b),
        "W.copy": lambda v: sq(W.copy() @ v + b),
        "keyword": lambda v: sq(lin(A=W, v=v, c=b)),
        "lambda defaults": lambda v: (lambda A=W: sq(A @ v + b))(),
        "nested def": lambda v: (lambda: sq(W @ v + b))(),
        "module attribute": lambda v: sq(mod.W @ v + b),
    }[name]
    _check_implicit(lambda: np.sum(fx.gradient(inner, x)[0] ** 2), atol=1e-5)


def test_a_parameter_in_a_default_is_refused():
    """Whether a call used the default is not known where the gradient arrives: refused, not dropped."""
    ps = fx.params(W, b)
    with pytest.raises(fx.FluxpyError, match="default value of 'A' of use_default"):
        fx.gradient(lambda: sq(use_default(x) + b), ps)
    with pytest.raises(fx.FluxpyError, match="default value of 'A' of use_default"):
        fx.gradient(lambda: sq(mod.use_default(x) + b), ps)
    with pytest.raises(fx.FluxpyError, match="default value of 'A' of use_default"):
        fx.gradient(lambda: np.sum(fx.gradient(lambda v: sq(use_default(v) + b), x)[0] ** 2), ps)
    # an escaping lambda keeps its defaults: refused where its gradient arrives
    with pytest.raises(fx.FluxpyError, match="default value of 'A' of a lambda"):
        fx.gradient(lambda: sum(map(lambda v, A=W: sq(A @ v + b), xs)), ps)
    # local functions with such defaults that are called from local functions (themselves included)

    def recursive():
        def rec(n, v, A=W):
            return v if n == 0 else rec(n - 1, np.tanh(A @ v))

        return np.sum(rec(2, x))

    def called_by_another():
        def g(v, A=W):
            return A @ v

        def h(v):
            return g(v) * 2

        return np.sum(h(x)) + np.sum(g(x))

    for loss in (recursive, called_by_another):
        with pytest.raises(fx.FluxpyError, match="default value of 'A' of "):
            fx.gradient(loss, ps)
    # another array passed for the parameter: nothing to refuse; explicit gradients are unaffected
    other = W * 2.0
    assert fx.gradient(lambda: sq(use_default(x, other) + b), ps)[W] is None
    check_grads(lambda v: sq(use_default(v)), x, order=2)


def test_defaults_of_local_functions_carry_gradients():
    """A default computed from a name carrying a gradient, of a local function called directly, reaches it
    (explicit mode; it was refused)."""

    def one(y):
        g = lambda t, s=y: t * s  # noqa: E731
        return g(2.0) + g(3.0, y * y)

    def several(y, z):
        def g(t, s=y, k=3.0, *, q=z):
            return t * s * k * q

        return g(2.0) + g(1.0, k=2.0) + g(1.0, q=y)

    assert fx.gradient(one, 1.3) == pytest.approx((2 + 6 * 1.3,))
    check_grads(one, 1.3, order=2, forward=True)
    check_grads(several, 1.3, 0.7, order=2, forward=True)


# -- local functions calling one another --------------------------------------------------------------------


def mutual(b, c):
    def p(n, v):
        return v if n == 0 else q(n - 1, v * b)

    def q(n, v):
        return v if n == 0 else p(n - 1, v * b)

    return p(5, c)


def mutual_two_variables(a, b, c):
    def even(n, v):
        return v if n == 0 else odd(n - 1, v * a)

    def odd(n, v):
        return v * 2 if n == 0 else even(n - 1, v + b)

    return even(6, c) + odd(3, c)


def three_cycle(a, b, c):
    def f1(n, v):
        return v if n == 0 else f2(n - 1, v * a)

    def f2(n, v):
        return v if n == 0 else f3(n - 1, v + b)

    def f3(n, v):
        return v if n == 0 else f1(n - 1, np.sin(v) * c)

    return f1(7, c)


def mutual_escaping(b, c):
    def p(n, v):
        return v if n == 0 else q(n - 1, v * b)

    def q(n, v):
        return v if n == 0 else p(n - 1, v * b)

    fs = [p, q]
    return fs[0](4, c) + sum(map(lambda t: q(3, t), [c, b]))


def mutual_lambdas(b, c):
    p = lambda n, v: v if n == 0 else q(n - 1, v * b)  # noqa: E731
    q = lambda n, v: v if n == 0 else p(n - 1, v * c)  # noqa: E731
    return p(5, c)


def calls_an_earlier_closure(b, c):
    v = b

    def g(t):
        return t * v

    v = b * 2  # g reads this value when h calls it

    def h(t):
        return g(t) * c

    return sum(map(h, [1.0, c]))


def calls_a_later_closure(b, c):
    def h(v):
        return g(v) * 2

    def g(v):
        return v * b

    return sum(map(h, [c, c])) + [h][0](c)


def mutual_in_loop(b, c):
    s = 0.0
    for k in range(3):

        def p(n, v):
            return v if n == 0 else q(n - 1, v * b + k)

        def q(n, v):
            return v if n == 0 else p(n - 1, v * c)

        s = s + p(4, c)
    return s


def mutual_arrays(w, x):
    def p(n, v):
        return v if n == 0 else q(n - 1, np.tanh(w @ v))

    def q(n, v):
        return v if n == 0 else p(n - 1, w.T @ v * x)

    return np.sum(p(5, x) ** 2)


CLOSURE_CASES = [
    (mutual, (0.7, 1.9)),
    (mutual_two_variables, (0.7, -1.2, 1.9)),
    (three_cycle, (0.7, -1.2, 1.1)),
    (mutual_escaping, (0.7, 1.9)),
    (mutual_lambdas, (0.7, 1.3)),
    (calls_an_earlier_closure, (0.7, 1.3)),
    (calls_a_later_closure, (0.7, 1.3)),
    (mutual_in_loop, (0.7, 1.3)),
    (
        mutual_arrays,
        (np.array([[0.2, -0.4, 0.1], [0.3, 0.5, -0.2], [-0.1, 0.2, 0.4]]), np.array([0.5, -1.0, 0.8])),
    ),
]


@pytest.mark.parametrize("f, args", [pytest.param(f, a, id=f.__name__) for f, a in CLOSURE_CASES])
def test_closures_calling_one_another(f, args):
    check_grads(f, *args, order=2, forward=True)


def test_mutual_recursion_exact():
    b_, c_ = 0.7, 1.9
    for depth in range(7):
        expected = (depth * c_ * b_ ** (depth - 1) if depth else None, b_**depth)

        def f(b, c, depth=depth):
            def p(n, v):
                return v if n == 0 else q(n - 1, v * b)

            def q(n, v):
                return v if n == 0 else p(n - 1, v * b)

            return p(depth, c)

        got = fx.gradient(f, b_, c_)
        assert (got[0] or 0.0) == pytest.approx(expected[0] or 0.0) and got[1] == pytest.approx(expected[1])


def test_escaping_closure_over_a_variable_rebound_below_is_refused():
    def f(b, c):
        def h(t):
            return g(t) * c

        v = b

        def g(t):
            return t * v

        v = b * 2  # read by g when h, which escapes, calls it
        return sum(map(h, [1.0, c]))

    with pytest.raises(fx.TransformError, match="through the local functions it calls"):
        fx.gradient(f, 0.7, 1.3)
