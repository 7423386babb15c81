r"""Validity conditions of a reduced model, and the admissibility of its coefficients.

A closed form often holds only for some parameter values. The conditions are
collected as SymPy relations on :attr:`EffectiveModel.validity
<symavg.models.effective.EffectiveModel.validity>`:

* stability of a fast linear system :math:`dy = (By + c)\,dt + \sigma\,dW`
  (Routh-Hurwitz: with :math:`\det(\lambda I - B) = \lambda^n + a_1\lambda^{n-1}
  + \dots + a_n`, every eigenvalue has negative real part if and only if the
  leading principal minors :math:`\Delta_1, \dots, \Delta_n` of the Hurwitz
  matrix :math:`H_{ij} = a_{2j-i}` are positive; Gantmacher, *The Theory of
  Matrices* vol. 2, Ch. XV, Sec. 6), recorded by the strategies on the
  measure (:attr:`InvariantMeasure.conditions`);
* stability of a slow manifold (a deterministic fast relaxation);
* normalisability of a one-dimensional invariant density
  :math:`\rho \propto e^{P(y)}\prod_i g_i(y)^{e_i}` (``P``, ``g_i`` polynomials in
  ``y``): at an infinite end the leading term of ``P`` must be negative, or, when ``P``
  is constant, the power :math:`s = \sum_i e_i\deg g_i` of the algebraic tail
  :math:`\rho \sim |y|^{s}` must satisfy :math:`s < -1`; at a finite end ``c`` the
  local power :math:`s_c = \sum_i e_i\operatorname{ord}_c g_i` must satisfy
  :math:`s_c > -1` (:func:`normalisability_conditions`);
* the region where a period integral by residues holds (no pole of the integrand on the
  unit circle; :func:`symavg.derive.integrals.residue_conditions`);
* positivity of the effective diffusion (diagonal entries and, in two slow
  dimensions, the determinant).

Conditions SymPy proves true are dropped; a condition proved false raises.
Every coefficient is also checked for ``nan``/``oo``/``zoo`` and for an
imaginary part: such a model is refused, never returned.
"""

from __future__ import annotations

import random
from collections.abc import Mapping, Sequence

import sympy as sp
from sympy.core.function import AppliedUndef

from ..errors import CheckFailedError, NoInvariantMeasureError
from ..report.derivation import Check, Step
from . import _context

__all__ = ["hurwitz_conditions", "keep_undecided", "normalisability_conditions",
           "validity_conditions"]


def _decide(rel: sp.Basic) -> sp.Basic:
    """``rel`` with both sides put in lowest terms (SymPy then decides more often)."""
    if isinstance(rel, sp.core.relational.Relational):
        lhs = sp.factor(sp.cancel(rel.lhs - rel.rhs))
        content, primitive = lhs.as_content_primitive()
        if content.is_positive and primitive.free_symbols:  # 2 k > 0 is k > 0
            lhs = primitive
        return rel.func(lhs, 0)
    return rel


def _one_variable(rel: sp.Basic) -> sp.Basic:
    """``rel`` on one symbol, polynomial of degree <= 4 in it, as the interval it defines
    under the symbol's assumptions (``4 (C - 1)(C + 1) > 0`` with ``C`` positive is
    ``C > 1``); ``rel`` itself otherwise."""
    if not isinstance(rel, sp.core.relational.Relational) or len(rel.free_symbols) != 1:
        return rel
    (s,) = rel.free_symbols
    e = rel.lhs - rel.rhs
    if not e.is_polynomial(s) or sp.degree(e, s) > 4:
        return rel
    try:
        region = sp.solve_univariate_inequality(rel, s, relational=False)
    except (NotImplementedError, ValueError, TypeError):
        return rel
    domain = (sp.Interval.open(0, sp.oo) if s.is_positive else
              sp.Interval(0, sp.oo) if s.is_nonnegative else sp.S.Reals)
    region = region.intersect(domain)
    if region == domain:
        return sp.true
    if region is sp.S.EmptySet:
        return sp.false
    if not isinstance(region, sp.Interval):
        return rel
    parts = []
    if region.start != domain.start or region.left_open != domain.left_open:
        parts.append(sp.StrictGreaterThan(s, region.start) if region.left_open
                     else sp.GreaterThan(s, region.start))
    if region.end != domain.end or region.right_open != domain.right_open:
        parts.append(sp.StrictLessThan(s, region.end) if region.right_open
                     else sp.LessThan(s, region.end))
    return parts[0] if len(parts) == 1 else sp.And(*parts)


def keep_undecided(relations: Sequence[sp.Basic], what: str) -> tuple[sp.Basic, ...]:
    """The relations SymPy does not prove true; a :class:`NoInvariantMeasureError`
    (naming ``what``) for one it proves false. A relation on one symbol is written as the
    interval it defines (``C > 1``)."""
    out = []
    for rel in relations:
        r = _one_variable(_decide(rel))
        if r is sp.true:
            continue
        if r is sp.false:
            raise NoInvariantMeasureError(f"{what}: the condition {rel} fails for every "
                                          "parameter value.")
        if r not in out:
            out.append(r)
    return tuple(out)


def hurwitz_conditions(B: sp.MatrixBase) -> tuple[sp.Basic, ...]:
    r"""Routh-Hurwitz conditions for every eigenvalue of ``B`` to have negative real part.

    Returns the relations :math:`\Delta_k > 0` (:math:`k < n`) and :math:`a_n > 0`
    (since :math:`\Delta_n = a_n\Delta_{n-1}`), unsimplified by assumptions.

    Examples
    --------
    >>> import sympy as sp
    >>> from symavg.derive.validity import hurwitz_conditions
    >>> k = sp.Symbol("k", real=True)
    >>> hurwitz_conditions(sp.Matrix([[-1, k], [-1, -1]]))
    (2 > 0, k + 1 > 0)
    """
    B = sp.Matrix(B)
    n = B.shape[0]
    lam = sp.Dummy("lambda")
    coeffs = sp.Poly((lam * sp.eye(n) - B).det(method="berkowitz"), lam).all_coeffs()
    a = [sp.factor(sp.cancel(c)) for c in coeffs]  # a[0] = 1

    def coef(k: int) -> sp.Expr:
        return a[k] if 0 <= k <= n else sp.S.Zero

    H = sp.Matrix(n, n, lambda i, j: coef(2 * (j + 1) - (i + 1)))
    conds = [sp.StrictGreaterThan(sp.factor(sp.cancel(H[:k, :k].det())), 0, evaluate=False)
             for k in range(1, n)]
    conds.append(sp.StrictGreaterThan(a[n], 0, evaluate=False))
    return tuple(conds)


def _density_parts(unnorm: sp.Expr, y: sp.Symbol
                   ) -> tuple[sp.Poly, list[tuple[sp.Expr, sp.Expr]]] | None:
    r"""``unnorm`` as :math:`K e^{P(y)}\prod_i g_i(y)^{e_i}`: the polynomial ``P`` and the
    pairs :math:`(g_i, e_i)` (``K`` and the ``e_i`` free of ``y``); None for another form."""
    exponent = sp.S.Zero
    powers: list[tuple[sp.Expr, sp.Expr]] = []
    for fac in sp.Mul.make_args(sp.powsimp(sp.sympify(unnorm), combine="exp")):
        if not fac.has(y):
            continue
        if isinstance(fac, sp.exp):
            exponent += fac.args[0]
        elif isinstance(fac, sp.Pow) and not fac.exp.has(y) and fac.base.is_polynomial(y):
            powers.append((fac.base, fac.exp))
        elif fac.is_polynomial(y):
            powers.append((fac, sp.S.One))
        else:
            return None
    poly = sp.S.Zero
    for term in sp.Add.make_args(sp.expand(exponent)):
        c, rest = term.as_independent(y, as_Add=False)
        if isinstance(rest, sp.log) and rest.args[0].is_polynomial(y):
            powers.append((rest.args[0], c))
        elif term.is_polynomial(y):
            poly += term
        else:
            return None
    return sp.Poly(poly, y), powers


def _order_at(g: sp.Expr, y: sp.Symbol, c: sp.Expr) -> int:
    """The multiplicity of ``c`` as a root of the polynomial ``g`` (0 when ``g(c) != 0``
    or undecided)."""
    p = sp.Poly(g, y)
    k = 0
    while p.degree() > 0 and sp.simplify(p.eval(c)) == 0:
        p = sp.Poly(sp.quo(p.as_expr(), y - c, y), y)
        k += 1
    return k


def normalisability_conditions(unnorm: sp.Expr, y: sp.Symbol, lo: sp.Expr, hi: sp.Expr
                               ) -> tuple[sp.Basic, ...] | None:
    r"""Conditions on the parameters for :math:`\int_{lo}^{hi}\rho\,dy < \infty`, with
    :math:`\rho = K e^{P(y)}\prod_i g_i(y)^{e_i}` (see the module docstring), or None
    when ``unnorm`` is not of that form.

    At an infinite end :math:`\pm\infty` with :math:`\deg P = n \ge 1`: :math:`(\pm1)^n
    p_n < 0` (Gaussian-type decay; sufficient, and necessary unless :math:`p_n` vanishes);
    with ``P`` constant: :math:`s + 1 < 0`, :math:`s = \sum_i e_i\deg g_i`, since
    :math:`\rho \sim |y|^s` and :math:`\int^\infty y^s dy < \infty` iff :math:`s < -1`.
    At a finite end ``c``: :math:`s_c + 1 > 0` with :math:`s_c = \sum_i e_i
    \operatorname{ord}_c g_i` (:math:`\rho \sim |y - c|^{s_c}`). The relations are not
    yet decided (see :func:`keep_undecided`).

    Examples
    --------
    >>> import sympy as sp
    >>> from symavg.derive.validity import normalisability_conditions
    >>> y = sp.Symbol("y", real=True)
    >>> k = sp.Symbol("k", positive=True)
    >>> normalisability_conditions((1 + y**2) ** (-k / 2), y, -sp.oo, sp.oo)
    (k - 1 > 0,)
    """
    parts = _density_parts(unnorm, y)
    if parts is None:
        return None
    P, powers = parts
    out: list[sp.Basic] = []
    for end in (sp.sympify(lo), sp.sympify(hi)):
        if end.is_infinite:
            if P.degree() >= 1:
                lead = P.LC() * (1 if end == sp.oo else (-1) ** P.degree())
                out.append(sp.StrictGreaterThan(sp.factor(-lead), 0, evaluate=False))
            else:
                s = sum((e * sp.degree(g, y) for g, e in powers), sp.S.Zero)
                out.append(sp.StrictGreaterThan(sp.factor(-s - 1), 0, evaluate=False))
        else:
            s = sum((e * _order_at(g, y, end) for g, e in powers), sp.S.Zero)
            if s != 0:
                out.append(sp.StrictGreaterThan(sp.factor(s + 1), 0, evaluate=False))
    return tuple(dict.fromkeys(out))


def _collect(measure: object) -> list[sp.Basic]:
    out = list(getattr(measure, "conditions", ()) or ())
    for f in getattr(measure, "factors", ()) or ():
        out += _collect(f)
    return out


def validity_conditions(drift: Sequence[sp.Expr], diff: sp.MatrixBase, slow: tuple,
                        records: Mapping | None) -> tuple[tuple[sp.Basic, ...], Step | None]:
    r"""The validity conditions of a reduced model, and the step that records them.

    Raises :class:`~symavg.errors.CheckFailedError` when a coefficient is not
    finite or not real, or when the effective diffusion is proved negative.
    """
    _require_finite_real(drift, diff, slow)
    conds = _collect((records or {}).get("measure"))
    conds += [c for c in _context.recorded_conditions()
              if not any(isinstance(s, sp.Dummy) for s in c.free_symbols)]
    conds = list(keep_undecided(conds, "a step of the derivation")) if conds else conds
    diff = sp.Matrix(diff)
    n = diff.shape[0]
    positivity = []
    for i in range(n):
        positivity.append(sp.GreaterThan(diff[i, i], 0, evaluate=False))
    if n == 2:
        positivity.append(sp.GreaterThan(sp.factor(diff.det()), 0, evaluate=False))
    for rel in positivity:
        e = rel.lhs
        if e.has(sp.Integral, AppliedUndef, sp.Derivative) or e.has(*slow) or e == 0:
            continue
        if _nonnegative_where_defined(e):
            continue
        r = _decide(rel)
        if r is sp.false:
            raise CheckFailedError(
                f"the effective diffusion has {rel.lhs} < 0 for every parameter value: the "
                "reduced model is not an SDE. This is a bug or an inadmissible model; please "
                "report it with the model."
            )
        if r is not sp.true:
            conds.append(r)
    out: list[sp.Basic] = []
    for c in conds:
        if c not in out:
            out.append(c)
    if not out:
        return (), None
    step = Step("validity", "The result holds where these conditions hold (they are checked "
                "when the reduced model is simulated, verified or exported).",
                tuple((f"c_{{{k}}}", c) for k, c in enumerate(out, 1)),
                (Check("conditions recorded", True, "symbolic",
                       f"{len(out)} condition(s) on the parameters"),))
    return tuple(out), step


def _nonnegative_where_defined(e: sp.Expr) -> bool:
    """True when ``e`` is proved nonnegative with every symbol also taken nonzero
    (``2/k**2`` for a real ``k``: the value at ``k = 0`` is not an admissible model) and
    every square root taken real (``2 sqrt(C - 1) sqrt(C + 1)``: where it is not real, the
    realness check refuses the model and a recorded condition excludes the region)."""
    e = e.replace(lambda p: isinstance(p, sp.Pow) and p.exp == sp.S.Half,
                  lambda p: sp.Dummy("r", nonnegative=True))
    repl = {}
    for s in e.free_symbols:
        assumptions = {k: v for k, v in s.assumptions0.items() if v is not None}
        assumptions["nonzero"] = True
        try:
            repl[s] = sp.Dummy(s.name, **assumptions)
        except Exception:  # inconsistent assumptions (e.g. zero=True): keep the symbol
            continue
    return bool(sp.factor(e.xreplace(repl)).is_nonnegative)


def _require_finite_real(drift: Sequence[sp.Expr], diff: sp.MatrixBase, slow: tuple) -> None:
    entries = [("drift", i, sp.sympify(e)) for i, e in enumerate(drift)]
    entries += [("diffusion", (i, j), sp.sympify(diff[i, j])) for i in range(diff.shape[0])
                for j in range(diff.shape[1])]
    rng = random.Random(7)
    for what, where, e in entries:
        outside = e.xreplace({i: sp.Dummy() for i in e.atoms(sp.Integral)})  # not the limits
        if outside.has(sp.nan, sp.zoo, sp.oo, -sp.oo):
            raise CheckFailedError(
                f"the effective {what} entry {where} came out as {e}, which is not finite: "
                "an integral of the derivation diverges or SymPy lost it. symavg refuses to "
                "return it. If the fast law is heavy-tailed, the averaged coefficient may have "
                "no finite mean."
            )
        if e.has(sp.I) and not e.has(AppliedUndef, sp.Integral):
            for _ in range(3):
                pt = {s: sp.Rational(rng.randint(11, 290), 100) for s in e.free_symbols}
                try:
                    val = complex(sp.N(e.subs(pt), 15))
                except (TypeError, ValueError):
                    continue
                if abs(val.imag) > 1e-10 * max(1.0, abs(val)):
                    raise CheckFailedError(
                        f"the effective {what} entry {where} = {e} is not real (value {val} at "
                        f"{pt}): symavg refuses to return it."
                    )
