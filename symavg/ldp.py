r"""Large deviations of slow-fast systems (``sa.ldp``).

The Hamiltonian (principal eigenvalue of the tilted fast generator), the
rate function (its Legendre transform), the quasipotential, the action of a
path and minimum-action paths, and the rare-event sampler that checks them; see
``docs/ldp.md``. SciPy's optimisers are imported when first called.
"""

from __future__ import annotations

from .derive.ldp import (
    Hamiltonian,
    LDPError,
    Quasipotential,
    RateFunction,
    hamiltonian,
    legendre_numeric,
    quasipotential,
    rate_function,
    tilted_generator,
)
from .numeric.min_action import MinimumActionPath, action, geometric_action, minimum_action_path
from .numeric.rare_events import TailEstimate, additive_tail_probability

__all__ = [
    "Hamiltonian",
    "LDPError",
    "Quasipotential",
    "RateFunction",
    "hamiltonian",
    "legendre_numeric",
    "quasipotential",
    "rate_function",
    "tilted_generator",
    "action",
    "minimum_action_path",
    "MinimumActionPath",
    "geometric_action",
    "TailEstimate",
    "additive_tail_probability",
]
