"""Symbolic derivations: expansion engine, invariant measures, Poisson solvers."""

from .engine import average, homogenize, reduce
from .invariant import InvariantMeasure, invariant_measure
from .poisson import PoissonSolution, solve_poisson

__all__ = [
    "InvariantMeasure",
    "PoissonSolution",
    "average",
    "homogenize",
    "invariant_measure",
    "reduce",
    "solve_poisson",
]
