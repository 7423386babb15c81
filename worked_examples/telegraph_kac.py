"""The telegraph process: a velocity that flips sign fast becomes Brownian motion.

    dx/dt = v s,   s in {+1, -1} flipping at rate lambda/eps (a PDMP).

The averaged velocity is zero, so the averaged ODE is dx = 0; the order-one model (the
diffusion approximation) is Kac's diffusion limit of the telegrapher's equation,
dx = sqrt(eps v^2/lambda) dW (Kac 1974, Rocky Mountain J. Math. 4:497): the velocity's
autocorrelation v^2 exp(-2 lambda t/eps) integrates to eps v^2/(2 lambda) per unit time
on each side. The Monte Carlo check runs the PDMP exactly (no time step: the flow between
flips is linear and the rate constant) against the order-one model.
"""

# %%
import sympy as sp

import symavg as sa

eps = sa.epsilon
x = sp.Symbol("x", real=True)
lam, v = sp.symbols("lambda v", positive=True)

chain = sa.MarkovChain({("+", "-"): lam / eps, ("-", "+"): lam / eps})
tele = sa.SwitchingSDE([x], chain, drift={"+": v, "-": -v})

# %%
red = sa.reduce(tele, order=1)
print("averaged drift:", red.drift[0], "   order-one diffusion:", red.diffusion[0, 0])
print(red.steps.to_markdown())
print("all checks passed:", red.steps.passed)

# %% Monte Carlo: E[x^2] of the exact PDMP against the diffusion eps v^2/lambda
from _common import monte_carlo_check  # noqa: E402

monte_carlo_check(tele, red, "telegraph_kac", x0={x: 0.0}, T=1.0,
                  eps_values=[0.2, 0.1, 0.05], observables=[x**2],
                  params={lam: 1.0, v: 1.0})
