"""The JAX columns: each maker returns ``(grad_fn, args)``; "jax eager" calls ``grad_fn(*args)`` op by op,
"jax jit" calls ``jax.jit(grad_fn)`` (timed after compilation: the warm-up calls compile it). Both wait for
the result (``block_until_ready``). float64 is enabled so that the float64 workloads run in float64; the
float32 ones pass float32 arrays and stay float32. Importing this module raises ImportError when JAX is not
installed (the columns are then skipped).
"""

import jax
import jax.numpy as jnp
from jax import lax

from benchmarks.fluxpy_impl import poly, scalar_loop  # plain arithmetic: JAX traces it as it is
from benchmarks.workloads import cnn_weights, dense_weights

jax.config.update("jax_enable_x64", True)


def _arrays(*xs):
    return tuple(jnp.asarray(x) for x in xs)


def make_poly_first(d):
    return jax.grad(poly), (d.x,)


def make_poly_second(d):
    return jax.grad(jax.grad(poly)), (d.x,)


def make_sum_sq(d):
    return jax.grad(lambda x, y: jnp.sum((x - y) ** 2), argnums=(0, 1)), _arrays(d.x, d.y)


def mlp_loss(params, x, y):
    W1, b1, W2, b2 = params
    h = jnp.tanh(x @ W1 + b1)
    return jnp.mean((h @ W2 + b2 - y) ** 2)


def make_mlp(d):
    return jax.grad(mlp_loss), (_arrays(*d.params),) + _arrays(d.x, d.y)


def digits_loss(params, x, onehot):
    W1, b1, W2, b2 = params
    out = jax.nn.relu(x @ W1.T + b1) @ W2.T + b2
    return jnp.mean(-jnp.sum(onehot * jax.nn.log_softmax(out), axis=1))


def make_digits_mlp(d):
    return jax.grad(digits_loss), (_arrays(*dense_weights(d.model)),) + _arrays(d.x, d.onehot)


def rnn_loss(W, U, xs, h):
    for t in range(xs.shape[0]):
        h = jnp.tanh(W @ h + U @ xs[t])
    return jnp.sum(h**2)


def make_rnn(d):
    return jax.grad(rnn_loss, argnums=(0, 1)), _arrays(d.W, d.U, d.xs, d.h0)


def make_scalar_loop(d):
    return jax.grad(scalar_loop), (d.x,)


def _conv(x, w, b):
    """A true convolution (fluxpy's Conv): lax correlates, so the kernel is flipped."""
    y = lax.conv_general_dilated(
        x, w[:, :, ::-1, ::-1], (1, 1), ((1, 1), (1, 1)), dimension_numbers=("NCHW", "OIHW", "NCHW")
    )
    return y + b[None, :, None, None]


def _maxpool(x):
    return lax.reduce_window(x, -jnp.inf, lax.max, (1, 1, 2, 2), (1, 1, 2, 2), "VALID")


def cnn_loss(params, x, onehot):
    w1, b1, w2, b2, wd, bd = params
    h = _maxpool(jax.nn.relu(_conv(x, w1, b1)))
    h = _maxpool(jax.nn.relu(_conv(h, w2, b2)))
    out = h.reshape(x.shape[0], -1) @ wd.T + bd
    return -jnp.sum(jax.nn.log_softmax(out) * onehot) / x.shape[0]


def make_cnn(d):
    return jax.grad(cnn_loss), (_arrays(*cnn_weights(d.model)),) + _arrays(d.x, d.onehot)


def eager(made):
    g, args = made
    return lambda: jax.block_until_ready(g(*args))


def jitted(made):
    g, args = made
    g = jax.jit(g)
    return lambda: jax.block_until_ready(g(*args))


def description():
    return f"JAX {jax.__version__} ({jax.default_backend()})"
