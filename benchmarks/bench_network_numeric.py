"""Costs of the newer network paths (issue 8): the numeric conditional law and the exact
OU-driven SSA.

1. Tables of the numeric fast law for 2 A <-> B <-> C (k_a, k_b, k_c, k_d = 1, 2, 1, 0.5)
   on the slow box y = A + 2B + 2C in 0..hi: fast states solved for, wall time.
2. ``sa.ssa(..., environment=)`` on 0 -> X (lambda + c eta), X -> 0 (mu n), eta an OU
   process with theta = 4 (lambda = 50, c = 8, mu = 1, T = 5): reactions per second and
   OU draws per reaction, against the plain direct method on the network with the OU
   term removed (``sa.ssa`` of 0 -> X at lambda, X -> 0 at mu n).

    python benchmarks/bench_network_numeric.py [--quick]

The compile of each kernel is done before the clock starts.
"""

from __future__ import annotations

import argparse
import os
import time

import sympy as sp

import symavg as sa


def law_tables(his: list[int]) -> None:
    eps = sa.epsilon
    ka, kb, kc, kd, k0, ke = sp.symbols("k_a k_b k_c k_d k0 k_e", positive=True)
    net = sa.ReactionNetwork(["2 A -> B", "B -> 2 A", "B -> C", "C -> B", "0 -> A",
                              "C -> 0"], [ka / eps, kb / eps, kc / eps, kd / eps, k0, ke])
    law = net.reduce().records["numeric_law"]
    C = net.species[2]
    p = {ka: 1.0, kb: 2.0, kc: 1.0, kd: 0.5}
    law.table(p, [0], [10], [C])
    print("| slow box | fast states | wall time (s) |")
    print("| --- | --- | --- |")
    for hi in his:
        t0 = time.perf_counter()
        tab = law.table(p, [0], [hi], [C])
        print(f"| 0..{hi} | {tab.n_states} | {time.perf_counter() - t0:.2f} |")


def ou_ssa(paths: int) -> None:
    eta = sp.Symbol("eta", real=True)
    lam, mu, c = sp.symbols("lambda mu c", positive=True)
    net = sa.ReactionNetwork(["0 -> X", "X -> 0"], [lam + c * eta, mu])
    env = sa.SDE([eta], [-4 * eta], noise=[sp.sqrt(8)])
    plain = sa.ReactionNetwork(["0 -> X", "X -> 0"], [lam, mu])
    X, = net.species
    p = {lam: 50.0, c: 8.0, mu: 1.0}
    sa.ssa(net, {X: 50}, 0.1, params=p, paths=4, seed=0, environment=env)
    sa.ssa(plain, {X: 50}, 0.1, params=p, paths=4, seed=0)
    print("| simulator | trajectories | wall time (s) | reactions per second | OU draws per "
          "reaction |")
    print("| --- | --- | --- | --- | --- |")
    t0 = time.perf_counter()
    ens = sa.ssa(net, {X: 50}, 5.0, params=p, paths=paths, seed=1, environment=env)
    w = time.perf_counter() - t0
    print(f"| OU-driven (exact time change) | {paths} | {w:.2f} | "
          f"{ens.info['events'] / w:.3g} | {ens.info['OU draws'] / ens.info['events']:.2f} |")
    t0 = time.perf_counter()
    ens = sa.ssa(plain, {X: 50}, 5.0, params=p, paths=paths, seed=1)
    w = time.perf_counter() - t0
    print(f"| direct method, no OU | {paths} | {w:.2f} | {ens.info['events'] / w:.3g} | - |")


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--quick", action="store_true")
    args = ap.parse_args()
    print("load average:", os.getloadavg())
    law_tables([50, 100] if args.quick else [50, 100, 150, 200])
    ou_ssa(1000 if args.quick else 4000)


if __name__ == "__main__":
    main()
