"""Sphinx configuration of the symavg documentation site.

Build (from the repository root, with ``pip install -e ".[docs]"``)::

    python -m sphinx -W -j auto -b html docs docs/_build/html

Markdown pages are read by MyST; the tutorials (``docs/tutorials/*.md``, MyST-NB text
notebooks) and the gallery of worked examples (``docs/gallery/``, written from
``worked_examples/*.py`` by ``docs/_ext/gallery.py`` at the start of the build) are
executed during the build, at small sizes (``SYMAVG_EXAMPLE_PATHS``,
``SYMAVG_EXAMPLE_MAX_TIME``);
``SYMAVG_DOCS_GALLERY=skip`` leaves the gallery unexecuted (the test suite's build).
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

DOCS = Path(__file__).resolve().parent
ROOT = DOCS.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(DOCS / "_ext"))
# the notebooks run in kernels started from their own folder: they import this checkout
os.environ["PYTHONPATH"] = os.pathsep.join(
    [str(ROOT), *filter(None, [os.environ.get("PYTHONPATH")])])
os.environ.setdefault("MPLBACKEND", "Agg")
os.environ.setdefault("SYMAVG_EXAMPLE_PATHS", "2000")
# the gallery's Monte Carlo checks add paths to their target for at most 15 s each
os.environ.setdefault("SYMAVG_EXAMPLE_MAX_TIME", "15")

import symavg  # noqa: E402

project = "symavg"
author = "the symavg authors"
copyright = "the symavg authors"  # noqa: A001
release = version = symavg.__version__

extensions = [
    "myst_nb",
    "sphinx.ext.autodoc",
    "sphinx.ext.napoleon",
    "sphinx.ext.mathjax",
    "gallery",
]

source_suffix = {".md": "myst-nb", ".ipynb": "myst-nb"}
root_doc = "index"
exclude_patterns = ["_build", "**.ipynb_checkpoints", "img/README*"]

# MyST: $...$ and $$...$$ maths as in the hand-written pages
myst_enable_extensions = ["dollarmath", "amsmath"]
myst_heading_anchors = 3

# MyST-NB: execute every notebook on every build, fail the build on an error
nb_execution_mode = "force"
nb_execution_raise_on_error = True
nb_execution_timeout = 600
nb_execution_show_tb = True
nb_merge_streams = True
# SYMAVG_DOCS_GALLERY=skip: build the gallery pages without running them (the test suite
# does this: tests/test_worked_examples.py and tests/test_spatial_examples.py already run
# every worked example, so the site test would run each a second time)
if os.environ.get("SYMAVG_DOCS_GALLERY") == "skip":
    nb_execution_excludepatterns = ["gallery/*"]

# autodoc + napoleon: NumPy docstrings, members in source order
autodoc_member_order = "bysource"
autodoc_typehints = "description"
autodoc_default_options = {"members": True, "undoc-members": False, "show-inheritance": False}
napoleon_google_docstring = False
napoleon_numpy_docstring = True
napoleon_use_ivar = True

# the type fields of NumPy docstrings ("array of shape (paths,)") are read as cross
# references; a word that names several attributes ("paths") is not an error of the docs
suppress_warnings = ["ref.python"]

html_theme = "alabaster"
html_title = f"symavg {release}"
html_static_path: list[str] = []
