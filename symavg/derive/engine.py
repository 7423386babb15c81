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

**Finite-state fast processes.** When the fast variable is a chain's state
(a :class:`~symavg.models.markov.SwitchingSDE` whose rates are
:math:`Q/\epsilon`), functions of the fast variable are columns over the
states, :math:`\mathcal L_0 = Q` acts by matrix multiplication, the measure
is the stationary law :math:`\pi` and the cell problems are linear systems
(:class:`~symavg.derive.poisson.DiscreteCorrector`); the expansion is the same.

**Order one in the averaging regime** (``order=1``): with
:math:`f = \langle\cdot\rangle`-centred drift :math:`f - \bar f` of the slow
variables and :math:`-\mathcal L_0\Phi_j = f_j - \bar f_j`, the diffusion
approximation (the central-limit correction around the averaged ODE;
Pavliotis & Stuart 2008, Sec. 10.7 / 17.4; Freidlin & Wentzell, Ch. 7.3) is

.. math::

    dX = \bar f(X)\,dt + \sqrt{\bar a + \epsilon^{a} D}\,dW, \qquad
    D_{ij} = \langle (f_i - \bar f_i)\Phi_j\rangle + \langle (f_j - \bar f_j)\Phi_i\rangle ,

with :math:`\epsilon^{-a}` the power of the fast generator: the time integral
of the autocorrelation of :math:`f` along the fast process. It reproduces the
covariance of :math:`X^\epsilon` to order :math:`\epsilon`; the
:math:`O(\epsilon)` correction to the mean is not included.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import sympy as sp

from .._sympy_util import is_rational_expression, lowest_terms, with_budget, zero_check
from ..errors import ModelError, ScaleSeparationError, UnsolvedError
from ..models._admissible import check_sign_assumptions
from ..models._common import same_scale
from ..models._linalg import matrix_sqrt
from ..models.effective import TIME, EffectiveModel
from ..models.generator import Expansion, Generator
from ..models.markov import MarkovChain, SwitchingSDE
from ..models.sde import SDE
from ..report.derivation import Average, Check, Derivation, Step
from ..report.names import fresh_name, user_names
from . import poisson
from ._context import (
    collecting_conditions,
    discard_conditions,
    numeric_parameters,
    recorded_conditions,
)
from .invariant import InvariantMeasure, invariant_measure
from .measures import DensityMeasure, DiscreteMeasure
from .poisson import Corrector, centering_check, solve_poisson
from .validity import validity_conditions

REGIMES = ("averaging", "homogenization")


@dataclass(frozen=True)
class _View:
    """What the engine needs of a declaration: its variables, generator, scale."""

    state: tuple[sp.Symbol, ...]        # continuous variables
    generator: Generator
    eps: sp.Symbol
    periodic: dict
    step: Step
    chain: sp.Symbol | None = None       # the finite state's symbol, if any


def _view(model: object) -> _View:
    if isinstance(model, SDE):
        return _View(model.state, model.generator, model.eps, model.periodic_map,
                     _model_step(model))
    if isinstance(model, SwitchingSDE):
        return _View(model.state, model.generator, model.eps, model.periodic_map,
                     _switching_step(model), chain=model.chain.symbol)
    if isinstance(model, EffectiveModel):
        if model.eps is None:
            raise ModelError("this EffectiveModel carries no scale parameter: it cannot be "
                             "reduced again")
        G = model.generator
        return _View(model.state, G, model.eps, model.periodic_map, Step(
            "model", f"The {model.regime} model of order {model.order} in "
                     f"${', '.join(sp.latex(z) for z in model.state)}$, reduced again.",
            (("F", model.drift), ("A A^T", model.diffusion))))
    raise ModelError(
        f"reduce expects an SDE, a SwitchingSDE or an EffectiveModel; got "
        f"{type(model).__name__}"
    )


def reduce(model: SDE | SwitchingSDE | EffectiveModel,
           fast: Sequence[sp.Symbol] | sp.Symbol | MarkovChain | None = None,
           eps: sp.Symbol | None = None, regime: str | None = None, *, order: int = 0,
           params: Mapping | None = None, n: int = 64, method: str = "auto",
           timescale: str = "auto") -> EffectiveModel:
    r"""Eliminate the fast variables of ``model``; detect the regime.

    Several fast levels (e.g. ``z`` on :math:`\epsilon^{-2}`, ``y`` on
    :math:`\epsilon^{-1}`) are reduced one after the other, fastest first
    (:func:`symavg.derive.multiscale.reduce_nested`); ``records["levels"]``
    keeps every intermediate :class:`EffectiveModel`.

    Parameters
    ----------
    model : SDE, SwitchingSDE or EffectiveModel
        The full slow-fast model, with its scale parameter ``model.eps`` in
        its coefficients (an :class:`EffectiveModel` that still has fast
        variables can be reduced again).
    fast : Symbol, list of Symbol, or MarkovChain, optional
        The fast variables (those the most singular term of the generator
        acts on; a chain stands for its state). By default they are read off
        the expansion: the variables the most singular level moves.
    eps : Symbol, optional
        The scale parameter; it is the model's (``model.eps``). Passing
        another symbol is an error.
    regime : {"averaging", "homogenization"}, optional
        Force a regime; by default it is read off the powers of ``eps``.
    order : {0, 1}
        0: the limit model. 1 (averaging regime): add the :math:`O(\epsilon)`
        diffusion of the fluctuations around the averaged dynamics (the
        diffusion approximation; see the module docstring).
    params : dict {Symbol: number}, optional
        Parameter values for the numeric fallback (``{}`` when there are none):
        when no closed form is found, the invariant density and the cell
        problems are solved spectrally -- on an ``n``-point Fourier grid per
        periodic fast variable (:mod:`symavg.derive.numeric_cell`), on a
        ``2n``-point Chebyshev grid per fast variable on the line with a
        confining drift (:mod:`symavg.derive.numeric_line`) -- and the
        effective coefficients are numbers.
    n : int
        Grid points per periodic fast dimension (twice as many on the line) for
        the numeric fallback.
    method : {"auto", "symbolic", "numeric"}
        ``"auto"`` tries the closed forms first and falls back to numbers when
        ``params`` is given.
    timescale : {"auto", "natural", "diffusive"}
        When averaging gives zero drift and zero diffusion for every slow
        variable, the slow dynamics happens on the longer time scale
        :math:`s = \epsilon^{-p_0} t`: ``"diffusive"`` homogenizes there (the
        result's ``timescale`` is :math:`\epsilon^{-p_0}t`, and the derivation
        says so; an error when the averaged dynamics does not vanish);
        ``"auto"`` (the default) returns the zero model on the scale :math:`t`
        with a step saying that it vanishes and how to go on; ``"natural"``
        the zero model alone. See :mod:`symavg.derive.multiscale`.

    Returns
    -------
    EffectiveModel
        The reduced SDE for the slow variables with its :class:`Derivation`,
        its ``order`` and ``timescale``, and the intermediate ``records``
        (expansion, invariant measure, correctors).

    Examples
    --------
    >>> import sympy as sp, symavg as sa
    >>> x, y = sp.symbols("x y", real=True)
    >>> eps = sa.epsilon
    >>> m = sa.SDE([x, y], [y / eps, -y / eps**2], noise=[[0], [sp.sqrt(2) / eps]])
    >>> red = sa.reduce(m, fast=[y])
    >>> red.regime, red.drift[0], red.diffusion[0, 0]
    ('homogenization', 0, 2)

    A two-state promoter switching at rates :math:`a/\epsilon`, :math:`b/\epsilon`:

    >>> a, b, g = sp.symbols("a b gamma", positive=True)
    >>> chain = sa.MarkovChain({("off", "on"): a / eps, ("on", "off"): b / eps})
    >>> pdmp = sa.SwitchingSDE([x], chain, drift={"off": -g * x, "on": 1 - g * x})
    >>> sp.simplify(sa.reduce(pdmp).drift[0] - (a / (a + b) - g * x))
    0
    >>> sa.reduce(pdmp, order=1).diffusion[0, 0]
    2*a*b*epsilon/(a + b)**3
    """
    from ..models.deterministic import DeterministicFlow, DeterministicMap

    if isinstance(model, DeterministicFlow):   # fast chaotic flow: numeric Green-Kubo
        from .chaotic import reduce_chaotic

        same_scale(model, eps, "reduce")
        return reduce_chaotic(model, fast, params=params)
    if isinstance(model, DeterministicMap):    # fast chaotic map: discrete Green-Kubo sums
        from .chaotic_map import reduce_chaotic_map

        same_scale(model, eps, "reduce")
        return reduce_chaotic_map(model, fast, params=params)
    view = _view(model)
    eps = same_scale(model, eps, "reduce")
    with collecting_conditions():  # the validity conditions of the integrals on the way
        return _reduce_view(view, model, fast, eps, regime, order, params, n, method,
                            timescale)


def _reduce_view(view: _View, model: object, fast: object, eps: sp.Symbol,
                 regime: str | None, order: int, params: Mapping | None, n: int, method: str,
                 timescale: str) -> EffectiveModel:
    """:func:`reduce` on a view of the declaration (its generator, variables and scale)."""
    from . import multiscale, multiscale_chain

    multiscale.check_timescale(timescale)
    if order not in (0, 1):
        raise ModelError(f"order must be 0 (the limit) or 1 (with the O(eps) correction); got "
                         f"{order!r}")
    expansion = view.generator.expand(eps)
    superfast = multiscale_chain.nested_chain_fast(view, model, expansion, fast)
    if superfast is not None:   # a super-fast diffusion modulating a fast chain
        return multiscale_chain.reduce_chain_nested(view, model, superfast, eps, order=order,
                                                    params=params, n=n, method=method,
                                                    timescale=timescale)
    if method == "numeric" and params is not None and expansion and min(expansion) < 0:
        # the nesting test averages slower drifts under rho_0: numerically too (a closed
        # form for rho_0 may not exist, and trying for one costs budgeted integrals)
        F0 = set(expansion.leading[1].acts_on())
        with numeric_parameters(params, n, tuple(v for v in view.state if v not in F0)):
            nested = multiscale.nested_fast(view, expansion, fast, eps, regime)
    else:
        nested = multiscale.nested_fast(view, expansion, fast, eps, regime)
    if nested is not None:
        return multiscale.reduce_nested(view, model, nested, eps, order=order, params=params,
                                        n=n, method=method, timescale=timescale)
    fast = _fast_tuple(fast, view, expansion, eps)
    _validate(view, fast, eps, regime)
    slow = tuple(z for z in view.state if z not in fast)
    per = view.periodic
    title = f"Reduction of the fast variables {', '.join(map(str, fast))}"
    deriv = Derivation(title)
    deriv = deriv.then(view.step)

    L0_order, mid, top, found = _split(expansion, slow, fast, eps, regime)
    if order == 1 and mid is not None:
        raise ModelError(
            "order=1 is the O(eps) diffusion approximation of the averaging regime; this model "
            "is in the homogenization regime, whose limit already carries the fluctuations. Use "
            "order=0."
        )
    deriv = deriv.then(_split_step(expansion, L0_order, mid, found, eps))
    L0 = expansion[L0_order]
    L1 = expansion.get(mid) if mid is not None else None
    L2 = expansion.get(sp.S.Zero, Generator(view.state, [0] * len(view.state),
                                            modes=view.generator.modes,
                                            mode_symbol=view.generator.mode_symbol))
    if method not in ("auto", "symbolic", "numeric"):
        raise ModelError(f"method must be 'auto', 'symbolic' or 'numeric'; got {method!r}")
    ctx = _Context(fast, slow, eps, per, L0_order, expansion, order, model)
    if method == "numeric" and params is None:
        raise ModelError("method='numeric' needs params={symbol: value}")
    def finish(red: EffectiveModel) -> EffectiveModel:
        return multiscale.long_time(red, view, model, fast, eps, timescale, ctx,
                                    params=params, n=n, method=method)

    before = len(recorded_conditions())   # an outer level's conditions stay
    if method != "numeric":
        try:
            return finish(_reduce_symbolic(deriv, L0, L1, L2, mid, ctx))
        except UnsolvedError as exc:
            on_torus = view.chain is None and all(y in per for y in fast)
            if params is None and on_torus and not _parameters(view, eps):
                params = {}  # nothing to give: the numeric cell solver applies as it is
            elif params is None:
                hint = ("" if view.chain is not None or poisson.NUMERIC_HINT in str(exc) else
                        " " + poisson.numeric_hint(L0.restrict(fast, strict=False)))
                raise UnsolvedError(f"{exc}{hint}") from None
            reason = str(exc)
    else:
        reason = "numeric route requested"
    discard_conditions(before)  # those of the closed-form attempt: not the numeric result's
    with numeric_parameters(params, n, slow):
        deriv = deriv.then(Step(
            "numeric cell problems",
            f"No closed form ({reason}): the invariant density and the cell problems are "
            f"solved by spectral collocation (a Fourier grid on a circle, a Chebyshev grid on "
            f"the line) with {n} points per circle and {2 * n} per line, and again with "
            f"{max(8, n // 2)} and {2 * max(8, n // 2)}, at the given parameter values; the "
            "difference of every average is recorded as its discretisation error.",
            (("params", sp.Dict({sp.sympify(k): sp.Float(v) for k, v in params.items()})),)))
        return finish(_reduce_symbolic(deriv, L0, L1, L2, mid, ctx))


def _parameters(view: _View, eps: sp.Symbol) -> set[sp.Symbol]:
    """The model's free parameters: the symbols of its coefficients other than the state
    variables and the scale."""
    G = view.generator.merge_modes()
    syms = set().union(*(sp.sympify(e).free_symbols for e in (*G.drift, *G.diffusion)))
    return {s for s in syms - set(view.state) - {eps} if isinstance(s, sp.Symbol)}


@dataclass(frozen=True)
class _Context:
    fast: tuple
    slow: tuple
    eps: sp.Symbol
    per: dict
    p0: sp.Rational
    expansion: Expansion
    order: int
    source: object


def _fast_tuple(fast: object, view: _View, expansion: Expansion,
                eps: sp.Symbol) -> tuple[sp.Symbol, ...]:
    """The fast variables as symbols: given, or read off the most singular level."""
    if fast is None:
        if not expansion or min(expansion) >= 0:
            raise ScaleSeparationError(
                f"no term of the generator has a negative power of {eps}: nothing is fast. "
                f"Scale the fast dynamics by 1/{eps} (averaging) or 1/{eps}**2 "
                "(homogenization), or name the fast variables with fast=[...]."
            )
        return tuple(expansion.leading[1].acts_on())
    if isinstance(fast, sp.Symbol | MarkovChain):
        fast = [fast]
    out = []
    for y in fast:
        if isinstance(y, MarkovChain):
            y = y.symbol
        out.append(y)
    return tuple(out)


def _placeholder(x: sp.Symbol, measure: InvariantMeasure, slow: tuple,
                 fast: tuple) -> sp.Expr | sp.ImmutableMatrix:
    """A stand-in for the corrector of ``x``: a function of slow and fast variables, or a
    column of functions of the slow variables (one per state) for a finite fast state."""
    disc = measure if isinstance(measure, DiscreteMeasure) else getattr(measure, "discrete",
                                                                          None)
    if disc is not None:
        args = (*slow, *(y for y in fast if y != disc.symbol))
        return sp.ImmutableMatrix([sp.Function(f"Phi_{x}_{k}")(*args) if args else
                                   sp.Symbol(f"Phi_{x}_{k}") for k in range(len(disc.states))])
    return sp.Function(f"Phi_{x}")(*slow, *fast)


def _reduce_symbolic(deriv: Derivation, L0: Generator, L1: Generator | None, L2: Generator,
                     mid: sp.Rational | None, ctx: _Context) -> EffectiveModel:
    """The closed-form route of :func:`reduce` (see the module docstring)."""
    fast, slow = ctx.fast, ctx.slow
    measure = invariant_measure(L0, fast)
    deriv = deriv.then(measure.step())

    v0 = sp.Function("v_0")(*slow)
    u1: object = sp.S.Zero
    phis: dict[sp.Symbol, tuple[object, Corrector]] = {}
    if L1 is not None:
        parts = _by_derivative(L1.apply(v0), v0, slow)
        _require_first_order(parts, slow, ctx.eps, mid)
        cent = [centering_check(_part(parts, (x,), L1), measure, f"h_{x}") for x in slow]
        deriv = deriv.then(Step(
            "centering",
            r"At the next order $-\mathcal{L}_0 u_1 = \mathcal{L}_1 v_0 = "
            r"\sum_i h_i \partial_i v_0$; solvability requires $\langle h_i\rangle = 0$, and then "
            r"$u_1 = \sum_i \Phi_i \partial_i v_0$ with $-\mathcal{L}_0 \Phi_i = h_i$.",
            tuple((rf"h_{{{sp.latex(x)}}}", _part(parts, (x,), L1)) for x in slow),
            tuple(cent),
            averages=tuple(_average_record(measure, _part(parts, (x,), L1), f"h_{x}",
                                           sp.S.Zero, defined=True) for x in slow)))
        for x in slow:
            h = _part(parts, (x,), L1)
            if _is_zero(h):
                continue
            sol = solve_poisson(L0, h, fast, measure, check_centering=False)
            ph = _placeholder(x, measure, slow, fast)
            phis[x] = (ph, sol)
            u1 = u1 + ph * sp.diff(v0, x)
            deriv = deriv.then(sol.step(rf"\Phi_{{{sp.latex(x)}}}"))

    E = _plus(L1.apply(u1) if L1 is not None else sp.S.Zero, L2.apply(v0))
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
    averages = _coefficient_averages(coeffs, drift, diff, measure, slow)
    deriv = deriv.then(Step(
        "solvability",
        (r"Solvability at order one: $\partial_t v_0 = \langle \mathcal{L}_1 u_1 + "
         r"\mathcal{L}_2 v_0\rangle_\rho$." if L1 is not None else
         r"Solvability at order one: $\partial_t v_0 = \langle \mathcal{L}_1 v_0\rangle_\rho$."),
        ((r"\partial_t v_0", _effective_operator(drift, diff, v0, slow)),),
        _dedupe(avg_checks), averages=averages))
    regime = "homogenization" if L1 is not None else "averaging"
    correctors = {x: sol for x, (_, sol) in phis.items()}
    if ctx.order == 1:
        diff, deriv, fluct = _fluctuations(coeffs, drift, diff, measure, L0, ctx, deriv)
        correctors.update(fluct)
    records = {"expansion": ctx.expansion, "measure": measure, "correctors": correctors,
               "source": ctx.source}
    return effective_model(deriv, drift, diff, regime, fast, slow, ctx.eps, ctx.per,
                           order=ctx.order, records=records)


def _fluctuations(coeffs: dict, drift: list, diff: sp.Matrix, measure: InvariantMeasure,
                  L0: Generator, ctx: _Context, deriv: Derivation
                  ) -> tuple[sp.Matrix, Derivation, dict]:
    r"""The order-one diffusion of the averaging regime (see the module docstring):
    :math:`D_{ij} = \langle (f_i-\bar f_i)\Phi_j\rangle + \langle (f_j-\bar f_j)\Phi_i\rangle`,
    :math:`-\mathcal L_0\Phi_j = f_j - \bar f_j`, scaled by :math:`\epsilon^{-p_0}`."""
    fast, slow = ctx.fast, ctx.slow
    n = len(slow)
    centred: dict[sp.Symbol, object] = {}
    phis: dict[sp.Symbol, tuple[object, Corrector]] = {}
    sols: dict[sp.Symbol, Corrector] = {}
    for i, x in enumerate(slow):
        f = coeffs.get((x,), sp.S.Zero)
        h = _minus(f, drift[i])
        if _is_zero(h):
            continue
        centred[x] = h
        sol = solve_poisson(L0, h, fast, measure)
        ph = _placeholder(x, measure, slow, fast)
        phis[x] = (ph, sol)
        sols[x] = sol
        deriv = deriv.then(sol.step(rf"\Phi_{{{sp.latex(x)}}}"))
    D = sp.zeros(n, n)
    checks: list[Check] = []
    averages = []
    # the integrands' names, kept distinct from the user's symbols and functions
    taken = set(user_names([*coeffs.values(), *drift, diff]))
    for i, xi in enumerate(slow):
        for j, xj in enumerate(slow):
            if xi not in centred or xj not in phis:
                continue
            c = _times(centred[xi], phis[xj][0])
            val, chk = _average(c, measure, {xj: phis[xj]}, fast, slow)
            checks.extend(chk)
            D[i, j] += val
            D[j, i] += val
            name = fresh_name(f"g_{xi}{xj}" if len(slow) > 1 else "g", taken)
            averages.append(_average_record(
                measure, c, name, _tidy(val),
                label=rf"\langle (f_{{{sp.latex(xi)}}} - \bar f_{{{sp.latex(xi)}}})"
                      rf"\Phi_{{{sp.latex(xj)}}}\rangle_\rho"))
    scale = ctx.eps ** (-ctx.p0)
    D = D.applyfunc(_tidy)
    new = (diff + scale * D).applyfunc(_tidy)
    deriv = deriv.then(Step(
        "diffusion approximation",
        rf"Order one in ${sp.latex(ctx.eps)}$: with $-\mathcal{{L}}_0\Phi_j = f_j - \bar f_j$, "
        r"the fluctuations around the averaged dynamics diffuse with "
        r"$D_{ij} = \langle (f_i-\bar f_i)\Phi_j\rangle + \langle (f_j-\bar f_j)\Phi_i\rangle$ "
        rf"(the time integral of the autocorrelation of $f$), scaled by "
        rf"${sp.latex(scale)}$.", (("D", D), (r"A A^T", new)), _dedupe(checks),
        averages=tuple(averages)))
    return new, deriv, sols


def _average_record(measure: InvariantMeasure, f: object, name: str, value: object, *,
                    label: str | None = None, defined: bool = False) -> Average:
    r"""The record of :math:`\langle f\rangle_\rho = \int f\rho\,dy = ` ``value`` for the
    derivation (``name`` a plain name such as ``"h_x"``, printed :math:`h_{x}`)."""
    tex = sp.latex(sp.Symbol(name))
    label = label if label is not None else rf"\langle {tex}\rangle_\rho"
    named = measure.written(name if isinstance(f, sp.MatrixBase) else sp.Symbol(name))
    return Average(label, f, measure.written(f), value, tex, named, defined)


def _coefficient_averages(coeffs: dict, drift: list, diff: sp.Matrix,
                          measure: InvariantMeasure, slow: tuple) -> tuple[Average, ...]:
    r"""The averages of the solvability step, one per coefficient of the effective
    operator: :math:`F_i = \langle c_i\rangle` for :math:`\partial_i v_0`,
    :math:`\tfrac12 (AA^T)_{ii} = \langle c_{ii}\rangle` for :math:`\partial_i^2 v_0` and
    :math:`(AA^T)_{ij} = \langle c_{ij}\rangle` for :math:`\partial_i\partial_j v_0`."""
    out = []
    for key, c in sorted(coeffs.items(), key=lambda kv: (len(kv[0]),
                                                         [slow.index(v) for v in kv[0]])):
        sub = "".join(str(v) for v in key)
        idx = "".join(str(slow.index(v) + 1) for v in key) if len(slow) > 1 else ""
        name = f"c_{sub}"
        tex = sp.latex(sp.Symbol(name))
        if len(key) == 1:
            left, value = f"F_{{{idx}}}" if idx else "F", drift[slow.index(key[0])]
        else:
            i, j = (slow.index(v) for v in key)
            half = i == j
            left = (r"\tfrac12 " if half else "") + (rf"(A A^T)_{{{idx}}}" if idx else "A A^T")
            value = diff[i, j] / 2 if half else diff[i, j]
        out.append(_average_record(measure, c, name, value,
                                   label=rf"{left} = \langle {tex}\rangle_\rho"))
    return tuple(out)


def _is_zero(e: object) -> bool:
    return e.is_zero_matrix if isinstance(e, sp.MatrixBase) else sp.sympify(e) == 0


def _as_columns(a: object, b: object) -> tuple[sp.Matrix, sp.Matrix] | None:
    """``a`` and ``b`` as columns of the same length when either is a column (a function of
    a finite state); a plain expression stands for the same value in every state."""
    if not (isinstance(a, sp.MatrixBase) or isinstance(b, sp.MatrixBase)):
        return None
    n = (a if isinstance(a, sp.MatrixBase) else b).shape[0]
    return tuple(sp.Matrix(v) if isinstance(v, sp.MatrixBase) else sp.Matrix([v] * n)
                 for v in (a, b))  # type: ignore[return-value]


def _plus(a: object, b: object) -> object:
    cols = _as_columns(a, b)
    return a + b if cols is None else sp.ImmutableMatrix(cols[0] + cols[1])


def _minus(a: object, b: sp.Expr) -> object:
    if isinstance(a, sp.MatrixBase):
        return sp.ImmutableMatrix(a.applyfunc(lambda e: sp.cancel(e - b)
                                              if is_rational_expression(e - b, True)
                                              else sp.expand(e - b)))
    return sp.expand(a - b)


def _times(a: object, b: object) -> object:
    cols = _as_columns(a, b)
    return a * b if cols is None else sp.ImmutableMatrix(cols[0].multiply_elementwise(cols[1]))


def _part(parts: dict, key: tuple, L: Generator) -> object:
    """The coefficient ``parts[key]``, zero (of the right shape) when absent."""
    if key in parts:
        return parts[key]
    return sp.ImmutableMatrix.zeros(len(L.modes), 1) if L.modes else sp.S.Zero


def effective_model(deriv: Derivation, drift: list, diff: sp.Matrix, regime: str, fast: tuple,
                    slow: tuple, eps: sp.Symbol, per: dict, *, order: int = 0,
                    records: Mapping | None = None) -> EffectiveModel:
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
        f"The {regime} {'limit' if order == 0 else 'model to order one'}: "
        f"$dX = F(X)\\,dt + A(X)\\,dW$ for the slow variables "
        f"${', '.join(map(sp.latex, slow))}$.", tuple(exprs), tuple(noise_checks)))
    validity, vstep = validity_conditions(drift, diff, slow, records)
    deriv = deriv.then(vstep) if vstep is not None else deriv
    return EffectiveModel(
        state=slow, drift=sp.ImmutableMatrix(drift), diffusion=sp.ImmutableMatrix(diff),
        noise=noise, regime=regime, steps=deriv, fast=fast, eps=eps,
        periodic=tuple((x, per[x]) for x in slow if x in per), order=order, timescale=TIME,
        validity=validity, records=dict(records or {}))


def average(model: SDE | SwitchingSDE, fast: Sequence[sp.Symbol] | sp.Symbol | None = None,
            eps: sp.Symbol | None = None, *, order: int = 0) -> EffectiveModel:
    r"""Averaging: :math:`\mathcal L = \epsilon^{-1}\mathcal L_0 + \mathcal L_1`
    gives :math:`F = \langle f\rangle_\rho`, :math:`AA^T = \langle \alpha\alpha^T\rangle_\rho`.
    See :func:`reduce`.

    Parameters
    ----------
    model : SDE or SwitchingSDE
        The full model, the fast part at order ``1/eps``.
    fast : sequence of Symbol, optional
        The fast variables (read off the generator when left out).
    eps : Symbol, optional
        The scale parameter (default: the model's).
    order : int
        0 (the limit) or 1 (with the O(eps) diffusion of the fluctuations).

    Returns
    -------
    EffectiveModel
        As :func:`reduce`, which raises ``ScaleSeparationError`` when the model is not in the
        averaging regime.

    Examples
    --------
    >>> import sympy as sp, symavg as sa
    >>> x, y = sp.symbols("x y", real=True)
    >>> eps = sa.epsilon
    >>> m = sa.SDE([x, y], [y - x, -y / eps], noise=[[0], [sp.sqrt(2 / eps)]])
    >>> sa.average(m, fast=[y]).drift[0]
    -x
    """
    return reduce(model, fast, eps, regime="averaging", order=order)


def homogenize(model: SDE | SwitchingSDE, fast: Sequence[sp.Symbol] | sp.Symbol | None = None,
               eps: sp.Symbol | None = None) -> EffectiveModel:
    r"""Homogenization: :math:`\mathcal L = \epsilon^{-2}\mathcal L_0 +
    \epsilon^{-1}\mathcal L_1 + \mathcal L_2` gives the generator
    :math:`\langle\mathcal L_1\Phi\cdot\nabla_x + \mathcal L_2\rangle_\rho`.
    See :func:`reduce`.

    Parameters
    ----------
    model : SDE or SwitchingSDE
        The full model, the fast part at order ``1/eps**2``.
    fast : sequence of Symbol, optional
        The fast variables (read off the generator when left out).
    eps : Symbol, optional
        The scale parameter (default: the model's).

    Returns
    -------
    EffectiveModel
        As :func:`reduce`, which raises ``ScaleSeparationError`` when the model is not in the
        homogenization regime.

    Examples
    --------
    >>> import sympy as sp, symavg as sa
    >>> x, y = sp.symbols("x y", real=True)
    >>> eps = sa.epsilon
    >>> m = sa.SDE([x, y], [y / eps, -y / eps**2], noise=[[0], [sp.sqrt(2) / eps]])
    >>> sa.homogenize(m, fast=[y]).diffusion[0, 0]
    2
    """
    return reduce(model, fast, eps, regime="homogenization")


# ----------------------------------------------------------------- validation
def _validate(view: _View, fast: tuple, eps: sp.Symbol, regime: str | None) -> None:
    if regime is not None and regime not in REGIMES:
        raise ModelError(f"regime must be one of {REGIMES}; got {regime!r}")
    if not fast:
        raise ModelError("no fast variable given: pass fast=[y, ...]")
    names = view.state + ((view.chain,) if view.chain is not None else ())
    for y in fast:
        if y not in names:
            raise ModelError(f"fast variable {y} is not a state variable of {list(names)}")
    if not [z for z in view.state if z not in fast]:
        raise ModelError("every continuous variable was declared fast: leave at least one slow")
    # a fast variable declared positive must stay on its half-line, else its law would be
    # integrated over the half-line only (models/_admissible.check_sign_assumptions)
    for part in view.generator.diffusion_parts:
        check_sign_assumptions(view.state, part.drift, part.diffusion, view.periodic,
                               only=[y for y in fast if y in view.state])
    if view.chain is not None and view.chain not in fast:
        raise ModelError(
            f"the chain's state {view.chain} is slow here: reducing fast continuous variables "
            "of a switching SDE with a slow chain is not supported. Make the chain fast (rates "
            f"proportional to 1/{eps}) or reduce the continuous SDE for each chain state."
        )
    G = view.generator
    coeffs = [e for p in G.parts for e in (list(p.drift) + list(p.diffusion)
                                           if hasattr(p, "drift") else [p.potential])]
    coeffs += list(G.jump.rates) if G.jump is not None else []
    from ..report.names import check_names

    check_names([*view.state, *coeffs], [z for z in view.state if z not in fast], eps)
    if not any(sp.sympify(e).has(eps) for e in coeffs):
        raise ScaleSeparationError(
            f"the scale parameter {eps} does not appear in the model: write the fast terms "
            f"with explicit powers of {eps} (e.g. -y/{eps}**2), or declare the model with "
            "eps=<your symbol>."
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
def _by_derivative(expr: object, v0: sp.Expr, slow: tuple) -> dict[tuple, object]:
    """Split ``expr = sum_k c_k D^k v0`` into ``{variables of D^k: c_k}``; for a column
    (a function of a finite state) the coefficients are columns."""
    if isinstance(expr, sp.MatrixBase):
        rows = [_by_derivative(e, v0, slow) for e in expr]
        keys = {k for r in rows for k in r}
        return {k: sp.ImmutableMatrix([r.get(k, sp.S.Zero) for r in rows]) for k in keys}
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
    # e is expanded: read each term's derivative off directly (one pass over the terms;
    # differentiating the whole sum once per derivative took seconds for 600 terms)
    buckets: dict[sp.Symbol, list[sp.Expr]] = {d: [] for d in dummies}
    rest_terms = []
    for term in sp.Add.make_args(e):
        present = [d for d in dummies if term.has(d)]
        if not present:
            rest_terms.append(term)
            continue
        c, r = term.as_independent(*present, as_Add=False)
        if len(present) > 1 or r != present[0]:
            raise ScaleSeparationError(f"nonlinear term in the generator expansion: {term}")
        buckets[present[0]].append(c)
    rest = sp.Add(*rest_terms)
    if sp.simplify(rest) != 0:
        raise ScaleSeparationError(f"a term {rest} does not act on the test function")
    for sym in dummies:
        c = sp.Add(*buckets[sym])
        if c != 0:
            out[keys[sym]] = out.get(keys[sym], 0) + c
    if () in out and sp.simplify(out[()]) != 0:
        raise ScaleSeparationError("the effective operator has a zeroth-order (killing) term")
    out.pop((), None)
    return out


def _require_first_order(parts: dict, slow: tuple, eps: sp.Symbol, mid: sp.Rational) -> None:
    bad = [k for k in parts if len(k) != 1 and not _is_zero(sp.simplify(parts[k]))]
    if bad:
        raise ScaleSeparationError(
            f"the slow variables diffuse at order {eps}**({mid}) (terms in "
            f"{[str(k) for k in bad]}): they move on a faster scale than the homogenization "
            "limit allows. Rescale their noise."
        )


def _average(c: object, measure: InvariantMeasure, phis: dict, fast: tuple,
             slow: tuple) -> tuple[sp.Expr, list[Check]]:
    r"""Average a coefficient that may contain the correctors :math:`\Phi_i`.

    On a finite state space ``c`` is a column and the correctors' columns are
    substituted before :math:`\sum_i\pi_i c_i`. Otherwise closed-form
    :math:`\Phi_i` are substituted; for a corrector known only through
    :math:`\partial_y\Phi` (a one-variable block), the terms :math:`g\,\Phi` and
    :math:`g\,\partial_x\Phi` are integrated by parts in that block
    (:meth:`~symavg.derive.measures.DensityMeasure.expect_by_parts`), which is
    valid because such ``g`` are centred (they are the right-hand sides of the
    cell problems).
    """
    if getattr(measure, "averages_correctors", False) and phis:
        return measure.average_with_correctors(c, phis, slow)
    if isinstance(c, sp.MatrixBase):
        repl = {}
        for ph, sol in phis.values():
            for k, f in enumerate(ph):
                repl[f] = sol.phi[k]
        col = sp.ImmutableMatrix(c).xreplace(repl).doit()
        value, checks = measure.expect_checked(col)
        return value, list(checks)
    c = sp.sympify(c)
    pending: list[tuple[sp.Expr, sp.Expr, sp.Symbol]] = []
    for ph, sol in phis.values():
        if not c.has(ph.func):
            continue
        if sol.phi is not None:
            c = c.subs(ph, sol.phi).doit()
            continue
        # split Phi = sum_b Phi_b over the blocks, substitute the closed ones
        pieces = []
        for k, (blk, bsol) in enumerate(sol.blocks):
            if bsol.phi is not None:
                pieces.append(bsol.phi)
                continue
            if len(blk) != 1:
                raise UnsolvedError(f"the corrector block in {list(blk)} has no closed form and "
                                    "more than one variable")
            pieces.append(sp.Function(f"{ph.func.__name__}_{k}")(*slow, *blk))
        c = c.subs(ph, sp.Add(*pieces)).doit()
        for k, (blk, bsol) in enumerate(sol.blocks):
            if bsol.phi is not None:
                continue
            y = blk[0]
            P = sp.Function(f"{ph.func.__name__}_{k}")(*slow, *blk)
            c = _take_gradient(c, P, y, bsol.gradient[0], pending)
    if c.has(*[p.func for p, _ in phis.values()]):
        raise ScaleSeparationError(f"could not eliminate the cell solutions from {c}")
    value, checks = measure.expect_checked(c)
    checks = list(checks)
    for g, dy, y in pending:
        block = measure.block_of(y)
        if not isinstance(block, DensityMeasure):
            raise UnsolvedError(f"integration by parts in {y} needs a density")
        # the corrector depends on its block only: average g over the other blocks first,
        # <g Phi_b> = <<g>_others Phi_b>_b, then integrate by parts in y
        for other in measure.factors:
            if y not in other.fast:
                g, chk = other.expect_checked(g)
                checks.extend(chk)
        if sp.sympify(g) == 0:
            continue
        val, chk = block.expect_by_parts(g, dy, y)
        value += val
        checks.extend(chk)
    return value, checks


def _take_gradient(c: sp.Expr, P: sp.Expr, y: sp.Symbol, grad: sp.Expr,
                   pending: list) -> sp.Expr:
    """Replace the y-derivatives of the stand-in ``P`` by ``grad``; move the terms linear in
    ``P`` and its slow derivatives to ``pending`` as ``(g, d_y of that factor, y)``."""
    repl = {}
    for d in c.atoms(sp.Derivative):
        if d.expr != P:
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
    atoms = [a for a in c.atoms(sp.Derivative) if a.expr == P] + [P]
    for a in atoms:
        dummy = sp.Dummy("P")
        ce = sp.expand(c.xreplace({a: dummy}))
        g = ce.coeff(dummy)
        if g == 0:
            continue
        c = sp.expand(ce - g * dummy)
        dy = grad
        if isinstance(a, sp.Derivative):
            for v, k in a.variable_count:
                dy = sp.diff(dy, v, k)
        pending.append((g, dy, y))
    return c


def _tidy(e: sp.Expr) -> sp.Expr:
    """A readable form of an effective coefficient.

    Rational functions (of symbols and of function values such as ``g(x)``,
    ``g'(x)``, ``cos(x)``, ``I_0(k)``) are put in lowest terms by ``cancel`` and
    ``factor`` in-process, which is fast; other expressions (square roots, ...)
    go through ``simplify`` with a budget, large ones are only expanded."""
    if e == 0 or e.has(sp.Integral):
        return e
    lowest = lowest_terms(e)
    if lowest is not None:
        return lowest
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


def _model_step(model: SDE) -> Step:
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


def _switching_step(model: SwitchingSDE) -> Step:
    exprs: list[tuple[str, sp.Basic]] = [("Q", model.chain.Q)]
    for lab in model.modes:
        exprs.append((rf"b_{{\mathrm{{{lab}}}}}", model.drift_in(lab)))
        if model.noise is not None:
            exprs.append((rf"\sigma_{{\mathrm{{{lab}}}}}", model.noise[model.chain.index(lab)]))
    kind = "PDMP" if model.is_pdmp else "switching SDE"
    s = sp.latex(model.chain.symbol)
    return Step("model", rf"The {kind} $dX = b_{{{s}}}(X)\,dt"
                         + (rf" + \sigma_{{{s}}}(X)\,dW" if not model.is_pdmp else "")
                         + rf"$ in $X = ({', '.join(sp.latex(z) for z in model.state)})$, with "
                         rf"${s}$ a Markov chain on the states "
                         f"{', '.join(map(str, model.modes))} (Q[i, j]: rate i -> j).",
                tuple(exprs))


def _split_step(orders: dict, p0: sp.Rational, mid: sp.Rational | None, found: tuple,
                eps: sp.Symbol) -> Step:
    regime, dropped = found
    exprs = []
    # the test function, named apart from the user's symbols and functions
    fname = fresh_name("f", user_names([c for L in orders.values() for c in L.coefficients()]))
    f = sp.latex(sp.Symbol(fname))
    names = {p0: rf"\mathcal{{L}}_0 {f}"}
    if mid is not None:
        names[mid] = rf"\mathcal{{L}}_1 {f}"
    names[sp.S.Zero] = rf"\mathcal{{L}}_2 {f}" if mid is not None else rf"\mathcal{{L}}_1 {f}"
    for p, L in orders.items():
        label = names.get(p, rf"\mathcal{{L}}^{{({sp.latex(p)})}} {f}")
        exprs.append((rf"[{sp.latex(eps)}^{{{sp.latex(p)}}}]\ {label}", L.as_expr(name=fname)))
    text = (f"Generator split $\\mathcal{{L}} = \\sum_k {sp.latex(eps)}^k \\mathcal{{L}}_k$; "
            f"regime: {regime}.")
    if dropped:
        text += f" Terms at positive powers {dropped} vanish in the limit and are dropped."
    return Step("generator split", text, tuple(exprs))
