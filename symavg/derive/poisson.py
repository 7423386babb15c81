r"""Poisson (cell) equations :math:`-\mathcal L_0\Phi = h` in the fast variables.

The centering condition :math:`\langle h\rangle_\rho = 0` is checked first
(Fredholm alternative: otherwise no solution exists and the slow variable
moves on a faster scale). Strategies, tried in order, each substituted back
before it is accepted:

``polynomial ansatz``
    :math:`\mathcal L_0` with drift affine and diffusion constant in ``y``
    maps polynomials of degree :math:`\le d` to themselves; for a polynomial
    ``h`` the ansatz :math:`\Phi = \sum_{0<|\alpha|\le d} c_\alpha y^\alpha`
    turns the equation into linear algebra (any dimension).
``fourier``
    constant coefficients on a torus: :math:`e^{ik\cdot y}` are eigenfunctions,
    :math:`\mathcal L_0 e^{ik\cdot y} = (ik\cdot b - \frac12 k^Tak)e^{ik\cdot y}`,
    so a trigonometric polynomial ``h`` is divided mode by mode.
``finite chain``
    a finite-state fast process: :math:`-Q\Phi = h` by exact linear algebra
    with :math:`\pi\Phi = 0` (the fundamental matrix,
    :func:`symavg.models.markov.poisson_solve`);
``independent blocks``
    the fast variables form independent blocks (a product measure) and ``h``
    is a sum of terms each of which depends on one block only:
    :math:`\Phi = \sum_b \Phi_b` with :math:`-\mathcal L_0^{(b)}\Phi_b = h_b - \langle h_b\rangle`,
    each block solved by the registry (closed form, or numeric where needed);
``quadrature (1-D)``
    one fast variable: with :math:`\Psi = \int 2b/a`,
    :math:`\mathcal L_0 f = \frac a2 e^{-\Psi}(e^{\Psi}f')'`, hence
    :math:`\Phi'(y) = e^{-\Psi(y)}\bigl(C - \int_{y_0}^y 2h e^{\Psi}/a\bigr)`
    with :math:`y_0=-\infty, C=0` on the line and :math:`y_0 = 0`, ``C`` fixed by
    periodicity of :math:`\Phi` on the circle. Only :math:`\Phi'` is needed by
    the expansion engine; :math:`\Phi` itself is formed when ``integrate``
    manages within its budget.
"""

from __future__ import annotations

import dataclasses
import functools
import itertools
from collections.abc import Callable, Hashable, Sequence
from dataclasses import dataclass

import sympy as sp

from .._sympy_util import is_rational_expression, lowest_terms, with_budget, zero_check
from ..errors import CenteringError, CheckFailedError, UnsolvedError
from ..models.generator import Generator
from ..models.markov import poisson_solve
from ..report.derivation import Check, Step
from . import _context
from .integrals import (
    antiderivative,
    beyond_elementary_periods,
    definite_integral,
    limit_at,
    reduce_square_roots,
)
from .invariant import _describe
from .measures import DiscreteMeasure, InvariantMeasure, ProductMeasure


@dataclass(frozen=True)
class Corrector:
    r"""The protocol of a solution :math:`\Phi` of :math:`-\mathcal L_0\Phi = h`.

    A corrector answers :meth:`apply` (:math:`\Phi` in closed form),
    :attr:`gradient` (:math:`\partial_y\Phi`, where it has one) and
    :attr:`residual_check` (the substitution check of :math:`\mathcal L_0\Phi + h = 0`).
    """

    @property
    def residual_check(self) -> Check | None:
        """The check ``L0 Phi + h = 0`` done on the solution (None for ``h = 0``)."""
        for c in getattr(self, "checks", ()):
            if c.name.startswith("L0 Phi + h") or c.name.startswith("Q Phi + h"):
                return c
        return None

    def apply(self) -> sp.Expr:
        r""":math:`\Phi` in closed form; :class:`UnsolvedError` when only its gradient is known."""
        phi = getattr(self, "phi", None)
        if phi is None:
            raise UnsolvedError("only the gradient of this corrector is known in closed form")
        return phi


@dataclass(frozen=True)
class PoissonSolution(Corrector):
    r"""A checked solution of :math:`-\mathcal L_0\Phi = h` in continuous fast variables.

    Attributes
    ----------
    rhs : Expr
        ``h``.
    phi : Expr or None
        :math:`\Phi` in closed form (normalised so its constant is 0), or None
        when only its gradient is known.
    gradient : tuple of Expr
        :math:`\partial\Phi/\partial y_k` for each fast variable.
    strategy : str
    checks : tuple of Check

    Examples
    --------
    >>> import sympy as sp, symavg as sa
    >>> y = sp.Symbol("y", real=True)
    >>> sol = sa.solve_poisson(sa.Generator([y], [-y], [[2]]), y, [y])
    >>> sol.phi, all(c.passed for c in sol.checks)
    (y, True)
    """

    rhs: sp.Expr
    phi: sp.Expr | None
    gradient: tuple[sp.Expr, ...]
    fast: tuple[sp.Symbol, ...]
    strategy: str
    checks: tuple[Check, ...]

    @property
    def blocks(self) -> tuple[tuple[tuple[sp.Symbol, ...], PoissonSolution], ...]:
        """``((fast variables, solution),)``: one block (see :class:`BlockCorrector`)."""
        return ((self.fast, self),)

    def step(self, label: str = r"\Phi") -> Step:
        exprs: list[tuple[str, sp.Basic]] = [("h", self.rhs)]
        if self.phi is not None:
            exprs.append((label, self.phi))
        else:
            for y, g in zip(self.fast, self.gradient):
                exprs.append((rf"\partial_{{{sp.latex(y)}}} {label}", g))
        return Step("cell problem",
                    rf"Solve $-\mathcal{{L}}_0 {label} = h$ in the fast variables.",
                    tuple(exprs), self.checks, self.strategy)


@dataclass(frozen=True)
class BlockCorrector(PoissonSolution):
    r""":math:`\Phi = \sum_b \Phi_b(y_b)` for independent blocks of fast variables.

    ``parts`` holds ``(block variables, solution)`` for every block with a
    nonzero right-hand side; :attr:`phi` is the sum when every block has a
    closed form, :attr:`gradient` is read block by block.
    """

    parts: tuple[tuple[tuple[sp.Symbol, ...], PoissonSolution], ...] = ()

    @property
    def blocks(self) -> tuple[tuple[tuple[sp.Symbol, ...], PoissonSolution], ...]:
        return self.parts

    def step(self, label: str = r"\Phi") -> Step:
        exprs: list[tuple[str, sp.Basic]] = [("h", self.rhs)]
        for k, (_, sol) in enumerate(self.parts, 1):
            lab = rf"{label}^{{({k})}}"
            if sol.phi is not None:
                exprs.append((lab, sol.phi))
            else:
                for y, g in zip(sol.fast, sol.gradient):
                    exprs.append((rf"\partial_{{{sp.latex(y)}}} {lab}", g))
        return Step("cell problem",
                    rf"Solve $-\mathcal{{L}}_0 {label} = h$: the fast variables form independent "
                    rf"blocks and $h$ is a sum of single-block terms, so ${label} = \sum_b "
                    rf"{label}^{{(b)}}$, one cell problem per block.",
                    tuple(exprs), self.checks, self.strategy)


@dataclass(frozen=True)
class DiscreteCorrector(Corrector):
    r"""The solution of :math:`-Q\Phi = h` on a finite state space (columns over the states)."""

    rhs: sp.ImmutableMatrix
    phi: sp.ImmutableMatrix
    states: tuple[Hashable, ...]
    symbol: sp.Symbol
    strategy: str
    checks: tuple[Check, ...]

    @property
    def fast(self) -> tuple[sp.Symbol, ...]:
        return (self.symbol,)

    @property
    def gradient(self) -> tuple:
        return ()

    def step(self, label: str = r"\Phi") -> Step:
        return Step("cell problem",
                    rf"Solve $-Q_0 {label} = h$ on the states of ${sp.latex(self.symbol)}$, "
                    rf"with $\pi {label} = 0$.",
                    (("h", self.rhs.T), (label, self.phi.T)), self.checks, self.strategy)


Strategy = Callable[[Generator, sp.Expr, tuple, InvariantMeasure], "Corrector | None"]
STRATEGIES: list[tuple[str, Strategy]] = []


def strategy(name: str, handles: frozenset[str] | set[str] = frozenset({"diffusion"}),
             numeric: bool = False) -> Callable[[Strategy], Strategy]:
    """Register a Poisson strategy (tried in registration order).

    ``numeric`` strategies (grid solvers) are tried only inside
    :func:`~symavg.derive._context.numeric_parameters`, and only they are tried there.
    ``handles`` names the generator parts the strategy understands; on a
    generator with any other part the registered function declines.
    """
    kinds = frozenset(handles)

    def deco(fn: Strategy) -> Strategy:
        @functools.wraps(fn)
        def guarded(G: Generator, rhs: object, fast: tuple,
                    measure: InvariantMeasure | None) -> Corrector | None:
            if not G.kinds() or not G.kinds() <= kinds or (G.is_switching
                                                           and "jump" not in kinds):
                return None
            return fn(G, rhs, fast, measure)

        guarded.handles = kinds  # type: ignore[attr-defined]
        guarded.numeric = numeric  # type: ignore[attr-defined]
        STRATEGIES.append((name, guarded))
        return guarded

    return deco


def centering_check(rhs: sp.Expr, measure: InvariantMeasure, what: str = "h") -> Check:
    r"""Check :math:`\langle h\rangle_\rho = 0`; raise :class:`CenteringError` if not."""
    mean, _ = measure.expect_checked(rhs)
    chk = zero_check(f"<{what}> = 0", mean)
    if not chk.passed:
        rhs_text = list(rhs) if isinstance(rhs, sp.MatrixBase) else rhs
        # the mean may hold nested integrals (a tilted washboard's constant-flux law):
        # simplify only under a work limit, and say what the numbers gave
        shown = mean if mean.has(sp.Integral) else (with_budget(sp.simplify, (mean,), 1.0)
                                                      or mean)
        raise CenteringError(
            f"the centering condition fails: <{what}> = {shown} is not zero under "
            f"the invariant measure of the fast variables {list(measure.fast)}, so "
            f"-L0 Phi = {rhs_text} has no solution. The slow dynamics has a nonzero mean drift at "
            "this order: it moves on a faster time scale. Average at that scale instead "
            "(sa.average), or subtract the mean from the fast forcing."
        )
    return chk


def solve_poisson(L0: Generator, rhs: sp.Expr, fast: Sequence[sp.Symbol],
                  measure: InvariantMeasure | None = None,
                  check_centering: bool = True) -> PoissonSolution:
    r"""Solve :math:`-\mathcal L_0\Phi = h` in the variables ``fast``.

    Parameters
    ----------
    L0 : Generator
    rhs : Expr
        ``h``; may depend on the slow variables and parameters.
    fast : sequence of Symbol
    measure : InvariantMeasure, optional
        The invariant measure of ``L0`` (computed when omitted).

    Raises
    ------
    CenteringError
        When :math:`\langle h\rangle \neq 0`.
    UnsolvedError
        When no strategy finds a closed form.

    Returns
    -------
    PoissonSolution
        The corrector, its gradient and the checks (``-L0 Phi - h = 0`` substituted back).

    Examples
    --------
    >>> import sympy as sp, symavg as sa
    >>> x, y = sp.symbols("x y", real=True)
    >>> sa.solve_poisson(sa.Generator([y], [-y], [[2]]), x * y**3, [y]).phi
    x*y**3/3 + 2*x*y
    """
    from .invariant import invariant_measure

    fast = tuple(fast)
    G = L0.restrict(fast)
    if measure is None:
        measure = invariant_measure(G, fast)
    rhs = sp.ImmutableMatrix(rhs) if isinstance(rhs, list | tuple | sp.MatrixBase) \
        else sp.sympify(rhs)
    pre = (centering_check(rhs, measure),) if check_centering else ()
    if isinstance(measure, DiscreteMeasure) and not isinstance(rhs, sp.MatrixBase):
        rhs = sp.ImmutableMatrix([rhs] * len(measure.states))
    if (rhs.is_zero_matrix if isinstance(rhs, sp.MatrixBase) else rhs == 0):
        if isinstance(measure, DiscreteMeasure):
            return DiscreteCorrector(rhs, rhs, measure.states, measure.symbol, "trivial", pre)
        return PoissonSolution(rhs, sp.S.Zero, tuple(sp.S.Zero for _ in fast), fast, "trivial",
                               pre)
    for _name, fn in STRATEGIES:
        if _context.skip(fn):
            continue
        sol = fn(G, rhs, fast, measure)
        if sol is not None:
            return dataclasses.replace(sol, checks=pre + sol.checks)
    raise UnsolvedError(
        f"no strategy solved -L0 Phi = {list(rhs) if isinstance(rhs, sp.MatrixBase) else rhs}"
        f" in closed form for the fast generator with {_describe(G)}"
        + (" (the right-hand side couples the independent fast blocks: a cross-block term)"
           if isinstance(measure, ProductMeasure) else "")
        + ". " + numeric_hint(G)
    )


#: the advice of :func:`numeric_hint` (the engine does not repeat a message holding it)
NUMERIC_HINT = "method='numeric'"


def numeric_hint(G: Generator) -> str:
    """What to do when no closed form exists, only what applies to this fast generator: the
    numeric (spectral) cell solver needs continuous fast variables (on circles, or on the
    line with a confining drift) and no jumps."""
    if G.is_switching or G.jump is not None or not G.kinds() <= {"diffusion"}:
        return ("The numeric cell solver does not handle fast jumps or switching; simplify the "
                "model.")
    return ("Pass params={symbol: value} (params={} when the model has no parameters) and "
            f"{NUMERIC_HINT} to sa.reduce to solve the cell problems numerically (spectral "
            "grids: Fourier on circles, Chebyshev on the line for a confining drift).")


def _accept(G: Generator, rhs: sp.Expr, phi: sp.Expr | None, grad: Sequence[sp.Expr],
            fast: tuple, strat: str) -> PoissonSolution:
    """Substitute the solution back; raise :class:`CheckFailedError` if it fails."""
    if phi is not None:
        res = G.apply(phi) + rhs
    else:  # 1-D: L0 Phi = b Phi' + a/2 Phi''
        y = fast[0]
        res = G.drift[0] * grad[0] + G.diffusion[0, 0] / 2 * sp.diff(grad[0], y) + rhs
    chk = zero_check("L0 Phi + h = 0", res)
    if not chk.passed:
        raise CheckFailedError(f"the {strat} solution {phi} of -L0 Phi = {rhs} failed its "
                               f"substitution check: {chk.detail}")
    return PoissonSolution(rhs, phi, tuple(grad), fast, strat, (chk,))


@strategy("polynomial ansatz")
def _polynomial(G: Generator, rhs: sp.Expr, fast: tuple,
                measure: InvariantMeasure) -> PoissonSolution | None:
    if any(y in G.periodic_map for y in fast):
        return None
    rhs_e = sp.expand(rhs)
    if not rhs_e.is_polynomial(*fast):
        return None
    for e in G.drift:
        if not (e.is_polynomial(*fast) and sp.Poly(e, *fast).total_degree() <= 1):
            return None
    if any(e.has(*fast) for e in G.diffusion):
        return None
    deg = sp.Poly(rhs_e, *fast).total_degree()
    monos = [m for d in range(1, deg + 1)
             for m in itertools.combinations_with_replacement(fast, d)]
    coeffs = sp.symbols(f"_c0:{len(monos)}")
    phi = sum((c * sp.Mul(*m) for c, m in zip(coeffs, monos)), sp.S.Zero)
    residual = sp.expand(G.apply(phi) + rhs_e)
    eqs = sp.Poly(residual, *fast).coeffs() if residual != 0 else []
    sol = sp.linsolve(eqs, coeffs)
    if not sol:
        return None
    (vals,) = sol
    if any(v.free_symbols & set(coeffs) for v in vals):
        return None
    phi_sol = sp.expand(phi.subs(dict(zip(coeffs, vals))))
    phi_sol = sp.collect(phi_sol, fast)
    grad = tuple(sp.diff(phi_sol, y) for y in fast)
    return _accept(G, rhs, phi_sol, grad, fast, "polynomial ansatz")


@strategy("fourier")
def _fourier(G: Generator, rhs: sp.Expr, fast: tuple,
             measure: InvariantMeasure) -> PoissonSolution | None:
    per = G.periodic_map
    if not all(y in per for y in fast):
        return None
    if any(e.has(*fast) for e in list(G.drift) + list(G.diffusion)):
        return None
    h = sp.expand(sp.sympify(rhs).rewrite(sp.exp))
    h = sp.expand(sp.powsimp(h, combine="exp"))
    modes: list[tuple[sp.Expr, sp.Expr]] = []
    for term in sp.Add.make_args(h):
        coeff, rest = term.as_independent(*fast, as_Add=False)
        if rest == 1:
            return None  # a constant mode: centering should have caught it
        arg = sp.S.Zero
        for fac in sp.Mul.make_args(rest):
            if isinstance(fac, sp.exp):
                arg += fac.args[0]
            elif fac.as_base_exp()[0] == sp.E:
                arg += fac.as_base_exp()[1]
            else:
                return None
        arg = sp.expand(arg)
        k = [sp.simplify(arg.coeff(y) / sp.I) for y in fast]
        if sp.expand(arg - sum(sp.I * kk * y for kk, y in zip(k, fast))).has(*fast):
            return None
        kv = sp.Matrix(k)
        lam = sp.I * (kv.T * G.drift)[0] - sp.Rational(1, 2) * (kv.T * G.diffusion * kv)[0]
        if sp.simplify(lam) == 0:
            return None
        modes.append((-coeff / lam, sp.expand(arg / sp.I)))
    phi = _real_form(modes)
    if phi is None:
        return None
    grad = tuple(sp.diff(phi, y) for y in fast)
    return _accept(G, rhs, phi, grad, fast, "fourier")


@strategy("finite chain", handles={"jump"})
def _finite_chain(G: Generator, rhs: object, fast: tuple,
                  measure: InvariantMeasure | None) -> Corrector | None:
    r""":math:`-Q\Phi = h` on a finite state space, :math:`\pi\Phi = 0`, exact."""
    if G.jump is None or tuple(fast) != (G.jump.symbol,) or not isinstance(rhs, sp.MatrixBase):
        return None
    if not isinstance(measure, DiscreteMeasure):
        return None
    Q = G.jump.rates
    phi = poisson_solve(Q, sp.Matrix(rhs), measure.probabilities)
    chk = zero_check("Q Phi + h = 0", sp.Matrix(Q * phi + rhs))
    if not chk.passed:
        raise CheckFailedError(f"the finite-chain solution {list(phi)} of -Q Phi = {list(rhs)} "
                               f"failed its substitution check: {chk.detail}")
    return DiscreteCorrector(sp.ImmutableMatrix(rhs), phi, G.jump.states, G.jump.symbol,
                             "finite chain (fundamental matrix)", (chk,))


@strategy("independent blocks", handles={"diffusion", "jump"})
def _blocks(G: Generator, rhs: object, fast: tuple,
            measure: InvariantMeasure | None) -> Corrector | None:
    r"""Independent blocks and a right-hand side that is a sum of single-block terms:
    :math:`\Phi = \sum_b\Phi_b`, each block solved through the registry."""
    if not isinstance(measure, ProductMeasure):
        return None
    if isinstance(rhs, sp.MatrixBase):
        return _chain_and_continuous_blocks(G, rhs, fast, measure)
    blocks = [f.fast for f in measure.factors]
    terms: dict[int, sp.Expr] = {}
    const = sp.S.Zero
    for term in sp.Add.make_args(sp.expand(rhs)):
        owners = [k for k, blk in enumerate(blocks) if term.has(*blk)]
        if len(owners) > 1:
            return None  # a cross-block product: no block-by-block solution
        if not owners:
            const += term
        else:
            terms[owners[0]] = terms.get(owners[0], sp.S.Zero) + term
    parts = []
    checks: list[Check] = []
    for k, h in sorted(terms.items()):
        factor = measure.factors[k]
        mean = factor.expect(h)
        const += mean
        sol = solve_poisson(G.restrict(factor.fast, strict=False), h - mean, factor.fast,
                            factor, check_centering=False)
        parts.append((factor.fast, sol))
        checks.extend(sol.checks)
    if not parts:
        return None
    phi = None
    if all(sol.phi is not None for _, sol in parts):
        phi = sp.Add(*[sol.phi for _, sol in parts])
    grad = []
    for y in fast:
        g = sp.S.Zero
        for blk, sol in parts:
            if y in blk:
                g = sol.gradient[blk.index(y)]
        grad.append(g)
    names = ", ".join(sol.strategy for _, sol in parts)
    return BlockCorrector(rhs, phi, tuple(grad), fast, f"independent blocks ({names})",
                          tuple(checks), parts=tuple(parts))


def _chain_and_continuous_blocks(G: Generator, rhs: sp.MatrixBase, fast: tuple,
                                 measure: ProductMeasure) -> Corrector | None:
    r"""A fast chain next to independent fast continuous variables ``y``, with
    :math:`h_s(y) = c(y) + d_s`: :math:`\Phi_s(y) = \Phi_c(y) + \Psi_s`, where
    :math:`-\mathcal L_y\Phi_c = c - \langle c\rangle` and
    :math:`-Q\Psi = d + \langle c\rangle\mathbf 1` (centred because
    :math:`\langle h\rangle = 0`)."""
    disc = measure.discrete
    if disc is None:
        return None
    cont_factors = tuple(f for f in measure.factors if f is not disc)
    cont = tuple(y for f in cont_factors for y in f.fast)
    h = [sp.sympify(e) for e in rhs]
    c = h[0]
    d = [sp.cancel(e - c) if not (e - c).has(sp.Integral) else e - c for e in h]
    if any(e.has(*cont) for e in d):
        return None  # the chain and the continuous variables are coupled in h
    cont_measure = cont_factors[0] if len(cont_factors) == 1 else ProductMeasure(
        fast=cont, strategy="product", checks=(), factors=cont_factors)
    Gc = G.merge_modes().restrict(cont, strict=False)
    mean_c = cont_measure.expect(c)
    checks: list[Check] = []
    phi_c = sp.S.Zero
    if c.has(*cont):
        sol = solve_poisson(Gc, c - mean_c, cont, cont_measure, check_centering=False)
        if sol.phi is None:
            return None  # a gradient-only continuous corrector: not combined with a chain
        phi_c = sol.phi
        checks.extend(sol.checks)
    Q = G.jump.rates
    dprime = sp.Matrix([e + mean_c for e in d])
    psi = poisson_solve(Q, dprime, disc.probabilities)
    phi = sp.ImmutableMatrix([phi_c + p for p in psi])
    res = sp.Matrix(G.merge_modes().apply(phi)) + sp.Matrix(h)
    chk = zero_check("L0 Phi + h = 0", res)
    if not chk.passed:
        raise CheckFailedError(f"the block solution {list(phi)} of -L0 Phi = {list(h)} failed "
                               f"its substitution check: {chk.detail}")
    return DiscreteCorrector(sp.ImmutableMatrix(h), phi, disc.states, disc.symbol,
                             "independent blocks (chain and continuous)",
                             tuple(checks) + (chk,))


@strategy("quadrature (1-D)")
def _quadrature(G: Generator, rhs: sp.Expr, fast: tuple,
                measure: InvariantMeasure) -> PoissonSolution | None:
    if len(fast) != 1:
        return None
    y = fast[0]
    b, a = G.drift[0], G.diffusion[0, 0]
    if a == 0:
        return None
    psi = antiderivative(2 * b / a, y)
    if psi is None:
        return None
    periodic = y in G.periodic_map
    integrand = sp.powsimp(2 * rhs * sp.exp(psi) / a, combine="exp")
    prim = antiderivative(integrand, y)
    if prim is None and periodic and beyond_elementary_periods(integrand, y):
        # e^(several harmonics): int_0^y left for quadrature; Phi' and the averages stay
        # exact in it, and the substitution check evaluates it numerically
        s = sp.Dummy("s")
        prim = sp.Integral(integrand.subs(y, s), (s, 0, y))
    if prim is None:
        return None
    if periodic:
        L = G.periodic_map[y]
        inner = prim - prim.subs(y, 0)
        base = sp.powsimp(sp.expand(sp.exp(-psi) * inner), combine="exp")
        num = definite_integral(base, y, 0, L, periodic=True)
        den = definite_integral(sp.exp(-psi), y, 0, L, periodic=True)
        C = num.value / den.value
        grad = sp.powsimp(sp.expand(sp.exp(-psi) * (C - inner)), combine="exp")
    else:
        lo = measure.domain[0][1]
        at_lo = limit_at(prim, y, lo)
        if at_lo is None or at_lo.has(sp.oo, -sp.oo, sp.zoo, sp.nan):
            return None
        grad = sp.powsimp(sp.expand(-sp.exp(-psi) * (prim - at_lo)), combine="exp")
    surds = {a: sp.Dummy() for a in grad.atoms(sp.Pow) if a.exp == sp.S.Half and not a.has(y)}
    if not grad.has(sp.exp) and is_rational_expression(grad.xreplace(surds), functions=True):
        # rational in cos/sin and constant square roots (the 1-D periodic cell problem of a
        # divergence-form coefficient): lowest terms by polynomial arithmetic, not simplify
        grad = reduce_square_roots(grad)
    elif not _worth_integrating(grad, y) and lowest_terms(grad) is not None:
        # never integrated (exp of a trigonometric function, special functions): its form
        # only feeds the averages, and a short one by polynomial arithmetic will do
        grad = lowest_terms(grad, expanded=True)
    elif not grad.has(sp.Integral):  # simplify evaluates integrals numerically, minutes
        grad = with_budget(sp.simplify, (grad,), 3.0) or grad
    phi = None
    if _worth_integrating(grad, y):
        # on a circle, a y-dependent denominator (1/(2 + cos y)) integrates to atan(tan)
        # forms, which jump at every period: integrate's answer cannot be periodic, so only
        # the table (logs, powers of one base) is tried there
        hopeless = periodic and sp.denom(sp.together(grad)).has(y)
        phi = antiderivative(grad, y, budget=2.0, use_integrate=not hopeless)
    if phi is not None and periodic:
        phi = None if sp.simplify(phi.subs(y, G.periodic_map[y]) - phi.subs(y, 0)) != 0 else phi
    if phi is not None:
        phi = sp.expand(phi - phi.subs(y, 0))
    return _accept(G, rhs, phi, (grad,), fast, "quadrature (1-D)")


def _worth_integrating(expr: sp.Expr, y: sp.Symbol) -> bool:
    """False for integrands with no elementary antiderivative in practice:
    unevaluated integrals and exponentials of trigonometric functions of ``y``
    (e.g. the Lifson-Jackson corrector ``exp(V0 cos(y)/D)``)."""
    if expr.has(sp.Integral):
        return False
    special = (sp.erf, sp.erfc, sp.erfi, sp.Ei, sp.uppergamma, sp.lowergamma, sp.besseli)
    if any(e.has(y) for e in expr.atoms(*special)):
        # a corrector gradient such as e^{y^4/4} erfc(y^2/2) (the quartic potential):
        # its antiderivative is not elementary, and integrate spent its whole budget
        return False
    for e in expr.atoms(sp.exp):
        if e.args[0].has(sp.sin, sp.cos, sp.tan) and e.args[0].has(y):
            return False
    return True


def _real_form(modes: list[tuple[sp.Expr, sp.Expr]]) -> sp.Expr | None:
    r"""The real function :math:`\sum_k \phi_k e^{i\theta_k}` (real because the
    right-hand side is real): :math:`\sum_k \mathrm{Re}\,\phi_k\cos\theta_k -
    \mathrm{Im}\,\phi_k\sin\theta_k`."""
    total = sp.S.Zero
    for phi_k, theta in modes:
        re, im = sp.expand_complex(phi_k).as_real_imag()
        total += re * sp.cos(theta) - im * sp.sin(theta)
    lowest = None if total.has(sp.I) else lowest_terms(total, expanded=True)
    # real and rational in the modes' cos/sin: polynomial arithmetic gives the short form
    total = lowest if lowest is not None else with_budget(sp.simplify, (total,), 4.0) or total
    return None if total.has(sp.I) else total
