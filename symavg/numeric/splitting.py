r"""Adaptive multilevel splitting (AMS) over any sampler of paths.

One job: the AMS loop, independent of the dynamics. A *sampler* runs one path from
a full state until its reaction coordinate :math:`\xi` leaves :math:`(lo, hi)` and
returns it as a :class:`Path`: the full states (one row per recorded point), the
values of :math:`\xi` there, the times, and which side it left by. The 1-D diffusion
kernel, the several-variable diffusion kernel with a reaction coordinate
(:mod:`symavg.numeric.diffusion_paths`) and the PDMP kernel
(:mod:`symavg.numeric.pdmp_paths`) are such samplers.

The algorithm (Cérou & Guyader, Stoch. Anal. Appl. 25 (2007) 417): start ``N``
replicas; the level of a replica is :math:`\max_k \xi(X_k)` over its recorded points
(:math:`+\infty` once it has reached ``hi``). Each iteration takes the ``kill``-th
smallest level :math:`z`, kills every replica of level :math:`\le z` (``K_j`` of them,
ties included), and restarts each from a copy of a uniformly chosen survivor's path up
to its first point with :math:`\xi > z`, continued by a fresh path from that point's full
state (for a PDMP the chain state as well). It stops when the ``kill``-th smallest level
is :math:`+\infty`, or when every replica is killed (estimate ``0``). The estimator

.. math:: \hat p = \prod_j \Bigl(1 - \frac{K_j}{N}\Bigr)\,\frac{N_B}{N}

of :math:`p = P(\xi \text{ reaches } hi \text{ before } lo)` is unbiased for the
recorded sequence of points when it is a Markov chain (Bréhier, Gazeau, Goudenège,
Lelièvre & Rousset, Ann. Appl. Probab. 26 (2016) 3559, with this tie rule); and
:math:`\hat p\,\overline{f}_B` (the weight times the mean of a path functional over the
replicas that reached ``hi``) is unbiased for :math:`E[f\,1_B]` (same reference), which
gives the mean duration of the successful excursions. Independent runs give an honest
standard error.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass
from typing import Protocol

import numpy as np

from ..errors import ModelError, SimulationError

__all__ = ["Path", "PathSampler", "SplittingEstimate", "ams_run", "splitting"]


@dataclass(frozen=True)
class Path:
    """One recorded path.

    Attributes
    ----------
    states : ndarray (k, d)
        The full state at each recorded point (for a PDMP the last column is the chain
        state).
    levels : ndarray (k,)
        The reaction coordinate there.
    times : ndarray (k,)
        The time of each point, from the path's start.
    side : int
        ``+1`` it reached ``hi``, ``-1`` it reached ``lo``.
    """

    states: np.ndarray
    levels: np.ndarray
    times: np.ndarray
    side: int


class PathSampler(Protocol):
    """What :func:`ams_run` needs from a kernel."""

    def seed(self, rng: np.random.Generator) -> None:
        """Seed the kernel's random stream from ``rng``."""

    def path(self, state: np.ndarray, lo: float, hi: float) -> Path:
        """One path from the full ``state`` until the coordinate leaves ``(lo, hi)``."""


@dataclass(frozen=True)
class SplittingEstimate:
    r"""An adaptive-multilevel-splitting estimate of :math:`P(\text{reach hi before lo})`.

    Attributes
    ----------
    probability, stderr : float
        The mean over the independent AMS runs, and its standard error (the runs'
        standard deviation over ``sqrt(runs)``).
    runs : ndarray
        Each run's estimate.
    success_time : float
        Mean duration of the excursions that reach ``hi`` (over the final replicas).
    iterations : int
        Total AMS iterations over the runs.
    replicas : int
    dt : float
    """

    probability: float
    stderr: float
    runs: np.ndarray
    success_time: float
    iterations: int
    replicas: int
    dt: float

    @property
    def log_probability(self) -> float:
        """``log p``."""
        return math.log(self.probability) if self.probability > 0 else -math.inf

    @property
    def log_probability_stderr(self) -> float:
        """Its standard error (delta method): ``stderr / p``."""
        return self.stderr / self.probability if self.probability > 0 else math.inf


def ams_run(sampler: PathSampler, start: Callable[[int], np.ndarray], lo: float, hi: float,
            N: int, kill: int, rng: np.random.Generator, max_iter: int
            ) -> tuple[float, list[float], int]:
    """One AMS run (module docstring): ``(estimate, durations of the replicas that
    reached hi, iterations)``; ``start(i)`` is replica ``i``'s initial full state."""
    sampler.seed(rng)
    paths = [sampler.path(start(i), lo, hi) for i in range(N)]
    levels = np.array([math.inf if q.side == 1 else float(q.levels.max()) for q in paths])
    weight = 1.0
    it = 0
    while True:
        z = np.partition(levels, kill - 1)[kill - 1]
        if not np.isfinite(z):
            break
        killed = np.flatnonzero(levels <= z)
        alive = np.flatnonzero(levels > z)
        if alive.size == 0:
            return 0.0, [], it
        it += 1
        if it > max_iter:
            raise SimulationError(f"adaptive multilevel splitting did not reach hi = {hi} in "
                                  f"{max_iter} iterations (level {z:.4g}): raise replicas or "
                                  "max_iter, or check that hi is reachable")
        weight *= 1.0 - killed.size / N
        parents = rng.choice(alive, size=killed.size)
        new = []
        for i, q in zip(killed, parents):
            par = paths[q]
            j = int(np.argmax(par.levels > z))
            tail = sampler.path(par.states[j], lo, hi)
            new.append((i, Path(np.concatenate([par.states[: j + 1], tail.states[1:]]),
                                np.concatenate([par.levels[: j + 1], tail.levels[1:]]),
                                np.concatenate([par.times[: j + 1],
                                                par.times[j] + tail.times[1:]]),
                                tail.side)))
        for i, q in new:
            paths[i] = q
            levels[i] = math.inf if q.side == 1 else float(q.levels.max())
    reached = [q for q in paths if q.side == 1]
    return weight * len(reached) / N, [float(q.times[-1]) for q in reached], it


def check_splitting(replicas: int, kill: int, runs: int) -> None:
    """The AMS sizes: ``1 <= kill < replicas`` and ``runs >= 2``."""
    if not (1 <= kill < replicas):
        raise ModelError(f"need 1 <= kill < replicas; got kill={kill}, replicas={replicas}")
    if runs < 2:
        raise ModelError(f"runs must be at least 2 (for the standard error); got {runs}")


def splitting(sampler: PathSampler, start: Callable[[int], np.ndarray], lo: float, hi: float,
              *, replicas: int, kill: int, runs: int, seed: int | None, max_iter: int,
              dt: float) -> SplittingEstimate:
    """``runs`` independent AMS runs of ``replicas`` replicas (module docstring), seeded by
    the children of ``SeedSequence(seed)``; ``dt`` is recorded in the result."""
    check_splitting(replicas, kill, runs)
    est, times, iters = [], [], 0
    for ss in np.random.SeedSequence(seed).spawn(runs):
        pr, tr, it = ams_run(sampler, start, lo, hi, replicas, kill, np.random.default_rng(ss),
                             max_iter)
        est.append(pr)
        times += tr
        iters += it
    e = np.array(est)
    return SplittingEstimate(float(e.mean()), float(e.std(ddof=1) / math.sqrt(runs)), e,
                             float(np.mean(times)) if times else math.nan, iters,
                             int(replicas), float(dt))
