r"""A circle variable transported by an Ornstein-Uhlenbeck velocity (hypoelliptic cell problems).

The fast block is :math:`(y, \eta)`, :math:`y` on a circle of period :math:`L`
with no noise of its own, moved by an OU velocity :math:`\eta`:

.. math::

    \mathcal L_0 = (c + \alpha\eta)\,\partial_y
        + \gamma(\mu - \eta)\,\partial_\eta + D\,\partial_\eta^2 ,
    \qquad \alpha \neq 0,\ \gamma > 0,\ D > 0 .

It is hypoelliptic (noise only on :math:`\eta`), so the elliptic routes do not
apply, and the cell problems have no closed form: the OU cross-forcing of a
shear flow, :math:`dx = u(y)/\epsilon\,dt`, :math:`dy = \eta/\epsilon^2\,dt`,
is the example.

**Invariant law.** :math:`\rho = L^{-1}\,N(\mu, D/\gamma)(\eta)`, uniform in
:math:`y`: the transport term :math:`-\partial_y((c+\alpha\eta)\rho)` vanishes
for :math:`\rho` free of :math:`y`, and the Gaussian is the OU law (checked by
substituting into :math:`\mathcal L_0^*\rho = 0`).

**Cell problems** (Hermite-Fourier Galerkin). For a forcing
:math:`h = \sum_k (A_k\cos\kappa_k y + B_k\sin\kappa_k y)`, :math:`\kappa_k =
2\pi k/L`, with amplitudes free of :math:`(y,\eta)` (they may hold slow variables
and symbols), :math:`\Phi = \sum_k A_k\,\mathrm{Re}\,\Psi_k + B_k\,\mathrm{Im}\,\Psi_k`
with :math:`-\mathcal L_0\Psi_k = e^{i\kappa_k y}`. Writing
:math:`\Psi_k = e^{i\kappa_k y}\sum_n c_n h_n(\xi)`, :math:`\xi = (\eta-\mu)/s`,
:math:`s^2 = D/\gamma`, :math:`h_n = He_n/\sqrt{n!}` (orthonormal under the
Gaussian; :math:`\xi h_n = \sqrt{n+1}h_{n+1} + \sqrt n h_{n-1}` and the OU
generator is :math:`-\gamma n` on :math:`h_n`), the coefficients solve the
tridiagonal system

.. math::

    (\gamma m - i\kappa(c + \alpha\mu))\,c_m
    - i\kappa\alpha s\,(\sqrt m\,c_{m-1} + \sqrt{m+1}\,c_{m+1}) = \delta_{m0},

truncated at :math:`N` modes, :math:`N` doubled from 16 until the last
coefficients are below :math:`10^{-15}` of the largest (they decay
factorially). The truncation leaves the residual
:math:`-i\kappa\alpha s\sqrt N c_{N-1} h_N` (its norm is recorded), and the
corrector is also substituted into :math:`\mathcal L_0\Phi + h` at random
points. The coefficients of :math:`\mathcal L_0` must be numbers (the amplitudes
need not be); the corrector is a polynomial in :math:`\eta` with floating-point
coefficients times :math:`\cos`, :math:`\sin` of :math:`\kappa_k y`, so its
averages are exact Gaussian moments.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import sympy as sp
from sympy.core.function import AppliedUndef

from ..models.generator import Generator
from ..report.derivation import Check
from . import invariant, poisson
from .integrals import definite_integral
from .invariant import invariant_measure
from .measures import DensityMeasure, InvariantMeasure

#: the Galerkin truncation doubles from this many Hermite modes ...
HERMITE_START = 16
#: ... up to this many
HERMITE_MAX = 512
#: trailing coefficients below this fraction of the largest end the doubling
HERMITE_TAIL = 1e-15
#: digits of the corrector's power-basis coefficients (averages are reported at 15)
DIGITS = 34


def _structure(G: Generator, fast: tuple) -> tuple | None:
    """``(y, eta, L, c, alpha, mu, gamma, D)`` when ``G`` restricted to ``fast`` has the
    form of the module docstring (``c``... symbolic or numeric), else ``None``."""
    if len(fast) != 2:
        return None
    per = G.periodic_map
    ys = [v for v in fast if v in per]
    if len(ys) != 1:
        return None
    y = ys[0]
    eta = next(v for v in fast if v != y)
    i, j = G.state.index(y), G.state.index(eta)
    by, be = sp.expand(G.drift[i]), sp.expand(G.drift[j])
    a = G.diffusion
    if a[i, i] != 0 or a[i, j] != 0 or a[j, i] != 0 or a[j, j].has(y, eta) or a[j, j] == 0:
        return None
    if by.has(y) or be.has(y) or not by.is_polynomial(eta) or not be.is_polynomial(eta):
        return None
    if sp.degree(by, eta) != 1 or sp.degree(be, eta) != 1:
        return None
    alpha, c = by.coeff(eta, 1), by.coeff(eta, 0)
    gamma = -be.coeff(eta, 1)
    if gamma.is_positive is False or gamma == 0:
        return None
    mu = sp.cancel(be.coeff(eta, 0) / gamma)
    return y, eta, per[y], c, alpha, mu, gamma, a[j, j] / 2


@dataclass(frozen=True)
class TransportedMeasure(DensityMeasure):
    r"""The law :math:`L^{-1}N(\mu, D/\gamma)` of a circle variable transported by an OU
    velocity: one density on the joint domain (its dynamics is *not* a product of
    independent blocks, so it has no ``factors``). An average is the mean over the
    circle (:func:`~symavg.derive.integrals.definite_integral`) followed by the
    Gaussian moments of the velocity (``velocity``, a
    :class:`~symavg.derive.measures.GaussianMeasure`).

    Examples
    --------
    >>> import sympy as sp, symavg as sa
    >>> y, eta = sp.symbols("y eta", real=True)
    >>> G = sa.Generator([y, eta], [eta, -eta], sp.diag(0, 2), periodic={y: 2 * sp.pi})
    >>> rho = sa.invariant_measure(G, [y, eta])
    >>> type(rho).__name__, rho.expect(eta**2 * sp.cos(y) ** 2)
    ('TransportedMeasure', 1/2)
    >>> sol = sa.solve_poisson(G, sp.sin(y), [y, eta], rho)
    >>> round(float(2 * rho.expect(sp.sin(y) * sol.phi)), 12)   # e - 1 (Green-Kubo)
    1.718281828459
    """

    velocity: InvariantMeasure | None = None

    def expect_checked(self, expr: object) -> tuple[sp.Expr, tuple[Check, ...]]:
        expr = sp.sympify(expr)
        if not expr.has(*self.fast):
            return expr, ()
        (y, lo, hi), = [d for d in self.domain if d[0] in self.periodic]
        # one period integral per distinct y-dependent factor (a corrector's products
        # have a few trigonometric factors times long polynomials in eta)
        groups: dict[sp.Expr, sp.Expr] = {}
        for term in sp.Add.make_args(sp.expand(expr)):
            rest, dep = term.as_independent(y, as_Add=False)
            groups[dep] = groups.get(dep, sp.S.Zero) + rest
        total, checks = sp.S.Zero, []
        for dep, rest in groups.items():
            if dep == 1:
                total += rest
                continue
            res = definite_integral(dep / (hi - lo), y, lo, hi, periodic=True)
            if res.check not in checks:
                checks.append(res.check)
            total += res.value * rest
        value, more = self.velocity.expect_checked(total)
        checks.extend(more)
        # the Hermite correctors carry 34-digit coefficients for the cancellation in the
        # power basis; the averages are good to double precision
        value = value.xreplace({f: sp.Float(f, 15) for f in value.atoms(sp.Float)})
        return value, tuple(checks)


@invariant.strategy("transported circle and OU velocity")
def _transported(G: Generator, fast: tuple) -> InvariantMeasure | None:
    """Uniform in the transported circle variable times the OU law of the velocity."""
    st = _structure(G, fast)
    if st is None:
        return None
    y, eta, L, c, alpha, mu, gamma, D = st
    ou = invariant_measure(G.restrict([eta], strict=False), [eta])
    rho = ou.density / L
    chk = invariant._adjoint_check(G.restrict(list(fast), strict=False), rho)
    return TransportedMeasure(fast=(y, eta), strategy="transported circle (uniform) x OU "
                              "velocity (gaussian)", checks=(chk, *ou.checks), density=rho,
                              domain=((y, sp.S.Zero, L), (eta, -sp.oo, sp.oo)), periodic=(y,),
                              velocity=ou)


def _modes(rhs: sp.Expr, y: sp.Symbol, L: sp.Expr) -> dict[int, list[sp.Expr]] | None:
    """``{k: [A_k, B_k]}`` with ``rhs = sum_k A_k cos(2 pi k y/L) + B_k sin(2 pi k y/L)``,
    ``k >= 1``; ``None`` for another form (a mean, a product of harmonics)."""
    out: dict[int, list[sp.Expr]] = {}
    for term in sp.Add.make_args(sp.expand(rhs)):
        amp, dep = term.as_independent(y, as_Add=False)
        if not isinstance(dep, sp.cos | sp.sin):
            return None
        k = sp.cancel(dep.args[0] / y * L / (2 * sp.pi))
        if not (k.is_Integer and k > 0):
            return None
        slot = out.setdefault(int(k), [sp.S.Zero, sp.S.Zero])
        slot[0 if isinstance(dep, sp.cos) else 1] += amp
    return out


def _galerkin(kappa: float, drift0: float, alpha_s: float, gamma: float) -> list[complex] | None:
    """The coefficients ``c_n`` of the module docstring's system, or ``None`` when the
    doubling does not reach :data:`HERMITE_TAIL`."""
    import numpy as np

    n = HERMITE_START
    while n <= HERMITE_MAX:
        A = np.zeros((n, n), dtype=complex)
        for m in range(n):
            A[m, m] = gamma * m - 1j * kappa * drift0
            if m > 0:
                A[m, m - 1] = -1j * kappa * alpha_s * math.sqrt(m)
            if m + 1 < n:
                A[m, m + 1] = -1j * kappa * alpha_s * math.sqrt(m + 1)
        rhs = np.zeros(n, dtype=complex)
        rhs[0] = 1.0
        try:
            coef = np.linalg.solve(A, rhs)
        except np.linalg.LinAlgError:
            return None
        top = float(np.abs(coef).max())
        if np.all(np.isfinite(coef)) and float(np.abs(coef[-4:]).max()) <= HERMITE_TAIL * top:
            keep = int(np.nonzero(np.abs(coef) > 1e-18 * top)[0].max()) + 1
            return [complex(v) for v in coef[:keep]]
        n *= 2
    return None


def _in_eta(coef: list[float], mu: float, s: float, eta: sp.Symbol) -> tuple[sp.Expr, list]:
    """``sum_n coef_n He_n((eta - mu)/s)/sqrt(n!)`` as a polynomial in ``eta`` with Float
    coefficients, and those coefficients (mpmath, ascending powers). The power-basis
    coefficients cancel heavily (``He_30`` has entries near
    ``1e9``), so they are summed at 40 digits (integer ``He_n`` from
    ``He_{n+1} = x He_n - n He_{n-1}``), then the affine change, and kept at
    :data:`DIGITS` digits: a Gaussian average of the power basis cancels as much again
    (17-digit coefficients gave ``e - 1`` to ``5e-11`` only)."""
    import mpmath

    with mpmath.workdps(40):
        he: list[list[int]] = [[1], [0, 1]]
        while len(he) < len(coef):
            n = len(he) - 1
            nxt = [0, *he[n]]
            for q, v in enumerate(he[n - 1]):
                nxt[q] -= n * v
            he.append(nxt)
        xi = [mpmath.mpf(0)] * len(coef)
        for n, cn in enumerate(coef):
            w = mpmath.mpf(cn) / mpmath.sqrt(mpmath.factorial(n))
            for q, v in enumerate(he[n]):
                xi[q] += w * v
        # P((eta - mu)/s) = sum_q xi_q s^-q sum_j binom(q, j) eta^j (-mu)^(q-j)
        out = [mpmath.mpf(0)] * len(coef)
        for q, a in enumerate(xi):
            scale = a / mpmath.mpf(s) ** q
            for jj in range(q + 1):
                out[jj] += scale * mpmath.binomial(q, jj) * (-mpmath.mpf(mu)) ** (q - jj)
        # every term is kept: a tiny coefficient of a high power still meets large
        # Gaussian moments (19!! = 6.5e8)
        expr = sp.Add(*[sp.Float(a, DIGITS) * eta**q for q, a in enumerate(out) if a != 0])
        return expr, out


def _residual_at_points(G: Generator, fast: tuple, parts: list, rhs: sp.Expr,
                        points: int = 3, seed: int = 11) -> tuple[bool, str]:
    r""":math:`\mathcal L_0\Phi + h` at random points, relative to the size of :math:`h`.

    ``parts`` lists ``(A, B, k, re, im)`` per mode: the amplitudes and the power-basis
    coefficients (mpmath) of :math:`\mathrm{Re}\,\Psi_k`, :math:`\mathrm{Im}\,\Psi_k`
    in :math:`\eta`. :math:`\Phi` and its derivatives are evaluated from these numbers,
    the operator from ``G``'s own coefficients at the point (the other symbols and the
    undefined functions set to random numbers), so a long polynomial corrector is
    neither differentiated nor expanded symbolically."""
    import random

    import mpmath

    rng = random.Random(seed)
    Gf = G.restrict(list(fast), strict=False)
    y, eta = fast
    iy, ie = Gf.state.index(y), Gf.state.index(eta)
    L = Gf.periodic_map[y]
    worst = 0.0
    with mpmath.workdps(30):
        for _ in range(points):
            pt: dict = {}
            for e in [rhs, *[p[0] for p in parts], *[p[1] for p in parts]]:
                for atom in sp.sympify(e).atoms(AppliedUndef):
                    pt.setdefault(atom, sp.Rational(rng.randint(50, 150), 100))
                for v in sp.sympify(e).free_symbols - set(fast):
                    pt.setdefault(v, sp.Rational(rng.randint(50, 150), 100))
            yv = sp.Rational(rng.randint(0, 628), 100)
            ev = sp.Rational(rng.randint(-150, 150), 100)
            full = {**pt, y: yv, eta: ev}

            def num(e: sp.Expr, full: dict = full) -> mpmath.mpc:
                return mpmath.mpmathify(complex(sp.N(sp.sympify(e).xreplace(full), 30)))

            by, be, aee = num(Gf.drift[iy]), num(Gf.drift[ie]), num(Gf.diffusion[ie, ie])
            lhs = mpmath.mpf(0)
            for A, B, k, re, im in parts:
                w = 2 * mpmath.pi * k / mpmath.mpf(float(L))
                c, s_ = mpmath.cos(w * mpmath.mpf(yv)), mpmath.sin(w * mpmath.mpf(yv))
                vals = []
                for coefs in (re, im):
                    p0 = mpmath.polyval(coefs[::-1], mpmath.mpf(ev))
                    d1 = mpmath.polyval([q * a for q, a in enumerate(coefs)][1:][::-1] or [0],
                                        mpmath.mpf(ev))
                    d2 = mpmath.polyval([q * (q - 1) * a for q, a in enumerate(coefs)][2:][::-1]
                                        or [0], mpmath.mpf(ev))
                    vals.append((p0, d1, d2))
                (r0, r1, r2), (i0, i1, i2) = vals
                a_, b_ = num(A), num(B)
                # Phi_k = A (re c - im s) + B (re s + im c)
                phi_y = a_ * w * (-r0 * s_ - i0 * c) + b_ * w * (r0 * c - i0 * s_)
                phi_e = a_ * (r1 * c - i1 * s_) + b_ * (r1 * s_ + i1 * c)
                phi_ee = a_ * (r2 * c - i2 * s_) + b_ * (r2 * s_ + i2 * c)
                lhs += by * phi_y + be * phi_e + aee / 2 * phi_ee
            h = num(rhs)
            worst = max(worst, float(abs(lhs + h) / max(1, abs(h))))
    return worst < 1e-8, f"max |L0 Phi + h| = {worst:.1e} at {points} random points"


@poisson.strategy("Hermite-Fourier Galerkin (transported circle, OU velocity)")
def _hermite_fourier(G: Generator, rhs: sp.Expr, fast: tuple,
                     measure: InvariantMeasure) -> poisson.PoissonSolution | None:
    st = _structure(G, fast)
    if st is None or isinstance(rhs, sp.MatrixBase):
        return None
    y, eta, L, c, alpha, mu, gamma, D = st
    if not all(sp.sympify(e).is_number for e in (L, c, alpha, mu, gamma, D)) or alpha == 0:
        return None
    modes = _modes(rhs, y, L)
    if not modes or any(e.has(eta) for amps in modes.values() for e in amps):
        return None
    s = math.sqrt(float(D) / float(gamma))
    phi = sp.S.Zero
    worst = 0.0
    parts: list = []
    for k, (A, B) in sorted(modes.items()):
        kappa = 2 * math.pi * k / float(L)
        coef = _galerkin(kappa, float(c + alpha * mu), float(alpha) * s, float(gamma))
        if coef is None:
            return None
        worst = max(worst, abs(kappa * float(alpha) * s) * math.sqrt(len(coef))
                    * abs(coef[-1]))
        # Re Psi and Im Psi as polynomials in eta: sum_n c_n He_n(xi)/sqrt(n!)
        re, re_c = _in_eta([v.real for v in coef], float(mu), s, eta)
        im, im_c = _in_eta([v.imag for v in coef], float(mu), s, eta)
        parts.append((A, B, k, re_c, im_c))
        cos_k, sin_k = sp.cos(2 * sp.pi * k * y / L), sp.sin(2 * sp.pi * k * y / L)
        re_psi = re * cos_k - im * sin_k
        im_psi = re * sin_k + im * cos_k
        phi += A * re_psi + B * im_psi
    ok, detail = _residual_at_points(G, fast, parts, rhs)
    checks = (
        Check("Galerkin truncation residual", worst < 1e-12, "numeric",
              f"|kappa alpha s| sqrt(N) |c_(N-1)| = {worst:.1e} (L2 norm under the Gaussian)"),
        Check("L0 Phi + h = 0", ok, "numeric", detail + " (Hermite-Fourier corrector)"),
    )
    if not all(ch.passed for ch in checks):
        return None
    return poisson.PoissonSolution(rhs, phi, (sp.diff(phi, y), sp.diff(phi, eta)), fast,
                                   "Hermite-Fourier Galerkin (hypoelliptic, numeric "
                                   "coefficients)", checks)
