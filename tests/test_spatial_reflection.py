"""Homogenized oblique reflection: invariant density of -|D| + g d/dy and gbar."""

from __future__ import annotations

import numpy as np
import pytest
import sympy as sp

from symavg.errors import ModelError
from symavg.spatial import effective_reflection, simulate_oblique_reflection

y = sp.Symbol("y", real=True)


def test_constant_g_uniform_density():
    """Constant g: the Lebesgue measure is invariant (L* 1 = 0), so rho = 1/P, gbar = g."""
    r = effective_reflection(sp.Rational(3, 2), y, period=2 * np.pi)
    assert np.allclose(r.rho, 1 / (2 * np.pi), atol=1e-14)
    assert r.gbar == pytest.approx(1.5, abs=1e-14)
    assert r.gbar_closed_form == pytest.approx(1.5, abs=1e-13)
    # the closed form at constant g, symbolically: cos(arccot g) * sqrt(1 + g^2) = g
    g0 = sp.Symbol("g0", real=True)
    theta = sp.atan2(1, g0)
    assert sp.simplify(sp.cos(theta) * sp.sqrt(1 + g0**2) - g0) == 0


def test_galerkin_matches_conjugate_function_formula():
    """Fourier-Galerkin vs the Riemann-Hilbert closed form
    gbar = cos<theta> / <exp(H theta~)/sqrt(1+g^2)>, theta = arccot g (derived in
    symavg.spatial.reflection), for a non-symmetric g."""
    r = effective_reflection(sp.Rational(1, 2) + sp.sin(y) + sp.cos(3 * y) * 3 / 10, y)
    assert r.gbar == pytest.approx(r.gbar_closed_form, abs=1e-12)
    assert np.max(np.abs(r.rho - r.rho_closed_form)) < 1e-12
    assert r.steps.passed
    assert r.rho.min() > 0
    assert np.mean(r.rho) * 2 * np.pi == pytest.approx(1.0, abs=1e-13)


def test_small_amplitude_expansion():
    """g = g0 + d cos y: gbar = g0 - d^2 g0 / (2 (1 + g0^2)) + O(d^3) (second-order
    perturbation of (g + H) rho = gbar/P, Fourier mode by mode)."""
    for g0 in (1.0, 0.3):
        d = 0.02
        r = effective_reflection(g0 + d * sp.cos(y), y)
        assert r.gbar == pytest.approx(g0 - d**2 * g0 / (2 * (1 + g0**2)), abs=5 * d**3)


def test_uniform_average_is_wrong():
    """For g = 1 + 0.8 cos y the density is not uniform and gbar = 0.85437 != <g> = 1."""
    r = effective_reflection(1 + sp.Rational(4, 5) * sp.cos(y), y)
    assert r.uniform_average == pytest.approx(1.0, abs=1e-14)
    assert r.gbar == pytest.approx(0.8543725065, abs=1e-9)
    assert np.ptp(r.rho) > 0.05  # far from uniform
    # rho weighs the region where g is small: int g rho < <g>
    assert np.mean(r.rho[np.cos(r.y) < 0]) > np.mean(r.rho[np.cos(r.y) > 0])
    i = int(np.argmax(r.rho))
    assert r.density(r.y[i:i + 1])[0] == pytest.approx(r.rho[i], rel=1e-12)


def test_callable_and_params():
    a = sp.Symbol("a", positive=True)
    r1 = effective_reflection(a + sp.cos(y), y, params={a: 1.0})
    r2 = effective_reflection(lambda t: 1.0 + np.cos(t), period=2 * np.pi)
    assert r1.gbar == pytest.approx(r2.gbar, abs=1e-13)
    with pytest.raises(ModelError, match="params"):
        effective_reflection(a + sp.cos(y), y)


@pytest.mark.slow
def test_monte_carlo_quick_closer_to_gbar_than_uniform():
    g = 1 + sp.Rational(4, 5) * sp.cos(y)
    r = effective_reflection(g, y)
    mc = simulate_oblique_reflection(g, y, eps=0.025, T=1.0, dt=4e-4, paths=2000, seed=3)
    assert abs(mc.gbar - r.gbar) < abs(mc.gbar - r.uniform_average)


def test_simulator_bad_input():
    g = 1 + sp.cos(y) / 2
    with pytest.raises(ModelError, match="push"):
        simulate_oblique_reflection(g, y, push="midpoint", paths=2, T=1e-3, dt=1e-4)
    with pytest.raises(ModelError, match="dt < T"):
        simulate_oblique_reflection(g, y, T=1e-4, dt=1e-3, paths=2)
    with pytest.raises(ModelError, match="burn"):
        simulate_oblique_reflection(g, y, T=1e-3, dt=1e-4, paths=2, burn_in=1e6)


@pytest.mark.slow
def test_monte_carlo_reflected_diffusion_converges_in_eps():
    """Full reflected diffusion dX = dW + (g(X1/eps), 1) dl for g = 1 + 0.8 cos y, T = 1,
    at eps = 0.05, 0.025, 0.0125 with dt = 0.32 eps^2 (the scheme's error depends on
    dt/eps^2 only, by the scaling x -> x/eps, t -> t/eps^2). The remaining error is the
    O(eps) homogenization error (boundary terms of an ergodic average over
    l_T/eps ~ 1/eps units of trace time): measured -0.012, -0.008, -0.004 with 8000
    paths. Richardson extrapolation in eps lands on gbar = 0.854373 (Galerkin value,
    checked against the closed form above), and every estimate is far from <g> = 1."""
    g = 1 + sp.Rational(4, 5) * sp.cos(y)
    r = effective_reflection(g, y)
    runs = [simulate_oblique_reflection(g, y, eps=e, T=1.0, dt=0.32 * e**2, paths=4000,
                                        seed=11) for e in (0.05, 0.025, 0.0125)]
    errs = [m.gbar - r.gbar for m in runs]
    for m, err in zip(runs, errs):
        assert abs(err) < 0.4 * m.eps + 3 * m.stderr
        assert abs(m.gbar - r.uniform_average) > 30 * m.stderr
    assert abs(errs[-1]) < abs(errs[0])
    rich = 2 * runs[-1].gbar - runs[-2].gbar
    se = np.hypot(2 * runs[-1].stderr, runs[-2].stderr)
    assert abs(rich - r.gbar) < 3 * se
