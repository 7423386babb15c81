"""Every non-spatial worked example runs to completion (the spatial ones are run by
tests/test_spatial_examples.py). Each prints a derivation that ends with its checks."""

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


@pytest.mark.parametrize("script", SCRIPTS, ids=lambda p: p.stem)
def test_worked_example_runs(script):
    proc = subprocess.run([sys.executable, str(script)], cwd=str(script.parent),
                          capture_output=True, text=True, timeout=120, check=False)
    assert proc.returncode == 0, proc.stderr[-2000:]
    assert "all checks passed: True" in proc.stdout
    assert "all checks passed: False" not in proc.stdout
