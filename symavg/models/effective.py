r"""The reduced model returned by a derivation.

An :class:`EffectiveModel` is the Itô SDE

.. math::

    dX = F(X)\,dt + A(X)\,dW, \qquad A A^T = \text{diffusion},

for the slow variables, together with the derivation that produced it.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import sympy as sp

from ..report.derivation import Derivation
from .generator import Generator


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
    steps : Derivation
        Every step of the derivation with its checks.
    fast : tuple of Symbol
        The eliminated fast variables.
    eps : Symbol
        The scale parameter of the full model.
    periodic : tuple of (Symbol, period)
        Slow variables that live on a circle.
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

    def _repr_latex_(self) -> str:
        from ..report.display import sde_latex

        return sde_latex(self.state, self.drift, self.noise, self.diffusion)

    def _repr_markdown_(self) -> str:
        from ..report.display import effective_markdown

        return effective_markdown(self)

    def __repr__(self) -> str:
        return (f"EffectiveModel(regime={self.regime!r}, state={list(self.state)}, "
                f"drift={list(self.drift)}, diffusion={self.diffusion.tolist()})")

    # numeric side, implemented in symavg.numeric
    def lambdify(self, backend: str = "numpy", **kwargs: Any) -> Any:
        """Numeric drift, noise and diffusion; see :func:`symavg.numeric.codegen.lambdify_model`."""
        from ..numeric.codegen import lambdify_model

        return lambdify_model(self, backend=backend, **kwargs)

    def simulate(self, x0: dict, T: float, **kwargs: Any) -> Any:
        """Simulate the reduced model; see :func:`symavg.simulate`."""
        from ..numeric.simulate import simulate

        return simulate(self, x0, T, **kwargs)

    def to_python(self, **kwargs: Any) -> str:
        """Source of a standalone module (NumPy only) for the reduced model; see
        :func:`symavg.numeric.pycode.effective_to_python`."""
        from ..numeric.pycode import effective_to_python

        return effective_to_python(self, **kwargs)
