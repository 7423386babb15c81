"""Homogenization creates noise: a fast OU velocity gives Brownian motion (Green-Kubo).

    dx = lambda y / eps dt,    dy = -alpha y / eps^2 dt + s / eps dW.

x has no noise of its own, yet in the limit eps -> 0 it is a Brownian motion:
dx = sqrt(2 D) dW with D = int_0^oo <v(0) v(t)> dt, v = lambda y (Green-Kubo;
Kubo, J. Phys. Soc. Jpn. 12 (1957) 570; Pavliotis & Stuart, Multiscale Methods,
Springer 2008, Sec. 11.7, fast Ornstein-Uhlenbeck noise). With the stationary
autocorrelation lambda^2 s^2/(2 alpha) exp(-alpha t): 2 D = lambda^2 s^2 / alpha^2.
"""

# %%
import sympy as sp

import symavg as sa

eps = sa.epsilon
x, y = sp.symbols("x y", real=True)
lam, alpha, s = sp.symbols("lambda alpha s", positive=True)

model = sa.SDE([x, y], [lam * y / eps, -alpha * y / eps**2], noise=[0, s / eps])
print("full model, state", list(model.state))
print("  drift b     =", list(model.drift))
print("  noise sigma =", model.noise.tolist())

# %%
red = sa.reduce(model, fast=[y])
print("reduced model:", red.regime)
print("  drift =", red.drift[0], "  diffusion 2D =", red.diffusion[0, 0])

# %% the same number from the Green-Kubo integral of the velocity autocorrelation
t = sp.Symbol("t", positive=True)
green_kubo = 2 * sp.integrate(lam**2 * s**2 / (2 * alpha) * sp.exp(-alpha * t), (t, 0, sp.oo))
print("  2 int_0^oo <v(0) v(t)> dt =", green_kubo)

# %%
print(red.steps.to_markdown())
print("all checks passed:", red.steps.passed)

# %% Monte Carlo check: E x_T^2 -> 2 D_eff T
from _common import monte_carlo_check  # noqa: E402

monte_carlo_check(model, red, "ou_creates_noise", x0={x: 0.0}, T=0.5,
                  eps_values=[0.3, 0.15, 0.075], observables=[x**2],
                  params={lam: 1, alpha: 1, s: sp.sqrt(2)})
