"""Finite-state Markov chains: validation, stationary law, spectral gap, Poisson equation."""

import numpy as np
import pytest
import scipy.integrate
import scipy.linalg
import sympy as sp
from hypothesis import given, settings
from hypothesis import strategies as st

import symavg as sa

a, b, c, k = sp.symbols("a b c k", positive=True)


def test_two_state_chain_symbolic():
    """Two-state chain: pi = (b, a)/(a + b), gap a + b (Norris, Markov Chains, 1997, Ex. 2.1.1)."""
    ch = sa.MarkovChain({("off", "on"): a, ("on", "off"): b})
    assert ch.Q == sp.Matrix([[-a, a], [b, -b]])
    pi = ch.stationary()
    assert sp.simplify(pi[0] - b / (a + b)) == 0 and sp.simplify(pi[1] - a / (a + b)) == 0
    assert sp.simplify(ch.spectral_gap() - (a + b)) == 0
    phi = ch.poisson([a, -b])  # centred: b*a - a*b = 0
    assert sp.simplify(-ch.Q * phi - sp.Matrix([a, -b])).is_zero_matrix
    assert sp.simplify((pi.T * phi)[0]) == 0


def test_three_state_cycle_is_not_reversible_and_has_constant_flux():
    """A cycle off -> on -> refractory -> off: pi_i k_i is the same for every state (the
    stationary flux; Norris 1997, Sec. 3.5); the chain is not reversible."""
    ch = sa.MarkovChain({(0, 1): a, (1, 2): b, (2, 0): c})
    pi = ch.stationary()
    for r, p in zip((a, b, c), pi):
        assert sp.simplify(r * p - a * pi[0]) == 0
    assert sp.simplify(pi[0] * a - pi[1] * 0) != 0  # no reverse flux: not detailed balance
    gap = ch.spectral_gap()
    vals = {a: 1, b: 2, c: 4}
    ev = np.linalg.eigvals(np.array(ch.Q.subs(vals), dtype=float))
    expected = min(-e.real for e in ev if abs(e) > 1e-12)
    assert float(gap.subs(vals)) == pytest.approx(expected, rel=1e-12)
    assert float(ch.spectral_gap(params=vals)) == pytest.approx(expected, rel=1e-12)


def test_fundamental_matrix_solves_the_poisson_equation():
    ch = sa.MarkovChain({(0, 1): a, (1, 2): b, (2, 0): c, (1, 0): k})
    Z = ch.fundamental_matrix()
    pi = ch.stationary()
    h = sp.Matrix([1, 0, 0]) - pi[0] * sp.ones(3, 1)
    phi = Z * h
    assert (ch.Q * phi + h).applyfunc(sp.cancel).is_zero_matrix
    assert sp.cancel((pi.T * phi)[0]) == 0


def test_centering_failure_is_a_named_error():
    ch = sa.MarkovChain({(0, 1): a, (1, 0): b})
    with pytest.raises(sa.CenteringError, match="centering"):
        ch.poisson([1, 1])


@pytest.mark.parametrize("rates, match", [
    ([[-1, 1, 0], [1, -1]], "matrix"),
    ([[-1, 1], [1, -1], [0, 0]], "square"),
    ([[1, -1], [1, -1]], "negative"),
    ([[0, 1], [1, -1]], r"row 0 .* sums to 1"),
    ([[-1, 1, 0], [1, -1, 0], [0, 0, 0]], "not irreducible"),
    ([[-sp.Float(0.5), sp.Float(0.5)], [1, -1]], "floating-point"),
    ([[-1, 1], [sp.I, -sp.I]], "not real"),
])
def test_bad_rate_matrices_are_named_errors(rates, match):
    with pytest.raises(sa.ModelError, match=match):
        sa.MarkovChain(rates)


def test_bad_rate_mappings_are_named_errors():
    with pytest.raises(sa.ModelError, match="not one of the states"):
        sa.MarkovChain({("off", "on"): a, ("on", "of"): b}, states=("off", "on"))
    with pytest.raises(sa.ModelError, match="must change the state"):
        sa.MarkovChain({("off", "off"): a, ("on", "off"): b})
    with pytest.raises(sa.ModelError, match="string"):
        sa.MarkovChain({("off", "on"): "a", ("on", "off"): b})


def test_switching_sde_validation():
    x = sp.Symbol("x", real=True)
    ch = sa.MarkovChain({("off", "on"): a / sa.epsilon, ("on", "off"): b / sa.epsilon})
    with pytest.raises(sa.ModelError, match="missing"):
        sa.SwitchingSDE([x], ch, drift={"off": -x})
    with pytest.raises(sa.ModelError, match="unknown"):
        sa.SwitchingSDE([x], ch, drift={"off": -x, "on": 1 - x, "of": 0})
    with pytest.raises(sa.ModelError, match="same eps"):
        sa.SwitchingSDE([x], ch, drift={"off": -x, "on": 1 - x},
                        eps=sp.Symbol("delta", positive=True))
    s = ch.symbol
    with pytest.raises(sa.ModelError, match="also a continuous state"):
        sa.SwitchingSDE([s], ch, drift={"off": -s, "on": 1 - s})
    m = sa.SwitchingSDE([x], ch, drift={"off": -x, "on": 1 - x}, noise=[[1]])
    assert not m.is_pdmp and m.diffusion_in("on") == sp.Matrix([[1]])
    G = m.generator
    assert G.kinds() == {"diffusion", "jump"} and G.acts_on() == (x, s)


def test_generator_with_jump_and_potential_parts():
    """apply / adjoint / expand handle each part: (L f)_i = b_i f_i' + sum_j Q_ij f_j + V f_i."""
    x = sp.Symbol("x", real=True)
    eps = sa.epsilon
    ch = sa.MarkovChain({(0, 1): a / eps, (1, 0): b / eps})
    m = sa.SwitchingSDE([x], ch, drift={0: -x, 1: 1 - x})
    G = m.generator
    f0, f1 = sp.Function("f0")(x), sp.Function("f1")(x)
    Lf = G.apply([f0, f1])
    assert sp.expand(Lf[0] - (-x * f0.diff(x) + a / eps * (f1 - f0))) == 0
    # adjoint: <L f, rho> = <f, L* rho> for the jump part (rows of Q^T)
    rho = G.adjoint(list(sp.symbols("r0 r1")))
    r0, r1 = sp.symbols("r0 r1")  # -d/dx(-x r0) = r0 from the drift part
    assert sp.expand(rho[0] - (r0 - a / eps * r0 + b / eps * r1)) == 0
    levels = G.expand(eps)
    assert levels.powers == (-1, 0) and levels[-1].kinds() == {"jump"}
    tilted = sa.Generator([x], [-x], [[2]], potential=k * x)
    assert tilted.kinds() == {"diffusion", "potential"}
    assert sp.expand(tilted.apply(sp.Integer(1)) - k * x) == 0
    with pytest.raises(sa.ModelError, match="potential"):
        sa.invariant_measure(tilted, [x])


@st.composite
def _rate_matrix(draw):
    n = draw(st.integers(2, 4))
    Q = sp.zeros(n, n)
    for i in range(n):
        for j in range(n):
            if i != j:
                Q[i, j] = sp.Rational(draw(st.integers(1, 9)), draw(st.integers(1, 5)))
        Q[i, i] = -sum(Q[i, j] for j in range(n) if j != i)
    h = sp.Matrix([draw(st.integers(-5, 5)) for _ in range(n)])
    return Q, h


@settings(max_examples=12, deadline=None)
@given(_rate_matrix())
def test_property_random_rate_matrices(data):
    """pi Q = 0 exactly; the Poisson solution solves -Q Phi = h - pi h; the gap matches numpy."""
    Q, h = data
    ch = sa.MarkovChain(Q)
    pi = ch.stationary()
    assert (pi.T * Q).is_zero_matrix and sum(pi) == 1
    hc = h - (pi.T * h)[0] * sp.ones(Q.rows, 1)
    phi = ch.poisson(hc)
    assert (Q * phi + hc).is_zero_matrix
    # independent check of the corrector: Phi = int_0^oo e^{Qt} h dt (Green-Kubo form)
    Qn = np.array(Q, dtype=float)
    hn = np.array(hc, dtype=float).ravel()
    integral, _ = scipy.integrate.quad_vec(lambda t: scipy.linalg.expm(Qn * t) @ hn, 0, np.inf,
                                           epsabs=1e-10)
    assert np.allclose(integral, np.array(phi, dtype=float).ravel(), atol=1e-7)
    # the same through the registered strategies (issue 14): 'finite chain' measure and
    # Poisson solver on the generator of the chain
    G = ch.generator
    mu = sa.invariant_measure(G, [ch.symbol])
    assert mu.strategy.startswith("finite chain") and sp.Matrix(mu.probabilities) == pi
    sol = sa.solve_poisson(G, hc, [ch.symbol], mu)
    assert sol.strategy.startswith("finite chain") or sol.strategy == "trivial"
    assert (Q * sp.Matrix(sol.phi) + hc).is_zero_matrix
