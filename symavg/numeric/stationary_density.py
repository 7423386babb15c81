r"""The stationary density of a slow variable, by simulation, and its exponential rate.

At small :math:`\epsilon` the stationary density of the slow variable of a
slow-fast system concentrates on the attractor of the averaged dynamics, with

.. math:: -\epsilon \log \rho_\epsilon(x) = V(x) + \epsilon \log Z(x) + \text{const} + o(\epsilon),

``V`` the quasipotential (Freidlin & Wentzell, *Random Perturbations of Dynamical
Systems*, Ch. 4 Thm. 4.3 and Ch. 7; for a PDMP Faggionato, Gabrielli & Ribezzi
Crivellari, Markov Process. Relat. Fields 16 (2010) 497). :func:`stationary_density`
estimates :math:`\rho_\epsilon` from an ensemble of :func:`symavg.simulate` paths
sampled after a burn-in, with a standard error from independent groups of paths, and
:meth:`DensityEstimate.action` returns :math:`-\epsilon\log(\rho(x)/\rho(x_{ref}))`,
to be compared with :math:`V(x) - V(x_{ref})` (it converges linearly in
:math:`\epsilon`).
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import sympy as sp

from ..errors import ModelError

__all__ = ["DensityEstimate", "stationary_density"]


@dataclass(frozen=True)
class DensityEstimate:
    r"""A histogram estimate of the stationary density of one variable.

    Attributes
    ----------
    edges : ndarray
        Bin edges.
    density, stderr : ndarray
        :math:`\hat\rho` averaged over each bin (counts over all samples, inside the
        bins or not, divided by the bin width), and its standard error from the
        spread over ``groups`` independent groups of paths.
    eps : float
    samples : int
        Samples used (paths times saved times).
    groups : int
    """

    edges: np.ndarray
    density: np.ndarray
    stderr: np.ndarray
    eps: float
    samples: int
    groups: int

    @property
    def centers(self) -> np.ndarray:
        """Bin midpoints."""
        return (self.edges[1:] + self.edges[:-1]) / 2

    def action(self, reference: int | None = None) -> tuple[np.ndarray, np.ndarray]:
        r""":math:`-\epsilon\log(\hat\rho_i/\hat\rho_{ref})` per bin, and its standard error.

        ``reference`` is a bin index (default: the fullest bin). Bins without samples
        give ``inf``. The standard error is the delta method on both bins,
        :math:`\epsilon\sqrt{(s_i/\rho_i)^2 + (s_r/\rho_r)^2}` (zero at the reference).
        """
        r = int(np.argmax(self.density)) if reference is None else int(reference)
        with np.errstate(divide="ignore", invalid="ignore"):
            W = -self.eps * np.log(self.density / self.density[r])
            rel = np.square(self.stderr / self.density)
            se = self.eps * np.sqrt(rel + rel[r])
        se[r] = 0.0
        return W, se


def stationary_density(model: Any, variable: sp.Symbol, x0: Mapping, *, eps: float,
                       edges: Sequence[float], T: float, burn_in: float, every: float,
                       params: Mapping | None = None, paths: int = 2000, groups: int = 20,
                       seed: int | None = None, **simulate_kwargs: Any) -> DensityEstimate:
    r"""Histogram of ``variable`` over an ensemble, at ``burn_in, burn_in + every, ..., T``.

    ``paths`` copies are run by :func:`symavg.simulate` from ``x0`` (fast
    variables left out start from their invariant law); each path contributes its
    values at the saved times. ``burn_in`` should exceed the relaxation time of the
    averaged dynamics, ``every`` its correlation time (then the samples of one path
    are nearly independent; the standard error does not rely on it, it uses the
    spread over ``groups`` groups of whole paths).

    Parameters
    ----------
    model : SDE, SwitchingSDE or EffectiveModel
        Anything :func:`symavg.simulate` runs.
    variable : Symbol
        The variable whose density is estimated.
    x0 : dict {Symbol: float}
        Initial values (as in :func:`symavg.simulate`).
    eps : float
    edges : sequence of float
        Increasing bin edges.
    T, burn_in, every : float
        Final time, first sampled time and the sampling interval.
    params : dict, optional
    paths, groups, seed
        Number of paths, groups for the standard error, seed.
    **simulate_kwargs
        Passed to :func:`symavg.simulate` (``dt``, ``backend``, ...).

    Returns
    -------
    DensityEstimate

    Examples
    --------
    The Ornstein-Uhlenbeck process ``dx = -x dt + sqrt(eps) dW`` has the stationary law
    ``N(0, eps/2)``, so ``-eps log(rho(x)/rho(0)) = x^2``:

    >>> import numpy as np, sympy as sp, symavg as sa
    >>> from symavg.numeric.stationary_density import stationary_density
    >>> x = sp.Symbol("x", real=True)
    >>> ou = sa.SDE([x], [-x], diffusion=[[sa.epsilon]])
    >>> est = stationary_density(ou, x, {x: 0.0}, eps=0.1, edges=np.linspace(-0.5, 0.5, 11),
    ...                          T=10.0, burn_in=2.0, every=1.0, paths=2000, seed=1)
    >>> W, se = est.action(reference=5)
    >>> bool(abs(W[8] - est.centers[8] ** 2) < 4 * se[8] + 0.01)
    True
    """
    from .simulate import simulate

    state = tuple(getattr(model, "state", ()))
    if variable not in state:
        raise ModelError(f"{variable} is not a state variable of {list(state)}")
    edges = np.asarray(edges, dtype=float)
    if edges.ndim != 1 or len(edges) < 2 or np.any(np.diff(edges) <= 0):
        raise ModelError("edges must be an increasing sequence of at least two bin edges")
    if not (0 <= burn_in < T) or not every > 0:
        raise ModelError(f"need 0 <= burn_in < T and every > 0; got burn_in={burn_in}, T={T}, "
                         f"every={every}")
    if groups < 2 or paths < 2 * groups:
        raise ModelError(f"need groups >= 2 and paths >= 2 groups; got paths={paths}, "
                         f"groups={groups}")
    times = np.arange(burn_in, T + every / 2, every)
    ens = simulate(model, x0, float(T), eps=eps, params=params, paths=paths, seed=seed,
                   saveat=times, progress=False, **simulate_kwargs)
    X = np.asarray(ens[variable], dtype=float)          # (times, paths)
    X = X.reshape(-1, X.shape[-1])
    widths = np.diff(edges)
    dens = []
    for g in np.array_split(np.arange(X.shape[1]), groups):
        s = X[:, g].ravel()
        dens.append(np.histogram(s, bins=edges)[0] / (s.size * widths))
    D = np.array(dens)
    counts = np.histogram(X.ravel(), bins=edges)[0]
    density = counts / (X.size * widths)
    stderr = D.std(axis=0, ddof=1) / math.sqrt(groups)
    return DensityEstimate(edges, density, stderr, float(eps), int(X.size), int(groups))
