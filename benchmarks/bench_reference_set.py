"""Derivation time of issue 14's reference set and of the worked examples' derivations.

Usage::

    python benchmarks/bench_reference_set.py [--only NAME ...]

Each derivation runs once in a fresh process (``multiprocessing`` with ``spawn``), so that
no case reuses another's SymPy cache or remembered integrals, and the first-call costs
inside SymPy (the work-limit warm-up of :func:`symavg._sympy_util.with_budget`) count
for every case, as a user's first ``reduce`` pays them. A case that raises the error it
must raise (a refusal) counts as answered. Prints a table (case, seconds, strategy or
outcome), then the maximum and median, the machine and its load. The issue's target:
none over 10 s, median under 1 s. Not a test: times depend on the machine and on what
else runs on it.
"""

from __future__ import annotations

import argparse
import multiprocessing as mp
import os
import statistics
import sys
import time
from collections.abc import Callable
from pathlib import Path

HERE = Path(__file__).resolve().parent


def _cases() -> dict[str, Callable[[], object]]:
    import sympy as sp

    import symavg as sa

    sys.path.insert(0, str(HERE))
    import bench_derive  # the worked examples' SDE derivations

    eps = sa.epsilon
    x, y = sp.symbols("x y", real=True)
    C, F = sp.symbols("C F", positive=True)

    def divergence_form(a: sp.Expr) -> sa.SDE:
        return sa.SDE([x, y], [sp.diff(a, y) / eps, sp.diff(a, y) / eps**2],
                      noise=[[sp.sqrt(2 * a)], [sp.sqrt(2 * a) / eps]], periodic={y: 1})

    def ou(f: sp.Expr) -> sa.SDE:
        return sa.SDE([x, y], [f, (x - y) / eps], noise=[0, sp.sqrt(2 / eps)])

    def refused(call: Callable[[], object], error: type) -> Callable[[], str]:
        def run() -> str:
            try:
                call()
            except error as exc:
                return f"refused: {type(exc).__name__}"
            raise AssertionError("not refused")
        return run

    def quartic() -> object:
        return sa.reduce(sa.SDE([x, y], [y / eps, -y**3 / eps**2],
                                noise=[[0], [sp.sqrt(2) / eps]]))

    def nested_sin() -> object:
        e = y
        for _ in range(50):
            e = sp.sin(e)
        return sa.reduce(sa.SDE([x, y], [-x + e, -y / eps], noise=[0, sp.sqrt(2 / eps)]))

    def poly(n: int) -> object:
        ps = sp.symbols(f"p0:{n}", real=True)
        f = -x + sum(p * y**(i % 7) * x**(i // 7 % 3) for i, p in enumerate(ps))
        return sa.reduce(sa.SDE([x, y], [f, -y / eps], noise=[0, sp.sqrt(2 / eps)]))

    def model_file(n: int) -> object:
        terms = " + ".join(f"p{i}*y^{i % 7}*x^{i // 7 % 3}" for i in range(n))
        names = ", ".join(f'"p{i}"' for i in range(n))
        text = ('name = "large"\n[state]\nslow = ["x"]\nfast = ["y"]\n'
                f'[parameters]\nsymbols = [{names}]\n[sde]\n'
                f'drift = ["-x + {terms}", "-y/eps"]\nnoise = [["0"], ["sqrt(2/eps)"]]\n')
        return sa.reduce(sa.loads_model(text).model)

    def cellular() -> object:
        y1, y2, x1, x2 = sp.symbols("y1 y2 x1 x2", real=True)
        psi = sp.sin(y1) * sp.sin(y2)
        u = [sp.diff(psi, y2), -sp.diff(psi, y1)]
        s = sp.sqrt(2)
        return sa.reduce(sa.SDE([x1, x2, y1, y2],
                                [u[0] / eps, u[1] / eps, u[0] / eps**2, u[1] / eps**2],
                                noise=[[s, 0], [0, s], [s / eps, 0], [0, s / eps]],
                                periodic={y1: 2 * sp.pi, y2: 2 * sp.pi}), [y1, y2])

    def fast_linear_3d() -> object:
        z, w = sp.symbols("z w", real=True)
        a, b = sp.symbols("a b", real=True)
        B = sp.Matrix([[-1, a, 0], [0, -1, 1], [b, 0, -2]])
        return sa.reduce(sa.SDE([x, y, z, w], [-x + y, *(B * sp.Matrix([y, z, w]) / eps)],
                                noise=[1, *[sp.sqrt(2 / eps)] * 3]), fast=[y, z, w])

    def cell_problem_errors() -> str:
        y1 = sp.Symbol("y1", real=True)
        for cell in ({y1: (0, 1)}, {y1: 1.0}):
            try:
                sa.CellProblem(2 + sp.cos(2 * sp.pi * y1), cell=cell)
            except sa.ModelError:
                continue
            raise AssertionError("not refused")
        return "refused: ModelError"

    def laminate() -> object:
        y1 = sp.Symbol("y1", real=True)
        a, b = sp.symbols("a b", positive=True)
        return sa.CellProblem(a + b * sp.sin(y1), {y1: 2 * sp.pi}).effective_tensor()

    chain = sa.MarkovChain
    cases: dict[str, Callable[[], object]] = {
        "quartic fast potential (D = 0.97499...)": quartic,
        "negative fast diffusion refused": refused(lambda: sa.SDE(
            [x, y], [y / eps, -y / eps**2], diffusion=[[0, 0], [0, -2 / eps**2]]), sa.ModelError),
        "imaginary noise refused": refused(lambda: sa.SDE(
            [x, y], [y / eps, -y / eps**2], noise=[[0], [sp.sqrt(-2) / eps]]), sa.ModelError),
        "non-periodic coefficient refused": refused(lambda: sa.SDE(
            [x, y], [-x + y, 1 / eps], noise=[1, sp.sqrt(2 / eps)], periodic={y: 2 * sp.pi}),
            sa.ModelError),
        "positive=True on an OU refused": refused(lambda: sa.reduce(sa.SDE(
            [x, sp.Symbol("y", positive=True)],
            [-x + sp.exp(-sp.Symbol("y", positive=True)**2),
             -sp.Symbol("y", positive=True) / eps], noise=[0, sp.sqrt(2 / eps)])),
            sa.ModelError),
        "E exp(-y^2) = 1/sqrt 3 (OU on the line)": lambda: sa.reduce(sa.SDE(
            [x, y], [-x + sp.exp(-y**2), -y / eps], noise=[0, sp.sqrt(2 / eps)])),
        "3-D fast linear system, validity": fast_linear_3d,
        "Cauchy invariant law": lambda: sa.reduce(sa.SDE(
            [x, y], [-x + y**2 / (1 + y**2), -2 * y / (1 + y**2) / eps],
            noise=[0, sp.sqrt(2 / eps)])),
        "harmonic mean, symbolic contrast C": lambda: sa.reduce(
            divergence_form(C + sp.cos(2 * sp.pi * y)), [y]),
        "harmonic mean, a = 2 + cos(2 pi y)": lambda: sa.reduce(
            divergence_form(2 + sp.cos(2 * sp.pi * y)), [y]),
        "x-dependent OU, f = cos y - x": lambda: sa.reduce(ou(sp.cos(y) - x)),
        "x-dependent OU, f = y^2 + cos y": lambda: sa.reduce(ou(y**2 + sp.cos(y))),
        "uncentred tilted washboard refused": refused(lambda: sa.reduce(sa.SDE(
            [x, y], [(F - sp.sin(y)) / eps, (F - sp.sin(y)) / eps**2],
            noise=[[sp.sqrt(2)], [sp.sqrt(2) / eps]], periodic={y: 2 * sp.pi}), [y]),
            sa.CenteringError),
        "Tikhonov point mass": lambda: sa.reduce(sa.SDE(
            [x, y], [-x + y, (-y + sp.sin(x)) / eps], noise=[1, 0])),
        "cellular flow, no parameters": cellular,
        "string in a declaration refused": refused(lambda: sa.SDE(
            [x, y], ["__import__('os').getcwd() or y/epsilon", -y / eps**2],
            noise=[0, 1 / eps]), sa.ModelError),
        "CellProblem interval / float period refused": cell_problem_errors,
        "50-deep nested sin": nested_sin,
        "100-parameter polynomial drift": lambda: poly(100),
        "model file, 300-term drift": lambda: model_file(300),
        "model file, 600-term drift": lambda: model_file(600),
        "model file over MAX_LENGTH refused": refused(lambda: model_file(2000), sa.ParseError),
    }
    for name, fn in bench_derive.APPLICATIONS:
        cases[f"example: {name}"] = fn
    promoter = sa.SwitchingSDE([x], chain({("off", "on"): C / eps, ("on", "off"): F / eps}),
                               drift={"off": -x, "on": 1 - x})
    cases["example: PDMP promoter, order 1"] = lambda: sa.reduce(promoter, order=1)
    lam, v = sp.symbols("lambda v", positive=True)
    tele = sa.SwitchingSDE([x], chain({("+", "-"): lam / eps, ("-", "+"): lam / eps}),
                           drift={"+": v, "-": -v})
    cases["example: telegraph (Kac), order 1"] = lambda: sa.reduce(tele, order=1)
    cases["example: laminate harmonic mean (CellProblem)"] = laminate
    k1, k2, k3 = sp.symbols("k1 k2 k3", positive=True)
    cases["example: fast isomerization network"] = lambda: sa.ReactionNetwork(
        ["S1 -> S2", "S2 -> S1", "S2 -> 0"], [k1 / eps, k2 / eps, k3]).reduce()
    return cases


def _strategy(result: object) -> str:
    if isinstance(result, str):
        return result
    steps = getattr(result, "steps", None)
    if steps is None:
        return type(result).__name__
    names = [s.strategy for s in steps if getattr(s, "strategy", None)]
    return ", ".join(dict.fromkeys(names)) or "-"


def _run(name: str, conn: object) -> None:
    t0 = time.perf_counter()
    try:
        res = _cases()[name]
        t0 = time.perf_counter()  # building the case list is not the derivation
        out = _strategy(res())
    except Exception as exc:  # reported in the table
        out = f"FAILED: {type(exc).__name__}: {str(exc)[:80]}"
    conn.send((time.perf_counter() - t0, out))
    conn.close()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--only", nargs="*", default=None)
    parser.add_argument("--timeout", type=float, default=300.0)
    args = parser.parse_args()
    from bench_derive import _machine

    names = list(_cases())
    if args.only:
        names = [n for n in names if any(o in n for o in args.only)]
    ctx = mp.get_context("spawn")
    print(f"Machine: {_machine()}; load average at start {os.getloadavg()[0]:.2f}")
    print("| case | seconds | strategy / outcome |\n| --- | --- | --- |")
    times = []
    for name in names:
        parent, child = ctx.Pipe(duplex=False)
        proc = ctx.Process(target=_run, args=(name, child))
        proc.start()
        if parent.poll(args.timeout):
            dt, out = parent.recv()
        else:
            dt, out = args.timeout, f"no answer within {args.timeout:.0f} s"
            proc.kill()
        proc.join()
        times.append(dt)
        print(f"| {name} | {dt:.2f} | {out} |", flush=True)
    print(f"\nmax {max(times):.2f} s, median {statistics.median(times):.2f} s "
          f"({len(times)} cases); load average at end {os.getloadavg()[0]:.2f}")


if __name__ == "__main__":
    sys.path.insert(0, str(HERE))
    main()
