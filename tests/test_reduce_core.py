"""The opened-up core: fast chains (PDMPs), order one, independent blocks, the scale
carried by the declaration, and reduce of an EffectiveModel.

Each expected value is derived independently in the test (by hand, with its source) and
compared exactly; the finite-chain corrector is also checked against the Green-Kubo
integral of the chain's autocorrelation computed numerically with ``expm``.
"""

import numpy as np
import pytest
import scipy.integrate
import scipy.linalg
import sympy as sp

import symavg as sa

eps = sa.epsilon
x, y, z = sp.symbols("x y z", real=True)
a, b, c, g, k, lam, v = sp.symbols("a b c gamma k lambda v", positive=True)


def _promoter(order=0):
    chain = sa.MarkovChain({("off", "on"): a / eps, ("on", "off"): b / eps})
    pdmp = sa.SwitchingSDE([x], chain, drift={"off": -g * x, "on": k - g * x})
    return pdmp, sa.reduce(pdmp, order=order)


def test_two_state_promoter_averaged_production_rate():
    """Averaged production k pi_on, pi_on = a/(a+b) (Peccoud & Ycart 1995, Theor. Pop. Biol.
    48:222, the two-state gene; Pavliotis & Stuart 2008, Ch. 9, averaging for Markov chains)."""
    pdmp, red = _promoter()
    assert red.regime == "averaging" and red.order == 0 and red.fast == (pdmp.chain.symbol,)
    assert sp.simplify(red.drift[0] - (k * a / (a + b) - g * x)) == 0
    assert red.diffusion == sp.Matrix([[0]])
    assert red.steps.passed
    measure = red.records["measure"]
    assert sp.simplify(measure.expect(sp.Matrix([0, 1])) - a / (a + b)) == 0


def test_two_state_promoter_diffusion_approximation():
    """Order one: D = 2 eps k^2 pi_on pi_off / (a + b), the telegraph noise's integrated
    autocorrelation k^2 pi_on pi_off e^{-(a+b)t/eps} (Pakdaman, Thieullen & Wainrib 2012,
    Stoch. Proc. Appl. 122:2292, the CLT for multiscale PDMPs)."""
    _, red = _promoter(order=1)
    pon, poff = a / (a + b), b / (a + b)
    assert sp.simplify(red.diffusion[0, 0] - 2 * eps * k**2 * pon * poff / (a + b)) == 0
    assert sp.simplify(red.drift[0] - (k * a / (a + b) - g * x)) == 0
    assert red.order == 1 and red.steps.find("diffusion approximation")
    assert red.steps.passed


def test_telegraph_driven_slow_variable_is_kac_diffusion():
    """dx = +-v dt switching at rate lambda/eps: diffusion eps v^2/lambda (Kac 1974, Rocky
    Mountain J. Math. 4:497, the telegrapher's equation's diffusion limit)."""
    chain = sa.MarkovChain({("+", "-"): lam / eps, ("-", "+"): lam / eps})
    tele = sa.SwitchingSDE([x], chain, drift={"+": v, "-": -v})
    red = sa.reduce(tele, order=1)
    assert red.drift[0] == 0
    assert sp.simplify(red.diffusion[0, 0] - eps * v**2 / lam) == 0


def test_three_state_refractory_cycle_against_green_kubo():
    """A non-reversible cycle off -> on -> refractory -> off, production k in 'on'. The
    diffusion of the order-one model is checked against 2 eps int_0^oo cov(f(s_0), f(s_t)) dt
    computed numerically from expm(Q t) (an independent route to the same number)."""
    chain = sa.MarkovChain({("off", "on"): a / eps, ("on", "ref"): b / eps,
                            ("ref", "off"): c / eps})
    pdmp = sa.SwitchingSDE([x], chain, drift={"off": -g * x, "on": k - g * x, "ref": -g * x})
    red = sa.reduce(pdmp, order=1)
    pi_on = 1 / (b * (1 / a + 1 / b + 1 / c))  # constant flux pi_i k_i
    assert sp.simplify(red.drift[0] - (k * pi_on - g * x)) == 0
    vals = {a: 1.3, b: 0.7, c: 2.1, k: 1.5, g: 1.0}
    Q = np.array(chain.Q.subs(eps, 1).subs(vals), dtype=float)
    pi = np.array(chain.stationary().subs(vals), dtype=float).ravel()
    f = np.array([0.0, vals[k], 0.0])
    fc = f - pi @ f
    cov, _ = scipy.integrate.quad(lambda t: pi @ (fc * (scipy.linalg.expm(Q * t) @ fc)), 0,
                                  np.inf, epsabs=1e-12)
    D = float(red.diffusion[0, 0].subs(vals).subs(eps, 1))
    assert D == pytest.approx(2 * cov, rel=1e-8)


def test_switching_rate_depending_on_the_slow_variable():
    """Feedback: the off -> on rate a/(1 + x) depends on x; pi_on(x) = a/(a + b (1 + x)),
    averaged drift k pi_on(x) - gamma x (the self-repressing gene; quasi-steady state)."""
    chain = sa.MarkovChain({("off", "on"): a / (1 + x) / eps, ("on", "off"): b / eps})
    pdmp = sa.SwitchingSDE([x], chain, drift={"off": -g * x, "on": k - g * x})
    red = sa.reduce(pdmp, order=1)
    pon = a / (a + b * (1 + x))
    assert sp.simplify(red.drift[0] - (k * pon - g * x)) == 0
    rate = a / (1 + x) + b
    assert sp.simplify(red.diffusion[0, 0] - 2 * eps * k**2 * pon * (1 - pon) / rate) == 0


def test_switching_sde_averages_the_noise_too():
    """With noise sigma_i in state i, the averaged diffusion is sum_i pi_i sigma_i^2."""
    chain = sa.MarkovChain({(0, 1): a / eps, (1, 0): b / eps})
    m = sa.SwitchingSDE([x], chain, drift={0: -x, 1: 1 - x}, noise={0: [[1]], 1: [[2]]})
    red = sa.reduce(m)
    assert sp.simplify(red.diffusion[0, 0] - (b + 4 * a) / (a + b)) == 0


def test_order_one_averaging_of_an_ou_driven_variable():
    """dx = y dt, dy = -y/eps dt + sqrt(2/eps) dW: order 0 is dx = 0, order 1 has diffusion
    2 eps <y Phi> = 2 eps with Phi = y (Pavliotis & Stuart 2008, Sec. 11.7.? the OU-driven
    example; equivalently the homogenization limit at time scale t/eps)."""
    m = sa.SDE([x, y], [y, -y / eps], noise=[[0], [sp.sqrt(2 / eps)]])
    r0 = sa.reduce(m, [y])
    r1 = sa.reduce(m, [y], order=1)
    assert r0.diffusion == sp.Matrix([[0]]) and r0.drift == sp.Matrix([0])
    assert sp.simplify(r1.diffusion[0, 0] - 2 * eps) == 0
    assert "diffusion approximation" in [s.name for s in r1.steps]


def test_order_one_is_refused_in_the_homogenization_regime():
    m = sa.SDE([x, y], [y / eps, -y / eps**2], noise=[[0], [sp.sqrt(2) / eps]])
    with pytest.raises(sa.ModelError, match="homogenization"):
        sa.reduce(m, [y], order=1)


def test_fast_variables_read_off_the_expansion():
    m = sa.SDE([x, y], [y / eps, -y / eps**2], noise=[[0], [sp.sqrt(2) / eps]])
    assert sa.reduce(m).fast == (y,)
    pdmp, _ = _promoter()
    assert sa.reduce(pdmp, fast=pdmp.chain).fast == (pdmp.chain.symbol,)


def test_two_fast_circles_with_separable_potentials_split_into_blocks():
    """2-D overdamped Langevin in p1(x1/eps) + p2(x2/eps): each direction is Lifson-Jackson,
    D_i = D / I_0(V_i/D)^2 (Lifson & Jackson 1962; Pavliotis & Stuart 2008, Sec. 13.6.1)."""
    x1, x2, y1, y2 = sp.symbols("x1 x2 y1 y2", real=True)
    V1, V2, D = sp.symbols("V1 V2 D", positive=True)
    p1, p2 = V1 * sp.cos(y1), V2 * sp.cos(y2)
    s2 = sp.sqrt(2 * D)
    m = sa.SDE([x1, x2, y1, y2],
               [-p1.diff(y1) / eps, -p2.diff(y2) / eps, -p1.diff(y1) / eps**2,
                -p2.diff(y2) / eps**2],
               noise=[[s2, 0], [0, s2], [s2 / eps, 0], [0, s2 / eps]],
               periodic={y1: 2 * sp.pi, y2: 2 * sp.pi})
    red = sa.reduce(m, [y1, y2])
    expected = sp.diag(2 * D / sp.besseli(0, V1 / D) ** 2, 2 * D / sp.besseli(0, V2 / D) ** 2)
    assert (red.diffusion - expected).applyfunc(sp.simplify).is_zero_matrix
    assert red.drift.is_zero_matrix
    cells = red.steps.find("cell problem")
    assert cells and all("independent blocks" in s.strategy for s in cells)


def test_fast_circle_next_to_an_independent_ou_process():
    """h = sin(y) + z with y on a circle (rho ~ e^{cos y}) and z an OU process: Phi is the sum
    of the two blocks' correctors; by hand 2<z^2> + 2<(Phi_y')^2> = 2 + 2 - 2/I_0(1)^2."""
    m = sa.SDE([x, y, z], [(sp.sin(y) + z) / eps, -sp.sin(y) / eps**2, -z / eps**2],
               noise=[[0, 0], [sp.sqrt(2) / eps, 0], [0, sp.sqrt(2) / eps]],
               periodic={y: 2 * sp.pi})
    red = sa.reduce(m, [y, z])
    assert sp.simplify(red.diffusion[0, 0] - (4 - 2 / sp.besseli(0, 1) ** 2)) == 0
    corr = red.records["correctors"][x]
    assert len(corr.blocks) == 2


def test_the_scale_is_read_from_the_declaration():
    delta = sp.Symbol("delta", positive=True)
    m = sa.SDE([x, y], [y / delta, -y / delta**2], noise=[[0], [sp.sqrt(2) / delta]],
               eps=delta)
    red = sa.reduce(m, [y])
    assert red.eps == delta and red.diffusion[0, 0] == 2
    with pytest.raises(sa.ModelError, match="declared with the scale parameter delta"):
        sa.reduce(m, [y], eps=sa.epsilon)
    with pytest.raises(sa.ModelError, match="positive"):
        sa.SDE([x], [x], eps=sp.Symbol("eta"))


def test_reduce_accepts_an_effective_model_and_keeps_records():
    """An EffectiveModel that still has a fast variable is reduced again (here one written
    by hand: dx = y dt, dy = -y/eps dt + sqrt(2/eps) dW), and the records are kept."""
    m = sa.SDE([x, y], [y / eps, -y / eps**2], noise=[[0], [sp.sqrt(2) / eps]])
    red = sa.reduce(m, [y])
    assert red.records["expansion"].powers[0] == -2 and red.records["measure"].fast == (y,)
    assert red.records["correctors"][x].phi == y and red.records["source"] is m
    inter = sa.EffectiveModel(state=(x, y), drift=sp.ImmutableMatrix([y, -y / eps]),
                              diffusion=sp.ImmutableMatrix([[0, 0], [0, 2 / eps]]), noise=None,
                              regime="averaging", steps=sa.Derivation("by hand"), eps=eps)
    again = sa.reduce(inter, [y], order=1)
    assert again.state == (x,) and sp.simplify(again.diffusion[0, 0] - 2 * eps) == 0


def test_fast_chain_next_to_an_independent_fast_ou_process():
    """Mixed blocks (discrete x Gaussian): dx = (k 1{on} + c y - gamma x) dt with a fast
    two-state chain and an independent fast OU y. The measure is the product, the corrector
    the sum of the blocks' correctors, and the order-one diffusion the sum of the two
    Green-Kubo integrals: eps (2 k^2 a b/(a+b)^3 + 2 c^2)."""
    chain = sa.MarkovChain({("off", "on"): a / eps, ("on", "off"): b / eps})
    m = sa.SwitchingSDE([x, y], chain,
                        drift={"off": [-g * x + c * y, -y / eps],
                               "on": [k - g * x + c * y, -y / eps]},
                        noise=[[0], [sp.sqrt(2 / eps)]])
    red = sa.reduce(m, order=1)
    assert set(red.fast) == {y, chain.symbol} and red.state == (x,)
    assert sp.simplify(red.drift[0] - (k * a / (a + b) - g * x)) == 0
    expected = eps * (2 * k**2 * a * b / (a + b) ** 3 + 2 * c**2)
    assert sp.simplify(red.diffusion[0, 0] - expected) == 0
    assert "product" in red.records["measure"].strategy and red.steps.passed


def test_a_chain_coupled_to_a_fast_continuous_variable_is_a_named_refusal():
    chain = sa.MarkovChain({(0, 1): a / eps, (1, 0): b / eps})
    m = sa.SwitchingSDE([x, y], chain, drift={0: [y, -y / eps], 1: [y, (1 - y) / eps]},
                        noise=[[0], [sp.sqrt(2 / eps)]])
    with pytest.raises(sa.UnsolvedError, match="not independent blocks"):
        sa.reduce(m)


def test_a_cross_block_right_hand_side_is_named():
    """h = y z couples two independent fast OU blocks: with the block strategy declined and
    no polynomial route for a periodic block, the message says it is a cross-block term."""
    m = sa.SDE([x, y, z], [sp.cos(y) * z / eps, -sp.sin(y) / eps**2, -z / eps**2],
               noise=[[0, 0], [sp.sqrt(2) / eps, 0], [0, sp.sqrt(2) / eps]],
               periodic={y: 2 * sp.pi})
    with pytest.raises(sa.UnsolvedError, match="cross-block"):
        sa.reduce(m, [y, z])
