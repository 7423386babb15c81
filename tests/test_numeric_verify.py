"""verify: the order fit, the report, the figure, bad input; generated modules; executors."""

from __future__ import annotations

import subprocess
import sys
import textwrap
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import numpy as np
import pytest
import sympy as sp

import symavg as sa
from symavg.numeric.verify import fit_order

x, y = sp.symbols("x y", real=True)
D, V0 = sp.symbols("D V0", positive=True)
eps = sa.epsilon


def test_fit_order_recovers_a_known_slope() -> None:
    e = np.array([0.2, 0.1, 0.05, 0.025])
    err = 0.7 * e**1.5
    fit = fit_order(e, err, 0.01 * err)
    assert fit.order is not None and abs(fit.order - 1.5) < 1e-9
    assert fit.interval[0] <= 1.5 <= fit.interval[1]


def test_fit_order_refuses_to_fit_noise() -> None:
    e = np.array([0.2, 0.1, 0.05])
    fit = fit_order(e, [0.01, -0.004, 0.002], [0.01, 0.01, 0.01])
    assert fit.order is None
    assert "Monte Carlo noise" in fit.message and "paths" in fit.message


def _ou_pair() -> tuple[sa.SDE, sa.EffectiveModel]:
    m = sa.SDE([x, y], [y / eps, -y / eps**2], noise=[[0], [sp.sqrt(2) / eps]])
    return m, sa.reduce(m, [y])


def test_report_table_plot_and_distances(tmp_path: Path) -> None:
    m, red = _ou_pair()
    rep = sa.verify(m, red, {x: 0.0}, 0.2, eps_values=[0.4, 0.2], observables=[x**2],
                    paths=4000, seed=1, backend="numpy")
    assert len(rep.rows) == 2 and len(rep.distances) == 2
    assert rep.rows[0].eps == 0.4 and rep.rows[0].observable == x**2
    r = rep.rows[0]
    assert r.error == pytest.approx(r.full - r.reduced)
    assert r.error_se == pytest.approx(np.hypot(r.full_se, r.reduced_se))
    assert all(d.noise_floor > 0 for d in rep.distances)
    text = rep.table()
    assert "| eps | observable |" in text and "W1" in text
    fig = rep.plot()
    fig.savefig(tmp_path / "err.png")
    assert (tmp_path / "err.png").stat().st_size > 1000


def test_verify_bad_input() -> None:
    m, red = _ou_pair()
    with pytest.raises(sa.ModelError, match="eps_values must be positive"):
        sa.verify(m, red, {x: 0.0}, 0.2, eps_values=[0.1, -0.1])
    with pytest.raises(sa.ModelError, match="fast variable"):
        sa.verify(m, red, {x: 0.0}, 0.2, eps_values=[0.1], observables=[y])
    z = sp.Symbol("z", real=True)
    other = sa.reduce(sa.SDE([z, y], [y / eps, -y / eps**2], noise=[[0], [1 / eps]]), [y])
    with pytest.raises(sa.ModelError, match="not variables of the full model"):
        sa.verify(m, other, {x: 0.0}, 0.2, eps_values=[0.1])


def test_generated_module_runs_without_sympy_or_symavg(tmp_path: Path) -> None:
    """Lifson-Jackson reduced model: the module needs NumPy (and SciPy for I0) only."""
    m = sa.SDE([x, y], [V0 * sp.sin(y) / eps, V0 * sp.sin(y) / eps**2],
               noise=[[sp.sqrt(2 * D)], [sp.sqrt(2 * D) / eps]], periodic={y: 2 * sp.pi})
    red = sa.reduce(m, [y])
    path = tmp_path / "reduced_lj.py"
    path.write_text(red.to_python())
    code = textwrap.dedent(f"""
        import importlib.util, sys
        spec = importlib.util.spec_from_file_location("reduced_lj", {str(path)!r})
        mod = importlib.util.module_from_spec(spec); spec.loader.exec_module(mod)
        assert mod.STATE == ("x",) and mod.PARAMETERS == ("D", "V0")
        print(float(mod.diffusion([0.0], {{"D": 1.0, "V0": 1.0}})[0, 0]))
        X = mod.simulate({{"x": 0.0}}, 1.0, dt=0.01, paths=4000, seed=2,
                         params={{"D": 1.0, "V0": 1.0}})
        print(X.shape, X.var())
        print("sympy" in sys.modules, "symavg" in sys.modules)
    """)
    out = subprocess.run([sys.executable, "-I", "-c", code], capture_output=True, text=True,
                         timeout=300)
    assert out.returncode == 0, out.stderr
    lines = out.stdout.split("\n")
    from scipy.special import iv

    assert float(lines[0]) == pytest.approx(2 / iv(0, 1.0) ** 2, rel=1e-12)
    assert lines[1].startswith("(4000, 1)")
    assert float(lines[1].split()[-1]) == pytest.approx(2 / iv(0, 1.0) ** 2, rel=0.1)
    assert lines[2] == "False False"
    src = path.read_text()
    assert "homogenization limit" in src and "import sympy" not in src


def test_generated_module_for_an_undefined_function_needs_a_definition() -> None:
    c = sp.Function("c")
    m = sa.SDE([x, y], [c(x) * y / eps, -y / eps**2], noise=[[1], [sp.sqrt(2) / eps]])
    red = sa.reduce(m, [y])
    with pytest.raises(sa.SimulationError, match="functions="):
        red.to_python()
    src = red.to_python(functions={c: sp.Lambda(x, x)})
    ns: dict = {}
    exec(compile(src, "reduced", "exec"), ns)
    assert ns["drift"]([2.0])[0] == pytest.approx(2.0 + np.sqrt(2))
    assert ns["diffusion"]([2.0])[0, 0] == pytest.approx((1 + 2 * np.sqrt(2)) ** 2)


def test_lambdify_of_reduced_model_matches_the_closed_form() -> None:
    m, red = _ou_pair()
    f = red.lambdify()
    assert f.diffusion([0.3])[0, 0] == pytest.approx(2.0)
    assert f.drift([0.3])[0] == 0.0


def test_any_executor_with_submit_gives_the_same_result() -> None:
    m, red = _ou_pair()
    kw = dict(paths=3000, seed=5, chunk_size=1000, backend="numpy")
    base = sa.verify(m, red, {x: 0.0}, 0.1, eps_values=[0.3], observables=[x**2], **kw)
    with ThreadPoolExecutor(2) as ex:
        rep = sa.verify(m, red, {x: 0.0}, 0.1, eps_values=[0.3], observables=[x**2],
                        executor=ex, **kw)
    assert rep.rows[0].full == base.rows[0].full


def test_dask_distributed_client() -> None:
    """Chunks on a local dask.distributed cluster (pip install symavg[distributed])."""
    distributed = pytest.importorskip("distributed")
    m, _ = _ou_pair()
    kw = dict(eps=0.3, paths=3000, seed=6, chunk_size=1000, backend="numpy")
    local = sa.simulate(m, {x: 0.0}, 0.1, **kw)
    with distributed.LocalCluster(n_workers=2, threads_per_worker=1, processes=True,
                                  dashboard_address=None) as cluster, \
            distributed.Client(cluster) as client:
        remote = sa.simulate(m, {x: 0.0}, 0.1, executor=client, **kw)
    assert np.array_equal(local.values, remote.values)
