"""Three time scales, reduced fastest first: b/<a>, not b<1/a>.

    dx = y dt,   dy = (b - a(z) y)/eps dt + sqrt(2/eps) dW1,   dz = sqrt(2)/eps dW2,

z a Brownian motion on the circle (scale eps^-2), a(z) = 2 + cos z the relaxation rate
of y (scale eps^-1), x slow. Level 1 averages the rate over z: y relaxes at <a> = 2,
so y ~ N(b/<a>, 1/<a>) and the slow drift is b/<a> = b/2. Freezing z and averaging
y first would give b/a(z), whose mean is b<1/a> = b/sqrt(3) (see docs/multiscale.md).
"""

# %%
import sympy as sp

import symavg as sa

eps = sa.epsilon
x, y, z = sp.symbols("x y z", real=True)
b = sp.Symbol("b", positive=True)
model = sa.SDE([x, y, z], [y, (b - (2 + sp.cos(z)) * y) / eps, 0],
               noise=[0, sp.sqrt(2 / eps), sp.sqrt(2) / eps], periodic={z: 2 * sp.pi})

# %%
red = sa.reduce(model)          # levels found from the powers of eps
print("fast, fastest level first:", red.fast)
(mid,) = red.records["levels"]
print("after level 1:  drift", list(mid.drift), " diffusion", mid.diffusion.tolist())
print("reduced drift:", red.drift[0], "   (the wrong order gives", b / sp.sqrt(3), ")")

# %%
print(red.steps.to_markdown())
print("all checks passed:", red.steps.passed)

# %% Monte Carlo check: z needs steps of order eps^2
from _common import monte_carlo_check  # noqa: E402

monte_carlo_check(model, red, "nested_three_scales", x0={x: 0.0, y: 0.5}, T=1.0,
                  eps_values=[0.2, 0.1, 0.05], observables=[x], params={b: 1})
