r"""Rich displays: derivations, SDEs and numeric results in Markdown, HTML and LaTeX.

The result objects of symavg delegate their notebook displays here:

* :class:`~symavg.report.derivation.Derivation` and
  :class:`~symavg.report.derivation.Step` render as Markdown with prose, one
  ``$$ ... $$`` display per equation (long ones broken over lines) and the
  checks, so that no single formula is huge;
* :class:`~symavg.models.sde.SDE` and
  :class:`~symavg.models.effective.EffectiveModel` render as the system of Itô
  equations (:func:`sde_latex`), with parentheses around sums, no ``0\,dt`` and
  no ``1\,dW``;
* the numeric results (``VerifyReport``, ``Ensemble``, ``EffectiveTensor``,
  ``RVEStudy``) render as HTML tables (:func:`html_table`) and figures as PNG
  (:class:`Figure`).
"""

from __future__ import annotations

import html
import io
import re
from collections.abc import Sequence
from dataclasses import replace
from typing import TYPE_CHECKING, Any

import sympy as sp
from sympy.printing.precedence import PRECEDENCE

from .latex import (
    LINE_WIDTH,
    Namer,
    TextbookLatexPrinter,
    document,
    equation_lines,
    escape,
    escape_prose,
    latex,
    visual_width,
)
from .names import LABEL_ALTERNATIVES

if TYPE_CHECKING:
    from .derivation import Derivation, Step

__all__ = ["Figure", "as_figure", "average_lines", "derivation_latex", "derivation_markdown",
           "html_table", "sde_latex", "sde_markdown", "step_latex", "step_markdown"]

_EPS = re.compile(r"\\epsilon(?![A-Za-z])")


def _math_text(tex: str) -> str:
    """Labels and statements written by the engine, in the notation of :func:`latex`."""
    return _EPS.sub(r"\\varepsilon", tex)


def _names(expr: Any) -> set[str]:
    expr = sp.sympify(expr) if not isinstance(expr, sp.Basic | sp.MatrixBase) else expr
    out = {s.name for s in getattr(expr, "free_symbols", ())}
    atoms = expr.atoms(sp.Function) if hasattr(expr, "atoms") else set()
    out |= {type(f).__name__ for f in atoms}
    return out


def _step_parts(step: Step) -> tuple[str, list[tuple[str, Any]], list[Any]]:
    """The statement and the labelled expressions with clashing names made distinct.

    A label letter of the engine (``\\sigma`` for the noise matrix, ``D``, ``F``, ``A``,
    ...; :data:`symavg.report.names.LABEL_ALTERNATIVES`) in a step whose expressions hold
    a user's symbol or function of that name is written in another face (``\\Sigma``,
    ``\\mathcal{D}``, ...), in the labels and in the math of the statement."""
    statement = _math_text(step.statement)
    exprs = [(_math_text(label), e) for label, e in step.expressions]
    used = set().union(*(_names(e) for _, e in exprs)) if exprs else set()
    averages = list(step.averages)
    used |= set().union(*(_names(a.integrand) | _names(a.value) for a in averages)) \
        if averages else set()
    for name, alt in LABEL_ALTERNATIVES.items():
        if name not in used:
            continue
        pat = _label_pattern(name)
        if not any(pat.search(label) and not _is_user_symbol(e, name) for label, e in exprs) \
                and not any(pat.search(a.label) for a in step.averages):
            continue
        exprs = [(_braced(pat.sub(lambda _m, alt=alt: alt, label)), e) for label, e in exprs]
        averages = [replace(a, label=_braced(pat.sub(lambda _m, alt=alt: alt, a.label)))
                    for a in averages]
        statement = _in_math(statement, lambda t, pat=pat, alt=alt:
                             _braced(pat.sub(lambda _m: alt, t)))
    bm = brownian_letter(used)
    if bm != "W":   # a user's W would read as the Brownian motion of the statement
        statement = _in_math(statement, lambda t: _DW.sub(lambda _m: "d" + bm, t))
    return statement, exprs, averages


_DW = re.compile(r"(?<![A-Za-z\\])dW(?![A-Za-z])")

#: an accent followed by a face command: ``\bar \mathbf{b}`` must read ``\bar{\mathbf{b}}``
_ACCENT_FACE = re.compile(r"(\\(?:bar|hat|tilde|dot|ddot|vec|check|breve|overline))\s*"
                          r"(\\math[a-z]+\{[^{}]*\})")


def _braced(tex: str) -> str:
    r"""``\bar \mathbf{b}`` as ``\bar{\mathbf{b}}``: an accent takes one argument, and a
    label letter written in another face (:data:`LABEL_ALTERNATIVES`) is a command with
    an argument of its own."""
    return _ACCENT_FACE.sub(lambda m: f"{m.group(1)}{{{m.group(2)}}}", tex)


def brownian_letter(used: set[str]) -> str:
    r"""The letter of the Brownian motion in a display: ``W``, or ``B`` when the user's
    model has a symbol or function named ``W``, or :math:`\mathcal W` when it has both.

    Examples
    --------
    >>> brownian_letter({"x"}), brownian_letter({"W"}), brownian_letter({"W", "B"})
    ('W', 'B', '\\mathcal{W}')
    """
    if "W" not in used:
        return "W"
    return "B" if "B" not in used else r"\mathcal{W}"


def _label_pattern(name: str) -> re.Pattern:
    if len(name) > 1:   # a command (\\sigma): its backslash marks where it starts
        return re.compile(re.escape("\\" + name) + r"(?![A-Za-z])")
    return re.compile(r"(?<![\\A-Za-z{])" + re.escape(name) + r"(?![A-Za-z])")


def _in_math(text: str, fn: Any) -> str:
    parts = text.split("$")
    if len(parts) % 2 == 0:
        return text
    return "$".join(fn(p) if i % 2 else p for i, p in enumerate(parts))


def _is_user_symbol(e: Any, name: str) -> bool:
    """True when ``e`` is the user's object itself (``sigma = sigma(x)``: no clash)."""
    items = list(e) if isinstance(e, sp.MatrixBase) else [e]
    return all(isinstance(v, sp.Basic) and (v == 0 or (isinstance(v, sp.Function | sp.Symbol)
                                                        and (getattr(v, "name", None) or
                                                             type(v).__name__) == name))
               for v in items)


# ----------------------------------------------------------------- derivations
def step_displays(step: Step) -> tuple[str, list[list[list[str]]]]:
    """The statement and, per equation, its displays (see :func:`equation_lines`); the
    averages of the step (:func:`average_lines`) come after its equations."""
    statement, exprs, averages = _step_parts(step)
    namer = Namer([e for _, e in exprs] + [sp.sympify(v) for a in averages
                                           for v in (a.integrand, a.value)])
    out = [equation_lines(label, e, namer=namer) for label, e in exprs]
    out += [average_lines(a, namer=namer) for a in averages]
    return statement, out


def average_lines(avg: Any, width: float = LINE_WIDTH, namer: Namer | None = None
                  ) -> list[list[str]]:
    r"""The displays of one :class:`~symavg.report.derivation.Average`.

    ``label = form = value`` on one line when it fits ``width``; otherwise the
    form is written with the integrand's name (``\langle c_x\rangle_\rho =
    \int c_x \rho(y)\,dy``), the value on the next line(s), and the integrand is
    defined below (``c_x = ...``, broken over lines) unless the step shows it already.
    An average without a form (a numeric mean) is written ``label = value``, its label
    saying how it is taken (``A^* = \frac1N\sum_j ...``), on two displays when long.

    Examples
    --------
    >>> import sympy as sp
    >>> from symavg.report.derivation import Average
    >>> y = sp.Symbol("y")
    >>> rho = sp.Function("rho")(y)
    >>> a = Average(r"\langle h\rangle_\rho", y, sp.Integral(y * rho, (y, -sp.oo, sp.oo)), 0)
    >>> average_lines(a)
    [['\\langle h\\rangle_\\rho &= \\int\\limits_{-\\infty}^{\\infty} y \\rho(y)\\, dy = 0']]
    """
    # the left column holds the first member only ("F"), the rest goes to the right
    label, _, middle = _math_text(avg.label).partition(" = ")
    middle = f"{middle} = " if middle else ""
    value = latex(avg.value)
    if avg.form is None:
        # no form: the label's middle member says how it is taken (a grid mean, ...)
        if not middle:
            return equation_lines(label, avg.value, width, namer)
        one = f"{label} &= {middle}{value}"
        if visual_width(one) <= width:
            return [[one]]
        return [[f"{label} &= {middle[:-3]}"], *equation_lines(label, avg.value, width, namer)]
    one = f"{label} &= {middle}{latex(avg.form)} = {value}"
    if visual_width(one) <= width:
        return [[one]]
    form = avg.named if avg.named is not None else avg.form
    head = f"{label} &= {middle}{latex(form)}"
    first, *more = equation_lines("", avg.value, width, namer)
    rhs = first[0].split("&= ", 1)[1]
    if len(first) == 1 and visual_width(f"{head} = {rhs}") <= width:
        lines = [f"{head} = {rhs}"]
    else:
        lines = [head, f"&= {rhs}", *first[1:]]
    out = [lines, *more]
    if avg.named is not None and not avg.defined:
        out += equation_lines(_math_text(avg.name), avg.integrand, width, namer)
    return out


def _md_display(lines: list[str]) -> str:
    if len(lines) == 1:
        return "$$ " + lines[0].replace(" &= ", " = ", 1) + " $$"
    return "$$ \\begin{aligned} " + " \\\\ ".join(lines) + " \\end{aligned} $$"


def _check_md(c: Any) -> str:
    mark = "passed" if c.passed else "**FAILED**"
    extra = f" ({c.detail})" if c.detail else ""
    return f"check `{c.name}`: {mark}, {c.method}{extra}"


def step_markdown(step: Step, heading: str | None = None) -> str:
    """Markdown of one step (see :meth:`Step.to_markdown`)."""
    head = heading if heading is not None else f"**{step.name}**"
    if step.strategy:
        head += f" _(strategy: {step.strategy})_"
    statement, displays = step_displays(step)
    lines = [head, "", statement, ""]
    for eq in displays:
        for d in eq:
            lines += [_md_display(d), ""]
    for c in step.checks:
        lines.append(f"- {_check_md(c)}")
    return "\n".join(lines).rstrip() + "\n"


def derivation_markdown(deriv: Derivation) -> str:
    """Markdown of a derivation: a title, then one section per step."""
    out = [f"# {deriv.title}", ""]
    for i, step in enumerate(deriv.steps, 1):
        out.append(step_markdown(step, heading=f"## {i}. {step.name}"))
    n = len(deriv.checks)
    failed = [c.name for c in deriv.checks if not c.passed]
    out.append(f"_{n} checks, {'all passed' if not failed else 'FAILED: ' + ', '.join(failed)}._")
    return "\n".join(out) + "\n"


def _check_tex(c: Any) -> str:
    mark = "passed" if c.passed else r"\textbf{FAILED}"
    detail = f" ({escape(c.detail)})" if c.detail else ""
    return rf"\item check \texttt{{{escape(c.name)}}}: {mark}, {escape(c.method)}{detail}"


def step_latex(step: Step, heading: str | None = None) -> str:
    """LaTeX of one step (see :meth:`Step.to_latex`)."""
    head = heading if heading is not None else rf"\paragraph{{{escape(step.name)}}}"
    if step.strategy:
        head += rf" \emph{{(strategy: {escape(step.strategy)})}}"
    statement, displays = step_displays(step)
    lines = [head, "", escape_prose(statement)]
    rows = [ln for eq in displays for d in eq for ln in d]
    if rows:
        lines += [r"\begin{align*}", " \\\\\n".join(rows), r"\end{align*}"]
    if step.checks:
        lines.append(r"\begin{itemize}")
        lines += [_check_tex(c) for c in step.checks]
        lines.append(r"\end{itemize}")
    return "\n".join(lines) + "\n"


def derivation_latex(deriv: Derivation, standalone: bool = False) -> str:
    """LaTeX of a derivation (see :meth:`Derivation.to_latex`)."""
    body = [] if standalone else [rf"\section*{{{escape(deriv.title)}}}"]
    for i, step in enumerate(deriv.steps, 1):
        body.append(step_latex(step, heading=rf"\subsection*{{{i}. {escape(step.name)}}}"))
    n = len(deriv.checks)
    failed = [c.name for c in deriv.checks if not c.passed]
    summary = (f"{n} checks, all passed." if not failed else
               f"{n} checks; FAILED: {', '.join(failed)}.")
    body.append(r"\paragraph{Checks} " + escape(summary))
    text = "\n".join(body)
    return document(text, title=deriv.title) if standalone else text


def step_math(step: Step) -> str:
    """A compact ``$...$`` rendering of a step's equations (for ``text/latex``)."""
    _, displays = step_displays(step)
    rows = [ln for eq in displays for d in eq for ln in d]
    return "$\\begin{aligned}" + r" \\ ".join(rows) + r"\end{aligned}$" if rows else ""


def derivation_math(deriv: Derivation) -> str:
    """A compact ``$...$`` outline (step names and check marks) for ``text/latex``."""
    rows = [rf"\text{{{escape(deriv.title)}}}"]
    for i, step in enumerate(deriv.steps, 1):
        mark = r"\checkmark" if step.passed else r"\times"
        rows.append(rf"\text{{{i}. {escape(step.name)}}}\ {mark}")
    return "$\\displaystyle \\begin{array}{l}" + r" \\ ".join(rows) + r"\end{array}$"


# ----------------------------------------------------------------- SDEs
def _coef(expr: sp.Expr) -> str | None:
    r"""LaTeX of a coefficient in front of ``\,dt`` / ``\,dW``: ``None`` for 0,
    ``""`` for 1, ``"-"`` for -1, sums parenthesised."""
    expr = sp.sympify(expr)
    if expr == 0:
        return None
    if expr == 1:
        return ""
    if expr.could_extract_minus_sign():
        return "-" + (_coef(-expr) or "")
    return TextbookLatexPrinter().parenthesize(expr, PRECEDENCE["Mul"], strict=True)


def _times(coef: str, differential: str) -> str:
    if coef in ("", "-"):
        return coef + differential
    return rf"{coef}\,{differential}"


def sde_lines(state: Sequence[sp.Symbol], drift: Any, noise: Any = None,
              diffusion: Any = None) -> list[str]:
    """One ``d x &= ...`` line per variable (see :func:`sde_latex`)."""
    rows = []
    coeffs = list(drift) + (list(noise) if noise is not None else [])
    # a user's W would read as the Brownian motion: call that B instead
    bm = brownian_letter(set().union(*(_names(e) for e in coeffs)))
    for i, z in enumerate(state):
        terms: list[str] = []
        c = _coef(drift[i])
        if c is not None:
            terms.append(_times(c, "dt"))
        if noise is not None:
            m = noise.shape[1]
            for k in range(m):
                c = _coef(noise[i, k])
                if c is not None:
                    w = bm if m == 1 else f"{bm}_{{{k + 1}}}"
                    terms.append(_times(c, f"d{w}"))
        rhs = ""
        for t in terms:
            if not rhs:
                rhs = t
            elif t.startswith("-"):
                rhs += " - " + t[1:].lstrip()
            else:
                rhs += " + " + t
        rows.append(rf"d{latex(z)} &= {rhs or '0'}")
    if noise is None and diffusion is not None and any(e != 0 for e in diffusion):
        rows.append(r"\sigma\sigma^T &= " + latex(diffusion))
    return rows


def sde_latex(state: Sequence[sp.Symbol], drift: Any, noise: Any = None,
              diffusion: Any = None) -> str:
    r"""The Itô system ``dx = b dt + sigma dW`` as ``$\begin{aligned}...\end{aligned}$``.

    Sums are parenthesised, zero terms are left out and unit coefficients are not
    written; with ``noise=None`` the diffusion matrix is shown instead.

    Examples
    --------
    >>> import sympy as sp
    >>> x = sp.Symbol("x")
    >>> c = sp.Function("c")(x)
    >>> sde_latex([x], sp.Matrix([0]), sp.Matrix([[sp.sqrt(2) * c + 1]]))
    '$\\begin{aligned}dx &= \\left(\\sqrt{2} c(x) + 1\\right)\\,dW\\end{aligned}$'
    """
    return "$\\begin{aligned}" + r" \\ ".join(sde_lines(state, drift, noise, diffusion)) \
        + r"\end{aligned}$"


def sde_markdown(title: str, state: Sequence[sp.Symbol], drift: Any, noise: Any = None,
                 diffusion: Any = None, notes: Sequence[str] = ()) -> str:
    """Markdown: a title line, the system as one display, and notes."""
    rows = sde_lines(state, drift, noise, diffusion)
    out = [title, "", "$$ \\begin{aligned} " + r" \\ ".join(rows) + " \\end{aligned} $$"]
    out += ["", *notes] if notes else []
    return "\n".join(out) + "\n"


def sde_document(title: str, state: Sequence[sp.Symbol], drift: Any, noise: Any = None,
                 diffusion: Any = None) -> str:
    """A standalone LaTeX document with the system."""
    body = r"\begin{align*}" + " \\\\\n".join(sde_lines(state, drift, noise, diffusion)) \
        + r"\end{align*}"
    return document(body, title=title)


def model_markdown(model: Any) -> str:
    """Markdown of an :class:`~symavg.models.sde.SDE`: the Itô system and its circles."""
    notes = [f"${latex(k)}$ has period ${latex(v)}$." for k, v in model.periodic]
    return sde_markdown("Itô SDE", model.state, model.drift, model.noise, model.diffusion, notes)


def switching_markdown(model: Any) -> str:
    r"""Markdown of a :class:`~symavg.models.markov.SwitchingSDE`: the Itô system in each
    chain state and the chain's generator :math:`Q` (rows: from, columns: to)."""
    out = ["**Switching SDE** (a PDMP when there is no noise)", ""]
    for k, lab in enumerate(model.modes):
        noise = None if model.noise is None else model.noise[k]
        rows = sde_lines(model.state, model.drift_in(lab), noise)
        out += [f"In chain state `{lab}`:", "",
                "$$ \\begin{aligned} " + r" \\ ".join(rows) + " \\end{aligned} $$", ""]
    out += [f"Chain states {', '.join(f'`{lab}`' for lab in model.modes)}, generator", "",
            f"$$ Q = {latex(model.chain.Q)} $$", ""]
    out += [f"${latex(k)}$ has period ${latex(v)}$." for k, v in model.periodic]
    return "\n".join(out).rstrip() + "\n"


def deterministic_latex(model: Any) -> str:
    r"""A :class:`~symavg.models.deterministic.DeterministicFlow` as
    :math:`\dot y_i = F_i(y)`, a :class:`~symavg.models.deterministic.DeterministicMap` as
    :math:`y_i \mapsto T_i(y)`, one aligned line per component."""
    flow = type(model).__name__ == "DeterministicFlow"
    rows = [(rf"\dot{{{latex(z)}}} &= " if flow else rf"{latex(z)} &\mapsto ") + latex(e)
            for z, e in zip(model.state, model.rhs)]
    return "$\\begin{aligned}" + r" \\ ".join(rows) + r"\end{aligned}$"


def deterministic_markdown(model: Any) -> str:
    """Markdown of a deterministic flow or map (:func:`deterministic_latex`)."""
    flow = type(model).__name__ == "DeterministicFlow"
    title = "**Deterministic flow** (ODE)" if flow else "**Deterministic map** (one step)"
    body = deterministic_latex(model)[1:-1]
    return f"{title}\n\n$$ {body} $$\n"


def effective_markdown(red: Any) -> str:
    """Markdown of an :class:`~symavg.models.effective.EffectiveModel`: the reduced
    Itô system, what was eliminated, and the number of checks of its derivation."""
    fast = ", ".join(latex(v) for v in red.fast)
    checks = red.steps.checks
    failed = sum(not c.passed for c in checks)
    notes = [f"Reduced model ({red.regime}" + (f", fast ${fast}$ eliminated" if fast else "")
             + f"); derivation: {len(red.steps)} steps, {len(checks)} checks, "
             + ("all passed." if not failed else f"{failed} FAILED.")
             + " Show it with `red.steps`."]
    notes += [f"${latex(k)}$ has period ${latex(v)}$." for k, v in red.periodic]
    if red.noise is None and not red.diffusion.is_zero_matrix:
        notes.append("No closed-form square root of the diffusion: the simulators factor it "
                     "numerically.")
    return sde_markdown("**Effective model**", red.state, red.drift, red.noise, red.diffusion,
                        notes)


# ----------------------------------------------------------------- tables and figures
def html_table(header: Sequence[str], rows: Sequence[Sequence[Any]], caption: str = "",
               notes: Sequence[str] = ()) -> str:
    """An HTML table (cells escaped) with an optional caption and notes below.

    Examples
    --------
    >>> html_table(["a", "b"], [[1, "<2>"]]).count("<td>")
    2
    """
    out = ["<table>"]
    if caption:
        out.append(f"<caption>{html.escape(caption)}</caption>")
    out.append("<thead><tr>" + "".join(f"<th>{html.escape(str(h))}</th>" for h in header)
               + "</tr></thead><tbody>")
    for r in rows:
        out.append("<tr>" + "".join(f"<td>{html.escape(str(c))}</td>" for c in r) + "</tr>")
    out.append("</tbody></table>")
    if notes:
        out.append("<ul>" + "".join(f"<li>{html.escape(n)}</li>" for n in notes) + "</ul>")
    return "\n".join(out)


try:  # a matplotlib Figure that notebooks display without %matplotlib inline
    from matplotlib.figure import Figure as _MplFigure
except ImportError:  # pragma: no cover - matplotlib is a dependency
    _MplFigure = object  # type: ignore[assignment,misc]


class Figure(_MplFigure):  # type: ignore[misc,valid-type]
    """A :class:`matplotlib.figure.Figure` with a ``_repr_png_``, so that a
    notebook shows it whatever the matplotlib backend (no ``%matplotlib inline``
    needed). It is made without pyplot and saved with ``savefig`` as usual.

    Examples
    --------
    >>> fig = Figure(figsize=(2, 2))
    >>> _ = fig.add_subplot(1, 1, 1).plot([0, 1], [0, 1])
    >>> fig._repr_png_()[:4] == b"\\x89PNG"
    True
    """

    def _repr_png_(self) -> bytes:
        buf = io.BytesIO()
        self.savefig(buf, format="png", dpi=100, bbox_inches="tight")
        return buf.getvalue()

    def _repr_html_(self) -> None:  # let the PNG be the rich display
        return None


def as_figure(fig: Any) -> Any:
    """Give an existing matplotlib figure a PNG display (its class becomes :class:`Figure`)."""
    if isinstance(fig, _MplFigure) and not isinstance(fig, Figure):
        fig.__class__ = type("Figure", (Figure, type(fig)), {}) if type(fig) is not _MplFigure \
            else Figure
    return fig


def latex_document(body: str, title: str = "") -> str:
    """Alias of :func:`symavg.report.latex.document` for the display helpers."""
    return document(body, title=title)


# ----------------------------------------------------------------- numeric results
def _g(v: float, fmt: str = ".6g") -> str:
    return format(v, fmt)


def verify_html(rep: Any) -> str:
    """HTML of a ``VerifyReport``: the weak errors, the Wasserstein distances, the
    fitted orders and the notes."""
    rows = [[_g(r.eps, "g"), sp.sstr(r.observable), f"{r.full:.6g} ± {r.full_se:.2g}",
             f"{r.reduced:.6g} ± {r.reduced_se:.2g}", f"{r.error:+.3e} ± {r.error_se:.2e}",
             "yes" if r.resolved else "no"] for r in rep.rows]
    out = [html_table(["eps", "observable", "full", "reduced", "error = full − reduced",
                       "resolved"], rows,
                      caption=f"Weak errors at T = {rep.T} with {rep.paths} paths per model "
                              "(± one standard error)")]
    if rep.distances:
        out.append(html_table(["eps", "variable", "W1(full, reduced)", "noise floor"],
                              [[_g(d.eps, "g"), str(d.variable), f"{d.w1:.3e}",
                                f"{d.noise_floor:.3e}"] for d in rep.distances],
                              caption="Wasserstein-1 distance of the final-time laws"))
    notes = [f"{sp.sstr(f.observable)}: {f.message}" for f in rep.fits.values()]
    notes += [f"{sp.sstr(o)}: time-step check at eps = {min(rep.eps_values):g}: "
              f"mean(dt) − mean(dt/2) = {d:+.2e} ± {se:.1e}" for o, (d, se) in rep.dt_bias.items()]
    notes += [f"note: {n}" for n in rep.notes]
    if notes:
        out.append("<ul>" + "".join(f"<li>{html.escape(n)}</li>" for n in notes) + "</ul>")
    out.append("<p>Figure: <code>rep.plot()</code>.</p>")
    return "\n".join(out)


def ensemble_html(ens: Any) -> str:
    """HTML of an ``Ensemble``: size, step, schemes, and per variable the mean and
    standard deviation at the first and last saved times."""
    import numpy as np

    rows = []
    for i, v in enumerate(ens.state):
        first, last = ens.values[0, i, :], ens.values[-1, i, :]
        rows.append([str(v), ens.schemes.get(v, ""), f"{np.mean(first):.6g}",
                     f"{np.mean(last):.6g} ± {np.std(last, ddof=1) / np.sqrt(last.size):.2g}",
                     f"{np.std(last, ddof=1):.4g}"])
    params = ", ".join(f"{k} = {v:g}" for k, v in ens.params.items())
    caption = (f"Ensemble: {ens.paths} paths, {len(ens.t)} saved times in "
               f"[{ens.t[0]:g}, {ens.t[-1]:g}], dt = {ens.dt:.3g}"
               + (f"; {params}" if params else ""))
    return html_table(["variable", "scheme", "mean at t0", "mean at T (± se)", "std at T"],
                      rows, caption=caption)


def tensor_markdown(res: Any) -> str:
    """Markdown of an ``EffectiveTensor``: the tensor, the method and the checks."""
    import numpy as np

    checks = res.steps.checks
    failed = sum(not c.passed for c in checks)
    if isinstance(res.tensor, np.ndarray):
        body = latex(sp.Matrix(np.round(res.tensor, 12).tolist()))
    else:
        body = latex(sp.Matrix(res.tensor))
    out = [f"**Effective tensor** ({res.method})", "", f"$$ A^* = {body} $$", "",
           f"{len(res.steps)} steps, {len(checks)} checks, "
           + ("all passed." if not failed else f"{failed} FAILED.")
           + " The derivation: `res.steps`."]
    if res.convergence:
        out += ["", "| n | A*_11 | max change |", "| --- | --- | --- |"]
        for n, T, ch in res.convergence:
            out.append(f"| {n} | {T[0, 0]:.10f} | {'' if not np.isfinite(ch) else f'{ch:.3e}'} |")
    return "\n".join(out) + "\n"


def rve_html(study: Any) -> str:
    """HTML of an ``RVEStudy``: per size and boundary condition the statistics of
    ``tr A_L / d``, then the estimate, the bounds and the notes."""
    rows = [[s.size, s.bc, s.count, f"{s.mean:.5f}", f"{s.var:.3e}",
             f"[{s.ci[0]:.5f}, {s.ci[1]:.5f}]"] for s in study.stats]
    lo, hi = study.hashin_shtrikman
    notes = [f"estimate {study.estimate:.5f}, 95% CI [{study.estimate_ci[0]:.5f}, "
             f"{study.estimate_ci[1]:.5f}]; Hashin-Shtrikman [{lo:.5f}, {hi:.5f}]"]
    notes += [f"variance exponent ({bc}): {g:.3f} ± {se:.3f}"
              for bc, (g, se) in study.variance_exponent.items()]
    notes.append("ordering Reuss ≤ N ≤ P ≤ D ≤ Voigt: "
                 + ("held in every sample" if study.ordering_ok else "VIOLATED"))
    notes += list(study.notes)
    if study.failures:
        notes.append(f"{len(study.failures)} sample(s) failed: {study.failures[0][2]}")
    return html_table(["L", "bc", "n", "mean", "var", "95% CI"], rows,
                      caption=f"RVE study of {study.medium!r}", notes=notes)
