r"""Nesting with a fast Markov chain: a super-fast diffusion that modulates a fast chain.

The model is a :class:`~symavg.models.markov.SwitchingSDE` in the continuous
variables :math:`(x, z)` with a chain :math:`s`:

.. math::

    dx = b_s(x, z)\,dt + \sigma_s(x, z)\,dW, \qquad
    dz = \epsilon^{p_0}\beta_s(x, z)\,dt + \epsilon^{p_0/2}\gamma_s(x, z)\,dW',\qquad
    s \text{ jumps } i\to j \text{ at rate } \epsilon^{q}\,k_{ij}(x, z),

with :math:`p_0 < q < 0` (e.g. :math:`z` on :math:`\epsilon^{-2}`, the chain on
:math:`\epsilon^{-1}`). **Level 1** (fastest first; Pavliotis & Stuart 2008,
Sec. 10.7 in each chain state, with :math:`x` and :math:`s` held fixed): in state
:math:`i` the super-fast variables relax to :math:`\rho_i(z; x)`, the invariant
law of the :math:`z`-generator of that state, and every slower coefficient of
that state is replaced by its mean,

.. math::

    \bar k_{ij}(x) = \langle k_{ij}\rangle_{\rho_i},\qquad
    \bar b_i = \langle b_i\rangle_{\rho_i},\qquad
    \bar a_i = \langle \sigma_i\sigma_i^T\rangle_{\rho_i}.

The second-order terms (the centred rate and drift fluctuations acting through
:math:`z`'s corrector) are of order :math:`\epsilon^{q-p_0}` relative to the
averaged rates, so they vanish in the limit and are not computed; a coupling
of :math:`z` into the slow variables at a negative power (which would
homogenize) is refused. **Level 2**: the averaged switching SDE (chain rates
:math:`\epsilon^q\bar k_{ij}`) goes through the single-level engine
(:func:`symavg.derive.engine.reduce`, Pavliotis & Stuart 2008, Ch. 9 for the
chain).

The order matters: with :math:`k_{\mathrm{off}\to\mathrm{on}} = a(z)` and
:math:`k_{\mathrm{on}\to\mathrm{off}} = b`, the chain spends the fraction
:math:`\langle a\rangle/(\langle a\rangle + b)` of the time on; freezing
:math:`z` and averaging the chain first would give
:math:`\langle a/(a + b)\rangle` instead.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING

import sympy as sp

from ..errors import ModelError, ScaleSeparationError
from ..models._linalg import matrix_sqrt
from ..models.effective import EffectiveModel
from ..models.generator import Generator
from ..models.markov import MarkovChain, SwitchingSDE
from ..report.derivation import Check, Derivation, Step
from .invariant import invariant_measure

if TYPE_CHECKING:
    from ..models.generator import Expansion
    from .engine import _View


def nested_chain_fast(view: _View, model: object, expansion: Expansion,
                      fast: object) -> tuple[sp.Symbol, ...] | None:
    r"""The super-fast continuous variables when ``model`` is a switching SDE whose most
    singular level moves continuous variables only, while the chain's rates sit at a
    less singular negative power and the chain is fast too (named in ``fast``, or
    ``fast=None``); ``None`` otherwise (the single-level routes apply)."""
    if not isinstance(model, SwitchingSDE) or not expansion or min(expansion) >= 0:
        return None
    p0, L0 = expansion.leading
    if _has_jump(L0):
        return None
    jumps = [q for q, L in expansion.levels if _has_jump(L)]
    if not jumps or not all(p0 < q < 0 for q in jumps):
        return None
    F0 = tuple(v for v in view.state if v in set(L0.acts_on()))
    if fast is None:
        return F0
    given = [fast] if isinstance(fast, sp.Symbol | MarkovChain) else list(fast)
    names = {g.symbol if isinstance(g, MarkovChain) else g for g in given}
    if model.chain.symbol in names and set(F0) <= names:
        return F0
    if names == set(F0):
        raise ModelError(
            f"the chain {model.chain.symbol} is fast too (its rates carry {view.eps}**"
            f"({max(jumps)})), below the super-fast {list(F0)}: reducing {list(F0)} alone "
            "would leave a switching model, not an EffectiveModel. Name both levels, "
            f"sa.reduce(model, fast=[model.chain, {', '.join(map(str, F0))}]), or "
            "fast=None.")
    return None


def _has_jump(L: Generator) -> bool:
    return L.jump is not None and not L.jump.is_zero()


def _state_generator(model: SwitchingSDE, k: int) -> Generator:
    a = model.diffusion_in(model.modes[k])
    return Generator(model.state, list(model.drift[k]), a, periodic=model.periodic_map)


def _slow_coupling(model: SwitchingSDE, k: int, F0: tuple, eps: sp.Symbol) -> list[str]:
    """The slow coefficients of state ``k`` that depend on ``F0`` at a negative power."""
    out = []
    for q, L in _state_generator(model, k).expand(eps).levels:
        if q >= 0:
            continue
        for i, v in enumerate(model.state):
            if v in F0:
                continue
            coeffs = [L.drift[i], *[L.diffusion[i, j] for j in range(len(model.state))]]
            if any(sp.sympify(c).has(*F0) for c in coeffs):
                out.append(f"{v} at {eps}**({q})")
    return out


def reduce_chain_nested(view: _View, model: SwitchingSDE, F0: Sequence[sp.Symbol],
                        eps: sp.Symbol, *, order: int = 0, params: Mapping | None = None,
                        n: int = 64, method: str = "auto",
                        timescale: str = "auto") -> EffectiveModel:
    r"""Average the super-fast variables ``F0`` in each chain state, then reduce the chain.

    Returns the :class:`EffectiveModel` of the slow variables; its
    ``records["levels"]`` holds the averaged :class:`SwitchingSDE` of level 1 and its
    derivation has one section per level (see the module docstring).

    Examples
    --------
    >>> import sympy as sp, symavg as sa
    >>> x, z = sp.symbols("x z", real=True)
    >>> b = sp.Symbol("b", positive=True)
    >>> eps = sa.epsilon
    >>> chain = sa.MarkovChain({("off", "on"): (2 + sp.cos(z)) / eps, ("on", "off"): b / eps})
    >>> m = sa.SwitchingSDE([x, z], chain, drift={"off": [-x, 0], "on": [1 - x, 0]},
    ...                     noise=[[0], [sp.sqrt(2) / eps]], periodic={z: 2 * sp.pi})
    >>> red = sa.reduce(m)
    >>> sp.factor(red.drift[0])
    -(b*x + 2*x - 2)/(b + 2)
    """
    from .engine import reduce as engine_reduce

    F0 = tuple(F0)
    slow = tuple(v for v in model.state if v not in F0)
    if not slow:
        raise ModelError("every continuous variable is super-fast: leave at least one slow "
                         "variable for the chain to act on")
    p0 = view.generator.expand(eps).leading[0]
    lab = ", ".join(map(sp.latex, F0))
    deriv = Derivation(f"Nested reduction of {', '.join(map(str, F0))} and the chain "
                       f"{model.chain.symbol}").then(view.step)
    steps: list[Step] = [Step(
        "level",
        f"Level 1: the super-fast variables ${lab}$ move at order "
        f"${sp.latex(eps)}^{{{sp.latex(p0)}}}$ in every chain state; the chain (rates at a "
        f"less singular power) and ${', '.join(map(sp.latex, slow))}$ are held fixed. In "
        r"state $i$ every slower coefficient is averaged over the invariant law $\rho_i$ of "
        f"${lab}$ in that state.")]
    measures: dict[sp.Basic, object] = {}
    rates: dict[tuple, sp.Expr] = {}
    drifts, noises, averaged = {}, {}, []
    checks: list[Check] = []
    any_noise = False
    for k, state in enumerate(model.modes):
        G = _state_generator(model, k)
        q0, L0 = G.expand(eps).leading
        if q0 != p0 or set(L0.acts_on()) != set(F0):
            raise ScaleSeparationError(
                f"in the chain state {state!r} the most singular order is {eps}**({q0}) on "
                f"{list(L0.acts_on())}, in the others {eps}**({p0}) on {list(F0)}: the "
                "super-fast variables must move on one scale in every state")
        coupled = _slow_coupling(model, k, F0, eps)
        if coupled:
            raise ScaleSeparationError(
                f"in the chain state {state!r} the slow coefficients of {coupled} depend on "
                f"{list(F0)} at a negative power of {eps} (a homogenization coupling): the "
                "nested chain route averages only. Move those terms to order 1, or reduce "
                f"{list(F0)} first with sa.reduce(model, fast={list(F0)}) for each state.")
        key = L0.as_expr()
        if key not in measures:
            measures[key] = invariant_measure(L0, F0)
            steps.append(measures[key].step())
        rho = measures[key]
        for j, other in enumerate(model.modes):
            if j != k and model.chain.Q[k, j] != 0:
                val, chk = rho.expect_checked(model.chain.Q[k, j])
                rates[(state, other)] = sp.factor_terms(val)
                checks.extend(chk)
        bx = []
        for i, v in enumerate(model.state):
            if v in F0:
                continue
            val, chk = rho.expect_checked(model.drift[k][i])
            bx.append(val)
            checks.extend(chk)
        idx = [i for i, v in enumerate(model.state) if v not in F0]
        a = model.diffusion_in(state)
        abar = sp.zeros(len(idx), len(idx))
        for r, i in enumerate(idx):
            for c, j in enumerate(idx):
                if a[i, j] != 0:
                    val, chk = rho.expect_checked(a[i, j])
                    abar[r, c] = val
                    checks.extend(chk)
        drifts[state] = bx
        if not abar.is_zero_matrix:
            any_noise = True
            sig = matrix_sqrt(abar)
            if sig is None:
                raise ModelError(f"the averaged diffusion {abar.tolist()} in the chain state "
                                 f"{state!r} has no square root SymPy can form")
            noises[state] = sig
        else:
            noises[state] = sp.zeros(len(idx), 1)
        averaged.append((rf"\bar b_{{\mathrm{{{state}}}}}", sp.Matrix(bx)))
        if not abar.is_zero_matrix:
            averaged.append((rf"\bar a_{{\mathrm{{{state}}}}}", abar))
    chain = MarkovChain(rates, states=model.modes, eps=model.chain.eps,
                        symbol=model.chain.symbol)
    per = {v: L for v, L in model.periodic_map.items() if v in slow}
    inter = SwitchingSDE(list(slow), chain, drift=drifts,
                         noise=noises if any_noise else None, periodic=per or None)
    seen: list[Check] = []
    for c in checks:
        if c not in seen:
            seen.append(c)
    steps.append(Step(
        "averaged chain",
        r"Averaged rates $\bar k_{ij} = \langle k_{ij}\rangle_{\rho_i}$, drifts and "
        r"diffusions of the slow variables in each state. The second-order terms (centred "
        f"fluctuations through the corrector of ${lab}$) are smaller by a positive power of "
        f"${sp.latex(eps)}$ than the averaged rates and are not kept.",
        (("Q", chain.Q), *averaged), tuple(seen)))
    final = engine_reduce(inter, fast=[chain], order=order, params=params, n=n,
                          method=method, timescale=timescale)
    head = Step("level", f"Level 2: the chain ${sp.latex(model.chain.symbol)}$ with the "
                         "averaged rates, by the single-level engine.")
    deriv = deriv.then(*steps, head, *final.steps.steps[1:])
    records = {**final.records, "levels": (inter,), "last": final, "source": model}
    return dataclasses.replace(final, steps=deriv, fast=(*F0, model.chain.symbol),
                               records=records)
