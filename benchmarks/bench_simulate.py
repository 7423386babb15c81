"""Benchmark: path-steps per second of ``sa.simulate`` against its limits and other tools.

Run:  python benchmarks/bench_simulate.py [--quick] [--rounds R] [--no-memory]
      [--no-diffrax] [--no-sdeint]

Two full models, ``eps = 0.1``, ``dt = 1e-4`` (``dt / eps^2 = 0.01``), 10^5 paths:

* ``ou``:  dx = eps^-1 c(x) y dt + dW1,  dy = -eps^-2 y dt + eps^-1 sqrt(2) dW2,
  with ``c(x) = x``: the limit is the random number generator (2 normals per
  path-step);
* ``sin``: the same with ``c(x) = sin(x)``: one libm ``sin`` per path-step on top.

Timed in the same process, interleaved round by round (each figure is the
median over rounds, each ratio the median of the per-round ratios, so a change
in the machine's load during the run hits both sides of a ratio):

* ``sa.simulate(model, {x: 0.5}, T, eps=0.1, paths=100_000, dt=1e-4, seed=1,
  functions={c: Lambda(x, x)}, progress=False)`` with the default scheme
  (exact OU step for y) and with ``scheme="euler"``; after a warm-up call
  (compilation excluded; kernels are cached on disk), the whole call timed
  (set-up, initial draws, threads, assembling the result);
* (a) the raw limit: a nogil numba loop that only draws the same number of
  standard normals from ``np.random.Generator`` (one per thread, two threads);
  for ``sin`` also a loop that only evaluates ``math.sin`` the same number of
  times, and one that does both (draws + sin: the floor of that model);
* (b) a plain vectorised NumPy Euler-Maruyama loop on the same model and paths;
* (c) sdeint ``itoEuler``, one path per call (sdeint has no ensemble
  dimension), on far fewer paths and steps;
* (d) diffrax (JAX on CPU, float64): ``Euler`` with a constant step, an
  ``UnsafeBrownianPath`` per path (the cheapest Brownian motion diffrax has),
  ``jax.jit(jax.vmap(...))`` over the paths, timed after the JIT warm-up.

Then the memory peak of 10^6 paths (each in a fresh subprocess, peak RSS reset
after imports and warm-up): ``sa.simulate`` (keeps only the saved times) against
a NumPy loop that stores every step. Prints Markdown tables.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import platform
import statistics
import subprocess
import sys
import time
from concurrent.futures import ThreadPoolExecutor

import numba
import numpy as np
import sympy as sp
from numba import njit

import symavg as sa

EPS, DT, X0, SEED = 0.1, 1e-4, 0.5, 1
THREADS = 2
x, y = sp.symbols("x y", real=True)
c = sp.Function("c")


def model(kind: str) -> tuple[sa.SDE, dict]:
    e = sa.epsilon
    m = sa.SDE([x, y], [c(x) * y / e, -y / e**2], noise=[1, sp.sqrt(2) / e])
    f = {"ou": sp.Lambda(x, x), "sin": sp.Lambda(x, sp.sin(x))}[kind]
    return m, {c: f}


# ------------------------------------------------------------------ symavg
def clock(start: tuple[float, float] | None = None) -> tuple[float, float]:
    """(wall, CPU of all threads of this process) now, or elapsed since ``start``."""
    now = (time.perf_counter(), time.process_time())
    return now if start is None else (now[0] - start[0], now[1] - start[1])


def run_symavg(kind: str, paths: int, nsteps: int, scheme: str = "auto"
               ) -> tuple[tuple[float, float], object]:
    m, fn = model(kind)
    t = clock()
    ens = sa.simulate(m, {x: X0}, nsteps * DT, eps=EPS, paths=paths, dt=DT, seed=SEED,
                      functions=fn, progress=False, scheme=scheme)
    took = clock(t)
    assert ens.info["steps"] == nsteps, ens.info
    return took, ens


# ------------------------------------------------------------------ limits
@njit(nogil=True, cache=True)
def _draw_only(count, rng):
    s = 0.0
    for _ in range(count):
        s += rng.standard_normal()
    return s


@njit(nogil=True, cache=True)
def _sin_only(count, a):
    # independent sin of an array read at run time: nothing constant-folded, no
    # dependency chain between calls (like the independent paths of a kernel)
    s = 0.0
    P = a.shape[0]
    for _ in range(count // P):
        for j in range(P):
            s += math.sin(a[j])
    return s


@njit(nogil=True, cache=True)
def _draw_and_sin(count, rng, a):
    s = 0.0
    P = a.shape[0]
    for _ in range(count // P):
        for j in range(P):
            s += rng.standard_normal() + rng.standard_normal() * math.sin(a[j])
    return s


def _threads(fn, count: int, *extra) -> tuple[float, float]:
    """(wall, CPU) of ``fn(count / THREADS, rng_i, *extra)`` on THREADS threads."""
    per = count // THREADS
    rngs = [np.random.default_rng(s) for s in np.random.SeedSequence(SEED).spawn(THREADS)]
    with ThreadPoolExecutor(THREADS) as ex:
        t = clock()
        list(ex.map(lambda r: fn(per, r, *extra), rngs))
        return clock(t)


def raw_normals(count: int) -> tuple[float, float]:
    return _threads(_draw_only, count)


def raw_sin(count: int) -> tuple[float, float]:
    a = np.random.default_rng(0).uniform(-3, 3, 4096)
    return _threads(lambda n, r: _sin_only(n, a), count)


def raw_draw_sin(path_steps: int) -> tuple[float, float]:
    a = np.random.default_rng(0).uniform(-3, 3, 4096)
    return _threads(lambda n, r: _draw_and_sin(n, r, a), path_steps)


# ------------------------------------------------------------------ NumPy
def numpy_em(kind: str, paths: int, nsteps: int, store: bool = False):
    """Plain vectorised Euler-Maruyama; with ``store`` keeps every step (for memory)."""
    rng = np.random.default_rng(SEED)
    xs = np.full(paths, X0)
    ys = rng.standard_normal(paths)              # invariant law of y: N(0, 1)
    sq, s2 = math.sqrt(DT), math.sqrt(2) / EPS * math.sqrt(DT)
    hist = np.empty((nsteps + 1, 2, paths)) if store else None
    if store:
        hist[0] = xs, ys
    f = (lambda v: v) if kind == "ou" else np.sin
    t = clock()
    for k in range(nsteps):
        xi = rng.standard_normal((2, paths))
        xn = xs + f(xs) * ys * (DT / EPS) + sq * xi[0]
        ys = ys - ys * (DT / EPS**2) + s2 * xi[1]
        xs = xn
        if store:
            hist[k + 1] = xs, ys
    return clock(t), (hist if store else np.stack([xs, ys]))


# ------------------------------------------------------------------ sdeint
def sdeint_em(kind: str, paths: int, nsteps: int) -> tuple[float, float]:
    import sdeint

    np.random.seed(SEED)
    g = (lambda v: v) if kind == "ou" else math.sin
    G0 = np.diag([1.0, math.sqrt(2) / EPS])

    def f(z, t):
        return np.array([g(z[0]) * z[1] / EPS, -z[1] / EPS**2])

    def G(z, t):
        return G0

    tspan = np.linspace(0.0, nsteps * DT, nsteps + 1)
    t = clock()
    for _ in range(paths):
        sdeint.itoEuler(f, G, np.array([X0, np.random.standard_normal()]), tspan)
    return clock(t)


# ------------------------------------------------------------------ diffrax
_DIFFRAX: dict = {}


def diffrax_setup(kind: str, paths: int, nsteps: int):
    import jax

    jax.config.update("jax_enable_x64", True)
    import diffrax
    import jax.numpy as jnp

    g = (lambda v: v) if kind == "ou" else jnp.sin
    sig = jnp.diag(jnp.array([1.0, math.sqrt(2) / EPS]))

    def drift(t, z, args):
        return jnp.stack([g(z[0]) * z[1] / EPS, -z[1] / EPS**2])

    def diffusion(t, z, args):
        return sig

    T = nsteps * DT

    def solve(key, y0):
        bm = diffrax.UnsafeBrownianPath(shape=(2,), key=key)
        terms = diffrax.MultiTerm(diffrax.ODETerm(drift), diffrax.ControlTerm(diffusion, bm))
        sol = diffrax.diffeqsolve(terms, diffrax.Euler(), 0.0, T, dt0=DT, y0=y0,
                                  saveat=diffrax.SaveAt(t1=True), max_steps=nsteps + 4,
                                  adjoint=diffrax.ForwardMode())
        return sol.ys[0], sol.stats["num_steps"]

    fn = jax.jit(jax.vmap(solve))
    keys = jax.random.split(jax.random.key(SEED), paths)
    y0 = jnp.stack([jnp.full(paths, X0),
                    jax.random.normal(jax.random.key(SEED + 1), (paths,))], axis=1)
    ys, steps = fn(keys, y0)                     # JIT warm-up
    ys.block_until_ready()
    done = int(steps[0])
    _DIFFRAX[kind] = (fn, keys, y0, done)
    return done


def diffrax_em(kind: str) -> tuple[tuple[float, float], int]:
    fn, keys, y0, done = _DIFFRAX[kind]
    t = clock()
    ys, _ = fn(keys, y0)
    ys.block_until_ready()
    return clock(t), done


# ------------------------------------------------------------------ memory
def _reset_peak() -> bool:
    try:
        with open("/proc/self/clear_refs", "w") as fh:
            fh.write("5")
        return True
    except OSError:
        return False


def _status(field: str) -> int:
    with open("/proc/self/status") as fh:
        for line in fh:
            if line.startswith(field + ":"):
                return int(line.split()[1]) * 1024
    return -1


def memory_child(what: str, paths: int, nsteps: int) -> None:
    import tracemalloc

    if what == "symavg":
        run_symavg("ou", 4096, 2)                # compile / load cache, initial samplers
    else:
        numpy_em("ou", 4096, 2, store=True)
    reset = _reset_peak()
    before = _status("VmRSS")
    tracemalloc.start()
    if what == "symavg":
        _, ens = run_symavg("ou", paths, nsteps)
        kept = ens.values.nbytes
    else:
        _, hist = numpy_em("ou", paths, nsteps, store=True)
        kept = hist.nbytes
    _, traced = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    print(json.dumps({"what": what, "reset": reset, "rss_before": before,
                      "hwm": _status("VmHWM"), "traced_peak": traced, "kept": kept}))


def memory(paths: int, nsteps: int) -> dict:
    out = {}
    for what in ("symavg", "numpy-store"):
        r = subprocess.run([sys.executable, __file__, "--memory-child", what, str(paths),
                            str(nsteps)], capture_output=True, text=True, check=True)
        out[what] = json.loads(r.stdout.strip().splitlines()[-1])
    return out


# ------------------------------------------------------------------ report
def versions() -> str:
    def v(mod: str) -> str:
        try:
            return __import__(mod).__version__
        except Exception:
            try:
                from importlib.metadata import version

                return version(mod)
            except Exception:
                return "not installed"

    try:
        lscpu = subprocess.run(["lscpu"], capture_output=True, text=True).stdout
        cpu = next(line.split(":", 1)[1].strip() for line in lscpu.splitlines()
                   if line.startswith("Model name"))
    except Exception:
        cpu = platform.processor()
    load = os.getloadavg()
    return (f"CPU {cpu}, {os.cpu_count()} cores; Python {platform.python_version()}, "
            f"NumPy {np.__version__}, numba {numba.__version__}, SymPy {sp.__version__}, "
            f"JAX {v('jax')}, diffrax {v('diffrax')}, sdeint {v('sdeint')}; load average "
            f"at the end {load[0]:.1f} / {load[1]:.1f} / {load[2]:.1f} (1/5/15 min)")


def med(v: list[float]) -> float:
    return statistics.median(v)


def span(v: list[float]) -> str:
    return f"{med(v):.3g} ({min(v):.3g}-{max(v):.3g})"


def bench_model(kind: str, args) -> list[str]:
    P, n = args.paths, args.steps
    ps = P * n
    # key -> list over rounds of (path-steps per wall second, per CPU second)
    rows: dict[str, list[tuple[float, float]]] = {}
    work: dict[str, str] = {}

    def add(key: str, label: str, units: float, took: tuple[float, float]) -> None:
        rows.setdefault(key, []).append((units / took[0], units / max(took[1], 1e-9)))
        work[key] = label

    # warm-ups (compilation, disk caches, JIT)
    _, ens = run_symavg(kind, 4096, 2)
    schemes = {str(k): v for k, v in ens.schemes.items()}
    _, ens_e = run_symavg(kind, 4096, 2, "euler")
    schemes_e = {str(k): v for k, v in ens_e.schemes.items()}
    raw_normals(2 * 4096)
    raw_sin(4096 * THREADS)
    raw_draw_sin(4096 * THREADS)
    numpy_em(kind, 1000, 2)
    dfx_steps = None
    if args.diffrax:
        try:
            dfx_steps = diffrax_setup(kind, args.diffrax_paths, n)
        except Exception as exc:                 # not installed / API change
            print(f"diffrax skipped: {exc!r}", file=sys.stderr)
    sde_ok = args.sdeint
    if sde_ok:
        try:
            sdeint_em(kind, 1, 10)
        except Exception as exc:
            print(f"sdeint skipped: {exc!r}", file=sys.stderr)
            sde_ok = False

    grid = f"{P:,} x {n}"
    for r in range(args.rounds):
        add("auto", grid, ps, run_symavg(kind, P, n)[0])
        add("euler", grid, ps, run_symavg(kind, P, n, "euler")[0])
        # the same count of normals as symavg draws (2 per path-step); rate in path-steps
        add("raw", f"{2 * ps:,} normals", ps, raw_normals(2 * ps))
        if kind == "sin":
            add("raw sin", f"{ps:,} sin", ps, raw_sin(ps))
            add("raw floor", f"{ps:,} x (2 normals + sin)", ps, raw_draw_sin(ps))
        add("numpy", grid, ps, numpy_em(kind, P, n)[0])
        if dfx_steps is not None:
            took, done = diffrax_em(kind)
            add("diffrax", f"{args.diffrax_paths:,} x {done}", args.diffrax_paths * done, took)
        if sde_ok:
            sp_ = args.sdeint_paths * args.sdeint_steps
            add("sdeint", f"{args.sdeint_paths} x {args.sdeint_steps}", sp_,
                sdeint_em(kind, args.sdeint_paths, args.sdeint_steps))
        print(f"[{kind}] round {r + 1}/{args.rounds}: symavg {rows['auto'][-1][0] / 1e6:.1f}, "
              f"euler {rows['euler'][-1][0] / 1e6:.1f}, raw {rows['raw'][-1][0] / 1e6:.1f}, "
              f"numpy {rows['numpy'][-1][0] / 1e6:.1f} M path-steps/s", file=sys.stderr)

    M = 1e6
    title = {"ou": "c(x) = x (RNG-bound)", "sin": "c(x) = sin(x) (libm sin on top)"}[kind]
    names = {
        "auto": f"`sa.simulate`, default scheme {schemes}",
        "euler": f"`sa.simulate`, `scheme=\"euler\"` {schemes_e}",
        "raw": f"(a) raw limit: numba loop that only draws the normals, {THREADS} threads",
        "raw sin": f"(a) numba loop that only evaluates `math.sin`, {THREADS} threads",
        "raw floor": f"(a) numba loop: 2 normals + 1 `sin` per path-step, {THREADS} threads",
        "numpy": "(b) plain vectorised NumPy EM (1 thread)",
        "sdeint": "(c) sdeint `itoEuler`, one path per call",
        "diffrax": "(d) diffrax `Euler` + `UnsafeBrownianPath`, `jit(vmap)`, JAX CPU f64",
    }
    out = [f"**Model {kind}: {title}**; {args.rounds} rounds, median (min-max) over rounds. "
           "Rates in path-steps (for the raw loops: per 2 normals, per sin, per "
           "2 normals + sin); 'per CPU-s' divides by the CPU time of all threads of the "
           "process, so it does not depend on how much of the machine other jobs took.", "",
           "| what | work per round | M path-steps/s (wall) | M path-steps per CPU-s |",
           "| --- | --- | --- | --- |"]
    for key in names:
        if key in rows:
            v = rows[key]
            out.append(f"| {names[key]} | {work[key]} | {span([w / M for w, _ in v])} | "
                       f"{span([c_ / M for _, c_ in v])} |")
    out += ["", "| symavg relative to (per-round ratios, median (min-max)) | default scheme, "
            "wall | euler, wall | default scheme, per CPU-s | euler, per CPU-s |",
            "| --- | --- | --- | --- | --- |"]
    refs = [k for k in ("raw", "raw floor", "numpy", "diffrax", "sdeint") if k in rows]
    for ref in refs:
        cells = [span([a[i] / b_[i] for a, b_ in zip(rows[mine], rows[ref])])
                 for i in (0, 1) for mine in ("auto", "euler")]   # header order
        label = {"raw": "(a) raw normals limit (= ratio of normals/s: both draw 2 per "
                        "path-step)",
                 "raw floor": "(a) raw floor, normals + sin"}.get(ref, names[ref].split(" ")[0]
                                                                  + " " + ref)
        out.append(f"| {label} | " + " | ".join(cells) + " |")
    return out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--quick", action="store_true", help="small sizes, 2 rounds")
    ap.add_argument("--rounds", type=int, default=None)
    ap.add_argument("--no-memory", dest="memory", action="store_false")
    ap.add_argument("--no-diffrax", dest="diffrax", action="store_false")
    ap.add_argument("--no-sdeint", dest="sdeint", action="store_false")
    ap.add_argument("--models", default="ou,sin")
    ap.add_argument("--memory-child", nargs=3, metavar=("WHAT", "PATHS", "STEPS"))
    args = ap.parse_args()
    if args.memory_child:
        w, p, s = args.memory_child
        memory_child(w, int(p), int(s))
        return
    args.paths = 100_000
    args.steps = 100 if args.quick else 500
    args.rounds = args.rounds or (2 if args.quick else 5)
    args.sdeint_paths, args.sdeint_steps = (5, 500) if args.quick else (20, 1000)
    args.diffrax_paths = 100_000
    started = time.strftime("%Y-%m-%d %H:%M")
    out = [f"Run {started}, `python benchmarks/bench_simulate.py"
           f"{' --quick' if args.quick else ''}`; eps = {EPS}, dt = {DT}, x0 = {X0}, "
           "y0 from its invariant law N(0, 1).", ""]
    for kind in args.models.split(","):
        out += bench_model(kind, args) + [""]
    if args.memory:
        P, n = (1_000_000, 20) if args.quick else (1_000_000, 50)
        mem = memory(P, n)
        s, v = mem["symavg"], mem["numpy-store"]
        MB = 2**20
        out += [f"**Memory, model ou, {P:,} paths x {n} steps** (fresh process each; peak "
                "RSS reset after imports and warm-up"
                f"{'' if s['reset'] else ' FAILED: HWM includes start-up'})", "",
                "| what | kept result | tracemalloc peak | peak RSS - RSS before |",
                "| --- | --- | --- | --- |"]
        for name, d in (("`sa.simulate` (saves t = 0, T)", s),
                        ("NumPy EM storing every step", v)):
            out.append(f"| {name} | {d['kept'] / MB:.0f} MiB | {d['traced_peak'] / MB:.0f} MiB"
                       f" | {(d['hwm'] - d['rss_before']) / MB:.0f} MiB |")
        out.append("")
    out.append("Machine: " + versions())
    print("\n".join(out))


if __name__ == "__main__":
    main()
