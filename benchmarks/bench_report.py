"""Time the rendering of the longest worked-example derivation (issue 12).

``python benchmarks/bench_report.py``: derive the 2-D matrix Smoluchowski-Kramers model
once (tests/test_applications.py), then time ``red.steps.to_markdown()`` and
``red.steps.to_latex(standalone=True)`` once each. Results: benchmarks/README.md,
"Rendering a derivation".
"""

from __future__ import annotations

import sys
import time
from pathlib import Path


def main() -> None:
    sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests"))
    import test_applications as apps

    red = apps.kramers_matrix()
    t = time.perf_counter()
    md = red.steps.to_markdown()
    t_md = time.perf_counter() - t
    t = time.perf_counter()
    tex = red.steps.to_latex(standalone=True)
    t_tex = time.perf_counter() - t
    print(f"to_markdown {t_md:.2f} s ({len(md)} chars), to_latex {t_tex:.2f} s "
          f"({len(tex)} chars)")


if __name__ == "__main__":
    main()
