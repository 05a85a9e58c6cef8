"""``d.setdefault(key, default)`` in differentiated code (fluxpy/runtime/methods.py): a key already in the
dict is a read of its item, whose gradient flows (CS231n's ``config.setdefault("learning_rate", 1e-2)``);
inserting a float default into a dict is still refused, as ``dict.update`` is."""

import numpy as np
import pytest

import fluxpy as fx
from fluxpy.errors import FluxpyError
from fluxpy.testing import check_grads


def sgd(w, dw, config):  # CS231n's optim.py
    config.setdefault("learning_rate", 1e-2)
    return w - config["learning_rate"] * dw


def unrolled(w, lr):
    return np.sum(sgd(w, w, {"learning_rate": lr}) ** 2)


def returned(w, lr):
    config = {"learning_rate": lr, "momentum": 0.9}
    return np.sum(w * config.setdefault("learning_rate", 1e-2) * config.setdefault("momentum"))


def nested(p):
    config = {"p": p}
    return config.setdefault("p", 0.0)["w"] ** 2


CASES = [
    pytest.param(unrolled, (np.array([1.0, -2.0]), 0.1), id="cs231n-sgd"),
    pytest.param(returned, (np.array([1.0, -2.0]), 0.3), id="value-returned"),
    pytest.param(nested, ({"w": 1.5},), id="nested-dict-item"),
]


@pytest.mark.parametrize("f, args", CASES)
def test_setdefault_of_a_present_key_is_a_read(f, args):
    check_grads(f, *args, order=2)


def test_cs231n_gradient():
    gw, glr = fx.gradient(unrolled, np.ones(2), 0.1)
    np.testing.assert_allclose(gw, [1.62, 1.62])
    np.testing.assert_allclose(glr, -3.6)


def test_inserting_a_float_default_is_still_refused():
    def f(lr):
        config = {}
        return config.setdefault("learning_rate", lr) * 2.0

    with pytest.raises(FluxpyError, match="setdefault"):
        fx.gradient(f, 0.1)
