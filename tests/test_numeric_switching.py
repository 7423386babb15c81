"""Simulation of PDMPs and switching SDEs (symavg.numeric.switching) and their verification.

Exact references: the closed-form flow of an affine drift; the telegraph process
dx = v dt, v = +-1 flipping at rate lam, E[v_t v_s] = exp(-2 lam |t - s|), so
E[x_t^2] = 2 int_0^t (t - r) e^{-2 lam r} dr = t/lam - (1 - e^{-2 lam t})/(2 lam^2)
(Kac 1974, Rocky Mountain J. Math. 4, 497); the stationary density of the two-state
PDMP dx = +-dt with rates lam_+(x) (+ -> -) and lam_-(x) (- -> +): zero flux gives
p_+ = p_- = p/2 and p' = (lam_- - lam_+) p, so lam_+ = e^x, lam_- = e^-x give
p ~ exp(-2 cosh x) (Faggionato, Gabrielli & Ribezzi Crivellari 2009, Markov Proc.
Rel. Fields 15, 259). Monte Carlo comparisons allow 4 standard errors.
"""

from __future__ import annotations

import math
from concurrent.futures import ThreadPoolExecutor

import numpy as np
import pytest
import sympy as sp
from scipy import integrate

import symavg as sa
from symavg.numeric.codegen import have_numba

x, y = sp.symbols("x y", real=True)
a, b, g, k, lam, c = sp.symbols("a b gamma k lambda c", positive=True)
eps = sa.epsilon
S = sp.Symbol("s")


def _within(sample: np.ndarray, exact: float, k_se: float = 4.0, bias: float = 0.0) -> bool:
    se = sample.std(ddof=1) / math.sqrt(sample.size)
    return abs(sample.mean() - exact) <= k_se * se + bias


def _promoter() -> sa.SwitchingSDE:
    chain = sa.MarkovChain({("off", "on"): a / eps, ("on", "off"): b / eps})
    return sa.SwitchingSDE([x], chain, drift={"off": -g * x, "on": k - g * x})


P = {a: 1.0, b: 2.0, g: 1.0, k: 2.0}


# ----------------------------------------------------------------- exactness
def test_linear_flow_is_exact_between_jumps() -> None:
    """Rates 1e-7: no jump before T = 3 (on all but ~1e-6 of the paths); the saved values
    are the closed-form flow x0 e^{-g t} + k/g (1 - e^{-g t}) to rounding, in 2-D too."""
    chain = sa.MarkovChain({("off", "on"): a / eps, ("on", "off"): b / eps})
    m = sa.SwitchingSDE([x, y], chain, drift={"off": [-g * x, c], "on": [k - g * x, -c * y]})
    ts = [0.0, 0.3, 1.1, 3.0]
    ens = sa.simulate(m, {x: 0.5, y: 2.0}, 3.0, eps=1e7, params={**P, c: 0.7}, paths=50,
                      seed=0, saveat=ts, s0="on")
    assert ens.info["jumps"] == 0 and math.isnan(ens.dt)
    assert ens.schemes[x] == "exact flow + exponential waiting times"
    t = np.array(ts)
    xe = 0.5 * np.exp(-t) + 2.0 * (1 - np.exp(-t))
    np.testing.assert_allclose(ens[x], np.broadcast_to(xe[:, None], (4, 50)), rtol=1e-14)
    np.testing.assert_allclose(ens[y], np.broadcast_to(2 * np.exp(-0.7 * t)[:, None], (4, 50)),
                               rtol=1e-14)
    assert (ens[S] == 1.0).all()


def test_rk4_flow_of_a_nonlinear_drift() -> None:
    """dx = -x^2 dt (not affine: RK4) with no jumps: x0/(1 + x0 t) to the RK4 accuracy."""
    chain = sa.MarkovChain({(0, 1): a / eps, (1, 0): b / eps})
    m = sa.SwitchingSDE([x], chain, drift={0: -x**2, 1: -x**2})
    ens = sa.simulate(m, {x: 2.0}, 2.0, eps=1e9, params=P, paths=20, seed=0,
                      saveat=[0, 0.5, 2.0])
    assert ens.info["jumps"] == 0 and ens.schemes[x] == "rk4 + located jump times"
    np.testing.assert_allclose(ens[x][:, 0], 2.0 / (1 + 2.0 * np.array([0, 0.5, 2.0])),
                               rtol=1e-6)


@pytest.mark.slow
def test_stationary_occupation_and_mean_of_the_promoter() -> None:
    """The chain starts from pi (x-independent rates): P(on) = a/(a+b) at all times, and
    E[x_T] solves dm/dt = k pi_on - g m exactly."""
    ens = sa.simulate(_promoter(), {x: 0.0}, 2.0, eps=0.5, params=P, paths=40_000, seed=4)
    on = ens[S][-1]
    assert _within(on, 1 / 3) and _within(ens[S][0], 1 / 3)
    assert _within(ens[x][-1], 2 / 3 * (1 - math.exp(-2.0)))
    assert ens.info["initial chain law"].startswith("stationary law")


@pytest.mark.slow
def test_telegraph_second_moment() -> None:
    chain = sa.MarkovChain({("+", "-"): lam, ("-", "+"): lam})
    m = sa.SwitchingSDE([x], chain, drift={"+": 1, "-": -1})
    L, ts = 1.5, [0.5, 1.0, 3.0]
    ens = sa.simulate(m, {x: 0.0}, 3.0, params={lam: L}, paths=40_000, seed=5,
                      saveat=[0.0, *ts])
    assert ens.info["exact states"] == ["+", "-"]
    for i, t in enumerate(ts, start=1):
        exact = t / L - (1 - math.exp(-2 * L * t)) / (2 * L**2)
        assert _within(ens[x][i] ** 2, exact)
        assert _within(ens[x][i], 0.0)
    assert abs(ens[S][0].mean() - 0.5) < 0.02


# ----------------------------------------------------------------- feedback
@pytest.mark.slow
def test_feedback_rates_stationary_density() -> None:
    """dx = +-dt, rates e^{x} (+ -> -), e^{-x} (- -> +): p(x) ~ exp(-2 cosh x), each
    chain state with probability 1/2 at every x; the jump times of x-dependent rates are
    located inside the RK4 steps."""
    chain = sa.MarkovChain({("+", "-"): sp.exp(x), ("-", "+"): sp.exp(-x)})
    m = sa.SwitchingSDE([x], chain, drift={"+": 1, "-": -1})
    ens = sa.simulate(m, {x: 0.0}, 12.0, paths=20_000, seed=6)
    assert ens.schemes[x] == "rk4 + located jump times"
    def moment(j: int) -> float:    # the density is below e^-2000 beyond |x| = 8
        return integrate.quad(lambda u: u**j * math.exp(-2 * math.cosh(u)), -8, 8)[0]

    m2, m4 = moment(2) / moment(0), moment(4) / moment(0)
    xT = ens[x][-1]
    assert _within(xT**2, m2) and _within(xT**4, m4) and _within(xT, 0.0)
    plus = ens[S][-1] == 0
    assert _within(plus.astype(float), 0.5)
    assert _within(xT[plus] ** 2, m2)


@pytest.mark.slow
def test_feedback_with_nonlinear_drift_against_fine_numpy() -> None:
    """Nonlinear drifts and a rate that depends on x against a plain NumPy simulation with
    2.5e-4 steps (Euler for x, a switch with probability rate dt per step)."""
    chain = sa.MarkovChain({(0, 1): 1 + x**2, (1, 0): sp.Integer(2)})
    m = sa.SwitchingSDE([x], chain, drift={0: 1 - x**3, 1: -x - sp.sin(x)})
    T, n = 1.0, 10_000
    ens = sa.simulate(m, {x: 0.2}, T, paths=n, seed=7, s0=0)
    rng = np.random.default_rng(70)
    xs, s = np.full(n, 0.2), np.zeros(n, dtype=int)
    h = 2.5e-4
    for _ in range(int(round(T / h))):
        r = np.where(s == 0, 1 + xs**2, 2.0)
        flip = rng.random(n) < r * h
        xs = xs + h * np.where(s == 0, 1 - xs**3, -xs - np.sin(xs))
        s = np.where(flip, 1 - s, s)
    for f in (lambda v: v, lambda v: v**2):
        a1, a2 = f(ens[x][-1]), f(xs)
        se = math.hypot(a1.std(), a2.std()) / math.sqrt(n)
        assert abs(a1.mean() - a2.mean()) < 4 * se + 2e-3
    assert abs(ens[S][-1].mean() - s.mean()) < 4 * math.sqrt(0.25 * 2 / n) + 2e-3


# ----------------------------------------------------------------- switching SDE
@pytest.mark.slow
def test_switching_sde_against_fine_numpy_euler() -> None:
    chain = sa.MarkovChain({(0, 1): 1 + x**2, (1, 0): sp.Integer(3)})
    m = sa.SwitchingSDE([x], chain, drift={0: -x, 1: 1 - x},
                        noise={0: [[sp.Rational(1, 2)]], 1: [[1 + x**2 / 4]]})
    assert not m.is_pdmp
    T, n = 1.0, 10_000
    ens = sa.simulate(m, {x: 0.0}, T, paths=n, seed=8, s0=0, dt=1e-3)
    assert ens.schemes[x] == "euler-maruyama + hazard per step"
    rng = np.random.default_rng(80)
    xs, s = np.zeros(n), np.zeros(n, dtype=int)
    h = 5e-4
    for _ in range(int(round(T / h))):
        r = np.where(s == 0, 1 + xs**2, 3.0)
        flip = rng.random(n) < r * h
        sig = np.where(s == 0, 0.5, 1 + xs**2 / 4)
        xs = xs + h * np.where(s == 0, -xs, 1 - xs) + sig * math.sqrt(h) * rng.standard_normal(n)
        s = np.where(flip, 1 - s, s)
    for f in (lambda v: v, lambda v: v**2):
        a1, a2 = f(ens[x][-1]), f(xs)
        se = math.hypot(a1.std(), a2.std()) / math.sqrt(n)
        assert abs(a1.mean() - a2.mean()) < 4 * se + 3e-3
    assert abs(ens[S][-1].mean() - s.mean()) < 4 * math.sqrt(0.25 * 2 / n) + 3e-3


# ----------------------------------------------------------------- reproducibility
def test_seed_reproduces_and_executor_does_not_matter() -> None:
    m = _promoter()
    kw = dict(eps=0.2, params=P, paths=3000, seed=11, chunk_size=700, saveat=[0, 0.5, 1])
    e1 = sa.simulate(m, {x: 0.0}, 1.0, **kw)
    e2 = sa.simulate(m, {x: 0.0}, 1.0, **kw)
    with ThreadPoolExecutor(max_workers=2) as ex:
        e3 = sa.simulate(m, {x: 0.0}, 1.0, executor=ex, **kw)
    np.testing.assert_array_equal(e1.values, e2.values)
    np.testing.assert_array_equal(e1.values, e3.values)
    e4 = sa.simulate(m, {x: 0.0}, 1.0, **{**kw, "seed": 12})
    assert not np.array_equal(e1.values, e4.values)
    assert e1.state == (x, S) and e1.values.shape == (3, 2, 3000)


@pytest.mark.skipif(not have_numba(), reason="needs numba")
def test_numba_and_numpy_kernels_draw_the_same_paths() -> None:
    chain = sa.MarkovChain({(0, 1): 1 + x**2, (1, 0): sp.Integer(2)})
    pd = sa.SwitchingSDE([x], chain, drift={0: 1 - x**3, 1: -x})
    sd = sa.SwitchingSDE([x], chain, drift={0: 1 - x, 1: -x}, noise=[[sp.Rational(1, 3)]])
    for m in (pd, sd, _promoter()):
        kw = dict(eps=0.3, params=P, paths=150, seed=3, saveat=[0, 0.4, 1.0])
        e1 = sa.simulate(m, {x: 0.1}, 1.0, backend="numba", **kw)
        e2 = sa.simulate(m, {x: 0.1}, 1.0, backend="numpy", **kw)
        np.testing.assert_allclose(e1.values, e2.values, rtol=1e-9, atol=1e-12)


def test_initial_law_depends_on_each_paths_x0() -> None:
    """Rates x (0 -> 1) and 1 (1 -> 0): pi_1(x0) = x0/(1 + x0), per path."""
    chain = sa.MarkovChain({(0, 1): x, (1, 0): sp.Integer(1)})
    m = sa.SwitchingSDE([x], chain, drift={0: 0, 1: 0})
    x0 = np.where(np.arange(4000) % 2 == 0, 0.25, 4.0)
    ens = sa.simulate(m, {x: x0}, 1e-9, paths=4000, seed=2)
    s0 = ens[S][0]
    assert _within(s0[x0 < 1], 0.2) and _within(s0[x0 > 1], 0.8)


# ----------------------------------------------------------------- errors
def test_bad_input_gives_named_errors() -> None:
    m = _promoter()
    with pytest.raises(sa.ModelError, match="x0 has no value for x"):
        sa.simulate(m, {}, 1.0, eps=0.1, params=P, paths=10)
    with pytest.raises(sa.ModelError, match="'up' is not a state"):
        sa.simulate(m, {x: 0.0}, 1.0, eps=0.1, params=P, paths=10, s0="up")
    with pytest.raises(sa.SimulationError, match="no value for the parameter"):
        sa.simulate(m, {x: 0.0}, 1.0, params=P, paths=10)
    d = sp.Symbol("d", real=True)
    chain = sa.MarkovChain({(0, 1): d, (1, 0): sp.Integer(1)})
    neg = sa.SwitchingSDE([x], chain, drift={0: -x, 1: 1 - x})
    with pytest.raises(sa.ModelError, match=r"rate Q\[0, 1\] = d is -0.5 .* must be >= 0"):
        sa.simulate(neg, {x: 0.0}, 1.0, params={d: -0.5}, paths=10)
    # a rate that turns negative along the paths: x falls below 0 at t = 1
    chain = sa.MarkovChain({(0, 1): x, (1, 0): sp.Integer(1)})
    down = sa.SwitchingSDE([x], chain, drift={0: -1, 1: -1})
    with pytest.raises(sa.SimulationError, match="negative"):
        sa.simulate(down, {x: 1.0}, 3.0, paths=200, seed=0, s0=1)
    with pytest.raises(sa.ModelError, match="SwitchingSDE only"):
        sa.simulate(sa.SDE([x], [-x], noise=[1]), {x: 0.0}, 1.0, paths=10, s0=0)


# ----------------------------------------------------------------- verify
def _reduced(order: int) -> sa.EffectiveModel:
    pon = a / (a + b)
    D = 2 * eps * k**2 * a * b / (a + b) ** 3 if order else sp.S.Zero
    return sa.EffectiveModel(state=(x,), drift=sp.ImmutableMatrix([k * pon - g * x]),
                             diffusion=sp.ImmutableMatrix([[D]]), noise=None,
                             regime="averaging", steps=sa.Derivation("by hand"),
                             fast=(S,), eps=eps, order=order)


@pytest.mark.slow
def test_verify_promoter_order_zero_and_one() -> None:
    """The promoter from x0 = 0, chain 'off' at t = 0. Order 0 (the averaged ODE): the
    weak errors of x (the initial layer) and x^2 (the variance the ODE misses) are
    O(eps); its variance is zero, the full model's is not. Order 1 (diffusion
    2 eps k^2 a b/(a+b)^3, simulated at each eps): the variance matches."""
    kw = dict(x0={x: 0.0}, T=1.0, eps_values=[0.2, 0.1, 0.05], observables=[x, x**2],
              params=P, paths=20_000, seed=3, s0="off")
    r0 = sa.verify(_promoter(), _reduced(0), **kw)
    r1 = sa.verify(_promoter(), _reduced(1), **kw)

    def row(rep: sa.VerifyReport, e: float, o: sp.Expr):  # noqa: ANN202
        return next(r for r in rep.rows if r.eps == e and r.observable == o)

    for o in (x, x**2):
        errs = [abs(row(r0, e, o).error) for e in r0.eps_values]
        assert all(row(r0, e, o).resolved for e in r0.eps_values)
        assert errs[0] > errs[1] > errs[2]
        lo, hi = r0.fits[o].interval
        assert lo < 1.0 < hi + 0.1
    assert len(set(r1.info["seeds"]["reduced"].values())) == 3
    for e in r1.eps_values:
        v_full = row(r0, e, x**2).full - row(r0, e, x).full ** 2
        v0 = row(r0, e, x**2).reduced - row(r0, e, x).reduced ** 2
        v1 = row(r1, e, x**2).reduced - row(r1, e, x).reduced ** 2
        assert abs(v0) < 1e-12 < v_full
        assert abs(v1 - v_full) < 0.1 * v_full + 0.6 * e * v_full   # O(eps) relative
    e = r1.eps_values[-1]
    v_full = row(r1, e, x**2).full - row(r1, e, x).full ** 2
    v1 = row(r1, e, x**2).reduced - row(r1, e, x).reduced ** 2
    assert abs(v1 - v_full) < 0.06 * v_full


@pytest.mark.slow
def test_verify_promoter_stationary_start_order_one_corrects_the_second_moment() -> None:
    """Chain from its stationary law: E[x] is exact for both reduced models (no initial
    layer; dm/dt = k pi_on - g m holds exactly), the x^2 error of order 0 is the missed
    variance ~ eps, and order 1 removes most of it."""
    kw = dict(x0={x: 0.0}, T=1.0, eps_values=[0.2, 0.1, 0.05], observables=[x, x**2],
              params=P, paths=20_000, seed=5)
    r0 = sa.verify(_promoter(), _reduced(0), **kw)
    r1 = sa.verify(_promoter(), _reduced(1), **kw)
    for rep in (r0, r1):
        assert rep.fits[x].order is None          # unresolved: E[x] is preserved
        assert all(abs(r.error) < 4 * r.error_se for r in rep.rows if r.observable == x)
    q = r0.fits[x**2]
    assert q.order is not None and q.interval[0] < 1.0 < q.interval[1]
    for e in r0.eps_values:
        e0 = next(r for r in r0.rows if r.eps == e and r.observable == x**2)
        e1 = next(r for r in r1.rows if r.eps == e and r.observable == x**2)
        assert abs(e1.error) < 0.3 * abs(e0.error)
