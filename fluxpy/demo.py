"""``fluxpy demo``: placeholder, being written (train on the handwritten-digits data)."""

from . import _demo_functions as d


def add_arguments(parser):
    """Add the demo's options to an argparse parser."""


def run(args):
    """Run the demo with parsed arguments; returns the exit status."""
    import numpy as np

    import fluxpy as fx

    print("gradient(f, 2.0) =", fx.gradient(d.f, 2.0))
    print("sum((x - y)^2):", fx.gradient(d.sum_sq, np.array([2, 1]), np.array([2, 0])))
    print(fx.adjoint_source(d.f))
    return 0
