"""Whether the numeric strategies are active: parameter values and grid size.

It also collects the validity conditions met on the way (:func:`collecting_conditions`,
:func:`record_conditions`): a period integral by residues that holds where ``C**2 - 1 > 0``,
a Gamma integral that holds where its rate is positive.

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


_CONDITIONS: contextvars.ContextVar[list | None] = contextvars.ContextVar(
    "symavg_validity_conditions", default=None)


@contextlib.contextmanager
def collecting_conditions() -> Iterator[list]:
    """Collect, for the duration of the block, the relations passed to
    :func:`record_conditions` (into the list yielded; nested blocks share the outer list)."""
    outer = _CONDITIONS.get()
    if outer is not None:
        yield outer
        return
    found: list = []
    token = _CONDITIONS.set(found)
    try:
        yield found
    finally:
        _CONDITIONS.reset(token)


def record_conditions(conditions: tuple) -> None:
    """Add relations on the parameters under which a result just computed holds."""
    found = _CONDITIONS.get()
    if found is not None:
        for c in conditions:
            if c not in found:
                found.append(c)


def recorded_conditions() -> tuple:
    """The relations recorded so far in the active :func:`collecting_conditions` block."""
    return tuple(_CONDITIONS.get() or ())


def discard_conditions(since: int = 0) -> None:
    """Forget the relations recorded after the first ``since`` (those of a route abandoned
    for another; an outer level's conditions, recorded before, are kept)."""
    found = _CONDITIONS.get()
    if found is not None:
        del found[since:]
