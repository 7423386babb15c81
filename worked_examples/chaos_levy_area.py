"""Noise from deterministic chaos with two fast observables: the Levy-area drift.

    dx1 = y2 / (8 eps) dt,
    dx2 = x1 y1 y3 / (200 eps) dt,        (y1, y2, y3) Lorenz-63 on the eps^-2 scale.

x1 is driven by h1 = y2, x2 by h2 = y1 y3 with a coefficient that depends on x1. As
eps -> 0, (x1, x2) converges weakly to the Ito SDE

    dX_i = sum_jkl a_jk d_j a_il Lambda_kl dt + (sqrt(a Sigma a^T) dW)_i,
    Lambda_kl = int_0^oo <h_k(y_0) h_l(y_t)> dt,     Sigma = Lambda + Lambda^T

(Kelly & Melbourne, Ann. Probab. 44 (2016) 479; the expansion in
symavg/derive/levy_area.py). Lambda is one-sided and not symmetric:
Lambda = Sigma/2 + A, and the antisymmetric A is the mean rate of the Levy area of the
limiting Brownian motion. Here the drift of x2 is Lambda_12 / 1600 = Sigma_12 / 3200 +
A_12 / 1600: the Stratonovich part alone misses A_12 / 1600, which the Monte Carlo of the
full deterministic system resolves.
"""

# %%
import math

import sympy as sp

import symavg as sa

eps = sa.epsilon
x1, x2, y1, y2, y3 = sp.symbols("x1 x2 y1 y2 y3", real=True)
lorenz = [10 * (y2 - y1), y1 * (28 - y3) - y2, y1 * y2 - sp.Rational(8, 3) * y3]
model = sa.DeterministicFlow([x1, x2, y1, y2, y3],
                             [y2 / (8 * eps), x1 * y1 * y3 / (200 * eps),
                              *[e / eps**2 for e in lorenz]])
print("full model, state", list(model.state))
print("  rhs =", list(model.rhs))

# %%
red = sa.reduce(model, fast=[y1, y2, y3])
G = red.records["green_kubo_matrix"]
parts = red.records["drift_parts"]
print("one-sided Green-Kubo matrix Lambda of (y2, y1 y3):")
print(G.one_sided, "\n  +-", G.stderr)
print(f"  Levy-area rate A_12 = {G.antisymmetric[0, 1]:.5g} +- "
      f"{G.antisymmetric_stderr[0, 1]:.2g}; estimators agree: {G.agree}")
print("reduced drift =", list(red.drift), " of which")
print("  Stratonovich part =", parts["stratonovich"], "  Levy-area part =", parts["levy_area"])
print("reduced diffusion =", red.diffusion.tolist())

# %%
print(red.steps.to_markdown())
print("all checks passed:", red.steps.passed)

# %% Monte Carlo check: E x2(T) of the full deterministic system (initial points on the
# attractor) against the reduced SDE, and against the drift without the Levy area
from _common import monte_carlo_check  # noqa: E402

T, e = 1.0, 0.25
rep = monte_carlo_check(model, red, "chaos_levy_area", x0={x1: 0.0, x2: 0.0}, T=T,
                        eps_values=[0.35, e], observables=[x2], check_dt=False,
                        progress=False, dt=0.01 * e**2)
row = min(rep.rows, key=lambda r: r.eps)
without = row.reduced - float(parts["levy_area"][1]) * T     # E x2(T) = drift_2 * T
gap = (row.full - without) / math.hypot(row.full_se, row.reduced_se)
print(f"at eps = {row.eps}: full {row.full:.4f} +- {row.full_se:.4f}, reduced "
      f"{row.reduced:.4f} +- {row.reduced_se:.4f} (error {row.error / row.error_se:+.1f} se); "
      f"without the Levy area the reduced mean would be {without:.4f}, {gap:.1f} se away")
