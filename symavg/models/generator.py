r"""Second-order differential operators: the generator of an Itô diffusion.

.. math::

    \mathcal L f = \sum_i b_i \,\partial_i f
        + \tfrac12 \sum_{ij} a_{ij}\, \partial_i \partial_j f,
    \qquad a = \sigma\sigma^{T}.

Its formal adjoint (the Fokker-Planck operator) is

.. math::

    \mathcal L^{*} \rho = -\sum_i \partial_i (b_i \rho)
        + \tfrac12 \sum_{ij} \partial_i \partial_j (a_{ij}\rho).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass

import sympy as sp

from .._sympy_util import laurent_terms
from ..errors import ModelError


def _as_column(values: object, n: int, what: str) -> sp.ImmutableMatrix:
    m = sp.Matrix(values) if not isinstance(values, sp.MatrixBase) else sp.Matrix(values)
    if m.shape == (1, n) and n != 1:
        m = m.T
    if m.shape != (n, 1):
        raise ModelError(
            f"{what} must have one entry per state variable ({n}); got shape {m.shape}"
        )
    return sp.ImmutableMatrix(m)


@dataclass(frozen=True)
class Generator:
    r"""The operator :math:`\mathcal L = b\cdot\nabla + \frac12 a:\nabla\nabla`.

    Parameters
    ----------
    state : sequence of Symbol
        The variables the operator differentiates in.
    drift : column of expressions ``b``, one per state variable.
    diffusion : square symmetric matrix ``a = sigma sigma^T``.
    periodic : mapping ``{y: L}``: ``y`` lives on a circle of length ``L``.
    """

    state: tuple[sp.Symbol, ...]
    drift: sp.ImmutableMatrix
    diffusion: sp.ImmutableMatrix
    periodic: tuple[tuple[sp.Symbol, sp.Expr], ...] = ()

    def __init__(self, state: Sequence[sp.Symbol], drift: object, diffusion: object = None,
                 periodic: Mapping | Iterable | None = None) -> None:
        state = tuple(state)
        n = len(state)
        b = _as_column(drift, n, "drift")
        if diffusion is None:
            a = sp.ImmutableMatrix.zeros(n, n)
        else:
            a = sp.ImmutableMatrix(sp.Matrix(diffusion))
        if a.shape != (n, n):
            raise ModelError(f"diffusion must be a square {n}x{n} matrix; got shape {a.shape}")
        per = tuple((v, sp.sympify(L)) for v, L in dict(periodic or {}).items())
        object.__setattr__(self, "state", state)
        object.__setattr__(self, "drift", b)
        object.__setattr__(self, "diffusion", a)
        object.__setattr__(self, "periodic", per)

    # ------------------------------------------------------------------ action
    def apply(self, f: sp.Expr) -> sp.Expr:
        r"""Apply the operator.

        .. math:: \mathcal L f = \sum_i b_i\partial_i f + \frac12\sum_{ij} a_{ij}\partial_{ij} f
        """
        out = sp.S.Zero
        for i, zi in enumerate(self.state):
            bi = self.drift[i]
            if bi != 0:
                out += bi * sp.diff(f, zi)
        for i, zi in enumerate(self.state):
            for j, zj in enumerate(self.state):
                aij = self.diffusion[i, j]
                if aij != 0:
                    out += sp.Rational(1, 2) * aij * sp.diff(f, zi, zj)
        return out

    def adjoint(self, rho: sp.Expr) -> sp.Expr:
        r"""Apply the formal adjoint (Fokker-Planck operator).

        .. math::
            \mathcal L^*\rho = -\sum_i\partial_i(b_i\rho)
            + \frac12\sum_{ij}\partial_{ij}(a_{ij}\rho)
        """
        out = sp.S.Zero
        for i, zi in enumerate(self.state):
            if self.drift[i] != 0:
                out -= sp.diff(self.drift[i] * rho, zi)
        for i, zi in enumerate(self.state):
            for j, zj in enumerate(self.state):
                if self.diffusion[i, j] != 0:
                    out += sp.Rational(1, 2) * sp.diff(self.diffusion[i, j] * rho, zi, zj)
        return out

    __call__ = apply

    # ----------------------------------------------------------------- algebra
    @property
    def periodic_map(self) -> dict[sp.Symbol, sp.Expr]:
        """The periodic variables as a dict ``{y: L}``."""
        return dict(self.periodic)

    def is_zero(self) -> bool:
        return all(e == 0 for e in self.drift) and all(e == 0 for e in self.diffusion)

    def acts_on(self) -> tuple[sp.Symbol, ...]:
        """The state variables the operator differentiates in (nonzero coefficient)."""
        out = []
        for i, zi in enumerate(self.state):
            if self.drift[i] != 0 or any(self.diffusion[i, j] != 0 for j in range(len(self.state))):
                out.append(zi)
        return tuple(out)

    def restrict(self, variables: Sequence[sp.Symbol], strict: bool = True) -> Generator:
        """The operator in ``variables`` only: the other variables become parameters.

        With ``strict`` (the default), raises :class:`ModelError` when the
        operator also differentiates in a variable that is not kept; otherwise
        the block of ``variables`` is taken and the rest dropped.
        """
        idx = [self.state.index(v) for v in variables]
        dropped = [z for z in self.acts_on() if z not in variables]
        if dropped and strict:
            raise ModelError(
                f"the operator differentiates in {dropped}, which are not among {list(variables)}"
            )
        b = [self.drift[i] for i in idx]
        a = [[self.diffusion[i, j] for j in idx] for i in idx]
        per = {v: L for v, L in self.periodic if v in variables}
        return Generator([self.state[i] for i in idx], b, a, per)

    def subs(self, *args: object, **kwargs: object) -> Generator:
        return Generator(self.state, self.drift.subs(*args, **kwargs),
                         self.diffusion.subs(*args, **kwargs), dict(self.periodic))

    def __add__(self, other: Generator) -> Generator:
        if not isinstance(other, Generator) or other.state != self.state:
            return NotImplemented
        return Generator(self.state, self.drift + other.drift, self.diffusion + other.diffusion,
                         dict(self.periodic))

    def expand(self, eps: sp.Symbol) -> dict[sp.Rational, Generator]:
        r"""Split :math:`\mathcal L = \sum_k \epsilon^k \mathcal L_k`.

        Returns ``{k: L_k}`` for every power ``k`` (integer or half-integer)
        with a nonzero operator, sorted from the most singular.
        """
        n = len(self.state)
        orders: dict[sp.Rational, tuple[list, list]] = {}

        def slot(p: sp.Rational) -> tuple[list, list]:
            if p not in orders:
                orders[p] = ([0] * n, [[0] * n for _ in range(n)])
            return orders[p]

        for i in range(n):
            for p, c in laurent_terms(self.drift[i], eps).items():
                slot(p)[0][i] += c
            for j in range(n):
                for p, c in laurent_terms(self.diffusion[i, j], eps).items():
                    slot(p)[1][i][j] += c
        per = dict(self.periodic)
        out = {p: Generator(self.state, b, a, per) for p, (b, a) in orders.items()}
        return {p: out[p] for p in sorted(out) if not out[p].is_zero()}

    # ---------------------------------------------------------------- display
    def as_expr(self, f: sp.Expr | None = None) -> sp.Expr:
        """``L f`` for a generic function ``f`` of the state (for display)."""
        if f is None:
            f = sp.Function("f")(*self.state)
        return self.apply(f)

    def _repr_latex_(self) -> str:
        return "$\\mathcal{L} f = " + sp.latex(self.as_expr()) + "$"

    def __repr__(self) -> str:
        return f"Generator(state={list(self.state)}, drift={list(self.drift)}, " \
               f"diffusion={self.diffusion.tolist()})"
