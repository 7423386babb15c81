"""Every non-spatial worked example runs to completion (the spatial ones are run by
tests/test_spatial_examples.py). Each prints a derivation that ends with its checks, then
runs ``sa.verify`` (with few paths here) and saves its convergence figure."""

import os
import subprocess
import sys
from pathlib import Path

import pytest

EXAMPLES = Path(__file__).resolve().parents[1] / "worked_examples"
SCRIPTS = sorted(p for p in EXAMPLES.glob("*.py")
                 if not p.name.startswith(("_", "spatial_")))


def test_the_application_examples_are_there():
    names = {p.stem for p in SCRIPTS}
    assert {"kramers_1d", "kramers_matrix", "averaging_removes_noise", "ou_creates_noise",
            "multiplicative_noise", "lifson_jackson", "periodic_diffusion_1d",
            "taylor_dispersion", "cle_noisy_rate"} <= names


@pytest.mark.slow
@pytest.mark.parametrize("script", SCRIPTS, ids=lambda p: p.stem)
def test_worked_example_runs(script, tmp_path):
    # one batch of 2000 paths (no target: CI time); the examples' own default adds paths
    # to a target within a time budget (worked_examples/_common.py)
    env = {**os.environ, "SYMAVG_FIGURES": str(tmp_path), "SYMAVG_EXAMPLE_PATHS": "2000",
           "SYMAVG_EXAMPLE_TARGET": "none"}
    proc = subprocess.run([sys.executable, str(script)], cwd=str(script.parent), env=env,
                          capture_output=True, text=True, timeout=300, check=False)
    assert proc.returncode == 0, proc.stderr[-2000:]
    if "monte_carlo_check" in script.read_text():
        figure = tmp_path / f"{script.stem}_convergence.png"
        assert figure.stat().st_size > 10_000
        assert "| eps | observable |" in proc.stdout
    assert "all checks passed: True" in proc.stdout
    assert "all checks passed: False" not in proc.stdout
