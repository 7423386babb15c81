r"""Effective diffusivity of a periodic incompressible flow (Fourier-Galerkin).

For :math:`dX = \varepsilon^{-1}u(X/\varepsilon)\,dt + \sqrt{2\kappa}\,dW` with
:math:`u` smooth, divergence-free and mean-zero on the torus
:math:`\mathbb T = [0,L_1)\times[0,L_2)`, :math:`X` converges to a Brownian
motion with covariance :math:`2K` (Pavliotis & Stuart 2008, ch. 13;
Majda & Kramer 1999), where

.. math::

    -(u\cdot\nabla_y + \kappa\Delta_y)\,\chi = u,\qquad
    K = \kappa I + \operatorname{sym}\langle u\otimes\chi\rangle .

The cell problem is solved pseudo-spectrally: with :math:`P = \kappa|k|^2`
the Laplacian on mean-zero modes, the preconditioned equation
:math:`\chi - P^{-1}(u\cdot\nabla\chi) = P^{-1}u` (identity plus a compact
operator) is solved by GMRES to round-off; the result is spectrally accurate
in the grid size for analytic ``u``. Shear-flow check (Taylor dispersion): for
:math:`u = (U\cos y_2, 0)` on :math:`[0,2\pi)^2`,
:math:`K_{11} = \kappa + U^2/(2\kappa)`, :math:`K_{22} = \kappa`.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import sympy as sp

from .._sympy_util import zero_check
from ..errors import CenteringError, ModelError
from ..report.averages import grid_average_record
from ..report.calls import given, keyword_arguments, recorded
from ..report.derivation import Check, Derivation, Step
from .fv import SolverError


@dataclass(frozen=True)
class FlowResult:
    """Effective diffusivity of a periodic flow.

    Attributes
    ----------
    K : ndarray (2, 2)
        :math:`\\kappa I + \\operatorname{sym}\\langle u\\otimes\\chi\\rangle` on the finest grid.
    convergence : tuple of (n, K, change)
    peclet : float
        :math:`\\max|u|\\,L/\\kappa` with ``L`` the larger period over ``2 pi``.
    steps : Derivation
    """

    K: np.ndarray
    convergence: tuple[tuple[int, np.ndarray, float], ...]
    peclet: float
    steps: Derivation


def _gmres(op: Any, b: np.ndarray, tol: float, restart: int = 40,
           maxiter: int = 200) -> tuple[np.ndarray, int]:
    """Restarted GMRES (modified Gram-Schmidt, Givens rotations) with ``einsum`` inner
    products: no BLAS threads, which contend badly with other work on small machines.
    Returns ``(x, restarts used)``; raises :class:`SolverError` if not converged."""
    def dot(u: np.ndarray, v: np.ndarray) -> float:
        return float(np.einsum("i,i->", u, v))

    x = np.zeros_like(b)
    bnorm = np.sqrt(dot(b, b))
    if bnorm == 0:
        return x, 0
    for outer in range(maxiter):
        r = b - op(x)
        beta = np.sqrt(dot(r, r))
        if beta <= tol * bnorm:
            return x, outer
        V = [r / beta]
        H = np.zeros((restart + 1, restart))
        cs = np.zeros(restart)
        sn = np.zeros(restart)
        e = np.zeros(restart + 1)
        e[0] = beta
        k = 0
        for k in range(restart):
            w = op(V[k])
            for i in range(k + 1):
                H[i, k] = dot(w, V[i])
                w = w - H[i, k] * V[i]
            H[k + 1, k] = np.sqrt(dot(w, w))
            V.append(w / H[k + 1, k] if H[k + 1, k] > 0 else w)
            for i in range(k):
                t = cs[i] * H[i, k] + sn[i] * H[i + 1, k]
                H[i + 1, k] = -sn[i] * H[i, k] + cs[i] * H[i + 1, k]
                H[i, k] = t
            den = np.hypot(H[k, k], H[k + 1, k])
            cs[k], sn[k] = H[k, k] / den, H[k + 1, k] / den
            H[k, k] = den
            H[k + 1, k] = 0.0
            e[k + 1] = -sn[k] * e[k]
            e[k] = cs[k] * e[k]
            if abs(e[k + 1]) <= tol * bnorm:
                break
        m = k + 1
        yk = np.zeros(m)
        for i in range(m - 1, -1, -1):  # back substitution
            yk[i] = (e[i] - H[i, i + 1:m] @ yk[i + 1:m]) / H[i, i]
        for i in range(m):
            x = x + yk[i] * V[i]
    r = b - op(x)
    raise SolverError(f"GMRES did not converge: residual {np.sqrt(dot(r, r)) / bnorm:.1e} "
                      f"after {maxiter} restarts of {restart}")


def _solve(ufun: Any, lengths: tuple[float, float], kappa: float, n: int,
           tol: float, restart: int = 80) -> tuple[np.ndarray, float]:
    L1, L2 = lengths
    y1 = np.arange(n) * L1 / n
    y2 = np.arange(n) * L2 / n
    Y1, Y2 = np.meshgrid(y1, y2, indexing="ij")
    u = [np.broadcast_to(np.asarray(f(Y1, Y2), dtype=float), Y1.shape).copy() for f in ufun]
    k1 = 2 * np.pi / L1 * np.fft.fftfreq(n, 1.0 / n)
    k2 = 2 * np.pi / L2 * np.fft.rfftfreq(n, 1.0 / n)
    if n % 2 == 0:
        k1 = np.where(np.abs(np.fft.fftfreq(n, 1.0 / n)) == n // 2, 0.0, k1)
        k2 = np.where(np.abs(np.fft.rfftfreq(n, 1.0 / n)) == n // 2, 0.0, k2)
    K1, K2 = np.meshgrid(k1, k2, indexing="ij")
    lap = kappa * (K1**2 + K2**2)
    inv = np.where(lap > 0, 1.0 / np.where(lap > 0, lap, 1.0), 0.0)

    def pinv(f: np.ndarray) -> np.ndarray:
        return np.fft.irfft2(np.fft.rfft2(f) * inv, s=(n, n))

    def advect(c: np.ndarray) -> np.ndarray:
        ch = np.fft.rfft2(c)
        g1 = np.fft.irfft2(1j * K1 * ch, s=(n, n))
        g2 = np.fft.irfft2(1j * K2 * ch, s=(n, n))
        return u[0] * g1 + u[1] * g2

    def op(v: np.ndarray) -> np.ndarray:
        c = v.reshape(n, n)
        return (c - pinv(advect(c))).ravel()

    Kmat = kappa * np.eye(2)
    corr = np.zeros((2, 2))
    worst = 0.0
    for i in range(2):
        b = pinv(u[i]).ravel()
        try:
            chi, _ = _gmres(op, b, tol, restart)
        except SolverError as exc:
            raise SolverError(f"{exc} for the flow cell problem at n={n}; the Peclet number "
                              "may be too large: raise n or kappa.") from exc
        chi = chi.reshape(n, n)
        res = -advect(chi) - np.fft.irfft2(-lap * np.fft.rfft2(chi), s=(n, n)) - u[i]
        worst = max(worst, float(np.max(np.abs(res))))
        for j in range(2):
            corr[j, i] = float(np.mean(u[j] * chi))
    Kmat = Kmat + 0.5 * (corr + corr.T)
    return Kmat, worst


@recorded(lambda b: ("from symavg.spatial import effective_diffusivity_periodic_flow",
                     "effective_diffusivity_periodic_flow(" + keyword_arguments(b)[2:] + ")",
                     given(b)), "K")
def effective_diffusivity_periodic_flow(u: Sequence[Any], y_vars: Sequence[sp.Symbol],
                                        period: float | Sequence[float] = 2 * np.pi,
                                        kappa: float | sp.Expr = 1.0,
                                        params: Mapping[sp.Symbol, float] | None = None,
                                        n: int = 64, tol: float = 1e-13) -> FlowResult:
    r"""Effective diffusivity :math:`K` of :math:`dX = \varepsilon^{-1}u(X/\varepsilon)dt
    + \sqrt{2\kappa}dW` on the 2-D torus; see the module docstring.

    Parameters
    ----------
    u : pair of SymPy expressions in ``y_vars``
        The velocity field; must be divergence-free and have zero mean.
    y_vars : pair of Symbols
    period : float or pair of floats
    kappa : float or SymPy expression (evaluated with ``params``)
        Molecular diffusivity.
    params : dict, optional
        Values of all other symbols.
    n : int
        Finest grid; ``n/2`` and ``n`` are solved and their difference reported.

    Returns
    -------
    FlowResult
        ``K`` (the 2 x 2 effective diffusivity), the grid change between ``n/2`` and
        ``n``, and the checked derivation ``steps``.

    Examples
    --------
    >>> import sympy as sp
    >>> y1, y2 = sp.symbols("y1 y2", real=True)
    >>> r = effective_diffusivity_periodic_flow([2 * sp.cos(y2), 0], [y1, y2], kappa=0.5, n=16)
    >>> round(float(r.K[0, 0]), 10)   # kappa + U^2/(2 kappa)
    4.5
    """
    params = dict(params or {})
    if len(u) != 2 or len(y_vars) != 2:
        raise ModelError("u must be a pair of expressions and y_vars a pair of symbols "
                         "(two-dimensional torus).")
    ys = tuple(y_vars)
    lengths = (tuple(float(p) for p in period) if isinstance(period, Sequence)
               else (float(period), float(period)))
    U = [sp.sympify(c).subs(params) for c in u]
    kap = float(sp.sympify(kappa).subs(params))
    if not kap > 0:
        raise ModelError(f"kappa must be positive; got {kap}.")
    free = set().union(*(c.free_symbols for c in U)) - set(ys)
    if free:
        raise ModelError(f"u has symbols {sorted(map(str, free))} without values; pass "
                         "params={symbol: value}.")
    div = sp.diff(U[0], ys[0]) + sp.diff(U[1], ys[1])
    div_check = zero_check("div u = 0", div)
    if not div_check.passed:
        raise ModelError(f"u is not divergence-free: div u = {sp.simplify(div)}. The formula "
                         "K = kappa I + <u (x) chi> needs an incompressible flow (the invariant "
                         "measure is then uniform).")
    fns = [sp.lambdify(ys, c, "numpy") for c in U]
    m = 256
    g1, g2 = np.meshgrid(np.arange(m) * lengths[0] / m, np.arange(m) * lengths[1] / m,
                         indexing="ij")
    vals = [np.broadcast_to(np.asarray(f(g1, g2), dtype=float), g1.shape) for f in fns]
    means = [float(np.mean(v)) for v in vals]
    umax = float(np.max(np.hypot(vals[0], vals[1])))
    if max(abs(x) for x in means) > 1e-10 * max(1.0, umax):
        raise CenteringError(f"u has mean {means} over the cell; the drift eps^-1 u must be "
                             "centred for diffusive homogenization. Remove the mean flow (or "
                             "change to the frame moving with it).")
    rows = []
    prev = None
    resid = 0.0
    for level in (n // 2, n):
        Kn, resid = _solve(fns, lengths, kap, level, tol)
        change = float("nan") if prev is None else float(np.max(np.abs(Kn - prev)))
        rows.append((level, Kn, change))
        prev = Kn
    K = rows[-1][1]
    pe = umax * max(lengths) / (2 * np.pi) / kap
    checks = (
        div_check,
        Check("<u> = 0", True, "numeric", f"cell means {np.round(means, 14)}"),
        Check("cell residual -(u.grad + kappa Lap) chi - u", resid < 1e-8 * max(1.0, umax),
              "numeric", f"max residual {resid:.1e} on the {n}x{n} grid"),
        Check("grid convergence", bool(rows[-1][2] < 1e-8 * float(np.max(np.abs(K)))),
              "numeric", f"max change {rows[-1][2]:.1e} from n={n // 2} to n={n}"),
        Check("K - kappa I positive semidefinite",
              bool(np.linalg.eigvalsh(K - kap * np.eye(2)).min() > -1e-10 * kap), "numeric",
              "eigenvalues of K - kappa I: "
              f"{np.round(np.linalg.eigvalsh(K - kap * np.eye(2)), 10)}"),
    )
    steps = Derivation("Effective diffusivity of a periodic flow", (
        Step("cell problem", r"Solve $-(u\cdot\nabla_y + \kappa\Delta_y)\chi = u$ on the torus "
             r"(pseudo-spectral, GMRES with the Laplacian as preconditioner).",
             (("u", sp.Matrix(U)), (r"\kappa", sp.Float(kap)))),
        Step("effective diffusivity", r"$K = \kappa I + \mathrm{sym}\langle u\otimes\chi\rangle$, "
             r"the average over the $N$ points $y_j$ of the grid (exact for the "
             r"trigonometric polynomials of the pseudo-spectral solution).",
             (("K", sp.Matrix(np.round(K, 13))),), checks, "Fourier-Galerkin",
             averages=(grid_average_record(
                 r"\mathrm{sym}\langle u\otimes\chi\rangle", r"\mathrm{sym}(u\otimes\chi)",
                 sp.Matrix(np.round(K - kap * np.eye(2), 13))),)),
    ))
    return FlowResult(K, tuple(rows), pe, steps)
