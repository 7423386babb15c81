"""Exit times of a small-noise averaged diffusion: plain Monte Carlo against the exact
1-D formula and the Kramers-Eyring law, and adaptive multilevel splitting past the reach of
plain Monte Carlo (Delta V / eps = 12) against the exact exit probability and mean exit
time."""

from __future__ import annotations

import numpy as np
import pytest
import sympy as sp
from scipy.integrate import quad

import symavg as sa
from symavg.errors import ModelError, SimulationError
from symavg.numeric.diffusion_exit import (
    diffusion_mean_exit_time,
    exit_probability,
    splitting_mean_exit_time,
)

x, y = sp.symbols("x y", real=True)
eps = sa.epsilon


def forced_double_well():
    """dx = (x - x^3 + y) dt with y a fast OU process, dy = -y/eps dt + sqrt(2/eps) dW.

    Its tilted generator is L0 + p (x - x^3 + y): the eigenfunction exp(p y) gives the
    quadratic Hamiltonian H = p (x - x^3) + p^2, the same as that of the averaged diffusion
    dX = (X - X^3) dt + sqrt(2 eps) dW of sa.reduce(order=1)."""
    return sa.SDE([x, y], [x - x**3 + y, -y / eps], diffusion=[[0, 0], [0, 2 / eps]])


def U(z):
    return z**4 / 4 - z**2 / 2


def exact_mean_exit_time(x0, b, e):
    """E[tau] for dX = -U'(X) dt + sqrt(2 e) dW from x0 to b (no lower face):
    T(x0) = (1/e) int_{x0}^b e^{U(y)/e} int_{-inf}^y e^{-U(z)/e} dz dy (Gardiner,
    Handbook of Stochastic Methods, sec. 5.2.7, eq. 5.2.158)."""
    def inner(v):
        return quad(lambda z: np.exp(-(U(z) - U(-1)) / e), -4.0, v,
                    points=[-1.0] if v > -1 else None, limit=200)[0]
    return quad(lambda v: np.exp((U(v) - U(-1)) / e) * inner(v), x0, b, points=[0.0],
                limit=200)[0] / e


def exact_exit_probability(a, z0, b, e):
    """P(reach b before a from z0) = int_a^z0 s / int_a^b s, s = e^{U/e} the scale density
    (Karlin & Taylor, A Second Course in Stochastic Processes, sec. 15.3, eq. 3.10)."""
    def s(v):
        return np.exp((U(v) - U(0)) / e)
    return quad(s, a, z0)[0] / quad(s, a, b, points=[0.0], limit=200)[0]


def _averaged_and_barrier():
    m = forced_double_well()
    H = sa.ldp.hamiltonian(m, fast=[y], momentum=sp.Symbol("p", real=True))
    assert H.steps.passed
    qp = sa.ldp.quasipotential(H, start=-1)
    assert qp.steps.passed
    red = sa.reduce(m, fast=[y], order=1)
    p = H.momentum[0]
    # the averaged diffusion's own Hamiltonian p F + p^2 a / (2 eps) is the slow-fast one
    assert sp.simplify(p * red.drift[0] + p**2 * red.diffusion[0, 0] / (2 * eps) - H.expr) == 0
    dV = qp.evaluate(0.0) - qp.evaluate(-1.0)
    return red, dV


@pytest.mark.slow
def test_averaged_diffusion_mean_exit_time_follows_kramers():
    """The mean time to go from the well x = -1 to x = 1/2 (past the saddle 0) of the
    averaged diffusion dX = (X - X^3) dt + sqrt(2 eps) dW, simulated at eps = 1/8 ... 1/14
    (Delta V / eps = 2 ... 3.5; 400 paths, dt = 5e-3), checked three ways:

    (1) at each eps against the exact 1-D formula (Gardiner 5.2.158), within 4 standard
        errors;
    (2) the exact formula against the Kramers-Eyring law E[tau] ~ 2 pi / sqrt(U''(-1)
        |U''(0)|) e^{Delta V/eps} (Berglund, Markov Process. Relat. Fields 19 (2013) 459,
        eq. (1.3); Bovier, Gayrard & Klein, J. Eur. Math. Soc. 6 (2004) 399, Thm. 3.2):
        their ratio tends to 1 (within 2% at eps = 0.01);
    (3) a weighted straight-line fit of the simulated eps log(E[tau] / C) against eps
        extrapolates to Delta V = 1/4, the barrier of sa.ldp.quasipotential of the slow-fast
        model (Freidlin & Wentzell Ch. 4, Thm. 4.2 for the exit time; Ch. 7 for the
        slow-fast Hamiltonian)."""
    red, dV = _averaged_and_barrier()
    assert dV == pytest.approx(0.25, abs=1e-12)
    C = 2 * np.pi / np.sqrt(2.0 * 1.0)
    for e in (0.02, 0.01):
        assert exact_mean_exit_time(-1.0, 0.5, e) / (C * np.exp(dV / e)) == pytest.approx(
            1.0, abs=0.05 if e == 0.02 else 0.02)
    eps_values = [1 / 8, 1 / 10, 1 / 12, 1 / 14]
    ys, ses = [], []
    for k, e in enumerate(eps_values):
        est = sa.ldp.mean_exit_time(red, {x: -1.0}, upper={x: 0.5}, eps=e, paths=400,
                                    dt=5e-3, seed=40 + k)
        ref = exact_mean_exit_time(-1.0, 0.5, e)
        assert abs(est.mean - ref) < 4 * est.stderr, (e, est.mean, est.stderr, ref)
        ys.append(e * np.log(est.mean / C))
        ses.append(est.log_rate_stderr)
    X = np.column_stack([np.ones(len(eps_values)), eps_values])
    W = np.diag(1 / np.square(ses))
    cov = np.linalg.inv(X.T @ W @ X)
    coef = cov @ X.T @ W @ np.array(ys)
    assert abs(coef[0] - dV) < 4 * np.sqrt(cov[0, 0]), (coef, np.sqrt(cov[0, 0]))


@pytest.mark.slow
def test_splitting_reaches_exit_times_past_plain_monte_carlo():
    """At eps = 1/48 (Delta V / eps = 12, E[tau] of about 7e5 time units, far past plain
    Monte Carlo) adaptive multilevel splitting (Cerou & Guyader 2007; unbiased: Brehier et
    al., Ann. Appl. Probab. 26 (2016) 3559) gives (1) the probability to reach 1/2 before
    the well -1 from -0.8, against the exact scale-function value (Karlin & Taylor 15.3),
    and (2) through the renewal formula of Cerou, Guyader, Lelievre & Pommier (J. Chem.
    Phys. 134 (2011) 054108) the mean exit time, against the exact 1-D formula (Gardiner
    5.2.158); both within 4 standard errors."""
    red = sa.reduce(forced_double_well(), fast=[y], order=1)
    e = 1 / 48
    T = splitting_mean_exit_time(red, {x: -1.0}, {x: 0.5}, level=-0.8, eps=e, paths=200,
                                 replicas=200, kill=20, runs=8, dt=2e-3, seed=8)
    pe = T.probability
    ref = exact_exit_probability(-1.0, -0.8, 0.5, e)
    assert ref < 1e-5
    assert abs(pe.probability - ref) < 4 * pe.stderr, (pe.probability, pe.stderr, ref)
    assert pe.stderr < 0.2 * ref
    ref_T = exact_mean_exit_time(-1.0, 0.5, e)
    assert ref_T > 5e5
    assert abs(T.mean - ref_T) < 4 * T.stderr, (T.mean, T.stderr, ref_T)
    assert T.stderr < 0.2 * ref_T


def test_diffusion_exit_routines_name_bad_input():
    red = sa.reduce(forced_double_well(), fast=[y], order=1)
    with pytest.raises(ModelError, match="not inside"):
        diffusion_mean_exit_time(red, {x: 1.0}, upper={x: 0.5}, eps=0.1)
    with pytest.raises(ModelError, match="one variable"):
        diffusion_mean_exit_time(forced_double_well(), {x: -1.0, y: 0.0}, upper={x: 0.5},
                                 eps=0.1)
    with pytest.raises(SimulationError, match="give values"):
        diffusion_mean_exit_time(red, {x: -1.0}, upper={x: 0.5})
    with pytest.raises(ModelError, match="both faces"):
        exit_probability(red, {x: -0.8}, {}, {x: 0.5}, eps=0.1)
    with pytest.raises(ModelError, match="x0 < level < upper"):
        splitting_mean_exit_time(red, {x: -1.0}, {x: 0.5}, level=0.7, eps=0.1)
    with pytest.raises(SimulationError, match="still inside"):
        diffusion_mean_exit_time(red, {x: -1.0}, upper={x: 0.5}, eps=0.01, paths=4,
                                 dt=1e-2, max_steps=100, seed=1)
