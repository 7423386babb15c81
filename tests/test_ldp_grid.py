"""The numeric Hamiltonian for fast diffusion variables on the line (issue 11, item 1).

Routes (``symavg/derive/ldp_grid.py``): the ground-state transform of a reversible
tilted generator and a box grid; for a non-reversible drift, the ray-integral weight and
an exponentially fitted grid. References: exact eigenfunctions, the matrix Riccati
closed form, and independent one-variable computations (reflecting finite differences
on the original operator).
"""

from __future__ import annotations

import numpy as np
import pytest
import sympy as sp

import symavg as sa
from symavg.errors import SymavgError, UnsolvedError

x, p = sp.symbols("x p", real=True)
y1, y2 = sp.symbols("y1 y2", real=True)
eps = sa.epsilon
D = sp.diag(eps, 2 / eps, 2 / eps)


def _line_principal(b, a, V, lo=-4.0, hi=4.0, n=1200):
    """Independent reference: the principal eigenvalue of b u' + a u''/2 + V u on
    [lo, hi] with reflecting ends (u' = 0), second-order central differences of the
    original operator (not the ground-state form), at n and 2n points, Richardson."""
    from scipy.sparse import diags
    from scipy.sparse.linalg import eigs

    def at(m):
        z = np.linspace(lo, hi, m)
        h = z[1] - z[0]
        bz, az, vz = b(z), a * np.ones(m), V(z)
        lo_c, hi_c = az / (2 * h * h) - bz / (2 * h), az / (2 * h * h) + bz / (2 * h)
        up, dn = hi_c[:-1].copy(), lo_c[1:].copy()
        up[0] += lo_c[0]            # the ghost point mirrored
        dn[-1] += hi_c[-1]
        M = diags([dn, -az / (h * h) + vz, up], [-1, 0, 1], format="csc")
        shift = float(np.max(vz)) + 1.0
        return float(eigs(M, k=1, sigma=shift, which="LM", return_eigenvectors=False)[0].real)

    e1, e2 = at(n), at(2 * n)
    return e2 + (e2 - e1) / 3


def test_nonlinear_coupled_fast_drift_matches_an_exact_eigenfunction():
    """Fast y = (y1, y2) with dy = -grad U(y)/eps dt + sqrt(2/eps) dW, U = |y|^4/4
    (coupled and nonlinear: no closed-form strategy applies), and slow drift
    f = k . grad U with k = (1, 2), slow noise eps. The tilted generator (Freidlin &
    Wentzell, *Random Perturbations of Dynamical Systems*, 2nd ed., Ch. 7 sec. 4;
    Bouchet, Grafke, Tangarife & Vanden-Eijnden, J. Stat. Phys. 162 (2016) 793, eq. 2.9)
    K_p u = -grad U . grad u + lap u + (p f + p^2/2) u has the positive eigenfunction
    u = exp(p k . y): K_p u / u = -p k . grad U + p^2 |k|^2 + p k . grad U + p^2/2, so
    H = (|k|^2 + 1/2) p^2 = 5.5 p^2 (derived here by hand; u e^{-U/2} is normalisable, so
    it is the ground state of the transformed operator and H the principal eigenvalue).
    Its Legendre transform is L(x, v) = v^2 / 22."""
    U = (y1**2 + y2**2) ** 2 / 4
    b = [-sp.diff(U, v) for v in (y1, y2)]
    f = sp.expand(sp.diff(U, y1) + 2 * sp.diff(U, y2))
    m = sa.SDE([x, y1, y2], [f, b[0] / eps, b[1] / eps], diffusion=D)
    H = sa.ldp.hamiltonian(m, fast=[y1, y2], momentum=p, n=32, tol=1e-4)
    assert H.expr is None and "ground-state transform" in H.strategy
    assert H.steps.passed, [c for c in H.steps.checks if not c.passed]
    names = {c.name for c in H.steps.checks}
    assert {"grid converged", "box large enough", "H convex in p"} <= names
    assert "A^{-1} b_p is a gradient" in H.steps.steps[1].checks[0].name
    for pv in (-2.0, -0.4, 0.3, 1.0):
        assert H.evaluate(0.5, pv) == pytest.approx(5.5 * pv**2, abs=3e-4 * (1 + pv**2))
    # the numeric Legendre transform on top: L(x, v) = v^2 / (4 * 5.5)
    v = sp.Symbol("v", real=True)
    L = sa.ldp.rate_function(H, velocity=v)
    assert L.evaluate(0.3, 0.5) == pytest.approx(0.25 / 22, rel=1e-3)


def test_coupled_ou_by_the_grid_matches_the_matrix_riccati_route():
    """Coupled reversible OU fast variables, dy = -B y/eps dt + sqrt(2/eps) dW with
    B = [[2, 1], [1, 2]] (symmetric: reversible), and f = y1^2 + y1 y2 - x. The matrix
    Riccati route (Bryc & Dembo, J. Theor. Probab. 10 (1997) 307, the quadratic
    functional of a Gaussian process) is exact up to rounding; method="grid" takes the
    box grid instead and must agree."""
    m = sa.SDE([x, y1, y2], [y1**2 + y1 * y2 - x, (-2 * y1 - y2) / eps, (-y1 - 2 * y2) / eps],
               diffusion=D)
    Hr = sa.ldp.hamiltonian(m, fast=[y1, y2], momentum=p)
    assert "Riccati" in Hr.strategy
    Hg = sa.ldp.hamiltonian(m, fast=[y1, y2], momentum=p, method="grid", n=32, tol=1e-4)
    assert "box grid" in Hg.strategy and Hg.steps.passed, Hg.steps
    for xv, pv in ((0.3, -0.8), (0.7, 0.4), (0.1, 0.9)):
        assert Hg.evaluate(xv, pv) == pytest.approx(Hr.evaluate(xv, pv), abs=2e-4)
    # past the blow-up of the quadratic functional both give H = +inf
    assert Hr.evaluate(0.1, 3.0) == np.inf
    assert Hg.evaluate(0.1, 3.0) == np.inf


def test_separable_nonlinear_fast_drift_is_the_sum_of_one_variable_hamiltonians():
    """A double well y1 (b = y1 - y1^3) and an OU y2 with f = y1^2 + sin(y2): K_p is a
    Kronecker sum, so H = H_1 + H_2, each computed independently in one variable
    (second-order differences of K_p itself with reflecting faces, ``_line_principal``;
    the slow noise eps adds p^2/2)."""
    m = sa.SDE([x, y1, y2], [y1**2 + sp.sin(y2), (y1 - y1**3) / eps, -y2 / eps],
               diffusion=D)
    H = sa.ldp.hamiltonian(m, fast=[y1, y2], momentum=p, n=32, tol=1e-4)
    assert H.steps.passed, [c for c in H.steps.checks if not c.passed]
    for pv in (-1.0, 0.6):
        ref = (_line_principal(lambda z: z - z**3, 2.0, lambda z, pv=pv: pv * z**2 + pv**2 / 2)
               + _line_principal(lambda z: -z, 2.0, lambda z, pv=pv: pv * np.sin(z), -9.0, 9.0))
        assert H.evaluate(0.0, pv) == pytest.approx(ref, abs=2e-4)


def test_one_fast_variable_on_the_line_needs_no_domain():
    """One fast double well without ``domain=``: the box route chooses the box itself
    and agrees with an independent computation on the reflecting interval (-4, 4)
    (``_line_principal``)."""
    m = sa.SDE([x, y1], [y1 + y1**2 / 2, (y1 - y1**3) / eps], diffusion=sp.diag(eps, 2 / eps))
    H = sa.ldp.hamiltonian(m, fast=[y1], momentum=p)
    assert "box grid" in H.strategy and H.steps.passed, H.steps
    for pv in (-1.5, 0.2, 1.0):
        ref = _line_principal(lambda z: z - z**3, 2.0,
                              lambda z, pv=pv: pv * (z + z**2 / 2) + pv**2 / 2)
        assert H.evaluate(0.0, pv) == pytest.approx(ref, abs=1e-4)


def _rotating(U, gamma):
    """dy = (-grad U + gamma J grad U)/eps dt + sqrt(2/eps) dW, J the rotation by pi/2, and
    f = k . (grad U - gamma J grad U), k = (1, 2): e^{-U} stays invariant (J grad U is
    divergence-free against it) and u = exp(p k . y) is an exact positive eigenfunction of
    K_p, H = (|k|^2 + 1/2) p^2 = 5.5 p^2 as for the reversible case (same derivation:
    K_p u / u = p b . k + p^2 |k|^2 - p b . k + p^2/2)."""
    g1, g2 = sp.diff(U, y1), sp.diff(U, y2)
    b = [-g1 - gamma * g2, -g2 + gamma * g1]
    f = sp.expand(-(b[0] + 2 * b[1]))
    return sa.SDE([x, y1, y2], [f, b[0] / eps, b[1] / eps], diffusion=D)


@pytest.mark.parametrize("U, gamma", [((y1**2 + y2**2) ** 2 / 4, 1),
                                      (y1**4 / 4 + y2**4 / 4 + y1**2 / 2, sp.Rational(3, 10))])
def test_non_reversible_fast_drift_matches_an_exact_eigenfunction(U, gamma):
    """A rotating (non-reversible) fast drift, see ``_rotating``: the ray-integral weight
    and the exponentially fitted (Scharfetter-Gummel) grid (Scharfetter & Gummel, IEEE
    Trans. Electron Devices 16 (1969) 64) give H = 5.5 p^2."""
    H = sa.ldp.hamiltonian(_rotating(U, gamma), fast=[y1, y2], momentum=p, n=32, tol=1e-2)
    assert "fitted grid" in H.strategy, H.strategy
    assert H.steps.passed, [c for c in H.steps.checks if not c.passed]
    for pv in (-2.0, 0.3, 1.0):
        assert H.evaluate(0.5, pv) == pytest.approx(5.5 * pv**2, rel=2e-3, abs=2e-4)


def test_fast_chain_with_two_continuous_variables_matches_the_hand_derivation():
    """A fast chain s = +-1 (rates lambda/eps) and two fast OU variables relaxing to
    mu_i s, dy_i = (mu_i s - y_i)/eps dt + sqrt(2/eps) dW_i, drive dx = (y1 + y2) dt. As in
    the one-variable case of tests/test_ldp.py, u_s = c_s exp(p (y1 + y2)) is an
    eigenfunction of the tilted block operator (the y terms cancel), so
    H = 2 p^2 + (Perron root of Q + p (mu1 + mu2) diag(s)) =
    2 p^2 + sqrt(lambda^2 + (mu1 + mu2)^2 p^2) - lambda, derived here by hand (the Perron
    root of the 2 x 2 matrix [[-lambda - c p, lambda], [lambda, -lambda + c p]]; the
    tilted generator as in Freidlin & Wentzell, *Random Perturbations of Dynamical
    Systems*, 2nd ed., Ch. 7 sec. 4)."""
    lam = sp.Symbol("lambda", positive=True)
    ch = sa.MarkovChain({("-", "+"): lam / eps, ("+", "-"): lam / eps})
    mu1, mu2 = sp.Rational(7, 10), sp.Rational(2, 5)
    m = sa.SwitchingSDE([x, y1, y2], ch,
                        drift={"-": [y1 + y2, (-mu1 - y1) / eps, (-mu2 - y2) / eps],
                               "+": [y1 + y2, (mu1 - y1) / eps, (mu2 - y2) / eps]},
                        noise=[[0, 0], [sp.sqrt(2 / eps), 0], [0, sp.sqrt(2 / eps)]])
    H = sa.ldp.hamiltonian(m, fast=[ch.symbol, y1, y2], momentum=p, params={lam: 1.0},
                           n=24, tol=2e-2)
    assert "fitted grid" in H.strategy and H.steps.passed, H.steps
    for pv in (-1.0, 0.4, 1.2):
        ref = 2 * pv**2 + np.sqrt(1 + 1.21 * pv**2) - 1
        assert H.evaluate(0.2, pv) == pytest.approx(ref, abs=5e-4)


def test_box_grid_names_what_it_does_not_cover():
    # a rotation whose ray-integral weight does not confine (the conjugated potential's
    # leading part is positive along the diagonal)
    loose = _rotating(y1**4 / 4 + y2**4 / 4 + y1**2 / 2 + y1 * y2 / 4, 1)
    with pytest.raises(UnsolvedError, match="does not confine"):
        sa.ldp.hamiltonian(loose, fast=[y1, y2], momentum=p, n=16)
    # a non-reversible drift with fast noise depending on the fast variables
    mult = sa.SDE([x, y1, y2], [y1**2 + y2**2, (-y1**3 + y2) / eps, (-y1 - y2**3) / eps],
                  diffusion=sp.diag(eps, 2 * (1 + y1**2) / eps, 2 / eps))
    with pytest.raises(UnsolvedError, match="constant and diagonal"):
        sa.ldp.hamiltonian(mult, fast=[y1, y2], momentum=p)
    # domain= is the reflecting interval of one fast variable
    cubic = sa.SDE([x, y1, y2], [y1**2, -y1**3 / eps, -y2 / eps], diffusion=D)
    with pytest.raises(SymavgError, match="one fast variable"):
        sa.ldp.hamiltonian(cubic, fast=[y1, y2], momentum=p, domain=(-3, 3))
