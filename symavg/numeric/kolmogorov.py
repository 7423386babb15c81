r"""Expectations of a reduced model without Monte Carlo noise.

A reduced model :math:`d\bar X = \bar b(\bar X)\,dt + \bar\sigma\,dW` has no fast
scale and is often low-dimensional, so :math:`\mathbb E\,\varphi(\bar X_T)` can be
computed deterministically instead of by sampling. Two routes:

**Linear-Gaussian models** (drift :math:`A x + b`, diffusion :math:`D` constant):
:math:`\bar X_T` is Gaussian with

.. math::

    \dot m = A m + b,\qquad \dot S = A S + S A^{\mathsf T} + D,\qquad m(0) = x_0,\ S(0) = 0,

solved by Van Loan's block matrix exponentials
(:math:`\exp\begin{pmatrix}A & b\\0 & 0\end{pmatrix}T` holds :math:`e^{AT}` and
:math:`\int_0^T e^{As}b\,ds`; :math:`\exp\begin{pmatrix}-A & D\\0 & A^{\mathsf T}\end{pmatrix}T
= \begin{pmatrix}F_{11} & F_{12}\\ 0 & F_{22}\end{pmatrix}` gives
:math:`S = F_{22}^{\mathsf T}F_{12}`). The result is substituted back: the
residuals of both ODEs at :math:`T` (central differences of the closed forms in
time) are recorded in ``checks``. Then :math:`\mathbb E\,\varphi` is a Gauss-Hermite
tensor quadrature in the eigenbasis of :math:`S` (exact for polynomials of degree
below :math:`2q`; the difference between :math:`q` and :math:`2q` nodes is the
error estimate).

**One slow variable** (any coefficients): the backward Kolmogorov equation

.. math::

    \partial_t u = \bar b(x)\,\partial_x u + \tfrac12 \bar a(x)\,\partial_x^2 u,
    \qquad u(0, x) = \varphi(x),\qquad \mathbb E_{x_0}\varphi(\bar X_T) = u(T, x_0),

with central differences on a uniform grid and Crank-Nicolson in time (four
backward-Euler quarter steps first, Rannacher's start, which damps the
oscillations Crank-Nicolson leaves from a rough start), one sparse LU
factorisation per step size. On a circle the grid is periodic; on the line the
domain is truncated at :math:`x_0 \pm w` with :math:`u = \varphi` on the
boundary, and *checked*: ``w`` is doubled until the value at :math:`x_0`
changes by less than the tolerance. The grid and the step are refined (twice
the points, twice the steps), each pair of levels Richardson-extrapolated
(:math:`v_h + (v_h - v_{2h})/3`, the scheme being second order), until two
successive extrapolated values agree to the tolerance; that last change is the
reported error estimate, which :func:`symavg.verify` uses in place of a Monte
Carlo standard error. :func:`kolmogorov_expectations_2d` does the same for two
slow variables on a tensor grid (the mixed derivative by central differences).
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import sympy as sp

from ..errors import ModelError, SimulationError
from .plan import substitute_functions


@dataclass(frozen=True)
class ReducedExpectations:
    r"""Deterministic :math:`\mathbb E\,\varphi(\bar X_T)` of a reduced model.

    Attributes
    ----------
    means : dict {observable: float}
    errors : dict {observable: float}
        Error estimate of each value (grid refinement or quadrature order), not a
        standard error: there is no sampling noise.
    method : str
        ``"gaussian"`` (closed-form moments) or ``"kolmogorov"`` (backward equation).
    checks : dict
        What was substituted back or refined: ODE residuals, truncation widths,
        grid sizes.
    """

    means: dict[sp.Expr, float]
    errors: dict[sp.Expr, float]
    method: str
    checks: dict[str, Any] = field(default_factory=dict)


def _numeric_coefficients(reduced: Any, values: Mapping[sp.Symbol, float],
                          functions: Mapping | None) -> tuple[list[sp.Expr], sp.Matrix]:
    subs = {k: sp.Float(v) for k, v in values.items()}
    b = [substitute_functions(e, functions).xreplace(subs) for e in reduced.drift]
    a = sp.Matrix(reduced.diffusion).applyfunc(
        lambda e: substitute_functions(e, functions).xreplace(subs))
    state = set(reduced.state)
    left = (set().union(*(e.free_symbols for e in b)) | a.free_symbols) - state
    if left:
        raise SimulationError(f"reduced model: no value for the parameter(s) "
                              f"{sorted(map(str, left))}: pass params={{...}}")
    return b, a


def _observable_function(obs: sp.Expr, state: Sequence[sp.Symbol],
                         values: Mapping[sp.Symbol, float], functions: Mapping | None) -> Any:
    e = substitute_functions(sp.sympify(obs), functions).xreplace(
        {k: sp.Float(v) for k, v in values.items()})
    extra = e.free_symbols - set(state)
    if extra:
        raise ModelError(f"observable {obs} has symbols {sorted(map(str, extra))} that are "
                         "neither slow variables nor parameters with values")
    f = sp.lambdify(list(state), e, "numpy")
    return lambda *z: np.broadcast_to(np.asarray(f(*z), dtype=float), np.shape(z[0]))


def is_linear_gaussian(reduced: Any, values: Mapping[sp.Symbol, float],
                       functions: Mapping | None = None) -> bool:
    """True when the drift is affine in the state and the diffusion is constant
    (and no variable lives on a circle)."""
    if getattr(reduced, "periodic", ()):
        return False
    b, a = _numeric_coefficients(reduced, values, functions)
    xs = list(reduced.state)
    for e in b:
        for x in xs:
            if sp.diff(e, x).free_symbols & set(xs):
                return False
    return not (a.free_symbols & set(xs))


def gaussian_moments(A: np.ndarray, b: np.ndarray, D: np.ndarray, m0: np.ndarray,
                     T: float) -> tuple[np.ndarray, np.ndarray]:
    r"""Mean and covariance at ``T`` of :math:`dX = (AX + b)dt + \sigma dW`
    (:math:`\sigma\sigma^T = D`).

    Examples
    --------
    >>> import numpy as np
    >>> m, S = gaussian_moments(np.array([[-1.0]]), np.array([0.0]), np.array([[2.0]]),
    ...                         np.array([1.0]), 1.0)
    >>> bool(np.isclose(m[0], np.exp(-1))), bool(np.isclose(S[0, 0], 1 - np.exp(-2)))
    (True, True)
    """
    from scipy.linalg import expm

    n = A.shape[0]
    M = np.zeros((n + 1, n + 1))
    M[:n, :n], M[:n, n] = A, b
    E = expm(M * T)
    m = E[:n, :n] @ m0 + E[:n, n]
    V = np.zeros((2 * n, 2 * n))
    V[:n, :n], V[:n, n:], V[n:, n:] = -A, D, A.T
    F = expm(V * T)
    S = F[n:, n:].T @ F[:n, n:]
    return m, 0.5 * (S + S.T)


def _gauss_expect(f: Any, m: np.ndarray, S: np.ndarray, q: int) -> float:
    """E f(X), X ~ N(m, S), by a q-point Gauss-Hermite rule per eigen-direction of S."""
    lam, V = np.linalg.eigh(S)
    lam = np.clip(lam, 0.0, None)
    t, w = np.polynomial.hermite_e.hermegauss(q)        # weight exp(-t^2/2)
    w = w / w.sum()
    n = len(m)
    live = [i for i in range(n) if lam[i] > 1e-300]
    if not live:
        return float(f(*[np.array([v]) for v in m])[0])
    grids = np.meshgrid(*([t] * len(live)), indexing="ij")
    weights = np.ones_like(grids[0])
    for g in np.meshgrid(*([w] * len(live)), indexing="ij"):
        weights = weights * g
    pts = m[:, None] + sum(V[:, [i]] * math.sqrt(lam[i]) * g.ravel()[None, :]
                           for i, g in zip(live, grids))
    return float(np.sum(weights.ravel() * f(*pts)))


def gaussian_expectations(reduced: Any, x0: Mapping, T: float, observables: Sequence[sp.Expr],
                          values: Mapping[sp.Symbol, float],
                          functions: Mapping | None = None) -> ReducedExpectations:
    r"""Exact :math:`\mathbb E\,\varphi(\bar X_T)` of a linear-Gaussian reduced model.

    Examples
    --------
    >>> import sympy as sp, symavg as sa
    >>> x = sp.Symbol("x", real=True)
    >>> ou = sa.EffectiveModel((x,), sp.ImmutableMatrix([-x]), sp.ImmutableMatrix([[2]]),
    ...                        None, "averaging", sa.Derivation("OU"))
    >>> r = gaussian_expectations(ou, {x: 1.0}, 1.0, [x**2], {})
    >>> round(r.means[x**2], 12) == round(1 - 2 * float(sp.exp(-2)) + float(sp.exp(-2)), 12)
    True
    """
    xs = list(reduced.state)
    b, a = _numeric_coefficients(reduced, values, functions)
    n = len(xs)
    zero = {x: 0 for x in xs}
    A = np.array([[float(sp.diff(e, x)) for x in xs] for e in b], dtype=float).reshape(n, n)
    c = np.array([float(e.xreplace(zero)) for e in b])
    D = np.array(a.tolist(), dtype=float)
    m0 = np.array([float(x0[x]) for x in xs])
    m, S = gaussian_moments(A, c, D, m0, T)
    # substituted back: the ODEs hold at T (central differences of the closed forms)
    h = 1e-4 * max(T, 1e-8)
    mp, Sp = gaussian_moments(A, c, D, m0, T + h)
    mm, Sm = gaussian_moments(A, c, D, m0, T - h)
    res_m = float(np.max(np.abs((mp - mm) / (2 * h) - (A @ m + c))))
    res_S = float(np.max(np.abs((Sp - Sm) / (2 * h) - (A @ S + S @ A.T + D))))
    scale = 1.0 + float(np.max(np.abs(A @ S + D))) + float(np.max(np.abs(A @ m + c)))
    if max(res_m, res_S) > 1e-5 * scale:
        raise SimulationError(f"Gaussian moments of the reduced model fail their ODEs at "
                              f"T = {T} (residuals {res_m:.2e}, {res_S:.2e})")
    means, errors = {}, {}
    q = 24 if n <= 2 else 10
    for o in observables:
        f = _observable_function(o, xs, values, functions)
        v1, v2 = _gauss_expect(f, m, S, q), _gauss_expect(f, m, S, 2 * q)
        means[o] = v2
        errors[o] = abs(v2 - v1) + 1e-14 * (1 + abs(v2))
    return ReducedExpectations(means, errors, "gaussian",
                               {"mean": m.tolist(), "covariance": S.tolist(),
                                "ODE residuals (mean, covariance)": (res_m, res_S),
                                "Gauss-Hermite nodes": (q, 2 * q)})


# ----------------------------------------------------------------- 1-D backward equation
def _solve_backward(b: Any, a: Any, phi: Any, x: np.ndarray, T: float, nt: int,
                    periodic: float | None) -> np.ndarray:
    """u(T, x) of u_t = b u_x + a/2 u_xx, u(0) = phi, on the grid ``x``."""
    from scipy.sparse import diags

    N = len(x)
    h = x[1] - x[0]
    bv = np.broadcast_to(b(x), (N,)).astype(float)
    av = np.broadcast_to(a(x), (N,)).astype(float)
    lo = av / (2 * h * h) - bv / (2 * h)      # coefficient of u[i-1]
    di = -av / (h * h)
    up = av / (2 * h * h) + bv / (2 * h)      # coefficient of u[i+1]
    if periodic is None:                      # Dirichlet rows: u stays phi at the ends
        lo[[0, -1]] = di[[0, -1]] = up[[0, -1]] = 0.0
    Lm = diags([lo[1:], di, up[:-1]], [-1, 0, 1], shape=(N, N), format="lil")
    if periodic is not None:
        Lm[0, N - 1] = lo[0]
        Lm[N - 1, 0] = up[N - 1]
    u = np.asarray(phi(x), dtype=float).reshape(N, -1).copy()
    return _rannacher_crank_nicolson(Lm.tocsc(), u, T, nt)


def _rannacher_crank_nicolson(L: Any, u: np.ndarray, T: float, nt: int) -> np.ndarray:
    r""":math:`u(T)` of :math:`u_t = Lu` by ``nt`` steps :math:`k = T/nt`: four
    backward-Euler quarter steps (Rannacher's start, which damps the non-smooth
    initial data's high modes), then Crank-Nicolson,
    :math:`(I - \tfrac k2 L)u^{n+1} = (I + \tfrac k2 L)u^n`, each matrix factorised once
    (``scipy.sparse.linalg.splu``); ``u`` may hold several columns."""
    from scipy.sparse import identity
    from scipy.sparse.linalg import splu

    Id = identity(L.shape[0], format="csc")
    k = T / nt
    be = splu((Id - (k / 4) * L).tocsc())   # four backward-Euler quarter steps
    for _ in range(4):
        u = be.solve(u)
    if nt > 1:
        lhs = splu((Id - (k / 2) * L).tocsc())
        rhs = (Id + (k / 2) * L).tocsr()
        for _ in range(nt - 1):
            u = lhs.solve(rhs @ u)
    return u


def kolmogorov_expectations(reduced: Any, x0: Mapping, T: float,
                            observables: Sequence[sp.Expr], values: Mapping[sp.Symbol, float],
                            functions: Mapping | None = None, tol: float = 1e-6,
                            points: int = 401, max_refine: int = 5) -> ReducedExpectations:
    r""":math:`\mathbb E\,\varphi(\bar X_T)` of a one-variable reduced model (backward equation).

    ``tol`` is the absolute agreement (scaled by ``1 + |u|``) asked of two
    successive refinements and of two truncation widths.

    Examples
    --------
    >>> import sympy as sp, symavg as sa
    >>> x = sp.Symbol("x", real=True)
    >>> ou = sa.EffectiveModel((x,), sp.ImmutableMatrix([-x]), sp.ImmutableMatrix([[2]]),
    ...                        None, "averaging", sa.Derivation("OU"))
    >>> r = kolmogorov_expectations(ou, {x: 1.0}, 1.0, [x**2], {})
    >>> abs(r.means[x**2] - (1 - float(sp.exp(-2)) + float(sp.exp(-2)))) < 1e-5
    True
    """
    xs = list(reduced.state)
    if len(xs) != 1:
        raise ModelError(f"kolmogorov_expectations solves one slow variable; the reduced model "
                         f"has {len(xs)} ({xs}): use Monte Carlo or the Gaussian route")
    (xv,) = xs
    bexpr, aexpr = _numeric_coefficients(reduced, values, functions)
    bf = sp.lambdify([xv], bexpr[0], "numpy")
    af = sp.lambdify([xv], aexpr[0, 0], "numpy")
    per = dict(getattr(reduced, "periodic", ()))
    L = float(per[xv].xreplace({k: sp.Float(v) for k, v in values.items()})) if xv in per \
        else None
    start = float(x0[xv])
    fs = {o: _observable_function(o, xs, values, functions) for o in observables}
    checks: dict[str, Any] = {}

    obs_list = list(fs)

    def at_x0(width: float, npts: int, nt: int) -> dict[sp.Expr, float]:
        if L is not None:
            grid = np.linspace(0.0, L, npts, endpoint=False)
            where = start % L
        else:
            grid = np.linspace(start - width, start + width, npts)
            where = start
        U = _solve_backward(bf, af, lambda z: np.stack([fs[o](z) for o in obs_list], axis=1),
                            grid, T, nt, L)
        if not np.isfinite(U).all():
            raise SimulationError("the backward Kolmogorov solve of the reduced model "
                                  "gave non-finite values: use Monte Carlo")
        out = {}
        for j, o in enumerate(obs_list):
            if L is not None:   # periodic linear interpolation
                out[o] = float(np.interp(where, np.append(grid, L), np.append(U[:, j], U[0, j])))
            else:
                out[o] = float(np.interp(where, grid, U[:, j]))
        return out

    def close(u: dict, v: dict) -> float:
        return max(abs(u[o] - v[o]) / (1 + abs(v[o])) for o in u)

    # a first width from the local scales at x0: 8 standard deviations plus the drift
    with np.errstate(all="ignore"):
        a0 = float(np.abs(np.asarray(af(np.array([start])), dtype=float)).max())
        b0 = float(np.abs(np.asarray(bf(np.array([start])), dtype=float)).max())
    width = 8.0 * math.sqrt(max(a0, 1e-12) * T) + 2.0 * b0 * T + 1e-3 * (1 + abs(start))
    npts, nt = points | 1, max(100, points // 2)    # odd: x0 is the middle node
    if L is None:
        widths = []
        base = at_x0(width, npts, nt)
        for _ in range(6):                       # truncation check: double until stable
            wider = at_x0(2 * width, 2 * npts - 1, nt)
            widths.append((width, close(base, wider)))
            if close(base, wider) < tol:
                break
            width, base = 2 * width, wider
        else:
            raise SimulationError(
                f"the truncated domain of the reduced model's backward equation did not "
                f"settle (last change {widths[-1][1]:.2e} at width {width:.3g}): use Monte Carlo")
        checks["truncation (half-width, change when doubled)"] = widths
    else:
        base = at_x0(width, npts, nt)
    # grid and step refinement (h and k halved: the scheme is second order in both), with
    # Richardson extrapolation r = v_fine + (v_fine - v_coarse)/3; the change between two
    # successive extrapolations is the error estimate
    history: list[tuple[int, int, float]] = []
    prev_r: dict | None = None
    for _ in range(max_refine):
        npts2 = 2 * npts - (0 if L is not None else 1)
        fine = at_x0(width, npts2, 2 * nt)
        r = {o: fine[o] + (fine[o] - base[o]) / 3.0 for o in fine}
        d = close(prev_r, r) if prev_r is not None else math.inf
        history.append((npts2, 2 * nt, d))
        npts, nt, base = npts2, 2 * nt, fine
        if prev_r is not None and d < tol:
            prev_r = r
            break
        prev_r = r
    assert prev_r is not None
    checks["refinement (points, steps, change of the extrapolated value)"] = history
    d_last = history[-1][2]
    errors = {o: (d_last if math.isfinite(d_last) else abs(prev_r[o] - base[o]))
              * (1 + abs(prev_r[o])) + 1e-14 * (1 + abs(prev_r[o])) for o in prev_r}
    base = prev_r
    if not d_last < tol:
        checks["note"] = f"refinement stopped at change {d_last:.2e} > tol {tol:g}"
    return ReducedExpectations(base, errors, "kolmogorov", checks)


def _solve_backward_2d(b: Any, a: Any, phi: Any, g1: np.ndarray, g2: np.ndarray, T: float,
                       nt: int, periodic: tuple[float | None, float | None]) -> np.ndarray:
    """u(T) on the grid ``g1 x g2`` (flattened, ``g1`` major) of
    u_t = b . grad u + 1/2 a : Hess u, u(0) = phi; Dirichlet ``u = phi`` on non-periodic ends."""
    from scipy.sparse import diags, identity, kron

    def ops(n: int, h: float, per: float | None) -> tuple[Any, Any]:
        d1 = diags([-np.ones(n - 1), np.ones(n - 1)], [-1, 1], shape=(n, n), format="lil")
        d2 = diags([np.ones(n - 1), -2 * np.ones(n), np.ones(n - 1)], [-1, 0, 1],
                   shape=(n, n), format="lil")
        if per is not None:
            d1[0, n - 1], d1[n - 1, 0] = -1.0, 1.0
            d2[0, n - 1], d2[n - 1, 0] = 1.0, 1.0
        return (d1 / (2 * h)).tocsr(), (d2 / (h * h)).tocsr()

    n1, n2 = len(g1), len(g2)
    X1, X2 = np.meshgrid(g1, g2, indexing="ij")
    z = (X1.ravel(), X2.ravel())
    D1, DD1 = ops(n1, g1[1] - g1[0], periodic[0])
    D2, DD2 = ops(n2, g2[1] - g2[0], periodic[1])
    I1, I2 = identity(n1, format="csr"), identity(n2, format="csr")
    bv = [np.broadcast_to(np.asarray(v, dtype=float), z[0].shape) for v in b(*z)]
    av = [[np.broadcast_to(np.asarray(a(*z)[i][j], dtype=float), z[0].shape)
           for j in range(2)] for i in range(2)]
    L = (diags(bv[0]) @ kron(D1, I2) + diags(bv[1]) @ kron(I1, D2)
         + diags(0.5 * av[0][0]) @ kron(DD1, I2) + diags(0.5 * av[1][1]) @ kron(I1, DD2)
         + diags(av[0][1]) @ kron(D1, D2))
    edge = np.zeros((n1, n2), dtype=bool)
    if periodic[0] is None:
        edge[[0, -1], :] = True
    if periodic[1] is None:
        edge[:, [0, -1]] = True
    L = diags((~edge.ravel()).astype(float)) @ L          # boundary rows: u stays phi
    u = np.asarray(phi(*z), dtype=float).reshape(n1 * n2, -1).copy()
    return _rannacher_crank_nicolson(L.tocsc(), u, T, nt)


def kolmogorov_expectations_2d(reduced: Any, x0: Mapping, T: float,
                               observables: Sequence[sp.Expr],
                               values: Mapping[sp.Symbol, float],
                               functions: Mapping | None = None, tol: float = 1e-5,
                               points: int = 41, max_refine: int = 3) -> ReducedExpectations:
    r""":math:`\mathbb E\,\varphi(\bar X_T)` of a two-variable reduced model (backward equation).

    The same scheme as :func:`kolmogorov_expectations` on a tensor grid (the mixed
    derivative by central differences in both directions), with the same truncation
    check (both half-widths doubled) and refinement with Richardson extrapolation.

    Examples
    --------
    >>> import sympy as sp, symavg as sa
    >>> x, y = sp.symbols("x y", real=True)
    >>> ou = sa.EffectiveModel((x, y), sp.ImmutableMatrix([-x, -y]),
    ...                        sp.ImmutableMatrix([[1, 0], [0, 1]]), None, "averaging",
    ...                        sa.Derivation("OU"))
    >>> r = kolmogorov_expectations_2d(ou, {x: 1.0, y: 0.0}, 0.5, [x * x + y], {})
    >>> abs(r.means[x * x + y] - (float(sp.exp(-1)) + (1 - float(sp.exp(-1))) / 2)) < 1e-4
    True
    """
    xs = list(reduced.state)
    if len(xs) != 2:
        raise ModelError(f"kolmogorov_expectations_2d solves two slow variables; the reduced "
                         f"model has {len(xs)} ({xs})")
    bexpr, aexpr = _numeric_coefficients(reduced, values, functions)
    bf = sp.lambdify(xs, list(bexpr), "numpy")
    af = sp.lambdify(xs, aexpr.tolist(), "numpy")
    per_map = dict(getattr(reduced, "periodic", ()))
    subs = {k: sp.Float(v) for k, v in values.items()}
    per = tuple(float(per_map[v].xreplace(subs)) if v in per_map else None for v in xs)
    start = [float(x0[v]) for v in xs]
    fs = {o: _observable_function(o, xs, values, functions) for o in observables}
    obs_list = list(fs)
    with np.errstate(all="ignore"):
        b0 = [float(np.abs(np.asarray(v, dtype=float)).max())
              for v in bf(np.array([start[0]]), np.array([start[1]]))]
        a0 = af(np.array([start[0]]), np.array([start[1]]))
        a0 = [float(np.abs(np.asarray(a0[i][i], dtype=float)).max()) for i in range(2)]
    widths0 = [8.0 * math.sqrt(max(a0[i], 1e-12) * T) + 2.0 * b0[i] * T
               + 1e-3 * (1 + abs(start[i])) for i in range(2)]

    def at_x0(w: list[float], npts: int, nt: int) -> dict[sp.Expr, float]:
        grids, where = [], []
        for i in range(2):
            if per[i] is not None:
                grids.append(np.linspace(0.0, per[i], npts, endpoint=False))
                where.append(start[i] % per[i])
            else:
                grids.append(np.linspace(start[i] - w[i], start[i] + w[i], npts))
                where.append(start[i])
        U = _solve_backward_2d(lambda z1, z2: bf(z1, z2), lambda z1, z2: af(z1, z2),
                               lambda z1, z2: np.stack([fs[o](z1, z2) for o in obs_list],
                                                       axis=1),
                               grids[0], grids[1], T, nt, per)
        if not np.isfinite(U).all():
            raise SimulationError("the 2-D backward Kolmogorov solve of the reduced model gave "
                                  "non-finite values: use Monte Carlo")
        U = U.reshape(len(grids[0]), len(grids[1]), -1)
        from scipy.interpolate import RegularGridInterpolator

        out = {}
        for j, o in enumerate(obs_list):
            g, V = list(grids), U[:, :, j]
            for i in range(2):            # close periodic grids for interpolation
                if per[i] is not None:
                    g[i] = np.append(g[i], per[i])
                    V = np.concatenate([V, V[:1] if i == 0 else V[:, :1]], axis=i)
            out[o] = float(RegularGridInterpolator(g, V)(np.array(where))[0])
        return out

    def close(u: dict, v: dict) -> float:
        return max(abs(u[o] - v[o]) / (1 + abs(v[o])) for o in u)

    checks: dict[str, Any] = {}
    npts, nt = points | 1, max(50, points)
    w = list(widths0)
    base = at_x0(w, npts, nt)
    if any(p is None for p in per):
        hist = []
        for _ in range(5):
            w2 = [wi * (2 if per[i] is None else 1) for i, wi in enumerate(w)]
            wider = at_x0(w2, 2 * npts - 1, nt)
            hist.append((tuple(w), close(base, wider)))
            if close(base, wider) < tol:
                break
            w, base, npts = w2, wider, 2 * npts - 1
        else:
            raise SimulationError("the truncated domain of the 2-D backward equation did not "
                                  "settle: use Monte Carlo")
        checks["truncation (half-widths, change when doubled)"] = hist
    history: list[tuple[int, int, float]] = []
    prev_r: dict | None = None
    for _ in range(max_refine):
        npts2 = 2 * npts - 1
        fine = at_x0(w, npts2, 2 * nt)
        r = {o: fine[o] + (fine[o] - base[o]) / 3.0 for o in fine}
        d = close(prev_r, r) if prev_r is not None else math.inf
        history.append((npts2, 2 * nt, d))
        npts, nt, base = npts2, 2 * nt, fine
        last_r, prev_r = prev_r, r
        if last_r is not None and d < tol:
            break
    assert prev_r is not None
    checks["refinement (points per axis, steps, change of the extrapolated value)"] = history
    d_last = history[-1][2]
    errors = {o: (d_last if math.isfinite(d_last) else abs(prev_r[o] - base[o]))
              * (1 + abs(prev_r[o])) + 1e-14 for o in prev_r}
    if not d_last < tol:
        checks["note"] = f"refinement stopped at change {d_last:.2e} > tol {tol:g}"
    return ReducedExpectations(prev_r, errors, "kolmogorov-2d", checks)


def reduced_expectations(reduced: Any, x0: Mapping, T: float, observables: Sequence[sp.Expr],
                         values: Mapping[sp.Symbol, float], functions: Mapping | None = None,
                         method: str = "auto") -> ReducedExpectations | None:
    """The deterministic route that applies (``method="auto"``: Gaussian when the model is
    linear-Gaussian, the backward equation for one variable, ``None`` otherwise)."""
    if method not in ("auto", "gaussian", "kolmogorov"):
        raise ModelError(f"reduced_method must be 'auto', 'gaussian', 'kolmogorov' or "
                         f"'monte-carlo'; got {method!r}")
    if any(e.has(sp.Integral) for e in list(reduced.drift) + list(reduced.diffusion)):
        if method != "auto":
            raise ModelError("the reduced model has coefficients without closed form (an "
                             "unevaluated integral): use reduced_method='monte-carlo' with "
                             "tabulate=")
        return None       # semi-analytic: simulated with tabulated coefficients
    gaussian = is_linear_gaussian(reduced, values, functions)
    if method == "gaussian" or (method == "auto" and gaussian):
        if not gaussian:
            raise ModelError("reduced_method='gaussian' needs an affine drift and a constant "
                             "diffusion; this reduced model has neither: use 'kolmogorov' "
                             "or 'monte-carlo'")
        return gaussian_expectations(reduced, x0, T, observables, values, functions)
    # two variables only when asked: the 2-D solve costs ~1 min of CPU at its finest grid
    if method == "kolmogorov" or (method == "auto" and len(reduced.state) == 1):
        if len(reduced.state) == 2:
            return kolmogorov_expectations_2d(reduced, x0, T, observables, values, functions)
        return kolmogorov_expectations(reduced, x0, T, observables, values, functions)
    return None
