"""Costs of the large-deviation routines (``sa.ldp``).

``python benchmarks/bench_ldp.py`` (``--quick`` for a small run):

1. ``rate_function`` of the asymmetric two-state chain (rates a, b, velocities +-1): the
   two-state Donsker-Varadhan route against the general symbolic Legendre transform
   (``_legendre_symbolic``, the route it replaced), both on the same Hamiltonian.
2. The diffusion exit kernel: Euler-Maruyama steps per second of
   ``diffusion_mean_exit_time`` on dX = (X - X^3) dt + sqrt(2 eps) dW (compilation
   excluded).
3. Adaptive multilevel splitting on the same model, exit from the well -1 to 1/2: wall
   time of ``splitting_mean_exit_time`` and its relative error against the exact value at
   Delta V / eps = 5, 8, 12, next to the steps plain Monte Carlo would need for the same
   relative error (E[tau]/dt per path, times (1/rel)^2 paths).
"""

from __future__ import annotations

import argparse
import os
import platform
import time

import numpy as np
import sympy as sp
from scipy.integrate import quad

import symavg as sa
from symavg.derive.ldp import _legendre_symbolic, _legendre_two_state
from symavg.numeric.diffusion_exit import diffusion_mean_exit_time, splitting_mean_exit_time

x, p, v = sp.symbols("x p v", real=True)
a, b = sp.symbols("a b", positive=True)
eps = sa.epsilon


def U(z):
    return z**4 / 4 - z**2 / 2


def exact_T(e):
    def inner(w):
        return quad(lambda z: np.exp(-(U(z) - U(-1)) / e), -4.0, w,
                    points=[-1.0] if w > -1 else None, limit=200)[0]
    return quad(lambda w: np.exp((U(w) - U(-1)) / e) * inner(w), -1.0, 0.5, points=[0.0],
                limit=200)[0] / e


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--quick", action="store_true")
    args = ap.parse_args()
    print(f"# {platform.processor() or platform.machine()}, {os.cpu_count()} CPUs, "
          f"load {os.getloadavg()[0]:.1f}")

    ch = sa.MarkovChain({("A", "B"): a / eps, ("B", "A"): b / eps})
    m = sa.SwitchingSDE([x], ch, drift={"A": 1, "B": -1})
    H = sa.ldp.hamiltonian(m, momentum=p)
    t = time.perf_counter()
    L2 = _legendre_two_state(H, (v,))
    t_dv = time.perf_counter() - t
    print(f"rate_function, two-state Donsker-Varadhan route: {t_dv:.2f} s  L = {L2[0]}")
    if not args.quick:
        t = time.perf_counter()
        Ls = _legendre_symbolic(H, (v,))
        t_sym = time.perf_counter() - t
        print(f"rate_function, general symbolic Legendre transform: {t_sym:.2f} s  "
              f"L = {Ls[0]}")

    xs = sp.Symbol("x", real=True)
    red = sa.SDE([xs], [xs - xs**3], diffusion=[[2 * eps]])
    diffusion_mean_exit_time(red, {xs: -1.0}, upper={xs: 0.5}, eps=0.1, paths=10, dt=5e-3,
                             seed=0)                       # compile
    paths = 100 if args.quick else 400
    t = time.perf_counter()
    est = diffusion_mean_exit_time(red, {xs: -1.0}, upper={xs: 0.5}, eps=1 / 12,
                                   paths=paths, dt=5e-3, seed=1)
    wall = time.perf_counter() - t
    steps = est.times.sum() / est.dt
    print(f"plain exit kernel: {steps:.3g} steps in {wall:.2f} s = {steps / wall:.3g} "
          "steps/s")
    rate = steps / wall

    print("| Delta V/eps | AMS wall | E[tau] AMS | exact | rel. error (s.e.) | plain MC "
          "steps for that error | plain MC time at the kernel's rate |")
    print("| --- | --- | --- | --- | --- | --- | --- |")
    for ratio in ((5, 8) if args.quick else (5, 8, 12)):
        e = 0.25 / ratio
        t = time.perf_counter()
        T = splitting_mean_exit_time(red, {xs: -1.0}, {xs: 0.5}, level=-0.8, eps=e,
                                     paths=200, replicas=100, kill=10, runs=8, dt=2e-3,
                                     seed=ratio)
        wall = time.perf_counter() - t
        ref = exact_T(e)
        rel = T.stderr / T.mean
        plain_steps = ref / 2e-3 / rel**2
        print(f"| {ratio} | {wall:.1f} s | {T.mean:.4g} | {ref:.4g} | {rel:.2f} | "
              f"{plain_steps:.2g} | {plain_steps / rate:.2g} s |")


if __name__ == "__main__":
    main()
