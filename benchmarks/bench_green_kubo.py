"""Green-Kubo benchmarks (issue 10): FFT autocorrelation of 10^7 points, Lorenz-63
path-steps per second (compiled RK4 vs scipy solve_ivp vs a plain NumPy RK4), and the
Green-Kubo value of Lorenz y2 against sportran's cepstral estimate on the same series.

Run: PYTHONPATH=. python benchmarks/bench_green_kubo.py   (results: benchmarks/README.md)
"""

from __future__ import annotations

import os
import time

import numpy as np
import sympy as sp
from scipy.integrate import solve_ivp

import symavg as sa
from symavg.numeric.chaos import trajectories
from symavg.numeric.green_kubo import autocovariance, green_kubo_series

y1, y2, y3 = sp.symbols("y1 y2 y3", real=True)
L = sa.DeterministicFlow([y1, y2, y3], [10 * (y2 - y1), y1 * (28 - y3) - y2,
                                        y1 * y2 - sp.Rational(8, 3) * y3])


def lorenz(t: float, z: np.ndarray) -> np.ndarray:
    return np.array([10 * (z[1] - z[0]), z[0] * (28 - z[2]) - z[1], z[0] * z[1] - 8 / 3 * z[2]])


def main() -> None:
    print(f"cores: {os.cpu_count()}, load: {os.getloadavg()}")
    x = np.random.default_rng(0).standard_normal((1, 10_000_000))
    autocovariance(x[:, :1000])
    t0 = time.perf_counter()
    autocovariance(x, 1000, workers=2)
    print(f"autocovariance of 1e7 points (scipy.fft, next_fast_len, 2 workers): "
          f"{time.perf_counter() - t0:.2f} s")
    n, paths, dt = 200_000, 2, 0.005
    trajectories(L, [y2], n_samples=10, dt=dt, paths=1)          # compile
    t0 = time.perf_counter()
    trajectories(L, [y2], n_samples=n, dt=dt, paths=paths)
    rate = n * paths / (time.perf_counter() - t0)
    print(f"symavg compiled RK4: {rate / 1e6:.2f} M path-steps/s ({paths} paths on threads)")
    z = np.array([1.0, 1.0, 20.0])
    t0 = time.perf_counter()
    for _ in range(20_000):
        k1 = lorenz(0, z)
        k2 = lorenz(0, z + dt / 2 * k1)
        k3 = lorenz(0, z + dt / 2 * k2)
        k4 = lorenz(0, z + dt * k3)
        z = z + dt / 6 * (k1 + 2 * k2 + 2 * k3 + k4)
    print(f"plain NumPy RK4: {20_000 / (time.perf_counter() - t0) / 1e6:.3f} M path-steps/s")
    t0 = time.perf_counter()
    sol = solve_ivp(lorenz, (0, 100), [1.0, 1.0, 20.0], method="RK45", rtol=1e-8, atol=1e-8)
    el = time.perf_counter() - t0
    print(f"solve_ivp RK45 (rtol 1e-8): {sol.t.size / el / 1e6:.3f} M accepted steps/s "
          f"(= {100 / dt / el / 1e6:.3f} M equivalent dt={dt} steps/s)")
    tr = trajectories(L, [y2], n_samples=1_000_000, dt=dt, every=2, burn_in=4000, paths=1)
    s = tr.values[:, :, 0]
    green_kubo_series(s[:, :20_000], tr.spacing, warn=False)       # warm-up
    t0 = time.perf_counter()
    est = green_kubo_series(s, tr.spacing, warn=False)
    t_sa = time.perf_counter() - t0
    print(f"symavg: sigma^2 = {est.value:.4g} +- {est.stderr:.2g}; batch means "
          f"{est.batch_value:.4g} +- {est.batch_stderr:.2g}; window {est.cutoff:g}; "
          f"{t_sa:.2f} s")
    if not hasattr(np, "trapz"):      # sportran 1.0.0rc4 calls np.trapz, gone in NumPy 2
        np.trapz = np.trapezoid       # same function, renamed (benchmark-only shim)
    try:
        import sportran as st
    except ImportError:
        print("sportran not installed")
        return
    t0 = time.perf_counter()
    j = st.GenericCurrent(s[0] - s.mean(), DT_FS=tr.spacing, KAPPA_SCALE=1.0)
    j.cepstral_analysis()
    t_st = time.perf_counter() - t0
    # sportran's kappa is KAPPA_SCALE * S(0)/2 = int_0^inf C(t) dt (one-sided)
    st_value, st_se = 2 * j.kappa, 2 * j.kappa_std
    print(f"sportran cepstral: int_0^inf C = {j.kappa:.4g} +- {j.kappa_std:.2g} -> "
          f"sigma^2 = {st_value:.4g} +- {st_se:.2g}; {t_st:.2f} s")
    gap = (est.value - st_value) / np.hypot(est.stderr, st_se)
    print(f"ratio symavg / sportran = {est.value / st_value:.3f} ({gap:+.1f} combined "
          f"standard errors); time ratio symavg / sportran = {t_sa / t_st:.2f}")


if __name__ == "__main__":
    main()
