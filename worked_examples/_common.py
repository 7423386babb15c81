"""Shared by the worked examples: where figures go and the Monte Carlo check.

``SYMAVG_FIGURES`` names the folder for figures (default ``worked_examples/figures``,
ignored by git). The Monte Carlo check is
``sa.verify(..., target=2, order_width=1, max_time=60)``: it adds paths until every
weak error is resolved to 2 standard errors and every fitted order's 95% interval is
at most 1 wide, or the budget runs out, and prints the paths still needed.
``SYMAVG_EXAMPLE_PATHS`` sets its first batch per eps (default 4000),
``SYMAVG_EXAMPLE_TARGET`` the target (default 2; ``none``: one batch, as the tests
run the examples), ``SYMAVG_EXAMPLE_MAX_TIME`` the wall-clock budget of the call in
seconds (default 60), and ``SYMAVG_EXAMPLE_VARIANCE_REDUCTION`` the estimator of
``sa.verify`` for SDE full models (default ``auto``, i.e. control variates; ``none``,
``antithetic``, ``control``, ``antithetic+control``).
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
    paths = int(os.environ.get("SYMAVG_EXAMPLE_PATHS", 4000))
    target = os.environ.get("SYMAVG_EXAMPLE_TARGET", "2")
    if target.lower() != "none":
        verify_kwargs.setdefault("target", float(target))
        verify_kwargs.setdefault("order_width", 1.0)
        verify_kwargs.setdefault("max_time", float(os.environ.get("SYMAVG_EXAMPLE_MAX_TIME",
                                                                  60)))
    vr = os.environ.get("SYMAVG_EXAMPLE_VARIANCE_REDUCTION", "auto")
    if vr != "auto" and isinstance(full, sa.SDE):
        verify_kwargs.setdefault("variance_reduction", vr)
    rep = sa.verify(full, reduced, paths=paths, seed=1, **verify_kwargs)
    print(rep.table())
    path = figure_path(f"{name}_convergence.png")
    rep.plot().savefig(path, dpi=120)
    print("convergence figure:", path)
    return rep
