"""The numeric conditional law of a general fast subnetwork (fast master equation) and the
SSA tables of reduced propensities in several slow variables.

Independent reference: for a complex-balanced mass-action network (deficiency zero, weakly
reversible) the stationary law on each conservation class is a product of Poissons
restricted to the class, pi(n) ~ prod_i c_i^{n_i}/n_i!, with c a complex-balanced
equilibrium of the deterministic rate equations (Anderson, Craciun & Kurtz, Bull. Math.
Biol. 72:1947, 2010, Theorem 4.1). The tables are compared with that law, computed here by
direct enumeration of the class.
"""

import itertools
import math

import numpy as np
import pytest
import sympy as sp

import symavg as sa
from symavg.derive.network_numeric import FastAverage
from symavg.numeric.ssa_tables import sum_table_nd

eps = sa.epsilon
ka, kb, kc, kd, k0, ke = sp.symbols("k_a k_b k_c k_d k0 k_e", positive=True)
k1, k2, k3, k4, k5, kcat = sp.symbols("k1 k2 k3 k4 k5 k_cat", positive=True)


def dimer_isomer():
    return sa.ReactionNetwork(["2 A -> B", "B -> 2 A", "B -> C", "C -> B", "0 -> A", "C -> 0"],
                              [ka / eps, kb / eps, kc / eps, kd / eps, k0, ke])


def product_form_mean(c, weights, y, f, bound):
    """E f(n) under prod c_i^n_i/n_i! restricted to W n = y (n_i <= bound)."""
    num = den = 0.0
    for n in itertools.product(range(bound + 1), repeat=len(c)):
        if all(sum(w * k for w, k in zip(row, n)) == yk for row, yk in zip(weights, y)):
            p = math.prod(ci**k / math.factorial(k) for ci, k in zip(c, n))
            num += p * f(n)
            den += p
    return num / den


def test_dimerization_with_isomerization_against_the_product_form_law():
    """Fast 2 A <-> B, B <-> C (rank 2, one conserved total A + 2B + 2C): the numeric
    conditional means E[C | y] and E[A^2 | y] equal the product-form Poisson law (Anderson,
    Craciun & Kurtz 2010, Thm 4.1) with c_A = 1, c_B = k_a/(2 k_b), c_C = c_B k_c/k_d."""
    net = dimer_isomer()
    assert net.fast_subnetwork().kind == "general"
    red = net.reduce()
    y, = red.species
    assert [r.text for r in red.reactions] == ["0 -> T_A2B2C", "2 T_A2B2C -> 0"]
    a = red.propensities[1]
    EC = next(iter(a.atoms(FastAverage)))
    assert a == ke * EC and EC.func.observable == net.species[2]
    # the average vanishes where the reduced reactant is missing (no C on y = 0, 1)
    assert a.subs(y, 0) == 0 and a.subs(y, 1) == 0 and a.subs(y, 2) != 0
    assert red.steps.passed
    law = red.records["numeric_law"]
    p = {ka: 1.0, kb: 2.0, kc: 1.0, kd: 0.5}
    A, B, C = net.species
    tab = law.table(p, [0], [24], [C, A**2])
    c = [1.0, 1.0 / 4, 1.0 / 4 * 1.0 / 0.5]
    for yv in (2, 3, 7, 24):
        ref_c = product_form_mean(c, [[1, 2, 2]], [yv], lambda n: n[2], yv)
        ref_a2 = product_form_mean(c, [[1, 2, 2]], [yv], lambda n: n[0] ** 2, yv)
        assert tab.values[C][yv] == pytest.approx(ref_c, rel=1e-10)
        assert tab.values[A**2][yv] == pytest.approx(ref_a2, rel=1e-10)
    assert tab.residual < 1e-12 and tab.truncation_error == 0


def test_two_conserved_totals_against_the_product_form_law():
    """Fast A + B <-> C, C <-> D: two conserved totals A + C + D, B + C + D; the reduced decay
    k5 E_D(y1, y2) is tabulated on a 2-D box and equals the product-form law (Anderson, Craciun
    & Kurtz 2010, Thm 4.1; c_A = c_B = 1, c_C = k1/k2, c_D = c_C k3/k4); the SSA of the
    reduced network runs over both slow variables."""
    net = sa.ReactionNetwork(["A + B -> C", "C -> A + B", "C -> D", "D -> C", "0 -> A",
                              "0 -> B", "D -> 0"],
                             [k1 / eps, k2 / eps, k3 / eps, k4 / eps, k0, k0, k5])
    red = net.reduce()
    y1, y2 = red.species
    assert {str(c) for c in net.fast_subnetwork().conserved} == {"A + C + D", "B + C + D"}
    assert [r.text for r in red.reactions] == ["0 -> " + y1.name, "0 -> " + y2.name,
                                               f"{y1.name} + {y2.name} -> 0"]
    law = red.records["numeric_law"]
    A, B, C, D = net.species
    p = {k1: 2.0, k2: 1.0, k3: 1.0, k4: 3.0, k0: 1.0, k5: 1.0}
    tab = law.table(p, [0, 0], [8, 6], [D])
    c = [1.0, 1.0, 2.0, 2.0 / 3]
    Wf = [[1, 0, 1, 1], [0, 1, 1, 1]]
    for yv in [(1, 1), (3, 5), (8, 2), (8, 6)]:
        ref = product_form_mean(c, Wf, yv, lambda n: n[3], 8)
        assert tab.values[D][yv] == pytest.approx(ref, rel=1e-10)
    ens = sa.ssa(red, {y1: 4, y2: 3}, 1.0, params=p, paths=200, seed=3, table_size=20)
    assert np.all(np.isfinite(ens.values)) and ens.info["events"] > 0


def test_slow_catalyst_of_a_fast_reaction_is_a_coordinate_of_the_tables():
    """Fast 2 A <-> B and B + X -> C + X, C -> B, with X made and degraded slowly: X is a
    slow variable that the fast propensities depend on, so the tables run over (y, X). For
    each X the fast network is complex balanced with c_C = c_B k_c X/k_d, and E[C | y, X]
    equals that product-form law (Anderson, Craciun & Kurtz 2010, Thm 4.1)."""
    net = sa.ReactionNetwork(["2 A -> B", "B -> 2 A", "B + X -> C + X", "C -> B", "0 -> A",
                              "C -> 0", "0 -> X", "X -> 0"],
                             [ka / eps, kb / eps, kc / eps, kd / eps, k0, ke, k1, k2])
    red = net.reduce()
    y, X = red.species
    EC = next(iter(red.propensities[1].atoms(FastAverage)))
    assert EC.args == (y, X)
    law = red.records["numeric_law"]
    A, B, Xs, C = net.species
    assert law.fast == (A, B, C, Xs)
    p = {ka: 1.0, kb: 2.0, kc: 0.5, kd: 0.5}
    tab = law.table(p, [0, 0], [14, 4], [C])
    for yv, xv in [(2, 1), (7, 3), (14, 4), (9, 0)]:
        c = [1.0, 0.25, 0.25 * 0.5 * xv / 0.5]
        ref = product_form_mean(c, [[1, 2, 2]], [yv], lambda n: n[2], yv)
        assert tab.values[C][yv, xv] == pytest.approx(ref, rel=1e-10, abs=1e-14)
    assert red.propensities[1].subs(y, 1) == 0 and red.propensities[3] == k2 * X


def test_truncated_fast_species_binomial_law_and_truncation_check():
    """Fast A + C <-> B with fast 0 <-> C: C is bounded by no conserved total, so it is
    truncated; the product form gives C ~ Poisson(k3/k4) and B | y binomial(y, c_B/(c_A +
    c_B)), E[B | y] = y k1 c_C/(k2 + k1 c_C) (Anderson, Craciun & Kurtz 2010, Thm 4.1). A
    truncation that cuts the Poisson tail is refused by the doubling check."""
    rx = ["A + C -> B", "B -> A + C", "0 -> C", "C -> 0", "B -> 0"]
    rates = [k1 / eps, k2 / eps, k3 / eps, k4 / eps, k5]
    net = sa.ReactionNetwork(rx, rates)
    with pytest.raises(sa.ModelError, match="truncation="):
        net.reduce()
    with pytest.raises(sa.ModelError, match="already bounds"):
        net.reduce(truncation={"C": 30, "A": 10})
    red = net.reduce(truncation={"C": 30})
    y, = red.species
    assert red.propensities[0] == k5 * next(iter(red.propensities[0].atoms(FastAverage)))
    law = red.records["numeric_law"]
    A, C, B = net.species
    p = {k1: 1.5, k2: 1.0, k3: 2.0, k4: 1.0}
    tab = law.table(p, [0], [15], [B])
    cC = 2.0
    ref = np.arange(16) * 1.5 * cC / (1.0 + 1.5 * cC)
    assert np.allclose(tab.values[B], ref, rtol=1e-10)
    assert tab.truncation_error < 1e-10
    # without detailed balance (A + C -> B, B -> A) the cut of the C tail matters: a cap
    # of 3 is refused by the doubling check, a cap of 40 passes it
    cyc = sa.ReactionNetwork(["A + C -> B", "B -> A", "0 -> C", "C -> 0", "B -> 0"], rates)
    short = cyc.reduce(truncation={"C": 3}).records["numeric_law"]
    with pytest.raises(sa.SimulationError, match="raise truncation"):
        short.table(p, [0], [5], [B])
    ok = cyc.reduce(truncation={"C": 40}).records["numeric_law"].table(p, [0], [5], [B])
    assert ok.truncation_error < 1e-6 and np.all(np.diff(ok.values[B]) > 0)


def test_fast_subnetwork_without_a_conserved_total():
    """Fast 0 <-> A, 2 A <-> B conserve nothing: one level set, truncated, and E[B] is a
    number; the product form makes A, B independent Poisson(c_A = k1/k2) and Poisson(c_B =
    k3 c_A^2/(2 k4)) (Anderson, Craciun & Kurtz 2010, Thm 4.1), so E[B] = 9/4 here."""
    kk = sp.symbols("q1:7", positive=True)
    net = sa.ReactionNetwork(["0 -> A", "A -> 0", "2 A -> B", "B -> 2 A", "B -> C", "C -> 0"],
                             [kk[0] / eps, kk[1] / eps, kk[2] / eps, kk[3] / eps, kk[4],
                              kk[5]])
    red = net.reduce(truncation={"A": 40, "B": 30})
    EB = next(iter(red.propensities[0].atoms(FastAverage)))
    assert EB.args == () and [r.text for r in red.reactions] == ["0 -> C", "C -> 0"]
    law = red.records["numeric_law"]
    B = net.species[1]
    tab = law.table(dict(zip(kk[:4], (3.0, 1.0, 1.0, 2.0))), [], [], [B])
    assert float(tab.values[B]) == pytest.approx(9 / 4, rel=1e-10)
    assert tab.truncation_error < 1e-10


def test_numeric_gap_and_validity_report():
    """The numeric spectral gap of the fast chain equals the second eigenvalue of the block
    of the fast master equation built independently by net.cme; reduce(params=, slow_range=)
    records the residual check and states the validity inequality with that gap."""
    net = dimer_isomer()
    p = {ka: 1.0, kb: 2.0, kc: 1.0, kd: 0.5}
    fast = sa.ReactionNetwork(["2 A -> B", "B -> 2 A", "B -> C", "C -> B"], [ka, kb, kc, kd])
    A, B, C = fast.species
    m = fast.cme({A: 12, B: 6, C: 6}, params=p)
    block = np.nonzero(m.states @ np.array([1, 2, 2]) == 12)[0]
    Q = m.Q.toarray()[np.ix_(block, block)]
    ev = np.sort(-np.linalg.eigvals(Q).real)
    y = sp.Symbol("T_A2B2C", positive=True, integer=True)
    g = net.spectral_gap(params={**p, eps: 1}, slow={y: 12})
    assert float(g) == pytest.approx(ev[1], rel=1e-9)
    g_eps = net.spectral_gap(params=p, slow={y: 12})
    assert sp.simplify(g_eps * eps - float(g)) == 0
    red = net.reduce(params=p, slow_range={"T_A2B2C": (2, 12)})
    assert red.steps.passed
    law_step = [s for s in red.steps.steps if s.name == "conditional stationary law"][0]
    assert any("pi Q_fast = 0" in c.name and c.method == "numeric" for c in law_step.checks)
    assert "/epsilon >>" in red.validity.condition


def test_numeric_law_errors():
    """Irreversible fast dimerizations leave several closed classes (no unique law); the
    parameters of the fast rates are required when the tables are made."""
    net = sa.ReactionNetwork(["2 A -> B", "2 A -> C", "0 -> A", "C -> 0"],
                             [ka / eps, kc / eps, k0, ke])
    red = net.reduce()
    law = red.records["numeric_law"]
    A, B, C = net.species
    with pytest.raises(sa.NoInvariantMeasureError, match="closed classes"):
        law.table({ka: 1.0, kc: 1.0}, [0], [6], [C])
    good = dimer_isomer().reduce()
    y, = good.species
    with pytest.raises(sa.SimulationError, match="needs values for"):
        sa.ssa(good, {y: 4}, 1.0, params={k0: 1.0, ke: 1.0}, paths=10)


def test_many_enzymes_sum_table_in_two_slow_variables_against_the_fast_cme():
    """Any number of enzymes, fast E + S <-> C: the reduced catalysis k_cat E[C | E_T, S_T]
    is a ratio of sums in two slow variables (detailed balance, Gardiner 2004, eq. 7.1.22).
    Its 2-D table equals the stationary law of the fast master equation on each level set
    (an independent computation), and the SSA of the reduced network tabulates it (E_T,
    which no reaction changes, only at its initial value)."""
    net = sa.ReactionNetwork(["0 -> S", "E + S -> C", "C -> E + S", "C -> E + P"],
                             [k0, k1 / eps, k2 / eps, kcat])
    red = net.reduce()
    ST, ET, P = red.species
    a = red.propensities[1]
    assert a.has(sp.Sum) and {ST, ET} <= a.free_symbols
    vals = {k1: 1.5, k2: 2.0, kcat: 1.0, k0: 2.0}
    tab = sum_table_nd(a, [ST, ET], vals, [0, 0], [10, 4])
    fast = sa.ReactionNetwork(["E + S -> C", "C -> E + S"], [k1, k2])
    S, E, C = fast.species
    m = fast.cme({S: 14, E: 4, C: 4}, params={k1: 1.5, k2: 2.0})
    for st, et in [(0, 3), (1, 1), (6, 3), (10, 4), (3, 0)]:
        blk = np.nonzero((m.states[:, 0] + m.states[:, 2] == st)
                         & (m.states[:, 1] + m.states[:, 2] == et))[0]
        Q = m.Q.toarray()[np.ix_(blk, blk)]
        if len(blk) == 1:
            ref = m.states[blk[0], 2]
        else:
            w, v = np.linalg.eig(Q.T)
            pi = np.real(v[:, np.argmin(np.abs(w))])
            ref = float(pi / pi.sum() @ m.states[blk, 2])
        assert tab[st, et] == pytest.approx(1.0 * ref, rel=1e-10, abs=1e-14)
    ens = sa.ssa(red, {ST: 5, ET: 3, P: 0}, 1.0, params=vals, paths=300, seed=2)
    assert np.all(ens[ET] == 3) and np.all(np.isfinite(ens.values))
    assert np.all(ens[ST][-1] + ens[P][-1] >= 5)
