r"""Definite integrals that a derivation needs, never silently wrong.

Routes, tried in order:

1. exact structure: trigonometric polynomials over a full period (the
   constant Fourier mode), rational functions of ``cos``/``sin`` that cancel
   to a trigonometric polynomial plus a derivative
   (:func:`period_integral_rational`, Hermite reduction), and the
   Bessel table

   .. math::

       \int_0^{2\pi/\omega} e^{\kappa\cos(\omega y+\varphi)}\cos(n\omega y+n\varphi)\,dy
       = \frac{2\pi}{\omega} I_n(\kappa),

   (SymPy's ``integrate`` never finds these and is sometimes wrong on period
   averages: SymPy issues #23613, #20370, #26283);
2. :func:`sympy.integrate` under a work limit (it can hang: #15438, #11354):
   :func:`~symavg._sympy_util.with_budget` counts the Python calls it makes,
   so whether it finds a closed form does not depend on the machine's load;
3. an unevaluated :class:`sympy.Integral`, evaluated by quadrature later.

Every closed form from routes 1-2 is spot-checked against quadrature (scipy's QUADPACK,
``mpmath.quad`` where that fails) at
random parameter values before it is returned; a failed check falls back to
route 3. The returned :class:`IntegralResult` carries that check.
"""

from __future__ import annotations

import cmath
import functools
import math
import random
from collections.abc import Callable
from dataclasses import dataclass

import mpmath
import sympy as sp
from sympy.core.function import AppliedUndef

from .._sympy_util import is_rational_expression, replace_undefined_functions, with_budget
from ..report.derivation import Check
from . import _context

#: work (millions of Python calls, see with_budget) given to sympy.integrate before
#: falling back; the circle measure with constant flux needs 3.9 million
INTEGRATE_BUDGET = 5.0
#: integrands up to this many operations are also tried as rational functions of exp(i y)
CANCEL_OPS = 400


class QuadratureIntegral(sp.Integral):
    r"""An integral left for quadrature whose numeric value is computed once.

    A constant such as a normalisation :math:`Z = \int_0^{2\pi} e^{-V}\,dy` with no
    closed form is a *number* to SymPy, and SymPy evaluates numbers whenever it orders
    the terms of a sum (``Expr.as_terms``: in ``cancel``, ``signsimp``, printing), by
    ``mpmath.quad`` each time: a derivation with one such ``Z`` spent minutes there.
    This subclass behaves as :class:`sympy.Integral` everywhere (printing, ``doit``,
    ``lambdify``) except that its ``evalf`` results are remembered per precision.
    """


_QUAD_CACHE: dict[tuple, tuple] = {}
_QUAD_CACHE_SIZE = 4096


def _evalf_quadrature_integral(x: sp.Expr, prec: int, options: dict):
    from sympy.core.evalf import evalf_integral

    if "subs" in options or "quad" in options:  # a substitution or another rule: not cached
        return evalf_integral(x, prec, options)
    key = (x, prec, options.get("maxprec"), options.get("strict"))
    hit = _QUAD_CACHE.get(key)
    if hit is None:
        hit = evalf_integral(x, prec, options)
        if len(_QUAD_CACHE) >= _QUAD_CACHE_SIZE:
            _QUAD_CACHE.clear()
        _QUAD_CACHE[key] = hit
    return hit


def _register_quadrature_integral() -> None:
    import sympy.core.evalf as evalf_module

    if not evalf_module.evalf_table:
        evalf_module._create_evalf_table()
    evalf_module.evalf_table[QuadratureIntegral] = _evalf_quadrature_integral


_register_quadrature_integral()


@dataclass(frozen=True)
class IntegralResult:
    """The value of a definite integral and how it was obtained."""

    value: sp.Expr
    method: str  # "exact", "integrate", "unevaluated"
    check: Check
    #: relations on the parameters under which ``value`` holds (e.g. ``C**2 - 1 > 0`` for
    #: a residue sum, ``b > 0`` for a Gamma integral); recorded as validity conditions
    conditions: tuple[sp.Basic, ...] = ()


def definite_integral(f: sp.Expr, y: sp.Symbol, lo: sp.Expr, hi: sp.Expr,
                      periodic: bool = False, budget: float = INTEGRATE_BUDGET) -> IntegralResult:
    r""":math:`\int_{lo}^{hi} f\,dy`, checked; see the module docstring.

    Results are remembered (the same normalisation is met by the measure, its checks and
    each average): the routes are deterministic, so a repeated call gives the same answer.
    """
    res = _definite_integral(sp.sympify(f), y, sp.sympify(lo), sp.sympify(hi), periodic,
                             budget)
    if res.conditions:
        _context.record_conditions(res.conditions)
    return res


def _symmetric_range(lo: sp.Expr, hi: sp.Expr) -> bool:
    """``lo = -hi``, decided by ``expand`` and ``cancel`` (the ends are numbers, symbols or
    short expressions in them; a first ``simplify`` costs a fresh process a second)."""
    if lo == -hi:
        return True
    total = lo + hi
    if total.has(sp.oo, -sp.oo, sp.zoo, sp.nan):
        return False
    return total.is_zero is True or sp.expand(total) == 0 or (
        is_rational_expression(total) and sp.cancel(total) == 0)


@functools.lru_cache(maxsize=2048)
def _definite_integral(f: sp.Expr, y: sp.Symbol, lo: sp.Expr, hi: sp.Expr,
                       periodic: bool, budget: float) -> IntegralResult:
    integral = QuadratureIntegral(f, (y, lo, hi))
    if f == 0:  # also on an infinite range, where 0 * (hi - lo) would be nan
        return IntegralResult(sp.S.Zero, "exact",
                              Check(f"integral over {y}", True, "symbolic", "integrand is 0"))
    if not f.has(y):
        return IntegralResult(sp.expand(f * (hi - lo)), "exact",
                              Check(f"integral over {y}", True, "symbolic", "integrand free of y"))
    const, rest = f.as_independent(y, as_Add=False)
    if const != 1:  # a constant factor (a normalisation 1/Z): integrate the rest
        res = definite_integral(rest, y, lo, hi, periodic, budget)
        return IntegralResult(const * res.value, res.method, res.check, res.conditions)
    if lo == -sp.oo and hi == sp.oo and odd_polynomial_exponent(f, y):
        # before the odd part is split off: its halves would be two such integrals
        return IntegralResult(integral, "unevaluated",
                              Check(f"integral over {y}", True, "numeric",
                                    "left unevaluated for quadrature: e^(P(y)) with P of degree "
                                    ">= 3 and more than one power of y after the shift has no "
                                    "closed form in elementary functions, erf or Gamma"))
    if _symmetric_range(lo, hi):
        mirrored = f.subs(y, -y)
        infinite = not (lo.is_finite and hi.is_finite)
        odd = sp.expand((f - mirrored) / 2)
        decay_signs: list[sp.Basic] = []
        if not (gaussian_decay(odd, y, decay_signs) if infinite
                else bounded_on_finite_ranges(odd, y)):
            # the odd part may not be integrable (y under the Cauchy law has no mean, 1/y^3
            # on [-1, 1] diverges; a principal value 0 is not an integral): no shortcut
            mirrored = None
        even = None if mirrored is None else sp.expand((f + mirrored) / 2)
        signs = tuple(decay_signs) if mirrored is not None else ()
        if even == 0:
            return IntegralResult(sp.S.Zero, "exact",
                                  Check(f"integral over {y}", True, "symbolic",
                                        "odd integrand on a symmetric range: f(-y) = -f(y)"),
                                  signs)
        if even is not None and even != sp.expand(f):
            # drop the odd part (f(y) - f(-y))/2, which integrates to 0
            res = definite_integral(even, y, lo, hi, periodic, budget)
            return IntegralResult(res.value, res.method, Check(
                res.check.name, res.check.passed, res.check.method,
                "the odd part of the integrand dropped (symmetric range); " + res.check.detail),
                tuple(dict.fromkeys(res.conditions + signs)))
    powered = logs_as_powers(f, y)
    if powered != f:
        return definite_integral(powered, y, lo, hi, periodic, budget)
    frozen, thaw = freeze_constant_integrals(f, y)
    if thaw:
        res = definite_integral(frozen, y, lo, hi, periodic, budget)
        if res.method == "unevaluated" and not res.value.has(sp.erfc):
            return IntegralResult(integral, res.method, res.check)
        # (an unevaluated value in erfc form, stable_tail_form, is kept: it evaluates
        # without cancellation)
        return IntegralResult(res.value.xreplace(thaw), res.method, res.check, res.conditions)
    residues_exhausted = False
    if periodic:
        val = period_integral_exact(f, y, hi - lo)
        if val is None and sp.count_ops(f) < CANCEL_OPS:
            val = period_integral_rational(f, y, hi - lo)
        if val is not None:
            chk = spot_check_integral(val, f, y, lo, hi, periodic=True)
            if chk.passed:
                return IntegralResult(val, "exact", chk)
        if beyond_elementary_periods(f, y):
            return IntegralResult(integral, "unevaluated",
                                  Check(f"integral over {y}", True, "numeric",
                                        "left unevaluated for quadrature: e^(trigonometric) of "
                                        "several harmonics or a Bessel function of y has no "
                                        "closed form that integrate or residues can find"))
        if sp.count_ops(f) < CANCEL_OPS and lo == 0:
            res, residues_exhausted = _period_integral_residues(f, y, hi - lo, budget)
            if res is not None:
                return IntegralResult(res[0], "exact", res[1],
                                      residue_conditions(f, y, hi - lo, res[2]))
    whole_even = lo == -sp.oo and hi == sp.oo and sp.expand(f.subs(y, -y) - f) == 0
    if lo == -sp.oo and hi == sp.oo and several_term_exponent(f, y):
        return IntegralResult(integral, "unevaluated",
                              Check(f"integral over {y}", True, "numeric",
                                    "left unevaluated for quadrature: e^(P(y)) with P of degree "
                                    ">= 3 and more than one power of y after the shift has no "
                                    "closed form in elementary functions, erf or Gamma"))
    if lo == 0 and hi == sp.oo or whole_even:
        signs: list[sp.Basic] = []
        val = gamma_integral(f, y, signs)
        if val is not None:
            val = 2 * val if whole_even else val
            chk = spot_check_integral(val, f, y, lo, hi)
            if chk.passed:
                return IntegralResult(val, "exact", chk, tuple(signs))
    if lo == -sp.oo and hi == sp.oo:
        if heavy_rational(f, y):
            return IntegralResult(integral, "unevaluated",
                                  Check(f"integral over {y}", True, "numeric",
                                        "left unevaluated: a rational integrand decaying like "
                                        "1/|y| or slower has no integral over the line (the "
                                        "caller's decay check names it)"))
        val = rational_line_integral(f, y)
        if val is not None:
            chk = spot_check_integral(val, f, y, lo, hi)
            if chk.passed:
                return IntegralResult(val, "exact", chk)
    erf_tails = not (lo.is_finite and hi.is_finite) and any(
        e.args[0].has(y) and not sp.expand(e.args[0]).is_polynomial(y) or
        e.args[0].is_polynomial(y) and sp.degree(e.args[0], y) > 1
        for e in f.atoms(sp.erf, sp.erfc))
    # erf of a nonlinear argument on an infinite range (the quartic potential's
    # e^{y^4/4} erfc(y^2/2)^2): no closed form integrate can find, straight to quadrature
    # a rational function of cos/sin whose residue sum reached the work limit: integrate
    # needs the same roots (of the same polynomial, in tan(pi y/L)) and an antiderivative
    # besides; it spent its whole budget on each such integrand (1.4-7 s), straight on
    val = (None if erf_tails or residues_exhausted
           else with_budget(_integrate_definite, (f, y, lo, hi), budget))
    if (val is not None and not val.has(sp.Integral, sp.nan, sp.zoo)
            and val.is_finite is not False):  # nan: SymPy lost the value (oo - oo)
        chk = spot_check_integral(val, f, y, lo, hi, periodic=periodic)
        if chk.passed:
            return IntegralResult(val, "integrate", chk)
    if f.has(sp.erf) and not (lo.is_finite and hi.is_finite):
        stable = stable_tail_form(f, y, lo, hi)
        return IntegralResult(stable, "unevaluated",
                              Check(f"integral over {y}", True, "numeric",
                                    "left unevaluated for quadrature, split at 0 with erf "
                                    "written through erfc on each half (no cancellation)"))
    conds = ()
    if periodic and lo == 0 and _laurent_form(f, y, hi) is not None:
        # a rational function of cos/sin: the integral exists where its denominator keeps
        # its sign over the cell (the side of a sample point with positive parameters)
        conds = _no_zero_in_cell(f, y, hi, _sample_point(f.free_symbols - {y}))
    return IntegralResult(integral, "unevaluated",
                          Check(f"integral over {y}", True, "numeric",
                                "left unevaluated for quadrature"
                                + ("; the residue sum reached its work limit, integrate (the "
                                   "same roots) not tried" if residues_exhausted else "")),
                          conds)


def _sample_point(symbols: set, seed: int = 7) -> dict[sp.Symbol, sp.Expr]:
    """Parameter values as the spot checks draw them: in [0.4, 1.6], negative for some
    symbols of undecided sign."""
    rng = random.Random(seed)
    out = {}
    for s in sorted(symbols, key=lambda t: t.name):
        v = sp.Rational(rng.randint(40, 160), 100)
        out[s] = v if (s.is_positive or s.is_nonnegative or rng.random() < 0.7) else -v
    return out


def odd_polynomial_exponent(f: sp.Expr, y: sp.Symbol) -> bool:
    r"""Whether ``f`` is :math:`Q(y)e^{P(y)}` (``Q``, ``P`` polynomials in ``y``, ``Q`` a sum
    of such terms with one ``P``) with :math:`\deg P \ge 3` and ``P`` not even after the
    shift :math:`y \to y - p_{n-1}/(n p_n)` that removes its second-highest power.

    :math:`\int_{\mathbb R} e^{-y^4/4 + y^2 - y}dy` (the Gibbs law of a tilted double
    well) is of this kind: no closed form in the special functions SymPy knows, and
    ``integrate`` spends its whole budget (about 12 s) on each; the even case
    :math:`e^{-y^4/4 - a y^2}` has one (Bessel functions of order 1/4) and is not
    matched here.
    """
    depressed = _depressed_exponent(f, y, numeric_only=True)
    return depressed is not None and any(c != 0 for (k,), c in depressed.terms()
                                         if k % 2 == 1)


def several_term_exponent(f: sp.Expr, y: sp.Symbol) -> bool:
    r"""Whether ``f`` is :math:`Q(y)e^{P(y)}` (as in :func:`odd_polynomial_exponent`) with
    :math:`\deg P \ge 3` and, after the shift that removes the second-highest power, more
    than one power of ``y`` in ``P``: a double well :math:`e^{-y^4/4 + cy^2/2}`.

    Its moments over the line are combinations of Bessel functions of order
    :math:`\pm 1/4, \pm 3/4` when ``P`` is an even quartic and have no closed form in
    the special functions SymPy knows otherwise; ``integrate`` takes 8-40 s on each, and a
    Bessel value is no more use downstream than quadrature, so it is not sought.
    """
    depressed = _depressed_exponent(f, y)
    return depressed is not None and sum(1 for (k,), c in depressed.terms()
                                         if k >= 1 and c != 0) > 1


def _depressed_exponent(f: sp.Expr, y: sp.Symbol, numeric_only: bool = False
                        ) -> sp.Poly | None:
    r"""For :math:`f = Q(y)e^{P(y)}` with polynomials :math:`Q \ne 0` and :math:`P` of degree
    :math:`n \ge 3`: :math:`P(y - p_{n-1}/(n p_n))` as a polynomial in ``y`` (the shift
    removes the second-highest power); None for any other ``f``, or, with
    ``numeric_only``, when the coefficients of ``P`` hold symbols."""
    exps = [e for e in f.atoms(sp.exp) if e.has(y)]
    if len(exps) != 1:
        return None
    P = exps[0].args[0]
    try:
        poly = sp.Poly(P, y)
        rest = sp.Poly(sp.cancel(f / exps[0]), y)
    except sp.PolynomialError:
        return None
    if rest.is_zero or poly.degree() < 3 or (numeric_only and poly.free_symbols_in_domain):
        return None
    n = poly.degree()
    coeffs = poly.all_coeffs()
    shift = coeffs[1] / (n * coeffs[0])
    return sp.Poly(sp.expand(P.subs(y, y - shift)), y)


def gamma_integral(f: sp.Expr, y: sp.Symbol,
                   conditions: list[sp.Basic] | None = None) -> sp.Expr | None:
    r""":math:`\int_0^\infty f\,dy` for sums of terms :math:`c\,y^{p}e^{-by}` by the Gamma
    function,

    .. math::

        \int_0^\infty y^{p}e^{-by}\,dy = \frac{\Gamma(p+1)}{b^{p+1}},
        \qquad p > -1,\ b > 0

    (Abramowitz & Stegun 6.1.1), or None when a term has another form or the signs of
    :math:`p + 1` and ``b`` are not known to be positive. Powers may come as
    :math:`e^{k\log y}` (the Gamma law of a CIR process,
    :math:`y^{2a/\sigma^2-1}e^{-2y/\sigma^2}`, on which ``integrate`` spends its whole
    budget and fails). The exponent may be :math:`-by^m` (``m`` a positive integer):
    :math:`\int_0^\infty y^p e^{-by^m}dy = \Gamma(\frac{p+1}{m})/(m\,b^{(p+1)/m})`
    (substitute :math:`u = y^m`), the quartic well's :math:`e^{-ay^4/4}`.

    With a list ``conditions``, signs SymPy cannot decide are appended to it as relations
    (``b > 0``, ``p + 1 > 0``: where the value holds) instead of giving None.
    """
    total = sp.S.Zero
    for term in sp.Add.make_args(sp.expand(f)):
        coeff, power, rate, m = sp.S.One, sp.S.Zero, sp.S.Zero, None
        for fac in sp.Mul.make_args(term):
            base, ex = fac.as_base_exp()
            if not fac.has(y):
                coeff *= fac
            elif base == y and not ex.has(y):
                power += ex
            elif isinstance(fac, sp.exp) or base == sp.E:
                arg = fac.args[0] if isinstance(fac, sp.exp) else ex
                for part in sp.Add.make_args(sp.expand(sp.expand_log(arg, force=False))):
                    c, rest = part.as_independent(y, as_Add=False)
                    deg = (rest.exp if isinstance(rest, sp.Pow) and rest.base == y
                           and rest.exp.is_Integer and rest.exp > 0 else 1 if rest == y
                           else None)
                    if rest == 1:
                        coeff *= sp.exp(part)
                    elif deg is not None and m in (None, deg):
                        rate -= c
                        m = deg
                    elif rest == sp.log(y):
                        power += c
                    else:
                        return None
            else:
                return None
        rate, m = sp.simplify(rate), m or 1
        for rel in (sp.StrictGreaterThan(sp.factor(power + 1), 0, evaluate=False),
                    sp.StrictGreaterThan(rate, 0, evaluate=False)):
            lhs = rel.lhs
            if lhs.is_positive:
                continue
            if conditions is None or lhs.is_nonpositive or not lhs.free_symbols:
                return None
            if rel not in conditions:
                conditions.append(rel)
        k = (power + 1) / m
        total += coeff * sp.gamma(k) / (m * rate ** k)
    return total


def bounded_on_finite_ranges(g: sp.Expr, y: sp.Symbol) -> bool:
    """Whether every term of ``g`` is a product of polynomials in ``y``, ``sin``/``cos`` of
    anything, and exponentials of polynomials (positive integer powers of these): bounded
    on every finite range, so its integral over a symmetric one may drop an odd part."""
    def ok(e: sp.Expr) -> bool:
        if not e.has(y) or e.is_polynomial(y) or isinstance(e, sp.sin | sp.cos):
            return True
        if isinstance(e, sp.exp):
            return e.args[0].is_polynomial(y)
        if isinstance(e, sp.Pow):
            return bool(e.exp.is_Integer and e.exp > 0) and ok(e.base)
        if isinstance(e, sp.Mul):
            return all(ok(a) for a in e.args)
        return False

    return all(ok(term) for term in sp.Add.make_args(g))


def gaussian_decay(g: sp.Expr, y: sp.Symbol, conditions: list[sp.Basic] | None = None
                   ) -> bool:
    r"""Whether every term of ``g`` is provably absolutely integrable on the whole line:
    :math:`p(y)\,b(y)\,e^{-P(y)}` with ``p`` a polynomial, ``b`` bounded (``sin``/``cos`` of
    anything, nested) and ``P`` a polynomial of even degree with a positive leading
    coefficient. Then :math:`\int g` over a symmetric range may drop the odd part.

    With a list ``conditions``, a leading coefficient of undecided sign is accepted and
    ``coefficient > 0`` appended to the list (where the integral exists at all)."""
    def bounded(e: sp.Expr) -> bool:
        if not e.has(y) or isinstance(e, sp.sin | sp.cos):
            return True
        if isinstance(e, sp.Pow):
            return bool(e.exp.is_Integer and e.exp > 0) and bounded(e.base)
        if isinstance(e, sp.Mul | sp.Add):
            return all(bounded(a) for a in e.args)
        return False

    for term in sp.Add.make_args(g):
        decay = False
        # one exponential per term (expand splits e^{-y^4/4 + y^2/2} into two factors)
        term = sp.powsimp(term, combine="exp")
        for fac in sp.Mul.make_args(term):
            if isinstance(fac, sp.exp) and fac.args[0].is_polynomial(y) and fac.has(y):
                P = sp.Poly(-fac.args[0], y)
                lead = P.LC()
                if P.degree() % 2 == 0 and P.degree() > 0 and lead.is_positive:
                    decay = True
                    continue
                if (P.degree() % 2 == 0 and P.degree() > 0 and conditions is not None
                        and lead.is_nonpositive is not True and lead.free_symbols):
                    rel = sp.StrictGreaterThan(lead, 0, evaluate=False)
                    if rel not in conditions:
                        conditions.append(rel)
                    decay = True
                    continue
                return False
            if not (fac.is_polynomial(y) or bounded(fac)):
                return False
        if not decay:
            return False
    return True


def logs_as_powers(f: sp.Expr, y: sp.Symbol) -> sp.Expr:
    r"""``f`` with each :math:`e^{c\log y + r}` written :math:`y^c e^{r}` (``y`` positive).

    Speed measures come as :math:`e^{\int 2b/a}`, e.g. the CIR process's
    :math:`e^{(2a/\sigma^2)\log y - 2y/\sigma^2}`; in that form ``integrate`` does not
    see the Gamma integral :math:`\int_0^\infty y^{p-1}e^{-by}dy = \Gamma(p)/b^p` and
    spent its whole budget (25 s). The identity :math:`e^{c\log y} = y^c` holds for
    ``y > 0``, so only a positive ``y`` is rewritten.
    """
    if not y.is_positive:
        return f

    def split(e: sp.Expr) -> sp.Expr:
        logs, rest = [], []
        for t in sp.Add.make_args(sp.expand(e.args[0])):
            c, r = t.as_independent(y, as_Add=False)
            (logs if r == sp.log(y) else rest).append((c, t))
        if not logs:
            return e
        return y ** sp.Add(*[c for c, _ in logs]) * sp.exp(sp.Add(*[t for _, t in rest]))

    return f.replace(lambda e: isinstance(e, sp.exp) and e.has(sp.log), split)


def freeze_constant_integrals(f: sp.Expr, y: sp.Symbol) -> tuple[sp.Expr, dict]:
    """``f`` with each unevaluated integral free of ``y`` (a normalisation ``Z``, an
    average) replaced by a real symbol, and the map that puts them back.

    They are constants for an integral over ``y``; left in place, SymPy's ``cancel`` and
    its sort keys evaluate them by quadrature at every step (minutes for a Gibbs law
    with several harmonics, whose ``Z`` has no closed form).
    """
    frozen = {I: sp.Dummy(f"I{k}", real=True)
              for k, I in enumerate(sorted(f.atoms(sp.Integral), key=sp.default_sort_key))
              if y not in I.free_symbols}
    return f.xreplace(frozen), {d: I for I, d in frozen.items()}


def beyond_elementary_periods(f: sp.Expr, y: sp.Symbol) -> bool:
    r"""Whether the period integrand ``f`` holds :math:`e^{g}` with ``g`` trigonometric in
    ``y``, or a Bessel function of ``y``, after :func:`period_integral_exact` failed on it.

    Its integral over a period is then not elementary (:math:`\int e^{\cos y + \cos 2y}
    dy`, :math:`\int e^{-\cos y} I_0(\sqrt{5/4 + \cos y})\,dy`, the normalisations of
    Gibbs laws on a torus whose potential does not separate): the residue route needs
    a rational function of :math:`e^{iy}`, and ``integrate`` spends its whole work
    budget (10-20 s each) before giving up. They are left to quadrature at once.
    """
    bessel = (sp.besseli, sp.besselj, sp.besselk, sp.bessely)
    if any(b.has(y) for b in f.atoms(*bessel)):
        return True
    return any(e.args[0].has(y) and e.args[0].has(sp.sin, sp.cos)
               for e in f.atoms(sp.exp))


def heavy_rational(f: sp.Expr, y: sp.Symbol) -> bool:
    """Whether ``f`` is rational in ``y`` with ``deg`` denominator < ``deg`` numerator + 2
    (with a nonzero leading coefficient): not absolutely integrable over the line."""
    if not f.is_rational_function(y):
        return False
    num, den = sp.fraction(sp.cancel(f))
    try:
        pn, pd = sp.Poly(num, y), sp.Poly(den, y)
    except sp.PolynomialError:
        return False
    return bool(pd.degree() < pn.degree() + 2 and pn.LC().is_nonzero and pd.LC().is_nonzero)


def rational_line_integral(f: sp.Expr, y: sp.Symbol) -> sp.Expr | None:
    r""":math:`\int_{-\infty}^{\infty} f\,dy` for a rational ``f`` with numeric
    denominator coefficients, no real pole and :math:`\deg` denominator :math:`\ge
    \deg` numerator + 2 (integrable; the Cauchy law's averages): the antiderivative by
    ``sympy.integrals.rationaltools.ratint`` (Hermite reduction and the
    Lazard-Rioboo-Trager logarithmic part, polynomial arithmetic) and its limits at
    :math:`\pm\infty`
    (:func:`limit_at`). None otherwise (a forked ``integrate`` took 3-12 s on each)."""
    if not f.is_rational_function(y):
        return None
    num, den = sp.fraction(sp.cancel(f))
    try:
        pn, pd = sp.Poly(num, y), sp.Poly(den, y)
    except sp.PolynomialError:
        return None
    if pd.free_symbols_in_domain or pd.degree() < pn.degree() + 2:
        return None
    if any(r.is_real for r in sp.Poly(pd, y).all_roots()) if pd.degree() <= 8 else True:
        return None
    from sympy.integrals.rationaltools import ratint

    F = with_budget(ratint, (sp.cancel(f), y), 2.0)
    if F is None:
        return None
    F = sp.expand_log(F, force=True)
    hi, lo = limit_at(F, y, sp.oo, 1.0), limit_at(F, y, -sp.oo, 1.0)
    if hi is None or lo is None or not (hi - lo).is_finite:
        return None
    return sp.simplify(hi - lo) if sp.count_ops(hi - lo) < 60 else hi - lo


#: rational integrands up to this many operations are split into partial fractions
APART_OPS = 300


def partial_fraction_antiderivative(f: sp.Expr, y: sp.Symbol) -> sp.Expr | None:
    r"""An antiderivative of a rational ``f`` whose denominator splits into linear factors
    over the coefficient field, or None.

    ``f`` is written in partial fractions, :math:`f = P(y) + \sum_{i,k} c_{ik}/(y -
    r_i)^k` (``sympy.apart``, polynomial arithmetic), and integrated term by term by
    :func:`table_antiderivative` (:math:`c\log(y - r)` for :math:`k = 1`); None when a
    term is not in the table (an irreducible quadratic factor, say) or ``f`` is not
    rational in ``y`` or has more than :data:`APART_OPS` operations. Returned only when
    its derivative cancels to ``f`` exactly. The 1-D PDMP quasipotential
    :math:`\int (k_{01}/f_0 + k_{10}/f_1)\,dz` is of this kind: ``integrate`` took 0.5-2.6 s
    (the Risch route with a Meijer-G attempt) for what takes 0.03 s here.

    Examples
    --------
    >>> import sympy as sp
    >>> y = sp.Symbol("y", real=True)
    >>> a, b = sp.symbols("a b", positive=True)
    >>> partial_fraction_antiderivative((a * y - a + b * y) / (y**2 - y), y)
    a*log(y) + b*log(y - 1)
    """
    f = sp.sympify(f)
    if not f.is_rational_function(y) or sp.count_ops(f) > APART_OPS:
        return None
    try:
        parts = sp.apart(sp.cancel(f), y)
    except (sp.PolynomialError, NotImplementedError):
        return None
    terms = [t for part in sp.Add.make_args(parts)
             for t in (sp.Add.make_args(sp.expand(part)) if part.is_polynomial(y) else (part,))]
    vals = []
    for term in terms:
        val = _table_term(term, y, refactor=False)
        if val is None:
            return None
        vals.append(val)
    F = sp.Add(*vals)
    if sp.cancel(sp.diff(F, y) - f) != 0:
        return None
    return F


def limit_at(e: sp.Expr, y: sp.Symbol, end: sp.Expr, budget: float = 4.0) -> sp.Expr | None:
    r""":math:`\lim_{y\to end} e` by structure where it is plain, or by a budgeted
    :func:`sympy.limit`; None when undecided (never an unevaluated ``Limit``).

    By structure: a factor free of ``y`` comes out (an unevaluated normaliser ``1/Z``
    stops ``limit``); a polynomial tends to :math:`p_n\cdot end^n`; ``erf``, ``erfc`` of a
    polynomial tending to :math:`\pm\infty` tend to :math:`\pm1` and :math:`1 \mp 1`;
    a sum tends to the sum of finite limits.
    """
    e = sp.sympify(e)
    if not e.has(y):
        return e
    const, rest = e.as_independent(y, as_Add=False)
    if const != 1:
        lim = limit_at(rest, y, end, budget)
        return None if lim is None else (const * lim if lim.is_finite else
                                         _signed_infinity(const, lim))
    if rest.is_polynomial(y):
        poly = sp.Poly(rest, y)
        if not end.is_infinite or poly.degree() == 0:
            return rest.subs(y, end) if not end.is_infinite else poly.LC()
        sign = poly.LC() * (1 if end == sp.oo else (-1) ** poly.degree())
        return _signed_infinity(sign, sp.oo)
    if isinstance(rest, sp.erf | sp.erfc) and end.is_infinite:
        inner = limit_at(rest.args[0], y, end, budget)
        if inner in (sp.oo, -sp.oo):
            one = 1 if inner == sp.oo else -1
            return sp.S(one) if isinstance(rest, sp.erf) else sp.S(1 - one)
    if isinstance(rest, sp.atan) and end.is_infinite:
        inner = limit_at(rest.args[0], y, end, budget)
        if inner in (sp.oo, -sp.oo):
            return sp.pi / 2 if inner == sp.oo else -sp.pi / 2
    if isinstance(rest, sp.Add):
        parts = [limit_at(t, y, end, budget) for t in rest.args]
        if all(p is not None and p.is_finite for p in parts):
            return sp.Add(*parts)
    lim = with_budget(sp.limit, (rest, y, end), budget)
    return None if lim is None or lim.has(sp.Limit) else lim


def _signed_infinity(sign: sp.Expr, lim: sp.Expr) -> sp.Expr | None:
    """``sign * lim`` for an infinite ``lim``, None when the sign is undecided."""
    if sign.is_positive:
        return lim
    if sign.is_negative:
        return -lim
    return None


def stable_tail_form(f: sp.Expr, y: sp.Symbol, lo: sp.Expr, hi: sp.Expr) -> sp.Expr:
    r""":math:`\int_{lo}^{hi} f\,dy` as unevaluated integrals that quadrature evaluates
    without cancellation, for integrands with ``erf`` on an infinite range.

    The 1-D cell problem on the line gives correctors such as
    :math:`e^{V}\int_{-\infty}^{y} s e^{-V}ds`, whose closed form for the quartic
    potential :math:`V = y^4/4` is :math:`-\frac{\sqrt\pi}{2}e^{V}(1 - \operatorname{erf}
    (y^2/2))`: expanded, it is a difference of numbers of size :math:`e^{y^4/4}` whose
    value is of size :math:`e^{-y^4/4}`, and quadrature returns garbage (the issue's
    ``nan``). On each half-line (the range is split at 0) every :math:`\operatorname{erf}(u)`
    is written as :math:`1 - \operatorname{erfc}(u)` where :math:`u\to+\infty` at the
    infinite end and as :math:`\operatorname{erfc}(-u) - 1` where :math:`u\to-\infty`,
    and the integrand is expanded, so that the cancelling terms cancel exactly
    (:math:`(1 - \operatorname{erf})^2 \to \operatorname{erfc}^2`), and ``erfc`` of a
    large argument is evaluated accurately. Mathematically the value is unchanged.
    """
    pieces = []
    halves = ((lo, sp.S.Zero), (sp.S.Zero, hi)) if (lo.is_infinite and hi.is_infinite) \
        else ((lo, hi),)
    even = len(halves) == 2 and lo == -hi and sp.expand(f.subs(y, -y) - f) == 0
    if even:  # f(-y) = f(y): twice the integral over (0, oo)
        halves = ((sp.S.Zero, hi),)
    for a, b in halves:
        end = a if a.is_infinite else b

        def rewrite(e: sp.Expr, end: sp.Expr = end) -> sp.Expr:
            u = e.args[0]
            lim = limit_at(u, y, end, 1.0)
            if lim == sp.oo:
                return 1 - sp.erfc(u)
            if lim == -sp.oo:
                return sp.erfc(-u) - 1
            return e

        g = f.replace(lambda e: isinstance(e, sp.erf) and e.has(y), rewrite)
        g = sp.expand(sp.powsimp(sp.expand(g), combine="exp"))
        g = sp.factor_terms(g)
        pieces.append(QuadratureIntegral(g, (y, a, b)))
    return 2 * pieces[0] if even else sp.Add(*pieces)


def _integrate_definite(f: sp.Expr, y: sp.Symbol, lo: sp.Expr, hi: sp.Expr) -> sp.Expr:
    res = sp.integrate(f, (y, lo, hi))
    if isinstance(res, sp.Piecewise):  # take the generic branch when conditions are assumptions
        res = res.args[0][0]
    return res


def antiderivative(f: sp.Expr, y: sp.Symbol, budget: float = INTEGRATE_BUDGET,
                   use_integrate: bool = True) -> sp.Expr | None:
    """An antiderivative ``F`` with ``F' = f`` (checked by differentiation), or None.

    The table of :func:`table_antiderivative` is tried in-process first; then, when
    ``use_integrate``, :func:`sympy.integrate` in a forked process within ``budget``
    units of work (millions of Python calls, see :func:`~symavg._sympy_util.with_budget`).
    """
    f = sp.sympify(f)
    if not f.has(y):
        return f * y
    const, rest = f.as_independent(y, as_Add=False)
    if const != 1:  # a constant factor (a normalisation): the same integral, remembered
        res = _antiderivative(rest, y, budget, use_integrate)
        return None if res is None else const * res
    return _antiderivative(f, y, budget, use_integrate)


@functools.lru_cache(maxsize=1024)
def _antiderivative(f: sp.Expr, y: sp.Symbol, budget: float,
                    use_integrate: bool) -> sp.Expr | None:
    from .._sympy_util import zero_check

    f, thaw = freeze_constant_integrals(f, y)
    if thaw:
        res = antiderivative(f, y, budget, use_integrate)
        return None if res is None else res.xreplace(thaw)
    res = table_antiderivative(f, y)
    if res is not None and zero_check("F' - f", sp.diff(res, y) - f, budget=2.0).passed:
        return res
    if any(e.args[0].has(y) and e.args[0].has(sp.sin, sp.cos) for e in f.atoms(sp.exp)):
        # g e^{T(y)}, T trigonometric: elementary only as R e^T with R' + R T' = g; the
        # table tried R constant (the chain rule); the rest is left to quadrature (a
        # budgeted integrate spent its whole budget, 30 s, on each such integrand)
        return None
    parts = exp_polynomial_parts(f, y)
    if parts is not None and sp.degree(parts[1], y) >= 3:
        # Q e^P with deg P >= 3: Liouville's rule decides (no budgeted integrate)
        res = exp_polynomial_antiderivative(*parts, y)
        if res is not None and zero_check("F' - f", sp.diff(res, y) - f, budget=2.0).passed:
            return res
        return None
    if not use_integrate:
        return None
    res = with_budget(sp.integrate, (f, y), budget)
    if res is None or res.has(sp.Integral):
        return None
    if isinstance(res, sp.Piecewise):
        res = res.args[0][0]
    if not zero_check("F' - f", sp.diff(res, y) - f, budget=2.0).passed:
        return None
    return res


def exp_polynomial_parts(f: sp.Expr, y: sp.Symbol) -> tuple[sp.Expr, sp.Expr] | None:
    """``(Q, P)`` with ``f = Q(y) e^{P(y)}``, both polynomials in ``y`` (one exponential
    common to every term), or None."""
    Q, P = sp.S.Zero, None
    for term in sp.Add.make_args(sp.expand(f)):
        term = sp.powsimp(term, combine="exp")
        exps = [a for a in sp.Mul.make_args(term) if isinstance(a, sp.exp) and a.has(y)]
        if len(exps) != 1:
            return None
        arg = sp.expand(exps[0].args[0])
        rest = sp.Mul(*[a for a in sp.Mul.make_args(term) if a is not exps[0]])
        if not (arg.is_polynomial(y) and rest.is_polynomial(y)):
            return None
        if P is None:
            P = arg
        elif sp.expand(arg - P) != 0:
            if sp.expand(arg - P).has(y):
                return None
            rest *= sp.exp(arg - P)  # the same exponential up to a constant factor
        Q += rest
    return (sp.expand(Q), P) if P is not None else None


def _liouville_polynomial(Q: sp.Expr, P: sp.Expr, y: sp.Symbol,
                          remainder: bool) -> tuple[sp.Expr, sp.Expr] | None:
    r"""A polynomial ``R`` with :math:`R' + RP' = Q - c` (``c`` a constant, 0 unless
    ``remainder``), by undetermined coefficients; ``(R, c)`` or None."""
    m = sp.degree(P, y) - 1
    n = max(sp.degree(Q, y) - m, 0)
    cs = sp.symbols(f"r0:{n + 1}", cls=sp.Dummy)
    c0 = sp.Dummy("c")
    R = sum((cs[k] * y**k for k in range(n + 1)), sp.S.Zero)
    eq = sp.expand(sp.diff(R, y) + R * sp.diff(P, y) - Q + (c0 if remainder else 0))
    unknowns = [*cs, c0] if remainder else list(cs)
    sol = sp.solve(sp.Poly(eq, y).coeffs(), unknowns, dict=True)
    if not sol:
        return None
    sol = sol[0]
    R = R.subs(sol).subs({k: 0 for k in unknowns})
    return sp.expand(R), (sp.sympify(sol.get(c0, 0)).subs({k: 0 for k in unknowns})
                          if remainder else sp.S.Zero)


def exp_polynomial_antiderivative(Q: sp.Expr, P: sp.Expr, y: sp.Symbol) -> sp.Expr | None:
    r""":math:`\int Q(y)e^{P(y)}dy` for polynomials ``Q``, ``P``, in elementary functions and
    ``erf``, or None when it has no such form.

    By Liouville's theorem (Rosenlicht, *Integration in finite terms*, Amer. Math. Monthly
    79, 1972, Sec. 4) the integral is elementary exactly when a polynomial ``R`` solves
    :math:`R' + RP' = Q`, and then it is :math:`Re^P`. Otherwise, when ``P`` is even and
    ``Q`` odd, :math:`u = y^2` gives :math:`\frac12\int\tilde Q(u)e^{\tilde P(u)}du` and
    the rule is applied again; for :math:`\deg\tilde P = 2` the remainder
    :math:`c\int e^{\alpha u^2 + \beta u + \gamma}du` is an ``erf`` (``erfi`` for
    :math:`\alpha > 0`). The double well's :math:`\int ye^{-y^4/4 + y^2/2}dy` is of this
    kind; :math:`\int e^{-y^4/4}dy` is not elementary and has no ``erf`` form: None,
    decided without calling ``integrate``, whose budget (5 units, 27 s at load 3) it used
    to exhaust on each.
    """
    Q, P = sp.expand(Q), sp.expand(P)
    if Q == 0:
        return sp.S.Zero
    deg = sp.degree(P, y)
    if deg < 2:
        return None
    if deg == 2:
        sol = _liouville_polynomial(Q, P, y, remainder=True)
        if sol is None:
            return None
        R, c = sol
        al, be, ga = (sp.Poly(P, y).coeff_monomial(y**k) for k in (2, 1, 0))
        shift = y + be / (2 * al)
        const = sp.exp(ga - be**2 / (4 * al))
        if (-al).is_positive:
            r = sp.sqrt(-al)
            gauss = const * sp.sqrt(sp.pi) / (2 * r) * sp.erf(r * shift)
        elif al.is_positive:
            r = sp.sqrt(al)
            gauss = const * sp.sqrt(sp.pi) / (2 * r) * sp.erfi(r * shift)
        else:
            return None
        return R * sp.exp(P) + c * gauss
    sol = _liouville_polynomial(Q, P, y, remainder=False)
    if sol is not None:
        return sol[0] * sp.exp(P)
    if sp.expand(P.subs(y, -y) - P) == 0 and sp.expand(Q.subs(y, -y) + Q) == 0:
        u = sp.Dummy("u")
        Qt = sp.expand(sp.cancel(Q / y)).subs(y**2, u)
        Pt = P.subs(y**2, u)
        if not (Qt.has(y) or Pt.has(y)):
            inner = exp_polynomial_antiderivative(sp.expand(Qt), sp.expand(Pt), u)
            if inner is not None:
                return inner.subs(u, y**2) / 2
    return None


def table_antiderivative(f: sp.Expr, y: sp.Symbol) -> sp.Expr | None:
    r"""Term-by-term antiderivative from a short table, or None.

    Each term of the expanded ``f`` must be :math:`c\,y^n` (:math:`n\ne-1`),
    :math:`c\sin(ky+b)`, :math:`c\cos(ky+b)`, or a chain-rule form
    :math:`c\,u'e^{u}`, :math:`c\,u'u^{p}` (:math:`\log u` for :math:`p=-1`)
    with ``c`` free of ``y``. These are the integrands of the speed measure and
    of the 1-D cell problem (e.g. :math:`\frac{2b}{a} = \frac{V_0\sin y}{D}`,
    :math:`\sin y\,e^{-V_0\cos y/D}`, :math:`\frac{a\sin y}{1+a\cos y}`); the
    table answers in milliseconds where a forked ``integrate`` takes ~0.3 s.
    The caller checks the result by differentiation.
    """
    expanded = sp.expand(f)
    splits = [sp.Add.make_args(f)]
    if expanded != f:
        splits.append(sp.Add.make_args(expanded))
    for terms in splits:
        vals = []
        for term in terms:
            val = _table_term(term, y)
            if val is None:
                break
            vals.append(val)
        else:
            return sp.Add(*vals)
    return None


def _table_term(term: sp.Expr, y: sp.Symbol, refactor: bool = True) -> sp.Expr | None:
    c, rest = term.as_independent(y, as_Add=False)
    if refactor and sp.count_ops(rest) < 80 and any(
            isinstance(f, sp.Pow) and f.exp.is_negative for f in sp.Mul.make_args(rest)):
        # a denominator: factor it first, so that (a cos y + a + 1)**2 expanded is seen as
        # a square and (a cos y + 1)(cos y + 1/a) as one base
        merged = sp.factor(rest)
        if merged != rest:
            val = _table_term(c * merged, y, refactor=False)
            if val is not None:
                return val
    if rest == 1:
        return term * y
    if rest == y:
        return c * y**2 / 2
    if isinstance(rest, sp.Pow) and rest.base == y and not rest.exp.has(y) and rest.exp != -1:
        return c * y ** (rest.exp + 1) / (rest.exp + 1)
    if isinstance(rest, sp.sin | sp.cos):
        arg = sp.expand(rest.args[0])
        k = arg.coeff(y)
        if k != 0 and not sp.expand(arg - k * y).has(y):
            return (-c * sp.cos(arg) if isinstance(rest, sp.sin) else c * sp.sin(arg)) / k
        return None
    gauss = _gaussian_substitution(rest, y)
    if gauss is not None:
        return c * gauss
    # chain rule: one factor g(u) (exp(u) or u**p) times a multiple of u'
    for fac in sp.Mul.make_args(rest):
        if isinstance(fac, sp.exp):
            u, outer = fac.args[0], fac
        elif isinstance(fac, sp.Pow) and fac.base.has(y) and not fac.exp.has(y):
            u, outer = fac.base, fac
        else:
            continue
        du = sp.diff(u, y)
        if du == 0:
            continue
        ratio = sp.cancel(rest / (outer * du))
        if ratio.has(y):
            continue
        if isinstance(fac, sp.exp):
            return c * ratio * fac
        p = fac.exp
        return c * ratio * (sp.log(u) if p == -1 else u ** (p + 1) / (p + 1))
    return None


def _gaussian_substitution(rest: sp.Expr, y: sp.Symbol) -> sp.Expr | None:
    r""":math:`\int y^{n/2-1} e^{k y^n}\,dy` by :math:`u = y^{n/2}` (``n`` a positive
    even integer, ``k`` of known sign, free of ``y``):

    .. math::

        \int y^{n/2-1}e^{k y^n}dy = \frac{2}{n}\int e^{k u^2}du
        = \frac{2}{n}\frac{\sqrt\pi}{2\sqrt{-k}}\operatorname{erf}(\sqrt{-k}\,u)
        \quad (k < 0),

    with :math:`\operatorname{erfi}` for :math:`k > 0`. The Gaussian (``n = 2``) and the
    quartic speed measure's :math:`y e^{-y^4/4}` (``n = 4``), which a budgeted
    ``integrate`` took 5-10 s to find; None for other forms.
    """
    factors = sp.Mul.make_args(rest)
    exps = [f for f in factors if isinstance(f, sp.exp)]
    if len(exps) != 1:
        return None
    others = sp.Mul(*[f for f in factors if f is not exps[0]])
    arg = sp.expand(exps[0].args[0])
    if not arg.is_polynomial(y):
        return None
    poly = sp.Poly(arg, y)
    n = poly.degree()
    if n < 2 or n % 2 or len(poly.terms()) != 1:
        return None
    k = poly.LC()
    m = sp.S(n // 2 - 1)
    if sp.simplify(others - y**m) != 0:
        return None
    u = y ** (n // 2)
    if (-k).is_positive:
        r = sp.sqrt(-k)
        return sp.Rational(2, n) * sp.sqrt(sp.pi) / (2 * r) * sp.erf(r * u)
    if k.is_positive:
        r = sp.sqrt(k)
        return sp.Rational(2, n) * sp.sqrt(sp.pi) / (2 * r) * sp.erfi(r * u)
    return None


# ---------------------------------------------------------------- exact routes
def period_integral_exact(f: sp.Expr, y: sp.Symbol, L: sp.Expr) -> sp.Expr | None:
    r"""Exact :math:`\int_0^L f\,dy` for ``L``-periodic integrands of known forms.

    Handles finite sums of terms ``c * g(y) * exp(kappa*cos(w*y + phi))``
    (``sin`` too) with ``g`` a product of ``cos``/``sin`` of multiples of
    ``w*y`` and ``c`` free of ``y``, where ``w = 2*pi*m/L``; plain
    trigonometric polynomials are the case ``kappa = 0``. Returns None when
    the integrand has another form.
    """
    f = sp.expand(sp.powsimp(sp.expand(f), combine="exp"))
    total = sp.S.Zero
    for term in sp.Add.make_args(f):
        val = _period_term(term, y, L)
        if val is None:
            return None
        total += val
    return total


def _period_term(term: sp.Expr, y: sp.Symbol, L: sp.Expr) -> sp.Expr | None:
    coeff, rest = term.as_independent(y, as_Add=False)
    if rest == 1:
        return coeff * L
    exp_arg = sp.S.Zero
    trig: list[sp.Expr] = []
    for fac in sp.Mul.make_args(rest):
        base, ex = fac.as_base_exp()
        if isinstance(fac, sp.exp) or (base == sp.E):
            exp_arg += fac.args[0] if isinstance(fac, sp.exp) else ex
        elif isinstance(base, sp.cos | sp.sin) and ex.is_Integer and ex > 0:
            trig.extend([base] * int(ex))
        else:
            return None
    # exp argument must be one harmonic R cos(w y + phi); trig factors of the same frequency
    if exp_arg == 0:
        return _fourier_route(coeff, trig, y, L)
    parts = sp.Add.make_args(sp.expand(exp_arg))
    coeff *= sp.exp(sum((p for p in parts if not p.has(y)), sp.S.Zero))
    harmonic = single_harmonic([p for p in parts if p.has(y)], y)
    if harmonic is None:
        return None
    kappa, w, rotation = harmonic
    return _fourier_route(coeff, trig, y, L, kappa=kappa, w=w, rotation=rotation)


def single_harmonic(terms: list[sp.Expr], y: sp.Symbol
                    ) -> tuple[sp.Expr, sp.Expr, sp.Expr | tuple[sp.Expr, sp.Expr]] | None:
    r"""Write a sum of terms :math:`k_j\cos(\pm w y + \varphi_j)`, :math:`k_j\sin(\pm w y +
    \varphi_j)` (one frequency ``w``; ``k_j``, :math:`\varphi_j` free of ``y``) as one
    harmonic :math:`R\cos(w y + \phi)`.

    With :math:`\sum_j = A\cos wy + B\sin wy` (expand each term's cosine of a sum),

    .. math::

        A\cos wy + B\sin wy = R\cos(wy + \phi),\qquad R = \sqrt{A^2 + B^2},\qquad
        e^{-i\phi} = \frac{A + iB}{R}.

    Returns ``(R, w, rotation)``, or None when the terms are not of this form. For one
    term, ``rotation`` is :math:`e^{-i\phi}` and ``R`` the term's own coefficient (which
    may be negative); otherwise it is the pair ``(A, B)``, with :math:`e^{-in\phi} =
    (A + iB)^n/R^n` expanded by the caller (no ``atan2`` of the parameters appears).
    """
    A = B = sp.S.Zero
    w = None
    for term in terms:
        k, tr = term.as_independent(y, as_Add=False)
        if not isinstance(tr, sp.cos | sp.sin):
            return None
        lin = sp.expand(tr.args[0])
        wj = lin.coeff(y)
        phi = sp.expand(lin - wj * y)
        if wj == 0 or phi.has(y):
            return None
        if w is None:
            w = sp.Abs(wj) if wj.is_number else wj
        sign = sp.simplify(wj / w)
        if sign not in (1, -1):
            return None
        # cos(s w y + phi) = cos(phi) cos(wy) - s sin(phi) sin(wy)
        # sin(s w y + phi) = sin(phi) cos(wy) + s cos(phi) sin(wy)
        if isinstance(tr, sp.cos):
            A, B = A + k * sp.cos(phi), B - sign * k * sp.sin(phi)
        else:
            A, B = A + k * sp.sin(phi), B + sign * k * sp.cos(phi)
    if w is None:
        return None
    if len(terms) == 1:  # k cos(s w y + phi) = k cos(w y + s phi); sin(t) = cos(t - pi/2)
        phi = sign * phi - (sp.pi / 2 if isinstance(tr, sp.sin) else 0)
        if isinstance(tr, sp.sin) and sign == -1:
            k = -k  # sin(-w y + phi) = -sin(w y - phi)
        return k, w, sp.exp(-sp.I * phi)
    # A cos wy + B sin wy = R cos(wy + phi) with R cos(phi) = A, R sin(phi) = -B
    A, B = sp.simplify(A), sp.simplify(B)
    if B == 0:
        return A, w, sp.S.One
    return sp.sqrt(sp.simplify(A**2 + B**2)), w, (A, B)


def _fourier_route(coeff: sp.Expr, trig: list[sp.Expr], y: sp.Symbol, L: sp.Expr,
                   kappa: sp.Expr = 0, w: sp.Expr | None = None,
                   rotation: sp.Expr | tuple[sp.Expr, sp.Expr] = 1) -> sp.Expr | None:
    r"""Expand the trig factors in exponentials :math:`e^{i n w y}` and integrate term by
    term against :math:`e^{\kappa\cos(w y + \phi)}`, ``rotation`` :math:`= e^{-i\phi}`."""
    g = sp.Mul(*trig)
    g_exp = sp.expand(g.rewrite(sp.exp))
    total = sp.S.Zero
    for t in sp.Add.make_args(g_exp):
        c, e = t.as_independent(y, as_Add=False)
        if e == 1:
            nu = sp.S.Zero
        else:
            base, ex = e.as_base_exp()
            arg = e.args[0] if isinstance(e, sp.exp) else (ex if base == sp.E else None)
            if arg is None:
                return None
            nu = sp.expand(arg).coeff(y)  # e^{nu y}, nu = i * frequency
            if sp.expand(arg - nu * y).has(y):
                return None
        freq = sp.simplify(nu / sp.I)  # the angular frequency of this mode
        if w is None or kappa == 0:
            # trigonometric polynomial with uniform weight: only the zero mode survives
            if freq == 0:
                total += c * L
            else:
                # a nonzero mode integrates to zero over whole periods (L*freq/(2 pi) integer)
                cycles = sp.simplify(freq * L / (2 * sp.pi))
                if not cycles.is_integer:
                    return None
            continue
        n = sp.simplify(freq / w)
        cycles = sp.simplify(w * L / (2 * sp.pi))
        if not (n.is_integer and cycles.is_integer and cycles != 0):
            return None
        # int_0^L e^{i n w y} e^{kappa cos(w y + phi)} dy = L * e^{-i n phi} * I_n(kappa)
        if isinstance(rotation, tuple):  # e^{-i n phi} = (A + iB)^n / R^n, R = kappa
            A, B = rotation
            turn = (A + sp.I * sp.sign(n) * B) ** abs(n) / kappa ** abs(n)
        else:
            turn = rotation**n
        total += c * L * turn * sp.besseli(sp.Abs(n), kappa)
    if isinstance(rotation, tuple):  # A, B, kappa real: keep the real part, which is all of it
        res = sp.expand(coeff * total)
        imag = res.coeff(sp.I)
        if sp.simplify(imag) != 0:
            return None
        return sp.factor_terms(sp.expand(res - sp.I * imag))
    res = coeff * total
    res = sp.expand_complex(res) if res.has(sp.I) else res
    if res.has(sp.I):
        res = sp.simplify(res)
    return res if not res.has(sp.I) else None


def period_integral_rational(f: sp.Expr, y: sp.Symbol, L: sp.Expr) -> sp.Expr | None:
    r"""Exact :math:`\int_0^L f\,dy` for ``f`` rational in :math:`\cos, \sin` of
    multiples of :math:`2\pi y/L` whose poles off :math:`z=0` carry no residue.

    With :math:`z = e^{2\pi i y/L}`, :math:`\int_0^L f\,dy = L\sum_{|z_p|<1}
    \operatorname{Res}_{z_p} R`, :math:`R(z) = F(z)/z`. Hermite reduction
    (:func:`sympy.integrals.rationaltools.ratint_ratpart`, no root finding)
    writes :math:`R = q + G' + C/Q` with ``q`` a polynomial, ``Q`` square-free;
    ``q`` and :math:`G'` have no residues. When :math:`Q \propto z`, the only
    residue is the one at :math:`z = 0`, which lies inside the circle whatever
    the parameters, and the integral is :math:`L\,C(0)/Q'(0)`. This covers
    trigonometric polynomials after cancellation
    (:math:`\frac{a\cos y}{1+a\cos y} + \frac{1}{1+a\cos y} = 1`) and
    derivatives of periodic functions
    (:math:`\frac{a+\cos y}{(1+a\cos y)^2} = \frac{d}{dy}\frac{\sin y}{1+a\cos y}`),
    which is how the integrals of the 1-D periodic cell problem look before
    integration by parts. The value holds for every parameter value at which
    the integral exists (no pole on the unit circle, i.e. no real singularity
    of ``f``), since the residues off :math:`z=0` vanish wherever the poles are.
    Returns None otherwise (a residue at a pole whose position relative to the
    unit circle depends on the parameters).
    """
    from sympy.integrals.rationaltools import ratint_ratpart

    # constant square roots (sqrt(C**2 - 1) from a corrector) as free generators: the
    # reduction is an identity of rational functions in them, valid at their values, and
    # a polynomial domain instead of EX (whose simplify took seconds per call)
    surds = {a: sp.Dummy("r", positive=True) for a in sp.sympify(f).atoms(sp.Pow)
             if a.exp.is_Rational and a.exp.q == 2 and not a.has(y)}
    if surds:
        val = period_integral_rational(sp.sympify(f).xreplace(surds), y, L)
        return None if val is None else val.xreplace({d: a for a, d in surds.items()})
    u = sp.Dummy("u", real=True)
    z = sp.Dummy("z")
    g = sp.sympify(f).subs(y, u * L / (2 * sp.pi))
    if not g.has(u):
        return sp.expand(f * L)

    def to_z(e: sp.Expr) -> sp.Expr:
        # cos(n u + c), sin(n u + c), exp(i n u + c) with integer n: powers of z
        arg = sp.expand(e.args[0])
        n = arg.coeff(u)
        rest = arg - n * u
        if isinstance(e, sp.exp):
            n, rest = n / sp.I, sp.exp(rest)
        if rest.has(u) or not n.is_integer:
            return e
        if isinstance(e, sp.exp):
            return rest * z**n
        w, wi = sp.exp(sp.I * rest) * z**n, sp.exp(-sp.I * rest) * z**-n
        return (w + wi) / 2 if isinstance(e, sp.cos) else (w - wi) / (2 * sp.I)

    g = g.replace(lambda e: isinstance(e, sp.cos | sp.sin | sp.exp) and e.has(u), to_z)
    if g.has(u):
        return None
    num, den = sp.fraction(sp.cancel(g / z))
    try:
        pn = sp.Poly(num, z)
        pd = sp.Poly(den, z)
    except sp.PolynomialError:
        return None
    _, rem = sp.div(pn, pd)
    if rem.is_zero:
        return sp.S.Zero
    if len(pd.terms()) == 1:  # R is a Laurent polynomial: the 1/z coefficient
        ((k,), c) = pd.terms()[0]
        res = rem.coeff_monomial(z ** (k - 1)) / c
    else:
        _, part = ratint_ratpart(rem.as_expr(), pd.as_expr(), z)
        cn, cd = sp.fraction(sp.cancel(part))
        if cn == 0:
            return sp.S.Zero
        qd = sp.Poly(cd, z)
        if qd.degree() != 1 or qd.coeff_monomial(1) != 0:
            return None
        res = sp.Poly(cn, z).eval(0) / qd.coeff_monomial(z)
    val = sp.expand(L * res)
    if val.has(sp.I):
        val = sp.expand_complex(val)
        if val.has(sp.I):
            return None
    return val


def admissible_points(f: sp.Expr, y: sp.Symbol, L: sp.Expr, count: int = 3,
                      tries: int = 40, seed: int = 11) -> list[dict[sp.Symbol, sp.Rational]]:
    """Random parameter points (respecting sign assumptions) at which ``f`` is finite
    on a grid of the period: where the integral over the period exists."""
    import numpy as np

    L = sp.sympify(L)
    syms = sorted(f.free_symbols - {y}, key=str)
    rng = random.Random(seed)
    out: list[dict[sp.Symbol, sp.Rational]] = []
    ts = np.linspace(0.0, 1.0, 97)
    for _ in range(tries):
        pt = {}
        for s in syms:
            v = sp.Rational(rng.randint(11, 400), 100)
            pt[s] = v if (s.is_positive or s.is_nonnegative or rng.random() < 0.7) else -v
        try:
            Ln = float(L.subs(pt))
            g = sp.lambdify(y, f.subs(pt), "numpy")
            vals = np.asarray(g(ts * Ln), dtype=complex)
        except (TypeError, ValueError, ZeroDivisionError, NameError,
                sp.printing.codeprinter.PrintMethodNotImplementedError):
            continue
        if np.all(np.isfinite(vals)) and np.max(np.abs(vals)) < 1e8:
            out.append(pt)
            if len(out) == count:
                break
    return out


def period_integral_residues(f: sp.Expr, y: sp.Symbol, L: sp.Expr,
                             budget: float = INTEGRATE_BUDGET) -> tuple[sp.Expr, Check] | None:
    r""":math:`\int_0^L f\,dy` for ``f`` rational in :math:`\cos, \sin` of multiples of
    :math:`2\pi y/L`, by residues, with the poles' positions decided at admissible points.

    With :math:`z = e^{2\pi i y/L}`,

    .. math::

        \int_0^L f\,dy = L\sum_{|z_p|<1}\operatorname{Res}_{z_p}\frac{F(z)}{z}.

    Which poles lie inside the unit circle is decided at a random parameter point
    where ``f`` has no real singularity (:func:`admissible_points`); the value holds
    in the region of such points connected to it (e.g. :math:`C > 1` for
    :math:`1/(C + \cos 2\pi y)`, where it is :math:`1/\sqrt{C^2-1}`) and is checked
    against quadrature at up to three admissible points. This is the one home of the
    residue rule: the periodic cell problem (:mod:`symavg.spatial.cell`) uses it too.
    Returns ``(value, check, point)`` (``point`` the parameter values at which the poles
    were placed; :func:`residue_conditions` turns it into the region), or None when ``f``
    is not of this form, a pole lies on the circle at the chosen point, or the check fails.

    Examples
    --------
    >>> import sympy as sp
    >>> from symavg.derive.integrals import period_integral_residues
    >>> y = sp.Symbol("y", real=True)
    >>> C = sp.Symbol("C", positive=True)
    >>> period_integral_residues(1 / (C + sp.cos(2 * sp.pi * y)), y, 1)[0]
    1/sqrt(C**2 - 1)
    """
    return _period_integral_residues(f, y, L, budget)[0]


def _period_integral_residues(f: sp.Expr, y: sp.Symbol, L: sp.Expr, budget: float
                              ) -> tuple[tuple[sp.Expr, Check, dict] | None, bool]:
    """:func:`period_integral_residues` and whether its residue sum reached the work limit
    (then ``sympy.integrate``, which must find the same roots of the same polynomial through
    an antiderivative in ``tan``, is not tried with the same budget)."""
    from .. import _sympy_util

    f, L = sp.sympify(f), sp.sympify(L)
    if f.has(sp.Integral, AppliedUndef) or not rational_in_harmonics(f, y, L):
        return None, False  # residue_integral would return None
    points = admissible_points(f, y, L)
    if not points:
        return None, False
    out = _sympy_util.run_budgeted(residue_integral, (f, y, L, points[0]), budget)
    if out.status != "ok" or out.value is None:
        return None, out.status == "limit"
    val = out.value
    chk = _check_at_points(val, f, y, L, points)
    return ((val, chk, points[0]) if chk.passed else None), False


def rational_in_harmonics(f: sp.Expr, y: sp.Symbol, L: sp.Expr) -> bool:
    r"""Whether ``f`` is a rational function of :math:`z = e^{2\pi i y/L}` (of ``cos``,
    ``sin`` of multiples of :math:`2\pi y/L`), the class of :func:`residue_integral`: a
    cheap in-process test before its forked, budgeted call (``cos(sin y)`` is not)."""
    form = _laurent_form(f, y, sp.sympify(L))
    return form is not None and form[0].is_rational_function(form[1])


def _laurent_form(f: sp.Expr, y: sp.Symbol, L: sp.Expr) -> tuple[sp.Expr, sp.Symbol] | None:
    r"""``F(z)/z`` with :math:`z = e^{2\pi i y/L}` for ``f`` rational in ``cos``, ``sin`` of
    multiples of :math:`2\pi y/L`, together, and ``z``; None for another form."""
    z = sp.Dummy("z")
    u = sp.Dummy("u", real=True)
    g = sp.sympify(f).subs(y, u * L / (2 * sp.pi)).rewrite(sp.exp)
    g = sp.expand_power_exp(sp.expand(g))

    def to_z(e: sp.Expr) -> sp.Expr:
        n = sp.simplify(e.args[0] / (sp.I * u))
        return z**n if (n.is_integer and not n.has(u)) else e

    g = g.replace(lambda e: isinstance(e, sp.exp) and e.has(u), to_z)
    if g.has(u) or g.has(sp.Piecewise):
        return None
    return sp.together(g / z), z


class CellMinimum(sp.Function):
    r""":math:`\min_{0 \le y \le L} g(y)`: the smallest value of a function of one periodic
    variable over its cell, a validity condition's left side (``CellMinimum(g, y, L) > 0``:
    ``g`` has no zero in the cell).

    It stays unevaluated while ``g`` or ``L`` holds a parameter, and becomes a number once
    they hold none (a grid of 2048 points over the cell, the smallest refined by
    :func:`scipy.optimize.minimize_scalar` on the neighbouring interval), so
    ``EffectiveModel.check_validity`` decides it at the values it is given. ``y`` is bound:
    it is not among the free symbols.

    Examples
    --------
    >>> import sympy as sp
    >>> from symavg.derive.integrals import CellMinimum
    >>> y, C = sp.symbols("y C", real=True)
    >>> g = C + sp.cos(2 * sp.pi * y) + sp.cos(4 * sp.pi * y) / 4
    >>> CellMinimum(g, y, 1).free_symbols
    {C}
    >>> float(CellMinimum(g.subs(C, 2), y, 1))     # 2 + t + (2 t^2 - 1)/4 at t = cos = -1
    1.25
    """

    nargs = 3

    @classmethod
    def eval(cls, g: sp.Expr, y: sp.Symbol, L: sp.Expr) -> sp.Expr | None:
        if not isinstance(y, sp.Symbol):
            raise TypeError("CellMinimum(g, y, L): y must be a symbol")
        if (g.free_symbols - {y}) or not L.is_number or L.has(sp.Integral):
            return None
        import numpy as np
        from scipy.optimize import minimize_scalar

        length = float(L)
        fn = sp.lambdify([y], g, "numpy")
        grid = np.linspace(0.0, length, 2049)
        vals = np.broadcast_to(np.asarray(fn(grid), dtype=float), grid.shape)
        k = int(np.argmin(vals))
        h = length / 2048
        res = minimize_scalar(lambda t: float(fn(t)), bounds=(grid[k] - h, grid[k] + h),
                              method="bounded", options={"xatol": 1e-12})
        return sp.Float(min(float(vals[k]), float(res.fun)))

    @property
    def free_symbols(self) -> set:
        g, y, L = self.args
        return (g.free_symbols - {y}) | L.free_symbols

    def _latex(self, printer: object) -> str:
        g, y, L = self.args
        p = printer._print  # type: ignore[attr-defined]
        return rf"\min_{{{p(y)} \in [0, {p(L)}]}} \left({p(g)}\right)"


def _no_zero_in_cell(f: sp.Expr, y: sp.Symbol, L: sp.Expr,
                     point: dict[sp.Symbol, sp.Expr]) -> tuple[sp.Basic, ...]:
    """The condition that the denominator of ``f`` keeps, over the cell, the sign it has
    at ``point``: ``CellMinimum(s * den, y, L) > 0`` (no pole crosses the unit circle);
    ``()`` when the denominator holds no parameter."""
    den = sp.fraction(sp.together(sp.sympify(f)))[1]
    if not (den.free_symbols - {y}):
        return ()
    at = complex(sp.N(den.subs(point).subs(y, sp.sympify(L) / 7)))
    if abs(at.imag) > 1e-12 or at.real == 0:
        return ()
    side = 1 if at.real > 0 else -1
    return (sp.StrictGreaterThan(CellMinimum(side * den, y, L), 0),)


def residue_conditions(f: sp.Expr, y: sp.Symbol, L: sp.Expr,
                       point: dict[sp.Symbol, sp.Expr]) -> tuple[sp.Basic, ...]:
    r"""Where the residue value of :func:`period_integral_residues` holds, as relations.

    With :math:`z^kq(z)` the denominator of :math:`F(z)/z`, the value is the same for
    every parameter value at which the same poles lie inside the unit circle; it changes
    only where a pole crosses the circle, i.e. where ``f`` has a real singularity. For an
    integrand whose denominator is (a power of) one first harmonic
    :math:`A + B\cos\theta + C\sin\theta`, :math:`q` is the quadratic
    :math:`\frac{B - iC}{2}z^2 + Az + \frac{B + iC}{2}` (up to a constant), whose roots
    :math:`r, 1/\bar r` lie on the circle exactly when its discriminant
    :math:`A^2 - B^2 - C^2` is :math:`\le 0`: the condition is that the discriminant of
    ``q`` keeps the sign it has at ``point`` (a constant factor of ``q`` scales it by a
    square, which may be negative for a complex factor; for
    :math:`1/(C + \cos 2\pi y)`: :math:`C^2 - 1 > 0`). For every other ``q`` (several
    harmonics) the condition is that the denominator keeps its sign over the cell,
    ``CellMinimum(s * den, y, L) > 0`` (:class:`CellMinimum`, decided at numeric values):
    no pole crosses the circle. It is necessary; the value was also checked by
    quadrature at up to three admissible points.
    """
    form = _laurent_form(f, y, sp.sympify(L))
    if form is None:
        return ()
    F, z = form
    _, den = sp.fraction(F)
    try:
        P = sp.Poly(den, z)
    except sp.PolynomialError:
        return ()
    k0 = min(m[0] for m in P.monoms())
    q = sp.Poly(sp.cancel(P.as_expr() / z**k0), z)
    sqf = sp.Poly(sp.prod(fac.as_expr() for fac, _ in sp.factor_list(q)[1]), z)
    if sqf.degree() != 2:
        return _no_zero_in_cell(f, y, L, point)
    disc = sp.factor(sp.expand(sqf.discriminant()))
    if not disc.free_symbols:
        return ()
    if disc.has(sp.I):
        return _no_zero_in_cell(f, y, L, point)
    # q is self-reciprocal up to a constant factor, whose square (real, of either sign for a
    # complex factor such as -i) scales the discriminant: the side is the point's side
    side = sp.sign(sp.N(disc.subs(point)))
    if side == 0:  # pragma: no cover - the point has no pole on the circle
        return ()
    return (sp.StrictGreaterThan(sp.factor(side * disc), 0, evaluate=False),)


def residue_integral(f: sp.Expr, y: sp.Symbol, L: sp.Expr,
                     point: dict[sp.Symbol, float]) -> sp.Expr | None:
    """The residue sum of :func:`period_integral_residues` with the poles' positions decided
    at ``point`` (unchecked)."""
    L = sp.sympify(L)
    form = _laurent_form(f, y, L)
    if form is None:
        return None
    F, z = form
    num, den = sp.fraction(F)
    try:
        P = sp.Poly(den, z)
        sp.Poly(num, z)
    except sp.PolynomialError:
        return None
    N = sp.Poly(num, z)
    k0 = min(m[0] for m in P.monoms())  # the pole at z = 0 has order k0 (P = z^k0 q)
    q = sp.Poly(sp.cancel(P.as_expr() / z**k0), z)
    total = sp.S.Zero
    if k0:
        total += laurent_residue_at_zero(N, q, k0)
    rts = sp.roots(q) if q.degree() > 0 else {}
    if sum(rts.values()) != q.degree():
        return None
    for r, mult in rts.items():
        rv = abs(complex(sp.N(r.subs(point))))
        if abs(rv - 1) < 1e-9:
            return None
        if rv < 1:
            if mult == 1:  # simple pole: N(r) / P'(r)
                r = merge_square_roots(r)
                total += N.as_expr().subs(z, r) / P.diff(z).as_expr().subs(z, r)
            else:
                total += sp.residue(F, z, r)
    total = reduce_square_roots(L * total)
    if sp.count_ops(total) > 40:
        total = sp.simplify(total)
    if total.has(sp.I):
        total = sp.simplify(sp.expand_complex(total))
    return None if total.has(sp.I) else total


def merge_square_roots(e: sp.Expr) -> sp.Expr:
    r"""Write each product :math:`\sqrt{a}\sqrt{b}\cdots` in ``e`` as one square root
    :math:`\sqrt{ab\cdots}` where that is exact: when all the radicands but at most one
    are provably nonnegative (principal branches: :math:`\sqrt{a}\sqrt{b} = \sqrt{ab}`
    for :math:`b \ge 0`). ``roots`` gives :math:`-C + \sqrt{C-1}\sqrt{C+1}` for
    :math:`z^2 + 2Cz + 1` with ``C`` positive; merged, it meets the
    :math:`\sqrt{C^2-1}` of the integrand as one surd."""
    def merge(m: sp.Expr) -> sp.Expr:
        roots = [f for f in m.args if isinstance(f, sp.Pow) and f.exp == sp.S.Half]
        if len(roots) < 2 or sum(not f.base.is_nonnegative for f in roots) > 1:
            return m
        rest = [f for f in m.args if f not in roots]
        return sp.Mul(*rest, sp.sqrt(sp.expand(sp.Mul(*(f.base for f in roots)))))

    return e.replace(lambda a: isinstance(a, sp.Mul), merge)


def reduce_square_roots(e: sp.Expr) -> sp.Expr:
    r"""``e``, rational in its symbols and square roots :math:`s = \sqrt{D}`, in lowest
    terms with rational denominators: each :math:`s` in turn is a generator with
    :math:`s^2 = D`; numerator and denominator are reduced modulo :math:`s^2 - D` and
    the denominator :math:`a + bs` is rationalised by :math:`a - bs`
    (:math:`(a + bs)(a - bs) = a^2 - b^2 D`). Exact; polynomial arithmetic only
    (``radsimp`` took a minute on the residue sum of the harmonic mean with a symbolic
    contrast).
    """
    e = sp.cancel(merge_square_roots(sp.sympify(e)))
    surds = sorted({a.base for a in e.atoms(sp.Pow)
                    if a.exp.is_Rational and a.exp.q == 2 and not a.base.has(sp.I)},
                   key=sp.default_sort_key)
    for D in surds:
        s = sp.Dummy("s")
        g = e.replace(lambda a, D=D: isinstance(a, sp.Pow) and a.base == D
                      and a.exp.is_Rational and a.exp.q == 2,
                      lambda a, s=s: s ** (2 * a.exp))
        g = sp.cancel(g)
        if not g.has(s):
            e = g
            continue
        num, den = sp.fraction(g)
        try:
            mod = sp.Poly(s**2 - D, s)
            pn = sp.Poly(num, s).rem(mod)
            pd = sp.Poly(den, s).rem(mod)
        except sp.PolynomialError:
            continue
        b, a = pd.coeff_monomial(s), pd.coeff_monomial(1)
        if b != 0:
            pn = (pn * sp.Poly(a - b * s, s)).rem(mod)
            pd = sp.Poly(sp.expand(a**2 - b**2 * D), s)
        e = sp.cancel(pn.as_expr() / pd.as_expr()).xreplace({s: sp.sqrt(D)})
    return e


def laurent_residue_at_zero(N: sp.Poly, q: sp.Poly, k: int) -> sp.Expr:
    r"""The residue at :math:`z = 0` of :math:`N(z) / (z^k q(z))` with :math:`q(0) \ne 0`.

    It is the coefficient of :math:`z^{k-1}` in :math:`N/q`: with :math:`1/q = \sum_j c_j
    z^j`, :math:`c_0 = 1/q_0`, :math:`c_j = -\frac{1}{q_0}\sum_{i=1}^{j} q_i c_{j-i}`
    (polynomial arithmetic, no series expansion), it is
    :math:`\sum_{i=0}^{k-1} N_i c_{k-1-i}`.
    """
    z = q.gen
    qc = [q.coeff_monomial(z**i) for i in range(k)]
    c: list[sp.Expr] = [1 / qc[0]]
    for j in range(1, k):
        c.append(sp.cancel(-sum(qc[i] * c[j - i] for i in range(1, j + 1)) / qc[0]))
    return sp.cancel(sum(N.coeff_monomial(z**i) * c[k - 1 - i] for i in range(k)))


def _check_at_points(val: sp.Expr, f: sp.Expr, y: sp.Symbol, L: sp.Expr,
                     points: list[dict]) -> Check:
    worst = 0.0
    for p in points:
        try:
            exact = complex(sp.N(val.subs(p), 20))
            num = _quad_value(f.subs(p), y, 0.0, float(L.subs(p)), periodic=True)
        except (TypeError, ValueError, ZeroDivisionError, OverflowError):
            return Check(f"integral over {y}", False, "numeric", "could not be evaluated")
        worst = max(worst, abs(exact - num) / max(1.0, abs(num)))
    return Check(f"integral over {y} vs quadrature", worst < 1e-8, "numeric",
                 f"residues, z = exp(2 pi i y/L); max rel. difference {worst:.1e} at "
                 f"{len(points)} admissible parameter points")


# ---------------------------------------------------------------- spot check
#: the periodic trapezoidal rule doubles its nodes from 16 up to this many
TRAPEZOID_MAX_NODES = 4096
#: ... until two successive sums agree to this relative accuracy
TRAPEZOID_RTOL = 1e-13


def periodic_trapezoid(g: sp.Expr, y: sp.Symbol, a: float, b: float,
                       values: dict | None = None) -> complex | None:
    r""":math:`\int_a^b g\,dy` over one period :math:`b - a` of a periodic ``g`` by the
    trapezoidal rule :math:`h\sum_{k<n} g(a + kh)`, :math:`h = (b-a)/n`, with the
    parameters of ``g`` set to ``values``.

    For a periodic analytic integrand the error decays like :math:`e^{-cn}` (Trefethen &
    Weideman, SIAM Rev. 56 (2014), Thm. 3.2), so doubling :math:`n` from 16 until two
    sums agree to :data:`TRAPEZOID_RTOL` is an error estimate; ``None`` when they do not
    by :data:`TRAPEZOID_MAX_NODES` nodes (a kink, a near-singularity) or when ``g``
    cannot be evaluated. Evaluated by :func:`_scalar_form` (mpmath where that has no
    such function of ``y``): no SciPy import (a second in a fresh process) and no
    ``lambdify`` (tens of milliseconds per integrand).
    """
    h = g.xreplace(dict(values or {}))
    try:
        fn = _scalar_form(h, y)
    except _NotScalar:
        fn = sp.lambdify(y, h, modules="mpmath")
    except (TypeError, ValueError, ZeroDivisionError, OverflowError, ArithmeticError):
        return None

    def total(n: int) -> complex:
        return sum(complex(fn(a + (b - a) * k / n)) for k in range(n)) * (b - a) / n

    try:
        n, prev = 16, total(16)
        while n < TRAPEZOID_MAX_NODES:
            n *= 2
            cur = total(n)
            if not (cmath.isfinite(cur) and cmath.isfinite(prev)):
                return None
            if abs(cur - prev) <= TRAPEZOID_RTOL * max(1.0, abs(cur)):
                return cur
            prev = cur
    except (TypeError, ValueError, ZeroDivisionError, OverflowError, NameError,
            ArithmeticError, RuntimeWarning):
        return None
    return None


class _NotScalar(Exception):
    """An expression with a function of ``y`` that :func:`_scalar_form` does not map."""


def _scalar_form(e: sp.Expr, y: sp.Symbol) -> Callable[[float], complex]:
    """``e`` (only ``y`` free) as a Python function of a float, built by one walk over the
    tree into closures over :mod:`cmath` (principal branches, as SymPy): the ``y``-free
    subtrees (``besseli(0, 1.2)``, ``pi``) become numbers by ``evalf`` once. No code
    generation (``lambdify`` costs tens of milliseconds per integrand) and no NumPy import
    (the first costs a fresh process half a second); a few dozen nodes per integral.
    Raises :class:`_NotScalar` for a function of ``y`` outside :data:`_CMATH_FUNCTIONS`."""
    if not e.has(y):
        c = complex(sp.N(e, 17))
        return lambda t: c
    if e == y:
        return lambda t: t
    parts = [_scalar_form(a, y) for a in e.args]
    if isinstance(e, sp.Add):
        return lambda t: sum(f(t) for f in parts)
    if isinstance(e, sp.Mul):
        def prod(t: float) -> complex:
            out = parts[0](t)
            for f in parts[1:]:
                out = out * f(t)
            return out
        return prod
    if isinstance(e, sp.Pow):
        base, ex = parts
        if e.exp.is_Integer:
            k = int(e.exp)
            return lambda t: complex(base(t)) ** k
        return lambda t: complex(base(t)) ** ex(t)
    op = _CMATH_FUNCTIONS.get(type(e).__name__)
    if op is None or len(parts) != 1:
        raise _NotScalar(type(e).__name__)
    (arg,) = parts
    return lambda t: op(arg(t))


#: SymPy functions of the integration variable and their :mod:`cmath` forms
_CMATH_FUNCTIONS = {"exp": cmath.exp, "cos": cmath.cos, "sin": cmath.sin, "tan": cmath.tan,
                    "log": cmath.log, "cosh": cmath.cosh, "sinh": cmath.sinh,
                    "tanh": cmath.tanh, "atan": cmath.atan, "Abs": abs}


def _quad_value(g: sp.Expr, y: sp.Symbol, a: float, b: float,
                periodic: bool = False, values: dict | None = None) -> complex:
    """``int_a^b g dy``: over one period of a periodic ``g`` by :func:`periodic_trapezoid`;
    otherwise (or when that does not converge) by scipy's QUADPACK on the NumPy/SciPy
    lambdification (milliseconds), or by ``mpmath.quad`` when that cannot be compiled, is
    complex, or reports trouble."""
    import warnings

    if periodic:
        val = periodic_trapezoid(g, y, a, b, values)
        if val is not None:
            return val
    if values:
        g = g.subs(values)

    from scipy import integrate

    try:
        fn = sp.lambdify(y, g, modules=["scipy", "numpy"])
        with warnings.catch_warnings():
            warnings.simplefilter("error")
            val, err = integrate.quad(lambda t: float(fn(t)), a, b, epsabs=0.0,
                                      epsrel=1e-11, limit=200)
        if math.isfinite(val) and err <= 1e-9 * max(1.0, abs(val)):
            return complex(val)
    except (TypeError, ValueError, ZeroDivisionError, OverflowError, NameError,
            integrate.IntegrationWarning, RuntimeWarning,
            sp.printing.codeprinter.PrintMethodNotImplementedError):
        pass
    gf = sp.lambdify(y, g, modules="mpmath")
    return complex(mpmath.quad(gf, [a, b]))


def spot_check_integral(value: sp.Expr, f: sp.Expr, y: sp.Symbol, lo: sp.Expr, hi: sp.Expr,
                        trials: int = 2, seed: int = 7, rtol: float = 1e-7,
                        periodic: bool = False) -> Check:
    """Compare a closed form with quadrature at random parameter values (``periodic``:
    ``f`` is periodic with period ``hi - lo``, see :func:`_quad_value`)."""
    rng = random.Random(seed)
    worst = 0.0
    for _ in range(trials):
        pair = replace_undefined_functions(sp.Tuple(value, f, lo, hi), rng)
        v, g, a, b = pair
        syms = (v.free_symbols | g.free_symbols | a.free_symbols | b.free_symbols) - {y}
        subs = {}
        for s in syms:
            val = sp.Rational(rng.randint(40, 160), 100)
            subs[s] = val if (s.is_positive or s.is_nonnegative or rng.random() < 0.7) else -val
        try:
            exact = complex(sp.N(v.subs(subs), 20))
            a_n, b_n = (-math.inf if a.subs(subs) == -sp.oo else
                        complex(sp.N(a.subs(subs))).real,
                        math.inf if b.subs(subs) == sp.oo else complex(sp.N(b.subs(subs))).real)
            num = _quad_value(g, y, a_n, b_n, periodic, subs)
        except (TypeError, ValueError, ZeroDivisionError, OverflowError):
            return Check(f"integral over {y}", False, "numeric", "could not evaluate for the check")
        err = abs(exact - num) / max(1.0, abs(num))
        worst = max(worst, err)
    return Check(f"integral over {y} vs quadrature", worst < rtol, "numeric",
                 f"max rel. difference {worst:.1e} at {trials} random parameter points")
