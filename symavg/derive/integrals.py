r"""Definite integrals that a derivation needs, never silently wrong.

Routes, tried in order:

1. exact structure: trigonometric polynomials over a full period (the
   constant Fourier mode), and the Bessel table

   .. math::

       \int_0^{2\pi/\omega} e^{\kappa\cos(\omega y+\varphi)}\cos(n\omega y+n\varphi)\,dy
       = \frac{2\pi}{\omega} I_n(\kappa),

   (SymPy's ``integrate`` never finds these and is sometimes wrong on period
   averages: SymPy issues #23613, #20370, #26283);
2. :func:`sympy.integrate` inside a time budget (it can hang: #15438, #11354);
3. an unevaluated :class:`sympy.Integral`, evaluated by quadrature later.

Every closed form from routes 1-2 is spot-checked against ``mpmath.quad`` at
random parameter values before it is returned; a failed check falls back to
route 3. The returned :class:`IntegralResult` carries that check.
"""

from __future__ import annotations

import random
from dataclasses import dataclass

import mpmath
import sympy as sp

from .._sympy_util import replace_undefined_functions, with_budget
from ..report.derivation import Check

#: seconds given to sympy.integrate before falling back
INTEGRATE_BUDGET = 4.0


@dataclass(frozen=True)
class IntegralResult:
    """The value of a definite integral and how it was obtained."""

    value: sp.Expr
    method: str  # "exact", "integrate", "unevaluated"
    check: Check


def definite_integral(f: sp.Expr, y: sp.Symbol, lo: sp.Expr, hi: sp.Expr,
                      periodic: bool = False, budget: float = INTEGRATE_BUDGET) -> IntegralResult:
    r""":math:`\int_{lo}^{hi} f\,dy`, checked; see the module docstring."""
    f = sp.sympify(f)
    integral = sp.Integral(f, (y, lo, hi))
    if not f.has(y):
        return IntegralResult(sp.expand(f * (hi - lo)), "exact",
                              Check(f"integral over {y}", True, "symbolic", "integrand free of y"))
    if periodic:
        val = period_integral_exact(f, y, hi - lo)
        if val is not None:
            chk = spot_check_integral(val, f, y, lo, hi)
            if chk.passed:
                return IntegralResult(val, "exact", chk)
    val = with_budget(_integrate_definite, (f, y, lo, hi), budget)
    if val is not None and not val.has(sp.Integral) and val.is_finite is not False:
        chk = spot_check_integral(val, f, y, lo, hi)
        if chk.passed:
            return IntegralResult(val, "integrate", chk)
    return IntegralResult(integral, "unevaluated",
                          Check(f"integral over {y}", True, "numeric",
                                "left unevaluated for quadrature"))


def _integrate_definite(f: sp.Expr, y: sp.Symbol, lo: sp.Expr, hi: sp.Expr) -> sp.Expr:
    res = sp.integrate(f, (y, lo, hi))
    if isinstance(res, sp.Piecewise):  # take the generic branch when conditions are assumptions
        res = res.args[0][0]
    return res


def antiderivative(f: sp.Expr, y: sp.Symbol, budget: float = INTEGRATE_BUDGET) -> sp.Expr | None:
    """An antiderivative ``F`` with ``F' = f`` (checked by differentiation), or None."""
    f = sp.sympify(f)
    if not f.has(y):
        return f * y
    res = with_budget(sp.integrate, (f, y), budget)
    if res is None or res.has(sp.Integral):
        return None
    if isinstance(res, sp.Piecewise):
        res = res.args[0][0]
    from .._sympy_util import zero_check

    if not zero_check("F' - f", sp.diff(res, y) - f, budget=2.0).passed:
        return None
    return res


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
    # exp argument must be kappa*cos(w y + phi) (or sin); trig factors of the same frequency
    kappa, w, phi = sp.S.Zero, None, sp.S.Zero
    if exp_arg != 0:
        parts = sp.Add.make_args(sp.expand(exp_arg))
        ydep = [p for p in parts if p.has(y)]
        const = sum((p for p in parts if not p.has(y)), sp.S.Zero)
        coeff *= sp.exp(const)
        if len(ydep) != 1:
            return _fourier_route(coeff, exp_arg - const, trig, y, L)
        k, tr = ydep[0].as_independent(y, as_Add=False)
        if not isinstance(tr, sp.cos | sp.sin):
            return None
        lin = sp.expand(tr.args[0])
        w = lin.coeff(y)
        if w == 0 or sp.expand(lin - w * y).has(y):
            return None
        phi = sp.expand(lin - w * y)
        if isinstance(tr, sp.sin):
            phi -= sp.pi / 2  # sin(t) = cos(t - pi/2)
        kappa = k
    return _fourier_route(coeff, kappa * sp.cos(w * y + phi) if w is not None else 0, trig, y, L,
                          kappa=kappa, w=w, phi=phi)


def _fourier_route(coeff: sp.Expr, exp_arg: sp.Expr, trig: list[sp.Expr], y: sp.Symbol,
                   L: sp.Expr, kappa: sp.Expr = 0, w: sp.Expr | None = None,
                   phi: sp.Expr = 0) -> sp.Expr | None:
    """Expand the trig factors in exponentials e^{i n w y} and integrate term by term."""
    if exp_arg != 0 and w is None:
        return None
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
        total += c * L * sp.exp(-sp.I * n * phi) * sp.besseli(sp.Abs(n), kappa)
    res = coeff * total
    res = sp.expand_complex(res) if res.has(sp.I) else res
    if res.has(sp.I):
        res = sp.simplify(res)
    return res if not res.has(sp.I) else None


# ---------------------------------------------------------------- spot check
def spot_check_integral(value: sp.Expr, f: sp.Expr, y: sp.Symbol, lo: sp.Expr, hi: sp.Expr,
                        trials: int = 2, seed: int = 7, rtol: float = 1e-7) -> Check:
    """Compare a closed form with ``mpmath.quad`` at random parameter values."""
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
            gf = sp.lambdify(y, g.subs(subs), modules="mpmath")
            a_n, b_n = (mpmath.mpf(-mpmath.inf) if a.subs(subs) == -sp.oo else
                        complex(sp.N(a.subs(subs))).real,
                        mpmath.inf if b.subs(subs) == sp.oo else complex(sp.N(b.subs(subs))).real)
            num = complex(mpmath.quad(gf, [a_n, b_n]))
        except (TypeError, ValueError, ZeroDivisionError, OverflowError):
            return Check(f"integral over {y}", False, "numeric", "could not evaluate for the check")
        err = abs(exact - num) / max(1.0, abs(num))
        worst = max(worst, err)
    return Check(f"integral over {y} vs quadrature", worst < rtol, "numeric",
                 f"max rel. difference {worst:.1e} at {trials} random parameter points")
