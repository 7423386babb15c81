"""Whether the numeric strategies are active: parameter values and grid size.

The expansion engine opens :func:`numeric_parameters` when ``reduce`` is given
``params=`` and no closed form exists (or ``method="numeric"``); inside it the
registries of :mod:`~symavg.derive.invariant` and :mod:`~symavg.derive.poisson`
try only the strategies registered with ``numeric=True``
(:mod:`symavg.derive.numeric_strategies`). Outside it those decline.
"""

from __future__ import annotations

import contextlib
import contextvars
from collections.abc import Iterator, Mapping
from dataclasses import dataclass

import sympy as sp


@dataclass(frozen=True)
class NumericContext:
    """Parameter values (as SymPy Floats), grid points per fast dimension, slow variables."""

    params: dict
    n: int
    slow: tuple[sp.Symbol, ...] = ()


_CONTEXT: contextvars.ContextVar[NumericContext | None] = contextvars.ContextVar(
    "symavg_numeric_context", default=None)


@contextlib.contextmanager
def numeric_parameters(params: Mapping, n: int,
                       slow: tuple[sp.Symbol, ...] = ()) -> Iterator[NumericContext]:
    """Use the numeric strategies, with these parameter values and ``n`` points per fast
    dimension, for the duration of the block."""
    ctx = NumericContext({sp.sympify(k): sp.Float(v) for k, v in params.items()}, int(n),
                         tuple(slow))
    token = _CONTEXT.set(ctx)
    try:
        yield ctx
    finally:
        _CONTEXT.reset(token)


def current() -> NumericContext | None:
    """The active numeric context, or None."""
    return _CONTEXT.get()


def skip(fn: object) -> bool:
    """True when the registry must not try ``fn`` now (closed forms inside a numeric
    context, numeric strategies outside one)."""
    return (current() is not None) != bool(getattr(fn, "numeric", False))
