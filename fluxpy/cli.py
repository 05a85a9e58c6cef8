"""Command line: ``fluxpy demo`` and ``fluxpy adjoint path/to/file.py:function``.

Also reachable as ``python -m fluxpy ...``.
"""

import argparse
import importlib.util
import sys


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
    sub = parser.add_subparsers(dest="command", required=True)
    demo_parser = sub.add_parser("demo", help="train on the handwritten-digits data: linear, MLP, CNN")
    from . import demo

    demo.add_arguments(demo_parser)
    p = sub.add_parser("adjoint", help="print the generated forward and pullback of file.py:function")
    p.add_argument("target")
    args = parser.parse_args(argv)
    if args.command == "adjoint":
        return adjoint(args.target)
    return demo.run(args)


def console():
    """Entry point of the ``fluxpy`` console script."""
    sys.exit(main(sys.argv[1:]))


if __name__ == "__main__":
    console()
