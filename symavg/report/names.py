r"""Names the derivations write, and the user's names that would clash with them.

The engine writes its own objects into the formulas of a derivation: the density
:math:`\rho(y)` of the invariant measure (:math:`\rho_k` for a product), the test
function :math:`v_0`, the correctors :math:`\Phi_x`, the time :math:`t`, the
scale :math:`\varepsilon` and, in the averages, the integrands :math:`h_x`, :math:`c_x`
and the weights :math:`\pi_k`. A symbol or function of the user's model with one of
these names would print exactly like the engine's object, so :func:`check_names`
refuses it (at ``sa.reduce``) with the name and the fix. Two different symbols with
the same name (``Symbol("epsilon")`` next to ``sa.epsilon``, which is positive) print
the same too and are refused as well.

Labels (``D``, ``F``, ``A``, ``b``, ``a``, ``S``, ``m``, ``Q``, :math:`\sigma`) stand on
the left of an equation only; when a step's expressions hold a user's symbol of that
name, the display writes the label in another face instead (:data:`LABEL_ALTERNATIVES`;
see :func:`symavg.report.display.step_displays`), and an SDE whose coefficients use
``W`` is displayed with the Brownian motion :math:`B`.
"""

from __future__ import annotations

import re
from collections.abc import Iterable

import sympy as sp
from sympy.core.function import AppliedUndef

from ..errors import ModelError

__all__ = ["LABEL_ALTERNATIVES", "RESERVED", "check_names", "fresh_name", "user_names"]

#: engine names written inside formulas: a pattern and what the engine means by it
RESERVED: tuple[tuple[str, str], ...] = (
    (r"rho(_\d+)?", "the density of the invariant measure"),
    (r"v_0", "the test function of the expansion"),
    (r"Phi(_.*)?", "a corrector (the solution of a cell problem)"),
    (r"t", "the time"),
    (r"pi_.+", "a weight of the chain's stationary law"),
    (r".+\^\*", "the value of a fast variable at the slow manifold"),
)

#: label letters and the face they are written in when a user's symbol has their name
LABEL_ALTERNATIVES: dict[str, str] = {
    "sigma": r"\Sigma", "D": r"\mathcal{D}", "F": r"\mathcal{F}", "A": r"\mathcal{A}",
    "b": r"\mathbf{b}", "a": r"\mathbf{a}", "S": r"\mathcal{S}", "m": r"\mathbf{m}",
    "Q": r"\mathcal{Q}",
}


def user_names(exprs: Iterable[object]) -> dict[str, set[sp.Basic]]:
    """The names of the symbols and undefined functions in ``exprs``, each with the
    distinct objects of that name (a symbol per set of assumptions, a function class)."""
    out: dict[str, set[sp.Basic]] = {}
    for e in exprs:
        if not isinstance(e, sp.Basic | sp.MatrixBase):
            e = sp.sympify(e)
        for s in e.atoms(sp.Symbol):
            if not isinstance(s, sp.Dummy):
                out.setdefault(s.name, set()).add(s)
        for f in e.atoms(AppliedUndef):
            out.setdefault(type(f).__name__, set()).add(f.func)
    return out


def check_names(exprs: Iterable[object], slow: Iterable[sp.Symbol] = (),
                eps: sp.Symbol | None = None) -> None:
    """Refuse the user's names that would print like the engine's objects.

    Parameters
    ----------
    exprs : iterable of Basic
        The model's state, coefficients and scale.
    slow : iterable of Symbol
        The slow variables (the integrands ``h_x``, ``c_x`` of the averages are named after
        them).
    eps : Symbol, optional
        The scale parameter (a different symbol printed :math:`\\varepsilon` is refused).

    Raises
    ------
    ModelError
        Naming the symbol, what the engine writes under that name, and the fix.

    Examples
    --------
    >>> import sympy as sp, symavg as sa
    >>> x = sp.Symbol("x")
    >>> try:
    ...     check_names([x + sp.Symbol("rho")])
    ... except sa.ModelError as exc:
    ...     print(str(exc)[:60])
    the model has a symbol or function named 'rho', which the de
    """
    exprs = list(exprs)
    names = user_names(exprs + ([eps] if eps is not None else []))
    for name, objs in names.items():
        if len(objs) > 1:
            kinds = "; ".join(sorted(_describe(o) for o in objs))
            raise ModelError(
                f"the model has {len(objs)} different objects named {name!r} ({kinds}): they "
                "print the same in the derivation but SymPy treats them as unrelated. Use one "
                "symbol (sa.epsilon for the scale parameter, or the same assumptions "
                "everywhere), or rename one of them."
            )
    if eps is not None:
        for name in names:
            if name in ("epsilon", "varepsilon", "eps") and eps not in names[name]:
                raise ModelError(
                    f"the model has a symbol {name!r} that is not its scale parameter {eps}: "
                    "both would print as a varepsilon. Use the model's scale parameter "
                    "(sa.epsilon) or rename the symbol."
                )
    reserved = list(RESERVED)
    for x in slow:
        reserved += [(re.escape(f"h_{x}") + "(_.*)?",
                      f"the fast forcing of {x} in the centering step"),
                     (re.escape(f"H_{x}"), f"the centred forcing of {x} at a nested level"),
                     (re.escape(f"c_{x}") + ".*", f"a coefficient of the effective operator "
                                                  f"(derivatives in {x})")]
    for name in names:
        for pattern, meaning in reserved:
            if re.fullmatch(pattern, name):
                raise ModelError(
                    f"the model has a symbol or function named {name!r}, which the derivation "
                    f"uses for {meaning}: the two would print the same. Rename it (e.g. "
                    f"'{name}_user' or '{_other(name)}')."
                )


def _other(name: str) -> str:
    return {"rho": "r", "t": "tau", "v_0": "w_0"}.get(name.split("_")[0] if name != "v_0"
                                                     else name, name[0].upper() + name[1:])


def _describe(obj: sp.Basic) -> str:
    if isinstance(obj, sp.Symbol):
        assumptions = {k: v for k, v in obj.assumptions0.items()
                       if k in ("real", "positive", "nonnegative", "integer", "negative")}
        return f"Symbol with {assumptions or 'no assumptions'}"
    return f"function {obj}"


def fresh_name(base: str, taken: Iterable[str]) -> str:
    r"""``base``, or the first of its variants (``bhat``, ``btilde``, ``bbar``, ``b_1``,
    ``b_2``, ...; SymPy prints them :math:`\hat b`, :math:`\tilde b`, ...) that is not
    in ``taken``: the name of an object the derivation introduces, kept distinct from the
    user's names.

    Parameters
    ----------
    base : str
        The preferred name.
    taken : iterable of str
        The names already used (e.g. ``user_names(exprs)``).

    Returns
    -------
    str

    Examples
    --------
    >>> fresh_name("g", {"x"}), fresh_name("g", {"g"}), fresh_name("g", {"g", "ghat"})
    ('g', 'ghat', 'gtilde')
    """
    taken = set(taken)
    for cand in (base, f"{base}hat", f"{base}tilde", f"{base}bar"):
        if cand not in taken:
            return cand
    k = 1
    while f"{base}_{k}" in taken:
        k += 1
    return f"{base}_{k}"
