"""Wall-clock time of the issue-9 derivations (nested levels, diffusive time scale, combined
mechanisms, fast chains, numeric intermediate levels, the hypoelliptic shear), each in
a fresh process.

Usage::

    python benchmarks/bench_multiscale.py [--repeat N] [--case NAME]

Every case runs ``N`` times (default 3), each time in a new Python process, so each
time includes the one-off work a user's first derivation pays (lazy imports inside
SymPy, first calls); ``import symavg`` is timed separately and not included. The
table gives the median and the largest of the ``N`` times, whether every check of
the derivation passed, and the load average (``os.getloadavg``) before and after.
The cases are the models of ``tests/test_multiscale.py`` and of the worked examples
``nested_three_scales.py``, ``diffusive_time_scale.py`` and ``nested_tilted_ou.py``.
Not a test: times depend on the machine and on what else runs on it.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import time

CASES = {
    "rate": "nested: rate a(z) of y averaged first, fast=[y, z] (b/<a>)",
    "rate_auto": "nested: the same, levels found from eps (worked example)",
    "noise": "nested: super-fast OU noise passed on to y",
    "diffusive": "vanishing drift, diffusive scale s = eps t (worked example)",
    "tilted": "tilted periodic potential, OU tilt on the next level (worked example)",
    "same": "tilted periodic potential, OU tilt on the same level",
    "chain": "super-fast z modulating a fast chain's rate",
    "numeric": "numeric intermediate level (tilted z, method='numeric')",
    "shear": "OU cross-forcing of a shear flow (hypoelliptic, Hermite-Fourier)",
}


def _model(case: str):  # noqa: ANN202 -- returns the call to time
    import sympy as sp

    import symavg as sa

    eps = sa.epsilon
    x, y, z, eta = sp.symbols("x y z eta", real=True)
    b = sp.Symbol("b", positive=True)
    D, V0, F, c = sp.symbols("D V0 F c", positive=True)
    rate = sa.SDE([x, y, z], [y, (b - (2 + sp.cos(z)) * y) / eps, 0],
                  noise=[0, sp.sqrt(2 / eps), sp.sqrt(2) / eps], periodic={z: 2 * sp.pi})
    if case == "rate":
        return lambda: sa.reduce(rate, fast=[y, z])
    if case == "rate_auto":
        return lambda: sa.reduce(rate)
    if case == "noise":
        m = sa.SDE([x, y, z], [y**2 - x, -y / eps + z / eps**sp.Rational(3, 2), -z / eps**2],
                   noise=[0, 0, sp.sqrt(2) / eps])
        return lambda: sa.reduce(m)
    if case == "diffusive":
        s = sp.Function("sigma")(x)
        m = sa.SDE([x, y], [s * y, -y / eps], noise=[0, sp.sqrt(2 / eps)])
        return lambda: sa.reduce(m, timescale="diffusive")
    if case in ("tilted", "same"):
        tilt = c * eta / sp.sqrt(eps) if case == "tilted" else F * eta
        drx = V0 * sp.sin(y) / eps + F + tilt
        deta = -eta / eps if case == "tilted" else -eta / eps**2
        seta = sp.sqrt(2 / eps) if case == "tilted" else sp.sqrt(2) / eps
        m = sa.SDE([x, y, eta], [drx, drx / eps, deta],
                   noise=[[sp.sqrt(2 * D), 0], [sp.sqrt(2 * D) / eps, 0], [0, seta]],
                   periodic={y: 2 * sp.pi})
        return lambda: sa.reduce(m, fast=[y, eta])
    if case == "chain":
        chain = sa.MarkovChain({("off", "on"): (2 + sp.cos(z)) / eps, ("on", "off"): b / eps})
        m = sa.SwitchingSDE([x, z], chain, drift={"off": [-x, 0], "on": [1 - x, 0]},
                            noise=[[0], [sp.sqrt(2) / eps]], periodic={z: 2 * sp.pi})
        return lambda: sa.reduce(m)
    if case == "numeric":
        m = sa.SDE([x, y, z], [y, (b - (2 + sp.cos(z)) * y) / eps, (c + sp.sin(z)) / eps**2],
                   noise=[0, sp.sqrt(2 / eps), sp.sqrt(2) / eps], periodic={z: 2 * sp.pi})
        return lambda: sa.reduce(m, fast=[y, z], params={c: 0.5, b: 1}, method="numeric")
    if case == "shear":
        kappa = sp.Symbol("kappa", positive=True)
        m = sa.SDE([x, y, eta], [sp.sin(y) / eps, eta / eps**2, -eta / eps**2],
                   noise=[[sp.sqrt(2 * kappa), 0], [0, 0], [0, sp.sqrt(2) / eps]],
                   periodic={y: 2 * sp.pi})
        return lambda: sa.reduce(m)
    raise SystemExit(f"unknown case {case!r}; one of {sorted(CASES)}")


def _one(case: str) -> None:
    t0 = time.perf_counter()
    import symavg  # noqa: F401

    t1 = time.perf_counter()
    call = _model(case)
    t2 = time.perf_counter()
    red = call()
    t3 = time.perf_counter()
    print(json.dumps({"import": t1 - t0, "derive": t3 - t2, "passed": red.steps.passed}))


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument("--case", choices=sorted(CASES))
    ap.add_argument("--child", action="store_true", help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.child:
        _one(args.case)
        return
    env = dict(os.environ)
    before = os.getloadavg()
    print("| derivation | median (s) | max (s) | import symavg (s) | all checks passed |")
    print("| --- | --- | --- | --- | --- |")
    for case in ([args.case] if args.case else CASES):
        runs = []
        for _ in range(args.repeat):
            out = subprocess.run([sys.executable, __file__, "--child", "--case", case],
                                 capture_output=True, text=True, env=env, check=True)
            runs.append(json.loads(out.stdout.strip().splitlines()[-1]))
        times = [r["derive"] for r in runs]
        imp = statistics.median(r["import"] for r in runs)
        ok = "yes" if all(r["passed"] for r in runs) else "NO"
        print(f"| {CASES[case]} | {statistics.median(times):.2f} | {max(times):.2f} | "
              f"{imp:.2f} | {ok} |", flush=True)
    after = os.getloadavg()
    print(f"\nload average (1, 5, 15 min) before: {before[0]:.2f} {before[1]:.2f} "
          f"{before[2]:.2f}; after: {after[0]:.2f} {after[1]:.2f} {after[2]:.2f}")


if __name__ == "__main__":
    main()
