"""Cost of the box-grid Hamiltonian (fast variables on the line, ``symavg/derive/ldp_grid.py``).

``python benchmarks/bench_ldp_grid.py``: two coupled fast variables in the quartic
potential ``U = (y1^2 + y2^2)^2 / 4`` with ``f = k . grad U`` (exact ``H = 5.5 p^2``).

1. One evaluation of ``H`` (the fitted box, ``n`` and ``2 n`` points per axis,
   Richardson): wall time and error against the exact value, for the reversible drift
   (ground-state transform, ``n = 32, 48``) and the rotated one (fitted grid,
   ``n = 32, 64``).
2. The eigen-solve alone on the finest matrix (``2 n`` points per axis): symavg's
   shift-invert Lanczos (SuperLU factorisation, ``scipy.sparse.linalg.eigsh``) against the
   peers on the same matrix: dense ``numpy.linalg.eigvalsh`` and ``eigsh(which="LA")``
   without a shift (plain Lanczos).
"""

from __future__ import annotations

import os
import platform
import time

import numpy as np
import sympy as sp

import symavg as sa
from symavg.derive import ldp_grid as G
from symavg.derive.ldp import tilted_generator

x, p, y1, y2 = sp.symbols("x p y1 y2", real=True)
eps = sa.epsilon


def model(gamma: int = 0) -> sa.SDE:
    """The quartic fast drift, rotated by ``gamma`` (non-reversible for gamma != 0), with
    f = -k . b: H = 5.5 p^2 either way."""
    U = (y1**2 + y2**2) ** 2 / 4
    g1, g2 = sp.diff(U, y1), sp.diff(U, y2)
    b = [-g1 - gamma * g2, -g2 + gamma * g1]
    return sa.SDE([x, y1, y2], [sp.expand(-(b[0] + 2 * b[1])), b[0] / eps, b[1] / eps],
                  diffusion=sp.diag(eps, 2 / eps, 2 / eps))


def best(fn, repeat: int = 3) -> float:  # noqa: ANN001
    out = []
    for _ in range(repeat):
        t = time.perf_counter()
        fn()
        out.append(time.perf_counter() - t)
    return min(out)


def main() -> None:
    from scipy.sparse.linalg import eigsh

    print(f"# {platform.processor() or platform.machine()}, {os.cpu_count()} cores, "
          f"load {os.getloadavg()[0]:.2f}")
    print("| route | n | p | one evaluation (box fit, n and 2n) | error vs 5.5 p^2 |")
    print("| --- | --- | --- | --- | --- |")
    for gamma, ns in ((0, (32, 48)), (1, (32, 64))):
        Tg = tilted_generator(model(gamma), [y1, y2], p)
        for n in ns:
            out = G.box_grid_route(Tg, n)
            fn = out["numeric"]({})
            for pv in (0.5, 2.0):
                xs, ps = np.array([0.5]), np.array([pv])
                t = time.perf_counter()
                val = fn(xs, ps)
                wall = time.perf_counter() - t
                print(f"| {out['strategy'].split('(')[1][:-1]} | {n} | {pv} | {wall:.3f} s | "
                      f"{val - 5.5 * pv**2:.1e} |")
    T = tilted_generator(model(), [y1, y2], p)
    # the eigen-solve alone on the fine matrix (2n = 96 points per axis)
    fU = sp.lambdify([T.slow, T.momentum, y1, y2],
                     G.ground_state_potential(T)[1], "numpy")
    grid = G.TensorGrid([G.Axis(-3.5, 3.5, 96)] * 2)
    A = np.diag([2.0, 2.0])
    pot = np.asarray(fU((0.5,), (0.5,), *grid.points), float)
    M = G.schrodinger_matrix(grid, A, pot)
    bound = G.upper_bound(A, pot, grid)
    t_si = best(lambda: G.largest_eigenpair(M, bound))
    t_la = best(lambda: eigsh(M, k=1, which="LA", tol=1e-12), repeat=1)
    t_dense = best(lambda: np.linalg.eigvalsh(M.toarray()), repeat=1)
    lam = G.largest_eigenpair(M, bound)[0]
    print(f"\n9216 unknowns: shift-invert {t_si:.3f} s (lambda = {lam:.6f}); "
          f"plain Lanczos LA {t_la:.3f} s ({t_la / t_si:.0f}x); "
          f"dense eigvalsh {t_dense:.2f} s ({t_dense / t_si:.0f}x); "
          f"load {os.getloadavg()[0]:.2f}")


if __name__ == "__main__":
    main()
