"""Ensemble simulation: schemes against exact laws, initial draws, seeds, errors.

Exact Ornstein-Uhlenbeck moments: y_T ~ N(y0 e^{-theta T}, sigma^2 (1 - e^{-2 theta T})
/ (2 theta)) (Pavliotis 2014, *Stochastic Processes and Applications*, Sec. 3.7;
Kloeden & Platen 1992, Sec. 4.4). Monte Carlo comparisons allow 4 standard errors.
"""

from __future__ import annotations

import math
from concurrent.futures import ThreadPoolExecutor

import numpy as np
import pytest
import sympy as sp
from scipy import integrate
from scipy.special import iv

import symavg as sa
from symavg.numeric.codegen import have_numba
from symavg.numeric.simulate import CoarseStepWarning

x, y = sp.symbols("x y", real=True)
th, sg, V0 = sp.symbols("theta sigma V0", positive=True)
eps = sa.epsilon


def _within(sample: np.ndarray, exact: float, k: float = 4.0, bias: float = 0.0) -> bool:
    se = sample.std(ddof=1) / math.sqrt(sample.size)
    return abs(sample.mean() - exact) <= k * se + bias


def test_exact_ou_step_is_exact_for_any_step() -> None:
    """theta * dt = 0.5: Euler-Maruyama is biased there, the exponential step is not."""
    m = sa.SDE([y], [-th * y], noise=[sg])
    p = {th: 2.0, sg: 0.7}
    ens = sa.simulate(m, {y: 1.0}, 1.0, params=p, paths=40_000, dt=0.25, seed=1,
                      scheme="exact-ou", backend="numpy")
    assert ens.schemes[y] == "exact-ou"
    yT = ens[y][-1]
    mean, var = math.exp(-2.0), 0.49 * (1 - math.exp(-4.0)) / 4.0
    assert _within(yT, mean)
    assert _within((yT - mean) ** 2, var)
    # Euler-Maruyama at the same step has the stationary variance sigma^2/(2 theta - theta^2 dt)
    em = sa.simulate(m, {y: 1.0}, 1.0, params=p, paths=40_000, dt=0.25, seed=1,
                     scheme="euler", backend="numpy")
    assert not _within((em[y][-1] - mean) ** 2, var)


def test_shared_brownian_motion_exact_joint_law() -> None:
    """dx = dW, dy = -y dt + dW (one W): Cov(x_T, y_T) = 1 - e^{-T}; the exponential step
    draws (Delta W, int e^{-(t-s)} dW) jointly, so this holds at a coarse step."""
    m = sa.SDE([x, y], [0, -y], noise=[[1], [1]])
    ens = sa.simulate(m, {x: 0.0, y: 0.0}, 1.0, paths=40_000, dt=0.5, seed=2,
                      scheme="exact-ou", backend="numpy")
    assert ens.schemes == {x: "euler", y: "exact-ou"}
    assert _within(ens[x][-1] * ens[y][-1], 1 - math.exp(-1.0))
    assert _within(ens[y][-1] ** 2, (1 - math.exp(-2.0)) / 2)
    assert _within(ens[x][-1] ** 2, 1.0)


@pytest.mark.skipif(not have_numba(), reason="numba not installed")
def test_numba_and_numpy_backends_draw_the_same_stream() -> None:
    c = sp.Function("c")
    m = sa.SDE([x, y], [c(x) * y / eps, -y / eps**2], noise=[[1], [sp.sqrt(2) / eps]])
    kw = dict(eps=0.2, paths=3000, seed=3, functions={c: sp.Lambda(x, sp.sin(x))},
              saveat=[0.0, 0.05, 0.1], chunk_size=1000)
    a = sa.simulate(m, {x: 0.5}, 0.1, backend="numba", **kw)
    b = sa.simulate(m, {x: 0.5}, 0.1, backend="numpy", **kw)
    assert np.allclose(a.values, b.values, rtol=0, atol=1e-9)


def test_results_do_not_depend_on_the_executor() -> None:
    m = sa.SDE([x, y], [y / eps, -y / eps**2], noise=[[0], [sp.sqrt(2) / eps]])
    kw = dict(eps=0.3, paths=2500, seed=4, chunk_size=1000, backend="numpy")
    serial = sa.simulate(m, {x: 0.0}, 0.2, **kw)
    with ThreadPoolExecutor(2) as ex:
        threaded = sa.simulate(m, {x: 0.0}, 0.2, executor=ex, **kw)
    assert np.array_equal(serial.values, threaded.values)
    again = sa.simulate(m, {x: 0.0}, 0.2, **kw)
    assert np.array_equal(serial.values, again.values)
    other = sa.simulate(m, {x: 0.0}, 0.2, **{**kw, "seed": 5})
    assert not np.array_equal(serial.values, other.values)


def test_fast_variable_starts_from_its_gaussian_invariant_law() -> None:
    """dy = -(1 + x^2) y / eps^2 dt + sqrt(2)/eps dW has rho(y; x) = N(0, 1/(1 + x^2))."""
    m = sa.SDE([x, y], [-x, -(1 + x**2) * y / eps**2], noise=[[0], [sp.sqrt(2) / eps]])
    ens = sa.simulate(m, {x: 1.0}, 0.01, eps=0.1, paths=40_000, seed=6, backend="numpy")
    y0 = ens[y][0]
    assert "Gaussian" in ens.info["fast initial law"]
    assert _within(y0, 0.0)
    assert _within(y0**2, 0.5)


def test_fast_variable_on_a_circle_starts_from_the_gibbs_law() -> None:
    """rho(y) = e^{V0 cos y} / (2 pi I0(V0)) on [0, 2 pi): E cos y = I1(V0)/I0(V0)."""
    m = sa.SDE([x, y], [sp.sin(y) / eps, -V0 * sp.sin(y) / eps**2],
               noise=[[0], [sp.sqrt(2) / eps]], periodic={y: 2 * sp.pi})
    ens = sa.simulate(m, {x: 0.0}, 0.01, eps=0.1, params={V0: 1.5}, paths=40_000, seed=7,
                      backend="numpy")
    assert "inverse-CDF" in ens.info["fast initial law"]
    assert _within(np.cos(ens[y][0]), iv(1, 1.5) / iv(0, 1.5))
    assert ens[y].min() >= 0.0 and ens[y].max() < 2 * math.pi


def test_fast_variable_without_sampler_is_burnt_in() -> None:
    """dy = -y^3/eps^2 dt + sqrt(2)/eps dW: rho ~ exp(-y^4/4) on the line (no sampler in
    closed form): the burn-in run must reach it. E y^2 by quadrature."""
    m = sa.SDE([x, y], [-x, -(y**3) / eps**2], noise=[[0], [sp.sqrt(2) / eps]])
    ens = sa.simulate(m, {x: 1.0}, 0.001, eps=0.1, paths=20_000, seed=8, backend="numpy")
    assert "burn-in" in ens.info["fast initial law"]
    w = integrate.quad(lambda s: math.exp(-(s**4) / 4), -np.inf, np.inf)[0]
    m2 = integrate.quad(lambda s: s**2 * math.exp(-(s**4) / 4), -np.inf, np.inf)[0] / w
    assert _within(ens[y][0] ** 2, m2, bias=0.03 * m2)


def test_milstein_for_diagonal_noise() -> None:
    """Geometric Brownian motion: E x_T = x0 e^{mu T} (Kloeden & Platen 1992, Sec. 4.4)."""
    mu = sp.Symbol("mu", real=True)
    m = sa.SDE([x], [mu * x], noise=[sg * x])
    ens = sa.simulate(m, {x: 1.0}, 1.0, params={mu: 0.3, sg: 0.4}, paths=40_000, dt=0.01,
                      seed=9, scheme="milstein", backend="numpy")
    assert ens.schemes[x] == "milstein"
    assert _within(ens[x][-1], math.exp(0.3))
    shared = sa.SDE([x, y], [0, 0], noise=[[1], [x]])
    with pytest.raises(sa.ModelError, match="diagonal noise"):
        sa.simulate(shared, {x: 0.0, y: 0.0}, 1.0, scheme="milstein", backend="numpy")


def test_saveat_and_memory_is_per_saved_time() -> None:
    m = sa.SDE([x], [-x], noise=[1])
    ens = sa.simulate(m, {x: 1.0}, 1.0, paths=500, dt=0.01, saveat=[0, 0.25, 0.5, 1.0],
                      seed=0, backend="numpy")
    assert np.allclose(ens.t, [0, 0.25, 0.5, 1.0])
    assert ens.values.shape == (4, 1, 500)
    assert np.all(ens[x][0] == 1.0)
    mean, se = ens.mean(x)
    assert abs(mean[-1] - math.exp(-1)) < 4 * se[-1] + 0.01


def test_blow_up_names_model_time_and_fraction() -> None:
    m = sa.SDE([x], [x**2], noise=[sp.Rational(1, 10)])
    with pytest.raises(sa.SimulationError, match=r"SDE in \[x\] blew up.*t = 1 .*% of all paths"):
        sa.simulate(m, {x: 1.0}, 2.0, paths=200, dt=1e-3, seed=0, backend="numpy")


def test_coarse_step_warns() -> None:
    m = sa.SDE([x, y], [y / eps, -y / eps**2], noise=[[0], [sp.sqrt(2) / eps]])
    with pytest.warns(CoarseStepWarning, match="too coarse.*at most"):
        sa.simulate(m, {x: 0.0, y: 0.0}, 0.2, eps=0.1, dt=0.05, paths=100, seed=0,
                    backend="numpy", scheme="euler")


def test_bad_input_is_named() -> None:
    m = sa.SDE([x, y], [y / eps, -y / eps**2], noise=[[0], [sp.sqrt(2) / eps]])
    with pytest.raises(sa.ModelError, match="no value for x"):
        sa.simulate(m, {y: 0.0}, 1.0, eps=0.1, backend="numpy")
    with pytest.raises(sa.SimulationError, match="pass eps="):
        sa.simulate(m, {x: 0.0}, 1.0, backend="numpy")
    with pytest.raises(sa.ModelError, match="keys must be SymPy symbols"):
        sa.simulate(m, {x: 0.0}, 1.0, params={"epsilon": 0.1}, backend="numpy")
    with pytest.raises(sa.ModelError, match="positive"):
        sa.simulate(m, {x: 0.0}, -1.0, eps=0.1, backend="numpy")
    with pytest.raises(sa.ModelError, match="SDE or an EffectiveModel"):
        sa.simulate("dx = dW", {x: 0.0}, 1.0)
