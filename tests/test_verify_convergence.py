"""Issue 13: sequential verification, the deterministic reduced side, the coupled
time-step check, honest reports and the CLI options."""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import pytest
import sympy as sp

import symavg as sa
from symavg import cli
from symavg.numeric.kolmogorov import (
    gaussian_expectations,
    gaussian_moments,
    is_linear_gaussian,
    kolmogorov_expectations,
)
from symavg.numeric.sequential import paths_needed, plan

x, y = sp.symbols("x y", real=True)
k, s, mu = sp.symbols("k s mu", positive=True)
eps = sa.epsilon
MODELS = Path(__file__).resolve().parents[1] / "examples" / "models"


def _effective(state, drift, diffusion, periodic=()) -> sa.EffectiveModel:  # noqa: ANN001
    return sa.EffectiveModel(tuple(state), sp.ImmutableMatrix(drift),
                             sp.ImmutableMatrix(diffusion), None, "averaging",
                             sa.Derivation("test"), periodic=tuple(periodic))


# ----------------------------------------------------------------- deterministic side
def test_gaussian_moments_of_the_ou_process() -> None:
    """OU dX = -k X dt + sigma dW: m = x0 e^{-kT}, var = sigma^2 (1 - e^{-2kT}) / (2k)
    (Gardiner, Stochastic Methods, 4th ed., Sec. 3.8.4, eqs. for the OU mean and variance)."""
    ou = _effective([x], [-k * x], [[s**2]])
    vals = {k: 1.5, s: 0.7}
    assert is_linear_gaussian(ou, vals)
    r = gaussian_expectations(ou, {x: 2.0}, 0.8, [x, x**2, sp.cos(x)], vals)
    m = 2.0 * math.exp(-1.2)
    v = 0.49 * (1 - math.exp(-2.4)) / 3.0
    assert r.means[x] == pytest.approx(m, rel=1e-12)
    assert r.means[x**2] == pytest.approx(m * m + v, rel=1e-12)
    # E cos X = cos(m) exp(-v/2) for a Gaussian (characteristic function)
    assert r.means[sp.cos(x)] == pytest.approx(math.cos(m) * math.exp(-v / 2), rel=1e-10)
    assert max(r.checks["ODE residuals (mean, covariance)"]) < 1e-6


def test_gaussian_moments_in_two_dimensions_against_the_moment_odes() -> None:
    """A rotating 2-D OU process: the Van Loan exponentials against an independent
    integration of dm/dt = A m + b, dS/dt = A S + S A^T + D (scipy's RK45)."""
    from scipy.integrate import solve_ivp

    A = np.array([[-1.0, 2.0], [-2.0, -0.5]])
    b = np.array([0.3, -0.1])
    D = np.array([[1.0, 0.2], [0.2, 0.5]])
    m0 = np.array([1.0, -1.0])

    def rhs(t: float, z: np.ndarray) -> np.ndarray:
        m, S = z[:2], z[2:].reshape(2, 2)
        return np.concatenate([A @ m + b, (A @ S + S @ A.T + D).ravel()])

    sol = solve_ivp(rhs, (0, 1.3), np.concatenate([m0, np.zeros(4)]), rtol=1e-11, atol=1e-12)
    m, S = gaussian_moments(A, b, D, m0, 1.3)
    assert np.allclose(m, sol.y[:2, -1], atol=1e-8)
    assert np.allclose(S, sol.y[2:, -1].reshape(2, 2), atol=1e-8)


def test_backward_equation_for_geometric_brownian_motion() -> None:
    """GBM dX = mu X dt + s X dW: E X_T^2 = x0^2 exp((2 mu + s^2) T)
    (Oksendal, Stochastic Differential Equations, 6th ed., Example 5.1.1)."""
    gbm = _effective([x], [mu * x], [[s**2 * x**2]])
    vals = {mu: 0.3, s: 0.4}
    assert not is_linear_gaussian(gbm, vals)
    r = kolmogorov_expectations(gbm, {x: 1.0}, 1.0, [x, x**2], vals)
    assert r.means[x] == pytest.approx(math.exp(0.3), rel=1e-5)
    assert r.means[x**2] == pytest.approx(math.exp(0.6 + 0.16), rel=1e-5)
    assert r.errors[x**2] < 1e-4
    assert "truncation (half-width, change when doubled)" in r.checks


def test_backward_equation_on_a_circle() -> None:
    """Brownian motion on a circle: E cos X_T = cos(x0) exp(-D T) (heat kernel, the
    Fourier mode k = 1 decays at rate D k^2)."""
    D = sp.Symbol("D", positive=True)
    circ = _effective([x], [0], [[2 * D]], periodic=[(x, 2 * sp.pi)])
    r = kolmogorov_expectations(circ, {x: 0.4}, 0.7, [sp.cos(x), sp.sin(2 * x)], {D: 0.5})
    assert r.means[sp.cos(x)] == pytest.approx(math.cos(0.4) * math.exp(-0.35), abs=1e-6)
    assert r.means[sp.sin(2 * x)] == pytest.approx(math.sin(0.8) * math.exp(-1.4), abs=1e-6)


@pytest.mark.slow
def test_backward_equation_against_the_reduced_models_monte_carlo() -> None:
    """A nonlinear 1-D model (the README's reduced model): the backward equation against
    the reduced model's own Monte Carlo at a fine step."""
    c = sp.Function("c")
    model = sa.SDE([x, y], [c(x) * y / eps, -y / eps**2], noise=[[1], [sp.sqrt(2) / eps]])
    red = sa.reduce(model, [y])
    f = {c: sp.Lambda(x, sp.sin(x))}
    r = kolmogorov_expectations(red, {x: 0.3}, 0.5, [x, x**2], {}, functions=f)
    ens = sa.simulate(red, 0.3, 0.5, dt=0.5 / 2000, paths=200_000, seed=3, functions=f)
    for o in (x, x**2):
        mean, se = ens.mean(o)
        assert abs(mean[-1] - r.means[o]) < 4 * se[-1] + 2e-3 * 0.5 / 2000 * 1e3


# ----------------------------------------------------------------- sequential helpers
def test_paths_needed_and_plan() -> None:
    assert paths_needed(0.01, 1.0, 0.0, 0.0, 2.0) == pytest.approx(40_000)
    assert paths_needed(0.01, 1.0, 1.0, 0.0, 2.0) == pytest.approx(80_000)
    assert paths_needed(0.01, 1.0, 0.0, 0.006, 2.0) == math.inf   # the reduced side limits
    assert plan(1000, 40_000, 10**6, 0.0, None) == 3000            # at most 3x per round
    assert plan(1000, 1200, 10**6, 0.0, None) == 500               # at least half
    assert plan(1000, 40_000, 1500, 0.0, None) == 500              # the budget
    assert plan(1000, 40_000, 10**6, 0.01, 5.0) == 500             # the time left


def _ou_pair() -> tuple[sa.SDE, sa.EffectiveModel]:
    m = sa.SDE([x, y], [y / eps, -y / eps**2], noise=[[0], [sp.sqrt(2) / eps]])
    return m, sa.reduce(m, [y])


def test_verify_uses_the_gaussian_reduced_side_and_reports_paths_needed() -> None:
    m, red = _ou_pair()
    rep = sa.verify(m, red, 0.0, 0.2, eps_values=[0.4, 0.2], observables=[x**2], paths=2000,
                    seed=1, backend="numpy", check_dt=False)
    assert rep.info["reduced method"] == "gaussian"
    for r in rep.rows:                 # reduced x_T ~ N(0, 2T): no sampling noise
        assert r.reduced == pytest.approx(0.4, rel=1e-10) and r.reduced_se < 1e-10
        assert r.paths == 2000
    for need in rep.info["paths needed"].values():
        assert need["at least"] <= need["at the estimate"]
    assert "exact" not in rep.table()


@pytest.mark.slow
def test_target_resolves_a_known_order_two_error() -> None:
    """x = eps^-1 int y, y a stationary OU process of rate eps^-2: E x_T^2 = 2T - 2 eps^2
    (1 - e^{-T/eps^2}) (the variance of an integrated OU process; Gardiner, Stochastic
    Methods, 4th ed., Sec. 3.8.4), so the weak error of the reduced model (x = sqrt(2) W)
    is exactly -2 eps^2 (1 - e^{-T/eps^2}): order 2."""
    m, red = _ou_pair()
    T = 0.2
    rep = sa.verify(m, red, {x: 0.0}, T, eps_values=[0.4, 0.2, 0.1], observables=[x**2],
                    paths=2000, seed=4, target=3.0, max_paths=200_000, backend="numba")
    assert rep.info["stop"].startswith("every error resolved")
    for r in rep.rows:
        exact = -2 * r.eps**2 * (1 - math.exp(-T / r.eps**2))
        assert r.resolved and abs(r.error - exact) < 4 * r.error_se
    # the exact errors are not a pure power at eps = 0.4 (T / eps^2 = 1.25): their local
    # slopes are 1.52 (0.4 -> 0.2) and 1.99 (0.2 -> 0.1); the fitted interval must hold
    # the order fitted to the exact errors with the same weights
    from symavg.numeric.verify import fit_order

    exact = [-2 * r.eps**2 * (1 - math.exp(-T / r.eps**2)) for r in rep.rows]
    q_exact = fit_order([r.eps for r in rep.rows], exact, [r.error_se for r in rep.rows],
                        threshold=0.0).order
    fit = rep.fits[x**2]
    assert fit.interval[0] <= q_exact <= fit.interval[1]
    assert math.log2(exact[1] / exact[2]) == pytest.approx(2.0, abs=0.02)
    d, se = rep.dt_bias[x**2]
    assert abs(d) < 4 * se + 1e-3 and se < 0.1 * rep.rows[-1].full_se   # coupled: small


def test_order_one_reduced_model_runs_at_each_eps() -> None:
    """Averaging with the diffusion approximation (order=1): the reduced diffusion is
    proportional to eps, so the reduced side is computed at every eps."""
    m = sa.SDE([x, y], [y, -y / eps], noise=[[0], [sp.sqrt(2 / eps)]])
    red = sa.reduce(m, [y], order=1)
    assert red.diffusion[0, 0].has(eps)
    rep = sa.verify(m, red, {x: 0.0}, 0.5, eps_values=[0.2, 0.1], observables=[x**2],
                    paths=1000, seed=2, backend="numpy", check_dt=False)
    assert rep.info["reduced depends on eps"]
    r02, r01 = (r.reduced for r in rep.rows)
    a = red.diffusion[0, 0]
    assert r02 == pytest.approx(float(a.subs(eps, 0.2)) * 0.5, rel=1e-8)
    assert r01 == pytest.approx(float(a.subs(eps, 0.1)) * 0.5, rel=1e-8)


# ----------------------------------------------------------------- coupled dt-check
def test_pair_has_the_law_of_each_step_and_a_small_difference() -> None:
    from symavg.numeric.pair import simulate_pair, step_bias

    m = sa.SDE([x], [-k * x + sp.sin(x)], noise=[[1 + x**2 / 4]])
    c_ens, f_ens = simulate_pair(m, {x: 1.0}, 1.0, 0.05, params={k: 2.0}, paths=20_000,
                                 seed=5, backend="numpy")
    ref_c = sa.simulate(m, {x: 1.0}, 1.0, dt=0.05, params={k: 2.0}, paths=20_000, seed=6,
                        backend="numpy")
    ref_f = sa.simulate(m, {x: 1.0}, 1.0, dt=0.025, params={k: 2.0}, paths=20_000, seed=7,
                        backend="numpy")
    for ens, ref in ((c_ens, ref_c), (f_ens, ref_f)):
        a, b = ens[x][-1], ref[x][-1]
        assert abs(a.mean() - b.mean()) < 4 * math.hypot(a.std(), b.std()) / math.sqrt(a.size)
        assert a.std() == pytest.approx(b.std(), rel=0.04)
    d, se = step_bias(c_ens, f_ens, x)
    indep = math.hypot(ref_c[x][-1].std(), ref_f[x][-1].std()) / math.sqrt(20_000)
    assert se < 0.2 * indep


def test_pair_with_a_shared_exact_ou_noise_is_exact_for_the_fast_variable() -> None:
    """An exact OU step composed twice is the exact step of twice the length: the fast
    variable of both copies is the same path (the coupling of kernel._coarse_normals)."""
    from symavg.numeric.pair import simulate_pair

    c = sp.Function("c")
    m = sa.SDE([x, y], [c(x) * y / eps, -y / eps**2], noise=[[1], [sp.sqrt(2) / eps]])
    c_ens, f_ens = simulate_pair(m, {x: 0.3}, 0.1, 0.1 / 40, eps=0.2, paths=2000, seed=1,
                                 functions={c: sp.Lambda(x, sp.sin(x))}, backend="numpy")
    assert np.allclose(c_ens[y][-1], f_ens[y][-1], atol=1e-9)
    assert c_ens[y][-1].std() == pytest.approx(1.0, rel=0.08)
    assert np.abs(c_ens[x][-1] - f_ens[x][-1]).mean() < 0.05 * c_ens[x][-1].std()


# ----------------------------------------------------------------- honest reports
def test_negative_value_of_a_positive_parameter_is_refused() -> None:
    m = sa.SDE([x], [-k * x], noise=[[1]])
    with pytest.raises(sa.ModelError, match="declared positive"):
        sa.simulate(m, {x: 0.0}, 1.0, params={k: -1.0}, paths=10)
    full = sa.SDE([x, y], [k * y / eps, -y / eps**2], noise=[[0], [sp.sqrt(2) / eps]])
    with pytest.raises(sa.ModelError, match="declared positive"):
        sa.verify(full, sa.reduce(full, [y]), {x: 0.0}, 0.1, eps_values=[0.2],
                  params={k: -1.0}, paths=10)


def test_scalar_start_for_one_slow_variable() -> None:
    m, red = _ou_pair()
    ens = red.simulate(0.3, 0.1, dt=0.01, paths=50, seed=0, backend="numpy")
    assert np.all(ens[x][0] == 0.3)
    full = sa.simulate(m, 0.3, 0.01, eps=0.5, paths=50, seed=0, backend="numpy")
    assert np.all(full[x][0] == 0.3)
    two = sa.SDE([x, y], [-x, -y], noise=[[1, 0], [0, 1]])
    with pytest.raises(sa.ModelError, match="one slow variable"):
        sa.simulate(two, 0.3, 0.1, paths=10)


# ----------------------------------------------------------------- CLI
def test_cli_passes_target_and_dt_factor(monkeypatch: pytest.MonkeyPatch,
                                         capsys: pytest.CaptureFixture[str]) -> None:
    import symavg

    calls: dict = {}

    class Rep:
        def table(self) -> str:
            return "ok"

    def fake(full, reduced, x0, T, **kw):  # noqa: ANN001, ANN003
        calls.update(kw)
        return Rep()

    monkeypatch.setattr(symavg, "verify", fake, raising=False)
    ou = str(MODELS / "ou_slow.toml")
    assert cli.main(["verify", ou, "--paths", "1000", "--dt-factor", "0.02", "--target", "3",
                     "--max-paths", "50000", "--max-time", "30"]) == 0
    assert calls["dt_factor"] == 0.02 and calls["target"] == 3.0
    assert calls["max_paths"] == 50_000 and calls["max_time"] == 30.0 and calls["paths"] == 1000
    assert cli.main(["verify", ou, "--target", "-1"]) == 2
    assert cli.main(["verify", ou, "--dt-factor", "0"]) == 2
    assert "--target" in capsys.readouterr().err


def test_target_stops_at_the_path_budget_and_says_what_is_needed() -> None:
    m, red = _ou_pair()
    rep = sa.verify(m, red, {x: 0.0}, 0.1, eps_values=[0.3, 0.15], observables=[x**2],
                    paths=300, max_paths=700, seed=3, target=50.0, backend="numpy",
                    check_dt=False)
    assert rep.info["stop"].startswith("path budget") or "out of reach" in rep.info["stop"]
    assert all(n <= 700 for n in rep.info["paths"].values())
    assert rep.info["paths needed"] and rep.info["rounds"] >= 1
    assert all(r.threshold == 50.0 for r in rep.rows)
    assert "standard errors" in rep.table() and "paths" in rep.table()
    with pytest.raises(sa.ModelError, match="target"):
        sa.verify(m, red, {x: 0.0}, 0.1, eps_values=[0.3], target=-1.0)
    with pytest.raises(sa.ModelError, match="reduced_method"):
        sa.verify(m, red, {x: 0.0}, 0.1, eps_values=[0.3], reduced_method="pde")


def test_backward_equation_in_two_dimensions_against_the_gaussian_route() -> None:
    """A rotating 2-D OU process with correlated noise: the 2-D backward equation (coarse
    grids, loose tolerance) against the closed-form Gaussian moments."""
    from symavg.numeric.kolmogorov import kolmogorov_expectations_2d

    A = sp.Matrix([[-1, 2], [-2, -sp.Rational(1, 2)]])
    m = _effective([x, y], A * sp.Matrix([x, y]) + sp.Matrix([0.3, -0.1]),
                   [[1, sp.Rational(1, 5)], [sp.Rational(1, 5), sp.Rational(1, 2)]])
    obs = [x, x * y, sp.cos(x + y)]
    g = gaussian_expectations(m, {x: 1.0, y: -1.0}, 0.7, obs, {})
    r = kolmogorov_expectations_2d(m, {x: 1.0, y: -1.0}, 0.7, obs, {}, tol=1e-3, points=21,
                                   max_refine=2)
    for o in obs:
        assert abs(r.means[o] - g.means[o]) < max(5 * r.errors[o], 2e-3)
