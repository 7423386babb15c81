"""Monte Carlo verification of each supported reduction: the full model at several eps
against the reduced model, with error bars (``sa.verify``).

Each test asserts that the weak error at the smallest eps is either within 4 standard
errors of zero or at most half of the error at the largest eps: the full model visibly
approaches the reduced one. Sized for CI (seconds each with numba); marked ``slow``.
The closed forms themselves are checked against the literature in
``tests/test_applications.py`` and ``tests/test_engine.py``.
"""

from __future__ import annotations

import dataclasses

import pytest
import sympy as sp

import symavg as sa

pytestmark = pytest.mark.slow

x, y, u = sp.symbols("x y u", real=True)
eps = sa.epsilon


def _rejected(rep: sa.VerifyReport, obs: sp.Expr) -> None:
    """A wrong reduced model must stand out of the noise at the smallest eps."""
    small = min((r for r in rep.rows if r.observable == obs), key=lambda r: r.eps)
    assert abs(small.error) > 4 * small.error_se, rep.table()


def _converges(rep: sa.VerifyReport, obs: sp.Expr) -> None:
    rows = sorted((r for r in rep.rows if r.observable == obs), key=lambda r: r.eps)
    small, large = rows[0], rows[-1]
    ok = abs(small.error) <= 4 * small.error_se or abs(small.error) <= 0.5 * abs(large.error)
    assert ok, rep.table()


def test_homogenization_quickstart_model() -> None:
    """dx = c(x) y/eps dt + dW, dy = -y/eps^2 dt + sqrt(2)/eps dW (one W), c = sin."""
    c = sp.Function("c")
    m = sa.SDE([x, y], [c(x) * y / eps, -y / eps**2], noise=[[1], [sp.sqrt(2) / eps]])
    red = sa.reduce(m, [y])
    rep = sa.verify(m, red, {x: 0.3}, 0.5, eps_values=[0.2, 0.1, 0.05],
                    observables=[x, x**2], functions={c: sp.Lambda(x, sp.sin(x))},
                    paths=20_000, seed=11, check_dt=False)
    _converges(rep, x)
    _converges(rep, x**2)


def test_averaging_removes_noise() -> None:
    """dx = (-x + x y) dt, fast OU y in the averaging regime: dX = -X dt (an ODE)."""
    m = sa.SDE([x, y], [-x + x * y, -y / eps], noise=[[0], [sp.sqrt(2 / eps)]])
    red = sa.reduce(m, [y])
    assert red.regime == "averaging" and red.diffusion[0, 0] == 0
    rep = sa.verify(m, red, {x: 1.0}, 1.0, eps_values=[0.1, 0.05, 0.025],
                    observables=[x, x**2], paths=20_000, seed=12)
    _converges(rep, x**2)
    d, se = rep.dt_bias[x**2]          # the exact OU step: no time-stepping bias to see
    assert abs(d) < 4 * se + 1e-3, rep.table()
    assert rep.order is not None and 0.5 < rep.order < 1.6, rep.table()


def test_fast_ou_creates_noise() -> None:
    """dx = y/eps dt, fast OU y: X = sqrt(2) B, E X_T^2 = 2 T (Green-Kubo)."""
    m = sa.SDE([x, y], [y / eps, -y / eps**2], noise=[[0], [sp.sqrt(2) / eps]])
    red = sa.reduce(m, [y])
    rep = sa.verify(m, red, {x: 0.0}, 0.5, eps_values=[0.3, 0.15, 0.075],
                    observables=[x**2], paths=20_000, seed=13, check_dt=False)
    _converges(rep, x**2)


def test_multiplicative_noise_stratonovich_drift() -> None:
    """dx = sigma(x) y/eps dt with fast OU: drift sigma sigma', diffusion 2 sigma^2."""
    s = sp.Function("s")
    m = sa.SDE([x, y], [s(x) * y / eps, -y / eps**2], noise=[[0], [sp.sqrt(2) / eps]])
    red = sa.reduce(m, [y])
    kw = dict(eps_values=[0.2, 0.1, 0.05], observables=[x, x**2],
              functions={s: sp.Lambda(x, 1 + sp.sin(x) / 2)}, paths=20_000, seed=14, check_dt=False)
    rep = sa.verify(m, red, {x: 0.2}, 0.5, **kw)
    _converges(rep, x)
    # the Ito reading (no drift sigma sigma') is rejected by the numbers
    naive = dataclasses.replace(red, drift=sp.ImmutableMatrix([0]))
    _rejected(sa.verify(m, naive, {x: 0.2}, 0.5, **kw), x)


def test_lifson_jackson_periodic_potential() -> None:
    """Brownian motion in V0 cos(x/eps): D_eff = D / I0(V0/D)^2 (Lifson & Jackson 1962)."""
    D, V0 = sp.symbols("D V0", positive=True)
    m = sa.SDE([x, y], [V0 * sp.sin(y) / eps, V0 * sp.sin(y) / eps**2],
               noise=[[sp.sqrt(2 * D)], [sp.sqrt(2 * D) / eps]], periodic={y: 2 * sp.pi})
    red = sa.reduce(m, [y])
    rep = sa.verify(m, red, {x: 0.0}, 0.5, eps_values=[0.2, 0.1, 0.05], observables=[x**2],
                    params={D: 1.0, V0: 1.0}, paths=20_000, seed=15, check_dt=False)
    _converges(rep, x**2)


def test_smoluchowski_kramers_position_dependent_friction() -> None:
    """Small mass m = eps^2 with friction gamma(x) = 1 + x^2/2, force -x, noise 1
    (Hottovy, McDaniel, Volpe & Wehr 2015): the noise-induced drift is needed."""
    gam = 1 + x**2 / 2
    m = sa.SDE([x, u], [u / eps, -x / eps - gam * u / eps**2], noise=[[0], [1 / eps]])
    red = sa.reduce(m, [u])
    kw = dict(eps_values=[0.2, 0.1, 0.05], observables=[x, x**2], paths=20_000, seed=16,
              check_dt=False)
    rep = sa.verify(m, red, {x: 0.5}, 0.5, **kw)
    _converges(rep, x)
    # without the noise-induced drift -gamma' sigma^2 / (2 gamma^3) the limit is wrong
    naive = dataclasses.replace(red, drift=sp.ImmutableMatrix([-x / gam]))
    _rejected(sa.verify(m, naive, {x: 0.5}, 0.5, **kw), x)


def test_noisy_rate_in_a_chemical_langevin_equation() -> None:
    """Birth-death CLE dx = (k - g x) dt + sqrt((k + g x)/V) dW with the degradation rate
    g (1 + eta/eps), eta a fast OU: an extra diffusion 2 g^2 x^2 and drift g^2 x."""
    k, g, V = sp.symbols("k g V", positive=True)
    eta = sp.Symbol("eta", real=True)
    m = sa.SDE([x, eta], [k - g * x - g * x * eta / eps, -eta / eps**2],
               noise=[sp.sqrt((k + g * x) / V), sp.sqrt(2) / eps])
    red = sa.reduce(m, [eta])
    rep = sa.verify(m, red, {x: 2.0}, 0.3, eps_values=[0.2, 0.1, 0.05],
                    observables=[x, x**2], params={k: 2.0, g: 0.5, V: 10.0},
                    paths=20_000, seed=17, check_dt=False)
    _converges(rep, x**2)
