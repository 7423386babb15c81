"""Throughput of the PDMP simulator against plain vectorised NumPy.

``python benchmarks/bench_pdmp.py`` (``--quick`` for a small run). Two models,
each simulated by ``sa.simulate`` (generated numba kernel, chunks on threads)
and by a vectorised NumPy implementation written here, in the same process,
interleaved rounds, compilation excluded:

1. the promoter ``off -> on`` at rate ``a/eps``, ``on -> off`` at ``b/eps``,
   ``dx = (k s - g x) dt``: exact flow and exponential waiting times in both
   (NumPy: all paths advance together from jump to jump);
2. the same with feedback, ``off -> on`` at rate ``a / (eps (1 + x^2))``: RK4
   steps of the same ``dt`` in both, sa locating the jump times inside the step,
   NumPy switching at the end of the step where the integrated hazard passes
   the exponential clock.

Reported: wall and CPU seconds (all threads), jumps per second and path-steps
per second (flow segments for the exact model), and the ratios sa / NumPy.
"""

from __future__ import annotations

import argparse
import math
import os
import platform
import time

import numpy as np
import sympy as sp

import symavg as sa

x = sp.Symbol("x", real=True)
a, b, g, k = sp.symbols("a b gamma k", positive=True)
eps = sa.epsilon
P = {a: 1.0, b: 2.0, g: 1.0, k: 2.0}


def promoter(feedback: bool) -> sa.SwitchingSDE:
    on_rate = a / (eps * (1 + x**2)) if feedback else a / eps
    chain = sa.MarkovChain({("off", "on"): on_rate, ("on", "off"): b / eps})
    return sa.SwitchingSDE([x], chain, drift={"off": -g * x, "on": k - g * x})


def numpy_exact(paths: int, T: float, e: float, rng: np.random.Generator
                ) -> tuple[np.ndarray, int, int]:
    """Exact promoter paths, vectorised over paths: jump to jump."""
    A, B, G, K = (P[s] for s in (a, b, g, k))
    xs = np.zeros(paths)
    s = (rng.random(paths) < A / (A + B)).astype(np.int8)
    t = np.zeros(paths)
    jumps = segments = 0
    live = np.arange(paths)
    while live.size:
        rate = np.where(s[live] == 1, B / e, A / e)
        tau = rng.exponential(1.0, live.size) / rate
        h = np.minimum(tau, T - t[live])
        c = np.where(s[live] == 1, K, 0.0)
        xs[live] = xs[live] * np.exp(-G * h) + c / G * (1 - np.exp(-G * h))
        t[live] += h
        segments += live.size
        jumped = tau < T - t[live] + h
        jumped &= t[live] < T
        s[live[jumped]] ^= 1
        jumps += int(jumped.sum())
        live = live[t[live] < T]
    return xs, jumps, segments


def numpy_feedback(paths: int, T: float, e: float, dt: float, rng: np.random.Generator
                   ) -> tuple[np.ndarray, int, int]:
    """RK4 steps of (x, H) for all paths; switch at the end of the step where H >= E."""
    A, B, G, K = (P[s] for s in (a, b, g, k))
    xs = np.zeros(paths)
    s = (rng.random(paths) < A / (A + B)).astype(np.int8)
    E = rng.exponential(1.0, paths)
    H = np.zeros(paths)
    n = int(round(T / dt))
    jumps = 0
    for _ in range(n):
        on = s == 1
        c = np.where(on, K, 0.0)

        def f(v: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
            return c - G * v, np.where(on, B / e, A / (e * (1 + v * v)))  # noqa: B023

        k1, l1 = f(xs)
        k2, l2 = f(xs + 0.5 * dt * k1)
        k3, l3 = f(xs + 0.5 * dt * k2)
        k4, l4 = f(xs + dt * k3)
        xs = xs + dt / 6 * (k1 + 2 * k2 + 2 * k3 + k4)
        H += dt / 6 * (l1 + 2 * l2 + 2 * l3 + l4)
        jump = H >= E
        m = int(jump.sum())
        if m:
            s[jump] ^= 1
            H[jump] = 0.0
            E[jump] = rng.exponential(1.0, m)
            jumps += m
    return xs, jumps, n * paths


def timed(fn):  # noqa: ANN001, ANN201
    w, c = time.perf_counter(), time.process_time()
    out = fn()
    return out, time.perf_counter() - w, time.process_time() - c


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--quick", action="store_true")
    ap.add_argument("--rounds", type=int, default=3)
    args = ap.parse_args()
    paths = 4000 if args.quick else 20_000
    T, e, dt = 10.0, 0.05, 2e-3
    print(f"machine: {platform.processor() or platform.machine()}, {os.cpu_count()} CPUs, "
          f"Python {platform.python_version()}, NumPy {np.__version__}")
    print("load:", os.popen("uptime").read().strip())
    print(f"paths = {paths}, T = {T}, eps = {e}, dt (feedback) = {dt}")
    exact, fb = promoter(False), promoter(True)
    # warm-up (compilation, kernel cache)
    sa.simulate(exact, {x: 0.0}, T, eps=e, params=P, paths=100, seed=0)
    sa.simulate(fb, {x: 0.0}, T, eps=e, params=P, paths=100, seed=0, dt=dt)
    rows: dict[str, list] = {"exact": [], "feedback": []}
    for r in range(args.rounds):
        rng = np.random.default_rng(r)
        ens, w1, c1 = timed(lambda r=r: sa.simulate(exact, {x: 0.0}, T, eps=e, params=P,
                                                    paths=paths, seed=r))
        (xn, jn, sn), w2, c2 = timed(lambda rng=rng: numpy_exact(paths, T, e, rng))
        rows["exact"].append((ens.info["jumps"], ens.info["steps"], w1, c1, jn, sn, w2, c2,
                              float(ens[x][-1].mean()), float(xn.mean())))
        ens, w1, c1 = timed(lambda r=r: sa.simulate(fb, {x: 0.0}, T, eps=e, params=P,
                                                    paths=paths, seed=r, dt=dt))
        (xn, jn, sn), w2, c2 = timed(lambda rng=rng: numpy_feedback(paths, T, e, dt, rng))
        rows["feedback"].append((ens.info["jumps"], ens.info["steps"], w1, c1, jn, sn, w2, c2,
                                 float(ens[x][-1].mean()), float(xn.mean())))
    for name, rs in rows.items():
        print(f"\n{name} model (median of {len(rs)} rounds)")
        arr = np.array(rs)
        med = np.median(arr, axis=0)
        js, ss, w1, c1, jn, sn, w2, c2, m1, m2 = med
        print(f"  sa.simulate: {w1:.3f} s wall, {c1:.3f} s CPU; {js / w1:.3g} jumps/s, "
              f"{ss / w1:.3g} path-steps/s (wall); {js / c1:.3g} jumps per CPU-s")
        print(f"  NumPy:       {w2:.3f} s wall, {c2:.3f} s CPU; {jn / w2:.3g} jumps/s, "
              f"{sn / w2:.3g} path-steps/s (wall); {jn / c2:.3g} jumps per CPU-s")
        ratio_w = np.median(arr[:, 6] / arr[:, 2])
        ratio_c = np.median((arr[:, 0] / arr[:, 3]) / (arr[:, 4] / arr[:, 7]))
        print(f"  ratio (NumPy wall / sa wall): {ratio_w:.1f}x; jumps per CPU-s sa / NumPy: "
              f"{ratio_c:.1f}x")
        print(f"  E[x(T)]: sa {m1:.4f}, NumPy {m2:.4f}"
              + (f" (exact {2 / 3 * (1 - math.exp(-T)):.4f})" if name == "exact" else ""))


if __name__ == "__main__":
    main()
