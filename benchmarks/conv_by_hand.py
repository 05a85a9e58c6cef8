"""The small CNN's gradient by hand (the hand-written column of the CNN workload), with no help from fluxpy:
im2col convolutions (batched matrix products both ways), 2x2 max pools, a dense layer and softmax
cross-entropy.

The convolutions are true convolutions as fluxpy's ``Conv`` (kernel flipped), 3x3, stride 1, padding 1.
im2col lays each image's patches out as a ``(channels * 3 * 3, height * width)`` matrix, so the forward
pass, the weight gradient and the patch gradient are each one batched matrix product, with no transposes.
"""

import numpy as np

from benchmarks.workloads import cnn_weights

PAD = 1


def im2col(x, kh, kw):
    """``(n, c * kh * kw, h * w)``: column ``(i, j)`` of image ``b`` holds its padded patch at ``(i, j)``."""
    n, c, h, w = x.shape
    padded = np.pad(x, ((0, 0), (0, 0), (PAD, PAD), (PAD, PAD)))
    cols = np.empty((n, c, kh, kw, h, w), x.dtype)
    for i in range(kh):
        for j in range(kw):
            cols[:, :, i, j] = padded[:, :, i : i + h, j : j + w]
    return cols.reshape(n, c * kh * kw, h * w)


def col2im(dcols, shape, kh, kw):
    """The adjoint of im2col: add each patch's gradient back where the patch came from."""
    n, c, h, w = shape
    dcols = dcols.reshape(n, c, kh, kw, h, w)
    dpadded = np.zeros((n, c, h + 2 * PAD, w + 2 * PAD), dcols.dtype)
    for i in range(kh):
        for j in range(kw):
            dpadded[:, :, i : i + h, j : j + w] += dcols[:, :, i, j]
    return dpadded[:, :, PAD:-PAD, PAD:-PAD]


def conv_forward(x, weight, bias):
    """``(y, cols)``: the convolution (correlation with the flipped kernel) and the patches it used."""
    n, _, h, w = x.shape
    out = weight.shape[0]
    cols = im2col(x, *weight.shape[2:])
    flipped = weight[:, :, ::-1, ::-1].reshape(out, -1)
    y = (flipped @ cols).reshape(n, out, h, w) + bias[:, None, None]
    return y, cols


def conv_backward(dy, cols, weight, x_shape=None):
    """``(dx, dweight, dbias)``; ``dx`` only when ``x_shape`` is given (the first layer needs none)."""
    n, out = dy.shape[:2]
    dy = dy.reshape(n, out, -1)
    dweight = (dy @ cols.transpose(0, 2, 1)).sum(axis=0).reshape(weight.shape)[:, :, ::-1, ::-1]
    dx = None
    if x_shape is not None:
        flipped = weight[:, :, ::-1, ::-1].reshape(out, -1)
        dx = col2im(flipped.T @ dy, x_shape, *weight.shape[2:])
    return dx, dweight, dy.sum(axis=(0, 2))


def maxpool(x):
    """2x2 windows, stride 2: the largest of the four strided views (a reshape and ``max(axis=(3, 5))``
    reads the same numbers but reduces over strided length-2 axes, several times slower)."""
    top = np.maximum(x[:, :, 0::2, 0::2], x[:, :, 0::2, 1::2])
    return np.maximum(top, np.maximum(x[:, :, 1::2, 0::2], x[:, :, 1::2, 1::2]))


def maxpool_backward(dy, x, y):
    """The gradient flows to each window's maximum. Ties only occur among zeros after a relu, whose
    gradient the relu then drops, so they need no splitting."""
    dx = np.empty_like(x)
    for i in (0, 1):
        for j in (0, 1):
            dx[:, :, i::2, j::2] = (x[:, :, i::2, j::2] == y) * dy
    return dx


def cnn_gradient(model, x, onehot):
    """Gradients of the six arrays of benchmarks/cnn.py's model for its loss, in ``cnn_weights`` order."""
    w1, b1, w2, b2, wd, bd = cnn_weights(model)
    a1, cols1 = conv_forward(x, w1, b1)
    h1 = np.maximum(a1, 0)
    p1 = maxpool(h1)
    a2, cols2 = conv_forward(p1, w2, b2)
    h2 = np.maximum(a2, 0)
    p2 = maxpool(h2)
    flat = p2.reshape(x.shape[0], -1)
    out = flat @ wd.T + bd
    e = np.exp(out - out.max(axis=1, keepdims=True))
    dout = (e / e.sum(axis=1, keepdims=True) - onehot) / x.shape[0]
    dflat = dout @ wd
    da2 = maxpool_backward(dflat.reshape(p2.shape), h2, p2) * (a2 > 0)
    dp1, dw2, db2 = conv_backward(da2, cols2, w2, p1.shape)
    da1 = maxpool_backward(dp1, h1, p1) * (a1 > 0)
    _, dw1, db1 = conv_backward(da1, cols1, w1)
    return dw1, db1, dw2, db2, dout.T @ flat, dout.sum(axis=0)
