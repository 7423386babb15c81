"""Regression tests for the numeric layer (each names the failure it guards against)."""

from __future__ import annotations

import math
import subprocess
import sys
import textwrap
from pathlib import Path

import numpy as np
import pytest
import sympy as sp

import symavg as sa
from symavg.numeric.pycode import effective_to_python
from symavg.numeric.simulate import CoarseStepWarning, SaveTimeWarning
from symavg.numeric.tabulate import numeric_value

x, y, s = sp.symbols("x y s", real=True)
w, a = sp.symbols("omega a", positive=True)
eps = sa.epsilon


def test_step_rule_sees_cross_coupled_stiffness() -> None:
    """A fast rotation (omega = 50) has |d b_i/d z_i| = 1 but eigenvalues -1 +- 50 i: the
    step must come from the whole Jacobian, and keep Euler-Maruyama's spurious growth
    beta^2 dt T / 2 small. Exact: E r_T^2 = e^{-2T} + 2 (0.1^2) (1 - e^{-2T}) / 2."""
    m = sa.SDE([x, y], [-w * y - x, w * x - y], noise=[sp.Rational(1, 10)] * 2)
    ens = sa.simulate(m, {x: 1.0, y: 0.0}, 1.0, params={w: 50.0}, paths=200, seed=0,
                      backend="numpy")
    assert ens.dt <= 0.1 / 50**2
    r2 = ens[x][-1] ** 2 + ens[y][-1] ** 2
    exact = math.exp(-2) + 0.01 * (1 - math.exp(-2))
    assert r2.mean() == pytest.approx(exact, rel=0.1)
    with pytest.warns(CoarseStepWarning, match="oscillating"):
        sa.simulate(m, {x: 1.0, y: 0.0}, 1.0, params={w: 50.0}, paths=10, seed=0,
                    backend="numpy", dt=1e-3)


def test_fast_draw_uses_each_paths_own_slow_start() -> None:
    """dy = (x - y)/eps^2 dt + sqrt(2)/eps dW: rho(y; x) = N(x, 1). With x0 = +-5 per
    path, y0 must centre on each path's own x0."""
    m = sa.SDE([x, y], [0, (x - y) / eps**2], noise=[[0], [sp.sqrt(2) / eps]])
    x0 = np.where(np.arange(4000) % 2 == 0, 5.0, -5.0)
    ens = sa.simulate(m, {x: x0}, 0.001, eps=0.1, paths=4000, seed=1, backend="numpy")
    y0 = ens[y][0]
    assert abs(y0[x0 > 0].mean() - 5) < 0.15 and abs(y0[x0 < 0].mean() + 5) < 0.15


def test_verify_runs_are_independent() -> None:
    m = sa.SDE([x, y], [y / eps, -y / eps**2], noise=[[0], [sp.sqrt(2) / eps]])
    red = sa.reduce(m, [y])
    rep = sa.verify(m, red, {x: 0.0}, 0.2, eps_values=[0.3], observables=[x], paths=3000,
                    seed=7, backend="numpy", check_dt=False)
    seeds = rep.info["seeds"]
    f = sa.simulate(m, {x: 0.0}, 0.2, eps=0.3, paths=3000, seed=seeds["full"][0.3],
                    backend="numpy", record_noise=True)
    r = sa.simulate(red, {x: 0.0}, 0.2, dt=rep.info["dt_reduced"], paths=3000,
                    seed=seeds["reduced"], backend="numpy")
    # the recorded seed reproduces the run; the default estimator is the control variate
    from symavg.numeric.sequential import Accumulator

    assert rep.info["variance reduction"] == "control"
    acc = Accumulator([x], (x,), "control")
    acc.add(f)
    assert acc.mean(0) == pytest.approx(rep.rows[0].full)
    assert abs(np.corrcoef(f[x][-1], r[x][-1])[0, 1]) < 0.1


def test_blow_up_in_the_burn_in_is_reported_as_such() -> None:
    m = sa.SDE([x, y], [-x, (y**3) / eps**2], noise=[[0], [sp.sqrt(2) / eps]])
    with pytest.raises(sa.SimulationError, match="during the burn-in of the fast variables"):
        sa.simulate(m, {x: 0.0}, 0.5, eps=0.1, paths=50, seed=0, backend="numpy")


def test_saveat_off_the_grid_warns() -> None:
    m = sa.SDE([x], [-x], noise=[1])
    with pytest.warns(SaveTimeWarning, match="moved to the step grid"):
        ens = sa.simulate(m, {x: 1.0}, 1.0, dt=0.01, paths=10, seed=0, backend="numpy",
                          saveat=[0, 0.003, 0.004, 0.5, 1])
    assert list(ens.t) == [0.0, 0.5, 1.0]


def test_generated_module_refuses_other_values_of_baked_parameters() -> None:
    I = sp.Integral(sp.exp(a * x * sp.cos(s)), (s, 0, 2 * sp.pi))
    m = sa.SDE([x], [-x * I / (2 * sp.pi)], noise=[1])
    src = effective_to_python(m, params={a: 0.5}, tabulate={x: (-3, 3)})
    ns: dict = {}
    exec(compile(src, "generated", "exec"), ns)
    from scipy.special import iv

    assert ns["drift"]([0.7])[0] == pytest.approx(-0.7 * iv(0, 0.35), rel=1e-9)
    with pytest.raises(ValueError, match="baked"):
        ns["drift"]([0.7], {"a": 2.0})


def test_milstein_refuses_noise_that_depends_on_other_variables() -> None:
    m = sa.SDE([x, y], [0, 0], noise=[1, x])
    with pytest.raises(sa.ModelError, match="Levy areas"):
        sa.simulate(m, {x: 0.0, y: 0.0}, 0.1, scheme="milstein", backend="numpy")


def test_exponential_step_where_the_rate_vanishes() -> None:
    """dy = -x^2 y dt + dW with x = 0: lambda = 0 is Brownian motion, not 0/0."""
    m = sa.SDE([x, y], [0, -(x**2) * y], noise=[0, 1])
    ens = sa.simulate(m, {x: 0.0, y: 0.0}, 1.0, dt=0.1, paths=20_000, seed=2,
                      scheme="exact-ou", backend="numpy")
    assert ens.schemes[y] == "exact-ou"
    assert np.var(ens[y][-1]) == pytest.approx(1.0, rel=0.05)


def test_numeric_value_of_merged_nested_integrals() -> None:
    """SymPy merges nested integrals into one with two limits (innermost first)."""
    e = sp.Integral(sp.Integral(s * y, (y, 0, s)), (s, 0, 1))
    assert numeric_value(e, {}) == pytest.approx(1 / 8, rel=1e-12)


def test_non_finite_drift_at_the_start_is_named() -> None:
    m = sa.SDE([x], [sp.log(x)], noise=[1])
    with pytest.raises(sa.SimulationError, match="not finite at the initial values"):
        sa.simulate(m, {x: -1.0}, 0.1, paths=10, backend="numpy")


def test_generated_module_for_two_slow_variables_with_correlated_noise(tmp_path: Path
                                                                       ) -> None:
    """A 2-D reduced model whose diffusion is not diagonal (Cholesky noise) runs in an
    isolated interpreter and has the right covariance growth: Cov = A T."""
    A = sp.Matrix([[2, 1], [1, 2]])
    m = sa.SDE([x, y], [0, 0], diffusion=A)
    path = tmp_path / "two.py"
    path.write_text(effective_to_python(m))
    code = textwrap.dedent(f"""
        import importlib.util, sys, numpy
        spec = importlib.util.spec_from_file_location("two", {str(path)!r})
        mod = importlib.util.module_from_spec(spec); spec.loader.exec_module(mod)
        X = mod.simulate([0.0, 0.0], 1.0, dt=0.1, paths=40000, seed=3)
        print(numpy.cov(X.T).ravel().tolist())
    """)
    out = subprocess.run([sys.executable, "-I", "-c", code], capture_output=True, text=True,
                         timeout=300)
    assert out.returncode == 0, out.stderr
    cov = np.array(eval(out.stdout.strip())).reshape(2, 2)
    assert np.allclose(cov, [[2, 1], [1, 2]], atol=0.08)
    assert math.isfinite(cov.sum())
