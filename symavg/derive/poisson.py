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

import itertools
from collections.abc import Callable, Sequence
from dataclasses import dataclass

import sympy as sp

from .._sympy_util import with_budget, zero_check
from ..errors import CenteringError, CheckFailedError, UnsolvedError
from ..models.generator import Generator
from ..report.derivation import Check, Step
from .integrals import antiderivative, definite_integral
from .invariant import InvariantMeasure


@dataclass(frozen=True)
class PoissonSolution:
    r"""A checked solution of :math:`-\mathcal L_0\Phi = h`.

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
    """

    rhs: sp.Expr
    phi: sp.Expr | None
    gradient: tuple[sp.Expr, ...]
    fast: tuple[sp.Symbol, ...]
    strategy: str
    checks: tuple[Check, ...]

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


Strategy = Callable[[Generator, sp.Expr, tuple, InvariantMeasure], "PoissonSolution | None"]
STRATEGIES: list[tuple[str, Strategy]] = []


def strategy(name: str) -> Callable[[Strategy], Strategy]:
    """Register a Poisson strategy (tried in registration order)."""

    def deco(fn: Strategy) -> Strategy:
        STRATEGIES.append((name, fn))
        return fn

    return deco


def centering_check(rhs: sp.Expr, measure: InvariantMeasure, what: str = "h") -> Check:
    r"""Check :math:`\langle h\rangle_\rho = 0`; raise :class:`CenteringError` if not."""
    mean, _ = measure.expect_checked(rhs)
    chk = zero_check(f"<{what}> = 0", mean)
    if not chk.passed:
        raise CenteringError(
            f"the centering condition fails: <{what}> = {sp.simplify(mean)} is not zero under "
            f"the invariant measure of the fast variables {list(measure.fast)}, so "
            f"-L0 Phi = {rhs} has no solution. The slow dynamics has a nonzero mean drift at "
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
    """
    from .invariant import invariant_measure

    fast = tuple(fast)
    G = L0.restrict(fast)
    if measure is None:
        measure = invariant_measure(G, fast)
    rhs = sp.sympify(rhs)
    pre = (centering_check(rhs, measure),) if check_centering else ()
    if rhs == 0:
        return PoissonSolution(rhs, sp.S.Zero, tuple(sp.S.Zero for _ in fast), fast, "trivial",
                               pre)
    for _name, fn in STRATEGIES:
        sol = fn(G, rhs, fast, measure)
        if sol is not None:
            return PoissonSolution(sol.rhs, sol.phi, sol.gradient, sol.fast, sol.strategy,
                                   pre + sol.checks)
    raise UnsolvedError(
        f"no strategy solved -L0 Phi = {rhs} in closed form for the fast generator with drift "
        f"{list(G.drift)} and diffusion {G.diffusion.tolist()}. Give parameter values to use "
        "the numeric cell solver, or simplify the model."
    )


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
        at_lo = with_budget(sp.limit, (prim, y, lo), 4.0)
        if at_lo is None or at_lo.has(sp.oo, -sp.oo, sp.zoo, sp.nan):
            return None
        grad = sp.powsimp(sp.expand(-sp.exp(-psi) * (prim - at_lo)), combine="exp")
    grad = with_budget(sp.simplify, (grad,), 3.0) or grad
    phi = antiderivative(grad, y, budget=2.0) if _worth_integrating(grad, y) else None
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
    total = with_budget(sp.simplify, (total,), 4.0) or total
    return None if total.has(sp.I) else total
