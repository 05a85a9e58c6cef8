"""Peak memory of the MLP 784→128→10 gradient (float32, batch 64): fluxpy against the hand-written backprop,
as traced by tracemalloc (NumPy reports its array buffers to it; Python objects such as pullback closures
count too). Target: at most 1.3x.
"""

from benchmarks import fluxpy_impl, handwritten, workloads
from benchmarks.timing import peak_memory

TARGET = 1.3
NAME = "peak memory of the MLP 784→128→10 gradient (tracemalloc)"


def measure():
    """``(hand-written peak bytes, fluxpy peak bytes)``."""
    d = workloads.mlp()
    return peak_memory(handwritten.make_mlp(d)), peak_memory(fluxpy_impl.make_mlp(d))
