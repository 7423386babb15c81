r"""Homogenization of a slow variable driven by a fast deterministic chaotic map.

The full model is the discrete-time skew product (Gottwald & Melbourne 2013,
"Homogenization for deterministic maps and multiplicative noise", *Proc. R. Soc. A*
469:20130201)

.. math::

    x_{n+1} = x_n + \epsilon^2 g(x_n, y_n) + \epsilon\,a(x_n)\,h(y_n), \qquad
    y_{n+1} = T(y_n),

with :math:`T` mixing and :math:`\langle h\rangle = 0` under its invariant law.
On the time scale :math:`s = \epsilon^2 n` the slow variable converges weakly to

.. math::

    dX = \big(\langle g\rangle(X) + a\,a'(X)\,\Lambda\big)\,ds + a(X)\,\sigma\,dW,
    \qquad \sigma^2 = C(0) + 2\Lambda, \quad \Lambda = \sum_{n\ge 1} C(n),

:math:`C(n) = \langle h(y_0) h(y_n)\rangle`. The Itô drift correction holds the
*one-sided* sum from lag 1: in :math:`x_{n+1} - x_n = \epsilon a(x_n) h(y_n)` the
coefficient is evaluated before the step, so the lag-0 term contributes nothing, and
:math:`a(x_n) = a(x_{n-k}) + a'\,(x_n - x_{n-k}) + \dots` correlates
:math:`h(y_n)` with the :math:`h(y_{n-k})`, :math:`k \ge 1`: the drift per step is
:math:`\epsilon^2 a a' \sum_{k\ge1} C(k)`. For a flow the same argument gives
:math:`\int_0^\infty C = \sigma^2/2` (the Stratonovich correction); for a map
:math:`\Lambda \ne \sigma^2/2` in general (for the doubling map and
:math:`h = y - 1/2`, :math:`C(0) = 1/12`, :math:`\Lambda = 1/12`, :math:`\sigma^2 = 1/4`),
which is Gottwald & Melbourne's point that the limit is neither Itô nor
Stratonovich. :math:`\sigma^2` and :math:`\Lambda` are computed numerically
(:func:`symavg.numeric.green_kubo.green_kubo_series`, both estimators, digit
shifts iterated exactly).

Supported: one fast observable :math:`h` (any number of slow variables, coefficients
:math:`a_i(x)`); the fast map must not depend on the slow variables.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import sympy as sp

from ..errors import ModelError, ScaleSeparationError, UnsolvedError
from ..models.deterministic import DeterministicMap
from ..models.effective import TIME, EffectiveModel
from ..report.averages import time_average_record
from ..report.calls import given, keyword_arguments, recorded
from ..report.derivation import Average, Check, Derivation, Step
from .chaotic import _separate


def _split_increment(e: sp.Expr, eps: sp.Symbol, x: sp.Symbol) -> tuple[sp.Expr, sp.Expr]:
    """``e = eps f + eps^2 g`` (the increment of ``x``): returns ``(g, f)``."""
    g = f = sp.S.Zero
    for term in sp.Add.make_args(sp.expand(e)):
        c, p = term.as_coeff_exponent(eps)
        if c.has(eps) or p not in (1, 2):
            raise ScaleSeparationError(
                f"the step of the slow variable {x} has the term {term}: write the map as "
                f"{x} + eps**2 * g(x, y) + eps * a(x) * h(y)")
        if p == 1:
            f += c
        else:
            g += c
    return g, f


@recorded(lambda b: ("from symavg.derive.chaotic_map import reduce_chaotic_map",
                     "reduce_chaotic_map(" + keyword_arguments(b)[2:] + ")", given(b)), "diffusion")
def reduce_chaotic_map(model: DeterministicMap,
                       fast: Sequence[sp.Symbol] | sp.Symbol | None = None, *,
                       params: Mapping | None = None, n_samples: int = 400_000,
                       paths: int = 8, seed: int | None = 0, digits: int = 6,
                       executor: Any = None) -> EffectiveModel:
    r"""The homogenized SDE, on the time scale :math:`s = \epsilon^2 n`, of a slow-fast map.

    Parameters
    ----------
    model : DeterministicMap
        Slow components ``x + eps**2 * g(x, y) + eps * a(x) * h(y)``, fast ones
        ``T(y)`` free of ``eps`` and of the slow variables (e.g. ``Mod(2*y, 1)``).
    fast : Symbol or list of Symbol, optional
        The fast variables (default: the components free of ``eps``).
    params : dict {Symbol: float}
        Values of the parameters of the fast map and of ``h``.
    n_samples, paths, seed, executor
        The Green-Kubo run of the fast map.
    digits : int
        Significant digits of the numbers put into the effective model.

    Returns
    -------
    EffectiveModel
        ``regime="homogenization"``, ``timescale = eps**2 * t`` (``t`` counts steps);
        ``records["green_kubo"]`` holds the estimate of :math:`\sigma^2`,
        ``records["Lambda"]`` the one-sided sum :math:`\Lambda` with its error.

    Examples
    --------
    >>> import sympy as sp, symavg as sa
    >>> from symavg.derive.chaotic_map import reduce_chaotic_map
    >>> x, y = sp.symbols("x y", real=True)
    >>> eps = sa.epsilon
    >>> m = sa.DeterministicMap([x, y], [x - eps**2 * x + eps * (y - sp.Rational(1, 2)),
    ...                                  sp.Mod(2 * y, 1)])
    >>> red = reduce_chaotic_map(m, [y], n_samples=50_000)   # sa.reduce(m, [y]): 400 000
    >>> red.timescale, bool(abs(float(red.diffusion[0, 0]) - 0.25) < 0.02)
    (epsilon**2*t, True)
    """
    from ..numeric.chaos import check_agreement, trajectories
    from ..numeric.green_kubo import green_kubo_series

    eps = model.eps
    if fast is None:
        fast = tuple(v for v, e in zip(model.state, model.rhs) if not e.has(eps))
    fast = (fast,) if isinstance(fast, sp.Symbol) else tuple(fast)
    for v in fast:
        if v not in model.state:
            raise ModelError(f"fast variable {v} is not a variable of {list(model.state)}")
    slow = tuple(v for v in model.state if v not in fast)
    if not fast or not slow:
        raise ModelError(f"a slow-fast map needs slow and fast variables; got fast={list(fast)} "
                         f"of {list(model.state)}")
    Ty = []
    for v in fast:
        e = model.rhs[model.index(v)]
        if e.has(eps) or e.free_symbols & set(slow):
            raise ScaleSeparationError(
                f"the fast component {v} -> {e} depends on eps or on the slow variables: only "
                "skew products y -> T(y) are supported")
        Ty.append(e)
    gs, fs = zip(*[_split_increment(model.rhs[model.index(x)] - x, eps, x) for x in slow])
    f_parts = [_separate(f, fast, slow, f"step of {x}") for x, f in zip(slow, fs)]
    g_parts = [_separate(g, fast, slow, f"step of {x}") for x, g in zip(slow, gs)]
    hs = sorted({h for part in f_parts for h in part if h != 1}, key=sp.default_sort_key)
    if len(hs) != 1:
        raise UnsolvedError(f"the eps part of the slow steps holds the fast observables {hs}: "
                            "one fast observable h(y) (times a(x)) is supported")
    h = hs[0]
    a = [part.get(h, sp.S.Zero) for part in f_parts]
    # a y-free part c(x) = lam a(x) belongs to the observable: h + lam (e.g. y - 1/2)
    shifts = {sp.simplify(part[sp.S.One] / a[i]) if a[i] != 0 else sp.oo
              for i, part in enumerate(f_parts) if sp.S.One in part}
    if shifts:
        lam0 = shifts.pop()
        if shifts or lam0.free_symbols & set(slow) or lam0 is sp.oo:
            raise ScaleSeparationError(
                "the eps part of a slow step is not a(x) * h(y): its y-free part is not a "
                "constant multiple of a(x), so the slow variable drifts on the fast scale")
        h = h + lam0
    qs = sorted({q for part in g_parts for q in part if q != 1}, key=sp.default_sort_key)
    fast_map = DeterministicMap(list(fast), Ty, eps=eps)
    obs = [h, *qs]
    tr = trajectories(fast_map, obs, n_samples=n_samples + n_samples // 10, params=params,
                      burn_in=200, paths=paths, seed=seed, executor=executor)
    vals = tr.values[:, n_samples // 10:, :]
    est = green_kubo_series(vals[:, :, 0], 1.0, warn=False, what=str(h))
    if abs(est.mean) > 4 * est.mean_stderr + 1e-12:
        from ..errors import CenteringError

        raise CenteringError(
            f"the fast observable {h} has mean {est.mean:.4g} +- {est.mean_stderr:.1g} under the "
            "invariant law of the fast map, not 0: the slow variable moves on the fast scale; "
            "subtract the mean from h (and move eps * a(x) * <h> into an eps**2 drift only if "
            "it is that small)")
    c0 = float(est.acf[0])
    lam = (est.value - c0) / 2
    lam_se = est.stderr / 2
    means = {}
    if qs:
        av = check_agreement(vals[:, :, 1:], qs, system=fast_map)
        means = {q: (float(av.mean[i]), float(av.stderr[i])) for i, q in enumerate(qs)}

    def num(v: float) -> sp.Float:
        return sp.Float(float(f"{v:.{digits}g}"), 15)

    S, L = num(est.value), num(lam)
    A = sp.Matrix(a)
    diff = (A * A.T * S).applyfunc(sp.expand)
    drift, corrections = [], []
    for i in range(len(slow)):
        avg_g = sum((c * (1 if q == 1 else num(means[q][0])) for q, c in g_parts[i].items()),
                    sp.S.Zero)
        corr = sp.expand(sum((a[j] * sp.diff(a[i], slow[j]) for j in range(len(slow))),
                             sp.S.Zero) * L)
        drift.append(sp.expand(avg_g + corr))
        corrections.append(corr)
    checks = [Check(f"Green-Kubo of {h}: autocorrelation vs batch means", est.agree, "numeric",
                    f"{est.value:.6g} +- {est.stderr:.2g} (window {est.cutoff:.3g}, "
                    f"{est.window}) vs {est.batch_value:.6g} +- {est.batch_stderr:.2g}; "
                    f"{est.discrepancy:.1f} standard errors apart"),
              Check(f"centering of {h}", True, "numeric",
                    f"mean {est.mean:.3g} +- {est.mean_stderr:.2g}")]
    lat = ", ".join(map(sp.latex, fast))
    deriv = Derivation("Homogenization of a slow variable driven by a fast chaotic map", (
        Step("model", f"Skew product: fast map in ${lat}$, slow "
                      f"${', '.join(map(sp.latex, slow))}$ with steps "
                      "$\\varepsilon^2 g + \\varepsilon a(x) h(y)$; the limit holds on "
                      "$s = \\varepsilon^2 n$.",
             (("T(y)", sp.Matrix(Ty)), ("g", sp.Matrix(gs)), ("a", A), ("h", h))),
        Step("Green-Kubo", f"$\\sigma^2 = C(0) + 2\\sum_{{n\\ge1}} C(n)$ and the one-sided "
             f"$\\Lambda = \\sum_{{n\\ge1}} C(n)$ (Ito drift $a a' \\Lambda$) from {paths} "
             f"orbits of {n_samples} steps ({tr.info['scheme']}), with "
             "$C(n) = \\langle h(y_0) h(y_n)\\rangle$; standard errors: "
             f"$\\sigma^2 = {est.value:.6g} \\pm {est.stderr:.2g}$, "
             f"$\\Lambda = {lam:.6g} \\pm {lam_se:.2g}$.", (), tuple(checks),
             "numeric", averages=(time_average_record(h, fast, num(est.mean), discrete=True),
                                 *_green_kubo_records(h, S, L, num(c0)))),
    ))
    if means:
        deriv = deriv.then(Step("averages", "Means of the $O(\\varepsilon^2)$ steps' fast factors "
                                "(orbit averages, agreement across initial conditions "
                                "checked).",
                                (), (), "numeric",
                                averages=tuple(time_average_record(q, fast, num(m), discrete=True)
                                               for q, (m, _) in means.items())))
    from .engine import effective_model

    rel = float(abs(est.stderr / est.value)) if est.value else float("inf")
    red = effective_model(deriv, drift, sp.Matrix(diff), "homogenization", fast, slow, eps, {},
                          records={"green_kubo": {h: est}, "Lambda": (lam, lam_se),
                                   "C0": c0, "means": means, "source": model,
                                   "fast_map": fast_map,
                                   "coefficient_uncertainty": {"relative": rel,
                                                               "drift_part": corrections}})
    import dataclasses

    assert red.timescale == TIME
    return dataclasses.replace(red, timescale=eps ** 2 * TIME)


def _green_kubo_records(h: sp.Expr, S: sp.Expr, L: sp.Expr, c0: sp.Expr
                        ) -> tuple[Average, ...]:
    r"""The records of :math:`\sigma^2 = C(0) + 2\sum_{n\ge1} C(n)` and
    :math:`\Lambda = \sum_{n\ge1} C(n)`, :math:`C(n) = \langle h(y_0) h(y_n)\rangle`."""
    n = sp.Symbol("n", integer=True, positive=True)
    C = sp.Function("C")
    tail = sp.Sum(C(n), (n, 1, sp.oo))
    return (Average(r"C(0) = \langle h^2\rangle", h, None, c0),
            Average(r"\sigma^2", h, C(0) + 2 * tail, S),
            Average(r"\Lambda", h, tail, L))
