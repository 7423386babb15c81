"""Shared by the worked examples: where figures go and the Monte Carlo check.

``SYMAVG_FIGURES`` names the folder for figures (default ``worked_examples/figures``,
ignored by git); ``SYMAVG_EXAMPLE_PATHS`` the number of Monte Carlo paths per model
(default 20000; the tests run the examples with fewer);
``SYMAVG_EXAMPLE_VARIANCE_REDUCTION`` the estimator of ``sa.verify`` for SDE full
models (``none``, the default, ``antithetic``, ``control``, ``antithetic+control``).
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import symavg as sa


def figure_path(name: str) -> Path:
    """``name`` inside the figures folder, which is created if needed."""
    folder = Path(os.environ.get("SYMAVG_FIGURES", Path(__file__).resolve().parent / "figures"))
    folder.mkdir(parents=True, exist_ok=True)
    return folder / name


def monte_carlo_check(full: sa.SDE, reduced: sa.EffectiveModel, name: str,
                      **verify_kwargs: Any) -> sa.VerifyReport:
    """Run ``sa.verify``, print its table and save its convergence figure as
    ``<name>_convergence.png``."""
    paths = int(os.environ.get("SYMAVG_EXAMPLE_PATHS", 20_000))
    vr = os.environ.get("SYMAVG_EXAMPLE_VARIANCE_REDUCTION", "none")
    if vr != "none" and isinstance(full, sa.SDE):
        verify_kwargs.setdefault("variance_reduction", vr)
    rep = sa.verify(full, reduced, paths=paths, seed=1, **verify_kwargs)
    print(rep.table())
    path = figure_path(f"{name}_convergence.png")
    rep.plot().savefig(path, dpi=120)
    print("convergence figure:", path)
    return rep
