"""Reaction networks: declaration, descriptions, fast subnetwork, reduction, CME, SSA basics."""

import itertools
import math
import re

import numpy as np
import pytest
import scipy.stats
import sympy as sp

import symavg as sa
from symavg.models.network import parse_reaction

eps = sa.epsilon
k0, k1, k2, k3, kc = sp.symbols("k0 k1 k2 k3 k_cat", positive=True)
lam, mu = sp.symbols("lambda mu", positive=True)


def birth_death():
    return sa.ReactionNetwork(["0 -> X", "X -> 0"], [lam, mu])


def isomerization():
    return sa.ReactionNetwork(["S1 -> S2", "S2 -> S1", "S2 -> 0"], [k1 / eps, k2 / eps, k3])


def enzyme():
    return sa.ReactionNetwork(["0 -> S", "E + S -> C", "C -> E + S", "C -> E + P"],
                              [k0, k1 / eps, k2 / eps, kc])


# ------------------------------------------------------------- declaration
def test_parse_reactions():
    r = parse_reaction("2 A + B -> C")
    assert r.reactants == (("A", 2), ("B", 1)) and r.products == (("C", 1),)
    assert parse_reaction("0 -> S").reactants == () and parse_reaction("S -> 0").products == ()
    assert parse_reaction("A + A -> B").reactants == (("A", 2),)


@pytest.mark.parametrize("text, fragment", [
    ("A -> ", "right side is empty"),
    ("A B -> C", "expected '+' or '->'"),
    ("A + 2 -> C", "expected a species name"),
    ("-1 A -> B", "negative coefficient"),
    ("A <-> B", "'<->' is not allowed"),
    ("A -> B -> C", "exactly one '->'"),
    ("A * B -> C", "unexpected character '*'"),
    ("0 A -> B", "coefficient 0"),
    ("A -> B +", "ends with '+'"),
])
def test_malformed_reactions_are_named_errors(text, fragment):
    with pytest.raises(sa.ModelError, match=re.escape(fragment)) as info:
        sa.ReactionNetwork([text], [k1])
    assert text.strip() in str(info.value)
    assert isinstance(info.value, ValueError)


def test_declaration_errors_name_the_reaction():
    A = sp.Symbol("A", positive=True)
    with pytest.raises(sa.ModelError, match=r"'A -> B'.*unknown species 'B'"):
        sa.ReactionNetwork(["A -> B"], [k1], species=[A])
    with pytest.raises(sa.ModelError, match=r"'A -> 0'.*string"):
        sa.ReactionNetwork(["A -> 0"], ["k1"])
    with pytest.raises(sa.ModelError, match=r"'A -> 0'.*floating-point"):
        sa.ReactionNetwork(["A -> 0"], [0.5])
    with pytest.raises(sa.ModelError, match=r"'A -> 0'.*not an expression"):
        sa.ReactionNetwork(["A -> 0"], [[k1]])
    with pytest.raises(sa.ModelError, match="2 rates for 1 reactions"):
        sa.ReactionNetwork(["A -> 0"], [k1, k2])
    with pytest.raises(sa.ModelError, match=r"'A -> 0'.*is -1, not positive"):
        sa.ReactionNetwork(["A -> 0"], [-1])
    with pytest.raises(sa.ModelError, match="appears twice"):
        sa.ReactionNetwork(["A -> B", "A -> B"], [k1, k2])
    A = sp.Symbol("A", positive=True)
    # a propensity that does not vanish without reactant
    with pytest.raises(sa.ModelError, match=r"'A -> 0'.*is k1 when A = 0"):
        sa.ReactionNetwork(["A -> 0"], [k1], propensities=[k1])
    # a propensity that can be negative
    with pytest.raises(sa.ModelError, match=r"'A -> 0'.*negative"):
        sa.ReactionNetwork(["A -> 0"], [k1], propensities=[k1 * A * (A - 3)])


def test_mass_action_propensities_and_deterministic_form():
    """Gillespie (1976, eq. 14): h = number of distinct reactant combinations."""
    net = sa.ReactionNetwork(["2 A -> B", "A + B -> C", "3 C -> 0", "0 -> A"],
                             [k1, k2, k3, k0])
    A, B, C = net.species
    a = net.propensities
    assert sp.expand(a[0] - k1 * A * (A - 1) / 2) == 0
    assert sp.expand(a[1] - k2 * A * B) == 0
    assert sp.expand(a[2] - k3 * C * (C - 1) * (C - 2) / 6) == 0
    assert a[3] == k0
    d = net.deterministic_propensities
    assert sp.expand(d[0] - k1 * A**2 / 2) == 0 and sp.expand(d[2] - k3 * C**3 / 6) == 0
    assert net.stoichiometry == sp.Matrix([[-2, -1, 0, 1], [1, -1, 0, 0], [0, 1, -3, 0]])


def test_user_propensity_hill_function():
    X, Y = sp.symbols("X Y", positive=True)
    K = sp.Symbol("K", positive=True)
    net = sa.ReactionNetwork(["0 -> X", "X -> 0"], [k1, k2], species=[X, Y],
                             propensities={"0 -> X": k1 * K / (K + Y)})
    assert net.propensities[0] == k1 * K / (K + Y) and net.mass_action == (False, True)


def test_conservation_laws():
    """Michaelis-Menten: total enzyme E + C and total substrate S + C + P (Schuster & Hoefer
    1991: the minimal semi-positive conservation relations)."""
    net = sa.ReactionNetwork(["E + S -> C", "C -> E + S", "C -> E + P"], [k1, k2, kc])
    E, S, C, P = net.species
    assert set(net.conservation_laws) == {C + E, C + P + S}
    for law in net.conservation_laws:
        w = [law.coeff(s) for s in net.species]
        assert (sp.Matrix([w]) * net.stoichiometry).is_zero_matrix
    assert birth_death().conservation_laws == ()


# ------------------------------------------------------------ descriptions
def test_rate_equations_michaelis_menten():
    net = sa.ReactionNetwork(["E + S -> C", "C -> E + S", "C -> E + P"], [k1, k2, kc])
    E, S, C, P = net.species
    ode = net.rate_equations()
    assert ode.diffusion.is_zero_matrix
    assert sp.expand(ode.drift[1] - (-k1 * E * S + k2 * C)) == 0
    assert sp.expand(ode.drift[2] - (k1 * E * S - (k2 + kc) * C)) == 0
    V = sp.Symbol("V", positive=True)
    dim = sa.ReactionNetwork(["2 A -> B"], [k1]).rate_equations(volume=V)
    A, B = dim.state
    assert sp.expand(dim.drift[0] - (-k1 * V * A**2)) == 0     # 2 * k1 V^2 x^2 / 2 / V


def test_cle_one_brownian_motion_per_reaction():
    """Gillespie (2000, eq. 23): diffusion = sum_r nu_r nu_r^T a_r."""
    net = enzyme()
    m = net.cle()
    assert m.noise.shape == (4, 4) and m.eps == eps
    N = net.stoichiometry
    D = sum((N.col(r) * N.col(r).T * net.propensities[r] for r in range(4)), sp.zeros(4, 4))
    assert (m.diffusion - D).applyfunc(sp.expand).is_zero_matrix
    V = sp.Symbol("V", positive=True)
    X, = birth_death().species
    mv = birth_death().cle(volume=V)
    assert sp.expand(mv.diffusion[0] - (lam + mu * V * X) / V**2) == 0


def test_fokker_planck_birth_death():
    X, = birth_death().species
    eq = birth_death().fokker_planck()
    p = eq.lhs.args[0]
    expected = (-sp.diff((lam - mu * X) * p, X) + sp.diff((lam + mu * X) * p, X, 2) / 2)
    assert sp.simplify(eq.rhs - expected) == 0


def test_generator_poisson_stationary_law_exact():
    """Immigration-death X <-> 0: the stationary law is Poisson(lambda/mu) (Gardiner, Handbook of
    Stochastic Methods, 3rd ed. 2004, Sec. 7.1, the reaction X <-> A); E[L f] = 0 exactly."""
    net = birth_death()
    X, = net.species
    # Poisson factorial moments E (N)_j = m^j (Johnson, Kemp & Kotz, Univariate Discrete
    # Distributions, 3rd ed. 2005, eq. 4.9): expand L f in falling factorials of X
    m = lam / mu
    L = net.generator()
    for f in (X, X**2, X**3):
        poly = sp.Poly(sp.expand(L.apply(f)), X)
        total = sp.S.Zero
        for (k,), c in poly.terms():
            total += c * sum(sp.functions.combinatorial.numbers.stirling(k, j) * m**j
                             for j in range(k + 1))
        assert sp.simplify(total) == 0


# --------------------------------------------------------------------- CME
def test_cme_birth_death_stationary_and_transient_are_poisson():
    """Poisson stationary law; from X(0)=0 the law at t is Poisson(lambda/mu (1 - e^{-mu t}))
    (Jahnke & Huisinga, J. Math. Biol. 54:1, 2007, Prop. 3.1, monomolecular with inflow)."""
    net = birth_death()
    X, = net.species
    m = net.cme({X: 60}, params={lam: 8.0, mu: 1.0})
    assert m.Q.shape == (61, 61)
    pi, leak = m.stationary()
    assert np.max(np.abs(pi - scipy.stats.poisson.pmf(np.arange(61), 8.0))) < 1e-12
    assert leak < 1e-12
    p, err = m.solve(m.initial({X: 0}), 0.7)
    assert np.max(np.abs(p - scipy.stats.poisson.pmf(np.arange(61), 8 * (1 - math.exp(-0.7))))) \
        < 1e-10
    assert err < 1e-12
    # a small box: the reported error is the probability that left, and bounds the true error
    small = net.cme({X: 6}, params={lam: 8.0, mu: 1.0})
    ps, err_s = small.solve(small.initial({X: 0}), 0.7)
    exact = scipy.stats.poisson.pmf(np.arange(7), 8 * (1 - math.exp(-0.7)))
    assert err_s > 0.05
    assert np.abs(ps - exact).sum() <= err_s + 1e-12
    assert abs(err_s - scipy.stats.poisson.sf(6, 8 * (1 - math.exp(-0.7)))) < 0.05


def test_cme_errors():
    X, = birth_death().species
    with pytest.raises(sa.ModelError, match="every species"):
        birth_death().cme({}, params={lam: 1.0, mu: 1.0})
    with pytest.raises(sa.SimulationError, match="values for"):
        birth_death().cme({X: 5})


# -------------------------------------------------------- fast subnetwork
def test_fast_subnetwork_isomerization():
    net = isomerization()
    fs = net.fast_subnetwork()
    S1, S2 = net.species
    assert fs.indices == (0, 1) and fs.power == -1 and fs.kind == "monomolecular"
    assert fs.conserved == (S1 + S2,)
    assert sp.simplify(net.spectral_gap() - (k1 + k2) / eps) == 0


def test_fast_subnetwork_errors():
    with pytest.raises(sa.ScaleSeparationError, match="no reaction of this network is fast"):
        birth_death().fast_subnetwork()
    with pytest.raises(sa.ScaleSeparationError, match="third time scale"):
        sa.ReactionNetwork(["A -> B", "B -> A", "B -> 0"],
                           [k1 / eps**2, k2 / eps**2, k3 / eps]).fast_subnetwork()
    with pytest.raises(sa.ScaleSeparationError, match="mixes the powers"):
        sa.ReactionNetwork(["A -> B", "B -> 0"], [k1 / eps + k2, k3]).fast_subnetwork()


def test_spectral_gap_against_the_numeric_fast_master_equation():
    """The gap of the N-molecule fast chain equals the one-molecule gap (k1 + k2)/eps: checked
    on the eigenvalues of the fast CME block with S1 + S2 = 5 (an independent computation)."""
    fast = sa.ReactionNetwork(["S1 -> S2", "S2 -> S1"], [k1, k2])
    S1, S2 = fast.species
    m = fast.cme({S1: 5, S2: 5}, params={k1: 1.3, k2: 0.4})
    block = np.nonzero(m.states.sum(axis=1) == 5)[0]
    Q = m.Q.toarray()[np.ix_(block, block)]
    ev = np.sort(-np.linalg.eigvals(Q).real)
    assert abs(ev[0]) < 1e-10 and abs(ev[1] - 1.7) < 1e-10
    assert isomerization().spectral_gap(params={k1: 1.3, k2: 0.4, eps: 1}) == pytest.approx(1.7)


# --------------------------------------------------------------- reduction
def test_reduce_isomerization_slow_scale_propensity():
    """Fast S1 <-> S2, slow S2 -> 0: the slow-scale propensity c3 c1 x_T/(c1 + c2) (Cao,
    Gillespie & Petzold, J. Chem. Phys. 122:014116, 2005, Sec. IV, the reversible isomerization;
    also Rao & Arkin, J. Chem. Phys. 118:4999, 2003)."""
    red = isomerization().reduce()
    T, = red.species
    assert [r.text for r in red.reactions] == ["T_S1S2 -> 0"]
    assert sp.simplify(red.propensities[0] - k3 * k1 * T / (k1 + k2)) == 0
    assert red.steps.passed and len(red.steps.checks) >= 4
    names = [s.name for s in red.steps]
    assert names == ["network", "fast subnetwork", "conditional stationary law",
                     "averaged propensities", "validity"]
    v = red.validity
    assert v.ergodic and sp.simplify(v.gap - (k1 + k2) / eps) == 0
    assert sp.simplify(v.ratio - eps * k1 * k3 * T / (k1 + k2) ** 2) == 0
    assert ">>" in v.condition and "valid when" in str(v)
    assert red.records["slow_map"] == {T: sum(isomerization().species)}
    # the reduced network has its own CLE
    assert sp.simplify(red.cle().diffusion[0] - k3 * k1 * T / (k1 + k2)) == 0
    # slow_range: the ratio at the upper end
    red2 = isomerization().reduce(slow_range={T: (0, 100)})
    assert sp.simplify(red2.validity.ratio_max - 100 * eps * k1 * k3 / (k1 + k2) ** 2) == 0


def test_reduce_three_species_multinomial_against_brute_force():
    """Fast S1 <-> S2 <-> S3 (monomolecular): multinomial conditional law (Jahnke & Huisinga
    2007, Prop. 2.1); a quadratic slow propensity averaged in closed form, checked against the
    sum over the multinomial at N = 7 with numbers (an independent computation)."""
    k4, k5 = sp.symbols("k4 k5", positive=True)
    net = sa.ReactionNetwork(["S1 -> S2", "S2 -> S1", "S2 -> S3", "S3 -> S2", "2 S3 -> 0",
                              "0 -> S1"], [k1 / eps, k2 / eps, k3 / eps, k4 / eps, k5, k0])
    red = net.reduce()
    assert red.steps.passed
    T, = red.species
    texts = [r.text for r in red.reactions]
    assert texts == ["2 T_S1S2S3 -> 0", "0 -> T_S1S2S3"]
    vals = {k1: 2, k2: 1, k3: 3, k4: 5, k5: 1, k0: 1}
    Q = np.array([[-2, 2, 0], [1, -4, 3], [0, 5, -5]], dtype=float)
    w, v = np.linalg.eig(Q.T)
    p = np.real(v[:, np.argmin(np.abs(w))])
    p /= p.sum()
    N = 7
    brute = 0.0
    for c in itertools.product(range(N + 1), repeat=3):
        if sum(c) == N:
            brute += scipy.stats.multinomial.pmf(c, N, p) * 1 * c[2] * (c[2] - 1) / 2
    assert float(red.propensities[0].subs(vals).subs(T, N)) == pytest.approx(brute, rel=1e-12)
    # the closed-form gap of the reversible three-state chain against numeric eigenvalues
    gap = red.validity.gap.subs(vals).subs(eps, 1)
    assert float(gap) == pytest.approx(np.sort(-np.linalg.eigvals(Q).real)[1], rel=1e-12)


def test_reduce_single_enzyme_discrete_michaelis_menten():
    """One enzyme molecule, fast binding/unbinding, slow production and catalysis: the exact
    bound fraction gives a_cat = k_cat S_T/(S_T + K_d), K_d = k2/k1 (fast equilibrium; Cao,
    Gillespie & Petzold 2005, Sec. IV; Sanft, Gillespie & Petzold, IET Syst. Biol. 5:58, 2011),
    not the QSSA constant K_M = (k2 + k_cat)/k1 (Rao & Arkin 2003)."""
    net = enzyme()
    red = net.reduce(values={"T_EC": 1})
    ST, P = red.species
    assert [r.text for r in red.reactions] == ["0 -> T_SC", "T_SC -> P"]
    a_cat = red.propensities[1]
    assert sp.simplify(a_cat - kc * ST / (ST + k2 / k1)) == 0
    qssa = kc * ST / (ST + (k2 + kc) / k1)
    assert sp.simplify(a_cat - qssa) != 0
    v = red.validity
    assert sp.simplify(v.gap - (k1 * ST + k2) / eps) == 0 and v.ergodic
    assert red.steps.passed
    assert net.spectral_gap(values={"T_EC": 1}) == v.gap
    # the numeric gap of the two-state fast chain at S_T = 4
    g = net.spectral_gap(params={k1: 2, k2: 3, eps: 1}, slow={ST: 4}, values={"T_EC": 1})
    assert g == 11


def test_reduce_errors():
    # any number of enzymes: an exact ratio of sums in two slow variables (tabulated by the
    # SSA, tests/test_network_numeric.py); a count beyond the table is a named error
    red = enzyme().reduce()
    assert red.propensities[1].has(sp.Sum) and len(red.species) == 3
    with pytest.raises(sa.SimulationError, match="raise table_size"):
        sa.ssa(red, {"T_SC": 3, "T_EC": 2, "P": 0}, 50.0,
               params={k0: 5, k1: 1, k2: 1, kc: 1}, table_size=8, paths=20, seed=1)
    with pytest.raises(sa.ModelError, match="not a slow variable"):
        enzyme().reduce(values={"Q": 1})
    with pytest.raises(sa.NoInvariantMeasureError, match="not ergodic"):
        sa.ReactionNetwork(["A -> B", "B -> 0"], [k1 / eps, k2]).reduce()


# ---------------------------------------------------------------- SSA basics
def test_ssa_reproducible_and_executor_independent():
    from concurrent.futures import ThreadPoolExecutor

    net = birth_death()
    X, = net.species
    kw = dict(params={lam: 5.0, mu: 1.0}, paths=3000, seed=7, chunk_size=1000,
              saveat=[0.0, 0.5, 2.0])
    a = sa.ssa(net, {X: 0}, 2.0, **kw)
    with ThreadPoolExecutor(1) as ex:
        b = sa.ssa(net, {X: 0}, 2.0, executor=ex, **kw)
    c = sa.simulate(net, {X: 0}, 2.0, **kw)
    assert np.array_equal(a.values, b.values) and np.array_equal(a.values, c.values)
    assert a.values.shape == (3, 1, 3000) and isinstance(a, type(c))
    assert np.all(a[X][0] == 0)
    assert a.info["events"] > 0


def test_ssa_errors():
    X, = birth_death().species
    with pytest.raises(sa.ModelError, match="every species"):
        sa.ssa(birth_death(), {}, 1.0, params={lam: 1.0, mu: 1.0})
    with pytest.raises(sa.SimulationError, match=r"values for \[lambda\]"):
        sa.ssa(birth_death(), {X: 0}, 1.0, params={mu: 1.0})
    with pytest.raises(sa.SimulationError, match="pass eps"):
        sa.ssa(isomerization(), {"S1": 1, "S2": 0}, 1.0, params={k1: 1, k2: 1, k3: 1})
    with pytest.raises(sa.ModelError, match="nonnegative integer"):
        sa.ssa(birth_death(), {X: -1}, 1.0, params={lam: 1.0, mu: 1.0})


def test_reduce_fast_dimerization_detailed_balance_against_the_fast_cme():
    """Fast 2 A <-> B with slow inflow of A and decay of B: the conditional law of B given
    A + 2B = y is a birth-death law by detailed balance (Gardiner 2004, eq. 7.1.22); the
    averaged decay k_d E[B | y] is checked against the stationary law of the fast master
    equation on the block A + 2B = 10 (an independent computation) and the table the SSA uses."""
    from symavg.numeric.ssa import sum_table

    ka, kb, kd = sp.symbols("k_a k_b k_d", positive=True)
    net = sa.ReactionNetwork(["2 A -> B", "B -> 2 A", "0 -> A", "B -> 0"],
                             [ka / eps, kb / eps, k0, kd])
    red = net.reduce()
    assert red.steps.passed
    y, = red.species
    assert [r.text for r in red.reactions] == ["0 -> T_A2B", "2 T_A2B -> 0"]
    vals = {ka: sp.Rational(3, 2), kb: 2, kd: 1}
    fast = sa.ReactionNetwork(["2 A -> B", "B -> 2 A"], [ka, kb])
    A, B = fast.species
    m = fast.cme({A: 10, B: 5}, params={ka: 1.5, kb: 2.0})
    block = np.nonzero(m.states[:, 0] + 2 * m.states[:, 1] == 10)[0]
    Q = m.Q.toarray()[np.ix_(block, block)]
    w, v = np.linalg.eig(Q.T)
    pi = np.real(v[:, np.argmin(np.abs(w))])
    pi /= pi.sum()
    expected = float(pi @ m.states[block, 1])
    got = float(red.propensities[1].subs(vals).subs(y, 10).doit())
    assert got == pytest.approx(expected, rel=1e-12)
    tab = sum_table(red.propensities[1], y, {ka: 1.5, kb: 2.0, kd: 1.0}, 300)
    assert tab[10] == pytest.approx(expected, rel=1e-10) and np.all(np.isfinite(tab))
    assert red.validity.gap is None and "numerically" in red.validity.condition
    g = net.spectral_gap(params={ka: 1.5, kb: 2, eps: 1}, slow={y: 10})
    ev = np.sort(-np.linalg.eigvals(Q).real)
    assert float(g) == pytest.approx(ev[1], rel=1e-9)


def test_extrinsic_noise_fast_ou_rate_inside_a_network():
    """Degradation rate gamma + s eta/eps with eta a fast OU process of rate alpha/eps^2
    (Pavliotis & Stuart, Multiscale Methods, 2008, Sec. 11.7): the reduction of the network's
    CLE gains the diffusion 2 s^2 x^2/alpha and the noise-induced drift s^2 x/alpha, the same
    as for the hand-written CLE of worked_examples/cle_noisy_rate.py."""
    eta = sp.Symbol("eta", real=True)
    kp, gamma, V, s, alpha = sp.symbols("k_p gamma V s alpha", positive=True)
    net = sa.ReactionNetwork(["0 -> X", "X -> 0"], [kp * V, gamma + s * eta / eps])
    X, = net.species
    env = sa.SDE([eta], [-alpha * eta / eps**2], noise=[sp.sqrt(2 * alpha) / eps])
    model = net.cle(V, environment=env, noise_at={eta: 0})
    assert model.state == (X, eta) and model.noise.shape == (2, 3)
    red = sa.reduce(model, fast=[eta])
    assert red.steps.passed
    assert sp.simplify(red.drift[0] - (kp - gamma * X + s**2 * X / alpha)) == 0
    assert sp.simplify(red.diffusion[0, 0] - ((kp + gamma * X) / V + 2 * s**2 * X**2 / alpha)) \
        == 0
    # the same through net.reduce(environment=...), and the hand-written CLE agrees
    red2 = net.reduce(environment=env, volume=V, noise_at={eta: 0})
    assert (red2.drift - red.drift).applyfunc(sp.simplify).is_zero_matrix
    hand = sa.SDE([X, eta], [kp - (gamma + s * eta / eps) * X, -alpha * eta / eps**2],
                  noise=[sp.sqrt((kp + gamma * X) / V), sp.sqrt(2 * alpha) / eps])
    ref = sa.reduce(hand, fast=[eta])
    assert (ref.drift - red.drift).applyfunc(sp.simplify).is_zero_matrix
    assert (ref.diffusion - red.diffusion).applyfunc(sp.simplify).is_zero_matrix
    with pytest.raises(sa.ModelError, match="not environment variables"):
        net.cle(V, environment=env, noise_at={X: 0})
