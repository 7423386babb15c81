"""Adaptive multilevel splitting beyond one-variable diffusions, against plain Monte Carlo.

``python benchmarks/bench_splitting.py`` (``--quick`` for a small run):

1. The feedback PDMP of tests/test_ldp_splitting.py (dx = (s - x) dt, s: 0 -> 1 at
   (0.1 + 8 x^2)/eps, 1 -> 0 at 2/eps): wall time and relative standard error of
   ``sa.ldp.exit_probability`` (from (0.1, s = 1), 0.45 before the well 0.0609) and of
   ``sa.ldp.splitting_mean_exit_time`` (well -> 0.45), at several eps, against the exact
   values, next to what plain Monte Carlo would cost for the same relative error: for ``p``,
   ``(1 - p)/(p r^2)`` paths at the measured wall time of one plain path from the same
   start; for ``E[tau]``, ``1/r^2`` paths (the exit time is nearly exponential, coefficient
   of variation 1) of mean length ``E[tau]``, at the kernel's measured simulated time per
   second at that eps.
2. The Maier-Stein diffusion (beta = 3) with the coordinate x: ``exit_probability`` from
   (-0.7, 0), 0.3 before -0.9, against the same plain-Monte-Carlo estimate of cost.
Compilation is excluded (a warm-up call first).
"""

from __future__ import annotations

import argparse
import os
import platform
import sys
import time
from pathlib import Path

import numpy as np
import sympy as sp

import symavg as sa
from symavg.numeric.diffusion_paths import coordinate_sampler
from symavg.numeric.pdmp_paths import pdmp_sampler

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests"))
from test_ldp_splitting import (  # noqa: E402
    XM,
    fd_committor,
    feedback_pdmp,
    maier_stein,
    pdmp_committor,
    pdmp_exact_mean_exit_time,
)

x, y = sp.symbols("x y", real=True)


def plain_path_wall(sampler, state, lo, hi, n):
    """Mean wall time and mean simulated duration of one plain path."""
    sampler.seed(np.random.default_rng(0))
    t = time.perf_counter()
    dur = [sampler.path(state, lo, hi).times[-1] for _ in range(n)]
    return (time.perf_counter() - t) / n, float(np.mean(dur))


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--quick", action="store_true")
    args = ap.parse_args()
    print(f"# {platform.processor() or platform.machine()}, {os.cpu_count()} CPUs, "
          f"load {os.getloadavg()[0]:.1f}")
    m, prm = feedback_pdmp()
    sa.ldp.exit_probability(m, {x: 0.1}, {x: XM}, {x: 0.45}, eps=0.05, params=prm, s0=1,
                            replicas=20, kill=2, runs=2, seed=0)          # compile
    print("\nPDMP exit probability, (0.1, s=1) -> 0.45 before x- = 0.0609")
    print("| eps | AMS wall | p AMS | exact | rel. s.e. | plain MC, same error |")
    print("| --- | --- | --- | --- | --- | --- |")
    for e in ((0.02, 0.01) if args.quick else (0.02, 0.01, 0.0075, 0.005)):
        t = time.perf_counter()
        est = sa.ldp.exit_probability(m, {x: 0.1}, {x: XM}, {x: 0.45}, eps=e, params=prm,
                                      s0=1, replicas=100, kill=10, runs=8, seed=1)
        wall = time.perf_counter() - t
        ref = pdmp_committor(e, XM, 0.45, 0.1)[1]
        rel = est.stderr / est.probability
        ker = pdmp_sampler(m, 0.1, e, prm, None, 0.05, 2_000_000_000, 1e9, "auto")
        w1, _ = plain_path_wall(ker, np.array([0.1, 1.0]), XM, 0.45, 2000)
        plain = (1 - ref) / (ref * rel**2) * w1
        print(f"| {e} | {wall:.1f} s | {est.probability:.3g} | {ref:.3g} | {rel:.2f} | "
              f"{plain:.2g} s |")
    print("\nPDMP mean exit time, x- -> 0.45 (level 0.1)")
    print("| eps | Delta V/eps | AMS wall | E[tau] AMS | exact | rel. s.e. | "
          "plain MC, same error |")
    print("| --- | --- | --- | --- | --- | --- | --- |")
    for e in ((0.02, 0.01) if args.quick else (0.02, 0.01, 0.0075, 0.005)):
        t = time.perf_counter()
        T = sa.ldp.splitting_mean_exit_time(m, {x: XM}, {x: 0.45}, level=0.1, eps=e,
                                            params=prm, paths=200, replicas=100, kill=10,
                                            runs=8, seed=2)
        wall = time.perf_counter() - t
        ref = pdmp_exact_mean_exit_time(e, XM, 0.45)
        rel = T.stderr / T.mean
        ker = pdmp_sampler(m, XM, e, prm, None, 0.05, 2_000_000_000, 1e9, "auto")
        # simulated time per second of wall time, on cycles from the well to the level
        w1, d1 = plain_path_wall(ker, np.array([XM, 0.0]), -np.inf, 0.1, 2000)
        plain = ref / rel**2 * (w1 / d1)
        print(f"| {e} | {0.0859 / e:.1f} | {wall:.1f} s | {T.mean:.3g} | {ref:.3g} | "
              f"{rel:.2f} | {plain:.2g} s |")

    ms = maier_stein()
    start = {x: -0.7, y: 0.0}
    sa.ldp.exit_probability(ms, start, -0.9, 0.3, coordinate=x, eps=0.1, replicas=20,
                            kill=2, runs=2, dt=2e-3, seed=0)                # compile
    print("\nMaier-Stein (beta = 3), xi = x: (-0.7, 0) -> x = 0.3 before x = -0.9, dt = 2e-3")
    print("| eps | AMS wall | p AMS | finite differences | rel. s.e. | plain MC, same error |")
    print("| --- | --- | --- | --- | --- | --- |")
    for e in ((0.1, 0.05) if args.quick else (0.1, 0.05, 0.025)):
        t = time.perf_counter()
        est = sa.ldp.exit_probability(ms, start, -0.9, 0.3, coordinate=x, eps=e,
                                      replicas=100, kill=10, runs=8, dt=2e-3, seed=3)
        wall = time.perf_counter() - t
        ref = float(fd_committor(e, -0.9, 0.3, 0.6, 0.005)((-0.7, 0.0)))
        rel = est.stderr / est.probability
        ker = coordinate_sampler(ms, x, e, None, 2e-3, 10**9)
        w1, _ = plain_path_wall(ker, np.array([-0.7, 0.0]), -0.9, 0.3, 2000)
        plain = (1 - ref) / (ref * rel**2) * w1
        print(f"| {e} | {wall:.1f} s | {est.probability:.3g} | {ref:.3g} | {rel:.2f} | "
              f"{plain:.2g} s |")


if __name__ == "__main__":
    main()
