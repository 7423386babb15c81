r"""Compiled trajectories of deterministic flows and maps, and their time averages.

**Flows** :math:`\dot z = F(z)` are integrated with the classical fixed-step
fourth-order Runge-Kutta scheme (local error :math:`O(\Delta t^5)`), compiled
with numba from straight-line code of ``F`` (``sympy.cse``); one trajectory is
one task on an executor (threads by default: the kernels release the GIL).

**Maps** :math:`z_{k+1} = T(z_k)` are iterated in floating point, except
components ``Mod(k*y, 1)`` with an integer ``k >= 2`` (see
:class:`~symavg.models.deterministic.DeterministicMap`): a double has 53
mantissa bits and ``2*y mod 1`` discards one per step, so the floating-point
orbit of the doubling map is 0 after at most ~53 steps (the invariant Lebesgue
measure is lost). Such a component is held exactly as an integer
:math:`N < k^m` with :math:`k^m \le 2^{53}` (``y = N / k^m``, the first ``m``
base-``k`` digits of ``y``) and one step is

.. math::

    N \mapsto (k N \bmod k^m) + d, \qquad d \sim \mathrm{Uniform}\{0,\dots,k-1\},

the shift of the digit sequence with a fresh random digit entering at the
bottom. This is the exact orbit of the point whose base-``k`` expansion is the
whole (random) digit sequence, i.e. of a Lebesgue-random initial condition,
resolved to :math:`k^{-m}` at every step.

**Time averages** (:func:`time_averages`): each trajectory's burn-in is found
by the MSER-5 rule (White 1997, "An effective truncation heuristic for bias
reduction in simulation output", *Simulation* 69:323; the truncation that
minimises the standard error of the remaining batch means of 5), the means of
the trajectories and their batch-means errors are tested for agreement
(:math:`\chi^2` of homogeneity), and disagreement is an
:class:`~symavg.errors.ErgodicityError`.
"""

from __future__ import annotations

import math
import os
from collections.abc import Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import sympy as sp

from .. import _progress
from ..errors import ErgodicityError, ModelError, SimulationError
from ..models.deterministic import DeterministicFlow, DeterministicMap
from .codegen import have_numba, load_source, straight_line

System = DeterministicFlow | DeterministicMap


# ------------------------------------------------------------------ codegen
def _mod1(e: sp.Expr) -> sp.Expr:
    """``Mod(a, 1)`` written as ``a - floor(a)`` (numba has no SymPy Mod printer)."""
    return e.replace(lambda a: isinstance(a, sp.Mod) and a.args[1] == 1,
                     lambda a: a.args[0] - sp.floor(a.args[0]))


def _body(name: str, exprs: Sequence[sp.Expr], state: Sequence[sp.Symbol],
          params: Sequence[sp.Symbol]) -> list[str]:
    zs = {s: sp.Symbol(f"z_{i}") for i, s in enumerate(state)}
    ps = {s: sp.Symbol(f"p_{i}") for i, s in enumerate(params)}
    exprs = [_mod1(sp.sympify(e)).xreplace({**zs, **ps}) for e in exprs]
    lines = [f"def {name}(z, p, out):"]
    lines += [f"    z_{i} = z[{i}]" for i in range(len(state))]
    lines += [f"    p_{i} = p[{i}]" for i in range(len(params))]
    lines += straight_line(exprs, [f"out[{k}]" for k in range(len(exprs))], tmp="_t")
    return lines


_TEMPLATE = '''
@njit
def record(z, p, o, res, s):
    """Row ``s`` of ``res`` gets the observables at ``z``; returns ``s + 1``
    (shared by the flow, the map and the exact shift)."""
    obs(z, p, o)
    for j in range(o.shape[0]):
        res[s, j] = o[j]
    return s + 1


@njit
def run_flow(z, p, dt, n_burn, n_samples, every, res):
    n = z.shape[0]
    k1 = np.empty(n); k2 = np.empty(n); k3 = np.empty(n); k4 = np.empty(n); w = np.empty(n)
    o = np.empty(res.shape[1])
    total = n_burn + n_samples * every
    s = 0
    for i in range(total):
        if i >= n_burn and (i - n_burn) % every == 0:
            s = record(z, p, o, res, s)
        rhs(z, p, k1)
        for j in range(n):
            w[j] = z[j] + 0.5 * dt * k1[j]
        rhs(w, p, k2)
        for j in range(n):
            w[j] = z[j] + 0.5 * dt * k2[j]
        rhs(w, p, k3)
        for j in range(n):
            w[j] = z[j] + dt * k3[j]
        rhs(w, p, k4)
        for j in range(n):
            z[j] += dt / 6.0 * (k1[j] + 2.0 * k2[j] + 2.0 * k3[j] + k4[j])
        if not np.isfinite(z[0]):
            return i + 1
    return 0


@njit
def run_map(z, p, n_burn, n_samples, every, res):
    n = z.shape[0]
    w = np.empty(n)
    o = np.empty(res.shape[1])
    total = n_burn + n_samples * every
    s = 0
    for i in range(total):
        if i >= n_burn and (i - n_burn) % every == 0:
            s = record(z, p, o, res, s)
        rhs(z, p, w)
        for j in range(n):
            z[j] = w[j]
        if not np.isfinite(z[0]):
            return i + 1
    return 0


@njit
def run_shift(N, k, base, digits, p, n_burn, n_samples, every, res):
    n = N.shape[0]
    z = np.empty(n)
    o = np.empty(res.shape[1])
    total = n_burn + n_samples * every
    s = 0
    for i in range(total):
        if i >= n_burn and (i - n_burn) % every == 0:
            for j in range(n):
                z[j] = N[j] / base[j]
            s = record(z, p, o, res, s)
        for j in range(n):
            N[j] = (k[j] * N[j]) % base[j] + digits[i, j]
    return 0


@njit
def run_skew(Z, N, k, base, sidx, seed, p, n_burn, n_samples, every, res):
    # paths Z[r] (the floats) and N[r] (the digit-held shift components), one chunk
    np.random.seed(seed)
    n = Z.shape[1]
    ns = N.shape[1]
    w = np.empty(n)
    o = np.empty(res.shape[2])
    total = n_burn + n_samples * every
    for r in range(Z.shape[0]):
        z = Z[r]
        s = 0
        for i in range(total):
            for j in range(ns):
                z[sidx[j]] = N[r, j] / base[j]
            if i >= n_burn and (i - n_burn) % every == 0:
                obs(z, p, o)
                for q in range(o.shape[0]):
                    res[r, s, q] = o[q]
                s += 1
            rhs(z, p, w)
            for j in range(n):
                if not np.isfinite(w[j]):
                    return i + 1
                z[j] = w[j]
            for j in range(ns):
                N[r, j] = (k[j] * N[r, j]) % base[j] + np.random.randint(0, k[j])
        for j in range(ns):
            z[sidx[j]] = N[r, j] / base[j]
    return 0
'''


def _source(system: System, observables: Sequence[sp.Expr], params: Sequence[sp.Symbol],
            numba: bool) -> str:
    head = ["import math", "import numpy", "import numpy as np"]
    if numba:
        head += ["import numba", "njit = numba.njit(cache=True, nogil=True)"]
    else:
        head += ["def njit(f):", "    return f"]
    lines = head + ["", "@njit"] + _body("rhs", list(system.rhs), system.state, params)
    lines += ["", "@njit"] + _body("obs", observables, system.state, params)
    return "\n".join(lines) + "\n" + _TEMPLATE


@dataclass
class Compiled:
    """Kernels of one system and observable list."""

    system: System
    observables: tuple[sp.Expr, ...]
    params: tuple[sp.Symbol, ...]
    module: Any
    values: np.ndarray


def compile_system(system: System, observables: Sequence[sp.Expr],
                   params: Mapping | None = None, backend: str = "auto") -> Compiled:
    """Compile ``system`` and ``observables`` at the parameter values ``params``.

    Every free symbol of the right-hand side and of the observables that is
    not a state variable needs a value in ``params`` (a named error
    otherwise).
    """
    if not isinstance(system, DeterministicFlow | DeterministicMap):
        raise ModelError(f"expected a DeterministicFlow or DeterministicMap; got "
                         f"{type(system).__name__}")
    obs = tuple(sp.sympify(o) for o in observables)
    given = {k: v for k, v in dict(params or {}).items()}
    for k in given:
        if not isinstance(k, sp.Symbol):
            raise ModelError(f"params keys must be SymPy symbols; got {k!r}")
    syms = set().union(*(e.free_symbols for e in system.rhs), *(o.free_symbols for o in obs))
    need = sorted(syms - set(system.state), key=lambda s: s.name)
    missing = [s for s in need if s not in given]
    if missing:
        raise SimulationError(
            f"no value for {missing} (in the right-hand side or an observable of "
            f"{system!r}): pass params={{{missing[0]}: ...}}")
    vals = np.array([float(given[s]) for s in need], dtype=float)
    if backend == "auto":
        backend = "numba" if have_numba() else "numpy"
    src = _source(system, obs, need, backend == "numba")
    return Compiled(system, obs, tuple(need), load_source(src, "chaos"), vals)


# ------------------------------------------------------------------ trajectories
@dataclass
class Trajectories:
    """Observables sampled along several trajectories.

    Attributes
    ----------
    values : ndarray, shape (paths, n_samples, n_observables)
    spacing : float
        Time between samples (``dt * every`` for a flow, ``every`` for a map).
    observables : tuple of Expr
    info : dict
        Step, burn-in steps, scheme, final states.
    """

    values: np.ndarray
    spacing: float
    observables: tuple[sp.Expr, ...]
    info: dict[str, Any] = field(default_factory=dict)


def _default_executor() -> Any:
    return ThreadPoolExecutor(max_workers=os.cpu_count() or 1)


def _initial_states(system: System, y0: Any, paths: int, rng: np.random.Generator
                    ) -> np.ndarray:
    n = system.dim
    if y0 is None:
        if isinstance(system, DeterministicMap):
            return rng.random((paths, n))
        return rng.standard_normal((paths, n))
    if isinstance(y0, Mapping):
        unknown = [k for k in y0 if k not in system.state]
        if unknown:
            raise ModelError(f"y0 names {unknown}, which are not variables of {list(system.state)}")
        z = rng.standard_normal((paths, n)) if isinstance(system, DeterministicFlow) \
            else rng.random((paths, n))
        for k, v in y0.items():
            z[:, system.index(k)] = np.broadcast_to(np.asarray(v, dtype=float), (paths,))
        return z
    z = np.asarray(y0, dtype=float)
    if z.shape == (n,):
        z = np.tile(z, (paths, 1))
    if z.shape != (paths, n):
        raise ModelError(f"y0 must have shape ({n},) or ({paths}, {n}); got {z.shape}")
    return z.copy()


@_progress.one_bar("trajectories", total=lambda args: 1, unit="run")
def trajectories(system: System, observables: Sequence[sp.Expr], *, n_samples: int,
                 params: Mapping | None = None, dt: float | None = None, every: int = 1,
                 burn_in: int = 0, paths: int = 4, seed: int | None = 0, y0: Any = None,
                 executor: Any = None, backend: str = "auto",
                 progress: bool | None = None) -> Trajectories:
    r"""Sample ``observables`` along ``paths`` trajectories of ``system``.

    Parameters
    ----------
    system : DeterministicFlow or DeterministicMap
    observables : list of Expr
        Functions of the state (and parameters).
    n_samples : int
        Samples per trajectory, ``every`` steps apart.
    params : dict {Symbol: float}
    dt : float
        RK4 step of a flow (required for flows; ignored for maps).
    every : int
        Steps between samples.
    burn_in : int
        Steps discarded before the first sample.
    paths : int
        Independent trajectories, started from ``y0`` (default: standard
        normal for flows, uniform on the unit cube for maps).
    seed : int, optional
    executor : object with ``submit``, optional
        Runs one trajectory per task (default: a thread pool, one thread per core).
    progress : bool, optional
        A progress bar over the trajectories; ``None`` (default): in a terminal or a
        notebook, not under CI (:mod:`symavg._progress`).

    Returns
    -------
    Trajectories

    Examples
    --------
    >>> import sympy as sp, symavg as sa
    >>> from symavg.numeric.chaos import trajectories
    >>> y = sp.Symbol("y", real=True)
    >>> tr = trajectories(sa.DeterministicMap([y], [sp.Mod(2 * y, 1)]), [y], n_samples=1000,
    ...                   paths=2, seed=1)
    >>> tr.values.shape, bool(abs(tr.values.mean() - 0.5) < 0.05)
    ((2, 1000, 1), True)
    """
    if n_samples <= 0 or every <= 0 or burn_in < 0 or paths <= 0:
        raise ModelError("n_samples, every and paths must be positive and burn_in >= 0; got "
                         f"{n_samples}, {every}, {paths}, {burn_in}")
    comp = compile_system(system, observables, params, backend)
    mod, p = comp.module, comp.values
    rng = np.random.default_rng(seed)
    def path_streams() -> list[np.random.Generator]:
        return [np.random.default_rng(s) for s in np.random.SeedSequence(seed).spawn(paths)]
    Z = _initial_states(system, y0, paths, rng)
    k_obs = len(comp.observables)
    out = np.empty((paths, n_samples, k_obs))
    total = burn_in + n_samples * every
    if isinstance(system, DeterministicFlow):
        if dt is None or not (dt > 0 and math.isfinite(dt)):
            raise ModelError(f"a flow needs a positive step dt; got {dt}")
        scheme = "rk4"

        def job(r: int) -> int:
            return int(mod.run_flow(Z[r], p, float(dt), burn_in, n_samples, every, out[r]))
    elif system.is_shift:
        scheme = "digit shift (exact)"
        streams = path_streams()
        ks = np.array([k for _, k in system.shifts], dtype=np.int64)
        m = np.array([int(53 * math.log(2) / math.log(k)) for k in ks])
        base = np.array([k ** int(mi) for k, mi in zip(ks, m)], dtype=np.int64)
        N = np.array([[int(min(Z[r, j], 1 - 1e-16) * base[j]) for j in range(system.dim)]
                      for r in range(paths)], dtype=np.int64)
        if y0 is None:   # a Lebesgue-random start: every digit random
            N = np.stack([streams[r].integers(0, base) for r in range(paths)])

        def job(r: int) -> int:
            digits = np.stack([streams[r].integers(0, k, size=total) for k in ks],
                              axis=1).astype(np.int64)
            return int(mod.run_shift(N[r], ks, base, digits, p, burn_in, n_samples, every,
                                     out[r]))
    elif system.shifts:
        # a skew product: the shift components exactly (integer digits), the others in floats
        scheme = "digit shift (exact) driving float iteration"
        sidx = np.array([system.index(v) for v, _ in system.shifts], dtype=np.int64)
        ks = np.array([k for _, k in system.shifts], dtype=np.int64)
        m = np.array([int(53 * math.log(2) / math.log(k)) for k in ks])
        base = np.array([k ** int(mi) for k, mi in zip(ks, m)], dtype=np.int64)
        given = set() if y0 is None else (set(y0) if isinstance(y0, Mapping) else set(system.state))
        # one task per chunk of paths (many short orbits: per-task overhead dominates)
        n_chunks = min(paths, 4 * (os.cpu_count() or 1))
        chunks = np.array_split(np.arange(paths), n_chunks)
        cstreams = [np.random.default_rng(s) for s in np.random.SeedSequence(seed).spawn(n_chunks)]
        Ns = np.empty((paths, ks.size), dtype=np.int64)
        for c, idx in enumerate(chunks):
            rand = cstreams[c].integers(0, base, size=(idx.size, ks.size))
            for j, (v, _) in enumerate(system.shifts):
                Ns[idx, j] = ((np.minimum(Z[idx, sidx[j]], 1 - 1e-16) * base[j]).astype(np.int64)
                              if v in given else rand[:, j])

        seeds = [int(cs.integers(2**31)) for cs in cstreams]

        def chunk_job(c: int) -> int:
            idx = chunks[c]
            Zc, Nc, oc = Z[idx], Ns[idx], out[idx]
            bad = int(mod.run_skew(Zc, Nc, ks, base, sidx, seeds[c], p, burn_in, n_samples,
                                   every, oc))
            Z[idx], out[idx] = Zc, oc
            return bad
    else:
        scheme = "float iteration"

        def job(r: int) -> int:
            return int(mod.run_map(Z[r], p, burn_in, n_samples, every, out[r]))
    ex = executor or _default_executor()
    try:
        if system.__class__ is DeterministicMap and system.shifts and not system.is_shift:
            futures, share = [ex.submit(chunk_job, c) for c in range(n_chunks)], 1 / n_chunks
        else:
            futures, share = [ex.submit(job, r) for r in range(paths)], 1 / paths
        results = []
        for f in futures:
            results.append(f.result())
            _progress.advance(share)
    finally:
        if executor is None:
            ex.shutdown()
    bad = [(r, s) for r, s in enumerate(results) if s]
    if bad:
        r, s = bad[0]
        raise SimulationError(
            f"trajectory {r} of {system!r} blew up (NaN/overflow) at step {s}"
            + (f" (dt = {dt}): lower dt" if isinstance(system, DeterministicFlow) else ""))
    spacing = float(dt) * every if isinstance(system, DeterministicFlow) else float(every)
    return Trajectories(out, spacing, comp.observables,
                        {"dt": dt, "every": every, "burn_in_steps": burn_in, "scheme": scheme,
                         "paths": paths, "final_state": Z})


# ------------------------------------------------------------------ burn-in and averages
def mser5(series: np.ndarray) -> int:
    r"""Burn-in (in samples) of one series by the MSER-5 rule.

    With batch means :math:`b_1, \dots, b_m` of 5 samples, the truncation
    :math:`d` minimises :math:`\sum_{j>d}(b_j - \bar b_d)^2/(m-d)^2`, searched
    over the first half (White 1997, *Simulation* 69:323).

    Examples
    --------
    >>> import numpy as np
    >>> from symavg.numeric.chaos import mser5
    >>> x = np.r_[np.linspace(10, 0, 200), np.random.default_rng(0).standard_normal(5000)]
    >>> 150 <= mser5(x) <= 260
    True
    """
    m = series.size // 5
    if m < 4:
        return 0
    b = series[: 5 * m].reshape(m, 5).mean(axis=1)
    rev = b[::-1]
    cs, cs2 = np.cumsum(rev)[::-1], np.cumsum(rev ** 2)[::-1]
    cnt = np.arange(m, 0, -1, dtype=float)
    ss = cs2 - cs ** 2 / cnt
    stat = ss / cnt ** 2
    half = m // 2
    return int(np.argmin(stat[: half + 1])) * 5


def batch_means_stderr(x: np.ndarray, batches: int = 20) -> float:
    """Standard error of the mean of a correlated series by ``batches`` batch means."""
    L = x.size // batches
    if L < 1:
        return float("nan")
    b = x[: L * batches].reshape(batches, L).mean(axis=1)
    return float(b.std(ddof=1) / math.sqrt(batches))


@dataclass
class TimeAverages:
    r"""Means of observables under the invariant measure, from time averages.

    Attributes
    ----------
    observables : tuple of Expr
    mean, stderr : ndarray, shape (k,)
        Pooled means and their errors.
    path_means, path_stderr : ndarray, shape (paths, k)
        Each trajectory's time average and its batch-means error.
    burn_in : int
        Samples discarded at the start of each trajectory (MSER-5, the largest
        over trajectories and observables).
    pvalue : ndarray, shape (k,)
        :math:`\chi^2` test that all trajectories have the same mean.

    Examples
    --------
    >>> import sympy as sp, symavg as sa
    >>> y = sp.Symbol("y", real=True)
    >>> doubling = sa.DeterministicMap([y], [sp.Mod(2 * y, 1)])
    >>> av = sa.time_averages(doubling, [y], n_samples=20_000, paths=4)
    >>> m, se = av[y]                      # the invariant law is uniform on [0, 1)
    >>> bool(abs(m - 0.5) < 5 * se)
    True
    """

    observables: tuple[sp.Expr, ...]
    mean: np.ndarray
    stderr: np.ndarray
    path_means: np.ndarray
    path_stderr: np.ndarray
    burn_in: int
    pvalue: np.ndarray
    spacing: float

    def __getitem__(self, obs: sp.Expr) -> tuple[float, float]:
        i = self.observables.index(sp.sympify(obs))
        return float(self.mean[i]), float(self.stderr[i])


def check_agreement(values: np.ndarray, observables: Sequence[sp.Expr], *, alpha: float = 1e-4,
                    batches: int = 20, system: object = None) -> TimeAverages:
    """Burn-in removal, per-trajectory means and the agreement test on sampled values.

    ``values`` has shape ``(paths, n, k)``. Raises :class:`ErgodicityError`
    when the trajectories disagree or an orbit is constant.
    """
    from scipy.stats import chi2

    P, n, k = values.shape
    burn = max(mser5(values[r, :, j]) for r in range(P) for j in range(k))
    v = values[:, burn:, :]
    if v.shape[1] < 10 * batches:
        raise ModelError(f"only {v.shape[1]} samples per trajectory after a burn-in of {burn}: "
                         "run longer (n_samples)")
    pm = v.mean(axis=1)
    se = np.array([[batch_means_stderr(v[r, :, j], batches) for j in range(k)]
                   for r in range(P)])
    scale = np.abs(v).max(axis=(0, 1)) + 1e-300
    flat = se <= 1e-13 * scale
    pv = np.ones(k)
    for j in range(k):
        if flat[:, j].any() and P > 1 and np.ptp(pm[:, j]) > 1e-9 * scale[j]:
            r = int(np.argmax(flat[:, j]))
            raise ErgodicityError(
                f"{system!r}: the observable {observables[j]} is constant along trajectory {r} "
                f"(value {pm[r, j]:.6g}), which other trajectories do not share: the orbit fell "
                "onto a fixed point or periodic orbit (for a map like 2*y mod 1 in floating "
                "point, declare it as Mod(k*y, 1) so it is iterated exactly)")
        s = np.where(flat[:, j], np.nan, se[:, j])
        if P > 1 and np.isfinite(s).all():
            w = 1 / s ** 2
            mbar = (w * pm[:, j]).sum() / w.sum()
            q = float(((pm[:, j] - mbar) ** 2 * w).sum())
            # the batch-means errors carry `batches - 1` degrees of freedom: inflate the
            # statistic's reference by the t-variance factor so noise in se is not a failure
            q /= (batches - 1) / (batches - 3)
            pv[j] = float(chi2.sf(q, P - 1))
    mean = pm.mean(axis=0)
    stderr = np.sqrt((se ** 2).sum(axis=0)) / P
    for j in range(k):
        if pv[j] < alpha:
            r = int(np.argmax(np.abs(pm[:, j] - mean[j]) / np.where(se[:, j] > 0, se[:, j], 1)))
            raise ErgodicityError(
                f"{system!r}: time averages of {observables[j]} from {P} initial conditions "
                f"disagree (p = {pv[j]:.1e}; trajectory {r} gives {pm[r, j]:.6g} +- "
                f"{se[r, j]:.2g}, the pool {mean[j]:.6g}): on the simulated time the system is "
                "not ergodic (several attractors?) or the transient is not over; run longer, or "
                "start the trajectories on one attractor (y0=)")
    return TimeAverages(tuple(observables), mean, stderr, pm, se, burn, pv, 1.0)


@_progress.one_bar("time averages", total=lambda args: 1, unit="run")
def time_averages(system: System, observables: Sequence[sp.Expr], *, n_samples: int = 100_000,
                  params: Mapping | None = None, dt: float | None = None, every: int = 1,
                  paths: int = 4, seed: int | None = 0, y0: Any = None, executor: Any = None,
                  alpha: float = 1e-4, progress: bool | None = None) -> TimeAverages:
    r"""Means of ``observables`` under the invariant measure of ``system``.

    .. math::

        \langle f\rangle \approx \frac1{n - d}\sum_{k=d}^{n-1} f(z_k),

    pooled over ``paths`` trajectories from different initial conditions,
    after a burn-in :math:`d` found by MSER-5 (on the observables and the
    state variables). The trajectories' means are tested for agreement.

    Parameters
    ----------
    system : DeterministicFlow or DeterministicMap
    observables : sequence of Expr
        Functions of the state.
    n_samples : int
        Samples kept per trajectory (every ``every``-th step of size ``dt`` for a flow).
    params : dict {Symbol: number}, optional
    dt, every : step of a flow and the sampling stride.
    paths : int
        Trajectories from different initial conditions (``y0``, or random).
    seed, executor : as in :func:`symavg.simulate`.
    alpha : float
        Significance level of the agreement test.
    progress : bool, optional
        One progress bar over the trajectories (see :func:`trajectories`).

    Returns
    -------
    TimeAverages
        ``av[f]`` is ``(mean, stderr)``.

    Raises
    ------
    ErgodicityError
        The trajectories disagree beyond their errors (p < ``alpha``), or an
        orbit is stuck on a fixed point.

    Examples
    --------
    >>> import sympy as sp, symavg as sa
    >>> y1, y2, y3 = sp.symbols("y1 y2 y3", real=True)
    >>> L = sa.DeterministicFlow([y1, y2, y3], [10 * (y2 - y1), y1 * (28 - y3) - y2,
    ...                                         y1 * y2 - sp.Rational(8, 3) * y3])
    >>> av = sa.time_averages(L, [y3], n_samples=40_000, dt=0.005, every=2, paths=4)
    >>> m, se = av[y3]
    >>> bool(abs(m - 23.55) < 0.5)
    True
    """
    obs = [sp.sympify(o) for o in observables]
    extra = [s for s in system.state if s not in obs]
    tr = trajectories(system, obs + extra, n_samples=n_samples, params=params, dt=dt,
                      every=every, paths=paths, seed=seed, y0=y0, executor=executor)
    av = check_agreement(tr.values, obs + extra, alpha=alpha, system=system)
    k = len(obs)
    return TimeAverages(tuple(obs), av.mean[:k], av.stderr[:k], av.path_means[:, :k],
                        av.path_stderr[:, :k], av.burn_in, av.pvalue[:k], tr.spacing)


# ------------------------------------------------------------------ ensembles for verify
def _values_with_scale(model: System, params: Mapping | None,
                       eps: float | None) -> dict:
    """The numeric parameter values, with the scale's value when the right-hand side uses
    it (a named error when it does and ``eps`` is not given)."""
    es = model.eps
    vals = {k: float(v) for k, v in dict(params or {}).items()}
    if any(e.has(es) for e in model.rhs):
        if eps is None:
            raise SimulationError(f"the model contains the scale parameter {es}: pass eps=")
        vals[es] = float(eps)
    return vals


def simulate_deterministic(model: DeterministicFlow, x0: Mapping, T: float, *,
                           eps: float | None = None, params: Mapping | None = None,
                           paths: int = 1000, dt: float | None = None, seed: int | None = None,
                           executor: Any = None, dt_factor: float = 0.05,
                           fast: Sequence[sp.Symbol] | None = None, burn_in_time: float = 20.0,
                           **ignored: Any) -> Any:
    r"""Integrate the full slow-fast flow (RK4) for :func:`symavg.simulate` and ``verify``.

    Fast variables missing from ``x0`` (by default those whose rhs is of order
    ``eps^-2``) start on the attractor: the fast flow ``eps^2 * rhs`` alone is
    run for ``burn_in_time`` from a standard-normal start, one trajectory per
    path. The default step is ``dt_factor / r`` with ``r`` the largest modulus of an
    eigenvalue of the Jacobian over the starting points (of order ``eps^-2``).

    Returns
    -------
    Ensemble
        Saved at ``t = [0, T]``.
    """
    from .simulate import Ensemble

    if not isinstance(model, DeterministicFlow):
        raise ModelError("simulate of a DeterministicMap: use symavg.numeric.chaos.trajectories")
    es = model.eps
    vals = _values_with_scale(model, params, eps)
    if fast is None:
        fast = [v for v, e in zip(model.state, model.rhs)
                if e.has(es) and sp.expand(e * es ** 2).subs(es, 0) != 0
                and not sp.expand(e * es ** 2).has(1 / es)]
    rng = np.random.default_rng(seed)
    Z0 = np.zeros((paths, model.dim))
    missing = [v for v in model.state if v not in x0]
    for v, val in x0.items():
        if v not in model.state:
            raise ModelError(f"x0 names {v}, which is not a variable of {list(model.state)}")
        Z0[:, model.index(v)] = np.broadcast_to(np.asarray(val, dtype=float), (paths,))
    bad = [v for v in missing if v not in fast]
    if bad:
        raise ModelError(f"x0 gives no value for the slow variable(s) {bad}")
    if missing:
        sub = [v for v in fast if v in missing]
        F = [sp.expand(model.rhs[model.index(v)] * es ** 2) for v in sub]
        if any(f.has(es) or (f.free_symbols & (set(model.state) - set(sub))) for f in F):
            raise SimulationError(
                f"the fast variables {sub} cannot be started on their attractor alone (their "
                "rhs is not F(y)/eps^2 with F free of the other variables): give them in x0")
        ff = DeterministicFlow(sub, F, eps=es)
        h = 0.005 if dt is None else min(0.005, dt / float(eps or 1) ** 2)
        with _progress.share(0.5):   # the burn-in is half of this run on the bar
            tr = trajectories(ff, [sub[0]], n_samples=1, every=1,
                              burn_in=int(burn_in_time / h), params=vals, dt=h, paths=paths,
                              seed=int(rng.integers(2**31)), executor=executor)
        for j, v in enumerate(sub):
            Z0[:, model.index(v)] = tr.info["final_state"][:, j]
    if dt is None:
        if eps is None:
            raise ModelError("pass dt= (no eps to choose the step from)")
        # the fastest rate: spectral radius of the Jacobian over a sample of the starts
        J = sp.Matrix(model.rhs).jacobian(model.state).xreplace(
            {k: sp.Float(v) for k, v in vals.items()})
        jf = sp.lambdify(model.state, J, "numpy")
        rate = max(float(np.abs(np.linalg.eigvals(np.asarray(jf(*z), dtype=float))).max())
                   for z in Z0[: min(paths, 50)])
        dt = dt_factor / max(rate, 1e-12)
    n = max(1, int(round(T / dt)))
    dt = T / n
    with _progress.share(0.5 if missing else 1.0):
        tr = trajectories(model, [model.state[0]], n_samples=1, every=n, params=vals, dt=dt,
                          paths=paths, y0=Z0.copy(), seed=int(rng.integers(2**31)),
                          executor=executor)
    values = np.stack([Z0.T, tr.info["final_state"].T])
    return Ensemble(np.array([0.0, T]), tuple(model.state), values, dt,
                    {v: "rk4" for v in model.state}, vals,
                    {"fast_start": "attractor burn-in" if missing else "given",
                     "steps": n})


def simulate_map(model: DeterministicMap, x0: Mapping, T: float, *, eps: float | None = None,
                 params: Mapping | None = None, paths: int = 1000, seed: int | None = None,
                 executor: Any = None, **ignored: Any) -> Any:
    r"""Iterate a slow-fast map for :func:`symavg.simulate` and ``verify``.

    ``T`` is the number of steps (rounded to an integer; ``verify`` passes
    :math:`T/\epsilon^2` for a reduced model on the time scale :math:`s = \epsilon^2 n`).
    Digit-shift components (``Mod(k*y, 1)``) missing from ``x0`` start from their
    invariant law, Lebesgue on [0, 1) (every digit random); the shifts run exactly
    (:func:`trajectories`), the other components in floating point.

    Returns
    -------
    Ensemble
        Saved at steps ``[0, n]``; ``dt`` is ``inf`` (no time step to refine).
    """
    from .simulate import Ensemble

    if not isinstance(model, DeterministicMap):
        raise ModelError(f"simulate_map expects a DeterministicMap; got {type(model).__name__}")
    if not (T > 0 and math.isfinite(T)):
        raise ModelError(f"T (a number of steps of the map) must be positive; got {T}")
    if paths <= 0:
        raise ModelError(f"paths must be positive; got {paths}")
    vals = _values_with_scale(model, params, eps)
    shift_vars = {v for v, _ in model.shifts}
    for v in x0:
        if v not in model.state:
            raise ModelError(f"x0 names {v}, which is not a variable of {list(model.state)}")
    bad = [v for v in model.state if v not in x0 and v not in shift_vars]
    if bad:
        raise ModelError(f"x0 gives no value for {bad}: only digit-shift components "
                         "(Mod(k*y, 1)) start from their invariant law")
    rng = np.random.default_rng(seed)
    Z0 = rng.random((paths, model.dim))
    for v, val in x0.items():
        Z0[:, model.index(v)] = np.broadcast_to(np.asarray(val, dtype=float), (paths,))
    n = max(1, int(round(T)))
    y0 = {v: Z0[:, model.index(v)] for v in model.state if v in x0}
    tr = trajectories(model, [model.state[0]], n_samples=1, every=n, params=vals, paths=paths,
                      y0=y0, seed=int(rng.integers(2**31)), executor=executor)
    # the start of the shift components is drawn inside trajectories: record the final state
    values = np.stack([Z0.T, tr.info["final_state"].T])
    return Ensemble(np.array([0.0, float(n)]), tuple(model.state), values, math.inf,
                    {v: "digit shift (exact)" if v in shift_vars else "map iteration"
                     for v in model.state}, vals, {"steps": n, "scheme": tr.info["scheme"]})
