"""``python -m fluxpy``: the ``fluxpy`` command line (``demo``, ``adjoint``), as in :mod:`fluxpy.cli`."""

import sys


def main(argv=None):
    from .cli import main as cli_main

    return cli_main(sys.argv[1:] if argv is None else argv)


if __name__ == "__main__":
    from .cli import console

    console()
