r"""Initial values of fast variables: draws from their invariant law.

When ``x0`` leaves a fast variable out, the full model starts from the
invariant probability :math:`\rho(y; x_0)` of the fast process with the slow
variables frozen at :math:`x_0` (the law the fast process relaxes to in a time
:math:`O(\epsilon^{-p_0})` anyway). A sampler is a small picklable recipe,
built once in the main process and run per chunk of paths with that chunk's
random generator:

* ``gaussian``: mean :math:`m` and Cholesky factor :math:`C` of the
  covariance, :math:`y = m + C\xi`;
* ``grid``: one fast variable with a density on a bounded interval (a circle):
  inverse transform sampling on a fine grid (piecewise-linear CDF);
* ``burn-in``: no sampler in closed form; the chunk first runs the full model
  with the slow variables frozen for a few relaxation times.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import sympy as sp

from .codegen import evaluate_derived, hoist_parameter_functions


@dataclass(frozen=True)
class FastSampler:
    """A recipe for the initial values of the fast variables left out of ``x0``.

    Attributes
    ----------
    kind : {"gaussian", "grid", "burn-in", "none"}
    index : tuple of int
        Rows of the state the recipe fills.
    mean, chol : arrays
        For ``gaussian``.
    grid, cdf : arrays
        For ``grid``.
    parts : tuple of FastSampler
        Independent factors of a product measure.
    note : str
        How the law was obtained (for the ensemble's record).
    """

    kind: str
    index: tuple[int, ...] = ()
    mean: np.ndarray | None = None
    chol: np.ndarray | None = None
    grid: np.ndarray | None = None
    cdf: np.ndarray | None = None
    parts: tuple[FastSampler, ...] = field(default_factory=tuple)
    note: str = ""

    def draw(self, Z: np.ndarray, rng: np.random.Generator) -> None:
        """Fill the rows :attr:`index` of ``Z`` (shape ``(n, P)``) in place."""
        P = Z.shape[1]
        if self.kind == "gaussian":
            assert self.mean is not None and self.chol is not None
            xi = rng.standard_normal((len(self.index), P))
            Z[list(self.index)] = self.mean[:, None] + self.chol @ xi
        elif self.kind == "grid":
            assert self.grid is not None and self.cdf is not None
            u = rng.random(P)
            Z[self.index[0]] = np.interp(u, self.cdf, self.grid)
        elif self.kind == "product":
            for part in self.parts:
                part.draw(Z, rng)

    def pair_up(self, Z: np.ndarray) -> None:
        """Antithetic starts: the paths ``2j + 1`` get the reflection ``2m - y`` of the
        Gaussian draw ``y`` of path ``2j`` (the same law), other laws the same draw."""
        for part in (self.parts if self.kind == "product" else (self,)):
            rows = list(part.index)
            if part.kind == "gaussian":
                assert part.mean is not None
                Z[rows, 1::2] = 2 * part.mean[:, None] - Z[rows, 0::2]
            elif part.kind == "grid":
                Z[rows, 1::2] = Z[rows, 0::2]


def _num(expr: sp.Expr, values: Mapping[sp.Symbol, float]) -> float:
    hoisted, derived = hoist_parameter_functions([sp.sympify(expr)], [])
    vals = evaluate_derived(derived, values)
    e = hoisted[0].xreplace({k: sp.Float(v) for k, v in {**values, **vals}.items()})
    return float(sp.N(e))


def sampler_from_measure(measure: Any, state: tuple[sp.Symbol, ...],
                         values: Mapping[sp.Symbol, float], grid_points: int = 4096,
                         ) -> FastSampler | None:
    """A sampler for an :class:`~symavg.derive.invariant.InvariantMeasure`, or None.

    ``values`` holds the frozen slow variables and the parameters.
    """
    fast = measure.fast
    index = tuple(state.index(y) for y in fast)
    if measure.factors:
        parts = [sampler_from_measure(f, state, values, grid_points) for f in measure.factors]
        if any(p is None for p in parts):
            return None
        return FastSampler("product", index, parts=tuple(p for p in parts if p is not None),
                           note=" x ".join(p.note for p in parts if p is not None))
    if measure.mean is not None and measure.covariance is not None:
        mean = np.array([_num(e, values) for e in measure.mean], dtype=float)
        cov = np.array([[_num(e, values) for e in row] for row in
                        measure.covariance.tolist()], dtype=float)
        cov = 0.5 * (cov + cov.T)
        w, v = np.linalg.eigh(cov)
        if w.min() < -1e-12 * max(1.0, abs(w).max()):
            return None
        chol = v * np.sqrt(np.clip(w, 0.0, None))
        return FastSampler("gaussian", index, mean=mean, chol=chol,
                           note=f"Gaussian N(m, S) of the fast process ({measure.strategy})")
    if len(fast) == 1:
        (y, lo, hi), = measure.domain
        if not (lo.is_finite and hi.is_finite):
            return None
        try:
            a, b = _num(lo, values), _num(hi, values)
            dens = sp.sympify(measure.density)
            hoisted, derived = hoist_parameter_functions([dens], [y])
            vals = evaluate_derived(derived, values)
            e = hoisted[0].xreplace({k: sp.Float(v) for k, v in {**values, **vals}.items()})
            f = sp.lambdify(y, e, "numpy")
            grid = np.linspace(a, b, grid_points)
            rho = np.broadcast_to(np.asarray(f(grid), dtype=float), grid.shape).copy()
        except (TypeError, ValueError, ZeroDivisionError):
            return None
        if not np.all(np.isfinite(rho)) or rho.min() < 0 or rho.max() <= 0:
            return None
        cdf = np.concatenate([[0.0], np.cumsum(0.5 * (rho[1:] + rho[:-1]) * np.diff(grid))])
        cdf /= cdf[-1]
        return FastSampler("grid", index, grid=grid, cdf=cdf,
                           note=f"inverse-CDF draws from rho({y}) ({measure.strategy})")
    return None
