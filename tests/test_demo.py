"""``fluxpy demo`` end to end, with a tenth of the epochs (the full run is measured in docs/demo.md)."""

import re
import subprocess
import sys

import pytest

from fluxpy import cli, demo

QUICK = ["demo", "--epochs-scale", "0.1", "--seed", "0"]
RESULT = re.compile(r"^(linear regression|MLP|CNN): test accuracy ([\d.]+)%, wall time ([\d.]+) s$", re.M)


def accuracies(out):
    return {name: float(percent) / 100 for name, percent, _ in RESULT.findall(out)}


def test_demo_trains_three_models_and_draws_their_losses(tmp_path, capsys):
    plot = tmp_path / "plots" / "losses.png"
    assert cli.main([*QUICK, "--plot", str(plot)]) == 0
    out, err = capsys.readouterr()
    acc = accuracies(out)
    assert list(acc) == ["linear regression", "MLP", "CNN"]
    assert acc["linear regression"] > 0.8
    assert acc["MLP"] > 0.85
    assert acc["CNN"] > 0.85
    for heading in (
        "1. Linear regression by hand",
        "2. A multilayer perceptron",
        "3. A small CNN",
        "Summary",
    ):
        assert f"\n{heading}" in out
    assert re.search(r"^total \(.*\)\s+[\d.]+ s$", out, re.M)
    # the adjoint source of the linear loss: its forward pass, its pullback, the user's lines as comments
    assert "# fluxpy: generated forward and pullback of loss (demo.py:" in out
    assert "def loss__forward(" in out and "def loss_pullback(d_out):" in out
    assert "# grad of: yhat = predict(x)" in out
    assert plot.read_bytes().startswith(b"\x89PNG\r\n\x1a\n")
    assert f"Loss curves: {plot}" in out
    # stderr is not a terminal here: the progress bars are whole lines, no carriage returns
    assert "\r" not in err
    assert re.search(r"^linear: 100%.* 30/30 ", err, re.M)
    assert re.search(r"^MLP: 100%.* 3/3 .*loss=", err, re.M)
    assert re.search(r"^CNN: 100%.* 3/3 .*loss=", err, re.M)


def test_python_m_fluxpy_demo_writes_the_default_plot_in_the_current_directory(tmp_path):
    r = subprocess.run(
        [sys.executable, "-m", "fluxpy", "demo", "--epochs-scale", "0.05"],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert r.returncode == 0, r.stderr
    assert list(accuracies(r.stdout)) == ["linear regression", "MLP", "CNN"]
    assert (tmp_path / demo.DEFAULT_PLOT).read_bytes().startswith(b"\x89PNG")


@pytest.mark.parametrize(
    ("module", "options", "package"),
    [("sklearn", ["--no-plot"], "scikit-learn"), ("matplotlib", [], "matplotlib")],
)
def test_a_missing_dependency_is_one_line_and_exit_status_2(monkeypatch, capsys, module, options, package):
    monkeypatch.setitem(sys.modules, module, None)  # `import module` raises ImportError
    assert cli.main(["demo", *options]) == 2
    out, err = capsys.readouterr()
    assert out == ""
    assert err == demo.MISSING.format(package=package) + "\n"
    assert 'pip install "fluxpy[demo]"' in err


def test_without_matplotlib_no_plot_still_runs(monkeypatch):
    monkeypatch.setitem(sys.modules, "matplotlib", None)
    assert demo.missing_package(plot=False) is None
    assert demo.missing_package(plot=True) == "matplotlib"


def test_a_plot_that_cannot_be_written_is_an_error_after_the_results(tmp_path, capsys):
    blocker = tmp_path / "file"
    blocker.write_text("not a directory")
    assert cli.main(["demo", "--epochs-scale", "0.01", "--plot", str(blocker / "losses.png")]) == 1
    out, err = capsys.readouterr()
    assert len(accuracies(out)) == 3 and "Summary" in out
    assert "fluxpy demo: error: could not write the loss curves to " in err


@pytest.mark.parametrize("scale", ["0", "-1", "nan", "fast"])
def test_epochs_scale_must_be_a_positive_number(capsys, scale):
    with pytest.raises(SystemExit) as excinfo:
        cli.main(["demo", "--epochs-scale", scale])
    assert excinfo.value.code == 2
    assert "--epochs-scale: expected a number above zero" in capsys.readouterr().err
