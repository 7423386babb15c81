r"""Actions, minimum-action paths and quasipotentials along them.

The geometric minimum action method (gMAM; Heymann & Vanden-Eijnden, Comm.
Pure Appl. Math. 61 (2008) 1052): the quasipotential between ``a`` and ``b``
is the minimum over curves :math:`\gamma` from ``a`` to ``b`` of the
geometric action

.. math::

    \hat S[\gamma] = \int_\gamma \ell(\gamma, d\gamma), \qquad
    \ell(x, y) = \sup\{p\cdot y : H(x, p) \le 0\} = p^*\cdot y,

with :math:`H(x, p^*) = 0` and :math:`\nabla_p H(x, p^*) = \mu y`,
:math:`\mu \ge 0`. For a Hamiltonian quadratic in ``p``,
:math:`H = b\cdot p + \frac12 p\cdot D p`, the supremum is explicit,
:math:`\ell = |y|_D|b|_D - \langle y, b\rangle_D` with
:math:`\langle u, w\rangle_D = u\cdot D^{-1}w`. The curve is discretised in
``n`` segments (midpoint rule); the action is minimised over the interior
points with :func:`scipy.optimize.minimize` (BFGS) using the exact
gradient (:math:`\partial_y\ell = p^*`, :math:`\partial_x\ell = -\mu^{-1}
\partial_x H(x, p^*)`). The points move only normal to the curve within a
round (the discrete action is not invariant under tangential moves: left
free, the points would bunch) and are redistributed to equal arc length
between rounds, until the action stops changing.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import sympy as sp

from ..derive.ldp import Hamiltonian, LDPError, _params, _substitute, hamiltonian, rate_function

__all__ = ["MinimumActionPath", "action", "geometric_action", "minimum_action_path"]


@dataclass(frozen=True)
class MinimumActionPath:
    """The result of :func:`minimum_action_path`.

    Attributes
    ----------
    path : ndarray (n + 1, d)
        The points of the curve, equally spaced in arc length, ``path[0] = start``.
    action : float
        The geometric action of the curve: the quasipotential of ``end``
        relative to ``start`` when ``start`` is an attractor.
    momentum : ndarray (n, d)
        :math:`p^*` at the segment midpoints.
    converged : bool
    history : tuple of float
        The action after each round.
    record : dict
        Rounds, optimiser messages and iterations, the tolerance.
    """

    path: np.ndarray
    action: float
    momentum: np.ndarray
    converged: bool
    history: tuple[float, ...]
    record: dict = field(default_factory=dict)

    def _repr_html_(self) -> str:
        from ..report.results import estimate_html

        return estimate_html("Minimum-action path", [
            ("action", self.action), ("converged", self.converged),
            ("points", len(self.path)), ("start", self.path[0].tolist()),
            ("end", self.path[-1].tolist()), ("rounds", len(self.history))])


class _Local:
    """The local geometric action and its gradient for one Hamiltonian at parameter values."""

    def __init__(self, H: Hamiltonian, prm: Mapping) -> None:
        self.H = H
        self.d = H.dim
        self.quadratic = None
        self._Di_const: np.ndarray | None = None
        self.fn = H.numeric(prm)
        if H.expr is not None:
            e = _substitute(H.expr, prm, H)
            ps = H.momentum
            poly = sp.Poly(sp.expand(e), *ps) if sp.expand(e).is_polynomial(*ps) else None
            if poly is not None and poly.total_degree() <= 2:
                zero = {p: 0 for p in ps}
                b = sp.Matrix([sp.diff(e, p).subs(zero) for p in ps])
                D = sp.hessian(e, ps)
                X = H.slow
                self._bl = sp.lambdify([X], list(b), "numpy")
                self._Dl = sp.lambdify([X], list(D), "numpy")
                if not D.free_symbols:  # a constant diffusion: its inverse once
                    self._Di_const = np.linalg.inv(np.array(D.tolist(), dtype=float))
                self.quadratic = (sp.lambdify([X], b, "numpy"), sp.lambdify([X], D, "numpy"),
                                  sp.lambdify([X], b.jacobian(X), "numpy"),
                                  [sp.lambdify([X], D.diff(xk), "numpy") for xk in X])
            self._Hp = sp.lambdify([H.slow, ps], sp.Matrix([sp.diff(e, p) for p in ps]), "numpy")
            self._Hx = sp.lambdify([H.slow, ps], sp.Matrix([sp.diff(e, x) for x in H.slow]),
                                   "numpy")
            self._Hxl = sp.lambdify([H.slow, ps], [sp.diff(e, x) for x in H.slow], "numpy")
        else:
            self._Hp = self._Hx = None
        self._warm: dict = {}

    def Hp(self, x: np.ndarray, p: np.ndarray) -> np.ndarray:
        if self._Hp is not None:
            return np.asarray(self._Hp(tuple(x), tuple(p)), float).ravel()
        return _fd(lambda q: self.fn(x, q), p)

    def Hx(self, x: np.ndarray, p: np.ndarray) -> np.ndarray:
        if self._Hx is not None:
            return np.asarray(self._Hx(tuple(x), tuple(p)), float).ravel()
        return _fd(lambda z: self.fn(z, p), x)

    def __call__(self, x: np.ndarray, y: np.ndarray, k: int) -> tuple[float, np.ndarray,
                                                                       np.ndarray, np.ndarray]:
        """``(ell, d ell/dx, d ell/dy, p*)`` at the midpoint ``x`` of segment ``k``."""
        ny = np.linalg.norm(y)
        if ny == 0:
            return 0.0, np.zeros(self.d), np.zeros(self.d), np.zeros(self.d)
        if self.quadratic is not None:
            fb, fD, fJ, fdD = self.quadratic
            b = np.asarray(fb(tuple(x)), float).ravel()
            D = np.atleast_2d(np.asarray(fD(tuple(x)), float))
            Di = np.linalg.inv(D)
            bb, yy = b @ Di @ b, y @ Di @ y
            nb, nyD = np.sqrt(max(bb, 0.0)), np.sqrt(yy)
            if nb < 1e-300:
                # at a fixed point the set {H <= 0} is {p: p.D p/2 <= -b.p}: ell = 0
                return 0.0, np.zeros(self.d), np.zeros(self.d), np.zeros(self.d)
            mu = nb / nyD
            p = Di @ (mu * y - b)
        else:
            p, mu = self._solve(x, y, k)
        ell = float(p @ y)
        gy = p
        gx = -self.Hx(x, p) / mu
        return ell, gx, gy, p

    def batch(self, X: np.ndarray, Y: np.ndarray) -> tuple[np.ndarray, ...]:
        """All segments at once: ``(ell, d ell/dx, d ell/dy, p*)``, arrays over segments."""
        m, d = X.shape
        if self.quadratic is None:
            out = [self(X[k], Y[k], k) for k in range(m)]
            return (np.array([o[0] for o in out]), np.array([o[1] for o in out]),
                    np.array([o[2] for o in out]), np.array([o[3] for o in out]))
        cols = tuple(X.T)

        def arr(vals: list) -> np.ndarray:
            return np.stack([np.broadcast_to(np.asarray(v, float), (m,)) for v in vals], axis=1)
        b = arr(self._bl(cols))
        if self._Di_const is not None:   # the same products, by one matrix for all segments
            Dy, Db = Y @ self._Di_const.T, b @ self._Di_const.T
        else:
            Di = np.linalg.inv(arr(self._Dl(cols)).reshape(m, d, d))
            Dy, Db = np.einsum("kij,kj->ki", Di, Y), np.einsum("kij,kj->ki", Di, b)
        bb = np.maximum(np.einsum("ki,ki->k", b, Db), 0.0)
        yy = np.einsum("ki,ki->k", Y, Dy)
        ok = (bb > 1e-300) & (yy > 0)
        mu = np.where(ok, np.sqrt(bb) / np.sqrt(np.where(yy > 0, yy, 1.0)), 1.0)
        p = np.where(ok[:, None], mu[:, None] * Dy - Db, 0.0)
        ell = np.einsum("ki,ki->k", p, Y)
        Hx = arr(self._Hxl(cols, tuple(p.T)))
        gx = np.where(ok[:, None], -Hx / mu[:, None], 0.0)
        return ell, gx, p, p

    def _solve(self, x: np.ndarray, y: np.ndarray, k: int) -> tuple[np.ndarray, float]:
        """``H(x, p) = 0``, ``H_p(x, p) = mu y``, on the branch ``p.y >= 0`` (scipy root)."""
        from scipy.optimize import root

        d = self.d
        u = y / np.linalg.norm(y)
        # the maximiser of p.u on {H <= 0}: one-dimensional along u first
        p0 = self._warm.get(k)
        if p0 is None:
            p0 = self._along(x, u)

        def F(z: np.ndarray) -> np.ndarray:
            p, mu = z[:d], z[d]
            return np.concatenate([[self.fn(x, p)], self.Hp(x, p) - mu * u])
        mu0 = max(float(self.Hp(x, p0) @ u), 1e-8)
        r = root(F, np.concatenate([p0, [mu0]]), method="hybr", options={"xtol": 1e-12})
        p, mu = r.x[:d], r.x[d]
        if not r.success or mu <= 0 or p @ u < -1e-10:
            p = self._along(x, u)
            mu = max(float(self.Hp(x, p) @ u), 1e-12)
        self._warm[k] = p
        return p, mu / np.linalg.norm(y)

    def _along(self, x: np.ndarray, u: np.ndarray) -> np.ndarray:
        """The nonzero root of ``s -> H(x, s u)`` (0 when ``H`` decreases along ``u``)."""
        from scipy.optimize import brentq

        g = lambda s: self.fn(x, s * u)  # noqa: E731
        h = 1e-6
        if (g(h) - g(-h)) / (2 * h) > -1e-12:
            return np.zeros(self.d)
        hi = 1.0
        for _ in range(60):
            if g(hi) > 0:
                break
            hi *= 2
        else:
            return np.zeros(self.d)
        s = brentq(g, h, hi, xtol=1e-13)
        return s * u


def _fd(f: Any, z: np.ndarray, h: float = 1e-6) -> np.ndarray:
    out = np.zeros(len(z))
    for i in range(len(z)):
        e = np.zeros(len(z))
        e[i] = h
        out[i] = (f(z + e) - f(z - e)) / (2 * h)
    return out


def _hamiltonian_of(model: Any, params: Mapping | None, kwargs: dict) -> Hamiltonian:
    if isinstance(model, Hamiltonian):
        return model
    return hamiltonian(model, params=params, **kwargs)


def geometric_action(model: Any, path: np.ndarray, *, params: Mapping | None = None,
                     **kwargs: Any) -> float:
    r"""The geometric action :math:`\hat S[\gamma] = \sum_k \ell(m_k, \Delta_k)` of a polygon.

    Examples
    --------
    >>> import numpy as np, sympy as sp, symavg as sa
    >>> x, y = sp.symbols("x y", real=True)
    >>> m = sa.SDE([x, y], [-x + y, -y / sa.epsilon],
    ...            diffusion=[[0, 0], [0, 2 / sa.epsilon]])
    >>> round(sa.ldp.geometric_action(m, np.linspace(0, 1, 201)[:, None], fast=[y]), 4)
    0.5
    """
    H = _hamiltonian_of(model, params, kwargs)
    loc = _Local(H, _params(H.params, params))
    pts = _as_path(path, H.dim)
    return float(sum(loc((pts[k] + pts[k + 1]) / 2, pts[k + 1] - pts[k], k)[0]
                     for k in range(len(pts) - 1)))


def action(model: Any, path: np.ndarray, t: Sequence[float] | None = None, *,
           params: Mapping | None = None, **kwargs: Any) -> float:
    r"""The action of a path.

    With times ``t``: :math:`S_T[\varphi] = \int_0^T L(\varphi, \dot\varphi)\,dt`,
    by the midpoint rule with :math:`\dot\varphi` the difference quotient and
    ``L`` the rate function (closed form, or the numeric Legendre transform).
    Without ``t``: the geometric action (:func:`geometric_action`), the
    infimum of :math:`S_T` over reparametrisations.

    Examples
    --------
    Telegraph process, constant velocity 1/2 for a time 1: :math:`S = L(1/2) =
    \lambda(1 - \sqrt{3}/2)`.

    >>> import numpy as np, sympy as sp, symavg as sa
    >>> x = sp.Symbol("x", real=True)
    >>> lam = sp.Symbol("lambda", positive=True)
    >>> ch = sa.MarkovChain({("-", "+"): lam / sa.epsilon, ("+", "-"): lam / sa.epsilon})
    >>> tel = sa.SwitchingSDE([x], ch, drift={"-": -1, "+": 1})
    >>> t = np.linspace(0, 1, 11)
    >>> round(sa.ldp.action(tel, t[:, None] / 2, t, params={lam: 1.0}), 6)
    0.133975
    """
    H = _hamiltonian_of(model, params, kwargs)
    pts = _as_path(path, H.dim)
    if t is None:
        return geometric_action(H, pts, params=params)
    t = np.asarray(t, float)
    if t.shape != (len(pts),) or np.any(np.diff(t) <= 0):
        raise LDPError(f"t must be increasing with one time per path point ({len(pts)})")
    L = rate_function(H)
    total = 0.0
    for k in range(len(pts) - 1):
        dt = t[k + 1] - t[k]
        total += L.evaluate((pts[k] + pts[k + 1]) / 2, (pts[k + 1] - pts[k]) / dt, params) * dt
    return float(total)


def _as_path(path: Any, d: int) -> np.ndarray:
    pts = np.asarray(path, float)
    if pts.ndim == 1 and d == 1:
        pts = pts[:, None]
    if pts.ndim != 2 or pts.shape[1] != d or len(pts) < 2:
        raise LDPError(f"a path is an array of shape (points, {d}) with at least 2 points; got "
                       f"shape {pts.shape}")
    return pts


def _redistribute(pts: np.ndarray, n: int) -> np.ndarray:
    seg = np.linalg.norm(np.diff(pts, axis=0), axis=1)
    s = np.concatenate([[0.0], np.cumsum(seg)])
    s /= s[-1]
    u = np.linspace(0, 1, n + 1)
    return np.stack([np.interp(u, s, pts[:, k]) for k in range(pts.shape[1])], axis=1)


def _normals(pts: np.ndarray) -> np.ndarray:
    """Orthonormal bases of the normal spaces at the interior points (central tangents)."""
    t = pts[2:] - pts[:-2]
    t /= np.linalg.norm(t, axis=1, keepdims=True)
    out = []
    for tk in t:
        q, _ = np.linalg.qr(np.column_stack([tk, np.eye(len(tk))]))
        out.append(q[:, 1:len(tk)])
    return np.array(out)


def minimum_action_path(model: Any, start: Sequence[float], end: Sequence[float], *,
                        n: int = 60, params: Mapping | None = None,
                        initial: np.ndarray | None = None, tol: float = 1e-7,
                        max_rounds: int = 30, **kwargs: Any) -> MinimumActionPath:
    r"""The minimum geometric action path from ``start`` to ``end`` (gMAM, see the module).

    Parameters
    ----------
    model : SDE, SwitchingSDE or Hamiltonian
    start, end : sequence of float
        The end points (``start`` normally a stable point of the averaged drift).
    n : int
        Segments of the discretised curve.
    params : dict
        Parameter values.
    initial : ndarray (m, d), optional
        A first curve (default: the straight line).
    tol : float
        Relative change of the action between rounds at which to stop.
    **kwargs : passed to :func:`symavg.ldp.hamiltonian`.

    Returns
    -------
    MinimumActionPath

    Examples
    --------
    A gradient system :math:`dx = -U'(x)\,dt + \sqrt{\epsilon}\,\sigma dW` written
    with a fast OU noise; the quasipotential is :math:`2\,\Delta U/\sigma^2`:

    >>> import sympy as sp, symavg as sa
    >>> x, y = sp.symbols("x y", real=True)
    >>> m = sa.SDE([x, y], [-x**3 + y, -y / sa.epsilon],
    ...            diffusion=[[0, 0], [0, 2 / sa.epsilon]])   # sigma^2 = 2: V = U
    >>> r = sa.ldp.minimum_action_path(m, [0.0], [1.0], fast=[y], n=200)
    >>> round(r.action, 4)
    0.25
    """
    from scipy.optimize import minimize

    H = _hamiltonian_of(model, params, kwargs)
    prm = _params(H.params, params)
    loc = _Local(H, prm)
    a, b = np.atleast_1d(np.asarray(start, float)), np.atleast_1d(np.asarray(end, float))
    if a.shape != (H.dim,) or b.shape != (H.dim,):
        raise LDPError(f"start and end need {H.dim} coordinates ({list(H.slow)})")
    if initial is None:
        pts = a + np.linspace(0, 1, n + 1)[:, None] * (b - a)
    else:
        pts = _redistribute(_as_path(initial, H.dim), n)
        pts[0], pts[-1] = a, b
    d = H.dim
    history: list[float] = []
    messages: list[str] = []
    iters = 0
    converged = False
    if d == 1:
        # one slow variable: the curve is the segment itself (backtracking only adds action)
        S = float(sum(loc((pts[k] + pts[k + 1]) / 2, pts[k + 1] - pts[k], k)[0]
                      for k in range(n)))
        history.append(S)
        converged = True
        messages.append("one slow dimension: the straight segment")
    for _ in range(max_rounds if d > 1 else 0):
        base = pts.copy()
        normals = _normals(base)            # (n - 1, d, d - 1)

        def total(c: np.ndarray, base: np.ndarray = base,
                  normals: np.ndarray = normals) -> tuple[float, np.ndarray]:
            P = base.copy()
            P[1:-1] += np.einsum("kij,kj->ki", normals, c.reshape(n - 1, d - 1))
            ell, gx, gy, _ = loc.batch((P[:-1] + P[1:]) / 2, np.diff(P, axis=0))
            g = np.zeros_like(P)
            g[:-1] += gx / 2 - gy
            g[1:] += gx / 2 + gy
            S = float(ell.sum())
            return S, np.einsum("kij,ki->kj", normals, g[1:-1]).ravel()
        r = minimize(total, np.zeros((n - 1) * (d - 1)), jac=True, method="BFGS",
                     options={"maxiter": 400, "gtol": 1e-10})
        iters += int(r.nit)
        messages.append(str(r.message))
        moved = base.copy()
        moved[1:-1] += np.einsum("kij,kj->ki", normals, r.x.reshape(n - 1, d - 1))
        pts = _redistribute(moved, n)
        S = float(loc.batch((pts[:-1] + pts[1:]) / 2, np.diff(pts, axis=0))[0].sum())
        if history and abs(history[-1] - S) <= tol * max(1.0, abs(S)):
            history.append(S)
            converged = True
            break
        history.append(S)
    mom = np.array([loc((pts[k] + pts[k + 1]) / 2, pts[k + 1] - pts[k], k)[3] for k in range(n)])
    return MinimumActionPath(pts, float(history[-1]), mom, converged, tuple(history),
                             {"rounds": len(history), "iterations": iters, "messages": messages,
                              "tol": tol, "segments": n, "method": "gMAM (BFGS on normal "
                              "moves, equal arc length between rounds)",
                              "closed-form local action": loc.quadratic is not None})
