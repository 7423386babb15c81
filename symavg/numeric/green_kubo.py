r"""Green-Kubo integrals with error bars from two independent estimators.

For a stationary, mixing, mean-zero observable :math:`f` along a flow (or a
map), the central limit theorem

.. math::

    \frac{1}{\sqrt{T}}\int_0^T f(y_t)\,dt \Rightarrow N(0, \sigma^2), \qquad
    \sigma^2 = \int_{-\infty}^{\infty} C(t)\,dt = 2\int_0^\infty C(t)\,dt,
    \quad C(t) = \langle f(y_0) f(y_t)\rangle

(for a map: :math:`\sigma^2 = C(0) + 2\sum_{n\ge1} C(n)`) gives the diffusion
:math:`\sigma^2` of the limiting Brownian motion; :attr:`GreenKuboEstimate.value`
is :math:`\sigma^2` (``sigma sigma^T``, the project's ``diffusion``) and
:attr:`GreenKuboEstimate.integral` the one-sided :math:`\int_0^\infty C`.

Estimator 1, **integrated autocorrelation**: :math:`C` by FFT
(``scipy.fft`` with ``next_fast_len``, zero-padded, the biased ``1/N``
estimator), summed with spacing :math:`h` up to a window :math:`M` chosen by
Sokal's rule (Sokal 1997, "Monte Carlo methods in statistical mechanics",
Sec. 3; Madras & Sokal 1988, *J. Stat. Phys.* 50:109): the smallest :math:`M`
with :math:`M \ge c\,\tau_{int}(M)`, :math:`\tau_{int}(M) = \tfrac12 +
\sum_{n=1}^M \rho(n)`, ``c = 5``. Its error is the spread of the per-trajectory
values at that window (8 or more trajectories), or the Madras-Sokal
variance :math:`\mathrm{var}\,\hat\tau \approx 2(2M+1)\tau^2/N` otherwise.

Estimator 2, **batch means** of the time integral: with batches of length
:math:`L \gg \tau` (at least ``20 M`` samples), :math:`\sigma^2 \approx
\mathrm{var}(\int_{\rm batch} f)/(L h)`, error from the :math:`\chi^2` law of a
variance of :math:`B` batches, :math:`\sigma^2\sqrt{2/(B-1)}`. It uses no
autocorrelation, no window and no FFT.

The two must agree within :math:`3` combined standard errors; the estimate
says whether they do (``agree``) and, if not, warns
(:class:`GreenKuboDisagreementWarning`). The observable's mean is checked
first: a mean further than 4 standard errors from 0 is a
:class:`~symavg.errors.CenteringError` unless ``subtract_mean=True``.
"""

from __future__ import annotations

import math
import warnings
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import sympy as sp
from scipy import fft as sfft

from .. import _progress
from ..errors import CenteringError, ModelError
from ..models.deterministic import DeterministicFlow, DeterministicMap
from ..models.sde import SDE


class GreenKuboDisagreementWarning(UserWarning):
    """The autocorrelation and batch-means estimates differ beyond their errors."""


@dataclass
class GreenKuboEstimate:
    r"""A Green-Kubo diffusion :math:`\sigma^2 = 2\int_0^\infty C(t)\,dt` with its error.

    Attributes
    ----------
    value, stderr : float
        :math:`\sigma^2` from the integrated autocorrelation, and its error.
    integral : float
        The one-sided :math:`\int_0^\infty C` (``value / 2``).
    acf : ndarray
        The autocovariance :math:`C(nh)`, ``n = 0 .. 4 M`` (at least).
    lags : ndarray
        The times :math:`nh` of ``acf``.
    cutoff : float
        The window :math:`Mh` used.
    cutoff_lag : int
        :math:`M`.
    window : str
        How the window was chosen.
    tau_int : float
        :math:`\tau_{int}(M)` in samples.
    batch_value, batch_stderr : float
        The batch-means estimate and its error.
    batch_length : int
        Samples per batch.
    agree : bool
        Whether the two estimates agree within 3 combined standard errors.
    discrepancy : float
        :math:`|a - b| / \sqrt{se_a^2 + se_b^2}`.
    mean, mean_stderr : float
        The observable's sample mean (subtracted before the correlations) and
        its error :math:`\sqrt{\sigma^2 / T_{\rm total}}`.
    spacing : float
        Sample spacing :math:`h`.
    n_samples, paths : int
    notes : list of str

    Examples
    --------
    >>> import numpy as np
    >>> from symavg.numeric.green_kubo import green_kubo_series
    >>> rng = np.random.default_rng(1)
    >>> est = green_kubo_series(rng.standard_normal((4, 50_000)), spacing=1.0)  # white noise
    >>> bool(abs(est.value - 1.0) < 5 * est.stderr), est.agree
    (True, True)
    """

    value: float
    stderr: float
    acf: np.ndarray
    lags: np.ndarray
    cutoff: float
    cutoff_lag: int
    window: str
    tau_int: float
    batch_value: float
    batch_stderr: float
    batch_length: int
    agree: bool
    discrepancy: float
    mean: float
    mean_stderr: float
    spacing: float
    n_samples: int
    paths: int
    notes: list[str] = field(default_factory=list)
    info: dict[str, Any] = field(default_factory=dict)

    @property
    def integral(self) -> float:
        return self.value / 2

    def __repr__(self) -> str:
        return (f"GreenKuboEstimate(value={self.value:.6g} +- {self.stderr:.2g}, batch means "
                f"{self.batch_value:.6g} +- {self.batch_stderr:.2g}, agree={self.agree}, "
                f"cutoff={self.cutoff:.4g} ({self.window}))")

    def _repr_html_(self) -> str:
        from ..report.results import estimate_html

        return estimate_html("Green-Kubo estimate", [
            ("sigma^2 = 2 int C", f"{self.value:.6g} +- {self.stderr:.2g}"),
            ("batch means", f"{self.batch_value:.6g} +- {self.batch_stderr:.2g}"),
            ("agree", f"{self.agree} ({self.discrepancy:.1f} standard errors apart)"),
            ("window", f"{self.cutoff:.4g} ({self.window})"),
            ("mean of the observable", f"{self.mean:.3g} +- {self.mean_stderr:.2g}"),
            ("samples x paths", f"{self.n_samples} x {self.paths}")], self.notes)


def autocovariance(x: np.ndarray, max_lag: int | None = None, workers: int = -1) -> np.ndarray:
    r"""Autocovariance :math:`\hat C(n) = \frac1N\sum_{k<N-n} x_k x_{k+n}` of each row, by FFT.

    ``x`` has shape ``(paths, N)`` (already centred); the result has shape
    ``(paths, max_lag + 1)``, one row per path, lags ``0 .. max_lag``. Zero-padded to
    ``next_fast_len(2N)`` so the circular correlation equals the linear one.

    Examples
    --------
    >>> import numpy as np
    >>> from symavg.numeric.green_kubo import autocovariance
    >>> x = np.random.default_rng(0).standard_normal((2, 10_000))
    >>> c = autocovariance(x, 3)
    >>> c.shape
    (2, 4)
    >>> bool(np.all(abs(c[:, 0] - 1) < 0.05) and np.all(abs(c[:, 1]) < 0.05))
    True
    """
    x = np.atleast_2d(np.asarray(x, dtype=float))
    N = x.shape[1]
    n = sfft.next_fast_len(2 * N, real=True)
    X = sfft.rfft(x, n, axis=1, workers=workers)
    c = sfft.irfft(X.real ** 2 + X.imag ** 2, n, axis=1, workers=workers)[:, :N] / N
    m = N if max_lag is None else min(N, max_lag + 1)
    return c[:, :m]


def _sokal(rho: np.ndarray, c: float) -> int:
    """The smallest M with M >= c * tau_int(M); the last lag if none."""
    tau = 0.5 + np.cumsum(rho[1:])
    M = np.arange(1, rho.size)
    ok = np.nonzero(M >= c * tau)[0]
    return int(M[ok[0]]) if ok.size else int(rho.size - 1)


def green_kubo_series(series: np.ndarray, spacing: float = 1.0, *, subtract_mean: bool = False,
                      c: float = 5.0, warn: bool = True, workers: int = -1,
                      what: str = "the observable") -> GreenKuboEstimate:
    r"""Green-Kubo :math:`\sigma^2` of sampled stationary series, shape ``(paths, N)``.

    See the module docstring for both estimators. ``spacing`` is the time
    between samples (1 for a map).

    Examples
    --------
    An AR(1) series :math:`x_{k+1} = a x_k + \sqrt{1-a^2}\xi_k` (unit
    variance) has :math:`\sigma^2 = (1+a)/(1-a)`:

    >>> import numpy as np
    >>> from symavg.numeric.green_kubo import green_kubo_series
    >>> from scipy.signal import lfilter
    >>> rng = np.random.default_rng(0); a = 0.8
    >>> x = lfilter([np.sqrt(1 - a * a)], [1, -a], rng.standard_normal((8, 200_000)), axis=1)
    >>> est = green_kubo_series(x[:, 1000:])
    >>> bool(abs(est.value - 9.0) < 4 * est.stderr), est.agree
    (True, True)
    """
    x = np.atleast_2d(np.asarray(series, dtype=float))
    P, N = x.shape
    if N < 100:
        raise ModelError(f"{N} samples per series are too few for a Green-Kubo estimate")
    if not np.isfinite(x).all():
        raise ModelError("the series contains NaN or inf")
    h = float(spacing)
    mean = float(x.mean())
    xc = x - mean
    notes: list[str] = []
    # autocorrelation, window by Sokal's rule on the pooled estimate
    lag_cap = max(N // 4, 10)
    cov_paths = autocovariance(xc, lag_cap, workers)
    cov = cov_paths.mean(axis=0)
    if cov[0] <= 0:
        raise ModelError(f"{what} has zero variance along the trajectories (a constant "
                         "observable, or an orbit stuck on a fixed point)")
    rho = cov / cov[0]
    M = _sokal(rho, c)
    window = f"Sokal's rule, smallest M with M >= {c:g} tau_int(M)"
    if M >= lag_cap:
        notes.append(f"no window satisfied M >= {c:g} tau_int(M) up to lag {lag_cap}: the "
                     "series is too short for its correlation time; the sum is truncated there")
        window += " (not reached; truncated at N/4)"
    # Sokal's rule assumes a monotone decay; an oscillating correlation (Lorenz-63) meets
    # it too early. Extend the window while the running integral still moves by more
    # than its Madras-Sokal error between M and 2M.
    run = h * (cov[0] + 2 * np.concatenate([[0.0], np.cumsum(cov[1:])]))
    M0 = M
    while 2 * M < lag_cap:
        # the scale of the Madras-Sokal error: the largest of the running integral at M0, M
        # and 2M (its value at 2M alone can wander toward 0 and run the extension away)
        scale = max(abs(run[M0]), abs(run[M]), abs(run[2 * M]))
        se2 = scale * math.sqrt(2 * (4 * M + 1) / (N * P))
        if abs(run[2 * M] - run[M]) <= se2:
            break
        M *= 2
    if M > M0:
        window += (f", extended from M = {M0} to {M} until the running integral is flat "
                   "within 1 standard error on [M, 2M]")
    tau = float(0.5 + rho[1: M + 1].sum())
    value = float(run[M])
    per_path = h * (cov_paths[:, 0] + 2 * cov_paths[:, 1: M + 1].sum(axis=1))
    if P >= 8:
        stderr = float(per_path.std(ddof=1) / math.sqrt(P))
        how = f"spread of {P} trajectories"
    else:
        stderr = float(abs(value) * math.sqrt(2 * (2 * M + 1) / (N * P)))
        how = "Madras-Sokal variance 2(2M+1) tau^2 / N"
    mean_se = math.sqrt(max(value, 0.0) / (N * P * h))
    if P >= 2:  # the spread of the trajectories' means is an independent error of the mean
        mean_se = max(mean_se, float(x.mean(axis=1).std(ddof=1) / math.sqrt(P)))
    if not subtract_mean and abs(mean) > 4 * mean_se:
        raise CenteringError(
            f"{what} has mean {mean:.6g} +- {mean_se:.2g} under the invariant measure, not 0: "
            "the Green-Kubo integral of an uncentred observable diverges. Subtract the mean "
            "(green_kubo(..., subtract_mean=True) centres it with the sample mean), or centre "
            "the observable exactly")
    # batch means of the time integral
    L = max(20 * M, 10)
    if P * (N // L) < 20:
        L = max(5 * M, (P * N) // 20 // P or 1)
        notes.append(f"only {P * (N // max(L, 1))} batches of {L} samples: batch means are "
                     "rough; run longer")
    nb = N // L
    if nb < 1:
        raise ModelError(f"series of {N} samples cannot hold a batch of {L}: run longer")
    sums = h * xc[:, : nb * L].reshape(P, nb, L).sum(axis=2)
    B = P * nb
    bval = float((sums ** 2).sum() / (B - 1) / (L * h)) if B > 1 else float("nan")
    bse = float(bval * math.sqrt(2 / (B - 1))) if B > 1 else float("nan")
    disc = abs(value - bval) / math.hypot(stderr, bse) if B > 1 else float("nan")
    agree = bool(disc <= 3)
    if not agree:
        msg = (f"Green-Kubo of {what}: the integrated autocorrelation gives {value:.6g} +- "
               f"{stderr:.2g} but batch means give {bval:.6g} +- {bse:.2g} ({disc:.1f} standard "
               "errors apart): the correlation time is not resolved (run longer, more paths) or "
               "the sampling is too coarse")
        notes.append(msg)
        if warn:
            warnings.warn(msg, GreenKuboDisagreementWarning, stacklevel=2)
    keep = min(cov.size, max(4 * M + 1, 50))
    return GreenKuboEstimate(
        value, stderr, cov[:keep].copy(), h * np.arange(keep), h * M, M, window, tau, bval, bse,
        L, agree, float(disc), mean, mean_se, h, N, P, notes,
        {"stderr_method": how, "per_path": per_path, "batches": B})


@_progress.one_bar("green_kubo", total=lambda args: 1, unit="run")
def green_kubo(system: DeterministicFlow | DeterministicMap | SDE, observable: sp.Expr, *,
               params: Mapping | None = None, n_samples: int = 200_000, dt: float | None = None,
               every: int = 1, burn_in: int | str = "auto", paths: int = 8,
               seed: int | None = 0, y0: Any = None, subtract_mean: bool = False,
               c: float = 5.0, executor: Any = None, warn: bool = True,
               progress: bool | None = None) -> GreenKuboEstimate:
    r"""Green-Kubo diffusion :math:`\sigma^2 = 2\int_0^\infty \langle f(y_0)f(y_t)\rangle dt`.

    Parameters
    ----------
    system : DeterministicFlow, DeterministicMap or SDE
        The fast process on its own time scale (no ``eps`` left, or its value
        in ``params``). An SDE is simulated with :func:`symavg.simulate`.
    observable : Expr
        :math:`f`, a function of the state; mean zero under the invariant
        measure (checked).
    params : dict {Symbol: float}
    n_samples : int
        Samples per trajectory (after burn-in), ``every`` steps apart.
    dt : float
        Step of a flow (RK4) or SDE; required for them.
    burn_in : int or "auto"
        Steps discarded first; "auto": 10 % of the run, then the MSER-5 rule
        on the samples (:func:`symavg.numeric.chaos.mser5`).
    paths : int
        Independent trajectories, run in parallel on ``executor``.
    subtract_mean : bool
        Centre the observable with its sample mean instead of refusing an
        uncentred one.
    c : float
        Sokal's window constant.

    Returns
    -------
    GreenKuboEstimate

    Raises
    ------
    CenteringError
        The observable's mean is not zero within its error.

    Examples
    --------
    The doubling map with :math:`f = \cos 2\pi y` (uncorrelated at every lag
    :math:`\ge 1`): :math:`\sigma^2 = C(0) = 1/2`.

    >>> import sympy as sp, symavg as sa
    >>> y = sp.Symbol("y", real=True)
    >>> est = sa.green_kubo(sa.DeterministicMap([y], [sp.Mod(2 * y, 1)]), sp.cos(2 * sp.pi * y),
    ...                     n_samples=100_000, paths=8, seed=2)
    >>> bool(abs(est.value - 0.5) < 4 * est.stderr), est.agree
    (True, True)
    """
    from .chaos import mser5, trajectories

    f = sp.sympify(observable)
    if isinstance(system, SDE):
        if dt is None:
            raise ModelError("green_kubo of an SDE needs its step dt=")
        from .simulate import simulate

        start = int(0.1 * n_samples * every) if burn_in == "auto" else int(burn_in)
        total = start + n_samples * every
        T = total * dt
        x0 = {s: 0.0 for s in system.state}
        if isinstance(y0, Mapping):
            x0.update(y0)
        ens = simulate(system, x0, T, params=params, paths=paths, dt=dt, seed=seed,
                       saveat=dt * every * np.arange(start // every, total // every + 1),
                       executor=executor)
        series = ens.evaluate(f).T[:, 1:]
        spacing = dt * every
    else:
        if not isinstance(system, DeterministicFlow | DeterministicMap):
            raise ModelError(f"green_kubo expects a DeterministicFlow, DeterministicMap or "
                             f"SDE; got {type(system).__name__}")
        start = int(0.1 * n_samples * every) if burn_in == "auto" else int(burn_in)
        tr = trajectories(system, [f], n_samples=n_samples, params=params, dt=dt, every=every,
                          burn_in=start, paths=paths, seed=seed, y0=y0, executor=executor)
        series = tr.values[:, :, 0]
        spacing = tr.spacing
    cut = 0
    if burn_in == "auto":
        cut = max(mser5(s) for s in series)
        series = series[:, cut:]
    est = green_kubo_series(series, spacing, subtract_mean=subtract_mean, c=c, warn=warn,
                            what=str(f))
    est.info.update({"burn_in_samples": cut, "burn_in_steps": start, "system": system,
                     "observable": f})
    return est
