"""Smoluchowski-Kramers small-mass limit in 1-D with friction gamma(x) and noise sigma(x).

Newton's law for a particle of mass m with position-dependent friction and noise (Ito),

    dx = v dt,    m dv = F(x) dt - gamma(x) v dt + sigma(x) dW,

has, as m -> 0, the limit (Hottovy, McDaniel, Volpe & Wehr, Commun. Math. Phys.
336 (2015) 1259, Theorem 1)

    dx = [F/gamma - gamma' sigma^2 / (2 gamma^3)] dt + sigma/gamma dW.

The second drift term is noise induced: neither the Ito nor the Stratonovich
reading of the naive overdamped equation dx = F/gamma dt + sigma/gamma dW gives it.
symavg puts m = eps^2 and v = u/eps, which turns the model into a homogenization
problem for the fast velocity u, and runs the general expansion engine on it.
"""

# %%
import sympy as sp

import symavg as sa
from symavg.derive.kramers import small_mass_model

x = sp.Symbol("x", real=True)
F, gamma, sigma = (sp.Function(name)(x) for name in ("F", "gamma", "sigma"))

# %% the full model in the scaled velocity u = eps v (m = eps^2)
model, _, (u,) = small_mass_model([x], [F], gamma, sigma)
print("full model, state", list(model.state))
print("  drift b     =", list(model.drift))
print("  noise sigma =", model.noise.tolist())

# %% the small-mass limit
red = sa.smoluchowski_kramers([x], [F], gamma, sigma)
print("reduced model:", red.regime)
print("  drift     F(x) =", red.drift[0])
print("  diffusion A A^T =", red.diffusion[0, 0])
print("  noise     A    =", red.noise[0, 0])
noise_induced = sp.simplify(red.drift[0] - F / gamma)
print("  noise-induced drift =", noise_induced)

# %% the derivation, step by step, with its checks
print(red.steps.to_markdown())
print("all checks passed:", red.steps.passed)

# %% Monte Carlo check with F = -x, gamma = 1 + x^2/2, sigma = 1 (small mass m = eps^2)
from _common import monte_carlo_check  # noqa: E402

monte_carlo_check(model, red, "kramers_1d", x0={x: 0.5}, T=0.5,
                  eps_values=[0.2, 0.1, 0.05], observables=[x, x**2],
                  functions={F.func: sp.Lambda(x, -x), gamma.func: sp.Lambda(x, 1 + x**2 / 2),
                             sigma.func: sp.Lambda(x, 1)},
                  scheme="weak2")   # one Brownian motion: weak order 2, step bias << error
