"""The rule library: ``registry`` plus one module per namespace covered.

Importing this package registers every rule.
"""

from . import (
    augmented,  # noqa: F401
    forward,  # noqa: F401
    forward_over_reverse,  # noqa: F401
    higher_order,  # noqa: F401
    itertools_impl,  # noqa: F401
    math,  # noqa: F401
    mutation,  # noqa: F401
    numpy_assembly,  # noqa: F401
    numpy_decompositions,  # noqa: F401
    numpy_elementwise,  # noqa: F401
    numpy_fft,  # noqa: F401
    numpy_implemented,  # noqa: F401
    numpy_index_tricks,  # noqa: F401
    numpy_indexing,  # noqa: F401
    numpy_linalg,  # noqa: F401
    numpy_nan,  # noqa: F401
    numpy_random,  # noqa: F401
    numpy_reductions,  # noqa: F401
    numpy_sequences,  # noqa: F401
    numpy_shape,  # noqa: F401
    numpy_statistics,  # noqa: F401
    numpy_stride_tricks,  # noqa: F401
    numpy_ufunc_methods,  # noqa: F401
    numpy_vectorize,  # noqa: F401
    optional,  # noqa: F401  (the rules of SciPy, when it is imported)
    python,  # noqa: F401
    python_cmath,  # noqa: F401
    python_stdlib,  # noqa: F401
    python_warnings,  # noqa: F401
    registry,  # noqa: F401
)
