"""Lazy readers of a container written afterwards: a generator expression and a dict's keys()/values()/
items() see later writes in Python, where fluxpy's functional write makes a new container. Refused, not
silently wrong (they gave the old values); consumed before the write, or made a list, they work."""

import numpy as np
import pytest

import fluxpy as fx
from fluxpy.testing import check_grads

X = np.array([0.7, -1.2, 1.9])


def generator_read_after_a_write(x):
    lst = [x[0], x[1]]
    g = (t * 2 for t in lst)
    lst[0] = x[2] * 10
    return sum(g)


def generator_over_rows_read_after_a_write(x):
    a = np.stack([x, x * 2])
    g = (np.sum(r) for r in a)
    a[0] = x * 3
    return sum(g)


def dict_values_read_after_a_write(x):
    d = {"a": x[0], "b": x[1]}
    vals = d.values()
    d["a"] = x[2] * 10
    return sum(vals)


@pytest.mark.parametrize("f", [generator_read_after_a_write, generator_over_rows_read_after_a_write])
def test_a_generator_read_after_a_write_into_what_it_reads_is_refused(f):
    for derivative in (lambda: fx.gradient(f, X), lambda: fx.jvp(f, (X,), (X,))):
        with pytest.raises(fx.FluxpyError, match=r"a generator expression that reads it lazily") as e:
            derivative()
        assert "test_live_views.py" in str(e.value)


def test_a_dict_view_of_a_dict_written_afterwards_is_refused():
    with pytest.raises(fx.TransformError, match=r"viewed by 'vals' \(d.values\(\), line \d+\)"):
        fx.gradient(dict_values_read_after_a_write, X)


def generator_consumed_before_the_write(x):
    lst = [x[0], x[1]]
    g = (t * 2 for t in lst)
    s = sum(g)
    lst[0] = x[2] * 10
    return s + lst[0] + sum(g)


def values_made_a_list(x):
    d = {"a": x[0], "b": x[1]}
    vals = list(d.values())
    d["a"] = x[2] * 10
    return sum(vals) + d["a"]


@pytest.mark.parametrize("f", [generator_consumed_before_the_write, values_made_a_list])
def test_lazy_readers_consumed_or_copied_before_the_write_work(f):
    assert np.isclose(fx.withgradient(f, X)[0], f(X))
    check_grads(f, X, order=2, forward=True)
