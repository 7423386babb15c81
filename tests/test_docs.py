"""The documentation site: every public name in the API reference, the gallery written from
the worked examples, and (slow) the whole site built with warnings as errors, its tutorial
notebooks executed (the gallery's scripts are run by tests/test_worked_examples.py). The
build needs sphinx and myst-nb (in the ``test`` extra, and alone in ``.[docs]``); it is
skipped without them locally and required under ``CI=true``."""

from __future__ import annotations

import importlib.util
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

import symavg as sa

ROOT = Path(__file__).resolve().parents[1]
DOCS = ROOT / "docs"
sys.path.insert(0, str(DOCS / "_ext"))
import gallery  # noqa: E402


def _entries() -> list[str]:
    text = (DOCS / "api" / "index.md").read_text()
    return re.findall(r"^\.\. auto(?:class|function|exception|module):: symavg\.([\w.]+)", text,
                      re.MULTILINE)


def _documented() -> set[str]:
    """The top-level names documented (``symavg.report.Average`` is a submodule's name)."""
    return {e for e in _entries() if "." not in e}


def test_every_public_name_is_in_the_api_reference():
    missing = set(sa.__all__) - {"epsilon"} - _documented()
    assert not missing, f"add these to docs/api/index.md: {sorted(missing)}"
    assert _documented() <= set(sa.__all__)
    for dotted in (e for e in _entries() if "." in e):  # submodule names must exist
        module, _, name = f"symavg.{dotted}".rpartition(".")
        assert hasattr(importlib.import_module(module), name), dotted


def test_every_page_and_tutorial_is_reachable():
    index = (DOCS / "index.md").read_text()
    for family in ("averaging", "homogenization", "spatial", "markov", "networks", "chaos",
                   "large_deviations"):
        assert f"tutorials/{family}" in index
        assert (DOCS / "tutorials" / f"{family}.md").exists()
    assert ":glob:" in index          # every hand-written page of docs/ is in the Guide
    assert "gallery/index" in index


def test_gallery_cells_follow_the_worked_example():
    script = ROOT / "worked_examples" / "kramers_1d.py"
    doc, cells = gallery.split_cells(script.read_text())
    assert doc.startswith("Smoluchowski-Kramers small-mass limit")
    code = "\n".join(c for _, c in cells)
    # every line of code after the docstring is in the notebook, in order, and nothing else
    text = script.read_text()
    after_doc = text[text.index('"""', 3) + 3:]
    body = [ln for ln in after_doc.splitlines() if ln.strip() and not ln.startswith("# %%")]
    assert [ln for ln in code.splitlines() if ln.strip()] == body
    assert cells[1][0] == "the full model in the scaled velocity u = eps v (m = eps^2)"
    page = gallery.notebook(script)
    assert page.startswith("---\nfile_format: mystnb")
    assert page.count("```{code-cell}") == len(cells) + 2      # setup + figures


def test_gallery_has_one_page_per_worked_example():
    names = {p.stem for p in gallery.examples()}
    assert "kramers_1d" in names and "spatial_reflection" in names
    assert not any(n.startswith("_") for n in names)
    assert all(n in gallery.index(gallery.examples()) for n in names)


def _have_docs_extra() -> bool:
    return all(importlib.util.find_spec(m) is not None
               for m in ("sphinx", "myst_nb", "nbclient", "ipykernel"))


@pytest.mark.slow
def test_the_site_builds_with_warnings_as_errors(tmp_path):
    if not _have_docs_extra():
        if os.environ.get("CI"):
            pytest.fail("sphinx/myst-nb are not installed under CI: pip install -e '.[test]'")
        pytest.skip("sphinx/myst-nb are not installed: pip install -e '.[test]'")
    out = tmp_path / "html"
    # the gallery pages are built but not executed here: tests/test_worked_examples.py and
    # tests/test_spatial_examples.py run every worked example already (CI time)
    env = {**os.environ, "PYTHONPATH": str(ROOT), "SYMAVG_EXAMPLE_PATHS": "2000",
           "SYMAVG_DOCS_GALLERY": "skip"}
    proc = subprocess.run(
        [sys.executable, "-m", "sphinx", "-W", "--keep-going", "-j", "2", "-b", "html",
         "-d", str(tmp_path / "doctrees"), str(DOCS), str(out)],
        cwd=str(ROOT), env=env, capture_output=True, text=True, timeout=1500, check=False)
    assert proc.returncode == 0, (proc.stdout[-3000:], proc.stderr[-6000:])
    api = (out / "api" / "index.html").read_text()
    for name in set(sa.__all__) - {"epsilon"}:  # a module's anchor is "module-symavg.ldp"
        assert f'id="symavg.{name}"' in api or f'id="module-symavg.{name}"' in api, name
    # the tutorials and the gallery were executed: their pages carry outputs and figures
    for family in ("averaging", "homogenization", "spatial", "markov", "networks", "chaos",
                   "large_deviations"):
        page = (out / "tutorials" / f"{family}.html").read_text()
        assert "cell_output" in page, family
    assert "<img" in (out / "tutorials" / "averaging.html").read_text()
    for script in gallery.examples():  # built from the script, cell by cell (not executed)
        page = (out / "gallery" / f"{script.stem}.html").read_text()
        assert "highlight-ipython3" in page or "cell_input" in page, script.stem
    for page in ("conventions", "engine", "architecture", "numeric", "spatial", "cli", "report"):
        assert (out / f"{page}.html").exists(), page
