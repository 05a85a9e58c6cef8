"""User-style NumPy code through the transformer: methods, properties, indexing, closures, control flow.

Each function is checked against finite differences at first and second order.
"""

import contextlib
import copy
import itertools

import numpy as np
import pytest

import fluxpy as fx
from fluxpy.testing import check_grads

rng = np.random.default_rng(1)
X = rng.standard_normal((3, 4))
V = rng.standard_normal(4)


def methods(x):
    return x.T.reshape(2, 6).mean(axis=0).sum() + x.max() * x.std() + (x**2).sum(0)[1]


def indexing(x):
    a = x[0, 1] + x[-1, ::-1].sum() + x[:, np.newaxis, 1].sum()
    b = x[[0, 0, 2], [1, 1, 3]].sum()  # repeated indices accumulate
    c = x[x > 0].sum() + x[..., 2].sum()
    return a * b + c


def matrix_code(w, v):
    h = np.tanh(w @ v)
    return np.linalg.norm(h) + np.dot(h, h) + np.einsum("ij,j->", w, v)


def control_flow(x):
    total = 0.0
    for row in x:
        if row.sum() > 0:
            total = total + np.sum(row**2)
        else:
            total = total - np.sum(np.sin(row))
    k = 0
    while k < 3:
        total = total * 1.1
        k += 1
    return total


def closures(x):
    scale = x.sum()

    def f(t):
        return t * scale

    g = lambda t: f(t) ** 2  # noqa: E731
    return np.sum(g(x))


def containers(x):
    parts = [x[0], x[1] * 2]
    d = {"a": parts[0], "b": parts[1]}
    a, b = d["a"], d["b"]
    pair = (a, b)
    return np.sum(pair[0] * pair[1]) + np.sum(np.stack(parts)) + np.concatenate([a, b]).sum()


def early_exit(x):
    if x.sum() > 100:
        return x.sum()
    y = np.exp(x)
    return np.sum(y / y.sum())


def uses_properties(x):
    return (x.T @ x).trace() + x.real.sum() + x.shape[0] * x.size


CASES = [
    (methods, (X,)),
    (indexing, (X,)),
    (matrix_code, (X, V)),
    (control_flow, (X,)),
    (closures, (V,)),
    (containers, (X,)),
    (early_exit, (X,)),
    (uses_properties, (X,)),
]


@pytest.mark.parametrize("f, args", CASES, ids=[f.__name__ for f, _ in CASES])
def test_first_order(f, args):
    check_grads(f, *args, order=1)


@pytest.mark.second_order
@pytest.mark.parametrize("f, args", CASES, ids=[f.__name__ for f, _ in CASES])
def test_second_order(f, args):
    check_grads(f, *args, order=2)


@pytest.mark.parametrize("f, args", CASES, ids=[f.__name__ for f, _ in CASES])
def test_arguments_not_mutated(f, args):
    copies = [a.copy() for a in args]
    fx.gradient(f, *args)
    for a, c in zip(args, copies):
        np.testing.assert_array_equal(a, c)


def comprehensions(x, w):
    squares = [v**2 for v in x]
    by_index = {i: v * w for i, v in enumerate(squares)}
    pairs = [a * b for a in x for b in x if a > b]
    return sum(squares) + by_index[1] + sum(pairs) + max(v * w for v in x) + sum(by_index.values())


def test_comprehensions_first_and_second_order():
    x = np.array([0.3, -1.2, 2.0])
    check_grads(comprehensions, x, 1.5, order=2)


def loop_exits(x, w):
    total = 0.0
    for i, v in enumerate(x):
        if v < -1.0:
            continue
        if i > 3:
            break
        total = total + np.tanh(v * w)
    else:
        total = total * 2.0
    k = 0
    while True:
        total = total * 1.01 + w
        k += 1
        if k >= 3:
            return total
    return total * 0.0


def test_loop_exits_first_and_second_order():
    x = np.array([0.3, -1.5, 2.0, 0.1, 0.7, 0.2])
    check_grads(loop_exits, x, 0.8, order=2)
    check_grads(loop_exits, x[:3], 0.8, order=2)


def exceptions_and_context_managers(x, w):
    with np.errstate(divide="ignore", invalid="ignore"):
        y = np.log(np.abs(x) + 1.0) * w
    total = 0.0
    for i, v in enumerate(y):
        try:
            if v > 1.5:
                raise ValueError("too big")
            total = total + v * v
        except ValueError:
            total = total - v
        finally:
            total = total * 1.01
    try:
        total = total + {"a": w}["b"]
    except KeyError:
        total = total + w * w
    else:
        total = total * 0.0
    assert total == total, "not NaN"
    print(f"total is {float(total):.3f}", end="\r")
    return total


def test_exceptions_and_context_managers_first_and_second_order(capsys):
    x = np.array([0.3, -2.9, 2.0, 4.0])
    check_grads(exceptions_and_context_managers, x, 1.3, order=2)
    assert "total is" in capsys.readouterr().out


class Affine:
    """The seeds' Affine layer, written as a user would."""

    def __init__(self, W, b=None, *, scale=1.0):
        self.W = W
        if b is None:
            b = np.zeros(W.shape[0])
        self.b = b
        self.scale = scale
        self.scale *= 2.0

    def __call__(self, x):
        return self.scale * (self.W @ x + self.b)


def builds_objects(W, b, x, s):
    layer = Affine(W, b, scale=s)
    other = Affine(W)
    return np.sum(layer(x) ** 2) + np.sum(other(x))


def test_objects_created_inside_first_and_second_order():
    r = np.random.default_rng(3)
    check_grads(
        builds_objects, r.standard_normal((2, 3)), r.standard_normal(2), r.standard_normal(3), 0.7, order=2
    )


def test_objects_passed_in_give_tangents():
    layer = Affine(np.ones((2, 3)), np.zeros(2))
    (d,) = fx.gradient(lambda m: np.sum(m(np.arange(3.0))), layer)
    assert isinstance(d, fx.Tangent) and set(d) == {"W", "b", "scale"}
    np.testing.assert_allclose(d.W, 2.0 * np.tile(np.arange(3.0), (2, 1)))


def fold_layers(w, x):
    import functools

    layers = [lambda h: np.tanh(w * h), lambda h: h * 2.0, np.sin]
    out = functools.reduce(lambda h, m: m(h), layers, x)
    squares = list(map(lambda a, b: a * b, out, out))
    kept = list(filter(lambda v: v > 0, squares))
    return sum(kept) + sum(squares)


def test_reduce_map_filter_first_and_second_order():
    check_grads(fold_layers, 0.8, np.array([0.5, -1.0, 2.0]), order=2)


def cs231n_conv_naive(x, w):
    """A naive convolution written the CS231n way: preallocate, nested loops, slices, in-place writes."""
    n, h = x.shape
    k = w.shape[0]
    out = np.zeros((n, h - k + 1))
    for i in range(n):
        for j in range(h - k + 1):
            out[i, j] = np.sum(x[i, j : j + k] * w)
    out[:, 0] *= 2.0
    out[out < -5.0] = -5.0
    return np.sum(np.tanh(out))


def char_rnn_step(xs, wxh, whh):
    """char-RNN style: dicts keyed by time step, filled in a loop."""
    hs = {}
    hs[-1] = np.zeros(whh.shape[0])
    loss = 0.0
    for t in range(len(xs)):
        hs[t] = np.tanh(wxh * xs[t] + whh @ hs[t - 1])
        loss += np.sum(hs[t] ** 2)
    return loss


def test_preallocate_then_fill_first_and_second_order():
    r = np.random.default_rng(5)
    x, w = r.standard_normal((2, 5)), r.standard_normal(3)
    check_grads(cs231n_conv_naive, x, w, order=2)
    before = x.copy()
    fx.gradient(cs231n_conv_naive, x, w)
    np.testing.assert_array_equal(x, before)


def test_dicts_keyed_by_time_step_first_and_second_order():
    r = np.random.default_rng(6)
    check_grads(
        char_rnn_step, r.standard_normal(4), r.standard_normal(3), 0.5 * r.standard_normal((3, 3)), order=2
    )


def test_writes_into_arguments_never_reach_the_caller():
    def f(x, items, table):
        x[0] = 10.0
        x[1:] *= 2.0
        items[0] = items[0] * 3.0
        table["a"] = table["a"] + x[0]
        return np.sum(x) + items[0] + table["a"]

    x, items, table = np.array([1.0, 2.0, 3.0]), [1.0, 2.0], {"a": 1.0}
    gx, gitems, gtable = fx.gradient(f, x, items, table)
    np.testing.assert_array_equal(x, [1.0, 2.0, 3.0])
    assert items == [1.0, 2.0] and table == {"a": 1.0}
    np.testing.assert_array_equal(gx, [0.0, 2.0, 2.0])
    assert gitems == [3.0, None] and gtable == {"a": 1.0}


def builds_lists(x, w):
    out = []
    for v in x:
        out.append(v * w)
    out.extend([w, w * 2])
    out.insert(1, x[0] ** 2)
    last = out.pop()
    first = out.pop(0)
    return sum(out) + last * first


def test_list_methods_on_local_lists_first_and_second_order():
    check_grads(builds_lists, np.array([0.5, 1.5, -2.0]), 0.7, order=2)


def reorders_lists(x):
    a = [x[0], x[1] * 2, x[2] ** 2, x[3]]
    a.reverse()
    b = list(x[:4])  # list(...) makes a new local list too
    b.sort()
    c = [v * x[0] for v in x]
    c.sort(key=lambda v: -abs(v), reverse=True)
    c.remove(c[1])
    d = [x[4], x[5]]
    d.clear()
    d.append(x[5] * 3)
    e = list(x[:3])
    e.insert(0, 5)  # an int pushes the floats along
    return a[0] * 3 + a[3] + b[0] * b[-1] + c[0] * 2 + c[2] * 7 + d[0] + e[1] * e[3]


def test_list_reorderings_on_local_lists_first_and_second_order_and_forward():
    """reverse, sort (with key and reverse), remove and clear rebind a local list (one made by a display, a
    comprehension or list(...)), so each cotangent reaches the item that moved: these gave wrong gradients
    before, the in-place change reordering the list under its positional cotangent."""
    x = np.array([0.5, 1.5, -2.0, 0.3, -0.7, 1.1])
    check_grads(reorders_lists, x, order=2, forward=True)


def unpacks_with_a_star(x):
    a, *rest = x
    *init, last = list(x)
    first, *middle, y, z = (x[0], x[1] * 2, x[2], x[3] ** 2, x[4])
    total = a * rest[0] + np.exp(rest[1]) + sum(rest) * a + last**2 * len(init) + init[0] * init[-1]
    total = total + first * z + sum(middle) * y
    for head, *tail in [(x[0], x[1], x[2]), (x[3], x[4], x[5])]:
        total = total + head * sum(tail)
    (p, *q), r = (x[:3], x[3])
    return total + p * r + q[1]


def test_starred_assignment_targets_first_and_second_order_and_forward():
    """``a, *rest = x`` (also in a for target and nested): rest is a list of the middle items."""
    check_grads(unpacks_with_a_star, np.array([0.5, 1.5, -2.0, 0.3, -0.7, 1.1]), order=2, forward=True)


def unpacks_too_few(x):
    a, b, *rest = x
    return a


def test_starred_assignment_with_too_few_values_raises_as_python():
    with pytest.raises(ValueError, match="not enough values to unpack"):
        fx.gradient(unpacks_too_few, np.array([1.0]))


class Holder:
    def __init__(self, items):
        self.items = items


def reverses_an_attribute_list(x):
    h = Holder([x[0], x[1]])
    h.items.reverse()
    return h.items[0] * 5 + h.items[1]


def pops_from_a_dict(x):
    d = {"a": x[0], "b": x[1] * 2}
    v = d.pop("a")
    return v * 3 + d["b"]


def sorts_a_parameter(x, items):
    items.sort()
    return items[0] * x


@pytest.mark.parametrize(
    "f, args, what",
    [
        (reverses_an_attribute_list, (np.array([1.0, 2.0]),), "list.reverse changes a list in place"),
        (pops_from_a_dict, (np.array([1.0, 2.0]),), "dict.pop changes a dict in place"),
        (sorts_a_parameter, (2.0, [3.0, 1.0]), "list.sort changes a list in place"),
    ],
)
def test_reordering_a_list_or_dict_that_is_not_local_is_refused(f, args, what):
    """Moving, removing or handing out the float items of a list or dict that is not the function's own
    local list is refused with the in-place message (it gave silently wrong gradients)."""
    with pytest.raises(fx.FluxpyError, match=what) as info:
        fx.gradient(f, *args)
    assert "test_user_code.py" in str(info.value) and "build a new" in str(info.value).lower()


class Base:
    def __init__(self, w):
        self.w = w

    def forward(self, x):
        return self.w * x


class Child(Base):
    def __init__(self, w, b):
        super().__init__(w)
        self.b = b

    def forward(self, x):
        return super().forward(x) + self.b

    @property
    def scale(self):
        return self.w * 2.0


def inheritance(w, b, x):
    m = Child(w, b)
    return m.forward(x) ** 2 + m.scale


def test_inheritance_and_super_first_and_second_order():
    check_grads(inheritance, 2.0, 1.0, 3.0, order=2)
    (dm, dx) = fx.gradient(lambda m, x: m.forward(x) + m.scale, Child(2.0, 1.0), 3.0)
    assert dm.w == 5.0 and dm.b == 1.0 and dx == 2.0


class Scaled:
    def __init__(self, w, scale=1.0, *, shift=0.0):
        self.w = w
        self.scale = scale
        self.shift = shift


class ScaledByKeyword(Scaled):
    def __init__(self, w, s, t):
        super().__init__(w, scale=s * 2.0, shift=t)


class ScaledByBase(Scaled):
    def __init__(self, w, s, *rest):
        Scaled.__init__(self, w, *rest, shift=s)


class ScaledByDefault(Scaled):
    def __init__(self, w, s):
        super().__init__(w)
        self.w = self.w * s


def parent_init_keywords(w, s, t):
    a = ScaledByKeyword(w, s, t)
    b = ScaledByBase(w, s, t)
    c = ScaledByDefault(w, s)
    return np.sum(a.w * a.scale + a.shift) * b.scale + b.shift * np.sum(c.w**2) * c.scale


def test_parent_init_with_keywords_starred_arguments_and_defaults():
    # super().__init__(w, scale=...) used to fail with "assigning to an attribute is not supported"
    w = np.array([0.5, -1.0, 2.0])
    check_grads(parent_init_keywords, w, 0.7, 1.3, order=2, forward=True)


def test_parent_init_keywords_keep_their_gradient():
    def f(s):
        return ScaledByKeyword(np.ones(2), s, s * s).scale + ScaledByKeyword(np.ones(2), s, s * s).shift

    assert fx.gradient(f, 3.0) == (2.0 + 6.0,)


class State:
    pass


def local_object_attributes(x, w):
    s = State()
    s.h = x * w
    s.h = np.tanh(s.h)
    s.count = 1
    s.h += w
    return s.h * s.count


def test_attribute_writes_on_local_objects_first_and_second_order():
    check_grads(local_object_attributes, 0.5, 1.5, order=2)


def test_sets_of_floats_are_refused_and_sets_of_labels_are_fine():
    def labels(x):
        tags = {"a", "b"}
        return x * len(tags)

    def floats(x):
        return sum({x, 2.0 * x})

    assert fx.gradient(labels, 2.0) == (2.0,)
    with pytest.raises(fx.FluxpyError, match="set of floating-point values"):
        fx.gradient(floats, 1.0)


def late_binding(x):
    g = lambda t: t * x  # noqa: E731
    x = x * 3.0
    return g(2.0)


def closures_in_loops(x, w):
    h = x
    total = 0.0
    for _ in range(3):
        h = np.tanh(h * w)
        g = lambda t: t * h  # noqa: E731
        total = total + g(2.0)
    fs = [lambda t, k=k: t * k for k in range(3)]
    return total + sum(f(w) for f in fs)


def test_closures_read_variables_when_called():
    assert fx.gradient(late_binding, 1.0) == (6.0,)
    check_grads(late_binding, 1.0, order=2)
    check_grads(closures_in_loops, 0.5, 1.2, order=2)


def test_escaping_closures_over_rebound_variables_are_refused():
    def escapes(x):
        fs = []
        for i in range(3):
            y = x * i
            fs = fs + [lambda t: t * y]
        return sum(f(1.0) for f in fs)

    with pytest.raises(fx.TransformError, match="closure that escapes"):
        fx.gradient(escapes, 1.0)


def test_defaults_from_active_values_are_refused():
    def defaults(x, w):
        def g(t, s=w * 2):
            return t * s

        return g(x)

    with pytest.raises(fx.TransformError, match="default value computed from"):
        fx.gradient(defaults, 1.0, 2.0)


def library_and_builtin_odds(x, w):
    import itertools
    from collections import namedtuple

    pair = namedtuple("Pair", "a b")
    total = 0.0
    for i, j in np.ndindex((2, 2)):
        total = total + x[i] * w[j]
    p = pair(x[0], x[1])._replace(b=w[0])
    d = dict(zip(["a", "b"], [x[0], w[1]]))
    d2 = dict(d, c=x[1] * 2)
    prods = sum(a * b for a, b in itertools.product([x[0], x[1]], [w[0]]))
    chained = sum(itertools.chain([x[0]], (w[1],)))
    extra = x.item(1) * np.float64(w[0]) + np.dot([x[0], 1.0], [w[0], w[1]]) + (x @ [1.0, 2.0])
    return total + p.a * p.b + d["a"] * d2["b"] + d2["c"] + prods + chained + extra


class Bag:
    def __init__(self, items):
        self.items = items

    def __iter__(self):
        return iter(self.items)


def iterates_user_container(x, w):
    total = 0.0
    for v in Bag([x, w * 2.0]):
        total = total + v * v
    return total


def test_library_and_builtin_odds_first_and_second_order():
    check_grads(library_and_builtin_odds, np.array([0.5, 1.5]), np.array([2.0, -1.0]), order=2)
    check_grads(iterates_user_container, 0.5, 1.5, order=2)


def _recursive_power(x, depth):
    def g(n):
        return x if n == 0 else x * g(n - 1)

    return g(depth)


def _recursive_with_statements(x, w):
    def g(n):
        if n == 0:
            return w
        return np.sin(x) * g(n - 1) + w

    return g(4)


@pytest.mark.parametrize("depth", [0, 1, 2, 5])
def test_recursive_local_function_sums_every_level_of_its_captures(depth):
    """A recursive closure's cotangent nests its own (one level per call): every level's captured-variable
    gradient counts (it gave 10.125 for d/dx x**4 at 1.5, the deepest levels dropped)."""
    (g,) = fx.gradient(lambda x: _recursive_power(x, depth), 1.5)
    assert np.isclose(g, (depth + 1) * 1.5**depth)
    check_grads(lambda x: _recursive_power(x, depth), 1.5, order=2)
    check_grads(_recursive_with_statements, 0.3, 0.7, order=2)


def _recursive_lambda(x, y):
    g = lambda v, k: v if k == 0 else g(v * y, k - 1)  # noqa: E731
    h = g
    return g(x, 4) + np.sum(h(x, 3))


def _recursive_lambda_branching(x, y):
    g = lambda v, k: v if k == 0 else g(v * y, k - 1) + g(v + y, k - 1)  # noqa: E731
    return np.sum(g(x, 3))


def test_a_recursive_lambda_sums_every_level_of_its_captures():
    """``g = lambda ...: ... g(...)`` calls itself through its copy ``g``, not the hoisted lambda's name:
    levels below the second were dropped (d/dy of x * y**3 gave 36, not 54)."""
    (_, dy) = fx.gradient(lambda x, y: _recursive_lambda(x, y) - np.sum(x * y**3), 2.0, 3.0)
    assert np.isclose(dy, 4 * 2.0 * 3.0**3)
    for f in (_recursive_lambda, _recursive_lambda_branching):
        check_grads(f, np.array([0.3, 1.2]), np.array([0.7, -0.4]), order=2, forward=True)


def _conditional_rebinding(x, flag):
    x = x * 2.0 if flag else x  # the else branch is `x = x`
    return x**2


def _self_assignment(x):
    x = x
    return np.sin(x)


def test_a_name_assigned_to_itself_keeps_its_gradient():
    """``x = f(x) if c else x`` normalizes to a branch ``x = x``: it once reset x's cotangent (None)."""
    assert fx.gradient(_conditional_rebinding, 1.5, False) == (3.0, None)
    assert fx.gradient(_conditional_rebinding, 1.5, True) == (12.0, None)
    assert np.isclose(fx.gradient(_self_assignment, 0.3)[0], np.cos(0.3))
    check_grads(lambda x: _conditional_rebinding(x, False), 1.5, order=2)


def test_gradient_of_a_forward_mode_derivative():
    """Reverse over forward: fx.jvp's result projects its tangent with ``x = x.reshape(()) if ... else x``."""
    (g,) = fx.gradient(lambda x: fx.jvp(np.sin, (x,), (1.0,))[1], 0.7)
    assert np.isclose(g, -np.sin(0.7))


def _pop_inside_expression(x):
    stack = [x[0], x[1] ** 2]
    total = stack.pop() * x[2] + np.sin(stack.pop())
    stack.append(x[3])
    return total * (1.0 + stack.pop()) + len(stack)


def test_list_pop_inside_an_expression_is_hoisted():
    """``stack.pop()`` inside an expression (not a whole statement) is hoisted into the rebinding form:
    it once went through a plain method call and the pullback of a later append raised IndexError."""
    x = np.array([0.3, -0.7, 1.1, 0.4])
    assert np.isclose(_pop_inside_expression(x), (x[1] ** 2 * x[2] + np.sin(x[0])) * (1.0 + x[3]))
    (g,) = fx.gradient(_pop_inside_expression, x)
    assert np.isclose(g[3], x[1] ** 2 * x[2] + np.sin(x[0]))
    check_grads(_pop_inside_expression, x, order=2)


_CAPTURED_ARGS = (1.0, 2.0, 3.0)


def _three(a, b, c):
    return a * b**2 * np.sin(c)


def _replace_captured_then_splat(a):
    a2 = list(_CAPTURED_ARGS)
    a2[1] = a
    return _three(*a2) + a2[0] * a2[1]


def _replace_closure_then_splat(a):
    args = (1.0, 2.0, 3.0)

    def inner(a):
        a2 = list(args)
        a2[2] = a
        a2 = a2 + [a]
        return _three(*a2[:3]) * a2[3]

    return inner(a)


def test_item_assignment_into_a_list_then_splatted():
    """``f(*lst)`` hands back its arguments' cotangents as a tuple: the pullback of ``lst[i] = v`` once
    took that tuple for a dict cotangent (ValueError/TypeError from dict(...))."""
    (g,) = fx.gradient(_replace_captured_then_splat, 2.5)
    assert np.isclose(g, 2 * 2.5 * np.sin(3.0) + 1.0)
    check_grads(_replace_captured_then_splat, 2.5, order=2)
    check_grads(_replace_closure_then_splat, 0.7, order=2)


class _Bag:
    def __init__(self, items):
        self.items = items

    def __iter__(self):
        return iter(self.items)


class _Scaled:
    def __init__(self, xs, w):
        self.xs = xs
        self.w = w

    def __iter__(self):
        return iter([self.w * x for x in self.xs])


class _Yielding:
    def __init__(self, items):
        self.items = items

    def __iter__(self):
        yield from self.items


def _sum_of_bag(a):
    return sum(_Bag([a, 2.0 * a, a * a]))


def _sum_of_scaled(x, w):
    return np.sum(sum(_Scaled([x, x**2, np.sin(x)], w), np.cos(w)))


def test_sum_over_a_user_container_iterates_its_python_iter():
    """``sum(obj)`` with a Python ``__iter__`` differentiates through it, as a for loop does (it once
    raised AttributeError: 'tuple' object has no attribute 'get' in the constructor's pullback)."""
    (g,) = fx.gradient(_sum_of_bag, 1.5)
    assert np.isclose(g, 3.0 + 2 * 1.5)
    check_grads(_sum_of_bag, 1.5, order=2)
    check_grads(_sum_of_scaled, np.array([0.3, 0.7]), 1.3, order=2)


def test_sum_over_a_generator_iter_is_a_clear_error():
    with pytest.raises(fx.TransformError, match="generator"):
        fx.gradient(lambda a: sum(_Yielding([a, a * a])), 1.5)


def pops_in_conditions(x):
    s = [x * 0.1, x, x * 2, x * 3]
    t = 0.0
    if s.pop() > 4.0:  # the list changes in the test: the pullback sees the list after it
        t = t + s[-1] * x
    elif s.pop() > 0.0:
        t = t - x
    while s.pop() > 5.0:
        t = t + x
    else:
        t = t * s[0]
    return t + s[0]


def test_list_methods_in_if_and_while_tests():
    # at 3: 2x² (the if), + x (one trip), * 0.1x (the else), + 0.1x; derivative 0.6x² + 0.2x + 0.1
    assert fx.gradient(pops_in_conditions, 3.0) == (pytest.approx(6.1),)
    assert fx.withgradient(pops_in_conditions, 3.0).val == pytest.approx(pops_in_conditions(3.0))
    check_grads(pops_in_conditions, 3.0, order=2)
    check_grads(pops_in_conditions, 1.0, order=2)  # the elif branch


def pop_evaluated_sometimes(x):
    s = [x, x]
    if x > 0 and s.pop() > 1:
        return x
    return s[0] * x


def test_list_method_evaluated_only_sometimes_in_a_test_is_refused():
    with pytest.raises(fx.TransformError, match=r"s.pop\(\) evaluated only sometimes") as info:
        fx.gradient(pop_evaluated_sometimes, 2.0)
    assert "test_user_code.py" in str(info.value) and "if x > 0 and s.pop() > 1" in str(info.value)


class _Pair:
    def __init__(self, a, b):
        self.a, self.b = a, b


def _deepcopied_array(x):
    y = copy.deepcopy(x)
    return np.sum(y * x)


def _copied_then_written(x):
    y = copy.copy(x)
    y[0] = 3.0
    return np.sum(y * x)


def _deepcopied_containers(x):
    d = copy.deepcopy({"a": x, "b": [x, 2.0]})
    return np.sum(d["a"] * d["b"][0] * d["b"][1])


def _copied_objects(x):
    p = _Pair(x, x * 2)
    q, r = copy.copy(p), copy.deepcopy(p)
    return np.sum(q.a * r.b)


def _copied_scalars(x):
    y = copy.deepcopy(x[0])
    return y * x[1] + copy.copy(y) ** 2


@pytest.mark.parametrize(
    "f", [_deepcopied_array, _copied_then_written, _deepcopied_containers, _copied_objects, _copied_scalars]
)
def test_copy_and_deepcopy_pass_the_gradient_through(f):
    """``copy.deepcopy`` of an array gave no gradient (a silently wrong result) and ``copy.copy`` of one
    raised NoAdjointError (ndarray.__copy__ has no source): both have rules, and forward rules."""
    check_grads(f, np.array([1.0, 2.0]), order=2, forward=True)


def test_deepcopy_gradient_value():
    assert np.allclose(fx.gradient(_deepcopied_array, np.array([1.0, 2.0]))[0], [2.0, 4.0])


class _Holder:
    def __init__(self, w):
        self.w = w

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        return False


class _EntersField(_Holder):
    def __enter__(self):
        return self.w


class _EntersComputed(_Holder):
    def __enter__(self):
        return self.w * 2


def _with_as_self(x):
    with _Holder(x * 2) as m:
        y = m.w * x
    return np.sum(y)


def _with_as_several(x):
    with _EntersField(x * 2) as v, _Holder(v + 1) as m:  # the second manager reads the first's value
        y = v * m.w
    return np.sum(y)


def _with_as_tuple_target(x):
    with np.errstate(all="ignore"), _EntersField((x, x**2)) as (a, b):
        y = np.sum(a * b)
    return y


@pytest.mark.parametrize("f", [_with_as_self, _with_as_several, _with_as_tuple_target])
def test_with_as_target_gets_its_gradient(f):
    """``v`` of ``with m as v`` got no gradient (a silently wrong result): when ``__enter__`` returns the
    manager or one of its attributes, v's gradient goes to the manager."""
    check_grads(f, np.array([0.5, 1.5]), order=2, forward=True)


def _with_as_computed(x):
    with _EntersComputed(x) as v:
        y = np.sum(v)
    return y


def _with_as_generator(x):
    with _scaled(x) as v:
        y = np.sum(v)
    return y


@contextlib.contextmanager
def _scaled(v):
    yield v * 2


@pytest.mark.parametrize("f", [_with_as_computed, _with_as_generator])
def test_with_as_value_made_by_enter_raises_when_its_gradient_is_needed(f):
    with pytest.raises(fx.FluxpyError, match=r"does not differentiate __enter__") as info:
        fx.gradient(f, np.array([0.5, 1.5]))
    assert "test_user_code.py" in str(info.value)


def test_with_as_value_made_by_enter_is_fine_when_unused():
    def unused(x):
        with _EntersComputed(x) as v:
            y = np.sum(x)
        return y + 0 * len(str(type(v)))

    assert np.allclose(fx.gradient(unused, np.array([0.5, 1.5]))[0], 1.0)


def _grows_while_iterated(x):
    items = [x[0]]
    for v in items:
        if len(items) < 3:
            items.append(v * 2)
    return sum(items)


def _written_while_iterated(x):
    items = [x[0], x[1]]
    for v in items:
        if v < 5.0:
            items[0] = items[0] * 1.5
    return items[0] + items[1]


def _iterator_shared_by_two_loops(x):
    it = iter([x[0], x[1], x[0] * x[1]])
    s = 0.0
    for a in it:
        s = s + a
        break
    for b in it:  # goes on after the item the first loop took
        s = s + 10 * b
    return s


def _groupby_groups(x):
    s = 0.0
    for k, g in itertools.groupby([x[0], x[0] * 2, x[1], x[1] * 3], key=lambda v: v > 1.0):
        s = s + sum(g) * (2.0 if k else 1.0)
    return s


@pytest.mark.parametrize(
    "f", [_grows_while_iterated, _written_while_iterated, _iterator_shared_by_two_loops, _groupby_groups]
)
def test_loops_see_the_sequence_as_python_does(f):
    """A for loop iterated a snapshot of its sequence: a list the body appends to or writes into, an
    iterator a second loop goes on with after a break, itertools.groupby's groups (all empty) gave wrong
    values, not only wrong gradients."""
    x = np.array([0.3, 1.5])
    assert np.isclose(fx.withgradient(f, x).val, f(x))
    check_grads(f, x, order=2, forward=True)


class _Found(Exception):
    def __init__(self, value):
        super().__init__(value)
        self.value = value


def _raises_in_callee(x):
    def inner(v):
        w = v * 2
        if w > 0:
            raise ValueError(w)
        return w

    s = x[0]
    try:
        s = s * inner(x[0])
    except ValueError as e:
        s = s + e.args[0] * x[1]
    return s


def _raises_here(x):
    try:
        raise _Found(x[0] ** 2)
    except _Found as found:
        y = found.value * x[1]
    return y


@pytest.mark.parametrize("f", [_raises_in_callee, _raises_here])
def test_a_value_carried_by_an_exception_raises_when_its_gradient_is_needed(f):
    """A float read from a caught exception got no gradient, silently: the code that computed it stopped
    at the raise, so its pullback does not exist. Now a FluxpyError names the except line."""
    with pytest.raises(fx.FluxpyError, match="caught") as info:
        fx.gradient(f, np.array([0.5, 1.5]))
    assert "test_user_code.py" in str(info.value) and "except" in str(info.value)


def _reads_message_or_constant(x):
    try:
        raise ValueError("bad", x[0] * 2)
    except ValueError as e:
        y = x[0] * len(str(e)) + x[1] * fx.dropgrad(e.args[1])
    return y


def test_exceptions_read_without_a_gradient_are_fine():
    x = np.array([0.5, 1.5])
    (g,) = fx.gradient(_reads_message_or_constant, x)
    np.testing.assert_allclose(g, [len(str(ValueError("bad", x[0] * 2))), 1.0])


def _list_plus_array(x):
    items = [x[0], x[1]]
    items += x * 2  # ndarray.__radd__ wins: items becomes the array [3 x0, 3 x1]
    return np.sum(items * x)


def test_local_list_plus_equals_an_array_is_the_array_sum():
    x = np.array([0.5, 1.5])
    assert np.isclose(fx.withgradient(_list_plus_array, x).val, _list_plus_array(x))
    check_grads(_list_plus_array, x, order=2, forward=True)


def _rows_scaled_in_place(x):
    y = np.outer(x, x)
    for row in y:
        row *= 2  # writes into y in Python
    return np.sum(y)


def _slice_updated_in_place(x):
    y = x * 1.0
    v = y[:1]
    v += 3
    return np.sum(y)


@pytest.mark.parametrize("f", [_rows_scaled_in_place, _slice_updated_in_place])
def test_augmented_assignment_on_a_view_is_refused(f):
    """``row *= 2`` on a row of ``y`` writes into ``y`` in Python; fluxpy's ``*=`` makes a new array, so
    ``y`` kept its values (a silently wrong value and gradient). Now refused, naming the line."""
    with pytest.raises(fx.FluxpyError, match="view of another array") as info:
        fx.gradient(f, np.array([0.5, 1.5]))
    assert "test_user_code.py" in str(info.value)
    with pytest.raises(fx.FluxpyError, match="view of another array"):
        fx.jvp(f, (np.array([0.5, 1.5]),), (np.ones(2),))


def _owned_arrays_updated(x):
    s = 0.0
    for _ in range(3):
        s += x[0] * x[1]
    y = x * 2
    y += x
    y *= x
    return s + np.sum(y)


def test_augmented_assignment_on_arrays_that_own_their_data():
    check_grads(_owned_arrays_updated, np.array([0.5, 1.5]), order=2, forward=True)
