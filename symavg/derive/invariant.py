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
    invariant probability).

Each measure is checked: :math:`\mathcal L_0^*\rho = 0` and :math:`\int\rho = 1`.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

import sympy as sp

from .._sympy_util import is_rational_expression, with_budget, zero_check
from ..errors import NoInvariantMeasureError, UnsolvedError
from ..models.generator import Generator
from ..report.derivation import Check, Step
from .integrals import antiderivative, definite_integral


@dataclass(frozen=True)
class InvariantMeasure:
    r"""An invariant probability :math:`\rho(y; x)` of the fast generator.

    Attributes
    ----------
    fast : tuple of Symbol
    density : Expr
        Normalised density (may hold an unevaluated ``Integral`` as normaliser).
    strategy : str
    domain : tuple of (y, lower, upper)
    mean, covariance : ImmutableMatrix or None
        For Gaussian measures.
    factors : tuple of InvariantMeasure
        For product measures, the factors (densities multiply).
    checks : tuple of Check
    """

    fast: tuple[sp.Symbol, ...]
    density: sp.Expr
    strategy: str
    domain: tuple[tuple[sp.Symbol, sp.Expr, sp.Expr], ...]
    mean: sp.ImmutableMatrix | None = None
    covariance: sp.ImmutableMatrix | None = None
    factors: tuple[InvariantMeasure, ...] = ()
    checks: tuple[Check, ...] = ()
    periodic: tuple[sp.Symbol, ...] = ()
    _log: list = field(default_factory=list, compare=False, repr=False)

    # ----------------------------------------------------------- expectations
    def expect(self, expr: sp.Expr) -> sp.Expr:
        r""":math:`\langle f\rangle = \int f(y)\rho(y;x)\,dy`.

        Gaussian measures use the moment generating function
        :math:`\mathbb E[y^\alpha e^{\lambda\cdot y}] = \partial_t^\alpha
        e^{t\cdot m + t^TSt/2}\big|_{t=\lambda}` (trigonometric factors are
        rewritten as exponentials); the others integrate variable by variable
        through :func:`~symavg.derive.integrals.definite_integral` (exact
        period integrals, then ``integrate`` with a budget, spot-checked, else
        an unevaluated integral).
        """
        value, _ = self.expect_checked(expr)
        return value

    def expect_checked(self, expr: sp.Expr) -> tuple[sp.Expr, tuple[Check, ...]]:
        """:meth:`expect` together with the checks done on the value."""
        expr = sp.sympify(expr)
        if not expr.has(*self.fast):
            return expr, ()
        if self.factors:
            checks: list[Check] = []
            value = expr
            for fac in reversed(self.factors):
                value, ch = fac.expect_checked(value)
                checks.extend(ch)
            return value, tuple(checks)
        if self.mean is not None and self.covariance is not None:
            val = gaussian_expectation(expr, self.fast, self.mean, self.covariance)
            if val is not None:
                return val, (Check("Gaussian moment formula", True, "symbolic",
                                   "exact moments of N(m, S)"),)
        value = expr * self.density
        checks = []
        for y, lo, hi in reversed(self.domain):
            res = definite_integral(value, y, lo, hi, periodic=y in self.periodic)
            value = res.value
            checks.append(res.check)
        return _tidy(value), tuple(checks)

    def step(self) -> Step:
        exprs: list[tuple[str, sp.Basic]] = [(r"\rho", self.density)]
        if self.mean is not None:
            exprs += [("m", self.mean), ("S", self.covariance)]
        dom = ", ".join(f"${sp.latex(y)} \\in ({sp.latex(lo)}, {sp.latex(hi)})$"
                        for y, lo, hi in self.domain)
        return Step("invariant measure",
                    f"Invariant probability of $\\mathcal{{L}}_0$ with the slow variables frozen "
                    f"({dom}).", tuple(exprs), self.checks, self.strategy)


def _tidy(e: sp.Expr) -> sp.Expr:
    if e.has(sp.Integral) or sp.count_ops(e) > 400:
        return e
    out = with_budget(sp.simplify, (e,), 3.0)
    return out if out is not None else e


# --------------------------------------------------------------- Gaussians
def gaussian_expectation(expr: sp.Expr, ys: Sequence[sp.Symbol], m: sp.MatrixBase,
                         S: sp.MatrixBase) -> sp.Expr | None:
    r""":math:`\mathbb E f(Y)` for :math:`Y\sim N(m,S)` and ``f`` a sum of terms
    polynomial in ``y`` times exponentials of affine functions of ``y``
    (``sin``/``cos`` of affine arguments included); None for other forms."""
    ys = list(ys)
    n = len(ys)
    fast = _polynomial_expectation(expr, ys, m, S)
    if fast is not None:
        return fast
    ts = sp.symbols(f"_t0:{n}")
    tvec = sp.Matrix(ts)
    mgf = sp.exp((tvec.T * sp.Matrix(m))[0] + sp.Rational(1, 2) * (tvec.T * sp.Matrix(S) * tvec)[0])
    e = expr
    trig = (sp.sin, sp.cos, sp.sinh, sp.cosh)
    if any(isinstance(f, trig) and f.has(*ys) for f in e.atoms(*trig)):
        # only functions of the fast variables: rewriting sin(x) of a slow x as
        # exponentials blew a small-mass coefficient up into minutes of expand
        e = e.replace(lambda f: isinstance(f, trig) and f.has(*ys),
                      lambda f: f.rewrite(sp.exp))
    e = sp.expand(sp.powsimp(sp.expand(e), combine="exp"))
    cache: dict = {}
    total = sp.S.Zero
    for term in sp.Add.make_args(e):
        coeff, rest = term.as_independent(*ys, as_Add=False)
        powers = [0] * n
        lam = [sp.S.Zero] * n
        for fac in sp.Mul.make_args(rest):
            base, ex = fac.as_base_exp()
            if base in ys and ex.is_Integer and ex >= 0:
                powers[ys.index(base)] += int(ex)
            elif isinstance(fac, sp.exp) or base == sp.E:
                arg = sp.expand(fac.args[0] if isinstance(fac, sp.exp) else ex)
                for i, y in enumerate(ys):
                    lam[i] += arg.coeff(y)
                const = sp.expand(arg - sum(arg.coeff(y) * y for y in ys))
                if const.has(*ys):
                    return None
                coeff *= sp.exp(const)
            elif fac == 1:
                continue
            else:
                return None
        key = (tuple(powers), tuple(lam))
        if key not in cache:
            d = mgf
            for i, p in enumerate(powers):
                if p:
                    d = sp.diff(d, ts[i], p)
            cache[key] = d.subs(dict(zip(ts, lam)))
        total += coeff * cache[key]
    total = sp.expand(total)
    if total.has(sp.I):
        total = sp.simplify(sp.expand_complex(total))
    return total


def _polynomial_expectation(expr: sp.Expr, ys: list, m: sp.MatrixBase,
                            S: sp.MatrixBase) -> sp.Expr | None:
    r""":math:`\mathbb E f(Y)` for ``f`` polynomial in ``y`` with coefficients that are
    rational in everything else, without expanding them.

    The coefficients are read off by :class:`sympy.Poly` over the fraction field
    of the parameters, the moments :math:`\mathbb E Y^\alpha = P_\alpha(0)` come
    from :math:`\partial_t^\alpha e^{Q(t)} = P_\alpha(t)e^{Q(t)}`,
    :math:`Q = t\cdot m + \frac12 t^TSt`, by the recurrence
    :math:`P_{\alpha+e_i} = \partial_iP_\alpha + P_\alpha\partial_iQ`, and the sum
    is put in lowest terms by ``cancel``. (Expanding the coefficients first turned a
    177-operation coefficient of a 2-D small-mass model into 8942 operations.)
    Returns None when ``f`` is not of this form."""
    if not expr.is_polynomial(*ys):
        return None
    try:
        P = sp.Poly(expr, *ys)
    except sp.PolynomialError:
        return None
    if P.domain.is_EX or P.domain.is_EXRAW:
        return None
    n = len(ys)
    # moments in placeholder symbols (small polynomials), the actual m and S put in last
    ts = sp.symbols(f"_t0:{n}")
    ms = sp.symbols(f"_m0:{n}")
    ss = {(i, j): sp.Symbol(f"_s{min(i, j)}_{max(i, j)}") for i in range(n) for j in range(n)}
    Q = sum((ts[i] * ms[i] for i in range(n)), sp.S.Zero) + sp.Rational(1, 2) * sum(
        (ts[i] * ss[i, j] * ts[j] for i in range(n) for j in range(n)), sp.S.Zero)
    dQ = [sp.diff(Q, t) for t in ts]
    polys: dict[tuple, sp.Expr] = {(0,) * n: sp.S.One}
    values = {**{ms[i]: m[i] for i in range(n)}, **{ss[k]: S[k] for k in ss}}

    def moment(alpha: tuple) -> sp.Expr:
        if alpha not in polys:
            i = next(k for k, a in enumerate(alpha) if a)
            prev = list(alpha)
            prev[i] -= 1
            moment(tuple(prev))
            Pp = polys[tuple(prev)]
            polys[alpha] = sp.expand(sp.diff(Pp, ts[i]) + Pp * dQ[i])
        return polys[alpha].xreplace(dict.fromkeys(ts, 0)).xreplace(values)

    total = sp.Add(*[c * moment(monom) for monom, c in P.terms()])
    return sp.cancel(total) if is_rational_expression(total, functions=True) \
        else sp.expand(total)


# ----------------------------------------------------------------- strategies
Strategy = Callable[[Generator, tuple], "InvariantMeasure | None"]
STRATEGIES: list[tuple[str, Strategy]] = []


def strategy(name: str) -> Callable[[Strategy], Strategy]:
    """Register an invariant-measure strategy (tried in registration order)."""

    def deco(fn: Strategy) -> Strategy:
        STRATEGIES.append((name, fn))
        return fn

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
    """
    fast = tuple(fast)
    G = L0.restrict(fast)
    for _name, fn in STRATEGIES:
        res = fn(G, fast)
        if res is not None:
            return res
    raise UnsolvedError(
        f"no strategy found an invariant measure for the fast generator in {list(fast)} "
        f"with drift {list(G.drift)} and diffusion {G.diffusion.tolist()}. Supported: linear "
        "SDEs (Gaussian), gradient systems with isotropic noise, 1-D diffusions on the line or "
        "the circle, and products of these."
    )


def _adjoint_check(G: Generator, rho: sp.Expr) -> Check:
    return zero_check("L0* rho = 0", G.adjoint(rho))


def _gaussian_adjoint_check(B: sp.Matrix, c: sp.Matrix, a: sp.Matrix, m: sp.Matrix,
                            P: sp.Matrix) -> Check:
    r""":math:`\mathcal L_0^*\rho = 0` for :math:`\rho\propto e^{-\frac12 (y-m)^TP(y-m)}`,
    :math:`b = By + c`, constant :math:`a`, checked coefficient by coefficient.

    With :math:`z = y - m` and :math:`r = Bm + c`,

    .. math::

        \frac{\mathcal L_0^*\rho}{\rho} = -\operatorname{tr}B - \tfrac12\operatorname{tr}(aP)
        + r^TPz + z^T\bigl(\tfrac12(B^TP + PB) + \tfrac12 PaP\bigr)z ,

    so the check is that the constant, the vector :math:`Pr` and the symmetric
    matrix vanish: small rational expressions, each decided exactly by
    ``cancel`` (expanding :math:`\mathcal L_0^*\rho` with the exponential in it
    took half a minute for a 2-D velocity with friction :math:`\gamma(x)`)."""
    r = B * m + c
    parts = [-B.trace() - (a * P).trace() / 2, *(P * r),
             *((B.T * P + P * B) / 2 + P * a * P / 2)]
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


@strategy("product")
def _product(G: Generator, fast: tuple) -> InvariantMeasure | None:
    """Split the fast variables into non-interacting groups."""
    if len(fast) < 2:
        return None
    n = len(fast)
    adj = {i: set() for i in range(n)}
    for i in range(n):
        for j in range(n):
            if i != j and (G.drift[i].has(fast[j]) or G.diffusion[i, j] != 0
                           or G.diffusion[i, i].has(fast[j])):
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
        groups.append(tuple(sorted(comp)))
    if len(groups) < 2:
        return None
    factors = [invariant_measure(G.restrict([fast[k] for k in grp], strict=False),
                                 [fast[k] for k in grp]) for grp in groups]
    density = sp.Mul(*[f.density for f in factors])
    dom = tuple(d for f in factors for d in f.domain)
    checks = tuple(c for f in factors for c in f.checks)
    return InvariantMeasure(fast, density, "product of " + ", ".join(f.strategy for f in factors),
                            dom, factors=tuple(factors), checks=checks,
                            periodic=tuple(y for f in factors for y in f.periodic))


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
    detS = sp.factor(S.det())
    if detS == 0:
        raise NoInvariantMeasureError(
            f"the stationary covariance of the fast variables {list(fast)} is singular: the noise "
            f"does not reach every fast variable (diffusion {a.tolist()}, drift matrix "
            f"{B.tolist()}). Add noise to the missing directions or treat the deterministic "
            "fast variables separately."
        )
    yv = sp.Matrix(fast) - m
    Sinv = S.adjugate() / detS
    quad = _collect_polynomial((yv.T * Sinv * yv)[0], fast)
    density = sp.exp(-quad / 2) / sp.sqrt((2 * sp.pi) ** n * detS)
    density = sp.powsimp(density)
    checks = [_gaussian_adjoint_check(B, c, a, m, Sinv),
              Check("integral of rho = 1", True, "symbolic", "Gaussian normalisation")]
    return InvariantMeasure(fast, density, "gaussian (Lyapunov equation)", _domain(G, fast),
                            mean=sp.ImmutableMatrix(m), covariance=sp.ImmutableMatrix(S),
                            checks=tuple(checks))


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
            return InvariantMeasure(fast, density, strat, ((y, sp.S.Zero, L),),
                                    checks=tuple(checks), periodic=(y,))
    checks = [_adjoint_check(G, density), _norm_check(density, y, 0, L, True)]
    return InvariantMeasure(fast, density, strat, ((y, sp.S.Zero, L),), checks=tuple(checks),
                            periodic=(y,))


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
    return InvariantMeasure(fast, density, "torus: divergence-free drift (uniform)",
                            _domain(G, fast), checks=checks, periodic=tuple(fast))


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
    return InvariantMeasure(fast, density, "gibbs exp(-V/D)", dom, checks=tuple(checks),
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
    _require_normalisable(unnorm, y, lo, hi)
    Z = definite_integral(unnorm, y, lo, hi)
    if Z.value == sp.oo or Z.value.is_infinite or Z.value == 0:
        raise NoInvariantMeasureError(
            f"the speed measure {unnorm} of the fast variable {y} is not normalisable: the fast "
            "process has no invariant probability (it escapes or is null-recurrent). Add "
            "confinement to its drift."
        )
    density = unnorm / Z.value
    checks = [_adjoint_check(G, density), _norm_check(density, y, lo, hi, False)]
    return InvariantMeasure(fast, density, "speed measure (1-D)", ((y, lo, hi),),
                            checks=tuple(checks))


def _require_normalisable(unnorm: sp.Expr, y: sp.Symbol, lo: sp.Expr, hi: sp.Expr) -> None:
    """Check that ``unnorm`` decays faster than ``|y|^-2`` at infinite ends."""
    for end in (lo, hi):
        if not end.is_infinite:
            continue
        lim = with_budget(sp.limit, (y**2 * unnorm, y, end), 4.0)
        if lim is None:
            continue  # undecided: the normalising integral decides below
        if lim != 0:
            raise NoInvariantMeasureError(
                f"the speed measure {unnorm} of the fast variable {y} does not decay at "
                f"{y} -> {end} (y^2 rho -> {lim}): the fast process has no invariant "
                "probability. Its drift must confine it (e.g. -k*y with k > 0)."
            )


