"""Standard normals per second: the generators a numba kernel could use (issue 13, item 3).

``python benchmarks/bench_normals.py [--n 20000000] [--rounds 5]`` times, in one
thread, drawing ``n`` standard normals into a buffer with

* (a) ``np.random.Generator(PCG64).standard_normal(size)``, vectorised NumPy (the
  NumPy backend's draw);
* (b) a numba loop calling ``rng.standard_normal()`` on the same ``Generator`` (what
  the numba kernels do now: PCG64 + NumPy's ziggurat, one call per normal);
* (c) a numba loop calling the legacy ``np.random.standard_normal()`` (numba's
  per-thread Mersenne Twister, polar method);
* (d) a numba loop with a xoshiro256** bit generator and the
  Box-Muller transform written out (two normals per two 53-bit uniforms);

and, for scale, (e) ``sa.simulate`` of the README model per path-step with its two
normals per path-step (one thread: ``chunk_size`` = paths, serial executor). Best of
``rounds`` interleaved rounds. Results are recorded in benchmarks/README.md.
"""

from __future__ import annotations

import argparse
import os
import time

import numba
import numpy as np
import sympy as sp


@numba.njit(cache=True, nogil=True)
def _gen_loop(rng, out):
    for i in range(out.shape[0]):
        out[i] = rng.standard_normal()


@numba.njit(cache=True, nogil=True)
def _legacy_loop(out):
    for i in range(out.shape[0]):
        out[i] = np.random.standard_normal()


@numba.njit(cache=True, nogil=True)
def _rotl(x, k):
    return (x << np.uint64(k)) | (x >> np.uint64(64 - k))


@numba.njit(cache=True, nogil=True, inline="always")
def _next(s):
    """One 53-bit uniform in (0, 1] from xoshiro256** (Blackman & Vigna 2018)."""
    r = _rotl(s[1] * np.uint64(5), 7) * np.uint64(9)
    t = s[1] << np.uint64(17)
    s[2] ^= s[0]
    s[3] ^= s[1]
    s[1] ^= s[2]
    s[0] ^= s[3]
    s[2] ^= t
    s[3] = _rotl(s[3], 45)
    return ((r >> np.uint64(11)) + 1) * (1.0 / 9007199254740992.0)


@numba.njit(cache=True, nogil=True)
def _xoshiro_box_muller(s, out):
    n = out.shape[0]
    two_pi = 2.0 * np.pi
    for i in range(0, n - 1, 2):
        u1 = _next(s)
        u2 = _next(s)
        rad = np.sqrt(-2.0 * np.log(u1))
        out[i] = rad * np.cos(two_pi * u2)
        out[i + 1] = rad * np.sin(two_pi * u2)


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--n", type=int, default=20_000_000)
    ap.add_argument("--rounds", type=int, default=5)
    args = ap.parse_args()
    n = args.n
    out = np.empty(n)
    rng = np.random.default_rng(1)
    state = np.array([0x9E3779B97F4A7C15, 0xBF58476D1CE4E5B9, 0x94D049BB133111EB,
                      0x2545F4914F6CDD1D], dtype=np.uint64)
    _gen_loop(rng, out[:10])
    _legacy_loop(out[:10])
    _xoshiro_box_muller(state, out[:10])

    import symavg as sa

    eps = sa.epsilon
    x, y = sp.symbols("x y", real=True)
    model = sa.SDE([x, y], [x * y / eps, -y / eps**2], noise=[[1], [sp.sqrt(2) / eps]])
    paths, steps = 20_000, 500
    kw = dict(eps=0.1, paths=paths, dt=1e-4, seed=1, progress=False, chunk_size=paths)
    sa.simulate(model, {x: 0.5}, 1e-4 * 10, **{**kw, "paths": 100, "chunk_size": 100})
    best: dict[str, float] = {}

    def timed(name: str, f, count: int) -> None:  # noqa: ANN001
        t0 = time.perf_counter()
        f()
        rate = count / (time.perf_counter() - t0) / 1e6
        best[name] = max(best.get(name, 0.0), rate)

    print("load average before:", os.getloadavg())
    for _ in range(args.rounds):
        timed("(a) NumPy Generator.standard_normal(size)", lambda: rng.standard_normal(out=out), n)
        timed("(b) numba loop, Generator.standard_normal()", lambda: _gen_loop(rng, out), n)
        timed("(c) numba loop, legacy np.random.standard_normal()", lambda: _legacy_loop(out), n)
        timed("(d) numba loop, xoshiro256** + Box-Muller", lambda: _xoshiro_box_muller(state, out),
              n)
        timed("(e) sa.simulate, README model, normals drawn (2 per path-step)",
              lambda: sa.simulate(model, {x: 0.5}, 1e-4 * steps, **kw), 2 * paths * steps)
    for k, v in best.items():
        print(f"| {k} | {v:.0f} M normals/s |")
    print("load average after:", os.getloadavg())


if __name__ == "__main__":
    main()
