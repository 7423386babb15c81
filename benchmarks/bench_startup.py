"""Start-up costs: ``import symavg``, the first ``simulate`` with a cold kernel cache
(numba compilation), and with a warm one, each in a fresh process.

``python benchmarks/bench_startup.py [--rounds 3]``; results in benchmarks/README.md.
"""

from __future__ import annotations

import argparse
import os
import resource
import statistics
import subprocess
import sys
import tempfile
import textwrap

IMPORT = "import time; t = time.perf_counter(); import symavg; print(time.perf_counter() - t)"
#: the floor: SymPy's own import, which ``import symavg`` includes
SYMPY = "import time; t = time.perf_counter(); import sympy; print(time.perf_counter() - t)"
MODULES = textwrap.dedent("""
    import sys, symavg
    heavy = ["numpy", "scipy", "scipy.integrate", "matplotlib", "dask", "numba",
             "scipy.stats", "symavg.derive", "symavg.numeric"]
    print(",".join(m for m in heavy if m in sys.modules) or "none")
""")
FIRST = textwrap.dedent("""
    import time
    import sympy as sp
    import symavg as sa
    eps = sa.epsilon
    x, y = sp.symbols("x y", real=True)
    c = sp.Function("c")
    m = sa.SDE([x, y], [c(x) * y / eps, -y / eps**2], noise=[[1], [sp.sqrt(2) / eps]])
    f = {c: sp.Lambda(x, sp.sin(x))}
    t = time.perf_counter()
    sa.simulate(m, {x: 0.3}, 0.1, eps=0.2, paths=100, seed=0, functions=f, scheme=SCHEME)
    print(time.perf_counter() - t)
""")


CPU: list[float] = []


def run(code: str, env: dict) -> str:
    """Run ``code`` in a fresh interpreter; its CPU time (user + sys) goes to ``CPU``:
    on a loaded machine the wall time measures the load, the CPU time the work."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         env=env, check=True)
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    CPU.append(after.ru_utime - before.ru_utime + after.ru_stime - before.ru_stime)
    return out.stdout.strip()


def import_shares(env: dict) -> dict[str, float]:
    """Self time (s) of ``import symavg`` by top-level package, from ``-X importtime``."""
    out = subprocess.run([sys.executable, "-X", "importtime", "-c", "import symavg"],
                         capture_output=True, text=True, env=env, check=True)
    shares: dict[str, float] = {}
    for line in out.stderr.splitlines():
        if not line.startswith("import time:") or "self [us]" in line:
            continue
        own, _, name = line.split(":", 1)[1].split("|")
        top = name.strip().split(".")[0]
        shares[top] = shares.get(top, 0.0) + int(own) / 1e6
    return dict(sorted(shares.items(), key=lambda kv: -kv[1]))


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--rounds", type=int, default=3)
    args = ap.parse_args()
    env = dict(os.environ)
    print("load average:", os.getloadavg())
    t = [float(run(IMPORT, env)) for _ in range(args.rounds)]
    print(f"import symavg: median {statistics.median(t):.2f} s wall of {args.rounds} "
          f"({', '.join(f'{v:.2f}' for v in t)}); whole process CPU median "
          f"{statistics.median(CPU[-args.rounds:]):.2f} s")
    ts = [float(run(SYMPY, env)) for _ in range(args.rounds)]
    print(f"import sympy alone (the floor): median {statistics.median(ts):.2f} s wall "
          f"({', '.join(f'{v:.2f}' for v in ts)}); whole process CPU median "
          f"{statistics.median(CPU[-args.rounds:]):.2f} s")
    shares = import_shares(env)
    rest = sum(v for k, v in shares.items() if k not in ("sympy", "mpmath", "symavg"))
    print(f"-X importtime self times: sympy {shares.get('sympy', 0):.2f} s, mpmath "
          f"{shares.get('mpmath', 0):.2f} s, symavg's own modules {shares.get('symavg', 0):.3f}"
          f" s, the standard library and the rest {rest:.2f} s")
    print("heavy modules loaded by import symavg:", run(MODULES, env))
    for scheme in ("auto", "euler"):
        cold, warm, cold_cpu, warm_cpu = [], [], [], []
        for _ in range(args.rounds):
            with tempfile.TemporaryDirectory() as d:
                e = {**env, "SYMAVG_CACHE_DIR": d}
                code = FIRST.replace("SCHEME", repr(scheme))
                cold.append(float(run(code, e)))
                cold_cpu.append(CPU[-1])
                warm.append(float(run(code, e)))
                warm_cpu.append(CPU[-1])
        print(f"first simulate, scheme={scheme}: cold cache median "
              f"{statistics.median(cold):.1f} s wall ({', '.join(f'{v:.1f}' for v in cold)}), "
              f"whole process {statistics.median(cold_cpu):.1f} s CPU; warm cache median "
              f"{statistics.median(warm):.2f} s wall, whole process "
              f"{statistics.median(warm_cpu):.1f} s CPU")
    print("load average:", os.getloadavg())


if __name__ == "__main__":
    main()
