"""NumPy's random sampling: the draws that depend on nothing but a size are constants.

``rng.standard_normal(x.shape)`` (a ``Generator``) and the legacy ``np.random.randn(3)`` (methods of the
global ``RandomState``) give noise whose only arguments are counts and shapes, and a shape read from a
differentiated array is a tuple of ints, which fluxpy counts as differentiable (ints are reals, as in
Flux). Marked non-differentiable here, they never ask for a rule. The sampling methods of a bound C method
are marked through their class (``registry.is_nondiff`` looks a bound method up by its class's attribute).

Draws with parameters (``rng.normal(mu, sigma)``, ``rng.choice(x)``, ``rng.permutation(x)``) are not
marked: a gradient could flow to their parameters, and fluxpy refuses it (``NoAdjointError``) rather than
drop it. Write ``mu + sigma * rng.standard_normal(shape)`` (the reparameterisation) to differentiate a
normal draw.

>>> import numpy as np, fluxpy as fx
>>> def noisy(mu):
...     eps = np.random.default_rng(0).standard_normal(mu.shape)
...     return np.sum(mu * eps)
>>> mu = np.array([0.5, 1.2])
>>> bool(np.allclose(fx.gradient(noisy, mu)[0], np.random.default_rng(0).standard_normal(2)))
True
"""

import numpy as np

from .registry import nograd

_GENERATOR = "random integers standard_normal standard_exponential standard_cauchy bytes spawn"
_RANDOM_STATE = (
    "rand randn random_sample random ranf sample randint random_integers standard_normal "
    "standard_exponential standard_cauchy tomaxint bytes seed get_state set_state"
)

nograd(
    np.random.default_rng,
    np.random.seed,
    np.random.get_state,
    np.random.set_state,
    *[
        getattr(np.random.Generator, name)
        for name in _GENERATOR.split()
        if hasattr(np.random.Generator, name)
    ],
    *[
        getattr(np.random.RandomState, name)
        for name in _RANDOM_STATE.split()
        if hasattr(np.random.RandomState, name)
    ],
)
