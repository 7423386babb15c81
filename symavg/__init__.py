"""symavg: averaging and homogenization of multiscale stochastic systems.

Declare a slow-fast system symbolically, derive the reduced model with every
step checked, then simulate and verify it numerically.
"""

from .errors import (
    CenteringError,
    CheckFailedError,
    ErgodicityError,
    ModelError,
    NoInvariantMeasureError,
    ParseError,
    ScaleSeparationError,
    SimulationError,
    SymavgError,
    UnsolvedError,
)

# --- everything but the error classes is imported on first use (PEP 562): the
# declarations and ``epsilon`` load SymPy, the derivation engine, model files,
# reports, networks, the numeric layer (scipy, numba) and spatial homogenization load
# when first touched. ``import symavg`` itself costs the error classes only.
_LAZY = {
    # declarations (SymPy)
    "epsilon": "symavg._symbols",
    "SDE": "symavg.models",
    "EffectiveModel": "symavg.models",
    "Generator": "symavg.models",
    "MarkovChain": "symavg.models",
    "SwitchingSDE": "symavg.models",
    # derive (core)
    "InvariantMeasure": "symavg.derive",
    "PoissonSolution": "symavg.derive",
    "average": "symavg.derive",
    "homogenize": "symavg.derive",
    "invariant_measure": "symavg.derive",
    "reduce": "symavg.derive",
    "smoluchowski_kramers": "symavg.derive",
    "solve_poisson": "symavg.derive",
    # model files
    "ModelSpec": "symavg.io",
    "load_model": "symavg.io",
    "loads_model": "symavg.io",
    "parse_expr": "symavg.io",
    # other declarations and the derivation record
    "DeterministicFlow": "symavg.models.deterministic",
    "DeterministicMap": "symavg.models.deterministic",
    "ReactionNetwork": "symavg.models.network",
    "Check": "symavg.report",
    "Derivation": "symavg.report",
    "Step": "symavg.report",
    # numeric layer
    "simulate": "symavg.numeric.simulate",
    "Ensemble": "symavg.numeric.simulate",
    "verify": "symavg.numeric.verify",
    "VerifyReport": "symavg.numeric.verify",
    "lambdify_model": "symavg.numeric.codegen",
    # deterministic chaos (issue 10)
    "green_kubo": "symavg.numeric.green_kubo",
    "GreenKuboEstimate": "symavg.numeric.green_kubo",
    "green_kubo_matrix": "symavg.numeric.green_kubo_matrix",
    "GreenKuboMatrix": "symavg.numeric.green_kubo_matrix",
    "time_averages": "symavg.numeric.chaos",
    "TimeAverages": "symavg.numeric.chaos",
    "ssa": "symavg.numeric.ssa",
    "tau_leap": "symavg.numeric.ssa",
    "cme": "symavg.numeric.ssa",
    "CME": "symavg.numeric.ssa",
    # spatial homogenization
    "CellProblem": "symavg.spatial",
    "EffectiveTensor": "symavg.spatial",
    "RandomCheckerboard": "symavg.spatial",
    "BooleanModel": "symavg.spatial",
    "ThresholdedGaussian": "symavg.spatial",
    "rve_study": "symavg.spatial",
    "RVEStudy": "symavg.spatial",
    "effective_reflection": "symavg.spatial",
    "simulate_oblique_reflection": "symavg.spatial",
    "effective_diffusivity_periodic_flow": "symavg.spatial",
    "hashin_shtrikman": "symavg.spatial",
    "apparent_tensor": "symavg.spatial",
    "voigt_reuss": "symavg.spatial",
}


#: subpackages imported on first use: ``sa.ldp`` (large deviations; scipy.optimize)
_LAZY_MODULES = {"ldp": "symavg.ldp"}


def __getattr__(name: str) -> object:
    """Import the numeric and spatial parts of the public API on first use."""
    if name in _LAZY_MODULES:
        import importlib

        module = importlib.import_module(_LAZY_MODULES[name])
        globals()[name] = module
        return module
    mod = _LAZY.get(name)
    if mod is None:
        raise AttributeError(f"module 'symavg' has no attribute {name!r}")
    import importlib

    value = getattr(importlib.import_module(mod), name)
    globals()[name] = value
    return value


def _provide_numeric() -> None:
    """Wire the declarations' numeric methods to the numeric layer (imported on first call)."""
    import importlib

    from . import _hooks

    def lazy(module: str, attr: str):  # noqa: ANN202
        def call(*args: object, **kwargs: object) -> object:
            return getattr(importlib.import_module(module), attr)(*args, **kwargs)

        return call

    _hooks.provide("simulate", lazy("symavg.numeric.simulate", "simulate"))
    _hooks.provide("lambdify_model", lazy("symavg.numeric.codegen", "lambdify_model"))
    _hooks.provide("to_python", lazy("symavg.numeric.pycode", "effective_to_python"))
    for op in ("rate_equations", "cle", "fokker_planck", "generator", "fast_subnetwork",
               "spectral_gap"):
        _hooks.provide(f"network.{op}", lazy("symavg.derive.network", op))
    _hooks.provide("network.reduce", lazy("symavg.derive.network", "reduce_network"))
    _hooks.provide("network.ssa", lazy("symavg.numeric.ssa", "ssa"))
    _hooks.provide("network.cme", lazy("symavg.numeric.ssa", "cme"))


_provide_numeric()


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(_LAZY) | set(_LAZY_MODULES))


__version__ = "0.1.0"

#: the error classes (imported above) and every name imported on first use
__all__ = [
    "CenteringError",
    "CheckFailedError",
    "ErgodicityError",
    "ModelError",
    "NoInvariantMeasureError",
    "ParseError",
    "ScaleSeparationError",
    "SimulationError",
    "SymavgError",
    "UnsolvedError",
    *_LAZY,
    *_LAZY_MODULES,
]
