"""Issue 13: the weak order-2 scheme for reduced models, ``sa.simulate(..., scheme="weak2")``
(Platen's explicit order-2.0 weak scheme, Kloeden & Platen, Numerical Solution of
Stochastic Differential Equations, Springer 1992, Sec. 15.1, eq. (15.1.3))."""

from __future__ import annotations

import math

import numpy as np
import pytest
import sympy as sp

import symavg as sa
from symavg.errors import ModelError
from symavg.numeric.sequential import Accumulator
from symavg.numeric.verify import fit_order

x, z = sp.symbols("x z", real=True)
k, s, mu, s1, s2 = sp.symbols("k s mu sigma1 sigma2", positive=True)


def _effective(state, drift, noise) -> sa.EffectiveModel:  # noqa: ANN001
    N = sp.Matrix(noise)
    return sa.EffectiveModel(tuple(state), sp.ImmutableMatrix(drift),
                             sp.ImmutableMatrix(sp.expand(N * N.T)), sp.ImmutableMatrix(N),
                             "averaging", sa.Derivation("test"))


def test_weak2_mean_of_ou_is_the_second_order_recursion() -> None:
    """dX = -k X dt + s dW: the scheme is Y' = Y (1 - k h + k^2 h^2 / 2) + s (1 - k h / 2) dW
    (Kloeden & Platen 1992, eq. (15.1.1) with a = -k y, b = s), so the mean of an
    antithetic pair follows the recursion exactly, with no sampling noise; and x0 e^{-kT}
    (the OU mean, Gardiner, Stochastic Methods, Sec. 3.8.4) is approached like h^2."""
    ou = _effective([x], [-k * x], [[s]])
    T, kv = 1.0, 1.5
    for N in (4, 8):
        h = T / N
        ens = sa.simulate(ou, {x: 1.0}, T, params={k: kv, s: 0.7}, dt=h, paths=200, seed=1,
                          scheme="weak2", antithetic=True, backend="numpy", progress=False)
        assert ens.schemes == {x: "weak2"}
        pair_mean = 0.5 * (ens[x][-1, 0::2] + ens[x][-1, 1::2])
        np.testing.assert_allclose(pair_mean, (1 - kv * h + (kv * h) ** 2 / 2) ** N, rtol=1e-12)
    # additive 2-D noise with two columns: the mean recursion is I + A h + A^2 h^2 / 2
    A = np.array([[-1.0, 0.5], [-0.3, -2.0]])
    m2 = _effective([x, z], [-x + sp.Rational(1, 2) * z, -sp.Rational(3, 10) * x - 2 * z],
                    [[s, 0], [s / 2, s]])
    ens = sa.simulate(m2, {x: 1.0, z: -0.5}, 1.0, params={s: 0.4}, dt=0.125, paths=100,
                      seed=2, scheme="weak2", antithetic=True, backend="numpy",
                      progress=False)
    step = np.eye(2) + A * 0.125 + A @ A * 0.125**2 / 2
    want = np.linalg.matrix_power(step, 8) @ np.array([1.0, -0.5])
    got = 0.5 * (ens.values[-1][:, 0::2] + ens.values[-1][:, 1::2])
    np.testing.assert_allclose(got, want[:, None] * np.ones((1, 50)), rtol=1e-12)


def test_weak2_refuses_noncommutative_noise() -> None:
    """Columns (1, 0) and (0, x) do not commute: L^1 b^2 = (0, 1) != L^2 b^1 = 0."""
    m = _effective([x, z], [0, 0], [[1, 0], [0, x]])
    with pytest.raises(ModelError, match="commutative noise"):
        sa.simulate(m, {x: 0.0, z: 0.0}, 1.0, paths=10, scheme="weak2", backend="numpy",
                    progress=False)


@pytest.mark.slow
@pytest.mark.parametrize("columns", [1, 2])
def test_weak2_has_weak_order_two_on_geometric_brownian_motion(columns: int) -> None:
    """dX = mu X dt + X (sigma1 dW1 [+ sigma2 dW2]): E X_T = x0 e^{mu T} and
    E X_T^2 = x0^2 e^{(2 mu + sigma^2) T}, sigma^2 = sigma1^2 [+ sigma2^2] (Kloeden & Platen
    1992, Sec. 4.4, eq. (4.4.6) and its moments; the two-column noise commutes). Errors at
    h = 1/4 .. 1/32 (80,000 paths, control variates on the Brownian sums): the fitted
    weak order of "weak2" is 2 and that of Euler-Maruyama 1 (Kloeden & Platen, Sec. 14.1,
    14.2), and weak2's errors are the smaller ones."""
    noise = [[s1 * x]] if columns == 1 else [[s1 * x, s2 * x]]
    gbm = _effective([x], [mu * x], noise)
    pars = {mu: 1.0, s1: 0.5} if columns == 1 else {mu: 1.0, s1: 0.4, s2: 0.3}
    sig2 = 0.25
    exact = [math.exp(1.0), math.exp(2.0 + sig2)]
    orders, first = {}, {}
    for scheme in ("euler", "weak2"):
        hs, errs, ses = [], [[], []], [[], []]
        for N in (4, 8, 16, 32):
            ens = sa.simulate(gbm, {x: 1.0}, 1.0, params=pars, dt=1.0 / N, paths=80_000,
                              seed=N, scheme=scheme, record_noise=True, backend="numpy",
                              progress=False)
            acc = Accumulator([x, x**2], (x,), "control")
            acc.add(ens)
            hs.append(1.0 / N)
            for j in range(2):
                errs[j].append(acc.mean(j) - exact[j])
                ses[j].append(acc.se(j))
        fits = [fit_order(hs, errs[j], ses[j]) for j in range(2)]
        orders[scheme] = [f.order for f in fits]
        first[scheme] = [abs(errs[j][0]) for j in range(2)]
    assert 1.6 < orders["weak2"][0] < 2.4, orders
    assert orders["weak2"][1] is None or 1.5 < orders["weak2"][1] < 2.5, orders
    assert 0.6 < orders["euler"][0] < 1.2 and 0.6 < orders["euler"][1] < 1.2, orders
    assert first["weak2"][0] < first["euler"][0] / 4 and first["weak2"][1] < first["euler"][1] / 2
