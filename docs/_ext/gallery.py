"""Sphinx extension: the gallery of worked examples.

At the start of a build, every ``worked_examples/*.py`` (except ``_*.py``) is written as a
MyST-NB text notebook ``docs/gallery/<name>.md``: the module docstring becomes the page's
text, each ``# %%`` cell a code cell (its comment the cell's caption), and a last cell shows
every figure the example saved. MyST-NB then executes the notebooks, so the gallery shows
the real output of the examples, with a first batch of ``SYMAVG_EXAMPLE_PATHS`` Monte Carlo
paths (2000 in the build) and at most ``SYMAVG_EXAMPLE_MAX_TIME`` seconds (15) of added
paths. ``docs/gallery/`` is generated and ignored by git.
"""

from __future__ import annotations

import ast
import re
from pathlib import Path

DOCS = Path(__file__).resolve().parents[1]
EXAMPLES = DOCS.parent / "worked_examples"
GALLERY = DOCS / "gallery"

HEADER = """---
file_format: mystnb
kernelspec:
  name: python3
  display_name: Python 3
  language: python
---
"""


def examples() -> list[Path]:
    """The worked examples shown in the gallery, in name order."""
    return sorted(p for p in EXAMPLES.glob("*.py") if not p.name.startswith("_"))


def split_cells(source: str) -> tuple[str, list[tuple[str, str]]]:
    """The module docstring and the ``# %%`` cells ``(caption, code)`` of a script."""
    tree = ast.parse(source)
    doc = ast.get_docstring(tree) or ""
    body = source
    if doc and tree.body and isinstance(tree.body[0], ast.Expr):
        body = "\n".join(source.splitlines()[tree.body[0].end_lineno:])
    cells: list[tuple[str, str]] = []
    caption, lines = "", []
    for line in body.splitlines():
        m = re.match(r"#\s*%%(.*)$", line)
        if m:
            if any(s.strip() for s in lines):
                cells.append((caption, "\n".join(lines).strip("\n")))
            caption, lines = m.group(1).strip(), []
        else:
            lines.append(line)
    if any(s.strip() for s in lines):
        cells.append((caption, "\n".join(lines).strip("\n")))
    return doc, cells


def title_and_text(name: str, doc: str) -> tuple[str, str]:
    """The page title (the docstring's first line) and the rest of the docstring."""
    first, _, rest = doc.partition("\n")
    title = first.strip().rstrip(".") or name
    return title, rest.strip()


def code_cell(code: str) -> str:
    return f"```{{code-cell}} ipython3\n{code}\n```\n"


def notebook(script: Path) -> str:
    """The MyST-NB text notebook of one worked example."""
    doc, cells = split_cells(script.read_text())
    title, text = title_and_text(script.stem, doc)
    figures = f"_figures/{script.stem}"
    out = [HEADER, f"# {title}\n",
           f"*Worked example* `worked_examples/{script.name}`, run during the build of this "
           "page (few Monte Carlo paths).\n"]
    if text:
        # the docstrings are plain text with indented formulas: keep them verbatim
        out.append("```text\n" + text + "\n```\n")
    setup = (
        "import os, sys\n"
        f"sys.path.insert(0, {str(EXAMPLES)!r})\n"
        f"os.environ['SYMAVG_FIGURES'] = {figures!r}\n"
    )
    out.append("```{code-cell} ipython3\n:tags: [remove-cell]\n" + setup + "```\n")
    for caption, code in cells:
        if caption:
            out.append(f"**{caption[0].upper() + caption[1:]}**\n")
        out.append(code_cell(code))
    show = (
        "from pathlib import Path\n"
        "from IPython.display import Image, display\n"
        f"for png in sorted(Path({figures!r}).glob('*.png')):\n"
        "    print(png.name)\n"
        "    display(Image(filename=str(png)))\n"
    )
    out.append("Figures saved by the example:\n")
    out.append(code_cell(show))
    return "\n".join(out)


def index(scripts: list[Path]) -> str:
    lines = ["# Gallery of worked examples\n",
             "Each page is a script of `worked_examples/`, executed while the site is built; "
             "run one yourself with `cd worked_examples && python NAME.py` (figures go to "
             "`worked_examples/figures/`, or `$SYMAVG_FIGURES`).\n",
             "```{toctree}\n:maxdepth: 1\n"]
    lines += [p.stem for p in scripts]
    lines.append("```\n")
    return "\n".join(lines)


def write_gallery(app: object | None = None) -> list[Path]:
    """Write ``docs/gallery/`` (only the files whose text changed)."""
    GALLERY.mkdir(exist_ok=True)
    scripts = examples()
    pages = {GALLERY / "index.md": index(scripts)}
    pages.update({GALLERY / f"{p.stem}.md": notebook(p) for p in scripts})
    for path, text in pages.items():
        if not path.exists() or path.read_text() != text:
            path.write_text(text)
    for stale in GALLERY.glob("*.md"):
        if stale not in pages:
            stale.unlink()
    return list(pages)


def setup(app: object) -> dict:
    app.connect("builder-inited", write_gallery)
    return {"parallel_read_safe": True, "version": "1"}
