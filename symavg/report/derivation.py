"""The derivation record: ordered, immutable steps, each with its checks.

A :class:`Derivation` is what a teacher hands to a class: the generator split,
the invariant measure, the centering condition, each cell problem with its
solution, the solvability condition and the effective coefficients, each step
with the checks that were done on it (substitution residual, normalisation,
centering). It renders to Markdown, to LaTeX (a fragment or a whole document)
and in a notebook as Markdown, one display per equation (:mod:`symavg.report.display`).
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

    Examples
    --------
    >>> c = Check("L0* rho = 0", True, "symbolic")
    >>> c.to_markdown()
    'check `L0* rho = 0`: passed, symbolic'
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
class Average:
    r"""One average taken by a step, shown as ``label = form = value``.

    Attributes
    ----------
    label : str
        LaTeX of the left side, e.g. ``r"\langle h_{x}\rangle_\rho"`` or
        ``r"F_{x} = \langle c_{x}\rangle_\rho"``.
    integrand : Basic
        The function averaged (a column over the states for a finite fast state).
    form : Basic
        The average written out with the integrand and the measure: the integral
        :math:`\int f\rho\,dy` over the fast domain, the sum :math:`\sum_k \pi_k f_k`
        over a chain's states, or :math:`f` at the slow manifold.
    value : Basic
        What the average is.
    name : str
        LaTeX name of the integrand, used in place of it when the written-out form does
        not fit a line (the integrand is then defined below, ``name = integrand``).
    named : Basic, optional
        ``form`` with the integrand replaced by ``name`` (``None``: no short form).
    defined : bool
        True when the step shows the integrand already (under the label ``name``).

    Examples
    --------
    >>> import sympy as sp
    >>> y = sp.Symbol("y")
    >>> rho = sp.Function("rho")(y)
    >>> a = Average(r"\langle y\rangle_\rho", y, sp.Integral(y * rho, (y, -sp.oo, sp.oo)), 0)
    >>> a.value
    0
    """

    label: str
    integrand: sp.Basic
    form: sp.Basic | None
    value: sp.Basic
    name: str = "f"
    named: sp.Basic | None = None
    defined: bool = False


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
    averages : tuple of Average
        The averages the step takes over the fast law, each shown with its integrand,
        its measure and its value (``<f> = int f rho dy = value``).

    Examples
    --------
    >>> import sympy as sp
    >>> y = sp.Symbol("y")
    >>> s = Step("centering", "The drift has mean zero.", (("h", y),), (Check("<h> = 0", True),))
    >>> s.passed, s.expression("h")
    (True, y)
    """

    name: str
    statement: str
    expressions: tuple[tuple[str, sp.Basic], ...] = ()
    checks: tuple[Check, ...] = ()
    strategy: str = ""
    averages: tuple[Average, ...] = ()

    def __post_init__(self) -> None:
        object.__setattr__(self, "expressions", tuple(self.expressions))
        object.__setattr__(self, "checks", tuple(self.checks))
        object.__setattr__(self, "averages", tuple(self.averages))

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

    def to_markdown(self, heading: str | None = None) -> str:
        r"""The step as Markdown: its name, the statement, one ``$$ ... $$`` display
        per equation (long ones broken over lines) and the checks as a list.

        Parameters
        ----------
        heading : str, optional
            The heading line to use instead of ``**name**``.

        Examples
        --------
        >>> import sympy as sp
        >>> s = Step("centering", "Mean zero.", (("h", sp.Symbol("y")),))
        >>> print(s.to_markdown().rstrip())
        **centering**
        <BLANKLINE>
        Mean zero.
        <BLANKLINE>
        $$ h = y $$
        """
        from .display import step_markdown

        return step_markdown(self, heading)

    def to_latex(self) -> str:
        r"""The step as LaTeX: ``\paragraph``, the statement, ``align*`` and the
        checks in an ``itemize``; every piece of text is escaped."""
        from .display import step_latex

        return step_latex(self)

    def _repr_markdown_(self) -> str:
        return self.to_markdown()

    def _repr_latex_(self) -> str:
        from .display import step_math

        return step_math(self)


@dataclass(frozen=True)
class Derivation:
    """An ordered, immutable sequence of :class:`Step` objects.

    Use :meth:`then` to get a new derivation with one more step; iterate,
    index or look steps up by name with :meth:`find`.

    Parameters
    ----------
    title : str
        The title of the derivation.
    steps : sequence of Step
        The steps, in order.
    origin : dict, optional
        How to rebuild it: ``{"model": the declaration, "fast": the fast variables,
        "order": 0 or 1, "reduced": the EffectiveModel}``; set on the derivations of
        ``sa.reduce`` (used by :meth:`to_notebook`). Not part of equality.

    Examples
    --------
    >>> import sympy as sp
    >>> y = sp.Symbol("y")
    >>> d = Derivation("Centering").then(Step("centering", "Mean zero.", (("h", y),)))
    >>> len(d), d[0].name, d.passed
    (1, 'centering', True)
    """

    title: str
    steps: tuple[Step, ...] = field(default_factory=tuple)
    origin: dict | None = field(default=None, compare=False, repr=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "steps", tuple(self.steps))

    def then(self, *steps: Step) -> Derivation:
        """A new derivation with ``steps`` appended."""
        return Derivation(self.title, self.steps + tuple(steps), self.origin)

    def extend(self, other: Derivation) -> Derivation:
        """A new derivation with the steps of ``other`` appended."""
        return Derivation(self.title, self.steps + other.steps, self.origin or other.origin)

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
        """The derivation as Markdown with one ``$$ ... $$`` display per equation.

        Examples
        --------
        >>> import sympy as sp
        >>> d = Derivation("t").then(Step("centering", "Mean zero.", (("h", sp.Symbol("y")),)))
        >>> print(d.to_markdown().splitlines()[2])
        ## 1. centering
        """
        from .display import derivation_markdown

        return derivation_markdown(self)

    def to_latex(self, standalone: bool = False) -> str:
        r"""The derivation as LaTeX.

        Parameters
        ----------
        standalone : bool
            ``False`` (default): a fragment (``\section*``, ``\subsection*``,
            ``align*``) to ``\input`` into a document that loads amsmath and
            amssymb. ``True``: a whole ``article`` document (amsmath, amssymb,
            geometry, lmodern) with the title, every step and its checks, and a
            summary of the checks, ready for ``pdflatex``: the handout.

        Examples
        --------
        >>> d = Derivation("A_b & c")
        >>> d.to_latex().splitlines()[0]
        '\\section*{A\\_b \\& c}'
        >>> d.to_latex(standalone=True).startswith("\\documentclass")
        True
        """
        from .display import derivation_latex

        return derivation_latex(self, standalone=standalone)

    def to_notebook(self, path: str, model: object = None, *, fast: object = None,
                    order: int = 0) -> object:
        """Write a Jupyter notebook that rebuilds the model, derives it and checks it.

        Cell by cell: the imports, the declaration of the model (generated from it and
        checked by running it), ``red = sa.reduce(model, ...)``, one cell per step of the
        derivation (its display, then ``assert`` on its name and checks) and a last cell that
        compares the coefficients with those of this derivation. Run it with Jupyter, or
        ``jupyter nbconvert --execute --to notebook``.

        Parameters
        ----------
        path : str or path-like
            Where to write the ``.ipynb`` file.
        model : SDE or SwitchingSDE, optional
            The declaration; needed only for a derivation that does not record it (those of
            ``sa.reduce`` do).
        fast : sequence of Symbol, optional
            With ``model``: the fast variables (read off the generator when left out).
        order : int
            With ``model``: 0 (the limit) or 1 (with the O(eps) correction).

        Returns
        -------
        pathlib.Path
            The path written.

        Raises
        ------
        ModelError
            When the derivation records no model and none is given, or the model is neither
            an ``SDE`` nor a ``SwitchingSDE``.

        Examples
        --------
        >>> import sympy as sp, symavg as sa, tempfile, os, json
        >>> x, y = sp.symbols("x y", real=True)
        >>> m = sa.SDE([x, y], [y, -y / sa.epsilon**2], noise=[[0], [sp.sqrt(2) / sa.epsilon]])
        >>> red = sa.reduce(m, fast=[y])
        >>> path = red.steps.to_notebook(os.path.join(tempfile.mkdtemp(), "deriv.ipynb"))
        >>> cells = json.loads(path.read_text())["cells"]
        >>> "".join(cells[5]["source"]).splitlines()[0]
        'red = sa.reduce(model, fast=[y])'
        """
        from .notebook import write_notebook

        origin = self.origin
        if model is not None:
            origin = {"model": model, "fast": tuple(fast or ()), "order": order}
        return write_notebook(self, origin, path)

    def _repr_markdown_(self) -> str:
        return self.to_markdown()

    def _repr_latex_(self) -> str:
        from .display import derivation_math

        return derivation_math(self)

    def __str__(self) -> str:
        return self.to_markdown()
