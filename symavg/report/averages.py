r"""Records of the averages taken outside the single-level engine, for the derivations.

The engine records each average with its integrand, its measure and its value
(:class:`~symavg.report.derivation.Average`, shown as ``label = form = value``). The
cell problems, the periodic flows, the chaotic and network reductions and the large
deviations take averages of their own; these helpers write them the same way:

- :func:`period_average_record`: :math:`\langle f\rangle_Y = \frac1L\int_0^L f\,dy`;
- :func:`density_average_record`: :math:`\int f\rho\,dy` against a named density;
- :func:`time_average_record`: :math:`\lim_{T\to\infty}\frac1T\int_0^T q(y(s))\,ds`
  (a flow) or :math:`\lim_{N\to\infty}\frac1N\sum_{n<N} q(y_n)` (a map);
- :func:`grid_average_record`: a numeric mean over grid points, written in the label
  (:math:`\frac1N\sum_j f(y_j)`) because the integrand has no closed form.
"""

from __future__ import annotations

from collections.abc import Sequence

import sympy as sp

from .derivation import Average
from .latex import latex
from .names import fresh_name, user_names

__all__ = ["density_average_record", "grid_average_record", "period_average_record",
           "time_average_record"]


def period_average_record(f: object, y: sp.Symbol, period: object, value: object,
                          cell: str = "Y") -> Average:
    r"""The record of :math:`\langle f\rangle_Y = \frac1L\int_0^L f\,dy = ` ``value``.

    Parameters
    ----------
    f : Expr
        The integrand.
    y : Symbol
        The cell variable.
    period : Expr
        The period :math:`L`.
    value : Expr
        The average (possibly an unevaluated integral).
    cell : str
        LaTeX subscript of the angle bracket.

    Returns
    -------
    Average

    Examples
    --------
    >>> import sympy as sp
    >>> y = sp.Symbol("y", real=True)
    >>> a = period_average_record(1 / (2 + sp.sin(y)), y, 2 * sp.pi, 1 / sp.sqrt(3))
    >>> a.form
    (1/(2*pi))*Integral(1/(sin(y) + 2), (y, 0, 2*pi))
    """
    f = sp.sympify(f)
    form = sp.Mul(sp.Integral(f, (y, 0, period)), 1 / sp.sympify(period), evaluate=False)
    sub = f"_{{{cell}}}" if cell else ""
    return Average(rf"\left\langle {latex(f)}\right\rangle{sub}", f, form,
                   sp.sympify(value))


def density_average_record(label: str, f: object, density: str, domain: Sequence,
                           value: object) -> Average:
    r"""The record of ``label`` :math:`= \int f\,\rho(y)\,dy = ` ``value``, the density a
    function named ``density`` of the variables of ``domain``.

    Parameters
    ----------
    label : str
        LaTeX of the left side (``r"\bar g"``).
    f : Expr
        The integrand.
    density : str
        The name of the density, as the step that computes it writes it.
    domain : sequence of (Symbol, lower, upper)
        The integration domain, one triple per variable.
    value : Expr
        The average.

    Returns
    -------
    Average

    Examples
    --------
    >>> import sympy as sp
    >>> y = sp.Symbol("y", real=True)
    >>> density_average_record(r"\bar g", sp.cos(y), "rho", [(y, 0, 2 * sp.pi)], 0.3).form
    Integral(rho(y)*cos(y), (y, 0, 2*pi))
    """
    ys = [d[0] for d in domain]
    f = sp.sympify(f)
    form = sp.Integral(f * sp.Function(density)(*ys), *[tuple(d) for d in domain])
    return Average(label, f, form, sp.sympify(value))


def time_average_record(q: object, fast: Sequence[sp.Symbol], value: object, *,
                        discrete: bool = False) -> Average:
    r"""The record of the time average of ``q`` along the fast trajectory (the mean under
    its invariant law when the fast dynamics is ergodic):
    :math:`\langle q\rangle = \lim_{T\to\infty}\frac1T\int_0^T q(y(s))\,ds`, or
    :math:`\lim_{N\to\infty}\frac1N\sum_{n=0}^{N-1} q(y_n)` for a map
    (``discrete=True``).

    Parameters
    ----------
    q : Expr
        The observable, in the fast variables.
    fast : sequence of Symbol
        The fast variables; along the path they become functions of the time ``s`` (or of
        the step ``n``).
    value : Expr
        The estimated average.
    discrete : bool
        A map's orbit instead of a flow's trajectory.

    Returns
    -------
    Average
        The time and step variables are named apart from the names in ``q``.

    Examples
    --------
    >>> import sympy as sp
    >>> y = sp.Symbol("y", real=True)
    >>> time_average_record(y**2, [y], 0.5).form
    Limit(Integral(y(s)**2, (s, 0, T))/T, T, oo, dir='-')
    """
    q = sp.sympify(q)
    taken = set(user_names([q, *fast]))
    if discrete:
        n, N = (sp.Symbol(fresh_name(b, taken), integer=True, nonnegative=True)
                for b in ("n", "N"))
        path = q.xreplace({y: sp.Function(y.name)(n) for y in fast})
        inner = sp.Mul(sp.Sum(path, (n, 0, N - 1)), 1 / N, evaluate=False)
        form = sp.Limit(inner, N, sp.oo)
    else:
        s, T = (sp.Symbol(fresh_name(b, taken), positive=True) for b in ("s", "T"))
        path = q.xreplace({y: sp.Function(y.name)(s) for y in fast})
        form = sp.Limit(sp.Mul(sp.Integral(path, (s, 0, T)), 1 / T, evaluate=False), T, sp.oo)
    return Average(rf"\left\langle {latex(q)}\right\rangle", q, form, sp.sympify(value))


def grid_average_record(label: str, integrand_tex: str, value: object,
                        points: str = "N") -> Average:
    r"""The record of a numeric mean over the points :math:`y_j` of a grid,
    ``label`` :math:`= \frac1N\sum_{j=1}^N` ``integrand`` :math:`(y_j) = ` ``value``
    (no closed-form integrand: the label says how the mean is taken).

    Parameters
    ----------
    label : str
        LaTeX of the left side.
    integrand_tex : str
        LaTeX of the integrand, written before ``(y_j)``.
    value : Expr or Matrix
        The mean.
    points : str
        LaTeX of the number of points.

    Returns
    -------
    Average
        With ``form=None``; the display writes ``label = mean = value``.

    Examples
    --------
    >>> a = grid_average_record("K", r"u_i\chi_j", 0.5)
    >>> a.label
    'K = \\frac{1}{N}\\sum_{j=1}^{N} u_i\\chi_j(y_j)'
    """
    return Average(rf"{label} = \frac{{1}}{{{points}}}\sum_{{j=1}}^{{{points}}} "
                   rf"{integrand_tex}(y_j)", sp.S.Zero, None, value)
