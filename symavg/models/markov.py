r"""Finite-state Markov chains and SDEs switched by them (PDMPs).

Conventions (``docs/markov.md``):

* ``Q[i, j]`` (``i != j``) is the rate of the jump from state ``i`` to state
  ``j``; the diagonal is :math:`Q_{ii} = -\sum_{j\ne i} Q_{ij}`, so every row
  sums to zero.
* The generator acts on a function of the state, a column ``f``, by
  :math:`(Qf)_i = \sum_j Q_{ij} f_j = \sum_{j\ne i} Q_{ij}(f_j - f_i)`.
* The stationary law is the row vector :math:`\pi` with :math:`\pi Q = 0`,
  :math:`\sum_i \pi_i = 1` (the null space of :math:`Q^T`).
* The Poisson equation :math:`-Q\Phi = h` has a solution iff :math:`\pi h = 0`
  (centering); the one with :math:`\pi\Phi = 0` is :math:`\Phi = Zh` with the
  fundamental matrix :math:`Z = (\mathbf 1\pi - Q)^{-1}`. Indeed
  :math:`\pi Z = \pi` (since :math:`\pi(\mathbf 1\pi - Q) = \pi`), so
  :math:`\pi\Phi = \pi h = 0` and :math:`-Q\Phi = (\mathbf 1\pi - Q)Zh - \mathbf 1\pi Z h = h`.

Rates may depend on parameters, on the scale parameter (``k / eps``: a fast
chain) and, inside a :class:`SwitchingSDE`, on the continuous state
(feedback). Everything here is exact linear algebra in SymPy.
"""

from __future__ import annotations

from collections.abc import Hashable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import sympy as sp

from .._symbols import epsilon
from ..errors import CenteringError, ModelError, UnsolvedError
from ._admissible import _entries as np_entries
from ._admissible import check_periodic_coefficients, check_real
from ._common import check_no_floats, check_scale, reject_strings, state_tuple
from .generator import DiffusionPart, Generator, JumpPart
from .sde import _noise_matrix

#: Default symbol of a chain's state in a generator and in ``reduce(fast=...)``.
CHAIN_SYMBOL = sp.Symbol("s")


def _cancel(e: sp.Expr) -> sp.Expr:
    e = sp.sympify(e)
    try:
        return sp.factor(sp.cancel(e))
    except (sp.PolynomialError, NotImplementedError):  # pragma: no cover - exotic entries
        return sp.simplify(e)


@dataclass(frozen=True)
class MarkovChain:
    r"""A continuous-time Markov chain on finitely many states.

    Parameters
    ----------
    rates : square matrix, or mapping ``{(from, to): rate}``
        The generator :math:`Q` with ``Q[i, j]`` the rate ``i -> j``. A matrix
        must have rows that sum to zero (give the diagonal as minus the sum of
        the row's rates). A mapping gives only the off-diagonal rates, keyed by
        state labels; the diagonal is filled in.
    states : sequence of labels, optional
        Names of the states (strings or integers), default ``0, ..., N-1``.
    eps : Symbol, optional
        The scale parameter (default :data:`symavg.epsilon`); rates with
        ``1/eps`` make the chain fast.
    symbol : Symbol, optional
        The name of the chain's state in derivations and in
        ``sa.reduce(..., fast=[symbol])`` (default ``s``).

    Raises
    ------
    ModelError
        Not square, a negative off-diagonal rate, a row that does not sum to
        zero, a chain that is not irreducible (some state cannot be reached),
        floats, or unknown labels; each message names the row or state.

    Examples
    --------
    >>> import sympy as sp, symavg as sa
    >>> a, b = sp.symbols("a b", positive=True)
    >>> chain = sa.MarkovChain({("off", "on"): a, ("on", "off"): b})
    >>> chain.Q
    Matrix([
    [-a,  a],
    [ b, -b]])
    >>> chain.stationary().T
    Matrix([[b/(a + b), a/(a + b)]])
    >>> chain.spectral_gap()
    a + b
    """

    Q: sp.ImmutableMatrix
    states: tuple[Hashable, ...]
    eps: sp.Symbol
    symbol: sp.Symbol

    def __init__(self, rates: object, states: Sequence[Hashable] | None = None,
                 eps: sp.Symbol = epsilon, symbol: sp.Symbol = CHAIN_SYMBOL) -> None:
        check_scale(eps, "MarkovChain")
        if not isinstance(symbol, sp.Symbol):
            raise ModelError(f"symbol must be a SymPy Symbol; got {symbol!r}")
        if isinstance(rates, Mapping):
            Q, labels = _from_mapping(rates, states)
        else:
            Q, labels = _from_matrix(rates, states)
        for i in range(Q.rows):
            for j in range(Q.cols):
                check_no_floats(Q[i, j], f"rate Q[{labels[i]!r}, {labels[j]!r}]")
        _validate_rates(Q, labels)
        object.__setattr__(self, "Q", sp.ImmutableMatrix(Q))
        object.__setattr__(self, "states", labels)
        object.__setattr__(self, "eps", eps)
        object.__setattr__(self, "symbol", symbol)

    # ------------------------------------------------------------- structure
    @property
    def n(self) -> int:
        """Number of states."""
        return len(self.states)

    def index(self, label: Hashable) -> int:
        """Position of the state ``label``."""
        try:
            return self.states.index(label)
        except ValueError:
            raise ModelError(f"{label!r} is not a state of the chain {list(self.states)}") \
                from None

    @property
    def parameters(self) -> tuple[sp.Symbol, ...]:
        """Free symbols of the rates, sorted by name (the scale parameter included)."""
        syms = set().union(*(e.free_symbols for e in self.Q))
        return tuple(sorted(syms, key=lambda s: s.name))

    @property
    def generator(self) -> Generator:
        """The chain's generator, a :class:`Generator` with only a jump part."""
        return Generator((), jump=JumpPart(self.Q, self.states, self.symbol))

    def subs(self, *args: Any, **kwargs: Any) -> MarkovChain:
        return MarkovChain(self.Q.subs(*args, **kwargs), self.states, self.eps, self.symbol)

    # --------------------------------------------------------- linear algebra
    def stationary(self) -> sp.ImmutableMatrix:
        r"""The stationary law :math:`\pi` (a column), :math:`\pi Q = 0`, :math:`\sum\pi = 1`.

        Solved exactly by replacing one equation of :math:`Q^T\pi = 0` by the
        normalisation; entries in lowest terms. Checked before it is returned.
        """
        return stationary_law(self.Q)

    def fundamental_matrix(self) -> sp.ImmutableMatrix:
        r""":math:`Z = (\mathbf 1\pi - Q)^{-1}`; :math:`\Phi = Zh` solves :math:`-Q\Phi = h`."""
        pi = self.stationary()
        one_pi = sp.ones(self.n, 1) * pi.T
        return sp.ImmutableMatrix((one_pi - self.Q).inv().applyfunc(_cancel))

    def poisson(self, h: object) -> sp.ImmutableMatrix:
        r"""Solve :math:`-Q\Phi = h` with :math:`\pi\Phi = 0`.

        Parameters
        ----------
        h : sequence or column, one entry per state

        Raises
        ------
        CenteringError
            When :math:`\pi h \ne 0` (no solution exists).
        """
        hv = _mode_column(h, self.n, "h")
        return poisson_solve(self.Q, hv, self.stationary())

    def spectral_gap(self, params: Mapping | None = None) -> sp.Expr:
        r"""The spectral gap :math:`\min\{-\operatorname{Re}\lambda : \lambda \ne 0\}`
        over the eigenvalues :math:`\lambda` of :math:`Q`.

        Symbolic when the nonzero eigenvalues are roots of a polynomial of
        degree at most two (chains with up to three states, any rates); with
        ``params`` (a ``{symbol: number}`` dict fixing every symbol), a number
        from the eigenvalues of the numeric matrix.
        """
        return spectral_gap(self.Q, params)

    # ---------------------------------------------------------------- display
    def __repr__(self) -> str:
        return f"MarkovChain(states={list(self.states)}, Q={self.Q.tolist()})"

    def _repr_latex_(self) -> str:
        return "$Q = " + sp.latex(self.Q) + "$"


# ---------------------------------------------------------------- helpers
def _from_mapping(rates: Mapping, states: Sequence[Hashable] | None
                  ) -> tuple[sp.Matrix, tuple[Hashable, ...]]:
    keys = list(rates)
    for k in keys:
        if not (isinstance(k, tuple) and len(k) == 2):
            raise ModelError(f"a rate mapping is keyed by (from, to) pairs of states; got {k!r}")
    if states is None:
        seen: list[Hashable] = []
        for a, b in keys:
            for lab in (a, b):
                if lab not in seen:
                    seen.append(lab)
        labels = tuple(seen)
    else:
        labels = tuple(states)
    if len(set(labels)) != len(labels):
        raise ModelError(f"states must be distinct; got {list(labels)}")
    n = len(labels)
    if n < 2:
        raise ModelError("a Markov chain needs at least two states")
    Q = sp.zeros(n, n)
    for (a, b), r in rates.items():
        for lab in (a, b):
            if lab not in labels:
                raise ModelError(f"rate {a!r} -> {b!r}: {lab!r} is not one of the states "
                                 f"{list(labels)}")
        if a == b:
            raise ModelError(f"rate {a!r} -> {b!r}: a jump must change the state; the diagonal "
                             "is filled in from the other rates")
        Q[labels.index(a), labels.index(b)] = _rate(r, f"rate {a!r} -> {b!r}")
    for i in range(n):
        Q[i, i] = -sum((Q[i, j] for j in range(n) if j != i), sp.S.Zero)
    return Q, labels


def _rate(r: object, where: str) -> sp.Expr:
    reject_strings(r, where)
    try:
        e = sp.sympify(r)
    except (sp.SympifyError, TypeError):
        raise ModelError(f"{where} is not an expression: {r!r}") from None
    if not isinstance(e, sp.Expr):
        raise ModelError(f"{where} is not a scalar expression: {r!r}")
    return e


def _from_matrix(rates: object, states: Sequence[Hashable] | None
                 ) -> tuple[sp.Matrix, tuple[Hashable, ...]]:
    reject_strings(rates, "rates")
    try:
        Q = sp.Matrix(rates)
    except (ValueError, TypeError, sp.SympifyError) as exc:
        raise ModelError(f"rates could not be read as a matrix: {exc}") from None
    if Q.rows != Q.cols:
        raise ModelError(f"the rate matrix must be square (N x N); got shape {Q.shape}")
    if Q.rows < 2:
        raise ModelError("a Markov chain needs at least two states")
    labels = tuple(states) if states is not None else tuple(range(Q.rows))
    if len(labels) != Q.rows:
        raise ModelError(f"{len(labels)} state labels for a {Q.rows} x {Q.rows} rate matrix")
    if len(set(labels)) != len(labels):
        raise ModelError(f"states must be distinct; got {list(labels)}")
    return Q, labels


def _validate_rates(Q: sp.Matrix, labels: tuple) -> None:
    n = Q.rows
    for i in range(n):
        for j in range(n):
            if i != j and (Q[i, j].is_negative or Q[i, j].is_extended_negative):
                raise ModelError(
                    f"rate Q[{labels[i]!r}, {labels[j]!r}] = {Q[i, j]} is negative: off-diagonal "
                    "entries are jump rates and must be >= 0 (declare rate symbols "
                    "positive=True)"
                )
            if i != j and Q[i, j].is_real is False:
                raise ModelError(f"rate Q[{labels[i]!r}, {labels[j]!r}] = {Q[i, j]} is not real")
    for i in range(n):
        s = sp.cancel(sum(Q.row(i)))
        if s != 0:
            off = -sum((Q[i, j] for j in range(n) if j != i), sp.S.Zero)
            raise ModelError(
                f"row {labels[i]!r} of the rate matrix sums to {s}, not 0: Q[i, j] is the rate "
                f"i -> j and the diagonal must be minus the row's total rate; set "
                f"Q[{labels[i]!r}, {labels[i]!r}] = {off}, or pass the rates as a mapping "
                "{(from, to): rate} and the diagonal is filled in"
            )
    # irreducibility: every state reaches every other through nonzero rates
    adj = {i: {j for j in range(n) if j != i and Q[i, j] != 0} for i in range(n)}

    def reach(start: int, graph: dict) -> set:
        seen, stack = {start}, [start]
        while stack:
            k = stack.pop()
            for m in graph[k] - seen:
                seen.add(m)
                stack.append(m)
        return seen

    fwd = reach(0, adj)
    back = reach(0, {i: {j for j in range(n) if i in adj[j]} for i in range(n)})
    missing = [labels[k] for k in range(n) if k not in fwd or k not in back]
    if missing:
        raise ModelError(
            f"the chain is not irreducible: state(s) {missing} cannot be reached from "
            f"{labels[0]!r} or cannot return to it, so the stationary law is not unique. Add "
            "rates that connect every state to every other (through other states), or drop "
            "the transient / absorbing states."
        )


def _mode_column(h: object, n: int, what: str) -> sp.Matrix:
    hv = sp.Matrix(list(h) if not isinstance(h, sp.MatrixBase) else h)
    if hv.shape == (1, n):
        hv = hv.T
    if hv.shape != (n, 1):
        raise ModelError(f"{what} must have one entry per state ({n}); got shape {hv.shape}")
    return hv


def stationary_law(Q: sp.MatrixBase) -> sp.ImmutableMatrix:
    r"""The column :math:`\pi` with :math:`\pi^TQ = 0`, :math:`\sum_i\pi_i = 1`, exactly."""
    n = Q.rows
    A = sp.Matrix(Q.T)
    A[n - 1, :] = sp.ones(1, n)
    rhs = sp.zeros(n, 1)
    rhs[n - 1] = 1
    try:
        pi = A.LUsolve(rhs)
    except (ValueError, ZeroDivisionError):
        raise UnsolvedError(f"the stationary law of Q = {Q.tolist()} could not be solved "
                            "exactly (singular system: is the chain irreducible?)") from None
    pi = pi.applyfunc(_cancel)
    res = (pi.T * Q).applyfunc(sp.cancel)
    if not res.is_zero_matrix or sp.cancel(sum(pi) - 1) != 0:
        raise UnsolvedError(f"the stationary law of Q = {Q.tolist()} failed its check "
                            f"pi Q = {res.tolist()}")
    return sp.ImmutableMatrix(pi)


def poisson_solve(Q: sp.MatrixBase, h: sp.MatrixBase, pi: sp.MatrixBase) -> sp.ImmutableMatrix:
    r""":math:`\Phi` with :math:`-Q\Phi = h`, :math:`\pi\Phi = 0`; centering checked."""
    n = Q.rows
    mean = sp.cancel((pi.T * h)[0])
    if mean != 0 and sp.simplify(mean) != 0:
        raise CenteringError(
            f"the centering condition fails: pi h = {mean} is not zero for h = {list(h)} under "
            f"the stationary law pi = {list(pi)}, so -Q Phi = h has no solution. Subtract the "
            "mean (h - pi h) or average at this order instead."
        )
    A = sp.Matrix(-Q)
    A[n - 1, :] = pi.T
    rhs = sp.Matrix(h)
    rhs[n - 1] = 0
    phi = A.LUsolve(rhs).applyfunc(_cancel)
    res = (Q * phi + h).applyfunc(sp.cancel)
    if not res.is_zero_matrix:
        res = res.applyfunc(sp.simplify)
    if not res.is_zero_matrix:
        raise UnsolvedError(f"the solution of -Q Phi = h failed its check: residual "
                            f"{res.tolist()}")
    return sp.ImmutableMatrix(phi)


def spectral_gap(Q: sp.MatrixBase, params: Mapping | None = None) -> sp.Expr:
    """See :meth:`MarkovChain.spectral_gap`."""
    Q = sp.Matrix(Q)
    if params:
        Q = Q.subs({sp.sympify(k): sp.nsimplify(v) if isinstance(v, int) else v
                    for k, v in params.items()})
    if not Q.free_symbols:
        import numpy as np

        ev = np.linalg.eigvals(np.array(Q.evalf(), dtype=complex))
        nz = sorted(-v.real for v in ev if abs(v) > 1e-12 * max(1.0, float(np.max(np.abs(ev)))))
        if not nz:
            raise UnsolvedError("the rate matrix has no nonzero eigenvalue")
        if all(e.is_Rational for e in Q):
            exact = _symbolic_gap(Q)
            if exact is not None:
                return exact
        return sp.Float(nz[0], 15)
    exact = _symbolic_gap(Q)
    if exact is None:
        raise UnsolvedError(
            f"the spectral gap of this {Q.rows}-state chain has no closed form here (the nonzero "
            "eigenvalues are roots of a polynomial of degree > 2): pass "
            "params={symbol: value} for a number"
        )
    return exact


def _symbolic_gap(Q: sp.Matrix) -> sp.Expr | None:
    lam = sp.Dummy("lambda")
    coeffs = [sp.cancel(c) for c in Q.charpoly(lam).all_coeffs()]
    if coeffs[-1] != 0:  # det Q = 0 for a generator: the eigenvalue 0
        return None
    cp = sp.Poly(coeffs[:-1], lam)
    if cp.degree() > 2:
        return None
    roots = sp.roots(cp, multiple=True)
    if len(roots) != cp.degree():
        return None
    gaps = [sp.simplify(-sp.re(r)) for r in roots]
    return _cancel(gaps[0]) if len(gaps) == 1 else sp.simplify(sp.Min(*gaps))


# ------------------------------------------------------------- switching SDE
@dataclass(frozen=True)
class SwitchingSDE:
    r"""An Itô SDE whose coefficients are selected by a Markov chain.

    .. math::

        dX_t = b_{S_t}(X_t)\,dt + \sigma_{S_t}(X_t)\,dW_t, \qquad
        S_t \text{ jumps } i\to j \text{ at rate } Q_{ij}(X_t).

    With no noise it is a piecewise-deterministic Markov process (PDMP): the
    flow of :math:`\dot x = b_i(x)` between jumps. Its generator acts on
    functions :math:`f_i(x)` of both components,

    .. math::

        (\mathcal L f)_i = b_i\cdot\nabla f_i + \tfrac12 a_i:\nabla\nabla f_i
            + \sum_j Q_{ij}(x) f_j .

    Parameters
    ----------
    state : list of Symbol
        The continuous variables.
    chain : MarkovChain
        The switching process (rates may depend on ``state``: feedback).
    drift : mapping ``{state label: drift}``
        One drift (a list with one entry per variable, or an expression for a
        single variable) for every state of the chain.
    noise : mapping ``{state label: n x m matrix}``, or one matrix, optional
        The noise in each state (one matrix: the same in every state). None: a
        PDMP.
    eps : Symbol, optional
        The scale parameter; default the chain's. Must agree with the chain's.
    periodic : dict ``{x: L}``, optional

    Examples
    --------
    >>> import sympy as sp, symavg as sa
    >>> x = sp.Symbol("x", real=True)
    >>> a, b, g = sp.symbols("a b gamma", positive=True)
    >>> eps = sa.epsilon
    >>> chain = sa.MarkovChain({("off", "on"): a / eps, ("on", "off"): b / eps})
    >>> pdmp = sa.SwitchingSDE([x], chain, drift={"off": -g * x, "on": 1 - g * x})
    >>> pdmp.is_pdmp
    True
    """

    state: tuple[sp.Symbol, ...]
    chain: MarkovChain
    drift: tuple[sp.ImmutableMatrix, ...]
    noise: tuple[sp.ImmutableMatrix, ...] | None
    eps: sp.Symbol
    periodic: tuple[tuple[sp.Symbol, sp.Expr], ...]

    def __init__(self, state: Sequence[sp.Symbol], chain: MarkovChain, drift: Mapping,
                 noise: Mapping | object | None = None, eps: sp.Symbol | None = None,
                 periodic: Mapping | None = None) -> None:
        st = state_tuple(state)
        n = len(st)
        if not isinstance(chain, MarkovChain):
            raise ModelError(f"chain must be a sa.MarkovChain; got {type(chain).__name__}")
        if eps is None:
            eps = chain.eps
        check_scale(eps, "SwitchingSDE")
        if eps != chain.eps:
            raise ModelError(
                f"the SwitchingSDE is declared with scale {eps} but its chain with "
                f"{chain.eps}: declare both with the same eps= (e.g. "
                f"sa.MarkovChain(..., eps={eps}))"
            )
        if chain.symbol in st:
            raise ModelError(
                f"the chain's symbol {chain.symbol} is also a continuous state variable: give "
                f"the chain another name, sa.MarkovChain(..., symbol=sp.Symbol('eta'))"
            )
        if not isinstance(drift, Mapping):
            raise ModelError("drift must be a mapping {state label: drift}, one entry for every "
                             f"state of the chain {list(chain.states)}")
        _same_labels(drift, chain, "drift")
        drifts = []
        for lab in chain.states:
            d = drift[lab]
            reject_strings(d, f"drift in state {lab!r}")
            seq = d if isinstance(d, Sequence | sp.MatrixBase) and not isinstance(d, str) else [d]
            try:
                col = sp.Matrix([sp.sympify(e) for e in seq])
            except (sp.SympifyError, TypeError) as exc:
                raise ModelError(f"drift in state {lab!r} could not be read: {exc}") from None
            if col.shape != (n, 1):
                raise ModelError(f"drift in state {lab!r} has {col.shape[0]} entries; the state "
                                 f"{list(st)} has {n}")
            for k, e in enumerate(col):
                check_no_floats(e, f"drift of {st[k]} in state {lab!r}")
            drifts.append(sp.ImmutableMatrix(col))
        noises = None
        if noise is not None:
            if isinstance(noise, Mapping):
                _same_labels(noise, chain, "noise")
                raw = [noise[lab] for lab in chain.states]
            else:
                raw = [noise] * chain.n
            mats = [_noise_matrix(m, n) for m in raw]
            widths = {m.shape[1] for m in mats}
            if len(widths) != 1:
                w = max(widths)
                mats = [m.row_join(sp.zeros(n, w - m.shape[1])) for m in mats]
            for lab, m in zip(chain.states, mats):
                for e in m:
                    check_no_floats(e, f"noise in state {lab!r}")
            noises = tuple(sp.ImmutableMatrix(m) for m in mats)
            if all(m.is_zero_matrix for m in noises):
                noises = None
        per = {}
        for v, length in dict(periodic or {}).items():
            if v not in st:
                raise ModelError(f"periodic variable {v} is not a state variable of {list(st)}")
            length = sp.sympify(length)
            check_no_floats(length, f"period of {v}")
            if length.is_positive is False or length.is_zero:
                raise ModelError(f"period of {v} must be positive; got {length}")
            per[v] = length
        for lab, k in zip(chain.states, range(chain.n)):  # admissible in every state
            sig = noises[k] if noises is not None else sp.zeros(n, 1)
            if noises is not None:
                check_real(sig, f"noise in state {lab!r}", st)
            check_periodic_coefficients(
                [(f"the drift of {st[i]} in state {lab!r}", e) for i, e in enumerate(drifts[k])]
                + [(f"the noise entry {ij} in state {lab!r}", e) for ij, e in
                   np_entries(sig)], per)
        object.__setattr__(self, "state", st)
        object.__setattr__(self, "chain", chain)
        object.__setattr__(self, "drift", tuple(drifts))
        object.__setattr__(self, "noise", noises)
        object.__setattr__(self, "eps", eps)
        object.__setattr__(self, "periodic", tuple(per.items()))

    @property
    def is_pdmp(self) -> bool:
        """True when there is no noise: a piecewise-deterministic Markov process."""
        return self.noise is None

    @property
    def modes(self) -> tuple[Hashable, ...]:
        """The chain's states."""
        return self.chain.states

    @property
    def dim(self) -> int:
        return len(self.state)

    @property
    def periodic_map(self) -> dict[sp.Symbol, sp.Expr]:
        return dict(self.periodic)

    def drift_in(self, label: Hashable) -> sp.ImmutableMatrix:
        """The drift in the chain state ``label``."""
        return self.drift[self.chain.index(label)]

    def diffusion_in(self, label: Hashable) -> sp.ImmutableMatrix:
        r""":math:`a_i = \sigma_i\sigma_i^T` in the chain state ``label``."""
        n = len(self.state)
        if self.noise is None:
            return sp.ImmutableMatrix.zeros(n, n)
        s = self.noise[self.chain.index(label)]
        return sp.ImmutableMatrix((s * s.T).applyfunc(sp.expand))

    @property
    def parameters(self) -> tuple[sp.Symbol, ...]:
        """Free symbols other than the continuous state, sorted by name (eps included)."""
        syms: set[sp.Symbol] = set(self.chain.parameters)
        for d in self.drift:
            syms |= d.free_symbols
        for m in self.noise or ():
            syms |= m.free_symbols
        return tuple(sorted(syms - set(self.state), key=lambda s: s.name))

    @property
    def generator(self) -> Generator:
        """The generator: one diffusion part per chain state plus the jump part."""
        parts = tuple(DiffusionPart(self.drift_in(lab), self.diffusion_in(lab), mode=lab)
                      for lab in self.chain.states)
        return Generator(self.state, parts=parts,
                         jump=JumpPart(self.chain.Q, self.chain.states, self.chain.symbol),
                         periodic=dict(self.periodic))

    def __repr__(self) -> str:
        d = {lab: list(self.drift_in(lab)) for lab in self.chain.states}
        return f"SwitchingSDE(state={list(self.state)}, states={list(self.modes)}, drift={d})"

    def _repr_markdown_(self) -> str:
        from ..report.display import switching_markdown

        return switching_markdown(self)


def _same_labels(mapping: Mapping, chain: MarkovChain, what: str) -> None:
    keys = list(mapping)
    missing = [s for s in chain.states if s not in keys]
    extra = [k for k in keys if k not in chain.states]
    if missing or extra:
        raise ModelError(
            f"{what} must have one entry for every state of the chain {list(chain.states)}: "
            + (f"missing {missing}" if missing else "")
            + ("; " if missing and extra else "")
            + (f"unknown {extra}" if extra else "")
        )
