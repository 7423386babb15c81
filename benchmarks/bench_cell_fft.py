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
"""

from __future__ import annotations

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


if __name__ == "__main__":
    main(quick="--quick" in sys.argv)
