"""``fluxpy adjoint FILE.py:FUNCTION``: output piped and on a terminal, targets, and every error it reports."""

import io
import os
import re
import shutil
import subprocess
import sys
import sysconfig
import textwrap

import pytest

from fluxpy import cli

ANSI = re.compile(r"\x1b\[[0-9;]*m")

MODEL = """
import numpy as np
from cli_sibling_helper import double


class Model:
    def __init__(self, w):
        self.w = w

    def loss(self, x):
        return np.sum(double(self.w * x) ** 2)


def loss(x):
    return np.sum(double(x) ** 2)


def _private(x):
    return x


def stream(x):
    yield x


data = 3
print("printed while importing")
"""

FILES = {
    "model.py": MODEL,
    "cli_sibling_helper.py": "def double(x):\n    return 2 * x\n",
    "syntax.py": "def f(x):\n    return x +\n",
    "raises.py": "def f(x):\n    return x\n\n\nraise RuntimeError('boom')\n",
    "exits.py": "import sys\n\nsys.exit(3)\n",
    "string.py": "def f(x):\n    return x * x\n",  # the name of a standard module
}


@pytest.fixture
def where(tmp_path):
    for name, text in FILES.items():
        (tmp_path / name).write_text(textwrap.dedent(text))
    return tmp_path


def console_script():
    script = shutil.which("fluxpy", path=sysconfig.get_path("scripts"))
    if script is None:
        pytest.skip("the fluxpy console script is not installed (pip install -e .)")
    return [script]


LAUNCHERS = {"console script": console_script, "python -m fluxpy": lambda: [sys.executable, "-m", "fluxpy"]}


def run(launcher, *args, env=None):
    env = {k: v for k, v in os.environ.items() if k != "NO_COLOR"} | (env or {})
    return subprocess.run(
        [*LAUNCHERS[launcher](), *args], capture_output=True, text=True, env=env, timeout=120
    )


# ---------------------------------------------------------------------------------------------------------
# Output


@pytest.mark.parametrize("launcher", LAUNCHERS)
def test_piped_output_is_the_plain_generated_source(where, launcher):
    r = run(launcher, "adjoint", f"{where / 'model.py'}:loss")
    assert r.returncode == 0, r.stderr
    assert r.stdout.startswith("# fluxpy: generated forward and pullback of loss (model.py:14)\n")
    assert "\x1b" not in r.stdout
    compile(r.stdout, "generated", "exec")  # valid Python, nothing else on stdout
    assert r.stderr == "printed while importing\n"  # the target's own output goes to stderr


def test_color_always_highlights_the_same_text(where):
    target = f"{where / 'model.py'}:loss"
    plain = run("python -m fluxpy", "adjoint", target).stdout
    colored = run("python -m fluxpy", "adjoint", "--color", "always", target, env={"NO_COLOR": "1"})
    assert colored.returncode == 0, colored.stderr
    assert "\x1b[" in colored.stdout
    assert ANSI.sub("", colored.stdout) == plain


def test_color_never_and_auto_off_a_terminal_are_plain(where, capsys):
    for args in (["--color", "never"], []):
        assert cli.main(["adjoint", *args, f"{where / 'model.py'}:loss"]) == 0
        assert "\x1b" not in capsys.readouterr().out


class Terminal(io.StringIO):
    def isatty(self):
        return True


def test_auto_highlights_on_a_terminal_unless_no_color(where, monkeypatch):
    monkeypatch.delenv("NO_COLOR", raising=False)
    monkeypatch.setenv("TERM", "xterm")
    monkeypatch.setattr(sys, "stdout", Terminal())
    assert cli.main(["adjoint", f"{where / 'model.py'}:loss"]) == 0
    assert "\x1b[" in sys.stdout.getvalue()
    monkeypatch.setenv("NO_COLOR", "1")
    monkeypatch.setattr(sys, "stdout", Terminal())
    assert cli.main(["adjoint", f"{where / 'model.py'}:loss"]) == 0
    assert "\x1b" not in sys.stdout.getvalue()


@pytest.mark.parametrize(
    "choice, environ, expected",
    [
        ("auto", {}, True),
        ("auto", {"NO_COLOR": "1"}, False),
        ("auto", {"NO_COLOR": ""}, True),  # no-color.org: set and not empty
        ("auto", {"TERM": "dumb"}, False),
        ("always", {"NO_COLOR": "1"}, True),
        ("never", {}, False),
    ],
)
def test_use_color(choice, environ, expected):
    assert cli.use_color(choice, Terminal(), environ) is expected


# ---------------------------------------------------------------------------------------------------------
# Targets


def test_method_target_with_a_sibling_import(where, capsys):
    assert cli.main(["adjoint", f"{where / 'model.py'}:Model.loss"]) == 0
    out = capsys.readouterr().out
    assert out.startswith("# fluxpy: generated forward and pullback of Model.loss (model.py:10)\n")
    assert "double" in out  # the sibling module's function is called by the generated code


def test_module_target(capsys):
    assert cli.main(["adjoint", "fluxpy.layers.activations:relu"]) == 0
    assert capsys.readouterr().out.startswith(
        "# fluxpy: generated forward and pullback of relu (activations.py:"
    )


def test_target_file_leaves_sys_modules_and_sys_path_as_they_were(where, capsys):
    import string

    path, modules = list(sys.path), set(sys.modules)
    assert cli.main(["adjoint", f"{where / 'string.py'}:f"]) == 0
    assert sys.modules["string"] is string
    assert cli.TARGET_MODULE not in sys.modules
    assert sys.path == path
    assert set(sys.modules) - modules <= {"cli_sibling_helper"}


def test_adjoint_does_not_import_the_demo():
    code = (
        "import sys; sys.modules['sklearn'] = None\n"  # as if scikit-learn were not installed
        "from fluxpy.cli import main\n"
        "assert main(['adjoint', 'fluxpy.layers.activations:relu']) == 0\n"
        "assert 'fluxpy.demo' not in sys.modules\n"
    )
    r = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert r.returncode == 0, r.stderr


# ---------------------------------------------------------------------------------------------------------
# Errors: one line on stderr (a TransformError's message is its own), exit status 2, nothing on stdout

ERRORS = [
    (
        "model.py",
        "'{dir}/model.py' names no function: write FILE.py:FUNCTION, FILE.py:Class.method or MODULE:FUNCTION",
    ),
    ("nowhere.py:f", "no such file: '{dir}/nowhere.py'"),
    (
        "model.py:lose",
        "{dir}/model.py has no attribute 'lose'; its functions: loss, stream; its classes: Model",
    ),
    ("model.py:Model.lose", "{dir}/model.py:Model has no attribute 'lose'; its methods: __init__, loss"),
    (
        "model.py:Model",
        "{dir}/model.py:Model is a class, not a function; name one of its methods: __init__, loss",
    ),
    (
        "model.py:data",
        "{dir}/model.py:data is a value of type int, not a Python function (fluxpy transforms its source)",
    ),
    ("syntax.py:f", "importing {dir}/syntax.py raised SyntaxError: invalid syntax (syntax.py, line 2)"),
    ("raises.py:f", "importing {dir}/raises.py raised RuntimeError: boom (raises.py, line 5)"),
    ("exits.py:f", "importing {dir}/exits.py raised SystemExit: 3 (exits.py, line 3)"),
]


@pytest.mark.parametrize("target, message", ERRORS)
def test_errors(where, capsys, target, message):
    assert cli.main(["adjoint", f"{where}/{target}"]) == 2
    captured = capsys.readouterr()
    assert captured.out == ""
    assert captured.err.removeprefix("printed while importing\n") == (
        "fluxpy adjoint: error: " + message.format(dir=where) + "\n"
    )


def test_module_not_found(capsys):
    assert cli.main(["adjoint", "no_such_package.module:f"]) == 2
    assert capsys.readouterr().err == (
        "fluxpy adjoint: error: no module named 'no_such_package.module' (a file target ends in .py: FILE.py:FUNCTION)\n"
    )


def test_transform_error_prints_its_message(where, capsys):
    assert cli.main(["adjoint", f"{where}/model.py:stream"]) == 2
    err = capsys.readouterr().err.removeprefix("printed while importing\n")
    assert err.startswith("fluxpy adjoint: error: a generator (yield) is not supported by fluxpy.\n")
    assert f'File "{where}/model.py", line 23, column 4\n' in err
    assert "Traceback" not in err


def test_private_functions_are_listed_when_there_is_nothing_else(where, capsys):
    (where / "only_private.py").write_text("def _f(x):\n    return x\n")
    assert cli.main(["adjoint", f"{where}/only_private.py:f"]) == 2
    assert capsys.readouterr().err.endswith("has no attribute 'f'; its functions: _f\n")


@pytest.mark.parametrize("launcher", LAUNCHERS)
def test_an_error_is_one_line_and_status_2_from_the_shell(where, launcher):
    r = run(launcher, "adjoint", f"{where / 'model.py'}:lose")
    assert r.returncode == 2
    assert r.stdout == ""
    assert r.stderr.splitlines() == [
        "printed while importing",
        f"fluxpy adjoint: error: {where / 'model.py'} has no attribute 'lose'; its functions: loss, stream; "
        "its classes: Model",
    ]
