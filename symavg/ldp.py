r"""Large deviations of slow-fast systems (``sa.ldp``).

The Hamiltonian (principal eigenvalue of the tilted fast generator), the
rate function (its Legendre transform), the quasipotential, the action of a
path and minimum-action paths, and the simulations that check them (a rare-event
sampler, exit times of PDMPs and of small-noise diffusions, adaptive multilevel
splitting for 1-D diffusions, for diffusions in several variables with a reaction
coordinate and for PDMPs, stationary densities); see
``docs/ldp.md``. SciPy's optimisers are imported when first called.

Examples
--------
>>> import sympy as sp, symavg as sa
>>> x = sp.Symbol("x", real=True)
>>> lam, p = sp.symbols("lambda p", positive=True)
>>> eps = sa.epsilon
>>> chain = sa.MarkovChain({("+", "-"): lam / eps, ("-", "+"): lam / eps})
>>> tele = sa.SwitchingSDE([x], chain, drift={"+": 1, "-": -1})
>>> H = sa.ldp.hamiltonian(tele, momentum=p)
>>> sp.simplify(H.expr - (sp.sqrt(lam**2 + p**2) - lam))
0
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
from .numeric.diffusion_exit import (
    DiffusionExitEstimate,
    SplittingExitTime,
    diffusion_mean_exit_time,
    exit_probability,
    splitting_mean_exit_time,
)
from .numeric.exit_times import ExitTimeEstimate, mean_exit_time
from .numeric.min_action import MinimumActionPath, action, geometric_action, minimum_action_path
from .numeric.rare_events import TailEstimate, additive_tail_probability
from .numeric.splitting import SplittingEstimate
from .numeric.stationary_density import DensityEstimate, stationary_density

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
    "ExitTimeEstimate",
    "mean_exit_time",
    "DiffusionExitEstimate",
    "diffusion_mean_exit_time",
    "SplittingEstimate",
    "exit_probability",
    "SplittingExitTime",
    "splitting_mean_exit_time",
    "DensityEstimate",
    "stationary_density",
]
