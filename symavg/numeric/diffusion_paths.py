r"""Paths of a diffusion in several variables, with a reaction coordinate, for splitting.

The model :math:`dX = b(X)\,dt + \sigma(X)\,dW` (an :class:`~symavg.SDE` or a reduced
:class:`~symavg.EffectiveModel`, ``n`` variables, ``m`` noises) and a reaction
coordinate :math:`\xi(X)`, a SymPy expression of the state, are printed once into a
numba kernel (plain Python without numba) that advances one path by Euler-Maruyama,

.. math:: X_{k+1} = X_k + b(X_k)\,\Delta t + \sigma(X_k)\,\sqrt{\Delta t}\,G_k,

and records the full state and :math:`\xi` at every step until :math:`\xi \le lo` (the
set :math:`A`) or :math:`\xi \ge hi` (the set :math:`B`). Crossings between steps are
caught by the Brownian-bridge test of the coordinate: near a level set, :math:`\xi(X_t)`
moves like a Brownian motion of variance rate
:math:`v = \nabla\xi^T a\,\nabla\xi` (:math:`a = \sigma\sigma^T`, Itô's formula), so a
path inside at both ends of a step crossed the face :math:`c` with probability
:math:`\exp(-2 (\xi_k - c)(\xi_{k+1} - c)/(v(X_k)\,\Delta t))` (Gobet, Stoch. Proc.
Appl. 87 (2000) 167, for a half-space; to first order in :math:`\Delta t` for a smooth
level set). The recorded points form a Markov chain in the full state, which is what
:mod:`symavg.numeric.splitting` needs.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np
import sympy as sp

from ..errors import ModelError, SimulationError
from .splitting import Path

__all__ = ["CoordinateSampler", "coordinate_sampler"]

_KERNEL = """
import math
import numpy as np
{header}

N = {n}
M = {m}


@_jit
def seed(s):
    np.random.seed(s)


@_jit
def coeffs(x, p, b, g):
    # the drift b and the noise g (N x M) at x
{coeffs}


@_jit
def coord(x, p):
    # the coordinate xi(x) and its bridge variance rate v = grad xi . a grad xi
{coord}
    return _xi, _v


@_jit
def exit_path(x0, p, dt, lo, hi, max_steps):
    # one path from x0 until xi <= lo (code -1) or xi >= hi (+1); 8: max_steps, 9: blow-up
    cap = 1024
    X = np.empty((cap, N))
    L = np.empty(cap)
    b = np.empty(N)
    g = np.empty((N, M))
    w = np.empty(M)
    x = x0.copy()
    xi, v = coord(x, p)
    X[0] = x
    L[0] = xi
    n = 0
    c = 0
    sq = math.sqrt(dt)
    while c == 0:
        if n >= max_steps:
            c = 8
            break
        coeffs(x, p, b, g)
        for k in range(M):
            w[k] = np.random.standard_normal()
        xn = np.empty(N)
        for i in range(N):
            acc = 0.0
            for k in range(M):
                acc += g[i, k] * w[k]
            xn[i] = x[i] + b[i] * dt + sq * acc
        xin, vn = coord(xn, p)
        if xin <= lo:
            c = -1
        elif xin >= hi:
            c = 1
        else:
            q2 = v * dt
            if q2 > 0.0:
                q = (xi - lo) * (xin - lo)
                if q < 20.0 * q2 and np.random.random() < math.exp(-2.0 * q / q2):
                    c = -1
                if c == 0:
                    q = (hi - xi) * (hi - xin)
                    if q < 20.0 * q2 and np.random.random() < math.exp(-2.0 * q / q2):
                        c = 1
            if c == 0 and not math.isfinite(xin):
                c = 9
        n += 1
        if n >= cap:
            cap *= 2
            X2 = np.empty((cap, N))
            X2[:n] = X[:n]
            X = X2
            L2 = np.empty(cap)
            L2[:n] = L[:n]
            L = L2
        X[n] = xn
        L[n] = xin
        x = xn
        xi = xin
        v = vn
    return X[: n + 1].copy(), L[: n + 1].copy(), c
"""


@dataclass(frozen=True)
class CoordinateSampler:
    """The generated kernel of a diffusion with a reaction coordinate, as a
    :class:`~symavg.numeric.splitting.PathSampler` (the state is the vector ``X``)."""

    state: tuple[sp.Symbol, ...]
    coordinate: sp.Expr
    module: Any
    p: np.ndarray
    dt: float
    max_steps: int

    def seed(self, rng: np.random.Generator) -> None:
        self.module.seed(int(rng.integers(0, 2**31 - 1)))

    def value(self, state: np.ndarray) -> float:
        """The coordinate at a state."""
        return float(self.module.coord(np.ascontiguousarray(state, float), self.p)[0])

    def path(self, state: np.ndarray, lo: float, hi: float) -> Path:
        X, L, c = self.module.exit_path(np.ascontiguousarray(state, float), self.p,
                                        float(self.dt), float(lo), float(hi),
                                        int(self.max_steps))
        if c == 8:
            raise SimulationError(f"a path was still inside {lo} < xi < {hi} after "
                                  f"{self.max_steps} steps (t = {self.max_steps * self.dt:.4g})"
                                  ": raise max_steps, or check that the faces are reachable")
        if c == 9:
            raise SimulationError("a path blew up (non-finite state): reduce dt")
        return Path(X, L, np.arange(len(L)) * self.dt, int(c))


def coordinate_sampler(model: Any, coordinate: Any, eps: float | None, params: Mapping | None,
                       dt: float, max_steps: int) -> CoordinateSampler:
    r"""Compile drift, noise, the coordinate :math:`\xi` and :math:`\nabla\xi^T a\nabla\xi`.

    Parameters
    ----------
    model : SDE or EffectiveModel
        A diffusion (no fast variables left).
    coordinate : SymPy expression
        :math:`\xi`, a function of the model's state (and parameters).
    eps, params
        Values of the scale parameter and of the other parameters.
    dt, max_steps
        The Euler-Maruyama step and the step limit per path.
    """
    from ..models import SDE, EffectiveModel, SwitchingSDE
    from .codegen import have_numba, load_source, straight_line

    if isinstance(model, SwitchingSDE) or not isinstance(model, SDE | EffectiveModel):
        raise ModelError(f"a reaction coordinate needs a diffusion (sa.SDE or a reduced "
                         f"EffectiveModel); got {type(model).__name__}")
    state = tuple(model.state)
    xi = sp.sympify(coordinate)
    if not isinstance(xi, sp.Expr) or not (xi.free_symbols & set(state)):
        raise ModelError(f"coordinate must be a SymPy expression of the state {list(state)}; "
                         f"got {coordinate!r}")
    b = sp.Matrix(model.drift)
    sig = sp.Matrix(model.noise)
    a = sp.Matrix(model.diffusion)
    if a.is_zero_matrix:
        raise ModelError("the model has no noise: its exit is deterministic")
    grad = sp.Matrix([sp.diff(xi, z) for z in state])
    v = sp.expand((grad.T * a * grad)[0, 0])
    n, m = len(state), sig.shape[1]
    values: dict = {}
    for k, val in (params or {}).items():
        values[sp.Symbol(k) if isinstance(k, str) else k] = float(val)
    if eps is not None:
        values[model.eps] = float(eps)
    exprs = [*b, *sig, xi, v]
    syms = sorted(set().union(*(sp.sympify(e).free_symbols for e in exprs)) - set(state),
                  key=str)
    byname = {str(k): val for k, val in values.items()}
    missing = [s for s in syms if str(s) not in byname]
    if missing:
        raise SimulationError(f"give values for {sorted(map(str, missing))}: params={{symbol: "
                              "value}} (and eps=) for the model's parameters")
    X = [sp.Symbol(f"x[{i}]") for i in range(n)]
    P = [sp.Symbol(f"p[{i}]") for i in range(len(syms))]
    rep = {**dict(zip(state, X)), **dict(zip(syms, P))}
    names = [f"b[{i}]" for i in range(n)] + [f"g[{i}, {k}]" for i in range(n) for k in range(m)]
    cl = straight_line([sp.sympify(e).xreplace(rep) for e in [*b, *sig]], names)
    xl = straight_line([xi.xreplace(rep), v.xreplace(rep)], ["_xi", "_v"])
    header = ("from numba import njit\n_jit = njit(cache=True)" if have_numba()
              else "def _jit(f):\n    return f")
    source = _KERNEL.format(header=header, n=n, m=m,
                            coeffs="\n".join(cl).replace("numpy.", "np."),
                            coord="\n".join(xl).replace("numpy.", "np."))
    module = load_source(source, "dpa")
    p = np.array([byname[str(s)] for s in syms] or [0.0], dtype=float)
    return CoordinateSampler(state, xi, module, p, float(dt), int(max_steps))
