r"""Exact simulation of a reaction network whose rates are driven by an OU environment.

The environment is one Ornstein-Uhlenbeck variable
:math:`d\eta = -\theta\eta\,dt + \sigma\,dW` (e.g. :math:`\theta = \alpha/\epsilon^2`,
:math:`\sigma = \sqrt{2\alpha}/\epsilon`: a fast extrinsic noise), and every propensity
is affine in it, :math:`a_r(n,\eta) = c_r(n) + d_r(n)\,\eta` (a rate constant
:math:`\gamma + s\eta/\epsilon`). Between reactions the total propensity
:math:`A(t) = C(n) + D(n)\eta(t)` varies in time, and the next reaction fires when the
integrated propensity reaches an :math:`\mathrm{Exp}(1)` threshold :math:`E` (the
random time change of the counting process; Anderson, J. Chem. Phys. 127:214107, 2007):

.. math:: \Lambda(h) = C h + D\,I(h) = E,\qquad I(h) = \int_0^h \eta(t+u)\,du .

Given :math:`\eta(t)`, the pair :math:`(\eta(t+h), I(h))` is Gaussian with

.. math::

    \mathbb E = \eta(t)\,(e^{-\theta h},\ (1-e^{-\theta h})/\theta),\quad
    \operatorname{Var}\eta = \tfrac{\sigma^2}{2\theta}(1-e^{-2\theta h}),\quad
    \operatorname{Cov} = \tfrac{\sigma^2}{2\theta^2}(1-e^{-\theta h})^2,\quad
    \operatorname{Var} I = \tfrac{\sigma^2}{\theta^3}
        \big(\theta h - 2(1-e^{-\theta h}) + \tfrac12(1-e^{-2\theta h})\big),

so the environment is advanced exactly (no time step). A step of length
:math:`h \approx E/A` is drawn; if :math:`\Lambda(h) < E` no reaction fired in it;
otherwise the crossing is located by bisection, each midpoint drawn from its exact
Gaussian law given both ends (the bridge of :math:`(\eta, I)`), until the typical
deviation of :math:`\Lambda` from a straight line on the last interval,
:math:`|D|\sigma L^{3/2}`, is below ``tol`` (in units of the threshold :math:`E`), and the
crossing time inside that interval is interpolated linearly. The reaction is then
chosen with probabilities :math:`a_r(n,\eta)/A`. When no propensity depends on
:math:`\eta` in the current state the crossing time :math:`E/C` is exact.

A propensity must stay nonnegative: a negative value met at a drawn point (the OU
variable is Gaussian, so an affine rate is negative with some small probability) stops
the run with an error naming the reaction, since the jump process is then undefined.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import sympy as sp

from ..errors import ModelError, SimulationError
from ..models.network import ReactionNetwork
from ..models.sde import SDE
from .codegen import load_source, straight_line
from .simulate import Ensemble

__all__ = ["ssa_ou"]


def _ou_parameters(env: SDE, eps: sp.Symbol) -> tuple[sp.Symbol, sp.Expr, sp.Expr]:
    if not isinstance(env, SDE) or len(env.state) != 1:
        raise ModelError("the environment must be a sa.SDE in one variable (an OU process)")
    eta, = env.state
    b = sp.expand(env.drift[0])
    theta = sp.cancel(-b / eta)
    if theta.has(eta) or sp.expand(b + theta * eta) != 0:
        raise ModelError(f"the environment's drift {b} is not -theta*{eta}: only an OU "
                         "process with mean 0 is simulated exactly here")
    if env.noise.shape[1] != 1:
        raise ModelError("the environment must have one Brownian motion")
    sigma = sp.sympify(env.noise[0, 0])
    if sigma.has(eta):
        raise ModelError(f"the environment's noise {sigma} depends on {eta}: not an OU process")
    return eta, theta, sigma


def _source(net: ReactionNetwork, eta: sp.Symbol, params: Sequence[sp.Symbol]) -> str:
    sub = {s: sp.Symbol(f"n{i}") for i, s in enumerate(net.species)}
    sub.update({p: sp.Symbol(f"p{i}") for i, p in enumerate(params)})
    cs, ds = [], []
    for r, a in zip(net.reactions, net.propensities):
        d = sp.diff(a, eta)
        c = a.subs(eta, 0)
        if d.has(eta) or sp.expand(a - c - d * eta) != 0:
            raise ModelError(f"reaction {r.text!r}: the propensity {a} is not affine in "
                             f"{eta}: only rates c + d*{eta} are simulated exactly")
        cs.append(c.xreplace(sub))
        ds.append(d.xreplace(sub))
    head = ["import math", "import numpy", "import numba", "",
            "@numba.njit(cache=True, nogil=True)", "def props(n, p, c, d):"]
    head += [f"    n{i} = float(n[{i}])" for i in range(net.n_species)]
    head += [f"    p{i} = p[{i}]" for i in range(len(params))]
    head += straight_line(cs + ds, [f"c[{r}]" for r in range(net.n_reactions)]
                          + [f"d[{r}]" for r in range(net.n_reactions)])
    head.append("    return 0")
    return "\n".join(head) + "\n" + _KERNEL


_KERNEL = r'''

@numba.njit(cache=True, nogil=True)
def moments(l, th, sg):
    x = th * l
    e = math.exp(-x)
    a1 = -math.expm1(-x) / th
    s00 = -sg * sg / (2.0 * th) * math.expm1(-2.0 * x)
    s01 = sg * sg / (2.0 * th * th) * math.expm1(-x) ** 2
    if x < 1e-2:
        f = x ** 3 * (1.0 / 3.0 - x / 4.0 + 7.0 * x ** 2 / 60.0 - x ** 3 / 24.0
                      + 31.0 * x ** 4 / 2520.0)
    else:
        f = x + 2.0 * math.expm1(-x) - 0.5 * math.expm1(-2.0 * x)
    s11 = sg * sg / th ** 3 * f
    return e, a1, s00, s01, s11


@numba.njit(cache=True, nogil=True)
def draw2(m0, m1, v00, v01, v11, rng):
    l11 = math.sqrt(max(v00, 0.0))
    if l11 > 0.0:
        l21 = v01 / l11
    else:
        l21 = 0.0
    l22 = math.sqrt(max(v11 - l21 * l21, 0.0))
    z0 = rng.standard_normal()
    z1 = rng.standard_normal()
    return m0 + l11 * z0, m1 + l21 * z0 + l22 * z1


@numba.njit(cache=True, nogil=True)
def forward(eta, l, th, sg, rng):
    e, a1, s00, s01, s11 = moments(l, th, sg)
    return draw2(e * eta, a1 * eta, s00, s01, s11, rng)


@numba.njit(cache=True, nogil=True)
def midpoint(ea, eb, iab, L, th, sg, rng):
    # (eta_m, I_am) given eta_a and (eta_b, I_ab) over [0, L], midpoint at L/2
    e, a1, s00, s01, s11 = moments(0.5 * L, th, sg)
    mx0 = e * ea
    mx1 = a1 * ea
    my0 = e * mx0
    my1 = mx1 + a1 * mx0
    cxy00 = e * s00
    cxy01 = s01 + a1 * s00
    cxy10 = e * s01
    cxy11 = s11 + a1 * s01
    cyy00 = e * e * s00 + s00
    cyy01 = e * s01 + e * a1 * s00 + s01
    cyy11 = 2.0 * s11 + a1 * a1 * s00 + 2.0 * a1 * s01
    det = cyy00 * cyy11 - cyy01 * cyy01
    if not det > 0.0:
        return mx0 + 0.5 * (eb - mx0), 0.5 * iab
    i00 = cyy11 / det
    i01 = -cyy01 / det
    i11 = cyy00 / det
    k00 = cxy00 * i00 + cxy01 * i01
    k01 = cxy00 * i01 + cxy01 * i11
    k10 = cxy10 * i00 + cxy11 * i01
    k11 = cxy10 * i01 + cxy11 * i11
    r0 = eb - my0
    r1 = iab - my1
    m0 = mx0 + k00 * r0 + k01 * r1
    m1 = mx1 + k10 * r0 + k11 * r1
    v00 = s00 - (k00 * cxy00 + k01 * cxy01)
    v01 = s01 - (k00 * cxy10 + k01 * cxy11)
    v11 = s11 - (k10 * cxy10 + k11 * cxy11)
    return draw2(m0, m1, v00, v01, v11, rng)


@numba.njit(cache=True, nogil=True)
def run(x0, eta0, p, tsave, nu, th, sg, tol, rng, out, max_events):
    paths, S = x0.shape
    R = nu.shape[0]
    nsave = tsave.shape[0]
    c = numpy.zeros(R)
    d = numpy.zeros(R)
    n = numpy.zeros(S, dtype=numpy.int64)
    events = 0
    steps = 0
    for k in range(paths):
        for i in range(S):
            n[i] = x0[k, i]
        eta = eta0[k]
        t = 0.0
        idx = 0
        while idx < nsave and tsave[idx] <= 0.0:
            for i in range(S):
                out[idx, i, k] = n[i]
            out[idx, S, k] = eta
            idx += 1
        while idx < nsave:
            props(n, p, c, d)
            C = 0.0
            D = 0.0
            for r in range(R):
                C += c[r]
                D += d[r]
            E = rng.exponential(1.0)
            fired = False
            while not fired and idx < nsave:
                A = C + D * eta
                for r in range(R):
                    if c[r] + d[r] * eta < 0.0:
                        return -1 - r, steps
                h = 1.0 / th
                if A > 0.0:
                    h = min(h, 1.5 * E / A)
                h = min(h, tsave[idx] - t)
                if D == 0.0 and C > 0.0 and E / C <= h:
                    # no rate depends on the environment now: the crossing is exact
                    e1, i1 = forward(eta, E / C, th, sg, rng)
                    steps += 1
                    t += E / C
                    eta = e1
                    u = rng.random() * C
                    r = 0
                    acc = c[0]
                    while acc < u and r < R - 1:
                        r += 1
                        acc += c[r]
                    for i in range(S):
                        n[i] += nu[r, i]
                    events += 1
                    fired = True
                    continue
                e1, i1 = forward(eta, h, th, sg, rng)
                steps += 1
                lam = C * h + D * i1
                if lam < E:
                    E -= lam
                    t += h
                    eta = e1
                    if t >= tsave[idx]:
                        t = tsave[idx]
                        for i in range(S):
                            out[idx, i, k] = n[i]
                        out[idx, S, k] = eta
                        idx += 1
                    continue
                # the threshold is crossed in [t, t + h]: bisect on the exact bridge
                ea = eta
                eb = e1
                iab = i1
                L = h
                t0 = t
                while abs(D) * sg * L * math.sqrt(L) > tol and th * L > 1e-12:
                    em, im = midpoint(ea, eb, iab, L, th, sg, rng)
                    steps += 1
                    lm = C * 0.5 * L + D * im
                    if lm >= E:
                        eb = em
                        iab = im
                    else:
                        E -= lm
                        ea = em
                        iab = iab - im
                        t0 += 0.5 * L
                    L = 0.5 * L
                tot = C * L + D * iab
                f = E / tot if tot > 0.0 else 0.5
                f = min(max(f, 0.0), 1.0)
                t = t0 + f * L
                eta = ea + f * (eb - ea)
                A = C + D * eta
                u = rng.random() * A
                r = 0
                acc = c[0] + d[0] * eta
                while acc < u and r < R - 1:
                    r += 1
                    acc += c[r] + d[r] * eta
                if c[r] + d[r] * eta < 0.0:
                    return -1 - r, steps
                for i in range(S):
                    n[i] += nu[r, i]
                events += 1
                fired = True
                if events > max_events:
                    return -1 - R, steps
    return events, steps
'''


@dataclass
class _Task:
    """One chunk of paths: everything a worker needs, picklable (for a dask client)."""

    source: str
    x0: np.ndarray
    eta0: np.ndarray
    p: np.ndarray
    times: np.ndarray
    nu: np.ndarray
    theta: float
    sigma: float
    tol: float
    seed: np.random.SeedSequence
    max_events: int


def _run_task(task: _Task) -> tuple[np.ndarray, int, int]:
    mod = load_source(task.source, "ssaou")
    out = np.empty((len(task.times), task.x0.shape[1] + 1, task.x0.shape[0]))
    rng = np.random.default_rng(task.seed)
    ev, st = mod.run(task.x0, task.eta0, task.p, task.times, task.nu, task.theta,
                     task.sigma, task.tol, rng, out, task.max_events)
    return out, int(ev), int(st)


def ssa_ou(net: ReactionNetwork, environment: SDE, x0: Mapping, T: float, *,
           eps: float | None = None, params: Mapping | None = None, paths: int = 1000,
           seed: int | None = None, saveat: Sequence[float] | None = None,
           tol: float = 1e-3, max_events: int = 10**10, chunk_size: int = 1024,
           executor: Any = None) -> Ensemble:
    r"""Exact trajectories of a network whose propensities are affine in an OU environment.

    Parameters
    ----------
    net : ReactionNetwork
        Propensities :math:`c_r(n) + d_r(n)\eta` (rates containing the environment).
    environment : SDE
        One OU variable :math:`d\eta = -\theta\eta\,dt + \sigma\,dW` (:math:`\theta,\sigma`
        may contain eps and parameters).
    x0 : dict
        Initial counts of every species; the environment's value too (default: drawn
        from its stationary law :math:`N(0, \sigma^2/2\theta)`).
    T, eps, params, paths, seed, saveat, chunk_size, executor
        As in :func:`symavg.numeric.ssa.ssa`.
    tol : float
        Bisection stops when the integrated propensity deviates from a straight line on
        the last interval by less than ``tol`` (typical size :math:`|D|\sigma L^{3/2}`, in
        units of the Exp(1) threshold).

    Returns
    -------
    Ensemble
        Over the species and the environment variable; ``info`` has the reactions fired
        and the number of exact OU draws.

    Examples
    --------
    >>> import sympy as sp, symavg as sa
    >>> from symavg.numeric.ssa_env import ssa_ou
    >>> eta = sp.Symbol("eta", real=True)
    >>> lam, mu, c, d = sp.symbols("lambda mu c d", positive=True)
    >>> net = sa.ReactionNetwork(["0 -> X", "X -> 0"], [lam + c * eta, mu + d * eta])
    >>> env = sa.SDE([eta], [-4 * eta], noise=[sp.sqrt(8)])
    >>> X, = net.species
    >>> p = {lam: 50.0, c: 1.0, mu: 1.0, d: 0.1}
    >>> ens = ssa_ou(net, env, {X: 50}, 1.0, params=p, paths=500, seed=1)
    >>> m, se = ens.mean(X)
    >>> bool(abs(m[-1] - 50) < 5 * se[-1] + 1)
    True
    """
    from concurrent.futures import ThreadPoolExecutor

    from .ssa import _initial, _Serial, _values

    if not isinstance(net, ReactionNetwork):
        raise ModelError(f"ssa_ou simulates a sa.ReactionNetwork; got {type(net).__name__}")
    eta, theta, sigma = _ou_parameters(environment, net.eps)
    if environment.eps != net.eps:
        raise ModelError("the environment and the network must use the same eps")
    if eta in net.species:
        raise ModelError(f"the environment variable {eta} is also a species")
    if not (T > 0 and math.isfinite(T)):
        raise ModelError(f"T must be a positive number; got {T}")
    given = dict(x0)
    e0 = None
    for key in list(given):
        if key == eta or key == eta.name:
            e0 = given.pop(key)
    z0 = _initial(net, given, paths)
    pars = tuple(sorted(set().union(*(a.free_symbols for a in net.propensities))
                        - set(net.species) - {eta}, key=lambda s: s.name))
    env_pars = tuple(sorted((sp.sympify(theta).free_symbols | sp.sympify(sigma).free_symbols),
                            key=lambda s: s.name))
    vals = _values(net, tuple(sorted(set(pars) | set(env_pars), key=lambda s: s.name)),
                   params, eps)
    th = float(sp.sympify(theta).subs(vals))
    sg = float(sp.sympify(sigma).subs(vals))
    if not (th > 0 and sg >= 0):
        raise ModelError(f"the environment needs theta > 0 and sigma >= 0; got {th}, {sg}")
    source = _source(net, eta, pars)
    p = np.array([vals[s] for s in pars], dtype=float)
    times = np.array([0.0, T] if saveat is None else sorted(float(s) for s in saveat))
    if times.min() < 0 or times.max() > T * (1 + 1e-12):
        raise ModelError(f"saveat times must lie in [0, T] = [0, {T}]")
    nu = np.array(net.stoichiometry.T.tolist(), dtype=np.int64)
    ss = np.random.SeedSequence(seed)
    root, *chunk_seeds = ss.spawn(1 + max(1, math.ceil(paths / chunk_size)))
    if e0 is None:
        eta0 = np.random.default_rng(root).standard_normal(paths) * sg / math.sqrt(2 * th)
    else:
        eta0 = np.broadcast_to(np.asarray(e0, dtype=float), (paths,)).copy()

    nchunks = len(chunk_seeds)
    chunk_size = max(1, math.ceil(paths / nchunks))
    tasks = []
    for c in range(nchunks):
        sl = slice(c * chunk_size, min(paths, (c + 1) * chunk_size))
        tasks.append(_Task(source, z0[sl], eta0[sl], p, times, nu, th, sg, float(tol),
                           chunk_seeds[c], int(max_events)))
    own = None
    if executor is None:
        executor = ThreadPoolExecutor(max_workers=2) if nchunks > 1 else _Serial()
        own = executor if nchunks > 1 else None
    import time

    # compile (or load from the disk cache) before the clock runs
    _run_task(_Task(source, z0[:1], eta0[:1], p, np.zeros(1), nu, th, sg, float(tol),
                    np.random.SeedSequence(0), 1))
    t0 = time.perf_counter()
    try:
        futs = [executor.submit(_run_task, t) for t in tasks]
        parts = [f.result() for f in futs]
    finally:
        if own is not None:
            own.shutdown()
    wall = time.perf_counter() - t0
    events = draws = 0
    for _, ev, st in parts:
        if ev < 0:
            r = -ev - 1
            if r < net.n_reactions:
                raise SimulationError(
                    f"the propensity of {net.reactions[r].text!r} became negative (the OU "
                    f"variable {eta} is Gaussian and the rate is affine in it): the jump "
                    "process is undefined; make the fluctuation smaller against the mean rate")
            raise SimulationError(f"more than {max_events} reactions: raise max_events")
        events += ev
        draws += st
    out = np.concatenate([o for o, _, _ in parts], axis=2)
    info = {"backend": "numba", "method": "exact (OU time change)", "events": events,
            "OU draws": draws, "wall time": wall,
            "reactions per second": events / wall if wall > 0 else math.inf,
            "model": repr(net)}
    state = tuple(net.species) + (eta,)
    return Ensemble(times, state, out, math.nan, {s: "exact" for s in state}, vals, info)
