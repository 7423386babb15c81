r"""Numeric cell solver for fast variables on the real line (and products with circles).

When no closed form exists and some fast variable lives on the whole line, the
invariant density and the cell problems are solved by spectral collocation on
a tensor grid: a Fourier grid on each circle (as in
:mod:`symavg.derive.numeric_cell`) and, on each line, Boyd's algebraically
mapped Chebyshev grid (the rational Chebyshev functions :math:`TB_k`; Boyd,
*Chebyshev and Fourier Spectral Methods*, 2nd ed., 2001, Sec. 17.8-17.9):

.. math::

    y = c + L\cot\theta = c + \frac{Lt}{\sqrt{1-t^2}},\qquad t = \cos\theta,\qquad
    \theta_j = \frac{\pi(j + \frac12)}{n},\quad j = 0,\dots,n-1 .

Why this grid. On the line the invariant density of a confining drift decays
fast (:math:`e^{-y^4/4}` for the double well) while the cell solutions grow or
tend to constants (:math:`\Phi' \sim 1/y^2` for :math:`h = y` in the double
well). A Hermite-function basis represents decaying functions only; the mapped
grid represents both (any function smooth in :math:`t` up to :math:`t = \pm1`,
i.e. with an asymptotic expansion in :math:`1/y`), needs no boundary condition
(the ends :math:`t = \pm1` are not nodes: the drift points inwards there, the
"behavioural" condition of Boyd Sec. 17.3), and for a polynomial drift of
degree 3 the coefficient of :math:`\partial_t` stays bounded
(:math:`b\,\partial_y = b\,\frac{(1-t^2)^{3/2}}{L}\partial_t`). The error
decays faster than any power of :math:`n` (sub-geometrically: the functions are
:math:`C^\infty` but not analytic at :math:`t = \pm1`); measured on the double
well, the quartic and sextic wells, tilted and deep double wells and OU
processes of several widths, :math:`n = 64` gives a relative error of
:math:`10^{-5}`-:math:`10^{-7}` in an effective diffusion and :math:`n = 128`
below :math:`10^{-9}` (``tests/test_numeric_line.py``).

Differentiation: the barycentric Chebyshev matrix at the Gauss points
(:math:`w_j = (-1)^j\sin\theta_j`), :math:`D_y = \mathrm{diag}(dt/dy)D_t` with
:math:`dt/dy = (1-t^2)^{3/2}/L`, :math:`D_{yy} = D_y^2`. Quadrature: the
midpoint rule in :math:`\theta`,
:math:`\int f\,dy = \int_0^\pi f\,\frac{L}{\sin^2\theta}d\theta \approx
\sum_j \frac{\pi L}{n\sin^2\theta_j} f(y_j)`, spectrally accurate for the
rapidly decaying integrands :math:`f\rho` (all derivatives vanish at the ends).

Scale. :math:`c` and :math:`L` come from the drift's confinement along each
line axis (the other fast variables at 0): with :math:`\Psi(y) = \int 2b/a`,
:math:`[c - L, c + L]` is the interval where :math:`\Psi \ge \max\Psi - 10`
(the density above :math:`e^{-10}` of its peak). This choice was the best of
:math:`L \in \{R/3, R/2, 2R/3, R, 3R/2, 2R\}` on the cases above.

Confinement. A drift is accepted on a line axis when :math:`q(y) = -(y - c)b/a`
is positive at :math:`|y - c| = 4L, 8L, 16L` and grows at least twofold from
:math:`4L` to :math:`16L` on both sides (tails :math:`e^{-\int 2q/y}` decaying
at least exponentially); otherwise (no drift, an outward drift, a
heavy-tailed law such as Cauchy's) it is refused with a :class:`ModelError`.

Linear algebra (dense, :math:`N = \prod_k n_k \le` :data:`MAX_POINTS`). With
:math:`A` the collocation matrix of :math:`\mathcal L_0` and :math:`W` the
quadrature weights, the discrete invariant law is the left null vector
:math:`v` of :math:`A` (:math:`(A^T + \mathbf 1\mathbf 1^T)v = \mathbf 1`, so
:math:`A^Tv = 0`, :math:`\sum v = 1`), :math:`\rho = v/W`, and
:math:`\langle f\rangle = \sum_j v_jf_j`. The discrete centering
:math:`\langle h\rangle = 0` is then exactly the solvability of
:math:`A\Phi = -h`, solved as :math:`(A + \mathbf 1v^T)\Phi = -h` (so
:math:`\langle\Phi\rangle = 0`).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

import numpy as np
import sympy as sp

from ..errors import ModelError, UnsolvedError
from ..models.generator import Generator

#: the largest tensor grid solved densely
MAX_POINTS = 2500
#: negative density values tolerated, relative to the peak (tail oscillations)
POSITIVITY = 1e-4
#: the density drop (in units of Psi) that defines the bulk of a line axis
BULK_DROP = 10.0


@dataclass(frozen=True)
class Axis:
    """One axis of a product grid: nodes, quadrature weights, first and second derivative."""

    kind: str                  # "line" or "circle"
    nodes: np.ndarray = field(repr=False)
    weights: np.ndarray = field(repr=False)
    d1: np.ndarray = field(repr=False)
    d2: np.ndarray = field(repr=False)
    scale: tuple[float, float] = (0.0, 0.0)   # (c, L) on a line, (0, period) on a circle

    @property
    def n(self) -> int:
        return len(self.nodes)


def line_axis(n: int, c: float, L: float) -> Axis:
    r"""The mapped Chebyshev axis :math:`y_j = c + L\cot\theta_j` (see the module docstring)."""
    th = np.pi * (np.arange(n) + 0.5) / n
    t = np.cos(th)
    w = (-1.0) ** np.arange(n) * np.sin(th)
    diff = t[:, None] - t[None, :]
    np.fill_diagonal(diff, 1.0)
    D = (w[None, :] / w[:, None]) / diff
    np.fill_diagonal(D, 0.0)
    D[np.diag_indices(n)] = -D.sum(axis=1)
    Dy = ((1.0 - t * t) ** 1.5 / L)[:, None] * D
    nodes = c + L * t / np.sqrt(1.0 - t * t)
    weights = np.pi * L / (n * np.sin(th) ** 2)
    return Axis("line", nodes, weights, Dy, Dy @ Dy, (c, L))


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
                c, L = ax.scale
                parts.append(f"{ax.n} mapped Chebyshev points on the line for {y} "
                             f"(y = {c:.3g} + {L:.3g} cot theta)")
            else:
                parts.append(f"{ax.n} Fourier points on the circle for {y}")
        return " x ".join(parts)


class ProductOperator:
    r"""The collocation matrix of :math:`b\cdot\nabla + \frac12 a:\nabla\nabla` on a
    :class:`ProductGrid`, with the invariant law and the cell solver (dense)."""

    def __init__(self, grid: ProductGrid, drift: list[np.ndarray],
                 diff: list[list[np.ndarray]]):
        self.grid = grid
        self.d = len(grid.fast)
        self._d1 = [self._along(k, ax.d1) for k, ax in enumerate(grid.axes)]
        self._d2 = [self._along(k, ax.d2) for k, ax in enumerate(grid.axes)]
        N = int(np.prod(grid.shape))
        A = np.zeros((N, N))
        for i in range(self.d):
            A += drift[i].ravel()[:, None] * self._d1[i]
            for j in range(self.d):
                second = self._d2[i] if i == j else self._d1[i] @ self._d1[j]
                A += 0.5 * diff[i][j].ravel()[:, None] * second
        self.matrix = A
        self._v: np.ndarray | None = None

    def _along(self, k: int, D: np.ndarray) -> np.ndarray:
        out = np.ones((1, 1))
        for m, ax in enumerate(self.grid.axes):
            out = np.kron(out, D if m == k else np.eye(ax.n))
        return out

    def grad(self, u: np.ndarray) -> list[np.ndarray]:
        return [(D @ u.ravel()).reshape(u.shape) for D in self._d1]

    def hessian(self, u: np.ndarray) -> list[list[np.ndarray]]:
        flat = u.ravel()
        return [[(self._d2[i] @ flat if i == j else self._d1[i] @ (self._d1[j] @ flat))
                 .reshape(u.shape) for j in range(self.d)] for i in range(self.d)]

    def density(self) -> tuple[np.ndarray, float]:
        r"""The normalised invariant density at the nodes (:math:`\rho = v/W`) and the
        residual :math:`\max|A^Tv|`."""
        A = self.matrix
        one = np.ones(A.shape[0])
        try:
            v = np.linalg.solve(A.T + np.outer(one, one), one)
        except np.linalg.LinAlgError:
            raise UnsolvedError("the collocation matrix of the fast generator has more than "
                                "one invariant law on the grid; check that the fast process "
                                "is ergodic") from None
        # the far-tail nodes carry oscillations of the size of the discretisation error
        # (about 1e-6 of the peak at 64 points, 1e-11 at 128 on the double well); they
        # shrink with n and enter the grid-convergence check of every average
        if np.min(v) < -POSITIVITY * np.max(np.abs(v)):
            raise UnsolvedError(
                f"the numeric invariant density on the line grid is not positive (min/max "
                f"{np.min(v) / np.max(np.abs(v)):.1e}); refine the grid n")
        self._v = v
        rho = (v / self.grid.weights()).reshape(self.grid.shape)
        return rho, float(np.max(np.abs(A.T @ v)))

    def cell(self, h: np.ndarray) -> tuple[np.ndarray, float]:
        r""":math:`-\mathcal L_0\Phi = h` with :math:`\langle\Phi\rangle = 0`; returns
        :math:`\Phi` and the residual :math:`\max|A\Phi + h|`."""
        if self._v is None:
            self.density()
        A = self.matrix
        hf = h.ravel()
        phi = np.linalg.solve(A + np.outer(np.ones(A.shape[0]), self._v), -hf)
        return phi.reshape(h.shape), float(np.max(np.abs(A @ phi + hf)))


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
    r"""Centre ``c`` and width ``L`` of the bulk of the invariant law along the line axis
    ``k``, :math:`\{\Psi \ge \max\Psi - 10\}` with :math:`\Psi = \int_0^y 2b/a`, and the
    confinement check (module docstring); :class:`ModelError` when the drift does not
    confine."""
    y = fast[k]
    b, a = _axis_functions(G, fast, k)
    r = np.linspace(-1.0, 1.0, 4001)
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
        if psi[0] < -BULK_DROP and psi[-1] < -BULK_DROP:
            inside = r[psi >= -BULK_DROP]
            c = 0.5 * (inside.max() + inside.min())
            L = 0.5 * (inside.max() - inside.min())
            _require_confining(y, b, a, c, max(L, 1e-12))
            return float(c), float(max(L, 1e-12))
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
                 line_factor: int = 1) -> ProductGrid:
    """The tensor grid: Fourier axes (``n`` points) on the circles, mapped Chebyshev axes
    (``line_factor * n`` points) on the line, scales from :func:`line_scale`."""
    per = G.periodic_map
    axes = []
    for k, y in enumerate(fast):
        if y in per:
            L = sp.sympify(per[y]).subs(params)
            if L.free_symbols:
                raise ModelError(f"the period of {y} needs parameter values: {L.free_symbols}")
            axes.append(circle_axis(n, float(L)))
        else:
            c, L = line_scale(G, fast, k)
            axes.append(line_axis(line_factor * n, c, L))
    total = int(np.prod([ax.n for ax in axes]))
    if total > MAX_POINTS:
        per_dim = int(MAX_POINTS ** (1.0 / len(fast)))
        raise ModelError(
            f"the numeric cell solver with a fast variable on the line solves densely; "
            f"{' x '.join(str(ax.n) for ax in axes)} = {total} grid points exceed "
            f"{MAX_POINTS}. Pass a smaller n to sa.reduce (n={per_dim} or less for "
            f"{len(fast)} fast variables)")
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
