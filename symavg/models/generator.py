r"""Generators of Markov processes, as a sum of typed parts.

A generator acts on functions of a continuous state :math:`z\in\mathbb R^n`
and, when it has a finite-state component with states :math:`1..N`, of that
state too; such a function is a column :math:`(f_1(z), \dots, f_N(z))`. The
parts are

``DiffusionPart`` (drift :math:`b`, diffusion :math:`a = \sigma\sigma^T`)
    .. math:: (\mathcal L f)_i = b\cdot\nabla f_i + \tfrac12 a:\nabla\nabla f_i ,

    either in every state (``mode=None``) or only in state ``mode`` (a
    switching SDE has one per state);
``JumpPart`` (a rate matrix :math:`Q`, ``Q[i, j]`` the rate ``i -> j``, rows summing to 0)
    .. math:: (\mathcal L f)_i = \sum_j Q_{ij} f_j ,

    whose entries may depend on the continuous state, on parameters and on
    :math:`\epsilon`;
``PotentialPart`` (a function :math:`V`)
    .. math:: (\mathcal L f)_i = V f_i ,

    the multiplicative part of a tilted generator :math:`\mathcal L + p\cdot f`
    (large deviations) or a killing rate.

The formal adjoint (the Fokker-Planck operator) is, part by part,

.. math::

    \mathcal L^{*}\rho = -\nabla\cdot(b\rho) + \tfrac12\nabla\nabla:(a\rho),
    \qquad (Q^{T}\rho)_j = \sum_i \rho_i Q_{ij}, \qquad V\rho .

:meth:`Generator.expand` splits every part in powers of the scale parameter,
:math:`\mathcal L = \sum_k \epsilon^k \mathcal L_k`, and returns the levels as
an :class:`Expansion`.
"""

from __future__ import annotations

from collections.abc import Hashable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field

import sympy as sp

from .._sympy_util import laurent_terms
from ..errors import ModelError

#: The kinds of generator parts, as strategies name them in ``handles``.
PART_KINDS = ("diffusion", "jump", "potential")


def _as_column(values: object, n: int, what: str) -> sp.ImmutableMatrix:
    m = sp.Matrix(values) if n else sp.zeros(0, 1)
    if m.shape == (1, n) and n != 1:
        m = m.T
    if m.shape != (n, 1):
        raise ModelError(
            f"{what} must have one entry per state variable ({n}); got shape {m.shape}"
        )
    return sp.ImmutableMatrix(m)


# ------------------------------------------------------------------- parts
@dataclass(frozen=True)
class DiffusionPart:
    r"""The second-order part :math:`b\cdot\nabla + \frac12 a:\nabla\nabla`.

    Attributes
    ----------
    drift : ImmutableMatrix, n x 1
    diffusion : ImmutableMatrix, n x n (``sigma sigma^T``)
    mode : label or None
        The finite state in which it acts (None: in every state).
    """

    drift: sp.ImmutableMatrix
    diffusion: sp.ImmutableMatrix
    mode: Hashable | None = None
    kind = "diffusion"

    def __init__(self, drift: object, diffusion: object = None,
                 mode: Hashable | None = None) -> None:
        b = sp.ImmutableMatrix(sp.Matrix(drift)) if not isinstance(drift, sp.ImmutableMatrix) \
            else drift
        if b.shape[1] != 1 and b.shape[0] == 1:
            b = b.T
        n = b.shape[0]
        a = sp.ImmutableMatrix.zeros(n, n) if diffusion is None else \
            sp.ImmutableMatrix(sp.Matrix(diffusion))
        if a.shape != (n, n):
            raise ModelError(f"diffusion must be a square {n}x{n} matrix; got shape {a.shape}")
        object.__setattr__(self, "drift", b)
        object.__setattr__(self, "diffusion", a)
        object.__setattr__(self, "mode", mode)

    def is_zero(self) -> bool:
        return all(e == 0 for e in self.drift) and all(e == 0 for e in self.diffusion)

    def apply(self, state: Sequence[sp.Symbol], f: sp.Expr) -> sp.Expr:
        out = sp.S.Zero
        for i, zi in enumerate(state):
            if self.drift[i] != 0:
                out += self.drift[i] * sp.diff(f, zi)
        for i, zi in enumerate(state):
            for j, zj in enumerate(state):
                if self.diffusion[i, j] != 0:
                    out += sp.Rational(1, 2) * self.diffusion[i, j] * sp.diff(f, zi, zj)
        return out

    def adjoint(self, state: Sequence[sp.Symbol], rho: sp.Expr) -> sp.Expr:
        out = sp.S.Zero
        for i, zi in enumerate(state):
            if self.drift[i] != 0:
                out -= sp.diff(self.drift[i] * rho, zi)
        for i, zi in enumerate(state):
            for j, zj in enumerate(state):
                if self.diffusion[i, j] != 0:
                    out += sp.Rational(1, 2) * sp.diff(self.diffusion[i, j] * rho, zi, zj)
        return out

    def with_coefficients(self, drift: object, diffusion: object) -> DiffusionPart:
        return DiffusionPart(drift, diffusion, self.mode)


@dataclass(frozen=True)
class JumpPart:
    r"""A finite-state jump part :math:`(Qf)_i = \sum_j Q_{ij} f_j`.

    Attributes
    ----------
    rates : ImmutableMatrix, N x N
        ``Q[i, j]`` is the rate ``i -> j``; rows sum to zero.
    states : tuple of labels
    symbol : Symbol
        The name of the finite state (used in ``fast=[...]`` and in derivations).
    """

    rates: sp.ImmutableMatrix
    states: tuple[Hashable, ...]
    symbol: sp.Symbol
    kind = "jump"

    def __post_init__(self) -> None:
        object.__setattr__(self, "rates", sp.ImmutableMatrix(self.rates))
        object.__setattr__(self, "states", tuple(self.states))

    def is_zero(self) -> bool:
        return all(e == 0 for e in self.rates)

    def apply(self, fvec: Sequence[sp.Expr]) -> list[sp.Expr]:
        n = len(self.states)
        return [sum((self.rates[i, j] * fvec[j] for j in range(n) if self.rates[i, j] != 0),
                    sp.S.Zero) for i in range(n)]

    def adjoint(self, rho: Sequence[sp.Expr]) -> list[sp.Expr]:
        n = len(self.states)
        return [sum((rho[i] * self.rates[i, j] for i in range(n) if self.rates[i, j] != 0),
                    sp.S.Zero) for j in range(n)]


@dataclass(frozen=True)
class PotentialPart:
    """The multiplicative part :math:`f \\mapsto V f` (in one state, or in every state)."""

    potential: sp.Expr
    mode: Hashable | None = None
    kind = "potential"

    def __post_init__(self) -> None:
        object.__setattr__(self, "potential", sp.sympify(self.potential))

    def is_zero(self) -> bool:
        return self.potential == 0


Part = DiffusionPart | PotentialPart


# ---------------------------------------------------------------- generator
@dataclass(frozen=True)
class Generator:
    r"""A generator :math:`\mathcal L`, the sum of typed parts (see the module docstring).

    Parameters
    ----------
    state : sequence of Symbol
        The continuous variables the operator differentiates in.
    drift, diffusion : optional
        Shorthand for one :class:`DiffusionPart` acting in every state:
        ``Generator(state, b, a)`` is :math:`b\cdot\nabla + \frac12 a:\nabla\nabla`.
    periodic : mapping ``{y: L}``: ``y`` lives on a circle of length ``L``.
    parts : sequence of DiffusionPart / PotentialPart, optional
    jump : JumpPart, optional
        A finite-state component with its rate matrix.
    potential : Expr, optional
        Shorthand for a :class:`PotentialPart` in every state.
    modes, mode_symbol : optional
        The finite states when there is no jump part (a level of an
        expansion whose jump part sits at another power of :math:`\epsilon`).

    Functions of a generator with finite states are columns, one entry per
    state; a plain expression stands for the same function in every state.

    Examples
    --------
    >>> import sympy as sp, symavg as sa
    >>> y = sp.Symbol("y", real=True)
    >>> L = sa.Generator([y], [-y], [[2]])
    >>> L.apply(y**2)
    2 - 2*y**2
    """

    state: tuple[sp.Symbol, ...]
    parts: tuple[Part, ...]
    jump: JumpPart | None
    periodic: tuple[tuple[sp.Symbol, sp.Expr], ...]
    modes: tuple[Hashable, ...] = ()
    mode_symbol: sp.Symbol | None = None
    _cache: dict = field(default_factory=dict, compare=False, repr=False, hash=False)

    def __init__(self, state: Sequence[sp.Symbol], drift: object = None,
                 diffusion: object = None, periodic: Mapping | Iterable | None = None, *,
                 parts: Sequence[Part] = (), jump: JumpPart | None = None,
                 potential: object = None, modes: Sequence[Hashable] | None = None,
                 mode_symbol: sp.Symbol | None = None) -> None:
        state = tuple(state)
        n = len(state)
        all_parts: list[Part] = []
        if drift is not None or diffusion is not None:
            b = _as_column(drift if drift is not None else [0] * n, n, "drift")
            all_parts.append(DiffusionPart(b, diffusion))
        for p in parts:
            if isinstance(p, DiffusionPart) and p.drift.shape != (n, 1):
                raise ModelError(f"a diffusion part has {p.drift.shape[0]} drift entries for "
                                 f"the {n} variables {list(state)}")
            if not isinstance(p, DiffusionPart | PotentialPart):
                raise ModelError(f"unknown generator part {p!r}")
            all_parts.append(p)
        if potential is not None and sp.sympify(potential) != 0:
            all_parts.append(PotentialPart(potential))
        if jump is not None:
            modes, mode_symbol = jump.states, jump.symbol
        modes = tuple(modes or ())
        for p in all_parts:
            if p.mode is not None and p.mode not in modes:
                raise ModelError(f"a part acts in the state {p.mode!r}, which is not one of the "
                                 f"finite states {list(modes)}")
        per = tuple((v, sp.sympify(L)) for v, L in dict(periodic or {}).items())
        object.__setattr__(self, "state", state)
        object.__setattr__(self, "parts", tuple(all_parts))
        object.__setattr__(self, "jump", jump)
        object.__setattr__(self, "periodic", per)
        object.__setattr__(self, "modes", modes)
        object.__setattr__(self, "mode_symbol", mode_symbol if modes else None)
        object.__setattr__(self, "_cache", {})

    # ------------------------------------------------------------ structure
    @property
    def diffusion_parts(self) -> tuple[DiffusionPart, ...]:
        return tuple(p for p in self.parts if isinstance(p, DiffusionPart) and not p.is_zero())

    @property
    def potential_parts(self) -> tuple[PotentialPart, ...]:
        return tuple(p for p in self.parts if isinstance(p, PotentialPart) and not p.is_zero())

    def kinds(self) -> frozenset[str]:
        """The kinds of the nonzero parts: a subset of ``{"diffusion", "jump", "potential"}``."""
        out = set()
        if self.diffusion_parts:
            out.add("diffusion")
        if self.jump is not None and not self.jump.is_zero():
            out.add("jump")
        if self.potential_parts:
            out.add("potential")
        return frozenset(out)

    @property
    def is_switching(self) -> bool:
        """True when a diffusion or potential part depends on the finite state."""
        return any(p.mode is not None for p in self.parts if not p.is_zero())

    def _single(self) -> tuple[sp.Matrix, sp.Matrix]:
        n = len(self.state)
        if self.is_switching:
            raise ModelError(
                "this generator's coefficients depend on the finite state "
                f"{self.mode_symbol} (one drift per state): use diffusion_in(state) or .parts"
            )
        b, a = sp.zeros(n, 1), sp.zeros(n, n)
        for p in self.diffusion_parts:
            b += p.drift
            a += p.diffusion
        return b, a

    @property
    def drift(self) -> sp.ImmutableMatrix:
        """The drift :math:`b` (generators whose coefficients do not depend on a finite state)."""
        if "drift" not in self._cache:
            self._cache["drift"], self._cache["diffusion"] = map(sp.ImmutableMatrix,
                                                                 self._single())
        return self._cache["drift"]

    @property
    def diffusion(self) -> sp.ImmutableMatrix:
        """The diffusion :math:`a = \\sigma\\sigma^T` (see :attr:`drift`)."""
        self.drift  # noqa: B018 - fills the cache
        return self._cache["diffusion"]

    def diffusion_in(self, mode: Hashable) -> tuple[sp.Matrix, sp.Matrix]:
        """``(drift, diffusion)`` acting in the finite state ``mode``."""
        n = len(self.state)
        b, a = sp.zeros(n, 1), sp.zeros(n, n)
        for p in self.diffusion_parts:
            if p.mode is None or p.mode == mode:
                b += p.drift
                a += p.diffusion
        return b, a

    @property
    def periodic_map(self) -> dict[sp.Symbol, sp.Expr]:
        """The periodic variables as a dict ``{y: L}``."""
        return dict(self.periodic)

    def is_zero(self) -> bool:
        return not self.kinds()

    def acts_on(self) -> tuple[sp.Symbol, ...]:
        """The variables the operator moves: continuous variables with a nonzero
        coefficient, and the finite state's symbol when the jump part is nonzero."""
        out = []
        parts = self.diffusion_parts
        for i, zi in enumerate(self.state):
            if any(p.drift[i] != 0 or any(p.diffusion[i, j] != 0 for j in range(len(self.state)))
                   for p in parts):
                out.append(zi)
        if "jump" in self.kinds():
            out.append(self.jump.symbol)
        return tuple(out)

    # --------------------------------------------------------------- action
    def _columns(self, f: object) -> list[sp.Expr]:
        if not self.modes:
            return [sp.sympify(f)]
        if isinstance(f, sp.MatrixBase | list | tuple):
            vals = list(f)
            if len(vals) != len(self.modes):
                raise ModelError(f"a function of the finite state needs one entry per state "
                                 f"{list(self.modes)}; got {len(vals)}")
            return [sp.sympify(v) for v in vals]
        return [sp.sympify(f)] * len(self.modes)

    def _result(self, vals: list[sp.Expr]) -> sp.Expr | sp.ImmutableMatrix:
        return sp.ImmutableMatrix(vals) if self.modes else vals[0]

    def _act(self, f: object, adjoint: bool) -> sp.Expr | sp.ImmutableMatrix:
        """The operator (or its adjoint) part by part, state by state."""
        fv = self._columns(f)
        labels = self.modes or (None,)
        out = []
        for k, lab in enumerate(labels):
            val = sp.S.Zero
            for p in self.diffusion_parts:
                if p.mode is None or p.mode == lab:
                    val += (p.adjoint if adjoint else p.apply)(self.state, fv[k])
            for p in self.potential_parts:
                if p.mode is None or p.mode == lab:
                    val += p.potential * fv[k]
            out.append(val)
        if self.jump is not None and not self.jump.is_zero():
            jumps = (self.jump.adjoint if adjoint else self.jump.apply)(fv)
            out = [o + j for o, j in zip(out, jumps)]
        return self._result(out)

    def apply(self, f: object) -> sp.Expr | sp.ImmutableMatrix:
        r"""Apply the operator to ``f`` (a column over the finite states, when there are any).

        .. math:: (\mathcal L f)_i = b_i\cdot\nabla f_i + \tfrac12 a_i:\nabla\nabla f_i
            + \sum_j Q_{ij} f_j + V_i f_i
        """
        return self._act(f, adjoint=False)

    __call__ = apply

    def adjoint(self, rho: object) -> sp.Expr | sp.ImmutableMatrix:
        r"""Apply the formal adjoint (Fokker-Planck operator), part by part.

        .. math:: \mathcal L^*\rho = -\nabla\cdot(b\rho) + \tfrac12\nabla\nabla:(a\rho)
            + Q^T\rho + V\rho
        """
        return self._act(rho, adjoint=True)

    def merge_modes(self) -> Generator:
        """The same operator with per-state parts that agree in every state merged into one
        part acting in every state (so a switching generator whose continuous dynamics does
        not depend on the finite state is recognised as such)."""
        if not self.is_switching:
            return self
        n = len(self.state)
        per_mode = [self.diffusion_in(lab) for lab in self.modes]
        b0, a0 = per_mode[0]
        same = all(all(sp.cancel(e) == 0 for e in list(b - b0) + list(a - a0))
                   for b, a in per_mode[1:])
        pots = [sum((p.potential for p in self.potential_parts if p.mode in (None, lab)),
                    sp.S.Zero) for lab in self.modes]
        if not same or any(sp.cancel(v - pots[0]) != 0 for v in pots[1:]):
            return self
        parts: list[Part] = [DiffusionPart(b0, a0)] if (b0, a0) != (sp.zeros(n, 1),
                                                                  sp.zeros(n, n)) else []
        if pots[0] != 0:
            parts.append(PotentialPart(pots[0]))
        return self._rebuild(parts, self.jump)

    # -------------------------------------------------------------- algebra
    def _rebuild(self, parts: Sequence[Part], jump: JumpPart | None,
                 state: Sequence[sp.Symbol] | None = None,
                 periodic: Mapping | None = None, keep_modes: bool = True) -> Generator:
        modes = self.modes if keep_modes else ()
        return Generator(self.state if state is None else state, parts=parts, jump=jump,
                         periodic=self.periodic_map if periodic is None else periodic,
                         modes=modes, mode_symbol=self.mode_symbol if modes else None)

    def restrict(self, variables: Sequence[sp.Symbol], strict: bool = True) -> Generator:
        """The operator in ``variables`` only: the other variables become parameters.

        ``variables`` may include the finite state's symbol (keeps the jump part).
        With ``strict`` (the default), raises :class:`ModelError` when the
        operator also moves a variable that is not kept; otherwise that part
        is dropped.
        """
        variables = tuple(variables)
        dropped = [z for z in self.acts_on() if z not in variables]
        if dropped and strict:
            raise ModelError(
                f"the operator differentiates in (or jumps in) {dropped}, which are not among "
                f"{list(variables)}"
            )
        cont = tuple(v for v in variables if v in self.state)
        idx = [self.state.index(v) for v in cont]
        parts: list[Part] = []
        for p in self.parts:
            if isinstance(p, DiffusionPart):
                b = [p.drift[i] for i in idx]
                a = [[p.diffusion[i, j] for j in idx] for i in idx]
                parts.append(DiffusionPart(sp.Matrix(len(idx), 1, b), sp.Matrix(
                    len(idx), len(idx), [e for row in a for e in row]), p.mode))
            else:
                parts.append(p)
        keep_jump = self.jump is not None and self.jump.symbol in variables
        per = {v: L for v, L in self.periodic if v in cont}
        # without its jump part and with nothing that depends on the finite state, the
        # operator acts on plain functions of the continuous variables
        modal = keep_jump or any(p.mode is not None for p in parts if not p.is_zero())
        return self._rebuild(parts, self.jump if keep_jump else None, cont, per,
                             keep_modes=modal)

    def subs(self, *args: object, **kwargs: object) -> Generator:
        parts: list[Part] = []
        for p in self.parts:
            if isinstance(p, DiffusionPart):
                parts.append(p.with_coefficients(p.drift.subs(*args, **kwargs),
                                                 p.diffusion.subs(*args, **kwargs)))
            else:
                parts.append(PotentialPart(p.potential.subs(*args, **kwargs), p.mode))
        jump = None
        if self.jump is not None:
            jump = JumpPart(self.jump.rates.subs(*args, **kwargs), self.jump.states,
                            self.jump.symbol)
        return self._rebuild(parts, jump)

    def scaled(self, factor: object) -> Generator:
        r"""The generator :math:`c\,\mathcal L`: every part's coefficients (drift,
        diffusion, potential, jump rates) multiplied by ``factor``.

        A change of time :math:`s = t/c` turns the generator :math:`\mathcal L`
        of :math:`Z_t` into :math:`c\,\mathcal L`, the generator of :math:`Z_{cs}`.

        Examples
        --------
        >>> import sympy as sp, symavg as sa
        >>> y = sp.Symbol("y", real=True)
        >>> sa.Generator([y], [-y], [[2]]).scaled(3).apply(y**2)
        6 - 6*y**2
        """
        c = sp.sympify(factor)
        parts: list[Part] = []
        for p in self.parts:
            if isinstance(p, DiffusionPart):
                parts.append(p.with_coefficients(p.drift * c, p.diffusion * c))
            else:
                parts.append(PotentialPart(p.potential * c, p.mode))
        jump = None
        if self.jump is not None:
            jump = JumpPart(self.jump.rates * c, self.jump.states, self.jump.symbol)
        return self._rebuild(parts, jump)

    def __add__(self, other: Generator) -> Generator:
        if not isinstance(other, Generator) or other.state != self.state:
            return NotImplemented
        if other.modes and self.modes and other.modes != self.modes:
            raise ModelError("cannot add generators on different finite state spaces")
        jump = self.jump
        if other.jump is not None:
            jump = other.jump if jump is None else JumpPart(jump.rates + other.jump.rates,
                                                           jump.states, jump.symbol)
        modes = self.modes or other.modes
        sym = self.mode_symbol or other.mode_symbol
        return Generator(self.state, parts=self.parts + other.parts, jump=jump,
                         periodic=self.periodic_map, modes=modes, mode_symbol=sym)

    def expand(self, eps: sp.Symbol) -> Expansion:
        r"""Split :math:`\mathcal L = \sum_k \epsilon^k \mathcal L_k`, part by part.

        Returns the :class:`Expansion`: the levels ``(k, L_k)`` for every power
        ``k`` (integer or half-integer) with a nonzero operator, from the most
        singular.
        """
        n = len(self.state)
        bins: dict[sp.Rational, dict] = {}

        def slot(p: sp.Rational) -> dict:
            return bins.setdefault(p, {"diff": {}, "pot": {}, "jump": None})

        for part in self.parts:
            if isinstance(part, DiffusionPart):
                for i in range(n):
                    for p, c in laurent_terms(part.drift[i], eps).items():
                        d = slot(p)["diff"].setdefault(part.mode, [sp.zeros(n, 1), sp.zeros(n, n)])
                        d[0][i] += c
                    for j in range(n):
                        for p, c in laurent_terms(part.diffusion[i, j], eps).items():
                            d = slot(p)["diff"].setdefault(part.mode,
                                                           [sp.zeros(n, 1), sp.zeros(n, n)])
                            d[1][i, j] += c
            else:
                for p, c in laurent_terms(part.potential, eps).items():
                    pot = slot(p)["pot"]
                    pot[part.mode] = pot.get(part.mode, 0) + c
        if self.jump is not None:
            N = len(self.jump.states)
            for i in range(N):
                for j in range(N):
                    for p, c in laurent_terms(self.jump.rates[i, j], eps).items():
                        s = slot(p)
                        if s["jump"] is None:
                            s["jump"] = sp.zeros(N, N)
                        s["jump"][i, j] += c
        levels = []
        for p in sorted(bins):
            b = bins[p]
            parts: list[Part] = [DiffusionPart(dr, df, mode) for mode, (dr, df) in
                                 b["diff"].items()]
            parts += [PotentialPart(v, mode) for mode, v in b["pot"].items()]
            jump = None if b["jump"] is None else JumpPart(b["jump"], self.jump.states,
                                                           self.jump.symbol)
            G = self._rebuild(parts, jump)
            if not G.is_zero():
                levels.append((p, G))
        return Expansion(eps, tuple(levels))

    # -------------------------------------------------------------- display
    def as_expr(self, f: sp.Expr | None = None, name: str = "f") -> sp.Expr | sp.ImmutableMatrix:
        """``L f`` for a generic function ``f`` of the state, named ``name`` (for display;
        a derivation passes a name distinct from the model's own functions)."""
        if f is None:
            args = self.state + ((self.mode_symbol,) if self.modes else ())
            if self.modes:
                f = sp.Matrix([sp.Function(f"{name}_{{{lab}}}")(*self.state) if self.state
                               else sp.Symbol(f"{name}_{{{lab}}}") for lab in self.modes])
            else:
                f = sp.Function(name)(*args)
        return self.apply(f)

    def coefficients(self) -> list[sp.Expr]:
        """Every coefficient of the operator: drifts, diffusions, potentials and rates."""
        out: list[sp.Expr] = []
        for p in self.parts:
            out += (list(p.drift) + list(p.diffusion)) if hasattr(p, "drift") else [p.potential]
        if self.jump is not None:
            out += list(self.jump.rates)
        return out

    def _repr_latex_(self) -> str:
        return "$\\mathcal{L} f = " + sp.latex(self.as_expr()) + "$"

    def __repr__(self) -> str:
        if not self.is_switching and self.jump is None and not self.potential_parts:
            return (f"Generator(state={list(self.state)}, drift={list(self.drift)}, "
                    f"diffusion={self.diffusion.tolist()})")
        kinds = ", ".join(sorted(self.kinds()))
        return f"Generator(state={list(self.state)}, modes={list(self.modes)}, parts: {kinds})"


@dataclass(frozen=True)
class Expansion(Mapping):
    r"""The expansion :math:`\mathcal L = \sum_k \epsilon^k \mathcal L_k` as data.

    A read-only mapping ``{k: L_k}`` ordered from the most singular power,
    with :attr:`levels` the same pairs as a tuple.
    """

    eps: sp.Symbol
    levels: tuple[tuple[sp.Rational, Generator], ...]

    def __getitem__(self, p: object) -> Generator:
        for k, G in self.levels:
            if k == p:
                return G
        raise KeyError(p)

    def __iter__(self) -> Iterator[sp.Rational]:
        return iter(k for k, _ in self.levels)

    def __len__(self) -> int:
        return len(self.levels)

    @property
    def powers(self) -> tuple[sp.Rational, ...]:
        return tuple(k for k, _ in self.levels)

    @property
    def leading(self) -> tuple[sp.Rational, Generator]:
        """The most singular level ``(k, L_k)``."""
        if not self.levels:
            raise ModelError("the generator is zero: it has no levels")
        return self.levels[0]
