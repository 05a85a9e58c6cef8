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


def test_how_it_works_shows_the_real_generated_code(tmp_path):
    """docs/how-it-works.md's listing is what fx.adjoint_source prints today for the file shown above it."""
    text = (ROOT / "docs" / "how-it-works.md").read_text()
    section = text[text.index("## What the generated code looks like") :]
    blocks = section.split("```python\n")
    source, listing = blocks[1].split("```")[0], blocks[2].split("```")[0]
    (tmp_path / "hiw.py").write_text(source)
    script = "import fluxpy as fx, hiw; print(fx.adjoint_source(hiw.predict), end='')"
    out = subprocess.run([sys.executable, "-c", script], cwd=tmp_path, capture_output=True, text=True)
    assert out.returncode == 0, out.stderr
    assert out.stdout == listing
