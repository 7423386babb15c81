"""Benchmark: periodic two-phase cell problems, FFT-preconditioned CG vs sparse direct.

Run:  python benchmarks/bench_cell_fft.py [--quick]

Times, side by side on the same discretisation (cell-centred finite volumes,
harmonic face conductances, see symavg.spatial.fv):

* 512 x 512 two-phase cell (disc inclusion, volume fraction 0.3, contrast 10):
  FFT-preconditioned CG (symavg.spatial.FVProblem) vs scipy.sparse.linalg.spsolve;
  plus the Fourier-Galerkin (Moulinec-Suquet) solver on the same pixels;
* 128^3 two-phase cell (sphere inclusion): FFT-preconditioned CG and Fourier-Galerkin
  (a sparse direct solve of 2M unknowns does not fit in memory/time here; 32^3 is
  timed instead for reference).

Each entry is the best of ``repeat`` runs; both load cases (e_1, e_2[, e_3]) included.

``--gmres``: the flow cell problem of symavg.spatial.flow (cellular flow, kappa 0.1 and
0.02, n = 128) with its own restarted GMRES (einsum inner products) against
scipy.sparse.linalg.gmres (BLAS inner products) on the same operator, interleaved,
best of 3. Run it once as is and once with OPENBLAS_NUM_THREADS=1.
"""

from __future__ import annotations

import os
import platform
import subprocess
import sys
import time

import numpy as np

from symavg.spatial.fft_solver import spectral_effective_tensor
from symavg.spatial.fv import FVProblem, periodic_direct


def inclusion(n: int, d: int, fraction: float = 0.3, contrast: float = 10.0) -> np.ndarray:
    x = (np.arange(n) + 0.5) / n - 0.5
    X = np.meshgrid(*([x] * d), indexing="ij")
    r2 = sum(c**2 for c in X)
    radius = (fraction / np.pi) ** 0.5 if d == 2 else (3 * fraction / (4 * np.pi)) ** (1 / 3)
    return np.where(r2 <= radius**2, contrast, 1.0)


def best(fn, repeat: int) -> tuple[float, object]:
    out, t = None, float("inf")
    for _ in range(repeat):
        t0 = time.perf_counter()
        out = fn()
        t = min(t, time.perf_counter() - t0)
    return t, out


def main(quick: bool = False) -> None:
    n2 = 128 if quick else 512
    n3 = 32 if quick else 128
    print(f"python {platform.python_version()}, numpy {np.__version__}")
    try:
        cpu = subprocess.run(["lscpu"], capture_output=True, text=True).stdout
        print("\n".join(line for line in cpu.splitlines()
                        if line.split(":")[0] in ("Model name", "CPU(s)", "Thread(s) per core")))
    except OSError:
        pass
    a = inclusion(n2, 2)
    t_fft, sol = best(lambda: FVProblem(a, "periodic").apparent_tensor(tol=1e-10), 3)
    t_dir, A_dir = best(lambda: periodic_direct(a), 1)
    t_spec, spec = best(lambda: spectral_effective_tensor(a, (1.0, 1.0), tol=1e-10), 3)
    print(f"\n2-D {n2}x{n2}, disc inclusion f=0.3, contrast 10")
    print(f"  FV + FFT-preconditioned CG : {t_fft:8.3f} s  A11={sol.tensor[0, 0]:.8f} "
          f"iterations {sol.iterations}")
    print(f"  FV + sparse direct (spsolve): {t_dir:8.3f} s  A11={A_dir[0, 0]:.8f} "
          f"|diff|={np.max(np.abs(A_dir - sol.tensor)):.1e}")
    print(f"  Fourier-Galerkin CG        : {t_spec:8.3f} s  A11={spec.tensor[0, 0]:.8f} "
          f"iterations {spec.iterations}")
    b = inclusion(n3, 3)
    t3, sol3 = best(lambda: FVProblem(b, "periodic").apparent_tensor(tol=1e-8), 1)
    t3s, spec3 = best(lambda: spectral_effective_tensor(b, (1.0, 1.0, 1.0), tol=1e-8), 1)
    print(f"\n3-D {n3}^3, sphere inclusion f=0.3, contrast 10 (tol 1e-8)")
    print(f"  FV + FFT-preconditioned CG : {t3:8.3f} s  A11={sol3.tensor[0, 0]:.6f} "
          f"iterations {sol3.iterations}")
    print(f"  Fourier-Galerkin CG        : {t3s:8.3f} s  A11={spec3.tensor[0, 0]:.6f} "
          f"iterations {spec3.iterations}")
    c = inclusion(32, 3)
    t3d, A3d = best(lambda: periodic_direct(c), 1)
    t3f, s3f = best(lambda: FVProblem(c, "periodic").apparent_tensor(tol=1e-10), 3)
    print(f"  (32^3 for reference: sparse direct {t3d:.3f} s, FFT-CG {t3f:.3f} s, "
          f"|diff|={np.max(np.abs(A3d - s3f.tensor)):.1e})")


def bench_gmres(repeat: int = 3) -> None:
    """Own GMRES vs scipy's on the flow cell problem (same operator, same restart)."""
    import sympy as sp
    from scipy.sparse.linalg import LinearOperator, gmres

    import symavg.spatial.flow as flow

    y1, y2 = sp.symbols("y1 y2", real=True)
    fns = [sp.lambdify((y1, y2), c, "numpy")
           for c in (sp.sin(y1) * sp.cos(y2), -sp.cos(y1) * sp.sin(y2))]
    own = flow._gmres

    def scipy_gmres(op, b, tol, restart=40, maxiter=200):
        A = LinearOperator((b.size, b.size), matvec=op, dtype=float)
        x, info = gmres(A, b, rtol=tol, atol=0.0, restart=restart, maxiter=maxiter * restart)
        if info != 0:
            raise RuntimeError(f"scipy gmres info={info}")
        return x, 0

    print(f"\nflow cell problem, OPENBLAS_NUM_THREADS={os.environ.get('OPENBLAS_NUM_THREADS')}")
    try:
        for kappa, n in [(0.1, 128), (0.02, 128)]:
            best = {"own GMRES (einsum)": float("inf"), "scipy gmres (BLAS)": float("inf")}
            K = {}
            for _ in range(repeat):
                for name, g in zip(best, (own, scipy_gmres)):
                    flow._gmres = g
                    t0 = time.perf_counter()
                    Kn, _ = flow._solve(fns, (2 * np.pi, 2 * np.pi), kappa, n, 1e-13)
                    best[name] = min(best[name], time.perf_counter() - t0)
                    K[name] = Kn[0, 0]
            print(f"  kappa={kappa}, n={n}: " + ", ".join(
                f"{k} {v:.3f} s (K11={K[k]:.14f})" for k, v in best.items()))
    finally:
        flow._gmres = own


if __name__ == "__main__":
    if "--gmres" in sys.argv:
        bench_gmres()
    else:
        main(quick="--quick" in sys.argv)
