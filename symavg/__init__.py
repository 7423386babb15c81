"""symavg: averaging and homogenization of multiscale stochastic systems.

Declare a slow-fast system symbolically, derive the reduced model with every
step checked, then simulate and verify it numerically.
"""

from ._symbols import epsilon

# --- derive (core) ---
from .derive import (
    InvariantMeasure,
    PoissonSolution,
    average,
    homogenize,
    invariant_measure,
    reduce,
    solve_poisson,
)
from .errors import (
    CenteringError,
    CheckFailedError,
    ModelError,
    NoInvariantMeasureError,
    ParseError,
    ScaleSeparationError,
    SimulationError,
    SymavgError,
    UnsolvedError,
)
from .io import ModelSpec, load_model, loads_model, parse_expr
from .models import SDE, EffectiveModel, Generator
from .report import Check, Derivation, Step

# --- numeric (issue 3) ---
# --- spatial homogenization (issue 4) ---

__version__ = "0.1.0"

__all__ = [
    "SDE",
    "CenteringError",
    "Check",
    "CheckFailedError",
    "Derivation",
    "EffectiveModel",
    "Generator",
    "ModelError",
    "NoInvariantMeasureError",
    "ParseError",
    "ScaleSeparationError",
    "SimulationError",
    "Step",
    "SymavgError",
    "UnsolvedError",
    "epsilon",
    "InvariantMeasure",
    "PoissonSolution",
    "average",
    "homogenize",
    "invariant_measure",
    "reduce",
    "solve_poisson",
    "ModelSpec",
    "load_model",
    "loads_model",
    "parse_expr",
]
