r"""Sequential Monte Carlo for :func:`symavg.verify`: add paths until the errors are resolved.

A weak error :math:`e = \mathbb E\varphi(X^\epsilon_T) - \mathbb E\varphi(\bar X_T)` is
*resolved* at ``k`` standard errors when :math:`|\hat e| > k\,\mathrm{se}(\hat e)`,
with :math:`\mathrm{se}^2 = s_{\rm full}^2/n + s_{\rm red}^2/n_{\rm red} + \delta^2`
(:math:`\delta` the error estimate of a deterministic reduced side, which then has
:math:`s_{\rm red} = 0`). At the current estimates, resolving it takes

.. math:: n_{\rm need} = \frac{k^2\,(s_{\rm full}^2 + s_{\rm red}^2)}{\hat e^2 - k^2\delta^2}

paths per model (infinite when :math:`|\hat e| \le k\delta`: the reduced side, not
the sampling, limits). :class:`Accumulator` keeps running sums of every
observable over independent batches (each batch has its own child of the
run's ``SeedSequence``), so the batches are pooled exactly; :func:`plan` chooses
the next batch (at least half, at most three times the paths so far, so that a
noisy :math:`\hat e` cannot ask for a huge batch at once) within the path and
time budgets.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import sympy as sp

#: the estimators of :class:`Accumulator` (``verify(..., variance_reduction=)``)
VARIANCE_REDUCTION = ("none", "antithetic", "control", "antithetic+control")


def control_variates(noise_sums: np.ndarray, T: float, odd: bool = True) -> np.ndarray:
    r"""Controls with mean zero from the sums of a run's normals, shape ``(q, paths)``.

    With :math:`u_k = S_k/\sqrt T` (independent standard normals, see
    :attr:`symavg.numeric.simulate.Ensemble.noise_sums`): the Hermite polynomials
    :math:`u_k` (if ``odd``), :math:`u_k^2 - 1` and the products :math:`u_k u_l`
    (:math:`k < l`), all of mean exactly zero.

    Examples
    --------
    >>> control_variates(np.array([[2.0], [1.0]]), 4.0).ravel().tolist()
    [1.0, 0.5, 0.0, -0.75, 0.5]
    """
    u = np.asarray(noise_sums, dtype=float) / math.sqrt(T)
    m = u.shape[0]
    rows = list(u) if odd else []
    rows += [u[k] ** 2 - 1 for k in range(m)]
    rows += [u[k] * u[ll] for k in range(m) for ll in range(k + 1, m)]
    return np.array(rows).reshape(len(rows), u.shape[1])


@dataclass
class Accumulator:
    r"""Running sums of observables over batches of one model at one eps.

    ``method`` (one of :data:`VARIANCE_REDUCTION`) chooses the estimator of each
    :math:`\mathbb E\varphi`; every batch is independent, and a *unit* is one path,
    or one antithetic pair (``ens.info["antithetic"]``: paths ``2j, 2j + 1`` driven by
    opposite normals), whose mean :math:`\tfrac12(\varphi^+ + \varphi^-)` is one sample:

    * ``"none"``, ``"antithetic"``: the mean of the units, standard error
      :math:`s/\sqrt N` over the :math:`N` units;
    * ``"control"``, ``"antithetic+control"``: the regression (control variate)
      estimator :math:`\bar\varphi - \hat\beta^\top\bar c` with controls :math:`c`
      of mean zero (:func:`control_variates` of ``ens.noise_sums``; with antithetic
      pairs only the even ones, since the odd ones cancel in a pair),
      :math:`\hat\beta = S_{cc}^{-1}S_{c\varphi}` from the pooled sample covariances,
      and standard error :math:`\sqrt{s^2_{\rm res}/N}` with
      :math:`s^2_{\rm res} = (S_{\varphi\varphi} - S_{\varphi c}\hat\beta)(N-1)/(N-1-q)`
      (Glasserman, *Monte Carlo Methods in Financial Engineering*, Springer 2004,
      Sec. 4.1.2-4.1.3 and Sec. 4.2 for antithetic pairs).

    :meth:`sd` is the standard deviation *per path* of the chosen estimator
    (:math:`\mathrm{se}\sqrt{n}` with :math:`n` paths), so :func:`paths_needed` counts
    paths whatever the estimator; :meth:`gain` is the plain per-path variance over it
    (the variance reduction factor at an equal number of paths).
    """

    observables: list[sp.Expr]
    variables: tuple[sp.Symbol, ...]
    method: str = "none"
    n: int = 0
    units: int = 0
    s1: np.ndarray | None = None
    s2: np.ndarray | None = None
    finals: dict[sp.Symbol, list[np.ndarray]] = field(default_factory=dict)
    seconds: float = 0.0
    batches: int = 0
    last: Any = None

    def __post_init__(self) -> None:
        if self.method not in VARIANCE_REDUCTION:
            raise ValueError(f"method must be one of {VARIANCE_REDUCTION}; got {self.method!r}")
        self._q = 0
        self._plain = np.zeros((3, len(self.observables)))     # n, sum, sum of squares

    @property
    def antithetic(self) -> bool:
        return self.method.startswith("antithetic")

    @property
    def control(self) -> bool:
        return self.method.endswith("control")

    def add(self, ens: Any, seconds: float = 0.0) -> None:
        vals = np.array([ens.evaluate(o)[-1] for o in self.observables])   # (nobs, paths)
        P = vals.shape[1]
        if self.antithetic and (not ens.info.get("antithetic") or P % 2):
            raise ValueError("an antithetic estimator needs simulate(..., antithetic=True)")
        if self.control and ens.noise_sums is None:
            raise ValueError("a control-variate estimator needs simulate(..., record_noise=True)")
        if self.n == 0:
            self._pshift = vals.mean(axis=1)
        dp = vals - self._pshift[:, None]
        self._plain += np.array([np.full(len(self.observables), P), dp.sum(axis=1),
                                 (dp * dp).sum(axis=1)])
        rows = [vals]
        if self.control:
            rows.append(control_variates(ens.noise_sums, float(ens.t[-1]),
                                         odd=not self.antithetic))
        v = np.concatenate(rows)                                   # (nobs + q, paths)
        if self.antithetic:
            v = 0.5 * (v[:, 0::2] + v[:, 1::2])
        # shifted sums (by the first batch's mean) keep the variance accurate
        if self.s1 is None:
            self._q = v.shape[0] - len(self.observables)
            self._shift = v.mean(axis=1)
            self.s1 = np.zeros(v.shape[0])
            self.s2 = np.zeros((v.shape[0], v.shape[0]))
        d = v - self._shift[:, None]
        self.s1 = self.s1 + d.sum(axis=1)
        self.s2 = self.s2 + d @ d.T
        self.n += P
        self.units += v.shape[1]
        for x in self.variables:
            self.finals.setdefault(x, []).append(np.asarray(ens[x][-1], dtype=float))
        self.seconds += seconds
        self.batches += 1
        self.last = ens

    def _cov(self) -> np.ndarray:
        assert self.s1 is not None and self.s2 is not None
        N = self.units
        return (self.s2 - np.outer(self.s1, self.s1) / N) / (N - 1)

    def _beta(self, j: int, cov: np.ndarray) -> np.ndarray:
        k = len(self.observables)
        scc, scp = cov[k:, k:], cov[k:, j]
        return np.linalg.lstsq(scc, scp, rcond=None)[0]

    def mean(self, j: int) -> float:
        assert self.s1 is not None
        means = self._shift + self.s1 / self.units
        if not self.control or self.units < self._q + 2:
            return float(means[j])
        beta = self._beta(j, self._cov())
        return float(means[j] - beta @ means[len(self.observables):])

    def se(self, j: int) -> float:
        N, q = self.units, (self._q if self.control else 0)
        if N < q + 2:
            return math.inf
        cov = self._cov()
        var = cov[j, j]
        if self.control:
            k = len(self.observables)
            var = (var - cov[j, k:] @ self._beta(j, cov)) * (N - 1) / (N - 1 - q)
        return math.sqrt(max(var, 0.0) / N)

    def sd(self, j: int) -> float:
        """Standard deviation per path of the estimator (``se * sqrt(paths)``)."""
        if self.n < 2:
            return math.inf
        return self.se(j) * math.sqrt(self.n)

    def plain_sd(self, j: int) -> float:
        """Standard deviation of one path's value (the plain Monte Carlo one)."""
        n, s1, s2 = self._plain[:, j]
        return math.sqrt(max((s2 - s1 * s1 / n) / (n - 1), 0.0)) if n > 1 else math.inf

    def gain(self, j: int) -> float:
        """Variance reduction factor: plain variance per path over the estimator's."""
        sd = self.sd(j)
        return self.plain_sd(j) ** 2 / sd ** 2 if sd > 0 else math.inf

    def final(self, x: sp.Symbol) -> np.ndarray:
        return np.concatenate(self.finals[x])

    @property
    def seconds_per_path(self) -> float:
        return self.seconds / max(self.n, 1)


def paths_needed(error: float, sd_full: float, sd_red: float, det_err: float, k: float
                 ) -> float:
    r""":math:`n_{\rm need}` of the module docstring (``inf`` when it cannot be reached).

    Examples
    --------
    >>> paths_needed(0.01, 1.0, 0.0, 0.0, 2.0)       # (2 * 1 / 0.01)^2
    40000.0
    """
    room = error * error - (k * det_err) ** 2
    if room <= 0 or not math.isfinite(sd_full):
        return math.inf
    return k * k * (sd_full ** 2 + sd_red ** 2) / room


def plan(n: int, need: float, budget: int, seconds_per_path: float,
         seconds_left: float | None) -> int:
    """Paths to add to a model with ``n`` paths that needs ``need`` (within the budgets)."""
    if n >= budget:
        return 0
    want = need * 1.1 - n if math.isfinite(need) else 3 * n
    add = int(min(max(want, n / 2), 3 * n, budget - n))
    if seconds_left is not None and seconds_per_path > 0:
        add = min(add, int(seconds_left / seconds_per_path))
    return max(add, 0)


def child_seed(ss: np.random.SeedSequence) -> int:
    """A new independent integer seed from ``ss`` (its next child)."""
    return int(ss.spawn(1)[0].generate_state(1, np.uint64)[0])
