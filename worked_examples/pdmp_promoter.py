"""A promoter that switches fast: averaging a PDMP and its diffusion approximation.

A protein x is made at rate k while the promoter is on and degraded at rate gamma;
the promoter switches off -> on at rate a/eps and on -> off at rate b/eps:

    dx/dt = k 1{s = on} - gamma x,     s: Markov chain with Q = [[-a, a], [b, -b]] / eps.

As eps -> 0 the promoter's stationary law pi = (b, a)/(a + b) averages the
production: dx/dt = k a/(a+b) - gamma x (Peccoud & Ycart 1995; Pavliotis & Stuart,
Multiscale Methods, 2008, Ch. 9). The averaged ODE has no variance; the order-one
model (the diffusion approximation, a CLT for the fast chain; Pakdaman, Thieullen &
Wainrib 2012) adds the noise of the switching, with diffusion
2 eps k^2 pi_on pi_off/(a + b). The Monte Carlo check shows that the second moment
needs it: the order-one model's error in x^2 is far below the averaged ODE's.
"""

# %%
import sympy as sp

import symavg as sa

eps = sa.epsilon
x = sp.Symbol("x", real=True)
a, b, g, k = sp.symbols("a b gamma k", positive=True)

chain = sa.MarkovChain({("off", "on"): a / eps, ("on", "off"): b / eps})
pdmp = sa.SwitchingSDE([x], chain, drift={"off": -g * x, "on": k - g * x})
print("rate matrix Q[i, j] (i -> j):", chain.Q.tolist())
print("stationary law pi:", list(chain.stationary()), " spectral gap:", chain.spectral_gap())

# %%
avg = sa.reduce(pdmp)
red = sa.reduce(pdmp, order=1)
print("averaged ODE:        dx =", avg.drift[0], "dt")
print("order one:           dx =", red.drift[0], "dt + sqrt(", red.diffusion[0, 0], ") dW")

# %%
print(red.steps.to_markdown())
print("all checks passed:", red.steps.passed)

# %% Monte Carlo: the PDMP at three eps against both reduced models (stationary start)
from _common import monte_carlo_check  # noqa: E402

values = {a: 1.0, b: 2.0, g: 1.0, k: 3.0}
reports = {}
for name, model in (("pdmp_promoter_order0", avg), ("pdmp_promoter", red)):
    print(f"--- {name}")
    # two checks in one script: 30 s of added paths each (the exact E x, below, takes
    # whatever it is given)
    reports[name] = monte_carlo_check(pdmp, model, name, x0={x: 1.0}, T=1.0,
                                      eps_values=[0.2, 0.1, 0.05], observables=[x, x**2],
                                      params=values, max_time=30)

# %% why E x has no order: the reduction is exact for the mean
# Every state's drift is affine in x with the same slope -gamma, and the promoter starts
# from its stationary law, so d E x/dt = k P(on) - gamma E x = k pi_on - gamma E x at
# every eps: the averaged ODE itself. The errors of E x are zero; the Monte Carlo
# estimates above must be within their standard errors of it.
drifts = {"off": -g * x, "on": k - g * x}
slopes = {sp.diff(d, x) for d in drifts.values()}
affine = all(sp.diff(d, x, 2) == 0 for d in drifts.values()) and len(slopes) == 1
pi_on = a / (a + b)
same_mean_ode = sp.simplify(avg.drift[0] - (k * pi_on - g * x)) == 0
noise_only = all(abs(r.error) <= 3 * r.error_se for rep in reports.values()
                 for r in rep.rows if r.observable == x)
print("E x exact (affine drifts of one slope, stationary start, reduced drift k pi_on -"
      f" gamma x): {affine and same_mean_ode}; its Monte Carlo errors within 3 standard "
      f"errors of 0: {noise_only}")

