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
the errors that stand out of the Monte Carlo noise (:math:`|e| > k\,\mathrm{se}`,
:math:`k = 2`, or ``target``). When fewer than two do, no order is reported and the
report says how many more paths would resolve the error: fitting noise is never
done silently. With ``target`` (and ``order_width``) paths are added sequentially
(:mod:`symavg.numeric.sequential`); the reduced expectations are computed without
sampling noise where the reduced model allows it (:mod:`symavg.numeric.kolmogorov`),
and the time-step check runs the same Brownian paths at two steps
(:mod:`symavg.numeric.pair`).

The Wasserstein distance between two samples of size :math:`N` is biased
upwards by sampling noise; each row carries a *noise floor*, the distance between
two independent halves of the reduced sample rescaled to two samples of size
:math:`N` (by :math:`1/\sqrt 2`), below which a distance is not resolved. Every
run (each eps, the reduced model, the time-step check) draws from its own child
of ``SeedSequence(seed)``, so the runs are independent and the standard errors
add in quadrature.
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import sympy as sp

from .. import _progress
from ..errors import ModelError
from ..models.effective import TIME
from .plan import model_scale
from .simulate import simulate


@dataclass(frozen=True)
class ErrorRow:
    """One observable at one value of eps.

    ``error = full - reduced``; ``resolved`` is ``|error| > threshold * error_se``
    (``threshold`` is 2, or ``verify(..., target=)``); ``paths`` is the number of
    full-model paths behind ``full``. With a deterministic reduced side
    ``reduced_se`` is its error estimate (no sampling noise), with the effect of the
    reduced coefficients' own numeric error (a Green-Kubo diffusion) in quadrature.
    """

    eps: float
    observable: sp.Expr
    full: float
    full_se: float
    reduced: float
    reduced_se: float
    error: float
    error_se: float
    threshold: float = 2.0
    paths: int = 0

    @property
    def resolved(self) -> bool:
        return bool(abs(self.error) > self.threshold * self.error_se)


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

    Examples
    --------
    >>> import sympy as sp, symavg as sa
    >>> x, y = sp.symbols("x y", real=True)
    >>> eps = sa.epsilon
    >>> full = sa.SDE([x, y], [y - x, -y / eps], noise=[[0], [sp.sqrt(2 / eps)]])
    >>> rep = sa.verify(full, sa.reduce(full, [y]), x0={x: 1.0}, T=0.5, eps_values=[0.1],
    ...                 observables=[x], paths=1000, seed=0, progress=False)
    >>> rep.eps_values, rep.observables, rep.paths
    ([0.1], [x], 1000)
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
        how = self.info.get("reduced method", "monte-carlo")
        red_txt = ("the reduced side by Monte Carlo" if how == "monte-carlo" else
                   f"the reduced side deterministic ({how}; +- its error estimate)")
        k = self.rows[0].threshold if self.rows else 2.0
        vr = self.info.get("variance reduction", "none")
        if vr != "none":
            all_g = list(self.info.get("variance reduction factor", {}).values())
            gains = [g for g in all_g if g < 1e12]      # above: exact (see the notes)
            red_txt += (f"; {vr} estimator, variance reduced {min(gains):.3g}-"
                        f"{max(gains):.3g}x" if gains else f"; {vr} estimator")
            if len(gains) < len(all_g):
                red_txt += " (some means exact, see the notes)"
        out = [f"Weak errors at T = {self.T} (error = full - reduced, +- one standard error; "
               f"{red_txt}; resolved: |error| > {k:g} se):", "",
               "| eps | observable | paths | full | reduced | error | resolved |",
               "| --- | --- | --- | --- | --- | --- | --- |"]
        for r in self.rows:
            out.append(f"| {r.eps:g} | {r.observable} | {r.paths or self.paths} | {r.full:.6g} "
                       f"+- {r.full_se:.2g} | {r.reduced:.6g} +- {r.reduced_se:.2g} | "
                       f"{r.error:+.3e} +- {r.error_se:.2e} | {'yes' if r.resolved else 'no'} |")
        out += ["", "| eps | variable | W1(full, reduced) | noise floor |",
                "| --- | --- | --- | --- |"]
        for d in self.distances:
            out.append(f"| {d.eps:g} | {d.variable} | {d.w1:.3e} | {d.noise_floor:.3e} |")
        out.append("")
        for fit in self.fits.values():
            out.append(f"- {fit.observable}: {fit.message}")
        coupling = self.info.get("dt check", {}).get("coupling", "independent runs")
        for o, (d, se) in self.dt_bias.items():
            out.append(f"- {o}: time-step check at eps = {min(self.eps_values):g} ({coupling}): "
                       f"mean(dt) - mean(dt/2) = {d:+.2e} +- {se:.1e}")
        if self.info.get("rounds") or self.info.get("target") is not None:
            out.append(f"- sequential: {self.info.get('stop')} after {self.info.get('rounds')} "
                       f"additions, {self.info.get('seconds', 0):.1f} s")
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
              observable: sp.Expr = sp.S.One, threshold: float = 2.0,
              systematic: Sequence[Sequence[float]] | None = None) -> OrderFit:
    r"""Weighted least-squares fit of :math:`\log|e| = q\log\epsilon + c`.

    Only points with :math:`|e| > k\,\mathrm{se}` enter (``k = threshold``). The interval is
    :math:`q \pm 1.96\,\mathrm{se}(q)`, the standard error inflated by the
    reduced chi-square when it exceeds one (three points or more).

    ``systematic`` holds common (fully correlated) error sources: each is the signed shift
    :math:`d_{m,i}` of the error at every point caused by one standard error of one
    coefficient of the reduced model (a Green-Kubo number is the same at every
    :math:`\epsilon`, so its error moves all points together). The fit is then generalised
    least squares with the covariance of :math:`\log|e_i|`

    .. math::

        V_{ij} = \delta_{ij}\,\frac{\mathrm{se}_i^2}{e_i^2}
                 + \sum_m \frac{d_{m,i}\,d_{m,j}}{e_i\,e_j},

    :math:`\hat\beta = (X^T V^{-1} X)^{-1} X^T V^{-1} y`, :math:`\mathrm{var}\,\hat q =
    [(X^T V^{-1}X)^{-1}]_{qq}` (times the reduced chi-square
    :math:`r^T V^{-1} r / (k-2)` when it exceeds one); ``se`` is then the statistical
    error alone, and a point counts as resolved against
    :math:`\sqrt{\mathrm{se}_i^2 + \sum_m d_{m,i}^2}`.
    """
    eps_a, err_a, se_a = (np.asarray(v, dtype=float) for v in (eps, err, se))
    D = (np.zeros((0, eps_a.size)) if not systematic
         else np.atleast_2d(np.asarray(systematic, dtype=float)))
    if D.shape[1] != eps_a.size:
        raise ModelError(f"systematic: each direction needs one shift per point ({eps_a.size}); "
                         f"got shape {D.shape}")
    if D.shape[0]:
        stat_a = se_a
        se_a = np.sqrt(se_a ** 2 + (D ** 2).sum(axis=0))
    keep = np.abs(err_a) > threshold * se_a
    k = int(keep.sum())
    if k < 2:
        small = ~keep
        with np.errstate(over="ignore", divide="ignore"):
            factor = np.where(np.abs(err_a) > 0, (threshold * se_a / np.maximum(
                np.abs(err_a), 1e-300)) ** 2, np.inf)
        worst = float(np.max(factor[small])) if small.any() else np.inf
        hint = (f"about {worst:.0f}x the paths at the current estimates"
                if np.isfinite(worst) and worst < 1e6 else "many more paths")
        return OrderFit(observable, None, None, k,
                        f"no order: only {k} of {len(eps_a)} errors stand out of the Monte Carlo "
                        f"noise (|error| > {threshold:g} se); resolving the others takes {hint} "
                        "(verify(..., target=) adds them)")
    x = np.log(eps_a[keep])
    y = np.log(np.abs(err_a[keep]))
    if D.shape[0]:
        fit = _fit_order_gls(x, y, err_a[keep], stat_a[keep], D[:, keep], observable, k)
    else:
        fit = _fit_order_wls(x, y, err_a[keep], se_a[keep], observable, k)
    signs = np.sign(err_a[keep])
    if fit.order is not None and np.ptp(signs) > 0:
        order = np.argsort(eps_a[keep])
        flips = [(eps_a[keep][order][i], eps_a[keep][order][i + 1]) for i in range(k - 1)
                 if signs[order][i] != signs[order][i + 1]]
        where = ", ".join(f"{a:g} and {b:g}" for a, b in flips)
        fit = dataclasses.replace(fit, message=fit.message + (
            f"; but the resolved errors change sign (between eps = {where}): a power law "
            "|e| ~ C eps^q does not describe them there, so the order is not meaningful at "
            "these eps (a bias of the reduced side, e.g. a numeric coefficient, or an error "
            "crossing zero)"))
    return fit


def _fit_order_wls(x: np.ndarray, y: np.ndarray, err: np.ndarray, se: np.ndarray,
                   observable: sp.Expr, k: int) -> OrderFit:
    """The weighted least-squares branch of :func:`fit_order` (independent errors)."""
    w = (np.abs(err) / se) ** 2                          # 1 / var(log|e|)
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
    msg = (f"order {q:.2f} (95% interval {q - h:.2f} .. {q + h:.2f}) from {k} resolved "
           "errors")
    if q - h <= 0:
        msg += ("; the interval admits order <= 0, i.e. no shrinking of the errors over these "
                "eps: they may be pre-asymptotic, a time-step bias, or a reduction that does "
                "not hold here (smaller eps tell)")
    return OrderFit(observable, q, (q - h, q + h), k, msg)


def _fit_order_gls(x: np.ndarray, y: np.ndarray, err: np.ndarray, stat: np.ndarray,
                   D: np.ndarray, observable: sp.Expr, k: int) -> OrderFit:
    """The generalised least-squares branch of :func:`fit_order` (common error sources)."""
    U = D / err[None, :]                                  # shifts of log|e|
    V = np.diag((stat / np.abs(err)) ** 2) + U.T @ U
    X = np.column_stack([np.ones_like(x), x])
    Vi = np.linalg.inv(V)
    F = X.T @ Vi @ X
    if abs(np.linalg.det(F)) < 1e-300 or np.ptp(x) == 0:
        return OrderFit(observable, None, None, k, "no order: all resolved errors at one eps")
    cov = np.linalg.inv(F)
    beta = cov @ X.T @ Vi @ y
    q = float(beta[1])
    var_q = float(cov[1, 1])
    if k > 2:
        r = y - X @ beta
        var_q *= max(1.0, float(r @ Vi @ r) / (k - 2))
    h = 1.96 * math.sqrt(var_q)
    return OrderFit(observable, q, (q - h, q + h), k,
                    f"order {q:.2f} (95% interval {q - h:.2f} .. {q + h:.2f}) from {k} resolved "
                    f"errors, {D.shape[0]} common error source(s) of the reduced coefficients "
                    "treated as fully correlated across eps (generalised least squares)")


def coefficient_perturbations(reduced: Any) -> list[Any]:
    r"""The reduced model moved by one standard error along each independent error direction
    of its numeric coefficients.

    A chaotic reduction records ``records["coefficient_uncertainty"]["directions"]``
    (:func:`symavg.derive.levy_area.coefficient_directions`: the eigen-directions of the
    joint covariance of the one-sided Green-Kubo matrix and of :math:`\Sigma`, and the
    errors of the averaged O(1) drift), each a change of drift and diffusion. Without
    directions, the single :func:`perturbed_reduced` model. Empty for a closed form.
    """
    import dataclasses

    u = (getattr(reduced, "records", None) or {}).get("coefficient_uncertainty")
    if not u:
        return []
    dirs = u.get("directions")
    if not dirs:
        p = perturbed_reduced(reduced)
        return [] if p is None else [p[0]]
    return [dataclasses.replace(reduced, drift=sp.ImmutableMatrix(reduced.drift + d["drift"]),
                                diffusion=sp.ImmutableMatrix(reduced.diffusion + d["diffusion"]),
                                noise=None, records={}) for d in dirs]


def perturbed_reduced(reduced: Any) -> tuple[Any, float] | None:
    r"""The reduced model with its numeric coefficients one standard error larger.

    A reduction through a numeric Green-Kubo integral (:mod:`symavg.derive.chaotic`)
    records ``records["coefficient_uncertainty"]``: the largest relative standard
    error :math:`r` of the Green-Kubo numbers and the part of the drift proportional
    to them (the Stratonovich correction). The perturbed model has diffusion
    :math:`(1 + r)\,a` and drift :math:`b + r\,b_{\rm corr}`; the difference of the
    reduced expectations is the effect of the coefficients' error. ``None`` for a
    reduction in closed form.
    """
    import dataclasses

    u = (getattr(reduced, "records", None) or {}).get("coefficient_uncertainty")
    if not u or not u["relative"] > 0:
        return None
    r = float(u["relative"])
    drift = sp.ImmutableMatrix(reduced.drift + r * sp.Matrix(u["drift_part"]))
    noise = None if reduced.noise is None else sp.ImmutableMatrix(
        reduced.noise * sp.sqrt(1 + sp.Float(r)))
    return dataclasses.replace(reduced, drift=drift, noise=noise, records={},
                               diffusion=sp.ImmutableMatrix(reduced.diffusion * (1 + r))), r


def _runs(args: Any) -> int:
    """The simulations of a verify call: the full model at each eps, the reduced model, and
    the half-step run of the dt-check (not for networks, simulated exactly)."""
    from ..models.network import ReactionNetwork

    n = len(args.arguments["eps_values"]) + 1
    if isinstance(args.arguments["full"], ReactionNetwork):
        return n
    return n + bool(args.arguments.get("check_dt", True))


@_progress.one_bar("verify", unit="run", total=_runs)
def verify(full: Any, reduced: Any, x0: Mapping, T: float, *, eps_values: Sequence[float],
           observables: Sequence[sp.Expr] | None = None, params: Mapping | None = None,
           paths: int = 20_000, seed: int | None = 0, dt: float | None = None,
           functions: Mapping | None = None, eps_symbol: sp.Symbol | None = None,
           backend: str = "auto", executor: Any = None, progress: bool | None = None,
           dt_reduced: float | None = None, check_dt: bool = True,
           target: float | None = None, max_paths: int | None = None,
           max_time: float | None = None, reduced_method: str = "auto",
           dt_check_paths: int | None = None, order_width: float | None = None,
           variance_reduction: str = "auto", reduced_scheme: str | None = None,
           **simulate_kwargs: Any) -> VerifyReport:
    r"""Simulate ``full`` at each ``eps`` in ``eps_values``, compute ``reduced``; compare.

    Parameters
    ----------
    full : SDE, SwitchingSDE or ReactionNetwork
        The full slow-fast model (a PDMP or switching SDE included; a network: see
        :func:`symavg.numeric.network_verify.verify_network`).
    reduced : EffectiveModel
        The reduced model (``sa.reduce(full, ...)``). When its coefficients
        contain the scale parameter (order-1 reduced models, whose diffusion is
        proportional to eps), it is computed at every eps.
    x0 : dict {Symbol: float}, or a number
        Initial values of the slow variables (fast ones are drawn from their
        invariant law unless given); a number when there is one slow variable.
    T : float
        Final time at which the laws are compared, in the reduced model's time:
        when ``reduced.timescale`` is :math:`\epsilon^k t` (e.g. the diffusive
        scale :math:`s = \epsilon t`), the full model runs to :math:`T/\epsilon^k`.
    eps_values : sequence of float
        Scale separations to run the full model at.
    observables : sequence of Expr, optional
        Functions of the slow variables (default: the slow variables).
    params, functions, dt, backend, executor, seed, paths
        As in :func:`symavg.simulate`; ``dt`` applies to the full model only;
        ``paths`` is the first batch per eps.
    target : float, optional
        Resolve every weak error to ``target`` standard errors
        (:math:`|e| > \mathrm{target}\cdot\mathrm{se}`): paths are added in
        batches with independent seeds (:mod:`symavg.numeric.sequential`) until
        all are, or a budget runs out. Without it one batch of ``paths`` runs and
        an error counts as resolved above 2 standard errors.
    max_paths : int, optional
        Path budget per eps with ``target`` (default ``64 * paths``, or ``1024 * paths``
        when ``max_time`` is given: then the clock is the budget).
    max_time : float, optional
        Wall-clock budget in seconds for the whole call (the first batches and the
        time-step check included; Monte Carlo only: a derivation never uses a clock).
    order_width : float, optional
        Also add paths until the 95% interval of every fitted order is at most this
        wide: once two errors are resolved, errors out of reach of the budgets are
        left and paths go where doubling them narrows the widest interval most per
        second. Alone (without ``target``) errors count as resolved at 2 standard
        errors.
    reduced_method : {"auto", "gaussian", "kolmogorov", "monte-carlo"}
        How the reduced expectations are computed (:mod:`symavg.numeric.kolmogorov`):
        closed-form Gaussian moments for a linear reduced model, the backward
        Kolmogorov equation for one slow variable, Monte Carlo otherwise. The
        deterministic value has no sampling noise (its error estimate enters
        the error bar); the reduced model is still simulated once (at its own
        step) for the Wasserstein distances and as a check of the deterministic
        value.
    dt_reduced : float, optional
        Step of the reduced model's Monte Carlo (it has no fast scale): by default
        ``T/1000``.
    reduced_scheme : str, optional
        Scheme of the reduced model's Monte Carlo (default: ``scheme=`` of the full
        runs, or ``"auto"``); ``"weak2"``, the explicit order-2.0 weak scheme, makes
        its step bias :math:`O(\Delta t^2)` (commutative noise).
    check_dt : bool
        Run the full model at the smallest eps with the step used and with half
        of it *on the same Brownian paths* (:mod:`symavg.numeric.pair`) and report
        the time-stepping bias per observable (``report.dt_bias``): a bias
        comparable to the error means the error measures the scheme, not the
        reduction (lower ``dt_factor`` or ``dt``).
    dt_check_paths : int, optional
        Paths of that check (default ``min(paths, 4000)``: the coupled
        difference has a small variance).
    variance_reduction : {"auto", "none", "antithetic", "control", "antithetic+control"}
        The estimator of each mean (full model and the reduced Monte Carlo;
        :class:`~symavg.numeric.sequential.Accumulator`). ``"auto"`` (default):
        ``"control"`` for an SDE full model (it cut the variance 1.7-98x on every
        SDE worked example, ``benchmarks/README.md``), ``"none"`` for the others
        (no Brownian increments). Otherwise: plain Monte Carlo;
        antithetic pairs (each path and the one driven by the negated normals,
        Gaussian fast starts reflected about their mean), the pair's mean being one
        sample; a regression control variate on the Hermite polynomials of degree 1
        and 2 of the run's Brownian sums :math:`W_k(T)/\sqrt T` (mean exactly zero);
        or both (even controls of antithetic pairs). The standard errors are those
        of the chosen estimator, and ``info["variance reduction factor"]`` is the
        measured plain variance per path over the estimator's (above 1: fewer paths
        for the same error bar). SDE full models only.
    progress : bool, optional
        One progress bar over all the simulations (the full model at each eps, the reduced
        model, the half-step run of ``check_dt``). ``None`` (default): in a terminal or a
        notebook, after the first second, never under CI (``CI`` set); ``False``: no bar,
        not even of the simulations inside.
    eps_symbol : Symbol, optional
        Deprecated, kept for one release: the scale parameter is the full
        model's (``full.eps``). ``None`` (the default) or that same symbol; a
        different one is a :class:`~symavg.errors.ModelError`, as is a reduced
        model derived with another scale.

    Returns
    -------
    VerifyReport
        ``.rows``, ``.distances``, ``.order``, ``.table()``, ``.plot()``;
        ``.info["paths needed"]`` per unresolved error.

    Examples
    --------
    >>> import sympy as sp, symavg as sa
    >>> x, y = sp.symbols("x y", real=True)
    >>> m = sa.SDE([x, y], [y / sa.epsilon, -y / sa.epsilon**2],
    ...            noise=[[0], [sp.sqrt(2) / sa.epsilon]])
    >>> rep = sa.verify(m, sa.reduce(m, [y]), {x: 0.0}, 0.2, eps_values=[0.4, 0.2],
    ...                 observables=[x**2], paths=2000, backend="numpy", check_dt=False,
    ...                 progress=False)
    >>> rep.info["reduced method"]
    'gaussian'
    """
    import time

    from scipy.stats import wasserstein_distance

    from ..models.network import ReactionNetwork
    from ..models.sde import SDE

    if isinstance(full, ReactionNetwork):      # exact SSA of both networks
        from .network_verify import verify_network

        return verify_network(full, reduced, x0, T, eps_values=eps_values,
                              observables=observables, params=params, paths=paths, seed=seed,
                              executor=executor, **simulate_kwargs)
    from .kolmogorov import reduced_expectations
    from .sequential import Accumulator, child_seed, paths_needed, plan

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
    if not isinstance(x0, Mapping):
        if len(slow) != 1:
            raise ModelError(f"x0 = {x0!r}: a number is a start value only with one slow "
                             f"variable; pass x0 = {{{slow[0]}: ..., ...}} for {list(slow)}")
        x0 = {slow[0]: x0}
    obs = [sp.sympify(o) for o in (observables if observables is not None else slow)]
    for o in obs:
        bad = [s for s in o.free_symbols if s in full.state and s not in slow]
        if bad:
            raise ModelError(f"observable {o} uses the fast variable(s) {bad}; observables are "
                             f"functions of the slow variables {list(slow)}")
    if target is not None and not target > 0:
        raise ModelError(f"target must be a positive number of standard errors; got {target}")
    from .sequential import VARIANCE_REDUCTION

    if variance_reduction == "auto":
        variance_reduction = "control" if isinstance(full, SDE) else "none"
    if variance_reduction not in VARIANCE_REDUCTION:
        raise ModelError(f"variance_reduction must be 'auto' or one of {VARIANCE_REDUCTION}; got "
                         f"{variance_reduction!r}")
    if variance_reduction != "none" and not isinstance(full, SDE):
        raise ModelError(f"variance_reduction={variance_reduction!r} needs the Brownian "
                         f"increments of an SDE full model; {type(full).__name__} has none: "
                         "pass variance_reduction='none'")
    anti = variance_reduction.startswith("antithetic")
    vr_kw = {"antithetic": anti, "record_noise": variance_reduction.endswith("control")}
    if reduced_method not in ("auto", "gaussian", "kolmogorov", "monte-carlo"):
        raise ModelError(f"reduced_method must be 'auto', 'gaussian', 'kolmogorov' or "
                         f"'monte-carlo'; got {reduced_method!r}")
    k_se = float(target) if target is not None else 2.0
    if order_width is not None and not order_width > 0:
        raise ModelError(f"order_width must be positive; got {order_width}")
    if max_time is not None and not max_time > 0:
        raise ModelError(f"max_time must be positive (seconds); got {max_time}")
    # the path budget: the time budget is the binding one when given (an exactly simulated
    # PDMP draws millions of paths a minute)
    budget = int(max_paths) if max_paths is not None else (
        (1024 if max_time is not None else 64) * paths if (target or order_width) else paths)
    x0_red = {kk: v for kk, v in dict(x0).items() if kk in slow}
    scale = model_scale(full, eps_symbol, "verify")
    if getattr(reduced, "eps", None) is not None and reduced.eps != scale:
        raise ModelError(f"verify: the full model has the scale parameter {scale} but the "
                         f"reduced model was derived with {reduced.eps}: pass the matching "
                         "pair (full, sa.reduce(full, ...))")
    from .plan import model_coefficients

    red_co = model_coefficients(reduced, functions, scale if reduced.eps is not None else None)
    eps_dependent = red_co.eps_symbol is not None
    common = dict(params=params, functions=functions, backend=backend, executor=executor,
                  eps_symbol=scale)
    # independent streams for every run and batch: the standard error of full - reduced
    # assumes independent samples
    root = np.random.SeedSequence(seed)
    streams = root.spawn(len(eps_list) + 3)
    ss_full = dict(zip(eps_list, streams))
    ss_red, ss_dt = streams[-3], streams[-2]
    acc = {e: Accumulator(obs, slow, variance_reduction) for e in eps_list}
    show = progress if progress is not None else None
    t_start = time.perf_counter()
    used_seeds: dict[float, list[int]] = {e: [] for e in eps_list}

    # a reduced model on the time scale s = eps**k t (its timescale): the full model runs to
    # t = T / eps**k at each eps
    stretch = sp.simplify(sp.sympify(getattr(reduced, "timescale", TIME)) / TIME)
    if stretch != 1 and (scale is None or stretch.free_symbols - {scale}):
        raise ModelError(f"verify: the reduced model holds on the time scale "
                         f"{reduced.timescale}, which is not a power of the scale parameter "
                         "times t")
    T_full = {e: T / float(stretch.subs(scale, e)) if stretch != 1 else T for e in eps_list}
    from ..models.deterministic import DeterministicMap

    step_notes: list[str] = []
    if isinstance(full, DeterministicMap):      # a map runs a whole number of steps
        for e in eps_list:
            n_steps = max(1, round(T_full[e]))
            if abs(n_steps - T_full[e]) > 1e-9 * T_full[e]:
                step_notes.append(
                    f"at eps = {e:g} the map runs {n_steps} steps, i.e. to the reduced time "
                    f"{T * n_steps / T_full[e]:.6g}, not T = {T:g}: the error includes that "
                    "shift; choose eps and T with T / eps^2 a whole number")

    def run_full(e: float, n: int) -> None:
        s = child_seed(ss_full[e])
        used_seeds[e].append(s)
        t0 = time.perf_counter()
        ens = simulate(full, x0, T_full[e], eps=e, dt=dt, seed=s, paths=n + n % 2 * anti,
                       progress=show, **common, **vr_kw, **simulate_kwargs)
        acc[e].add(ens, time.perf_counter() - t0)

    for e in eps_list:          # the one progress bar is verify's own (symavg._progress)
        run_full(e, paths)

    # ----- the reduced side: deterministic where it applies, Monte Carlo for W1 / checks
    red_keys: list[float | None] = list(eps_list) if eps_dependent else [None]
    base_values = {kk: float(v) for kk, v in dict(params or {}).items()}
    notes: list[str] = list(step_notes)
    det: dict[float | None, Any] = {}
    method_used = "monte-carlo"
    if reduced_method != "monte-carlo":
        from ..errors import SymavgError

        for key in red_keys:
            vals = dict(base_values)
            if key is not None:
                vals[scale] = key
            try:
                det[key] = reduced_expectations(reduced, x0_red, T, obs, vals, functions,
                                                reduced_method)
            except (SymavgError, TypeError, ValueError, ArithmeticError) as exc:
                if reduced_method != "auto":
                    raise
                notes.append(f"the reduced expectations fall back to Monte Carlo: {exc}")
                det = {}
                break
            if det[key] is None:
                det = {}
                break
        if det:
            method_used = next(iter(det.values())).method
    # the reduced coefficients' own numeric error (a Green-Kubo diffusion): its effect on the
    # reduced expectations enters the reduced side's error bar
    coef_se: dict[float | None, dict[sp.Expr, float]] = {}
    # signed shift of each reduced mean per independent error direction of the coefficients:
    # the same model at every eps, so the same (fully correlated) shift of every error
    coef_shift: dict[float | None, list[dict[sp.Expr, float]]] = {}
    pert = perturbed_reduced(reduced)
    perts = coefficient_perturbations(reduced)
    if pert is not None and det:
        for key in red_keys:
            vals = dict(base_values)
            if key is not None:
                vals[scale] = key
            coef_shift[key] = []
            for pm in perts:
                dp = reduced_expectations(pm, x0_red, T, obs, vals, functions, method_used)
                coef_shift[key].append({o: dp.means[o] - det[key].means[o] for o in obs})
            coef_se[key] = {o: math.sqrt(sum(d[o] ** 2 for d in coef_shift[key]))
                            for o in obs}
        notes.append(f"the reduced coefficients carry a relative error of {pert[1]:.1%} (one "
                     "standard error of their Green-Kubo estimate); its effect on each reduced "
                     f"mean ({len(perts)} independent error direction(s)) is added to the "
                     "reduced side's error bar, and the order fit treats it as one error "
                     "common to every eps (fully correlated), not as independent per eps")
    elif pert is not None:
        notes.append(f"the reduced coefficients carry a relative error of {pert[1]:.1%} (their "
                     "Green-Kubo estimate), not propagated to the Monte Carlo reduced means: "
                     "errors of that size are not significant")
    if dt_reduced is None:
        dt_reduced = T / 1000
    red_kwargs = {k: v for k, v in simulate_kwargs.items() if k != "s0"}  # s0: the chain's
    if reduced_scheme is not None:
        red_kwargs["scheme"] = reduced_scheme
    elif red_kwargs.get("scheme") == "weak2":
        # the full model's weak2 carries over to the reduced model only if its noise
        # commutes too (a reduced noise may couple what the full one kept apart)
        from .kernel import noncommuting

        red_noise = getattr(reduced, "noise", None)
        if red_noise is None or noncommuting(red_noise, list(slow)) is not None:
            red_kwargs["scheme"] = "auto"
            notes.append("the reduced model's noise is not commutative: its Monte Carlo "
                         "runs scheme='auto', not the full model's 'weak2' (pass "
                         "reduced_scheme= to choose)")
    red_acc = {key: Accumulator(obs, slow, variance_reduction) for key in red_keys}

    red_seeds: list[int] = []
    red_seed_of: dict[float | None, int] = {}

    def run_red(key: float | None, n: int) -> None:
        t0 = time.perf_counter()
        red_seeds.append(child_seed(ss_red))
        red_seed_of.setdefault(key, red_seeds[-1])
        ens = simulate(reduced, x0_red, T, eps=key, dt=dt_reduced, seed=red_seeds[-1],
                       paths=n + n % 2 * anti, progress=show, **common, **vr_kw,
                       **red_kwargs)
        red_acc[key].add(ens, time.perf_counter() - t0)

    for key in red_keys:
        run_red(key, paths)

    def red_key(e: float) -> float | None:
        return e if eps_dependent else None

    def row(e: float, j: int, o: sp.Expr) -> ErrorRow:
        a, ra = acc[e], red_acc[red_key(e)]
        fm, fs = a.mean(j), a.se(j)
        if det:
            d = det[red_key(e)]
            rm, rs = d.means[o], math.hypot(d.errors[o], coef_se.get(red_key(e), {}).get(o, 0.0))
        else:
            rm, rs = ra.mean(j), ra.se(j)
        return ErrorRow(e, o, fm, fs, rm, rs, fm - rm, math.hypot(fs, rs), k_se, a.n)

    def rows_now() -> list[ErrorRow]:
        return [row(e, j, o) for e in eps_list for j, o in enumerate(obs)]

    def need(r: ErrorRow) -> float:
        j = obs.index(r.observable)
        a, ra = acc[r.eps], red_acc[red_key(r.eps)]
        sd_r = 0.0 if det else ra.sd(j)
        de = math.hypot(det[red_key(r.eps)].errors[r.observable],
                        coef_se.get(red_key(r.eps), {}).get(r.observable, 0.0)) if det else 0.0
        return paths_needed(r.error, a.sd(j), sd_r, de, k_se)

    def want(r: ErrorRow) -> float:
        r"""Paths to plan for: ``need``, or, when the estimate sits inside the deterministic
        reduced side's own error bar (need infinite), the paths at which the sampling error
        falls to that bar, :math:`s_f^2/\delta^2`, while that is still ahead (the
        estimate may move out of the bar; beyond, more sampling cannot resolve it)."""
        n_need = need(r)
        if math.isfinite(n_need) or not det:
            return n_need
        j = obs.index(r.observable)
        a = acc[r.eps]
        de = math.hypot(det[red_key(r.eps)].errors[r.observable],
                        coef_se.get(red_key(r.eps), {}).get(r.observable, 0.0))
        level = a.sd(j) ** 2 / de ** 2 if de > 0 else math.inf
        return level if a.n < level < math.inf else math.inf

    # ----- the time-step check on common Brownian paths (first, so that a time budget
    # accounts for it)
    dt_bias: dict[sp.Expr, tuple[float, float]] = {}
    n_chk, coupling, dt_seed = 0, "", None
    if check_dt and not math.isfinite(acc[eps_list[-1]].last.dt):
        check_dt = False         # an exact run (a PDMP with a linear flow): no step to check
        notes.append("the full model was simulated exactly (no time step): no dt-check")
    if check_dt:
        dt_seed = child_seed(ss_dt)
        e = eps_list[-1]
        n_chk = int(dt_check_paths) if dt_check_paths is not None else min(paths, 4000)
        coarse_dt = acc[e].last.dt
        # the coupled pair needs the SDE kernels; other full models get independent runs
        per_path = any(np.ndim(v) > 0 for v in dict(x0).values()) or not isinstance(full, SDE)
        sim_kw = {kk: v for kk, v in simulate_kwargs.items()
                  if kk in ("scheme", "chunk_size", "dt_factor")}
        if per_path:
            fine = simulate(full, x0, T_full[e], eps=e, dt=coarse_dt / 2, seed=dt_seed,
                            paths=acc[e].last.paths, **common, **simulate_kwargs)
            for o in obs:
                a_, b_ = acc[e].last.evaluate(o)[-1], fine.evaluate(o)[-1]
                dt_bias[o] = (float(a_.mean() - b_.mean()),
                              math.hypot(a_.std(ddof=1), b_.std(ddof=1)) / math.sqrt(a_.size))
            coupling = ("independent runs (x0 varies by path)" if isinstance(full, SDE)
                        else "independent runs")
        else:
            from .pair import simulate_pair, step_bias

            c_ens, f_ens = simulate_pair(full, x0, T_full[e], coarse_dt, eps=e, params=params,
                                         paths=n_chk, seed=dt_seed,
                                         functions=functions, backend=backend,
                                         executor=executor, **sim_kw)
            for o in obs:
                dt_bias[o] = step_bias(c_ens, f_ens, o)
            coupling = "the same Brownian paths"
            _progress.advance(1)       # the coupled pair runs outside simulate()

    # ----- sequential additions
    stop_reason = "one batch (no target)"
    rounds = 0
    sequential = target is not None or order_width is not None

    def fit_rows(rs: list[ErrorRow], scale_se: dict[float, float] | None = None) -> OrderFit:
        """The order fit of one observable's rows; the coefficients' error (the same at
        every eps) as common error sources, not in each point's own error bar."""
        o = rs[0].observable
        sc = [(scale_se or {}).get(r.eps, 1.0) for r in rs]
        if not coef_shift:
            ses = [math.hypot(r.full_se * g, r.reduced_se * (1.0 if det else g))
                   for r, g in zip(rs, sc)]
            return fit_order([r.eps for r in rs], [r.error for r in rs], ses, o,
                             threshold=k_se)
        stat = [math.hypot(r.full_se * g, det[red_key(r.eps)].errors[o])
                for r, g in zip(rs, sc)]
        D = [[-coef_shift[red_key(r.eps)][m][o] for r in rs]
             for m in range(len(coef_shift[red_key(rs[0].eps)]))]
        return fit_order([r.eps for r in rs], [r.error for r in rs], stat, o, threshold=k_se,
                         systematic=D)

    def widths(rows: list[ErrorRow], scale_se: dict[float, float] | None = None
               ) -> dict[sp.Expr, float]:
        # scale_se: the factor of the sampling errors at an eps after adding paths (a
        # deterministic reduced side's error estimate does not shrink with them)
        out = {}
        for o in obs:
            rs = [r for r in rows if r.observable == o]
            f = fit_rows(rs, scale_se)
            out[o] = math.inf if f.interval is None else f.interval[1] - f.interval[0]
        return out

    while sequential:
        rows = rows_now()
        open_rows = [r for r in rows if not r.resolved]
        wide = widths(rows)
        too_wide = order_width is not None and max(wide.values()) > order_width
        if not too_wide and (target is None or not open_rows):
            stop_reason = (f"every error resolved to {k_se:g} standard errors"
                           if target is not None else "")
            if order_width is not None:
                stop_reason += ("; " if stop_reason else "") + (
                    f"every order interval narrower than {order_width:g}")
            break
        left = None if max_time is None else max_time - (time.perf_counter() - t_start)
        if left is not None and left <= 0:
            stop_reason = f"time budget of {max_time:g} s used"
            break
        fitted = all(math.isfinite(w) for w in wide.values())
        adds: dict[float, int] = {}
        for e in eps_list:
            mine = [r for r in open_rows if r.eps == e]
            if not mine or target is None and fitted:
                continue
            n_want = max(want(r) for r in mine)
            cost = (n_want - acc[e].n) * acc[e].seconds_per_path
            if fitted and (not math.isfinite(n_want) or n_want > budget
                           or (left is not None and cost > left)):
                continue          # out of reach: spend on the resolved points instead
            share = None if left is None else left / max(1, len({r.eps for r in open_rows}))
            adds[e] = plan(acc[e].n, n_want, budget, acc[e].seconds_per_path, share)
        if too_wide and fitted and not any(adds.values()):
            # narrow the widest interval: double the paths where that buys the most
            worst = max(wide, key=lambda o: wide[o])
            best, gain = None, 0.0
            for e in eps_list:
                if not all(r.resolved for r in rows if r.eps == e) or acc[e].n >= budget:
                    continue
                w2 = widths(rows, {e: 1 / math.sqrt(2)})[worst]
                per_s = (wide[worst] - w2) / max(acc[e].n * acc[e].seconds_per_path, 1e-9)
                # doubling must narrow it by 1% at least (not when another error bar, a
                # deterministic reduced side's, dominates there)
                if per_s > gain and w2 < 0.99 * wide[worst]:
                    best, gain = e, per_s
            if best is not None:
                adds[best] = plan(acc[best].n, 2 * acc[best].n / 1.1, budget,
                                  acc[best].seconds_per_path, left)
        if not any(adds.values()):
            stop_reason = (f"path budget of {budget} per eps used" if all(
                acc[e].n >= budget for e in eps_list) else
                "the remaining errors are out of reach of the budgets")
            break
        rounds += 1
        for e, n_add in adds.items():
            if n_add > 0:
                run_full(e, n_add)
                if not det:                                   # the reduced sample keeps up
                    key = red_key(e)
                    target_n = max(acc[ee].n for ee in eps_list if red_key(ee) == key)
                    if red_acc[key].n < target_n:
                        run_red(key, target_n - red_acc[key].n)

    rows = rows_now()
    dists: list[DistanceRow] = []
    for e in eps_list:
        ra = red_acc[red_key(e)]
        for xv in slow:
            rf = ra.final(xv)
            half = rf.size // 2
            nf = acc[e].n
            # W1 between independent samples of sizes n1, n2 scales like sqrt(1/n1 + 1/n2)
            floor_scale = math.sqrt((1 / nf + 1 / rf.size) / (1 / half + 1 / (rf.size - half)))
            floor = floor_scale * wasserstein_distance(rf[:half], rf[half:])
            dists.append(DistanceRow(e, xv, float(wasserstein_distance(acc[e].final(xv), rf)),
                                     float(floor)))
    if det:
        for key, d in det.items():
            ra = red_acc[key]
            step = {o: 0.0 for o in obs}
            if all(ra.se(j) == 0 for j in range(len(obs))):
                # a noise-free reduced model (an ODE): no sampling error hides the scheme's
                # O(dt) bias, so estimate it from a run at half the step (Richardson:
                # bias(dt) ~ 2 (m(dt) - m(dt/2))) and allow it
                with _progress.share(0.0):      # a check, not a unit of the bar
                    half = simulate(reduced, x0_red, T, eps=key, dt=dt_reduced / 2, seed=0,
                                    paths=2, progress=False, **common, **red_kwargs)
                step = {o: 2 * abs(ra.mean(j) - float(half.evaluate(o)[-1].mean()))
                        for j, o in enumerate(obs)}
            for j, o in enumerate(obs):
                gap = ra.mean(j) - d.means[o]
                if abs(gap) > 4 * ra.se(j) + d.errors[o] + 2 * step[o] + 1e-12:
                    notes.append(
                        f"{o}: the reduced model's Monte Carlo ({ra.mean(j):.6g} +- "
                        f"{ra.se(j):.1e}, step {dt_reduced:.3g}) and its {d.method} value "
                        f"{d.means[o]:.6g} differ by {gap:+.2e}: the reduced model's step "
                        "bias or a failed deterministic solve; pass dt_reduced= smaller or "
                        "reduced_method='monte-carlo'")
    if check_dt:
        e = eps_list[-1]
        for o in obs:
            d, se = dt_bias[o]
            err = next(r for r in rows if r.eps == e and r.observable == o)
            if abs(d) > 2 * se and abs(d) > 0.25 * abs(err.error):
                notes.append(
                    f"{o}: halving the step of the full model at eps = {e:g} changes its mean "
                    f"by {d:+.2e} (+- {se:.1e}), comparable to the error {err.error:+.2e}: the "
                    "error there is partly time-stepping bias; pass a smaller dt_factor= or "
                    "dt= (symavg verify --dt-factor)")
    if anti:
        for e in eps_list:
            for j, o in enumerate(obs):
                if acc[e].se(j) <= 1e-12 * max(1.0, abs(acc[e].mean(j))):   # to rounding
                    notes.append(f"{o}: at eps = {e:g} every antithetic pair averages to the "
                                 f"same value {acc[e].mean(j):.6g} (the model is symmetric "
                                 "under W -> -W for this observable): its mean is exact "
                                 "to rounding, with no sampling error (the error is the "
                                 "scheme's and the reduction's)")
    fits = {}
    needed: dict[tuple[float, sp.Expr], dict[str, float]] = {}
    for o in obs:
        rs = [r for r in rows if r.observable == o]
        fits[o] = fit_rows(rs)
        for r in rs:
            if r.resolved:
                continue
            est = need(r)
            j = obs.index(o)
            a = acc[r.eps]
            sd_r = 0.0 if det else red_acc[red_key(r.eps)].sd(j)
            upper = abs(r.error) + 2 * r.error_se      # 95% bound on |error|
            de = math.hypot(det[red_key(r.eps)].errors[o],
                            coef_se.get(red_key(r.eps), {}).get(o, 0.0)) if det else 0.0
            lower = paths_needed(upper, a.sd(j), sd_r, de, k_se)
            needed[(r.eps, o)] = {"at the estimate": est, "at least": lower}
            est_txt = f"about {est:,.0f}" if math.isfinite(est) else "more than any budget"
            notes.append(
                f"{o}: at eps = {r.eps:g} the error {r.error:+.2e} is within {k_se:g} standard "
                f"errors ({r.error_se:.1e}, {a.n:,} paths) of zero: resolving it takes "
                f"{est_txt} paths if the error is as estimated, and at least "
                f"{lower:,.0f} if it is as large as its 95% bound {upper:.1e}")
    info = {"dt_full": {e: acc[e].last.dt for e in eps_list}, "dt_reduced": dt_reduced,
            "seeds": {"full": {e: v[0] for e, v in used_seeds.items()},
                      # one stream per eps when the reduced model depends on eps
                      "reduced": red_seed_of if eps_dependent else red_seeds[0],
                      "full batches": used_seeds,
                      "reduced batches": red_seeds, "dt check": dt_seed, "root": seed},
            "schemes": {e: acc[e].last.schemes for e in eps_list},
            "paths": {e: acc[e].n for e in eps_list},
            "paths needed": needed, "target": target, "stop": stop_reason, "rounds": rounds,
            "path budget": budget,
            "seconds": time.perf_counter() - t_start,
            "reduced method": method_used, "reduced depends on eps": eps_dependent,
            "variance reduction": variance_reduction,
            "reduced scheme": red_kwargs.get("scheme", "auto"),
            "variance reduction factor": {(e, o): acc[e].gain(j) for e in eps_list
                                          for j, o in enumerate(obs)},
            "reduced checks": {kk: d.checks for kk, d in det.items()},
            "coefficient shifts": coef_shift}
    if check_dt:
        info["dt check"] = {"eps": eps_list[-1], "paths": n_chk, "coupling": coupling}
    return VerifyReport(rows, dists, fits, eps_list, obs, float(T), int(paths), notes, info,
                        dt_bias)
