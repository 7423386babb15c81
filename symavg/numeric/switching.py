r"""Ensembles of switching SDEs and piecewise-deterministic Markov processes.

:func:`simulate_switching` (reached through :func:`symavg.simulate`) runs
``paths`` copies of a :class:`~symavg.SwitchingSDE`

.. math::

    dX_t = b_{S_t}(X_t)\,dt + \sigma_{S_t}(X_t)\,dW_t, \qquad
    P(S_{t+dt} = j \mid S_t = i, X_t = x) = Q_{ij}(x)\,dt \quad (j \ne i),

with a generated kernel (:mod:`symavg.numeric.switching_kernel`; numba when
installed, the same code interpreted otherwise), the chunking, seeding and
executors of :func:`symavg.simulate`, and returns an
:class:`~symavg.numeric.simulate.Ensemble` whose variables are the continuous
state followed by the chain's symbol (its value: the index of the chain state
in ``chain.states``, as a float).

**Jump times.** With the total exit rate :math:`\lambda_i(x) = -Q_{ii}(x)`,
the waiting time in state :math:`i` is the first :math:`\tau` with
:math:`\int_0^\tau \lambda_i(X_u)\,du = E`, :math:`E \sim \mathrm{Exp}(1)`
drawn afresh after every jump; the new state is :math:`j` with probability
:math:`Q_{ij}/\lambda_i` at the jump point.

**PDMP (no noise), exact states.** In a chain state whose drift is affine and
diagonal, :math:`b_{i,k}(x) = c_k + a_k x_k`, and whose rates do not depend on
``x``, the flow is :math:`x_k(h) = x_k + (c_k + a_k x_k)\,h\,\varphi_1(a_k h)`,
:math:`\varphi_1(u) = (e^u - 1)/u`, and the waiting time is exactly
:math:`(E - H)/\lambda_i` (:math:`H` the hazard used up since the last jump):
no time stepping at all, the paths are exact up to rounding.

**PDMP, other states.** Classical RK4 on the augmented system
:math:`\dot x = b_i(x)`, :math:`\dot H = \lambda_i(x)` with the step
:math:`\Delta t = 4 f / R` (:math:`f` = ``dt_factor``, default 0.05, so
:math:`0.2/R`), :math:`R` the largest of the spectral radius of the drifts'
Jacobians and :math:`|\nabla\lambda_i\cdot b_i|/\lambda_i` at the start, and
at most :math:`T/20`. In the step where :math:`H` passes :math:`E` the jump
time is located by the root of the cubic Hermite interpolant of :math:`H`
(bisection), refined by two Newton steps on :math:`H(\theta) - E` with RK4
sub-steps of length :math:`\theta` from the start of the step, and the path
is restarted there. The flow and the jump times are fourth-order accurate:
global error :math:`O(\Delta t^4)`; steps end at the save times, which are
therefore hit exactly.

**Switching SDE (noise).** Euler-Maruyama steps of
:math:`\Delta t = f / R`, :math:`R` as above and at least the largest exit
rate :math:`\lambda_i(x_0)`, at most :math:`T/100`; the hazard accumulates
:math:`\lambda_i(x_n)\Delta t` per step and the chain switches at the end of
the step where it passes :math:`E`, to :math:`j` with probability
:math:`Q_{ij}(x_n)/\lambda_i(x_n)`: weak order one in :math:`\Delta t`.

**Initial chain state.** Drawn for every path from the stationary law
:math:`\pi(x_0)` of :math:`Q(x_0)` (``pi Q = 0``, solved numerically per
distinct ``x0``), unless ``s0`` names a state.

The random numbers of one path are drawn in a fixed order from its chunk's
generator (the initial states of the chunk first), so the numba kernel and the
interpreted fallback give the same paths.
"""

from __future__ import annotations

import math
import os
from collections.abc import Hashable, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any

import numpy as np
import sympy as sp

from ..errors import ModelError, SimulationError
from .codegen import evaluate_derived, load_source
from .plan import substitute_functions, undefined_functions
from .simulate import (
    Ensemble,
    _backend,
    _gather,
    _initial,
    _key,
    _memo,
    _parameter_values,
    _SerialExecutor,
)
from .switching_kernel import SwitchingKernel, build_switching_kernel

_ERRORS = {1: "a jump rate is negative (or NaN)", 2: "the state is not finite (blow-up)",
           3: "more than max_events jumps and steps on one path"}


@dataclass(frozen=True)
class SwitchingCoefficients:
    """The numeric view of a :class:`~symavg.SwitchingSDE` (what the kernel is built from).

    ``state``, ``fast``, ``parameters``, ``eps_symbol`` and ``name`` have the
    meaning of :class:`~symavg.numeric.plan.ModelCoefficients` (so the
    parameter and ``x0`` checks of :func:`symavg.simulate` apply unchanged).
    """

    state: tuple[sp.Symbol, ...]
    labels: tuple[Hashable, ...]
    symbol: sp.Symbol
    Q: sp.ImmutableMatrix
    drifts: tuple[tuple[sp.Expr, ...], ...]
    noise: tuple[tuple[sp.Expr, ...], ...] | None
    m: int
    parameters: tuple[sp.Symbol, ...]
    eps_symbol: sp.Symbol | None
    name: str
    fast: tuple[sp.Symbol, ...] = ()
    #: the scale parameter that ``eps=`` sets (the model's ``eps``)
    scale: sp.Symbol | None = None


def switching_coefficients(model: Any, functions: Mapping | None = None
                           ) -> SwitchingCoefficients:
    """Read rates, drifts and noise off a :class:`~symavg.SwitchingSDE`."""
    chain = model.chain
    name = (f"{'PDMP' if model.is_pdmp else 'switching SDE'} in {list(model.state)} with "
            f"chain states {list(chain.states)}")
    Q = sp.ImmutableMatrix(chain.Q.applyfunc(lambda e: substitute_functions(e, functions)))
    drifts = tuple(tuple(substitute_functions(e, functions) for e in d) for d in model.drift)
    noise = None
    m = 0
    if model.noise is not None:
        m = model.noise[0].shape[1]
        noise = tuple(tuple(substitute_functions(e, functions) for e in s) for s in model.noise)
    exprs = [*Q, *(e for d in drifts for e in d), *(e for s in noise or () for e in s)]
    left = undefined_functions(exprs)
    if left:
        raise SimulationError(
            f"{name}: the undefined function(s) {left} need a definition to simulate: pass "
            f"functions={{{left[0]}: sympy.Lambda(x, ...)}}")
    syms: set[sp.Symbol] = set()
    for e in exprs:
        syms |= e.free_symbols
    if chain.symbol in syms:
        raise ModelError(f"{name}: the coefficients use the chain's symbol {chain.symbol}; "
                         "give one drift per chain state instead")
    params = tuple(sorted(syms - set(model.state), key=lambda z: z.name))
    eps_sym = model.eps if model.eps in syms else None
    return SwitchingCoefficients(tuple(model.state), tuple(chain.states), chain.symbol, Q,
                                 drifts, noise, m, params, eps_sym, name, scale=model.eps)


_COEFFS: dict[Any, SwitchingCoefficients] = {}
_KERNELS: dict[Any, SwitchingKernel] = {}


def _kernel(model: Any, functions: Mapping | None) -> tuple[SwitchingCoefficients,
                                                             SwitchingKernel]:
    key = _key(model, functions, "switching")
    co = _memo(_COEFFS, key, lambda: switching_coefficients(model, functions))
    ks = _memo(_KERNELS, key, lambda: build_switching_kernel(
        co.state, sp.Matrix(co.Q), [list(d) for d in co.drifts],
        None if co.noise is None else [list(s) for s in co.noise], co.m, co.parameters,
        co.name))
    return co, ks


def kernel_parameters(model: Any, params: Mapping | None, eps: float | None
                      ) -> tuple[SwitchingCoefficients, SwitchingKernel, np.ndarray]:
    """The compiled kernel of a switching model and its parameter vector ``p`` (the
    model's parameters at ``params`` and ``eps``, then the kernel's derived constants), as
    the exit-time and splitting routes pass them."""
    co, ks = _kernel(model, None)
    values = _parameter_values(co, params, eps)  # type: ignore[arg-type]
    derived = evaluate_derived(ks.derived, values)
    p = np.array([values[s] for s in co.parameters] + [derived[s] for s, _ in ks.derived],
                 dtype=float)
    return co, ks, p


# ------------------------------------------------------------------ tasks
@dataclass(frozen=True)
class _SwitchTask:
    source: str
    plain: str
    p: np.ndarray
    dt: float
    times: np.ndarray
    z0: np.ndarray
    z0_paths: np.ndarray | None
    s0: int | None
    pi: np.ndarray | None          # (N,) stationary law at a common x0, or None
    seed: np.random.SeedSequence
    start: int
    size: int
    max_events: int


def stationary_numeric(Q: np.ndarray) -> np.ndarray:
    r"""Stationary laws of rate matrices ``Q`` of shape ``(..., N, N)``: :math:`\pi Q = 0`,
    :math:`\sum\pi = 1` (one equation of :math:`Q^T\pi = 0` replaced by the sum)."""
    A = np.swapaxes(np.array(Q, dtype=float), -1, -2).copy()
    A[..., -1, :] = 1.0
    rhs = np.zeros(A.shape[:-1])
    rhs[..., -1] = 1.0
    pi = np.linalg.solve(A, rhs[..., None])[..., 0]
    return np.clip(pi, 0.0, None) / np.clip(pi, 0.0, None).sum(axis=-1, keepdims=True)


def _rate_matrix(plain: Any, nstates: int, Z: np.ndarray, p: np.ndarray) -> np.ndarray:
    """``Q(z)`` for the columns of ``Z`` (shape ``(P, N, N)``), diagonal filled in."""
    P = Z.shape[1]
    Q = np.zeros((P, nstates, nstates))
    for i in range(nstates):
        row = plain.rates(i, *Z, *p)
        for j in range(nstates):
            Q[:, i, j] = np.broadcast_to(np.asarray(row[j], dtype=float), (P,))
        Q[:, i, i] = -Q[:, i].sum(axis=1)
    return Q


def _initial_states(task: _SwitchTask, Z: np.ndarray, rng: np.random.Generator,
                    nstates: int) -> np.ndarray:
    if task.s0 is not None:
        return np.full(task.size, task.s0, dtype=np.int64)
    if task.pi is not None:
        pi = np.broadcast_to(task.pi, (task.size, nstates))
    else:
        plain = load_source(task.plain, "swi")
        pi = stationary_numeric(_rate_matrix(plain, nstates, Z, task.p))
    u = rng.random(task.size)
    cdf = np.cumsum(pi, axis=1)
    s = (u[:, None] >= cdf[:, :-1]).sum(axis=1)
    return s.astype(np.int64)


def _run_chunk(task: _SwitchTask) -> tuple[np.ndarray, np.ndarray]:
    mod = load_source(task.source, "swi")
    rng = np.random.default_rng(task.seed)
    n = task.z0.shape[0]
    Z = np.empty((n, task.size))
    Z[:] = task.z0[:, None]
    if task.z0_paths is not None:
        Z[:] = task.z0_paths
    S = _initial_states(task, Z, rng, mod.NS)
    out = np.empty((len(task.times), n + 1, task.size))
    stats = np.zeros((task.size, 4))
    with np.errstate(over="ignore", invalid="ignore"):
        mod.run(Z, S, task.p, task.times, out, rng, task.dt, stats, task.max_events)
    return out, stats


# ------------------------------------------------------------------ step size
def _fastest_rate(plain: Any, co: SwitchingCoefficients, z: np.ndarray, p: np.ndarray,
                  noisy: bool) -> tuple[float, str]:
    """Largest rate at ``z`` over the chain states: the spectral radius of the drift's
    Jacobian (central differences), the relative change of the hazard along the flow,
    and for a switching SDE the exit rate itself."""
    n = len(co.state)
    best, why = 0.0, "unit time scale (no rate found)"
    with np.errstate(all="ignore"):
        for i in range(len(co.labels)):
            b = np.array(plain.drift(i, *z, *p), dtype=float)
            J = np.empty((n, n))
            for k in range(n):
                hk = 1e-6 * max(1.0, abs(z[k]))
                zp, zm = z.copy(), z.copy()
                zp[k] += hk
                zm[k] -= hk
                J[:, k] = (np.array(plain.drift(i, *zp, *p)) - np.array(plain.drift(i, *zm, *p))
                           ) / (2 * hk)
            if np.isfinite(J).all():
                r = float(np.abs(np.linalg.eigvals(J)).max())
                if r > best:
                    best, why = r, "spectral radius of the drift's Jacobian"
            lam = float(plain.hazard(i, *z, *p))
            nb = float(np.linalg.norm(b))
            if lam > 0 and nb > 0:
                hb = 1e-6 / nb * max(1.0, float(np.linalg.norm(z)))
                dl = (float(plain.hazard(i, *(z + hb * b), *p)) - lam) / hb
                r = abs(dl) / lam
                if math.isfinite(r) and r > best:
                    best, why = r, "change of the jump rate along the flow"
            if noisy and math.isfinite(lam) and lam > best:
                best, why = lam, f"exit rate of the chain state {co.labels[i]!r}"
    if not best > 0:
        return 1.0, why
    return best, why


# ------------------------------------------------------------------ main
def simulate_switching(model: Any, x0: Mapping, T: float, *, eps: float | None = None,
                       params: Mapping | None = None, paths: int = 10_000,
                       dt: float | None = None, seed: int | None = None,
                       saveat: Sequence[float] | None = None, s0: Hashable | None = None,
                       backend: str = "auto", executor: Any = None,
                       functions: Mapping | None = None, chunk_size: int = 4096,
                       dt_factor: float = 0.05, max_events: int = 100_000_000) -> Ensemble:
    r"""Simulate ``paths`` copies of a :class:`~symavg.SwitchingSDE` (see the module docstring).

    Parameters
    ----------
    model : SwitchingSDE
    x0 : dict {Symbol: float or array of shape (paths,)}
        Initial values of every continuous variable.
    T : float
        Final time.
    eps : float, optional
        Value of the model's scale parameter ``model.eps`` (when the rates or
        drifts use it).
    params : dict {Symbol: float}
        Values of the other parameters.
    paths, seed, chunk_size, executor, backend, functions
        As in :func:`symavg.simulate`: chunks of ``chunk_size`` paths, each with
        its own child of ``SeedSequence(seed)``; the result does not depend on
        the executor.
    saveat : sequence of float, optional
        Times to save, default ``[0, T]``; hit exactly (no step grid).
    s0 : label, optional
        Initial chain state of every path; default: drawn from the stationary
        law of ``Q(x0)`` per path.
    dt : float, optional
        Step of the RK4 (PDMP) or Euler-Maruyama (noise) stepping; unused in the
        exact chain states. Default from ``dt_factor`` (module docstring).
    max_events : int
        Guard against runaway paths (jumps plus steps per path).

    Returns
    -------
    Ensemble
        Variables ``(*model.state, chain.symbol)``; ``dt`` is NaN when every
        chain state is flowed exactly; ``info`` holds ``jumps`` and ``steps``
        (totals over paths), ``exact states``, ``initial chain law``.

    Raises
    ------
    ModelError
        A missing ``x0``, ``s0`` not a state, a negative rate at the given
        parameters and ``x0``, bad ``T``, ``paths`` or ``saveat``.
    SimulationError
        Missing parameter values, or a path whose rate turned negative or whose
        state blew up (the message names the time and the number of paths).
    """
    co, ks = _kernel(model, functions)
    values = _parameter_values(co, params, eps)  # type: ignore[arg-type]
    if not (T > 0 and math.isfinite(T)):
        raise ModelError(f"T must be a positive number; got {T}")
    if paths <= 0:
        raise ModelError(f"paths must be positive; got {paths}")
    backend = _backend(backend)
    derived = evaluate_derived(ks.derived, values)
    p = np.array([values[s] for s in co.parameters] + [derived[s] for s, _ in ks.derived],
                 dtype=float)
    plain = load_source(ks.numpy_source, "swi")
    z0, z0_paths, _ = _initial(co, x0, paths)  # type: ignore[arg-type]
    s_index = None if s0 is None else model.chain.index(s0)
    N = len(co.labels)

    # rates at x0 (per distinct start) must be rates: nonnegative and finite
    starts = z0[:, None] if z0_paths is None else np.unique(z0_paths, axis=1)
    Q0 = _rate_matrix(plain, N, starts, p)
    for i in range(N):
        for j in range(N):
            bad = ~(Q0[:, i, j] >= 0) if i != j else np.zeros(Q0.shape[0], bool)
            if bad.any():
                c = int(np.argmax(bad))
                raise ModelError(
                    f"{co.name}: the rate Q[{co.labels[i]!r}, {co.labels[j]!r}] = "
                    f"{co.Q[i, j]} is {Q0[c, i, j]:.6g} at the parameters "
                    f"{ {str(k): v for k, v in values.items()} } and "
                    f"{ {str(x): float(starts[k, c]) for k, x in enumerate(co.state)} }: "
                    "jump rates must be >= 0")
    pi = None
    if s_index is None and z0_paths is None:
        pi = stationary_numeric(Q0[0])

    times = np.array([0.0, float(T)] if saveat is None else sorted(float(s) for s in saveat))
    if times.min() < 0 or times.max() > T * (1 + 1e-12):
        raise ModelError(f"saveat times must lie in [0, T] = [0, {T}]")
    times = np.unique(np.minimum(times, T))

    exact_all = all(ks.exact) and co.noise is None
    R, why = _fastest_rate(plain, co, np.where(np.isnan(z0), 0.0, z0), p, co.noise is not None)
    if dt is not None:
        dt_used = float(dt)
        if not dt_used > 0:
            raise ModelError(f"dt must be positive; got {dt}")
    elif co.noise is None:
        dt_used = min(4 * dt_factor / R, T / 20)
    else:
        dt_used = min(dt_factor / R, T / 100)
    if exact_all:
        dt_used = math.nan

    nchunks = max(1, math.ceil(paths / chunk_size))
    seeds = np.random.SeedSequence(seed).spawn(nchunks)
    source = ks.source(backend)
    tasks = []
    for c in range(nchunks):
        start = c * chunk_size
        size = min(chunk_size, paths - start)
        zp = None if z0_paths is None else z0_paths[:, start:start + size]
        tasks.append(_SwitchTask(source, ks.numpy_source, p,
                                 dt_used if math.isfinite(dt_used) else 1.0, times, z0, zp,
                                 s_index, pi, seeds[c], start, size, int(max_events)))
    own = None
    if executor is None:
        if nchunks > 1 and backend == "numba":
            own = ThreadPoolExecutor(max_workers=min(os.cpu_count() or 1, nchunks))
            executor = own
        else:
            executor = _SerialExecutor()
    n = len(co.state)
    out = np.empty((len(times), n + 1, paths))
    stats = np.empty((paths, 4))
    try:
        futures = [executor.submit(_run_chunk, t) for t in tasks]
        for i, (t, (arr, st)) in enumerate(zip(tasks, _gather(futures, co.name))):
            futures[i] = None
            out[:, :, t.start:t.start + t.size] = arr
            stats[t.start:t.start + t.size] = st
    finally:
        if own is not None:
            own.shutdown()
    failed = stats[:, 2] != 0
    if failed.any():
        first = int(np.argmin(np.where(failed, stats[:, 3], np.inf)))
        code = int(stats[first, 2])
        raise SimulationError(
            f"{co.name}: {_ERRORS.get(code, 'error')} at t = {stats[first, 3]:.4g} on "
            f"{int(failed.sum())} of {paths} paths ({failed.mean():.2%}); check the signs of "
            "the rates and drifts at the states the paths reach"
            + ("; use a smaller dt" if code == 2 and co.noise is not None else ""))
    state = (*co.state, co.symbol)
    if co.noise is not None:
        scheme = "euler-maruyama + hazard per step"
    elif exact_all:
        scheme = "exact flow + exponential waiting times"
    elif not any(ks.exact):
        scheme = "rk4 + located jump times"
    else:
        scheme = "exact flow / rk4 by chain state"
    schemes = {x: scheme for x in co.state} | {co.symbol: "jump at the integrated hazard"}
    law = (f"s0 = {s0!r}" if s_index is not None else
           "stationary law of Q(x0)" + (" per path" if z0_paths is not None else
                                        f" = {np.round(pi, 6).tolist()}"))
    info = {"backend": backend, "chunks": nchunks, "jumps": int(stats[:, 0].sum()),
            "steps": int(stats[:, 1].sum()), "initial chain law": law,
            "exact states": [lab for lab, e in zip(co.labels, ks.exact) if e and
                             co.noise is None],
            "chain states": list(co.labels), "fastest rate": R, "rate from": why,
            "model": co.name}
    return Ensemble(times, state, out, dt_used, schemes, values, info)
