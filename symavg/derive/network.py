r"""Descriptions and reduction of chemical reaction networks.

For a :class:`~symavg.models.network.ReactionNetwork` with stoichiometric
columns :math:`\nu_r` and propensities :math:`a_r(n)`:

* **rate equations** (deterministic mass action, large-number limit):
  :math:`\dot n = \sum_r \nu_r \bar a_r(n)`;
* **chemical Langevin equation** (Gillespie, J. Chem. Phys. 113:297, 2000,
  eq. 23), one Brownian motion per reaction:
  :math:`dn = \sum_r \nu_r a_r(n)\,dt + \sum_r \nu_r\sqrt{a_r(n)}\,dW_r`;
  with a volume :math:`V` it is written for the concentrations :math:`x = n/V`:
  :math:`dx = \sum_r \nu_r a_r(Vx)/V\,dt + \sum_r \nu_r \sqrt{a_r(Vx)}/V\,dW_r`;
* its **Fokker-Planck equation**
  :math:`\partial_t p = -\sum_i\partial_i(b_ip) + \frac12\sum_{ij}\partial_i\partial_j(a_{ij}p)`;
* the **jump generator** :math:`(\mathcal Lf)(n) = \sum_r a_r(n)\,[f(n+\nu_r) - f(n)]`,
  whose adjoint is the chemical master equation (:func:`symavg.numeric.ssa.cme`).

**Fast subnetwork.** Each propensity is a single power :math:`\epsilon^{p_r}`
times an :math:`\epsilon`-free factor; the reactions with the most negative
power form the fast subnetwork, the others (power 0) are slow. The
conserved quantities of the fast subnetwork, a basis :math:`W` of the left null
space of its stoichiometric matrix, are the slow variables :math:`y = Wn`.

**Reduction** (stochastic fast-equilibrium / slow-scale SSA: Haseltine &
Rawlings, J. Chem. Phys. 117:6959, 2002; Cao, Gillespie & Petzold, J. Chem.
Phys. 122:014116, 2005, eq. 8): as :math:`\epsilon\to0` the slow variables
form a jump process with reactions :math:`W\nu_r` and propensities

.. math:: \bar a_r(y) = \mathbb E_{\pi(\cdot\mid y)}\,a_r(n),

the averages of the slow propensities under the stationary law of the fast
subnetwork with the slow variables frozen. Closed forms here:

* a **monomolecular** fast subnetwork (conversions ``A -> B`` at rates
  :math:`c_{AB}n_A`): on each connected component the law is multinomial with
  the stationary law of one molecule's chain (Jahnke & Huisinga, J. Math. Biol.
  54:1, 2007, Prop. 2.1); averages of polynomial propensities from the factorial
  moments :math:`\mathbb E\prod_i (n_i)_{j_i} = (N)_{\sum j}\prod_i p_i^{j_i}`;
* a fast subnetwork with **one reaction direction** (rank 1: ``E + S <-> C``,
  ``2 A <-> B``) whose extent takes finitely many values once some slow
  variables are given numbers (``values={E_T: 1}``: a single enzyme), by exact
  linear algebra on that finite chain.

Every law is checked (:math:`\pi Q = 0` exactly; the multinomial also against
the fast master equation at small totals). The validity report compares the
spectral gap of the fast subnetwork with the total slow propensity.
"""

from __future__ import annotations

import itertools
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import sympy as sp

from .._sympy_util import laurent_terms
from ..errors import ModelError, NoInvariantMeasureError, ScaleSeparationError, UnsolvedError
from ..models.markov import spectral_gap as _chain_gap
from ..models.markov import stationary_law
from ..models.network import ReactionNetwork, left_null_space
from ..models.sde import SDE
from ..report.derivation import Average, Check, Derivation, Step
from ..report.latex import latex
from ..report.names import fresh_name, user_names

__all__ = [
    "FastSubnetwork",
    "NetworkGenerator",
    "ValidityReport",
    "cle",
    "fast_subnetwork",
    "fokker_planck",
    "generator",
    "rate_equations",
    "reduce_network",
    "spectral_gap",
]

TIME = sp.Symbol("t", nonnegative=True)


# ------------------------------------------------------------ descriptions
def _volume(volume: object) -> sp.Expr | None:
    if volume is None:
        return None
    if isinstance(volume, str):
        raise ModelError(f"volume is the string {volume!r}: give a SymPy symbol or number")
    v = sp.sympify(volume)
    if v.is_positive is not True:
        raise ModelError(f"volume {v} must be positive: declare it positive=True")
    return v


def rate_equations(net: ReactionNetwork, volume: object = None) -> SDE:
    r"""The deterministic rate equations :math:`\dot n = \sum_r \nu_r \bar a_r(n)` (an ODE).

    Returned as an :class:`~symavg.models.sde.SDE` without noise, in counts,
    or with ``volume`` in concentrations :math:`x = n/V` (the species symbols
    then stand for concentrations): :math:`\dot x = \sum_r\nu_r\bar a_r(Vx)/V`.
    :math:`\bar a_r` is the deterministic mass-action form
    :math:`k_r\prod_i n_i^{m_{ir}}/m_{ir}!` (user propensities as given).

    Examples
    --------
    >>> import sympy as sp, symavg as sa
    >>> lam, mu = sp.symbols("lambda mu", positive=True)
    >>> net = sa.ReactionNetwork(["0 -> X", "X -> 0"], [lam, mu])
    >>> net.rate_equations().drift.T
    Matrix([[-X*mu + lambda]])
    """
    V = _volume(volume)
    N = net.stoichiometry
    drift = []
    for i in range(net.n_species):
        b = sp.S.Zero
        for r, a in enumerate(net.deterministic_propensities):
            if N[i, r] != 0:
                a_ = a if V is None else a.xreplace({s: V * s for s in net.species}) / V
                b += N[i, r] * a_
        drift.append(sp.expand(b))
    return SDE(list(net.species), drift, eps=net.eps)


def cle(net: ReactionNetwork, volume: object = None, environment: SDE | None = None,
        noise_at: Mapping | None = None) -> SDE:
    r"""The chemical Langevin equation, an Itô SDE with one Brownian motion per reaction.

    .. math:: dn = \sum_r \nu_r a_r(n)\,dt + \sum_r \nu_r\sqrt{a_r(n)}\,dW_r

    (Gillespie 2000, eq. 23), with the exact (combinatorial) propensities; with
    ``volume`` :math:`V`, for :math:`x = n/V`:
    :math:`dx = \sum_r \nu_r a_r(Vx)/V\,dt + \sum_r\nu_r\sqrt{a_r(Vx)}/V\,dW_r`.
    The noise matrix is ``S x R`` (column :math:`r` is :math:`\nu_r\sqrt{a_r}`);
    the diffusion is :math:`\sum_r \nu_r\nu_r^T a_r`. Fast reactions keep their
    :math:`1/\epsilon`, so ``sa.reduce`` applies to the result.

    **Extrinsic noise.** Rates may contain the state of an ``environment``
    (an :class:`~symavg.models.sde.SDE`, e.g. a fast OU process
    :math:`d\eta = -\alpha\eta/\epsilon^2\,dt + \sqrt{2\alpha}/\epsilon\,dW`); the
    result is the joint SDE of the species and the environment, with the
    environment's own noise in extra columns. ``noise_at`` (e.g. ``{eta: 0}``)
    evaluates the intrinsic noise :math:`\sqrt{a_r}` at given environment values
    (at the mean rates), which keeps it a Laurent series in eps; ``sa.reduce(model,
    fast=[eta])`` then gives the extra diffusion and the noise-induced drift.

    Examples
    --------
    >>> import sympy as sp, symavg as sa
    >>> lam, mu = sp.symbols("lambda mu", positive=True)
    >>> m = sa.ReactionNetwork(["0 -> X", "X -> 0"], [lam, mu]).cle()
    >>> m.noise
    Matrix([[sqrt(lambda), -sqrt(X)*sqrt(mu)]])
    >>> m.diffusion
    Matrix([[X*mu + lambda]])
    """
    V = _volume(volume)
    N = net.stoichiometry
    S, R = N.shape
    drift = [sp.S.Zero] * S
    noise = sp.zeros(S, R)
    at = {sp.sympify(k): sp.sympify(v) for k, v in dict(noise_at or {}).items()}
    if environment is not None:
        if not isinstance(environment, SDE):
            raise ModelError(f"environment must be a sa.SDE; got {type(environment).__name__}")
        if environment.eps != net.eps:
            raise ModelError(f"the environment has the scale {environment.eps}, the network "
                             f"{net.eps}: declare both with the same eps=")
        clash = set(environment.state) & set(net.species)
        if clash:
            raise ModelError(f"environment variables {sorted(clash, key=str)} are also species")
    env_state = set(environment.state) if environment is not None else set()
    bad = [k for k in at if k not in env_state]
    if bad:
        raise ModelError(f"noise_at names {bad}, which are not environment variables")
    for r, a in enumerate(net.propensities):
        a_ = a if V is None else a.xreplace({s: V * s for s in net.species})
        scale = 1 if V is None else 1 / V
        root = sp.sqrt(a_.subs(at))
        for i in range(S):
            if N[i, r] != 0:
                drift[i] += N[i, r] * a_ * scale
                noise[i, r] = N[i, r] * root * scale
    if environment is None:
        return SDE(list(net.species), [sp.expand(d) for d in drift], noise=noise, eps=net.eps)
    m = environment.noise.shape[1]
    full_noise = noise.row_join(sp.zeros(S, m)).col_join(
        sp.zeros(len(environment.state), R).row_join(sp.Matrix(environment.noise)))
    return SDE(list(net.species) + list(environment.state),
               [sp.expand(d) for d in drift] + list(environment.drift), noise=full_noise,
               eps=net.eps)


def fokker_planck(net: ReactionNetwork, volume: object = None) -> sp.Eq:
    r"""The Fokker-Planck equation of the CLE, :math:`\partial_t p = \mathcal L^* p`.

    .. math::

        \partial_t p = -\sum_i\partial_i(b_i p)
            + \tfrac12\sum_{ij}\partial_i\partial_j(a_{ij}p)

    with :math:`b, a` the drift and diffusion of :func:`cle`; ``p`` is the
    undefined function ``p(species..., t)``.

    Examples
    --------
    >>> import sympy as sp, symavg as sa
    >>> lam, mu = sp.symbols("lambda mu", positive=True)
    >>> eq = sa.ReactionNetwork(["0 -> X", "X -> 0"], [lam, mu]).fokker_planck()
    >>> eq.lhs
    Derivative(p(X, t), t)
    """
    m = cle(net, volume)
    p = sp.Function("p")(*net.species, TIME)
    rhs = m.generator.adjoint(p)
    return sp.Eq(sp.Derivative(p, TIME), rhs)


@dataclass(frozen=True)
class NetworkGenerator:
    r"""The generator of the reaction jump process.

    .. math:: (\mathcal Lf)(n) = \sum_r a_r(n)\,[f(n + \nu_r) - f(n)]

    Attributes
    ----------
    species : tuple of Symbol
    terms : tuple of (propensity, shift)
        ``shift`` is the dict ``{species: change}`` of the reaction.
    """

    species: tuple[sp.Symbol, ...]
    terms: tuple[tuple[sp.Expr, tuple[tuple[sp.Symbol, int], ...]], ...]

    def apply(self, f: object) -> sp.Expr:
        """:math:`\\mathcal L f` for an expression ``f`` of the species.

        Examples
        --------
        >>> import sympy as sp, symavg as sa
        >>> lam, mu = sp.symbols("lambda mu", positive=True)
        >>> net = sa.ReactionNetwork(["0 -> X", "X -> 0"], [lam, mu])
        >>> X, = net.species
        >>> sp.expand(net.generator().apply(X**2))
        -2*X**2*mu + 2*X*lambda + X*mu + lambda
        """
        f = sp.sympify(f)
        out = sp.S.Zero
        for a, shift in self.terms:
            out += a * (f.xreplace({s: s + c for s, c in shift}) - f)
        return out

    def _repr_latex_(self) -> str:
        parts = []
        for a, shift in self.terms:
            sh = ", ".join(f"{sp.latex(s)}{'+' if c > 0 else ''}{c}" for s, c in shift)
            parts.append(f"\\left({sp.latex(a)}\\right)\\left[f({sh}) - f\\right]")
        return "$\\mathcal L f = " + " + ".join(parts) + "$"


def generator(net: ReactionNetwork) -> NetworkGenerator:
    """The jump generator of ``net`` (see :class:`NetworkGenerator`)."""
    N = net.stoichiometry
    terms = []
    for r, a in enumerate(net.propensities):
        shift = tuple((s, int(N[i, r])) for i, s in enumerate(net.species) if N[i, r] != 0)
        terms.append((a, shift))
    return NetworkGenerator(net.species, tuple(terms))


# -------------------------------------------------------- fast subnetwork
@dataclass(frozen=True)
class FastSubnetwork:
    r"""The fast reactions of a network and their conserved quantities.

    Attributes
    ----------
    network : ReactionNetwork
        The fast reactions alone (their propensities keep the power of eps).
    indices : tuple of int
        Positions of the fast reactions in the full network.
    power : Rational
        The power :math:`p<0` of eps of the fast propensities.
    fast_species : tuple of Symbol
        Species changed by a fast reaction.
    conserved : tuple of Expr
        A basis of the quantities :math:`w\cdot n` the fast reactions conserve
        (every species no fast reaction changes is one of them).
    slow : tuple of Symbol
        One symbol per conserved quantity: the slow variables.
    kind : str
        ``"monomolecular"`` (conversions ``A -> B`` only), ``"one-direction"``
        (rank-1 stoichiometry) or ``"general"``.
    """

    network: ReactionNetwork
    indices: tuple[int, ...]
    power: sp.Rational
    fast_species: tuple[sp.Symbol, ...]
    conserved: tuple[sp.Expr, ...]
    slow: tuple[sp.Symbol, ...]
    kind: str
    weights: tuple[tuple[sp.Integer, ...], ...] = field(repr=False, default=())

    @property
    def slow_map(self) -> dict[sp.Symbol, sp.Expr]:
        """``{slow symbol: conserved combination of the species}``."""
        return dict(zip(self.slow, self.conserved))


def _eps_power(a: sp.Expr, eps: sp.Symbol, text: str) -> sp.Rational:
    terms = laurent_terms(a, eps)
    if len(terms) != 1:
        raise ScaleSeparationError(
            f"reaction {text!r}: its propensity {a} mixes the powers {sorted(terms)} of {eps}; "
            "split it into one reaction per time scale")
    return next(iter(terms))


def _slow_name(w: Sequence[sp.Integer], species: Sequence[sp.Symbol]) -> str:
    nz = [(int(c), s) for c, s in zip(w, species) if c != 0]
    if len(nz) == 1 and nz[0][0] == 1:
        return nz[0][1].name
    return "T_" + "".join((f"{c}{s.name}" if c != 1 else s.name) if c > 0 else
                          f"m{-c}{s.name}" for c, s in nz)


def fast_subnetwork(net: ReactionNetwork, names: Mapping | None = None) -> FastSubnetwork:
    r"""Split ``net`` by the powers of eps; see :class:`FastSubnetwork`.

    Parameters
    ----------
    names : mapping ``{conserved expression or its default name: str or Symbol}``, optional
        Names of the slow variables. Default: the species itself for a species
        no fast reaction changes, otherwise the species names joined by ``_``
        (``S1 + S2`` -> ``T_S1S2``, the total).

    Raises
    ------
    ScaleSeparationError
        No fast reaction, a propensity mixing powers of eps, or more than two
        time scales (nested fast subnetworks are not supported).

    Examples
    --------
    >>> import sympy as sp, symavg as sa
    >>> k1, k2, k3 = sp.symbols("k1 k2 k3", positive=True)
    >>> eps = sa.epsilon
    >>> net = sa.ReactionNetwork(["S1 -> S2", "S2 -> S1", "S2 -> 0"], [k1 / eps, k2 / eps, k3])
    >>> fs = net.fast_subnetwork()
    >>> fs.conserved, fs.slow, fs.kind
    ((S1 + S2,), (T_S1S2,), 'monomolecular')
    """
    powers = [_eps_power(a, net.eps, r.text) for r, a in zip(net.reactions, net.propensities)]
    p_fast = min(powers)
    if p_fast >= 0:
        raise ScaleSeparationError(
            f"no reaction of this network is fast: no propensity has a negative power of "
            f"{net.eps} (powers {powers}). Mark the fast reactions with rates like k/{net.eps}")
    others = sorted({p for p in powers if p != p_fast})
    if others and others != [0]:
        bad = [r.text for r, p in zip(net.reactions, powers) if p not in (p_fast, 0)]
        raise ScaleSeparationError(
            f"reactions {bad} are on a third time scale (powers of {net.eps}: "
            f"{sorted(set(powers))}); only a fast (negative power) and a slow (power 0) level "
            "are supported: reduce nested networks one level at a time")
    idx = tuple(i for i, p in enumerate(powers) if p == p_fast)
    if len(idx) == net.n_reactions:
        raise ScaleSeparationError("every reaction is fast: there is no slow dynamics to keep; "
                                   f"rescale time (multiply every rate by {net.eps})")
    N = net.stoichiometry
    fast_rows = [i for i in range(net.n_species) if any(N[i, r] != 0 for r in idx)]
    Nff = sp.Matrix([[N[i, r] for r in idx] for i in fast_rows])
    weights: list[tuple[sp.Integer, ...]] = []
    for w in left_null_space(Nff):
        full = [sp.S.Zero] * net.n_species
        for k, i in enumerate(fast_rows):
            full[i] = w[k]
        weights.append(tuple(full))
    for i in range(net.n_species):
        if i not in fast_rows:
            e = [sp.S.Zero] * net.n_species
            e[i] = sp.S.One
            weights.append(tuple(e))
    weights.sort(key=lambda w: next(k for k, c in enumerate(w) if c != 0))
    conserved = tuple(sum((c * s for c, s in zip(w, net.species)), sp.S.Zero) for w in weights)
    names = dict(names or {})
    slow = []
    for w, c in zip(weights, conserved):
        default = _slow_name(w, net.species)
        nm = names.get(c, names.get(default, default))
        if isinstance(nm, sp.Symbol):
            slow.append(nm)
        elif isinstance(nm, str) and nm.isidentifier():
            slow.append(sp.Symbol(nm, positive=True, integer=True))
        else:
            raise ModelError(f"name of the slow variable {c} must be an identifier or a Symbol; "
                             f"got {nm!r}")
    if len(set(slow)) != len(slow):
        raise ModelError(f"the slow variables' names {slow} are not distinct: pass names=")
    fnet = ReactionNetwork([net.reactions[r].text for r in idx], [net.rates[r] for r in idx],
                           net.species,
                           propensities=[None if net.mass_action[r] else net.propensities[r]
                                         for r in idx], eps=net.eps)
    fast_species = tuple(net.species[i] for i in fast_rows)
    mono = all(len(net.reactions[r].reactants) == 1 and net.reactions[r].reactants[0][1] == 1
               and len(net.reactions[r].products) == 1 and net.reactions[r].products[0][1] == 1
               and _linear_rate(net.propensities[r], net.species,
                                net.reactions[r].reactants[0][0], fast_species) is not None
               for r in idx)
    kind = "monomolecular" if mono else ("one-direction" if Nff.rank() == 1 else "general")
    return FastSubnetwork(fnet, idx, p_fast, fast_species, conserved, tuple(slow), kind,
                          tuple(weights))


def _linear_rate(a: sp.Expr, species: Sequence[sp.Symbol], reactant: str,
                 fast: Sequence[sp.Symbol]) -> sp.Expr | None:
    """``c`` when ``a = c * n_reactant`` with ``c`` free of every fast species."""
    s = next(x for x in species if x.name == reactant)
    c = sp.cancel(a / s)
    if c.free_symbols & set(fast):
        return None
    return c


# ------------------------------------------------------- conditional laws
@dataclass(frozen=True)
class _Law:
    """The conditional stationary law of the fast subnetwork as an expectation operator."""

    kind: str
    expect: Any                       # callable: expr of species -> expr of slow variables
    gap: sp.Expr | None
    ergodic: bool
    ergodicity: str
    steps: tuple[Step, ...]
    conditions: tuple[str, ...] = ()
    numeric: Any = None               # a NumericFastLaw when the law is tabulated
    #: callable: expr of species -> the average written out (a Sum over the fast states),
    #: or None when only its value is written (the multinomial law)
    written: Any = None


def _stirling2(k: int, j: int) -> int:
    return int(sp.functions.combinatorial.numbers.stirling(k, j))


def _monomolecular_law(net: ReactionNetwork, fs: FastSubnetwork) -> _Law:
    species = net.species
    # single-molecule chain on the fast species, component by component
    fast = list(fs.fast_species)
    adj: dict[sp.Symbol, set] = {s: set() for s in fast}
    rate: dict[tuple[sp.Symbol, sp.Symbol], sp.Expr] = {}
    for r in fs.indices:
        rx = net.reactions[r]
        a = next(s for s in species if s.name == rx.reactants[0][0])
        b = next(s for s in species if s.name == rx.products[0][0])
        c = _linear_rate(net.propensities[r], species, a.name, fast)
        rate[(a, b)] = rate.get((a, b), 0) + c
        adj[a].add(b)
        adj[b].add(a)
    comps: list[list[sp.Symbol]] = []
    seen: set = set()
    for s in fast:
        if s in seen:
            continue
        comp, stack = [], [s]
        seen.add(s)
        while stack:
            u = stack.pop()
            comp.append(u)
            for v in adj[u] - seen:
                seen.add(v)
                stack.append(v)
        comps.append(sorted(comp, key=fast.index))
    slow_of = {}
    for comp in comps:
        total = sum(comp, sp.S.Zero)
        match = [y for y, c in zip(fs.slow, fs.conserved) if sp.expand(c - total) == 0]
        if not match:  # pragma: no cover - the left null space of conversions is the sums
            raise UnsolvedError(f"the total {total} of a fast component is not a slow variable")
        slow_of[tuple(comp)] = match[0]
    steps, probs, gaps = [], {}, []
    ergodic, why = True, []
    for comp in comps:
        n = len(comp)
        Q = sp.zeros(n, n)
        for i, a in enumerate(comp):
            for j, b in enumerate(comp):
                if (a, b) in rate:
                    Q[i, j] = rate[(a, b)]
            Q[i, i] = -sum((Q[i, j] for j in range(n) if j != i), sp.S.Zero)
        reach_ok = _irreducible(Q)
        if not reach_ok:
            ergodic = False
            why.append(f"the one-molecule chain on {comp} is not irreducible (an irreversible "
                       "fast conversion): the fast law is not unique or not reached from "
                       "every state")
            continue
        pi = stationary_law(Q)
        res = (pi.T * Q).applyfunc(sp.cancel)
        gap = _gap(Q, net.eps)
        if gap is not None:
            gaps.append(gap)
        for a, p in zip(comp, pi):
            probs[a] = p
        N = slow_of[tuple(comp)]
        steps.append(Step(
            "conditional stationary law",
            f"The fast reactions convert single molecules within ${sp.latex(comp)}$: with "
            f"${sp.latex(N)} = {sp.latex(sum(comp))}$ fixed the counts are multinomial "
            f"with the stationary law $p$ of one molecule's chain $Q_1$ "
            "(Jahnke & Huisinga 2007, Prop. 2.1).",
            (("Q_1", sp.ImmutableMatrix(Q)), ("p", sp.ImmutableMatrix(pi.T))),
            (Check("p Q_1 = 0", bool(res.is_zero_matrix), "symbolic"),
             _multinomial_check(net, fs, comp, pi)),
            strategy="monomolecular"))
        why.append(f"the one-molecule chain on {[str(c) for c in comp]} is irreducible, so "
                   f"for every {N} the fast chain is irreducible on the finite set "
                   f"{{{' + '.join(map(str, comp))} = {N}}}")
    if not ergodic:
        raise NoInvariantMeasureError(
            "the fast subnetwork is not ergodic for fixed slow variables: " + "; ".join(why)
            + ". Make the fast conversions reversible or treat the irreversible one as slow")

    def expect(e: sp.Expr) -> sp.Expr:
        return _multinomial_expect(e, comps, probs, slow_of)

    gap = None
    if len(gaps) == len(comps):
        gap = gaps[0] if len(gaps) == 1 else sp.Min(*gaps)
    return _Law("monomolecular", expect, gap, True, "; ".join(why), tuple(steps))


def _gap(Q: sp.MatrixBase, eps: sp.Symbol) -> sp.Expr | None:
    r"""Spectral gap of a small rate matrix, symbolic, with the power of eps factored out.

    Two states: :math:`-\operatorname{tr}Q`. Three states of a reversible chain
    (Kolmogorov's criterion :math:`Q_{12}Q_{23}Q_{31} = Q_{13}Q_{32}Q_{21}`), whose
    eigenvalues are real: the smaller root :math:`(c_1 - \sqrt{c_1^2 - 4c_0})/2` of
    :math:`\lambda^2 - c_1\lambda + c_0`, with :math:`c_1 = -\operatorname{tr}Q` and
    :math:`c_0` the sum of the principal 2x2 minors. Otherwise None.
    """
    Q = sp.Matrix(Q)
    scale = sp.S.One
    powers = {p for e in Q if e != 0 for p in laurent_terms(e, eps)}
    if len(powers) == 1:
        scale = eps ** next(iter(powers))
        Q = (Q / scale).applyfunc(sp.cancel)
    if Q.rows == 2:
        return sp.factor(-Q.trace() * scale)
    if Q.rows == 3:
        cyc = sp.cancel(Q[0, 1] * Q[1, 2] * Q[2, 0] - Q[0, 2] * Q[2, 1] * Q[1, 0])
        if cyc != 0:
            return None
        c1 = sp.expand(-Q.trace())
        c0 = sp.expand(sum(Q.extract([i, j], [i, j]).det() for i, j in ((0, 1), (0, 2), (1, 2))))
        disc = sp.factor(c1**2 - 4 * c0)
        return sp.factor((c1 - sp.sqrt(disc)) / 2) * scale
    return None


def _irreducible(Q: sp.Matrix) -> bool:
    n = Q.rows
    adj = {i: {j for j in range(n) if j != i and Q[i, j] != 0} for i in range(n)}
    for start in range(n):
        seen, stack = {start}, [start]
        while stack:
            k = stack.pop()
            for m in adj[k] - seen:
                seen.add(m)
                stack.append(m)
        if len(seen) != n:
            return False
    return True


def _multinomial_expect(e: sp.Expr, comps: list[list[sp.Symbol]], probs: dict,
                        slow_of: dict) -> sp.Expr:
    fast = [s for c in comps for s in c]
    e = sp.expand(e)
    if not e.free_symbols & set(fast):
        return e
    try:
        poly = sp.Poly(e, *fast)
    except sp.PolynomialError:
        raise UnsolvedError(f"the slow propensity {e} is not a polynomial in the fast species "
                            f"{fast}: its multinomial average has no closed form here") from None
    out = sp.S.Zero
    for monom, coeff in poly.terms():
        powers = dict(zip(fast, monom))
        term = coeff
        for comp in comps:
            N = slow_of[tuple(comp)]
            # E prod_i n_i^{k_i} = sum over j_i of prod S(k_i, j_i) (N)_{sum j} prod p_i^{j_i}
            ranges = [range(powers[s] + 1) if powers[s] else range(1) for s in comp]
            acc = sp.S.Zero
            for js in itertools.product(*ranges):
                w = sp.S.One
                for s, j in zip(comp, js):
                    k = powers[s]
                    w *= (_stirling2(k, j) if k else 1) * probs[s] ** j
                if w != 0:
                    acc += w * sp.ff(N, sum(js))
            term *= acc
        out += term
    return sp.factor(sp.expand(out))


def _multinomial_check(net: ReactionNetwork, fs: FastSubnetwork, comp: list[sp.Symbol],
                       pi: sp.MatrixBase) -> Check:
    """The multinomial law solves the fast master equation exactly at totals 1, 2, 3."""
    idx = [r for r in fs.indices
           if next(s for s in net.species if s.name == net.reactions[r].reactants[0][0]) in comp]
    N = net.stoichiometry
    pos = [net.species.index(s) for s in comp]
    worst = sp.S.Zero
    for total in (1, 2, 3):
        states = [c for c in itertools.product(range(total + 1), repeat=len(comp))
                  if sum(c) == total]
        index = {s: k for k, s in enumerate(states)}

        def weight(c: tuple, total: int = total) -> sp.Expr:
            w = sp.factorial(total)
            for ci, p in zip(c, pi):
                w *= p ** ci / sp.factorial(ci)
            return w

        flux = [sp.S.Zero] * len(states)
        for c in states:
            sub = {s: ci for s, ci in zip(comp, c)}
            for r in idx:
                a = net.propensities[r].subs(sub)
                if a == 0:
                    continue
                d = tuple(ci + N[p, r] for ci, p in zip(c, pos))
                flux[index[d]] += weight(c) * a
                flux[index[c]] -= weight(c) * a
        worst = max([worst] + [abs(sp.cancel(f)) if sp.cancel(f).is_number else sp.S.One
                               for f in flux if sp.cancel(f) != 0])
    return Check("multinomial law: pi Q_fast = 0 at totals 1, 2, 3", worst == 0, "symbolic")


def _one_direction_law(net: ReactionNetwork, fs: FastSubnetwork, values: Mapping,
                       max_states: int = 12) -> _Law:
    species = list(net.species)
    fast = list(fs.fast_species)
    N = net.stoichiometry
    cols = [sp.Matrix([N[species.index(s), r] for s in fast]) for r in fs.indices]
    nu = next(c for c in cols if not c.is_zero_matrix)
    g = sp.igcd(*[int(abs(x)) for x in nu if x != 0])
    nu = nu / g
    unit = [k for k, x in enumerate(nu) if abs(x) == 1]
    if not unit:
        raise UnsolvedError(f"the fast direction {list(nu)} has no entry +-1: no integer "
                            "coordinate along it is implemented")
    pos_unit = [k for k in unit if nu[k] == 1]
    j = pos_unit[0] if pos_unit else unit[0]
    if nu[j] == -1:
        nu = -nu
    # the extent and the summation index, named apart from the network's own symbols
    taken = set(user_names([*net.species, *net.propensities]))
    xi = sp.Symbol(fresh_name("xi", taken), integer=True, nonnegative=True)
    # n_ref: the fast species with xi = n_j = 0, from W_f n = y
    rows = [(w, y) for w, y in zip(fs.weights, fs.slow)
            if any(w[species.index(s)] != 0 for s in fast)]
    Wf = sp.Matrix([[w[species.index(s)] for s in fast] for w, _ in rows])
    y = sp.Matrix([y for _, y in rows])
    A = Wf.col_join(sp.Matrix([[1 if k == j else 0 for k in range(len(fast))]]))
    rhs = y.col_join(sp.Matrix([0]))
    sol = A.gauss_jordan_solve(rhs)[0]
    if sol.free_symbols - set(fs.slow):
        raise UnsolvedError("the fast species are not determined by the slow variables and one "
                            "reaction extent")  # pragma: no cover - rank argument
    vals = _values(values, fs)
    nfast = {s: sp.expand((sol[k] + xi * nu[k]).subs(vals)) for k, s in enumerate(fast)}
    lower, upper, conditions = [sp.S.Zero], [], []
    for k in range(len(fast)):
        ref = sol[k].subs(vals)
        if nu[k] < 0:
            upper.append(sp.floor(ref / -nu[k]))
        elif k != j:
            lower.append(sp.ceiling(-ref / nu[k]))
    num_up = [u for u in upper if u.is_number]
    num_lo = [lo for lo in lower if lo.is_number]
    if not num_up:
        return _birth_death_sums(net, fs, fast, j, cols, nu, nfast, xi, lower, upper, vals)
    U, L = min(num_up), max(num_lo)
    for u in upper:
        if not u.is_number:
            conditions.append(f"{u} >= {U}")
    for lo in lower:
        if not lo.is_number:
            conditions.append(f"{lo} <= {L}")
    n_states = int(U - L + 1)
    if n_states < 1:
        raise NoInvariantMeasureError(f"no fast state is compatible with {vals}")
    if n_states > max_states:
        raise UnsolvedError(f"the fast chain has {n_states} states (> {max_states}): too many "
                            "for exact linear algebra here; use the numeric route")
    states = list(range(int(L), int(U) + 1))
    Q = sp.zeros(n_states, n_states)
    for a_i, x in enumerate(states):
        sub = {s: e.subs(xi, x) for s, e in nfast.items()}
        for r, col in zip(fs.indices, cols):
            step = next(col[k] / nu[k] for k in range(len(fast)) if nu[k] != 0)
            target = x + int(step)
            a = sp.factor(net.propensities[r].subs(sub))
            if a == 0:
                continue
            if target not in states:
                raise UnsolvedError(f"reaction {net.reactions[r].text!r} leaves the fast "
                                    "state space")  # pragma: no cover - range is exact
            Q[a_i, states.index(target)] += a
        Q[a_i, a_i] -= sum(Q.row(a_i))
    Q = Q.applyfunc(sp.factor)
    ok = _irreducible(Q)
    if not ok:
        raise NoInvariantMeasureError(
            f"the fast chain on the extents {states} of {fast[j]} is not irreducible at "
            f"{vals}: some propensity vanishes inside the range")
    pi = stationary_law(Q)
    res = (pi.T * Q).applyfunc(sp.cancel)
    gap = _gap(Q, net.eps)
    step = Step(
        "conditional stationary law",
        f"The fast reactions move along one direction; with the slow variables fixed"
        f"{' and $' + sp.latex(vals) + '$' if vals else ''} the extent ${sp.latex(fast[j])}$ takes "
        f"the values {states}. The law is the null vector of the fast chain $Q$ there.",
        (("Q", sp.ImmutableMatrix(Q)), (r"\pi", sp.ImmutableMatrix(pi.T)))
        + tuple((sp.latex(s), e) for s, e in nfast.items()),
        (Check(r"\pi Q = 0", bool(res.is_zero_matrix), "symbolic"),
         Check(r"\sum \pi = 1", sp.cancel(sum(pi) - 1) == 0, "symbolic")),
        strategy="finite fast chain")
    pis = list(pi)

    def expect(e: sp.Expr) -> sp.Expr:
        e = sp.sympify(e).subs(vals)
        tot = sp.S.Zero
        for x, p in zip(states, pis):
            tot += p * e.subs({s: v.subs(xi, x) for s, v in nfast.items()})
        return sp.factor(sp.cancel(tot))

    why = (f"the fast chain is irreducible on the {n_states} extents {states} "
           f"(every propensity along it is positive there"
           + (f", for {', '.join(conditions)}" if conditions else "") + ")")

    def written(e: sp.Expr) -> sp.Basic:
        f = sp.sympify(e).subs(vals).subs(nfast)
        return sp.Sum(sp.Function("pi")(xi) * f, (xi, states[0], states[-1]))

    return _Law("finite fast chain", expect, gap, True, why, (step,), tuple(conditions),
                written=written)


def _birth_death_sums(net: ReactionNetwork, fs: FastSubnetwork, fast: list, j: int,
                      cols: list, nu: sp.Matrix, nfast: dict, xi: sp.Symbol, lower: list,
                      upper: list, vals: dict) -> _Law:
    r"""A one-direction fast chain on :math:`0..U(y)` with steps :math:`\pm1`: detailed balance.

    A birth-death chain is reversible, so :math:`\pi(\xi) \propto w(\xi) =
    \prod_{k<\xi} a_+(k)/a_-(k+1)` (Gardiner, Handbook of Stochastic Methods, 3rd ed.
    2004, eq. 7.1.22); the averages are ratios of finite sums with the slow
    variables in the upper limit, :math:`\mathbb E f = \sum_{\xi\le U} w f / \sum_{\xi\le U}
    w`, exact and evaluated by summation in the numeric layer.
    """
    steps_ = [next(col[k] / nu[k] for k in range(len(fast)) if nu[k] != 0) for col in cols]
    if any(abs(st) != 1 for st in steps_) or [lo for lo in lower if lo != 0]:
        raise UnsolvedError(
            f"the extent {fast[j]} of the fast reactions ranges over a number of states that "
            "depends on the slow variables and the chain is not a birth-death chain from 0: "
            "no closed form here. Fix the slow variables that bound it (values=...)")
    U = upper[0] if len(upper) == 1 else sp.Min(*upper)
    kk = sp.Symbol(fresh_name("k", user_names([*net.species, *net.propensities])),
                   integer=True, nonnegative=True)
    a_plus = sp.S.Zero
    a_minus = sp.S.Zero
    for r, st in zip(fs.indices, steps_):
        a = net.propensities[r].subs(nfast)
        if st > 0:
            a_plus += a
        else:
            a_minus += a
    ratio = sp.factor(a_plus.subs(xi, kk) / a_minus.subs(xi, kk + 1))
    w = sp.Product(ratio, (kk, 0, xi - 1)).doit()
    w = w.rewrite(sp.gamma) if w.has(sp.Product) else w
    # detailed balance w(xi+1) a_-(xi+1) = w(xi) a_+(xi): symbolic, else at integer points
    db = sp.cancel(sp.expand_func(sp.gammasimp(sp.combsimp(w.subs(xi, xi + 1) / w)))
                   - ratio.subs(kk, xi))
    method, ok = "symbolic", db == 0
    if not ok:
        method = "numeric"
        import random

        rnd = random.Random(0)
        ok = True
        syms = sorted((ratio.free_symbols | w.free_symbols) - {xi, kk}, key=str)
        for _ in range(5):
            sub = {s: sp.Integer(rnd.randint(30, 60)) if s in fs.slow else
                   sp.Rational(rnd.randint(1, 9), rnd.randint(1, 9)) for s in syms}
            for x in range(3):
                lhs = (w.subs(sub).subs(xi, x + 1) * a_minus.subs(sub).subs(xi, x + 1))
                rhs = (w.subs(sub).subs(xi, x) * a_plus.subs(sub).subs(xi, x))
                if sp.nsimplify(sp.N(lhs - rhs, 30), tolerance=1e-20) != 0:
                    ok = False
    if not ok:  # pragma: no cover - a product the summation code got wrong
        raise UnsolvedError("the detailed-balance weights failed their check")
    z = sp.Sum(w, (xi, 0, U))

    def expect(e: sp.Expr) -> sp.Expr:
        e = sp.sympify(e).subs(vals)
        f = e.subs(nfast)
        if not f.has(xi):
            return sp.factor(f)
        return sp.Sum(sp.factor(w * f), (xi, 0, U)) / z

    step = Step(
        "conditional stationary law",
        f"The fast reactions move the extent ${sp.latex(fast[j])}$ by $\\pm 1$ on "
        f"$0..{sp.latex(U)}$; the chain is birth-death, hence reversible, and its law is "
        r"$\pi(\xi) = w(\xi)/\sum_{\xi'} w(\xi')$ with "
        r"$w(\xi) = \prod_{k<\xi} a_+(k)/a_-(k+1)$ (detailed balance).",
        (("a_+", a_plus), ("a_-", a_minus), ("w", w))
        + tuple((sp.latex(s), e) for s, e in nfast.items()),
        (Check("w(xi+1) a_-(xi+1) = w(xi) a_+(xi)", ok, method),),
        strategy="detailed balance")
    why = (f"the birth-death chain of {fast[j]} on 0..{U} has a_+ > 0 below the top and "
           "a_- > 0 above 0, so it is irreducible on that finite set for every value of the "
           "slow variables")
    def written(e: sp.Expr) -> sp.Basic:
        f = sp.sympify(e).subs(vals).subs(nfast)
        return sp.Sum(sp.Function("pi")(xi) * f, (xi, 0, U))

    return _Law("detailed balance", expect, None, True, why, (step,), written=written)


def _propensity_average(law: _Law, text: str, a: sp.Expr, value: sp.Expr) -> Average:
    r"""The record of :math:`\bar a_r(y) = \mathbb E_{\pi(\cdot\mid y)} a_r(n)`: the sum
    over the fast states :math:`\sum_\xi \pi(\xi) a_r(n(\xi))` when the law is a chain
    along one direction, else the expectation under the multinomial law written out."""
    label = rf"\bar a[{_reaction_tex(text)}]"
    form = law.written(a) if law.written is not None else None
    if form is None:
        label += rf" = \mathbb{{E}}_{{\pi(\cdot\mid y)}}\left[{latex(a)}\right]"
    return Average(label, a, form, value)


def _network_origin(net: ReactionNetwork, kwargs: Mapping, props: Sequence) -> dict:
    """The call that made a network's reduction, as code, for :meth:`Derivation.to_notebook`
    (see :mod:`symavg.report.calls`): ``ReactionNetwork(...).reduce(...)`` with the reduced
    propensities as the value the notebook checks."""
    from .._symbols import epsilon
    from ..report.calls import _sympy_objects, python_literal

    vals: list[Any] = [[r.text for r in net.reactions], list(net.rates), list(net.species)]
    call = "ReactionNetwork({}, {}, {}"
    user = [None if ma else a for a, ma in zip(net.propensities, net.mass_action)]
    if any(u is not None for u in user):
        call += ", propensities={}"
        vals.append(user)
    if net.eps != epsilon:
        call += ", eps={}"
        vals.append(net.eps)
    call += ").reduce(" + ", ".join(f"{k}={{}}" for k in kwargs) + ")"
    vals += list(kwargs.values())
    return {"call": "res = " + call.format(*(python_literal(v) for v in vals)),
            "imports": "from symavg import ReactionNetwork", "inputs": _sympy_objects(vals),
            "attr": "propensities", "expected": sp.ImmutableMatrix(list(props))}


def _reaction_tex(text: str) -> str:
    r"""A reaction ``"S1 + E -> C"`` in math: upright names, an arrow (``\mathrm{S1 + E}
    \to \mathrm{C}``)."""
    left, _, right = text.partition("->")
    return rf"\mathrm{{{left.strip()}}} \to \mathrm{{{right.strip()}}}"


def _values(values: Mapping, fs: FastSubnetwork) -> dict[sp.Symbol, sp.Integer]:
    """``values`` keyed by the slow symbols (names accepted), as nonnegative integers."""
    by_name = {y.name: y for y in fs.slow}
    out = {}
    for k, v in values.items():
        key = by_name.get(k if isinstance(k, str) else getattr(k, "name", None))
        if key is None or (not isinstance(k, str) and k not in fs.slow and k != key):
            raise ModelError(f"values= fixes {k}, which is not a slow variable "
                             f"{[str(y) for y in fs.slow]}")
        val = sp.sympify(v)
        if not (val.is_Integer and val >= 0):
            raise ModelError(f"values[{k}] = {v} must be a nonnegative integer (a count)")
        out[key] = val
    return out


def _law(net: ReactionNetwork, fs: FastSubnetwork, values: Mapping,
         truncation: Mapping | None = None, params: Mapping | None = None,
         check_at: Sequence | None = None) -> _Law:
    if fs.kind == "monomolecular" and not values:
        return _monomolecular_law(net, fs)
    if fs.kind in ("one-direction", "monomolecular") and _rank(net, fs) == 1:
        try:
            return _one_direction_law(net, fs, values)
        except UnsolvedError as exc:
            closed_form_failure = str(exc)
    else:
        closed_form_failure = (f"no closed form for the stationary law of the {fs.kind} fast "
                               f"subnetwork {[r.text for r in fs.network.reactions]}")
    return _numeric_law(net, fs, values, truncation, params, check_at, closed_form_failure)


def _numeric_law(net: ReactionNetwork, fs: FastSubnetwork, values: Mapping,
                 truncation: Mapping | None, params: Mapping | None,
                 check_at: Sequence | None, why_numeric: str) -> _Law:
    r"""The conditional law from the truncated fast master equation
    (:class:`~symavg.derive.network_numeric.NumericFastLaw`): each monomial of the fast
    species in a slow propensity becomes a tabulated conditional mean :math:`E_m(y_f)`."""
    from .network_numeric import NumericFastLaw

    law = NumericFastLaw.build(net, fs, truncation)
    fast = list(fs.fast_species)          # observables: monomials of the fast species only
    others = set(net.species) - set(fast)
    made: dict[sp.Expr, type] = {}

    def average(obs: sp.Expr) -> sp.Expr:
        if obs not in made:
            try:
                poly = sp.Poly(obs, *fast)
                name = "E_" + "_".join(f"{s.name}{k if k > 1 else ''}"
                                       for s, k in zip(fast, poly.monoms()[0]) if k)
            except sp.PolynomialError:
                name = f"E_obs{len(made) + 1}"
            made[obs] = law.average(obs, name)
        return made[obs](*law.coupled)

    def expect(e: sp.Expr) -> sp.Expr:
        e = sp.expand(sp.sympify(e))
        if not e.free_symbols & set(fast):
            return e
        try:
            poly = sp.Poly(e, *fast)
        except sp.PolynomialError:
            if e.free_symbols & others:
                raise UnsolvedError(
                    f"the slow propensity {e} is not a polynomial in the fast species {fast} "
                    f"and depends on {sorted(e.free_symbols & others, key=str)}: its numeric "
                    "average is not separable into tables over the fast totals") from None
            return average(e)
        out = sp.S.Zero
        for monom, coeff in poly.terms():
            if not any(monom):
                out += coeff
                continue
            out += coeff * average(sp.Mul(*[s**k for s, k in zip(fast, monom)]))
        return out

    checks = []
    detail = ""
    if params is not None:
        pv = {sp.sympify(k): v for k, v in params.items()}
        vals = _values(values, fs)
        pts = [tuple(int(p) for p in pt) for pt in (check_at or [])]
        if not pts:
            pts = [tuple(int(vals.get(y, 10)) for y in law.coupled)]
        lo = tuple(min(p[k] for p in pts) for k in range(len(law.coupled)))
        hi = tuple(max(p[k] for p in pts) for k in range(len(law.coupled)))
        tab = law.table(pv, lo, hi, [sp.Mul(*fast)] if fast else [])
        checks.append(Check("pi Q_fast = 0 on every level set", tab.residual <= 1e-8,
                            "numeric", f"largest relative residual {tab.residual:.2e} on "
                            f"{tab.n_states} fast states, box {lo}..{hi}"))
        if law.truncation:
            checks.append(Check("truncation error (box doubled) <= tol",
                                tab.truncation_error <= law.tol, "numeric",
                                f"{tab.truncation_error:.2e} at the truncation "
                                f"{dict(law.truncation)}"))
        detail = f" Checked at the parameters {params} on the slow box {lo}..{hi}."
    step = Step(
        "conditional stationary law",
        f"No closed form ({why_numeric}). The fast reactions conserve "
        f"${sp.latex(list(law.coupled))}$, so the fast master equation splits into one finite "
        "block per level set $W_f n_f = y_f$"
        + (f" (the species {[s.name for s in law.truncation]} truncated, reflecting, and the "
           "truncation error measured by doubling the box)" if law.truncation else "")
        + r"; its stationary vector on each block, $\pi Q = 0$, $\sum\pi = 1$, is computed "
        "numerically by one sparse solve, and each monomial $m$ of the fast species in a "
        r"slow propensity becomes the table $E_m(y_f) = \mathbb E_{\pi(\cdot\mid y_f)} m$, "
        "evaluated at the parameter values of each simulation." + detail,
        (("W_f", sp.ImmutableMatrix(law.weights.tolist())),)
        + tuple((sp.latex(y), c) for y, c in zip(fs.slow, fs.conserved) if y in law.coupled),
        tuple(checks), strategy="numeric fast master equation")
    why = ("checked numerically: exactly one closed communicating class of the fast chain on "
           "each level set (verified whenever the tables are computed)")
    return _Law("numeric fast master equation", expect, None, True, why, (step,),
                numeric=law)


def _rank(net: ReactionNetwork, fs: FastSubnetwork) -> int:
    N = net.stoichiometry
    return sp.Matrix([[N[net.species.index(s), r] for r in fs.indices]
                      for s in fs.fast_species]).rank()


def spectral_gap(net: ReactionNetwork, params: Mapping | None = None,
                 slow: Mapping | None = None, values: Mapping | None = None) -> sp.Expr:
    r"""The spectral gap of the fast subnetwork with the slow variables frozen.

    Symbolic where the fast chain allows it: for a monomolecular fast subnetwork
    the gap of the one-molecule chain (the :math:`N`-molecule generator's
    eigenvalues are sums of one-molecule ones, so the gaps agree), e.g.
    :math:`(k_1+k_2)/\epsilon` for ``S1 <-> S2``; for a finite one-direction
    chain of at most three states, from its characteristic polynomial. With
    ``params`` (and ``slow`` values ``{slow symbol: count}``) a number from
    the eigenvalues of the numeric chain.

    Examples
    --------
    >>> import sympy as sp, symavg as sa
    >>> k1, k2, k3 = sp.symbols("k1 k2 k3", positive=True)
    >>> eps = sa.epsilon
    >>> net = sa.ReactionNetwork(["S1 -> S2", "S2 -> S1", "S2 -> 0"], [k1 / eps, k2 / eps, k3])
    >>> net.spectral_gap()
    (k1 + k2)/epsilon
    """
    fs = fast_subnetwork(net)
    values = dict(values or {})
    if (params or slow) and fs.kind != "monomolecular":
        psub = {sp.sympify(k): sp.nsimplify(v) for k, v in (params or {}).items()}
        if not slow:
            raise UnsolvedError("the gap of this fast chain depends on the slow variables: "
                                f"pass slow={{{', '.join(map(str, fs.slow))}: counts}}")
        # numbers first (the scale stays a symbol so that the fast reactions are found)
        num = net.subs({k: v for k, v in psub.items() if k != net.eps})
        fs_num = fast_subnetwork(num)
        fixed = {**values, **{str(k): v for k, v in slow.items()}}
        if fs.kind == "general" or _rank(net, fs) != 1:
            from .network_numeric import NumericFastLaw

            nl = NumericFastLaw.build(net, fs)
            given = {str(k): int(v) for k, v in fixed.items()}
            missing = [y for y in nl.coupled if y.name not in given]
            if missing:
                raise UnsolvedError(f"the gap depends on {missing}: pass slow={{...}}")
            g1 = nl.gap(psub, [given[y.name] for y in nl.coupled])
            scale = net.eps ** fs.power
            return sp.Float(g1) * (scale.subs(psub) if net.eps in psub else scale)
        finite = _one_direction_law(num, fs_num, fixed, max_states=400)
        Q = finite.steps[0].expression("Q").subs(psub)
        return _chain_gap(Q)
    law = _law(net, fs, values)
    gap = law.gap
    if params or slow:
        psub = {sp.sympify(k): v for k, v in (params or {}).items()}
        ssub = {sp.sympify(k): v for k, v in (slow or {}).items()}
        if gap is not None:
            return sp.sympify(gap).subs({**psub, **ssub})
        raise UnsolvedError("no gap for this fast chain")  # pragma: no cover
    if gap is None:
        raise UnsolvedError("the spectral gap of this fast chain has no closed form here: pass "
                            "params={symbol: value} (and slow={slow variable: count})")
    return gap


# ---------------------------------------------------------------- reduce
@dataclass(frozen=True)
class ValidityReport:
    r"""When the fast-equilibrium reduction holds.

    The reduction needs the fast subnetwork to relax (rate: its spectral gap
    :math:`\lambda_1`) much faster than the next slow reaction fires (rate: the
    total slow propensity :math:`a_0(y) = \sum_r\bar a_r(y)`; Cao, Gillespie &
    Petzold 2005, sec. II), and the fast chain to be ergodic for each value of
    the slow variables.

    Attributes
    ----------
    gap : Expr or None
        :math:`\lambda_1` (symbolic in the slow variables and eps).
    slow_rate : Expr
        :math:`a_0(y)`.
    ratio : Expr or None
        :math:`a_0/\lambda_1`, which must be :math:`\ll 1`; proportional to eps.
    condition : str
        The inequality, e.g. ``"(k1 + k2)/epsilon >> T_S1S2*k1*k3/(k1 + k2)"``.
    ergodic : bool
    ergodicity : str
        Why the fast chain is ergodic (or which states it cannot reach).
    ratio_max : Expr or None
        ``ratio`` at the upper ends of ``slow_range`` (when given).
    conditions : tuple of str
        Ranges of the slow variables on which the closed form holds.
    """

    gap: sp.Expr | None
    slow_rate: sp.Expr
    ratio: sp.Expr | None
    condition: str
    ergodic: bool
    ergodicity: str
    ratio_max: sp.Expr | None = None
    conditions: tuple[str, ...] = ()

    def __str__(self) -> str:
        out = [f"valid when {self.condition}", f"ergodic: {self.ergodic} ({self.ergodicity})"]
        if self.ratio_max is not None:
            out.append(f"largest ratio slow rate / gap on the range: {self.ratio_max}")
        return "\n".join(out)


def reduce_network(net: ReactionNetwork, *, names: Mapping | None = None,
                   values: Mapping | None = None, slow_range: Mapping | None = None,
                   environment: SDE | None = None, volume: object = None,
                   noise_at: Mapping | None = None, truncation: Mapping | None = None,
                   params: Mapping | None = None) -> Any:
    r"""Average the fast subnetwork out: the slow-scale network of Cao, Gillespie & Petzold (2005).

    Parameters
    ----------
    net : ReactionNetwork
        Fast reactions carry a negative power of eps, slow ones none.
    names : mapping, optional
        Names of the slow variables (see :func:`fast_subnetwork`).
    values : mapping ``{slow variable: integer}``, optional
        Fix slow variables that the whole network conserves (e.g. one enzyme
        molecule, ``{E_C: 1}``); they are substituted and dropped.
    slow_range : mapping ``{slow variable: (lo, hi)}``, optional
        The range of the slow variables over which the validity ratio is
        maximised (at the upper ends).
    environment, volume, noise_at : optional
        Extrinsic noise: rates driven by the fast ``environment`` SDE. Then the
        result is ``sa.reduce(net.cle(volume, environment, noise_at),
        fast=environment.state)``, an ``EffectiveModel`` for the species'
        concentrations with the extra diffusion and the noise-induced drift
        (see :func:`cle`).
    truncation : mapping ``{fast species: max count}``, optional
        For the numeric conditional law (a general fast subnetwork): caps of the fast
        species no conserved total bounds (the error is checked by doubling them).
    params : mapping ``{symbol: number}``, optional
        For the numeric conditional law: check it (residual, truncation, gap) at these
        parameters on the slow values of ``slow_range`` (its ends), recorded in the
        derivation and the validity report. The tables themselves are computed by the
        SSA at the parameters it runs with.

    Returns
    -------
    ReactionNetwork
        In the slow variables, each slow reaction :math:`r` with stoichiometry
        :math:`W\nu_r` and propensity :math:`\mathbb E_{\pi(\cdot\mid y)} a_r`;
        ``.steps`` holds the Derivation, ``.validity`` the
        :class:`ValidityReport`, ``.records`` the slow map and the source.

    Examples
    --------
    >>> import sympy as sp, symavg as sa
    >>> k1, k2, k3 = sp.symbols("k1 k2 k3", positive=True)
    >>> eps = sa.epsilon
    >>> net = sa.ReactionNetwork(["S1 -> S2", "S2 -> S1", "S2 -> 0"], [k1 / eps, k2 / eps, k3])
    >>> red = net.reduce()
    >>> red.reactions[0].text, red.propensities[0]
    ('T_S1S2 -> 0', T_S1S2*k1*k3/(k1 + k2))
    >>> red.validity.condition
    '(k1 + k2)/epsilon >> T_S1S2*k1*k3/(k1 + k2)'
    """
    if environment is not None:
        from .engine import reduce

        return reduce(cle(net, volume, environment, noise_at), fast=list(environment.state))
    fs = fast_subnetwork(net, names)
    values = dict(values or {})
    check_at = None
    if slow_range:
        by_name = {y.name: y for y in fs.slow}
        rng = {by_name.get(str(k), k): v for k, v in slow_range.items()}
        fixed = _values(values, fs)
        coupled = [y for y in fs.slow]
        ends = []
        for end in (0, 1):
            ends.append(tuple(int(fixed[y]) if y in fixed else int(rng[y][end]) if y in rng
                              else 10 for y in coupled))
        check_at = ends
    law = _law(net, fs, values, truncation, params, None)
    if law.numeric is not None and check_at is not None and params is not None:
        idx = [fs.slow.index(y) for y in law.numeric.coupled]
        law = _law(net, fs, values, truncation, params,
                   [tuple(pt[i] for i in idx) for pt in check_at])
    vals = _values(values, fs)
    N = net.stoichiometry
    W = sp.Matrix([list(w) for w in fs.weights])
    slow_idx = [r for r in range(net.n_reactions) if r not in fs.indices]
    steps: list[Step] = [
        Step("network",
             "The reaction network and its propensities (mass action: "
             r"$a = k\prod_i\binom{n_i}{m_i}$).",
             tuple((rf"a[{_reaction_tex(rx.text)}]", a)
                   for rx, a in zip(net.reactions, net.propensities))),
        Step("fast subnetwork",
             f"The reactions whose propensities scale as ${sp.latex(net.eps ** fs.power)}$ are "
             "fast, the others slow. The fast reactions conserve the combinations below, the "
             "slow variables $y = Wn$.",
             tuple((sp.latex(y), c) for y, c in zip(fs.slow, fs.conserved))
             + (("W", sp.ImmutableMatrix(W)),),
             (Check("W N_fast = 0", bool((W * sp.Matrix(
                 [[N[i, r] for r in fs.indices] for i in range(net.n_species)])).is_zero_matrix),
                 "symbolic"),),
             strategy="powers of eps"),
    ]
    steps.extend(law.steps)
    groups: dict[tuple, list] = {}
    dropped = []
    averaged_rows = []
    # species no fast reaction changes are slow variables themselves: write them as such
    ident = {c: y for y, c in zip(fs.slow, fs.conserved) if c.is_Symbol and c != y}
    for r in slow_idx:
        dy = W * N.col(r)
        a_bar = law.expect(net.propensities[r]).xreplace(ident)
        a_bar = sp.factor(sp.cancel(a_bar.subs(vals)))
        averaged_rows.append((net.reactions[r].text, net.propensities[r], a_bar))
        if dy.is_zero_matrix:
            dropped.append(net.reactions[r].text)
            continue
        key = tuple(int(x) for x in dy)
        groups.setdefault(key, []).append((r, a_bar))
    steps.append(Step(
        "averaged propensities",
        r"Each slow propensity is averaged over the conditional stationary law: "
        r"$\bar a_r(y) = \mathbb E_{\pi(\cdot\mid y)} a_r(n)$, and its reaction changes the "
        r"slow variables by $W\nu_r$."
        + (f" Reactions {dropped} change no slow variable and drop out." if dropped else ""),
        (), strategy=law.kind,
        averages=tuple(_propensity_average(law, t, a, a_bar)
                       for t, a, a_bar in averaged_rows)))
    keep = [y for y in fs.slow if y not in vals]
    texts, rates, props = [], [], []
    for key, members in groups.items():
        lhs = [(y, -c) for y, c in zip(fs.slow, key) if c < 0]
        rhs = [(y, c) for y, c in zip(fs.slow, key) if c > 0]
        if any(y in vals for y, _ in lhs + rhs):
            raise ModelError(f"values= fixes {list(vals)}, but slow reactions change "
                             f"{[str(y) for y, _ in lhs + rhs if y in vals]}: only quantities "
                             "the whole network conserves can be fixed")

        def side(parts: list) -> str:
            return " + ".join((f"{c} " if c != 1 else "") + y.name for y, c in parts) or "0"

        texts.append(f"{side(lhs)} -> {side(rhs)}")
        rates.append(sum((net.rates[r] for r, _ in members), sp.S.Zero))
        props.append(sp.factor(sum((a for _, a in members), sp.S.Zero)))
    if not texts:
        raise ScaleSeparationError("no slow reaction changes a slow variable: the reduced "
                                   "network is empty")
    reduced_species = [y for y in keep]
    slow_rate = sp.factor(sum(props, sp.S.Zero))
    gap = law.gap
    numeric_gap = None
    if law.numeric is not None and params is not None:
        pv = {sp.sympify(k): v for k, v in params.items()}
        pts = [tuple(int(p) for p in pt) for pt in
               ([tuple(pt[fs.slow.index(y)] for y in law.numeric.coupled) for pt in check_at]
                if check_at else [tuple(int(vals.get(y, 10)) for y in law.numeric.coupled)])]
        numeric_gap = min(law.numeric.gap(pv, pt) for pt in pts)
    if gap is not None:
        gap = sp.factor(sp.sympify(gap).subs(vals))
        ratio = sp.factor(sp.cancel(slow_rate / gap))
        condition = f"{gap} >> {slow_rate}"
    elif numeric_gap is not None:
        ratio = None
        g = sp.Float(numeric_gap, 6) * net.eps ** fs.power
        condition = (f"{g} >> {slow_rate} (the numeric gap of the fast chain at the "
                     f"parameters given, smallest over the slow values checked)")
    else:
        ratio = None
        condition = (f"spectral gap of the fast chain >> {slow_rate} (the gap has no closed "
                     "form here: net.spectral_gap(params=..., slow=...) gives it numerically)")
    ratio_max = None
    if slow_range and ratio is not None:
        ratio_max = sp.factor(ratio.subs({sp.sympify(k): v[1] for k, v in slow_range.items()}))
    validity = ValidityReport(gap, slow_rate, ratio, condition, law.ergodic, law.ergodicity,
                              ratio_max, law.conditions)
    checks = [Check("fast chain ergodic", law.ergodic, "symbolic", law.ergodicity)]
    if ratio is not None:
        lead = laurent_terms(ratio, net.eps)
        checks.append(Check("slow rate / gap = O(eps)", min(lead) > 0, "symbolic",
                            f"ratio = {ratio}"))
    steps.append(Step(
        "validity",
        "The reduction holds when the fast subnetwork relaxes much faster than the next slow "
        r"reaction fires: spectral gap $\lambda_1 \gg a_0(y) = \sum_r \bar a_r(y)$ "
        "(Cao, Gillespie & Petzold 2005), and the fast chain is ergodic for each $y$."
        + (f" The closed form holds for {', '.join(law.conditions)}." if law.conditions else ""),
        tuple(x for x in ((r"\lambda_1", gap), ("a_0", slow_rate),
                          (r"a_0/\lambda_1", ratio)) if x[1] is not None),
        tuple(checks), strategy="spectral gap"))
    given = {k: v for k, v in (("names", names), ("values", values or None),
                               ("slow_range", slow_range)) if v is not None}
    reduced = ReactionNetwork(
        texts, rates, reduced_species, propensities=props, eps=net.eps,
        steps=Derivation("Fast-equilibrium reduction of a reaction network", tuple(steps),
                         origin=_network_origin(net, given, props)),
        validity=validity,
        records={"source": net, "fast": fs, "slow_map": {y: c for y, c in fs.slow_map.items()
                                                         if y not in vals},
                 "values": vals, "numeric_law": law.numeric})
    return reduced
