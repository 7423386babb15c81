r"""Declarations of deterministic dynamical systems: flows (ODEs) and maps.

A :class:`DeterministicFlow` is the ODE

.. math::

    \dot z = F(z), \qquad z = (z_1, \dots, z_n),

and a :class:`DeterministicMap` the iteration :math:`z_{k+1} = T(z_k)`. Both
carry their scale parameter, like :class:`~symavg.models.sde.SDE`: in a
slow-fast flow such as

.. math::

    \dot x = g(x, y) + \epsilon^{-1} f(x, y), \qquad \dot y = \epsilon^{-2} F(y),

the fast chaotic flow :math:`y` and the slow variable :math:`x` are declared
together, ``DeterministicFlow([x, *y], [g + f/eps, *(F/eps**2)])``, and
``sa.reduce(model, fast=y)`` homogenizes it (:mod:`symavg.derive.chaotic`).

Maps on the unit interval or torus are written with ``sympy.Mod(..., 1)``; a
component of the form ``Mod(k*y, 1)`` with an integer ``k >= 2`` (the doubling
map for ``k = 2``) is recorded in :attr:`DeterministicMap.shifts`: in floating
point, ``2*y mod 1`` shifts out one bit per step and reaches the fixed point 0
after about 53 steps, so the simulators iterate such a component exactly, as
the shift of its base-``k`` digits with fresh random digits entering at the
bottom (see :mod:`symavg.numeric.chaos`).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import sympy as sp

from .. import _hooks
from .._symbols import epsilon
from ..errors import ModelError
from ._common import check_no_floats, check_scale, reject_strings, state_tuple


def _rhs_matrix(rhs: object, st: tuple[sp.Symbol, ...], what: str) -> sp.ImmutableMatrix:
    reject_strings(rhs, what)
    items = [rhs] if isinstance(rhs, sp.Basic) and not isinstance(rhs, sp.MatrixBase) else rhs
    try:
        b = sp.Matrix([sp.sympify(e) for e in items])  # type: ignore[union-attr]
    except (sp.SympifyError, TypeError) as exc:
        raise ModelError(f"{what} could not be read as SymPy expressions: {exc}") from None
    if b.shape != (len(st), 1):
        raise ModelError(
            f"{what} has {b.shape[0]} entries but state has {len(st)} variables {list(st)}: "
            f"give one {what} entry per state variable"
        )
    for k, e in enumerate(b):
        check_no_floats(e, f"{what} of {st[k]}")
        if e.has(sp.Derivative, sp.Integral):
            raise ModelError(f"{what} of {st[k]} contains a derivative or an integral: {e}; "
                             "write the right-hand side as an explicit function of the state")
    return sp.ImmutableMatrix(b)


def _parameters(rhs: sp.ImmutableMatrix, st: tuple[sp.Symbol, ...]) -> tuple[sp.Symbol, ...]:
    syms = set().union(*(e.free_symbols for e in rhs))
    return tuple(sorted(syms - set(st), key=lambda s: s.name))


@dataclass(frozen=True)
class DeterministicFlow:
    r"""An autonomous ODE :math:`\dot z = F(z)`, immutable and validated.

    Parameters
    ----------
    state : list of Symbol
        The variables :math:`z_1, \dots, z_n`.
    rhs : list of expressions
        :math:`F`, one entry per variable; exact (no floats), with parameters
        as symbols and the scale parameter ``eps`` where the model has one.
    eps : Symbol, optional
        The scale parameter (default :data:`symavg.epsilon`), positive.

    Examples
    --------
    Lorenz-63:

    >>> import sympy as sp, symavg as sa
    >>> y1, y2, y3 = sp.symbols("y1 y2 y3", real=True)
    >>> lorenz = sa.DeterministicFlow([y1, y2, y3], [10 * (y2 - y1), y1 * (28 - y3) - y2,
    ...                                              y1 * y2 - sp.Rational(8, 3) * y3])
    >>> lorenz.dim, lorenz.parameters
    (3, ())
    """

    state: tuple[sp.Symbol, ...]
    rhs: sp.ImmutableMatrix
    eps: sp.Symbol = epsilon

    def __init__(self, state: Sequence[sp.Symbol], rhs: object, eps: sp.Symbol = epsilon
                 ) -> None:
        check_scale(eps, "DeterministicFlow")
        st = state_tuple(state)
        b = _rhs_matrix(rhs, st, "rhs")
        object.__setattr__(self, "state", st)
        object.__setattr__(self, "rhs", b)
        object.__setattr__(self, "eps", eps)

    kind = "flow"

    @property
    def dim(self) -> int:
        return len(self.state)

    @property
    def parameters(self) -> tuple[sp.Symbol, ...]:
        """Free symbols of ``rhs`` that are not state variables (``eps`` included)."""
        return _parameters(self.rhs, self.state)

    # the engine and the numeric layer read a flow through the names an SDE has
    @property
    def drift(self) -> sp.ImmutableMatrix:
        return self.rhs

    @property
    def periodic(self) -> tuple:
        return ()

    @property
    def periodic_map(self) -> dict:
        return {}

    def index(self, variable: sp.Symbol) -> int:
        return self.state.index(variable)

    def simulate(self, x0: Any, T: float, **kwargs: Any) -> Any:
        """Integrate an ensemble; see :func:`symavg.simulate`."""
        return _hooks.call("simulate", self, x0, T, **kwargs)

    def __repr__(self) -> str:
        return f"DeterministicFlow(state={list(self.state)}, rhs={list(self.rhs)})"

    def _repr_latex_(self) -> str:
        from ..report.display import deterministic_latex

        return deterministic_latex(self)

    def _repr_markdown_(self) -> str:
        from ..report.display import deterministic_markdown

        return deterministic_markdown(self)


def _shift_factor(e: sp.Expr, y: sp.Symbol) -> int | None:
    """``k`` when ``e`` is ``Mod(k*y, 1)`` with an integer ``k >= 2``; else ``None``."""
    if not isinstance(e, sp.Mod) or e.args[1] != 1:
        return None
    k = sp.simplify(e.args[0] / y)
    if k.is_Integer and int(k) >= 2:
        return int(k)
    return None


@dataclass(frozen=True)
class DeterministicMap:
    r"""A map :math:`z_{k+1} = T(z_k)`, immutable and validated.

    Parameters
    ----------
    state : list of Symbol
    rhs : list of expressions
        :math:`T`, one entry per variable; use ``sympy.Mod(expr, 1)`` for maps
        of the unit interval (or torus).
    eps : Symbol, optional
        The scale parameter (default :data:`symavg.epsilon`), positive.

    Attributes
    ----------
    shifts : tuple of (Symbol, int)
        Components of the form ``Mod(k*y, 1)``, iterated exactly as digit
        shifts (floating-point iteration of ``2*y mod 1`` reaches 0 after
        about 53 steps).

    Examples
    --------
    The doubling map:

    >>> import sympy as sp, symavg as sa
    >>> y = sp.Symbol("y", real=True)
    >>> sa.DeterministicMap([y], [sp.Mod(2 * y, 1)]).shifts
    ((y, 2),)
    """

    state: tuple[sp.Symbol, ...]
    rhs: sp.ImmutableMatrix
    eps: sp.Symbol = epsilon
    shifts: tuple[tuple[sp.Symbol, int], ...] = ()

    def __init__(self, state: Sequence[sp.Symbol], rhs: object, eps: sp.Symbol = epsilon
                 ) -> None:
        check_scale(eps, "DeterministicMap")
        st = state_tuple(state)
        b = _rhs_matrix(rhs, st, "rhs")
        shifts = []
        for v, e in zip(st, b):
            k = _shift_factor(e, v)
            if k is not None:
                shifts.append((v, k))
            elif e.has(sp.Mod) and any(isinstance(a, sp.Mod) and a.args[1] != 1
                                       for a in e.atoms(sp.Mod)):
                raise ModelError(f"rhs of {v} uses {next(iter(e.atoms(sp.Mod)))}: only "
                                 "Mod(expr, 1) (maps of the unit interval) is supported; "
                                 "rescale the variable to [0, 1)")
        object.__setattr__(self, "state", st)
        object.__setattr__(self, "rhs", b)
        object.__setattr__(self, "eps", eps)
        object.__setattr__(self, "shifts", tuple(shifts))

    kind = "map"

    @property
    def dim(self) -> int:
        return len(self.state)

    @property
    def parameters(self) -> tuple[sp.Symbol, ...]:
        """Free symbols of ``rhs`` that are not state variables."""
        return _parameters(self.rhs, self.state)

    @property
    def is_shift(self) -> bool:
        """True when every component is a digit shift ``Mod(k*y, 1)``."""
        return len(self.shifts) == self.dim

    def index(self, variable: sp.Symbol) -> int:
        return self.state.index(variable)

    def __repr__(self) -> str:
        return f"DeterministicMap(state={list(self.state)}, rhs={list(self.rhs)})"

    def _repr_latex_(self) -> str:
        from ..report.display import deterministic_latex

        return deterministic_latex(self)

    def _repr_markdown_(self) -> str:
        from ..report.display import deterministic_markdown

        return deterministic_markdown(self)
