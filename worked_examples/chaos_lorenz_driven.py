"""Noise from deterministic chaos: a slow variable driven by the Lorenz-63 flow.

    dx  = (x - x^3 + y2 / (4 eps)) dt,
    dy1 = 10 (y2 - y1) / eps^2 dt,
    dy2 = (y1 (28 - y3) - y2) / eps^2 dt,
    dy3 = (y1 y2 - 8/3 y3) / eps^2 dt.

Nothing is random except the initial point on the attractor, yet as eps -> 0 the slow
variable x converges weakly to the SDE

    dX = (X - X^3) dt + sqrt(Sigma / 16) dW,    Sigma = 2 int_0^oo <y2(0) y2(t)> dt,

the Green-Kubo integral of the Lorenz observable y2 (Melbourne & Stuart, Nonlinearity
24 (2011) 1361; Kelly & Melbourne, Ann. Probab. 44 (2016) 479; the pair published
with the Julia project MDEforM). Sigma has no closed form: sa.reduce estimates it
from Lorenz trajectories with two independent estimators (FFT autocorrelation with
Sokal's window, batch means) and records the error bar.

The theorems give convergence without a rate. Here the noise is additive, so the
leading covariance error is the Taylor-Kubo term -2 eps^2 int_0^oo u C(u) du (order 2),
and the odd cumulants vanish by the symmetry (y1, y2) -> (-y1, -y2); at the eps a
quick run affords (0.8 .. 0.45) the fitted order is pre-asymptotic.
"""

# %%
import sympy as sp

import symavg as sa

eps = sa.epsilon
x, y1, y2, y3 = sp.symbols("x y1 y2 y3", real=True)
lorenz = [10 * (y2 - y1), y1 * (28 - y3) - y2, y1 * y2 - sp.Rational(8, 3) * y3]
model = sa.DeterministicFlow([x, y1, y2, y3],
                             [x - x**3 + y2 / (4 * eps), *[e / eps**2 for e in lorenz]])
print("full model, state", list(model.state))
print("  rhs =", list(model.rhs))

# %%
red = sa.reduce(model, fast=[y1, y2, y3])
gk = red.records["green_kubo"][y2]
print("reduced model:", red.regime)
print("  drift =", red.drift[0], "  diffusion Sigma/16 =", red.diffusion[0, 0])
print(f"  Green-Kubo Sigma of y2 = {gk.value:.4g} +- {gk.stderr:.2g} "
      f"(batch means {gk.batch_value:.4g} +- {gk.batch_stderr:.2g}; window {gk.window})")

# %%
print(red.steps.to_markdown())
print("all checks passed:", red.steps.passed)

# %% Monte Carlo check over initial points on the attractor: E x_T^2 at several eps
from _common import monte_carlo_check  # noqa: E402

rep = monte_carlo_check(model, red, "chaos_lorenz_driven", x0={x: 0.0}, T=0.3,
                        eps_values=[0.8, 0.6, 0.45], observables=[x**2], check_dt=False,
                        progress=False)
print("fitted order:", rep.order, "95% interval:", rep.order_interval)
