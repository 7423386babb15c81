r"""Nested reduction over several fast levels, and the long (diffusive) time scale.

**Levels.** Write :math:`\mathcal L = \sum_q \epsilon^q \mathcal L_q` and let
:math:`p_0` be the most singular power; :math:`\mathcal L_{p_0}` moves the
fastest block :math:`F_0`. A slower variable ``v`` whose coefficient at a
power :math:`q<0` has a nonzero mean under the invariant law
:math:`\rho_0` of :math:`\mathcal L_{p_0}` moves on the scale
:math:`\epsilon^q`; a centred coupling at :math:`q` acts through the corrector
and moves it on the scale :math:`\epsilon^{2q-p_0}` (homogenization). A
variable whose scale is a negative power is fast too: there are several fast
levels.

**Nesting rule** (Pavliotis & Stuart 2008, Sec. 10.7 and 11.7 apply at each
level): eliminate the fastest block first, with every other variable held
fixed, and reduce the result again. One stage is the second-order
elimination of :math:`F_0`: with :math:`h_{x,q}` the coefficient of
:math:`\partial_x v_0` in :math:`\mathcal L_q v_0` (``x`` slower, :math:`q > p_0`)
and

.. math::

    -\mathcal L_{p_0}\Phi_x = H_x = \sum_{q>p_0} \epsilon^{q-p_0}
    \bigl(h_{x,q} - \langle h_{x,q}\rangle_{\rho_0}\bigr),\qquad
    u = v_0 + \sum_x \Phi_x\,\partial_x v_0 ,

the effective generator of the slower variables, in the full model's time,
is

.. math::

    \bar{\mathcal L} v_0 = \sum_{q>p_0}\epsilon^q \bigl\langle \mathcal L_q v_0
    + \mathcal L_q' \textstyle\sum_x \Phi_x \partial_x v_0\bigr\rangle_{\rho_0},

where :math:`\mathcal L_q'` is :math:`\mathcal L_q` without the diffusion among
the slower variables (composed with :math:`\Phi` it is smaller than itself by
:math:`\epsilon^{q'-p_0}\to 0` and would give third derivatives). This holds
both mechanisms at once: averaging (the means :math:`\langle h_{x,q}\rangle`),
homogenization (a centred coupling at the midpoint :math:`(p_0+b)/2` between
:math:`F_0` and a variable on the scale :math:`\epsilon^b` gives
:math:`\epsilon^b`), the perturbation of :math:`\rho_0` by slower terms acting
on :math:`F_0`, and the correlations between slower variables that a common
fast forcing creates. Its coefficients still carry :math:`\epsilon` (e.g. a
variable on the scale :math:`\epsilon^{-1}`); it is an
:class:`~symavg.models.effective.EffectiveModel`, reduced again until only the
slow variables are left; the last level goes through the single-level engine
(:func:`symavg.derive.engine.reduce`). Terms of third order in the couplings
are not computed: they are smaller by at least :math:`\epsilon^{1/2}` relative
to the terms kept when each coupling sits at or above its midpoint.

The order matters. With ``x`` driven by ``y`` on :math:`\epsilon^{-1}`, whose
relaxation rate :math:`a(z)` depends on ``z`` on :math:`\epsilon^{-2}`, the
first stage replaces :math:`a` by :math:`\langle a\rangle` and the slow drift is
:math:`b/\langle a\rangle`; freezing ``z`` and averaging over it last would give
:math:`b\langle 1/a\rangle` (see ``docs/multiscale.md``).

**Vanishing averaged drift.** In the averaging regime
:math:`\mathcal L = \epsilon^{p_0}\mathcal L_0 + \mathcal L_1` an averaged
drift and diffusion that vanish identically mean that the slow variables move
on the longer scale :math:`s = \epsilon^{-p_0} t`; there the generator is
:math:`\epsilon^{p_0}\mathcal L = \epsilon^{2p_0}\mathcal L_0 +
\epsilon^{p_0}\mathcal L_1 + \dots`, which is homogenized
(:func:`long_time`; Pavliotis & Stuart 2008, Sec. 11.7).
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING

import sympy as sp

from .._sympy_util import laurent_terms, zero_check
from ..errors import ModelError, ScaleSeparationError, SymavgError, UnsolvedError
from ..models.effective import TIME, EffectiveModel
from ..models.generator import DiffusionPart, Expansion, Generator
from ..models.markov import MarkovChain
from ..report.derivation import Check, Derivation, Step
from ..report.names import fresh_name, user_names
from ._context import current as numeric_context
from ._context import numeric_parameters
from .invariant import invariant_measure
from .poisson import Corrector, solve_poisson

if TYPE_CHECKING:
    from .engine import _Context, _View

#: The values of ``reduce(..., timescale=)``.
TIMESCALES = ("auto", "natural", "diffusive")


def check_timescale(timescale: str) -> None:
    """Raise :class:`ModelError` unless ``timescale`` is one of :data:`TIMESCALES`."""
    if timescale not in TIMESCALES:
        raise ModelError(f"timescale must be one of {TIMESCALES}; got {timescale!r}")


# ----------------------------------------------------------------- detection
def _symbols(fast: object) -> tuple:
    if isinstance(fast, sp.Symbol | MarkovChain):
        fast = [fast]
    return tuple(y.symbol if isinstance(y, MarkovChain) else y for y in fast)


def _drift_at(L: Generator, i: int) -> sp.Expr:
    return sp.Add(*[p.drift[i] for p in L.diffusion_parts if p.mode is None])


def nested_fast(view: _View, expansion: Expansion, fast: object, eps: sp.Symbol,
                regime: str | None) -> tuple[sp.Symbol, ...] | None:
    r"""The fast variables of a nested reduction, or ``None`` when one level suffices.

    With ``fast`` given, the reduction is nested when it names variables that
    the most singular level does not move; naming exactly that level's
    variables while others are fast too eliminates that level alone (the
    result keeps the slower fast variables: reduce it again). With
    ``fast=None`` a variable outside :math:`F_0` is fast when it moves on a
    negative power of :math:`\epsilon`: its own diffusion or a drift with
    nonzero mean under :math:`\rho_0` at a power :math:`q<0`, or a centred
    drift at :math:`q < p_0/2` (effective scale :math:`\epsilon^{2q-p_0}`).
    """
    if view.chain is not None or regime is not None or not expansion or min(expansion) >= 0:
        return None
    p0, L0 = expansion.leading
    F0 = set(L0.acts_on())
    if fast is not None:
        given = _symbols(fast)
        if any(y not in view.state for y in given):
            return None
        if set(given) == F0:
            # the fastest level alone, when slower fast levels and slow variables remain
            later = _extra_fast(view, expansion)
            if not later or not [v for v in view.state if v not in F0 and v not in later]:
                return None
            return tuple(v for v in view.state if v in F0)
        if set(given) < F0:
            return None
        return tuple(v for v in view.state if v in given)
    extra = _extra_fast(view, expansion)
    if not extra:
        return None
    return tuple(v for v in view.state if v in F0 or v in extra)


def _extra_fast(view: _View, expansion: Expansion) -> list[sp.Symbol]:
    """The variables outside the fastest block that move on a negative power (see
    :func:`nested_fast`); empty when that cannot be decided."""
    p0, L0 = expansion.leading
    F0 = set(L0.acts_on())
    measure = None
    extra = []
    for i, v in enumerate(view.state):
        if v in F0:
            continue
        moves = False
        for q, L in expansion.levels:
            if q <= p0 or q >= 0 or moves:
                continue
            if L.is_switching or L.potential_parts:
                return []
            if any(L.diffusion[i, j] != 0 for j, w in enumerate(view.state) if w not in F0):
                moves = True
                continue
            b = _drift_at(L, i)
            if b == 0:
                continue
            if q < p0 / 2:
                moves = True
                continue
            if measure is None:
                try:
                    measure = invariant_measure(L0, tuple(F0))
                except SymavgError:
                    return []
            try:
                moves = not zero_check("<b>", measure.expect(b)).passed
            except SymavgError:
                return []
        if moves:
            extra.append(v)
    return extra


# ----------------------------------------------------------------- one stage
def _by_fast_factor(expr: sp.Expr, fast: tuple) -> dict[sp.Expr, sp.Expr]:
    """Split ``expr = sum_k s_k f_k`` into ``{f_k: s_k}``, the ``f_k`` the distinct
    factors that depend on the fast variables (one average per distinct factor)."""
    out: dict[sp.Expr, sp.Expr] = {}
    for term in sp.Add.make_args(sp.expand(expr)):
        indep, dep = term.as_independent(*fast, as_Add=False)
        out[dep] = out.get(dep, sp.S.Zero) + indep
    return out


class _Means:
    """Expectations under one measure, one per distinct fast factor, remembered."""

    def __init__(self, measure: object, fast: tuple) -> None:
        self.measure, self.fast = measure, fast
        self.known: dict[sp.Expr, sp.Expr] = {}
        self.checks: list[Check] = []

    def factor(self, f: sp.Expr) -> sp.Expr:
        if f == 1:
            return sp.S.One
        if f not in self.known:
            val, chk = self.measure.expect_checked(f)
            self.known[f] = val
            self.checks.extend(c for c in chk if c not in self.checks)
        return self.known[f]

    def __call__(self, expr: sp.Expr) -> sp.Expr:
        return sp.Add(*[s * self.factor(f) for f, s in _by_fast_factor(expr, self.fast).items()])


def _eps_powers(expr: sp.Expr, eps: sp.Symbol) -> dict[sp.Rational, sp.Expr]:
    """``{p: c_p}`` with ``expr = sum_p c_p eps**p``, read off monomial factors (the
    expression may hold derivatives of stand-ins, which ``laurent_terms`` cannot collect)."""
    out: dict[sp.Rational, sp.Expr] = {}
    for term in sp.Add.make_args(sp.expand(expr)):
        p, rest = sp.S.Zero, []
        for f in sp.Mul.make_args(term):
            base, ex = f.as_base_exp()
            if base == eps and ex.is_Rational:
                p += ex
            else:
                rest.append(f)
        c = sp.Mul(*rest)
        if c.has(eps):
            for q, cq in laurent_terms(c, eps).items():
                out[p + q] = out.get(p + q, sp.S.Zero) + cq
        elif c != 0:
            out[p] = out.get(p, sp.S.Zero) + c
    return {k: v for k, v in out.items() if v != 0}


def _without_slow_diffusion(L: Generator, slow: tuple) -> Generator:
    idx = [L.state.index(x) for x in slow]
    parts = []
    for p in L.diffusion_parts:
        a = sp.Matrix(p.diffusion)
        for i in idx:
            for j in idx:
                a[i, j] = 0
        parts.append(DiffusionPart(p.drift, a, p.mode))
    return Generator(L.state, parts=parts, periodic=L.periodic_map)


def _in_powers(e: sp.Expr, eps: sp.Symbol) -> sp.Expr:
    """``e`` as a sum of powers of ``eps`` with tidied coefficients."""
    from .engine import _tidy

    terms = laurent_terms(e, eps)
    return sp.Add(*[eps**p * _tidy(sp.factor_terms(c)) for p, c in sorted(terms.items())])


def eliminate_level(G: Generator, eps: sp.Symbol, label: int = 1, source: object = None,
                    slow_target: Sequence[sp.Symbol] | None = None) -> EffectiveModel:
    r"""Eliminate the fastest block of ``G`` to second order in the couplings.

    Parameters
    ----------
    G : Generator
        The generator, with :math:`\epsilon` in its coefficients.
    eps : Symbol
    label : int
        The number of the level (for the derivation's headings).
    source : object, optional
        The declaration reduced (kept in ``records``).
    slow_target : sequence of Symbol, optional
        The variables that are slow at the end (scale :math:`\epsilon^0`; their
        forcing at negative powers is centred by a later level). By default
        every slower variable's scale is read off its coefficients.

    Returns
    -------
    EffectiveModel
        The generator of the slower variables in the full model's time (see the
        module docstring); its coefficients still carry :math:`\epsilon`.

    Examples
    --------
    >>> import sympy as sp, symavg as sa
    >>> x, y, z = sp.symbols("x y z", real=True)
    >>> eps = sa.epsilon
    >>> G = sa.Generator([x, y, z], [y, -y / eps, -z / eps**2],
    ...                  sp.diag(0, 2 / eps, 2 / eps**2))
    >>> mid = eliminate_level(G, eps)
    >>> mid.state, list(mid.drift), mid.diffusion[1, 1]
    ((x, y), [y, -y/epsilon], 2/epsilon)
    """
    from .engine import (
        _average,
        _average_record,
        _by_derivative,
        _coefficient_averages,
        effective_model,
    )

    expansion = G.expand(eps)
    p0, L0 = expansion.leading
    fast = L0.acts_on()
    slow = tuple(v for v in G.state if v not in fast)
    if not slow:
        raise ModelError(f"level {label}: every variable moves at the fastest order "
                         f"{eps}**({p0}); nothing is left to reduce to")
    measure = invariant_measure(L0, fast)
    higher = [(q, L) for q, L in expansion.levels if q > p0]
    fx = ", ".join(map(sp.latex, fast))
    # the test function of the display, named apart from the model's own names
    fname = fresh_name("f", user_names(G.coefficients()))
    deriv = Derivation(f"Level {label}").then(Step(
        "level",
        f"Level {label}: the fastest variables ${fx}$ move at order "
        f"${sp.latex(eps)}^{{{sp.latex(p0)}}}$; the slower ones "
        f"${', '.join(map(sp.latex, slow))}$ are held fixed while they are eliminated.",
        tuple((rf"[{sp.latex(eps)}^{{{sp.latex(q)}}}]\ \mathcal{{L}}^{{({sp.latex(q)})}} "
               rf"{sp.latex(sp.Symbol(fname))}", L.as_expr(name=fname))
              for q, L in expansion.levels)), measure.step())
    v0 = sp.Function("v_0")(*slow)
    mean = _Means(measure, fast)
    # H[x][k]: the centred forcing of x carried by eps**k (k = q - p0), one cell problem
    # per power so that the powers of eps stay explicit
    H: dict[sp.Symbol, dict[sp.Rational, sp.Expr]] = {x: {} for x in slow}
    for q, L in higher:
        parts = _by_derivative(L.apply(v0), v0, slow)
        for x in slow:
            h = parts.get((x,), sp.S.Zero)
            if h == 0 or not any(h.has(y) for y in fast):
                continue
            centred = sp.expand(h - mean(h))
            if zero_check("h - <h>", centred).passed:
                continue
            k = q - p0
            H[x][k] = H[x].get(k, sp.S.Zero) + centred
    l0_symbols = set().union(*[e.free_symbols for p in L0.diffusion_parts
                               for e in (*p.drift, *p.diffusion)])
    cent: list[Check] = []
    phis: dict[tuple, tuple[object, Corrector]] = {}
    u1 = sp.S.Zero
    corr_steps = []
    on_grid = numeric_context() is not None
    for x in slow:
        for i, (k, h) in enumerate(sorted(H[x].items())):
            cent.append(zero_check(f"<H_{x},{k}> = 0", mean(h)))
            # on a grid the cell problems have numbers for coefficients: one per slow factor,
            # h = sum_m s_m(slow) g_m(fast) (each g_m centred), Phi = sum_m s_m Phi_m
            pieces = list(_by_fast_factor(h, slow).items()) if on_grid else [(sp.S.One, h)]
            for m, (s_m, g_m) in enumerate(pieces):
                sol = solve_poisson(L0, g_m, fast, measure, check_centering=False)
                # the corrector depends on the slow variables that h or L0 holds, only
                args = [v for v in slow if g_m.has(v) or v in l0_symbols]
                name = f"Phi_{x}_{i}" + (f"_{m}" if len(pieces) > 1 else "")
                ph = sp.Function(name)(*args, *fast)
                phis[(x, k, m)] = (ph, sol)
                u1 = u1 + eps**k * s_m * ph * sp.diff(v0, x)
                sub = f",{m}" if len(pieces) > 1 else ""
                corr_steps.append(sol.step(rf"\Phi_{{{sp.latex(x)},{sp.latex(k)}{sub}}}"))
    deriv = deriv.then(Step(
        "centering",
        rf"The fluctuating part of the forcing of each slower variable, "
        rf"$H_x = \sum_{{q>{sp.latex(p0)}}} {sp.latex(eps)}^{{q-({sp.latex(p0)})}}"
        r"(h_{x,q} - \langle h_{x,q}\rangle)$, is centred by construction; "
        r"$u = v_0 + \sum_x \Phi_x\partial_x v_0$ with $-\mathcal{L}_0\Phi_x = H_x$ "
        r"(one cell problem $\Phi_{x,k}$ per power $k$).",
        tuple((rf"H_{{{sp.latex(x)}}}", sp.Add(*[eps**k * h for k, h in H[x].items()]))
              for x in slow), tuple(cent),
        averages=tuple(_average_record(measure, sp.Add(*[eps**k * h for k, h in H[x].items()]),
                                       f"H_{x}", sp.S.Zero, defined=True)
                       for x in slow if H[x])), *corr_steps)
    total = sp.S.Zero
    for q, L in higher:
        total += eps**q * L.apply(v0)
        if u1 != 0:
            total += eps**q * _without_slow_diffusion(L, slow).apply(u1)
    coeffs = _by_derivative(total, v0, slow)
    stray = [k for k in coeffs if len(k) not in (1, 2)]
    if stray:
        raise ScaleSeparationError(
            f"level {label}: the effective operator has terms {[str(k) for k in stray]} that "
            "are not first or second derivatives; the model is outside the supported regimes")
    n = len(slow)
    drift = [sp.S.Zero] * n
    diff = sp.zeros(n, n)
    checks: list[Check] = []
    closed = {ph: sol.phi for ph, sol in phis.values() if sol.phi is not None}
    pfuncs = [ph.func for ph, _ in phis.values()]

    def avg(c: sp.Expr) -> sp.Expr:
        val = sp.S.Zero
        for f, s_k in _by_fast_factor(c, fast).items():
            if not pfuncs or not f.has(*pfuncs):
                val += s_k * mean.factor(f)
                continue
            v, chk = _average(f, measure, phis, fast, slow)
            checks.extend(chk)
            val += s_k * v
        return val

    # every coefficient by powers of eps, averaged lazily
    terms = {key: _eps_powers(sp.sympify(c).xreplace(closed).doit() if closed else c, eps)
             for key, c in coeffs.items()}
    known: dict[tuple, sp.Expr] = {}

    def value(key: tuple, r: sp.Rational) -> sp.Expr:
        if (key, r) not in known:
            known[(key, r)] = avg(terms[key][r])
        return known[(key, r)]

    # the scale of each slower variable: the most singular power at which it moves
    level = {}
    for x in slow:
        if slow_target is not None and x in slow_target:
            level[x] = sp.S.Zero
            continue
        own = sorted({r for key in ((x,), (x, x)) for r in terms.get(key, {}) if r < 0})
        level[x] = next((r for r in own for key in ((x,), (x, x))
                         if r in terms.get(key, {})
                         and not zero_check("mean", value(key, r)).passed), sp.S.Zero)
    # keep what can matter at the later levels: in the row of x, powers up to
    # level(x)/2 (a perturbation of a fast block at r acts through a midpoint coupling
    # at order r - level/2), and up to 0 for the slow variables
    dropped = []
    kept: dict[tuple, sp.Expr] = {}   # the averaged part of each coefficient, for the record
    for key, by_power in terms.items():
        limit = min(level[v] for v in key) / 2
        for r in sorted(by_power):
            if r > limit:
                dropped.append((key, r))
                continue
            kept[key] = kept.get(key, sp.S.Zero) + eps**r * by_power[r]
            val = eps**r * value(key, r)
            if len(key) == 1:
                drift[slow.index(key[0])] += val
            else:
                i, j = sorted((slow.index(key[0]), slow.index(key[1])))
                if i == j:
                    diff[i, i] += 2 * val
                else:
                    diff[i, j] += val
                    diff[j, i] += val
    drift = [_in_powers(e, eps) for e in drift]
    diff = diff.applyfunc(lambda e: _in_powers(e, eps))
    seen: list[Check] = []
    for c in mean.checks + checks:
        if c not in seen:
            seen.append(c)
    deriv = deriv.then(Step(
        "solvability",
        r"Averaging the equation for $u$ over the fast law: "
        rf"$\bar{{\mathcal L}} v_0 = \sum_{{q>{sp.latex(p0)}}} {sp.latex(eps)}^q"
        r"\langle \mathcal L_q v_0 + \mathcal L_q' (\textstyle\sum_x\Phi_x\partial_x v_0)"
        r"\rangle$, in the full model's time; the coefficients keep their powers of "
        rf"${sp.latex(eps)}$ for the next level. Scales of the slower variables: "
        + ", ".join(f"${sp.latex(x)}$: ${sp.latex(eps)}^{{{sp.latex(level[x])}}}$"
                    for x in slow)
        + (". Terms that vanish at every later level (a row of a variable on the scale "
           rf"${sp.latex(eps)}^b$ above the power $b/2$, or above 0) are dropped: "
           + ", ".join(f"$\\partial_{{{''.join(map(sp.latex, k))}}}$ at "
                       f"${sp.latex(eps)}^{{{sp.latex(r)}}}$" for k, r in dropped)
           if dropped else "") + ".",
        ((r"\bar{\mathcal L} v_0", Generator(slow, drift, diff).apply(v0)),), tuple(seen),
        averages=_coefficient_averages(kept, drift, diff, measure, slow)))
    regime = "homogenization" if phis else "averaging"
    per = G.periodic_map
    records = {"expansion": expansion, "measure": measure, "scales": level,
               "correctors": {key: s for key, (_, s) in phis.items()}, "source": source}
    return effective_model(deriv, drift, diff, regime, fast, slow, eps, per, records=records)


# ----------------------------------------------------------------- nesting
def eliminate_level_or_numeric(G: Generator, eps: sp.Symbol, label: int, source: object,
                               slow_target: Sequence[sp.Symbol] | None,
                               params: Mapping | None, n: int,
                               method: str) -> EffectiveModel:
    r""":func:`eliminate_level`, with the numeric cell solvers when no closed form exists.

    With ``method="numeric"``, or ``params`` given and a closed-form route raising
    :class:`~symavg.errors.UnsolvedError`, the level is eliminated again inside
    :func:`symavg.derive._context.numeric_parameters`: the invariant density and the
    cell problems of the fastest block are solved on spectral grids at the parameter
    values (:mod:`symavg.derive.numeric_strategies`), each average a number (on two
    grids, their difference recorded), while the coefficients of the slower variables
    keep their symbols and powers of :math:`\epsilon` for the next level. The level's
    section of the derivation opens with a step saying so.
    """
    if method != "numeric":
        try:
            return eliminate_level(G, eps, label, source=source, slow_target=slow_target)
        except UnsolvedError as exc:
            if params is None:
                raise UnsolvedError(
                    f"level {label}: {exc} -- the nested reduction needs params= for the "
                    "numeric cell solvers at an intermediate level") from None
            reason = str(exc)
    else:
        if params is None:
            raise ModelError("method='numeric' needs params={symbol: value}")
        reason = "numeric route requested"
    expansion = G.expand(eps)
    fast = set(expansion.leading[1].acts_on())
    slow = tuple(v for v in G.state if v not in fast)
    with numeric_parameters(params, n, slow):
        inter = eliminate_level(G, eps, label, source=source, slow_target=slow_target)
    note = Step(
        "numeric cell problems",
        f"Level {label} has no closed form ({reason.split(' in closed form')[0]}): its "
        f"invariant density and cell problems are solved by spectral collocation with {n} "
        f"points per circle ({2 * n} per line), and again with {max(8, n // 2)}, at the "
        "given parameter values; the slower variables' coefficients keep their symbols.",
        (("params", sp.Dict({sp.sympify(k): sp.Float(v) for k, v in params.items()})),))
    head, *rest = inter.steps.steps
    steps = Derivation(inter.steps.title, (head, note, *rest), inter.steps.origin)
    return dataclasses.replace(inter, steps=steps)


def reduce_nested(view: _View, model: object, fast: Sequence[sp.Symbol], eps: sp.Symbol, *,
                  order: int = 0, params: Mapping | None = None, n: int = 64,
                  method: str = "auto", timescale: str = "auto") -> EffectiveModel:
    r"""Reduce several fast levels, fastest first (see the module docstring).

    Every level but the last is eliminated by :func:`eliminate_level`; the
    last goes through :func:`symavg.derive.engine.reduce` (its regime, order,
    time scale and numeric fallback). The result's ``records["levels"]`` holds
    the intermediate :class:`EffectiveModel` of every level, and its
    derivation has one section per level.

    Examples
    --------
    >>> import sympy as sp, symavg as sa
    >>> x, y, z = sp.symbols("x y z", real=True)
    >>> b = sp.Symbol("b", positive=True)
    >>> eps = sa.epsilon
    >>> m = sa.SDE([x, y, z], [y, (b - (2 + sp.cos(z)) * y) / eps, 0],
    ...            noise=[0, sp.sqrt(2 / eps), sp.sqrt(2) / eps], periodic={z: 2 * sp.pi})
    >>> red = sa.reduce(m, fast=[y, z])
    >>> red.drift[0], len(red.records["levels"])
    (b/2, 1)
    """
    from .engine import _view
    from .engine import reduce as engine_reduce

    fast = tuple(fast)
    if not [v for v in view.state if v not in fast]:
        raise ModelError("every continuous variable was declared fast: leave at least one slow")
    title = f"Nested reduction of the fast variables {', '.join(map(str, fast))}"
    deriv = Derivation(title).then(view.step)
    G = view.generator
    remaining = list(fast)
    target = tuple(v for v in view.state if v not in fast)
    levels: list[EffectiveModel] = []
    current: object = model
    label = 1
    while True:
        expansion = G.expand(eps)
        if not expansion or min(expansion) >= 0:
            raise ScaleSeparationError(
                f"after {label - 1} level(s) the fast variables {remaining} are left but no "
                f"term has a negative power of {eps}: they are not fast. Leave them out of "
                "fast=[...].")
        p0, L0 = expansion.leading
        F0 = L0.acts_on()
        wrong = [z for z in F0 if z not in remaining]
        if wrong:
            raise ScaleSeparationError(
                f"level {label}: the fastest order {eps}**({p0}) moves {wrong}, which were "
                f"declared slow; declare them fast, or rescale so that only {remaining} move "
                "faster than the slow variables.")
        if set(F0) == set(remaining) and label == 1:
            later = _extra_fast(view, expansion)
            inter = eliminate_level_or_numeric(G, eps, label, current, tuple(
                v for v in view.state if v not in F0 and v not in later), params, n, method)
            note = Step("level", "Only the fastest level was named fast: the result keeps the "
                                 f"slower fast variables {list(inter.state)} with their powers "
                                 f"of ${sp.latex(eps)}$; reduce it again to eliminate them.")
            return dataclasses.replace(inter, steps=deriv.extend(inter.steps).then(note),
                                       records={**inter.records, "levels": (inter,),
                                                "source": model})
        if set(F0) == set(remaining):
            final = engine_reduce(current, fast=list(F0), order=order, params=params, n=n,
                                  method=method, timescale=timescale)
            break
        inter = eliminate_level_or_numeric(G, eps, label, current, target, params, n, method)
        levels.append(inter)
        deriv = deriv.extend(inter.steps)
        remaining = [y for y in remaining if y not in F0]
        current = inter
        G = _view(inter).generator
        label += 1
    head = Step("level", f"Level {label}: the last fast variables "
                         f"${', '.join(map(sp.latex, F0))}$ (order "
                         f"${sp.latex(eps)}^{{{sp.latex(p0)}}}$), by the single-level engine.")
    deriv = deriv.then(head, *final.steps.steps[1:])
    records = {**final.records, "levels": tuple(levels), "last": final, "source": model}
    return dataclasses.replace(final, steps=deriv, fast=fast, records=records)


# ----------------------------------------------------------------- long time scale
def long_time(red: EffectiveModel, view: _View, model: object, fast: tuple, eps: sp.Symbol,
              timescale: str, ctx: _Context, *, params: Mapping | None = None, n: int = 64,
              method: str = "auto") -> EffectiveModel:
    r"""Pass to the diffusive time scale when the averaged dynamics vanishes.

    When ``red`` (averaging, order 0) has zero drift and zero diffusion, the
    generator on :math:`s = \epsilon^{-p_0}t` is :math:`\epsilon^{p_0}\mathcal L`
    (:meth:`~symavg.models.generator.Generator.scaled`), which is homogenized;
    the result's ``timescale`` is :math:`\epsilon^{-p_0}t` and
    ``records["short time"]`` keeps the zero model. With the default
    ``timescale="auto"`` the zero model is returned with a step that says so
    (``"vanishing averaged dynamics"``); with ``"natural"``, without it.

    Examples
    --------
    >>> import sympy as sp, symavg as sa
    >>> x, y = sp.symbols("x y", real=True)
    >>> eps = sa.epsilon
    >>> s = sp.Function("sigma")(x)
    >>> m = sa.SDE([x, y], [s * y, -y / eps], noise=[0, sp.sqrt(2 / eps)])
    >>> red = sa.reduce(m, fast=[y], timescale="diffusive")
    >>> red.timescale, red.drift[0], red.diffusion[0, 0]
    (epsilon*t, sigma(x)*Derivative(sigma(x), x), 2*sigma(x)**2)
    """
    from .engine import _reduce_view

    vanishing = (red.regime == "averaging" and red.order == 0
                 and all(e == 0 for e in red.drift) and red.diffusion.is_zero_matrix)
    if timescale == "diffusive" and not vanishing:
        moving = [x for i, x in enumerate(red.state)
                  if red.drift[i] != 0 or any(e != 0 for e in red.diffusion.row(i))]
        raise ModelError(
            "timescale='diffusive' applies when averaging gives zero drift and zero diffusion; "
            + (f"here {moving} have a nonzero averaged drift or diffusion" if moving else
               f"this is the {red.regime} regime of order {red.order}")
            + ". Use timescale='auto'.")
    if not vanishing or timescale == "natural":
        return red
    if timescale == "auto":
        # the limit on the scale t is the zero model: say so, and how to go on
        note = Step(
            "vanishing averaged dynamics",
            "The averaged drift and diffusion vanish identically: on the time scale $t$ the "
            f"slow variables do not move. They move on $s = {sp.latex(eps)}^{{"
            f"{sp.latex(-ctx.p0)}}} t$: reduce with timescale='diffusive' for the "
            "homogenized model there.")
        return dataclasses.replace(red, steps=red.steps.then(note))
    p0 = ctx.p0
    e = sp.latex(eps)
    note = Step(
        "long time scale",
        f"The averaged drift and diffusion vanish identically: on the time scale $t$ the "
        f"slow variables do not move. They move on $s = {e}^{{{sp.latex(-p0)}}} t$, where "
        rf"the generator is ${e}^{{{sp.latex(p0)}}}\mathcal{{L}}$ "
        "(timescale='diffusive'); it is homogenized there.",
        (("s", eps ** (-p0) * TIME),))
    scaled = dataclasses.replace(view, generator=view.generator.scaled(eps**p0), step=note)
    long = _reduce_view(scaled, model, list(fast), eps, None, 0, params, n, method, "natural")
    steps = red.steps.extend(long.steps)
    records = {**long.records, "short time": red}
    return dataclasses.replace(long, steps=steps, timescale=eps ** (-p0) * TIME,
                               records=records)
