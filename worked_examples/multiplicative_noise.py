"""Multiplicative coupling to fast OU noise: the limit is a Stratonovich SDE (Wong-Zakai drift).

    dx = sigma(x) y / eps dt,    dy = -alpha y / eps^2 dt + sqrt(2 alpha) / eps dW.

y is a fast OU process of unit variance: sigma(x) y / eps is coloured noise of
vanishing correlation time. The limit is the Stratonovich SDE
dx = sqrt(2/alpha) sigma(x) o dW (Wong & Zakai, Ann. Math. Statist. 36 (1965)
1560; Pavliotis & Stuart, Multiscale Methods, Springer 2008, Sec. 11.7,
Stratonovich corrections), i.e. in Ito form

    dx = sigma sigma' / alpha dt + sqrt(2/alpha) sigma dW.

In the expansion the drift comes from the x-derivative of the cell solution
Phi = sigma(x) y / alpha: L1 (Phi v0') contains sigma y^2 sigma' v0' / alpha.
"""

# %%
import sympy as sp

import symavg as sa

eps = sa.epsilon
x, y = sp.symbols("x y", real=True)
alpha = sp.Symbol("alpha", positive=True)
sigma = sp.Function("sigma")(x)

model = sa.SDE([x, y], [sigma * y / eps, -alpha * y / eps**2],
               noise=[0, sp.sqrt(2 * alpha) / eps])
print("full model, state", list(model.state))
print("  drift b     =", list(model.drift))
print("  noise sigma =", model.noise.tolist())

# %%
red = sa.reduce(model, fast=[y])
print("reduced model:", red.regime)
print("  drift     =", red.drift[0])
print("  diffusion =", red.diffusion[0, 0])
b = sp.sqrt(2 / alpha) * sigma
print("  Stratonovich correction b b'/2 =", sp.simplify(b * sp.diff(b, x) / 2))

# %%
print(red.steps.to_markdown())
print("all checks passed:", red.steps.passed)

# %% Monte Carlo check with sigma(x) = 1 + sin(x)/2: the drift sigma sigma' is needed
from _common import monte_carlo_check  # noqa: E402

monte_carlo_check(model, red, "multiplicative_noise", x0={x: 0.2}, T=0.5,
                  eps_values=[0.2, 0.1, 0.05], observables=[x, x**2], params={alpha: 1},
                  functions={sigma.func: sp.Lambda(x, 1 + sp.sin(x) / 2)},
                  scheme="weak2")   # commutative noise: weak order 2, step bias << error
