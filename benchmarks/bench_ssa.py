"""SSA throughput (reactions per second) on the Michaelis-Menten enzyme network.

    E + S -> C (k1 = 0.01),  C -> E + S (k2 = 0.1),  C -> E + P (k3 = 0.1)
    E(0) = 20, S(0) = 100, C(0) = P(0) = 0, T = 50

Compares, in the same run: symavg's compiled direct method (``sa.ssa``, threads over
chunks), GillesPy2's solvers that work here (SSACSolver, C++; NumPySSASolver, Python)
and a plain NumPy/Python direct method written below. Reactions per trajectory are the
same for every exact solver (same law), so GillesPy2's and the plain method's rates are
symavg's mean events per trajectory times trajectories over their wall time.

    python benchmarks/bench_ssa.py            # 1e3, 1e4, 1e5 trajectories
    python benchmarks/bench_ssa.py --quick    # 1e3 only
"""

from __future__ import annotations

import argparse
import os
import platform
import time

import numpy as np
import sympy as sp

import symavg as sa

K = {"k1": 0.01, "k2": 0.1, "k3": 0.1}
X0 = {"E": 20, "S": 100, "C": 0, "P": 0}
T = 50.0


def symavg_run(paths: int) -> tuple[float, float]:
    k1, k2, k3 = sp.symbols("k1 k2 k3", positive=True)
    net = sa.ReactionNetwork(["E + S -> C", "C -> E + S", "C -> E + P"], [k1, k2, k3])
    params = {k1: K["k1"], k2: K["k2"], k3: K["k3"]}
    sa.ssa(net, X0, T, params=params, paths=10, seed=0)            # compile / load cache
    t = time.perf_counter()
    ens = sa.ssa(net, X0, T, params=params, paths=paths, seed=1, chunk_size=1024)
    wall = time.perf_counter() - t
    return wall, ens.info["events"] / paths


def plain_numpy(paths: int, seed: int = 0) -> float:
    """Gillespie's direct method in plain Python with NumPy random numbers."""
    rng = np.random.default_rng(seed)
    nu = np.array([[-1, -1, 1, 0], [1, 1, -1, 0], [1, 0, -1, 1]])
    t0 = time.perf_counter()
    for _ in range(paths):
        n = np.array([X0["E"], X0["S"], X0["C"], X0["P"]], dtype=np.int64)
        t = 0.0
        while True:
            a = np.array([K["k1"] * n[0] * n[1], K["k2"] * n[2], K["k3"] * n[2]])
            a0 = a.sum()
            if a0 <= 0:
                break
            t += rng.exponential(1.0 / a0)
            if t > T:
                break
            r = np.searchsorted(np.cumsum(a), rng.random() * a0)
            n += nu[r]
    return time.perf_counter() - t0


def gillespy2_model():  # noqa: ANN201
    import gillespy2

    m = gillespy2.Model(name="enzyme")
    for name, v in K.items():
        m.add_parameter(gillespy2.Parameter(name=name, expression=v))
    for name, v in X0.items():
        m.add_species(gillespy2.Species(name=name, initial_value=v, mode="discrete"))
    m.add_reaction(gillespy2.Reaction(name="bind", reactants={"E": 1, "S": 1},
                                      products={"C": 1}, rate="k1"))
    m.add_reaction(gillespy2.Reaction(name="unbind", reactants={"C": 1},
                                      products={"E": 1, "S": 1}, rate="k2"))
    m.add_reaction(gillespy2.Reaction(name="cat", reactants={"C": 1},
                                      products={"E": 1, "P": 1}, rate="k3"))
    m.timespan(np.linspace(0, T, 2))
    return m


def gillespy2_run(solver_name: str, paths: int) -> float:
    import gillespy2

    m = gillespy2_model()
    solver_cls = getattr(gillespy2, solver_name)
    solver = solver_cls(model=m)
    m.run(solver=solver, number_of_trajectories=1, seed=1)              # build / warm up
    t = time.perf_counter()
    m.run(solver=solver, number_of_trajectories=paths, seed=2)
    return time.perf_counter() - t


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--quick", action="store_true")
    args = ap.parse_args()
    sizes = [1000] if args.quick else [1000, 10_000, 100_000]
    print(f"machine: {platform.processor() or platform.machine()}, {os.cpu_count()} CPUs, "
          f"load average {os.getloadavg()}")
    rows = []
    per_traj = None
    for n in sizes:
        wall, per_traj = symavg_run(n)
        rows.append(("symavg sa.ssa (numba, threads)", n, wall, per_traj * n / wall))
    plain_n = 100
    wall = plain_numpy(plain_n)
    rows.append(("plain NumPy/Python direct method", plain_n, wall, per_traj * plain_n / wall))
    try:
        import gillespy2  # noqa: F401
        for solver, ns in (("SSACSolver", sizes), ("NumPySSASolver", [100])):
            for n in ns:
                try:
                    wall = gillespy2_run(solver, n)
                except Exception as exc:  # noqa: BLE001 - report and go on
                    print(f"GillesPy2 {solver} failed: {type(exc).__name__}: {exc}")
                    break
                rows.append((f"GillesPy2 {solver}", n, wall, per_traj * n / wall))
    except ImportError:
        print("GillesPy2 is not installed: pip install gillespy2")
    print(f"\nreactions per trajectory (mean): {per_traj:.1f}\n")
    print("| solver | trajectories | wall time (s) | reactions per second |")
    print("| --- | --- | --- | --- |")
    for name, n, wall, rate in rows:
        print(f"| {name} | {n} | {wall:.3g} | {rate:.3g} |")
    best = {}
    for name, _, _, rate in rows:
        best[name] = max(best.get(name, 0), rate)
    ours = best["symavg sa.ssa (numba, threads)"]
    print()
    for name, rate in best.items():
        if name.startswith("symavg"):
            continue
        print(f"symavg / {name}: {ours / rate:.1f}x")


if __name__ == "__main__":
    main()
