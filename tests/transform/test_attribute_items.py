"""``self.params["W1"] = v`` in a constructor (CS231n's models): an item write into a container the
function made and holds only in an attribute is a rebinding of the attribute (attribute_items.py); where
another reference may hold the container, it stays refused."""

import numpy as np
import pytest

import fluxpy as fx
from fluxpy.testing import check_grads

ITEM_OF_EXPRESSION = "assigning to an item of an expression that is not a plain name"


class TwoLayerNet:
    def __init__(self, W, reg=0.0):
        self.reg = reg
        self.params = {}
        self.params["W1"] = W * 2.0
        self.params["b1"] = np.zeros(W.shape[1])
        self.layers = []
        self.layers.append(0)  # (a list method: left as it is)

    def loss(self, X):
        W1 = self.params["W1"]
        return np.sum(np.tanh(X @ W1 + self.params["b1"]) ** 2) + self.reg * np.sum(W1 * W1)


def net_loss(W):
    return TwoLayerNet(W, reg=0.1).loss(np.array([[1.0, 2.0], [0.5, -1.0]]))


def net_loss_int_reg(W):
    return TwoLayerNet(W).loss(np.array([[1.0, 2.0]]))


def test_constructor_filling_a_dict_attribute_is_differentiated():
    W = np.array([[0.1, -0.2, 0.3], [0.4, 0.5, -0.6]])
    check_grads(net_loss, W, order=2, forward=True)
    check_grads(net_loss_int_reg, W, order=2, forward=True)


class SharesItsArgument:
    def __init__(self, params, w):
        self.params = params  # the caller's dict: Python's write changes it
        self.params["w"] = w


class SharesAnAlias:
    def __init__(self, w):
        self.params = {}
        p = self.params  # a second reference to the dict
        self.params["w"] = w
        self.p = p


def shares_argument(w):
    d = {}
    SharesItsArgument(d, w * 1.0)
    return d["w"]


def shares_alias(w):
    return SharesAnAlias(w * 1.0).p["w"]


@pytest.mark.parametrize("f", [shares_argument, shares_alias])
def test_a_container_another_reference_may_hold_stays_refused(f):
    with pytest.raises(fx.TransformError, match=ITEM_OF_EXPRESSION):
        fx.gradient(f, 1.5)
