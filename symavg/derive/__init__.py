"""Symbolic derivations: expansion engine, invariant measures, Poisson solvers, the
Smoluchowski-Kramers limit."""

from .engine import average, homogenize, reduce
from .invariant import InvariantMeasure, invariant_measure
from .kramers import smoluchowski_kramers
from .poisson import PoissonSolution, solve_poisson

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
