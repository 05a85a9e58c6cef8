"""The benchmarks' implementations agree with each other (benchmarks/): every workload's hand-written and
fluxpy gradients, and the installed peers' on the cheap workloads (all of them are checked at the start of
every ``python -m benchmarks`` run). No timing here (STYLE.md rule 12)."""

import pytest

from benchmarks import cases, first_call, run, second_order

NAMES = [name for name, *_ in cases.WORKLOADS]
CHEAP = [name for name, kind, *_ in cases.WORKLOADS if kind != "array"]  # the peers' checks stay fast


@pytest.fixture(autouse=True, scope="module")
def one_blas_thread():
    """One BLAS thread: on a busy machine, multithreaded OpenBLAS can be 50x slower on these small products."""
    try:
        from threadpoolctl import threadpool_limits
    except ImportError:
        yield
        return
    with threadpool_limits(1):
        yield


@pytest.mark.parametrize("name", NAMES)
def test_fluxpy_agrees_with_hand_written(name):
    found = cases.build(only=name, columns=("hand-written", "fluxpy"))
    if not found:
        pytest.skip("the workload's inputs need a package that is not installed (scikit-learn)")
    (case,) = found
    assert set(case.columns) == {"hand-written", "fluxpy"}
    cases.check(case)


@pytest.mark.parametrize("peer", ["autograd", "torch"])
@pytest.mark.parametrize("name", CHEAP)
def test_installed_peers_agree(name, peer):
    if cases.column_module(peer) is None:
        pytest.skip(f"{peer} is not installed")
    found = cases.build(only=name, columns=("hand-written", peer))
    if not found:
        pytest.skip("the workload's inputs need a package that is not installed (scikit-learn)")
    cases.check(found[0])


def test_a_disagreement_is_caught():
    (case,) = cases.build(only=NAMES[0], columns=("hand-written", "fluxpy"))
    case.columns["fluxpy"] = lambda: 13.0
    with pytest.raises(AssertionError, match="fluxpy disagrees"):
        cases.check(case)


def test_first_call_function_gradient_matches_finite_differences():
    first_call.check()


def test_second_order_agrees_with_hand_written():
    second_order.check()


def test_only_with_no_match(capsys, tmp_path):
    path = tmp_path / "table.md"
    run.main(["--quick", "--only", "no such workload", "--markdown", str(path)])
    assert "Nothing matches" in capsys.readouterr().out
    assert "Nothing matches" in path.read_text(encoding="utf-8")
