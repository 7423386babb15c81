r"""Rare events of a fast chain's additive functional, by importance sampling.

For a switching model whose slow drift depends on the chain state only,
:math:`\dot X = f(S)`, :math:`S` with rates :math:`Q/\epsilon`, the
displacement :math:`A_T = X_T - X_0 = \int_0^T f(S_t)\,dt` satisfies
:math:`-\epsilon\log P(A_T \ge vT) \to T\,L(v)`, ``L`` the rate function of
:func:`symavg.ldp.rate_function`. The probability is estimated under the
Doob-transformed chain of the optimal tilt :math:`p^* = L'(v)`: with
:math:`M = Q + p\,\mathrm{diag}(f)`, :math:`Mu = Hu`, :math:`u > 0`, the
tilted rates are :math:`\tilde Q_{ij} = Q_{ij}u_j/u_i` and

.. math::

    \frac{dP}{d\tilde P} = \exp\Big(-\frac{p A_T - H T}{\epsilon}\Big)
        \frac{u(S_0)}{u(S_T)} ,

so every sample is weighted by this likelihood ratio (an unbiased estimate,
whose relative error stays bounded as :math:`\epsilon\to0` up to a factor
:math:`\epsilon^{-1/2}`). ``tilt=0`` is plain Monte Carlo.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

import numpy as np
import sympy as sp

from .. import _progress
from ..derive.ldp import LDPError, hamiltonian, legendre_numeric
from ..models import SwitchingSDE

__all__ = ["TailEstimate", "additive_tail_probability"]


@dataclass(frozen=True)
class TailEstimate:
    """``P(A_T >= v T)`` with its standard error, and ``-eps log P``."""

    probability: float
    stderr: float
    eps: float
    tilt: float
    paths: int

    @property
    def log_rate(self) -> float:
        r""":math:`-\epsilon\log\hat P`."""
        return -self.eps * float(np.log(self.probability))

    @property
    def log_rate_stderr(self) -> float:
        """Its standard error (delta method): ``eps * se / P``."""
        return self.eps * self.stderr / self.probability

    def _repr_html_(self) -> str:
        from ..report.results import estimate_html

        return estimate_html("Tail probability (importance sampling)", [
            ("P", self.probability), ("standard error", self.stderr), ("eps", self.eps),
            ("-eps log P", f"{self.log_rate:.6g} +- {self.log_rate_stderr:.2g}"),
            ("tilt", self.tilt), ("paths", self.paths)])


@_progress.one_bar("additive_tail_probability", total=lambda args: 1, unit="run")
def additive_tail_probability(model: SwitchingSDE, velocity: float, T: float, eps: float, *,
                              params: Mapping | None = None, tilt: float | None = None,
                              paths: int = 20_000, seed: int | None = None,
                              progress: bool | None = None) -> TailEstimate:
    r"""Estimate :math:`P(X_T - X_0 \ge vT)` for :math:`\dot X = f(S)`, by importance sampling.

    Parameters
    ----------
    model : SwitchingSDE
        One slow variable, no noise, drifts independent of it; rates :math:`Q/\epsilon`.
    velocity : float
        ``v``; a rare event when ``v`` exceeds the averaged drift.
    T, eps : float
    params : dict
        Values of the model's parameters.
    tilt : float, optional
        The exponential tilt ``p``; default the optimal :math:`p^* = L'(v)`; 0
        is plain Monte Carlo.
    paths : int
    seed : int
    progress : bool, optional
        One progress bar, advanced by the share of paths that reached ``T``; ``None``
        (default): in a terminal or a notebook, not under CI (:mod:`symavg._progress`).

    Returns
    -------
    TailEstimate

    Examples
    --------
    >>> import sympy as sp, symavg as sa
    >>> from symavg.numeric.rare_events import additive_tail_probability
    >>> x = sp.Symbol("x", real=True)
    >>> ch = sa.MarkovChain({("-", "+"): 1 / sa.epsilon, ("+", "-"): 1 / sa.epsilon})
    >>> tel = sa.SwitchingSDE([x], ch, drift={"-": -1, "+": 1})
    >>> est = additive_tail_probability(tel, 0.6, 1.0, 0.05, paths=4000, seed=1)
    >>> 0.2 < est.log_rate < 0.3          # -> T L(v) = 0.2 as eps -> 0
    True
    """
    if not isinstance(model, SwitchingSDE) or model.dim != 1 or not model.is_pdmp:
        raise LDPError("additive_tail_probability takes a SwitchingSDE with one slow variable "
                       "and no noise")
    x = model.state[0]
    prm = {k: v for k, v in dict(params or {}).items()}
    f = []
    for lab in model.chain.states:
        d = sp.sympify(model.drift_in(lab)[0]).subs(prm)
        if d.has(x):
            raise LDPError(f"the drift in state {lab!r} depends on {x}: the sampler is for "
                           "additive functionals (drifts that depend on the chain state only)")
        f.append(float(d))
    f = np.array(f)
    Q = np.array(sp.Matrix(model.chain.Q).subs(prm).subs(model.eps, 1).tolist(), dtype=float)
    if not np.isfinite(Q).all():
        raise LDPError("give values for every rate parameter in params=")
    N = len(f)
    # stationary law of Q
    w, vl = np.linalg.eig(Q.T)
    pi = np.real(vl[:, np.argmin(np.abs(w))])
    pi = pi / pi.sum()
    if tilt is None:
        H = hamiltonian(model, params=prm)
        _, pstar = legendre_numeric(H.numeric(prm), np.zeros(1), np.array([velocity]))
        tilt = float(pstar[0])
    M = Q + tilt * np.diag(f)
    ev, vr = np.linalg.eig(M)
    k = int(np.argmax(ev.real))
    h = float(ev[k].real)
    u = np.abs(np.real(vr[:, k]))
    Qt = Q * u[None, :] / u[:, None]
    np.fill_diagonal(Qt, 0.0)
    out = Qt.sum(axis=1)
    jump_p = np.cumsum(Qt / np.where(out > 0, out, 1)[:, None], axis=1)
    rng = np.random.default_rng(seed)
    s0 = rng.choice(N, size=paths, p=pi)
    s = s0.copy()
    t = np.zeros(paths)
    A = np.zeros(paths)
    alive = np.ones(paths, bool)
    shown = 0.0
    while alive.any():
        finished = 1.0 - float(alive.mean())
        _progress.advance(finished - shown)
        shown = finished
        idx = np.nonzero(alive)[0]
        rate = out[s[idx]] / eps
        hold = rng.exponential(1.0, idx.size) / np.where(rate > 0, rate, 1e-300)
        dt = np.minimum(hold, T - t[idx])
        A[idx] += f[s[idx]] * dt
        t[idx] += dt
        done = t[idx] >= T
        alive[idx[done]] = False
        go = idx[~done]
        r = rng.random(go.size)
        s[go] = (r[:, None] > jump_p[s[go]]).sum(axis=1)
    _progress.advance(1.0 - shown)
    logw = -(tilt * A - h * T) / eps + np.log(u[s0]) - np.log(u[s])
    hit = A >= velocity * T
    vals = np.where(hit, np.exp(logw), 0.0)
    P = float(vals.mean())
    se = float(vals.std(ddof=1) / np.sqrt(paths))
    if P <= 0:
        raise LDPError(f"no sample reached the event at eps = {eps}: increase paths or use the "
                       "optimal tilt (tilt=None)")
    return TailEstimate(P, se, float(eps), float(tilt), int(paths))
