r"""Ensemble simulation of full and reduced models.

:func:`simulate` runs ``paths`` independent copies of an Itô SDE

.. math:: dZ = b(Z)\,dt + \sigma(Z)\,dW

with a generated, compiled kernel (:mod:`symavg.numeric.kernel`): numba when it
is installed, vectorised NumPy otherwise. Paths are split into chunks of fixed
size, each with its own seeded generator (``SeedSequence(seed).spawn``), so
the result depends on ``seed`` and ``chunk_size`` but not on how many workers
run the chunks; chunks go to an executor (threads by default; any object with
``submit``, e.g. a ``concurrent.futures`` executor or a
``dask.distributed.Client``). Only the saved times are kept: memory is
``O(paths x len(saveat))``, never ``O(paths x steps)``.

**Step size.** With no ``dt``, the step resolves the fastest scale:
:math:`\Delta t = f / R` with ``f = dt_factor`` (default 0.05) and :math:`R`
the largest rate among the spectral radius of the drift's Jacobian (numerical
differences at 512 probe points, 99% quantile, so rotations count too),
:math:`a_{ii}(2\pi/L_i)^2` for a variable on a circle of length :math:`L_i`,
and, for a full model with leading power :math:`\epsilon^{p_0}`,
:math:`\epsilon^{p_0}` itself (so :math:`\Delta t \le 0.05\,\epsilon^2` in the
homogenization regime and :math:`\le 0.05\,\epsilon` in the averaging
regime). Euler-Maruyama turns an eigenvalue :math:`-\alpha + i\beta` with
:math:`|\beta| > \alpha` into spurious growth :math:`\approx \beta^2\Delta t/2`, acting
over :math:`\min(T, 1/\alpha)`, so the default step also keeps
:math:`\beta^2 \Delta t \min(T, 1/\alpha) \le 0.1`. A user ``dt`` above
:math:`0.5/R` (or far above that oscillation bound) draws a warning.
"""

from __future__ import annotations

import math
import os
import warnings
from collections.abc import Callable, Iterator, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import sympy as sp

from .. import _progress
from ..errors import ModelError, SimulationError
from .codegen import evaluate_derived, have_numba, load_source
from .initial import FastSampler, sampler_from_measure
from .kernel import build_kernel
from .plan import ModelCoefficients, model_coefficients, model_scale


class CoarseStepWarning(UserWarning):
    """The step ``dt`` does not resolve the fastest time scale of the model."""


class SaveTimeWarning(UserWarning):
    """Requested save times were moved to the step grid (or merged)."""


@dataclass
class Ensemble:
    r"""Paths of a simulation at the saved times.

    Attributes
    ----------
    t : ndarray, shape (k,)
        Saved times (default ``[0, T]``).
    state : tuple of Symbol
        The variables, in the order of the rows of :attr:`values`.
    values : ndarray, shape (k, n, paths)
    dt : float
        The step used.
    schemes : dict {Symbol: str}
        The scheme used for each variable (``"euler"``, ``"exact-ou"``, ``"milstein"``,
        ``"weak2"``).
    params : dict {Symbol: float}
        The parameter values (the scale parameter included for a full model).
    info : dict
        How fast variables were initialised, the backend, the number of chunks.
    noise_sums : ndarray, shape (m, paths), or None
        With ``simulate(..., record_noise=True)``: per Brownian motion :math:`k` and
        path, :math:`S_k = \sqrt{\Delta t}\sum_n \xi_{k,n}`, the sum of the standard
        normals the kernel drew for that column over the run (burn-in excluded). It is
        exactly :math:`N(0, T)`, independent across columns, and equals :math:`W_k(T)`
        for a column stepped by Euler-Maruyama or Milstein (for a column that drives
        one exact-OU variable alone it is the sum of the normalised stochastic
        integrals, nearly :math:`W_k(T)`): a quantity with a known law, for control
        variates (:mod:`symavg.numeric.sequential`).

    ``ens[x]`` is the array of shape ``(len(t), paths)`` of the variable ``x``.

    Examples
    --------
    >>> import sympy as sp, symavg as sa
    >>> x = sp.Symbol("x", real=True)
    >>> ens = sa.simulate(sa.SDE([x], [-x], noise=[[1]]), {x: 0.0}, T=0.5, paths=1000, seed=2,
    ...                   progress=False)
    >>> ens.state, ens.values.shape, ens.schemes
    ((x,), (2, 1, 1000), {x: 'euler'})
    """

    t: np.ndarray
    state: tuple[sp.Symbol, ...]
    values: np.ndarray
    dt: float
    schemes: dict[sp.Symbol, str]
    params: dict[sp.Symbol, float]
    info: dict[str, Any] = field(default_factory=dict)
    noise_sums: np.ndarray | None = None

    def __getitem__(self, var: sp.Symbol) -> np.ndarray:
        if var not in self.state:
            raise KeyError(f"{var} is not a variable of this ensemble {list(self.state)}")
        return self.values[:, self.state.index(var), :]

    @property
    def paths(self) -> int:
        return int(self.values.shape[2])

    def evaluate(self, expr: sp.Expr) -> np.ndarray:
        """An expression of the state and parameters on every path, shape ``(len(t), paths)``."""
        expr = sp.sympify(expr).xreplace({k: sp.Float(v) for k, v in self.params.items()})
        extra = expr.free_symbols - set(self.state)
        if extra:
            raise ModelError(f"observable {expr} has symbols {sorted(extra, key=str)} that are "
                             f"neither variables {list(self.state)} nor parameters")
        f = sp.lambdify(self.state, expr, "numpy")
        out = f(*[self.values[:, i, :] for i in range(len(self.state))])
        return np.broadcast_to(np.asarray(out, dtype=float), self.values[:, 0, :].shape)

    def mean(self, expr: sp.Expr) -> tuple[np.ndarray, np.ndarray]:
        """Monte Carlo mean of ``expr`` at each saved time and its standard error."""
        v = self.evaluate(expr)
        return v.mean(axis=1), v.std(axis=1, ddof=1) / math.sqrt(v.shape[1])

    def _repr_html_(self) -> str:
        from ..report.display import ensemble_html

        return ensemble_html(self)


# ------------------------------------------------------------------ caches
_COEFFS: dict[Any, ModelCoefficients] = {}
_MEASURES: dict[Any, Any] = {}


def _key(model: Any, functions: Mapping | None, extra: Any = None) -> Any:
    try:
        fk = tuple(sorted(((str(k), v) for k, v in (functions or {}).items()), key=str))
        key = (model, fk, extra)
        hash(key)
        return key
    except TypeError:
        return None


_KERNELS: dict[Any, Any] = {}


def _memo(cache: dict, key: Any, make: Callable[[], Any]) -> Any:
    """``cache[key]``, made by ``make()`` the first time (no caching for unhashable keys)."""
    if key is None:
        return make()
    if key not in cache:
        cache[key] = make()
    return cache[key]


def _coefficients(model: Any, functions: Mapping | None, eps_symbol: sp.Symbol | None
                  ) -> ModelCoefficients:
    return _memo(_COEFFS, _key(model, functions, eps_symbol),
                 lambda: model_coefficients(model, functions, eps_symbol))


def _kernel(model: Any, functions: Mapping | None, eps_symbol: sp.Symbol | None,
            co: ModelCoefficients, scheme: str, backend: str) -> Any:
    """The generated kernel source for ``model`` (built once per model, scheme and backend)."""
    return _memo(_KERNELS, _key(model, functions, (eps_symbol, scheme, backend)),
                 lambda: build_kernel(co, scheme, backend))


def _leading_measure(model: Any, co: ModelCoefficients, functions: Mapping | None) -> Any:
    """The invariant measure of L0 (symbolic, cached), or None when no strategy applies."""
    from ..derive.invariant import invariant_measure
    from ..errors import SymavgError
    from ..models.generator import Generator

    def make() -> Any:
        sigma = sp.Matrix(co.noise).reshape(len(co.state), co.m)
        gen = Generator(co.state, list(co.drift), sigma * sigma.T,
                        {co.state[i]: L for i, L in co.periodic.items()})
        try:
            return invariant_measure(gen.expand(co.eps_symbol)[co.leading_power], co.fast)
        except SymavgError:
            return None

    return _memo(_MEASURES, _key(model, functions, ("measure", co.eps_symbol)), make)


# ------------------------------------------------------------------ tasks
@dataclass(frozen=True)
class _Task:
    source: str
    backend: str
    p: np.ndarray
    dt: float
    nsteps: int
    save_steps: np.ndarray
    z0: np.ndarray            # (n,) values; NaN where the sampler fills in
    z0_paths: np.ndarray | None   # (n, size) when x0 gave per-path arrays
    sampler: FastSampler
    burn_steps: int
    burn_dt: float
    fast_rows: tuple[int, ...]
    seed: np.random.SeedSequence
    start: int
    size: int
    check_every: int
    anti: int = 0
    record: int = 0


def _run_chunk(task: _Task) -> tuple[np.ndarray, int, int, bool, np.ndarray]:
    """Run one chunk of paths; returns ``(out, blow-up step or -1, bad paths, in burn-in,
    noise sums)``."""
    mod = load_source(task.source, "sim")
    rng = np.random.default_rng(task.seed)
    with np.errstate(over="ignore", invalid="ignore"):   # blow-ups are detected and reported
        return _run_chunk_body(task, mod, rng)


def _run_chunk_body(task: _Task, mod: Any, rng: np.random.Generator
                    ) -> tuple[np.ndarray, int, int, bool, np.ndarray]:
    n = task.z0.shape[0]
    Z = np.empty((n, task.size))
    Z[:] = task.z0[:, None]
    if task.z0_paths is not None:
        Z[:] = task.z0_paths
    task.sampler.draw(Z, rng)
    no_sums = np.zeros((0, task.size))
    if task.anti and task.sampler.kind not in ("burn-in", "none"):
        # an antithetic pair starts from one draw of the fast law, reflected about its
        # mean when it is Gaussian (the law is taken at the common slow start)
        task.sampler.pair_up(Z)
    if task.sampler.kind == "burn-in":
        Z[list(task.fast_rows)] = np.where(np.isnan(Z[list(task.fast_rows)]), 0.0,
                                           Z[list(task.fast_rows)])
        active = np.zeros(n)
        active[list(task.fast_rows)] = 1.0
        scratch = np.empty((0, n, task.size))
        step, bad = mod.run(Z, task.p, task.burn_dt, task.burn_steps,
                            np.zeros(0, dtype=np.int64), scratch, rng, active,
                            max(1, min(task.check_every, task.burn_steps // 10)), task.anti,
                            no_sums)
        if step >= 0:
            return np.empty((0,)), int(step), int(bad), True, no_sums
    out = np.empty((len(task.save_steps), n, task.size))
    sums = np.zeros((task.record, task.size))
    step, bad = mod.run(Z, task.p, task.dt, task.nsteps, task.save_steps, out, rng,
                        np.ones(n), task.check_every, task.anti, sums)
    return out, int(step), int(bad), False, sums * math.sqrt(task.dt)


class _SerialExecutor:
    """Runs tasks at once in the calling thread (``submit`` returns a done future)."""

    class _Done:
        def __init__(self, value: Any) -> None:
            self._v = value

        def result(self) -> Any:
            return self._v

    def submit(self, fn: Any, *args: Any) -> Any:
        return self._Done(fn(*args))


# ------------------------------------------------------------------ main
@_progress.one_bar("simulate", total=lambda args: 1, unit="run")
def simulate(model: Any, x0: Mapping, T: float, *, eps: float | None = None,
             params: Mapping | None = None, paths: int = 10_000, dt: float | None = None,
             seed: int | None = None, saveat: Sequence[float] | None = None,
             backend: str = "auto", executor: Any = None, scheme: str = "auto",
             functions: Mapping | None = None, eps_symbol: sp.Symbol | None = None,
             chunk_size: int = 4096, dt_factor: float = 0.05, progress: bool | None = None,
             tabulate: Mapping | None = None, max_steps: int = 50_000_000,
             s0: Any = None, antithetic: bool = False, record_noise: bool = False
             ) -> Ensemble:
    r"""Simulate ``paths`` copies of a full (``SDE``) or reduced (``EffectiveModel``) model.

    Parameters
    ----------
    model : SDE, EffectiveModel or ReactionNetwork
        A ``ReactionNetwork`` is simulated exactly by :func:`symavg.numeric.ssa.ssa`
        (``dt``, ``scheme`` and the SDE-only options do not apply).
    x0 : dict {Symbol: float or array of shape (paths,)}
        Initial values. Fast variables of a full model that are left out start
        from a draw of their invariant law (Gaussian, inverse CDF on a circle,
        or a burn-in run with the slow variables frozen).
    T : float
        Final time.
    eps : float, optional
        Value of the model's scale parameter ``model.eps`` (full models, and
        reduced models of order 1, whose coefficients contain it).
    params : dict {Symbol: float}
        Values of the other parameters.
    paths : int
    dt : float, optional
        Time step; by default chosen from the fastest scale (see the module docstring).
    seed : int, optional
        Makes the run reproducible (for a given ``chunk_size``).
    saveat : sequence of float, optional
        Times to save (rounded to the step grid); default ``[0, T]``.
    backend : {"auto", "numba", "numpy"}
    executor : object with ``submit``, optional
        Runs the chunks (default: a thread per core for numba, serial for NumPy).
    scheme : {"auto", "euler", "exact-ou", "milstein", "weak2"}
        ``"auto"``: exact OU steps for fast variables with drift linear in
        themselves, Euler-Maruyama otherwise. ``"weak2"``: Platen's explicit
        order-2.0 weak scheme for every variable (Kloeden & Platen 1992,
        Sec. 15.1), for commutative noise; meant for reduced models.
    functions : dict, optional
        Definitions of undefined functions, e.g. ``{c: sp.Lambda(x, x)}``.
    eps_symbol : Symbol, optional
        Deprecated, kept for one release: the scale parameter is read from the
        model (``model.eps``). ``None`` (the default) or that same symbol; a
        different one is a :class:`~symavg.errors.ModelError`.
    chunk_size : int
        Paths per chunk (per seeded generator).
    dt_factor : float
        The fraction of the fastest time scale used as default step.
    progress : bool, optional
        Show a progress bar over the chunks of paths. ``None`` (default): in a terminal or
        a notebook, after the first second, never under CI (``CI`` set); inside
        ``sa.verify`` the bar of ``verify`` counts this run (:mod:`symavg._progress`).
    tabulate : dict {Symbol: (lo, hi)}, optional
        Interval of a slow variable on which coefficients without closed form
        (unevaluated integrals of a semi-analytic reduced model) are tabulated by
        quadrature at Chebyshev points and interpolated
        (:mod:`symavg.numeric.tabulate`); the interpolation error and the paths
        that leave the interval are reported in ``info``.
    antithetic : bool
        Antithetic pairs: path ``2j + 1`` is driven by the negated normals of path
        ``2j`` (and starts from the same draw of the fast law). Each path keeps its
        law; pairs are independent of each other, paths within a pair are not, so
        average each pair before taking a standard error. ``paths`` and
        ``chunk_size`` must be even.
    record_noise : bool
        Keep the sums of the drawn normals per Brownian motion and path in
        ``ens.noise_sums`` (known law :math:`N(0, T)`: control variates).

    Returns
    -------
    Ensemble

    Raises
    ------
    SimulationError
        Missing parameters or undefined functions, or a blow-up (NaN or
        overflow): the message names the model, the time and the fraction of
        paths.

    A ``SwitchingSDE`` (PDMP or switching SDE) goes to
    :func:`symavg.numeric.switching.simulate_switching` (``s0``: its initial chain state).

    Examples
    --------
    >>> import sympy as sp, symavg as sa
    >>> x = sp.Symbol("x", real=True); k = sp.Symbol("k", positive=True)
    >>> ens = sa.simulate(sa.SDE([x], [-k * x], noise=[[1]]), {x: 1.0}, T=1.0, params={k: 1.0},
    ...                   paths=4000, seed=0, progress=False)
    >>> ens.t, ens[x].shape
    (array([0., 1.]), (2, 4000))
    >>> mean, se = ens.mean(x)
    >>> bool(abs(mean[-1] - 0.3679) < 4 * se[-1])        # E x_T = exp(-k T)
    True
    """
    from ..models.deterministic import DeterministicFlow, DeterministicMap
    from ..models.markov import SwitchingSDE
    from ..models.network import ReactionNetwork

    if (antithetic or record_noise) and isinstance(
            model, (SwitchingSDE, ReactionNetwork, DeterministicFlow, DeterministicMap)):
        raise ModelError(f"antithetic= and record_noise= apply to SDE models (Brownian "
                         f"increments), not to a {type(model).__name__}")
    if isinstance(model, SwitchingSDE):
        from .switching import simulate_switching

        if scheme != "auto" or tabulate:
            raise ModelError("scheme= and tabulate= do not apply to a SwitchingSDE")
        return simulate_switching(model, x0, T, eps=eps, params=params, paths=paths, dt=dt,
                                  seed=seed, saveat=saveat, s0=s0, backend=backend,
                                  executor=executor, functions=functions,
                                  chunk_size=chunk_size, dt_factor=dt_factor)
    if s0 is not None:
        raise ModelError("s0 (the initial chain state) applies to a SwitchingSDE only")

    if isinstance(model, ReactionNetwork):     # exact SSA (symavg.numeric.ssa)
        from .ssa import ssa

        return ssa(model, x0, T, eps=eps, params=params, paths=paths, seed=seed,
                   saveat=saveat, executor=executor, chunk_size=chunk_size)
    scale = model_scale(model, eps_symbol, "simulate")
    if isinstance(model, DeterministicFlow):   # deterministic chaos: RK4 (numeric/chaos.py)
        from .chaos import simulate_deterministic

        return simulate_deterministic(model, x0, T, eps=eps, params=params, paths=paths, dt=dt,
                                      seed=seed, executor=executor, dt_factor=dt_factor)
    if isinstance(model, DeterministicMap):    # T steps; digit shifts exact (numeric/chaos.py)
        from .chaos import simulate_map

        return simulate_map(model, x0, T, eps=eps, params=params, paths=paths, seed=seed,
                            executor=executor)
    if hasattr(model, "check_validity"):  # an EffectiveModel: its validity conditions
        model.check_validity(params, "simulate")
    co = _coefficients(model, functions, scale)
    values = _parameter_values(co, params, eps)
    if T <= 0 or not math.isfinite(T):
        raise ModelError(f"T must be a positive number; got {T}")
    if paths <= 0:
        raise ModelError(f"paths must be positive; got {paths}")
    if antithetic and (paths % 2 or chunk_size % 2):
        raise ModelError(f"antithetic=True pairs the paths: paths ({paths}) and chunk_size "
                         f"({chunk_size}) must be even; pass paths={paths + paths % 2}")
    backend = _backend(backend)
    ks = _kernel(model, functions, scale, co, scheme, backend)
    derived = evaluate_derived(ks.derived, values)
    tables, table_info = _tables(ks, co, values, tabulate)
    p = np.array([values[s] for s in co.parameters] + [derived[s] for s, _ in ks.derived]
                 + tables, dtype=float)
    mod = load_source(ks.source, "sim")

    z0, z0_paths, missing = _initial(co, x0, paths)
    per_path_slow = z0_paths is not None and any(
        np.ptp(z0_paths[i]) > 0 for i in range(len(co.state)) if i not in missing)
    sampler, fast_rows = _sampler(model, co, functions, z0, missing, values, per_path_slow)
    R, why, osc = _fastest_rate(co, mod, p, z0, z0_paths, sampler, values, seed, T)
    # Euler-Maruyama turns an eigenvalue -alpha + i beta into an extra growth rate of
    # about beta^2 dt / 2, which acts over min(T, 1/alpha): at most 5% when
    # dt <= 0.1 / (beta^2 min(T, 1/alpha)) (osc is the largest beta^2 min(T, 1/alpha))
    dt_osc = 0.1 / osc if osc > 0 else math.inf
    if dt is None:
        dt_used = min(dt_factor / R, T / 100, dt_osc)
        if dt_osc < dt_factor / R:
            why += "; oscillating modes (Euler-Maruyama amplifies them)"
    else:
        dt_used = float(dt)
        if not dt_used > 0:
            raise ModelError(f"dt must be positive; got {dt}")
        if dt_used * R > 0.5:
            warnings.warn(
                f"dt = {dt_used:.3g} is too coarse for {co.name}: the fastest time scale is "
                f"1/R = {1 / R:.3g} ({why}); the step should be at most {0.5 / R:.3g} "
                f"(default {dt_factor / R:.3g}). Results will be biased or blow up.",
                CoarseStepWarning, stacklevel=2)
        elif dt_used > 2 * dt_osc:
            warnings.warn(
                f"dt = {dt_used:.3g} is too coarse for the oscillating modes of {co.name}: "
                f"Euler-Maruyama amplifies them by about exp({osc * dt_used / 2:.2g}); use "
                f"dt <= {dt_osc:.3g}", CoarseStepWarning, stacklevel=2)
    nsteps = max(int(math.ceil(T / dt_used - 1e-9)), 1)
    if nsteps > max_steps:
        raise SimulationError(
            f"{co.name}: {nsteps} steps of {T / nsteps:.3g} would be needed to reach T = {T} "
            f"(fastest rate {R:.3g}: {why}); raise max_steps, shorten T or use a larger eps"
        )
    dt_used = T / nsteps
    times = np.array([0.0, T] if saveat is None else sorted(float(s) for s in saveat))
    if times.min() < 0 or times.max() > T * (1 + 1e-12):
        raise ModelError(f"saveat times must lie in [0, T] = [0, {T}]")
    save_steps = np.unique(np.rint(times / dt_used).astype(np.int64))
    moved = np.abs(np.rint(times / dt_used) * dt_used - times).max()
    if len(save_steps) < len(np.unique(times)) or moved > 1e-9 * max(T, dt_used):
        warnings.warn(
            f"saveat times were moved to the step grid (dt = {dt_used:.3g}; by up to "
            f"{moved:.2g}) and {len(np.unique(times)) - len(save_steps)} of them merged: "
            "ens.t holds the times actually saved; pass a dt that divides them",
            SaveTimeWarning, stacklevel=2)
    burn, burn_dt = 0, dt_factor / R
    if sampler.kind == "burn-in":      # 20 relaxation times of the fastest scale
        burn = int(math.ceil(20.0 / dt_factor))

    nchunks = max(1, math.ceil(paths / chunk_size))
    seeds = np.random.SeedSequence(seed).spawn(nchunks)
    tasks = []
    for c in range(nchunks):
        start = c * chunk_size
        size = min(chunk_size, paths - start)
        zp = None if z0_paths is None else z0_paths[:, start:start + size]
        tasks.append(_Task(ks.source, backend, p, dt_used, nsteps, save_steps, z0, zp, sampler,
                           burn, burn_dt, fast_rows, seeds[c], start, size,
                           check_every=max(1, min(1000, nsteps // 10 or 1)),
                           anti=int(bool(antithetic)), record=co.m if record_noise else 0))
    own = None
    if executor is None:
        if nchunks > 1 and backend == "numba":
            own = ThreadPoolExecutor(max_workers=min(os.cpu_count() or 1, nchunks))
            executor = own
        else:
            executor = _SerialExecutor()
    out = np.empty((len(save_steps), len(co.state), paths))
    noise_sums = np.empty((co.m, paths)) if record_noise else None
    blown = []
    try:
        futures = [executor.submit(_run_chunk, t) for t in tasks]
        # copy each chunk into the result as it is collected and drop it, so the peak
        # memory is the result plus the chunks in flight
        for i, (t, (arr, step, bad, in_burn, sums)) in enumerate(
                zip(tasks, _gather(futures, co.name))):
            futures[i] = None
            if step != -1:
                blown.append((not in_burn, step, bad, t.size))
                continue
            out[:, :, t.start:t.start + t.size] = arr
            if noise_sums is not None:
                noise_sums[:, t.start:t.start + t.size] = sums
            del arr
    finally:
        if own is not None:
            own.shutdown()
    if blown:
        main_run, step, bad, size = min(blown)     # burn-in failures first, then earliest
        total_bad = sum(b[2] for b in blown)
        if main_run:
            where = (f"run at t = {step * dt_used:.4g} (step {step} of {nsteps}, "
                     f"dt = {dt_used:.3g})")
        else:
            where = (f"burn-in of the fast variables (slow variables frozen) at t = "
                     f"{step * burn_dt:.4g} of it (step {step} of {burn}, dt = {burn_dt:.3g})")
        raise SimulationError(
            f"{co.name} blew up (NaN or overflow) during the {where}: {bad} of {size} paths "
            f"in the first chunk that failed ({total_bad} paths in {len(blown)} of "
            f"{nchunks} chunks, {total_bad / paths:.2%} of all paths). Use a smaller dt, "
            "check the signs of the drift, or use scheme='exact-ou' for stiff linear fast "
            "variables."
        )
    if table_info:
        for row in table_info:
            z = co.state.index(row["variable"])
            lo, hi = row["interval"]
            vals = out[:, z, :]
            row["fraction outside"] = float(np.mean((vals < lo) | (vals > hi)))
            if row["fraction outside"] > 0:
                warnings.warn(
                    f"{row['fraction outside']:.2%} of the saved values of {row['variable']} "
                    f"lie outside the tabulation interval {row['interval']}, where the "
                    "semi-analytic coefficient is held constant: widen tabulate=...",
                    CoarseStepWarning, stacklevel=2)
    info = {"backend": backend, "chunks": nchunks, "fast initial law": sampler.note,
            "tabulated": table_info,
            "fastest rate": R, "rate from": why, "steps": nsteps, "burn-in steps": burn,
            "model": co.name, "antithetic": bool(antithetic)}
    return Ensemble(save_steps * dt_used, co.state, out, dt_used, ks.schemes, values, info,
                    noise_sums)


def _tables(ks: Any, co: ModelCoefficients, values: dict, tabulate: Mapping | None
            ) -> tuple[list[float], list[dict]]:
    """Interval and Chebyshev coefficients of each tabulated coefficient (kernel order)."""
    from .tabulate import chebyshev_table

    out: list[float] = []
    info: list[dict] = []
    for spec in ks.tables:
        interval = dict(tabulate or {}).get(spec.variable)
        if interval is None:
            raise SimulationError(
                f"{co.name}: the coefficient {spec.expr} has no closed form (an unevaluated "
                f"integral); pass tabulate={{{spec.variable}: (lo, hi)}}, an interval the "
                f"paths of {spec.variable} stay in, to tabulate it by quadrature"
            )
        c, err = chebyshev_table(spec, values, interval)
        out += [float(interval[0]), float(interval[1]), *c.tolist()]
        scale = float(np.max(np.abs(c))) or 1.0
        info.append({"expression": spec.expr, "variable": spec.variable,
                     "interval": tuple(float(v) for v in interval), "nodes": len(c),
                     "max interpolation error": err})
        if err > 1e-6 * scale:
            warnings.warn(
                f"the Chebyshev interpolant of {spec.expr} on {tuple(interval)} has error "
                f"{err:.2e}: narrow the interval", CoarseStepWarning, stacklevel=3)
    return out, info


def _gather(futures: list, name: str) -> Iterator[Any]:
    """The results of ``futures`` in order, one at a time; each advances the progress bar of
    the running call (``simulate``'s own, or that of the ``verify`` it is part of) by its
    share of this run."""
    for i in range(len(futures)):
        result = futures[i].result()
        _progress.advance(1 / len(futures))
        yield result


def _backend(backend: str) -> str:
    if backend == "auto":
        return "numba" if have_numba() else "numpy"
    if backend not in ("numba", "numpy"):
        raise ModelError(f"backend must be 'auto', 'numba' or 'numpy'; got {backend!r}")
    if backend == "numba" and not have_numba():
        raise SimulationError("backend='numba' needs numba: pip install symavg[fast]")
    return backend


def _parameter_values(co: ModelCoefficients, params: Mapping | None, eps: float | None
                      ) -> dict[sp.Symbol, float]:
    values: dict[sp.Symbol, float] = {}
    for k, v in dict(params or {}).items():
        if not isinstance(k, sp.Symbol):
            raise ModelError(f"params keys must be SymPy symbols; got {k!r}. Numbers enter "
                             "as {symbol: value}.")
        try:
            values[k] = float(v)
        except (TypeError, ValueError):
            raise ModelError(f"params[{k}] must be a number; got {v!r}") from None
    if eps is not None:
        if co.scale is None:
            raise ModelError(
                f"{co.name} was declared without a scale parameter, so eps={eps} has "
                "nothing to set: pass the values of its parameters in params={symbol: value}")
        values[co.scale] = float(eps)
    if co.eps_symbol is not None and co.eps_symbol in values and values[co.eps_symbol] <= 0:
        raise ModelError(f"{co.eps_symbol} must be positive; got {values[co.eps_symbol]}")
    # a value against the symbol's declared sign simulates another model (e.g. k = -1 in
    # -k x: an unstable process): refused before any step is taken
    for k, v in values.items():
        if (k.is_positive and not v > 0) or (k.is_nonnegative and not v >= 0) or (
                k.is_negative and not v < 0) or (k.is_nonpositive and not v <= 0):
            sign = ("positive" if k.is_positive else "nonnegative" if k.is_nonnegative
                    else "negative" if k.is_negative else "nonpositive")
            raise ModelError(f"params[{k}] = {v}, but {k} is declared {sign} "
                             f"(Symbol('{k}', {sign}=True)): the model is derived for such "
                             "values only; pass a value of that sign or declare the symbol "
                             "without the assumption")
        if not math.isfinite(v):
            raise ModelError(f"params[{k}] = {v} is not a finite number")
    missing = [s for s in co.parameters if s not in values]
    if missing:
        if co.scale in missing:
            hint = f"pass eps=... for the scale parameter {co.scale} (model.eps)"
            if len(missing) > 1:
                rest = next(s for s in missing if s != co.scale)
                hint += f", and params={{{rest}: ...}} for the others"
        else:
            hint = f"pass params={{{missing[0]}: ...}}"
        raise SimulationError(f"{co.name}: no value for the parameter(s) "
                              f"{[str(s) for s in missing]}: {hint}")
    return values


def _initial(co: ModelCoefficients, x0: Mapping, paths: int
             ) -> tuple[np.ndarray, np.ndarray | None, list[int]]:
    n = len(co.state)
    z0 = np.full(n, np.nan)
    per_path = None
    if not isinstance(x0, Mapping):      # a number (or per-path array) for one slow variable
        slow = [s for s in co.state if s not in co.fast]
        if len(slow) != 1:
            raise ModelError(f"x0 = {x0!r}: a bare value is a start only for one slow "
                             f"variable; {co.name} has {len(slow)}: pass x0 = "
                             f"{{{slow[0] if slow else 'x'}: ...}}")
        x0 = {slow[0]: x0}
    for k, v in dict(x0).items():
        if k not in co.state:
            raise ModelError(f"x0 names {k}, which is not a variable of {co.name}")
        i = co.state.index(k)
        arr = np.asarray(v, dtype=float)
        if arr.ndim == 0:
            z0[i] = float(arr)
        elif arr.shape == (paths,):
            if per_path is None:
                per_path = np.full((n, paths), np.nan)
            per_path[i] = arr
            z0[i] = float(arr.mean())
        else:
            raise ModelError(f"x0[{k}] must be a number or an array of shape ({paths},); got "
                             f"shape {arr.shape}")
    if per_path is not None:
        for i in range(n):
            if np.isnan(per_path[i]).all():
                per_path[i] = z0[i]
    missing = [i for i in range(n) if np.isnan(z0[i])]
    not_fast = [co.state[i] for i in missing if co.state[i] not in co.fast]
    if not_fast:
        raise ModelError(
            f"x0 has no value for {not_fast[0]}: give every slow variable a start value "
            f"(only fast variables {list(co.fast)} may be left out; they are then drawn from "
            "their invariant law)"
        )
    return z0, per_path, missing


def _sampler(model: Any, co: ModelCoefficients, functions: Mapping | None, z0: np.ndarray,
             missing: list[int], values: dict, per_path_slow: bool = False
             ) -> tuple[FastSampler, tuple[int, ...]]:
    """How to start the fast variables left out of ``x0``: their invariant law at the
    frozen slow values, or a burn-in run (always when the slow start varies by path,
    since the law then differs from path to path)."""
    if not missing:
        return FastSampler("none"), ()
    rows = tuple(missing)
    measure = None if per_path_slow else _leading_measure(model, co, functions)
    if measure is not None and set(measure.fast) == {co.state[i] for i in missing}:
        frozen = {co.state[i]: float(z0[i]) for i in range(len(co.state)) if i not in missing}
        try:
            s = sampler_from_measure(measure, co.state, {**values, **frozen})
        except (TypeError, ValueError, ArithmeticError):
            s = None
        if s is not None:
            return s, rows
    return FastSampler("burn-in", rows, note="burn-in run with the slow variables frozen"), rows


def _fastest_rate(co: ModelCoefficients, mod: Any, p: np.ndarray, z0: np.ndarray,
                  z0_paths: np.ndarray | None, sampler: FastSampler, values: dict,
                  seed: int | None, T: float) -> tuple[float, str, float]:
    """Largest rate of the model at the start (see the module docstring), its origin,
    and the largest ``beta^2 min(T, 1/alpha)`` over the oscillation-dominated
    eigenvalues ``-alpha + i beta`` (``|beta| > alpha``) of the drift's Jacobian."""
    probe = 512
    Z = np.empty((len(co.state), probe))
    Z[:] = np.where(np.isnan(z0), 0.0, z0)[:, None]
    if z0_paths is not None:
        Z[:] = np.where(np.isnan(z0_paths[:, :probe].mean(axis=1)), 0.0,
                        z0_paths[:, :probe].mean(axis=1))[:, None]
    sampler.draw(Z, np.random.default_rng(np.random.SeedSequence(seed).spawn(1)[0]))
    n = len(co.state)

    def coeffs(Zs: np.ndarray) -> np.ndarray:
        vals = mod.rates(*Zs, *p)
        return np.array([np.broadcast_to(np.asarray(v, dtype=float), (probe,)) for v in vals])

    with np.errstate(all="ignore"):
        base = coeffs(Z)
        J = np.empty((probe, n, n))
        for j in range(n):       # column j of the drift's Jacobian by central differences
            h = 1e-6 * np.maximum(1.0, np.abs(Z[j]))
            Zp, Zm = Z.copy(), Z.copy()
            Zp[j] += h
            Zm[j] -= h
            J[:, :, j] = ((coeffs(Zp)[:n] - coeffs(Zm)[:n]) / (2 * h)).T
        ok = np.isfinite(J).all(axis=(1, 2))
        if not ok.any():
            raise SimulationError(
                f"{co.name}: the drift is not finite at the initial values (NaN in every "
                "probe): check x0 and the parameters")
        lam = np.linalg.eigvals(J[ok])                      # (probes, n)
        radius = np.abs(lam).max(axis=1)
        diffusive = np.nan_to_num(base[n:2 * n][:, ok]).max(axis=0)
        alpha = -lam.real
        oscillating = np.abs(lam.imag) > np.abs(alpha)
        horizon = np.where(alpha > 0, np.minimum(T, 1.0 / np.where(alpha > 0, alpha, 1.0)), T)
        osc = np.where(oscillating, lam.imag**2 * horizon, 0.0).max(axis=1)
    r_lam = float(np.quantile(radius, 0.99))
    r_dif = float(np.quantile(diffusive, 0.99))
    R, why = (r_lam, "spectral radius of the drift's Jacobian") if r_lam >= r_dif else (
        r_dif, "diffusion on a circle")
    if co.leading_power is not None and co.eps_symbol is not None:
        e = values[co.eps_symbol]
        Re = float(e ** float(co.leading_power))
        if Re > R:
            R, why = Re, f"{co.eps_symbol}**({co.leading_power})"
    if R <= 0:
        R, why = 1.0, "unit time scale (no rate found)"
    return R, why, float(np.quantile(osc, 0.99))
