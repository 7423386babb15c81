"""Averaging removes noise: a slow drift perturbed by fast OU noise averages to an ODE.

    dx = (f(x) + c(x) y) dt,    dy = -alpha y / eps dt + sqrt(2 alpha / eps) dW.

The generator is L = eps^-1 L0 + L1 with L0 the OU generator in y; its invariant
law is N(0, 1), and the averaged vector field is F(x) = <f(x) + c(x) y> = f(x)
(Pavliotis & Stuart, Multiscale Methods, Springer 2008, Ch. 10). The fast noise
enters the slow equation only through y, whose fluctuations average out on the
slow time scale: the limit is the deterministic equation dx = f(x) dt.
"""

# %%
import sympy as sp

import symavg as sa

eps = sa.epsilon
x, y = sp.symbols("x y", real=True)
alpha = sp.Symbol("alpha", positive=True)
f, c = sp.Function("f")(x), sp.Function("c")(x)

model = sa.SDE([x, y], [f + c * y, -alpha * y / eps], noise=[0, sp.sqrt(2 * alpha / eps)])
print("full model, state", list(model.state))
print("  drift b     =", list(model.drift))
print("  noise sigma =", model.noise.tolist())

# %%
red = sa.reduce(model, fast=[y])
print("reduced model:", red.regime)
print("  dx =", red.drift[0], "dt   (diffusion", red.diffusion[0, 0], ": an ODE)")

# %%
print(red.steps.to_markdown())
print("all checks passed:", red.steps.passed)

# %% Monte Carlo check with f(x) = -x and c(x) = x: the fluctuations vanish as eps -> 0
from _common import monte_carlo_check  # noqa: E402

monte_carlo_check(model, red, "averaging_removes_noise", x0={x: 1.0}, T=1.0,
                  eps_values=[0.1, 0.05, 0.025], observables=[x, x**2], params={alpha: 1},
                  functions={f.func: sp.Lambda(x, -x), c.func: sp.Lambda(x, x)})
