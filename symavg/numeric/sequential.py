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


@dataclass
class Accumulator:
    """Running sums of observables over batches of one model at one eps."""

    observables: list[sp.Expr]
    variables: tuple[sp.Symbol, ...]
    n: int = 0
    s1: np.ndarray | None = None
    s2: np.ndarray | None = None
    finals: dict[sp.Symbol, list[np.ndarray]] = field(default_factory=dict)
    seconds: float = 0.0
    batches: int = 0
    last: Any = None

    def add(self, ens: Any, seconds: float = 0.0) -> None:
        vals = np.array([ens.evaluate(o)[-1] for o in self.observables])   # (nobs, paths)
        # shifted sums (by the first batch's mean) keep the variance accurate
        if self.s1 is None:
            self._shift = vals.mean(axis=1)
            self.s1 = np.zeros(len(self.observables))
            self.s2 = np.zeros(len(self.observables))
        d = vals - self._shift[:, None]
        self.s1 = self.s1 + d.sum(axis=1)
        self.s2 = self.s2 + (d * d).sum(axis=1)
        self.n += vals.shape[1]
        for x in self.variables:
            self.finals.setdefault(x, []).append(np.asarray(ens[x][-1], dtype=float))
        self.seconds += seconds
        self.batches += 1
        self.last = ens

    def mean(self, j: int) -> float:
        assert self.s1 is not None
        return float(self._shift[j] + self.s1[j] / self.n)

    def sd(self, j: int) -> float:
        assert self.s1 is not None and self.s2 is not None
        if self.n < 2:
            return math.inf
        var = (self.s2[j] - self.s1[j] ** 2 / self.n) / (self.n - 1)
        return math.sqrt(max(var, 0.0))

    def se(self, j: int) -> float:
        return self.sd(j) / math.sqrt(self.n)

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
