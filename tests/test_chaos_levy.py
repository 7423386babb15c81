"""The Levy-area drift: several fast observables with x-dependent coefficients (issue 10).

References:

* OU with rotation ``dy = -B y dt + sqrt(2) dW``, ``B = gamma I + omega J``
  (``J = [[0, 1], [-1, 0]]``): stationary covariance ``S = I / gamma`` (``B S + S B^T = 2 I``),
  ``C(t) = E y_0 y_t^T = S exp(-B^T t)``, so ``Lambda = int_0^oo C = S B^-T`` with
  antisymmetric part ``omega / (gamma (gamma^2 + omega^2))`` (Pavliotis & Stuart 2008,
  Sec. 3.7 (the OU process) and Sec. 11.7.5; Gardiner, *Stochastic Methods*, Sec. 4.5.6).
  ``sa.reduce`` of the SDE derives the same numbers symbolically; the test compares the
  numeric estimator with it, and the drift contraction with the symbolic engine.
* Doubling map ``y -> 2y mod 1`` (Lasota & Mackey 1994, Example 4.1.1: Lebesgue measure
  is invariant), ``h1 = y - 1/2``, ``h2 = sin(2 pi y)``: ``C_12(n) = int (y - 1/2)
  sin(2 pi 2^n y) dy = -2^-n / (2 pi)`` and ``C_21(n) = 0`` for ``n >= 1`` (computed
  exactly below), so ``Lambda_12 = -1/(2 pi)``, ``Lambda_21 = 0``.
* Lorenz-63: ``y2 = y1 + (dy1/dt)/10`` gives ``C_12 - C_21 = C_11'/5`` for ``(y1, y2)``, so
  the Levy-area rate is ``A_12 = -<y1^2>/10`` and ``<y1^2> = <y1 y2> = (8/3)<y3>``
  (stationarity of ``y1^2`` and ``y3``): an exact identity on a chaotic flow.
"""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest
import sympy as sp
from scipy.linalg import expm

import symavg as sa
from symavg.derive.chaotic import reduce_chaotic
from symavg.derive.levy_area import ito_drift
from symavg.numeric.green_kubo_matrix import cross_covariance, green_kubo_matrix_series

x1, x2, y1, y2, y3, y = sp.symbols("x1 x2 y1 y2 y3 y", real=True)
eps = sa.epsilon
LORENZ = [10 * (y2 - y1), y1 * (28 - y3) - y2, y1 * y2 - sp.Rational(8, 3) * y3]


def ou_rotation_series(gamma: float, omega: float, h: float, n: int, paths: int,
                       seed: int) -> np.ndarray:
    """Exact samples (no time-step bias) of the rotating OU process at spacing h."""
    B = np.array([[gamma, omega], [-omega, gamma]])
    E = expm(-B * h)
    S = np.eye(2) / gamma
    Lq = np.linalg.cholesky(S - E @ S @ E.T)
    rng = np.random.default_rng(seed)
    z = rng.standard_normal((paths, 2)) * np.sqrt(1 / gamma)
    noise = rng.standard_normal((n, paths, 2)) @ Lq.T
    out = np.empty((paths, n, 2))
    for k in range(n):
        out[:, k] = z
        z = z @ E.T + noise[k]
    return out


def test_cross_covariance_matches_direct_sums() -> None:
    x = np.random.default_rng(3).standard_normal((2, 500, 3))
    c = cross_covariance(x, 5)
    for k, l, n in [(0, 1, 0), (1, 0, 3), (2, 2, 5), (0, 2, 1)]:
        direct = (x[:, : 500 - n, k] * x[:, n:, l]).sum(axis=1) / 500
        assert np.allclose(c[:, k, l, n], direct)


def test_matrix_estimator_few_paths_and_bad_input() -> None:
    """h2(t) = h1(t - 1) for white noise: Lambda_12 = C_12(1) = 1 (map convention), exactly
    by construction; with 2 trajectories the error comes from 8 segments and matches the
    spread of independent repetitions."""
    vals = []
    for seed in range(6):
        w = np.random.default_rng(seed).standard_normal((2, 40_001))
        G = green_kubo_matrix_series(np.stack([w[:, 1:], w[:, :-1]], axis=-1), 1.0, lag0=0.0)
        vals.append(G.one_sided[0, 1])
        assert "segments" in G.info["stderr_method"]
    assert abs(np.mean(vals) - 1) < 4 * np.std(vals, ddof=1) / np.sqrt(6)
    assert 0.5 < G.stderr[0, 1] / np.std(vals, ddof=1) < 2
    with pytest.raises(sa.ModelError, match="paths, N, K"):
        green_kubo_matrix_series(np.zeros((2, 100)), 1.0)
    with pytest.raises(sa.ModelError, match="lag0"):
        green_kubo_matrix_series(np.zeros((2, 100, 2)), 1.0, lag0=0.3)
    with pytest.raises(sa.CenteringError, match="mean"):
        green_kubo_matrix_series(1 + np.random.default_rng(0).standard_normal((8, 2000, 2)))


def test_ou_rotation_one_sided_matrix_against_reduce() -> None:
    r"""Numeric Lambda of the rotating OU process vs the closed form of ``sa.reduce``.

    ``dx1 = h1/eps``, ``dx2 = x1 h2/eps``: the reduced drift of ``x2`` is ``Lambda_12``
    and the diffusion ``diag(Sigma_11, x1^2 Sigma_22)``, Sigma = Lambda + Lambda^T.
    """
    g, w = sp.symbols("gamma omega", positive=True)
    full = sa.SDE([x1, x2, y1, y2],
                  [y1 / eps, x1 * y2 / eps, (-g * y1 - w * y2) / eps ** 2,
                   (w * y1 - g * y2) / eps ** 2],
                  noise=[[0, 0], [0, 0], [sp.sqrt(2) / eps, 0], [0, sp.sqrt(2) / eps]])
    red = sa.reduce(full, fast=[y1, y2])
    vals = {g: 1, w: 2}
    lam12 = float(red.drift[1].subs(vals))
    assert lam12 == pytest.approx(0.4)                       # omega / (gamma (g^2 + w^2))
    sig = float(red.diffusion[0, 0].subs(vals))
    assert sig == pytest.approx(0.4)
    G = green_kubo_matrix_series(ou_rotation_series(1.0, 2.0, 0.05, 100_000, 8, 1), 0.05)
    exact = np.array([[0.2, 0.4], [-0.4, 0.2]])               # S B^-T
    assert np.all(np.abs(G.one_sided - exact) < 4 * G.stderr + 1e-3), (G.one_sided, G.stderr)
    assert abs(G.antisymmetric[0, 1] - lam12) < 4 * G.antisymmetric_stderr[0, 1] + 1e-3
    assert abs(G.sigma[0, 0] - sig) < 4 * G.sigma_stderr[0, 0] + 1e-3
    assert abs(G.sigma[0, 1]) < 4 * G.sigma_stderr[0, 1] + 1e-3
    assert G.agree and np.all(G.stderr < 0.02)
    # the drift contraction: x-dependent coefficients in every orientation, against the
    # symbolic engine (a = [[x2, 1], [0, x1]] gives [x1 Lambda_21, x2 Lambda_12 + Lambda_22])
    full2 = sa.SDE([x1, x2, y1, y2],
                   [(x2 * y1 + y2) / eps, x1 * y2 / eps, *full.drift[2:]],
                   noise=full.noise.tolist())
    red2 = sa.reduce(full2, fast=[y1, y2])
    L = sp.Matrix(2, 2, lambda k, l: sp.Float(G.one_sided[k, l]))
    num = ito_drift(sp.Matrix([[x2, 1], [0, x1]]), [x1, x2], L)
    for pt in [{x1: 1.3, x2: -0.7}, {x1: -0.4, x2: 2.1}]:
        for k in range(2):
            closed = float(red2.drift[k].subs(vals).subs(pt))
            assert abs(float(num[k].subs(pt)) - closed) < 0.03 * (1 + abs(closed))
    # dropping the antisymmetric part would give x2's drift 0, not 0.4
    assert sp.simplify(red2.drift[0].subs(vals) - x1 * sp.Rational(-2, 5)) == 0


def test_reduce_chaotic_records_levy_area_and_errors() -> None:
    """Lorenz-driven ``dx1 = y1/(8 eps)``, ``dx2 = x1 y2/(8 eps)``: x2's drift is
    Lambda_12/64 = (Sigma_12/2 + A_12)/64, and A_12 = -<y1^2>/10 = -(8/30)<y3> (module
    docstring), with <y3> the Lorenz time average (23.55; the test uses its own estimate)."""
    m = sa.DeterministicFlow([x1, x2, y1, y2, y3], [y1 / (8 * eps), x1 * y2 / (8 * eps),
                                                     *[e / eps ** 2 for e in LORENZ]])
    red = reduce_chaotic(m, [y1, y2, y3], n_samples=100_000)
    G = red.records["green_kubo_matrix"]
    A12, se = G.antisymmetric[0, 1], G.antisymmetric_stderr[0, 1]
    av = sa.time_averages(sa.DeterministicFlow([y1, y2, y3], LORENZ), [y1 ** 2, y3],
                          n_samples=50_000, dt=0.005, every=2, paths=4, seed=5)
    m_y1sq, se1 = av[y1 ** 2]
    # on the window M the FFT sum is (C_11(Mh) - C_11(0))/10: the tail beyond it is the
    # estimator's truncation, C_11(Mh)/10, added to the tolerance
    trunc = abs(G.cross[0, 0, G.cutoff_lag]) / 10
    assert abs(A12 + m_y1sq / 10) < 4 * np.hypot(se, se1 / 10) + trunc, (A12, m_y1sq, trunc)
    assert abs(av[y3][0] * 8 / 3 - m_y1sq) < 4 * np.hypot(av[y3][1] * 8 / 3, se1)
    parts = red.records["drift_parts"]
    assert parts["levy_area"][1] != 0 and parts["levy_area"][0] == 0
    assert float(red.drift[1]) == pytest.approx(float(parts["stratonovich"][1]
                                                      + parts["levy_area"][1]))
    assert float(parts["levy_area"][1]) == pytest.approx(A12 / 64, rel=1e-4)
    assert red.steps.passed
    assert any(s.name == "Ito drift" for s in red.steps.steps)
    dirs = red.records["coefficient_uncertainty"]["directions"]
    assert 1 <= len(dirs) <= 8 and all(d["drift"].shape == (2, 1) for d in dirs)
    # the directions reproduce the error of Lambda_12 (the drift of x2 is Lambda_12 / 64)
    spread = np.sqrt(sum(float(d["drift"][1]) ** 2 for d in dirs))
    assert spread == pytest.approx(G.stderr[0, 1] / 64, rel=0.05)


def doubling_cross_exact(n: int) -> tuple[sp.Expr, sp.Expr]:
    """C_12(n), C_21(n) for h1 = y - 1/2, h2 = sin(2 pi y) along the doubling map, exactly:
    on [j/2^n, (j+1)/2^n) the n-th iterate is 2^n y - j."""
    N = 2 ** n
    c12 = sp.integrate((y - sp.Rational(1, 2)) * sp.sin(2 * sp.pi * N * y), (y, 0, 1))
    Ns, js = sp.symbols("N j")
    F = sp.integrate(sp.sin(2 * sp.pi * y) * (Ns * y - js - sp.Rational(1, 2)), y)
    c21 = sum(F.subs({Ns: N, js: j, y: sp.Rational(j + 1, N)})
              - F.subs({Ns: N, js: j, y: sp.Rational(j, N)}) for j in range(N))
    return sp.simplify(c12), sp.simplify(c21)


def test_doubling_cross_correlations_exact() -> None:
    for n in (1, 2, 3):
        c12, c21 = doubling_cross_exact(n)
        assert sp.simplify(c12 + sp.Rational(1, 2 ** n) / (2 * sp.pi)) == 0 and c21 == 0


@pytest.mark.slow
def test_map_two_observables_levy_area() -> None:
    r"""z1 += eps (y - 1/2), z2 += eps z1 sin(2 pi y), y doubling.

    Drift of z2 (time s = eps^2 n): Lambda_12 = sum_{n>=1} C_12(n) = -1/(2 pi) (exact sums
    above); the symmetric part alone, (Sigma_12 - C_12(0))/2 = -1/(4 pi), is rejected by the
    map's own Monte Carlo. Sigma = [[1/4, -1/pi], [-1/pi, 1/2]].
    """
    from symavg.derive.chaotic_map import reduce_chaotic_map

    z1, z2 = sp.symbols("z1 z2", real=True)
    half = sp.Rational(1, 2)
    m = sa.DeterministicMap([z1, z2, y], [z1 + eps * (y - half),
                                          z2 + eps * z1 * sp.sin(2 * sp.pi * y),
                                          sp.Mod(2 * y, 1)])
    red = reduce_chaotic_map(m, [y], n_samples=50_000)
    G = red.records["green_kubo_matrix"]
    exact = np.array([[1 / 12, -1 / (2 * np.pi)], [0.0, 0.0]])
    assert np.all(np.abs(G.one_sided - exact) < 4 * G.stderr + 2e-3), (G.one_sided, G.stderr)
    sig = np.array([[0.25, -1 / np.pi], [-1 / np.pi, 0.5]])
    assert np.all(np.abs(G.sigma - sig) < 4 * G.sigma_stderr + 2e-3)
    assert float(red.drift[1]) == pytest.approx(G.one_sided[0, 1], rel=1e-4)
    assert red.drift[0] == 0 and red.steps.passed
    assert sp.simplify(red.diffusion[1, 1] / z1 ** 2 - red.diffusion[1, 1].subs(z1, 1)) == 0
    e, T = 0.05, 1.0
    ens = sa.simulate(m, {z1: 0.0, z2: 0.0}, T / e ** 2, eps=e, paths=10_000, seed=4)
    fin = ens.values[-1, 1]
    mean, se = fin.mean(), fin.std(ddof=1) / np.sqrt(fin.size)
    assert abs(mean - T * exact[0, 1]) < 4 * se + 0.01
    assert abs(mean + T / (4 * np.pi)) > 10 * se              # the symmetric part is rejected


@pytest.mark.slow
def test_lorenz_levy_area_drift_by_monte_carlo() -> None:
    r"""The full Lorenz-driven system against the reduced SDE, with and without the Levy area.

    ``dx1 = y2/(8 eps)``, ``dx2 = x1 y1 y3/(200 eps)``: the drift of x2 is
    Lambda_12 = Sigma_12/2 + A_12 (Kelly & Melbourne 2016, Ann. Probab. 44:479; module
    ``symavg.derive.levy_area``), here about 0.64 with A_12 about 0.16. ``E x2(T) =
    Lambda_12 T - eps^2 int_0^oo t C_12(t) dt + ...`` (the finite-eps correction of the
    iterated integral, about 0.4 eps^2). The reduced model with A must stand within its
    error bars; with A dropped the error must be resolved.
    """
    m = sa.DeterministicFlow([x1, x2, y1, y2, y3], [y2 / (8 * eps), x1 * y1 * y3 / (200 * eps),
                                                     *[e / eps ** 2 for e in LORENZ]])
    red = reduce_chaotic(m, [y1, y2, y3], n_samples=200_000)
    A = float(red.records["drift_parts"]["levy_area"][1])
    assert A > 0.1
    sym = dataclasses.replace(red, drift=sp.ImmutableMatrix(
        red.drift - sp.Matrix(red.records["drift_parts"]["levy_area"])), records={})
    e = 0.25
    kw = dict(eps_values=[e], observables=[x2], paths=2000, seed=2, check_dt=False,
              progress=False, dt=0.01 * e ** 2)
    good = sa.verify(m, red, {x1: 0.0, x2: 0.0}, 1.0, **kw)
    r = good.rows[0]
    assert abs(r.error) < 3 * r.error_se + 0.4 * e ** 2, r
    bad = sa.verify(m, sym, {x1: 0.0, x2: 0.0}, 1.0, **kw)
    rb = bad.rows[0]
    assert rb.error > 5 * rb.error_se, rb
