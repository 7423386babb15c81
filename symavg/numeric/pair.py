r"""Time-step check with common random numbers: the same paths at ``dt`` and ``dt/2``.

:func:`simulate_pair` advances two copies of every path: one with the step
:math:`h = \Delta t/2`, one with :math:`\Delta t`, where each long step takes its
normals from the two short steps it spans (summing pairs of Brownian
increments; for exact Ornstein-Uhlenbeck steps the stochastic integral
:math:`I = e^{-\lambda h}I_a + I_b`, see
:func:`symavg.numeric.kernel._coarse_normals`). The long copy has exactly the law
of the scheme with step :math:`\Delta t`, the short one of the scheme with
:math:`\Delta t/2`, and the two stay close path by path, so

.. math::

    \hat\beta = \frac1N\sum_p \bigl[\varphi(X^{\Delta t}_{T,p})
    - \varphi(X^{\Delta t/2}_{T,p})\bigr]

estimates the time-step bias :math:`\mathbb E\varphi(X^{\Delta t}_T) - \mathbb
E\varphi(X^{\Delta t/2}_T)` with a variance of order :math:`\Delta t` times that of two
independent runs. Both copies start from the same state (fast variables drawn
once from their invariant law, or one burn-in).
"""

from __future__ import annotations

import math
import os
from collections.abc import Mapping
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any

import numpy as np
import sympy as sp

from ..errors import ModelError, SimulationError
from .codegen import evaluate_derived, load_source
from .kernel import build_kernel
from .plan import model_scale
from .simulate import (
    Ensemble,
    _backend,
    _coefficients,
    _initial,
    _key,
    _memo,
    _parameter_values,
    _sampler,
    _SerialExecutor,
    _tables,
)

_PAIR_KERNELS: dict[Any, Any] = {}


@dataclass(frozen=True)
class _PairTask:
    source: str
    p: np.ndarray
    dt_fine: float
    nsteps: int
    z0: np.ndarray
    sampler: Any
    burn_steps: int
    burn_dt: float
    fast_rows: tuple[int, ...]
    seed: np.random.SeedSequence
    size: int
    check_every: int


def _run_pair_chunk(task: _PairTask) -> tuple[np.ndarray, np.ndarray, int, int]:
    mod = load_source(task.source, "pair")
    rng = np.random.default_rng(task.seed)
    n = task.z0.shape[0]
    Z = np.empty((n, task.size))
    Z[:] = task.z0[:, None]
    with np.errstate(over="ignore", invalid="ignore"):
        task.sampler.draw(Z, rng)
        if task.sampler.kind == "burn-in":
            rows = list(task.fast_rows)
            Z[rows] = np.where(np.isnan(Z[rows]), 0.0, Z[rows])
            active = np.zeros(n)
            active[rows] = 1.0
            step, bad = mod.run(Z, task.p, task.burn_dt, task.burn_steps,
                                np.zeros(0, dtype=np.int64), np.empty((0, n, task.size)), rng,
                                active, max(1, min(task.check_every, task.burn_steps // 10)),
                                0, np.zeros((0, task.size)))
            if step >= 0:
                return np.empty(0), np.empty(0), int(step), int(bad)
        Zf = Z.copy()
        save = np.array([task.nsteps], dtype=np.int64)
        outc, outf = np.empty((1, n, task.size)), np.empty((1, n, task.size))
        step, bad = mod.run_pair(Z, Zf, task.p, task.dt_fine, task.nsteps, save, outc, outf,
                                 rng, task.check_every)
    return outc, outf, int(step), int(bad)


def simulate_pair(model: Any, x0: Mapping, T: float, dt: float, *, eps: float | None = None,
                  params: Mapping | None = None, paths: int = 10_000, seed: Any = None,
                  functions: Mapping | None = None, backend: str = "auto",
                  scheme: str = "auto", executor: Any = None, chunk_size: int = 4096,
                  dt_factor: float = 0.05) -> tuple[Ensemble, Ensemble]:
    r"""The final states of the same paths with the steps ``dt`` and ``dt/2``.

    Returns ``(coarse, fine)``, two :class:`~symavg.numeric.simulate.Ensemble`
    objects saved at ``[T]`` whose paths correspond one to one.

    Examples
    --------
    >>> import sympy as sp, symavg as sa
    >>> x = sp.Symbol("x", real=True)
    >>> m = sa.SDE([x], [-x], noise=[[1]])
    >>> c, f = simulate_pair(m, {x: 1.0}, 1.0, 0.1, paths=2000, seed=0, backend="numpy")
    >>> d = c[x][-1] - f[x][-1]
    >>> bool(d.std() < 0.1 * c[x][-1].std())     # same Brownian paths
    True
    """
    scale = model_scale(model, None, "simulate_pair")
    co = _coefficients(model, functions, scale)
    values = _parameter_values(co, params, eps)
    if not (T > 0 and math.isfinite(T)):
        raise ModelError(f"T must be a positive number; got {T}")
    nsteps = max(int(round(T / dt)), 1)
    if abs(nsteps * dt - T) > 1e-9 * T:
        raise ModelError(f"simulate_pair: dt = {dt} must divide T = {T}")
    backend = _backend(backend)
    ks = _memo(_PAIR_KERNELS, _key(model, functions, (scale, scheme, backend)),
               lambda: build_kernel(co, scheme, backend, pair=True))
    derived = evaluate_derived(ks.derived, values)
    tables, _ = _tables(ks, co, values, None)
    p = np.array([values[s] for s in co.parameters] + [derived[s] for s, _ in ks.derived]
                 + tables, dtype=float)
    z0, z0_paths, missing = _initial(co, x0, paths)
    if z0_paths is not None:
        raise ModelError("simulate_pair takes one start value per variable (no per-path arrays)")
    sampler, fast_rows = _sampler(model, co, functions, z0, missing, values, False)
    # the burn-in (when no invariant law is known): ``dt`` resolves the fastest scale
    # (it is the step simulate chose, dt_factor / R), so 20 / dt_factor steps span 20
    # relaxation times, as in simulate
    burn, burn_dt = 0, dt
    if sampler.kind == "burn-in":
        burn = int(math.ceil(20.0 / dt_factor))
    nchunks = max(1, math.ceil(paths / chunk_size))
    seeds = np.random.SeedSequence(seed).spawn(nchunks)
    tasks = [_PairTask(ks.source, p, dt / 2, nsteps, z0, sampler, burn, burn_dt, fast_rows,
                       seeds[c], min(chunk_size, paths - c * chunk_size),
                       max(1, min(1000, nsteps // 10 or 1))) for c in range(nchunks)]
    own = None
    if executor is None:
        if nchunks > 1 and backend == "numba":
            own = executor = ThreadPoolExecutor(max_workers=min(os.cpu_count() or 1, nchunks))
        else:
            executor = _SerialExecutor()
    try:
        results = [f.result() for f in [executor.submit(_run_pair_chunk, t) for t in tasks]]
    finally:
        if own is not None:
            own.shutdown()
    failed = [(s, b) for _, _, s, b in results if s != -1]
    if failed:
        raise SimulationError(
            f"{co.name} blew up (NaN or overflow) in the time-step check (steps {dt:.3g} and "
            f"{dt / 2:.3g}) at step {min(s for s, _ in failed)}: use a smaller dt")
    outc = np.concatenate([r[0] for r in results], axis=2)
    outf = np.concatenate([r[1] for r in results], axis=2)
    t = np.array([T])
    info = {"backend": backend, "chunks": nchunks, "fast initial law": sampler.note,
            "coupling": "common Brownian increments (pairs of half steps)"}
    return (Ensemble(t, co.state, outc, dt, ks.schemes, values, dict(info)),
            Ensemble(t, co.state, outf, dt / 2, ks.schemes, values, dict(info)))


def step_bias(coarse: Ensemble, fine: Ensemble, observable: sp.Expr) -> tuple[float, float]:
    """Mean of ``phi(coarse) - phi(fine)`` at the final time and its standard error."""
    d = coarse.evaluate(observable)[-1] - fine.evaluate(observable)[-1]
    return float(d.mean()), float(d.std(ddof=1) / math.sqrt(d.size))
