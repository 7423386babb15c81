r"""Invariant probability measures of the fast generator :math:`\mathcal L_0`.

The slow variables are frozen (they are parameters of :math:`\mathcal L_0`).
Strategies, tried in order; each returns a checked measure or declines:

``product``
    the fast variables split into groups that do not interact; the measure is
    the product of the groups' measures.
``gaussian``
    linear SDE :math:`dy = (By + c)\,dt + \sigma\,dW` with :math:`a=\sigma\sigma^T`
    independent of :math:`y`: :math:`\rho = N(m, S)` with :math:`m=-B^{-1}c` and
    the Lyapunov equation :math:`BS + SB^T + a = 0` (any dimension,
    non-symmetric :math:`B`, coefficients depending on the slow variables).
``circle``
    one periodic variable, :math:`\mathcal L_0 = b\,\partial_y + \frac a2\partial_y^2`.
    With :math:`\Psi(y) = \int_0^y 2b/a`, the stationary Fokker-Planck equation has
    the constant-flux solution
    :math:`\rho \propto \frac{e^{\Psi(y)}}{a(y)}\int_y^{y+L} e^{-\Psi(s)}\,ds`,
    which reduces to the Gibbs form :math:`e^{\Psi}/a` when :math:`\Psi(L)=0`
    (gradient case) and to the uniform law for constant coefficients.
``torus: divergence-free``
    every fast variable periodic, constant diffusion and
    :math:`\nabla\cdot b = 0`: the uniform law.
``gibbs``
    gradient drift with isotropic constant noise, :math:`b = -\nabla V`,
    :math:`a = 2D\,I`: :math:`\rho \propto e^{-V/D}` (on the line or a torus).
``speed measure``
    one variable on the line: :math:`\rho \propto a^{-1}\exp\int 2b/a`, with the
    normalisability checked (a named error when the fast process has no
    invariant probability) and, where it depends on the parameters, recorded as
    conditions (:func:`~symavg.derive.validity.normalisability_conditions`).

Each measure is checked: :math:`\mathcal L_0^*\rho = 0` and :math:`\int\rho = 1`.
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Sequence

import sympy as sp

from .._sympy_util import is_rational_expression, with_budget, zero_check
from ..errors import ModelError, NoInvariantMeasureError, UnsolvedError
from ..models.generator import Generator
from ..models.markov import stationary_law
from ..report.derivation import Check
from . import _context
from .integrals import antiderivative, definite_integral
from .measures import (
    DensityMeasure,
    DiscreteMeasure,
    GaussianMeasure,
    InvariantMeasure,
    PointMassMeasure,
    ProductMeasure,
    gaussian_expectation,
)
from .validity import hurwitz_conditions, keep_undecided, normalisability_conditions

__all__ = ["STRATEGIES", "InvariantMeasure", "gaussian_expectation", "invariant_measure",
           "strategy"]


# ----------------------------------------------------------------- strategies
Strategy = Callable[[Generator, tuple], "InvariantMeasure | None"]
STRATEGIES: list[tuple[str, Strategy]] = []


def strategy(name: str, handles: frozenset[str] | set[str] = frozenset({"diffusion"}),
             numeric: bool = False) -> Callable[[Strategy], Strategy]:
    """Register an invariant-measure strategy (tried in registration order).

    ``numeric`` strategies (grid solvers) are tried only inside
    :func:`~symavg.derive._context.numeric_parameters`, and only they are tried there.
    ``handles`` names the generator parts the strategy understands (see
    :data:`symavg.models.generator.PART_KINDS`); on a generator with any other
    part the registered function declines (returns None) without looking further.
    """
    kinds = frozenset(handles)

    def deco(fn: Strategy) -> Strategy:
        @functools.wraps(fn)
        def guarded(G: Generator, fast: tuple) -> InvariantMeasure | None:
            if not G.kinds() or not G.kinds() <= kinds or (G.is_switching
                                                           and "jump" not in kinds):
                return None
            return fn(G, fast)

        guarded.handles = kinds  # type: ignore[attr-defined]
        guarded.numeric = numeric  # type: ignore[attr-defined]
        STRATEGIES.append((name, guarded))
        return guarded

    return deco


def invariant_measure(L0: Generator, fast: Sequence[sp.Symbol]) -> InvariantMeasure:
    r"""The invariant probability of ``L0`` in the variables ``fast``.

    Parameters
    ----------
    L0 : Generator
        The fast generator; variables not in ``fast`` are treated as parameters.
    fast : sequence of Symbol

    Returns
    -------
    InvariantMeasure
        Checked: :math:`\mathcal L_0^*\rho = 0` and normalisation.

    Raises
    ------
    NoInvariantMeasureError
        When the fast process has no invariant probability.
    UnsolvedError
        When no strategy applies.

    Examples
    --------
    >>> import sympy as sp, symavg as sa
    >>> y = sp.Symbol("y", real=True)
    >>> rho = sa.invariant_measure(sa.Generator([y], [-y**3], [[2]]), [y])
    >>> rho.density
    sqrt(2)*exp(-y**4/4)/gamma(1/4)
    """
    fast = tuple(fast)
    G = L0.restrict(fast)
    key = (G, fast)
    if _context.current() is None and key in _MEASURES:  # deterministic: reuse
        return _MEASURES[key]
    res = _invariant_measure(G, fast)
    if _context.current() is None:
        if len(_MEASURES) >= 256:
            _MEASURES.clear()
        _MEASURES[key] = res
    return res


#: closed-form measures already derived (the nested-scale test of ``reduce`` and the
#: reduction itself ask for the same one; each derivation costs seconds)
_MEASURES: dict[tuple, InvariantMeasure] = {}


def _invariant_measure(G: Generator, fast: tuple) -> InvariantMeasure:
    if "potential" in G.kinds():
        raise ModelError(
            "the fast generator has a potential (multiplicative) part V f: it does not conserve "
            "probability, so it has no invariant probability. A tilted generator's principal "
            "eigenvalue is a different problem (symavg.ldp)."
        )
    for _name, fn in STRATEGIES:
        if _context.skip(fn):
            continue
        res = fn(G, fast)
        if res is not None:
            return res
    if G.modes and G.merge_modes().is_switching:
        raise UnsolvedError(
            f"no strategy found an invariant measure for the fast variables {list(fast)}: the "
            f"continuous fast dynamics depends on the chain's state {G.mode_symbol} (or the "
            "rates on the continuous fast variables), so they are not independent blocks. "
            "Supported: a fast chain alone, or next to continuous fast variables whose "
            "dynamics does not depend on its state and which its rates do not depend on."
        )
    raise UnsolvedError(
        f"no strategy found an invariant measure for the fast generator in {list(fast)} "
        f"with {_describe(G)}. Supported: finite chains, linear SDEs (Gaussian), gradient "
        "systems with isotropic noise, 1-D diffusions on the line or the circle, and products "
        "of independent blocks of these."
    )


def _describe(G: Generator) -> str:
    """The generator's coefficients for a message."""
    G = G.merge_modes()
    if G.is_switching:
        return "coefficients that depend on the chain's state"
    text = f"drift {list(G.drift)} and diffusion {G.diffusion.tolist()}"
    if G.jump is not None:
        text += f" and rates {G.jump.rates.tolist()}"
    return text


def _adjoint_check(G: Generator, rho: sp.Expr) -> Check:
    return zero_check("L0* rho = 0", G.adjoint(rho))


def det_and_adjugate(S: sp.Matrix) -> tuple[sp.Expr, sp.Matrix]:
    r""":math:`\det S` and :math:`\operatorname{adj} S` (:math:`S\,\operatorname{adj}S =
    \det S\, I`), exactly.

    For entries rational in symbols (a Lyapunov covariance with parameters) by
    polynomial arithmetic over the field of rational functions
    (:class:`sympy.polys.matrices.DomainMatrix`): the results in lowest terms, 0.1 s for
    a 3 x 3 covariance with two parameters where ``Matrix.det``/``adjugate`` (cofactors
    with ``dotprodsimp``) took 1.1 s. Other entries (function values, radicals): SymPy's
    ``det`` and ``adjugate``.
    """
    from sympy.polys.matrices import DomainMatrix

    if all(is_rational_expression(e) for e in S):
        dM = DomainMatrix.from_Matrix(S)
        if not (dM.domain.is_EX or dM.domain.is_EXRAW):
            return dM.domain.to_sympy(dM.det()), dM.adjugate().to_Matrix()
    return S.det(), S.adjugate()


def _gaussian_adjoint_check(B: sp.Matrix, c: sp.Matrix, a: sp.Matrix, m: sp.Matrix,
                            S: sp.Matrix, detS: sp.Expr, adjS: sp.Matrix | None = None
                            ) -> Check:
    r""":math:`\mathcal L_0^*\rho = 0` for :math:`\rho\propto e^{-\frac12 (y-m)^TP(y-m)}`,
    :math:`b = By + c`, constant :math:`a`, checked coefficient by coefficient.

    With :math:`z = y - m` and :math:`r = Bm + c`,

    .. math::

        \frac{\mathcal L_0^*\rho}{\rho} = -\operatorname{tr}B - \tfrac12\operatorname{tr}(aP)
        + r^TPz + z^T\bigl(\tfrac12(B^TP + PB) + \tfrac12 PaP\bigr)z ,

    so the check is that the constant, the vector :math:`Pr` and the symmetric
    matrix vanish: small rational expressions, each decided exactly by
    ``cancel`` (expanding :math:`\mathcal L_0^*\rho` with the exponential in it
    took half a minute for a 2-D velocity with friction :math:`\gamma(x)`). With
    :math:`P = S^{-1} = \operatorname{adj}S/\det S` (``detS`` nonzero) each is multiplied
    by a nonsingular factor first, which leaves polynomials in the entries of ``S``
    instead of products of :math:`P`'s fractions (7.7 s of cancel for a 3-D system with
    two parameters): :math:`\det S` times the constant, :math:`r = SPr`, and
    :math:`S(\cdot)S = \frac12(SB^T + BS + a)`. ``adjS``, when given, is
    :math:`\operatorname{adj}S` (computed otherwise)."""
    r = B * m + c
    adjS = S.adjugate() if adjS is None else adjS
    parts = [-B.trace() * detS - (a * adjS).trace() / 2, *r,
             *((S * B.T + B * S + a) / 2)]
    bad = []
    numeric = False
    for e in parts:
        if is_rational_expression(e, functions=True) and sp.cancel(e) == 0:
            continue  # a proof of zero, also with cos(x) etc. as generators
        if is_rational_expression(e):
            bad.append(e)  # exact: cancel decides
        else:
            chk = zero_check("coefficient", e)
            numeric |= chk.method == "numeric"
            if not chk.passed:
                bad.append(e)
    if bad:
        return Check("L0* rho = 0", False, "symbolic",
                     f"a coefficient of L0* rho / rho in (y - m) does not vanish: {bad[0]}")
    return Check("L0* rho = 0", True, "numeric" if numeric else "symbolic",
                 "L0* rho / rho: constant, linear and quadratic coefficients in y - m vanish")


def _domain(G: Generator, fast: tuple) -> tuple:
    per = G.periodic_map
    out = []
    for y in fast:
        if y in per:
            out.append((y, sp.S.Zero, per[y]))
        elif y.is_nonnegative or y.is_positive:
            out.append((y, sp.S.Zero, sp.oo))
        else:
            out.append((y, -sp.oo, sp.oo))
    return tuple(out)


@strategy("finite chain", handles={"jump"})
def _finite_chain(G: Generator, fast: tuple) -> InvariantMeasure | None:
    r"""A finite-state fast process: :math:`\pi` from the null space of :math:`Q^T`,
    exactly (:func:`symavg.models.markov.stationary_law`), checked by
    :math:`\pi Q = 0` and :math:`\sum_i\pi_i = 1`."""
    if G.jump is None or tuple(fast) != (G.jump.symbol,):
        return None
    Q = G.jump.rates
    pi = stationary_law(Q)
    checks = (zero_check("pi Q = 0", sp.Matrix(pi.T * Q)),
              zero_check("sum of pi = 1", sum(pi) - 1))
    return DiscreteMeasure(fast=tuple(fast), strategy="finite chain (null space of Q^T)",
                           checks=checks, states=G.jump.states, probabilities=pi)


@strategy("product", handles={"diffusion", "jump"})
def _product(G: Generator, fast: tuple) -> InvariantMeasure | None:
    """Split the fast variables into non-interacting groups (a fast chain is a group of its
    own when its rates do not depend on the continuous fast variables and their dynamics
    does not depend on the chain's state)."""
    if len(fast) < 2:
        return None
    G = G.merge_modes()
    chain = G.jump.symbol if G.jump is not None and not G.jump.is_zero() else None
    cont = tuple(y for y in fast if y != chain)
    if chain is not None:
        if G.is_switching or any(e.has(*cont) for e in G.jump.rates) or not cont:
            return None
        G = G.restrict(fast, strict=False)
    n = len(cont)
    adj = {i: set() for i in range(n)}
    if n:
        b, a = G.diffusion_in(G.modes[0]) if G.modes else (G.drift, G.diffusion)
        for i in range(n):
            for j in range(n):
                if i != j and (b[i].has(cont[j]) or a[i, j] != 0 or a[i, i].has(cont[j])):
                    adj[i].add(j)
                    adj[j].add(i)
    groups, seen = [], set()
    for i in range(n):
        if i in seen:
            continue
        stack, comp = [i], []
        while stack:
            k = stack.pop()
            if k in seen:
                continue
            seen.add(k)
            comp.append(k)
            stack.extend(adj[k] - seen)
        groups.append(tuple(cont[k] for k in sorted(comp)))
    if chain is not None:
        groups.append((chain,))
    if len(groups) < 2:
        return None
    factors = [invariant_measure(G.restrict(list(grp), strict=False), list(grp))
               for grp in groups]
    checks = tuple(c for f in factors for c in f.checks)
    ordered = tuple(y for f in factors for y in f.fast)
    if all(isinstance(f, PointMassMeasure) for f in factors):
        # independent deterministic relaxations: one point mass at the joint slow manifold
        return PointMassMeasure(fast=ordered, strategy="point mass at the slow manifold "
                                "(independent blocks)", checks=checks,
                                point=sp.ImmutableMatrix([e for f in factors for e in f.point]))
    return ProductMeasure(fast=ordered,
                          strategy="product of " + ", ".join(f.strategy for f in factors),
                          checks=checks, factors=tuple(factors))


@strategy("gaussian")
def _gaussian(G: Generator, fast: tuple) -> InvariantMeasure | None:
    """Linear SDE: Gaussian with the Lyapunov covariance."""
    if any(y in G.periodic_map for y in fast):
        return None
    n = len(fast)
    B = sp.zeros(n, n)
    c = sp.zeros(n, 1)
    for i in range(n):
        bi = sp.expand(G.drift[i])
        poly = sp.Poly(bi, *fast) if bi.is_polynomial(*fast) else None
        if poly is None or poly.total_degree() > 1:
            return None
        for j, y in enumerate(fast):
            B[i, j] = bi.coeff(y)
        c[i] = sp.expand(bi - sum(B[i, j] * fast[j] for j in range(n)))
    a = sp.Matrix(G.diffusion)
    if any(e.has(*fast) for e in a):
        return None
    if a.is_zero_matrix:
        return None
    _require_stable(B, fast)
    m = -B.LUsolve(c) if not c.is_zero_matrix else sp.zeros(n, 1)
    m = m.applyfunc(lambda e: sp.factor(sp.cancel(e)) if is_rational_expression(e)
                    else sp.simplify(e))
    S = _lyapunov(B, a)
    detS, adjS = det_and_adjugate(S)
    detS = sp.factor(detS)
    if detS == 0:
        raise NoInvariantMeasureError(
            f"the stationary covariance of the fast variables {list(fast)} is singular: the noise "
            f"does not reach every fast variable (diffusion {a.tolist()}, drift matrix "
            f"{B.tolist()}). Add noise to the missing directions or treat the deterministic "
            "fast variables separately."
        )
    yv = sp.Matrix(fast) - m
    Sinv = adjS / detS
    quad = _collect_polynomial((yv.T * Sinv * yv)[0], fast)
    density = sp.exp(-quad / 2) / sp.sqrt((2 * sp.pi) ** n * detS)
    density = sp.powsimp(density)
    checks = [_gaussian_adjoint_check(B, c, a, m, S, detS, adjS),
              Check("integral of rho = 1", True, "symbolic", "Gaussian normalisation")]
    conditions = keep_undecided(hurwitz_conditions(B),
                                f"the drift matrix {B.tolist()} of the fast variables")
    return GaussianMeasure(fast=fast, strategy="gaussian (Lyapunov equation)",
                           checks=tuple(checks), conditions=conditions,
                           density=density, domain=_domain(G, fast),
                           mean=sp.ImmutableMatrix(m), covariance=sp.ImmutableMatrix(S))


def _collect_polynomial(e: sp.Expr, fast: tuple) -> sp.Expr:
    """``e``, polynomial in ``fast``, as a sum of monomials with coefficients in lowest
    terms (read off by :class:`sympy.Poly`; ``expand`` would multiply out the
    rational coefficients)."""
    try:
        P = sp.Poly(e, *fast)
    except sp.PolynomialError:
        return sp.expand(e)
    if P.domain.is_EX or P.domain.is_EXRAW:
        return sp.expand(e)
    return sp.Add(*[sp.factor(c) * sp.Mul(*[y**k for y, k in zip(fast, mon)])
                    for mon, c in P.terms()])


def _require_stable(B: sp.Matrix, fast: tuple) -> None:
    n = B.shape[0]
    if n == 1:
        b = sp.simplify(B[0, 0])
        if b.is_nonnegative:
            raise NoInvariantMeasureError(
                f"the fast variable {fast[0]} has linear drift coefficient {b} >= 0: it is not "
                "mean-reverting and has no invariant probability. The fast drift must be "
                f"-k*{fast[0]} + ... with k > 0 (declare k positive=True)."
            )
        return
    tr = sp.simplify(B.trace())
    det = sp.simplify(B.det())
    if tr.is_nonnegative or (n == 2 and det.is_nonpositive):
        raise NoInvariantMeasureError(
            f"the drift matrix of the fast variables {list(fast)}, {B.tolist()}, is not stable "
            "(not all eigenvalues have negative real part): the fast process has no invariant "
            "probability."
        )
    if all(not e.free_symbols for e in B):
        ev = [complex(v) for v in sp.Matrix(B).evalf().eigenvals()]
        if any(v.real >= 0 for v in ev):
            raise NoInvariantMeasureError(
                f"the drift matrix of the fast variables {list(fast)}, {B.tolist()}, has an "
                f"eigenvalue with nonnegative real part ({ev}): no invariant probability."
            )


def _lyapunov(B: sp.Matrix, a: sp.Matrix) -> sp.Matrix:
    """Solve ``B S + S B^T + a = 0`` for symmetric ``S`` by linear algebra."""
    n = B.shape[0]
    syms = {}
    S = sp.zeros(n, n)
    for i in range(n):
        for j in range(i, n):
            s = sp.Symbol(f"_s{i}{j}")
            syms[(i, j)] = s
            S[i, j] = S[j, i] = s
    eqs = list(B * S + S * B.T + a)
    sol = sp.solve(eqs, list(syms.values()), dict=True)
    if not sol:
        raise NoInvariantMeasureError(
            f"the Lyapunov equation B S + S B^T + a = 0 has no solution for B = {B.tolist()}: "
            "the fast process has no Gaussian invariant law."
        )
    return S.subs(sol[0]).applyfunc(sp.factor)


@strategy("slow manifold", handles={"diffusion"})
def _slow_manifold(G: Generator, fast: tuple) -> InvariantMeasure | None:
    r"""A deterministic fast relaxation :math:`\dot y = b(x, y)` (no noise on the fast
    variables): the point mass at the root :math:`y^*(x)` of :math:`b(x, y) = 0`
    (Tikhonov's theorem; Pavliotis & Stuart 2008, Sec. 10.6).

    The root must be unique (several roots: the limit depends on the initial
    condition) and uniformly stable: the Routh-Hurwitz conditions of the Jacobian
    :math:`\partial_y b(x, y^*)` are recorded as conditions (a named error when
    they fail for every parameter value). Checked: :math:`b(x, y^*(x)) = 0`.
    """
    if not sp.Matrix(G.diffusion).is_zero_matrix or any(y in G.periodic_map for y in fast):
        return None
    b = sp.Matrix(G.drift)
    monotone = len(fast) == 1 and sp.diff(b[0], fast[0]).is_negative
    if not monotone and not all(e.is_polynomial(*fast) for e in b):
        return None  # sp.solve may miss roots of a transcendental system: no uniqueness claim
    sols = with_budget(_roots, (list(b), list(fast)), 2.0)
    if sols is None:
        return None
    real = []
    for sol in sols:
        if len(sol) != len(fast) or any(v.is_real is False for v in sol.values()):
            continue
        real.append(sp.ImmutableMatrix([sp.simplify(sol[y]) for y in fast]))
    if not real:
        raise NoInvariantMeasureError(
            f"the fast variables {list(fast)} have no noise and their drift {list(b)} has no "
            "real equilibrium: the deterministic fast flow does not relax to a slow manifold. "
            "Add noise to the fast variables, or give a drift with a stable root."
        )
    if len(real) > 1:
        raise NoInvariantMeasureError(
            f"the deterministic fast flow of {list(fast)} (drift {list(b)}) has several "
            f"equilibria {[list(r) for r in real]}: which one the fast variables relax to "
            "depends on their initial condition, so there is no single averaged model. Add "
            "noise to the fast variables (the invariant law then weighs the wells), or restrict "
            "the model to one basin."
        )
    point = real[0]
    at = dict(zip(fast, point))
    J = sp.Matrix(len(fast), len(fast),
                  lambda i, j: sp.diff(b[i], fast[j]).xreplace(at))
    conditions = keep_undecided(hurwitz_conditions(J), "the slow manifold "
                                f"{list(point)} of the fast variables is not stable")
    checks = (zero_check("b(x, y*) = 0", b.xreplace(at)),
              Check("stable slow manifold", True, "symbolic",
                    "Routh-Hurwitz conditions of the Jacobian: proved or recorded as validity "
                    "conditions"))
    return PointMassMeasure(fast=fast, strategy="slow manifold (Tikhonov): point mass",
                            checks=checks, conditions=conditions, point=point)


def _roots(eqs: list, unknowns: list) -> list[dict]:
    return sp.solve(eqs, unknowns, dict=True)


@strategy("circle")
def _circle(G: Generator, fast: tuple) -> InvariantMeasure | None:
    """One periodic variable: constant-flux formula (Gibbs when the flux vanishes)."""
    if len(fast) != 1 or fast[0] not in G.periodic_map:
        return None
    y = fast[0]
    L = G.periodic_map[y]
    b, a = G.drift[0], G.diffusion[0, 0]
    if a == 0:
        return None
    if not b.has(y) and not a.has(y):
        density = 1 / L
        strat = "circle: constant coefficients (uniform)"
    else:
        psi = antiderivative(2 * b / a, y)
        if psi is None:
            return None
        psi = sp.expand(psi - psi.subs(y, 0))
        drift_over_period = sp.simplify(psi.subs(y, L))
        if drift_over_period == 0:
            unnorm = _cancel(sp.powsimp(sp.exp(psi) / a, combine="exp"))
            strat = "circle: gradient (Gibbs)"
        else:
            s = sp.Dummy("s")
            unnorm = sp.exp(psi) / a * sp.Integral(sp.exp(-psi.subs(y, s)), (s, y, y + L))
            strat = "circle: constant flux (non-gradient)"
        Z = definite_integral(unnorm, y, 0, L, periodic=True)
        density = _cancel(sp.powsimp(unnorm / Z.value, combine="exp"))
        if Z.method == "unevaluated":
            # rho = unnorm / Z with Z its integral: check the y-dependent part only
            checks = [_adjoint_check(G, unnorm),
                      Check("integral of rho = 1", True, "symbolic",
                            "by construction: Z is the integral of the unnormalised density")]
            return DensityMeasure(fast=fast, strategy=strat, checks=tuple(checks),
                                  density=density, domain=((y, sp.S.Zero, L),), periodic=(y,))
    checks = [_adjoint_check(G, density), _norm_check(density, y, 0, L, True)]
    return DensityMeasure(fast=fast, strategy=strat, checks=tuple(checks), density=density,
                          domain=((y, sp.S.Zero, L),), periodic=(y,))


def _cancel(e: sp.Expr) -> sp.Expr:
    """Cancel common factors of a density that is a ratio (cheap; skipped for big
    expressions and unevaluated integrals): ``(a cos y + 1)/(cos y + 1/a) = a``."""
    if e.has(sp.Integral) or sp.count_ops(e) > 200:
        return e
    return sp.cancel(e)


def _norm_check(density: sp.Expr, y: sp.Symbol, lo: sp.Expr, hi: sp.Expr, per: bool) -> Check:
    res = definite_integral(density, y, lo, hi, periodic=per)
    if res.method == "unevaluated":
        from .._sympy_util import numeric_zero

        ok, detail = numeric_zero(res.value - 1, tol=1e-8)
        return Check("integral of rho = 1", ok, "numeric", detail)
    return zero_check("integral of rho = 1", res.value - 1)


@strategy("torus: divergence-free")
def _divergence_free(G: Generator, fast: tuple) -> InvariantMeasure | None:
    r"""All fast variables periodic, constant diffusion, :math:`\nabla\cdot b = 0`:
    :math:`\mathcal L_0^* 1 = -\nabla\cdot b = 0`, so the uniform law is invariant
    (cellular and shear flows)."""
    per = G.periodic_map
    if len(fast) < 2 or not all(y in per for y in fast):
        return None
    if any(e.has(*fast) for e in G.diffusion):
        return None
    div = sum((sp.diff(G.drift[i], y) for i, y in enumerate(fast)), sp.S.Zero)
    if not zero_check("div b = 0", div).passed:
        return None
    volume = sp.Mul(*[per[y] for y in fast])
    density = 1 / volume
    checks = (_adjoint_check(G, density),
              Check("integral of rho = 1", True, "symbolic", "uniform on the torus"))
    return DensityMeasure(fast=fast, strategy="torus: divergence-free drift (uniform)",
                          checks=checks, density=density, domain=_domain(G, fast),
                          periodic=tuple(fast))


@strategy("gibbs")
def _gibbs(G: Generator, fast: tuple) -> InvariantMeasure | None:
    """Gradient drift, isotropic constant noise: rho ~ exp(-V/D)."""
    n = len(fast)
    a = sp.Matrix(G.diffusion)
    D2 = a[0, 0]
    if D2 == 0 or D2.has(*fast) or a != D2 * sp.eye(n) or n < 2 and fast[0] not in G.periodic_map:
        # 1-D on the line is handled by the speed measure
        return None
    b = G.drift
    for i in range(n):
        for j in range(i + 1, n):
            if sp.simplify(sp.diff(b[i], fast[j]) - sp.diff(b[j], fast[i])) != 0:
                return None
    V = sp.S.Zero
    for i, y in enumerate(fast):
        rest = sp.simplify(-b[i] - sp.diff(V, y))
        part = antiderivative(rest, y)
        if part is None:
            return None
        V += part
    if zero_check("grad V = -b", sp.Matrix([sp.diff(V, y) for y in fast]) + b).passed is False:
        return None
    D = D2 / 2
    unnorm = sp.exp(-V / D)
    dom = _domain(G, fast)
    per = G.periodic_map
    Z = unnorm
    for y, lo, hi in reversed(dom):
        Z = definite_integral(Z, y, lo, hi, periodic=y in per).value
    if Z == sp.oo or Z.is_infinite:
        raise NoInvariantMeasureError(
            f"exp(-V/D) with V = {V} is not integrable over {[d[1:] for d in dom]}: "
            f"the fast variables {list(fast)} have no invariant probability."
        )
    density = unnorm / Z
    checks = [_adjoint_check(G, density)]
    return DensityMeasure(fast=fast, strategy="gibbs exp(-V/D)", checks=tuple(checks),
                          density=density, domain=dom,
                          periodic=tuple(y for y in fast if y in per))


@strategy("speed measure")
def _speed(G: Generator, fast: tuple) -> InvariantMeasure | None:
    """1-D diffusion on the line: speed-measure formula with normalisability check."""
    if len(fast) != 1 or fast[0] in G.periodic_map:
        return None
    y = fast[0]
    b, a = G.drift[0], G.diffusion[0, 0]
    if a == 0:
        return None
    psi = antiderivative(2 * b / a, y)
    if psi is None:
        return None
    unnorm = sp.exp(sp.expand(psi)) / a
    (_, lo, hi), = _domain(G, fast)
    tails = normalisability_conditions(unnorm, y, lo, hi)
    if tails is None:  # not of the form e^P prod g_i^e_i: limits decide, or the integral
        _require_normalisable(unnorm, y, lo, hi)
        conditions: tuple[sp.Basic, ...] = ()
    else:
        conditions = keep_undecided(
            tails, f"the speed measure {unnorm} of the fast variable {y} on "
            f"{_interval_text(lo, hi)} is not integrable (a tail too heavy), so the fast "
            "process has no invariant probability (it escapes or is null-recurrent); its "
            "drift must confine it (e.g. -k*y with k > 0)")
    Z = definite_integral(unnorm, y, lo, hi)
    if Z.value == sp.oo or Z.value.is_infinite or Z.value == 0:
        raise NoInvariantMeasureError(
            f"the speed measure {unnorm} of the fast variable {y} is not normalisable: the fast "
            "process has no invariant probability (it escapes or is null-recurrent). Add "
            "confinement to its drift."
        )
    density = unnorm / Z.value
    checks = [_adjoint_check(G, density), _norm_check(density, y, lo, hi, False)]
    if conditions:
        checks.append(Check("normalisable", True, "symbolic",
                            "the tails of rho are integrable where "
                            + " and ".join(map(str, conditions))
                            + " (recorded as validity conditions)"))
    return DensityMeasure(fast=fast, strategy="speed measure (1-D)", checks=tuple(checks),
                          density=density, domain=((y, lo, hi),), conditions=conditions)


def _interval_text(lo: sp.Expr, hi: sp.Expr) -> str:
    return f"({lo}, {hi})"


def _require_normalisable(unnorm: sp.Expr, y: sp.Symbol, lo: sp.Expr, hi: sp.Expr) -> None:
    """Check that ``unnorm`` decays faster than ``|y|^-2`` at infinite ends."""
    for end in (lo, hi):
        if not end.is_infinite:
            continue
        # |y| rho -> c != 0 means rho ~ c/|y|, not integrable; |y| rho -> 0 leaves heavy but
        # integrable tails (the Cauchy law, rho ~ 1/y^2) to the normalising integral below
        lim = with_budget(sp.limit, (y * unnorm, y, end), 4.0)
        if lim is None:
            continue  # undecided: the normalising integral decides below
        if lim != 0:
            raise NoInvariantMeasureError(
                f"the speed measure {unnorm} of the fast variable {y} does not decay at "
                f"{y} -> {end} (|y| rho -> {abs(lim)}, so rho is not integrable): the fast "
                "process has no invariant probability. Its drift must confine it (e.g. -k*y "
                "with k > 0)."
            )


