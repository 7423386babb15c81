r"""Chemical reaction networks: the declaration.

A network of :math:`R` reactions among :math:`S` species is given by reaction
strings such as ``"2 A + B -> C"`` or ``"0 -> S"`` (``0`` is the empty
complex) and one rate per reaction. Reaction :math:`r` consumes
:math:`m_{ir}` molecules of species :math:`i` and produces :math:`p_{ir}`; its
net change is the column :math:`\nu_r = p_r - m_r` of the stoichiometric
matrix :math:`N` (``S x R``).

Propensities (the probability per unit time that reaction :math:`r` fires in
the state :math:`n \in \mathbb N^S`, molecule counts), by default mass action
in the combinatorial form of Gillespie (J. Comput. Phys. 22:403, 1976, eq. 14):

.. math::

    a_r(n) = k_r \prod_i \binom{n_i}{m_{ir}},
    \qquad\text{e.g. } a(n) = k\,\tfrac{n_A(n_A-1)}{2} \text{ for } 2A \to \dots ,

with the rate ``k_r`` in count units. The deterministic (large-number) form
used by the rate equations is :math:`\bar a_r(n) = k_r \prod_i n_i^{m_{ir}}/m_{ir}!`.
A user propensity replaces :math:`a_r` (and :math:`\bar a_r`) for its
reaction; it must be nonnegative and vanish when a reactant is missing.

Conservation laws are the vectors :math:`w` with :math:`w^T N = 0` (the left
null space of :math:`N`), given as integer combinations of the species.

Species are positive SymPy symbols (``Symbol("A", positive=True)``) unless the
user passes their own. Reaction strings are read by a small tokenizer, never by
``sympify``/``eval``.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import sympy as sp

from .. import _hooks
from .._symbols import epsilon
from ..errors import ModelError
from ._common import check_no_floats, check_scale

__all__ = ["Reaction", "ReactionNetwork", "parse_reaction"]

_TOKEN = re.compile(r"\s*(?:(?P<arrow>->)|(?P<plus>\+)|(?P<int>\d+)|"
                    r"(?P<name>[A-Za-z_][A-Za-z0-9_]*)|(?P<bad>\S))")


@dataclass(frozen=True)
class Reaction:
    """One reaction: reactant and product multiplicities by species name.

    Attributes
    ----------
    text : str
        The reaction as written.
    reactants, products : tuple of (name, multiplicity)
        In order of appearance; the empty complex ``0`` is the empty tuple.
    """

    text: str
    reactants: tuple[tuple[str, int], ...]
    products: tuple[tuple[str, int], ...]

    def species_names(self) -> list[str]:
        out: list[str] = []
        for name, _ in self.reactants + self.products:
            if name not in out:
                out.append(name)
        return out


def _complex(tokens: list[tuple[str, str]], text: str, side: str) -> tuple[tuple[str, int], ...]:
    """Read ``0`` or ``[c] X (+ [c] Y)*`` from ``tokens`` (kind, value)."""
    if not tokens:
        raise ModelError(f"reaction {text!r}: the {side} side is empty; write 0 for no "
                         "species, e.g. '0 -> S'")
    if len(tokens) == 1 and tokens[0] == ("int", "0"):
        return ()
    out: dict[str, int] = {}
    i = 0
    while True:
        coeff = 1
        if i < len(tokens) and tokens[i][0] == "int":
            coeff = int(tokens[i][1])
            if coeff == 0:
                raise ModelError(f"reaction {text!r}: a stoichiometric coefficient 0 on the "
                                 f"{side} side; leave the species out instead")
            i += 1
        if i >= len(tokens) or tokens[i][0] != "name":
            got = tokens[i][1] if i < len(tokens) else "the end"
            raise ModelError(f"reaction {text!r}: expected a species name on the {side} side, "
                             f"got {got!r}. Write reactions like '2 A + B -> C' or '0 -> S'")
        name = tokens[i][1]
        out[name] = out.get(name, 0) + coeff
        i += 1
        if i == len(tokens):
            break
        if tokens[i][0] != "plus":
            raise ModelError(f"reaction {text!r}: expected '+' or '->' after {name!r} on the "
                             f"{side} side, got {tokens[i][1]!r}")
        i += 1
        if i == len(tokens):
            raise ModelError(f"reaction {text!r}: the {side} side ends with '+'")
    return tuple(out.items())


def parse_reaction(text: str) -> Reaction:
    """Parse ``"2 A + B -> C"`` (``0`` is the empty complex) without evaluating anything.

    Raises
    ------
    ModelError
        Not a string, no or several arrows, a stray character (``-``, ``*``,
        ``<->``...), a negative or zero coefficient; the message quotes the reaction.

    Examples
    --------
    >>> parse_reaction("2 A + B -> C")
    Reaction(text='2 A + B -> C', reactants=(('A', 2), ('B', 1)), products=(('C', 1),))
    >>> parse_reaction("0 -> S").reactants
    ()
    """
    if not isinstance(text, str):
        raise ModelError(f"a reaction must be a string like 'A + B -> C'; got {text!r}")
    tokens: list[tuple[str, str]] = []
    pos = 0
    stripped = text.rstrip()
    while pos < len(stripped):
        m = _TOKEN.match(stripped, pos)
        assert m is not None
        kind = m.lastgroup
        val = m.group(kind)  # type: ignore[arg-type]
        if kind == "bad":
            hint = ""
            if val == "-" or val == "<":
                hint = (" (a negative coefficient or '<->' is not allowed: write each direction "
                        "as its own reaction with its own rate)")
            raise ModelError(f"reaction {text!r}: unexpected character {val!r} at position "
                             f"{m.start(kind)}{hint}")
        tokens.append((kind, val))  # type: ignore[arg-type]
        pos = m.end()
    arrows = [i for i, t in enumerate(tokens) if t[0] == "arrow"]
    if len(arrows) != 1:
        raise ModelError(f"reaction {text!r}: needs exactly one '->' (found {len(arrows)})")
    a = arrows[0]
    return Reaction(text.strip(), _complex(tokens[:a], text, "left"),
                    _complex(tokens[a + 1:], text, "right"))


def _falling(n: sp.Expr, m: int) -> sp.Expr:
    out = sp.S.One
    for j in range(m):
        out *= n - j
    return out


@dataclass(frozen=True)
class ReactionNetwork:
    r"""A chemical reaction network with its propensities.

    Parameters
    ----------
    reactions : sequence of str
        ``"S + E -> C"``, ``"C -> S + E"``, ``"0 -> S"``, ``"2 A -> B"``.
    rates : sequence of expressions, or mapping ``{reaction string: rate}``
        One rate constant per reaction (count units). A factor ``1/eps``
        (any negative power of the scale parameter) marks a fast reaction.
    species : sequence of Symbol, optional
        The species in the order of the state vector. Default: positive
        symbols named as in the reactions, in order of first appearance.
        Every name in a reaction must be one of them.
    propensities : sequence or mapping, optional
        User propensities, in the species symbols; ``None`` entries (or
        reactions left out of a mapping) are mass action. The rate of such a
        reaction is only its label in derivations.
    eps : Symbol, optional
        The scale parameter (default :data:`symavg.epsilon`).

    Raises
    ------
    ModelError
        A malformed reaction, an unknown species, a rate that is not an
        expression (a string, a float), a propensity that can be negative or
        does not vanish when a reactant is missing, duplicated reactions; each
        message quotes the reaction.

    Examples
    --------
    >>> import sympy as sp, symavg as sa
    >>> k1, k2, k3 = sp.symbols("k1 k2 k3", positive=True)
    >>> eps = sa.epsilon
    >>> net = sa.ReactionNetwork(["S1 -> S2", "S2 -> S1", "S2 -> 0"], [k1 / eps, k2 / eps, k3])
    >>> net.species
    (S1, S2)
    >>> net.propensities
    (S1*k1/epsilon, S2*k2/epsilon, S2*k3)
    >>> sa.ReactionNetwork(["2 A -> B"], [k1]).propensities
    (A*k1*(A - 1)/2,)
    >>> sa.ReactionNetwork(["E + S -> C", "C -> E + S"], [k1, k2]).conservation_laws
    (C + E, C + S)
    """

    reactions: tuple[Reaction, ...]
    rates: tuple[sp.Expr, ...]
    species: tuple[sp.Symbol, ...]
    propensities: tuple[sp.Expr, ...]
    deterministic_propensities: tuple[sp.Expr, ...]
    mass_action: tuple[bool, ...]
    eps: sp.Symbol = epsilon
    steps: Any = field(default=None, compare=False, repr=False)
    validity: Any = field(default=None, compare=False, repr=False)
    records: Mapping[str, Any] = field(default_factory=dict, compare=False, hash=False,
                                       repr=False)

    def __init__(self, reactions: Sequence[str], rates: Sequence | Mapping,
                 species: Sequence[sp.Symbol] | None = None, *,
                 propensities: Sequence | Mapping | None = None, eps: sp.Symbol = epsilon,
                 steps: Any = None, validity: Any = None,
                 records: Mapping[str, Any] | None = None) -> None:
        check_scale(eps, "ReactionNetwork")
        if isinstance(reactions, str):
            reactions = [reactions]
        try:
            texts = list(reactions)
        except TypeError:
            raise ModelError(f"reactions must be a list of strings; got {reactions!r}") from None
        if not texts:
            raise ModelError("a reaction network needs at least one reaction")
        parsed = tuple(parse_reaction(t) for t in texts)
        seen: dict[tuple, str] = {}
        for r in parsed:
            key = (tuple(sorted(r.reactants)), tuple(sorted(r.products)))
            if key in seen:
                raise ModelError(f"reaction {r.text!r} appears twice (also as {seen[key]!r}): "
                                 "merge them into one reaction with the sum of the rates")
            seen[key] = r.text
            if sorted(r.reactants) == sorted(r.products):
                raise ModelError(f"reaction {r.text!r} changes nothing (same complex on both "
                                 "sides): drop it")
        sp_list = _species(parsed, species)
        by_name = {s.name: s for s in sp_list}
        rate_list = _rates(parsed, rates)
        user = _user_propensities(parsed, propensities, sp_list)
        props, dets, ma = [], [], []
        for r, k, u in zip(parsed, rate_list, user):
            if u is None:
                a = k
                d = k
                for name, m in r.reactants:
                    a *= _falling(by_name[name], m) / sp.factorial(m)
                    d *= by_name[name] ** m / sp.factorial(m)
                props.append(sp.factor(a) if r.reactants else a)
                dets.append(d)
                ma.append(True)
            else:
                _check_propensity(r, u, sp_list, by_name)
                props.append(u)
                dets.append(u)
                ma.append(False)
        for r, a, is_ma in zip(parsed, props, ma):
            if not is_ma:   # mass action is >= 0 by construction (positive rate, binomials)
                _check_nonnegative(r, a, sp_list)
        object.__setattr__(self, "reactions", parsed)
        object.__setattr__(self, "rates", tuple(rate_list))
        object.__setattr__(self, "species", tuple(sp_list))
        object.__setattr__(self, "propensities", tuple(props))
        object.__setattr__(self, "deterministic_propensities", tuple(dets))
        object.__setattr__(self, "mass_action", tuple(ma))
        object.__setattr__(self, "eps", eps)
        object.__setattr__(self, "steps", steps)
        object.__setattr__(self, "validity", validity)
        object.__setattr__(self, "records", dict(records or {}))

    # ------------------------------------------------------------- structure
    @property
    def n_species(self) -> int:
        return len(self.species)

    @property
    def n_reactions(self) -> int:
        return len(self.reactions)

    @property
    def state(self) -> tuple[sp.Symbol, ...]:
        """The species (the state of the jump process), as ``SDE.state``."""
        return self.species

    @property
    def stoichiometry(self) -> sp.ImmutableMatrix:
        r"""The stoichiometric matrix :math:`N` (``S x R``), column :math:`r` is :math:`\nu_r`."""
        names = [s.name for s in self.species]
        N = sp.zeros(len(names), len(self.reactions))
        for j, r in enumerate(self.reactions):
            for name, m in r.reactants:
                N[names.index(name), j] -= m
            for name, m in r.products:
                N[names.index(name), j] += m
        return sp.ImmutableMatrix(N)

    def reactant_matrix(self) -> sp.ImmutableMatrix:
        """The multiplicities :math:`m_{ir}` of the reactants (``S x R``)."""
        names = [s.name for s in self.species]
        M = sp.zeros(len(names), len(self.reactions))
        for j, r in enumerate(self.reactions):
            for name, m in r.reactants:
                M[names.index(name), j] = m
        return sp.ImmutableMatrix(M)

    @property
    def conservation_laws(self) -> tuple[sp.Expr, ...]:
        r"""Linear combinations :math:`w\cdot n` constant along every reaction (:math:`w^TN = 0`).

        A basis of the left null space of :math:`N`, each vector scaled to
        coprime integers with a positive first entry, then written in the species.
        """
        return tuple(sum((c * s for c, s in zip(w, self.species)), sp.S.Zero)
                     for w in left_null_space(self.stoichiometry))

    @property
    def parameters(self) -> tuple[sp.Symbol, ...]:
        """Free symbols of the propensities other than the species (eps included), by name."""
        syms: set[sp.Symbol] = set()
        for a in self.propensities + self.rates:
            syms |= a.free_symbols
        return tuple(sorted(syms - set(self.species), key=lambda s: s.name))

    def subs(self, *args: Any, **kwargs: Any) -> ReactionNetwork:
        """The network with the rates and user propensities substituted."""
        props = [None if ma else a.subs(*args, **kwargs)
                 for a, ma in zip(self.propensities, self.mass_action)]
        return ReactionNetwork([r.text for r in self.reactions],
                               [k.subs(*args, **kwargs) for k in self.rates], self.species,
                               propensities=props, eps=self.eps)

    # --------------------------------------------------- derived descriptions
    def rate_equations(self, volume: object = None) -> Any:
        """The deterministic rate equations; see :func:`symavg.derive.network.rate_equations`."""
        return _hooks.call("network.rate_equations", self, volume)

    def cle(self, volume: object = None, environment: Any = None,
            noise_at: Mapping | None = None) -> Any:
        """The chemical Langevin equation, an ``SDE``; see :func:`symavg.derive.network.cle`."""
        return _hooks.call("network.cle", self, volume, environment, noise_at)

    def fokker_planck(self, volume: object = None) -> Any:
        """The Fokker-Planck equation of the CLE; see
        :func:`symavg.derive.network.fokker_planck`."""
        return _hooks.call("network.fokker_planck", self, volume)

    def generator(self) -> Any:
        """The jump generator; see :func:`symavg.derive.network.generator`."""
        return _hooks.call("network.generator", self)

    def fast_subnetwork(self) -> Any:
        """The fast reactions and their conserved quantities; see
        :func:`symavg.derive.network.fast_subnetwork`."""
        return _hooks.call("network.fast_subnetwork", self)

    def spectral_gap(self, params: Mapping | None = None, slow: Mapping | None = None,
                     values: Mapping | None = None) -> Any:
        """The spectral gap of the fast subnetwork; see
        :func:`symavg.derive.network.spectral_gap`."""
        return _hooks.call("network.spectral_gap", self, params, slow, values)

    def reduce(self, **kwargs: Any) -> ReactionNetwork:
        """Average out the fast subnetwork; see :func:`symavg.derive.network.reduce_network`."""
        return _hooks.call("network.reduce", self, **kwargs)

    def cme(self, truncation: Mapping, params: Mapping | None = None, **kwargs: Any) -> Any:
        """The master equation on a truncated state space; see :func:`symavg.numeric.ssa.cme`."""
        return _hooks.call("network.cme", self, truncation, params, **kwargs)

    def simulate(self, x0: Mapping, T: float, **kwargs: Any) -> Any:
        """Exact stochastic simulation; see :func:`symavg.numeric.ssa.ssa`."""
        return _hooks.call("network.ssa", self, x0, T, **kwargs)

    # ---------------------------------------------------------------- display
    def __repr__(self) -> str:
        rx = ", ".join(f"{r.text!r}: {a}" for r, a in zip(self.reactions, self.propensities))
        return f"ReactionNetwork({{{rx}}})"

    def _repr_latex_(self) -> str:
        rows = []
        for r, a in zip(self.reactions, self.propensities):
            rows.append(_latex_complex(r.reactants) + r" &\xrightarrow{} " +
                        _latex_complex(r.products) + r" && a = " + sp.latex(a))
        return r"$\begin{aligned}" + r"\\ ".join(rows) + r"\end{aligned}$"


def _latex_complex(cx: tuple[tuple[str, int], ...]) -> str:
    if not cx:
        return r"\varnothing"
    return " + ".join((f"{m}\\," if m != 1 else "") + sp.latex(sp.Symbol(n)) for n, m in cx)


def left_null_space(N: sp.MatrixBase) -> list[list[sp.Integer]]:
    """Integer basis of ``{w : w^T N = 0}``, semi-positive vectors first.

    The minimal semi-positive conservation laws (``w >= 0``) are found by the
    Farkas algorithm (Schuster & Höfer, J. Chem. Soc. Faraday Trans. 87:2561,
    1991); a linearly independent subset of them, smallest support first, is
    completed by vectors of the exact null space. Entries are coprime integers,
    the first nonzero one positive.
    """
    N = sp.Matrix(N)
    S, R = N.shape
    dim = S - N.rank()
    if dim == 0:
        return []
    rows = [(list(N.row(i)), [sp.Integer(int(i == k)) for k in range(S)]) for i in range(S)]
    for r in range(R):
        zero = [t for t in rows if t[0][r] == 0]
        pos = [t for t in rows if t[0][r] > 0]
        neg = [t for t in rows if t[0][r] < 0]
        new = list(zero)
        for a in pos:
            for b in neg:
                ca, cb = -b[0][r], a[0][r]
                new.append(([ca * x + cb * y for x, y in zip(a[0], b[0])],
                            [ca * x + cb * y for x, y in zip(a[1], b[1])]))
        # keep the vectors of minimal support
        supports = [frozenset(k for k, x in enumerate(t[1]) if x != 0) for t in new]
        keep = []
        for i, t in enumerate(new):
            if any(supports[j] < supports[i] or (supports[j] == supports[i] and j < i)
                   for j in range(len(new)) if j != i):
                continue
            keep.append(t)
        rows = keep
        if len(rows) > 2000:  # pragma: no cover - combinatorial blow-up on huge networks
            rows = []
            break
    basis: list[list[sp.Integer]] = []
    for _, w in sorted(rows, key=lambda t: (sum(1 for x in t[1] if x != 0), t[1][::-1])):
        cand = basis + [_primitive(w)]
        if sp.Matrix(cand).rank() == len(cand):
            basis = cand
    for v in N.T.nullspace():
        if len(basis) == dim:
            break
        cand = basis + [_primitive(list(v))]
        if sp.Matrix(cand).rank() == len(cand):
            basis = cand
    basis.sort(key=lambda w: next(k for k, x in enumerate(w) if x != 0))
    return basis


def _primitive(v: Sequence) -> list[sp.Integer]:
    den = sp.ilcm(*[sp.fraction(sp.nsimplify(x))[1] for x in v])
    w = [sp.Integer(x * den) for x in v]
    g = sp.igcd(*[abs(int(x)) for x in w if x != 0])
    w = [x / g for x in w]
    first = next(x for x in w if x != 0)
    return [-x for x in w] if first < 0 else w


# ------------------------------------------------------------------ helpers
def _species(parsed: tuple[Reaction, ...], species: Sequence[sp.Symbol] | None
             ) -> list[sp.Symbol]:
    names: list[str] = []
    for r in parsed:
        for n in r.species_names():
            if n not in names:
                names.append(n)
    if species is None:
        if not names:
            raise ModelError("the reactions name no species")
        return [sp.Symbol(n, positive=True) for n in names]
    if isinstance(species, sp.Symbol):
        species = [species]
    out = list(species)
    for s in out:
        if not isinstance(s, sp.Symbol):
            raise ModelError(f"species {s!r} is not a SymPy Symbol; use sympy.symbols(...)")
    declared = [s.name for s in out]
    if len(set(declared)) != len(declared):
        raise ModelError(f"species {declared} contain a name twice")
    for r in parsed:
        for n in r.species_names():
            if n not in declared:
                raise ModelError(f"reaction {r.text!r}: unknown species {n!r}; the declared "
                                 f"species are {declared} (add it to species=, or fix the name)")
    return out


def _rates(parsed: tuple[Reaction, ...], rates: Sequence | Mapping) -> list[sp.Expr]:
    if isinstance(rates, Mapping):
        keys = {parse_reaction(k).text if isinstance(k, str) else k: v for k, v in rates.items()}
        missing = [r.text for r in parsed if r.text not in keys]
        extra = [k for k in keys if k not in [r.text for r in parsed]]
        if missing or extra:
            raise ModelError("rates must have one entry per reaction: "
                             + (f"missing {missing}" if missing else "")
                             + ("; " if missing and extra else "")
                             + (f"unknown {extra}" if extra else ""))
        raw = [keys[r.text] for r in parsed]
    else:
        if isinstance(rates, str | sp.Basic) or not isinstance(rates, Sequence):
            rates = [rates]  # type: ignore[list-item]
        raw = list(rates)
        if len(raw) != len(parsed):
            raise ModelError(f"{len(raw)} rates for {len(parsed)} reactions: give one rate per "
                             f"reaction, in the order of {[r.text for r in parsed]}")
    out = []
    for r, k in zip(parsed, raw):
        out.append(_expr(k, f"reaction {r.text!r}: the rate"))
    return out


def _expr(value: object, where: str) -> sp.Expr:
    if isinstance(value, str):
        raise ModelError(f"{where} is the string {value!r}: rates and propensities are SymPy "
                         "expressions (sympy.symbols('k1', positive=True)), never strings")
    if isinstance(value, bool) or not isinstance(value, int | sp.Basic):
        if isinstance(value, float):
            check_no_floats(sp.Float(value), where)
        raise ModelError(f"{where} is not an expression: {value!r}")
    e = sp.sympify(value)
    if not isinstance(e, sp.Expr):
        raise ModelError(f"{where} is not a scalar expression: {value!r}")
    check_no_floats(e, where)
    if e.is_negative or e.is_zero:
        raise ModelError(f"{where} is {e}, not positive: declare rate symbols positive=True and "
                         "drop reactions that never fire")
    return e


def _user_propensities(parsed: tuple[Reaction, ...], props: Sequence | Mapping | None,
                       species: list[sp.Symbol]) -> list[sp.Expr | None]:
    if props is None:
        return [None] * len(parsed)
    if isinstance(props, Mapping):
        texts = [r.text for r in parsed]
        keys = {parse_reaction(k).text: v for k, v in props.items()}
        extra = [k for k in keys if k not in texts]
        if extra:
            raise ModelError(f"propensities for unknown reactions {extra}; the reactions are "
                             f"{texts}")
        raw = [keys.get(t) for t in texts]
    else:
        raw = list(props)
        if len(raw) != len(parsed):
            raise ModelError(f"{len(raw)} propensities for {len(parsed)} reactions (use None "
                             "for mass action)")
    return [None if p is None else _expr_any(p, f"reaction {r.text!r}: the propensity")
            for r, p in zip(parsed, raw)]


def _expr_any(value: object, where: str) -> sp.Expr:
    if isinstance(value, str):
        raise ModelError(f"{where} is the string {value!r}: give a SymPy expression")
    try:
        e = sp.sympify(value)
    except (sp.SympifyError, TypeError):
        raise ModelError(f"{where} is not an expression: {value!r}") from None
    if not isinstance(e, sp.Expr):
        raise ModelError(f"{where} is not a scalar expression: {value!r}")
    check_no_floats(e, where)
    return e


def _check_propensity(r: Reaction, a: sp.Expr, species: list[sp.Symbol],
                      by_name: dict[str, sp.Symbol]) -> None:
    """A user propensity must vanish when a reactant has fewer molecules than it consumes."""
    for name, m in r.reactants:
        s = by_name[name]
        for j in range(m):
            v = a.subs(s, j)
            v = sp.cancel(v.doit() if v.has(sp.Sum) else v)
            if v != 0:
                v = sp.simplify(v)
            if v != 0:
                raise ModelError(
                    f"reaction {r.text!r}: the propensity {a} is {v} when {name} = {j}, but the "
                    f"reaction consumes {m} {name}: it must be 0 there (else counts go "
                    f"negative). Multiply by {name} (or a falling factorial)")


def _check_nonnegative(r: Reaction, a: sp.Expr, species: list[sp.Symbol]) -> None:
    """Refuse a propensity that can be negative at nonnegative counts and positive parameters.

    Proved nonnegative by SymPy's assumptions on nonnegative integer dummies
    for the species; otherwise probed at the counts 0..5 of every species with the parameters
    set to 1, 1/2 and 2. A negative value found is an error.
    """
    dummies = {s: sp.Dummy(s.name, nonnegative=True, integer=True) for s in species}
    if a.xreplace(dummies).is_nonnegative:
        return
    import itertools

    params = sorted(a.free_symbols - set(species), key=lambda s: s.name)
    used = [s for s in species if s in a.free_symbols]
    for pv in (1, sp.Rational(1, 2), 2):
        psub = {p: pv for p in params}
        for counts in itertools.product(range(6), repeat=min(len(used), 3)):
            sub = dict(zip(used, counts))
            sub.update({s: 1 for s in used[3:]})
            v = a.subs(psub).subs(sub)
            if v.has(sp.Sum):
                v = v.doit()
            if v.is_number and v.is_extended_real and v < 0:
                raise ModelError(
                    f"reaction {r.text!r}: the propensity {a} is negative ({v}) at "
                    f"{ {str(k): c for k, c in sub.items()} } with the parameters = {pv}: "
                    "a propensity is a rate and must be >= 0 for every state")
