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

Several fast observables, :math:`x_{n+1} = x_n + \epsilon^2 g + \epsilon\sum_k
a_{\cdot k}(x_n)h_k(y_n)`: the drift is :math:`\langle g\rangle + \sum_{j,k,l}
a_{jk}\partial_j a_{il}\Lambda_{kl}` with the one-sided matrix :math:`\Lambda_{kl} =
\sum_{n\ge1}\langle h_k(y_0)h_l(y_n)\rangle` (its antisymmetric part is the Levy area) and
the diffusion :math:`a\Sigma a^T`, :math:`\Sigma = C(0) + \Lambda + \Lambda^T` (derived
in :mod:`symavg.derive.levy_area`). The fast map must not depend on the slow variables.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import sympy as sp

from ..errors import CenteringError, ModelError, ScaleSeparationError
from ..models.deterministic import DeterministicMap
from ..models.effective import TIME, EffectiveModel
from ..report.averages import time_average_record
from ..report.calls import given, keyword_arguments, recorded
from ..report.derivation import Average, Check, Derivation, Step
from .chaotic import _separate
from .levy_area import ito_drift, reduced_drift


def _absorb_constant(hs: list, a: sp.Matrix, f_parts: list, slow: tuple) -> list:
    """A y-free part ``c(x) = sum_k lam_k a_k(x)`` (constant ``lam_k``) of the eps step
    belongs to the observables: ``h_k + lam_k`` (e.g. ``y - 1/2``)."""
    c = sp.Matrix([part.get(sp.S.One, sp.S.Zero) for part in f_parts])
    if c.is_zero_matrix:
        return list(hs)
    lams = sp.symbols(f"lambda0:{len(hs)}")
    eqs = [sp.expand(c[i] - sum(lams[k] * a[i, k] for k in range(len(hs))))
           for i in range(len(f_parts))]
    sol = sp.solve(eqs, lams, dict=True)
    ok = [d for d in sol if all(not (sp.sympify(v).free_symbols & (set(slow) | set(lams)))
                                for v in d.values()) and len(d) == len(hs)]
    if len(ok) != 1:
        raise ScaleSeparationError(
            "the eps part of a slow step is not sum_k a_k(x) h_k(y): its y-free part is not "
            "a constant combination of the a_k(x), so the slow variable drifts on the fast "
            "scale")
    return [h + ok[0][lams[k]] for k, h in enumerate(hs)]


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
        Slow components ``x + eps**2 * g(x, y) + eps * sum_k a_k(x) * h_k(y)``, fast ones
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
        ``records["green_kubo"]`` holds the estimate of :math:`\sigma^2` of each
        observable, ``records["green_kubo_matrix"]`` the one-sided matrix
        (:class:`~symavg.GreenKuboMatrix`), ``records["Lambda"]`` the one-sided sum
        :math:`\Lambda` with its error (numbers for one observable, ``K x K`` arrays for
        several).

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
    from ..numeric.green_kubo_matrix import green_kubo_matrix_series

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
    if not hs:
        raise ScaleSeparationError("the eps part of the slow steps holds no fast observable: "
                                   "write it as eps * sum_k a_k(x) * h_k(y)")
    K = len(hs)
    a = sp.Matrix([[part.get(h, sp.S.Zero) for h in hs] for part in f_parts])
    hs = _absorb_constant(hs, a, f_parts, slow)
    qs = sorted({q for part in g_parts for q in part if q != 1}, key=sp.default_sort_key)
    fast_map = DeterministicMap(list(fast), Ty, eps=eps)
    obs = [*hs, *qs]
    tr = trajectories(fast_map, obs, n_samples=n_samples + n_samples // 10, params=params,
                      burn_in=200, paths=paths, seed=seed, executor=executor)
    vals = tr.values[:, n_samples // 10:, :]
    try:
        G = green_kubo_matrix_series(vals[:, :, :K], 1.0, lag0=0.0, warn=False, names=hs)
    except CenteringError as exc:
        raise CenteringError(
            f"{exc}. For a slow-fast map: the slow variable moves on the fast scale; subtract "
            "the mean from h (and move eps * a(x) * <h> into an eps**2 drift only if it is "
            "that small)") from None
    est = G.diagonal[0]
    c0 = float(est.acf[0])
    lam, lam_se = float(G.one_sided[0, 0]), float(G.stderr[0, 0])
    means = {}
    if qs:
        av = check_agreement(vals[:, :, K:], qs, system=fast_map)
        means = {q: (float(av.mean[i]), float(av.stderr[i])) for i, q in enumerate(qs)}

    def num(v: float) -> sp.Float:
        return sp.Float(float(f"{v:.{digits}g}"), 15)

    Smat = sp.Matrix(K, K, lambda k, l: num(G.sigma[k, l]))
    Lmat = sp.Matrix(K, K, lambda k, l: num(G.one_sided[k, l]))
    S, L = Smat[0, 0], Lmat[0, 0]
    diff = (a * Smat * a.T).applyfunc(sp.expand)
    corrections = ito_drift(a, slow, Lmat)
    drift, directions = reduced_drift(a, slow, g_parts, means, corrections, num,
                                      G.info["joint_covariance"], K)
    h = hs[0] if K == 1 else sp.Matrix(hs)
    A = a if K > 1 else sp.Matrix(a[:, 0])
    checks = []
    for k, e in enumerate(G.diagonal):
        checks += [Check(f"Green-Kubo of {hs[k]}: autocorrelation vs batch means", e.agree,
                         "numeric", f"{e.value:.6g} +- {e.stderr:.2g} (window {e.cutoff:.3g}, "
                         f"{e.window}) vs {e.batch_value:.6g} +- {e.batch_stderr:.2g}; "
                         f"{e.discrepancy:.1f} standard errors apart"),
                   Check(f"centering of {hs[k]}", True, "numeric",
                         f"mean {e.mean:.3g} +- {e.mean_stderr:.2g}")]
    checks.append(Check("one-sided sums: cross-correlation vs batch means of the iterated sums",
                        G.agree, "numeric", f"largest discrepancy {G.discrepancy.max():.1f} "
                        f"standard errors (window {G.cutoff_lag} steps)"))
    lat = ", ".join(map(sp.latex, fast))
    if K == 1:
        numbers = (f"$\\sigma^2 = {est.value:.6g} \\pm {est.stderr:.2g}$, $C(0) = {c0:.6g}$, "
                   f"$\\Lambda = {lam:.6g} \\pm {lam_se:.2g}$.")
        shown = ()                        # the averages below show sigma^2 and Lambda
    else:
        numbers = "; ".join(f"$\\Lambda_{{{sp.latex(hs[k])},\\,{sp.latex(hs[l])}}} = "
                            f"{G.one_sided[k, l]:.6g} \\pm {G.stderr[k, l]:.2g}$"
                            for k in range(K) for l in range(K)) + "."
        shown = ((r"\Sigma", Smat), (r"\Lambda", Lmat))
    deriv = Derivation("Homogenization of a slow variable driven by a fast chaotic map", (
        Step("model", f"Skew product: fast map in ${lat}$, slow "
                      f"${', '.join(map(sp.latex, slow))}$ with steps "
                      "$\\varepsilon^2 g + \\varepsilon \\sum_k a_k(x) h_k(y)$; the limit holds "
                      "on $s = \\varepsilon^2 n$.",
             (("T(y)", sp.Matrix(Ty)), ("g", sp.Matrix(gs)), ("a", A), ("h", h))),
        Step("Green-Kubo", "$\\Sigma = C(0) + \\Lambda + \\Lambda^T$ and the one-sided "
             "$\\Lambda_{kl} = \\sum_{n\\ge1} C_{kl}(n)$, $C_{kl}(n) = \\langle h_k(y_0) "
             "h_l(y_n)\\rangle$ (Ito drift $\\sum_{j,k,l} a_{jk}\\partial_j a_{il}"
             f"\\Lambda_{{kl}}$, the Levy area included) from {paths} orbits of {n_samples} "
             f"steps ({tr.info['scheme']}); standard errors: " + numbers, shown, tuple(checks),
             "numeric",
             averages=(*(time_average_record(hk, fast, num(e.mean), discrete=True)
                         for hk, e in zip(hs, G.diagonal)),
                       *(_green_kubo_records(h, S, L, num(c0)) if K == 1 else ()))),
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
                          records={"green_kubo": {hs[k]: e for k, e in enumerate(G.diagonal)},
                                   "green_kubo_matrix": G,
                                   "Lambda": (lam, lam_se) if K == 1 else (G.one_sided, G.stderr),
                                   "C0": c0 if K == 1 else G.cross[..., 0],
                                   "means": means, "source": model, "fast_map": fast_map,
                                   "coefficient_uncertainty": {"relative": rel,
                                                               "drift_part": corrections,
                                                               "directions": directions}})
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
