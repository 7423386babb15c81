r"""The reduced model returned by a derivation.

An :class:`EffectiveModel` is the Itô SDE

.. math::

    dX = F(X)\,dt + A(X)\,dW, \qquad A A^T = \text{diffusion},

for the slow variables, together with the derivation that produced it.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import sympy as sp

from .. import _hooks
from ..errors import ModelError
from ..report.derivation import Derivation
from .generator import Generator

#: The time variable of the full model; :attr:`EffectiveModel.timescale` is written in it.
TIME = sp.Symbol("t", nonnegative=True)


@dataclass(frozen=True)
class EffectiveModel:
    """The averaged or homogenized model.

    Attributes
    ----------
    state : tuple of Symbol
        The slow variables.
    drift : ImmutableMatrix
        The effective drift :math:`F`, a column.
    diffusion : ImmutableMatrix
        The effective :math:`A A^T` (``sigma sigma^T``).
    noise : ImmutableMatrix or None
        A square root of ``diffusion`` in closed form where one was found and
        checked; ``None`` otherwise (the simulators then factor numerically).
    regime : str
        ``"averaging"`` or ``"homogenization"``.
    order : int
        0: the limit model; 1: with the first correction in ``eps`` (the
        diffusion approximation of the averaging regime, whose diffusion is
        proportional to ``eps``).
    steps : Derivation
        Every step of the derivation with its checks.
    fast : tuple of Symbol
        The eliminated fast variables.
    eps : Symbol
        The scale parameter of the full model.
    periodic : tuple of (Symbol, period)
        Slow variables that live on a circle.
    timescale : Expr
        The time in which the reduced model holds, written in the full model's
        time :data:`TIME` ``t``: ``t`` itself, or e.g. ``eps*t`` for a model
        on the longer, diffusive time scale.
    validity : tuple of Relational
        Inequalities on the parameters (and possibly the slow variables) under
        which the result holds: stability of a fast linear system (Routh-Hurwitz),
        stability of a slow manifold, positivity of the effective diffusion.
        Conditions SymPy proves for every admissible value are left out. They
        are checked at numeric entry (:meth:`check_validity`, called by
        ``simulate``, ``verify`` and ``to_python``).
    records : mapping
        The intermediate results of the derivation, kept so that nothing
        downstream derives them again: ``"expansion"`` (the levels of the
        generator), ``"measure"`` (the invariant measure of the fast process),
        ``"correctors"`` (``{slow variable: Corrector}``), ``"source"`` (the
        declaration that was reduced). Not part of equality.

    Examples
    --------
    >>> import sympy as sp, symavg as sa
    >>> x, y = sp.symbols("x y", real=True)
    >>> eps = sa.epsilon
    >>> red = sa.reduce(sa.SDE([x, y], [y / eps, -y / eps**2], noise=[[0], [sp.sqrt(2) / eps]]))
    >>> red.regime, red.state, red.diffusion
    ('homogenization', (x,), Matrix([[2]]))
    """

    state: tuple[sp.Symbol, ...]
    drift: sp.ImmutableMatrix
    diffusion: sp.ImmutableMatrix
    noise: sp.ImmutableMatrix | None
    regime: str
    steps: Derivation
    fast: tuple[sp.Symbol, ...] = ()
    eps: sp.Symbol | None = None
    periodic: tuple[tuple[sp.Symbol, sp.Expr], ...] = ()
    order: int = 0
    timescale: sp.Expr = TIME
    validity: tuple[sp.Basic, ...] = ()
    records: Mapping[str, Any] = field(default_factory=dict, compare=False, hash=False,
                                       repr=False)

    def __post_init__(self) -> None:
        # the derivation records how to rebuild it (Derivation.to_notebook)
        source = self.records.get("source") if self.records else None
        if source is not None and self.steps.origin is None:
            origin = {"model": source, "fast": self.fast, "order": self.order, "reduced": self}
            object.__setattr__(self, "steps", dataclasses.replace(self.steps, origin=origin))

    @property
    def generator(self) -> Generator:
        r"""The effective generator :math:`F\cdot\nabla + \frac12 AA^T:\nabla\nabla`."""
        return Generator(self.state, self.drift, self.diffusion, dict(self.periodic))

    @property
    def periodic_map(self) -> dict[sp.Symbol, sp.Expr]:
        return dict(self.periodic)

    @property
    def parameters(self) -> tuple[sp.Symbol, ...]:
        """Free symbols of the coefficients that are not state variables."""
        syms: set[sp.Symbol] = set()
        for m in (self.drift, self.diffusion):
            for e in m:
                syms |= e.free_symbols
        return tuple(sorted(syms - set(self.state), key=lambda s: s.name))

    @property
    def is_semi_analytic(self) -> bool:
        """True when a coefficient still holds an unevaluated integral."""
        return any(e.has(sp.Integral) for e in list(self.drift) + list(self.diffusion))

    def check_validity(self, params: Mapping | None = None, where: str = "simulate") -> None:
        r"""Raise :class:`~symavg.errors.ModelError` when ``params`` violate :attr:`validity`.

        Each condition is evaluated with the parameter values substituted; a
        condition that still depends on a slow variable (or on a parameter not
        in ``params``) is not decided here.

        Examples
        --------
        >>> import sympy as sp, symavg as sa
        >>> x, y = sp.symbols("x y", real=True)
        >>> k = sp.Symbol("k", real=True)
        >>> eps = sa.epsilon
        >>> red = sa.reduce(sa.SDE([x, y], [y / eps, -k * y / eps**2],
        ...                        noise=[[0], [sp.sqrt(2) / eps]]))
        >>> red.validity
        (k > 0,)
        >>> try:
        ...     red.check_validity({k: -1.0})
        ... except sa.ModelError as exc:
        ...     print(str(exc)[:50])
        simulate: the reduced model holds only where k > 0
        """
        values = {}
        for key, v in dict(params or {}).items():
            if isinstance(key, sp.Symbol):
                try:
                    values[key] = sp.Float(float(v))
                except (TypeError, ValueError):
                    continue
        for rel in self.validity:
            try:
                val = sp.sympify(rel).xreplace(values)
                val = val.doit() if val.has(sp.Integral) else val
            except (TypeError, ValueError):  # pragma: no cover - defensive
                continue
            if val is sp.false or val == sp.false:
                given = ", ".join(f"{k} = {float(v):g}" for k, v in values.items()
                                  if k in sp.sympify(rel).free_symbols)
                raise ModelError(
                    f"{where}: the reduced model holds only where {rel}, and the parameter "
                    f"values ({given}) violate it: the derivation does not apply there (e.g. "
                    "the fast process is unstable or the effective diffusion is negative). "
                    "Choose parameter values inside the validity region "
                    "(EffectiveModel.validity)."
                )

    def _repr_latex_(self) -> str:
        from ..report.display import sde_latex

        return sde_latex(self.state, self.drift, self.noise, self.diffusion)

    def _repr_markdown_(self) -> str:
        from ..report.display import effective_markdown

        return effective_markdown(self)

    def __repr__(self) -> str:
        return (f"EffectiveModel(regime={self.regime!r}, order={self.order}, "
                f"state={list(self.state)}, "
                f"drift={list(self.drift)}, diffusion={self.diffusion.tolist()})")

    # numeric side, provided by symavg.numeric (see symavg/_hooks.py)
    def lambdify(self, backend: str = "numpy", **kwargs: Any) -> Any:
        """Numeric drift, noise and diffusion; see :func:`symavg.lambdify_model`."""
        return _hooks.call("lambdify_model", self, backend=backend, **kwargs)

    def simulate(self, x0: dict, T: float, **kwargs: Any) -> Any:
        """Simulate the reduced model; see :func:`symavg.simulate`."""
        return _hooks.call("simulate", self, x0, T, **kwargs)

    def to_python(self, **kwargs: Any) -> str:
        """Source of a standalone module (NumPy only) for the reduced model; see
        :func:`symavg.numeric.pycode.effective_to_python`."""
        return _hooks.call("to_python", self, **kwargs)
