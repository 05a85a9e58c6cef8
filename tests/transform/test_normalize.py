"""Stage 4: each normalization pass, as before/after snapshots compared as unparsed source."""

import textwrap

import numpy as np

from fluxpy.transform.cache import normalized_source


def snapshot(fn, expected):
    assert normalized_source(fn).strip() == textwrap.dedent(expected).strip()


def early_return(x):
    if x > 0:
        return x
    y = -x
    return y * 2


def test_returns_pass_gives_one_exit():
    snapshot(
        early_return,
        """
        def early_return(x):
            if x > 0:
                _return = x
            else:
                y = __fx_call(__fx_op.neg, x)
                _return = __fx_call(__fx_op.mul, y, 2)
            return _return
    """,
    )


def with_lambda(x):
    g = lambda t: t * x  # noqa: E731
    return g(2.0)


def test_lambdas_pass_hoists_lambdas():
    snapshot(
        with_lambda,
        """
        def with_lambda(x):

            def lambda_L37C8(t):
                return t * x
            g = lambda_L37C8
            _g = __fx_call(g, 2.0)
            return _g
    """,
    )


def anf_example(x, w):
    y = 3 * x**2 + w.sum()
    for row in w:
        y += row[0]
    return y


def test_anf_pass_one_call_per_statement():
    snapshot(
        anf_example,
        """
        def anf_example(x, w):
            _pow = __fx_call(__fx_power_by_constant, x, 2)
            _mul = __fx_call(__fx_op.mul, 3, _pow)
            _sum = __fx_call_method(w, 'sum')
            y = __fx_call(__fx_op.add, _mul, _sum)
            _seq = __fx_call(__fx_iterlist, w)
            for _i in __fx_range(__fx_len(_seq)):
                row = __fx_call(__fx_op.getitem, _seq, _i)
                _getitem = __fx_call(__fx_op.getitem, row, 0)
                y = __fx_call(__fx_op.iadd, y, _getitem)
            return y
    """,
    )


def desugar(x, t):
    a, b = t
    c = a if x > 0 else b
    d = c or x  # noqa: F841
    e = np.sin(x[1:, None])  # noqa: F841
    return [a, *t]


def test_anf_pass_desugars_unpacking_conditionals_boolops_slices_and_starred():
    snapshot(
        desugar,
        """
        def desugar(x, t):
            _items = __fx_call(__fx_unpack, t, 2)
            a = __fx_call(__fx_op.getitem, _items, 0)
            b = __fx_call(__fx_op.getitem, _items, 1)
            if x > 0:
                c = a
            else:
                c = b
            d = c
            if not d:
                d = x
            _index = (__fx_slice(1, None), None)
            _getitem = __fx_call(__fx_op.getitem, x, _index)
            e = __fx_call(np.sin, _getitem)
            _list = __fx_call(__fx_pack_list, a, *t)
            return _list
    """,
    )


def loop_exits(xs):
    for x in xs:
        if x < 0:
            continue
        if x > 9:
            return x
        total = x
    else:
        total = 0
    return total


def test_loops_pass_turns_exits_into_flags():
    snapshot(
        loop_exits,
        """
        def loop_exits(xs):
            _returned = False
            _break = False
            _seq = __fx_call(__fx_iterlist, xs)
            _i = -1
            for _i in __fx_range(__fx_len(_seq)):
                x = __fx_call(__fx_op.getitem, _seq, _i)
                _continue = False
                if x < 0:
                    _continue = True
                if not (_break or _continue):
                    if x > 9:
                        _return_value = x
                        _returned = True
                        _break = True
                    if not (_break or _continue):
                        total = x
                if _break:
                    break
            __fx_rewind(xs, __fx_len(_seq), _i)
            if not _break:
                total = 0
            if _returned:
                _return = _return_value
            else:
                _return = total
            return _return
    """,
    )


def pop_in_conditions(x):
    s = [x, 2 * x, 3 * x]
    if s.pop() > 1:
        x = x * 2
    while s.pop() > 1:
        x = x * 3
    return x


def test_conditions_pass_hoists_list_methods_out_of_tests():
    snapshot(
        pop_in_conditions,
        """
        def pop_in_conditions(x):
            _mul = __fx_call(__fx_op.mul, 2, x)
            _mul_1 = __fx_call(__fx_op.mul, 3, x)
            s = __fx_call(__fx_pack_list, x, _mul, _mul_1)
            _args = __fx_call(__fx_list_pop, s)
            s = __fx_call(__fx_op.getitem, _args, 0)
            _pop = __fx_call(__fx_op.getitem, _args, 1)
            if _pop > 1:
                x = __fx_call(__fx_op.mul, x, 2)
            _break = False
            while True:
                _args_1 = __fx_call(__fx_list_pop, s)
                s = __fx_call(__fx_op.getitem, _args_1, 0)
                _pop_1 = __fx_call(__fx_op.getitem, _args_1, 1)
                if not _pop_1 > 1:
                    _break = True
                if not _break:
                    x = __fx_call(__fx_op.mul, x, 3)
                if _break:
                    break
            return x
    """,
    )
