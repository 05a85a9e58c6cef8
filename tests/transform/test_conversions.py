"""The fast tree conversions and walks (parse.to_gast, codegen.to_ast, nodes.walk/children) agree with
gast's own, which they replace for speed (a fresh transform spent half its time in gast's)."""

import ast
import gc
import inspect
import textwrap

import gast
import numpy as np
import pytest

import fluxpy as fx
from fluxpy.errors import TransformError
from fluxpy.transform import adjoint, codegen, parse
from fluxpy.transform import nodes as n

# syntax of every kind the fence accepts or rejects: the conversions see a function before the fence does
SAMPLE = textwrap.dedent('''
    import numpy as np
    from math import sin as s, cos


    @decorator(1)
    def f(a, b: float = 2.0, /, c=3, *args, d, e: "E" = None, **kw) -> float:
        """Docstring."""
        x, *rest = a
        y = [i * 2 for i in range(3) if i] + list({k: v for k, v in kw.items()}) + [*{1, 2}]
        z = (lambda t, u=1: t + u)(x) if x is not None else -a ** 2 // 3 % 4 @ b
        w = f"{x!r:>{y}} and {z}" + 'q' + "it's" + b"bytes".decode()
        v = a[1:2, ::3, ...][0].attr[-1] if not (a < b <= c != d is not e) else {1: 2}
        a[0] = b.c = 1
        x += 1
        x: int = 5
        global g
        for i, (j, k) in enumerate(zip(a, b)):
            if i:
                continue
            elif j:
                break
            else:
                pass
        else:
            nonlocal_name = 1
        while x > 0 and (y := x - 1):
            x -= 1
        try:
            raise ValueError("no") from None
        except (TypeError, ValueError) as err:
            del err
        except Exception:
            pass
        else:
            assert x, "message"
        finally:
            x = None
        with open("f") as fh, ctx():
            yield fh
        match x:
            case [1, *others] if others:
                pass
            case {"k": v, **others}:
                pass
            case Point(x=0) | None:
                pass
        return (yield from g())


    async def h():
        async with a as b:
            async for i in b:
                await i


    class C(Base, metaclass=M):
        attr: int = 1

        def method(self):
            return super().method()
''')


def _trees():
    texts = [SAMPLE, inspect.getsource(adjoint), inspect.getsource(codegen)]
    return [ast.parse(text) for text in texts]


def _dump(node):
    """Fields, positions and missing fields: what a tree is, for comparing two (ast.dump hides positions
    of gast nodes and cannot tell a missing field)."""
    if isinstance(node, ast.AST):
        fields = tuple((f, _dump(getattr(node, f))) for f in node._fields if hasattr(node, f))
        positions = tuple((a, getattr(node, a)) for a in node._attributes if hasattr(node, a))
        missing = tuple(f for f in node._fields if not hasattr(node, f))
        return type(node).__name__, fields, positions, missing
    if isinstance(node, list):
        return [_dump(x) for x in node]
    return node


@pytest.mark.parametrize("tree", _trees(), ids=["sample", "adjoint.py", "codegen.py"])
def test_to_gast_is_gasts_own_conversion(tree):
    assert _dump(parse.to_gast(tree)) == _dump(gast.ast_to_gast(tree))


@pytest.mark.parametrize("tree", _trees(), ids=["sample", "adjoint.py", "codegen.py"])
def test_to_ast_unparses_as_gasts_own_conversion_and_collects_every_name(tree):
    tree = gast.ast_to_gast(tree)
    names = set()
    text = ast.unparse(codegen.to_ast(tree, names))
    assert text == ast.unparse(ast.fix_missing_locations(gast.gast_to_ast(tree)))
    assert names == {node.id for node in gast.walk(tree) if isinstance(node, gast.Name)}


@pytest.mark.parametrize("tree", _trees(), ids=["sample", "adjoint.py", "codegen.py"])
def test_walk_and_children_are_gasts_in_the_same_order(tree):
    tree = gast.ast_to_gast(tree)
    expected = list(gast.walk(tree))
    found = n.walk(tree)
    assert len(found) == len(expected) and all(a is b for a, b in zip(found, expected, strict=True))
    for node in expected:
        assert n.children(node) == list(gast.iter_child_nodes(node))


def cube(x):
    return x * x * x


def has_nonlocal(x):
    def inner():
        nonlocal x
        x = 2.0

    inner()
    return x


def test_a_transform_leaves_the_garbage_collector_as_it_found_it():
    assert gc.isenabled()
    assert fx.gradient(cube, 2.0) == (12.0,)
    assert gc.isenabled()
    with pytest.raises(TransformError):
        fx.gradient(has_nonlocal, 1.0)
    assert gc.isenabled()
    gc.disable()
    try:
        assert fx.gradient(lambda x: np.sin(x) * x, 0.0) == (0.0,)
        assert not gc.isenabled()
    finally:
        gc.enable()
