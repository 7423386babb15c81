r"""The numeric route of :func:`symavg.reduce` for fast variables on a torus.

Same expansion as the closed-form route (see :mod:`symavg.derive.engine`), with
the invariant density and the cell problems solved spectrally at given
parameter values (:mod:`symavg.derive.numeric_cell`). The effective
coefficients are then numbers, valid when the coefficients of the model do not
depend on the slow variables (periodic homogenization: shear and cellular
flows, periodic potentials in several dimensions). Each number is computed on
two grids, ``n`` and ``n // 2``; the difference is reported as the
discretisation error in the derivation.
"""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np
import sympy as sp

from ..errors import CenteringError, ModelError
from ..models.effective import EffectiveModel
from ..models.generator import Generator
from ..report.derivation import Check, Derivation, Step
from .numeric_cell import (
    lambdify_on_grid,
    numeric_cell,
    numeric_density,
    spectral_operator,
    torus_grid,
)


def reduce_numeric(deriv: Derivation, L0: Generator, L1: Generator | None, L2: Generator,
                   fast: tuple, slow: tuple, eps: sp.Symbol, per: dict, params: Mapping,
                   n: int, reason: str = "") -> EffectiveModel:
    """Effective coefficients by the spectral cell solver; see the module docstring."""
    from .engine import _by_derivative, _require_first_order, effective_model

    subs = {sp.sympify(k): sp.Float(v) for k, v in params.items()}
    L0n = L0.subs(subs)
    L1n = L1.subs(subs) if L1 is not None else None
    L2n = L2.subs(subs)
    for G, name in ((L0n, "L0"), (L1n, "L1"), (L2n, "L2")):
        if G is None:
            continue
        dep = [x for x in slow if any(e.has(x) for e in list(G.drift) + list(G.diffusion))]
        if dep:
            raise ModelError(
                f"the numeric cell solver computes constant effective coefficients, but {name} "
                f"depends on the slow variable(s) {dep}; give a model whose coefficients depend "
                "on the fast variables only, or find a closed form"
            )
    v0 = sp.Function("v_0")(*slow)
    results = []
    for size in (n, max(8, n // 2)):
        results.append(_coefficients(L0n, L1n, L2n, fast, slow, per, subs, size, v0,
                                     _by_derivative, _require_first_order))
    (drift, diff, rho_res, cell_res, cent), (drift2, diff2, *_) = results
    err = max([abs(a - b) for a, b in zip(drift, drift2)]
              + [abs(a - b) for a, b in zip(diff.ravel(), diff2.ravel())] + [0.0])
    scale = max([1.0] + [abs(v) for v in diff.ravel()])
    checks = (
        Check("L0* rho = 0 (grid)", rho_res < 1e-8 * scale, "numeric", f"residual {rho_res:.1e}"),
        Check("L0 Phi + h = 0 (grid)", cell_res < 1e-8 * scale, "numeric",
              f"max residual {cell_res:.1e}"),
        Check("grid convergence", err < 1e-6 * scale, "numeric",
              f"|coefficients(n={n}) - coefficients(n={max(8, n // 2)})| = {err:.1e}"),
    )
    why = f" ({reason})" if reason else ""
    deriv = deriv.then(Step(
        "numeric cell problems",
        f"No closed form{why}: invariant density and cell problems solved by spectral "
        f"collocation on a {n}^{len(fast)} Fourier grid at the given parameter values; "
        f"centering residuals {', '.join(f'{c:.1e}' for c in cent) or 'none'}.",
        (("params", sp.Dict(subs)),), checks, "spectral (numeric)"))
    m = len(slow)
    drift_e = [sp.Float(v, 15) for v in drift]
    diff_e = sp.Matrix(m, m, [sp.Float(v, 15) for v in diff.ravel()])
    regime = "homogenization" if L1 is not None else "averaging"
    return effective_model(deriv, drift_e, diff_e, regime, fast, slow, eps, per)


def _coefficients(L0n, L1n, L2n, fast, slow, per, subs, n, v0, by_derivative, require_first):
    grid = torus_grid(L0n, fast, subs, n)
    op = spectral_operator(L0n.restrict(fast), grid)
    rho, rho_res = numeric_density(op)

    def average(values: np.ndarray) -> float:
        return float(np.mean(values * rho) * grid.volume)

    u1 = sp.S.Zero
    arrays: dict[sp.Basic, np.ndarray] = {}
    cell_res, cent = 0.0, []
    if L1n is not None:
        parts = by_derivative(L1n.apply(v0), v0, slow)
        require_first(parts, slow, sp.Symbol("eps"), None)
        for x in slow:
            h = parts.get((x,), sp.S.Zero)
            if h == 0:
                continue
            hg = lambdify_on_grid(h, grid)
            mean = average(hg)
            cent.append(abs(mean))
            if abs(mean) > 1e-8 * max(1.0, float(np.max(np.abs(hg)))):
                raise CenteringError(
                    f"the centering condition fails numerically: <h_{x}> = {mean:.3g} for "
                    f"h = {h}; the slow variable {x} moves on a faster time scale"
                )
            phi, res = numeric_cell(op, hg)
            cell_res = max(cell_res, res)
            ph = sp.Function(f"Phi_{x}")(*slow, *fast)
            u1 += ph * sp.diff(v0, x)
            arrays[ph] = phi
    E = (L1n.apply(u1) if L1n is not None else sp.S.Zero) + L2n.apply(v0)
    coeffs = by_derivative(E, v0, slow)
    m = len(slow)
    drift = np.zeros(m)
    diff = np.zeros((m, m))
    for key, c in coeffs.items():
        val = _grid_average(c, arrays, slow, fast, grid, op, average)
        if len(key) == 1:
            drift[slow.index(key[0])] += val
        else:
            i, j = sorted((slow.index(key[0]), slow.index(key[1])))
            if i == j:
                diff[i, i] += 2 * val
            else:
                diff[i, j] += val
                diff[j, i] += val
    return drift, diff, rho_res, cell_res, cent


def _grid_average(c: sp.Expr, arrays: dict, slow: tuple, fast: tuple, grid, op,
                  average) -> float:
    """Average a coefficient holding cell solutions: slow derivatives of Phi vanish
    (the coefficients do not depend on the slow variables); Phi and its fast
    derivatives (up to second order) are spectral grid arrays."""
    repl: dict[sp.Basic, sp.Basic] = {}
    dummies, values = [], []
    for d in c.atoms(sp.Derivative):
        if d.expr not in arrays:
            continue
        if any(v in slow for v, _ in d.variable_count):
            repl[d] = sp.S.Zero
            continue
        idx = [fast.index(v) for v, k in d.variable_count for _ in range(k)]
        phi = arrays[d.expr]
        if len(idx) == 1:
            arr = op.grad(phi)[idx[0]]
        elif len(idx) == 2:
            arr = op.hessian(phi)[idx[0]][idx[1]]
        else:
            raise ModelError(f"derivative {d} of a cell solution of order > 2")
        s = sp.Dummy("g")
        repl[d] = s
        dummies.append(s)
        values.append(arr)
    c = c.xreplace(repl)
    for ph, arr in arrays.items():
        if c.has(ph):
            s = sp.Dummy("g")
            c = c.xreplace({ph: s})
            dummies.append(s)
            values.append(arr)
    vals = lambdify_on_grid(c, grid, dummies, values)
    return average(vals)
