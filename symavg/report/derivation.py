"""The derivation record: ordered, immutable steps, each with its checks.

A :class:`Derivation` is what a teacher hands to a class: the generator split,
the invariant measure, the centering condition, each cell problem with its
solution, the solvability condition and the effective coefficients, each step
with the checks that were done on it (substitution residual, normalisation,
centering). It renders to Markdown, to LaTeX, and in a notebook through
``_repr_latex_``.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field

import sympy as sp


@dataclass(frozen=True)
class Check:
    """One check done on a step.

    Attributes
    ----------
    name : str
        What was checked, e.g. ``"L0* rho = 0"`` or ``"-L0 Phi - h = 0"``.
    passed : bool
        Whether it held.
    method : str
        ``"symbolic"`` (simplified to zero exactly) or ``"numeric"`` (spot
        check at random parameter values, to the tolerance in ``detail``).
    detail : str
        Free text: the residual, the tolerance, the sample points.
    """

    name: str
    passed: bool
    method: str = "symbolic"
    detail: str = ""

    def to_markdown(self) -> str:
        mark = "passed" if self.passed else "FAILED"
        extra = f" ({self.detail})" if self.detail else ""
        return f"check `{self.name}`: {mark}, {self.method}{extra}"


@dataclass(frozen=True)
class Step:
    """One step of a derivation.

    Attributes
    ----------
    name : str
        Short name: ``"generator split"``, ``"invariant measure"``,
        ``"centering"``, ``"cell problem"``, ``"solvability"``,
        ``"effective coefficients"``.
    statement : str
        One or two sentences in words (may contain ``$...$`` LaTeX).
    expressions : tuple of (label, expression)
        The labelled SymPy objects of the step. The label is LaTeX.
    checks : tuple of Check
        The checks done on this step.
    strategy : str
        The strategy that produced the step (empty when not applicable).
    """

    name: str
    statement: str
    expressions: tuple[tuple[str, sp.Basic], ...] = ()
    checks: tuple[Check, ...] = ()
    strategy: str = ""

    def __post_init__(self) -> None:
        object.__setattr__(self, "expressions", tuple(self.expressions))
        object.__setattr__(self, "checks", tuple(self.checks))

    @property
    def passed(self) -> bool:
        """True when every check of the step passed."""
        return all(c.passed for c in self.checks)

    def expression(self, label: str) -> sp.Basic:
        """The expression with the given label."""
        for lab, expr in self.expressions:
            if lab == label:
                return expr
        raise KeyError(label)

    def to_markdown(self) -> str:
        head = f"**{self.name}**"
        if self.strategy:
            head += f" _(strategy: {self.strategy})_"
        lines = [head, "", self.statement, ""]
        for label, expr in self.expressions:
            lines.append(f"$$ {label} = {_latex(expr)} $$")
            lines.append("")
        for c in self.checks:
            lines.append(f"- {c.to_markdown()}")
        return "\n".join(lines).rstrip() + "\n"

    def to_latex(self) -> str:
        head = rf"\paragraph{{{_escape(self.name)}}}"
        if self.strategy:
            head += rf" \emph{{(strategy: {_escape(self.strategy)})}}"
        lines = [head, _escape_text(self.statement)]
        if self.expressions:
            lines.append(r"\begin{align*}")
            body = [rf"{label} &= {_latex(expr)}" for label, expr in self.expressions]
            lines.append(" \\\\\n".join(body))
            lines.append(r"\end{align*}")
        if self.checks:
            lines.append(r"\begin{itemize}")
            for c in self.checks:
                mark = "passed" if c.passed else "FAILED"
                detail = f" ({_escape(c.detail)})" if c.detail else ""
                lines.append(
                    rf"\item check \texttt{{{_escape(c.name)}}}: {mark}, {c.method}{detail}"
                )
            lines.append(r"\end{itemize}")
        return "\n".join(lines) + "\n"


@dataclass(frozen=True)
class Derivation:
    """An ordered, immutable sequence of :class:`Step` objects.

    Use :meth:`then` to get a new derivation with one more step; iterate,
    index or look steps up by name with :meth:`find`.
    """

    title: str
    steps: tuple[Step, ...] = field(default_factory=tuple)

    def __post_init__(self) -> None:
        object.__setattr__(self, "steps", tuple(self.steps))

    def then(self, *steps: Step) -> Derivation:
        """A new derivation with ``steps`` appended."""
        return Derivation(self.title, self.steps + tuple(steps))

    def extend(self, other: Derivation) -> Derivation:
        """A new derivation with the steps of ``other`` appended."""
        return Derivation(self.title, self.steps + other.steps)

    def __iter__(self) -> Iterator[Step]:
        return iter(self.steps)

    def __len__(self) -> int:
        return len(self.steps)

    def __getitem__(self, i: int) -> Step:
        return self.steps[i]

    def find(self, name: str) -> list[Step]:
        """All steps whose name is ``name``."""
        return [s for s in self.steps if s.name == name]

    @property
    def checks(self) -> tuple[Check, ...]:
        """Every check of every step, in order."""
        return tuple(c for s in self.steps for c in s.checks)

    @property
    def passed(self) -> bool:
        """True when every check in the derivation passed."""
        return all(c.passed for c in self.checks)

    def to_markdown(self) -> str:
        """The derivation as Markdown with ``$$ ... $$`` display math."""
        out = [f"# {self.title}", ""]
        for i, step in enumerate(self.steps, 1):
            out.append(f"## {i}. {step.name}")
            out.append("")
            out.append(step.to_markdown())
        return "\n".join(out)

    def to_latex(self) -> str:
        """The derivation as a LaTeX fragment (``\\section*`` and ``align*``)."""
        out = [rf"\section*{{{_escape(self.title)}}}"]
        for step in self.steps:
            out.append(step.to_latex())
        return "\n".join(out)

    def _repr_latex_(self) -> str:
        rows = [rf"\text{{{_escape(self.title)}}}"]
        for i, step in enumerate(self.steps, 1):
            mark = r"\checkmark" if step.passed else r"\times"
            rows.append(rf"\text{{{i}. {_escape(step.name)}}}\ {mark}")
            for label, expr in step.expressions:
                rows.append(rf"\quad {label} = {_latex(expr)}")
        return "$\\displaystyle \\begin{array}{l}" + r" \\ ".join(rows) + r"\end{array}$"

    def __str__(self) -> str:
        return self.to_markdown()


def _latex(expr: object) -> str:
    if isinstance(expr, sp.Basic | sp.MatrixBase):
        return sp.latex(expr)
    return sp.latex(sp.sympify(expr))


def _escape(text: str) -> str:
    for a, b in (("\\", r"\textbackslash{}"), ("_", r"\_"), ("&", r"\&"), ("%", r"\%"),
                 ("#", r"\#")):
        text = text.replace(a, b)
    return text


def _escape_text(text: str) -> str:
    """Escape prose but keep ``$...$`` math untouched."""
    parts = text.split("$")
    for i in range(0, len(parts), 2):
        parts[i] = _escape(parts[i])
    return "$".join(parts)
