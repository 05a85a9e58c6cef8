"""Command line: ``python -m fluxpy demo`` and ``python -m fluxpy adjoint path/to/file.py:function``."""

import argparse
import importlib.util
import sys


def demo():
    """The seeds' gradient examples, printed with their generated adjoint."""
    import numpy as np

    import fluxpy as fx

    from . import _demo_functions as d

    print("f(x) = 3x^2 + 2x + 1")
    print("  gradient(f, 2.0) =", fx.gradient(d.f, 2.0))
    print("  second derivative =", fx.gradient(d.df, 2.0))
    print("sum((x - y)^2) at [2, 1], [2, 0]:", fx.gradient(d.sum_sq, np.array([2, 1]), np.array([2, 0])))
    print("\nGenerated forward and pullback of f:\n")
    print(fx.adjoint_source(d.f))
    return 0


def adjoint(target):
    """Print the generated source of ``file.py:function``."""
    import fluxpy as fx

    path, _, name = target.rpartition(":")
    spec = importlib.util.spec_from_file_location("_fluxpy_target", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    print(fx.adjoint_source(getattr(module, name)))
    return 0


def main(argv):
    parser = argparse.ArgumentParser(prog="fluxpy", description=__doc__)
    sub = parser.add_subparsers(dest="command")
    sub.add_parser("demo", help="run the demo")
    p = sub.add_parser("adjoint", help="print the generated forward and pullback of file.py:function")
    p.add_argument("target")
    args = parser.parse_args(argv)
    if args.command == "adjoint":
        return adjoint(args.target)
    return demo()


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
