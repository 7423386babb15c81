"""Spatial homogenization: periodic cell problems, random media and RVEs,
oblique reflection, periodic flows."""

from .bounds import hashin_shtrikman, voigt_reuss
from .cell import CellProblem, EffectiveTensor
from .fft_solver import spectral_effective_tensor
from .flow import FlowResult, effective_diffusivity_periodic_flow
from .fv import FVProblem, apparent_tensor
from .media import BooleanModel, RandomCheckerboard, ThresholdedGaussian
from .reflection import (
    ReflectionMC,
    ReflectionResult,
    effective_reflection,
    simulate_oblique_reflection,
)
from .rve import RVEStudy, rve_study

__all__ = [
    "BooleanModel",
    "CellProblem",
    "EffectiveTensor",
    "FVProblem",
    "FlowResult",
    "RVEStudy",
    "ReflectionMC",
    "ReflectionResult",
    "RandomCheckerboard",
    "ThresholdedGaussian",
    "apparent_tensor",
    "effective_diffusivity_periodic_flow",
    "effective_reflection",
    "hashin_shtrikman",
    "rve_study",
    "simulate_oblique_reflection",
    "spectral_effective_tensor",
    "voigt_reuss",
]
