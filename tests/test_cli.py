"""The ``symavg`` command line, in process and once through ``python -m symavg``."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

import symavg
from symavg import cli

ROOT = Path(__file__).resolve().parents[1]
MODELS = ROOT / "examples" / "models"
OU = str(MODELS / "ou_slow.toml")


def _has_verify() -> bool:
    if hasattr(symavg, "verify"):
        return True
    try:
        from symavg.numeric.verify import verify  # noqa: F401
    except ImportError:
        return False
    return True


def test_help_and_version(capsys: pytest.CaptureFixture[str]) -> None:
    assert cli.main(["--help"]) == 0
    out = capsys.readouterr().out
    for word in ("derive", "verify", "examples", "test"):
        assert word in out
    assert cli.main(["--version"]) == 0
    assert symavg.__version__ in capsys.readouterr().out


def test_usage_error_exits_2(capsys: pytest.CaptureFixture[str]) -> None:
    assert cli.main([]) == 2
    assert cli.main(["derive", OU, "--format", "html"]) == 2
    assert "invalid choice" in capsys.readouterr().err


def test_derive_markdown(capsys: pytest.CaptureFixture[str]) -> None:
    assert cli.main(["derive", OU]) == 0
    out = capsys.readouterr().out
    assert "fast OU driving a slow variable" in out
    assert "invariant measure" in out and "$$" in out


def test_derive_latex(capsys: pytest.CaptureFixture[str]) -> None:
    assert cli.main(["derive", str(MODELS / "multiplicative.toml"), "--format", "latex"]) == 0
    out = capsys.readouterr().out
    assert "\\begin{align*}" in out and "$$" not in out


def test_derive_emit(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    from symavg.models.effective import EffectiveModel

    try:
        EffectiveModel.to_python  # noqa: B018
        import symavg.numeric.pycode  # noqa: F401
    except (AttributeError, ImportError):
        pytest.skip("code generation (symavg.numeric.pycode) not available yet")
    dest = tmp_path / "reduced.py"
    assert cli.main(["derive", OU, "--emit", str(dest)]) == 0
    src = dest.read_text()
    compile(src, str(dest), "exec")
    assert "def drift" in src and "def simulate" in src
    assert str(dest) in capsys.readouterr().err


def test_derive_bad_file_one_line_exit_2(tmp_path: Path, capsys: pytest.CaptureFixture[str]
                                          ) -> None:
    bad = tmp_path / "bad.toml"
    bad.write_text('[state]\nslow = ["x"]\nfast = ["y"]\n[sde]\ndrift = ["x.__class__", "0"]\n')
    assert cli.main(["derive", str(bad)]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "Traceback" not in err
    assert "bad.toml" in err and "sde.drift[0]" in err and "x.__class__" in err


def test_derive_missing_file(capsys: pytest.CaptureFixture[str]) -> None:
    assert cli.main(["derive", "no/such/model.toml"]) == 2
    err = capsys.readouterr().err
    assert "cannot read model file" in err and err.count("\n") == 1


def test_derive_unreducible_model_exit_2(tmp_path: Path,
                                         capsys: pytest.CaptureFixture[str]) -> None:
    f = tmp_path / "slowonly.toml"
    f.write_text('[state]\nslow = ["x"]\nfast = ["y"]\n[sde]\ndrift = ["-x/eps^2", "-y"]\n'
                 'noise = ["1", "1"]\n')
    assert cli.main(["derive", str(f)]) == 2
    err = capsys.readouterr().err
    assert err.startswith("symavg derive: error:") and "Traceback" not in err


class _FakeReport:
    def __init__(self, calls: dict) -> None:
        self.calls = calls

    def table(self) -> str:
        return "eps | observable | error\n0.1 | x^2 | 0.01"

    def plot(self) -> object:
        import matplotlib.figure

        fig = matplotlib.figure.Figure()
        fig.add_subplot().loglog([0.1, 0.2], [0.01, 0.02])
        return fig


def test_verify_wiring(monkeypatch: pytest.MonkeyPatch, tmp_path: Path,
                       capsys: pytest.CaptureFixture[str]) -> None:
    """The command passes the file's settings and the options to ``symavg.verify``."""
    calls: dict = {}

    def fake_verify(full, reduced, x0, T, **kw):  # noqa: ANN001, ANN003
        calls.update(full=full, reduced=reduced, x0=x0, T=T, **kw)
        return _FakeReport(calls)

    monkeypatch.setattr(symavg, "verify", fake_verify, raising=False)
    png = tmp_path / "err.png"
    assert cli.main(["verify", OU, "--eps", "0.1", "0.05", "--paths", "500", "--seed", "3",
                     "--figure", str(png)]) == 0
    out = capsys.readouterr()
    assert "0.1 | x^2 | 0.01" in out.out
    assert png.stat().st_size > 0 and str(png) in out.err
    assert calls["eps_values"] == [0.1, 0.05] and calls["paths"] == 500 and calls["seed"] == 3
    assert calls["T"] == 0.5 and [str(o) for o in calls["observables"]] == ["x**2", "x**4"]
    assert calls["reduced"].regime == "homogenization" and calls["params"] == {}
    # defaults come from the file
    assert cli.main(["verify", OU]) == 0
    assert calls["eps_values"] == [0.2, 0.1, 0.05] and calls["paths"] == 20000
    assert calls["seed"] == 1
    assert "variance_reduction" not in calls
    assert cli.main(["verify", OU, "--variance-reduction", "antithetic+control"]) == 0
    assert calls["variance_reduction"] == "antithetic+control"


def test_verify_needs_settings(monkeypatch: pytest.MonkeyPatch, tmp_path: Path,
                               capsys: pytest.CaptureFixture[str]) -> None:
    monkeypatch.setattr(symavg, "verify", lambda *a, **k: None, raising=False)
    f = tmp_path / "nosim.toml"
    f.write_text('[state]\nslow = ["x"]\nfast = ["y"]\n[sde]\ndrift = ["y/eps", "-y/eps^2"]\n')
    assert cli.main(["verify", str(f)]) == 2
    assert "no eps values" in capsys.readouterr().err
    assert cli.main(["verify", str(f), "--eps", "0.1"]) == 2
    assert "no final time" in capsys.readouterr().err
    assert cli.main(["verify", str(f), "--eps", "0.1", "--T", "1"]) == 2
    assert "no initial value for the slow variable x" in capsys.readouterr().err


@pytest.mark.skipif(not _has_verify(), reason="symavg.verify not available yet")
def test_verify_real(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    png = tmp_path / "err.png"
    assert cli.main(["verify", OU, "--eps", "0.2", "0.1", "--paths", "2000", "--T", "0.1",
                     "--figure", str(png)]) == 0
    assert capsys.readouterr().out.strip()
    assert png.stat().st_size > 0


def test_examples_list_and_run(monkeypatch: pytest.MonkeyPatch, tmp_path: Path,
                               capsys: pytest.CaptureFixture[str]) -> None:
    (tmp_path / "ou_homogenization.py").write_text(
        '"""Fast OU driving a slow variable."""\nprint("hello from the example")\n')
    (tmp_path / "kramers.py").write_text(
        "# %%\n# Smoluchowski-Kramers limit\nraise SystemExit(3)\n")
    monkeypatch.setattr(cli, "examples_dir", lambda: tmp_path)
    assert cli.main(["examples"]) == 0
    out = capsys.readouterr().out
    assert "ou_homogenization  Fast OU driving a slow variable." in out
    assert "Smoluchowski-Kramers limit" in out
    assert cli.main(["examples", "--run", "ou_hom"]) == 0
    assert cli.main(["examples", "--run", "kramers.py"]) == 3
    assert cli.main(["examples", "--run", "nope"]) == 2
    assert "available: kramers, ou_homogenization" in capsys.readouterr().err


def test_examples_folder_missing(monkeypatch: pytest.MonkeyPatch, tmp_path: Path,
                                 capsys: pytest.CaptureFixture[str]) -> None:
    monkeypatch.setattr(cli, "examples_dir", lambda: tmp_path / "absent")
    assert cli.main(["examples"]) == 2
    assert "worked examples not found" in capsys.readouterr().err


def test_examples_dir_is_next_to_package() -> None:
    assert cli.examples_dir() == Path(symavg.__file__).resolve().parents[1] / "worked_examples"


def test_self_check(capsys: pytest.CaptureFixture[str]) -> None:
    assert cli.main(["test"]) == 0
    out = capsys.readouterr().out
    assert "all checks passed" in out and "derive the reduced OU model" in out


def test_python_dash_m_subprocess(tmp_path: Path) -> None:
    ok = subprocess.run([sys.executable, "-m", "symavg", "derive", OU], capture_output=True,
                        text=True, timeout=120, cwd=tmp_path)
    assert ok.returncode == 0, ok.stderr
    assert "invariant measure" in ok.stdout
    bad = tmp_path / "bad.toml"
    bad.write_text("[state]\nslow = [\"x\"]\nfast = [\"y\"]\n[sde]\ndrift = [\"__import__('os')\", "
                   "\"0\"]\n")
    res = subprocess.run([sys.executable, "-m", "symavg", "derive", str(bad)],
                         capture_output=True, text=True, timeout=120, cwd=tmp_path)
    assert res.returncode == 2
    assert "Traceback" not in res.stderr and res.stderr.count("\n") == 1
    assert "__import__" in res.stderr


def test_derive_notebook(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """``--notebook`` writes the notebook of the derivation (executed in
    tests/test_notebook_export.py); here: it rebuilds the file's model and reduces it."""
    import json

    dest = tmp_path / "derivation.ipynb"
    assert cli.main(["derive", str(MODELS / "multiplicative.toml"), "--notebook",
                     str(dest)]) == 0
    cells = json.loads(dest.read_text())["cells"]
    code = ["".join(c["source"]) for c in cells if c["cell_type"] == "code"]
    assert any("model = sa.SDE(" in src for src in code)
    assert any(src.startswith("red = sa.reduce(model") for src in code)
    assert str(dest) in capsys.readouterr().err
    assert cli.main(["derive", str(MODELS / "multiplicative.toml"), "--notebook",
                     str(tmp_path / "missing" / "n.ipynb")]) == 2
