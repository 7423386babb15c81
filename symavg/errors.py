"""The exceptions symavg raises on purpose.

Every error raised deliberately by symavg derives from :class:`SymavgError`.
Errors caused by the user's input (a malformed declaration, a fast process
without an invariant probability, a failed centering condition) also derive
from :class:`ValueError`, so ``except ValueError`` keeps working in user code.
Each message names the offending symbol or term and says what to do.
"""

from __future__ import annotations


class SymavgError(Exception):
    """Base class of every error symavg raises on purpose."""


class ModelError(SymavgError, ValueError):
    """A declaration is malformed: wrong shapes, unknown symbols, numbers where
    symbols are required, an asymmetric diffusion matrix, a bad rate matrix."""


class ScaleSeparationError(SymavgError, ValueError):
    """The generator's expansion in ``eps`` does not have the structure of a
    supported regime (averaging ``eps^-1 L0 + L1`` or homogenization
    ``eps^-2 L0 + eps^-1 L1 + L2``), or the leading operator ``L0`` acts on a
    variable that was declared slow."""


class NoInvariantMeasureError(SymavgError, ValueError):
    """The fast process, with the slow variables frozen, has no invariant
    probability measure (its speed measure is not normalisable, its drift
    matrix is not stable, ...)."""


class CenteringError(SymavgError, ValueError):
    """The right-hand side of a Poisson equation ``-L0 Phi = h`` does not
    average to zero under the invariant measure of ``L0``: the slow variable
    moves on a faster time scale than the one assumed."""


class UnsolvedError(SymavgError):
    """No registered strategy could solve a step in closed form and no
    numeric fallback applies (for example, parameter values were not given)."""


class CheckFailedError(SymavgError):
    """A closed-form answer did not satisfy its equation when substituted
    back. This is a bug in a strategy; please report it with the model."""


class SimulationError(SymavgError):
    """A simulation blew up (NaN or overflow) or was asked for something it
    cannot do (missing parameter values, a step that is far too coarse)."""


class ParseError(SymavgError, ValueError):
    """A model file or an expression in it is malformed or not allowed."""


class ErgodicityError(SymavgError, ValueError):
    """Time averages of a deterministic system from several initial conditions
    disagree beyond their error bars: on the simulated time the system is not
    ergodic (several attractors, a long transient, or an orbit that collapsed
    onto a fixed point or a periodic orbit)."""
