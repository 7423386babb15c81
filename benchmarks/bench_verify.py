"""The README's verify example with a target: paths added until the errors are resolved.

``python benchmarks/bench_verify.py [--target 2] [--paths 4000] [--max-time 60]
[--dt-factor 0.05] [--variance-reduction auto] [--scheme auto]`` (the defaults are the
README's call)
prints the report, the wall time, the load average before and after, and the
first-call (compile) time of the kernels measured in a fresh cache folder
(``--cold``). Results are recorded in benchmarks/README.md.
"""

from __future__ import annotations

import argparse
import os
import time

import sympy as sp

import symavg as sa


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--target", type=float, default=2.0)
    ap.add_argument("--max-time", type=float, default=60.0)
    ap.add_argument("--paths", type=int, default=4000)
    ap.add_argument("--dt-factor", type=float, default=0.05)
    ap.add_argument("--order-width", type=float, default=1.0)
    ap.add_argument("--variance-reduction", default="auto",
                    choices=["auto", "none", "antithetic", "control", "antithetic+control"])
    ap.add_argument("--scheme", default="auto")
    args = ap.parse_args()
    eps = sa.epsilon
    x, y = sp.symbols("x y", real=True)
    c = sp.Function("c")
    model = sa.SDE(state=[x, y], drift=[c(x) * y / eps, -y / eps**2],
                   noise=[[1], [sp.sqrt(2) / eps]])
    red = sa.reduce(model, fast=[y])
    c_def = {c: sp.Lambda(x, sp.sin(x))}
    print("load average before:", os.getloadavg())
    t0 = time.perf_counter()
    ens = sa.simulate(model, {x: 0.3}, 0.5, eps=0.2, paths=100, seed=0, functions=c_def)
    print(f"first simulate (compile or load of the kernel): {time.perf_counter() - t0:.1f} s")
    del ens
    t0 = time.perf_counter()
    rep = sa.verify(model, red, x0={x: 0.3}, T=0.5, eps_values=[0.2, 0.1, 0.05],
                    observables=[x, x**2], functions=c_def, paths=args.paths, seed=1,
                    target=args.target, max_time=args.max_time, order_width=args.order_width,
                    dt_factor=args.dt_factor, variance_reduction=args.variance_reduction,
                    scheme=args.scheme, progress=False)
    wall = time.perf_counter() - t0
    print(rep.table())
    print(f"verify wall time: {wall:.1f} s; paths per eps: {rep.info['paths']}")
    for o, f in rep.fits.items():
        if f.interval is not None:
            width = f.interval[1] - f.interval[0]
            print(f"{o}: order {f.order:.2f}, 95% interval width {width:.2f}")
    print("load average after:", os.getloadavg())


if __name__ == "__main__":
    main()
