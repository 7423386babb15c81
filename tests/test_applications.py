"""Applications of the derivation core, each against its literature answer.

Every test derives the reduced model with ``sa.reduce`` (or
``sa.smoluchowski_kramers``, which builds the full model and calls the same
engine) and compares it with the closed form from the cited source by
``sympy.simplify(a - b) == 0`` or an exact equality. The worked examples in
``worked_examples/`` print the same derivations.
"""

from functools import cache

import pytest
import sympy as sp

import symavg as sa
from symavg.derive.kramers import small_mass_model

eps = sa.epsilon
x, y, eta = sp.symbols("x y eta", real=True)
x1, x2 = sp.symbols("x1 x2", real=True)
D, V0, U0, U1, k, s, alpha, lam = sp.symbols("D V0 U0 U1 k s alpha lambda", positive=True)
kp, gm, V = sp.symbols("k_p gamma V", positive=True)
F, gam, sig, f, c = (sp.Function(n)(x) for n in ("F", "gamma", "sigma", "f", "c"))


def zero(e):
    return sp.simplify(e) == 0


# ----------------------------------------------------------------- derivations (cached)
@cache
def kramers_1d():
    return sa.smoluchowski_kramers([x], [F], gam, sig)


KRAMERS_GAMMA = sp.Matrix([[1 + x1**2, x2], [-x2, 1 + x1**2]])
KRAMERS_SIGMA = s * (1 + x2**2) * sp.eye(2)
KRAMERS_FORCE = sp.Matrix([-k * x1, -k * x2])


@cache
def kramers_matrix():
    return sa.smoluchowski_kramers([x1, x2], KRAMERS_FORCE, KRAMERS_GAMMA, KRAMERS_SIGMA)


@cache
def averaging_removes_noise():
    # dx = (f(x) + c(x) y) dt,  dy = -alpha y/eps dt + sqrt(2 alpha/eps) dW
    m = sa.SDE([x, y], [f + c * y, -alpha * y / eps], noise=[0, sp.sqrt(2 * alpha / eps)])
    return sa.reduce(m, [y])


@cache
def ou_creates_noise():
    # dx = lambda y/eps dt,  dy = -alpha y/eps^2 dt + s/eps dW
    m = sa.SDE([x, y], [lam * y / eps, -alpha * y / eps**2], noise=[0, s / eps])
    return sa.reduce(m, [y])


@cache
def multiplicative_noise():
    # dx = sigma(x) y/eps dt,  dy = -alpha y/eps^2 dt + sqrt(2 alpha)/eps dW
    m = sa.SDE([x, y], [sig * y / eps, -alpha * y / eps**2],
               noise=[0, sp.sqrt(2 * alpha) / eps])
    return sa.reduce(m, [y])


@cache
def lifson_jackson():
    # dx = -V'(x/eps)/eps dt + sqrt(2D) dW, V(y) = V0 cos y; y = x/eps on the circle
    m = sa.SDE([x, y], [V0 * sp.sin(y) / eps, V0 * sp.sin(y) / eps**2],
               noise=[[sp.sqrt(2 * D)], [sp.sqrt(2 * D) / eps]], periodic={y: 2 * sp.pi})
    return sa.reduce(m, [y])


A_PERIODIC = D / (1 + k + k * sp.cos(y))


@cache
def periodic_diffusion_1d():
    # generator d/dx (a(x/eps) d/dx): dx = a'(y)/eps dt + sqrt(2 a(y)) dW, y = x/eps
    a = A_PERIODIC
    m = sa.SDE([x, y], [sp.diff(a, y) / eps, sp.diff(a, y) / eps**2],
               noise=[[sp.sqrt(2 * a)], [sp.sqrt(2 * a) / eps]], periodic={y: 2 * sp.pi})
    return sa.reduce(m, [y])


SHEAR = U0 * sp.cos(y) + U1 * sp.sin(2 * y)


@cache
def taylor_dispersion():
    # dx = U(y)/eps dt + sqrt(2D) dW1,  dy = sqrt(2D)/eps dW2,  y on the circle
    m = sa.SDE([x, y], [SHEAR / eps, 0], noise=[sp.sqrt(2 * D), sp.sqrt(2 * D) / eps],
               periodic={y: 2 * sp.pi})
    return sa.reduce(m, [y])


def _cle(production, degradation):
    # dx = (production - degradation x) dt + sqrt((k_p + gamma x)/V) dW1, intrinsic noise
    # at the mean rates; eta: fast OU of unit variance and rate alpha/eps^2
    return sa.SDE([x, eta], [production - degradation * x, -alpha * eta / eps**2],
                  noise=[sp.sqrt((kp + gm * x) / V), sp.sqrt(2 * alpha) / eps])


@cache
def cle_noisy_production():
    return sa.reduce(_cle(kp + s * eta / eps, gm), [eta])


@cache
def cle_noisy_degradation():
    return sa.reduce(_cle(kp, gm + s * eta / eps), [eta])


ALL = [kramers_1d, kramers_matrix, averaging_removes_noise, ou_creates_noise,
       multiplicative_noise, lifson_jackson, periodic_diffusion_1d, taylor_dispersion,
       cle_noisy_production, cle_noisy_degradation]


# ----------------------------------------------------------------- Smoluchowski-Kramers
def test_kramers_1d_noise_induced_drift():
    """Hottovy, McDaniel, Volpe & Wehr, Commun. Math. Phys. 336 (2015) 1259-1283,
    Theorem 1 in one dimension: m dv = F dt - gamma(x) v dt + sigma(x) dW gives, as
    m -> 0, dx = [F/gamma - gamma' sigma^2/(2 gamma^3)] dt + sigma/gamma dW."""
    red = kramers_1d()
    assert red.regime == "homogenization" and red.state == (x,)
    assert zero(red.drift[0] - (F / gam - sp.diff(gam, x) * sig**2 / (2 * gam**3)))
    assert zero(red.diffusion[0, 0] - sig**2 / gam**2)


def test_kramers_1d_is_the_engine_on_the_scaled_model():
    """The convenience function is sa.reduce on dx = u/eps dt,
    du = (F/eps - gamma u/eps^2) dt + sigma/eps dW (m = eps^2, v = u/eps)."""
    model, _, us = small_mass_model([x], [F], gam, sig)
    red = sa.reduce(model, list(us))
    assert zero(red.drift[0] - kramers_1d().drift[0])
    assert zero(red.diffusion[0, 0] - kramers_1d().diffusion[0, 0])


def test_kramers_matrix_friction_against_the_lyapunov_formula():
    """Hottovy et al. (2015), Theorem 1, with a non-diagonal, non-symmetric friction
    gamma(x) = (1 + x1^2) I + x2 [[0, 1], [-1, 0]] and noise sigma = s (1 + x2^2) I:
    dx = [gamma^-1 F + S] dt + gamma^-1 sigma dW, S_i = d/dx_l (gamma^-1)_ij J_jl,
    gamma J + J gamma^T = sigma sigma^T. J is solved here with sympy.solve,
    independently of the package."""
    red = kramers_matrix()
    G, a = KRAMERS_GAMMA, KRAMERS_SIGMA * KRAMERS_SIGMA.T
    j11, j12, j22 = sp.symbols("j11 j12 j22")
    J = sp.Matrix([[j11, j12], [j12, j22]])
    sol = sp.solve(list(G * J + J * G.T - a), [j11, j12, j22], dict=True)[0]
    J = J.subs(sol)
    Gi = G.inv()
    X = [x1, x2]
    S = sp.Matrix([sum(sp.diff(Gi[i, j], X[l]) * J[j, l] for j in range(2) for l in range(2))
                   for i in range(2)])
    drift = Gi * KRAMERS_FORCE + S
    diff = Gi * a * Gi.T
    for i in range(2):
        assert zero(red.drift[i] - drift[i])
        for j in range(2):
            assert zero(red.diffusion[i, j] - diff[i, j])
    # the noise-induced drift is really there
    assert not zero(S[0]) and not zero(S[1])


# ----------------------------------------------------------------- averaging, homogenization
def test_averaging_removes_the_noise():
    """Pavliotis & Stuart, Multiscale Methods (Springer 2008), Ch. 10 (averaging for
    SDEs): dx = f(x, y) dt with y a fast OU process gives the ODE dx = F(x) dt,
    F(x) = <f(x, .)>_rho; here f = f(x) + c(x) y and <y> = 0, so dx = f(x) dt."""
    red = averaging_removes_noise()
    assert red.regime == "averaging"
    assert red.drift[0] == f
    assert red.diffusion[0, 0] == 0


def test_homogenization_creates_noise_with_the_green_kubo_value():
    """Pavliotis & Stuart 2008, Sec. 11.7 (fast Ornstein-Uhlenbeck noise) and the
    Green-Kubo formula (Kubo, J. Phys. Soc. Jpn. 12 (1957) 570): dx = lambda y/eps dt
    with y a fast OU of rate alpha and variance s^2/(2 alpha) gives Brownian motion
    with sigma sigma^T = 2 int_0^oo <v(0) v(t)> dt, v = lambda y."""
    red = ou_creates_noise()
    t = sp.Symbol("t", positive=True)
    autocorrelation = lam**2 * s**2 / (2 * alpha) * sp.exp(-alpha * t)
    green_kubo = 2 * sp.integrate(autocorrelation, (t, 0, sp.oo))
    assert red.drift[0] == 0
    assert zero(red.diffusion[0, 0] - green_kubo)
    assert zero(red.diffusion[0, 0] - lam**2 * s**2 / alpha**2)


def test_multiplicative_coupling_gives_the_stratonovich_drift():
    """Pavliotis & Stuart 2008, Sec. 11.7 (Stratonovich corrections); Wong & Zakai,
    Ann. Math. Statist. 36 (1965) 1560: dx = sigma(x) y/eps dt with a fast OU y of
    unit variance and rate alpha converges to the Stratonovich SDE
    dx = sqrt(2/alpha) sigma(x) o dW, i.e. the Ito SDE with drift sigma sigma'/alpha."""
    red = multiplicative_noise()
    b = sp.sqrt(2 / alpha) * sig
    assert zero(red.drift[0] - b * sp.diff(b, x) / 2)
    assert zero(red.drift[0] - sig * sp.diff(sig, x) / alpha)
    assert zero(red.diffusion[0, 0] - b**2)


# ----------------------------------------------------------------- periodic homogenization
def test_lifson_jackson_periodic_potential():
    """Lifson & Jackson, J. Chem. Phys. 36 (1962) 2410; Pavliotis & Stuart 2008,
    Sec. 13.6: Brownian motion in V(x/eps), V = V0 cos y, has
    D_eff = D L^2 / (int e^{V/D} int e^{-V/D}) = D / I0(V0/D)^2."""
    red = lifson_jackson()
    assert red.drift[0] == 0
    assert zero(red.diffusion[0, 0] - 2 * D / sp.besseli(0, V0 / D) ** 2)


def test_one_dimensional_periodic_diffusion_is_the_harmonic_mean():
    """Pavliotis & Stuart 2008, Ch. 12 (the one-dimensional cell problem) and Sec. 13.6;
    Bensoussan, Lions & Papanicolaou (1978), Ch. 1: the generator d/dx a(x/eps) d/dx
    homogenizes to D_eff d^2/dx^2 with D_eff = 1/<1/a> (harmonic, not arithmetic,
    mean). Here a = D/(1 + k + k cos y): <1/a> = (1 + k)/D."""
    red = periodic_diffusion_1d()
    harmonic = 1 / (sp.integrate(1 / A_PERIODIC, (y, 0, 2 * sp.pi)) / (2 * sp.pi))
    assert red.drift[0] == 0
    assert zero(red.diffusion[0, 0] - 2 * harmonic)
    assert zero(red.diffusion[0, 0] - 2 * D / (1 + k))
    arithmetic = D / sp.sqrt(1 + 2 * k)  # <a> over a period, for contrast
    assert not zero(red.diffusion[0, 0] - 2 * arithmetic)


def test_taylor_dispersion_in_a_periodic_shear_flow():
    """Taylor, Proc. R. Soc. A 219 (1953) 186 (shear-enhanced dispersion); Pavliotis &
    Stuart 2008, Sec. 13.6 (shear flow): dx = U(y) dt + sqrt(2D) dW1 with y diffusing
    across the flow gives D_eff = D + <U Phi>, -D Phi'' = U. For U = U0 cos y +
    U1 sin 2y: D_eff = D + U0^2/(2D) + U1^2/(8D)."""
    red = taylor_dispersion()
    phi = sp.Function("phi")
    cell = sp.dsolve(sp.Eq(-D * phi(y).diff(y, 2), SHEAR), phi(y)).rhs.subs(
        {sp.Symbol("C1"): 0, sp.Symbol("C2"): 0})
    d_eff = D + sp.integrate(SHEAR * cell, (y, 0, 2 * sp.pi)) / (2 * sp.pi)
    assert red.drift[0] == 0
    assert zero(red.diffusion[0, 0] - 2 * d_eff)
    assert zero(red.diffusion[0, 0] - 2 * (D + U0**2 / (2 * D) + U1**2 / (8 * D)))


# ----------------------------------------------------------------- chemical Langevin equation
def test_cle_noisy_production_rate_adds_diffusion():
    """Chemical Langevin equation (Gillespie, J. Chem. Phys. 113 (2000) 297) for
    0 -> X at rate k_p, X -> 0 at rate gamma x, with the production rate perturbed by
    fast OU noise s eta/eps (extrinsic noise; Pavliotis & Stuart 2008, Sec. 11.7): the
    limit keeps the drift and adds the Green-Kubo diffusion 2 s^2/alpha."""
    red = cle_noisy_production()
    assert zero(red.drift[0] - (kp - gm * x))
    assert zero(red.diffusion[0, 0] - ((kp + gm * x) / V + 2 * s**2 / alpha))


def test_cle_noisy_degradation_rate_gives_a_noise_induced_drift():
    """As above with the noisy rate multiplying x (degradation gamma + s eta/eps): the
    multiplicative noise -s x eta/eps has the Stratonovich limit
    -sqrt(2/alpha) s x o dW, whose Ito drift s^2 x/alpha is noise induced
    (Wong & Zakai, Ann. Math. Statist. 36 (1965) 1560; Pavliotis & Stuart 2008,
    Sec. 11.7)."""
    red = cle_noisy_degradation()
    assert zero(red.drift[0] - (kp - gm * x + s**2 * x / alpha))
    assert zero(red.diffusion[0, 0] - ((kp + gm * x) / V + 2 * s**2 * x**2 / alpha))


# ----------------------------------------------------------------- every step checked
@pytest.mark.parametrize("derive", ALL, ids=lambda fn: fn.__name__)
def test_every_derivation_passes_all_its_checks(derive):
    red = derive()
    assert red.steps.passed, [c for c in red.steps.checks if not c.passed]
    assert red.noise is not None or red.diffusion.is_zero_matrix
