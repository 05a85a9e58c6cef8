"""Rules: numpy_reductions (being written)."""
