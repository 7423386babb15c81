r"""The Smoluchowski-Kramers (small-mass) limit with state-dependent friction.

The full model is Newton's law for a particle of mass :math:`m` at position
:math:`x\in\mathbb R^n` with velocity :math:`v`, a force :math:`F(x)`, a
friction matrix :math:`\gamma(x)` and a noise matrix :math:`\sigma(x)` (Itô):

.. math::

    dx = v\,dt, \qquad m\,dv = F(x)\,dt - \gamma(x)\,v\,dt + \sigma(x)\,dW .

Hottovy, McDaniel, Volpe & Wehr, *Commun. Math. Phys.* 336 (2015) 1259-1283,
Theorem 1: as :math:`m\to 0`, :math:`x` converges to the solution of

.. math::

    dx = \bigl[\gamma^{-1}F + S\bigr]\,dt + \gamma^{-1}\sigma\,dW, \qquad
    S_i = \partial_{x_l}\bigl[(\gamma^{-1})_{ij}\bigr]\,J_{jl}, \qquad
    \gamma J + J\gamma^T = \sigma\sigma^T .

:math:`S` is the *noise-induced drift*; in 1-D it is
:math:`-\gamma'\sigma^2/(2\gamma^3)`, so that

.. math::

    dx = \Bigl[\frac{F}{\gamma} - \frac{\gamma'\sigma^2}{2\gamma^3}\Bigr]dt
         + \frac{\sigma}{\gamma}\,dW .

Derivation as a homogenization problem
--------------------------------------
Put :math:`m = \epsilon^2` and scale the velocity, :math:`v = u/\epsilon`
(:math:`u` is :math:`O(1)` in equilibrium: its covariance is :math:`J`). Then

.. math::

    dx = \epsilon^{-1}u\,dt, \qquad
    du = \bigl(\epsilon^{-1}F - \epsilon^{-2}\gamma u\bigr)dt + \epsilon^{-1}\sigma\,dW,

whose generator has the homogenization structure
:math:`\mathcal L = \epsilon^{-2}\mathcal L_0 + \epsilon^{-1}\mathcal L_1`:

.. math::

    \mathcal L_0 = -(\gamma u)\cdot\nabla_u + \tfrac12\,\sigma\sigma^T:\nabla_u\nabla_u,
    \qquad \mathcal L_1 = u\cdot\nabla_x + F\cdot\nabla_u .

* :math:`\mathcal L_0` is an Ornstein-Uhlenbeck generator in :math:`u` (with
  :math:`x` frozen); its invariant law is :math:`N(0, J)` with
  :math:`\gamma J + J\gamma^T = \sigma\sigma^T`.
* :math:`\mathcal L_1 v_0 = u\cdot\nabla_x v_0`, centred. The cell problem
  :math:`-\mathcal L_0\Phi_i = u_i` is solved by :math:`\Phi = \gamma^{-1}u`
  (indeed :math:`-\mathcal L_0(c\cdot u) = (\gamma u)\cdot c = u\cdot\gamma^Tc`).
* With :math:`u_1 = (\gamma^{-1}u)_i\,\partial_i v_0`,

  .. math::

      \mathcal L_1 u_1 = u_l u_k\bigl[\partial_l(\gamma^{-1})_{ik}\,\partial_i v_0
        + (\gamma^{-1})_{ik}\,\partial_l\partial_i v_0\bigr]
        + F_j(\gamma^{-1})_{ij}\,\partial_i v_0 ,

  and :math:`\langle u_l u_k\rangle = J_{lk}` gives the drift
  :math:`(\gamma^{-1}F)_i + \partial_l(\gamma^{-1})_{ik}J_{kl}` and the diffusion
  :math:`\gamma^{-1}J + J\gamma^{-T} = \gamma^{-1}\sigma\sigma^T\gamma^{-T}` (the
  last equality is the Lyapunov equation multiplied by :math:`\gamma^{-1}` on
  the left and :math:`\gamma^{-T}` on the right).

:func:`smoluchowski_kramers` builds the scaled model, runs the general
expansion engine (:func:`symavg.derive.engine.reduce`), and records, as a last
step, the comparison of the engine's answer with the formula above (computed
independently, with its own Lyapunov solve).
"""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence

import sympy as sp

from .._symbols import epsilon
from .._sympy_util import zero_check
from ..errors import ModelError
from ..models.effective import EffectiveModel
from ..models.sde import SDE
from ..report.derivation import Derivation, Step
from ..report.names import user_names
from .engine import reduce

__all__ = ["hottovy_limit", "lyapunov_solve", "smoluchowski_kramers", "small_mass_model"]


def smoluchowski_kramers(x: sp.Symbol | Sequence[sp.Symbol], F: object, gamma: object,
                         sigma: object, *, eps: sp.Symbol = epsilon,
                         velocity: sp.Symbol | Sequence[sp.Symbol] | None = None
                         ) -> EffectiveModel:
    r"""The small-mass limit of :math:`dx = v\,dt,\ m\,dv = F\,dt - \gamma v\,dt + \sigma\,dW`.

    Parameters
    ----------
    x : Symbol or list of Symbol
        The positions :math:`x_1,\dots,x_n`.
    F : expression or list of expressions
        The force :math:`F(x)`, one entry per position.
    gamma : expression or n x n matrix
        The friction :math:`\gamma(x)`. A scalar means :math:`\gamma I`. Its
        eigenvalues must have positive real parts (otherwise the velocity has no
        invariant law and :class:`~symavg.NoInvariantMeasureError` is raised).
    sigma : expression, flat list of n, or n x k matrix
        The noise :math:`\sigma(x)` (Itô). A scalar means :math:`\sigma I`, a
        flat list independent noises ``diag(s1, ..., sn)``.
    eps : Symbol
        The scale parameter; the mass is :math:`m = \epsilon^2`.
    velocity : Symbol or list of Symbol, optional
        Names for the scaled velocities :math:`u = \epsilon v` (default
        ``u_<x>`` for each position ``x``).

    Returns
    -------
    EffectiveModel
        ``dx = [gamma^-1 F + S] dt + gamma^-1 sigma dW`` for the positions, with
        the :class:`~symavg.Derivation` of the engine preceded by the step
        ``"small-mass model"`` (the construction) and followed by
        ``"Hottovy et al. formula"`` (the comparison with the closed form).

    Raises
    ------
    ModelError
        Shapes that do not match, a velocity name already used, ``eps`` or a
        velocity inside ``F``, ``gamma`` or ``sigma``.

    Notes
    -----
    See the module docstring :mod:`symavg.derive.kramers` for the derivation.
    Reference: S. Hottovy, A. McDaniel, G. Volpe, J. Wehr, *The
    Smoluchowski-Kramers limit of stochastic differential equations with
    arbitrary state-dependent friction*, Commun. Math. Phys. 336 (2015)
    1259-1283, Theorem 1.

    Examples
    --------
    >>> import sympy as sp, symavg as sa
    >>> x = sp.Symbol("x", real=True)
    >>> g, s = sp.Function("gamma")(x), sp.Symbol("s", positive=True)
    >>> red = sa.smoluchowski_kramers([x], [0], g, s)
    >>> red.drift[0]
    -s**2*Derivative(gamma(x), x)/(2*gamma(x)**3)
    >>> red.diffusion[0, 0]
    s**2/gamma(x)**2
    """
    model, xs, us = small_mass_model(x, F, gamma, sigma, eps=eps, velocity=velocity)
    Fv, G, Sg = _coefficients(x, F, gamma, sigma)
    red = reduce(model, fast=list(us), eps=eps)
    construction = Step(
        "small-mass model",
        r"Newton's law $dx = v\,dt$, $m\,dv = F\,dt - \gamma v\,dt + \sigma\,dW$ with "
        rf"$m = {sp.latex(eps)}^2$ and the scaled velocity $v = u/{sp.latex(eps)}$: "
        rf"$dx = u/{sp.latex(eps)}\,dt$, $du = (F/{sp.latex(eps)} - \gamma u/"
        rf"{sp.latex(eps)}^2)\,dt + \sigma/{sp.latex(eps)}\,dW$ "
        r"(Hottovy, McDaniel, Volpe & Wehr, Commun. Math. Phys. 336 (2015) 1259).",
        (("F", Fv), (r"\gamma", G), (r"\sigma", Sg), ("u", sp.Matrix(us))))
    drift_f, diff_f, J = hottovy_limit(xs, Fv, G, Sg)
    chk_drift = zero_check("engine drift = gamma^-1 F + S", sp.Matrix(red.drift) - drift_f)
    chk_diff = zero_check("engine diffusion = gamma^-1 sigma sigma^T gamma^-T",
                          sp.Matrix(red.diffusion) - diff_f)
    formula = Step(
        "Hottovy et al. formula",
        r"Theorem 1 of Hottovy et al. (2015): drift $\gamma^{-1}F + S$ with "
        r"$S_i = \partial_{x_l}(\gamma^{-1})_{ij}J_{jl}$, $\gamma J + J\gamma^T = "
        r"\sigma\sigma^T$, and diffusion $\gamma^{-1}\sigma\sigma^T\gamma^{-T}$, computed "
        "independently of the expansion and compared with it.",
        (("J", J), (r"\gamma^{-1}F + S", drift_f),
         (r"\gamma^{-1}\sigma\sigma^T\gamma^{-T}", diff_f)),
        (chk_drift, chk_diff), "closed form (Lyapunov equation)")
    title = f"Smoluchowski-Kramers limit in {', '.join(map(str, xs))}"
    steps = Derivation(title, (construction, *red.steps.steps, formula))
    return dataclasses.replace(red, steps=steps)


def small_mass_model(x: sp.Symbol | Sequence[sp.Symbol], F: object, gamma: object,
                     sigma: object, *, eps: sp.Symbol = epsilon,
                     velocity: sp.Symbol | Sequence[sp.Symbol] | None = None
                     ) -> tuple[SDE, tuple[sp.Symbol, ...], tuple[sp.Symbol, ...]]:
    r"""The full model of :func:`smoluchowski_kramers` in scaled velocities.

    Returns ``(model, x, u)``: the :class:`~symavg.SDE` in the state
    :math:`(x, u)`,

    .. math::

        dx = \epsilon^{-1}u\,dt, \qquad
        du = (\epsilon^{-1}F - \epsilon^{-2}\gamma u)\,dt + \epsilon^{-1}\sigma\,dW,

    which is :math:`dx = v\,dt,\ m\,dv = F\,dt - \gamma v\,dt + \sigma\,dW` with
    :math:`m = \epsilon^2`, :math:`v = u/\epsilon`; and the position and velocity
    symbols. Useful to simulate the full model next to the limit.
    """
    if not isinstance(eps, sp.Symbol):
        raise ModelError(f"eps must be a SymPy Symbol; got {eps!r}")
    xs = _positions(x)
    n = len(xs)
    Fv, G, Sg = _coefficients(xs, F, gamma, sigma)
    us = _velocities(velocity, xs)
    used = set().union(*(e.free_symbols for e in (*Fv, *G, *Sg)))
    for name, M in (("F", Fv), ("gamma", G), ("sigma", Sg)):
        if any(e.has(eps) for e in M):
            raise ModelError(
                f"{name} contains the scale parameter {eps}: the small-mass construction puts "
                f"the powers of {eps} in itself (m = {eps}**2). Give F, gamma and sigma "
                f"without {eps}, or pass eps=<another symbol>."
            )
    # by name: a symbol with other assumptions, or a function, named like a velocity
    # would print the same in the derivation
    taken = set(user_names([*xs, eps, *Fv, *G, *Sg]))
    clash = sorted({u for u in us if u.name in taken} | (set(us) & used), key=str)
    if clash:
        raise ModelError(
            f"the velocity symbol(s) {clash} already appear in the model (a symbol or a "
            "function of that name): they would print the same as the scaled velocities "
            "u = eps v. Pick other names with velocity=[...]."
        )
    if any(e.has(*us) for e in (*Fv, *G, *Sg)):
        raise ModelError("F, gamma and sigma must not depend on the velocities")
    u = sp.Matrix(us)
    drift = [*(u / eps), *(Fv / eps - G * u / eps**2)]
    k = Sg.shape[1]
    noise = sp.Matrix.vstack(sp.zeros(n, k), Sg / eps)
    return SDE([*xs, *us], drift, noise=noise), xs, us


def hottovy_limit(x: Sequence[sp.Symbol], F: sp.MatrixBase, gamma: sp.MatrixBase,
                  sigma: sp.MatrixBase) -> tuple[sp.Matrix, sp.Matrix, sp.Matrix]:
    r"""Drift :math:`\gamma^{-1}F + S`, diffusion :math:`\gamma^{-1}\sigma\sigma^T\gamma^{-T}`
    and :math:`J` of the small-mass limit, by the closed formula of Hottovy et al.
    (2015), Theorem 1 (see the module docstring)."""
    x = list(x)
    G = sp.Matrix(gamma)
    Gi = _inverse(G)
    a = (sp.Matrix(sigma) * sp.Matrix(sigma).T).applyfunc(sp.expand)
    J = lyapunov_solve(G, a)
    n = len(x)
    S = sp.zeros(n, 1)
    for i in range(n):
        S[i] = sum((sp.diff(Gi[i, j], x[l]) * J[j, l] for j in range(n) for l in range(n)),
                   sp.S.Zero)
    drift = (Gi * sp.Matrix(F) + S).applyfunc(_tidy)
    diff = (Gi * a * Gi.T).applyfunc(_tidy)
    return drift, diff, J


def lyapunov_solve(gamma: sp.MatrixBase, a: sp.MatrixBase) -> sp.Matrix:
    r"""The symmetric :math:`J` with :math:`\gamma J + J\gamma^T = a`, by linear algebra
    on its :math:`n(n+1)/2` independent entries."""
    G = sp.Matrix(gamma)
    n = G.shape[0]
    syms = sp.symbols(f"_j0:{n * (n + 1) // 2}")
    J = sp.zeros(n, n)
    k = 0
    for i in range(n):
        for j in range(i, n):
            J[i, j] = J[j, i] = syms[k]
            k += 1
    eqs = [e for i, e in enumerate(G * J + J * G.T - sp.Matrix(a))
           if i // n <= i % n]
    A, b = sp.linear_eq_to_matrix(eqs, syms)
    sol = A.LUsolve(b)
    return J.subs(dict(zip(syms, sol))).applyfunc(sp.factor)


# ----------------------------------------------------------------- helpers
def _positions(x: object) -> tuple[sp.Symbol, ...]:
    xs = (x,) if isinstance(x, sp.Symbol) else tuple(x)  # type: ignore[arg-type]
    if not xs:
        raise ModelError("no position given: pass x=[x1, ...]")
    for s in xs:
        if not isinstance(s, sp.Symbol):
            raise ModelError(f"position {s!r} is not a SymPy Symbol; use sympy.symbols(...)")
    if len(set(xs)) != len(xs):
        raise ModelError(f"a position appears twice in {list(xs)}")
    return xs


def _coefficients(x: object, F: object, gamma: object,
                  sigma: object) -> tuple[sp.Matrix, sp.Matrix, sp.Matrix]:
    xs = _positions(x)
    n = len(xs)
    Fl = [F] if isinstance(F, sp.Basic) and not isinstance(F, sp.MatrixBase) else F
    try:
        Fv = sp.Matrix([sp.sympify(e) for e in Fl])  # type: ignore[union-attr]
    except (TypeError, sp.SympifyError):
        raise ModelError(f"F must be a list of {n} expressions; got {F!r}") from None
    if Fv.shape != (n, 1):
        raise ModelError(f"F has {Fv.shape[0]} entries for {n} positions {list(xs)}: give one "
                         "force component per position")
    G = _square(gamma, n, "gamma")
    if sp.factor(G.det()) == 0:
        raise ModelError(f"the friction matrix gamma = {G.tolist()} is singular: the velocity "
                         "would not relax in every direction. Give an invertible friction.")
    if isinstance(sigma, sp.MatrixBase) or (isinstance(sigma, list | tuple) and sigma and
                                             isinstance(sigma[0], list | tuple)):
        Sg = sp.Matrix(sigma)
        if Sg.shape[0] != n:
            raise ModelError(f"sigma must have one row per position ({n}); got shape {Sg.shape}")
    elif isinstance(sigma, list | tuple):
        if len(sigma) != n:
            raise ModelError(f"a flat sigma list means independent noises and needs {n} "
                             f"entries; got {len(sigma)}")
        Sg = sp.diag(*[sp.sympify(s) for s in sigma])
    else:
        Sg = sp.sympify(sigma) * sp.eye(n)
    if Sg.is_zero_matrix:
        raise ModelError("sigma is zero: the velocity needs noise to have an invariant law "
                         "(the deterministic small-mass limit is F = gamma v)")
    return Fv, G, Sg


def _square(m: object, n: int, name: str) -> sp.Matrix:
    if isinstance(m, sp.MatrixBase) or isinstance(m, list | tuple):
        M = sp.Matrix(m)
        if M.shape == (1, 1) and n == 1:
            return M
        if M.shape != (n, n):
            raise ModelError(f"{name} must be a scalar or an {n} x {n} matrix; got shape "
                             f"{M.shape}")
        return M
    return sp.sympify(m) * sp.eye(n)


def _velocities(velocity: object, xs: tuple) -> tuple[sp.Symbol, ...]:
    if velocity is None:
        return tuple(sp.Symbol(f"u_{x.name}", real=True) for x in xs)
    us = (velocity,) if isinstance(velocity, sp.Symbol) else tuple(velocity)  # type: ignore
    if len(us) != len(xs) or not all(isinstance(u, sp.Symbol) for u in us):
        raise ModelError(f"velocity must give one Symbol per position ({len(xs)}); got {us!r}")
    if len(set(us)) != len(us):
        raise ModelError(f"a velocity symbol appears twice in {list(us)}")
    return us


def _inverse(G: sp.Matrix) -> sp.Matrix:
    det = sp.factor(G.det())
    if det == 0:
        raise ModelError(f"the friction matrix {G.tolist()} is singular")
    return G.adjugate() / det


def _tidy(e: sp.Expr) -> sp.Expr:
    e = sp.factor(sp.cancel(e)) if sp.count_ops(e) < 400 else e
    return e
