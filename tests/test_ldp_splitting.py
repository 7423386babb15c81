"""Adaptive multilevel splitting beyond one-variable diffusions: a PDMP (state = x and the
chain state) and diffusions in two variables with a reaction coordinate, past the reach of
plain Monte Carlo, against independent solves of the backward equations."""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np
import pytest
import scipy.sparse as sps
import scipy.sparse.linalg as spl
import sympy as sp
from scipy.integrate import quad, solve_ivp
from scipy.interpolate import RegularGridInterpolator

import symavg as sa
from symavg.errors import ModelError
from symavg.numeric.pdmp_paths import pdmp_sampler

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _pdmp_exact import exact_mean_exit_time  # noqa: E402

x, y = sp.symbols("x y", real=True)
eps = sa.epsilon
A0, A1, B = 0.1, 8.0, 2.0
XM, XS, _ = np.sort(np.roots([-A1, A1, -(B + A0), A0]).real)   # (a0 + a1 x^2)(1 - x) = b x


def feedback_pdmp():
    """dx = (s - x) dt, s: 0 -> 1 at (a0 + a1 x^2)/eps, 1 -> 0 at b/eps (the PDMP of
    tests/test_ldp.py): bistable, stable x- = 0.0609, unstable xs = 0.3464."""
    a0, a1, b = sp.symbols("a0 a1 b", positive=True)
    ch = sa.MarkovChain({(0, 1): (a0 + a1 * x**2) / eps, (1, 0): b / eps})
    return sa.SwitchingSDE([x], ch, drift={0: -x, 1: 1 - x}), {a0: A0, a1: A1, b: B}


def V(z):
    """The quasipotential of the two-state PDMP, V' = k01/|f0| - k10/f1 with
    f0 = -x, f1 = 1 - x: V = -a0 log x - a1 x^2/2 - b log(1 - x) (Faggionato, Gabrielli &
    Ribezzi Crivellari, Markov Process. Relat. Fields 16 (2010) 497, sec. 2; Bressloff &
    Newby, Phys. Rev. E 89 (2014) 042701)."""
    return -A0 * np.log(z) - A1 * z**2 / 2 - B * np.log(1 - z)


def pdmp_committor(e, lo, hi, z):
    """(q0, q1)(z) = P(reach hi before lo | x = z, chain state 0 or 1) from the backward
    equations of the PDMP, f_i q_i' + sum_j (Q_ij/e)(q_j - q_i) = 0 (the generator of a PDMP:
    Davis, Markov Models and Optimization, Chapman & Hall 1993, sec. 26; for the two-state
    PDMP, Bressloff & Newby, Phys. Rev. E 89 (2014) 042701), with q0(lo) = 0 (state 0 flows
    down into lo) and q1(hi) = 1: shot from v(lo) = (0, 1) by scipy's Radau and rescaled by
    v1(hi) (the system is linear)."""
    def rhs(u, q):
        return [(A0 + A1 * u * u) / e * (q[1] - q[0]) / u, -B / e * (q[0] - q[1]) / (1 - u)]
    sol = solve_ivp(rhs, (lo, hi), [0.0, 1.0], method="Radau", rtol=1e-11, atol=1e-12,
                    dense_output=True)
    return sol.sol(z) / sol.y[1, -1]


def pdmp_exact_mean_exit_time(e, x0, xc, n=200_001):
    r"""E[tau] from x0 (chain from pi(x0)) to xc for the feedback PDMP, by the exact solution
    of the backward equations (tests/_pdmp_exact.py: the double-integral formula;
    Faggionato et al. 2010; Bressloff & Newby 2014; the PDMP analogue of Gardiner, Handbook
    of Stochastic Methods, sec. 5.2.7)."""
    return exact_mean_exit_time(V, lambda z: A0 + A1 * z**2, B, e, x0, xc, n)


@pytest.mark.slow
def test_pdmp_exit_probability_past_plain_monte_carlo():
    """AMS on the full state (x, s) of the feedback PDMP at eps = 0.01: from (0.1, s = 1)
    the probability to reach 0.45 (past the saddle 0.346) before the well 0.0609 is 5.7e-5;
    within 4 standard errors of the committor of the backward equations (scipy's Radau),
    with a standard error below 20%. At eps = 0.05 the start's chain state drawn from the
    stationary law pi(0.1) gives pi . q (same reference)."""
    m, prm = feedback_pdmp()
    e = 0.01
    ref = pdmp_committor(e, XM, 0.45, 0.1)[1]
    assert 1e-5 < ref < 1e-4
    est = sa.ldp.exit_probability(m, {x: 0.1}, {x: XM}, {x: 0.45}, eps=e, params=prm, s0=1,
                                  replicas=100, kill=10, runs=8, seed=1)
    assert abs(est.probability - ref) < 4 * est.stderr, (est.probability, est.stderr, ref)
    assert est.stderr < 0.2 * ref
    q = pdmp_committor(0.05, XM, 0.45, 0.1)
    k01 = (A0 + A1 * 0.01) / 0.05
    pi = np.array([B / 0.05, k01]) / (k01 + B / 0.05)
    mix = sa.ldp.exit_probability(m, {x: 0.1}, {x: XM}, {x: 0.45}, eps=0.05, params=prm,
                                  replicas=100, kill=10, runs=8, seed=2)
    assert abs(mix.probability - pi @ q) < 4 * mix.stderr, (mix.probability, mix.stderr, pi @ q)


@pytest.mark.slow
def test_pdmp_splitting_mean_exit_time_past_plain_monte_carlo():
    """At eps = 0.01 (Delta V / eps = 8.6, E[tau] = 2.4e5 time units: plain Monte Carlo at
    the same 10% error takes about 11 minutes of kernel time, benchmarks/README.md) the
    renewal formula for the PDMP, E[tau] = t1 + E[T_s] + (1 - p)/p E[C_f] with the cycles
    closed at (z0, s = 1), the one chain state that flows up through z0 (pdmp_paths module
    docstring; Cerou, Guyader, Lelievre & Pommier, J. Chem. Phys. 134 (2011) 054108 for the
    1-D diffusion), gives the mean time from the well to 0.45 within 4 standard errors of
    the exact double-integral value (Faggionato, Gabrielli & Ribezzi Crivellari 2010;
    Bressloff & Newby 2014), with a standard error below 20%."""
    m, prm = feedback_pdmp()
    e = 0.01
    ref = pdmp_exact_mean_exit_time(e, XM, 0.45)
    assert ref > 1e5
    assert V(XS) - V(XM) == pytest.approx(0.0859, abs=1e-4)
    T = sa.ldp.splitting_mean_exit_time(m, {x: XM}, {x: 0.45}, level=0.1, eps=e, params=prm,
                                        paths=200, replicas=100, kill=10, runs=8, seed=2)
    assert abs(T.mean - ref) < 4 * T.stderr, (T.mean, T.stderr, ref)
    assert T.stderr < 0.2 * ref
    assert T.cycle > T.failure > 0 and T.approach > 0
    # the regeneration the formula rests on: every upward crossing of z0 is at (z0, s = 1),
    # every return to the well at (x-, s = 0), the crossing located on the flow segment
    ker = pdmp_sampler(m, XM, e, prm, None, 0.05, 10**9, 1e9, "auto")
    ker.seed(np.random.default_rng(5))
    ups = [ker.path(np.array([XM, float(s)]), -np.inf, 0.1).states[-1] for s in (0, 1) * 20]
    downs = [ker.path(np.array([0.1, 1.0]), XM, 0.45) for _ in range(40)]
    assert all(u[0] == 0.1 and u[1] == 1 for u in ups)
    assert all(d.states[-1, 0] == XM and d.states[-1, 1] == 0 for d in downs if d.side == -1)


def maier_stein(beta=3):
    """dx = (x - x^3 - beta x y^2) dt + sqrt(eps) dW1, dy = -(1 + x^2) y dt + sqrt(eps) dW2:
    not a gradient system for beta != 1 (Maier & Stein, SIAM J. Appl. Math. 57 (1997) 752,
    eq. (2.1) with mu = 1)."""
    return sa.SDE([x, y], [x - x**3 - beta * x * y**2, -(1 + x**2) * y],
                  diffusion=[[eps, 0], [0, eps]])


def fd_committor(e, lo, hi, Ly, h, beta=3):
    """The committor q (q = 0 at x = lo, 1 at x = hi) of the Maier-Stein model from the
    backward Kolmogorov equation b . grad q + (e/2) Laplace q = 0, by second-order central
    differences on [lo, hi] x [-Ly, Ly] (reflecting at y = +-Ly, where the density is
    negligible), solved by scipy.sparse's spsolve; h below e / max|b| (monotone stencil)."""
    xi = np.linspace(lo, hi, int(round((hi - lo) / h)) + 1)[1:-1]
    Y = np.linspace(-Ly, Ly, int(round(2 * Ly / h)) + 1)

    def d1(n):
        return sps.diags([-np.ones(n - 1), np.ones(n - 1)], [-1, 1]).tolil() / (2 * h)

    def d2(n):
        return sps.diags([np.ones(n - 1), -2 * np.ones(n), np.ones(n - 1)],
                         [-1, 0, 1]).tolil() / h**2
    Dx, Dxx, Dy, Dyy = d1(len(xi)), d2(len(xi)), d1(len(Y)), d2(len(Y))
    Dy[0, 1] = Dy[-1, -2] = 0.0
    Dyy[0, 1] = Dyy[-1, -2] = 2 / h**2
    XX, YY = np.meshgrid(xi, Y, indexing="ij")
    bx = (XX - XX**3 - beta * XX * YY**2).ravel()
    by = (-(1 + XX**2) * YY).ravel()
    Ix, Iy = sps.identity(len(xi)), sps.identity(len(Y))
    L = (sps.diags(bx) @ sps.kron(Dx, Iy) + sps.diags(by) @ sps.kron(Ix, Dy)
         + e / 2 * (sps.kron(Dxx, Iy) + sps.kron(Ix, Dyy)))
    rhs = np.zeros(L.shape[0])
    last = (XX == xi[-1]).ravel()
    rhs[last] = -(bx[last] / (2 * h) + e / (2 * h**2))
    q = spl.spsolve(L.tocsc(), rhs).reshape(len(xi), len(Y))
    return RegularGridInterpolator((xi, Y), q)


@pytest.mark.slow
def test_two_variable_committor_with_a_reaction_coordinate():
    """The non-gradient Maier-Stein diffusion (beta = 3) from (-0.7, 0): the probability that
    the coordinate xi = x reaches 0.3 (past the saddle (0, 0)) before -0.9, by AMS on the full
    state (dt = 2e-3), against the finite-difference committor of the backward Kolmogorov
    equation (fd_committor, grids h and h/2; their difference bounds the grid error):
    at eps = 0.1 (p = 9e-3) within 4 standard errors, and at eps = 0.025 (p = 8e-8, past
    plain Monte Carlo) log p within 4 standard errors of log p plus the grid error."""
    m = maier_stein()
    start = {x: -0.7, y: 0.0}
    e = 0.1
    ref = float(fd_committor(e, -0.9, 0.3, 0.6, 0.005)((-0.7, 0.0)))
    est = sa.ldp.exit_probability(m, start, -0.9, 0.3, coordinate=x, eps=e, replicas=100,
                                  kill=10, runs=8, dt=2e-3, seed=6)
    assert abs(est.probability - ref) < 4 * est.stderr + 1e-3 * ref, (est.probability, ref)
    e = 0.025
    q1, q2 = (float(fd_committor(e, -0.9, 0.3, 0.6, h)((-0.7, 0.0))) for h in (0.01, 0.005))
    assert 1e-8 < q2 < 1e-6
    est = sa.ldp.exit_probability(m, start, -0.9, 0.3, coordinate=x, eps=e, replicas=100,
                                  kill=10, runs=8, dt=2e-3, seed=3)
    grid = abs(np.log(q2 / q1))
    assert abs(est.log_probability - np.log(q2)) < 4 * est.log_probability_stderr + grid, (
        est.probability, est.stderr, q1, q2)
    assert est.stderr < 0.25 * est.probability


@pytest.mark.slow
def test_nonlinear_reaction_coordinate_radius():
    """The 2-D Ornstein-Uhlenbeck process dX = -X dt + sqrt(eps) dW with the coordinate
    r = |X| (A = {r <= 0.2}, B = {r >= 1}): r is the diffusion dr = (-r + eps/(2 r)) dt +
    sqrt(eps) dB (Ito), whose scale density is s(r) = e^{r^2/eps} / r, so P(B before A from
    r = 0.3) = int_0.2^0.3 s / int_0.2^1 s (Karlin & Taylor, A Second Course in Stochastic
    Processes, sec. 15.3, eq. (3.10)); at eps = 0.1 (p = 6e-4) AMS on the full state, with
    the bridge test of the coordinate (variance rate |grad r|^2 eps = eps), is within 4
    standard errors."""
    ou = sa.SDE([x, y], [-x, -y], diffusion=[[eps, 0], [0, eps]])
    e = 0.1

    def s(u):
        return np.exp((u * u - 1) / e) / u
    ref = quad(s, 0.2, 0.3)[0] / quad(s, 0.2, 1.0)[0]
    est = sa.ldp.exit_probability(ou, {x: 0.3 / np.sqrt(2), y: 0.3 / np.sqrt(2)}, 0.2, 1.0,
                                  coordinate=sp.sqrt(x**2 + y**2), eps=e, replicas=100,
                                  kill=10, runs=8, dt=2e-3, seed=4)
    assert abs(est.probability - ref) < 4 * est.stderr, (est.probability, est.stderr, ref)


def test_splitting_routes_name_bad_input():
    m2 = maier_stein()
    with pytest.raises(ModelError, match="give the reaction coordinate"):
        sa.ldp.exit_probability(m2, {x: -0.7, y: 0.0}, -0.9, 0.3, eps=0.1)
    with pytest.raises(ModelError, match="expression of the state"):
        sa.ldp.exit_probability(m2, {x: -0.7, y: 0.0}, -0.9, 0.3, coordinate=sp.Integer(2),
                                eps=0.1)
    with pytest.raises(ModelError, match="not between the sets"):
        sa.ldp.exit_probability(m2, {x: 0.7, y: 0.0}, -0.9, 0.3, coordinate=x, eps=0.1)
    with pytest.raises(ModelError, match="x0 has no value"):
        sa.ldp.exit_probability(m2, {x: -0.7}, -0.9, 0.3, coordinate=x, eps=0.1)
    with pytest.raises(ModelError, match="both faces"):
        sa.ldp.exit_probability(m2, {x: -0.7, y: 0.0}, None, 0.3, coordinate=x, eps=0.1)
    with pytest.raises(ModelError, match="do not renew"):
        sa.ldp.splitting_mean_exit_time(m2, {x: -1.0, y: 0.0}, {x: 0.3}, level=-0.8, eps=0.1)
    m, prm = feedback_pdmp()
    with pytest.raises(ModelError, match="both faces"):
        sa.ldp.exit_probability(m, {x: 0.1}, None, {x: 0.45}, eps=0.05, params=prm)
    with pytest.raises(ModelError, match="not a chain state"):
        sa.ldp.exit_probability(m, {x: 0.1}, {x: XM}, {x: 0.45}, eps=0.05, params=prm, s0=7)
    ch3 = sa.MarkovChain({(0, 1): 1 / eps, (1, 2): 1 / eps, (2, 0): 1 / eps})
    three = sa.SwitchingSDE([x], ch3, drift={0: -x, 1: 1 - x, 2: 2 - x})
    with pytest.raises(ModelError, match="2 chain states flow up"):
        sa.ldp.splitting_mean_exit_time(three, {x: 0.5}, {x: 1.5}, level=0.8, eps=0.1)
    with pytest.raises(ModelError, match="one slow variable"):
        two = sa.SwitchingSDE([x, y], ch3, drift={0: [-x, -y], 1: [1 - x, -y],
                                                 2: [2 - x, -y]})
        sa.ldp.exit_probability(two, {x: 0.5, y: 0.0}, {x: 0.1}, {x: 1.5}, eps=0.1)
