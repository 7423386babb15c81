"""The spatial worked examples run, quickly, and write their figures where they say."""

from __future__ import annotations

import runpy
from pathlib import Path

import matplotlib.pyplot as plt
import pytest

EXAMPLES = Path(__file__).resolve().parents[1] / "worked_examples"


@pytest.mark.slow
@pytest.mark.parametrize("name,figure", [
    ("spatial_laminate.py", None),
    ("spatial_checkerboard_rve.py", "checkerboard_rve.png"),
    ("spatial_cellular_flow.py", "cellular_flow.png"),
    ("spatial_reflection.py", "reflection_density.png"),
])
def test_worked_example_runs(name, figure, tmp_path, monkeypatch, capsys):
    monkeypatch.setenv("SYMAVG_FIGURES", str(tmp_path))
    runpy.run_path(str(EXAMPLES / name), run_name="__main__")
    plt.close("all")
    out = capsys.readouterr().out
    if figure is not None:
        assert (tmp_path / figure).stat().st_size > 10_000
        assert str(tmp_path / figure) in out
    assert "FAILED" not in out
