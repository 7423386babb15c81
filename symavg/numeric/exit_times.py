r"""Exit times of piecewise-deterministic Markov processes from a box, by simulation.

:func:`mean_exit_time` runs ``paths`` copies of a PDMP
(:class:`~symavg.SwitchingSDE` without noise), each until its continuous state
leaves the open box :math:`\{lo < x < hi\}`, and returns the sample mean of the
exit times :math:`\tau` with its standard error. It uses the generated kernel of
:mod:`symavg.numeric.switching_kernel` (its ``run_exit`` loop: the same exact
flows, RK4 steps and located jump times as :func:`symavg.simulate`), so it is as
fast as the ensemble simulator and has the same accuracy; :math:`\tau` is the end of
the step or flow segment on which the path left, which is later than the crossing
by at most one step (:math:`O(\Delta t)`, or a holding time :math:`O(\epsilon)` in a
chain state flowed exactly) -- negligible against the mean exit times
:math:`\asymp e^{\Delta V/\epsilon}` it is meant for.

In the small-noise limit of a PDMP with rates :math:`Q(x)/\epsilon`, the mean exit
time from the basin of a stable point :math:`x_-` obeys the Arrhenius law

.. math:: \epsilon \log E[\tau] \to \Delta V = V(x_s) - V(x_-),

``V`` the quasipotential of :func:`symavg.ldp.quasipotential` and :math:`x_s` the
point of the basin's boundary where it is smallest (Faggionato, Gabrielli &
Ribezzi Crivellari, Markov Process. Relat. Fields 16 (2010) 497; Bressloff &
Newby, Phys. Rev. E 89 (2014) 042701), with a prefactor that makes the
correction :math:`\epsilon \log C + o(\epsilon)`.
"""

from __future__ import annotations

import math
import os
from collections.abc import Hashable, Mapping
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any

import numpy as np

from .. import _progress
from ..errors import ModelError, SimulationError
from .codegen import load_source
from .simulate import _backend
from .switching import (
    _ERRORS,
    _fastest_rate,
    _rate_matrix,
    kernel_parameters,
    stationary_numeric,
)

__all__ = ["ExitTimeEstimate", "mean_exit_time"]


class LogRate:
    r"""The Arrhenius rate of a mean-exit-time estimate with ``mean``, ``stderr`` and
    ``eps``: :math:`\epsilon\log\hat E[\tau]`, which tends to the barrier :math:`\Delta V`
    (Freidlin-Wentzell), and its standard error by the delta method."""

    @property
    def log_rate(self) -> float:
        r""":math:`\epsilon\log\hat E[\tau]`, which tends to the barrier :math:`\Delta V`."""
        return self.eps * math.log(self.mean)  # type: ignore[attr-defined]

    @property
    def log_rate_stderr(self) -> float:
        """Its standard error (delta method): ``eps * stderr / mean``."""
        return self.eps * self.stderr / self.mean  # type: ignore[attr-defined]


@dataclass(frozen=True)
class ExitTimeEstimate(LogRate):
    r"""The mean exit time ``E[tau]`` from a box, with its standard error.

    Attributes
    ----------
    mean, stderr : float
        Sample mean of the exit times and its standard error ``std / sqrt(paths)``.
    eps : float
        The value of the scale parameter.
    paths : int
    times : ndarray
        Every path's exit time.
    jumps : int
        Chain jumps, summed over paths.
    """

    mean: float
    stderr: float
    eps: float
    paths: int
    times: np.ndarray
    jumps: int

    def _repr_html_(self) -> str:
        from ..report.results import estimate_html

        return estimate_html("Mean exit time", [
            ("E[tau]", self.mean), ("standard error", self.stderr), ("eps", self.eps),
            ("eps log E[tau]", f"{self.log_rate:.6g} +- {self.log_rate_stderr:.2g}"),
            ("paths", self.paths), ("chain jumps", self.jumps)])


def _run(args: tuple) -> np.ndarray:
    source, Z, S, p, lo, hi, tmax, seed, dt, max_events = args
    mod = load_source(source, "swi")
    rng = np.random.default_rng(seed)
    stats = np.zeros((Z.shape[1], 4))
    with np.errstate(over="ignore", invalid="ignore"):
        mod.run_exit(Z, S, p, lo, hi, tmax, rng, dt, stats, max_events)
    return stats


@_progress.one_bar("mean_exit_time", total=lambda args: 1, unit="run")
def mean_exit_time(model: Any, x0: Mapping, lower: Mapping | None = None,
                   upper: Mapping | None = None, *, eps: float | None = None,
                   params: Mapping | None = None, paths: int = 1000,
                   seed: int | None = None, s0: Hashable | None = None,
                   t_max: float = math.inf, dt: float | None = None,
                   dt_factor: float = 0.05, chunk_size: int = 256,
                   backend: str = "auto", max_events: int = 2_000_000_000,
                   progress: bool | None = None) -> ExitTimeEstimate:
    r"""Estimate the mean exit time of a PDMP from the box ``lower < x < upper``.

    A one-variable diffusion (an :class:`~symavg.SDE` or a reduced
    :class:`~symavg.EffectiveModel`, e.g. the small-noise averaged diffusion of
    ``sa.reduce(model, order=1)``) is handed to
    :func:`symavg.numeric.diffusion_exit.diffusion_mean_exit_time` (Euler-Maruyama with
    the Brownian-bridge exit test, step ``dt``, default ``1e-3``), which returns a
    :class:`~symavg.numeric.diffusion_exit.DiffusionExitEstimate`.

    Parameters
    ----------
    model : SwitchingSDE, SDE or EffectiveModel
        A PDMP (a SwitchingSDE without noise) or a one-variable diffusion.
    x0 : dict {Symbol: float}
        The start, inside the box.
    lower, upper : dict {Symbol: float}, optional
        The box's faces; a variable missing from them is unbounded on that side.
    eps : float
        Value of the model's scale parameter.
    params : dict {Symbol: float}
        Values of the other parameters.
    paths, seed, chunk_size, backend
        As in :func:`symavg.simulate` (chunks of ``chunk_size`` paths, each with its
        own child of ``SeedSequence(seed)``, run on threads with numba).
    s0 : label, optional
        Initial chain state; default drawn from the stationary law of ``Q(x0)``.
    t_max : float
        A path still inside at ``t_max`` is an error (raise it, or the box is not
        left: check the faces).
    dt, dt_factor : float
        The RK4 step in chain states without an exact flow, as in
        :func:`symavg.simulate` (default ``4 dt_factor / R``).
    progress : bool, optional
        One progress bar over the chunks of paths; ``None`` (default): in a terminal or a
        notebook, not under CI (:mod:`symavg._progress`).

    Returns
    -------
    ExitTimeEstimate

    Raises
    ------
    ModelError
        A model with noise, ``x0`` outside the box, bad ``paths``.
    SimulationError
        Missing parameter values, a path still inside at ``t_max``, a negative rate
        or a state that blew up.

    Examples
    --------
    The telegraph process (speed one, flips at rate ``1/eps``) is close to a Brownian
    motion of variance ``eps t``, whose mean exit time from ``(-1, 1)`` started at 0 is
    ``(1 - 0^2)/eps`` (the solution of ``(eps/2) T'' = -1``, ``T(+-1) = 0``):

    >>> import sympy as sp, symavg as sa
    >>> from symavg.numeric.exit_times import mean_exit_time
    >>> x = sp.Symbol("x", real=True)
    >>> ch = sa.MarkovChain({("-", "+"): 1 / sa.epsilon, ("+", "-"): 1 / sa.epsilon})
    >>> tel = sa.SwitchingSDE([x], ch, drift={"-": -1, "+": 1})
    >>> est = mean_exit_time(tel, {x: 0.0}, {x: -1.0}, {x: 1.0}, eps=0.01, paths=400, seed=1)
    >>> 0.85 < est.mean * 0.01 < 1.15
    True
    """
    from ..models import SDE, EffectiveModel

    if isinstance(model, SDE | EffectiveModel):
        from .diffusion_exit import diffusion_mean_exit_time

        return diffusion_mean_exit_time(model, x0, lower, upper, eps=eps, params=params,
                                        paths=paths, seed=seed,
                                        **({} if dt is None else {"dt": dt}))
    if getattr(model, "is_pdmp", None) is not True:
        raise ModelError("mean_exit_time takes a SwitchingSDE without noise (a PDMP), or a "
                         "one-variable diffusion (sa.SDE, or sa.reduce(model, order=1)); for "
                         "a switching SDE with noise use sa.simulate and a hitting-time "
                         "estimate")
    if paths <= 1:
        raise ModelError(f"paths must be at least 2; got {paths}")
    co, ks, p = kernel_parameters(model, params, eps)
    backend = _backend(backend)
    missing = [z for z in co.state if z not in x0]
    if missing:
        raise ModelError(f"x0 has no value for {missing}")
    z0 = np.array([float(x0[z]) for z in co.state])
    lo = np.array([float((lower or {}).get(z, -math.inf)) for z in co.state])
    hi = np.array([float((upper or {}).get(z, math.inf)) for z in co.state])
    if not ((lo < z0) & (z0 < hi)).all():
        raise ModelError(f"x0 = {z0.tolist()} is not inside the box {lo.tolist()} < x < "
                         f"{hi.tolist()}")
    plain = load_source(ks.numpy_source, "swi")
    N = len(co.labels)
    nchunks = max(1, math.ceil(paths / chunk_size))
    first, *seeds = np.random.SeedSequence(seed).spawn(nchunks + 1)
    if s0 is not None:
        S = np.full(paths, model.chain.index(s0), dtype=np.int64)
    else:
        pi = stationary_numeric(_rate_matrix(plain, N, z0[:, None], p)[0])
        rng0 = np.random.default_rng(first)
        S = (rng0.random(paths)[:, None] >= np.cumsum(pi)[None, :-1]).sum(axis=1)
        S = S.astype(np.int64)
    if dt is None:
        R, _ = _fastest_rate(plain, co, z0, p, False)
        dt = 4 * dt_factor / R
    source = ks.source(backend)
    tasks = []
    for c in range(nchunks):
        sl = slice(c * chunk_size, min(paths, (c + 1) * chunk_size))
        size = sl.stop - sl.start
        Z = np.repeat(z0[:, None], size, axis=1)
        tasks.append((source, Z, S[sl].copy(), p, lo, hi, float(t_max), seeds[c], float(dt),
                      int(max_events)))
    done = []
    if backend == "numba" and nchunks > 1:
        with ThreadPoolExecutor(max_workers=min(os.cpu_count() or 1, nchunks)) as ex:
            for out in ex.map(_run, tasks):   # the bar advances here, in the caller's context
                done.append(out)
                _progress.advance(1 / nchunks)
    else:
        for t in tasks:
            done.append(_run(t))
            _progress.advance(1 / nchunks)
    stats = np.concatenate(done)
    codes = stats[:, 2]
    if (codes == 4).any():
        raise SimulationError(f"{co.name}: {int((codes == 4).sum())} of {paths} paths were "
                              f"still inside the box at t_max = {t_max}: raise t_max, or check "
                              "that the box's faces are reachable")
    bad = codes != 0
    if bad.any():
        k = int(np.argmax(bad))
        raise SimulationError(f"{co.name}: {_ERRORS.get(int(codes[k]), 'error')} at t = "
                              f"{stats[k, 3]:.4g} on {int(bad.sum())} of {paths} paths")
    times = stats[:, 3].copy()
    return ExitTimeEstimate(float(times.mean()), float(times.std(ddof=1) / math.sqrt(paths)),
                            float(eps) if eps is not None else math.nan, int(paths), times,
                            int(stats[:, 0].sum()))

