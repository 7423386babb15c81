"""Variance reduction of ``sa.verify``'s full-model estimator on two worked examples.

``python benchmarks/bench_variance_reduction.py [--paths 8000] [--repeats 1]`` runs
``sa.verify(..., variance_reduction=m)`` for every estimator ``m`` on

* the README quick start (homogenization, ``c(x) = sin x``, one shared Brownian
  motion; x0 = 0.3, T = 0.5, eps = 0.2, 0.1, 0.05, observables x and x^2);
* the fast-OU homogenization of ``worked_examples/ou_creates_noise.py``
  (lambda = alpha = 1, s = sqrt 2; x0 = 0, T = 0.5, eps = 0.3, 0.15, 0.075,
  observables x and x^2),

and prints, per eps and observable, the variance reduction factor (plain variance
per path over the estimator's, ``rep.info["variance reduction factor"]``), the
wall time of the call, and the efficiency gain (factor times the plain call's time
over the estimator's). Results are recorded in benchmarks/README.md.
"""

from __future__ import annotations

import argparse
import os
import time

import sympy as sp

import symavg as sa

METHODS = ("none", "antithetic", "control", "antithetic+control")


def examples() -> list[tuple[str, dict]]:
    eps = sa.epsilon
    x, y = sp.symbols("x y", real=True)
    c = sp.Function("c")
    quick = sa.SDE(state=[x, y], drift=[c(x) * y / eps, -y / eps**2],
                   noise=[[1], [sp.sqrt(2) / eps]])
    lam, alpha, s = sp.symbols("lambda alpha s", positive=True)
    ou = sa.SDE([x, y], [lam * y / eps, -alpha * y / eps**2], noise=[0, s / eps])
    return [
        ("README quick start", dict(full=quick, reduced=sa.reduce(quick, fast=[y]),
                                    x0={x: 0.3}, T=0.5, eps_values=[0.2, 0.1, 0.05],
                                    observables=[x, x**2],
                                    functions={c: sp.Lambda(x, sp.sin(x))})),
        ("fast-OU homogenization", dict(full=ou, reduced=sa.reduce(ou, fast=[y]),
                                        x0={x: 0.0}, T=0.5, eps_values=[0.3, 0.15, 0.075],
                                        observables=[x, x**2],
                                        params={lam: 1, alpha: 1, s: sp.sqrt(2)})),
    ]


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--paths", type=int, default=8000)
    args = ap.parse_args()
    print("load average before:", os.getloadavg())
    for name, kw in examples():
        # warm-up: compile/load every kernel variant outside the timing
        for m in METHODS:
            sa.verify(**kw, paths=200, seed=99, check_dt=False, progress=False,
                      variance_reduction=m)
        times = {}
        print(f"\n## {name} ({args.paths} paths per eps)\n")
        print("| estimator | call time | " + " | ".join(
            f"eps {e:g}, {o}" for e in kw["eps_values"] for o in kw["observables"]) + " |")
        for m in METHODS:
            t0 = time.perf_counter()
            rep = sa.verify(**kw, paths=args.paths, seed=1, check_dt=False, progress=False,
                            variance_reduction=m)
            times[m] = time.perf_counter() - t0
            g = rep.info["variance reduction factor"]
            cells = []
            for e in kw["eps_values"]:
                for o in kw["observables"]:
                    f = g[(e, o)]
                    eff = f * times["none"] / times[m]
                    cells.append("exact (0 se)" if f == float("inf") else
                                 f"{f:.3g} (eff. {eff:.3g})")
            print(f"| {m} | {times[m]:.2f} s | " + " | ".join(cells) + " |")
    print("\nload average after:", os.getloadavg())


if __name__ == "__main__":
    main()
