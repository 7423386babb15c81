r"""Splitting for PDMPs: exit probabilities and mean exit times past plain Monte Carlo.

The model is a PDMP (:class:`~symavg.SwitchingSDE` without noise) in one slow
variable :math:`x`, :math:`\dot x = f_s(x)`, with a fast chain of rates
:math:`Q(x)/\epsilon`. Its paths come from the generated kernel of
:mod:`symavg.numeric.switching_kernel` (``run_path``: the exact flows, RK4 steps and
located jump times of :func:`symavg.simulate`), recorded after every flow segment or
step; a replica's full state is :math:`(x, s)`. The reaction coordinate is :math:`x`.

Why the recorded points suffice. Between two recorded points the chain state is fixed
and :math:`x` follows the flow of one field :math:`f_s`, which is monotone in one
dimension: the maximum of :math:`x` over a path is attained at recorded points, and a
face is crossed on a segment exactly when the segment's end is past it (the crossing
is then located on the segment by bisection, and recorded in the chain state it
happened in). The pairs :math:`(x, s)` at the recorded points form a Markov chain: the
threshold of the next jump is exponential, so a copy restarted from :math:`(x, s)` with
a fresh threshold has the law of the original (memorylessness). Adaptive multilevel
splitting (:mod:`symavg.numeric.splitting`) on this chain is therefore unbiased for
:math:`P(x \text{ reaches } hi \text{ before } lo)`.

The renewal formula for a PDMP. The 1-D diffusion formula (Cérou, Guyader, Lelièvre &
Pommier, J. Chem. Phys. 134 (2011) 054108) rests on the strong Markov property at the
hitting times of two points. A PDMP hits a point :math:`z_0` from below only while
the chain is in a state with :math:`f_s(z_0) > 0`, and the law of that state in
general depends on the path before. Let :math:`U = \{s: f_s(z_0) > 0\}`.

* If :math:`U = \{\sigma\}` (one chain state flows up through :math:`z_0`; e.g. every
  two-state PDMP with :math:`f_0 < 0 < f_1` near the well), each upward hitting of
  :math:`z_0` is at the same full state :math:`(z_0, \sigma)`, and the strong Markov
  property there makes the cycles :math:`(z_0, \sigma) \to (x_0 \text{ or } hi)`,
  followed, after :math:`x_0`, by the return to :math:`(z_0, \sigma)`, i.i.d. With
  :math:`G` the number of cycles up to the first that reaches ``hi`` (geometric with
  parameter :math:`p = P_{(z_0,\sigma)}(\text{hi before } x_0)`) and Wald's identity,

  .. math:: E[\tau] = t_1 + E[T_s] + \frac{1-p}{p}\,E[C_f],

  exactly: :math:`t_1` the mean time from the start (:math:`x_0` with the chain from
  ``s0`` or from the stationary law of :math:`Q(x_0)`) to :math:`z_0`, :math:`E[T_s]`
  the mean duration of a successful excursion, :math:`E[C_f]` that of a failed cycle
  :math:`z_0 \to x_0 \to z_0`. The return to :math:`x_0` is from above, in a state with
  :math:`f_s(x_0) < 0`, whose law may depend on the path: it does not matter, since the
  cycle is closed at :math:`(z_0, \sigma)`, not at :math:`x_0`. For a diffusion
  :math:`E[C_f] = E[T_f] + t_1` and this is the 1-D formula.
* If :math:`|U| > 1` the states at successive upward hittings of :math:`z_0` form a
  Markov chain on :math:`U` (kernel :math:`K(\sigma, \sigma')` over a failed cycle) and
  the cycles a Markov renewal process: the remaining time :math:`h(\sigma)` from
  :math:`(z_0, \sigma)` solves :math:`h = p\,T_s + (1-p)\,(C_f + K h)` (one AMS estimate
  :math:`p(\sigma)` per state). That route is not implemented: choose a level
  :math:`z_0` where a single chain state flows up (a clear error says so).
"""

from __future__ import annotations

import math
from collections.abc import Callable, Hashable, Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np

from ..errors import ModelError, SimulationError
from .splitting import Path, SplittingEstimate, splitting

__all__ = ["PDMPSampler", "pdmp_exit_probability", "pdmp_sampler",
           "pdmp_splitting_mean_exit_time"]


@dataclass
class PDMPSampler:
    """The ``run_path`` kernel of a one-variable PDMP as a
    :class:`~symavg.numeric.splitting.PathSampler`: the state is ``[x, s]`` (``s`` the
    chain state's index, as a float)."""

    module: Any
    plain: Any
    p: np.ndarray
    labels: tuple[Hashable, ...]
    variable: Any
    dt: float
    max_events: int
    t_max: float
    name: str
    rng: np.random.Generator | None = None

    def seed(self, rng: np.random.Generator) -> None:
        """Use ``rng`` (a NumPy Generator, passed to the kernel) for the next paths."""
        self.rng = rng

    def drifts(self, x: float) -> np.ndarray:
        """``f_s(x)`` for every chain state ``s``."""
        return np.array([float(self.plain.drift(s, x, *self.p)[0])
                         for s in range(len(self.labels))])

    def stationary(self, x: float) -> np.ndarray:
        """The stationary law of ``Q(x)``."""
        from .switching import _rate_matrix, stationary_numeric

        return stationary_numeric(_rate_matrix(self.plain, len(self.labels),
                                               np.array([[x]]), self.p)[0])

    def path(self, state: np.ndarray, lo: float, hi: float) -> Path:
        from .switching import _ERRORS

        if self.rng is None:
            raise SimulationError("seed the sampler first (PDMPSampler.seed(rng))")
        with np.errstate(over="ignore", invalid="ignore"):
            Z, S, T, code, side, _ = self.module.run_path(
                np.array(state[:-1], dtype=float), int(state[-1]), self.p, 0, float(lo),
                float(hi), self.t_max, self.rng, self.dt, self.max_events)
        if code == 4:
            raise SimulationError(f"{self.name}: a path was still inside {lo} < "
                                  f"{self.variable} < {hi} at t_max = {self.t_max}: raise "
                                  "t_max, or check that the faces are reachable")
        if code != 0:
            raise SimulationError(f"{self.name}: {_ERRORS.get(int(code), 'error')} at t = "
                                  f"{T[-1]:.4g}")
        return Path(np.column_stack([Z, S.astype(float)]), Z[:, 0].copy(), T, int(side))


def pdmp_sampler(model: Any, x0: float, eps: float | None, params: Mapping | None,
                 dt: float | None, dt_factor: float, max_events: int, t_max: float,
                 backend: str) -> PDMPSampler:
    """Build the sampler of a one-variable PDMP (parameters checked, ``dt`` defaulted to
    ``4 dt_factor / R`` with ``R`` the fastest rate at ``x0``, as in
    :func:`symavg.simulate`)."""
    from .codegen import load_source
    from .simulate import _backend
    from .switching import _fastest_rate, kernel_parameters

    if getattr(model, "is_pdmp", None) is not True:
        raise ModelError("splitting of a SwitchingSDE needs a PDMP (no noise); for a "
                         "switching SDE with noise there is no splitting route")
    if len(model.state) != 1:
        raise ModelError(f"splitting of a PDMP is for one slow variable (the reaction "
                         f"coordinate); the model has {list(model.state)}")
    co, ks, p = kernel_parameters(model, params, eps)
    backend = _backend(backend)
    plain = load_source(ks.numpy_source, "swi")
    if dt is None:
        R, _ = _fastest_rate(plain, co, np.array([float(x0)]), p, False)
        dt = 4 * dt_factor / R
    if not dt > 0:
        raise ModelError(f"dt must be positive; got {dt}")
    module = load_source(ks.source(backend), "swi")
    return PDMPSampler(module, plain, p, tuple(co.labels), co.state[0], float(dt),
                       int(max_events), float(t_max), co.name)


def _value(side: Mapping | None, var: Any, default: float, what: str) -> float:
    extra = set(side or {}) - {var}
    if extra:
        raise ModelError(f"{sorted(map(str, extra))} in {what} are not the model's variable "
                         f"{var}")
    return float((side or {}).get(var, default))


def _starter(ker: PDMPSampler, x: float, s0: Hashable | None, rng: np.random.Generator
             ) -> Callable[[int], np.ndarray]:
    """Initial full states ``[x, s]``: ``s0``, or drawn from the stationary law of Q(x)."""
    if s0 is not None:
        if s0 not in ker.labels:
            raise ModelError(f"s0 = {s0!r} is not a chain state; the states are "
                             f"{list(ker.labels)}")
        k = float(ker.labels.index(s0))
        return lambda i: np.array([x, k])
    cdf = np.cumsum(ker.stationary(x))

    def start(i: int) -> np.ndarray:
        return np.array([x, float(min(np.searchsorted(cdf, rng.random(), side="right"),
                                      len(cdf) - 1))])
    return start


def pdmp_exit_probability(model: Any, x0: Mapping, lower: Mapping, upper: Mapping, *,
                          eps: float | None = None, params: Mapping | None = None,
                          s0: Hashable | None = None, replicas: int = 100, kill: int = 10,
                          runs: int = 8, dt: float | None = None, dt_factor: float = 0.05,
                          seed: int | None = None, max_events: int = 2_000_000_000,
                          max_iter: int = 1_000_000, t_max: float = 1e9,
                          backend: str = "auto") -> SplittingEstimate:
    r"""``P(x reaches upper before lower)`` for a one-variable PDMP, by AMS on ``(x, s)``.

    See the module docstring (the recorded points are a Markov chain; the maximum of
    ``x`` is attained at them). ``s0`` is the initial chain state (default: each
    replica's drawn from the stationary law of :math:`Q(x_0)`); ``dt`` the RK4 step in
    chain states without an exact flow (default ``4 dt_factor / R``). Other arguments
    as in :func:`symavg.numeric.diffusion_exit.exit_probability`.
    """
    var = model.state[0] if len(model.state) == 1 else None
    if var is None or var not in x0:
        raise ModelError(f"x0 needs the value of the one slow variable; the model has "
                         f"{list(model.state)}")
    z = float(x0[var])
    lo = _value(lower, var, -math.inf, "lower")
    hi = _value(upper, var, math.inf, "upper")
    if not (math.isfinite(lo) and math.isfinite(hi)):
        raise ModelError(f"exit_probability needs both faces: lower={{{var}: lo}}, "
                         f"upper={{{var}: hi}}")
    if not lo < z < hi:
        raise ModelError(f"x0 = {z} is not inside the box {lo} < {var} < {hi}")
    ker = pdmp_sampler(model, z, eps, params, dt, dt_factor, max_events, t_max, backend)
    first, rest = np.random.SeedSequence(seed).spawn(2)
    start = _starter(ker, z, s0, np.random.default_rng(first))
    return splitting(ker, start, lo, hi, replicas=replicas, kill=kill, runs=runs,
                     seed=int(rest.generate_state(1)[0]), max_iter=max_iter, dt=ker.dt)


@dataclass(frozen=True)
class PDMPCycles:
    """The plain-Monte-Carlo pieces of the PDMP renewal formula."""

    approach: np.ndarray
    failures: np.ndarray
    cycles: np.ndarray


def _cycles(ker: PDMPSampler, a: float, z0: float, b: float, sigma: int, paths: int,
            start: Callable[[int], np.ndarray], rng: np.random.Generator) -> PDMPCycles:
    """``paths`` approaches start -> z0, and ``paths`` excursions from (z0, sigma): the
    failed ones (back to a first) continued to z0, their total durations."""
    ker.seed(rng)
    t1 = np.array([ker.path(start(i), -math.inf, z0).times[-1] for i in range(paths)])
    fail, cyc = [], []
    for _ in range(paths):
        q = ker.path(np.array([z0, float(sigma)]), a, b)
        if q.side == -1:
            back = ker.path(q.states[-1], -math.inf, z0)
            fail.append(q.times[-1])
            cyc.append(q.times[-1] + back.times[-1])
    return PDMPCycles(t1, np.array(fail), np.array(cyc))


def pdmp_splitting_mean_exit_time(model: Any, x0: Mapping, upper: Mapping, *, level: float,
                                  eps: float | None = None, params: Mapping | None = None,
                                  s0: Hashable | None = None, paths: int = 200,
                                  replicas: int = 100, kill: int = 10, runs: int = 8,
                                  dt: float | None = None, dt_factor: float = 0.05,
                                  seed: int | None = None, max_events: int = 2_000_000_000,
                                  t_max: float = 1e9, backend: str = "auto"
                                  ) -> tuple[float, float, SplittingEstimate, float, float,
                                             float]:
    r"""Mean time for a one-variable PDMP from ``x0`` to reach ``upper``, by the renewal
    formula of the module docstring (one chain state flowing up through ``level``).

    Returns ``(mean, stderr, p, t1, E[T_f], E[C_f])``; ``p`` the AMS estimate from
    :math:`(z_0, \sigma)` (its ``success_time`` is :math:`E[T_s]`). The standard error is
    the delta method on the three independent estimates.
    """
    var = model.state[0] if len(model.state) == 1 else None
    if var is None or var not in x0:
        raise ModelError(f"x0 needs the value of the one slow variable; the model has "
                         f"{list(model.state)}")
    a = float(x0[var])
    b = _value(upper, var, math.inf, "upper")
    if not (a < level < b) or not math.isfinite(b):
        raise ModelError(f"need x0 < level < upper; got {a}, {level}, {b}")
    if paths <= 1:
        raise ModelError(f"paths must be at least 2; got {paths}")
    ker = pdmp_sampler(model, a, eps, params, dt, dt_factor, max_events, t_max, backend)
    up = np.flatnonzero(ker.drifts(level) > 0)
    if up.size != 1:
        raise ModelError(
            f"{up.size} chain states flow up through level = {level} "
            f"({[ker.labels[i] for i in up]}): the renewal formula needs exactly one, so "
            "that every upward crossing of the level is at the same full state (with "
            "several, the cycles are a Markov renewal process, not implemented); choose "
            "another level")
    if not (ker.drifts(a) < 0).any():
        raise ModelError(f"no chain state flows down through x0 = {a}: a path above it "
                         "never returns, so x0 is not the bottom of a well")
    sigma = int(up[0])
    s_first, s_cyc, s_ams = np.random.SeedSequence(seed).spawn(3)
    start = _starter(ker, a, s0, np.random.default_rng(s_first))
    cy = _cycles(ker, a, level, b, sigma, paths, start, np.random.default_rng(s_cyc))
    if cy.cycles.size < 2:
        raise SimulationError(f"fewer than 2 paths from level = {level} returned to x0 = {a}: "
                              "the well is not metastable here (use plain Monte Carlo)")
    pe = splitting(ker, lambda i: np.array([level, float(sigma)]), a, b, replicas=replicas,
                   kill=kill, runs=runs, seed=int(s_ams.generate_state(1)[0]),
                   max_iter=1_000_000, dt=ker.dt)
    p = pe.probability
    if p <= 0:
        raise SimulationError("no AMS replica reached upper: raise replicas")
    t1, cf = float(cy.approach.mean()), float(cy.cycles.mean())
    se1 = float(cy.approach.std(ddof=1) / math.sqrt(cy.approach.size))
    sef = float(cy.cycles.std(ddof=1) / math.sqrt(cy.cycles.size))
    mean = t1 + pe.success_time + (1 - p) / p * cf
    stderr = math.sqrt((cf / p**2 * pe.stderr) ** 2 + se1**2 + ((1 - p) / p * sef) ** 2)
    return float(mean), float(stderr), pe, t1, float(cy.failures.mean()), cf
