"""Monte Carlo tests of reaction networks: exact SSA against exact laws, tau-leaping, and the
full network at several eps against its fast-equilibrium reduction (slow)."""

import math

import numpy as np
import pytest
import scipy.stats
import sympy as sp

import symavg as sa

pytestmark = pytest.mark.slow

eps = sa.epsilon
k0, k1, k2, k3, kc = sp.symbols("k0 k1 k2 k3 k_cat", positive=True)
lam, mu = sp.symbols("lambda mu", positive=True)


def test_ssa_birth_death_transient_law_is_poisson():
    """From X(0) = 0 the law of X(t) is Poisson(lambda/mu (1 - e^{-mu t})) exactly (Jahnke &
    Huisinga 2007, Prop. 3.1): chi-square goodness of fit of 20000 SSA paths."""
    net = sa.ReactionNetwork(["0 -> X", "X -> 0"], [lam, mu])
    X, = net.species
    ens = sa.ssa(net, {X: 0}, 1.5, params={lam: 12.0, mu: 1.0}, paths=20_000, seed=3,
                 saveat=[0.0, 0.5, 1.5])
    for j, t in enumerate(ens.t):
        if t == 0:
            continue
        m = 12 * (1 - math.exp(-t))
        x = ens[X][j].astype(int)
        top = int(scipy.stats.poisson.ppf(0.999, m))
        obs = np.bincount(np.minimum(x, top), minlength=top + 1)
        p = scipy.stats.poisson.pmf(np.arange(top + 1), m)
        p[-1] += scipy.stats.poisson.sf(top, m)
        _, pval = scipy.stats.chisquare(obs, p * x.size)
        assert pval > 1e-3, (t, pval)


def test_ssa_dimerization_against_the_master_equation():
    """A bimolecular network (2 A <-> B, A -> 0 ... 0 -> A): SSA means and variances at T
    against the truncated CME solved with expm_multiply (independent computation)."""
    ka, kb = sp.symbols("k_a k_b", positive=True)
    net = sa.ReactionNetwork(["2 A -> B", "B -> 2 A", "0 -> A", "A -> 0"], [ka, kb, k0, k3])
    A, B = net.species
    p = {ka: 0.2, kb: 1.0, k0: 5.0, k3: 0.5}
    ens = sa.ssa(net, {A: 4, B: 0}, 2.0, params=p, paths=20_000, seed=5)
    m = net.cme({A: 60, B: 40}, params=p)
    law, err = m.solve(m.initial({A: 4, B: 0}), 2.0)
    assert err < 1e-8
    for f in (A, B, A * B):
        mean, se = ens.mean(f)
        assert abs(mean[-1] - m.mean(f, law)) < 4 * se[-1]


def test_tau_leaping_mean_and_nonnegativity():
    """Tau-leaping (Cao, Gillespie & Petzold 2006 step): the mean of the birth-death process
    is right, and a network that runs down to zero never goes negative."""
    net = sa.ReactionNetwork(["0 -> X", "X -> 0"], [lam, mu])
    X, = net.species
    ens = sa.tau_leap(net, {X: 0}, 2.0, params={lam: 2000.0, mu: 1.0}, paths=4000, seed=1)
    mean, se = ens.mean(X)
    exact = 2000 * (1 - math.exp(-2.0))
    assert abs(mean[-1] - exact) < 4 * se[-1] + 0.01 * exact
    assert ens.info["leaps"] > 0 and ens.info["events"] > 50 * ens.info["leaps"]
    decay = sa.ReactionNetwork(["2 X -> 0", "X -> 0"], [k1, k2])
    X, = decay.species
    d = sa.tau_leap(decay, {X: 1000}, 5.0, params={k1: 0.01, k2: 1.0}, paths=2000, seed=2,
                    saveat=np.linspace(0, 5, 11))
    assert d.values.min() >= 0 and d[X][-1].mean() < 10


def test_tau_leaping_stationary_variance_bias_and_its_step_control():
    """Poisson tau-leaping of 0 -> X (lambda), X -> 0 (mu n) with a fixed leap tau has the
    stationary variance (lambda/mu)/(1 - mu tau/2), from the fixed point of
    V = (1 - mu tau)^2 V + 2 lambda tau (the analysis of explicit tau-leaping in Rathinam,
    Petzold, Cao & Gillespie, J. Chem. Phys. 119:12784, 2003). The
    Cao-Gillespie-Petzold step alone leaves a bias of tens of percent at lambda = 1000;
    tau_variance_tol = 0.01 (tau <= 2 delta/rho) brings the variance back to lambda/mu."""
    net = sa.ReactionNetwork(["0 -> X", "X -> 0"], [lam, mu])
    X, = net.species
    kw = dict(params={lam: 1000.0, mu: 1.0}, paths=4000, seed=1)
    plain = sa.tau_leap(net, {X: 1000}, 5.0, **kw)[X][-1]
    ctrl = sa.tau_leap(net, {X: 1000}, 5.0, tau_variance_tol=0.01, **kw)
    x = ctrl[X][-1]
    se = 1000 * math.sqrt(2 / x.size)
    assert plain.var() > 1000 + 5 * se                  # the bias is there
    assert abs(x.var() - 1000) < 3 * se + 10            # and controlled (1 % target)
    assert abs(x.mean() - 1000) < 4 * x.std() / math.sqrt(x.size)
    assert ctrl.info["leaps"] > 0 and ctrl.info["events"] > 20 * ctrl.info["leaps"]


def _isomerization():
    return sa.ReactionNetwork(["S1 -> S2", "S2 -> S1", "S2 -> 0"], [k1 / eps, k2 / eps, k3])


def test_verify_isomerization_converges_and_the_naive_reduction_is_rejected():
    """Full S1 <-> S2 -> 0 by SSA at eps = 0.2, 0.1, 0.05 against the slow-scale network (Cao,
    Gillespie & Petzold 2005): the weak error of the total falls like eps (fitted order near
    1); the naive reduction that degrades the total at the full rate k3 is rejected."""
    net = _isomerization()
    S1, S2 = net.species
    red = net.reduce()
    T, = red.species
    p = {k1: 1.0, k2: 1.0, k3: 1.0}
    kw = dict(eps_values=[0.2, 0.1, 0.05], params=p, paths=8000, seed=11)
    rep = sa.verify(net, red, {S1: 30, S2: 0}, 1.0, observables=[T, T**2], **kw)
    errs = [abs(r.error) for r in rep.rows if r.observable == T]
    assert errs[0] > errs[1] > errs[2] or not rep.rows[-2].resolved
    fit = rep.fits[T]
    assert fit.order is not None and fit.interval[0] < 1.0 < fit.interval[1] + 0.3
    naive = sa.ReactionNetwork(["T_S1S2 -> 0"], [k3], species=[T],
                               records={"slow_map": red.records["slow_map"]})
    bad = sa.verify(net, naive, {S1: 30, S2: 0}, 1.0, observables=[T], **kw)
    last = [r for r in bad.rows if r.eps == 0.05][0]
    assert last.resolved and abs(last.error) > 10 * abs(rep.rows[-2].error)
    assert all(d.resolved for d in bad.distances)


def test_verify_single_enzyme_fast_equilibrium_not_qssa_constant():
    """One enzyme, fast binding: the reduced catalysis k_cat S_T/(S_T + k2/k1) matches the
    full SSA as eps -> 0; the QSSA constant K_M = (k2 + k_cat)/k1 (Rao & Arkin 2003) applied
    with these rates is rejected (Sanft, Gillespie & Petzold 2011)."""
    net = sa.ReactionNetwork(["0 -> S", "E + S -> C", "C -> E + S", "C -> E + P"],
                             [k0, k1 / eps, k2 / eps, kc])
    S, E, C, P = net.species
    red = net.reduce(values={"T_EC": 1})
    ST, Pr = red.species
    p = {k0: 2.0, k1: 1.0, k2: 4.0, kc: 3.0}
    x0 = {S: 5, E: 1, C: 0, P: 0}
    kw = dict(eps_values=[0.1, 0.02], params=p, paths=8000, seed=4)
    rep = sa.verify(net, red, x0, 2.0, observables=[Pr], **kw)
    good = [r for r in rep.rows if r.eps == 0.02][0]
    qssa = sa.ReactionNetwork(["0 -> T_SC", "T_SC -> P"], [k0, kc], species=[ST, Pr],
                              propensities=[k0, kc * ST / (ST + (k2 + kc) / k1)],
                              records=red.records)
    bad = sa.verify(net, qssa, x0, 2.0, observables=[Pr], **kw)
    worse = [r for r in bad.rows if r.eps == 0.02][0]
    assert abs(good.error) < 3 * good.error_se + 0.02 * good.full
    assert worse.resolved and abs(worse.error) > 4 * abs(good.error)


def test_verify_fast_dimerization():
    """Fast 2 A <-> B: the reduced network (detailed-balance average, tabulated in the SSA)
    against the full SSA at eps = 0.1, 0.01: the error at the smaller eps is within noise or
    smaller than at the larger one."""
    ka, kb, kd = sp.symbols("k_a k_b k_d", positive=True)
    net = sa.ReactionNetwork(["2 A -> B", "B -> 2 A", "0 -> A", "B -> 0"],
                             [ka / eps, kb / eps, k0, kd])
    A, B = net.species
    red = net.reduce()
    y, = red.species
    rep = sa.verify(net, red, {A: 20, B: 0}, 2.0, eps_values=[0.1, 0.01],
                    params={ka: 1.0, kb: 2.0, kd: 1.0, k0: 5.0}, paths=6000, seed=8)
    small = [r for r in rep.rows if r.eps == 0.01][0]
    big = [r for r in rep.rows if r.eps == 0.1][0]
    assert not small.resolved or abs(small.error) < abs(big.error)
    assert abs(small.error) < 4 * small.error_se + 0.01 * small.full


def test_verify_general_fast_subnetwork_numeric_law_converges_with_order_one():
    """Fast 2 A <-> B, B <-> C (rank 2: no closed form; the conditional mean E[C | y] comes
    from the fast master equation, tests/test_network_numeric.py), slow inflow of A and decay
    of C. The full SSA at eps = 0.2, 0.1, 0.05 approaches the reduced network with fitted order
    1 (the O(eps) error of the slow-scale SSA, Cao, Gillespie & Petzold 2005, sec. IV)."""
    ka, kb, kd, ke = sp.symbols("k_a k_b k_d k_e", positive=True)
    net = sa.ReactionNetwork(["2 A -> B", "B -> 2 A", "B -> C", "C -> B", "0 -> A", "C -> 0"],
                             [ka / eps, kb / eps, k3 / eps, kd / eps, k0, ke])
    red = net.reduce()
    y, = red.species
    A, B, C = net.species
    p = {ka: 1.0, kb: 2.0, k3: 1.0, kd: 0.5, k0: 2.0, ke: 1.0}
    rep = sa.verify(net, red, {A: 20, B: 0, C: 0}, 1.0, eps_values=[0.2, 0.1, 0.05], params=p,
                    paths=8000, seed=5, observables=[y])
    fit = rep.fits[y]
    lo, hi = fit.interval
    assert lo <= 1.0 <= hi and hi - lo < 0.6
    errs = [r.error for r in sorted(rep.rows, key=lambda r: r.eps)]
    assert errs[0] > 0 and errs[0] < 0.6 * errs[1] < 0.6 * errs[2]


def test_verify_many_enzymes_two_slow_variables_and_the_qssa_is_rejected():
    """Three enzymes, fast E + S <-> C: the reduced catalysis k_cat E[C | S_T, E_T], a ratio
    of sums in two slow variables tabulated by the SSA, matches the full SSA with order about
    1; the Michaelis-Menten propensity k_cat E_T S_T/(S_T + K_M) with the QSSA constant
    K_M = (k2 + k_cat)/k1 (Rao & Arkin 2003) is rejected."""
    net = sa.ReactionNetwork(["0 -> S", "E + S -> C", "C -> E + S", "C -> E + P"],
                             [k0, k1 / eps, k2 / eps, kc])
    red = net.reduce()
    S, E, C, P = net.species
    ST, ET, Pr = red.species
    p = {k0: 3.0, k1: 1.0, k2: 4.0, kc: 2.0}
    x0 = {S: 6, E: 3, C: 0, P: 0}
    kw = dict(eps_values=[0.4, 0.2, 0.1], params=p, paths=10000, seed=5, observables=[Pr])
    rep = sa.verify(net, red, x0, 2.0, **kw)
    fit = rep.fits[Pr]
    assert fit.interval[0] <= 1.0 <= fit.interval[1]
    qssa = sa.ReactionNetwork(["0 -> T_SC", "T_SC -> P"], [k0, kc], species=[ST, ET, Pr],
                              propensities=[k0, kc * ET * ST / (ST + (k2 + kc) / k1)],
                              records=red.records)
    bad = sa.verify(net, qssa, x0, 2.0, **{**kw, "eps_values": [0.1]})
    good = [r for r in rep.rows if r.eps == 0.1][0]
    assert bad.rows[0].resolved and abs(bad.rows[0].error) > 4 * abs(good.error)


def test_exact_ou_driven_production_against_the_cox_process_variance():
    """Production at the rate lambda + s eta(t), eta a stationary OU process (theta, sigma),
    degradation mu n: given the rate path n(t) is Poisson (a Cox process), so by the law of
    total variance the stationary Var n = lambda/mu + s^2 sigma^2/(2 theta mu (mu + theta))
    (the double integral of the OU covariance against e^{-mu(v+w)}; Gardiner, Handbook of
    Stochastic Methods, 2004, Sec. 3.8.4, for the OU covariance). The hybrid exact simulator
    recovers the mean lambda/mu and that variance; the variance without the OU term (50) is
    rejected."""
    eta = sp.Symbol("eta", real=True)
    c, d = sp.symbols("c d", positive=True)
    net = sa.ReactionNetwork(["0 -> X", "X -> 0"], [lam + c * eta, mu + d * eta])
    env = sa.SDE([eta], [-4 * eta], noise=[sp.sqrt(8)])
    X, = net.species
    ens = sa.ssa(net, {X: 50}, 5.0, paths=1500, seed=11, environment=env,
                 params={lam: 50.0, c: 8.0, mu: 1.0, d: 0.0})
    x = ens[X][-1]
    exact = 50 + 64 * 8 / (2 * 4 * 1 * (1 + 4))
    se_var = exact * math.sqrt(2 / x.size)
    assert abs(x.mean() - 50) < 3.5 * x.std() / math.sqrt(x.size)
    assert abs(x.var() - exact) < 3.5 * se_var and abs(x.var() - 50) > 3 * se_var
    assert ens.info["OU draws"] > ens.info["events"] > 0
    assert abs(ens[eta][-1].var() - 1) < 0.15


def test_exact_ou_driven_degradation_agrees_with_the_reduced_cle():
    """Degradation at the rate gamma + s eta/eps with eta a fast OU process (rate alpha/eps^2),
    simulated exactly: the variance of x = n/V at T matches the reduced model of
    net.reduce(environment=...), whose extra diffusion 2 s^2 x^2/alpha (Pavliotis & Stuart,
    Multiscale Methods, 2008, Sec. 11.7) adds to the intrinsic (k_p + gamma x)/V; the moments
    of the reduced (linear-drift, quadratic-diffusion) model are solved exactly. The CLE
    without the extrinsic term is rejected. The positivity of the rate limits s to about
    gamma eps/6 here, so the noise-induced drift s^2 x/alpha (0.1 %) is below the noise."""
    from scipy.linalg import expm

    eta = sp.Symbol("eta", real=True)
    kp, gamma, V, s, alpha = sp.symbols("k_p gamma V s alpha", positive=True)
    net = sa.ReactionNetwork(["0 -> X", "X -> 0"], [kp * V, gamma + s * eta / eps])
    X, = net.species
    env = sa.SDE([eta], [-alpha * eta / eps**2], noise=[sp.sqrt(2 * alpha) / eps])
    red = net.reduce(environment=env, volume=V, noise_at={eta: 0})
    pv = {kp: 1.0, gamma: 1.0, V: 300.0, s: 0.03, alpha: 1.0}
    b = sp.Poly(sp.expand(red.drift[0]), X).all_coeffs()          # drift b1 X + b0
    a = sp.Poly(sp.expand(red.diffusion[0, 0]), X).all_coeffs()    # a2 X^2 + a1 X + a0
    T = 2.0

    def moments(sub):
        b1, b0 = (float(c.subs(sub)) for c in b)
        a2, a1, a0 = (float(c.subs(sub)) for c in a)
        # d/dt (1, E x, E x^2) = M (1, E x, E x^2)
        M = np.array([[0, 0, 0], [b0, b1, 0], [a0, 2 * b0 + a1, 2 * b1 + a2]])
        z = expm(M * T) @ np.array([1.0, 1.0, 1.0])
        return z[1], z[2] - z[1] ** 2

    m_red, v_red = moments(pv)
    _, v_naive = moments({**pv, s: 0.0})
    ens = sa.ssa(net, {X: 300}, T, eps=0.2, params=pv, paths=1500, seed=3, environment=env)
    x = ens[X][-1] / 300.0
    se_var = x.var() * math.sqrt(2 / x.size)
    assert abs(x.mean() - m_red) < 3.5 * x.std() / math.sqrt(x.size)
    assert abs(x.var() - v_red) < 3 * se_var
    assert abs(x.var() - v_naive) > 4 * se_var


@pytest.mark.parametrize("module", ["symavg.models.network", "symavg.derive.network",
                                    "symavg.numeric.ssa", "symavg.numeric.network_verify"])
def test_docstring_examples_run(module):
    import doctest
    import importlib

    res = doctest.testmod(importlib.import_module(module), optionflags=doctest.ELLIPSIS)
    assert res.failed == 0 and res.attempted > 0
