"""fluxpy benchmarks: ``python -m benchmarks`` times gradients next to hand-written NumPy and peers."""
