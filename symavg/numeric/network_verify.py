r"""Monte Carlo verification of a reduced reaction network against the full one.

The full network is simulated exactly (:func:`symavg.numeric.ssa.ssa`) at each
value of :math:`\epsilon`; its slow variables :math:`y = Wn` (the conserved
quantities of the fast subnetwork, ``reduced.records["slow_map"]``) are
compared with the reduced network's, simulated exactly too. The rows, the
Wasserstein distances with their noise floors and the fitted order are those
of :func:`symavg.verify` (:class:`~symavg.numeric.verify.VerifyReport`), at
every saved time the caller asks for and at ``T``.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
import sympy as sp

from .. import _progress
from ..errors import ModelError
from ..models.network import ReactionNetwork
from .ssa import ssa
from .verify import DistanceRow, ErrorRow, VerifyReport, fit_order


def _slow_values(full: ReactionNetwork, slow_map: Mapping, ens: Any) -> dict[sp.Symbol, Any]:
    out = {}
    for y, comb in slow_map.items():
        f = sp.lambdify(full.species, comb, "numpy")
        out[y] = np.broadcast_to(np.asarray(f(*[ens[s] for s in full.species]), dtype=float),
                                 ens.values[:, 0, :].shape)
    return out


@_progress.one_bar("verify", unit="run",
                   total=lambda args: len(args.arguments["eps_values"]) + 1)
def verify_network(full: ReactionNetwork, reduced: ReactionNetwork, x0: Mapping, T: float, *,
                   eps_values: Sequence[float], observables: Sequence[sp.Expr] | None = None,
                   params: Mapping | None = None, paths: int = 20_000, seed: int | None = 0,
                   executor: Any = None, chunk_size: int = 4096, method: str = "direct",
                   progress: bool | None = None, **_: Any) -> VerifyReport:
    r"""Simulate ``full`` at each eps and ``reduced`` once, exactly; compare at time ``T``.

    Parameters
    ----------
    full : ReactionNetwork
        With fast reactions marked by a negative power of ``full.eps``.
    reduced : ReactionNetwork
        ``full.reduce(...)`` or any network in (a subset of) the slow variables
        whose ``records["slow_map"]`` gives them in the full species (a
        hand-made naive reduction can borrow the map of the real one).
    x0 : dict {species of full: count}
        The initial state of the full network; the reduced one starts from
        :math:`y_0 = W n_0`.
    observables : sequence of Expr in the slow variables, optional
        Default: the slow variables.

    Returns
    -------
    VerifyReport
        Weak errors with error bars, Wasserstein-1 distances and fitted order.

    Examples
    --------
    >>> import sympy as sp, symavg as sa
    >>> k1, k2, k3 = sp.symbols("k1 k2 k3", positive=True)
    >>> eps = sa.epsilon
    >>> net = sa.ReactionNetwork(["S1 -> S2", "S2 -> S1", "S2 -> 0"], [k1 / eps, k2 / eps, k3])
    >>> red = net.reduce()
    >>> S1, S2 = net.species
    >>> rep = sa.verify(net, red, {S1: 20, S2: 0}, T=1.0, eps_values=[0.1, 0.01],
    ...                 params={k1: 1.0, k2: 1.0, k3: 1.0}, paths=2000, seed=1)
    >>> len(rep.rows)
    2
    """
    from scipy.stats import wasserstein_distance

    if not isinstance(full, ReactionNetwork) or not isinstance(reduced, ReactionNetwork):
        raise ModelError("verify_network compares two sa.ReactionNetwork objects")
    slow_map = dict(reduced.records.get("slow_map") or {})
    if not slow_map:
        raise ModelError("the reduced network carries no slow map: pass full.reduce(...) or "
                         "build it with records={'slow_map': {slow symbol: combination}}")
    missing = [y for y in reduced.species if y not in slow_map]
    if missing:
        raise ModelError(f"the reduced species {missing} are not slow variables of the full "
                         f"network {list(slow_map)}")
    eps_list = sorted((float(e) for e in eps_values), reverse=True)
    if not eps_list or any(e <= 0 for e in eps_list):
        raise ModelError(f"eps_values must be positive numbers; got {list(eps_values)}")
    slow = tuple(reduced.species)
    obs = [sp.sympify(o) for o in (observables if observables is not None else slow)]
    for o in obs:
        bad = o.free_symbols & set(full.species) - set(slow)
        if bad:
            raise ModelError(f"observable {o} uses {sorted(bad, key=str)}, not slow variables "
                             f"{list(slow)}")
    names = {s.name: s for s in full.species}
    x0f = {names.get(k, k) if isinstance(k, str) else k: v for k, v in dict(x0).items()}
    y0 = {}
    for y in slow:
        val = sp.sympify(slow_map[y]).subs({s: int(v) for s, v in x0f.items()})
        y0[y] = int(val)
    fixed = reduced.records.get("values", {})
    fs = reduced.records.get("fast")
    for y, v in fixed.items():
        val = sp.sympify(fs.slow_map[y]).subs({s: int(c) for s, c in x0f.items()})
        if val != v:
            raise ModelError(f"the reduced network was derived with {y} = {v}, but x0 gives "
                             f"{y} = {fs.slow_map[y]} = {val}")
    seeds = [int(c.generate_state(1)[0])
             for c in np.random.SeedSequence(seed).spawn(len(eps_list) + 1)]
    common = dict(params=params, paths=paths, executor=executor, chunk_size=chunk_size,
                  method=method)
    red = ssa(reduced, y0, T, seed=seeds[-1], **common)
    red_vals = {y: red[y] for y in slow}

    def ev(o: sp.Expr, vals: Mapping) -> np.ndarray:
        f = sp.lambdify(slow, o, "numpy")
        return np.broadcast_to(np.asarray(f(*[vals[y][-1] for y in slow]), dtype=float),
                               (paths,))

    half = paths // 2
    scale = math.sqrt((2 / paths) / (1 / half + 1 / (paths - half)))
    floors = {y: scale * wasserstein_distance(red_vals[y][-1][:half], red_vals[y][-1][half:])
              for y in slow}
    rows, dists, info = [], [], {"reactions per second": {}, "events": {}}
    for e, sd in zip(eps_list, seeds):
        ens = ssa(full, x0f, T, eps=e, seed=sd, **common)
        info["reactions per second"][e] = ens.info["reactions per second"]
        info["events"][e] = ens.info["events"]
        yv = _slow_values(full, {y: slow_map[y] for y in slow}, ens)
        for o in obs:
            f, r = ev(o, yv), ev(o, red_vals)
            fm, fs = float(f.mean()), float(f.std(ddof=1) / math.sqrt(f.size))
            rm, rs = float(r.mean()), float(r.std(ddof=1) / math.sqrt(r.size))
            rows.append(ErrorRow(e, o, fm, fs, rm, rs, fm - rm, math.hypot(fs, rs)))
        for y in slow:
            dists.append(DistanceRow(e, y, float(wasserstein_distance(yv[y][-1],
                                                                      red_vals[y][-1])),
                                     float(floors[y])))
    fits, notes = {}, []
    for o in obs:
        rs_ = [r for r in rows if r.observable == o]
        fits[o] = fit_order([r.eps for r in rs_], [r.error for r in rs_],
                            [r.error_se for r in rs_], o)
        small = [r for r in rs_ if not r.resolved]
        if small:
            notes.append(f"{o}: at eps = {', '.join(f'{r.eps:g}' for r in small)} the error is "
                         "within 2 standard errors of zero")
    info["reduced reactions per second"] = red.info["reactions per second"]
    return VerifyReport(rows, dists, fits, eps_list, obs, float(T), int(paths), notes, info)

