"""A tilted periodic potential whose tilt carries a fast OU forcing: the mobility
multiplies the OU forcing too.

    dx = (-V'(x/eps)/eps + F + c eta/sqrt(eps)) dt + sqrt(2D) dW,   y = x/eps (circle),
    d eta = -eta/eps dt + sqrt(2/eps) dW',         V(y) = V0 cos y.

Level 1 (y, scale eps^-2): the Lifson-Jackson mobility K = 1/I0(V0/D)^2 multiplies
the whole tilt (Lifson & Jackson 1962; Pavliotis & Stuart 2008, Sec. 13.6). Level 2
(eta, scale eps^-1): the OU forcing K c eta/sqrt(eps) becomes noise, 2 K^2 c^2. The
limit is dx = K F dt + sqrt(2 D K + 2 c^2 K^2) dW; eliminating eta first would give
2 c^2 without the mobility.
"""

# %%
import sympy as sp

import symavg as sa

eps = sa.epsilon
x, y, eta = sp.symbols("x y eta", real=True)
D, V0, F, c = sp.symbols("D V0 F c", positive=True)
V = V0 * sp.cos(y)
drx = -sp.diff(V, y) / eps + F + c * eta / sp.sqrt(eps)
model = sa.SDE([x, y, eta], [drx, drx / eps, -eta / eps],
               noise=[[sp.sqrt(2 * D), 0], [sp.sqrt(2 * D) / eps, 0], [0, sp.sqrt(2 / eps)]],
               periodic={y: 2 * sp.pi})

# %%
red = sa.reduce(model, fast=[y, eta])
(mid,) = red.records["levels"]
print("after level 1:  drift", list(mid.drift))
print("reduced: drift", red.drift[0], "  diffusion", red.diffusion[0, 0])

# %%
print(red.steps.to_markdown())
print("all checks passed:", red.steps.passed)

# %% Monte Carlo check
from _common import monte_carlo_check  # noqa: E402

monte_carlo_check(model, red, "nested_tilted_ou", x0={x: 0.0, eta: 0.0}, T=0.5,
                  eps_values=[0.2, 0.1, 0.05], observables=[x, x**2],
                  params={D: 1, V0: 1, F: 1, c: 1})
