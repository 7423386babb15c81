"""The numeric (spectral) route of reduce for fast variables on a torus, tested
against closed forms and against an independent finite-difference computation."""

import numpy as np
import pytest
import sympy as sp
from scipy.sparse import diags, kron
from scipy.sparse import eye as speye
from scipy.sparse.linalg import spsolve

import symavg as sa

eps = sa.epsilon
x1, x2, y1, y2 = sp.symbols("x1 x2 y1 y2", real=True)
U, kappa = sp.symbols("U kappa", positive=True)


def shear_model():
    return sa.SDE([x1, y2], [U * sp.cos(y2) / eps, 0],
                  noise=[sp.sqrt(2 * kappa), sp.sqrt(2 * kappa) / eps], periodic={y2: 2 * sp.pi})


def cellular_model():
    psi = sp.sin(y1) * sp.sin(y2)
    u = [sp.diff(psi, y2), -sp.diff(psi, y1)]
    s = sp.sqrt(2 * kappa)
    return sa.SDE([x1, x2, y1, y2], [u[0] / eps, u[1] / eps, u[0] / eps**2, u[1] / eps**2],
                  noise=[[s, 0], [0, s], [s / eps, 0], [0, s / eps]],
                  periodic={y1: 2 * sp.pi, y2: 2 * sp.pi})


def test_shear_flow_numeric_equals_taylor_closed_form():
    """Taylor dispersion: K = kappa + U^2/(2 kappa) for u = U cos(y2) (Taylor 1953;
    Pavliotis & Stuart 2008, Sec. 13.6.2)."""
    closed = sa.reduce(shear_model(), [y2])
    assert sp.simplify(closed.diffusion[0, 0] - 2 * (kappa + U**2 / (2 * kappa))) == 0
    num = sa.reduce(shear_model(), [y2], params={U: 1.5, kappa: 0.7}, method="numeric", n=32)
    assert float(num.diffusion[0, 0]) == pytest.approx(2 * (0.7 + 1.5**2 / 1.4), rel=1e-12)
    assert num.steps.passed
    names = [s.name for s in num.steps]
    assert "numeric cell problems" in names
    # the numeric solvers are strategies of the same registries as the closed forms
    assert {s.strategy for s in num.steps if s.name in ("invariant measure", "cell problem")} \
        == {"spectral (numeric)"}
    assert any(c.name == "grid convergence" for c in num.steps.checks)


def _cellular_fd(k: float, n: int) -> float:
    """Independent computation: second-order finite differences for the cell problem
    -(u.grad + k Lap) chi = u1 on the 2-pi torus, K11 = k + <u1 chi> (sparse direct)."""
    h = 2 * np.pi / n
    g = np.arange(n) * h
    Y1, Y2 = np.meshgrid(g, g, indexing="ij")
    u1 = (np.sin(Y1) * np.cos(Y2)).ravel()
    u2 = (-np.cos(Y1) * np.sin(Y2)).ravel()
    e = np.ones(n)
    D1 = diags([-e[:-1], e[:-1], [1.0], [-1.0]], [-1, 1, -(n - 1), n - 1]) / (2 * h)
    D2 = diags([e[:-1], -2 * e, e[:-1], [1.0], [1.0]], [-1, 0, 1, -(n - 1), n - 1]) / h**2
    I_n = speye(n)
    Dy1, Dy2 = kron(D1, I_n), kron(I_n, D1)
    Lap = kron(D2, I_n) + kron(I_n, D2)
    A = -(diags(u1) @ Dy1 + diags(u2) @ Dy2 + k * Lap)
    A = A.tolil()
    A[0, :] = 0
    A[0, 0] = 1  # pin the constant (chi(0) = 0); the rhs is centred
    b = u1.copy()
    b[0] = 0
    chi = spsolve(A.tocsr(), b)
    return k + float(np.mean(u1 * chi))


def test_cellular_flow_against_finite_differences():
    """Cellular flow psi = sin y1 sin y2 (Childress 1979; Fannjiang & Papanicolaou 1994):
    the spectral value agrees with an independent finite-difference solve extrapolated
    in the grid size (Richardson, second order)."""
    red = sa.reduce(cellular_model(), [y1, y2], params={kappa: 0.5}, n=32)
    K = np.array(red.diffusion, dtype=float) / 2
    assert red.steps.passed
    assert K[0, 1] == pytest.approx(0.0, abs=1e-12)
    assert K[0, 0] == pytest.approx(K[1, 1], rel=1e-12)
    assert K[0, 0] > 0.5  # enhanced above molecular diffusivity
    f64, f128 = _cellular_fd(0.5, 64), _cellular_fd(0.5, 128)
    richardson = f128 + (f128 - f64) / 3
    assert K[0, 0] == pytest.approx(richardson, rel=2e-4)


def test_divergence_free_measure_is_uniform_and_cell_problem_needs_numbers():
    with pytest.raises(sa.UnsolvedError, match="numeric"):
        sa.reduce(cellular_model(), [y1, y2])


def test_numeric_route_needs_all_parameters():
    with pytest.raises(sa.ModelError, match="kappa"):
        sa.reduce(cellular_model(), [y1, y2], params={U: 1.0}, method="numeric", n=16)


def test_numeric_route_refuses_slow_dependence():
    m = sa.SDE([x1, y2], [x1 * sp.cos(y2) / eps, 0], noise=[1, sp.sqrt(2) / eps],
               periodic={y2: 2 * sp.pi})
    with pytest.raises(sa.ModelError, match="slow variable"):
        sa.reduce(m, [y2], params={}, method="numeric", n=16)
