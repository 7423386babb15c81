r"""Semi-analytic coefficients: unevaluated integrals as Chebyshev interpolants.

When a derivation finds no closed form for an average it leaves an
unevaluated ``Integral`` in the reduced coefficients, e.g. the averaged drift

.. math:: F(x) = \int_0^{2\pi} f(x, y)\,\rho(y; x)\,dy .

Such a coefficient is evaluated by quadrature *once*, at the Chebyshev points
of a user-given interval :math:`[a, b]` of the slow variable, and replaced in
the kernel by its Chebyshev interpolant

.. math:: F(x) \approx \sum_{k=0}^{N-1} c_k T_k(t), \qquad
    t = \frac{2x - a - b}{b - a} \text{ clipped to } [-1, 1],

evaluated by the Clenshaw recurrence :math:`b_k = c_k + 2t\,b_{k+1} - b_{k+2}`,
:math:`F \approx (b_0 - b_2)/2 + c_0/2`. The interpolation error is measured at the
:math:`N-1` midpoints between Chebyshev nodes and reported; outside
:math:`[a, b]` the interpolant is held constant, and the simulator counts the
paths that left the interval. The coefficients are run-time parameters of the
kernel, so one compiled kernel serves every interval and parameter value.
"""

from __future__ import annotations

import math
import warnings
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import sympy as sp

from ..errors import SimulationError


@dataclass(frozen=True)
class TableSpec:
    """An integral-valued sub-expression tabulated in one state variable.

    Attributes
    ----------
    expr : Expr
        The sub-expression (in the model's own symbols).
    variable : Symbol
        The state variable it depends on.
    lo, hi : Symbol
        Kernel parameters holding the interval.
    coeffs : tuple of Symbol
        Kernel parameters holding the Chebyshev coefficients.
    """

    expr: sp.Expr
    variable: sp.Symbol
    lo: sp.Symbol
    hi: sp.Symbol
    coeffs: tuple[sp.Symbol, ...]


class ChebyshevSeries(sp.Function):
    r"""``ChebyshevSeries(t, c0, ..., cN)`` :math:`= \sum_k c_k T_k(t)`, unevaluated.

    The code printers write it as a call to ``_clenshaw`` (see :data:`CLENSHAW_SOURCE`):
    written out as an expression, the recurrence would be a tree whose size grows
    like the Fibonacci numbers with the degree.
    """

    @classmethod
    def eval(cls, *args: sp.Expr) -> sp.Expr | None:
        if all(a.is_Number for a in args):
            t, c = float(args[0]), [float(a) for a in args[1:]]
            return sp.Float(float(np.polynomial.chebyshev.chebval(t, c)))
        return None


#: the helper the generated kernels call (scalars in numba, arrays in NumPy)
CLENSHAW_SOURCE = """
def _clenshaw(t, *c):
    b1 = 0.0 * t
    b2 = 0.0 * t
    for k in range(len(c) - 1, 0, -1):
        b0 = c[k] + 2.0 * t * b1 - b2
        b2 = b1
        b1 = b0
    return c[0] + t * b1 - b2
"""


def clenshaw(t: sp.Expr, c: Sequence[sp.Expr]) -> sp.Expr:
    r"""The Chebyshev series :math:`\sum_k c_k T_k(t)` (evaluated by the Clenshaw recurrence
    :math:`b_k = c_k + 2t\,b_{k+1} - b_{k+2}`, sum :math:`c_0 + t b_1 - b_2`)."""
    return ChebyshevSeries(t, *c)


def tabulate_integrals(exprs: Sequence[sp.Expr], kernel_state: Sequence[sp.Symbol],
                       back: Mapping[sp.Symbol, sp.Expr], nodes: int = 32
                       ) -> tuple[list[sp.Expr], list[TableSpec]]:
    # a table may hold the state and the model's parameters, never the step or the noises
    """Replace maximal state-dependent sub-expressions holding an ``Integral``.

    ``kernel_state`` are the symbols standing for the state in ``exprs``;
    ``back`` maps kernel symbols to the model's own. A sub-expression is
    tabulated whole when it is an integral or when every state-dependent
    argument of it holds one (``Integral / Integral`` is one table, not two).
    Returns the rewritten expressions and the tables.
    """
    kset = set(kernel_state)
    allowed = set(back)
    tables: dict[sp.Basic, tuple[sp.Expr, TableSpec]] = {}

    def table(node: sp.Basic) -> sp.Expr:
        deps = node.free_symbols & kset
        if len(deps) > 1:
            raise SimulationError(
                f"the coefficient {node.xreplace(back)} has no closed form and depends on "
                f"{sorted(str(back[d]) for d in deps)}; tabulation supports integrals "
                "depending on one state variable"
            )
        if node not in tables:
            (z,) = deps
            j = len(tables)
            lo, hi = sp.Symbol(f"_lo{j}", real=True), sp.Symbol(f"_hi{j}", real=True)
            cs = tuple(sp.Symbol(f"_c{j}_{k}", real=True) for k in range(nodes))
            t = (2 * z - lo - hi) / (hi - lo)
            t = (sp.Abs(t + 1) - sp.Abs(t - 1)) / 2          # clipped to [-1, 1]
            tables[node] = (clenshaw(t, cs), TableSpec(node.xreplace(back), back[z], lo, hi, cs))
        return tables[node][0]

    def visit(node: sp.Basic) -> sp.Basic:
        if node.is_Atom or not node.has(sp.Integral) or not (node.free_symbols & kset):
            return node          # parameter-only integrals are hoisted, not tabulated
        if isinstance(node, sp.Integral) and node.free_symbols <= allowed:
            return table(node)
        if isinstance(node, sp.Mul | sp.Add):
            inner = [a for a in node.args if a.has(sp.Integral) and a.free_symbols & kset
                     and a.free_symbols <= allowed]
            if inner:
                rest = [visit(a) for a in node.args if a not in inner]
                return node.func(table(node.func(*inner)), *rest)
        if isinstance(node, sp.Pow) and not (node.exp.free_symbols & kset) \
                and node.free_symbols <= allowed:
            return table(node)
        return node.func(*[visit(a) for a in node.args])

    out = [visit(sp.sympify(e)) for e in exprs]
    return out, [spec for _, spec in tables.values()]


def numeric_value(expr: sp.Expr, values: Mapping[sp.Symbol, float]) -> float:
    r"""Evaluate ``expr`` (possibly holding nested integrals) at ``values`` by quadrature.

    Every integral is computed with :func:`scipy.integrate.quad`, outermost first: for
    :math:`\int_a^b g(s, \int_{c(s)}^{d(s)} h(s, u)\,du)\,ds` the outer quadrature calls
    the inner one at each of its nodes (the densities of non-gradient drifts on a
    circle, :math:`e^{\psi(y)}\int_y^{y+L}e^{-\psi}`, have this form). The
    integrands are compiled once with :func:`sympy.lambdify`; ``sympy.N`` of the same
    nested integrals (mpmath at every node) takes minutes.
    """
    e = sp.sympify(expr)
    env = {k: float(v) for k, v in values.items()}
    missing = e.free_symbols - set(env)
    if missing:
        raise SimulationError(f"could not evaluate {expr}: no value for "
                              f"{sorted(map(str, missing))}")
    from scipy.integrate import IntegrationWarning

    try:
        with warnings.catch_warnings(), np.errstate(all="ignore"):
            warnings.simplefilter("error", IntegrationWarning)  # inaccurate: the fallback
            val = float(_Evaluator().value(e, env))
        if math.isfinite(val):
            return val
    except (TypeError, ValueError, ZeroDivisionError, OverflowError, NameError,
            IntegrationWarning):
        pass
    # a function the compiled route lacks, or an overflow in double precision
    # (e^{y^4/4} erfc(y^2/2)^2): mpmath through sympy.N, slower but arbitrary-precision
    try:
        return float(sp.N(e.xreplace({k: sp.Float(v) for k, v in env.items()}), 17))
    except (TypeError, ValueError) as exc:
        raise SimulationError(f"could not evaluate {expr} at {dict(values)}: {exc}") from None


class _Evaluator:
    """Nested quadrature of an expression with integrals; compiled pieces are kept."""

    _OPTS = {"epsabs": 1e-13, "epsrel": 1e-12, "limit": 400}

    def __init__(self) -> None:
        self._compiled: dict[sp.Expr, tuple[tuple[sp.Symbol, ...], Any, list]] = {}

    def _compile(self, e: sp.Expr):
        hit = self._compiled.get(e)
        if hit is None:
            # the outermost integrals become placeholders, evaluated at each call
            outer = [i for i in e.atoms(sp.Integral)
                     if not any(j is not i and j.has(i) for j in e.atoms(sp.Integral))]
            holders = [sp.Dummy(f"J{k}") for k in range(len(outer))]
            body = e.xreplace(dict(zip(outer, holders, strict=True)))
            syms = tuple(sorted(body.free_symbols - set(holders), key=str))
            fn = sp.lambdify((*syms, *holders), body, ["scipy", "numpy"])
            hit = (syms, fn, outer)
            self._compiled[e] = hit
        return hit

    def value(self, e: sp.Expr, env: dict[sp.Symbol, float]) -> complex | float:
        syms, fn, outer = self._compile(e)
        inner = [self._integral(i, env) for i in outer]
        return fn(*(env[s] for s in syms), *inner)

    def _integral(self, it: sp.Integral, env: dict[sp.Symbol, float]) -> float:
        from scipy import integrate  # only here: importing it costs ~0.5-1 s

        (var, *ends) = it.limits[-1]
        if len(ends) != 2:
            raise ValueError(f"an integral without limits: {it}")
        inside = it.function if len(it.limits) == 1 else sp.Integral(it.function,
                                                                    *it.limits[:-1])
        a, b = (float(self.value(sp.sympify(v), env)) for v in ends)

        def integrand(t: float) -> float:
            return float(self.value(inside, {**env, var: t}))

        val, _ = integrate.quad(integrand, a, b, **self._OPTS)
        return val


def chebyshev_table(spec: TableSpec, values: Mapping[sp.Symbol, float],
                    interval: tuple[float, float]) -> tuple[np.ndarray, float]:
    """Coefficients of the interpolant of ``spec.expr`` on ``interval`` and its error.

    The error is the largest absolute difference between the interpolant and a
    fresh quadrature at the midpoints between nodes.
    """
    a, b = (float(v) for v in interval)
    if not b > a:
        raise SimulationError(f"tabulation interval for {spec.variable} must have lo < hi; "
                              f"got {interval}")
    n = len(spec.coeffs)
    k = np.arange(n)
    t = np.cos(np.pi * (k + 0.5) / n)                    # Chebyshev points (first kind)
    xs = 0.5 * (a + b) + 0.5 * (b - a) * t
    f = np.array([numeric_value(spec.expr, {**values, spec.variable: x}) for x in xs])
    c = np.polynomial.chebyshev.chebfit(t, f, n - 1)
    tm = np.cos(np.pi * (k[:-1] + 1.0) / n)              # between the nodes
    xm = 0.5 * (a + b) + 0.5 * (b - a) * tm
    fm = np.array([numeric_value(spec.expr, {**values, spec.variable: x}) for x in xm])
    err = float(np.max(np.abs(np.polynomial.chebyshev.chebval(tm, c) - fm)))
    return c, err
