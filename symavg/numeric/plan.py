r"""What a simulator needs to know about a model, read once from the declaration.

:func:`model_coefficients` turns an :class:`~symavg.models.sde.SDE` (the full
slow-fast model) or an :class:`~symavg.models.effective.EffectiveModel` (the
reduced one) into plain lists of SymPy expressions: drift :math:`b`, noise
:math:`\sigma` (row-major), periods, the parameters in a fixed order, and, for
a full model, which variables are fast and the leading power of
:math:`\epsilon` (the fastest time scale is :math:`\epsilon^{-p_0}`).

The scale parameter stays a *symbol*: its value is passed with the other
parameters, so one compiled kernel serves every value of :math:`\epsilon`. The
symbol is the one the model was declared with (``model.eps``): the scale lives
in the declaration, and :func:`model_scale` refuses a different one.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass

import sympy as sp
from sympy.core.function import AppliedUndef

from ..errors import ModelError, SimulationError
from ..models._common import same_scale


def substitute_functions(expr: sp.Expr, functions: Mapping | None) -> sp.Expr:
    """Replace undefined functions by their definitions and evaluate derivatives.

    ``functions`` maps an undefined function (``c = sp.Function("c")``) or its
    name to a :class:`sympy.Lambda` or a Python callable that returns a SymPy
    expression (``lambda x: x**2``, ``sp.sin``).
    """
    expr = sp.sympify(expr)
    if not functions:
        return expr
    for key, value in functions.items():
        name = key if isinstance(key, str) else getattr(key, "__name__", str(key))
        targets = [f for f in expr.atoms(AppliedUndef) if f.func.__name__ == name]
        if not targets:
            continue
        if not callable(value):
            raise ModelError(
                f"functions[{name}] must be a sympy.Lambda or a callable returning a SymPy "
                f"expression; got {value!r}"
            )
        repl = {f: sp.sympify(value(*f.args)) for f in targets}
        expr = expr.subs(repl)
    return expr.doit() if expr.has(sp.Derivative, sp.Subs) else expr


def undefined_functions(exprs: Iterable[sp.Expr]) -> list[str]:
    """Names of the undefined functions left in ``exprs``."""
    names: set[str] = set()
    for e in exprs:
        names |= {f.func.__name__ for f in sp.sympify(e).atoms(AppliedUndef)}
    return sorted(names)


# --------------------------------------------------------------- hoisting

@dataclass(frozen=True)
class ModelCoefficients:
    """Coefficients of a model ready for code generation.

    Attributes
    ----------
    state : tuple of Symbol
        All simulated variables, in order.
    drift : tuple of Expr
        One per variable.
    noise : tuple of Expr
        The ``n x m`` noise matrix, row-major.
    m : int
        Number of Brownian motions.
    parameters : tuple of Symbol
        Free symbols other than the state (the scale parameter included), sorted by name.
    periodic : dict {index: period}
    fast : tuple of Symbol
        Variables the most singular part of the generator acts on (full models).
    leading_power : Rational or None
        :math:`p_0`, the most negative power of :math:`\\epsilon` (full models).
    eps_symbol : Symbol or None
        The scale parameter when it appears in the coefficients.
    name : str
        For messages.
    scale : Symbol or None
        The scale parameter the model was declared with (``model.eps``), whether
        or not the coefficients contain it; ``None`` for a model without one.
    """

    state: tuple[sp.Symbol, ...]
    drift: tuple[sp.Expr, ...]
    noise: tuple[sp.Expr, ...]
    m: int
    parameters: tuple[sp.Symbol, ...]
    periodic: dict[int, sp.Expr]
    fast: tuple[sp.Symbol, ...]
    leading_power: sp.Rational | None
    eps_symbol: sp.Symbol | None
    name: str
    scale: sp.Symbol | None = None

    def noise_entry(self, i: int, k: int) -> sp.Expr:
        return self.noise[i * self.m + k]


def _cholesky_noise(a: sp.Matrix, what: str) -> sp.Matrix:
    """A symbolic lower-triangular factor of ``a`` (valid where ``a`` is positive definite)."""
    n = a.shape[0]
    if n == 1:
        return sp.Matrix([[sp.sqrt(a[0, 0])]])
    try:
        return a.cholesky(hermitian=False)
    except (ValueError, ZeroDivisionError) as exc:
        raise SimulationError(
            f"{what}: no square root of the diffusion matrix could be formed ({exc}); "
            "declare the model with noise=sigma instead of diffusion="
        ) from None


def model_scale(model: object, eps_symbol: sp.Symbol | None, where: str) -> sp.Symbol | None:
    """The scale parameter of ``model`` (``model.eps``).

    ``eps_symbol=None`` means the model's own; the same symbol is accepted (the
    old keyword, kept for one release); a different one is a
    :class:`~symavg.errors.ModelError` naming both. A model declared without a
    scale (an ``EffectiveModel`` built by hand) gives ``eps_symbol`` itself, or
    ``None``.
    """
    if eps_symbol is None and getattr(model, "eps", None) is None:
        return None
    return same_scale(model, eps_symbol, where)


def model_coefficients(model: object, functions: Mapping | None = None,
                       eps_symbol: sp.Symbol | None = None) -> ModelCoefficients:
    """Read drift, noise, periods, parameters and fast variables off ``model``.

    The scale parameter is the model's own (``model.eps``); ``eps_symbol``, if
    given, must be that symbol (see :func:`model_scale`).
    """
    from ..models.effective import EffectiveModel
    from ..models.sde import SDE

    if isinstance(model, SDE):
        name = f"SDE in {list(model.state)}"
    elif isinstance(model, EffectiveModel):
        name = f"reduced model in {list(model.state)} ({model.regime})"
    else:
        raise ModelError(
            f"expected an SDE or an EffectiveModel (the result of sa.reduce); got "
            f"{type(model).__name__}"
        )
    scale = model_scale(model, eps_symbol, name)
    sigma = model.noise
    if sigma is None:
        sigma = _cholesky_noise(sp.Matrix(model.diffusion), name)
    state, b = model.state, list(model.drift)
    per = model.periodic_map
    sigma = sp.Matrix(sigma)
    n, m = sigma.shape
    b = [substitute_functions(e, functions) for e in b]
    s = [substitute_functions(e, functions) for e in sigma]
    periods = {state.index(v): substitute_functions(L, functions) for v, L in per.items()}
    left = undefined_functions(b + s)
    if left:
        raise SimulationError(
            f"{name}: the undefined function(s) {left} need a definition to simulate: pass "
            f"functions={{{left[0]}: sympy.Lambda(x, ...)}}"
        )
    syms: set[sp.Symbol] = set()
    for e in b + s + list(periods.values()):
        syms |= e.free_symbols
    params = tuple(sorted(syms - set(state), key=lambda z: z.name))
    fast: tuple[sp.Symbol, ...] = ()
    p0 = None
    eps_sym = scale if scale in syms else None
    if isinstance(model, SDE) and eps_sym is not None:
        orders = model.generator.expand(eps_sym)
        if orders and min(orders) < 0:
            p0 = min(orders)
            fast = orders[p0].acts_on()
    return ModelCoefficients(
        state=tuple(state), drift=tuple(b), noise=tuple(s), m=m, parameters=params,
        periodic=periods, fast=tuple(fast), leading_power=p0, eps_symbol=eps_sym, name=name,
        scale=scale)
