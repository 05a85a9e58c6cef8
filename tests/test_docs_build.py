"""The documentation site builds with ``mkdocs build --strict``: no broken link or anchor, no page missing
from the nav, no docstring that mkdocstrings or griffe warns about (the API reference is generated from them).
"""

import re
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def test_mkdocs_build_strict(tmp_path):
    r = subprocess.run(
        [sys.executable, "-m", "mkdocs", "build", "--strict", "--site-dir", str(tmp_path / "site")],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert r.returncode == 0, f"mkdocs build --strict failed:\n{r.stderr}\n{r.stdout}"
    reference = (tmp_path / "site" / "reference" / "index.html").read_text(encoding="utf-8")
    assert 'id="fluxpy.gradient"' in reference  # the docstrings were rendered
    assert '<code class="language-pycon">&gt;&gt;&gt; ' in reference  # their doctests as code blocks


def test_reference_covers_the_public_api():
    import fluxpy as fx

    text = (ROOT / "docs" / "reference.md").read_text(encoding="utf-8")
    missing = [name for name in fx.__all__ if not re.search(rf"\b(fluxpy|fx)\.{re.escape(name)}\b", text)]
    assert not missing, f"docs/reference.md has no entry for {missing}"
