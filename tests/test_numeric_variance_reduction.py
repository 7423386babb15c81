"""Issue 13, variance reduction in ``sa.verify``: antithetic pairs and control variates.

The estimators (``symavg.numeric.sequential.Accumulator``) must be unbiased (they agree
with a closed-form or plain Monte Carlo mean within their error bars) and report the
right standard error (the empirical spread over independent repetitions)."""

from __future__ import annotations

import math

import numpy as np
import pytest
import sympy as sp
from scipy import integrate

import symavg as sa
from symavg.errors import ModelError
from symavg.numeric.sequential import Accumulator, control_variates

x, y = sp.symbols("x y", real=True)
eps = sa.epsilon
lam, alpha, s = sp.symbols("lambda alpha s", positive=True)
OU = sa.SDE([x, y], [lam * y / eps, -alpha * y / eps**2], noise=[0, s / eps])
OU_PARAMS = {lam: 1.0, alpha: 1.0, s: math.sqrt(2.0)}
c = sp.Function("c")
QUICK = sa.SDE([x, y], [c(x) * y / eps, -y / eps**2], noise=[[1], [sp.sqrt(2) / eps]])
SIN = {c: sp.Lambda(x, sp.sin(x))}


@pytest.mark.parametrize("backend", ["numpy", "numba"])
def test_antithetic_pairs_and_noise_sums(backend: str) -> None:
    """dx = 0.7 dW by Euler-Maruyama: x_T = x0 + 0.7 S exactly, with S the recorded sum of
    the increments; antithetic pairs have opposite increments, hence x_T symmetric about
    x0; both backends draw the same stream."""
    m = sa.SDE([x], [0], noise=[[sp.Rational(7, 10)]])
    ens = sa.simulate(m, {x: 0.2}, 0.5, paths=400, dt=0.01, seed=4, backend=backend,
                      antithetic=True, record_noise=True, progress=False)
    S = ens.noise_sums[0]
    np.testing.assert_allclose(ens[x][-1], 0.2 + 0.7 * S, atol=1e-12)
    np.testing.assert_allclose(S[1::2], -S[0::2], atol=0)
    assert 0.4 < S[0::2].std() / math.sqrt(0.5) < 1.6
    ref = sa.simulate(m, {x: 0.2}, 0.5, paths=400, dt=0.01, seed=4, backend="numpy",
                      antithetic=True, record_noise=True, progress=False)
    np.testing.assert_allclose(ens.values, ref.values, atol=1e-12)


def test_antithetic_fast_start_is_reflected() -> None:
    """The Gaussian fast start of a pair is y and 2 m - y (m = 0 here), so the linear OU
    model's x_T is exactly odd within each pair."""
    ens = sa.simulate(OU, {x: 0.0}, 0.5, eps=0.3, params=OU_PARAMS, paths=200, seed=1,
                      antithetic=True, progress=False)
    np.testing.assert_allclose(ens[y][0, 1::2], -ens[y][0, 0::2])
    np.testing.assert_allclose(ens[x][-1, 1::2], -ens[x][-1, 0::2], atol=1e-12)


def test_control_variates_have_the_hermite_form() -> None:
    """u = S / sqrt(T): u, u^2 - 1 and u_k u_l (mean zero for independent N(0, 1))."""
    cv = control_variates(np.array([[2.0, 0.0], [1.0, -2.0]]), 4.0)
    np.testing.assert_allclose(cv, [[1.0, 0.0], [0.5, -1.0], [0.0, -1.0], [-0.75, 0.0],
                                    [0.5, 0.0]])
    assert control_variates(np.array([[2.0]]), 4.0, odd=False).tolist() == [[0.0]]


def test_bad_requests_are_refused() -> None:
    ens = sa.simulate(OU, {x: 0.0}, 0.5, eps=0.3, params=OU_PARAMS, paths=100, seed=1,
                      progress=False)
    with pytest.raises(ValueError, match="antithetic=True"):
        Accumulator([x], (x,), "antithetic").add(ens)
    with pytest.raises(ValueError, match="record_noise=True"):
        Accumulator([x], (x,), "control").add(ens)
    with pytest.raises(ModelError, match="must be even"):
        sa.simulate(OU, {x: 0.0}, 0.5, eps=0.3, params=OU_PARAMS, paths=101,
                    antithetic=True, progress=False)
    red = sa.reduce(OU, fast=[y])
    with pytest.raises(ModelError, match="variance_reduction must be 'auto' or one of"):
        sa.verify(OU, red, {x: 0.0}, 0.5, eps_values=[0.3], params=OU_PARAMS,
                  variance_reduction="importance", progress=False)


def _ou_second_moment(e: float, T: float = 0.5) -> float:
    """E x_T^2 for the OU model, x_T = (lam/eps) int_0^T y dt with y stationary,
    cov y(t) y(u) = s^2/(2 alpha) exp(-alpha |t-u| / eps^2): the double integral of the
    autocovariance, computed here by quadrature (an independent computation)."""
    la, al, s2 = 1.0, 1.0, 2.0
    f = lambda u, t: s2 / (2 * al) * math.exp(-al * abs(t - u) / e**2)  # noqa: E731
    val, _ = integrate.dblquad(f, 0, T, 0, lambda t: t, epsabs=1e-12)   # u < t, smooth
    return la**2 / e**2 * 2 * val


@pytest.mark.slow
@pytest.mark.parametrize("method", ["none", "antithetic", "control", "antithetic+control"])
def test_estimators_are_unbiased(method: str) -> None:
    """Every estimator's E x_T and E x_T^2 of the OU model at eps = 0.15 agree with the
    exact values (0 and the quadrature of the autocovariance) within 4 standard errors;
    the closed form (lam s / alpha)^2 [T - eps^2/alpha (1 - e^{-alpha T/eps^2})] is checked
    against the quadrature too. The control variates cut the error bar of x^2 by > 2x."""
    e, T = 0.15, 0.5
    exact = _ou_second_moment(e, T)
    assert exact == pytest.approx(2 * (T - e**2 * (1 - math.exp(-T / e**2))), rel=1e-8)
    rep = sa.verify(OU, sa.reduce(OU, fast=[y]), {x: 0.0}, T, eps_values=[e],
                    observables=[x, x**2], params=OU_PARAMS, paths=4000, seed=11,
                    check_dt=False, variance_reduction=method, progress=False)
    r1, r2 = rep.rows
    assert abs(r1.full) <= 4 * r1.full_se + 1e-12
    assert abs(r2.full - exact) < 4 * r2.full_se
    plain_se = math.sqrt(2 * exact**2 / 4000)     # x_T Gaussian: var x^2 = 2 (E x^2)^2
    if method.endswith("control"):
        assert r2.full_se < plain_se / 2
    assert rep.info["variance reduction"] == method


@pytest.mark.slow
@pytest.mark.parametrize("method", ["none", "antithetic", "control", "antithetic+control"])
def test_reported_standard_error_matches_the_spread(method: str) -> None:
    """Quick-start model (c = sin, nonlinear), eps = 0.2: over 24 independent runs of 1000
    paths the standard deviation of the estimates of E x_T and E x_T^2 matches the root
    mean square of the reported standard errors (ratio in [0.6, 1.5]; the sample sd of 24
    has a relative spread of about 15%); the pooled estimates agree with a plain run of
    40,000 paths within 4 standard errors."""
    est, ses = [], []
    for r in range(24):
        ens = sa.simulate(QUICK, {x: 0.3}, 0.5, eps=0.2, paths=1000, seed=100 + r,
                          functions=SIN, antithetic=method.startswith("antithetic"),
                          record_noise=method.endswith("control"), progress=False)
        a = Accumulator([x, x**2], (x,), method)
        a.add(ens)
        est.append([a.mean(0), a.mean(1)])
        ses.append([a.se(0), a.se(1)])
    est_a, ses_a = np.array(est), np.array(ses)
    ratio = est_a.std(axis=0, ddof=1) / np.sqrt((ses_a**2).mean(axis=0))
    assert np.all((ratio > 0.6) & (ratio < 1.5)), ratio
    big = sa.simulate(QUICK, {x: 0.3}, 0.5, eps=0.2, paths=40_000, seed=7, functions=SIN,
                      progress=False)
    for j, o in enumerate([x, x**2]):
        m, se = big.mean(o)
        pooled, pooled_se = est_a[:, j].mean(), math.sqrt((ses_a[:, j]**2).mean() / 24)
        assert abs(pooled - m[-1]) < 4 * math.hypot(se[-1], pooled_se)


@pytest.mark.slow
def test_sequential_batches_pool_the_estimator() -> None:
    """With ``target`` the batches (odd sizes rounded up to whole antithetic pairs) are
    pooled into one estimator: E x_T^2 of the OU model at eps = 0.3 and 0.15 stays within
    4 standard errors of the exact value and the reported factor is above 1."""
    rep = sa.verify(OU, sa.reduce(OU, fast=[y]), {x: 0.0}, 0.5, eps_values=[0.3, 0.15],
                    observables=[x**2], params=OU_PARAMS, paths=501, seed=5, target=6,
                    max_paths=20_000, check_dt=False, variance_reduction="antithetic+control",
                    progress=False)
    assert rep.info["rounds"] >= 1
    for r in rep.rows:
        assert r.paths % 2 == 0 and r.paths > 502
        assert abs(r.full - _ou_second_moment(r.eps)) < 4 * r.full_se
        assert rep.info["variance reduction factor"][(r.eps, x**2)] > 1
