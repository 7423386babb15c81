"""A super-fast diffusion modulating a fast Markov chain: average it first, in each state.

    dx = (s - x) dt,   s in {0 (off), 1 (on)} a Markov chain with rates
    off -> on: (2 + cos z)/eps,   on -> off: b/eps,   dz = sqrt(2)/eps dW (circle).

z (scale eps^-2) is faster than the chain (eps^-1). Level 1 holds the chain's state and
x fixed and averages the rate over z's law (uniform on the circle): <2 + cos z> = 2.
Level 2 averages x's drift over the averaged chain's stationary law,
pi_on = 2/(2 + b) (Pavliotis & Stuart 2008, Ch. 9 and Sec. 10.7). Freezing z and
reducing the chain first would give <a/(a + b)> = 1 - b/sqrt((2 + b)^2 - 1) instead.
"""

# %%
import sympy as sp

import symavg as sa

eps = sa.epsilon
x, z = sp.symbols("x z", real=True)
b = sp.Symbol("b", positive=True)
chain = sa.MarkovChain({("off", "on"): (2 + sp.cos(z)) / eps, ("on", "off"): b / eps})
model = sa.SwitchingSDE([x, z], chain, drift={"off": [-x, 0], "on": [1 - x, 0]},
                        noise=[[0], [sp.sqrt(2) / eps]], periodic={z: 2 * sp.pi})

# %%
red = sa.reduce(model)          # levels found from the powers of eps
(mid,) = red.records["levels"]
print("after level 1: rates", mid.chain.Q.tolist())
print("reduced drift:", sp.factor(red.drift[0]))
print("the wrong order gives pi_on =", 1 - b / sp.sqrt((2 + b) ** 2 - 1))

# %%
print(red.steps.to_markdown())
print("all checks passed:", red.steps.passed)

# %% Monte Carlo check: z needs steps of order eps^2
from _common import monte_carlo_check  # noqa: E402

monte_carlo_check(model, red, "nested_fast_chain", x0={x: 0.0, z: 0.0}, T=1.0,
                  eps_values=[0.2, 0.1, 0.05], observables=[x], params={b: 1})
