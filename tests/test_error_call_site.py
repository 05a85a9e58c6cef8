"""A TransformError for a function that differentiated code called (a standard-library function fluxpy
refuses, a helper of the user's) names, after the refused line, the calls that led there: the user's own
call site among them."""

import inspect
import statistics

import pytest

import fluxpy as fx
from fluxpy import errors


def _line(fn, text):
    """The absolute line of ``fn``'s source that contains ``text``."""
    lines, first = inspect.getsourcelines(fn)
    return first + next(i for i, line in enumerate(lines) if text in line)


def mean_of(x):
    # refused inside statistics (a return inside a try block, two calls down)
    y = statistics.NormalDist.from_samples([x, 2.0 * x, 3.0]).mean
    return y


def _refusal(fn, *args, mode="gradient"):
    with pytest.raises(fx.TransformError) as info:
        if mode == "jvp":
            fx.jvp(fn, args, tuple(1.0 for _ in args))
        else:
            fx.gradient(fn, *args)
    return info.value


def test_a_standard_library_refusal_names_the_users_call():
    err = _refusal(mean_of, 3.0)
    line = _line(mean_of, "statistics.NormalDist.from_samples(")
    assert err.file == statistics.__file__  # the refused line is still the error's location
    message = str(err)
    assert "It was reached from (most recent call last):" in message
    assert (
        f'File "{__file__}", line {line}  <- your call\n    y = statistics.NormalDist.from_samples([x, 2.0 * x, 3.0]).mean'
        in message
    )
    assert (__file__, line) == err.call_sites[0]
    assert all(file == statistics.__file__ for file, _ in err.call_sites[1:])


def test_in_forward_mode_too():
    err = _refusal(mean_of, 3.0, mode="jvp")
    assert (__file__, _line(mean_of, "statistics.NormalDist.from_samples(")) in err.call_sites


def helper_with_try(x):
    try:
        return x * 2.0  # refused: a return inside a try block
    finally:
        pass


def calls_helper(x):
    return helper_with_try(x) + 1.0


def test_a_users_helper_names_its_caller():
    err = _refusal(calls_helper, 1.0)
    assert (err.file, err.line) == (__file__, _line(helper_with_try, "return x * 2.0"))
    line = _line(calls_helper, "helper_with_try(x) + 1.0")
    assert err.call_sites == ((__file__, line),)
    assert str(err).endswith(f'File "{__file__}", line {line}\n    return helper_with_try(x) + 1.0')


def test_the_function_given_to_fluxpy_names_no_call():
    err = _refusal(helper_with_try, 1.0)
    assert err.call_sites == ()
    assert "reached from" not in str(err)


def inner_user(x):
    return statistics.NormalDist.from_samples([x, x, 1.0]).mean


def outer_user(x):
    return inner_user(x) * 2.0


def test_the_innermost_user_call_is_marked():
    err = _refusal(outer_user, 1.0)
    outer, inner = (
        _line(outer_user, "inner_user(x)"),
        _line(inner_user, "statistics.NormalDist.from_samples("),
    )
    assert err.call_sites[:2] == ((__file__, outer), (__file__, inner))
    message = str(err)
    assert f"line {outer}\n    return inner_user(x) * 2.0" in message
    assert f"line {inner}  <- your call" in message


def deep(x, n):
    if n == 0:
        return statistics.NormalDist.from_samples([x, x, 1.0]).mean
    return deep(x, n - 1)


def test_a_long_chain_is_summarised():
    err = _refusal(deep, 1.0, 8)
    sites = err.call_sites
    assert len(sites) > errors.CALL_SITES_KEPT
    assert sites[0] == (__file__, _line(deep, "return deep(x, n - 1)"))
    user = max(i for i, (file, _) in enumerate(sites) if file == __file__)
    assert sites[user] == (__file__, _line(deep, "statistics.NormalDist.from_samples("))
    message = str(err)
    assert f"\n  ... {user - 1} more calls ...\n" in message  # between the outermost call and the user's
    assert f'File "{__file__}", line {sites[user][1]}  <- your call' in message
    assert message.count('  File "') == 1 + 1 + len(sites) - user  # the refused line, the calls kept


class Refused:
    def __init__(self, x):
        try:
            self.x = x
            return  # refused
        finally:
            pass


def builds_refused(x):
    return Refused(x).x


def test_a_refused_constructor_names_the_construction():
    err = _refusal(builds_refused, 1.0)
    assert err.call_sites == ((__file__, _line(builds_refused, "Refused(x).x")),)


def test_add_call_sites_adds_once_and_only_with_sites():
    err = errors.TransformError("refused")
    errors.add_call_sites(err, [])
    assert str(err) == "refused" and err.call_sites == ()
    errors.add_call_sites(err, [("a.py", 3, "f(x)"), ("lib.py", 9, "")], user=0)
    expected = (
        'refused\nIt was reached from (most recent call last):\n  File "a.py", line 3  <- your call\n'
        '    f(x)\n  File "lib.py", line 9'
    )
    assert str(err) == expected and err.call_sites == (("a.py", 3), ("lib.py", 9))
    errors.add_call_sites(err, [("b.py", 1, "g()")])
    assert str(err) == expected
