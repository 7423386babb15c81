"""The OU cross-forcing of a shear flow: a hypoelliptic cell problem.

    dx = sin(y)/eps dt + sqrt(2 kappa) dW,   dy = eta/eps^2 dt,
    d eta = -eta/eps^2 dt + sqrt(2)/eps dW'      (y on the circle).

The cross-stream position y has no noise of its own: it is carried by the OU velocity
eta, so the fast generator eta d_y - eta d_eta + d_eta^2 is hypoelliptic. The law of
(y, eta) is uniform x N(0, 1); the cell problem -L0 Phi = sin y is solved by a
Hermite-Fourier Galerkin method (symavg.derive.transport_ou). The limit is a Brownian
motion with diffusion 2 kappa + e - 1: by Green-Kubo, 2 int_0^oo <sin y(0) sin y(t)> dt
with y(t) - y(0) Gaussian of variance 2 (t - 1 + e^-t).
"""

# %%
import sympy as sp

import symavg as sa

eps = sa.epsilon
x, y, eta = sp.symbols("x y eta", real=True)
kappa = sp.Symbol("kappa", positive=True)
model = sa.SDE([x, y, eta], [sp.sin(y) / eps, eta / eps**2, -eta / eps**2],
               noise=[[sp.sqrt(2 * kappa), 0], [0, 0], [0, sp.sqrt(2) / eps]],
               periodic={y: 2 * sp.pi})

# %%
red = sa.reduce(model)
print("drift", red.drift[0], "  diffusion", red.diffusion[0, 0])
print("Green-Kubo: 2 kappa + e - 1 =", 2 * kappa + sp.E - 1, "=", sp.N(2 * kappa + sp.E - 1))

# %%
print(red.steps.to_markdown())
print("all checks passed:", red.steps.passed)

# %% Monte Carlo check
from _common import monte_carlo_check  # noqa: E402

monte_carlo_check(model, red, "shear_ou_cross_forcing", x0={x: 0.0, y: 0.0}, T=0.5,
                  eps_values=[0.2, 0.1, 0.05], observables=[x**2], params={kappa: 1})
