r"""The one-sided Green-Kubo matrix of several observables, with its Levy-area part.

For stationary, mixing, mean-zero observables :math:`h_1, \dots, h_K` along a flow
(or a map), with :math:`C_{kl}(t) = \langle h_k(y_0)\,h_l(y_t)\rangle` (``h_k``
*earlier*), the **one-sided** matrix

.. math::

    \Lambda_{kl} = \int_0^\infty C_{kl}(t)\,dt \quad\text{(flow)}, \qquad
    \Lambda_{kl} = \sum_{n\ge 1} C_{kl}(n) \quad\text{(map)}

is not symmetric: :math:`C_{kl}(t) = C_{lk}(-t) \ne C_{lk}(t)` in general. Its
symmetric part gives the covariance of the limiting Brownian motion of
:math:`W_\epsilon = \epsilon\int_0^{t/\epsilon^2} h`,

.. math::

    \Sigma = \Lambda + \Lambda^T \ \text{(flow)}, \qquad
    \Sigma = C(0) + \Lambda + \Lambda^T \ \text{(map)},

and its antisymmetric part :math:`A = (\Lambda - \Lambda^T)/2` is the mean rate of
the *Levy area* :math:`\tfrac12\int (W^k dW^l - W^l dW^k)`: the iterated
integrals :math:`\int_0^t W_\epsilon^k\,dW_\epsilon^l` converge to the Itô
integrals plus :math:`t\,\Lambda_{kl}` (Kelly & Melbourne 2016, "Smooth
approximation of stochastic differential equations", *Ann. Probab.* 44:479,
Thm. 1.1; for maps Gottwald & Melbourne 2013, *Proc. R. Soc. A* 469:20130201),
which is why the drift of a slow variable with several fast observables and
``x``-dependent coefficients needs the whole :math:`\Lambda`
(:mod:`symavg.derive.chaotic`).

With a sample spacing :math:`h` both cases are one formula,
:math:`\Lambda_{kl} = h\,(w_0 C_{kl}(0) + \sum_{n=1}^{M} C_{kl}(nh))`,
:math:`\Sigma = \Lambda + \Lambda^T + (1 - 2 w_0)\,h\,C(0)`, with ``w0 = 1/2``
(trapezoid) for a flow and ``w0 = 0`` for a map.

Estimator 1, **cross-correlation by FFT**: :math:`\hat C_{kl}(n) = \frac1N\sum_t
h_k(t) h_l(t+n)` from ``irfft(conj(rfft(h_k)) * rfft(h_l))`` (zero-padded to
``next_fast_len(2N)``), summed to the window :math:`M`, the largest of the
diagonal windows of :func:`~symavg.numeric.green_kubo.green_kubo_series` (Sokal's
rule, widened while the running integral moves). Error: the spread of the
per-trajectory values (8 or more trajectories; with fewer, each is cut into
segments so that there are 8).

Estimator 2, **batch means of the iterated integrals**: in batches of
:math:`L = \max(20M, 200)` samples, :math:`I_{kl} = h^2\sum_s S_k(s)\,h_l(s)` with
:math:`S_k(s) = \sum_{u<s} h_k(u) + w_0 h_k(s)` (the discrete
:math:`\int W^k dW^l`, restarted in each batch); :math:`E\,I_{kl}/(Lh) \to
\Lambda_{kl}` with a bias :math:`O(\tau/L)`. It uses no correlation function and no
window. Error: the spread of the batches. Its antisymmetric part is the Levy
area per unit time, measured directly.

Both must agree within 3 combined standard errors, entry by entry.
"""

from __future__ import annotations

import math
import warnings
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import sympy as sp
from scipy import fft as sfft

from ..errors import ModelError
from ..models.deterministic import DeterministicFlow, DeterministicMap
from ..models.sde import SDE
from .green_kubo import GreenKuboDisagreementWarning, GreenKuboEstimate, green_kubo_series


@dataclass
class GreenKuboMatrix:
    r"""The one-sided Green-Kubo matrix :math:`\Lambda` of ``K`` observables, with errors.

    Attributes
    ----------
    observables : tuple of Expr or str
    one_sided, stderr : ndarray (K, K)
        :math:`\Lambda_{kl}` (FFT estimator) and its standard error.
    sigma, sigma_stderr : ndarray (K, K)
        :math:`\Sigma` (symmetric) and its standard error.
    batch_one_sided, batch_stderr : ndarray (K, K)
        :math:`\Lambda` from batch means of the iterated integrals, and its error.
    agree : bool
        Every entry of the two estimates within 3 combined standard errors.
    discrepancy : ndarray (K, K)
        :math:`|a - b| / \sqrt{se_a^2 + se_b^2}` per entry.
    covariance : ndarray (K*K, K*K)
        Covariance of the estimate of ``one_sided.ravel()`` (from the spread of the
        trajectories): the errors of the entries are correlated. ``info["joint_covariance"]``
        is that of ``one_sided.ravel()`` and ``sigma.ravel()`` together.
    cross : ndarray (K, K, n_lags)
        :math:`\hat C_{kl}(nh)`, ``n = 0 .. 4M`` (at least 50 lags).
    lags : ndarray
    cutoff, cutoff_lag : float, int
        The window :math:`Mh` and :math:`M`.
    lag0 : float
        :math:`w_0` (1/2 for a flow, 0 for a map).
    mean : ndarray (K,)
        The sample means (subtracted).
    diagonal : list of GreenKuboEstimate
        The single-observable estimates that chose the window.
    spacing : float
    n_samples, paths : int
    notes : list of str

    Examples
    --------
    Two white-noise series with :math:`h_2(t) = h_1(t - 1)`: :math:`C_{12}(1) = 1`, all
    other lags vanish, so the map convention gives :math:`\Lambda_{12} = 1`,
    :math:`\Lambda_{21} = 0`:

    >>> import numpy as np
    >>> from symavg.numeric.green_kubo_matrix import green_kubo_matrix_series
    >>> w = np.random.default_rng(0).standard_normal((8, 100_001))
    >>> s = np.stack([w[:, 1:], w[:, :-1]], axis=-1)
    >>> G = green_kubo_matrix_series(s, 1.0, lag0=0.0)
    >>> bool(abs(G.one_sided[0, 1] - 1) < 4 * G.stderr[0, 1]), bool(abs(G.one_sided[1, 0]) < 0.05)
    (True, True)
    >>> np.round(G.antisymmetric, 1).tolist(), G.agree
    ([[0.0, 0.5], [-0.5, 0.0]], True)
    """

    observables: tuple
    one_sided: np.ndarray
    stderr: np.ndarray
    sigma: np.ndarray
    sigma_stderr: np.ndarray
    batch_one_sided: np.ndarray
    batch_stderr: np.ndarray
    agree: bool
    discrepancy: np.ndarray
    covariance: np.ndarray
    cross: np.ndarray
    lags: np.ndarray
    cutoff: float
    cutoff_lag: int
    lag0: float
    mean: np.ndarray
    diagonal: list[GreenKuboEstimate]
    spacing: float
    n_samples: int
    paths: int
    notes: list[str] = field(default_factory=list)
    info: dict[str, Any] = field(default_factory=dict)

    @property
    def antisymmetric(self) -> np.ndarray:
        r""":math:`A = (\Lambda - \Lambda^T)/2`, the Levy-area rate."""
        return (self.one_sided - self.one_sided.T) / 2

    @property
    def antisymmetric_stderr(self) -> np.ndarray:
        """Standard error of :attr:`antisymmetric` (from :attr:`covariance`)."""
        K = self.one_sided.shape[0]
        out = np.zeros((K, K))
        for k in range(K):
            for m in range(K):
                g = np.zeros((K, K))
                g[k, m] += 0.5
                g[m, k] -= 0.5
                v = g.ravel()
                out[k, m] = math.sqrt(max(float(v @ self.covariance @ v), 0.0))
        return out

    def __repr__(self) -> str:
        return (f"GreenKuboMatrix(one_sided={np.array2string(self.one_sided, precision=4)}, "
                f"agree={self.agree}, cutoff={self.cutoff:.4g})")


def cross_covariance(x: np.ndarray, max_lag: int, workers: int = -1) -> np.ndarray:
    r""":math:`\hat C_{kl}(n) = \frac1N\sum_{t<N-n} x_k(t)\,x_l(t+n)` per path, by FFT.

    ``x`` has shape ``(paths, N, K)`` (centred); the result ``(paths, K, K, max_lag + 1)``.

    Examples
    --------
    >>> import numpy as np
    >>> from symavg.numeric.green_kubo_matrix import cross_covariance
    >>> x = np.random.default_rng(1).standard_normal((1, 1000, 2))
    >>> c = cross_covariance(x, 3)
    >>> direct = (x[0, :-2, 0] * x[0, 2:, 1]).sum() / 1000
    >>> bool(np.isclose(c[0, 0, 1, 2], direct))
    True
    """
    P, N, K = x.shape
    n = sfft.next_fast_len(2 * N, real=True)
    X = sfft.rfft(np.ascontiguousarray(np.moveaxis(x, 1, 2)), n, axis=-1,
                  workers=workers)                          # (P, K, nf)
    m = min(N, max_lag + 1)
    out = np.empty((P, K, K, m))
    for k in range(K):
        for l in range(K):
            out[:, k, l] = sfft.irfft(np.conj(X[:, k]) * X[:, l], n, axis=-1,
                                      workers=workers)[:, :m] / N
    return out


def _one_sided(c: np.ndarray, M: int, h: float, lag0: float) -> np.ndarray:
    """``h (w0 C(0) + sum_{n=1}^M C(n))`` over the last axis."""
    return h * (lag0 * c[..., 0] + c[..., 1: M + 1].sum(axis=-1))


def green_kubo_matrix_series(series: np.ndarray, spacing: float = 1.0, *, lag0: float = 0.5,
                             subtract_mean: bool = False, c: float = 5.0, warn: bool = True,
                             workers: int = -1, names: Sequence | None = None
                             ) -> GreenKuboMatrix:
    r"""The one-sided Green-Kubo matrix of sampled series, shape ``(paths, N, K)``.

    See the module docstring for the formulas and both estimators. ``lag0`` is the
    weight of the lag-0 correlation: 1/2 for samples of a flow (trapezoid rule for
    :math:`\int_0^\infty`), 0 for a map (:math:`\sum_{n\ge1}`).

    Raises
    ------
    CenteringError
        An observable's mean is not zero within its error (``subtract_mean=True``
        centres it).
    """
    x = np.asarray(series, dtype=float)
    if x.ndim != 3:
        raise ModelError(f"series must have shape (paths, N, K); got {x.shape}")
    P, N, K = x.shape
    if lag0 not in (0.0, 0.5):
        raise ModelError(f"lag0 is 1/2 (a flow) or 0 (a map); got {lag0}")
    h = float(spacing)
    names = tuple(names) if names is not None else tuple(f"h{k + 1}" for k in range(K))
    diag = [green_kubo_series(x[:, :, k], h, subtract_mean=subtract_mean, c=c, warn=False,
                              workers=workers, what=str(names[k])) for k in range(K)]
    mean = x.mean(axis=(0, 1))
    xc = x - mean
    M = max(d.cutoff_lag for d in diag)
    keep = max(4 * M + 1, 50)
    cov_p = cross_covariance(xc, keep, workers)           # (P, K, K, lags)
    cross = cov_p.mean(axis=0)
    lam = _one_sided(cross, M, h, lag0)
    # the error from the spread of (segments of) the trajectories
    segs = max(1, math.ceil(8 / P))
    if segs > 1:
        Ls = N // segs
        if Ls < 4 * M:
            raise ModelError(f"{P} trajectories of {N} samples cannot be cut into {segs} "
                             f"segments longer than 4 windows ({4 * M}): run longer or more paths")
        seg = xc[:, : segs * Ls].reshape(P * segs, Ls, K)
        per = _one_sided(cross_covariance(seg, M, workers), M, h, lag0)
        how = f"spread of {P * segs} segments of {P} trajectories"
    else:
        per = _one_sided(cov_p, M, h, lag0)
        how = f"spread of {P} trajectories"
    n_per = per.shape[0]
    flat = per.reshape(n_per, K * K)
    covar = np.atleast_2d(np.cov(flat.T, ddof=1)) / n_per
    se = np.sqrt(np.diag(covar)).reshape(K, K)
    c0 = h * cross[..., 0]
    sig = lam + lam.T + (1 - 2 * lag0) * c0
    per_sig = per + np.swapaxes(per, 1, 2) + (1 - 2 * lag0) * h * (
        np.einsum("ptk,ptl->pkl", seg, seg) / seg.shape[1] if segs > 1 else cov_p[..., 0])
    sig_se = per_sig.std(axis=0, ddof=1) / math.sqrt(n_per)
    joint = np.concatenate([flat, per_sig.reshape(n_per, K * K)], axis=1)
    joint_cov = np.atleast_2d(np.cov(joint.T, ddof=1)) / n_per
    # estimator 2: batch means of the discrete iterated integrals
    notes: list[str] = []
    L = max(20 * M, 200)        # the bias of a batch is sum_n n C(n) / L
    nb = N // L
    if P * nb < 20:
        L = max(5 * M, N // max(1, math.ceil(20 / P)))
        nb = N // L
        notes.append(f"only {P * nb} batches of {L} samples for the iterated integrals: "
                     "batch means are rough; run longer")
    if nb < 1:
        raise ModelError(f"series of {N} samples cannot hold a batch of {L}: run longer")
    b = xc[:, : nb * L].reshape(P * nb, L, K)
    S = np.cumsum(b, axis=1) - (1 - lag0) * b             # sum_{u<s} + w0 * h(s)
    I = h * np.einsum("bsk,bsl->bkl", S, b) / L            # h^2 sum / (L h)
    B = I.shape[0]
    blam = I.mean(axis=0)
    bse = I.std(axis=0, ddof=1) / math.sqrt(B)
    disc = np.abs(lam - blam) / np.hypot(se, bse).clip(1e-300)
    agree = bool(np.all(disc <= 3))
    if not agree:
        k, m = np.unravel_index(int(np.argmax(disc)), disc.shape)
        msg = (f"one-sided Green-Kubo of ({names[k]}, {names[m]}): the cross-correlation gives "
               f"{lam[k, m]:.6g} +- {se[k, m]:.2g} but batch means of the iterated integrals "
               f"give {blam[k, m]:.6g} +- {bse[k, m]:.2g} ({disc[k, m]:.1f} standard errors "
               "apart): the correlation time is not resolved (run longer, more paths)")
        notes.append(msg)
        if warn:
            warnings.warn(msg, GreenKuboDisagreementWarning, stacklevel=2)
    return GreenKuboMatrix(
        names, lam, se, sig, sig_se, blam, bse, agree, disc, covar, cross[..., :keep].copy(),
        h * np.arange(min(keep, cross.shape[-1])), h * M, M, lag0, mean, diag, h, N, P, notes,
        {"stderr_method": how, "per_path": per, "batches": B, "batch_length": L,
         "joint_covariance": joint_cov})


def sample_series(system: DeterministicFlow | DeterministicMap | SDE,
                  observables: Sequence[sp.Expr], *, params: Mapping | None = None,
                  n_samples: int = 200_000, dt: float | None = None, every: int = 1,
                  burn_in: int | str = "auto", paths: int = 8, seed: int | None = 0,
                  y0: Any = None, executor: Any = None) -> tuple[np.ndarray, float, int]:
    """Observables along ``paths`` stationary trajectories: ``(series (P, N, K), spacing,
    MSER-5 samples cut)``; the sampling of :func:`symavg.green_kubo`."""
    from .chaos import mser5, trajectories

    fs = [sp.sympify(f) for f in observables]
    start = int(0.1 * n_samples * every) if burn_in == "auto" else int(burn_in)
    if isinstance(system, SDE):
        if dt is None:
            raise ModelError("green_kubo of an SDE needs its step dt=")
        from .simulate import simulate

        total = start + n_samples * every
        x0 = {s: 0.0 for s in system.state}
        if isinstance(y0, Mapping):
            x0.update(y0)
        ens = simulate(system, x0, total * dt, params=params, paths=paths, dt=dt, seed=seed,
                       saveat=dt * every * np.arange(start // every, total // every + 1),
                       executor=executor)
        series = np.stack([ens.evaluate(f).T[:, 1:] for f in fs], axis=-1)
        spacing = dt * every
    elif isinstance(system, DeterministicFlow | DeterministicMap):
        tr = trajectories(system, fs, n_samples=n_samples, params=params, dt=dt, every=every,
                          burn_in=start, paths=paths, seed=seed, y0=y0, executor=executor)
        series, spacing = tr.values, tr.spacing
    else:
        raise ModelError(f"green_kubo expects a DeterministicFlow, DeterministicMap or SDE; "
                         f"got {type(system).__name__}")
    cut = 0
    if burn_in == "auto":
        cut = max(mser5(series[r, :, k]) for r in range(series.shape[0])
                  for k in range(series.shape[2]))
        series = series[:, cut:, :]
    return series, float(spacing), cut


def green_kubo_matrix(system: DeterministicFlow | DeterministicMap | SDE,
                      observables: Sequence[sp.Expr], *, params: Mapping | None = None,
                      n_samples: int = 200_000, dt: float | None = None, every: int = 1,
                      burn_in: int | str = "auto", paths: int = 8, seed: int | None = 0,
                      y0: Any = None, subtract_mean: bool = False, c: float = 5.0,
                      executor: Any = None, warn: bool = True) -> GreenKuboMatrix:
    r"""The one-sided Green-Kubo matrix :math:`\Lambda_{kl} = \int_0^\infty\langle h_k(y_0)
    h_l(y_t)\rangle dt` (a map: :math:`\sum_{n\ge1}`) of several observables.

    A :class:`~symavg.DeterministicMap` uses the map convention (``lag0 = 0``), a flow or
    an SDE the flow one (``lag0 = 1/2``).

    Parameters
    ----------
    system : DeterministicFlow, DeterministicMap or SDE
        The fast process on its own time scale.
    observables : list of Expr
        :math:`h_1, \dots, h_K`, each mean zero under the invariant measure (checked).
    params, n_samples, dt, every, burn_in, paths, seed, y0, executor
        The sampling, as in :func:`symavg.green_kubo`.
    subtract_mean : bool
        Centre each observable with its sample mean instead of refusing an uncentred one.
    c : float
        Sokal's window constant (the window is the largest of the diagonal ones).
    warn : bool
        Warn when the two estimators disagree.

    Returns
    -------
    GreenKuboMatrix

    Examples
    --------
    The OU process :math:`dy = -B y\,dt + \sqrt 2\,dW` with :math:`B = \gamma I + \omega J`
    (a rotation, :math:`J = [[0, 1], [-1, 0]]`) has :math:`C(t) = S e^{-B^T t}`,
    :math:`S = I/\gamma`, so :math:`\Lambda = S B^{-T}`; the antisymmetric part is
    :math:`\omega/(\gamma(\gamma^2+\omega^2))` (here 2/5):

    >>> import sympy as sp, symavg as sa
    >>> y1, y2 = sp.symbols("y1 y2", real=True)
    >>> ou = sa.SDE([y1, y2], [-y1 - 2 * y2, 2 * y1 - y2], noise=[[sp.sqrt(2), 0], [0, sp.sqrt(2)]])
    >>> G = sa.green_kubo_matrix(ou, [y1, y2], dt=0.02, n_samples=50_000, seed=1)  # doctest: +SKIP
    >>> round(float(G.antisymmetric[0, 1]), 1)                                     # doctest: +SKIP
    0.4
    """
    obs = [sp.sympify(o) for o in observables]
    if not obs:
        raise ModelError("green_kubo_matrix needs at least one observable")
    series, spacing, cut = sample_series(system, obs, params=params, n_samples=n_samples, dt=dt,
                                         every=every, burn_in=burn_in, paths=paths, seed=seed,
                                         y0=y0, executor=executor)
    G = green_kubo_matrix_series(series, spacing,
                                 lag0=0.0 if isinstance(system, DeterministicMap) else 0.5,
                                 subtract_mean=subtract_mean, c=c, warn=warn, names=obs)
    G.info.update({"burn_in_samples": cut, "system": system})
    return G
