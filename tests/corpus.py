"""A corpus of user-style NumPy functions that fluxpy must differentiate.

Each function takes float64 arrays and/or floats (sometimes also integer labels, objects or lists, which
are not perturbed by the finite-difference check) and returns a real scalar. Inputs come from
``np.random.default_rng`` and stay in safe domains: no logs of negatives and no ties at kinks.

``CORPUS`` lists one :class:`Case` per function (some functions appear twice, with inputs that take
different branches). ``tests/test_corpus.py`` runs them.
"""

import contextlib
import dataclasses
import functools
import io
import itertools
import math
import operator
from collections import namedtuple
from collections.abc import Callable
from dataclasses import dataclass
from typing import NamedTuple

import numpy as np

ALL_CHECKS = ("first", "second", "mutation", "value")


@dataclass(frozen=True)
class Case:
    name: str
    fn: Callable
    args_factory: Callable
    second_order: bool = False
    xfail: str | None = None  # "BUG: ..." when fluxpy is wrong on this valid, supported code
    xfail_checks: tuple = ALL_CHECKS  # which of the checks the bug breaks


def N(r, *shape):
    return r.standard_normal(shape)


def U(r, lo, hi, *shape):
    return r.uniform(lo, hi, shape)


def F(r, lo=-1.0, hi=1.0):
    return float(r.uniform(lo, hi))


def sigmoid(z):
    return 1.0 / (1.0 + np.exp(-z))


# =========================================================================================================
# control flow


def piecewise_loop(x):
    total = 0.0
    for v in x:
        if v < -1.0:
            total = total - v**2
        elif v < 0.5:
            total = total + np.sin(v)
        else:
            total += np.log(v) + v
    return total


def piecewise_scalar(x, w):
    if x > 1.0:
        y = w * x**2
    elif x > -1.0:
        y = w * np.sin(x)
    else:
        y = -w * np.exp(x)
    return y


def ternary_scale(x, a):
    s = a * 2.0 if np.sum(x) > 0 else a**2
    ys = [v * s if v > 0 else -v / s for v in x]
    return sum(ys)


def ternary_nested(x):
    return np.sum(x**2) if x[0] > 0 else (np.sum(np.cos(x)) if x[1] > 0 else np.prod(x[:3]))


def boolean_gates(x, w):
    total = 0.0
    for v in x:
        if v > 0 and v < 1.0:
            total = total + w * v
        elif v < -1.0 or v > 2.0:
            total = total + np.cos(v * w)
        if not (v > 0):
            total = total - 0.5 * v**2
    return total


def or_default(x, w, scale=None):
    scale = scale or w
    k = x.size > 3 and 2.0
    return np.sum(x * scale) * k


def and_or_values(x, w):
    pair = [w, x[0]]
    first = pair and pair[0]
    fallback = [] or [x[1]]
    return first * fallback[0] + (w or 1.0) * x[2]


def not_flags(x):
    total = 0.0
    for v in x:
        negative = v < 0
        big = abs(v) > 1.5
        if not negative and not big:
            total = total + v**2
        elif negative and not big:
            total = total + np.sin(v)
        else:
            total = total + 0.1 * v
    return total


def chained_compare(x):
    total = 0.0
    for v in x:
        if -1.0 < v < 1.0:
            total = total + v**3
        elif 1.0 <= v < 2.0 <= 3.0:
            total = total + np.exp(-v)
        else:
            total = total + np.tanh(v)
    return total


def chained_compare_array(x, lo, hi):
    inside = (x > lo) & (x < hi)
    total = np.sum(np.where(inside, x**2, 0.0))
    if lo < np.mean(x) < hi:
        total = total + np.mean(x) * hi
    return total


def polynomial_range(c, x):
    total = 0.0
    for k in range(len(c)):
        total = total + c[k] * x**k
    return total


def horner(c, x):
    acc = 0.0
    for k in range(len(c) - 1, -1, -1):
        acc = acc * x + c[k]
    return acc


def range_step(x):
    total = 0.0
    for i in range(0, len(x), 2):
        total = total + x[i] * x[i + 1]
    return total


def rows_loop(X, w):
    total = 0.0
    for row in X:
        total = total + np.tanh(row @ w) ** 2
    return total


def columns_loop(X):
    total = 0.0
    for col in X.T:
        total = total + np.std(col)
    return total


def list_loop(a, b, c):
    total = 0.0
    for arr in [a, b, c]:
        total = total + np.sum(arr**2) / arr.size
    return total


def tuple_layers(w1, b1, w2, b2, x):
    h = x
    for w, b in ((w1, b1), (w2, b2)):
        h = np.tanh(w @ h + b)
    return np.sum(h**2)


def dict_items_loop(a, b):
    params = {"a": a, "b": b}
    scales = {"a": 0.5, "b": 2.0}
    total = 0.0
    for name, p in params.items():
        total = total + scales[name] * np.sum(p**2)
    return total


def dict_keys_values_loop(x, y):
    d = {"first": x, "second": y, "third": x * y}
    total = 0.0
    for k in d:
        total = total + np.sum(np.sin(d[k])) * len(k)
    for v in d.values():
        total = total + np.mean(v)
    return total


def enumerate_weights(x):
    total = 0.0
    for i, v in enumerate(x, start=1):
        total = total + i * v**2
    return total


def enumerate_rows(X):
    total = 0.0
    for i, row in enumerate(X):
        total = total + row[i % row.size] * np.sum(row)
    return total


def zip_loop(xs, ys, w):
    total = 0.0
    for xi, yi in zip(xs, ys):
        total = total + (w * xi - yi) ** 2
    return total


def zip_three(a, b, c):
    return sum(x * y + z for x, y, z in zip(a, b, c))


def zip_enumerate(a, b):
    total = 0.0
    for i, (x, y) in enumerate(zip(a, b)):
        total = total + (i + 1) * x * np.cos(y)
    return total


def nested_pairwise(x):
    n = len(x)
    total = 0.0
    for i in range(n):
        for j in range(i + 1, n):
            total = total + np.exp(-((x[i] - x[j]) ** 2))
    return total


def nested_matrix_loops(A, v):
    m, n = A.shape
    total = 0.0
    for i in range(m):
        for j in range(n):
            total = total + A[i, j] ** 2 * v[j] * (i + 1)
    return total


def nested_list_loops(a, b):
    total = 0.0
    for x in [a, b]:
        for y in [a, b]:
            total = total + np.dot(x, y) ** 2
    return total


def for_else(x, threshold):
    total = 0.0
    for v in x:
        if v > threshold:
            total = total + 10.0 * v
            break
        total = total + v**2
    else:
        total = total * threshold
    return total


def for_else_nested(X):
    total = 0.0
    for row in X:
        for v in row:
            if v > 1.5:
                break
        else:
            total = total + np.sum(row**2)
    return total


def newton_sqrt(a):
    x = a
    while abs(x * x - a) > 1e-10 * a:
        x = 0.5 * (x + a / x)
    x = 0.5 * (x + a / x)
    return x


def halve_until_small(x):
    s = np.sum(x**2)
    n = 0
    while s > 1.0:
        s = s / 2.0
        n += 1
    return s * (n + 1)


def while_break(x):
    i = 0
    total = 0.0
    while i < len(x):
        if x[i] < -1.2:
            break
        total = total + np.sin(x[i])
        i += 1
    return total


def while_continue(x):
    i = -1
    total = 0.0
    while i < len(x) - 1:
        i += 1
        if x[i] < 0.1:
            continue
        total = total + x[i] ** 1.5
    return total


def while_true_return(x, w):
    k = 0
    h = w
    while True:
        h = np.tanh(h * x[k] + 0.5)
        k += 1
        if k == len(x) or h < -0.9:
            return h
    return 0.0


def fixed_point_iteration(x):
    h = np.zeros_like(x)
    delta = 1.0
    while delta > 1e-13:
        h_new = 0.5 * np.cos(h) + x
        delta = np.max(np.abs(h_new - h))
        h = h_new
    return np.sum(h**2)


def for_break_continue(x):
    total = 0.0
    for i in range(len(x)):
        if x[i] < -1.0:
            continue
        if total > 3.0:
            break
        total = total + x[i] ** 2
    return total


def multiple_returns(x, w):
    s = np.sum(x)
    if s > 1.0:
        return s * w
    if s < -1.0:
        return np.exp(s) * w
    return np.sin(s) * w**2


def return_in_loop(x):
    acc = 0.0
    for i in range(len(x)):
        acc = acc + x[i] ** 2
        if acc > 2.0:
            return acc * i
    return -acc


def early_return_guard(x, w):
    if x.size == 0:
        return 0.0
    if w < 0:
        return -w * np.sum(x)
    y = np.exp(-w * x)
    return np.sum(y) / x.size


def unreachable_after_return(x):
    y = np.tanh(x)
    return np.sum(y**2)
    y = y * 1000.0
    return np.sum(y)


def dead_code_in_loop(x):
    total = 0.0
    for v in x:
        if v > 0:
            total = total + v
            continue
            total = total * 100.0
        total = total + v**2
    return total


def return_from_nested_loops(X):
    for i in range(X.shape[0]):
        for j in range(X.shape[1]):
            if X[i, j] > 1.0:
                return X[i, j] ** 2 * (i + j + 1)
    return np.sum(X)


# =========================================================================================================
# functions


def nested_def(x, w):
    def layer(h):
        return np.tanh(w * h + 0.1)

    return np.sum(layer(layer(x)) ** 2)


def lambdas_compose(x):
    sq = lambda t: t * t
    compose = lambda f, g: lambda t: f(g(t))
    h = compose(np.sin, sq)
    return np.sum(h(x)) + sq(x[0])


def lambdas_in_dict(x):
    acts = {"tanh": np.tanh, "relu": lambda t: np.maximum(t, 0.0), "sq": lambda t: t**2}
    return sum(np.sum(f(x)) for f in acts.values())


def closure_over_array(x, W):
    def predict(v):
        return W @ v

    return np.sum(predict(x) ** 2)


def closure_reads_current_binding(x, a):
    def f(t):
        return t * scale

    scale = a * 2.0
    first = np.sum(f(x))
    scale = a**2
    return first + np.sum(f(x))


def make_scaler(a):
    def scale(t):
        return a * t

    return scale


def returned_closure(x, a):
    f = make_scaler(a)
    g = make_scaler(np.sum(x))
    return np.sum(f(x) * g(x))


def make_layer(W, b):
    def forward(x):
        return np.tanh(W @ x + b)

    return forward


def closures_from_factory(W1, b1, W2, b2, x):
    layers = [make_layer(W1, b1), make_layer(W2, b2)]
    h = x
    for layer in layers:
        h = layer(h)
    return np.sum(h)


def closure_factory_inside(x, a):
    def make(k):
        def f(t):
            return k * np.sin(t)

        return f

    fs = [make(a), make(a**2), make(2.0)]
    return sum(np.sum(f(x)) for f in fs)


def late_binding_lambdas(x, ks):
    fs = [lambda t: t * k for k in ks]
    return sum(np.sum(f(x) ** 2) for f in fs)


def default_binding_lambdas(x, ks):
    fs = [lambda t, k=k: t * k for k in ks]
    return sum(np.sum(f(x) ** 2) for f in fs)


def rec_power(x, n):
    if n == 0:
        return 1.0
    return x * rec_power(x, n - 1)


def recursion_power(x):
    return rec_power(x, 5) + rec_power(x * 0.5, 2)


def rec_sum(items):
    if not items:
        return 0.0
    return items[0] + rec_sum(items[1:])


def recursion_list(x):
    return rec_sum([np.sin(v) for v in x])


def rec_tree(x, depth):
    if depth == 0:
        return np.sin(x)
    return rec_tree(0.9 * x, depth - 1) + rec_tree(1.1 * x, depth - 1) * 0.5


def recursion_tree(x):
    return np.sum(rec_tree(x, 3))


def nested_recursion(x):
    def shrink(v, n):
        if n <= 1:
            return v
        return v * shrink(v * 0.9, n - 1)

    return np.sum(shrink(x, 4))


def rec_even(x, n):
    return x if n == 0 else rec_odd(np.cos(x), n - 1)


def rec_odd(x, n):
    return x if n == 0 else rec_even(np.sin(x) * 1.5, n - 1)


def mutual_recursion(x):
    return np.sum(rec_even(x, 5))


def affine_act(x, w, bias=0.5, power=2, act=np.tanh):
    return np.sum(act(w * x + bias) ** power)


def call_with_defaults(x, w):
    return (
        affine_act(x, w)
        + affine_act(x, w, w)
        + affine_act(x, w, power=3, bias=w**2)
        + affine_act(x, act=np.sin, w=w)
    )


def kwonly(x, *, scale, shift=0.0):
    return np.sum((scale * x + shift) ** 2)


def call_kwonly(x, s):
    return kwonly(x, scale=s) + kwonly(x, shift=s, scale=2.0)


def top_level_default(x, w=1.5):
    return np.sum(np.sin(w * x))


def sum_of_squares(*arrays):
    return sum(np.sum(a**2) for a in arrays)


def star_args(a, b, c):
    parts = (a, b)
    return sum_of_squares(*parts, c) + sum_of_squares(a) + sum_of_squares()


def varargs_top(*xs):
    total = 0.0
    for i, v in enumerate(xs):
        total = total + (i + 1) * np.sum(np.tanh(v))
    return total * len(xs)


def mixed_signature(x, *rest, scale=1.0, **extra):
    total = scale * np.sum(x**2)
    for r in rest:
        total = total + np.sum(r * x)
    for k, v in extra.items():
        total = total + v * len(k)
    return total


def call_mixed_signature(x, y, s):
    return mixed_signature(x, y, y * 2, scale=s, alpha=s**2, beta=np.sum(y))


def apply_opts(x, **opts):
    scale = opts.get("scale", 1.0)
    shift = opts["shift"]
    return np.sum(np.tanh(scale * x + shift))


def star_kwargs(x, s, t):
    opts = {"scale": s, "shift": t}
    return apply_opts(x, **opts) + apply_opts(x, shift=t) + apply_opts(x, **{"shift": s}, scale=t)


def uses_map(x, w):
    ys = list(map(lambda v: np.sin(v * w), x))
    zs = list(map(np.multiply, ys, x))
    return sum(zs) + sum(map(abs, x))


def map_over_arrays(a, b):
    norms = list(map(np.linalg.norm, [a, b, a - b]))
    return sum(norms)


def reduce_product(x):
    return functools.reduce(lambda acc, v: acc * v, x, 1.0)


def reduce_matmul(A, B, C):
    return np.sum(functools.reduce(np.matmul, [A, B, C]))


def reduce_operator(x, y):
    return functools.reduce(operator.add, [x * y, x**2, np.sin(y)]).sum()


def reduce_no_initial(x):
    return functools.reduce(lambda a, b: a * 0.5 + np.tanh(b), x)


def sorted_by_key(x):
    s = sorted(list(x), key=lambda v: abs(v))
    return sum((i + 1) * v for i, v in enumerate(s))


def sorted_reverse(x):
    s = sorted(x, reverse=True)
    return s[0] * 2.0 + s[-1] + sum(s[1:-1]) * 0.5


def max_row_by_key(X):
    best = max(X, key=lambda row: np.sum(row))
    worst = min(X, key=np.linalg.norm)
    return np.sum(best**2) + np.sum(worst)


def min_max_scalars(a, b, x):
    return max(a, b) * min(a, b, key=lambda t: -t) + max(np.sum(x), a) + min([a, b, 0.5 * a])


def top_k_by_score(x, w):
    scores = {f"f{i}": v * w for i, v in enumerate(x)}
    ranked = sorted(scores.items(), key=lambda kv: kv[1], reverse=True)
    return sum(v for _, v in ranked[:3])


def generator_reductions(x):
    s = sum(v**2 for v in x)
    m = max(np.sin(v) for v in x)
    n = min(v * 2.0 for v in x if v > -2.0)
    flag = any(v > 3.0 for v in x)
    ok = all(abs(v) < 10.0 for v in x)
    return s + m - n + (0.0 if flag else s) * ok


def generator_of_rows(X, w):
    return sum(np.tanh(row @ w) for row in X) + max(np.sum(row) for row in X)


def scaled_output(factor):
    def decorator(fn):
        @functools.wraps(fn)
        def wrapper(*args, **kwargs):
            return factor * fn(*args, **kwargs)

        return wrapper

    return decorator


@scaled_output(3.0)
def decorated_loss(x):
    return np.sum(np.sin(x))


def logged(fn):
    @functools.wraps(fn)
    def wrapper(*args):
        out = fn(*args)
        print(f"{fn.__name__} -> {float(out):.3f}", file=io.StringIO())
        return out

    return wrapper


@logged
def logged_loss(x, w):
    return np.sum((x * w) ** 2)


def double_input(fn):
    @functools.wraps(fn)
    def wrapper(x, *args):
        return fn(2.0 * x, *args)

    return wrapper


@double_input
@scaled_output(0.5)
def stacked_decorators(x, w):
    return np.sum(np.tanh(w * x))


def plain_decorator(fn):
    def wrapper(*args):
        return fn(*args) ** 2

    return wrapper


@plain_decorator
def squared_by_decorator(x):
    return np.sum(np.cos(x))


def calls_decorated(x, w):
    return decorated_loss(x) + logged_loss(x, w) + squared_by_decorator(x * w)


def uses_partial(x, w):
    f = functools.partial(affine_act, w=w, power=3)
    g = functools.partial(np.sum, axis=0)
    return f(x) + g(x**2)


# =========================================================================================================
# objects


class Linear:
    def __init__(self, W, b):
        self.W = W
        self.b = b

    def __call__(self, x):
        return self.W @ x + self.b

    def l2(self):
        return np.sum(self.W**2)


class MLP:
    def __init__(self, W1, b1, W2, b2):
        self.layers = [Linear(W1, b1), Linear(W2, b2)]

    def __call__(self, x):
        h = x
        for layer in self.layers[:-1]:
            h = np.tanh(layer(h))
        return self.layers[-1](h)

    def penalty(self):
        return sum(layer.l2() for layer in self.layers)


def mlp_built_inside(W1, b1, W2, b2, x):
    net = MLP(W1, b1, W2, b2)
    return np.sum(net(x) ** 2) + 0.01 * net.penalty()


def linear_passed_in(layer, x):
    return np.sum(np.tanh(layer(x))) + layer.l2()


def mlp_passed_in(net, x, s):
    return np.sum(np.sin(s * net(x))) + s * net.penalty()


class Activation:
    def forward(self, x):
        return self.f(x) * self.gain()

    def gain(self):
        return 1.0


class Tanh(Activation):
    def f(self, x):
        return np.tanh(x)


class ScaledSin(Activation):
    def __init__(self, k):
        self.k = k

    def f(self, x):
        return np.sin(self.k * x)

    def gain(self):
        return 2.0


def inheritance_dispatch(x, k):
    acts = [Tanh(), ScaledSin(k)]
    return sum(np.sum(a.forward(x)) for a in acts)


class Base:
    def __init__(self, w):
        self.w = w

    def scale(self, x):
        return self.w * x


class Child(Base):
    def __init__(self, w, b):
        Base.__init__(self, w)
        self.b = b

    def scale(self, x):
        return Base.scale(self, x) + self.b


def explicit_base_calls(x, w, b):
    c = Child(w, b)
    return np.sum(np.sin(c.scale(x)))


class Shifted(Base):
    def shifted(self, x):
        return self.scale(x) + 1.0


def inherited_init(x, w):
    s = Shifted(w)
    return np.sum(s.shifted(x) ** 2)


@dataclass
class Params:
    w: np.ndarray
    b: float
    scale: float = 1.0

    def predict(self, X):
        return self.scale * (X @ self.w + self.b)


def dataclass_inside(w, b, X):
    p = Params(w, b)
    q = Params(w * 2.0, b, scale=b)
    return np.sum(np.tanh(p.predict(X))) + np.sum(q.predict(X) ** 2) * 0.1


def dataclass_passed_in(p, X):
    return np.sum(p.predict(X) ** 2)


def dataclass_replace(w, b, X):
    p = Params(w, b)
    p2 = dataclasses.replace(p, b=b * 2)
    return np.sum(p2.predict(X) ** 2)


def dataclass_fields_loop(w, b):
    p = Params(w, b, 2.0)
    total = 0.0
    for f in dataclasses.fields(p):
        total = total + np.sum(getattr(p, f.name) ** 2)
    return total


@dataclass(frozen=True)
class Gauss:
    mu: float
    log_sigma: float

    @property
    def sigma(self):
        return np.exp(self.log_sigma)

    def nll(self, x):
        return np.sum(0.5 * ((x - self.mu) / self.sigma) ** 2 + self.log_sigma)


def frozen_dataclass_property(mu, ls, x):
    return Gauss(mu, ls).nll(x)


Point = namedtuple("Point", "x y")
State = namedtuple("State", ["h", "c"])


class Batch(NamedTuple):
    x: np.ndarray
    y: np.ndarray
    weight: float = 1.0


def namedtuple_inside(a, b):
    p = Point(a, b)
    q = Point(x=b, y=a * 2)
    return np.sum(p.x * q.x) + np.sum(p[1] ** 2) + sum(np.sum(v) for v in q)


def namedtuple_unpack(a, b):
    s = State(np.tanh(a), b)
    h, c = s
    s2 = State(h, c * h)
    return np.sum(s2.c) + np.sum(s2.h**2) + np.sum(s[0] * s[-1])


def namedtuple_replace(a, b):
    s = State(np.tanh(a), b)
    s2 = s._replace(c=s.c * s.h)
    return np.sum(s2.c) + np.sum(s2.h**2)


def lstm_cell(x, state, Wx, Wh, b):
    H = state.h.shape[0]
    a = Wx @ x + Wh @ state.h + b
    i = sigmoid(a[:H])
    f = sigmoid(a[H : 2 * H])
    o = sigmoid(a[2 * H : 3 * H])
    g = np.tanh(a[3 * H :])
    c = f * state.c + i * g
    return State(o * np.tanh(c), c)


def lstm_namedtuple_state(X, Wx, Wh, b):
    H = Wh.shape[1]
    state = State(np.zeros(H), np.zeros(H))
    for x in X:
        state = lstm_cell(x, state, Wx, Wh, b)
    return np.sum(state.h**2) + np.sum(state.c)


def typed_namedtuple(x, y, w):
    batch = Batch(x, y, weight=w)
    other = Batch(y, x)
    return batch.weight * np.sum((batch.x - batch.y) ** 2) + other.weight * np.sum(other.x * other.y)


def namedtuple_passed_in(p, w):
    return np.sum(p.x * w) + np.sum(np.sin(p.y * w))


class Gaussian:
    def __init__(self, mu, log_sigma):
        self.mu = mu
        self.log_sigma = log_sigma

    @property
    def sigma(self):
        return np.exp(self.log_sigma)

    @property
    def var(self):
        return self.sigma**2

    def logpdf(self, x):
        return -0.5 * np.sum((x - self.mu) ** 2) / self.var - x.size * self.log_sigma


def properties(mu, ls, x):
    g = Gaussian(mu, ls)
    return g.logpdf(x) + g.var


class Normalizer:
    def __init__(self, mean, std):
        self.mean = mean
        self.std = std

    @classmethod
    def fit(cls, X):
        return cls(X.mean(axis=0), X.std(axis=0))

    @staticmethod
    def eps():
        return 1e-3

    def __call__(self, X):
        return (X - self.mean) / (self.std + self.eps())


def classmethod_constructor(X, w):
    norm = Normalizer.fit(X)
    return np.sum(np.tanh(norm(X) @ w))


class Vec:
    def __init__(self, a):
        self.a = a

    def __add__(self, other):
        return Vec(self.a + other.a)

    def __mul__(self, s):
        return Vec(self.a * s)

    def __rmul__(self, s):
        return Vec(self.a * s)

    def __len__(self):
        return len(self.a)

    def __getitem__(self, i):
        return self.a[i]

    def norm2(self):
        return np.sum(self.a**2)


def operator_overloading_add(x, y):
    v = Vec(x) + Vec(y) + Vec(x * y)
    return v.norm2() * len(v)


class Vec2(Vec):
    def __matmul__(self, other):
        return np.sum(self.a * other.a)


def user_matmul(x, y):
    return Vec2(x) @ Vec2(y * 2.0)


def user_getitem(x, y):
    v = Vec(x * y)
    return v[0] + v[-1] ** 2


def operator_overloading_mul(x, y, w):
    v = (Vec(x) + Vec(y)) * w + 2.0 * Vec(x)
    return v.norm2() + v[0] * len(v)


class RNN:
    def __init__(self, Wxh, Whh, h0=None):
        self.Wxh = Wxh
        self.Whh = Whh
        if h0 is None:
            h0 = np.zeros(Whh.shape[0])
        self.h0 = h0

    def step(self, h, x):
        return np.tanh(self.Wxh @ x + self.Whh @ h)

    def run(self, xs):
        h = self.h0
        hs = []
        for x in xs:
            h = self.step(h, x)
            hs.append(h)
        return hs


def rnn_object(Wxh, Whh, X):
    rnn = RNN(Wxh, Whh)
    hs = rnn.run(X)
    return sum(np.sum(h**2) for h in hs)


class Model:
    def __init__(self, params, reg=0.1):
        self.params = params
        self.reg = reg
        self.n_params = sum(np.size(p) for p in params.values())

    def loss(self, X, y):
        scores = X @ self.params["W"] + self.params["b"]
        data = np.mean((scores - y) ** 2)
        return data + self.reg * np.sum(self.params["W"] ** 2) / self.n_params


def model_with_param_dict(W, b, X, y):
    model = Model({"W": W, "b": b})
    return model.loss(X, y)


def model_passed_in(model, X, y):
    return model.loss(X, y)


def isinstance_branches(x, w):
    items = [w, x, (x, w), Point(x, w)]
    total = 0.0
    for it in items:
        if isinstance(it, float):
            total = total + it**2
        elif isinstance(it, np.ndarray):
            total = total + np.sum(it)
        elif isinstance(it, Point):
            total = total + np.sum(it.x * it.y)
        elif isinstance(it, tuple):
            total = total + np.sum(it[0]) * it[1]
    return total


class Polynomial:
    def __init__(self, coefs):
        self.coefs = coefs
        self.degree = len(coefs) - 1

    def __call__(self, x):
        return sum(c * x**k for k, c in enumerate(self.coefs))

    def derivative(self):
        return Polynomial([k * c for k, c in enumerate(self.coefs)][1:])


def object_methods_return_objects(c, x):
    p = Polynomial(list(c))
    dp = p.derivative()
    return np.sum(p(x) ** 2) + np.sum(dp(x)) * dp.degree


# =========================================================================================================
# containers


def container_literals(x, w):
    lst = [x[0], x[1] * w, w]
    tup = (x[2], lst[1])
    d = {"a": lst[0], "b": tup, "c": [w, w**2]}
    return lst[-1] * d["a"] + d["b"][1] * d["c"][1] + tup[0]


def slicing_lists(x):
    vals = [np.sin(v) for v in x]
    head, tail = vals[:3], vals[3:]
    evens = vals[::2]
    rev = vals[::-1]
    return sum(head) * 2 + sum(tail) + sum(evens) * rev[0] + sum(rev[1:3])


def array_slicing(X):
    return np.sum(X[1:, ::2] ** 2) + np.sum(X[::-1, 0] * X[:, -1]) + X[-1, -2] + np.sum(X[..., 1:3])


def tuple_unpacking(x, w):
    a, b, c = x[0], x[1], x[2]
    (p, q), r = (a * w, b), c
    a, b = b, a
    u, v = np.split(x[:4], 2)
    return a * b * p + q * r + np.sum(u * v)


def unpack_array_rows(X):
    r0, r1, r2 = X
    return np.sum(r0 * r1) + np.sum(r2**2)


def unpack_shape(X):
    n, d = X.shape
    mu = X.sum(axis=0) / n
    return np.sum((X - mu) ** 2) / (n * d)


def list_comprehensions(x, w):
    sq = [v**2 for v in x]
    pos = [v * w for v in x if v > 0]
    pairs = [a * b for a in x[:3] for b in x[3:]]
    return sum(sq) + sum(pos) + sum(pairs)


def nested_list_comprehension(x):
    table = [[a * b for b in x[:2]] for a in x[:2]]
    return table[0][1] * table[1][0] + sum(sum(row) for row in table)


def dict_comprehensions(x, w):
    d = {i: v * w for i, v in enumerate(x)}
    inv = {k: 1.0 / (1.0 + val**2) for k, val in d.items() if k % 2 == 0}
    return sum(d.values()) + sum(inv.values()) + d[len(x) - 1]


def generator_expressions(X, w):
    total = sum(np.dot(row, w) ** 2 for row in X)
    biggest = max(np.sum(row) for row in X)
    return total + biggest + np.sum(np.array(list(np.tanh(v) for v in w)))


def list_methods(x, w):
    out = []
    for v in x:
        out.append(np.tanh(v * w))
    out.extend([w, w**2])
    out.extend(x[:2])
    out.insert(0, x[-1] ** 2)
    out.insert(-1, 3.0 * w)
    last = out.pop()
    first = out.pop(0)
    mid = out.pop(2)
    return sum(out) + last * first - mid


def list_as_stack(x):
    stack = []
    total = 0.0
    for v in x:
        if v > 0.5 and stack:
            total = total + stack.pop() * v
        else:
            stack.append(v**2)
    return total + sum(stack)


def reversed_and_len(x):
    vals = [v * (i + 1) for i, v in enumerate(x)]
    acc = 0.0
    for v in reversed(vals):
        acc = 0.5 * acc + v
    return acc * len(vals)


def dict_writes(x, w):
    d = {}
    d["a"] = x * w
    d["b"] = np.sum(d["a"])
    d["a"] = d["a"] + 1.0
    return np.sum(d["a"] ** 2) + d.get("b", 0.0) + d.get("missing", w)


def dict_get_defaults(x, w):
    cfg = {"scale": w}
    s = cfg.get("scale", 1.0)
    t = cfg.get("shift", 0.25)
    hs = {"a": x}
    return np.sum(np.tanh(s * x + t)) + np.sum(hs.get("a") ** 2) + ("a" in hs) * w


def dict_nested(x, y):
    net = {"layer1": {"W": x, "b": y}, "layer2": {"W": y, "b": x}}
    total = 0.0
    for name, layer in net.items():
        total = total + np.sum(layer["W"] * layer["b"]) * len(name)
    return total + np.sum(net["layer1"]["W"] ** 2)


def dict_tuple_keys(X):
    d = {(i, j): X[i, j] ** 2 for i in range(X.shape[0]) for j in range(X.shape[1])}
    return sum(d[i, j] * (i - j + 0.5) for (i, j) in d)


def dict_from_zip(x, y):
    names = ["a", "b", "c"]
    d = dict(zip(names, [x, y, x * y]))
    e = dict(a=x, b=2.0)
    return np.sum(d["c"]) + np.sum(d["a"] * e["a"]) * e["b"]


def np_array_of_scalars(x, w):
    feats = np.array([x[0] * w, x[1] ** 2, np.sin(x[2]), w])
    return np.sum(feats**2)


def np_array_of_arrays(a, b):
    M = np.array([a, b, a * b])
    return np.sum(M @ M.T)


def stack_concat(a, b):
    S = np.stack([a, b], axis=1)
    C = np.concatenate([a, b, a[:2]])
    V = np.vstack([a, b])
    H = np.hstack((a, b))
    return np.sum(S**2) + np.sum(np.sin(C)) + np.sum(V[1] * V[0]) + np.sum(H)


def stack_list_built_in_loop(X, w):
    outs = []
    for row in X:
        outs.append(np.tanh(row * w))
    M = np.stack(outs)
    return np.sum(M**2) + np.sum(np.concatenate(outs)[::2])


def list_concat_repeat(x, w):
    items = [w] * 3 + [x[0], x[1]]
    items = items + [w**2]
    more = list(x) + list((w, w))
    return sum(items) + sum(v**2 for v in more) + len(items)


def tuple_conversions(x):
    t = tuple(np.sin(x))
    l = list(t)
    return sum(l) + t[0] * t[-1]


def in_operator(x, w):
    keys = ["a", "b"]
    d = {"a": x, "c": w}
    total = 0.0
    for k in keys:
        if k in d:
            total = total + np.sum(d[k])
        if k not in d:
            total = total + w
    return total


def list_of_dicts(x, y):
    records = [{"v": x, "w": 1.0}, {"v": y, "w": 2.0}, {"v": x * y, "w": 0.5}]
    return sum(r["w"] * np.sum(r["v"] ** 2) for r in records)


# =========================================================================================================
# mutation


def setitem_on_copy(x, w):
    y = x.copy()
    y[0] = w * y[1]
    y[-1] = np.sin(w)
    return np.sum(y**2)


def setitem_on_argument(x):
    x[0] = 2.0 * x[1]
    x[2:4] = x[4:6] ** 2
    return np.sum(np.sin(x))


def augmented_item(x, w):
    y = np.array(x)
    y[1] += w
    y[2] *= w
    y[0] -= y[3] * 2
    y[-1] /= 1.0 + w**2
    return np.sum(y**2)


def mask_assign_zero(x):
    y = x.copy()
    y[y < 0] = 0
    return np.sum(y**2) + np.sum(y * x)


def mask_assign_array(x, w):
    y = x * w
    mask = np.abs(y) > 1.0
    y[mask] = np.tanh(y[mask])
    return np.sum(y**2)


def mask_rows_augmented(X):
    Y = X.copy()
    Y[Y.sum(axis=1) > 0] *= 0.5
    return np.sum(Y**3)


def column_scale(X, s):
    Y = X.copy()
    Y[:, 1] *= s
    Y[:, 0] += Y[:, 2]
    Y[0, :] = 0.5 * Y[1, :]
    return np.sum(Y**2)


def augmented_arrays(x, y):
    z = x.copy()
    z += y
    z *= 2.0
    z -= x * y
    z /= 1.0 + y**2
    z **= 2
    return np.sum(z)


def augmented_argument(x):
    x += 1.0
    x *= x
    return np.sum(np.sqrt(x + 1.0))


def fancy_index_writes(x, w):
    y = np.zeros(6)
    y[[0, 2, 4]] = x[:3] * w
    y[np.array([1, 5])] = x[3:5] ** 2
    y[3] = w
    return np.sum(np.sin(y))


def ellipsis_writes(X, w):
    Y = np.ones((2, 3, 2))
    Y[..., 0] = X * w
    Y[:, np.newaxis, 1, 1] = w**2
    return np.sum(Y**2)


def cumsum_inplace(x):
    y = x.copy()
    for i in range(1, len(y)):
        y[i] += y[i - 1]
    return np.sum(y**2)


def overlapping_slice_update(x):
    y = x.copy()
    y[1:] -= y[:-1]
    return np.sum(y**2)


def fill_lower_triangle(x):
    L = np.zeros((3, 3))
    k = 0
    for i in range(3):
        for j in range(i + 1):
            L[i, j] = x[k]
            k += 1
    L[np.arange(3), np.arange(3)] = np.exp(np.diag(L))
    S = L @ L.T
    return np.log(np.linalg.det(S)) + np.trace(S)


def list_item_writes(x, w):
    vals = [0.0] * len(x)
    for i in range(len(x)):
        vals[i] = x[i] * w
    vals[0] = vals[-1] ** 2
    vals[1] += w
    return sum(vals)


def dict_item_writes(x):
    cache = {}
    for i in range(len(x)):
        cache[i] = np.sin(x[i])
    cache[0] += cache[1]
    cache["sum"] = sum(cache[i] for i in range(len(x)))
    return cache["sum"] * cache[0]


def preallocate_rows(X, W):
    out = np.empty((X.shape[0], W.shape[1]))
    for i in range(X.shape[0]):
        out[i] = np.tanh(X[i] @ W)
    return np.sum(out**2)


def preallocate_outer(x, y):
    out = np.zeros((len(x), len(y)))
    for i in range(len(x)):
        for j in range(len(y)):
            out[i, j] = np.exp(-((x[i] - y[j]) ** 2))
    return np.sum(out) + np.trace(out[:2, :2])


def pairwise_dists_two_loops(X, Y):
    num_test, num_train = X.shape[0], Y.shape[0]
    dists = np.zeros((num_test, num_train))
    for i in range(num_test):
        for j in range(num_train):
            dists[i, j] = np.sqrt(np.sum((X[i] - Y[j]) ** 2))
    return np.sum(dists)


def pairwise_dists_one_loop(X, Y):
    dists = np.zeros((X.shape[0], Y.shape[0]))
    for i in range(X.shape[0]):
        dists[i, :] = np.sqrt(np.sum((Y - X[i]) ** 2, axis=1))
    return np.sum(dists**2) + np.sum(dists)


def svm_loss_naive(W, X, y, reg):
    num_classes = W.shape[1]
    num_train = X.shape[0]
    loss = 0.0
    for i in range(num_train):
        scores = X[i].dot(W)
        correct_class_score = scores[y[i]]
        for j in range(num_classes):
            if j == y[i]:
                continue
            margin = scores[j] - correct_class_score + 1
            if margin > 0:
                loss += margin
    loss /= num_train
    loss += reg * np.sum(W * W)
    return loss


def softmax_loss_naive(W, X, y, reg):
    loss = 0.0
    num_train = X.shape[0]
    for i in range(num_train):
        scores = X[i].dot(W)
        scores -= np.max(scores)
        probs = np.exp(scores) / np.sum(np.exp(scores))
        loss += -np.log(probs[y[i]])
    loss /= num_train
    loss += 0.5 * reg * np.sum(W * W)
    return loss


def softmax_loss_vectorized(W, X, y, reg):
    N = X.shape[0]
    scores = X.dot(W)
    scores -= scores.max(axis=1, keepdims=True)
    probs = np.exp(scores)
    probs /= probs.sum(axis=1, keepdims=True)
    loss = -np.sum(np.log(probs[np.arange(N), y])) / N
    return loss + reg * np.sum(W * W)


def affine_forward_naive(x, w, b):
    N = x.shape[0]
    out = np.zeros((N, w.shape[1]))
    for i in range(N):
        out[i] = x[i].reshape(-1).dot(w) + b
    return np.sum(np.maximum(0, out) ** 2)


def conv_forward_naive(x, w, b):
    N, C, H, W = x.shape
    F, _, HH, WW = w.shape
    pad, stride = 1, 1
    x_pad = np.pad(x, ((0, 0), (0, 0), (pad, pad), (pad, pad)), mode="constant")
    H_out = 1 + (H + 2 * pad - HH) // stride
    W_out = 1 + (W + 2 * pad - WW) // stride
    out = np.zeros((N, F, H_out, W_out))
    for n in range(N):
        for f in range(F):
            for i in range(H_out):
                for j in range(W_out):
                    window = x_pad[n, :, i * stride : i * stride + HH, j * stride : j * stride + WW]
                    out[n, f, i, j] = np.sum(window * w[f]) + b[f]
    return np.sum(out**2)


def max_pool_naive(x):
    N, C, H, W = x.shape
    ph, pw, s = 2, 2, 2
    H_out, W_out = 1 + (H - ph) // s, 1 + (W - pw) // s
    out = np.zeros((N, C, H_out, W_out))
    for n in range(N):
        for c in range(C):
            for i in range(H_out):
                for j in range(W_out):
                    out[n, c, i, j] = np.max(x[n, c, i * s : i * s + ph, j * s : j * s + pw])
    return np.sum(out**2)


def batchnorm_forward(x, gamma, beta):
    eps = 1e-5
    mu = x.mean(axis=0)
    xc = x - mu
    var = np.mean(xc**2, axis=0)
    xhat = xc / np.sqrt(var + eps)
    out = gamma * xhat + beta
    weights = 1.0 + 0.5 * np.cos(np.arange(out.size)).reshape(out.shape)
    return np.sum(out**2 * weights)


def rnn_forward_naive(x, h0, Wx, Wh, b):
    N, T, D = x.shape
    H = h0.shape[1]
    h = np.zeros((N, T, H))
    prev = h0
    for t in range(T):
        prev = np.tanh(x[:, t, :] @ Wx + prev @ Wh + b)
        h[:, t, :] = prev
    return np.sum(h**2)


def word_embedding_forward(x, W):
    out = W[x]
    return np.sum(np.tanh(out) * np.cos(np.arange(out.size)).reshape(out.shape))


def temporal_softmax_loss(x, y, mask):
    N, T, V = x.shape
    x_flat = x.reshape(N * T, V)
    y_flat = y.reshape(N * T)
    mask_flat = mask.reshape(N * T)
    probs = np.exp(x_flat - np.max(x_flat, axis=1, keepdims=True))
    probs /= np.sum(probs, axis=1, keepdims=True)
    return -np.sum(mask_flat * np.log(probs[np.arange(N * T), y_flat])) / N


def dropout_fixed_mask(x, w, mask):
    p = 0.5
    h = np.tanh(x @ w)
    h = h * mask / p
    return np.sum(h**2)


def two_layer_net(X, W1, b1, W2, b2, y):
    N = X.shape[0]
    hidden = np.maximum(0, X.dot(W1) + b1)
    scores = hidden.dot(W2) + b2
    scores -= np.max(scores, axis=1, keepdims=True)
    exp_scores = np.exp(scores)
    probs = exp_scores / np.sum(exp_scores, axis=1, keepdims=True)
    correct_logprobs = -np.log(probs[range(N), y])
    data_loss = np.sum(correct_logprobs) / N
    reg_loss = 0.5 * 0.05 * (np.sum(W1 * W1) + np.sum(W2 * W2))
    return data_loss + reg_loss


def char_rnn_loss(inputs, targets, hprev, Wxh, Whh, Why, bh, by):
    """min-char-rnn's lossFun, forward pass, verbatim apart from ``xs[t][inputs[t]] = 1``."""
    xs, hs, ys, ps = {}, {}, {}, {}
    hs[-1] = np.copy(hprev)
    loss = 0
    vocab_size = Wxh.shape[1]
    for t in range(len(inputs)):
        x = np.zeros((vocab_size, 1))
        x[inputs[t]] = 1
        xs[t] = x
        hs[t] = np.tanh(np.dot(Wxh, xs[t]) + np.dot(Whh, hs[t - 1]) + bh)
        ys[t] = np.dot(Why, hs[t]) + by
        ps[t] = np.exp(ys[t]) / np.sum(np.exp(ys[t]))
        loss += -np.log(ps[t][targets[t], 0])
    return loss


def char_rnn_loss_separate_dicts(inputs, targets, hprev, Wxh, Whh, Why, bh, by):
    xs = {}
    hs = {}
    ys = {}
    ps = {}
    hs[-1] = np.copy(hprev)
    loss = 0
    vocab_size = Wxh.shape[1]
    for t in range(len(inputs)):
        x = np.zeros((vocab_size, 1))
        x[inputs[t]] = 1
        xs[t] = x
        hs[t] = np.tanh(np.dot(Wxh, xs[t]) + np.dot(Whh, hs[t - 1]) + bh)
        ys[t] = np.dot(Why, hs[t]) + by
        ps[t] = np.exp(ys[t]) / np.sum(np.exp(ys[t]))
        loss += -np.log(ps[t][targets[t], 0])
    return loss


def char_rnn_loss_eye(inputs, targets, hprev, Wxh, Whh, Why, bh, by):
    xs = {}
    hs = {}
    ys = {}
    ps = {}
    hs[-1] = np.copy(hprev)
    loss = 0
    vocab_size = Wxh.shape[1]
    for t in range(len(inputs)):
        xs[t] = np.eye(vocab_size)[:, [inputs[t]]]
        hs[t] = np.tanh(np.dot(Wxh, xs[t]) + np.dot(Whh, hs[t - 1]) + bh)
        ys[t] = np.dot(Why, hs[t]) + by
        ps[t] = np.exp(ys[t]) / np.sum(np.exp(ys[t]))
        loss += -np.log(ps[t][targets[t], 0])
    return loss


def lstm_dicts_by_time(X, Wx, Wh, b):
    H = Wh.shape[1]
    hs = {}
    cs = {}
    hs[-1] = np.zeros(H)
    cs[-1] = np.zeros(H)
    loss = 0.0
    for t in range(X.shape[0]):
        a = Wx @ X[t] + Wh @ hs[t - 1] + b
        i = sigmoid(a[:H])
        f = sigmoid(a[H : 2 * H])
        o = sigmoid(a[2 * H : 3 * H])
        g = np.tanh(a[3 * H :])
        cs[t] = f * cs[t - 1] + i * g
        hs[t] = o * np.tanh(cs[t])
        loss += np.sum(hs[t] ** 2)
    return loss


def char_rnn_dict_writes_later(xs, Wxh, Whh):
    hs = {}
    hs[-1] = np.zeros(Whh.shape[0])
    for t in range(len(xs)):
        hs[t] = np.tanh(Wxh * xs[t] + Whh @ hs[t - 1])
    hs[0] = hs[0] * 2.0
    hs[len(xs) - 1] += hs[0]
    return sum(np.sum(hs[t] ** 2) for t in range(len(xs)))


# =========================================================================================================
# exceptions and context managers


def try_except_keyerror(x, w):
    table = {"a": x}
    try:
        b = table["b"]
    except KeyError:
        b = x * w
    return np.sum(table["a"] * b)


def try_except_else_finally(x, w):
    total = 0.0
    try:
        total = total + np.sum(x**2)
    except ValueError:
        total = -1.0
    else:
        total = total * w
    finally:
        total = total + w
    return total


def raise_and_catch_in_loop(x, w):
    total = 0.0
    for v in x:
        try:
            if v > 1.0:
                raise ValueError("too big")
            total = total + np.sin(v * w)
        except ValueError:
            total = total + w
    return total


def checked_log(v):
    if v <= 0:
        raise ValueError(f"log of {v}")
    return np.log(v)


def exception_from_callee(x, w):
    total = 0.0
    for v in x:
        try:
            total = total + checked_log(v) * w
        except ValueError as e:
            msg = str(e)
            total = total + v * w * (len(msg) > 0)
    return total


def try_index_error(x):
    total = 0.0
    i = 0
    done = False
    while not done:
        try:
            v = x[i]
        except IndexError:
            done = True
        else:
            total = total + v**2 * (i + 1)
            i += 1
    return total


def try_zero_division(x, w):
    total = 0.0
    for v in x:
        n = int(v > 0)
        try:
            r = w / n
        except ZeroDivisionError:
            r = w**2
        total = total + r * v
    return total


def try_finally_only(x, w):
    total = 0.0
    try:
        total = np.sum(np.tanh(x * w))
    finally:
        total = total * 2.0
    return total


def errstate_safe_divide(x, y):
    with np.errstate(divide="ignore", invalid="ignore"):
        ratio = x / y
        logs = np.log(np.abs(y))
    return np.sum(np.tanh(ratio)) + np.sum(logs * x)


def errstate_where_sqrt(x):
    with np.errstate(invalid="ignore"):
        r = np.where(x > 0, np.sqrt(x), 0.0)
    return np.sum(r * x)


class Recorder:
    def __init__(self):
        self.log = []

    def __enter__(self):
        self.log.append("enter")
        return self

    def __exit__(self, *exc):
        self.log.append("exit")
        return False


def user_context_manager(x, w):
    with Recorder() as rec:
        y = np.sin(x * w)
    return np.sum(y**2) * len(rec.log)


@contextlib.contextmanager
def scope(name, out):
    print(f"enter {name}", file=out)
    yield out
    print(f"exit {name}", file=out)


def generator_context_manager(x, w):
    buf = io.StringIO()
    with scope("layer", buf) as out, np.errstate(all="ignore"):
        print("inside", file=out)
        y = np.tanh(x) * w
    return np.sum(y**2)


def suppress_context(x, w):
    d = {"a": w}
    total = np.sum(x**2)
    with contextlib.suppress(KeyError):
        total = total + d["missing"]
    with contextlib.suppress(KeyError):
        total = total + d["a"] * np.sum(x)
    return total


def with_asserts(x, w):
    assert x.ndim == 1, "x must be a vector"
    assert w > 0, f"w must be positive, got {w}"
    y = np.log(w) * x
    assert np.all(np.isfinite(y))
    return np.sum(y**2)


def prints_progress(x, w):
    buf = io.StringIO()
    total = 0.0
    for i, v in enumerate(x):
        total = total + np.cos(v * w)
        print(f"step {i}: v={v:.3f} total={float(total):+.4f} {x.shape}", file=buf)
    print("done", total, sep=" | ", file=buf)
    msg = f"{w!r:>10}" + "%.2f" % total  # noqa: UP031
    return total * (len(msg) > 0)


def nested_with_and_try(x, w):
    total = 0.0
    with np.errstate(over="ignore"):
        for v in x:
            try:
                total = total + np.exp(v) * w
            finally:
                total = total * 0.9
    return total


# =========================================================================================================
# everyday numerics


def logistic_regression_loss(w, b, X, y):
    p = sigmoid(X @ w + b)
    return -np.mean(y * np.log(p) + (1 - y) * np.log(1 - p))


def logsumexp_stable(x):
    m = np.max(x)
    return m + np.log(np.sum(np.exp(x - m)))


def layer_norm(x, g, b):
    mu = x.mean(axis=-1, keepdims=True)
    var = x.var(axis=-1, keepdims=True)
    y = (x - mu) / np.sqrt(var + 1e-5) * g + b
    return np.sum(np.tanh(y) * np.cos(np.arange(y.size)).reshape(y.shape))


def attention(Q, K, V):
    d = Q.shape[-1]
    scores = Q @ K.T / np.sqrt(d)
    scores = scores - scores.max(axis=1, keepdims=True)
    w = np.exp(scores)
    w = w / w.sum(axis=1, keepdims=True)
    return np.sum((w @ V) ** 2)


def gaussian_kernel(X, ls):
    sq = np.sum(X**2, 1)[:, None] + np.sum(X**2, 1)[None, :] - 2 * X @ X.T
    K = np.exp(-0.5 * sq / ls**2) + 0.1 * np.eye(len(X))
    return np.linalg.slogdet(K)[1] + np.sum(np.linalg.solve(K, np.ones(len(X))))


def huber(x, delta):
    a = np.abs(x)
    return np.sum(np.where(a < delta, 0.5 * x**2, delta * (a - 0.5 * delta)))


def gru_loop(X, Wz, Wr, Wh):
    H = Wz.shape[0]
    h = np.zeros(H)
    for x in X:
        hx = np.concatenate([h, x])
        z = sigmoid(Wz @ hx)
        r = sigmoid(Wr @ hx)
        cand = np.tanh(Wh @ np.concatenate([r * h, x]))
        h = (1 - z) * h + z * cand
    return np.sum(h**2)


def polynomial_features(x):
    feats = [x**k / math.factorial(k) for k in range(5)]
    return np.sum(np.stack(feats) ** 2)


def cosine_similarity(a, b):
    return np.dot(a, b) / (np.linalg.norm(a) * np.linalg.norm(b))


def einsum_bilinear(x, A, y):
    return np.einsum("i,ij,j->", x, A, y) + np.einsum("ij,ij->", A, A)


def cumulative_ops(x):
    return np.sum(np.cumsum(x) ** 2) + np.sum((x[1:] - x[:-1]) ** 2) + np.prod(x[:3])


def clip_and_maximum(x):
    return np.sum(np.clip(x, -1, 1) ** 2) + np.sum(np.maximum(x, 0.0) * x) + np.sum(np.minimum(x, 0.2))


def linalg_mix(A, b):
    S = A @ A.T + np.eye(len(A))
    x = np.linalg.solve(S, b)
    return x @ b + np.log(np.linalg.det(S)) + np.trace(np.linalg.inv(S))


def cholesky_logdet(A):
    S = A @ A.T + 3.0 * np.eye(A.shape[0])
    L = np.linalg.cholesky(S)
    return 2.0 * np.sum(np.log(np.diag(L)))


def reshape_transpose(X):
    Y = X.transpose(2, 0, 1).reshape(4, 6)
    return np.sum(Y @ Y.T) + np.sum(np.swapaxes(X, 0, 1)[0] ** 2)


def broadcasting(x, y):
    return np.sum(np.exp(-((x - y) ** 2))) + np.sum(x * y[None, :])


def roll_flip(x):
    return np.sum(x * np.roll(x, 1)) + np.sum(np.flip(x) * np.arange(len(x)))


def sort_and_argmax(x):
    s = np.sort(x)
    i = np.argmax(x)
    return np.sum(s * np.arange(len(s))) + x[i] ** 2


def take_and_fancy(X, idx):
    return np.sum(X[idx] ** 2) + np.sum(np.take(X, [0, 2], axis=1))


def outer_triangles(x):
    O = np.outer(x, x)
    return np.sum(np.triu(O)) + np.sum(np.tril(O, -1) ** 2)


def norm_axis(X):
    return np.sum(np.linalg.norm(X, axis=1)) + np.linalg.norm(X)


def mean_keepdims(X):
    Xc = X - X.mean(axis=0, keepdims=True)
    return np.sum(Xc**2) / X.std()


def power_and_special(x):
    return (
        np.sum(x**x)
        + np.sum(np.power(x, 2.5))
        + np.sum(np.log1p(x) * np.expm1(-x))
        + np.sum(np.arctan2(x, 1 + x))
        + np.sum(np.hypot(x, 1.0))
    )


def math_module(a, b):
    return math.exp(-a * a) + math.sqrt(b) * math.sin(a) + math.log(b) + math.tanh(a * b)


SCALE = 2.5


def reads_module_constants(x):
    return np.sum(np.sin(SCALE * x)) * np.pi + math.e


# =========================================================================================================
# more of the same, found while exploring (several of these expose bugs, see the xfail reasons below)


def loop_lambdas(x, ws):
    fs = []
    for w in ws:
        fs.append(lambda t: t * w)
    return sum(np.sum(f(x) ** 2) for f in fs)


def loop_defs(x, ws):
    fs = []
    for i in range(len(ws)):

        def f(t):
            return t * ws[i]

        fs.append(f)
    return sum(np.sum(f(x) ** 2) for f in fs)


def closure_sees_item_write(x):
    y = x.copy()

    def total():
        return np.sum(y**2)

    y[0] = 5.0
    return total()


def deep_closures(x, a, b):
    def outer(t):
        def middle(u):
            def inner(v):
                return a * v + b * t + u

            return inner(u * 2.0)

        return middle(t**2)

    return np.sum(outer(x))


def def_time_default(x, w):
    def g(t, scale=w * 2.0):
        return np.sum(np.sin(scale * t))

    return g(x) + g(x, scale=w)


def lambda_default_capture(x, w):
    kept = list(filter(lambda v: v > 0, x))
    scale = lambda v, s=w: v * s
    return sum(scale(v) for v in kept) + len(kept)


make_power = lambda k: lambda x: np.sum(x**k)  # noqa: E731
lambda_from_lambda_factory = make_power(3)


def fstring_keys(x, y):
    params = {}
    for i, v in enumerate([x, y]):
        params[f"W{i + 1}"] = v * (i + 1)
        params["b%d" % (i + 1)] = np.sum(v)  # noqa: UP031
    total = 0.0
    for i in range(2):
        total = total + np.sum(params[f"W{i + 1}"] ** 2) * params["b{}".format(i + 1)]  # noqa: UP032
    return total


def affine_forward(x, w, b):
    out = x.reshape(x.shape[0], -1).dot(w) + b
    cache = (x, w, b)
    return out, cache


def relu_forward(x):
    out = np.maximum(0, x)
    cache = x
    return out, cache


def affine_relu_forward(x, w, b):
    a, fc_cache = affine_forward(x, w, b)
    out, relu_cache = relu_forward(a)
    cache = (fc_cache, relu_cache)
    return out, cache


def cs231n_layers_with_caches(x, w1, b1, w2, b2):
    h, cache1 = affine_relu_forward(x, w1, b1)
    scores, cache2 = affine_forward(h, w2, b2)
    caches = {"l1": cache1, "l2": cache2}
    return np.sum(scores**2) + 0.0 * len(caches)


def fully_connected_net(X, W1, b1, W2, b2, W3, b3):
    params = {"W1": W1, "b1": b1, "W2": W2, "b2": b2, "W3": W3, "b3": b3}
    num_layers = 3
    h = X
    caches = {}
    for i in range(1, num_layers):
        h, caches[i] = affine_relu_forward(h, params[f"W{i}"], params[f"b{i}"])
    scores, caches[num_layers] = affine_forward(h, params[f"W{num_layers}"], params[f"b{num_layers}"])
    reg = 0.0
    for i in range(1, num_layers + 1):
        reg += 0.5 * 0.1 * np.sum(params[f"W{i}"] ** 2)
    return np.sum(np.tanh(scores)) + reg


def fully_connected_net_two_step(X, W1, b1, W2, b2, W3, b3):
    params = {"W1": W1, "b1": b1, "W2": W2, "b2": b2, "W3": W3, "b3": b3}
    num_layers = 3
    h = X
    caches = {}
    for i in range(1, num_layers):
        h, cache = affine_relu_forward(h, params[f"W{i}"], params[f"b{i}"])
        caches[i] = cache
    scores, cache = affine_forward(h, params[f"W{num_layers}"], params[f"b{num_layers}"])
    caches[num_layers] = cache
    reg = 0.0
    for i in range(1, num_layers + 1):
        reg += 0.5 * 0.1 * np.sum(params[f"W{i}"] ** 2)
    return np.sum(np.tanh(scores)) + reg


def ndindex_fill(X):
    out = np.zeros_like(X)
    for i, j in np.ndindex(X.shape):
        out[i, j] = np.sin(X[i, j]) * (i + 1)
    return np.sum(out**2)


def ndindex_tuple_index(X):
    total = 0.0
    for idx in np.ndindex(X.shape):
        total = total + X[idx] ** 2 * (idx[0] + 1)
    return total


def itertools_combinations(x):
    total = 0.0
    for i, j in itertools.combinations(range(len(x)), 2):
        total = total + x[i] * x[j]
    return total


def itertools_product_chain(x):
    total = 0.0
    for a, b in itertools.product(x[:2], x[2:]):
        total = total + a * b**2
    for v in itertools.chain(x[:2], [x[-1]]):
        total = total + v
    return total


def zip_star_transpose(X):
    rows = [list(r) for r in X]
    cols = list(zip(*rows))
    return sum(c[0] * c[-1] for c in cols)


def for_over_iter(x, w):
    total = 0.0
    for v in iter([w, 2.0, x[0]]):
        total = total + v * x[1]
    return total


def next_of_iter(x, w):
    it = iter(x)
    first = next(it)
    second = next(it)
    d = {"a": w}
    only = next(iter(d.values()))
    return first * second + only * first


def float_conversions(x):
    b = float(x[1])
    return x[0] * b + float(np.sum(x)) ** 2


def item_and_np_float64(x):
    a = x[0].item()
    c = np.float64(x[2])
    return a * x[1] + c**2


def astype_asarray(x):
    y = x.astype(np.float64)
    z = np.asarray([x[0], x[1]])
    return np.sum(y**2) + np.sum(z * 3.0)


def rec_memo(x, n, memo):
    if n in memo:
        return memo[n]
    if n < 2:
        val = x * (n + 1)
    else:
        val = rec_memo(x, n - 1, memo) * 0.5 + np.sin(rec_memo(x, n - 2, memo))
    memo[n] = val
    return val


def memoized_recursion(x):
    return np.sum(rec_memo(x, 6, {}))


class Net:
    scale = 2.0

    def __init__(self, W):
        self.W = W

    def loss_fn(self):
        def loss(x):
            return np.sum((self.W @ x) ** 2) * self.scale

        return loss

    def step(self, h, x):
        return np.tanh(self.W @ h + x)


def method_closure_and_bound_methods(W, x, X):
    net = Net(W)
    f = net.loss_fn()
    h = functools.reduce(net.step, X, x)
    hs = list(map(lambda r: net.step(x, r), X))
    return f(x) + np.sum(h) + sum(np.sum(v) for v in hs)


def class_attribute_constants(x, w):
    net = Net(np.eye(2) * w)
    return net.scale * np.sum(net.step(x, x))


def hasattr_getattr(x, w):
    p = Net(w * np.eye(2))
    total = 0.0
    if hasattr(p, "W"):
        total = total + np.sum(getattr(p, "W") @ x)
    total = total + getattr(p, "missing", 1.5) * w
    return total


class Sequential:
    def __init__(self, *layers):
        self.layers = list(layers)

    def __iter__(self):
        return iter(self.layers)

    def __len__(self):
        return len(self.layers)

    def __getitem__(self, i):
        return self.layers[i]


def iterate_user_container(x, a, b):
    seq = Sequential(lambda t: np.tanh(a * t), lambda t: t * b, np.sin)
    h = x
    for f in seq:
        h = f(h)
    return np.sum(h) * len(seq) + np.sum(seq[1](x))


def index_user_container(x, a, b):
    seq = Sequential(lambda t: np.tanh(a * t), lambda t: t * b, np.sin)
    h = x
    for i in range(len(seq)):
        h = seq[i](h)
    return np.sum(h)


class ShapeError(ValueError):
    pass


def custom_exceptions(x, w):
    total = 0.0
    for i in range(3):
        try:
            if i == 1:
                raise ShapeError(f"bad shape at {i}")
            total = total + np.sum(x) * w * i
        except (KeyError, ShapeError) as err:
            total = total + w**2 * len(str(err)) / 10.0
    return total


def fstring_debug(x, w):
    buf = io.StringIO()
    total = np.sum(x * w)
    print(f"{total=:.3f} {w=} {x.shape=}", file=buf)
    with np.printoptions(precision=3, suppress=True):
        print(x, file=buf)
    return total


def while_else(x):
    i = 0
    total = 0.0
    while i < len(x):
        if x[i] > 2.5:
            break
        total = total + x[i] ** 2
        i += 1
    else:
        total = total + 1.0
    return total


def loop_over_string(x, y):
    d = {"a": x, "b": y, "c": x - y}
    total = 0.0
    for ch in "abc":
        total = total + np.sum(d[ch] ** 2)
    return total


def reversed_range(x):
    total = 0.0
    for i in range(len(x) - 1, 0, -1):
        total = total * 0.5 + x[i] * x[i - 1]
    return total


def sorted_items_loop(x):
    d = {"z": x[0], "a": x[1], "m": x[2]}
    total = 0.0
    for k, v in sorted(d.items()):
        total = total + v**2 * ord(k) / 100.0
    return total


def sorted_scalars(u, v, w):
    s = sorted([u * v, v * w, w * u])
    return s[0] * s[1] ** 2 + s[2]


def numpy_bool_conditions(x):
    total = 0.0
    if (x > -10).all() and np.any(x > 0):
        total = total + np.sum(x**2)
    if np.all(x > 5):
        total = total * 0.0
    if x.any():
        total = total + x.max()
    return total


def builtin_max_over_array(x):
    return max(x) ** 2 + min(x) + sum(x, 1.0) + abs(x).sum()


def itemgetter_sort(x, w):
    pairs = [(v * w, i) for i, v in enumerate(x)]
    pairs = sorted(pairs, key=operator.itemgetter(0))
    return sum(p[0] * (j + 1) for j, p in enumerate(pairs))


def laplacian_stencil(u):
    n = len(u)
    lap = np.zeros_like(u)
    for i in range(1, n - 1):
        lap[i] = u[i - 1] - 2 * u[i] + u[i + 1]
    lap[0] = u[1] - u[0]
    lap[-1] = u[-2] - u[-1]
    return np.sum(lap**2)


def fancy_augmented(x, w):
    y = x.copy()
    idx = np.array([0, 2, 3])
    y[idx] += w
    y[x > 0] *= 2.0
    y[1:3] **= 2
    return np.sum(y**2)


def column_loop_writes(X, s):
    Y = np.zeros_like(X)
    for j in range(X.shape[1]):
        Y[:, j] = X[:, j] * (j + s)
    Y[:, 0] *= s
    return np.sum(np.tanh(Y))


def reverse_slice_and_mask_writes(x):
    y = np.zeros_like(x)
    y[::-1] = x * 2.0
    Y = np.outer(x, x)
    Y[Y > 0] = np.sqrt(Y[Y > 0])
    return np.sum(y * x) + np.sum(Y)


def grads_dict_cs231n(X, W1, W2):
    grads = {}
    h = np.tanh(X @ W1)
    out = h @ W2
    loss = np.sum(out**2)
    grads["W2"] = h.T @ (2 * out)
    grads["W1"] = X.T @ ((2 * out) @ W2.T * (1 - h**2))
    return loss + 0.01 * sum(np.sum(g**2) for g in grads.values())


def captured_row_in_loop_body_def(x, W):
    total = 0.0
    for row in W:

        def proj(v):
            return np.dot(row, v)

        total = total + proj(x) ** 2
    return total


def sum_with_start_and_len(x):
    parts = [x[:2], x[2:4]]
    return np.sum(sum(parts, np.zeros(2)) ** 2) + len(parts)


def tuple_return_unpack(x, w):
    def stats(v):
        return v.mean(), v.std(), v.size

    m, s, n = stats(x * w)
    return m * s + n


def nested_tuple_targets(x, w):
    total = 0.0
    for i, (a, (b, c)) in enumerate(zip(x, zip(x * w, x**2))):
        total = total + a * b + c * i
    return total


def tuple_compare(x, y):
    a = (np.sum(x), 1)
    b = (np.sum(y), 2)
    return np.sum(x * y) if a < b else np.sum(x - y)


def numpy_reductions_of_lists(x, y):
    s = np.sum([x[0], y[1], x[2] * y[0]])
    m = np.mean([x, y, x * y], axis=0)
    return s + np.sum(m**2) + np.max([x[0], y[0] + 5.0])


def array_times_list(x, y):
    weights = [0.5, 1.0, 2.0]
    return np.sum(x * weights) + np.sum(np.array([y[0], y[1], y[2]]) * [y[2], 1.0, x[0]])


def dot_and_pow_with_lists(x):
    return np.dot([x[0], x[1]], [2.0, 3.0]) + np.sum(x[:2] ** [1.0, 2.0]) + x[:2] @ [1.0, -1.0]


def argsort_gather(x):
    order = np.argsort(x)
    idx = np.where(x > 0)[0]
    return np.sum(x[order] * np.arange(len(x))) + np.sum(x[idx] ** 2)


def method_chains(X, w):
    return X.reshape(2, 3).T.dot(w).clip(-1.0, 1.0).sum() + X.var(ddof=1) + X.mean(0).max()


def object_closure_passed(layer, x):
    f = lambda v: layer(v) ** 2
    return np.sum(f(x))


def method_as_key(X):
    return max(X, key=np.sum).sum() + sorted(X, key=lambda r: r[0])[0].sum()


def dict_unpack_literal(x, y):
    base = {"a": x, "b": 1.0}
    d = {**base, "b": y, "c": x * y}
    return np.sum(d["a"]) + np.sum(d["b"] ** 2) + np.sum(d["c"])


def list_unpack_literal(x, y):
    items = [*x, *y, 1.0]
    t = (*x[:2], y[0])
    return sum(v**2 for v in items) + t[0] * t[2]


def while_with_shrinking_array(x):
    y = x.copy()
    total = 0.0
    while y.size > 1:
        total = total + np.sum(y**2)
        y = y[1:] * 0.9
    return total + y[0]


def string_ops_branching(x, mode):
    if mode.startswith("sq"):
        return np.sum(x**2)
    elif mode.upper() == "ABS":
        return np.sum(np.abs(x))
    return np.sum(x)


def keyword_arg_order(x, w):
    def f(a, b, c=1.0, *, d=2.0):
        return a * b + c * d

    return np.sum(f(b=x, a=w, d=w**2, c=x))


# =========================================================================================================
# the corpus


SECOND = ("second",)

DEFAULT_VALUES = (
    "GAP: a default value computed from a variable that carries a gradient (def g(t, s=w * 2)) is refused "
    "with a TransformError that docs/limitations.md does not list"
)
CLOSURE_REASSIGNED = (
    "GAP: an escaping closure whose captured variable is assigned again later (lambdas made in a loop "
    "or comprehension) is refused with a TransformError that docs/limitations.md does not list"
)
COMPREHENSION_DEFAULT = (
    "GAP: `[lambda t, k=k: t * k for k in ks]` is refused: a default computed from a value that carries a "
    "gradient (here the items of ks) would get none. Was: crashes the fence: AttributeError 'Name' object has no "
    "attribute 'lineno'"
)
USER_MATMUL = "BUG: user __matmul__ is differentiated with the numeric matmul rule: ValueError in matmul"
SPLAT_SECOND = "BUG: second derivatives lose cross terms when a call passes a dict with ** (f(x, **opts))"
VIEW_ARGUMENT = (
    "BUG: writing into an argument that is a view raises FluxpyError; check_grads(order=2) always "
    "passes views ((x + h * d).reshape(shape))"
)
ZIP_STAR_SECOND = "BUG: second order through zip(*rows), rows from a comprehension, is wrong (or crashes)"
SORTED_SECOND = "BUG: second order through sorted() crashes (TypeError / KeyError in list_setitem_pullback)"
LAMBDA_FACTORY = (
    "BUG: a lambda made by a one-line `lambda k: lambda x: ...` is transformed from the outer lambda"
)
DICT_UNPACKING = (
    "GAP: {**d} in a dict literal is refused by the fence, but docs/limitations.md does not list it"
)


def C(fn, factory, second_order=False, name=None, xfail=None, xfail_checks=ALL_CHECKS):
    return Case(name or fn.__name__, fn, factory, second_order, xfail, xfail_checks)


CORPUS = [
    # control flow
    C(piecewise_loop, lambda r: (U(r, -3, 3, 8),), True),
    C(piecewise_scalar, lambda r: (F(r, 1.5, 2.5), F(r, 0.5, 1.5)), True, name="piecewise_scalar[if]"),
    C(piecewise_scalar, lambda r: (F(r, -0.5, 0.5), F(r, 0.5, 1.5)), True, name="piecewise_scalar[elif]"),
    C(piecewise_scalar, lambda r: (F(r, -2.5, -1.5), F(r, 0.5, 1.5)), True, name="piecewise_scalar[else]"),
    C(ternary_scale, lambda r: (N(r, 6), F(r, 0.5, 2.0)), True),
    C(ternary_nested, lambda r: (np.array([-0.5, -0.3, 0.8, 1.2]) + 0.1 * N(r, 4),)),
    C(ternary_nested, lambda r: (np.array([0.5, -0.3, 0.8]) + 0.1 * N(r, 3),), name="ternary_nested[first]"),
    C(boolean_gates, lambda r: (U(r, -2, 3, 10), F(r, 0.5, 1.5)), True),
    C(or_default, lambda r: (N(r, 5), F(r, 0.5, 1.5))),
    C(and_or_values, lambda r: (N(r, 3), F(r, 0.5, 1.5))),
    C(not_flags, lambda r: (U(r, -3, 3, 10),)),
    C(chained_compare, lambda r: (U(r, -3, 3, 10),), True),
    C(chained_compare_array, lambda r: (N(r, 6), -0.9, 1.3)),
    C(polynomial_range, lambda r: (N(r, 5), F(r)), True),
    C(horner, lambda r: (N(r, 6), F(r)), True),
    C(range_step, lambda r: (N(r, 8),), True),
    C(rows_loop, lambda r: (N(r, 4, 3), N(r, 3)), True),
    C(columns_loop, lambda r: (N(r, 5, 3),)),
    C(list_loop, lambda r: (N(r, 3), N(r, 2, 2), N(r, 4)), True),
    C(tuple_layers, lambda r: (N(r, 3, 2), N(r, 3), N(r, 2, 3), N(r, 2), N(r, 2)), True),
    C(dict_items_loop, lambda r: (N(r, 3), N(r, 2, 2)), True),
    C(dict_keys_values_loop, lambda r: (N(r, 3), N(r, 3))),
    C(enumerate_weights, lambda r: (N(r, 5),), True),
    C(enumerate_rows, lambda r: (N(r, 4, 3),)),
    C(zip_loop, lambda r: (N(r, 5), N(r, 5), F(r)), True),
    C(zip_three, lambda r: (N(r, 4), N(r, 4), N(r, 4))),
    C(zip_enumerate, lambda r: (N(r, 4), N(r, 4)), True),
    C(nested_pairwise, lambda r: (N(r, 5),), True),
    C(nested_matrix_loops, lambda r: (N(r, 3, 2), N(r, 2)), True),
    C(nested_list_loops, lambda r: (N(r, 3), N(r, 3))),
    C(for_else, lambda r: (N(r, 6), 0.8), name="for_else[break]"),
    C(for_else, lambda r: (N(r, 6), 10.0), True, name="for_else[else]"),
    C(for_else_nested, lambda r: (N(r, 4, 3),)),
    C(newton_sqrt, lambda r: (F(r, 0.5, 4.0),), True),
    C(halve_until_small, lambda r: (N(r, 6),)),
    C(while_break, lambda r: (np.array([0.3, -0.5, 1.0, -1.5, 0.7]) + 0.1 * N(r, 5),), True),
    C(while_continue, lambda r: (U(r, -1, 2, 8),)),
    C(while_true_return, lambda r: (U(r, 0.2, 1.0, 6), F(r)), True),
    C(fixed_point_iteration, lambda r: (N(r, 4),), True),
    C(for_break_continue, lambda r: (N(r, 10),)),
    C(multiple_returns, lambda r: (U(r, 0.5, 1.0, 4), F(r, 0.5, 1.5)), True, name="multiple_returns[high]"),
    C(multiple_returns, lambda r: (U(r, -1.0, -0.5, 4), F(r, 0.5, 1.5)), True, name="multiple_returns[low]"),
    C(multiple_returns, lambda r: (U(r, -0.2, 0.2, 4), F(r, 0.5, 1.5)), True, name="multiple_returns[mid]"),
    C(return_in_loop, lambda r: (N(r, 6),)),
    C(early_return_guard, lambda r: (N(r, 4), F(r, 0.5, 1.0)), True),
    C(early_return_guard, lambda r: (N(r, 4), F(r, -1.0, -0.5)), name="early_return_guard[negative]"),
    C(unreachable_after_return, lambda r: (N(r, 4),), True),
    C(dead_code_in_loop, lambda r: (N(r, 6),)),
    C(return_from_nested_loops, lambda r: (N(r, 3, 3),)),
    # functions
    C(nested_def, lambda r: (N(r, 4), F(r)), True),
    C(lambdas_compose, lambda r: (N(r, 4),), True),
    C(lambdas_in_dict, lambda r: (N(r, 5),)),
    C(closure_over_array, lambda r: (N(r, 3), N(r, 2, 3)), True),
    C(
        closure_reads_current_binding,
        lambda r: (N(r, 3), F(r)),
        True,
    ),
    C(returned_closure, lambda r: (N(r, 3), F(r)), True),
    C(closures_from_factory, lambda r: (N(r, 3, 2), N(r, 3), N(r, 2, 3), N(r, 2), N(r, 2)), True),
    C(closure_factory_inside, lambda r: (N(r, 3), F(r)), True),
    C(late_binding_lambdas, lambda r: (N(r, 3), N(r, 3)), xfail=CLOSURE_REASSIGNED),
    C(default_binding_lambdas, lambda r: (N(r, 3), N(r, 3)), True, xfail=COMPREHENSION_DEFAULT),
    C(recursion_power, lambda r: (F(r),), True),
    C(recursion_list, lambda r: (N(r, 4),), True),
    C(recursion_tree, lambda r: (N(r, 3),), True),
    C(nested_recursion, lambda r: (N(r, 3),), True),
    C(mutual_recursion, lambda r: (N(r, 3),), True),
    C(call_with_defaults, lambda r: (N(r, 4), F(r)), True),
    C(call_kwonly, lambda r: (N(r, 3), F(r)), True),
    C(top_level_default, lambda r: (N(r, 3),), True),
    C(star_args, lambda r: (N(r, 3), N(r, 2), N(r, 2, 2)), True),
    C(varargs_top, lambda r: (N(r, 3), N(r, 2), F(r)), True),
    C(call_mixed_signature, lambda r: (N(r, 3), N(r, 3), F(r)), True),
    C(star_kwargs, lambda r: (N(r, 4), F(r), F(r)), True),
    C(uses_map, lambda r: (N(r, 4), F(r))),
    C(map_over_arrays, lambda r: (N(r, 3), N(r, 3))),
    C(reduce_product, lambda r: (U(r, 0.5, 1.5, 5),), True),
    C(reduce_matmul, lambda r: (N(r, 2, 3), N(r, 3, 3), N(r, 3, 2)), True),
    C(reduce_operator, lambda r: (N(r, 3), N(r, 3))),
    C(reduce_no_initial, lambda r: (N(r, 4),), True),
    C(sorted_by_key, lambda r: (N(r, 5),)),
    C(sorted_reverse, lambda r: (N(r, 5),)),
    C(max_row_by_key, lambda r: (N(r, 4, 3),)),
    C(min_max_scalars, lambda r: (F(r, 0.5, 1.0), F(r, 1.5, 2.0), N(r, 3))),
    C(top_k_by_score, lambda r: (N(r, 6), F(r, 0.5, 1.5))),
    C(generator_reductions, lambda r: (N(r, 6),)),
    C(generator_of_rows, lambda r: (N(r, 4, 3), N(r, 3))),
    C(decorated_loss, lambda r: (N(r, 4),), True),
    C(logged_loss, lambda r: (N(r, 3), F(r))),
    C(stacked_decorators, lambda r: (N(r, 3), F(r)), True),
    C(squared_by_decorator, lambda r: (N(r, 3),)),
    C(calls_decorated, lambda r: (N(r, 3), F(r))),
    C(uses_partial, lambda r: (N(r, 4), F(r))),
    # objects
    C(mlp_built_inside, lambda r: (N(r, 4, 3), N(r, 4), N(r, 2, 4), N(r, 2), N(r, 3)), True),
    C(linear_passed_in, lambda r: (Linear(N(r, 2, 3), N(r, 2)), N(r, 3)), True),
    C(mlp_passed_in, lambda r: (MLP(N(r, 4, 3), N(r, 4), N(r, 2, 4), N(r, 2)), N(r, 3), F(r))),
    C(inheritance_dispatch, lambda r: (N(r, 4), F(r)), True),
    C(explicit_base_calls, lambda r: (N(r, 3), F(r), F(r))),
    C(inherited_init, lambda r: (N(r, 3), F(r))),
    C(dataclass_inside, lambda r: (N(r, 3), F(r), N(r, 4, 3)), True),
    C(dataclass_passed_in, lambda r: (Params(N(r, 3), F(r), 2.0), N(r, 4, 3))),
    C(dataclass_replace, lambda r: (N(r, 3), F(r), N(r, 4, 3))),
    C(dataclass_fields_loop, lambda r: (N(r, 3), F(r))),
    C(frozen_dataclass_property, lambda r: (F(r), F(r), N(r, 5)), True),
    C(namedtuple_inside, lambda r: (N(r, 3), N(r, 3)), True),
    C(namedtuple_unpack, lambda r: (N(r, 3), N(r, 3)), True),
    C(namedtuple_replace, lambda r: (N(r, 3), N(r, 3))),
    C(lstm_namedtuple_state, lambda r: (N(r, 3, 2), N(r, 8, 2), N(r, 8, 2), N(r, 8)), True),
    C(typed_namedtuple, lambda r: (N(r, 3), N(r, 3), F(r))),
    C(namedtuple_passed_in, lambda r: (Point(N(r, 3), N(r, 3)), F(r))),
    C(properties, lambda r: (F(r), F(r), N(r, 4)), True),
    C(classmethod_constructor, lambda r: (N(r, 5, 3), N(r, 3))),
    C(
        operator_overloading_add,
        lambda r: (N(r, 3), N(r, 3)),
        True,
    ),
    C(user_getitem, lambda r: (N(r, 3), N(r, 3))),
    C(user_matmul, lambda r: (N(r, 3), N(r, 3))),
    C(operator_overloading_mul, lambda r: (N(r, 3), N(r, 3), F(r))),
    C(rnn_object, lambda r: (N(r, 3, 2), 0.5 * N(r, 3, 3), N(r, 4, 2)), True),
    C(model_with_param_dict, lambda r: (N(r, 3), F(r), N(r, 5, 3), N(r, 5)), True),
    C(model_passed_in, lambda r: (Model({"W": N(r, 3), "b": F(r)}), N(r, 5, 3), N(r, 5))),
    C(isinstance_branches, lambda r: (N(r, 3), F(r))),
    C(object_methods_return_objects, lambda r: (N(r, 4), N(r, 3))),
    # containers
    C(container_literals, lambda r: (N(r, 3), F(r)), True),
    C(slicing_lists, lambda r: (N(r, 6),), True),
    C(array_slicing, lambda r: (N(r, 3, 4),)),
    C(tuple_unpacking, lambda r: (N(r, 4), F(r)), True),
    C(unpack_array_rows, lambda r: (N(r, 3, 2),)),
    C(unpack_shape, lambda r: (N(r, 4, 3),), True),
    C(list_comprehensions, lambda r: (N(r, 5), F(r)), True),
    C(nested_list_comprehension, lambda r: (N(r, 3),)),
    C(
        dict_comprehensions,
        lambda r: (N(r, 5), F(r)),
        True,
    ),
    C(generator_expressions, lambda r: (N(r, 3, 2), N(r, 2))),
    C(list_methods, lambda r: (N(r, 4), F(r)), True),
    C(list_as_stack, lambda r: (N(r, 8),)),
    C(reversed_and_len, lambda r: (N(r, 5),), True),
    C(dict_writes, lambda r: (N(r, 3), F(r)), True),
    C(dict_get_defaults, lambda r: (N(r, 3), F(r))),
    C(dict_nested, lambda r: (N(r, 3), N(r, 3))),
    C(dict_tuple_keys, lambda r: (N(r, 2, 3),)),
    C(dict_from_zip, lambda r: (N(r, 3), N(r, 3))),
    C(np_array_of_scalars, lambda r: (N(r, 3), F(r)), True),
    C(np_array_of_arrays, lambda r: (N(r, 3), N(r, 3)), True),
    C(stack_concat, lambda r: (N(r, 3), N(r, 3)), True),
    C(stack_list_built_in_loop, lambda r: (N(r, 3, 2), N(r, 2)), True),
    C(list_concat_repeat, lambda r: (N(r, 3), F(r))),
    C(tuple_conversions, lambda r: (N(r, 4),)),
    C(in_operator, lambda r: (N(r, 3), F(r))),
    C(list_of_dicts, lambda r: (N(r, 3), N(r, 3)), True),
    # mutation
    C(setitem_on_copy, lambda r: (N(r, 4), F(r)), True),
    C(setitem_on_argument, lambda r: (N(r, 6),), True),
    C(augmented_item, lambda r: (N(r, 5), F(r)), True),
    C(mask_assign_zero, lambda r: (N(r, 6),)),
    C(mask_assign_array, lambda r: (N(r, 6), F(r, 1.0, 2.0))),
    C(mask_rows_augmented, lambda r: (N(r, 4, 3),)),
    C(column_scale, lambda r: (N(r, 3, 3), F(r)), True),
    C(augmented_arrays, lambda r: (N(r, 4), N(r, 4)), True),
    C(augmented_argument, lambda r: (N(r, 4),)),
    C(fancy_index_writes, lambda r: (N(r, 5), F(r))),
    C(ellipsis_writes, lambda r: (N(r, 2, 3), F(r))),
    C(cumsum_inplace, lambda r: (N(r, 5),), True),
    C(overlapping_slice_update, lambda r: (N(r, 5),), True),
    C(fill_lower_triangle, lambda r: (0.5 * N(r, 6),)),
    C(list_item_writes, lambda r: (N(r, 4), F(r)), True),
    C(dict_item_writes, lambda r: (N(r, 4),), True),
    C(preallocate_rows, lambda r: (N(r, 3, 2), N(r, 2, 3)), True),
    C(preallocate_outer, lambda r: (N(r, 3), N(r, 3))),
    C(pairwise_dists_two_loops, lambda r: (N(r, 3, 2), N(r, 2, 2))),
    C(pairwise_dists_one_loop, lambda r: (N(r, 3, 2), N(r, 4, 2))),
    C(svm_loss_naive, lambda r: (N(r, 3, 4), N(r, 5, 3), r.integers(0, 4, 5), 0.1)),
    C(softmax_loss_naive, lambda r: (N(r, 3, 4), N(r, 5, 3), r.integers(0, 4, 5), 0.1)),
    C(softmax_loss_vectorized, lambda r: (N(r, 3, 4), N(r, 5, 3), r.integers(0, 4, 5), 0.1), True),
    C(affine_forward_naive, lambda r: (N(r, 2, 2, 3), N(r, 6, 3), N(r, 3))),
    C(conv_forward_naive, lambda r: (N(r, 1, 2, 3, 3), N(r, 2, 2, 2, 2), N(r, 2))),
    C(max_pool_naive, lambda r: (N(r, 1, 2, 4, 4),)),
    C(batchnorm_forward, lambda r: (N(r, 4, 3), N(r, 3), N(r, 3)), True),
    C(rnn_forward_naive, lambda r: (N(r, 2, 3, 2), N(r, 2, 3), N(r, 2, 3), 0.5 * N(r, 3, 3), N(r, 3))),
    C(word_embedding_forward, lambda r: (np.array([[0, 2, 0], [1, 3, 2]]), N(r, 4, 3))),
    C(temporal_softmax_loss, lambda r: (N(r, 2, 3, 4), r.integers(0, 4, (2, 3)), r.random((2, 3)) > 0.3)),
    C(dropout_fixed_mask, lambda r: (N(r, 4, 3), N(r, 3, 2), r.random((4, 2)) > 0.5)),
    C(two_layer_net, lambda r: (N(r, 5, 3), N(r, 3, 4), N(r, 4), N(r, 4, 3), N(r, 3), r.integers(0, 3, 5))),
    C(
        char_rnn_loss,
        lambda r: (
            [0, 2, 1, 3],
            [2, 1, 3, 0],
            N(r, 3, 1),
            0.5 * N(r, 3, 4),
            0.5 * N(r, 3, 3),
            0.5 * N(r, 4, 3),
            N(r, 3, 1),
            N(r, 4, 1),
        ),
    ),
    C(
        char_rnn_loss_separate_dicts,
        lambda r: (
            [0, 2, 1, 3],
            [2, 1, 3, 0],
            N(r, 3, 1),
            0.5 * N(r, 3, 4),
            0.5 * N(r, 3, 3),
            0.5 * N(r, 4, 3),
            N(r, 3, 1),
            N(r, 4, 1),
        ),
    ),
    C(
        char_rnn_loss_eye,
        lambda r: (
            [0, 2, 1, 3],
            [2, 1, 3, 0],
            N(r, 3, 1),
            0.5 * N(r, 3, 4),
            0.5 * N(r, 3, 3),
            0.5 * N(r, 4, 3),
            N(r, 3, 1),
            N(r, 4, 1),
        ),
    ),
    C(lstm_dicts_by_time, lambda r: (N(r, 3, 2), N(r, 8, 2), N(r, 8, 2), N(r, 8)), True),
    C(char_rnn_dict_writes_later, lambda r: (N(r, 3), N(r, 2), 0.5 * N(r, 2, 2)), True),
    # exceptions and context managers
    C(try_except_keyerror, lambda r: (N(r, 3), F(r)), True),
    C(try_except_else_finally, lambda r: (N(r, 3), F(r)), True),
    C(raise_and_catch_in_loop, lambda r: (U(r, -1, 2, 6), F(r)), True),
    C(exception_from_callee, lambda r: (U(r, -1, 2, 6), F(r))),
    C(try_index_error, lambda r: (N(r, 4),), True),
    C(try_zero_division, lambda r: (N(r, 5), F(r, 0.5, 1.5)), True),
    C(try_finally_only, lambda r: (N(r, 3), F(r)), True),
    C(errstate_safe_divide, lambda r: (N(r, 4), U(r, 0.5, 2.0, 4) * r.choice([-1, 1], 4))),
    C(errstate_where_sqrt, lambda r: (N(r, 6),)),
    C(user_context_manager, lambda r: (N(r, 3), F(r))),
    C(generator_context_manager, lambda r: (N(r, 3), F(r)), True),
    C(suppress_context, lambda r: (N(r, 3), F(r))),
    C(with_asserts, lambda r: (N(r, 3), F(r, 0.5, 2.0)), True),
    C(prints_progress, lambda r: (N(r, 3), F(r)), True),
    C(nested_with_and_try, lambda r: (N(r, 3), F(r))),
    # everyday numerics
    C(logistic_regression_loss, lambda r: (N(r, 3), F(r), N(r, 6, 3), (r.random(6) > 0.5) * 1.0), True),
    C(logsumexp_stable, lambda r: (N(r, 5),), True),
    C(layer_norm, lambda r: (N(r, 2, 4), N(r, 4), N(r, 4)), True),
    C(attention, lambda r: (N(r, 3, 2), N(r, 4, 2), N(r, 4, 2)), True),
    C(gaussian_kernel, lambda r: (N(r, 4, 2), F(r, 0.8, 1.5))),
    C(huber, lambda r: (N(r, 6), F(r, 0.5, 1.0))),
    C(gru_loop, lambda r: (N(r, 3, 2), N(r, 2, 4), N(r, 2, 4), N(r, 2, 4)), True),
    C(polynomial_features, lambda r: (N(r, 4),), True),
    C(cosine_similarity, lambda r: (N(r, 3), N(r, 3)), True),
    C(einsum_bilinear, lambda r: (N(r, 3), N(r, 3, 2), N(r, 2)), True),
    C(cumulative_ops, lambda r: (N(r, 5),), True),
    C(clip_and_maximum, lambda r: (U(r, -2, 2, 8),)),
    C(linalg_mix, lambda r: (N(r, 3, 3), N(r, 3))),
    C(cholesky_logdet, lambda r: (N(r, 3, 3),)),
    C(reshape_transpose, lambda r: (N(r, 2, 3, 4),), True),
    C(broadcasting, lambda r: (N(r, 3, 1), N(r, 4)), True),
    C(roll_flip, lambda r: (N(r, 5),), True),
    C(sort_and_argmax, lambda r: (N(r, 5),)),
    C(take_and_fancy, lambda r: (N(r, 4, 3), np.array([0, 2, 2]))),
    C(outer_triangles, lambda r: (N(r, 3),), True),
    C(norm_axis, lambda r: (N(r, 3, 2),)),
    C(mean_keepdims, lambda r: (N(r, 4, 3),)),
    C(power_and_special, lambda r: (U(r, 0.5, 2.0, 4),), True),
    C(math_module, lambda r: (F(r), F(r, 0.5, 2.0)), True),
    C(reads_module_constants, lambda r: (N(r, 3),), True),
    # more, found while exploring
    C(loop_lambdas, lambda r: (N(r, 3), N(r, 3)), xfail=CLOSURE_REASSIGNED),
    C(loop_defs, lambda r: (N(r, 3), N(r, 3)), True),
    C(closure_sees_item_write, lambda r: (N(r, 3),)),
    C(deep_closures, lambda r: (N(r, 3), F(r), F(r)), True),
    C(def_time_default, lambda r: (N(r, 3), F(r)), xfail=DEFAULT_VALUES),
    C(lambda_default_capture, lambda r: (N(r, 5), F(r)), True),
    C(
        lambda_from_lambda_factory,
        lambda r: (N(r, 3),),
        name="lambda_from_lambda_factory",
        xfail_checks=("mutation", "value"),
    ),
    C(fstring_keys, lambda r: (N(r, 3), N(r, 3)), True),
    C(cs231n_layers_with_caches, lambda r: (N(r, 2, 3), N(r, 3, 4), N(r, 4), N(r, 4, 2), N(r, 2)), True),
    C(
        fully_connected_net,
        lambda r: (N(r, 2, 3), N(r, 3, 4), N(r, 4), N(r, 4, 4), N(r, 4), N(r, 4, 2), N(r, 2)),
    ),
    C(
        fully_connected_net_two_step,
        lambda r: (N(r, 2, 3), N(r, 3, 4), N(r, 4), N(r, 4, 4), N(r, 4), N(r, 4, 2), N(r, 2)),
    ),
    C(ndindex_fill, lambda r: (N(r, 2, 3),)),
    C(ndindex_tuple_index, lambda r: (N(r, 2, 3),), True),
    C(itertools_combinations, lambda r: (N(r, 4),), True),
    C(itertools_product_chain, lambda r: (N(r, 4),)),
    C(zip_star_transpose, lambda r: (N(r, 3, 2),), True),
    C(for_over_iter, lambda r: (N(r, 2), F(r))),
    C(next_of_iter, lambda r: (N(r, 3), F(r))),
    C(float_conversions, lambda r: (N(r, 3),), True),
    C(item_and_np_float64, lambda r: (N(r, 3),)),
    C(astype_asarray, lambda r: (N(r, 3),), True),
    C(memoized_recursion, lambda r: (N(r, 3),), True),
    C(method_closure_and_bound_methods, lambda r: (N(r, 2, 2), N(r, 2), N(r, 3, 2)), True),
    C(class_attribute_constants, lambda r: (N(r, 2), F(r)), True),
    C(hasattr_getattr, lambda r: (N(r, 2), F(r))),
    C(iterate_user_container, lambda r: (N(r, 3), F(r), F(r))),
    C(
        index_user_container,
        lambda r: (N(r, 3), F(r), F(r)),
        True,
    ),
    C(custom_exceptions, lambda r: (N(r, 3), F(r)), True),
    C(fstring_debug, lambda r: (N(r, 3), F(r))),
    C(while_else, lambda r: (N(r, 4),), True),
    C(loop_over_string, lambda r: (N(r, 2), N(r, 2)), True),
    C(reversed_range, lambda r: (N(r, 4),), True),
    C(sorted_items_loop, lambda r: (N(r, 3),)),
    C(sorted_scalars, lambda r: (F(r), F(r), F(r)), True),
    C(numpy_bool_conditions, lambda r: (N(r, 4),)),
    C(builtin_max_over_array, lambda r: (N(r, 4),)),
    C(itemgetter_sort, lambda r: (N(r, 4), F(r, 0.5, 1.5))),
    C(laplacian_stencil, lambda r: (N(r, 5),), True),
    C(fancy_augmented, lambda r: (N(r, 4), F(r))),
    C(column_loop_writes, lambda r: (N(r, 3, 2), F(r)), True),
    C(reverse_slice_and_mask_writes, lambda r: (N(r, 4),)),
    C(grads_dict_cs231n, lambda r: (N(r, 3, 2), N(r, 2, 3), N(r, 3, 2)), True),
    C(captured_row_in_loop_body_def, lambda r: (N(r, 2), N(r, 3, 2)), True),
    C(sum_with_start_and_len, lambda r: (N(r, 4),), True),
    C(tuple_return_unpack, lambda r: (N(r, 4), F(r, 0.5, 1.5)), True),
    C(nested_tuple_targets, lambda r: (N(r, 3), F(r)), True),
    C(tuple_compare, lambda r: (N(r, 3), N(r, 3))),
    C(numpy_reductions_of_lists, lambda r: (N(r, 3), N(r, 3)), True),
    C(array_times_list, lambda r: (N(r, 3), N(r, 3))),
    C(dot_and_pow_with_lists, lambda r: (U(r, 0.5, 1.5, 3),)),
    C(argsort_gather, lambda r: (N(r, 5),)),
    C(method_chains, lambda r: (N(r, 6), N(r, 2))),
    C(object_closure_passed, lambda r: (Linear(N(r, 2, 3), N(r, 2)), N(r, 3)), True),
    C(method_as_key, lambda r: (N(r, 3, 2),)),
    C(dict_unpack_literal, lambda r: (N(r, 2), N(r, 2))),
    C(list_unpack_literal, lambda r: (N(r, 3), N(r, 2)), True),
    C(while_with_shrinking_array, lambda r: (N(r, 4),), True),
    C(string_ops_branching, lambda r: (N(r, 3), "square"), True),
    C(keyword_arg_order, lambda r: (N(r, 3), F(r)), True),
]
