"""Wall-clock time of each application derivation (the models of tests/test_applications.py).

Usage::

    python benchmarks/bench_derive.py [--repeat N]

Each derivation runs ``N`` times (default 5) in this process; before every run the
SymPy cache is cleared, so a run does not reuse the previous run's results. The
table gives the best run and the first run of the process (which also pays for
one-off imports inside SymPy), then the machine: ``lscpu`` model, cores, Python
and SymPy versions, and the date. Not a test: times depend on the machine and on
what else runs on it.
"""

from __future__ import annotations

import argparse
import datetime
import os
import platform
import subprocess
import time
from collections.abc import Callable

import sympy as sp
from sympy.core.cache import clear_cache

import symavg as sa

eps = sa.epsilon
x, y, eta = sp.symbols("x y eta", real=True)
x1, x2 = sp.symbols("x1 x2", real=True)
D, V0, U0, U1, k, s, alpha, lam = sp.symbols("D V0 U0 U1 k s alpha lambda", positive=True)
kp, gm, V = sp.symbols("k_p gamma V", positive=True)
F, gam, sig, f, c = (sp.Function(n)(x) for n in ("F", "gamma", "sigma", "f", "c"))


def kramers_1d() -> sa.EffectiveModel:
    return sa.smoluchowski_kramers([x], [F], gam, sig)


def kramers_matrix() -> sa.EffectiveModel:
    G = sp.Matrix([[1 + x1**2, x2], [-x2, 1 + x1**2]])
    return sa.smoluchowski_kramers([x1, x2], [-k * x1, -k * x2], G, s * (1 + x2**2) * sp.eye(2))


def averaging_removes_noise() -> sa.EffectiveModel:
    m = sa.SDE([x, y], [f + c * y, -alpha * y / eps], noise=[0, sp.sqrt(2 * alpha / eps)])
    return sa.reduce(m, [y])


def ou_creates_noise() -> sa.EffectiveModel:
    m = sa.SDE([x, y], [lam * y / eps, -alpha * y / eps**2], noise=[0, s / eps])
    return sa.reduce(m, [y])


def multiplicative_noise() -> sa.EffectiveModel:
    m = sa.SDE([x, y], [sig * y / eps, -alpha * y / eps**2],
               noise=[0, sp.sqrt(2 * alpha) / eps])
    return sa.reduce(m, [y])


def lifson_jackson() -> sa.EffectiveModel:
    m = sa.SDE([x, y], [V0 * sp.sin(y) / eps, V0 * sp.sin(y) / eps**2],
               noise=[[sp.sqrt(2 * D)], [sp.sqrt(2 * D) / eps]], periodic={y: 2 * sp.pi})
    return sa.reduce(m, [y])


def periodic_diffusion_1d() -> sa.EffectiveModel:
    a = D / (1 + k + k * sp.cos(y))
    m = sa.SDE([x, y], [sp.diff(a, y) / eps, sp.diff(a, y) / eps**2],
               noise=[[sp.sqrt(2 * a)], [sp.sqrt(2 * a) / eps]], periodic={y: 2 * sp.pi})
    return sa.reduce(m, [y])


def taylor_dispersion() -> sa.EffectiveModel:
    U = U0 * sp.cos(y) + U1 * sp.sin(2 * y)
    m = sa.SDE([x, y], [U / eps, 0], noise=[sp.sqrt(2 * D), sp.sqrt(2 * D) / eps],
               periodic={y: 2 * sp.pi})
    return sa.reduce(m, [y])


def _cle(production: sp.Expr, degradation: sp.Expr) -> sa.SDE:
    return sa.SDE([x, eta], [production - degradation * x, -alpha * eta / eps**2],
                  noise=[sp.sqrt((kp + gm * x) / V), sp.sqrt(2 * alpha) / eps])


def cle_noisy_production() -> sa.EffectiveModel:
    return sa.reduce(_cle(kp + s * eta / eps, gm), [eta])


def cle_noisy_degradation() -> sa.EffectiveModel:
    return sa.reduce(_cle(kp, gm + s * eta / eps), [eta])


z = sp.Symbol("z", real=True)


def nested_rate() -> sa.EffectiveModel:
    m = sa.SDE([x, y, z], [y, (k - (2 + sp.cos(z)) * y) / eps, 0],
               noise=[0, sp.sqrt(2 / eps), sp.sqrt(2) / eps], periodic={z: 2 * sp.pi})
    return sa.reduce(m, [y, z])


def nested_noise() -> sa.EffectiveModel:
    m = sa.SDE([x, y, z], [y**2 - x, -y / eps + z / eps**sp.Rational(3, 2), -z / eps**2],
               noise=[0, 0, sp.sqrt(2) / eps])
    return sa.reduce(m)


def diffusive_scale() -> sa.EffectiveModel:
    m = sa.SDE([x, y], [sig * y, -y / eps], noise=[0, sp.sqrt(2 / eps)])
    return sa.reduce(m, [y], timescale="diffusive")


def nested_tilted_ou() -> sa.EffectiveModel:
    drx = V0 * sp.sin(y) / eps + U0 + U1 * eta / sp.sqrt(eps)
    m = sa.SDE([x, y, eta], [drx, drx / eps, -eta / eps],
               noise=[[sp.sqrt(2 * D), 0], [sp.sqrt(2 * D) / eps, 0], [0, sp.sqrt(2 / eps)]],
               periodic={y: 2 * sp.pi})
    return sa.reduce(m, [y, eta])


APPLICATIONS: list[tuple[str, Callable[[], sa.EffectiveModel]]] = [
    ("Smoluchowski-Kramers, 1-D, gamma(x), sigma(x)", kramers_1d),
    ("Smoluchowski-Kramers, 2-D matrix friction", kramers_matrix),
    ("averaging removes noise (fast OU in the drift)", averaging_removes_noise),
    ("homogenization creates noise (Green-Kubo)", ou_creates_noise),
    ("multiplicative coupling, Stratonovich drift", multiplicative_noise),
    ("Lifson-Jackson, V0 cos y", lifson_jackson),
    ("1-D periodic diffusion, harmonic mean", periodic_diffusion_1d),
    ("Taylor dispersion, two-mode shear", taylor_dispersion),
    ("CLE, noisy production rate", cle_noisy_production),
    ("CLE, noisy degradation rate", cle_noisy_degradation),
    ("nested: rate a(z) of y averaged first (b/<a>)", nested_rate),
    ("nested: super-fast OU noise passed to y", nested_noise),
    ("vanishing drift, diffusive scale s = eps t", diffusive_scale),
    ("nested: tilted periodic potential, OU tilt", nested_tilted_ou),
]


def _time(fn: Callable[[], sa.EffectiveModel], repeat: int) -> tuple[float, float, bool]:
    times = []
    ok = True
    for _ in range(repeat):
        clear_cache()
        t0 = time.perf_counter()
        red = fn()
        times.append(time.perf_counter() - t0)
        ok = ok and red.steps.passed
    return min(times), times[0], ok


def _machine() -> str:
    model = platform.processor() or "unknown"
    try:
        out = subprocess.run(["lscpu"], capture_output=True, text=True, check=False).stdout
        for line in out.splitlines():
            if line.startswith("Model name:"):
                model = line.split(":", 1)[1].strip()
    except OSError:
        pass
    return (f"{model}, {os.cpu_count()} CPUs; Python {platform.python_version()}, "
            f"SymPy {sp.__version__}; {datetime.date.today().isoformat()}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=5)
    args = parser.parse_args()
    print(f"Machine: {_machine()}")
    print(f"Best of {args.repeat} runs, SymPy cache cleared before each run.\n")
    print("| application | best (s) | first run (s) | all checks passed |")
    print("| --- | --- | --- | --- |")
    worst = 0.0
    for name, fn in APPLICATIONS:
        best, first, ok = _time(fn, args.repeat)
        worst = max(worst, best)
        print(f"| {name} | {best:.2f} | {first:.2f} | {'yes' if ok else 'NO'} |", flush=True)
    print(f"\nslowest (best of {args.repeat}): {worst:.2f} s; target < 2 s")


if __name__ == "__main__":
    main()
