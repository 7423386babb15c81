r"""Exact stochastic simulation of reaction networks and their master equation.

**Direct method** (Gillespie, J. Comput. Phys. 22:403, 1976; J. Phys. Chem.
81:2340, 1977). In the state :math:`n` with propensities :math:`a_r(n)` and
total :math:`a_0 = \sum_r a_r`, the time to the next reaction is
exponential with rate :math:`a_0` and reaction :math:`r` fires with
probability :math:`a_r/a_0`. The path is right-continuous: the value saved at a
time :math:`s` is the state after every reaction at times :math:`\le s`.

**Tau-leaping** (Gillespie, J. Chem. Phys. 115:1716, 2001) with the step
selection of Cao, Gillespie & Petzold (J. Chem. Phys. 124:044109, 2006,
eqs. 32-33): every reaction fires a Poisson(:math:`a_r\tau`) number of times
in a leap of length :math:`\tau = \min_i \max(\varepsilon n_i/g_i, 1)/|\mu_i|,
\max(\varepsilon n_i/g_i,1)^2/\sigma_i^2` (with :math:`g_i` the highest order of
a reaction consuming :math:`i`); a leap that would make a population negative
is rejected and retried with :math:`\tau/2`, and when :math:`\tau < 10/a_0`
exact steps are taken instead, so populations stay nonnegative.

Both are compiled with numba (straight-line propensity code generated per
network, cached on disk) and release the GIL; paths are split into chunks of
``chunk_size``, each with its own generator from ``SeedSequence(seed).spawn``,
and the chunks go to an executor (threads by default; a
``dask.distributed.Client`` works unchanged). Memory is
``O(paths x len(saveat))``: events are never stored.

**Master equation** (:func:`cme`): the generator matrix on the box
:math:`\{0..n^{\max}_i\}` (the finite state projection of Munsky & Khammash,
J. Chem. Phys. 124:044104, 2006). Reactions that leave the box are kept as an
exit rate; the probability that has left by time :math:`t` is an exact bound
on the :math:`\ell^1` error of the projected solution (their Theorem 2.2).
"""

from __future__ import annotations

import math
import os
import time
from collections.abc import Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import sympy as sp

from .. import _progress
from ..errors import ModelError, SimulationError
from ..models.network import ReactionNetwork
from .codegen import load_source, straight_line
from .simulate import Ensemble
from .ssa_tables import sum_table, table_lines, table_values, tabulated

__all__ = ["CME", "cme", "ssa", "sum_table", "tau_leap"]


# ------------------------------------------------------------ code generation
def _propensity_source(net: ReactionNetwork, params: Sequence[sp.Symbol]) -> str:
    sub = {s: sp.Symbol(f"n{i}") for i, s in enumerate(net.species)}
    sub.update({p: sp.Symbol(f"p{i}") for i, p in enumerate(params)})
    specs = tabulated(net)
    tab_lines, reps = table_lines(specs, len(params))
    whole = {t.reaction: reps[t.expr] for t in specs if t.kind == "sum"}
    exprs = [whole[r] if r in whole else sp.sympify(a).xreplace(reps).xreplace(sub)
             for r, a in enumerate(net.propensities)]
    lines = ["import math", "import numpy", "import numba", "",
             "@numba.njit(cache=True, nogil=True)",
             "def props(n, p, a):"]
    for i in range(net.n_species):
        lines.append(f"    n{i} = float(n[{i}])")
    for i in range(len(params)):
        lines.append(f"    p{i} = p[{i}]")
    lines += tab_lines
    lines += straight_line(exprs, [f"a[{r}]" for r in range(net.n_reactions)])
    lines.append("    return 0")
    return "\n".join(lines) + "\n" + _KERNELS


_KERNELS = r'''

@numba.njit(cache=True, nogil=True)
def direct(x0, p, T, tsave, nu, rng, out, max_events):
    paths, S = x0.shape
    R = nu.shape[0]
    nsave = tsave.shape[0]
    a = numpy.zeros(R)
    n = numpy.zeros(S, dtype=numpy.int64)
    events = 0
    for k in range(paths):
        for i in range(S):
            n[i] = x0[k, i]
        t = 0.0
        idx = 0
        while True:
            props(n, p, a)
            a0 = 0.0
            for r in range(R):
                if a[r] < 0.0:
                    a[r] = 0.0
                a0 += a[r]
            if a0 != a0:
                return -1 - events
            if a0 > 0.0:
                tnext = t + rng.exponential(1.0 / a0)
            else:
                tnext = numpy.inf
            while idx < nsave and tsave[idx] < tnext:
                for i in range(S):
                    out[idx, i, k] = n[i]
                idx += 1
            if idx == nsave:
                break
            u = rng.random() * a0
            r = 0
            acc = a[0]
            while acc < u and r < R - 1:
                r += 1
                acc += a[r]
            while a[r] == 0.0 and r > 0:   # u landed on the edge of a zero propensity
                r -= 1
            for i in range(S):
                n[i] += nu[r, i]
            t = tnext
            events += 1
            if events > max_events:
                return -events
    return events


@numba.njit(cache=True, nogil=True)
def leap(x0, p, T, tsave, nu, order, rng, out, max_events, tol, vtol):
    paths, S = x0.shape
    R = nu.shape[0]
    nsave = tsave.shape[0]
    a = numpy.zeros(R)
    a2 = numpy.zeros(R)
    b0 = numpy.zeros(S)
    rowsum = numpy.zeros(S)
    n = numpy.zeros(S, dtype=numpy.int64)
    m = numpy.zeros(S, dtype=numpy.int64)
    kfire = numpy.zeros(R, dtype=numpy.int64)
    events = 0
    leaps = 0
    for k in range(paths):
        for i in range(S):
            n[i] = x0[k, i]
        t = 0.0
        idx = 0
        while idx < nsave:
            props(n, p, a)
            a0 = 0.0
            for r in range(R):
                if a[r] < 0.0:
                    a[r] = 0.0
                a0 += a[r]
            if a0 != a0:
                return -1 - events, leaps
            # Cao-Gillespie-Petzold 2006 step
            tau = numpy.inf
            for i in range(S):
                mu = 0.0
                s2 = 0.0
                for r in range(R):
                    mu += nu[r, i] * a[r]
                    s2 += nu[r, i] * nu[r, i] * a[r]
                g = order[i]
                if g == 0:
                    continue
                b = max(tol * n[i] / g, 1.0)
                if mu != 0.0:
                    tau = min(tau, b / abs(mu))
                if s2 > 0.0:
                    tau = min(tau, b * b / s2)
            if vtol > 0.0 and a0 > 0.0:
                # rho = max_i sum_j |d b_i / d n_j| (finite differences of the drift
                # b = sum_r nu_r a_r); tau <= 2 vtol / rho bounds the stationary variance
                # bias 1/(1 - rho tau/2) - 1 of a linear network by about vtol
                for i in range(S):
                    b0[i] = 0.0
                    for r in range(R):
                        b0[i] += nu[r, i] * a[r]
                rho = 0.0
                for i in range(S):
                    m[i] = n[i]
                    rowsum[i] = 0.0
                for j in range(S):
                    m[j] += 1
                    props(m, p, a2)
                    m[j] -= 1
                    for i in range(S):
                        bj = 0.0
                        for r in range(R):
                            aj = a2[r] if a2[r] > 0.0 else 0.0
                            bj += nu[r, i] * aj
                        rowsum[i] += abs(bj - b0[i])
                for i in range(S):
                    rho = max(rho, rowsum[i])
                if rho > 0.0:
                    tau = min(tau, 2.0 * vtol / rho)
            exact = a0 == 0.0 or tau * a0 < 10.0
            if exact:
                if a0 > 0.0:
                    tnext = t + rng.exponential(1.0 / a0)
                else:
                    tnext = numpy.inf
            else:
                tnext = t + tau
            while idx < nsave and tsave[idx] < tnext:
                for i in range(S):
                    out[idx, i, k] = n[i]
                idx += 1
            if idx == nsave:
                break
            if exact:
                u = rng.random() * a0
                r = 0
                acc = a[0]
                while acc < u and r < R - 1:
                    r += 1
                    acc += a[r]
                while a[r] == 0.0 and r > 0:
                    r -= 1
                for i in range(S):
                    n[i] += nu[r, i]
                events += 1
                t = tnext
                continue
            # the leap may not pass the next save time: cut it there
            h = tnext - t
            while True:
                for i in range(S):
                    m[i] = n[i]
                fired = 0
                for r in range(R):
                    kfire[r] = rng.poisson(a[r] * h) if a[r] > 0.0 else 0
                    fired += kfire[r]
                ok = True
                for i in range(S):
                    for r in range(R):
                        m[i] += kfire[r] * nu[r, i]
                    if m[i] < 0:
                        ok = False
                if ok:
                    break
                h = 0.5 * h
            for i in range(S):
                n[i] = m[i]
            t += h
            events += fired
            leaps += 1
            if events > max_events:
                return -events, leaps
    return events, leaps
'''


_CACHE: dict[Any, tuple[str, tuple[sp.Symbol, ...]]] = {}


def _compiled(net: ReactionNetwork) -> tuple[str, tuple[sp.Symbol, ...]]:
    key = (tuple(r.text for r in net.reactions), net.propensities, net.species)
    hit = _CACHE.get(key)
    if hit is None:
        params = tuple(sorted(set().union(*(a.free_symbols for a in net.propensities))
                              - set(net.species), key=lambda s: s.name))
        hit = (_propensity_source(net, params), params)
        _CACHE[key] = hit
    return hit


def _table_ranges(net: ReactionNetwork, z0: np.ndarray, table_size: int | None
                  ) -> tuple[dict[int, tuple[int, int]], int]:
    """Box of each species for the tables: its initial values when no reaction changes it,
    else ``0..size`` (default four times the largest initial count plus 200 for sums, twice
    it plus 50 for numeric fast averages, which solve the fast master equation there)."""
    specs = tabulated(net)
    numeric = any(t.kind == "fast" for t in specs)
    top = int(z0.max()) if z0.size else 0
    size = int(table_size) if table_size is not None else \
        (2 * top + 50 if numeric else 4 * top + 200)
    N = net.stoichiometry
    ranges = {}
    for i in range(net.n_species):
        if all(N[i, r] == 0 for r in range(net.n_reactions)):
            ranges[i] = (int(z0[:, i].min()), int(z0[:, i].max()))
        else:
            ranges[i] = (0, size)
    return ranges, size


def _values(net: ReactionNetwork, params: tuple[sp.Symbol, ...], given: Mapping | None,
            eps: float | None) -> dict[sp.Symbol, float]:
    vals: dict[sp.Symbol, float] = {}
    for k, v in dict(given or {}).items():
        if isinstance(k, str):
            raise ModelError(f"params are keyed by SymPy symbols, not the string {k!r}")
        vals[k] = float(v)
    if eps is not None:
        vals[net.eps] = float(eps)
    missing = [p for p in params if p not in vals]
    if missing:
        hint = f" (the scale parameter {net.eps}: pass eps=...)" if net.eps in missing else ""
        raise SimulationError(f"the propensities need values for {missing}{hint}: pass "
                              "params={symbol: value}")
    for p in params:
        if not math.isfinite(vals[p]):
            raise SimulationError(f"parameter {p} = {vals[p]} is not finite")
    return vals


def _initial(net: ReactionNetwork, x0: Mapping, paths: int) -> np.ndarray:
    names = {s.name: s for s in net.species}
    given = {}
    for k, v in x0.items():
        s = names.get(k) if isinstance(k, str) else k
        if s not in net.species:
            raise ModelError(f"x0 names {k}, which is not a species {list(net.species)}")
        given[s] = v
    missing = [s for s in net.species if s not in given]
    if missing:
        raise ModelError(f"x0 must give every species a count; missing {missing}")
    z = np.empty((paths, net.n_species), dtype=np.int64)
    for i, s in enumerate(net.species):
        v = np.asarray(given[s])
        if np.any(v < 0) or np.any(np.asarray(v, dtype=float) != np.rint(v)):
            raise ModelError(f"x0[{s}] must be a nonnegative integer count (or an array of them)")
        z[:, i] = np.broadcast_to(v.astype(np.int64), (paths,))
    return z


@dataclass
class _Chunk:
    source: str
    method: str
    x0: np.ndarray
    p: np.ndarray
    T: float
    tsave: np.ndarray
    nu: np.ndarray
    order: np.ndarray
    seed: np.random.SeedSequence
    max_events: int
    tol: float
    start: int
    vtol: float = 0.0


def _run(task: _Chunk) -> tuple[np.ndarray, int, int]:
    mod = load_source(task.source, "ssa")
    rng = np.random.default_rng(task.seed)
    out = np.empty((len(task.tsave), task.x0.shape[1], task.x0.shape[0]))
    if task.method == "direct":
        ev = mod.direct(task.x0, task.p, task.T, task.tsave, task.nu, rng, out,
                        task.max_events)
        leaps = 0
    else:
        ev, leaps = mod.leap(task.x0, task.p, task.T, task.tsave, task.nu, task.order, rng,
                             out, task.max_events, task.tol, task.vtol)
    return out, int(ev), int(leaps)


class _Serial:
    class _Done:
        def __init__(self, v: Any) -> None:
            self.v = v

        def result(self) -> Any:
            return self.v

    def submit(self, fn: Any, *args: Any) -> Any:
        return self._Done(fn(*args))


@_progress.one_bar("ssa", total=lambda args: 1, unit="run")
def ssa(net: ReactionNetwork, x0: Mapping, T: float, *, eps: float | None = None,
        params: Mapping | None = None, paths: int = 10_000, seed: int | None = None,
        saveat: Sequence[float] | None = None, method: str = "direct",
        executor: Any = None, chunk_size: int = 4096, tau_tol: float = 0.03,
        tau_variance_tol: float | None = None,
        max_events: int = 10**10, table_size: int | None = None,
        progress: bool | None = None, environment: Any = None) -> Ensemble:
    r"""Simulate ``paths`` exact (or tau-leaped) trajectories of a reaction network.

    Parameters
    ----------
    net : ReactionNetwork
    x0 : dict {species: int or int array of shape (paths,)}
        Initial counts of every species.
    T : float
        Final time.
    eps : float, optional
        Value of the network's scale parameter (when a propensity contains it).
    params : dict {Symbol: float}
        Values of the other parameters.
    paths, seed, chunk_size, executor
        As in :func:`symavg.simulate`: results depend on ``seed`` and
        ``chunk_size`` only, not on the executor.
    saveat : sequence of float, optional
        Times to save, in ``[0, T]`` (default ``[0, T]``); kept exactly.
    method : {"direct", "tau-leap"}
        Gillespie's direct method (exact), or tau-leaping with the
        Cao-Gillespie-Petzold step and nonnegativity control.
    tau_tol : float
        The tolerance :math:`\varepsilon` of the tau selection.
    tau_variance_tol : float, optional
        Also bound each leap by :math:`\tau \le 2\delta/\rho(n)`, with
        :math:`\rho = \max_i\sum_j|\partial b_i/\partial n_j|` the largest row sum of
        the drift's Jacobian (finite differences of :math:`b = \sum_r\nu_r a_r`). The
        Poisson leap of a linear network has the stationary variance
        :math:`\operatorname{Var}_{exact}/(1 - \rho\tau/2)` (for ``X -> 0``: a bias of
        :math:`\mu\tau/2`), so ``tau_variance_tol=delta`` keeps that bias at about
        ``delta``. Default: no such bound (the Cao-Gillespie-Petzold rule only, which
        controls the change of the propensities, not the variance).
    max_events : int
        A guard against runaway networks (per chunk).
    table_size : int, optional
        Propensities with a finite sum over fast states (the detailed-balance
        averages of ``net.reduce()``: a fast dimerization, any number of enzymes,
        in one or several slow variables) and the numeric conditional means
        ``E_m(y)`` of a general fast subnetwork are tabulated at the counts
        ``0..table_size`` of the species a reaction changes, and at the initial
        values of those no reaction changes (:mod:`symavg.numeric.ssa_tables`).
        Default: four times the largest initial count plus 200 for sums, twice it
        plus 50 for numeric averages (each is a solve of the fast master
        equation); a path that leaves the table is an error.
    progress : bool, optional
        A progress bar over the chunks of paths; ``None`` (default): in a terminal or a
        notebook, not under CI. Inside ``sa.verify`` / ``sa.simulate`` their one bar
        counts this run (:mod:`symavg._progress`).
    environment : SDE, optional
        A one-variable OU process :math:`d\eta = -\theta\eta\,dt + \sigma\,dW` that the
        propensities depend on (affinely: a rate constant :math:`\gamma + s\eta/\epsilon`):
        simulated exactly by the random time change with exact OU draws
        (:func:`symavg.numeric.ssa_env.ssa_ou`); ``x0`` may give the environment's
        initial value (default: its stationary law). The ensemble then includes it.

    Returns
    -------
    Ensemble
        ``values`` of shape ``(len(t), n_species, paths)``; ``info`` has the
        number of reactions fired, the wall time and the reactions per second.

    Examples
    --------
    >>> import sympy as sp, symavg as sa
    >>> lam, mu = sp.symbols("lambda mu", positive=True)
    >>> net = sa.ReactionNetwork(["0 -> X", "X -> 0"], [lam, mu])
    >>> X, = net.species
    >>> ens = sa.ssa(net, {X: 0}, T=5.0, params={lam: 10.0, mu: 1.0}, paths=2000, seed=1)
    >>> m, se = ens.mean(X)
    >>> bool(abs(m[-1] - 10 * (1 - 2.718281828 ** -5)) < 4 * se[-1])
    True
    """
    if not isinstance(net, ReactionNetwork):
        raise ModelError(f"ssa simulates a sa.ReactionNetwork; got {type(net).__name__}")
    if environment is not None:
        if method != "direct":
            raise ModelError("with an environment only the exact method runs (method='direct')")
        from .ssa_env import ssa_ou

        return ssa_ou(net, environment, x0, T, eps=eps, params=params, paths=paths, seed=seed,
                      saveat=saveat, executor=executor, max_events=max_events,
                      chunk_size=min(chunk_size, 1024))
    if method not in ("direct", "tau-leap"):
        raise ModelError(f"method must be 'direct' or 'tau-leap'; got {method!r}")
    if not (T > 0 and math.isfinite(T)):
        raise ModelError(f"T must be a positive number; got {T}")
    if paths <= 0:
        raise ModelError(f"paths must be positive; got {paths}")
    z0 = _initial(net, x0, paths)
    source, pars = _compiled(net)
    vals = _values(net, pars, params, eps)
    ranges, size = _table_ranges(net, z0, table_size)
    specs = tabulated(net)
    p = np.array([vals[s] for s in pars] +
                 (table_values(net, specs, vals, ranges, len(pars)) if specs else []),
                 dtype=float)
    times = np.array([0.0, T] if saveat is None else sorted(float(s) for s in saveat))
    if times.min() < 0 or times.max() > T * (1 + 1e-12):
        raise ModelError(f"saveat times must lie in [0, T] = [0, {T}]")
    nu = np.array(net.stoichiometry.T.tolist(), dtype=np.int64)
    M = np.array(net.reactant_matrix().tolist(), dtype=np.int64)
    order = np.array([int(max([M[:, r].sum() for r in range(M.shape[1]) if M[i, r] > 0],
                              default=0)) for i in range(net.n_species)], dtype=np.int64)
    nchunks = max(1, math.ceil(paths / chunk_size))
    seeds = np.random.SeedSequence(seed).spawn(nchunks)
    vtol = 0.0 if tau_variance_tol is None else float(tau_variance_tol)
    if not (vtol >= 0 and math.isfinite(vtol)):
        raise ModelError(f"tau_variance_tol must be a positive number; got {tau_variance_tol}")
    tasks = [_Chunk(source, method, z0[c * chunk_size:(c + 1) * chunk_size], p, float(T),
                    times, nu, order, seeds[c], int(max_events), float(tau_tol),
                    c * chunk_size, vtol) for c in range(nchunks)]
    # compile (or load from the disk cache) once, before the threads start and the clock runs
    _run(_Chunk(source, method, z0[:1], p, 1e-300, np.zeros(1), nu, order,
                np.random.SeedSequence(0), 1, float(tau_tol), 0))
    own = None
    if executor is None:
        if nchunks > 1:
            own = ThreadPoolExecutor(max_workers=min(os.cpu_count() or 1, nchunks))
            executor = own
        else:
            executor = _Serial()
    out = np.empty((len(times), net.n_species, paths))
    events = leaps = 0
    t0 = time.perf_counter()
    try:
        futures = [executor.submit(_run, t) for t in tasks]
        for i, (task, fut) in enumerate(zip(tasks, futures)):
            arr, ev, lp = fut.result()
            futures[i] = None
            if ev < 0:
                raise SimulationError(
                    f"a chunk of {task.x0.shape[0]} paths stopped before T = {T}: either more "
                    f"than {max_events} reactions (the network runs away, or T is too long: use "
                    "method='tau-leap' or raise max_events), or a propensity was NaN (a count "
                    f"beyond the tabulated range 0..{size}: raise table_size)")
            out[:, :, task.start:task.start + arr.shape[2]] = arr
            events += ev
            leaps += lp
            _progress.advance(1 / nchunks)
    finally:
        if own is not None:
            own.shutdown()
    wall = time.perf_counter() - t0
    info = {"backend": "numba", "method": method, "chunks": nchunks, "events": events,
            "leaps": leaps, "wall time": wall,
            "reactions per second": events / wall if wall > 0 else math.inf,
            "model": repr(net)}
    return Ensemble(times, net.species, out, math.nan, {s: method for s in net.species},
                    vals, info)


def tau_leap(net: ReactionNetwork, x0: Mapping, T: float, **kwargs: Any) -> Ensemble:
    """:func:`ssa` with ``method="tau-leap"``: Poisson numbers of firings per leap, the
    leap chosen by the Cao-Gillespie-Petzold (2006) rule and halved when a count would
    go negative (approximate: for checks of means, not of tails).

    Parameters
    ----------
    net : ReactionNetwork
    x0 : dict {species: count}
    T : float
    **kwargs
        As for :func:`ssa` (``params``, ``paths``, ``seed``, ``saveat``, ...).

    Returns
    -------
    Ensemble

    Examples
    --------
    >>> import sympy as sp, symavg as sa
    >>> lam, mu = sp.symbols("lambda mu", positive=True)
    >>> net = sa.ReactionNetwork(["0 -> X", "X -> 0"], [lam, mu])
    >>> X, = net.species
    >>> ens = sa.tau_leap(net, {X: 0}, T=5.0, params={lam: 10.0, mu: 1.0}, paths=2000, seed=1)
    >>> m, se = ens.mean(X)
    >>> bool(abs(m[-1] - 10 * (1 - 2.718281828 ** -5)) < 5 * se[-1] + 0.1)
    True
    """
    return ssa(net, x0, T, method="tau-leap", **kwargs)


# ----------------------------------------------------------- master equation
@dataclass
class CME:
    r"""The chemical master equation on a box, :math:`\dot p = p\,Q` (``p`` a row).

    Attributes
    ----------
    Q : scipy.sparse.csr_matrix, shape (K, K)
        ``Q[i, j]`` the rate from state ``i`` to ``j`` inside the box; the
        diagonal is minus the total rate out of ``i``, exits included, so rows
        with exits sum to ``-exit[i]``.
    exit : ndarray, shape (K,)
        The rate of the reactions that leave the box from each state.
    states : ndarray, shape (K, n_species)
        The counts of each state.
    species : tuple of Symbol

    Examples
    --------
    >>> import sympy as sp, symavg as sa
    >>> lam, mu = sp.symbols("lambda mu", positive=True)
    >>> net = sa.ReactionNetwork(["0 -> X", "X -> 0"], [lam, mu])
    >>> X, = net.species
    >>> master = sa.cme(net, {X: 60}, params={lam: 10.0, mu: 1.0})
    >>> p, leak = master.stationary()           # Poisson(10), up to the truncation
    >>> round(float((p * master.states[:, 0]).sum()), 6)
    10.0
    """

    Q: Any
    exit: np.ndarray
    states: np.ndarray
    species: tuple[sp.Symbol, ...]
    shape: tuple[int, ...] = field(default=())

    def index(self, counts: Mapping) -> int:
        """Position of the state with the given counts."""
        c = [int(counts[s]) for s in self.species]
        k = 0
        for ci, m in zip(c, self.shape):
            if not 0 <= ci < m:
                raise ModelError(f"counts {counts} are outside the truncation box")
            k = k * m + ci
        return k

    def initial(self, counts: Mapping) -> np.ndarray:
        """The point mass at ``counts``."""
        p = np.zeros(len(self.states))
        p[self.index(counts)] = 1.0
        return p

    def solve(self, p0: np.ndarray, t: float) -> tuple[np.ndarray, float]:
        r"""The projected law at time ``t`` and its error bound.

        Returns ``(p, err)`` with :math:`p = p_0 e^{tQ}` and
        ``err = 1 - sum(p)``, the probability that left the box: the exact
        :math:`\ell^1` distance to the true law restricted to the box is at
        most ``err`` (Munsky & Khammash 2006, Thm 2.2).
        """
        from scipy.sparse.linalg import expm_multiply

        p = expm_multiply(self.Q.T.tocsc() * t, np.asarray(p0, dtype=float))
        p = np.maximum(p, 0.0)
        return p, float(max(0.0, 1.0 - p.sum()))

    def stationary(self) -> tuple[np.ndarray, float]:
        r"""The stationary law of the box with the exits turned back (reflecting truncation).

        Returns ``(pi, leak)`` where ``leak = sum_i pi_i exit_i`` is the rate at
        which the true process would leave the box from that law: small
        against the slowest rate of the network means the truncation is
        harmless.
        """
        import scipy.sparse as sps
        from scipy.sparse.linalg import spsolve

        Qr = self.Q + sps.diags(self.exit)
        K = Qr.shape[0]
        A = Qr.T.tolil()
        A[K - 1, :] = np.ones(K)
        b = np.zeros(K)
        b[-1] = 1.0
        pi = spsolve(A.tocsc(), b)
        pi = np.maximum(pi, 0.0)
        pi /= pi.sum()
        return pi, float(pi @ self.exit)

    def marginal(self, species: sp.Symbol, p: np.ndarray) -> np.ndarray:
        """The law of one species' count under ``p``."""
        i = self.species.index(species)
        return np.bincount(self.states[:, i], weights=p, minlength=self.shape[i])

    def mean(self, expr: sp.Expr, p: np.ndarray) -> float:
        """:math:`\\sum_n p(n) f(n)` for an expression ``f`` of the species."""
        f = sp.lambdify(self.species, expr, "numpy")
        vals = np.broadcast_to(np.asarray(f(*self.states.T), dtype=float), p.shape)
        return float(vals @ p)


def cme(net: ReactionNetwork, truncation: Mapping, params: Mapping | None = None, *,
        eps: float | None = None) -> CME:
    r"""The generator of the master equation on the box ``{0..truncation[s]}``.

    Parameters
    ----------
    truncation : dict {species: max count}
        Every species needs a bound.
    params, eps
        Numeric values of the parameters (as in :func:`ssa`).

    Returns
    -------
    CME

    Examples
    --------
    >>> import sympy as sp, symavg as sa
    >>> lam, mu = sp.symbols("lambda mu", positive=True)
    >>> net = sa.ReactionNetwork(["0 -> X", "X -> 0"], [lam, mu])
    >>> X, = net.species
    >>> m = net.cme({X: 40}, params={lam: 5.0, mu: 1.0})
    >>> pi, leak = m.stationary()
    >>> round(m.mean(X, pi), 6), leak < 1e-12
    (5.0, True)
    """
    import itertools

    import scipy.sparse as sps

    if tabulated(net):
        raise ModelError("cme needs propensities in closed form; this network has tabulated "
                         "(summed) propensities: use ssa")
    source, pars = _compiled(net)
    vals = _values(net, pars, params, eps)
    names = {s.name: s for s in net.species}
    box = {}
    for k, v in truncation.items():
        s = names.get(k) if isinstance(k, str) else k
        if s not in net.species:
            raise ModelError(f"truncation names {k}, which is not a species")
        if int(v) != v or v < 0:
            raise ModelError(f"truncation[{k}] = {v} must be a nonnegative integer")
        box[s] = int(v)
    missing = [s for s in net.species if s not in box]
    if missing:
        raise ModelError(f"truncation needs a maximum count for every species; missing {missing}")
    shape = tuple(box[s] + 1 for s in net.species)
    K = int(np.prod(shape))
    if K > 5_000_000:
        raise ModelError(f"the truncated state space has {K} states; shrink the box")
    states = np.array(list(itertools.product(*[range(m) for m in shape])), dtype=np.int64)
    f = sp.lambdify(net.species + tuple(pars), list(net.propensities), "numpy")
    a = np.array([np.broadcast_to(np.asarray(v, dtype=float), (K,)) for v in
                  f(*states.T, *[vals[s] for s in pars])])
    a = np.maximum(a, 0.0)
    nu = np.array(net.stoichiometry.T.tolist(), dtype=np.int64)
    strides = np.array([int(np.prod(shape[i + 1:])) for i in range(len(shape))])
    rows, cols, data = [], [], []
    exit_rate = np.zeros(K)
    for r in range(net.n_reactions):
        tgt = states + nu[r]
        inside = np.all((tgt >= 0) & (tgt < np.array(shape)), axis=1)
        live = a[r] > 0
        ok = inside & live
        src = np.nonzero(ok)[0]
        rows.append(src)
        cols.append(tgt[ok] @ strides)
        data.append(a[r][ok])
        exit_rate += np.where(~inside & live, a[r], 0.0)
        if np.any(~inside & live & np.any(tgt < 0, axis=1)):
            bad = states[np.nonzero(~inside & live & np.any(tgt < 0, axis=1))[0][0]]
            raise ModelError(f"reaction {net.reactions[r].text!r} has a positive propensity at "
                             f"{dict(zip(net.species, bad))}, where it would make a count "
                             "negative")
    out_rate = np.zeros(K)
    for src, d in zip(rows, data):
        np.add.at(out_rate, src, d)
    rows.append(np.arange(K))
    cols.append(np.arange(K))
    data.append(-(out_rate + exit_rate))
    Q = sps.csr_matrix((np.concatenate(data), (np.concatenate(rows), np.concatenate(cols))),
                       shape=(K, K))
    return CME(Q, exit_rate, states, net.species, shape)
