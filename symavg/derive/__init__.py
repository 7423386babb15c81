"""Symbolic derivations: expansion engine, invariant measures, Poisson solvers, the
Smoluchowski-Kramers limit."""

from .engine import average, homogenize, reduce
from .invariant import InvariantMeasure, invariant_measure
from .kramers import smoluchowski_kramers
from .poisson import PoissonSolution, solve_poisson

# the hypoelliptic transport-by-OU routes, then the numeric cell solvers, register
# themselves last in both registries
from . import transport_ou  # noqa: E402,F401  isort: skip
from . import numeric_strategies  # noqa: E402,F401  isort: skip

__all__ = [
    "InvariantMeasure",
    "PoissonSolution",
    "average",
    "homogenize",
    "invariant_measure",
    "reduce",
    "smoluchowski_kramers",
    "solve_poisson",
]
