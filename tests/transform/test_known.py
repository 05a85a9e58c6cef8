"""transform/known.py: the None tests of a gradient function's pullback part that always hold."""

import textwrap

import gast

from fluxpy.transform import codegen, known


def simplified(src, seed="d_out"):
    body = gast.parse(textwrap.dedent(src)).body
    body = known.drop_dead_resets(known.drop_known_guards(body, {seed}), set())
    return codegen.unparse(gast.Module(body=body, type_ignores=[])).strip()


def test_guards_that_hold_from_the_seed_are_dropped_and_dead_resets_removed():
    src = """
        d_y = d_out
        if d_y is not None:
            d_t = d_y * 3
            d_y = None
        if d_t is not None:
            d_x = d_t * 2 if d_x is None else d_x + d_t * 2
            d_t = None
        result = (None, d_x)
    """
    expected = """
        d_y = d_out
        d_t = d_y * 3
        d_x = d_t * 2 if d_x is None else d_x + d_t * 2
        result = (None, d_x)
    """
    assert simplified(src) == textwrap.dedent(expected).strip()


def test_what_a_rule_returns_and_what_branches_or_loops_assign_stays_unknown():
    src = """
        d_a, d_b = pb(d_out)
        if d_a is not None:
            d_x = d_a
        if flag:
            d_c = d_out * 2
        else:
            d_c = g(d_out)
        if d_c is not None:
            d_x = None
        for i in range(3):
            d_e = d_out * i
        if d_e is not None:
            d_x = d_e
        d_f = None
        if d_f is None:
            d_x = d_x
    """
    out = simplified(src)
    assert "if d_a is not None:" in out and "if d_c is not None:" in out and "if d_e is not None:" in out
    assert "if d_f is None" in out  # known not None only; d_f = None stays, read by the test


def test_a_reset_read_later_stays():
    src = """
        d_a = d_out * 2
        d_a = None
        if flag:
            d_a = d_out
        result = d_a
    """
    assert "d_a = None" in simplified(src)


def placed(names, src):
    body = gast.parse(textwrap.dedent(src)).body
    body = known.place_none_inits(names, body)
    return codegen.unparse(gast.Module(body=body, type_ignores=[])).strip()


def test_none_inits_move_into_the_one_branch_that_uses_them():
    src = """
        d_y = d_out
        if inline:
            if d_y is not None:
                d_a = d_y * 2
            d_x = d_a
        else:
            d_b = pb(d_y)
            if d_b is not None:
                d_x = d_b
        for k in range(n):
            d_c = accum(d_c, d_x)
        result = (None, d_x, d_c)
    """
    expected = """
        d_c = None
        d_x = None
        d_y = d_out
        if inline:
            d_a = None
            if d_y is not None:
                d_a = d_y * 2
            d_x = d_a
        else:
            d_b = None
            d_b = pb(d_y)
            if d_b is not None:
                d_x = d_b
        for k in range(n):
            d_c = accum(d_c, d_x)
        result = (None, d_x, d_c)
    """
    # d_x: used in both branches and after; d_c: in a loop (never entered); d_unused: used nowhere
    got = placed(["d_a", "d_b", "d_c", "d_x", "d_unused"], src)
    assert got == textwrap.dedent(expected).strip()


def test_an_init_used_by_a_branch_test_stays_before_the_if():
    src = """
        if d_a is not None:
            d_x = d_a
        result = d_x
    """
    assert placed(["d_a", "d_x"], src).startswith("d_a = None\nd_x = None\nif d_a is not None:")
