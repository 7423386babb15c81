"""Declarations: immutable, validated descriptions of multiscale models.

The bottom layer: imports neither ``derive/`` nor ``numeric/``.
"""

from .effective import TIME, EffectiveModel
from .generator import DiffusionPart, Expansion, Generator, JumpPart, PotentialPart
from .markov import MarkovChain, SwitchingSDE
from .sde import SDE

__all__ = ["SDE", "TIME", "DiffusionPart", "EffectiveModel", "Expansion", "Generator",
           "JumpPart", "MarkovChain", "PotentialPart", "SwitchingSDE"]
