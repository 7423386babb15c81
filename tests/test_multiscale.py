"""Nested reduction over several fast levels, vanishing averaged drift, combined mechanisms.

Every expected value is derived by hand in the test (the derivation is in the
docstring), and in each case the answer of the wrong order, or of a skipped level,
is computed too and shown to differ.
"""

from __future__ import annotations

import numpy as np
import pytest
import sympy as sp

import symavg as sa
from symavg.models.effective import TIME

eps = sa.epsilon
x, y, z, eta = sp.symbols("x y z eta", real=True)
b = sp.Symbol("b", positive=True)


def _rate_model() -> sa.SDE:
    """x driven by y (scale eps^-1) relaxing at rate a(z) = 2 + cos z, z a Brownian
    motion on the circle on the scale eps^-2."""
    return sa.SDE([x, y, z], [y, (b - (2 + sp.cos(z)) * y) / eps, 0],
                  noise=[0, sp.sqrt(2 / eps), sp.sqrt(2) / eps], periodic={z: 2 * sp.pi})


def _noise_model() -> sa.SDE:
    """z an OU process on eps^-2 forcing y (own scale eps^-1) at eps^-3/2; x slow."""
    return sa.SDE([x, y, z], [y**2 - x, -y / eps + z / eps**sp.Rational(3, 2), -z / eps**2],
                  noise=[0, 0, sp.sqrt(2) / eps])


def test_nested_order_gives_b_over_mean_a_not_mean_of_b_over_a() -> None:
    r"""Fastest first: averaging over z turns the rate a(z) into <a> = 2, y is then
    N(b/<a>, 1/<a>) and dx = <y> dt = b/<a> dt = b/2 (Pavliotis & Stuart 2008,
    Sec. 10.7, applied level by level). Freezing z, averaging y first gives b/a(z);
    averaging that over z gives b <1/a> = b / sqrt(3) (int_0^{2pi} dz/(2+cos z) =
    2 pi/sqrt(3), Gradshteyn-Ryzhik 3.613.2): a different number."""
    m = _rate_model()
    red = sa.reduce(m, fast=[y, z])
    assert red.state == (x,)
    assert sp.simplify(red.drift[0] - b / 2) == 0
    assert red.diffusion[0, 0] == 0
    assert red.steps.passed
    (mid,) = red.records["levels"]
    assert mid.state == (x, y)
    assert sp.simplify(mid.drift[1] - (b - 2 * y) / eps) == 0
    assert sp.simplify(mid.diffusion[1, 1] - 2 / eps) == 0
    # the wrong order, by hand: z frozen, y averaged, then the mean over z
    frozen = sa.SDE([x, y], [y, (b - (2 + sp.cos(z)) * y) / eps], noise=[0, sp.sqrt(2 / eps)])
    inner = sa.reduce(frozen, fast=[y]).drift[0]
    assert sp.simplify(inner - b / (2 + sp.cos(z))) == 0
    wrong = sp.integrate(inner, (z, 0, 2 * sp.pi)) / (2 * sp.pi)
    assert sp.simplify(wrong - b / sp.sqrt(3)) == 0
    assert sp.simplify(wrong - red.drift[0]) != 0
    # found from the powers, and by hand one level at a time
    assert sp.simplify(sa.reduce(m).drift[0] - b / 2) == 0
    step1 = sa.reduce(m, fast=[z])
    assert step1.state == (x, y)
    assert sp.simplify(sa.reduce(step1, fast=[y]).drift[0] - b / 2) == 0


def test_derivation_has_one_section_per_level() -> None:
    red = sa.reduce(_rate_model(), fast=[y, z])
    heads = red.steps.find("level")
    assert len(heads) == 2
    assert "Level 1" in heads[0].statement and "Level 2" in heads[1].statement
    assert len(red.steps.find("invariant measure")) == 2
    assert red.steps.find("effective coefficients")
    assert "Level 1" in red.steps.to_markdown()


def test_superfast_noise_becomes_the_fast_levels_noise() -> None:
    r"""z (OU, eps^-2) forces y at eps^-3/2: the first level homogenizes, -L0 Phi = z
    gives Phi = z and y gets the diffusion 2 <z Phi> / eps = 2 / eps (Pavliotis &
    Stuart 2008, Sec. 11.7.2, the OU-driven case). y is then N(0, 1) and
    dx = (<y^2> - x) dt = (1 - x) dt. Skipping the level (z averaged to <z> = 0)
    leaves y deterministic, <y^2> = 0 and dx = -x dt."""
    red = sa.reduce(_noise_model())
    assert red.fast == (y, z)
    assert sp.simplify(red.drift[0] - (1 - x)) == 0
    (mid,) = red.records["levels"]
    assert sp.simplify(mid.diffusion[1, 1] - 2 / eps) == 0
    assert sp.simplify(mid.drift[1] + y / eps) == 0
    skipped = sa.SDE([x, y], [y**2 - x, -y / eps], noise=[0, 0])
    # no noise on y: its law is the point mass at the slow manifold y = 0 (Tikhonov), so the
    # skipped reduction is dx = -x dt, a different answer that the right order corrects
    wrong = sa.reduce(skipped, fast=[y])
    assert sp.simplify(wrong.drift[0] + x) == 0 and sp.simplify(red.drift[0] - wrong.drift[0]) != 0


def test_vanishing_averaged_drift_passes_to_the_diffusive_scale() -> None:
    r"""dx = sigma(x) y dt, dy = -y/eps dt + sqrt(2/eps) dW: the averaged drift and
    diffusion vanish (<y> = 0). On s = eps t the generator is eps^-1 L, the
    multiplicative-noise homogenization problem with alpha = 1, whose limit is the
    Stratonovich SDE ds x = sqrt(2) sigma o dW: Ito drift sigma sigma', diffusion
    2 sigma^2 (Pavliotis & Stuart 2008, Sec. 11.7.5; tests/test_applications.py has
    the eps^-2 form)."""
    s = sp.Function("sigma")(x)
    m = sa.SDE([x, y], [s * y, -y / eps], noise=[0, sp.sqrt(2 / eps)])
    auto = sa.reduce(m)
    assert auto.timescale == TIME and auto.drift[0] == 0
    assert "timescale='diffusive'" in auto.steps.find("vanishing averaged dynamics")[0].statement
    red = sa.reduce(m, timescale="diffusive")
    assert red.timescale == eps * TIME
    assert red.regime == "homogenization"
    assert sp.simplify(red.drift[0] - s * sp.diff(s, x)) == 0
    assert sp.simplify(red.diffusion[0, 0] - 2 * s**2) == 0
    assert red.steps.find("long time scale")
    assert red.records["short time"].drift[0] == 0
    same = sa.reduce(sa.SDE([x, y], [s * y / eps, -y / eps**2], noise=[0, sp.sqrt(2) / eps]))
    assert sp.simplify(same.drift[0] - red.drift[0]) == 0
    natural = sa.reduce(m, timescale="natural")
    assert natural.timescale == TIME and natural.drift[0] == 0
    assert not natural.steps.find("vanishing averaged dynamics")
    with pytest.raises(sa.ModelError, match="timescale='diffusive'"):
        sa.reduce(sa.SDE([x, y], [1 + y, -y / eps], noise=[0, sp.sqrt(2 / eps)]),
                  timescale="diffusive")
    with pytest.raises(sa.ModelError, match="timescale must be"):
        sa.reduce(m, timescale="slow")


def test_generator_scaled_multiplies_every_part() -> None:
    c = sp.Symbol("c", positive=True)
    chain = sa.MarkovChain({("a", "b"): 2 / eps, ("b", "a"): 1 / eps})
    G = sa.SwitchingSDE([x], chain, drift={"a": -x, "b": 1 - x}).generator.scaled(c)
    assert G.jump.rates == sp.ImmutableMatrix([[-2 * c / eps, 2 * c / eps],
                                               [c / eps, -c / eps]])
    f = sp.Function("f")(x)
    assert sp.expand(G.apply([f, f])[0] - c * (-x * sp.diff(f, x))) == 0
    P = sa.Generator([x], [x], [[1]], potential=x**2).scaled(c)
    assert sp.expand(P.apply(f) - c * (x * sp.diff(f, x) + sp.diff(f, x, 2) / 2
                                       + x**2 * f)) == 0


def test_tilted_periodic_potential_with_fast_ou_tilt() -> None:
    r"""dx = (-V'(x/eps)/eps + F + c eta/sqrt(eps)) dt + sqrt(2D) dW, y = x/eps on the
    circle, V = V0 cos y, eta an OU process on the scale eps^-1. Level 1 (y): the
    Lifson-Jackson mobility K = 1/I0(V0/D)^2 (Lifson & Jackson 1962; Pavliotis &
    Stuart 2008, Sec. 13.6.1) multiplies the whole tilt, the OU part included: the
    intermediate drift is K F + K c eta/sqrt(eps), diffusion 2DK. Level 2 (eta):
    homogenization of the OU forcing, -L0 Phi = K c eta gives Phi = K c eta and the
    extra diffusion 2 K^2 c^2. Reducing eta first would give 2 c^2 instead."""
    D, V0, F, c = sp.symbols("D V0 F c", positive=True)
    V = V0 * sp.cos(y)
    drx = -sp.diff(V, y) / eps + F + c * eta / sp.sqrt(eps)
    m = sa.SDE([x, y, eta], [drx, drx / eps, -eta / eps],
               noise=[[sp.sqrt(2 * D), 0], [sp.sqrt(2 * D) / eps, 0], [0, sp.sqrt(2 / eps)]],
               periodic={y: 2 * sp.pi})
    red = sa.reduce(m, fast=[y, eta])
    K = 1 / sp.besseli(0, V0 / D) ** 2
    assert sp.simplify(red.drift[0] - K * F) == 0
    assert sp.simplify(red.diffusion[0, 0] - 2 * D * K - 2 * c**2 * K**2) == 0
    (mid,) = red.records["levels"]
    assert sp.simplify(mid.drift[0] - K * F - K * c * eta / sp.sqrt(eps)) == 0
    assert sp.simplify(red.diffusion[0, 0] - 2 * D * K - 2 * c**2) != 0


def test_tilt_modulated_by_ou_on_the_same_level() -> None:
    r"""The same periodic potential with the tilt F (1 + eta), eta an OU process on the
    same scale eps^-2 as y = x/eps: the fast law is the product of the Gibbs law and
    N(0, 1) (independent blocks); the mobility multiplies the averaged tilt
    F <1 + eta> = F: drift K F, diffusion 2 D K (Lifson-Jackson)."""
    D, V0, F = sp.symbols("D V0 F", positive=True)
    V = V0 * sp.cos(y)
    drx = -sp.diff(V, y) / eps + F * (1 + eta)
    m = sa.SDE([x, y, eta], [drx, drx / eps, -eta / eps**2],
               noise=[[sp.sqrt(2 * D), 0], [sp.sqrt(2 * D) / eps, 0], [0, sp.sqrt(2) / eps]],
               periodic={y: 2 * sp.pi})
    red = sa.reduce(m, fast=[y, eta])
    K = 1 / sp.besseli(0, V0 / D) ** 2
    assert sp.simplify(red.drift[0] - K * F) == 0
    assert sp.simplify(red.diffusion[0, 0] - 2 * D * K) == 0


def test_slow_variable_on_a_fast_level_is_named() -> None:
    m = _rate_model()
    with pytest.raises(sa.ScaleSeparationError, match="declared slow"):
        sa.reduce(sa.SDE([x, y, z], [y / eps, (b - (2 + sp.cos(z)) * y) / eps, 0],
                         noise=[sp.sqrt(2 / eps), sp.sqrt(2 / eps), sp.sqrt(2) / eps],
                         periodic={z: 2 * sp.pi}), fast=[y, z])
    assert sa.reduce(m, fast=[y, z]).fast == (y, z)


# ------------------------------------------------------------------ Monte Carlo
@pytest.mark.slow
def test_monte_carlo_nested_rate_rejects_the_wrong_order() -> None:
    """The full three-scale model at eps = 0.05 (z on eps^-2: step 0.05 eps^2 with the
    exact OU step for y): E x(1) matches b/<a> = 1/2 and rejects b<1/a> = 0.577."""
    m = _rate_model()
    red = sa.reduce(m, fast=[y, z])
    ens = sa.simulate(m, {x: 0.0, y: 0.5}, 1.0, eps=0.05, params={b: 1.0}, paths=2000, seed=3)
    xs = ens[x][-1]
    mean, se = xs.mean(), xs.std(ddof=1) / np.sqrt(xs.size)
    right = float(red.drift[0].subs(b, 1))
    wrong = 1 / np.sqrt(3)
    assert abs(mean - right) < 4 * se + 0.02     # O(eps) bias of the start y(0) = 0.5
    assert abs(mean - wrong) > 10 * se + 0.03


@pytest.mark.slow
def test_monte_carlo_superfast_noise_rejects_the_skipped_level() -> None:
    """E x(1) = 1 - e^-1 = 0.632 with the super-fast noise passed on to y; skipping the
    level gives 0."""
    m = _noise_model()
    ens = sa.simulate(m, {x: 0.0, y: 0.0}, 1.0, eps=0.05, paths=2000, seed=4)
    xs = ens[x][-1]
    mean, se = xs.mean(), xs.std(ddof=1) / np.sqrt(xs.size)
    assert abs(mean - (1 - np.exp(-1))) < 4 * se + 0.05
    assert abs(mean) > 10 * se + 0.3


@pytest.mark.slow
def test_monte_carlo_diffusive_scale_verify_runs_to_T_over_eps() -> None:
    """sigma(x) = 1: on s = eps t, x is a Brownian motion with diffusion 2, so
    Var x(s = 1) = 2; on the scale t it would not move (variance 0)."""
    s = sp.Function("sigma")(x)
    m = sa.SDE([x, y], [s * y, -y / eps], noise=[0, sp.sqrt(2 / eps)])
    red = sa.reduce(m, timescale="diffusive")
    one = {s.func: sp.Lambda(x, 1 + 0 * x)}
    rep = sa.verify(m, red, {x: 0.0}, 1.0, eps_values=[0.1, 0.05], observables=[x**2],
                    functions=one, paths=4000, seed=5, check_dt=False)
    for row in rep.rows:
        assert abs(row.reduced - 2.0) < 0.25
        assert abs(row.full - 2.0) < 4 * row.full_se + 0.3   # O(eps) from y(0) ~ N(0, 1)
        assert row.full > 1.0                                  # the scale t: 0


@pytest.mark.slow
def test_monte_carlo_tilted_ou_rejects_eliminating_the_ou_first() -> None:
    """D = V0 = F = c = 1: Var x(T) = (2 D K + 2 c^2 K^2) T with K = 1/I0(1)^2 = 0.624
    (the mobility multiplies the OU forcing); eliminating eta first gives
    (2 D K + 2 c^2) T, 60% more."""
    D, V0, F, c = sp.symbols("D V0 F c", positive=True)
    drx = V0 * sp.sin(y) / eps + F + c * eta / sp.sqrt(eps)
    m = sa.SDE([x, y, eta], [drx, drx / eps, -eta / eps],
               noise=[[sp.sqrt(2 * D), 0], [sp.sqrt(2 * D) / eps, 0], [0, sp.sqrt(2 / eps)]],
               periodic={y: 2 * sp.pi})
    T = 0.5
    ens = sa.simulate(m, {x: 0.0, eta: 0.0}, T, eps=0.1, paths=2000, seed=6,
                      params={D: 1, V0: 1, F: 1, c: 1})
    var = ens[x][-1].var(ddof=1)
    se = var * np.sqrt(2 / 2000)
    K = 1 / float(sp.besseli(0, 1)) ** 2
    right, wrong = (2 * K + 2 * K**2) * T, (2 * K + 2) * T
    assert abs(var - right) < 4 * se + 0.12       # O(eps^1/2) at eps = 0.1
    assert abs(var - wrong) > 4 * se + 0.2


@pytest.mark.slow
def test_monte_carlo_same_level_tilt_rejects_the_wrong_reductions() -> None:
    r"""The tilt F (1 + eta) with eta an OU process on the same scale eps^-2 as
    y = x/eps (D = V0 = F = 1, K = 1/I0(1)^2 = 0.624, Lifson & Jackson 1962;
    Pavliotis & Stuart 2008, Sec. 13.6.1): E x(T) = K F T and Var x(T) = 2 D K T.
    Two wrong reductions are rejected by the numbers: skipping the periodic level
    (no mobility: E x(T) = F T), and treating the OU tilt as noise of a slower level
    (the separate-level formula adds 2 F^2 K^2 to the diffusion: 60% more variance)."""
    D, V0, F = sp.symbols("D V0 F", positive=True)
    drx = V0 * sp.sin(y) / eps + F * (1 + eta)
    m = sa.SDE([x, y, eta], [drx, drx / eps, -eta / eps**2],
               noise=[[sp.sqrt(2 * D), 0], [sp.sqrt(2 * D) / eps, 0], [0, sp.sqrt(2) / eps]],
               periodic={y: 2 * sp.pi})
    vals = {D: 1, V0: 1, F: 1}
    red = sa.reduce(m, fast=[y, eta])
    T, paths = 0.5, 2000
    ens = sa.simulate(m, {x: 0.0, eta: 0.0}, T, eps=0.1, paths=paths, seed=7, params=vals)
    xs = ens[x][-1]
    mean, se_mean = xs.mean(), xs.std(ddof=1) / np.sqrt(paths)
    var = xs.var(ddof=1)
    se_var = var * np.sqrt(2 / paths)
    K = 1 / float(sp.besseli(0, 1)) ** 2
    right_mean = float(red.drift[0].subs(vals)) * T
    right_var = float(red.diffusion[0, 0].subs(vals)) * T
    assert abs(right_mean - K * T) < 1e-12 and abs(right_var - 2 * K * T) < 1e-12
    bias = 0.05                                           # O(eps) at eps = 0.1
    assert abs(mean - right_mean) < 4 * se_mean + bias
    assert abs(mean - 1.0 * T) > 4 * se_mean + bias       # no mobility: F T
    assert abs(var - right_var) < 4 * se_var + 2 * bias
    assert abs(var - (2 * K + 2 * K**2) * T) > 4 * se_var + 2 * bias   # OU tilt as noise


# ------------------------------------------------------------------ fast Markov chain
def _chain_model() -> sa.SwitchingSDE:
    """A two-state chain (scale eps^-1) whose off -> on rate a(z) = 2 + cos z is
    modulated by a Brownian motion z on the circle (scale eps^-2); x relaxes to the
    chain's state."""
    chain = sa.MarkovChain({("off", "on"): (2 + sp.cos(z)) / eps, ("on", "off"): b / eps})
    return sa.SwitchingSDE([x, z], chain, drift={"off": [-x, 0], "on": [1 - x, 0]},
                           noise=[[0], [sp.sqrt(2) / eps]], periodic={z: 2 * sp.pi})


def test_superfast_diffusion_modulating_a_fast_chain() -> None:
    r"""Fastest first: z is uniform on the circle in either chain state, so the
    off -> on rate becomes <a> = 2 (Pavliotis & Stuart 2008, Sec. 10.7 at level 1);
    the averaged chain spends pi_on = <a>/(<a> + b) = 2/(2 + b) of the time on
    (Pavliotis & Stuart 2008, Ch. 9: the averaged generator of a fast chain is the
    pi-weighted one), so dx = (2/(2 + b) - x) dt. Freezing z and averaging the chain
    first gives pi_on(z) = a/(a + b), whose mean over z is
    1 - b <1/(2 + b + cos z)> = 1 - b/sqrt((2 + b)^2 - 1) (Gradshteyn & Ryzhik 3.613.2:
    int_0^{2 pi} dz/(A + cos z) = 2 pi/sqrt(A^2 - 1)); at b = 1: 2/3 against 0.646."""
    m = _chain_model()
    red = sa.reduce(m)
    assert red.state == (x,) and red.fast == (z, m.chain.symbol)
    assert sp.simplify(red.drift[0] - (2 / (2 + b) - x)) == 0
    assert red.diffusion[0, 0] == 0
    assert red.steps.passed
    heads = red.steps.find("level")
    assert len(heads) == 2 and "Level 1" in heads[0].statement
    assert "Level 2" in heads[1].statement
    (mid,) = red.records["levels"]
    assert isinstance(mid, sa.SwitchingSDE) and mid.state == (x,)
    assert sp.simplify(mid.chain.Q[0, 1] - 2 / eps) == 0
    same = sa.reduce(m, fast=[m.chain, z])
    assert sp.simplify(same.drift[0] - red.drift[0]) == 0
    # the wrong order, by hand: z frozen, the chain averaged, then the mean over z
    frozen = sa.SwitchingSDE([x], sa.MarkovChain({("off", "on"): (2 + sp.cos(z)) / eps,
                                                  ("on", "off"): b / eps}),
                             drift={"off": -x, "on": 1 - x})
    inner = sp.cancel(sa.reduce(frozen).drift[0] + x)
    assert sp.simplify(inner - (2 + sp.cos(z)) / (2 + b + sp.cos(z))) == 0
    wrong = 1 - b / sp.sqrt((2 + b) ** 2 - 1)
    quad = sp.Integral(inner.subs(b, 1), (z, 0, 2 * sp.pi)).evalf(20) / (2 * sp.pi)
    assert abs(float(quad) - float(wrong.subs(b, 1))) < 1e-12
    assert abs(float(sp.cancel(red.drift[0] + x).subs(b, 1)) - float(wrong.subs(b, 1))) > 0.02


def test_superfast_law_that_depends_on_the_chain_state() -> None:
    r"""z an OU process on eps^-2 whose mean m_s depends on the chain state
    (m_off = 0, m_on = c), rates off -> on (1 + z^2)/eps and on -> off b/eps: in state
    i the rate is averaged under N(m_i, 1), <1 + z^2> = 2 + m_off^2 = 2 (the Gaussian
    second moment), and x is driven by the state's mean <z>_{rho_i} = m_i:
    dx = (pi_on c - x) dt with pi_on = 2/(2 + b). Averaging under one law N(0, 1) for
    both states would lose the drift c pi_on."""
    c = sp.Symbol("c", positive=True)
    chain = sa.MarkovChain({("off", "on"): (1 + z**2) / eps, ("on", "off"): b / eps})
    m = sa.SwitchingSDE([x, z], chain, drift={"off": [z - x, -z / eps**2],
                                              "on": [z - x, (c - z) / eps**2]},
                        noise=[[0], [sp.sqrt(2) / eps]])
    red = sa.reduce(m)
    assert sp.simplify(red.drift[0] - (2 * c / (2 + b) - x)) == 0
    assert len(red.steps.find("invariant measure")) == 3   # one per state, then the chain's


def test_naming_only_the_superfast_variable_asks_for_the_chain_too() -> None:
    m = _chain_model()
    with pytest.raises(sa.ModelError, match="Name both levels"):
        sa.reduce(m, fast=[z])


def test_chain_route_refuses_a_homogenization_coupling() -> None:
    chain = sa.MarkovChain({("off", "on"): (2 + sp.cos(z)) / eps, ("on", "off"): b / eps})
    m = sa.SwitchingSDE([x, z], chain, drift={"off": [sp.sin(z) / eps, 0], "on": [1 - x, 0]},
                        noise=[[0], [sp.sqrt(2) / eps]], periodic={z: 2 * sp.pi})
    with pytest.raises(sa.ScaleSeparationError, match="homogenization coupling"):
        sa.reduce(m)


@pytest.mark.slow
def test_monte_carlo_chain_nesting_rejects_the_wrong_order() -> None:
    """The full switching model at eps = 0.05 (z steps of order eps^2), b = 1:
    E x(2) = pi_on (1 - e^-2) with pi_on = <a>/(<a> + b) = 2/3 (0.576), against
    <a/(a + b)> (1 - e^-2) = 0.559 for the wrong order."""
    m = _chain_model()
    red = sa.reduce(m)
    T = 2.0
    ens = sa.simulate(m, {x: 0.0, z: 0.0}, T, eps=0.05, params={b: 1.0}, paths=2000, seed=3)
    xs = ens[x][-1]
    mean, se = xs.mean(), xs.std(ddof=1) / np.sqrt(xs.size)
    pi_on = float(sp.cancel(red.drift[0] + x).subs(b, 1))
    right = pi_on * (1 - np.exp(-T))
    wrong = (1 - 1 / np.sqrt(8)) * (1 - np.exp(-T))
    bias = 0.005                                   # O(eps) from the start and the chain
    assert abs(mean - right) < 4 * se + bias
    assert abs(mean - wrong) > 4 * se + bias


# ------------------------------------------------------------------ numeric intermediate level
def _tilted_rate_quadrature(c: float) -> tuple[float, float]:
    """<cos z> and <1/(2 + cos z)> under the stationary law of dz = (c + sin z) dt +
    sqrt(2) dW on the circle, by scipy quadrature of the constant-flux solution
    rho(z) = e^{-U(z)} int_z^{z + 2 pi} e^{U(w)} dw / Z, U(z) = -c z + cos z (then
    b rho - rho' = 1 - e^{-2 pi c} is constant and rho is periodic; Risken 1989, Ch. 11)."""
    from scipy import integrate

    def U(w: float) -> float:
        return -c * w + np.cos(w)

    def rho(zv: float) -> float:
        inner = integrate.quad(lambda w: np.exp(U(w) - U(zv)), zv, zv + 2 * np.pi,
                               epsabs=0, epsrel=1e-13)[0]
        return inner

    zs = np.linspace(0, 2 * np.pi, 257)[:-1]      # periodic trapezoid: spectral accuracy
    r = np.array([rho(v) for v in zs])
    Z = r.sum()
    return float((np.cos(zs) * r).sum() / Z), float((r / (2 + np.cos(zs))).sum() / Z)


def test_numeric_fallback_at_the_intermediate_level() -> None:
    r"""The rate model with a tilted super-fast level, dz = (c + sin z)/eps^2 dt +
    sqrt(2)/eps dW: the invariant law of z has no closed form the engine can average, so
    level 1 is solved on a Fourier grid at c = 1/2 (method="numeric") while y keeps
    its symbols and powers of eps: y's drift is (b - <a> y)/eps with <a> = 2 + <cos z>.
    Independent check: <cos z> by scipy quadrature of the constant-flux density (see
    _tilted_rate_quadrature). The slow drift is b/<a>; the wrong order gives b<1/a>."""
    c = sp.Symbol("c", positive=True)
    m = sa.SDE([x, y, z], [y, (b - (2 + sp.cos(z)) * y) / eps, (c + sp.sin(z)) / eps**2],
               noise=[0, sp.sqrt(2 / eps), sp.sqrt(2) / eps], periodic={z: 2 * sp.pi})
    red = sa.reduce(m, fast=[y, z], params={c: 0.5, b: 1}, method="numeric")
    mean_cos, mean_inv = _tilted_rate_quadrature(0.5)
    assert red.steps.passed
    assert red.steps.find("numeric cell problems")
    (mid,) = red.records["levels"]
    coeff = sp.expand(mid.drift[1] * eps)
    assert coeff.coeff(b) == 1                                  # b stays a symbol
    assert abs(float(-coeff.coeff(y)) - (2 + mean_cos)) < 1e-9
    assert abs(float(red.drift[0]) - 1 / (2 + mean_cos)) < 1e-8
    assert abs(float(red.drift[0]) - mean_inv) > 1e-2           # b <1/a>: the wrong order


# ------------------------------------------------------------------ hypoelliptic shear
def _green_kubo(k: float, v: float, alpha: float, s2: float, gamma: float) -> float:
    r"""2 int_0^oo <sin ky_0 sin ky_t> dt for y_t = y_0 + v t + alpha int_0^t (eta - mu),
    eta an OU process (rate gamma, stationary variance s2): the increment is Gaussian
    with variance 2 alpha^2 s2 (gamma t - 1 + e^{-gamma t})/gamma^2, so the correlation is
    cos(k v t) exp(-k^2 Var/2)/2 (scipy quadrature, independent of the Galerkin solve)."""
    from scipy import integrate

    def corr(t: float) -> float:
        var = 2 * alpha**2 * s2 * (gamma * t - 1 + np.exp(-gamma * t)) / gamma**2
        return 0.5 * np.cos(k * v * t) * np.exp(-k**2 * var / 2)

    return 2 * integrate.quad(corr, 0, np.inf, epsabs=0, epsrel=1e-13, limit=500)[0]


def test_ou_cross_forcing_of_a_shear_flow() -> None:
    r"""dx = sin(y)/eps dt + sqrt(2 kappa) dW, dy = eta/eps^2 dt, d eta = -eta/eps^2 dt
    + sqrt(2)/eps dW': the cell problem is hypoelliptic (no noise on y). The effective
    diffusion is 2 kappa + 2 int_0^oo <sin y_0 sin y_t> dt (the Green-Kubo form of the
    homogenized diffusion, Pavliotis & Stuart 2008, Ch. 11) with y_t - y_0 Gaussian of
    variance 2 (t - 1 + e^{-t}): 2 kappa + int_0^oo e^{-(t - 1 + e^{-t})} dt =
    2 kappa + e - 1 (substitute u = e^{-t}). Checked also against scipy quadrature of the
    correlation."""
    kappa = sp.Symbol("kappa", positive=True)
    m = sa.SDE([x, y, eta], [sp.sin(y) / eps, eta / eps**2, -eta / eps**2],
               noise=[[sp.sqrt(2 * kappa), 0], [0, 0], [0, sp.sqrt(2) / eps]],
               periodic={y: 2 * sp.pi})
    red = sa.reduce(m)
    assert red.steps.passed and red.drift[0] == 0
    extra = float(red.diffusion[0, 0] - 2 * kappa)
    assert abs(extra - (np.e - 1)) < 1e-12
    assert abs(extra - _green_kubo(1, 0, 1, 1, 1)) < 1e-10
    cell = red.steps.find("cell problem")[0]
    assert "Hermite-Fourier" in cell.strategy


def test_shear_with_mean_velocity_two_modes_and_a_slow_amplitude() -> None:
    r"""The same structure with a mean velocity and a forcing of two modes,
    h = a(x) sin y + cos 2y, y' = eta, eta' = (1/2 - eta) (rate 1, variance 1, mean
    velocity v = 1/2): Phi = a(x) Phi_1 + Phi_2, so the diffusion is a^2 D_1 + D_2 (the
    modes are orthogonal) and the Ito drift <h d_x Phi> = a a' D_1/2, with
    D_k = 2 int_0^oo <e_k(y_0) e_k(y_t)> dt from the Gaussian increments
    (_green_kubo; cos and sin of the same k have the same correlation)."""
    a = sp.Function("a")(x)
    m = sa.SDE([x, y, eta], [(a * sp.sin(y) + sp.cos(2 * y)) / eps, eta / eps**2,
                             (sp.Rational(1, 2) - eta) / eps**2],
               noise=[[0], [0], [sp.sqrt(2) / eps]], periodic={y: 2 * sp.pi})
    red = sa.reduce(m)
    assert red.steps.passed
    D1, D2 = _green_kubo(1, 0.5, 1, 1, 1), _green_kubo(2, 0.5, 1, 1, 1)
    A, dA = sp.Symbol("A"), sp.Symbol("dA")
    drift = red.drift[0].subs(sp.Derivative(a, x), dA).subs(a, A)
    diff = red.diffusion[0, 0].subs(a, A)
    vals = {A: 1.5, dA: 0.25}
    assert abs(float(drift.subs(vals)) - 1.5 * 0.25 * D1 / 2) < 1e-10
    assert abs(float(diff.subs(vals)) - (1.5**2 * D1 + D2)) < 1e-10
