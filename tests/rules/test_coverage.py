"""The coverage report: every function the core issue names has a rule; the rest are listed."""

import fluxpy  # noqa: F401
from fluxpy.rules.coverage import report

REQUIRED = """
np.sum np.mean np.prod np.max np.min np.var np.std np.cumsum np.cumprod np.reshape np.transpose np.swapaxes
np.expand_dims np.squeeze np.concatenate np.stack np.split np.broadcast_to np.pad np.flip np.roll np.tile
np.repeat np.where np.clip np.sort np.matmul np.dot np.outer np.inner np.einsum np.tensordot np.kron np.trace
np.diag np.linalg.inv np.linalg.det np.linalg.slogdet np.linalg.solve np.linalg.cholesky np.linalg.norm
np.linalg.eigh np.sin np.cos np.exp np.log np.tanh np.sqrt np.abs np.maximum np.minimum np.add np.multiply
np.subtract np.divide np.power np.negative
""".split()

NONDIFF = "np.argmax np.argmin np.floor np.sign np.zeros np.ones np.zeros_like np.shape".split()


def test_required_functions_have_rules():
    have, marked, missing = report()
    assert [name for name in REQUIRED if name not in have] == []


def test_non_differentiable_functions_are_marked():
    have, marked, missing = report()
    assert [name for name in NONDIFF if name not in marked] == []


def test_report_lists_the_functions_without_rules(capsys):
    have, marked, missing = report()
    print(f"{len(missing)} NumPy functions without rules:", ", ".join(missing))
    assert "without rules" in capsys.readouterr().out
    assert len(have) > 150


def test_no_primal_is_claimed_by_two_rule_modules():
    from fluxpy.rules import registry

    assert registry.conflicts() == []
