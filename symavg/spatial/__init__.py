"""Spatial homogenization: periodic cell problems, random media and RVEs,
oblique reflection, periodic flows."""

from .cell import CellProblem, EffectiveTensor

__all__ = ["CellProblem", "EffectiveTensor"]
