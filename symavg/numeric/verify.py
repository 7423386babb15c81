r"""Monte Carlo verification of a reduction: the full model against the reduced one.

For each value of :math:`\epsilon`, :func:`verify` simulates the full model
:math:`Z^\epsilon = (X^\epsilon, Y^\epsilon)` and compares, at the final time
:math:`T`, the means of observables :math:`\varphi(X)` with those of the
reduced model :math:`\bar X`:

.. math::

    e(\epsilon) = \mathbb E\,\varphi(X^\epsilon_T) - \mathbb E\,\varphi(\bar X_T),
    \qquad \operatorname{se}(e) = \sqrt{\operatorname{se}_{\rm full}^2
    + \operatorname{se}_{\rm red}^2},

and the Wasserstein-1 distance between the two final-time laws of each slow
variable (:func:`scipy.stats.wasserstein_distance`). The convergence order
:math:`q` in :math:`|e| \approx C\epsilon^q` is fitted by weighted least squares
on :math:`\log|e|` against :math:`\log\epsilon` (weights from the delta method,
:math:`\operatorname{se}(\log|e|) = \operatorname{se}(e)/|e|`), using only
the errors that stand out of the Monte Carlo noise (:math:`|e| > 2\,\mathrm{se}`).
When fewer than two do, no order is reported and the report says how many more
paths would resolve the error: fitting noise is never done silently.

The Wasserstein distance between two samples of size :math:`N` is biased
upwards by sampling noise; each row carries a *noise floor*, the distance between
two independent halves of the reduced sample rescaled to two samples of size
:math:`N` (by :math:`1/\sqrt 2`), below which a distance is not resolved. Every
run (each eps, the reduced model, the time-step check) draws from its own child
of ``SeedSequence(seed)``, so the runs are independent and the standard errors
add in quadrature.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import sympy as sp

from ..errors import ModelError
from .plan import model_scale
from .simulate import Ensemble, simulate


@dataclass(frozen=True)
class ErrorRow:
    """One observable at one value of eps.

    ``error = full - reduced``; ``resolved`` is ``|error| > 2 error_se``.
    """

    eps: float
    observable: sp.Expr
    full: float
    full_se: float
    reduced: float
    reduced_se: float
    error: float
    error_se: float

    @property
    def resolved(self) -> bool:
        return abs(self.error) > 2.0 * self.error_se


@dataclass(frozen=True)
class DistanceRow:
    """Wasserstein-1 distance between the final-time laws of one slow variable."""

    eps: float
    variable: sp.Symbol
    w1: float
    noise_floor: float

    @property
    def resolved(self) -> bool:
        return self.w1 > 2.0 * self.noise_floor


@dataclass(frozen=True)
class OrderFit:
    """Fitted weak order ``|e| ~ C eps^order`` with a 95% interval, or why there is none."""

    observable: sp.Expr
    order: float | None
    interval: tuple[float, float] | None
    points: int
    message: str


@dataclass
class VerifyReport:
    """What :func:`verify` measured.

    Attributes
    ----------
    rows : list of ErrorRow
        Per eps and observable: full and reduced means with standard errors,
        the weak error with its error bar.
    distances : list of DistanceRow
        Per eps and slow variable: the Wasserstein-1 distance and its noise floor.
    fits : dict {observable: OrderFit}
    order : float or None
        The order of the first observable whose error is resolved (see :attr:`fits`).
    order_interval : (float, float) or None
    notes : list of str
        Warnings in words: unresolved errors, how many paths would resolve them,
        time-stepping bias comparable to the error.
    dt_bias : dict {observable: (difference, se)}
        Mean at the smallest eps with the step used minus with half of it.
    """

    rows: list[ErrorRow]
    distances: list[DistanceRow]
    fits: dict[sp.Expr, OrderFit]
    eps_values: list[float]
    observables: list[sp.Expr]
    T: float
    paths: int
    notes: list[str] = field(default_factory=list)
    info: dict[str, Any] = field(default_factory=dict)
    dt_bias: dict[sp.Expr, tuple[float, float]] = field(default_factory=dict)

    @property
    def order(self) -> float | None:
        for obs in self.observables:
            if self.fits[obs].order is not None:
                return self.fits[obs].order
        return None

    @property
    def order_interval(self) -> tuple[float, float] | None:
        for obs in self.observables:
            if self.fits[obs].order is not None:
                return self.fits[obs].interval
        return None

    def table(self) -> str:
        """The rows as a Markdown table, then the distances, fits and notes."""
        out = [f"Weak errors at T = {self.T} with {self.paths} paths per model "
               "(error = full - reduced, +- one standard error):", "",
               "| eps | observable | full | reduced | error | resolved |",
               "| --- | --- | --- | --- | --- | --- |"]
        for r in self.rows:
            out.append(f"| {r.eps:g} | {r.observable} | {r.full:.6g} +- {r.full_se:.2g} | "
                       f"{r.reduced:.6g} +- {r.reduced_se:.2g} | {r.error:+.3e} +- "
                       f"{r.error_se:.2e} | {'yes' if r.resolved else 'no'} |")
        out += ["", "| eps | variable | W1(full, reduced) | noise floor |",
                "| --- | --- | --- | --- |"]
        for d in self.distances:
            out.append(f"| {d.eps:g} | {d.variable} | {d.w1:.3e} | {d.noise_floor:.3e} |")
        out.append("")
        for fit in self.fits.values():
            out.append(f"- {fit.observable}: {fit.message}")
        for o, (d, se) in self.dt_bias.items():
            out.append(f"- {o}: time-step check at eps = {min(self.eps_values):g}: mean(dt) - "
                       f"mean(dt/2) = {d:+.2e} +- {se:.1e}")
        for n in self.notes:
            out.append(f"- note: {n}")
        return "\n".join(out) + "\n"

    __str__ = table

    def _repr_html_(self) -> str:
        from ..report.display import verify_html

        return verify_html(self)

    def _repr_markdown_(self) -> str:
        return self.table()

    def plot(self, ax: Any = None) -> Any:
        """Log-log weak error against eps with error bars and a reference slope.

        Returns the matplotlib ``Figure`` (made without pyplot, so no display is needed).
        """
        if ax is None:
            from ..report.display import Figure

            fig = Figure(figsize=(6.0, 4.2))
            ax = fig.add_subplot(1, 1, 1)
        else:
            fig = ax.figure
        eps = np.array(self.eps_values)
        for obs in self.observables:
            rows = [r for r in self.rows if r.observable == obs]
            e = np.array([abs(r.error) for r in rows])
            s = np.array([r.error_se for r in rows])
            x = np.array([r.eps for r in rows])
            lo = np.minimum(s, e * 0.999)
            (line,) = ax.plot([], [])
            color = line.get_color()
            ok = np.array([r.resolved for r in rows])
            if ok.any():
                ax.errorbar(x[ok], e[ok], yerr=[lo[ok], s[ok]], fmt="o", color=color,
                            capsize=3, label=f"|error of E {sp.sstr(obs)}|")
            if (~ok).any():
                ax.errorbar(x[~ok], np.maximum(e[~ok], 2 * s[~ok]), fmt="v", color=color,
                            mfc="none", label=f"E {sp.sstr(obs)}: below 2 se (bound)")
            fit = self.fits[obs]
            if fit.order is not None:
                c = np.exp(np.mean(np.log(e[ok]) - fit.order * np.log(x[ok])))
                ax.plot(eps, c * eps ** fit.order, "-", color=color, lw=1,
                        label=f"fit: order {fit.order:.2f}")
        for var in dict.fromkeys(d.variable for d in self.distances):
            ds = [d for d in self.distances if d.variable == var]
            (line,) = ax.plot([d.eps for d in ds], [d.w1 for d in ds], "s--", mfc="none",
                              lw=0.8, label=f"W1 of {var}")
            if any(d.noise_floor > 0 for d in ds):
                ax.plot([d.eps for d in ds], [d.noise_floor for d in ds], ":",
                        color=line.get_color(), lw=0.8, label=f"W1 noise floor of {var}")
        resolved = [abs(r.error) for r in self.rows if r.resolved]
        if resolved:
            ref = max(resolved) * (eps / eps.max())
            ax.plot(eps, ref, "k:", lw=1, label="slope 1")
        ax.set_xscale("log")
        ax.set_yscale("log")
        ax.set_xlabel(r"$\epsilon$")
        ax.set_ylabel("weak error at T")
        ax.set_title(f"full vs reduced model, T = {self.T}, {self.paths} paths")
        ax.legend(fontsize=7)
        fig.tight_layout()
        return fig


def fit_order(eps: Sequence[float], err: Sequence[float], se: Sequence[float],
              observable: sp.Expr = sp.S.One) -> OrderFit:
    r"""Weighted least-squares fit of :math:`\log|e| = q\log\epsilon + c`.

    Only points with :math:`|e| > 2\,\mathrm{se}` enter. The interval is
    :math:`q \pm 1.96\,\mathrm{se}(q)`, the standard error inflated by the
    reduced chi-square when it exceeds one (three points or more).
    """
    eps_a, err_a, se_a = (np.asarray(v, dtype=float) for v in (eps, err, se))
    keep = np.abs(err_a) > 2.0 * se_a
    k = int(keep.sum())
    if k < 2:
        worst = np.argmin(eps_a)
        need = 4.0 * (se_a[worst] / max(abs(err_a[worst]), 1e-300)) ** 2 if err_a[worst] else np.inf
        hint = (f"about {need:.0f}x the paths" if np.isfinite(need) and need < 1e6
                else "many more paths")
        return OrderFit(observable, None, None, k,
                        f"no order: only {k} of {len(eps_a)} errors stand out of the Monte Carlo "
                        f"noise (|error| > 2 se); the error is below what {hint} would resolve, "
                        "or the reduction is exact for this observable")
    x = np.log(eps_a[keep])
    y = np.log(np.abs(err_a[keep]))
    w = (np.abs(err_a[keep]) / se_a[keep]) ** 2          # 1 / var(log|e|)
    W = w.sum()
    xm, ym = (w * x).sum() / W, (w * y).sum() / W
    sxx = (w * (x - xm) ** 2).sum()
    if sxx <= 0:
        return OrderFit(observable, None, None, k, "no order: all resolved errors at one eps")
    q = float((w * (x - xm) * (y - ym)).sum() / sxx)
    var_q = 1.0 / sxx
    if k > 2:
        chi2 = float((w * (y - ym - q * (x - xm)) ** 2).sum()) / (k - 2)
        var_q *= max(1.0, chi2)
    h = 1.96 * math.sqrt(var_q)
    return OrderFit(observable, q, (q - h, q + h), k,
                    f"order {q:.2f} (95% interval {q - h:.2f} .. {q + h:.2f}) from {k} resolved "
                    "errors")


def verify(full: Any, reduced: Any, x0: Mapping, T: float, *, eps_values: Sequence[float],
           observables: Sequence[sp.Expr] | None = None, params: Mapping | None = None,
           paths: int = 20_000, seed: int | None = 0, dt: float | None = None,
           functions: Mapping | None = None, eps_symbol: sp.Symbol | None = None,
           backend: str = "auto", executor: Any = None, progress: bool | None = None,
           dt_reduced: float | None = None, check_dt: bool = True,
           **simulate_kwargs: Any) -> VerifyReport:
    r"""Simulate ``full`` at each ``eps`` in ``eps_values`` and ``reduced`` once; compare.

    Parameters
    ----------
    full : SDE
        The full slow-fast model.
    reduced : EffectiveModel
        The reduced model (``sa.reduce(full, ...)``).
    x0 : dict {Symbol: float}
        Initial values of the slow variables (fast ones are drawn from their
        invariant law unless given).
    T : float
        Final time at which the laws are compared.
    eps_values : sequence of float
        Scale separations to run the full model at.
    observables : sequence of Expr, optional
        Functions of the slow variables (default: the slow variables).
    params, functions, dt, backend, executor, seed, paths
        As in :func:`symavg.simulate`; ``dt`` applies to the full model only.
    dt_reduced : float, optional
        Step of the reduced model; by default the finest step of the full runs
        (at most ``T/1000``), so that its time-stepping bias stays below the
        errors being measured.
    check_dt : bool
        Run the full model at the smallest eps once more with half the step and
        report the time-stepping bias per observable (``report.dt_bias``): a
        bias comparable to the error means the error measures the scheme, not
        the reduction (lower ``dt_factor`` or ``dt``).
    eps_symbol : Symbol, optional
        Deprecated, kept for one release: the scale parameter is the full
        model's (``full.eps``), and ``eps_values`` are its values. ``None`` (the
        default) or that same symbol; a different one is a
        :class:`~symavg.errors.ModelError`, as is a reduced model derived with
        another scale.

    Returns
    -------
    VerifyReport
        ``.rows``, ``.distances``, ``.order``, ``.table()``, ``.plot()``.
    """
    from scipy.stats import wasserstein_distance

    eps_list = sorted((float(e) for e in eps_values), reverse=True)
    if not eps_list or any(e <= 0 for e in eps_list):
        raise ModelError(f"eps_values must be positive numbers; got {list(eps_values)}")
    slow = tuple(reduced.state)
    if hasattr(reduced, "check_validity"):  # the reduced model's validity conditions
        reduced.check_validity(params, "verify")
    missing = [x for x in slow if x not in getattr(full, "state", ())]
    if missing:
        raise ModelError(f"the reduced model's variables {missing} are not variables of the "
                         "full model: pass the matching pair (full, sa.reduce(full, ...))")
    obs = [sp.sympify(o) for o in (observables if observables is not None else slow)]
    for o in obs:
        bad = [s for s in o.free_symbols if s in full.state and s not in slow]
        if bad:
            raise ModelError(f"observable {o} uses the fast variable(s) {bad}; observables are "
                             f"functions of the slow variables {list(slow)}")
    x0_red = {k: v for k, v in dict(x0).items() if k in slow}
    scale = model_scale(full, eps_symbol, "verify")
    if getattr(reduced, "eps", None) is not None and reduced.eps != scale:
        raise ModelError(f"verify: the full model has the scale parameter {scale} but the "
                         f"reduced model was derived with {reduced.eps}: pass the matching "
                         "pair (full, sa.reduce(full, ...))")
    common = dict(params=params, paths=paths, functions=functions,
                  backend=backend, executor=executor, eps_symbol=scale)
    # independent streams for every run: the standard error of full - reduced assumes
    # independent samples (the same seed with the same step would correlate them)
    seeds = [int(c.generate_state(1)[0])
             for c in np.random.SeedSequence(seed).spawn(len(eps_list) + 2)]
    seed_of = dict(zip(eps_list, seeds))
    runs: dict[float, Ensemble] = {}
    iterator: Any = eps_list
    if progress or (progress is None and paths * len(eps_list) > 200_000):
        from tqdm.auto import tqdm

        iterator = tqdm(eps_list, desc="verify: full model", unit="eps", leave=False,
                        disable=None if progress is None else not progress)
    for e in iterator:
        runs[e] = simulate(full, x0, T, eps=e, dt=dt, seed=seed_of[e], **common,
                           **simulate_kwargs)
    # the reduced model with a step no coarser than the finest full run, so that its
    # own time-stepping bias stays below the errors being measured
    if dt_reduced is None:
        dt_reduced = min(min(r.dt for r in runs.values()), T / 1000)
    red = simulate(reduced, x0_red, T, dt=dt_reduced, seed=seeds[-2], **common,
                   **simulate_kwargs)
    red_final = {o: red.evaluate(o)[-1] for o in obs}
    rows: list[ErrorRow] = []
    dists: list[DistanceRow] = []
    # W1 between two independent samples of sizes n1, n2 scales like sqrt(1/n1 + 1/n2):
    # halves of the reduced sample (N/2 each) against full vs reduced (N each)
    half = paths // 2
    scale = math.sqrt((2 / paths) / (1 / half + 1 / (paths - half)))
    floors = {x: scale * wasserstein_distance(red[x][-1][:half], red[x][-1][half:])
              for x in slow}
    for e in eps_list:
        ens = runs[e]
        for o in obs:
            f = ens.evaluate(o)[-1]
            r = red_final[o]
            fm, fs = float(f.mean()), float(f.std(ddof=1) / math.sqrt(f.size))
            rm, rs = float(r.mean()), float(r.std(ddof=1) / math.sqrt(r.size))
            rows.append(ErrorRow(e, o, fm, fs, rm, rs, fm - rm, math.hypot(fs, rs)))
        for x in slow:
            dists.append(DistanceRow(e, x, float(wasserstein_distance(ens[x][-1], red[x][-1])),
                                     float(floors[x])))
    dt_bias: dict[sp.Expr, tuple[float, float]] = {}
    notes = []
    if check_dt:
        e = eps_list[-1]
        fine = simulate(full, x0, T, eps=e, dt=runs[e].dt / 2, seed=seeds[-1], **common,
                        **simulate_kwargs)
        for o in obs:
            a, b = runs[e].evaluate(o)[-1], fine.evaluate(o)[-1]
            d = float(a.mean() - b.mean())
            se = math.hypot(a.std(ddof=1), b.std(ddof=1)) / math.sqrt(a.size)
            dt_bias[o] = (d, se)
            err = next(r for r in rows if r.eps == e and r.observable == o)
            if abs(d) > 2 * se and abs(d) > 0.25 * abs(err.error):
                notes.append(
                    f"{o}: halving the step of the full model at eps = {e:g} changes its mean "
                    f"by {d:+.2e} (+- {se:.1e}), comparable to the error {err.error:+.2e}: the "
                    "error there is partly time-stepping bias; pass a smaller dt_factor= or dt=")
    fits = {}
    for o in obs:
        rs = [r for r in rows if r.observable == o]
        fits[o] = fit_order([r.eps for r in rs], [r.error for r in rs],
                            [r.error_se for r in rs], o)
        small = [r for r in rs if not r.resolved]
        if small:
            notes.append(
                f"{o}: at eps = {', '.join(f'{r.eps:g}' for r in small)} the error is within "
                "2 standard errors of zero: Monte Carlo noise hides it (4x the paths halves "
                "the standard error)")
    info = {"dt_full": {e: r.dt for e, r in runs.items()}, "dt_reduced": red.dt,
            "seeds": {"full": seed_of, "reduced": seeds[-2], "dt check": seeds[-1]},
            "schemes": {e: r.schemes for e, r in runs.items()}}
    return VerifyReport(rows, dists, fits, eps_list, obs, float(T), int(paths), notes, info,
                        dt_bias)
