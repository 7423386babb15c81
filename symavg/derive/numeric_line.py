r"""Numeric cell solver for fast variables on the real line (and products with circles).

When no closed form exists and some fast variable lives on the whole line, the
invariant density and the cell problems are solved by spectral collocation on
a tensor grid: a Fourier grid on each circle (as in
:mod:`symavg.derive.numeric_cell`) and, on each line, a Chebyshev-Gauss-Lobatto
grid on the truncated interval :math:`[y_-, y_+]` where the density is above
:math:`e^{-70}` of its peak, with reflecting walls (zero normal derivative) at
its ends -- Boyd's *domain truncation* (Boyd, *Chebyshev and Fourier Spectral
Methods*, 2nd ed., 2001, Sec. 17.2):

.. math::

    \Psi(y) = \int_0^y \frac{2b}{a},\qquad
    [y_-, y_+] = \{\Psi \ge \max\Psi - 70\},\qquad
    y_j = y_- + \tfrac{y_+ - y_-}2\bigl(1 - \cos\tfrac{\pi j}{n-1}\bigr).

Why this grid. The cell solutions of a confining drift need not decay, nor stay
bounded: in the double well (:math:`V = y^4/4 - y^2/2`), :math:`h = y` gives
:math:`\Phi' \sim y^{-2}` but :math:`h = y^2 - \langle y^2\rangle` gives
:math:`\Phi \sim \log|y|`, and :math:`h = y^4` gives :math:`\Phi \sim y^2/2`.
Hermite functions represent decaying functions only. Boyd's algebraic map
:math:`y = L\cot\theta` (rational Chebyshev functions, Sec. 17.8) was tried
first: it converges for bounded :math:`\Phi` (:math:`10^{-9}` in an effective
diffusion at 128 points) but not for a growing one (for :math:`h = y^2` the
error of :math:`\Phi'` in the bulk stayed at 0.5 from 32 to 256 points). On a
finite interval, :math:`\Phi` is analytic (entire for polynomial coefficients)
and Chebyshev interpolation converges geometrically. The walls change the
problem only where the density is :math:`e^{-70}` of its peak: the invariant law
of the reflected process is the restricted :math:`e^{\Psi}/a`, and the wall
correction :math:`\delta` of a cell solution solves :math:`\mathcal L_0\delta = 0`,
:math:`\delta' = C e^{-\Psi}`, so it decays like :math:`e^{\Psi(y) - \Psi(y_\pm)}`
into the bulk: its weight in any average is :math:`O(e^{-70})`. Measured
(double well, deep double well, sextic well, OU; :math:`h = y` and :math:`y^2`):
the relative error of an effective diffusion is :math:`10^{-4}`-:math:`10^{-7}`
at 48 points, :math:`10^{-8}`-:math:`10^{-12}` at 64 and :math:`10^{-12}`-
:math:`10^{-15}` at 96 (``tests/test_numeric_line.py`` checks these against
quadrature).

Confinement. With :math:`[c - L, c + L] = \{\Psi \ge \max\Psi - 10\}` (the bulk),
a drift is accepted on a line axis when :math:`q(y) = -(y - c)b/a` is positive at
:math:`|y - c| = 4L, 8L, 16L` and grows at least twofold from :math:`4L` to
:math:`16L` on both sides (tails that decay at least exponentially); otherwise (no
drift, an outward drift, a heavy-tailed law such as Cauchy's) it is refused with a
:class:`ModelError`, as is a diffusion that vanishes on the axis.

Linear algebra (sparse, :math:`N = \prod_k n_k \le` :data:`MAX_POINTS`). With
:math:`A` the collocation matrix of :math:`\mathcal L_0` whose wall rows are
replaced by the normal derivative, and :math:`u` the indicator of the other
(interior) nodes, the discrete invariant law is the left null vector
:math:`A^T\ell + \mu u = 0`, :math:`u\cdot\ell = 1` (so :math:`A^T\ell = 0`),
:math:`q = u\ell`, :math:`\langle f\rangle = \sum_j q_jf_j` and
:math:`\rho = q/W` with the Clenshaw-Curtis weights :math:`W` (0 on the walls).
The discrete centering :math:`\langle h\rangle = 0` is then exactly the
solvability of the collocation system; :math:`-\mathcal L_0\Phi = h` is solved as
:math:`A\Phi + \mu u = -u(h - \langle h\rangle)`, :math:`u\cdot\Phi = 0`, then
:math:`\Phi \leftarrow \Phi - q\cdot\Phi` (:math:`A\mathbf 1 = 0`). Both use the one
bordered matrix :math:`K = \begin{pmatrix}A & u\\ u^T & 0\end{pmatrix}` (the law
solves :math:`K^T`), nonsingular when the null space of :math:`A` is the constants (the
centering forces :math:`\mu = 0`), factored once per grid: by LAPACK up to
:data:`DENSE_POINTS` nodes and by a sparse LU (SuperLU, ``scipy.sparse.linalg.splu``)
beyond. The Fourier and Chebyshev differentiation matrices are dense per axis, so a
Kronecker product has :math:`\sum_k n_k` entries per row but its LU fills in to about
:math:`N^2` (measured: 1.9e7 entries at :math:`N = 4608`); what lifted the old cap of 2500
points is the single factorisation per grid (the law and every cell problem share it)
and the sparse assembly.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

import numpy as np
import sympy as sp

from ..errors import ModelError, UnsolvedError
from ..models.generator import Generator

#: the largest tensor grid solved (sparse LU of the bordered collocation system)
MAX_POINTS = 20000
#: up to this many nodes the bordered system is factored densely (LAPACK): the Chebyshev
#: and Fourier differentiation matrices are dense per axis, so a sparse LU fills in to
#: about N^2 entries anyway and SuperLU was 1.8x slower than LAPACK at N = 4608
DENSE_POINTS = 6000
#: negative density values tolerated, relative to the peak (tail oscillations)
POSITIVITY = 1e-2
#: the density drop (in units of Psi) that defines the bulk of a line axis (confinement test)
BULK_DROP = 10.0
#: the density drop at the reflecting walls that truncate a line axis (e^-70 ~ 4e-31)
WALL_DROP = 70.0


@dataclass(frozen=True)
class Axis:
    """One axis of a product grid: nodes, quadrature weights, first and second derivative."""

    kind: str                  # "line" or "circle"
    nodes: np.ndarray = field(repr=False)
    weights: np.ndarray = field(repr=False)
    d1: np.ndarray = field(repr=False)
    d2: np.ndarray = field(repr=False)
    scale: tuple[float, float] = (0.0, 0.0)   # (lo, hi) on a line, (0, period) on a circle

    @property
    def n(self) -> int:
        return len(self.nodes)


def line_axis(n: int, lo: float, hi: float) -> Axis:
    r"""Chebyshev-Gauss-Lobatto nodes on :math:`[lo, hi]`, the Chebyshev differentiation
    matrix (Trefethen, *Spectral Methods in MATLAB*, 2000, ``cheb``) and Clenshaw-Curtis
    weights (Trefethen's ``clencurt``)."""
    N = n - 1
    k = np.arange(n)
    theta = np.pi * k / N
    t = np.cos(theta)
    cc = np.ones(n)
    cc[0] = cc[-1] = 2.0
    cc *= (-1.0) ** k
    X = t[:, None] - t[None, :]
    D = np.outer(cc, 1.0 / cc) / (X + np.eye(n))
    D -= np.diag(D.sum(axis=1))
    w = np.zeros(n)
    v = np.ones(N - 1)
    inner = theta[1:-1]
    if N % 2 == 0:
        w[0] = w[-1] = 1.0 / (N * N - 1)
        for j in range(1, N // 2):
            v -= 2.0 * np.cos(2 * j * inner) / (4 * j * j - 1)
        v -= np.cos(N * inner) / (N * N - 1)
    else:
        w[0] = w[-1] = 1.0 / (N * N)
        for j in range(1, (N - 1) // 2 + 1):
            v -= 2.0 * np.cos(2 * j * inner) / (4 * j * j - 1)
    w[1:-1] = 2.0 * v / N
    half = 0.5 * (hi - lo)
    # nodes in increasing order (t = cos theta runs from 1 down to -1)
    nodes = (lo + half * (t + 1.0))[::-1]
    Dy = (D / half)[::-1, ::-1]
    return Axis("line", nodes.copy(), (w * half)[::-1].copy(), Dy.copy(), Dy @ Dy, (lo, hi))


def circle_axis(n: int, period: float) -> Axis:
    """The Fourier axis of ``n`` equispaced nodes on a circle (differentiation by the FFT
    applied to the identity)."""
    k = 2 * np.pi * np.fft.fftfreq(n, d=period / n)
    eye = np.eye(n)
    fh = np.fft.fft(eye, axis=0)
    D1 = np.real(np.fft.ifft(1j * k[:, None] * fh, axis=0))
    D2 = np.real(np.fft.ifft(-(k * k)[:, None] * fh, axis=0))
    return Axis("circle", np.arange(n) * period / n, np.full(n, period / n), D1, D2,
                (0.0, period))


@dataclass(frozen=True)
class ProductGrid:
    """A tensor grid of line and circle axes, one per fast variable."""

    fast: tuple[sp.Symbol, ...]
    axes: tuple[Axis, ...]

    @property
    def shape(self) -> tuple[int, ...]:
        return tuple(ax.n for ax in self.axes)

    @property
    def n(self) -> int:
        return max(self.shape)

    def points(self) -> list[np.ndarray]:
        return list(np.meshgrid(*[ax.nodes for ax in self.axes], indexing="ij"))

    def integrate(self, values: np.ndarray) -> float:
        r""":math:`\int f\,dy` by the tensor quadrature."""
        w = np.ones(())
        for ax in self.axes:
            w = np.multiply.outer(w, ax.weights)
        return float(np.sum(w * values))

    def weights(self) -> np.ndarray:
        w = np.ones(())
        for ax in self.axes:
            w = np.multiply.outer(w, ax.weights)
        return w.ravel()

    def describe(self) -> str:
        parts = []
        for y, ax in zip(self.fast, self.axes):
            if ax.kind == "line":
                lo, hi = ax.scale
                parts.append(f"{ax.n} Chebyshev points for {y} on the line, cut at "
                             f"[{lo:.3g}, {hi:.3g}] (reflecting walls where the density is "
                             "below e^-70 of its peak)")
            else:
                parts.append(f"{ax.n} Fourier points on the circle for {y}")
        return " x ".join(parts)


class ProductOperator:
    r"""The collocation matrix of :math:`b\cdot\nabla + \frac12 a:\nabla\nabla` on a
    :class:`ProductGrid`, with reflecting walls at the ends of the line axes, the invariant
    law and the cell solver (sparse LU; see the module docstring)."""

    def __init__(self, grid: ProductGrid, drift: list[np.ndarray],
                 diff: list[list[np.ndarray]]):
        from scipy import sparse

        self.grid = grid
        self.d = len(grid.fast)
        self._d1 = [self._along(k, ax.d1) for k, ax in enumerate(grid.axes)]
        self._d2 = [self._along(k, ax.d2) for k, ax in enumerate(grid.axes)]
        N = int(np.prod(grid.shape))
        A = sparse.csr_matrix((N, N))
        for i in range(self.d):
            if np.any(drift[i]):
                A = A + sparse.diags(drift[i].ravel()) @ self._d1[i]
            for j in range(self.d):
                if np.any(diff[i][j]):
                    A = A + sparse.diags(0.5 * diff[i][j].ravel()) @ self._second(i, j)
        # a node at an end of a line axis carries the wall: zero normal derivative
        index = np.indices(grid.shape).reshape(self.d, -1)
        interior = np.ones(N, dtype=bool)
        walls = np.zeros(N, dtype=bool)
        normal = sparse.csr_matrix((N, N))
        for k, ax in enumerate(grid.axes):
            if ax.kind != "line":
                continue
            wall = interior & ((index[k] == 0) | (index[k] == ax.n - 1))
            normal = normal + sparse.diags(wall.astype(float)) @ self._d1[k]
            walls |= wall
            interior &= ~wall
        A = (sparse.diags((~walls).astype(float)) @ A + normal).tocsr()
        A.eliminate_zeros()
        self.matrix = A
        self.interior = interior.astype(float)
        self._q: np.ndarray | None = None
        self._lu = None

    def _along(self, k: int, D: np.ndarray):
        from scipy import sparse

        out = sparse.identity(1, format="csr")
        for m, ax in enumerate(self.grid.axes):
            out = sparse.kron(out, D if m == k else sparse.identity(ax.n), format="csr")
        return out

    def _second(self, i: int, j: int):
        r""":math:`\partial_i\partial_j` as a Kronecker product (no dense matrix product)."""
        from scipy import sparse

        if i == j:
            return self._d2[i]
        out = sparse.identity(1, format="csr")
        for m, ax in enumerate(self.grid.axes):
            out = sparse.kron(out, ax.d1 if m in (i, j) else sparse.identity(ax.n),
                              format="csr")
        return out

    def _bordered_solve(self, rhs: np.ndarray, transpose: bool = False) -> np.ndarray:
        r"""``x`` (without the multiplier) solving :math:`Kx = r` or :math:`K^Tx = r` for the
        bordered matrix :math:`K = \begin{pmatrix}A & u\\ u^T & 0\end{pmatrix}`, factored
        once per operator: dense LU (LAPACK) up to :data:`DENSE_POINTS` nodes, sparse LU
        (SuperLU, :func:`scipy.sparse.linalg.splu`) beyond."""
        if self._lu is None:
            from scipy import sparse

            u = self.interior
            K = sparse.bmat([[self.matrix, sparse.csr_matrix(u[:, None])],
                             [sparse.csr_matrix(u[None, :]), None]], format="csc")
            self._lu = _factor(K)
        sol = self._lu(rhs, transpose)
        if not np.all(np.isfinite(sol)):
            raise UnsolvedError("the collocation system of the fast generator is singular on "
                                "the grid; check that the fast process is ergodic")
        return sol[:-1]

    def grad(self, u: np.ndarray) -> list[np.ndarray]:
        return [(D @ u.ravel()).reshape(u.shape) for D in self._d1]

    def hessian(self, u: np.ndarray) -> list[list[np.ndarray]]:
        flat = u.ravel()
        return [[(self._d2[i] @ flat if i == j else self._d1[i] @ (self._d1[j] @ flat))
                 .reshape(u.shape) for j in range(self.d)] for i in range(self.d)]


    def density(self) -> tuple[np.ndarray, float]:
        r"""The normalised invariant density at the nodes (:math:`\rho = q/W`, 0 on the
        walls) and the residual :math:`\max|A^T\ell|`."""
        A, u = self.matrix, self.interior
        # A^T ell + mu u = 0, u . ell = 1 (A 1 = 0 forces mu = 0)
        ell = self._bordered_solve(np.r_[np.zeros(u.size), 1.0], transpose=True)
        q = ell * u
        # where the density is tiny the discrete law oscillates about 0 at the size of the
        # discretisation error (double well: -3e-4 of the peak at 32 points, -6e-6 at 48,
        # -4e-9 at 64); it shrinks with n and enters the grid-convergence check of every
        # average. A larger negative part means an unresolved law.
        if np.min(q) < -POSITIVITY * np.max(np.abs(q)):
            raise UnsolvedError(
                f"the numeric invariant density on the line grid is not positive (min/max "
                f"{np.min(q) / np.max(np.abs(q)):.1e}); refine the grid n")
        self._q = q
        rho = (q / self.grid.weights()).reshape(self.grid.shape)
        return rho, float(np.max(np.abs(A.T @ ell)))

    def cell(self, h: np.ndarray) -> tuple[np.ndarray, float]:
        r""":math:`-\mathcal L_0\Phi = h - \langle h\rangle` with
        :math:`\langle\Phi\rangle = 0` (walls: zero normal derivative); returns
        :math:`\Phi` and the residual on the collocation nodes."""
        if self._q is None:
            self.density()
        A, u, q = self.matrix, self.interior, self._q
        hf = h.ravel() - q @ h.ravel()
        # A Phi + mu u = -u hf, u . Phi = 0 (the centering q . (u hf) = 0 forces mu = 0);
        # then the constant that makes q . Phi = 0 (A 1 = 0)
        phi = self._bordered_solve(np.r_[-hf * u, 0.0])
        phi -= q @ phi
        return phi.reshape(h.shape), float(np.max(np.abs((A @ phi + hf) * u)))


def _factor(K):
    """A solver ``(rhs, transpose) -> x`` for the sparse matrix ``K``, factored once."""
    n = K.shape[0]
    if n <= DENSE_POINTS:
        import warnings

        from scipy.linalg import LinAlgWarning, lu_factor, lu_solve

        with warnings.catch_warnings():
            warnings.simplefilter("error", LinAlgWarning)
            try:
                factors = lu_factor(K.toarray(), check_finite=False)
            except (LinAlgWarning, np.linalg.LinAlgError):
                factors = None
        if factors is None or np.any(np.diag(factors[0]) == 0):
            raise UnsolvedError("the collocation matrix of the fast generator has more than "
                                "one invariant law on the grid; check that the fast process "
                                "is ergodic")
        return lambda rhs, transpose: lu_solve(factors, rhs, trans=1 if transpose else 0,
                                               check_finite=False)
    from scipy.sparse.linalg import splu

    try:
        lu = splu(K)
    except RuntimeError:  # SuperLU: "Factor is exactly singular"
        raise UnsolvedError("the collocation matrix of the fast generator has more than one "
                            "invariant law on the grid; check that the fast process is "
                            "ergodic") from None
    return lambda rhs, transpose: lu.solve(rhs, trans="T" if transpose else "N")


# ------------------------------------------------------------------ the scale
def _axis_functions(G: Generator, fast: Sequence[sp.Symbol], k: int):
    y = fast[k]
    others = {z: 0 for z in fast if z != y}
    b = sp.lambdify(y, G.drift[k].xreplace(others), modules="numpy")
    a = sp.lambdify(y, G.diffusion[k, k].xreplace(others), modules="numpy")

    def ev(f, r: np.ndarray) -> np.ndarray:
        with np.errstate(all="ignore"):
            return np.broadcast_to(np.asarray(f(r), dtype=float), r.shape)

    return (lambda r: ev(b, r)), (lambda r: ev(a, r))


def line_scale(G: Generator, fast: Sequence[sp.Symbol], k: int) -> tuple[float, float]:
    r"""The interval :math:`\{\Psi \ge \max\Psi - 70\}` of the line axis ``k``, with
    :math:`\Psi = \int_0^y 2b/a` (the other fast variables at 0), after the confinement
    check (module docstring); :class:`ModelError` when the drift does not confine."""
    y = fast[k]
    b, a = _axis_functions(G, fast, k)
    r = np.linspace(-1.0, 1.0, 8001)
    confined = False
    for _ in range(40):
        av, bv = a(r), b(r)
        if not (np.all(np.isfinite(av)) and np.all(np.isfinite(bv))):
            break
        if np.min(av) <= 0:
            raise ModelError(
                f"the numeric cell solver on the line needs a positive diffusion of the fast "
                f"variable {y}; its diffusion vanishes or is negative near {y} = "
                f"{r[np.argmin(av)]:.3g}")
        f = 2 * bv / av
        psi = np.concatenate([[0.0], np.cumsum(0.5 * (f[1:] + f[:-1]) * np.diff(r))])
        psi -= psi.max()
        if not confined and psi[0] < -BULK_DROP and psi[-1] < -BULK_DROP:
            bulk = r[psi >= -BULK_DROP]
            c = 0.5 * (bulk.max() + bulk.min())
            _require_confining(y, b, a, c, max(0.5 * (bulk.max() - bulk.min()), 1e-12))
            confined = True
        if confined and psi[0] < -WALL_DROP and psi[-1] < -WALL_DROP:
            inside = r[psi >= -WALL_DROP]
            return float(inside.min()), float(inside.max())
        r = 2.0 * r
    raise ModelError(
        f"the drift of the fast variable {y} does not confine it on the line (its invariant "
        f"density exp(int 2b/a) does not decay within |{y}| < {r[-1]:.3g}): the fast process "
        f"has no invariant probability with light tails. Give {y} a confining drift (e.g. "
        f"-V'({y}) with V growing at infinity), or declare it periodic if it lives on a circle")


def _require_confining(y: sp.Symbol, b, a, c: float, L: float) -> None:
    for side in (1.0, -1.0):
        probe = c + side * L * np.array([4.0, 8.0, 16.0])
        bv, av = b(probe), a(probe)
        q = -(probe - c) * bv / av
        if not np.all(np.isfinite(q)):
            raise ModelError(
                f"the drift or diffusion of the fast variable {y} is not finite far out on the "
                f"line ({y} = {probe[-1]:.3g}); the numeric cell solver on the line needs "
                "coefficients that are finite on the whole line")
        if not (np.all(q > 0) and q[2] >= 2.0 * q[0]):
            raise ModelError(
                f"the drift of the fast variable {y} is not confining on the line: "
                f"-({y} - c) b / a = {q[0]:.3g}, {q[1]:.3g}, {q[2]:.3g} (c = {c:.3g}) at {y} - c = "
                f"{side * 4 * L:.3g}, {side * 8 * L:.3g}, {side * 16 * L:.3g} does not grow "
                "(the invariant law, if any, has algebraic tails, e.g. Cauchy's). The numeric "
                "cell solver on the line needs a drift that pulls back at least linearly in "
                "the potential, -V'(y) with V growing at least like |y|")


def product_grid(G: Generator, fast: Sequence[sp.Symbol], params: Mapping, n: int,
                 line_factor: int = 2) -> ProductGrid:
    """The tensor grid: Fourier axes (``n`` points) on the circles, Chebyshev axes
    (``line_factor * n`` points) on the line, cut where :func:`line_scale` says."""
    per = G.periodic_map
    axes = []
    for k, y in enumerate(fast):
        if y in per:
            L = sp.sympify(per[y]).subs(params)
            if L.free_symbols:
                raise ModelError(f"the period of {y} needs parameter values: {L.free_symbols}")
            axes.append(circle_axis(n, float(L)))
        else:
            lo, hi = line_scale(G, fast, k)
            axes.append(line_axis(line_factor * n, lo, hi))
    total = int(np.prod([ax.n for ax in axes]))
    if total > MAX_POINTS:
        factors = [line_factor if ax.kind == "line" else 1 for ax in axes]
        fit = max((m for m in range(2, n) if np.prod([f * m for f in factors]) <= MAX_POINTS),
                  default=2)
        raise ModelError(
            f"the numeric cell solver with a fast variable on the line solves a sparse LU; "
            f"{' x '.join(str(ax.n) for ax in axes)} = {total} grid points exceed "
            f"{MAX_POINTS} (a line axis gets {line_factor} n points, a circle n). Pass "
            f"n={fit} or less to sa.reduce")
    return ProductGrid(tuple(fast), tuple(axes))


def product_operator(G: Generator, grid: ProductGrid) -> ProductOperator:
    from .numeric_cell import lambdify_on_grid

    d = len(grid.fast)
    b = [lambdify_on_grid(G.drift[i], grid) for i in range(d)]
    a = [[lambdify_on_grid(G.diffusion[i, j], grid) for j in range(d)] for i in range(d)]
    for arr in [*b, *(e for row in a for e in row)]:
        if not np.all(np.isfinite(arr)):
            raise ModelError("a coefficient of the fast generator is not finite at a node of "
                             "the line grid; the numeric cell solver needs coefficients finite "
                             "on the whole line")
    return ProductOperator(grid, b, a)
