"""Functions the demo differentiates (they live in a file so their source can be transformed)."""

import numpy as np

import fluxpy as fx


def f(x):
    return 3 * x**2 + 2 * x + 1


def df(x):
    return fx.gradient(f, x)[0]


def sum_sq(x, y):
    return np.sum((x - y) ** 2)
