r"""The numeric cell solvers as strategies of the two registries.

When no closed form exists, the invariant density and the cell problems are
solved by spectral collocation at given parameter values: on a Fourier grid
when every fast variable is periodic (:mod:`symavg.derive.numeric_cell`,
matrix-free GMRES), and on a tensor grid of truncated Chebyshev axes on the
line and Fourier axes on the circles when some fast variable lives on the line
(:mod:`symavg.derive.numeric_line`, dense; a confining drift is required).
These solvers are registered last in :data:`symavg.derive.invariant.STRATEGIES`
and :data:`symavg.derive.poisson.STRATEGIES`, as ``"spectral (numeric)"``; they
act only inside :func:`symavg.derive._context.numeric_parameters` (the
expansion engine opens it when ``reduce`` is given ``params=``), where they
return a :class:`GridMeasure` and :class:`GridCorrector`. The engine asks the
grid measure for every average, exactly as it asks a closed-form measure; the
numbers are computed on two grids (``n`` and ``n // 2`` points per circle, twice
as many per line) and their difference is recorded as the discretisation error
(check ``grid convergence``).

The effective coefficients are then numbers, valid when the coefficients of the
model do not depend on the slow variables (periodic homogenization: shear and
cellular flows, periodic potentials in several dimensions; a slow variable
driven by a fast double well).
"""

from __future__ import annotations

from dataclasses import dataclass, field

import sympy as sp

from ..errors import ModelError
from ..models.generator import Generator
from ..report.derivation import Check
from . import invariant, poisson
from ._context import current
from .measures import InvariantMeasure

# numpy and the grid solvers (symavg.derive.numeric_cell) are imported on first use, so
# that ``import symavg`` does not load numpy

NAME = "spectral (numeric)"


@dataclass(frozen=True)
class _Level:
    grid: object
    op: object
    rho: object


@dataclass(frozen=True)
class GridMeasure(InvariantMeasure):
    """An invariant density on a spectral grid (two resolutions), at given parameter values:
    a Fourier grid on a torus, or a product of Chebyshev (line) and Fourier axes."""

    levels: tuple[_Level, ...] = ()
    params: dict = field(default_factory=dict)
    averages_correctors = True

    def _values(self, expr: sp.Expr, level: _Level) -> float:
        from .numeric_cell import lambdify_on_grid

        vals = lambdify_on_grid(_numbers(expr, self.params, self.fast), level.grid)
        return _finite(level.grid.integrate(vals * level.rho), expr)

    def expect_checked(self, expr: object) -> tuple[sp.Expr, tuple[Check, ...]]:
        r"""Term by term: :math:`\langle c(x) g(y)\rangle = c(x)\langle g\rangle`, the
        factors :math:`c` free of the fast variables kept symbolic (slow variables
        included), each :math:`\langle g\rangle` a number on both grids."""
        expr = sp.sympify(expr)
        if not expr.has(*self.fast):
            return expr, ()
        groups: dict[sp.Expr, sp.Expr] = {}
        total = sp.S.Zero
        for term in sp.Add.make_args(sp.expand(expr) if expr.is_Add else expr):
            if not term.has(*self.fast):
                total += term
                continue
            coeff, g = term.as_independent(*self.fast, as_Add=False)
            groups[g] = groups.get(g, sp.S.Zero) + coeff
        fine_all, coarse_all = 0.0, 0.0
        for g, coeff in groups.items():
            fine, coarse = (self._values(g, lev) for lev in self.levels)
            total += coeff * sp.Float(fine, 15)
            scale = abs(complex(coeff.evalf(subs=self.params))) if not coeff.free_symbols - \
                set(self.params) else 1.0
            fine_all += scale * abs(fine)
            coarse_all += scale * abs(fine) + scale * abs(coarse - fine)
        return total, (_convergence(fine_all, coarse_all, self.levels),)

    def average_with_correctors(self, c: sp.Expr, phis: dict,
                                slow: tuple) -> tuple[sp.Expr, list[Check]]:
        """Average a coefficient holding grid correctors: slow derivatives of Phi vanish (the
        coefficients do not depend on the slow variables); Phi and its fast derivatives (up
        to second order) are spectral grid arrays."""
        out = []
        for k, level in enumerate(self.levels):
            arrays = {ph: sol.arrays[k] for ph, sol in phis.values()}
            out.append(_grid_average(sp.sympify(c), arrays, slow, self.fast, level,
                                     self.params))
        return sp.Float(out[0], 15), [_convergence(out[0], out[1], self.levels)]

    def describe(self) -> list[tuple[str, sp.Basic]]:
        return [("params", sp.Dict(self.params))]

    def written(self, expr: object, rho: str = "rho") -> sp.Basic | None:
        r""":math:`\int f\rho\,dy` over the domain of the grid: a period on each circle, the
        whole line on each line axis (the grid truncates it where the density is
        negligible)."""
        g = self.levels[0].grid
        if hasattr(g, "periods"):  # a TorusGrid
            limits = [(y, 0, sp.nsimplify(L, [sp.pi])) for y, L in zip(g.fast, g.periods)]
        else:  # a ProductGrid of line and circle axes
            limits = [(y, -sp.oo, sp.oo) if ax.kind == "line"
                      else (y, 0, sp.nsimplify(ax.scale[1], [sp.pi]))
                      for y, ax in zip(g.fast, g.axes)]
        return sp.Integral(sp.sympify(expr) * sp.Function(rho)(*g.fast), *limits)

    def domain_text(self) -> str:
        return f"{self.levels[0].grid.describe()}, at the given parameter values"


@dataclass(frozen=True)
class GridCorrector(poisson.Corrector):
    """The solution of a cell problem on the grids of a :class:`GridMeasure`."""

    rhs: sp.Expr
    fast: tuple[sp.Symbol, ...]
    strategy: str
    checks: tuple[Check, ...]
    arrays: tuple = field(default=(), compare=False)
    solver: str = "GMRES with a Fourier preconditioner"
    phi = None
    gradient: tuple = ()

    @property
    def blocks(self) -> tuple:
        return ((self.fast, self),)

    def step(self, label: str = r"\Phi"):
        from ..report.derivation import Step

        return Step("cell problem",
                    rf"Solve $-\mathcal{{L}}_0 {label} = h$ on the grid (spectral collocation, "
                    f"{self.solver}).", (("h", self.rhs),), self.checks,
                    self.strategy)


def _numbers(expr: sp.Expr, params: dict, fast: tuple) -> sp.Expr:
    e = sp.sympify(expr).xreplace(params)
    ctx = current()
    slow = [s for s in (ctx.slow if ctx else ()) if e.has(s)]
    if slow:
        raise ModelError(
            f"the numeric cell solver computes constant effective coefficients, but a "
            f"coefficient depends on the slow variable(s) {slow}; give a model whose "
            "coefficients depend on the fast variables only, or find a closed form"
        )
    return e


def _convergence(fine: float, coarse: float, levels: tuple) -> Check:
    err = abs(fine - coarse)
    scale = max(1.0, abs(fine))
    n1, n2 = levels[0].grid.n, levels[1].grid.n
    return Check("grid convergence", err < 1e-6 * scale, "numeric",
                 f"|value(n={n1}) - value(n={n2})| = {err:.1e}")


def _grid_average(c: sp.Expr, arrays: dict, slow: tuple, fast: tuple, level: _Level,
                  params: dict) -> float:
    from .numeric_cell import lambdify_on_grid

    repl: dict[sp.Basic, sp.Basic] = {}
    dummies, values = [], []
    op = level.op
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
    vals = lambdify_on_grid(_numbers(c, params, fast), level.grid, dummies, values)
    return _finite(level.grid.integrate(vals * level.rho), c)


def _finite(value: float, expr: sp.Expr) -> float:
    import numpy as np

    if not np.isfinite(value):
        raise ModelError(f"the grid average of {expr} is not finite: the coefficient is not "
                         "finite at some grid node (a singularity in the fast variables?)")
    return value


# -------------------------------------------------------------- strategies
@invariant.strategy(NAME, handles={"diffusion"}, numeric=True)
def _grid_measure(G: Generator, fast: tuple) -> InvariantMeasure | None:
    r"""Inside :func:`numeric_parameters`: the normalised null vector of
    :math:`\mathcal L_0^*` on two grids -- Fourier grids when every fast variable is
    periodic, otherwise a product of Chebyshev axes (line) and Fourier axes."""
    ctx = current()
    if ctx is None:
        return None
    Gn = G.subs(ctx.params)
    dep = [x for x in ctx.slow if any(e.has(x) for e in list(Gn.drift) + list(Gn.diffusion))]
    if dep:
        raise ModelError(
            f"the numeric cell solver computes constant effective coefficients, but L0 depends "
            f"on the slow variable(s) {dep}; give a model whose coefficients depend on the fast "
            "variables only, or find a closed form"
        )
    key = (Gn, tuple(fast), ctx.n, tuple(sorted(ctx.params.items(), key=str)))
    if key in _MEASURES:     # the nesting test of the engine asked already
        return _MEASURES[key]
    on_torus = all(y in G.periodic_map for y in fast)
    levels, residual = [], 0.0
    from .numeric_cell import spectral_operator, torus_grid
    from .numeric_line import product_grid, product_operator

    for size in (ctx.n, max(8, ctx.n // 2)):
        if on_torus:
            grid = torus_grid(Gn, fast, ctx.params, size)
            op = spectral_operator(Gn, grid)
        else:
            grid = product_grid(Gn, fast, ctx.params, size)   # line axes: 2 * size points
            op = product_operator(Gn, grid)
        rho, res = op.density()
        residual = max(residual, res)
        levels.append(_Level(grid, op, rho))
    check = Check("L0* rho = 0 (grid)", residual < 1e-8, "numeric", f"residual {residual:.1e}")
    measure = GridMeasure(fast=tuple(fast), strategy=NAME, checks=(check,),
                          levels=tuple(levels), params=ctx.params)
    if len(_MEASURES) >= 8:
        _MEASURES.pop(next(iter(_MEASURES)))
    _MEASURES[key] = measure
    return measure


#: the last grid measures, by (fast generator at the parameter values, fast variables, n,
#: parameter values -- the measure substitutes them into the coefficients it averages)
_MEASURES: dict[tuple, GridMeasure] = {}


@poisson.strategy(NAME, handles={"diffusion"}, numeric=True)
def _grid_cell(G: Generator, rhs: object, fast: tuple,
               measure: InvariantMeasure | None) -> poisson.Corrector | None:
    r""":math:`-\mathcal L_0\Phi = h` on the grids of a :class:`GridMeasure` (zero grid mean)."""
    if current() is None or not isinstance(measure, GridMeasure):
        return None
    if isinstance(rhs, sp.MatrixBase):
        return None
    import numpy as np

    from .numeric_cell import TorusGrid, lambdify_on_grid

    arrays, residual = [], 0.0
    for level in measure.levels:
        hg = lambdify_on_grid(_numbers(rhs, measure.params, fast), level.grid)
        phi, res = level.op.cell(hg)
        residual = max(residual, res / max(1.0, float(np.max(np.abs(hg)))))
        arrays.append(phi)
    check = Check("L0 Phi + h = 0 (grid)", residual < 1e-8, "numeric",
                  f"max relative residual {residual:.1e}")
    solver = ("GMRES with a Fourier preconditioner" if isinstance(measure.levels[0].grid, TorusGrid)
              else "dense LU on the product grid")
    return GridCorrector(sp.sympify(rhs), tuple(fast), NAME, (check,), tuple(arrays), solver)
