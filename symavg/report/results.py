"""Rich displays of the large-deviation and chaos results (Markdown or an HTML table).

:class:`~symavg.derive.ldp.Hamiltonian`, :class:`~symavg.derive.ldp.RateFunction` and
:class:`~symavg.derive.ldp.Quasipotential` show their formula (broken over lines when
long, one display per equation) with the strategy and the checks' summary; the Monte
Carlo estimates (Green-Kubo, exit times, tail probabilities, minimum-action paths)
show an HTML table of the value, its standard error and how it was computed.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from .display import _md_display, html_table
from .latex import equation_lines

__all__ = ["estimate_html", "formula_markdown"]


def formula_markdown(title: str, equations: Sequence[tuple[str, Any]], steps: Any = None,
                     note: str = "") -> str:
    r"""Markdown of a symbolic result: a bold title, one ``$$ ... $$`` display per
    equation (long ones broken over lines) and the summary of the derivation's checks.

    Examples
    --------
    >>> import sympy as sp
    >>> print(formula_markdown("Hamiltonian", [("H", sp.Symbol("p")**2)]).rstrip())
    **Hamiltonian**
    <BLANKLINE>
    $$ H = p^{2} $$
    """
    out = [f"**{title}**" + (f" ({note})" if note else ""), ""]
    for label, expr in equations:
        if expr is None:
            continue
        for display in equation_lines(label, expr):
            out += [_md_display(display), ""]
    if steps is not None:
        checks = steps.checks
        failed = [c.name for c in checks if not c.passed]
        out.append(f"{len(steps)} steps, {len(checks)} checks, "
                   + ("all passed." if not failed else "FAILED: " + ", ".join(failed) + ".")
                   + " The derivation: `.steps`.")
    return "\n".join(out).rstrip() + "\n"


def estimate_html(title: str, rows: Sequence[tuple[str, Any]], notes: Sequence[str] = ()
                  ) -> str:
    """An HTML table of a Monte Carlo estimate: one ``quantity | value`` row each.

    Examples
    --------
    >>> estimate_html("Green-Kubo", [("value", 0.25)]).count("<td>")
    2
    """
    return html_table(["quantity", "value"], [(k, _fmt(v)) for k, v in rows], caption=title,
                      notes=notes)


def _fmt(v: Any) -> str:
    if isinstance(v, float):
        return f"{v:.6g}"
    return str(v)
