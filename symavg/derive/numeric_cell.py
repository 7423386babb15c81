r"""Numeric fallback for fast variables on a torus: spectral collocation.

When no closed form is found and every fast variable is periodic, the
invariant density and the cell problems are solved numerically at given
parameter values, on an ``n``-point-per-dimension Fourier grid:

* invariant density: :math:`\mathcal L_0^*\rho - \bar\rho = -1/|\mathbb T|`, where
  :math:`\bar\rho` is the grid mean; integrating over the torus gives
  :math:`|\mathbb T|\bar\rho = 1`, so the solution is the normalised null vector
  of :math:`\mathcal L_0^*`;
* cell problems: :math:`-\mathcal L_0\Phi + \bar\Phi = h`; averaging against
  :math:`\rho` gives :math:`\bar\Phi = \langle h\rangle_\rho = 0`, so
  :math:`-\mathcal L_0\Phi = h` with zero grid mean.

Derivatives are taken with the FFT (spectrally accurate for smooth periodic
coefficients); the systems are solved matrix-free with GMRES, preconditioned
by the inverse of the constant-coefficient part in Fourier space. Averages are
grid means (the periodic trapezoid rule, spectrally accurate). Each solve
reports its residual, and the result is recomputed on a grid of half the size
to report the discretisation error.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import numpy as np
import sympy as sp

from ..errors import ModelError, UnsolvedError
from ..models.generator import Generator


@dataclass(frozen=True)
class TorusGrid:
    """A tensor Fourier grid on the torus of the given periods."""

    fast: tuple[sp.Symbol, ...]
    periods: tuple[float, ...]
    n: int

    @property
    def shape(self) -> tuple[int, ...]:
        return (self.n,) * len(self.fast)

    def points(self) -> list[np.ndarray]:
        axes = [np.arange(self.n) * (L / self.n) for L in self.periods]
        return list(np.meshgrid(*axes, indexing="ij"))

    def wavenumbers(self) -> list[np.ndarray]:
        ks = [2 * np.pi * np.fft.fftfreq(self.n, d=L / self.n) for L in self.periods]
        return list(np.meshgrid(*ks, indexing="ij"))

    @property
    def volume(self) -> float:
        return float(np.prod(self.periods))

    def integrate(self, values: np.ndarray) -> float:
        r""":math:`\int f\,dy` over the torus (the periodic trapezoid rule)."""
        return float(np.mean(values) * self.volume)

    def describe(self) -> str:
        return f"a {self.n}" + "".join(f" x {self.n}" for _ in self.fast[1:]) + " Fourier grid"


class SpectralOperator:
    r"""The generator :math:`b\cdot\nabla + \frac12 a:\nabla\nabla` and its adjoint on a grid."""

    def __init__(self, grid: TorusGrid, drift: list[np.ndarray], diff: list[list[np.ndarray]]):
        self.grid = grid
        self.b = drift
        self.a = diff
        self.k = grid.wavenumbers()
        self.d = len(grid.fast)

    def _d(self, u_hat: np.ndarray, i: int) -> np.ndarray:
        return np.real(np.fft.ifftn(1j * self.k[i] * u_hat))

    def _dd(self, u_hat: np.ndarray, i: int, j: int) -> np.ndarray:
        return np.real(np.fft.ifftn(-self.k[i] * self.k[j] * u_hat))

    def grad(self, u: np.ndarray) -> list[np.ndarray]:
        u_hat = np.fft.fftn(u)
        return [self._d(u_hat, i) for i in range(self.d)]

    def hessian(self, u: np.ndarray) -> list[list[np.ndarray]]:
        u_hat = np.fft.fftn(u)
        return [[self._dd(u_hat, i, j) for j in range(self.d)] for i in range(self.d)]

    def apply(self, u: np.ndarray) -> np.ndarray:
        u_hat = np.fft.fftn(u)
        out = np.zeros_like(u)
        for i in range(self.d):
            out += self.b[i] * self._d(u_hat, i)
            for j in range(self.d):
                out += 0.5 * self.a[i][j] * self._dd(u_hat, i, j)
        return out

    def adjoint(self, rho: np.ndarray) -> np.ndarray:
        out = np.zeros_like(rho)
        for i in range(self.d):
            out -= self._d(np.fft.fftn(self.b[i] * rho), i)
            for j in range(self.d):
                out += 0.5 * self._dd(np.fft.fftn(self.a[i][j] * rho), i, j)
        return out

    def preconditioner(self) -> object:
        from scipy.sparse.linalg import LinearOperator

        abar = [[float(np.mean(self.a[i][j])) for j in range(self.d)] for i in range(self.d)]
        symbol = sum(0.5 * abar[i][j] * self.k[i] * self.k[j]
                     for i in range(self.d) for j in range(self.d))
        symbol = np.where(symbol == 0, 1.0, symbol)
        shape = self.grid.shape
        size = int(np.prod(shape))

        def solve(v: np.ndarray) -> np.ndarray:
            return np.real(np.fft.ifftn(np.fft.fftn(v.reshape(shape)) / symbol)).ravel()

        return LinearOperator((size, size), matvec=solve, dtype=float)

    def density(self) -> tuple[np.ndarray, float]:
        """:func:`numeric_density` on this operator."""
        return numeric_density(self)

    def cell(self, h: np.ndarray) -> tuple[np.ndarray, float]:
        """:func:`numeric_cell` on this operator."""
        return numeric_cell(self, h)


def _solve(op_fn, rhs: np.ndarray, M: object, what: str) -> tuple[np.ndarray, float]:
    from scipy.sparse.linalg import LinearOperator, gmres

    shape = rhs.shape
    size = rhs.size
    A = LinearOperator((size, size), matvec=lambda v: op_fn(v.reshape(shape)).ravel(),
                       dtype=float)
    sol, info = gmres(A, rhs.ravel(), M=M, rtol=1e-12, atol=0.0, restart=200, maxiter=50)
    if info != 0:
        raise UnsolvedError(f"the spectral solver for the {what} did not converge (GMRES info "
                            f"{info}); try a larger grid n or check that the fast process is "
                            "ergodic")
    res = float(np.max(np.abs(op_fn(sol.reshape(shape)) - rhs)))
    return sol.reshape(shape), res


def lambdify_on_grid(expr: sp.Expr, grid: TorusGrid, extra: Sequence[sp.Symbol] = (),
                     extra_values: Sequence[np.ndarray] = ()) -> np.ndarray:
    """Evaluate an expression of the fast variables on the grid (NumPy, vectorised)."""
    expr = sp.sympify(expr)
    free = expr.free_symbols - set(grid.fast) - set(extra)
    if free:
        raise ModelError(
            f"the numeric cell solver needs numbers for {sorted(map(str, free))}: pass them in "
            "params={symbol: value}"
        )
    f = sp.lambdify(list(grid.fast) + list(extra), expr, modules="numpy")
    val = f(*grid.points(), *extra_values)
    return np.broadcast_to(np.asarray(val, dtype=float), grid.shape).copy()


def spectral_operator(G: Generator, grid: TorusGrid) -> SpectralOperator:
    d = len(grid.fast)
    b = [lambdify_on_grid(G.drift[i], grid) for i in range(d)]
    a = [[lambdify_on_grid(G.diffusion[i, j], grid) for j in range(d)] for i in range(d)]
    return SpectralOperator(grid, b, a)


def numeric_density(op: SpectralOperator) -> tuple[np.ndarray, float]:
    """Normalised invariant density on the grid and the residual of L0* rho = 0."""
    grid = op.grid

    def fn(r: np.ndarray) -> np.ndarray:
        return op.adjoint(r) - np.mean(r)

    rho, _ = _solve(fn, -np.full(grid.shape, 1.0 / grid.volume), op.preconditioner(),
                    "invariant density")
    if np.min(rho) < -1e-8 * np.max(np.abs(rho)):
        raise UnsolvedError("the numeric invariant density is not positive; refine the grid n")
    return rho, float(np.max(np.abs(op.adjoint(rho))))


def numeric_cell(op: SpectralOperator, h: np.ndarray) -> tuple[np.ndarray, float]:
    """Solve -L0 Phi = h (grid mean of Phi zero); returns (Phi, residual)."""

    def fn(u: np.ndarray) -> np.ndarray:
        return -op.apply(u) + np.mean(u)

    phi, _ = _solve(fn, h, op.preconditioner(), "cell problem")
    return phi, float(np.max(np.abs(-op.apply(phi) - h)))


def torus_grid(G: Generator, fast: Sequence[sp.Symbol], params: Mapping, n: int) -> TorusGrid:
    per = G.periodic_map
    missing = [y for y in fast if y not in per]
    if missing:
        raise UnsolvedError(
            f"the Fourier grid needs every fast variable on a circle; {missing} are not "
            "periodic (fast variables on the line: symavg.derive.numeric_line.product_grid)"
        )
    periods = []
    for y in fast:
        L = sp.sympify(per[y]).subs(params)
        if L.free_symbols:
            raise ModelError(f"the period of {y} needs parameter values: {L.free_symbols}")
        periods.append(float(L))
    return TorusGrid(tuple(fast), tuple(periods), n)
