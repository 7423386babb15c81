"""Fast dimerization: the conditional law in closed form, and numerically when there is none.

1. Fast 2 A <-> B (rates k_a/eps, k_b/eps) with slow inflow 0 -> A (k0) and decay B -> 0
   (k_d). The fast reactions conserve y = A + 2B; with y frozen the extent B is a
   birth-death chain, so its law follows from detailed balance (Gardiner, Handbook of
   Stochastic Methods, 2004, eq. 7.1.22) and the averaged decay k_d E[B | y] is an exact
   ratio of finite sums.
2. The same with a fast isomerization B <-> C (k_c/eps, k_d2/eps) and the decay on C: the
   fast subnetwork now has rank 2 and no closed-form law. Its master equation is solved
   on every level set y = A + 2B + 2C at once (one sparse solve) and E[C | y] is
   tabulated; this network is complex balanced, so the product-form law of Anderson,
   Craciun & Kurtz (Bull. Math. Biol. 72 (2010) 1947, Thm 4.1) gives an independent
   check, printed below.

The figure shows how far the conditional means are from the deterministic quasi-equilibrium
of the fast rate equations (what a deterministic QSSA would use: the discreteness of small
counts, largest at small y), and the law of y at T from the
full SSA and from the reduced network; the Monte Carlo check runs the full network of
case 2 at three eps against its numeric reduction.
"""

# %%
import math
import os

import numpy as np
import sympy as sp

import symavg as sa

eps = sa.epsilon
ka, kb, kc, kd2, k0, kd = sp.symbols("k_a k_b k_c k_d2 k0 k_d", positive=True)

# %% 1. fast 2 A <-> B: detailed balance
dim = sa.ReactionNetwork(["2 A -> B", "B -> 2 A", "0 -> A", "B -> 0"],
                         [ka / eps, kb / eps, k0, kd])
red1 = dim.reduce()
y1, = red1.species
print(red1)
print("all checks passed:", red1.steps.passed)

# %% 2. fast 2 A <-> B <-> C: the numeric law from the fast master equation
net = sa.ReactionNetwork(["2 A -> B", "B -> 2 A", "B -> C", "C -> B", "0 -> A", "C -> 0"],
                         [ka / eps, kb / eps, kc / eps, kd2 / eps, k0, kd])
print("fast subnetwork:", net.fast_subnetwork().kind, net.fast_subnetwork().conserved)
values = {ka: 1.0, kb: 2.0, kc: 1.0, kd2: 0.5, k0: 2.0, kd: 1.0}
red2 = net.reduce(params=values, slow_range={"T_A2B2C": (0, 60)})
y2, = red2.species
print(red2)
print(red2.validity)
print(red2.steps.to_markdown())
print("all checks passed:", red2.steps.passed)

# %% the tables, and the product-form check
from symavg.numeric.ssa import sum_table  # noqa: E402

A, B, C = net.species
grid = np.arange(0, 61)
eb = sum_table(red1.propensities[1] / kd, y1, values, 60)
law = red2.records["numeric_law"]
tab = law.table(values, [0], [60], [C])
ec = tab.values[C]
print(f"numeric law: {tab.n_states} fast states, residual {tab.residual:.1e}")
cA, cB = 1.0, values[ka] / (2 * values[kb])
cC = cB * values[kc] / values[kd2]


def product_form(y):
    num = den = 0.0
    for nb in range(y // 2 + 1):
        for nc in range(y // 2 - nb + 1):
            na = y - 2 * nb - 2 * nc
            w = cA**na * cB**nb * cC**nc / (math.factorial(na) * math.factorial(nb)
                                             * math.factorial(nc))
            num += w * nc
            den += w
    return num / den


worst = max(abs(ec[y] - product_form(y)) / max(product_form(y), 1e-300) for y in range(2, 61))
print(f"largest relative difference to the product-form law on y = 2..60: {worst:.1e}")


def deterministic(y, iso):
    """Quasi-equilibrium of the fast rate equations: (k_a/2) A^2 = k_b B, k_c B = k_d2 C."""
    r = values[ka] / (2 * values[kb]) * ((1 + values[kc] / values[kd2]) if iso else 1.0)
    a = (-1 + math.sqrt(1 + 8 * r * y)) / (4 * r)
    b = values[ka] / (2 * values[kb]) * a * a
    return b * values[kc] / values[kd2] if iso else b


# %% full SSA against the reduced network: the law of y at T
from _common import figure_path, monte_carlo_check  # noqa: E402

paths = int(os.environ.get("SYMAVG_EXAMPLE_PATHS", 20_000)) // 2
T = 2.0
full = sa.ssa(net, {A: 20, B: 0, C: 0}, T, eps=0.05, params=values, paths=paths, seed=1)
yf = full[A][-1] + 2 * full[B][-1] + 2 * full[C][-1]
redens = sa.ssa(red2, {y2: 20}, T, params=values, paths=paths, seed=2)
yr = redens[y2][-1]

import matplotlib  # noqa: E402

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402

fig, (ax1, ax2) = plt.subplots(1, 2, figsize=(10, 4))
det_b = np.array([deterministic(y, False) for y in grid])
det_c = np.array([deterministic(y, True) for y in grid])
ax1.plot(grid, eb - det_b, "o-", ms=3,
         label=r"$E[B\mid y] - B^*(y)$, $2A \rightleftharpoons B$ (exact sums)")
ax1.plot(grid, ec - det_c, "s-", ms=3,
         label=r"$E[C\mid y] - C^*(y)$, $2A \rightleftharpoons B \rightleftharpoons C$ "
               "(numeric)")
ax1.axhline(0.0, color="k", lw=0.8)
ax1.set_xlabel("conserved total y")
ax1.set_ylabel("conditional mean $-$ quasi-equilibrium")
ax1.legend(fontsize=8)
bins = np.arange(min(yf.min(), yr.min()) - 0.5, max(yf.max(), yr.max()) + 1.5)
ax2.hist(yf, bins=bins, density=True, histtype="step", lw=1.5,
         label=r"full SSA, $\epsilon = 0.05$")
ax2.hist(yr, bins=bins, density=True, histtype="step", lw=1.5, ls="--",
         label="reduced (numeric law)")
ax2.set_xlabel(f"y = A + 2B + 2C at T = {T:g}")
ax2.set_ylabel("probability")
ax2.legend(fontsize=8)
fig.tight_layout()
path = figure_path("network_dimerization.png")
fig.savefig(path, dpi=120)
print("figure:", path)
print(f"mean y at T: full {yf.mean():.3f} +- {yf.std() / math.sqrt(yf.size):.3f}, "
      f"reduced {yr.mean():.3f} +- {yr.std() / math.sqrt(yr.size):.3f}")

# %% Monte Carlo check of case 2
monte_carlo_check(net, red2, "network_dimerization", x0={A: 20, B: 0, C: 0}, T=1.0,
                  eps_values=[0.2, 0.1, 0.05], observables=[y2, y2**2], params=values)
