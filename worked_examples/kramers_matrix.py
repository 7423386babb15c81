"""Smoluchowski-Kramers limit in 2-D with a non-diagonal, position-dependent friction matrix.

dx = v dt, m dv = F dt - gamma(x) v dt + sigma(x) dW with

    gamma(x) = (1 + x1^2) I + x2 [[0, 1], [-1, 0]],   sigma(x) = s (1 + x2^2) I,

a friction whose antisymmetric (gyroscopic, Lorentz-force-like) part depends on
x2. As m -> 0 (Hottovy, McDaniel, Volpe & Wehr, Commun. Math. Phys. 336 (2015)
1259, Theorem 1):

    dx = [gamma^-1 F + S] dt + gamma^-1 sigma dW,
    S_i = d/dx_l (gamma^-1)_ij J_jl,   gamma J + J gamma^T = sigma sigma^T.

symavg derives it with the general engine (the velocity covariance J comes out of
the Gaussian invariant measure of the fast velocity) and compares the result with
the closed formula, computed independently; both appear in the derivation.
"""

# %%
import sympy as sp

import symavg as sa

x1, x2 = sp.symbols("x1 x2", real=True)
s, k = sp.symbols("s k", positive=True)
gamma = sp.Matrix([[1 + x1**2, x2], [-x2, 1 + x1**2]])
sigma = s * (1 + x2**2) * sp.eye(2)
force = [-k * x1, -k * x2]

# %% the limit
red = sa.smoluchowski_kramers([x1, x2], force, gamma, sigma)
print("reduced model:", red.regime, "in", list(red.state))
for i, xi in enumerate(red.state):
    print(f"  drift[{xi}] =", red.drift[i])
print("  diffusion A A^T =", red.diffusion.tolist())

# %% the noise-induced drift S on its own (the force set to zero)
no_force = sa.smoluchowski_kramers([x1, x2], [0, 0], gamma, sigma)
print("noise-induced drift S =", [sp.factor(e) for e in no_force.drift])

# %% the derivation: construction, engine steps, comparison with Theorem 1
print(red.steps.to_markdown())
print("all checks passed:", red.steps.passed)

# %% Monte Carlo check of the matrix-friction limit (k = 1, s = 1/2; m = eps^2)
from _common import monte_carlo_check  # noqa: E402

from symavg.derive.kramers import small_mass_model  # noqa: E402

full, _, _ = small_mass_model([x1, x2], force, gamma, sigma)
monte_carlo_check(full, red, "kramers_matrix", x0={x1: 0.5, x2: -0.3}, T=0.5,
                  eps_values=[0.2, 0.1, 0.05], observables=[x1, x2, x1 * x2],
                  params={k: 1, s: sp.Rational(1, 2)},
                  scheme="weak2")   # noise on u only, depending on x: commutative
