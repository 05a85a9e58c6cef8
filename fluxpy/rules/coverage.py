"""Which public NumPy functions have a rule, are marked non-differentiable, or have neither.

``python -m fluxpy.rules.coverage`` prints the functions without rules.
"""

import numpy as np

from . import registry

NAMESPACES = {"np": np, "np.linalg": np.linalg, "np.fft": np.fft}


def numpy_callables():
    """``{"np.sum": np.sum, ...}`` for the public callables of the covered NumPy namespaces."""
    out = {}
    for prefix, module in NAMESPACES.items():
        for name in dir(module):
            if name.startswith("_"):
                continue
            obj = getattr(module, name)
            if callable(obj) and not isinstance(obj, type):
                out[f"{prefix}.{name}"] = obj
    return out


def report():
    """``(with_rule, nondifferentiable, without)``: sorted lists of names."""
    rules, nondiff = registry.registered()
    with_rule, marked, without = [], [], []
    for name, obj in numpy_callables().items():
        key = registry._key(obj)
        if key in rules:
            with_rule.append(name)
        elif key in nondiff:
            marked.append(name)
        else:
            without.append(name)
    return sorted(with_rule), sorted(marked), sorted(without)


if __name__ == "__main__":
    import fluxpy  # noqa: F401  (registers the rules)

    have, marked, missing = report()
    print(
        f"{len(have)} NumPy functions with rules, {len(marked)} marked non-differentiable, "
        f"{len(missing)} without either:"
    )
    for name in missing:
        print("  " + name)
