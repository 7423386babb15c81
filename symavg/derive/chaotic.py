r"""Homogenization of a slow variable driven by a fast deterministic chaotic flow.

The full model is the skew product (Melbourne & Stuart 2011, "A note on
diffusion limits of chaotic skew-product flows", *Nonlinearity* 24:1361;
Gottwald & Melbourne 2013, *Proc. R. Soc. A* 469:20130201)

.. math::

    \dot x = g(x, y) + \epsilon^{-1} \sum_k a_k(x)\,h_k(y), \qquad
    \dot y = \epsilon^{-2} F(y),

with :math:`y` a mixing chaotic flow and :math:`\langle h_k\rangle = 0` under
its invariant measure. The same expansion as for a fast diffusion (the
generator of the fast flow is :math:`\mathcal L_0 = F\cdot\nabla_y`, the cell
problem :math:`-\mathcal L_0\Phi = h` is solved by
:math:`\Phi = \int_0^\infty h(y_t)\,dt`) gives, with
:math:`\Lambda_{kl} = \int_0^\infty \langle h_k(y_0) h_l(y_t)\rangle\,dt`,

.. math::

    dX = \Big(\langle g\rangle(X) + \sum_{j,k,l} a_{jk}\,\partial_{x_j} a_{il}\,
         \Lambda_{kl}\Big)dt + \sqrt{a\,\Sigma\,a^T}\,dW,
    \qquad \Sigma = \Lambda + \Lambda^T ,

:math:`\Sigma` the Green-Kubo matrix. No closed form exists for a chaotic flow,
so :math:`\Lambda` and :math:`\langle g\rangle` are computed numerically
(:func:`symavg.green_kubo`, :func:`symavg.time_averages`), each with an error
bar from two independent estimators recorded in the derivation.

Any number of fast observables and slow variables: :math:`\Lambda` is the one-sided
matrix (:mod:`symavg.numeric.green_kubo_matrix`), :math:`\Lambda = \Sigma/2 + A`, and its
antisymmetric part :math:`A` (the Levy area) enters the drift when the coefficients
depend on :math:`x`; the derivation is written out in :mod:`symavg.derive.levy_area`.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import sympy as sp

from ..errors import ModelError, ScaleSeparationError, UnsolvedError
from ..models.deterministic import DeterministicFlow
from ..models.effective import TIME, EffectiveModel
from ..report.averages import time_average_record
from ..report.calls import given, keyword_arguments, recorded
from ..report.derivation import Average, Check, Derivation, Step
from .levy_area import ito_drift, reduced_drift


def _separate(expr: sp.Expr, fast: tuple, slow: tuple, where: str) -> dict[sp.Expr, sp.Expr]:
    """``expr = sum_k a_k(x) h_k(y)`` as ``{h_k: a_k}`` (``h = 1`` for the y-free part)."""
    out: dict[sp.Expr, sp.Expr] = {}
    for term in sp.Add.make_args(sp.expand(expr)):
        xs, ys = [], []
        for fac in sp.Mul.make_args(term):
            if fac.free_symbols & set(fast) and fac.free_symbols & set(slow):
                raise UnsolvedError(f"{where}: the factor {fac} of {term} mixes slow and fast "
                                    "variables; write the rhs as sum_k a_k(x) h_k(y)")
            (ys if fac.free_symbols & set(fast) else xs).append(fac)
        h = sp.Mul(*ys)
        out[h] = out.get(h, sp.S.Zero) + sp.Mul(*xs)
    return out


def _split_slow(e: sp.Expr, eps: sp.Symbol, x: sp.Symbol) -> tuple[sp.Expr, sp.Expr]:
    """``e = g + f/eps``: returns ``(g, f)``; other powers are a named error."""
    e = sp.expand(e)
    g = f = sp.S.Zero
    for term in sp.Add.make_args(e):
        c, p = term.as_coeff_exponent(eps)
        if c.has(eps):
            raise ScaleSeparationError(f"the rhs of {x} depends on eps as {term}: write it as "
                                       "g(x, y) + f(x, y)/eps")
        if p == 0:
            g += c
        elif p == -1:
            f += c
        else:
            raise ScaleSeparationError(
                f"the rhs of the slow variable {x} has the term {term} (eps^{p}); the "
                "homogenization of a chaotic skew product needs g(x, y) + f(x, y)/eps")
    return g, f


@recorded(lambda b: ("from symavg.derive.chaotic import reduce_chaotic",
                     "reduce_chaotic(" + keyword_arguments(b)[2:] + ")", given(b)), "diffusion")
def reduce_chaotic(model: DeterministicFlow, fast: Sequence[sp.Symbol] | sp.Symbol | None = None,
                   *, params: Mapping | None = None, n_samples: int = 400_000,
                   dt: float = 0.005, every: int = 2, paths: int = 8, seed: int | None = 0,
                   digits: int = 6, executor: Any = None) -> EffectiveModel:
    r"""The homogenized SDE of the slow variables of a chaotic skew-product flow.

    Parameters
    ----------
    model : DeterministicFlow
        Slow and fast variables together; fast right-hand sides are
        ``F(y) / eps**2``, slow ones ``g(x, y) + f(x, y) / eps``.
    fast : Symbol or list of Symbol, optional
        The fast variables (default: those whose rhs is of order ``eps^-2``).
    params : dict {Symbol: float}
        Values of the parameters of the fast flow and of the observables
        (the slow coefficients :math:`a_k(x)` may keep symbols).
    n_samples, dt, every, paths, seed, executor
        The Green-Kubo run of the fast flow on its own time scale (see
        :func:`symavg.green_kubo`).
    digits : int
        Significant digits of the numbers put into the effective model.

    Returns
    -------
    EffectiveModel
        ``regime="homogenization"``; ``records["green_kubo"]`` holds the
        estimates (both estimators, window, error bars) of each observable,
        ``records["green_kubo_matrix"]`` the one-sided matrix (:class:`~symavg.GreenKuboMatrix`),
        ``records["Lambda"]`` the matrix :math:`\Lambda = \Sigma/2 + A` used,
        ``records["drift_parts"]`` the Stratonovich and Levy-area parts of the drift, and
        ``records["coefficient_uncertainty"]["directions"]`` the independent error
        directions of the coefficients (used by :func:`symavg.verify`).

    Examples
    --------
    >>> import sympy as sp, symavg as sa
    >>> x, y1, y2, y3 = sp.symbols("x y1 y2 y3", real=True)
    >>> eps = sa.epsilon
    >>> m = sa.DeterministicFlow([x, y1, y2, y3], [x - x**3 + y2 / eps,
    ...     10 * (y2 - y1) / eps**2, (y1 * (28 - y3) - y2) / eps**2,
    ...     (y1 * y2 - sp.Rational(8, 3) * y3) / eps**2])
    >>> red = sa.reduce(m, fast=[y1, y2, y3])            # doctest: +SKIP
    >>> red.drift, red.diffusion                         # doctest: +SKIP
    (Matrix([[-x**3 + x]]), Matrix([[63.2]]))
    """
    from ..numeric.chaos import check_agreement, trajectories
    from ..numeric.green_kubo_matrix import green_kubo_matrix_series

    eps = model.eps
    if fast is None:
        fast = tuple(v for v, e in zip(model.state, model.rhs)
                     if sp.expand(e * eps ** 2).subs(eps, 0) != 0
                     and not sp.expand(e * eps ** 2).has(1 / eps))
    fast = (fast,) if isinstance(fast, sp.Symbol) else tuple(fast)
    if not fast:
        raise ScaleSeparationError("no fast variables: none of the right-hand sides is of "
                                   "order eps^-2; pass fast=[...]")
    for v in fast:
        if v not in model.state:
            raise ModelError(f"fast variable {v} is not a variable of {list(model.state)}")
    slow = tuple(v for v in model.state if v not in fast)
    if not slow:
        raise ModelError("every variable is fast: nothing is left to reduce")
    Fy = []
    for v in fast:
        F = sp.expand(model.rhs[model.index(v)] * eps ** 2)
        if F.has(eps):
            raise ScaleSeparationError(f"the rhs of the fast variable {v} must be F(y)/eps^2; "
                                       f"got {model.rhs[model.index(v)]}")
        if F.free_symbols & set(slow):
            raise ScaleSeparationError(
                f"the rhs of the fast variable {v} depends on the slow variables "
                f"{sorted(F.free_symbols & set(slow), key=str)}: only skew products (a fast "
                "flow that does not feel x) are supported")
        Fy.append(F)
    gs, fs = zip(*[_split_slow(model.rhs[model.index(x)], eps, x) for x in slow])
    f_parts = [_separate(f, fast, slow, f"rhs of {x}") for x, f in zip(slow, fs)]
    g_parts = [_separate(g, fast, slow, f"rhs of {x}") for x, g in zip(slow, gs)]
    hs = sorted({h for part in f_parts for h in part}, key=sp.default_sort_key)
    if sp.S.One in hs:
        x = slow[[i for i, p in enumerate(f_parts) if sp.S.One in p][0]]
        raise ScaleSeparationError(
            f"the eps^-1 part of the rhs of {x} has a term without fast variables: "
            "the slow variable moves on the fast time scale (centering fails)")
    qs = sorted({q for part in g_parts for q in part if q != 1}, key=sp.default_sort_key)
    a = sp.Matrix([[f_parts[i].get(h, 0) for h in hs] for i in range(len(slow))])
    K = len(hs)
    fast_flow = DeterministicFlow(list(fast), Fy, eps=eps)
    obs = list(hs) + list(qs)
    tr = trajectories(fast_flow, obs, n_samples=n_samples + n_samples // 10, params=params,
                      dt=dt, every=every, burn_in=int(20 / dt), paths=paths, seed=seed,
                      executor=executor)
    vals = tr.values[:, n_samples // 10:, :]
    # the one-sided matrix Lambda (its antisymmetric part is the Levy area) and Sigma
    G = green_kubo_matrix_series(vals[:, :, :K], tr.spacing, lag0=0.5, warn=False, names=hs)
    est = {h: G.diagonal[k] for k, h in enumerate(hs)}
    Sigma, Sse = G.sigma, G.sigma_stderr
    means = {}
    if qs:
        av = check_agreement(vals[:, :, K:], qs, system=fast_flow)
        means = {q: (float(av.mean[i]), float(av.stderr[i])) for i, q in enumerate(qs)}

    def num(v: float) -> sp.Float:
        return sp.Float(float(f"{v:.{digits}g}"), 15)

    S = sp.Matrix(K, K, lambda k, l: num(Sigma[k, l]))
    A_lev = sp.Matrix(K, K, lambda k, l: num(G.antisymmetric[k, l]) if k < l
                      else (-num(G.antisymmetric[l, k]) if k > l else 0))
    Lam = S / 2 + A_lev          # Lambda = Sigma/2 + A, exactly symmetric-consistent with S
    diff = (a * S * a.T).applyfunc(sp.expand)
    sym_part = ito_drift(a, slow, S / 2)
    levy_part = ito_drift(a, slow, A_lev)
    corrections = [sp.expand(sym_part[i] + levy_part[i]) for i in range(len(slow))]
    drift, directions = reduced_drift(a, slow, g_parts, means, corrections, num,
                                      G.info["joint_covariance"], K)
    checks = []
    for h, e in est.items():
        checks.append(Check(f"Green-Kubo of {h}: autocorrelation vs batch means", e.agree,
                            "numeric", f"{e.value:.6g} +- {e.stderr:.2g} (window {e.cutoff:.3g},"
                            f" {e.window}) vs {e.batch_value:.6g} +- {e.batch_stderr:.2g}; "
                            f"{e.discrepancy:.1f} standard errors apart"))
        checks.append(Check(f"centering of {h}", True, "numeric",
                            f"mean {e.mean:.3g} +- {e.mean_stderr:.2g}"))
    if K > 1:
        checks.append(Check("one-sided Green-Kubo matrix: cross-correlation vs batch means of "
                            "the iterated integrals", G.agree, "numeric",
                            f"largest discrepancy {G.discrepancy.max():.1f} standard errors "
                            f"(window {G.cutoff:.3g})"))
    lat = ", ".join(map(sp.latex, fast))
    deriv = Derivation("Homogenization of a slow variable driven by a fast chaotic flow", (
        Step("model", f"Skew product: fast chaotic flow in ${lat}$ on the time scale "
                      f"$\\varepsilon^{{-2}}$, slow ${', '.join(map(sp.latex, slow))}$.",
             (("F(y)", sp.Matrix(Fy)), ("g", sp.Matrix(gs)), ("f", sp.Matrix(fs)))),
        Step("separation", "The $\\varepsilon^{-1}$ part as $\\sum_k a_k(x) h_k(y)$.",
             (("h", sp.Matrix(hs)), ("a", a))),
        Step("cell problem", "$-F\\cdot\\nabla_y \\Phi = h$ is solved by $\\Phi = \\int_0^\\infty "
             "h(y_t)\\,dt$ when $h$ is centred (its time averages below); the effective "
             "coefficients need $\\Lambda_{kl} = \\int_0^\\infty "
             "\\langle h_k(y_0) h_l(y_t)\\rangle dt$, computed from trajectories (no closed "
             "form for a chaotic flow).", (), (),
             averages=tuple(time_average_record(h, fast, num(est[h].mean)) for h in hs)),
        Step("Green-Kubo", f"$\\Sigma = \\Lambda + \\Lambda^T$ from {paths} trajectories of "
             f"{n_samples} samples (spacing {tr.spacing:g}), RK4 step {dt:g}, with the "
             + ("autocorrelations $C_k(s) = \\langle h_k(y_0) h_k(y_s)\\rangle$" if K > 1 else
                "autocorrelation $C(s) = \\langle h(y_0) h(y_s)\\rangle$")
             + "; standard errors: "
             + "; ".join(f"$\\Sigma_{{{sp.latex(hs[k])},\\,{sp.latex(hs[l])}}} = "
                         f"{Sigma[k, l]:.6g} \\pm {Sse[k, l]:.2g}$"
                         for k in range(K) for l in range(k, K))
             + ("" if K == 1 else "; the Levy-area part $A = (\\Lambda - \\Lambda^T)/2$: "
                + "; ".join(f"$A_{{{sp.latex(hs[k])},\\,{sp.latex(hs[l])}}} = "
                            f"{G.antisymmetric[k, l]:.6g} \\pm "
                            f"{G.antisymmetric_stderr[k, l]:.2g}$"
                            for k in range(K) for l in range(k + 1, K))) + ".",
             ((r"\Sigma", S), (r"A", A_lev)) if K > 1 else (), tuple(checks), "numeric",
             averages=tuple(_green_kubo_record(k, hs[k], S[k, k], K) for k in range(K))),
        Step("Ito drift", "$\\sum_{j,k,l} a_{jk}\\,\\partial_j a_{il}\\,\\Lambda_{kl}$ with "
             "$\\Lambda = \\Sigma/2 + A$: the Stratonovich part ($\\Sigma/2$) and the Levy-area "
             "part ($A$; zero for one observable or $x$-independent coefficients).",
             ((r"\text{Stratonovich part}", sp.Matrix(sym_part)),
              (r"\text{Levy-area part}", sp.Matrix(levy_part)))),
    ))
    if means:
        deriv = deriv.then(Step("averages", "Means of the $O(1)$ drift's fast factors "
                                "(time averages, MSER-5 burn-in, agreement across initial "
                                "conditions checked).",
                                (), (), "numeric",
                                averages=tuple(time_average_record(q, fast, num(m))
                                               for q, (m, _) in means.items())))
    from .engine import effective_model

    red = effective_model(deriv, drift, sp.Matrix(diff), "homogenization", fast, slow, eps, {},
                          records={"green_kubo": est, "green_kubo_matrix": G,
                                   "Sigma_stderr": Sse, "Lambda": Lam,
                                   "drift_parts": {"stratonovich": sym_part,
                                                   "levy_area": levy_part},
                                   "coefficient_uncertainty": {
                                       "relative": float(max(abs(e.stderr / e.value)
                                                             for e in est.values())),
                                       "drift_part": corrections,
                                       "directions": directions},
                                   "means": means, "source": model, "fast_flow": fast_flow})
    assert red.timescale == TIME
    return red


def _green_kubo_record(k: int, h: sp.Expr, value: sp.Expr, K: int) -> Average:
    r"""The record of :math:`\Sigma_{kk} = 2\int_0^\infty C_k(s)\,ds` with
    :math:`C_k(s) = \langle h_k(y_0) h_k(y_s)\rangle` (the name :math:`C_k`, or :math:`C`
    for one observable, is defined in the step's statement)."""
    s = sp.Symbol("s", positive=True)
    C = sp.Function(f"C_{k + 1}" if K > 1 else "C")(s)
    idx = f"{k + 1}{k + 1}" if K > 1 else ""
    label = rf"\Sigma_{{{idx}}}" if idx else r"\Sigma"
    return Average(label, h, 2 * sp.Integral(C, (s, 0, sp.oo)), value)
