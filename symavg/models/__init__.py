"""Declarations: immutable, validated descriptions of multiscale models."""

from .effective import EffectiveModel
from .generator import Generator
from .sde import SDE

__all__ = ["SDE", "EffectiveModel", "Generator"]
