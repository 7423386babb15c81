"""Vanishing averaged drift: the slow variable moves on the longer time scale s = eps t.

    dx = sigma(x) y dt,   dy = -y/eps dt + sqrt(2/eps) dW.

Averaging over the fast OU process y gives zero drift and zero diffusion (<y> = 0):
on the scale t nothing happens. On s = eps t the generator is eps^-1 L, the
multiplicative-noise homogenization problem, whose limit is the Stratonovich SDE
dx = sqrt(2) sigma(x) o dW_s, i.e. the Ito drift sigma sigma' and diffusion 2 sigma^2
(Pavliotis & Stuart, Multiscale Methods, Springer 2008, Sec. 11.7). sa.verify runs
the full model to T/eps at each eps.
"""

# %%
import sympy as sp

import symavg as sa

eps = sa.epsilon
x, y = sp.symbols("x y", real=True)
sigma = sp.Function("sigma")(x)
model = sa.SDE([x, y], [sigma * y, -y / eps], noise=[0, sp.sqrt(2 / eps)])

# %%
print(sa.reduce(model).steps[-1].statement)   # the default: zero on the scale t, and why
red = sa.reduce(model, timescale="diffusive")
print("time scale:", red.timescale, "  regime:", red.regime)
print("  drift     =", red.drift[0])
print("  diffusion =", red.diffusion[0, 0])

# %%
print(red.steps.to_markdown())
print("all checks passed:", red.steps.passed)

# %% Monte Carlo check with sigma(x) = 1 + sin(x)/2
from _common import monte_carlo_check  # noqa: E402

monte_carlo_check(model, red, "diffusive_time_scale", x0={x: 0.2}, T=0.5,
                  eps_values=[0.2, 0.1, 0.05], observables=[x, x**2],
                  functions={sigma.func: sp.Lambda(x, 1 + sp.sin(x) / 2)},
                  scheme="weak2")   # commutative noise: weak order 2, step bias << error
