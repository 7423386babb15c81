r"""The expansion engine: averaging and homogenization by formal expansion.

Write the generator of the full model as :math:`\mathcal L = \sum_k \epsilon^k
\mathcal L_k` and let :math:`-a` be the most singular power. The backward
equation :math:`\partial_t u = \mathcal L u` is solved with
:math:`u = u_0 + \epsilon^{a/2} u_1 + \epsilon^a u_2 + \dots`, order by order,
exactly as by hand, with a generic test function :math:`v_0(x)`:

* :math:`\mathcal L_0 u_0 = 0`: :math:`u_0 = v_0(x)` (ergodicity of the fast
  process, invariant measure :math:`\rho(y;x)`).
* **averaging**, :math:`\mathcal L = \epsilon^{-a}\mathcal L_0 + \mathcal L_1`:
  solvability at the next order gives
  :math:`\partial_t v_0 = \langle \mathcal L_1 v_0\rangle_\rho`.
* **homogenization**, :math:`\mathcal L = \epsilon^{-a}\mathcal L_0 +
  \epsilon^{-a/2}\mathcal L_1 + \mathcal L_2`: first
  :math:`-\mathcal L_0 u_1 = \mathcal L_1 v_0 = \sum_i h_i\,\partial_i v_0`, whose
  solvability is the centering condition :math:`\langle h_i\rangle = 0`, solved
  by :math:`u_1 = \sum_i\Phi_i\,\partial_i v_0` with :math:`-\mathcal L_0\Phi_i =
  h_i`; then solvability at order one gives

  .. math::

      \partial_t v_0 = \bar{\mathcal L} v_0 = \langle \mathcal L_1 u_1
      + \mathcal L_2 v_0\rangle_\rho .

The effective drift :math:`F_i` and diffusion :math:`A_{ij}` are read off as the
coefficients of :math:`\partial_i v_0` and :math:`\frac12\partial_{ij} v_0`.
Because the operators are applied to :math:`u_1` as a whole, correlated noise
between slow and fast variables (cross terms :math:`a_{xy}\partial_x\partial_y`),
the :math:`x`-dependence of :math:`\Phi` and of :math:`\rho`, and
Stratonovich-type corrections come out without special cases.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import sympy as sp

from .._symbols import epsilon
from .._sympy_util import is_rational_expression, with_budget, zero_check
from ..errors import ModelError, ScaleSeparationError, UnsolvedError
from ..models._linalg import matrix_sqrt
from ..models.effective import EffectiveModel
from ..models.generator import Generator
from ..models.sde import SDE
from ..report.derivation import Check, Derivation, Step
from .integrals import antiderivative, definite_integral
from .invariant import InvariantMeasure, invariant_measure
from .poisson import PoissonSolution, centering_check, solve_poisson

REGIMES = ("averaging", "homogenization")


def reduce(model: SDE, fast: Sequence[sp.Symbol] | sp.Symbol, eps: sp.Symbol = epsilon,
           regime: str | None = None, *, params: Mapping | None = None, n: int = 64,
           method: str = "auto") -> EffectiveModel:
    r"""Eliminate the fast variables of ``model``; detect the regime.

    Parameters
    ----------
    model : SDE
        The full slow-fast model, with ``eps`` in its coefficients.
    fast : Symbol or list of Symbol
        The fast variables (those the most singular term of the generator acts on).
    eps : Symbol
        The scale parameter (default :data:`symavg.epsilon`).
    regime : {"averaging", "homogenization"}, optional
        Force a regime; by default it is read off the powers of ``eps``.
    params : dict {Symbol: number}, optional
        Parameter values for the numeric fallback: when no closed form is found
        and every fast variable is periodic, the invariant density and the
        cell problems are solved spectrally on an ``n``-point grid per fast
        dimension (:mod:`symavg.derive.numeric_cell`) and the effective
        coefficients are numbers.
    n : int
        Grid points per fast dimension for the numeric fallback.
    method : {"auto", "symbolic", "numeric"}
        ``"auto"`` tries the closed forms first and falls back to numbers when
        ``params`` is given.

    Returns
    -------
    EffectiveModel
        The reduced SDE for the slow variables with its :class:`Derivation`.

    Examples
    --------
    >>> import sympy as sp, symavg as sa
    >>> x, y = sp.symbols("x y", real=True)
    >>> eps = sa.epsilon
    >>> m = sa.SDE([x, y], [y / eps, -y / eps**2], noise=[[0], [sp.sqrt(2) / eps]])
    >>> red = sa.reduce(m, fast=[y])
    >>> red.regime, red.drift[0], red.diffusion[0, 0]
    ('homogenization', 0, 2)
    """
    if not isinstance(model, SDE):
        raise ModelError(f"reduce expects an SDE declaration; got {type(model).__name__}")
    fast = (fast,) if isinstance(fast, sp.Symbol) else tuple(fast)
    _validate(model, fast, eps, regime)
    slow = tuple(z for z in model.state if z not in fast)
    per = model.periodic_map
    title = f"Reduction of the fast variables {', '.join(map(str, fast))}"
    deriv = Derivation(title)
    deriv = deriv.then(_model_step(model, eps))

    orders = model.generator.expand(eps)
    L0_order, mid, top, found = _split(orders, slow, fast, eps, regime)
    deriv = deriv.then(_split_step(orders, L0_order, mid, found, eps))
    L0 = orders[L0_order]
    L1 = orders.get(mid) if mid is not None else None
    L2 = orders.get(sp.S.Zero, Generator(model.state, [0] * len(model.state)))
    if method not in ("auto", "symbolic", "numeric"):
        raise ModelError(f"method must be 'auto', 'symbolic' or 'numeric'; got {method!r}")
    if method == "numeric" or method == "auto" and params is not None:
        try:
            if method == "numeric":
                raise UnsolvedError("numeric route requested")
            return _reduce_symbolic(deriv, L0, L1, L2, mid, fast, slow, eps, per)
        except UnsolvedError as exc:
            if params is None:
                raise ModelError("method='numeric' needs params={symbol: value}") from None
            from .numeric_reduce import reduce_numeric

            return reduce_numeric(deriv, L0, L1, L2, fast, slow, eps, per, params, n,
                                  reason=str(exc))
    try:
        return _reduce_symbolic(deriv, L0, L1, L2, mid, fast, slow, eps, per)
    except UnsolvedError as exc:
        raise UnsolvedError(
            f"{exc} With every fast variable periodic, pass params={{symbol: value}} to "
            "sa.reduce to use the numeric (spectral) cell solver."
        ) from None


def _reduce_symbolic(deriv: Derivation, L0: Generator, L1: Generator | None, L2: Generator,
                     mid: sp.Rational | None, fast: tuple, slow: tuple, eps: sp.Symbol,
                     per: dict) -> EffectiveModel:
    """The closed-form route of :func:`reduce` (see the module docstring)."""
    measure = invariant_measure(L0, fast)
    deriv = deriv.then(measure.step())

    v0 = sp.Function("v_0")(*slow)
    u1 = sp.S.Zero
    phis: dict[sp.Symbol, tuple[sp.Expr, PoissonSolution]] = {}
    if L1 is not None:
        h_total = L1.apply(v0)
        parts = _by_derivative(h_total, v0, slow)
        _require_first_order(parts, slow, eps, mid)
        cent = [centering_check(parts.get((x,), sp.S.Zero), measure, f"h_{x}") for x in slow]
        deriv = deriv.then(Step(
            "centering",
            r"At the next order $-\mathcal{L}_0 u_1 = \mathcal{L}_1 v_0 = "
            r"\sum_i h_i \partial_i v_0$; solvability requires $\langle h_i\rangle = 0$, and then "
            r"$u_1 = \sum_i \Phi_i \partial_i v_0$ with $-\mathcal{L}_0 \Phi_i = h_i$.",
            tuple((rf"h_{{{sp.latex(x)}}}", parts.get((x,), sp.S.Zero)) for x in slow),
            tuple(cent)))
        for x in slow:
            h = parts.get((x,), sp.S.Zero)
            if h == 0:
                continue
            sol = solve_poisson(L0, h, fast, measure, check_centering=False)
            placeholder = sp.Function(f"Phi_{x}")(*slow, *fast)
            phis[x] = (placeholder, sol)
            u1 += placeholder * sp.diff(v0, x)
            deriv = deriv.then(sol.step(rf"\Phi_{{{sp.latex(x)}}}"))

    E = (L1.apply(u1) if L1 is not None else sp.S.Zero) + L2.apply(v0)
    coeffs = _by_derivative(E, v0, slow)
    stray = [k for k in coeffs if len(k) not in (1, 2)]
    if stray:
        raise ScaleSeparationError(
            f"the effective operator has terms {[str(k) for k in stray]} that are not first or "
            "second derivatives of the test function; the model is outside the supported "
            "regimes."
        )
    n = len(slow)
    drift = [sp.S.Zero] * n
    diff = sp.zeros(n, n)
    avg_checks: list[Check] = []
    for key, c in coeffs.items():
        val, chk = _average(c, measure, phis, fast, slow)
        avg_checks.extend(chk)
        if len(key) == 1:
            drift[slow.index(key[0])] += val
        else:
            i, j = sorted((slow.index(key[0]), slow.index(key[1])))
            if i == j:
                diff[i, i] += 2 * val
            else:
                diff[i, j] += val
                diff[j, i] += val
    drift = [_tidy(e) for e in drift]
    diff = diff.applyfunc(_tidy)
    deriv = deriv.then(Step(
        "solvability",
        (r"Solvability at order one: $\partial_t v_0 = \langle \mathcal{L}_1 u_1 + "
         r"\mathcal{L}_2 v_0\rangle_\rho$." if L1 is not None else
         r"Solvability at order one: $\partial_t v_0 = \langle \mathcal{L}_1 v_0\rangle_\rho$."),
        ((r"\partial_t v_0", _effective_operator(drift, diff, v0, slow)),),
        _dedupe(avg_checks)))
    regime = "homogenization" if L1 is not None else "averaging"
    return effective_model(deriv, drift, diff, regime, fast, slow, eps, per)


def effective_model(deriv: Derivation, drift: list, diff: sp.Matrix, regime: str, fast: tuple,
                    slow: tuple, eps: sp.Symbol, per: dict) -> EffectiveModel:
    """Form the noise (a checked square root), record the last step, build the result."""
    n = len(slow)
    noise = matrix_sqrt(diff) if not diff.is_zero_matrix else sp.ImmutableMatrix.zeros(n, 1)
    noise_checks = []
    if noise is not None and not diff.is_zero_matrix:
        chk = zero_check("A A^T = diffusion", noise * noise.T - diff)
        noise_checks.append(chk)
        if not chk.passed:
            noise = None
    exprs: list[tuple[str, sp.Basic]] = [("F", sp.Matrix(drift)), (r"A A^T", diff)]
    if noise is not None:
        exprs.append(("A", noise))
    deriv = deriv.then(Step(
        "effective coefficients",
        f"The {regime} limit: $dX = F(X)\\,dt + A(X)\\,dW$ for the slow variables "
        f"${', '.join(map(sp.latex, slow))}$.", tuple(exprs), tuple(noise_checks)))
    return EffectiveModel(
        state=slow, drift=sp.ImmutableMatrix(drift), diffusion=sp.ImmutableMatrix(diff),
        noise=noise, regime=regime, steps=deriv, fast=fast, eps=eps,
        periodic=tuple((x, per[x]) for x in slow if x in per))


def average(model: SDE, fast: Sequence[sp.Symbol] | sp.Symbol,
            eps: sp.Symbol = epsilon) -> EffectiveModel:
    r"""Averaging: :math:`\mathcal L = \epsilon^{-1}\mathcal L_0 + \mathcal L_1`
    gives :math:`F = \langle f\rangle_\rho`, :math:`AA^T = \langle \alpha\alpha^T\rangle_\rho`.
    See :func:`reduce`."""
    return reduce(model, fast, eps, regime="averaging")


def homogenize(model: SDE, fast: Sequence[sp.Symbol] | sp.Symbol,
               eps: sp.Symbol = epsilon) -> EffectiveModel:
    r"""Homogenization: :math:`\mathcal L = \epsilon^{-2}\mathcal L_0 +
    \epsilon^{-1}\mathcal L_1 + \mathcal L_2` gives the generator
    :math:`\langle\mathcal L_1\Phi\cdot\nabla_x + \mathcal L_2\rangle_\rho`.
    See :func:`reduce`."""
    return reduce(model, fast, eps, regime="homogenization")


# ----------------------------------------------------------------- validation
def _validate(model: SDE, fast: tuple, eps: sp.Symbol, regime: str | None) -> None:
    if regime is not None and regime not in REGIMES:
        raise ModelError(f"regime must be one of {REGIMES}; got {regime!r}")
    if not fast:
        raise ModelError("no fast variable given: pass fast=[y, ...]")
    for y in fast:
        if y not in model.state:
            raise ModelError(f"fast variable {y} is not a state variable of {list(model.state)}")
    if len(fast) == len(model.state):
        raise ModelError("every state variable was declared fast: leave at least one slow")
    if not isinstance(eps, sp.Symbol):
        raise ModelError(f"eps must be a SymPy Symbol; got {eps!r}")
    coeffs = list(model.drift) + list(model.diffusion)
    if not any(e.has(eps) for e in coeffs):
        raise ScaleSeparationError(
            f"the scale parameter {eps} does not appear in the model: write the fast terms "
            f"with explicit powers of {eps} (e.g. -y/{eps}**2), or pass eps=<your symbol>."
        )


def _split(orders: dict, slow: tuple, fast: tuple, eps: sp.Symbol, forced: str | None):
    if not orders:
        raise ScaleSeparationError("the generator is zero: nothing to reduce")
    p0 = min(orders)
    if p0 >= 0:
        raise ScaleSeparationError(
            f"no term of the generator has a negative power of {eps}: nothing is fast. "
            f"Scale the fast dynamics by 1/{eps} (averaging) or 1/{eps}**2 (homogenization)."
        )
    L0 = orders[p0]
    wrong = [z for z in L0.acts_on() if z in slow]
    if wrong:
        raise ScaleSeparationError(
            f"the leading operator {eps}**({p0}) L0 acts on the slow variable(s) {wrong}: they "
            f"move on the fastest time scale. Declare them fast, or rescale the model so "
            f"that only {list(fast)} evolve at order {eps}**({p0})."
        )
    idle = [y for y in fast if y not in L0.acts_on()]
    if idle:
        raise ScaleSeparationError(
            f"{idle} were declared fast but the leading operator {eps}**({p0}) L0 does not act "
            f"on them; the fast variables are those that L0 moves: {list(L0.acts_on())}."
        )
    mids = [p for p in orders if p0 < p < 0]
    dropped = [p for p in orders if p > 0]
    mid = None
    if mids:
        if mids != [p0 / 2]:
            raise ScaleSeparationError(
                f"the generator has terms at powers {mids} of {eps} between {p0} and 0; a "
                f"supported expansion has at most one, at {p0 / 2} (homogenization). Several "
                "fast levels: reduce the fastest variables first (nested reduction)."
            )
        mid = mids[0]
    if forced == "averaging" and mid is not None:
        raise ScaleSeparationError(
            f"averaging needs L = {eps}**({p0}) L0 + L1, but there is a term at order "
            f"{eps}**({mid}) acting on the slow variables: use sa.homogenize (or sa.reduce)."
        )
    if forced == "homogenization" and mid is None:
        mid = p0 / 2  # an empty middle order: the homogenization formula reduces to averaging
    found = "homogenization" if mid is not None else "averaging"
    return p0, mid, sp.S.Zero, (found, dropped)


# ----------------------------------------------------------------- helpers
def _by_derivative(expr: sp.Expr, v0: sp.Expr, slow: tuple) -> dict[tuple, sp.Expr]:
    """Split ``expr = sum_k c_k D^k v0`` into ``{variables of D^k: c_k}``."""
    expr = sp.expand(expr)
    repl: dict[sp.Basic, sp.Symbol] = {}
    keys: dict[sp.Symbol, tuple] = {}
    for d in expr.atoms(sp.Derivative):
        if d.expr == v0:
            vars_ = tuple(sorted((v for v, k in d.variable_count for _ in range(k)),
                                 key=slow.index))
            s = sp.Dummy("d_" + "".join(map(str, vars_)))
            repl[d] = s
            keys[s] = vars_
    e = expr.xreplace(repl)
    zero = sp.Dummy("d0")
    e = e.xreplace({v0: zero})
    keys[zero] = ()
    out: dict[tuple, sp.Expr] = {}
    dummies = list(keys)
    rest = e.xreplace({d: 0 for d in dummies})
    if sp.simplify(rest) != 0:
        raise ScaleSeparationError(f"a term {rest} does not act on the test function")
    for sym in dummies:
        c = sp.diff(e, sym)
        if c.has(*dummies):
            raise ScaleSeparationError(f"nonlinear term in the generator expansion: {c}")
        if c != 0:
            out[keys[sym]] = out.get(keys[sym], 0) + c
    if () in out and sp.simplify(out[()]) != 0:
        raise ScaleSeparationError("the effective operator has a zeroth-order (killing) term")
    out.pop((), None)
    return out


def _require_first_order(parts: dict, slow: tuple, eps: sp.Symbol, mid: sp.Rational) -> None:
    bad = [k for k in parts if len(k) != 1 and sp.simplify(parts[k]) != 0]
    if bad:
        raise ScaleSeparationError(
            f"the slow variables diffuse at order {eps}**({mid}) (terms in "
            f"{[str(k) for k in bad]}): they move on a faster scale than the homogenization "
            "limit allows. Rescale their noise."
        )


def _average(c: sp.Expr, measure: InvariantMeasure, phis: dict, fast: tuple,
             slow: tuple) -> tuple[sp.Expr, list[Check]]:
    r"""Average a coefficient that may contain the cell solutions :math:`\Phi_i`.

    Closed-form :math:`\Phi_i` are substituted. When only :math:`\partial_y\Phi`
    is known (one fast variable), the terms :math:`g\,\Phi` and
    :math:`g\,\partial_x\Phi` are integrated by parts:
    :math:`\langle g\,P\rangle = -\int G\,\partial_y P\,dy` with
    :math:`G(y) = \int_{y_0}^{y} g\rho`, which is valid because such ``g`` are
    centred (they are the right-hand sides of the cell problems).
    """
    c = sp.sympify(c)
    pending: list[tuple[sp.Expr, sp.Expr]] = []
    for ph, sol in phis.values():
        if not c.has(ph.func):
            continue
        if sol.phi is not None:
            c = c.subs(ph, sol.phi).doit()
            continue
        y = fast[0]
        grad = sol.gradient[0]
        repl = {}
        for d in c.atoms(sp.Derivative):
            if d.expr != ph:
                continue
            counts = dict(d.variable_count)
            ny = counts.pop(y, 0)
            if ny == 0:
                continue
            val = sp.diff(grad, y, ny - 1) if ny > 1 else grad
            for v, k in counts.items():
                val = sp.diff(val, v, k)
            repl[d] = val
        c = c.xreplace(repl)
        # remaining: ph and d^k ph / dx^k, linear
        atoms = [a for a in c.atoms(sp.Derivative) if a.expr == ph] + [ph]
        for a in atoms:
            dummy = sp.Dummy("P")
            ce = sp.expand(c.xreplace({a: dummy}))
            g = ce.coeff(dummy)
            if g == 0:
                continue
            c = sp.expand(ce - g * dummy)
            # d_y of the placeholder a: take the slow derivatives of the gradient
            dy = grad
            if isinstance(a, sp.Derivative):
                for v, k in a.variable_count:
                    dy = sp.diff(dy, v, k)
            pending.append((g, dy))
    if any(a.has(*(p.func for p, _ in phis.values())) for a in [c]):
        raise ScaleSeparationError(f"could not eliminate the cell solutions from {c}")
    value, checks = measure.expect_checked(c)
    checks = list(checks)
    for g, dy in pending:
        val, chk = _ibp_average(g, dy, measure, fast[0])
        value += val
        checks.extend(chk)
    return value, checks


def _ibp_average(g: sp.Expr, dphi: sp.Expr, measure: InvariantMeasure,
                 y: sp.Symbol) -> tuple[sp.Expr, list[Check]]:
    r""":math:`\langle g\Phi\rangle = -\int G\,\Phi'\,dy`, :math:`G = \int_{y_0}^y g\rho`."""
    (_, lo, hi), = measure.domain
    rho = measure.density
    prim = antiderivative(sp.powsimp(g * rho, combine="exp"), y)
    if prim is None:
        s = sp.Dummy("s")
        G = sp.Integral((g * rho).subs(y, s), (s, lo, y))
    else:
        base = prim.subs(y, lo) if lo.is_finite else with_budget(sp.limit, (prim, y, lo), 4.0)
        if base is None:
            s = sp.Dummy("s")
            G = sp.Integral((g * rho).subs(y, s), (s, lo, y))
        else:
            G = prim - base
    res = definite_integral(sp.powsimp(sp.expand(-G * dphi), combine="exp"), y, lo, hi,
                            periodic=y in measure.periodic)
    return res.value, [res.check]


def _tidy(e: sp.Expr) -> sp.Expr:
    """A readable form of an effective coefficient.

    Rational functions (of symbols and of function values such as ``g(x)``,
    ``g'(x)``, ``cos(x)``, ``I_0(k)``) are put in lowest terms by ``cancel`` and
    ``factor`` in-process, which is fast; other expressions (square roots, ...)
    go through ``simplify`` with a budget, large ones are only expanded."""
    if e == 0 or e.has(sp.Integral):
        return e
    if is_rational_expression(e, functions=True):
        lowest = sp.factor(sp.cancel(e))
        return min((e, lowest), key=sp.count_ops)
    if sp.count_ops(e) > 300:
        return sp.expand(e)
    out = with_budget(_simplify_chain, (e,), 4.0)
    return out if out is not None else e


def _simplify_chain(e: sp.Expr) -> sp.Expr:
    cands = [sp.simplify(e), sp.factor(e), sp.expand(e)]
    return min(cands, key=sp.count_ops)


def _dedupe(checks: list[Check]) -> tuple[Check, ...]:
    seen, out = set(), []
    for c in checks:
        if c not in seen:
            seen.add(c)
            out.append(c)
    return tuple(out)


def _effective_operator(drift: list, diff: sp.Matrix, v0: sp.Expr, slow: tuple) -> sp.Expr:
    return Generator(slow, drift, diff).apply(v0)


def _model_step(model: SDE, eps: sp.Symbol) -> Step:
    exprs: list[tuple[str, sp.Basic]] = [("b", model.drift)]
    if model.noise is not None:
        exprs.append((r"\sigma", model.noise))
    exprs.append((r"a = \sigma\sigma^T", model.diffusion))
    per = model.periodic_map
    where = (" Periodic: " + ", ".join(f"${sp.latex(k)}$ (period ${sp.latex(v)}$)"
                                       for k, v in per.items()) + "." if per else "")
    return Step("model", rf"The Itô SDE $dZ = b\,dt + \sigma\,dW$ in "
                         rf"$Z = ({', '.join(sp.latex(z) for z in model.state)})$.{where}",
                tuple(exprs))


def _split_step(orders: dict, p0: sp.Rational, mid: sp.Rational | None, found: tuple,
                eps: sp.Symbol) -> Step:
    regime, dropped = found
    exprs = []
    names = {p0: r"\mathcal{L}_0 f"}
    if mid is not None:
        names[mid] = r"\mathcal{L}_1 f"
    names[sp.S.Zero] = r"\mathcal{L}_2 f" if mid is not None else r"\mathcal{L}_1 f"
    for p, L in orders.items():
        label = names.get(p, rf"\mathcal{{L}}^{{({sp.latex(p)})}} f")
        exprs.append((rf"[{sp.latex(eps)}^{{{sp.latex(p)}}}]\ {label}", L.as_expr()))
    text = (f"Generator split $\\mathcal{{L}} = \\sum_k {sp.latex(eps)}^k \\mathcal{{L}}_k$; "
            f"regime: {regime}.")
    if dropped:
        text += f" Terms at positive powers {dropped} vanish in the limit and are dropped."
    return Step("generator split", text, tuple(exprs))
