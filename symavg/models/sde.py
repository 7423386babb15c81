r"""Declaration of an Itô SDE.

.. math::

    dZ_t = b(Z_t)\,dt + \sigma(Z_t)\,dW_t,

with ``drift`` :math:`b`, ``noise`` :math:`\sigma` (an ``n x m`` matrix) and
``diffusion`` :math:`a = \sigma\sigma^T` (``n x n``). A 1-D model
:math:`dX = F\,dt + \sqrt{2D}\,dW` has ``diffusion = 2 D``. A Brownian
motion that appears in several rows (one column of :math:`\sigma` with
several nonzero entries) drives those equations with the *same* noise.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import sympy as sp

from .. import _hooks
from .._symbols import epsilon
from ..errors import ModelError
from ._admissible import (
    check_periodic_coefficients,
    check_periods,
    check_psd,
    check_real,
)
from ._common import check_no_floats as _check_no_floats
from ._common import check_scale, reject_strings
from ._common import state_tuple as _state_tuple
from ._linalg import matrix_sqrt
from .generator import Generator


def _noise_matrix(noise: object, n: int) -> sp.ImmutableMatrix:
    if isinstance(noise, sp.MatrixBase):
        m = sp.Matrix(noise)
    else:
        seq = list(noise)  # type: ignore[call-overload]
        if seq and all(not isinstance(r, list | tuple | sp.MatrixBase) for r in seq):
            if len(seq) != n:
                raise ModelError(
                    f"a flat noise list means one independent noise per equation and needs "
                    f"{n} entries; got {len(seq)}. Give an {n} x m matrix for shared noises."
                )
            m = sp.diag(*[sp.sympify(s) for s in seq])
        else:
            rows = [list(r) for r in seq]
            widths = {len(r) for r in rows}
            if len(widths) != 1:
                raise ModelError(f"noise rows have different lengths {sorted(widths)}")
            m = sp.Matrix(rows)
    if m.shape[0] != n:
        raise ModelError(
            f"noise must have one row per state variable: expected {n} rows, got shape {m.shape}"
        )
    return sp.ImmutableMatrix(m)


@dataclass(frozen=True)
class SDE:
    r"""An Itô SDE :math:`dZ = b(Z)\,dt + \sigma(Z)\,dW`, immutable and validated.

    Parameters
    ----------
    state : list of Symbol
        The state variables :math:`Z = (z_1, \dots, z_n)`.
    drift : list of expressions
        :math:`b`, one entry per state variable.
    noise : n x m matrix, or flat list of length n, optional
        :math:`\sigma`. A flat list ``[s1, ..., sn]`` means independent noises
        (``diag(s1, ..., sn)``). Give either ``noise`` or ``diffusion``.
    diffusion : n x n symmetric matrix, optional
        :math:`a = \sigma\sigma^T`.
    periodic : dict ``{y: L}``, optional
        Variables on a circle of length ``L``.
    eps : Symbol, optional
        The scale parameter (default :data:`symavg.epsilon`), a positive
        symbol. ``reduce``, ``simulate``, ``verify``, code generation and the
        command line read it from the model.

    Examples
    --------
    >>> import sympy as sp, symavg as sa
    >>> x, y = sp.symbols("x y", real=True)
    >>> eps = sa.epsilon
    >>> m = sa.SDE([x, y], [y / eps, -y / eps**2], noise=[[0], [sp.sqrt(2) / eps]])
    >>> m.diffusion
    Matrix([
    [0,            0],
    [0, 2/epsilon**2]])
    """

    state: tuple[sp.Symbol, ...]
    drift: sp.ImmutableMatrix
    noise: sp.ImmutableMatrix | None
    diffusion: sp.ImmutableMatrix
    periodic: tuple[tuple[sp.Symbol, sp.Expr], ...]
    eps: sp.Symbol = epsilon

    def __init__(self, state: Sequence[sp.Symbol], drift: object, noise: object = None,
                 diffusion: object = None, periodic: Mapping | None = None,
                 eps: sp.Symbol = epsilon) -> None:
        check_scale(eps, "SDE")
        reject_strings(drift, "drift")
        reject_strings(noise, "noise")
        reject_strings(diffusion, "diffusion")
        st = _state_tuple(state)
        n = len(st)
        try:
            b = sp.Matrix([sp.sympify(e) for e in (drift if not isinstance(drift, sp.Basic)
                                                  or isinstance(drift, sp.MatrixBase)
                                                  else [drift])])
        except (sp.SympifyError, TypeError) as exc:
            raise ModelError(f"drift could not be read as SymPy expressions: {exc}") from None
        if b.shape != (n, 1):
            raise ModelError(
                f"drift has {b.shape[0]} entries but state has {n} variables {list(st)}: "
                "give one drift entry per state variable"
            )
        if noise is not None and diffusion is not None:
            raise ModelError("give either noise (sigma) or diffusion (sigma sigma^T), not both")
        if noise is not None:
            sig = _noise_matrix(noise, n)
            a = sp.ImmutableMatrix((sig * sig.T).applyfunc(sp.expand))
        elif diffusion is not None:
            a = sp.ImmutableMatrix(sp.Matrix(diffusion))
            if a.shape[0] != a.shape[1]:
                raise ModelError(
                    f"diffusion must be a square n x n matrix (sigma sigma^T); got shape "
                    f"{a.shape}. To give a non-square sigma, pass it as noise=..."
                )
            if a.shape != (n, n):
                raise ModelError(f"diffusion must be {n} x {n} for state {list(st)}; got {a.shape}")
            asym = sp.Matrix(a - a.T).applyfunc(sp.simplify)
            if not asym.is_zero_matrix:
                i, j = next((i, j) for i in range(n) for j in range(n) if asym[i, j] != 0)
                raise ModelError(
                    f"diffusion must be symmetric: entry ({i},{j}) = {a[i, j]} differs from "
                    f"({j},{i}) = {a[j, i]}"
                )
            sig = matrix_sqrt(a)
        else:
            sig = sp.ImmutableMatrix.zeros(n, 1)
            a = sp.ImmutableMatrix.zeros(n, n)
        per = check_periods(periodic or {}, st)
        for k, e in enumerate(b):
            _check_no_floats(e, f"drift of {st[k]}")
        for e in a:
            _check_no_floats(e, "the noise/diffusion matrix")
        if noise is not None:
            check_real(sig, "noise", st)
        check_real(a, "diffusion", st)
        check_psd(a, st, eps, periodic=per)
        check_periodic_coefficients(
            [(f"the drift of {st[k]}", e) for k, e in enumerate(b)]
            + [(f"the diffusion entry ({i},{j})", a[i, j]) for i in range(n)
               for j in range(i, n)], per)
        object.__setattr__(self, "state", st)
        object.__setattr__(self, "drift", sp.ImmutableMatrix(b))
        object.__setattr__(self, "noise", sig)
        object.__setattr__(self, "diffusion", a)
        object.__setattr__(self, "periodic", tuple(per.items()))
        object.__setattr__(self, "eps", eps)

    @property
    def periodic_map(self) -> dict[sp.Symbol, sp.Expr]:
        """The periodic variables as a dict ``{y: L}``."""
        return dict(self.periodic)

    @property
    def dim(self) -> int:
        return len(self.state)

    @property
    def parameters(self) -> tuple[sp.Symbol, ...]:
        """Free symbols of the coefficients that are not state variables, sorted by name."""
        syms = set().union(*(e.free_symbols for e in self.drift), *(e.free_symbols for e in
                                                                     self.diffusion))
        if self.noise is not None:
            syms |= set().union(*(e.free_symbols for e in self.noise))
        for length in dict(self.periodic).values():
            syms |= length.free_symbols
        return tuple(sorted(syms - set(self.state), key=lambda s: s.name))

    @property
    def generator(self) -> Generator:
        r"""The generator :math:`b\cdot\nabla + \frac12 a:\nabla\nabla`."""
        return Generator(self.state, self.drift, self.diffusion, dict(self.periodic))

    def index(self, variable: sp.Symbol) -> int:
        return self.state.index(variable)

    # numeric side, provided by symavg.numeric (see symavg/_hooks.py)
    def lambdify(self, backend: str = "numpy", **kwargs: Any) -> Any:
        """Numeric drift, noise and diffusion; see :func:`symavg.lambdify_model`."""
        return _hooks.call("lambdify_model", self, backend=backend, **kwargs)

    def simulate(self, x0: Mapping, T: float, **kwargs: Any) -> Any:
        """Simulate an ensemble; see :func:`symavg.simulate`."""
        return _hooks.call("simulate", self, x0, T, **kwargs)

    def _repr_latex_(self) -> str:
        from ..report.display import sde_latex

        return sde_latex(self.state, self.drift, self.noise, self.diffusion)

    def _repr_markdown_(self) -> str:
        from ..report.display import model_markdown

        return model_markdown(self)

