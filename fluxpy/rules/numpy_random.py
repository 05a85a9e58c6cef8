"""NumPy's random sampling: noise without parameters is a constant; reparameterised draws have rules.

``rng.standard_normal(x.shape)`` (a ``Generator``) and the legacy ``np.random.randn(3)`` (methods of the
global ``RandomState``) give noise whose only arguments are counts and shapes, and a shape read from a
differentiated array is a tuple of ints, which fluxpy counts as differentiable (ints are reals, as in
Flux). Marked non-differentiable here, they never ask for a rule. The sampling methods of a bound C method
are marked through their class (``registry.is_nondiff`` looks a bound method up by its class's attribute).

Draws of a location-scale family are differentiated with respect to their parameters as the
reparameterisation trick does (the VAE's; JAX's samplers, PyTorch's ``rsample``): the draw is a fixed
function of the parameters and of standard noise, ``loc + scale * eps``, and the noise is held fixed.

=====================================  =================================  ==================================
method (``Generator`` and legacy        value (NumPy's own)                cotangents
``RandomState``, ``np.random.normal``)
=====================================  =================================  ==================================
``normal(loc, scale, size)``           ``loc + scale * eps``              ``dloc = dy``, ``dscale = dy * eps``
``laplace``, ``gumbel``, ``logistic``  the same, ``eps`` of that family   the same
``uniform(low, high, size)``           ``low + (high - low) * u``         ``dy * (1 - u)``, ``dy * u``
``exponential(scale, size)``           ``scale * eps``                    ``dscale = dy * eps``
``rayleigh(scale, size)``              ``scale * eps``                    ``dscale = dy * eps``
``lognormal(mean, sigma, size)``       ``exp(mean + sigma * eps)``        ``dy * y``, ``dy * y * eps``
=====================================  =================================  ==================================

The value is NumPy's own call, so the stream, the generator's state afterwards and every bit of the result
are NumPy's. ``eps`` is the draw of the same method at the standard parameters (``normal(0.0, 1.0)``): each
of these methods consumes the stream one element at a time, in C order of the output, with an amount that
does not depend on the parameters, so the same method from the same state at ``(0, 1)`` gives the standard
draws that NumPy combined with the parameters (``0 + 1 * e`` is ``e`` exactly). The state before the draw
is saved, and ``eps`` is drawn, on the pullback's first call, by a scratch generator set to that state: the
caller's generator is left exactly as NumPy leaves it. (Saving a legacy ``RandomState``'s Mersenne-Twister
state costs about 40 µs a call; a ``Generator``'s about 1 µs.)

Not differentiated, and refused (``NoAdjointError``) when a gradient would flow to their parameters:
``gamma``, ``beta``, ``chisquare``, ``standard_t``, ``wald``, ``vonmises`` and the other draws that
reject by their shape parameter (how much of the stream a draw consumes depends on it: there is no fixed
noise to hold, they need implicit reparameterisation gradients); ``weibull``, ``pareto`` and ``power``
(a power of a standard exponential draw: a rule could follow); the discrete ones (``binomial``,
``poisson``, ``choice``, ``permutation``) and ``multivariate_normal`` (its value goes through an SVD of
the covariance, whose derivative would have to match it).

>>> import numpy as np, fluxpy as fx
>>> def noisy(mu):
...     eps = np.random.default_rng(0).standard_normal(mu.shape)
...     return np.sum(mu * eps)
>>> mu = np.array([0.5, 1.2])
>>> bool(np.allclose(fx.gradient(noisy, mu)[0], np.random.default_rng(0).standard_normal(2)))
True
>>> def sample(mu, sigma):
...     return np.sum(np.random.default_rng(0).normal(mu, sigma, size=2))
>>> dmu, dsigma = fx.gradient(sample, 0.5, 2.0)
>>> dmu, dsigma == float(np.sum(np.random.default_rng(0).standard_normal(2)))
(2.0, True)
"""

import threading

import numpy as np

from .helpers import unbroadcast, unstacked
from .registry import nograd, register

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


# ---------------------------------------------------------------------------------------------------------
# bookkeeping: the state before a draw, and the standard draws behind it (never differentiated)

_scratch = {}  # (generator class, bit generator class) -> a generator whose state is set for each redraw
_scratch_lock = threading.Lock()


@nograd
def _noise(rng, method, standard):
    """A record of what the pullback needs to redraw the standard noise of ``rng.method(...)``: taken
    before the draw, it holds ``rng``'s state then. :func:`_standard` fills in the draws on first use."""
    if isinstance(rng, np.random.RandomState):  # its state holds the cached second Gaussian too
        bits, state = rng._bit_generator, rng.get_state(legacy=False)
    else:
        bits = rng.bit_generator
        state = bits.state
    return {"kind": (type(rng), type(bits)), "state": state, "method": method, "std": standard}


@nograd
def _standard(noise, y):
    """The standard draws behind the draw ``y`` that :func:`_noise` recorded: the same method from the
    same state, at the standard parameters, with ``y``'s shape (made once, on the first call)."""
    if "eps" not in noise:
        size = y.shape if isinstance(y, np.ndarray) else None
        with _scratch_lock:
            rng = _scratch_generator(noise["kind"])
            if isinstance(rng, np.random.RandomState):
                rng.set_state(noise["state"])
            else:
                rng.bit_generator.state = noise["state"]
            noise["eps"] = getattr(rng, noise["method"])(*noise["std"], size=size)
    return noise["eps"]


def _scratch_generator(kind):
    rng = _scratch.get(kind)
    if rng is None:
        generator, bit_generator = kind
        base = np.random.RandomState if issubclass(generator, np.random.RandomState) else np.random.Generator
        rng = _scratch[kind] = base(bit_generator(0))
    return rng


@nograd
def _shape_of(param):
    """A stand-in with the shape NumPy reads ``param`` as (for :func:`unbroadcast`)."""
    return np.empty(np.shape(param))


def _cotangent(g, param):
    """The cotangent ``g`` of a draw summed down to the parameter ``param`` it broadcast (a number gives a
    number, a list of floats a list)."""
    if type(param) is list or type(param) is tuple:
        return unstacked(unbroadcast(g, _shape_of(param)), param)
    return unbroadcast(g, param)


# ---------------------------------------------------------------------------------------------------------
# the rules: one per family, registered for Generator's and RandomState's methods


def _location_scale_rule(method):
    def location_scale_rule(rng, loc=0.0, scale=1.0, size=None):
        noise = _noise(rng, method, (0.0, 1.0))
        y = getattr(rng, method)(loc, scale, size)

        def location_scale_pullback(dy):
            return (None, _cotangent(dy, loc), _cotangent(dy * _standard(noise, y), scale), None)

        return y, location_scale_pullback

    location_scale_rule.__name__ = f"{method}_rule"
    return location_scale_rule


def _scale_rule(method):
    def scale_rule(rng, scale=1.0, size=None):
        noise = _noise(rng, method, (1.0,))
        y = getattr(rng, method)(scale, size)

        def scale_pullback(dy):
            return (None, _cotangent(dy * _standard(noise, y), scale), None)

        return y, scale_pullback

    scale_rule.__name__ = f"{method}_rule"
    return scale_rule


def uniform_rule(rng, low=0.0, high=1.0, size=None):
    noise = _noise(rng, "uniform", (0.0, 1.0))
    y = rng.uniform(low, high, size)

    def uniform_pullback(dy):
        u = _standard(noise, y)
        return (None, _cotangent(dy * (1.0 - u), low), _cotangent(dy * u, high), None)

    return y, uniform_pullback


def lognormal_rule(rng, mean=0.0, sigma=1.0, size=None):
    noise = _noise(rng, "normal", (0.0, 1.0))  # exp(normal(mean, sigma)): the same stream as normal's
    y = rng.lognormal(mean, sigma, size)

    def lognormal_pullback(dy):
        g = dy * y
        return (None, _cotangent(g, mean), _cotangent(g * _standard(noise, y), sigma), None)

    return y, lognormal_pullback


for _cls in (np.random.Generator, np.random.RandomState):
    for _method in ("normal", "laplace", "gumbel", "logistic"):
        register(getattr(_cls, _method), _location_scale_rule(_method))
    for _method in ("exponential", "rayleigh"):
        register(getattr(_cls, _method), _scale_rule(_method))
    register(_cls.uniform, uniform_rule)
    register(_cls.lognormal, lognormal_rule)
