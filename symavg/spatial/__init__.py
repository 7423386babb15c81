"""Spatial homogenization: periodic cell problems, random media and RVEs,
oblique reflection, periodic flows."""

from .bounds import hashin_shtrikman, voigt_reuss
from .cell import CellProblem, EffectiveTensor
from .fft_solver import spectral_effective_tensor
from .fv import FVProblem, apparent_tensor
from .media import BooleanModel, RandomCheckerboard, ThresholdedGaussian
from .rve import RVEStudy, rve_study

__all__ = [
    "BooleanModel",
    "CellProblem",
    "EffectiveTensor",
    "FVProblem",
    "RVEStudy",
    "RandomCheckerboard",
    "ThresholdedGaussian",
    "apparent_tensor",
    "hashin_shtrikman",
    "rve_study",
    "spectral_effective_tensor",
    "voigt_reuss",
]
