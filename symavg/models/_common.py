"""Validation shared by the declarations: state lists, exact numbers, the scale."""

from __future__ import annotations

import sympy as sp

from ..errors import ModelError


def check_no_floats(expr: sp.Basic, where: str) -> None:
    """Refuse floating-point numbers in a declaration (they make answers inexact)."""
    floats = sp.sympify(expr).atoms(sp.Float)
    if floats:
        raise ModelError(
            f"{where} contains the floating-point number {sorted(floats, key=str)[0]}: "
            "declarations are exact. Use sympy.Rational (e.g. Rational(1, 2)) or a parameter "
            "symbol, and pass numbers later in a params={symbol: value} dict."
        )


def reject_strings(value: object, where: str) -> None:
    """Refuse strings: ``sympify`` would evaluate them as Python code."""
    items = value if isinstance(value, list | tuple) else [value]
    for v in items:
        if isinstance(v, list | tuple):
            reject_strings(v, where)
        elif isinstance(v, str):
            raise ModelError(
                f"{where} is the string {v!r}: declarations take SymPy expressions. Build them "
                "with sympy.symbols(...), or read text with sa.parse_expr (a restricted parser)."
            )


def state_tuple(state: object) -> tuple[sp.Symbol, ...]:
    """The state variables as a tuple of distinct Symbols (a named error otherwise)."""
    if isinstance(state, sp.Symbol):
        state = [state]
    try:
        st = tuple(state)  # type: ignore[arg-type]
    except TypeError:
        raise ModelError(f"state must be a list of SymPy symbols; got {state!r}") from None
    for s in st:
        if not isinstance(s, sp.Symbol):
            raise ModelError(f"state variable {s!r} is not a SymPy Symbol; use sympy.symbols(...)")
    if len(set(st)) != len(st):
        dup = [s for s in st if st.count(s) > 1][0]
        raise ModelError(f"state variable {dup} appears twice in state={list(st)}")
    if not st:
        raise ModelError("state is empty: declare at least one variable")
    return st


def check_scale(eps: object, what: str) -> None:
    """The scale parameter must be a SymPy Symbol (positive, by convention)."""
    if not isinstance(eps, sp.Symbol):
        raise ModelError(f"{what}: eps must be a SymPy Symbol (the scale parameter); got {eps!r}")
    if eps.is_positive is not True:
        raise ModelError(
            f"{what}: the scale parameter {eps} must be declared positive: "
            f"sympy.Symbol({eps.name!r}, positive=True)"
        )


def same_scale(model: object, eps: object, where: str) -> sp.Symbol:
    """The scale parameter of ``model``; a named error when ``eps`` is another symbol."""
    own = getattr(model, "eps", None)
    if eps is None:
        if own is None:
            raise ModelError(f"{where}: the model carries no scale parameter; pass eps=")
        return own
    if own is not None and eps != own:
        raise ModelError(
            f"{where}: the model was declared with the scale parameter {own}, not {eps}. The "
            f"scale lives in the declaration: declare the model with eps={eps} (e.g. "
            f"sa.SDE(..., eps={eps})), or drop the eps argument here."
        )
    return eps
