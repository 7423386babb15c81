r"""Invariant probability measures as a protocol.

A measure of the fast variables answers :meth:`InvariantMeasure.expect`
(:math:`\langle f\rangle`, possibly a function of the slow variables) and
carries the checks done on it (normalisation, stationarity
:math:`\mathcal L_0^*\rho = 0`). The expansion engine only ever asks a
measure for expectations; how they are computed is the measure's business:

``DensityMeasure``
    a density :math:`\rho(y; x)` on a box of intervals and circles:
    :math:`\langle f\rangle = \int f\rho\,dy`, variable by variable
    through :func:`~symavg.derive.integrals.definite_integral`;
``GaussianMeasure``
    :math:`N(m, S)`: exact moments before any integral;
``DiscreteMeasure``
    a law :math:`\pi` on the finite states of a chain:
    :math:`\langle f\rangle = \sum_i \pi_i f_i` for a column ``f``;
``ProductMeasure``
    independent blocks of fast variables: expectations factor by factor.

Functions of a finite state are columns (one entry per state); a plain
expression does not depend on the state.
"""

from __future__ import annotations

import abc
from collections.abc import Hashable, Sequence
from dataclasses import dataclass

import sympy as sp

from .._sympy_util import is_rational_expression, lowest_terms, with_budget
from ..report.derivation import Check, Step
from .integrals import antiderivative, definite_integral, limit_at


@dataclass(frozen=True)
class InvariantMeasure(abc.ABC):
    """The protocol: an invariant probability of the fast generator.

    Attributes
    ----------
    fast : tuple of Symbol
        The variables it integrates over (a chain's symbol for a finite state).
    strategy : str
        The strategy that found it.
    checks : tuple of Check
        Normalisation and stationarity, as checked.

    Examples
    --------
    >>> import sympy as sp, symavg as sa
    >>> y = sp.Symbol("y", real=True)
    >>> rho = sa.invariant_measure(sa.Generator([y], [-y], [[2]]), [y])
    >>> rho.strategy, rho.expect(y**2)
    ('gaussian (Lyapunov equation)', 1)
    """

    fast: tuple[sp.Symbol, ...]
    strategy: str
    checks: tuple[Check, ...] = ()
    #: relations on the parameters under which the measure exists (e.g. Routh-Hurwitz)
    conditions: tuple[sp.Basic, ...] = ()

    #: independent blocks (ProductMeasure) -- empty for a single block
    factors: tuple[InvariantMeasure, ...] = ()
    mean = None
    covariance = None

    @abc.abstractmethod
    def expect_checked(self, expr: object) -> tuple[sp.Expr, tuple[Check, ...]]:
        """:meth:`expect` together with the checks done on the value."""

    def expect(self, expr: object) -> sp.Expr:
        r""":math:`\langle f\rangle` under the measure (a function of the slow variables)."""
        value, _ = self.expect_checked(expr)
        return value

    def describe(self) -> list[tuple[str, sp.Basic]]:
        """Labelled expressions for the derivation record."""
        return []

    def written(self, expr: object, rho: str = "rho") -> sp.Basic | None:
        r"""The average :math:`\langle f\rangle` written out, unevaluated: the integral of
        ``expr`` against the density (named ``rho``, as in the invariant-measure step) over
        the fast domain, the sum over a chain's states, or ``expr`` at the slow manifold.
        ``None`` when the measure has no such form."""
        return None

    def domain_text(self) -> str:
        return ""

    def step(self) -> Step:
        dom = self.domain_text()
        where = f" ({dom})" if dom else ""
        return Step("invariant measure",
                    f"Invariant probability of $\\mathcal{{L}}_0$ with the slow variables frozen"
                    f"{where}.", tuple(self.describe()), self.checks, self.strategy)

    def block_of(self, y: sp.Symbol) -> InvariantMeasure:
        """The factor whose variables contain ``y`` (the measure itself for one block)."""
        for f in self.factors:
            if y in f.fast:
                return f.block_of(y)
        return self


@dataclass(frozen=True)
class DensityMeasure(InvariantMeasure):
    r"""A density :math:`\rho(y; x)` on intervals and circles.

    Attributes
    ----------
    density : Expr
        Normalised (the normaliser may be an unevaluated ``Integral``).
    domain : tuple of (y, lower, upper)
    periodic : tuple of Symbol
        The variables of ``domain`` that are on a circle.
    """

    density: sp.Expr = sp.S.One
    domain: tuple[tuple[sp.Symbol, sp.Expr, sp.Expr], ...] = ()
    periodic: tuple[sp.Symbol, ...] = ()

    def expect_checked(self, expr: object) -> tuple[sp.Expr, tuple[Check, ...]]:
        expr = sp.sympify(expr)
        if not expr.has(*self.fast):
            return expr, ()
        value = expr * self.density
        checks = []
        for y, lo, hi in reversed(self.domain):
            res = definite_integral(value, y, lo, hi, periodic=y in self.periodic)
            if res.method == "unevaluated" and not (lo.is_finite and hi.is_finite):
                _require_integrable(expr, value, y, lo, hi)
            value = res.value
            checks.append(res.check)
        return _tidy(value), tuple(checks)

    def expect_by_parts(self, g: sp.Expr, dphi: sp.Expr,
                        y: sp.Symbol) -> tuple[sp.Expr, list[Check]]:
        r""":math:`\langle g\Phi\rangle` from :math:`\Phi' = \partial_y\Phi` alone (one variable).

        :math:`\langle g\Phi\rangle = -\int G\,\Phi'\,dy` with
        :math:`G(y) = \int_{y_0}^{y} g\rho`, valid for a centred ``g``
        (:math:`G` vanishes at both ends), the right-hand side of a cell problem.
        """
        if sp.sympify(dphi) == 0:  # e.g. d/dx of a corrector that does not depend on x
            return sp.S.Zero, []
        (_, lo, hi), = [d for d in self.domain if d[0] == y]
        rho = self.density
        prim = antiderivative(sp.powsimp(g * rho, combine="exp"), y)
        if prim is None:
            s = sp.Dummy("s")
            G = sp.Integral((g * rho).subs(y, s), (s, lo, y))
        else:
            base = prim.subs(y, lo) if lo.is_finite else limit_at(prim, y, lo)
            if base is None:
                s = sp.Dummy("s")
                G = sp.Integral((g * rho).subs(y, s), (s, lo, y))
            else:
                G = prim - base
        res = definite_integral(sp.powsimp(sp.expand(-G * dphi), combine="exp"), y, lo, hi,
                                periodic=y in self.periodic)
        return res.value, [res.check]

    def describe(self) -> list[tuple[str, sp.Basic]]:
        return [(r"\rho", self.density)]

    def written(self, expr: object, rho: str = "rho") -> sp.Basic | None:
        r""":math:`\int f\,\rho(y)\,dy` over the domain, unevaluated.

        Examples
        --------
        >>> import sympy as sp, symavg as sa
        >>> y = sp.Symbol("y", real=True)
        >>> m = sa.invariant_measure(sa.Generator([y], [-y], [[2]]), [y])
        >>> m.written(y**2)
        Integral(y**2*rho(y), (y, -oo, oo))
        """
        ys = [d[0] for d in self.domain]
        if not ys:
            return None
        return sp.Integral(sp.sympify(expr) * sp.Function(rho)(*ys), *self.domain)

    def domain_text(self) -> str:
        parts = []
        for y, lo, hi in self.domain:
            where = f"${sp.latex(y)} \\in ({sp.latex(lo)}, {sp.latex(hi)})$"
            parts.append(where + (" (a circle)" if y in self.periodic else ""))
        return ", ".join(parts)


@dataclass(frozen=True)
class GaussianMeasure(DensityMeasure):
    """The Gaussian :math:`N(m, S)`; moments exactly, other integrands by the density."""

    mean: sp.ImmutableMatrix | None = None
    covariance: sp.ImmutableMatrix | None = None

    def expect_checked(self, expr: object) -> tuple[sp.Expr, tuple[Check, ...]]:
        expr = sp.sympify(expr)
        if not expr.has(*self.fast):
            return expr, ()
        val = gaussian_expectation(expr, self.fast, self.mean, self.covariance)
        if val is not None:
            return val, (Check("Gaussian moment formula", True, "symbolic",
                               "exact moments of N(m, S)"),)
        return DensityMeasure.expect_checked(self, expr)

    def describe(self) -> list[tuple[str, sp.Basic]]:
        return [(r"\rho", self.density), ("m", self.mean), ("S", self.covariance)]


@dataclass(frozen=True)
class DiscreteMeasure(InvariantMeasure):
    r"""A law :math:`\pi` on the finite states of a chain (entries may depend on ``x``)."""

    states: tuple[Hashable, ...] = ()
    probabilities: sp.ImmutableMatrix = sp.ImmutableMatrix([])

    @property
    def symbol(self) -> sp.Symbol:
        return self.fast[0]

    def expect_checked(self, expr: object) -> tuple[sp.Expr, tuple[Check, ...]]:
        if isinstance(expr, sp.MatrixBase | list | tuple):
            vals = list(expr)
            if len(vals) != len(self.states):
                raise ValueError(f"a function of the chain's state needs {len(self.states)} "
                                 f"entries; got {len(vals)}")
            total = sum((p * v for p, v in zip(self.probabilities, vals)), sp.S.Zero)
            return _tidy_rational(total), (Check("sum over states", True, "symbolic",
                                                 "exact weighted sum"),)
        return sp.sympify(expr), ()

    def describe(self) -> list[tuple[str, sp.Basic]]:
        return [(r"\pi", self.probabilities.T)]

    def written(self, expr: object, rho: str = "pi") -> sp.Basic | None:
        r""":math:`\sum_k \pi_k f_k` over the states, unevaluated (``expr`` a column).
        A ``str`` ``expr`` is a name: the sum of :math:`\pi_k` times its entries."""
        weights = [sp.Symbol(f"pi_{s}") for s in self.states]
        if isinstance(expr, str):
            vals: list = [sp.Symbol(f"{expr}_{s}") for s in self.states]
        elif isinstance(expr, sp.MatrixBase | list | tuple):
            vals = list(expr)
        else:
            return None
        return sp.Add(*[sp.Mul(w, v, evaluate=False) for w, v in zip(weights, vals)],
                      evaluate=False)

    def domain_text(self) -> str:
        names = ", ".join(str(s) for s in self.states)
        return f"states {names} of ${sp.latex(self.symbol)}$"


@dataclass(frozen=True)
class PointMassMeasure(InvariantMeasure):
    r"""A point mass :math:`\delta_{y^*(x)}` at the slow manifold of a deterministic fast
    relaxation :math:`\dot y = b(x, y)/\epsilon` with :math:`b(x, y^*(x)) = 0`
    (Tikhonov's theorem; Pavliotis & Stuart 2008, Sec. 10.6; Verhulst,
    *Methods and Applications of Singular Perturbations*, Thm. 8.1):
    :math:`\langle f\rangle = f(x, y^*(x))`.

    Attributes
    ----------
    point : ImmutableMatrix
        :math:`y^*(x)`, one entry per fast variable.

    Examples
    --------
    >>> import sympy as sp
    >>> from symavg.derive.measures import PointMassMeasure
    >>> x, y = sp.symbols("x y", real=True)
    >>> m = PointMassMeasure(fast=(y,), strategy="slow manifold",
    ...                      point=sp.ImmutableMatrix([sp.sin(x)]))
    >>> m.expect(y**2 + x)
    x + sin(x)**2
    """

    point: sp.ImmutableMatrix = sp.ImmutableMatrix([])

    def expect_checked(self, expr: object) -> tuple[sp.Expr, tuple[Check, ...]]:
        expr = sp.sympify(expr)
        if not expr.has(*self.fast):
            return expr, ()
        value = expr.xreplace(dict(zip(self.fast, self.point)))
        return _tidy(value), (Check("point mass", True, "symbolic",
                                    "<f> = f at the slow manifold (substitution)"),)

    def describe(self) -> list[tuple[str, sp.Basic]]:
        return [("y^*", self.point)]

    def written(self, expr: object, rho: str = "rho") -> sp.Basic | None:
        """``expr`` at the slow manifold, unevaluated (:class:`sympy.Subs`)."""
        stars = [sp.Symbol(f"{y.name}^*") for y in self.fast]
        return sp.Subs(sp.sympify(expr), self.fast, stars)

    def domain_text(self) -> str:
        return "a point mass at the slow manifold"


@dataclass(frozen=True)
class ProductMeasure(InvariantMeasure):
    """Independent blocks of fast variables: the product of the factors' measures."""

    def expect_checked(self, expr: object) -> tuple[sp.Expr, tuple[Check, ...]]:
        checks: list[Check] = []
        if isinstance(expr, sp.MatrixBase | list | tuple):
            # a function of a chain's state: the continuous factors entry by entry, the
            # chain's law last
            col = list(expr)
            discrete = [f for f in self.factors if isinstance(f, DiscreteMeasure)]
            for fac in self.factors:
                if fac in discrete:
                    continue
                out = []
                for e in col:
                    v, ch = fac.expect_checked(e)
                    out.append(v)
                    checks.extend(ch)
                col = out
            value, ch = discrete[0].expect_checked(sp.ImmutableMatrix(col)) if discrete \
                else (sp.ImmutableMatrix(col), ())
            return value, tuple(checks) + tuple(ch)
        value = sp.sympify(expr)
        if not value.has(*self.fast):
            return value, ()
        for fac in reversed(self.factors):
            value, ch = fac.expect_checked(value)
            checks.extend(ch)
        return value, tuple(checks)

    @property
    def discrete(self) -> DiscreteMeasure | None:
        """The factor on a chain's states, if there is one."""
        return next((f for f in self.factors if isinstance(f, DiscreteMeasure)), None)

    @property
    def density(self) -> sp.Expr:
        """The product of the factors' densities (factors with a density)."""
        return sp.Mul(*[f.density for f in self.factors if hasattr(f, "density")])

    @property
    def domain(self) -> tuple:
        return tuple(d for f in self.factors for d in getattr(f, "domain", ()))

    @property
    def periodic(self) -> tuple:
        return tuple(y for f in self.factors for y in getattr(f, "periodic", ()))

    def describe(self) -> list[tuple[str, sp.Basic]]:
        out = []
        for k, f in enumerate(self.factors, 1):
            out += [(rf"{lab}_{{{k}}}", e) for lab, e in f.describe()]
        return out

    def domain_text(self) -> str:
        return "; ".join(f.domain_text() for f in self.factors)

    def written(self, expr: object, rho: str = "rho") -> sp.Basic | None:
        """The factors' forms nested, the chain's sum outside, each density named
        ``rho_k`` (as in the invariant-measure step)."""
        discrete = self.discrete
        col = list(expr) if isinstance(expr, sp.MatrixBase | list | tuple) else None
        if isinstance(expr, str):
            col = [sp.Symbol(f"{expr}_{s}") for s in discrete.states] if discrete else None
            expr = sp.Symbol(expr)
        value: object = expr
        for k, fac in reversed(list(enumerate(self.factors, 1))):
            if fac is discrete:
                continue
            if col is not None:
                col = [fac.written(e, f"{rho}_{k}") for e in col]
            else:
                value = fac.written(value, f"{rho}_{k}")
            if (col is None and value is None) or (col is not None and None in col):
                return None
        if discrete is not None:
            return discrete.written(col if col is not None else [value] * len(discrete.states))
        return value  # type: ignore[return-value]


def _require_integrable(expr: sp.Expr, integrand: sp.Expr, y: sp.Symbol, lo: sp.Expr,
                        hi: sp.Expr) -> None:
    r"""Refuse :math:`\langle f\rangle` when :math:`f\rho` is not integrable at an
    infinite end: :math:`|y|\,|f\rho| \to c \neq 0` (or :math:`\infty`) means a tail
    like :math:`c/|y|`. A heavy-tailed law (Cauchy) has finite averages of bounded
    functions only."""
    from ..errors import ModelError

    for end in (lo, hi):
        if end.is_finite:
            continue
        lim = with_budget(sp.limit, (y * integrand, y, end), 4.0)
        if lim is None or lim == 0 or lim.has(sp.Limit, sp.nan) or lim.free_symbols:
            continue
        raise ModelError(
            f"the average of {expr} under the invariant law of the fast variable {y} does "
            f"not exist: the integrand decays like 1/|{y}| or slower as {y} -> {end} "
            f"({y} * integrand -> {lim}). The fast law has heavy tails; only coefficients "
            "that are integrable against it can be averaged (e.g. bounded ones)."
        )


def _tidy_rational(e: sp.Expr) -> sp.Expr:
    if is_rational_expression(e, functions=True):
        return sp.factor(sp.cancel(e))
    return _tidy(e)


def _tidy(e: sp.Expr) -> sp.Expr:
    """A short form of an average: atoms as they are, rational expressions (in symbols
    and function values) by polynomial arithmetic (:func:`lowest_terms`), others by a
    budgeted ``simplify``; large ones and integrals are left alone."""
    e = sp.sympify(e)
    if e.is_Atom or e.has(sp.Integral) or sp.count_ops(e) > 400:
        return e
    lowest = lowest_terms(e, expanded=True)
    if lowest is not None:
        return lowest
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
    177-operation coefficient of a 2-D small-mass model into 8942 operations.) For one
    variable the moments are the closed sum :math:`\mathbb E Y^k = \sum_j \binom{k}{2j}
    m^{k-2j} S^j (2j-1)!!` (the recurrence's polynomials grow quadratically with the
    degree: 54 s for the degree-30 Hermite corrector of a hypoelliptic cell problem).
    Returns None when ``f`` is not of this form."""
    if not expr.is_polynomial(*ys):
        return None
    try:
        # EXRAW: the coefficients as they are (is_polynomial proved them free of ys); a
        # polynomial domain over hundreds of parameters took seconds to build
        P = sp.Poly(expr, *ys, domain=sp.EXRAW)
    except sp.PolynomialError:
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
        if n == 1:  # one variable: E Y^k = sum_j binom(k, 2j) m^(k-2j) S^j (2j-1)!!
            k = alpha[0]
            return sp.Add(*[sp.binomial(k, 2 * j) * m[0] ** (k - 2 * j) * S[0, 0] ** j
                            * sp.factorial2(2 * j - 1) for j in range(k // 2 + 1)])
        if alpha not in polys:
            i = next(k for k, a in enumerate(alpha) if a)
            prev = list(alpha)
            prev[i] -= 1
            moment(tuple(prev))
            Pp = polys[tuple(prev)]
            polys[alpha] = sp.expand(sp.diff(Pp, ts[i]) + Pp * dQ[i])
        return polys[alpha].xreplace(dict.fromkeys(ts, 0)).xreplace(values)

    total = sp.Add(*[c * moment(monom) for monom, c in P.terms()])
    if sp.denom(sp.together(total)) == 1:  # a polynomial: nothing to cancel
        return sp.expand(total)
    return sp.cancel(total) if is_rational_expression(total, functions=True) \
        else sp.expand(total)


