r"""LaTeX for derivations: textbook notation, escaping, line breaking, documents.

* :func:`latex` prints a SymPy object the way a textbook writes it:
  :math:`\varepsilon` for the symbol named ``epsilon``, primes for derivatives of
  functions of one variable (``c'(x)``), :math:`\partial_{x}` for partial
  derivatives of functions of several variables (their arguments are left out),
  ``c(x)`` without ``\left( \right)``, a 1x1 matrix as its entry and
  :math:`\tfrac12` for small rational coefficients.
* :func:`escape` and :func:`escape_prose` make plain text (names, strategies,
  check details) safe for LaTeX; :func:`escape_prose` leaves ``$...$`` math alone.
* :func:`equation_lines` breaks a long labelled equation into lines (vectors
  and matrices entry by entry, sums term by term) so that it fits a page.
* :func:`document` wraps a body in a complete ``article`` document that
  compiles with ``pdflatex`` (amsmath, amssymb, geometry, lmodern).
"""

from __future__ import annotations

import functools
import re
from collections.abc import Iterable

import sympy as sp
from sympy.core.function import AppliedUndef
from sympy.printing.latex import LatexPrinter
from sympy.printing.precedence import PRECEDENCE

__all__ = ["Namer", "document", "equation_lines", "escape", "escape_prose", "latex", "shorten",
           "visual_width"]

#: visual width (see :func:`visual_width`) above which a displayed equation is broken
LINE_WIDTH = 62.0


class TextbookLatexPrinter(LatexPrinter):
    r"""SymPy's LaTeX printer with textbook conventions (see the module docstring).

    Examples
    --------
    >>> import sympy as sp
    >>> x = sp.Symbol("x")
    >>> c = sp.Function("c")
    >>> TextbookLatexPrinter().doprint(sp.Derivative(c(x), x) * sp.Symbol("epsilon"))
    "\\varepsilon c'(x)"
    """

    def _print_Symbol(self, expr: sp.Symbol, style: str = "plain") -> str:
        if expr.name in ("epsilon", "varepsilon"):
            return r"\varepsilon"
        return super()._print_Symbol(expr, style=style)

    def _function_name(self, func: sp.Expr) -> str:
        return self._hprint_Function(func.func.__name__)

    def _print_Function(self, expr: sp.Function, exp: str | None = None) -> str:
        if isinstance(expr, AppliedUndef):
            args = ", ".join(self._print(a) for a in expr.args)
            out = f"{self._function_name(expr)}({args})"
            return f"{out}^{{{exp}}}" if exp is not None else out
        return super()._print_Function(expr, exp)

    def _print_Derivative(self, expr: sp.Derivative) -> str:
        f = expr.expr
        if isinstance(f, AppliedUndef):
            name = self._function_name(f)
            if len(f.args) == 1 and f.args[0].is_Symbol:
                n = int(sum(c for _, c in expr.variable_count))
                marks = "'" * n if n <= 3 else f"^{{({n})}}"
                return f"{name}{marks}({self._print(f.args[0])})"
            parts = []
            for v, c in expr.variable_count:
                sub = rf"\partial_{{{self._print(v)}}}"
                parts.append(sub if c == 1 else f"{sub}^{{{c}}}")
            return "".join(parts) + " " + name
        return super()._print_Derivative(expr)

    def _print_Mul(self, expr: sp.Mul) -> str:
        c, rest = expr.as_coeff_Mul()
        if (c.is_Rational and not c.is_Integer and rest is not sp.S.One
                and abs(c.p) < 10 and c.q < 10 and not rest.is_Number
                and sp.fraction(rest)[1] == 1):
            sign = "- " if c < 0 else ""
            body = self.parenthesize(rest, PRECEDENCE["Mul"], strict=True)
            return rf"{sign}\tfrac{{{abs(c.p)}}}{{{c.q}}} {body}"
        return super()._print_Mul(expr)

    def _print_MatrixBase(self, expr: sp.MatrixBase) -> str:
        if expr.shape == (1, 1):
            return self._print(expr[0, 0])
        return super()._print_MatrixBase(expr)


def latex(expr: object) -> str:
    r"""LaTeX of a SymPy object (or anything :func:`sympy.sympify` accepts) in
    textbook notation.

    Examples
    --------
    >>> import sympy as sp
    >>> x = sp.Symbol("x")
    >>> latex(sp.Matrix([[x / 2]]))
    '\\tfrac{1}{2} x'
    >>> latex(sp.Symbol("epsilon") ** 2)
    '\\varepsilon^{2}'
    """
    if not isinstance(expr, sp.Basic | sp.MatrixBase):
        expr = sp.sympify(expr)
    if isinstance(expr, sp.Basic):   # immutable: the displays print the same parts often
        return _latex_basic(expr)
    return TextbookLatexPrinter().doprint(expr)


@functools.lru_cache(maxsize=4096)
def _latex_basic(expr: sp.Basic) -> str:
    return TextbookLatexPrinter().doprint(expr)


_SPECIAL = {"\\": r"\textbackslash{}", "{": r"\{", "}": r"\}", "$": r"\$", "&": r"\&",
            "#": r"\#", "^": r"\textasciicircum{}", "_": r"\_", "%": r"\%",
            "~": r"\textasciitilde{}", "<": r"\textless{}", ">": r"\textgreater{}",
            "|": r"\textbar{}"}


def escape(text: str) -> str:
    r"""Plain text made safe for LaTeX: every special character is escaped.

    Examples
    --------
    >>> escape("sigma sigma^T = A_1 & 50%")
    'sigma sigma\\textasciicircum{}T = A\\_1 \\& 50\\%'
    """
    return "".join(_SPECIAL.get(ch, ch) for ch in str(text))


def escape_prose(text: str) -> str:
    r"""Escape the prose of ``text`` and keep its ``$...$`` math as it is.

    Examples
    --------
    >>> escape_prose("the mean $m_1$ of y_1")
    'the mean $m_1$ of y\\_1'
    """
    parts = str(text).split("$")
    if len(parts) % 2 == 0:  # an unbalanced $: treat it as text
        return escape(text)
    for i in range(0, len(parts), 2):
        parts[i] = escape(parts[i])
    return "$".join(parts)


_CMD = re.compile(r"\\([A-Za-z]+|.)")
_OPERATORS = frozenset({"sin", "cos", "tan", "cot", "sec", "csc", "sinh", "cosh", "tanh",
                        "coth", "exp", "log", "ln", "arcsin", "arccos", "arctan", "min", "max",
                        "det"})


def visual_width(tex: str) -> float:
    r"""A rough width of typeset math, in characters of body text.

    Fractions count as their wider part, sub- and superscripts as 0.7 of their
    content, ``\left``/``\right`` and spacing commands as nothing.

    Examples
    --------
    >>> visual_width(r"\frac{a + b}{c}") < visual_width("a + b + c")
    True
    """
    width, _ = _width(tex, 0)
    return width


def _group(tex: str, i: int) -> tuple[float, int]:
    """Width of the brace group or single token at ``i``; returns (width, next index)."""
    while i < len(tex) and tex[i] == " ":
        i += 1
    if i >= len(tex):
        return 0.0, i
    if tex[i] == "{":
        return _width(tex, i + 1, stop="}")
    if tex[i] == "\\":
        m = _CMD.match(tex, i)
        return 1.0, m.end() if m else i + 1
    return 1.0, i + 1


def _width(tex: str, i: int, stop: str | None = None) -> tuple[float, int]:
    w = 0.0
    while i < len(tex):
        ch = tex[i]
        if stop is not None and ch == stop:
            return w, i + 1
        if ch == "{":
            g, i = _width(tex, i + 1, stop="}")
            w += g
        elif ch in "^_":
            g, i = _group(tex, i + 1)
            w += 0.7 * g
        elif ch == "\\":
            m = _CMD.match(tex, i)
            name = m.group(1) if m else ""
            i = m.end() if m else i + 1
            if name in ("frac", "tfrac", "dfrac"):
                a, i = _group(tex, i)
                b, i = _group(tex, i)
                w += (0.75 if name == "tfrac" else 1.0) * max(a, b) + 0.5
            elif name in ("left", "right", "bigl", "bigr", "Bigl", "Bigr"):
                if i < len(tex) and tex[i] == "\\":
                    m2 = _CMD.match(tex, i)
                    i = m2.end() if m2 else i + 1
                else:
                    i += 1
                w += 0.6
            elif name in (",", ";", "!", " ", "quad", "qquad", "displaystyle", "mathcal",
                          "mathrm", "operatorname", "text", "begin", "end", "limits"):
                if name in ("begin", "end"):
                    _, i = _group(tex, i)
                w += {"quad": 1.0, "qquad": 2.0}.get(name, 0.2)
            elif name == "sqrt":
                g, i = _group(tex, i)
                w += g + 1.0
            elif name in _OPERATORS:  # upright names typeset letter by letter
                w += len(name)
            else:
                w += 1.0
        elif ch in "+-=<>":
            w += 2.0
            i += 1
        elif ch == " ":
            i += 1
        else:
            w += 1.0
            i += 1
    return w, i


def _index_label(label: str, index: str) -> str:
    simple = re.fullmatch(r"\\?[A-Za-z]+", label.strip()) is not None
    return f"{label}_{{{index}}}" if simple else rf"\left({label}\right)_{{{index}}}"


def _terms(expr: sp.Expr) -> list[sp.Expr]:
    return list(expr.as_ordered_terms()) if isinstance(expr, sp.Add) else [expr]


def _signed(term: sp.Expr, first: bool) -> str:
    if term.could_extract_minus_sign():
        return "- " + latex(-term)
    text = latex(term)
    return text if first else "+ " + text


def _pack(pieces: list[str], width: float, first_width: float) -> list[str]:
    """Greedy packing of signed term strings into lines no wider than ``width``."""
    lines: list[str] = []
    cur: list[str] = []
    cur_w, limit = 0.0, first_width
    for p in pieces:
        w = visual_width(p)
        if cur and cur_w + w > limit:
            lines.append(" ".join(cur))
            cur, cur_w, limit = [], 0.0, width
        cur.append(p)
        cur_w += w
    if cur:
        lines.append(" ".join(cur))
    return lines


def _broken_scalar(expr: sp.Expr, width: float) -> list[str]:
    """The right-hand side of a long scalar as lines (without alignment markers)."""
    pieces: list[str] = []
    for k, term in enumerate(_terms(expr)):
        text = _signed(term, k == 0)
        if visual_width(text) <= width:
            pieces.append(text)
            continue
        # one long term: pull the numerator sum out and break it
        sign = "- " if term.could_extract_minus_sign() else ("" if k == 0 else "+ ")
        t = -term if term.could_extract_minus_sign() else term
        num, den = sp.fraction(sp.together(t))
        inner = sp.expand(num) if not isinstance(num, sp.Add) else num
        if not isinstance(inner, sp.Add):
            pieces.append(text)
            continue
        lead = rf"{sign}\frac{{1}}{{{latex(den)}}}\Bigl(" if den != 1 else rf"{sign}\Bigl("
        sub = [_signed(s, j == 0) for j, s in enumerate(_terms(inner))]
        sub[0] = lead + sub[0]
        sub[-1] = sub[-1] + r"\Bigr)"
        pieces.extend(sub)
    return _pack(pieces, width, width)


#: a part of a too-wide expression is given a name when it has more operations than this
#: (``sympy.count_ops``) and is wider than half a line
NAME_OPS = 12
#: the letters of the names of long parts, the first one the expression does not use
NAME_LETTERS = ("K", "R", "M", "N", "P", "Q", "T")


class Namer:
    r"""Names for the long parts of displayed expressions: :math:`K_1, K_2, \dots`.

    The letter is the first of :data:`NAME_LETTERS` that no symbol or function of the
    expressions shown is called (``K``, ``K_1``, ...), so a name never clashes with a
    user's symbol; one :class:`Namer` per step keeps the names of a step distinct.

    Examples
    --------
    >>> import sympy as sp
    >>> n = Namer([sp.Symbol("K")])
    >>> n.new(sp.Symbol("x") + 1)
    R_1
    """

    def __init__(self, exprs: Iterable[object] = ()) -> None:
        used: set[str] = set()
        for e in exprs:
            if isinstance(e, sp.Basic | sp.MatrixBase):
                used |= {str(a) for a in e.free_symbols}
                used |= {type(f).__name__ for f in e.atoms(AppliedUndef)}
        self.letter = next((c for c in NAME_LETTERS
                            if not any(u == c or u.startswith(c + "_") for u in used)),
                           "Z")
        self.defs: list[tuple[sp.Symbol, sp.Expr]] = []
        self.inside = 0  # depth of definitions being written (``where`` only at the top)

    def new(self, part: sp.Expr) -> sp.Symbol:
        """A fresh name for ``part`` (the same name for the same part)."""
        for name, e in self.defs:
            if e == part:
                return name
        name = sp.Symbol(f"{self.letter}_{len(self.defs) + 1}")
        self.defs.append((name, part))
        return name


def _long(part: sp.Expr, width: float) -> bool:
    return (not part.is_Atom and sp.count_ops(part) > NAME_OPS
            and visual_width(latex(part)) > width / 2)


def _collected(e: sp.Expr) -> sp.Expr:
    """A long polynomial sum collected in its parameters (the symbols of degree at most 2)
    or in one of them, when that leaves at most 4 terms; ``e`` otherwise."""
    if not isinstance(e, sp.Add):
        return e
    syms = sorted(e.free_symbols, key=str)
    try:
        poly = sp.Poly(e, *syms)
    except sp.PolynomialError:
        return e
    if poly.domain.is_EX or poly.domain.is_EXRAW:
        return e
    params = [v for v, d in zip(syms, poly.degree_list()) if d <= 2]
    best, count = e, len(e.args)
    for group in ([params] if len(params) > 1 else []) + [[v] for v in params]:
        c = sp.collect(e, group)
        n = len(c.args) if isinstance(c, sp.Add) else 1
        if n < count and n <= 4:
            best, count = c, n
            if len(group) > 1:   # collected in all the parameters: the textbook form
                break
    return best


def shorten(expr: sp.Expr, namer: Namer, width: float = LINE_WIDTH) -> sp.Expr:
    r"""``expr`` with its long parts replaced by names (see :class:`Namer`).

    The rule: when an expression is wider than ``width``, the numerator and the
    denominator of each of its terms, the factors of a product, the bases of powers
    and the arguments of functions that have more than :data:`NAME_OPS` operations
    and are wider than half a line become names :math:`K_k`; ``namer.defs`` holds
    what they stand for (collected in the parameters when that shortens them).
    Sums of short terms are left to be broken between terms.

    Examples
    --------
    >>> import sympy as sp
    >>> x, k = sp.symbols("x k")
    >>> n = Namer()
    >>> shorten(sum((k + i) * x**i for i in range(12)) / (1 + x**2), n)
    K_1/(x**2 + 1)
    >>> n.defs[0][1].coeff(x, 11)
    k + 11
    """
    if visual_width(latex(expr)) <= width:
        return expr
    if isinstance(expr, sp.Add):
        return sp.Add(*[shorten(t, namer, width) for t in expr.args])
    return _shorten_term(expr, namer, width)


def _shorten_term(e: sp.Expr, namer: Namer, width: float) -> sp.Expr:
    if isinstance(e, sp.Add):
        if not _long(e, width):
            return e
        if e.could_extract_minus_sign():  # K for -K: one name for both signs
            return -namer.new(_collected(-e))
        return namer.new(_collected(e))
    if e.is_Atom:
        return e
    if isinstance(e, sp.Mul):
        num, den = sp.fraction(e)
        if den != 1:
            return _shorten_term(num, namer, width) / _shorten_term(den, namer, width)
        return sp.Mul(*[_shorten_term(f, namer, width) for f in e.args])
    if isinstance(e, sp.Pow):
        return sp.Pow(_shorten_term(e.base, namer, width), e.exp)
    if isinstance(e, sp.Function) and e.args:
        return e.func(*[_shorten_term(a, namer, width) if _long(a, width) else a
                        for a in e.args])
    return e


def equation_lines(label: str, expr: object, width: float = LINE_WIDTH,
                   namer: Namer | None = None) -> list[list[str]]:
    r"""A labelled equation as displays that each fit ``width``.

    Returns a list of displays; each display is a list of lines, the first of
    the form ``label &= ...`` and the others ``&\quad ...`` (the ``&`` marks
    the alignment point of ``align*`` / ``aligned``). Short equations give one
    display of one line; vectors and matrices with long entries give one line
    per entry, ``label_{i}`` or ``(label)_{ij}``; long sums are broken between
    terms, and a long fraction has its numerator broken inside ``\Bigl( \Bigr)``.

    Examples
    --------
    >>> import sympy as sp
    >>> x = sp.Symbol("x")
    >>> equation_lines("F", sp.Matrix([[x]]))
    [['F &= x']]
    >>> len(equation_lines("F", sum(x**k for k in range(60)))[0]) > 1
    True
    """
    if isinstance(expr, sp.MatrixBase) and expr.shape == (1, 1):
        expr = expr[0, 0]
    whole = latex(expr)
    if visual_width(whole) + visual_width(label) + 3 <= width:
        return [[f"{label} &= {whole}"]]
    namer = namer if namer is not None else Namer([expr])
    if isinstance(expr, sp.MatrixBase):
        out: list[list[str]] = []
        rows, cols = expr.shape
        symmetric = rows == cols and expr.is_symmetric()
        for i in range(rows):
            for j in range(cols):
                if symmetric and j < i:
                    continue
                index = f"{i + 1}" if cols == 1 else (f"{j + 1}" if rows == 1 else
                                                      f"{i + 1}{j + 1}")
                out += equation_lines(_index_label(label, index), expr[i, j], width, namer)
        return out
    expr = sp.sympify(expr)
    start = len(namer.defs)
    short = shorten(expr, namer, width - visual_width(label) - 3)
    end = len(namer.defs)
    lines = _broken_scalar(short, width - 4)
    out = [[f"{label} &= {lines[0]}"] + [rf"&\quad {ln}" for ln in lines[1:]]]
    # the names this equation introduced, defined below it (each definition names its own
    # long parts in turn and defines them after itself)
    for k in range(start, end):
        name, part = namer.defs[k]
        lead = r"\text{where } " if k == start and not label.startswith(r"\text{where}") \
            and not namer.inside else ""
        namer.inside += 1
        out += equation_lines(lead + latex(name), part, width, namer)
        namer.inside -= 1
    return out


PREAMBLE = r"""\documentclass[11pt]{article}
\usepackage[T1]{fontenc}
\usepackage[utf8]{inputenc}
\usepackage{lmodern}
\usepackage[a4paper,margin=2.2cm]{geometry}
\usepackage{amsmath,amssymb}
\allowdisplaybreaks
\setlength{\parindent}{0pt}
\setlength{\parskip}{0.5em}
\emergencystretch=2em
\sloppy
"""


def document(body: str, title: str = "", preamble: Iterable[str] = ()) -> str:
    r"""A complete LaTeX document around ``body``.

    Parameters
    ----------
    body : str
        LaTeX for the inside of ``document``.
    title : str
        Plain text (escaped here) for ``\title``; no title block when empty.
    preamble : iterable of str
        Extra preamble lines.

    Returns
    -------
    str
        ``\documentclass`` to ``\end{document}``, for ``pdflatex``.

    Examples
    --------
    >>> tex = document("Hello.", title="A & B")
    >>> tex.startswith(r"\documentclass") and r"\title{A \& B}" in tex
    True
    """
    head = PREAMBLE + "".join(f"{line}\n" for line in preamble)
    top = ""
    if title:
        head += rf"\title{{{escape(title)}}}" + "\n" + r"\date{}" + "\n"
        top = r"\maketitle" + "\n"
    return head + r"\begin{document}" + "\n" + top + body.rstrip("\n") + "\n" \
        + r"\end{document}" + "\n"
