"""Rules: numpy_shape (being written)."""
