"""Large deviations of slow-fast systems: Hamiltonian, rate function, quasipotential,
minimum-action paths, and the rare-event check by importance sampling."""

from __future__ import annotations

import functools
import sys
from pathlib import Path

import numpy as np
import pytest
import scipy.linalg as sl
import sympy as sp

import symavg as sa
from symavg.errors import ScaleSeparationError, SymavgError

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _pdmp_exact import exact_mean_exit_time as _exact_mean_exit_time  # noqa: E402

eps = sa.epsilon
x, y, p, v = sp.symbols("x y p v", real=True)
lam, a, b, g = sp.symbols("lambda a b gamma", positive=True)


def telegraph():
    ch = sa.MarkovChain({("-", "+"): lam / eps, ("+", "-"): lam / eps})
    return sa.SwitchingSDE([x], ch, drift={"-": -1, "+": 1})


def two_state_pdmp():
    ch = sa.MarkovChain({(0, 1): a / eps, (1, 0): b / eps})
    return sa.SwitchingSDE([x], ch, drift={0: -x, 1: 1 - x})


# ------------------------------------------------------------------ Hamiltonian
def test_telegraph_hamiltonian_and_rate_function():
    # Perron root of [[-p - l, l], [l, p - l]]: sqrt(l^2 + p^2) - l (Dembo & Zeitouni,
    # Large Deviations Techniques and Applications, sec. 3.1: finite chains, Gartner-Ellis
    # with the Perron root); Legendre: p* = l v / sqrt(1 - v^2), L = l (1 - sqrt(1 - v^2)).
    H = sa.ldp.hamiltonian(telegraph(), momentum=p)
    assert sp.simplify(H.expr - (sp.sqrt(lam**2 + p**2) - lam)) == 0
    assert H.steps.passed
    names = {c.name for c in H.steps.checks}
    assert {"H(x, 0) = 0", "dH/dp(x, 0) = averaged drift", "H convex in p",
            "eps e^{-p.x/eps} L e^{p.x/eps} - K_p = o(1)"} <= names
    md, tex = H.steps.to_markdown(), H.steps.to_latex(standalone=True)
    assert "tilted generator" in md and "principal eigenvalue" in md and "FAILED" not in md
    assert tex.startswith("\\documentclass") or "\\begin{document}" in tex
    L = sa.ldp.rate_function(H, velocity=v)
    assert sp.simplify(L.expr - lam * (1 - sp.sqrt(1 - v**2))) == 0
    assert L.domain == sp.Interval(-1, 1)
    assert L.steps.passed
    assert L.evaluate(0.0, 0.5, {lam: 2.0}) == pytest.approx(2 * (1 - np.sqrt(0.75)))
    assert L.evaluate(0.0, 1.5, {lam: 2.0}) == np.inf


def test_two_state_pdmp_quasipotential_is_the_beta_law():
    # dx = (s - x) dt, s: 0 -> 1 at a/eps, 1 -> 0 at b/eps. Its stationary density is
    # rho_eps(x) ~ x^(a/eps - 1) (1 - x)^(b/eps - 1) (checked below against the stationary
    # forward equations), so -eps log rho_eps -> V(x) = -a log(x/x0) - b log((1-x)/(1-x0))
    # up to a constant, x0 = a/(a+b) (Faggionato, Gabrielli & Ribezzi Crivellari 2010,
    # the two-state example; here derived in the test).
    m = two_state_pdmp()
    e = sp.Symbol("e", positive=True)
    r0 = x ** (a / e - 1) * (1 - x) ** (b / e)       # density in state 0 (up to a factor)
    r1 = x ** (a / e) * (1 - x) ** (b / e - 1)
    # stationary PDMP forward equations: -(f_i rho_i)' + sum_j rho_j Q_ji = 0
    eq0 = -sp.diff(-x * r0, x) - a / e * r0 + b / e * r1
    eq1 = -sp.diff((1 - x) * r1, x) + a / e * r0 - b / e * r1
    vals = {e: sp.Rational(1, 7), a: sp.Rational(3, 2), b: sp.Rational(1, 2)}
    for xv in (sp.Rational(1, 5), sp.Rational(3, 5), sp.Rational(9, 10)):
        for eq in (eq0, eq1):
            assert abs(float(sp.N((eq / r0).subs(vals).subs(x, xv), 30))) < 1e-20
    # r0 + r1 = x^(a/e - 1) (1 - x)^(b/e - 1) (1 - x + x): the Beta(a/e, b/e) law
    qp = sa.ldp.quasipotential(m, start=a / (a + b))
    x0 = a / (a + b)
    expected = -a * sp.log(x / x0) - b * sp.log((1 - x) / (1 - x0))
    vals = {a: sp.Rational(3, 2), b: sp.Rational(1, 2)}
    for xv in (0.3, 0.6, 0.9):
        assert float(qp.expr.subs(vals).subs(x, xv)) == pytest.approx(
            float(expected.subs(vals).subs(x, xv)), rel=1e-12)
    assert qp.steps.passed


@pytest.mark.slow
def test_asymmetric_two_state_rate_function_is_donsker_varadhan():
    # Rates a (A -> B), b (B -> A), velocities +1, -1: the occupation measure of the chain
    # has the Donsker-Varadhan rate function I(mu) = (sqrt(a mu_A) - sqrt(b mu_B))^2
    # (den Hollander, Large Deviations, sec. IV.4, for reversible chains; Dembo & Zeitouni,
    # Large Deviations Techniques and Applications, sec. 3.1, finite chains),
    # contracted through v = mu_A - mu_B: L(v) = (sqrt(a (1+v)/2) - sqrt(b (1-v)/2))^2.
    # (The general symbolic Legendre transform took two minutes before sp.solve(check=False),
    # 20 s after; the two-state Donsker-Varadhan route it now takes 2.5 s under load 6,
    # against 38 s for the general route at the same load: benchmarks/bench_ldp.py.)
    ch = sa.MarkovChain({("A", "B"): a / eps, ("B", "A"): b / eps})
    m = sa.SwitchingSDE([x], ch, drift={"A": 1, "B": -1})
    L = sa.ldp.rate_function(sa.ldp.hamiltonian(m, momentum=p), velocity=v)
    assert L.expr is not None and L.steps.passed
    prm = {a: 1.3, b: 0.4}
    for vv in (-0.9, -0.2, 0.35, 0.8):
        ref = (np.sqrt(1.3 * (1 + vv) / 2) - np.sqrt(0.4 * (1 - vv) / 2)) ** 2
        assert L.evaluate(0.0, vv, prm) == pytest.approx(ref, rel=1e-10)


def test_ou_fast_linear_coupling_gives_a_quadratic_hamiltonian():
    # dx = (-x + y) dt, dy = -g y/eps dt + sqrt(2/eps) dW: k = p/g, H = -x p + p^2/g^2
    # (= p <f> + p^2 D with D = int_0^inf E[y_0 y_t] dt / eps-units = 1/g^2), so the rate
    # function is the Gaussian (v + x)^2 g^2 / 4 (Freidlin & Wentzell ch. 7 sec. 4, the
    # linear case of the averaging principle's large deviations).
    m = sa.SDE([x, y], [-x + y, -g * y / eps], diffusion=[[0, 0], [0, 2 / eps]])
    H = sa.ldp.hamiltonian(m, fast=[y], momentum=p)
    assert sp.expand(H.expr - (-x * p + p**2 / g**2)) == 0
    assert "linear fast process" in H.strategy and H.steps.passed
    L = sa.ldp.rate_function(H, velocity=v)
    assert sp.simplify(L.expr - g**2 * (v + x) ** 2 / 4) == 0
    assert L.domain == sp.Reals


def test_slow_noise_adds_p_a_p_over_two():
    m = sa.SDE([x, y], [-x + y, -y / eps], diffusion=[[eps * 3, 0], [0, 2 / eps]])
    H = sa.ldp.hamiltonian(m, fast=[y], momentum=p)
    assert sp.expand(H.expr - (-x * p + p**2 + sp.Rational(3, 2) * p**2)) == 0


def test_riccati_closed_form_agrees_with_the_numeric_grid_route():
    # f = y^2: the potential p y^2 is quadratic in y; the closed form (Riccati) is compared
    # with an independent finite-difference principal eigenvalue written here.
    m = sa.SDE([x, y], [-x + y**2, -y / eps], diffusion=[[0, 0], [0, 2 / eps]])
    H = sa.ldp.hamiltonian(m, fast=[y], momentum=p)
    assert "Riccati" in H.strategy and H.steps.passed
    # the eigenfunction exists for 2 s v2 < g^2: p < 1/4 here
    for pv in (-0.8, 0.1, 0.2):
        grid = np.linspace(-10, 10, 2001)
        h = grid[1] - grid[0]
        # u'' - y u' + p y^2 u (+ p(-x) with x = 0.5), symmetrised by a diagonal similarity
        lo, hi = 1 / h**2 + grid[1:] / (2 * h), 1 / h**2 - grid[:-1] / (2 * h)
        off = np.sqrt(lo * hi)
        top = sl.eigvalsh_tridiagonal(-2 / h**2 + pv * grid**2, off, select="i",
                                      select_range=(len(grid) - 1, len(grid) - 1))
        ref = float(top[0]) - 0.5 * pv
        assert H.evaluate(0.5, pv) == pytest.approx(ref, abs=2e-3)
    assert H.evaluate(0.5, 0.3) == np.inf      # past the Riccati root: no eigenfunction


def test_matrix_riccati_agrees_with_the_spectral_szego_formula():
    """Two coupled OU fast variables (non-symmetric drift matrix B, unequal noises) and a
    slow drift quadratic in them, f = -x + y1^2 + y1 y2 / 2 (no linear part): H(x, p) =
    -p x + Lambda(p), Lambda the scaled cumulant generating function of int y.V2 y dt,
    V2 = p [[1, 1/4], [1/4, 0]]. Independent value: the Szego / Kac-Achiezer formula for
    quadratic functionals of a stationary Gaussian process (Bryc & Dembo, J. Theor. Probab.
    10 (1997) 307), Lambda = -(1/4 pi) int log det(I - 2 V2 S(w)) dw with the
    spectral density S(w) = (iw - B)^{-1} A (iw - B)^{-H}; H = inf where the determinant
    reaches zero (no eigenfunction)."""
    from scipy.integrate import quad

    y1, y2 = sp.symbols("y1 y2", real=True)
    m = sa.SDE([x, y1, y2], [-x + y1**2 + y1 * y2 / 2, (-y1 + y2 / 2) / eps,
                             (-2 * y2 - 3 * y1 / 10) / eps],
               diffusion=[[0, 0, 0], [0, 2 / eps, 0], [0, 0, 1 / eps]])
    H = sa.ldp.hamiltonian(m, fast=[y1, y2], momentum=p)
    assert "Riccati" in H.strategy and H.steps.passed, H.steps
    B = np.array([[-1.0, 0.5], [-0.3, -2.0]])
    A = np.diag([2.0, 1.0])

    def szego(pv):
        V2 = pv * np.array([[1.0, 0.25], [0.25, 0.0]])

        def integrand(w):
            R = np.linalg.inv(1j * w * np.eye(2) - B)
            S = R @ A @ R.conj().T
            return np.log(np.linalg.det(np.eye(2) - 2 * V2 @ S)).real
        return -quad(integrand, -np.inf, np.inf, limit=400)[0] / (4 * np.pi)

    def symbol_min(pv):
        V2 = pv * np.array([[1.0, 0.25], [0.25, 0.0]])
        return min(np.linalg.det(np.eye(2) - 2 * V2 @ (R @ A @ R.conj().T)).real
                   for R in (np.linalg.inv(1j * w * np.eye(2) - B)
                             for w in np.linspace(-5, 5, 201)))
    for pv in (-0.6, -0.2, 0.1, 0.15):
        assert symbol_min(pv) > 0
        assert H.evaluate(0.5, pv) == pytest.approx(-0.5 * pv + szego(pv), rel=1e-9, abs=1e-12)
    # past the blow-up the symbol's determinant changes sign and H is infinite
    for pv in (0.3, 3.0):
        assert symbol_min(pv) < 0 and H.evaluate(0.5, pv) == np.inf


def test_decoupled_riccati_with_linear_terms_matches_the_one_variable_closed_forms():
    """Decoupled fast variables: H of f = -x + y1 + y1^2/2 + y2 + y2^2/3 (y1, y2 independent
    OU processes) is the sum of the one-variable Riccati closed forms (the symbolic route,
    e^{alpha y^2/2 + beta y}) of f1 = -x + y1 + y1^2/2 and f2 = y2 + y2^2/3; the matrix
    route takes the decoupled closed form (one scalar Riccati root per variable, its
    eigen-equation checked symbolically in the record); the sum of the one-variable
    closed forms is an independent reference."""
    y1, y2 = sp.symbols("y1 y2", real=True)
    m = sa.SDE([x, y1, y2], [-x + y1 + y1**2 / 2 + y2 + y2**2 / 3, -y1 / eps, -2 * y2 / eps],
               diffusion=[[0, 0, 0], [0, 2 / eps, 0], [0, 0, 1 / eps]])
    H = sa.ldp.hamiltonian(m, fast=[y1, y2], momentum=p)
    assert "decoupled Riccati" in H.strategy and H.steps.passed and H.expr is not None
    m1 = sa.SDE([x, y1], [-x + y1 + y1**2 / 2, -y1 / eps], diffusion=[[0, 0], [0, 2 / eps]])
    m2 = sa.SDE([x, y2], [y2 + y2**2 / 3, -2 * y2 / eps], diffusion=[[0, 0], [0, 1 / eps]])
    H1 = sa.ldp.hamiltonian(m1, fast=[y1], momentum=p)
    H2 = sa.ldp.hamiltonian(m2, fast=[y2], momentum=p)
    assert H1.expr is not None and H2.expr is not None
    for pv in (-0.9, -0.3, 0.2, 0.45):
        ref = H1.evaluate(0.4, pv) + H2.evaluate(0.4, pv)
        assert H.evaluate(0.4, pv) == pytest.approx(ref, rel=1e-10)


def test_chain_and_diffusion_fast_process_numeric_hamiltonian():
    """A fast chain s = +-1 (rate lambda/eps) and a fast OU variable y relaxing to mu s,
    dy = (mu s - y)/eps dt + sqrt(2/eps) dW, drive dx = y dt. The tilted generator
    (K_p u)_s = L_s u_s + sum_j Q_sj u_j + p y u_s has the eigenfunction u_s = c_s e^{p y}
    (L_s e^{py} = (p (mu s - y) + p^2) e^{py}, the y terms cancel), so H = p^2 + the Perron
    root of Q + p mu diag(s) = p^2 + sqrt(lambda^2 + mu^2 p^2) - lambda, derived here by
    hand; the numeric block finite-difference route (no closed form is attempted for a
    chain with a diffusion) must agree with it."""
    mu = sp.Symbol("mu", positive=True)
    ch = sa.MarkovChain({("-", "+"): lam / eps, ("+", "-"): lam / eps})
    m = sa.SwitchingSDE([x, y], ch, drift={"-": [y, (-mu - y) / eps], "+": [y, (mu - y) / eps]},
                        noise=[[0], [sp.sqrt(2 / eps)]])
    H = sa.ldp.hamiltonian(m, fast=[ch.symbol, y], momentum=p, params={lam: 1.0, mu: 0.7},
                           domain=(-7, 7), n=120, tol=1e-4)
    assert "chain x finite differences" in H.strategy and H.steps.passed, H.steps
    for pv in (-1.0, -0.3, 0.4, 1.2):
        ref = pv**2 + np.sqrt(1 + 0.49 * pv**2) - 1
        assert H.evaluate(0.2, pv) == pytest.approx(ref, abs=2e-4)
    # without domain= the fitted box grid (tests/test_ldp_grid.py) chooses the box itself
    Hb = sa.ldp.hamiltonian(m, fast=[ch.symbol, y], momentum=p, params={lam: 1.0, mu: 0.7},
                            n=100, tol=1e-3)
    assert "fitted grid" in Hb.strategy and Hb.steps.passed, Hb.steps
    for pv in (-1.0, 1.2):
        ref = pv**2 + np.sqrt(1 + 0.49 * pv**2) - 1
        assert Hb.evaluate(0.2, pv) == pytest.approx(ref, abs=3e-4)


def test_numeric_grid_hamiltonian_on_the_circle():
    # f = sin(y) with y a Brownian motion on the circle (period 2 pi, fast): no closed form.
    # H(x, p) is the principal eigenvalue of u'' + p sin(y) u (Mathieu); for small p it is
    # p^2 <sin^2>/1 = p^2/2 to leading order: the Green-Kubo diffusion (Pavliotis & Stuart
    # sec. 11) of int sin(y_t) dt with D = int_0^inf E[sin y_0 sin y_t] dt = 1/2 (rate 1
    # for the first Fourier mode of d y = sqrt(2/eps) dW), H ~ D p^2 = p^2/2.
    m = sa.SDE([x, y], [sp.sin(y), 0], diffusion=[[0, 0], [0, 2 / eps]],
               periodic={y: 2 * sp.pi})
    H = sa.ldp.hamiltonian(m, fast=[y], momentum=p)
    assert H.expr is None and "finite differences" in H.strategy
    assert H.steps.passed, [c for c in H.steps.checks if not c.passed]
    assert H.evaluate(0.0, 0.05) == pytest.approx(0.05**2 / 2, rel=2e-3)
    # an independent spectral computation: Fourier basis, u'' + p sin(y) u
    K = 15
    ks = np.arange(-K, K + 1)
    pv = 1.3
    M = np.diag(-(ks.astype(float) ** 2)).astype(complex)
    for j in range(len(ks) - 1):       # sin y = (e^{iy} - e^{-iy}) / 2i
        M[j + 1, j] += pv / 2j
        M[j, j + 1] += -pv / 2j
    ref = np.max(np.linalg.eigvals(M).real)
    assert H.evaluate(0.0, pv) == pytest.approx(ref, abs=1e-5)


def _mathieu_principal(pv, diffusion=1.0, K=15):
    # principal eigenvalue of diffusion * u'' + pv sin(y) u on the circle, Fourier basis
    ks = np.arange(-K, K + 1)
    M = np.diag(-diffusion * ks.astype(float) ** 2).astype(complex)
    for j in range(len(ks) - 1):       # sin y = (e^{iy} - e^{-iy}) / 2i
        M[j + 1, j] += pv / 2j
        M[j, j + 1] += -pv / 2j
    return float(np.max(np.linalg.eigvals(M).real))


def test_two_fast_circles_numeric_tensor_grid_hamiltonian():
    # Two independent fast Brownian motions on circles (no closed form for either case):
    # f = sin y1 + sin y2 separates, K_p is a Kronecker sum and H = 2 H_Mathieu(p);
    # f = sin(y1 + y2) depends on u = y1 + y2 only, a Brownian motion of twice the
    # diffusion, so H is the principal eigenvalue of 2 u'' + p sin(u) u. Both references
    # by an independent Fourier computation in one variable.
    y1, y2 = sp.symbols("y1 y2", real=True)
    per = {y1: 2 * sp.pi, y2: 2 * sp.pi}
    D = sp.diag(0, 2 / eps, 2 / eps)
    sep = sa.SDE([x, y1, y2], [sp.sin(y1) + sp.sin(y2), 0, 0], diffusion=D, periodic=per)
    H = sa.ldp.hamiltonian(sep, fast=[y1, y2])
    assert "tensor grid" in H.strategy and H.steps.passed
    for pv in (0.3, 1.3):
        assert H.evaluate(0.0, pv) == pytest.approx(2 * _mathieu_principal(pv), abs=1e-9)


def test_two_fast_circles_non_separable_tensor_grid_hamiltonian():
    # f = sin(y1 + y2): see the test above; the reference is 2 u'' + p sin(u) u on a circle
    y1, y2 = sp.symbols("y1 y2", real=True)
    per = {y1: 2 * sp.pi, y2: 2 * sp.pi}
    D = sp.diag(0, 2 / eps, 2 / eps)
    joint = sa.SDE([x, y1, y2], [sp.sin(y1 + y2), 0, 0], diffusion=D, periodic=per)
    Hj = sa.ldp.hamiltonian(joint, fast=[y1, y2])
    assert Hj.steps.passed
    assert Hj.evaluate(0.0, 1.1) == pytest.approx(_mathieu_principal(1.1, 2.0), abs=1e-9)
    # a non-reversible nonlinear fast drift on the line with state-dependent fast noise has
    # no route (the others are in tests/test_ldp_grid.py)
    rot = sa.SDE([x, y1, y2], [-x + y1 + y2, (-y1**3 + y2) / eps, (-y1 - y2) / eps],
                 diffusion=sp.diag(0, 2 * (1 + y2**2) / eps, 2 / eps))
    with pytest.raises(SymavgError, match="not reversible"):
        sa.ldp.hamiltonian(rot, fast=[y1, y2])


def test_two_ou_line_variables_with_squares_take_the_riccati_route():
    # f = -x + y1^2 + y2^2, y1, y2 independent OU (g = 1, s = 2): two copies of the
    # one-variable Riccati H = (1 - sqrt(1 - 4 p))/2 (Bryc & Dembo 1997 for int y^2 dt),
    # finite for p < 1/4
    y1, y2 = sp.symbols("y1 y2", real=True)
    D = sp.diag(0, 2 / eps, 2 / eps)
    line = sa.SDE([x, y1, y2], [-x + y1**2 + y2**2, -y1 / eps, -y2 / eps], diffusion=D)
    Hl = sa.ldp.hamiltonian(line, fast=[y1, y2])
    assert "Riccati" in Hl.strategy and Hl.steps.passed
    assert Hl.evaluate(0.5, 0.1) == pytest.approx(-0.05 + 1 - np.sqrt(0.6), rel=1e-12)
    assert Hl.evaluate(0.5, 0.3) == np.inf


def test_three_state_chain_numeric_perron_root():
    c = sa.MarkovChain({(0, 1): 1 / eps, (1, 2): 2 / eps, (2, 0): 3 / eps, (1, 0): 1 / eps})
    m = sa.SwitchingSDE([x], c, drift={0: -1, 1: 0, 2: 2})
    H = sa.ldp.hamiltonian(m, momentum=p)
    assert H.expr is None and H.characteristic is not None and H.steps.passed
    Q = np.array([[-1, 1, 0], [1, -3, 2], [3, 0, -3]], float)
    ref = np.max(np.linalg.eigvals(Q + 0.7 * np.diag([-1, 0, 2])).real)
    assert H.evaluate(0.0, 0.7) == pytest.approx(ref, abs=1e-12)
    L = sa.ldp.rate_function(H, velocity=v)
    assert L.domain == sp.Interval(-1, 2)
    # the numeric Legendre transform vanishes at the mean velocity and is positive elsewhere
    pi = np.array(c.stationary().subs(eps, 1)).astype(float).ravel()
    vbar = pi @ np.array([-1, 0, 2.0])
    assert L.evaluate(0.0, vbar) == pytest.approx(0.0, abs=1e-8)
    assert L.evaluate(0.0, 1.5) > 0 and L.evaluate(0.0, 2.5) == np.inf


def test_lumpable_three_state_chain_has_a_closed_form_perron_root():
    # A1 <-> A2 at c, A1, A2 -> B at a, B -> A1, A2 at b/2 each; drift +1 in A1, A2 and -1
    # in B. The chain is lumpable into {A, B} (Kemeny & Snell, Finite Markov Chains, sec.
    # 6.3: every state of a lump has the same total rate into every other lump) and the
    # drift is constant on lumps, so the tilted matrix is lumpable too: det(lambda - M)
    # factors into the lumped 2 x 2 characteristic polynomial times (lambda - p + a + 2c),
    # and H is the lumped two-state Perron root (Dembo & Zeitouni sec. 3.1).
    c = sp.Symbol("c", positive=True)
    ch = sa.MarkovChain({("A1", "A2"): c / eps, ("A2", "A1"): c / eps, ("A1", "B"): a / eps,
                         ("A2", "B"): a / eps, ("B", "A1"): b / (2 * eps),
                         ("B", "A2"): b / (2 * eps)})
    m = sa.SwitchingSDE([x], ch, drift={"A1": 1, "A2": 1, "B": -1})
    H = sa.ldp.hamiltonian(m, momentum=p)
    assert "factored" in H.strategy and H.steps.passed
    lumped = sp.Matrix([[-a + p, a], [b, -b - p]])
    H2 = (lumped.trace() + sp.sqrt((lumped[0, 0] - lumped[1, 1]) ** 2 + 4 * a * b)) / 2
    assert sp.simplify(H.expr - H2) == 0
    Q = np.array([[-2.0 - 0.7, 0.7, 2.0], [0.7, -2.7, 2.0], [0.25, 0.25, -0.5]])
    for pv in (-1.5, 0.4, 2.0):
        ref = np.max(np.linalg.eigvals(Q + pv * np.diag([1.0, 1.0, -1.0])).real)
        assert H.evaluate(0.0, pv, {a: 2.0, b: 0.5, c: 0.7}) == pytest.approx(ref, rel=1e-12)


def test_scaling_errors_name_the_culprit():
    homog = sa.SDE([x, y], [y / eps, -y / eps**2], diffusion=[[0, 0], [0, 2 / eps**2]])
    with pytest.raises(ScaleSeparationError, match="homogenization"):
        sa.ldp.hamiltonian(homog, fast=[y])
    big_noise = sa.SDE([x, y], [y, -y / eps], diffusion=[[1, 0], [0, 2 / eps]])
    with pytest.raises(ScaleSeparationError, match="sqrt\\(eps\\)"):
        sa.ldp.hamiltonian(big_noise, fast=[y])
    with pytest.raises(SymavgError, match="momentum"):
        sa.ldp.hamiltonian(telegraph(), momentum=[p, v])
    with pytest.raises(ValueError):
        sa.ldp.hamiltonian(telegraph(), momentum=x)


# ------------------------------------------------------- actions and gMAM
def test_action_of_a_constant_velocity_path():
    t = np.linspace(0, 2, 21)
    S = sa.ldp.action(telegraph(), (0.5 * t)[:, None], t, params={lam: 1.0})
    assert S == pytest.approx(2 * (1 - np.sqrt(0.75)), rel=1e-12)


def test_gradient_system_quasipotential_is_2_delta_U_over_sigma2():
    # dx = -U'(x) dt + sqrt(eps) sigma dW written as fast OU noise of intensity sigma^2 = 2 D
    # (here D = int E[y0 yt] = 1/g^2 * 1 with g = 1, sigma^2 = 2): V = 2 (U(b) - U(a))/sigma^2
    # (Freidlin & Wentzell ch. 4, gradient systems), U = x^4/4 - x^2/2 + x^3/3
    U = x**4 / 4 - x**2 / 2
    m = sa.SDE([x, y], [-sp.diff(U, x) + y, -y / eps], diffusion=[[0, 0], [0, 2 / eps]])
    r = sa.ldp.minimum_action_path(m, [1.0], [0.0], fast=[y], n=200)
    assert r.action == pytest.approx(float(U.subs(x, 0) - U.subs(x, 1)), rel=1e-4)
    # the 2-D gradient case with a curved optimal path: U = (x1^2 - 1)^2/4 + (x2 - x1^2)^2
    x1, x2, y1, y2 = sp.symbols("x1 x2 y1 y2", real=True)
    U2 = (x1**2 - 1) ** 2 / 4 + (x2 - x1**2) ** 2
    m2 = sa.SDE([x1, x2, y1, y2], [-sp.diff(U2, x1) + y1, -sp.diff(U2, x2) + y2, -y1 / eps,
                                  -y2 / eps], diffusion=sp.diag(0, 0, 2 / eps, 2 / eps))
    H2 = sa.ldp.hamiltonian(m2, fast=[y1, y2])
    r2 = sa.ldp.minimum_action_path(H2, [1.0, 1.0], [0.0, 0.0], n=60, tol=1e-9)
    assert r2.converged
    assert r2.action == pytest.approx(1 / 4, rel=2e-3)      # U2(0, 0) - U2(1, 1)


def test_non_gradient_linear_system_matches_the_lyapunov_quasipotential():
    # dx = A x dt + fast OU noise with D = 2 I (non-normal A: not a gradient system). The
    # stationary law of dx = A x dt + sqrt(eps) dW (diffusion D) is N(0, eps S),
    # A S + S A^T + D = 0, so V(z) = z.S^{-1} z / 2 (Freidlin & Wentzell ch. 4 sec. 3).
    x1, x2, y1, y2 = sp.symbols("x1 x2 y1 y2", real=True)
    m = sa.SDE([x1, x2, y1, y2], [-x1 + 3 * x2 + y1, -x2 + y2, -y1 / eps, -y2 / eps],
               diffusion=sp.diag(0, 0, 2 / eps, 2 / eps))
    H = sa.ldp.hamiltonian(m, fast=[y1, y2])
    z = np.array([0.8, -0.6])
    r = sa.ldp.minimum_action_path(H, [0.0, 0.0], z, n=60, tol=1e-10)
    S = sl.solve_continuous_lyapunov(np.array([[-1.0, 3], [0, -1]]), -2 * np.eye(2))
    assert r.converged
    assert r.action == pytest.approx(z @ np.linalg.solve(S, z) / 2, rel=2e-3)


def test_pdmp_gmam_agrees_with_the_closed_form_quasipotential():
    m = two_state_pdmp()
    prm = {a: 1.0, b: 2.0}
    H = sa.ldp.hamiltonian(m, params=prm)
    qp = sa.ldp.quasipotential(H, start=a / (a + b))
    r = sa.ldp.minimum_action_path(H, [1 / 3], [0.8], n=200)
    assert r.action == pytest.approx(qp.evaluate(0.8, prm), rel=1e-4)


# ------------------------------------------------------------ rare events
@pytest.mark.slow
def test_importance_sampling_confirms_the_telegraph_rate_function():
    # -eps log P(X_T >= v T) = T L(v) - (eps/2) log eps + O(eps): the sqrt(eps) prefactor of
    # the Bahadur-Rao refinement (Dembo & Zeitouni sec. 3.7). Remove the known log term,
    # fit a + b eps by weighted least squares, and compare a with T L(v) = 0.2 (lambda = 1,
    # v = 0.6, T = 1: L = 1 - sqrt(1 - 0.36)).
    from symavg.numeric.rare_events import additive_tail_probability

    tel = telegraph()
    eps_values = [0.05, 0.025, 0.0125, 0.00625]
    ys, ses = [], []
    for k, e in enumerate(eps_values):
        est = additive_tail_probability(tel, 0.6, 1.0, e, params={lam: 1.0}, paths=8000,
                                        seed=10 + k)
        ys.append(est.log_rate + e / 2 * np.log(e))
        ses.append(est.log_rate_stderr)
    X = np.column_stack([np.ones(4), eps_values])
    W = np.diag(1 / np.square(ses))
    cov = np.linalg.inv(X.T @ W @ X)
    coef = cov @ X.T @ W @ np.array(ys)
    assert abs(coef[0] - 0.2) < 4 * np.sqrt(cov[0, 0]) + 2e-3
    # plain Monte Carlo at the largest eps agrees with the weighted estimate
    plain = additive_tail_probability(tel, 0.6, 1.0, 0.05, params={lam: 1.0}, tilt=0.0,
                                      paths=40000, seed=3)
    est = additive_tail_probability(tel, 0.6, 1.0, 0.05, params={lam: 1.0}, paths=8000,
                                    seed=4)
    assert abs(plain.probability - est.probability) < 4 * np.hypot(plain.stderr, est.stderr)


@pytest.mark.slow
def test_non_gradient_nonlinear_system_gmam_agrees_with_shooting():
    # b = -grad U + 2 J grad U (J the rotation by pi/2: b is not a gradient, its paths spiral)
    # with fast OU noise giving H = b.p + |p|^2. The Hamilton-Jacobi equation b.grad V +
    # |grad V|^2 = 0 holds for V = U since J grad U is orthogonal to grad U (the transverse
    # decomposition, Freidlin & Wentzell ch. 4 sec. 3), so V(z) = U(z) - U(0). Independently,
    # shoot Hamilton's equations from the linearised unstable manifold p = grad V_lin(x)
    # near 0 and take the action int p.dx of the trajectory through z.
    from scipy.integrate import solve_ivp
    from scipy.optimize import minimize_scalar

    x1, x2, y1, y2 = sp.symbols("x1 x2 y1 y2", real=True)
    U = (x1**2 + x2**2) / 2 + x1**4 / 4
    gU = [sp.diff(U, x1), sp.diff(U, x2)]
    drift = [-gU[0] - 2 * gU[1], -gU[1] + 2 * gU[0]]
    m = sa.SDE([x1, x2, y1, y2], [drift[0] + y1, drift[1] + y2, -y1 / eps, -y2 / eps],
               diffusion=sp.diag(0, 0, 2 / eps, 2 / eps))
    H = sa.ldp.hamiltonian(m, fast=[y1, y2])
    z = np.array([1.0, 0.4])
    exact = float(U.subs({x1: z[0], x2: z[1]}))
    r = sa.ldp.minimum_action_path(H, [0.0, 0.0], z, n=80, tol=1e-10)
    assert r.converged
    assert r.action == pytest.approx(exact, rel=3e-3)
    # shooting: linearisation b = A x, A = [[-1, -2], [2, -1]], D = 2 I: V_lin = |x|^2 / 2
    P = H.momentum
    e = H.expr
    Hp = sp.lambdify([x1, x2, *P], [sp.diff(e, q) for q in P])
    Hx = sp.lambdify([x1, x2, *P], [sp.diff(e, w) for w in (x1, x2)])

    def rhs(_t, u):
        q1, q2, s1, s2, _ = u
        v = Hp(q1, q2, s1, s2)
        return [*v, *(-np.array(Hx(q1, q2, s1, s2))), s1 * v[0] + s2 * v[1]]

    delta = 1e-4

    def leave(_t, u):
        return u[0] ** 2 + u[1] ** 2 - 4.0
    leave.terminal = True

    def shoot(theta, rtol=1e-7, full=False):
        x0 = delta * np.array([np.cos(theta), np.sin(theta)])
        sol = solve_ivp(rhs, (0, 25), [*x0, *x0, delta**2 / 2], rtol=rtol, atol=1e-12,
                        dense_output=True, events=leave)
        ts = np.linspace(0, sol.t[-1], 2000)
        path = sol.sol(ts)
        k = int(np.argmin(np.hypot(path[0] - z[0], path[1] - z[1])))
        lo, hi = ts[max(k - 1, 0)], ts[min(k + 1, len(ts) - 1)]
        near = minimize_scalar(lambda t: float(np.hypot(*(sol.sol(t)[:2] - z))),
                               bounds=(lo, hi), method="bounded", options={"xatol": 1e-12})
        return float(sol.sol(near.x)[4]) if full else float(near.fun)
    thetas = np.linspace(0, 2 * np.pi, 37)
    best = thetas[int(np.argmin([shoot(t, rtol=1e-5) for t in thetas]))]
    res = minimize_scalar(lambda t: shoot(t, rtol=1e-10), bounds=(best - 0.18, best + 0.18),
                          method="bounded", options={"xatol": 1e-12})
    assert res.fun < 1e-6
    shot = shoot(res.x, rtol=1e-10, full=True)
    assert shot == pytest.approx(exact, rel=1e-4)
    assert r.action == pytest.approx(shot, rel=3e-3)


def test_numeric_quasipotential_along_the_minimum_action_path():
    x1, x2, y1, y2 = sp.symbols("x1 x2 y1 y2", real=True)
    m = sa.SDE([x1, x2, y1, y2], [-x1 + y1, -2 * x2 + y2, -y1 / eps, -y2 / eps],
               diffusion=sp.diag(0, 0, 2 / eps, 2 / eps))
    # gradient of U = x1^2/2 + x2^2 with D = 2 I: V = U (Freidlin & Wentzell ch. 4)
    r = sa.ldp.quasipotential(m, start=[0, 0], at=[0.5, 0.5], fast=[y1, y2])
    assert r.action == pytest.approx(0.5**2 / 2 + 0.5**2, rel=2e-3)
    with pytest.raises(SymavgError, match="at="):
        sa.ldp.quasipotential(m, start=[0, 0], fast=[y1, y2])


# ------------------------------------------- exit times of an x-dependent PDMP
def _feedback_pdmp():
    # dx = (s - x) dt, s: 0 -> 1 at (a0 + a1 x^2)/eps (positive feedback), 1 -> 0 at b/eps
    a0_, a1_ = sp.symbols("a0 a1", positive=True)
    ch = sa.MarkovChain({(0, 1): (a0_ + a1_ * x**2) / eps, (1, 0): b / eps})
    return sa.SwitchingSDE([x], ch, drift={0: -x, 1: 1 - x}), {a0_: 0.1, a1_: 8.0, b: 2.0}


@functools.lru_cache(maxsize=1)
def _feedback_quasipotential():
    """sa.ldp.quasipotential of the feedback PDMP from its left stable point (computed once
    for the tests that use it; V differences do not depend on the start)."""
    m, _ = _feedback_pdmp()
    xm = np.sort(np.roots([-8.0, 8.0, -2.1, 0.1]).real)[0]
    return sa.ldp.quasipotential(m, start=sp.Float(xm))


@pytest.mark.slow
def test_pdmp_mean_exit_time_follows_the_quasipotential_barrier():
    # The feedback PDMP is bistable (stable x- = 0.0609, x+ = 0.5927, unstable xs = 0.3464).
    # Its quasipotential (Faggionato, Gabrielli & Ribezzi Crivellari 2010, the 1-D two-state
    # PDMP: V' = k01/f0 + k10/f1; Bressloff & Newby, Phys. Rev. E 89 (2014) 042701, eq. for
    # p*) is V = -a0 log x - a1 x^2/2 - b log(1 - x) + const, and the mean time to leave the
    # left well obeys eps log E[tau] -> V(xs) - V(x-) (Arrhenius). Checked three ways:
    # (1) the simulated E[tau] (sa.ldp.mean_exit_time, the PDMP kernel) agrees with the exact
    # double-integral formula at each eps; (2) that formula, divided by the Laplace
    # prefactor C = 2 pi k10 h(x-) / (f1(xs) sqrt(|V''(xs)| V''(x-))), h = 1/|f0| + 1/f1,
    # gives eps log(E[tau]/C) -> Delta V at small eps; (3) a straight-line fit of the
    # simulated eps log E[tau] extrapolates to Delta V (within its error bar plus the O(eps^2)
    # curvature, 0.007 over this eps range, read off the exact formula).
    from symavg.numeric.exit_times import mean_exit_time

    m, prm = _feedback_pdmp()
    xm, xs, _ = np.sort(np.roots([-8.0, 8.0, -2.1, 0.1]).real)
    qp = _feedback_quasipotential()
    assert qp.steps.passed
    dV = qp.evaluate(xs, prm) - qp.evaluate(xm, prm)
    Vf = sp.lambdify(x, qp.expr.subs(prm), "numpy")
    assert dV == pytest.approx(-0.1 * np.log(xs / xm) - 4 * (xs**2 - xm**2)
                               - 2 * np.log((1 - xs) / (1 - xm)), rel=1e-10)

    def k01(z):
        return 0.1 + 8.0 * z**2

    xc = 0.45
    eps_values = [0.05, 0.04, 1 / 30, 0.025]
    ys, ses = [], []
    for k, e in enumerate(eps_values):
        est = mean_exit_time(m, {x: xm}, upper={x: xc}, eps=e, params=prm, paths=300,
                             seed=20 + k)
        ref = _exact_mean_exit_time(Vf, k01, 2.0, e, xm, xc)
        assert abs(est.mean - ref) < 4 * est.stderr, (e, est.mean, est.stderr, ref)
        ys.append(est.log_rate)
        ses.append(est.log_rate_stderr)
    d2 = sp.lambdify(x, sp.diff(qp.expr.subs(prm), x, 2))
    C = 2 * np.pi * 2.0 * (1 / xm + 1 / (1 - xm)) / ((1 - xs) * np.sqrt(-d2(xs) * d2(xm)))
    for e in (0.005, 0.0025):
        ref = _exact_mean_exit_time(Vf, k01, 2.0, e, xm, xc)
        assert e * np.log(ref / C) == pytest.approx(dV, abs=1e-3)
    X = np.column_stack([np.ones(4), eps_values])
    W = np.diag(1 / np.square(ses))
    cov = np.linalg.inv(X.T @ W @ X)
    coef = cov @ X.T @ W @ np.array(ys)
    assert abs(coef[0] - dV) < 4 * np.sqrt(cov[0, 0]) + 0.01


@pytest.mark.slow
def test_stationary_density_of_the_feedback_pdmp_follows_the_quasipotential():
    """The stationary density of x for the feedback PDMP in a monostable regime (a0 = 0.5,
    a1 = 1, b = 1; stable x* = 0.3966), simulated by sa.simulate (2000 paths, sampled at
    t = 3, 4, ..., 30) at eps = 0.08 ... 0.025, checked two ways:

    (1) against the exact stationary density rho = C e^{-V/eps} (1/|f0| + 1/f1)
        = C e^{-V/eps} / (x (1 - x)) (the zero-flux solution of the two-state PDMP's
        forward equations, f0 rho0 + f1 rho1 = 0: Faggionato, Gabrielli & Ribezzi
        Crivellari, Markov Process. Relat. Fields 16 (2010) 497, sec. 2; Bressloff & Newby,
        Phys. Rev. E 89 (2014) 042701, eq. (2.6)), integrated over each bin: the
        chi-square of all 64 bins is within 4 standard deviations of its mean;
    (2) -eps log(rho(x)/rho(x_ref)) is V(x) - V(x_ref) + eps log(x_ref (1 - x_ref) / (x (1 -
        x))), linear in eps: a weighted straight-line fit at each bin extrapolates to
        V(x) - V(x_ref) of sa.ldp.quasipotential within 4 standard errors plus the bin
        resolution max|V'| h / 2 (Freidlin & Wentzell Ch. 4, Thm. 4.3: -eps log rho ->
        V)."""
    from scipy.integrate import quad

    m, prm0 = _feedback_pdmp()
    a0_, a1_, _ = prm0
    prm = {a0_: 0.5, a1_: 1.0, b: 1.0}
    roots = np.roots([-1.0, 1.0, -1.5, 0.5])          # (a0 + a1 x^2)(1 - x) = b x
    xstar = float(roots[np.abs(roots.imag) < 1e-12].real[0])
    qp = _feedback_quasipotential()
    Vf = sp.lambdify(x, qp.expr.subs(prm), "numpy")
    edges = np.linspace(xstar - 0.16, xstar + 0.16, 17)
    mid = (edges[1:] + edges[:-1]) / 2
    ref = 8
    eps_values = [0.08, 0.05, 0.035, 0.025]
    Ws, Ses, chi2 = [], [], 0.0
    for k, e in enumerate(eps_values):
        est = sa.ldp.stationary_density(m, x, {x: xstar}, eps=e, params=prm, edges=edges,
                                        T=30.0, burn_in=3.0, every=1.0, paths=2000,
                                        seed=60 + k)

        def rho(z, e=e):
            return np.exp(-(Vf(z) - Vf(xstar)) / e) / (z * (1 - z))
        Z = quad(rho, 1e-12, 1 - 1e-12, points=[xstar], limit=200)[0]
        exact = np.array([quad(rho, lo, hi)[0] / (hi - lo) / Z
                          for lo, hi in zip(edges[:-1], edges[1:])])
        chi2 += float(np.sum(np.square((est.density - exact) / est.stderr)))
        W, se = est.action(reference=ref)
        Ws.append(W)
        Ses.append(se)
    nbins = 4 * len(mid)
    assert chi2 < nbins + 4 * np.sqrt(2 * nbins), chi2
    Ws, Ses = np.array(Ws), np.array(Ses)
    X = np.column_stack([np.ones(len(eps_values)), eps_values])
    dV = Vf(mid) - Vf(mid[ref])
    slope = np.abs(np.gradient(Vf(edges), edges)).max()
    h = edges[1] - edges[0]
    for i in range(len(mid)):
        if i == ref:
            continue
        Wt = np.diag(1 / np.square(Ses[:, i]))
        cov = np.linalg.inv(X.T @ Wt @ X)
        coef = cov @ X.T @ Wt @ Ws[:, i]
        assert abs(coef[0] - dV[i]) < 4 * np.sqrt(cov[0, 0]) + slope * h / 2, (
            i, coef, np.sqrt(cov[0, 0]), dV[i])


def test_mean_exit_time_names_bad_input():
    from symavg.errors import ModelError, SimulationError
    from symavg.numeric.exit_times import mean_exit_time

    tel = telegraph()
    with pytest.raises(ModelError, match="not inside the box"):
        sa.ldp.mean_exit_time(tel, {x: 2.0}, {x: -1.0}, {x: 1.0}, eps=0.1,
                              params={lam: 1.0}, paths=10)
    with pytest.raises(SimulationError, match="still inside the box at t_max"):
        mean_exit_time(tel, {x: 0.0}, {x: -1.0}, {x: 1.0}, eps=0.01, params={lam: 1.0},
                       paths=50, seed=1, t_max=0.5)
    noisy = sa.SwitchingSDE([x], tel.chain, drift={"-": -1, "+": 1}, noise=[[1]])
    with pytest.raises(ModelError, match="PDMP"):
        mean_exit_time(noisy, {x: 0.0}, {x: -1.0}, {x: 1.0}, eps=0.1, params={lam: 1.0})
