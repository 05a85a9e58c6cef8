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
    numpy_apply,  # noqa: F401
    numpy_assembly,  # noqa: F401
    numpy_builders,  # noqa: F401
    numpy_construction,  # noqa: F401
    numpy_decompositions,  # noqa: F401
    numpy_elementwise,  # noqa: F401
    numpy_fft,  # noqa: F401
    numpy_histograms,  # noqa: F401
    numpy_implemented,  # noqa: F401
    numpy_index_tricks,  # noqa: F401
    numpy_indexing,  # noqa: F401
    numpy_joins,  # noqa: F401
    numpy_linalg,  # noqa: F401
    numpy_nan,  # noqa: F401
    numpy_polynomials,  # noqa: F401
    numpy_random,  # noqa: F401
    numpy_rearrange,  # noqa: F401
    numpy_reductions,  # noqa: F401
    numpy_reshapes,  # noqa: F401
    numpy_sequences,  # noqa: F401
    numpy_sets,  # noqa: F401
    numpy_shape,  # noqa: F401
    numpy_signal,  # noqa: F401
    numpy_statistics,  # noqa: F401
    numpy_stride_tricks,  # noqa: F401
    numpy_ufunc_methods,  # noqa: F401
    numpy_vectorize,  # noqa: F401
    optional,  # noqa: F401  (the rules of SciPy, when it is imported)
    python_attributes,  # noqa: F401
    python_builtins,  # noqa: F401
    python_cmath,  # noqa: F401
    python_common,  # noqa: F401
    python_containers,  # noqa: F401
    python_control,  # noqa: F401
    python_cotangents,  # noqa: F401
    python_in_place,  # noqa: F401
    python_iteration,  # noqa: F401
    python_operators,  # noqa: F401
    python_packing,  # noqa: F401
    python_power,  # noqa: F401
    python_stdlib,  # noqa: F401
    python_warnings,  # noqa: F401
    python_zip,  # noqa: F401
    registry,  # noqa: F401
)
