"""Brownian motion in a periodic potential: the Lifson-Jackson effective diffusion D / I0(V0/D)^2.

    dx = -V'(x/eps) / eps dt + sqrt(2 D) dW,    V(y) = V0 cos y.

With y = x/eps on the circle of length 2 pi (same Brownian motion in both
equations), the generator is eps^-2 L0 + eps^-1 L1 + L2. The invariant law of
the fast variable is the Gibbs density exp(-V/D)/Z, the cell problem is solved
by quadrature, and the effective diffusion is the Lifson-Jackson formula
(Lifson & Jackson, J. Chem. Phys. 36 (1962) 2410; Pavliotis & Stuart,
Multiscale Methods, Springer 2008, Sec. 13.6):

    D_eff = D L^2 / (int_0^L e^{V/D} dy  int_0^L e^{-V/D} dy) = D / I0(V0/D)^2.

The Bessel integrals int_0^{2pi} e^{k cos y} dy = 2 pi I0(k) are exact (table),
and each is spot-checked against quadrature.
"""

# %%
import sympy as sp

import symavg as sa

eps = sa.epsilon
x, y = sp.symbols("x y", real=True)
D, V0 = sp.symbols("D V0", positive=True)
V = V0 * sp.cos(y)

model = sa.SDE([x, y], [-sp.diff(V, y) / eps, -sp.diff(V, y) / eps**2],
               noise=[[sp.sqrt(2 * D)], [sp.sqrt(2 * D) / eps]], periodic={y: 2 * sp.pi})
print("full model, state", list(model.state), "with y on a circle of length 2 pi")
print("  drift b     =", list(model.drift))
print("  noise sigma =", model.noise.tolist())

# %%
red = sa.reduce(model, fast=[y])
print("reduced model:", red.regime)
print("  drift =", red.drift[0], "  diffusion 2 D_eff =", red.diffusion[0, 0])
for v in (0.5, 1, 2, 4):
    ratio = (red.diffusion[0, 0] / (2 * D)).subs({V0: v, D: 1})
    print(f"  V0/D = {v}: D_eff/D = {float(ratio):.6f}")

# %%
print(red.steps.to_markdown())
print("all checks passed:", red.steps.passed)

# %% Monte Carlo check: the full model at several eps against the reduced one
from _common import monte_carlo_check  # noqa: E402

monte_carlo_check(model, red, "lifson_jackson", x0={x: 0.0}, T=0.5,
                  eps_values=[0.2, 0.1, 0.05], observables=[x**2], params={D: 1, V0: 1})
