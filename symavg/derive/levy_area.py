r"""The Itô drift of several fast observables: the one-sided Green-Kubo matrix.

**Flow.** For :math:`\dot x = g(x, y) + \epsilon^{-1}\sum_k a_{\cdot k}(x)\,h_k(y)`,
:math:`\dot y = \epsilon^{-2}F(y)` (a skew product, :math:`\langle h_k\rangle = 0`),
the generator is :math:`\mathcal L = \epsilon^{-2}\mathcal L_0 + \epsilon^{-1}\mathcal L_1
+ \mathcal L_2` with :math:`\mathcal L_0 = F\cdot\nabla_y`,
:math:`\mathcal L_1 = \sum_k h_k\,a_{\cdot k}\cdot\nabla_x`,
:math:`\mathcal L_2 = g\cdot\nabla_x`. With :math:`u = u_0 + \epsilon u_1 + \epsilon^2 u_2`:

* :math:`O(\epsilon^{-2})`: :math:`\mathcal L_0 u_0 = 0`, so :math:`u_0 = u_0(x)`.
* :math:`O(\epsilon^{-1})`: :math:`\mathcal L_0 u_1 = -\mathcal L_1 u_0`, solved by
  :math:`u_1 = \sum_k \Psi_k(y)\,a_{\cdot k}\cdot\nabla_x u_0` with
  :math:`-\mathcal L_0\Psi_k = h_k`, :math:`\Psi_k(y) = \int_0^\infty h_k(\varphi_t y)\,dt`
  (:math:`\varphi_t` the fast flow; defined through its correlations with other
  observables, which decay).
* :math:`O(1)`: solvability of :math:`\mathcal L_0 u_2 = \partial_t u_0 - \mathcal L_1
  u_1 - \mathcal L_2 u_0` under the invariant measure gives
  :math:`\partial_t u_0 = \langle\mathcal L_1 u_1\rangle + \langle g\rangle\cdot\nabla u_0`, and

  .. math::

      \langle \mathcal L_1 u_1\rangle = \sum_{k,l}\langle h_k\Psi_l\rangle\,
        a_{jk}\,\partial_j\big(a_{il}\,\partial_i u_0\big)
      = \sum_{j,k,l} a_{jk}\,\partial_j a_{il}\,\Lambda_{kl}\,\partial_i u_0
        + \tfrac12\,(a\,\Sigma\,a^T)_{ij}\,\partial_i\partial_j u_0,

  with :math:`\langle h_k \Psi_l\rangle = \int_0^\infty\langle h_k(y_0)\,h_l(y_t)\rangle dt
  = \Lambda_{kl}` (``h_k`` earlier) and :math:`\Sigma = \Lambda + \Lambda^T` (only the
  symmetric part survives the contraction with the symmetric :math:`\partial_i\partial_j`).

So the limit is the Itô SDE

.. math::

    dX_i = \Big(\langle g_i\rangle + \sum_{j,k,l} a_{jk}\,\partial_j a_{il}\,\Lambda_{kl}\Big)dt
           + (\sqrt{a\Sigma a^T}\,dW)_i .

Write :math:`\Lambda = \Sigma/2 + A`, :math:`A = -A^T`. The :math:`\Sigma/2` part is the
Stratonovich correction of :math:`a\circ dW`; :math:`A` is the mean rate of the *Levy
area* of :math:`W_\epsilon = \epsilon\int_0^{t/\epsilon^2}h`: the iterated integrals
:math:`\int W^k_\epsilon dW^l_\epsilon` converge to :math:`\int W^k\circ dW^l + t A_{kl}`,
not to the Stratonovich integrals (Kelly & Melbourne 2016, "Smooth approximation of
stochastic differential equations", *Ann. Probab.* 44:479, the main theorem and its
application to fast-slow systems; for one observable Melbourne & Stuart 2011,
*Nonlinearity* 24:1361). :math:`A` contributes
:math:`\sum_{j,k,l} a_{jk}\partial_j a_{il} A_{kl}`, which vanishes when :math:`a` does not
depend on :math:`x`, or when there is one observable (:math:`A = 0` for :math:`K = 1`), or
when the columns commute (:math:`[a_{\cdot k}, a_{\cdot l}] = 0`: the antisymmetric
sum is :math:`\sum_{k<l} A_{kl}[a_{\cdot k}, a_{\cdot l}]_i`, with the Lie bracket
:math:`[u, v] = (u\cdot\nabla)v - (v\cdot\nabla)u`).

**Map.** For :math:`x_{n+1} = x_n + \epsilon^2 g + \epsilon\sum_k a_{\cdot k}(x_n)h_k(y_n)`,
:math:`y_{n+1} = T(y_n)`: Taylor expanding :math:`a(x_n)` about :math:`x_{n-p}`,
:math:`x_n - x_{n-p} = \epsilon\sum_{q=1}^p a(x_{n-q})h(y_{n-q}) + O(\epsilon^2)`, the mean
increment per step is :math:`\epsilon^2\big(\langle g\rangle + \sum_{j,k,l} a_{jk}\partial_j
a_{il}\sum_{p\ge1}\langle h_k(y_0)h_l(y_p)\rangle\big)`: the same drift with
:math:`\Lambda_{kl} = \sum_{p\ge1}C_{kl}(p)` (the lag 0 does not enter: :math:`a` is
evaluated before the step), and :math:`\Sigma = C(0) + \Lambda + \Lambda^T`; time
:math:`s = \epsilon^2 n` (Gottwald & Melbourne 2013, "Homogenization for deterministic
maps and multiplicative noise", *Proc. R. Soc. A* 469:20130201; Kelly & Melbourne 2016
for several observables).

:math:`\Lambda` and :math:`\Sigma` come from
:func:`symavg.numeric.green_kubo_matrix.green_kubo_matrix_series`.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence

import numpy as np
import sympy as sp


def ito_drift(a: sp.Matrix, slow: Sequence[sp.Symbol], Lam: sp.Matrix) -> list[sp.Expr]:
    r""":math:`\sum_{j,k,l} a_{jk}\,\partial_{x_j} a_{il}\,\Lambda_{kl}` for each slow
    variable :math:`x_i` (``a`` is ``n x K``, ``Lam`` is ``K x K``).

    Examples
    --------
    ``dx1 = h1/eps``, ``dx2 = x1 h2/eps``: only :math:`\partial_1 a_{22} = 1`, so the drift
    of ``x2`` is :math:`a_{11}\Lambda_{12} = \Lambda_{12}`, the one-sided entry (the
    Levy area included):

    >>> import sympy as sp
    >>> from symavg.derive.levy_area import ito_drift
    >>> x1, x2 = sp.symbols("x1 x2")
    >>> L = sp.Matrix(2, 2, sp.symbols("L11 L12 L21 L22"))
    >>> ito_drift(sp.Matrix([[1, 0], [0, x1]]), [x1, x2], L)
    [0, L12]
    """
    n, K = a.shape
    return [sp.expand(sum((a[j, k] * sp.diff(a[i, l], slow[j]) * Lam[k, l]
                           for j in range(n) for k in range(K) for l in range(K)), sp.S.Zero))
            for i in range(n)]


def coefficient_directions(joint_cov: np.ndarray, K: int,
                           coefficients: Callable[[sp.Matrix, sp.Matrix], tuple[list, sp.Matrix]],
                           mean_terms: Mapping[int, Sequence[tuple[sp.Expr, float]]] | None
                           = None, n_slow: int = 1, max_directions: int = 8
                           ) -> list[dict[str, sp.Matrix]]:
    r"""Independent one-standard-error perturbations of the numeric coefficients.

    The estimates of :math:`\mathrm{vec}\,\Lambda` and :math:`\mathrm{vec}\,\Sigma` have the
    joint covariance ``joint_cov`` (from the spread of the trajectories); its
    eigenvectors :math:`v_m` with eigenvalues :math:`\lambda_m` give uncorrelated error
    directions :math:`\sqrt{\lambda_m}\,v_m`. Each is mapped to the change of the drift
    and of the diffusion by ``coefficients(dLam, dSigma) -> (drift change, diffusion
    change)`` (linear). The errors of the averaged fast factors of the O(1) drift,
    ``mean_terms = {slow index: [(coefficient, stderr), ...]}``, are one direction each.
    The largest ``max_directions`` of the covariance are kept (the rest hold less).

    Returns
    -------
    list of dict
        ``{"drift": n x 1 Matrix, "diffusion": n x n Matrix}`` per direction.
    """
    out = []
    C = np.asarray(joint_cov, dtype=float)
    C = (C + C.T) / 2
    w, V = np.linalg.eigh(C)
    order = np.argsort(w)[::-1]
    top = w[order[0]] if w.size else 0.0
    for m in order[:max_directions]:
        if not w[m] > 1e-12 * top or not top > 0:
            break
        v = np.sqrt(w[m]) * V[:, m]
        dL = sp.Matrix(K, K, [sp.Float(float(t), 15) for t in v[: K * K]])
        dS = sp.Matrix(K, K, [sp.Float(float(t), 15) for t in v[K * K:]])
        dS = (dS + dS.T) / 2
        dd, dD = coefficients(dL, dS)
        out.append({"drift": sp.Matrix(dd).applyfunc(sp.expand),
                    "diffusion": sp.Matrix(dD).applyfunc(sp.expand)})
    for i, terms in (mean_terms or {}).items():
        for c, se in terms:
            if se > 0:
                d = sp.zeros(n_slow, 1)
                d[i] = sp.expand(c * sp.Float(float(se), 15))
                out.append({"drift": d, "diffusion": sp.zeros(n_slow, n_slow)})
    return out


def reduced_drift(a: sp.Matrix, slow: Sequence[sp.Symbol], g_parts: Sequence[Mapping],
                  means: Mapping, corrections: Sequence[sp.Expr],
                  num: Callable[[float], sp.Expr], joint_cov: np.ndarray, K: int
                  ) -> tuple[list[sp.Expr], list[dict[str, sp.Matrix]]]:
    r"""The reduced drift :math:`\langle g_i\rangle + c_i` of a flow- or map-driven slow
    variable, and its error directions (:func:`coefficient_directions`).

    ``g_parts[i]`` maps each fast factor ``q`` of the O(1) drift of the i-th slow variable
    to its coefficient (``q = 1`` for the part free of the fast variables); ``means[q]`` is
    the time average of ``q`` and its standard error; ``corrections[i]`` is the Itô drift
    :math:`\sum_{j,k,l} a_{jk}\partial_j a_{il}\Lambda_{kl}`; ``num`` rounds a float to the
    digits the derivation shows."""
    drift = [sp.expand(sum((c * (1 if q == 1 else num(means[q][0]))
                            for q, c in g_parts[i].items()), sp.S.Zero) + corrections[i])
             for i in range(len(slow))]

    def effect(dL: sp.Matrix, dS: sp.Matrix) -> tuple[list, sp.Matrix]:
        return ito_drift(a, slow, dL), a * dS * a.T

    directions = coefficient_directions(
        joint_cov, K, effect,
        {i: [(c, means[q][1]) for q, c in g_parts[i].items() if q != 1]
         for i in range(len(slow))}, len(slow))
    return drift, directions
