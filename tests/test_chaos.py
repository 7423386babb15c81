"""Deterministic chaos: declarations, time averages, Green-Kubo, the reduced SDE (issue 10).

Exact references:

* Doubling map ``T y = 2 y mod 1`` (a Bernoulli shift, invariant law Lebesgue on
  [0, 1); Lasota & Mackey, *Chaos, Fractals and Noise*, 1994, Example 4.1.1 and
  Sec. 4.3): for a polynomial ``f`` the correlation
  ``C(n) = int_0^1 f(y) f(2^n y mod 1) dy`` is computed exactly below by
  splitting [0, 1) into the 2^n intervals on which ``T^n`` is affine, and the
  Green-Kubo sum ``sigma^2 = C(0) + 2 sum_{n>=1} C(n)`` by summing the
  geometric series symbolically.
* OU process ``dy = -theta y dt + sqrt(2 theta) dW``: ``C(t) = exp(-theta t)``,
  ``int_0^infty C = 1/theta``, ``sigma^2 = 2/theta`` (Pavliotis & Stuart 2008,
  Example 11.5 / Sec. 11.7.5), and the closed form ``reduce`` derives for
  ``dx = y/eps dt`` is the same number.
* Lorenz-63 (10, 28, 8/3): <y3> = 23.55 (e.g. Sparrow, *The Lorenz
  equations*, 1982; a widely reproduced time average). No literature value of
  the Green-Kubo number of y2 could be checked here, so the two independent
  estimators are tested against each other.
"""

from __future__ import annotations

import numpy as np
import pytest
import sympy as sp

import symavg as sa
from symavg.numeric.chaos import mser5, trajectories
from symavg.numeric.green_kubo import autocovariance, green_kubo_series

y = sp.Symbol("y", real=True)
y1, y2, y3, x = sp.symbols("y1 y2 y3 x", real=True)
DOUBLING = sa.DeterministicMap([y], [sp.Mod(2 * y, 1)])
LORENZ = sa.DeterministicFlow([y1, y2, y3], [10 * (y2 - y1), y1 * (28 - y3) - y2,
                                             y1 * y2 - sp.Rational(8, 3) * y3])


def exact_doubling_gk(f: sp.Expr) -> sp.Expr:
    """sigma^2 of f along the doubling map, from the exact correlations."""
    N, j, u, n = sp.symbols("N j u n", positive=True, integer=True)
    mean = sp.integrate(f, (y, 0, 1))
    g = f - mean
    # on [j/N, (j+1)/N), T^n y = N y - j; substitute y = (j + u)/N
    inner = sp.summation(sp.expand(g.subs(y, (j + u) / N)), (j, 0, N - 1))
    C = sp.simplify(sp.integrate(sp.expand(inner * g.subs(y, u)), (u, 0, 1)) / N)
    C0 = sp.integrate(g ** 2, (y, 0, 1))
    assert sp.simplify(C.subs(N, 1) - C0) == 0      # the formula at n = 0 is the variance
    tail = sp.summation(sp.expand(C.subs(N, 2 ** n)), (n, 1, sp.oo))
    return sp.nsimplify(sp.simplify(C0 + 2 * tail))


def test_exact_doubling_values() -> None:
    assert exact_doubling_gk(y - sp.Rational(1, 2)) == sp.Rational(1, 4)
    assert exact_doubling_gk(y ** 2 - sp.Rational(1, 3)) == sp.Rational(7, 27)


def test_declarations_validated() -> None:
    assert DOUBLING.shifts == ((y, 2),) and DOUBLING.is_shift
    assert sa.DeterministicMap([y], [sp.Mod(3 * y, 1)]).shifts == ((y, 3),)
    with pytest.raises(sa.ModelError, match="entries"):
        sa.DeterministicFlow([y1, y2], [y1])
    with pytest.raises(sa.ModelError, match="floating-point"):
        sa.DeterministicFlow([y1], [0.5 * y1])
    with pytest.raises(sa.ModelError, match="string"):
        sa.DeterministicFlow([y1], ["y1"])
    with pytest.raises(sa.ModelError, match="positive"):
        sa.DeterministicFlow([y1], [y1], eps=sp.Symbol("e"))
    with pytest.raises(sa.ModelError, match="Mod"):
        sa.DeterministicMap([y], [sp.Mod(2 * y, 3)])


def test_float_doubling_collapses_but_shift_does_not() -> None:
    """Why the digit shift: 2y mod 1 in doubles is 0 after <= 53 steps."""
    z = np.random.default_rng(0).random(100)
    for _ in range(60):
        z = (2 * z) % 1.0
    assert np.all(z == 0)
    tr = trajectories(DOUBLING, [y], n_samples=2000, burn_in=100, paths=2, seed=0)
    v = tr.values[:, :, 0]
    assert v.std() > 0.25 and abs(v.mean() - 0.5) < 0.03


@pytest.mark.parametrize("f, exact", [(y - sp.Rational(1, 2), 1 / 4),
                                      (sp.cos(2 * sp.pi * y), 1 / 2),
                                      (y ** 2 - sp.Rational(1, 3), 7 / 27)])
def test_doubling_map_green_kubo_exact(f: sp.Expr, exact: float) -> None:
    est = sa.green_kubo(DOUBLING, f, n_samples=200_000, paths=8, seed=5)
    assert est.agree
    assert abs(est.value - exact) < 4 * est.stderr
    assert abs(est.batch_value - exact) < 4 * est.batch_stderr
    assert est.stderr < 0.01 and "Sokal" in est.window


def test_centering_error_offers_subtraction() -> None:
    with pytest.raises(sa.CenteringError, match="subtract_mean=True"):
        sa.green_kubo(DOUBLING, y, n_samples=50_000, paths=4)
    est = sa.green_kubo(DOUBLING, y, n_samples=100_000, paths=8, subtract_mean=True, seed=1)
    assert abs(est.value - 0.25) < 4 * est.stderr


def test_green_kubo_series_ar1_and_fft() -> None:
    from scipy.signal import lfilter

    rng = np.random.default_rng(3)
    a = 0.9
    xs = lfilter([np.sqrt(1 - a * a)], [1, -a], rng.standard_normal((8, 300_000)), axis=1)
    est = green_kubo_series(xs[:, 2000:])
    exact = (1 + a) / (1 - a)       # AR(1), unit variance: sum_n a^|n|
    assert abs(est.value - exact) < 4 * est.stderr and est.agree
    # FFT autocovariance against the direct O(N K) sum
    z = rng.standard_normal((1, 5000))
    direct = [float((z[0, : 5000 - k] * z[0, k:]).sum() / 5000) for k in range(5)]
    np.testing.assert_allclose(autocovariance(z, 4)[0], direct, rtol=1e-10, atol=1e-12)


def test_mser5_finds_transient() -> None:
    s = np.r_[np.linspace(20, 0, 500), np.random.default_rng(1).standard_normal(20_000)]
    assert 350 <= mser5(s) <= 700


def test_lorenz_time_average_and_ergodicity_error() -> None:
    av = sa.time_averages(LORENZ, [y3, y2], n_samples=60_000, dt=0.005, every=2, paths=4)
    assert abs(av[y3][0] - 23.55) < max(4 * av[y3][1], 0.3)
    assert abs(av[y2][0]) < 4 * av[y2][1] + 0.5
    assert av.burn_in >= 0 and (av.pvalue > 1e-4).all()
    # two attractors: ydot = y - y^3 has stable points +-1
    bistable = sa.DeterministicFlow([y1], [y1 - y1 ** 3])
    with pytest.raises(sa.ErgodicityError, match="initial conditions|constant"):
        sa.time_averages(bistable, [y1], n_samples=5000, dt=0.01, paths=4,
                         y0=np.array([[-2.0], [-0.5], [0.5], [2.0]]))


def test_lorenz_green_kubo_two_estimators_agree() -> None:
    est = sa.green_kubo(LORENZ, y2, n_samples=400_000, dt=0.005, every=2, paths=8, seed=2)
    assert est.agree, est
    assert 45 < est.value < 80 and est.stderr < 0.1 * est.value


@pytest.mark.slow
def test_ou_green_kubo_matches_reduce() -> None:
    th = sp.Symbol("theta", positive=True)
    eps = sa.epsilon
    full = sa.SDE([x, y], [y / eps, -th * y / eps ** 2], noise=[0, sp.sqrt(2 * th) / eps])
    red = sa.reduce(full, fast=[y])
    closed = float(red.diffusion[0, 0].subs(th, 2))
    assert closed == pytest.approx(1.0)              # 2 / theta
    ou = sa.SDE([y], [-th * y], noise=[sp.sqrt(2 * th)])
    est = sa.green_kubo(ou, y, params={th: 2.0}, dt=0.01, n_samples=200_000, paths=8, seed=4)
    assert abs(est.value - closed) < 4 * est.stderr + 0.02   # + O(dt) sampling bias
    assert est.agree


def test_reduce_lorenz_driven_slow_variable() -> None:
    eps = sa.epsilon
    m = sa.DeterministicFlow([x, y1, y2, y3], [x - x ** 3 + y2 / eps,
                                               10 * (y2 - y1) / eps ** 2,
                                               (y1 * (28 - y3) - y2) / eps ** 2,
                                               (y1 * y2 - sp.Rational(8, 3) * y3) / eps ** 2])
    red = sa.reduce(m, fast=[y1, y2, y3])
    assert red.regime == "homogenization" and red.state == (x,)
    assert sp.simplify(red.drift[0] - (x - x ** 3)) == 0
    gk = red.records["green_kubo"][y2]
    assert float(red.diffusion[0, 0]) == pytest.approx(gk.value, rel=1e-5)
    assert all(c.passed for s in red.steps.steps for c in s.checks)
    with pytest.raises(sa.ScaleSeparationError, match="eps"):
        sa.reduce(sa.DeterministicFlow([x, y1, y2, y3], [y2 / eps ** 2, *m.rhs[1:]]),
                  fast=[y1, y2, y3])


def test_reduce_multiplicative_drift_correction() -> None:
    """dx = x y2/eps: drift a a' Lambda = x sigma^2/2, diffusion x^2 sigma^2 (Stratonovich)."""
    eps = sa.epsilon
    m = sa.DeterministicFlow([x, y1, y2, y3], [x * y2 / eps, *[e / eps ** 2 for e in LORENZ.rhs]])
    red = sa.reduce(m, fast=[y1, y2, y3])
    s2 = float(red.diffusion[0, 0].subs(x, 1))
    assert float(red.drift[0].subs(x, 1)) == pytest.approx(s2 / 2, rel=1e-6)


@pytest.mark.slow
def test_verify_lorenz_driven() -> None:
    r"""The fitted order of the Lorenz-driven slow variable, with its 95% interval.

    ``dx = (x - x^3 + y2/(4 eps)) dt``, Lorenz-63 ``y`` on the ``eps^-2`` scale.
    Rigorous homogenization theorems for chaotic fast flows (Melbourne & Stuart
    2011, Nonlinearity 24:1361; Kelly & Melbourne 2016, Ann. Probab.
    44:479) give weak convergence to ``dX = (X - X^3) dt + sqrt(Sigma/16) dW``
    without a rate, so the test asks for what is provable here: the errors
    shrink with eps and the fitted order is positive with its whole interval.
    The expected order is computed independently: with additive noise the noise
    term is ``eps int_0^{t/eps^2} y2``, whose variance is
    ``t Sigma - 2 eps^2 int_0^oo u C(u) du + o(eps^2)`` (Taylor-Kubo), so the
    leading covariance error is O(eps^2) (order 2), and the odd cumulants vanish
    by the Lorenz symmetry ``(y1, y2) -> (-y1, -y2)`` (no O(eps) skewness term).
    At the eps sized for CI (0.8 .. 0.45) the fit is pre-asymptotic (about 1.5).
    """
    eps = sa.epsilon
    m = sa.DeterministicFlow([x, y1, y2, y3], [x - x ** 3 + y2 / (4 * eps),
                                               *[e / eps ** 2 for e in LORENZ.rhs]])
    red = sa.reduce(m, fast=[y1, y2, y3])
    rep = sa.verify(m, red, {x: 0.0}, 0.3, eps_values=[0.8, 0.6, 0.45], observables=[x ** 2],
                    paths=2000, seed=1, check_dt=False, progress=False)
    errs = [abs(r.error) for r in sorted(rep.rows, key=lambda r: -r.eps)]
    assert all(r.resolved for r in rep.rows)
    assert errs[0] > errs[1] > errs[2]
    lo, hi = rep.order_interval
    assert 0 < lo < rep.order < hi < 3
    # the Green-Kubo error of the diffusion is in the reduced side's error bar
    assert all(r.reduced_se > 1e-4 for r in rep.rows)
    assert any("Green-Kubo estimate" in n for n in rep.notes)
    assert "95% interval" in rep.fits[x ** 2].message


# ------------------------------------------------------------------ slow-fast maps
z = sp.Symbol("z", real=True)
HALF = sp.Rational(1, 2)


def doubling_ou_variance(e: float, T: float = 1.0) -> float:
    """Exact Var x_N, N = T/e^2, of x_{n+1} = (1 - e^2) x_n + e (y_n - 1/2), x_0 = 0.

    x_N = e sum_i r^(N-1-i) v_i with r = 1 - e^2 and the exact doubling-map
    correlations C(k) = 2^-|k| / 12 of v = y - 1/2 (Lasota & Mackey 1994, Example 4.1.1):
    an independent finite-eps computation, no simulation.
    """
    N = int(round(T / e ** 2))
    i = np.arange(N)
    w = (1 - e ** 2) ** (N - 1 - i)
    return float(e ** 2 * w @ (2.0 ** -np.abs(i[:, None] - i[None, :]) / 12) @ w)


def test_reduce_doubling_map_coefficients() -> None:
    r"""x_{n+1} = x_n - eps^2 x_n + eps (y_n - 1/2), y doubling.

    Gottwald & Melbourne 2013 (Proc. R. Soc. A 469:20130201): on s = eps^2 n,
    dX = -X ds + sigma dW with sigma^2 = C(0) + 2 sum_{n>=1} C(n) = 1/12 + 2/12 = 1/4
    (the exact sum above, test_exact_doubling_values); Lambda = 1/12.
    """
    eps = sa.epsilon
    m = sa.DeterministicMap([z, y], [z - eps ** 2 * z + eps * (y - HALF), sp.Mod(2 * y, 1)])
    red = sa.reduce(m, fast=[y])
    assert red.timescale == eps ** 2 * sp.Symbol("t", nonnegative=True)
    assert red.state == (z,) and sp.simplify(red.drift[0] + z) == 0
    gk = red.records["green_kubo"][y - HALF]
    assert abs(float(red.diffusion[0, 0]) - 0.25) < 4 * gk.stderr
    lam, lam_se = red.records["Lambda"]
    assert abs(lam - 1 / 12) < 4 * lam_se and abs(red.records["C0"] - 1 / 12) < 2e-3
    assert red.steps.passed
    with pytest.raises(sa.CenteringError, match="mean"):
        sa.reduce(sa.DeterministicMap([z, y], [z + eps * y, sp.Mod(2 * y, 1)]), fast=[y])
    with pytest.raises(sa.ScaleSeparationError, match="eps"):
        sa.reduce(sa.DeterministicMap([z, y], [z + y - HALF, sp.Mod(2 * y, 1)]), fast=[y])


@pytest.mark.slow
def test_verify_doubling_map_order_two() -> None:
    """verify of the slow-fast map: the full means match the exact finite-eps variance,
    and the fitted order's interval holds the order of the exact errors over the same eps
    (1.87) and 2, their order as eps -> 0 (doubling_ou_variance: the error ratio between
    eps = 0.1 and 0.05 is 3.98 at T = 1)."""
    from symavg.derive.chaotic_map import reduce_chaotic_map

    eps = sa.epsilon
    m = sa.DeterministicMap([z, y], [z - eps ** 2 * z + eps * (y - HALF), sp.Mod(2 * y, 1)])
    red = reduce_chaotic_map(m, [y], n_samples=200_000)
    # T / eps^2 = 9, 16, 36 steps: the map reaches T exactly
    rep = sa.verify(m, red, {z: 0.0}, 1.44, eps_values=[0.4, 0.3, 0.2], observables=[z ** 2],
                    paths=40_000, seed=1, progress=False)
    for r in rep.rows:
        assert r.resolved
        assert abs(r.full - doubling_ou_variance(r.eps, 1.44)) < 4 * r.full_se
    assert not any("steps, i.e. to the reduced time" in n for n in rep.notes)
    rounded = sa.verify(m, red, {z: 0.0}, 1.0, eps_values=[0.4], observables=[z ** 2],
                        paths=200, seed=1, progress=False)
    assert any("runs 6 steps" in n for n in rounded.notes)
    # the order of the exact errors over the same eps (pre-asymptotic: 1.87; 2 as eps -> 0)
    es = np.array([0.4, 0.3, 0.2])
    exact = [doubling_ou_variance(e, 1.44) - 0.25 * (1 - np.exp(-2 * 1.44)) / 2 for e in es]
    slope = np.polyfit(np.log(es), np.log(np.abs(exact)), 1)[0]
    lo, hi = rep.order_interval
    assert 1.8 < slope < 1.95 and lo < slope < hi and lo < 2 < hi and hi - lo < 1.5
    assert any("no dt-check" in n for n in rep.notes)


@pytest.mark.slow
def test_map_multiplicative_drift_is_one_sided() -> None:
    r"""x_{n+1} = x_n + eps x_n (y_n - 1/2): Ito drift x Lambda, Lambda = sum_{n>=1} C(n) = 1/12.

    Gottwald & Melbourne 2013 (Proc. R. Soc. A 469:20130201): for maps the limit is
    neither Ito with the full sigma^2/2 nor Stratonovich; E X_1 = exp(1/12) = 1.0869,
    not the Stratonovich exp(sigma^2/2) = exp(1/8) = 1.1331. Checked on the map itself.
    """
    from symavg.derive.chaotic_map import reduce_chaotic_map

    eps = sa.epsilon
    m = sa.DeterministicMap([z, y], [z + eps * z * (y - HALF), sp.Mod(2 * y, 1)])
    red = reduce_chaotic_map(m, [y], n_samples=200_000)
    lam, lam_se = red.records["Lambda"]
    assert float(red.drift[0].subs(z, 1)) == pytest.approx(lam, rel=1e-5)
    assert abs(lam - 1 / 12) < 4 * lam_se
    ens = sa.simulate(m, {z: 1.0}, 400, eps=0.05, paths=20_000, seed=3)   # s = eps^2 n = 1
    final = ens.values[-1, 0]
    mean, se = final.mean(), final.std(ddof=1) / np.sqrt(final.size)
    assert abs(mean - np.exp(1 / 12)) < 4 * se + 0.01
    assert mean < np.exp(1 / 8) - 0.025
