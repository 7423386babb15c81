"""The order fit with the reduced coefficients' numeric error as a common systematic (issue 10).

A Green-Kubo coefficient is estimated once: its error shifts the reduced means by the
same amount at every eps, so it is fully correlated across the points of the order fit.
``fit_order(..., systematic=)`` does generalised least squares with that covariance; the
tests check it against an independent numeric computation (the coverage of its 95%
interval over synthetic data with a known order and a common shift), and that ``verify``
passes the common shifts.
"""

from __future__ import annotations

import numpy as np
import pytest
import sympy as sp

import symavg as sa
from symavg.numeric.verify import fit_order


def test_gls_reduces_to_weighted_fit_without_systematic() -> None:
    eps = [0.8, 0.6, 0.45, 0.3]
    err = [0.071, 0.047, 0.031, 0.016]
    se = [0.002, 0.002, 0.0015, 0.001]
    a = fit_order(eps, err, se)
    b = fit_order(eps, err, se, systematic=[[1e-12] * 4])
    assert b.order == pytest.approx(a.order, rel=1e-6)
    assert b.interval[1] - b.interval[0] == pytest.approx(a.interval[1] - a.interval[0],
                                                          rel=1e-6)
    assert "common error source" in b.message
    with pytest.raises(sa.ModelError, match="one shift per point"):
        fit_order(eps, err, se, systematic=[[0.001] * 3])


def test_common_shift_coverage() -> None:
    r"""Synthetic errors ``e_i = C eps_i^q + delta + noise_i`` with one ``delta ~ N(0, s^2)``
    shared by the three points (q = 1.5): the generalised least-squares interval covers q
    in about 95% of 2000 replications; treating ``delta`` as independent per point (its
    variance added to each point's) gives intervals that are too wide (about 99.9%
    coverage) and a larger mean width."""
    rng = np.random.default_rng(0)
    eps = np.array([0.8, 0.6, 0.45])
    q, C, s, se = 1.5, 0.1, 0.004, 0.001
    hit_g = hit_i = n = 0
    w_g, w_i = [], []
    for _ in range(2000):
        e = C * eps ** q + rng.normal(0, s) + rng.normal(0, se, 3)
        fi = fit_order(eps, e, np.full(3, np.hypot(se, s)))
        fg = fit_order(eps, e, np.full(3, se), systematic=[[s, s, s]])
        if fi.interval is None or fg.interval is None:
            continue
        n += 1
        hit_i += fi.interval[0] < q < fi.interval[1]
        hit_g += fg.interval[0] < q < fg.interval[1]
        w_i.append(fi.interval[1] - fi.interval[0])
        w_g.append(fg.interval[1] - fg.interval[0])
    assert n > 1900
    assert 0.935 < hit_g / n < 0.97            # binomial sd at 95%: 0.005
    assert hit_i / n > 0.985
    assert np.mean(w_g) < 0.8 * np.mean(w_i)


def test_fit_order_flags_a_sign_change() -> None:
    """Errors -0.28, -0.17, -0.039, +0.031 (the Lorenz-driven run of
    benchmarks/bench_lorenz_order.py): |e| ~ C eps^q cannot describe a crossing, and the
    message says so; same-sign errors get no such remark."""
    eps = [0.6, 0.45, 0.3, 0.2]
    f = fit_order(eps, [-0.28, -0.17, -0.039, 0.031], [0.008, 0.008, 0.009, 0.009])
    assert f.order is not None and "change sign (between eps = 0.2 and 0.3)" in f.message
    g = fit_order(eps, [-0.28, -0.17, -0.039, 0.031], [0.008, 0.008, 0.009, 0.009],
                  systematic=[[0.007] * 4])
    assert "change sign" in g.message and "generalised" in g.message
    assert "change sign" not in fit_order(eps, [0.28, 0.17, 0.07, 0.03],
                                          [0.008] * 4).message


@pytest.mark.slow
def test_verify_passes_common_shifts_of_a_green_kubo_reduction() -> None:
    """Doubling-map-driven ``z`` (Gottwald & Melbourne 2013; sigma^2 = 1/4): a short
    Green-Kubo run makes the coefficient error visible. The reduced model is the same at
    every eps, so every point gets the same shift per error direction, and the fit says it
    used them."""
    from symavg.derive.chaotic_map import reduce_chaotic_map

    z, y = sp.symbols("z y", real=True)
    eps = sa.epsilon
    m = sa.DeterministicMap([z, y], [z - eps ** 2 * z + eps * (y - sp.Rational(1, 2)),
                                     sp.Mod(2 * y, 1)])
    red = reduce_chaotic_map(m, [y], n_samples=20_000)
    dirs = red.records["coefficient_uncertainty"]["directions"]
    assert len(dirs) >= 1
    rep = sa.verify(m, red, {z: 0.0}, 1.44, eps_values=[0.4, 0.3, 0.2], observables=[z ** 2],
                    paths=20_000, seed=3, progress=False)
    shifts = rep.info["coefficient shifts"]
    assert list(shifts) == [None] and len(shifts[None]) == len(dirs)
    # sigma^2's error moves E z^2 = sigma^2 (1 - e^{-2T}) / 2 by se * (1 - e^{-2T}) / 2
    se = red.records["green_kubo_matrix"].sigma_stderr[0, 0]
    total = np.sqrt(sum(d[z ** 2] ** 2 for d in shifts[None]))
    assert total == pytest.approx(se * (1 - np.exp(-2 * 1.44)) / 2, rel=0.05)
    fit = rep.fits[z ** 2]
    if fit.order is not None:
        assert "common error source" in fit.message
    assert any("fully correlated" in n for n in rep.notes)
